#!/usr/bin/env bash
# Builds the widget into widget/dist: wasm (release, wasm-bindgen --target web, npm wasm-opt -Oz),
# the wasm-bindgen glue, widget/js/* (the loader kessai.js) and _headers (CORS for the static assets).
# The stylesheet is compiled into the wasm (widget/src/widget.css) and injected once.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
cargo build --release --target wasm32-unknown-unknown -p kessai-widget
OUT="$ROOT/widget/dist"
rm -rf "$OUT" && mkdir -p "$OUT"
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$OUT" "$ROOT/target/wasm32-unknown-unknown/release/kessai_widget.wasm"
# npm binaryen 132; Debian's binaryen 108 breaks the module at run time (docs/toolchain.md).
"$WASM_OPT_BIN" -Oz --converge --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$OUT/kessai_widget_bg.wasm" -o "$OUT/kessai_widget_bg.wasm"
cp "$ROOT"/widget/js/* "$OUT/"   # the loader (and any other hand-written assets)
# Storefronts load these cross-origin as module scripts and a wasm fetch: they need CORS.
printf '/*\n  Access-Control-Allow-Origin: *\n  Cache-Control: public, max-age=300\n' > "$OUT/_headers"
ls -l "$OUT" >&2

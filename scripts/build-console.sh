#!/usr/bin/env bash
# Builds the operator console into widget/dist/console/, which the edge serves as static assets
# under /console/ (the widget's files keep their URLs at the root):
#   index.html, console.css     console/static/
#   kessai_console_bg.wasm      release build, wasm-bindgen --target web, npm wasm-opt -Oz
#   console.js                  the loader (console/js/console.js) with the wasm-bindgen glue and
#                               console/js/interop.js bundled and minified by esbuild
# scripts/build-widget.sh keeps widget/dist/console, so the two run in either order or at once
# (scripts/build.sh runs them at once). Its own target dir, target/console: the edge's build in
# target/ would otherwise hold cargo's build-directory lock while it runs (the two share no compiled
# dependency anyway: the console is also an rlib, so its dependencies carry object code beside the
# LTO bitcode and cargo gives them other hashes than the edge's).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
CONSOLE_TARGET="$ROOT/target/console"
cargo build --release --target wasm32-unknown-unknown -p kessai-console --target-dir "$CONSOLE_TARGET"
OUT="$ROOT/widget/dist/console"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
  --out-dir "$STAGE" "$CONSOLE_TARGET/wasm32-unknown-unknown/release/kessai_console.wasm"
rm -rf "$OUT" && mkdir -p "$OUT"
# npm binaryen (Debian's older one breaks the module at run time: docs/toolchain.md).
"$WASM_OPT_BIN" -Oz --converge --strip-debug --strip-producers --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  --enable-reference-types --enable-multivalue \
  "$STAGE/kessai_console_bg.wasm" -o "$OUT/kessai_console_bg.wasm"
cp "$ROOT"/console/js/* "$STAGE/"
"$ESBUILD_BIN" --bundle --minify --format=esm --target=es2020 --log-level=warning \
  "$STAGE/console.js" --outfile="$OUT/console.js"
cp "$ROOT"/console/static/* "$OUT/"
ls -l "$OUT" >&2

#!/usr/bin/env bash
# The widget's linker (scripts/build-widget.sh): rust-lld, minus the exports of wasm-streams'
# stream adapters (`intounderlying*`). leptos' server functions bring wasm-streams, whose
# `#[wasm_bindgen]` adapter classes are exported from every leptos wasm; the widget never makes
# one. Dropped after linking (wasm-opt --remove-exports), their code stayed: the linker had already
# put their closures and futures into the function table, which no later tool can shrink. Not
# exported, they are never linked in. rustc passes each export as `--export NAME`.
set -euo pipefail
args=()
skip=
for a in "$@"; do
  if [ -n "$skip" ]; then
    skip=
    case $a in
      intounderlying* | __wbg_intounderlying* | __wbindgen_describe_intounderlying*) continue ;;
      *) args+=(--export "$a"); continue ;;
    esac
  fi
  if [ "$a" = --export ]; then skip=1; continue; fi
  args+=("$a")
done
sysroot=$(rustc --print sysroot)
host=$(rustc -vV | sed -n 's/^host: //p')
exec "$sysroot/lib/rustlib/$host/bin/rust-lld" "${args[@]}"

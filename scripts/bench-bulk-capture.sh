#!/usr/bin/env bash
# Throughput benchmark (issue #4): bulk capture of N card payments (default 1,000) against the GMO
# sandbox through the edge in workerd + local D1. Prints payments per second and worker CPU per
# payment (workerd utime+stime). Builds the edge and widget when missing.
# Usage: scripts/bench-bulk-capture.sh [N=1000] [CHUNK=24] (ids per request; the console sends 24, the edge takes ≤ 100 and captures 6 at a time)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-1000}
CHUNK=${2:-24}
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
# The runner only sends requests and reads /proc: dev profile.
cargo run --quiet -p kessai-tests --features bench --bin bench_bulk_capture -- "$N" "$CHUNK"

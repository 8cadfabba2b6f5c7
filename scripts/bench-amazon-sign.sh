#!/usr/bin/env bash
# CPU benchmark: worker CPU per signed Amazon Pay call on the edge (target: well under 10 ms).
# Builds the edge (and the widget, which the stack serves) when missing, starts the test stack
# (Amazon Pay + GMO sandboxes, wrangler dev with workerd and local D1) and reads the workerd
# processes' CPU time (/proc/<pid>/stat utime+stime) around N requests of each kind:
# GET /health (baseline), the checkout button (one RSA-PSS signature) and the merchant reconcile
# of an Amazon payment (one signed Get Charge). Usage: scripts/bench-amazon-sign.sh [N=300]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-300}
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
# The runner only sends requests and reads /proc (its own speed is not measured): dev profile.
cargo run --quiet -p kessai-tests --features bench --bin bench_amazon -- "$N"

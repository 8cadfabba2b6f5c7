#!/usr/bin/env bash
# 3-D Secure benchmark: worker CPU per request of the edge's EMV 3-D Secure 2 path — the card
# POST answered requires_action (EntryTran TdFlag=2 + ExecTran ACS=2) and the RetUrl return
# (SecureTran2) — with THREE_D_SECURE=required. Builds the edge (and the widget, which the stack
# serves) when missing, starts the benchmark stack and reads the workerd processes' CPU time
# (/proc/<pid>/stat utime+stime) around N requests of each (baseline GET /health subtracted).
# Not part of scripts/test.sh. Usage: scripts/bench-tds.sh [N=100]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-100}
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
# The runner only sends requests and reads /proc (its own speed is not measured): dev profile.
cargo run --quiet -p kessai-tests --features bench --bin bench_tds -- "$N"

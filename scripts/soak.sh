#!/usr/bin/env bash
# Fault-injection soak (issue #16): N payments (card and Amazon Pay, with capture, amount change,
# cancel, refund and bulk capture) from C concurrent clients through the edge in workerd + local
# D1 against both sandboxes, a fraction P of the gateway calls faulted (answers lost after the
# gateway committed, calls still running when the edge gives up, GMO E90/E91/E92/42C, Amazon
# dropped/late answers, 429, 5xx), the edge (wrangler dev) restarted once half-way on the same D1
# state. Then the Cron Trigger's sweep, and every payment compared with the sandboxes' own records.
# Prints faults by kind, double charges, lost or wrong state changes, unreconciled payments,
# p50/p99 latency and throughput; exits 1 unless all three counts are 0. See docs/reliability.md.
# Builds the edge and widget when missing.
# Usage: scripts/soak.sh [--payments N=10000] [--fault-rate P=0.10] [--clients C=32]
#                        [--seed S=16] [--amazon-share A=0.3] [--no-restart-edge]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
# The runner only sends requests and compares records: dev profile.
cargo run --quiet -p kessai-tests --features bench --bin soak -- "$@"

#!/usr/bin/env bash
# Throughput benchmark (issue #15): N 定期購入 (default 200, at most 200) on one stored card, all due
# today, charged by the Cron Trigger run after run through the edge in workerd + local D1 against the
# GMO sandbox. Prints charges per second and worker CPU per charge (workerd utime+stime); fails
# unless each subscription has exactly one 仮売上 (AUTH at the sandbox). Builds the edge and widget
# when missing. Usage: scripts/bench-subscriptions.sh [N=200]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-200}
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
[ -f edge/build/index.js ] || bash scripts/build-edge.sh
[ -f widget/dist/kessai.js ] || bash scripts/build-widget.sh
cargo run --quiet -p kessai-tests --features bench --bin bench_subscriptions -- "$N"

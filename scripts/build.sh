#!/usr/bin/env bash
# Builds everything the stack serves: the widget (widget/dist), the operator console
# (widget/dist/console, served under /console/) and the edge worker (edge/build).
# `--demo-runner` (scripts/demo.sh) also builds the demo's storefront runner (dev build).
#
# The builds are independent and run at once (docs/toolchain.md "The demo's time"): the widget on
# its pinned nightly in target/widget, the console in target/console, the edge (worker-build) in
# target/ and the runner in target/debug, so no cargo waits for another's build-directory lock, and
# one build's single-threaded tail (fat-LTO codegen, wasm-bindgen, wasm-opt) overlaps the others'
# compiles. Each step writes its output to its own log; a step's log is printed when it ends (in
# full when it failed, without cargo's "Compiling" lines when it passed), and the first failure
# stops the other steps and fails the build.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runner=
case ${1:-} in
  --demo-runner) runner=1 ;;
  "") ;;
  *) echo "usage: scripts/build.sh [--demo-runner]" >&2; exit 2 ;;
esac
# Once, before the steps: each step sources it again, and with everything present that only checks
# (two steps installing the same missing tool at once would race).
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/kessai-build.XXXXXX")
# Every step in its own process group (job control), so a failure or Ctrl-C stops its cargo and
# rustc too.
set -m
declare -A name_of=() started=()
stop_steps() {
  local pid
  for pid in "${!name_of[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${!name_of[@]}"; do wait "$pid" 2>/dev/null || true; done
  name_of=()
}
trap 'stop_steps' EXIT
trap 'stop_steps; rm -rf "$LOGS"; exit 130' INT
trap 'stop_steps; rm -rf "$LOGS"; exit 143' TERM
step() {
  local name=$1
  shift
  # `times`: this step's CPU (user + system, its children included), for the summary line.
  ( set +e; "$@"; status=$?; times > "$LOGS/$name.times"; exit $status ) < /dev/null > "$LOGS/$name.log" 2>&1 &
  name_of[$!]=$name
  started[$name]=$SECONDS
}
cpu_seconds() { # the children's line of `times`: "1m2.500s 0m3.250s" → 66
  awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%.0f", t }' "$1" 2>/dev/null || true
}
step widget bash scripts/build-widget.sh
step console bash scripts/build-console.sh
step edge bash scripts/build-edge.sh
[ -z "$runner" ] || step runner cargo build -p kessai-demo
echo "[build] ${name_of[*]}: started at once, logs in $LOGS" >&2
while [ ${#name_of[@]} -gt 0 ]; do
  if wait -n -p pid "${!name_of[@]}"; then status=0; else status=$?; fi
  [ -n "${pid:-}" ] || continue
  name=${name_of[$pid]}
  unset "name_of[$pid]"
  took="$((SECONDS - started[$name])) s, cpu $(cpu_seconds "$LOGS/$name.times") s"
  if [ "$status" -ne 0 ]; then
    sed "s/^/[$name] /" "$LOGS/$name.log" >&2
    echo "[build] $name FAILED (exit $status after $took); its log: $LOGS/$name.log" >&2
    [ ${#name_of[@]} -eq 0 ] || echo "[build] stopping ${name_of[*]}" >&2
    stop_steps
    exit 1
  fi
  grep -v '^ *Compiling ' "$LOGS/$name.log" | sed "s/^/[$name] /" >&2 || true
  echo "[build] $name done in $took" >&2
done
echo "[build] all done in $SECONDS s" >&2
rm -rf "$LOGS"

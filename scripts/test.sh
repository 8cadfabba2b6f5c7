#!/usr/bin/env bash
# README command 2: installs what is missing, builds, and runs every test: unit and property tests,
# the sandbox's protocol tests, the edge in workerd with D1 against the sandbox, and the
# headless-Chromium end-to-end checkout. Then prints the size benchmark.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
cargo clippy -q -p kessai-edge -p kessai-widget -p kessai-console --target wasm32-unknown-unknown -- -D warnings
echo "== structure (import circles, edge rooms top-down, function length)"
python3 scripts/check-structure.py
echo "== build widget and edge"
bash scripts/build.sh
echo "== tests"
# cargo runs the test binaries one after another; two threads inside each keep the 2-core machine
# from starving the browser tests.
set +e
cargo test --workspace --no-fail-fast -- --test-threads=2 2>&1 | tee "$ROOT/target/test-output.txt"
status=${PIPESTATUS[0]}
set -e
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { print p + 0, f + 0 }' "$ROOT/target/test-output.txt")
if [ "$status" -ne 0 ]; then echo "tests: $passed passed, $failed failed"; exit "$status"; fi
echo "== size benchmark (a measurement: reports PASS/FAIL against the budget, does not fail the tests)"
bash scripts/bench-size.sh || echo "size budget not met: see the numbers above"
echo "tests: $passed passed, $failed failed"


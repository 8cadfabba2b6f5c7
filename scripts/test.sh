#!/usr/bin/env bash
# README command 2: installs what is missing, builds, and runs every test: unit and property tests,
# the sandbox's protocol tests, the edge in workerd with D1 against the sandbox, and the
# headless-Chromium end-to-end checkout. Then checks the widget's size budget (scripts/bench-size.sh):
# over it, the command fails.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "== format and lints"
cargo fmt --all -- --check
# The edge has no host tests and only builds for wasm32: it is linted (and built) for wasm32 only,
# so the host does not compile the worker crate and its web-sys twice more.
cargo clippy --workspace --exclude kessai-edge --all-targets --all-features -q -- -D warnings
cargo clippy -q -p kessai-edge -p kessai-widget -p kessai-console --target wasm32-unknown-unknown -- -D warnings
echo "== structure (import circles, edge rooms top-down, function length) ($SECONDS s so far)"
python3 scripts/check-structure.py
echo "== build widget and edge ($SECONDS s so far)"
bash scripts/build.sh
echo "== tests ($SECONDS s so far)"
# Builds every test binary, then runs them two at a time (scripts/run-test-binaries.py: one lane
# for the Chromium binaries, one for the rest; each binary with two test threads), then the
# doc-tests.
set +e
{
  cargo test --workspace --exclude kessai-edge --no-run --message-format=json-render-diagnostics \
    | python3 scripts/run-test-binaries.py
  echo "binaries exit ${PIPESTATUS[0]} ${PIPESTATUS[1]}"
  cargo test --workspace --exclude kessai-edge --doc 2>&1
  echo "doc-tests exit $?"
} 2>&1 | tee "$ROOT/target/test-output.txt"
set -e
status=0
grep -qx 'binaries exit 0 0' "$ROOT/target/test-output.txt" || status=1
grep -qx 'doc-tests exit 0' "$ROOT/target/test-output.txt" || status=1
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  END { print p + 0, f + 0 }' "$ROOT/target/test-output.txt")
if [ "$status" -ne 0 ]; then echo "tests: $passed passed, $failed failed ($SECONDS s)"; exit "$status"; fi
echo "== size benchmark (the widget's budget, issue #17: 45,000 B brotli; over it, the test command fails)"
size=0
bash scripts/bench-size.sh || size=1
echo "tests: $passed passed, $failed failed ($SECONDS s)"
if [ "$size" -ne 0 ]; then echo "size budget not met: see the numbers above"; exit 1; fi


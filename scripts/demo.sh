#!/usr/bin/env bash
# README command 1: installs what is missing, builds, and runs the demo storefront against the
# sandboxes with the edge in the real Workers runtime (wrangler dev / workerd, local D1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The demo runs from where it was started, so a relative --state / KESSAI_DEMO_STATE means a
# directory there (the binary finds the repository by itself).
CALLER_DIR=$(pwd)
source "$ROOT/scripts/setup.sh"
# The storefront runner is a dev build (it shares the test build's artifacts); the worker, the
# widget and the console it serves are release builds. All four are built at once
# (docs/toolchain.md "The demo's time").
bash "$ROOT/scripts/build.sh" --demo-runner
exec "$ROOT/target/debug/kessai-demo" "$@"

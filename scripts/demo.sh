#!/usr/bin/env bash
# README command 1: installs what is missing, builds, and runs the demo storefront against the
# sandboxes with the edge in the real Workers runtime (wrangler dev / workerd, local D1).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The demo runs from where it was started, so a relative --state / KESSAI_DEMO_STATE means a
# directory there (the binary finds the repository by itself).
CALLER_DIR=$(pwd)
source "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh"
cd "$ROOT"
# The storefront runner is a dev build (it shares the test build's artifacts); the worker and the
# widget it serves are release builds.
cargo build -p kessai-demo
cd "$CALLER_DIR"
exec "$ROOT/target/debug/kessai-demo" "$@"

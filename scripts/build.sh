#!/usr/bin/env bash
# Builds everything the stack serves: the widget (widget/dist), the operator console
# (widget/dist/console, served under /console/) and the edge worker (edge/build).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/build-widget.sh"
bash "$ROOT/scripts/build-console.sh"
bash "$ROOT/scripts/build-edge.sh"

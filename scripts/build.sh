#!/usr/bin/env bash
# Builds everything the stack serves: the widget (widget/dist) and the edge worker (edge/build).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/scripts/build-widget.sh"
bash "$ROOT/scripts/build-edge.sh"

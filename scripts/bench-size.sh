#!/usr/bin/env bash
# Size benchmark: prints raw / gzip -9 / brotli -q 11 bytes of every file the widget ships and of
# the edge worker and the operator console, and checks the widget budget (issue #17: 45 kB brotli
# in total; 44,612 B on 2026-12-08, docs/architecture.md "Widget size"). Build first
# (scripts/build.sh). Exits 1 when the widget is over budget, which fails scripts/test.sh.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUDGET=45000
row() { # file label
  local f=$1 raw gz br
  raw=$(stat -c %s "$f"); gz=$(gzip -9 -c "$f" | wc -c); br=$(brotli -q 11 -c "$f" | wc -c)
  printf '%-28s %10s %10s %10s\n' "$2" "$raw" "$gz" "$br"
  echo "$raw $gz $br" >> "$TOTALS"
}
TOTALS=$(mktemp)
printf '%-28s %10s %10s %10s\n' "file" "raw" "gzip-9" "brotli-11"
for f in kessai_widget_bg.wasm kessai.js; do
  [ -f "$ROOT/widget/dist/$f" ] || { echo "widget/dist/$f missing: run scripts/build-widget.sh" >&2; exit 2; }
done
# Every file the edge serves for the widget (wasm, glue, loader, a stylesheet if any), not _headers.
for p in "$ROOT"/widget/dist/*; do
  f=$(basename "$p")
  # widget/dist/console/ is the operator console (not shipped to storefronts): listed below.
  [ -f "$p" ] || continue
  [ "$f" = _headers ] || row "$p" "widget/$f"
done
read -r raw gz br < <(awk '{r+=$1; g+=$2; b+=$3} END {print r, g, b}' "$TOTALS")
printf '%-28s %10s %10s %10s\n' "widget total" "$raw" "$gz" "$br"
: > "$TOTALS"
for f in index.js index_bg.wasm; do
  [ -f "$ROOT/edge/build/$f" ] && row "$ROOT/edge/build/$f" "edge/$f"
done
# The operator console (scripts/build-console.sh): no budget, listed for the record.
if [ -d "$ROOT/widget/dist/console" ]; then
  : > "$TOTALS"
  for p in "$ROOT"/widget/dist/console/*; do
    row "$p" "console/$(basename "$p")"
  done
  read -r craw cgz cbr < <(awk '{r+=$1; g+=$2; b+=$3} END {print r, g, b}' "$TOTALS")
  printf '%-28s %10s %10s %10s
' "console total" "$craw" "$cgz" "$cbr"
fi
rm -f "$TOTALS"
if [ "$br" -le "$BUDGET" ]; then
  echo "widget total brotli: $br bytes (budget $BUDGET): PASS"
else
  echo "widget total brotli: $br bytes (budget $BUDGET): FAIL"
  exit 1
fi

#!/bin/sh
# contrib/demo.sh - render the shipped demo job (22 stations over Nanshan,
# three hours of PM2.5) with the real district outline, and say where the
# PNGs are.  Run from the top of a built tree; output under ./demo-out.
set -e
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/demo-out}
"$top/krigd" render --in "$top/contrib/demo/pm25-job.json" --boundary-dir "$top/contrib/data" \
	--out "$out" --grid > "$out.json"
echo "result JSON: $out.json"
find "$out" -name '*.png' | sort | sed 's/^/PNG: /'

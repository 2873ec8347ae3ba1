#!/bin/sh
# contrib/demo.sh - the main job on the embedded default, end to end:
# a sample source database in the seed's shape (kriging_img, six rows of
# Nanshan station readings), `krigd serve` on it, one ping through the Unix
# socket as the seed's sender did, and the PNGs it renders.  Everything
# lives under ./demo (or $1); run from the top of a built tree.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/demo}
krigd=${KRIGD:-$top/krigd} # the build tree's, or KRIGD (tests/cli/demo.test)

# Start afresh, but never empty a directory this script did not make.
if [ -d "$dir" ] && [ ! -e "$dir/.krigd-demo" ] && [ -n "$(ls -A "$dir")" ]; then
	echo "$0: $dir exists and is not a demo directory; not touching it" >&2; exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
: > "$dir/.krigd-demo"
"$top/contrib/data/make-sample-source.sh" "$dir/source.db" >/dev/null

"$krigd" serve --db "$dir/queue.db" --socket "$dir/krigd.sock" --out "$dir/images" \
	--source "$dir/source.db" --boundary "$top/contrib/data/nanshan.geojson" --boundary-dir "$top/contrib/data" \
	--url-prefix "/images/" 2> "$dir/krigd.log" &
serve=$!
# On any exit, also by a signal (dash runs the EXIT trap only on exit).
trap 'kill $serve 2>/dev/null || true; wait $serve 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The socket appears once the listener has the database open.
i=0
while [ ! -S "$dir/krigd.sock" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "krigd did not start; see $dir/krigd.log" >&2; exit 1; }
	sleep 0.05
done

# (On its own line: inside echo's arguments a refused ping would not stop set -e.)
ping=$("$krigd" submit --socket "$dir/krigd.sock" "hello server $(date)")
echo "ping  -> job $ping"
echo "inline demo job -> job $("$krigd" submit --socket "$dir/krigd.sock" - < "$top/contrib/demo/pm25-job.json" 2>/dev/null || echo '(refused: see krigd.log)')"

# Wait until nothing is pending or running.
i=0
while :; do
	busy=$(sqlite3 "$dir/queue.db" "SELECT count(*) FROM jobs WHERE state IN ('pending','running')" 2>/dev/null || echo 1)
	[ "$busy" = 0 ] && break
	i=$((i + 1)); [ $i -lt 600 ] || { echo "jobs still running after 60 s; see $dir/krigd.log" >&2; exit 1; }
	sleep 0.1
done

"$krigd" jobs --db "$dir/queue.db"
echo
echo "img_list written back into the source rows:"
sqlite3 "$dir/source.db" "SELECT id_num, map_index, img_list FROM kriging_img"
echo
find "$dir/images" -name '*.png' | sort | sed 's/^/PNG: /'

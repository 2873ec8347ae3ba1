#!/bin/sh
# contrib/web/run.sh [DIR] - the browser path on the embedded default:
# builds the sample source database (as contrib/demo.sh does), writes a
# whsec_ callback secret, starts `krigd serve` on it and the web app
# (contrib/web/app.py) on 127.0.0.1, and prints the URL.  Ctrl-C stops both.
# Everything lives under ./web-demo (or DIR); run from a built tree.
# PORT=N picks the port (default 8080; 0: any free port, printed).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$PWD/web-demo}
krigd=${KRIGD:-$top/krigd}
port=${PORT:-8080}

[ -x "$krigd" ] || { echo "$0: $krigd not found: build krigd first (./configure && make)" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "$0: python3 is needed for the web app" >&2; exit 1; }

# Start afresh, but never empty a directory this script did not make.
if [ -d "$dir" ] && [ ! -e "$dir/callback.secret" ] && [ -n "$(ls -A "$dir")" ]; then
	echo "$0: $dir exists and is not a web demo directory; not touching it" >&2; exit 1
fi
rm -rf "$dir"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
"$top/contrib/data/make-sample-source.sh" "$dir/source.db" >/dev/null
# The key krigd signs callbacks with and the app verifies them with.
(umask 077 && python3 -c 'import base64, os; print("whsec_" + base64.b64encode(os.urandom(32)).decode())' \
	> "$dir/callback.secret")

"$krigd" serve --db "$dir/queue.db" --socket "$dir/krigd.sock" --out "$dir/images" \
	--source "$dir/source.db" --boundary "$top/contrib/data/nanshan.geojson" \
	--boundary-dir "$top/contrib/data" --url-prefix "/images/" \
	--callback-secret-file "$dir/callback.secret" 2> "$dir/krigd.log" &
serve=$!
app=
cleanup() {
	# (set -e: a kill of a process already gone must not end the clean-up)
	if [ -n "$app" ]; then kill "$app" 2>/dev/null || true; fi
	kill "$serve" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The socket appears once the listener has the database open.
i=0
while [ ! -S "$dir/krigd.sock" ]; do
	i=$((i + 1)); [ $i -lt 200 ] || { echo "$0: krigd did not start; see $dir/krigd.log" >&2; exit 1; }
	kill -0 "$serve" 2>/dev/null || { echo "$0: krigd exited; see $dir/krigd.log" >&2; exit 1; }
	sleep 0.05
done

# The app prints "krigd web demo: http://127.0.0.1:PORT/" once it listens.
python3 "$top/contrib/web/app.py" --krigd "$krigd" --db "$dir/queue.db" --socket "$dir/krigd.sock" \
	--out "$dir/images" --source "$dir/source.db" --boundary "$top/contrib/data/nanshan.geojson" \
	--secret-file "$dir/callback.secret" --port "$port" 2> "$dir/web.log" &
app=$!
echo "krigd log: $dir/krigd.log, web app log: $dir/web.log; Ctrl-C stops both"
wait "$app" || {
	rc=$?
	echo "$0: the web app stopped (exit $rc); the end of $dir/web.log:" >&2
	tail -n 5 "$dir/web.log" >&2
	exit $rc
}

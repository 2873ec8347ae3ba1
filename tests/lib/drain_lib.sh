# tests/lib/drain_lib.sh - helpers of the drain / serve / operator tests; source
# it after tests/lib.sh.  Everything waits by polling with a deadline.
command -v sqlite3 >/dev/null || skip_all "the sqlite3 shell is needed"
command -v python3 >/dev/null || skip_all "python3 is needed"

BOUNDARY=$top_srcdir/contrib/data/nanshan.geojson
SERVE_PID=

q() { sqlite3 -cmd ".timeout 10000" "$@"; }

# until_true SECONDS CMD...: poll CMD until it succeeds; 1 after the deadline.
until_true() {
	local deadline=$(( $(date +%s) + $1 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# start_serve LOG [serve options]: krigd serve in the background; returns
# once the listener's socket answers a submit of nothing (the socket file
# exists and the log says listening).
start_serve() {
	local log=$1; shift
	"$KRIGD" serve "$@" 2>"$log" &
	SERVE_PID=$!
	until_true 30 grep -q "listening on" "$log"
}
stop_serve() {   # SIGTERM; the exit status of serve
	kill -TERM "$SERVE_PID" 2>/dev/null
	wait "$SERVE_PID"
}
# child_pid NAME: the pid of serve's "krigd NAME" child (listen or drain).
child_pid() {
	local p
	for p in $(pgrep -P "$SERVE_PID"); do
		if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "^krigd $1 "; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# count DB WHERE: rows of jobs matching WHERE.
count() { q "$1" "SELECT count(*) FROM jobs WHERE $2"; }
# is_count DB WHERE N: true when exactly N rows match.
is_count() { [ "$(count "$1" "$2")" = "$3" ]; }

# A whsec_ secret (24 random bytes, base64) in FILE.
make_secret() { printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64)" > "$1"; }

# start_receiver NAME [receiver options]: tests/lib/hook_receiver.py with its
# stdin on a fifo held open by this shell (on fd 8, or $RECV_FD for a second
# receiver); sets RECV_PORT. Logs to $TMP/NAME.log.
start_receiver() {
	local name=$1; shift
	mkfifo "$TMP/$name.in"
	python3 "$top_srcdir/tests/lib/hook_receiver.py" --log "$TMP/$name.log" "$@" \
		< "$TMP/$name.in" > "$TMP/$name.port" &
	eval "exec ${RECV_FD:-8}> \"\$TMP/\$name.in\""
	until_true 20 test -s "$TMP/$name.port" || return 1
	RECV_PORT=$(head -1 "$TMP/$name.port")
}
stop_receiver() { exec 8>&-; wait; }

# inline_job SRCDB ROW INDEX KEY WIDTH COPIES [CALLBACK]: an inline trigger
# made of source row ROW's frames repeated COPIES times (distinct pubtimes);
# $INLINE_EXTRA (a JSON object), when set, is merged into it.
inline_job() {
	python3 - "$@" <<'PY'
import json, sqlite3, sys
db, row, index, key, width, copies = sys.argv[1:7]
cb = sys.argv[7] if len(sys.argv) > 7 else None
frames = json.loads(sqlite3.connect(db).execute(
    "SELECT ret_data FROM kriging_img WHERE id_num = ?", (int(row),)).fetchone()[0])
out = []
for c in range(int(copies)):
    for f in frames:
        out.append({"pubtime": "%s c%d" % (f["pubtime"], c), "points": f["time_data"]})
t = {"index": index, "key": key, "width": int(width), "frames": out}
if cb:
    t["callback"] = cb
import os
t.update(json.loads(os.environ.get("INLINE_EXTRA") or "{}"))
print(json.dumps(t))
PY
}

# tests/lib/lib.sh - the one helper library of the shell tests; source it
# first.  TAP output (ok, check, skip, tap_done), a scratch directory, the
# queue query (q), waiting with a deadline (wait_for, wait_ready), daemons
# started in the background and stopped on every path (start_bg, stop_bg,
# start_listener, start_serve), and the peers (start_receiver).
# Part-specific helpers live beside it and use only these primitives:
# tests/lib/drain_lib.sh (serve / callback tests: source-row jobs, secrets)
# and tests/lib/harden.sh (fault tests: a made-up source, small jobs, the
# end-of-test invariants).  Never a bare sleep: every wait has a deadline.
set -u
TAP_N=0
TAP_FAILED=0
: "${KRIGD:?run through make check}"
: "${top_srcdir:?run through make check}"

ok() {      # ok COND_EXIT_STATUS "description"
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then echo "ok $TAP_N - $2"; else echo "not ok $TAP_N - $2"; TAP_FAILED=$((TAP_FAILED + 1)); fi
}
check() {   # check "description" cmd args... : passes when cmd exits 0
	local what=$1; shift
	if "$@" >/dev/null 2>&1; then ok 0 "$what"; else ok 1 "$what"; echo "# failed: $*"; fi
}
skip_all() { echo "1..0 # SKIP $1"; exit 0; }
skip() {    # skip "description" "reason"
	TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"
}
tap_done() { echo "1..$TAP_N"; [ "$TAP_FAILED" -eq 0 ]; }

BOUNDARY=$top_srcdir/contrib/data/nanshan.geojson
# What starts each log line on a plain stderr (grep's basic regex): an
# ISO 8601 UTC time and a space.
LOG_TS='[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]\{3\}Z '

# The PNG checker (stdlib Python, independent of krigd's code): FILE... or DIR.
PNG_CHECK="python3 $top_srcdir/tests/lib/png_check.py"

# ---- the scratch directory and what is stopped on exit ----------------------
# A private scratch directory, removed on exit.  Every daemon start_bg
# started and did not stop is stopped first, on every path: the end, a
# failure, `exit`, or a signal (HUP, INT, TERM end the test through exit).
TMP=$(mktemp -d "${TMPDIR:-/tmp}/krigd-test.XXXXXX")
BG_PIDS=
AT_EXIT=
at_exit() { AT_EXIT="$AT_EXIT$1;"; }   # at_exit 'CMD': run CMD on exit, before the daemons stop
lib_cleanup() {
	local p n
	eval "${AT_EXIT:-:}"
	for p in $BG_PIDS; do
		lib_ours "$p" && kill -TERM "$p" 2>/dev/null
	done
	for p in $BG_PIDS; do
		n=0
		while lib_ours "$p" && [ "$(lib_state "$p")" != Z ] && [ $n -lt 200 ]; do
			n=$((n + 1)); sleep 0.05    # up to 10 s to stop on SIGTERM
		done
		lib_ours "$p" && [ "$(lib_state "$p")" != Z ] && kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"   # KEEP_TMP=1: leave it for a post-mortem
}
# lib_ours PID: PID is still a child of this shell (not reaped, not reused).
lib_ours() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)" = "$$" ]; }
lib_state() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
trap lib_cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- daemons -------------------------------------------------------------------
# start_bg VAR CMD...: run CMD in the background, its pid in VAR; it is
# stopped (SIGTERM, then SIGKILL after 10 s) when the test exits unless
# stop_bg stopped it.  Redirections and VAR=value prefixes of the call
# apply to CMD:  start_bg LP "$KRIGD" listen ... 2>"$TMP/listen.log"
start_bg() {
	local var=$1; shift
	"$@" &
	eval "$var=\$!"
	BG_PIDS="$BG_PIDS $!"
}
# bg_register PID: stop PID on exit too; for a process started with "&"
# whose redirections must be opened by the child (a fifo: the parent would
# block opening it).
bg_register() { BG_PIDS="$BG_PIDS $1"; }
# stop_bg PID [SIGNAL]: send SIGNAL (default TERM), wait; PID's exit status.
stop_bg() {
	local p keep=
	for p in $BG_PIDS; do [ "$p" = "$1" ] || keep="$keep $p"; done
	BG_PIDS=$keep
	kill "-${2:-TERM}" "$1" 2>/dev/null
	wait "$1"
}

# ---- waiting -------------------------------------------------------------------
# wait_for SECONDS CMD...: poll CMD (its output dropped) until it succeeds;
# after SECONDS, return 1 and say on stderr what was not seen.
# wait_for PATH SECONDS: the same for "PATH exists" (the older form).
wait_for() {
	local secs deadline
	if [ $# -eq 2 ] && lib_uint "$2" && ! lib_uint "$1"; then set -- "$2" test -e "$1"; fi
	secs=$1; shift
	deadline=$(( $(date +%s) + secs ))
	until "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$deadline" ]; then
			echo "# wait_for: not true after $secs s: $*" >&2
			return 1
		fi
		sleep "${WAIT_POLL:-0.05}"
	done
}
# wait_progress SECONDS COUNT_CMD CMD...: wait_for CMD, but the deadline is
# for progress: it is pushed back whenever COUNT_CMD's output changes (a
# job finished), so a slow machine (a sanitizer build under load) is not
# taken for a stuck daemon; it gives up after SECONDS without a change, or
# after 10 x SECONDS in all.
wait_progress() {
	local secs=$1 count=$2 last now deadline end
	shift 2
	last=$($count 2>/dev/null)
	deadline=$(( $(date +%s) + secs )) end=$(( $(date +%s) + 10 * secs ))
	until "$@" >/dev/null 2>&1; do
		now=$($count 2>/dev/null)
		[ "$now" != "$last" ] && last=$now deadline=$(( $(date +%s) + secs ))
		if [ "$(date +%s)" -ge "$deadline" ] || [ "$(date +%s)" -ge "$end" ]; then
			echo "# wait_progress: not true, and $count stayed at '$now' for $secs s: $*" >&2
			return 1
		fi
		sleep "${WAIT_POLL:-0.05}"
	done
}
lib_uint() { case $1 in ''|*[!0-9]*) return 1;; esac; }
until_true() { wait_for "$@"; }   # the older name (tests/lib/drain_lib.sh's)
# wait_ready PID SECONDS CMD...: wait_for, but give up at once when the
# process PID has died (a daemon that cannot start never becomes ready).
wait_ready() {
	local pid=$1 secs=$2; shift 2
	wait_for "$secs" lib_alive_or "$pid" "$@" || return 1
	"$@" >/dev/null 2>&1 && return 0
	echo "# wait_ready: process $pid ended before: $*" >&2
	return 1
}
lib_alive() { kill -0 "$1" 2>/dev/null && [ "$(lib_state "$1")" != Z ]; }
lib_alive_or() { local pid=$1; shift; "$@" || ! lib_alive "$pid"; }
# wait_socket PID SOCKET [SECONDS]: the daemon PID has bound SOCKET (default 20 s).
wait_socket() { wait_ready "$1" "${3:-20}" test -S "$2"; }

# start_listener DB SOCK LOG [listen options]: krigd listen in the
# background (pid in LPID), ready once its log says it is listening.
start_listener() {
	local db=$1 sock=$2 log=$3; shift 3
	start_bg LPID "$KRIGD" listen --db "$db" --socket "$sock" "$@" 2>"$log"
	wait_ready "$LPID" 20 grep -q "listening on" "$log"
}
stop_listener() { stop_bg "$LPID"; }   # SIGTERM and wait: its exit status

# start_serve LOG [serve options]: krigd serve in the background (pid in
# SERVE_PID), ready once its listener says it is listening.
SERVE_PID=
start_serve() {
	local log=$1; shift
	start_bg SERVE_PID "$KRIGD" serve "$@" 2>"$log"
	wait_ready "$SERVE_PID" 30 grep -q "listening on" "$log"
}
stop_serve() { stop_bg "$SERVE_PID"; }   # SIGTERM; the exit status of serve
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
# new_child NAME OLD: serve runs a "krigd NAME" child whose pid is not OLD
# (the supervisor has restarted it).
new_child() {
	local p
	for p in $(pgrep -P "$SERVE_PID"); do
		[ "$p" != "$2" ] && tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q "^krigd $1 " && return 0
	done
	return 1
}

# start_receiver NAME [receiver options]: tests/lib/hook_receiver.py with its
# stdin on a fifo held open by this shell (on fd 8, or $RECV_FD for a second
# receiver: it exits when that fd is closed); sets RECV_PORT.  Logs to
# $TMP/NAME.log.
start_receiver() {
	local name=$1; shift
	mkfifo "$TMP/$name.in"
	python3 "$top_srcdir/tests/lib/hook_receiver.py" --log "$TMP/$name.log" "$@" \
		< "$TMP/$name.in" > "$TMP/$name.port" &
	RECV_PID=$!
	bg_register "$RECV_PID"
	eval "exec ${RECV_FD:-8}> \"\$TMP/\$name.in\""
	wait_ready "$RECV_PID" 20 test -s "$TMP/$name.port" || return 1
	RECV_PORT=$(head -1 "$TMP/$name.port")
}
stop_receiver() { exec 8>&-; wait; }

# ---- the queue -------------------------------------------------------------------
# q DB SQL|.command...: the sqlite3 shell on DB, waiting up to 10 s for a lock.
q() { sqlite3 -cmd ".timeout 10000" "$@"; }
# count DB WHERE: rows of jobs matching WHERE.
count() { q "$1" "SELECT count(*) FROM jobs WHERE $2"; }
# is_count DB WHERE N: true when exactly N rows match.
is_count() { [ "$(count "$1" "$2")" = "$3" ]; }

# apt_install PKG...: install Debian packages a test needs (a peer such as R
# gstat, chromium, mariadb-server), as root only.  Tests run in parallel, and
# two apt-get at once fail on dpkg's lock: one lock file serialises them.
# Returns non-zero when not root, without apt, or when the install fails.
apt_install() {
	[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
	echo "# installing $* from Debian"
	flock "${TMPDIR:-/tmp}/krigd-tests-apt.lock" sh -c '
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -qq "$@" >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
			  apt-get install -y -qq "$@" >/dev/null 2>&1; }' apt_install "$@"
}

# new_queue DB: an empty krigd queue at DB.  Only listen, drain and serve
# create a queue; the operator commands refuse a missing one.
new_queue() {
	"$KRIGD" drain --db "$1" --out "$TMP/.new-queue-out" --exit-when-idle --no-callbacks 2>/dev/null
}

# plain_only WHAT: a test that needs a large peer (R, Chromium; PostgreSQL
# has pg_gate) runs in the plain build only, so CI's sanitizer and portable
# builds stay short; it says SKIP there, visibly.  KRIGD_PEER_TESTS=1 runs
# it in any build.
plain_only() {
	[ "${KRIGD_PEER_TESTS:-auto}" = 1 ] && return 0
	if grep -Eq -- '--enable-sanitizers|--disable-simd' "$top_builddir/config.status" 2>/dev/null; then
		skip_all "$1 runs in the plain build only (KRIGD_PEER_TESTS=1 runs it here)"
	fi
}

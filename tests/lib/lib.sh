# tests/lib/lib.sh - TAP helpers for shell tests; source it first.
# Every check prints "ok N - what" / "not ok N - what"; call tap_done last.
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

# A private scratch directory, removed on exit.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/krigd-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# wait_for FILE SECONDS: poll (no blind sleep) until FILE exists.
wait_for() {
	local deadline=$(( $(date +%s) + $2 ))
	while [ ! -e "$1" ]; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.02
	done
}

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

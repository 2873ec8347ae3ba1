#!/bin/sh
# bench/queues.sh - bench/queues.py on SQLite and on a private PostgreSQL
# (tests/lib/pg.sh: a temp directory, a unix socket, no TCP, the same disk)
# in one run.  Built without PostgreSQL, or where it cannot be installed or
# started, SQLite alone.  BENCH_IDLE (40) idle jobs, BENCH_TINY (200) tiny
# jobs per drain run.
set -u
KRIGD=${KRIGD:-./krigd}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
export KRIGD
[ -x "$KRIGD" ] || { echo "bench/queues.sh: build first (make)"; exit 1; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/krigd-bench.XXXXXX")
BENCH_PG_URI=
if grep -q '^#define HAVE_POSTGRESQL 1' "$top_builddir/config.h"; then
	# What tests/lib/pg.sh expects of tests/lib/lib.sh; a skip means SQLite alone.
	skip_all() { echo "bench/queues.sh: PostgreSQL skipped: $1"; PG_SKIP=1; }
	apt_install() {
		[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
	}
	PG_SKIP=0
	. "$top_srcdir/tests/lib/pg.sh"
	trap 'pg_cleanup; rm -rf "$TMP"' EXIT
	if pg_setup >/dev/null && [ "$PG_SKIP" = 0 ]; then
		BENCH_PG_URI=$PG_URI
	else
		echo "bench/queues.sh: PostgreSQL did not start; SQLite alone"
	fi
else
	trap 'rm -rf "$TMP"' EXIT
	echo "bench/queues.sh: built without PostgreSQL; SQLite alone"
fi
export BENCH_PG_URI
python3 "$top_srcdir/bench/queues.py"

#!/bin/sh
# bench/pg_ingest.sh - acked triggers per second through `krigd listen`,
# SQLite beside PostgreSQL, in one run, with 1 and 8 clients each keeping 16
# triggers in flight (tests/lib/kd_flood).  Both queues are durable at the
# ack: SQLite synchronous=FULL (fsync of the WAL), PostgreSQL
# synchronous_commit=on (WAL flush).  PostgreSQL is a private server started
# here (tests/lib/pg.sh: a temp directory, a unix socket, no TCP), on the
# same disk.  BENCH_N (default 20000) triggers per run.
set -u
KRIGD=${KRIGD:-./krigd}
FLOOD=${FLOOD:-./tests/lib/kd_flood}
N=${BENCH_N:-20000}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-.}
[ -x "$KRIGD" ] && [ -x "$FLOOD" ] || { echo "bench/pg_ingest.sh: build first (make)"; exit 1; }
grep -q '^#define HAVE_POSTGRESQL 1' "$top_builddir/config.h" || { echo "bench/pg_ingest.sh: built without PostgreSQL; skipped"; exit 0; }

# What tests/lib/pg.sh expects of tests/lib/lib.sh.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/krigd-bench.XXXXXX")
skip_all() { echo "bench/pg_ingest.sh: skipped: $1"; exit 0; }
apt_install() {
	[ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}
. "$top_srcdir/tests/lib/pg.sh"
LPID=
cleanup() { [ -n "$LPID" ] && kill "$LPID" 2>/dev/null; pg_cleanup; rm -rf "$TMP"; }
trap cleanup EXIT

wait_log() {   # wait_log FILE TEXT: poll with a deadline
	local deadline=$(( $(date +%s) + 30 ))
	until grep -q "$2" "$1" 2>/dev/null; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 0.02
	done
}

# run DB CLIENTS COUNT: prints the acked rate of one listener on DB
run() {
	local db=$1 clients=$2 total=$3
	rm -f "$TMP"/q.db* "$TMP/s.sock"
	"$KRIGD" listen --db "$db" --socket "$TMP/s.sock" 2> "$TMP/listen.log" &
	LPID=$!
	wait_log "$TMP/listen.log" "listening on" || { echo "listener did not start" >&2; return 1; }
	"$FLOOD" --socket "$TMP/s.sock" --clients "$clients" --count $((total / clients)) --window 16 \
		--deadline-s 600 | awk '{ print $6 }'
	kill -TERM "$LPID"
	wait "$LPID"
	LPID=
}

pg_setup >/dev/null || { echo "bench/pg_ingest.sh: PostgreSQL did not start"; exit 1; }
echo "krigd ingest, SQLite beside PostgreSQL: $N triggers per run, 16 in flight per client; $(nproc) cores"
s1=$(run "$TMP/q.db" 1 "$N"); s8=$(run "$TMP/q.db" 8 "$N")
# A fresh queue for each PostgreSQL run, as for SQLite.
fresh() { pg_psql -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public AUTHORIZATION $PG_ROLE" >/dev/null 2>&1; }
fresh; p1=$(run "$PG_URI" 1 "$N")
fresh; p8=$(run "$PG_URI" 8 "$N")

printf '%-44s %12s %12s\n' "acked triggers/s" "1 client" "8 clients"
printf '%-44s %12s %12s\n' "SQLite, group commit, synchronous=FULL" "$s1" "$s8"
printf '%-44s %12s %12s\n' "PostgreSQL 1 listener, synchronous_commit=on" "$p1" "$p8"
awk -v s1="$s1" -v s8="$s8" -v p1="$p1" -v p8="$p8" 'BEGIN {
	if (s1 > 0 && s8 > 0) printf "PostgreSQL / SQLite: %.2fx (1 client), %.2fx (8 clients)\n", p1 / s1, p8 / s8 }'

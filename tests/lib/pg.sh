# tests/lib/pg.sh - a private PostgreSQL server for one test; source it after
# lib.sh.  The server runs from a data directory in the test's $TMP, listens
# only on a unix socket in a directory of its own (listen_addresses = ''), and
# is stopped on every path (pg_cleanup, which the EXIT trap set here calls
# before removing $TMP).  PostgreSQL refuses to run as root, so as root the
# server runs as the `postgres` user (created by the Debian package).
#
#   pg_setup          install PostgreSQL if missing (SKIP when impossible),
#                     initdb, start, create the role and database; sets PG_URI
#   pg_stop / pg_start
#   pg_restart_now    stop at once (-m immediate: crash-like) and start again
#   pg_psql ARGS...   psql as the superuser on the test's database
#
# PG_URI is the libpq URI krigd is given: postgresql:///DB?host=SOCKDIR&user=ROLE.

# pg_gate: these tests start a PostgreSQL server and many krigd processes.
# They run in CI's plain build; its sanitizer and portable builds (.ci/run)
# skip them, visibly, to keep CI within its time (the SQLite suite covers
# the shared job rules there).  KRIGD_PG_TESTS=1 runs them in any build,
# KRIGD_PG_TESTS=0 skips them everywhere.
pg_gate() {
	grep -q '^#define HAVE_POSTGRESQL 1' "$top_builddir/config.h" ||
		skip_all "krigd was configured without PostgreSQL (install libpq-dev, re-run configure)"
	case ${KRIGD_PG_TESTS:-auto} in
	0 | no) skip_all "KRIGD_PG_TESTS=0" ;;
	1 | yes) return 0 ;;
	esac
	if grep -Eq -- '--enable-sanitizers|--disable-simd' "$top_builddir/config.status" 2>/dev/null; then
		skip_all "PostgreSQL tests run in the plain build only (KRIGD_PG_TESTS=1 runs them here)"
	fi
}

PG_BIN=
PG_DIR=
PG_SOCK=
PG_URI=
PG_DB=krigq
PG_ROLE=krigd
PG_RUNNING=0

# Run a command as the server's owner: postgres when we are root.
pg_as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_find_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { PG_BIN=$d; return 0; }
	done
	command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 &&
		{ PG_BIN=$(dirname "$(command -v initdb)"); return 0; }
	return 1
}

pg_start() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
		-o "-c listen_addresses='' -k $PG_SOCK" start >/dev/null 2>&1 || return 1
	PG_RUNNING=1
}

pg_stop() {
	[ "$PG_RUNNING" = 1 ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	PG_RUNNING=0
}

# A crash-like stop (no checkpoint, clients cut off), then a start: what a
# node sees when the database host reboots.
pg_restart_now() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	PG_RUNNING=0
	pg_start
}

pg_psql() {
	pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -d "$PG_DB" "$@"
}

pg_cleanup() {
	pg_stop
}

pg_setup() {
	if ! pg_find_bin; then
		apt_install postgresql-15 || apt_install postgresql
		pg_find_bin || skip_all "PostgreSQL is not installed and cannot be installed here (not root or no apt)"
	fi
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		skip_all "no postgres user to run the server as (PostgreSQL refuses root)"
	fi
	# The server's owner must reach its directory through $TMP.
	chmod 711 "$TMP"
	PG_DIR=$TMP/pg
	PG_SOCK=$PG_DIR/sock
	mkdir -p "$PG_SOCK"
	[ "$(id -u)" = 0 ] && chown -R postgres "$PG_DIR"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --no-locale \
		>"$PG_DIR/initdb.log" 2>&1 || { sed 's/^/# /' "$PG_DIR/initdb.log" | tail -5; return 1; }
	# Small and quiet: a test server, not a tuned one.
	cat >>"$PG_DIR/data/postgresql.conf" <<-EOF
	shared_buffers = 16MB
	max_connections = 100
	log_min_messages = warning
	EOF
	pg_start || { tail -5 "$PG_DIR/server.log" | sed 's/^/# /'; return 1; }
	pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCK" -d postgres \
		-c "CREATE ROLE $PG_ROLE LOGIN" -c "CREATE DATABASE $PG_DB OWNER $PG_ROLE" >/dev/null || return 1
	PG_URI="postgresql:///$PG_DB?host=$PG_SOCK&user=$PG_ROLE"
	export PG_URI
}

# Stop the server before lib.sh's trap removes its directory.  A test that
# sets its own EXIT trap calls pg_cleanup in it.
trap 'pg_cleanup; rm -rf "$TMP"' EXIT

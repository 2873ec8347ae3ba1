/* queue_pg.c - the queue on PostgreSQL: connection, reconnects, statements,
 * migrations and ingest.  See queue_pg.h and schema/queue.pg.sql; the drain
 * side is in queue_pg_jobs.c. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "error.h"
#include "queue_pg_impl.h"
#include "readfile.h"

extern const char queue_pg_schema_sql[]; /* src/queue/queue_pg_schema.c, generated */

#define PG_LOCK_KEY 0x6b72696764L /* "krigd": the migrations' advisory lock */
#define PW_MAX 1024               /* bytes of a password file */
#define BACKOFF_MIN 0.1           /* seconds before the first reconnect */
#define BACKOFF_MAX 5.0

/* The multi-row insert: ids drawn from the sequence first, so each input
 * row knows its id whether it was inserted or skipped by a conflict (a
 * reused key, or a second pending scan).  jobs_accepted counts only what
 * was inserted. */
static const char insert_sql[] =
	"WITH input AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('jobs', 'id')) AS id, t.* "
	"FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::int[], "
	"$7::bigint[], $8::bigint[]) WITH ORDINALITY AS t(kind, priority, key, payload, source_id, "
	"max_attempts, run_at, sender_uid, ord)), "
	"ins AS (INSERT INTO jobs(id, state, kind, priority, key, payload, source_id, max_attempts, "
	"run_at, sender_uid, created_at, updated_at) SELECT id, 'pending', kind, priority, key, payload, "
	"source_id, max_attempts, coalesce(run_at, " PG_NOW "), sender_uid, " PG_NOW ", " PG_NOW " "
	"FROM input ORDER BY ord ON CONFLICT DO NOTHING RETURNING id), "
	"cnt AS (UPDATE counters SET value = value + (SELECT count(*) FROM ins) "
	"WHERE name = 'jobs_accepted') "
	"SELECT input.id, ins.id IS NOT NULL FROM input LEFT JOIN ins ON ins.id = input.id "
	"ORDER BY input.ord";

static const char *const stmt_sql[P_NSTMT] = {
	[P_INSERT] = insert_sql,
	[P_KEY_FIND] = "SELECT id, payload FROM jobs WHERE key = $1",
	[P_SCAN_FIND] = "SELECT id FROM jobs WHERE kind = 'scan' AND state = 'pending'",
	[P_COUNTER] = "UPDATE counters SET value = value + $2::numeric WHERE name = $1",
	[P_CLAIM] = "UPDATE jobs SET state = 'running', lease_token = $2, lease_until = " PG_NOW " + $1::int, "
		    "attempts = attempts + 1, updated_at = " PG_NOW " WHERE id = ("
		    "SELECT id FROM jobs WHERE state = 'pending' AND run_at <= " PG_NOW " "
		    "ORDER BY priority DESC, run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " PG_JOB_COLS,
	[P_RENEW] = "UPDATE jobs SET lease_until = " PG_NOW " + $3::int, updated_at = " PG_NOW " "
		    "WHERE id = $1 AND lease_token = $2 AND state = 'running'",
	[P_CANCEL_REQ] = "SELECT cancel_requested FROM jobs WHERE id = $1 AND lease_token = $2 "
			 "AND state = 'running'",
	[P_GET] = "SELECT " PG_JOB_COLS " FROM jobs WHERE id = $1",
	[P_GET_LOCK] = "SELECT " PG_JOB_COLS " FROM jobs WHERE id = $1 FOR UPDATE",
	[P_FINISH] = "UPDATE jobs SET state = 'done', result = $2, finished_at = " PG_NOW ", "
		     "updated_at = " PG_NOW ", lease_token = NULL, lease_until = NULL, last_error = NULL "
		     "WHERE id = $1",
	/* $4: the backoff delay in seconds; $5: whether the state is final. */
	[P_FAIL] = "UPDATE jobs SET state = $2, last_error = $3, run_at = " PG_NOW " + $4::bigint, "
		   "updated_at = " PG_NOW ", finished_at = CASE WHEN $5::boolean THEN " PG_NOW " END, "
		   "lease_token = NULL, lease_until = NULL WHERE id = $1",
	[P_CB_INSERT] = "INSERT INTO callbacks(job_id, url, body, next_at, created_at, updated_at) "
			"VALUES($1, $2, $3, " PG_NOW ", " PG_NOW ", " PG_NOW ")",
	/* Locked and skipped: two drains reclaiming at once take disjoint rows. */
	[P_EXPIRED] = "SELECT " PG_JOB_COLS " FROM jobs WHERE state = 'running' AND lease_until < " PG_NOW " "
		      "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
	[P_CANCEL_PENDING] = "UPDATE jobs SET state = 'cancelled', finished_at = " PG_NOW ", "
			     "updated_at = " PG_NOW ", last_error = 'cancelled' WHERE id = $1 AND state = 'pending'",
	[P_CANCEL_RUNNING] = "UPDATE jobs SET cancel_requested = 1, updated_at = " PG_NOW " "
			     "WHERE id = $1 AND state = 'running'",
	/* No UPDATE OR IGNORE here: a dead scan stays dead while another scan
	 * is pending (index jobs_one_pending_scan), as on SQLite. */
	[P_RETRY_ONE] = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = " PG_NOW ", "
			"updated_at = " PG_NOW ", finished_at = NULL, cancel_requested = 0, lease_token = NULL, "
			"lease_until = NULL WHERE id = $1 AND (state IN ('dead', 'cancelled') OR "
			"($2::boolean AND state = 'done')) AND NOT (kind = 'scan' AND EXISTS ("
			"SELECT 1 FROM jobs s WHERE s.kind = 'scan' AND s.state = 'pending'))",
	[P_RETRY_DEAD] = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = " PG_NOW ", "
			 "updated_at = " PG_NOW ", finished_at = NULL, cancel_requested = 0 "
			 "WHERE state = 'dead' AND kind = 'render'",
	[P_RETRY_DEAD_SCAN] = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = " PG_NOW ", "
			      "updated_at = " PG_NOW ", finished_at = NULL, cancel_requested = 0 "
			      "WHERE id = (SELECT id FROM jobs WHERE state = 'dead' AND kind = 'scan' "
			      "ORDER BY id LIMIT 1) AND NOT EXISTS ("
			      "SELECT 1 FROM jobs s WHERE s.kind = 'scan' AND s.state = 'pending')",
	/* $1: the age in seconds (the server's clock decides what is older). */
	[P_PURGE_SEL] = "SELECT id, result FROM jobs j WHERE finished_at < " PG_NOW " - $1::bigint "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = j.id AND c.state = 'pending') "
			"ORDER BY finished_at, id LIMIT $2",
	[P_PURGE_DEL] = "DELETE FROM jobs j WHERE id = $1 AND finished_at < " PG_NOW " - $2::bigint "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = j.id AND c.state = 'pending')",
	[P_STATS_STATES] = "SELECT state, count(*) FROM jobs GROUP BY state",
	[P_STATS_COUNTERS] = "SELECT name, value FROM counters",
	[P_STATS_CB] = "SELECT count(*) FROM callbacks WHERE state = 'pending'",
	[P_STATS_OLDEST] = "SELECT min(created_at) FROM jobs WHERE state = 'pending'",
	[P_STATS_RATE] = "SELECT count(*) FILTER (WHERE finished_at >= " PG_NOW " - 60), count(*) "
			 "FROM jobs WHERE finished_at >= " PG_NOW " - 3600 AND state = 'done'",
	/* Pages by id ($3: below this id), so memory stays bounded. */
	[P_LIST] = "SELECT " PG_JOB_COLS " FROM jobs WHERE ($1::text IS NULL OR state = $1) AND id < $3 "
		   "ORDER BY id DESC LIMIT $2",
	[P_SOURCE] = "SELECT 1 FROM jobs WHERE source_id = $1 AND state IN ('pending', 'running', 'dead') LIMIT 1",
	/* $1: ids in flight; $2: URL origins to pass over ("http://host:port"):
	 * a URL matches when the origin is all of it or is followed by '/',
	 * '?' or '#'. */
	[P_OB_NEXT] = "SELECT id, job_id, url, body, attempts, next_at, created_at FROM callbacks "
		      "WHERE state = 'pending' AND next_at <= " PG_NOW " AND id <> ALL($1::bigint[]) "
		      "AND NOT EXISTS (SELECT 1 FROM unnest($2::text[]) o "
		      "WHERE left(url, length(o)) = o AND substr(url, length(o) + 1, 1) IN ('', '/', '?', '#')) "
		      "ORDER BY next_at, id LIMIT 1",
	[P_OB_DONE] = "UPDATE callbacks SET state = 'delivered', attempts = attempts + 1, last_status = $2, "
		      "last_error = NULL, updated_at = " PG_NOW " WHERE id = $1 AND state = 'pending'",
	/* $5: the delay in seconds before the next try. */
	[P_OB_FAILED] = "UPDATE callbacks SET state = CASE WHEN $4::boolean THEN 'failed' ELSE 'pending' END, "
			"attempts = attempts + 1, last_status = $2, last_error = $3, "
			"next_at = " PG_NOW " + $5::bigint, updated_at = " PG_NOW " WHERE id = $1 AND state = 'pending'",
};

int pgq_is_uri(const char *spec)
{
	return spec && (strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0);
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

double pgq_rand(struct pgq *q)
{
	uint64_t x = q->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	q->rng = x;
	return (double)(x >> 11) / 9007199254740992.0;
}

/* ---- connection ---------------------------------------------------------- */

/* SQLSTATE classes that mean the server or the link went away. */
static int lost_state(const char *st)
{
	return st && (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
		      strcmp(st, "57P03") == 0);
}

/* Map a failed result (or a dead connection) to a KD_E* code and message. */
static int pg_error(struct pgq *q, PGresult *r, struct error *e, const char *what)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	int code = KD_EIO;

	if (!msg)
		msg = q->conn ? PQerrorMessage(q->conn) : "no connection";
	if (!q->conn || PQstatus(q->conn) == CONNECTION_BAD || lost_state(st)) {
		q->in_tx = 0;
		if (q->conn && PQstatus(q->conn) != CONNECTION_BAD)
			PQfinish(q->conn), q->conn = NULL; /* 57P01 on a live socket: start over */
		return error_set(e, KD_EIO, "queue unavailable: %.*s", (int)strcspn(msg, "\n"), msg);
	}
	if (st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0 ||
		   strcmp(st, "57014") == 0))
		return error_set(e, KD_EBUSY, "queue busy");
	if (st && (strncmp(st, "23", 2) == 0 || strncmp(st, "22", 2) == 0))
		code = KD_EINPUT;
	return error_set(e, code, "%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

/* Per-connection settings: commits wait for the WAL flush (an ack means
 * durable), and nothing a user's ~/.psqlrc-like default could loosen. */
static int session_setup(struct pgq *q, struct error *e)
{
	PGresult *r = PQexec(q->conn, "SET synchronous_commit = on; SET application_name = 'krigd'; "
				      "SET client_min_messages = warning");
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_error(q, r, e, "session");

	PQclear(r);
	memset(q->prepared, 0, sizeof(q->prepared));
	return rc;
}

static int connect_now(struct pgq *q, struct error *e)
{
	const char *keys[] = { "dbname", "password", "connect_timeout", NULL };
	const char *vals[] = { q->uri, q->password, "10", NULL };

	if (q->conn)
		PQfinish(q->conn);
	/* expand_dbname: the URI's parameters (sslmode, ...) reach libpq as given. */
	q->conn = PQconnectdbParams(keys, vals, 1);
	if (!q->conn)
		return error_set(e, KD_ENOMEM, "out of memory");
	if (PQstatus(q->conn) != CONNECTION_OK) {
		const char *m = PQerrorMessage(q->conn);
		error_set(e, KD_EIO, "queue unavailable: %.*s", (int)strcspn(m, "\n"), m);
		PQfinish(q->conn);
		q->conn = NULL;
		return KD_EIO;
	}
	return session_setup(q, e);
}

/* Before each operation: a lost connection is tried again once its backoff
 * has passed (doubling up to BACKOFF_MAX); until then the call fails fast. */
static int ensure_conn(struct pgq *q, struct error *e)
{
	double t;

	if (q->conn && PQstatus(q->conn) == CONNECTION_OK)
		return 0;
	if (q->in_tx) {
		q->in_tx = 0;
		return error_set(e, KD_EIO, "queue unavailable: connection lost in a transaction");
	}
	t = mono();
	if (t < q->next_try)
		return error_set(e, KD_EIO, "queue unavailable: reconnecting in %.1f s", q->next_try - t);
	if (connect_now(q, e) == 0) {
		q->backoff = BACKOFF_MIN;
		return 0;
	}
	q->next_try = t + q->backoff * (0.8 + 0.4 * pgq_rand(q));
	q->backoff = q->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : q->backoff * 2;
	return e ? e->code : KD_EIO;
}

PGresult *pgq_run(struct pgq *q, enum pg_stmt s, int n, const char *const *v, struct error *e)
{
	char name[16];
	PGresult *r;
	ExecStatusType st;

	if (ensure_conn(q, e) < 0)
		return NULL;
	snprintf(name, sizeof(name), "k%d", (int)s);
	if (!q->prepared[s]) {
		r = PQprepare(q->conn, name, stmt_sql[s], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_error(q, r, e, "prepare");
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		q->prepared[s] = 1;
	}
	r = PQexecPrepared(q->conn, name, n, v, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pg_error(q, r, e, "queue");
	PQclear(r);
	return NULL;
}

int pgq_exec(struct pgq *q, const char *sql, struct error *e)
{
	PGresult *r;
	int rc = 0;

	if (ensure_conn(q, e) < 0)
		return e ? e->code : KD_EIO;
	r = PQexec(q->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_error(q, r, e, sql);
	PQclear(r);
	return rc;
}

int pgq_tx_begin(struct pgq *q, struct error *e)
{
	int rc = pgq_exec(q, "BEGIN", e);

	q->in_tx = rc == 0;
	q->notify_jobs = 0;
	return rc;
}

int pgq_tx_commit(struct pgq *q, struct error *e)
{
	/* The wake-up goes in the transaction: sent at COMMIT, never for a
	 * job that was rolled back. */
	int rc = q->notify_jobs ? pgq_exec(q, "NOTIFY krigd_jobs", e) : 0;

	if (rc == 0)
		rc = pgq_exec(q, "COMMIT", e);
	if (rc < 0)
		pgq_tx_rollback(q);
	q->in_tx = 0;
	q->notify_jobs = 0;
	return rc;
}

void pgq_tx_rollback(struct pgq *q)
{
	if (q->conn && PQstatus(q->conn) == CONNECTION_OK && PQtransactionStatus(q->conn) != PQTRANS_IDLE) {
		PGresult *r = PQexec(q->conn, "ROLLBACK");
		PQclear(r);
	}
	q->in_tx = 0;
	q->notify_jobs = 0;
}

long long pgq_changes(PGresult *r)
{
	const char *s = PQcmdTuples(r);
	return s && *s ? strtoll(s, NULL, 10) : 0;
}

long long pgq_ll(PGresult *r, int row, int col, long long dflt)
{
	return PQgetisnull(r, row, col) ? dflt : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int pgq_counter_add(struct pgq *q, const char *name, double v, struct error *e)
{
	char num[64];
	const char *p[2] = { name, num };
	PGresult *r;

	snprintf(num, sizeof(num), "%.17g", v);
	if (!(r = pgq_run(q, P_COUNTER, 2, p, e)))
		return e ? e->code : KD_EIO;
	PQclear(r);
	return 0;
}

/* ---- open, migrations ------------------------------------------------------ */

/* Apply one "-- version N" section unless the database has it: the advisory
 * lock, the version read and the section share one transaction, so nodes
 * starting together apply it once.  *latest_seen gets the database's. */
static int migrate_one(struct pgq *q, int n, const char *sql, int latest, struct error *e)
{
	PGresult *r;
	int have = 0, rc;
	char up[96];

	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	snprintf(up, sizeof(up), "SELECT pg_advisory_xact_lock(%ld)", PG_LOCK_KEY);
	if ((rc = pgq_exec(q, up, e)) < 0)
		goto fail;
	r = PQexec(q->conn, "SELECT CASE WHEN to_regclass('krigd_schema') IS NULL THEN 0 "
			    "ELSE (SELECT version FROM krigd_schema) END");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_error(q, r, e, "schema version");
		PQclear(r);
		goto fail;
	}
	have = (int)pgq_ll(r, 0, 0, 0);
	PQclear(r);
	if (have > latest) {
		rc = error_set(e, KD_EINPUT, "queue database schema version %d is newer than this krigd "
			       "knows (%d)", have, latest);
		goto fail;
	}
	if (n <= have) {
		pgq_tx_rollback(q);
		return 0;
	}
	if ((rc = pgq_exec(q, sql, e)) < 0) {
		error_prefix(e, "schema version %d: ", n);
		goto fail;
	}
	snprintf(up, sizeof(up), "UPDATE krigd_schema SET version = %d", n);
	if ((rc = pgq_exec(q, up, e)) < 0)
		goto fail;
	return pgq_tx_commit(q, e);
fail:
	pgq_tx_rollback(q);
	return rc;
}

static int migrate(struct pgq *q, struct error *e)
{
	const char *p = queue_pg_schema_sql;
	int latest = 0, rc;

	for (const char *s = strstr(p, "-- version "); s; s = strstr(s + 1, "-- version "))
		latest = atoi(s + 11);
	for (const char *s = strstr(p, "-- version "); s; s = strstr(s + 1, "-- version ")) {
		const char *end = strstr(s + 1, "-- version ");
		size_t len = end ? (size_t)(end - s) : strlen(s);
		char *sql = malloc(len + 1);

		if (!sql)
			return error_set(e, KD_ENOMEM, "out of memory");
		memcpy(sql, s, len);
		sql[len] = '\0';
		rc = migrate_one(q, atoi(s + 11), sql, latest, e);
		free(sql);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* The first line of path is the password (editors and `echo` end it with a
 * newline that is not part of it); NUL bytes are refused. */
static int read_password(struct pgq *q, const char *path, struct error *e)
{
	char *buf = NULL, *nl;
	size_t len = 0, n;
	int rc = readfile_capped(path, 65536, &buf, &len, e);

	if (rc < 0)
		return error_prefix(e, "--db-password-file: ");
	nl = memchr(buf, '\n', len);
	n = nl ? (size_t)(nl - buf) : len;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (memchr(buf, '\0', n) || n > PW_MAX) {
		explicit_bzero(buf, len);
		free(buf);
		return error_set(e, KD_EINPUT, "--db-password-file %s: a NUL byte, or longer than %d bytes",
				 path, PW_MAX);
	}
	explicit_bzero(buf + n, len - n);
	q->password = buf;
	return 0;
}

/* A password in the URI would show in `ps`, logs and the jobs' config:
 * refused, as for the MySQL source.  Other parameters reach libpq. */
static int check_uri(const char *uri, struct error *e)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &err);
	int rc = 0;

	if (!opts) {
		rc = error_set(e, KD_EINPUT, "--db: not a PostgreSQL URI: %.*s", err ? (int)strcspn(err, "\n") : 0,
			       err ? err : "");
		PQfreemem(err);
		return rc;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			rc = error_set(e, KD_EINPUT, "--db: a password in the URL is refused (it would show in "
				       "ps and logs): use PGPASSFILE or --db-password-file");
	PQconninfoFree(opts);
	return rc;
}

int pgq_open(struct pgq **qp, const char *uri, const char *password_file, const struct queue_opts *o,
	     struct error *e)
{
	struct pgq *q;
	int rc;

	*qp = NULL;
	if ((rc = check_uri(uri, e)) < 0)
		return rc;
	if (!(q = calloc(1, sizeof(*q))) || !(q->uri = strdup(uri))) {
		free(q);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	if (o)
		q->opts = *o;
	else
		queue_opts_default(&q->opts);
	if (getrandom(&q->rng, sizeof(q->rng), 0) != (ssize_t)sizeof(q->rng))
		q->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
	q->rng |= 1;
	q->backoff = BACKOFF_MIN;
	if ((password_file && (rc = read_password(q, password_file, e)) < 0) ||
	    (rc = connect_now(q, e)) < 0 || (rc = migrate(q, e)) < 0) {
		pgq_close(q);
		return rc;
	}
	*qp = q;
	return 0;
}

void pgq_close(struct pgq *q)
{
	if (!q)
		return;
	pgq_tx_rollback(q);
	if (q->conn)
		PQfinish(q->conn);
	if (q->listen)
		PQfinish(q->listen);
	if (q->password) {
		explicit_bzero(q->password, strlen(q->password));
		free(q->password);
	}
	free(q->uri);
	free(q);
}

void pgq_set_notify(struct pgq *q, queue_notify_fn fn, void *ctx)
{
	q->notify = fn;
	q->notify_ctx = ctx;
}

/* ---- ingest ---------------------------------------------------------------- */

int pgq_begin(struct pgq *q, struct error *e)
{
	int rc;

	if (q->in_group)
		return error_set(e, KD_EINTERNAL, "queue_begin: a group is already open");
	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	q->in_group = 1;
	return 0;
}

int pgq_commit(struct pgq *q, struct error *e)
{
	if (!q->in_group)
		return error_set(e, KD_EINTERNAL, "queue_commit: no group open");
	q->in_group = 0;
	return pgq_tx_commit(q, e);
}

void pgq_rollback(struct pgq *q)
{
	q->in_group = 0;
	pgq_tx_rollback(q);
}

/* A growing buffer for the array literals of the multi-row insert. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* One element of a PostgreSQL array literal: NULL, or "..." with '"' and
 * '\' escaped, after a ',' unless it is the first. */
static void put_elem(struct buf *b, size_t i, const char *s, size_t n)
{
	put(b, i ? "," : "{", 1);
	if (!s) {
		put(b, "NULL", 4);
		return;
	}
	put(b, "\"", 1);
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '"' || s[k] == '\\')
			put(b, "\\", 1);
		put(b, s + k, 1);
	}
	put(b, "\"", 1);
}

static void put_num(struct buf *b, size_t i, long long v, int null)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", v);

	put_elem(b, i, null ? NULL : num, (size_t)n);
}

/* Well-formed UTF-8 without NUL: what a text column takes (a bad byte
 * would fail the whole multi-row statement, not only its own job). */
static int text_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		unsigned long cp, min;
		size_t k;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			k = 2, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, min = 0x10000;
		else
			return 0;
		if (n - i <= k)
			return 0;
		cp = c & (0x3fu >> k);
		for (size_t j = 1; j <= k; j++) {
			if ((u[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* After the insert: what became of a job the conflict skipped.  A key
 * already there with the same payload is that job (existed); with another
 * payload, KD_EINPUT for this job only.  A skipped scan is the pending one. */
static int resolve_skipped(struct pgq *q, const struct queue_new_job *j, struct pgq_enqueued *r,
			   struct error *e)
{
	int scan = strcmp(j->kind ? j->kind : "render", "scan") == 0;
	const char *p[1] = { j->key };
	PGresult *res = pgq_run(q, scan ? P_SCAN_FIND : P_KEY_FIND, scan ? 0 : 1, p, e);

	if (!res)
		return e ? e->code : KD_EIO;
	if (PQntuples(res) == 0) {
		/* Purged, or claimed, between the two statements: try again. */
		PQclear(res);
		r->code = KD_EBUSY;
		snprintf(r->msg, sizeof(r->msg), "queue busy");
		return 0;
	}
	r->id = pgq_ll(res, 0, 0, 0);
	if (!scan && ((size_t)PQgetlength(res, 0, 1) != j->payload_len ||
		      memcmp(PQgetvalue(res, 0, 1), j->payload, j->payload_len) != 0)) {
		r->code = KD_EINPUT;
		snprintf(r->msg, sizeof(r->msg), "key already used with another payload");
	} else {
		r->existed = 1;
	}
	PQclear(res);
	return 0;
}

/* The eight array literals of the insert, for the jobs not refused here. */
static int build_arrays(const struct queue_new_job *jobs, size_t n, struct pgq_enqueued *res,
			struct buf a[8], size_t *m)
{
	*m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct queue_new_job *j = &jobs[i];

		if ((j->key && !text_ok(j->key, strlen(j->key))) || !text_ok(j->payload, j->payload_len)) {
			res[i].code = KD_EINPUT;
			snprintf(res[i].msg, sizeof(res[i].msg), "not valid UTF-8 text (or a NUL byte)");
			continue;
		}
		put_elem(&a[0], *m, j->kind ? j->kind : "render", strlen(j->kind ? j->kind : "render"));
		put_num(&a[1], *m, j->priority, 0);
		put_elem(&a[2], *m, j->key, j->key ? strlen(j->key) : 0);
		put_elem(&a[3], *m, j->payload, j->payload_len);
		put_num(&a[4], *m, j->source_id, j->source_id < 0);
		put_num(&a[5], *m, j->max_attempts >= 1 ? j->max_attempts : 5, 0);
		/* run_at is a node's clock: only "later than now" is honoured as given. */
		put_num(&a[6], *m, j->run_at, j->run_at <= 0);
		put_num(&a[7], *m, j->sender_uid, j->sender_uid < 0);
		res[i].code = 1; /* in the statement; set below */
		(*m)++;
	}
	for (int k = 0; k < 8; k++) {
		put(&a[k], *m ? "}" : "{}", *m ? 1 : 2);
		if (a[k].oom)
			return KD_ENOMEM;
	}
	return 0;
}

static int enqueue_locked(struct pgq *q, const struct queue_new_job *jobs, size_t n,
			  struct pgq_enqueued *res, struct error *e)
{
	struct buf a[8];
	const char *p[8];
	PGresult *r = NULL;
	size_t m, row = 0;
	int rc;

	memset(a, 0, sizeof(a));
	memset(res, 0, n * sizeof(*res));
	if ((rc = build_arrays(jobs, n, res, a, &m)) < 0) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < 8; k++)
		p[k] = a[k].p;
	if (m && !(r = pgq_run(q, P_INSERT, 8, p, e))) {
		rc = e ? e->code : KD_EIO;
		goto out;
	}
	if (r && (size_t)PQntuples(r) != m) {
		rc = error_set(e, KD_EINTERNAL, "insert: %d rows for %zu jobs", PQntuples(r), m);
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (res[i].code != 1)
			continue;
		res[i].code = 0;
		res[i].id = pgq_ll(r, (int)row, 0, 0);
		if (strcmp(PQgetvalue(r, (int)row++, 1), "t") == 0)
			q->notify_jobs = 1;
		else
			rc = resolve_skipped(q, &jobs[i], &res[i], e);
	}
out:
	PQclear(r);
	for (int k = 0; k < 8; k++)
		free(a[k].p);
	return rc;
}

int pgq_enqueue_many(struct pgq *q, const struct queue_new_job *jobs, size_t n,
		     struct pgq_enqueued *res, struct error *e)
{
	int rc, own = !q->in_group;

	if (own && (rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	rc = enqueue_locked(q, jobs, n, res, e);
	if (own) {
		if (rc < 0)
			pgq_tx_rollback(q);
		else
			rc = pgq_tx_commit(q, e);
	}
	return rc;
}

static int enqueue_single(struct pgq *q, const struct queue_new_job *j, long long *id, int *existed,
			  struct error *e)
{
	struct pgq_enqueued r;
	int rc;

	*existed = 0;
	if (j->payload_len > INT_MAX)
		return error_set(e, KD_ELIMIT, "payload too large");
	if ((rc = pgq_enqueue_many(q, j, 1, &r, e)) < 0)
		return rc;
	if (r.code < 0)
		return error_set(e, r.code, "%s", r.msg);
	*id = r.id;
	*existed = r.existed;
	return 0;
}

int pgq_enqueue(struct pgq *q, const struct queue_new_job *job, long long *id, int *existed,
		struct error *e)
{
	int ex;
	return enqueue_single(q, job, id, existed ? existed : &ex, e);
}

int pgq_enqueue_ping(struct pgq *q, const char *payload, size_t len, long long sender_uid,
		     long long *id, int *existed, struct error *e)
{
	struct queue_new_job j = {
		.kind = "scan", .payload = payload, .payload_len = len, .source_id = -1,
		.max_attempts = 5, .sender_uid = sender_uid,
	};
	int ex;

	return enqueue_single(q, &j, id, existed ? existed : &ex, e);
}

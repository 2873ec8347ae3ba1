/* queue_pg.c - the queue on PostgreSQL (libpq): the connection and its
 * reconnects, transactions, the server's clock, migrations, what may be
 * opened, LISTEN/NOTIFY wake-ups, and the ops table.  Rows are in
 * queue_pg_rows.c, reading and the outbox in queue_pg_read.c; the schema is
 * schema/queue.pg.sql. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "queue_pg.h"
#include "readfile.h"

extern const char queue_pg_schema_sql[]; /* src/queue/queue_pg_schema.c, generated */

#define PG_LOCK_KEY 0x6b72696764L /* "krigd": the migrations' advisory lock */
#define PW_MAX 1024               /* bytes of a password */
#define BACKOFF_MIN 0.1           /* seconds before the first reconnect */
#define BACKOFF_MAX 5.0
#define WAKE_CHANNEL "krigd_wake"

static struct pg *PG(struct queue *q)
{
	return q->impl;
}

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void pg_num(char b[32], long long v)
{
	snprintf(b, 32, "%lld", v);
}

long long pg_ll(PGresult *r, int row, int col, long long dflt)
{
	return PQgetisnull(r, row, col) ? dflt : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* ---- connection -------------------------------------------------------------- */

/* SQLSTATEs that mean the server or the link went away. */
static int lost_state(const char *st)
{
	return st && (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 ||
		      strcmp(st, "57P03") == 0);
}

int pg_error(struct queue *q, PGresult *r, struct error *e, const char *what)
{
	struct pg *x = PG(q);
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (!msg)
		msg = x->conn ? PQerrorMessage(x->conn) : "no connection";
	/* Every error from the server has a SQLSTATE; one without is libpq's
	 * own: the link is gone, whatever PQstatus says yet. */
	if (!x->conn || PQstatus(x->conn) == CONNECTION_BAD || !st || lost_state(st)) {
		/* Drop it: the next call reconnects (after its backoff). */
		char m[256];

		snprintf(m, sizeof(m), "%.*s", (int)strcspn(msg, "\n"), msg);
		if (x->conn)
			PQfinish(x->conn);
		x->conn = NULL;
		x->in_tx = 0;
		return error_set(e, KD_EBUSY, "queue unavailable: %s", m);
	}
	if (st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0 || strcmp(st, "55P03") == 0 ||
		   strcmp(st, "57014") == 0))
		return error_set(e, KD_EBUSY, "queue busy");
	return error_set(e, st && (strncmp(st, "23", 2) == 0 || strncmp(st, "22", 2) == 0) ? KD_EINPUT : KD_EIO,
			 "%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
}

static PGconn *connect_db(struct pg *x, struct error *e)
{
	const char *keys[] = { "dbname", "password", "connect_timeout", "application_name", NULL };
	const char *vals[] = { x->uri, x->password, "10", "krigd", NULL };
	/* expand_dbname: the URI's own parameters (sslmode, ...) reach libpq. */
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (!c) {
		error_set(e, KD_ENOMEM, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		error_set(e, KD_EBUSY, "queue unavailable: %.*s", (int)strcspn(m, "\n"), m);
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* A new connection with krigd's settings: a COMMIT returns once its WAL is
 * flushed (an ack means durable), unless the queue was opened for crash
 * safety only. */
static int connect_now(struct queue *q, struct error *e)
{
	struct pg *x = PG(q);
	PGresult *r;
	int rc = 0;

	if (x->conn)
		PQfinish(x->conn);
	x->in_tx = 0;
	memset(x->prepared, 0, sizeof(x->prepared));
	if (!(x->conn = connect_db(x, e)))
		return e ? e->code : KD_EBUSY;
	r = PQexec(x->conn, q->opts.durability == QUEUE_DURABLE_CRASH ?
		   "SET synchronous_commit = off; SET client_min_messages = warning" :
		   "SET synchronous_commit = on; SET client_min_messages = warning");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		rc = pg_error(q, r, e, "session settings");
	PQclear(r);
	return rc;
}

/* Before each call: a lost connection is tried again once its backoff has
 * passed (doubling up to BACKOFF_MAX, jittered); until then calls fail
 * fast, so a drain keeps rendering and a listener keeps answering. */
static int ensure_conn(struct queue *q, struct error *e)
{
	struct pg *x = PG(q);
	double t;

	if (x->conn && PQstatus(x->conn) == CONNECTION_OK)
		return 0;
	if (x->in_tx) {
		x->in_tx = 0;
		return error_set(e, KD_EBUSY, "queue unavailable: the connection was lost in a transaction");
	}
	t = mono();
	if (t < x->next_try)
		return error_set(e, KD_EBUSY, "queue unavailable: reconnecting in %.1f s", x->next_try - t);
	if (connect_now(q, e) == 0) {
		x->backoff = BACKOFF_MIN;
		return 0;
	}
	x->next_try = t + x->backoff * (0.8 + 0.4 * (double)(rand() % 1000) / 1000.0);
	x->backoff = x->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : x->backoff * 2;
	return e ? e->code : KD_EBUSY;
}

PGresult *pg_run(struct queue *q, enum pg_stmt s, int n, const char *const *v, struct error *e)
{
	struct pg *x = PG(q);
	char name[16];
	PGresult *r;
	ExecStatusType st;

	if (ensure_conn(q, e) < 0)
		return NULL;
	snprintf(name, sizeof(name), "k%d", (int)s);
	if (!x->prepared[s]) {
		r = PQprepare(x->conn, name, pg_stmt_sql[s], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_error(q, r, e, "prepare");
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		x->prepared[s] = 1;
	}
	r = PQexecPrepared(x->conn, name, n, v, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	pg_error(q, r, e, "queue");
	PQclear(r);
	return NULL;
}

int pg_cmd(struct queue *q, enum pg_stmt s, int n, const char *const *v, long long *changes,
	   struct error *e)
{
	PGresult *r = pg_run(q, s, n, v, e);

	if (!r)
		return e && e->code ? e->code : KD_EIO;
	if (changes) {
		const char *c = PQcmdTuples(r);
		*changes = c && *c ? strtoll(c, NULL, 10) : 0;
	}
	PQclear(r);
	return 0;
}

int pg_exec(struct queue *q, const char *sql, struct error *e)
{
	PGresult *r;
	int rc = 0;

	if (ensure_conn(q, e) < 0)
		return e && e->code ? e->code : KD_EBUSY;
	r = PQexec(PG(q)->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_error(q, r, e, sql);
	PQclear(r);
	return rc;
}

/* ---- transactions, clock ------------------------------------------------------- */

static int pg_begin(struct queue *q, struct error *e)
{
	int rc = pg_exec(q, "BEGIN", e);

	PG(q)->in_tx = rc == 0;
	return rc;
}

static void pg_rollback(struct queue *q)
{
	struct pg *x = PG(q);

	if (x->conn && PQstatus(x->conn) == CONNECTION_OK && PQtransactionStatus(x->conn) != PQTRANS_IDLE) {
		PGresult *r = PQexec(x->conn, "ROLLBACK");
		PQclear(r);
	}
	x->in_tx = 0;
}

/* The wake-up goes in the transaction that made the work: listeners hear
 * it at COMMIT, never for work rolled back. */
static int pg_commit(struct queue *q, struct error *e)
{
	int rc = q->dirty ? pg_exec(q, "NOTIFY " WAKE_CHANNEL, e) : 0;

	if (rc == 0)
		rc = pg_exec(q, "COMMIT", e);
	if (rc < 0)
		pg_rollback(q);
	PG(q)->in_tx = 0;
	return rc;
}

/* The server's clock; the host's when the server cannot be asked (the
 * call that needs the time then fails on its own). */
static long long pg_now(struct queue *q)
{
	struct error e;
	PGresult *r = pg_run(q, P_NOW, 0, NULL, &e);
	long long t;

	if (!r)
		return (long long)time(NULL);
	t = pg_ll(r, 0, 0, (long long)time(NULL));
	PQclear(r);
	return t;
}

static int pg_idle(struct queue *q, struct error *e)
{
	(void)q;
	(void)e;
	return 0;
}

static void pg_close(struct queue *q)
{
	struct pg *x = PG(q);

	if (!x)
		return;
	pg_rollback(q);
	if (x->conn)
		PQfinish(x->conn);
	if (x->listen)
		PQfinish(x->listen);
	if (x->password) {
		explicit_bzero(x->password, strlen(x->password));
		free(x->password);
	}
	free(x->uri);
	free(x);
	q->impl = NULL;
}

/* ---- wake-ups: LISTEN on a connection of its own --------------------------------- */

/* Sent inside the transaction by pg_commit. */
static void pg_signal(struct queue *q)
{
	(void)q;
}

static int pg_wake_fd(struct queue *q, struct error *e)
{
	struct pg *x = PG(q);
	PGresult *r;

	if (x->listen && PQstatus(x->listen) == CONNECTION_OK)
		return PQsocket(x->listen);
	if (x->listen)
		PQfinish(x->listen);
	if (!(x->listen = connect_db(x, e)))
		return e && e->code ? e->code : KD_EBUSY;
	/* Notifications sent while no LISTEN was up are lost: the one sent
	 * here to ourselves makes the watcher look at the queue once. */
	r = PQexec(x->listen, "LISTEN " WAKE_CHANNEL "; NOTIFY " WAKE_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		PQfinish(x->listen);
		x->listen = NULL;
		return error_set(e, KD_EBUSY, "queue unavailable: LISTEN failed");
	}
	PQclear(r);
	PQsetnonblocking(x->listen, 1);
	return PQsocket(x->listen);
}

/* Read what arrived.  A lost LISTEN connection is dropped (the next
 * wake_fd connects and LISTENs again); what was sent meanwhile is lost,
 * so the watcher looks at the queue once, as after any wake-up. */
static void pg_wake_clear(struct queue *q)
{
	struct pg *x = PG(q);
	PGnotify *n;

	if (!x->listen)
		return;
	if (!PQconsumeInput(x->listen) || PQstatus(x->listen) != CONNECTION_OK) {
		PQfinish(x->listen);
		x->listen = NULL;
		return;
	}
	while ((n = PQnotifies(x->listen)) != NULL)
		PQfreemem(n);
}

/* ---- open, migrations --------------------------------------------------------------- */

static int latest_version(void)
{
	int latest = 0;

	for (const char *s = strstr(queue_pg_schema_sql, "-- version "); s; s = strstr(s + 1, "-- version "))
		latest = atoi(s + 11);
	return latest;
}

/* The database's schema version: 0 when it has no krigd schema; -1 when
 * it has a jobs table that is not krigd's (refused, untouched). */
static int schema_version(struct queue *q, int *version, struct error *e)
{
	PGresult *r;
	int rc = 0;

	if (ensure_conn(q, e) < 0)
		return e->code;
	/* Two questions: a query naming a missing table fails when planned. */
	r = PQexec(PG(q)->conn, "SELECT to_regclass('krigd_schema') IS NOT NULL, to_regclass('jobs') IS NOT NULL");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_error(q, r, e, "schema version");
		PQclear(r);
		return rc;
	}
	*version = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? 1 : strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? -1 : 0;
	PQclear(r);
	if (*version <= 0)
		return 0;
	r = PQexec(PG(q)->conn, "SELECT version FROM krigd_schema");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
		rc = pg_error(q, r, e, "schema version");
	else
		*version = (int)pg_ll(r, 0, 0, 0);
	PQclear(r);
	return rc;
}

/* Apply section n (sql) unless the database has it: the advisory lock, the
 * version read and the section share one transaction, so nodes starting
 * together apply each section once. */
static int migrate_one(struct queue *q, int n, const char *sql, int latest, struct error *e)
{
	char up[96];
	int have, rc;

	if ((rc = pg_begin(q, e)) < 0)
		return rc;
	snprintf(up, sizeof(up), "SELECT pg_advisory_xact_lock(%ld)", PG_LOCK_KEY);
	if ((rc = pg_exec(q, up, e)) < 0 || (rc = schema_version(q, &have, e)) < 0)
		goto fail;
	if (have < 0 || have > latest) {
		rc = have < 0 ? error_set(e, KD_EINPUT, "not a krigd queue (a jobs table that krigd did not make)")
			      : error_set(e, KD_EINPUT, "queue schema version %d is newer than this krigd knows "
					  "(%d)", have, latest);
		goto fail;
	}
	if (n <= have) {
		pg_rollback(q);
		return 0;
	}
	snprintf(up, sizeof(up), "UPDATE krigd_schema SET version = %d", n);
	if ((rc = pg_exec(q, sql, e)) < 0 || (rc = pg_exec(q, up, e)) < 0) {
		error_prefix(e, "schema version %d: ", n);
		goto fail;
	}
	return pg_commit(q, e);
fail:
	pg_rollback(q);
	return rc;
}

static int migrate(struct queue *q, struct error *e)
{
	const char *p = queue_pg_schema_sql;
	int latest = latest_version(), rc;

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

/* Without create (operators' commands): an existing, current krigd queue
 * only; nothing is written. */
static int check_current(struct queue *q, struct error *e)
{
	int have, latest = latest_version(), rc;

	if ((rc = schema_version(q, &have, e)) < 0)
		return rc;
	if (have == 0)
		return error_set(e, KD_EINPUT, "no krigd queue in this database (krigd listen, drain or serve "
				 "create it)");
	if (have < 0)
		return error_set(e, KD_EINPUT, "not a krigd queue (a jobs table that krigd did not make)");
	if (have != latest)
		return error_set(e, KD_EINPUT, "queue schema version %d, this krigd knows %d (%s)", have, latest,
				 have < latest ? "start listen, drain or serve to migrate it" : "a newer krigd made it");
	return 0;
}

static int read_uid(struct queue *q, struct error *e)
{
	PGresult *r;

	if (ensure_conn(q, e) < 0)
		return e->code;
	r = PQexec(PG(q)->conn, "SELECT value FROM queue_meta WHERE name = 'uid'");
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? error_set(e, KD_EINPUT, "the queue has no uid")
							      : pg_error(q, r, e, "uid");
		PQclear(r);
		return rc;
	}
	snprintf(q->uid, sizeof(q->uid), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* A password would show in `ps`, in logs and in the config: refused in the
 * URI, as for the MySQL source: PGPASSFILE (or the URI's passfile=) or
 * --db-password-file holds it. */
static int check_uri(const char *uri, struct error *e)
{
	char *err = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri, &err);
	int rc = 0;

	if (!opts) {
		rc = error_set(e, KD_EINPUT, "not a PostgreSQL URI: %.*s", err ? (int)strcspn(err, "\n") : 0,
			       err ? err : "");
		PQfreemem(err);
		return rc;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			rc = error_set(e, KD_EINPUT, "a password in the URL is refused (it would show in ps and "
				       "logs): use PGPASSFILE or --db-password-file");
	PQconninfoFree(opts);
	return rc;
}

/* The first line of path is the password (editors and `echo` end it with a
 * newline that is not part of it); NUL bytes are refused. */
static int read_password(struct pg *x, const char *path, struct error *e)
{
	char *buf = NULL, *nl;
	size_t len = 0, n;

	if (readfile_capped(path, 65536, &buf, &len, e) < 0)
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
	x->password = buf;
	return 0;
}

extern const struct queue_ops queue_pg_ops;

int queue_pg_open(struct queue *q, const char *url, struct error *e)
{
	struct pg *x;
	const char *pwfile = q->opts.password_file;
	int rc;

	if ((rc = check_uri(url, e)) < 0)
		return rc;
	if (!(x = calloc(1, sizeof(*x))) || !(x->uri = strdup(url))) {
		free(x);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	x->backoff = BACKOFF_MIN;
	q->ops = &queue_pg_ops;
	q->impl = x;
	if ((pwfile && (rc = read_password(x, pwfile, e)) < 0) || (rc = connect_now(q, e)) < 0 ||
	    (rc = q->opts.create ? migrate(q, e) : check_current(q, e)) < 0 || (rc = read_uid(q, e)) < 0) {
		pg_close(q);
		q->ops = NULL;
		return rc;
	}
	return 0;
}

const struct queue_ops queue_pg_ops = {
	.name = "postgresql",
	.begin = pg_begin, .commit = pg_commit, .rollback = pg_rollback, .now = pg_now,
	.idle = pg_idle, .close = pg_close,
	.key_find = pg_key_find, .scan_pending = pg_scan_pending, .insert = pg_insert,
	.insert_many = pg_insert_many, .counter_add = pg_counter_add,
	.claim = pg_claim, .renew = pg_renew, .cancel_flag = pg_cancel_flag, .get = pg_get,
	.set_done = pg_set_done, .set_failed = pg_set_failed, .cancel_pending = pg_cancel_pending,
	.cancel_running = pg_cancel_running, .running = pg_running, .requeue = pg_requeue,
	.purge_scan = pg_purge_scan, .purge_delete = pg_purge_delete, .files_owned = pg_files_owned,
	.attempt_start = pg_attempt_start, .attempt_end = pg_attempt_end,
	.stats = pg_stats, .list = pg_list, .attempts = pg_attempts, .source_has_job = pg_source_has_job,
	.outbox_add = pg_outbox_add, .outbox_next = pg_outbox_next, .outbox_mark = pg_outbox_mark,
	.signal = pg_signal, .wake_fd = pg_wake_fd, .wake_clear = pg_wake_clear,
};

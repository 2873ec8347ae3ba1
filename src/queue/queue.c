/* queue.c - the queue on SQLite; see queue.h and schema/queue.sql. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>

#include "error.h"
#include "queue.h"

extern const char queue_schema_sql[]; /* src/queue_schema.c, generated */

/* Every statement, prepared once per connection on first use and kept. */
enum stmt {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_KEY_FIND, S_INSERT, S_SCAN_FIND, S_COUNTER,
	S_CLAIM, S_RENEW, S_CANCEL_REQ, S_GET, S_FINISH, S_FAIL,
	S_CB_INSERT, S_EXPIRED, S_EXPIRED_ALL, S_CANCEL_PENDING, S_CANCEL_RUNNING,
	S_RETRY_ONE, S_RETRY_DEAD, S_PURGE_SEL, S_PURGE_DEL,
	S_STATS_STATES, S_STATS_COUNTERS, S_STATS_CB, S_STATS_OLDEST, S_STATS_RATE, S_LIST, S_SOURCE,
	S_OB_NEXT, S_OB_DONE, S_OB_FAILED, S_RELEASE, S_PAUSE,
	S_NSTMT
};

#define JOB_COLS "id, state, kind, priority, key, payload, source_id, attempts, max_attempts, " \
	"run_at, lease_until, lease_token, cancel_requested, last_error, result, sender_uid, " \
	"created_at, updated_at, finished_at"

static const char *const stmt_sql[S_NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_KEY_FIND] = "SELECT id, payload FROM jobs WHERE key = ?1",
	[S_INSERT] = "INSERT INTO jobs(state, kind, priority, key, payload, source_id, max_attempts, "
		     "run_at, sender_uid, created_at, updated_at) "
		     "VALUES('pending', ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
	[S_SCAN_FIND] = "SELECT id FROM jobs WHERE kind = 'scan' AND state = 'pending'",
	[S_COUNTER] = "UPDATE counters SET value = value + ?2 WHERE name = ?1",
	[S_CLAIM] = "UPDATE jobs SET state = 'running', lease_token = ?3, lease_until = ?1 + ?2, "
		    "attempts = attempts + 1, updated_at = ?1 WHERE id = ("
		    "SELECT id FROM jobs WHERE state = 'pending' AND run_at <= ?1 "
		    "ORDER BY priority DESC, run_at, id LIMIT 1) RETURNING " JOB_COLS,
	[S_RENEW] = "UPDATE jobs SET lease_until = ?3 + ?4, updated_at = ?3 "
		    "WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
	[S_CANCEL_REQ] = "SELECT cancel_requested FROM jobs WHERE id = ?1 AND lease_token = ?2 "
			 "AND state = 'running'",
	[S_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
	[S_FINISH] = "UPDATE jobs SET state = 'done', result = ?2, finished_at = ?3, updated_at = ?3, "
		     "lease_token = NULL, lease_until = NULL, last_error = NULL WHERE id = ?1",
	[S_FAIL] = "UPDATE jobs SET state = ?2, last_error = ?3, run_at = ?4, updated_at = ?5, "
		   "finished_at = ?6, lease_token = NULL, lease_until = NULL WHERE id = ?1",
	[S_CB_INSERT] = "INSERT INTO callbacks(job_id, url, body, next_at, created_at, updated_at) "
			"VALUES(?1, ?2, ?3, ?4, ?4, ?4)",
	[S_EXPIRED] = "SELECT id FROM jobs WHERE state = 'running' AND lease_until < ?1 "
		      "ORDER BY id LIMIT ?2",
	[S_EXPIRED_ALL] = "SELECT id FROM jobs WHERE state = 'running' ORDER BY id LIMIT ?2",
	[S_CANCEL_PENDING] = "UPDATE jobs SET state = 'cancelled', finished_at = ?2, updated_at = ?2, "
			     "last_error = 'cancelled' WHERE id = ?1 AND state = 'pending'",
	[S_CANCEL_RUNNING] = "UPDATE jobs SET cancel_requested = 1, updated_at = ?2 "
			     "WHERE id = ?1 AND state = 'running'",
	/* OR IGNORE: a dead scan cannot go back to pending while another scan
	 * is pending (index jobs_one_pending_scan); it is skipped, not an error
	 * that would requeue nothing at all. */
	[S_RETRY_ONE] = "UPDATE OR IGNORE jobs SET state = 'pending', attempts = 0, run_at = ?2, updated_at = ?2, "
			"finished_at = NULL, cancel_requested = 0, lease_token = NULL, lease_until = NULL "
			"WHERE id = ?1 AND (state IN ('dead', 'cancelled') OR (?3 AND state = 'done'))",
	[S_RETRY_DEAD] = "UPDATE OR IGNORE jobs SET state = 'pending', attempts = 0, run_at = ?1, updated_at = ?1, "
			 "finished_at = NULL, cancel_requested = 0 WHERE state = 'dead'",
	[S_PURGE_SEL] = "SELECT id, result FROM jobs j WHERE finished_at < ?1 "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = j.id AND c.state = 'pending') "
			"ORDER BY finished_at, id LIMIT ?2",
	/* The selection again: between the read pass and this transaction an
	 * operator may have requeued the job (retry --force).  Its callbacks go
	 * with it (ON DELETE CASCADE). */
	[S_PURGE_DEL] = "DELETE FROM jobs WHERE id = ?1 AND finished_at < ?2 "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = ?1 AND c.state = 'pending')",
	[S_STATS_STATES] = "SELECT state, count(*) FROM jobs GROUP BY state",
	[S_STATS_COUNTERS] = "SELECT name, value FROM counters",
	[S_STATS_CB] = "SELECT count(*) FROM callbacks WHERE state = 'pending'",
	[S_STATS_OLDEST] = "SELECT min(created_at) FROM jobs WHERE state = 'pending'",
	/* Throughput from finished_at (index jobs_finished), against the clock now. */
	[S_STATS_RATE] = "SELECT count(*) FILTER (WHERE finished_at >= CAST(strftime('%s', 'now') AS INTEGER) - 60), "
			 "count(*) FROM jobs WHERE finished_at >= CAST(strftime('%s', 'now') AS INTEGER) - 3600 "
			 "AND state = 'done'",
	[S_LIST] = "SELECT " JOB_COLS " FROM jobs WHERE ?1 IS NULL OR state = ?1 "
		   "ORDER BY id DESC LIMIT ?2",
	[S_SOURCE] = "SELECT 1 FROM jobs WHERE source_id = ?1 "
		     "AND state IN ('pending', 'running', 'dead') LIMIT 1",
	/* ?2: JSON array of ids in flight; ?3: JSON array of URL origins
	 * ("http://host:port") to pass over: a URL matches an origin when
	 * the origin is all of it or is followed by '/', '?' or '#'. */
	[S_OB_NEXT] = "SELECT id, job_id, url, body, attempts, next_at, created_at FROM callbacks "
		      "WHERE state = 'pending' AND next_at <= ?1 "
		      "AND id NOT IN (SELECT value FROM json_each(?2)) "
		      "AND NOT EXISTS (SELECT 1 FROM json_each(?3) o "
		      "WHERE substr(url, 1, length(o.value)) = o.value "
		      "AND substr(url, length(o.value) + 1, 1) IN ('', '/', '?', '#')) "
		      "ORDER BY next_at, id LIMIT 1",
	/* Back to pending without spending the attempt the claim counted. */
	[S_RELEASE] = "UPDATE jobs SET state = 'pending', attempts = max(attempts - 1, 0), last_error = ?4, "
		      "run_at = ?5, updated_at = ?3, lease_token = NULL, lease_until = NULL "
		      "WHERE id = ?1 AND lease_token = ?2 AND state = 'running'",
	/* A gauge kept beside the counters: no schema change, and stats reads it. */
	[S_PAUSE] = "INSERT OR REPLACE INTO counters(name, value) VALUES('paused_until', ?1)",
	[S_OB_DONE] = "UPDATE callbacks SET state = 'delivered', attempts = attempts + 1, "
		      "last_status = ?3, last_error = NULL, updated_at = ?2 "
		      "WHERE id = ?1 AND state = 'pending'",
	[S_OB_FAILED] = "UPDATE callbacks SET state = CASE WHEN ?6 THEN 'failed' ELSE 'pending' END, "
			"attempts = attempts + 1, last_status = ?3, last_error = ?4, next_at = ?5, "
			"updated_at = ?2 WHERE id = ?1 AND state = 'pending'",
};

static const char *const state_names[JOB_NSTATES] = {
	"pending", "running", "done", "dead", "cancelled",
};

struct queue {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_NSTMT];
	struct queue_opts opts;
	int in_group;            /* between queue_begin and queue_commit/rollback */
	uint64_t rng;            /* xorshift state for the backoff jitter */
	queue_notify_fn notify;
	void *notify_ctx;
};

const char *queue_state_name(int state)
{
	return state >= 0 && state < JOB_NSTATES ? state_names[state] : "unknown";
}

int queue_state_parse(const char *name)
{
	for (int i = 0; i < JOB_NSTATES; i++)
		if (name && strcmp(name, state_names[i]) == 0)
			return i;
	return -1;
}

void queue_opts_default(struct queue_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sync = QUEUE_SYNC_FULL;
	o->busy_timeout_ms = 5000;
	o->backoff_base = 2;
	o->backoff_cap = 600;
	o->backoff_jitter = 0.2;
}

/* Map an SQLite result to our codes: a lock is KD_EBUSY (retry later),
 * anything else is I/O (the disk, or a corrupt file). */
static int db_error(struct queue *q, int rc, struct error *e, const char *what)
{
	int code;

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED: code = KD_EBUSY; break;
	case SQLITE_NOMEM: code = KD_ENOMEM; break;
	case SQLITE_CONSTRAINT: code = KD_EINPUT; break;
	default: code = KD_EIO; break;
	}
	if (code == KD_EBUSY)
		return error_set(e, code, "queue busy");
	return error_set(e, code, "%s: %s", what, q && q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
}

static sqlite3_stmt *st(struct queue *q, enum stmt s, struct error *e)
{
	if (!q->stmt[s]) {
		int rc = sqlite3_prepare_v3(q->db, stmt_sql[s], -1, SQLITE_PREPARE_PERSISTENT, &q->stmt[s], NULL);
		if (rc != SQLITE_OK) {
			db_error(q, rc, e, "prepare");
			return NULL;
		}
	}
	return q->stmt[s];
}

static void done_stmt(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Run a statement that returns no rows (or whose rows we ignore). */
static int run(struct queue *q, enum stmt s, struct error *e)
{
	sqlite3_stmt *p = q->stmt[s];
	int rc;

	while ((rc = sqlite3_step(p)) == SQLITE_ROW)
		;
	done_stmt(p);
	if (rc != SQLITE_DONE)
		return db_error(q, rc, e, stmt_sql[s]);
	return 0;
}

static int run0(struct queue *q, enum stmt s, struct error *e)
{
	if (!st(q, s, e))
		return e ? e->code : KD_EIO;
	return run(q, s, e);
}

static int tx_begin(struct queue *q, struct error *e)
{
	return run0(q, S_BEGIN, e);
}

static int tx_commit(struct queue *q, struct error *e)
{
	int rc = run0(q, S_COMMIT, e);
	if (rc < 0 && !sqlite3_get_autocommit(q->db))
		run0(q, S_ROLLBACK, NULL);
	return rc;
}

static void tx_rollback(struct queue *q)
{
	if (!sqlite3_get_autocommit(q->db))
		run0(q, S_ROLLBACK, NULL);
}

static int counter_add(struct queue *q, const char *name, double v, struct error *e)
{
	sqlite3_stmt *p = st(q, S_COUNTER, e);
	if (!p)
		return e ? e->code : KD_EIO;
	sqlite3_bind_text(p, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(p, 2, v);
	return run(q, S_COUNTER, e);
}

/* ---- open, migrations ------------------------------------------------ */

/* Apply the schema sections ("-- version N") above the database's
 * user_version, each in its own transaction.  user_version is read inside
 * the write transaction, so two processes opening a new database at once
 * (serve starts listen and drain together) cannot both apply a section. */
static int migrate(struct queue *q, struct error *e)
{
	const char *p = queue_schema_sql;
	int latest = 0;

	for (const char *s = strstr(p, "-- version "); s; s = strstr(s + 1, "-- version "))
		latest = atoi(s + 11);
	for (const char *s = strstr(p, "-- version "); s; s = strstr(s + 1, "-- version ")) {
		int n = atoi(s + 11), have = 0, rc;
		const char *end = strstr(s + 1, "-- version ");
		size_t len = end ? (size_t)(end - s) : strlen(s);
		sqlite3_stmt *v;
		char *sql, *msg = NULL, pragma[64];

		if ((rc = tx_begin(q, e)) < 0)
			return error_prefix(e, "migrating the queue database: ");
		rc = sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &v, NULL);
		if (rc == SQLITE_OK && sqlite3_step(v) == SQLITE_ROW)
			have = sqlite3_column_int(v, 0);
		sqlite3_finalize(v);
		if (have > latest) {
			tx_rollback(q);
			return error_set(e, KD_EINPUT, "queue database schema version %d is newer than this "
					 "krigd knows (%d)", have, latest);
		}
		if (n <= have) {
			tx_rollback(q);
			continue;
		}
		if (!(sql = malloc(len + 1))) {
			tx_rollback(q);
			return error_set(e, KD_ENOMEM, "out of memory");
		}
		memcpy(sql, s, len);
		sql[len] = '\0';
		rc = sqlite3_exec(q->db, sql, NULL, NULL, &msg);
		free(sql);
		if (rc == SQLITE_OK) {
			snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", n);
			rc = sqlite3_exec(q->db, pragma, NULL, NULL, &msg);
		}
		if (rc != SQLITE_OK) {
			error_set(e, KD_EIO, "schema version %d: %s", n, msg ? msg : sqlite3_errstr(rc));
			sqlite3_free(msg);
			tx_rollback(q);
			return KD_EIO;
		}
		if ((rc = tx_commit(q, e)) < 0)
			return rc;
	}
	return 0;
}

int queue_open(struct queue **qp, const char *path, const struct queue_opts *o, struct error *e)
{
	struct queue *q;
	char pragma[128];
	int rc;

	*qp = NULL;
	if (!(q = calloc(1, sizeof(*q))))
		return error_set(e, KD_ENOMEM, "out of memory");
	if (o)
		q->opts = *o;
	else
		queue_opts_default(&q->opts);
	if (getrandom(&q->rng, sizeof(q->rng), 0) != (ssize_t)sizeof(q->rng))
		q->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
	q->rng |= 1; /* xorshift must not start at 0 */
	rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		error_set(e, KD_EIO, "%s: %s", path, q->db ? sqlite3_errmsg(q->db) : sqlite3_errstr(rc));
		queue_close(q);
		return KD_EIO;
	}
	sqlite3_extended_result_codes(q->db, 1);
	sqlite3_busy_timeout(q->db, q->opts.busy_timeout_ms);
	/* WAL: readers never block the writer; synchronous FULL fsyncs the WAL
	 * at each commit, so a reply sent after COMMIT means the job is on disk. */
	snprintf(pragma, sizeof(pragma),
		 "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA foreign_keys = ON;%s",
		 q->opts.sync == QUEUE_SYNC_NORMAL ? "NORMAL" : "FULL",
		 /* Checkpoints inside a COMMIT would delay the reply; the owner runs
		  * them when idle instead (queue_checkpoint). */
		 q->opts.manual_checkpoint ? " PRAGMA wal_autocheckpoint = 0;" : "");
	rc = sqlite3_exec(q->db, pragma, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		db_error(q, rc, e, path);
		queue_close(q);
		return e ? e->code : KD_EIO;
	}
	if ((rc = migrate(q, e)) < 0) {
		error_prefix(e, "%s: ", path);
		queue_close(q);
		return rc;
	}
	*qp = q;
	return 0;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->db && !sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(q->stmt[i]);
	sqlite3_close(q->db);
	free(q);
}

int queue_checkpoint(struct queue *q, struct error *e)
{
	int rc = sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_error(q, rc, e, "checkpoint");
	return 0;
}

void queue_set_notify(struct queue *q, queue_notify_fn fn, void *ctx)
{
	q->notify = fn;
	q->notify_ctx = ctx;
}

/* ---- ingest ---------------------------------------------------------- */

int queue_begin(struct queue *q, struct error *e)
{
	int rc;

	if (q->in_group)
		return error_set(e, KD_EINTERNAL, "queue_begin: a group is already open");
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	q->in_group = 1;
	return 0;
}

int queue_commit(struct queue *q, struct error *e)
{
	if (!q->in_group)
		return error_set(e, KD_EINTERNAL, "queue_commit: no group open");
	q->in_group = 0;
	return tx_commit(q, e);
}

void queue_rollback(struct queue *q)
{
	q->in_group = 0;
	tx_rollback(q);
}

static long long now_s(void)
{
	return (long long)time(NULL);
}

/* The idempotency comparison: the same bytes, or the same object once its
 * top-level "req" is left out on both sides ("req" tags one send, so a
 * resend with a new one is the same payload).  Payloads here are the
 * listener's compact re-serialisation, so json-c writes both alike. */
static struct json_object *without_req(const char *s, size_t len)
{
	struct json_tokener *tok = json_tokener_new_ex(256);
	struct json_object *o = NULL;

	if (!tok || len > INT_MAX)
		goto out;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (o && (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	if (o)
		json_object_object_del(o, "req");
out:
	if (tok)
		json_tokener_free(tok);
	return o;
}

static int payload_same(const void *old, size_t oldlen, const char *new, size_t newlen)
{
	struct json_object *a, *b;
	int same = 0;

	if (oldlen == newlen && (oldlen == 0 || memcmp(old, new, oldlen) == 0))
		return 1;
	a = without_req(old, oldlen);
	b = a ? without_req(new, newlen) : NULL;
	if (a && b) {
		const int f = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
		const char *x = json_object_to_json_string_ext(a, f), *y = json_object_to_json_string_ext(b, f);

		same = x && y && strcmp(x, y) == 0;
	}
	if (a)
		json_object_put(a);
	if (b)
		json_object_put(b);
	return same;
}

static int enqueue_locked(struct queue *q, const struct queue_new_job *j, long long *id, int *existed,
			  struct error *e)
{
	long long now = now_s();
	sqlite3_stmt *p;
	int rc;

	*existed = 0;
	if (j->key) {
		if (!(p = st(q, S_KEY_FIND, e)))
			return e ? e->code : KD_EIO;
		sqlite3_bind_text(p, 1, j->key, -1, SQLITE_STATIC);
		rc = sqlite3_step(p);
		if (rc == SQLITE_ROW) {
			const void *old = sqlite3_column_blob(p, 1);
			size_t oldlen = (size_t)sqlite3_column_bytes(p, 1);
			int same = payload_same(old, oldlen, j->payload, j->payload_len);

			*id = sqlite3_column_int64(p, 0);
			done_stmt(p);
			if (!same)
				return error_set(e, KD_EINPUT, "key already used with another payload");
			*existed = 1;
			return 0;
		}
		done_stmt(p);
		if (rc != SQLITE_DONE)
			return db_error(q, rc, e, "enqueue");
	}
	if (!(p = st(q, S_INSERT, e)))
		return e ? e->code : KD_EIO;
	sqlite3_bind_text(p, 1, j->kind ? j->kind : "render", -1, SQLITE_STATIC);
	sqlite3_bind_int(p, 2, j->priority);
	if (j->key)
		sqlite3_bind_text(p, 3, j->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 4, j->payload, (int)j->payload_len, SQLITE_STATIC);
	if (j->source_id >= 0)
		sqlite3_bind_int64(p, 5, j->source_id);
	sqlite3_bind_int(p, 6, j->max_attempts >= 1 ? j->max_attempts : 5);
	sqlite3_bind_int64(p, 7, j->run_at > 0 ? j->run_at : now);
	if (j->sender_uid >= 0)
		sqlite3_bind_int64(p, 8, j->sender_uid);
	sqlite3_bind_int64(p, 9, now);
	if ((rc = run(q, S_INSERT, e)) < 0)
		return rc == KD_EINPUT ? error_set(e, KD_EIO, "enqueue: %s", sqlite3_errmsg(q->db)) : rc;
	*id = sqlite3_last_insert_rowid(q->db);
	return counter_add(q, "jobs_accepted", 1, e);
}

/* Outside a group an enqueue is its own transaction. */
static int enqueue_wrap(struct queue *q, const struct queue_new_job *j, long long *id, int *existed,
			int ping, struct error *e)
{
	int rc, own = !q->in_group;

	if (j->payload_len > INT_MAX)
		return error_set(e, KD_ELIMIT, "payload too large");
	if (own && (rc = tx_begin(q, e)) < 0)
		return rc;
	if (ping) {
		sqlite3_stmt *p = st(q, S_SCAN_FIND, e);
		if (!p) {
			rc = e ? e->code : KD_EIO;
			goto out;
		}
		rc = sqlite3_step(p);
		if (rc == SQLITE_ROW) {
			*id = sqlite3_column_int64(p, 0);
			*existed = 1;
			done_stmt(p);
			rc = 0;
			goto out;
		}
		done_stmt(p);
		if (rc != SQLITE_DONE) {
			rc = db_error(q, rc, e, "enqueue");
			goto out;
		}
	}
	rc = enqueue_locked(q, j, id, existed, e);
out:
	if (own) {
		if (rc < 0)
			tx_rollback(q);
		else
			rc = tx_commit(q, e);
	}
	return rc;
}

int queue_enqueue(struct queue *q, const struct queue_new_job *job, long long *id, int *existed,
		  struct error *e)
{
	int ex;
	return enqueue_wrap(q, job, id, existed ? existed : &ex, 0, e);
}

int queue_enqueue_ping(struct queue *q, const char *payload, size_t len, long long sender_uid,
		       long long *id, int *existed, struct error *e)
{
	struct queue_new_job j = {
		.kind = "scan", .payload = payload, .payload_len = len, .source_id = -1,
		.max_attempts = 5, .sender_uid = sender_uid,
	};
	int ex;

	if (!existed)
		existed = &ex;
	*existed = 0;
	return enqueue_wrap(q, &j, id, existed, 1, e);
}

/* ---- rows ------------------------------------------------------------ */

static char *col_strdup(sqlite3_stmt *p, int i, size_t *len)
{
	const unsigned char *s;
	size_t n;
	char *r;

	if (sqlite3_column_type(p, i) == SQLITE_NULL)
		return NULL;
	s = sqlite3_column_text(p, i);
	n = (size_t)sqlite3_column_bytes(p, i);
	if (!s || !(r = malloc(n + 1)))
		return NULL;
	memcpy(r, s, n);
	r[n] = '\0';
	if (len)
		*len = n;
	return r;
}

static long long col_ll(sqlite3_stmt *p, int i, long long dflt)
{
	return sqlite3_column_type(p, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(p, i);
}

/* Fill j from a row of JOB_COLS; KD_ENOMEM if a copy failed. */
static int read_job(sqlite3_stmt *p, struct queue_job *j, struct error *e)
{
	const char *s;

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(p, 0);
	j->state = queue_state_parse((const char *)sqlite3_column_text(p, 1));
	s = (const char *)sqlite3_column_text(p, 2);
	snprintf(j->kind, sizeof(j->kind), "%s", s ? s : "");
	j->priority = sqlite3_column_int(p, 3);
	j->key = col_strdup(p, 4, NULL);
	j->payload = col_strdup(p, 5, &j->payload_len);
	j->source_id = col_ll(p, 6, -1);
	j->attempts = sqlite3_column_int(p, 7);
	j->max_attempts = sqlite3_column_int(p, 8);
	j->run_at = col_ll(p, 9, 0);
	j->lease_until = col_ll(p, 10, 0);
	s = (const char *)sqlite3_column_text(p, 11);
	snprintf(j->lease_token, sizeof(j->lease_token), "%s", s ? s : "");
	j->cancel_requested = sqlite3_column_int(p, 12);
	j->last_error = col_strdup(p, 13, NULL);
	j->result = col_strdup(p, 14, NULL);
	j->sender_uid = col_ll(p, 15, -1);
	j->created_at = col_ll(p, 16, 0);
	j->updated_at = col_ll(p, 17, 0);
	j->finished_at = col_ll(p, 18, 0);
	if ((sqlite3_column_type(p, 4) != SQLITE_NULL && !j->key) || !j->payload ||
	    (sqlite3_column_type(p, 13) != SQLITE_NULL && !j->last_error) ||
	    (sqlite3_column_type(p, 14) != SQLITE_NULL && !j->result)) {
		queue_job_release(j);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	return 0;
}

void queue_job_release(struct queue_job *j)
{
	if (!j)
		return;
	free(j->key);
	free(j->payload);
	free(j->last_error);
	free(j->result);
	memset(j, 0, sizeof(*j));
}

/* Load job id (inside a transaction).  1 found, 0 not, < 0 error. */
static int load_job(struct queue *q, long long id, struct queue_job *j, struct error *e)
{
	sqlite3_stmt *p = st(q, S_GET, e);
	int rc;

	if (!p)
		return e ? e->code : KD_EIO;
	sqlite3_bind_int64(p, 1, id);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW) {
		rc = read_job(p, j, e);
		done_stmt(p);
		return rc < 0 ? rc : 1;
	}
	done_stmt(p);
	return rc == SQLITE_DONE ? 0 : db_error(q, rc, e, "get");
}

/* Load a running job and check its lease token: KD_ELEASE when it is not the
 * current claim (expired and reclaimed, finished, or never ours). */
static int load_leased(struct queue *q, long long id, const char *token, struct queue_job *j,
		       struct error *e)
{
	int rc = load_job(q, id, j, e);

	if (rc < 0)
		return rc;
	if (rc == 0 || j->state != JOB_RUNNING || !token || strcmp(j->lease_token, token) != 0) {
		if (rc)
			queue_job_release(j);
		return error_set(e, KD_ELEASE, "job %lld: lease lost (another worker owns it, or it "
				 "ended)", id);
	}
	return 0;
}

/* The job is entering a final state: ask the notify hook for a callback and
 * put it in the outbox, in the caller's transaction. */
static int notify_final(struct queue *q, const struct queue_job *j, const char *state, int attempts,
			const char *err, const char *result, long long now, struct error *e)
{
	struct queue_outcome o = { .job = j, .state = state, .attempts = attempts, .error = err, .result = result };
	char *url = NULL, *body = NULL;
	sqlite3_stmt *p;
	int rc;

	if (!q->notify)
		return 0;
	if ((rc = q->notify(q->notify_ctx, &o, &url, &body, e)) != 0) {
		free(url);
		free(body);
		return rc < 0 ? rc : error_set(e, KD_EINTERNAL, "callback hook failed");
	}
	if (!url) {
		free(body);
		return 0;
	}
	if (!(p = st(q, S_CB_INSERT, e))) {
		free(url);
		free(body);
		return e ? e->code : KD_EIO;
	}
	sqlite3_bind_int64(p, 1, j->id);
	sqlite3_bind_text(p, 2, url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(p, 3, body ? body : "", body ? (int)strlen(body) : 0, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 4, now);
	rc = run(q, S_CB_INSERT, e);
	free(url);
	free(body);
	return rc;
}

/* ---- drain side ------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

long long queue_backoff_delay(const struct queue *cq, int attempts)
{
	struct queue *q = (struct queue *)cq; /* the generator advances; nothing else changes */
	double d = q->opts.backoff_base, u;

	if (d <= 0)
		return 0;
	for (int i = 1; i < attempts && d < q->opts.backoff_cap; i++)
		d *= 2;
	if (d > q->opts.backoff_cap)
		d = q->opts.backoff_cap;
	u = (double)(rng_next(&q->rng) >> 11) / 9007199254740992.0; /* [0, 1) */
	d *= 1 + q->opts.backoff_jitter * (2 * u - 1);
	return (long long)llround(d);
}

static void make_token(struct queue *q, char out[QUEUE_TOKEN_LEN + 1])
{
	unsigned char b[QUEUE_TOKEN_LEN / 2];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)rng_next(&q->rng);
	for (size_t i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[QUEUE_TOKEN_LEN] = '\0';
}

int queue_claim(struct queue *q, long long now, int lease_seconds, struct queue_job *out,
		struct error *e)
{
	char token[QUEUE_TOKEN_LEN + 1];
	sqlite3_stmt *p;
	int rc, got = 0;

	memset(out, 0, sizeof(*out));
	if (!(p = st(q, S_CLAIM, e)))
		return e ? e->code : KD_EIO;
	make_token(q, token);
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	sqlite3_bind_int64(p, 1, now);
	sqlite3_bind_int(p, 2, lease_seconds);
	sqlite3_bind_text(p, 3, token, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW) {
		if ((rc = read_job(p, out, e)) < 0) {
			done_stmt(p);
			tx_rollback(q);
			return rc;
		}
		got = 1;
		rc = sqlite3_step(p); /* finish the statement: RETURNING applies on completion */
	}
	done_stmt(p);
	if (rc != SQLITE_DONE) {
		rc = db_error(q, rc, e, "claim");
		goto fail;
	}
	if ((rc = tx_commit(q, e)) < 0)
		goto fail;
	return got;
fail:
	tx_rollback(q);
	queue_job_release(out);
	return rc;
}

int queue_renew(struct queue *q, long long id, const char *token, long long now, int lease_seconds,
		struct error *e)
{
	sqlite3_stmt *p = st(q, S_RENEW, e);
	int rc;

	if (!p)
		return e ? e->code : KD_EIO;
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_text(p, 2, token ? token : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 3, now);
	sqlite3_bind_int(p, 4, lease_seconds);
	if ((rc = run(q, S_RENEW, e)) < 0) {
		tx_rollback(q);
		return rc;
	}
	if (sqlite3_changes(q->db) == 0) {
		tx_rollback(q);
		return error_set(e, KD_ELEASE, "job %lld: lease lost", id);
	}
	return tx_commit(q, e);
}

int queue_cancel_requested(struct queue *q, long long id, const char *token, struct error *e)
{
	sqlite3_stmt *p = st(q, S_CANCEL_REQ, e);
	int rc, v;

	if (!p)
		return e ? e->code : KD_EIO;
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_text(p, 2, token ? token : "", -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(p);
	v = rc == SQLITE_ROW ? sqlite3_column_int(p, 0) : 0;
	done_stmt(p);
	if (rc == SQLITE_DONE)
		return error_set(e, KD_ELEASE, "job %lld: lease lost", id);
	if (rc != SQLITE_ROW)
		return db_error(q, rc, e, "cancel check");
	return v ? 1 : 0;
}

int queue_finish(struct queue *q, long long id, const char *token, long long now,
		 const char *result_json, double render_seconds, struct error *e)
{
	struct queue_job j;
	sqlite3_stmt *p = st(q, S_FINISH, e);
	int rc;

	if (!p)
		return e ? e->code : KD_EIO;
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if ((rc = load_leased(q, id, token, &j, e)) < 0) {
		tx_rollback(q);
		return rc;
	}
	sqlite3_bind_int64(p, 1, id);
	if (result_json)
		sqlite3_bind_text(p, 2, result_json, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 3, now);
	if ((rc = run(q, S_FINISH, e)) < 0 ||
	    (rc = notify_final(q, &j, "done", j.attempts, NULL, result_json, now, e)) < 0 ||
	    (rc = counter_add(q, "jobs_done", 1, e)) < 0 ||
	    (render_seconds > 0 && (rc = counter_add(q, "render_seconds", render_seconds, e)) < 0)) {
		queue_job_release(&j);
		tx_rollback(q);
		return rc;
	}
	queue_job_release(&j);
	return tx_commit(q, e);
}

/* A failed attempt of job j (loaded in this transaction): decide its next
 * state and write it, with counters and, when final, the callback. */
static int fail_locked(struct queue *q, const struct queue_job *j, long long now, int code,
		       const char *msg, int *new_state, struct error *e)
{
	sqlite3_stmt *p = st(q, S_FAIL, e);
	const char *why = msg && *msg ? msg : error_name(code);
	int state, rc;
	long long run_at = now;

	if (!p)
		return e ? e->code : KD_EIO;
	if (code == KD_ECANCEL || j->cancel_requested)
		state = JOB_CANCELLED;
	else if (code == KD_EINPUT || code == KD_ELIMIT || j->attempts >= j->max_attempts)
		state = JOB_DEAD;
	else {
		state = JOB_PENDING;
		run_at = now + queue_backoff_delay(q, j->attempts);
	}
	if (state == JOB_CANCELLED && code != KD_ECANCEL)
		why = "cancelled";
	sqlite3_bind_int64(p, 1, j->id);
	sqlite3_bind_text(p, 2, state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 3, why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 4, run_at);
	sqlite3_bind_int64(p, 5, now);
	if (state != JOB_PENDING)
		sqlite3_bind_int64(p, 6, now);
	if ((rc = run(q, S_FAIL, e)) < 0)
		return rc;
	if (state != JOB_CANCELLED && (rc = counter_add(q, "attempts_failed", 1, e)) < 0)
		return rc;
	if (state == JOB_DEAD && (rc = counter_add(q, "jobs_dead", 1, e)) < 0)
		return rc;
	if (state == JOB_CANCELLED && (rc = counter_add(q, "jobs_cancelled", 1, e)) < 0)
		return rc;
	if (state != JOB_PENDING &&
	    (rc = notify_final(q, j, state_names[state], j->attempts, why, NULL, now, e)) < 0)
		return rc;
	if (new_state)
		*new_state = state;
	return 0;
}

int queue_fail(struct queue *q, long long id, const char *token, long long now, int code,
	       const char *msg, int *new_state, struct error *e)
{
	struct queue_job j;
	int rc;

	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if ((rc = load_leased(q, id, token, &j, e)) < 0) {
		tx_rollback(q);
		return rc;
	}
	rc = fail_locked(q, &j, now, code, msg, new_state, e);
	queue_job_release(&j);
	if (rc < 0) {
		tx_rollback(q);
		return rc;
	}
	return tx_commit(q, e);
}

int queue_release(struct queue *q, long long id, const char *token, long long now, long long run_at,
		  const char *msg, struct error *e)
{
	sqlite3_stmt *p = st(q, S_RELEASE, e);
	int rc;

	if (!p)
		return e ? e->code : KD_EIO;
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_text(p, 2, token ? token : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 3, now);
	sqlite3_bind_text(p, 4, msg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 5, run_at);
	if ((rc = run(q, S_RELEASE, e)) < 0)
		return rc;
	if (sqlite3_changes(q->db) == 0)
		return error_set(e, KD_ELEASE, "job %lld: lease lost", id);
	return 0;
}

int queue_set_paused(struct queue *q, long long until, struct error *e)
{
	sqlite3_stmt *p = st(q, S_PAUSE, e);

	if (!p)
		return e ? e->code : KD_EIO;
	sqlite3_bind_int64(p, 1, until);
	return run(q, S_PAUSE, e);
}

#define CHUNK 128 /* rows per transaction in bulk operations: bounded memory */

int queue_reclaim_expired(struct queue *q, long long now, int force_all, struct error *e)
{
	long long ids[CHUNK];
	int total = 0, n, rc;
	enum stmt which = force_all ? S_EXPIRED_ALL : S_EXPIRED;

	do {
		sqlite3_stmt *p = st(q, which, e);
		if (!p)
			return e ? e->code : KD_EIO;
		if ((rc = tx_begin(q, e)) < 0)
			return rc;
		sqlite3_bind_int64(p, 1, now);
		sqlite3_bind_int(p, 2, CHUNK);
		n = 0;
		while ((rc = sqlite3_step(p)) == SQLITE_ROW && n < CHUNK)
			ids[n++] = sqlite3_column_int64(p, 0);
		done_stmt(p);
		if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
			tx_rollback(q);
			return db_error(q, rc, e, "reclaim");
		}
		for (int i = 0; i < n; i++) {
			struct queue_job j;
			if ((rc = load_job(q, ids[i], &j, e)) < 0) {
				tx_rollback(q);
				return rc;
			}
			rc = fail_locked(q, &j, now, KD_EIO, "worker died (lease expired)", NULL, e);
			queue_job_release(&j);
			if (rc < 0) {
				tx_rollback(q);
				return rc;
			}
		}
		if ((rc = tx_commit(q, e)) < 0)
			return rc;
		total += n;
	} while (n == CHUNK);
	return total;
}

/* ---- operating ------------------------------------------------------- */

int queue_cancel(struct queue *q, long long id, long long now, struct error *e)
{
	struct queue_job j;
	int rc, result;

	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if ((rc = load_job(q, id, &j, e)) <= 0) {
		tx_rollback(q);
		return rc < 0 ? rc : error_set(e, KD_EINPUT, "no job %lld", id);
	}
	if (j.state == JOB_PENDING) {
		if (!st(q, S_CANCEL_PENDING, e))
			goto fail;
		sqlite3_bind_int64(q->stmt[S_CANCEL_PENDING], 1, id);
		sqlite3_bind_int64(q->stmt[S_CANCEL_PENDING], 2, now);
		if (run(q, S_CANCEL_PENDING, e) < 0 || counter_add(q, "jobs_cancelled", 1, e) < 0 ||
		    notify_final(q, &j, "cancelled", j.attempts, "cancelled", NULL, now, e) < 0)
			goto fail;
		result = 0;
	} else if (j.state == JOB_RUNNING) {
		if (!st(q, S_CANCEL_RUNNING, e))
			goto fail;
		sqlite3_bind_int64(q->stmt[S_CANCEL_RUNNING], 1, id);
		sqlite3_bind_int64(q->stmt[S_CANCEL_RUNNING], 2, now);
		if (run(q, S_CANCEL_RUNNING, e) < 0)
			goto fail;
		result = 1;
	} else {
		error_set(e, KD_EINPUT, "job %lld is %s: nothing to cancel", id, queue_state_name(j.state));
		goto fail;
	}
	queue_job_release(&j);
	if ((rc = tx_commit(q, e)) < 0)
		return rc;
	return result;
fail:
	queue_job_release(&j);
	tx_rollback(q);
	return e && e->code ? e->code : KD_EIO;
}

int queue_retry(struct queue *q, long long id, int force, long long now, long long *count,
		struct error *e)
{
	enum stmt s = id > 0 ? S_RETRY_ONE : S_RETRY_DEAD;
	sqlite3_stmt *p = st(q, s, e);
	long long n;
	int rc;

	if (count)
		*count = 0;
	if (!p)
		return e ? e->code : KD_EIO;
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if (id > 0) {
		sqlite3_bind_int64(p, 1, id);
		sqlite3_bind_int64(p, 2, now);
		sqlite3_bind_int(p, 3, force != 0);
	} else {
		sqlite3_bind_int64(p, 1, now);
	}
	if ((rc = run(q, s, e)) < 0) {
		tx_rollback(q);
		return rc;
	}
	n = sqlite3_changes(q->db);
	if (id > 0 && n == 0) {
		tx_rollback(q);
		return error_set(e, KD_EINPUT, "job %lld does not exist, is not %s, or is a scan while "
				 "another scan is pending%s", id, force ? "dead, cancelled or done" : "dead or cancelled",
				 force ? "" : " (--force also requeues done jobs)");
	}
	if ((rc = counter_add(q, "retries", (double)n, e)) < 0) {
		tx_rollback(q);
		return rc;
	}
	if ((rc = tx_commit(q, e)) < 0)
		return rc;
	if (count)
		*count = n;
	return 0;
}

int queue_purge(struct queue *q, long long before, queue_purge_fn fn, void *ctx, long long *count,
		struct error *e)
{
	long long ids[CHUNK];
	int n, rc, stop = 0;

	if (count)
		*count = 0;
	do {
		sqlite3_stmt *p = st(q, S_PURGE_SEL, e);
		if (!p)
			return e ? e->code : KD_EIO;
		sqlite3_bind_int64(p, 1, before);
		sqlite3_bind_int(p, 2, CHUNK);
		n = 0;
		/* Read-only pass: fn (deleting files) runs while no write lock is held. */
		while (!stop && (rc = sqlite3_step(p)) == SQLITE_ROW && n < CHUNK) {
			long long id = sqlite3_column_int64(p, 0);
			if (fn && fn(ctx, id, (const char *)sqlite3_column_text(p, 1), e) != 0) {
				stop = 1;
				break;
			}
			ids[n++] = id;
		}
		done_stmt(p);
		if (!stop && rc != SQLITE_DONE && rc != SQLITE_ROW)
			return db_error(q, rc, e, "purge");
		if (n > 0) {
			long long deleted = 0;

			if ((rc = tx_begin(q, e)) < 0)
				return rc;
			for (int i = 0; i < n; i++) {
				if (!st(q, S_PURGE_DEL, e)) {
					tx_rollback(q);
					return e ? e->code : KD_EIO;
				}
				sqlite3_bind_int64(q->stmt[S_PURGE_DEL], 1, ids[i]);
				sqlite3_bind_int64(q->stmt[S_PURGE_DEL], 2, before);
				if ((rc = run(q, S_PURGE_DEL, e)) < 0) {
					tx_rollback(q);
					return rc;
				}
				deleted += sqlite3_changes(q->db);
			}
			if ((rc = tx_commit(q, e)) < 0)
				return rc;
			if (count)
				*count += deleted;
		}
	} while (!stop && n == CHUNK);
	return stop ? (e && e->code ? e->code : KD_EIO) : 0;
}

int queue_stats(struct queue *q, struct queue_stats *s, struct error *e)
{
	static const struct { const char *name; size_t off; } cs[] = {
		{ "jobs_accepted", offsetof(struct queue_stats, jobs_accepted) },
		{ "jobs_done", offsetof(struct queue_stats, jobs_done) },
		{ "jobs_dead", offsetof(struct queue_stats, jobs_dead) },
		{ "jobs_cancelled", offsetof(struct queue_stats, jobs_cancelled) },
		{ "attempts_failed", offsetof(struct queue_stats, attempts_failed) },
		{ "retries", offsetof(struct queue_stats, retries) },
		{ "callbacks_delivered", offsetof(struct queue_stats, callbacks_delivered) },
		{ "callbacks_failed", offsetof(struct queue_stats, callbacks_failed) },
		{ "paused_until", offsetof(struct queue_stats, paused_until) },
	};
	sqlite3_stmt *p;
	int rc;

	memset(s, 0, sizeof(*s));
	/* One read transaction, so the numbers are one snapshot. */
	if (sqlite3_exec(q->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(q, sqlite3_errcode(q->db), e, "stats");
	if (!(p = st(q, S_STATS_STATES, e)))
		goto fail;
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		int i = queue_state_parse((const char *)sqlite3_column_text(p, 0));
		if (i >= 0)
			s->state[i] = sqlite3_column_int64(p, 1);
	}
	done_stmt(p);
	if (rc != SQLITE_DONE || !(p = st(q, S_STATS_COUNTERS, e)))
		goto fail;
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(p, 0);
		if (name && strcmp(name, "render_seconds") == 0)
			s->render_seconds = sqlite3_column_double(p, 1);
		for (size_t i = 0; name && i < sizeof(cs) / sizeof(cs[0]); i++)
			if (strcmp(name, cs[i].name) == 0)
				*(long long *)((char *)s + cs[i].off) = sqlite3_column_int64(p, 1);
	}
	done_stmt(p);
	if (rc != SQLITE_DONE || !(p = st(q, S_STATS_CB, e)))
		goto fail;
	if ((rc = sqlite3_step(p)) == SQLITE_ROW)
		s->callbacks_pending = sqlite3_column_int64(p, 0);
	done_stmt(p);
	if (rc != SQLITE_ROW || !(p = st(q, S_STATS_OLDEST, e)))
		goto fail;
	if ((rc = sqlite3_step(p)) == SQLITE_ROW)
		s->oldest_pending = col_ll(p, 0, 0);
	done_stmt(p);
	if (rc != SQLITE_ROW || !(p = st(q, S_STATS_RATE, e)))
		goto fail;
	if ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		s->done_last_minute = sqlite3_column_int64(p, 0);
		s->done_last_hour = sqlite3_column_int64(p, 1);
	}
	done_stmt(p);
	if (rc != SQLITE_ROW)
		goto fail;
	sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL);
	return 0;
fail:
	if (!e || !e->code)
		db_error(q, sqlite3_errcode(q->db), e, "stats");
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return e ? e->code : KD_EIO;
}

int queue_get(struct queue *q, long long id, struct queue_job *out, struct error *e)
{
	memset(out, 0, sizeof(*out));
	return load_job(q, id, out, e);
}

int queue_list(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx,
	       struct error *e)
{
	sqlite3_stmt *p = st(q, S_LIST, e);
	int rc, r = 0;

	if (!p)
		return e ? e->code : KD_EIO;
	if (state >= 0 && state < JOB_NSTATES)
		sqlite3_bind_text(p, 1, state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		struct queue_job j;
		if ((r = read_job(p, &j, e)) < 0)
			break;
		r = fn(ctx, &j);
		queue_job_release(&j);
		if (r != 0)
			break;
	}
	done_stmt(p);
	if (r != 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_error(q, rc, e, "list");
}

int queue_source_has_job(struct queue *q, long long source_id, struct error *e)
{
	sqlite3_stmt *p = st(q, S_SOURCE, e);
	int rc;

	if (!p)
		return e ? e->code : KD_EIO;
	sqlite3_bind_int64(p, 1, source_id);
	rc = sqlite3_step(p);
	done_stmt(p);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_error(q, rc, e, "source lookup");
}

/* ---- callback outbox ------------------------------------------------- */

void queue_callback_release(struct queue_callback *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->body);
	memset(c, 0, sizeof(*c));
}

/* skip as the two JSON arrays S_OB_NEXT binds; both malloc'ed, or -1. */
static int skip_json(const struct queue_outbox_skip *skip, char **ids, char **origins)
{
	struct json_object *a = json_object_new_array(), *b = json_object_new_array();
	int rc = -1;

	*ids = *origins = NULL;
	if (!a || !b)
		goto out;
	for (size_t i = 0; skip && i < skip->n_ids; i++)
		json_object_array_add(a, json_object_new_int64(skip->ids[i]));
	for (size_t i = 0; skip && i < skip->n_origins; i++)
		json_object_array_add(b, json_object_new_string(skip->origins[i]));
	*ids = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));
	*origins = strdup(json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = *ids && *origins ? 0 : -1;
out:
	json_object_put(a);
	json_object_put(b);
	return rc;
}

int queue_outbox_next(struct queue *q, long long now, const struct queue_outbox_skip *skip,
		      struct queue_callback *out, struct error *e)
{
	sqlite3_stmt *p = st(q, S_OB_NEXT, e);
	char *ids, *origins;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!p)
		return e ? e->code : KD_EIO;
	if (skip_json(skip, &ids, &origins) < 0) {
		free(ids);
		free(origins);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	sqlite3_bind_int64(p, 1, now);
	sqlite3_bind_text(p, 2, ids, -1, free);
	sqlite3_bind_text(p, 3, origins, -1, free);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW) {
		const void *b = sqlite3_column_blob(p, 3);
		size_t n = (size_t)sqlite3_column_bytes(p, 3);

		out->id = sqlite3_column_int64(p, 0);
		out->job_id = sqlite3_column_int64(p, 1);
		out->url = col_strdup(p, 2, NULL);
		out->body = malloc(n + 1);
		if (out->body) {
			if (n)
				memcpy(out->body, b, n);
			out->body[n] = '\0';
		}
		out->body_len = n;
		out->attempts = sqlite3_column_int(p, 4);
		out->next_at = sqlite3_column_int64(p, 5);
		out->created_at = sqlite3_column_int64(p, 6);
		done_stmt(p);
		if (!out->url || !out->body) {
			queue_callback_release(out);
			return error_set(e, KD_ENOMEM, "out of memory");
		}
		return 1;
	}
	done_stmt(p);
	return rc == SQLITE_DONE ? 0 : db_error(q, rc, e, "outbox");
}

static int outbox_update(struct queue *q, enum stmt s, long long id, long long now, int status,
			 const char *msg, long long next_at, int give_up, struct error *e)
{
	sqlite3_stmt *p = st(q, s, e);
	int rc;

	if (!p)
		return e ? e->code : KD_EIO;
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_int64(p, 2, now);
	if (status > 0)
		sqlite3_bind_int(p, 3, status);
	if (s == S_OB_FAILED) {
		sqlite3_bind_text(p, 4, msg ? msg : "failed", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(p, 5, next_at);
		sqlite3_bind_int(p, 6, give_up != 0);
	}
	if ((rc = run(q, s, e)) < 0)
		goto fail;
	if (sqlite3_changes(q->db) == 0) {
		rc = error_set(e, KD_EINPUT, "callback %lld is not pending", id);
		goto fail;
	}
	if (s == S_OB_DONE && (rc = counter_add(q, "callbacks_delivered", 1, e)) < 0)
		goto fail;
	if (s == S_OB_FAILED && give_up && (rc = counter_add(q, "callbacks_failed", 1, e)) < 0)
		goto fail;
	return tx_commit(q, e);
fail:
	tx_rollback(q);
	return rc;
}

int queue_outbox_done(struct queue *q, long long id, long long now, int http_status,
		      struct error *e)
{
	return outbox_update(q, S_OB_DONE, id, now, http_status, NULL, 0, 0, e);
}

int queue_outbox_failed(struct queue *q, long long id, long long now, int http_status,
			const char *msg, long long next_at, int give_up, struct error *e)
{
	return outbox_update(q, S_OB_FAILED, id, now, http_status, msg, next_at, give_up, e);
}

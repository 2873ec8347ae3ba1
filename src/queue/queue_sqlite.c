/* queue_sqlite.c - the queue's rows on SQLite: the ops of queue_impl.h.
 * Open, migrations and what may be opened: queue_sqlite_open.c. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "error.h"
#include "queue_sqlite.h"

#define JOB_COLS "id, state, kind, priority, key, payload, source_id, attempts, max_attempts, " \
	"run_at, lease_until, lease_token, cancel_requested, last_error, result, sender_uid, " \
	"created_at, updated_at, finished_at, claimer_boot, claimer_pidns, claimer_pid, claimer_start"

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
		    "attempts = attempts + 1, updated_at = ?1, claimer_boot = ?4, claimer_pidns = ?5, "
		    "claimer_pid = ?6, claimer_start = ?7 WHERE id = ("
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
		   "finished_at = ?6, lease_token = NULL, lease_until = NULL, "
		   "attempts = max(attempts - ?7, 0) WHERE id = ?1",
	/* A gauge kept beside the counters: no schema change, and stats reads it. */
	[S_GAUGE] = "INSERT OR REPLACE INTO counters(name, value) VALUES(?1, ?2)",
	[S_CB_INSERT] = "INSERT INTO callbacks(job_id, url, body, next_at, created_at, updated_at) "
			"VALUES(?1, ?2, ?3, ?4, ?4, ?4)",
	[S_RUNNING] = "SELECT id, claimer_boot, claimer_pidns, claimer_pid, claimer_start FROM jobs "
		      "WHERE state = 'running' AND id > ?3 AND (NOT ?4 OR lease_until < ?1) "
		      "ORDER BY id LIMIT ?2",
	[S_CANCEL_PENDING] = "UPDATE jobs SET state = 'cancelled', finished_at = ?2, updated_at = ?2, "
			     "last_error = 'cancelled' WHERE id = ?1 AND state = 'pending'",
	[S_CANCEL_RUNNING] = "UPDATE jobs SET cancel_requested = 1, updated_at = ?2 "
			     "WHERE id = ?1 AND state = 'running'",
	/* OR IGNORE: a dead scan cannot go back to pending while another scan
	 * is pending (index jobs_one_pending_scan); it is skipped, not an error
	 * that would requeue nothing at all. */
	[S_RETRY_ONE] = "UPDATE OR IGNORE jobs SET state = 'pending', attempts = 0, run_at = ?2, updated_at = ?2, "
			"finished_at = NULL, cancel_requested = 0, lease_token = NULL, lease_until = NULL, "
			"last_error = NULL "
			"WHERE id = ?1 AND (state IN ('dead', 'cancelled') OR (?3 AND state = 'done'))",
	[S_RETRY_DEAD] = "UPDATE OR IGNORE jobs SET state = 'pending', attempts = 0, run_at = ?1, updated_at = ?1, "
			 "finished_at = NULL, cancel_requested = 0, last_error = NULL WHERE state = 'dead'",
	[S_PURGE_SEL] = "SELECT id, result, state FROM jobs j WHERE finished_at < ?1 "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = j.id AND c.state = 'pending') "
			"ORDER BY finished_at, id LIMIT ?2",
	/* The selection again: between the read pass and this transaction an
	 * operator may have requeued the job (retry --force).  Its callbacks and
	 * attempts go with it (ON DELETE CASCADE). */
	[S_PURGE_DEL] = "DELETE FROM jobs WHERE id = ?1 AND finished_at < ?2 "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = ?1 AND c.state = 'pending')",
	[S_PURGE_REC] = "INSERT OR REPLACE INTO purged(id, files_kept, purged_at) "
			"VALUES(?1, ?2, CAST(strftime('%s', 'now') AS INTEGER))",
	[S_FILES_OWNED] = "SELECT EXISTS(SELECT 1 FROM jobs WHERE id = ?1) "
			  "OR EXISTS(SELECT 1 FROM purged WHERE id = ?1 AND files_kept = 1)",
	[S_ATT_START] = "INSERT INTO attempts(job_id, n, started_at, claimer_boot, claimer_pidns, "
			"claimer_pid, claimer_start) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[S_ATT_END] = "UPDATE attempts SET ended_at = ?3, outcome = ?4, error = ?5 WHERE id = ("
		      "SELECT max(id) FROM attempts WHERE job_id = ?1 AND n = ?2 AND ended_at IS NULL)",
	[S_ATT_LIST] = "SELECT job_id, n, started_at, ended_at, claimer_boot, claimer_pidns, claimer_pid, "
		       "claimer_start, outcome, error FROM attempts WHERE job_id = ?1 ORDER BY id",
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
	[S_OB_DONE] = "UPDATE callbacks SET state = 'delivered', attempts = attempts + 1, "
		      "last_status = ?3, last_error = NULL, updated_at = ?2 "
		      "WHERE id = ?1 AND state = 'pending'",
	[S_OB_FAILED] = "UPDATE callbacks SET state = CASE WHEN ?6 THEN 'failed' ELSE 'pending' END, "
			"attempts = attempts + 1, last_status = ?3, last_error = ?4, next_at = ?5, "
			"updated_at = ?2 WHERE id = ?1 AND state = 'pending'",
};

int sq_stmt_count(void)
{
	return S_NSTMT;
}

struct sq *SQ(struct queue *q)
{
	return q->impl;
}

int sq_error(sqlite3 *db, int rc, struct error *e, const char *what)
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
	return error_set(e, code, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

int sq_dberr(struct queue *q, int rc, struct error *e, const char *what)
{
	return sq_error(SQ(q)->db, rc, e, what);
}

/* The statement, bindings cleared; NULL with e filled if it cannot be prepared. */
sqlite3_stmt *sq_st(struct queue *q, int s, struct error *e)
{
	struct sq *x = SQ(q);

	if (!x->stmt[s]) {
		int rc = sqlite3_prepare_v3(x->db, stmt_sql[s], -1, SQLITE_PREPARE_PERSISTENT, &x->stmt[s], NULL);
		if (rc != SQLITE_OK) {
			sq_dberr(q, rc, e, "prepare");
			return NULL;
		}
	}
	return x->stmt[s];
}

int sq_fail(struct error *e)
{
	return e && e->code ? e->code : KD_EIO;
}

void sq_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Run a prepared, bound statement that returns no rows (or whose rows we ignore). */
int sq_run(struct queue *q, int s, struct error *e)
{
	sqlite3_stmt *p = SQ(q)->stmt[s];
	int rc;

	while ((rc = sqlite3_step(p)) == SQLITE_ROW)
		;
	sq_done(p);
	if (rc != SQLITE_DONE)
		return sq_dberr(q, rc, e, stmt_sql[s]);
	return 0;
}

int sq_changes(struct queue *q)
{
	return sqlite3_changes(SQ(q)->db);
}

/* ---- transactions, clock ---------------------------------------------------- */

static int sq_begin(struct queue *q, struct error *e)
{
	return sq_st(q, S_BEGIN, e) ? sq_run(q, S_BEGIN, e) : sq_fail(e);
}

static void sq_rollback(struct queue *q)
{
	if (!sqlite3_get_autocommit(SQ(q)->db) && sq_st(q, S_ROLLBACK, NULL))
		sq_run(q, S_ROLLBACK, NULL);
}

static int sq_commit(struct queue *q, struct error *e)
{
	int rc = sq_st(q, S_COMMIT, e) ? sq_run(q, S_COMMIT, e) : sq_fail(e);
	if (rc < 0)
		sq_rollback(q);
	return rc;
}

static long long sq_now(struct queue *q)
{
	(void)q;
	return (long long)time(NULL);
}

static int sq_idle(struct queue *q, struct error *e)
{
	int rc = sqlite3_wal_checkpoint_v2(SQ(q)->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK)
		return sq_dberr(q, rc, e, "checkpoint");
	return 0;
}

static void sq_close(struct queue *q)
{
	struct sq *x = SQ(q);

	if (!x)
		return;
	if (x->db && !sqlite3_get_autocommit(x->db))
		sqlite3_exec(x->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; x->stmt && i < S_NSTMT; i++)
		sqlite3_finalize(x->stmt[i]);
	free(x->stmt);
	sqlite3_close(x->db);
	queue_wake_free(&x->wake);
	free(x);
	q->impl = NULL;
}

/* ---- columns ------------------------------------------------------------- */

char *sq_col_strdup(sqlite3_stmt *p, int i, size_t *len)
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

long long sq_col_ll(sqlite3_stmt *p, int i, long long dflt)
{
	return sqlite3_column_type(p, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(p, i);
}

/* Columns i..i+3: boot, pidns, pid, start. */
void sq_read_claimer(sqlite3_stmt *p, int i, struct queue_claimer *c)
{
	const char *s = (const char *)sqlite3_column_text(p, i);

	memset(c, 0, sizeof(*c));
	snprintf(c->boot_id, sizeof(c->boot_id), "%s", s ? s : "");
	c->pidns = (unsigned long long)sq_col_ll(p, i + 1, 0);
	c->pid = sq_col_ll(p, i + 2, 0);
	c->start_time = (unsigned long long)sq_col_ll(p, i + 3, 0);
}

static void bind_claimer(sqlite3_stmt *p, int i, const struct queue_claimer *c)
{
	if (c->boot_id[0])
		sqlite3_bind_text(p, i, c->boot_id, -1, SQLITE_TRANSIENT);
	if (c->pidns)
		sqlite3_bind_int64(p, i + 1, (sqlite3_int64)c->pidns);
	if (c->pid)
		sqlite3_bind_int64(p, i + 2, c->pid);
	if (c->start_time)
		sqlite3_bind_int64(p, i + 3, (sqlite3_int64)c->start_time);
}

/* Fill j from a row of JOB_COLS; KD_ENOMEM if a copy failed. */
int sq_read_job(sqlite3_stmt *p, struct queue_job *j, struct error *e)
{
	const char *s;

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(p, 0);
	j->state = queue_state_parse((const char *)sqlite3_column_text(p, 1));
	s = (const char *)sqlite3_column_text(p, 2);
	snprintf(j->kind, sizeof(j->kind), "%s", s ? s : "");
	j->priority = sqlite3_column_int(p, 3);
	j->key = sq_col_strdup(p, 4, NULL);
	j->payload = sq_col_strdup(p, 5, &j->payload_len);
	j->source_id = sq_col_ll(p, 6, -1);
	j->attempts = sqlite3_column_int(p, 7);
	j->max_attempts = sqlite3_column_int(p, 8);
	j->run_at = sq_col_ll(p, 9, 0);
	j->lease_until = sq_col_ll(p, 10, 0);
	s = (const char *)sqlite3_column_text(p, 11);
	snprintf(j->lease_token, sizeof(j->lease_token), "%s", s ? s : "");
	j->cancel_requested = sqlite3_column_int(p, 12);
	j->last_error = sq_col_strdup(p, 13, NULL);
	j->result = sq_col_strdup(p, 14, NULL);
	j->sender_uid = sq_col_ll(p, 15, -1);
	j->created_at = sq_col_ll(p, 16, 0);
	j->updated_at = sq_col_ll(p, 17, 0);
	j->finished_at = sq_col_ll(p, 18, 0);
	sq_read_claimer(p, 19, &j->claimer);
	if ((sqlite3_column_type(p, 4) != SQLITE_NULL && !j->key) || !j->payload ||
	    (sqlite3_column_type(p, 13) != SQLITE_NULL && !j->last_error) ||
	    (sqlite3_column_type(p, 14) != SQLITE_NULL && !j->result)) {
		queue_job_release(j);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- ingest -------------------------------------------------------------- */

static int sq_key_find(struct queue *q, const char *key, long long *id, char **payload, size_t *len,
		       struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_KEY_FIND, e);
	int rc;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_text(p, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(p, 0);
		*len = 0;
		*payload = sq_col_strdup(p, 1, len);
		sq_done(p);
		return *payload ? 1 : error_set(e, KD_ENOMEM, "out of memory");
	}
	sq_done(p);
	return rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "enqueue");
}

static int sq_scan_pending(struct queue *q, long long *id, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_SCAN_FIND, e);
	int rc;

	if (!p)
		return sq_fail(e);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(p, 0);
	sq_done(p);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "enqueue");
}

static int sq_insert(struct queue *q, const struct queue_new_job *j, long long run_at, long long now,
		     long long *id, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_INSERT, e);
	int rc;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_text(p, 1, j->kind ? j->kind : "render", -1, SQLITE_STATIC);
	sqlite3_bind_int(p, 2, j->priority);
	if (j->key)
		sqlite3_bind_text(p, 3, j->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 4, j->payload, (int)j->payload_len, SQLITE_STATIC);
	if (j->source_id >= 0)
		sqlite3_bind_int64(p, 5, j->source_id);
	sqlite3_bind_int(p, 6, j->max_attempts >= 1 ? j->max_attempts : 5);
	sqlite3_bind_int64(p, 7, run_at);
	if (j->sender_uid >= 0)
		sqlite3_bind_int64(p, 8, j->sender_uid);
	sqlite3_bind_int64(p, 9, now);
	if ((rc = sq_run(q, S_INSERT, e)) < 0)
		return rc == KD_EINPUT ? error_set(e, KD_EIO, "enqueue: %s", sqlite3_errmsg(SQ(q)->db)) : rc;
	*id = sqlite3_last_insert_rowid(SQ(q)->db);
	return 0;
}

static int sq_counter_add(struct queue *q, const char *name, double v, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_COUNTER, e);
	if (!p)
		return sq_fail(e);
	sqlite3_bind_text(p, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(p, 2, v);
	return sq_run(q, S_COUNTER, e);
}

/* ---- jobs ---------------------------------------------------------------- */

static int sq_gauge_set(struct queue *q, const char *name, long long v, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_GAUGE, e);

	if (!p)
		return sq_fail(e);
	sqlite3_bind_text(p, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 2, v);
	return sq_run(q, S_GAUGE, e);
}

static int sq_claim(struct queue *q, long long now, int lease, const char *token,
		    const struct queue_claimer *c, struct queue_job *out, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_CLAIM, e);
	int rc, got = 0;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, now);
	sqlite3_bind_int(p, 2, lease);
	sqlite3_bind_text(p, 3, token, -1, SQLITE_TRANSIENT);
	bind_claimer(p, 4, c);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW) {
		if ((rc = sq_read_job(p, out, e)) < 0) {
			sq_done(p);
			return rc;
		}
		got = 1;
		rc = sqlite3_step(p); /* finish the statement: RETURNING applies on completion */
	}
	sq_done(p);
	if (rc != SQLITE_DONE) {
		if (got)
			queue_job_release(out);
		return sq_dberr(q, rc, e, "claim");
	}
	return got;
}

static int sq_renew(struct queue *q, long long id, const char *token, long long now, int lease,
		    struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_RENEW, e);
	int rc, n;

	if (!p)
		return sq_fail(e);
	if ((rc = sq_begin(q, e)) < 0)
		return rc;
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_text(p, 2, token, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 3, now);
	sqlite3_bind_int(p, 4, lease);
	if ((rc = sq_run(q, S_RENEW, e)) < 0) {
		sq_rollback(q);
		return rc;
	}
	if ((n = sq_changes(q)) == 0) {
		sq_rollback(q);
		return 0;
	}
	return (rc = sq_commit(q, e)) < 0 ? rc : 1;
}

static int sq_cancel_flag(struct queue *q, long long id, const char *token, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_CANCEL_REQ, e);
	int rc, v;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_text(p, 2, token, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(p);
	v = rc == SQLITE_ROW ? sqlite3_column_int(p, 0) : 0;
	sq_done(p);
	if (rc == SQLITE_DONE)
		return error_set(e, KD_ELEASE, "job %lld: lease lost", id);
	if (rc != SQLITE_ROW)
		return sq_dberr(q, rc, e, "cancel check");
	return v ? 1 : 0;
}

static int sq_get(struct queue *q, long long id, struct queue_job *j, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_GET, e);
	int rc;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW) {
		rc = sq_read_job(p, j, e);
		sq_done(p);
		return rc < 0 ? rc : 1;
	}
	sq_done(p);
	return rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "get");
}

static int sq_set_done(struct queue *q, long long id, long long now, const char *result,
		       struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_FINISH, e);

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	if (result)
		sqlite3_bind_text(p, 2, result, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 3, now);
	return sq_run(q, S_FINISH, e);
}

static int sq_set_failed(struct queue *q, long long id, const struct queue_fail_row *r,
			 struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_FAIL, e);

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_text(p, 2, queue_state_names[r->state], -1, SQLITE_STATIC);
	sqlite3_bind_text(p, 3, r->error, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 4, r->run_at);
	sqlite3_bind_int64(p, 5, r->now);
	if (r->state != JOB_PENDING)
		sqlite3_bind_int64(p, 6, r->now);
	sqlite3_bind_int(p, 7, r->unspend != 0);
	return sq_run(q, S_FAIL, e);
}

static int id_now(struct queue *q, enum stmt s, long long id, long long now, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, s, e);
	int rc;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_int64(p, 2, now);
	return (rc = sq_run(q, s, e)) < 0 ? rc : sq_changes(q) > 0;
}

static int sq_cancel_pending(struct queue *q, long long id, long long now, struct error *e)
{
	return id_now(q, S_CANCEL_PENDING, id, now, e);
}

static int sq_cancel_running(struct queue *q, long long id, long long now, struct error *e)
{
	return id_now(q, S_CANCEL_RUNNING, id, now, e);
}

static int sq_running(struct queue *q, long long now, int expired_only, long long after, long long *ids,
		      struct queue_claimer *who, int max, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_RUNNING, e);
	int rc, n = 0;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, now);
	sqlite3_bind_int(p, 2, max);
	sqlite3_bind_int64(p, 3, after);
	sqlite3_bind_int(p, 4, expired_only != 0);
	while (n < max && (rc = sqlite3_step(p)) == SQLITE_ROW) {
		ids[n] = sqlite3_column_int64(p, 0);
		sq_read_claimer(p, 1, &who[n]);
		n++;
	}
	sq_done(p);
	if (n < max && rc != SQLITE_DONE)
		return sq_dberr(q, rc, e, "reclaim");
	return n;
}

static int sq_requeue(struct queue *q, long long id, int force, long long now, long long *n,
		      struct error *e)
{
	enum stmt s = id > 0 ? S_RETRY_ONE : S_RETRY_DEAD;
	sqlite3_stmt *p = sq_st(q, s, e);
	int rc;

	if (!p)
		return sq_fail(e);
	if (id > 0) {
		sqlite3_bind_int64(p, 1, id);
		sqlite3_bind_int64(p, 2, now);
		sqlite3_bind_int(p, 3, force != 0);
	} else {
		sqlite3_bind_int64(p, 1, now);
	}
	if ((rc = sq_run(q, s, e)) < 0)
		return rc;
	*n = sq_changes(q);
	return 0;
}

static int sq_purge_scan(struct queue *q, long long before, int max, queue_purge_fn fn, void *ctx,
			 long long *ids, int *kept, int *stopped, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_PURGE_SEL, e);
	int rc = SQLITE_DONE, n = 0;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, before);
	sqlite3_bind_int(p, 2, max);
	while (n < max && (rc = sqlite3_step(p)) == SQLITE_ROW) {
		long long id = sqlite3_column_int64(p, 0);
		const char *state = (const char *)sqlite3_column_text(p, 2);

		kept[n] = strcmp(state, "done") == 0;
		if (fn && fn(ctx, id, state, (const char *)sqlite3_column_text(p, 1), &kept[n], e) != 0) {
			*stopped = 1;
			break;
		}
		ids[n++] = id;
	}
	sq_done(p);
	if (!*stopped && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_dberr(q, rc, e, "purge");
	return n;
}

static int sq_purge_delete(struct queue *q, long long id, long long before, int files_kept, struct error *e)
{
	sqlite3_stmt *p;
	int rc = id_now(q, S_PURGE_DEL, id, before, e);

	if (rc <= 0)
		return rc;
	if (!(p = sq_st(q, S_PURGE_REC, e)))
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_int(p, 2, files_kept != 0);
	return (rc = sq_run(q, S_PURGE_REC, e)) < 0 ? rc : 1;
}

static int sq_files_owned(struct queue *q, long long id, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_FILES_OWNED, e);
	int rc, owned;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	if ((rc = sqlite3_step(p)) != SQLITE_ROW) {
		sq_done(p);
		return sq_dberr(q, rc, e, "purge --orphans");
	}
	owned = sqlite3_column_int(p, 0) != 0;
	sq_done(p);
	return owned;
}

/* ---- attempts ------------------------------------------------------------ */

static int sq_attempt_start(struct queue *q, long long job_id, int n, long long now,
			    const struct queue_claimer *c, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_ATT_START, e);

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, job_id);
	sqlite3_bind_int(p, 2, n);
	sqlite3_bind_int64(p, 3, now);
	bind_claimer(p, 4, c);
	return sq_run(q, S_ATT_START, e);
}

static int sq_attempt_end(struct queue *q, long long job_id, int n, long long now, const char *outcome,
			  const char *error, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_ATT_END, e);

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, job_id);
	sqlite3_bind_int(p, 2, n);
	sqlite3_bind_int64(p, 3, now);
	sqlite3_bind_text(p, 4, outcome, -1, SQLITE_STATIC);
	if (error)
		sqlite3_bind_text(p, 5, error, -1, SQLITE_TRANSIENT);
	return sq_run(q, S_ATT_END, e);
}

/* ---- wake-ups ------------------------------------------------------------ */

static void sq_signal(struct queue *q)
{
	queue_wake_send(&SQ(q)->wake);
}

static int sq_wake_fd(struct queue *q, struct error *e)
{
	return queue_wake_watch(&SQ(q)->wake, e);
}

static void sq_wake_clear(struct queue *q)
{
	queue_wake_drain(&SQ(q)->wake);
}

const struct queue_ops queue_sqlite_ops = {
	.name = "sqlite",
	.begin = sq_begin, .commit = sq_commit, .rollback = sq_rollback, .now = sq_now,
	.idle = sq_idle, .close = sq_close,
	.key_find = sq_key_find, .scan_pending = sq_scan_pending, .insert = sq_insert,
	.counter_add = sq_counter_add,
	.gauge_set = sq_gauge_set,
	.claim = sq_claim, .renew = sq_renew, .cancel_flag = sq_cancel_flag, .get = sq_get,
	.set_done = sq_set_done, .set_failed = sq_set_failed, .cancel_pending = sq_cancel_pending,
	.cancel_running = sq_cancel_running, .running = sq_running, .requeue = sq_requeue,
	.purge_scan = sq_purge_scan, .purge_delete = sq_purge_delete, .files_owned = sq_files_owned,
	.attempt_start = sq_attempt_start, .attempt_end = sq_attempt_end,
	.stats = sq_stats, .list = sq_list, .attempts = sq_attempts, .source_has_job = sq_source_has_job,
	.outbox_add = sq_outbox_add, .outbox_next = sq_outbox_next, .outbox_mark = sq_outbox_mark,
	.signal = sq_signal, .wake_fd = sq_wake_fd, .wake_clear = sq_wake_clear,
};

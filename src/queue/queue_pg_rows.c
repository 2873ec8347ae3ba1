/* queue_pg_rows.c - the queue's rows on PostgreSQL: every statement, and the
 * ops that write jobs and attempts (queue_impl.h).  Each value is a text
 * parameter; statements are prepared once per connection. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "queue_pg.h"

/* The multi-row insert of the listener's group commit.  Ids are drawn from
 * the sequence first, so every input row knows its id whether it was
 * inserted or passed over by ON CONFLICT DO NOTHING (a key already there,
 * or a second pending scan): a conflict fails or merges its own job only. */
static const char insert_many_sql[] =
	"WITH input AS MATERIALIZED (SELECT nextval(pg_get_serial_sequence('jobs', 'id')) AS id, t.* "
	"FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::bigint[], $6::int[], "
	"$7::bigint[], $8::bigint[]) WITH ORDINALITY AS t(kind, priority, key, payload, source_id, "
	"max_attempts, run_at, sender_uid, ord)), "
	"ins AS (INSERT INTO jobs(id, state, kind, priority, key, payload, source_id, max_attempts, "
	"run_at, sender_uid, created_at, updated_at) SELECT id, 'pending', kind, priority, key, payload, "
	"source_id, max_attempts, coalesce(run_at, " PG_NOW "), sender_uid, " PG_NOW ", " PG_NOW " "
	"FROM input ORDER BY ord ON CONFLICT DO NOTHING RETURNING id) "
	"SELECT input.id, ins.id IS NOT NULL FROM input LEFT JOIN ins ON ins.id = input.id "
	"ORDER BY input.ord";

/* Seconds a taken callback is left to its sender (above --callback-timeout). */
#define PG_DELIVERY_LEASE "120"

#define CLAIMER_SET "claimer_boot = $4, claimer_pidns = $5, claimer_pid = $6, claimer_start = $7"

const char *const pg_stmt_sql[P_NSTMT] = {
	[P_NOW] = "SELECT " PG_NOW,
	[P_KEY_FIND] = "SELECT id, payload FROM jobs WHERE key = $1",
	[P_SCAN_FIND] = "SELECT id FROM jobs WHERE kind = 'scan' AND state = 'pending'",
	/* A single insert (the rules' own path): a key or scan inserted by
	 * another node since the rules looked is no row, not an aborted
	 * transaction. */
	[P_INSERT] = "INSERT INTO jobs(state, kind, priority, key, payload, source_id, max_attempts, "
		     "run_at, sender_uid, created_at, updated_at) "
		     "VALUES('pending', $1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING RETURNING id",
	[P_INSERT_MANY] = insert_many_sql,
	[P_COUNTER] = "UPDATE counters SET value = value + $2::numeric WHERE name = $1",
	/* SKIP LOCKED: claimers on every node pass over each other's rows. */
	[P_CLAIM] = "UPDATE jobs SET state = 'running', lease_token = $3, lease_until = $1::bigint + $2::int, "
		    "attempts = attempts + 1, updated_at = $1, " CLAIMER_SET " WHERE id = ("
		    "SELECT id FROM jobs WHERE state = 'pending' AND run_at <= $1 "
		    "ORDER BY priority DESC, run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING " PG_JOB_COLS,
	[P_RENEW] = "UPDATE jobs SET lease_until = $3::bigint + $4::int, updated_at = $3 "
		    "WHERE id = $1 AND lease_token = $2 AND state = 'running'",
	[P_CANCEL_REQ] = "SELECT cancel_requested FROM jobs WHERE id = $1 AND lease_token = $2 "
			 "AND state = 'running'",
	[P_GET] = "SELECT " PG_JOB_COLS " FROM jobs WHERE id = $1",
	[P_GET_LOCK] = "SELECT " PG_JOB_COLS " FROM jobs WHERE id = $1 FOR UPDATE",
	[P_FINISH] = "UPDATE jobs SET state = 'done', result = $2, finished_at = $3, updated_at = $3, "
		     "lease_token = NULL, lease_until = NULL, last_error = NULL WHERE id = $1",
	[P_FAIL] = "UPDATE jobs SET state = $2, last_error = $3, run_at = $4, updated_at = $5, "
		   "finished_at = $6, lease_token = NULL, lease_until = NULL, "
		   "attempts = greatest(attempts - $7::integer, 0) WHERE id = $1",
	/* Locked, and skipped when another node's reclaim holds them. */
	[P_RUNNING] = "SELECT id, claimer_boot, claimer_pidns, claimer_pid, claimer_start FROM jobs "
		      "WHERE state = 'running' AND id > $2 ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
	[P_RUNNING_EXPIRED] = "SELECT id, claimer_boot, claimer_pidns, claimer_pid, claimer_start FROM jobs "
			      "WHERE state = 'running' AND id > $2 AND lease_until < $3 "
			      "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
	[P_CANCEL_PENDING] = "UPDATE jobs SET state = 'cancelled', finished_at = $2, updated_at = $2, "
			     "last_error = 'cancelled' WHERE id = $1 AND state = 'pending'",
	[P_CANCEL_RUNNING] = "UPDATE jobs SET cancel_requested = 1, updated_at = $2 "
			     "WHERE id = $1 AND state = 'running'",
	/* No UPDATE OR IGNORE here: a scan that would make a second pending
	 * scan (index jobs_one_pending_scan) is left out by the WHERE. */
	[P_RETRY_ONE] = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $2, updated_at = $2, "
			"finished_at = NULL, cancel_requested = 0, lease_token = NULL, lease_until = NULL, "
			"last_error = NULL WHERE id = $1 AND (state IN ('dead', 'cancelled') OR "
			"($3::boolean AND state = 'done')) AND NOT (kind = 'scan' AND EXISTS ("
			"SELECT 1 FROM jobs s WHERE s.kind = 'scan' AND s.state = 'pending'))",
	[P_RETRY_DEAD] = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1, "
			 "finished_at = NULL, cancel_requested = 0, last_error = NULL "
			 "WHERE state = 'dead' AND kind = 'render'",
	[P_RETRY_DEAD_SCAN] = "UPDATE jobs SET state = 'pending', attempts = 0, run_at = $1, updated_at = $1, "
			      "finished_at = NULL, cancel_requested = 0, last_error = NULL "
			      "WHERE id = (SELECT id FROM jobs WHERE state = 'dead' AND kind = 'scan' "
			      "ORDER BY id LIMIT 1) AND NOT EXISTS ("
			      "SELECT 1 FROM jobs s WHERE s.kind = 'scan' AND s.state = 'pending')",
	[P_PURGE_SEL] = "SELECT id, result, state FROM jobs j WHERE finished_at < $1 "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = j.id AND c.state = 'pending') "
			"ORDER BY finished_at, id LIMIT $2",
	/* The selection again (retry --force may have requeued it); callbacks
	 * and attempts go with it (ON DELETE CASCADE). */
	[P_PURGE_DEL] = "WITH d AS (DELETE FROM jobs j WHERE id = $1 AND finished_at < $2 "
			"AND state IN ('done', 'dead', 'cancelled') AND NOT EXISTS ("
			"SELECT 1 FROM callbacks c WHERE c.job_id = j.id AND c.state = 'pending') RETURNING id) "
			"INSERT INTO purged(id, files_kept, purged_at) "
			"SELECT id, $3::boolean, " PG_NOW " FROM d "
			"ON CONFLICT (id) DO UPDATE SET files_kept = excluded.files_kept, purged_at = excluded.purged_at",
	[P_FILES_OWNED] = "SELECT EXISTS(SELECT 1 FROM jobs WHERE id = $1) "
			  "OR EXISTS(SELECT 1 FROM purged WHERE id = $1 AND files_kept)",
	[P_ATT_START] = "INSERT INTO attempts(job_id, n, started_at, claimer_boot, claimer_pidns, "
			"claimer_pid, claimer_start) VALUES($1, $2, $3, $4, $5, $6, $7)",
	[P_ATT_END] = "UPDATE attempts SET ended_at = $3, outcome = $4, error = $5 WHERE id = ("
		      "SELECT max(id) FROM attempts WHERE job_id = $1 AND n = $2 AND ended_at IS NULL)",
	[P_ATT_LIST] = "SELECT job_id, n, started_at, ended_at, claimer_boot, claimer_pidns, claimer_pid, "
		       "claimer_start, outcome, error FROM attempts WHERE job_id = $1 ORDER BY id",
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
	[P_CB_INSERT] = "INSERT INTO callbacks(job_id, url, body, next_at, created_at, updated_at) "
			"VALUES($1, $2, $3, $4, $4, $4)",
	/* $2: ids in flight; $3: URL origins to pass over ("http://host:port"):
	 * a URL matches when the origin is all of it or is followed by '/',
	 * '?' or '#'.  Senders on other hosts share no skip list: the row is
	 * taken (SKIP LOCKED) and its next_at moved a delivery's time ahead, so
	 * no other node sends it meanwhile; done or failed set it for good, and
	 * a sender that died lets it come back then. */
	[P_OB_NEXT] = "UPDATE callbacks SET next_at = $1::bigint + " PG_DELIVERY_LEASE " WHERE id = ("
		      "SELECT id FROM callbacks WHERE state = 'pending' AND next_at <= $1 "
		      "AND id <> ALL($2::bigint[]) AND NOT EXISTS (SELECT 1 FROM unnest($3::text[]) o "
		      "WHERE left(url, length(o)) = o AND substr(url, length(o) + 1, 1) IN ('', '/', '?', '#')) "
		      "ORDER BY next_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
		      "RETURNING id, job_id, url, body, attempts, next_at, created_at",
	[P_OB_DONE] = "UPDATE callbacks SET state = 'delivered', attempts = attempts + 1, last_status = $3, "
		      "last_error = NULL, updated_at = $2 WHERE id = $1 AND state = 'pending'",
	[P_OB_FAILED] = "UPDATE callbacks SET state = CASE WHEN $6::boolean THEN 'failed' ELSE 'pending' END, "
			"attempts = attempts + 1, last_status = $3, last_error = $4, next_at = $5, "
			"updated_at = $2 WHERE id = $1 AND state = 'pending'",
};

/* ---- columns ------------------------------------------------------------------ */

static char *dup_col(PGresult *r, int row, int col, size_t *len, int *oom)
{
	size_t n;
	char *s;

	if (PQgetisnull(r, row, col))
		return NULL;
	n = (size_t)PQgetlength(r, row, col);
	if (!(s = malloc(n + 1))) {
		*oom = 1;
		return NULL;
	}
	memcpy(s, PQgetvalue(r, row, col), n);
	s[n] = '\0';
	if (len)
		*len = n;
	return s;
}

void pg_read_claimer(PGresult *r, int row, int col, struct queue_claimer *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->boot_id, sizeof(c->boot_id), "%s", PQgetvalue(r, row, col));
	c->pidns = (unsigned long long)pg_ll(r, row, col + 1, 0);
	c->pid = pg_ll(r, row, col + 2, 0);
	c->start_time = (unsigned long long)pg_ll(r, row, col + 3, 0);
}

void pg_claimer_params(const struct queue_claimer *c, char b[3][32], const char *v[4])
{
	snprintf(b[0], 32, "%llu", c->pidns);
	snprintf(b[1], 32, "%lld", c->pid);
	snprintf(b[2], 32, "%llu", c->start_time);
	v[0] = c->boot_id[0] ? c->boot_id : NULL;
	v[1] = c->pidns ? b[0] : NULL;
	v[2] = c->pid ? b[1] : NULL;
	v[3] = c->start_time ? b[2] : NULL;
}

int pg_read_job(PGresult *r, int row, struct queue_job *j, struct error *e)
{
	int oom = 0;

	memset(j, 0, sizeof(*j));
	j->id = pg_ll(r, row, 0, 0);
	j->state = queue_state_parse(PQgetvalue(r, row, 1));
	snprintf(j->kind, sizeof(j->kind), "%s", PQgetvalue(r, row, 2));
	j->priority = (int)pg_ll(r, row, 3, 0);
	j->key = dup_col(r, row, 4, NULL, &oom);
	j->payload = dup_col(r, row, 5, &j->payload_len, &oom);
	j->source_id = pg_ll(r, row, 6, -1);
	j->attempts = (int)pg_ll(r, row, 7, 0);
	j->max_attempts = (int)pg_ll(r, row, 8, 0);
	j->run_at = pg_ll(r, row, 9, 0);
	j->lease_until = pg_ll(r, row, 10, 0);
	snprintf(j->lease_token, sizeof(j->lease_token), "%s", PQgetvalue(r, row, 11));
	j->cancel_requested = (int)pg_ll(r, row, 12, 0);
	j->last_error = dup_col(r, row, 13, NULL, &oom);
	j->result = dup_col(r, row, 14, NULL, &oom);
	j->sender_uid = pg_ll(r, row, 15, -1);
	j->created_at = pg_ll(r, row, 16, 0);
	j->updated_at = pg_ll(r, row, 17, 0);
	j->finished_at = pg_ll(r, row, 18, 0);
	pg_read_claimer(r, row, 19, &j->claimer);
	if (oom || !j->payload) {
		queue_job_release(j);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- ingest ------------------------------------------------------------------------ */

int pg_key_find(struct queue *q, const char *key, long long *id, char **payload, size_t *len,
		struct error *e)
{
	const char *p[1] = { key };
	PGresult *r = pg_run(q, P_KEY_FIND, 1, p, e);
	int oom = 0, rc = 0;

	if (!r)
		return e->code;
	if (PQntuples(r) > 0) {
		*id = pg_ll(r, 0, 0, 0);
		*len = 0;
		*payload = dup_col(r, 0, 1, len, &oom);
		rc = *payload ? 1 : error_set(e, KD_ENOMEM, "out of memory");
	}
	PQclear(r);
	return rc;
}

int pg_scan_pending(struct queue *q, long long *id, struct error *e)
{
	PGresult *r = pg_run(q, P_SCAN_FIND, 0, NULL, e);
	int rc;

	if (!r)
		return e->code;
	rc = PQntuples(r) > 0;
	if (rc)
		*id = pg_ll(r, 0, 0, 0);
	PQclear(r);
	return rc;
}

int pg_insert(struct queue *q, const struct queue_new_job *j, long long run_at, long long now,
	      long long *id, struct error *e)
{
	char pri[32], src[32], max[32], at[32], uid[32], t[32], *payload;
	const char *p[9];
	PGresult *r;
	int rc;

	if (!(payload = malloc(j->payload_len + 1)))
		return error_set(e, KD_ENOMEM, "out of memory");
	memcpy(payload, j->payload, j->payload_len);
	payload[j->payload_len] = '\0';
	pg_num(pri, j->priority);
	pg_num(src, j->source_id);
	pg_num(max, j->max_attempts >= 1 ? j->max_attempts : 5);
	pg_num(at, run_at);
	pg_num(uid, j->sender_uid);
	pg_num(t, now);
	p[0] = j->kind ? j->kind : "render";
	p[1] = pri;
	p[2] = j->key;
	p[3] = payload;
	p[4] = j->source_id >= 0 ? src : NULL;
	p[5] = max;
	p[6] = at;
	p[7] = j->sender_uid >= 0 ? uid : NULL;
	p[8] = t;
	r = pg_run(q, P_INSERT, 9, p, e);
	free(payload);
	if (!r)
		return e->code;
	if (PQntuples(r) == 1) {
		*id = pg_ll(r, 0, 0, 0);
		rc = 0;
	} else {
		/* Another node inserted this key (or a scan) since the rules
		 * looked: the sender tries again and finds it. */
		rc = error_set(e, KD_EBUSY, "queue busy");
	}
	PQclear(r);
	return rc;
}

int pg_counter_add(struct queue *q, const char *name, double v, struct error *e)
{
	char num[64];
	const char *p[2] = { name, num };

	snprintf(num, sizeof(num), "%.17g", v);
	return pg_cmd(q, P_COUNTER, 2, p, NULL, e);
}

/* ---- jobs ---------------------------------------------------------------------------- */

int pg_claim(struct queue *q, long long now, int lease, const char *token, const struct queue_claimer *c,
	     struct queue_job *out, struct error *e)
{
	char t[32], ls[32], cb[3][32];
	const char *p[7] = { t, ls, token };
	PGresult *r;
	int rc;

	pg_num(t, now);
	pg_num(ls, lease);
	pg_claimer_params(c, cb, p + 3);
	if (!(r = pg_run(q, P_CLAIM, 7, p, e)))
		return e->code;
	rc = PQntuples(r) ? pg_read_job(r, 0, out, e) : 0;
	rc = rc < 0 ? rc : PQntuples(r) ? 1 : 0;
	PQclear(r);
	return rc;
}

int pg_renew(struct queue *q, long long id, const char *token, long long now, int lease, struct error *e)
{
	char b[32], t[32], ls[32];
	const char *p[4] = { b, token, t, ls };
	long long n = 0;
	int rc;

	pg_num(b, id);
	pg_num(t, now);
	pg_num(ls, lease);
	/* One statement: its own transaction. */
	if ((rc = pg_cmd(q, P_RENEW, 4, p, &n, e)) < 0)
		return rc;
	return n > 0;
}

int pg_cancel_flag(struct queue *q, long long id, const char *token, struct error *e)
{
	char b[32];
	const char *p[2] = { b, token };
	PGresult *r;
	int v;

	pg_num(b, id);
	if (!(r = pg_run(q, P_CANCEL_REQ, 2, p, e)))
		return e->code;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return error_set(e, KD_ELEASE, "job %lld: lease lost", id);
	}
	v = (int)pg_ll(r, 0, 0, 0);
	PQclear(r);
	return v ? 1 : 0;
}

int pg_get(struct queue *q, long long id, struct queue_job *out, struct error *e)
{
	struct pg *x = q->impl;
	char b[32];
	const char *p[1] = { b };
	PGresult *r;
	int rc;

	pg_num(b, id);
	/* In a transaction the row stays locked until its end. */
	if (!(r = pg_run(q, x->in_tx ? P_GET_LOCK : P_GET, 1, p, e)))
		return e->code;
	rc = PQntuples(r) ? pg_read_job(r, 0, out, e) : 0;
	rc = rc < 0 ? rc : PQntuples(r) ? 1 : 0;
	PQclear(r);
	return rc;
}

int pg_set_done(struct queue *q, long long id, long long now, const char *result, struct error *e)
{
	char b[32], t[32];
	const char *p[3] = { b, result, t };

	pg_num(b, id);
	pg_num(t, now);
	return pg_cmd(q, P_FINISH, 3, p, NULL, e);
}

int pg_set_failed(struct queue *q, long long id, const struct queue_fail_row *fr, struct error *e)
{
	char b[32], at[32], t[32];
	const char *p[7] = { b, queue_state_names[fr->state], fr->error, at, t, fr->state != JOB_PENDING ? t : NULL,
			     fr->unspend ? "1" : "0" };

	pg_num(b, id);
	pg_num(at, fr->run_at);
	pg_num(t, fr->now);
	return pg_cmd(q, P_FAIL, 7, p, NULL, e);
}

static int id_now(struct queue *q, enum pg_stmt s, long long id, long long now, struct error *e)
{
	char b[32], t[32];
	const char *p[2] = { b, t };
	long long n = 0;
	int rc;

	pg_num(b, id);
	pg_num(t, now);
	return (rc = pg_cmd(q, s, 2, p, &n, e)) < 0 ? rc : n > 0;
}

int pg_cancel_pending(struct queue *q, long long id, long long now, struct error *e)
{
	return id_now(q, P_CANCEL_PENDING, id, now, e);
}

int pg_cancel_running(struct queue *q, long long id, long long now, struct error *e)
{
	return id_now(q, P_CANCEL_RUNNING, id, now, e);
}

int pg_running(struct queue *q, long long now, int expired_only, long long after, long long *ids,
	       struct queue_claimer *who, int max, struct error *e)
{
	char lim[32], a[32], t[32];
	const char *p[3] = { lim, a, t };
	PGresult *r;
	int n;

	pg_num(lim, max);
	pg_num(a, after);
	pg_num(t, now);
	if (!(r = pg_run(q, expired_only ? P_RUNNING_EXPIRED : P_RUNNING, expired_only ? 3 : 2, p, e)))
		return e->code;
	n = PQntuples(r) < max ? PQntuples(r) : max;
	for (int i = 0; i < n; i++) {
		ids[i] = pg_ll(r, i, 0, 0);
		pg_read_claimer(r, i, 1, &who[i]);
	}
	PQclear(r);
	return n;
}

int pg_requeue(struct queue *q, long long id, int force, long long now, long long *n, struct error *e)
{
	char b[32], t[32];
	long long scans = 0;
	int rc;

	pg_num(b, id);
	pg_num(t, now);
	*n = 0;
	if (id > 0) {
		const char *p[3] = { b, t, force ? "t" : "f" };
		return pg_cmd(q, P_RETRY_ONE, 3, p, n, e);
	}
	const char *p[1] = { t };
	if ((rc = pg_cmd(q, P_RETRY_DEAD, 1, p, n, e)) < 0 || (rc = pg_cmd(q, P_RETRY_DEAD_SCAN, 1, p, &scans, e)) < 0)
		return rc;
	*n += scans;
	return 0;
}

int pg_purge_scan(struct queue *q, long long before, int max, queue_purge_fn fn, void *ctx, long long *ids,
		  int *kept, int *stopped, struct error *e)
{
	char b[32], lim[32];
	const char *p[2] = { b, lim };
	PGresult *r;
	int n = 0;

	pg_num(b, before);
	pg_num(lim, max);
	if (!(r = pg_run(q, P_PURGE_SEL, 2, p, e)))
		return e->code;
	for (int i = 0; i < PQntuples(r) && n < max; i++) {
		long long id = pg_ll(r, i, 0, 0);
		const char *state = PQgetvalue(r, i, 2);

		kept[n] = strcmp(state, "done") == 0;
		if (fn && fn(ctx, id, state, PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1), &kept[n], e) != 0) {
			*stopped = 1;
			break;
		}
		ids[n++] = id;
	}
	PQclear(r);
	return n;
}

int pg_purge_delete(struct queue *q, long long id, long long before, int files_kept, struct error *e)
{
	char b[32], t[32];
	const char *p[3] = { b, t, files_kept ? "true" : "false" };
	long long n = 0;
	int rc;

	pg_num(b, id);
	pg_num(t, before);
	return (rc = pg_cmd(q, P_PURGE_DEL, 3, p, &n, e)) < 0 ? rc : n > 0;
}

int pg_files_owned(struct queue *q, long long id, struct error *e)
{
	char b[32];
	const char *p[1] = { b };
	PGresult *r;
	int owned;

	pg_num(b, id);
	if (!(r = pg_run(q, P_FILES_OWNED, 1, p, e)))
		return e->code;
	owned = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return owned;
}

/* ---- attempts ------------------------------------------------------------------------ */

int pg_attempt_start(struct queue *q, long long job_id, int n, long long now, const struct queue_claimer *c,
		     struct error *e)
{
	char b[32], nn[32], t[32], cb[3][32];
	const char *p[7] = { b, nn, t };

	pg_num(b, job_id);
	pg_num(nn, n);
	pg_num(t, now);
	pg_claimer_params(c, cb, p + 3);
	return pg_cmd(q, P_ATT_START, 7, p, NULL, e);
}

int pg_attempt_end(struct queue *q, long long job_id, int n, long long now, const char *outcome,
		   const char *error, struct error *e)
{
	char b[32], nn[32], t[32];
	const char *p[5] = { b, nn, t, outcome, error };

	pg_num(b, job_id);
	pg_num(nn, n);
	pg_num(t, now);
	return pg_cmd(q, P_ATT_END, 5, p, NULL, e);
}

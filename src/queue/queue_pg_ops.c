/* queue_pg_ops.c - the queue on PostgreSQL: operators' commands (cancel,
 * retry, purge, stats, show, jobs) and the callback outbox.  See queue_pg.h. */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "queue_pg_impl.h"

#define CHUNK 128

int pgq_cancel(struct pgq *q, long long id, struct error *e)
{
	struct queue_job j;
	char b[32];
	const char *p[1] = { b };
	int rc, result = 0;

	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	if ((rc = pgq_load_job(q, id, 1, &j, e)) <= 0) {
		pgq_tx_rollback(q);
		return rc < 0 ? rc : error_set(e, KD_EINPUT, "no job %lld", id);
	}
	pgq_num(b, id);
	if (j.state == JOB_PENDING) {
		if ((rc = pgq_cmd(q, P_CANCEL_PENDING, 1, p, NULL, e)) == 0 &&
		    (rc = pgq_counter_add(q, "jobs_cancelled", 1, e)) == 0)
			rc = pgq_notify_final(q, &j, "cancelled", j.attempts, "cancelled", NULL, e);
	} else if (j.state == JOB_RUNNING) {
		rc = pgq_cmd(q, P_CANCEL_RUNNING, 1, p, NULL, e);
		result = 1;
	} else {
		rc = error_set(e, KD_EINPUT, "job %lld is %s: nothing to cancel", id, queue_state_name(j.state));
	}
	queue_job_release(&j);
	if (rc < 0) {
		pgq_tx_rollback(q);
		return rc;
	}
	if ((rc = pgq_tx_commit(q, e)) < 0)
		return rc;
	return result;
}

int pgq_retry(struct pgq *q, long long id, int force, long long *count, struct error *e)
{
	char b[32];
	const char *p[2] = { b, force ? "t" : "f" };
	long long n = 0, scans = 0;
	int rc;

	if (count)
		*count = 0;
	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	pgq_num(b, id);
	if (id > 0)
		rc = pgq_cmd(q, P_RETRY_ONE, 2, p, &n, e);
	else if ((rc = pgq_cmd(q, P_RETRY_DEAD, 0, NULL, &n, e)) == 0)
		rc = pgq_cmd(q, P_RETRY_DEAD_SCAN, 0, NULL, &scans, e);
	n += scans;
	if (rc == 0 && id > 0 && n == 0)
		rc = error_set(e, KD_EINPUT, "job %lld does not exist, is not %s, or is a scan while "
			       "another scan is pending%s", id, force ? "dead, cancelled or done" : "dead or cancelled",
			       force ? "" : " (--force also requeues done jobs)");
	if (rc == 0)
		rc = pgq_counter_add(q, "retries", (double)n, e);
	if (rc < 0) {
		pgq_tx_rollback(q);
		return rc;
	}
	if (n > 0)
		q->notify_jobs = 1;
	if ((rc = pgq_tx_commit(q, e)) < 0)
		return rc;
	if (count)
		*count = n;
	return 0;
}

/* One chunk: the read pass (fn deletes files while no row is locked), then
 * the deletes, which test the selection again (retry --force may have
 * requeued a job meanwhile).  *n gets the rows read, *stop fn's verdict. */
static int purge_chunk(struct pgq *q, const char *age, queue_purge_fn fn, void *ctx, long long *deleted,
		       int *n, int *stop, struct error *e)
{
	char lim[32], ids[CHUNK][32];
	const char *p[2] = { age, lim };
	PGresult *r;
	int rc;

	pgq_num(lim, CHUNK);
	if (!(r = pgq_run(q, P_PURGE_SEL, 2, p, e)))
		return e ? e->code : KD_EIO;
	*n = 0;
	for (int i = 0; i < PQntuples(r) && i < CHUNK; i++) {
		long long id = pgq_ll(r, i, 0, 0);
		if (fn && fn(ctx, id, PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1), e) != 0) {
			*stop = 1;
			break;
		}
		pgq_num(ids[(*n)++], id);
	}
	PQclear(r);
	if (*n == 0)
		return 0;
	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	for (int i = 0; i < *n; i++) {
		const char *d[2] = { ids[i], age };
		long long c = 0;
		if ((rc = pgq_cmd(q, P_PURGE_DEL, 2, d, &c, e)) < 0) {
			pgq_tx_rollback(q);
			return rc;
		}
		*deleted += c;
	}
	return pgq_tx_commit(q, e);
}

int pgq_purge(struct pgq *q, long long before, queue_purge_fn fn, void *ctx, long long *count,
	      struct error *e)
{
	char age[32];
	long long deleted = 0;
	int n = 0, stop = 0, rc;

	/* `before` is on this node's clock: as an age, the server's clock
	 * decides which rows are older. */
	pgq_num(age, (long long)time(NULL) - before);
	if (count)
		*count = 0;
	do {
		long long before_chunk = deleted;
		if ((rc = purge_chunk(q, age, fn, ctx, &deleted, &n, &stop, e)) < 0)
			return rc;
		if (count)
			*count += deleted - before_chunk;
	} while (!stop && n == CHUNK);
	return stop ? (e && e->code ? e->code : KD_EIO) : 0;
}

static int stats_counters(PGresult *r, struct queue_stats *s)
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
	};

	for (int i = 0; i < PQntuples(r); i++) {
		const char *name = PQgetvalue(r, i, 0);
		double v = strtod(PQgetvalue(r, i, 1), NULL);

		if (strcmp(name, "render_seconds") == 0)
			s->render_seconds = v;
		for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]); k++)
			if (strcmp(name, cs[k].name) == 0)
				*(long long *)((char *)s + cs[k].off) = (long long)v;
	}
	return 0;
}

int pgq_stats(struct pgq *q, struct queue_stats *s, struct error *e)
{
	static const enum pg_stmt order[] = { P_STATS_STATES, P_STATS_COUNTERS, P_STATS_CB, P_STATS_OLDEST,
					      P_STATS_RATE };
	int rc;

	memset(s, 0, sizeof(*s));
	/* One snapshot for all the numbers. */
	if ((rc = pgq_exec(q, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e)) < 0)
		return rc;
	q->in_tx = 1;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		PGresult *r = pgq_run(q, order[k], 0, NULL, e);

		if (!r) {
			pgq_tx_rollback(q);
			return e ? e->code : KD_EIO;
		}
		if (order[k] == P_STATS_STATES) {
			for (int i = 0; i < PQntuples(r); i++) {
				int st = queue_state_parse(PQgetvalue(r, i, 0));
				if (st >= 0)
					s->state[st] = pgq_ll(r, i, 1, 0);
			}
		} else if (order[k] == P_STATS_COUNTERS) {
			stats_counters(r, s);
		} else if (order[k] == P_STATS_CB) {
			s->callbacks_pending = pgq_ll(r, 0, 0, 0);
		} else if (order[k] == P_STATS_OLDEST) {
			s->oldest_pending = pgq_ll(r, 0, 0, 0);
		} else {
			s->done_last_minute = pgq_ll(r, 0, 0, 0);
			s->done_last_hour = pgq_ll(r, 0, 1, 0);
		}
		PQclear(r);
	}
	pgq_tx_rollback(q); /* read only: nothing to keep */
	return 0;
}

int pgq_get(struct pgq *q, long long id, struct queue_job *out, struct error *e)
{
	memset(out, 0, sizeof(*out));
	return pgq_load_job(q, id, 0, out, e);
}

int pgq_list(struct pgq *q, int state, long long limit, queue_list_fn fn, void *ctx, struct error *e)
{
	char lim[32], below[32];
	const char *p[3] = { state >= 0 && state < JOB_NSTATES ? queue_state_name(state) : NULL, lim, below };
	long long last = LLONG_MAX, left = limit > 0 ? limit : LLONG_MAX;
	int rc = 0, n;

	do {
		PGresult *r;

		pgq_num(lim, left < CHUNK ? left : CHUNK);
		pgq_num(below, last);
		if (!(r = pgq_run(q, P_LIST, 3, p, e)))
			return e ? e->code : KD_EIO;
		n = PQntuples(r);
		for (int i = 0; i < n && rc == 0; i++) {
			struct queue_job j;
			if ((rc = pgq_read_job(r, i, &j, e)) < 0)
				break;
			last = j.id;
			left--;
			rc = fn(ctx, &j);
			queue_job_release(&j);
		}
		PQclear(r);
	} while (rc == 0 && n == CHUNK && left > 0);
	return rc;
}

int pgq_source_has_job(struct pgq *q, long long source_id, struct error *e)
{
	char b[32];
	const char *p[1] = { b };
	PGresult *r;
	int found;

	pgq_num(b, source_id);
	if (!(r = pgq_run(q, P_SOURCE, 1, p, e)))
		return e ? e->code : KD_EIO;
	found = PQntuples(r) > 0;
	PQclear(r);
	return found;
}

/* ---- callback outbox --------------------------------------------------------- */

/* skip as the two array literals P_OB_NEXT binds; malloc'ed, NULL on OOM. */
static char *skip_array(const struct queue_outbox_skip *skip, int origins)
{
	size_t n = skip ? (origins ? skip->n_origins : skip->n_ids) : 0, cap = 3;
	char *s, *w;

	for (size_t i = 0; i < n; i++)
		cap += origins ? 2 * strlen(skip->origins[i]) + 3 : 24;
	if (!(s = malloc(cap)))
		return NULL;
	w = s;
	*w++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*w++ = ',';
		if (!origins) {
			w += sprintf(w, "%lld", skip->ids[i]);
			continue;
		}
		*w++ = '"';
		for (const char *c = skip->origins[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				*w++ = '\\';
			*w++ = *c;
		}
		*w++ = '"';
	}
	*w++ = '}';
	*w = '\0';
	return s;
}

int pgq_outbox_next(struct pgq *q, const struct queue_outbox_skip *skip, struct queue_callback *out,
		    struct error *e)
{
	char *ids = skip_array(skip, 0), *origins = skip_array(skip, 1);
	const char *p[2] = { ids, origins };
	PGresult *r = NULL;
	int rc = 0;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!ids || !origins) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
		goto out;
	}
	if (!(r = pgq_run(q, P_OB_NEXT, 2, p, e))) {
		rc = e ? e->code : KD_EIO;
		goto out;
	}
	if (PQntuples(r) == 0)
		goto out;
	n = (size_t)PQgetlength(r, 0, 3);
	out->id = pgq_ll(r, 0, 0, 0);
	out->job_id = pgq_ll(r, 0, 1, 0);
	out->url = strdup(PQgetvalue(r, 0, 2));
	if ((out->body = malloc(n + 1)) != NULL) {
		memcpy(out->body, PQgetvalue(r, 0, 3), n);
		out->body[n] = '\0';
	}
	out->body_len = n;
	out->attempts = (int)pgq_ll(r, 0, 4, 0);
	out->next_at = pgq_ll(r, 0, 5, 0);
	out->created_at = pgq_ll(r, 0, 6, 0);
	if (!out->url || !out->body) {
		queue_callback_release(out);
		rc = error_set(e, KD_ENOMEM, "out of memory");
	} else {
		rc = 1;
	}
out:
	PQclear(r);
	free(ids);
	free(origins);
	return rc;
}

static int outbox_update(struct pgq *q, enum pg_stmt s, int n, const char *const *p, const char *counter,
			 long long id, struct error *e)
{
	long long changed = 0;
	int rc;

	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	if ((rc = pgq_cmd(q, s, n, p, &changed, e)) == 0 && changed == 0)
		rc = error_set(e, KD_EINPUT, "callback %lld is not pending", id);
	if (rc == 0 && counter)
		rc = pgq_counter_add(q, counter, 1, e);
	if (rc < 0) {
		pgq_tx_rollback(q);
		return rc;
	}
	return pgq_tx_commit(q, e);
}

int pgq_outbox_done(struct pgq *q, long long id, int http_status, struct error *e)
{
	char b[32], st[32];
	const char *p[2] = { b, http_status > 0 ? st : NULL };

	pgq_num(b, id);
	pgq_num(st, http_status);
	return outbox_update(q, P_OB_DONE, 2, p, "callbacks_delivered", id, e);
}

int pgq_outbox_failed(struct pgq *q, long long id, int http_status, const char *msg,
		      long long next_at, int give_up, struct error *e)
{
	char b[32], st[32], delay[32];
	long long d = next_at - (long long)time(NULL); /* a delay: the server's clock applies it */
	const char *p[5] = { b, http_status > 0 ? st : NULL, msg ? msg : "failed", give_up ? "t" : "f", delay };

	pgq_num(b, id);
	pgq_num(st, http_status);
	pgq_num(delay, d > 0 ? d : 0);
	return outbox_update(q, P_OB_FAILED, 5, p, give_up ? "callbacks_failed" : NULL, id, e);
}

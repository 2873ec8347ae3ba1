/* queue_pg_read.c - the queue on PostgreSQL: reading (stats, jobs,
 * attempts) and the callback outbox.  See queue_pg.h. */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "queue_pg.h"

#define PAGE 128 /* rows per page when listing: bounded memory */

static void stats_counters(PGresult *r, struct queue_stats *s)
{
	for (int i = 0; i < PQntuples(r); i++)
		queue_stats_counter(s, PQgetvalue(r, i, 0), strtod(PQgetvalue(r, i, 1), NULL));
}

static void stats_row(enum pg_stmt s, PGresult *r, struct queue_stats *st)
{
	switch (s) {
	case P_STATS_STATES:
		for (int i = 0; i < PQntuples(r); i++) {
			int k = queue_state_parse(PQgetvalue(r, i, 0));
			if (k >= 0)
				st->state[k] = pg_ll(r, i, 1, 0);
		}
		break;
	case P_STATS_COUNTERS: stats_counters(r, st); break;
	case P_STATS_CB: st->callbacks_pending = pg_ll(r, 0, 0, 0); break;
	case P_STATS_OLDEST: st->oldest_pending = pg_ll(r, 0, 0, 0); break;
	default:
		st->done_last_minute = pg_ll(r, 0, 0, 0);
		st->done_last_hour = pg_ll(r, 0, 1, 0);
		break;
	}
}

int pg_stats(struct queue *q, struct queue_stats *s, struct error *e)
{
	static const enum pg_stmt order[] = { P_STATS_STATES, P_STATS_COUNTERS, P_STATS_CB, P_STATS_OLDEST,
					      P_STATS_RATE };
	struct pg *x = q->impl;
	int rc;

	/* One snapshot for all the numbers. */
	if ((rc = pg_exec(q, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", e)) < 0)
		return rc;
	x->in_tx = 1;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		PGresult *r = pg_run(q, order[k], 0, NULL, e);

		if (!r) {
			rc = e->code;
			break;
		}
		stats_row(order[k], r, s);
		PQclear(r);
	}
	q->ops->rollback(q); /* read only: nothing to keep */
	return rc;
}

int pg_list(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx, struct error *e)
{
	char lim[32], below[32];
	const char *p[3] = { state >= 0 && state < JOB_NSTATES ? queue_state_names[state] : NULL, lim, below };
	long long last = LLONG_MAX, left = limit > 0 ? limit : LLONG_MAX;
	int rc = 0, n;

	do {
		PGresult *r;

		pg_num(lim, left < PAGE ? left : PAGE);
		pg_num(below, last);
		if (!(r = pg_run(q, P_LIST, 3, p, e)))
			return e->code;
		n = PQntuples(r);
		for (int i = 0; i < n && rc == 0; i++) {
			struct queue_job j;
			if ((rc = pg_read_job(r, i, &j, e)) < 0)
				break;
			last = j.id;
			left--;
			rc = fn(ctx, &j);
			queue_job_release(&j);
		}
		PQclear(r);
	} while (rc == 0 && n == PAGE && left > 0);
	return rc;
}

int pg_attempts(struct queue *q, long long job_id, queue_attempt_fn fn, void *ctx, struct error *e)
{
	char b[32];
	const char *p[1] = { b };
	PGresult *r;
	int rc = 0;

	pg_num(b, job_id);
	if (!(r = pg_run(q, P_ATT_LIST, 1, p, e)))
		return e->code;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		struct queue_attempt a;

		memset(&a, 0, sizeof(a));
		a.job_id = pg_ll(r, i, 0, 0);
		a.n = (int)pg_ll(r, i, 1, 0);
		a.started_at = pg_ll(r, i, 2, 0);
		a.ended_at = pg_ll(r, i, 3, 0);
		pg_read_claimer(r, i, 4, &a.claimer);
		snprintf(a.outcome, sizeof(a.outcome), "%s", PQgetvalue(r, i, 8));
		a.error = PQgetisnull(r, i, 9) ? NULL : strdup(PQgetvalue(r, i, 9));
		rc = fn(ctx, &a);
		free(a.error);
	}
	PQclear(r);
	return rc;
}

int pg_source_has_job(struct queue *q, long long source_id, struct error *e)
{
	char b[32];
	const char *p[1] = { b };
	PGresult *r;
	int found;

	pg_num(b, source_id);
	if (!(r = pg_run(q, P_SOURCE, 1, p, e)))
		return e->code;
	found = PQntuples(r) > 0;
	PQclear(r);
	return found;
}

/* ---- callback outbox ----------------------------------------------------------------- */

int pg_outbox_add(struct queue *q, long long job_id, const char *url, const char *body, size_t len,
		  long long now, struct error *e)
{
	char b[32], t[32], *copy;
	const char *p[4] = { b, url, NULL, t };
	int rc;

	/* A text column: the body is krigd's own JSON, without NUL bytes. */
	if (memchr(body, '\0', len))
		return error_set(e, KD_EINPUT, "callback body holds a NUL byte");
	if (!(copy = malloc(len + 1)))
		return error_set(e, KD_ENOMEM, "out of memory");
	memcpy(copy, body, len);
	copy[len] = '\0';
	p[2] = copy;
	pg_num(b, job_id);
	pg_num(t, now);
	rc = pg_cmd(q, P_CB_INSERT, 4, p, NULL, e);
	free(copy);
	return rc;
}

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

static int read_callback(PGresult *r, struct queue_callback *out, struct error *e)
{
	size_t n = (size_t)PQgetlength(r, 0, 3);

	out->id = pg_ll(r, 0, 0, 0);
	out->job_id = pg_ll(r, 0, 1, 0);
	out->url = strdup(PQgetvalue(r, 0, 2));
	if ((out->body = malloc(n + 1)) != NULL) {
		memcpy(out->body, PQgetvalue(r, 0, 3), n);
		out->body[n] = '\0';
	}
	out->body_len = n;
	out->attempts = (int)pg_ll(r, 0, 4, 0);
	out->next_at = pg_ll(r, 0, 5, 0);
	out->created_at = pg_ll(r, 0, 6, 0);
	if (!out->url || !out->body) {
		queue_callback_release(out);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	return 1;
}

int pg_outbox_next(struct queue *q, long long now, const struct queue_outbox_skip *skip,
		   struct queue_callback *out, struct error *e)
{
	char t[32], *ids = skip_array(skip, 0), *origins = skip_array(skip, 1);
	const char *p[3] = { t, ids, origins };
	PGresult *r = NULL;
	int rc = 0;

	pg_num(t, now);
	if (!ids || !origins)
		rc = error_set(e, KD_ENOMEM, "out of memory");
	else if (!(r = pg_run(q, P_OB_NEXT, 3, p, e)))
		rc = e->code;
	else if (PQntuples(r) > 0)
		rc = read_callback(r, out, e);
	PQclear(r);
	free(ids);
	free(origins);
	return rc;
}

int pg_outbox_due(struct queue *q, long long now, long long *at, struct error *e)
{
	char t[32];
	const char *p[1] = { t };
	PGresult *r;

	pg_num(t, now);
	if (!(r = pg_run(q, P_OB_DUE, 1, p, e)))
		return e->code;
	*at = PQntuples(r) ? pg_ll(r, 0, 0, 0) : 0;
	PQclear(r);
	return 0;
}

int pg_outbox_mark(struct queue *q, long long id, long long now, int done, int status, const char *msg,
		   long long next_at, int give_up, struct error *e)
{
	char b[32], t[32], st[32], na[32];
	const char *p[6] = { b, t, status > 0 ? st : NULL, msg ? msg : "failed", na, give_up ? "t" : "f" };
	long long n = 0;
	int rc;

	pg_num(b, id);
	pg_num(t, now);
	pg_num(st, status);
	pg_num(na, next_at);
	rc = pg_cmd(q, done ? P_OB_DONE : P_OB_FAILED, done ? 3 : 6, p, &n, e);
	return rc < 0 ? rc : n > 0;
}

/* queue_sqlite_read.c - the SQLite backend's reading (stats, lists,
 * attempts) and callback outbox; statements and helpers in queue_sqlite.c. */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "queue_sqlite.h"

int sq_attempts(struct queue *q, long long job_id, queue_attempt_fn fn, void *ctx,
		       struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_ATT_LIST, e);
	int rc, r = 0;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, job_id);
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		struct queue_attempt a;
		const char *s = (const char *)sqlite3_column_text(p, 8);

		memset(&a, 0, sizeof(a));
		a.job_id = sqlite3_column_int64(p, 0);
		a.n = sqlite3_column_int(p, 1);
		a.started_at = sq_col_ll(p, 2, 0);
		a.ended_at = sq_col_ll(p, 3, 0);
		sq_read_claimer(p, 4, &a.claimer);
		snprintf(a.outcome, sizeof(a.outcome), "%s", s ? s : "");
		a.error = sq_col_strdup(p, 9, NULL);
		r = fn(ctx, &a);
		free(a.error);
		if (r != 0)
			break;
	}
	sq_done(p);
	if (r != 0)
		return r;
	return rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "attempts");
}

/* ---- reading ------------------------------------------------------------- */

static int stats_counters(struct queue *q, struct queue_stats *s, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_STATS_COUNTERS, e);
	int rc;

	if (!p)
		return sq_fail(e);
	while ((rc = sqlite3_step(p)) == SQLITE_ROW)
		queue_stats_counter(s, (const char *)sqlite3_column_text(p, 0), sqlite3_column_double(p, 1));
	sq_done(p);
	return rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "stats");
}

/* One row of up to two integers from statement s. */
static int one_row(struct queue *q, enum stmt s, long long *a, long long *b, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, s, e);
	int rc;

	if (!p)
		return sq_fail(e);
	if ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		*a = sq_col_ll(p, 0, 0);
		if (b)
			*b = sq_col_ll(p, 1, 0);
	}
	sq_done(p);
	return rc == SQLITE_ROW ? 0 : sq_dberr(q, rc, e, "stats");
}

int sq_stats(struct queue *q, struct queue_stats *s, struct error *e)
{
	sqlite3 *db = SQ(q)->db;
	sqlite3_stmt *p;
	int rc;

	/* One read transaction, so the numbers are one snapshot. */
	if ((rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL)) != SQLITE_OK)
		return sq_dberr(q, rc, e, "stats");
	if (!(p = sq_st(q, S_STATS_STATES, e)))
		goto fail;
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		int i = queue_state_parse((const char *)sqlite3_column_text(p, 0));
		if (i >= 0)
			s->state[i] = sqlite3_column_int64(p, 1);
	}
	sq_done(p);
	if (rc != SQLITE_DONE) {
		sq_dberr(q, rc, e, "stats");
		goto fail;
	}
	if (stats_counters(q, s, e) < 0 || one_row(q, S_STATS_CB, &s->callbacks_pending, NULL, e) < 0 ||
	    one_row(q, S_STATS_OLDEST, &s->oldest_pending, NULL, e) < 0 ||
	    one_row(q, S_STATS_RATE, &s->done_last_minute, &s->done_last_hour, e) < 0)
		goto fail;
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return 0;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return sq_fail(e);
}

int sq_list(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx,
		   struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_LIST, e);
	int rc, r = 0;

	if (!p)
		return sq_fail(e);
	if (state >= 0 && state < JOB_NSTATES)
		sqlite3_bind_text(p, 1, queue_state_names[state], -1, SQLITE_STATIC);
	sqlite3_bind_int64(p, 2, limit > 0 ? limit : -1);
	while ((rc = sqlite3_step(p)) == SQLITE_ROW) {
		struct queue_job j;
		if ((r = sq_read_job(p, &j, e)) < 0)
			break;
		r = fn(ctx, &j);
		queue_job_release(&j);
		if (r != 0)
			break;
	}
	sq_done(p);
	if (r != 0)
		return r;
	return rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "list");
}

int sq_source_has_job(struct queue *q, long long source_id, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_SOURCE, e);
	int rc;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, source_id);
	rc = sqlite3_step(p);
	sq_done(p);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "source lookup");
}

/* ---- callback outbox ----------------------------------------------------- */

int sq_outbox_add(struct queue *q, long long job_id, const char *url, const char *body,
			 size_t len, long long now, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_CB_INSERT, e);

	if (!p)
		return sq_fail(e);
	if (len > (size_t)0x7fffffff)
		return error_set(e, KD_ELIMIT, "callback body too large");
	sqlite3_bind_int64(p, 1, job_id);
	sqlite3_bind_text(p, 2, url, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(p, 3, body, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(p, 4, now);
	return sq_run(q, S_CB_INSERT, e);
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

static int read_callback(sqlite3_stmt *p, struct queue_callback *out, struct error *e)
{
	const void *b = sqlite3_column_blob(p, 3);
	size_t n = (size_t)sqlite3_column_bytes(p, 3);

	out->id = sqlite3_column_int64(p, 0);
	out->job_id = sqlite3_column_int64(p, 1);
	out->url = sq_col_strdup(p, 2, NULL);
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
	if (!out->url || !out->body) {
		queue_callback_release(out);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	return 1;
}

int sq_outbox_next(struct queue *q, long long now, const struct queue_outbox_skip *skip,
			  struct queue_callback *out, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_OB_NEXT, e);
	char *ids, *origins;
	int rc;

	if (!p)
		return sq_fail(e);
	if (skip_json(skip, &ids, &origins) < 0) {
		free(ids);
		free(origins);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	sqlite3_bind_int64(p, 1, now);
	sqlite3_bind_text(p, 2, ids, -1, free);
	sqlite3_bind_text(p, 3, origins, -1, free);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW)
		rc = read_callback(p, out, e);
	else
		rc = rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "outbox");
	sq_done(p);
	return rc;
}

int sq_outbox_due(struct queue *q, long long now, long long *at, struct error *e)
{
	sqlite3_stmt *p = sq_st(q, S_OB_DUE, e);
	int rc;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, now);
	rc = sqlite3_step(p);
	if (rc == SQLITE_ROW)
		*at = sqlite3_column_int64(p, 0); /* NULL: 0 */
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_dberr(q, rc, e, "outbox");
	sq_done(p);
	return rc;
}

int sq_outbox_mark(struct queue *q, long long id, long long now, int done, int status,
			  const char *msg, long long next_at, int give_up, struct error *e)
{
	enum stmt s = done ? S_OB_DONE : S_OB_FAILED;
	sqlite3_stmt *p = sq_st(q, s, e);
	int rc;

	if (!p)
		return sq_fail(e);
	sqlite3_bind_int64(p, 1, id);
	sqlite3_bind_int64(p, 2, now);
	if (status > 0)
		sqlite3_bind_int(p, 3, status);
	if (!done) {
		sqlite3_bind_text(p, 4, msg ? msg : "failed", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(p, 5, next_at);
		sqlite3_bind_int(p, 6, give_up != 0);
	}
	return (rc = sq_run(q, s, e)) < 0 ? rc : sq_changes(q) > 0;
}

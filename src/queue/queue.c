/* queue.c - the job rules, on any backend; see queue.h and queue_impl.h.
 *
 * States, leases and tokens, backoff, dead, outbox rows, idempotency keys,
 * scan coalescing and the attempt history are decided here; the backend
 * (queue_sqlite.c, ...) only stores rows. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>

#include "error.h"

#include "queue_impl.h"

const char *const queue_state_names[JOB_NSTATES] = {
	"pending", "running", "done", "dead", "cancelled",
};

const char *queue_state_name(int state)
{
	return state >= 0 && state < JOB_NSTATES ? queue_state_names[state] : "unknown";
}

int queue_state_parse(const char *name)
{
	for (int i = 0; i < JOB_NSTATES; i++)
		if (name && strcmp(name, queue_state_names[i]) == 0)
			return i;
	return -1;
}

void queue_opts_default(struct queue_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->durability = QUEUE_DURABLE_POWER;
	o->busy_timeout_ms = 5000;
	o->backoff_base = 2;
	o->backoff_cap = 600;
	o->backoff_jitter = 0.2;
}

/* ---- open, close --------------------------------------------------------- */

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int queue_spec_is_pg(const char *spec)
{
	return spec && (has_prefix(spec, "postgresql://") || has_prefix(spec, "postgres://"));
}

int queue_open(struct queue **qp, const char *spec, const struct queue_opts *o, struct error *e)
{
	struct queue *q;
	int rc;

	*qp = NULL;
	if (!spec || !*spec)
		return error_set(e, KD_EINPUT, "no queue database given (--db)");
	if (!(q = calloc(1, sizeof(*q))))
		return error_set(e, KD_ENOMEM, "out of memory");
	if (o)
		q->opts = *o;
	else
		queue_opts_default(&q->opts);
	if (getrandom(&q->rng, sizeof(q->rng), 0) != (ssize_t)sizeof(q->rng))
		q->rng = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
	q->rng |= 1; /* xorshift must not start at 0 */
	queue_claimer_self(&q->self);
	if (queue_spec_is_pg(spec)) {
#ifdef HAVE_POSTGRESQL
		rc = queue_pg_open(q, spec, e);
#else
		rc = error_set(e, KD_EINPUT, "%s: this krigd was built without PostgreSQL "
			       "(configure --with-postgresql, libpq-dev)", "--db postgresql://...");
#endif
	} else {
		rc = queue_sqlite_open(q, has_prefix(spec, "sqlite:") ? spec + 7 : spec, e);
	}
	if (rc < 0) {
		free(q);
		return rc;
	}
	*qp = q;
	return 0;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	if (q->ops)
		q->ops->close(q);
	free(q);
}

int queue_idle(struct queue *q, struct error *e)
{
	return q->ops->idle(q, e);
}

long long queue_now(struct queue *q)
{
	return q->ops->now(q);
}

const char *queue_uid(const struct queue *q)
{
	return q->uid;
}

void queue_set_notify(struct queue *q, queue_notify_fn fn, void *ctx)
{
	q->notify = fn;
	q->notify_ctx = ctx;
}

int queue_wake_fd(struct queue *q, struct error *e)
{
	return q->ops->wake_fd(q, e);
}

void queue_wake_clear(struct queue *q)
{
	q->ops->wake_clear(q);
}

/* ---- transactions -------------------------------------------------------- */

static int tx_begin(struct queue *q, struct error *e)
{
	q->dirty = 0;
	return q->ops->begin(q, e);
}

/* Commit, then wake the watchers if the transaction made work. */
static int tx_commit(struct queue *q, struct error *e)
{
	int rc = q->ops->commit(q, e);

	if (rc == 0 && q->dirty)
		q->ops->signal(q);
	q->dirty = 0;
	return rc;
}

static void tx_rollback(struct queue *q)
{
	q->dirty = 0;
	q->ops->rollback(q);
}

/* Commit when rc is not an error, else roll back; rc or the commit's error. */
static int tx_end(struct queue *q, int rc, struct error *e)
{
	if (rc < 0) {
		tx_rollback(q);
		return rc;
	}
	int c = tx_commit(q, e);
	return c < 0 ? c : rc;
}

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

/* ---- ingest: idempotency keys, scan coalescing ---------------------------- */

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

int queue_payload_same(const void *old, size_t oldlen, const char *new, size_t newlen)
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
	long long now = q->ops->now(q);
	int rc;

	*existed = 0;
	if (j->key) {
		char *old = NULL;
		size_t oldlen = 0;

		if ((rc = q->ops->key_find(q, j->key, id, &old, &oldlen, e)) < 0)
			return rc;
		if (rc == 1) {
			int same = queue_payload_same(old, oldlen, j->payload, j->payload_len);
			free(old);
			if (!same)
				return error_set(e, KD_EINPUT, "key already used with another payload");
			*existed = 1;
			return 0;
		}
	}
	if ((rc = q->ops->insert(q, j, j->run_at > 0 ? j->run_at : now, now, id, e)) < 0)
		return rc;
	q->dirty = 1;
	return q->ops->counter_add(q, "jobs_accepted", 1, e);
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
	rc = ping ? q->ops->scan_pending(q, id, e) : 0;
	if (rc == 1) {
		*existed = 1;
		rc = 0;
	} else if (rc == 0) {
		rc = enqueue_locked(q, j, id, existed, e);
	}
	if (own)
		return tx_end(q, rc, e);
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

/* The rules' way, one job after another, for a backend without insert_many. */
static int enqueue_each(struct queue *q, const struct queue_new_job *jobs, size_t n,
			struct queue_enqueued *res, struct error *e)
{
	for (size_t i = 0; i < n; i++) {
		int ping = jobs[i].kind && strcmp(jobs[i].kind, "scan") == 0, rc;
		struct error je = { 0 };

		rc = ping ? q->ops->scan_pending(q, &res[i].id, &je) : 0;
		if (rc == 1) {
			res[i].existed = 1;
			continue;
		}
		if (rc == 0)
			rc = enqueue_locked(q, &jobs[i], &res[i].id, &res[i].existed, &je);
		if (rc == KD_EINPUT) {
			res[i].code = rc;
			snprintf(res[i].msg, sizeof(res[i].msg), "%.*s", (int)sizeof(res[i].msg) - 1, je.msg);
		} else if (rc < 0) {
			*e = je;
			return rc;
		}
	}
	return 0;
}

int queue_enqueue_many(struct queue *q, const struct queue_new_job *jobs, size_t n,
		       struct queue_enqueued *res, struct error *e)
{
	int rc, own = !q->in_group, added = 0;

	memset(res, 0, n * sizeof(*res));
	for (size_t i = 0; i < n; i++)
		if (jobs[i].payload_len > INT_MAX)
			return error_set(e, KD_ELIMIT, "payload too large");
	if (own && (rc = tx_begin(q, e)) < 0)
		return rc;
	if (!q->ops->insert_many) {
		rc = enqueue_each(q, jobs, n, res, e);
	} else if ((rc = q->ops->insert_many(q, jobs, n, res, &added, e)) == 0 && added > 0) {
		q->dirty = 1;
		rc = q->ops->counter_add(q, "jobs_accepted", added, e);
	}
	if (own)
		return tx_end(q, rc, e);
	return rc;
}

/* ---- rows ---------------------------------------------------------------- */

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

void queue_callback_release(struct queue_callback *c)
{
	if (!c)
		return;
	free(c->url);
	free(c->body);
	memset(c, 0, sizeof(*c));
}

/* Begin a transaction, load a running job and check its lease token; on
 * any error the transaction is rolled back: KD_ELEASE when it is not the
 * current claim (expired and reclaimed, finished, or never ours). */
static int begin_leased(struct queue *q, long long id, const char *token, struct queue_job *j,
			struct error *e)
{
	int rc;

	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if ((rc = q->ops->get(q, id, j, e)) < 0) {
		tx_rollback(q);
		return rc;
	}
	if (rc == 0 || j->state != JOB_RUNNING || !token || strcmp(j->lease_token, token) != 0) {
		if (rc)
			queue_job_release(j);
		tx_rollback(q);
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
	rc = q->ops->outbox_add(q, j->id, url, body ? body : "", body ? strlen(body) : 0, now, e);
	free(url);
	free(body);
	if (rc == 0)
		q->dirty = 1;
	return rc;
}

/* ---- leases, tokens, backoff --------------------------------------------- */

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
	int rc;

	memset(out, 0, sizeof(*out));
	make_token(q, token);
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	rc = q->ops->claim(q, now, lease_seconds, token, &q->self, out, e);
	if (rc == 1) {
		int arc = q->ops->attempt_start(q, out->id, out->attempts, now, &q->self, e);
		if (arc < 0) {
			queue_job_release(out);
			rc = arc;
		}
	}
	rc = tx_end(q, rc, e);
	if (rc < 0)
		queue_job_release(out);
	return rc;
}

int queue_renew(struct queue *q, long long id, const char *token, long long now, int lease_seconds,
		struct error *e)
{
	int rc = q->ops->renew(q, id, token ? token : "", now, lease_seconds, e);

	if (rc < 0)
		return rc;
	return rc == 1 ? 0 : error_set(e, KD_ELEASE, "job %lld: lease lost", id);
}

int queue_cancel_requested(struct queue *q, long long id, const char *token, struct error *e)
{
	return q->ops->cancel_flag(q, id, token ? token : "", e);
}

int queue_finish(struct queue *q, long long id, const char *token, long long now,
		 const char *result_json, double render_seconds, struct error *e)
{
	struct queue_job j;
	int rc;

	if ((rc = begin_leased(q, id, token, &j, e)) < 0)
		return rc;
	if ((rc = q->ops->set_done(q, id, now, result_json, e)) < 0 ||
	    (rc = q->ops->attempt_end(q, id, j.attempts, now, "done", NULL, e)) < 0 ||
	    (rc = notify_final(q, &j, "done", j.attempts, NULL, result_json, now, e)) < 0 ||
	    (rc = q->ops->counter_add(q, "jobs_done", 1, e)) < 0 ||
	    (render_seconds > 0 && (rc = q->ops->counter_add(q, "render_seconds", render_seconds, e)) < 0)) {
		queue_job_release(&j);
		tx_rollback(q);
		return rc;
	}
	queue_job_release(&j);
	return tx_commit(q, e);
}

/* The state a failed attempt of j leads to (the rules of queue_fail). */
static int next_state(struct queue *q, const struct queue_job *j, int code, long long now,
		      long long *run_at)
{
	*run_at = now;
	if (code == KD_ECANCEL || j->cancel_requested)
		return JOB_CANCELLED;
	if (code == KD_EINPUT || code == KD_ELIMIT || j->attempts >= j->max_attempts)
		return JOB_DEAD;
	*run_at = now + queue_backoff_delay(q, j->attempts);
	return JOB_PENDING;
}

/* A failed attempt of job j (loaded in this transaction): decide its next
 * state and write it, with the attempt's end, counters and, when final, the
 * callback.  lost: the claimer vanished (reclaim), not a failure it saw. */
static int fail_locked(struct queue *q, const struct queue_job *j, long long now, int code,
		       const char *msg, int lost, int *new_state, struct error *e)
{
	struct queue_fail_row r = { .error = msg && *msg ? msg : error_name(code), .now = now };
	static const char *const outcome[JOB_NSTATES] = {
		[JOB_PENDING] = "failed", [JOB_DEAD] = "dead", [JOB_CANCELLED] = "cancelled",
	};
	int rc;

	r.state = next_state(q, j, code, now, &r.run_at);
	if (r.state == JOB_CANCELLED && code != KD_ECANCEL)
		r.error = "cancelled";
	if ((rc = q->ops->set_failed(q, j->id, &r, e)) < 0 ||
	    (rc = q->ops->attempt_end(q, j->id, j->attempts, now, lost ? "lost" : outcome[r.state],
				      r.error, e)) < 0)
		return rc;
	if (r.state != JOB_CANCELLED && (rc = q->ops->counter_add(q, "attempts_failed", 1, e)) < 0)
		return rc;
	if (r.state == JOB_DEAD && (rc = q->ops->counter_add(q, "jobs_dead", 1, e)) < 0)
		return rc;
	if (r.state == JOB_CANCELLED && (rc = q->ops->counter_add(q, "jobs_cancelled", 1, e)) < 0)
		return rc;
	if (r.state != JOB_PENDING &&
	    (rc = notify_final(q, j, queue_state_names[r.state], j->attempts, r.error, NULL, now, e)) < 0)
		return rc;
	if (r.state == JOB_PENDING && r.run_at <= now)
		q->dirty = 1;
	if (new_state)
		*new_state = r.state;
	return 0;
}

int queue_fail(struct queue *q, long long id, const char *token, long long now, int code,
	       const char *msg, int *new_state, struct error *e)
{
	struct queue_job j;
	int rc;

	if ((rc = begin_leased(q, id, token, &j, e)) < 0)
		return rc;
	rc = fail_locked(q, &j, now, code, msg, 0, new_state, e);
	queue_job_release(&j);
	return tx_end(q, rc, e);
}

int queue_release(struct queue *q, long long id, const char *token, long long now, long long run_at,
		  const char *msg, struct error *e)
{
	struct queue_fail_row r = { .state = JOB_PENDING, .error = msg, .run_at = run_at, .now = now,
				    .unspend = 1 };
	struct queue_job j;
	int rc;

	if ((rc = begin_leased(q, id, token, &j, e)) < 0)
		return rc;
	if ((rc = q->ops->set_failed(q, id, &r, e)) == 0)
		rc = q->ops->attempt_end(q, id, j.attempts, now, "released", msg, e);
	queue_job_release(&j);
	return tx_end(q, rc, e);
}

int queue_set_paused(struct queue *q, long long until, struct error *e)
{
	/* A backend without gauges keeps no pause for stats; the drain pauses
	 * all the same. */
	return q->ops->gauge_set ? q->ops->gauge_set(q, "paused_until", until, e) : 0;
}

#define CHUNK 128 /* rows per transaction in bulk operations: bounded memory */

/* One chunk of running jobs after *after: reclaim those whose lease expired
 * or (dead_claimers) whose claimer is gone.  Returns how many were looked
 * at (CHUNK: there may be more), *taken += reclaimed. */
static int reclaim_chunk(struct queue *q, long long now, int dead_claimers, long long *after,
			 int *taken, struct error *e)
{
	long long ids[CHUNK];
	struct queue_claimer who[CHUNK];
	int n, rc = 0;

	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if ((n = q->ops->running(q, now, !dead_claimers, *after, ids, who, CHUNK, e)) < 0) {
		tx_rollback(q);
		return n;
	}
	for (int i = 0; i < n && rc >= 0; i++) {
		struct queue_job j;
		*after = ids[i];
		if ((rc = q->ops->get(q, ids[i], &j, e)) <= 0)
			continue;
		if (j.state == JOB_RUNNING && (j.lease_until < now || queue_claimer_gone(&who[i]))) {
			rc = fail_locked(q, &j, now, KD_EIO, j.lease_until < now ? "worker died (lease expired)" :
					 "worker died (its process is gone)", 1, NULL, e);
			if (rc >= 0)
				(*taken)++;
		}
		queue_job_release(&j);
	}
	rc = tx_end(q, rc, e);
	return rc < 0 ? rc : n;
}

int queue_reclaim_expired(struct queue *q, long long now, int dead_claimers, struct error *e)
{
	long long after = 0;
	int taken = 0, n;

	do {
		if ((n = reclaim_chunk(q, now, dead_claimers, &after, &taken, e)) < 0)
			return n;
	} while (n == CHUNK);
	return taken;
}

/* ---- operating ----------------------------------------------------------- */

int queue_cancel(struct queue *q, long long id, long long now, struct error *e)
{
	struct queue_job j;
	int rc;

	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if ((rc = q->ops->get(q, id, &j, e)) <= 0) {
		tx_rollback(q);
		return rc < 0 ? rc : error_set(e, KD_EINPUT, "no job %lld", id);
	}
	if (j.state == JOB_PENDING) {
		if ((rc = q->ops->cancel_pending(q, id, now, e)) >= 0 &&
		    (rc = q->ops->counter_add(q, "jobs_cancelled", 1, e)) >= 0)
			rc = notify_final(q, &j, "cancelled", j.attempts, "cancelled", NULL, now, e);
	} else if (j.state == JOB_RUNNING) {
		if ((rc = q->ops->cancel_running(q, id, now, e)) >= 0)
			rc = 1;
		q->dirty = 1; /* the drain running it looks at once */
	} else {
		rc = error_set(e, KD_EINPUT, "job %lld is %s: nothing to cancel", id, queue_state_name(j.state));
	}
	queue_job_release(&j);
	return tx_end(q, rc, e);
}

int queue_retry(struct queue *q, long long id, int force, long long now, long long *count,
		struct error *e)
{
	long long n = 0;
	int rc;

	if (count)
		*count = 0;
	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	if ((rc = q->ops->requeue(q, id, force, now, &n, e)) < 0) {
		tx_rollback(q);
		return rc;
	}
	if (id > 0 && n == 0) {
		tx_rollback(q);
		return error_set(e, KD_EINPUT, "job %lld does not exist, is not %s, or is a scan while "
				 "another scan is pending%s", id, force ? "dead, cancelled or done" : "dead or cancelled",
				 force ? "" : " (--force also requeues done jobs)");
	}
	if (n > 0)
		q->dirty = 1;
	rc = tx_end(q, q->ops->counter_add(q, "retries", (double)n, e), e);
	if (rc == 0 && count)
		*count = n;
	return rc;
}

int queue_purge(struct queue *q, long long before, queue_purge_fn fn, void *ctx, long long *count,
		struct error *e)
{
	long long ids[CHUNK];
	int kept[CHUNK], n, rc, stop = 0;

	if (count)
		*count = 0;
	do {
		/* Read-only pass: fn (deleting files) runs while no write lock is held. */
		if ((n = q->ops->purge_scan(q, before, CHUNK, fn, ctx, ids, kept, &stop, e)) < 0)
			return n;
		if (n > 0) {
			long long deleted = 0;

			if ((rc = tx_begin(q, e)) < 0)
				return rc;
			for (int i = 0; i < n; i++) {
				if ((rc = q->ops->purge_delete(q, ids[i], before, kept[i], e)) < 0) {
					tx_rollback(q);
					return rc;
				}
				deleted += rc;
			}
			if ((rc = tx_commit(q, e)) < 0)
				return rc;
			if (count)
				*count += deleted;
		}
	} while (!stop && n == CHUNK);
	return stop ? (e && e->code ? e->code : KD_EIO) : 0;
}

int queue_files_owned(struct queue *q, long long id, struct error *e)
{
	return q->ops->files_owned(q, id, e);
}

/* ---- reading ------------------------------------------------------------- */

/* One row of the counters table into s: the totals by name, render_seconds
 * and the paused_until gauge; an unknown name is ignored. */
void queue_stats_counter(struct queue_stats *s, const char *name, double v)
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

	if (!name)
		return;
	if (strcmp(name, "render_seconds") == 0)
		s->render_seconds = v;
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		if (strcmp(name, cs[i].name) == 0)
			*(long long *)((char *)s + cs[i].off) = (long long)v;
}

int queue_stats(struct queue *q, struct queue_stats *s, struct error *e)
{
	memset(s, 0, sizeof(*s));
	return q->ops->stats(q, s, e);
}

int queue_get(struct queue *q, long long id, struct queue_job *out, struct error *e)
{
	memset(out, 0, sizeof(*out));
	return q->ops->get(q, id, out, e);
}

int queue_list(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx,
	       struct error *e)
{
	return q->ops->list(q, state, limit, fn, ctx, e);
}

int queue_attempts(struct queue *q, long long job_id, queue_attempt_fn fn, void *ctx,
		   struct error *e)
{
	return q->ops->attempts(q, job_id, fn, ctx, e);
}

int queue_source_has_job(struct queue *q, long long source_id, struct error *e)
{
	return q->ops->source_has_job(q, source_id, e);
}

/* ---- callback outbox ----------------------------------------------------- */

int queue_outbox_next(struct queue *q, long long now, const struct queue_outbox_skip *skip,
		      struct queue_callback *out, struct error *e)
{
	memset(out, 0, sizeof(*out));
	return q->ops->outbox_next(q, now, skip, out, e);
}

int queue_outbox_due(struct queue *q, long long now, long long *at, struct error *e)
{
	*at = 0;
	return q->ops->outbox_due(q, now, at, e);
}

static int outbox_update(struct queue *q, long long id, long long now, int done, int status,
			 const char *msg, long long next_at, int give_up, struct error *e)
{
	int rc;

	if ((rc = tx_begin(q, e)) < 0)
		return rc;
	rc = q->ops->outbox_mark(q, id, now, done, status, msg, next_at, give_up, e);
	if (rc == 0)
		rc = error_set(e, KD_EINPUT, "callback %lld is not pending", id);
	else if (rc > 0 && done)
		rc = q->ops->counter_add(q, "callbacks_delivered", 1, e);
	else if (rc > 0 && give_up)
		rc = q->ops->counter_add(q, "callbacks_failed", 1, e);
	return tx_end(q, rc < 0 ? rc : 0, e);
}

int queue_outbox_done(struct queue *q, long long id, long long now, int http_status,
		      struct error *e)
{
	return outbox_update(q, id, now, 1, http_status, NULL, 0, 0, e);
}

int queue_outbox_failed(struct queue *q, long long id, long long now, int http_status,
			const char *msg, long long next_at, int give_up, struct error *e)
{
	return outbox_update(q, id, now, 0, http_status, msg ? msg : "failed", next_at, give_up, e);
}

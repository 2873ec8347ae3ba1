/* queue_pg_jobs.c - the queue on PostgreSQL: claims, leases, outcomes,
 * operating commands, the callback outbox and wake-ups.  See queue_pg.h. */
#include "config.h"

#include <math.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "error.h"
#include "queue_pg_impl.h"

#define CHUNK 128 /* rows per transaction in bulk operations: bounded memory */

static const char *const state_names[JOB_NSTATES] = {
	"pending", "running", "done", "dead", "cancelled",
};

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

int pgq_read_job(PGresult *r, int row, struct queue_job *j, struct error *e)
{
	int oom = 0;

	memset(j, 0, sizeof(*j));
	j->id = pgq_ll(r, row, 0, 0);
	j->state = queue_state_parse(PQgetvalue(r, row, 1));
	snprintf(j->kind, sizeof(j->kind), "%s", PQgetvalue(r, row, 2));
	j->priority = (int)pgq_ll(r, row, 3, 0);
	j->key = dup_col(r, row, 4, NULL, &oom);
	j->payload = dup_col(r, row, 5, &j->payload_len, &oom);
	j->source_id = pgq_ll(r, row, 6, -1);
	j->attempts = (int)pgq_ll(r, row, 7, 0);
	j->max_attempts = (int)pgq_ll(r, row, 8, 0);
	j->run_at = pgq_ll(r, row, 9, 0);
	j->lease_until = pgq_ll(r, row, 10, 0);
	snprintf(j->lease_token, sizeof(j->lease_token), "%s", PQgetvalue(r, row, 11));
	j->cancel_requested = (int)pgq_ll(r, row, 12, 0);
	j->last_error = dup_col(r, row, 13, NULL, &oom);
	j->result = dup_col(r, row, 14, NULL, &oom);
	j->sender_uid = pgq_ll(r, row, 15, -1);
	j->created_at = pgq_ll(r, row, 16, 0);
	j->updated_at = pgq_ll(r, row, 17, 0);
	j->finished_at = pgq_ll(r, row, 18, 0);
	if (oom || !j->payload) {
		queue_job_release(j);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	return 0;
}

void pgq_num(char b[32], long long v)
{
	snprintf(b, 32, "%lld", v);
}

/* Run s and keep only whether it worked. */
int pgq_cmd(struct pgq *q, enum pg_stmt s, int n, const char *const *v, long long *changes,
		   struct error *e)
{
	PGresult *r = pgq_run(q, s, n, v, e);

	if (!r)
		return e ? e->code : KD_EIO;
	if (changes)
		*changes = pgq_changes(r);
	PQclear(r);
	return 0;
}

/* Load job id inside the caller's transaction, locked (FOR UPDATE) when
 * lock is set.  1 found, 0 not, < 0 error. */
int pgq_load_job(struct pgq *q, long long id, int lock, struct queue_job *j, struct error *e)
{
	char b[32];
	const char *p[1] = { b };
	PGresult *r;
	int rc;

	pgq_num(b, id);
	if (!(r = pgq_run(q, lock ? P_GET_LOCK : P_GET, 1, p, e)))
		return e ? e->code : KD_EIO;
	rc = PQntuples(r) ? pgq_read_job(r, 0, j, e) : 0;
	rc = rc < 0 ? rc : PQntuples(r) ? 1 : 0;
	PQclear(r);
	return rc;
}

static int load_leased(struct pgq *q, long long id, const char *token, struct queue_job *j,
		       struct error *e)
{
	int rc = pgq_load_job(q, id, 1, j, e);

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

/* The job enters a final state: its callback goes into the outbox in this
 * transaction, and idle senders are woken at COMMIT. */
int pgq_notify_final(struct pgq *q, const struct queue_job *j, const char *state, int attempts,
			const char *err, const char *result, struct error *e)
{
	struct queue_outcome o = { .job = j, .state = state, .attempts = attempts, .error = err, .result = result };
	char *url = NULL, *body = NULL, b[32];
	int rc;

	if (!q->notify)
		return 0;
	if ((rc = q->notify(q->notify_ctx, &o, &url, &body, e)) != 0) {
		free(url);
		free(body);
		return rc < 0 ? rc : error_set(e, KD_EINTERNAL, "callback hook failed");
	}
	if (url) {
		const char *p[3] = { b, url, body ? body : "" };
		pgq_num(b, j->id);
		rc = pgq_cmd(q, P_CB_INSERT, 3, p, NULL, e);
		q->notify_jobs = 1;
	}
	free(url);
	free(body);
	return rc;
}

long long pgq_backoff_delay(struct pgq *q, int attempts)
{
	double d = q->opts.backoff_base;

	if (d <= 0)
		return 0;
	for (int i = 1; i < attempts && d < q->opts.backoff_cap; i++)
		d *= 2;
	if (d > q->opts.backoff_cap)
		d = q->opts.backoff_cap;
	d *= 1 + q->opts.backoff_jitter * (2 * pgq_rand(q) - 1);
	return (long long)llround(d);
}

static void make_token(struct pgq *q, char out[QUEUE_TOKEN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[QUEUE_TOKEN_LEN / 2];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(pgq_rand(q) * 256);
	for (size_t i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[QUEUE_TOKEN_LEN] = '\0';
}

/* ---- drain side ------------------------------------------------------------ */

int pgq_claim(struct pgq *q, int lease_seconds, struct queue_job *out, struct error *e)
{
	char token[QUEUE_TOKEN_LEN + 1], ls[32];
	const char *p[2] = { ls, token };
	PGresult *r;
	int rc;

	memset(out, 0, sizeof(*out));
	make_token(q, token);
	pgq_num(ls, lease_seconds);
	/* One statement, its own transaction: FOR UPDATE SKIP LOCKED lets
	 * claimers on every node pass over each other's rows. */
	if (!(r = pgq_run(q, P_CLAIM, 2, p, e)))
		return e ? e->code : KD_EIO;
	rc = PQntuples(r) ? pgq_read_job(r, 0, out, e) : 0;
	rc = rc < 0 ? rc : PQntuples(r) ? 1 : 0;
	PQclear(r);
	return rc;
}

int pgq_renew(struct pgq *q, long long id, const char *token, int lease_seconds, struct error *e)
{
	char b[32], ls[32];
	const char *p[3] = { b, token ? token : "", ls };
	long long n = 0;
	int rc;

	pgq_num(b, id);
	pgq_num(ls, lease_seconds);
	if ((rc = pgq_cmd(q, P_RENEW, 3, p, &n, e)) < 0)
		return rc;
	return n ? 0 : error_set(e, KD_ELEASE, "job %lld: lease lost", id);
}

int pgq_cancel_requested(struct pgq *q, long long id, const char *token, struct error *e)
{
	char b[32];
	const char *p[2] = { b, token ? token : "" };
	PGresult *r;
	int v;

	pgq_num(b, id);
	if (!(r = pgq_run(q, P_CANCEL_REQ, 2, p, e)))
		return e ? e->code : KD_EIO;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return error_set(e, KD_ELEASE, "job %lld: lease lost", id);
	}
	v = (int)pgq_ll(r, 0, 0, 0);
	PQclear(r);
	return v ? 1 : 0;
}

int pgq_finish(struct pgq *q, long long id, const char *token, const char *result_json,
	       double render_seconds, struct error *e)
{
	struct queue_job j;
	char b[32];
	const char *p[2] = { b, result_json };
	int rc;

	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	if ((rc = load_leased(q, id, token, &j, e)) < 0) {
		pgq_tx_rollback(q);
		return rc;
	}
	pgq_num(b, id);
	if ((rc = pgq_cmd(q, P_FINISH, 2, p, NULL, e)) < 0 ||
	    (rc = pgq_notify_final(q, &j, "done", j.attempts, NULL, result_json, e)) < 0 ||
	    (rc = pgq_counter_add(q, "jobs_done", 1, e)) < 0 ||
	    (render_seconds > 0 && (rc = pgq_counter_add(q, "render_seconds", render_seconds, e)) < 0)) {
		queue_job_release(&j);
		pgq_tx_rollback(q);
		return rc;
	}
	queue_job_release(&j);
	return pgq_tx_commit(q, e);
}

/* A failed attempt of job j (locked in this transaction): its next state,
 * counters and, when final, its callback. */
int pgq_fail_locked(struct pgq *q, const struct queue_job *j, int code, const char *msg,
		       int *new_state, struct error *e)
{
	const char *why = msg && *msg ? msg : error_name(code);
	char b[32], delay[32];
	int state, rc;
	long long d = 0;

	if (code == KD_ECANCEL || j->cancel_requested)
		state = JOB_CANCELLED;
	else if (code == KD_EINPUT || code == KD_ELIMIT || j->attempts >= j->max_attempts)
		state = JOB_DEAD;
	else {
		state = JOB_PENDING;
		d = pgq_backoff_delay(q, j->attempts);
	}
	if (state == JOB_CANCELLED && code != KD_ECANCEL)
		why = "cancelled";
	pgq_num(b, j->id);
	pgq_num(delay, d);
	const char *p[5] = { b, state_names[state], why, delay, state != JOB_PENDING ? "t" : "f" };
	if ((rc = pgq_cmd(q, P_FAIL, 5, p, NULL, e)) < 0)
		return rc;
	if (state != JOB_CANCELLED && (rc = pgq_counter_add(q, "attempts_failed", 1, e)) < 0)
		return rc;
	if (state == JOB_DEAD && (rc = pgq_counter_add(q, "jobs_dead", 1, e)) < 0)
		return rc;
	if (state == JOB_CANCELLED && (rc = pgq_counter_add(q, "jobs_cancelled", 1, e)) < 0)
		return rc;
	if (state != JOB_PENDING && (rc = pgq_notify_final(q, j, state_names[state], j->attempts, why, NULL, e)) < 0)
		return rc;
	if (state == JOB_PENDING)
		q->notify_jobs = 1;
	if (new_state)
		*new_state = state;
	return 0;
}

int pgq_fail(struct pgq *q, long long id, const char *token, int code, const char *msg,
	     int *new_state, struct error *e)
{
	struct queue_job j;
	int rc;

	if ((rc = pgq_tx_begin(q, e)) < 0)
		return rc;
	if ((rc = load_leased(q, id, token, &j, e)) < 0) {
		pgq_tx_rollback(q);
		return rc;
	}
	rc = pgq_fail_locked(q, &j, code, msg, new_state, e);
	queue_job_release(&j);
	if (rc < 0) {
		pgq_tx_rollback(q);
		return rc;
	}
	return pgq_tx_commit(q, e);
}

int pgq_reclaim_expired(struct pgq *q, struct error *e)
{
	char lim[32];
	const char *p[1] = { lim };
	int total = 0, n, rc;

	pgq_num(lim, CHUNK);
	do {
		PGresult *r;

		if ((rc = pgq_tx_begin(q, e)) < 0)
			return rc;
		if (!(r = pgq_run(q, P_EXPIRED, 1, p, e))) {
			pgq_tx_rollback(q);
			return e ? e->code : KD_EIO;
		}
		n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			struct queue_job j;
			if ((rc = pgq_read_job(r, i, &j, e)) == 0) {
				rc = pgq_fail_locked(q, &j, KD_EIO, "worker died (lease expired)", NULL, e);
				queue_job_release(&j);
			}
			if (rc < 0) {
				PQclear(r);
				pgq_tx_rollback(q);
				return rc;
			}
		}
		PQclear(r);
		if ((rc = pgq_tx_commit(q, e)) < 0)
			return rc;
		total += n;
	} while (n == CHUNK);
	return total;
}

/* ---- wake-ups -------------------------------------------------------------- */

static int listen_connect(struct pgq *q, struct error *e)
{
	const char *keys[] = { "dbname", "password", "connect_timeout", NULL };
	const char *vals[] = { q->uri, q->password, "10", NULL };
	PGresult *r;

	if (q->listen)
		PQfinish(q->listen);
	q->listen = PQconnectdbParams(keys, vals, 1);
	if (!q->listen || PQstatus(q->listen) != CONNECTION_OK) {
		const char *m = q->listen ? PQerrorMessage(q->listen) : "out of memory";
		error_set(e, KD_EIO, "queue unavailable: %.*s", (int)strcspn(m, "\n"), m);
		PQfinish(q->listen);
		q->listen = NULL;
		return KD_EIO;
	}
	r = PQexec(q->listen, "LISTEN krigd_jobs");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		PQfinish(q->listen);
		q->listen = NULL;
		return error_set(e, KD_EIO, "queue unavailable: LISTEN failed");
	}
	PQclear(r);
	PQsetnonblocking(q->listen, 1);
	return 0;
}

int pgq_wake_fd(struct pgq *q, struct error *e)
{
	if (q->listen && PQstatus(q->listen) == CONNECTION_OK)
		return PQsocket(q->listen);
	if (listen_connect(q, e) < 0)
		return e ? e->code : KD_EIO;
	return PQsocket(q->listen);
}

int pgq_wake_consume(struct pgq *q)
{
	PGnotify *n;
	int woke = 0;

	if (!q->listen)
		return 0;
	if (!PQconsumeInput(q->listen) || PQstatus(q->listen) != CONNECTION_OK) {
		/* Lost: what was sent meanwhile is lost too.  The caller claims
		 * once; the next pgq_wake_fd connects and LISTENs again. */
		PQfinish(q->listen);
		q->listen = NULL;
		return 1;
	}
	while ((n = PQnotifies(q->listen)) != NULL) {
		woke = 1;
		PQfreemem(n);
	}
	return woke;
}

/* queue_impl.h - what a queue backend provides; private to src/queue/.
 *
 * queue.c holds the job rules and calls these operations; a backend only
 * stores and finds rows.  Operations marked (tx) run inside a write
 * transaction the rules opened with begin; the rest open none themselves
 * unless said.  Each returns 0 (or the documented count / 1 found / 0 not)
 * or a negative KD_E* code with e filled (KD_EBUSY: locked past the busy
 * time-out).  Strings and jobs handed out are owned by the caller. */
#ifndef KD_QUEUE_IMPL_H
#define KD_QUEUE_IMPL_H

#include <stdint.h>

#include "queue.h"

#define QUEUE_UID_LEN 16 /* hex characters of a queue's own id */

/* The column state to which a failed or reclaimed attempt moves the job. */
struct queue_fail_row {
	int state;            /* JOB_PENDING, JOB_DEAD or JOB_CANCELLED */
	const char *error;    /* last_error */
	long long run_at;     /* when pending: not before */
	long long now;        /* updated_at, and finished_at unless pending */
	int unspend;          /* 1: the attempt the claim counted is given back (disk full) */
};

struct queue_ops {
	const char *name; /* "sqlite", "postgresql" */

	/* A write transaction (SQLite: BEGIN IMMEDIATE).  commit rolls back
	 * when it fails; rollback does nothing outside a transaction. */
	int (*begin)(struct queue *q, struct error *e);
	int (*commit)(struct queue *q, struct error *e);
	void (*rollback)(struct queue *q);
	long long (*now)(struct queue *q);
	int (*idle)(struct queue *q, struct error *e);
	void (*close)(struct queue *q); /* frees q->impl, not q */

	/* ---- ingest (tx) ---- */
	/* A job with this idempotency key: 1 with *id and *payload (malloc'd,
	 * *len bytes), 0 when none. */
	int (*key_find)(struct queue *q, const char *key, long long *id, char **payload, size_t *len,
			struct error *e);
	/* The pending scan job: 1 with *id, 0 when none. */
	int (*scan_pending)(struct queue *q, long long *id, struct error *e);
	/* A new pending job (run_at already decided by the rules); *id gets an
	 * id never used before in this queue, even after purge. */
	int (*insert)(struct queue *q, const struct queue_new_job *j, long long run_at, long long now,
		      long long *id, struct error *e);
	/* (tx, optional) n jobs at once, run_at from the backend's clock when
	 * 0: res[i] as queue_enqueue_many says; *added gets how many are new
	 * (the rules count them in jobs_accepted).  NULL: the rules loop. */
	int (*insert_many)(struct queue *q, const struct queue_new_job *jobs, size_t n,
			   struct queue_enqueued *res, int *added, struct error *e);
	int (*counter_add)(struct queue *q, const char *name, double v, struct error *e);
	/* (own tx, optional) A gauge beside the counters (paused_until): set,
	 * not added.  NULL: the backend keeps none. */
	int (*gauge_set)(struct queue *q, const char *name, long long v, struct error *e);

	/* ---- jobs ---- */
	/* (tx) The next due job (state pending, run_at <= now; priority DESC,
	 * run_at, id) becomes running: token, lease_until = now + lease,
	 * attempts + 1, claimer c.  1 with *out (the row after), 0 none. */
	int (*claim)(struct queue *q, long long now, int lease, const char *token,
		     const struct queue_claimer *c, struct queue_job *out, struct error *e);
	/* (own tx) lease_until = now + lease when id runs under token: 1, else 0. */
	int (*renew)(struct queue *q, long long id, const char *token, long long now, int lease,
		     struct error *e);
	/* cancel_requested of id running under token: 0/1, or KD_ELEASE. */
	int (*cancel_flag)(struct queue *q, long long id, const char *token, struct error *e);
	/* Job id: 1 with *out, 0 none.  In a transaction the row stays locked
	 * until its end (PostgreSQL: FOR UPDATE). */
	int (*get)(struct queue *q, long long id, struct queue_job *out, struct error *e);
	/* (tx) state done with result; lease and last_error cleared. */
	int (*set_done)(struct queue *q, long long id, long long now, const char *result,
			struct error *e);
	/* (tx) a failed attempt's new state; lease cleared. */
	int (*set_failed)(struct queue *q, long long id, const struct queue_fail_row *r,
			  struct error *e);
	/* (tx) pending -> cancelled ("cancelled", finished now): 1 changed, 0 not pending. */
	int (*cancel_pending)(struct queue *q, long long id, long long now, struct error *e);
	/* (tx) running: cancel_requested = 1. */
	int (*cancel_running)(struct queue *q, long long id, long long now, struct error *e);
	/* (tx) Running jobs with id > after, by id, at most max: ids and their
	 * claimers (and only those whose lease_until < now when expired_only).
	 * Returns how many. */
	int (*running)(struct queue *q, long long now, int expired_only, long long after, long long *ids,
		       struct queue_claimer *claimers, int max, struct error *e);
	/* (tx) id (0: every dead job) in dead or cancelled (force: also done)
	 * -> pending, attempts 0, last_error NULL, run_at now; a scan that
	 * would make a second pending scan is skipped.  *n gets how many. */
	int (*requeue)(struct queue *q, long long id, int force, long long now, long long *n,
		       struct error *e);
	/* (no tx: a read) Purgeable jobs (finished before `before`, done, dead
	 * or cancelled, no pending callback), oldest first, at most max: fn on
	 * each (non-zero from fn stops: *stopped = 1), ids[] and kept[] (the
	 * files_kept fn gave, or 1 for done without fn) filled.  Returns how
	 * many passed fn. */
	int (*purge_scan)(struct queue *q, long long before, int max, queue_purge_fn fn, void *ctx,
			  long long *ids, int *kept, int *stopped, struct error *e);
	/* (tx) Delete job id if still purgeable, with its callbacks and
	 * attempts, and record it in purged with files_kept: 1 deleted, 0 not. */
	int (*purge_delete)(struct queue *q, long long id, long long before, int files_kept, struct error *e);
	/* (no tx) queue_files_owned. */
	int (*files_owned)(struct queue *q, long long id, struct error *e);

	/* ---- attempts (tx) ---- */
	int (*attempt_start)(struct queue *q, long long job_id, int n, long long now,
			     const struct queue_claimer *c, struct error *e);
	/* The attempt n of job_id ends with outcome ("done", "failed", ...). */
	int (*attempt_end)(struct queue *q, long long job_id, int n, long long now, const char *outcome,
			   const char *error, struct error *e);

	/* ---- reading (one snapshot each) ---- */
	int (*stats)(struct queue *q, struct queue_stats *s, struct error *e);
	int (*list)(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx,
		    struct error *e);
	int (*attempts)(struct queue *q, long long job_id, queue_attempt_fn fn, void *ctx,
			struct error *e);
	int (*source_has_job)(struct queue *q, long long source_id, struct error *e);

	/* ---- outbox ---- */
	/* (tx) A delivery for job_id, due now. */
	int (*outbox_add)(struct queue *q, long long job_id, const char *url, const char *body,
			  size_t len, long long now, struct error *e);
	int (*outbox_next)(struct queue *q, long long now, const struct queue_outbox_skip *skip,
			   struct queue_callback *out, struct error *e);
	/* (tx) Pending delivery id: delivered (done) or failed (attempts + 1,
	 * next_at, give_up -> failed).  1 changed, 0 not pending. */
	int (*outbox_mark)(struct queue *q, long long id, long long now, int done, int http_status,
			   const char *msg, long long next_at, int give_up, struct error *e);

	/* ---- wake-ups ---- */
	/* After a commit that made work: wake the other connections' watchers
	 * (best effort, never fails). */
	void (*signal)(struct queue *q);
	int (*wake_fd)(struct queue *q, struct error *e);
	void (*wake_clear)(struct queue *q);
};

/* The idempotency comparison every backend uses (queue.c): 1 when the
 * stored payload old and the new one are the same job's (byte for byte, or
 * the same JSON object once a top-level "req" is left out of both). */
int queue_payload_same(const void *old, size_t oldlen, const char *new, size_t newlen);

/* A counters-table row (name, value) into s, for every backend's stats. */
void queue_stats_counter(struct queue_stats *s, const char *name, double v);

/* The parts every backend shares; the rules own them. */
struct queue {
	const struct queue_ops *ops;
	struct queue_opts opts;
	struct queue_claimer self;  /* this process, recorded in its claims */
	char uid[QUEUE_UID_LEN + 1]; /* the backend fills it at open */
	int in_group;               /* between queue_begin and queue_commit/rollback */
	int dirty;                  /* this transaction made work: signal after commit */
	uint64_t rng;               /* xorshift state for the backoff jitter */
	queue_notify_fn notify;
	void *notify_ctx;
	void *impl;                 /* the backend's */
};

/* Each sets q->ops, q->impl and q->uid, or returns an error leaving q->impl
 * NULL.  spec is what follows "sqlite:" or the whole URL. */
int queue_sqlite_open(struct queue *q, const char *path, struct error *e);
#ifdef HAVE_POSTGRESQL
int queue_pg_open(struct queue *q, const char *url, struct error *e);
#endif

/* States as stored ("pending", ...). */
extern const char *const queue_state_names[JOB_NSTATES];

#endif

/* queue.h - the durable job queue (docs/DESIGN.md "Queue database").
 *
 * One struct queue is one connection to the queue database, used by one
 * thread at a time.  The job rules (states, leases and tokens, backoff,
 * dead, outbox rows, idempotency keys, scan coalescing, attempt history)
 * live in queue.c; storage is a backend behind the ops table of
 * queue_impl.h, chosen by queue_open from the database spec (a path or
 * "sqlite:PATH": SQLite; "postgresql://...": PostgreSQL).  This header names
 * no backend type.  Every write runs in its own transaction, except enqueues
 * between queue_begin and queue_commit, which share one (the listener's
 * group commit).
 * Functions return 0 (or a documented positive value) or a negative KD_E*
 * code with e filled: KD_EBUSY means the database stayed locked past the
 * busy time-out and nothing was changed.  Memory is bounded whatever the
 * queue length: nothing loads all rows.
 * Times are integer Unix seconds from the backend's clock: every `now`
 * given to this API must come from queue_now(), so leases, run_at and
 * backoff agree between hosts sharing one database. */
#ifndef KD_QUEUE_H
#define KD_QUEUE_H

#include <stddef.h>

struct error;
struct queue;

enum queue_durability {
	QUEUE_DURABLE_POWER, /* a commit is on stable storage when it returns: an acked job
			      * survives power loss (default; SQLite synchronous=FULL) */
	QUEUE_DURABLE_CRASH, /* survives a crash of krigd, not of the machine (SQLite
			      * synchronous=NORMAL; PostgreSQL synchronous_commit=off) */
};

struct queue_opts {
	int create;           /* 1: create the queue or migrate it to this krigd's schema (listen,
			       * drain, serve); 0 (default): open an existing, current krigd queue
			       * and refuse anything else, changing nothing (operator commands) */
	enum queue_durability durability;
	int busy_timeout_ms;  /* how long a write waits for another writer; default 5000 */
	int idle_housekeeping; /* 1: backend housekeeping (SQLite: WAL checkpoints) never inside a
				* commit; the owner calls queue_idle when it has nothing to do */
	const char *password_file; /* PostgreSQL: the password is this file's first line (NULL: none) */
	double backoff_base;  /* seconds before the 1st retry, doubled each attempt; default 2, 0 for tests */
	double backoff_cap;   /* at most this many seconds; default 600 */
	double backoff_jitter; /* +- this fraction of the delay; default 0.2 */
};

enum job_state { JOB_PENDING, JOB_RUNNING, JOB_DONE, JOB_DEAD, JOB_CANCELLED, JOB_NSTATES };

/* "pending", ... ; queue_state_parse returns -1 for an unknown name. */
const char *queue_state_name(int state);
int queue_state_parse(const char *name);

/* Defaults described in struct queue_opts. */
void queue_opts_default(struct queue_opts *o);

/* Open the queue named by spec: a path or "sqlite:PATH" (SQLite),
 * "postgresql://..." or "postgres://..." (PostgreSQL, when built with it).
 * With o->create a missing or empty database is created and a krigd queue
 * migrated forward (and stamped with krigd's application id); without it a
 * missing, empty, outdated or foreign database is KD_EINPUT naming spec.
 * Either way a database that is not a krigd queue is refused untouched.
 * On error *q is NULL. */
int queue_open(struct queue **q, const char *spec, const struct queue_opts *o, struct error *e);

/* Close the connection; an open transaction is rolled back.  NULL is fine. */
void queue_close(struct queue *q);

/* Backend housekeeping for idle moments, off the reply path (SQLite: a
 * PASSIVE checkpoint that waits for no one; PostgreSQL: nothing). */
int queue_idle(struct queue *q, struct error *e);

/* The backend's clock, Unix seconds (SQLite: this host's; PostgreSQL: the
 * server's now()).  On an error the host's clock. */
long long queue_now(struct queue *q);

/* The queue's own id: random hex chosen when the queue was created, never
 * reused, so ids built from it (webhook-id) are unique across queues. */
const char *queue_uid(const struct queue *q);

/* ---- wake-ups ---------------------------------------------------------- */

/* A descriptor (owned by q) that becomes readable when another connection
 * committed something a drain waits for: a job became claimable, a cancel
 * was requested, a callback entered the outbox.  Poll it, then call
 * queue_wake_clear before looking at the queue, so a wake-up arriving
 * meanwhile is not lost.  Commits through this API send the wake-ups
 * themselves.  A wake-up can be lost (e.g. a full buffer): poll with a
 * bounded time-out as well. */
int queue_wake_fd(struct queue *q, struct error *e);
void queue_wake_clear(struct queue *q);

/* ---- ingest ---------------------------------------------------------- */

struct queue_new_job {
	const char *kind;      /* "render" (or "scan", see queue_enqueue_ping) */
	const char *payload;   /* the trigger JSON as received */
	size_t payload_len;
	const char *key;       /* idempotency key or NULL */
	long long source_id;   /* {"source_id": N}, or -1 */
	int priority;          /* higher first */
	int max_attempts;      /* >= 1 */
	long long run_at;      /* not before (Unix s); 0 means now */
	long long sender_uid;  /* -1 when unknown */
};

/* Group several enqueues into one transaction (BEGIN IMMEDIATE): all of
 * them become durable at queue_commit, none after queue_rollback.  Outside
 * such a pair an enqueue commits on its own. */
int queue_begin(struct queue *q, struct error *e);
int queue_commit(struct queue *q, struct error *e);
void queue_rollback(struct queue *q);

/* Add a job; *id gets its id.  With a key already present: the same payload
 * (byte for byte, or the same JSON object once a top-level "req" is left
 * out of both: a resend's new "req") gives that job's id and *existed = 1
 * (the stored payload keeps the first "req"); another payload is
 * KD_EINPUT "key already used with another payload".  KD_EINPUT leaves the
 * transaction usable; other errors mean the caller must roll back. */
int queue_enqueue(struct queue *q, const struct queue_new_job *job, long long *id, int *existed,
		  struct error *e);

/* A ping: one pending scan job at most.  If one is pending, its id is given
 * with *existed = 1 (pings coalesce), else a new one is added. */
int queue_enqueue_ping(struct queue *q, const char *payload, size_t len, long long sender_uid,
		       long long *id, int *existed, struct error *e);

/* What became of one job of queue_enqueue_many. */
struct queue_enqueued {
	long long id;
	int existed;   /* its key (or a pending scan) was there: id is that job */
	int code;      /* 0, or < 0 for this job only (KD_EINPUT: key used with another payload) */
	char msg[128];
};

/* Add n jobs (kind "scan" ones coalesce as queue_enqueue_ping does) in the
 * group's transaction, or one of their own; res[i] says what became of
 * jobs[i].  A negative return is an error for all of them (roll back).
 * PostgreSQL does it in one multi-row statement. */
int queue_enqueue_many(struct queue *q, const struct queue_new_job *jobs, size_t n,
		       struct queue_enqueued *res, struct error *e);

/* ---- drain side ------------------------------------------------------ */

#define QUEUE_TOKEN_LEN 32 /* hex characters of a lease token */

/* Who holds a claim: a process, named so that another process on the same
 * host (and pid namespace) can tell for sure that it is gone. */
struct queue_claimer {
	char boot_id[40];              /* /proc/sys/kernel/random/boot_id, "" when unknown */
	unsigned long long pidns;      /* inode of /proc/self/ns/pid, 0 when unknown */
	long long pid;                 /* 0 when unknown */
	unsigned long long start_time; /* /proc/PID/stat field 22 (clock ticks since boot) */
};

/* The calling process.  Fields it cannot read stay empty (0 / ""). */
void queue_claimer_self(struct queue_claimer *c);

/* 1 when c is certainly a process that is gone: same boot and pid namespace
 * as the caller, and no process pid with that start time.  0 otherwise
 * (alive, unknown, or another host). */
int queue_claimer_gone(const struct queue_claimer *c);

/* A job row.  Strings are owned (queue_job_release frees them), NULL when
 * the column is NULL. */
struct queue_job {
	long long id;
	int state;                 /* enum job_state */
	char kind[8];              /* "render" or "scan" */
	int priority;
	char *key;
	char *payload;
	size_t payload_len;
	long long source_id;       /* -1 when none */
	int attempts, max_attempts;
	long long run_at, lease_until;
	char lease_token[QUEUE_TOKEN_LEN + 1]; /* "" when not running */
	int cancel_requested;
	char *last_error;
	char *result;
	long long sender_uid;      /* -1 when unknown */
	long long created_at, updated_at, finished_at; /* finished_at 0 while unfinished */
	struct queue_claimer claimer; /* the last claim's process (empty before the first) */
};

void queue_job_release(struct queue_job *j);

/* What a job ended as, given to the notify hook to build its callback. */
struct queue_outcome {
	const struct queue_job *job; /* the row before this change */
	const char *state;           /* "done", "dead" or "cancelled" */
	int attempts;                /* attempts made */
	const char *error;           /* last error, NULL when done */
	const char *result;          /* result JSON when done, else NULL */
};

/* Called inside the transaction that moves a job to done, dead or cancelled.
 * Set *url and *body (malloc'd, freed by the queue) to add an outbox row in
 * that same transaction, or leave them NULL for no callback.  A non-zero
 * return aborts the transition. */
typedef int (*queue_notify_fn)(void *ctx, const struct queue_outcome *o, char **url, char **body,
			       struct error *e);

/* Install the hook for this connection (the drain does; the listener not). */
void queue_set_notify(struct queue *q, queue_notify_fn fn, void *ctx);

/* Claim the next job: state pending, run_at <= now, highest priority, then
 * oldest run_at, then lowest id.  It becomes running with a fresh random
 * lease_token, lease_until = now + lease_seconds, attempts + 1, claimed by
 * this process (queue_claimer_self), and an attempt row is started.
 * Returns 1 with *out filled, 0 when nothing is due. */
int queue_claim(struct queue *q, long long now, int lease_seconds, struct queue_job *out,
		struct error *e);

/* Extend a lease (a timer calls this, not the kriging loop).  KD_ELEASE when
 * the token is not the job's current one: stop working on it. */
int queue_renew(struct queue *q, long long id, const char *token, long long now, int lease_seconds,
		struct error *e);

/* 1 when a cancel was requested for this running job (check between frames),
 * 0 if not, KD_ELEASE if the lease was lost. */
int queue_cancel_requested(struct queue *q, long long id, const char *token, struct error *e);

/* One transaction: state done, result, the outbox row (notify hook), the
 * counters (jobs_done, render_seconds).  KD_ELEASE when the token does not
 * match: nothing changes, so a job finishes at most once. */
int queue_finish(struct queue *q, long long id, const char *token, long long now,
		 const char *result_json, double render_seconds, struct error *e);

/* A failed attempt.  code KD_EINPUT / KD_ELIMIT (permanent) -> dead at once;
 * KD_ECANCEL -> cancelled; else pending again after an exponential backoff
 * (base * 2^(attempts-1), capped, +-jitter) unless attempts >= max_attempts
 * -> dead.  msg is kept as last_error.  *new_state (may be NULL) gets the
 * resulting enum job_state.  KD_ELEASE when the token does not match. */
int queue_fail(struct queue *q, long long id, const char *token, long long now, int code,
	       const char *msg, int *new_state, struct error *e);

/* Give a running job back: pending again at run_at, last_error msg, and
 * the attempt its claim counted is not spent (a full disk is not the
 * job's fault).  KD_ELEASE when the token does not match. */
int queue_release(struct queue *q, long long id, const char *token, long long now, long long run_at,
		  const char *msg, struct error *e);

/* Record that the drain claims nothing before `until` (epoch seconds; 0:
 * not paused), for `stats`.  Kept in the counters table as paused_until. */
int queue_set_paused(struct queue *q, long long until, struct error *e);

/* Running jobs whose lease expired before now count as a failed attempt
 * "worker died" (dead when attempts are exhausted).  dead_claimers also
 * takes, lease or not, the jobs whose claimer is certainly gone
 * (queue_claimer_gone: a drain starting after a crash); any other live
 * lease is left to expire, so drains sharing a database never take each
 * other's jobs.  Returns the number reclaimed. */
int queue_reclaim_expired(struct queue *q, long long now, int dead_claimers, struct error *e);

/* The backoff delay in whole seconds for a job that has made `attempts`
 * attempts, jitter drawn from the queue's generator (exposed for tests). */
long long queue_backoff_delay(const struct queue *q, int attempts);

/* ---- operating ------------------------------------------------------- */

/* pending -> cancelled now (returns 0); running -> cancel requested, the
 * worker stops between frames (returns 1); a finished job: KD_EINPUT. */
int queue_cancel(struct queue *q, long long id, long long now, struct error *e);

/* Requeue job id (0: every dead job): dead or cancelled, and with force
 * also done, go back to pending with attempts 0, no last_error, run now;
 * the attempt history stays.  *count (may be NULL) gets how many.  A single
 * id in another state is KD_EINPUT. */
int queue_retry(struct queue *q, long long id, int force, long long now, long long *count,
		struct error *e);

/* Called by queue_purge for each job about to be deleted, with its state
 * ("done", "dead" or "cancelled") and result JSON (NULL if none), e.g. to
 * delete its images.  *files_kept comes in as 1 for a done job, 0 else;
 * fn sets it to whether the job's files stay (recorded in `purged`, so
 * purge --orphans leaves them).  Non-zero stops the purge before that
 * job's row is deleted. */
typedef int (*queue_purge_fn)(void *ctx, long long id, const char *state, const char *result, int *files_kept,
			      struct error *e);

/* Delete done, dead and cancelled jobs finished before `before` (and their
 * attempts and delivered or failed callbacks; a job with a callback still
 * pending stays), and record each deleted id in `purged` with files_kept
 * (fn's say; without fn, 1 for a done job).  Ids are never given again.
 * Works in chunks, so memory stays bounded.  *count gets the number deleted. */
int queue_purge(struct queue *q, long long before, queue_purge_fn fn, void *ctx, long long *count,
		struct error *e);

/* Whether the image files of job id must stay: 1 when the job has a row,
 * or was purged with its files kept; 0 when they belong to no one (purge
 * --orphans deletes them); negative KD_E* on a database error. */
int queue_files_owned(struct queue *q, long long id, struct error *e);

struct queue_stats {
	long long state[JOB_NSTATES]; /* rows per state now */
	long long callbacks_pending;
	long long oldest_pending;     /* created_at of the oldest pending job, 0 if none */
	long long done_last_minute;   /* jobs that ended done in the last 60 s (by finished_at) */
	long long done_last_hour;     /* ... in the last 3600 s; purged rows are not counted */
	/* counters: only grow */
	long long jobs_accepted, jobs_done, jobs_dead, jobs_cancelled;
	long long attempts_failed, retries, callbacks_delivered, callbacks_failed;
	double render_seconds;
	long long paused_until;       /* the drain claims nothing before this (disk full); 0 if not */
};

int queue_stats(struct queue *q, struct queue_stats *s, struct error *e);

/* Returns 1 with *out filled, 0 if there is no such job. */
int queue_get(struct queue *q, long long id, struct queue_job *out, struct error *e);

/* Stream jobs (state -1: all), newest first, at most limit (0: no limit),
 * to fn one at a time; the job is released after fn returns.  A non-zero
 * return from fn stops the listing and is returned. */
typedef int (*queue_list_fn)(void *ctx, const struct queue_job *j);
int queue_list(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx,
	       struct error *e);

/* One attempt of a job: a claim and how it ended.  error owned. */
struct queue_attempt {
	long long job_id;
	int n;                     /* 1 for the first attempt */
	long long started_at, ended_at; /* ended_at 0 while running */
	struct queue_claimer claimer;
	char outcome[16];          /* "running", "done", "failed", "dead", "cancelled", "lost" */
	char *error;               /* NULL when none */
};

/* Stream job_id's attempts, oldest first, to fn (the row is released after
 * fn returns; non-zero stops and is returned). */
typedef int (*queue_attempt_fn)(void *ctx, const struct queue_attempt *a);
int queue_attempts(struct queue *q, long long job_id, queue_attempt_fn fn, void *ctx,
		   struct error *e);

/* 1 when source row source_id has a job pending, running or dead (the scan
 * skips it), else 0. */
int queue_source_has_job(struct queue *q, long long source_id, struct error *e);

/* ---- callback outbox ------------------------------------------------- */

struct queue_callback {
	long long id, job_id;
	char *url;
	char *body;          /* exact bytes, NUL-terminated for convenience */
	size_t body_len;
	int attempts;
	long long next_at, created_at;
};

void queue_callback_release(struct queue_callback *c);

/* What queue_outbox_next passes over: deliveries already in flight (ids)
 * and URL origins ("scheme://host[:port]", exactly as the URLs spell them)
 * that have their share of senders.  Arrays borrowed; NULL skips nothing. */
struct queue_outbox_skip {
	const long long *ids;
	size_t n_ids;
	const char *const *origins;
	size_t n_origins;
};

/* The pending delivery due first (next_at <= now), not in skip.  Returns 1
 * with *out filled, 0 when none is due.  It stays pending until done or
 * failed: several senders share the outbox by what they skip. */
int queue_outbox_next(struct queue *q, long long now, const struct queue_outbox_skip *skip,
		      struct queue_callback *out, struct error *e);

/* Delivered (2xx): state delivered, counter callbacks_delivered. */
int queue_outbox_done(struct queue *q, long long id, long long now, int http_status,
		      struct error *e);

/* A failed delivery: attempts + 1, last status and error kept; pending
 * again at next_at, or with give_up state failed (counter callbacks_failed). */
int queue_outbox_failed(struct queue *q, long long id, long long now, int http_status,
			const char *msg, long long next_at, int give_up, struct error *e);

#endif

/* queue_pg.h - the queue on PostgreSQL (libpq): what the queue's seam calls
 * for a postgresql:// --db.  Each function keeps the contract of its
 * namesake in queue.h, with two differences: times come from the server's
 * clock (the `now` arguments of queue.h are not used), and losing the
 * connection is KD_EIO "queue unavailable: ..." (the next call reconnects,
 * with a backoff), never a failed attempt of a job. */
#ifndef KD_QUEUE_PG_H
#define KD_QUEUE_PG_H

#include <stddef.h>

#include "queue.h"

struct error;
struct pgq;

/* 1 when spec names a PostgreSQL queue (postgresql:// or postgres://). */
int pgq_is_uri(const char *spec);

/* Connect, set synchronous_commit = on, and apply the schema's migrations
 * under an advisory lock.  A password in the URI is KD_EINPUT (use
 * PGPASSFILE, or password_file: its first line is sent as the password).
 * Without a server to reach: KD_EIO, *q NULL. */
int pgq_open(struct pgq **q, const char *uri, const char *password_file, const struct queue_opts *o,
	     struct error *e);
void pgq_close(struct pgq *q);

/* ---- ingest ---- */
int pgq_begin(struct pgq *q, struct error *e);
int pgq_commit(struct pgq *q, struct error *e);
void pgq_rollback(struct pgq *q);

/* One result of pgq_enqueue_many. */
struct pgq_enqueued {
	long long id;
	int existed;   /* the key (or a pending scan) was there: id is that job */
	int code;      /* 0, or KD_EINPUT for this job only (key used with another payload) */
	char msg[128];
};

/* Add n jobs in one multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING
 * (inside the caller's group, or a transaction of its own): a reused key
 * or a coalesced ping fails or merges only its own job, in res[i].  A
 * negative return is an error for the whole batch (roll back). */
int pgq_enqueue_many(struct pgq *q, const struct queue_new_job *jobs, size_t n,
		     struct pgq_enqueued *res, struct error *e);
int pgq_enqueue(struct pgq *q, const struct queue_new_job *job, long long *id, int *existed,
		struct error *e);
int pgq_enqueue_ping(struct pgq *q, const char *payload, size_t len, long long sender_uid,
		     long long *id, int *existed, struct error *e);

/* ---- drain side ---- */
void pgq_set_notify(struct pgq *q, queue_notify_fn fn, void *ctx);
int pgq_claim(struct pgq *q, int lease_seconds, struct queue_job *out, struct error *e);
int pgq_renew(struct pgq *q, long long id, const char *token, int lease_seconds, struct error *e);
int pgq_cancel_requested(struct pgq *q, long long id, const char *token, struct error *e);
int pgq_finish(struct pgq *q, long long id, const char *token, const char *result_json,
	       double render_seconds, struct error *e);
int pgq_fail(struct pgq *q, long long id, const char *token, int code, const char *msg,
	     int *new_state, struct error *e);
/* Only expired leases: on a shared queue a starting drain cannot know that
 * another node's live lease is dead, so force_all is not offered. */
int pgq_reclaim_expired(struct pgq *q, struct error *e);
long long pgq_backoff_delay(struct pgq *q, int attempts);

/* ---- wake-ups ---- */
/* A descriptor that becomes readable when a job or callback was added
 * (LISTEN on a connection of its own, opened on first use); after
 * pgq_wake_consume says so, claim once: notifications may have been lost
 * while the connection was down.  < 0 when the server cannot be reached. */
int pgq_wake_fd(struct pgq *q, struct error *e);
/* Read what arrived: 1 when a wake-up (or a reconnect) happened, 0 if not. */
int pgq_wake_consume(struct pgq *q);

/* ---- operating ---- */
int pgq_cancel(struct pgq *q, long long id, struct error *e);
int pgq_retry(struct pgq *q, long long id, int force, long long *count, struct error *e);
int pgq_purge(struct pgq *q, long long before, queue_purge_fn fn, void *ctx, long long *count,
	      struct error *e);
int pgq_stats(struct pgq *q, struct queue_stats *s, struct error *e);
int pgq_get(struct pgq *q, long long id, struct queue_job *out, struct error *e);
int pgq_list(struct pgq *q, int state, long long limit, queue_list_fn fn, void *ctx, struct error *e);
int pgq_source_has_job(struct pgq *q, long long source_id, struct error *e);

/* ---- callback outbox ---- */
int pgq_outbox_next(struct pgq *q, const struct queue_outbox_skip *skip, struct queue_callback *out,
		    struct error *e);
int pgq_outbox_done(struct pgq *q, long long id, int http_status, struct error *e);
int pgq_outbox_failed(struct pgq *q, long long id, int http_status, const char *msg,
		      long long next_at, int give_up, struct error *e);

#endif

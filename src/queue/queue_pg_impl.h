/* queue_pg_impl.h - the PostgreSQL queue backend's private parts, shared by
 * queue_pg.c (connection, statements, migrations, ingest) and
 * queue_pg_jobs.c (drain side, operating, outbox).  Not for other files. */
#ifndef KD_QUEUE_PG_IMPL_H
#define KD_QUEUE_PG_IMPL_H

#include <libpq-fe.h>
#include <stdint.h>

#include "queue.h"
#include "queue_pg.h"

/* The server's clock as Unix seconds: every lease, run_at and backoff time
 * is taken from it, never from a node's clock.  now() is the transaction's
 * start, so one transaction sees one time. */
#define PG_NOW "(floor(extract(epoch from now()))::bigint)"

#define PG_JOB_COLS "id, state, kind, priority, key, payload, source_id, attempts, max_attempts, " \
	"run_at, lease_until, lease_token, cancel_requested, last_error, result, sender_uid, " \
	"created_at, updated_at, finished_at"

/* Every statement, prepared once per connection (again after a reconnect). */
enum pg_stmt {
	P_INSERT, P_KEY_FIND, P_SCAN_FIND,
	P_COUNTER, P_CLAIM, P_RENEW, P_CANCEL_REQ, P_GET, P_GET_LOCK, P_FINISH, P_FAIL,
	P_CB_INSERT, P_EXPIRED, P_CANCEL_PENDING, P_CANCEL_RUNNING,
	P_RETRY_ONE, P_RETRY_DEAD, P_RETRY_DEAD_SCAN, P_PURGE_SEL, P_PURGE_DEL,
	P_STATS_STATES, P_STATS_COUNTERS, P_STATS_CB, P_STATS_OLDEST, P_STATS_RATE, P_LIST,
	P_SOURCE, P_OB_NEXT, P_OB_DONE, P_OB_FAILED,
	P_NSTMT
};

struct pgq {
	PGconn *conn;
	char *uri;                 /* as given; holds no password (refused at open) */
	char *password;            /* from --db-password-file, or NULL; wiped on close */
	unsigned char prepared[P_NSTMT];
	struct queue_opts opts;
	int in_tx;                 /* a BEGIN is open on conn */
	int in_group;              /* between pgq_begin and pgq_commit/rollback */
	int notify_jobs;           /* NOTIFY krigd_jobs before this transaction's COMMIT */
	double next_try;           /* monotonic seconds: no reconnect before then */
	double backoff;            /* seconds until the next reconnect after a failure */
	uint64_t rng;              /* backoff jitter */
	queue_notify_fn notify;
	void *notify_ctx;
	PGconn *listen;            /* the LISTEN connection (pgq_wake_fd), or NULL */
};

/* Run statement s with text parameters v[0..n) (NULL: SQL NULL).  The result
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK) or NULL with e filled; a lost
 * connection is KD_EIO "queue unavailable: ...", and the next call
 * reconnects (after a backoff). */
PGresult *pgq_run(struct pgq *q, enum pg_stmt s, int n, const char *const *v, struct error *e);

/* Run plain SQL without parameters (BEGIN, COMMIT, ...); 0 or < 0. */
int pgq_exec(struct pgq *q, const char *sql, struct error *e);

/* Open a transaction (reconnecting first if needed), commit it (with the
 * NOTIFY it owes), or roll it back (quietly; nothing left open). */
int pgq_tx_begin(struct pgq *q, struct error *e);
int pgq_tx_commit(struct pgq *q, struct error *e);
void pgq_tx_rollback(struct pgq *q);

/* Rows changed by a command result. */
long long pgq_changes(PGresult *r);

/* Field helpers: column i of row 0.. as long long (dflt when NULL). */
long long pgq_ll(PGresult *r, int row, int col, long long dflt);

/* Add v to counter name inside the caller's transaction. */
int pgq_counter_add(struct pgq *q, const char *name, double v, struct error *e);

/* Fill j from a row of PG_JOB_COLS. */
int pgq_read_job(PGresult *r, int row, struct queue_job *j, struct error *e);

/* v in decimal, for a text parameter. */
void pgq_num(char b[32], long long v);

/* Run s; 0 or < 0, *changes (may be NULL) gets the rows changed. */
int pgq_cmd(struct pgq *q, enum pg_stmt s, int n, const char *const *v, long long *changes,
	    struct error *e);

/* Load job id inside the caller's transaction, locked (FOR UPDATE) when
 * lock is set.  1 found, 0 not, < 0 error. */
int pgq_load_job(struct pgq *q, long long id, int lock, struct queue_job *j, struct error *e);

/* The job enters a final state: the notify hook's callback goes into the
 * outbox in the caller's transaction (senders are woken at COMMIT). */
int pgq_notify_final(struct pgq *q, const struct queue_job *j, const char *state, int attempts,
		     const char *err, const char *result, struct error *e);

/* A failed attempt of job j (locked in the caller's transaction): its next
 * state, counters and, when final, its callback. */
int pgq_fail_locked(struct pgq *q, const struct queue_job *j, int code, const char *msg,
		    int *new_state, struct error *e);

/* A random uniform double in [0, 1). */
double pgq_rand(struct pgq *q);

#endif

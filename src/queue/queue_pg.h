/* queue_pg.h - the PostgreSQL backend's private parts, shared by queue_pg.c
 * (connection, reconnects, transactions, migrations, wake-ups),
 * queue_pg_rows.c (the job rows) and queue_pg_read.c (reading, outbox).
 *
 * Every time the rules hand in comes from queue_now, which here is the
 * server's now(): nodes never compare their own clocks.  A lost connection
 * is KD_EBUSY "queue unavailable: ..." (nothing is known to have changed;
 * try again, with the same key), and the next call reconnects once its
 * backoff has passed. */
#ifndef KD_QUEUE_PG_H
#define KD_QUEUE_PG_H

#include <libpq-fe.h>

#include "queue_impl.h"

#define PG_JOB_COLS "id, state, kind, priority, key, payload, source_id, attempts, max_attempts, " \
	"run_at, lease_until, lease_token, cancel_requested, last_error, result, sender_uid, " \
	"created_at, updated_at, finished_at, claimer_boot, claimer_pidns, claimer_pid, claimer_start"

/* The server's clock as Unix seconds; now() is the transaction's start. */
#define PG_NOW "(floor(extract(epoch from now()))::bigint)"

/* Every statement, prepared once per connection (again after a reconnect). */
enum pg_stmt {
	P_NOW, P_KEY_FIND, P_SCAN_FIND, P_INSERT, P_INSERT_MANY, P_COUNTER,
	P_CLAIM, P_RENEW, P_CANCEL_REQ, P_GET, P_GET_LOCK, P_FINISH, P_FAIL,
	P_RUNNING, P_RUNNING_EXPIRED, P_CANCEL_PENDING, P_CANCEL_RUNNING,
	P_RETRY_ONE, P_RETRY_DEAD, P_RETRY_DEAD_SCAN, P_PURGE_SEL, P_PURGE_DEL, P_FILES_OWNED,
	P_ATT_START, P_ATT_END, P_ATT_LIST,
	P_STATS_STATES, P_STATS_COUNTERS, P_STATS_CB, P_STATS_OLDEST, P_STATS_RATE, P_LIST, P_SOURCE,
	P_CB_INSERT, P_OB_NEXT, P_OB_DONE, P_OB_FAILED,
	P_NSTMT
};

struct pg {
	PGconn *conn;
	char *uri;                 /* as given; holds no password (refused at open) */
	char *password;            /* PGPASSWORD-like, from a password file, or NULL */
	unsigned char prepared[P_NSTMT];
	int in_tx;                 /* a BEGIN is open on conn */
	double next_try;           /* monotonic seconds: no reconnect before then */
	double backoff;            /* seconds to wait after the next failed connect */
	PGconn *listen;            /* LISTEN krigd_wake, opened by wake_fd */
	int relisten;              /* the LISTEN connection was lost: report a wake-up */
};

extern const char *const pg_stmt_sql[P_NSTMT];

/* Run statement s with text parameters v[0..n) (NULL: SQL NULL): the result
 * (PGRES_COMMAND_OK or PGRES_TUPLES_OK), or NULL with e filled. */
PGresult *pg_run(struct queue *q, enum pg_stmt s, int n, const char *const *v, struct error *e);

/* pg_run for a command: 0 and *changes (may be NULL) the rows changed. */
int pg_cmd(struct queue *q, enum pg_stmt s, int n, const char *const *v, long long *changes,
	   struct error *e);

/* Plain SQL without parameters (BEGIN, COMMIT, ...): 0 or < 0. */
int pg_exec(struct queue *q, const char *sql, struct error *e);

/* A failed result (or lost connection) as a KD_E* code with a message. */
int pg_error(struct queue *q, PGresult *r, struct error *e, const char *what);

/* Column col of row as long long (dflt when NULL); v in decimal. */
long long pg_ll(PGresult *r, int row, int col, long long dflt);
void pg_num(char b[32], long long v);

/* Fill j from a row of PG_JOB_COLS; KD_ENOMEM when a copy failed. */
int pg_read_job(PGresult *r, int row, struct queue_job *j, struct error *e);

/* Columns col..col+3 as a claimer; a claimer as four parameters (b holds
 * their text, v[0..4) point into it or are NULL). */
void pg_read_claimer(PGresult *r, int row, int col, struct queue_claimer *c);
void pg_claimer_params(const struct queue_claimer *c, char b[3][32], const char *v[4]);

/* The row ops (queue_pg_rows.c) and the reading ops (queue_pg_read.c),
 * as the table in queue_pg.c lists them. */
int pg_key_find(struct queue *q, const char *key, long long *id, char **payload, size_t *len,
		struct error *e);
int pg_scan_pending(struct queue *q, long long *id, struct error *e);
int pg_insert(struct queue *q, const struct queue_new_job *j, long long run_at, long long now,
	      long long *id, struct error *e);
int pg_insert_many(struct queue *q, const struct queue_new_job *jobs, size_t n,
		   struct queue_enqueued *res, int *added, struct error *e);
int pg_counter_add(struct queue *q, const char *name, double v, struct error *e);
int pg_claim(struct queue *q, long long now, int lease, const char *token, const struct queue_claimer *c,
	     struct queue_job *out, struct error *e);
int pg_renew(struct queue *q, long long id, const char *token, long long now, int lease, struct error *e);
int pg_cancel_flag(struct queue *q, long long id, const char *token, struct error *e);
int pg_get(struct queue *q, long long id, struct queue_job *out, struct error *e);
int pg_set_done(struct queue *q, long long id, long long now, const char *result, struct error *e);
int pg_set_failed(struct queue *q, long long id, const struct queue_fail_row *r, struct error *e);
int pg_cancel_pending(struct queue *q, long long id, long long now, struct error *e);
int pg_cancel_running(struct queue *q, long long id, long long now, struct error *e);
int pg_running(struct queue *q, long long now, int expired_only, long long after, long long *ids,
	       struct queue_claimer *who, int max, struct error *e);
int pg_requeue(struct queue *q, long long id, int force, long long now, long long *n, struct error *e);
int pg_purge_scan(struct queue *q, long long before, int max, queue_purge_fn fn, void *ctx, long long *ids,
		  int *kept, int *stopped, struct error *e);
int pg_purge_delete(struct queue *q, long long id, long long before, int files_kept, struct error *e);
int pg_files_owned(struct queue *q, long long id, struct error *e);
int pg_attempt_start(struct queue *q, long long job_id, int n, long long now, const struct queue_claimer *c,
		     struct error *e);
int pg_attempt_end(struct queue *q, long long job_id, int n, long long now, const char *outcome,
		   const char *error, struct error *e);
int pg_stats(struct queue *q, struct queue_stats *s, struct error *e);
int pg_list(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx, struct error *e);
int pg_attempts(struct queue *q, long long job_id, queue_attempt_fn fn, void *ctx, struct error *e);
int pg_source_has_job(struct queue *q, long long source_id, struct error *e);
int pg_outbox_add(struct queue *q, long long job_id, const char *url, const char *body, size_t len,
		  long long now, struct error *e);
int pg_outbox_next(struct queue *q, long long now, const struct queue_outbox_skip *skip,
		   struct queue_callback *out, struct error *e);
int pg_outbox_mark(struct queue *q, long long id, long long now, int done, int status, const char *msg,
		   long long next_at, int give_up, struct error *e);

#endif

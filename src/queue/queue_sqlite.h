/* queue_sqlite.h - the SQLite backend's private parts, shared by
 * queue_sqlite.c (rows), queue_sqlite_open.c (open, migrations, the rules
 * of what may be opened) and queue_wake.c (wake-ups beside the file). */
#ifndef KD_QUEUE_SQLITE_H
#define KD_QUEUE_SQLITE_H

#include <sqlite3.h>
#include <time.h>

#include "queue_impl.h"
#include "queue_wake.h"

/* krigd's PRAGMA application_id: "krgd". */
#define QUEUE_SQLITE_APP_ID 0x6b726764

struct sq {
	sqlite3 *db;
	sqlite3_stmt **stmt;  /* SQ_NSTMT, prepared on first use */
	struct queue_wake wake;
	int busy_ms;          /* how long a lock is waited for (--busy-timeout) */
	struct timespec busy_t0; /* when this wait for a lock began */
};

/* Map an SQLite result to our codes: a lock is KD_EBUSY (retry later),
 * a constraint KD_EINPUT, anything else KD_EIO (the disk, a corrupt file). */
int sq_error(sqlite3 *db, int rc, struct error *e, const char *what);

/* Open, check and migrate (queue_sqlite_open.c); fills s->db. */
int sq_open_db(struct queue *q, struct sq *s, const char *path, struct error *e);

/* Every statement, prepared once per connection on first use and kept. */
enum stmt {
	S_BEGIN, S_COMMIT, S_ROLLBACK,
	S_KEY_FIND, S_INSERT, S_SCAN_FIND, S_COUNTER,
	S_CLAIM, S_RENEW, S_CANCEL_REQ, S_GET, S_FINISH, S_FAIL, S_GAUGE,
	S_CB_INSERT, S_RUNNING, S_CANCEL_PENDING, S_CANCEL_RUNNING,
	S_RETRY_ONE, S_RETRY_DEAD, S_PURGE_SEL, S_PURGE_DEL, S_PURGE_REC, S_FILES_OWNED,
	S_ATT_START, S_ATT_END, S_ATT_LIST,
	S_STATS_STATES, S_STATS_COUNTERS, S_STATS_CB, S_STATS_OLDEST, S_STATS_RATE, S_LIST, S_SOURCE,
	S_OB_NEXT, S_OB_DUE, S_OB_DONE, S_OB_FAILED,
	S_NSTMT
};

/* Helpers of queue_sqlite.c for its sibling files. */
struct sq *SQ(struct queue *q);
/* Statement s (enum stmt), prepared on first use; NULL with e filled. */
sqlite3_stmt *sq_st(struct queue *q, int s, struct error *e);
/* Step a bound statement to its end, then reset it. */
int sq_run(struct queue *q, int s, struct error *e);
void sq_done(sqlite3_stmt *s);
int sq_fail(struct error *e);
int sq_changes(struct queue *q);
int sq_dberr(struct queue *q, int rc, struct error *e, const char *what);
char *sq_col_strdup(sqlite3_stmt *p, int i, size_t *len);
long long sq_col_ll(sqlite3_stmt *p, int i, long long dflt);
void sq_read_claimer(sqlite3_stmt *p, int i, struct queue_claimer *c);
int sq_read_job(sqlite3_stmt *p, struct queue_job *j, struct error *e);

/* queue_sqlite_read.c */
int sq_attempts(struct queue *q, long long job_id, queue_attempt_fn fn, void *ctx,
		       struct error *e);
int sq_stats(struct queue *q, struct queue_stats *s, struct error *e);
int sq_list(struct queue *q, int state, long long limit, queue_list_fn fn, void *ctx,
		   struct error *e);
int sq_source_has_job(struct queue *q, long long source_id, struct error *e);
int sq_outbox_add(struct queue *q, long long job_id, const char *url, const char *body,
			 size_t len, long long now, struct error *e);
int sq_outbox_due(struct queue *q, long long now, long long *at, struct error *e);
int sq_outbox_next(struct queue *q, long long now, const struct queue_outbox_skip *skip,
			  struct queue_callback *out, struct error *e);
int sq_outbox_mark(struct queue *q, long long id, long long now, int done, int status,
			  const char *msg, long long next_at, int give_up, struct error *e);

extern const struct queue_ops queue_sqlite_ops;
int sq_stmt_count(void);

#endif

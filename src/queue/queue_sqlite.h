/* queue_sqlite.h - the SQLite backend's private parts, shared by
 * queue_sqlite.c (rows), queue_sqlite_open.c (open, migrations, the rules
 * of what may be opened) and queue_wake.c (wake-ups beside the file). */
#ifndef KD_QUEUE_SQLITE_H
#define KD_QUEUE_SQLITE_H

#include <sqlite3.h>

#include "queue_impl.h"
#include "queue_wake.h"

/* krigd's PRAGMA application_id: "krgd". */
#define QUEUE_SQLITE_APP_ID 0x6b726764

struct sq {
	sqlite3 *db;
	sqlite3_stmt **stmt;  /* SQ_NSTMT, prepared on first use */
	struct queue_wake wake;
};

/* Map an SQLite result to our codes: a lock is KD_EBUSY (retry later),
 * a constraint KD_EINPUT, anything else KD_EIO (the disk, a corrupt file). */
int sq_error(sqlite3 *db, int rc, struct error *e, const char *what);

/* Open, check and migrate (queue_sqlite_open.c); fills s->db. */
int sq_open_db(struct queue *q, struct sq *s, const char *path, struct error *e);

extern const struct queue_ops queue_sqlite_ops;
int sq_stmt_count(void);

#endif

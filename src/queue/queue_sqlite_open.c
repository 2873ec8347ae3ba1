/* queue_sqlite_open.c - opening a SQLite queue: what may be opened, the
 * schema's forward migrations, and the connection's settings.
 *
 * A krigd queue carries krigd's application_id, or (queues made before it
 * was stamped) has user_version >= 1 and a jobs table.  Only a creating
 * open (listen, drain, serve) creates an empty database, migrates and
 * stamps; nothing is written to a database before it passed these checks,
 * so a typo or a source database given as --db is left byte for byte. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "queue_sqlite.h"

extern const char queue_schema_sql[]; /* src/queue/queue_schema.c, generated */

static int latest_version(void)
{
	int latest = 0;

	for (const char *s = strstr(queue_schema_sql, "-- version "); s; s = strstr(s + 1, "-- version "))
		latest = atoi(s + 11);
	return latest;
}

static long long pragma_int(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt *v;
	long long r = 0;

	*rc = sqlite3_prepare_v2(db, sql, -1, &v, NULL);
	if (*rc == SQLITE_OK) {
		*rc = sqlite3_step(v);
		if (*rc == SQLITE_ROW) {
			r = sqlite3_column_int64(v, 0);
			*rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(v);
	return r;
}

/* Apply one section (text s, len bytes, version n) if user_version is
 * below n, in its own write transaction: user_version is read inside it,
 * so two processes opening a new database at once (serve starts listen and
 * drain together) cannot both apply a section. */
static int migrate_one(sqlite3 *db, const char *s, size_t len, int n, int latest, struct error *e)
{
	char *sql, *msg = NULL, pragma[64];
	int rc, have;

	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
	{
		sq_error(db, rc, e, "begin");
		return error_prefix(e, "migrating the queue database: ");
	}
	have = (int)pragma_int(db, "PRAGMA user_version", &rc);
	if (rc != SQLITE_OK || have > latest || n <= have) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			return sq_error(db, rc, e, "user_version");
		if (have > latest)
			return error_set(e, KD_EINPUT, "queue database schema version %d is newer than "
					 "this krigd knows (%d)", have, latest);
		return 0;
	}
	if (!(sql = malloc(len + 1))) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	memcpy(sql, s, len);
	sql[len] = '\0';
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	free(sql);
	if (rc == SQLITE_OK) {
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", n);
		rc = sqlite3_exec(db, pragma, NULL, NULL, &msg);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		error_set(e, (rc & 0xff) == SQLITE_BUSY ? KD_EBUSY : KD_EIO, "schema version %d: %s", n,
			  msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		if (!sqlite3_get_autocommit(db))
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return e ? e->code : KD_EIO;
	}
	return 0;
}

/* Every section ("-- version N") above user_version, in order.  Foreign
 * keys are off meanwhile: a section that rebuilds jobs drops the old table,
 * which must not cascade into callbacks. */
static int migrate(sqlite3 *db, struct error *e)
{
	int latest = latest_version(), rc = 0;

	sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
	for (const char *s = strstr(queue_schema_sql, "-- version "); s && rc == 0;
	     s = strstr(s + 1, "-- version ")) {
		const char *end = strstr(s + 1, "-- version ");
		size_t len = end ? (size_t)(end - s) : strlen(s);

		rc = migrate_one(db, s, len, atoi(s + 11), latest, e);
	}
	sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return rc;
}

/* What the file holds: 1 a krigd queue (*version its schema), 0 an empty
 * database, KD_EINPUT anything else (nothing written). */
static int classify(sqlite3 *db, const char *path, int *version, struct error *e)
{
	long long app, objects = 0, jobs = 0;
	int rc;

	/* One read transaction, so the four reads see one snapshot: read one
	 * by one, a queue that another process (serve's other child) creates
	 * right now could look like application_id 0, version 0 and then
	 * tables, i.e. a foreign database, and be refused for good. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	app = pragma_int(db, "PRAGMA application_id", &rc);
	if (rc == SQLITE_OK)
		*version = (int)pragma_int(db, "PRAGMA user_version", &rc);
	if (rc == SQLITE_OK)
		objects = pragma_int(db, "SELECT count(*) FROM sqlite_master", &rc);
	if (rc == SQLITE_OK)
		jobs = pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
				  "AND name = 'jobs'", &rc);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
			return error_set(e, KD_EBUSY, "queue busy");
		return error_set(e, KD_EINPUT, "%s: not a krigd queue (%s)", path, sqlite3_errstr(rc));
	}
	if (app == QUEUE_SQLITE_APP_ID || (*version >= 1 && jobs))
		return 1;
	if (app == 0 && *version == 0 && objects == 0)
		return 0;
	return error_set(e, KD_EINPUT, "%s: not a krigd queue (a database with %lld other object%s, "
			 "application_id %lld): refused, nothing changed", path, objects,
			 objects == 1 ? "" : "s", app);
}

/* SQLite's own busy handler sleeps 25 to 100 ms between tries: a writer
 * that commits batch after batch (a scan) frees the lock for a few ms at a
 * time, so such a waiter (an operator's cancel, the listener) missed every
 * gap until its time-out.  This one tries every millisecond, then every 5
 * once it has waited a second, until --busy-timeout. */
static int busy_wait(void *arg, int count)
{
	struct sq *x = arg;
	struct timespec now, nap = { 0, 1000000 };
	long long waited_ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		x->busy_t0 = now;
	waited_ms = (now.tv_sec - x->busy_t0.tv_sec) * 1000LL + (now.tv_nsec - x->busy_t0.tv_nsec) / 1000000;
	if (waited_ms >= x->busy_ms)
		return 0;
	if (waited_ms >= 1000)
		nap.tv_nsec = 5000000;
	nanosleep(&nap, NULL);
	return 1;
}

/* Settings of every connection; journal_mode only where we may write the
 * file's header (a creating open of a krigd or empty database). */
static int settings(struct queue *q, sqlite3 *db, int creating, struct error *e)
{
	char pragma[160];
	int rc;

	/* WAL: readers never block the writer; synchronous FULL fsyncs the WAL
	 * at each commit, so a reply sent after COMMIT means the job is on disk. */
	snprintf(pragma, sizeof(pragma), "%s PRAGMA synchronous = %s; PRAGMA foreign_keys = ON;%s",
		 creating ? "PRAGMA journal_mode = WAL;" : "",
		 q->opts.durability == QUEUE_DURABLE_CRASH ? "NORMAL" : "FULL",
		 /* Checkpoints inside a COMMIT would delay the reply; the owner runs
		  * them when idle instead (queue_idle). */
		 q->opts.idle_housekeeping ? " PRAGMA wal_autocheckpoint = 0;" : "");
	if ((rc = sqlite3_exec(db, pragma, NULL, NULL, NULL)) != SQLITE_OK)
		return sq_error(db, rc, e, "settings");
	return 0;
}

/* The queue's own id, from queue_meta (schema version 2). */
static int read_uid(struct queue *q, sqlite3 *db, struct error *e)
{
	sqlite3_stmt *v;
	int rc = sqlite3_prepare_v2(db, "SELECT value FROM queue_meta WHERE name = 'uid'", -1, &v, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(v)) == SQLITE_ROW) {
		const char *s = (const char *)sqlite3_column_text(v, 0);
		snprintf(q->uid, sizeof(q->uid), "%s", s ? s : "");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(v);
	if (rc != SQLITE_OK || !q->uid[0])
		return rc != SQLITE_OK ? sq_error(db, rc, e, "queue id") :
			error_set(e, KD_EIO, "queue id missing");
	return 0;
}

static int check_file(const char *path, int create, struct error *e)
{
	struct stat sb;

	if (stat(path, &sb) < 0) {
		if (errno == ENOENT && create)
			return 0;
		if (errno == ENOENT)
			return error_set(e, KD_EINPUT, "%s: no such queue database (krigd listen, drain "
					 "or serve create it)", path);
		return error_set(e, KD_EIO, "%s: %s", path, strerror(errno));
	}
	if (S_ISREG(sb.st_mode) && sb.st_size == 0 && !create)
		return error_set(e, KD_EINPUT, "%s: empty file, not a krigd queue", path);
	return 0;
}

int sq_open_db(struct queue *q, struct sq *x, const char *path, struct error *e)
{
	int create = q->opts.create, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, rc, kind,
	    version = 0, latest = latest_version();

	if ((rc = check_file(path, create, e)) < 0)
		return rc;
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if ((rc = sqlite3_open_v2(path, &x->db, flags, NULL)) != SQLITE_OK)
		return error_set(e, KD_EIO, "%s: %s", path, x->db ? sqlite3_errmsg(x->db) : sqlite3_errstr(rc));
	sqlite3_extended_result_codes(x->db, 1);
	x->busy_ms = q->opts.busy_timeout_ms;
	sqlite3_busy_handler(x->db, busy_wait, x);
	if ((kind = classify(x->db, path, &version, e)) < 0)
		return kind;
	if (!create && kind == 0)
		return error_set(e, KD_EINPUT, "%s: empty database, not a krigd queue", path);
	if (!create && version < latest)
		return error_set(e, KD_EINPUT, "%s: queue schema version %d is older than this krigd's "
				 "(%d): start krigd listen, drain or serve once to migrate it", path, version,
				 latest);
	if ((rc = settings(q, x->db, create, e)) < 0)
		return rc;
	if (create) {
		char stamp[64];

		if ((rc = migrate(x->db, e)) < 0)
			return rc;
		snprintf(stamp, sizeof(stamp), "PRAGMA application_id = %d", QUEUE_SQLITE_APP_ID);
		if ((rc = sqlite3_exec(x->db, stamp, NULL, NULL, NULL)) != SQLITE_OK)
			return sq_error(x->db, rc, e, "application_id");
	}
	return read_uid(q, x->db, e);
}

int queue_sqlite_open(struct queue *q, const char *path, struct error *e)
{
	struct sq *x = calloc(1, sizeof(*x));
	int rc;

	if (!x || !(x->stmt = calloc((size_t)sq_stmt_count(), sizeof(*x->stmt)))) {
		free(x);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	x->wake.dir_fd = x->wake.sock = x->wake.send_sock = -1;
	q->ops = &queue_sqlite_ops;
	q->impl = x;
	if ((rc = queue_wake_init(&x->wake, path, e)) < 0 || (rc = sq_open_db(q, x, path, e)) < 0) {
		if (rc != KD_EINPUT || !e || !strstr(e->msg, path))
			error_prefix(e, "%s: ", path);
		queue_sqlite_ops.close(q);
		q->ops = NULL;
		return rc;
	}
	return 0;
}

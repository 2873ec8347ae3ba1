/* source_sqlite.c - the embedded default source: table kriging_img in a
 * SQLite file, in the seed's shape:
 *   kriging_img(id_num INTEGER PRIMARY KEY, map_index TEXT, ret_data TEXT, img_list TEXT)
 * The file belongs to the user: we never create it, nor change its schema
 * or journal mode; we only read rows and set img_list of one row. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sqlite3.h>

#include "error.h"
#include "source_impl.h"

#define LIST_PAGE 256

struct sq {
	sqlite3 *db;
	sqlite3_stmt *list, *skipped, *fetch, *write, *begin, *commit, *rollback;
};

static int sql_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return KD_EBUSY;
	case SQLITE_NOMEM:
		return KD_ENOMEM;
	default:
		return KD_EIO;
	}
}

static int sql_fail(struct source *s, int rc, const char *what, struct error *e)
{
	struct sq *q = s->impl;

	return error_set(e, sql_code(rc), "source %s: %s: %s", s->name, what, sqlite3_errmsg(q->db));
}

/* Only integer ids are listed: a text id in an untyped column reads as 0
 * and would restart the paging for ever; a real one cannot be fetched by
 * id.  Those are counted in s->skipped instead. */
static int sq_list(struct source *s, source_row_fn fn, void *ctx, struct error *e)
{
	struct sq *q = s->impl;
	long long ids[LIST_PAGE], after = INT64_MIN; /* below any id */
	int rc;

	rc = sqlite3_step(q->skipped);
	if (rc == SQLITE_ROW)
		s->skipped = sqlite3_column_int64(q->skipped, 0);
	sqlite3_reset(q->skipped);
	if (rc != SQLITE_ROW)
		return sql_fail(s, rc, "counting rows whose id_num is not an integer", e);
	for (;;) {
		size_t n = 0;

		sqlite3_bind_int64(q->list, 1, after);
		sqlite3_bind_int(q->list, 2, LIST_PAGE);
		while ((rc = sqlite3_step(q->list)) == SQLITE_ROW)
			ids[n++] = sqlite3_column_int64(q->list, 0);
		sqlite3_reset(q->list);
		if (rc != SQLITE_DONE)
			return sql_fail(s, rc, "listing unrendered rows", e);
		/* The statement is reset, so no read transaction spans fn. */
		for (size_t i = 0; i < n; i++) {
			rc = fn(ctx, ids[i], e);
			if (rc)
				return rc;
		}
		if (n < LIST_PAGE)
			return 0;
		after = ids[n - 1];
	}
}

static int sq_fetch(struct source *s, long long id, char **map_index, struct json_object **ret_data,
		    struct error *e)
{
	struct sq *q = s->impl;
	const char *mi, *rd;
	char what[64];
	size_t len;
	int rc;

	sqlite3_bind_int64(q->fetch, 1, id);
	rc = sqlite3_step(q->fetch);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(q->fetch);
		return error_set(e, KD_EINPUT, "row %lld not found in %s", id, s->name);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(q->fetch);
		return sql_fail(s, rc, "reading a row", e);
	}
	mi = (const char *)sqlite3_column_text(q->fetch, 0);
	rd = (const char *)sqlite3_column_text(q->fetch, 1);
	len = (size_t)sqlite3_column_bytes(q->fetch, 1);
	if (!mi)
		rc = error_set(e, KD_EINPUT, "row %lld: map_index is NULL", id);
	else if (!rd)
		rc = error_set(e, KD_EINPUT, "row %lld: ret_data is NULL", id);
	else if (len > s->opts.max_ret_data)
		rc = error_set(e, KD_ELIMIT, "row %lld: ret_data is %zu bytes; the limit is %zu", id, len,
			       s->opts.max_ret_data);
	else {
		snprintf(what, sizeof(what), "row %lld: ret_data", id);
		rc = source_parse_json(s, rd, len, what, ret_data, e);
		if (rc == 0 && !json_object_is_type(*ret_data, json_type_array)) {
			json_object_put(*ret_data);
			*ret_data = NULL;
			rc = error_set(e, KD_EINPUT, "row %lld: ret_data is not a list of frames", id);
		}
		if (rc == 0) {
			*map_index = strdup(mi);
			if (!*map_index) {
				json_object_put(*ret_data);
				*ret_data = NULL;
				rc = error_set(e, KD_ENOMEM, "out of memory");
			}
		}
	}
	sqlite3_reset(q->fetch);
	return rc;
}

/* In one transaction: a table whose id_num is not unique gets no row
 * written rather than several. */
static int sq_write_back(struct source *s, long long id, const char *img_list_json, struct error *e)
{
	struct sq *q = s->impl;
	int rc, changed;

	if ((rc = sqlite3_step(q->begin)) != SQLITE_DONE) {
		sqlite3_reset(q->begin);
		return sql_fail(s, rc, "writing img_list", e);
	}
	sqlite3_reset(q->begin);
	sqlite3_bind_text(q->write, 1, img_list_json, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q->write, 2, id);
	rc = sqlite3_step(q->write);
	sqlite3_reset(q->write);
	sqlite3_clear_bindings(q->write); /* do not keep a pointer to the caller's text */
	changed = sqlite3_changes(q->db);
	if (rc == SQLITE_DONE && changed == 1) {
		if ((rc = sqlite3_step(q->commit)) == SQLITE_DONE) {
			sqlite3_reset(q->commit);
			return 0;
		}
		sqlite3_reset(q->commit);
	}
	if (rc == SQLITE_DONE && changed == 0)
		rc = error_set(e, KD_EINPUT, "row %lld not found in %s", id, s->name);
	else if (rc == SQLITE_DONE)
		rc = error_set(e, KD_EINPUT, "row %lld: id_num matches %d rows in %s; nothing written (id_num must be unique)",
			       id, changed, s->name);
	else
		rc = sql_fail(s, rc, "writing img_list", e);
	if (!sqlite3_get_autocommit(q->db)) {
		sqlite3_step(q->rollback);
		sqlite3_reset(q->rollback);
	}
	return rc;
}

static void sq_close(struct source *s)
{
	struct sq *q = s->impl;

	if (!q)
		return;
	sqlite3_finalize(q->list);
	sqlite3_finalize(q->skipped);
	sqlite3_finalize(q->fetch);
	sqlite3_finalize(q->write);
	sqlite3_finalize(q->begin);
	sqlite3_finalize(q->commit);
	sqlite3_finalize(q->rollback);
	sqlite3_close(q->db);
	free(q);
	s->impl = NULL;
}

static const struct source_ops sq_ops = { sq_list, sq_fetch, sq_write_back, sq_close };

static int prepare(struct source *s, const char *sql, sqlite3_stmt **st, struct error *e)
{
	struct sq *q = s->impl;
	int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);

	if (rc == SQLITE_OK)
		return 0;
	/* A missing table or column, or a file that is not a database, will
	 * not fix itself: say what shape we expect. */
	if ((rc & 0xff) == SQLITE_ERROR || (rc & 0xff) == SQLITE_NOTADB)
		return error_set(e, KD_EINPUT,
				 "source %s: %s (expected table kriging_img(id_num, map_index, ret_data, img_list))",
				 s->name, sqlite3_errmsg(q->db));
	return sql_fail(s, rc, "preparing statements", e);
}

int source_sqlite_open(struct source *s, const char *path, struct error *e)
{
	struct sq *q;
	int rc;

	if (!*path)
		return error_set(e, KD_EINPUT, "source sqlite: no file named");
	q = calloc(1, sizeof(*q));
	if (!q)
		return error_set(e, KD_ENOMEM, "out of memory");
	s->impl = q;
	s->ops = &sq_ops;
	/* Read-write but never create: a typo must not make an empty source. */
	rc = sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = error_set(e, sql_code(rc), "source %s: cannot open: %s", s->name,
			       q->db ? sqlite3_errmsg(q->db) : "out of memory");
		sq_close(s);
		return rc;
	}
	sqlite3_busy_timeout(q->db, s->opts.busy_timeout_ms);
	sqlite3_extended_result_codes(q->db, 1);
	rc = prepare(s, "SELECT id_num FROM kriging_img WHERE img_list IS NULL AND typeof(id_num) = 'integer' "
			"AND id_num > ?1 ORDER BY id_num LIMIT ?2", &q->list, e);
	if (!rc)
		rc = prepare(s, "SELECT count(*) FROM kriging_img WHERE img_list IS NULL AND "
				"typeof(id_num) <> 'integer'", &q->skipped, e);
	if (!rc)
		rc = prepare(s, "SELECT map_index, ret_data FROM kriging_img WHERE id_num = ?1", &q->fetch, e);
	if (!rc)
		rc = prepare(s, "UPDATE kriging_img SET img_list = ?1 WHERE id_num = ?2", &q->write, e);
	if (!rc)
		rc = prepare(s, "BEGIN IMMEDIATE", &q->begin, e);
	if (!rc)
		rc = prepare(s, "COMMIT", &q->commit, e);
	if (!rc)
		rc = prepare(s, "ROLLBACK", &q->rollback, e);
	if (rc) {
		sq_close(s);
		return rc;
	}
	return 0;
}

/* test_source.c - the SQLite source (seed-shaped kriging_img) and the HTTP
 * source against tests/http_server.py. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>

#include "error.h"
#include "httpd.h"
#include "source.h"
#include "tap.h"

static char tmpdir[256];

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, err);
		exit(2);
	}
}

/* A row's ret_data in the seed's form, values v0 + 1.5 i. */
static void add_row(sqlite3 *db, long long id, const char *index, const char *ret_data, const char *img_list)
{
	sqlite3_stmt *st;

	sqlite3_prepare_v2(db, "INSERT INTO kriging_img VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, index, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ret_data, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, img_list, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		fprintf(stderr, "insert %lld: %s\n", id, sqlite3_errmsg(db));
		exit(2);
	}
	sqlite3_finalize(st);
}

static const char GOOD[] =
	"[{\"pubtime\": \"2024-03-01 10:00:00\", \"time_data\": ["
	"{\"value_air\": 31.5, \"longitude\": 113.93, \"latitude\": 22.53},"
	"{\"value_air\": 35.0, \"longitude\": 113.95, \"latitude\": 22.55},"
	"{\"value_air\": 28.25, \"longitude\": 113.91, \"latitude\": 22.51}]},"
	" {\"pubtime\": \"2024-03-01 11:00:00\", \"time_data\": ["
	"{\"value_air\": 40, \"longitude\": 113.93, \"latitude\": 22.53},"
	"{\"value_air\": 41, \"longitude\": 113.95, \"latitude\": 22.55}]}]";

struct ids {
	long long v[2048];
	size_t n;
	size_t stop_after; /* 0: never */
};

static int collect(void *ctx, long long id, struct error *e)
{
	struct ids *l = ctx;

	if (l->n < 2048)
		l->v[l->n] = id;
	l->n++;
	if (l->stop_after && l->n == l->stop_after)
		return error_set(e, KD_EIO, "stopped by the caller");
	return 0;
}

/* Every row as text, to compare before and after a write-back. */
static char *snapshot(sqlite3 *db)
{
	sqlite3_stmt *st;
	size_t cap = 1 << 16, n = 0;
	char *out = malloc(cap);

	sqlite3_prepare_v2(db, "SELECT id_num, map_index, ret_data, quote(img_list) FROM kriging_img ORDER BY id_num",
			   -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (int c = 0; c < 4; c++) {
			const char *t = (const char *)sqlite3_column_text(st, c);
			size_t m = strlen(t ? t : "NULL") + 2;

			while (n + m + 1 > cap)
				out = realloc(out, cap *= 2);
			n += (size_t)sprintf(out + n, "%s|", t ? t : "NULL");
		}
		out[n++] = '\n';
		out[n] = '\0';
	}
	sqlite3_finalize(st);
	return out;
}

/* Remove "1|...\n" (row 1's line) from a snapshot. */
static void drop_line(char *s, const char *prefix)
{
	char *p = strstr(s, prefix), *nl;

	if (p && (p == s || p[-1] == '\n') && (nl = strchr(p, '\n')))
		memmove(p, nl + 1, strlen(nl + 1) + 1);
}

static void expect(int rc, int want, const struct error *e, const char *needle, const char *what)
{
	tap_ok(rc == want && (!needle || strstr(e->msg, needle)), "%s (rc %d: %s)", what, rc, rc ? e->msg : "");
}

static void test_sqlite(void)
{
	char path[512], spec[600], empty[512];
	struct source_opts o;
	struct source *s = NULL;
	struct frame_set fs;
	struct error e = { 0 };
	struct ids l = { .n = 0 };
	char *idx = NULL, *before, *after;
	sqlite3 *db, *lock;
	int rc, ok;

	snprintf(path, sizeof(path), "%s/source.db", tmpdir);
	sqlite3_open(path, &db);
	exec_sql(db, "CREATE TABLE kriging_img(id_num INTEGER PRIMARY KEY, map_index TEXT, ret_data TEXT, img_list TEXT)");
	exec_sql(db, "BEGIN");
	add_row(db, 1, "pm25", GOOD, NULL);
	add_row(db, 2, "aqi", GOOD, "{\"2024-03-01 10:00:00\": \"old.png\"}");
	add_row(db, 3, "pm10", GOOD, NULL);
	add_row(db, 4, "pm25", "[{\"pubtime\": \"x\", \"time_data\": [", NULL);
	add_row(db, 5, "pm25", NULL, NULL);
	add_row(db, 6, "pm25", "[{\"pubtime\": \"x\", \"time_data\": [{\"value_air\": 1, \"longitude\": 113.9}]}]", NULL);
	add_row(db, 7, "../../etc", GOOD, NULL);
	for (int i = 0; i < 600; i++)
		add_row(db, 1000 + i, "o3", GOOD, NULL);
	exec_sql(db, "COMMIT");

	source_opts_default(&o);
	o.busy_timeout_ms = 100;
	snprintf(spec, sizeof(spec), "sqlite:%s", path);
	rc = source_open(&s, spec, &o, &e);
	expect(rc, 0, &e, NULL, "open sqlite:PATH");
	if (rc) {
		sqlite3_close(db);
		return;
	}

	rc = source_list_unrendered(s, collect, &l, &e);
	ok = rc == 0 && l.n == 606 && l.v[0] == 1 && l.v[1] == 3 && l.v[5] == 7 && l.v[6] == 1000 && l.v[605] == 1599;
	for (size_t i = 1; ok && i < l.n; i++)
		ok = l.v[i] > l.v[i - 1];
	tap_ok(ok, "list: the 606 rows with img_list NULL, in id order, across pages (got %zu)", l.n);
	l.n = 0;
	l.stop_after = 300;
	rc = source_list_unrendered(s, collect, &l, &e);
	tap_ok(rc == KD_EIO && l.n == 300 && strstr(e.msg, "stopped"), "list: the callback's error stops it");

	rc = source_fetch(s, 1, &idx, &fs, &e);
	tap_ok(rc == 0 && idx && !strcmp(idx, "pm25") && fs.n == 2 && fs.frame[0].n == 3 && fs.frame[1].n == 2,
	       "fetch row 1: pm25, 2 frames of 3 and 2 points (rc %d %s)", rc, rc ? e.msg : "");
	if (rc == 0) {
		tap_ok(!strcmp(fs.frame[0].pubtime, "2024-03-01 10:00:00") && fs.frame[0].val[2] == 28.25 &&
			       fs.frame[0].lon[1] == 113.95 && fs.frame[0].lat[0] == 22.53 && fs.frame[1].val[1] == 41,
		       "fetch row 1: pubtime and readings as stored");
		frames_release(&fs);
		free(idx);
	}
	rc = source_fetch(s, 4, &idx, &fs, &e);
	expect(rc, KD_EINPUT, &e, "row 4", "truncated ret_data: bad input naming the row");
	tap_ok(idx == NULL && fs.n == 0 && fs.frame == NULL, "nothing left allocated after an error");
	rc = source_fetch(s, 5, &idx, &fs, &e);
	expect(rc, KD_EINPUT, &e, "row 5: ret_data is NULL", "NULL ret_data");
	rc = source_fetch(s, 6, &idx, &fs, &e);
	expect(rc, KD_EINPUT, &e, "latitude", "point without latitude: the reason is given");
	tap_ok(strstr(e.msg, "row 6") != NULL, "... and the row");
	rc = source_fetch(s, 7, &idx, &fs, &e);
	expect(rc, KD_EINPUT, &e, "map_index", "map_index that would escape --out is refused");
	rc = source_fetch(s, 99, &idx, &fs, &e);
	expect(rc, KD_EINPUT, &e, "row 99 not found", "missing row");

	before = snapshot(db);
	rc = source_write_back(s, 1, "{\"2024-03-01 10:00:00\": \"/img/pm25/1/a.png\"}", &e);
	expect(rc, 0, &e, NULL, "write-back row 1");
	rc = source_write_back(s, 1, "{\"2024-03-01 10:00:00\": \"/img/pm25/1/a.png\"}", &e);
	expect(rc, 0, &e, NULL, "write-back again: idempotent");
	after = snapshot(db);
	tap_ok(strstr(after, "1|pm25|") && strstr(after, "'{\"2024-03-01 10:00:00\": \"/img/pm25/1/a.png\"}'|"),
	       "row 1 img_list written");
	drop_line(before, "1|");
	drop_line(after, "1|");
	tap_ok(!strcmp(before, after), "every other row unchanged");
	free(before);
	free(after);
	rc = source_write_back(s, 99, "{}", &e);
	expect(rc, KD_EINPUT, &e, "row 99 not found", "write-back to a missing row");
	l.n = 0;
	l.stop_after = 0;
	source_list_unrendered(s, collect, &l, &e);
	tap_ok(l.n == 605 && l.v[0] == 3, "row 1 is no longer listed");

	/* Another connection holds the write lock past our busy time-out. */
	sqlite3_open(path, &lock);
	exec_sql(lock, "BEGIN EXCLUSIVE");
	rc = source_write_back(s, 3, "{}", &e);
	expect(rc, KD_EBUSY, &e, NULL, "locked database: busy, a transient error");
	exec_sql(lock, "ROLLBACK");
	sqlite3_close(lock);
	source_close(s);

	/* A bare path works too. */
	rc = source_open(&s, path, &o, &e);
	expect(rc, 0, &e, NULL, "open by bare path");
	source_close(s);
	snprintf(spec, sizeof(spec), "sqlite://%s", path);
	rc = source_open(&s, spec, &o, &e);
	expect(rc, 0, &e, NULL, "open by sqlite:///abs/path");
	source_close(s);

	snprintf(empty, sizeof(empty), "%s/nope.db", tmpdir);
	rc = source_open(&s, empty, &o, &e);
	tap_ok(rc < 0 && s == NULL && access(empty, F_OK) != 0, "missing file: error, and no file created (%s)", e.msg);
	snprintf(empty, sizeof(empty), "%s/empty.db", tmpdir);
	sqlite3_open(empty, &lock);
	exec_sql(lock, "CREATE TABLE other(x)");
	sqlite3_close(lock);
	rc = source_open(&s, empty, &o, &e);
	expect(rc, KD_EINPUT, &e, "kriging_img", "database without kriging_img: bad input naming the table");
	snprintf(empty, sizeof(empty), "%s/garbage.db", tmpdir);
	{
		FILE *f = fopen(empty, "w");

		fputs("this is not a database, just some text that is long enough to have a header...........", f);
		fclose(f);
	}
	rc = source_open(&s, empty, &o, &e);
	expect(rc, KD_EINPUT, &e, NULL, "a file that is not a database");
#ifdef HAVE_MYSQL
	/* Built in: spec mistakes fail before any connection is tried. */
	rc = source_open(&s, "mysql://u:hunter2@db/nanshan_db?table=kriging_img;drop", &o, &e);
	expect(rc, KD_EINPUT, &e, "table", "mysql: a table name that is not an identifier");
	tap_ok(!strstr(e.msg, "hunter2"), "mysql: the message does not hold the password (%s)", e.msg);
	rc = source_open(&s, "mysql://u:hunter2@db/nanshan_db?tabel=x", &o, &e);
	expect(rc, KD_EINPUT, &e, "tabel", "mysql: an unknown parameter is named");
	rc = source_open(&s, "mysql://u@db/?table=kriging_img", &o, &e);
	expect(rc, KD_EINPUT, &e, "database", "mysql: no database");
#else
	rc = source_open(&s, "mysql://u@db/nanshan_db", &o, &e);
	expect(rc, KD_EINPUT, &e, "MySQL", "mysql: not built in");
#endif
	rc = source_open(&s, "ftp://host/x", &o, &e);
	expect(rc, KD_EINPUT, &e, "unsupported", "ftp: unsupported");
	sqlite3_close(db);
}

/* The shipped demo data (contrib/data/sample-source.sql) must be readable
 * by the source and in the promised shape. */
static void test_sample_data(void)
{
	char path[512], sqlpath[4096], spec[600], *sql, *idx = NULL;
	const char *top = getenv("top_srcdir");
	struct source_opts o;
	struct source *s = NULL;
	struct frame_set fs;
	struct error e = { 0 };
	struct ids l = { .n = 0 };
	sqlite3 *db;
	FILE *f;
	long n;
	int ok = 1, rc;

	snprintf(sqlpath, sizeof(sqlpath), "%s/contrib/data/sample-source.sql", top ? top : ".");
	f = fopen(sqlpath, "r");
	if (!f) {
		tap_ok(0, "sample data %s readable", sqlpath);
		return;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	sql = calloc(1, (size_t)n + 1);
	if (fread(sql, 1, (size_t)n, f) != (size_t)n)
		ok = 0;
	fclose(f);
	snprintf(path, sizeof(path), "%s/sample.db", tmpdir);
	sqlite3_open(path, &db);
	exec_sql(db, sql);
	sqlite3_close(db);
	free(sql);

	source_opts_default(&o);
	snprintf(spec, sizeof(spec), "sqlite:%s", path);
	rc = source_open(&s, spec, &o, &e);
	if (rc == 0)
		rc = source_list_unrendered(s, collect, &l, &e);
	tap_ok(ok && rc == 0 && l.n >= 4, "sample data: %zu unrendered rows listed %s", l.n, rc ? e.msg : "");
	for (size_t i = 0; rc == 0 && i < l.n && ok; i++) {
		rc = source_fetch(s, l.v[i], &idx, &fs, &e);
		if (rc) {
			ok = 0;
			tap_diag(e.msg);
			break;
		}
		ok = fs.n >= 2 && fs.n <= 3;
		for (size_t k = 0; ok && k < fs.n; k++) {
			ok = fs.frame[k].n >= 15 && fs.frame[k].n <= 25;
			for (size_t j = 0; ok && j < fs.frame[k].n; j++)
				ok = fs.frame[k].lon[j] >= 113.85 && fs.frame[k].lon[j] <= 114.03 &&
				     fs.frame[k].lat[j] >= 22.44 && fs.frame[k].lat[j] <= 22.60 && fs.frame[k].val[j] >= 0;
		}
		frames_release(&fs);
		free(idx);
	}
	tap_ok(ok && rc == 0, "sample data: every row parses, 2-3 frames of 15-25 stations inside Nanshan's box");
	source_close(s);
}

static void test_http(void)
{
	struct source_opts o;
	struct source *s = NULL;
	struct frame_set fs;
	struct error e = { 0 };
	struct ids l = { .n = 0 };
	struct httpd h;
	char spec[128], why[512], *idx = NULL;
	int rc;

	if (httpd_start(&h, NULL, why, sizeof(why)) < 0) {
		tap_ok(1, "HTTP source # SKIP %s", why);
		return;
	}
	source_opts_default(&o);
	snprintf(spec, sizeof(spec), "%s/src/", h.base);
	rc = source_open(&s, spec, &o, &e);
	expect(rc, 0, &e, NULL, "open an http source");
	if (rc)
		goto out;
	rc = source_list_unrendered(s, collect, &l, &e);
	tap_ok(rc == 0 && l.n == 3 && l.v[0] == 1 && l.v[2] == 3, "list: rows 1 2 3 (got %zu) %s", l.n, e.msg);
	rc = source_fetch(s, 1, &idx, &fs, &e);
	/* The server's rows: 5 points per frame, value 30 + shift + 2.5 i. */
	tap_ok(rc == 0 && idx && !strcmp(idx, "pm25") && fs.n == 2 && fs.frame[0].n == 5 &&
		       fs.frame[0].val[4] == 40.0 && fs.frame[1].lon[1] == 113.92,
	       "fetch row 1 over HTTP (rc %d %s)", rc, rc ? e.msg : "");
	if (rc == 0) {
		frames_release(&fs);
		free(idx);
	}
	rc = source_fetch(s, 99, &idx, &fs, &e);
	expect(rc, KD_EINPUT, &e, "row 99 not found", "404: missing row, permanent");
	rc = source_write_back(s, 1, "{\"t\": \"a.png\"}", &e);
	expect(rc, 0, &e, NULL, "write-back with PUT");
	l.n = 0;
	rc = source_list_unrendered(s, collect, &l, &e);
	tap_ok(rc == 0 && l.n == 2 && l.v[0] == 2, "the server saw it: row 1 no longer listed");
	rc = source_write_back(s, 99, "{}", &e);
	expect(rc, KD_EINPUT, &e, "row 99", "write-back to a missing row");
	source_close(s);

	snprintf(spec, sizeof(spec), "%s/srcstr", h.base);
	source_open(&s, spec, &o, &e);
	rc = source_fetch(s, 2, &idx, &fs, &e);
	tap_ok(rc == 0 && !strcmp(idx, "aqi") && fs.n == 2 && fs.frame[0].val[0] == 40.0,
	       "ret_data given as a JSON string (rc %d %s)", rc, rc ? e.msg : "");
	if (rc == 0) {
		frames_release(&fs);
		free(idx);
	}
	rc = source_write_back(s, 2, "{}", &e);
	expect(rc, KD_EINPUT, &e, "does not accept", "a server without write-back (405)");
	source_close(s);

	snprintf(spec, sizeof(spec), "%s/badrow", h.base);
	source_open(&s, spec, &o, &e);
	rc = source_fetch(s, 1, &idx, &fs, &e);
	expect(rc, KD_EINPUT, &e, "latitude", "malformed ret_data over HTTP: permanent, reason given");
	source_close(s);

	snprintf(spec, sizeof(spec), "%s/src500", h.base);
	source_open(&s, spec, &o, &e);
	rc = source_fetch(s, 1, &idx, &fs, &e);
	expect(rc, KD_EIO, &e, "HTTP 500", "500: transient");
	rc = source_list_unrendered(s, collect, &l, &e);
	expect(rc, KD_EIO, &e, "HTTP 500", "500 on the list: transient");
	source_close(s);

	snprintf(spec, sizeof(spec), "%s/garbage", h.base);
	source_open(&s, spec, &o, &e);
	rc = source_fetch(s, 1, &idx, &fs, &e);
	expect(rc, KD_EIO, &e, "malformed JSON", "HTML instead of JSON: a broken server, transient");
	source_close(s);

	o.http.max_response = 64 * 1024;
	snprintf(spec, sizeof(spec), "%s/bigsrc", h.base);
	source_open(&s, spec, &o, &e);
	rc = source_fetch(s, 1, &idx, &fs, &e);
	expect(rc, KD_ELIMIT, &e, "larger than 65536", "oversized reply: limit");
	source_close(s);

	source_open(&s, "http://127.0.0.1:1/rows", &o, &e);
	rc = source_fetch(s, 1, &idx, &fs, &e);
	expect(rc, KD_EIO, &e, NULL, "server down: transient");
	source_close(s);
out:
	httpd_stop(&h);
}

/* A table whose id_num has no type (issue 13): a text id must not make the
 * paged listing start over for ever, and a duplicated id_num must not get
 * two rows written. */
static void test_sqlite_untyped(void)
{
	char path[300], spec[320], *before, *after;
	struct source_opts o;
	struct source *s = NULL;
	struct ids l = { .n = 0, .stop_after = 5000 }; /* today's code loops: stop it */
	struct error e;
	sqlite3 *db;
	int rc;

	snprintf(path, sizeof(path), "%s/untyped.db", tmpdir);
	sqlite3_open(path, &db);
	exec_sql(db, "CREATE TABLE kriging_img(id_num, map_index TEXT, ret_data TEXT, img_list TEXT)");
	exec_sql(db, "BEGIN");
	/* 254 integers, 2.5 among them and 'abc' after them: 'abc' ends the first page of 256 */
	for (int i = 1; i <= 254; i++)
		add_row(db, i, "pm25", GOOD, NULL);
	exec_sql(db, "INSERT INTO kriging_img VALUES ('abc', 'pm25', '[]', NULL), (2.5, 'pm25', '[]', NULL), "
		     "('x', 'pm25', '[]', '{}')");
	add_row(db, 300, "pm25", GOOD, "{}");
	add_row(db, 300, "pm25", GOOD, "{}"); /* id_num 300 twice */
	exec_sql(db, "COMMIT");
	source_opts_default(&o);
	snprintf(spec, sizeof(spec), "sqlite:%s", path);
	rc = source_open(&s, spec, &o, &e);
	expect(rc, 0, &e, NULL, "open a table whose id_num has no type");
	if (rc) {
		sqlite3_close(db);
		return;
	}
	rc = source_list_unrendered(s, collect, &l, &e);
	tap_ok(rc == 0 && l.n == 254 && l.v[0] == 1 && l.v[253] == 254,
	       "list: a text id as the 256th row ends the listing (rc %d, %zu rows: %s)", rc, l.n, rc ? e.msg : "");
	tap_ok(source_list_skipped(s) == 2, "... and the 2 unrendered rows whose id_num is no integer are counted "
	       "(%lld)", source_list_skipped(s));
	before = snapshot(db);
	rc = source_write_back(s, 300, "{\"t\": \"new.png\"}", &e);
	expect(rc, KD_EINPUT, &e, "2 rows", "write-back to an id_num held by 2 rows fails naming it");
	after = snapshot(db);
	tap_ok(!strcmp(before, after), "... and no row changes");
	free(before);
	free(after);
	rc = source_write_back(s, 7, "{\"t\": \"new.png\"}", &e);
	expect(rc, 0, &e, NULL, "write-back to a unique id_num still works");
	source_close(s);
	sqlite3_close(db);
}

int main(void)
{
	char cmd[300];

	snprintf(tmpdir, sizeof(tmpdir), "%s/krigd-src.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_sqlite();
	test_sqlite_untyped();
	test_sample_data();
	test_http();
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		tap_diag("could not remove the scratch directory");
	return tap_done();
}

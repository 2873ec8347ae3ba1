/* source.h - where source rows come from (docs/DESIGN.md "Source data").
 *
 * A row is (id_num, map_index, ret_data, img_list) as in the seed's table
 * kriging_img; ret_data is the frames array frames_from_json() reads.  One
 * interface, several backends chosen by the spec string:
 *   PATH, sqlite:PATH or sqlite:///ABS/PATH  a SQLite file with table
 *                         kriging_img, opened read-write, never created;
 *   http://... https://...  a JSON service, see below;
 *   mysql://USER[:PASS]@HOST[:PORT]/DB[?table=T&socket=PATH&password_file=F]
 *                         a MySQL/MariaDB table (when built with libmariadb,
 *                         else a clear error).  table defaults to kriging_img
 *                         and may be DB.TABLE ([A-Za-z0-9_] only); unix socket
 *                         form: mysql://USER@localhost/DB?socket=/run/x.sock.
 *                         The password comes from password_file (first line),
 *                         else the URL, else $KRIGD_MYSQL_PASSWORD; prefer the
 *                         file or the variable: a URL on a command line is
 *                         visible to every local user.  Unrendered means
 *                         img_list IS NULL (as the seed's final query; '' is
 *                         treated as rendered).  A lost connection is reopened
 *                         once per call; id_num must be unique.
 * HTTP protocol, for a base URL B (a query string, if any, is kept at the
 * end of every URL):
 *   GET B        -> JSON array of the ids of unrendered rows ([3, 4, ...],
 *                   or objects with "id_num");
 *   GET B/ID     -> {"id_num": ID, "map_index": "pm25", "ret_data": [...]}
 *                   (ret_data an array or a string holding one); 404 means
 *                   the row does not exist;
 *   PUT B/ID/img_list with the img_list JSON as body -> any 2xx.
 * A source handle is used by one thread at a time. */
#ifndef KD_SOURCE_H
#define KD_SOURCE_H

#include <stddef.h>

#include "http.h"
#include "trigger.h"

struct error;
struct source;

struct source_opts {
	struct trigger_limits lim;  /* for ret_data, as for inline frames */
	struct http_opts http;      /* HTTP sources; response cap default 32 MiB */
	int busy_timeout_ms;        /* SQLite busy wait, MySQL lock wait (whole s); 5000 */
	size_t max_ret_data;        /* bytes of one row's ret_data, default 32 MiB */
};

void source_opts_default(struct source_opts *o);

/* Open the source named by spec.  KD_EINPUT for a spec that can never
 * work (unknown scheme, mysql: when not built in, no kriging_img table,
 * a password the server refuses), KD_EIO if it cannot
 * be reached now.  *s is NULL on error. */
int source_open(struct source **s, const char *spec, const struct source_opts *o, struct error *e);

/* 1 when spec carries a password in its URL (mysql://USER:PASSWORD@...).
 * The commands refuse such a --source: a command line, and the argv serve
 * gives its drain child, are visible to every local user. */
int source_spec_has_password(const char *spec);

/* 1 when spec names a SQLite file (a path or sqlite:PATH): a source only
 * the host that holds the file can use; 0 for MySQL and HTTP(S). */
int source_spec_is_file(const char *spec);

/* Called once per unrendered row; a non-zero return stops the listing and
 * is returned by source_list_unrendered (set e before returning it). */
typedef int (*source_row_fn)(void *ctx, long long id, struct error *e);

/* Every row whose img_list is NULL, in id order, streamed in pages so
 * memory stays bounded and no read lock is held while fn runs (fn may use
 * other databases).  The caller skips rows that already have a job. */
int source_list_unrendered(struct source *s, source_row_fn fn, void *ctx, struct error *e);

/* Unrendered rows the last source_list_unrendered passed over because their
 * id_num is not an integer (a text or real id in an untyped column): they
 * can never be fetched by id, so they are counted, never listed. */
long long source_list_skipped(const struct source *s);

/* Row id's map_index (allocated, free()) and frames (frames_release()).
 * KD_EINPUT for a missing row or malformed ret_data (permanent; the message
 * names the row and the reason), KD_ELIMIT past a limit, KD_EIO / KD_EBUSY
 * when it may work later.  On error nothing is left allocated. */
int source_fetch(struct source *s, long long id, char **map_index, struct frame_set *frames, struct error *e);

/* Set img_list of row id, and only that row, to img_list_json.  Writing
 * the same value again is harmless (a re-run job does).  KD_EINPUT if the
 * row does not exist. */
int source_write_back(struct source *s, long long id, const char *img_list_json, struct error *e);

/* A short description for logs ("sqlite:PATH", "http://host/path",
 * "mysql://user@host/db?table=t"), never holding a password. */
const char *source_name(const struct source *s);

void source_close(struct source *s);

#endif

/* source_impl.h - what a source backend provides; private to source*.c. */
#ifndef KD_SOURCE_IMPL_H
#define KD_SOURCE_IMPL_H

#include "source.h"

struct json_object;

struct source_ops {
	int (*list)(struct source *s, source_row_fn fn, void *ctx, struct error *e);
	/* Fill *map_index and *ret_data (the array, a new reference). */
	int (*fetch)(struct source *s, long long id, char **map_index, struct json_object **ret_data,
		     struct error *e);
	int (*write_back)(struct source *s, long long id, const char *img_list_json, struct error *e);
	void (*close)(struct source *s);
};

struct source {
	const struct source_ops *ops;
	struct source_opts opts;
	char name[256];
	long long skipped;          /* set by list: rows whose id is not an integer */
	void *impl;
};

int source_sqlite_open(struct source *s, const char *path, struct error *e);
int source_http_open(struct source *s, const char *url, struct error *e);
#ifdef HAVE_MYSQL
/* Sets s->name itself: the spec may hold a password. */
int source_mysql_open(struct source *s, const char *spec, struct error *e);
#endif

/* Parse text[0..len) as strict JSON within the source limits.  KD_EINPUT
 * naming what (e.g. "row 7: ret_data") on bad JSON. */
int source_parse_json(const struct source *s, const char *text, size_t len, const char *what,
		      struct json_object **out, struct error *e);

/* ret_data may be the array itself or a string holding it (a TEXT column
 * passed through as a JSON string); give back the array (new reference). */
int source_ret_data_array(const struct source *s, long long id, struct json_object *v,
			  struct json_object **arr, struct error *e);

#endif

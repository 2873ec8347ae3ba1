/* source.c - see source.h: the spec, the shared JSON rules, dispatch. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "error.h"
#include "json_strict.h"
#include "source_impl.h"

void source_opts_default(struct source_opts *o)
{
	trigger_limits_default(&o->lim);
	http_opts_default(&o->http);
	o->http.max_response = 32u << 20;
	o->busy_timeout_ms = 5000;
	o->max_ret_data = 32u << 20;
}

int source_open(struct source **out, const char *spec, const struct source_opts *o, struct error *e)
{
	struct source *s;
	int rc;

	*out = NULL;
	if (!spec || !*spec)
		return error_set(e, KD_EINPUT, "source: empty name");
	s = calloc(1, sizeof(*s));
	if (!s)
		return error_set(e, KD_ENOMEM, "out of memory");
	s->opts = *o;
	if (strncasecmp(spec, "http://", 7) == 0 || strncasecmp(spec, "https://", 8) == 0) {
		http_url_for_log(spec, s->name, sizeof(s->name));
		rc = source_http_open(s, spec, e);
	} else if (strncasecmp(spec, "mysql:", 6) == 0) {
#ifdef HAVE_MYSQL
		rc = source_mysql_open(s, spec, e); /* sets s->name, without the password */
#else
		rc = error_set(e, KD_EINPUT, "source %s: krigd was not built with MySQL support", "mysql:...");
#endif
	} else if (strncmp(spec, "sqlite:", 7) == 0) {
		const char *path = spec + 7;

		/* sqlite:///abs/path, the URL habit, means /abs/path. */
		if (strncmp(path, "//", 2) == 0)
			path += 2;
		snprintf(s->name, sizeof(s->name), "sqlite:%s", path);
		rc = source_sqlite_open(s, path, e);
	} else if (strstr(spec, "://")) {
		/* Anything else that looks like a URL is a mistake, not a file. */
		rc = error_set(e, KD_EINPUT, "source %.*s: unsupported kind (use a SQLite path, sqlite:, http(s):)",
			       (int)strcspn(spec, ":"), spec);
	} else {
		snprintf(s->name, sizeof(s->name), "sqlite:%s", spec);
		rc = source_sqlite_open(s, spec, e);
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int source_parse_json(const struct source *s, const char *text, size_t len, const char *what,
		      struct json_object **out, struct error *e)
{
	const struct trigger_limits *lim = &s->opts.lim;
	const char *why;
	size_t bad, i = 0;
	int rc;

	*out = NULL;
	if (len > (size_t)0x7fffffff)
		return error_set(e, KD_ELIMIT, "%s: %zu bytes is too large", what, len);
	while (i < len && strchr(" \t\r\n", text[i]))
		i++;
	rc = json_strict_parse(text + i, len - i, lim->max_depth, out, &bad, &why);
	if (rc == -2)
		return error_set(e, KD_ELIMIT, "%s: JSON nested deeper than %d levels", what, lim->max_depth);
	if (rc == -3)
		return error_set(e, KD_ENOMEM, "out of memory");
	if (rc < 0)
		return error_set(e, KD_EINPUT, "%s: malformed JSON at byte %zu: %s", what, i + bad, why);
	if (!json_object_is_type(*out, json_type_array) && !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		return error_set(e, KD_EINPUT, "%s: expected a JSON array or object", what);
	}
	return 0;
}

int source_ret_data_array(const struct source *s, long long id, struct json_object *v,
			  struct json_object **arr, struct error *e)
{
	char what[64];

	*arr = NULL;
	if (json_object_is_type(v, json_type_array)) {
		*arr = json_object_get(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_string)) {
		snprintf(what, sizeof(what), "row %lld: ret_data", id);
		return source_parse_json(s, json_object_get_string(v), (size_t)json_object_get_string_len(v), what,
					 arr, e);
	}
	return error_set(e, KD_EINPUT, "row %lld: ret_data is %s, not a list of frames", id,
			 v ? json_type_to_name(json_object_get_type(v)) : "missing");
}

int source_list_unrendered(struct source *s, source_row_fn fn, void *ctx, struct error *e)
{
	s->skipped = 0;
	return s->ops->list(s, fn, ctx, e);
}

long long source_list_skipped(const struct source *s)
{
	return s->skipped;
}

int source_fetch(struct source *s, long long id, char **map_index, struct frame_set *frames, struct error *e)
{
	struct json_object *arr = NULL;
	int rc;

	*map_index = NULL;
	memset(frames, 0, sizeof(*frames));
	rc = s->ops->fetch(s, id, map_index, &arr, e);
	if (rc < 0)
		return rc;
	/* map_index names a directory under --out: the rule of an inline
	 * "index", so no row can write outside it. */
	if (!trigger_name_ok(*map_index, 32)) {
		json_object_put(arr);
		free(*map_index);
		*map_index = NULL;
		return error_set(e, KD_EINPUT, "row %lld: map_index must be 1 to 32 letters, digits, '_' or '-'", id);
	}
	rc = frames_from_json(frames, arr, &s->opts.lim, e);
	json_object_put(arr);
	if (rc < 0) {
		error_prefix(e, "row %lld: ret_data: ", id);
		free(*map_index);
		*map_index = NULL;
		return rc;
	}
	return 0;
}

int source_write_back(struct source *s, long long id, const char *img_list_json, struct error *e)
{
	return s->ops->write_back(s, id, img_list_json, e);
}

const char *source_name(const struct source *s)
{
	return s->name;
}

void source_close(struct source *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s);
}

int source_spec_is_file(const char *spec)
{
	return strncasecmp(spec, "http://", 7) != 0 && strncasecmp(spec, "https://", 8) != 0 &&
	       strncasecmp(spec, "mysql:", 6) != 0;
}

int source_spec_has_password(const char *spec)
{
	const char *p, *end, *at = NULL;

	if (strncasecmp(spec, "mysql://", 8) != 0)
		return 0;
	p = spec + 8;
	end = p + strcspn(p, "/?#");
	for (const char *c = p; c < end; c++)
		if (*c == '@')
			at = c; /* the userinfo ends at the last '@' before the path */
	return at && memchr(p, ':', (size_t)(at - p)) != NULL;
}

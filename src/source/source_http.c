/* source_http.c - rows served as JSON over HTTP(S); the protocol is in
 * source.h.  Every exchange goes through http_exchange, so time-outs, the
 * response cap and the address guard are those of the callback sender.
 * A reply that is not JSON at all is taken as a broken server or proxy
 * (transient, KD_EIO); a well-formed row with bad ret_data is the row's
 * fault (permanent, KD_EINPUT). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "source_impl.h"

struct hs {
	char *base;  /* without a trailing '/' or the query */
	char *query; /* "?..." or "" */
};

/* base + "/" + tail + query, allocated. */
static char *make_url(const struct hs *h, const char *tail)
{
	size_t n = strlen(h->base) + strlen(tail) + strlen(h->query) + 2;
	char *u = malloc(n);

	if (u)
		snprintf(u, n, "%s%s%s%s", h->base, *tail ? "/" : "", tail, h->query);
	return u;
}

/* Judge a status: what the caller may do about a non-2xx answer. */
static int status_error(struct source *s, long status, long long id, struct error *e)
{
	if (status >= 200 && status <= 299)
		return 0;
	if (status == 404 && id >= 0)
		return error_set(e, KD_EINPUT, "row %lld not found in %s (HTTP 404)", id, s->name);
	if (status >= 500 || status == 408 || status == 429)
		return error_set(e, KD_EIO, "source %s: HTTP %ld", s->name, status);
	if (status >= 300 && status <= 399)
		return error_set(e, KD_EINPUT, "source %s: HTTP %ld (redirects are not followed)", s->name, status);
	return error_set(e, KD_EINPUT, "source %s: HTTP %ld", s->name, status);
}

static int get_json(struct source *s, const char *tail, long long id, struct json_object **out, struct error *e)
{
	struct hs *h = s->impl;
	struct http_request q = { .method = "GET", .keep_body = 1 };
	struct http_response r;
	char *url = make_url(h, tail);
	int rc;

	*out = NULL;
	if (!url)
		return error_set(e, KD_ENOMEM, "out of memory");
	q.url = url;
	rc = http_exchange(&s->opts.http, &q, &r, e);
	free(url);
	if (rc == 0)
		rc = status_error(s, r.status, id, e);
	if (rc == 0) {
		char what[64];

		if (id >= 0)
			snprintf(what, sizeof(what), "row %lld", id);
		else
			snprintf(what, sizeof(what), "row list");
		rc = source_parse_json(s, r.body, r.len, what, out, e);
		if (rc == KD_EINPUT) {
			error_prefix(e, "source %s: ", s->name);
			if (e)
				e->code = KD_EIO;
			rc = KD_EIO;
		}
	}
	http_response_release(&r);
	return rc;
}

static int hs_list(struct source *s, source_row_fn fn, void *ctx, struct error *e)
{
	struct json_object *arr;
	size_t n;
	int rc = get_json(s, "", -1, &arr, e);

	if (rc)
		return rc;
	if (!json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return error_set(e, KD_EIO, "source %s: the row list is not a JSON array", s->name);
	}
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i), *idv = v;

		if (json_object_is_type(v, json_type_object))
			json_object_object_get_ex(v, "id_num", &idv);
		if (!json_object_is_type(idv, json_type_int)) {
			rc = error_set(e, KD_EIO, "source %s: row list item %zu is not an id", s->name, i);
			break;
		}
		rc = fn(ctx, json_object_get_int64(idv), e);
	}
	json_object_put(arr);
	return rc;
}

static int hs_fetch(struct source *s, long long id, char **map_index, struct json_object **ret_data,
		    struct error *e)
{
	struct json_object *row, *v;
	char tail[32];
	int rc;

	snprintf(tail, sizeof(tail), "%lld", id);
	rc = get_json(s, tail, id, &row, e);
	if (rc)
		return rc;
	if (!json_object_is_type(row, json_type_object)) {
		rc = error_set(e, KD_EIO, "source %s: row %lld: the reply is not a JSON object", s->name, id);
		goto out;
	}
	if (json_object_object_get_ex(row, "id_num", &v) &&
	    (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) != id)) {
		rc = error_set(e, KD_EINPUT, "source %s: asked for row %lld, got another id_num", s->name, id);
		goto out;
	}
	if (!json_object_object_get_ex(row, "map_index", &v) || !json_object_is_type(v, json_type_string)) {
		rc = error_set(e, KD_EINPUT, "row %lld: map_index missing or not a string", id);
		goto out;
	}
	*map_index = strdup(json_object_get_string(v));
	if (!*map_index) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
		goto out;
	}
	v = NULL;
	json_object_object_get_ex(row, "ret_data", &v);
	rc = source_ret_data_array(s, id, v, ret_data, e);
	if (rc == 0 && !json_object_is_type(*ret_data, json_type_array)) {
		json_object_put(*ret_data);
		*ret_data = NULL;
		rc = error_set(e, KD_EINPUT, "row %lld: ret_data is not a list of frames", id);
	}
	if (rc) {
		free(*map_index);
		*map_index = NULL;
	}
out:
	json_object_put(row);
	return rc;
}

static int hs_write_back(struct source *s, long long id, const char *img_list_json, struct error *e)
{
	static const char *const headers[] = { "Content-Type: application/json", NULL };
	struct hs *h = s->impl;
	struct http_request q = { .method = "PUT", .headers = headers, .body = img_list_json,
				  .len = strlen(img_list_json) };
	struct http_response r;
	char tail[48], *url;
	int rc;

	snprintf(tail, sizeof(tail), "%lld/img_list", id);
	url = make_url(h, tail);
	if (!url)
		return error_set(e, KD_ENOMEM, "out of memory");
	q.url = url;
	rc = http_exchange(&s->opts.http, &q, &r, e);
	free(url);
	http_response_release(&r);
	if (rc)
		return rc;
	if (r.status == 405 || r.status == 501)
		return error_set(e, KD_EINPUT, "source %s does not accept img_list write-back (HTTP %ld)", s->name,
				 r.status);
	return status_error(s, r.status, id, e);
}

static void hs_close(struct source *s)
{
	struct hs *h = s->impl;

	if (!h)
		return;
	free(h->base);
	free(h->query);
	free(h);
	s->impl = NULL;
}

static const struct source_ops hs_ops = { hs_list, hs_fetch, hs_write_back, hs_close };

int source_http_open(struct source *s, const char *url, struct error *e)
{
	size_t n = strcspn(url, "?#");
	struct hs *h;

	if (strlen(url) > 2048)
		return error_set(e, KD_EINPUT, "source URL longer than 2048 bytes");
	h = calloc(1, sizeof(*h));
	if (!h)
		return error_set(e, KD_ENOMEM, "out of memory");
	s->impl = h;
	s->ops = &hs_ops;
	h->base = strndup(url, n);
	h->query = url[n] == '?' ? strndup(url + n, strcspn(url + n, "#")) : strdup("");
	if (!h->base || !h->query) {
		hs_close(s);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	/* Nothing is fetched here: a server that is down now may be up at the
	 * first job, and that is a job's transient error, not a startup one. */
	return 0;
}

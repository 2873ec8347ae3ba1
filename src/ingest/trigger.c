/* trigger.c - see trigger.h */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "callback.h"
#include "error.h"
#include "json_strict.h"
#include "krige.h"
#include "outputs.h"
#include "palette.h"
#include "trigger.h"

void trigger_limits_default(struct trigger_limits *lim)
{
	lim->max_bytes = 192 * 1024;
	lim->max_depth = 32;
	lim->max_frames = 1000;
	lim->max_points = 10000;
	lim->max_width = 8000;
}

static int is_json_start(char c)
{
	return c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') ||
	       c == 't' || c == 'f' || c == 'n';
}

/* Text whose first character could start a JSON value other than an
 * object or array (n, t, f, a digit, '-', '"') was read as JSON: say so,
 * and how a ping is sent, for someone who meant one ("new data", "2024
 * ready"); "" for '{' and '['. */
static const char *ping_rule(char c)
{
	if (c == '{' || c == '[')
		return "";
	return " (text that starts with {, [, \", -, a digit, t, f or n is read as JSON; any other text is a "
	       "ping, one scan job: send e.g. \"ping\")";
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void trigger_trim(const char *buf, size_t len, size_t *start, size_t *end)
{
	size_t i = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && is_space(buf[i]))
		i++;
	while (len > i && is_space(buf[len - 1]))
		len--;
	*start = i;
	*end = len;
}

/* A name that becomes part of a file path: [A-Za-z0-9_-], 1..max bytes. */
int trigger_name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* The HJ 633 index a trigger's "index" names, in its canonical spelling
 * ("PM2.5", "PM25", "pm2_5" are "pm25"): compared case-insensitively with
 * '.' and '_' dropped.  NULL for another name (it keeps the plain rule of
 * trigger_name_ok).  The result is a static string. */
static const char *known_index(const char *s)
{
	static const char *const names[] = { "aqi", "pm25", "pm10", "so2", "no2", "co", "o3",
					     "so2_24h", "no2_24h", "co_24h", "o3_8h" };
	char a[40], b[40];
	size_t n = 0;

	for (; *s && n + 1 < sizeof(a); s++)
		if (*s != '.' && *s != '_')
			a[n++] = (char)tolower((unsigned char)*s);
	if (*s)
		return NULL;
	a[n] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t m = 0;

		for (const char *c = names[i]; *c; c++)
			if (*c != '_')
				b[m++] = *c;
		b[m] = '\0';
		if (strcmp(a, b) == 0)
			return names[i];
	}
	return NULL;
}

/* A number field: JSON number, or a numeric string (the seed's MySQL rows
 * sometimes carry them), or null meaning "no reading" (NaN, dropped later). */
static int point_number(struct json_object *o, double *out)
{
	char *end;

	switch (json_object_get_type(o)) {
	case json_type_null:
		*out = NAN;
		return 0;
	case json_type_int:
	case json_type_double:
		*out = json_object_get_double(o);
		return 0;
	case json_type_string: {
		const char *s = json_object_get_string(o);
		errno = 0;
		*out = strtod(s, &end);
		if (end == s || *end != '\0' || errno == ERANGE)
			return -1;
		/* "nan" / "inf" strings are data errors, not readings. */
		if (!isfinite(*out))
			return -1;
		return 0;
	}
	default:
		return -1;
	}
}

static void frame_release(struct frame *f)
{
	free(f->pubtime);
	free(f->lon);
	free(f->lat);
	free(f->val);
	memset(f, 0, sizeof(*f));
}

void frames_release(struct frame_set *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		frame_release(&fs->frame[i]);
	free(fs->frame);
	fs->frame = NULL;
	fs->n = 0;
}

static int frame_from_json(struct frame *f, size_t fi, struct json_object *o, const struct trigger_limits *lim,
			   struct error *e)
{
	static const char *const fields[3] = { "longitude", "latitude", "value_air" };
	struct json_object *pt, *pts;
	size_t n;

	if (!json_object_is_type(o, json_type_object))
		return error_set(e, KD_EINPUT, "frames[%zu]: expected an object with pubtime and points", fi);
	if (!json_object_object_get_ex(o, "pubtime", &pt) || !json_object_is_type(pt, json_type_string))
		return error_set(e, KD_EINPUT, "frames[%zu].pubtime: expected a string", fi);
	if (json_object_get_string_len(pt) == 0 || json_object_get_string_len(pt) > 64)
		return error_set(e, KD_EINPUT, "frames[%zu].pubtime: must be 1 to 64 characters", fi);
	if (!json_object_object_get_ex(o, "points", &pts) && !json_object_object_get_ex(o, "time_data", &pts))
		return error_set(e, KD_EINPUT, "frames[%zu]: no \"points\" (or \"time_data\") array", fi);
	if (!json_object_is_type(pts, json_type_array))
		return error_set(e, KD_EINPUT, "frames[%zu].points: expected an array", fi);
	n = json_object_array_length(pts);
	if (n == 0)
		return error_set(e, KD_EINPUT, "frames[%zu] (%s) has no points", fi, json_object_get_string(pt));
	if (n > lim->max_points)
		return error_set(e, KD_ELIMIT, "frames[%zu] has %zu points; the limit is %zu", fi, n,
				 lim->max_points);

	f->pubtime = strdup(json_object_get_string(pt));
	f->lon = malloc(n * sizeof(double));
	f->lat = malloc(n * sizeof(double));
	f->val = malloc(n * sizeof(double));
	if (!f->pubtime || !f->lon || !f->lat || !f->val)
		return error_set(e, KD_ENOMEM, "out of memory reading frames[%zu]", fi);
	f->n = n;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(pts, i), *v;
		double *dst[3] = { &f->lon[i], &f->lat[i], &f->val[i] };

		if (!json_object_is_type(p, json_type_object))
			return error_set(e, KD_EINPUT, "frames[%zu].points[%zu]: expected an object", fi, i);
		for (int k = 0; k < 3; k++) {
			if (!json_object_object_get_ex(p, fields[k], &v))
				return error_set(e, KD_EINPUT, "frames[%zu].points[%zu]: missing \"%s\"", fi, i,
						 fields[k]);
			if (point_number(v, dst[k]) < 0)
				return error_set(e, KD_EINPUT, "frames[%zu].points[%zu].%s: expected a number",
						 fi, i, fields[k]);
		}
		/* NaN (null) is a missing reading, dropped later; a number outside
		 * the globe is a data error that would otherwise draw a flat map. */
		if (fabs(f->lat[i]) > 90 || fabs(f->lon[i]) > 180)
			return error_set(e, KD_EINPUT,
					 "frames[%zu].points[%zu]: %s %g is outside %s (longitude and latitude swapped?)",
					 fi, i, fabs(f->lat[i]) > 90 ? "latitude" : "longitude",
					 fabs(f->lat[i]) > 90 ? f->lat[i] : f->lon[i], fabs(f->lat[i]) > 90 ? "-90..90" : "-180..180");
	}
	return 0;
}

int frames_from_json(struct frame_set *fs, struct json_object *arr, const struct trigger_limits *lim,
		     struct error *e)
{
	size_t n;
	int rc;

	memset(fs, 0, sizeof(*fs));
	if (!json_object_is_type(arr, json_type_array))
		return error_set(e, KD_EINPUT, "frames: expected an array of frames");
	n = json_object_array_length(arr);
	if (n == 0)
		return error_set(e, KD_EINPUT, "frames: the list is empty; a job needs at least one frame");
	if (n > lim->max_frames)
		return error_set(e, KD_ELIMIT, "frames: %zu frames; the limit is %zu", n, lim->max_frames);
	fs->frame = calloc(n, sizeof(*fs->frame));
	if (!fs->frame)
		return error_set(e, KD_ENOMEM, "out of memory reading %zu frames", n);
	fs->n = n;
	for (size_t i = 0; i < n; i++) {
		rc = frame_from_json(&fs->frame[i], i, json_object_array_get_idx(arr, i), lim, e);
		if (rc < 0)
			goto fail;
		/* Two frames with one pubtime would write the same file. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(fs->frame[j].pubtime, fs->frame[i].pubtime) == 0) {
				rc = error_set(e, KD_EINPUT, "frames[%zu]: pubtime \"%s\" repeats frames[%zu]", i,
					       fs->frame[i].pubtime, j);
				goto fail;
			}
	}
	return 0;
fail:
	frames_release(fs);
	return rc;
}

void trigger_release(struct trigger *t)
{
	frames_release(&t->frames);
	if (t->root)
		json_object_put(t->root);
	memset(t, 0, sizeof(*t));
}

static int get_string(struct json_object *v, const char *name, size_t max, const char **out, struct error *e)
{
	if (!json_object_is_type(v, json_type_string))
		return error_set(e, KD_EINPUT, "\"%s\": expected a string", name);
	if ((size_t)json_object_get_string_len(v) > max)
		return error_set(e, KD_EINPUT, "\"%s\": longer than %zu bytes", name, max);
	*out = json_object_get_string(v);
	return 0;
}

static int get_int(struct json_object *v, const char *name, long long lo, long long hi, long long *out,
		   struct error *e)
{
	if (!json_object_is_type(v, json_type_int))
		return error_set(e, KD_EINPUT, "\"%s\": expected an integer", name);
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno == ERANGE || *out < lo || *out > hi)
		return error_set(e, KD_EINPUT, "\"%s\": must be between %lld and %lld", name, lo, hi);
	return 0;
}

static int get_bool(struct json_object *v, const char *name, int *out, struct error *e)
{
	if (!json_object_is_type(v, json_type_boolean))
		return error_set(e, KD_EINPUT, "\"%s\": expected true or false", name);
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_finite(struct json_object *v, const char *name, double *out, struct error *e)
{
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return error_set(e, KD_EINPUT, "\"%s\": expected a number", name);
	*out = json_object_get_double(v);
	if (!isfinite(*out))
		return error_set(e, KD_EINPUT, "\"%s\": must be finite", name);
	return 0;
}

/* "range": [min, max] of a ramp, finite, min < max. */
static int get_range(struct json_object *v, struct trigger *t, struct error *e)
{
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 2)
		return error_set(e, KD_EINPUT, "\"range\": expected [min, max]");
	for (size_t i = 0; i < 2; i++)
		if (get_finite(json_object_array_get_idx(v, i), i ? "range[1]" : "range[0]", &t->range[i], e) < 0)
			return e->code;
	if (!(t->range[0] < t->range[1]))
		return error_set(e, KD_EINPUT, "\"range\": min must be less than max");
	t->has_range = 1;
	return 0;
}

static int model_parse(const char *name, int *model)
{
	static const struct { const char *name; int model; } models[] = {
		{ "exponential", VGM_EXPONENTIAL }, { "gaussian", VGM_GAUSSIAN }, { "spherical", VGM_SPHERICAL },
		{ "matern", VGM_MATERN },
	};
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strcmp(name, models[i].name) == 0) {
			*model = models[i].model;
			return 0;
		}
	return -1;
}

/* "kappa" (top level or in "variogram"): the matern smoothness. */
static int get_kappa(struct json_object *v, const char *what, double *out, struct error *e)
{
	if (get_finite(v, what, out, e) < 0)
		return e->code;
	if (!(*out > 0 && *out <= VGM_KAPPA_MAX))
		return error_set(e, KD_EINPUT, "\"%s\": must be greater than 0 and at most %g", what, VGM_KAPPA_MAX);
	return 0;
}

/* A given variogram: ordinary kriging takes gstat's {model, nugget, psill,
 * range} (and "kappa" for matern); kriging.js its own {model, nugget,
 * range, sill}. */
static int check_variogram(struct trigger *t, struct json_object *v, struct error *e)
{
	const char *need[4] = { "nugget", t->method == METHOD_KRIGINGJS ? "sill" : "psill", "range", NULL };
	struct json_object *m, *x;
	const char *name;
	double d;
	int model;

	if (!json_object_is_type(v, json_type_object))
		return error_set(e, KD_EINPUT, "\"variogram\": expected an object {model, nugget, %s, range}",
				 need[1]);
	if (!json_object_object_get_ex(v, "model", &m) && !t->has_model)
		return error_set(e, KD_EINPUT, "\"variogram\": needs a \"model\"");
	if (json_object_object_get_ex(v, "model", &m)) {
		if (get_string(m, "variogram.model", 32, &name, e) < 0)
			return e->code;
		if (model_parse(name, &model) < 0)
			return error_set(e, KD_EINPUT,
					 "\"variogram.model\": \"%s\" is not one of exponential, gaussian, spherical, "
					 "matern", name);
		if (t->has_model && model != t->model)
			return error_set(e, KD_EINPUT, "\"model\" and \"variogram.model\" disagree");
		t->has_model = 1;
		t->model = model;
	}
	for (int i = 0; need[i]; i++) {
		char what[32];

		snprintf(what, sizeof(what), "variogram.%s", need[i]);
		if (!json_object_object_get_ex(v, need[i], &x))
			return error_set(e, KD_EINPUT, "\"variogram\": missing \"%s\"", need[i]);
		if (get_finite(x, what, &d, e) < 0)
			return e->code;
		if (d < 0 || (i > 0 && d <= 0))
			return error_set(e, KD_EINPUT, "\"%s\": must be %s", what,
					 i == 0 ? "zero or more" : "greater than zero");
	}
	json_object_object_foreach(v, key, val) {
		(void)val;
		if (strcmp(key, "model") && strcmp(key, "nugget") && strcmp(key, need[1]) && strcmp(key, "range") &&
		    (strcmp(key, "kappa") || t->model != VGM_MATERN))
			return error_set(e, KD_EINPUT, "\"variogram\": unknown field \"%s\"%s", key,
					 strcmp(key, "kappa") ? "" : " (kappa goes with the matern model)");
	}
	if (t->model == VGM_MATERN) {
		if (!json_object_object_get_ex(v, "kappa", &x))
			return error_set(e, KD_EINPUT, "\"variogram\": the matern model needs \"kappa\"");
		if (get_kappa(x, "variogram.kappa", &d, e) < 0)
			return e->code;
		if (t->kappa > 0 && d != t->kappa)
			return error_set(e, KD_EINPUT, "\"kappa\" and \"variogram.kappa\" disagree");
		t->kappa = d;
	}
	t->variogram = v;
	return 0;
}

/* gstat's neighbourhood ("nmax", "maxdist") and "cv", ordinary kriging's. */
static int nbhd_field(struct trigger *t, const char *key, struct json_object *val, const struct trigger_limits *lim,
		      struct error *e)
{
	long long n;
	int rc;

	if (!strcmp(key, "nmax")) {
		rc = get_int(val, key, 1, (long long)lim->max_points, &n, e);
		t->nmax = (long)n;
		return rc;
	}
	if (!strcmp(key, "maxdist")) {
		rc = get_finite(val, key, &t->maxdist, e);
		if (rc == 0 && !(t->maxdist > 0 && t->maxdist <= TRIGGER_MAXDIST_MAX))
			rc = error_set(e, KD_EINPUT, "\"maxdist\": must be greater than 0 and at most %g (metres)",
				       TRIGGER_MAXDIST_MAX);
		return rc;
	}
	return get_bool(val, key, &t->cv, e);
}

static int trigger_kind(struct trigger *t, struct json_object *frames, int has_source,
			const struct trigger_limits *lim, struct error *e);

/* The check the drain applies before delivery, here at ingest, so a URL
 * that can never be delivered (CR/LF, user:password, another scheme, a
 * metadata address) is refused to its sender instead of dying later. */
static int callback_check(const char *url, struct error *e)
{
	struct callback_opts o;
	struct error ce = { 0 };

	callback_opts_default(&o);
	if (callback_url_check(url, &o, &ce) < 0)
		return error_set(e, ce.code, "\"callback\": %s", ce.msg);
	return 0;
}

/* "outputs": ["png", "cog", ...], names of the outputs table (outputs.h),
 * at least one; "variance" among them asks the kriging for it. */
static int get_outputs(struct json_object *val, struct trigger *t, struct error *e)
{
	size_t n;

	if (!json_object_is_type(val, json_type_array) || (n = json_object_array_length(val)) == 0 ||
	    n > 4 * OUTPUT_COUNT)
		return error_set(e, KD_EINPUT, "\"outputs\": expected a list of 1 to %d names (png, grid, ...)",
				 4 * OUTPUT_COUNT);
	t->outputs = 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_array_get_idx(val, i);
		const char *name = json_object_get_string(x);
		int k;

		if (!json_object_is_type(x, json_type_string))
			return error_set(e, KD_EINPUT, "\"outputs\"[%zu]: expected a name", i);
		k = outputs_find(name);
		if (outputs_check(k, e) < 0)
			return error_prefix(e, "\"outputs\": \"%.32s\" is ", name);
		t->outputs |= OUTPUT_BIT(k);
	}
	t->has_outputs = 1;
	if (t->outputs & OUTPUT_BIT(OUTPUT_VARIANCE))
		t->variance = 1;
	if (t->outputs & OUTPUT_BIT(OUTPUT_GRID))
		t->grid = 1;
	return 0;
}

/* The fields that say how to draw a job (size, files, colours, model,
 * method): 0 when KEY is one of them and its value is good, a negative
 * code with the reason when it is bad, 1 when KEY is not one of them. */
static int render_field(struct trigger *t, const char *key, struct json_object *val,
			struct json_object **variogram, const struct trigger_limits *lim, struct error *e)
{
	long long n;
	int rc = 0;

	if (!strcmp(key, "width")) {
		rc = get_int(val, key, 1, lim->max_width, &n, e);
		t->width = (int)n;
	} else if (!strcmp(key, "grid")) {
		int on = 0;
		rc = get_bool(val, key, &on, e);
		t->grid |= on; /* with "outputs", the union */
	} else if (!strcmp(key, "variance")) {
		int on = 0;
		rc = get_bool(val, key, &on, e);
		t->variance |= on;
	} else if (!strcmp(key, "outputs")) {
		rc = get_outputs(val, t, e);
	} else if (!strcmp(key, "legend")) {
		rc = get_bool(val, key, &t->legend, e);
	} else if (!strcmp(key, "colors")) {
		const char *name;
		enum palette_mode m;
		rc = get_string(val, key, 32, &name, e);
		if (rc == 0 && palette_mode_parse(name, &m) < 0)
			rc = error_set(e, KD_EINPUT, "\"colors\": \"%s\" is not one of levels, smooth, ramp", name);
		t->colors = rc == 0 ? (int)m : 0;
	} else if (!strcmp(key, "range")) {
		rc = get_range(val, t, e);
	} else if (!strcmp(key, "model")) {
		const char *name;
		rc = get_string(val, key, 32, &name, e);
		if (rc == 0 && !strcmp(name, "auto"))
			t->model_auto = 1;
		else if (rc == 0 && model_parse(name, &t->model) < 0)
			rc = error_set(e, KD_EINPUT, "\"model\": \"%s\" is not one of auto, exponential, gaussian, "
				       "spherical, matern", name);
		else
			t->has_model = 1;
	} else if (!strcmp(key, "kappa")) {
		rc = get_kappa(val, key, &t->kappa, e);
	} else if (!strcmp(key, "variogram")) {
		*variogram = val;
	} else if (!strcmp(key, "method")) {
		const char *name;
		rc = get_string(val, key, 32, &name, e);
		if (rc == 0 && !strcmp(name, "ordinary"))
			t->method = METHOD_ORDINARY;
		else if (rc == 0 && !strcmp(name, "kriging.js"))
			t->method = METHOD_KRIGINGJS;
		else if (rc == 0)
			rc = error_set(e, KD_EINPUT, "\"method\": \"%s\" is not ordinary or kriging.js", name);
	} else if (!strcmp(key, "nmax") || !strcmp(key, "maxdist") || !strcmp(key, "cv")) {
		rc = nbhd_field(t, key, val, lim, e);
	} else if (!strcmp(key, "sigma2")) {
		rc = get_finite(val, key, &t->sigma2, e);
		if (rc == 0 && t->sigma2 < 0)
			rc = error_set(e, KD_EINPUT, "\"sigma2\": must be zero or more");
	} else if (!strcmp(key, "alpha")) {
		rc = get_finite(val, key, &t->alpha, e);
		if (rc == 0 && t->alpha <= 0)
			rc = error_set(e, KD_EINPUT, "\"alpha\": must be greater than zero");
	} else {
		return 1;
	}
	return rc;
}


static int trigger_fields(struct trigger *t, const struct trigger_limits *lim, struct error *e)
{
	struct json_object *frames = NULL, *variogram = NULL;
	long long n;
	int has_source = 0;

	json_object_object_foreach(t->root, key, val) {
		int rc = 0;

		if (!strcmp(key, "source_id")) {
			rc = get_int(val, key, 1, INT64_MAX, &n, e);
			t->source_id = n;
			has_source = 1;
		} else if (!strcmp(key, "index")) {
			const char *k;

			rc = get_string(val, key, 32, &t->index, e);
			if (rc == 0 && (k = known_index(t->index)))
				t->index = k;
			else if (rc == 0 && !trigger_name_ok(t->index, 32))
				rc = error_set(e, KD_EINPUT, "\"index\": use letters, digits, '_' or '-'");
		} else if (!strcmp(key, "boundary")) {
			if (json_object_is_type(val, json_type_string)) {
				t->boundary_name = json_object_get_string(val);
				if (!trigger_name_ok(t->boundary_name, 64))
					rc = error_set(e, KD_EINPUT, "\"boundary\": a name uses letters, digits, '_' or '-'");
			} else if (json_object_is_type(val, json_type_object) ||
				   json_object_is_type(val, json_type_array)) {
				t->boundary = val;
			} else {
				rc = error_set(e, KD_EINPUT, "\"boundary\": expected GeoJSON, a ring list or a name");
			}
		} else if (!strcmp(key, "frames")) {
			frames = val;
		} else if (!strcmp(key, "req")) {
			rc = get_string(val, key, TRIGGER_REQ_MAX, &t->req, e);
		} else if (!strcmp(key, "callback")) {
			rc = get_string(val, key, 2048, &t->callback, e);
			if (rc == 0)
				rc = callback_check(t->callback, e);
		} else if (!strcmp(key, "key")) {
			rc = get_string(val, key, 128, &t->key, e);
			if (rc == 0 && t->key[0] == '\0')
				rc = error_set(e, KD_EINPUT, "\"key\": must not be empty");
		} else if (!strcmp(key, "priority")) {
			rc = get_int(val, key, TRIGGER_PRIORITY_MIN, TRIGGER_PRIORITY_MAX, &n, e);
			t->priority = (int)n;
		} else if (!strcmp(key, "max_attempts")) {
			rc = get_int(val, key, 1, TRIGGER_ATTEMPTS_MAX, &n, e);
			t->max_attempts = (int)n;
		} else if ((rc = render_field(t, key, val, &variogram, lim, e)) == 1) {
			rc = error_set(e, KD_EINPUT, "unknown field \"%s\"", key);
		}
		if (rc < 0)
			return rc;
	}
	/* After the loop, so field order in the object does not matter. */
	if (variogram && check_variogram(t, variogram, e) < 0)
		return e->code;
	if ((t->sigma2 != 0 || t->alpha != 100) && t->method != METHOD_KRIGINGJS)
		return error_set(e, KD_EINPUT, "\"sigma2\" and \"alpha\" go with \"method\": \"kriging.js\"");
	if (t->kappa > 0 && !(t->has_model && t->model == VGM_MATERN))
		return error_set(e, KD_EINPUT, "\"kappa\" goes with \"model\": \"matern\"");
	if (t->has_model && t->model == VGM_MATERN && t->method == METHOD_KRIGINGJS)
		return error_set(e, KD_EINPUT, "\"method\": \"kriging.js\" has no matern model");
	if (t->model_auto && (t->variogram || t->method == METHOD_KRIGINGJS))
		return error_set(e, KD_EINPUT, "\"model\": \"auto\" chooses a fitted model: not with %s",
				 t->variogram ? "a given \"variogram\"" : "\"method\": \"kriging.js\" (it fits its own)");
	if (t->variance && t->method == METHOD_KRIGINGJS)
		return error_set(e, KD_EINPUT, "\"method\": \"kriging.js\" has no variance");
	if (t->method == METHOD_KRIGINGJS && (t->nmax || isfinite(t->maxdist) || t->cv >= 0))
		return error_set(e, KD_EINPUT, "\"method\": \"kriging.js\" has no %s (it kriges globally)",
				 t->nmax ? "\"nmax\"" : isfinite(t->maxdist) ? "\"maxdist\"" : "cross-validation (\"cv\")");
	if (t->has_range && t->colors && t->colors != PALETTE_MODE_RAMP)
		return error_set(e, KD_EINPUT, "\"range\" goes with \"colors\": \"ramp\", not \"%s\"",
				 palette_mode_name((enum palette_mode)t->colors));
	return trigger_kind(t, frames, has_source, lim, e);
}

/* Source or inline, once every field is read: one of the two, whole. */
static int trigger_kind(struct trigger *t, struct json_object *frames, int has_source,
			const struct trigger_limits *lim, struct error *e)
{
	if (has_source) {
		if (frames || t->index || t->boundary || t->boundary_name)
			return error_set(e, KD_EINPUT,
					 "give either \"source_id\" or an inline job (index, boundary, frames), not both");
		t->kind = TRIGGER_SOURCE;
		return 0;
	}
	if (!t->index && !frames)
		return error_set(e, KD_EINPUT,
				 "a trigger needs \"source_id\", or \"index\" and \"frames\" for an inline job");
	if (!t->index)
		return error_set(e, KD_EINPUT, "an inline job needs \"index\" (pm25, aqi, ...)");
	if (!frames)
		return error_set(e, KD_EINPUT, "an inline job needs \"frames\"");
	if (t->has_range && !t->colors) {
		struct palette p;
		if (palette_init(&p, t->index, 0, 0))
			return error_set(e, KD_EINPUT, "\"range\": index \"%s\" is coloured by its HJ 633 levels; add \"colors\": \"ramp\"",
					 t->index);
	}
	t->kind = TRIGGER_INLINE;
	return frames_from_json(&t->frames, frames, lim, e);
}

int trigger_parse(struct trigger *t, const char *buf, size_t len, const struct trigger_limits *lim,
		  struct error *e)
{
	const char *why;
	size_t bad, i, end;
	int rc;

	memset(t, 0, sizeof(*t));
	t->max_attempts = 5;
	t->width = 1000;
	t->legend = -1;
	t->alpha = 100;
	t->maxdist = INFINITY;
	t->cv = -1;
	if (len > lim->max_bytes)
		return error_set(e, KD_ELIMIT, "trigger too large: %zu bytes; the limit is %zu", len, lim->max_bytes);
	if (!json_utf8_valid(buf, len, &bad))
		return error_set(e, KD_EINPUT, "not valid UTF-8 (byte %zu)", bad);
	trigger_trim(buf, len, &i, &end);
	if (i == end)
		return error_set(e, KD_EINPUT, "empty datagram");
	if (!is_json_start(buf[i])) {
		t->kind = TRIGGER_PING;
		return 0;
	}

	rc = json_strict_parse(buf + i, end - i, lim->max_depth, &t->root, &bad, &why);
	if (rc == -2)
		return error_set(e, KD_ELIMIT, "JSON nested deeper than %d levels", lim->max_depth);
	if (rc == -3)
		return error_set(e, KD_ENOMEM, "out of memory parsing the trigger");
	if (rc < 0)
		return error_set(e, KD_EINPUT, "malformed JSON at byte %zu: %s%s", i + bad, why, ping_rule(buf[i]));
	if (!json_object_is_type(t->root, json_type_object)) {
		trigger_release(t);
		return error_set(e, KD_EINPUT, "a trigger must be a JSON object%s", ping_rule(buf[i]));
	}
	rc = trigger_fields(t, lim, e);
	if (rc < 0) {
		trigger_release(t);
		return rc;
	}
	return 0;
}

void trigger_req_of(const char *buf, size_t len, char *out, size_t outlen)
{
	struct json_tokener *tok;
	struct json_object *root, *req;
	const char *s;
	size_t n, bad;

	if (outlen)
		out[0] = '\0';
	if (len == 0 || outlen == 0)
		return;
	tok = json_tokener_new_ex(32);
	if (!tok)
		return;
	root = json_tokener_parse_ex(tok, buf, (int)len);
	if (root && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "req", &req) && json_object_is_type(req, json_type_string)) {
		s = json_object_get_string(req);
		n = (size_t)json_object_get_string_len(req);
		if (n < outlen && json_utf8_valid(s, n, &bad))
			memcpy(out, s, n + 1);
	}
	if (root)
		json_object_put(root);
	json_tokener_free(tok);
}

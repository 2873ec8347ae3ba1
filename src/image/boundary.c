/* boundary.c - see boundary.h */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "boundary.h"

/* Coordinates outside longitude/latitude are most often a projected file
 * (metres: EPSG:3857, a national grid); GeoJSON is WGS 84 degrees. */
#define PROJECTED_HINT \
	": the boundary looks projected (metres, e.g. EPSG:3857), and GeoJSON is longitude and latitude " \
	"in degrees; convert it with: ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson"
#include "error.h"
#include "readfile.h"

/* GeometryCollections may nest; a bound keeps a hostile in-memory object
 * from recursing without end (text is already bounded by json-c's depth). */
#define MAX_NESTING 16

struct parser {
	struct boundary *b;
	size_t cap;     /* allocated entries of b->rings */
	size_t npoints; /* points kept so far, over all rings */
	struct error *e;
};

static int is_number(struct json_object *o)
{
	return json_object_is_type(o, json_type_double) || json_object_is_type(o, json_type_int);
}

/* A point is an array whose first element is a number ([lon, lat, ...]). */
static int looks_like_point(struct json_object *o)
{
	return json_object_is_type(o, json_type_array) && json_object_array_length(o) > 0 &&
	       is_number(json_object_array_get_idx(o, 0));
}

/* Distinct points among the n of pt, counted up to 3: a second point
 * unlike the first and a third unlike both (linear, no sorting needed). */
static size_t distinct_points(const double *pt, size_t n)
{
	size_t distinct = n > 0 ? 1 : 0, j2 = 0;

	for (size_t i = 1; i < n && distinct < 3; i++) {
		double lon = pt[2 * i], lat = pt[2 * i + 1];

		if (lon == pt[0] && lat == pt[1])
			continue;
		if (distinct == 1) {
			j2 = i;
			distinct = 2;
		} else if (lon != pt[2 * j2] || lat != pt[2 * j2 + 1]) {
			distinct = 3;
		}
	}
	return distinct;
}

static int add_ring(struct parser *p, struct json_object *arr)
{
	size_t ringno = p->b->nrings + 1;
	size_t len, n = 0, i, distinct;
	double *pt;

	if (!json_object_is_type(arr, json_type_array))
		return error_set(p->e, KD_EINPUT, "ring %zu is not a list of [longitude, latitude] points", ringno);
	len = json_object_array_length(arr);
	if (len > BOUNDARY_MAX_POINTS || p->npoints + len > BOUNDARY_MAX_POINTS)
		return error_set(p->e, KD_ELIMIT, "the boundary has more than %d points (ring %zu has %zu)",
				 BOUNDARY_MAX_POINTS, ringno, len);
	if (len == 0)
		return error_set(p->e, KD_EINPUT, "ring %zu is empty; a ring needs 3 points", ringno);
	pt = malloc(len * 2 * sizeof(*pt));
	if (!pt)
		return error_set(p->e, KD_ENOMEM, "out of memory for ring %zu (%zu points)", ringno, len);
	for (i = 0; i < len; i++) {
		struct json_object *q = json_object_array_get_idx(arr, i);
		struct json_object *x, *y;
		double lon, lat;

		if (!json_object_is_type(q, json_type_array) || json_object_array_length(q) < 2) {
			free(pt);
			return error_set(p->e, KD_EINPUT, "ring %zu, point %zu: a point must be [longitude, latitude]",
					 ringno, i + 1);
		}
		x = json_object_array_get_idx(q, 0);
		y = json_object_array_get_idx(q, 1);
		if (!is_number(x) || !is_number(y)) {
			free(pt);
			return error_set(p->e, KD_EINPUT, "ring %zu, point %zu: coordinates must be numbers",
					 ringno, i + 1);
		}
		lon = json_object_get_double(x);
		lat = json_object_get_double(y);
		if (!isfinite(lon) || !isfinite(lat)) {
			free(pt);
			return error_set(p->e, KD_EINPUT, "ring %zu, point %zu: coordinates must be finite numbers",
					 ringno, i + 1);
		}
		if (lon < -180 || lon > 180 || lat < -90 || lat > 90) {
			free(pt);
			return error_set(p->e, KD_EINPUT, "ring %zu, point %zu: %s %g is outside [%s]%s", ringno, i + 1,
					 lon < -180 || lon > 180 ? "longitude" : "latitude",
					 lon < -180 || lon > 180 ? lon : lat,
					 lon < -180 || lon > 180 ? "-180, 180" : "-90, 90", PROJECTED_HINT);
		}
		/* A repeated point adds no edge; dropping it keeps edges non-degenerate. */
		if (n > 0 && pt[2 * (n - 1)] == lon && pt[2 * (n - 1) + 1] == lat)
			continue;
		pt[2 * n] = lon;
		pt[2 * n + 1] = lat;
		n++;
	}
	/* GeoJSON closes rings by repeating the first point; the edge back to the
	 * first point is implied here, so the copy is dropped. */
	while (n > 1 && pt[2 * (n - 1)] == pt[0] && pt[2 * (n - 1) + 1] == pt[1])
		n--;
	distinct = distinct_points(pt, n);
	if (distinct < 3) {
		free(pt);
		return error_set(p->e, KD_EINPUT, "ring %zu has %zu distinct point%s; a ring needs 3",
				 ringno, distinct, distinct == 1 ? "" : "s");
	}
	if (p->b->nrings == p->cap) {
		size_t ncap = p->cap ? 2 * p->cap : 4;
		struct ring *r = realloc(p->b->rings, ncap * sizeof(*r));

		if (!r) {
			free(pt);
			return error_set(p->e, KD_ENOMEM, "out of memory for ring %zu", ringno);
		}
		p->b->rings = r;
		p->cap = ncap;
	}
	p->b->rings[p->b->nrings].n = n;
	p->b->rings[p->b->nrings].pt = pt;
	p->b->nrings++;
	p->npoints += n;
	return 0;
}

/* A list of rings (Polygon coordinates) or, nested, of polygons (MultiPolygon
 * coordinates); a list whose first element is a point is one ring. */
static int add_nested(struct parser *p, struct json_object *arr, int depth, const char *what)
{
	size_t i, len;
	int rc;

	if (!json_object_is_type(arr, json_type_array))
		return error_set(p->e, KD_EINPUT, "%s must be a list of rings", what);
	if (depth > 2)
		return error_set(p->e, KD_EINPUT, "%s is nested too deeply to be rings of [longitude, latitude]", what);
	len = json_object_array_length(arr);
	if (len > 0 && looks_like_point(json_object_array_get_idx(arr, 0)))
		return add_ring(p, arr);
	for (i = 0; i < len; i++) {
		struct json_object *sub = json_object_array_get_idx(arr, i);

		/* Check the type first: json-c asserts on indexing a non-array. */
		if (!json_object_is_type(sub, json_type_array) ||
		    looks_like_point(json_object_array_get_idx(sub, 0)))
			rc = add_ring(p, sub);
		else
			rc = add_nested(p, sub, depth + 1, what);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_object(struct parser *p, struct json_object *obj, int depth);

static int add_array_member(struct parser *p, struct json_object *obj, const char *key, int depth)
{
	struct json_object *arr;
	size_t i, len;
	int rc;

	if (!json_object_object_get_ex(obj, key, &arr) || !json_object_is_type(arr, json_type_array))
		return error_set(p->e, KD_EINPUT, "a GeoJSON %s needs a \"%s\" list",
				 strcmp(key, "features") == 0 ? "FeatureCollection" : "GeometryCollection", key);
	len = json_object_array_length(arr);
	for (i = 0; i < len; i++) {
		rc = add_object(p, json_object_array_get_idx(arr, i), depth + 1);
		if (rc)
			return error_prefix(p->e, "%s %zu: ", strcmp(key, "features") == 0 ? "feature" : "geometry",
					    i + 1);
	}
	return 0;
}

static int add_object(struct parser *p, struct json_object *obj, int depth)
{
	struct json_object *t, *v;
	const char *type;

	if (depth > MAX_NESTING)
		return error_set(p->e, KD_EINPUT, "GeoJSON nested more than %d levels deep", MAX_NESTING);
	if (json_object_is_type(obj, json_type_array))
		return add_nested(p, obj, 0, "the boundary");
	if (!json_object_is_type(obj, json_type_object))
		return error_set(p->e, KD_EINPUT,
				 "a boundary must be a GeoJSON object or a list of rings, not %s",
				 is_number(obj) ? "a number" : json_object_is_type(obj, json_type_string) ? "a string" :
				 json_object_is_type(obj, json_type_boolean) ? "true or false" : "null");
	if (!json_object_object_get_ex(obj, "type", &t) || !json_object_is_type(t, json_type_string))
		return error_set(p->e, KD_EINPUT, "a GeoJSON object needs a \"type\" string");
	type = json_object_get_string(t);
	if (strcmp(type, "Polygon") == 0 || strcmp(type, "MultiPolygon") == 0) {
		if (!json_object_object_get_ex(obj, "coordinates", &v))
			return error_set(p->e, KD_EINPUT, "a GeoJSON %s needs \"coordinates\"", type);
		/* A Polygon is a list of rings, a MultiPolygon one level deeper. */
		if (!json_object_is_type(v, json_type_array))
			return error_set(p->e, KD_EINPUT, "the %s's coordinates must be a list", type);
		return add_nested(p, v, type[0] == 'M' ? 0 : 1, type);
	}
	if (strcmp(type, "Feature") == 0) {
		/* RFC 7946 allows a Feature without geometry; it adds nothing. */
		if (!json_object_object_get_ex(obj, "geometry", &v) || v == NULL)
			return 0;
		return add_object(p, v, depth + 1);
	}
	if (strcmp(type, "FeatureCollection") == 0)
		return add_array_member(p, obj, "features", depth);
	if (strcmp(type, "GeometryCollection") == 0)
		return add_array_member(p, obj, "geometries", depth);
	return error_set(p->e, KD_EINPUT,
			 "GeoJSON type \"%.40s\" is not an area; expected Polygon, MultiPolygon, Feature or FeatureCollection",
			 type);
}

/* An edge spanning more than 180 degrees of longitude is the short way
 * across the antimeridian (RFC 7946 3.1.9): the box of such a district
 * would span the globe and a grid could not be drawn on it.  Refused, with
 * the edge named, rather than rendered as a map of the whole Earth. */
static int check_antimeridian(const struct boundary *b, struct error *e)
{
	for (size_t i = 0; i < b->nrings; i++) {
		const struct ring *r = &b->rings[i];

		for (size_t j = 0; j < r->n; j++) {
			size_t k = (j + 1) % r->n;
			double a = r->pt[2 * j], c = r->pt[2 * k];

			if (fabs(c - a) > 180)
				return error_set(e, KD_EINPUT, "ring %zu crosses the antimeridian (180 degrees of longitude) "
						 "between points %zu and %zu (longitude %g to %g): a boundary across it is "
						 "not supported; give one on one side of it", i + 1, j + 1, k + 1, a, c);
		}
	}
	return 0;
}

int boundary_from_json(struct boundary *b, struct json_object *obj, struct error *e)
{
	struct parser p = { b, 0, 0, e };
	size_t i, j;
	int rc;

	*b = (struct boundary)BOUNDARY_INIT;
	if (!obj)
		return error_set(e, KD_EINPUT, "the boundary is null");
	rc = add_object(&p, obj, 0);
	if (rc == 0 && b->nrings == 0)
		rc = error_set(e, KD_EINPUT, "the boundary has no rings");
	if (rc) {
		boundary_release(b);
		return rc;
	}
	if ((rc = check_antimeridian(b, e)) < 0) {
		boundary_release(b);
		return rc;
	}
	b->west = b->east = b->rings[0].pt[0];
	b->south = b->north = b->rings[0].pt[1];
	for (i = 0; i < b->nrings; i++) {
		for (j = 0; j < b->rings[i].n; j++) {
			double lon = b->rings[i].pt[2 * j], lat = b->rings[i].pt[2 * j + 1];

			b->west = fmin(b->west, lon);
			b->east = fmax(b->east, lon);
			b->south = fmin(b->south, lat);
			b->north = fmax(b->north, lat);
		}
	}
	if (!(b->east > b->west) || !(b->north > b->south)) {
		rc = error_set(e, KD_EINPUT, "the boundary's bounding box has zero area "
			       "(%.9g..%.9g east, %.9g..%.9g north)", b->west, b->east, b->south, b->north);
		boundary_release(b);
		return rc;
	}
	return 0;
}

int boundary_from_text(struct boundary *b, const char *text, size_t len, struct error *e)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t used;
	int rc;

	*b = (struct boundary)BOUNDARY_INIT;
	if (len > INT_MAX)
		return error_set(e, KD_ELIMIT, "boundary text of %zu bytes is too large", len);
	tok = json_tokener_new();
	if (!tok)
		return error_set(e, KD_ENOMEM, "out of memory for the JSON parser");
	obj = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (!obj && jerr == json_tokener_continue) {
		/* A bare number at the very end is only complete once the
		 * tokener sees the text end: feed it a terminating NUL. */
		obj = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		used = len;
	}
	json_tokener_free(tok);
	if (!obj) {
		if (jerr == json_tokener_success) /* the text was JSON null */
			return error_set(e, KD_EINPUT, "the boundary is null");
		if (jerr == json_tokener_continue)
			return error_set(e, KD_EINPUT, "the boundary is not valid JSON: it ends too early");
		return error_set(e, KD_EINPUT, "the boundary is not valid JSON: %s at byte %zu",
				 json_tokener_error_desc(jerr), used);
	}
	/* Only white space may follow the value (a NUL ends the text too). */
	for (; used < len && text[used]; used++) {
		if (!strchr(" \t\r\n", text[used])) {
			json_object_put(obj);
			return error_set(e, KD_EINPUT, "the boundary is not valid JSON: extra text at byte %zu", used);
		}
	}
	rc = boundary_from_json(b, obj, e);
	json_object_put(obj);
	return rc;
}

int boundary_from_file(struct boundary *b, const char *path, struct error *e)
{
	char *buf;
	size_t len;
	int rc;

	*b = (struct boundary)BOUNDARY_INIT;
	if ((rc = readfile_capped(path, BOUNDARY_MAX_FILE, &buf, &len, e)) < 0)
		return error_prefix(e, "boundary: ");
	rc = boundary_from_text(b, buf, len, e);
	free(buf);
	if (rc)
		error_prefix(e, "%s: ", path);
	return rc;
}

int boundary_contains(const struct boundary *b, double lon, double lat)
{
	int inside = 0;
	size_t i, j;

	for (i = 0; i < b->nrings; i++) {
		const struct ring *r = &b->rings[i];
		double x0 = r->pt[2 * (r->n - 1)], y0 = r->pt[2 * (r->n - 1) + 1];

		for (j = 0; j < r->n; j++) {
			double x1 = r->pt[2 * j], y1 = r->pt[2 * j + 1];

			if ((y0 > lat) != (y1 > lat) && lon < boundary_edge_x(x0, y0, x1, y1, lat))
				inside = !inside;
			x0 = x1;
			y0 = y1;
		}
	}
	return inside;
}

void boundary_release(struct boundary *b)
{
	size_t i;

	for (i = 0; i < b->nrings; i++)
		free(b->rings[i].pt);
	free(b->rings);
	*b = (struct boundary)BOUNDARY_INIT;
}

/* test_boundary.c - every accepted boundary form, every refusal, even-odd. */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "boundary.h"
#include "error.h"
#include "tap.h"

static int parse(struct boundary *b, const char *text, struct error *e)
{
	error_clear(e);
	return boundary_from_text(b, text, strlen(text), e);
}

/* Parse text expecting failure with code and a message containing word. */
static void refuse(const char *text, int code, const char *word, const char *what)
{
	struct boundary b = BOUNDARY_INIT;
	struct error e;
	int rc = parse(&b, text, &e);

	tap_ok(rc == code && strstr(e.msg, word) && b.nrings == 0 && b.rings == NULL,
	       "%s: refused with \"%s\"", what, e.msg);
	if (rc != code)
		printf("# rc %d want %d\n", rc, code);
	boundary_release(&b);
}

/* Parse text expecting nrings rings of n points each (n[i]). */
static void accept(const char *text, size_t nrings, const size_t *n, const char *what)
{
	struct boundary b = BOUNDARY_INIT;
	struct error e;
	int rc = parse(&b, text, &e), good = rc == 0 && b.nrings == nrings;
	size_t i;

	for (i = 0; good && i < nrings; i++)
		good = b.rings[i].n == n[i];
	tap_ok(good, "%s: %zu ring(s) of the expected sizes%s%s", what, nrings, rc ? ": " : "", rc ? e.msg : "");
	boundary_release(&b);
}

#define SQ "[[0,0],[10,0],[10,10],[0,10]]"
#define SQC "[[0,0],[10,0],[10,10],[0,10],[0,0]]"
#define HOLE "[[4,4],[6,4],[6,6],[4,6],[4,4]]"

static void test_forms(void)
{
	static const size_t four[] = { 4, 4, 4 }, mixed[] = { 4, 3 };
	struct boundary b = BOUNDARY_INIT;
	struct error e;

	accept("{\"type\":\"Polygon\",\"coordinates\":[" SQ "]}", 1, four, "Polygon, unclosed ring");
	accept("{\"type\":\"Polygon\",\"coordinates\":[" SQC "]}", 1, four, "Polygon, closed ring drops its copy");
	accept("{\"type\":\"Polygon\",\"coordinates\":[" SQC "," HOLE "]}", 2, four, "Polygon with a hole");
	accept("{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQ "],[[[20,0],[21,0],[21,1]]]]}", 2, mixed,
	       "MultiPolygon");
	accept("{\"type\":\"Feature\",\"properties\":{\"name\":\"x\"},\"geometry\":"
	       "{\"type\":\"Polygon\",\"coordinates\":[" SQ "]}}", 1, four, "Feature");
	accept("{\"type\":\"FeatureCollection\",\"features\":["
	       "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[" SQ "]}},"
	       "{\"type\":\"Feature\",\"geometry\":null},"
	       "{\"type\":\"Feature\",\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[[[[20,0],[21,0],[21,1],[20,0]]]]}}]}",
	       2, mixed, "FeatureCollection: every feature's polygons, null geometry skipped");
	accept("{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Polygon\",\"coordinates\":[" SQ "]}]}",
	       1, four, "GeometryCollection");
	accept("[" SQ "," SQC "]", 2, four, "bare ring list");
	accept(SQ, 1, four, "single bare ring");
	accept("  [[[0,0,5],[10,0,5],[10,10,5],[0,10,5]]]\n", 1, four, "altitudes ignored, white space around");
	accept("[[[0,0],[10,0],[10,0],[10,10],[0,10]]]", 1, four, "a repeated point is dropped");

	tap_ok(parse(&b, "{\"type\":\"Polygon\",\"coordinates\":[[[1,2],[3,-4],[-5,6]]]}", &e) == 0 &&
	       b.west == -5 && b.east == 3 && b.south == -4 && b.north == 6, "bounding box of the points");
	boundary_release(&b);
	tap_ok(b.nrings == 0 && b.rings == NULL, "release leaves the boundary empty");
}

static void test_refusals(void)
{
	struct boundary b = BOUNDARY_INIT;
	struct json_object *ring, *arr, *pt, *poly;
	struct error e;
	int i, rc;

	/* Fiji-like: 179.5 .. -179.5 is a 1-degree district across 180, not a
	 * globe-wide box (issue 13); the closing edge crosses too. */
	refuse("[[[179.5,-17],[-179.5,-17],[-179.5,-16],[179.5,-16]]]", KD_EINPUT, "antimeridian",
	       "a ring crossing the antimeridian");
	refuse("{\"type\":\"Polygon\",\"coordinates\":[[[170,0],[175,0],[175,5],[-175,5],[170,0]]]}", KD_EINPUT,
	       "antimeridian", "a polygon with one edge across the antimeridian");
	refuse("[[[0,0],[\"1\",0],[1,1]]]", KD_EINPUT, "must be numbers", "string coordinate");
	refuse("[[[0,0],[true,0],[1,1]]]", KD_EINPUT, "must be numbers", "boolean coordinate");
	refuse("[[[0,0],[1],[1,1]]]", KD_EINPUT, "[longitude, latitude]", "point with one number");
	refuse("[[[0,0],[200,0],[1,1]]]", KD_EINPUT, "longitude 200 is outside", "longitude out of range");
	refuse("[[[0,0],[-180.5,0],[1,1]]]", KD_EINPUT, "longitude -180.5 is outside", "longitude below -180");
	refuse("[[[0,0],[1,100],[1,1]]]", KD_EINPUT, "latitude 100 is outside [-90, 90]", "latitude out of range");
	/* issue 20: a projected (EPSG:3857) file says how to convert it */
	refuse("[[[12684540,2575000],[12700000,2575000],[12700000,2590000]]]", KD_EINPUT,
	       "ogr2ogr -t_srs EPSG:4326", "a ring in EPSG:3857 metres");
	refuse("{\"type\": \"Polygon\", \"coordinates\": [[[12684540,2575000],[12700000,2575000],[12700000,2590000]]]}",
	       KD_EINPUT, "looks projected (metres, e.g. EPSG:3857)", "a GeoJSON Polygon in EPSG:3857");
	refuse("[[[0,0],[1,95],[1,1]]]", KD_EINPUT, "latitude 95 is outside", "latitude out of range");
	refuse("[[[0,0],[1,1],[0,0]]]", KD_EINPUT, "2 distinct points", "closed ring of 2 points");
	refuse("[[[0,0],[1,1],[0,0],[1,1]]]", KD_EINPUT, "2 distinct points", "4 points, 2 distinct");
	refuse("[[[0,0],[0,0],[0,0]]]", KD_EINPUT, "1 distinct point", "one point thrice");
	refuse("[" SQ ",[[0,0],[1,1]]]", KD_EINPUT, "ring 2 has 2", "the message names the ring");
	refuse("[]", KD_EINPUT, "no rings", "empty list");
	refuse("{\"type\":\"FeatureCollection\",\"features\":[]}", KD_EINPUT, "no rings", "empty collection");
	refuse("{\"type\":\"Polygon\",\"coordinates\":[]}", KD_EINPUT, "no rings", "empty polygon");
	refuse("[[[0,0],[1,0],[2,0]]]", KD_EINPUT, "zero area", "points on one parallel");
	refuse("[[[3,0],[3,1],[3,2]]]", KD_EINPUT, "zero area", "points on one meridian");
	refuse("{\"type\":\"Point\",\"coordinates\":[1,2]}", KD_EINPUT, "\"Point\" is not an area", "Point");
	refuse("{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}", KD_EINPUT, "LineString", "LineString");
	refuse("{\"coordinates\":[" SQ "]}", KD_EINPUT, "\"type\"", "object without type");
	refuse("{\"type\":\"Polygon\"}", KD_EINPUT, "coordinates", "Polygon without coordinates");
	refuse("{\"type\":\"FeatureCollection\"}", KD_EINPUT, "\"features\"", "collection without features");
	refuse("{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
	       "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1]]]}}]}", KD_EINPUT, "feature 1: ring 1",
	       "the message names the feature");
	refuse("42", KD_EINPUT, "not a number", "a number");
	refuse("\"x\"", KD_EINPUT, "not a string", "a string");
	refuse("null", KD_EINPUT, "is null", "null");
	refuse("[1,2,3]", KD_EINPUT, "ring 1", "a list of numbers");
	refuse("{\"type\":\"Polygon\",\"coordinates\":[[0,1,2]]}", KD_EINPUT, "point", "ring of numbers");
	refuse("{", KD_EINPUT, "not valid JSON", "truncated JSON");
	refuse("[[[0,0],[1,0],[1,1]]] x", KD_EINPUT, "extra text", "text after the JSON");
	refuse("[[[0,0],[1,0],[1,1]]", KD_EINPUT, "not valid JSON", "unbalanced brackets");

	/* Non-finite numbers cannot be written in strict JSON; build them. */
	ring = json_object_new_array();
	for (i = 0; i < 3; i++) {
		pt = json_object_new_array();
		json_object_array_add(pt, json_object_new_double(i == 1 ? NAN : i));
		json_object_array_add(pt, json_object_new_double(i == 2 ? INFINITY : 1.0 + i));
		json_object_array_add(ring, pt);
	}
	poly = json_object_new_array();
	json_object_array_add(poly, ring);
	rc = boundary_from_json(&b, poly, &e);
	tap_ok(rc == KD_EINPUT && strstr(e.msg, "point 2: coordinates must be finite"), "NaN refused: %s", e.msg);
	json_object_put(poly);

	/* The point cap, without a million distinct objects: one point shared. */
	arr = json_object_new_array_ext(BOUNDARY_MAX_POINTS + 1);
	pt = json_object_new_array();
	json_object_array_add(pt, json_object_new_double(1));
	json_object_array_add(pt, json_object_new_double(2));
	for (i = 0; i <= BOUNDARY_MAX_POINTS; i++)
		json_object_array_add(arr, json_object_get(pt));
	json_object_put(pt);
	poly = json_object_new_array();
	json_object_array_add(poly, arr);
	rc = boundary_from_json(&b, poly, &e);
	tap_ok(rc == KD_ELIMIT && strstr(e.msg, "more than 1000000 points"), "point cap: %s", e.msg);
	json_object_put(poly);
}

static void test_even_odd(void)
{
	struct boundary b = BOUNDARY_INIT;
	struct error e;

	parse(&b, "{\"type\":\"Polygon\",\"coordinates\":[" SQC "," HOLE "]}", &e);
	tap_ok(boundary_contains(&b, 2, 2) == 1, "inside the outer ring");
	tap_ok(boundary_contains(&b, 5, 5) == 0, "inside the hole is outside");
	tap_ok(boundary_contains(&b, 11, 5) == 0 && boundary_contains(&b, -1, 5) == 0 &&
	       boundary_contains(&b, 5, 11) == 0, "beyond the outer ring is outside");
	tap_ok(boundary_contains(&b, 5, 3.9) == 1 && boundary_contains(&b, 5, 6.1) == 1,
	       "just past the hole's edges is inside");
	boundary_release(&b);

	/* The hole as a second polygon of a MultiPolygon: even-odd still holes it. */
	parse(&b, "{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQ "],[" HOLE "]]}", &e);
	tap_ok(boundary_contains(&b, 5, 5) == 0 && boundary_contains(&b, 1, 1) == 1,
	       "overlapping polygons: even-odd");
	boundary_release(&b);

	/* A diamond: the scan line through the side vertices (lat 5) must count
	 * each vertex once, not twice. */
	parse(&b, "[[[5,0],[10,5],[5,10],[0,5]]]", &e);
	tap_ok(boundary_contains(&b, 2, 5) == 1 && boundary_contains(&b, 5, 5) == 1,
	       "on the line of two vertices, inside");
	tap_ok(boundary_contains(&b, -1, 5) == 0 && boundary_contains(&b, 11, 5) == 0,
	       "on the line of two vertices, outside");
	tap_ok(boundary_contains(&b, 5, 10.5) == 0 && boundary_contains(&b, 5, -0.5) == 0,
	       "above the top vertex, below the bottom vertex");
	boundary_release(&b);

	/* Closed and unclosed spellings give the same region. */
	{
		struct boundary c = BOUNDARY_INIT;
		int same = 1;
		double x, y;

		parse(&b, "[" SQ "]", &e);
		parse(&c, "[" SQC "]", &e);
		for (x = -1.25; x <= 11; x += 0.5)
			for (y = -1.25; y <= 11; y += 0.5)
				same &= boundary_contains(&b, x, y) == boundary_contains(&c, x, y);
		tap_ok(same && boundary_contains(&b, 5, 5), "closed and unclosed rings agree");
		boundary_release(&b);
		boundary_release(&c);
	}
}

/* The shipped Nanshan outline, checked against the file read with json-c. */
static void test_nanshan(const char *path)
{
	struct boundary b = BOUNDARY_INIT;
	struct json_object *root, *coords, *t;
	struct error e;
	size_t i, j, good = 1;
	int rc;

	rc = boundary_from_file(&b, path, &e);
	tap_ok(rc == 0, "read %s%s%s", "contrib/data/nanshan.geojson", rc ? ": " : "", rc ? e.msg : "");
	if (rc)
		return;
	root = json_object_from_file(path);
	json_object_object_get_ex(json_object_array_get_idx(
		(json_object_object_get_ex(root, "features", &t), t), 0), "geometry", &t);
	json_object_object_get_ex(t, "coordinates", &coords);
	tap_ok(b.nrings == json_object_array_length(coords) && b.nrings == 4,
	       "one ring per polygon of the MultiPolygon (%zu)", b.nrings);
	{
		double w = 1e9, s = 1e9, east = -1e9, n = -1e9;

		for (i = 0; i < b.nrings && i < json_object_array_length(coords); i++) {
			struct json_object *ring = json_object_array_get_idx(json_object_array_get_idx(coords, i), 0);
			size_t len = json_object_array_length(ring);
			double mx = 0, my = 0;

			/* The file's rings are closed: one point fewer here. */
			good &= b.rings[i].n == len - 1;
			for (j = 0; j < len; j++) {
				struct json_object *p = json_object_array_get_idx(ring, j);
				double x = json_object_get_double(json_object_array_get_idx(p, 0));
				double y = json_object_get_double(json_object_array_get_idx(p, 1));

				w = fmin(w, x), east = fmax(east, x), s = fmin(s, y), n = fmax(n, y);
				if (j + 1 < len) {
					good &= b.rings[i].pt[2 * j] == x && b.rings[i].pt[2 * j + 1] == y;
					mx += x / (double)(len - 1);
					my += y / (double)(len - 1);
				}
			}
			/* Islands are small and round: their vertex mean is inside. */
			if (i > 0)
				tap_ok(boundary_contains(&b, mx, my), "island %zu: its middle is inside", i);
		}
		tap_ok(good, "every point kept in order, closing copies dropped");
		tap_ok(b.west == w && b.east == east && b.south == s && b.north == n, "bounding box");
	}
	/* The district's centroid as the file's properties give it. */
	tap_ok(boundary_contains(&b, 113.940529, 22.545588), "the district centroid is inside");
	/* West of the mainland's westmost point, between the islands' latitudes:
	 * open sea (the per-ring boxes show nothing there). */
	tap_ok(!boundary_contains(&b, 113.83, 22.45), "the sea between the islands is outside");
	tap_ok(!boundary_contains(&b, 113.70, 22.50) && !boundary_contains(&b, 114.10, 22.50),
	       "beyond the bounding box is outside");
	json_object_put(root);
	boundary_release(&b);
}

static void test_files(const char *dir)
{
	struct boundary b = BOUNDARY_INIT;
	struct error e;
	char path[4096];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/missing.geojson", dir);
	rc = boundary_from_file(&b, path, &e);
	tap_ok(rc == KD_EIO && strstr(e.msg, "missing.geojson"), "missing file: %s", e.msg);
	rc = boundary_from_file(&b, dir, &e);
	tap_ok(rc == KD_EIO && strstr(e.msg, "Is a directory"), "a directory: %s", e.msg);

	snprintf(path, sizeof(path), "%s/big.geojson", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = ftruncate(fd, (off_t)BOUNDARY_MAX_FILE + 1);
	close(fd);
	rc = rc == 0 ? boundary_from_file(&b, path, &e) : 99;
	tap_ok(rc == KD_ELIMIT && strstr(e.msg, "64 MiB"), "a file over 64 MiB: %s", e.msg);
	unlink(path);

	snprintf(path, sizeof(path), "%s/bad.geojson", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = write(fd, "[[[0,0],[1,1]]]", 15) == 15 ? 0 : -1;
	close(fd);
	rc = rc == 0 ? boundary_from_file(&b, path, &e) : 99;
	tap_ok(rc == KD_EINPUT && strstr(e.msg, "bad.geojson: ring 1 has 2"), "bad content names the file: %s",
	       e.msg);
	unlink(path);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096], dir[] = "/tmp/test_boundary.XXXXXX";

	test_forms();
	test_refusals();
	test_even_odd();
	snprintf(path, sizeof(path), "%s/contrib/data/nanshan.geojson", top ? top : ".");
	test_nanshan(path);
	if (mkdtemp(dir)) {
		test_files(dir);
		rmdir(dir);
	} else {
		tap_ok(0, "mkdtemp");
	}
	return tap_done();
}

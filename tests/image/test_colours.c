/* test_colours.c - the colour modes ("colors": levels, smooth, ramp).
 *
 * Smooth: every value's colour, and every pixel of a rendered map, is
 * nearer (CIE76 delta E) to its own HJ 633 level's colour than to any other
 * level's, while the map shows far more colours than levels.  Ramp: runs
 * from viridis' first to last colour, and a job without "range" spans the
 * min and max over all its frames' grids (read back from the .asc files).
 * The level colours and bounds (HJ 633-2012 section 5 and Table 1), the
 * viridis ends (matplotlib: #440154, #fde725) and the sRGB -> CIELAB
 * conversion (IEC 61966-2-1, CIE 15, D65) are written out here, not taken
 * from palette.c. */
#include "config.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "boundary.h"
#include "error.h"
#include "palette.h"
#include "pngout.h"
#include "raster.h"
#include "render.h"
#include "tap.h"
#include "trigger.h"

#define WIDTH 300

static const unsigned char hj633[6][3] = {
	{ 0, 228, 0 }, { 255, 255, 0 }, { 255, 126, 0 }, { 255, 0, 0 }, { 153, 0, 76 }, { 126, 0, 35 },
};
static const unsigned char viridis_first[3] = { 0x44, 0x01, 0x54 }, viridis_last[3] = { 0xfd, 0xe7, 0x25 };
static const struct {
	const char *name;
	double bound[5];
} table1[] = {
	{ "aqi", { 50, 100, 150, 200, 300 } },    { "pm25", { 35, 75, 115, 150, 250 } },
	{ "pm10", { 50, 150, 250, 350, 420 } },   { "so2", { 150, 500, 650, 800, 1600 } },
	{ "no2", { 100, 200, 700, 1200, 2340 } }, { "co", { 5, 10, 35, 60, 90 } },
	{ "o3", { 160, 200, 300, 400, 800 } },    { "so2_24h", { 50, 150, 475, 800, 1600 } },
	{ "no2_24h", { 40, 80, 180, 280, 565 } }, { "co_24h", { 2, 4, 14, 24, 36 } },
	{ "o3_8h", { 100, 160, 215, 265, 800 } },
};

static char tmpdir[] = "/tmp/krigd-colours-XXXXXX";

static double srgb_linear(double c)
{
	return c > 0.04045 ? pow((c + 0.055) / 1.055, 2.4) : c / 12.92;
}

static double lab_f(double t)
{
	const double d = 6.0 / 29.0;
	return t > d * d * d ? cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

static void to_lab(const unsigned char *rgb, double lab[3])
{
	double r = srgb_linear(rgb[0] / 255.0), g = srgb_linear(rgb[1] / 255.0), b = srgb_linear(rgb[2] / 255.0);
	double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.9505;
	double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
	double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.0890;

	lab[0] = 116 * lab_f(y) - 16;
	lab[1] = 500 * (lab_f(x) - lab_f(y));
	lab[2] = 200 * (lab_f(y) - lab_f(z));
}

/* The level (1..6) whose official colour is nearest rgb. */
static int nearest_level(const unsigned char *rgb)
{
	double a[3], b[3], best = INFINITY;
	int l = 0;

	to_lab(rgb, a);
	for (int i = 0; i < 6; i++) {
		double d;
		to_lab(hj633[i], b);
		d = sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
		if (d < best)
			best = d, l = i + 1;
	}
	return l;
}

static int level_of(const double bound[5], double v)
{
	for (int l = 0; l < 5; l++)
		if (v <= bound[l])
			return l + 1;
	return 6;
}

/* Distinct opaque colours among n RGBA pixels (a 2^24 bit set). */
static long distinct(const unsigned char *rgba, size_t n)
{
	unsigned char *seen = calloc(1 << 21, 1);
	long k = 0;

	for (size_t i = 0; seen && i < n; i++) {
		const unsigned char *p = rgba + 4 * i;
		unsigned key = (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
		if (p[3] && !(seen[key >> 3] & (1 << (key & 7)))) {
			seen[key >> 3] |= (unsigned char)(1 << (key & 7));
			k++;
		}
	}
	free(seen);
	return k;
}

static void test_smooth_values(void)
{
	for (size_t i = 0; i < sizeof(table1) / sizeof(table1[0]); i++) {
		struct palette p;
		const double *b = table1[i].bound;
		double top = 2 * b[4], step = top / 200000;
		long bad = 0, n = 0;
		unsigned char px[4], *all = malloc(4 * 200100);
		int mid_ok = 1;

		palette_setup(&p, table1[i].name, PALETTE_MODE_SMOOTH, 0, 0);
		for (double v = -top / 100; v <= top; v += step, n++) {
			palette_rgba(&p, v, px);
			if (nearest_level(px) != level_of(b, v))
				bad++;
			if (n < 200100)
				memcpy(all + 4 * n, px, 4);
		}
		for (int l = 1; l <= 6; l++) {
			double lo = l == 1 ? 0 : b[l - 2], hi = l == 6 ? 2 * b[4] - b[3] : b[l - 1];
			palette_rgba(&p, (lo + hi) / 2, px);
			mid_ok &= memcmp(px, hj633[l - 1], 3) == 0;
		}
		tap_ok(p.mode == PALETTE_MODE_SMOOTH && bad == 0,
		       "smooth %s: all %ld values from %g to %g nearest their own level's colour (%ld not)",
		       table1[i].name, n, -top / 100, top, bad);
		tap_ok(mid_ok, "smooth %s: the middle of each level is the level's official colour", table1[i].name);
		if (i == 0) {
			long k = distinct(all, n < 200100 ? (size_t)n : 200100);
			tap_ok(k > 300, "smooth %s: %ld distinct colours over the sweep", table1[i].name, k);
		}
		free(all);
	}
}

static void test_modes(void)
{
	struct palette p;
	enum palette_mode m;
	unsigned char px[4];

	tap_ok(palette_mode_parse("smooth", &m) == 0 && m == PALETTE_MODE_SMOOTH && palette_mode_parse("Smooth", &m) < 0 &&
		       palette_mode_parse("rainbow", &m) < 0,
	       "mode names: levels, smooth, ramp, nothing else");
	tap_ok(palette_setup(&p, "temperature", PALETTE_MODE_SMOOTH, 0, 1) == 0 && p.mode == PALETTE_MODE_RAMP,
	       "an index without levels is a ramp even when smooth is asked");
	tap_ok(palette_setup(&p, "pm25", PALETTE_DEFAULT, 0, 1) == 1 && p.mode == PALETTE_MODE_LEVELS,
	       "an HJ 633 index colours by levels by default");
	palette_setup(&p, "pm25", PALETTE_MODE_RAMP, 10, 20);
	palette_rgba(&p, 10, px);
	tap_ok(p.mode == PALETTE_MODE_RAMP && memcmp(px, viridis_first, 3) == 0, "ramp at min: #440154");
	palette_rgba(&p, -1e9, px);
	tap_ok(memcmp(px, viridis_first, 3) == 0, "below min: clamped to #440154");
	palette_rgba(&p, 20, px);
	tap_ok(memcmp(px, viridis_last, 3) == 0, "ramp at max: #fde725");
	palette_rgba(&p, 1e9, px);
	tap_ok(memcmp(px, viridis_last, 3) == 0, "above max: clamped to #fde725");
	{
		double prev = -1, lab[3];
		int mono = 1;
		for (double v = 10; v <= 20; v += 0.01) {
			palette_rgba(&p, v, px);
			to_lab(px, lab);
			mono &= lab[0] >= prev - 0.5; /* viridis' lightness rises */
			prev = lab[0];
		}
		tap_ok(mono, "the ramp's lightness rises with the value");
	}
}

/* An ESRI ASCII grid as written by raster_write_asc: h rows of w values. */
static double *read_asc(const char *path, int w, int h)
{
	FILE *fp = fopen(path, "r");
	double *v = fp ? malloc((size_t)w * h * sizeof(double)) : NULL;
	char line[256];

	for (int i = 0; v && i < 7; i++)
		if (!fgets(line, sizeof(line), fp))
			goto bad;
	for (size_t i = 0; v && i < (size_t)w * h; i++)
		if (fscanf(fp, "%lf", &v[i]) != 1)
			goto bad;
	fclose(fp);
	return v;
bad:
	free(v);
	if (fp)
		fclose(fp);
	return NULL;
}

/* Render a job (text) as dir; the result in *result. */
static int render(const char *text, struct boundary *b, const char *dir, struct json_object **result, struct error *e)
{
	struct trigger t;
	struct trigger_limits lim;
	struct render_opts ro;
	struct render_job rj;
	int rc;

	trigger_limits_default(&lim);
	lim.max_bytes = 1 << 20;
	if ((rc = trigger_parse(&t, text, strlen(text), &lim, e)) < 0)
		return rc;
	memset(&ro, 0, sizeof(ro));
	ro.out_fd = open(tmpdir, O_DIRECTORY | O_RDONLY);
	ro.boundary = b;
	ro.threads = 1;
	ro.max_cells = 10000000;
	memset(&rj, 0, sizeof(rj));
	rj.dir = dir;
	rj.index = t.index;
	rj.frames = &t.frames;
	rj.options = &t;
	rc = render_job(&ro, &rj, result, e);
	close(ro.out_fd);
	trigger_release(&t);
	return rc;
}

/* A frame of stations at the given values, spread over the grid. */
static void frame_json(char *out, size_t len, const struct grid *g, const char *pubtime, const double *vals, int n)
{
	size_t k = (size_t)snprintf(out, len, "{\"pubtime\":\"%s\",\"points\":[", pubtime);

	for (int i = 0; i < n && k < len; i++)
		k += (size_t)snprintf(out + k, len - k, "%s{\"longitude\":%.6f,\"latitude\":%.6f,\"value_air\":%g}",
				      i ? "," : "", grid_lon(g, g->width * (1 + 2 * (i % 4)) / 8),
				      grid_lat(g, g->height * (1 + 2 * (i / 4)) / 8), vals[i]);
	snprintf(out + k, len - k, "]}");
}

static void test_smooth_map(struct boundary *b, const struct grid *g)
{
	static const double vals[8] = { 20, 45, 70, 90, 110, 140, 180, 240 };
	char frame[4096], job[8192], path[4200];
	struct json_object *res = NULL;
	struct error e;
	unsigned char *rgba = NULL;
	double *asc;
	int w, h, levels[7] = { 0 }, nlev = 0;
	long bad = 0, inside = 0, k;

	frame_json(frame, sizeof(frame), g, "2024-05-06 07:00:00", vals, 8);
	snprintf(job, sizeof(job), "{\"index\":\"pm25\",\"width\":%d,\"colors\":\"smooth\",\"grid\":true,\"frames\":[%s]}",
		 WIDTH, frame);
	error_clear(&e);
	if (!tap_ok(render(job, b, "smooth", &res, &e) == 0, "a smooth pm25 map renders (%s)", e.msg))
		return;
	tap_ok(strcmp(json_object_get_string(json_object_object_get(res, "colors")), "smooth") == 0 &&
		       !json_object_object_get(res, "range"),
	       "the result says \"colors\": \"smooth\", and has no ramp range");
	json_object_put(res);
	snprintf(path, sizeof(path), "%s/pm25/smooth/2024-05-06_07-00-00.png", tmpdir);
	if (!tap_ok(pngout_read(path, &rgba, &w, &h, &e) == 0, "PNG reads back (%s)", e.msg))
		return;
	snprintf(path, sizeof(path), "%s/pm25/smooth/2024-05-06_07-00-00.asc", tmpdir);
	asc = read_asc(path, w, h);
	tap_ok(asc != NULL, "its .asc grid reads back");
	for (size_t i = 0; asc && i < (size_t)w * h; i++) {
		int l;
		if (asc[i] == -9999)
			continue;
		inside++;
		l = level_of(table1[1].bound, asc[i]);
		if (!levels[l]++)
			nlev++;
		bad += nearest_level(rgba + 4 * i) != l;
	}
	k = distinct(rgba, (size_t)w * h);
	tap_ok(inside > 1000 && bad == 0, "every one of %ld pixels is nearest its own level's colour (%ld not)", inside,
	       bad);
	tap_ok(nlev >= 4 && k >= 16 * nlev, "%ld distinct colours for %d levels", k, nlev);
	free(asc);
	free(rgba);
}

/* The min and max of the .asc grid of frame pubtime-file name in dir. */
static int asc_range(const char *dir, const char *name, int w, int h, double *lo, double *hi)
{
	char path[4200];
	double *v;

	snprintf(path, sizeof(path), "%s/temperature/%s/%s.asc", tmpdir, dir, name);
	if (!(v = read_asc(path, w, h)))
		return -1;
	for (size_t i = 0; i < (size_t)w * h; i++)
		if (v[i] != -9999) {
			*lo = fmin(*lo, v[i]);
			*hi = fmax(*hi, v[i]);
		}
	free(v);
	return 0;
}

/* Opaque pixels of a PNG equal to rgb (NULL: all opaque pixels). */
static long count_rgb(const char *dir, const char *name, const unsigned char rgb[3])
{
	char path[4200];
	unsigned char *rgba = NULL;
	struct error e;
	int w, h;
	long n = 0;

	snprintf(path, sizeof(path), "%s/temperature/%s/%s.png", tmpdir, dir, name);
	if (pngout_read(path, &rgba, &w, &h, &e) < 0)
		return -1;
	for (size_t i = 0; i < (size_t)w * h; i++)
		n += rgba[4 * i + 3] && (!rgb || memcmp(rgba + 4 * i, rgb, 3) == 0);
	free(rgba);
	return n;
}

static void test_ramp_frames(struct boundary *b, const struct grid *g)
{
	static const double cool[8] = { 10, 12, 11, 14, 13, 12, 15, 11 }, warm[8] = { 30, 45, 38, 50, 41, 33, 47, 36 };
	char f1[4096], f2[4096], job[9000];
	struct json_object *res = NULL, *range;
	struct error e;
	double lo = INFINITY, hi = -INFINITY;

	frame_json(f1, sizeof(f1), g, "cool", cool, 8);
	frame_json(f2, sizeof(f2), g, "warm", warm, 8);
	snprintf(job, sizeof(job), "{\"index\":\"temperature\",\"width\":%d,\"grid\":true,\"frames\":[%s,%s]}", WIDTH, f1, f2);
	error_clear(&e);
	if (!tap_ok(render(job, b, "auto", &res, &e) == 0, "a two-frame ramp job renders (%s)", e.msg))
		return;
	range = json_object_object_get(res, "range");
	{
		int ok = asc_range("auto", "cool", g->width, g->height, &lo, &hi) == 0 &&
			 asc_range("auto", "warm", g->width, g->height, &lo, &hi) == 0;
		tap_ok(ok, "both frames' grids read back (%g .. %g)", lo, hi);
	}
	tap_ok(strcmp(json_object_get_string(json_object_object_get(res, "colors")), "ramp") == 0 &&
		       json_object_array_length(range) == 2 &&
		       json_object_get_double(json_object_array_get_idx(range, 0)) == lo &&
		       json_object_get_double(json_object_array_get_idx(range, 1)) == hi,
	       "result \"range\" %s is the min and max over both frames' grids", json_object_to_json_string(range));
	json_object_put(res);
	tap_ok(count_rgb("auto", "cool", viridis_first) > 0 && count_rgb("auto", "cool", viridis_last) == 0,
	       "the cool frame holds the job's minimum colour and not its maximum");
	tap_ok(count_rgb("auto", "warm", viridis_last) > 0 && count_rgb("auto", "warm", viridis_first) == 0,
	       "the warm frame holds the job's maximum colour and not its minimum");

	/* A given range: outside it, values clamp to the ends. */
	snprintf(job, sizeof(job),
		 "{\"index\":\"temperature\",\"width\":%d,\"range\":[20,25],\"frames\":[%s,%s]}", WIDTH, f1, f2);
	if (!tap_ok(render(job, b, "given", &res, &e) == 0, "a job with \"range\": [20, 25] renders (%s)", e.msg))
		return;
	range = json_object_object_get(res, "range");
	tap_ok(json_object_get_double(json_object_array_get_idx(range, 0)) == 20 &&
		       json_object_get_double(json_object_array_get_idx(range, 1)) == 25,
	       "the result keeps the given range %s", json_object_to_json_string(range));
	json_object_put(res);
	{
		long first = count_rgb("given", "cool", viridis_first), last = count_rgb("given", "warm", viridis_last);
		long n1 = count_rgb("given", "cool", NULL), n2 = count_rgb("given", "warm", NULL);
		tap_ok(n1 > 1000 && first == n1 && last == n2,
		       "below the range every pixel is the first colour (%ld of %ld), above it the last (%ld of %ld)",
		       first, n1, last, n2);
	}
}

static void test_trigger(void)
{
	static const struct {
		const char *extra, *why;
	} bad[] = {
		{ ",\"colors\":\"rainbow\"", "\"colors\": \"rainbow\" is not one of levels, smooth, ramp" },
		{ ",\"colors\":1", "\"colors\": expected a string" },
		{ ",\"colors\":\"smooth\",\"range\":[0,10]", "\"range\" goes with \"colors\": \"ramp\", not \"smooth\"" },
		{ ",\"range\":[0,10]", "\"range\": index \"pm25\" is coloured by its HJ 633 levels; add \"colors\": \"ramp\"" },
		{ ",\"colors\":\"ramp\",\"range\":[5,5]", "\"range\": min must be less than max" },
		{ ",\"colors\":\"ramp\",\"range\":[1]", "\"range\": expected [min, max]" },
		{ ",\"colors\":\"ramp\",\"range\":[1,\"2\"]", "\"range[1]\": expected a number" },
	};
	struct trigger_limits lim;
	struct trigger t;
	struct error e;
	char job[512];

	trigger_limits_default(&lim);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(job, sizeof(job), "{\"index\":\"pm25\",\"frames\":[{\"pubtime\":\"a\",\"points\":[{\"longitude\":1,\"latitude\":2,\"value_air\":3}]}]%s}",
			 bad[i].extra);
		error_clear(&e);
		tap_ok(trigger_parse(&t, job, strlen(job), &lim, &e) == KD_EINPUT && strcmp(e.msg, bad[i].why) == 0,
		       "refused: %s (%s)", bad[i].extra + 1, e.msg);
	}
	snprintf(job, sizeof(job), "{\"index\":\"pm25\",\"colors\":\"ramp\",\"range\":[-1.5,80],\"frames\":[{\"pubtime\":\"a\",\"points\":[{\"longitude\":1,\"latitude\":2,\"value_air\":3}]}]}");
	tap_ok(trigger_parse(&t, job, strlen(job), &lim, &e) == 0 && t.colors == PALETTE_MODE_RAMP && t.has_range &&
		       t.range[0] == -1.5 && t.range[1] == 80,
	       "accepted: \"colors\": \"ramp\", \"range\": [-1.5, 80]");
	trigger_release(&t);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e;

	test_modes();
	test_smooth_values();
	test_trigger();
	snprintf(path, sizeof(path), "%s/contrib/data/nanshan.geojson", top ? top : ".");
	if (!tap_ok(boundary_from_file(&b, path, &e) == 0, "load the Nanshan outline (%s)", e.msg))
		return tap_done();
	if (!tap_ok(grid_init(&g, &b, WIDTH, 10000000, &e) == 0, "grid (%s)", e.msg))
		return tap_done();
	if (!mkdtemp(tmpdir))
		return tap_done();
	test_smooth_map(&b, &g);
	test_ramp_frames(&b, &g);
	snprintf(path, sizeof(path), "rm -rf '%s'", tmpdir);
	if (system(path) != 0)
		tap_diag("could not remove the temporary directory");
	grid_release(&g);
	boundary_release(&b);
	return tap_done();
}

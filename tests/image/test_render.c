/* test_render.c - a job through render_job(), the PNG read back with
 * libpng: transparent outside the district, opaque inside, the HJ 633
 * colour at station cells, islands drawn and the sea between them not. */
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
#include "outfile.h"
#include "pngout.h"
#include "raster.h"
#include "render.h"
#include "tap.h"
#include "trigger.h"

#define WIDTH 400

/* Colours of HJ 633-2012 levels 1..6, written out here on purpose. */
static const unsigned char level_rgb[6][3] = {
	{ 0, 228, 0 }, { 255, 255, 0 }, { 255, 126, 0 }, { 255, 0, 0 }, { 153, 0, 76 }, { 126, 0, 35 },
};

static char tmpdir[] = "/tmp/krigd-render-XXXXXX";

/* Count 4-connected components of opaque pixels (iterative flood fill). */
static int components(const unsigned char *rgba, int w, int h)
{
	int *stack = malloc(sizeof(int) * (size_t)w * h), n = 0;
	unsigned char *seen = calloc((size_t)w * h, 1);

	for (int start = 0; start < w * h; start++) {
		int top = 0;
		if (seen[start] || rgba[4 * start + 3] == 0)
			continue;
		n++;
		stack[top++] = start;
		seen[start] = 1;
		while (top) {
			int p = stack[--top], x = p % w, y = p / w;
			int nb[4] = { x > 0 ? p - 1 : -1, x < w - 1 ? p + 1 : -1, y > 0 ? p - w : -1, y < h - 1 ? p + w : -1 };
			for (int k = 0; k < 4; k++)
				if (nb[k] >= 0 && !seen[nb[k]] && rgba[4 * nb[k] + 3]) {
					seen[nb[k]] = 1;
					stack[top++] = nb[k];
				}
		}
	}
	free(stack);
	free(seen);
	return n;
}

/* Output safety: whatever a pubtime holds, its file name stays one plain
 * component inside the job's directory. */
static void test_safe_names(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "2024-03-01 08:00:00", "2024-03-01_08-00-00" },
		{ "../../etc/passwd", "_.-..-etc-passwd" },
		{ "/abs", "-abs" },
		{ ".hidden", "_hidden" },
		{ "..", "_." },
		{ "a\nb\tc\001d\177", "a_b_c_d_" },
		{ "\xe4\xb8\xad", "___" },
		{ "", "_" },
	};
	char out[96], longer[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		render_safe_name(cases[i].in, out, sizeof(out));
		tap_ok(strcmp(out, cases[i].want) == 0, "safe name of case %zu is %s (got %s)", i, cases[i].want, out);
	}
	memset(longer, '/', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	render_safe_name(longer, out, sizeof(out));
	tap_ok(strlen(out) == sizeof(out) - 1 && !strchr(out, '/') && outfile_name_ok(out),
	       "a 299-byte name is cut to %zu bytes, no '/' left, and outfile accepts it", sizeof(out) - 1);
	render_safe_name("../x", out, sizeof(out));
	tap_ok(outfile_name_ok(out), "every safe name passes outfile_name_ok (%s)", out);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096], *text;
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e;
	struct json_object *job, *frames, *frame, *points, *result = NULL;
	struct trigger t;
	struct trigger_limits lim;
	struct render_opts ro;
	struct render_job rj;
	unsigned char *rgba = NULL;
	int w = 0, h = 0, mism = 0, opaque = 0;
	/* Station cells, chosen inside the mainland, with a value per level. */
	static const double values[6] = { 20, 60, 100, 130, 200, 300 };
	int cell_r[6], cell_c[6], found = 0;

	test_safe_names();
	snprintf(path, sizeof(path), "%s/contrib/data/nanshan.geojson", top ? top : ".");
	if (!tap_ok(boundary_from_file(&b, path, &e) == 0, "load the Nanshan outline (%s)", e.msg))
		return tap_done();
	if (!tap_ok(grid_init(&g, &b, WIDTH, 10000000, &e) == 0, "grid (%s)", e.msg))
		return tap_done();

	/* Stations exactly at cell centres of inside cells, far apart, so with
	 * a zero nugget the kriged value there is the station's value. */
	for (int r = g.height / 5; r < g.height && found < 6; r += g.height / 9)
		for (size_t s = g.row_span[r]; s < g.row_span[r + 1] && found < 6; s++)
			if (g.span[s].c1 - g.span[s].c0 > 20) {
				cell_r[found] = r;
				cell_c[found] = (g.span[s].c0 + g.span[s].c1) / 2;
				found++;
				break;
			}
	tap_ok(found == 6, "six station cells inside the district");

	job = json_object_new_object();
	json_object_object_add(job, "index", json_object_new_string("pm25"));
	json_object_object_add(job, "width", json_object_new_int(WIDTH));
	{
		struct json_object *v = json_object_new_object();
		json_object_object_add(v, "model", json_object_new_string("exponential"));
		json_object_object_add(v, "nugget", json_object_new_double(0));
		json_object_object_add(v, "psill", json_object_new_double(5000));
		json_object_object_add(v, "range", json_object_new_double(3000));
		json_object_object_add(job, "variogram", v);
	}
	frames = json_object_new_array();
	frame = json_object_new_object();
	points = json_object_new_array();
	for (int i = 0; i < found; i++) {
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "longitude", json_object_new_double(grid_lon(&g, cell_c[i])));
		json_object_object_add(p, "latitude", json_object_new_double(grid_lat(&g, cell_r[i])));
		json_object_object_add(p, "value_air", json_object_new_double(values[i]));
		json_object_array_add(points, p);
	}
	json_object_object_add(frame, "pubtime", json_object_new_string("2024-05-06 07:00:00"));
	json_object_object_add(frame, "points", points);
	json_object_array_add(frames, frame);
	json_object_object_add(job, "frames", frames);
	text = strdup(json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN));
	json_object_put(job);

	trigger_limits_default(&lim);
	lim.max_bytes = 1 << 20;
	tap_ok(trigger_parse(&t, text, strlen(text), &lim, &e) == 0, "job parses (%s)", e.msg);
	if (!mkdtemp(tmpdir))
		return tap_done();
	{
		/* A temporary file a crashed run of this job left behind. */
		char stale[4200];
		FILE *fp;

		snprintf(stale, sizeof(stale), "mkdir -p '%s/pm25/7'", tmpdir);
		tap_ok(system(stale) == 0, "job directory made beforehand");
		snprintf(stale, sizeof(stale), "%s/pm25/7/.krigd-tmp.00000000deadbeef", tmpdir);
		if ((fp = fopen(stale, "w")) != NULL) {
			fputs("half a png", fp);
			fclose(fp);
		}
	}
	memset(&ro, 0, sizeof(ro));
	ro.out_fd = open(tmpdir, O_DIRECTORY | O_RDONLY);
	ro.boundary = &b;
	ro.threads = 2;
	ro.max_cells = 10000000;
	memset(&rj, 0, sizeof(rj));
	rj.dir = "7";
	rj.index = t.index;
	rj.frames = &t.frames;
	rj.options = &t;
	tap_ok(render_job(&ro, &rj, &result, &e) == 0, "render_job (%s)", e.msg);
	tap_ok(result && strcmp(json_object_get_string(json_object_object_get(json_object_object_get(result, "images"),
										    "2024-05-06 07:00:00")),
				"pm25/7/2024-05-06_07-00-00.png") == 0,
	       "result names the PNG relative to --out");

	snprintf(path, sizeof(path), "%s/pm25/7/2024-05-06_07-00-00.png", tmpdir);
	if (!tap_ok(pngout_read(path, &rgba, &w, &h, &e) == 0, "PNG reads back with libpng (%s)", e.msg))
		return tap_done();
	tap_ok(w == g.width && h == g.height, "PNG is %dx%d, the grid is %dx%d", w, h, g.width, g.height);

	for (int r = 0; r < h; r++)
		for (int c = 0; c < w; c++) {
			int in = boundary_contains(&b, grid_lon(&g, c), grid_lat(&g, r));
			unsigned char a = rgba[4 * ((size_t)r * w + c) + 3];
			mism += in ? a != 255 : a != 0;
			opaque += a != 0;
		}
	tap_ok(mism == 0, "alpha is 255 exactly inside the outline, 0 outside (%d pixels differ)", mism);
	tap_ok(opaque > w * h / 10, "a good part of the image is opaque (%d pixels)", opaque);
	tap_ok(components(rgba, w, h) >= 4, "the mainland and the three islands are drawn apart (%d shapes)",
	       components(rgba, w, h));

	for (int i = 0; i < found; i++) {
		const unsigned char *px = rgba + 4 * ((size_t)cell_r[i] * w + cell_c[i]);
		tap_ok(px[0] == level_rgb[i][0] && px[1] == level_rgb[i][1] && px[2] == level_rgb[i][2] && px[3] == 255,
		       "station of %g ug/m3 has level %d's colour (got %d,%d,%d)", values[i], i + 1, px[0], px[1], px[2]);
	}

	snprintf(path, sizeof(path), "%s/pm25/7/2024-05-06_07-00-00.pgw", tmpdir);
	tap_ok(access(path, F_OK) == 0, "world file beside the PNG");
	{
		char cmd[8300];
		snprintf(cmd, sizeof(cmd), "find '%s' -name '.krigd-tmp*' | grep -q .", tmpdir);
		tap_ok(system(cmd) != 0, "no temporary file left behind (a crashed run's one removed)");
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			tap_diag("could not remove the scratch directory");
	}

	free(rgba);
	free(text);
	json_object_put(result);
	close(ro.out_fd);
	trigger_release(&t);
	grid_release(&g);
	boundary_release(&b);
	return tap_done();
}

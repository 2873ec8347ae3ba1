/* test_raster.c - grid geometry, scan-line spans against a per-cell test,
 * world file and Esri ASCII grid written and read back (in a comma locale). */
#include "config.h"

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boundary.h"
#include "error.h"
#include "raster.h"
#include "tap.h"

static int parse(struct boundary *b, const char *text)
{
	struct error e;
	int rc = boundary_from_text(b, text, strlen(text), &e);

	if (rc)
		printf("# %s\n", e.msg);
	return rc;
}

/* Spans well formed, and a cell is in a span exactly when boundary_contains
 * says its centre is inside (the brute force the scan line replaces). */
static void check_spans(const struct grid *g, const struct boundary *b, const char *what)
{
	size_t counted = 0, brute = 0, bad = 0, k;
	int r, c, ordered = 1;

	for (r = 0; r < g->height; r++) {
		int prev = -1;

		for (k = g->row_span[r]; k < g->row_span[r + 1]; k++) {
			/* Strictly increasing and never touching (touching ones merge). */
			if (g->span[k].c0 <= prev || g->span[k].c1 <= g->span[k].c0 || g->span[k].c1 > g->width)
				ordered = 0;
			prev = g->span[k].c1;
			counted += (size_t)(g->span[k].c1 - g->span[k].c0);
		}
		k = g->row_span[r];
		for (c = 0; c < g->width; c++) {
			int in_span, in_poly = boundary_contains(b, grid_lon(g, c), grid_lat(g, r));

			while (k < g->row_span[r + 1] && g->span[k].c1 <= c)
				k++;
			in_span = k < g->row_span[r + 1] && g->span[k].c0 <= c;
			brute += (size_t)in_poly;
			if (in_span != in_poly && bad++ < 5)
				printf("# %s: row %d col %d span %d point-in-polygon %d\n", what, r, c, in_span, in_poly);
		}
	}
	tap_ok(ordered && g->row_span[0] == 0, "%s: spans sorted, disjoint, within the grid", what);
	tap_ok(bad == 0 && counted == brute && g->ncells == brute && brute > 0,
	       "%s: %zu cells in spans = %zu by point-in-polygon (%zu differ)", what, g->ncells, brute, bad);
}

/* Is the cell of (lon, lat) in a span? */
static int cell_in(const struct grid *g, double lon, double lat)
{
	int c = (int)floor((lon - g->west) / g->dx);
	int r = (int)floor((g->south + g->height * g->dy - lat) / g->dy);
	size_t k;

	for (k = g->row_span[r]; k < g->row_span[r + 1]; k++)
		if (g->span[k].c0 <= c && c < g->span[k].c1)
			return 1;
	return 0;
}

static void test_geometry(void)
{
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e;
	double c = cos(40.5 * M_PI / 180);

	parse(&b, "[[[10,40],[12,40],[12,41],[10,41]]]");
	tap_ok(grid_init(&g, &b, 100, 1000000, &e) == 0, "grid over a 2 x 1 degree box");
	/* By hand: lat0 40.5, cos 0.76040596560003, dy = 0.02 cos = 0.01520811931,
	 * 1 / dy = 65.754 rows, so 66. */
	tap_ok(g.width == 100 && g.height == 66, "100 columns, ceil(65.75) = 66 rows (got %d)", g.height);
	tap_near(g.lon0, 11, 0, "lon0 is the box centre");
	tap_near(g.lat0, 40.5, 0, "lat0 is the box centre");
	tap_near(g.dx, 0.02, 1e-17, "dx = 2 / 100");
	tap_near(g.dy, 0.015208119312000619, 1e-15, "dy = dx cos(lat0)");
	tap_near(g.kx, 84553.4023549525, 1e-6, "kx = R cos(lat0) pi / 180");
	tap_near(g.ky, 111195.08023353292, 1e-6, "ky = R pi / 180");
	tap_near(g.dx * g.kx, g.dy * g.ky, 1e-9, "cells are square on the ground (%.3f m)", g.dx * g.kx);
	tap_near(grid_lon(&g, 0), 10.01, 1e-12, "first column centre");
	tap_near(grid_lon(&g, 99), 11.99, 1e-12, "last column centre");
	tap_near(grid_lat(&g, 65), 40 + 0.5 * 0.02 * c, 1e-12, "row 65 (south) centre");
	tap_near(grid_lat(&g, 0), 40 + 65.5 * 0.02 * c, 1e-12, "row 0 (north) centre");
	tap_near(grid_x(&g, 12), 84553.4023549525, 1e-6, "one degree east is kx metres");
	tap_near(grid_y(&g, 40), -0.5 * 111195.08023353292, 1e-6, "half a degree south");
	tap_ok(g.west == 10 && g.east == 12 && g.south == 40 && g.north == 41, "bbox kept");
	/* Every centre is inside: even row 0's, at 40 + 65.5 dy = 40.996 < 41. */
	tap_ok(g.ncells == 100 * 66, "every centre of a rectangle is inside (%zu)", g.ncells);
	check_spans(&g, &b, "rectangle");
	grid_release(&g);
	tap_ok(g.span == NULL && g.row_span == NULL, "release empties the grid");

	tap_ok(grid_init(&g, &b, 100, 6599, &e) == KD_ELIMIT && strstr(e.msg, "100 x 66") &&
	       strstr(e.msg, "6599"), "max_cells: %s", e.msg);
	tap_ok(g.span == NULL && g.row_span == NULL && g.height == 0, "refused grid is left released");
	tap_ok(grid_init(&g, &b, 100, 6600, &e) == 0, "exactly max_cells is allowed");
	grid_release(&g);
	tap_ok(grid_init(&g, &b, 0, 1000000, &e) == KD_EINPUT, "width 0: %s", e.msg);
	tap_ok(grid_init(&g, &b, 1, 1000000, &e) == 0 && g.width == 1 && g.height == 1, "width 1: one cell");
	grid_release(&g);
	boundary_release(&b);
}

static void test_shapes(void)
{
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e;

	parse(&b, "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[0,10],[0,0]],"
		  "[[3,3],[7,3],[5,8],[3,3]]]}");
	grid_init(&g, &b, 97, 1000000, &e);
	check_spans(&g, &b, "square with a triangular hole");
	tap_ok(!cell_in(&g, 5, 5) && cell_in(&g, 1, 1) && cell_in(&g, 5, 9), "the hole has no cells");
	grid_release(&g);
	boundary_release(&b);

	parse(&b, "[[[5,0],[10,5],[5,10],[0,5]],[[20,0],[30,0],[25,10]]]");
	grid_init(&g, &b, 200, 1000000, &e);
	check_spans(&g, &b, "diamond and a separate triangle");
	grid_release(&g);
	boundary_release(&b);

	/* Self-intersecting bow tie: even-odd over crossing edges. */
	parse(&b, "[[[0,0],[10,10],[10,0],[0,10]]]");
	grid_init(&g, &b, 50, 1000000, &e);
	check_spans(&g, &b, "bow tie");
	grid_release(&g);
	boundary_release(&b);
}

/* Random rings, then the same rings with vertices moved exactly onto cell
 * centres (same bounding box, so the same grid): vertices on scan lines and
 * crossings on cell centres are the cases a scan line gets wrong. */
static void test_random(void)
{
	char *text = malloc(1 << 16);
	unsigned seed = 12345;
	int t;

	for (t = 0; t < 40; t++) {
		struct boundary b = BOUNDARY_INIT, b2 = BOUNDARY_INIT;
		struct grid g, g2;
		struct error e;
		int nr = 1 + t % 3, i, j, len, ok = 1;
		double pts[3][40][2];
		int np[3];

		for (i = 0; i < nr; i++) {
			np[i] = 3 + (int)(rand_r(&seed) % 30);
			for (j = 0; j < np[i]; j++) {
				pts[i][j][0] = 100 + 2.0 * rand_r(&seed) / RAND_MAX;
				pts[i][j][1] = 30 + 1.5 * rand_r(&seed) / RAND_MAX;
			}
		}
		/* Corners of the box in the first ring pin the bounding box. */
		pts[0][0][0] = 100, pts[0][0][1] = 30;
		pts[0][1][0] = 102, pts[0][1][1] = 31.5;
		for (int pass = 0; pass < 2; pass++) {
			len = snprintf(text, 1 << 16, "[");
			for (i = 0; i < nr; i++) {
				len += snprintf(text + len, (1 << 16) - len, "%s[", i ? "," : "");
				for (j = 0; j < np[i]; j++) {
					double x = pts[i][j][0], y = pts[i][j][1];

					if (pass == 1 && j > 1) {
						/* Snap to the nearest cell centre of grid g. */
						int c = (int)((x - g.west) / g.dx), r = (int)((g.south + g.height * g.dy - y) / g.dy);

						if (c >= g.width)
							c = g.width - 1;
						if (r >= g.height)
							r = g.height - 1;
						x = j % 2 ? grid_lon(&g, c) : x;
						y = grid_lat(&g, r);
						if (y > 31.5) /* keep the bounding box */
							y = grid_lat(&g, r + 1);
					}
					len += snprintf(text + len, (1 << 16) - len, "%s[%.17g,%.17g]", j ? "," : "", x, y);
				}
				len += snprintf(text + len, (1 << 16) - len, "]");
			}
			snprintf(text + len, (1 << 16) - len, "]");
			if (pass == 0) {
				ok &= parse(&b, text) == 0;
				ok &= grid_init(&g, &b, 20 + t * 7, 10000000, &e) == 0;
			} else {
				ok &= parse(&b2, text) == 0;
				ok &= grid_init(&g2, &b2, 20 + t * 7, 10000000, &e) == 0;
			}
			if (!ok)
				break;
		}
		if (!ok) {
			tap_ok(0, "random shape %d set up: %s", t, e.msg);
			continue;
		}
		if (t % 8 == 0) {
			char what[64];

			snprintf(what, sizeof(what), "random shape %d", t);
			check_spans(&g, &b, what);
			snprintf(what, sizeof(what), "random shape %d on cell centres", t);
			check_spans(&g2, &b2, what);
		} else {
			/* Quiet version for the rest: one check per shape pair. */
			size_t bad = 0;
			int r, c;
			size_t k;

			for (int s = 0; s < 2; s++) {
				struct grid *gg = s ? &g2 : &g;
				struct boundary *bb = s ? &b2 : &b;
				size_t n = 0;

				for (r = 0; r < gg->height; r++) {
					k = gg->row_span[r];
					for (c = 0; c < gg->width; c++) {
						while (k < gg->row_span[r + 1] && gg->span[k].c1 <= c)
							k++;
						n += boundary_contains(bb, grid_lon(gg, c), grid_lat(gg, r));
						bad += (k < gg->row_span[r + 1] && gg->span[k].c0 <= c) !=
						       boundary_contains(bb, grid_lon(gg, c), grid_lat(gg, r));
					}
				}
				bad += n != gg->ncells;
			}
			tap_ok(bad == 0, "random shape %d (and snapped): spans = point-in-polygon (%zu differ)", t, bad);
		}
		tap_ok(g.width == g2.width && g.height == g2.height && g.dx == g2.dx, "random shape %d: same grid", t);
		grid_release(&g);
		grid_release(&g2);
		boundary_release(&b);
		boundary_release(&b2);
	}
	free(text);
}

static void test_nanshan(const char *path)
{
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e;
	size_t i, j;

	if (boundary_from_file(&b, path, &e)) {
		tap_ok(0, "read Nanshan: %s", e.msg);
		return;
	}
	tap_ok(grid_init(&g, &b, 1000, 4000000, &e) == 0, "Nanshan grid, 1000 wide");
	/* 0.240144 deg wide, 0.256134 tall at lat0 22.52441: about 1152 rows. */
	tap_ok(g.height == (int)ceil((b.north - b.south) / ((b.east - b.west) / 1000 * cos(g.lat0 * M_PI / 180))),
	       "rows = ceil(dlat / dy) = %d", g.height);
	check_spans(&g, &b, "Nanshan MultiPolygon, width 1000");
	/* Each island (rings 1..3) has cells; its vertex mean is one of them. */
	for (i = 1; i < b.nrings; i++) {
		double mx = 0, my = 0;

		for (j = 0; j < b.rings[i].n; j++) {
			mx += b.rings[i].pt[2 * j] / (double)b.rings[i].n;
			my += b.rings[i].pt[2 * j + 1] / (double)b.rings[i].n;
		}
		tap_ok(cell_in(&g, mx, my), "island %zu has cells", i);
	}
	/* The sea west of the mainland (lon < 113.8593) between the islands'
	 * latitudes (island boxes end at 22.4236 and begin at 22.4916): no cell. */
	{
		size_t k, n = 0;
		int r;

		for (r = 0; r < g.height; r++) {
			double lat = grid_lat(&g, r);

			if (lat <= 22.4236 || lat >= 22.4916)
				continue;
			for (k = g.row_span[r]; k < g.row_span[r + 1]; k++)
				if (grid_lon(&g, g.span[k].c0) < 113.8393)
					n++;
		}
		tap_ok(n == 0, "no spans in the sea between the islands (%zu)", n);
	}
	grid_release(&g);
	tap_ok(grid_init(&g, &b, 333, 4000000, &e) == 0, "Nanshan grid, 333 wide");
	check_spans(&g, &b, "Nanshan MultiPolygon, width 333");
	grid_release(&g);
	boundary_release(&b);
}

/* Next whitespace-separated word of fp (buf holds 128 bytes). */
/* strtod in the C locale: the files are C-locale text whatever ours is. */
static double c_strtod(const char *s, char **end)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	double x = strtod_l(s, end, c);

	freelocale(c);
	return x;
}

static int word(FILE *fp, char *buf, size_t n)
{
	(void)n;
	return fscanf(fp, "%127s", buf) == 1;
}

static void test_files(const char *label)
{
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e;
	double *v, x;
	char buf[128], *end, line[512];
	FILE *fp;
	size_t i, n, same = 0, nodata = 0;
	int r, c, ok = 1;

	parse(&b, "[[[113.5,22.25],[114.25,22.25],[114,22.75]]]");
	grid_init(&g, &b, 40, 1000000, &e);
	n = (size_t)g.width * (size_t)g.height;

	fp = tmpfile();
	tap_ok(raster_write_pgw(fp, &g) == 0, "%s: world file written", label);
	rewind(fp);
	{
		double want[6] = { g.dx, 0, 0, -g.dy, g.west + g.dx / 2, g.south + (g.height - 0.5) * g.dy };

		for (i = 0; i < 6; i++) {
			ok &= word(fp, buf, sizeof(buf)) && strchr(buf, ',') == NULL;
			x = c_strtod(buf, &end);
			ok &= *end == '\0' && x == want[i];
		}
		ok &= !word(fp, buf, sizeof(buf));
	}
	tap_ok(ok, "%s: world file: dx, 0, 0, -dy, top-left cell centre, exactly", label);
	fclose(fp);

	v = malloc(n * sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = (i % 7 == 0) ? NAN : (i % 5 == 0) ? 1.0 / (double)(i + 3) : (double)i * 1e-7 + 1e300 * (i == 3);
	fp = tmpfile();
	tap_ok(raster_write_asc(fp, &g, v) == 0, "%s: ASCII grid written", label);
	rewind(fp);
	ok = 1;
	{
		const char *keys[] = { "ncols", "nrows", "xllcorner", "yllcorner", "dx", "dy", "NODATA_value" };
		double want[] = { g.width, g.height, g.west, g.south, g.dx, g.dy, -9999 };

		for (i = 0; i < 7; i++) {
			if (!fgets(line, sizeof(line), fp) || sscanf(line, "%127s", buf) != 1 || strcmp(buf, keys[i]) ||
			    strchr(line, ',')) {
				ok = 0;
				printf("# header line %zu: %s", i, line);
				continue;
			}
			x = c_strtod(line + strlen(keys[i]), &end);
			ok &= x == want[i] && *end == '\n';
		}
	}
	tap_ok(ok, "%s: header ncols nrows xllcorner yllcorner dx dy NODATA_value, exact", label);
	ok = 1;
	for (r = 0; r < g.height; r++) {
		for (c = 0; c < g.width; c++) {
			double want = v[(size_t)r * g.width + c];

			if (!word(fp, buf, sizeof(buf))) {
				ok = 0;
				break;
			}
			x = c_strtod(buf, &end);
			if (*end || strchr(buf, ','))
				ok = 0;
			else if (isnan(want))
				nodata += x == -9999;
			else
				same += x == want;
		}
	}
	ok &= !word(fp, buf, sizeof(buf));
	tap_ok(ok && same + nodata == n && nodata == (n + 6) / 7, "%s: %zu values round-trip exactly, %zu NODATA",
	       label, same, nodata);
	fclose(fp);
	free(v);

	fp = tmpfile();
	tap_ok(raster_write_prj(fp) == 0, "%s: .prj written", label);
	rewind(fp);
	/* WKT 1 with the EPSG authority, so GDAL names EPSG:4326 (gis.test
	 * asks GDAL itself). */
	ok = fgets(line, sizeof(line), fp) != NULL && strncmp(line, "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\","
					      "SPHEROID[\"WGS 84\",6378137,298.257223563,", 73) == 0 &&
	     strstr(line, "UNIT[\"degree\",0.0174532925199433,") && strstr(line, "AUTHORITY[\"EPSG\",\"4326\"]]\n");
	tap_ok(ok, "%s: .prj is WGS 84 WKT with AUTHORITY EPSG 4326", label);
	fclose(fp);
	grid_release(&g);
	boundary_release(&b);
}

/* glibc's setlocale keeps the LOCPATH search list it builds for a locale
 * loaded from there (40 bytes, once); that is glibc's, not ours, so
 * LeakSanitizer is told about exactly that allocation site.  The runtime
 * calls this hook by name when built with --enable-sanitizers. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:__argz_add_sep\n";
}

/* A locale whose decimal point is a comma, built with localedef when none is
 * installed; returns 1 when LC_ALL now uses one. */
static int comma_locale(const char *dir)
{
	static const char *names[] = { "de_DE.UTF-8", "fr_FR.UTF-8", "de_DE.utf8", "de_DE" };
	char cmd[4200], probe[16];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (setlocale(LC_ALL, names[i]))
			goto check;
	snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 '%s/de_DE.utf8' >/dev/null 2>&1", dir);
	if (system(cmd) != 0)
		return 0;
	setenv("LOCPATH", dir, 1);
	if (!setlocale(LC_ALL, "de_DE.UTF-8"))
		return 0;
check:
	snprintf(probe, sizeof(probe), "%.1f", 0.5);
	return strcmp(probe, "0,5") == 0;
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char path[4096], dir[] = "/tmp/test_raster.XXXXXX", cmd[4200];

	test_geometry();
	test_shapes();
	test_random();
	snprintf(path, sizeof(path), "%s/contrib/data/nanshan.geojson", top ? top : ".");
	test_nanshan(path);
	test_files("C locale");
	if (mkdtemp(dir) && comma_locale(dir))
		test_files("decimal-comma locale");
	else
		printf("ok %d - decimal-comma locale # SKIP no such locale and localedef failed\n", ++tap_n);
	setlocale(LC_ALL, "C");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}

/* raster.c - see raster.h */
#include "config.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boundary.h"
#include "error.h"
#include "pngout.h"
#include "raster.h"

/* Most scan-line crossings over all rows (8 bytes each): far above any real
 * district, it only stops a pathological outline from eating the memory. */
#define MAX_CROSSINGS ((size_t)1 << 26)

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* First column whose centre longitude is >= x (width if none).  The estimate
 * is corrected with grid_lon itself, so the answer agrees bit for bit with a
 * per-cell test that uses grid_lon. */
static int col_ge(const struct grid *g, double x)
{
	double est = ceil((x - g->west) / g->dx - 0.5);
	int c;

	if (!(est > 0))
		c = 0;
	else if (est > g->width)
		c = g->width;
	else
		c = (int)est;
	while (c > 0 && grid_lon(g, c - 1) >= x)
		c--;
	while (c < g->width && grid_lon(g, c) < x)
		c++;
	return c;
}

/* Rows whose centre latitude might lie in [ylo, yhi): a slightly wide range,
 * the exact test is made by the caller. */
static void row_range(const struct grid *g, double ylo, double yhi, int *r0, int *r1)
{
	double a = floor(g->height - 0.5 - (yhi - g->south) / g->dy) - 1;
	double b = ceil(g->height - 0.5 - (ylo - g->south) / g->dy) + 1;

	*r0 = a < 0 ? 0 : a > g->height - 1 ? g->height - 1 : (int)a;
	*r1 = b < 0 ? 0 : b > g->height - 1 ? g->height - 1 : (int)b;
}

/* Visit every (row, crossing longitude) pair: with xs == NULL only count per
 * row into off[r + 1]; otherwise store at xs[fill[r]++]. */
static void crossings(const struct grid *g, const struct boundary *b, size_t *off, size_t *fill, double *xs)
{
	size_t i, j;

	for (i = 0; i < b->nrings; i++) {
		const struct ring *ring = &b->rings[i];
		double x0 = ring->pt[2 * (ring->n - 1)], y0 = ring->pt[2 * (ring->n - 1) + 1];

		for (j = 0; j < ring->n; j++) {
			double x1 = ring->pt[2 * j], y1 = ring->pt[2 * j + 1];
			int r, r0, r1;

			if (y0 != y1) {
				row_range(g, fmin(y0, y1), fmax(y0, y1), &r0, &r1);
				for (r = r0; r <= r1; r++) {
					double lat = grid_lat(g, r);

					/* The half-open rule of boundary_contains: a vertex
					 * on the scan line counts for one of its edges only. */
					if ((y0 > lat) == (y1 > lat))
						continue;
					if (xs)
						xs[fill[r]++] = boundary_edge_x(x0, y0, x1, y1, lat);
					else
						off[r + 1]++;
				}
			}
			x0 = x1;
			y0 = y1;
		}
	}
}

/* Each row's crossings (xs[off[r] .. off[r+1]), sorted here) into spans
 * of inside cells (even-odd), touching spans merged; g->row_span, g->span
 * and g->ncells filled. */
static int spans_from_crossings(struct grid *g, const size_t *off, double *xs, struct error *e)
{
	size_t nspan = 0;

	for (size_t r = 0; r < (size_t)g->height; r++) {
		size_t n = off[r + 1] - off[r];
		double *x = xs + off[r];

		g->row_span[r] = nspan;
		/* Closed rings cross any line an even number of times. */
		if (n % 2)
			return error_set(e, KD_EINTERNAL, "row %zu has an odd number (%zu) of boundary crossings", r, n);
		qsort(x, n, sizeof(*x), cmp_double);
		/* Even-odd: a centre is inside when an odd number of crossings lie
		 * at or west of it, i.e. x[2i] <= lon < x[2i+1]. */
		for (size_t k = 0; k < n; k += 2) {
			int c0 = col_ge(g, x[k]), c1 = col_ge(g, x[k + 1]);

			if (c1 <= c0)
				continue;
			if (nspan > g->row_span[r] && g->span[nspan - 1].c1 == c0) {
				g->span[nspan - 1].c1 = c1; /* touching spans merge */
			} else {
				g->span[nspan].c0 = c0;
				g->span[nspan].c1 = c1;
				nspan++;
			}
			g->ncells += (size_t)(c1 - c0);
		}
	}
	g->row_span[g->height] = nspan;
	return 0;
}

double grid_rows_for(const struct boundary *b, int width)
{
	double c = cos((b->south + b->north) / 2 * M_PI / 180), hd;

	hd = ceil((b->north - b->south) / ((b->east - b->west) / width * c));
	return hd >= 1 ? hd : 1;
}

int grid_init(struct grid *g, const struct boundary *b, int width, size_t max_cells, struct error *e)
{
	size_t *off = NULL, *fill = NULL, total, r;
	double *xs = NULL, c, hd;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	if (width < 1)
		return error_set(e, KD_EINPUT, "an image width of %d pixels is too small; it needs at least 1", width);
	if (!b || b->nrings == 0 || !(b->east > b->west) || !(b->north > b->south))
		return error_set(e, KD_EINPUT, "the boundary is empty");
	g->west = b->west;
	g->south = b->south;
	g->east = b->east;
	g->north = b->north;
	g->lon0 = (b->west + b->east) / 2;
	g->lat0 = (b->south + b->north) / 2;
	c = cos(g->lat0 * M_PI / 180);
	g->kx = EARTH_RADIUS_M * c * M_PI / 180;
	g->ky = EARTH_RADIUS_M * M_PI / 180;
	g->dx = (b->east - b->west) / width;
	g->dy = g->dx * c;
	hd = grid_rows_for(b, width);
	if (!(hd <= INT_MAX) || (double)width * hd > (double)max_cells ||
	    (size_t)width * (size_t)hd > max_cells) {
		rc = error_set(e, KD_ELIMIT, "a grid of %d x %.0f = %.0f cells exceeds the limit of %zu cells",
			       width, hd, width * hd, max_cells);
		goto fail;
	}
	/* A narrow, tall district at a small width: say so before kriging,
	 * not when the PNG cannot be written. */
	if (hd > PNGOUT_MAX_SIDE) {
		rc = error_set(e, KD_ELIMIT, "a grid of %d x %.0f cells is taller than an image may be (%d rows); "
			       "the boundary is much taller than wide: give a larger width", width, hd, PNGOUT_MAX_SIDE);
		goto fail;
	}
	g->width = width;
	g->height = (int)hd;

	off = calloc((size_t)g->height + 1, sizeof(*off));
	fill = malloc(((size_t)g->height + 1) * sizeof(*fill));
	g->row_span = calloc((size_t)g->height + 1, sizeof(*g->row_span));
	if (!off || !fill || !g->row_span) {
		rc = error_set(e, KD_ENOMEM, "out of memory for a grid of %d rows", g->height);
		goto fail;
	}
	/* Two passes over the edges: count crossings per row, then store them
	 * grouped by row (a counting sort by row, no per-row allocation). */
	crossings(g, b, off, NULL, NULL);
	for (r = 0; r < (size_t)g->height; r++)
		off[r + 1] += off[r];
	total = off[g->height];
	if (total > MAX_CROSSINGS) {
		rc = error_set(e, KD_ELIMIT, "the boundary crosses the %d grid rows %zu times; the limit is %zu",
			       g->height, total, MAX_CROSSINGS);
		goto fail;
	}
	xs = malloc((total ? total : 1) * sizeof(*xs));
	/* Each pair of crossings gives at most one span. */
	g->span = malloc((total / 2 + 1) * sizeof(*g->span));
	if (!xs || !g->span) {
		rc = error_set(e, KD_ENOMEM, "out of memory for %zu boundary crossings", total);
		goto fail;
	}
	memcpy(fill, off, ((size_t)g->height + 1) * sizeof(*fill));
	crossings(g, b, off, fill, xs);

	if ((rc = spans_from_crossings(g, off, xs, e)) < 0)
		goto fail;
	free(off);
	free(fill);
	free(xs);
	return 0;
fail:
	free(off);
	free(fill);
	free(xs);
	grid_release(g);
	return rc;
}

void grid_release(struct grid *g)
{
	free(g->row_span);
	free(g->span);
	memset(g, 0, sizeof(*g));
}

/* Numbers in files are written in the C locale whatever the process's
 * locale is, so a decimal comma never reaches a world file or a grid. */

int raster_clocale_begin(struct raster_clocale *s)
{
	s->c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	if (s->c == (locale_t)0)
		return KD_ENOMEM;
	s->old = uselocale(s->c);
	return 0;
}

void raster_clocale_end(struct raster_clocale *s)
{
	uselocale(s->old);
	freelocale(s->c);
}

int raster_write_pgw(FILE *fp, const struct grid *g)
{
	struct raster_clocale loc;

	if (raster_clocale_begin(&loc))
		return KD_ENOMEM;
	/* Rows of the affine transform, then the centre of the top-left cell. */
	fprintf(fp, "%.17g\n0\n0\n%.17g\n%.17g\n%.17g\n", g->dx, -g->dy, grid_lon(g, 0), grid_lat(g, 0));
	raster_clocale_end(&loc);
	return ferror(fp) ? KD_EIO : 0;
}

int raster_write_asc(FILE *fp, const struct grid *g, const double *values)
{
	struct raster_clocale loc;
	int r, c;

	if (raster_clocale_begin(&loc))
		return KD_ENOMEM;
	/* dx/dy instead of cellsize, as GDAL writes cells that are not square. */
	fprintf(fp, "ncols        %d\nnrows        %d\nxllcorner    %.17g\nyllcorner    %.17g\n"
		"dx           %.17g\ndy           %.17g\nNODATA_value -9999\n",
		g->width, g->height, g->west, g->south, g->dx, g->dy);
	for (r = 0; r < g->height && !ferror(fp); r++) {
		const double *row = values + (size_t)r * (size_t)g->width;

		for (c = 0; c < g->width; c++) {
			if (c)
				putc(' ', fp);
			if (isfinite(row[c]))
				fprintf(fp, "%.17g", row[c]);
			else
				fputs("-9999", fp);
		}
		putc('\n', fp);
	}
	raster_clocale_end(&loc);
	return ferror(fp) ? KD_EIO : 0;
}

int raster_write_prj(FILE *fp)
{
	fputs(RASTER_WGS84_WKT "\n", fp);
	return ferror(fp) ? KD_EIO : 0;
}

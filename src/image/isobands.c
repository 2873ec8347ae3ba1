/* isobands.c - see isobands.h
 *
 * Cells live on a lattice of (width+1) x (height+1) vertices, x east from
 * the west edge, y north from the south edge.  For one band, every edge
 * between a cell of the band and a cell that is not becomes a directed
 * edge with the band on its left (so outer rings run counter-clockwise and
 * holes clockwise).  Rings are traced edge to edge; at a vertex where two
 * cells of the band touch only at the corner, the walk turns left, which
 * keeps those cells apart.  A ring that still comes back to a vertex it
 * passed (a C of cells closed only at a corner) is cut there in two: the
 * outer part and a hole touching it at that point, as OGC allows.  Holes
 * go with the smallest outer ring around them. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "isobands.h"
#include "palette.h"
#include "raster.h"

enum { DIR_E, DIR_N, DIR_W, DIR_S };

struct ring {
	size_t off, n;        /* vertices at vert[off .. off+n), not closed */
	long long area2;      /* twice the signed area, lattice units: > 0 outer */
	int x0, y0, x1, y1;   /* bounding box */
	long owner;           /* a hole's outer ring, or -1 */
};

struct tracer {
	int w, h;             /* cells; the lattice is (w+1) x (h+1) */
	unsigned char *out;   /* per vertex: bit d set when an edge leaves it in direction d */
	long *pos;            /* per vertex: its index on the walk's stack, or -1 */
	long *stack;
	size_t nstack, capstack;
	long *vert;           /* every ring's vertices */
	size_t nvert, capvert;
	struct ring *ring;
	size_t nring, capring;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (!(q = realloc(*p, n * size)))
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static long step(const struct tracer *t, long v, int d)
{
	static const int dx[4] = { 1, 0, -1, 0 }, dy[4] = { 0, 1, 0, -1 };
	return v + dx[d] + (long)dy[d] * (t->w + 1);
}

/* Close stack[from .. nstack) as a ring and take it off the stack. */
static int emit_ring(struct tracer *t, size_t from)
{
	size_t n = t->nstack - from;
	struct ring *r;
	long long a = 0;

	if (grow((void **)&t->vert, &t->capvert, t->nvert + n, sizeof(long)) < 0 ||
	    grow((void **)&t->ring, &t->capring, t->nring + 1, sizeof(struct ring)) < 0)
		return -1;
	r = &t->ring[t->nring++];
	r->off = t->nvert;
	r->n = n;
	r->owner = -1;
	r->x0 = r->y0 = INT32_MAX;
	r->x1 = r->y1 = -1;
	for (size_t i = 0; i < n; i++) {
		long v = t->stack[from + i], u = t->stack[from + (i + 1) % n];
		int x = (int)(v % (t->w + 1)), y = (int)(v / (t->w + 1));

		a += (long long)x * (u / (t->w + 1)) - (long long)(u % (t->w + 1)) * y;
		r->x0 = x < r->x0 ? x : r->x0;
		r->x1 = x > r->x1 ? x : r->x1;
		r->y0 = y < r->y0 ? y : r->y0;
		r->y1 = y > r->y1 ? y : r->y1;
		t->vert[t->nvert++] = v;
		t->pos[v] = -1;
	}
	r->area2 = a;
	t->nstack = from;
	return 0;
}

/* Push v on the walk; a vertex already on it closes the loop since then
 * as a ring of its own (v stays, for the rest of the walk). */
static int push(struct tracer *t, long v)
{
	if (t->pos[v] >= 0) {
		size_t from = (size_t)t->pos[v];
		if (emit_ring(t, from) < 0)
			return -1;
	}
	if (grow((void **)&t->stack, &t->capstack, t->nstack + 1, sizeof(long)) < 0)
		return -1;
	t->pos[v] = (long)t->nstack;
	t->stack[t->nstack++] = v;
	return 0;
}

/* Walk the edges from v0 (first leaving in direction d0) back to that edge. */
static int trace(struct tracer *t, long v0, int d0)
{
	long v = v0;
	int d = d0;

	t->nstack = 0;
	do {
		unsigned avail;

		if (push(t, v) < 0)
			return -1;
		t->out[v] &= (unsigned char)~(1u << d);
		v = step(t, v, d);
		avail = t->out[v] | (v == v0 ? 1u << d0 : 0);
		if (avail & (1u << ((d + 1) & 3)))      /* left first: corners stay apart */
			d = (d + 1) & 3;
		else if (!(avail & (1u << d)))
			d = (d + 3) & 3;
	} while (v != v0 || d != d0);
	return t->nstack ? emit_ring(t, 0) : 0;
}

/* 1 when the point (px, py + 0.5) is inside ring r (crossings of its
 * vertical edges east of it); never on an edge. */
static int ring_contains(const struct tracer *t, const struct ring *r, int px, int py)
{
	int in = 0;

	if (px < r->x0 || px > r->x1 || py < r->y0 || py >= r->y1)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		long v = t->vert[r->off + i], u = t->vert[r->off + (i + 1) % r->n];
		int x = (int)(v % (t->w + 1)), y = (int)(v / (t->w + 1)), uy = (int)(u / (t->w + 1));

		if (x == (int)(u % (t->w + 1)) && x > px && py >= (y < uy ? y : uy) && py < (y > uy ? y : uy))
			in = !in;
	}
	return in;
}

/* Each hole's owner: the smallest outer ring around one of its vertical edges. */
static void assign_holes(struct tracer *t, size_t first)
{
	for (size_t h = first; h < t->nring; h++) {
		struct ring *r = &t->ring[h];
		int px = 0, py = 0;

		if (r->area2 > 0)
			continue;
		for (size_t i = 0; i < r->n; i++) {
			long v = t->vert[r->off + i], u = t->vert[r->off + (i + 1) % r->n];
			if (v % (t->w + 1) == u % (t->w + 1)) {
				px = (int)(v % (t->w + 1));
				py = (int)((v < u ? v : u) / (t->w + 1));
				break;
			}
		}
		for (size_t s = first; s < t->nring; s++)
			if (t->ring[s].area2 > 0 && ring_contains(t, &t->ring[s], px, py) &&
			    (r->owner < 0 || t->ring[s].area2 < t->ring[r->owner].area2))
				r->owner = (long)s;
	}
}

/* The band of v (1..), 0 for NaN; and a band's bounds and colour. */
struct bands {
	const struct palette *p;
	int levels, n;
	double lo, width;
};

static int band_of(const struct bands *b, double v)
{
	int k;

	if (isnan(v))
		return 0;
	if (b->levels)
		return palette_level(b->p, v);
	if (!(b->width > 0))
		return 1;
	k = 1 + (int)floor((v - b->lo) / b->width);
	return k < 1 ? 1 : k > b->n ? b->n : k;
}

static void put_bound(FILE *fp, const char *key, int open, double v)
{
	if (open)
		fprintf(fp, "\"%s\":null", key);
	else
		fprintf(fp, "\"%s\":%.17g", key, v);
}

static void band_properties(FILE *fp, const struct bands *b, int k)
{
	unsigned char c[4];

	fprintf(fp, "{\"type\":\"Feature\",\"properties\":{\"level\":%d,", k);
	if (b->levels) {
		put_bound(fp, "min", k == 1, k > 1 ? b->p->bound[k - 2] : 0);
		fputc(',', fp);
		put_bound(fp, "max", k == PALETTE_LEVELS, k < PALETTE_LEVELS ? b->p->bound[k - 1] : 0);
		memcpy(c, palette_colours[k - 1], 3);
	} else {
		put_bound(fp, "min", k == 1, b->lo + (k - 1) * b->width);
		fputc(',', fp);
		put_bound(fp, "max", k == b->n, b->lo + k * b->width);
		palette_rgba(b->p, b->lo + (k - 0.5) * b->width, c);
	}
	fprintf(fp, ",\"color\":\"#%02x%02x%02x\"},\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[", c[0],
		c[1], c[2]);
}

/* 1 when the ring turns at its vertex i (a corner, not mid-edge). */
static int corner(const struct tracer *t, const struct ring *r, size_t i)
{
	long p = t->vert[r->off + (i + r->n - 1) % r->n], v = t->vert[r->off + i], u = t->vert[r->off + (i + 1) % r->n];
	return v - p != u - v;
}

static void put_vertex(FILE *fp, const struct tracer *t, long v, const struct grid *g, const char *sep)
{
	int x = (int)(v % (t->w + 1)), y = (int)(v / (t->w + 1));
	fprintf(fp, "%s[%.15g,%.15g]", sep, g->west + x * g->dx, g->south + y * g->dy);
}

/* One ring as [[lon, lat], ...]: its corners, closed by the first again. */
static void put_ring(FILE *fp, const struct tracer *t, const struct ring *r, const struct grid *g)
{
	size_t k0 = r->n;

	fputc('[', fp);
	for (size_t i = 0; i < r->n; i++)
		if (corner(t, r, i)) {
			put_vertex(fp, t, t->vert[r->off + i], g, k0 == r->n ? "" : ",");
			if (k0 == r->n)
				k0 = i;
		}
	if (k0 < r->n)
		put_vertex(fp, t, t->vert[r->off + k0], g, ",");
	fputc(']', fp);
}

/* Every edge of band k's cells with the band on its left. */
static size_t band_edges(struct tracer *t, const unsigned char *cls, int k)
{
	long W = t->w + 1;
	size_t cells = 0;

	memset(t->out, 0, (size_t)W * (size_t)(t->h + 1));
	for (int y = 0; y < t->h; y++)
		for (int x = 0; x < t->w; x++) {
			const unsigned char *c = &cls[(size_t)(t->h - 1 - y) * t->w + x]; /* row 0 is north */

			if (*c != k)
				continue;
			cells++;
			if (y == 0 || c[t->w] != k)
				t->out[y * W + x] |= 1u << DIR_E;
			if (x == t->w - 1 || c[1] != k)
				t->out[y * W + x + 1] |= 1u << DIR_N;
			if (y == t->h - 1 || c[-t->w] != k)
				t->out[(y + 1) * W + x + 1] |= 1u << DIR_W;
			if (x == 0 || c[-1] != k)
				t->out[(y + 1) * W + x] |= 1u << DIR_S;
		}
	return cells;
}

static int band_feature(FILE *fp, struct tracer *t, const unsigned char *cls, const struct bands *b, int k,
			const struct grid *g, int *first)
{
	size_t nv = (size_t)(t->w + 1) * (size_t)(t->h + 1), poly = 0;

	if (band_edges(t, cls, k) == 0)
		return 0;
	t->nring = t->nvert = 0;
	for (size_t v = 0; v < nv; v++)
		while (t->out[v])
			if (trace(t, (long)v, __builtin_ctz(t->out[v])) < 0)
				return -1;
	assign_holes(t, 0);
	fputs(*first ? "" : ",\n", fp);
	*first = 0;
	band_properties(fp, b, k);
	for (size_t s = 0; s < t->nring; s++) {
		if (t->ring[s].area2 <= 0)
			continue;
		fputs(poly++ ? ",[" : "[", fp);
		put_ring(fp, t, &t->ring[s], g);
		for (size_t h = 0; h < t->nring; h++)
			if (t->ring[h].owner == (long)s) {
				fputc(',', fp);
				put_ring(fp, t, &t->ring[h], g);
			}
		fputc(']', fp);
	}
	fputs("]}}", fp);
	return 0;
}

int isobands_write(FILE *fp, const struct grid *g, const double *values, const struct palette *p, struct error *e)
{
	size_t cells = (size_t)g->width * (size_t)g->height, nv = (size_t)(g->width + 1) * (size_t)(g->height + 1);
	struct tracer t = { 0 };
	struct bands b = { p, p->levels && p->mode != PALETTE_MODE_RAMP, ISOBANDS_RAMP_BANDS, p->vmin, 0 };
	struct raster_clocale loc;
	unsigned char *cls = malloc(cells);
	int first = 1, rc = 0, nb;

	if (!b.levels && isfinite(p->vmin) && isfinite(p->vmax) && p->vmax > p->vmin)
		b.width = (p->vmax - p->vmin) / b.n;
	nb = b.levels ? PALETTE_LEVELS : b.n;
	t.w = g->width;
	t.h = g->height;
	t.out = malloc(nv);
	t.pos = malloc(nv * sizeof(long));
	if (!cls || !t.out || !t.pos || raster_clocale_begin(&loc)) {
		rc = error_set(e, KD_ENOMEM, "out of memory for the isobands of a %dx%d grid", g->width, g->height);
		goto out;
	}
	for (size_t i = 0; i < nv; i++)
		t.pos[i] = -1;
	for (size_t i = 0; i < cells; i++)
		cls[i] = (unsigned char)band_of(&b, values[i]);
	fputs("{\"type\":\"FeatureCollection\",\"features\":[\n", fp);
	for (int k = 1; k <= nb && rc == 0; k++)
		if (band_feature(fp, &t, cls, &b, k, g, &first) < 0)
			rc = error_set(e, KD_ENOMEM, "out of memory tracing the isobands");
	fputs("]}\n", fp);
	raster_clocale_end(&loc);
	if (rc == 0 && ferror(fp))
		rc = error_set(e, KD_EIO, "writing the isobands failed");
out:
	free(cls);
	free(t.out);
	free(t.pos);
	free(t.stack);
	free(t.vert);
	free(t.ring);
	return rc;
}

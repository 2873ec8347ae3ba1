/* test_local.c - the local neighbourhood and cross-validation of the
 * kriging core against independent computations (TAP): a brute-force
 * neighbour choice kriged globally, leave-one-out by refitting without the
 * station, and thread independence.  gstat agreement is
 * tests/krige/gstat-local.test. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "krige.h"
#include "local.h"
#include "raster.h"
#include "tap.h"

#define W 48
#define H 36

static unsigned long rng = 12345;

static double urand(void)
{
	rng = rng * 6364136223846793005UL + 1442695040888963407UL;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static struct stations mk(const double *x, const double *y, const double *z, size_t n)
{
	struct stations s;
	struct error e = { 0 };

	if (stations_clean(&s, x, y, z, n, &e))
		tap_ok(0, "stations_clean: %s", e.msg);
	return s;
}

/* A W x H grid about 4.4 x 3.6 km, every cell inside. */
static void mkgrid(struct grid *g, size_t *spans, struct span *sp)
{
	memset(g, 0, sizeof(*g));
	g->west = 113.88;
	g->east = 113.92;
	g->south = 22.49;
	g->width = W;
	g->height = H;
	g->dx = (g->east - g->west) / g->width;
	g->dy = g->dx;
	g->north = g->south + g->height * g->dy;
	g->lon0 = (g->west + g->east) / 2;
	g->lat0 = (g->south + g->north) / 2;
	g->kx = EARTH_RADIUS_M * cos(g->lat0 * M_PI / 180) * M_PI / 180;
	g->ky = EARTH_RADIUS_M * M_PI / 180;
	for (int r = 0; r <= H; r++)
		spans[r] = (size_t)r;
	for (int r = 0; r < H; r++)
		sp[r] = (struct span){ 0, W };
	g->row_span = spans;
	g->span = sp;
}

/* Stations in two clusters, so a short maxdist leaves cells without any. */
static struct stations clustered(size_t n)
{
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double)), *z = malloc(n * sizeof(double));
	struct stations s;

	for (size_t i = 0; i < n; i++) {
		double cx = i % 2 ? -1200 : 900, cy = i % 2 ? -800 : 700;

		x[i] = cx + (urand() - 0.5) * 1400;
		y[i] = cy + (urand() - 0.5) * 1200;
		z[i] = 30 + 0.004 * x[i] + 8 * sin(y[i] / 500) + urand();
	}
	s = mk(x, y, z, n);
	free(x);
	free(y);
	free(z);
	return s;
}

static void test_threads_nodata(void)
{
	struct variogram v = { VGM_EXPONENTIAL, 0.5, 20.0, 700.0, 0 };
	struct krige_opts o = { 1, 1, 12, 600.0, 1 };
	struct stations s = clustered(400);
	struct krige *k = NULL;
	struct error e = { 0 };
	struct grid g;
	size_t spans[H + 1], cells = (size_t)W * H, nodata = 0, bad = 0, diff = 0;
	struct span sp[H];
	double *val[3], *var[3];
	int threads[3] = { 1, 2, 4 }, same = 1;

	mkgrid(&g, spans, sp);
	tap_ok(krige_open(&k, &v, &s, &o, &e) == 0 && krige_is_local(k), "local: nmax 12, maxdist 600 m (%s)", e.msg);
	if (!k) {
		stations_release(&s);
		return;
	}
	for (int t = 0; t < 3; t++) {
		val[t] = malloc(cells * sizeof(double));
		var[t] = malloc(cells * sizeof(double));
		tap_ok(krige_grid(k, &g, val[t], var[t], threads[t], &e) == 0, "local krige_grid, %d thread(s)",
		       threads[t]);
	}
	for (int t = 1; t < 3; t++)
		same &= memcmp(val[0], val[t], cells * sizeof(double)) == 0 &&
			memcmp(var[0], var[t], cells * sizeof(double)) == 0;
	tap_ok(same, "local: values and variances bit-identical for 1, 2 and 4 threads");
	for (int r = 0; r < H; r++)
		for (int c = 0; c < W; c++) {
			size_t i = (size_t)r * W + c;
			double x = grid_x(&g, grid_lon(&g, c)), y = grid_y(&g, grid_lat(&g, r)), near = INFINITY;

			for (size_t j = 0; j < s.n; j++)
				near = fmin(near, hypot(x - s.x[j], y - s.y[j]));
			if (isnan(val[0][i]) || isnan(var[0][i])) {
				nodata++;
				bad += !(isnan(val[0][i]) && isnan(var[0][i]) && near > 600.0);
			} else {
				bad += !(near <= 600.0);
				diff += !(val[0][i] == krige_predict(k, x, y) && var[0][i] == krige_variance(k, x, y));
			}
		}
	tap_ok(nodata > 0 && nodata < cells, "some cells (%zu of %zu) have no station within maxdist", nodata, cells);
	tap_ok(bad == 0, "NaN value and variance exactly where no station is within 600 m (%zu wrong)", bad);
	tap_ok(diff == 0, "every other cell equals krige_predict/krige_variance at its centre (%zu differ)", diff);
	{
		double *p1 = malloc(s.n * sizeof(double)), *v1 = malloc(s.n * sizeof(double));
		double *p4 = malloc(s.n * sizeof(double)), *v4 = malloc(s.n * sizeof(double));
		struct krige_cv c1 = { 0 }, c4 = { 0 };
		int rc = krige_cv(k, 1, p1, v1, &c1, &e) || krige_cv(k, 4, p4, v4, &c4, &e);

		tap_ok(rc == 0 && memcmp(p1, p4, s.n * sizeof(double)) == 0 && memcmp(v1, v4, s.n * sizeof(double)) == 0 &&
			       memcmp(&c1, &c4, sizeof(c1)) == 0 && c1.n > 0 && c1.n <= s.n,
		       "local cv: the same with 1 and 4 threads (n %zu of %zu)", c1.n, s.n);
		free(p1);
		free(v1);
		free(p4);
		free(v4);
	}
	for (int t = 0; t < 3; t++) {
		free(val[t]);
		free(var[t]);
	}
	krige_free(k);
	stations_release(&s);
}

/* Stations on a 100 m lattice: many equal distances, so the nmax nearest
 * depend on the tie rule (station order).  The local prediction must equal
 * global kriging of the stations chosen by brute force. */
static void test_ties(void)
{
	struct variogram v = { VGM_SPHERICAL, 0.1, 5.0, 450.0, 0 };
	double x[64], y[64], z[64], qx[] = { 0, 50, 100, 150, 250, 1000 }, qy[] = { 0, 50, 0, 100, 350, -500 };
	size_t order[64], nq = sizeof(qx) / sizeof(qx[0]), nmax = 7;
	struct stations s;
	struct krige *k = NULL;
	struct krige_opts o = { 1, 0, 7, INFINITY, 1 };
	struct error e = { 0 };
	double worst = 0;

	for (int i = 0; i < 64; i++) {
		x[i] = (i % 8) * 100.0 - 300;
		y[i] = (i / 8) * 100.0 - 300;
		z[i] = 10 + sin(i * 1.7) * 4;
	}
	s = mk(x, y, z, 64);
	tap_ok(krige_open(&k, &v, &s, &o, &e) == 0, "lattice, nmax 7 (%s)", e.msg);
	for (size_t q = 0; k && q < nq; q++) {
		double sx[7], sy[7], sz[7], d[64];
		struct stations sub;
		struct krige *g = NULL;
		size_t m = 0;

		for (size_t i = 0; i < 64; i++) {
			d[i] = (qx[q] - s.x[i]) * (qx[q] - s.x[i]) + (qy[q] - s.y[i]) * (qy[q] - s.y[i]);
			order[i] = i;
		}
		/* selection by (distance, index), then back to index order */
		for (size_t a = 0; a < nmax; a++)
			for (size_t b = a + 1; b < 64; b++)
				if (d[order[b]] < d[order[a]] || (d[order[b]] == d[order[a]] && order[b] < order[a])) {
					size_t t = order[a];
					order[a] = order[b];
					order[b] = t;
				}
		for (size_t i = 0; i < 64; i++)
			for (size_t a = 0; a < nmax; a++)
				if (order[a] == i) {
					sx[m] = s.x[i];
					sy[m] = s.y[i];
					sz[m++] = s.z[i];
				}
		sub = mk(sx, sy, sz, m);
		if (krige_new(&g, &v, &sub, 1, &e) == 0) {
			double dp = fabs(krige_predict(k, qx[q], qy[q]) - krige_predict(g, qx[q], qy[q]));
			double dv = fabs(krige_variance(k, qx[q], qy[q]) - krige_variance(g, qx[q], qy[q]));

			worst = fmax(worst, fmax(dp, dv));
		} else {
			worst = INFINITY;
		}
		krige_free(g);
		stations_release(&sub);
	}
	tap_ok(worst <= 1e-12, "ties by station order: equal to global kriging of the brute-force choice (%g)", worst);
	krige_free(k);
	stations_release(&s);
}

/* The closed form against leaving each station out and kriging again. */
static void test_cv_global(void)
{
	struct variogram v = { VGM_GAUSSIAN, 0.3, 12.0, 900.0, 0 };
	struct stations s = clustered(60), rest;
	struct krige_opts o = { 0, 1, 0, INFINITY, 1 };
	struct krige *k = NULL;
	struct krige_cv cv;
	struct error e = { 0 };
	double pred[60], var[60], worst = 0, se = 0, sd = 0;

	tap_ok(krige_open(&k, &v, &s, &o, &e) == 0 && !krige_is_local(k), "global, cv kept (%s)", e.msg);
	tap_ok(k && krige_cv(k, 1, pred, var, &cv, &e) == 0, "krige_cv, global (%s)", e.msg);
	for (size_t i = 0; k && i < s.n; i++) {
		struct krige *g = NULL;
		double x[60], y[60], z[60], p, q;
		size_t m = 0;

		for (size_t j = 0; j < s.n; j++)
			if (j != i) {
				x[m] = s.x[j];
				y[m] = s.y[j];
				z[m++] = s.z[j];
			}
		rest = mk(x, y, z, m);
		if (krige_new(&g, &v, &rest, 1, &e) == 0) {
			p = krige_predict(g, s.x[i], s.y[i]);
			q = krige_variance(g, s.x[i], s.y[i]);
			worst = fmax(worst, fmax(fabs(p - pred[i]) / 10, fabs(q - var[i]) / 12.3));
			se += (s.z[i] - p) * (s.z[i] - p);
			sd += (s.z[i] - p) * (s.z[i] - p) / q;
		} else {
			worst = INFINITY;
		}
		krige_free(g);
		stations_release(&rest);
	}
	tap_ok(worst <= 1e-9, "closed form = kriging without the station, every station (%g)", worst);
	tap_ok(k && cv.n == s.n && fabs(cv.rmse - sqrt(se / s.n)) <= 1e-9 * cv.rmse &&
		       fabs(cv.msdr - sd / s.n) <= 1e-9 * cv.msdr,
	       "n, rmse, msdr as computed by hand (%g %g)", k ? cv.rmse : 0, k ? cv.msdr : 0);
	krige_free(k);
	o.cv = 0;
	k = NULL;
	tap_ok(krige_open(&k, &v, &s, &o, &e) == 0 && krige_cv(k, 1, pred, var, &cv, &e) == KD_EINTERNAL,
	       "global without cv or variance: krige_cv refuses");
	krige_free(k);
	o.maxdist = 0;
	k = NULL;
	tap_ok(krige_open(&k, &v, &s, &o, &e) == KD_EINPUT && !k, "maxdist 0 refused: %s", e.msg);
	o.maxdist = INFINITY;
	o.nmax = 60;
	tap_ok(krige_open(&k, &v, &s, &o, &e) == 0 && !krige_is_local(k), "nmax >= stations is global");
	krige_free(k);
	tap_ok(krige_local_cost(1000, 10000, 32) > krige_local_cost(1000, 10000, 16) &&
		       krige_local_cost(1000, 10, 32) == krige_local_cost(1000, 10, 0),
	       "cost grows with nmax and is capped by the stations");
	stations_release(&s);
}

/* Global kriging of the stations a brute-force search picks for (qx, qy):
 * d <= maxdist, then the nmax nearest by (distance, index).  *p and *q
 * NaN when none; returns -1 when the subset's system is refused. */
static int brute(const struct variogram *v, const struct stations *s, size_t nmax, double maxdist, double qx,
		 double qy, double *p, double *q)
{
	double *d = malloc(s->n * sizeof(double)), *x = malloc(s->n * sizeof(double)), *y = malloc(s->n * sizeof(double));
	double *z = malloc(s->n * sizeof(double));
	unsigned char *in = calloc(s->n, 1);
	struct stations sub;
	struct krige *g = NULL;
	struct error e = { 0 };
	size_t m = 0;
	int rc = 0;

	for (size_t i = 0; i < s->n; i++)
		d[i] = hypot(qx - s->x[i], qy - s->y[i]);
	for (size_t a = 0; a < nmax; a++) {
		size_t best = (size_t)-1;

		for (size_t i = 0; i < s->n; i++)
			if (!in[i] && d[i] <= maxdist && (best == (size_t)-1 || d[i] < d[best]))
				best = i;
		if (best == (size_t)-1)
			break;
		in[best] = 1;
	}
	for (size_t i = 0; i < s->n; i++)
		if (in[i]) {
			x[m] = s->x[i];
			y[m] = s->y[i];
			z[m++] = s->z[i];
		}
	*p = *q = NAN;
	if (m > 0) {
		sub = mk(x, y, z, m);
		if (krige_new(&g, v, &sub, 1, &e) == 0) {
			*p = krige_predict(g, qx, qy);
			*q = krige_variance(g, qx, qy);
		} else {
			rc = -1;
		}
		krige_free(g);
		stations_release(&sub);
	}
	free(d);
	free(x);
	free(y);
	free(z);
	free(in);
	return rc;
}

/* Neighbourhoods larger than 32 stations, and without a nugget (the
 * condition is then estimated, not bounded), against global kriging of
 * the brute-force choice; a hopeless system is refused, not drawn. */
static void test_sizes(void)
{
	struct variogram vs[] = { { VGM_EXPONENTIAL, 0.0, 10.0, 800.0, 0.0 }, { VGM_SPHERICAL, 0.2, 5.0, 900.0, 0.0 },
				  { VGM_GAUSSIAN, 0.0, 4.0, 500.0, 0.0 } };
	struct krige_opts os[] = { { 1, 0, 40, INFINITY, 1 }, { 1, 0, 6, 700.0, 1 }, { 1, 0, 9, INFINITY, 1 } };
	size_t n = 150;
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double)), *z = malloc(n * sizeof(double));
	struct stations s;
	struct error e = { 0 };

	for (size_t i = 0; i < n; i++) {
		x[i] = (urand() - 0.5) * 3000;
		y[i] = (urand() - 0.5) * 3000;
		z[i] = 20 + 0.003 * x[i] + 5 * cos(y[i] / 400) + urand();
	}
	s = mk(x, y, z, n);
	for (int c = 0; c < 3; c++) {
		struct krige *k = NULL;
		double worst = 0.0;
		size_t nan = 0, bad = 0;

		tap_ok(krige_open(&k, &vs[c], &s, &os[c], &e) == 0 && krige_is_local(k), "%s, nmax %zu: local (%s)",
		       vgm_model_name(vs[c].model), os[c].nmax, e.msg);
		for (int q = 0; k && q < 40; q++) {
			double qx = (urand() - 0.5) * 3400, qy = (urand() - 0.5) * 3400, p, v;

			bad += brute(&vs[c], &s, os[c].nmax, os[c].maxdist, qx, qy, &p, &v) < 0;
			nan += isnan(p);
			if (isnan(p) != isnan(krige_predict(k, qx, qy)))
				worst = INFINITY;
			else if (!isnan(p))
				worst = fmax(worst, fmax(fabs(krige_predict(k, qx, qy) - p) / 10,
							 fabs(krige_variance(k, qx, qy) - v) / (vs[c].nugget + vs[c].psill)));
		}
		tap_ok(bad == 0 && worst <= 1e-9 && nan < 40,
		       "%s, nmax %zu, maxdist %g: equal to global kriging of the brute-force choice (%g; %zu NODATA)",
		       vgm_model_name(vs[c].model), os[c].nmax, os[c].maxdist, worst, nan);
		krige_free(k);
	}
	{
		struct variogram v = { VGM_GAUSSIAN, 0.0, 1.0, 20000, 0.0 };
		struct krige_opts o = { 1, 0, 8, INFINITY, 1 };
		struct krige *k = NULL;
		struct grid g;
		size_t spans[H + 1], cells = (size_t)W * H;
		struct span sp[H];
		double *val = malloc(cells * sizeof(double)), *var = malloc(cells * sizeof(double));

		mkgrid(&g, spans, sp);
		tap_ok(krige_open(&k, &v, &s, &o, &e) == 0 && krige_grid(k, &g, val, var, 2, &e) == KD_EINPUT &&
			       (strstr(e.msg, "ill-conditioned") || strstr(e.msg, "not positive definite")) &&
			       strstr(e.msg, "in the neighbourhood of"),
		       "gaussian without nugget, range 20 km: refused, the point named (%s)", e.msg);
		krige_free(k);
		free(val);
		free(var);
	}
	stations_release(&s);
	free(x);
	free(y);
	free(z);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Stations on every third cell centre of the grid, so that many cells
 * are equally far from two stations at the edge of their set: a grid's
 * cells (klocal_cells' tiles, the split carried from cell to cell) must
 * pick the very sets that each point's own search picks (ties by station
 * order), with and without maxdist. */
static void test_cells_ties(void)
{
	struct variogram v = { VGM_EXPONENTIAL, 0.3, 9.0, 500.0, 0 };
	struct krige_opts os[] = { { 1, 0, 7, INFINITY, 1 }, { 1, 0, 12, 260.0, 1 }, { 1, 0, 4, INFINITY, 1 } };
	size_t spans[H + 1], cells = (size_t)W * H, n = 0;
	struct span sp[H];
	struct grid g;
	double x[(W / 3 + 1) * (H / 3 + 1)], y[(W / 3 + 1) * (H / 3 + 1)], z[(W / 3 + 1) * (H / 3 + 1)];
	double *val = malloc(cells * sizeof(double)), *var = malloc(cells * sizeof(double));
	struct stations s;

	mkgrid(&g, spans, sp);
	for (int r = 1; r < H; r += 3)
		for (int c = 1; c < W; c += 3) {
			x[n] = grid_x(&g, grid_lon(&g, c));
			y[n] = grid_y(&g, grid_lat(&g, r));
			z[n] = 15 + 6 * sin(n * 0.9) + 0.002 * x[n];
			n++;
		}
	s = mk(x, y, z, n);
	for (int t = 0; t < 3; t++) {
		struct krige *k = NULL;
		struct error e = { 0 };
		size_t diff = 0, ties = 0, nodata = 0;

		tap_ok(krige_open(&k, &v, &s, &os[t], &e) == 0 && krige_is_local(k) &&
			       krige_grid(k, &g, val, var, 2, &e) == 0,
		       "lattice grid, nmax %zu, maxdist %g (%s)", os[t].nmax, os[t].maxdist, e.msg);
		for (int r = 0; k && r < H; r++)
			for (int c = 0; c < W; c++) {
				size_t i = (size_t)r * W + c, below = 0, at = 0;
				double px = grid_x(&g, grid_lon(&g, c)), py = grid_y(&g, grid_lat(&g, r)), d[sizeof(x) / sizeof(x[0])];
				double p = krige_predict(k, px, py), q = krige_variance(k, px, py), kth;

				/* a tie at the edge: the nmax-th distance shared
				 * by a station inside the set and one outside */
				for (size_t j = 0; j < s.n; j++)
					d[j] = (px - s.x[j]) * (px - s.x[j]) + (py - s.y[j]) * (py - s.y[j]);
				qsort(d, s.n, sizeof(d[0]), cmp_double);
				kth = d[os[t].nmax - 1];
				for (size_t j = 0; j < s.n; j++) {
					below += d[j] < kth;
					at += d[j] == kth;
				}
				ties += below < os[t].nmax && below + at > os[t].nmax;
				nodata += isnan(val[i]);
				diff += !(memcmp(&val[i], &p, sizeof(p)) == 0 && memcmp(&var[i], &q, sizeof(q)) == 0);
			}
		tap_ok(k && diff == 0 && ties > 0,
		       "nmax %zu, maxdist %g: every cell equals krige_predict/krige_variance at its centre, bit for bit "
		       "(%zu differ; %zu cells with a tie at the set's edge, %zu NODATA)",
		       os[t].nmax, os[t].maxdist, diff, ties, nodata);
		krige_free(k);
	}
	stations_release(&s);
	free(val);
	free(var);
}

/* Sets too large for more than two kept factorisations (no nmax, only a
 * maxdist: each set a few hundred stations), where a row's batch of sets
 * must leave a slot free for the next one even when the sets before it
 * were found already factorised.  Every cell as krige_predict says. */
static void test_cells_two_slots(void)
{
	struct variogram v = { VGM_EXPONENTIAL, 0.5, 20.0, 700.0, 0 };
	struct krige_opts o = { 1, 0, 0, 250.0, 1 };
	struct stations s = clustered(500);
	struct krige *k = NULL;
	struct error e = { 0 };
	struct grid g;
	size_t spans[H + 1], cells = (size_t)W * H, diff = 0, nodata = 0;
	struct span sp[H];
	double *val = malloc(cells * sizeof(double)), *var = malloc(cells * sizeof(double));

	mkgrid(&g, spans, sp);
	tap_ok(krige_open(&k, &v, &s, &o, &e) == 0 && krige_is_local(k) && krige_grid(k, &g, val, var, 1, &e) == 0,
	       "no nmax, maxdist 250 m: a set may hold any of the 500 stations, so two are kept at a time (%s)", e.msg);
	for (int r = 0; k && r < H; r++)
		for (int c = 0; c < W; c++) {
			size_t i = (size_t)r * W + c;
			double px = grid_x(&g, grid_lon(&g, c)), py = grid_y(&g, grid_lat(&g, r));
			double p = krige_predict(k, px, py), q = krige_variance(k, px, py);

			nodata += isnan(val[i]);
			diff += !(memcmp(&val[i], &p, sizeof(p)) == 0 && memcmp(&var[i], &q, sizeof(q)) == 0);
		}
	tap_ok(k && diff == 0 && nodata < cells, "... every cell equals krige_predict/krige_variance, bit for bit (%zu differ, %zu NODATA)",
	       diff, nodata);
	krige_free(k);
	stations_release(&s);
	free(val);
	free(var);
}

/* A thread's tile lists are put in index order by merging (ltile.c's
 * tile_order): each station carries the stamp of the last list that held
 * it.  When the stamps wrap (after 2^32 tiles) the marks are reset and
 * no station counts as in the last list; started just before the wrap,
 * rows of cells must still be klocal_at's, bit for bit. */
static void test_cells_stamp_wrap(void)
{
	struct variogram v = { VGM_EXPONENTIAL, 0.5, 10.0, 800.0, 0 };
	enum { N = 600, C = 200 };
	double x[N], y[N], z[N], xs[C], pred[C], var[C];
	unsigned long long r = 88172645463325252ULL;
	struct klocal *l = NULL;
	struct lwork w, wa;
	struct error e = { 0 };
	struct stations s;
	size_t diff = 0, cells = 0;
	int ok;

	for (size_t i = 0; i < N; i++) {
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		x[i] = (double)(r % 3000000) / 1000.0;
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		y[i] = (double)(r % 3000000) / 1000.0;
		z[i] = 20 + 5 * sin(x[i] / 400) + 0.001 * y[i];
	}
	s = mk(x, y, z, N);
	for (int c = 0; c < C; c++)
		xs[c] = 7.5 + 15.0 * c;
	ok = klocal_new(&l, &v, &s, 16, INFINITY, NULL, NULL, NULL, &e) == 0 && lwork_init(&w, l, &e) == 0 &&
	     lwork_init(&wa, l, &e) == 0 && klocal_cells(l, &w, xs, 4, 1500.0, pred, var, &e) == 0;
	tap_ok(ok, "stamp wrap: set up (%s)", e.msg);
	if (!ok)
		return;
	w.tstamp = UINT_MAX - 3; /* a few tiles before the wrap */
	for (double yy = 100.0; yy < 3000.0; yy += 350.0) {
		if (klocal_cells(l, &w, xs, C, yy, pred, var, &e)) {
			tap_ok(0, "stamp wrap: klocal_cells at y %g (%s)", yy, e.msg);
			break;
		}
		for (int c = 0; c < C; c++) {
			double p, q;

			cells++;
			if (klocal_at(l, &wa, xs[c], yy, (size_t)-1, &p, &q, &e) ||
			    memcmp(&p, &pred[c], sizeof(p)) || memcmp(&q, &var[c], sizeof(q)))
				diff++;
		}
	}
	tap_ok(diff == 0 && cells == 9 * C && w.tstamp < 1000,
	       "stamp wrap: %zu cells of rows begun 3 tiles before the stamps wrap equal klocal_at bit for bit "
	       "(%zu differ; stamp now %u)",
	       cells, diff, w.tstamp);
	lwork_release(&w);
	lwork_release(&wa);
	klocal_free(l);
	stations_release(&s);
}

int main(void)
{
	test_sizes();
	test_threads_nodata();
	test_cells_ties();
	test_cells_two_slots();
	test_cells_stamp_wrap();
	test_ties();
	test_cv_global();
	return tap_done();
}

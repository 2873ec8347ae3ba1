/* test_kernels.c - every kriging kernel path against the scalar reference
 * (TAP).  For random station sets (several N, the three models, with and
 * without nugget) on a hand-made grid of uneven spans:
 *  - each path the build and CPU support agrees with "scalar" within
 *    1e-12 * sum_i |a_i gamma_i| per cell, and its variance within
 *    VAR_REL * C(0) (C(0) = nugget + psill, the scale of the variance);
 *  - krige_grid is bit-identical for 1, 2, 3 and 5 threads, and equal bit
 *    for bit to krige_predict / krige_variance at each cell centre;
 *  - cells exactly at a station give the station's value (also with a
 *    nugget) and a variance of 0;
 *  - each path's exp is within EXP_ULP ulp of libm's over [-708, 0].
 * A path the CPU lacks is reported as a visible SKIP. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernel.h"
#include "krige.h"
#include "raster.h"
#include "tap.h"

#define VAR_REL 1e-10
#define EXP_ULP 4.0

static const char *const paths[] = { "portable", "avx2", "avx512" };

static uint64_t rng = 88172645463325252ULL;

static double urand(void) /* xorshift64, [0, 1) */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* A 61 x 23 grid over roughly 12 km x 4.5 km near Shenzhen, with 1 to 3
 * spans per row of random lengths (some of 1 and 2 cells). */
struct tgrid {
	struct grid g;
	size_t row_span[24];
	struct span span[23 * 3];
};

static void make_grid(struct tgrid *t)
{
	struct grid *g = &t->g;
	size_t ns = 0;

	memset(t, 0, sizeof(*t));
	g->west = 113.85;
	g->east = 113.97;
	g->south = 22.48;
	g->width = 61;
	g->height = 23;
	g->dx = (g->east - g->west) / g->width;
	g->dy = g->dx * cos(22.5 * M_PI / 180);
	g->north = g->south + g->height * g->dy;
	g->lon0 = (g->west + g->east) / 2;
	g->lat0 = (g->south + g->north) / 2;
	g->kx = EARTH_RADIUS_M * cos(g->lat0 * M_PI / 180) * M_PI / 180;
	g->ky = EARTH_RADIUS_M * M_PI / 180;
	for (int r = 0; r < g->height; r++) {
		int c = (int)(urand() * 5), k = 1 + (int)(urand() * 3);

		t->row_span[r] = ns;
		for (int q = 0; q < k && c < g->width; q++) {
			int len = 1 + (int)(urand() * 30);

			if (c + len > g->width)
				len = g->width - c;
			t->span[ns++] = (struct span){ c, c + len };
			c += len + 1 + (int)(urand() * 6);
		}
	}
	t->row_span[g->height] = ns;
	g->row_span = t->row_span;
	g->span = t->span;
	g->ncells = 0;
}

static double cell_x(const struct grid *g, int c) { return grid_x(g, grid_lon(g, c)); }
static double cell_y(const struct grid *g, int r) { return grid_y(g, grid_lat(g, r)); }

/* n stations over the grid, the first few exactly at inside cell centres. */
static void make_stations(const struct tgrid *t, size_t n, double *x, double *y, double *z)
{
	const struct grid *g = &t->g;
	double w = g->width * g->dx * g->kx, h = g->height * g->dy * g->ky;

	for (size_t i = 0; i < n; i++) {
		x[i] = (urand() - 0.5) * w * 1.1;
		y[i] = (urand() - 0.5) * h * 1.1;
		z[i] = 40 + 20 * sin(x[i] / 1500) * cos(y[i] / 1100) + 5 * urand();
	}
	for (size_t i = 0; i < n && i < 3; i++) {
		int r = (int)(i * 7 + 3) % g->height;
		const struct span *sp = &t->span[t->row_span[r]];

		if (t->row_span[r] == t->row_span[r + 1])
			continue;
		x[i] = cell_x(g, sp->c0 + (sp->c1 - sp->c0) / 2);
		y[i] = cell_y(g, r);
	}
}

static double sum_abs_terms(const struct kmodel *m, double x, double y)
{
	struct variogram v = { (enum vgm_model)m->model, m->nugget, m->psill, m->range, m->kappa };
	double s = 0;

	for (size_t i = 0; i < m->n; i++)
		s += fabs(m->a[i] * variogram_gamma(&v, hypot(x - m->sx[i], y - m->sy[i])));
	return s;
}

struct worst {
	double pred, var; /* largest error / bound ratio, largest variance error / C(0) */
};

static void check_case(const struct tgrid *t, const struct stations *s, const struct variogram *v,
		       struct worst *worst)
{
	const struct grid *g = &t->g;
	size_t cells = (size_t)g->width * g->height;
	struct krige *k = NULL;
	struct error e = { 0 };
	double *ref = malloc(cells * sizeof(double)), *refv = malloc(cells * sizeof(double));
	double *val[4], *var[4];
	char what[96];
	int threads[4] = { 1, 2, 3, 5 };

	snprintf(what, sizeof(what), "N=%zu %s nugget %g", s->n, vgm_model_name(v->model), v->nugget);
	if (krige_new(&k, v, s, 1, &e)) {
		tap_ok(0, "%s: system built: %s", what, e.msg);
		free(ref);
		free(refv);
		return;
	}
	krige_set_kernel(k, "scalar", &e);
	tap_ok(krige_grid(k, g, ref, refv, 1, &e) == 0, "%s: scalar grid", what);
	for (int t4 = 0; t4 < 4; t4++) {
		val[t4] = malloc(cells * sizeof(double));
		var[t4] = malloc(cells * sizeof(double));
	}
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		const struct kmodel *m = krige_kmodel(k);
		double maxratio = 0, maxvar = 0, maxstation = 0;
		int same = 1, point = 1, ok = 1;

		if (krige_set_kernel(k, paths[p], &e)) {
			tap_ok(1, "%s: %s # SKIP not supported by this build or CPU", what, paths[p]);
			continue;
		}
		for (int t4 = 0; t4 < 4; t4++)
			ok &= krige_grid(k, g, val[t4], var[t4], threads[t4], &e) == 0;
		for (int t4 = 1; t4 < 4; t4++)
			same &= memcmp(val[0], val[t4], cells * sizeof(double)) == 0 &&
				memcmp(var[0], var[t4], cells * sizeof(double)) == 0;
		for (int r = 0; r < g->height; r++) {
			for (size_t q = g->row_span[r]; q < g->row_span[r + 1]; q++) {
				for (int c = g->span[q].c0; c < g->span[q].c1; c++) {
					size_t i = (size_t)r * g->width + c;
					double x = cell_x(g, c), y = cell_y(g, r);
					double bound = 1e-12 * sum_abs_terms(m, x, y);
					double err = fabs(val[0][i] - ref[i]);

					if (err > 0)
						maxratio = fmax(maxratio, bound > 0 ? err / bound : INFINITY);
					maxvar = fmax(maxvar, fabs(var[0][i] - refv[i]) / m->c0);
					point &= val[0][i] == krige_predict(k, x, y) &&
						 var[0][i] == krige_variance(k, x, y);
					for (size_t st = 0; st < s->n; st++)
						if (s->x[st] == x && s->y[st] == y)
							maxstation = fmax(maxstation,
									  fabs(val[0][i] - s->z[st]) + var[0][i]);
				}
			}
		}
		tap_ok(ok, "%s: %s grid computed", what, paths[p]);
		if (!tap_ok(maxratio <= 1.0, "%s: %s within 1e-12 sum|a gamma| of scalar", what, paths[p]))
			printf("# worst error / bound: %.3g\n", maxratio);
		if (!tap_ok(maxvar <= VAR_REL, "%s: %s variance within %g C(0) of scalar", what, paths[p], VAR_REL))
			printf("# worst variance error / C(0): %.3g\n", maxvar);
		tap_ok(same, "%s: %s bit-identical for 1, 2, 3, 5 threads", what, paths[p]);
		tap_ok(point, "%s: %s grid cells equal krige_predict/krige_variance bit for bit", what, paths[p]);
		tap_ok(maxstation <= 1e-9 * 100, "%s: %s exact at stations (|dz| + variance = %.3g)", what, paths[p],
		       maxstation);
		worst[p].pred = fmax(worst[p].pred, maxratio);
		worst[p].var = fmax(worst[p].var, maxvar);
	}
	for (int t4 = 0; t4 < 4; t4++) {
		free(val[t4]);
		free(var[t4]);
	}
	free(ref);
	free(refv);
	krige_free(k);
}

static double ulp_err(double got, double want)
{
	int ex;

	if (got == want)
		return 0;
	frexp(want, &ex);
	return fabs(got - want) / ldexp(1.0, ex - 53);
}

static void check_exp(void)
{
	size_t n = 1 << 20;
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));

	for (size_t i = 0; i < n; i++)
		x[i] = i < n / 2 ? -708.0 * urand() : -urand() * (i % 2 ? 1.0 : 0.01);
	x[0] = 0.0;
	x[1] = -708.0;
	x[2] = -0.5 * M_LN2;
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		const struct kernel_ops *ops = kernel_get(paths[p]);
		double worst = 0;

		if (!ops) {
			tap_ok(1, "exp %s # SKIP not supported by this build or CPU", paths[p]);
			continue;
		}
		ops->vexp(x, y, n - 3); /* an odd count: the padded tail too */
		for (size_t i = 0; i < n - 3; i++)
			worst = fmax(worst, ulp_err(y[i], exp(x[i])));
		tap_ok(worst <= EXP_ULP, "exp %s within %g ulp of libm over [-708, 0] (max %.2f ulp)", paths[p],
		       EXP_ULP, worst);
	}
	free(x);
	free(y);
}

/* cov_vec, the local neighbourhoods' covariances, gives every entry
 * cov_row's bits on each path (both models, tails of every length, a
 * station on the point). */
static void check_cov_vec(void)
{
	static const size_t ns[] = { 1, 3, 8, 13, 32, 37 };
	double sx[40], sy[40], a[40], b[40], colsum[40];

	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		const struct kernel_ops *ops = kernel_get(paths[p]);
		size_t bad = 0, total = 0;

		if (!ops) {
			tap_ok(1, "cov_vec %s # SKIP not supported by this build or CPU", paths[p]);
			continue;
		}
		for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
			for (int gauss = 0; gauss < 2; gauss++) {
				size_t n = ns[ni];
				double x = 1000.0 * urand(), y = 1000.0 * urand();

				for (size_t i = 0; i < n; i++) {
					sx[i] = i == n / 2 ? x : 3000.0 * urand();
					sy[i] = i == n / 2 ? y : 3000.0 * urand();
					colsum[i] = 0.0;
				}
				ops->cov_row(gauss, x, y, sx, sy, n, 5.0, 30.0, 900.0, a, colsum);
				ops->cov_vec(gauss, x, y, sx, sy, n, 5.0, 30.0, 900.0, b);
				for (size_t i = 0; i < n; i++, total++)
					bad += memcmp(&a[i], &b[i], sizeof(double)) != 0;
			}
		tap_ok(bad == 0, "cov_vec %s: cov_row's bits (%zu of %zu entries differ)", paths[p], bad, total);
	}
}

int main(void)
{
	static const size_t ns[] = { 1, 2, 7, 20, 100, 301 };
	enum vgm_model models[] = { VGM_EXPONENTIAL, VGM_GAUSSIAN, VGM_SPHERICAL };
	struct worst worst[3] = { { 0, 0 }, { 0, 0 }, { 0, 0 } };
	struct tgrid t;
	struct error e = { 0 };
	struct krige *k = NULL;

	make_grid(&t);
	check_exp();
	for (size_t ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++) {
		double x[301], y[301], z[301];
		struct stations s;

		make_stations(&t, ns[ni], x, y, z);
		if (stations_clean(&s, x, y, z, ns[ni], &e)) {
			tap_ok(0, "stations_clean: %s", e.msg);
			continue;
		}
		for (int mi = 0; mi < 3; mi++) {
			/* Ranges from a sixth to a half of the grid's width, so
			 * the spherical cut-off and both exp ranges are used; the
			 * gaussian model needs a short range (or a nugget) to be
			 * well-conditioned with 300 stations. */
			double range = models[mi] == VGM_GAUSSIAN ? 700.0 + 5000.0 / (double)ns[ni] : 2500.0 + 1000.0 * mi;

			for (int nug = 0; nug < 2; nug++) {
				struct variogram v = { models[mi], nug ? 7.0 : 0.0, 30.0, range, 0 };

				check_case(&t, &s, &v, worst);
			}
		}
		stations_release(&s);
	}
	for (size_t p = 0; p < 3; p++)
		printf("# %s: worst error / 1e-12 sum|a gamma| = %.3g, worst variance error / C(0) = %.3g\n", paths[p],
		       worst[p].pred, worst[p].var);
	check_cov_vec();
	/* An unknown or unsupported path is refused, and the object kept. */
	{
		double x1[] = { 0 }, y1[] = { 0 }, z1[] = { 5 };
		struct variogram v = { VGM_EXPONENTIAL, 0, 1, 100, 0 };
		struct stations s;

		stations_clean(&s, x1, y1, z1, 1, &e);
		if (krige_new(&k, &v, &s, 0, &e) == 0) {
			const char *before = krige_kernel(k);

			tap_ok(krige_set_kernel(k, "sse9", &e) == KD_EINPUT && strstr(e.msg, "sse9") &&
				       strcmp(krige_kernel(k), before) == 0,
			       "unknown kernel refused: %s", e.msg);
			krige_free(k);
		}
		stations_release(&s);
	}
	return tap_done();
}

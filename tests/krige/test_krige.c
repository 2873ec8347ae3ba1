/* test_krige.c - closed-form checks of the kriging core (TAP). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "krige.h"
#include "krigejs.h"
#include "linalg.h"
#include "raster.h"
#include "tap.h"

static struct stations mk(const double *x, const double *y, const double *z, size_t n)
{
	struct stations s;
	struct error e = { 0 };

	if (stations_clean(&s, x, y, z, n, &e))
		tap_ok(0, "stations_clean: %s", e.msg);
	return s;
}

static void test_models(void)
{
	struct variogram ve = { VGM_EXPONENTIAL, 1.0, 2.0, 100.0, 0 };
	struct variogram vg = { VGM_GAUSSIAN, 1.0, 2.0, 100.0, 0 };
	struct variogram vs = { VGM_SPHERICAL, 1.0, 2.0, 100.0, 0 };
	enum vgm_model m;

	tap_near(variogram_gamma(&ve, 0.0), 0.0, 0, "gamma(0) = 0 even with a nugget");
	tap_near(variogram_gamma(&ve, 100.0), 1.0 + 2.0 * (1.0 - exp(-1.0)), 1e-15, "exponential at h = range");
	tap_near(variogram_gamma(&vg, 50.0), 1.0 + 2.0 * (1.0 - exp(-0.25)), 1e-15, "gaussian at h = range/2");
	tap_near(variogram_gamma(&vs, 50.0), 1.0 + 2.0 * (0.75 - 0.0625), 1e-15, "spherical at h = range/2");
	tap_near(variogram_gamma(&vs, 250.0), 3.0, 0, "spherical = nugget + psill beyond range");
	{
		struct variogram vm = { VGM_MATERN, 1.0, 2.0, 100.0 * sqrt(2.0), 0.5 };

		tap_near(variogram_gamma(&vm, 70.0), variogram_gamma(&ve, 70.0), 1e-15,
			 "matern at kappa 1/2 is the exponential with range / sqrt 2 (gstat's Ste)");
	}
	tap_near(variogram_gamma(&vs, 1e-9), 1.0, 1e-6, "nugget is the limit at h -> 0+");
	tap_ok(vgm_model_parse("gaussian", &m) == 0 && m == VGM_GAUSSIAN, "parse gaussian");
	tap_ok(vgm_model_parse("Gau", &m) == KD_EINPUT, "parse rejects an unknown name");
	tap_ok(strcmp(vgm_model_name(VGM_SPHERICAL), "spherical") == 0, "name of spherical");
}

static void test_clean(void)
{
	double x[] = { 0, 0.5, 100, NAN, 200, 200.3, 200.6, 300, 400 };
	double y[] = { 0, 0, 0, 5, 0, 0, 0, INFINITY, 0 };
	double z[] = { 1, 3, 7, 9, 10, 20, 30, 4, NAN };
	struct stations s = mk(x, y, z, 9);

	tap_ok(s.n == 3, "9 points -> 3 stations (got %zu)", s.n);
	tap_ok(s.dropped == 3, "3 non-finite points dropped (got %zu)", s.dropped);
	tap_ok(s.merged == 3, "3 points merged into others (got %zu)", s.merged);
	if (s.n == 3) {
		tap_near(s.x[0], 0.25, 1e-12, "pair merged at the mean x");
		tap_near(s.z[0], 2.0, 1e-12, "pair merged at the mean value");
		tap_near(s.z[1], 7.0, 0, "lone station kept");
		tap_near(s.x[2], 200.3, 1e-12, "chain of 3 within 1 m merged, mean x");
		tap_near(s.z[2], 20.0, 1e-12, "chain of 3 merged, mean value");
	}
	stations_release(&s);
}

static void test_one_two(void)
{
	double x[] = { 0, 100 }, y[] = { 0, 0 }, z[] = { 5, 9 };
	struct variogram v = { VGM_EXPONENTIAL, 0.0, 1.0, 50.0, 0 };
	struct stations s1 = mk(x, y, z, 1), s2 = mk(x, y, z, 2);
	struct krige *k = NULL;
	struct error e = { 0 };
	double g, c0, c1, c2, vexp;

	tap_ok(krige_new(&k, &v, &s1, 1, &e) == 0, "one station: system built");
	if (k) {
		tap_near(krige_predict(k, 30, 40), 5.0, 1e-12, "one station: its value everywhere");
		/* sigma^2 = 2 gamma(h) for a single station (weight 1). */
		tap_near(krige_variance(k, 30, 40), 2.0 * variogram_gamma(&v, 50.0), 1e-12,
			 "one station: variance 2 gamma(h)");
		krige_free(k);
	}
	tap_ok(krige_new(&k, &v, &s2, 1, &e) == 0, "two stations: system built");
	if (k) {
		/* At the midpoint the weights are 1/2 by symmetry. */
		tap_near(krige_predict(k, 50, 0), 7.0, 1e-12, "two stations: mean at the midpoint");
		tap_near(krige_predict(k, 50, 77), 7.0, 1e-12, "two stations: mean on the bisector");
		/* Off the bisector: lambda1 = 1/2 + (g(h2) - g(h1)) / (2 g(d)). */
		g = variogram_gamma(&v, 100.0);
		c1 = variogram_gamma(&v, 20.0);
		c2 = variogram_gamma(&v, 80.0);
		c0 = 0.5 + (c2 - c1) / (2.0 * g);
		tap_near(krige_predict(k, 20, 0), c0 * 5.0 + (1.0 - c0) * 9.0, 1e-12,
			 "two stations: analytic weights off the bisector");
		/* sigma^2 = l1 g1 + l2 g2 + mu with mu = (g(h1) + g(h2) - g(d)) / 2. */
		vexp = c0 * c1 + (1 - c0) * c2 + (c1 + c2 - g) / 2.0;
		tap_near(krige_variance(k, 20, 0), vexp, 1e-12, "two stations: analytic variance");
		krige_free(k);
	}
	stations_release(&s1);
	stations_release(&s2);
}

/* 12 stations, mirror-symmetric about x = 0 in position and value. */
static void field(double *x, double *y, double *z, size_t *n)
{
	static const double px[] = { 120, 340, 80, 560, 410, 250 };
	static const double py[] = { 30, -220, 400, 120, 510, -90 };
	static const double pz[] = { 3, 7.5, 1, 9, 4.2, 6 };

	for (size_t i = 0; i < 6; i++) {
		x[2 * i] = px[i];
		x[2 * i + 1] = -px[i];
		y[2 * i] = y[2 * i + 1] = py[i];
		z[2 * i] = z[2 * i + 1] = pz[i];
	}
	*n = 12;
}

static void test_properties(void)
{
	double x[12], y[12], z[12], c[12];
	size_t n;
	struct error e = { 0 };
	enum vgm_model models[] = { VGM_EXPONENTIAL, VGM_GAUSSIAN, VGM_SPHERICAL };

	field(x, y, z, &n);
	for (size_t i = 0; i < n; i++)
		c[i] = 42.5;
	for (int mi = 0; mi < 3; mi++) {
		struct variogram v = { models[mi], 0.0, 2.0, 300.0, 0 };
		struct variogram vn = { models[mi], 0.5, 2.0, 300.0, 0 };
		struct stations s = mk(x, y, z, n), sc = mk(x, y, c, n);
		struct krige *k = NULL, *kn = NULL, *kc = NULL;
		const char *name = vgm_model_name(models[mi]);
		double maxerr = 0, maxvar = 0, asym = 0, minvar = INFINITY, cerr = 0;

		if (models[mi] == VGM_GAUSSIAN)
			v.nugget = 1e-3; /* a pure gaussian is too ill-conditioned here */
		if (krige_new(&k, &v, &s, 1, &e) || krige_new(&kn, &vn, &s, 1, &e) ||
		    krige_new(&kc, &v, &sc, 0, &e)) {
			tap_ok(0, "%s: systems built: %s", name, e.msg);
			krige_free(k);
			krige_free(kn);
			stations_release(&s);
			stations_release(&sc);
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			maxerr = fmax(maxerr, fabs(krige_predict(k, x[i], y[i]) - z[i]));
			maxerr = fmax(maxerr, fabs(krige_predict(kn, x[i], y[i]) - z[i]));
			maxvar = fmax(maxvar, krige_variance(kn, x[i], y[i]));
		}
		tap_near(maxerr, 0, 1e-9, "%s: exact interpolation at the stations (also with a nugget)", name);
		tap_near(maxvar, 0, 1e-9, "%s: zero variance at the stations", name);
		for (int i = -20; i <= 20; i++) {
			double px = 37.0 * i, py = -300.0 + 23.0 * (i + 20);

			asym = fmax(asym, fabs(krige_predict(kn, px, py) - krige_predict(kn, -px, py)));
			asym = fmax(asym, fabs(krige_variance(kn, px, py) - krige_variance(kn, -px, py)));
			minvar = fmin(minvar, krige_variance(kn, px + 3.0, py));
			cerr = fmax(cerr, fabs(krige_predict(kc, px, py) - 42.5));
		}
		tap_near(asym, 0, 1e-9, "%s: mirror-symmetric stations give mirror-symmetric results", name);
		tap_ok(minvar >= 0, "%s: variance >= 0 (min %g)", name, minvar);
		tap_near(cerr, 0, 1e-9, "%s: a constant field gives the constant", name);
		{
			/* Far away every weight is 1/n-ish and C(h) = 0: sigma^2 ->
			 * C(0) + 1/(1^T C^-1 1) > C(0) = nugget + psill. */
			double far = krige_variance(kn, 1e7, 1e7);

			tap_ok(far > vn.nugget + vn.psill && far < 2 * (vn.nugget + vn.psill),
			       "%s: variance far away is a little above the sill (%g)", name, far);
			tap_near(krige_predict(kn, 1e7, 1e7), krige_predict(kn, -1e7, 1e7), 1e-9,
				 "%s: far away the prediction is the generalised mean", name);
		}
		krige_free(k);
		krige_free(kn);
		krige_free(kc);
		stations_release(&s);
		stations_release(&sc);
	}
}

static void test_errors(void)
{
	double x[] = { 0, 100, 200 }, y[] = { 0, 50, 0 }, z[] = { 1, 2, 3 };
	struct stations s = mk(x, y, z, 2), s3 = mk(x, y, z, 3), s0 = mk(x, y, z, 0);
	struct variogram v;
	struct fit_info info;
	struct krige *k = NULL;
	struct error e = { 0 };

	tap_ok(krige_fit(&s, VGM_EXPONENTIAL, 0.0, &v, &info, &e) == KD_EINPUT && strstr(e.msg, "at least 3"),
	       "fit with 2 stations: KD_EINPUT, \"%s\"", e.msg);
	tap_ok(krige_fit(&s3, VGM_EXPONENTIAL, 0.0, &v, &info, &e) == 0 && info.fitted == 0 && info.note[0],
	       "fit with 3 stations: fallback with a note (\"%s\")", info.note);
	tap_ok(v.nugget == 0 && v.psill > 0 && v.range > 0, "fallback variogram is usable");
	tap_ok(krige_new(&k, &v, &s0, 0, &e) == KD_EINPUT, "no stations: KD_EINPUT, \"%s\"", e.msg);
	v = (struct variogram){ VGM_GAUSSIAN, 0.0, 1.0, 1e9, 0 };
	tap_ok(krige_new(&k, &v, &s3, 0, &e) == KD_EINPUT && strstr(e.msg, "kriging system"),
	       "gaussian, range >> spacing, no nugget: singular, \"%s\"", e.msg);
	v = (struct variogram){ VGM_EXPONENTIAL, 0.0, 0.0, 100, 0 };
	tap_ok(krige_new(&k, &v, &s3, 0, &e) == KD_EINPUT, "zero sill: KD_EINPUT, \"%s\"", e.msg);
	v = (struct variogram){ VGM_EXPONENTIAL, -1.0, 1.0, 100, 0 };
	tap_ok(krige_new(&k, &v, &s3, 0, &e) == KD_EINPUT, "negative nugget: KD_EINPUT, \"%s\"", e.msg);
	v = (struct variogram){ VGM_SPHERICAL, 0.0, 1.0, 0.0, 0 };
	tap_ok(krige_new(&k, &v, &s3, 0, &e) == KD_EINPUT, "zero range: KD_EINPUT, \"%s\"", e.msg);
	stations_release(&s);
	stations_release(&s3);
	stations_release(&s0);
}

/* A fit on data drawn from a known exponential model recovers the sample
 * variogram's shape: the fitted model passes near the bins. */
static void test_fit(void)
{
	enum { N = 200 };
	double x[N], y[N], z[N];
	struct stations s;
	struct variogram v;
	struct fit_info info;
	struct error e = { 0 };
	unsigned long r = 12345;

	for (int i = 0; i < N; i++) {
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		x[i] = (double)(r >> 33) / (double)(1UL << 31) * 10000.0;
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		y[i] = (double)(r >> 33) / (double)(1UL << 31) * 8000.0;
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		/* smooth trend + noise: a sill-reaching variogram */
		z[i] = 50.0 + 20.0 * sin(x[i] / 1500.0) * cos(y[i] / 1800.0) + (double)(r >> 40) / (double)(1UL << 24);
	}
	s = mk(x, y, z, N);
	/* gstat 2.1 fits gaussian nugget 0, psill 171.836, range 2977.18 here
	 * (and gives up on the other two models); gstat.test checks the
	 * numbers against R itself. */
	tap_ok(krige_fit(&s, VGM_GAUSSIAN, 0.0, &v, &info, &e) == 0, "fit runs");
	tap_ok(info.nbins >= 10, "sample variogram has %d non-empty bins", info.nbins);
	tap_near(info.cutoff, sqrt(1e8 + 64e6) * 0.33333, 0.01 * info.cutoff, "cutoff is a third of the diagonal");
	tap_near(info.width, info.cutoff / 15, 1e-9, "width is cutoff / 15");
	tap_ok(info.fitted == 1 && v.psill > 0 && v.range > 0 && v.nugget >= 0,
	       "fitted: nugget %g psill %g range %g (%s)", v.nugget, v.psill, v.range, info.note);
	tap_ok(krige_fit(&s, VGM_SPHERICAL, 0.0, &v, &info, &e) == 0 && info.fitted == 0 && info.note[0],
	       "a sample variogram still rising at the cutoff: spherical fit falls back (%s)", info.note);
	tap_ok(v.nugget == 0 && v.range > 0 && v.psill > 0, "fallback: nugget 0, psill %g, range %g", v.psill,
	       v.range);
	stations_release(&s);
}

static void test_threads(struct variogram v)
{
	double x[12], y[12], z[12];
	size_t n;
	struct stations s;
	struct krige *k = NULL;
	struct error e = { 0 };
	struct grid g;
	size_t spans[] = { 0, 1, 3, 3, 4, 6, 7, 8 };
	struct span sp[] = { { 2, 9 }, { 0, 3 }, { 5, 10 }, { 1, 10 }, { 0, 4 }, { 6, 8 }, { 0, 10 }, { 3, 4 } };
	double *val[4], *var[4];
	int same = 1, outside_nan = 1, inside_ok = 1;
	size_t cells;

	memset(&g, 0, sizeof(g));
	g.west = 113.88;
	g.east = 113.90;
	g.south = 22.49;
	g.width = 10;
	g.height = 7;
	g.dx = (g.east - g.west) / g.width;
	g.dy = g.dx * cos(22.5 * M_PI / 180);
	g.north = g.south + g.height * g.dy;
	g.lon0 = (g.west + g.east) / 2;
	g.lat0 = (g.south + g.north) / 2;
	g.kx = EARTH_RADIUS_M * cos(g.lat0 * M_PI / 180) * M_PI / 180;
	g.ky = EARTH_RADIUS_M * M_PI / 180;
	g.row_span = spans;
	g.span = sp;
	cells = (size_t)g.width * g.height;

	field(x, y, z, &n);
	s = mk(x, y, z, n);
	if (krige_new(&k, &v, &s, 1, &e)) {
		tap_ok(0, "grid system: %s", e.msg);
		stations_release(&s);
		return;
	}
	for (int t = 0; t < 4; t++) {
		val[t] = malloc(cells * sizeof(double));
		var[t] = malloc(cells * sizeof(double));
		tap_ok(krige_grid(k, &g, val[t], var[t], t + 1, &e) == 0, "krige_grid with %d thread(s)", t + 1);
	}
	for (int t = 1; t < 4; t++)
		same &= memcmp(val[0], val[t], cells * sizeof(double)) == 0 &&
			memcmp(var[0], var[t], cells * sizeof(double)) == 0;
	tap_ok(same, "%s: values and variances bit-identical for 1, 2, 3, 4 threads", vgm_model_name(v.model));
	if (v.model == VGM_MATERN)
		tap_ok(strcmp(krige_kernel(k), "scalar") == 0, "matern runs on the scalar path (%s)", krige_kernel(k));
	for (int r = 0; r < g.height; r++) {
		for (int c = 0; c < g.width; c++) {
			int inside = 0;
			double gx = grid_x(&g, grid_lon(&g, c)), gy = grid_y(&g, grid_lat(&g, r));
			size_t i = (size_t)r * g.width + c;

			for (size_t q = spans[r]; q < spans[r + 1]; q++)
				inside |= c >= sp[q].c0 && c < sp[q].c1;
			if (!inside)
				outside_nan &= isnan(val[0][i]) && isnan(var[0][i]);
			else
				inside_ok &= val[0][i] == krige_predict(k, gx, gy) &&
					     fabs(var[0][i] - krige_variance(k, gx, gy)) <= 1e-12;
		}
	}
	tap_ok(outside_nan, "cells outside the spans are NaN");
	tap_ok(inside_ok, "inside cells equal krige_predict/krige_variance at the cell centre");
	tap_ok(krige_grid(k, &g, val[0], NULL, 2, &e) == 0 && memcmp(val[0], val[1], cells * sizeof(double)) == 0,
	       "variance NULL: values unchanged");
	for (int t = 0; t < 4; t++) {
		free(val[t]);
		free(var[t]);
	}
	krige_free(k);
	stations_release(&s);
}

static void test_krigejs(void)
{
	double x[] = { 113.90, 113.93, 113.95, 113.91, 113.97, 113.94 };
	double y[] = { 22.50, 22.52, 22.49, 22.55, 22.53, 22.56 };
	double t[] = { 30, 45, 38, 52, 41, 60 };
	struct krigejs *k = NULL;
	struct error e = { 0 };

	tap_ok(krigejs_train(&k, t, x, y, 6, VGM_EXPONENTIAL, 0, 100, NULL, NULL, &e) == 0, "kriging.js train, 6 stations");
	if (k) {
		const struct krigejs_variogram *p = krigejs_params(k);

		tap_ok(isfinite(p->nugget) && isfinite(p->sill) && p->range > 0, "kriging.js parameters finite");
		tap_near(p->A, 1.0 / 3.0, 0, "kriging.js A = 1/3");
		tap_ok(isfinite(krigejs_predict(k, 113.92, 22.51)), "kriging.js prediction finite");
		{
			/* The same variogram given instead of trained builds the same system. */
			struct krigejs *kg = NULL;
			struct krigejs_variogram v = *p;

			tap_ok(krigejs_given(&kg, t, x, y, 6, &v, 0, NULL, NULL, &e) == 0, "kriging.js with a given variogram");
			if (kg) {
				tap_ok(krigejs_predict(kg, 113.92, 22.51) == krigejs_predict(k, 113.92, 22.51),
				       "given = trained variogram: identical prediction");
				krigejs_free(kg);
			}
		}
		krigejs_free(k);
	}
	tap_ok(krigejs_train(&k, t, x, y, 1, VGM_EXPONENTIAL, 0, 100, NULL, NULL, &e) == KD_EINPUT,
	       "kriging.js with 1 station: KD_EINPUT, \"%s\"", e.msg);
}

/* The automatic choice: 25 candidates, the least weighted SSE kept; data
 * with a plain trend has no sill, and the fallback says so in words. */
static void test_fit_auto(void)
{
	enum { N = 150 };
	double x[N], y[N], z[N], zt[N], least = INFINITY;
	struct stations s, st;
	struct variogram v;
	struct fit_info info;
	struct error e = { 0 };
	unsigned long r = 777;
	size_t nfit = 0, nmat = 0;

	for (int i = 0; i < N; i++) {
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		x[i] = (double)(r >> 33) / (double)(1UL << 31) * 10000.0;
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		y[i] = (double)(r >> 33) / (double)(1UL << 31) * 8000.0;
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		z[i] = 50.0 + 20.0 * sin(x[i] / 1500.0) * cos(y[i] / 1800.0) + (double)(r >> 40) / (double)(1UL << 24);
		zt[i] = 0.01 * x[i] + 0.004 * y[i] + 0.01 * (double)(r >> 40) / (double)(1UL << 24);
	}
	s = mk(x, y, z, N);
	tap_ok(krige_fit_auto(&s, 0, &v, &info, &e) == 0 && info.fitted == 1, "auto fit runs and fits (%s)",
	       info.note);
	for (size_t i = 0; i < info.ncand; i++) {
		nmat += info.cand[i].model == VGM_MATERN;
		if (info.cand[i].fitted) {
			nfit++;
			least = fmin(least, info.cand[i].sse);
		}
	}
	tap_ok(info.ncand == 25 && nmat == 22 && info.cand[0].model == VGM_SPHERICAL &&
		       info.cand[3].kappa == 0.05 && info.cand[4].kappa == 0.2 && info.cand[22].kappa == 2.0 &&
		       info.cand[24].kappa == 10.0,
	       "25 candidates: spherical, exponential, gaussian, matern at 0.05, 0.2 .. 2, 5, 10");
	tap_ok(nfit > 0 && info.sse <= least * (1.0 + FIT_SSE_TIE) && info.sse >= least,
	       "the choice has the least weighted SSE of the %zu fitted (%g, least %g): %s kappa %g", nfit,
	       info.sse, least, vgm_model_name(v.model), v.kappa);
	tap_ok(krige_fit_auto(&s, 1, &v, &info, &e) == 0 && info.ncand == 22 && v.model == VGM_MATERN &&
		       v.kappa > 0, "matern only: 22 kappas, a matern kept (kappa %g)", v.kappa);
	st = mk(x, y, zt, N);
	tap_ok(krige_fit_auto(&st, 0, &v, &info, &e) == 0 && info.fitted == 0 &&
		       strncmp(info.note, "no sill within the cutoff: the values have a trend", 50) == 0,
	       "a plain trend: the fallback says \"%s\"", info.note);
	tap_ok(v.nugget == 0 && v.psill > 0 && v.range > 0, "... and its variogram is usable");
	stations_release(&s);
	stations_release(&st);
}

/* The global factor (chol_factor_global) is the same bits for 1, 2 and 3
 * threads: its tiles do not depend on the thread count.  Sizes around and
 * off the 256-row tiles; the matrix an exponential covariance with a
 * nugget, as a global system's. */
static void test_global_threads(void)
{
	static const size_t sizes[] = { 700, 1337, 2000 };
	unsigned long r = 7;

	for (size_t q = 0; q < sizeof(sizes) / sizeof(sizes[0]); q++) {
		size_t n = sizes[q];
		double *px = malloc(n * sizeof(double)), *py = malloc(n * sizeof(double));
		double *a[3], *own = n < 1000 ? malloc(n * n * sizeof(double)) : NULL, upper = 0.0, diff = 0.0;
		int rc[3], same = 1;

		for (int t = 0; t < 3; t++)
			a[t] = malloc(n * n * sizeof(double));
		if (!px || !py || !a[0] || !a[1] || !a[2]) {
			tap_ok(0, "global factor of %zu: out of memory", n);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			r = r * 6364136223846793005UL + 1442695040888963407UL;
			px[i] = (double)(r >> 33) / (double)(1UL << 31) * 25000.0;
			r = r * 6364136223846793005UL + 1442695040888963407UL;
			py[i] = (double)(r >> 33) / (double)(1UL << 31) * 20000.0;
		}
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n; j++)
				a[0][i * n + j] = (i == j ? 20.0 : 0.0) +
						  400.0 * exp(-hypot(px[i] - px[j], py[i] - py[j]) / 3000.0);
		memcpy(a[1], a[0], n * n * sizeof(double));
		memcpy(a[2], a[0], n * n * sizeof(double));
		if (own)
			memcpy(own, a[0], n * n * sizeof(double));
		for (size_t i = 0; i < n; i++) /* the upper triangle is not read: garbage in it */
			for (size_t j = i + 1; j < n; j++)
				a[0][i * n + j] = a[1][i * n + j] = a[2][i * n + j] = NAN;
		for (int t = 0; t < 3; t++)
			rc[t] = chol_factor_global(a[t], n, t + 1, NULL, NULL);
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++)
				upper = fmax(upper, fabs(a[1][i * n + j])) + (a[1][i * n + j] != 0.0);
		tap_ok(upper == 0.0, "global factor of %zu stations on 2 threads: the strict upper triangle zeroed", n);
		if (own && chol_factor_until(own, n, NULL, NULL) == 0) {
			for (size_t i = 0; i < n * n; i++)
				diff = fmax(diff, fabs(a[1][i] - own[i]));
			/* entries of L are at most sqrt(420) */
			tap_ok(diff <= 1e-12 * sqrt(420.0), "global factor of %zu stations on 2 threads: within %g of the "
			       "scalar Cholesky's (1e-12 of sqrt(C(0)))", n, diff);
		}
		free(own);
		for (int t = 1; t < 3; t++)
			same &= memcmp(a[0], a[t], n * n * sizeof(double)) == 0;
		tap_ok(rc[0] == 0 && rc[1] == 0 && rc[2] == 0, "global factor of %zu stations (%s) on 1, 2, 3 threads", n,
		       chol_global_name());
		tap_ok(same, "global factor of %zu stations: bit-identical on 1, 2 and 3 threads", n);
		for (int t = 0; t < 3; t++)
			free(a[t]);
		free(px);
		free(py);
	}
}

int main(void)
{
	test_models();
	test_clean();
	test_one_two();
	test_properties();
	test_errors();
	test_fit();
	test_fit_auto();
	test_threads((struct variogram){ VGM_SPHERICAL, 0.2, 2.0, 400.0, 0 });
	test_threads((struct variogram){ VGM_MATERN, 0.2, 2.0, 400.0, 1.3 });
	test_krigejs();
	test_global_threads();
	return tap_done();
}

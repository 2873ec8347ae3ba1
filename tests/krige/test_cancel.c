/* test_cancel.c - the long loops of one frame ask the cancel hook often
 * (TAP): the variogram fit, building and factorising the global system,
 * each local neighbourhood's factorisation, the cross-validation, and
 * the kriging.js method's fit, LU and inverse.  The
 * cadence is counted, not timed: a factorisation of n stations is about
 * n^3 / 6 multiply-adds, so it must ask at least that over
 * LINALG_STOP_WORK times; and a hook that says stop ends the call with
 * KD_ECANCEL at once (no further question), nothing left behind. */
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

#define N 800

struct hook {
	long calls;   /* times asked */
	long stop_at; /* say stop when asked for the stop_at-th time (0: never) */
};

/* thread-safe, as krige_open_until asks (the global system is built and
 * factorised on 2 threads below) */
static int hook(void *ctx)
{
	struct hook *h = ctx;
	long calls = __atomic_add_fetch(&h->calls, 1, __ATOMIC_SEQ_CST);

	return h->stop_at && calls >= h->stop_at;
}

static unsigned long rng = 4242;

static double urand(void)
{
	rng = rng * 6364136223846793005UL + 1442695040888963407UL;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* N stations over about 6 x 5 km, a smooth field plus noise. */
static struct stations field(void)
{
	double *x = malloc(N * sizeof(double)), *y = malloc(N * sizeof(double)), *z = malloc(N * sizeof(double));
	struct stations s;
	struct error e = { 0 };

	for (size_t i = 0; i < N; i++) {
		x[i] = (urand() - 0.5) * 6000;
		y[i] = (urand() - 0.5) * 5000;
		z[i] = 40 + 0.003 * x[i] + 9 * sin(y[i] / 700) + urand();
	}
	if (stations_clean(&s, x, y, z, N, &e))
		tap_ok(0, "stations_clean: %s", e.msg);
	free(x);
	free(y);
	free(z);
	return s;
}

/* A 24 x 20 grid over the stations, every cell inside. */
static void mkgrid(struct grid *g, size_t *spans, struct span *sp)
{
	memset(g, 0, sizeof(*g));
	g->width = 24;
	g->height = 20;
	g->lon0 = 113.9;
	g->lat0 = 22.5;
	g->kx = EARTH_RADIUS_M * cos(g->lat0 * M_PI / 180) * M_PI / 180;
	g->ky = EARTH_RADIUS_M * M_PI / 180;
	g->west = g->lon0 - 2500 / g->kx;
	g->east = g->lon0 + 2500 / g->kx;
	g->dx = (g->east - g->west) / g->width;
	g->dy = g->dx;
	g->south = g->lat0 - g->height * g->dy / 2;
	g->north = g->south + g->height * g->dy;
	for (int r = 0; r <= g->height; r++)
		spans[r] = (size_t)r;
	for (int r = 0; r < g->height; r++)
		sp[r] = (struct span){ 0, g->width };
	g->row_span = spans;
	g->span = sp;
}

static void test_fit(const struct stations *s)
{
	struct variogram v0, v;
	struct fit_info i0, i;
	struct hook h = { 0, 0 };
	struct error e = { 0 };
	int rc;

	tap_ok(krige_fit(s, VGM_EXPONENTIAL, 0.0, &v0, &i0, &e) == 0, "fit without a hook (%s)", e.msg);
	rc = krige_fit_until(s, VGM_EXPONENTIAL, 0.0, &v, &i, hook, &h, &e);
	tap_ok(rc == 0 && v.model == v0.model && v.nugget == v0.nugget && v.psill == v0.psill && v.range == v0.range,
	       "fit with a hook that never stops: the same variogram (range %g m)", v.range);
	/* N (N - 1) / 2 pairs, asked every 2^18 of them, plus every iteration */
	tap_ok(h.calls >= (long)N * (N - 1) / 2 / (1 << 18) + 1, "fit: the hook was asked %ld times", h.calls);
	h = (struct hook){ 0, 1 };
	rc = krige_fit_until(s, VGM_EXPONENTIAL, 0.0, &v, &i, hook, &h, &e);
	tap_ok(rc == KD_ECANCEL && h.calls == 1 && strstr(e.msg, "fitting the variogram"),
	       "fit: stop at the first question: KD_ECANCEL (%s)", e.msg);
}

static void test_global(const struct stations *s, const struct variogram *v)
{
	/* k0 on one thread, the hooked ones on two: the same bits either way */
	struct krige_opts o1 = { 1, 1, 0, INFINITY, 1 }, o = { 1, 1, 0, INFINITY, 2 };
	struct krige *k0 = NULL, *k = NULL;
	struct krige_cv cv;
	struct hook h = { 0, 0 };
	struct error e = { 0 };
	/* one question per LINALG_STOP_WORK, less one for the remainders (on
	 * LAPACK per LINALG_GLOBAL_STOP_WORK, plus one while building) */
	int blas = strncmp(chol_global_name(), "lapack", 6) == 0;
	long want = (long)((double)N * N * N / 6 / (blas ? LINALG_GLOBAL_STOP_WORK : LINALG_STOP_WORK)) + (blas ? 1 : -1);
	long want_cv = (long)((double)N * N * N / 6 / LINALG_STOP_WORK) - 1;
	int rc;

	tap_ok(krige_open(&k0, v, s, &o1, &e) == 0, "global open without a hook (%s)", e.msg);
	rc = krige_open_until(&k, v, s, &o, hook, &h, &e);
	tap_ok(rc == 0 && k0 && k &&
		       krige_predict(k, 123.0, -456.0) == krige_predict(k0, 123.0, -456.0) &&
		       krige_variance(k, 123.0, -456.0) == krige_variance(k0, 123.0, -456.0),
	       "global open with a hook that never stops, on 2 threads: the same predictions, bit for bit");
	tap_ok(h.calls >= want, "global factorisation of %d stations: asked %ld times (>= %ld)", N, h.calls, want);
	h = (struct hook){ 0, 0 };
	rc = k ? krige_cv(k, 1, NULL, NULL, &cv, &e) : -1;
	/* the closed form costs about n^3 / 6 as well */
	tap_ok(rc == 0 && h.calls >= want_cv, "global cross-validation asks too (%ld times)", h.calls);
	h = (struct hook){ 0, 1 };
	rc = k ? krige_cv(k, 1, NULL, NULL, &cv, &e) : -1;
	tap_ok(rc == KD_ECANCEL && h.calls == 1 && strstr(e.msg, "stopped while"),
	       "global cross-validation: stop -> KD_ECANCEL (%s)", e.msg);
	krige_free(k);
	k = NULL;
	/* the 3rd: on 2 threads the build may ask none (each thread asks per
	 * LINALG_STOP_WORK / 16 of its own entries), the factorisation 4 times */
	h = (struct hook){ 0, 3 };
	rc = krige_open_until(&k, v, s, &o, hook, &h, &e);
	tap_ok(rc == KD_ECANCEL && !k && h.calls == 3 && strstr(e.msg, "of 800 stations"),
	       "global open on 2 threads: stop at the 3rd question: KD_ECANCEL at once, no object (%s)", e.msg);
	krige_free(k0);
}

static void test_local(const struct stations *s, const struct variogram *v)
{
	struct krige_opts o = { 1, 1, 600, INFINITY, 1 };
	struct krige *k = NULL;
	struct grid g;
	size_t spans[21];
	struct span sp[20];
	double *val = malloc(24 * 20 * sizeof(double)), *var = malloc(24 * 20 * sizeof(double));
	struct krige_cv cv;
	struct hook h = { 0, 0 };
	struct error e = { 0 };
	int rc;

	mkgrid(&g, spans, sp);
	tap_ok(krige_open_until(&k, v, s, &o, hook, &h, &e) == 0 && krige_is_local(k), "local, nmax 600 (%s)",
	       e.msg);
	/* the grid's own question every 64 cells is off (NULL): only the
	 * neighbourhoods' factorisations (600^3 / 6 each) ask */
	h = (struct hook){ 0, 3 };
	rc = k ? krige_grid_until(k, &g, val, var, 2, NULL, NULL, &e) : -1;
	tap_ok(rc == KD_ECANCEL && h.calls >= 3, "local grid: a neighbourhood's factorisation stops -> KD_ECANCEL (%s)",
	       e.msg);
	h = (struct hook){ 0, 3 };
	rc = k ? krige_cv(k, 2, NULL, NULL, &cv, &e) : -1;
	tap_ok(rc == KD_ECANCEL, "local cross-validation: KD_ECANCEL (%s)", e.msg);
	krige_free(k);
	free(val);
	free(var);
}

static void test_krigejs(const struct stations *s)
{
	double x[N], y[N];
	struct krigejs *k0 = NULL, *k = NULL;
	struct hook h = { 0, 0 };
	struct error e = { 0 };
	/* the LU alone is n^3 / 3, less one for the remainders */
	long want = (long)((double)N * N * N / 3 / LINALG_STOP_WORK) - 1;
	int rc;

	for (size_t i = 0; i < s->n; i++) { /* kriging.js works in degrees */
		x[i] = 113.9 + s->x[i] / 1e5;
		y[i] = 22.5 + s->y[i] / 1.1e5;
	}
	tap_ok(krigejs_train(&k0, s->z, x, y, s->n, VGM_EXPONENTIAL, 0, 100, NULL, NULL, &e) == 0,
	       "kriging.js without a hook (%s)", e.msg);
	rc = krigejs_train(&k, s->z, x, y, s->n, VGM_EXPONENTIAL, 0, 100, hook, &h, &e);
	tap_ok(rc == 0 && k0 && k && krigejs_predict(k, 113.91, 22.51) == krigejs_predict(k0, 113.91, 22.51),
	       "kriging.js with a hook that never stops: the same prediction, bit for bit");
	tap_ok(h.calls >= want, "kriging.js: asked %ld times (>= %ld)", h.calls, want);
	krigejs_free(k);
	k = NULL;
	h = (struct hook){ 0, 3 };
	rc = krigejs_train(&k, s->z, x, y, s->n, VGM_EXPONENTIAL, 0, 100, hook, &h, &e);
	tap_ok(rc == KD_ECANCEL && !k && h.calls == 3, "kriging.js: stop at the 3rd question: KD_ECANCEL (%s)",
	       e.msg);
	h = (struct hook){ 0, want };
	rc = krigejs_given(&k, s->z, x, y, s->n, krigejs_params(k0), 0, hook, &h, &e);
	tap_ok(rc == KD_ECANCEL && !k && h.calls == want, "kriging.js, given variogram: stop late: KD_ECANCEL (%s)",
	       e.msg);
	krigejs_free(k0);
}

int main(void)
{
	struct stations s = field();
	struct variogram v = { VGM_EXPONENTIAL, 0.5, 30.0, 1500.0, 0 };

	test_fit(&s);
	test_global(&s, &v);
	test_local(&s, &v);
	test_krigejs(&s);
	stations_release(&s);
	return tap_done();
}

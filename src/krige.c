/* krige.c - ordinary kriging, global neighbourhood (see krige.h).
 *
 * The ordinary kriging system in dual form is
 *     [G 1; 1^T 0] [a; b] = [z; 0],  G_ij = gamma(|x_i - x_j|),
 * and then z*(x) = sum_i a_i gamma(|x - x_i|) + b.  With the covariance
 * C(h) = s - gamma(h), s = nugget + psill, we have G = s 1 1^T - C, and
 * because 1^T a = 0 the first block row reads -C a + b 1 = z.  So
 *     a = C^-1 (b 1 - z),  b = (1^T C^-1 z) / (1^T C^-1 1),
 * the same solution, obtained from the Cholesky factor L of C (which the
 * variance needs anyway): with u = L^-1 1 and w = L^-1 z, b = u.w / u.u and
 * a = L^-T (b u - w).  Cholesky costs half an LU and is stable for the
 * positive definite C of a valid model at distinct stations; a matrix that
 * is not numerically positive definite, or whose condition estimate is
 * too poor, is reported as KD_EINPUT.
 *
 * The per-cell work is a separate kernel over plain arrays so that SIMD
 * variants can be added behind the function pointer in struct krige. */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "krige.h"
#include "linalg.h"
#include "raster.h"

/* Below this reciprocal condition number, predictions would carry errors
 * of order 1e-4 of the data or worse: refuse rather than draw noise. */
#define RCOND_MIN 1e-12

/* One span of cells on a row: out[i] = prediction at (xs[i], y). */
typedef void (*predict_span_fn)(const struct krige *k, double y, const double *xs, int n, double *out);

struct krige {
	struct variogram v;
	size_t n;
	double *sx, *sy, *a; /* station coordinates and dual weights */
	double b;            /* dual constant (the generalised mean) */
	double *l;           /* Cholesky factor of C, n x n, or NULL */
	double *u;           /* L^-1 1 */
	double utu;          /* u.u */
	predict_span_fn predict_span;
};

static double cov(const struct variogram *v, double h)
{
	return v->nugget + v->psill - variogram_gamma(v, h);
}

/* The portable kernel: N model evaluations and a dot product per cell.
 * Summation order is fixed (station 0..n-1), so a cell's value does not
 * depend on how the grid is split over threads. */
static void predict_span_scalar(const struct krige *k, double y, const double *xs, int n, double *out)
{
	const double *sx = k->sx, *sy = k->sy, *a = k->a;
	const struct variogram *v = &k->v;

	for (int c = 0; c < n; c++) {
		double sum = 0.0;

		for (size_t i = 0; i < k->n; i++) {
			double dx = xs[c] - sx[i], dy = y - sy[i];

			sum += a[i] * variogram_gamma(v, sqrt(dx * dx + dy * dy));
		}
		out[c] = sum + k->b;
	}
}

void krige_free(struct krige *k)
{
	if (!k)
		return;
	free(k->sx);
	free(k->sy);
	free(k->a);
	free(k->l);
	free(k->u);
	free(k);
}

static int check_variogram(const struct variogram *v, struct error *e)
{
	if (vgm_model_name(v->model)[0] == 'u')
		return error_set(e, KD_EINPUT, "unknown variogram model %d", (int)v->model);
	if (!(isfinite(v->nugget) && v->nugget >= 0.0))
		return error_set(e, KD_EINPUT, "variogram nugget must be a finite number >= 0, got %g", v->nugget);
	if (!(isfinite(v->psill) && v->psill >= 0.0))
		return error_set(e, KD_EINPUT, "variogram psill must be a finite number >= 0, got %g", v->psill);
	if (!(isfinite(v->range) && v->range > 0.0))
		return error_set(e, KD_EINPUT, "variogram range must be a finite number > 0 (metres), got %g",
				 v->range);
	if (!(v->nugget + v->psill > 0.0))
		return error_set(e, KD_EINPUT, "variogram nugget + psill must be > 0");
	return 0;
}

int krige_new(struct krige **out, const struct variogram *v, const struct stations *s, int want_variance,
	      struct error *e)
{
	struct krige *k;
	size_t n = s->n;
	double *c = NULL, *w = NULL, *work = NULL, anorm, rcond, utw = 0.0;
	int rc;

	*out = NULL;
	if ((rc = check_variogram(v, e)))
		return rc;
	if (n < 1)
		return error_set(e, KD_EINPUT, "kriging needs at least 1 station, got none");
	if (n > ((size_t)-1 / sizeof(double)) / n)
		return error_set(e, KD_ELIMIT, "too many stations for the kriging matrix: %zu", n);
	k = calloc(1, sizeof(*k));
	if (!k)
		return error_set(e, KD_ENOMEM, "out of memory for the kriging system");
	k->v = *v;
	k->n = n;
	k->predict_span = predict_span_scalar;
	k->sx = malloc(n * sizeof(double));
	k->sy = malloc(n * sizeof(double));
	k->a = malloc(n * sizeof(double));
	k->u = malloc(n * sizeof(double));
	c = malloc(n * n * sizeof(double));
	w = malloc(n * sizeof(double));
	work = malloc(3 * n * sizeof(double));
	if (!k->sx || !k->sy || !k->a || !k->u || !c || !w || !work) {
		rc = error_set(e, KD_ENOMEM, "out of memory for the kriging system of %zu stations", n);
		goto fail;
	}
	memcpy(k->sx, s->x, n * sizeof(double));
	memcpy(k->sy, s->y, n * sizeof(double));
	for (size_t i = 0; i < n; i++) {
		c[i * n + i] = cov(v, 0.0);
		for (size_t j = 0; j < i; j++) {
			double dx = s->x[i] - s->x[j], dy = s->y[i] - s->y[j];

			c[i * n + j] = c[j * n + i] = cov(v, sqrt(dx * dx + dy * dy));
		}
	}
	anorm = mat_norm1(c, n);
	if (chol_factor(c, n)) {
		rc = error_set(e, KD_EINPUT,
			       "the kriging system is singular: the %s covariance matrix of the %zu stations is "
			       "not positive definite (stations too close together for this variogram; a nugget > 0 "
			       "or another model helps)",
			       vgm_model_name(v->model), n);
		goto fail;
	}
	rcond = chol_rcond(c, n, anorm, work);
	if (!(rcond >= RCOND_MIN)) {
		rc = error_set(e, KD_EINPUT,
			       "the kriging system is too ill-conditioned (reciprocal condition %.3g < %g) for the "
			       "%s model with nugget %g, psill %g, range %g m at %zu stations; a nugget > 0 or "
			       "another model helps",
			       rcond, RCOND_MIN, vgm_model_name(v->model), v->nugget, v->psill, v->range, n);
		goto fail;
	}
	for (size_t i = 0; i < n; i++)
		k->u[i] = 1.0;
	chol_forward(c, n, k->u, k->u);
	chol_forward(c, n, s->z, w);
	k->utu = 0.0;
	for (size_t i = 0; i < n; i++) {
		k->utu += k->u[i] * k->u[i];
		utw += k->u[i] * w[i];
	}
	k->b = utw / k->utu;
	for (size_t i = 0; i < n; i++)
		w[i] = k->b * k->u[i] - w[i];
	chol_backward(c, n, w, k->a);
	if (want_variance) {
		k->l = c;
		c = NULL;
	}
	free(c);
	free(w);
	free(work);
	*out = k;
	return 0;
fail:
	free(c);
	free(w);
	free(work);
	krige_free(k);
	return rc;
}

double krige_predict(const struct krige *k, double x, double y)
{
	double out;

	k->predict_span(k, y, &x, 1, &out);
	return out;
}

/* sigma^2 = C(0) - v.v + (1 - u.v)^2 / u.u with v = L^-1 c(x); work holds
 * n doubles.  Clamped at 0: rounding can make it a hair negative at a
 * station. */
static double variance_at(const struct krige *k, double x, double y, double *work)
{
	const struct variogram *v = &k->v;
	size_t n = k->n;
	double vv = 0.0, uv = 0.0, s2;

	for (size_t i = 0; i < n; i++) {
		double dx = x - k->sx[i], dy = y - k->sy[i];

		work[i] = cov(v, sqrt(dx * dx + dy * dy));
	}
	chol_forward(k->l, n, work, work);
	for (size_t i = 0; i < n; i++) {
		vv += work[i] * work[i];
		uv += k->u[i] * work[i];
	}
	s2 = v->nugget + v->psill - vv + (1.0 - uv) * (1.0 - uv) / k->utu;
	return s2 > 0.0 ? s2 : 0.0;
}

double krige_variance(const struct krige *k, double x, double y)
{
	double *work, s2;

	if (!k->l)
		return NAN;
	work = malloc(k->n * sizeof(double));
	if (!work)
		return NAN;
	s2 = variance_at(k, x, y, work);
	free(work);
	return s2;
}

struct grid_job {
	const struct krige *k;
	const struct grid *g;
	double *value, *variance;
	int first, step; /* rows first, first + step, ... */
	int rc;
};

static void *grid_rows(void *arg)
{
	struct grid_job *j = arg;
	const struct grid *g = j->g;
	double *xs = malloc((size_t)g->width * sizeof(double));
	double *work = j->variance ? malloc(j->k->n * sizeof(double)) : NULL;

	if (!xs || (j->variance && !work)) {
		free(xs);
		free(work);
		j->rc = KD_ENOMEM;
		return NULL;
	}
	for (int c = 0; c < g->width; c++)
		xs[c] = grid_x(g, grid_lon(g, c));
	for (int r = j->first; r < g->height; r += j->step) {
		double y = grid_y(g, grid_lat(g, r));
		size_t row = (size_t)r * (size_t)g->width;

		for (size_t sp = g->row_span[r]; sp < g->row_span[r + 1]; sp++) {
			int c0 = g->span[sp].c0, c1 = g->span[sp].c1;

			j->k->predict_span(j->k, y, xs + c0, c1 - c0, j->value + row + c0);
			if (j->variance)
				for (int c = c0; c < c1; c++)
					j->variance[row + c] = variance_at(j->k, xs[c], y, work);
		}
	}
	free(xs);
	free(work);
	j->rc = 0;
	return NULL;
}

int krige_grid(const struct krige *k, const struct grid *g, double *value, double *variance, int threads,
	       struct error *e)
{
	struct grid_job jobs[64];
	pthread_t tid[64];
	int started[64] = { 0 };
	size_t cells = (size_t)g->width * (size_t)g->height;

	if (variance && !k->l)
		return error_set(e, KD_EINTERNAL, "krige_grid: variance asked but krige_new had no want_variance");
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	if (threads > g->height && g->height > 0)
		threads = g->height;
	for (size_t i = 0; i < cells; i++) {
		value[i] = NAN;
		if (variance)
			variance[i] = NAN;
	}
	/* Rows are dealt round-robin, which balances a boundary that is wide in
	 * some rows and narrow in others; each cell is computed the same way
	 * whatever thread does it, so results are bit-identical. */
	for (int t = 0; t < threads; t++)
		jobs[t] = (struct grid_job){ k, g, value, variance, t, threads, 0 };
	for (int t = 1; t < threads; t++)
		started[t] = pthread_create(&tid[t], NULL, grid_rows, &jobs[t]) == 0;
	grid_rows(&jobs[0]);
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			grid_rows(&jobs[t]); /* could not start a thread: do its rows here */
	}
	for (int t = 0; t < threads; t++)
		if (jobs[t].rc)
			return error_set(e, jobs[t].rc, "out of memory predicting the grid");
	return 0;
}

/* krigejs.c - kriging.js's train() and predict(), ported line by line
 * (see krigejs.h for its quirks).  The matrix helpers keep kriging.js's
 * loop and summation order so that results agree to the last bits or
 * nearly; names follow the original where that helps a side-by-side read. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "krigejs.h"
#include "linalg.h"

/* Below this reciprocal condition number of K + sigma2 I, two correct
 * solvers no longer agree to 1e-6 of the data's range. */
#define KJS_RCOND_WARN 1e-9
#define KJS_MAX_N 20000 /* its n x n inverse: 3.2 GB at this size */

struct krigejs {
	struct krigejs_variogram v;
	size_t n;
	double *x, *y, *M;
	char warning[200];
};

/* The cancel hook of one train()/given() and the work since it was last
 * asked (linalg.h's cadence); NULL hook: never asked. */
struct kjs_stop {
	int (*cancelled)(void *ctx);
	void *ctx;
	double work;
};

static int kjs_stopped(struct kjs_stop *st, double more)
{
	if (!st || !st->cancelled || (st->work += more) < LINALG_STOP_WORK)
		return 0;
	st->work = 0.0;
	return st->cancelled(st->ctx) != 0;
}

/* kriging.js's variogram models (utils.ts). */
static double kjs_model(const struct krigejs_variogram *v, double h)
{
	double nugget = v->nugget, range = v->range, sill = v->sill, A = v->A;

	switch (v->model) {
	case VGM_GAUSSIAN:
		return nugget + ((sill - nugget) / range) * (1.0 - exp(-(1.0 / A) * ((h / range) * (h / range))));
	case VGM_EXPONENTIAL:
		return nugget + ((sill - nugget) / range) * (1.0 - exp(-(1.0 / A) * (h / range)));
	case VGM_SPHERICAL:
		if (h > range)
			return nugget + (sill - nugget) / range;
		return nugget + ((sill - nugget) / range) * (1.5 * (h / range) - 0.5 * pow(h / range, 3));
	case VGM_MATERN: /* not a kriging.js model: refused at entry */
		break;
	}
	return NAN;
}

/* Math.pow(Math.pow(dx, 2) + Math.pow(dy, 2), 0.5): both pows are
 * correctly rounded in V8 (x*x, sqrt), so this is the same double. */
static double kjs_dist(double dx, double dy)
{
	return sqrt(dx * dx + dy * dy);
}

/* matrixMultiply(X, Y, n, m, p): Z = X (n x m) Y (m x p). */
static void mat_mul(const double *X, const double *Y, size_t n, size_t m, size_t p, double *Z)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < p; j++) {
			Z[i * p + j] = 0;
			for (size_t k = 0; k < m; k++)
				Z[i * p + j] += X[i * m + k] * Y[k * p + j];
		}
}

/* matrixChol: in place, lower factor with the diagonal in place.  1, 0
 * when not positive definite, -1 when st said stop. */
static int mat_chol(double *X, size_t n, double *p, struct kjs_stop *st)
{
	size_t i, j, k;

	for (i = 0; i < n; i++)
		p[i] = X[i * n + i];
	for (i = 0; i < n; i++) {
		if (kjs_stopped(st, (double)(n - i) * (double)(i + 1)))
			return -1;
		for (j = 0; j < i; j++)
			p[i] -= X[i * n + j] * X[i * n + j];
		if (p[i] <= 0)
			return 0;
		p[i] = sqrt(p[i]);
		for (j = i + 1; j < n; j++) {
			for (k = 0; k < i; k++)
				X[j * n + i] -= X[j * n + k] * X[i * n + k];
			X[j * n + i] /= p[i];
		}
	}
	for (i = 0; i < n; i++)
		X[i * n + i] = p[i];
	return 1;
}

/* matrixChol2inv.  -1 when st said stop (X is then garbage), else 0. */
static int mat_chol2inv(double *X, size_t n, struct kjs_stop *st)
{
	size_t i, j, k;
	double sum;

	for (i = 0; i < n; i++) {
		if (kjs_stopped(st, (double)(n - i) * (double)(n - i) / 2.0))
			return -1;
		X[i * n + i] = 1 / X[i * n + i];
		for (j = i + 1; j < n; j++) {
			sum = 0;
			for (k = i; k < j; k++)
				sum -= X[j * n + k] * X[k * n + i];
			X[j * n + i] = sum / X[j * n + j];
		}
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			X[i * n + j] = 0;
	for (i = 0; i < n; i++) {
		if (kjs_stopped(st, (double)(n - i) * (double)(n - i) / 2.0))
			return -1;
		X[i * n + i] *= X[i * n + i];
		for (k = i + 1; k < n; k++)
			X[i * n + i] += X[k * n + i] * X[k * n + i];
		for (j = i + 1; j < n; j++)
			for (k = j; k < n; k++)
				X[i * n + j] += X[k * n + i] * X[k * n + j];
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			X[i * n + j] = X[j * n + i];
	return 0;
}

/* matrixSolve: Gauss-Jordan inversion with full pivoting (Numerical
 * Recipes' gaussj), X replaced by its inverse.  Like the original, a zero
 * pivot stops it half way and the caller uses whatever is left.  -1 when
 * st said stop (X is then garbage), else 0. */
static int mat_solve(double *X, size_t n, double *b, size_t *indxc, size_t *indxr, int *ipiv,
		     struct kjs_stop *st)
{
	size_t i, j, k, l, ll, icol = 0, irow = 0;
	double big, dum, pivinv, temp;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			b[i * n + j] = i == j ? 1 : 0;
	for (j = 0; j < n; j++)
		ipiv[j] = 0;
	for (i = 0; i < n; i++) {
		if (kjs_stopped(st, 3.0 * (double)n * (double)n))
			return -1;
		big = 0;
		for (j = 0; j < n; j++) {
			if (ipiv[j] != 1) {
				for (k = 0; k < n; k++) {
					if (ipiv[k] == 0 && fabs(X[j * n + k]) >= big) {
						big = fabs(X[j * n + k]);
						irow = j;
						icol = k;
					}
				}
			}
		}
		++(ipiv[icol]);
		if (irow != icol) {
			for (l = 0; l < n; l++) {
				temp = X[irow * n + l];
				X[irow * n + l] = X[icol * n + l];
				X[icol * n + l] = temp;
			}
			for (l = 0; l < n; l++) {
				temp = b[irow * n + l];
				b[irow * n + l] = b[icol * n + l];
				b[icol * n + l] = temp;
			}
		}
		indxr[i] = irow;
		indxc[i] = icol;
		if (X[icol * n + icol] == 0)
			return 0; /* singular */
		pivinv = 1 / X[icol * n + icol];
		X[icol * n + icol] = 1;
		for (l = 0; l < n; l++)
			X[icol * n + l] *= pivinv;
		for (l = 0; l < n; l++)
			b[icol * n + l] *= pivinv;
		for (ll = 0; ll < n; ll++) {
			if (ll != icol) {
				dum = X[ll * n + icol];
				X[ll * n + icol] = 0;
				for (l = 0; l < n; l++)
					X[ll * n + l] -= X[icol * n + l] * dum;
				for (l = 0; l < n; l++)
					b[ll * n + l] -= b[icol * n + l] * dum;
			}
		}
	}
	for (l = n; l-- > 0;) {
		if (indxr[l] != indxc[l]) {
			for (k = 0; k < n; k++) {
				temp = X[k * n + indxr[l]];
				X[k * n + indxr[l]] = X[k * n + indxc[l]];
				X[k * n + indxc[l]] = temp;
			}
		}
	}
	return 0;
}

/* Invert the n x n matrix Z as train() does: Cholesky inverse on a copy,
 * Gauss-Jordan on the untouched original when Cholesky fails.  The result
 * replaces Z.  0, KD_ENOMEM or KD_ECANCEL (st said stop; st may be NULL). */
static int kjs_invert(double *Z, size_t n, struct kjs_stop *st)
{
	double *clone = malloc(n * n * sizeof(double)), *b = malloc(n * n * sizeof(double));
	double *p = malloc(n * sizeof(double));
	size_t *indxc = malloc(n * sizeof(size_t)), *indxr = malloc(n * sizeof(size_t));
	int *ipiv = malloc(n * sizeof(int)), rc = KD_ENOMEM;

	if (clone && b && p && indxc && indxr && ipiv) {
		int ok;

		memcpy(clone, Z, n * n * sizeof(double));
		if ((ok = mat_chol(Z, n, p, st)) > 0) {
			rc = mat_chol2inv(Z, n, st) < 0 ? KD_ECANCEL : 0;
		} else if (ok == 0) {
			rc = mat_solve(clone, n, b, indxc, indxr, ipiv, st) < 0 ? KD_ECANCEL : 0;
			memcpy(Z, clone, n * n * sizeof(double));
		} else {
			rc = KD_ECANCEL;
		}
	}
	free(clone);
	free(b);
	free(p);
	free(indxc);
	free(indxr);
	free(ipiv);
	return rc;
}

struct pair {
	double d, s;
	size_t k; /* creation order: JavaScript's sort is stable */
};

static int pair_cmp(const void *pa, const void *pb)
{
	const struct pair *a = pa, *b = pb;

	if (a->d < b->d)
		return -1;
	if (a->d > b->d)
		return 1;
	return a->k < b->k ? -1 : a->k > b->k;
}

/* The second half of train(): K + sigma2 I, its inverse, M = C t; and a
 * condition estimate of K + sigma2 I for the warning. */
static int kjs_system(struct krigejs *k, const double *t, double sigma2, struct kjs_stop *st, struct error *e)
{
	size_t n = k->n, *piv = NULL;
	double *C = malloc(n * n * sizeof(double)), *lu = NULL, *work = NULL;
	int rc = 0;

	k->M = malloc(n * sizeof(double));
	lu = malloc(n * n * sizeof(double));
	piv = malloc(n * sizeof(size_t));
	work = malloc(3 * n * sizeof(double));
	if (!C || !k->M || !lu || !piv || !work) {
		rc = error_set(e, KD_ENOMEM, "out of memory for the kriging.js system of %zu stations", n);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		if (kjs_stopped(st, 16.0 * (double)i)) { /* a model evaluation: some 16 multiply-adds */
			rc = error_set(e, KD_ECANCEL, "stopped while building the kriging.js system of %zu stations", n);
			goto done;
		}
		for (size_t j = 0; j < i; j++) {
			C[i * n + j] = kjs_model(&k->v, kjs_dist(k->x[i] - k->x[j], k->y[i] - k->y[j]));
			C[j * n + i] = C[i * n + j];
		}
		C[i * n + i] = kjs_model(&k->v, 0);
	}
	/* matrixAdd(K, matrixDiag(sigma2, n)): every element gets + 0 or
	 * + sigma2, exactly as there. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			C[i * n + j] = C[i * n + j] + (i == j ? sigma2 : 0);
	memcpy(lu, C, n * n * sizeof(double));
	{
		double anorm = mat_norm1(lu, n), rcond;
		int f = lu_factor_until(lu, piv, n, st->cancelled, st->ctx);

		if (f == LINALG_STOPPED) {
			rc = error_set(e, KD_ECANCEL, "stopped while factorising the kriging.js system of %zu stations", n);
			goto done;
		}
		rcond = f ? 0.0 : lu_rcond(lu, piv, n, anorm, work);

		if (!(rcond >= KJS_RCOND_WARN))
			snprintf(k->warning, sizeof(k->warning),
				 "kriging.js %s system is ill-conditioned (reciprocal condition %.3g): its "
				 "predictions are dominated by rounding and cannot be reproduced exactly",
				 vgm_model_name(k->v.model), rcond);
	}
	if ((rc = kjs_invert(C, n, st))) {
		error_set(e, rc, rc == KD_ECANCEL ? "stopped while inverting the kriging.js system of %zu stations"
						  : "out of memory inverting the kriging.js system of %zu stations",
			  n);
		goto done;
	}
	mat_mul(C, t, n, n, 1, k->M);
done:
	free(C);
	free(lu);
	free(piv);
	free(work);
	return rc;
}

static int kjs_alloc(struct krigejs **out, const double *t, const double *x, const double *y, size_t n,
		     struct error *e)
{
	struct krigejs *k;

	*out = NULL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(t[i]) || !isfinite(x[i]) || !isfinite(y[i]))
			return error_set(e, KD_EINPUT, "kriging.js: station %zu has a non-finite value or coordinate", i);
	if (n < 2)
		return error_set(e, KD_EINPUT, "kriging.js needs at least 2 stations, got %zu", n);
	if (n > KJS_MAX_N)
		return error_set(e, KD_ELIMIT, "kriging.js: %zu stations is more than the %d its n x n inverse allows",
				 n, KJS_MAX_N);
	k = calloc(1, sizeof(*k));
	if (!k)
		return error_set(e, KD_ENOMEM, "out of memory for kriging.js");
	k->n = n;
	k->x = malloc(n * sizeof(double));
	k->y = malloc(n * sizeof(double));
	if (!k->x || !k->y) {
		krigejs_free(k);
		return error_set(e, KD_ENOMEM, "out of memory for kriging.js");
	}
	memcpy(k->x, x, n * sizeof(double));
	memcpy(k->y, y, n * sizeof(double));
	k->v.A = 1.0 / 3.0;
	*out = k;
	return 0;
}

/* kriging.js's lag bins: with fewer than 30 pairs each pair (sorted by
 * distance) is a bin; else 30 bins of width range / 30, each the mean lag
 * and semivariance of its pairs.  The non-empty bins, in lag[] and semi[]
 * (30 each, zeroed). */
static size_t bin_lags(const struct pair *distance, size_t npairs, double range, double *lag, double *semi)
{
	size_t lags = npairs > 30 ? 30 : npairs, l = 0, i, j, kk;
	double tolerance = range / (double)lags;

	if (lags < 30) {
		for (l = 0; l < lags; l++) {
			lag[l] = distance[l].d;
			semi[l] = distance[l].s;
		}
		return l;
	}
	for (i = 0, j = 0, kk = 0, l = 0; i < lags && j < npairs; i++, kk = 0) {
		while (distance[j].d <= ((double)(i + 1) * tolerance)) {
			lag[l] += distance[j].d;
			semi[l] += distance[j].s;
			j++;
			kk++;
			if (j >= npairs)
				break;
		}
		if (kk > 0) {
			lag[l] /= (double)kk;
			semi[l] /= (double)kk;
			l++;
		}
	}
	return l;
}

/* The first half of train(): lags, ridge regression, nugget/range/sill. */
static int kjs_fit(struct krigejs *k, const double *t, double alpha, struct kjs_stop *st, struct error *e)
{
	size_t n = k->n, npairs = (n * n - n) / 2, lags, l = 0, i, j, kk;
	struct pair *distance = malloc(npairs * sizeof(*distance));
	double lag[30] = { 0 }, semi[30] = { 0 }, *X = NULL, *Xt = NULL, *Y = NULL, *ZXt = NULL;
	double Z[4], W[2], range, A = k->v.A;
	int rc = 0;

	if (!distance)
		return error_set(e, KD_ENOMEM, "out of memory for kriging.js lags");
	for (i = 0, kk = 0; i < n; i++) {
		if (kjs_stopped(st, 16.0 * (double)i)) {
			free(distance);
			return error_set(e, KD_ECANCEL, "stopped while fitting the kriging.js variogram to %zu stations",
					 n);
		}
		for (j = 0; j < i; j++, kk++)
			distance[kk] = (struct pair){ kjs_dist(k->x[i] - k->x[j], k->y[i] - k->y[j]),
						      fabs(t[i] - t[j]), kk };
	}
	qsort(distance, npairs, sizeof(*distance), pair_cmp);
	range = distance[npairs - 1].d;

	/* Bin lag distance */
	lags = npairs > 30 ? 30 : npairs;
	l = bin_lags(distance, npairs, range, lag, semi);
	if (lags == 30 && l < 2) {
		rc = error_set(e, KD_EINPUT, "kriging.js: not enough points (fewer than 2 non-empty lags)");
		goto done;
	}

	/* Feature transformation */
	n = l;
	range = lag[n - 1] - lag[0];
	X = malloc(2 * n * sizeof(double));
	Xt = malloc(2 * n * sizeof(double));
	Y = malloc(n * sizeof(double));
	ZXt = malloc(2 * n * sizeof(double));
	if (!X || !Xt || !Y || !ZXt) {
		rc = error_set(e, KD_ENOMEM, "out of memory for kriging.js lags");
		goto done;
	}
	for (i = 0; i < n; i++) {
		X[i * 2] = 1;
		switch (k->v.model) {
		case VGM_GAUSSIAN:
			X[i * 2 + 1] = 1.0 - exp(-(1.0 / A) * ((lag[i] / range) * (lag[i] / range)));
			break;
		case VGM_EXPONENTIAL:
			X[i * 2 + 1] = 1.0 - exp(-(1.0 / A) * lag[i] / range);
			break;
		case VGM_SPHERICAL:
			X[i * 2 + 1] = 1.5 * (lag[i] / range) - 0.5 * pow(lag[i] / range, 3);
			break;
		case VGM_MATERN: /* refused at entry */
			X[i * 2 + 1] = NAN;
			break;
		}
		Y[i] = semi[i];
	}

	/* Least squares with the ridge 1 / alpha */
	for (i = 0; i < n; i++)
		for (j = 0; j < 2; j++)
			Xt[j * n + i] = X[i * 2 + j];
	mat_mul(Xt, X, 2, n, 2, Z);
	Z[0] = Z[0] + 1 / alpha;
	Z[1] = Z[1] + 0;
	Z[2] = Z[2] + 0;
	Z[3] = Z[3] + 1 / alpha;
	if ((rc = kjs_invert(Z, 2, NULL))) {
		error_set(e, rc, "out of memory for kriging.js");
		goto done;
	}
	mat_mul(Z, Xt, 2, 2, n, ZXt);
	mat_mul(ZXt, Y, 2, n, 1, W);

	/* Variogram parameters */
	k->v.range = range;
	k->v.nugget = W[0];
	k->v.sill = W[1] * range + k->v.nugget;
	if (!isfinite(k->v.nugget) || !isfinite(k->v.sill) || !(range > 0.0))
		rc = error_set(e, KD_EINPUT,
			       "kriging.js: the lag fit failed (lag span %g, nugget %g, sill %g): stations too few "
			       "or at equal distances",
			       range, k->v.nugget, k->v.sill);
done:
	free(distance);
	free(X);
	free(Xt);
	free(Y);
	free(ZXt);
	return rc;
}

int krigejs_train(struct krigejs **out, const double *t, const double *x, const double *y, size_t n,
		  enum vgm_model model, double sigma2, double alpha, int (*cancelled)(void *ctx), void *ctx,
		  struct error *e)
{
	struct kjs_stop st = { cancelled, ctx, 0.0 };
	struct krigejs *k;
	int rc;

	*out = NULL;
	if (vgm_model_name(model)[0] == 'u' || model == VGM_MATERN)
		return error_set(e, KD_EINPUT, "kriging.js has no variogram model \"%s\"", vgm_model_name(model));
	if (!isfinite(sigma2) || !isfinite(alpha) || alpha == 0.0)
		return error_set(e, KD_EINPUT, "kriging.js: sigma2 must be finite and alpha finite and non-zero");
	if ((rc = kjs_alloc(&k, t, x, y, n, e)))
		return rc;
	k->v.model = model;
	if ((rc = kjs_fit(k, t, alpha, &st, e)) || (rc = kjs_system(k, t, sigma2, &st, e))) {
		krigejs_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int krigejs_given(struct krigejs **out, const double *t, const double *x, const double *y, size_t n,
		  const struct krigejs_variogram *v, double sigma2, int (*cancelled)(void *ctx), void *ctx,
		  struct error *e)
{
	struct kjs_stop st = { cancelled, ctx, 0.0 };
	struct krigejs *k;
	int rc;

	*out = NULL;
	if (vgm_model_name(v->model)[0] == 'u' || v->model == VGM_MATERN)
		return error_set(e, KD_EINPUT, "kriging.js has no variogram model \"%s\"", vgm_model_name(v->model));
	if (!isfinite(v->nugget) || !isfinite(v->sill) || !isfinite(v->range) || !(v->range > 0.0))
		return error_set(e, KD_EINPUT, "kriging.js variogram: nugget and sill must be finite, range > 0");
	if (!isfinite(sigma2))
		return error_set(e, KD_EINPUT, "kriging.js: sigma2 must be finite");
	if ((rc = kjs_alloc(&k, t, x, y, n, e)))
		return rc;
	k->v.model = v->model;
	k->v.nugget = v->nugget;
	k->v.range = v->range;
	k->v.sill = v->sill;
	if ((rc = kjs_system(k, t, sigma2, &st, e))) {
		krigejs_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

double krigejs_predict(const struct krigejs *k, double x, double y)
{
	double z = 0;

	/* matrixMultiply(k, M, 1, n, 1) */
	for (size_t i = 0; i < k->n; i++)
		z += kjs_model(&k->v, kjs_dist(x - k->x[i], y - k->y[i])) * k->M[i];
	return z;
}

const struct krigejs_variogram *krigejs_params(const struct krigejs *k)
{
	return &k->v;
}

const char *krigejs_warning(const struct krigejs *k)
{
	return k->warning[0] ? k->warning : NULL;
}

void krigejs_free(struct krigejs *k)
{
	if (!k)
		return;
	free(k->x);
	free(k->y);
	free(k->M);
	free(k);
}

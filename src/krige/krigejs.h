/* krigejs.h - `method: "kriging.js"`: kriging.js's train() and predict(),
 * reproduced operation for operation (the @sakitam-gis/kriging 0.1 port of
 * oeo4b's kriging.js), so that images match deployments that used it.
 *
 * Its quirks, kept on purpose:
 *  - coordinates are used as given: the daemon passes plain degrees
 *    (x = longitude, y = latitude), so distances are in degrees;
 *  - the "semivariance" of a pair is |dz|, not (dz)^2 / 2;
 *  - pairs are sorted by distance (stable); with fewer than 30 pairs each
 *    pair is its own lag, otherwise 30 lags of width (max distance / 30)
 *    averaged, empty lags skipped (fewer than 2 non-empty: an error);
 *  - range = last lag - first lag; A = 1/3; the models are its own:
 *    exponential nugget + (sill - nugget) / range * (1 - exp(-h / (A range))),
 *    gaussian with exp(-(h / range)^2 / A), spherical with the usual
 *    polynomial up to range; note the division by range, and that
 *    gamma(0) = nugget (the diagonal of its matrix is the nugget);
 *  - nugget and sill come from a ridge regression of the lags with
 *    penalty 1 / alpha (alpha default 100), sill = slope * range + nugget;
 *  - the system has no unbiasedness row: M = (K + sigma2 I)^-1 t, inverted
 *    by its Cholesky inverse or, when that fails, its Gauss-Jordan
 *    inverse, and predict(x, y) = k(x) . M (sigma2 default 0);
 *  - no variance.
 * With the gaussian model the matrix is usually so ill-conditioned that two
 * correct solvers disagree in the leading digits; krigejs_warning() says so
 * (from a condition estimate) so that the result can carry the warning. */
#ifndef KD_KRIGEJS_H
#define KD_KRIGEJS_H

#include <stddef.h>

#include "krige.h"

struct error;
struct krigejs;

/* kriging.js's variogram: its own parameters, not gstat's. */
struct krigejs_variogram {
	enum vgm_model model;
	double nugget, range, sill, A;
};

/* train(t, x, y, model, sigma2, alpha).  Copies the inputs.  KD_EINPUT when
 * kriging.js would fail or produce NaN (fewer than 2 stations, fewer than
 * 2 lags, zero lag span), with a message saying so.  cancelled(ctx) (may
 * be NULL) is asked every few milliseconds of the O(n^2) and O(n^3) loops
 * (linalg.h's cadence; the one sort of the n^2 / 2 pairs is not
 * interrupted): KD_ECANCEL then, *out NULL. */
int krigejs_train(struct krigejs **out, const double *t, const double *x, const double *y, size_t n,
		  enum vgm_model model, double sigma2, double alpha, int (*cancelled)(void *ctx), void *ctx,
		  struct error *e);

/* Like train, but with a given variogram (nugget, range, sill; A = 1/3 is
 * kriging.js's constant and is ignored in *v): no fit, only the system. */
int krigejs_given(struct krigejs **out, const double *t, const double *x, const double *y, size_t n,
		  const struct krigejs_variogram *v, double sigma2, int (*cancelled)(void *ctx), void *ctx,
		  struct error *e);

double krigejs_predict(const struct krigejs *k, double x, double y);
const struct krigejs_variogram *krigejs_params(const struct krigejs *k);

/* NULL, or a sentence for the result JSON when the system is too
 * ill-conditioned for the predictions to be trusted (or reproduced). */
const char *krigejs_warning(const struct krigejs *k);

void krigejs_free(struct krigejs *k);

#endif

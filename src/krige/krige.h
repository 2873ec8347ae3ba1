/* krige.h - ordinary kriging in double precision (docs/DESIGN.md "Variogram",
 * "Kriging").
 *
 * Coordinates are metres (see raster.h for the projection).  The flow for a
 * frame: stations_clean() repairs the points, krige_fit() (or a given
 * variogram) picks the model, krige_new() factorises once, then
 * krige_grid() predicts every inside cell of a grid. */
#ifndef KD_KRIGE_H
#define KD_KRIGE_H

#include <stddef.h>

struct error;
struct grid;

enum vgm_model { VGM_EXPONENTIAL, VGM_GAUSSIAN, VGM_SPHERICAL, VGM_MATERN };

/* The Matern smoothness kappa: (0, VGM_KAPPA_MAX].  Above 20 the model is
 * a gaussian for any purpose, and t^kappa K_kappa(t) leaves double range at
 * distances that matter (bessel.h). */
#define VGM_KAPPA_MAX 20.0

/* gstat's conventions: gamma(0) = 0; for h > 0
 * exponential nugget + psill (1 - exp(-h/range)), gaussian with
 * exp(-(h/range)^2), spherical psill (1.5 h/range - 0.5 (h/range)^3) up to
 * range and nugget + psill beyond, matern (gstat's "Ste", M. Stein's
 * parameterisation) nugget + psill (1 - rho_kappa(h)) with rho as in
 * bessel.h.  kappa is read by the matern model only (the others ignore
 * it; 0 there). */
struct variogram {
	enum vgm_model model;
	double nugget, psill, range; /* range in metres */
	double kappa;
};

const char *vgm_model_name(enum vgm_model m);        /* "exponential", ... */
int vgm_model_parse(const char *name, enum vgm_model *m); /* 0 or KD_EINPUT */
double variogram_gamma(const struct variogram *v, double h);

/* 0, or KD_EINPUT with a message when v is not a valid variogram: unknown
 * model, nugget or psill < 0, range <= 0, nugget + psill = 0, a matern
 * kappa outside (0, VGM_KAPPA_MAX], or a non-finite number. */
int variogram_check(const struct variogram *v, struct error *e);

/* Stations after repair: non-finite points dropped, points closer than 1 m
 * merged into one at their mean value. Owned arrays. */
struct stations {
	size_t n;
	double *x, *y, *z;
	size_t merged;  /* input points folded into another */
	size_t dropped; /* input points with a non-finite value or coordinate */
};

#define STATIONS_INIT { 0, NULL, NULL, NULL, 0, 0 }

/* Copy n input points into s, repaired as above.  KD_ENOMEM only; too few
 * points is the caller's check (it knows whether it fits or not). */
int stations_clean(struct stations *s, const double *x, const double *y, const double *z, size_t n, struct error *e);
void stations_release(struct stations *s);

/* One model tried by krige_fit_auto. */
struct fit_cand {
	enum vgm_model model;
	double kappa;        /* matern; 0 for the others */
	int fitted;          /* 1: converged with a usable sill and range */
	double sse;          /* fitted: the weighted SSE; NaN otherwise */
	const char *why;     /* not fitted: why, a static sentence; else NULL */
};

/* spherical, exponential, gaussian and 22 matern kappas (automap's grid) */
#define FIT_CAND_MAX 25

/* What a fit did, for the result JSON. */
struct fit_info {
	int fitted;          /* 1: gstat-style WLS fit converged; 0: fallback used */
	char note[320];      /* why a fallback was used, or "" */
	double sse;          /* fitted: the weighted SSE gstat calls SSErr */
	double cutoff, width; /* sample variogram cutoff and lag width, metres */
	int nbins;           /* non-empty lag bins used */
	size_t ncand;        /* krige_fit_auto: the models tried, in order; 0 otherwise */
	struct fit_cand cand[FIT_CAND_MAX];
};

/* Fit model to s as gstat's variogram() + fit.variogram() do by default:
 * cutoff one third (gstat: 0.33333) of the stations' bbox diagonal, 15
 * equal lags, semivariance (dz)^2/2, weighted least squares with weights
 * N_h / h^2, started where vgm("Exp") starts and iterated with gstat's own
 * steps and stopping rule (see variogram.c), so the result matches R.
 * The matern model (kappa in (0, VGM_KAPPA_MAX], else KD_EINPUT) keeps
 * kappa fixed, as fit.variogram does by default, and takes gstat's
 * numerical range derivative.  Needs >= 3 stations (KD_EINPUT otherwise).  When fewer than 3 lag bins
 * are non-empty, or the fit is singular, diverges, does not converge in 200
 * iterations, or leaves no partial sill, the fallback is nugget 0, psill =
 * sample variance of z (1 when z is constant: predictions do not depend on
 * the sill's scale), range = cutoff / 3, with info->fitted = 0 and a note
 * saying why; that is not an error. */
int krige_fit(const struct stations *s, enum vgm_model model, double kappa, struct variogram *out,
	      struct fit_info *info, struct error *e);

/* The automatic choice, as automap's autofitVariogram: every candidate
 * fitted as krige_fit fits it (spherical, exponential, gaussian, then
 * matern at kappa 0.05, 0.2, 0.3, ... 2.0, 5 and 10; with only_matern the
 * matern ones alone) on the same sample variogram, and the fitted one
 * with the least weighted SSE kept; a later candidate must be lower by more
 * than FIT_SSE_TIE relative to replace an earlier one, so that equivalent
 * models (matern at kappa 0.5 is the exponential with range / sqrt 2) do
 * not trade places on rounding.  info lists every
 * candidate.  When none fits: the fallback of krige_fit for the first
 * candidate's model, with a note saying why (a trend when any candidate
 * saw one).  Errors as krige_fit. */
#define FIT_SSE_TIE 1e-6
int krige_fit_auto(const struct stations *s, int only_matern, struct variogram *out, struct fit_info *info,
		   struct error *e);
int krige_fit_auto_until(const struct stations *s, int only_matern, struct variogram *out, struct fit_info *info,
			 int (*cancelled)(void *ctx), void *ctx, struct error *e);

/* krige_fit asking cancelled(ctx) (may be NULL) every block of station
 * pairs of the sample variogram and every iteration of the fit:
 * KD_ECANCEL then, out and info undefined (krige_fit_auto_until too). */
int krige_fit_until(const struct stations *s, enum vgm_model model, double kappa, struct variogram *out,
		    struct fit_info *info, int (*cancelled)(void *ctx), void *ctx, struct error *e);

struct krige;

/* Factorise the ordinary kriging system for s with v, once (the dual
 * weights come from the Cholesky factor of the covariance matrix, see
 * krige.c).  With want_variance that factor is kept for krige_variance.
 * KD_EINPUT for an invalid variogram (negative sill, range <= 0) and when
 * the system is singular or too ill-conditioned (reciprocal condition
 * estimate < 1e-12; message says why: e.g. a gaussian model without nugget
 * at close stations); KD_ENOMEM.  Nothing is left allocated on error. */
int krige_new(struct krige **out, const struct variogram *v, const struct stations *s,
	      int want_variance, struct error *e);

/* How krige_open builds the object.  nmax and maxdist are gstat's
 * krige(nmax=, maxdist=): a station is a neighbour of a point when its
 * distance d <= maxdist; the nmax nearest of those are kept, ties broken by
 * station order (local.h).  nmax 0 (or >= the stations) with maxdist
 * INFINITY is global kriging: one system, factorised here.  Otherwise each
 * neighbour set is factorised when first met by a thread (consecutive
 * cells with the same set share one factorisation), and a point with no
 * neighbour predicts NaN (NODATA) with NaN variance. */
struct krige_opts {
	int variance; /* global: keep the factor krige_variance / krige_grid need */
	int cv;       /* global: keep what krige_cv needs */
	size_t nmax;  /* 0: no limit */
	double maxdist; /* metres, > 0; INFINITY: no limit */
	int threads;  /* global: threads building and factorising the system (< 1: 1); any
		       * count gives the same bits (linalg.h chol_factor_global) */
};

/* As krige_new, with o's neighbourhood.  Global errors as krige_new; a
 * local neighbourhood reports a singular system only when a cell meets it
 * (from krige_grid or krige_cv), naming the point.  KD_EINPUT for maxdist
 * <= 0 or NaN. */
int krige_open(struct krige **out, const struct variogram *v, const struct stations *s,
	       const struct krige_opts *o, struct error *e);

/* krige_open whose object asks cancelled(ctx) (may be NULL; thread-safe)
 * during every long loop it runs, now and later: building and factorising
 * the global system, each local neighbourhood's factorisation (from
 * krige_grid too) and krige_cv, every few milliseconds of work (linalg.h
 * LINALG_STOP_WORK), so a cancel or a stop is not held up by one big
 * frame.  KD_ECANCEL then, with nothing left allocated; from krige_cv and
 * krige_grid_until KD_ECANCEL as theirs.  ctx must outlive the object. */
int krige_open_until(struct krige **out, const struct variogram *v, const struct stations *s,
		     const struct krige_opts *o, int (*cancelled)(void *ctx), void *ctx, struct error *e);

/* 1 when k kriges in a local neighbourhood (krige_open decided). */
int krige_is_local(const struct krige *k);

/* Rough floating-point operations to krige cells cells from n stations
 * with nmax neighbours (0: all), worst case: one factorisation per cell
 * (cells sharing a neighbour set cost less).  For job cost estimates. */
double krige_local_cost(size_t cells, size_t n, size_t nmax);

/* Leave-one-out cross-validation, as gstat's krige.cv with the variogram
 * not refitted: each station removed before its neighbour search, residual
 * = observed - predicted, msdr = mean(residual^2 / kriging variance), n
 * counts the finite predictions (a station with no neighbour has none).
 * Global: Dubrule's closed form on the factorised system (krige_open needs
 * variance or cv); local: each station's own neighbourhood. */
struct krige_cv {
	size_t n;
	double me, mae, rmse, msdr; /* NaN when n is 0 */
};

/* Fills cv; pred and var (NULL or one double per station, in the
 * stations' order) get each left-out prediction and its variance.  threads
 * (1..64) share a local neighbourhood's stations; the result is the same
 * for any count.  KD_EINPUT as krige_grid for a singular neighbourhood,
 * KD_ENOMEM, KD_ECANCEL from krige_open_until's hook. */
int krige_cv(const struct krige *k, int threads, double *pred, double *var, struct krige_cv *cv,
	     struct error *e);

/* Prediction and variance at one point (metres).  gamma(0) = 0, so the
 * prediction at a station is its value, even with a nugget.  Both go
 * through the object's kernel exactly as krige_grid does, so a grid cell
 * equals krige_predict/krige_variance at its centre bit for bit.  NaN if a
 * work buffer cannot be allocated; the variance also without
 * want_variance. */
double krige_predict(const struct krige *k, double x, double y);
double krige_variance(const struct krige *k, double x, double y);

/* Predict every inside cell of g (cell centres projected with grid_x/y);
 * value[r * width + c], NaN outside.  variance may be NULL (not computed);
 * otherwise krige_new() must have had want_variance.  threads >= 1 (at
 * most 64 are used; each free thread takes the next row); the output is
 * bit-identical whatever the thread count. */
int krige_grid(const struct krige *k, const struct grid *g, double *value, double *variance,
	       int threads, struct error *e);

/* krige_grid that asks cancelled(ctx) (may be NULL) before every row and
 * every 64 cells of it, from every thread, so a cancel or a stop takes
 * effect within a block of cells rather than at the frame's end: KD_ECANCEL then, with the grid partly
 * filled (the caller throws it away).  cancelled must be thread-safe. */
int krige_grid_until(const struct krige *k, const struct grid *g, double *value, double *variance,
		     int threads, int (*cancelled)(void *ctx), void *ctx, struct error *e);

void krige_free(struct krige *k);

/* Kernels (kernel.h): "scalar" (the reference), "portable" (plain C),
 * "avx2" (AVX2+FMA) and "avx512" (AVX-512F).  krige_new uses the one picked
 * once per process: the environment variable KRIGD_KERNEL when set, else
 * the widest the CPU supports.  A KRIGD_KERNEL that is unknown, or that
 * this build (--disable-simd) or CPU cannot run, makes krige_new fail with
 * KD_EINPUT naming it: a forced path is never silently replaced.  Every
 * path agrees with scalar within 1e-12 of sum |a_i gamma_i| per cell.
 * krige_set_kernel switches one object (KD_EINPUT as above, k unchanged).
 * The matern model runs on the scalar path whatever was picked (its Bessel
 * function has no vector form), and krige_kernel then says "scalar". */
int krige_set_kernel(struct krige *k, const char *name, struct error *e);
const char *krige_kernel(const struct krige *k);

#endif

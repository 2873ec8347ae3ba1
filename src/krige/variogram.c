/* variogram.c - variogram models and the gstat-compatible fit (krige.h).
 *
 * The fit follows gstat 2.x (R package) with default arguments:
 *   variogram(z ~ 1, d): cutoff = 0.33333 x bbox diagonal (gstat's
 *     DEF_fraction, not exactly 1/3), width = cutoff / 15; pair i > j with
 *     distance h <= cutoff goes to bin floor(h / width), except that a
 *     distance that is an exact multiple of width goes to the bin below
 *     (sem.c get_index); per bin np, mean h and mean (dz)^2 / 2.
 *   fit.variogram(v, vgm("Exp")): starting values range = max(dist) / 3,
 *     nugget = mean of the first 3 gamma, psill = mean of the last 5;
 *     weights np / h^2 (fit.method 7) fixed at the start; a negative
 *     nugget or psill is refitted with that one fixed at 0.
 * gstat's Gauss-Newton iteration stops on a loose criterion (relative SSE
 * change < 1e-5), and its gaussian range derivative lacks a factor 2 h/a,
 * so for that model it oscillates and stops a few percent away from the
 * exact least-squares minimum.  An exact minimiser would not match R, so we
 * take the same steps gstat takes (fit.c wls_fit, vario_fn.c da_fn_*), with
 * the same start, step limit, stopping rule and 200-iteration limit. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bessel.h"
#include "error.h"
#include "krige.h"
#include "mtab.h"

#define GSTAT_FRACTION 0.33333 /* gstat defaults.h DEF_fraction */
#define GSTAT_INTERVALS 15     /* gstat defaults.h DEF_intervals */
#define GSTAT_FIT_LIMIT 1e-5   /* gstat defaults.h DEF_fit_limit */
#define GSTAT_DA_DELTA 0.001 /* gstat vario.h DA_DELTA: numerical d/d(range) */
#define GSTAT_ITER 200         /* gstat's iteration limit as R sets it */
#define GSTAT_ZERO (DBL_EPSILON * 10.0)
#define MIN_BINS 3             /* fewer non-empty lag bins: no fit */
#define RANGE_MAX_FACTOR 100.0 /* a range beyond 100 x cutoff is no fit */
#define TREND_WHY "no sill within the cutoff: the values have a trend"


static const char *const model_names[] = {
	[VGM_EXPONENTIAL] = "exponential",
	[VGM_GAUSSIAN] = "gaussian",
	[VGM_SPHERICAL] = "spherical",
	[VGM_MATERN] = "matern",
};

const char *vgm_model_name(enum vgm_model m)
{
	if ((unsigned)m < sizeof(model_names) / sizeof(model_names[0]))
		return model_names[m];
	return "unknown";
}

int vgm_model_parse(const char *name, enum vgm_model *m)
{
	for (size_t i = 0; i < sizeof(model_names) / sizeof(model_names[0]); i++) {
		if (name && strcmp(name, model_names[i]) == 0) {
			*m = (enum vgm_model)i;
			return 0;
		}
	}
	return KD_EINPUT;
}

/* The unit-sill model shape at h > 0 (gstat's UnitSemivariance). */
static double unit_shape(enum vgm_model m, double h, double range, double kappa)
{
	double r = h / range;

	switch (m) {
	case VGM_EXPONENTIAL:
		return 1.0 - exp(-r);
	case VGM_GAUSSIAN:
		return 1.0 - exp(-r * r);
	case VGM_SPHERICAL:
		return r >= 1.0 ? 1.0 : r * (1.5 - 0.5 * r * r);
	case VGM_MATERN:
		return 1.0 - matern_corr(kappa, h, range);
	}
	return NAN;
}

double variogram_gamma(const struct variogram *v, double h)
{
	if (h == 0.0)
		return 0.0;
	return v->nugget + v->psill * unit_shape(v->model, h, v->range, v->kappa);
}

int variogram_check(const struct variogram *v, struct error *e)
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
	if (v->model == VGM_MATERN && !(v->kappa > 0.0 && v->kappa <= VGM_KAPPA_MAX))
		return error_set(e, KD_EINPUT, "the matern variogram's kappa must be > 0 and <= %g, got %g",
				 VGM_KAPPA_MAX, v->kappa);
	return 0;
}

/* The sample variogram: non-empty bins only, as gstat returns them. */
struct sample {
	size_t nb;
	double np[GSTAT_INTERVALS + 1], dist[GSTAT_INTERVALS + 1], gamma[GSTAT_INTERVALS + 1];
};

/* A cancel hook and how much work went by since it was last asked. */
struct fit_stop {
	int (*cancelled)(void *ctx);
	void *ctx;
	size_t pairs;
};

/* Pairs of stations between two looks at the cancel hook (a few ms). */
#define FIT_STOP_PAIRS ((size_t)1 << 18)

static int fit_stopped(struct fit_stop *st, size_t pairs)
{
	if (!st->cancelled || (st->pairs += pairs) < FIT_STOP_PAIRS)
		return 0;
	st->pairs = 0;
	return st->cancelled(st->ctx) != 0;
}

/* -1 when st said stop before all pairs were seen. */
static int sample_variogram(const struct stations *s, double cutoff, double width, struct sample *out,
			    struct fit_stop *st)
{
	double np[GSTAT_INTERVALS + 2] = { 0 }, dist[GSTAT_INTERVALS + 2] = { 0 };
	double gam[GSTAT_INTERVALS + 2] = { 0 };
	int nbins = (int)floor(cutoff / width) + 1; /* gstat: n_est, 16 */

	if (nbins > GSTAT_INTERVALS + 1)
		nbins = GSTAT_INTERVALS + 1;
	for (size_t i = 0; i < s->n; i++) {
		if (fit_stopped(st, i))
			return -1;
		for (size_t j = 0; j < i; j++) {
			double dx = s->x[i] - s->x[j], dy = s->y[i] - s->y[j];
			double h = sqrt(dx * dx + dy * dy), frac, dz;
			int b;

			if (h > cutoff)
				continue;
			frac = h / width;
			b = (int)floor(frac);
			/* On a boundary: the lower bin (upper bounds inclusive). */
			if (h > 0.0 && frac == floor(frac))
				b--;
			if (b < 0 || b >= nbins)
				continue;
			dz = s->z[i] - s->z[j];
			gam[b] += dz * dz;
			dist[b] += h;
			np[b] += 1.0;
		}
	}
	out->nb = 0;
	for (int b = 0; b < nbins; b++) {
		if (np[b] == 0.0)
			continue;
		out->np[out->nb] = np[b];
		out->dist[out->nb] = dist[b] / np[b];
		out->gamma[out->nb] = gam[b] / (2.0 * np[b]);
		out->nb++;
	}
	return 0;
}

/* d/d(range) of the unit shape, as gstat's da_fnct computes it.  Its
 * gaussian one is -(h/a)/a exp(-(h/a)^2), lacking the factor 2 h/a of the
 * true derivative; gstat's iteration (and so its answer) depends on it,
 * so it is kept. */
static double unit_shape_da(enum vgm_model m, double h, double range, double kappa)
{
	double r = h / range;

	switch (m) {
	case VGM_MATERN: /* no derivative in gstat: its da_general() */
		range = fmax(1e-20, range);
		return (unit_shape(m, h, range * (1.0 + GSTAT_DA_DELTA), kappa) -
			unit_shape(m, h, range * (1.0 - GSTAT_DA_DELTA), kappa)) /
		       (2.0 * range * GSTAT_DA_DELTA);
	case VGM_EXPONENTIAL:
		return -exp(-r) * h / (range * range);
	case VGM_GAUSSIAN:
		return (-r / range) * exp(-(r * r));
	case VGM_SPHERICAL:
		return r >= 1.0 ? 0.0 : 1.5 * r / range * (r * r - 1.0);
	}
	return NAN;
}

/* The model being fitted.  The fit asks for the matern shape at some
 * 10^4 (h, range) pairs per kappa; tab (one per fit, filled lazily in
 * t = tscale h / range) answers them within 1e-14 of matern_corr from a
 * few hundred Bessel evaluations (mtab.h). */
struct fmodel {
	enum vgm_model m;
	double kappa, tscale; /* tscale = 2 sqrt(kappa), as matern_corr has it */
	struct mtab_lazy *tab;
};

static struct fmodel fmodel_of(enum vgm_model m, double kappa, struct mtab_lazy *tab)
{
	return (struct fmodel){ m, kappa, 2.0 * sqrt(kappa), tab };
}

/* unit_shape() for the fit. */
static double fshape(const struct fmodel *fm, double h, double range)
{
	if (fm->m != VGM_MATERN)
		return unit_shape(fm->m, h, range, fm->kappa);
	if (h == 0.0)
		return 0.0;
	return 1.0 - mtab_lazy_rho(fm->tab, fm->kappa, fm->tscale * h / range);
}

/* unit_shape_da() for the fit. */
static double fshape_da(const struct fmodel *fm, double h, double range)
{
	if (fm->m != VGM_MATERN)
		return unit_shape_da(fm->m, h, range, fm->kappa);
	range = fmax(1e-20, range);
	return (fshape(fm, h, range * (1.0 + GSTAT_DA_DELTA)) - fshape(fm, h, range * (1.0 - GSTAT_DA_DELTA))) /
	       (2.0 * range * GSTAT_DA_DELTA);
}

static double sse(const struct sample *sv, const double *w, const struct fmodel *fm, const double *p)
{
	double s = 0.0;

	for (size_t i = 0; i < sv->nb; i++) {
		double r = sv->gamma[i] - p[0] - p[1] * fshape(fm, sv->dist[i], p[2]);

		s += w[i] * r * r;
	}
	return s;
}

/* sse() that also keeps each bin's shape at p[2] in g: the next
 * iteration's residuals and columns are taken at this same p. */
static double sse_keep(const struct sample *sv, const double *w, const struct fmodel *fm, const double *p,
		       double *g)
{
	double s = 0.0;

	for (size_t i = 0; i < sv->nb; i++) {
		double r;

		g[i] = fshape(fm, sv->dist[i], p[2]);
		r = sv->gamma[i] - p[0] - p[1] * g[i];
		s += w[i] * r * r;
	}
	return s;
}

/* Solve the k x k system a x = b (k <= 3) by Gaussian elimination with
 * partial pivoting; -1 when (nearly) singular. */
static int solve_small(double a[3][3], double *b, int k)
{
	for (int c = 0; c < k; c++) {
		int p = c;

		for (int r = c + 1; r < k; r++)
			if (fabs(a[r][c]) > fabs(a[p][c]))
				p = r;
		if (!(fabs(a[p][c]) > 1e-300))
			return -1;
		for (int j = 0; j < k; j++) {
			double t = a[c][j];

			a[c][j] = a[p][j];
			a[p][j] = t;
		}
		{
			double t = b[c];

			b[c] = b[p];
			b[p] = t;
		}
		for (int r = c + 1; r < k; r++) {
			double f = a[r][c] / a[c][c];

			for (int j = c; j < k; j++)
				a[r][j] -= f * a[c][j];
			b[r] -= f * b[c];
		}
	}
	for (int c = k - 1; c >= 0; c--) {
		for (int j = c + 1; j < k; j++)
			b[c] -= a[c][j] * b[j];
		b[c] /= a[c][c];
	}
	return 0;
}

/* gstat's wls_fit(): Gauss-Newton steps on p = {nugget, psill, range}
 * (those with fit[j] set), each step scaled down to at most 20 % of |p|,
 * until the relative decrease of the weighted SSE is below 1e-5 after a
 * free (unscaled) step.  Returns 0; 1 when that did not happen within
 * gstat's 200 iterations (gstat warns "No convergence"); -1 when the
 * normal equations are singular or the range leaves (0, inf); -2 when st
 * said stop (asked every iteration). */
static int gauss_newton(const struct sample *sv, const double *w, const struct fmodel *fm, double *p,
			const int *fit, struct fit_stop *st)
{
	double old = INFINITY, g[GSTAT_INTERVALS + 1];

	for (size_t i = 0; i < sv->nb; i++)
		g[i] = fshape(fm, sv->dist[i], p[2]);
	for (int iter = 0; iter <= GSTAT_ITER; iter++) {
		double ata[3][3] = { { 0 } }, atb[3] = { 0 }, norm_b = 0.0, norm_p = 0.0, now, step;
		int idx[3], k = 0, bounded = 0;

		if (st->cancelled && st->cancelled(st->ctx))
			return -2;
		for (int j = 0; j < 3; j++)
			if (fit[j])
				idx[k++] = j;
		for (size_t i = 0; i < sv->nb; i++) {
			double h = sv->dist[i], col[3];
			double y = sv->gamma[i] - p[0] - p[1] * g[i];

			col[0] = 1.0;
			col[1] = g[i];
			col[2] = p[1] * fshape_da(fm, h, p[2]);
			for (int a = 0; a < k; a++) {
				for (int b = 0; b < k; b++)
					ata[a][b] += w[i] * col[idx[a]] * col[idx[b]];
				atb[a] += w[i] * col[idx[a]] * y;
			}
		}
		if (solve_small(ata, atb, k))
			return -1;
		for (int a = 0; a < k; a++) {
			norm_b += atb[a] * atb[a];
			norm_p += p[idx[a]] * p[idx[a]];
		}
		/* "don't allow steps > 20%" (only when a range is fitted) */
		if (fit[2] && norm_p > 0.0 && sqrt(norm_b / norm_p) > 0.2) {
			double f = 0.2 / sqrt(norm_b / norm_p);

			for (int a = 0; a < k; a++)
				atb[a] *= f;
			bounded = 1;
		}
		for (int a = 0; a < k; a++)
			p[idx[a]] += atb[a];
		if (!(p[2] > 0.0) || !isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2]))
			return -1;
		now = sse_keep(sv, w, fm, p, g);
		step = old - now;
		if (now > GSTAT_ZERO)
			step /= now;
		old = now;
		if (step < GSTAT_FIT_LIMIT && step >= 0.0 && !bounded)
			return 0;
	}
	return 1;
}

/* The fallback variogram: nugget 0, psill the sample variance of z (1 for
 * a constant field: predictions do not depend on the sill's scale, and 1
 * keeps the system regular), range cutoff / 3. */
static void fallback(const struct stations *s, enum vgm_model model, double kappa, double cutoff,
		     struct variogram *out, struct fit_info *info, const char *why)
{
	double mean = 0.0, var = 0.0;

	for (size_t i = 0; i < s->n; i++)
		mean += s->z[i];
	mean /= (double)s->n;
	for (size_t i = 0; i < s->n; i++)
		var += (s->z[i] - mean) * (s->z[i] - mean);
	var /= (double)(s->n - 1);
	*out = (struct variogram){ model, 0.0, var > 0.0 ? var : 1.0, cutoff / 3.0, model == VGM_MATERN ? kappa : 0.0 };
	info->fitted = 0;
	snprintf(info->note, sizeof(info->note), "%s; used nugget 0, psill = variance of the values, range = "
		 "cutoff/3", why);
}

/* The sample variogram of s with gstat's cutoff and width into sv, its
 * fixed weights N_h / h^2 into w; cutoff, width, nbins into info. */
static int prepare(const struct stations *s, struct sample *sv, double *w, struct fit_info *info,
		   struct fit_stop *st)
{
	double minx = s->x[0], maxx = s->x[0], miny = s->y[0], maxy = s->y[0], diag;

	for (size_t i = 1; i < s->n; i++) {
		minx = fmin(minx, s->x[i]);
		maxx = fmax(maxx, s->x[i]);
		miny = fmin(miny, s->y[i]);
		maxy = fmax(maxy, s->y[i]);
	}
	diag = sqrt((maxx - minx) * (maxx - minx) + (maxy - miny) * (maxy - miny));
	info->cutoff = diag > 0.0 ? diag * GSTAT_FRACTION : 1.0;
	info->width = info->cutoff / GSTAT_INTERVALS;
	if (sample_variogram(s, info->cutoff, info->width, sv, st) < 0)
		return -1;
	info->nbins = (int)sv->nb;
	for (size_t i = 0; i < sv->nb; i++)
		w[i] = sv->np[i] / (sv->dist[i] * sv->dist[i]);
	return 0;
}

/* One model fitted to the sample as fit.variogram(v, vgm(model)) does:
 * 0 with v and its weighted SSE, or -1 with why (a sentence for users);
 * -2 when st said stop. */
static int fit_model(const struct sample *sv, const double *w, double cutoff, const struct fmodel *fm,
		     struct variogram *v, double *wsse, const char **why, struct fit_stop *st)
{
	enum vgm_model model = fm->m;
	double kappa = fm->kappa;
	double p[3], maxdist = 0.0;
	int fit[3] = { 1, 1, 1 };

	for (size_t i = 0; i < sv->nb; i++)
		maxdist = fmax(maxdist, sv->dist[i]);
	/* vgm("Exp") leaves everything NA; gstat's vgm_fill_na() picks: */
	p[0] = 0.0;
	for (size_t i = 0; i < sv->nb && i < 3; i++)
		p[0] += sv->gamma[i] / (double)(sv->nb < 3 ? sv->nb : 3);
	p[1] = 0.0;
	for (size_t i = sv->nb > 5 ? sv->nb - 5 : 0; i < sv->nb; i++)
		p[1] += sv->gamma[i] / (double)(sv->nb < 5 ? sv->nb : 5);
	p[2] = maxdist / 3.0;
	/* fit.variogram(): a sill that comes out negative is fixed at 0 and
	 * the fit redone from the initial range. */
	for (int round = 0; round < 3; round++) {
		int rc = gauss_newton(sv, w, fm, p, fit, st);

		if (rc == -2)
			return -2;
		if (rc < 0 && p[2] > maxdist) {
			*why = TREND_WHY " (the range the fit needs passes the largest distance)";
			return -1;
		}
		if (rc < 0) {
			*why = "the variogram fit failed (its least-squares system is singular or diverges): the "
			       "sample variogram has no shape this model can follow";
			return -1;
		}
		if (rc > 0) {
			*why = "the variogram fit did not converge in 200 iterations: the semivariance shows no "
			       "clear sill within the cutoff (the values may have a trend)";
			return -1;
		}
		if (!((fit[0] && p[0] < 0.0) || (fit[1] && p[1] < 0.0)))
			break;
		for (int j = 0; j < 2; j++) {
			if (fit[j] && p[j] < 0.0) {
				p[j] = 0.0;
				fit[j] = 0;
			}
		}
		p[2] = maxdist / 3.0;
	}
	*v = (struct variogram){ model, p[0], p[1], p[2], model == VGM_MATERN ? kappa : 0.0 };
	*wsse = sse(sv, w, fm, p);
	if (!(v->psill > 0.0)) {
		*why = "the fitted partial sill is zero: the values look spatially uncorrelated (pure nugget)";
		return -1;
	}
	if (v->range > RANGE_MAX_FACTOR * cutoff) {
		*why = TREND_WHY " (the fitted range runs away beyond 100 times the cutoff)";
		return -1;
	}
	return 0;
}

static int fit_cancelled(const struct stations *s, struct error *e)
{
	return error_set(e, KD_ECANCEL, "stopped while fitting the variogram to %zu stations", s->n);
}

int krige_fit(const struct stations *s, enum vgm_model model, double kappa, struct variogram *out,
	      struct fit_info *info, struct error *e)
{
	return krige_fit_until(s, model, kappa, out, info, NULL, NULL, e);
}

int krige_fit_until(const struct stations *s, enum vgm_model model, double kappa, struct variogram *out,
		    struct fit_info *info, int (*cancelled)(void *ctx), void *ctx, struct error *e)
{
	struct fit_stop st = { cancelled, ctx, 0 };
	struct sample sv;
	struct mtab_lazy *tab = NULL;
	struct fmodel fm;
	int rc;
	double w[GSTAT_INTERVALS + 1], wsse;
	const char *why = NULL;

	memset(info, 0, sizeof(*info));
	if (vgm_model_name(model)[0] == 'u')
		return error_set(e, KD_EINPUT, "unknown variogram model %d", (int)model);
	if (model == VGM_MATERN && !(kappa > 0.0 && kappa <= VGM_KAPPA_MAX))
		return error_set(e, KD_EINPUT, "the matern variogram's kappa must be > 0 and <= %g, got %g",
				 VGM_KAPPA_MAX, kappa);
	if (s->n < 3)
		return error_set(e, KD_EINPUT, "a variogram fit needs at least 3 distinct stations, got %zu", s->n);
	if (prepare(s, &sv, w, info, &st) < 0)
		return fit_cancelled(s, e);
	if (sv.nb < MIN_BINS) {
		char msg[160];

		snprintf(msg, sizeof(msg), "too few station pairs to fit a variogram: only %zu of the distance "
			 "classes within the cutoff hold pairs (need %d)", sv.nb, MIN_BINS);
		fallback(s, model, kappa, info->cutoff, out, info, msg);
		return 0;
	}
	if (model == VGM_MATERN && !(tab = mtab_lazy_new()))
		return error_set(e, KD_ENOMEM, "out of memory fitting the variogram");
	fm = fmodel_of(model, kappa, tab);
	rc = fit_model(&sv, w, info->cutoff, &fm, out, &wsse, &why, &st);
	mtab_lazy_free(tab);
	if (rc == -2)
		return fit_cancelled(s, e);
	if (rc < 0) {
		fallback(s, model, kappa, info->cutoff, out, info, why);
		return 0;
	}
	info->fitted = 1;
	info->sse = wsse;
	info->note[0] = '\0';
	return 0;
}

/* automap's kappa grid: 0.05, seq(0.2, 2, 0.1) (R computes from + i * by),
 * 5, 10. */
static size_t candidates(int only_matern, struct fit_cand *c)
{
	static const enum vgm_model first[] = { VGM_SPHERICAL, VGM_EXPONENTIAL, VGM_GAUSSIAN };
	size_t n = 0;

	if (!only_matern)
		for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
			c[n++] = (struct fit_cand){ first[i], 0.0, 0, NAN, NULL };
	c[n++] = (struct fit_cand){ VGM_MATERN, 0.05, 0, NAN, NULL };
	for (int i = 0; i <= 18; i++)
		c[n++] = (struct fit_cand){ VGM_MATERN, 0.2 + (double)i * 0.1, 0, NAN, NULL };
	c[n++] = (struct fit_cand){ VGM_MATERN, 5.0, 0, NAN, NULL };
	c[n++] = (struct fit_cand){ VGM_MATERN, 10.0, 0, NAN, NULL };
	return n;
}

int krige_fit_auto(const struct stations *s, int only_matern, struct variogram *out, struct fit_info *info,
		   struct error *e)
{
	return krige_fit_auto_until(s, only_matern, out, info, NULL, NULL, e);
}

int krige_fit_auto_until(const struct stations *s, int only_matern, struct variogram *out, struct fit_info *info,
			 int (*cancelled)(void *ctx), void *ctx, struct error *e)
{
	struct fit_stop st = { cancelled, ctx, 0 };
	struct sample sv;
	double w[GSTAT_INTERVALS + 1];
	struct variogram best = { VGM_EXPONENTIAL, 0, 0, 0, 0 };
	struct mtab_lazy *tab;
	int have = 0;

	memset(info, 0, sizeof(*info));
	if (s->n < 3)
		return error_set(e, KD_EINPUT, "a variogram fit needs at least 3 distinct stations, got %zu", s->n);
	info->ncand = candidates(only_matern, info->cand);
	if (prepare(s, &sv, w, info, &st) < 0)
		return fit_cancelled(s, e);
	if (sv.nb < MIN_BINS) {
		char msg[160];

		snprintf(msg, sizeof(msg), "too few station pairs to fit a variogram: only %zu of the distance "
			 "classes within the cutoff hold pairs (need %d)", sv.nb, MIN_BINS);
		for (size_t i = 0; i < info->ncand; i++)
			info->cand[i].why = "too few station pairs to fit a variogram";
		fallback(s, info->cand[0].model, info->cand[0].kappa, info->cutoff, out, info, msg);
		return 0;
	}
	/* one table for all the matern candidates: a new kappa refills it */
	if (!(tab = mtab_lazy_new()))
		return error_set(e, KD_ENOMEM, "out of memory fitting the variogram");
	for (size_t i = 0; i < info->ncand; i++) {
		struct fit_cand *c = &info->cand[i];
		struct fmodel fm = fmodel_of(c->model, c->kappa, tab);
		struct variogram v;
		double wsse;
		int rc = fit_model(&sv, w, info->cutoff, &fm, &v, &wsse, &c->why, &st);

		if (rc == -2) {
			mtab_lazy_free(tab);
			return fit_cancelled(s, e);
		}
		if (rc < 0)
			continue;
		c->fitted = 1;
		c->sse = wsse;
		if (!have || wsse < info->sse * (1.0 - FIT_SSE_TIE)) {
			best = v;
			info->sse = wsse;
			have = 1;
		}
	}
	mtab_lazy_free(tab);
	if (!have) {
		/* The reason that tells most: a trend, when any candidate saw one. */
		const char *why = info->cand[0].why;

		for (size_t i = 0; i < info->ncand; i++)
			if (strncmp(info->cand[i].why, TREND_WHY, strlen(TREND_WHY)) == 0) {
				why = TREND_WHY;
				break;
			}
		fallback(s, info->cand[0].model, info->cand[0].kappa, info->cutoff, out, info, why);
		return 0;
	}
	*out = best;
	info->fitted = 1;
	info->note[0] = '\0';
	return 0;
}

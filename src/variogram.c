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
 * gstat gets there by Gauss-Newton/Marquardt steps; we minimise the same
 * weighted sum of squares directly: for a fixed range the nugget and psill
 * are a 2x2 linear least-squares problem with non-negativity (solved
 * exactly), and the range is a 1-D minimisation of that profile, walked
 * downhill from gstat's starting range (so we find the same local minimum)
 * and refined by golden-section search in log(range). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "krige.h"

#define GSTAT_FRACTION 0.33333 /* gstat defaults.h DEF_fraction */
#define GSTAT_INTERVALS 15     /* gstat defaults.h DEF_intervals */
#define MIN_BINS 3             /* fewer non-empty lag bins: no fit */

static const char *const model_names[] = {
	[VGM_EXPONENTIAL] = "exponential",
	[VGM_GAUSSIAN] = "gaussian",
	[VGM_SPHERICAL] = "spherical",
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
static double unit_shape(enum vgm_model m, double h, double range)
{
	double r = h / range;

	switch (m) {
	case VGM_EXPONENTIAL:
		return 1.0 - exp(-r);
	case VGM_GAUSSIAN:
		return 1.0 - exp(-r * r);
	case VGM_SPHERICAL:
		return r >= 1.0 ? 1.0 : r * (1.5 - 0.5 * r * r);
	}
	return NAN;
}

double variogram_gamma(const struct variogram *v, double h)
{
	if (h == 0.0)
		return 0.0;
	return v->nugget + v->psill * unit_shape(v->model, h, v->range);
}

/* The sample variogram: non-empty bins only, as gstat returns them. */
struct sample {
	size_t nb;
	double np[GSTAT_INTERVALS + 1], dist[GSTAT_INTERVALS + 1], gamma[GSTAT_INTERVALS + 1];
};

static void sample_variogram(const struct stations *s, double cutoff, double width, struct sample *out)
{
	double np[GSTAT_INTERVALS + 2] = { 0 }, dist[GSTAT_INTERVALS + 2] = { 0 };
	double gam[GSTAT_INTERVALS + 2] = { 0 };
	int nbins = (int)floor(cutoff / width) + 1; /* gstat: n_est, 16 */

	if (nbins > GSTAT_INTERVALS + 1)
		nbins = GSTAT_INTERVALS + 1;
	for (size_t i = 0; i < s->n; i++) {
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
}

/* For a fixed range: the nugget >= 0, psill >= 0 minimising
 * sum w (gamma - nugget - psill g)^2.  Returns that minimum. */
static double fit_sills(const struct sample *sv, const double *w, enum vgm_model m, double range,
			double *nugget, double *psill)
{
	double sw = 0, sg = 0, sgg = 0, sy = 0, sgy = 0, syy = 0;
	double best = INFINITY, cand[3][2];
	int nc = 0;

	for (size_t i = 0; i < sv->nb; i++) {
		double g = unit_shape(m, sv->dist[i], range), y = sv->gamma[i];

		sw += w[i];
		sg += w[i] * g;
		sgg += w[i] * g * g;
		sy += w[i] * y;
		sgy += w[i] * g * y;
		syy += w[i] * y * y;
	}
	/* Interior solution of the 2x2 normal equations. */
	{
		double det = sw * sgg - sg * sg;

		if (det > 1e-14 * sw * sgg) {
			double n0 = (sgg * sy - sg * sgy) / det, p0 = (sw * sgy - sg * sy) / det;

			if (n0 >= 0.0 && p0 >= 0.0) {
				cand[nc][0] = n0;
				cand[nc++][1] = p0;
			}
		}
	}
	/* The faces nugget = 0 and psill = 0. */
	if (sgg > 0.0) {
		cand[nc][0] = 0.0;
		cand[nc++][1] = sgy > 0.0 ? sgy / sgg : 0.0;
	}
	cand[nc][0] = sy > 0.0 ? sy / sw : 0.0;
	cand[nc++][1] = 0.0;
	*nugget = *psill = 0.0;
	for (int c = 0; c < nc; c++) {
		double a = cand[c][0], b = cand[c][1];
		/* Expanded sum of squares; the caller only compares values. */
		double sse = syy + a * a * sw + b * b * sgg + 2 * a * b * sg - 2 * a * sy - 2 * b * sgy;

		if (sse < best) {
			best = sse;
			*nugget = a;
			*psill = b;
		}
	}
	return best;
}

/* The profile sum of squares, recomputed exactly from the residuals. */
static double profile(const struct sample *sv, const double *w, enum vgm_model m, double range,
		      double *nugget, double *psill)
{
	double sse = 0.0;

	fit_sills(sv, w, m, range, nugget, psill);
	for (size_t i = 0; i < sv->nb; i++) {
		double r = sv->gamma[i] - *nugget - *psill * unit_shape(m, sv->dist[i], range);

		sse += w[i] * r * r;
	}
	return sse;
}

static void fallback(const struct stations *s, enum vgm_model model, double cutoff,
		     struct variogram *out, struct fit_info *info, const char *why)
{
	double mean = 0.0, var = 0.0;

	for (size_t i = 0; i < s->n; i++)
		mean += s->z[i];
	mean /= (double)s->n;
	for (size_t i = 0; i < s->n; i++)
		var += (s->z[i] - mean) * (s->z[i] - mean);
	var /= (double)(s->n - 1);
	out->model = model;
	out->nugget = 0.0;
	/* Predictions do not depend on the sill's scale; 1 keeps a constant
	 * field's system regular. */
	out->psill = var > 0.0 ? var : 1.0;
	out->range = cutoff / 3.0;
	info->fitted = 0;
	snprintf(info->note, sizeof(info->note), "%s; fallback: nugget 0, psill = sample variance, range = cutoff / 3",
		 why);
}

int krige_fit(const struct stations *s, enum vgm_model model, struct variogram *out, struct fit_info *info,
	      struct error *e)
{
	struct sample sv;
	double w[GSTAT_INTERVALS + 1];
	double minx, maxx, miny, maxy, diag, cutoff, maxdist = 0.0;
	double lo, hi, r0, f0, nug, ps;
	const double step = 1.5, rmin_factor = 1e-3, rmax_factor = 1e3;

	memset(info, 0, sizeof(*info));
	if (vgm_model_name(model)[0] == 'u')
		return error_set(e, KD_EINPUT, "unknown variogram model %d", (int)model);
	if (s->n < 3)
		return error_set(e, KD_EINPUT, "a variogram fit needs at least 3 distinct stations, got %zu", s->n);
	minx = maxx = s->x[0];
	miny = maxy = s->y[0];
	for (size_t i = 1; i < s->n; i++) {
		minx = fmin(minx, s->x[i]);
		maxx = fmax(maxx, s->x[i]);
		miny = fmin(miny, s->y[i]);
		maxy = fmax(maxy, s->y[i]);
	}
	diag = sqrt((maxx - minx) * (maxx - minx) + (maxy - miny) * (maxy - miny));
	cutoff = diag > 0.0 ? diag * GSTAT_FRACTION : 1.0;
	info->cutoff = cutoff;
	info->width = cutoff / GSTAT_INTERVALS;
	sample_variogram(s, cutoff, info->width, &sv);
	info->nbins = (int)sv.nb;
	if (sv.nb < MIN_BINS) {
		char why[100];

		snprintf(why, sizeof(why), "only %zu non-empty lag bins (need %d)", sv.nb, MIN_BINS);
		fallback(s, model, cutoff, out, info, why);
		return 0;
	}
	for (size_t i = 0; i < sv.nb; i++) {
		w[i] = sv.np[i] / (sv.dist[i] * sv.dist[i]);
		maxdist = fmax(maxdist, sv.dist[i]);
	}

	/* Walk downhill from gstat's start, by factors of `step`, until the
	 * profile rises again: [lo, hi] then brackets a local minimum. */
	r0 = maxdist / 3.0;
	f0 = profile(&sv, w, model, r0, &nug, &ps);
	{
		double fu = profile(&sv, w, model, r0 * step, &nug, &ps);
		double fd = profile(&sv, w, model, r0 / step, &nug, &ps);
		double dir = fu < f0 ? step : (fd < f0 ? 1.0 / step : 0.0);
		double r = r0, f = f0;

		lo = r0 / step;
		hi = r0 * step;
		if (dir != 0.0) {
			for (;;) {
				double rn = r * dir, fn = profile(&sv, w, model, rn, &nug, &ps);

				if (rn < maxdist * rmin_factor || rn > maxdist * rmax_factor) {
					fallback(s, model, cutoff, out, info,
						 "the fitted range runs away (no sill within the data's distances)");
					return 0;
				}
				if (!(fn < f)) {
					lo = fmin(r / dir, rn);
					hi = fmax(r / dir, rn);
					break;
				}
				r = rn;
				f = fn;
			}
		}
	}
	/* Golden-section search in log(range) on [lo, hi]. */
	{
		const double g = (sqrt(5.0) - 1.0) / 2.0;
		double a = log(lo), b = log(hi);
		double c = b - g * (b - a), d = a + g * (b - a);
		double fc = profile(&sv, w, model, exp(c), &nug, &ps);
		double fd = profile(&sv, w, model, exp(d), &nug, &ps);

		for (int it = 0; it < 200 && b - a > 1e-12; it++) {
			if (fc < fd) {
				b = d;
				d = c;
				fd = fc;
				c = b - g * (b - a);
				fc = profile(&sv, w, model, exp(c), &nug, &ps);
			} else {
				a = c;
				c = d;
				fc = fd;
				d = a + g * (b - a);
				fd = profile(&sv, w, model, exp(d), &nug, &ps);
			}
		}
		out->range = exp(0.5 * (a + b));
	}
	f0 = profile(&sv, w, model, out->range, &out->nugget, &out->psill);
	out->model = model;
	if (!isfinite(f0) || !isfinite(out->nugget) || !isfinite(out->psill) || !(out->range > 0.0)) {
		fallback(s, model, cutoff, out, info, "the weighted least-squares fit failed");
		return 0;
	}
	if (!(out->psill > 0.0)) {
		fallback(s, model, cutoff, out, info, "the fitted partial sill is zero (pure nugget)");
		return 0;
	}
	info->fitted = 1;
	info->note[0] = '\0';
	return 0;
}

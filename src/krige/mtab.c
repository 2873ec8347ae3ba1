/* mtab.c - see mtab.h. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "bessel.h"
#include "mtab.h"

#define MT_DEG 22            /* degree of each piece's series */
#define MT_DYADIC 10         /* [2^-10, 2^-9) ... [1/2, 1) */
#define MT_TMIN (1.0 / 1024.0)
#define MT_STEP 0.5          /* pieces above t = 1 */
#define MT_TAIL 1e-18        /* rho below this is 0 */

struct mtab {
	double kappa, range, scale; /* t = h * scale */
	double tmax;                /* rho(t) = 0 beyond */
	int npiece;
	double c[][MT_DEG + 1];     /* Chebyshev coefficients per piece */
};

static double rho_t(double kappa, double t)
{
	/* matern_corr with range 2 sqrt(kappa): its t is our t */
	return matern_corr(kappa, t, 2.0 * sqrt(kappa));
}

/* The piece [a, b] fitted at the Chebyshev points of the first kind. */
static void fit_piece(double kappa, double a, double b, double *c)
{
	const int n = MT_DEG + 1;
	double f[MT_DEG + 1], mid = 0.5 * (a + b), half = 0.5 * (b - a);

	for (int k = 0; k < n; k++)
		f[k] = rho_t(kappa, mid + half * cos(M_PI * (k + 0.5) / n));
	for (int j = 0; j < n; j++) {
		double s = 0.0;

		for (int k = 0; k < n; k++)
			s += f[k] * cos(M_PI * j * (k + 0.5) / n);
		c[j] = 2.0 * s / n;
	}
	c[0] *= 0.5;
}

struct mtab *mtab_new(double kappa, double range)
{
	double tmax = 2.0;
	int nuni, n;
	struct mtab *t;

	while (tmax < 400.0 && rho_t(kappa, tmax) >= MT_TAIL)
		tmax += 2.0;
	nuni = (int)ceil((tmax - 1.0) / MT_STEP);
	n = MT_DYADIC + nuni;
	t = malloc(sizeof(*t) + (size_t)n * sizeof(t->c[0]));
	if (!t)
		return NULL;
	t->kappa = kappa;
	t->range = range;
	t->scale = 2.0 * sqrt(kappa) / range;
	t->tmax = 1.0 + MT_STEP * nuni;
	t->npiece = n;
	for (int i = 0; i < MT_DYADIC; i++)
		fit_piece(kappa, ldexp(MT_TMIN, i), ldexp(MT_TMIN, i + 1), t->c[i]);
	for (int i = 0; i < nuni; i++)
		fit_piece(kappa, 1.0 + MT_STEP * i, 1.0 + MT_STEP * (i + 1), t->c[MT_DYADIC + i]);
	return t;
}

void mtab_free(struct mtab *t)
{
	free(t);
}

double mtab_corr(const struct mtab *t, double h)
{
	double x = h * t->scale, a, b, s, b1 = 0.0, b2 = 0.0;
	const double *c;
	int i;

	if (h == 0.0)
		return 1.0;
	if (x < MT_TMIN)
		return matern_corr(t->kappa, h, t->range);
	if (x >= t->tmax)
		return 0.0;
	if (x < 1.0) {
		int e;

		(void)frexp(x, &e); /* x in [2^(e-1), 2^e) */
		i = e + MT_DYADIC - 1;
		a = ldexp(1.0, e - 1);
		b = 2.0 * a;
	} else {
		i = (int)((x - 1.0) / MT_STEP);
		if (i >= t->npiece - MT_DYADIC)
			i = t->npiece - MT_DYADIC - 1;
		a = 1.0 + MT_STEP * i;
		b = a + MT_STEP;
		i += MT_DYADIC;
	}
	c = t->c[i];
	s = (2.0 * x - a - b) / (b - a);
	for (int j = MT_DEG; j >= 1; j--) { /* Clenshaw */
		double b0 = 2.0 * s * b1 - b2 + c[j];

		b2 = b1;
		b1 = b0;
	}
	return s * b1 - b2 + c[0];
}

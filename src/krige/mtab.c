/* mtab.c - see mtab.h. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bessel.h"
#include "mtab.h"

#define MT_DEG 22            /* degree of each piece's series */
#define MT_N (MT_DEG + 1)    /* points (and coefficients) per piece */
#if MT_DEG % 2
#error "series() splits an even MT_DEG into its even and odd parts"
#endif
#define MT_DYADIC 10         /* [2^-10, 2^-9) ... [1/2, 1) */
#define MT_TMIN (1.0 / 1024.0)
#define MT_STEP 0.5          /* pieces above t = 1 */
#define MT_TAIL 1e-18        /* rho below this is 0 */
#define LZ_DYADIC 30         /* the lazy table: [2^-30, 2^-29) ... [1/2, 1) */
#define LZ_UP 6              /* and [1, 2) ... [32, 64) */

/* The Chebyshev points of the first kind and the cosines of the discrete
 * transform, the same expressions whichever table uses them. */
struct dct {
	double node[MT_N], cosm[MT_N][MT_N];
};

struct mtab {
	double kappa, range, scale; /* t = h * scale */
	double mc;                  /* matern_const(kappa) */
	double tmax;                /* rho(t) = 0 beyond */
	int npiece;
	double c[][MT_N];           /* Chebyshev coefficients per piece */
};

struct mtab_lazy {
	double kappa, mc;           /* mc = matern_const(kappa) */
	struct dct d;
	unsigned char have[LZ_DYADIC + LZ_UP]; /* piece i fitted for kappa */
	double c[LZ_DYADIC + LZ_UP][MT_N];
};

static void dct_init(struct dct *d)
{
	const int n = MT_N;

	for (int k = 0; k < n; k++)
		d->node[k] = cos(M_PI * (k + 0.5) / n);
	for (int j = 0; j < n; j++)
		for (int k = 0; k < n; k++)
			d->cosm[j][k] = cos(M_PI * j * (k + 0.5) / n);
}

/* c = matern_const(kappa) */
static double rho_t(double kappa, double c, double t)
{
	/* matern_corr with range 2 sqrt(kappa): its t is our t */
	return matern_corr_c(kappa, c, t, 2.0 * sqrt(kappa));
}

/* The piece [a, b] fitted at the Chebyshev points of the first kind. */
static void fit_piece(const struct dct *d, double kappa, double mc, double a, double b, double *c)
{
	const int n = MT_N;
	double f[MT_N], mid = 0.5 * (a + b), half = 0.5 * (b - a);

	for (int k = 0; k < n; k++)
		f[k] = rho_t(kappa, mc, mid + half * d->node[k]);
	for (int j = 0; j < n; j++) {
		double s = 0.0;

		for (int k = 0; k < n; k++)
			s += f[k] * d->cosm[j][k];
		c[j] = 2.0 * s / n;
	}
	c[0] *= 0.5;
}

/* The series c on [a, b] at x by Clenshaw's recurrence in two chains of
 * half the length that run side by side (one chain of 22 dependent steps
 * was most of a lookup): with u = 2 s^2 - 1, T_2k(s) = T_k(u) and
 * T_2k+1(s) = s V_k(u) (V: Chebyshev polynomials of the third kind, the
 * same recurrence from V_0 = 1, V_1 = 2u - 1). */
static double series(const double *c, double a, double b, double x)
{
	double s = (2.0 * x - a - b) / (b - a), u = 2.0 * s * s - 1.0, u2 = 2.0 * u;
	double e1 = c[MT_DEG], e2 = 0.0, o1 = 0.0, o2 = 0.0;

	/* b_k of sum c[2k] T_k(u), k = MT_DEG/2 .. 1, and of sum c[2k+1] V_k(u),
	 * k = MT_DEG/2 - 1 .. 1 */
	for (int k = MT_DEG / 2 - 1; k >= 1; k--) {
		double e0 = u2 * e1 - e2 + c[2 * k];
		double o0 = u2 * o1 - o2 + c[2 * k + 1];

		e2 = e1;
		e1 = e0;
		o2 = o1;
		o1 = o0;
	}
	/* T: c_0 + u b_1 - b_2; V: d_0 + (2u - 1) b_1 - b_2 */
	return (u * e1 - e2 + c[0]) + s * ((u2 - 1.0) * o1 - o2 + c[1]);
}

/* The piece of x (2^-ndyadic <= x < 1 + MT_STEP * nuni) with its [a, b]:
 * the dyadic ones first, then those of width MT_STEP; nuni caps x.  With
 * nuni 0, dyadic pieces all the way (x < 2^k: piece ndyadic + k - 1). */
static int piece_of(double x, int ndyadic, int nuni, double *a, double *b)
{
	int i;

	if (x < 1.0 || nuni == 0) {
		/* frexp and ldexp by the bits (x is normal here): the biased
		 * exponent E says x in [2^(E-1023), 2^(E-1022)), so e = E - 1022 */
		uint64_t u;
		int e;

		memcpy(&u, &x, sizeof(u));
		e = (int)((u >> 52) & 0x7ff) - 1022;
		u = (uint64_t)(e - 1 + 1023) << 52;
		memcpy(a, &u, sizeof(*a));
		*b = 2.0 * *a;
		return e + ndyadic - 1;
	}
	i = (int)((x - 1.0) / MT_STEP);
	if (i >= nuni)
		i = nuni - 1;
	*a = 1.0 + MT_STEP * i;
	*b = *a + MT_STEP;
	return ndyadic + i;
}

struct mtab *mtab_new(double kappa, double range)
{
	double tmax = 2.0, mc = matern_const(kappa);
	int nuni, n;
	struct mtab *t;
	struct dct *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	while (tmax < 400.0 && rho_t(kappa, mc, tmax) >= MT_TAIL)
		tmax += 2.0;
	nuni = (int)ceil((tmax - 1.0) / MT_STEP);
	n = MT_DYADIC + nuni;
	t = malloc(sizeof(*t) + (size_t)n * sizeof(t->c[0]));
	if (!t) {
		free(d);
		return NULL;
	}
	dct_init(d);
	t->kappa = kappa;
	t->mc = mc;
	t->range = range;
	t->scale = 2.0 * sqrt(kappa) / range;
	t->tmax = 1.0 + MT_STEP * nuni;
	t->npiece = n;
	for (int i = 0; i < MT_DYADIC; i++)
		fit_piece(d, kappa, mc, ldexp(MT_TMIN, i), ldexp(MT_TMIN, i + 1), t->c[i]);
	for (int i = 0; i < nuni; i++)
		fit_piece(d, kappa, mc, 1.0 + MT_STEP * i, 1.0 + MT_STEP * (i + 1), t->c[MT_DYADIC + i]);
	free(d);
	return t;
}

void mtab_free(struct mtab *t)
{
	free(t);
}

double mtab_corr(const struct mtab *t, double h)
{
	double x = h * t->scale, a, b;
	int i;

	if (h == 0.0)
		return 1.0;
	if (x < MT_TMIN)
		return matern_corr_c(t->kappa, t->mc, h, t->range);
	if (x >= t->tmax)
		return 0.0;
	i = piece_of(x, MT_DYADIC, t->npiece - MT_DYADIC, &a, &b);
	return series(t->c[i], a, b, x);
}

struct mtab_lazy *mtab_lazy_new(void)
{
	struct mtab_lazy *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	dct_init(&t->d);
	t->kappa = NAN;
	memset(t->have, 0, sizeof(t->have));
	return t;
}

void mtab_lazy_free(struct mtab_lazy *t)
{
	free(t);
}

double mtab_lazy_rho(struct mtab_lazy *t, double kappa, double x)
{
	double a, b;
	int i;

	if (kappa != t->kappa) {
		memset(t->have, 0, sizeof(t->have));
		t->kappa = kappa;
		t->mc = matern_const(kappa);
	}
	if (!(x >= ldexp(1.0, -LZ_DYADIC) && x < ldexp(1.0, LZ_UP)))
		return rho_t(kappa, t->mc, x);
	/* dyadic throughout: a piece [a, 2a] lies as far from rho's one
	 * singular point, t = 0, relative to its width as [1/2, 1] does, and
	 * e^-t varies by a factor of at most e^-32 over the last one, so
	 * degree 22 keeps the error at rounding level with 36 pieces in all */
	i = piece_of(x, LZ_DYADIC, 0, &a, &b);
	if (!t->have[i]) {
		fit_piece(&t->d, kappa, t->mc, a, b, t->c[i]);
		t->have[i] = 1;
	}
	return series(t->c[i], a, b, x);
}

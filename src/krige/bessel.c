/* bessel.c - K_nu(x) and the Matern correlation (bessel.h).
 *
 * With mu = nu - n, n = floor(nu + 1/2), so |mu| <= 1/2:
 *  - x <= 2: Temme's series (N. M. Temme, J. Comput. Phys. 19, 1975) for
 *    K_mu and K_mu+1, the coefficients 1/Gamma(1 +- mu) from the power
 *    series of 1/Gamma (Abramowitz & Stegun 6.1.34), so that
 *    (1/Gamma(1-mu) - 1/Gamma(1+mu)) / (2 mu) loses nothing near mu = 0;
 *  - x > 2: Steed's algorithm for the continued fraction CF2 (Temme's
 *    form), which yields e^x K_mu and e^x K_mu+1 directly;
 *  - then n steps of K_{m+1} = (2 m / x) K_m + K_{m-1}, stable upwards.
 * Each series or fraction stops when its term changes the sum by less
 * than a unit in the last place. */
#include "config.h"

#include <math.h>

#include "bessel.h"

#define BESSEL_EPS 1e-17
#define BESSEL_MAXIT 100000

/* 1/Gamma(z) = sum_{k>=1} C[k-1] z^k (A&S 6.1.34), so 1/Gamma(1+z) =
 * sum_k C[k] z^k. */
static const double rgamma_c[] = {
	1.0,
	0.5772156649015329,
	-0.6558780715202538,
	-0.0420026350340952,
	0.1665386113822915,
	-0.0421977345555443,
	-0.0096219715278770,
	0.0072189432466630,
	-0.0011651675918591,
	-0.0002152416741149,
	0.0001280502823882,
	-0.0000201348547807,
	-0.0000012504934821,
	0.0000011330272320,
	-0.0000002056338417,
	0.0000000061160950,
	0.0000000050020075,
	-0.0000000011812746,
	0.0000000001043427,
	0.0000000000077823,
	-0.0000000000036968,
	0.0000000000005100,
	-0.0000000000000206,
	-0.0000000000000054,
	0.0000000000000014,
	0.0000000000000001,
};

/* gam1 = (1/Gamma(1-mu) - 1/Gamma(1+mu)) / (2 mu) (its limit -gamma at
 * mu = 0) and gam2 = (1/Gamma(1-mu) + 1/Gamma(1+mu)) / 2: the even and
 * odd parts of the series, summed from the small end. */
static void temme_gammas(double mu, double *gam1, double *gam2)
{
	int n = (int)(sizeof(rgamma_c) / sizeof(rgamma_c[0]));
	double m2 = mu * mu, odd = 0.0, even = 0.0;

	for (int k = n - 1; k >= 0; k--) {
		if (k % 2)
			odd = odd * m2 + rgamma_c[k];
		else
			even = even * m2 + rgamma_c[k];
	}
	*gam1 = -odd;
	*gam2 = even;
}

/* K_mu(x), K_mu+1(x) for |mu| <= 1/2, 0 < x <= 2. */
static void temme(double mu, double x, double *kmu, double *kmu1)
{
	double d = -log(0.5 * x), e = mu * d, gam1, gam2, gampl, gammi;
	double fact = mu == 0.0 ? 1.0 : M_PI * mu / sin(M_PI * mu);
	double fact2 = e == 0.0 ? 1.0 : sinh(e) / e;
	double ff, sum, sum1, p, q, c = 1.0, dd = 0.25 * x * x, ee;

	temme_gammas(mu, &gam1, &gam2);
	gampl = gam2 - mu * gam1; /* 1 / Gamma(1 + mu) */
	gammi = gam2 + mu * gam1; /* 1 / Gamma(1 - mu) */
	ff = fact * (gam1 * cosh(e) + gam2 * fact2 * d);
	ee = exp(e);
	p = 0.5 * ee / gampl;
	q = 0.5 / (ee * gammi);
	sum = ff;
	sum1 = p;
	for (int i = 1; i < BESSEL_MAXIT; i++) {
		double del, del1;

		ff = ((double)i * ff + p + q) / ((double)i * (double)i - mu * mu);
		c *= dd / (double)i;
		p /= (double)i - mu;
		q /= (double)i + mu;
		del = c * ff;
		del1 = c * (p - (double)i * ff);
		sum += del;
		sum1 += del1;
		if (fabs(del) <= fabs(sum) * BESSEL_EPS && fabs(del1) <= fabs(sum1) * BESSEL_EPS)
			break;
	}
	*kmu = sum;
	*kmu1 = sum1 * 2.0 / x;
}

/* e^x K_mu(x), e^x K_mu+1(x) for |mu| <= 1/2, x > 2 (Steed's CF2). */
static void steed(double mu, double x, double *kmu, double *kmu1)
{
	double a1 = 0.25 - mu * mu, b = 2.0 * (1.0 + x), d = 1.0 / b, h = d, delh = d;
	double q1 = 0.0, q2 = 1.0, q = a1, c = a1, a = -a1, s = 1.0 + a1 * d;

	for (int i = 2; i < BESSEL_MAXIT; i++) {
		double qnew, dels;

		a -= 2.0 * (double)(i - 1);
		c = -a * c / (double)i;
		qnew = (q1 - b * q2) / a;
		q1 = q2;
		q2 = qnew;
		q += c * qnew;
		b += 2.0;
		d = 1.0 / (b + a * d);
		delh = (b * d - 1.0) * delh;
		h += delh;
		dels = q * delh;
		s += dels;
		if (fabs(dels) <= fabs(s) * BESSEL_EPS && fabs(delh) <= fabs(h) * BESSEL_EPS)
			break;
	}
	*kmu = sqrt(M_PI / (2.0 * x)) / s;
	*kmu1 = *kmu * (mu + x + 0.5 - a1 * h) / x;
}

/* K_nu(x) times e^x when scaled, else K_nu(x). */
static double bessel_k_any(double nu, double x, int scaled)
{
	double n, mu, k0, k1;

	if (!(nu >= 0.0) || !(x > 0.0) || isinf(nu))
		return NAN;
	if (isinf(x))
		return 0.0;
	n = floor(nu + 0.5);
	mu = nu - n;
	if (x <= 2.0) {
		temme(mu, x, &k0, &k1);
		if (scaled) {
			k0 *= exp(x);
			k1 *= exp(x);
		}
	} else {
		steed(mu, x, &k0, &k1);
		if (!scaled) {
			k0 *= exp(-x);
			k1 *= exp(-x);
		}
	}
	/* k0 = K_mu+i, k1 = K_mu+i+1 */
	for (double i = 1.0; i <= n; i += 1.0) {
		double t = 2.0 * (mu + i) / x * k1 + k0;

		k0 = k1;
		k1 = t;
		if (isinf(k0))
			break;
	}
	return k0;
}

double bessel_k(double nu, double x)
{
	return bessel_k_any(nu, x, 0);
}

double bessel_k_scaled(double nu, double x)
{
	return bessel_k_any(nu, x, 1);
}

double matern_const(double nu)
{
	return pow(2.0, 1.0 - nu) / tgamma(nu);
}

double matern_corr_c(double nu, double c, double h, double range)
{
	double t;

	if (h == 0.0)
		return 1.0;
	t = 2.0 * sqrt(nu) * h / range;
	if (t < 2.0 && nu * log(2.0 / t) > 700.0)
		return 1.0;
	if (t < 600.0)
		return c * pow(t, nu) * exp(-t) * bessel_k_scaled(nu, t);
	return c * exp(nu * log(t) - t) * bessel_k_scaled(nu, t);
}

double matern_corr(double nu, double h, double range)
{
	return matern_corr_c(nu, matern_const(nu), h, range);
}

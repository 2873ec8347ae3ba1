/* bessel.h - the modified Bessel function of the second kind K_nu (x) and
 * the Matern correlation built on it (docs/DESIGN.md "Variogram").
 *
 * Our own code, dependency free: Temme's series for x <= 2, Steed's
 * continued fraction (CF2) for x > 2, both for the order mu = nu - round(nu)
 * in [-1/2, 1/2], then the forward recurrence in the order, which is stable
 * for K.  Relative error about 1e-15 for 0 <= nu <= 50 (tests/krige/
 * test_bessel.c checks closed forms and R's besselK). */
#ifndef KD_BESSEL_H
#define KD_BESSEL_H

/* K_nu(x) for nu >= 0 and x > 0.  NaN for x <= 0, nu < 0 or NaN
 * arguments; +inf where it overflows (x tiny, nu large); 0 where it
 * underflows (x beyond about 700). */
double bessel_k(double nu, double x);

/* e^x K_nu(x): no underflow for large x (same domain as bessel_k). */
double bessel_k_scaled(double nu, double x);

/* The Matern correlation in M. Stein's parameterisation, as gstat's "Ste"
 * model: rho(h) = 2^(1-nu) / Gamma(nu) t^nu K_nu(t), t = 2 sqrt(nu) h / a,
 * for h >= 0, range a > 0 and 0 < nu <= 20 (krige.h's VGM_KAPPA_MAX);
 * rho(0) = 1.  Where t^nu K_nu(t) would overflow (t < 2 e^(-700/nu)),
 * 1 - rho is below 1e-30 for such nu and 1 is returned. */
double matern_corr(double nu, double h, double range);

/* matern_corr with its constant c = matern_const(nu) = 2^(1-nu) / Gamma(nu)
 * computed by the caller once per nu (the same value, bit for bit): the
 * tables (mtab.h) evaluate thousands of points of one nu. */
double matern_const(double nu);
double matern_corr_c(double nu, double c, double h, double range);

#endif

/* test_bessel.c - K_nu(x) and the Matern correlation against independent
 * references (TAP): the closed forms of half-integer orders, and for any
 * order the integral K_nu(x) = int_0^inf exp(-x cosh t) cosh(nu t) dt by
 * the trapezoidal rule, whose relative error for this entire, doubly
 * exponentially decaying integrand is about exp(x - pi^2 / step) (the
 * integrand grows like e^x half a period off the real axis): the step is
 * chosen so that this is below e^-80.
 * R's besselK is compared in tests/krige/bessel-r.test. */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include "bessel.h"
#include "mtab.h"
#include "tap.h"

/* e^x K_nu(x) by quadrature: exp(-x (cosh t - 1)) cosh(nu t), with
 * cosh t - 1 = 2 sinh^2(t/2) (no cancellation near t = 0). */
static double k_quad(double nu, double x)
{
	const double step = fmin(1.0 / 64.0, M_PI * M_PI / (x + 80.0));
	double sum = 0.5; /* t = 0: exp(0) cosh(0), halved */

	for (int i = 1; i < 1000000; i++) {
		double t = step * (double)i, f = exp(-2.0 * x * sinh(0.5 * t) * sinh(0.5 * t) + nu * t) * 0.5 * (1.0 + exp(-2.0 * nu * t));

		sum += f;
		if (f < sum * 1e-20)
			break;
	}
	return sum * step;
}

static double rel(double got, double want)
{
	return fabs(got - want) / fabs(want);
}

static void test_closed_forms(void)
{
	static const double xs[] = { 1e-8, 1e-3, 0.1, 0.5, 1.0, 1.999, 2.0, 2.001, 3.7, 10.0, 55.5, 300.0, 700.0 };
	double worst[3] = { 0 };

	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		double x = xs[i], base = sqrt(M_PI / (2.0 * x));

		worst[0] = fmax(worst[0], rel(bessel_k_scaled(0.5, x), base));
		worst[1] = fmax(worst[1], rel(bessel_k_scaled(1.5, x), base * (1.0 + 1.0 / x)));
		worst[2] = fmax(worst[2], rel(bessel_k_scaled(2.5, x), base * (1.0 + 3.0 / x + 3.0 / (x * x))));
		if (x <= 300.0)
			worst[0] = fmax(worst[0], rel(bessel_k(0.5, x), base * exp(-x)));
	}
	printf("# closed forms: max relative error K_1/2 %.3g, K_3/2 %.3g, K_5/2 %.3g\n", worst[0], worst[1],
	       worst[2]);
	tap_ok(worst[0] <= 1e-14, "K_1/2(x) = sqrt(pi / 2x) e^-x within 1e-14 relative");
	tap_ok(worst[1] <= 1e-14, "K_3/2(x) = sqrt(pi / 2x) e^-x (1 + 1/x) within 1e-14 relative");
	tap_ok(worst[2] <= 1e-14, "K_5/2(x) = sqrt(pi / 2x) e^-x (1 + 3/x + 3/x^2) within 1e-14 relative");
}

static void test_quadrature(void)
{
	static const double nus[] = { 0.0, 0.05, 0.2, 0.3, 0.45, 0.5, 0.55, 0.7, 1.0, 1.3, 1.5, 2.0, 2.45, 5.0,
				      7.25, 10.0, 20.0 };
	static const double xs[] = { 1e-6, 0.01, 0.1, 0.3, 0.77, 1.0, 1.5, 1.999, 2.0, 2.001, 2.5, 4.0, 8.0,
				     16.0, 40.0, 100.0, 650.0 };
	double worst = 0.0, wnu = 0, wx = 0;
	int bad = 0;

	for (size_t a = 0; a < sizeof(nus) / sizeof(nus[0]); a++)
		for (size_t b = 0; b < sizeof(xs) / sizeof(xs[0]); b++) {
			double want = k_quad(nus[a], xs[b]), got = bessel_k_scaled(nus[a], xs[b]);
			double r = rel(got, want);

			if (!(r <= 1e-13)) {
				bad++;
				printf("# nu %g x %g: got %.17g want %.17g (rel %.3g)\n", nus[a], xs[b], got, want, r);
			}
			if (r > worst) {
				worst = r;
				wnu = nus[a];
				wx = xs[b];
			}
		}
	printf("# quadrature: max relative error %.3g at nu %g x %g\n", worst, wnu, wx);
	tap_ok(bad == 0, "e^x K_nu(x) agrees with the integral within 1e-13 at %zu (nu, x)",
	       sizeof(nus) / sizeof(nus[0]) * sizeof(xs) / sizeof(xs[0]));
	tap_ok(rel(bessel_k(1.3, 4.0), exp(-4.0) * bessel_k_scaled(1.3, 4.0)) <= 1e-15 &&
		       rel(bessel_k(0.2, 0.5), exp(-0.5) * bessel_k_scaled(0.2, 0.5)) <= 1e-15,
	       "bessel_k = e^-x bessel_k_scaled");
}

static void test_domain(void)
{
	tap_ok(isnan(bessel_k(1.0, 0.0)) && isnan(bessel_k(1.0, -1.0)) && isnan(bessel_k(-0.5, 1.0)) &&
		       isnan(bessel_k(NAN, 1.0)) && isnan(bessel_k(1.0, NAN)),
	       "NaN outside nu >= 0, x > 0");
	tap_ok(bessel_k(0.5, 800.0) == 0.0, "K underflows to 0 at x = 800");
	tap_ok(isinf(bessel_k(20.0, 1e-20)), "K_20(1e-20) overflows to +inf");
}

/* The correlation: closed forms for nu = 1/2 (exponential with range
 * a / sqrt(2)... in Stein's scaling t = 2 sqrt(nu) h / a) and nu = 3/2. */
static void test_matern(void)
{
	double worst = 0.0;

	for (double h = 1.0; h < 1e5; h *= 1.7) {
		double a = 1000.0, t1 = 2.0 * sqrt(0.5) * h / a, t3 = 2.0 * sqrt(1.5) * h / a;

		worst = fmax(worst, fabs(matern_corr(0.5, h, a) - exp(-t1)));
		worst = fmax(worst, fabs(matern_corr(1.5, h, a) - (1.0 + t3) * exp(-t3)));
	}
	printf("# matern_corr: max absolute error at nu 1/2, 3/2: %.3g\n", worst);
	tap_ok(worst <= 1e-15, "matern_corr at nu 1/2 and 3/2 equals the closed forms within 1e-15");
	tap_ok(matern_corr(2.0, 0.0, 10.0) == 1.0, "rho(0) = 1");
	tap_ok(matern_corr(20.0, 1e-20, 10.0) == 1.0 && matern_corr(0.05, 1e-20, 10.0) < 1.0,
	       "rho -> 1 without overflow at tiny distances");
	tap_ok(matern_corr(0.05, 1e9, 10.0) == 0.0 && matern_corr(10.0, 5e5, 1.0) == 0.0, "rho -> 0 far away");
}

/* The piecewise table of one kappa against the exact correlation. */
static void test_mtab(void)
{
	static const double kappas[] = { 0.05, 0.2, 0.5, 0.7, 1.2, 2.0, 5.0, 10.0, 20.0 };
	double worst = 0.0, wk = 0, wh = 0;
	int built = 1;

	for (size_t i = 0; i < sizeof(kappas) / sizeof(kappas[0]); i++) {
		struct mtab *t = mtab_new(kappas[i], 3000.0);

		if (!t) {
			built = 0;
			continue;
		}
		for (double h = 0.001; h < 2e6; h *= 1.0137) {
			double d = fabs(mtab_corr(t, h) - matern_corr(kappas[i], h, 3000.0));

			if (d > worst) {
				worst = d;
				wk = kappas[i];
				wh = h;
			}
		}
		if (mtab_corr(t, 0.0) != 1.0)
			built = 0;
		mtab_free(t);
	}
	printf("# mtab: max absolute error %.3g at kappa %g h %g (range 3000)\n", worst, wk, wh);
	tap_ok(built, "tables built, rho(0) = 1");
	tap_ok(worst <= 1e-14, "the table is within 1e-14 of the exact matern correlation from 1 mm to 2000 km");
}

/* The lazily filled table in t: every kappa of the automatic choice and
 * the largest, t from 1e-10 (below its first piece) to 100 (beyond its
 * last), kappas interleaved so a table that kept another kappa's pieces
 * would be caught. */
static void test_mtab_lazy(void)
{
	static const double kappas[] = { 0.05, 0.2, 0.5, 0.7, 1.2, 1.8, 2.0, 5.0, 10.0, 20.0 };
	struct mtab_lazy *t = mtab_lazy_new();
	double worst = 0.0, wk = 0, wt = 0;

	if (!t) {
		tap_ok(0, "lazy table allocated");
		return;
	}
	for (double x = 1e-10; x < 100.0; x *= 1.0123) {
		for (size_t i = 0; i < sizeof(kappas) / sizeof(kappas[0]); i++) {
			double k = kappas[i], d = fabs(mtab_lazy_rho(t, k, x) - matern_corr(k, x, 2.0 * sqrt(k)));

			if (d > worst) {
				worst = d;
				wk = k;
				wt = x;
			}
		}
	}
	printf("# mtab_lazy: max absolute error %.3g at kappa %g t %g\n", worst, wk, wt);
	tap_ok(worst <= 1e-14, "the lazy table is within 1e-14 of the exact matern correlation for t in [1e-10, 100]");
	tap_ok(mtab_lazy_rho(t, 1.5, 0.0) == 1.0, "lazy table: rho(0) = 1");
	mtab_lazy_free(t);
}

int main(void)
{
	test_closed_forms();
	test_quadrature();
	test_domain();
	test_matern();
	test_mtab();
	test_mtab_lazy();
	return tap_done();
}

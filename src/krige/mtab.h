/* mtab.h - the matern correlation of one kappa as piecewise Chebyshev
 * series, for the per-cell work of global kriging (internal to src/krige).
 *
 * K_nu by series or continued fraction costs a few hundred nanoseconds;
 * a grid of a million cells times the stations cannot afford it.  The
 * table holds rho(t) (bessel.h, t = 2 sqrt(kappa) h / range) on dyadic
 * pieces [2^-10, 1) and pieces of width 1/2 from 1 to where rho < 1e-18,
 * degree 22 each: a few 1e-15 from matern_corr, most of it that
 * function's own rounding at the fitted points (tests/krige/test_bessel.c
 * checks 1e-14).  Below 2^-10 the exact function is used, beyond the last
 * piece 0. */
#ifndef KD_MTAB_H
#define KD_MTAB_H

struct mtab;

/* A table for kappa (0 < kappa <= VGM_KAPPA_MAX) and range (> 0): NULL
 * only without memory.  Owned by the caller; mtab_free(NULL) is a no-op. */
struct mtab *mtab_new(double kappa, double range);
void mtab_free(struct mtab *t);

/* rho(h) for h >= 0, within 1e-14 of matern_corr(kappa, h, range). */
double mtab_corr(const struct mtab *t, double h);

/* The same series in t itself, each piece fitted when first asked for:
 * the variogram fit asks for up to some 10^4 distinct t per kappa (ranges
 * change every iteration), so it pays for the pieces it visits (23 Bessel
 * evaluations each, 5-10 pieces a kappa) instead of one per call.
 * Dyadic pieces from t = 2^-30 to 64 (36 in all), the exact function
 * outside.  One owner at a time (it writes on reads); NULL only
 * without memory; mtab_lazy_free(NULL) is a no-op. */
struct mtab_lazy;

struct mtab_lazy *mtab_lazy_new(void);
void mtab_lazy_free(struct mtab_lazy *t);

/* rho at t = x >= 0 for kappa (0 < kappa <= VGM_KAPPA_MAX), within a few
 * 1e-15 of matern_corr(kappa, x, 2 sqrt(kappa)) (whose own rounding at the
 * fitted points is most of that; tests/krige/test_bessel.c checks 1e-14);
 * a kappa other than the last one asked for forgets the fitted pieces. */
double mtab_lazy_rho(struct mtab_lazy *t, double kappa, double x);

#endif

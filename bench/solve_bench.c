/* solve_bench.c - time the global kriging system's set-up (covariance
 * matrix, factorisation, condition estimate, dual weights: krige_new with
 * the variance's factor kept) for N stations, best of 3, and say which
 * factorisation ran (chol_global_name: LAPACK's dpotrf and its OpenBLAS
 * core, or our own).  bench/krige.sh runs it with and without
 * KRIGD_LAPACK=off and prints the ratio.  Usage: solve_bench [N [NUGGET]]
 * (2000 stations, nugget 20 of a sill of 420 by default).  Output: "solve N
 * SECONDS NAME"; on stderr the first solve's time (cold pages). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "error.h"
#include "krige.h"
#include "linalg.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2000;
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double)), *z = malloc(n * sizeof(double));
	double best = INFINITY, first = 0.0;
	unsigned long r = 2024;
	/* argv[2]: the nugget (0 makes the condition estimate run) */
	struct variogram v = { VGM_EXPONENTIAL, argc > 2 ? strtod(argv[2], NULL) : 20.0, 400.0, 8000.0, 0 };
	struct stations s;
	struct error e = { 0 };

	if (!x || !y || !z || n < 1)
		return 1;
	for (size_t i = 0; i < n; i++) {
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		x[i] = (double)(r >> 33) / (double)(1UL << 31) * 25000.0;
		r = r * 6364136223846793005UL + 1442695040888963407UL;
		y[i] = (double)(r >> 33) / (double)(1UL << 31) * 20000.0;
		z[i] = 45 + 25 * sin(x[i] / 3000) * cos(y[i] / 2500);
	}
	if (stations_clean(&s, x, y, z, n, &e))
		return 1;
	for (int k = 0; k < 3; k++) {
		struct krige *kr = NULL;
		double t0 = now();

		if (krige_new(&kr, &v, &s, 1, &e)) {
			fprintf(stderr, "krige_new: %s\n", e.msg);
			return 1;
		}
		if (k == 0) /* the cold one: the matrix's pages first touched */
			first = now() - t0;
		best = fmin(best, now() - t0);
		krige_free(kr);
	}
	printf("solve %zu %.6f %s\n", s.n, best, chol_global_name());
	fprintf(stderr, "first solve of the process (its pages untouched): %.6f s\n", first);
	stations_release(&s);
	free(x);
	free(y);
	free(z);
	return 0;
}

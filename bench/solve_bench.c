/* solve_bench.c - time the global kriging system's set-up (covariance
 * matrix, factorisation, condition estimate, dual weights: krige_open with
 * the variance's factor kept) for N stations, and say which factorisation
 * ran (chol_global_name: LAPACK's dpotrf and its OpenBLAS core, or our
 * own).  bench/krige.sh runs it with and without KRIGD_LAPACK=off and
 * prints the ratio.  Usage: solve_bench [N [NUGGET [THREADS [ROUNDS]]]]
 * (2000 stations, nugget 20 of a sill of 420, THREADS "1,2": a comma list
 * of thread counts for the factorisation, ROUNDS 5 by default).  Each
 * round solves once with every thread count, in turn (alternating the
 * order, so a shared machine's load falls on all of them alike); the best
 * of the rounds per count is printed.  Output: "solve N SECONDS NAME
 * threads T" per count, then with several counts "ratio T1/T: R" (the
 * first count's time over each other's); on stderr the first solve's time
 * (cold pages). */
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

#define MAX_COUNTS 16

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2000;
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double)), *z = malloc(n * sizeof(double));
	double best[MAX_COUNTS], first = 0.0;
	int threads[MAX_COUNTS], counts = 0, rounds = argc > 4 ? atoi(argv[4]) : 5;
	const char *list = argc > 3 ? argv[3] : "1,2";
	unsigned long r = 2024;
	/* argv[2]: the nugget (0 makes the condition estimate run) */
	struct variogram v = { VGM_EXPONENTIAL, argc > 2 ? strtod(argv[2], NULL) : 20.0, 400.0, 8000.0, 0 };
	struct stations s;
	struct error e = { 0 };

	for (char *end; *list && counts < MAX_COUNTS; list = *end ? end + 1 : end) {
		long t = strtol(list, &end, 10);

		if (end == list || t < 1 || (*end && *end != ','))
			return fprintf(stderr, "solve_bench: THREADS is a comma list of counts >= 1\n"), 1;
		best[counts] = INFINITY;
		threads[counts++] = (int)t;
	}
	if (!x || !y || !z || n < 1 || counts < 1 || rounds < 1)
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
	for (int k = 0; k < rounds; k++) {
		for (int c = 0; c < counts; c++) {
			int i = k % 2 ? counts - 1 - c : c;
			struct krige_opts o = { 1, 0, 0, INFINITY, threads[i] };
			struct krige *kr = NULL;
			double t0 = now();

			if (krige_open(&kr, &v, &s, &o, &e)) {
				fprintf(stderr, "krige_open: %s\n", e.msg);
				return 1;
			}
			if (k == 0 && c == 0) /* the cold one: the matrix's pages first touched */
				first = now() - t0;
			best[i] = fmin(best[i], now() - t0);
			krige_free(kr);
		}
	}
	for (int c = 0; c < counts; c++)
		printf("solve %zu %.6f %s threads %d\n", s.n, best[c], chol_global_name(), threads[c]);
	for (int c = 1; c < counts; c++)
		printf("ratio %d/%d: %.2f\n", threads[0], threads[c], best[0] / best[c]);
	fprintf(stderr, "first solve of the process (its pages untouched): %.6f s\n", first);
	stations_release(&s);
	free(x);
	free(y);
	free(z);
	return 0;
}

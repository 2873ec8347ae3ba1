/* peak_bench.c - what this machine's cores can do in double precision, as
 * a ceiling for the kernels' figures (bench/krige.sh): OpenBLAS's dgemm on
 * square matrices of order N (default 2048), 2 N^3 flops, on 1 thread and
 * on THREADS (default 2), best of ROUNDS (default 3) each.  dgemm is the
 * best-tuned code the machine has; what it reaches is taken as the most
 * any kernel could.  Usage: peak_bench [N [THREADS [ROUNDS]]].  Output:
 * "peak T GFLOPS CORE" per thread count (CORE: openblas_get_corename(),
 * which OPENBLAS_CORETYPE can force), or "peak none" in a build without
 * LAPACK/BLAS. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef HAVE_LAPACK
#include <cblas.h>

void openblas_set_num_threads(int n);
char *openblas_get_corename(void);

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 2048, threads = argc > 2 ? atoi(argv[2]) : 2;
	int rounds = argc > 3 ? atoi(argv[3]) : 3;
	size_t nn;
	double *a, *b, *c;

	if (n < 64 || n > 8192 || threads < 1 || threads > 256 || rounds < 1) {
		fprintf(stderr, "usage: peak_bench [N (64..8192) [THREADS [ROUNDS]]]\n");
		return 2;
	}
	nn = (size_t)n * (size_t)n;
	a = malloc(nn * sizeof(double));
	b = malloc(nn * sizeof(double));
	c = calloc(nn, sizeof(double));
	if (!a || !b || !c) {
		fprintf(stderr, "peak_bench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < nn; i++) {
		a[i] = (double)(i % 97) / 97.0 - 0.5;
		b[i] = (double)(i % 89) / 89.0 - 0.5;
	}
	for (int t = 1; t <= threads; t = t < threads ? threads : threads + 1) {
		double best = 1e30;

		openblas_set_num_threads(t);
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n); /* warm */
		for (int r = 0; r < rounds; r++) {
			double t0 = now(), dt;

			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
			dt = now() - t0;
			best = dt < best ? dt : best;
		}
		printf("peak %d %.1f %s\n", t, 2.0 * n * (double)n * n / best / 1e9, openblas_get_corename());
	}
	free(a);
	free(b);
	free(c);
	return 0;
}
#else
int main(void)
{
	puts("peak none");
	return 0;
}
#endif

/* krige_bench.c - our side of bench/krige.sh (not installed).
 *
 *   krige_bench BOUNDARY.geojson OUTDIR
 *
 * Over the boundary's grids of width 256 and 1000 (cells inside only), with
 * N = 20, 100, 500 random stations (fixed seed) and the three models at a
 * fixed variogram, times krige_grid for each kernel path and thread count,
 * prediction alone and prediction + variance, and prints one line per run:
 *   run MODEL N WIDTH CELLS PATH THREADS pred|predvar SECONDS
 * Slow combinations run on fewer cells and are marked by CELLS (the script
 * reports cells per second, so they compare per cell).  It also prints
 *   exp PATH NS_PER_VALUE MAX_ULP
 * for each path's exp against libm (and SLEEF's 1-ulp AVX2 / AVX-512 exp,
 * the library the issue names, when configure found libsleef-dev), and
 * writes the data the peers read:
 * OUTDIR/st.N (x y z, metres), OUTDIR/cells.W (x y of inside cells), and
 * OUTDIR/ring.W (the boundary's rings in metres, for kriging.js's grid). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boundary.h"
#include "error.h"
#include "kernel.h"
#include "krige.h"
#include "raster.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static double urand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static const char *const paths[] = { "scalar", "portable", "avx2", "avx512" };

/* Seconds for one krige_grid, the best of reps. */
static double time_grid(struct krige *k, const struct grid *g, double *val, double *var, int threads, int reps)
{
	struct error e = { 0 };
	double best = INFINITY;

	for (int r = 0; r < reps; r++) {
		double t0 = now();

		if (krige_grid(k, g, val, var, threads, &e)) {
			fprintf(stderr, "krige_grid: %s\n", e.msg);
			exit(1);
		}
		best = fmin(best, now() - t0);
	}
	return best;
}

/* The first rows of g holding about max cells: a smaller case of the same
 * grid for the slow runs (the row spans are shared, height cut). */
static struct grid cut(const struct grid *g, size_t max)
{
	struct grid c = *g;
	int r = 0;

	/* Rows from the middle down, so the cut is a typical part. */
	c.ncells = 0;
	c.row_span = g->row_span;
	for (r = 0; r < g->height && c.ncells < max; r++) {
		for (size_t s = g->row_span[r]; s < g->row_span[r + 1]; s++)
			c.ncells += (size_t)(g->span[s].c1 - g->span[s].c0);
	}
	c.height = r;
	return c;
}

static void write_cells(const char *dir, const struct grid *g, int w)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/cells.%d", dir, w);
	f = fopen(p, "w");
	if (!f)
		return;
	for (int r = 0; r < g->height; r++)
		for (size_t s = g->row_span[r]; s < g->row_span[r + 1]; s++)
			for (int c = g->span[s].c0; c < g->span[s].c1; c++)
				fprintf(f, "%.10g %.10g\n", grid_x(g, grid_lon(g, c)), grid_y(g, grid_lat(g, r)));
	fclose(f);
}

static void write_rings(const char *dir, const struct boundary *b, const struct grid *g)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/rings", dir);
	f = fopen(p, "w");
	if (!f)
		return;
	for (size_t i = 0; i < b->nrings; i++) {
		fprintf(f, "ring %zu\n", b->rings[i].n);
		for (size_t j = 0; j < b->rings[i].n; j++)
			fprintf(f, "%.10g %.10g\n", grid_x(g, b->rings[i].pt[2 * j]), grid_y(g, b->rings[i].pt[2 * j + 1]));
	}
	fclose(f);
}

#if defined(HAVE_SLEEF) && defined(KD_SIMD_X86)
#include <immintrin.h>
#define BENCH_SLEEF 1
/* sleef.h declares its vector functions only when the file is compiled for
 * their instruction set; the bench needs two, declared and called inside
 * the target region so the vector ABI matches. */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
extern __m256d Sleef_expd4_u10avx2(__m256d);
static void sleef_exp_avx2(const double *x, double *y, size_t n)
{
	size_t i = 0;

	for (; i + 4 <= n; i += 4)
		_mm256_storeu_pd(y + i, Sleef_expd4_u10avx2(_mm256_loadu_pd(x + i)));
	for (; i < n; i++)
		y[i] = exp(x[i]);
}
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx512f")
extern __m512d Sleef_expd8_u10avx512f(__m512d);
static void sleef_exp_avx512(const double *x, double *y, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm512_storeu_pd(y + i, Sleef_expd8_u10avx512f(_mm512_loadu_pd(x + i)));
	for (; i < n; i++)
		y[i] = exp(x[i]);
}
#pragma GCC pop_options
#endif

static double ulp_err(double got, double want)
{
	int ex;

	if (got == want)
		return 0;
	frexp(want, &ex);
	return fabs(got - want) / ldexp(1.0, ex - 53);
}

/* One "exp NAME NS MAX_ULP" line: fn over x (n values), timed over reps,
 * its worst error against glibc's exp. */
static void time_exp(const char *name, void (*fn)(const double *, double *, size_t), const double *x, double *y,
		     size_t n)
{
	static volatile double sink;
	double t0, t, worst = 0;
	int reps = 200;

	t0 = now();
	for (int r = 0; r < reps; r++) {
		fn(x, y, n);
		sink += y[r]; /* the calls must not be optimised away */
	}
	t = now() - t0;
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, ulp_err(y[i], exp(x[i])));
	printf("exp %s %.3f %.2f\n", name, t / reps / n * 1e9, worst);
}

static void bench_exp(void)
{
	size_t n = 1 << 16;
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double));

	for (size_t i = 0; i < n; i++)
		x[i] = -708.0 * urand();
	for (size_t p = 0; p < 4; p++) {
		const struct kernel_ops *ops = kernel_get(paths[p]);

		if (ops)
			time_exp(strcmp(paths[p], "scalar") ? paths[p] : "libm", ops->vexp, x, y, n);
	}
#ifdef BENCH_SLEEF
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		time_exp("sleef-avx2", sleef_exp_avx2, x, y, n);
	if (__builtin_cpu_supports("avx512f"))
		time_exp("sleef-avx512", sleef_exp_avx512, x, y, n);
#else
	printf("# SLEEF not built in (libsleef-dev missing at configure)\n");
#endif
	free(x);
	free(y);
}

int main(int argc, char **argv)
{
	struct boundary b = BOUNDARY_INIT;
	struct grid grids[2];
	int widths[2] = { 256, 1000 };
	size_t ns[3] = { 20, 100, 500 };
	enum vgm_model models[3] = { VGM_EXPONENTIAL, VGM_GAUSSIAN, VGM_SPHERICAL };
	struct error e = { 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double w_m, h_m;

	if (argc != 3) {
		fprintf(stderr, "usage: krige_bench BOUNDARY.geojson OUTDIR\n");
		return 2;
	}
	if (boundary_from_file(&b, argv[1], &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	for (int gi = 0; gi < 2; gi++) {
		if (grid_init(&grids[gi], &b, widths[gi], 4000000, &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
		printf("grid %d %d %zu %.10g\n", widths[gi], grids[gi].height, grids[gi].ncells,
		       grids[gi].dx * grids[gi].kx);
		write_cells(argv[2], &grids[gi], widths[gi]);
	}
	write_rings(argv[2], &b, &grids[0]);
	w_m = (b.east - b.west) * grids[0].kx;
	h_m = (b.north - b.south) * grids[0].ky;
	printf("variogram 20 400 %.10g\n", w_m / 3);
	bench_exp();
	fflush(stdout);
	for (int ni = 0; ni < 3; ni++) {
		size_t n = ns[ni];
		double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double)), *z = malloc(n * sizeof(double));
		struct stations s;
		char p[512];
		FILE *f;

		for (size_t i = 0; i < n; i++) {
			x[i] = (urand() - 0.5) * w_m;
			y[i] = (urand() - 0.5) * h_m;
			z[i] = 45 + 25 * sin(x[i] / 3000) * cos(y[i] / 2500) + 8 * urand();
		}
		snprintf(p, sizeof(p), "%s/st.%zu", argv[2], n);
		if ((f = fopen(p, "w"))) {
			for (size_t i = 0; i < n; i++)
				fprintf(f, "%.10g %.10g %.10g\n", x[i], y[i], z[i]);
			fclose(f);
		}
		stations_clean(&s, x, y, z, n, &e);
		for (int mi = 0; mi < 3; mi++) {
			/* The variogram the peers get too: a third of the width,
			 * sill 400, a nugget of 5 % (so the gaussian is solvable). */
			struct variogram v = { models[mi], 20.0, 400.0, w_m / 3, 0 };
			struct krige *k = NULL;

			if (krige_new(&k, &v, &s, 1, &e)) {
				fprintf(stderr, "krige_new: %s\n", e.msg);
				return 1;
			}
			for (int gi = 0; gi < 2; gi++) {
				size_t cells = (size_t)grids[gi].width * grids[gi].height;
				double *val = malloc(cells * sizeof(double)), *var = malloc(cells * sizeof(double));

				for (size_t pi = 0; pi < 4; pi++) {
					struct grid g = grids[gi];

					if (krige_set_kernel(k, paths[pi], &e))
						continue;
					/* scalar and portable only on the small grid (scalar cut for N = 500). */
					if (pi <= 1 && gi == 1)
						continue;
					if (pi == 0 && n == 500)
						g = cut(&grids[gi], 20000);
					for (int t = 1; t <= ncpu; t++) {
						double sp = time_grid(k, &g, val, NULL, t, gi ? 1 : 3);
						struct grid gv = g;

						printf("run %s %zu %d %zu %s %d pred %.6f\n", vgm_model_name(models[mi]), n,
						       widths[gi], g.ncells, paths[pi], t, sp);
						/* Variance is O(N^2) per cell: N = 500 on part of the grid. */
						if (n == 500)
							gv = cut(&g, pi == 0 ? 5000 : 60000);
						if (pi == 0 && n == 100)
							gv = cut(&g, 20000);
						if (pi == 1 && n == 500)
							gv = cut(&g, 20000);
						sp = time_grid(k, &gv, val, var, t, 1);
						printf("run %s %zu %d %zu %s %d predvar %.6f\n", vgm_model_name(models[mi]), n,
						       widths[gi], gv.ncells, paths[pi], t, sp);
						fflush(stdout);
					}
				}
				free(val);
				free(var);
			}
			krige_free(k);
		}
		stations_release(&s);
		free(x);
		free(y);
		free(z);
	}
	for (int gi = 0; gi < 2; gi++)
		grid_release(&grids[gi]);
	boundary_release(&b);
	return 0;
}

/* local_bench.c - local-neighbourhood kriging speed (bench/local.sh).
 *
 * usage: local_bench BOUNDARY.geojson OUTDIR [N ...]
 * The grid is the boundary's at width 1000.  For each N (default 10000)
 * stations spread over the boundary's box (fixed seed), with nugget 20,
 * psill 400, range a tenth of the box width (exponential):
 *   local  N nmax threads cells seconds cpu_seconds  (krige_open +
 *                                         krige_grid, prediction and variance,
 *                                         nmax 32; cpu: the process's CPU time;
 *                                         the fastest of LOCAL_BENCH_REPS runs,
 *                                         default 3)
 *   cv     N nmax seconds                 (krige_cv, leave-one-out)
 *   global N cells seconds_pred seconds_cv (N <= 3000: krige_open +
 *                                         krige_grid prediction only, and krige_cv)
 * and writes OUTDIR/st.N (x y z) and OUTDIR/cells (x y of every 10th
 * inside cell) for gstat, plus the variogram as "variogram NUG PSILL RANGE".
 * With LOCAL_BENCH_THREADS=T only the local line of T threads (local.sh's
 * runs paired with gstat's). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "boundary.h"
#include "error.h"
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
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void write_cells(const char *dir, const struct grid *g)
{
	char p[512];
	FILE *f;
	size_t k = 0;

	snprintf(p, sizeof(p), "%s/cells", dir);
	if (!(f = fopen(p, "w")))
		return;
	for (int r = 0; r < g->height; r++)
		for (size_t s = g->row_span[r]; s < g->row_span[r + 1]; s++)
			for (int c = g->span[s].c0; c < g->span[s].c1; c++)
				if (k++ % 10 == 0)
					fprintf(f, "%.10g %.10g\n", grid_x(g, grid_lon(g, c)), grid_y(g, grid_lat(g, r)));
	fclose(f);
}

static int run(const char *dir, const struct grid *g, size_t n, double w_m, double h_m, long ncpu, int reps)
{
	double *x = malloc(n * sizeof(double)), *y = malloc(n * sizeof(double)), *z = malloc(n * sizeof(double));
	size_t cells = (size_t)g->width * g->height;
	double *val = malloc(cells * sizeof(double)), *var = malloc(cells * sizeof(double)), t0;
	struct variogram v = { VGM_EXPONENTIAL, 20.0, 400.0, w_m / 10, 0 };
	struct krige_opts lo = { 1, 1, 32, INFINITY, 1 }, go = { 0, 1, 0, INFINITY, 1 };
	long only = getenv("LOCAL_BENCH_THREADS") ? atol(getenv("LOCAL_BENCH_THREADS")) : 0;
	struct stations s;
	struct krige *k = NULL;
	struct krige_cv cv;
	struct error e = { 0 };
	char p[512];
	FILE *f;

	only = only < 0 ? 0 : only;
	for (size_t i = 0; i < n; i++) {
		x[i] = (urand() - 0.5) * w_m;
		y[i] = (urand() - 0.5) * h_m;
		z[i] = 45 + 25 * sin(x[i] / 3000) * cos(y[i] / 2500) + 8 * urand();
	}
	snprintf(p, sizeof(p), "%s/st.%zu", dir, n);
	if ((f = fopen(p, "w"))) {
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%.10g %.10g %.10g\n", x[i], y[i], z[i]);
		fclose(f);
	}
	stations_clean(&s, x, y, z, n, &e);
	for (long t = only ? only : 1; t <= (only ? only : ncpu); t = t < ncpu && 2 * t > ncpu ? ncpu : 2 * t) {
		double best = INFINITY, bcpu = 0;

		/* the fastest of reps runs: the one a shared machine disturbed
		 * least (local.sh takes gstat's fastest too) */
		for (int r = 0; r < reps; r++) {
			double c0 = cpu(), wall;

			krige_free(k);
			k = NULL;
			t0 = now();
			if (krige_open(&k, &v, &s, &lo, &e) || krige_grid(k, g, val, var, (int)t, &e))
				return fprintf(stderr, "local: %s\n", e.msg), 1;
			wall = now() - t0;
			if (wall < best) {
				best = wall;
				bcpu = cpu() - c0;
			}
		}
		printf("local %zu 32 %ld %zu %.6f %.6f\n", n, t, g->ncells, best, bcpu);
		fflush(stdout);
		if (t == 1 && !only) {
			t0 = now();
			if (krige_cv(k, (int)ncpu, NULL, NULL, &cv, &e))
				return fprintf(stderr, "cv: %s\n", e.msg), 1;
			printf("cv %zu 32 %.6f\n", n, now() - t0);
		}
		krige_free(k);
		k = NULL;
	}
	if (n <= 3000 && !only) {
		double tp;

		t0 = now();
		if (krige_open(&k, &v, &s, &go, &e) || krige_grid(k, g, val, NULL, 1, &e))
			return fprintf(stderr, "global: %s\n", e.msg), 1;
		tp = now() - t0;
		t0 = now();
		if (krige_cv(k, (int)ncpu, NULL, NULL, &cv, &e))
			return fprintf(stderr, "global cv: %s\n", e.msg), 1;
		printf("global %zu %zu %.6f %.6f\n", n, g->ncells, tp, now() - t0);
		krige_free(k);
	}
	stations_release(&s);
	free(x);
	free(y);
	free(z);
	free(val);
	free(var);
	return 0;
}

int main(int argc, char **argv)
{
	struct boundary b = BOUNDARY_INIT;
	struct grid g;
	struct error e = { 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double w_m, h_m;
	int reps;

	if (argc < 3) {
		fprintf(stderr, "usage: local_bench BOUNDARY.geojson OUTDIR [N ...]\n");
		return 2;
	}
	if (boundary_from_file(&b, argv[1], &e) || grid_init(&g, &b, 1000, 4000000, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	write_cells(argv[2], &g);
	w_m = (b.east - b.west) * g.kx;
	h_m = (b.north - b.south) * g.ky;
	printf("variogram 20 400 %.10g\n", w_m / 10);
	fflush(stdout);
	reps = getenv("LOCAL_BENCH_REPS") ? atoi(getenv("LOCAL_BENCH_REPS")) : 3;
	reps = reps < 1 ? 1 : reps;
	for (int i = 3; i <= argc; i++)
		if ((i < argc || argc == 3) &&
		    run(argv[2], &g, i < argc ? strtoul(argv[i], NULL, 10) : 10000, w_m, h_m, ncpu, reps))
			return 1;
	grid_release(&g);
	boundary_release(&b);
	return 0;
}

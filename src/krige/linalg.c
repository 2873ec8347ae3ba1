/* linalg.c - Cholesky, LU and condition estimates (see linalg.h). */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linalg.h"

/* Count work and ask stop once LINALG_STOP_WORK multiply-adds went by. */
static int stopped(double *work, double more, linalg_stop_fn stop, void *ctx)
{
	if (!stop || (*work += more) < LINALG_STOP_WORK)
		return 0;
	*work = 0.0;
	return stop(ctx) != 0;
}

int chol_factor(double *a, size_t n)
{
	return chol_factor_until(a, n, NULL, NULL);
}

int chol_factor_until(double *a, size_t n, linalg_stop_fn stop, void *ctx)
{
	double work = 0.0;

	for (size_t j = 0; j < n; j++) {
		double *rj = a + j * n;
		double d = rj[j];

		if (stopped(&work, (double)(n - j) * (double)(j + 1), stop, ctx))
			return LINALG_STOPPED;

		for (size_t k = 0; k < j; k++)
			d -= rj[k] * rj[k];
		/* Not positive (or NaN): the matrix is not positive definite. */
		if (!(d > 0.0))
			return -1;
		d = sqrt(d);
		rj[j] = d;
		for (size_t i = j + 1; i < n; i++) {
			double *ri = a + i * n;
			double s = ri[j];

			for (size_t k = 0; k < j; k++)
				s -= ri[k] * rj[k];
			ri[j] = s / d;
		}
		for (size_t k = j + 1; k < n; k++)
			rj[k] = 0.0;
	}
	return 0;
}

/* sum x_k y_k in four interleaved partial sums (a fixed order, so the
 * same bits every time; independent chains run in parallel). */
static double dot4(const double *x, const double *y, size_t n)
{
	double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
	size_t k = 0;

	for (; k + 4 <= n; k += 4) {
		s0 += x[k] * y[k];
		s1 += x[k + 1] * y[k + 1];
		s2 += x[k + 2] * y[k + 2];
		s3 += x[k + 3] * y[k + 3];
	}
	for (; k < n; k++)
		s0 += x[k] * y[k];
	return (s0 + s1) + (s2 + s3);
}

int chol_factor_rows(double *a, size_t n, size_t p)
{
	return chol_factor_rows_until(a, n, p, NULL, NULL);
}

int chol_factor_rows_until(double *a, size_t n, size_t p, linalg_stop_fn stop, void *ctx)
{
	double work = 0.0;

	for (size_t i = p; i < n; i++) {
		double *ri = a + i * n, d;

		if (stopped(&work, (double)i * (double)(i + 1) / 2.0, stop, ctx))
			return LINALG_STOPPED;

		for (size_t j = 0; j < i; j++) {
			const double *rj = a + j * n;

			ri[j] = (ri[j] - dot4(ri, rj, j)) / rj[j];
		}
		d = ri[i] - dot4(ri, ri, i);
		if (!(d > 0.0))
			return -1;
		ri[i] = sqrt(d);
		for (size_t k = i + 1; k < n; k++)
			ri[k] = 0.0;
	}
	return 0;
}

void chol_forward(const double *l, size_t n, const double *b, double *x)
{
	for (size_t i = 0; i < n; i++) {
		const double *ri = l + i * n;
		double s = b[i];

		for (size_t k = 0; k < i; k++)
			s -= ri[k] * x[k];
		x[i] = s / ri[i];
	}
}

void chol_backward(const double *l, size_t n, const double *b, double *x)
{
	if (x != b)
		memcpy(x, b, n * sizeof(*x));
	/* Column-oriented so that L is read row by row (cache friendly). */
	for (size_t i = n; i-- > 0;) {
		const double *ri = l + i * n;

		x[i] /= ri[i];
		for (size_t k = 0; k < i; k++)
			x[k] -= ri[k] * x[i];
	}
}

double mat_norm1(const double *a, size_t n)
{
	double best = 0.0;

	for (size_t j = 0; j < n; j++) {
		double s = 0.0;

		for (size_t i = 0; i < n; i++)
			s += fabs(a[i * n + j]);
		if (s > best)
			best = s;
	}
	return best;
}

/* Hager's estimate of ||A^-1||_1 given solvers for A and A^T, improved by
 * Higham's alternating-sign test vector (as LAPACK's dlacon does). */
typedef void (*solve_fn)(const void *ctx, double *b);

static double norm1_inverse(const void *ctx, solve_fn solve, solve_fn solve_t, size_t n, double *work)
{
	double *x = work, *xi = work + n, *alt = work + 2 * n;
	double est = 0.0, alt_est = 0.0;
	size_t jlast = (size_t)-1;

	if (n == 0)
		return 0.0;
	for (size_t i = 0; i < n; i++)
		x[i] = 1.0 / (double)n;
	for (int iter = 0; iter < 5; iter++) {
		double e = 0.0, zmax = -1.0;
		size_t j = 0;

		solve(ctx, x);
		for (size_t i = 0; i < n; i++)
			e += fabs(x[i]);
		if (!isfinite(e))
			return INFINITY;
		if (iter > 0 && e <= est)
			break;
		est = e;
		for (size_t i = 0; i < n; i++)
			xi[i] = x[i] >= 0.0 ? 1.0 : -1.0;
		solve_t(ctx, xi);
		for (size_t i = 0; i < n; i++) {
			if (fabs(xi[i]) > zmax) {
				zmax = fabs(xi[i]);
				j = i;
			}
		}
		/* Converged when the gradient points back to the vertex e_jlast
		 * we just tried (Hager: ||z||_inf <= z^T x). */
		if (iter > 0 && (j == jlast || zmax <= xi[jlast]))
			break;
		jlast = j;
		memset(x, 0, n * sizeof(*x));
		x[j] = 1.0;
	}
	for (size_t i = 0; i < n; i++)
		alt[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + (n > 1 ? (double)i / (double)(n - 1) : 0.0));
	solve(ctx, alt);
	for (size_t i = 0; i < n; i++)
		alt_est += fabs(alt[i]);
	alt_est *= 2.0 / (3.0 * (double)n);
	return alt_est > est ? alt_est : est;
}

struct chol_ctx {
	const double *l;
	size_t n;
};

static void chol_solve_ctx(const void *ctx, double *b)
{
	const struct chol_ctx *c = ctx;

	chol_forward(c->l, c->n, b, b);
	chol_backward(c->l, c->n, b, b);
}

double chol_rcond(const double *l, size_t n, double anorm, double *work)
{
	struct chol_ctx ctx = { l, n };
	double inv;

	if (n == 0 || !(anorm > 0.0))
		return 0.0;
	/* A = L L^T is symmetric: the transposed solve is the same solve. */
	inv = norm1_inverse(&ctx, chol_solve_ctx, chol_solve_ctx, n, work);
	if (!(inv > 0.0) || !isfinite(inv))
		return 0.0;
	return 1.0 / (anorm * inv);
}

int lu_factor(double *a, size_t *piv, size_t n)
{
	return lu_factor_until(a, piv, n, NULL, NULL);
}

int lu_factor_until(double *a, size_t *piv, size_t n, linalg_stop_fn stop, void *ctx)
{
	double work = 0.0;

	for (size_t k = 0; k < n; k++) {
		size_t p = k;
		double best = fabs(a[k * n + k]);

		if (stopped(&work, (double)(n - k) * (double)(n - k), stop, ctx))
			return LINALG_STOPPED;

		for (size_t i = k + 1; i < n; i++) {
			if (fabs(a[i * n + k]) > best) {
				best = fabs(a[i * n + k]);
				p = i;
			}
		}
		piv[k] = p;
		if (!(best > 0.0))
			return -1;
		if (p != k) {
			for (size_t j = 0; j < n; j++) {
				double t = a[k * n + j];

				a[k * n + j] = a[p * n + j];
				a[p * n + j] = t;
			}
		}
		for (size_t i = k + 1; i < n; i++) {
			double f = a[i * n + k] / a[k * n + k];

			a[i * n + k] = f;
			for (size_t j = k + 1; j < n; j++)
				a[i * n + j] -= f * a[k * n + j];
		}
	}
	return 0;
}

void lu_solve(const double *lu, const size_t *piv, size_t n, double *b)
{
	for (size_t k = 0; k < n; k++) {
		if (piv[k] != k) {
			double t = b[k];

			b[k] = b[piv[k]];
			b[piv[k]] = t;
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < i; k++)
			b[i] -= lu[i * n + k] * b[k];
	for (size_t i = n; i-- > 0;) {
		for (size_t k = i + 1; k < n; k++)
			b[i] -= lu[i * n + k] * b[k];
		b[i] /= lu[i * n + i];
	}
}

void lu_solve_t(const double *lu, const size_t *piv, size_t n, double *b)
{
	/* A^T = U^T L^T P: solve U^T y = b, L^T w = y, then undo the swaps. */
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < i; k++)
			b[i] -= lu[k * n + i] * b[k];
		b[i] /= lu[i * n + i];
	}
	for (size_t i = n; i-- > 0;)
		for (size_t k = i + 1; k < n; k++)
			b[i] -= lu[k * n + i] * b[k];
	for (size_t k = n; k-- > 0;) {
		if (piv[k] != k) {
			double t = b[k];

			b[k] = b[piv[k]];
			b[piv[k]] = t;
		}
	}
}

struct lu_ctx {
	const double *lu;
	const size_t *piv;
	size_t n;
};

static void lu_solve_ctx(const void *ctx, double *b)
{
	const struct lu_ctx *c = ctx;

	lu_solve(c->lu, c->piv, c->n, b);
}

static void lu_solve_t_ctx(const void *ctx, double *b)
{
	const struct lu_ctx *c = ctx;

	lu_solve_t(c->lu, c->piv, c->n, b);
}

double lu_rcond(const double *lu, const size_t *piv, size_t n, double anorm, double *work)
{
	struct lu_ctx c = { lu, piv, n };
	double inv;

	if (n == 0 || !(anorm > 0.0))
		return 0.0;
	inv = norm1_inverse(&c, lu_solve_ctx, lu_solve_t_ctx, n, work);
	if (!(inv > 0.0) || !isfinite(inv))
		return 0.0;
	return 1.0 / (anorm * inv);
}

#ifdef HAVE_LAPACK
#include <cblas.h>
#include <lapacke.h>

/* OpenBLAS's own controls (its cblas.h is not on the include path). */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);
#endif

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
#ifdef HAVE_LAPACK
static int global_lapack; /* configuration: set once from KRIGD_LAPACK */
#endif
static char global_name[64] = "own";

static void global_pick(void)
{
#ifdef HAVE_LAPACK
	const char *env = getenv("KRIGD_LAPACK");

	if (env && strcmp(env, "off") == 0)
		return;
	openblas_set_num_threads(1);
	global_lapack = 1;
	snprintf(global_name, sizeof(global_name), "lapack (%s)", openblas_get_corename());
#endif
}

const char *chol_global_name(void)
{
	pthread_once(&global_once, global_pick);
	return global_name;
}

#ifdef HAVE_LAPACK
#define GLOBAL_BLOCK 256
#define GLOBAL_BLOCK_MIN 64
/* Rows per tile of a block column's panel and trailing update: fixed, so
 * the BLAS calls (and the bits) are the same whatever the thread count. */
#define GLOBAL_TILE 256
#define GLOBAL_THREADS_MAX 64

/* One block column's work after its diagonal block: phase 0 the panel
 * (dtrsm) in row tiles and zeroing the block's rows right of the block
 * (nothing reads them again), phase 1 the trailing update in row tiles,
 * each a dgemm left of its diagonal tile and a dsyrk on it. */
struct chol_step {
	double *a;
	size_t n, k0, nb, m, tiles; /* tiles: row tiles of the panel */
};

static size_t step_tasks(const struct chol_step *st, int phase)
{
	return phase == 0 ? st->tiles + 1 : st->tiles;
}

static void step_task(const struct chol_step *st, int phase, size_t t)
{
	size_t n = st->n, nb = st->nb, r0 = st->k0 + st->nb; /* first row below the diagonal block */
	double *a11 = st->a + st->k0 * n + st->k0;
	size_t i0, mi;

	if (phase == 0 && t == st->tiles) {
		for (size_t i = st->k0; i < r0 && r0 < n; i++)
			memset(st->a + i * n + r0, 0, (n - r0) * sizeof(double));
		return;
	}
	/* the bottom tile first: in phase 1 the longest rows, so the last
	 * tasks taken are the short ones */
	i0 = (st->tiles - 1 - t) * GLOBAL_TILE;
	mi = st->m - i0 < GLOBAL_TILE ? st->m - i0 : GLOBAL_TILE;
	if (phase == 0) {
		cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)mi, (int)nb, 1.0,
			    a11, (int)n, a11 + (nb + i0) * n, (int)n);
		return;
	}
	if (i0 > 0)
		cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mi, (int)i0, (int)nb, -1.0,
			    a11 + (nb + i0) * n, (int)n, a11 + nb * n, (int)n, 1.0, st->a + (r0 + i0) * n + r0,
			    (int)n);
	cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, (int)mi, (int)nb, -1.0, a11 + (nb + i0) * n, (int)n,
		    1.0, st->a + (r0 + i0) * n + r0 + i0, (int)n);
}

/* The factorising thread and its helpers: the caller posts a phase of a
 * step (gen++), everyone takes its tasks one by one, the caller waits for
 * the last.  Which thread runs a task changes nothing in its result. */
struct chol_team {
	pthread_mutex_t mu;
	pthread_cond_t go, idle;
	unsigned gen;
	int quit, phase;
	size_t next, ntask, left;
	struct chol_step st;
};

/* Take and run the posted phase's tasks until none is left; mu held on
 * entry and on return. */
static void team_work(struct chol_team *tm)
{
	while (tm->next < tm->ntask) {
		size_t t = tm->next++;
		struct chol_step st = tm->st;
		int phase = tm->phase;

		pthread_mutex_unlock(&tm->mu);
		step_task(&st, phase, t);
		pthread_mutex_lock(&tm->mu);
		if (--tm->left == 0)
			pthread_cond_signal(&tm->idle);
	}
}

static void *team_helper(void *arg)
{
	struct chol_team *tm = arg;
	unsigned seen = 0;

	pthread_mutex_lock(&tm->mu);
	for (;;) {
		while (tm->gen == seen && !tm->quit)
			pthread_cond_wait(&tm->go, &tm->mu);
		if (tm->quit)
			break;
		seen = tm->gen;
		team_work(tm);
	}
	pthread_mutex_unlock(&tm->mu);
	return NULL;
}

/* Run phase of st: on the team when there is one, else here in order. */
static void team_run(struct chol_team *tm, const struct chol_step *st, int phase)
{
	size_t nt = step_tasks(st, phase);

	if (!tm || nt < 2) {
		for (size_t t = 0; t < nt; t++)
			step_task(st, phase, t);
		return;
	}
	pthread_mutex_lock(&tm->mu);
	tm->st = *st;
	tm->phase = phase;
	tm->next = 0;
	tm->ntask = tm->left = nt;
	tm->gen++;
	pthread_cond_broadcast(&tm->go);
	team_work(tm);
	while (tm->left > 0)
		pthread_cond_wait(&tm->idle, &tm->mu);
	pthread_mutex_unlock(&tm->mu);
}

/* Row-major lower is column-major upper of the same symmetric matrix, so
 * LAPACK's 'U' on a block leaves L^T there, i.e. L in our lower triangle;
 * row-major BLAS calls do the panel and the trailing update in place. */
static int chol_steps(double *a, size_t n, struct chol_team *tm, linalg_stop_fn stop, void *ctx)
{
	for (size_t k0 = 0, nb; k0 < n; k0 += nb) {
		/* a block column's update is about (n - k0)^2 nb / 2 multiply-adds:
		 * as wide as keeps that near LINALG_GLOBAL_STOP_WORK (stop is asked
		 * per block), at least GLOBAL_BLOCK_MIN (narrower updates ran 10 %
		 * slower), at most GLOBAL_BLOCK */
		double rest = (double)(n - k0);
		struct chol_step st;

		nb = (size_t)fmin((double)GLOBAL_BLOCK, fmax((double)GLOBAL_BLOCK_MIN, LINALG_GLOBAL_STOP_WORK / (rest * rest / 2.0 + 1.0)));
		if (nb > n - k0)
			nb = n - k0;
		st = (struct chol_step){ a, n, k0, nb, n - k0 - nb, (n - k0 - nb + GLOBAL_TILE - 1) / GLOBAL_TILE };

		if (stop && stop(ctx))
			return LINALG_STOPPED;
		if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', (lapack_int)nb, a + k0 * n + k0, (lapack_int)n) != 0)
			return -1;
		for (size_t i = k0; i < k0 + nb; i++) /* the strict upper triangle of the block */
			memset(a + i * n + i + 1, 0, (k0 + nb - i - 1) * sizeof(double));
		team_run(tm, &st, 0);
		team_run(tm, &st, 1);
	}
	return 0;
}

static int chol_blocked(double *a, size_t n, int threads, linalg_stop_fn stop, void *ctx)
{
	struct chol_team tm = { .gen = 0 };
	pthread_t tid[GLOBAL_THREADS_MAX];
	int helpers = 0, rc;
	size_t tiles = (n + GLOBAL_TILE - 1) / GLOBAL_TILE;

	if (threads > GLOBAL_THREADS_MAX)
		threads = GLOBAL_THREADS_MAX;
	if (threads < 2 || tiles < 2)
		return chol_steps(a, n, NULL, stop, ctx);
	/* more threads than the first update's tiles would only wait */
	if ((size_t)threads > tiles)
		threads = (int)tiles;
	if (pthread_mutex_init(&tm.mu, NULL))
		return chol_steps(a, n, NULL, stop, ctx);
	if (pthread_cond_init(&tm.go, NULL)) {
		pthread_mutex_destroy(&tm.mu);
		return chol_steps(a, n, NULL, stop, ctx);
	}
	if (pthread_cond_init(&tm.idle, NULL)) {
		pthread_cond_destroy(&tm.go);
		pthread_mutex_destroy(&tm.mu);
		return chol_steps(a, n, NULL, stop, ctx);
	}
	/* a helper that cannot start leaves its share to the others (and at
	 * worst all of it to this thread): the same tiles, the same result */
	while (helpers < threads - 1 && pthread_create(&tid[helpers], NULL, team_helper, &tm) == 0)
		helpers++;
	rc = chol_steps(a, n, helpers ? &tm : NULL, stop, ctx);
	pthread_mutex_lock(&tm.mu);
	tm.quit = 1;
	pthread_cond_broadcast(&tm.go);
	pthread_mutex_unlock(&tm.mu);
	for (int t = 0; t < helpers; t++)
		pthread_join(tid[t], NULL);
	pthread_cond_destroy(&tm.idle);
	pthread_cond_destroy(&tm.go);
	pthread_mutex_destroy(&tm.mu);
	return rc;
}
#endif

void chol_forward_global(const double *l, size_t n, double *b)
{
	pthread_once(&global_once, global_pick);
#ifdef HAVE_LAPACK
	/* dtrsv runs the solve in vector blocks; ours is one dependent chain
	 * of multiply-adds per row (latency-bound at thousands of stations) */
	if (global_lapack && n > 0 && n <= (size_t)INT32_MAX / 2) {
		cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)n, l, (int)n, b, 1);
		return;
	}
#endif
	chol_forward(l, n, b, b);
}

void chol_backward_global(const double *l, size_t n, double *b)
{
	pthread_once(&global_once, global_pick);
#ifdef HAVE_LAPACK
	if (global_lapack && n > 0 && n <= (size_t)INT32_MAX / 2) {
		cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)n, l, (int)n, b, 1);
		return;
	}
#endif
	chol_backward(l, n, b, b);
}

static void chol_solve_global_ctx(const void *ctx, double *b)
{
	const struct chol_ctx *c = ctx;

	chol_forward_global(c->l, c->n, b);
	chol_backward_global(c->l, c->n, b);
}

double chol_rcond_global(const double *l, size_t n, double anorm, double *work)
{
	struct chol_ctx ctx = { l, n };
	double inv;

	if (n == 0 || !(anorm > 0.0))
		return 0.0;
	inv = norm1_inverse(&ctx, chol_solve_global_ctx, chol_solve_global_ctx, n, work);
	if (!(inv > 0.0) || !isfinite(inv))
		return 0.0;
	return 1.0 / (anorm * inv);
}

int chol_factor_global(double *a, size_t n, int threads, linalg_stop_fn stop, void *ctx)
{
	pthread_once(&global_once, global_pick);
#ifdef HAVE_LAPACK
	if (global_lapack && n > 0 && n <= (size_t)INT32_MAX / 2)
		return chol_blocked(a, n, threads, stop, ctx);
#endif
	return chol_factor_until(a, n, stop, ctx);
}

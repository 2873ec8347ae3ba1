/* linalg.h - the few dense factorisations kriging needs (row-major, double).
 *
 * Small and dependency free on purpose: the kriging system is one symmetric
 * positive definite matrix per frame, so a Cholesky factor and a condition
 * estimate are all that is required. */
#ifndef KD_LINALG_H
#define KD_LINALG_H

#include <stddef.h>

/* Lower Cholesky factor of the symmetric n x n matrix a, in place (only the
 * lower triangle is read; the strict upper triangle is zeroed).  Returns 0,
 * or -1 when a is not numerically positive definite (a is then garbage). */
int chol_factor(double *a, size_t n);

/* A cooperative stop for the O(n^3) loops: asked about every
 * LINALG_STOP_WORK multiply-adds (a few milliseconds), so a cancel reaches
 * a factorisation of thousands of stations at once.  NULL: never asked. */
typedef int (*linalg_stop_fn)(void *ctx);
#define LINALG_STOP_WORK ((double)(1 << 22))
#define LINALG_STOPPED (-2)

/* chol_factor asking stop(ctx) as above: LINALG_STOPPED when it said 1 (a
 * is then garbage). */
int chol_factor_until(double *a, size_t n, linalg_stop_fn stop, void *ctx);

/* The same factor for the one big matrix of a global system, asking stop
 * as chol_factor_until does: a blocked right-looking Cholesky on LAPACK and
 * BLAS-3 (dpotrf on diagonal blocks, dtrsm, dsyrk; OpenBLAS held to one
 * thread so that krigd's own threads own the CPUs; stop asked between
 * block columns, each sized to about LINALG_GLOBAL_STOP_WORK multiply-adds
 * (BLAS-3 does them some 20 times faster than the scalar loops: the same
 * few milliseconds), 64 to 256 wide) when built with LAPACK and the
 * environment does not say KRIGD_LAPACK=off, else chol_factor_until.  Same
 * contract; the two agree within rounding (not bit for bit).
 * threads (>= 1; at most 64 used): a block column's panel and trailing
 * update are cut into tiles of fixed rows (not depending on threads), run
 * by the calling thread and threads - 1 helpers it starts and joins before
 * returning, also on an error or a stop (one that cannot start leaves its
 * tiles to the others), so the factor is bit-identical for any thread
 * count; a is theirs only during the call, stop is asked by the calling
 * thread alone.  The own path ignores threads. */
#define LINALG_GLOBAL_STOP_WORK (16.0 * LINALG_STOP_WORK)
int chol_factor_global(double *a, size_t n, int threads, linalg_stop_fn stop, void *ctx);

/* In-place L x = b, L^T x = b and chol_rcond for the factor of
 * chol_factor_global, on BLAS (dtrsv) when it factorised on LAPACK, else
 * chol_forward, chol_backward and chol_rcond: the same results within
 * rounding, not bit for bit. */
void chol_forward_global(const double *l, size_t n, double *b);
void chol_backward_global(const double *l, size_t n, double *b);
double chol_rcond_global(const double *l, size_t n, double anorm, double *work);

/* "lapack (CORE)" or "own": what chol_factor_global uses in this process
 * (CORE: openblas_get_corename()).  For logs and the bench. */
const char *chol_global_name(void);

/* The same factor row by row, rows p..n-1 only: rows 0..p-1 of a must
 * already hold what this function computed for the leading p x p block
 * (row i of L depends only on the leading (i+1) x (i+1) block).  Dot
 * products are summed in four fixed partial sums (faster; the bits are a
 * function of the matrix, but not chol_factor's).  0 or -1 as chol_factor. */
int chol_factor_rows(double *a, size_t n, size_t p);
int chol_factor_rows_until(double *a, size_t n, size_t p, linalg_stop_fn stop, void *ctx);

/* Solve L x = b (forward) and L^T x = b (backward) with the factor from
 * chol_factor(); x may alias b. */
void chol_forward(const double *l, size_t n, const double *b, double *x);
void chol_backward(const double *l, size_t n, const double *b, double *x);

/* 1-norm of the n x n matrix a (largest absolute column sum). */
double mat_norm1(const double *a, size_t n);

/* Estimate of the reciprocal 1-norm condition number of the SPD matrix whose
 * Cholesky factor is l and whose 1-norm is anorm (Hager/Higham estimator, a
 * handful of O(n^2) solves).  work holds 3 n doubles.  0 means singular. */
double chol_rcond(const double *l, size_t n, double anorm, double *work);

/* LU factorisation with partial pivoting of the general n x n matrix a, in
 * place; piv receives n row indices.  Returns 0, or -1 on an exact zero
 * pivot.  lu_rcond() estimates the reciprocal 1-norm condition number as
 * chol_rcond() does (work: 3 n doubles). */
int lu_factor(double *a, size_t *piv, size_t n);
int lu_factor_until(double *a, size_t *piv, size_t n, linalg_stop_fn stop, void *ctx); /* + LINALG_STOPPED */
void lu_solve(const double *lu, const size_t *piv, size_t n, double *b);
void lu_solve_t(const double *lu, const size_t *piv, size_t n, double *b);
double lu_rcond(const double *lu, const size_t *piv, size_t n, double anorm, double *work);

#endif

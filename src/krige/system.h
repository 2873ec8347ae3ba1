/* system.h - one factorised ordinary kriging system (internal to src/krige).
 *
 * The global kriging object holds one for all stations; the local
 * neighbourhood (local.c) one per neighbour set, reused while the set stays
 * the same.  The algebra is the one krige.c's header comment derives. */
#ifndef KD_SYSTEM_H
#define KD_SYSTEM_H

#include <stddef.h>

#include "kernel.h"
#include "krige.h"

struct error;

/* Below this reciprocal condition number, predictions would carry errors
 * of order 1e-4 of the data or worse: refuse rather than draw noise. */
#define KSYS_RCOND_MIN 1e-12

/* Arrays sized for cap stations; n of them in use.  Owned. */
struct ksys {
	size_t n, cap;
	double *sx, *sy, *z; /* the stations of the system, in a fixed order */
	double *l;           /* Cholesky factor of C, cap x cap storage, n x n used */
	double *u, *a, *rinv, *work; /* L^-1 1, dual weights, 1 / L_ii, 3 cap scratch */
	double *part;  /* KSYS_BUILD_CHUNKS cap: the build's partial column sums */
	double b, utu, suma;
	/* Asked during the O(n^2) and O(n^3) loops (NULL: never); set after
	 * ksys_reserve, which clears it. */
	int (*cancelled)(void *ctx);
	void *cancel_ctx;
	/* Threads for building C and its factorisation (linalg.h
	 * chol_factor_global); the result does not depend on them; < 1 is 1.
	 * Set like cancelled. */
	int threads;
	/* A row of C for the exponential and gaussian models, the kernel
	 * path's (kernel_ops.cov_row: its exp); NULL: cov().  Set like
	 * cancelled. */
	double (*cov_row)(int gauss, double x, double y, const double *sx, const double *sy, size_t n,
			  double nugget, double psill, double range, double *out, double *colsum);
};

/* From this many stations on, C is built in KSYS_BUILD_CHUNKS fixed row
 * chunks of about equal area (each summing its own column sums, added in
 * chunk order: the same bits for any thread count), else in one. */
#define KSYS_BUILD_CHUNKS 16
#define KSYS_BUILD_MIN 512

/* 1 when s's cancel hook says stop (checked every few milliseconds of
 * work, see linalg.h). */
int ksys_cancelled(const struct ksys *s);

/* Make room for n stations (keeps nothing).  0 or KD_ENOMEM. */
int ksys_reserve(struct ksys *s, size_t n, struct error *e);
void ksys_release(struct ksys *s);

/* Factorise the system of s->n stations (sx, sy, z filled) for v.  KD_EINPUT
 * when C is not positive definite or too ill-conditioned (the message says
 * which and why), KD_ECANCEL when the cancel hook said so while the matrix
 * was built or factorised; s is then unusable until the next solve. */
int ksys_solve(struct ksys *s, const struct variogram *v, struct error *e);

/* The solved system as the kernels see it (pointers into s). */
void ksys_model(const struct ksys *s, const struct variogram *v, struct kmodel *m);

/* Diagonal of the inverse of the bordered matrix [C 1; 1^T 0] (first n
 * entries) into out: (C^-1)_ii - (C^-1 1)_i^2 / (1^T C^-1 1).  Costs n^3/3;
 * used by the closed-form leave-one-out cross-validation.  KD_ENOMEM;
 * KD_ECANCEL when the cancel hook said so (out is then partly filled). */
int ksys_inverse_diag(const struct ksys *s, double *out, struct error *e);

/* The scalar reference predictor and variance of krige.c (work: n doubles). */
double kref_predict(const struct kmodel *m, double x, double y);
double kref_variance(const struct kmodel *m, double x, double y, double *work);

#endif

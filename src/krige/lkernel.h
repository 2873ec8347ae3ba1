/* lkernel.h - the dense algebra of one local neighbourhood (internal to
 * src/krige), per instruction set like the grid kernels (kernel.h).
 *
 * The covariance matrix of a neighbour set is factorised as C = U^T U,
 * U upper triangular, stored row-major with row stride ld (a multiple of
 * LK_PAD) so that every row is whole vectors: right-looking, each row
 * update is a run of vector multiply-adds with no dependency between rows.
 * Every entry is computed by the same scalar sequence of operations
 * whatever the vector length of the path, so a result depends only on the
 * matrix (and the path), never on how cells are grouped or threaded. */
#ifndef KD_LKERNEL_H
#define KD_LKERNEL_H

#include <stddef.h>

/* Row stride unit, in doubles: the widest vector of any path. */
#define LK_PAD 8

/* Largest ld factor2s interleaves in registers (lkernel_body.h's LREG_MAX). */
#define LK_PAIR_MAX 32

struct lkernel_ops {
	const char *name;
	/* Factor the SPD matrix held in the upper triangle of a (n rows of ld
	 * doubles; columns n..ld-1 zero) in place: on return the upper
	 * triangle is U with U_ii on the diagonal, rinv[i] = 1 / U_ii, and
	 * the strict lower triangle is garbage except for zeros the solves
	 * rely on.  0, -1 when a is not numerically positive definite,
	 * LINALG_STOPPED when stop(ctx) said 1 (NULL: never asked; asked
	 * every LINALG_STOP_WORK multiply-adds or so). */
	int (*factor)(double *a, size_t n, size_t ld, double *rinv, int (*stop)(void *ctx), void *ctx);
	/* factor on two matrices of the same n at once, out of place (c0, c1
	 * the matrices as factor takes them, left alone; a0, a1 get what
	 * factor would leave, in the triangle and the vectors the solves
	 * read), never asking a stop hook (callers pair only sets of at
	 * most LK_PAIR_MAX rows: far below LINALG_STOP_WORK); and matrix 0's
	 * right-hand sides y[0], y[1] and matrix 1's y[2], y[3] (ld doubles
	 * each, padding zero) <- U^-T y.  The same bits as factor on each,
	 * then forward2 on each pair (the vector paths solve them along
	 * with the factorisation, off its chain of pivots).  0, or -1 when
	 * either is not positive definite (y then undefined). */
	int (*factor2s)(const double *c0, const double *c1, double *a0, double *a1, size_t n, size_t ld, double *r0,
			double *r1, double *const *y);
	/* b <- U^-T b (b holds ld doubles, entries n..ld-1 zero and kept so). */
	void (*forward)(const double *u, size_t n, size_t ld, const double *rinv, double *b);
	/* forward on two systems of the same n at once (the same U twice is
	 * fine): the same bits as one at a time. */
	void (*forward2)(const double *u0, const double *u1, size_t n, size_t ld, const double *r0, const double *r1,
			 double *b0, double *b1);
	/* forward on four systems of the same n at once (the same U more
	 * than once is fine; the paths without room in registers for four
	 * run two and two): the same bits as one at a time. */
	void (*forward4)(const double *const *u, size_t n, size_t ld, const double *const *rinv, double *const *b);
	/* dst[j] = src[map[j]], or 0 where map[j] is LK_NONE, for j from j0
	 * rounded down to the path's vector length up to ld (map holds ld
	 * entries): a row of a new set's matrix gathered from the row of the
	 * same station in the last set's, copies, not new numbers. */
	void (*remap)(const double *src, const size_t *map, size_t j0, size_t ld, double *dst);
	/* sd[q] = (x - tx[sm[q]])^2 + (y - ty[sm[q]])^2 for q < n: a cell's
	 * squared distances to its tile's stations, each by the scalar
	 * formula's operations (no fused multiply-add), gathered 8 or 4 at
	 * a time. */
	void (*dist2)(double x, double y, const double *tx, const double *ty, const size_t *sm, size_t n, double *sd);
};

/* remap's "no entry here". */
#define LK_NONE ((size_t)-1)

extern const struct lkernel_ops lkernel_portable;
#ifdef KD_SIMD_X86
extern const struct lkernel_ops lkernel_avx2;
extern const struct lkernel_ops lkernel_avx512;
#endif

#endif

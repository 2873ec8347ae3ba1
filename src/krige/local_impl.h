/* local_impl.h - what local.c (the index, a set's system, one point) and
 * ltile.c (a row's cells: tiles, splits, batches of sets) share; internal
 * to local kriging.  The lset_ functions keep local.h's slot invariants:
 * a slot is held when its set and matrix are valid, ok when its system is
 * factorised; a set's system is a function of the set alone. */
#ifndef KD_LOCAL_IMPL_H
#define KD_LOCAL_IMPL_H

#include <math.h>
#include <stddef.h>

#include "local.h"

#define PER_BUCKET 2.0 /* stations per bucket aimed at */

struct klocal {
	struct variogram v;
	size_t n, nmax;
	double maxdist;
	double *sx, *sy, *z;
	double x0, y0, h;
	long long nx, ny;
	size_t *start, *idx; /* bucket b holds idx[start[b] .. start[b + 1]) */
	const struct lkernel_ops *ops;
	/* the exponential and gaussian covariances on the kernel path's
	 * vector exp (kernel.h's cov_vec), else NULL: cov() one at a time */
	void (*cov_vec)(int gauss, double x, double y, const double *sx, const double *sy, size_t n, double nugget,
			double psill, double range, double *out);
	int (*cancelled)(void *ctx); /* asked while a large neighbourhood is factorised */
	void *cancel_ctx;
};

/* The bucket of coordinate v on an axis of nb buckets of side h from o,
 * clamped (a NaN to the first). */
static inline long long bucket_of(double v, double o, double h, long long nb)
{
	double b = floor((v - o) / h);

	if (!(b >= 0))
		return 0;
	return b >= (double)nb ? nb - 1 : (long long)b;
}

/* Heap order, and the splits' order reversed: farther first, then the
 * higher station index (or tile position). */
static inline int after(double da, size_t ia, double db, size_t ib)
{
	return da > db || (da == db && ia > ib);
}

/* At most nmax indices, nearly sorted by nothing: insertion sort. */
static inline void sort_idx(size_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		size_t t = v[i], j = i;

		for (; j > 0 && v[j - 1] > t; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

/* FNV-1a of a set's indices: the cache's first compare. */
unsigned long long lset_hash(const size_t *cand, size_t n);

/* The slot that holds the set cand (n stations, index order, hash h),
 * marked used; else NULL. */
struct lslot *lset_find(struct lwork *w, const size_t *cand, size_t n, unsigned long long h);

/* The slot a new set goes to: the next one round the ring that is not
 * keep and not held and used since tick since; NULL when every slot is
 * one of those (callers keep fewer in use). */
struct lslot *lset_victim(struct lwork *w, unsigned long long since, const struct lslot *keep);

/* Slot t takes the set cand: its stations and covariance matrix (pairs
 * shared with set o, NULL: none, copied).  t is held, not ok, until
 * lset_factorise or lset_factorise2. */
void lset_fill(const struct klocal *l, struct lwork *w, const struct lslot *o, struct lslot *t, const size_t *cand,
	       size_t n, unsigned long long h);

/* Factorise filled slot t (then ok), or s and r side by side (the same
 * bits).  On error the failed slot is no longer held, nor r when s
 * failed; KD_EINPUT (singular or ill-conditioned), KD_ENOMEM, KD_ECANCEL. */
int lset_factorise(const struct klocal *l, struct lwork *w, struct lslot *t, struct error *e);
int lset_factorise2(const struct klocal *l, struct lwork *w, struct lslot *s, struct lslot *r, struct error *e);

/* Prediction and variance (var[0] NULL: none) at M points (1 to 4; xs,
 * ys) with the systems of slots ts (ok, one n), into *pred[m], *var[m]. */
void lset_points(const struct klocal *l, struct lwork *w, struct lslot *const *ts, int M, const double *xs,
		 const double *ys, double *const *pred, double *const *var);

#endif

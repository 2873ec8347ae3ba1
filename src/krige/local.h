/* local.h - kriging in a local neighbourhood, as gstat's krige(nmax=,
 * maxdist=) (internal to src/krige; the public face is krige.h).
 *
 * A station is a neighbour of a point when its distance d <= maxdist; of
 * those the nmax nearest are kept, ties broken by station order.  The
 * stations are bucketed on a square grid so a search visits rings of
 * buckets outwards and stops as soon as no unvisited bucket can hold a
 * nearer station.  Each neighbour set is kept sorted by station index, so
 * its kriging system (and hence every bit of the result) is a function of
 * the set and the kernel path alone; a thread keeps its last sets
 * factorised (struct lwork), and points that come back to one of them
 * share its factorisation.  The sets' algebra is lkernel.h's, their
 * exponential and gaussian covariances the kernel path's cov_vec
 * (docs/DESIGN.md departures 65 and 72). */
#ifndef KD_LOCAL_H
#define KD_LOCAL_H

#include <stddef.h>

#include "krige.h"
#include "lkernel.h"
#include "system.h"

struct error;
struct klocal;

/* Index s (copied) for nmax (0: no limit) and maxdist (INFINITY: no
 * limit).  path names the kernel path (kernel.h) whose instruction set the
 * neighbourhood algebra uses: "avx512", "avx2", else the portable one
 * (picked once here: results depend on the set, the point and the path).
 * cancelled(ctx) (may be NULL) is asked while a neighbourhood is
 * factorised (klocal_at then returns KD_ECANCEL).  KD_ENOMEM. */
int klocal_new(struct klocal **out, const struct variogram *v, const struct stations *s, size_t nmax,
	       double maxdist, const char *path, int (*cancelled)(void *ctx), void *ctx, struct error *e);
void klocal_free(struct klocal *l);

/* Most neighbour sets a thread keeps factorised. */
#define LW_SLOTS 24

/* klocal_cells' batches: at most LW_BATCH new sets (factorised two by
 * two) and LW_ENTRIES sets in all, and fewer than the slots. */
#define LW_BATCH 8
#define LW_ENTRIES 16

/* One factorised neighbour set.  Matrices are ld x ld (ld = cap rounded
 * up to LK_PAD), padding columns zero. */
struct lslot {
	int held;                  /* holds set[0..n) and its matrix co (f, the rest: once ok) */
	int ok;                    /* holds the system of set[0..n) */
	size_t n, *set;            /* the set, sorted by index */
	unsigned long long hash, used; /* of the set; last use (lwork.tick) */
	double *co, *f;            /* its covariance (upper triangle) and factor U (C = U^T U) */
	double *rinv, *u, *wz;     /* ld each: 1 / U_ii, U^-T 1, U^-T (z - b 1) */
	double *sx, *sy, *z;       /* cap each: its stations */
	double b, utu;             /* the mean's estimate, u.u */
	void *mem;                 /* the block co and the rest are in (to free) */
};

/* Per-thread scratch: the search heap, the sets lately factorised (cells
 * visited in an order that comes back to a set find it there) and the
 * current one. */
struct lwork {
	size_t cap, ld, hn;
	double *hd;          /* heap: squared distances */
	size_t *hi;          /* heap: station indices */
	size_t *cand;        /* the set being searched for (cap + 1) */
	size_t *oldpos;      /* ld: where each station of the new set is in the current one (build_cov) */
	struct lslot *slot, *cur; /* nslot sets; the current one or NULL */
	size_t nslot, hand;  /* hand: the next slot lset_victim looks at */
	unsigned long long tick;
	double *vec;         /* 7 x ld: the scratch vectors below (64-byte aligned) */
	void *vecmem;        /* the block vec is in (to free) */
	/* scratch: a new station's covariances (build_cov), U^-T z of the
	 * two sets of a pair (finish), a point's covariances (up to 4) */
	double *cj, *t2[2], *c[4];
	double *lt;          /* NULL or cap x cap + 3 cap: L = U^T for the condition estimate */
	size_t solves;       /* factorisations done */
	/* klocal_cells' tile: the tn stations that can be a neighbour of one
	 * of its cells (index order: tidx, tx, ty), their positions in that
	 * list sorted by distance from the last cell (ki, squared distances
	 * kd), membership flags tok; tdk: the last tile's nmax-th distance;
	 * tprev: the size of the last cell's set (w->cur, the first tprev of
	 * ki), 0 when none */
	size_t tn, tcap, *tidx, *ki, tprev;
	double *tx, *ty, *kd, tdk;
	/* the last cell's nmax-th distance (or more) lfar, at (lx, ly); lok:
	 * known */
	double lfar, lx, ly;
	int lok;
	unsigned char *tok;
	size_t *tcp, *tcm;   /* tcap each: tile_split's scratch (with tcd) */
	double *tcd;
	/* per station (klocal's n, made at the first tile): the stamp of the
	 * last tile list that held it; tstamp: the current list's */
	unsigned *tmark, tstamp;
	/* the batch: the slots of its nb sets (bslot), the nf of them new,
	 * filled, not yet factorised (fresh; fcell: the first cell of each);
	 * each cell's set in it (cset, ncset cells of the row, -1: none);
	 * bsince: the tick it began at; bmax, emax: most new, most in all */
	struct lslot *bslot[LW_ENTRIES], *fresh[LW_BATCH];
	int nb, nf, bmax, emax, fcell[LW_BATCH], *cset;
	size_t ncset;
	unsigned long long bsince;
};

int lwork_init(struct lwork *w, const struct klocal *l, struct error *e); /* 0 or KD_ENOMEM */
void lwork_release(struct lwork *w);

/* Prediction (and variance when var != NULL) at (x, y), leaving station
 * skip out of the search ((size_t)-1: none).  NaN in both when no station
 * is a neighbour (*pred NaN is not an error).  KD_EINPUT when the
 * neighbours' system is singular (message names the point), KD_ENOMEM,
 * KD_ECANCEL (klocal_new's hook; w must not be reused). */
int klocal_at(const struct klocal *l, struct lwork *w, double x, double y, size_t skip, double *pred,
	      double *var, struct error *e);

/* klocal_at(..., skip none, ...) at the nc cells (xs[c], y) of one grid
 * row, into pred[c] and var[c] (var may be NULL): the same bits, faster.
 * Cells are taken in tiles; one scan per tile yields every station that
 * can be a neighbour of its cells, so a cell's own choice scans a short
 * list; the cells' sets are found first, up to LW_BATCH new ones, then
 * factorised two at a time, then the cells predicted two at a time.  The
 * first error stops it (the row's values are then undefined). */
int klocal_cells(const struct klocal *l, struct lwork *w, const double *xs, int nc, double y, double *pred,
		 double *var, struct error *e);

/* The indexed stations (copies, in input order). */
const double *klocal_x(const struct klocal *l);
const double *klocal_y(const struct klocal *l);
const double *klocal_z(const struct klocal *l);

#endif

/* local.h - kriging in a local neighbourhood, as gstat's krige(nmax=,
 * maxdist=) (internal to src/krige; the public face is krige.h).
 *
 * A station is a neighbour of a point when its distance d <= maxdist; of
 * those the nmax nearest are kept, ties broken by station order.  The
 * stations are bucketed on a square grid so a search visits rings of
 * buckets outwards and stops as soon as no unvisited bucket can hold a
 * nearer station.  Each neighbour set is kept sorted by station index, so
 * its kriging system (and hence every bit of the result) is a function of
 * the set alone; consecutive points with the same set share one
 * factorisation. */
#ifndef KD_LOCAL_H
#define KD_LOCAL_H

#include <stddef.h>

#include "krige.h"
#include "system.h"

struct error;
struct klocal;

/* Index s (copied) for nmax (0: no limit) and maxdist (INFINITY: no
 * limit).  cancelled(ctx) (may be NULL) is asked while a neighbourhood is
 * factorised (klocal_at then returns KD_ECANCEL).  KD_ENOMEM. */
int klocal_new(struct klocal **out, const struct variogram *v, const struct stations *s, size_t nmax,
	       double maxdist, int (*cancelled)(void *ctx), void *ctx, struct error *e);
void klocal_free(struct klocal *l);

/* Per-thread scratch: the search heap, the current neighbour set and its
 * factorised system. */
struct lwork {
	size_t cap, hn, nset;
	double *hd;          /* heap: squared distances */
	size_t *hi;          /* heap: station indices */
	size_t *set;         /* the current set, sorted by index */
	size_t *cand;        /* the set being searched for */
	int valid;           /* sys holds the factorisation of set[0..nset) */
	struct ksys sys;
	struct kmodel m;
	double *vwork;       /* cap doubles for the variance */
	size_t *oldpos;      /* cap: where each station of the new set was in the old */
	double *co, *cn;     /* cap x cap: the current set's covariance matrix, and scratch */
	double *lw;          /* cap: L^-1 z of the current set */
	size_t solves;       /* factorisations done */
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

/* The indexed stations (copies, in input order). */
const double *klocal_x(const struct klocal *l);
const double *klocal_y(const struct klocal *l);
const double *klocal_z(const struct klocal *l);

#endif

/* local.c - local-neighbourhood kriging (see local.h). */
#include "config.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kernel.h"
#include "linalg.h"
#include "local.h"

#include "local_impl.h"

const double *klocal_x(const struct klocal *l)
{
	return l->sx;
}

const double *klocal_y(const struct klocal *l)
{
	return l->sy;
}

const double *klocal_z(const struct klocal *l)
{
	return l->z;
}

void klocal_free(struct klocal *l)
{
	if (!l)
		return;
	free(l->sx);
	free(l->sy);
	free(l->z);
	free(l->start);
	free(l->idx);
	free(l);
}

/* Buckets of side h over the stations' box, about PER_BUCKET stations each
 * (a box that is a line or a point gets a row of buckets, or one). */
static void pick_buckets(struct klocal *l)
{
	double x1 = l->sx[0], y1 = l->sy[0], w, ht, nb = (double)l->n / PER_BUCKET;

	l->x0 = x1;
	l->y0 = y1;
	for (size_t i = 1; i < l->n; i++) {
		l->x0 = fmin(l->x0, l->sx[i]);
		x1 = fmax(x1, l->sx[i]);
		l->y0 = fmin(l->y0, l->sy[i]);
		y1 = fmax(y1, l->sy[i]);
	}
	w = x1 - l->x0;
	ht = y1 - l->y0;
	if (nb < 1)
		nb = 1;
	l->h = sqrt(w * ht / nb);
	if (!(l->h > 0) || w / l->h > 4 * nb || ht / l->h > 4 * nb)
		l->h = fmax(w, ht) / nb;
	if (!(l->h > 0))
		l->h = 1.0;
	l->nx = (long long)floor(w / l->h) + 1;
	l->ny = (long long)floor(ht / l->h) + 1;
}

static const struct lkernel_ops *lkernel_pick(const char *path)
{
#ifdef KD_SIMD_X86
	if (path && strcmp(path, "avx512") == 0)
		return &lkernel_avx512;
	if (path && strcmp(path, "avx2") == 0)
		return &lkernel_avx2;
#endif
	(void)path;
	return &lkernel_portable;
}

int klocal_new(struct klocal **out, const struct variogram *v, const struct stations *s, size_t nmax,
	       double maxdist, const char *path, int (*cancelled)(void *ctx), void *ctx, struct error *e)
{
	struct klocal *l = calloc(1, sizeof(*l));
	size_t n = s->n, nb, *fill = NULL;

	*out = NULL;
	if (!l)
		return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
	l->v = *v;
	l->n = n;
	l->ops = lkernel_pick(path);
	if (v->model == VGM_EXPONENTIAL || v->model == VGM_GAUSSIAN) {
		const struct kernel_ops *ko = path ? kernel_get(path) : NULL;

		l->cov_vec = ko ? ko->cov_vec : NULL;
	}
	l->cancelled = cancelled;
	l->cancel_ctx = ctx;
	l->nmax = nmax == 0 || nmax > n ? n : nmax;
	l->maxdist = maxdist;
	l->sx = malloc(n * sizeof(double));
	l->sy = malloc(n * sizeof(double));
	l->z = malloc(n * sizeof(double));
	l->idx = malloc(n * sizeof(size_t));
	if (!l->sx || !l->sy || !l->z || !l->idx)
		goto nomem;
	memcpy(l->sx, s->x, n * sizeof(double));
	memcpy(l->sy, s->y, n * sizeof(double));
	memcpy(l->z, s->z, n * sizeof(double));
	pick_buckets(l);
	nb = (size_t)(l->nx * l->ny);
	l->start = calloc(nb + 1, sizeof(size_t));
	fill = calloc(nb, sizeof(size_t));
	if (!l->start || !fill)
		goto nomem;
	/* Counting sort; within a bucket the stations stay in index order. */
	for (size_t i = 0; i < n; i++)
		l->start[bucket_of(l->sy[i], l->y0, l->h, l->ny) * l->nx + bucket_of(l->sx[i], l->x0, l->h, l->nx) + 1]++;
	for (size_t b = 0; b < nb; b++)
		l->start[b + 1] += l->start[b];
	for (size_t i = 0; i < n; i++) {
		size_t b = (size_t)(bucket_of(l->sy[i], l->y0, l->h, l->ny) * l->nx +
				    bucket_of(l->sx[i], l->x0, l->h, l->nx));

		l->idx[l->start[b] + fill[b]++] = i;
	}
	free(fill);
	*out = l;
	return 0;
nomem:
	free(fill);
	klocal_free(l);
	return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search of %zu stations", n);
}

void lwork_release(struct lwork *w)
{
	for (size_t k = 0; w->slot && k < w->nslot; k++) {
		free(w->slot[k].set);
		free(w->slot[k].mem);
	}
	free(w->slot);
	free(w->hd);
	free(w->hi);
	free(w->cand);
	free(w->oldpos);
	free(w->vecmem);
	free(w->lt);
	free(w->tidx);
	free(w->ki);
	free(w->tok);
	free(w->tcp);
	free(w->tcm);
	free(w->tmark);
	free(w->tcd);
	free(w->tx);
	free(w->ty);
	free(w->kd);
	free(w->cset);
	memset(w, 0, sizeof(*w));
}

/* n doubles, zero, 64-byte aligned (a cache line, and AVX-512's vector;
 * ld is a multiple of 8, so every row is too): calloc's 16 would split
 * every vector load and store of a row across two lines (a pair of
 * 32-station factorisations took 1.9 us instead of 1.3).  calloc, not an
 * aligned allocation and a memset: a large block comes as zero pages,
 * touched only where a set is that large.  *mem: the block to free. */
static double *alloc_vec(size_t n, void **mem)
{
	char *p = calloc(n * sizeof(double) + 63, 1);

	*mem = p;
	return p ? (double *)(p + (64 - (uintptr_t)p % 64) % 64) : NULL;
}

/* Sets kept per thread: as many as fit in about 1 MiB, 2 to LW_SLOTS. */
static size_t slot_count(size_t ld)
{
	size_t k = ((size_t)1 << 20) / (2 * ld * ld * sizeof(double) + 1);

	return k < 2 ? 2 : k > LW_SLOTS ? LW_SLOTS : k;
}

int lwork_init(struct lwork *w, const struct klocal *l, struct error *e)
{
	size_t cap = l->nmax ? l->nmax : 1, ld = (cap + LK_PAD - 1) / LK_PAD * LK_PAD;
	int bad;

	memset(w, 0, sizeof(*w));
	w->cap = cap;
	w->ld = ld;
	w->nslot = slot_count(ld);
	w->slot = calloc(w->nslot, sizeof(*w->slot));
	w->hd = malloc(cap * sizeof(double));
	w->hi = malloc(cap * sizeof(size_t));
	w->cand = malloc((cap + 1) * sizeof(size_t)); /* + 1: tile_set's last store */
	w->oldpos = malloc(ld * sizeof(size_t));
	w->vec = alloc_vec(7 * ld, &w->vecmem);
	/* a batch's sets and w->cur never evicted while the batch runs */
	w->emax = (int)(w->nslot - 1 < LW_ENTRIES ? w->nslot - 1 : LW_ENTRIES);
	w->bmax = w->emax < LW_BATCH ? w->emax : LW_BATCH;
	bad = !w->slot || !w->hd || !w->hi || !w->cand || !w->oldpos || !w->vec;
	for (size_t k = 0; !bad && k < w->nslot; k++) {
		struct lslot *t = &w->slot[k];

		t->set = malloc(cap * sizeof(size_t));
		/* co and f, then rinv, u, wz (ld each), then sx, sy, z (cap
		 * each).  f begins a vector after co's end: a multiple of 4 KiB
		 * from co (32 x 32 doubles), the factorisation's loads of a row
		 * of co waited on its stores to the same row of f, which the
		 * core took for the same address (4K aliasing; a pair's
		 * factorisation 3,657 -> 3,238 TSC ticks) */
		t->co = alloc_vec(2 * ld * ld + LK_PAD + 3 * ld + 3 * cap, &t->mem);
		bad = !t->set || !t->co;
		if (!bad) {
			t->f = t->co + ld * ld + LK_PAD;
			t->rinv = t->f + ld * ld;
			t->u = t->rinv + ld;
			t->wz = t->u + ld;
			t->sx = t->wz + ld;
			t->sy = t->sx + cap;
			t->z = t->sy + cap;
		}
	}
	if (bad) {
		lwork_release(w);
		return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
	}
	w->cj = w->vec;
	for (int m = 0; m < 2; m++)
		w->t2[m] = w->vec + (1 + m) * ld;
	for (int m = 0; m < 4; m++)
		w->c[m] = w->vec + (3 + m) * ld;
	return 0;
}

static void sift_down(struct lwork *w, size_t p)
{
	for (;;) {
		size_t c = 2 * p + 1, m = p;

		if (c < w->hn && after(w->hd[c], w->hi[c], w->hd[m], w->hi[m]))
			m = c;
		if (c + 1 < w->hn && after(w->hd[c + 1], w->hi[c + 1], w->hd[m], w->hi[m]))
			m = c + 1;
		if (m == p)
			return;
		double td = w->hd[p];
		size_t ti = w->hi[p];
		w->hd[p] = w->hd[m];
		w->hi[p] = w->hi[m];
		w->hd[m] = td;
		w->hi[m] = ti;
		p = m;
	}
}

static void offer(struct lwork *w, double d2, size_t i)
{
	if (w->hn < w->cap) {
		size_t c = w->hn++;

		/* sift up */
		while (c > 0 && after(d2, i, w->hd[(c - 1) / 2], w->hi[(c - 1) / 2])) {
			w->hd[c] = w->hd[(c - 1) / 2];
			w->hi[c] = w->hi[(c - 1) / 2];
			c = (c - 1) / 2;
		}
		w->hd[c] = d2;
		w->hi[c] = i;
	} else if (after(w->hd[0], w->hi[0], d2, i)) {
		w->hd[0] = d2;
		w->hi[0] = i;
		sift_down(w, 0);
	}
}

static void scan_bucket(const struct klocal *l, struct lwork *w, long long bx, long long by, double x, double y,
			size_t skip, double md)
{
	size_t b = (size_t)(by * l->nx + bx);

	for (size_t k = l->start[b]; k < l->start[b + 1]; k++) {
		size_t i = l->idx[k];
		double dx = x - l->sx[i], dy = y - l->sy[i], d2 = dx * dx + dy * dy;

		if (i != skip && (isinf(md) || sqrt(d2) <= md))
			offer(w, d2, i);
	}
}

/* The nmax nearest of the stations within md of (x, y) into the heap.
 * Stations in bucket ring r have d > (r - 1) h; so after ring r every
 * unvisited one is farther than r h (less a hair for rounding). */
static void search(const struct klocal *l, struct lwork *w, double x, double y, size_t skip, double md)
{
	double fx = floor((x - l->x0) / l->h), fy = floor((y - l->y0) / l->h);
	long long qx = (long long)fmax(fmin(fx, 1e15), -1e15), qy = (long long)fmax(fmin(fy, 1e15), -1e15);
	long long rmax = qx, t;

	t = l->nx - 1 - qx;
	rmax = t > rmax ? t : rmax;
	rmax = qy > rmax ? qy : rmax;
	t = l->ny - 1 - qy;
	rmax = t > rmax ? t : rmax;
	w->hn = 0;
	for (long long r = 0; r <= rmax; r++) {
		long long j0 = qy - r < 0 ? 0 : qy - r, j1 = qy + r >= l->ny ? l->ny - 1 : qy + r;
		long long i0 = qx - r < 0 ? 0 : qx - r, i1 = qx + r >= l->nx ? l->nx - 1 : qx + r;
		double bound = (double)r * l->h * (1 - 1e-9);

		for (long long j = j0; j <= j1; j++) {
			if (j == qy - r || j == qy + r) {
				for (long long i = i0; i <= i1; i++)
					scan_bucket(l, w, i, j, x, y, skip, md);
				continue;
			}
			if (qx - r >= 0 && qx - r < l->nx)
				scan_bucket(l, w, qx - r, j, x, y, skip, md);
			if (r > 0 && qx + r >= 0 && qx + r < l->nx)
				scan_bucket(l, w, qx + r, j, x, y, skip, md);
		}
		if (bound > md || (w->hn == w->cap && w->hd[0] < bound * bound))
			break;
	}
}

static double cov(const struct variogram *v, double h)
{
	return v->nugget + v->psill - variogram_gamma(v, h);
}

/* The covariances from (x, y) to the n stations (sx, sy) into out: by the
 * kernel path's cov_vec, else one by one.  Either way an entry's bits are
 * a function of the two points alone (a vector lane never sees its
 * neighbours; dx^2 does not see the sign), whichever call computes it. */
static void cov_to(const struct klocal *l, struct lwork *w, double x, double y, const double *sx, const double *sy,
		   size_t n, double *out)
{
	if (l->cov_vec) {
		l->cov_vec(l->v.model == VGM_GAUSSIAN, x, y, sx, sy, n, l->v.nugget, l->v.psill, l->v.range, out);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		double dx = x - sx[i], dy = y - sy[i];

		out[i] = cov(&l->v, sqrt(dx * dx + dy * dy));
	}
}

/* The covariance matrix of slot t's set (n stations, index order, their
 * coordinates in t->sx, t->sy) into t->co (upper triangle and diagonal of
 * n rows of ld, padding zero; the strict lower triangle may hold
 * anything).  An old station's row, the one of a station also in set o
 * (NULL: none; its matrix built), is gathered from its row of o's matrix
 * (lkernel.h's remap, its new stations' places 0 for now): the same
 * numbers as computing them again.  A new station's covariances are
 * computed as one vector, then written to its column and its row. */
static void build_cov(const struct klocal *l, struct lwork *w, const struct lslot *o, struct lslot *t, size_t n)
{
	size_t *op = w->oldpos, a = 0, ld = w->ld;
	double c0 = cov(&l->v, 0.0), *cj = w->cj;

	/* a merge of the two sorted sets without a branch on which is ahead
	 * (not predictable): op[i] is written on every step and final when
	 * i moves on */
	for (size_t i = 0, on = o ? o->n : 0; i < n;) {
		size_t si = t->set[i], sa = a < on ? o->set[a] : (size_t)-1;

		op[i] = si == sa ? a : LK_NONE;
		i += si <= sa;
		a += sa <= si && a < on;
	}
	for (size_t i = n; i < ld; i++)
		op[i] = LK_NONE; /* the padding: 0 */
	for (size_t i = 0; i < n; i++) {
		double *ri = t->co + i * ld;

		if (op[i] != LK_NONE) {
			l->ops->remap(o->co + op[i] * ld, op, i + 1, ld, ri);
		} else {
			for (size_t j = n; j < ld; j++)
				ri[j] = 0.0;
		}
		ri[i] = c0;
	}
	for (size_t j = 0; j < n; j++) {
		if (op[j] != LK_NONE)
			continue;
		cov_to(l, w, t->sx[j], t->sy[j], t->sx, t->sy, n, cj);
		for (size_t i = 0; i < j; i++)
			t->co[i * ld + j] = cj[i];
		for (size_t i = j + 1; i < n; i++)
			t->co[j * ld + i] = cj[i];
	}
}

/* Models whose covariance is nugget * I plus a positive semi-definite
 * matrix with entries in [0, C(0)] in the plane. */
static int psd_model(enum vgm_model m)
{
	return m == VGM_EXPONENTIAL || m == VGM_GAUSSIAN || m == VGM_SPHERICAL;
}

/* Reciprocal 1-norm condition number of the set's C: where the nugget
 * proves it far above KSYS_RCOND_MIN (lambda_min >= nugget, so
 * ||C^-1||_1 <= sqrt(n) / nugget, and ||C||_1 <= n C(0)), that bound, which
 * decides exactly as the estimate would (the estimate never lies below the
 * true value); else the estimate of chol_rcond on L = U^T.  NaN: no
 * memory. */
static double set_rcond(const struct klocal *l, struct lwork *w, const struct lslot *t, size_t n)
{
	double c0 = cov(&l->v, 0.0), dn = (double)n, lam = l->v.nugget - dn * c0 * 1e-14, anorm = 0.0;
	size_t ld = w->ld;

	if (psd_model(l->v.model) && lam > 0 && lam / (sqrt(dn) * dn * c0) >= 2 * KSYS_RCOND_MIN)
		return lam / (sqrt(dn) * dn * c0);
	if (!w->lt && !(w->lt = malloc((w->cap * w->cap + 3 * w->cap) * sizeof(double))))
		return NAN;
	for (size_t j = 0; j < n; j++) {
		double s = 0.0;

		/* C is symmetric and only its upper triangle is kept */
		for (size_t i = 0; i < n; i++)
			s += fabs(i <= j ? t->co[i * ld + j] : t->co[j * ld + i]);
		anorm = s > anorm ? s : anorm;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			w->lt[i * n + j] = j <= i ? t->f[j * ld + i] : 0.0;
	return chol_rcond(w->lt, n, anorm, w->lt + n * n);
}

/* Slot t takes the set cand (n stations, index order, hash h): its
 * stations and covariance matrix (pairs shared with o copied, see
 * build_cov), to be factorised into f.  t holds the set from here on
 * (other sets are looked up against it) but is not ok until finish(). */
void lset_fill(const struct klocal *l, struct lwork *w, const struct lslot *o, struct lslot *t, const size_t *cand,
	       size_t n, unsigned long long h)
{
	t->ok = 0;
	t->held = 1;
	t->hash = h;
	t->used = ++w->tick;
	memcpy(t->set, cand, n * sizeof(size_t));
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		t->sx[i] = l->sx[t->set[i]];
		t->sy[i] = l->sy[t->set[i]];
		t->z[i] = l->z[t->set[i]];
	}
	build_cov(l, w, o, t, n);
	w->solves++;
}

static int singular(const struct klocal *l, size_t n, struct error *e)
{
	return error_set(e, KD_EINPUT,
			 "the kriging system is singular: the %s covariance matrix of %zu neighbours is not "
			 "positive definite (stations too close together for this variogram; a nugget > 0 or "
			 "another model helps)",
			 vgm_model_name(l->v.model), n);
}

/* The condition check of slot t's factorised set.  t is no longer held
 * on error. */
static int check_cond(const struct klocal *l, struct lwork *w, struct lslot *t, struct error *e)
{
	size_t n = t->n;
	double rcond = set_rcond(l, w, t, n);

	if (!(rcond >= KSYS_RCOND_MIN)) /* NaN too */
		t->held = 0;
	if (isnan(rcond))
		return error_set(e, KD_ENOMEM, "out of memory for the condition estimate of %zu neighbours", n);
	if (!(rcond >= KSYS_RCOND_MIN))
		return error_set(e, KD_EINPUT,
				 "the kriging system of %zu neighbours is too ill-conditioned (reciprocal condition "
				 "%.3g < %g) for the %s model with nugget %g, psill %g, range %g m; a nugget > 0 or "
				 "another model helps",
				 n, rcond, KSYS_RCOND_MIN, vgm_model_name(l->v.model), l->v.nugget, l->v.psill, l->v.range);
	return 0;
}

/* The right-hand sides finish() solves for slot t: u <- 1, y <- z
 * (padding zero). */
static void rhs_init(const struct lwork *w, struct lslot *t, double *y)
{
	for (size_t i = 0; i < w->ld; i++) {
		t->u[i] = i < t->n ? 1.0 : 0.0;
		y[i] = i < t->n ? t->z[i] : 0.0;
	}
}

/* Slots ts[0 .. M) (M 1 or 2; one n) factorised (f = U, C = U^T U): the
 * condition checks, then u = U^-T 1, the mean's estimate b (generalised
 * least squares: u.U^-T z / u.u) and wz = U^-T (z - b 1) from U^-T z,
 * which lset_points' predictions need; solved: u and w->t2[m] already
 * hold U^-T 1 and U^-T z (lkernel's factor2s).  All are ok after; on
 * error the one that failed is no longer held, nor any after it (one
 * before it may be held, not ok). */
static int finish(const struct klocal *l, struct lwork *w, struct lslot *const *ts, int M, int solved,
		  struct error *e)
{
	const struct lkernel_ops *ops = l->ops;
	size_t ld = w->ld, n = ts[0]->n;
	int rc;

	for (int m = 0; m < M; m++)
		if ((rc = check_cond(l, w, ts[m], e)) < 0) {
			ts[M - 1]->held = 0;
			return rc;
		}
	for (int m = 0; m < M; m++) {
		struct lslot *t = ts[m];
		double utw = 0.0, *t2 = w->t2[m];

		if (!solved) {
			rhs_init(w, t, t2);
			ops->forward2(t->f, t->f, n, ld, t->rinv, t->rinv, t->u, t2);
		}
		t->utu = 0.0;
		for (size_t i = 0; i < n; i++) {
			t->utu += t->u[i] * t->u[i];
			utw += t->u[i] * t2[i];
		}
		t->b = utw / t->utu;
		for (size_t i = 0; i < ld; i++)
			t->wz[i] = i < n ? t2[i] - t->b * t->u[i] : 0.0;
		t->ok = 1;
	}
	return 0;
}

/* Factorise slot t alone (lset_fill done).  t is not held on error. */
int lset_factorise(const struct klocal *l, struct lwork *w, struct lslot *t, struct error *e)
{
	int rc;

	memcpy(t->f, t->co, t->n * w->ld * sizeof(double));
	rc = l->ops->factor(t->f, t->n, w->ld, t->rinv, l->cancelled, l->cancel_ctx);

	if (rc) {
		t->held = 0;
		return rc == LINALG_STOPPED ? error_set(e, KD_ECANCEL,
							"stopped while factorising the kriging system of %zu neighbours",
							t->n)
					    : singular(l, t->n, e);
	}
	return finish(l, w, &t, 1, 0, e);
}

/* Slots s and r (lset_fill done) factorised side by side when the kernel
 * can (factor2s: the same bits as one at a time), else in turn.  On error
 * the one that failed is not held, nor r when s failed; the error is s's
 * when s fails, else r's. */
int lset_factorise2(const struct klocal *l, struct lwork *w, struct lslot *s, struct lslot *r, struct error *e)
{
	int rc;

	if (w->ld <= LK_PAIR_MAX && s->n == r->n) {
		double *y[4] = { s->u, w->t2[0], r->u, w->t2[1] };

		rhs_init(w, s, w->t2[0]);
		rhs_init(w, r, w->t2[1]);
		if (l->ops->factor2s(s->co, r->co, s->f, r->f, s->n, w->ld, s->rinv, r->rinv, y) == 0) {
			struct lslot *ts[2] = { s, r };

			return finish(l, w, ts, 2, 1, e);
		}
		/* one is not positive definite: which, one at a time */
	}
	if ((rc = lset_factorise(l, w, s, e)) < 0) {
		r->held = 0;
		return rc;
	}
	return lset_factorise(l, w, r, e);
}

static int same_set(const struct lslot *t, const size_t *cand, size_t n, unsigned long long h)
{
	return t->held && t->hash == h && t->n == n && memcmp(t->set, cand, n * sizeof(size_t)) == 0;
}

unsigned long long lset_hash(const size_t *cand, size_t n)
{
	unsigned long long h = 14695981039346656037ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ cand[i]) * 1099511628211ULL;
	return h;
}

/* The slot that holds the set cand already (marked used), else NULL. */
struct lslot *lset_find(struct lwork *w, const size_t *cand, size_t n, unsigned long long h)
{
	if (w->cur && same_set(w->cur, cand, n, h)) {
		w->cur->used = ++w->tick;
		return w->cur;
	}
	for (size_t k = 0; k < w->nslot; k++)
		if (same_set(&w->slot[k], cand, n, h)) {
			w->slot[k].used = ++w->tick;
			return &w->slot[k];
		}
	return NULL;
}

/* The slot a new set goes to: the next one round the ring (w->hand)
 * that is not keep (a copy source) nor held and used since tick since (the
 * sets of the batch being resolved), so the oldest fill goes first.  Not
 * the least recently used: finding it scanned every slot for every new
 * set (2 % of a grid), and a strip's cells come back to the sets of the
 * row above within a few rows either way (111,585 factorisations for the
 * bench's grid against 111,162). */
struct lslot *lset_victim(struct lwork *w, unsigned long long since, const struct lslot *keep)
{
	for (size_t q = 0; q < w->nslot; q++) {
		struct lslot *s = &w->slot[w->hand];

		w->hand = w->hand + 1 == w->nslot ? 0 : w->hand + 1;
		if (s != keep && !(s->held && s->used > since))
			return s;
	}
	return NULL;
}

/* Make the set in w->cand (n stations, index order) the current one: a
 * slot that holds it already, else the next free one (lset_victim),
 * factorised.  A set's system is a function of the set alone, so which
 * slot it comes from never shows in a result. */
static int take_set(const struct klocal *l, struct lwork *w, size_t n, double x, double y, struct error *e)
{
	unsigned long long h = lset_hash(w->cand, n);
	struct lslot *t = lset_find(w, w->cand, n, h);
	int rc;

	if (!t) {
		t = lset_victim(w, w->tick, w->cur);
		lset_fill(l, w, w->cur, t, w->cand, n, h);
		if ((rc = lset_factorise(l, w, t, e)) < 0)
			return rc == KD_ECANCEL ? rc : error_prefix(e, "in the neighbourhood of (%.1f, %.1f) m: ", x, y);
	}
	w->cur = t;
	return 0;
}

/* The heap's set, sorted by index, made current. */
static int use_set(const struct klocal *l, struct lwork *w, double x, double y, struct error *e)
{
	memcpy(w->cand, w->hi, w->hn * sizeof(size_t));
	sort_idx(w->cand, w->hn);
	return take_set(l, w, w->hn, x, y, e);
}

/* Prediction and variance at M points (1 to 4; xs, ys) from one vector
 * of covariances c each, with the systems of slots ts (one n): v = U^-T c
 * (the solves side by side: four, or two and two), then the prediction
 * b + c^T C^-1 (z - b 1) = b + v.wz and the variance
 * sigma^2 = C(0) - v.v + (1 - u.v)^2 / u.u. */
void lset_points(const struct klocal *l, struct lwork *w, struct lslot *const *ts, int M, const double *xs,
		 const double *ys, double *const *pred, double *const *var)
{
	double c0 = cov(&l->v, 0.0);

	for (int m = 0; m < M; m++) {
		const struct lslot *t = ts[m];
		double *c = w->c[m];

		cov_to(l, w, xs[m], ys[m], t->sx, t->sy, t->n, c);
		for (size_t i = t->n; i < w->ld; i++)
			c[i] = 0.0;
	}
	if (M == 4) {
		const double *us[4] = { ts[0]->f, ts[1]->f, ts[2]->f, ts[3]->f };
		const double *rs[4] = { ts[0]->rinv, ts[1]->rinv, ts[2]->rinv, ts[3]->rinv };

		l->ops->forward4(us, ts[0]->n, w->ld, rs, w->c);
	} else {
		for (int m = 0; m + 1 < M; m += 2)
			l->ops->forward2(ts[m]->f, ts[m + 1]->f, ts[0]->n, w->ld, ts[m]->rinv, ts[m + 1]->rinv, w->c[m],
					 w->c[m + 1]);
		if (M % 2)
			l->ops->forward(ts[M - 1]->f, ts[0]->n, w->ld, ts[M - 1]->rinv, w->c[M - 1]);
	}
	for (int m = 0; m < M; m++) {
		const struct lslot *t = ts[m];
		const double *v = w->c[m];
		double vw = 0.0, vv = 0.0, uv = 0.0, s2;

		for (size_t i = 0; i < t->n; i++) {
			vw += v[i] * t->wz[i];
			vv += v[i] * v[i];
			uv += t->u[i] * v[i];
		}
		*pred[m] = t->b + vw;
		if (!var[0])
			continue;
		s2 = c0 - vv + (1.0 - uv) * (1.0 - uv) / t->utu;
		*var[m] = s2 > 0.0 ? s2 : 0.0;
	}
}

int klocal_at(const struct klocal *l, struct lwork *w, double x, double y, size_t skip, double *pred,
	      double *var, struct error *e)
{
	int rc;

	search(l, w, x, y, skip, l->maxdist);
	if (w->hn == 0) {
		*pred = NAN;
		if (var)
			*var = NAN;
		return 0;
	}
	if ((rc = use_set(l, w, x, y, e)) < 0)
		return rc;
	lset_points(l, w, &w->cur, 1, &x, &y, &pred, &var);
	return 0;
}

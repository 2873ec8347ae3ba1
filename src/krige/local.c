/* local.c - local-neighbourhood kriging (see local.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "linalg.h"
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
	int (*cancelled)(void *ctx); /* copied into each lwork's system */
	void *cancel_ctx;
};

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

static long long bucket_of(double v, double o, double h, long long nb)
{
	double b = floor((v - o) / h);

	if (!(b >= 0))
		return 0;
	return b >= (double)nb ? nb - 1 : (long long)b;
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

int klocal_new(struct klocal **out, const struct variogram *v, const struct stations *s, size_t nmax,
	       double maxdist, int (*cancelled)(void *ctx), void *ctx, struct error *e)
{
	struct klocal *l = calloc(1, sizeof(*l));
	size_t n = s->n, nb, *fill = NULL;

	*out = NULL;
	if (!l)
		return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
	l->v = *v;
	l->n = n;
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
	free(w->hd);
	free(w->hi);
	free(w->set);
	free(w->cand);
	free(w->vwork);
	free(w->oldpos);
	free(w->co);
	free(w->cn);
	free(w->lw);
	ksys_release(&w->sys);
	memset(w, 0, sizeof(*w));
}

int lwork_init(struct lwork *w, const struct klocal *l, struct error *e)
{
	size_t cap = l->nmax ? l->nmax : 1;

	memset(w, 0, sizeof(*w));
	w->cap = cap;
	w->hd = malloc(cap * sizeof(double));
	w->hi = malloc(cap * sizeof(size_t));
	w->set = malloc(cap * sizeof(size_t));
	w->cand = malloc(cap * sizeof(size_t));
	w->vwork = malloc(cap * sizeof(double));
	w->oldpos = malloc(cap * sizeof(size_t));
	w->lw = malloc(cap * sizeof(double));
	w->co = malloc(cap * cap * sizeof(double));
	w->cn = malloc(cap * cap * sizeof(double));
	if (!w->hd || !w->hi || !w->set || !w->cand || !w->vwork || !w->oldpos || !w->lw || !w->co || !w->cn ||
	    ksys_reserve(&w->sys, cap, e) < 0) {
		lwork_release(w);
		return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
	}
	w->sys.cancelled = l->cancelled;
	w->sys.cancel_ctx = l->cancel_ctx;
	return 0;
}

/* Heap order: farther first, then the higher station index. */
static int after(double da, size_t ia, double db, size_t ib)
{
	return da > db || (da == db && ia > ib);
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
			size_t skip)
{
	size_t b = (size_t)(by * l->nx + bx);

	for (size_t k = l->start[b]; k < l->start[b + 1]; k++) {
		size_t i = l->idx[k];
		double dx = x - l->sx[i], dy = y - l->sy[i], d2 = dx * dx + dy * dy;

		if (i != skip && (isinf(l->maxdist) || sqrt(d2) <= l->maxdist))
			offer(w, d2, i);
	}
}

/* Stations in bucket ring r have d > (r - 1) h; so after ring r every
 * unvisited one is farther than r h (less a hair for rounding). */
static void search(const struct klocal *l, struct lwork *w, double x, double y, size_t skip)
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
					scan_bucket(l, w, i, j, x, y, skip);
				continue;
			}
			if (qx - r >= 0 && qx - r < l->nx)
				scan_bucket(l, w, qx - r, j, x, y, skip);
			if (r > 0 && qx + r >= 0 && qx + r < l->nx)
				scan_bucket(l, w, qx + r, j, x, y, skip);
		}
		if (bound > l->maxdist || (w->hn == w->cap && w->hd[0] < bound * bound))
			break;
	}
}

/* At most nmax indices, nearly sorted by nothing: insertion sort. */
static void sort_idx(size_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		size_t t = v[i], j = i;

		for (; j > 0 && v[j - 1] > t; j--)
			v[j] = v[j - 1];
		v[j] = t;
	}
}

static double cov(const struct variogram *v, double h)
{
	return v->nugget + v->psill - variogram_gamma(v, h);
}

/* The covariance matrix of the new set into w->cn (n x n, both
 * triangles): pairs that were both in the old set are copied from w->co,
 * the same numbers as computing them again (both sets are in index order,
 * so a pair's difference is taken in the same order). */
static void build_cov(const struct klocal *l, struct lwork *w, size_t n)
{
	size_t *op = w->oldpos, a = 0;
	double *t;

	for (size_t i = 0; i < n; i++) {
		while (w->valid && a < w->nset && w->set[a] < w->cand[i])
			a++;
		op[i] = w->valid && a < w->nset && w->set[a] == w->cand[i] ? a : (size_t)-1;
	}
	for (size_t i = 0; i < n; i++) {
		const double *ro = op[i] != (size_t)-1 ? w->co + op[i] * w->nset : NULL;
		double *ri = w->cn + i * n;

		ri[i] = cov(&l->v, 0.0);
		for (size_t j = 0; j < i; j++) {
			double c;

			if (ro && op[j] != (size_t)-1) {
				c = ro[op[j]];
			} else {
				double dx = l->sx[w->cand[i]] - l->sx[w->cand[j]], dy = l->sy[w->cand[i]] - l->sy[w->cand[j]];

				c = cov(&l->v, sqrt(dx * dx + dy * dy));
			}
			ri[j] = w->cn[j * n + i] = c;
		}
	}
	t = w->co;
	w->co = w->cn;
	w->cn = t;
}

/* Factorise the set in w->cand (n stations, index order) into w->sys.
 * The factor's rows 0..p-1 depend only on the first p stations, so when
 * the previous set (same size) starts with the same p stations those rows,
 * and the first p entries of L^-1 1 and L^-1 z, are kept: the same numbers
 * a factorisation from scratch gives (chol_factor_rows). */
static int factorise(const struct klocal *l, struct lwork *w, size_t n, struct error *e)
{
	struct ksys *s = &w->sys;
	size_t p = 0;
	double anorm, rcond, utw = 0.0;
	int rc;

	if (w->valid && n == w->nset)
		while (p < n && w->cand[p] == w->set[p])
			p++;
	build_cov(l, w, n);
	w->valid = 0;
	memcpy(w->set, w->cand, n * sizeof(size_t));
	w->nset = n;
	s->n = n;
	for (size_t i = p; i < n; i++) {
		s->sx[i] = l->sx[w->set[i]];
		s->sy[i] = l->sy[w->set[i]];
		s->z[i] = l->z[w->set[i]];
		memcpy(s->l + i * n, w->co + i * n, (i + 1) * sizeof(double));
	}
	w->solves++;
	if ((rc = chol_factor_rows_until(s->l, n, p, s->cancelled, s->cancel_ctx)) == LINALG_STOPPED)
		return error_set(e, KD_ECANCEL, "cancelled while factorising the kriging system of %zu neighbours", n);
	if (rc)
		return error_set(e, KD_EINPUT,
				 "the kriging system is singular: the %s covariance matrix of %zu neighbours is not "
				 "positive definite (stations too close together for this variogram; a nugget > 0 or "
				 "another model helps)",
				 vgm_model_name(l->v.model), n);
	anorm = mat_norm1(w->co, n);
	rcond = chol_rcond(s->l, n, anorm, s->work);
	if (!(rcond >= KSYS_RCOND_MIN))
		return error_set(e, KD_EINPUT,
				 "the kriging system of %zu neighbours is too ill-conditioned (reciprocal condition "
				 "%.3g < %g) for the %s model with nugget %g, psill %g, range %g m; a nugget > 0 or "
				 "another model helps",
				 n, rcond, KSYS_RCOND_MIN, vgm_model_name(l->v.model), l->v.nugget, l->v.psill, l->v.range);
	for (size_t i = p; i < n; i++) {
		const double *ri = s->l + i * n;
		double su = 1.0, sw = s->z[i];

		for (size_t k = 0; k < i; k++) {
			su -= ri[k] * s->u[k];
			sw -= ri[k] * w->lw[k];
		}
		s->u[i] = su / ri[i];
		w->lw[i] = sw / ri[i];
	}
	s->utu = 0.0;
	for (size_t i = 0; i < n; i++) {
		s->utu += s->u[i] * s->u[i];
		utw += s->u[i] * w->lw[i];
	}
	s->b = utw / s->utu;
	for (size_t i = 0; i < n; i++)
		s->work[i] = s->b * s->u[i] - w->lw[i];
	chol_backward(s->l, n, s->work, s->a);
	s->suma = 0.0;
	for (size_t i = 0; i < n; i++) {
		s->rinv[i] = 1.0 / s->l[i * n + i];
		s->suma += s->a[i];
	}
	ksys_model(s, &l->v, &w->m);
	w->valid = 1;
	return 0;
}

/* Sort the found set by index and factorise it unless it is the set the
 * scratch already holds. */
static int use_set(const struct klocal *l, struct lwork *w, double x, double y, struct error *e)
{
	size_t n = w->hn;
	int rc;

	memcpy(w->cand, w->hi, n * sizeof(size_t));
	sort_idx(w->cand, n);
	if (w->valid && n == w->nset && memcmp(w->cand, w->set, n * sizeof(size_t)) == 0)
		return 0;
	if ((rc = factorise(l, w, n, e)) < 0 && rc != KD_ECANCEL)
		return error_prefix(e, "in the neighbourhood of (%.1f, %.1f) m: ", x, y);
	return rc;
}

/* Prediction and variance at one point from one vector of covariances:
 * gamma = C(0) - C(h), and sigma^2 = C(0) - v.v + (1 - u.v)^2 / u.u with
 * v = L^-1 c. */
static void point(const struct klocal *l, struct lwork *w, double x, double y, double *pred, double *var)
{
	const struct kmodel *m = &w->m;
	size_t n = m->n;
	double *c = w->vwork, sum = 0.0, vv = 0.0, uv = 0.0, s2;

	for (size_t i = 0; i < n; i++) {
		double dx = x - m->sx[i], dy = y - m->sy[i];

		c[i] = cov(&l->v, sqrt(dx * dx + dy * dy));
		sum += m->a[i] * (m->c0 - c[i]);
	}
	*pred = sum + m->b;
	if (!var)
		return;
	chol_forward(m->l, n, c, c);
	for (size_t i = 0; i < n; i++) {
		vv += c[i] * c[i];
		uv += m->u[i] * c[i];
	}
	s2 = m->c0 - vv + (1.0 - uv) * (1.0 - uv) / m->utu;
	*var = s2 > 0.0 ? s2 : 0.0;
}

int klocal_at(const struct klocal *l, struct lwork *w, double x, double y, size_t skip, double *pred,
	      double *var, struct error *e)
{
	int rc;

	search(l, w, x, y, skip);
	if (w->hn == 0) {
		*pred = NAN;
		if (var)
			*var = NAN;
		return 0;
	}
	if ((rc = use_set(l, w, x, y, e)) < 0)
		return rc;
	point(l, w, x, y, pred, var);
	return 0;
}

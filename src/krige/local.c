/* local.c - local-neighbourhood kriging (see local.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
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
	       double maxdist, struct error *e)
{
	struct klocal *l = calloc(1, sizeof(*l));
	size_t n = s->n, nb, *fill = NULL;

	*out = NULL;
	if (!l)
		return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
	l->v = *v;
	l->n = n;
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
	if (!w->hd || !w->hi || !w->set || !w->cand || !w->vwork) {
		lwork_release(w);
		return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
	}
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

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Sort the found set by index and factorise it unless it is the set the
 * scratch already holds. */
static int use_set(const struct klocal *l, struct lwork *w, double x, double y, struct error *e)
{
	size_t n = w->hn;
	int rc;

	memcpy(w->cand, w->hi, n * sizeof(size_t));
	qsort(w->cand, n, sizeof(size_t), cmp_size);
	if (w->valid && n == w->nset && memcmp(w->cand, w->set, n * sizeof(size_t)) == 0)
		return 0;
	w->valid = 0;
	memcpy(w->set, w->cand, n * sizeof(size_t));
	w->nset = n;
	if ((rc = ksys_reserve(&w->sys, n, e)) < 0)
		return rc;
	w->sys.n = n;
	for (size_t k = 0; k < n; k++) {
		w->sys.sx[k] = l->sx[w->set[k]];
		w->sys.sy[k] = l->sy[w->set[k]];
		w->sys.z[k] = l->z[w->set[k]];
	}
	w->solves++;
	if ((rc = ksys_solve(&w->sys, &l->v, e)) < 0)
		return error_prefix(e, "in the neighbourhood of (%.1f, %.1f) m: ", x, y);
	ksys_model(&w->sys, &l->v, &w->m);
	w->valid = 1;
	return 0;
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
	*pred = kref_predict(&w->m, x, y);
	if (var)
		*var = kref_variance(&w->m, x, y, w->vwork);
	return 0;
}

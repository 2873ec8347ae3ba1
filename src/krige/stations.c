/* stations.c - repair a frame's points before kriging (see krige.h).
 *
 * Points closer than 1 m are one station: they are joined transitively
 * (union-find over all pairs closer than 1 m, found by sorting on x and
 * sweeping a 1 m window, so n = 10000 spread-out points cost n log n) and
 * replaced by the mean of their coordinates and values.  The output keeps
 * the input order of each group's first point. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"
#include "krige.h"

#define MERGE_DIST 1.0 /* metres */

struct key {
	double x;
	size_t i;
};

static int key_cmp(const void *pa, const void *pb)
{
	const struct key *a = pa, *b = pb;

	if (a->x < b->x)
		return -1;
	if (a->x > b->x)
		return 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static size_t uf_find(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]]; /* path halving */
		i = parent[i];
	}
	return i;
}

/* The root is always the smallest input index, so groups are reported in
 * input order whatever the sort did. */
static void uf_union(size_t *parent, size_t a, size_t b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

void stations_release(struct stations *s)
{
	free(s->x);
	free(s->y);
	free(s->z);
	*s = (struct stations)STATIONS_INIT;
}

int stations_clean(struct stations *s, const double *x, const double *y, const double *z, size_t n,
		   struct error *e)
{
	struct key *keys = NULL;
	size_t *parent = NULL, *count = NULL, nk = 0, out = 0;
	double *sx = NULL, *sy = NULL, *sz = NULL;
	int rc = KD_ENOMEM;

	*s = (struct stations)STATIONS_INIT;
	/* calloc(0) may return NULL; ask for at least one element. */
	keys = calloc(n ? n : 1, sizeof(*keys));
	parent = calloc(n ? n : 1, sizeof(*parent));
	count = calloc(n ? n : 1, sizeof(*count));
	sx = calloc(n ? n : 1, sizeof(*sx));
	sy = calloc(n ? n : 1, sizeof(*sy));
	sz = calloc(n ? n : 1, sizeof(*sz));
	if (!keys || !parent || !count || !sx || !sy || !sz) {
		error_set(e, KD_ENOMEM, "out of memory repairing %zu stations", n);
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		parent[i] = i;
		if (isfinite(x[i]) && isfinite(y[i]) && isfinite(z[i]))
			keys[nk++] = (struct key){ x[i], i };
		else
			s->dropped++;
	}
	qsort(keys, nk, sizeof(*keys), key_cmp);
	for (size_t a = 0; a < nk; a++) {
		size_t i = keys[a].i;

		for (size_t b = a + 1; b < nk && keys[b].x - keys[a].x < MERGE_DIST; b++) {
			size_t j = keys[b].i;
			double dx = x[i] - x[j], dy = y[i] - y[j];

			if (dx * dx + dy * dy < MERGE_DIST * MERGE_DIST)
				uf_union(parent, i, j);
		}
	}
	/* Sum each group into its root's slot, in input order. */
	for (size_t i = 0; i < n; i++) {
		size_t r;

		if (!(isfinite(x[i]) && isfinite(y[i]) && isfinite(z[i])))
			continue;
		r = uf_find(parent, i);
		sx[r] += x[i];
		sy[r] += y[i];
		sz[r] += z[i];
		count[r]++;
	}
	for (size_t i = 0; i < n; i++) {
		if (count[i] == 0)
			continue;
		sx[out] = count[i] == 1 ? sx[i] : sx[i] / (double)count[i];
		sy[out] = count[i] == 1 ? sy[i] : sy[i] / (double)count[i];
		sz[out] = count[i] == 1 ? sz[i] : sz[i] / (double)count[i];
		s->merged += count[i] - 1;
		out++;
	}
	s->n = out;
	s->x = sx;
	s->y = sy;
	s->z = sz;
	sx = sy = sz = NULL;
	rc = 0;
done:
	free(keys);
	free(parent);
	free(count);
	free(sx);
	free(sy);
	free(sz);
	if (rc)
		s->dropped = s->merged = 0;
	return rc;
}

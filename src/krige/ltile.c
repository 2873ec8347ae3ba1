/* ltile.c - a row's cells of local kriging (klocal_cells, see local.h):
 * tiles of cells sharing one list of candidate stations, each cell's split
 * of that list into its nmax nearest and the rest, and batches of the new
 * sets the cells meet, factorised two at a time (local.c's lset_). */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "local_impl.h"

/* Room for need stations in the tile's lists.  0 or -1. */
static int tile_grow(struct lwork *w, size_t need)
{
	size_t cap = w->tcap ? w->tcap : 64;
	/* the lists of size_t and of double (the flags tok below) */
	size_t **zs[] = { &w->tidx, &w->ki, &w->tcp, &w->tcm };
	double **ds[] = { &w->tx, &w->ty, &w->kd, &w->tcd };
	void *p;

	if (need <= w->tcap)
		return 0;
	while (cap < need)
		cap *= 2;
	for (size_t a = 0; a < sizeof(zs) / sizeof(zs[0]); a++) {
		if (!(p = realloc(*zs[a], cap * sizeof(size_t))))
			return -1;
		*zs[a] = p;
	}
	for (size_t a = 0; a < sizeof(ds) / sizeof(ds[0]); a++) {
		if (!(p = realloc(*ds[a], cap * sizeof(double))))
			return -1;
		*ds[a] = p;
	}
	if (!(p = realloc(w->tok, cap)))
		return -1;
	w->tok = p;
	w->tcap = cap;
	return 0;
}

/* The k-th smallest (k >= 1) of v[0 .. n) (n >= k), v reordered: Wirth's
 * selection on plain values (a tie is the same value). */
static double kth_smallest(double *v, size_t n, size_t k)
{
	ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k - 1;

	while (lo < hi) {
		double p = v[kk], t;
		ptrdiff_t i = lo, j = hi;

		do {
			while (v[i] < p)
				i++;
			while (p < v[j])
				j--;
			if (i <= j) {
				t = v[i];
				v[i++] = v[j];
				v[j--] = t;
			}
		} while (i <= j);
		/* v[lo .. j] <= p <= v[i .. hi] */
		if (j < kk)
			lo = i;
		if (kk < i)
			hi = j;
	}
	return v[kk];
}

/* Every station within R of (cx, cy) into the scan's lists (station ki,
 * squared distance kd; *sn of them), in bucket order.  0 or -1 (no
 * memory). */
static int tile_scan(const struct klocal *l, struct lwork *w, double cx, double cy, double R, size_t *sn)
{
	long long i0 = bucket_of(cx - R, l->x0, l->h, l->nx), i1 = bucket_of(cx + R, l->x0, l->h, l->nx);
	long long j0 = bucket_of(cy - R, l->y0, l->h, l->ny), j1 = bucket_of(cy + R, l->y0, l->h, l->ny);
	size_t m = 0;

	for (long long j = j0; j <= j1; j++) {
		size_t k0 = l->start[j * l->nx + i0], k1 = l->start[j * l->nx + i1 + 1];

		/* room for the whole bucket row at once, not a test per station */
		if (tile_grow(w, m + (k1 - k0)))
			return -1;
		for (size_t k = k0; k < k1; k++) {
			size_t i = l->idx[k];
			double dx = cx - l->sx[i], dy = cy - l->sy[i], d2 = dx * dx + dy * dy;

			w->kd[m] = d2;
			w->ki[m] = i;
			m += d2 <= R * R;
		}
	}
	*sn = m;
	return 0;
}

/* The tile's list (tidx, tn) becomes the sn stations of ki, in index
 * order.  Most of them were in the last tile's list, which is in index
 * order already: a station's mark says whether it was (marks hold the
 * stamp of the last list that had the station), so only the new ones
 * are sorted, then merged with the last list's that stay.  0 or -1 (no
 * memory for the marks). */
static int tile_order(const struct klocal *l, struct lwork *w, size_t sn)
{
	unsigned old, now;
	size_t nn = 0, np = 0, a = 0, b = 0, m = 0, *nw = w->tcp, *out = w->tcm, *t;

	if (!w->tmark) {
		if (!(w->tmark = malloc((l->n ? l->n : 1) * sizeof(*w->tmark))))
			return -1;
		w->tstamp = UINT_MAX; /* the marks are set below */
	}
	if (w->tstamp == UINT_MAX) { /* new, or the stamps wrapped */
		memset(w->tmark, 0, l->n * sizeof(*w->tmark));
		w->tstamp = 1; /* no station has it: none is in the last list */
		w->tn = 0;
	}
	old = w->tstamp;
	now = old + 1;
	for (size_t q = 0; q < sn; q++) {
		size_t i = w->ki[q];

		nw[nn] = i;
		nn += w->tmark[i] != old;
		w->tmark[i] = now;
	}
	sort_idx(nw, nn);
	/* the last list's stations that stay, in place (the same order) */
	for (size_t q = 0; q < w->tn; q++) {
		w->tidx[np] = w->tidx[q];
		np += w->tmark[w->tidx[q]] == now;
	}
	while (a < np && b < nn)
		out[m++] = w->tidx[a] < nw[b] ? w->tidx[a++] : nw[b++];
	while (a < np)
		out[m++] = w->tidx[a++];
	while (b < nn)
		out[m++] = nw[b++];
	t = w->tidx;
	w->tidx = out;
	w->tcm = t;
	w->tn = m;
	w->tstamp = now;
	return 0;
}

/* The tile's lists for its centre (cx, cy) and half-width h: every
 * station within r of the centre, in index order, where r is maxdist + h
 * or, with fewer neighbours than stations, at most D + 2 h (D: an upper
 * bound on the centre's nmax-th distance): cell p of the tile has its
 * nmax nearest within D(p) + h <= D + 2 h of the centre.
 *
 * The nmax-th distance moves no faster than the point (1-Lipschitz), and
 * the last cell's set gave its own (w->lfar, an upper bound when its
 * list was cut short by maxdist): so next to the last cell, D is that
 * plus the distance from it, and one scan of r gives the list.
 * Elsewhere one scan of a guessed radius gives D exactly (the guess holds
 * every station within it, so its nmax-th distance is the true one) and
 * the list; a guess too short is doubled.  The next tile along the row
 * moves by about 2 h, so the last D + 4 h is the guess; without a limit
 * on nmax, r itself.  w->tdk: about the centre's D (tile_len).  0 or -1
 * (no memory). */
static int tile_gather(const struct klocal *l, struct lwork *w, double cx, double cy, double h)
{
	int nlim = l->nmax < l->n;
	double R = !nlim ? l->maxdist + h
		   : w->tdk > 0 ? w->tdk + 4 * h
				: 2 * l->h * sqrt((double)l->nmax / PER_BUCKET), r;
	double dl = w->lok ? hypot(cx - w->lx, cy - w->ly) : INFINITY;
	size_t m = 0, sn;

	if (nlim && dl <= 2 * h) {
		r = fmin(l->maxdist + h, w->lfar + dl + 2 * h);
		r = r * (1 + 1e-9) + 1e-6;
		if (tile_scan(l, w, cx, cy, r, &sn))
			return -1;
		w->tdk = w->lfar;
		m = sn;
	} else {
		for (;;) {
			R = R * (1 + 1e-9) + 1e-6;
			if (tile_scan(l, w, cx, cy, R, &sn))
				return -1;
			r = l->maxdist + h;
			if (nlim) {
				if (sn < l->nmax) {
					R *= 2;
					continue;
				}
				memcpy(w->tcd, w->kd, sn * sizeof(double));
				w->tdk = sqrt(kth_smallest(w->tcd, sn, l->nmax));
				r = fmin(r, w->tdk + 2 * h);
			}
			r = r * (1 + 1e-9) + 1e-6;
			if (r <= R)
				break;
			R = r;
		}
		for (size_t q = 0; q < sn; q++) {
			w->ki[m] = w->ki[q];
			m += w->kd[q] <= r * r;
		}
	}
	if (tile_order(l, w, m))
		return -1;
	for (size_t q = 0; q < w->tn; q++) {
		w->tx[q] = l->sx[w->tidx[q]];
		w->ty[q] = l->sy[w->tidx[q]];
	}
	return 0;
}

/* Insertion sort of the tile's positions sm by (distance sd, position):
 * positions are in index order, so that is (distance, index) order. */
static void tile_sort(size_t *sm, double *sd, size_t tn)
{
	for (size_t q = 1; q < tn; q++) {
		double d = sd[q];
		size_t m = sm[q], j = q;

		for (; j > 0 && after(sd[j - 1], sm[j - 1], d, m); j--) {
			sd[j] = sd[j - 1];
			sm[j] = sm[j - 1];
		}
		sd[j] = d;
		sm[j] = m;
	}
}

/* Swap entries a and b of the tile's (position, distance) pairs. */
static void tile_swap(size_t *sm, double *sd, size_t a, size_t b)
{
	double td = sd[a];
	size_t tm = sm[a];

	sd[a] = sd[b];
	sm[a] = sm[b];
	sd[b] = td;
	sm[b] = tm;
}

/* Put the kk first of sm[0 .. tn) in (distance, position) order in front
 * (in no order): quickselect, Lomuto partitions around the middle entry.
 * Positions are distinct, so the order is total and every step shrinks
 * the range.  The partition swaps every entry, and moves its boundary by
 * the compare's result: which entries go left is not predictable, and a
 * branch on it was mispredicted about every other time. */
static void tile_select(size_t *sm, double *sd, size_t kk, size_t tn)
{
	size_t lo = 0, hi = tn - 1;

	while (kk > 0 && kk < tn && lo < hi) {
		size_t mid = lo + (hi - lo) / 2, i = lo;
		double pd;
		size_t pm;

		tile_swap(sm, sd, mid, hi);
		pd = sd[hi];
		pm = sm[hi];
		for (size_t j = lo; j < hi; j++) {
			double dj = sd[j];
			size_t mj = sm[j];
			/* sd[i .. j) all come after the pivot: entry j goes
			 * to i, and i's to j, either way */
			size_t in = (size_t)((pd > dj) | ((pd == dj) & (pm > mj))); /* after() */

			sd[j] = sd[i];
			sm[j] = sm[i];
			sd[i] = dj;
			sm[i] = mj;
			i += in;
		}
		tile_swap(sm, sd, i, hi);
		/* sm[lo .. i) come before sm[i], sm(i .. hi] after it */
		if (i == kk - 1 || i == kk)
			return;
		if (i > kk)
			hi = i - 1;
		else
			lo = i + 1;
	}
}

/* Move the entries of sm[0 .. n) (with sd) that pass the test to the
 * front, without a branch on it; returns how many.  below: sd < t; else
 * !(sd > t) (a NaN passes). */
static size_t tile_part(size_t *sm, double *sd, size_t n, double t, int below)
{
	size_t i = 0;

	for (size_t j = 0; j < n; j++) {
		double dj = sd[j];
		size_t mj = sm[j], in = below ? (size_t)(dj < t) : (size_t)!(dj > t);

		sd[j] = sd[i];
		sm[j] = sm[i];
		sd[i] = dj;
		sm[i] = mj;
		i += in;
	}
	return i;
}

/* A tile's first cell (x, y): its kk first of sm[0 .. tn) in front, as
 * tile_select.  Next to the last cell (w->lok, its kk-th distance lfar
 * exact), this cell's kk-th distance D is within lfar -+ d, d the
 * distance between them (1-Lipschitz): those nearer than lfar - d are in
 * (nearer than D), those beyond lfar + d out, so only the few in the
 * ring between are selected among.  Without maxdist only: a list cut by
 * maxdist may lack some of the true nearest, and its kk-th distance is
 * then not the point's. */
static void tile_first(const struct klocal *l, struct lwork *w, double x, double y, size_t *sm, double *sd,
		       size_t kk, size_t tn)
{
	if (w->lok && kk == l->nmax && kk < tn && isinf(l->maxdist)) {
		double dx = x - w->lx, dy = y - w->ly, d = sqrt(dx * dx + dy * dy);
		double lo = w->lfar - d, hi = w->lfar + d;
		size_t na, nc;

		/* squared, with a margin for the distances' rounding */
		lo = lo > 0 ? lo * lo * (1 - 1e-9) : 0.0;
		hi = hi * hi * (1 + 1e-9) + 1e-9;
		na = tile_part(sm, sd, tn, lo, 1);
		nc = tile_part(sm + na, sd + na, tn - na, hi, 0);
		if (na < kk && na + nc >= kk) {
			tile_select(sm + na, sd + na, kk - na, nc);
			return;
		}
		/* not a bound after all (a NaN): select among them all */
	}
	tile_select(sm, sd, kk, tn);
}

/* Make sm[0 .. kk) the kk first of sm[0 .. tn) in (distance, position)
 * order, from a split that was right for a nearby cell.  With in the
 * first part's largest distance and out the rest's smallest, only those
 * of the first part at or beyond out and those of the rest at or before
 * in can cross; every other one of the first part is nearer than all of
 * them, every other one of the rest farther.  So those few are sorted
 * and the first of them fill the first part's places.  Returns how many
 * came in from the rest (0: the same set), or -1 (a NaN distance: no
 * order; the caller sorts instead); *far: the kk-th distance. */
static int tile_split(struct lwork *w, size_t *sm, double *sd, size_t kk, size_t tn, double *far)
{
	double in = sd[0], out = INFINITY, *cd = w->tcd;
	double ia[3] = { -INFINITY, -INFINITY, -INFINITY }, oa[3] = { INFINITY, INFINITY, INFINITY };
	size_t nc = 0, na, q, *cp = w->tcp, *cm = w->tcm;
	unsigned char *from = w->tok; /* scratch here: tile_set fills it after */
	int moved = 0;

	/* most cells: every one of the first part strictly nearer than all
	 * of the rest, plain compares without the tie rule.  Four running
	 * maxima (minima) instead of one chain of dependent compares: the
	 * same result (a NaN is ignored unless it is sd[0], as before) */
	for (q = 1; q + 4 <= kk; q += 4) {
		in = sd[q] > in ? sd[q] : in;
		ia[0] = sd[q + 1] > ia[0] ? sd[q + 1] : ia[0];
		ia[1] = sd[q + 2] > ia[1] ? sd[q + 2] : ia[1];
		ia[2] = sd[q + 3] > ia[2] ? sd[q + 3] : ia[2];
	}
	for (; q < kk; q++)
		in = sd[q] > in ? sd[q] : in;
	for (int a = 0; a < 3; a++)
		in = ia[a] > in ? ia[a] : in;
	for (q = kk; q + 4 <= tn; q += 4) {
		out = sd[q] < out ? sd[q] : out;
		oa[0] = sd[q + 1] < oa[0] ? sd[q + 1] : oa[0];
		oa[1] = sd[q + 2] < oa[1] ? sd[q + 2] : oa[1];
		oa[2] = sd[q + 3] < oa[2] ? sd[q + 3] : oa[2];
	}
	for (; q < tn; q++)
		out = sd[q] < out ? sd[q] : out;
	for (int a = 0; a < 3; a++)
		out = oa[a] < out ? oa[a] : out;
	if (in < out) {
		*far = in;
		return 0;
	}
	if (isnan(in) || isnan(out))
		return -1;
	/* the ones that may cross (no branch: which are is not predictable) */
	for (q = 0; q < kk; q++) {
		cp[nc] = q;
		nc += sd[q] >= out;
	}
	na = nc;
	for (q = kk; q < tn; q++) {
		cp[nc] = q;
		nc += sd[q] <= in;
	}
	if (na == 0) /* in >= out yet none at or beyond out: a NaN */
		return -1;
	/* a few: insertion sort by (distance, position) */
	for (size_t j = 0; j < nc; j++) {
		double d = sd[cp[j]];
		size_t m = sm[cp[j]], i = j;
		unsigned char f = j >= na;

		for (; i > 0 && after(cd[i - 1], cm[i - 1], d, m); i--) {
			cd[i] = cd[i - 1];
			cm[i] = cm[i - 1];
			from[i] = from[i - 1];
		}
		cd[i] = d;
		cm[i] = m;
		from[i] = f;
	}
	for (size_t j = 0; j < nc; j++) {
		sd[cp[j]] = cd[j];
		sm[cp[j]] = cm[j];
		moved += j < na && from[j];
	}
	*far = cd[na - 1];
	return moved;
}

/* The neighbour set of (x, y) from the tile's lists, which hold every
 * station that can be in it, into w->cand in index order: the same
 * stations the search picks (same distances, same order); returns its
 * size.  The tile's positions are split into the nmax nearest and the
 * rest: selected for the tile's first cell, then each next cell moves the
 * few stations that cross the split.  When the last cell's set is still
 * the set of this one, returns it with *same set and leaves w->cand
 * alone. */
static size_t tile_set(const struct klocal *l, struct lwork *w, double x, double y, int first, int *same)
{
	size_t tn = w->tn, n = 0, k = l->nmax, *sm = w->ki, kk = tn < k ? tn : k;
	double md = l->maxdist, *sd = w->kd, far;
	int swaps;

	*same = 0;
	if (tn == 0) /* the lists may not even exist yet */
		return 0;

	if (first)
		for (size_t q = 0; q < tn; q++)
			sm[q] = q;
	l->ops->dist2(x, y, w->tx, w->ty, sm, tn, sd);
	if (first)
		tile_first(l, w, x, y, sm, sd, kk, tn);
	swaps = tile_split(w, sm, sd, kk, tn, &far);
	if (swaps < 0) {
		tile_sort(sm, sd, tn);
		far = sd[kk - 1];
	}
	/* the cell's nmax-th distance, or more (the list cut by maxdist), for
	 * the next tile's radius (tile_gather) */
	w->lok = kk == l->nmax;
	w->lfar = sqrt(far);
	w->lx = x;
	w->ly = y;
	/* the kk nearest all within maxdist, and the same as the last cell's */
	if (!first && swaps == 0 && w->tprev == kk && (isinf(md) || sqrt(far) <= md)) {
		*same = 1;
		return kk;
	}
	/* the set: those of the kk nearest within maxdist */
	memset(w->tok, 0, tn);
	for (size_t q = 0; q < kk; q++)
		if (isinf(md) || sqrt(sd[q]) <= md)
			w->tok[sm[q]] = 1;
	/* without a branch: which of them are in is not predictable */
	for (size_t m = 0; m < tn; m++) {
		w->cand[n] = w->tidx[m];
		n += w->tok[m];
	}
	w->tprev = n;
	return n;
}

/* Cells per tile: the tile's half-width about an eighth of the last
 * tile's neighbourhood radius (candidates stay near nmax), 1 to 32. */
static int tile_len(const struct lwork *w, const double *xs, int nc)
{
	double step = nc > 1 ? fabs(xs[1] - xs[0]) : 0.0;
	double t = step > 0 && w->tdk > 0 ? w->tdk / (4 * step) : 8;

	return t < 1 ? 1 : t > 32 ? 32 : (int)t;
}

/* Cell c's new set (w->cand, n stations) into the batch: the slot that
 * holds it, else a slot filled with it now (pairs shared with the set
 * before copied), to be factorised with the batch. */
static void batch_add(const struct klocal *l, struct lwork *w, size_t n, int c)
{
	unsigned long long h = lset_hash(w->cand, n);
	struct lslot *t = lset_find(w, w->cand, n, h);

	if (!t) {
		/* not one the batch uses (used since it began), nor w->cur,
		 * the first one's copy source */
		t = lset_victim(w, w->bsince, w->cur);
		lset_fill(l, w, w->nb ? w->bslot[w->nb - 1] : w->cur, t, w->cand, n, h);
		w->fcell[w->nf] = c;
		w->fresh[w->nf++] = t;
	}
	w->bslot[w->nb++] = t;
}

/* The batch's new sets factorised two by two, then the cells b0 .. b1,
 * which use its sets; a batch after it starts with its last set (the
 * one the next cells may still have).  On error no slot of the batch is
 * left half done. */
static int run_batch(const struct klocal *l, struct lwork *w, const double *xs, int b0, int b1, double y,
		     double *pred, double *var, struct error *e)
{
	struct lslot **fresh = w->fresh;
	int nf = w->nf, rc;

	for (int k = 0; k < nf; k += 2) {
		rc = k + 1 < nf ? lset_factorise2(l, w, fresh[k], fresh[k + 1], e) : lset_factorise(l, w, fresh[k], e);
		if (rc < 0) {
			/* the failed one is no longer held (lset_factorise2) */
			int c = w->fcell[fresh[k]->held ? k + 1 : k];

			for (int j = 0; j < nf; j++)
				if (!fresh[j]->ok)
					fresh[j]->held = 0;
			w->cur = NULL;
			w->tprev = 0; /* the split's set is in no slot */
			w->nb = w->nf = 0;
			return rc == KD_ECANCEL ? rc : error_prefix(e, "in the neighbourhood of (%.1f, %.1f) m: ", xs[c], y);
		}
	}
	/* the cells up to four at a time where those in a row have sets of
	 * one size (their variance solves side by side) */
	for (int c = b0, m; c < b1; c += m) {
		int b = w->cset[c];
		struct lslot *ts[4];
		double ys[4] = { y, y, y, y }, *pp[4], *vp[4];

		m = 1;
		if (b < 0) {
			pred[c] = NAN;
			if (var)
				var[c] = NAN;
			continue;
		}
		ts[0] = w->bslot[b];
		while (m < 4 && c + m < b1 && w->cset[c + m] >= 0 && w->bslot[w->cset[c + m]]->n == ts[0]->n) {
			ts[m] = w->bslot[w->cset[c + m]];
			m++;
		}
		for (int q = 0; q < m; q++) {
			pp[q] = pred + c + q;
			vp[q] = var ? var + c + q : NULL;
		}
		lset_points(l, w, ts, m, xs + c, ys, pp, vp);
	}
	if (w->nb > 0) {
		w->cur = w->bslot[w->nb - 1];
		w->bslot[0] = w->cur;
		w->nb = 1;
	}
	w->nf = 0;
	w->bsince = w->tick;
	return 0;
}

int klocal_cells(const struct klocal *l, struct lwork *w, const double *xs, int nc, double y, double *pred,
		 double *var, struct error *e)
{
	int rc, b0 = 0;

	if (nc <= 0)
		return 0;
	if ((size_t)nc > w->ncset) {
		int *p = realloc(w->cset, (size_t)nc * sizeof(int));

		if (!p)
			return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
		w->cset = p;
		w->ncset = (size_t)nc;
	}
	w->nb = w->nf = 0;
	w->bsince = w->tick;
	for (int c0 = 0, c1; c0 < nc; c0 = c1) {
		double cx, h = 0.0;

		c1 = c0 + tile_len(w, xs + c0, nc - c0);
		c1 = c1 > nc ? nc : c1;
		cx = (xs[c0] + xs[c1 - 1]) / 2;
		for (int c = c0; c < c1; c++)
			h = fmax(h, fabs(xs[c] - cx));
		if (tile_gather(l, w, cx, y, h))
			return error_set(e, KD_ENOMEM, "out of memory for the neighbourhood search");
		for (int c = c0; c < c1; c++) {
			int same;
			size_t n = tile_set(l, w, xs[c], y, c == c0, &same);

			if (n == 0) {
				w->cset[c] = -1;
				continue;
			}
			/* same: the batch's last set (a tile's first cell is
			 * never same, nor one after a cell with no set; a
			 * batch starts with the last one's last set) */
			if (!same) {
				/* nb >= emax, not ==: sets found in the cache
				 * join a batch too, and after a batch the next
				 * starts at 1 (its last set): room for a victim
				 * needs fewer than the slots in use */
				if (w->nf == w->bmax || w->nb >= w->emax) {
					if ((rc = run_batch(l, w, xs, b0, c, y, pred, var, e)) < 0)
						return rc;
					b0 = c;
				}
				batch_add(l, w, n, c);
			}
			w->cset[c] = w->nb - 1;
		}
	}
	return run_batch(l, w, xs, b0, nc, y, pred, var, e);
}

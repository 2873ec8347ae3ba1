/* krige.c - ordinary kriging, global neighbourhood (see krige.h).
 *
 * The ordinary kriging system in dual form is
 *     [G 1; 1^T 0] [a; b] = [z; 0],  G_ij = gamma(|x_i - x_j|),
 * and then z*(x) = sum_i a_i gamma(|x - x_i|) + b.  With the covariance
 * C(h) = s - gamma(h), s = nugget + psill, we have G = s 1 1^T - C, and
 * because 1^T a = 0 the first block row reads -C a + b 1 = z.  So
 *     a = C^-1 (b 1 - z),  b = (1^T C^-1 z) / (1^T C^-1 1),
 * the same solution, obtained from the Cholesky factor L of C (which the
 * variance needs anyway): with u = L^-1 1 and w = L^-1 z, b = u.w / u.u and
 * a = L^-T (b u - w).  Cholesky costs half an LU and is stable for the
 * positive definite C of a valid model at distinct stations; a matrix that
 * is not numerically positive definite, or whose condition estimate is
 * too poor, is reported as KD_EINPUT.
 *
 * The per-cell work is done by a kernel over plain arrays (kernel.h):
 * the scalar reference below, the portable path, or an AVX2 / AVX-512 path
 * picked once per process by a CPU check or KRIGD_KERNEL. */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <stdio.h>

#include "error.h"
#include "kernel.h"
#include "krige.h"
#include "linalg.h"
#include "local.h"
#include "mtab.h"
#include "system.h"
#include "raster.h"

struct krige {
	struct variogram v;
	size_t n;
	struct ksys sys;     /* the global system (unused when local) */
	struct kmodel m;     /* the same, as the kernels see it */
	const struct kernel_ops *ops;
	struct klocal *local; /* the neighbourhood search, or NULL: global */
	struct mtab *mt;      /* global matern: the correlation table the cells use */
	int (*cancelled)(void *ctx); /* krige_open_until's hook, or NULL */
	void *cancel_ctx;
};

static struct variogram kmodel_variogram(const struct kmodel *m)
{
	return (struct variogram){ (enum vgm_model)m->model, m->nugget, m->psill, m->range, m->kappa };
}

/* gamma(h) of the model: variogram_gamma, or for matern with a table the
 * table's correlation (within 1e-14 of it, mtab.h). */
static double kgamma(const struct kmodel *m, const struct variogram *v, double h)
{
	if (m->mt && h > 0.0)
		return m->nugget + m->psill * (1.0 - mtab_corr(m->mt, h));
	return variogram_gamma(v, h);
}

/* The reference: N model evaluations through variogram_gamma and a dot
 * product per cell, stations summed in order 0..n-1.  Every other path is
 * checked against this one (tests/test_kernels.c). */
double kref_predict(const struct kmodel *m, double x, double y)
{
	struct variogram v = kmodel_variogram(m);
	double sum = 0.0;

	for (size_t i = 0; i < m->n; i++) {
		double dx = x - m->sx[i], dy = y - m->sy[i];

		sum += m->a[i] * kgamma(m, &v, sqrt(dx * dx + dy * dy));
	}
	return sum + m->b;
}

static void row_scalar(const struct kmodel *m, struct kwork *w, double y)
{
	(void)m;
	(void)w;
	(void)y;
}

static void predict_scalar(const struct kmodel *m, const struct kwork *w, double y, const double *xs, int n,
			   const double *ex, size_t stride, double *out)
{
	(void)w;
	(void)ex;
	(void)stride;
	for (int c = 0; c < n; c++)
		out[c] = kref_predict(m, xs[c], y);
}

/* sigma^2 = C(0) - v.v + (1 - u.v)^2 / u.u with v = L^-1 c(x); work holds
 * n doubles.  Clamped at 0: rounding can make it a hair negative at a
 * station. */
double kref_variance(const struct kmodel *m, double x, double y, double *work)
{
	struct variogram v = kmodel_variogram(m);
	size_t n = m->n;
	double vv = 0.0, uv = 0.0, s2;

	for (size_t i = 0; i < n; i++) {
		double dx = x - m->sx[i], dy = y - m->sy[i];

		work[i] = m->c0 - kgamma(m, &v, sqrt(dx * dx + dy * dy));
	}
	chol_forward(m->l, n, work, work);
	for (size_t i = 0; i < n; i++) {
		vv += work[i] * work[i];
		uv += m->u[i] * work[i];
	}
	s2 = m->c0 - vv + (1.0 - uv) * (1.0 - uv) / m->utu;
	return s2 > 0.0 ? s2 : 0.0;
}

static void variance_scalar(const struct kmodel *m, struct kwork *w, double y, const double *xs, int n,
			    double *out)
{
	for (int c = 0; c < n; c++)
		out[c] = kref_variance(m, xs[c], y, w->blk);
}

static void gauss_table_scalar(const struct kmodel *m, const double *xs, int n, double *ex, size_t stride)
{
	for (size_t i = 0; i < m->n; i++)
		for (int c = 0; c < n; c++) {
			double dx = (xs[c] - m->sx[i]) / m->range;

			ex[i * stride + c] = exp(-dx * dx);
		}
}

static void vexp_scalar(const double *x, double *y, size_t n)
{
	for (size_t i = 0; i < n; i++)
		y[i] = exp(x[i]);
}

static void cov_vec_scalar(int gauss, double x, double y, const double *sx, const double *sy, size_t n, double nugget,
			   double psill, double range, double *out)
{
	for (size_t i = 0; i < n; i++) {
		double dx = x - sx[i], dy = y - sy[i], h = sqrt(dx * dx + dy * dy), r = h / range;

		/* variogram_gamma's bits: libm's exp, the same formula */
		out[i] = h == 0.0 ? nugget + psill
				  : nugget + psill - (nugget + psill * (1.0 - exp(gauss ? -(r * r) : -r)));
	}
}

static double cov_row_scalar(int gauss, double x, double y, const double *sx, const double *sy, size_t n,
			     double nugget, double psill, double range, double *out, double *colsum)
{
	double sum = 0.0;

	cov_vec_scalar(gauss, x, y, sx, sy, n, nugget, psill, range, out);
	for (size_t i = 0; i < n; i++) {
		colsum[i] += fabs(out[i]);
		sum += fabs(out[i]);
	}
	return sum;
}

static const struct kernel_ops kernel_scalar = {
	"scalar", row_scalar, predict_scalar, variance_scalar, gauss_table_scalar, vexp_scalar, cov_row_scalar, cov_vec_scalar,
};

int kwork_init(struct kwork *w, size_t n)
{
	memset(w, 0, sizeof(*w));
	w->w = malloc(n * sizeof(double));
	w->d = malloc(n * sizeof(double));
	w->near = malloc(n * sizeof(size_t));
	/* On cache lines: the variance kernels load its rows as whole vectors
	 * (n * KBLOCK doubles is a multiple of 64 bytes, as aligned_alloc wants). */
	w->blk = aligned_alloc(64, n * KBLOCK * sizeof(double));
	if (!w->w || !w->d || !w->near || !w->blk) {
		kwork_release(w);
		return -1;
	}
	return 0;
}

void kwork_release(struct kwork *w)
{
	free(w->w);
	free(w->d);
	free(w->near);
	free(w->blk);
	memset(w, 0, sizeof(*w));
}

/* The paths this build has and this CPU runs. */
const struct kernel_ops *kernel_get(const char *name)
{
	if (strcmp(name, "scalar") == 0)
		return &kernel_scalar;
	if (strcmp(name, "portable") == 0)
		return &kernel_portable;
#ifdef KD_SIMD_X86
	__builtin_cpu_init();
	if (strcmp(name, "avx2") == 0)
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &kernel_avx2 : NULL;
	if (strcmp(name, "avx512") == 0)
		return __builtin_cpu_supports("avx512f") ? &kernel_avx512 : NULL;
#endif
	return NULL;
}

/* Picked once per process: KRIGD_KERNEL if set, else the widest path the
 * CPU has.  A KRIGD_KERNEL this build or CPU cannot run is not silently
 * replaced: krige_new fails with a message naming it. */
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;
static const struct kernel_ops *kernel_default;
static char kernel_env[16];

static void kernel_pick(void)
{
	const char *env = getenv("KRIGD_KERNEL");

	if (env && *env) {
		snprintf(kernel_env, sizeof(kernel_env), "%s", env);
		kernel_default = strlen(env) < sizeof(kernel_env) ? kernel_get(env) : NULL;
		return;
	}
	kernel_default = kernel_get("avx512");
	if (!kernel_default)
		kernel_default = kernel_get("avx2");
	if (!kernel_default)
		kernel_default = &kernel_portable;
}

/* The matern model has no vector form (its K_nu is a series or a continued
 * fraction per distance): every path runs it through the scalar reference,
 * and krige_kernel says "scalar". */
static const struct kernel_ops *model_ops(const struct krige *k, const struct kernel_ops *ops)
{
	return k->v.model == VGM_MATERN ? &kernel_scalar : ops;
}

int krige_set_kernel(struct krige *k, const char *name, struct error *e)
{
	const struct kernel_ops *ops = kernel_get(name);

	if (!ops)
		return error_set(e, KD_EINPUT,
				 "kriging kernel \"%s\" is unknown or not supported by this build and CPU "
				 "(scalar, portable%s)",
				 name,
#ifdef KD_SIMD_X86
				 ", avx2 with AVX2+FMA, avx512 with AVX-512F"
#else
				 "; built with --disable-simd"
#endif
		);
	k->ops = model_ops(k, ops);
	return 0;
}

const struct kmodel *krige_kmodel(const struct krige *k)
{
	return &k->m;
}

const char *krige_kernel(const struct krige *k)
{
	return k->ops->name;
}

void krige_free(struct krige *k)
{
	if (!k)
		return;
	ksys_release(&k->sys);
	klocal_free(k->local);
	mtab_free(k->mt);
	free(k);
}

/* Global: all stations in one system, factorised here. */
static int open_global(struct krige *k, const struct stations *s, int keep_factor, int threads, struct error *e)
{
	int rc;

	if ((rc = ksys_reserve(&k->sys, s->n, e)) < 0)
		return rc;
	k->sys.n = s->n;
	memcpy(k->sys.sx, s->x, s->n * sizeof(double));
	memcpy(k->sys.sy, s->y, s->n * sizeof(double));
	memcpy(k->sys.z, s->z, s->n * sizeof(double));
	k->sys.cancelled = k->cancelled;
	k->sys.cancel_ctx = k->cancel_ctx;
	k->sys.threads = threads;
	/* the kernel path's exp (what its cells' covariances use too) */
	k->sys.cov_row = k->ops->cov_row;
	if ((rc = ksys_solve(&k->sys, &k->v, e)) < 0)
		return rc;
	if (!keep_factor) { /* n^2 doubles nobody will read */
		free(k->sys.l);
		free(k->sys.rinv);
		k->sys.l = k->sys.rinv = NULL;
	}
	ksys_model(&k->sys, &k->v, &k->m);
	if (k->v.model == VGM_MATERN) { /* the cells' covariances from a table */
		if (!(k->mt = mtab_new(k->v.kappa, k->v.range)))
			return error_set(e, KD_ENOMEM, "out of memory for the matern table");
		k->m.mt = k->mt;
	}
	return 0;
}

int krige_open(struct krige **out, const struct variogram *v, const struct stations *s,
	       const struct krige_opts *o, struct error *e)
{
	return krige_open_until(out, v, s, o, NULL, NULL, e);
}

int krige_open_until(struct krige **out, const struct variogram *v, const struct stations *s,
		     const struct krige_opts *o, int (*cancelled)(void *ctx), void *ctx, struct error *e)
{
	struct krige *k;
	size_t n = s->n;
	int rc;

	*out = NULL;
	if ((rc = variogram_check(v, e)))
		return rc;
	if (n < 1)
		return error_set(e, KD_EINPUT, "kriging needs at least 1 station, got none");
	if (!(o->maxdist > 0))
		return error_set(e, KD_EINPUT, "maxdist must be > 0 metres, got %g", o->maxdist);
	k = calloc(1, sizeof(*k));
	if (!k)
		return error_set(e, KD_ENOMEM, "out of memory for the kriging system");
	k->v = *v;
	k->n = n;
	k->cancelled = cancelled;
	k->cancel_ctx = ctx;
	pthread_once(&kernel_once, kernel_pick);
	if (!kernel_default) {
		rc = krige_set_kernel(k, kernel_env, e);
		error_prefix(e, "KRIGD_KERNEL: ");
		goto fail;
	}
	k->ops = model_ops(k, kernel_default);
	if ((o->nmax > 0 && o->nmax < n) || isfinite(o->maxdist))
		rc = klocal_new(&k->local, v, s, o->nmax, o->maxdist, k->ops->name, cancelled, ctx, e);
	else
		rc = open_global(k, s, o->variance || o->cv, o->threads, e);
	if (rc < 0)
		goto fail;
	*out = k;
	return 0;
fail:
	krige_free(k);
	return rc;
}

int krige_new(struct krige **out, const struct variogram *v, const struct stations *s, int want_variance,
	      struct error *e)
{
	struct krige_opts o = { want_variance, 0, 0, INFINITY, 1 };

	return krige_open(out, v, s, &o, e);
}

int krige_is_local(const struct krige *k)
{
	return k->local != NULL;
}

double krige_local_cost(size_t cells, size_t n, size_t nmax)
{
	double m = (double)(nmax == 0 || nmax > n ? n : nmax);

	/* per cell: a factorisation (m^3 / 3 + the condition estimate's few
	 * m^2 solves), the variance's m^2 / 2 and 2 m model evaluations. */
	return (double)cells * (m * m * m / 3.0 + 6.0 * m * m + 40.0 * m);
}

/* The kernel, then the cells exactly at a station (on this row) through
 * the reference, so gamma(0) = 0 there whatever the path. */
static void predict_cells(const struct krige *k, struct kwork *w, double y, const double *xs, int ncell,
			  const double *ex, size_t stride, double *out)
{
	k->ops->predict(&k->m, w, y, xs, ncell, ex, stride, out);
	if (k->ops == &kernel_scalar)
		return;
	for (size_t i = 0; i < k->n; i++) {
		if (k->m.sy[i] != y)
			continue;
		for (int c = 0; c < ncell; c++)
			if (xs[c] == k->m.sx[i])
				out[c] = kref_predict(&k->m, xs[c], y);
	}
}

/* One point through the neighbourhood search: NaN on any error. */
static double local_at(const struct krige *k, double x, double y, int want_var)
{
	struct lwork w;
	struct error e = { 0 };
	double p = NAN, v = NAN;

	if (lwork_init(&w, k->local, &e) < 0)
		return NAN;
	if (klocal_at(k->local, &w, x, y, (size_t)-1, &p, want_var ? &v : NULL, &e) < 0)
		p = v = NAN;
	lwork_release(&w);
	return want_var ? v : p;
}

double krige_predict(const struct krige *k, double x, double y)
{
	struct kwork w;
	double out;

	if (k->local)
		return local_at(k, x, y, 0);
	if (kwork_init(&w, k->n))
		return NAN;
	k->ops->row(&k->m, &w, y);
	predict_cells(k, &w, y, &x, 1, NULL, 0, &out);
	kwork_release(&w);
	return out;
}

double krige_variance(const struct krige *k, double x, double y)
{
	struct kwork w;
	double s2;

	if (k->local)
		return local_at(k, x, y, 1);
	if (!k->m.l || kwork_init(&w, k->n))
		return NAN;
	k->ops->variance(&k->m, &w, y, &x, 1, &s2);
	kwork_release(&w);
	return s2;
}

struct grid_job {
	const struct krige *k;
	const struct grid *g;
	const double *ex; /* gaussian x-factor table (n x width) or NULL */
	double *value, *variance;
	/* the next row (strip of a local grid) not yet taken, shared: each
	 * thread takes one at a time, so a thread on a slower or busier CPU
	 * simply takes fewer (the order never shows in a result) */
	atomic_int *next;
	int (*cancelled)(void *ctx);
	void *ctx;
	volatile int *stop; /* shared by the threads of one grid: one saw a cancel */
	int rc;
	struct error err; /* why, when rc says */
};

/* Cells predicted between two looks at the cancel callback. */
#define GRID_BLOCK 64

/* Columns per strip of a local grid, and rows between two looks at the
 * cancel callback (below). */
#define LOCAL_STEP 16
#define LOCAL_LOOK 4

/* The cells of columns [x0, x1) of row r through klocal_cells, right to
 * left when back: a strip's rows are swept back and forth, so that each
 * row begins next to where the row before ended (its first tile's list
 * is then mostly the last tile's, tile_gather and tile_order).  *did:
 * whether the row has cells there. */
static int local_cols(struct grid_job *j, struct lwork *w, int r, int x0, int x1, int back, int *did)
{
	const struct grid *g = j->g;
	double y = grid_y(g, grid_lat(g, r)), xs[LOCAL_STEP], pv[LOCAL_STEP], vv[LOCAL_STEP];
	size_t row = (size_t)r * (size_t)g->width, ns = g->row_span[r + 1] - g->row_span[r];
	int rc = 0;

	*did = 0;
	for (size_t q = 0; q < ns && rc == 0; q++) {
		size_t sp = g->row_span[r] + (back ? ns - 1 - q : q);
		int c0 = g->span[sp].c0 > x0 ? g->span[sp].c0 : x0, c1 = g->span[sp].c1 < x1 ? g->span[sp].c1 : x1;
		double *val = j->value + row + c0, *var = j->variance ? j->variance + row + c0 : NULL;

		if (c0 >= c1)
			continue;
		*did = 1;
		if (!back) {
			for (int c = c0; c < c1; c++)
				xs[c - c0] = grid_x(g, grid_lon(g, c));
			rc = klocal_cells(j->k->local, w, xs, c1 - c0, y, val, var, &j->err);
			continue;
		}
		for (int c = c0; c < c1; c++)
			xs[c1 - 1 - c] = grid_x(g, grid_lon(g, c));
		rc = klocal_cells(j->k->local, w, xs, c1 - c0, y, pv, var ? vv : NULL, &j->err);
		for (int c = c0; c < c1; c++) {
			val[c - c0] = pv[c1 - 1 - c];
			if (var)
				var[c - c0] = vv[c1 - 1 - c];
		}
	}
	return rc;
}

/* A thread's cells in a local neighbourhood: strips of LOCAL_STEP
 * columns (taken from j->next one at a time), each swept down through all
 * the grid's rows, so a cell comes soon after its neighbours above and to
 * the side, whose neighbour sets it often shares and finds still
 * factorised; a strip loses that only at its two side edges (bands of
 * rows lost it along each band's whole top edge: 130.6k factorisations
 * against 111.5k for the 10,000-station bench).  The order never shows
 * in a result: klocal_cells gives each cell the bits klocal_at would. */
static void *local_rows(void *arg)
{
	struct grid_job *j = arg;
	const struct grid *g = j->g;
	struct lwork w;
	int x0 = g->width, x1 = 0;

	if ((j->rc = lwork_init(&w, j->k->local, &j->err)) < 0)
		return NULL;
	for (size_t sp = 0; sp < g->row_span[g->height]; sp++) {
		x0 = g->span[sp].c0 < x0 ? g->span[sp].c0 : x0;
		x1 = g->span[sp].c1 > x1 ? g->span[sp].c1 : x1;
	}
	for (int b; j->rc == 0 && (b = atomic_fetch_add(j->next, 1)) < (x1 - x0 + LOCAL_STEP - 1) / LOCAL_STEP;) {
		int c0 = x0 + b * LOCAL_STEP, c1 = c0 + LOCAL_STEP < x1 ? c0 + LOCAL_STEP : x1, back = 0, did;

		for (int r = 0; r < g->height && j->rc == 0; r++) {
			if (r % LOCAL_LOOK == 0 && (*j->stop || (j->cancelled && j->cancelled(j->ctx)))) {
				*j->stop = 1;
				j->rc = KD_ECANCEL;
				break;
			}
			j->rc = local_cols(j, &w, r, c0, c1, back, &did);
			back ^= did;
		}
		if (j->rc == KD_ECANCEL) /* a neighbourhood's factorisation */
			*j->stop = 1;
	}
	lwork_release(&w);
	return NULL;
}

static void *grid_rows(void *arg)
{
	struct grid_job *j = arg;
	const struct grid *g = j->g;
	const struct krige *k = j->k;
	double *xs = malloc((size_t)g->width * sizeof(double));
	struct kwork w;

	if (!xs || kwork_init(&w, k->n)) {
		free(xs);
		j->rc = error_set(&j->err, KD_ENOMEM, "out of memory predicting the grid");
		return NULL;
	}
	for (int c = 0; c < g->width; c++)
		xs[c] = grid_x(g, grid_lon(g, c));
	for (int r; (r = atomic_fetch_add(j->next, 1)) < g->height;) {
		double y = grid_y(g, grid_lat(g, r));
		size_t row = (size_t)r * (size_t)g->width;

		if (g->row_span[r] == g->row_span[r + 1])
			continue;
		if (*j->stop || (j->cancelled && j->cancelled(j->ctx))) {
			*j->stop = 1;
			free(xs);
			kwork_release(&w);
			j->rc = KD_ECANCEL;
			return NULL;
		}
		k->ops->row(&k->m, &w, y);
		for (size_t sp = g->row_span[r]; sp < g->row_span[r + 1]; sp++) {
			/* In blocks of GRID_BLOCK cells, asking between them: a row of
			 * many stations with the variance can take seconds.  A cell's
			 * bits do not depend on its block (krige_predict is one cell). */
			for (int c0 = g->span[sp].c0, c1; c0 < g->span[sp].c1; c0 = c1) {
				c1 = g->span[sp].c1 - c0 > GRID_BLOCK ? c0 + GRID_BLOCK : g->span[sp].c1;
				if (c0 > g->span[sp].c0 && (*j->stop || (j->cancelled && j->cancelled(j->ctx)))) {
					*j->stop = 1;
					free(xs);
					kwork_release(&w);
					j->rc = KD_ECANCEL;
					return NULL;
				}
				predict_cells(k, &w, y, xs + c0, c1 - c0, j->ex ? j->ex + c0 : NULL, (size_t)g->width,
					      j->value + row + c0);
				if (j->variance)
					k->ops->variance(&k->m, &w, y, xs + c0, c1 - c0, j->variance + row + c0);
			}
		}
	}
	free(xs);
	kwork_release(&w);
	j->rc = 0;
	return NULL;
}

/* Above this many doubles the gaussian table is not worth its memory. */
#define GAUSS_TABLE_MAX ((size_t)1 << 24)

int krige_grid(const struct krige *k, const struct grid *g, double *value, double *variance, int threads,
	       struct error *e)
{
	return krige_grid_until(k, g, value, variance, threads, NULL, NULL, e);
}

int krige_grid_until(const struct krige *k, const struct grid *g, double *value, double *variance, int threads,
		     int (*cancelled)(void *ctx), void *ctx, struct error *e)
{
	struct grid_job jobs[64];
	volatile int stop = 0;
	atomic_int next;
	pthread_t tid[64];
	int started[64] = { 0 };
	size_t cells = (size_t)g->width * (size_t)g->height;
	double *ex = NULL;

	void *(*rows)(void *) = k->local ? local_rows : grid_rows;

	if (variance && !k->local && !k->m.l)
		return error_set(e, KD_EINTERNAL, "krige_grid: variance asked but krige_new had no want_variance");
	if (threads < 1)
		threads = 1;
	if (threads > 64)
		threads = 64;
	if (threads > g->height && g->height > 0)
		threads = g->height;
	for (size_t i = 0; i < cells; i++) {
		value[i] = NAN;
		if (variance)
			variance[i] = NAN;
	}
	/* The gaussian model is separable: the x factors of every (station,
	 * column) pair are computed once here, so a cell costs one multiply-add
	 * per station.  Without memory for it the kernel computes the same
	 * factors on the fly, with the same bits. */
	if (!k->local && k->v.model == VGM_GAUSSIAN && k->ops != &kernel_scalar && g->width > 0 &&
	    k->n <= GAUSS_TABLE_MAX / (size_t)g->width) {
		double *xs = malloc((size_t)g->width * sizeof(double));

		ex = malloc(k->n * (size_t)g->width * sizeof(double));
		if (xs && ex) {
			for (int c = 0; c < g->width; c++)
				xs[c] = grid_x(g, grid_lon(g, c));
			k->ops->gauss_table(&k->m, xs, g->width, ex, (size_t)g->width);
		} else {
			free(ex);
			ex = NULL;
		}
		free(xs);
	}
	/* Rows (a local grid's strips) are taken one at a time by whichever
	 * thread is free, which balances a boundary that is wide in some rows
	 * and narrow in others, and CPUs that run at different speeds (a
	 * shared machine); each cell is computed the same way whatever
	 * thread does it, so results are bit-identical. */
	atomic_init(&next, 0);
	for (int t = 0; t < threads; t++)
		jobs[t] = (struct grid_job){ k, g, ex, value, variance, &next, cancelled, ctx, &stop, 0, { 0 } };
	for (int t = 1; t < threads; t++)
		started[t] = pthread_create(&tid[t], NULL, rows, &jobs[t]) == 0;
	rows(&jobs[0]);
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			rows(&jobs[t]); /* could not start a thread: do its rows here */
	}
	free(ex);
	for (int t = 0; t < threads; t++)
		if (jobs[t].rc && jobs[t].rc != KD_ECANCEL)
			return error_set(e, jobs[t].rc, "%s", jobs[t].err.msg);
	if (stop)
		return error_set(e, KD_ECANCEL, "stopped while predicting the grid");
	return 0;
}

/* The summary of residuals z_i - pred_i with kriging variances var_i over
 * the finite predictions. */
static void cv_summary(const double *z, const double *pred, const double *var, size_t n, struct krige_cv *cv)
{
	double se = 0, sa = 0, s2 = 0, sd = 0;

	cv->n = 0;
	for (size_t i = 0; i < n; i++) {
		double r = z[i] - pred[i];

		if (!isfinite(pred[i]))
			continue;
		cv->n++;
		se += r;
		sa += fabs(r);
		s2 += r * r;
		sd += r * r / var[i];
	}
	cv->me = cv->n ? se / (double)cv->n : NAN;
	cv->mae = cv->n ? sa / (double)cv->n : NAN;
	cv->rmse = cv->n ? sqrt(s2 / (double)cv->n) : NAN;
	cv->msdr = cv->n ? sd / (double)cv->n : NAN;
}

/* Global: Dubrule's closed form.  With K = [C 1; 1^T 0] and K [-a; b] =
 * [z; 0], leaving station i out gives the residual -a_i / (K^-1)_ii and
 * the kriging variance 1 / (K^-1)_ii. */
static int cv_global(const struct krige *k, double *pred, double *var, struct error *e)
{
	int rc;

	if (!k->sys.l)
		return error_set(e, KD_EINTERNAL, "krige_cv: krige_open had neither variance nor cv");
	if (k->n < 2) {
		pred[0] = var[0] = NAN;
		return 0;
	}
	if ((rc = ksys_inverse_diag(&k->sys, var, e)) < 0)
		return rc;
	for (size_t i = 0; i < k->n; i++) {
		pred[i] = k->sys.z[i] + k->sys.a[i] / var[i];
		var[i] = 1.0 / var[i];
	}
	return 0;
}

/* Local: each station's own neighbourhood, without it; stations dealt
 * round-robin to threads (each result depends on its station alone). */
struct cv_job {
	const struct krige *k;
	double *pred, *var;
	size_t first, step;
	volatile int *stop; /* shared: one thread saw a cancel */
	int rc;
	struct error err;
};

static void *cv_rows(void *arg)
{
	struct cv_job *j = arg;
	const double *x = klocal_x(j->k->local), *y = klocal_y(j->k->local);
	struct lwork w;

	if ((j->rc = lwork_init(&w, j->k->local, &j->err)) < 0)
		return NULL;
	for (size_t i = j->first; i < j->k->n && j->rc == 0; i += j->step) {
		if (*j->stop || (j->k->cancelled && j->k->cancelled(j->k->cancel_ctx))) {
			*j->stop = 1;
			j->rc = error_set(&j->err, KD_ECANCEL, "stopped at station %zu of %zu", i, j->k->n);
			break;
		}
		j->rc = klocal_at(j->k->local, &w, x[i], y[i], i, &j->pred[i], &j->var[i], &j->err);
		if (j->rc == KD_ECANCEL)
			*j->stop = 1;
	}
	lwork_release(&w);
	return NULL;
}

static int cv_local(const struct krige *k, int threads, double *pred, double *var, struct error *e)
{
	struct cv_job jobs[64];
	pthread_t tid[64];
	int started[64] = { 0 };
	volatile int stop = 0;

	threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
	for (int t = 0; t < threads; t++)
		jobs[t] = (struct cv_job){ k, pred, var, (size_t)t, (size_t)threads, &stop, 0, { 0 } };
	for (int t = 1; t < threads; t++)
		started[t] = pthread_create(&tid[t], NULL, cv_rows, &jobs[t]) == 0;
	cv_rows(&jobs[0]);
	for (int t = 1; t < threads; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			cv_rows(&jobs[t]);
	}
	for (int t = 0; t < threads; t++) /* a real error before a cancel */
		if (jobs[t].rc && jobs[t].rc != KD_ECANCEL)
			return error_set(e, jobs[t].rc, "%s", jobs[t].err.msg);
	for (int t = 0; t < threads; t++)
		if (jobs[t].rc)
			return error_set(e, jobs[t].rc, "%s", jobs[t].err.msg);
	return 0;
}

int krige_cv(const struct krige *k, int threads, double *pred, double *var, struct krige_cv *cv,
	     struct error *e)
{
	double *p = pred ? pred : malloc(k->n * sizeof(double)), *v = var ? var : malloc(k->n * sizeof(double));
	int rc;

	if (!p || !v)
		rc = error_set(e, KD_ENOMEM, "out of memory for cross-validation of %zu stations", k->n);
	else if (k->local)
		rc = cv_local(k, threads, p, v, e);
	else
		rc = cv_global(k, p, v, e);
	if (rc == 0)
		cv_summary(k->local ? klocal_z(k->local) : k->sys.z, p, v, k->n, cv);
	if (!pred)
		free(p);
	if (!var)
		free(v);
	if (rc < 0)
		error_prefix(e, "cross-validation: ");
	return rc;
}

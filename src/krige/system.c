/* system.c - see system.h.  With C = L L^T, u = L^-1 1 and w = L^-1 z:
 * b = u.w / u.u and a = L^-T (b u - w) (krige.c explains why). */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"
#include "linalg.h"
#include "system.h"

#define RCOND_MIN KSYS_RCOND_MIN

void ksys_release(struct ksys *s)
{
	free(s->sx);
	free(s->sy);
	free(s->z);
	free(s->l);
	free(s->u);
	free(s->a);
	free(s->rinv);
	free(s->work);
	free(s->part);
	memset(s, 0, sizeof(*s));
}

/* Big matrices on 2 MiB pages where the kernel lets a program ask for
 * them (transparent huge pages "madvise"): 2,000 stations are 32 MB, and
 * first touching them 4 KiB at a time cost about a tenth of the solve. */
#define HUGE_PAGE ((size_t)2 << 20)
static void *matrix_alloc(size_t bytes)
{
	void *p = NULL;

	if (bytes < 2 * HUGE_PAGE)
		return malloc(bytes);
	if (posix_memalign(&p, HUGE_PAGE, (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE))
		return NULL;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, bytes, MADV_HUGEPAGE); /* only advice: 4 KiB pages work too */
#endif
	return p;
}

int ksys_reserve(struct ksys *s, size_t n, struct error *e)
{
	if (n <= s->cap)
		return 0;
	if (n > ((size_t)-1 / sizeof(double)) / n)
		return error_set(e, KD_ELIMIT, "too many stations for the kriging matrix: %zu", n);
	ksys_release(s);
	s->sx = malloc(n * sizeof(double));
	s->sy = malloc(n * sizeof(double));
	s->z = malloc(n * sizeof(double));
	s->l = matrix_alloc(n * n * sizeof(double));
	s->u = malloc(n * sizeof(double));
	s->a = malloc(n * sizeof(double));
	s->rinv = malloc(n * sizeof(double));
	s->work = malloc(3 * n * sizeof(double));
	s->part = n >= KSYS_BUILD_MIN ? malloc(KSYS_BUILD_CHUNKS * n * sizeof(double)) : NULL;
	if (!s->sx || !s->sy || !s->z || !s->l || !s->u || !s->a || !s->rinv || !s->work ||
	    (n >= KSYS_BUILD_MIN && !s->part)) {
		ksys_release(s);
		return error_set(e, KD_ENOMEM, "out of memory for the kriging system of %zu stations", n);
	}
	s->cap = n;
	return 0;
}

static double cov(const struct variogram *v, double h)
{
	return v->nugget + v->psill - variogram_gamma(v, h);
}

int ksys_cancelled(const struct ksys *s)
{
	return s->cancelled && s->cancelled(s->cancel_ctx);
}

static int cancel_error(const struct ksys *s, const char *what, struct error *e)
{
	return error_set(e, KD_ECANCEL, "stopped while %s the kriging system of %zu stations", what, s->n);
}

/* Models whose covariance is nugget * I plus a positive semi-definite
 * matrix with entries in [0, C(0)] in the plane (as local.c's). */
static int psd_model(enum vgm_model m)
{
	return m == VGM_EXPONENTIAL || m == VGM_GAUSSIAN || m == VGM_SPHERICAL;
}

/* Building C: rows r0..r1-1 of its lower triangle, their absolute values
 * added to colsum (each row's own sum to its diagonal's column: C is
 * symmetric).  0, or 1 when the cancel hook said stop (asked as *done,
 * the thread's entries since it last asked, grows past a block). */
static int build_rows(const struct ksys *s, const struct variogram *v, size_t r0, size_t r1, double *colsum,
		      double *done)
{
	size_t n = s->n;
	double *c = s->l, c0 = cov(v, 0.0);

	for (size_t i = r0; i < r1; i++) {
		double *ri = c + i * n, row;

		/* the matrix alone is n^2 / 2 model evaluations: ask per block */
		if ((*done += (double)i) >= LINALG_STOP_WORK / 16.0) {
			*done = 0.0;
			if (ksys_cancelled(s))
				return 1;
		}
		if (s->cov_row && (v->model == VGM_EXPONENTIAL || v->model == VGM_GAUSSIAN)) {
			row = s->cov_row(v->model == VGM_GAUSSIAN, s->sx[i], s->sy[i], s->sx, s->sy, i, v->nugget,
					 v->psill, v->range, ri, colsum);
		} else {
			row = 0.0;
			for (size_t j = 0; j < i; j++) {
				double dx = s->sx[i] - s->sx[j], dy = s->sy[i] - s->sy[j];

				ri[j] = cov(v, sqrt(dx * dx + dy * dy));
				row += fabs(ri[j]);
				colsum[j] += fabs(ri[j]);
			}
		}
		ri[i] = c0;
		colsum[i] += row + fabs(c0);
	}
	return 0;
}

/* The build's chunks, taken one by one by the calling thread and its
 * helpers; chunk k is rows n sqrt(k / K) .. n sqrt((k + 1) / K). */
struct build {
	const struct ksys *s;
	const struct variogram *v;
	pthread_mutex_t mu;
	size_t next;
	int stop;
};

static size_t chunk_row(size_t n, size_t k)
{
	return k >= KSYS_BUILD_CHUNKS ? n : (size_t)((double)n * sqrt((double)k / KSYS_BUILD_CHUNKS));
}

static void *build_chunks(void *arg)
{
	struct build *b = arg;
	size_t n = b->s->n;
	double done = 0.0;

	for (;;) {
		size_t k;
		int stop;

		pthread_mutex_lock(&b->mu);
		k = b->next++;
		stop = b->stop;
		pthread_mutex_unlock(&b->mu);
		if (stop || k >= KSYS_BUILD_CHUNKS)
			return NULL;
		if (build_rows(b->s, b->v, chunk_row(n, k), chunk_row(n, k + 1), b->s->part + k * n, &done)) {
			pthread_mutex_lock(&b->mu);
			b->stop = 1;
			pthread_mutex_unlock(&b->mu);
		}
	}
}

/* C's lower triangle and its column sums (colsum: n doubles); 0, or 1 on
 * a cancel.  The same bits whatever s->threads. */
static int build_matrix(const struct ksys *s, const struct variogram *v, double *colsum)
{
	size_t n = s->n;
	struct build b = { s, v, PTHREAD_MUTEX_INITIALIZER, 0, 0 };
	pthread_t tid[KSYS_BUILD_CHUNKS];
	int helpers = 0, threads = s->threads < 1 ? 1 : s->threads > KSYS_BUILD_CHUNKS ? KSYS_BUILD_CHUNKS : s->threads;
	double done = 0.0;

	memset(colsum, 0, n * sizeof(*colsum));
	if (n < KSYS_BUILD_MIN || !s->part)
		return build_rows(s, v, 0, n, colsum, &done);
	memset(s->part, 0, KSYS_BUILD_CHUNKS * n * sizeof(double));
	/* a helper that cannot start leaves its chunks to the others */
	while (helpers < threads - 1 && pthread_create(&tid[helpers], NULL, build_chunks, &b) == 0)
		helpers++;
	build_chunks(&b);
	for (int t = 0; t < helpers; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&b.mu);
	if (b.stop)
		return 1;
	for (size_t k = 0; k < KSYS_BUILD_CHUNKS; k++) {
		const double *p = s->part + k * n;

		for (size_t j = 0; j < chunk_row(n, k + 1); j++)
			colsum[j] += p[j];
	}
	return 0;
}

int ksys_solve(struct ksys *s, const struct variogram *v, struct error *e)
{
	size_t n = s->n;
	double *c = s->l, *w = s->work, *colsum = s->work, anorm = 0.0, rcond, utw = 0.0;
	double c0 = cov(v, 0.0), dn = (double)n, lam = v->nugget - dn * c0 * 1e-14;
	int rc;

	/* Only the lower triangle, row by row: both factorisations read no
	 * more, and a column-wise write of the upper one missed the cache on
	 * every entry.  C is symmetric, so its 1-norm (largest column sum) is
	 * its largest row sum, summed here on the way. */
	if (build_matrix(s, v, colsum))
		return cancel_error(s, "building", e);
	for (size_t j = 0; j < n; j++)
		anorm = colsum[j] > anorm ? colsum[j] : anorm;
	if ((rc = chol_factor_global(c, n, s->threads < 1 ? 1 : s->threads, s->cancelled, s->cancel_ctx)) == LINALG_STOPPED)
		return cancel_error(s, "factorising", e);
	if (rc)
		return error_set(e, KD_EINPUT,
				 "the kriging system is singular: the %s covariance matrix of the %zu stations is "
				 "not positive definite (stations too close together for this variogram; a nugget > 0 "
				 "or another model helps)",
				 vgm_model_name(v->model), n);
	/* Where the nugget proves rcond far above the limit (lambda_min >=
	 * nugget, so ||C^-1||_1 <= sqrt(n) / nugget, and ||C||_1 <= n C(0);
	 * lam keeps a margin for the rounding of C's entries), the estimate,
	 * which never lies below the true value, would pass too: skip it (its
	 * dozen triangular solves cost a quarter of a 2,000-station solve). */
	if (psd_model(v->model) && lam > 0 && lam / (sqrt(dn) * dn * c0) >= 2 * RCOND_MIN)
		rcond = lam / (sqrt(dn) * dn * c0);
	else
		rcond = chol_rcond_global(c, n, anorm, s->work);
	if (!(rcond >= RCOND_MIN))
		return error_set(e, KD_EINPUT,
				 "the kriging system is too ill-conditioned (reciprocal condition %.3g < %g) for the "
				 "%s model with nugget %g, psill %g, range %g m at %zu stations; a nugget > 0 or "
				 "another model helps",
				 rcond, RCOND_MIN, vgm_model_name(v->model), v->nugget, v->psill, v->range, n);
	for (size_t i = 0; i < n; i++)
		s->u[i] = 1.0;
	chol_forward_global(c, n, s->u);
	memcpy(w, s->z, n * sizeof(*w));
	chol_forward_global(c, n, w);
	s->utu = 0.0;
	for (size_t i = 0; i < n; i++) {
		s->utu += s->u[i] * s->u[i];
		utw += s->u[i] * w[i];
	}
	s->b = utw / s->utu;
	for (size_t i = 0; i < n; i++)
		w[i] = s->b * s->u[i] - w[i];
	chol_backward_global(c, n, w);
	memcpy(s->a, w, n * sizeof(*w));
	s->suma = 0.0;
	for (size_t i = 0; i < n; i++) {
		s->rinv[i] = 1.0 / c[i * n + i];
		s->suma += s->a[i];
	}
	return 0;
}

void ksys_model(const struct ksys *s, const struct variogram *v, struct kmodel *m)
{
	*m = (struct kmodel){ (int)v->model, s->n, s->sx, s->sy, s->a, s->b, v->nugget, v->psill, v->range,
			      v->nugget + v->psill, s->suma, s->l, s->u, s->rinv, s->utu, v->kappa, NULL };
}

int ksys_inverse_diag(const struct ksys *s, double *out, struct error *e)
{
	size_t n = s->n;
	double *x = malloc((n ? n : 1) * sizeof(double)), *cu = malloc((n ? n : 1) * sizeof(double));

	if (!x || !cu) {
		free(x);
		free(cu);
		return error_set(e, KD_ENOMEM, "out of memory for cross-validation of %zu stations", n);
	}
	/* (C^-1)_ii = |L^-1 e_i|^2: forward substitution from row i on. */
	for (size_t i = 0, done = 0; i < n; i++) {
		double d = 0.0;

		if ((done += (n - i) * (n - i) / 2) >= (size_t)LINALG_STOP_WORK) {
			done = 0;
			if (ksys_cancelled(s)) {
				free(x);
				free(cu);
				return cancel_error(s, "cross-validating", e);
			}
		}

		for (size_t r = i; r < n; r++) {
			const double *lr = s->l + r * n;
			double t = r == i ? 1.0 : 0.0;

			for (size_t k = i; k < r; k++)
				t -= lr[k] * x[k];
			x[r] = t / lr[r];
			d += x[r] * x[r];
		}
		out[i] = d;
	}
	chol_backward(s->l, n, s->u, cu); /* C^-1 1 */
	for (size_t i = 0; i < n; i++)
		out[i] -= cu[i] * cu[i] / s->utu;
	free(x);
	free(cu);
	return 0;
}

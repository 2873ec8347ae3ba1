/* kernel_body.h - the kernel algorithm once, instantiated per path.
 *
 * Included by kernel_portable.c (vd = double, plain C), kernel_avx2.c and
 * kernel_avx512.c (GCC vector extensions of 4 and 8 doubles), which define:
 *   VL              lanes per vector; KU vectors per step (unrolling)
 *   vd, vi          the double and int64 vector types
 *   BCAST(s)        scalar to all lanes
 *   LOADU(p) STOREU(p, v)  unaligned VL doubles
 *   VFMA(a, b, c)   a * b + c (fused where the path has FMA)
 *   VSQRT(v)        lane-wise correctly rounded square root
 *   AS_I(v) AS_D(v) bit casts; CMPLT(a, b) CMPEQ(a, b): all-ones lane masks
 *   SEL(m, x, y)    lane-wise m ? x : y
 *   KFN(name)       the path's function name
 *   KVB             cells per variance block (<= KBLOCK, a multiple of VL)
 *   KVR             rows per step of the variance's substitution (1 .. 6)
 * The loops over the KU or NV vectors of a step are unrolled (UNROLL), so
 * their accumulators live in registers.
 * Every function here is lane-wise: a lane's result never depends on the
 * other lanes, which is what keeps results independent of grouping. */

#if defined(__GNUC__) && !defined(__clang__)
#define UNROLL _Pragma("GCC unroll 16")
#else
#define UNROLL
#endif

/* exp(x) for x in [-708, 0] (smaller x are clamped to -708; the result
 * there, about 3e-308, stands for an underflowed 0 and is harmless in a sum).
 * n = round(x / ln 2) by the 1.5 * 2^52 shifter, r = x - n ln 2 in two
 * parts (fdlibm's split, n * LN2_HI exact), exp(r) by its Taylor series to
 * degree 12 in Horner form (truncation < 2e-16 relative for |r| <= ln2/2),
 * times 2^n built in the exponent bits.  Accuracy is measured by the tests
 * and the bench against libm (max ulp). */
static inline __attribute__((always_inline)) vd KFN(vexp1)(vd x)
{
	const vd shift = BCAST(0x1.8p52);
	vd lo = BCAST(-708.0), t, n, r, p;

	x = SEL(CMPLT(x, lo), lo, x);
	t = VFMA(x, BCAST(0x1.71547652b82fep0), shift);
	n = t - shift;
	r = VFMA(n, BCAST(-6.93147180369123816490e-01), x);
	r = VFMA(n, BCAST(-1.90821492927058770002e-10), r);
	p = BCAST(1.0 / 479001600.0);
	p = VFMA(p, r, BCAST(1.0 / 39916800.0));
	p = VFMA(p, r, BCAST(1.0 / 3628800.0));
	p = VFMA(p, r, BCAST(1.0 / 362880.0));
	p = VFMA(p, r, BCAST(1.0 / 40320.0));
	p = VFMA(p, r, BCAST(1.0 / 5040.0));
	p = VFMA(p, r, BCAST(1.0 / 720.0));
	p = VFMA(p, r, BCAST(1.0 / 120.0));
	p = VFMA(p, r, BCAST(1.0 / 24.0));
	p = VFMA(p, r, BCAST(1.0 / 6.0));
	p = VFMA(p, r, BCAST(0.5));
	p = VFMA(p, r, BCAST(1.0));
	p = VFMA(p, r, BCAST(1.0));
	/* t's low mantissa bits hold n; 2^n has exponent bits n + 1023. */
	return p * AS_D((AS_I(t) - AS_I(shift) + 1023) << 52);
}

/* rr: 1 / range, a multiply instead of a division (the grid kernels'
 * way): a vector division waits on the divider as long as the square
 * root does, and the two were most of a covariance's time. */
static inline __attribute__((always_inline)) vd KFN(cov1)(int gauss, vd x, vd y, vd sx, vd sy, vd nugget, vd psill,
							  vd rr)
{
	vd dx = x - sx, dy = y - sy, h = VSQRT(dx * dx + dy * dy), r = h * rr, c0 = nugget + psill;
	vd e = KFN(vexp1)(gauss ? -(r * r) : -r);

	/* gamma(0) = 0, not the nugget */
	return SEL(CMPEQ(h, BCAST(0.0)), c0, c0 - (nugget + psill * (BCAST(1.0) - e)));
}

static void KFN(cov_vec)(int gauss, double x, double y, const double *sx, const double *sy, size_t n, double nugget,
			 double psill, double range, double *out)
{
	vd vx = BCAST(x), vy = BCAST(y), vn = BCAST(nugget), vp = BCAST(psill), vr = BCAST(1.0 / range);
	size_t i = 0;

	for (; i + VL <= n; i += VL)
		STOREU(out + i, KFN(cov1)(gauss, vx, vy, LOADU(sx + i), LOADU(sy + i), vn, vp, vr));
	if (i < n) { /* the tail padded to a vector, so it gets the same exp */
		double bx[VL], by[VL], bc[VL];

		for (size_t j = 0; j < VL; j++) {
			bx[j] = i + j < n ? sx[i + j] : x;
			by[j] = i + j < n ? sy[i + j] : y;
		}
		STOREU(bc, KFN(cov1)(gauss, vx, vy, LOADU(bx), LOADU(by), vn, vp, vr));
		for (size_t j = 0; i + j < n; j++)
			out[i + j] = bc[j];
	}
}

/* cov_vec, then the sums read back from out (still in L1). */
static double KFN(cov_row)(int gauss, double x, double y, const double *sx, const double *sy, size_t n,
			   double nugget, double psill, double range, double *out, double *colsum)
{
	vd acc = BCAST(0.0);
	double lanes[VL], sum = 0.0;
	size_t i = 0;

	KFN(cov_vec)(gauss, x, y, sx, sy, n, nugget, psill, range, out);
	for (; i + VL <= n; i += VL) {
		vd c = LOADU(out + i), a = SEL(CMPLT(c, BCAST(0.0)), -c, c);

		STOREU(colsum + i, LOADU(colsum + i) + a);
		acc = acc + a;
	}
	for (; i < n; i++) {
		colsum[i] += fabs(out[i]);
		sum += fabs(out[i]);
	}
	STOREU(lanes, acc);
	for (size_t j = 0; j < VL; j++)
		sum += lanes[j];
	return sum;
}

static void KFN(vexp)(const double *x, double *y, size_t n)
{
	size_t i = 0;

	for (; i + VL <= n; i += VL)
		STOREU(y + i, KFN(vexp1)(LOADU(x + i)));
	if (i < n) {
		double bx[VL], by[VL];

		for (size_t j = 0; j < VL; j++)
			bx[j] = i + j < n ? x[i + j] : 0.0;
		STOREU(by, KFN(vexp1)(LOADU(bx)));
		for (size_t j = 0; i + j < n; j++)
			y[i + j] = by[j];
	}
}

static void KFN(row)(const struct kmodel *m, struct kwork *w, double y)
{
	size_t n = m->n;

	switch (m->model) {
	case VGM_EXPONENTIAL:
		for (size_t i = 0; i < n; i++) {
			double dy = y - m->sy[i];

			w->d[i] = dy * dy;
		}
		break;
	case VGM_GAUSSIAN: {
		/* exp(-(dx^2 + dy^2)/a^2) = exp(-dx^2/a^2) exp(-dy^2/a^2): the y
		 * factor, times a_i, once per station per row. */
		double q = -1.0 / (m->range * m->range);

		for (size_t i = 0; i < n; i++) {
			double dy = y - m->sy[i];

			w->d[i] = (dy * dy) * q;
		}
		KFN(vexp)(w->d, w->w, n);
		for (size_t i = 0; i < n; i++)
			w->w[i] *= m->a[i];
		break;
	}
	case VGM_SPHERICAL:
		/* Beyond the range gamma is exactly the sill: a station farther
		 * than the range in y adds a_i (nugget + psill) to every cell. */
		w->nnear = 0;
		w->far = 0.0;
		for (size_t i = 0; i < n; i++) {
			double dy = y - m->sy[i];

			if (fabs(dy) < m->range) {
				w->near[w->nnear] = i;
				w->d[w->nnear++] = dy * dy;
			} else {
				w->far += m->a[i];
			}
		}
		break;
	}
}

/* KU * VL cells at xs (all valid); ex as in kernel.h or NULL. */
static inline __attribute__((always_inline)) void KFN(step)(const struct kmodel *m, const struct kwork *w, const double *xs, const double *ex,
			     size_t stride, double *out)
{
	vd xv[KU], s[KU];
	const double *sx = m->sx, *a = m->a;

	UNROLL
	for (int q = 0; q < KU; q++) {
		xv[q] = LOADU(xs + q * VL);
		s[q] = BCAST(0.0);
	}
	switch (m->model) {
	case VGM_EXPONENTIAL: {
		vd k = BCAST(-1.0 / m->range);

		for (size_t i = 0; i < m->n; i++) {
			vd ai = BCAST(a[i]), xi = BCAST(sx[i]), dy2 = BCAST(w->d[i]);

			UNROLL
			for (int q = 0; q < KU; q++) {
				vd dx = xv[q] - xi;
				vd h = VSQRT(VFMA(dx, dx, dy2));

				s[q] = VFMA(ai, KFN(vexp1)(h * k), s[q]);
			}
		}
		UNROLL
		for (int q = 0; q < KU; q++)
			STOREU(out + q * VL, VFMA(BCAST(-m->psill), s[q], BCAST(m->c0 * m->suma)) + BCAST(m->b));
		break;
	}
	case VGM_GAUSSIAN:
		if (ex) {
			/* The whole per-cell work: one multiply-add per station. */
			for (size_t i = 0; i < m->n; i++) {
				vd wi = BCAST(w->w[i]);

				UNROLL
				for (int q = 0; q < KU; q++)
					s[q] = VFMA(wi, LOADU(ex + i * stride + q * VL), s[q]);
			}
		} else {
			vd k = BCAST(-1.0 / (m->range * m->range));

			for (size_t i = 0; i < m->n; i++) {
				vd wi = BCAST(w->w[i]), xi = BCAST(sx[i]);

				UNROLL
				for (int q = 0; q < KU; q++) {
					vd dx = xv[q] - xi;

					s[q] = VFMA(wi, KFN(vexp1)((dx * dx) * k), s[q]);
				}
			}
		}
		UNROLL
		for (int q = 0; q < KU; q++)
			STOREU(out + q * VL, VFMA(BCAST(-m->psill), s[q], BCAST(m->c0 * m->suma)) + BCAST(m->b));
		break;
	case VGM_SPHERICAL: {
		vd k = BCAST(1.0 / m->range), one = BCAST(1.0);

		for (size_t j = 0; j < w->nnear; j++) {
			size_t i = w->near[j];
			vd ai = BCAST(a[i]), xi = BCAST(sx[i]), dy2 = BCAST(w->d[j]);

			UNROLL
			for (int q = 0; q < KU; q++) {
				vd dx = xv[q] - xi;
				vd r = VSQRT(VFMA(dx, dx, dy2)) * k;
				vd sh = r * VFMA(BCAST(-0.5), r * r, BCAST(1.5));

				s[q] = VFMA(ai, SEL(CMPLT(r, one), sh, one), s[q]);
			}
		}
		UNROLL
		for (int q = 0; q < KU; q++)
			STOREU(out + q * VL, VFMA(BCAST(m->psill), s[q] + BCAST(w->far), BCAST(m->nugget * m->suma)) +
						     BCAST(m->b));
		break;
	}
	}
}

static void KFN(predict)(const struct kmodel *m, const struct kwork *w, double y, const double *xs, int ncell,
			 const double *ex, size_t stride, double *out)
{
	int c = 0;

	(void)y;
	for (; c + KU * VL <= ncell; c += KU * VL)
		KFN(step)(m, w, xs + c, ex ? ex + c : NULL, stride, out + c);
	if (c < ncell) {
		/* The tail padded to a full step; the table is not padded, so
		 * the x factors are computed here the way the table has them. */
		double bx[KU * VL], bo[KU * VL];

		for (int j = 0; j < KU * VL; j++)
			bx[j] = c + j < ncell ? xs[c + j] : xs[ncell - 1];
		KFN(step)(m, w, bx, NULL, 0, bo);
		for (int j = 0; c + j < ncell; j++)
			out[c + j] = bo[j];
	}
}

static void KFN(gauss_table)(const struct kmodel *m, const double *xs, int ncell, double *ex, size_t stride)
{
	vd k = BCAST(-1.0 / (m->range * m->range));

	for (size_t i = 0; i < m->n; i++) {
		vd xi = BCAST(m->sx[i]);
		double *e = ex + i * stride;
		int c = 0;

		for (; c + VL <= ncell; c += VL) {
			vd dx = LOADU(xs + c) - xi;

			STOREU(e + c, KFN(vexp1)((dx * dx) * k));
		}
		if (c < ncell) {
			double bx[VL], bo[VL];

			for (int j = 0; j < VL; j++)
				bx[j] = c + j < ncell ? xs[c + j] : xs[ncell - 1];
			{
				vd dx = LOADU(bx) - xi;

				STOREU(bo, KFN(vexp1)((dx * dx) * k));
			}
			for (int j = 0; c + j < ncell; j++)
				e[c + j] = bo[j];
		}
	}
}

#define NV (KVB / VL)

/* C(h) for station i at the KBLOCK cells xv (C(0) = nugget + psill). */
static inline __attribute__((always_inline)) void KFN(cov)(const struct kmodel *m, size_t i, double y, const vd *xv, vd *c)
{
	double dy = y - m->sy[i];
	vd dy2 = BCAST(dy * dy), xi = BCAST(m->sx[i]), psill = BCAST(m->psill), c0 = BCAST(m->c0);
	vd zero = BCAST(0.0);

	UNROLL
	for (int q = 0; q < NV; q++) {
		vd dx = xv[q] - xi, d2 = VFMA(dx, dx, dy2), v;

		switch (m->model) {
		case VGM_EXPONENTIAL:
			v = psill * KFN(vexp1)(VSQRT(d2) * BCAST(-1.0 / m->range));
			break;
		case VGM_GAUSSIAN:
			v = psill * KFN(vexp1)(d2 * BCAST(-1.0 / (m->range * m->range)));
			break;
		default: {
			vd r = VSQRT(d2) * BCAST(1.0 / m->range);

			v = SEL(CMPLT(r, BCAST(1.0)), psill * (BCAST(1.0) - r * VFMA(BCAST(-0.5), r * r, BCAST(1.5))),
				zero);
			break;
		}
		}
		c[q] = SEL(CMPEQ(d2, zero), c0, v);
	}
}

/* sigma^2 = C(0) - v.v + (1 - u.v)^2 / u.u, v = L^-1 c(x), for KVB cells
 * at once (the inner loops run across cells).  The covariances of all n
 * rows come first, into blk, where v_i later replaces c_i: they are
 * independent, so their sqrt and exp overlap, and no row of the
 * substitution waits on its own covariance's latency.  The substitution
 * then takes KVR rows at a time (set per path by its register count):
 * each v_j already solved is loaded once for KVR rows, KVR * NV
 * accumulators in flight.  Per lane the order is that of the plain
 * substitution: row i starts from c_i and adds -L_ij v_j for j = 0 .. i-1
 * ascending, then times 1 / L_ii (from the model: a multiply, not a
 * divide); v.v and u.v are summed in row order. */
static inline __attribute__((always_inline)) void KFN(finish)(const struct kmodel *m, size_t i, double *blk, vd *acc, vd *vv, vd *uv)
{
	vd r = BCAST(m->rinv[i]), ui = BCAST(m->u[i]);

	UNROLL
	for (int q = 0; q < NV; q++) {
		vd v = acc[q] * r;

		STOREU(blk + i * KVB + q * VL, v);
		acc[q] = v;
		vv[q] = VFMA(v, v, vv[q]);
		uv[q] = VFMA(ui, v, uv[q]);
	}
}

/* Rows i .. i + R - 1 (R <= KVR, a constant where called): blk holds v_j
 * for j < i and c_j from i on. */
static inline __attribute__((always_inline)) void KFN(rows)(const struct kmodel *m, double *blk, size_t i, int R, vd *vv,
							    vd *uv)
{
	size_t n = m->n;
	const double *l = m->l + i * n;
	vd acc[KVR][NV];

	UNROLL
	for (int r = 0; r < R; r++) {
		UNROLL
		for (int q = 0; q < NV; q++)
			acc[r][q] = LOADU(blk + (i + r) * KVB + q * VL);
	}
	for (size_t j = 0; j < i; j++) {
		const double *vj = blk + j * KVB;
		vd v[NV];

		UNROLL
		for (int q = 0; q < NV; q++)
			v[q] = LOADU(vj + q * VL);
		UNROLL
		for (int r = 0; r < R; r++) {
			vd lr = BCAST(-l[r * n + j]);

			UNROLL
			for (int q = 0; q < NV; q++)
				acc[r][q] = VFMA(lr, v[q], acc[r][q]);
		}
	}
	/* the triangle inside the R rows */
	UNROLL
	for (int r = 0; r < R; r++) {
		KFN(finish)(m, i + r, blk, acc[r], vv, uv);
		UNROLL
		for (int s = r + 1; s < R; s++) {
			vd ls = BCAST(-l[s * n + i + r]);

			UNROLL
			for (int q = 0; q < NV; q++)
				acc[s][q] = VFMA(ls, acc[r][q], acc[s][q]);
		}
	}
}

static void KFN(block)(const struct kmodel *m, double *blk, double y, const double *xs, double *out)
{
	size_t n = m->n, i = 0;
	vd xv[NV], vv[NV], uv[NV];

	UNROLL
	for (int q = 0; q < NV; q++) {
		xv[q] = LOADU(xs + q * VL);
		vv[q] = uv[q] = BCAST(0.0);
	}
	for (size_t r = 0; r < n; r++) {
		vd c[NV];

		KFN(cov)(m, r, y, xv, c);
		UNROLL
		for (int q = 0; q < NV; q++)
			STOREU(blk + r * KVB + q * VL, c[q]);
	}
	for (; i + KVR <= n; i += KVR)
		KFN(rows)(m, blk, i, KVR, vv, uv);
	switch (n - i) { /* the last rows, each count a constant */
#if KVR > 5
	case 5:
		KFN(rows)(m, blk, i, 5, vv, uv);
		break;
#endif
#if KVR > 4
	case 4:
		KFN(rows)(m, blk, i, 4, vv, uv);
		break;
#endif
#if KVR > 3
	case 3:
		KFN(rows)(m, blk, i, 3, vv, uv);
		break;
#endif
#if KVR > 2
	case 2:
		KFN(rows)(m, blk, i, 2, vv, uv);
		break;
#endif
#if KVR > 1
	case 1:
		KFN(rows)(m, blk, i, 1, vv, uv);
		break;
#endif
	default:
		break;
	}
	UNROLL
	for (int q = 0; q < NV; q++) {
		vd e = BCAST(1.0) - uv[q];
		vd s2 = (BCAST(m->c0) - vv[q]) + (e * e) / BCAST(m->utu);

		STOREU(out + q * VL, SEL(CMPLT(s2, BCAST(0.0)), BCAST(0.0), s2));
	}
}

static void KFN(variance)(const struct kmodel *m, struct kwork *w, double y, const double *xs, int ncell,
			  double *out)
{
	int c = 0;

	for (; c + KVB <= ncell; c += KVB)
		KFN(block)(m, w->blk, y, xs + c, out + c);
	if (c < ncell) {
		double bx[KVB], bo[KVB];

		for (int j = 0; j < KVB; j++)
			bx[j] = c + j < ncell ? xs[c + j] : xs[ncell - 1];
		KFN(block)(m, w->blk, y, bx, bo);
		for (int j = 0; c + j < ncell; j++)
			out[c + j] = bo[j];
	}
}

#undef NV
#undef UNROLL

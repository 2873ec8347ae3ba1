/* lkernel_body.h - the neighbourhood algebra of lkernel.h once,
 * instantiated per path by lkernel_portable.c, lkernel_avx2.c and
 * lkernel_avx512.c, which define VL, vd, BCAST, LOADU, STOREU, VFMA and
 * LFN as kernel_body.h's users do, and the vector paths LREG with
 * LANE_BCAST(v, l) (lane l of v in every lane) and BLEND_LANE(v, x, l) (v
 * with lane l taken from x).  Vectors run along a matrix row; each entry
 * still sees its own fixed sequence of scalar operations.
 *
 * With LREG and rows of at most LREG_MAX doubles, the vector a solve
 * works on, and the row the factorisation is pivoting, stay in registers:
 * the scalar each step needs is broadcast from a register instead of
 * being read back from memory just written by a vector store (a store
 * forwarding stall on every step); earlier pivot rows are read back as
 * whole vectors, which forward.  Same operations, same bits. */

#define LREG_MAX LK_PAIR_MAX
/* c - a b, the same bits as VFMA(-a, b, c) (one rounding of the same
 * exact value; unfused: c + round(-a b)), without negating a first: on
 * the paths with FMA one instruction (fnmadd) instead of two. */
#ifndef VFNMA
#define VFNMA(a, b, c) VFMA(-(a), (b), (c))
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define LUNROLL _Pragma("GCC unroll 16")
#else
#define LUNROLL
#endif

#ifdef LREG
#define NVR (LREG_MAX / VL)

typedef long long LFN(vl) __attribute__((vector_size(sizeof(vd))));

/* 0, 1, ..., VL - 1 (folded when compiled). */
static inline __attribute__((always_inline)) LFN(vl) LFN(lane_idx)(void)
{
	LFN(vl) i;

	for (int l = 0; l < VL; l++)
		i[l] = l;
	return i;
}

/* Pivot row k (the p-th of its block, whose earlier pivot rows are in
 * as at their rows) of one matrix, from its row of from: the block's
 * earlier pivots applied (the same order as one pivot at a time), then
 * scaled, stored to its row of as; 0 or -1 (not positive).  The earlier
 * pivot rows are read back whole (a vector load of a vector store
 * forwards; a scalar one would wait for the store). */
static inline __attribute__((always_inline)) int LFN(pivot)(const double *from, double *a, size_t p, size_t k,
							   size_t ld, const size_t nv, double *rinv)
{
	const size_t kv = k / VL, kl = k % VL;
	const double *fk = from + k * ld + kv * VL;
	double *rk = a + k * ld + kv * VL, d, r;
	/* the row from vector kv on: row[v] is vector kv + v, so the one
	 * that holds the diagonal is row[0] (an index known when compiled:
	 * indexed by kv, the row would live on the stack, every pivot a
	 * store and a reload on its chain) */
	vd row[NVR], dv, rv;

	LUNROLL
	for (size_t v = 0; v < NVR; v++)
		row[v] = kv + v < nv ? LOADU(fk + v * VL) : BCAST(0.0);
	for (size_t q = 0; q < p; q++) {
		const double *rq = a + (k - p + q) * ld + kv * VL;
		vd m = LANE_BCAST(LOADU(rq), kl);

		LUNROLL
		for (size_t v = 0; v < NVR; v++)
			if (kv + v < nv)
				row[v] = VFNMA(m, LOADU(rq + v * VL), row[v]);
	}
	dv = LANE_BCAST(row[0], kl);
	d = dv[0];
	if (!(d > 0.0))
		return -1;
#ifdef VSQRT
	/* the square root and its inverse in every lane: no broadcast on
	 * the chain to the next pivot (the same IEEE operations) */
	dv = VSQRT(dv);
	rv = BCAST(1.0) / dv;
	d = dv[0];
	r = rv[0];
#else
	d = sqrt(d);
	r = 1.0 / d;
	dv = BCAST(d);
	rv = BCAST(r);
#endif
	rinv[k] = r;
	LUNROLL
	for (size_t v = 0; v < NVR; v++)
		if (kv + v < nv)
			row[v] = row[v] * rv;
	/* zeros before the diagonal, which the solves read, in one mask;
	 * d on it */
	row[0] = (vd)((LFN(vl))row[0] & ~(LFN(lane_idx)() < (long long)kl));
	row[0] = BLEND_LANE(row[0], dv, kl);
	LUNROLL
	for (size_t v = 0; v < NVR; v++)
		if (kv + v < nv)
			STOREU(rk + v * VL, row[v]);
	return 0;
}

/* Rows [i0, i1) of vector group iv (their diagonals in vector iv) updated
 * by the pb pivot rows from k of a (multipliers broadcast from memory:
 * these rows were stored a while ago), from their rows of from into a's. */
static inline __attribute__((always_inline)) void LFN(trail)(const double *from, double *a, size_t k, size_t pb,
							    size_t i0, size_t i1, const size_t iv, size_t ld,
							    const size_t nv)
{
	const double *pk = a + k * ld;

	for (size_t i = i0; i < i1; i++) {
		vd row[NVR];

		LUNROLL
		for (size_t v = 0; v < NVR; v++)
			if (v >= iv && v < nv)
				row[v] = LOADU(from + i * ld + v * VL);
		LUNROLL
		for (size_t p = 0; p < LPIV; p++) {
			vd mul;

			if (p >= pb)
				break;
			mul = BCAST(pk[p * ld + i]);
			LUNROLL
			for (size_t v = 0; v < NVR; v++)
				if (v >= iv && v < nv)
					row[v] = VFNMA(mul, LOADU(pk + p * ld + v * VL), row[v]);
		}
		LUNROLL
		for (size_t v = 0; v < NVR; v++)
			if (v >= iv && v < nv)
				STOREU(a + i * ld + v * VL, row[v]);
	}
}

/* One step of forward_regm on right-hand side y (ld doubles, in memory)
 * with pivot row k of U just stored at rk and its r = 1 / U_kk: the same
 * operations, so the same bits, as forward_regm's step k.  The lane k
 * is blended in before the vector is stored: the next step's vector load
 * then forwards from one store. */
static inline __attribute__((always_inline)) void LFN(fstep)(const double *rk, double r, double *y, size_t k,
							    const size_t nv)
{
	const size_t kv = k / VL, kl = k % VL;
	vd x = LANE_BCAST(LOADU(y + kv * VL), kl) * BCAST(r);

	LUNROLL
	for (size_t v = 0; v < NVR; v++) {
		vd t;

		if (v < kv || v >= nv)
			continue;
		t = VFNMA(x, LOADU(rk + v * VL), LOADU(y + v * VL));
		if (v == kv)
			t = BLEND_LANE(t, x, kl);
		STOREU(y + v * VL, t);
	}
}

/* LPIV pivot rows at a time, then the rows after them, each read and
 * written once per block, a group of rows with its diagonals in one
 * vector at a time (the vectors a row needs known when compiled: nv is a
 * constant once inlined).  M matrices (1 or 2, a constant too) of the
 * same n side by side, block by block: one matrix's pivots are a chain of
 * dependent square roots and divisions, and the other's fill the wait;
 * each matrix sees the operations it would alone. */
static inline __attribute__((always_inline)) int LFN(factor_regm)(const double *const *cs, double *const *as,
								  double *const *rs, double *const *ys, int M,
								  size_t n, size_t ld, const size_t nv)
{
	/* Blocks and pivots unrolled (GCC): each pivot's k is a constant,
	 * so its masks, lanes and loop bounds are too.  A pair of
	 * 32-station factorisations 1.74 -> 1.18 us in a loop on AVX-512,
	 * for 80 KiB of code (AVX2, eight widths: 200 KiB). */
	LUNROLL
	for (size_t kb = 0; kb < LREG_MAX / LPIV; kb++) {
		const size_t k = kb * LPIV, pb = n > k && n - k < LPIV ? n - k : LPIV;
		/* the first block reads the matrix from cs, the rest a's rows
		 * the blocks before wrote */
		const double *const *from = k == 0 ? cs : (const double *const *)as;
		size_t i = k + pb;

		if (k >= nv * VL || k >= n)
			break;
		LUNROLL
		for (size_t p = 0; p < LPIV; p++) {
			if (p >= pb)
				break;
			LUNROLL
			for (int m = 0; m < M; m++) {
				if (LFN(pivot)(from[m], as[m], p, k + p, ld, nv, rs[m]))
					return -1;
				/* ys: matrix m's two right-hand sides solved
				 * along (off the pivots' chain) */
				if (ys) {
					LFN(fstep)(as[m] + (k + p) * ld, rs[m][k + p], ys[2 * m], k + p, nv);
					LFN(fstep)(as[m] + (k + p) * ld, rs[m][k + p], ys[2 * m + 1], k + p, nv);
				}
			}
		}
		LUNROLL
		for (size_t iv = 0; iv < NVR; iv++) {
			size_t e = (iv + 1) * VL < n ? (iv + 1) * VL : n;

			if (iv >= nv || i >= e)
				continue;
			LUNROLL
			for (int m = 0; m < M; m++)
				LFN(trail)(from[m], as[m], k, pb, i, e, iv, ld, nv);
			i = e;
		}
	}
	return 0;
}

/* factor_regm with nv = ld / VL a constant: one copy per width. */
static inline __attribute__((always_inline)) int LFN(factor_regw)(const double *const *cs, double *const *as,
								  double *const *rs, double *const *ys, int M,
								  size_t n, size_t ld)
{
	switch (ld / VL) {
#define LK_W(w)                                                                    \
	case w:                                                                    \
		if (w <= NVR)                                                      \
			return LFN(factor_regm)(cs, as, rs, ys, M, n, ld, w <= NVR ? w : 1); \
		break;
		LK_W(1) LK_W(2) LK_W(3) LK_W(4) LK_W(5) LK_W(6) LK_W(7) LK_W(8)
#undef LK_W
	}
	return LFN(factor_regm)(cs, as, rs, ys, M, n, ld, ld / VL);
}

static int LFN(factor_reg)(double *a, size_t n, size_t ld, double *rinv)
{
	const double *c = a;

	return LFN(factor_regw)(&c, &a, &rinv, NULL, 1, n, ld);
}

/* M (1, 2 or 4, a constant once inlined) solves side by side, as factor_regm:
 * each step of one is a dependent broadcast and multiply-add. */
static inline __attribute__((always_inline)) void LFN(forward_regm)(const double *const *us, const double *const *rs,
								    double *const *bs, int M, size_t n, size_t ld)
{
	const size_t nv = ld / VL;
	vd bv[4][NVR];

	LUNROLL
	for (int m = 0; m < M; m++)
		LUNROLL
		for (size_t v = 0; v < NVR; v++)
			bv[m][v] = v < nv ? LOADU(bs[m] + v * VL) : BCAST(0.0);
	LUNROLL
	for (size_t kv = 0; kv < NVR; kv++) {
		for (size_t kl = 0; kl < VL && kv * VL + kl < n; kl++) {
			const size_t k = kv * VL + kl;

			LUNROLL
			for (int m = 0; m < M; m++) {
				const double *rk = us[m] + k * ld;
				vd x = LANE_BCAST(bv[m][kv], kl) * BCAST(rs[m][k]);

				/* U's row is zero before k: b there is unchanged */
				LUNROLL
				for (size_t v = 0; v < NVR; v++)
					if (v >= kv && v < nv)
						bv[m][v] = VFNMA(x, LOADU(rk + v * VL), bv[m][v]);
				bv[m][kv] = BLEND_LANE(bv[m][kv], x, kl);
			}
		}
	}
	LUNROLL
	for (int m = 0; m < M; m++)
		LUNROLL
		for (size_t v = 0; v < NVR; v++)
			if (v < nv)
				STOREU(bs[m] + v * VL, bv[m][v]);
}

static void LFN(forward_reg)(const double *u, size_t n, size_t ld, const double *rinv, double *b)
{
	LFN(forward_regm)(&u, &rinv, &b, 1, n, ld);
}

static void LFN(forward_reg2)(const double *u0, const double *u1, size_t n, size_t ld, const double *r0,
			      const double *r1, double *b0, double *b1)
{
	const double *us[2] = { u0, u1 }, *rs[2] = { r0, r1 };
	double *bs[2] = { b0, b1 };

	LFN(forward_regm)(us, rs, bs, 2, n, ld);
}
#endif

static int LFN(factor)(double *a, size_t n, size_t ld, double *rinv, int (*stop)(void *ctx), void *ctx)
{
	double work = 0.0;

#ifdef LREG
	/* at most LREG_MAX^3 / 6 multiply-adds: far below LINALG_STOP_WORK */
	if (ld <= LREG_MAX)
		return LFN(factor_reg)(a, n, ld, rinv);
#endif
	for (size_t k = 0; k < n; k++) {
		double *rk = a + k * ld, d = rk[k], r;
		size_t j0 = k / VL * VL;

		if (stop && (work += (double)(n - k) * (double)(n - k) / 2.0) >= LINALG_STOP_WORK) {
			work = 0.0;
			if (stop(ctx))
				return LINALG_STOPPED;
		}

		if (!(d > 0.0))
			return -1;
		d = sqrt(d);
		r = 1.0 / d;
		rinv[k] = r;
		for (size_t j = j0; j < ld; j += VL)
			STOREU(rk + j, LOADU(rk + j) * BCAST(r));
		/* the solves read whole vectors of this row from j0 on */
		for (size_t j = j0; j < k; j++)
			rk[j] = 0.0;
		rk[k] = d;
		for (size_t i = k + 1; i < n; i++) {
			double *ri = a + i * ld;
			vd m = BCAST(-rk[i]);

			for (size_t j = i / VL * VL; j < ld; j += VL)
				STOREU(ri + j, VFMA(m, LOADU(rk + j), LOADU(ri + j)));
		}
	}
	return 0;
}

static void LFN(forward2)(const double *u0, const double *u1, size_t n, size_t ld, const double *r0, const double *r1,
			  double *b0, double *b1);

static int LFN(factor2s)(const double *c0, const double *c1, double *a0, double *a1, size_t n, size_t ld,
			 double *r0, double *r1, double *const *y)
{
#ifdef LREG
	if (ld <= LREG_MAX) {
		const double *cs[2] = { c0, c1 };
		double *as[2] = { a0, a1 }, *rs[2] = { r0, r1 };

		return LFN(factor_regw)(cs, as, rs, y, 2, n, ld);
	}
#endif
	memcpy(a0, c0, n * ld * sizeof(double));
	memcpy(a1, c1, n * ld * sizeof(double));
	if (LFN(factor)(a0, n, ld, r0, NULL, NULL) || LFN(factor)(a1, n, ld, r1, NULL, NULL))
		return -1;
	LFN(forward2)(a0, a0, n, ld, r0, r0, y[0], y[1]);
	LFN(forward2)(a1, a1, n, ld, r1, r1, y[2], y[3]);
	return 0;
}

static void LFN(forward)(const double *u, size_t n, size_t ld, const double *rinv, double *b)
{
#ifdef LREG
	if (ld <= LREG_MAX) {
		LFN(forward_reg)(u, n, ld, rinv, b);
		return;
	}
#endif
	for (size_t k = 0; k < n; k++) {
		const double *rk = u + k * ld;
		double xk = b[k] * rinv[k];
		vd m = BCAST(-xk);

		/* entries before k are zero in U's row: b there is unchanged */
		for (size_t j = (k + 1) / VL * VL; j < ld; j += VL)
			STOREU(b + j, VFMA(m, LOADU(rk + j), LOADU(b + j)));
		b[k] = xk;
	}
}

static void LFN(forward2)(const double *u0, const double *u1, size_t n, size_t ld, const double *r0, const double *r1,
			  double *b0, double *b1)
{
#ifdef LREG
	if (ld <= LREG_MAX) {
		LFN(forward_reg2)(u0, u1, n, ld, r0, r1, b0, b1);
		return;
	}
#endif
	LFN(forward)(u0, n, ld, r0, b0);
	LFN(forward)(u1, n, ld, r1, b1);
}

static void LFN(forward4)(const double *const *u, size_t n, size_t ld, const double *const *rinv, double *const *b)
{
#if defined(LREG) && VL >= 8
	/* four systems' vectors take 4 x LREG_MAX / VL registers: 16 of 32 */
	if (ld <= LREG_MAX) {
		LFN(forward_regm)(u, rinv, b, 4, n, ld);
		return;
	}
#endif
	LFN(forward2)(u[0], u[1], n, ld, rinv[0], rinv[1], b[0], b[1]);
	LFN(forward2)(u[2], u[3], n, ld, rinv[2], rinv[3], b[2], b[3]);
}

static void LFN(remap)(const double *src, const size_t *map, size_t j0, size_t ld, double *dst)
{
#ifdef GATHER
	for (size_t j = j0 / VL * VL; j < ld; j += VL) {
		LFN(vl) m;

		/* size_t and long long: one width, LK_NONE is -1 */
		memcpy(&m, map + j, sizeof(m));
		STOREU(dst + j, GATHER(src, m));
	}
#else
	for (size_t j = j0; j < ld; j++)
		dst[j] = map[j] == LK_NONE ? 0.0 : src[map[j]];
#endif
}

static void LFN(dist2)(double x, double y, const double *tx, const double *ty, const size_t *sm, size_t n, double *sd)
{
	size_t q = 0;

#ifdef GATHER
	for (; q + VL <= n; q += VL) {
		LFN(vl) m;
		vd dx, dy;

		memcpy(&m, sm + q, sizeof(m));
		dx = BCAST(x) - GATHER(tx, m);
		dy = BCAST(y) - GATHER(ty, m);
		STOREU(sd + q, dx * dx + dy * dy);
	}
#endif
	for (; q < n; q++) {
		double dx = x - tx[sm[q]], dy = y - ty[sm[q]];

		sd[q] = dx * dx + dy * dy;
	}
}

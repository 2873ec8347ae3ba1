/* lkernel_body.h - the neighbourhood algebra of lkernel.h once,
 * instantiated per path by lkernel_portable.c, lkernel_avx2.c and
 * lkernel_avx512.c, which define VL, vd, BCAST, LOADU, STOREU, VFMA and
 * LFN as kernel_body.h's users do.  Vectors run along a matrix row; each
 * entry still sees its own fixed sequence of scalar operations. */

static int LFN(factor)(double *a, size_t n, size_t ld, double *rinv)
{
	for (size_t k = 0; k < n; k++) {
		double *rk = a + k * ld, d = rk[k], r;
		size_t j0 = k / VL * VL;

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

static void LFN(forward)(const double *u, size_t n, size_t ld, const double *rinv, double *b)
{
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

static void LFN(backward)(const double *u, size_t n, size_t ld, const double *rinv, const double *y, double *x)
{
	memset(x, 0, ld * sizeof(double));
	for (size_t i = n; i-- > 0;) {
		const double *ri = u + i * ld;
		double lane[VL], s = 0.0;
		vd acc = BCAST(0.0);

		/* x[j <= i] is still zero here */
		for (size_t j = (i + 1) / VL * VL; j < ld; j += VL)
			acc = VFMA(LOADU(ri + j), LOADU(x + j), acc);
		STOREU(lane, acc);
		for (int l = 0; l < VL; l++)
			s += lane[l];
		x[i] = (y[i] - s) * rinv[i];
	}
}

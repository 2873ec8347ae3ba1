/* kernel_avx2.c - the kernel algorithm (kernel_body.h) on 4-double AVX2
 * vectors with FMA.  Built with -mavx2 -mfma (mk/krige.am) and only called
 * after the CPU check in krige.c, so no other file uses these instructions. */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernel.h"
#include "krige.h"

typedef double vd __attribute__((vector_size(32)));
typedef long long vi __attribute__((vector_size(32)));

static inline vd loadu(const double *p) { vd v; memcpy(&v, p, sizeof(v)); return v; }
static inline void storeu(double *p, vd v) { memcpy(p, &v, sizeof(v)); }

#define VL 4
#define KU 2
#define BCAST(s) ((vd)_mm256_set1_pd((double)(s)))
#define LOADU(p) loadu(p)
#define STOREU(p, v) storeu((p), (v))
#define VFMA(a, b, c) ((vd)_mm256_fmadd_pd((a), (b), (c)))
#define VSQRT(v) ((vd)_mm256_sqrt_pd(v))
#define AS_I(v) ((vi)(v))
#define AS_D(v) ((vd)(v))
#define CMPLT(a, b) ((vi)((a) < (b)))
#define CMPEQ(a, b) ((vi)((a) == (b)))
#define SEL(m, x, y) ((vd)(((vi)(x) & (m)) | ((vi)(y) & ~(m))))
#define KVB 16
#define KVR 3 /* 3 x 4 = 12 accumulators of the 16 ymm registers (4 rows spill: slower) */
#define KFN(name) name##_avx2

#include "kernel_body.h"

const struct kernel_ops kernel_avx2 = {
	"avx2", row_avx2, predict_avx2, variance_avx2, gauss_table_avx2, vexp_avx2, cov_row_avx2, cov_vec_avx2,
};

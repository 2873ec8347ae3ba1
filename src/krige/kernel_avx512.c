/* kernel_avx512.c - the kernel algorithm (kernel_body.h) on 8-double AVX-512F
 * vectors (FMA included).  Built with -mavx512f (mk/krige.am) and only called
 * after the CPU check in krige.c, so no other file uses these instructions. */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernel.h"
#include "krige.h"

typedef double vd __attribute__((vector_size(64)));
typedef long long vi __attribute__((vector_size(64)));

static inline vd loadu(const double *p) { vd v; memcpy(&v, p, sizeof(v)); return v; }
static inline void storeu(double *p, vd v) { memcpy(p, &v, sizeof(v)); }

#define VL 8
#define KU 2
#define BCAST(s) ((vd)_mm512_set1_pd((double)(s)))
#define LOADU(p) loadu(p)
#define STOREU(p, v) storeu((p), (v))
#define VFMA(a, b, c) ((vd)_mm512_fmadd_pd((a), (b), (c)))
#define VSQRT(v) ((vd)_mm512_sqrt_pd(v))
#define AS_I(v) ((vi)(v))
#define AS_D(v) ((vd)(v))
#define CMPLT(a, b) ((vi)((a) < (b)))
#define CMPEQ(a, b) ((vi)((a) == (b)))
#define SEL(m, x, y) ((vd)(((vi)(x) & (m)) | ((vi)(y) & ~(m))))
#define KVB 32
#define KVR 6 /* 6 rows x 4 vectors = 24 accumulators of the 32 zmm registers */
#define KFN(name) name##_avx512

#include "kernel_body.h"

const struct kernel_ops kernel_avx512 = {
	"avx512", row_avx512, predict_avx512, variance_avx512, gauss_table_avx512, vexp_avx512, cov_row_avx512, cov_vec_avx512,
};

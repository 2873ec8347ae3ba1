/* lkernel_avx2.c - the neighbourhood algebra (lkernel_body.h) on 4-double
 * vectors with FMA.  Built with -mavx2 -mfma (mk/krige.am) and only called after
 * the CPU check in krige.c, so no other file uses these instructions. */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "lkernel.h"

typedef double vd __attribute__((vector_size(32)));

static inline vd loadu(const double *p) { vd v; memcpy(&v, p, sizeof(v)); return v; }
static inline void storeu(double *p, vd v) { memcpy(p, &v, sizeof(v)); }

#define VL 4
#define BCAST(s) ((vd){ 0 } + (double)(s))
#define LOADU(p) loadu(p)
#define STOREU(p, v) storeu((p), (v))
#define VFMA(a, b, c) ((vd)_mm256_fmadd_pd((a), (b), (c)))
#define LFN(name) name##_avx2

#include "lkernel_body.h"

const struct lkernel_ops lkernel_avx2 = { "avx2", factor_avx2, forward_avx2, backward_avx2 };

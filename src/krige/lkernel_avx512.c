/* lkernel_avx512.c - the neighbourhood algebra (lkernel_body.h) on 8-double
 * vectors with FMA.  Built with -mavx512f (mk/krige.am) and only called after
 * the CPU check in krige.c, so no other file uses these instructions. */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "linalg.h"
#include "lkernel.h"

typedef double vd __attribute__((vector_size(64)));

static inline vd loadu(const double *p) { vd v; memcpy(&v, p, sizeof(v)); return v; }
static inline void storeu(double *p, vd v) { memcpy(p, &v, sizeof(v)); }

#define VL 8
#define BCAST(s) ((vd)_mm512_set1_pd((double)(s)))
#define LOADU(p) loadu(p)
#define STOREU(p, v) storeu((p), (v))
#define VFMA(a, b, c) ((vd)_mm512_fmadd_pd((a), (b), (c)))
#define VFNMA(a, b, c) ((vd)_mm512_fnmadd_pd((a), (b), (c)))
#define LREG 1
#define LPIV 8
#define LANE_BCAST(v, l) ((vd)_mm512_permutexvar_pd(_mm512_set1_epi64((long long)(l)), (__m512d)(v)))
#define BLEND_LANE(v, x, l) ((vd)_mm512_mask_blend_pd((__mmask8)(1u << (l)), (__m512d)(v), (__m512d)(x)))
/* No VSQRT: a pivot's square root and inverse are scalar, then broadcast.
 * A 512-bit square root and division take longer than scalar ones on
 * Intel's cores (on the pivots' chain: 10 % of a pair's factorisation);
 * the bits are the same (IEEE, correctly rounded either way). */
/* lanes whose index is not LK_NONE (-1) loaded, the others 0 */
#define GATHER(p, i) ((vd)_mm512_mask_i64gather_pd(_mm512_setzero_pd(), _mm512_cmpge_epi64_mask((__m512i)(i), _mm512_setzero_si512()), (__m512i)(i), (p), 8))
#define LFN(name) name##_avx512

#include "lkernel_body.h"

const struct lkernel_ops lkernel_avx512 = { "avx512", factor_avx512, factor2s_avx512, forward_avx512, forward2_avx512, forward4_avx512, remap_avx512, dist2_avx512 };

/* lkernel_avx2.c - the neighbourhood algebra (lkernel_body.h) on 4-double
 * vectors with FMA.  Built with -mavx2 -mfma (mk/krige.am) and only called after
 * the CPU check in krige.c, so no other file uses these instructions. */
#include "config.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "linalg.h"
#include "lkernel.h"

typedef double vd __attribute__((vector_size(32)));

static inline vd loadu(const double *p) { vd v; memcpy(&v, p, sizeof(v)); return v; }
static inline void storeu(double *p, vd v) { memcpy(p, &v, sizeof(v)); }

#define VL 4
#define BCAST(s) ((vd)_mm256_set1_pd((double)(s)))
#define LOADU(p) loadu(p)
#define STOREU(p, v) storeu((p), (v))
#define VFMA(a, b, c) ((vd)_mm256_fmadd_pd((a), (b), (c)))
#define VFNMA(a, b, c) ((vd)_mm256_fnmadd_pd((a), (b), (c)))
#define LREG 1
#define LPIV 8
#define LANE_BCAST(v, l) ((vd)_mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps((__m256d)(v)), _mm256_set1_epi64x((long long)(2 * (l)) | ((long long)(2 * (l) + 1) << 32)))))
#define BLEND_LANE(v, x, l) ((vd)_mm256_blendv_pd((__m256d)(v), (__m256d)(x), _mm256_castsi256_pd(_mm256_cmpeq_epi64(_mm256_setr_epi64x(0, 1, 2, 3), _mm256_set1_epi64x((long long)(l))))))
#define VSQRT(v) ((vd)_mm256_sqrt_pd((__m256d)(v)))
/* lanes whose index is not LK_NONE (-1) loaded, the others 0 */
#define GATHER(p, i) ((vd)_mm256_mask_i64gather_pd(_mm256_setzero_pd(), (p), (__m256i)(i), _mm256_castsi256_pd(_mm256_cmpgt_epi64((__m256i)(i), _mm256_set1_epi64x(-1))), 8))
#define LFN(name) name##_avx2

#include "lkernel_body.h"

const struct lkernel_ops lkernel_avx2 = { "avx2", factor_avx2, factor2s_avx2, forward_avx2, forward2_avx2, forward4_avx2, remap_avx2, dist2_avx2 };

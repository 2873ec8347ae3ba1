/* lkernel_portable.c - the neighbourhood algebra (lkernel_body.h) in plain
 * C, one lane: every build has it, and --disable-simd keeps only it. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "linalg.h"
#include "lkernel.h"

typedef double vd;

static inline double loadu(const double *p) { return *p; }

#define VL 1
#define BCAST(s) ((double)(s))
#define LOADU(p) loadu(p)
#define STOREU(p, v) (*(p) = (v))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define LFN(name) name##_portable

#include "lkernel_body.h"

const struct lkernel_ops lkernel_portable = { "portable", factor_portable, factor2s_portable, forward_portable, forward2_portable, forward4_portable, remap_portable, dist2_portable };

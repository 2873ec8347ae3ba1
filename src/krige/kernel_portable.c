/* kernel_portable.c - the kernel algorithm (kernel_body.h) in plain C, one
 * lane: what every compiler builds, and what --disable-simd keeps.  It is
 * the same algorithm as the SIMD paths (own exp, gaussian x-factor table,
 * spherical cut-off), so it is also their plain-C twin in the tests. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernel.h"
#include "krige.h"

typedef double vd;
typedef int64_t vi;

static inline vi as_i(double v) { vi i; memcpy(&i, &v, sizeof(i)); return i; }
static inline double as_d(vi i) { double v; memcpy(&v, &i, sizeof(v)); return v; }
static inline double loadu(const double *p) { return *p; }

#define VL 1
#define KU 1
#define BCAST(s) ((double)(s))
#define LOADU(p) loadu(p)
#define STOREU(p, v) (*(p) = (v))
#define VFMA(a, b, c) ((a) * (b) + (c))
#define VSQRT(v) sqrt(v)
#define AS_I(v) as_i(v)
#define AS_D(v) as_d(v)
#define CMPLT(a, b) ((a) < (b))
#define CMPEQ(a, b) ((a) == (b))
#define SEL(m, x, y) ((m) ? (x) : (y))
#define KVB 8
#define KVR 2 /* as the two rows at a time before; 2 x 8 scalars */
#define KFN(name) name##_portable

#include "kernel_body.h"

const struct kernel_ops kernel_portable = {
	"portable", row_portable, predict_portable, variance_portable, gauss_table_portable, vexp_portable, cov_row_portable, cov_vec_portable,
};

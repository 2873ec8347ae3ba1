/* kernel.h - the per-cell kriging kernels behind krige_grid (internal).
 *
 * A kernel evaluates, for cells of one grid row (all at the same y), the
 * dual-form predictor sum_i a_i gamma(|x - x_i|) + b and the Cholesky
 * variance.  Paths: "scalar" (the reference, krige.c), "portable" (plain
 * C, same algorithm as the SIMD paths), "avx2" (AVX2+FMA) and "avx512"
 * (AVX-512F), each compiled in its own file with its own flags, so no other
 * code of the binary uses those instructions.
 *
 * Invariants every path keeps, so results do not depend on how cells are
 * grouped (threads, spans, a single krige_predict):
 *  - a cell's value depends only on (x, y) and the model: lanes never mix,
 *    tails are padded to a full vector, stations are summed in a fixed order
 *    that is a function of y only;
 *  - cells exactly at a station are not computed here: the caller
 *    (krige.c) recomputes them with the scalar reference, so gamma(0) = 0
 *    and the prediction there is the station's value. */
#ifndef KD_KERNEL_H
#define KD_KERNEL_H

#include <stddef.h>

struct mtab;

/* The model as plain arrays; owned by struct krige, read-only here. */
struct kmodel {
	int model;      /* enum vgm_model */
	size_t n;
	const double *sx, *sy, *a; /* stations and dual weights */
	double b;                  /* dual constant */
	double nugget, psill, range, c0; /* c0 = nugget + psill = C(0) */
	double suma;               /* sum of a_i, summed in index order */
	const double *l, *u;       /* Cholesky factor (n x n, row-major) and L^-1 1, or NULL */
	const double *rinv;        /* 1 / L_ii, or NULL */
	double utu;                /* u.u */
	double kappa;              /* matern smoothness (0 for the others) */
	const struct mtab *mt;     /* matern: its correlation table (mtab.h), or NULL: exact */
};

/* Per-thread scratch, sized for n stations by kwork_init. */
struct kwork {
	double *w;     /* n: per-row station factors */
	double *d;     /* n: per-row dy^2 or dy */
	size_t *near;  /* n: station indices used by the row */
	double *blk;   /* n * KBLOCK: variance block */
	size_t nnear;
	double far;    /* spherical: sum of a_i over stations beyond range in y */
};

/* Cells per variance block (a multiple of every vector length). */
#define KBLOCK 32

int kwork_init(struct kwork *w, size_t n);  /* 0 or -1 (no memory) */
void kwork_release(struct kwork *w);

struct kernel_ops {
	const char *name;
	/* Prepare w for the row at y (once per row, before predict). */
	void (*row)(const struct kmodel *m, struct kwork *w, double y);
	/* out[c] for ncell cells at (xs[c], y); row() was called for y.  ex,
	 * when not NULL, is the gaussian x-factor table: ex[i * stride + c] =
	 * exp(-((xs[c] - sx_i) / range)^2) as gauss_table computes it. */
	void (*predict)(const struct kmodel *m, const struct kwork *w, double y, const double *xs, int ncell,
			const double *ex, size_t stride, double *out);
	/* Variance at ncell cells (row() not needed); m->l must be set. */
	void (*variance)(const struct kmodel *m, struct kwork *w, double y, const double *xs, int ncell,
			 double *out);
	/* The gaussian x-factor table for ncell columns (ex[i * stride + c]). */
	void (*gauss_table)(const struct kmodel *m, const double *xs, int ncell, double *ex, size_t stride);
	/* This path's exp over n values in [-708, 0] (for tests and the bench). */
	void (*vexp)(const double *x, double *y, size_t n);
	/* A row of the global system's covariances: out[i] = C(h_i), h_i the
	 * distance from (x, y) to (sx[i], sy[i]), for the exponential (gauss
	 * 0) or gaussian (gauss 1) model of nugget, psill and range, in
	 * variogram_gamma's formula with this path's exp and h times 1 / range
	 * (the scalar path: libm's exp, h / range) (C(0) = nugget +
	 * psill); colsum[i] += |out[i]|; returns the sum of |out[i]|. */
	double (*cov_row)(int gauss, double x, double y, const double *sx, const double *sy, size_t n,
			  double nugget, double psill, double range, double *out, double *colsum);
	/* cov_row's out alone (no sums): a local neighbourhood's vectors,
	 * each entry the same bits as cov_row's. */
	void (*cov_vec)(int gauss, double x, double y, const double *sx, const double *sy, size_t n, double nugget,
			double psill, double range, double *out);
};

/* The path called name if this build and CPU run it, else NULL (krige.c). */
const struct kernel_ops *kernel_get(const char *name);

/* The model of k as the kernels see it (tests compute error bounds). */
struct krige;
const struct kmodel *krige_kmodel(const struct krige *k);

extern const struct kernel_ops kernel_portable;
#ifdef KD_SIMD_X86
extern const struct kernel_ops kernel_avx2;
extern const struct kernel_ops kernel_avx512;
#endif

#endif

/* krige_tool.c - a test helper (not a test): kriging from a text file on
 * stdin, printed with %.17g so shell tests can compare with R gstat and
 * kriging.js.  Input, one item per line ('#' comments):
 *   method ordinary|kriging.js      (default ordinary)
 *   model exponential|gaussian|spherical|matern|auto  (matern without kappa:
 *                                   the automatic choice among matern kappas)
 *   kappa K                         (matern smoothness)
 *   bessel NU X                     (prints K_nu(x), nothing else is done)
 *   variogram NUGGET PSILL RANGE    (ordinary: fixed variogram, no fit)
 *   kjsvariogram NUGGET RANGE SILL  (kriging.js: fixed variogram, no fit)
 *   sigma2 S / alpha A              (kriging.js, defaults 0 and 100)
 *   variance 1                      (ordinary: also print variances)
 *   nmax N / maxdist D              (ordinary: local neighbourhood, gstat's)
 *   cv 1                            (ordinary: leave-one-out cross-validation)
 *   threads T                       (ordinary, global: the factorisation's threads, default 1)
 *   s X Y Z                         (a station)
 *   p X Y                           (a query point)
 * Output lines:
 *   k NU X K_NU(X) E^X*K_NU(X)                    (bessel lines, then exit)
 *   global NAME                                   (ordinary: chol_global_name())
 *   stations N MERGED DROPPED
 *   variogram MODEL NUGGET PSILL RANGE FITTED     (ordinary)
 *   fit CUTOFF WIDTH NBINS NOTE...                (ordinary, when fitted)
 *   cand MODEL KAPPA FITTED SSE                   (automatic choice: each candidate)
 *   kjs NUGGET RANGE SILL A                       (kriging.js)
 *   warning TEXT                                  (kriging.js, if any)
 *   p X Y VALUE [VARIANCE]
 *   cv I PREDICTION VARIANCE                      (cv 1: station I left out)
 *   cvstat N ME MAE RMSE MSDR                     (cv 1)
 * Errors go to stderr as "error: message" with exit status 1. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bessel.h"
#include "error.h"
#include "krige.h"
#include "krigejs.h"
#include "linalg.h"

struct vec {
	double *v;
	size_t n, cap;
};

static int push(struct vec *a, double x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		double *v = realloc(a->v, cap * sizeof(double));

		if (!v)
			return -1;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

static int fail(const char *msg)
{
	fprintf(stderr, "error: %s\n", msg);
	return 1;
}

static int print_cv(const struct krige *k, size_t n)
{
	double *p = malloc(n * sizeof(double)), *v = malloc(n * sizeof(double));
	struct krige_cv cv;
	struct error e = { 0 };
	int rc = 0;

	if (!p || !v)
		rc = fail("out of memory");
	else if (krige_cv(k, 2, p, v, &cv, &e))
		rc = fail(e.msg);
	for (size_t i = 0; rc == 0 && i < n; i++)
		printf("cv %zu %.17g %.17g\n", i, p[i], v[i]);
	if (rc == 0)
		printf("cvstat %zu %.17g %.17g %.17g %.17g\n", cv.n, cv.me, cv.mae, cv.rmse, cv.msdr);
	free(p);
	free(v);
	return rc;
}

int main(void)
{
	struct vec sx = { 0 }, sy = { 0 }, sz = { 0 }, px = { 0 }, py = { 0 };
	char line[1024], method[32] = "ordinary", model_name[32] = "exponential";
	double vg[3] = { 0 }, kv[3] = { 0 }, sigma2 = 0, alpha = 100, kappa = 0;
	int nbessel = 0;
	int have_vg = 0, have_kv = 0, want_var = 0, want_cv = 0, rc = 0;
	struct krige_opts ko = { 0, 0, 0, INFINITY, 1 };
	enum vgm_model model;
	struct error e = { 0 };

	while (fgets(line, sizeof(line), stdin)) {
		double a, b, c;

		if (sscanf(line, "bessel %lf %lf", &a, &b) == 2) {
			printf("k %.17g %.17g %.17g %.17g\n", a, b, bessel_k(a, b), bessel_k_scaled(a, b));
			nbessel++;
		} else if (sscanf(line, "kappa %lf", &kappa) == 1) {
			continue;
		} else if (sscanf(line, "s %lf %lf %lf", &a, &b, &c) == 3) {
			if (push(&sx, a) || push(&sy, b) || push(&sz, c))
				return fail("out of memory");
		} else if (sscanf(line, "p %lf %lf", &a, &b) == 2) {
			if (push(&px, a) || push(&py, b))
				return fail("out of memory");
		} else if (sscanf(line, "method %31s", method) == 1 || sscanf(line, "model %31s", model_name) == 1) {
			continue;
		} else if (sscanf(line, "variogram %lf %lf %lf", &vg[0], &vg[1], &vg[2]) == 3) {
			have_vg = 1;
		} else if (sscanf(line, "kjsvariogram %lf %lf %lf", &kv[0], &kv[1], &kv[2]) == 3) {
			have_kv = 1;
		} else if (sscanf(line, "sigma2 %lf", &sigma2) == 1 || sscanf(line, "alpha %lf", &alpha) == 1 ||
			   sscanf(line, "variance %d", &want_var) == 1 || sscanf(line, "cv %d", &want_cv) == 1 ||
			   sscanf(line, "nmax %zu", &ko.nmax) == 1 || sscanf(line, "maxdist %lf", &ko.maxdist) == 1 ||
			   sscanf(line, "threads %d", &ko.threads) == 1) {
			continue;
		} else if (line[0] != '#' && line[0] != '\n') {
			return fail("unrecognised input line");
		}
	}
	if (nbessel)
		return 0;
	if (strcmp(model_name, "auto") == 0)
		model = VGM_EXPONENTIAL; /* unused */
	else if (vgm_model_parse(model_name, &model))
		return fail("unknown model");

	if (strcmp(method, "kriging.js") == 0) {
		struct krigejs *k;
		const struct krigejs_variogram *p;

		if (have_kv) {
			struct krigejs_variogram v = { model, kv[0], kv[1], kv[2], 1.0 / 3.0 };

			rc = krigejs_given(&k, sz.v, sx.v, sy.v, sx.n, &v, sigma2, NULL, NULL, &e);
		} else {
			rc = krigejs_train(&k, sz.v, sx.v, sy.v, sx.n, model, sigma2, alpha, NULL, NULL, &e);
		}
		if (rc)
			return fail(e.msg);
		p = krigejs_params(k);
		printf("kjs %.17g %.17g %.17g %.17g\n", p->nugget, p->range, p->sill, p->A);
		if (krigejs_warning(k))
			printf("warning %s\n", krigejs_warning(k));
		for (size_t i = 0; i < px.n; i++)
			printf("p %.17g %.17g %.17g\n", px.v[i], py.v[i], krigejs_predict(k, px.v[i], py.v[i]));
		krigejs_free(k);
	} else if (strcmp(method, "ordinary") == 0) {
		struct stations s;
		struct variogram v = { model, vg[0], vg[1], vg[2], kappa };
		struct fit_info info = { 0 };
		struct krige *k = NULL;
		int is_auto = strcmp(model_name, "auto") == 0 || (model == VGM_MATERN && kappa == 0);

		if (stations_clean(&s, sx.v, sy.v, sz.v, sx.n, &e))
			return fail(e.msg);
		printf("global %s\n", chol_global_name());
		printf("stations %zu %zu %zu\n", s.n, s.merged, s.dropped);
		if (!have_vg && (is_auto ? krige_fit_auto(&s, strcmp(model_name, "auto") != 0, &v, &info, &e)
					 : krige_fit(&s, model, kappa, &v, &info, &e))) {
			stations_release(&s);
			return fail(e.msg);
		}
		printf("variogram %s %.17g %.17g %.17g %d\n", vgm_model_name(v.model), v.nugget, v.psill, v.range,
		       have_vg ? 0 : info.fitted);
		if (v.model == VGM_MATERN)
			printf("kappa %.17g\n", v.kappa);
		if (!have_vg)
			printf("fit %.17g %.17g %d %s\n", info.cutoff, info.width, info.nbins, info.note);
		for (size_t i = 0; i < info.ncand; i++)
			printf("cand %s %.17g %d %.17g\n", vgm_model_name(info.cand[i].model), info.cand[i].kappa,
			       info.cand[i].fitted, info.cand[i].sse);
		ko.variance = want_var;
		ko.cv = want_cv;
		if (krige_open(&k, &v, &s, &ko, &e)) {
			stations_release(&s);
			return fail(e.msg);
		}
		for (size_t i = 0; i < px.n; i++) {
			printf("p %.17g %.17g %.17g", px.v[i], py.v[i], krige_predict(k, px.v[i], py.v[i]));
			if (want_var)
				printf(" %.17g", krige_variance(k, px.v[i], py.v[i]));
			printf("\n");
		}
		if (want_cv && print_cv(k, s.n)) {
			krige_free(k);
			stations_release(&s);
			return 1;
		}
		krige_free(k);
		stations_release(&s);
	} else {
		return fail("unknown method");
	}
	free(sx.v);
	free(sy.v);
	free(sz.v);
	free(px.v);
	free(py.v);
	return 0;
}

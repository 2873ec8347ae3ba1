/* render.c - see render.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "boundary.h"
#include "error.h"
#include "krige.h"
#include "krigejs.h"
#include "legend.h"
#include "outfile.h"
#include "palette.h"
#include "pngout.h"
#include "raster.h"
#include "render.h"

#define FRAME_NAME_MAX 96 /* a frame's file base name, with room for "-N" */

void render_safe_name(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *in && n + 1 < outlen; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '_' || (c == '.' && n > 0))
			out[n++] = (char)c;
		else if (c == ':' || c == '/')
			out[n++] = '-';
		else
			out[n++] = '_';
	}
	if (n == 0 && outlen > 1)
		out[n++] = '_';
	out[n] = '\0';
}

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The job's boundary: inline, named, or the daemon's default. */
static int job_boundary(const struct render_opts *o, const struct render_job *j, struct boundary *own,
			const struct boundary **b, struct error *e)
{
	char path[4096];

	if (j->boundary) {
		if (boundary_from_json(own, j->boundary, e) < 0)
			return error_prefix(e, "boundary: ");
		*b = own;
		return 0;
	}
	if (j->boundary_name) {
		if (!o->boundary_dir)
			return error_set(e, KD_EINPUT, "boundary \"%s\" named, but no --boundary-dir is configured",
					 j->boundary_name);
		/* The name was validated ([A-Za-z0-9_-]) when the trigger was parsed. */
		snprintf(path, sizeof(path), "%s/%s.geojson", o->boundary_dir, j->boundary_name);
		if (boundary_from_file(own, path, e) < 0) {
			if (e->code == KD_EIO && access(path, F_OK) != 0)
				return error_set(e, KD_EINPUT, "boundary \"%s\": no file %s.geojson in --boundary-dir",
						 j->boundary_name, j->boundary_name);
			return error_prefix(e, "boundary \"%s\": ", j->boundary_name);
		}
		*b = own;
		return 0;
	}
	if (!o->boundary)
		return error_set(e, KD_EINPUT, "the job names no boundary and no --boundary is configured");
	*b = o->boundary;
	return 0;
}

static struct json_object *variogram_json(const struct variogram *v, const struct fit_info *fi, int given)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "model", json_object_new_string(vgm_model_name(v->model)));
	json_object_object_add(o, "nugget", json_object_new_double(v->nugget));
	json_object_object_add(o, "psill", json_object_new_double(v->psill));
	json_object_object_add(o, "range", json_object_new_double(v->range));
	json_object_object_add(o, "source", json_object_new_string(given ? "given" : fi->fitted ? "fitted" : "fallback"));
	if (!given && fi->note[0])
		json_object_object_add(o, "note", json_object_new_string(fi->note));
	return o;
}

/* Per-frame state that must be freed whatever happens. */
struct frame_work {
	struct stations st;
	struct krige *k;
	struct krigejs *kj;
	double *value, *variance;
	unsigned char *rgba;
	double *px, *py, *pz;
};

static void frame_work_release(struct frame_work *w)
{
	stations_release(&w->st);
	krige_free(w->k);
	krigejs_free(w->kj);
	free(w->value);
	free(w->variance);
	free(w->rgba);
	free(w->px);
	free(w->py);
	free(w->pz);
	memset(w, 0, sizeof(*w));
}

/* 1 when a frame named base would write a file another frame (names[0..n))
 * writes: the same base, or one base being the other's variance grid
 * ("B" writes B.var.asc, which is frame "B.var"'s value grid). */
static int name_clashes(char (*names)[FRAME_NAME_MAX], size_t n, const char *base)
{
	size_t bl = strlen(base);

	for (size_t k = 0; k < n; k++) {
		size_t nl = strlen(names[k]);

		if (strcmp(names[k], base) == 0 ||
		    (bl == nl + 4 && strncmp(base, names[k], nl) == 0 && strcmp(base + nl, ".var") == 0) ||
		    (nl == bl + 4 && strncmp(names[k], base, bl) == 0 && strcmp(names[k] + bl, ".var") == 0))
			return 1;
	}
	return 0;
}

/* Write one file atomically: fn fills the stream. */
static int write_file(int dirfd, const char *name, int (*fn)(FILE *, const void *, struct error *),
		      const void *arg, struct error *e)
{
	struct outfile f;

	if (outfile_open(&f, dirfd, name, e) < 0)
		return e->code;
	errno = 0;
	if (fn(f.fp, arg, e) < 0) {
		outfile_abort(&f); /* keeps the writer's own reason and code */
		return error_prefix(e, "writing %s: ", name);
	}
	if (ferror(f.fp)) {
		int err = errno ? errno : EIO;
		outfile_abort(&f);
		return error_set(e, KD_EIO, "writing %s: %s", name, strerror(err));
	}
	return outfile_commit(&f, e);
}

struct asc_arg {
	const struct grid *g;
	const double *values;
};

/* The stdio writers below fail only as the stream does: errno says why. */
static int stdio_failed(struct error *e)
{
	return error_set(e, KD_EIO, "%s", strerror(errno ? errno : EIO));
}

static int put_asc(FILE *fp, const void *arg, struct error *e)
{
	const struct asc_arg *a = arg;
	return raster_write_asc(fp, a->g, a->values) < 0 ? stdio_failed(e) : 0;
}

static int put_pgw(FILE *fp, const void *arg, struct error *e)
{
	return raster_write_pgw(fp, arg) < 0 ? stdio_failed(e) : 0;
}

static int put_prj(FILE *fp, const void *arg, struct error *e)
{
	(void)arg;
	return raster_write_prj(fp) < 0 ? stdio_failed(e) : 0;
}

struct png_arg {
	const unsigned char *rgba;
	int w, h;
};

static int put_png(FILE *fp, const void *arg, struct error *e)
{
	const struct png_arg *a = arg;
	return pngout_write(fp, a->rgba, a->w, a->h, e);
}

/* method "kriging.js": its own fit and predictor, in plain degrees. */
static int krigejs_frame(const struct grid *g, const struct trigger *t, struct frame_work *w,
			 struct json_object *fo, struct error *e)
{
	enum vgm_model model = t->has_model ? (enum vgm_model)t->model : VGM_EXPONENTIAL;
	struct json_object *vo;
	const char *warn;
	int rc;

	/* Back to degrees after the repair, which works in metres. */
	for (size_t i = 0; i < w->st.n; i++) {
		w->px[i] = w->st.x[i] / g->kx + g->lon0;
		w->py[i] = w->st.y[i] / g->ky + g->lat0;
	}
	if (t->variogram) {
		struct krigejs_variogram kv = { model, 0, 0, 0, 0 };

		kv.nugget = json_object_get_double(json_object_object_get(t->variogram, "nugget"));
		kv.range = json_object_get_double(json_object_object_get(t->variogram, "range"));
		kv.sill = json_object_get_double(json_object_object_get(t->variogram, "sill"));
		rc = krigejs_given(&w->kj, w->st.z, w->px, w->py, w->st.n, &kv, t->sigma2, e);
	} else {
		rc = krigejs_train(&w->kj, w->st.z, w->px, w->py, w->st.n, model, t->sigma2, t->alpha, e);
	}
	if (rc < 0)
		return rc;
	vo = json_object_new_object();
	json_object_object_add(vo, "method", json_object_new_string("kriging.js"));
	json_object_object_add(vo, "model", json_object_new_string(vgm_model_name(model)));
	json_object_object_add(vo, "nugget", json_object_new_double(krigejs_params(w->kj)->nugget));
	json_object_object_add(vo, "range", json_object_new_double(krigejs_params(w->kj)->range));
	json_object_object_add(vo, "sill", json_object_new_double(krigejs_params(w->kj)->sill));
	json_object_object_add(vo, "source", json_object_new_string(t->variogram ? "given" : "fitted"));
	if ((warn = krigejs_warning(w->kj)) != NULL)
		json_object_object_add(vo, "warning", json_object_new_string(warn));
	json_object_object_add(fo, "variogram", vo);
	for (size_t i = 0; i < (size_t)g->width * (size_t)g->height; i++)
		w->value[i] = NAN;
	for (int r = 0; r < g->height; r++)
		for (size_t s = g->row_span[r]; s < g->row_span[r + 1]; s++)
			for (int c = g->span[s].c0; c < g->span[s].c1; c++)
				w->value[(size_t)r * g->width + c] = krigejs_predict(w->kj, grid_lon(g, c), grid_lat(g, r));
	return 0;
}

/* Project the frame's points to metres, leaving out (and counting) those
 * farther from the boundary's box than its diagonal: they cannot inform
 * the map and would stretch the neighbourhood index. */
static int project_points(const struct grid *g, const struct frame *fr, struct frame_work *w, size_t *far,
			  struct error *e)
{
	double x0 = grid_x(g, g->west), x1 = grid_x(g, g->east), y0 = grid_y(g, g->south), y1 = grid_y(g, g->north);
	double diag = hypot(x1 - x0, y1 - y0);
	size_t m = 0;

	*far = 0;
	for (size_t i = 0; i < fr->n; i++) {
		double x = grid_x(g, fr->lon[i]), y = grid_y(g, fr->lat[i]);
		double dx = x < x0 ? x0 - x : x > x1 ? x - x1 : 0, dy = y < y0 ? y0 - y : y > y1 ? y - y1 : 0;

		if (hypot(dx, dy) > diag) {
			(*far)++;
			continue;
		}
		w->px[m] = x; /* NaN stays NaN: stations_clean drops and counts it */
		w->py[m] = y;
		w->pz[m++] = fr->val[i];
	}
	if (m == 0)
		return error_set(e, KD_EINPUT,
				 "all %zu stations are farther from the boundary's box than its diagonal (%.0f m): "
				 "wrong coordinates, or the wrong boundary?",
				 fr->n, diag);
	return stations_clean(&w->st, w->px, w->py, w->pz, m, e);
}

/* gstat's nmax / maxdist for this frame: the job's, else the defaults; a
 * job without nmax and more than global_max stations gets nmax (auto). */
static void pick_nbhd(const struct render_opts *o, const struct trigger *t, size_t n, struct krige_opts *ko,
		      int *is_auto)
{
	size_t nmax = o->nbhd.nmax ? o->nbhd.nmax : RENDER_NMAX;
	size_t gmax = o->nbhd.global_max ? o->nbhd.global_max : RENDER_GLOBAL_MAX;

	*is_auto = 0;
	ko->nmax = (size_t)t->nmax;
	ko->maxdist = isfinite(t->maxdist) ? t->maxdist : o->nbhd.maxdist > 0 ? o->nbhd.maxdist : INFINITY;
	if (!t->nmax && n > gmax) {
		ko->nmax = nmax;
		*is_auto = 1;
	}
}

static struct json_object *nbhd_json(const struct krige_opts *ko, int is_auto)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "nmax", ko->nmax ? json_object_new_int64((int64_t)ko->nmax) : NULL);
	json_object_object_add(o, "maxdist", isfinite(ko->maxdist) ? json_object_new_double(ko->maxdist) : NULL);
	json_object_object_add(o, "auto", json_object_new_boolean(is_auto));
	return o;
}

/* A finite number, or null (JSON has no NaN). */
static struct json_object *num_or_null(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static int cv_json(const struct krige *k, int threads, struct json_object *fo, struct error *e)
{
	struct krige_cv cv;
	struct json_object *o;
	int rc;

	if ((rc = krige_cv(k, threads, NULL, NULL, &cv, e)) < 0)
		return rc;
	o = json_object_new_object();
	json_object_object_add(o, "n", json_object_new_int64((int64_t)cv.n));
	json_object_object_add(o, "me", num_or_null(cv.me));
	json_object_object_add(o, "mae", num_or_null(cv.mae));
	json_object_object_add(o, "rmse", num_or_null(cv.rmse));
	json_object_object_add(o, "msdr", num_or_null(cv.msdr));
	json_object_object_add(fo, "cv", o);
	return 0;
}

/* Inside cells left NaN by a local neighbourhood: no station in reach. */
static size_t count_nodata(const struct grid *g, const double *v)
{
	size_t n = 0;

	for (int r = 0; r < g->height; r++)
		for (size_t s = g->row_span[r]; s < g->row_span[r + 1]; s++)
			for (int c = g->span[s].c0; c < g->span[s].c1; c++)
				n += isnan(v[(size_t)r * g->width + c]);
	return n;
}

/* Ordinary kriging of the repaired stations: variogram, neighbourhood,
 * grid, cross-validation. */
static int ordinary_frame(const struct render_opts *o, const struct trigger *t, const struct grid *g,
			  struct frame_work *w, struct json_object *fo, struct error *e)
{
	size_t cells = (size_t)g->width * (size_t)g->height;
	struct krige_opts ko = { t->variance, t->cv != 0, 0, INFINITY };
	struct variogram v;
	struct fit_info fi;
	int given = t->variogram != NULL, is_auto, rc;

	memset(&fi, 0, sizeof(fi));
	if (given) {
		v.model = (enum vgm_model)t->model;
		v.nugget = json_object_get_double(json_object_object_get(t->variogram, "nugget"));
		v.psill = json_object_get_double(json_object_object_get(t->variogram, "psill"));
		v.range = json_object_get_double(json_object_object_get(t->variogram, "range"));
	} else if ((rc = krige_fit(&w->st, t->has_model ? (enum vgm_model)t->model : VGM_EXPONENTIAL, &v, &fi,
				   e)) < 0) {
		return rc;
	}
	json_object_object_add(fo, "variogram", variogram_json(&v, &fi, given));
	pick_nbhd(o, t, w->st.n, &ko, &is_auto);
	if ((rc = krige_open(&w->k, &v, &w->st, &ko, e)) < 0)
		return rc;
	if (t->variance && !(w->variance = malloc(cells * sizeof(double))))
		return error_set(e, KD_ENOMEM, "out of memory for the variance grid");
	if ((rc = krige_grid(w->k, g, w->value, w->variance, o->threads, e)) < 0)
		return rc;
	if (ko.nmax || isfinite(ko.maxdist)) {
		struct json_object *nb = nbhd_json(&ko, is_auto);

		json_object_object_add(nb, "nodata", json_object_new_int64((int64_t)count_nodata(g, w->value)));
		json_object_object_add(fo, "neighbourhood", nb);
	}
	return ko.cv ? cv_json(w->k, o->threads, fo, e) : 0;
}

/* Krige one frame into w->value (and w->variance), filling the frame's
 * result object.  Returns 0 or an error naming the frame. */
static int krige_frame(const struct render_opts *o, const struct render_job *j, const struct grid *g,
		       const struct frame *fr, struct frame_work *w, struct json_object *fo, struct error *e)
{
	const struct trigger *t = j->options;
	size_t cells = (size_t)g->width * (size_t)g->height, far;
	int given = t->variogram != NULL, rc;

	w->px = malloc(fr->n * sizeof(double));
	w->py = malloc(fr->n * sizeof(double));
	w->pz = malloc(fr->n * sizeof(double));
	w->value = malloc(cells * sizeof(double));
	if (!w->px || !w->py || !w->pz || !w->value)
		return error_set(e, KD_ENOMEM, "out of memory for a %dx%d grid", g->width, g->height);
	if ((rc = project_points(g, fr, w, &far, e)) < 0)
		return rc;
	{
		struct json_object *so = json_object_new_object();
		json_object_object_add(so, "used", json_object_new_int64((int64_t)w->st.n));
		json_object_object_add(so, "merged", json_object_new_int64((int64_t)w->st.merged));
		json_object_object_add(so, "dropped", json_object_new_int64((int64_t)w->st.dropped));
		json_object_object_add(so, "far", json_object_new_int64((int64_t)far));
		json_object_object_add(fo, "stations", so);
	}
	if (w->st.n < (given ? 1u : 3u))
		return error_set(e, KD_EINPUT,
				 "%zu usable station%s (%zu dropped as non-finite, %zu merged as duplicates, %zu too far "
				 "from the boundary); %s needs at least %d",
				 w->st.n, w->st.n == 1 ? "" : "s", w->st.dropped, w->st.merged, far,
				 given ? "kriging with a given variogram" : "fitting a variogram", given ? 1 : 3);

	if (t->method == METHOD_KRIGINGJS)
		return krigejs_frame(g, t, w, fo, e);
	return ordinary_frame(o, t, g, w, fo, e);
}

/* Every inside cell must hold a finite number: an image of garbage is an
 * error, never a result. */
static int check_finite(const struct grid *g, const double *v, const char *what, struct error *e)
{
	for (int r = 0; r < g->height; r++)
		for (size_t s = g->row_span[r]; s < g->row_span[r + 1]; s++)
			for (int c = g->span[s].c0; c < g->span[s].c1; c++)
				if (!isfinite(v[(size_t)r * g->width + c]))
					return error_set(e, KD_EINPUT,
							 "kriging gave a non-finite %s at row %d, column %d (the system is numerically singular)",
							 what, r, c);
	return 0;
}

/* Colour (and embed the legend when asked), then write .png and .pgw (and
 * the grids) for one frame; fo gets where the legend went. */
static int write_frame(const struct render_opts *o, const struct render_job *j, const struct grid *g,
		       struct frame_work *w, int dirfd, const char *base, struct json_object *fo,
		       struct error *e)
{
	const struct trigger *t = j->options;
	struct palette pal;
	struct png_arg pa;
	struct asc_arg aa = { g, w->value };
	char name[160];
	double lo, hi;
	int rc;

	/* The ramp of an unknown index spans the stations' values. */
	palette_range(w->st.z, w->st.n, &lo, &hi);
	palette_init(&pal, j->index, lo, hi);
	w->rgba = malloc((size_t)g->width * (size_t)g->height * 4);
	if (!w->rgba)
		return error_set(e, KD_ENOMEM, "out of memory for a %dx%d image", g->width, g->height);
	palette_fill(&pal, w->value, (size_t)g->width * (size_t)g->height, w->rgba);
	if (t->legend > 0 || (t->legend < 0 && o->legend)) {
		struct json_object *leg = json_object_new_object();
		const char *corner;
		long hidden;

		if ((rc = legend_embed(w->rgba, g->width, g->height, &pal, &corner, &hidden, e)) < 0) {
			json_object_put(leg);
			return rc;
		}
		json_object_object_add(leg, "corner", json_object_new_string(corner));
		json_object_object_add(leg, "hidden_pixels", json_object_new_int64(hidden));
		json_object_object_add(fo, "legend", leg);
	}

	pa.rgba = w->rgba;
	pa.w = g->width;
	pa.h = g->height;
	snprintf(name, sizeof(name), "%s.png", base);
	if ((rc = write_file(dirfd, name, put_png, &pa, e)) < 0)
		return rc;
	snprintf(name, sizeof(name), "%s.pgw", base);
	if ((rc = write_file(dirfd, name, put_pgw, g, e)) < 0)
		return rc;
	if (t->grid || t->variance) {
		snprintf(name, sizeof(name), "%s.prj", base);
		if ((rc = write_file(dirfd, name, put_prj, NULL, e)) < 0)
			return rc;
	}
	if (t->grid) {
		snprintf(name, sizeof(name), "%s.asc", base);
		if ((rc = write_file(dirfd, name, put_asc, &aa, e)) < 0)
			return rc;
	}
	if (t->variance) {
		aa.values = w->variance;
		snprintf(name, sizeof(name), "%s.var.asc", base);
		if ((rc = write_file(dirfd, name, put_asc, &aa, e)) < 0)
			return rc;
	}
	return 0;
}

static void add_sum(struct json_object *total, struct json_object *part, const char *key)
{
	struct json_object *a = json_object_object_get(total, key), *b = json_object_object_get(part, key);

	json_object_set_int64(a, json_object_get_int64(a) + json_object_get_int64(b));
}

int render_job(const struct render_opts *o, const struct render_job *j, struct json_object **result,
	       struct error *e)
{
	const struct trigger *t = j->options;
	struct boundary own = BOUNDARY_INIT;
	const struct boundary *b = NULL;
	struct grid g;
	struct json_object *res = NULL, *images, *frames, *stations, *bbox, *cvs = NULL;
	double t0 = now_seconds();
	char dirpath[256], (*used)[FRAME_NAME_MAX] = NULL; /* each frame's base name */
	int dirfd = -1, rc;

	*result = NULL;
	memset(&g, 0, sizeof(g));
	if ((rc = job_boundary(o, j, &own, &b, e)) < 0)
		goto out;
	if ((rc = grid_init(&g, b, t->width, o->max_cells, e)) < 0)
		goto out;
	snprintf(dirpath, sizeof(dirpath), "%s/%s", j->index, j->dir);
	if ((dirfd = outdir_open(o->out_fd, dirpath, 1, e)) < 0) {
		rc = dirfd;
		goto out;
	}
	/* A run of this job that crashed may have left temporary files. */
	if ((rc = outdir_clean_tmp(dirfd, e)) < 0)
		goto out;

	res = json_object_new_object();
	images = json_object_new_object();
	frames = json_object_new_array();
	stations = json_object_new_object();
	bbox = json_object_new_array();
	json_object_array_add(bbox, json_object_new_double(g.west));
	json_object_array_add(bbox, json_object_new_double(g.south));
	json_object_array_add(bbox, json_object_new_double(g.west + g.width * g.dx));
	json_object_array_add(bbox, json_object_new_double(g.south + g.height * g.dy));
	json_object_object_add(stations, "used", json_object_new_int64(0));
	json_object_object_add(stations, "merged", json_object_new_int64(0));
	json_object_object_add(stations, "dropped", json_object_new_int64(0));
	json_object_object_add(stations, "far", json_object_new_int64(0));
	cvs = json_object_new_object();
	json_object_object_add(res, "images", images);
	json_object_object_add(res, "bbox", bbox);
	json_object_object_add(res, "stations", stations);
	json_object_object_add(res, "width", json_object_new_int(g.width));
	json_object_object_add(res, "height", json_object_new_int(g.height));

	if (!(used = calloc(j->frames->n ? j->frames->n : 1, sizeof(*used)))) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < j->frames->n; i++) {
		const struct frame *fr = &j->frames->frame[i];
		struct json_object *fo = json_object_new_object();
		struct frame_work w;
		char base[FRAME_NAME_MAX], rel[512];

		memset(&w, 0, sizeof(w));
		json_object_array_add(frames, fo);
		json_object_object_add(fo, "pubtime", json_object_new_string(fr->pubtime));
		if (o->cancelled && o->cancelled(o->cancel_ctx)) {
			rc = error_set(e, KD_ECANCEL, "cancelled before frame %zu (%s)", i, fr->pubtime);
			goto fail;
		}
		render_safe_name(fr->pubtime, base, sizeof(base));
		/* Distinct pubtimes can map to one safe name, or to a name another
		 * frame's files already use: keep every frame's files apart. */
		if (name_clashes(used, i, base)) {
			size_t stem = strlen(base) < sizeof(base) - 24 ? strlen(base) : sizeof(base) - 24;
			for (size_t n = i;; n++) {
				snprintf(base + stem, sizeof(base) - stem, "-%zu", n);
				if (!name_clashes(used, i, base))
					break;
			}
		}
		snprintf(used[i], sizeof(used[i]), "%s", base);
		rc = krige_frame(o, j, &g, fr, &w, fo, e);
		/* A local neighbourhood leaves cells with no station in reach NaN
		 * (NODATA); anything else non-finite is an error. */
		if (rc == 0 && !(w.k && krige_is_local(w.k)))
			rc = check_finite(&g, w.value, "prediction", e);
		if (rc == 0 && w.variance && !krige_is_local(w.k))
			rc = check_finite(&g, w.variance, "variance", e);
		if (rc == 0)
			rc = write_frame(o, j, &g, &w, dirfd, base, fo, e);
		if (rc == 0) {
			struct json_object *so = json_object_object_get(fo, "stations");
			snprintf(rel, sizeof(rel), "%s/%s.png", dirpath, base);
			json_object_object_add(images, fr->pubtime, json_object_new_string(rel));
			json_object_object_add(fo, "image", json_object_new_string(rel));
			add_sum(stations, so, "used");
			add_sum(stations, so, "merged");
			add_sum(stations, so, "dropped");
			add_sum(stations, so, "far");
			if (json_object_object_get(fo, "cv"))
				json_object_object_add(cvs, fr->pubtime, json_object_get(json_object_object_get(fo, "cv")));
			if (!json_object_object_get(res, "neighbourhood") && json_object_object_get(fo, "neighbourhood"))
				json_object_object_add(res, "neighbourhood",
						       json_object_get(json_object_object_get(fo, "neighbourhood")));
			if (!json_object_object_get(res, "variogram"))
				json_object_object_add(res, "variogram",
						       json_object_get(json_object_object_get(fo, "variogram")));
		}
		frame_work_release(&w);
		if (rc == 0 && o->progress)
			o->progress(o->progress_ctx, i + 1, j->frames->n, fr->pubtime);
		if (rc < 0) {
			if (rc != KD_ECANCEL)
				error_prefix(e, "frame %zu (%s): ", i, fr->pubtime);
			goto fail;
		}
	}
	if ((rc = outdir_sync(dirfd, e)) < 0)
		goto fail;
	json_object_object_add(res, "frames", frames);
	if (j->options->method == METHOD_ORDINARY && j->options->cv != 0)
		json_object_object_add(res, "cv", cvs);
	else
		json_object_put(cvs);
	cvs = NULL;
	json_object_object_add(res, "seconds", json_object_new_double(now_seconds() - t0));
	*result = res;
	res = NULL;
	rc = 0;
	goto out;
fail:
	json_object_put(frames);
	json_object_put(cvs);
out:
	free(used);
	if (res)
		json_object_put(res);
	if (dirfd >= 0)
		close(dirfd);
	grid_release(&g);
	boundary_release(&own);
	return rc;
}

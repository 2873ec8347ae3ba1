/* render.c - see render.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "boundary.h"
#include "cost.h"
#include "error.h"
#include "krige.h"
#include "krigejs.h"
#include "legend.h"
#include "outfile.h"
#include "outputs.h"
#include "palette.h"
#include "pngout.h"
#include "raster.h"
#include "render.h"
#include "vgm_pick.h"

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
			if (e->code == KD_EIO && access(path, F_OK) != 0) {
				struct stat st;
				int isdir = stat(o->boundary_dir, &st) == 0 && S_ISDIR(st.st_mode);

				return error_set(e, KD_EINPUT, "boundary \"%s\": no file %s.geojson in --boundary-dir %s (%s)",
						 j->boundary_name, j->boundary_name, o->boundary_dir,
						 isdir ? "a directory that exists: add the district as NAME.geojson there"
						 : access(o->boundary_dir, F_OK) == 0 ? "which is not a directory"
						 : "which does not exist");
			}
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

static void pick_nbhd(const struct render_opts *o, const struct trigger *t, size_t n, struct krige_opts *ko,
		      int *is_auto);

unsigned render_outputs(const struct render_opts *o, const struct trigger *t)
{
	unsigned mask = t->has_outputs ? t->outputs : o->outputs ? o->outputs : OUTPUTS_DEFAULT;

	/* The daemon's default cannot give kriging.js the variance it lacks. */
	if (!t->has_outputs && t->method == METHOD_KRIGINGJS)
		mask &= ~OUTPUT_BIT(OUTPUT_VARIANCE);
	if (t->grid)
		mask |= OUTPUT_BIT(OUTPUT_GRID);
	if (t->variance)
		mask |= OUTPUT_BIT(OUTPUT_VARIANCE);
	return mask;
}

/* 1 when the job's outputs need the kriging variance. */
static int wants_variance(const struct render_opts *o, const struct trigger *t)
{
	return (render_outputs(o, t) & OUTPUT_BIT(OUTPUT_VARIANCE)) != 0;
}

int render_job_cost(const struct render_opts *o, const struct render_job *j, double *cost, struct error *e)
{
	const struct trigger *t = j->options;
	struct boundary own = BOUNDARY_INIT;
	const struct boundary *b = NULL;
	double cells;
	int rc;

	*cost = 0;
	if ((rc = job_boundary(o, j, &own, &b, e)) < 0)
		return rc;
	if (b->nrings == 0 || !(b->east > b->west) || !(b->north > b->south)) {
		boundary_release(&own);
		return error_set(e, KD_EINPUT, "the boundary is empty");
	}
	cells = (double)t->width * grid_rows_for(b, t->width);
	boundary_release(&own);
	for (size_t i = 0; i < j->frames->n; i++) {
		struct krige_cost_frame f = { 0, j->frames->frame[i].n, wants_variance(o, t), 0 };
		struct krige_opts ko = { 0 };
		int is_auto;

		/* The neighbourhood the renderer will pick: nmax stations a cell
		 * (maxdist alone bounds nothing: every station may be in range). */
		pick_nbhd(o, t, f.stations, &ko, &is_auto);
		if (ko.nmax && ko.nmax < f.stations)
			f.neighbours = ko.nmax;
		f.cells = cells < 1e18 ? (size_t)cells : (size_t)1e18;
		*cost += krige_cost(&f);
	}
	return 0;
}

int render_cost_check(double cost, double limit, struct error *e)
{
	if (limit <= 0 || cost <= limit)
		return 0;
	return error_set(e, KD_ELIMIT, "the job's estimated cost of %.3g multiply-adds (grid cells x stations, "
			 "x stations again for the variance) is above --max-job-cost %.3g", cost, limit);
}

/* Per-frame state that must be freed whatever happens. */
struct frame_work {
	struct stations st;
	struct krige *k;
	struct krigejs *kj;
	double *value, *variance;
	double *px, *py, *pz;
};

static void frame_work_release(struct frame_work *w)
{
	stations_release(&w->st);
	krige_free(w->k);
	krigejs_free(w->kj);
	free(w->value);
	free(w->variance);
	free(w->px);
	free(w->py);
	free(w->pz);
	memset(w, 0, sizeof(*w));
}

/* 1 when a frame named base would write a file another frame (names[0..n))
 * writes (outputs_names_clash). */
static int name_clashes(char (*names)[FRAME_NAME_MAX], size_t n, const char *base)
{
	for (size_t k = 0; k < n; k++)
		if (outputs_names_clash(names[k], base))
			return 1;
	return 0;
}

/* method "kriging.js": its own fit and predictor, in plain degrees. */
static int krigejs_frame(const struct render_opts *o, const struct grid *g, const struct trigger *t,
			 struct frame_work *w, struct json_object *fo, struct error *e)
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
		rc = krigejs_given(&w->kj, w->st.z, w->px, w->py, w->st.n, &kv, t->sigma2, o->cancelled, o->cancel_ctx, e);
	} else {
		rc = krigejs_train(&w->kj, w->st.z, w->px, w->py, w->st.n, model, t->sigma2, t->alpha, o->cancelled, o->cancel_ctx, e);
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
	for (int r = 0; r < g->height; r++) {
		if (o->cancelled && o->cancelled(o->cancel_ctx))
			return error_set(e, KD_ECANCEL, "stopped while predicting the grid");
		for (size_t s = g->row_span[r]; s < g->row_span[r + 1]; s++)
			for (int c = g->span[s].c0; c < g->span[s].c1; c++)
				w->value[(size_t)r * g->width + c] = krigejs_predict(w->kj, grid_lon(g, c), grid_lat(g, r));
	}
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
	struct krige_opts ko = { wants_variance(o, t), t->cv != 0, 0, INFINITY, o->threads };
	struct variogram v;
	struct fit_info fi;
	struct json_object *vj;
	int given, is_auto, rc;

	if ((rc = vgm_pick(t, &w->st, o->cancelled, o->cancel_ctx, &v, &fi, &given, &vj, e)) < 0)
		return rc;
	json_object_object_add(fo, "variogram", vj);
	pick_nbhd(o, t, w->st.n, &ko, &is_auto);
	/* Say whose variogram it was: advice about "the gaussian model with
	 * nugget 0" must not read as if the job had asked for it. */
	if ((rc = krige_open_until(&w->k, &v, &w->st, &ko, o->cancelled, o->cancel_ctx, e)) < 0) {
		if (rc != KD_EINPUT)
			return rc;
		if (given)
			return error_prefix(e, "the job's variogram: ");
		return error_prefix(e, "the variogram krigd %s (not given by the job; a \"variogram\" or another "
				    "\"model\" in the trigger overrides it): ",
				    fi.fitted ? "fitted to the stations" : "fell back to, the fit failing");
	}
	if (ko.variance && !(w->variance = malloc(cells * sizeof(double))))
		return error_set(e, KD_ENOMEM, "out of memory for the variance grid");
	if ((rc = krige_grid_until(w->k, g, w->value, w->variance, o->threads, o->cancelled, o->cancel_ctx,
				   e)) < 0)
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
		return krigejs_frame(o, g, t, w, fo, e);
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

/* What one job's frames share while they are rendered. */
struct job_ctx {
	const struct render_opts *o;
	const struct render_job *j;
	const struct grid *g;
	int dirfd;
	const char *dirpath;
	struct palette pal;
	int auto_range;                /* a ramp spanning the grids' own min and max */
	FILE *spill;                   /* two passes: every frame's values, in order */
	unsigned mask;                 /* the job's outputs (OUTPUT_BIT) */
	struct json_object *images, *files, *stations, *res;
	struct json_object *cvs;       /* {pubtime: cv} of the frames so far */
	char (*used)[FRAME_NAME_MAX];  /* each frame's base name */
};

/* The job's palette: its mode from the job or the daemon's default; a
 * ramp's range from the job, or NaN until the grids say. */
static int job_palette(struct job_ctx *c, struct error *e)
{
	const struct trigger *t = c->j->options;
	int mode = t->colors ? t->colors : c->o->colors;

	palette_setup(&c->pal, c->j->index, (enum palette_mode)mode, t->has_range ? t->range[0] : NAN,
		      t->has_range ? t->range[1] : NAN);
	if (t->has_range && c->pal.mode != PALETTE_MODE_RAMP)
		return error_set(e, KD_EINPUT, "\"range\" is for ramp colours; index \"%s\" is coloured by %s",
				 c->j->index, palette_mode_name(c->pal.mode));
	c->auto_range = c->pal.mode == PALETTE_MODE_RAMP && !t->has_range;
	return 0;
}

/* The frame's files of one phase (outputs.h); "files" gets their names. */
static int write_outputs(const struct job_ctx *c, const struct frame *fr, const double *value,
			 const double *variance, const char *base, enum output_phase phase, struct json_object *fo,
			 struct error *e)
{
	const struct trigger *t = c->j->options;
	struct output_frame of = { c->g, value, variance, &c->pal, c->mask, 0, c->o->lang, fo };
	struct json_object *files = json_object_object_get(c->files, fr->pubtime), *png;
	int rc;

	of.legend = t->legend > 0 || (t->legend < 0 && c->o->legend);
	if (!files) {
		files = json_object_new_object();
		json_object_object_add(c->files, fr->pubtime, files);
	}
	if ((rc = outputs_write(c->dirfd, c->dirpath, base, &of, phase, files, e)) < 0)
		return rc;
	if (phase == OUTPUT_COLOURED && (png = json_object_object_get(files, outputs_table[OUTPUT_PNG].name))) {
		json_object_object_add(c->images, fr->pubtime, json_object_get(png));
		json_object_object_add(fo, "image", json_object_get(png));
	}
	return 0;
}

static void add_sum(struct json_object *total, struct json_object *part, const char *key)
{
	struct json_object *a = json_object_object_get(total, key), *b = json_object_object_get(part, key);

	json_object_set_int64(a, json_object_get_int64(a) + json_object_get_int64(b));
}

/* Frame i's file base name: its safe pubtime, made distinct from the
 * names of frames 0..i-1. */
static void frame_name(char (*used)[FRAME_NAME_MAX], size_t i, const char *pubtime, char base[FRAME_NAME_MAX])
{
	render_safe_name(pubtime, base, FRAME_NAME_MAX);
	/* Distinct pubtimes can map to one safe name, or to a name another
	 * frame's files already use: keep every frame's files apart. */
	if (name_clashes(used, i, base)) {
		size_t stem = strlen(base) < FRAME_NAME_MAX - 24 ? strlen(base) : FRAME_NAME_MAX - 24;
		for (size_t n = i;; n++) {
			snprintf(base + stem, FRAME_NAME_MAX - stem, "-%zu", n);
			if (!name_clashes(used, i, base))
				break;
		}
	}
	snprintf(used[i], FRAME_NAME_MAX, "%s", base);
}

/* A file for the values of every frame between the passes: unlinked from
 * the start (O_TMPFILE, or a temporary name removed at once), in the job's
 * directory rather than /tmp, since it can be as large as the job. */
static int spill_open(int dirfd, FILE **fp, struct error *e)
{
	char name[64];
	int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		snprintf(name, sizeof(name), "%sspill.%ld", OUTFILE_TMP_PREFIX, (long)getpid());
		fd = openat(dirfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			unlinkat(dirfd, name, 0);
	}
	if (fd < 0 || !(*fp = fdopen(fd, "w+b"))) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return error_set(e, KD_EIO, "temporary file for the frames' values: %s", strerror(err));
	}
	return 0;
}

/* The first pass over frame i: krige, check, write the grids, and either
 * colour it now or keep its values for the second pass. */
static int frame_pass1(struct job_ctx *c, size_t i, struct json_object *fo, struct error *e)
{
	const struct frame *fr = &c->j->frames->frame[i];
	size_t cells = (size_t)c->g->width * (size_t)c->g->height;
	struct frame_work w;
	char base[FRAME_NAME_MAX];
	int rc;

	memset(&w, 0, sizeof(w));
	frame_name(c->used, i, fr->pubtime, base);
	rc = krige_frame(c->o, c->j, c->g, fr, &w, fo, e);
	/* A local neighbourhood leaves cells with no station in reach NaN
	 * (NODATA); anything else non-finite is an error. */
	if (rc == 0 && !(w.k && krige_is_local(w.k)))
		rc = check_finite(c->g, w.value, "prediction", e);
	if (rc == 0 && w.variance && !krige_is_local(w.k))
		rc = check_finite(c->g, w.variance, "variance", e);
	if (rc == 0)
		rc = write_outputs(c, fr, w.value, w.variance, base, OUTPUT_RAW, fo, e);
	if (rc == 0 && c->spill) {
		palette_range_add(w.value, cells, &c->pal.vmin, &c->pal.vmax);
		errno = 0;
		if (fwrite(w.value, sizeof(double), cells, c->spill) != cells)
			rc = error_set(e, KD_EIO, "temporary file for the frames' values: %s",
				       strerror(errno ? errno : EIO));
	} else if (rc == 0) {
		if (c->auto_range)
			palette_range(w.value, cells, &c->pal.vmin, &c->pal.vmax);
		rc = write_outputs(c, fr, w.value, w.variance, base, OUTPUT_COLOURED, fo, e);
	}
	if (rc == 0) {
		struct json_object *so = json_object_object_get(fo, "stations");
		add_sum(c->stations, so, "used");
		add_sum(c->stations, so, "merged");
		add_sum(c->stations, so, "dropped");
		add_sum(c->stations, so, "far");
		if (json_object_object_get(fo, "cv"))
			json_object_object_add(c->cvs, fr->pubtime, json_object_get(json_object_object_get(fo, "cv")));
		if (!json_object_object_get(c->res, "neighbourhood") && json_object_object_get(fo, "neighbourhood"))
			json_object_object_add(c->res, "neighbourhood",
					       json_object_get(json_object_object_get(fo, "neighbourhood")));
		if (!json_object_object_get(c->res, "variogram"))
			json_object_object_add(c->res, "variogram",
					       json_object_get(json_object_object_get(fo, "variogram")));
	}
	frame_work_release(&w);
	return rc;
}

/* The second pass, when the ramp spans every frame: colour each frame's
 * kept values with the job's range. */
static int frame_pass2(struct job_ctx *c, size_t i, struct json_object *fo, double *values, struct error *e)
{
	const struct frame *fr = &c->j->frames->frame[i];
	size_t cells = (size_t)c->g->width * (size_t)c->g->height;

	errno = 0;
	if (fread(values, sizeof(double), cells, c->spill) != cells)
		return error_set(e, KD_EIO, "reading back the frame's values: %s",
				 ferror(c->spill) ? strerror(errno ? errno : EIO) : "short file");
	return write_outputs(c, fr, values, NULL, c->used[i], OUTPUT_COLOURED, fo, e);
}

/* The result's top-level keys known before the frames are rendered. */
static void result_start(struct job_ctx *c, const struct grid *g)
{
	struct json_object *bbox = json_object_new_array();

	c->res = json_object_new_object();
	c->images = json_object_new_object();
	c->files = json_object_new_object();
	c->stations = json_object_new_object();
	json_object_array_add(bbox, json_object_new_double(g->west));
	json_object_array_add(bbox, json_object_new_double(g->south));
	json_object_array_add(bbox, json_object_new_double(g->west + g->width * g->dx));
	json_object_array_add(bbox, json_object_new_double(g->south + g->height * g->dy));
	json_object_object_add(c->stations, "used", json_object_new_int64(0));
	json_object_object_add(c->stations, "merged", json_object_new_int64(0));
	json_object_object_add(c->stations, "dropped", json_object_new_int64(0));
	json_object_object_add(c->stations, "far", json_object_new_int64(0));
	c->cvs = json_object_new_object();
	json_object_object_add(c->res, "images", c->images);
	json_object_object_add(c->res, "files", c->files);
	json_object_object_add(c->res, "bbox", bbox);
	json_object_object_add(c->res, "stations", c->stations);
	json_object_object_add(c->res, "width", json_object_new_int(g->width));
	json_object_object_add(c->res, "height", json_object_new_int(g->height));
	json_object_object_add(c->res, "colors", json_object_new_string(palette_mode_name(c->pal.mode)));
}

/* Both passes over the frames; frames gets each frame's result object. */
static int render_frames(struct job_ctx *c, struct json_object *frames, struct error *e)
{
	const struct frame_set *fs = c->j->frames;
	size_t cells = (size_t)c->g->width * (size_t)c->g->height;
	double *values = NULL;
	int rc = 0, two = c->spill != NULL;

	for (int pass = 1; pass <= 1 + two && rc == 0; pass++) {
		if (pass == 2) {
			rewind(c->spill);
			if (!(values = malloc(cells * sizeof(double))))
				return error_set(e, KD_ENOMEM, "out of memory for a %dx%d grid", c->g->width,
						 c->g->height);
		}
		for (size_t i = 0; i < fs->n && rc == 0; i++) {
			const struct frame *fr = &fs->frame[i];
			struct json_object *fo = json_object_array_get_idx(frames, i);

			if (pass == 1) {
				fo = json_object_new_object();
				json_object_array_add(frames, fo);
				json_object_object_add(fo, "pubtime", json_object_new_string(fr->pubtime));
			}
			if (c->o->cancelled && c->o->cancelled(c->o->cancel_ctx)) {
				rc = error_set(e, KD_ECANCEL, "cancelled before frame %zu (%s)", i, fr->pubtime);
				break;
			}
			if (pass == 1 && c->o->frame_begin)
				c->o->frame_begin(c->o->progress_ctx, i, fs->n, fr->pubtime);
			rc = pass == 1 ? frame_pass1(c, i, fo, e) : frame_pass2(c, i, fo, values, e);
			if (rc < 0 && rc != KD_ECANCEL)
				error_prefix(e, "frame %zu (%s): ", i, fr->pubtime);
			if (rc == 0 && pass == 1 + two && c->o->progress)
				c->o->progress(c->o->progress_ctx, i + 1, fs->n, fr->pubtime);
		}
	}
	free(values);
	return rc;
}

int render_job(const struct render_opts *o, const struct render_job *j, struct json_object **result,
	       struct error *e)
{
	const struct trigger *t = j->options;
	struct boundary own = BOUNDARY_INIT;
	const struct boundary *b = NULL;
	struct grid g;
	struct job_ctx c;
	struct json_object *frames = NULL;
	double t0 = now_seconds();
	char dirpath[256];
	int rc;

	*result = NULL;
	memset(&g, 0, sizeof(g));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.j = j;
	c.g = &g;
	c.dirfd = -1;
	c.dirpath = dirpath;
	c.mask = render_outputs(o, t);
	if ((rc = job_palette(&c, e)) < 0)
		goto out;
	if ((rc = job_boundary(o, j, &own, &b, e)) < 0)
		goto out;
	if ((rc = grid_init(&g, b, t->width, o->max_cells, e)) < 0)
		goto out;
	snprintf(dirpath, sizeof(dirpath), "%s/%s", j->index, j->dir);
	if ((c.dirfd = outdir_open(o->out_fd, dirpath, 1, e)) < 0) {
		rc = c.dirfd;
		goto out;
	}
	/* A run of this job that crashed may have left temporary files. */
	if ((rc = outdir_clean_tmp(c.dirfd, e)) < 0)
		goto out;
	if (c.auto_range && j->frames->n > 1 && (rc = spill_open(c.dirfd, &c.spill, e)) < 0)
		goto out;
	if (!(c.used = calloc(j->frames->n ? j->frames->n : 1, sizeof(*c.used)))) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
		goto out;
	}
	result_start(&c, &g);
	frames = json_object_new_array();
	if ((rc = render_frames(&c, frames, e)) < 0)
		goto out;
	if ((rc = outdir_sync(c.dirfd, e)) < 0)
		goto out;
	if (c.pal.mode == PALETTE_MODE_RAMP) {
		struct json_object *range = json_object_new_array();
		json_object_array_add(range, json_object_new_double(c.pal.vmin));
		json_object_array_add(range, json_object_new_double(c.pal.vmax));
		json_object_object_add(c.res, "range", range);
	}
	json_object_object_add(c.res, "frames", frames);
	frames = NULL;
	if (t->method == METHOD_ORDINARY && t->cv != 0) {
		json_object_object_add(c.res, "cv", c.cvs);
		c.cvs = NULL;
	}
	json_object_object_add(c.res, "seconds", json_object_new_double(now_seconds() - t0));
	*result = c.res;
	c.res = NULL;
	rc = 0;
out:
	json_object_put(frames);
	json_object_put(c.res);
	json_object_put(c.cvs);
	free(c.used);
	if (c.spill)
		fclose(c.spill);
	if (c.dirfd >= 0)
		close(c.dirfd);
	grid_release(&g);
	boundary_release(&own);
	return rc;
}

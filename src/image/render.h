/* render.h - one job's frames to files: kriging, mask, colour, PNG.
 *
 * Used by `krigd render` (no queue) and by the drain workers.  A job's files
 * are all written under <out>/<index>/<dir>/ to temporary names, fsynced and
 * renamed, and the directory fsynced, before render_job() returns 0: a
 * caller that records "done" afterwards never points at a missing or
 * half-written image.  Re-running the same job rewrites the same names. */
#ifndef KD_RENDER_H
#define KD_RENDER_H

#include <stddef.h>

#include "trigger.h"

struct json_object;
struct error;
struct boundary;

/* Neighbourhood defaults (--nmax, --maxdist, --global-max).  A job without
 * "nmax" kriges globally up to global_max stations and with nmax beyond
 * (the result says "auto"); a job without "maxdist" uses maxdist.  Zeros
 * mean the defaults below. */
struct render_nbhd {
	size_t nmax;       /* default RENDER_NMAX */
	double maxdist;    /* metres; 0: none (INFINITY) */
	size_t global_max; /* default RENDER_GLOBAL_MAX */
};

#define RENDER_NMAX 32
#define RENDER_GLOBAL_MAX 1000 /* see docs/DESIGN.md: about 0.2 s a frame globally */

struct render_opts {
	int out_fd;                        /* the --out directory, opened O_DIRECTORY */
	const struct boundary *boundary;   /* --boundary: for jobs that name none; may be NULL */
	const char *boundary_dir;          /* --boundary-dir: named boundaries; may be NULL */
	int threads;                       /* kriging threads for this worker, >= 1 */
	size_t max_cells;                  /* pixels per frame cap */
	int legend;                        /* 1: embed the legend in jobs that do not say ("legend") */
	struct render_nbhd nbhd;           /* zeros: the defaults */
	int colors;                        /* enum palette_mode for jobs that do not say ("colors"); 0: by index */
	int lang;                          /* enum legend_lang of the legend's text */
	unsigned outputs;                  /* OUTPUT_BIT set for jobs without "outputs"; 0: the PNG */
	/* Cooperative cancel (may be NULL), checked between frames and before
	 * every grid row, from every kriging thread: it must be thread-safe. */
	int (*cancelled)(void *ctx);
	void *cancel_ctx;
	/* Called after each frame is written, for a progress display (may be NULL). */
	void (*progress)(void *ctx, size_t done, size_t total, const char *pubtime);
	void *progress_ctx;
	/* Called as frame `index` (from 0) starts its kriging, past the cancel
	 * check before it: the next check is in the fit (may be NULL; gets
	 * progress_ctx). */
	void (*frame_begin)(void *ctx, size_t index, size_t total, const char *pubtime);
};

/* What to render: an inline trigger, or a source row turned into one
 * (index, frames; boundary left to --boundary). */
struct render_job {
	const char *dir;                   /* directory under <out>/<index>/: the job id */
	const char *index;
	const struct frame_set *frames;
	struct json_object *boundary;      /* inline GeoJSON, or NULL */
	const char *boundary_name;         /* a name in boundary_dir, or NULL */
	const struct trigger *options;     /* width, grid, variance, model, variogram, method, ... */
};

/* Render every frame.  On success *result is the result JSON of docs/DESIGN.md
 * ("images", "bbox", "variogram", "stations", "seconds", "colors", for a
 * ramp the "range" it spans, and per-frame detail in "frames"), plus "cv"
 * ({pubtime: {n, me, mae, rmse, msdr}}, leave-one-out cross-validation
 * unless the job says "cv": false) and "neighbourhood" when kriging is
 * local; the caller owns it.  A ramp without a given "range" spans the min
 * and max of all the job's grids: every frame is kriged (its values kept in
 * an unlinked temporary file beside the output) before any is coloured.
 * Errors: KD_EINPUT for data that
 * can never render (message names the frame and why), KD_EIO for disk
 * trouble (retry), KD_ECANCEL when cancelled (between frames or grid rows).  Files of
 * frames finished before an error stay; a retry rewrites them. */
int render_job(const struct render_opts *o, const struct render_job *j, struct json_object **result,
	       struct error *e);

/* The job's outputs (OUTPUT_BIT of outputs.h): its "outputs", else
 * o->outputs (without the variance for kriging.js), else the PNG; with
 * the grids its "grid" and "variance" ask for. */
unsigned render_outputs(const struct render_opts *o, const struct trigger *t);

/* The estimated cost of render_job(o, j) in multiply-adds (krige_cost of
 * every frame, at the grid its boundary and width give; cost.h), for
 * --max-job-cost.  Resolves the boundary as render_job does, so its errors
 * are render_job's (KD_EINPUT: no boundary, a bad one).  The kriging.js
 * method is costed as global kriging. */
int render_job_cost(const struct render_opts *o, const struct render_job *j, double *cost, struct error *e);

/* KD_ELIMIT naming both numbers when cost is above limit (0: no limit):
 * the one message of the listener and the drain. */
int render_cost_check(double cost, double limit, struct error *e);

/* Turn a pubtime into a file name component: [A-Za-z0-9._-] only, ':' and
 * '/' become '-', other bytes '_', never starting with '.'. */
void render_safe_name(const char *in, char *out, size_t outlen);

#endif

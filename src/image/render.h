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

struct render_opts {
	int out_fd;                        /* the --out directory, opened O_DIRECTORY */
	const struct boundary *boundary;   /* --boundary: for jobs that name none; may be NULL */
	const char *boundary_dir;          /* --boundary-dir: named boundaries; may be NULL */
	int threads;                       /* kriging threads for this worker, >= 1 */
	size_t max_cells;                  /* pixels per frame cap */
	int legend;                        /* 1: embed the legend in jobs that do not say ("legend") */
	/* Cooperative cancel, checked between frames (may be NULL). */
	int (*cancelled)(void *ctx);
	void *cancel_ctx;
	/* Called after each frame is written, for a progress display (may be NULL). */
	void (*progress)(void *ctx, size_t done, size_t total, const char *pubtime);
	void *progress_ctx;
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
 * ("images", "bbox", "variogram", "stations", "seconds", and per-frame
 * detail in "frames"); the caller owns it.  Errors: KD_EINPUT for data that
 * can never render (message names the frame and why), KD_EIO for disk
 * trouble (retry), KD_ECANCEL when cancelled between frames.  Files of
 * frames finished before an error stay; a retry rewrites them. */
int render_job(const struct render_opts *o, const struct render_job *j, struct json_object **result,
	       struct error *e);

/* Turn a pubtime into a file name component: [A-Za-z0-9._-] only, ':' and
 * '/' become '-', other bytes '_', never starting with '.'. */
void render_safe_name(const char *in, char *out, size_t outlen);

#endif

/* cmd_render.c - `krigd render`: one job from a JSON file straight to
 * files, no queue.  Prints the result JSON on stdout. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "boundary.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "options.h"
#include "outputs.h"
#include "palette.h"
#include "outfile.h"
#include "readfile.h"
#include "render.h"
#include "trigger.h"

#define RENDER_MAX_INPUT (64u << 20) /* a job file, not a datagram */

static const struct opts_cmd render_cmd = {
	"render", OPTC_RENDER,
	"usage: krigd render --in JOB.json --out DIR [OPTIONS]\n"
	"\n"
	"Render one inline job (docs/DESIGN.md trigger format) to PNG files, no\n"
	"queue, and print the result JSON on stdout.\n"
	"\n",
	"\n"
	"Exit status: 0 rendered, 1 the job could not be rendered, 2 bad usage.\n",
};

/* On a terminal, one line rewritten in place: "frame 3/24 (pubtime)". */
static void show_progress(void *ctx, size_t done, size_t total, const char *pubtime)
{
	(void)ctx;
	fprintf(stderr, "\rkrigd render: frame %zu/%zu (%.40s)\033[K%s", done, total, pubtime, done == total ? "\n" : "");
	fflush(stderr);
}

/* What the command line asks of the job. */
struct render_cli {
	const char *in, *out, *bpath, *job_id;
	int grid, variance, legend, colors, lang;
	unsigned outputs;
	long long width, threads, max_pixels;
	const char *boundary_dir;
	struct render_nbhd nbhd;
};

static int render_option(struct opts *p, struct render_cli *r, int id, const struct opt_val *v)
{
	switch (id) {
	case OPT_IN: r->in = v->arg; break;
	case OPT_RENDER_OUT: r->out = v->arg; break;
	case OPT_GRID: r->grid = 1; break;
	case OPT_VARIANCE: r->variance = 1; break;
	case OPT_RENDER_LEGEND: r->legend = 1; break;
	case OPT_COLORS: {
		enum palette_mode m;
		if (palette_mode_parse(v->arg, &m) < 0)
			return opts_bad(p, v, "levels, smooth or ramp");
		r->colors = (int)m;
		break;
	}
	case OPT_OUTPUTS: {
		struct error oe;
		if (outputs_parse_list(v->arg, &r->outputs, &oe) < 0)
			return fprintf(p->err, "krigd %s: --outputs %s\n", p->cmd->name, oe.msg), OPTS_BAD;
		break;
	}
	case OPT_LANG:
		if (cli_lang(v->arg, &r->lang) < 0)
			return opts_bad(p, v, "en or zh");
		break;
	case OPT_BOUNDARY: r->bpath = v->arg; break;
	case OPT_BOUNDARY_DIR: r->boundary_dir = v->arg; break;
	case OPT_JOB_ID: r->job_id = v->arg; break;
	case OPT_WIDTH: r->width = v->num; break;
	case OPT_RENDER_THREADS: r->threads = v->num; break;
	case OPT_MAX_PIXELS: r->max_pixels = v->num; break;
	case OPT_NMAX: r->nbhd.nmax = (size_t)v->num; break;
	case OPT_MAXDIST: r->nbhd.maxdist = (double)v->num; break;
	case OPT_GLOBAL_MAX: r->nbhd.global_max = (size_t)v->num; break;
	default: return cli_unhandled(p, v);
	}
	return 0;
}

/* Read and check the job file into t; the command line's overrides
 * applied.  0, or an error in e. */
static int load_job(const struct render_cli *r, struct trigger *t, struct error *e)
{
	struct trigger_limits lim;
	char *text = NULL;
	size_t len = 0;
	int rc;

	trigger_limits_default(&lim);
	lim.max_bytes = RENDER_MAX_INPUT;
	if (r->width > lim.max_width)
		lim.max_width = (int)r->width;
	if ((rc = readfile_capped(r->in, RENDER_MAX_INPUT, &text, &len, e)) < 0)
		return rc;
	rc = trigger_parse(t, text, len, &lim, e);
	free(text);
	if (rc < 0)
		return error_prefix(e, "%s: ", r->in);
	if (t->kind != TRIGGER_INLINE)
		return error_set(e, KD_EINPUT, "%s: krigd render takes an inline job (index, boundary, frames)", r->in);
	if (r->width)
		t->width = (int)r->width;
	t->grid |= r->grid;
	t->variance |= r->variance;
	if (r->legend)
		t->legend = 1;
	if (t->variance && t->method == METHOD_KRIGINGJS)
		return error_set(e, KD_EINPUT, "method kriging.js has no variance");
	return 0;
}

/* Render t with r's settings, the result JSON on stdout.  0, or an error. */
static int render_to_files(const struct render_cli *r, struct trigger *t, struct error *e)
{
	struct render_opts ro;
	struct render_job rj;
	struct boundary defb = BOUNDARY_INIT;
	struct json_object *result = NULL;
	int rc = -1;

	memset(&ro, 0, sizeof(ro));
	ro.out_fd = -1;
	ro.boundary_dir = r->boundary_dir;
	if (r->bpath && (rc = boundary_from_file(&defb, r->bpath, e)) < 0) {
		error_prefix(e, "--boundary %s: ", r->bpath);
		goto out;
	}
	if ((ro.out_fd = rc = outdir_open(AT_FDCWD, r->out, 1, e)) < 0)
		goto out;
	ro.boundary = r->bpath ? &defb : NULL;
	ro.threads = (int)r->threads;
	ro.max_cells = (size_t)r->max_pixels;
	ro.nbhd = r->nbhd;
	ro.colors = r->colors;
	ro.outputs = r->outputs;
	ro.lang = r->lang;
	if (isatty(STDERR_FILENO))
		ro.progress = show_progress;

	memset(&rj, 0, sizeof(rj));
	rj.dir = r->job_id;
	rj.index = t->index;
	rj.frames = &t->frames;
	rj.boundary = t->boundary;
	rj.boundary_name = t->boundary_name;
	rj.options = t;
	if ((rc = render_job(&ro, &rj, &result, e)) == 0)
		printf("%s\n", json_object_to_json_string_ext(result, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
out:
	if (result)
		json_object_put(result);
	if (ro.out_fd >= 0)
		close(ro.out_fd);
	boundary_release(&defb);
	return rc < 0 ? rc : 0;
}

int cmd_render(int argc, char **argv)
{
	struct render_cli r;
	struct trigger t;
	struct error e;
	struct opts p;
	struct opt_val v;
	int id, rc = 1;

	memset(&r, 0, sizeof(r));
	r.threads = cli_cores();
	memset(&t, 0, sizeof(t));
	error_clear(&e);
	opts_begin(&p, &render_cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		if (render_option(&p, &r, id, &v) < 0)
			return 2;
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (!r.in || !r.out || optind != argc) {
		fprintf(stderr, "krigd render: --in and --out are required\n");
		opts_usage(&render_cmd, stderr);
		return 2;
	}
	if (!outfile_name_ok(r.job_id)) {
		fprintf(stderr, "krigd render: --job-id must be a plain name\n");
		return 2;
	}
	if (load_job(&r, &t, &e) == 0 && render_to_files(&r, &t, &e) == 0)
		rc = 0;
	else
		fprintf(stderr, "krigd render: %s\n", e.msg);
	trigger_release(&t);
	return rc;
}

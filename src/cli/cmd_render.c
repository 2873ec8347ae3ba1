/* cmd_render.c - `krigd render`: one job from a JSON file straight to
 * files, no queue.  Prints the result JSON on stdout. */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
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
#include "outfile.h"
#include "readfile.h"
#include "render.h"
#include "trigger.h"

#define RENDER_MAX_INPUT (64u << 20) /* a job file, not a datagram */

static void render_usage(FILE *fp)
{
	fprintf(fp,
		"usage: krigd render --in JOB.json --out DIR [OPTIONS]\n"
		"\n"
		"Render one inline job (docs/DESIGN.md trigger format) to PNG files, no queue,\n"
		"and print the result JSON on stdout.\n"
		"\n"
		"  --in FILE           the job (\"-\" for standard input)\n"
		"  --out DIR           output directory (created if missing)\n"
		"  --grid              also write the Esri ASCII grid (.asc)\n"
		"  --variance          also write the kriging variance grid (.var.asc)\n"
		"  --legend            draw the colour legend into each map\n"
		"  --width N           pixels across (overrides the job's \"width\")\n"
		"  --boundary FILE     GeoJSON district for a job that names none\n"
		"  --boundary-dir DIR  where named boundaries live (NAME.geojson)\n"
		"  --threads N         kriging threads (default: the CPU count)\n"
		"  --job-id NAME       directory for the files under DIR/INDEX/ (default \"render\")\n"
		"  --max-pixels N      refuse frames larger than N cells (default 25000000)\n"
		"  --help              this text\n"
		"\n"
		"Exit status: 0 rendered, 1 the job could not be rendered, 2 bad usage.\n");
}

/* On a terminal, one line rewritten in place: "frame 3/24 (pubtime)". */
static void show_progress(void *ctx, size_t done, size_t total, const char *pubtime)
{
	(void)ctx;
	fprintf(stderr, "\rkrigd render: frame %zu/%zu (%.40s)\033[K%s", done, total, pubtime, done == total ? "\n" : "");
	fflush(stderr);
}

int cmd_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "grid", no_argument, NULL, 'g' },
		{ "variance", no_argument, NULL, 'v' },
		{ "legend", no_argument, NULL, 'L' },
		{ "width", required_argument, NULL, 'w' },
		{ "boundary", required_argument, NULL, 'b' },
		{ "boundary-dir", required_argument, NULL, 'B' },
		{ "threads", required_argument, NULL, 't' },
		{ "job-id", required_argument, NULL, 'j' },
		{ "max-pixels", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *in = NULL, *out = NULL, *bpath = NULL, *job_id = "render";
	struct render_opts ro;
	struct render_job rj;
	struct trigger_limits lim;
	struct trigger t;
	struct boundary defb = BOUNDARY_INIT;
	struct json_object *result = NULL;
	struct error e;
	int want_grid = 0, want_var = 0, want_legend = 0, c, rc = 1;
	long width = 0, threads = cli_cores(), max_pixels = 25000000;
	size_t len = 0;
	char *text = NULL;

	memset(&ro, 0, sizeof(ro));
	memset(&t, 0, sizeof(t));
	error_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'g': want_grid = 1; break;
		case 'v': want_var = 1; break;
		case 'L': want_legend = 1; break;
		case 'b': bpath = optarg; break;
		case 'B': ro.boundary_dir = optarg; break;
		case 'j': job_id = optarg; break;
		case 'w':
			if (cli_long(optarg, 1, 100000, &width) < 0)
				goto bad_number;
			break;
		case 't':
			if (cli_long(optarg, 1, 1024, &threads) < 0)
				goto bad_number;
			break;
		case 'm':
			if (cli_long(optarg, 1, LONG_MAX, &max_pixels) < 0)
				goto bad_number;
			break;
		case 'h':
			render_usage(stdout);
			return 0;
		default:
			render_usage(stderr);
			return 2;
		}
	}
	if (!in || !out || optind != argc) {
		fprintf(stderr, "krigd render: --in and --out are required\n");
		render_usage(stderr);
		return 2;
	}
	if (!outfile_name_ok(job_id)) {
		fprintf(stderr, "krigd render: --job-id must be a plain name\n");
		return 2;
	}
	if (threads < 1)
		threads = 1;

	trigger_limits_default(&lim);
	lim.max_bytes = RENDER_MAX_INPUT;
	if (width > lim.max_width)
		lim.max_width = (int)width;
	if (readfile_capped(in, RENDER_MAX_INPUT, &text, &len, &e) < 0)
		goto fail;
	if (trigger_parse(&t, text, len, &lim, &e) < 0) {
		error_prefix(&e, "%s: ", in);
		goto fail;
	}
	if (t.kind != TRIGGER_INLINE) {
		error_set(&e, KD_EINPUT, "%s: krigd render takes an inline job (index, boundary, frames)", in);
		goto fail;
	}
	if (width)
		t.width = (int)width;
	t.grid |= want_grid;
	t.variance |= want_var;
	if (want_legend)
		t.legend = 1;
	if (t.variance && t.method == METHOD_KRIGINGJS) {
		error_set(&e, KD_EINPUT, "method kriging.js has no variance");
		goto fail;
	}
	if (bpath && boundary_from_file(&defb, bpath, &e) < 0) {
		error_prefix(&e, "--boundary %s: ", bpath);
		goto fail;
	}
	ro.out_fd = outdir_open(AT_FDCWD, out, 1, &e);
	if (ro.out_fd < 0)
		goto fail;
	ro.boundary = bpath ? &defb : NULL;
	ro.threads = (int)threads;
	ro.max_cells = (size_t)max_pixels;
	if (isatty(STDERR_FILENO))
		ro.progress = show_progress;

	memset(&rj, 0, sizeof(rj));
	rj.dir = job_id;
	rj.index = t.index;
	rj.frames = &t.frames;
	rj.boundary = t.boundary;
	rj.boundary_name = t.boundary_name;
	rj.options = &t;
	if (render_job(&ro, &rj, &result, &e) < 0)
		goto fail;
	printf("%s\n", json_object_to_json_string_ext(result, JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	rc = 0;
	goto out;
bad_number:
	fprintf(stderr, "krigd render: not a valid number: %s\n", optarg);
	return 2;
fail:
	fprintf(stderr, "krigd render: %s\n", e.msg);
	rc = 1;
out:
	if (result)
		json_object_put(result);
	if (ro.out_fd > 0)
		close(ro.out_fd);
	trigger_release(&t);
	boundary_release(&defb);
	free(text);
	return rc;
}

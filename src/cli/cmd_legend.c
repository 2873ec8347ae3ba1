/* cmd_legend.c - `krigd legend`: the colour legend of an index to a PNG
 * file, written durably (outfile: temporary name, fsync, rename). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "error.h"
#include "legend.h"
#include "options.h"
#include "outfile.h"
#include "pngout.h"

static const struct opts_cmd legend_cmd = {
	"legend", OPTC_LEGEND,
	"usage: krigd legend --index NAME --out FILE.png [--width N]\n"
	"\n"
	"Draw the colour legend of an index: its six HJ 633 levels, each with its\n"
	"colour and range, level 1 at the top.\n"
	"\n",
	NULL,
};

static int write_png(const char *path, const unsigned char *rgba, int w, int h, struct error *e)
{
	struct outfile f = OUTFILE_INIT;
	char *dir = strdup(path), *slash;
	const char *name;
	int dirfd, rc;

	if (!dir)
		return error_set(e, KD_ENOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		name = slash + 1;
		dirfd = outdir_open(AT_FDCWD, slash == dir ? "/" : dir, 1, e);
	} else {
		name = dir;
		dirfd = outdir_open(AT_FDCWD, ".", 0, e);
	}
	if (dirfd < 0) {
		free(dir);
		return dirfd;
	}
	if ((rc = outfile_open(&f, dirfd, name, e)) == 0 && (rc = pngout_write(f.fp, rgba, w, h, e)) == 0 &&
	    (rc = outfile_commit(&f, e)) == 0)
		rc = outdir_sync(dirfd, e);
	outfile_abort(&f);
	close(dirfd);
	free(dir);
	return rc;
}

int cmd_legend(int argc, char **argv)
{
	const char *index = NULL, *out = NULL;
	unsigned char *rgba = NULL;
	struct error e;
	struct opts p;
	struct opt_val v;
	long long width = 0;
	int id, w, h;

	error_clear(&e);
	opts_begin(&p, &legend_cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		switch (id) {
		case OPT_INDEX: index = v.arg; break;
		case OPT_LEGEND_OUT: out = v.arg; break;
		case OPT_LEGEND_WIDTH: width = v.num; break;
		default: return cli_unhandled(&p, &v), 2;
		}
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (!index || !out || optind != argc) {
		fprintf(stderr, "krigd legend: --index and --out are required\n");
		opts_usage(&legend_cmd, stderr);
		return 2;
	}
	if (legend_draw(index, (int)width, &rgba, &w, &h, &e) < 0) {
		fprintf(stderr, "krigd legend: %s\n", e.msg);
		return 2;
	}
	if (write_png(out, rgba, w, h, &e) < 0) {
		fprintf(stderr, "krigd legend: %s\n", e.msg);
		free(rgba);
		return 1;
	}
	free(rgba);
	return 0;
}

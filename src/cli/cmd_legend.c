/* cmd_legend.c - `krigd legend`: the colour legend of an index to a PNG
 * file, written durably (outfile: temporary name, fsync, rename). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "error.h"
#include "legend.h"
#include "legend_json.h"
#include "palette.h"
#include "outfile.h"
#include "pngout.h"

static void legend_usage(FILE *fp)
{
	fprintf(fp,
		"usage: krigd legend --index NAME (--out FILE.png | --json) [--width N]\n"
		"                    [--colors MODE] [--lang LANG]\n"
		"\n"
		"Draw the colour legend of an index: its title and unit, its six HJ 633\n"
		"levels, each with its colour, range and name, level 1 at the top.\n"
		"\n"
		"  --index NAME   aqi, pm25, pm10, so2, no2, co, o3, so2_24h, no2_24h,\n"
		"                 co_24h, o3_8h\n"
		"  --out FILE     the PNG to write (replaced atomically)\n"
		"  --json         print the legend as JSON (levels or ramp stops) instead\n"
		"  --width N      pixels across (default 240)\n"
		"  --colors MODE  levels (default) or smooth: a continuous colour bar\n"
		"  --lang LANG    level names in en (default) or zh\n"
		"  --help         this text\n");
}

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

static int print_json(const char *index, enum palette_mode mode)
{
	struct palette p;
	struct json_object *o;

	palette_setup(&p, index, mode, NAN, NAN);
	if (!(o = legend_json(&p))) {
		fprintf(stderr, "krigd legend: out of memory\n");
		return 1;
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return fflush(stdout) == 0 ? 0 : 1;
}

int cmd_legend(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "index", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "width", required_argument, NULL, 'w' },
		{ "colors", required_argument, NULL, 'C' },
		{ "lang", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *index = NULL, *out = NULL;
	unsigned char *rgba = NULL;
	struct error e;
	long width = 240;
	int c, w, h, lang = LEGEND_EN, json = 0;
	enum palette_mode mode = PALETTE_DEFAULT;

	error_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i': index = optarg; break;
		case 'o': out = optarg; break;
		case 'w':
			if (cli_long(optarg, LEGEND_MIN_WIDTH, LEGEND_MAX_WIDTH, &width) < 0) {
				fprintf(stderr, "krigd legend: --width: expected %d .. %d\n", LEGEND_MIN_WIDTH,
					LEGEND_MAX_WIDTH);
				return 2;
			}
			break;
		case 'C':
			if (palette_mode_parse(optarg, &mode) < 0) {
				fprintf(stderr, "krigd legend: --colors: expected levels, smooth or ramp\n");
				return 2;
			}
			break;
		case 'l':
			if (cli_lang(optarg, &lang) < 0) {
				fprintf(stderr, "krigd legend: --lang: expected en or zh\n");
				return 2;
			}
			break;
		case 'j': json = 1; break;
		case 'h': legend_usage(stdout); return 0;
		default: legend_usage(stderr); return 2;
		}
	}
	if (!index || (!out && !json) || optind != argc) {
		fprintf(stderr, "krigd legend: --index and --out (or --json) are required\n");
		legend_usage(stderr);
		return 2;
	}
	if (json)
		return print_json(index, mode);
	if (legend_draw(index, mode, lang, (int)width, &rgba, &w, &h, &e) < 0) {
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

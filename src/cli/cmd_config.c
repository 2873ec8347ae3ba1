/* cmd_config.c - `krigd config --check`: main() has already read and
 * validated the file (a bad one never gets here: exit 1 with file:line);
 * this walks the merged arguments the way every subcommand's getopt_long
 * would (the last occurrence wins) and prints the resulting settings. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "options.h"

static const struct opts_cmd config_cmd = {
	"config", OPTC_CONFIG,
	"usage: krigd config --check --config FILE [--for COMMAND] [OPTIONS]\n"
	"\n"
	"Validate a configuration file and print the settings it gives, merged with\n"
	"any options on the command line (they override the file), one `key = value`\n"
	"a line.  Exit status 0 if the file is valid, 1 if not, 2 on bad usage.\n"
	"\n",
	NULL,
};

/* One `key = value` line; quoted when the file syntax would trim it. */
static void print_setting(const char *key, const char *v)
{
	size_t n = strlen(v);

	if (n && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		printf("%s = \"%s\"\n", key, v);
	else
		printf("%s = %s\n", key, v);
}

int cmd_config(int argc, char **argv)
{
	const char *val[OPT__COUNT] = { NULL };
	unsigned mask = ~0u;
	int check = 0, id;
	struct opts p;
	struct opt_val v;

	opts_begin(&p, &config_cmd, argc, argv, OPTS_RAW);
	while ((id = opts_next(&p, &v)) >= 0) {
		if (id == OPT_CHECK)
			check = 1;
		else if (id == OPT_FOR) {
			if (!(mask = opts_command_bit(v.arg))) {
				fprintf(stderr, "krigd config: --for takes a command that has options\n");
				goto usage;
			}
		} else
			val[id] = v.arg ? v.arg : "true";
	}
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (optind != argc) {
		fprintf(stderr, "krigd config: unexpected argument %s\n", argv[optind]);
		goto usage;
	}
	if (!check) {
		fprintf(stderr, "krigd config: nothing to do (try --check)\n");
		goto usage;
	}
	printf("# effective settings: the file, then the command line (the last wins);\n"
	       "# options not listed keep their built-in defaults (see krigd(1))\n");
	for (int k = 0; k < OPT__COUNT; k++) {
		unsigned cmds;

		/* getopt knows each key by its first row (opts_find_key's) */
		if (val[k] && opts_find_key(opt_table[k].name, &cmds) == &opt_table[k] && (cmds & mask))
			print_setting(opt_table[k].name, val[k]);
	}
	return 0;
usage:
	opts_usage(&config_cmd, stderr);
	return 2;
}

/* cmd_config.c - `krigd config --check`: main() has already read and
 * validated the file (a bad one never gets here: exit 1 with file:line);
 * this walks the merged arguments the way every subcommand's getopt_long
 * would (the last occurrence wins) and prints the resulting settings. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "conffile.h"

static void config_usage(FILE *fp)
{
	fprintf(fp,
		"usage: krigd config --check --config FILE [--for COMMAND] [OPTIONS]\n"
		"\n"
		"Validate a configuration file and print the settings it gives, merged with\n"
		"any options on the command line (they override the file), one `key = value`\n"
		"a line.  Exit status 0 if the file is valid, 1 if not, 2 on bad usage.\n"
		"\n"
		"  --check            validate and print (the only action)\n"
		"  --for COMMAND      only the settings COMMAND would take (listen, drain, ...)\n"
		"  --help             this text\n");
}

int cmd_config(int argc, char **argv)
{
	size_t nopt = 0;
	const char **val;
	unsigned mask = ~0u;
	int check = 0;

	while (conffile_options[nopt].name)
		nopt++;
	if (!(val = calloc(nopt, sizeof(*val)))) {
		fprintf(stderr, "krigd config: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct conffile_option *o;
		char name[64];
		size_t len;

		if (strcmp(a, "--help") == 0) {
			config_usage(stdout);
			free(val);
			return 0;
		}
		if (strcmp(a, "--check") == 0) {
			check = 1;
			continue;
		}
		if (strcmp(a, "--for") == 0) {
			if (i + 1 >= argc || !(mask = conffile_command_bit(argv[++i]))) {
				fprintf(stderr, "krigd config: --for takes a command that has options\n");
				goto usage;
			}
			continue;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		if (strncmp(a, "--", 2) != 0 || len - 2 >= sizeof(name)) {
			fprintf(stderr, "krigd config: unexpected argument %s\n", a);
			goto usage;
		}
		memcpy(name, a + 2, len - 2);
		name[len - 2] = '\0';
		if (!(o = conffile_option_find(name))) {
			fprintf(stderr, "krigd config: unknown option %s\n", a);
			goto usage;
		}
		if (o->has_arg && !eq && i + 1 >= argc) {
			fprintf(stderr, "krigd config: %s needs a value\n", a);
			goto usage;
		}
		if (!o->has_arg && eq) {
			fprintf(stderr, "krigd config: %s takes no value\n", a);
			goto usage;
		}
		val[o - conffile_options] = !o->has_arg ? "true" : eq ? eq + 1 : argv[++i];
	}
	if (!check) {
		fprintf(stderr, "krigd config: nothing to do (try --check)\n");
		goto usage;
	}
	printf("# effective settings: the file, then the command line (the last wins);\n"
	       "# options not listed keep their built-in defaults (see krigd(1))\n");
	for (size_t k = 0; k < nopt; k++) {
		const char *v = val[k];
		size_t n;

		if (!v || !(conffile_options[k].commands & mask))
			continue;
		n = strlen(v);
		/* Quote what the file syntax would otherwise trim. */
		if (n && (v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t'))
			printf("%s = \"%s\"\n", conffile_options[k].name, v);
		else
			printf("%s = %s\n", conffile_options[k].name, v);
	}
	free(val);
	return 0;
usage:
	config_usage(stderr);
	free(val);
	return 2;
}

/* cmd_config.c - `krigd config --check`: main() has already read the
 * file's syntax and keys (a bad one never gets here: exit 1 with
 * file:line); this walks the merged arguments the way every subcommand's
 * getopt_long would (the last occurrence wins), checks each value as the
 * commands that take it do (numbers against their row's range, words and
 * lists through the same parsers as the commands' switches), and prints
 * the resulting settings, with a warning for each path that does not
 * exist. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "error.h"
#include "options.h"
#include "palette.h"
#include "privdrop.h"
#include "queue.h"
#include "source.h"

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

/* A warning on stderr when a setting that names a file (metavar FILE, DIR
 * or PATH in the option table) names nothing there: a typo in a path is
 * otherwise found only when a job needs it.  Not an error: a queue, a
 * socket or an image directory may be created by the command itself. */
static void warn_missing_path(const struct opt_def *d, const char *v)
{
	struct stat st;

	if (!d->arg || strcmp(v, "-") == 0)
		return;
	if (strcmp(d->arg, "FILE") != 0 && strcmp(d->arg, "DIR") != 0 && strcmp(d->arg, "PATH") != 0)
		return;
	if (stat(v, &st) < 0)
		fprintf(stderr, "krigd config: warning: %s = %s: %s\n", d->name, v, strerror(errno));
}

static int all_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* Value arg of row d as the commands read it: 0, or OPTS_BAD with the
 * key and what it must be printed on p->err (opts_bad's words). */
static int check_value(struct opts *p, const struct opt_def *d, const char *arg)
{
	struct opt_val v = { d, arg, 0, 0 };
	enum queue_durability dur;
	enum palette_mode mode;
	uid_t uids[CLI_MAX_ALLOW];
	char *hosts[CLI_MAX_ALLOW + 1], buf[4096];
	struct privdrop pd;
	struct error e = { 0 };
	unsigned m;
	size_t n;
	int lang;

	if (d->type == OPT_T_NUM)
		return opts_check_num(p, d, arg);
	switch ((int)(d - opt_table)) {
	case OPT_SYNCHRONOUS:
		return cli_sync(arg, &dur) < 0 ? opts_bad(p, &v, "full or normal") : 0;
	case OPT_LOG_LEVEL:
		return cli_log_level(arg) < 0 ? opts_bad(p, &v, "error, warning, notice, info or debug") : 0;
	case OPT_LANG:
		return cli_lang(arg, &lang) < 0 ? opts_bad(p, &v, "en or zh") : 0;
	case OPT_COLORS:
	case OPT_LEGEND_COLORS:
		return palette_mode_parse(arg, &mode) < 0 ? opts_bad(p, &v, "levels, smooth or ramp") : 0;
	case OPT_SOCKET_MODE:
		return cli_socket_mode(arg, &m) < 0 ? opts_bad(p, &v, "an octal mode like 0660") : 0;
	case OPT_ALLOW_UID:
		return cli_uid_list(arg, uids, CLI_MAX_ALLOW, &n) < 0
			       ? opts_bad(p, &v, "numbers separated by commas (at most 64)")
			       : 0;
	case OPT_CALLBACK_ALLOW_HOSTS:
		return cli_host_list(arg, hosts, CLI_MAX_ALLOW, buf, sizeof(buf)) < 0
			       ? opts_bad(p, &v, "host names separated by commas (at most 64)")
			       : 0;
	case OPT_STATE:
		return queue_state_parse(arg) < 0 ? opts_bad(p, &v, "pending, running, done, dead or cancelled") : 0;
	case OPT_OLDER_THAN:
		return cli_duration(arg) < 0 ? opts_bad(p, &v, "a duration like 90s, 15m, 2h, 7d") : 0;
	case OPT_USER:
		/* As root, the command's own lookup; a check run by another
		 * user (who cannot drop privileges) asks only that it exists. */
		if (geteuid() == 0 ? privdrop_lookup(&pd, arg, &e) < 0 : !getpwnam(arg) && !all_digits(arg)) {
			fprintf(p->err, "krigd %s: %s\n", p->cmd->name, e.msg[0] ? e.msg : "--user: no such user");
			return OPTS_BAD;
		}
		return 0;
	case OPT_SOURCE:
		if (source_spec_has_password(arg)) {
			fprintf(p->err, "krigd %s: --%s: no password in the URL; use KRIGD_MYSQL_PASSWORD or "
				"&password_file=FILE\n", p->cmd->name, d->name);
			return OPTS_BAD;
		}
		return 0;
	}
	return 0;
}

int cmd_config(int argc, char **argv)
{
	const char *val[OPT__COUNT] = { NULL };
	unsigned mask = ~0u;
	int check = 0, id, bad = 0;
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
	/* Every value, against every row of its name that a command of the
	 * mask takes ("width" is render's and legend's, with other ranges). */
	for (int k = 0; k < OPT__COUNT; k++) {
		unsigned cmds;

		if (!val[k] || opts_find_key(opt_table[k].name, &cmds) != &opt_table[k])
			continue;
		for (int r = k; r < OPT__COUNT; r++)
			if (strcmp(opt_table[r].name, opt_table[k].name) == 0 && (opt_table[r].commands & mask) &&
			    !(opt_table[r].commands & OPTC_NOKEY) && check_value(&p, &opt_table[r], val[k]) < 0) {
				bad = 1;
				break; /* one message a key */
			}
	}
	if (bad)
		return 1;
	printf("# effective settings: the file, then the command line (the last wins);\n"
	       "# options not listed keep their built-in defaults (see krigd(1))\n");
	for (int k = 0; k < OPT__COUNT; k++) {
		unsigned cmds;

		/* getopt knows each key by its first row (opts_find_key's) */
		if (val[k] && opts_find_key(opt_table[k].name, &cmds) == &opt_table[k] && (cmds & mask)) {
			print_setting(opt_table[k].name, val[k]);
			warn_missing_path(&opt_table[k], val[k]);
		}
	}
	return 0;
usage:
	opts_usage(&config_cmd, stderr);
	return 2;
}

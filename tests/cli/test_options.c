/* test_options.c - the option table (src/cli/options.def) holds together,
 * and its parser does what options.h promises: numbers checked against the
 * row's range with a message naming option and range, defaults first and
 * through the same checks, serve's pass-through rows without defaults,
 * config's raw mode with one entry per key. */
#define _GNU_SOURCE
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "tap.h"

static int name_ok(const char *s)
{
	if (!s || !(*s >= 'a' && *s <= 'z'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || (*s == '-' && s[1] && s[1] != '-')))
			return 0;
	return 1;
}

/* Every row on its own. */
static void rows(void)
{
	int bad_name = 0, bad_arg = 0, bad_range = 0, bad_def = 0, bad_cmds = 0, bad_help = 0;

	for (int i = 0; i < OPT__COUNT; i++) {
		const struct opt_def *d = &opt_table[i];
		unsigned cmds = d->commands & ~(unsigned)OPTC_NOKEY;

		if (!name_ok(d->name) || !strcmp(d->name, "help") || !strcmp(d->name, "config"))
			bad_name++, tap_diag(d->name ? d->name : "(no name)");
		if ((d->type == OPT_T_FLAG) != (d->arg == NULL) || (d->type == OPT_T_FLAG && d->def))
			bad_arg++, tap_diag(d->name);
		if (d->type == OPT_T_NUM && d->lo > d->hi)
			bad_range++, tap_diag(d->name);
		if (d->type == OPT_T_NUM && d->def) {
			char *end;
			long long v = strtoll(d->def, &end, 10);

			if (*end || end == d->def || v < d->lo || v > d->hi)
				bad_def++, tap_diag(d->name);
		}
		if (!cmds || (cmds & (cmds - 1) && (cmds & OPTC_CONFIG)))
			bad_cmds++, tap_diag(d->name);
		if (!d->help || !*d->help || d->help[strlen(d->help) - 1] == '\n')
			bad_help++, tap_diag(d->name);
	}
	tap_ok(OPT__COUNT > 50, "the table has the options (%d rows)", OPT__COUNT);
	tap_ok(!bad_name, "every name is a plain long option, not --help or --config (%d bad)", bad_name);
	tap_ok(!bad_arg, "a flag has no metavar and no default; every other row has a metavar (%d bad)", bad_arg);
	tap_ok(!bad_range, "every number's range is lo <= hi (%d bad)", bad_range);
	tap_ok(!bad_def, "every number's default is a whole number in its range (%d bad)", bad_def);
	tap_ok(!bad_cmds, "every row belongs to a command; config's own rows to config only (%d bad)", bad_cmds);
	tap_ok(!bad_help, "every row has help (%d bad)", bad_help);
}

/* Rows that share a name: disjoint commands, the same kind of value, and
 * (both keys) so one key of the file means one thing per command. */
static void shared_names(void)
{
	int clash = 0, kind = 0, pairs = 0;

	for (int i = 0; i < OPT__COUNT; i++)
		for (int j = i + 1; j < OPT__COUNT; j++) {
			const struct opt_def *a = &opt_table[i], *b = &opt_table[j];

			if (strcmp(a->name, b->name))
				continue;
			pairs++;
			if (a->commands & b->commands & ~(unsigned)OPTC_NOKEY)
				clash++, tap_diag(a->name);
			if ((a->type == OPT_T_FLAG) != (b->type == OPT_T_FLAG) ||
			    (a->commands & OPTC_NOKEY) != (b->commands & OPTC_NOKEY))
				kind++, tap_diag(a->name);
		}
	tap_ok(pairs > 0 && !clash, "a name with two rows has them for different commands (%d pairs, %d clash)",
	       pairs, clash);
	tap_ok(!kind, "... and both take a value or neither (%d bad)", kind);
}

static const struct opts_cmd render = { "render", OPTC_RENDER, "usage: render\n", NULL };
static const struct opts_cmd serve = { "serve", OPTC_SERVE, "usage: serve\n", NULL };
static const struct opts_cmd config = { "config", OPTC_CONFIG, "usage: config\n", NULL };

/* Run the parser over argv (NULL-terminated, argv[0] first); the ids it
 * returned (up to max), the last return, and what it said in msg. */
static int run(const struct opts_cmd *c, int flags, char **argv, int *ids, struct opt_val *vals, int max,
	       int *n, char *msg, size_t cap)
{
	struct opts p;
	struct opt_val v;
	char *buf = NULL;
	size_t len = 0;
	int argc = 0, id;

	while (argv[argc])
		argc++;
	opts_begin(&p, c, argc, argv, flags);
	p.err = open_memstream(&buf, &len);
	*n = 0;
	while ((id = opts_next(&p, &v)) >= 0)
		if (*n < max) {
			ids[*n] = id;
			vals[(*n)++] = v;
		}
	fclose(p.err);
	snprintf(msg, cap, "%s", buf ? buf : "");
	free(buf);
	return id;
}

static int find(const int *ids, int n, int id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return i;
	return -1;
}

static void parser(void)
{
	int ids[64], n, rc, k;
	struct opt_val vals[64];
	char msg[4096];
	char *a1[] = { "render", "--width", "0", NULL };
	char *a2[] = { "render", "--width=640", "--in", "j.json", "--max-pixels", "99", NULL };
	char *a3[] = { "serve", "--workers", "3", NULL };
	char *a4[] = { "serve", "--workers", "300", NULL };
	char *a5[] = { "config", "--workers", "0", "--width", "5", "--check", NULL };
	char *a6[] = { "render", "--bogus", NULL };
	char *a7[] = { "render", "--max-pixels", "12x", NULL };

	rc = run(&render, 0, a1, ids, vals, 64, &n, msg, sizeof(msg));
	tap_ok(rc == OPTS_BAD && strstr(msg, "krigd render: --width must be 1..100000, got 0"),
	       "render --width 0: refused, naming the option and its range: %.60s", msg);
	rc = run(&render, 0, a7, ids, vals, 64, &n, msg, sizeof(msg));
	tap_ok(rc == OPTS_BAD && strstr(msg, "--max-pixels must be 1 or more, got 12x"),
	       "trailing garbage is refused: %.60s", msg);
	rc = run(&render, 0, a6, ids, vals, 64, &n, msg, sizeof(msg));
	tap_ok(rc == OPTS_BAD && strstr(msg, "unknown option --bogus"), "an unknown option is refused: %.50s", msg);

	rc = run(&render, 0, a2, ids, vals, 64, &n, msg, sizeof(msg));
	k = find(ids, n, OPT_WIDTH);
	tap_ok(rc == OPTS_DONE && k >= 0 && vals[k].num == 640 && !vals[k].is_default, "--width=640 gives 640");
	k = find(ids, n, OPT_JOB_ID);
	tap_ok(k >= 0 && vals[k].is_default && !strcmp(vals[k].arg, "render") && k < find(ids, n, OPT_WIDTH),
	       "render's --job-id default comes first, from the table");
	k = find(ids, n, OPT_MAX_PIXELS);
	tap_ok(k >= 0 && vals[k].is_default && vals[k].num == 25000000, "the default --max-pixels is 25000000");
	tap_ok(n >= 2 && ids[n - 1] == OPT_MAX_PIXELS && vals[n - 1].num == 99 && !vals[n - 1].is_default,
	       "... and the command line's comes after it (the last wins)");

	rc = run(&serve, 0, a3, ids, vals, 64, &n, msg, sizeof(msg));
	tap_ok(rc == OPTS_DONE && find(ids, n, OPT_STOP_TIMEOUT) >= 0 && find(ids, n, OPT_LEASE) < 0 &&
	       n == 2 && ids[1] == OPT_WORKERS && vals[1].num == 3,
	       "serve gets its own default (stop-timeout) but none of its children's");
	rc = run(&serve, 0, a4, ids, vals, 64, &n, msg, sizeof(msg));
	tap_ok(rc == OPTS_BAD && strstr(msg, "--workers must be 1..256, got 300"),
	       "serve checks a drain option before passing it on: %.50s", msg);

	rc = run(&config, OPTS_RAW, a5, ids, vals, 64, &n, msg, sizeof(msg));
	tap_ok(rc == OPTS_DONE && n == 3 && ids[0] == OPT_WORKERS && !strcmp(vals[0].arg, "0") &&
	       ids[1] == OPT_WIDTH && ids[2] == OPT_CHECK,
	       "config takes every key raw (values unchecked, the first row of a shared name)");
}

static void keys(void)
{
	unsigned cmds;
	const struct opt_def *d;

	d = opts_find_key("width", &cmds);
	tap_ok(d == &opt_table[OPT_WIDTH] && cmds == (OPTC_RENDER | OPTC_LEGEND),
	       "key width: both rows' commands (render, legend)");
	tap_ok(opts_find_key("check", NULL) == NULL && opts_find_key("for", NULL) == NULL,
	       "config's --check and --for are not keys");
	tap_ok(opts_find_key("help", NULL) == NULL && opts_find_key("nosuch", NULL) == NULL, "nor help, nor a typo");
	tap_ok(opts_command_bit("stats") == OPTC_OPS && opts_command_bit("serve") == OPTC_SERVE &&
	       opts_command_bit("nosuch") == 0, "command names map to their bits");
}

int main(void)
{
	rows();
	shared_names();
	parser();
	keys();
	return tap_done();
}

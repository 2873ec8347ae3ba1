/* options.c - see options.h; the rows are in options.def. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legend.h"
#include "options.h"
#include "sender.h"

const struct opt_def opt_table[OPT__COUNT] = {
#define FLAG(id, name, cmds, help) [OPT_##id] = { name, OPT_T_FLAG, NULL, 0, 0, NULL, cmds, help },
#define STR(id, name, arg, def, cmds, help) [OPT_##id] = { name, OPT_T_STR, arg, 0, 0, def, cmds, help },
#define NUM(id, name, arg, lo, hi, def, cmds, help) [OPT_##id] = { name, OPT_T_NUM, arg, lo, hi, def, cmds, help },
#include "options.def"
#undef FLAG
#undef STR
#undef NUM
};

#define ROUTED (OPTC_LISTEN | OPTC_DRAIN)
#define HELP_VAL 'h'

/* Does cmd read this row itself (serve only passes its children's on)? */
static int row_is_own(const struct opt_def *d, unsigned bit)
{
	return (d->commands & bit) && !(bit == OPTC_SERVE && (d->commands & ROUTED));
}

static int row_in_getopt(const struct opts *p, const struct opt_def *d)
{
	if (!(p->flags & OPTS_RAW) || (d->commands & OPTC_NOKEY))
		return (d->commands & p->cmd->bit) != 0;
	/* every key, once per name: the first row stands for the others */
	for (const struct opt_def *e = opt_table; e < d; e++)
		if (strcmp(e->name, d->name) == 0 && !(e->commands & OPTC_NOKEY))
			return 0;
	return 1;
}

void opts_begin(struct opts *p, const struct opts_cmd *cmd, int argc, char **argv, int flags)
{
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	p->flags = flags;
	p->err = stderr;
	for (int i = 0; i < OPT__COUNT; i++) {
		const struct opt_def *d = &opt_table[i];

		if (!row_in_getopt(p, d))
			continue;
		p->lo[n].name = d->name;
		p->lo[n].has_arg = d->type == OPT_T_FLAG ? no_argument : required_argument;
		p->lo[n].flag = NULL;
		p->lo[n].val = 256 + i;
		n++;
	}
	p->lo[n++] = (struct option){ "help", no_argument, NULL, HELP_VAL };
	p->lo[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0; /* glibc: start afresh, also for a second command in one process */
	opterr = 0; /* our messages, on p->err */
}

static int parse_num(struct opts *p, struct opt_val *v)
{
	const struct opt_def *d = v->def;
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v->arg, &end, 10);
	if (errno || end == v->arg || *end || x < d->lo || x > d->hi) {
		if (d->hi == LLONG_MAX)
			fprintf(p->err, "krigd %s: --%s must be %lld or more, got %s\n", p->cmd->name, d->name, d->lo,
				v->arg);
		else
			fprintf(p->err, "krigd %s: --%s must be %lld..%lld, got %s\n", p->cmd->name, d->name, d->lo,
				d->hi, v->arg);
		return OPTS_BAD;
	}
	v->num = x;
	return 0;
}

int opts_check_num(struct opts *p, const struct opt_def *d, const char *arg)
{
	struct opt_val v = { d, arg, 0, 0 };

	return parse_num(p, &v);
}

static int next_default(struct opts *p, struct opt_val *v)
{
	while (p->next_def < OPT__COUNT) {
		int id = p->next_def++;
		const struct opt_def *d = &opt_table[id];

		if (!d->def || !row_is_own(d, p->cmd->bit))
			continue;
		memset(v, 0, sizeof(*v));
		v->def = d;
		v->arg = d->def;
		v->is_default = 1;
		if (d->type == OPT_T_NUM && parse_num(p, v) < 0)
			return OPTS_BAD;
		return id;
	}
	return OPTS_DONE;
}

/* Levenshtein distance of a[0..an) and b, or more than cap when larger:
 * option names are short (under 64 bytes), longer ones are not compared. */
static size_t edit_distance(const char *a, size_t an, const char *b, size_t cap)
{
	size_t bn = strlen(b), row[64], diag, up;

	if (an >= 64 || bn >= 64)
		return cap + 1;
	for (size_t j = 0; j <= bn; j++)
		row[j] = j;
	for (size_t i = 1; i <= an; i++) {
		diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= bn; j++) {
			size_t best = diag + (a[i - 1] != b[j - 1]);

			up = row[j];
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[bn];
}

/* Is "name" or "name=..." one of this command's options? */
static int known_name(const struct opts *p, const char *name)
{
	size_t n = strcspn(name, "=");

	for (const struct option *o = p->lo; o->name; o++)
		if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
			return 1;
	return 0;
}

/* "krigd CMD: unknown option --X; did you mean --Y?" when one of the
 * command's own options is a few edits away, else a pointer to --help. */
static void unknown_option(struct opts *p, const char *a)
{
	const char *name = a, *best = NULL;
	size_t n, cap, bestd;

	while (*name == '-')
		name++;
	n = strcspn(name, "=");
	cap = n / 3 > 2 ? n / 3 : 2;
	bestd = cap + 1;
	for (const struct option *o = p->lo; o->name && strncmp(a, "--", 2) == 0 && n >= 3; o++) {
		size_t d = edit_distance(name, n, o->name, cap);

		if (d < bestd) {
			bestd = d;
			best = o->name;
		}
	}
	if (best)
		fprintf(p->err, "krigd %s: unknown option %.*s; did you mean --%s?\n", p->cmd->name,
			(int)(name - a + n), a, best);
	else
		fprintf(p->err, "krigd %s: unknown option %.*s (krigd %s --help lists them)\n", p->cmd->name,
			(int)(name - a + n), a, p->cmd->name);
}

int opts_next(struct opts *p, struct opt_val *v)
{
	int c, li = -1, id;

	if (!(p->flags & OPTS_RAW) && (id = next_default(p, v)) != OPTS_DONE)
		return id;
	memset(v, 0, sizeof(*v));
	c = getopt_long(p->argc, p->argv, ":", p->lo, &li);
	if (c == -1)
		return OPTS_DONE;
	if (c == HELP_VAL) {
		opts_usage(p->cmd, stdout);
		return OPTS_HELP;
	}
	if (c == ':' || c == '?') {
		const char *a = p->argv[optind - 1];

		if (c == ':')
			fprintf(p->err, "krigd %s: %s needs a value\n", p->cmd->name, a);
		else if (strncmp(a, "--", 2) == 0 && strchr(a, '=') && known_name(p, a + 2))
			fprintf(p->err, "krigd %s: %.*s is a flag: it takes no value (%s)\n", p->cmd->name,
				(int)(strchr(a, '=') - a), a, a);
		else {
			unknown_option(p, a);
			return OPTS_BAD; /* one line, not the whole --help */
		}
		if (c == ':')
			opts_usage(p->cmd, p->err);
		return OPTS_BAD;
	}
	id = c - 256;
	v->def = &opt_table[id];
	v->arg = v->def->type == OPT_T_FLAG ? NULL : optarg;
	if (v->def->type == OPT_T_NUM && !(p->flags & OPTS_RAW) && parse_num(p, v) < 0)
		return OPTS_BAD;
	return id;
}

int opts_status(int rc)
{
	return rc == OPTS_HELP ? 0 : rc == OPTS_BAD ? 2 : -1;
}

int opts_bad(struct opts *p, const struct opt_val *v, const char *expect)
{
	fprintf(p->err, "krigd %s: --%s must be %s, got %s\n", p->cmd->name, v->def->name, expect,
		v->arg ? v->arg : "nothing");
	return OPTS_BAD;
}

/* "--name ARG", or "--name" for a flag. */
static void left_column(const struct opt_def *d, char *buf, size_t len)
{
	snprintf(buf, len, "--%s%s%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
}

static void print_row(FILE *fp, const struct opt_def *d, int col)
{
	char left[96];
	const char *h = d->help;

	left_column(d, left, sizeof(left));
	fprintf(fp, "  %-*s ", col, left);
	for (;;) {
		const char *nl = strchr(h, '\n');

		if (!nl)
			break;
		fprintf(fp, "%.*s\n%*s", (int)(nl - h), h, col + 3, "");
		h = nl + 1;
	}
	fprintf(fp, "%s", h);
	if (d->def)
		fprintf(fp, " (default %s)", d->def);
	fputc('\n', fp);
}

void opts_usage(const struct opts_cmd *cmd, FILE *fp)
{
	int col = 6; /* "--help" */

	for (int i = 0; i < OPT__COUNT; i++) {
		char left[96];

		if (!row_is_own(&opt_table[i], cmd->bit))
			continue;
		left_column(&opt_table[i], left, sizeof(left));
		if ((int)strlen(left) > col)
			col = (int)strlen(left);
	}
	if (col > 24)
		col = 24; /* a longer name runs into its text, one space apart */
	fputs(cmd->head, fp);
	if (cmd->bit == OPTC_SERVE)
		opts_print_routes(fp);
	for (int i = 0; i < OPT__COUNT; i++)
		if (row_is_own(&opt_table[i], cmd->bit))
			print_row(fp, &opt_table[i], col);
	fprintf(fp, "  %-*s this text\n", col, "--help");
	if (cmd->tail)
		fputs(cmd->tail, fp);
}

void opts_print_routes(FILE *fp)
{
	static const struct {
		unsigned to;
		const char *label;
	} groups[] = { { ROUTED, "to both:" }, { OPTC_LISTEN, "to listen:" }, { OPTC_DRAIN, "to drain:" } };

	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		int at = fprintf(fp, "  %-11s", groups[g].label);

		for (int i = 0; i < OPT__COUNT; i++) {
			const struct opt_def *d = &opt_table[i];

			if (!(d->commands & OPTC_SERVE) || (d->commands & ROUTED) != groups[g].to)
				continue;
			if (at + 3 + (int)strlen(d->name) > 78) {
				fprintf(fp, "\n");
				at = fprintf(fp, "  %-11s", "");
			}
			at += fprintf(fp, " --%s", d->name);
		}
		fprintf(fp, "\n");
	}
}

const struct opt_def *opts_find_key(const char *name, unsigned *cmds)
{
	const struct opt_def *first = NULL;

	if (cmds)
		*cmds = 0;
	for (int i = 0; i < OPT__COUNT; i++) {
		const struct opt_def *d = &opt_table[i];

		if ((d->commands & OPTC_NOKEY) || strcmp(d->name, name) != 0)
			continue;
		if (!first)
			first = d;
		if (cmds)
			*cmds |= d->commands;
	}
	return first;
}

unsigned opts_command_bit(const char *cmd)
{
	static const struct {
		const char *name;
		unsigned bit;
	} cmds[] = {
		{ "render", OPTC_RENDER }, { "listen", OPTC_LISTEN }, { "submit", OPTC_SUBMIT },
		{ "drain", OPTC_DRAIN }, { "serve", OPTC_SERVE }, { "jobs", OPTC_OPS }, { "show", OPTC_OPS },
		{ "retry", OPTC_OPS }, { "cancel", OPTC_OPS }, { "purge", OPTC_OPS }, { "stats", OPTC_OPS },
		{ "legend", OPTC_LEGEND },
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmds[i].name, cmd) == 0)
			return cmds[i].bit;
	return 0;
}

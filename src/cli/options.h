/* options.h - the long options of every krigd command, declared once in
 * options.def (read its header to add one), and the one parser that reads
 * them: getopt_long's tables, --help, number ranges, defaults, the
 * configuration file's keys and serve's routing all come from that table.
 * Command-line code only. */
#ifndef KD_OPTIONS_H
#define KD_OPTIONS_H

#include <getopt.h>
#include <stdio.h>

/* Which commands take an option (bit mask), and OPTC_NOKEY: not a key of
 * the configuration file. */
enum {
	OPTC_RENDER = 1 << 0, OPTC_LISTEN = 1 << 1, OPTC_SUBMIT = 1 << 2, OPTC_DRAIN = 1 << 3,
	OPTC_SERVE = 1 << 4, OPTC_OPS = 1 << 5, OPTC_LEGEND = 1 << 6, OPTC_CONFIG = 1 << 7,
	OPTC_NOKEY = 1 << 15,
};

/* OPT_DB, OPT_WORKERS, ...: a row's index in opt_table. */
enum opt_id {
#define FLAG(id, name, cmds, help) OPT_##id,
#define STR(id, name, arg, def, cmds, help) OPT_##id,
#define NUM(id, name, arg, lo, hi, def, cmds, help) OPT_##id,
#include "options.def"
#undef FLAG
#undef STR
#undef NUM
	OPT__COUNT
};

enum opt_type { OPT_T_FLAG, OPT_T_STR, OPT_T_NUM };

struct opt_def {
	const char *name;  /* the long option, without "--" */
	enum opt_type type;
	const char *arg;   /* metavar in --help; NULL for a flag */
	long long lo, hi;  /* OPT_T_NUM: the accepted range */
	const char *def;   /* default as written on the command line, or NULL */
	unsigned commands; /* OPTC_* */
	const char *help;
};

extern const struct opt_def opt_table[OPT__COUNT];

/* A command as the parser sees it: its name for messages, its OPTC_* bit,
 * and the prose of its --help around the generated option list. */
struct opts_cmd {
	const char *name; /* "drain" */
	unsigned bit;
	const char *head; /* "usage: ..." and a paragraph, ending in "\n\n" */
	const char *tail; /* after the options, or NULL */
};

/* One option as the command receives it. */
struct opt_val {
	const struct opt_def *def;
	const char *arg;  /* the value as written; NULL for a flag */
	long long num;    /* OPT_T_NUM: parsed, within def->lo .. def->hi */
	int is_default;   /* from the table's default, not the command line */
};

enum { OPTS_DONE = -1, OPTS_HELP = -2, OPTS_BAD = -3 };
#define OPTS_RAW 1 /* (config) every key of every command, values unchecked, no defaults */

struct opts {
	const struct opts_cmd *cmd;
	int argc, flags, next_def;
	char **argv;
	FILE *err; /* where messages and usage go; stderr unless a test says */
	struct option lo[OPT__COUNT + 2];
};

/* Start reading argv (argv[0] the command) for cmd; resets getopt. */
void opts_begin(struct opts *p, const struct opts_cmd *cmd, int argc, char **argv, int flags);

/* The next option: first the defaults of cmd's rows (is_default set; not
 * for serve's pass-through rows, its children have their own), then the
 * command line's.  Returns its OPT_* id; OPTS_DONE at the end (optind is
 * the first operand); OPTS_HELP after printing the usage on stdout;
 * OPTS_BAD after printing why and the usage on p->err (an unknown option,
 * a missing value, a number not a whole decimal within its range). */
int opts_next(struct opts *p, struct opt_val *v);

/* The exit status for what opts_next returned at the end: 0 for OPTS_HELP,
 * 2 for OPTS_BAD, -1 when the options were read and the command goes on. */
int opts_status(int rc);

/* A value the command itself finds wrong: print "krigd CMD: --NAME must
 * be EXPECT, got VALUE" on p->err; returns OPTS_BAD. */
int opts_bad(struct opts *p, const struct opt_val *v, const char *expect);

/* The value arg for the NUM row d, checked as opts_next checks it for
 * every command (a whole decimal within d's range): 0, or OPTS_BAD with
 * "krigd CMD: --NAME must be LO..HI, got ARG" printed on p->err. */
int opts_check_num(struct opts *p, const struct opt_def *d, const char *arg);

/* --help of cmd on fp: its head, its rows, its tail. */
void opts_usage(const struct opts_cmd *cmd, FILE *fp);

/* The options serve passes on, as --help of serve lists them: "  --a --b
 * ... to both" lines for the rows with serve's bit and also to (OPTC_LISTEN
 * and/or OPTC_DRAIN), wrapped under width columns. */
void opts_print_routes(FILE *fp);

/* The first row called name that is a configuration key, or NULL; *cmds
 * (when not NULL) gets the union of the commands of all such rows. */
const struct opt_def *opts_find_key(const char *name, unsigned *cmds);

/* OPTC_* bit of command cmd ("jobs" .. "stats" are OPTC_OPS); 0 for a
 * command that takes no options from the file. */
unsigned opts_command_bit(const char *cmd);

#endif

/* conffile.h - the configuration file: `key = value` lines whose keys are the
 * long options of the subcommands.  It is applied once, generically, before
 * any subcommand parses its arguments: the file's settings become `--key
 * value` arguments placed BEFORE the command line's own, and since every
 * subcommand's getopt_long keeps the last occurrence, flags override the
 * file and the file overrides the built-in defaults. */
#ifndef KD_CONFFILE_H
#define KD_CONFFILE_H

#include "error.h"

#define CONFFILE_MAX_BYTES (1024 * 1024) /* a larger file is refused */
#define CONFFILE_MAX_LINE 4096

/* Which subcommands accept an option (bit mask). */
enum {
	CFG_RENDER = 1 << 0, CFG_LISTEN = 1 << 1, CFG_SUBMIT = 1 << 2, CFG_DRAIN = 1 << 3,
	CFG_SERVE = 1 << 4, CFG_OPS = 1 << 5, CFG_LEGEND = 1 << 6,
};

struct conffile_option {
	const char *name;  /* long option, without "--" */
	int has_arg;       /* 0: a flag, written `key = true` or `key = false` */
	unsigned commands; /* CFG_* bits: who accepts it */
};

/* The table of every long option any subcommand accepts (not --help, not
 * --config); NULL-terminated.  The one place a new option must be added to
 * become usable in the file. */
extern const struct conffile_option conffile_options[];

/* The option called name (no "--"), or NULL. */
const struct conffile_option *conffile_option_find(const char *name);

/* CFG_* bit of subcommand cmd ("jobs" .. "stats" are CFG_OPS); 0 if the
 * command takes no options from the file. */
unsigned conffile_command_bit(const char *cmd);

struct conffile_entry {
	const struct conffile_option *opt;
	char *flag;  /* "--name", owned */
	char *value; /* owned; NULL for a flag */
	int line;
};

struct conffile {
	struct conffile_entry *v;
	size_t n;
};

#define CONFFILE_INIT { NULL, 0 }

/* Read and validate the file at path into c (which must be CONFFILE_INIT).
 * Unknown keys, a flag with a value other than true/false/yes/no/on/off/1/0,
 * an option without value, or an over-long line are KD_EINPUT with the
 * message naming "path:line".  A flag set false is not stored (the default
 * stands).  On error c is left empty. */
int conffile_load(struct conffile *c, const char *path, struct error *e);

void conffile_release(struct conffile *c);

/* Build the argument vector a subcommand sees: argv[0] (the command), then
 * the entries of c that command accepts (mask from conffile_command_bit;
 * others are skipped, so one file serves every command), then argv[1..].
 * *out (NULL-terminated) is malloc'ed; its strings are borrowed from c and
 * argv, so free only the array, after c is released no string stays valid. */
int conffile_merge(const struct conffile *c, unsigned mask, int argc, char **argv, int *out_argc,
		 char ***out, struct error *e);

/* Find and remove `--config FILE` / `--config=FILE` from argv (before any
 * "--"), shifting the rest down; *path is set (borrowed) or NULL.  Returns
 * the new argc, or KD_EINPUT when --config lacks its value or repeats. */
int conffile_take_path(int argc, char **argv, const char **path, struct error *e);

#endif

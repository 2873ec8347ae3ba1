/* conffile.h - the configuration file: `key = value` lines whose keys are the
 * long options of the subcommands (the rows of options.def).  It is applied once, generically, before
 * any subcommand parses its arguments: the file's settings become `--key
 * value` arguments placed BEFORE the command line's own, and since every
 * subcommand's getopt_long keeps the last occurrence, flags override the
 * file and the file overrides the built-in defaults. */
#ifndef KD_CONFFILE_H
#define KD_CONFFILE_H

#include "error.h"

#define CONFFILE_MAX_BYTES (1024 * 1024) /* a larger file is refused */
#define CONFFILE_MAX_LINE 4096

struct opt_def;

struct conffile_entry {
	const struct opt_def *opt; /* the key's first row in the option table */
	unsigned commands;         /* OPTC_* of every row of that name: who takes it */
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
 * the entries of c that command accepts (mask from opts_command_bit;
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

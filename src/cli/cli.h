/* cli.h - small pieces every subcommand's main shares.  Command-line code
 * only: nothing here is called below a cmd_* function. */
#ifndef KD_CLI_H
#define KD_CLI_H

#include "queue.h"

/* --lang: "en" or "zh" to *lang (enum legend_lang): 0, else -1. */
int cli_lang(const char *s, int *lang);

/* Route SIGTERM and SIGINT to handler (which must only set a flag) and
 * ignore SIGPIPE, so a peer that hangs up is an error return, not a death. */
void cli_signals(void (*handler)(int));

/* The CPUs this process may run on (sched_getaffinity: taskset and
 * cpusets count), at least 1: the budget workers x threads share. */
long cli_cores(void);

struct opts;
struct opt_val;

/* --synchronous: "full" or "normal" into *sync (QUEUE_SYNC_*); -1 else. */
int cli_sync(const char *s, enum queue_durability *sync);

/* What --db's backend rules out, checked once the options are read (cmd:
 * "drain", ...): a SQLite-only option (sqlite_opt: its name as given,
 * NULL: none) with a PostgreSQL db; a SQLite --source (NULL: none) with a
 * PostgreSQL db, whose drains may be on several hosts, unless single_host.
 * 0, or -1 after printing why as "krigd CMD: ..." on stderr. */
int cli_db_rules(const char *cmd, const char *db, const char *sqlite_opt, const char *source, int single_host);

/* --log-level: set the global log_level; -1 for an unknown level. */
int cli_log_level(const char *s);

/* An option of the command's table its switch has no case for (a bug in
 * the command, said as such); returns OPTS_BAD. */
int cli_unhandled(struct opts *p, const struct opt_val *v);

#endif

/* cli.h - small pieces every subcommand's main shares.  Command-line code
 * only: nothing here is called below a cmd_* function. */
#ifndef KD_CLI_H
#define KD_CLI_H

/* A whole decimal number in [lo, hi]: 0 with *out set, -1 otherwise
 * (garbage, trailing text, overflow, out of range). */
int cli_long(const char *s, long lo, long hi, long *out);

/* --lang: "en" or "zh" to *lang (enum legend_lang): 0, else -1. */
int cli_lang(const char *s, int *lang);

/* Route SIGTERM and SIGINT to handler (which must only set a flag) and
 * ignore SIGPIPE, so a peer that hangs up is an error return, not a death. */
void cli_signals(void (*handler)(int));

/* The CPUs this process may run on (sched_getaffinity: taskset and
 * cpusets count), at least 1: the budget workers x threads share. */
long cli_cores(void);

struct trigger_limits;

/* The trigger limits listen and drain both take: when name is
 * "max-json-depth", "max-frames" or "max-points", set it in lim from arg
 * and return 1 (-1 with a message on stderr for a bad value, prefixed by
 * cmd); 0 for any other name. */
#define CLI_LIMIT_OPTIONS \
	{ "max-json-depth", required_argument, NULL, 0 }, { "max-frames", required_argument, NULL, 0 }, \
	{ "max-points", required_argument, NULL, 0 }
#define CLI_LIMIT_HELP \
	"  --max-json-depth N     JSON nesting allowed in a trigger (32)\n" \
	"  --max-frames N         frames per job (1000)\n" \
	"  --max-points N         points (stations) per frame (10000)\n"
int cli_trigger_limit(const char *cmd, const char *name, const char *arg, struct trigger_limits *lim);

#endif

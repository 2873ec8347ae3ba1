/* cli.h - small pieces every subcommand's main shares.  Command-line code
 * only: nothing here is called below a cmd_* function. */
#ifndef KD_CLI_H
#define KD_CLI_H

/* A whole decimal number in [lo, hi]: 0 with *out set, -1 otherwise
 * (garbage, trailing text, overflow, out of range). */
int cli_long(const char *s, long lo, long hi, long *out);

/* Route SIGTERM and SIGINT to handler (which must only set a flag) and
 * ignore SIGPIPE, so a peer that hangs up is an error return, not a death. */
void cli_signals(void (*handler)(int));

#endif

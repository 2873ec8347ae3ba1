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

/* --log-level: set the global log_level; -1 for an unknown level. */
int cli_log_level(const char *s);

/* Most uids of --allow-uid, hosts of --callback-allow-hosts. */
#define CLI_MAX_ALLOW 64

/* --socket-mode: an octal mode up to 0777 into *mode; -1 else. */
int cli_socket_mode(const char *s, unsigned *mode);

/* --allow-uid: "0,1000" into out (at most max uids; *n set); -1 when a
 * token is not a uid, the list is empty or too long. */
#include <sys/types.h>
int cli_uid_list(const char *s, uid_t *out, size_t max, size_t *n);

/* --callback-allow-hosts: "a.example,b.example" into out (at most max
 * names, NULL-terminated, pointing into buf, a copy of s of len bytes);
 * -1 when empty, too long or with an empty name. */
int cli_host_list(const char *s, char **out, size_t max, char *buf, size_t len);

/* --older-than: "90", "90s", "15m", "2h", "7d" -> seconds; -1 if malformed. */
long long cli_duration(const char *s);

/* --log-format: set the global log_format; -1 for an unknown format. */
int cli_log_format(const char *s);

/* An option of the command's table its switch has no case for (a bug in
 * the command, said as such); returns OPTS_BAD. */
int cli_unhandled(struct opts *p, const struct opt_val *v);

/* The exit status of a command that cannot start for a reason a restart
 * will not change (bad configuration, a socket another listener holds, a
 * database that is not a queue): serve stops instead of restarting it. */
#define CLI_EXIT_PERMANENT 3

/* A command failed to start: print "krigd CMD: MSG" on stderr and return
 * its exit status, CLI_EXIT_PERMANENT when permanent, else 1.  A permanent
 * message also goes down $KRIGD_FATAL_FD, the pipe serve gave its child,
 * so serve can exit with it. */
int cli_start_failed(const char *cmd, int permanent, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* True for the error codes a restart cannot help (KD_EINPUT, KD_ELIMIT). */
int cli_permanent(int code);

#endif

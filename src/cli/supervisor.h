/* supervisor.h - what `krigd serve` is: run `krigd listen` and `krigd
 * drain` as child processes on one database and restart a child that
 * dies, so a crash in rendering never takes ingest down.  The children get
 * PR_SET_PDEATHSIG: a supervisor killed with -9 leaves nothing behind.
 *
 * Under systemd (Type=notify) the supervisor alone speaks to the manager:
 * READY=1 once the listener child has the database open and the socket
 * bound (it writes a byte down a pipe, $KRIGD_READY_FD), STOPPING=1 on
 * SIGTERM, and WATCHDOG=1 at half the interval when $WATCHDOG_USEC asks.
 * A socket passed by systemd (LISTEN_FDS) is handed to the listener only.
 * Single-threaded; it takes SIGCHLD, SIGTERM, SIGINT and SIGHUP itself
 * (blocked, then sigtimedwait), so call it from main's thread only. */
#ifndef KD_SUPERVISOR_H
#define KD_SUPERVISOR_H

#include "error.h"

struct supervisor_opts {
	char **argv[2];   /* the listen and the drain child's argv (NULL-terminated,
			   * argv[0] "krigd", argv[1] the command), borrowed */
	int stop_timeout; /* seconds jobs in flight get on SIGTERM before the drain
			   * is asked to give them up (then 10 s more, then SIGKILL) */
};

/* Run both children until SIGTERM, SIGINT or SIGHUP and until both have
 * exited.  0 after a clean stop; 2 when a child exited 2 (it refused the
 * options it was given: a restart would fail the same way) and 3
 * (CLI_EXIT_PERMANENT) when a child could not start for a reason a restart
 * will not change (its message is logged), everything stopped; negative
 * KD_E* with e filled when it could not start. */
int supervisor_run(const struct supervisor_opts *o, struct error *e);

#endif

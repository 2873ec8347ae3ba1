/* listener.h - the ingest half: a Unix datagram socket in front of the queue
 * (docs/DESIGN.md "Trigger datagram").
 *
 * The listener validates each datagram, enqueues the good ones of a batch in
 * one transaction, COMMITs, and only then replies to each bound sender (so an
 * ok reply means the job is on disk).  It never renders and never reads the
 * source, so ingest keeps working whatever the drain side does. */
#ifndef KD_LISTENER_H
#define KD_LISTENER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include "queue.h"
#include "trigger.h"

struct error;

struct listener_opts {
	const char *db_path;
	const char *socket_path;  /* ignored when the socket is inherited (LISTEN_FDS) */
	unsigned socket_mode;     /* default 0660 */
	const uid_t *allow_uid;   /* senders allowed; NULL / 0 entries: anyone who can open the socket */
	size_t n_allow;
	size_t max_datagram;      /* larger ones get "datagram too large"; default 192 KiB */
	struct trigger_limits lim; /* JSON depth, frames per job, points per frame (max_bytes
				   * is max_datagram's); trigger_limits_default */
	size_t max_batch;         /* datagrams per transaction; default 1024 (1: a commit per trigger) */
	struct queue_opts queue;  /* sync mode and busy time-out; checkpoints are always manual here */
	/* Called once, when the database is open and the socket bound, before
	 * the first datagram is read (readiness for systemd); may be NULL. */
	void (*ready)(void *ctx);
	void *ready_ctx;
	long long max_queue_rows; /* rows in jobs (any state) past which new work is refused with
				   * "queue full: N jobs; the limit is M"; default 1000000, 0: none */
	/* Called once the database is open and the socket bound, before any
	 * thread starts (e.g. to drop root); non-zero stops listener_run. */
	int (*after_open)(void *ctx, struct error *e);
	void *after_open_ctx;
};

void listener_opts_default(struct listener_opts *o);

/* Open the database, create (or inherit) the socket and serve until *stop
 * becomes non-zero (set by a signal handler); then stop reading, commit and
 * reply to what was read, remove the socket file if we created it, return 0.
 * Errors at start (socket in use, not a socket, database) are returned. */
int listener_run(const struct listener_opts *o, volatile sig_atomic_t *stop, struct error *e);

#endif

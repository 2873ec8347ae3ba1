/* drain.h - the rendering half: workers that claim jobs from the queue,
 * render them, write the source back and finish them; a lease timer; and
 * the callback sender that empties the outbox.
 *
 * All of it runs as threads of one process (`krigd drain`), each with its
 * own queue connection.  A crash of that process loses nothing: leases
 * expire (or are reclaimed at the next start) and count as an attempt. */
#ifndef KD_DRAIN_H
#define KD_DRAIN_H

#include <signal.h>
#include <stddef.h>

#include "callback.h"
#include "queue.h"
#include "render.h"
#include "trigger.h"

struct boundary;
struct error;


struct drain_opts {
	const char *db_path;
	struct queue_opts queue;
	const char *out_dir;
	const char *source;               /* spec for source_open, or NULL (inline jobs only) */
	const struct boundary *boundary;  /* --boundary, may be NULL */
	const char *boundary_dir;         /* --boundary-dir, may be NULL */
	const char *callback_url;         /* default callback for jobs that name none, or NULL */
	const unsigned char *secret;      /* decoded whsec_ key, or NULL: unsigned callbacks */
	size_t secret_len;
	struct callback_opts callback;
	int callback_max_attempts;        /* then the outbox row is 'failed'; default 12 */
	int callback_senders;             /* deliveries at once, 1..SENDER_MAX (sender.h); default 4.
					   * One origin gets all of them but one. */
	long long callback_backoff_base;  /* seconds, default 5 */
	const char *url_prefix;           /* prepended to paths written into img_list */
	int workers;                      /* rendering threads claiming jobs, >= 1 */
	int threads;                      /* kriging threads per worker, >= 1 */
	int lease;                        /* seconds, default 30 */
	int poll_ms;                      /* idle: look at the queue at least this often besides
					   * the wake-ups (ms), default 1000 */
	size_t max_cells;                 /* pixels per frame */
	struct render_nbhd nbhd;          /* --nmax, --maxdist, --global-max (zeros: defaults) */
	struct trigger_limits lim;        /* JSON depth, frames and points of a source row */
	size_t max_source_bytes;          /* source response / ret_data cap; 0: the source default */
	int legend;                       /* 1: embed the legend unless the job says "legend": false */
	int colors;                       /* enum palette_mode for jobs without "colors"; 0: by index */
	unsigned outputs;                 /* --outputs (OUTPUT_BIT) for jobs without "outputs"; 0: png */
	int lang;                         /* enum legend_lang of the legend's text */
	size_t max_scan_jobs;             /* jobs one ping may create, default 100000 */
	double max_job_cost;              /* render_job_cost above this: dead at once; 0: no limit */
	int max_job_seconds;              /* an attempt running longer fails (retried); 0: no limit */
	long source_timeout_ms;           /* HTTP source exchange time-out; 0: the source default (15 s) */
	size_t max_callback_body;         /* bytes of one callback body, default 1 MiB (outbox.h) */
	/* Called once the database and the output directory are open, before
	 * the source is opened and any thread starts (e.g. to drop root); a
	 * non-zero return stops drain_run with that error. */
	int (*after_open)(void *ctx, struct error *e);
	void *after_open_ctx;
	long supervisor;                  /* pid of the serve that started us, or 0: when it is gone
					   * (getppid() changed) we stop as on SIGTERM, and give the
					   * jobs in flight back after orphan_timeout seconds */
	int orphan_timeout;               /* serve's --stop-timeout */
	int deliver;                      /* 1: run the callback sender here */
	int exit_when_idle;               /* 1: return once nothing is pending or running (tests, demo) */
};

void drain_opts_default(struct drain_opts *o);

/* Run until *stop becomes non-zero (a signal handler sets it): no new
 * claims, in-flight jobs run to their end.  If *stop reaches 2 (a second
 * signal) in-flight renders are given up between frames and their jobs go
 * back to pending as a failed attempt ("drain stopped").  Errors only for
 * what prevents starting (database, output directory, source). */
int drain_run(const struct drain_opts *o, volatile sig_atomic_t *stop, struct error *e);

#endif

/* cmd_listen.c - `krigd listen`: the ingest half on its own. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boundary.h"
#include "commands.h"
#include "cli.h"
#include "error.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "privdrop.h"

#define MAX_ALLOW CLI_MAX_ALLOW

static volatile sig_atomic_t stop_requested;
static int became_ready; /* a failure after this is not a start-up failure */

/* Only sets a flag: the listener stops reading, commits, replies, returns. */
static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Readiness, once the database is open and the socket bound: under
 * `krigd serve` a byte down the pipe it gave us ($KRIGD_READY_FD; serve
 * alone speaks to systemd), on our own "READY=1" to systemd if it asks. */
static void listen_ready(void *ctx)
{
	const char *s = getenv("KRIGD_READY_FD");
	int *standalone = ctx;

	became_ready = 1;
	if (s) {
		int fd = atoi(s);
		char c = 'R';

		*standalone = 0;
		if (fd <= 2 || write(fd, &c, 1) != 1)
			log_warn("cannot tell the supervisor we are ready: %s", strerror(errno));
		if (fd > 2)
			close(fd);
		unsetenv("KRIGD_READY_FD");
	} else if (notify_send("READY=1") < 0)
		log_warn("sd_notify READY=1: %s", strerror(errno));
}

static const struct opts_cmd listen_cmd = {
	"listen", OPTC_LISTEN,
	"usage: krigd listen --db PATH --socket PATH [OPTIONS]\n"
	"Receive triggers on a Unix datagram socket and queue them durably; each\n"
	"sender that bound an address gets one reply after the COMMIT.\n\n",
	NULL,
};

struct listen_cli {
	struct listener_opts o;
	const char *bpath;   /* --boundary */
	struct boundary b;
	struct privdrop pd;
	uid_t allow[MAX_ALLOW];
};

/* One option into l: 0, or OPTS_BAD with the message printed. */
static int listen_option(struct opts *p, struct listen_cli *l, int id, const struct opt_val *v)
{
	struct listener_opts *o = &l->o;
	struct error e;
	unsigned m;
	size_t n = 0;

	switch (id) {
	case OPT_DB: o->db_path = v->arg; break;
	case OPT_DB_PASSWORD_FILE: o->queue.password_file = v->arg; break;
	case OPT_SOCKET: o->socket_path = v->arg; break;
	case OPT_SOCKET_MODE:
		if (cli_socket_mode(v->arg, &m) < 0)
			return opts_bad(p, v, "an octal mode like 0660");
		o->socket_mode = m;
		break;
	case OPT_ALLOW_UID:
		/* The last --allow-uid wins, as for every option: a flag
		 * replaces the configuration file's list, never adds to it. */
		if (cli_uid_list(v->arg, l->allow, MAX_ALLOW, &n) < 0)
			return opts_bad(p, v, "numbers separated by commas (at most 64)");
		o->allow_uid = l->allow;
		o->n_allow = n;
		break;
	case OPT_MAX_DATAGRAM: o->max_datagram = (size_t)v->num; break;
	case OPT_SYNCHRONOUS:
		if (cli_sync(v->arg, &o->queue.durability) < 0)
			return opts_bad(p, v, "full or normal");
		break;
	case OPT_BUSY_TIMEOUT: o->queue.busy_timeout_ms = (int)v->num; break;
	case OPT_MAX_BATCH: o->max_batch = (size_t)v->num; break;
	case OPT_MAX_QUEUE_ROWS: o->max_queue_rows = v->num; break;
	case OPT_MAX_JSON_DEPTH: o->lim.max_depth = (int)v->num; break;
	case OPT_MAX_FRAMES: o->lim.max_frames = (size_t)v->num; break;
	case OPT_MAX_POINTS: o->lim.max_points = (size_t)v->num; break;
	case OPT_MAX_JOB_COST: o->max_job_cost = (double)v->num; break;
	case OPT_BOUNDARY: l->bpath = v->arg; break;
	case OPT_BOUNDARY_DIR: o->boundary_dir = v->arg; break;
	case OPT_LOG_LEVEL:
		if (cli_log_level(v->arg) < 0)
			return opts_bad(p, v, "error, warning, notice, info or debug");
		break;
	case OPT_LOG_FORMAT:
		if (cli_log_format(v->arg) < 0)
			return opts_bad(p, v, "auto, text, json or journal");
		break;
	case OPT_USER:
		error_clear(&e);
		if (privdrop_lookup(&l->pd, v->arg, &e) < 0) {
			fprintf(stderr, "krigd listen: %s\n", e.msg);
			return OPTS_BAD;
		}
		break;
	default: return cli_unhandled(p, v);
	}
	return 0;
}

int cmd_listen(int argc, char **argv)
{
	static struct listen_cli l;
	struct error e = { 0 };
	struct opts p;
	struct opt_val v;
	int id, standalone = 1, rc;

	memset(&l, 0, sizeof(l));
	listener_opts_default(&l.o);
	opts_begin(&p, &listen_cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		if (listen_option(&p, &l, id, &v) < 0)
			return 2;
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (optind < argc || !l.o.db_path) {
		fprintf(stderr, "krigd listen: %s\n", optind < argc ? "unexpected argument" : "--db is required");
		opts_usage(&listen_cmd, stderr);
		return 2;
	}
	if (!l.o.socket_path && !getenv("LISTEN_FDS")) {
		fprintf(stderr, "krigd listen: --socket is required\n");
		return 2;
	}
	if (l.bpath) {
		if (boundary_from_file(&l.b, l.bpath, &e) < 0)
			return cli_start_failed("listen", 1, "--boundary %s: %s", l.bpath, e.msg);
		l.o.boundary = &l.b;
	}
	l.pd.db_path = l.o.db_path;
	l.pd.give[0] = getenv("LISTEN_FDS") ? NULL : l.o.socket_path; /* so the socket's group can still send */
	l.o.after_open = privdrop_apply;
	l.o.after_open_ctx = &l.pd;
	cli_signals(on_signal);
	l.o.ready = listen_ready;
	l.o.ready_ctx = &standalone;
	rc = listener_run(&l.o, &stop_requested, &e);
	boundary_release(&l.b);
	if (standalone)
		notify_send("STOPPING=1");
	if (rc < 0)
		return cli_start_failed("listen", !became_ready && cli_permanent(rc), "%s", e.msg);
	return 0;
}

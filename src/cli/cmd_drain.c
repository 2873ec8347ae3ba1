/* cmd_drain.c - `krigd drain`: render jobs from the queue until stopped. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boundary.h"
#include "callback.h"
#include "cli.h"
#include "commands.h"
#include "drain.h"
#include "error.h"
#include "log.h"
#include "options.h"
#include "outputs.h"
#include "palette.h"
#include "outbox.h"
#include "privdrop.h"
#include "source.h"

static volatile sig_atomic_t stop;

/* The first signal stops claiming and lets jobs finish; a second gives
 * them up between frames.  Only the flag is touched here. */
static void on_signal(int sig)
{
	(void)sig;
	if (stop < 2)
		stop = stop + 1;
}

static const struct opts_cmd drain_cmd = {
	"drain", OPTC_DRAIN,
	"usage: krigd drain --db PATH --out DIR [OPTIONS]\n"
	"\n"
	"Claim jobs from the queue, render them, write source rows back, finish\n"
	"them and deliver their callbacks, until SIGTERM or SIGINT.\n"
	"\n",
	NULL,
};

#define MAX_ALLOW_HOSTS CLI_MAX_ALLOW

/* What the command line gives beyond struct drain_opts. */
struct drain_cli {
	struct drain_opts o;
	struct privdrop pd;
	const char *bpath, *secret_file;
	long threads; /* 0: cores / workers */
	char allow_buf[4096];
	char *allow[MAX_ALLOW_HOSTS + 1];
};

/* Options about the callback sender; 1 if id is not one of them. */
static int callback_option(struct opts *p, struct drain_cli *d, int id, const struct opt_val *v)
{
	struct drain_opts *o = &d->o;

	switch (id) {
	case OPT_CALLBACK: o->callback_url = v->arg; break;
	case OPT_CALLBACK_SECRET_FILE: d->secret_file = v->arg; break;
	case OPT_CALLBACK_TIMEOUT:
		/* A hanging receiver holds the sender this long per attempt
		 * (never a worker: the sender is its own thread). */
		o->callback.http.timeout_ms = v->num * 1000;
		if (o->callback.http.connect_timeout_ms > v->num * 1000)
			o->callback.http.connect_timeout_ms = v->num * 1000;
		break;
	case OPT_CALLBACK_BACKOFF_BASE: o->callback_backoff_base = v->num; break;
	case OPT_CALLBACK_MAX_ATTEMPTS: o->callback_max_attempts = (int)v->num; break;
	case OPT_CALLBACK_SENDERS: o->callback_senders = (int)v->num; break;
	case OPT_MAX_CALLBACK_BODY: o->max_callback_body = (size_t)v->num; break;
	case OPT_NO_CALLBACKS: o->deliver = 0; break;
	case OPT_CALLBACK_ALLOW_HOSTS:
		if (cli_host_list(v->arg, d->allow, MAX_ALLOW_HOSTS, d->allow_buf, sizeof(d->allow_buf)) < 0)
			return opts_bad(p, v, "host names separated by commas (at most 64)");
		o->callback.allow_hosts = (const char *const *)d->allow;
		break;
	default: return 1;
	}
	return 0;
}

/* One option into d: 0, or OPTS_BAD with the message printed. */
static int drain_option(struct opts *p, struct drain_cli *d, int id, const struct opt_val *v)
{
	struct drain_opts *o = &d->o;
	struct error e;

	switch (id) {
	case OPT_DB: o->db_path = v->arg; break;
	case OPT_DB_PASSWORD_FILE: o->queue.password_file = v->arg; break;
	case OPT_OUT: o->out_dir = v->arg; break;
	case OPT_SOURCE:
		if (source_spec_has_password(v->arg)) {
			fprintf(stderr, "krigd drain: --source: no password in the URL (every local user can "
				"read a command line); use KRIGD_MYSQL_PASSWORD or &password_file=FILE\n");
			return OPTS_BAD;
		}
		o->source = v->arg;
		break;
	case OPT_BOUNDARY: d->bpath = v->arg; break;
	case OPT_BOUNDARY_DIR: o->boundary_dir = v->arg; break;
	case OPT_URL_PREFIX: o->url_prefix = v->arg; break;
	case OPT_WORKERS: o->workers = (int)v->num; break;
	case OPT_THREADS: d->threads = (long)v->num; break;
	case OPT_LEASE: o->lease = (int)v->num; break;
	case OPT_POLL_FALLBACK: o->poll_ms = (int)v->num; break;
	case OPT_BACKOFF_BASE: o->queue.backoff_base = (double)v->num; break;
	case OPT_SYNCHRONOUS:
		if (cli_sync(v->arg, &o->queue.durability) < 0)
			return opts_bad(p, v, "full or normal");
		break;
	case OPT_BUSY_TIMEOUT: o->queue.busy_timeout_ms = (int)v->num; break;
	case OPT_MAX_PIXELS: o->max_cells = (size_t)v->num; break;
	case OPT_NMAX: o->nbhd.nmax = (size_t)v->num; break;
	case OPT_MAXDIST: o->nbhd.maxdist = (double)v->num; break;
	case OPT_GLOBAL_MAX: o->nbhd.global_max = (size_t)v->num; break;
	case OPT_MAX_SCAN_JOBS: o->max_scan_jobs = (size_t)v->num; break;
	case OPT_MAX_JOB_COST: o->max_job_cost = (double)v->num; break;
	case OPT_MAX_JOB_SECONDS: o->max_job_seconds = (int)v->num; break;
	case OPT_MAX_SOURCE_BYTES: o->max_source_bytes = (size_t)v->num; break;
	case OPT_SOURCE_TIMEOUT: o->source_timeout_ms = (long)v->num * 1000; break;
	case OPT_MAX_JSON_DEPTH: o->lim.max_depth = (int)v->num; break;
	case OPT_MAX_FRAMES: o->lim.max_frames = (size_t)v->num; break;
	case OPT_MAX_POINTS: o->lim.max_points = (size_t)v->num; break;
	case OPT_USER:
		error_clear(&e);
		if (privdrop_lookup(&d->pd, v->arg, &e) < 0) {
			fprintf(stderr, "krigd drain: %s\n", e.msg);
			return OPTS_BAD;
		}
		break;
	case OPT_EXIT_WHEN_IDLE: o->exit_when_idle = 1; break;
	case OPT_LEGEND: o->legend = 1; break;
	case OPT_COLORS: {
		enum palette_mode m;
		if (palette_mode_parse(v->arg, &m) < 0)
			return opts_bad(p, v, "levels, smooth or ramp");
		o->colors = (int)m;
		break;
	}
	case OPT_OUTPUTS: {
		struct error oe;
		if (outputs_parse_list(v->arg, &o->outputs, &oe) < 0)
			return fprintf(p->err, "krigd %s: --outputs %s\n", p->cmd->name, oe.msg), OPTS_BAD;
		break;
	}
	case OPT_LANG:
		if (cli_lang(v->arg, &o->lang) < 0)
			return opts_bad(p, v, "en or zh");
		break;
	case OPT_LOG_LEVEL:
		if (cli_log_level(v->arg) < 0)
			return opts_bad(p, v, "error, warning, notice, info or debug");
		break;
	case OPT_LOG_FORMAT:
		if (cli_log_format(v->arg) < 0)
			return opts_bad(p, v, "auto, text, json or journal");
		break;
	default:
		id = callback_option(p, d, id, v);
		return id == 1 ? cli_unhandled(p, v) : id;
	}
	return 0;
}

/* What the options name, opened: the callback secret, the boundary.
 * 0, or the exit status. */
static int drain_load(struct drain_cli *d, struct boundary *b, unsigned char **key, size_t *keylen)
{
	struct drain_opts *o = &d->o;
	long cores = cli_cores();
	struct error e;

	error_clear(&e);
	/* workers x threads never exceeds the cores unless asked to. */
	o->threads = d->threads ? (int)d->threads : (int)(cores / o->workers > 0 ? cores / o->workers : 1);
	if ((long)o->workers * o->threads > cores)
		log_warn("drain: %d workers x %d threads is more than the %ld CPUs this process may use; "
			 "they will share them", o->workers, o->threads, cores);
	if (o->callback_url && callback_url_check(o->callback_url, &o->callback, &e) < 0) {
		fprintf(stderr, "krigd drain: --callback: %s\n", e.msg);
		return 2;
	}
	if (d->secret_file) {
		if (callback_secret_load(d->secret_file, key, keylen, &e) < 0)
			return cli_start_failed("drain", 1, "--callback-secret-file: %s", e.msg);
		o->secret = *key;
		o->secret_len = *keylen;
	}
	if (d->bpath) {
		if (boundary_from_file(b, d->bpath, &e) < 0)
			return cli_start_failed("drain", 1, "--boundary %s: %s", d->bpath, e.msg);
		o->boundary = b;
	}
	return 0;
}

int cmd_drain(int argc, char **argv)
{
	static struct drain_cli d; /* the allow-list buffer is large */
	struct boundary b = BOUNDARY_INIT;
	struct opts p;
	struct opt_val v;
	struct error e;
	unsigned char *key = NULL;
	size_t keylen = 0;
	int id, rc;

	memset(&d, 0, sizeof(d));
	drain_opts_default(&d.o);
	opts_begin(&p, &drain_cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		if (drain_option(&p, &d, id, &v) < 0)
			return 2;
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (!d.o.db_path || !d.o.out_dir || optind != argc) {
		fprintf(stderr, "krigd drain: --db and --out are required\n");
		opts_usage(&drain_cmd, stderr);
		return 2;
	}
	if ((rc = drain_load(&d, &b, &key, &keylen)) != 0)
		goto out;

	/* Started by serve: watch it (see drain_opts.supervisor).  Not kept in
	 * the environment, so nothing the drain starts inherits it. */
	if (getenv("KRIGD_SUPERVISOR")) {
		const char *t = getenv("KRIGD_STOP_TIMEOUT");

		d.o.supervisor = atol(getenv("KRIGD_SUPERVISOR"));
		d.o.orphan_timeout = t ? atoi(t) : 30;
		if (d.o.supervisor != (long)getppid())
			d.o.supervisor = 0; /* already gone, or not ours: PDEATHSIG covers the rest */
		if (d.o.orphan_timeout < 0)
			d.o.orphan_timeout = 0;
		unsetenv("KRIGD_SUPERVISOR");
		unsetenv("KRIGD_STOP_TIMEOUT");
	}
	d.pd.db_path = d.o.db_path;
	d.pd.check_dir = d.o.out_dir;
	d.o.after_open = privdrop_apply;
	d.o.after_open_ctx = &d.pd;
	cli_signals(on_signal);

	error_clear(&e);
	rc = 0;
	if ((rc = drain_run(&d.o, &stop, &e)) < 0)
		rc = cli_start_failed("drain", cli_permanent(rc), "%s", e.msg);
out:
	boundary_release(&b);
	if (key)
		callback_secret_free(key, keylen);
	return rc;
}

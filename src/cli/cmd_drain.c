/* cmd_drain.c - `krigd drain`: render jobs from the queue until stopped. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
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

static void drain_usage(FILE *fp)
{
	fprintf(fp,
		"usage: krigd drain --db PATH --out DIR [OPTIONS]\n"
		"\n"
		"Claim jobs from the queue, render them, write source rows back, finish\n"
		"them and deliver their callbacks, until SIGTERM or SIGINT.\n"
		"\n"
		"  --db PATH                  queue database\n"
		"  --out DIR                  image directory\n"
		"  --source SOURCE            source rows: a SQLite file, sqlite:PATH, http(s)://URL,\n"
		"                             mysql://USER@HOST/DB?table=T (password: KRIGD_MYSQL_PASSWORD\n"
		"                             or &password_file=F, never in the URL)\n"
		"  --boundary FILE            district for source rows and jobs that name none\n"
		"  --boundary-dir DIR         named boundaries (NAME.geojson)\n"
		"  --callback URL             callback for jobs that name none\n"
		"  --callback-secret-file F   whsec_ secret to sign callbacks with\n"
		"  --callback-timeout SECONDS one callback attempt at most this long (default 15)\n"
		"  --callback-backoff-base S  first callback retry delay, doubled per attempt (default 5)\n"
		"  --callback-max-attempts N  then a callback is given up, state failed (default 12)\n"
		"  --callback-senders N       callbacks delivered at once (default 4); one receiver\n"
		"                             gets all of them but one, so it cannot stall the rest\n"
		"  --url-prefix P             prepended to paths written into img_list\n"
		"  --workers N                jobs rendered at once (default 1)\n"
		"  --threads N                kriging threads per worker (default cores / workers)\n"
		"  --lease SECONDS            lease of a claimed job (default 30)\n"
		"  --backoff-base SECONDS     first retry delay, doubled per attempt (default 2; 0 for tests)\n"
		"  --synchronous full|normal  queue durability (default full)\n"
		"  --busy-timeout MS          wait for a locked database (default 5000)\n"
		"  --max-pixels N             largest frame in cells (default 25000000)\n"
		"  --max-json-depth N         JSON nesting allowed in a source row (32)\n"
		"  --max-frames N             frames per source row (1000)\n"
		"  --max-points N             points (stations) per frame of a source row (10000)\n"
		"  --max-source-bytes BYTES   largest source response or ret_data (33554432)\n"
		"  --callback-allow-hosts H,H deliver callbacks only to these host names\n"
		"                             (default: any host but link-local and metadata)\n"
		"  --legend                   draw the colour legend into the maps of jobs that\n"
		"                             do not say (\"legend\": false in a job still wins)\n"
		"  --source-timeout SECONDS   time-out of one HTTP source exchange (default 15)\n"
		"  --max-scan-jobs N          jobs one ping may create (default 100000)\n"
		"  --max-callback-body BYTES  larger callback bodies leave the images out (default 1048576)\n"
		"  --user NAME                when started as root, become NAME once the database\n"
		"                             and the output directory are open\n"
		"  --no-callbacks             do not run the callback sender here\n"
		"  --exit-when-idle           stop once nothing is pending, running or undelivered\n"
		"  --log-level LEVEL          error, warning, notice, info (default), debug\n"
		"  --help                     this text\n");
}

#define MAX_ALLOW_HOSTS 64

/* "a.example,b.example" into out (NULL-terminated, pointing into buf, a
 * copy that replaces an earlier list: the last option wins). */
static int host_list(const char *arg, char **out, char *buf, size_t len)
{
	size_t n = 0;

	if ((size_t)snprintf(buf, len, "%s", arg) >= len)
		return -1;
	for (char *save = NULL, *h = strtok_r(buf, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		if (n == MAX_ALLOW_HOSTS || !*h)
			return -1;
		out[n++] = h;
	}
	out[n] = NULL;
	return n ? 0 : -1;
}

int cmd_drain(int argc, char **argv)
{
	enum { O_CBSECRET = 256, O_URLPREFIX, O_BACKOFF, O_SYNC, O_BUSY, O_MAXPIX, O_NOCB, O_IDLE, O_LOGLEVEL,
	       O_BDIR, O_CBTIMEOUT, O_CBBACKOFF, O_MAXSCAN, O_MAXCB, O_USER, O_SRCTMO, O_LEGEND, O_SENDERS, O_CBMAX, O_SRCBYTES, O_ALLOWHOSTS };
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "source", required_argument, NULL, 's' },
		{ "boundary", required_argument, NULL, 'b' },
		{ "boundary-dir", required_argument, NULL, O_BDIR },
		{ "callback", required_argument, NULL, 'c' },
		{ "callback-secret-file", required_argument, NULL, O_CBSECRET },
		{ "callback-timeout", required_argument, NULL, O_CBTIMEOUT },
		{ "callback-backoff-base", required_argument, NULL, O_CBBACKOFF },
		{ "callback-senders", required_argument, NULL, O_SENDERS },
		{ "callback-max-attempts", required_argument, NULL, O_CBMAX },
		{ "url-prefix", required_argument, NULL, O_URLPREFIX },
		{ "workers", required_argument, NULL, 'w' },
		{ "threads", required_argument, NULL, 't' },
		{ "lease", required_argument, NULL, 'l' },
		{ "backoff-base", required_argument, NULL, O_BACKOFF },
		{ "synchronous", required_argument, NULL, O_SYNC },
		{ "busy-timeout", required_argument, NULL, O_BUSY },
		{ "max-pixels", required_argument, NULL, O_MAXPIX },
		{ "no-callbacks", no_argument, NULL, O_NOCB },
		{ "exit-when-idle", no_argument, NULL, O_IDLE },
		{ "log-level", required_argument, NULL, O_LOGLEVEL },
		{ "max-scan-jobs", required_argument, NULL, O_MAXSCAN },
		{ "max-callback-body", required_argument, NULL, O_MAXCB },
		{ "user", required_argument, NULL, O_USER },
		{ "source-timeout", required_argument, NULL, O_SRCTMO },
		{ "legend", no_argument, NULL, O_LEGEND },
		{ "max-source-bytes", required_argument, NULL, O_SRCBYTES },
		{ "callback-allow-hosts", required_argument, NULL, O_ALLOWHOSTS },
		CLI_LIMIT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct drain_opts o;
	struct privdrop pd = { 0 };
	struct boundary b = BOUNDARY_INIT;
	struct error e;
	const char *bpath = NULL, *secret_file = NULL;
	unsigned char *key = NULL;
	size_t keylen = 0;
	long n, threads = 0, cores = cli_cores();
	int c, li = 0, rc = 1;
	static char allow_buf[4096];
	char *allow[MAX_ALLOW_HOSTS + 1];

	drain_opts_default(&o);
	error_clear(&e);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, &li)) != -1) {
		switch (c) {
		case 0:
			if (cli_trigger_limit("drain", opts[li].name, optarg, &o.lim) < 0)
				return 2;
			break;
		case O_SRCBYTES:
			if (cli_long(optarg, 1024, 1L << 30, &n) < 0)
				goto bad;
			o.max_source_bytes = (size_t)n;
			break;
		case O_ALLOWHOSTS:
			if (host_list(optarg, allow, allow_buf, sizeof(allow_buf)) < 0) {
				fprintf(stderr, "krigd drain: --callback-allow-hosts: expected host names separated by "
					"commas (at most %d)\n", MAX_ALLOW_HOSTS);
				return 2;
			}
			o.callback.allow_hosts = (const char *const *)allow;
			break;
		case 'd': o.db_path = optarg; break;
		case 'o': o.out_dir = optarg; break;
		case 's':
			if (source_spec_has_password(optarg)) {
				fprintf(stderr, "krigd drain: --source: no password in the URL (every local user can "
					"read a command line); use KRIGD_MYSQL_PASSWORD or &password_file=FILE\n");
				return 2;
			}
			o.source = optarg;
			break;
		case 'b': bpath = optarg; break;
		case O_BDIR: o.boundary_dir = optarg; break;
		case 'c': o.callback_url = optarg; break;
		case O_CBSECRET: secret_file = optarg; break;
		case O_URLPREFIX: o.url_prefix = optarg; break;
		case O_CBTIMEOUT:
			/* A hanging receiver holds the sender this long per attempt
			 * (never a worker: the sender is its own thread). */
			if (cli_long(optarg, 1, 3600, &n) < 0)
				goto bad;
			o.callback.http.timeout_ms = n * 1000;
			if (o.callback.http.connect_timeout_ms > n * 1000)
				o.callback.http.connect_timeout_ms = n * 1000;
			break;
		case O_CBBACKOFF:
			if (cli_long(optarg, 0, 86400, &n) < 0)
				goto bad;
			o.callback_backoff_base = n;
			break;
		case O_CBMAX:
			if (cli_long(optarg, 1, 1000, &n) < 0)
				goto bad;
			o.callback_max_attempts = (int)n;
			break;
		case O_SENDERS:
			if (cli_long(optarg, 1, DRAIN_MAX_SENDERS, &n) < 0)
				goto bad;
			o.callback_senders = (int)n;
			break;
		case 'w':
			if (cli_long(optarg, 1, 256, &n) < 0)
				goto bad;
			o.workers = (int)n;
			break;
		case 't':
			if (cli_long(optarg, 1, 1024, &threads) < 0)
				goto bad;
			break;
		case 'l':
			if (cli_long(optarg, 1, 86400, &n) < 0)
				goto bad;
			o.lease = (int)n;
			break;
		case O_BACKOFF:
			if (cli_long(optarg, 0, 86400, &n) < 0)
				goto bad;
			o.queue.backoff_base = (double)n;
			break;
		case O_SYNC:
			if (strcmp(optarg, "full") == 0)
				o.queue.durability = QUEUE_DURABLE_POWER;
			else if (strcmp(optarg, "normal") == 0)
				o.queue.durability = QUEUE_DURABLE_CRASH;
			else
				goto bad;
			break;
		case O_BUSY:
			if (cli_long(optarg, 0, 3600000, &n) < 0)
				goto bad;
			o.queue.busy_timeout_ms = (int)n;
			break;
		case O_MAXPIX:
			if (cli_long(optarg, 1, LONG_MAX, &n) < 0)
				goto bad;
			o.max_cells = (size_t)n;
			break;
		case O_MAXSCAN:
			if (cli_long(optarg, 1, LONG_MAX, &n) < 0)
				goto bad;
			o.max_scan_jobs = (size_t)n;
			break;
		case O_MAXCB:
			/* Room for the job id, state and error at least. */
			if (cli_long(optarg, 1024, 1L << 30, &n) < 0)
				goto bad;
			o.max_callback_body = (size_t)n;
			break;
		case O_SRCTMO:
			if (cli_long(optarg, 1, 3600, &n) < 0)
				goto bad;
			o.source_timeout_ms = n * 1000;
			break;
		case O_USER:
			if (privdrop_lookup(&pd, optarg, &e) < 0) {
				fprintf(stderr, "krigd drain: %s\n", e.msg);
				return 2;
			}
			break;
		case O_NOCB: o.deliver = 0; break;
		case O_IDLE: o.exit_when_idle = 1; break;
		case O_LEGEND: o.legend = 1; break;
		case O_LOGLEVEL:
			if ((log_level = log_level_parse(optarg)) < 0)
				goto bad;
			break;
		case 'h':
			drain_usage(stdout);
			return 0;
		default:
			drain_usage(stderr);
			return 2;
		}
	}
	if (!o.db_path || !o.out_dir || optind != argc) {
		fprintf(stderr, "krigd drain: --db and --out are required\n");
		drain_usage(stderr);
		return 2;
	}
	/* workers x threads never exceeds the cores unless asked to. */
	o.threads = threads ? (int)threads : (int)(cores / o.workers > 0 ? cores / o.workers : 1);
	if ((long)o.workers * o.threads > cores)
		log_warn("drain: %d workers x %d threads is more than the %ld CPUs this process may use; "
			 "they will share them", o.workers, o.threads, cores);
	if (o.callback_url && callback_url_check(o.callback_url, &o.callback, &e) < 0) {
		fprintf(stderr, "krigd drain: --callback: %s\n", e.msg);
		return 2;
	}
	if (secret_file) {
		if (callback_secret_load(secret_file, &key, &keylen, &e) < 0) {
			fprintf(stderr, "krigd drain: --callback-secret-file: %s\n", e.msg);
			return 1;
		}
		o.secret = key;
		o.secret_len = keylen;
	}
	if (bpath) {
		if (boundary_from_file(&b, bpath, &e) < 0) {
			fprintf(stderr, "krigd drain: --boundary %s: %s\n", bpath, e.msg);
			goto out;
		}
		o.boundary = &b;
	}

	pd.db_path = o.db_path;
	pd.check_dir = o.out_dir;
	o.after_open = privdrop_apply;
	o.after_open_ctx = &pd;
	cli_signals(on_signal);

	if (drain_run(&o, &stop, &e) < 0) {
		fprintf(stderr, "krigd drain: %s\n", e.msg);
		goto out;
	}
	rc = 0;
out:
	boundary_release(&b);
	if (key)
		callback_secret_free(key, keylen);
	return rc;
bad:
	fprintf(stderr, "krigd drain: bad option value: %s\n", optarg);
	return 2;
}

/* cmd_listen.c - `krigd listen`: the ingest half on its own. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "cli.h"
#include "error.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "privdrop.h"

#define MAX_ALLOW 64

static volatile sig_atomic_t stop_requested;

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

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: krigd listen --db PATH --socket PATH [OPTIONS]\n"
		"Receive triggers on a Unix datagram socket and queue them durably; each\n"
		"sender that bound an address gets one reply after the COMMIT.\n\n"
		"  --db PATH              queue database (created if missing)\n"
		"  --socket PATH          socket to create (not needed with socket activation)\n"
		"  --socket-mode MODE     octal file mode of the socket (0660)\n"
		"  --allow-uid UID,...    accept only these sender uids (default: anyone who can\n"
		"                         open the socket)\n"
		"  --max-datagram BYTES   larger datagrams get an error reply (196608)\n"
		CLI_LIMIT_HELP
		"  --synchronous MODE     full (default): an ok reply survives power loss;\n"
		"                         normal: faster, survives a crash of krigd but the last\n"
		"                         acked triggers may be lost if the machine loses power\n"
		"  --busy-timeout MS      how long to wait for another writer before replying\n"
		"                         \"queue busy\" (5000)\n"
		"  --max-batch N          datagrams per transaction (1024; 1 = one commit each)\n"
		"  --max-queue-rows N     refuse new work once the queue holds N jobs (1000000;\n"
		"                         0: no limit); purge finished jobs to make room\n"
		"  --user NAME            when started as root, become NAME once the socket is\n"
		"                         bound and the database open\n"
		"  --log-level LEVEL      error, warning, notice, info, debug\n");
}

static int parse_uids(char *s, uid_t *out, size_t *n)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno || end == tok || *end || *n >= MAX_ALLOW || v > 0xfffffffful)
			return -1;
		out[(*n)++] = (uid_t)v;
	}
	return *n ? 0 : -1;
}

static int parse_size(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10); /* "010" is ten, as for every other command */
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int cmd_listen(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "socket-mode", required_argument, NULL, 'm' },
		{ "allow-uid", required_argument, NULL, 'u' },
		{ "max-datagram", required_argument, NULL, 'x' },
		{ "synchronous", required_argument, NULL, 'y' },
		{ "busy-timeout", required_argument, NULL, 'b' },
		{ "max-batch", required_argument, NULL, 'B' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "max-queue-rows", required_argument, NULL, 'Q' },
		{ "user", required_argument, NULL, 'U' },
		CLI_LIMIT_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct listener_opts o;
	struct privdrop pd = { 0 };
	struct error e = { 0 };
	uid_t allow[MAX_ALLOW];
	size_t nallow = 0;
	long long v;
	int c, li = 0, standalone = 1, rc;

	listener_opts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		switch (c) {
		case 0:
			if (cli_trigger_limit("listen", longopts[li].name, optarg, &o.lim) < 0)
				return 2;
			break;
		case 'd': o.db_path = optarg; break;
		case 's': o.socket_path = optarg; break;
		case 'm': {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);
			if (end == optarg || *end || m > 0777) {
				fprintf(stderr, "krigd listen: --socket-mode: expected an octal mode like 0660\n");
				return 2;
			}
			o.socket_mode = (unsigned)m;
			break;
		}
		case 'u':
			/* The last --allow-uid wins, as for every option: a flag
			 * replaces the configuration file's list, never adds to it. */
			nallow = 0;
			if (parse_uids(optarg, allow, &nallow) < 0) {
				fprintf(stderr, "krigd listen: --allow-uid: expected numbers separated by commas "
					"(at most %d)\n", MAX_ALLOW);
				return 2;
			}
			o.allow_uid = allow;
			o.n_allow = nallow;
			break;
		case 'x':
			if (parse_size(optarg, 16, 64LL * 1024 * 1024, &v) < 0) {
				fprintf(stderr, "krigd listen: --max-datagram: expected 16 .. 67108864 bytes\n");
				return 2;
			}
			o.max_datagram = (size_t)v;
			break;
		case 'y':
			if (strcmp(optarg, "full") == 0)
				o.queue.durability = QUEUE_DURABLE_POWER;
			else if (strcmp(optarg, "normal") == 0)
				o.queue.durability = QUEUE_DURABLE_CRASH;
			else {
				fprintf(stderr, "krigd listen: --synchronous: full or normal\n");
				return 2;
			}
			break;
		case 'b':
			if (parse_size(optarg, 0, 3600 * 1000, &v) < 0) {
				fprintf(stderr, "krigd listen: --busy-timeout: expected milliseconds\n");
				return 2;
			}
			o.queue.busy_timeout_ms = (int)v;
			break;
		case 'B':
			if (parse_size(optarg, 1, 65536, &v) < 0) {
				fprintf(stderr, "krigd listen: --max-batch: expected 1 .. 65536\n");
				return 2;
			}
			o.max_batch = (size_t)v;
			break;
		case 'l':
			if ((c = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "krigd listen: --log-level: unknown level '%s'\n", optarg);
				return 2;
			}
			log_level = c;
			break;
		case 'Q':
			if (parse_size(optarg, 0, 1LL << 62, &v) < 0) {
				fprintf(stderr, "krigd listen: --max-queue-rows: expected a number of jobs (0: no limit)\n");
				return 2;
			}
			o.max_queue_rows = v;
			break;
		case 'U':
			if (privdrop_lookup(&pd, optarg, &e) < 0) {
				fprintf(stderr, "krigd listen: %s\n", e.msg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !o.db_path) {
		fprintf(stderr, "krigd listen: %s\n", optind < argc ? "unexpected argument" : "--db is required");
		usage(stderr);
		return 2;
	}
	if (!o.socket_path && !getenv("LISTEN_FDS")) {
		fprintf(stderr, "krigd listen: --socket is required\n");
		return 2;
	}
	pd.db_path = o.db_path;
	pd.give[0] = getenv("LISTEN_FDS") ? NULL : o.socket_path; /* so the socket's group can still send */
	o.after_open = privdrop_apply;
	o.after_open_ctx = &pd;
	cli_signals(on_signal);
	o.ready = listen_ready;
	o.ready_ctx = &standalone;
	rc = listener_run(&o, &stop_requested, &e);
	if (standalone)
		notify_send("STOPPING=1");
	if (rc < 0) {
		fprintf(stderr, "krigd listen: %s\n", e.msg);
		return 1;
	}
	return 0;
}

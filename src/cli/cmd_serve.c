/* cmd_serve.c - `krigd serve`: the supervisor.  Runs `krigd listen` and
 * `krigd drain` as child processes on one database and restarts a child
 * that dies, so a crash in rendering never takes ingest down.  The children
 * get PR_SET_PDEATHSIG: a serve killed with -9 leaves nothing behind.
 *
 * Under systemd (Type=notify) serve alone speaks to the manager: READY=1
 * once the listener child has the database open and the socket bound (it
 * writes a byte down a pipe, $KRIGD_READY_FD), STOPPING=1 on SIGTERM, and
 * WATCHDOG=1 at half the interval when $WATCHDOG_USEC asks.  A socket passed
 * by systemd (krigd.socket, LISTEN_FDS) is handed to the listener only. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "log.h"
#include "notify.h"
#include "source.h"

/* Which child each option goes to. */
enum { TO_LISTEN = 1, TO_DRAIN = 2, TO_BOTH = 3, TO_SERVE = 4 };

static const struct serve_opt {
	const char *name;
	int has_arg;
	int to;
} serve_opts[] = {
	{ "db", 1, TO_BOTH },
	{ "synchronous", 1, TO_BOTH },
	{ "busy-timeout", 1, TO_BOTH },
	{ "log-level", 1, TO_BOTH },
	{ "socket", 1, TO_LISTEN },
	{ "socket-mode", 1, TO_LISTEN },
	{ "allow-uid", 1, TO_LISTEN },
	{ "max-datagram", 1, TO_LISTEN },
	{ "max-batch", 1, TO_LISTEN },
	{ "out", 1, TO_DRAIN },
	{ "source", 1, TO_DRAIN },
	{ "boundary", 1, TO_DRAIN },
	{ "boundary-dir", 1, TO_DRAIN },
	{ "callback", 1, TO_DRAIN },
	{ "callback-secret-file", 1, TO_DRAIN },
	{ "callback-timeout", 1, TO_DRAIN },
	{ "callback-backoff-base", 1, TO_DRAIN },
	{ "callback-senders", 1, TO_DRAIN },
	{ "callback-max-attempts", 1, TO_DRAIN },
	{ "url-prefix", 1, TO_DRAIN },
	{ "workers", 1, TO_DRAIN },
	{ "threads", 1, TO_DRAIN },
	{ "lease", 1, TO_DRAIN },
	{ "backoff-base", 1, TO_DRAIN },
	{ "max-pixels", 1, TO_DRAIN },
	{ "legend", 0, TO_DRAIN },
	{ "max-json-depth", 1, TO_BOTH },
	{ "max-frames", 1, TO_BOTH },
	{ "max-points", 1, TO_BOTH },
	{ "max-source-bytes", 1, TO_DRAIN },
	{ "callback-allow-hosts", 1, TO_DRAIN },
	{ "max-queue-rows", 1, TO_LISTEN },
	{ "max-scan-jobs", 1, TO_DRAIN },
	{ "source-timeout", 1, TO_DRAIN },
	{ "max-callback-body", 1, TO_DRAIN },
	{ "user", 1, TO_BOTH },
	{ "stop-timeout", 1, TO_SERVE },
};

#define NOPTS (sizeof(serve_opts) / sizeof(serve_opts[0]))
#define STOP_GRACE 10 /* seconds a child has to give its jobs up after the stop time-out */

struct child {
	const char *name;  /* "listen" or "drain" */
	char **argv;
	pid_t pid;         /* 0: not running */
	time_t started, next_start;
	int delay;         /* restart back-off, seconds */
};

static void serve_usage(FILE *fp)
{
	fprintf(fp,
		"usage: krigd serve --db PATH --socket PATH --out DIR [OPTIONS]\n"
		"\n"
		"Run `krigd listen` and `krigd drain` (with the callback sender) as child\n"
		"processes on one database, restarting a child that dies.  Every option of\n"
		"listen and drain is accepted and passed to the child it belongs to:\n"
		"  --db --synchronous --busy-timeout --log-level\n"
		"  --max-json-depth --max-frames --max-points               both\n"
		"  --socket --socket-mode --allow-uid --max-datagram\n"
		"  --max-batch                                              listen\n"
		"  --out --source --boundary --boundary-dir --callback\n"
		"  --callback-secret-file --callback-timeout --callback-backoff-base\n"
		"  --callback-senders --callback-max-attempts\n"
		"  --url-prefix --workers --threads\n"
		"  --lease --backoff-base --max-pixels                      drain\n"
		"  --max-queue-rows                                         listen\n"
		"  --max-scan-jobs --max-callback-body --source-timeout\n"
		"  --legend --max-source-bytes --callback-allow-hosts       drain\n"
		"  --user NAME                                              both (each drops root\n"
		"                           once its files are open; the supervisor stays root\n"
		"                           only to restart them)\n"
		"  --stop-timeout SECONDS   on SIGTERM, wait this long for in-flight jobs (default 30);\n"
		"                           then the drain gives them back to the queue (10 s more at\n"
		"                           most, else it is killed)\n"
		"\n"
		"SIGTERM or SIGINT stops intake, lets in-flight jobs finish (or, after the\n"
		"stop time-out, gives them back to the queue as pending) and exits 0.\n");
}

/* ready_fd: the pipe's write end for the listener, -1 for the drain;
 * activated: fd 3 is the socket systemd passed us, for the listener.  The
 * drain learns our pid and the stop time-out ($KRIGD_SUPERVISOR,
 * $KRIGD_STOP_TIMEOUT): if we die it stops on its own within that time. */
static pid_t spawn(struct child *c, const sigset_t *orig, int ready_fd, int activated, int stop_timeout)
{
	pid_t parent = getpid(), pid = fork();
	char num[32];

	if (pid != 0)
		return pid;
	/* The child: die with the supervisor, whatever killed it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1); /* the supervisor died before prctl took effect */
	sigprocmask(SIG_SETMASK, orig, NULL);
	/* serve is single-threaded: setenv between fork and exec is safe. */
	notify_forget();
	if (ready_fd >= 0) {
		fcntl(ready_fd, F_SETFD, 0);
		snprintf(num, sizeof(num), "%d", ready_fd);
		setenv("KRIGD_READY_FD", num, 1);
		if (activated) {
			/* exec keeps the pid: the socket becomes the listener's. */
			fcntl(3, F_SETFD, 0);
			snprintf(num, sizeof(num), "%ld", (long)getpid());
			setenv("LISTEN_PID", num, 1);
			setenv("LISTEN_FDS", "1", 1);
		}
	} else {
		snprintf(num, sizeof(num), "%ld", (long)parent);
		setenv("KRIGD_SUPERVISOR", num, 1);
		snprintf(num, sizeof(num), "%d", stop_timeout);
		setenv("KRIGD_STOP_TIMEOUT", num, 1);
	}
	execv("/proc/self/exe", c->argv);
	_exit(127);
}

static long long mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int add_arg(char ***v, int *n, const char *s)
{
	char **nv = realloc(*v, (size_t)(*n + 2) * sizeof(char *));

	if (!nv)
		return -1;
	nv[(*n)++] = (char *)s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct child kids[2] = { { "listen", NULL, 0, 0, 0, 1 }, { "drain", NULL, 0, 0, 0, 1 } };
	int nargs[2] = { 0, 0 }, stop_timeout = 30, stopping = 0, rc = 0;
	int ready_pipe[2] = { -1, -1 }, ready = 0, activated = 0, usage_error = 0;
	long long wd_usec = notify_watchdog_usec(), wd_last = 0, tick_ns = 200 * 1000000LL;
	const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
	sigset_t set, orig;
	time_t stop_deadline = 0;

	for (int k = 0; k < 2; k++)
		if (add_arg(&kids[k].argv, &nargs[k], "krigd") < 0 || add_arg(&kids[k].argv, &nargs[k], kids[k].name) < 0)
			goto nomem;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct serve_opt *o = NULL;
		size_t len;

		if (strcmp(a, "--help") == 0) {
			serve_usage(stdout);
			rc = 0;
			goto out;
		}
		if (strncmp(a, "--", 2) != 0)
			goto usage;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (size_t k = 0; k < NOPTS; k++)
			if (strlen(serve_opts[k].name) == len && strncmp(serve_opts[k].name, a + 2, len) == 0)
				o = &serve_opts[k];
		if (!o) {
			fprintf(stderr, "krigd serve: unknown option %s\n", a);
			goto usage;
		}
		if (o->has_arg && !eq && i + 1 >= argc) {
			fprintf(stderr, "krigd serve: %s needs a value\n", a);
			goto usage;
		}
		if (strcmp(o->name, "source") == 0 && source_spec_has_password(eq ? eq + 1 : argv[i + 1])) {
			fprintf(stderr, "krigd serve: --source: no password in the URL (every local user can read "
				"a command line); use KRIGD_MYSQL_PASSWORD or &password_file=FILE\n");
			rc = 2;
			goto out;
		}
		if (o->to == TO_SERVE) {
			long v;

			if (cli_long(eq ? eq + 1 : argv[i + 1], 0, 86400, &v) < 0) {
				fprintf(stderr, "krigd serve: %s: expected seconds, 0 .. 86400\n", a);
				goto usage;
			}
			stop_timeout = (int)v;
			if (!eq)
				i++;
			continue;
		}
		/* serve logs too: at the level its children log at. */
		if (strcmp(o->name, "log-level") == 0 && (log_level = log_level_parse(eq ? eq + 1 : argv[i + 1])) < 0) {
			fprintf(stderr, "krigd serve: --log-level: expected error, warning, notice, info or debug\n");
			log_level = LOG_INFO;
			goto usage;
		}
		for (int k = 0; k < 2; k++) {
			if (!(o->to & (1 << k)))
				continue;
			if (add_arg(&kids[k].argv, &nargs[k], a) < 0 ||
			    (o->has_arg && !eq && add_arg(&kids[k].argv, &nargs[k], argv[i + 1]) < 0))
				goto nomem;
		}
		if (o->has_arg && !eq)
			i++;
	}

	/* Socket activation: the socket goes to each listener we start, never
	 * to the drain, and survives a listener's restart in our fd 3. */
	if (lpid && lfds && atoll(lpid) == (long long)getpid() && atoi(lfds) >= 1) {
		activated = 1;
		fcntl(3, F_SETFD, FD_CLOEXEC);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (pipe2(ready_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "krigd serve: pipe: %s\n", strerror(errno));
		rc = 1;
		goto out;
	}
	/* Wake often enough to ping the watchdog at half its interval. */
	if (wd_usec > 0 && wd_usec * 1000 / 4 < tick_ns)
		tick_ns = wd_usec * 1000 / 4;

	/* Signals are taken synchronously with sigtimedwait: no handler, no
	 * race between a child's death and the loop's sleep. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &orig);

	for (;;) {
		struct timespec tick = { (time_t)(tick_ns / 1000000000), (long)(tick_ns % 1000000000) };
		time_t now = time(NULL);
		int sig, status, alive = 0;
		pid_t pid;
		char byte;

		for (int k = 0; k < 2; k++) {
			if (kids[k].pid == 0 && !stopping && now >= kids[k].next_start) {
				kids[k].pid = spawn(&kids[k], &orig, k == 0 ? ready_pipe[1] : -1, activated, stop_timeout);
				if (kids[k].pid < 0) {
					log_err("serve: cannot start %s: %s", kids[k].name, strerror(errno));
					kids[k].pid = 0;
					kids[k].next_start = now + kids[k].delay;
				} else {
					kids[k].started = now;
					log_info("serve: started %s (pid %ld)", kids[k].name, (long)kids[k].pid);
				}
			}
			alive += kids[k].pid != 0;
		}
		if (stopping && alive == 0)
			break;
		if (stopping && now >= stop_deadline) {
			/* First a second SIGTERM: the drain gives its jobs up between
			 * frames and puts them back to pending.  Only a child that
			 * ignores that too is killed (its leases are reclaimed at the
			 * next start). */
			for (int k = 0; k < 2; k++)
				if (kids[k].pid && stopping == 1) {
					log_warn("serve: %s did not stop within %d s; asking it to give up its jobs",
						 kids[k].name, stop_timeout);
					kill(kids[k].pid, SIGTERM);
				} else if (kids[k].pid) {
					log_warn("serve: %s did not give up within %d s more; killing it", kids[k].name,
						 STOP_GRACE);
					kill(kids[k].pid, SIGKILL);
				}
			stop_deadline = now + (stopping == 1 ? STOP_GRACE : 3600);
			stopping = 2;
		}
		if (wd_usec > 0 && mono_us() - wd_last >= wd_usec / 2) {
			notify_send("WATCHDOG=1");
			wd_last = mono_us();
		}
		sig = sigtimedwait(&set, NULL, &tick);
		/* The listener has the database open and the socket bound (again,
		 * after a restart: said once). */
		while (read(ready_pipe[0], &byte, 1) == 1)
			if (!ready && !stopping) {
				ready = 1;
				if (notify_send("READY=1\nSTATUS=accepting triggers") < 0)
					log_warn("serve: sd_notify READY=1: %s", strerror(errno));
				log_info("serve: ready");
			}
		if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !stopping) {
			notify_send("STOPPING=1");
			log_info("serve: stopping");
			stopping = 1;
			stop_deadline = time(NULL) + stop_timeout;
			for (int k = 0; k < 2; k++)
				if (kids[k].pid)
					kill(kids[k].pid, SIGTERM);
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (int k = 0; k < 2; k++) {
				if (kids[k].pid != pid)
					continue;
				kids[k].pid = 0;
				if (stopping)
					break;
				/* Exit status 2 is a usage error: the options serve passed
				 * on are wrong, and a restart would fail the same way. */
				if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
					log_err("serve: %s refused its options (exit status 2); stopping", kids[k].name);
					usage_error = 1;
					notify_send("STOPPING=1");
					stopping = 2; /* no second chance to give up jobs: none were taken */
					stop_deadline = time(NULL) + stop_timeout;
					for (int m = 0; m < 2; m++)
						if (kids[m].pid)
							kill(kids[m].pid, SIGTERM);
					break;
				}
				if (WIFSIGNALED(status))
					log_err("serve: %s (pid %ld) killed by signal %d; restarting", kids[k].name,
						(long)pid, WTERMSIG(status));
				else
					log_err("serve: %s (pid %ld) exited with status %d; restarting", kids[k].name,
						(long)pid, WEXITSTATUS(status));
				/* Back off a child that keeps dying; one that ran a
				 * while starts again at once. */
				if (time(NULL) - kids[k].started >= 60)
					kids[k].delay = 1;
				kids[k].next_start = time(NULL) + (kids[k].delay > 1 ? kids[k].delay : 0);
				kids[k].delay = kids[k].delay < 30 ? kids[k].delay * 2 : 30;
			}
		}
	}
	log_info("serve: stopped");
	rc = usage_error ? 2 : 0;
	goto out;
usage:
	serve_usage(stderr);
	rc = 2;
	goto out;
nomem:
	fprintf(stderr, "krigd serve: out of memory\n");
	rc = 1;
out:
	if (ready_pipe[0] >= 0) {
		close(ready_pipe[0]);
		close(ready_pipe[1]);
	}
	free(kids[0].argv);
	free(kids[1].argv);
	return rc;
}

/* supervisor.c - see supervisor.h */
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
#include "log.h"
#include "notify.h"
#include "supervisor.h"

#define STOP_GRACE 10 /* seconds a child has to give its jobs up after the stop time-out */

struct child {
	const char *name; /* "listen" or "drain" */
	char **argv;
	pid_t pid;        /* 0: not running */
	time_t started, next_start;
	int delay;        /* restart back-off, seconds */
};

struct sv {
	const struct supervisor_opts *o;
	struct child kids[2];
	sigset_t set, orig;
	int ready_pipe[2];
	int fatal_pipe[2]; /* a child that cannot start writes why (cli_start_failed) */
	int ready, activated, exit_code;
	int stopping;     /* 0 running; 1 asked to stop; 2 asked to give jobs up (or no second chance) */
	time_t stop_deadline;
	long long wd_usec, wd_last, tick_ns;
};

/* ready_fd: the pipe's write end for the listener, -1 for the drain;
 * activated: fd 3 is the socket systemd passed us, for the listener. */
/* The drain learns our pid and the stop time-out ($KRIGD_SUPERVISOR,
 * $KRIGD_STOP_TIMEOUT): if we die it stops on its own within that time. */
static pid_t spawn(struct child *c, const sigset_t *orig, int ready_fd, int fatal_fd, int activated,
		   int stop_timeout)
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
	fcntl(fatal_fd, F_SETFD, 0);
	snprintf(num, sizeof(num), "%d", fatal_fd);
	setenv("KRIGD_FATAL_FD", num, 1);
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

/* Socket activation: the socket goes to each listener we start, never to
 * the drain, and survives a listener's restart in our fd 3. */
static void take_activation(struct sv *s)
{
	const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");

	if (lpid && lfds && atoll(lpid) == (long long)getpid() && atoi(lfds) >= 1) {
		s->activated = 1;
		fcntl(3, F_SETFD, FD_CLOEXEC);
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* Start the children that are due; the number running. */
static int start_children(struct sv *s, time_t now)
{
	int alive = 0;

	for (int k = 0; k < 2; k++) {
		struct child *c = &s->kids[k];

		if (c->pid == 0 && !s->stopping && now >= c->next_start) {
			c->pid = spawn(c, &s->orig, k == 0 ? s->ready_pipe[1] : -1, s->fatal_pipe[1], s->activated,
				       s->o->stop_timeout);
			if (c->pid < 0) {
				log_err("serve: cannot start %s: %s", c->name, strerror(errno));
				c->pid = 0;
				c->next_start = now + c->delay;
			} else {
				c->started = now;
				log_info("serve: started %s (pid %ld)", c->name, (long)c->pid);
			}
		}
		alive += c->pid != 0;
	}
	return alive;
}

/* The stop time-out passed.  First a second SIGTERM: the drain gives its
 * jobs up between frames and puts them back to pending.  Only a child that
 * ignores that too is killed (its leases are reclaimed at the next start). */
static void escalate(struct sv *s, time_t now)
{
	for (int k = 0; k < 2; k++) {
		struct child *c = &s->kids[k];

		if (c->pid && s->stopping == 1) {
			log_warn("serve: %s did not stop within %d s; asking it to give up its jobs", c->name,
				 s->o->stop_timeout);
			kill(c->pid, SIGTERM);
		} else if (c->pid) {
			log_warn("serve: %s did not give up within %d s more; killing it", c->name, STOP_GRACE);
			kill(c->pid, SIGKILL);
		}
	}
	s->stop_deadline = now + (s->stopping == 1 ? STOP_GRACE : 3600);
	s->stopping = 2;
}

/* The listener has the database open and the socket bound (again, after a
 * restart: said once). */
static void read_ready(struct sv *s)
{
	char byte;

	while (read(s->ready_pipe[0], &byte, 1) == 1)
		if (!s->ready && !s->stopping) {
			s->ready = 1;
			if (notify_send("READY=1\nSTATUS=accepting triggers") < 0)
				log_warn("serve: sd_notify READY=1: %s", strerror(errno));
			log_info("serve: ready");
		}
}

/* Tell systemd and the children: stopping (level 1, or 2 when the jobs get
 * no second chance), within stop_timeout. */
static void begin_stop(struct sv *s, int level)
{
	notify_send("STOPPING=1");
	s->stopping = level;
	s->stop_deadline = time(NULL) + s->o->stop_timeout;
	for (int k = 0; k < 2; k++)
		if (s->kids[k].pid)
			kill(s->kids[k].pid, SIGTERM);
}

/* A child exited CLI_EXIT_PERMANENT: log why (its message from the fatal
 * pipe) and stop; serve exits with the same status. */
static void child_cannot_start(struct sv *s, struct child *c)
{
	char msg[ERROR_MSG_MAX + 64];
	ssize_t n = read(s->fatal_pipe[0], msg, sizeof(msg) - 1);

	msg[n > 0 ? n : 0] = '\0';
	log_err("serve: %s cannot start: %s; a restart would fail the same way: stopping", c->name,
		n > 0 ? msg : "(no reason given; see its message above)");
	s->exit_code = CLI_EXIT_PERMANENT;
	begin_stop(s, 2);
}

static void child_exited(struct sv *s, struct child *c, pid_t pid, int status)
{
	c->pid = 0;
	if (s->stopping)
		return;
	/* Exit status 2 is a usage error: the options serve passed on are
	 * wrong, and a restart would fail the same way. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		log_err("serve: %s refused its options (exit status 2); stopping", c->name);
		s->exit_code = 2;
		begin_stop(s, 2); /* no second chance to give up jobs: none were taken */
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == CLI_EXIT_PERMANENT) {
		child_cannot_start(s, c);
		return;
	}
	if (WIFSIGNALED(status))
		log_err("serve: %s (pid %ld) killed by signal %d; restarting", c->name, (long)pid, WTERMSIG(status));
	else
		log_err("serve: %s (pid %ld) exited with status %d; restarting", c->name, (long)pid,
			WEXITSTATUS(status));
	/* Back off a child that keeps dying; one that ran a while starts
	 * again at once. */
	if (time(NULL) - c->started >= 60)
		c->delay = 1;
	c->next_start = time(NULL) + (c->delay > 1 ? c->delay : 0);
	c->delay = c->delay < 30 ? c->delay * 2 : 30;
}

static void reap(struct sv *s)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (int k = 0; k < 2; k++)
			if (s->kids[k].pid == pid) {
				child_exited(s, &s->kids[k], pid, status);
				break;
			}
}

/* The loop: start what is due, escalate a slow stop, ping the watchdog,
 * wait for a signal or the next tick, then read readiness and reap. */
static void supervise(struct sv *s)
{
	for (;;) {
		struct timespec tick = { (time_t)(s->tick_ns / 1000000000), (long)(s->tick_ns % 1000000000) };
		time_t now = time(NULL);
		int sig, alive = start_children(s, now);

		if (s->stopping && alive == 0)
			break;
		if (s->stopping && now >= s->stop_deadline)
			escalate(s, now);
		if (s->wd_usec > 0 && mono_us() - s->wd_last >= s->wd_usec / 2) {
			notify_send("WATCHDOG=1");
			s->wd_last = mono_us();
		}
		sig = sigtimedwait(&s->set, NULL, &tick);
		read_ready(s);
		if ((sig == SIGTERM || sig == SIGINT || sig == SIGHUP) && !s->stopping) {
			log_info("serve: stopping");
			begin_stop(s, 1);
		}
		reap(s);
	}
}

int supervisor_run(const struct supervisor_opts *o, struct error *e)
{
	static const char *const names[2] = { "listen", "drain" };
	struct sv s;

	memset(&s, 0, sizeof(s));
	s.o = o;
	for (int k = 0; k < 2; k++) {
		s.kids[k].name = names[k];
		s.kids[k].argv = o->argv[k];
		s.kids[k].delay = 1;
	}
	s.wd_usec = notify_watchdog_usec();
	s.tick_ns = 200 * 1000000LL;
	take_activation(&s);
	if (pipe2(s.ready_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return error_set(e, KD_EIO, "pipe: %s", strerror(errno));
	if (pipe2(s.fatal_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		close(s.ready_pipe[0]);
		close(s.ready_pipe[1]);
		return error_set(e, KD_EIO, "pipe: %s", strerror(errno));
	}
	/* Wake often enough to ping the watchdog at half its interval. */
	if (s.wd_usec > 0 && s.wd_usec * 1000 / 4 < s.tick_ns)
		s.tick_ns = s.wd_usec * 1000 / 4;

	/* Signals are taken synchronously with sigtimedwait: no handler, no
	 * race between a child's death and the loop's sleep. */
	sigemptyset(&s.set);
	sigaddset(&s.set, SIGCHLD);
	sigaddset(&s.set, SIGTERM);
	sigaddset(&s.set, SIGINT);
	sigaddset(&s.set, SIGHUP);
	sigprocmask(SIG_BLOCK, &s.set, &s.orig);

	supervise(&s);
	log_info("serve: stopped");
	close(s.ready_pipe[0]);
	close(s.ready_pipe[1]);
	close(s.fatal_pipe[0]);
	close(s.fatal_pipe[1]);
	return s.exit_code;
}

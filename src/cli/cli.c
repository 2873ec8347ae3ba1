/* cli.c - see cli.h */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "error.h"
#include "legend.h"
#include "log.h"
#include "options.h"
#include "queue.h"

int cli_lang(const char *s, int *lang)
{
	if (strcmp(s, "en") == 0)
		*lang = LEGEND_EN;
	else if (strcmp(s, "zh") == 0)
		*lang = LEGEND_ZH;
	else
		return -1;
	return 0;
}

long cli_cores(void)
{
	cpu_set_t set;
	long n;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && (n = CPU_COUNT(&set)) > 0)
		return n;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

int cli_sync(const char *s, enum queue_durability *sync)
{
	if (strcmp(s, "full") == 0)
		*sync = QUEUE_DURABLE_POWER;
	else if (strcmp(s, "normal") == 0)
		*sync = QUEUE_DURABLE_CRASH;
	else
		return -1;
	return 0;
}

int cli_log_level(const char *s)
{
	int l = log_level_parse(s);

	if (l < 0)
		return -1;
	log_level = l;
	return 0;
}

int cli_log_format(const char *s)
{
	int f = log_format_parse(s);

	if (f < 0)
		return -1;
	log_format = f;
	return 0;
}

int cli_unhandled(struct opts *p, const struct opt_val *v)
{
	fprintf(p->err, "krigd %s: --%s is in the option table but this command does not handle it\n", p->cmd->name,
		v->def->name);
	return OPTS_BAD;
}

void cli_signals(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int cli_permanent(int code)
{
	return code == KD_EINPUT || code == KD_ELIMIT;
}

int cli_start_failed(const char *cmd, int permanent, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX + 64];
	const char *fd = getenv("KRIGD_FATAL_FD");
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "krigd %s: %s\n", cmd, msg);
	if (permanent && fd && atoi(fd) > 2) {
		/* one write under PIPE_BUF: atomic, never mixed with the other child's */
		n = (int)strlen(msg);
		if (write(atoi(fd), msg, (size_t)n) != n)
			log_warn("cannot tell the supervisor why: %s", strerror(errno));
	}
	return permanent ? CLI_EXIT_PERMANENT : 1;
}

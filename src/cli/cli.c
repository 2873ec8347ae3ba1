/* cli.c - see cli.h */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "options.h"
#include "queue.h"

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

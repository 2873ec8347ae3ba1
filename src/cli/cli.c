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
#include "legend.h"
#include "trigger.h"

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

int cli_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return (errno || end == s || *end || *out < lo || *out > hi) ? -1 : 0;
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

int cli_trigger_limit(const char *cmd, const char *name, const char *arg, struct trigger_limits *lim)
{
	long v;

	if (strcmp(name, "max-json-depth") == 0) {
		/* json_strict_check tracks at most 256 levels. */
		if (cli_long(arg, 2, 256, &v) < 0)
			goto bad;
		lim->max_depth = (int)v;
		return 1;
	}
	if (strcmp(name, "max-frames") == 0) {
		if (cli_long(arg, 1, 1000000, &v) < 0)
			goto bad;
		lim->max_frames = (size_t)v;
		return 1;
	}
	if (strcmp(name, "max-points") == 0) {
		if (cli_long(arg, 3, 10000000, &v) < 0)
			goto bad;
		lim->max_points = (size_t)v;
		return 1;
	}
	return 0;
bad:
	fprintf(stderr, "krigd %s: --%s: expected %s\n", cmd, name,
		strcmp(name, "max-json-depth") == 0 ? "2 .. 256" :
		strcmp(name, "max-frames") == 0 ? "1 .. 1000000" : "3 .. 10000000");
	return -1;
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

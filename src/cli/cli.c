/* cli.c - see cli.h */
#include "config.h"

#include <errno.h>
#include <limits.h>
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

int cli_socket_mode(const char *s, unsigned *mode)
{
	char *end;
	unsigned long m;

	errno = 0;
	m = strtoul(s, &end, 8);
	if (errno || end == s || *end || m > 0777)
		return -1;
	*mode = (unsigned)m;
	return 0;
}

int cli_uid_list(const char *s, uid_t *out, size_t max, size_t *n)
{
	char *copy = strdup(s), *save = NULL;
	int rc = 0;

	*n = 0;
	if (!copy)
		return -1;
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(tok, &end, 10);
		if (errno || end == tok || *end || *n >= max || v > 0xfffffffful)
			rc = -1;
		else
			out[(*n)++] = (uid_t)v;
	}
	free(copy);
	return rc == 0 && *n ? 0 : -1;
}

int cli_host_list(const char *s, char **out, size_t max, char *buf, size_t len)
{
	size_t n = 0;

	if ((size_t)snprintf(buf, len, "%s", s) >= len)
		return -1;
	for (char *save = NULL, *h = strtok_r(buf, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		if (n == max || !*h)
			return -1;
		out[n++] = h;
	}
	out[n] = NULL;
	return n ? 0 : -1;
}

long long cli_duration(const char *s)
{
	char *end;
	long long v, mult;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case '\0': case 's': mult = 1; break;
	case 'm': mult = 60; break;
	case 'h': mult = 3600; break;
	case 'd': mult = 86400; break;
	default: return -1;
	}
	if ((*end && end[1]) || v > LLONG_MAX / mult)
		return -1;
	return v * mult;
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

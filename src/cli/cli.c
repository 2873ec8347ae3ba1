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
#include "log.h"
#include "options.h"
#include "queue.h"
#include "source.h"

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

int cli_db_rules(const char *cmd, const char *db, const char *sqlite_opt, const char *source, int single_host)
{
	if (!queue_spec_is_pg(db))
		return 0;
	if (sqlite_opt) {
		fprintf(stderr, "krigd %s: --%s is for a SQLite queue; a PostgreSQL --db has no such setting "
			"(krigd's connections commit with synchronous_commit on, and wait for locks as the "
			"server says)\n", cmd, sqlite_opt);
		return -1;
	}
	if (source && source_spec_is_file(source) && !single_host) {
		fprintf(stderr, "krigd %s: --source %s is a SQLite file on this host, and a PostgreSQL queue is "
			"shared by drains on several hosts: use a MySQL or HTTP source, or --single-host when "
			"every drain of this queue runs here\n", cmd, source);
		return -1;
	}
	return 0;
}

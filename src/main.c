/* main.c - krigd: dispatch to a subcommand. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "render", cmd_render, "render one job from a JSON file straight to files, no queue" },
	{ "listen", cmd_listen, "receive triggers on a Unix socket and queue them durably" },
	{ "submit", cmd_submit, "send one trigger, wait for the reply, print the job ids" },
	{ "drain", cmd_drain, "claim queued jobs, render them, deliver their callbacks" },
	{ "serve", cmd_serve, "run listen and drain as supervised child processes" },
	{ "jobs", cmd_ops, "list jobs (--state, --limit, --json)" },
	{ "show", cmd_ops, "show one job" },
	{ "retry", cmd_ops, "requeue a dead or cancelled job (--dead: all dead ones)" },
	{ "cancel", cmd_ops, "cancel a pending job, or a running one between frames" },
	{ "purge", cmd_ops, "delete finished jobs older than a duration (--images: their files)" },
	{ "stats", cmd_ops, "counts per state, oldest pending age, throughput" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp)
{
	fprintf(fp, "usage: krigd COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\n'krigd COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("krigd %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			int rc;

			/* Once, before any thread: libcurl's global state is not thread-safe to set up. */
			if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
				fprintf(stderr, "krigd: cannot initialise libcurl\n");
				return 1;
			}
			rc = commands[i].run(argc - 1, argv + 1);
			curl_global_cleanup();
			return rc;
		}
	fprintf(stderr, "krigd: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

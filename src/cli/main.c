/* main.c - krigd: dispatch to a subcommand. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "commands.h"
#include "conffile.h"
#include "error.h"
#include "options.h"

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
	{ "stats", cmd_ops, "counts per state, oldest pending age, throughput (--json, --prometheus)" },
	{ "legend", cmd_legend, "draw the colour legend of an index to a PNG file" },
	{ "config", cmd_config, "check a configuration file and print the settings it gives" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *fp)
{
	fprintf(fp, "usage: krigd COMMAND [--config FILE] [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp, "\n'krigd COMMAND --help' describes each command; 'krigd --version' prints\n"
		    "the version.  --config FILE reads `key = value` lines whose keys are\n"
		    "long options; flags override the file.\n"
		    "The design and every contract: docs/DESIGN.md; the reference: krigd(1).\n");
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
			struct conffile cf = CONFFILE_INIT;
			struct error e;
			const char *cpath;
			char **cargv = NULL;
			int rc, cargc, is_config = strcmp(argv[1], "config") == 0;

			/* The file's settings go before the command line's, so the
			 * subcommand's getopt_long lets a flag override the file. */
			error_clear(&e);
			cargc = conffile_take_path(argc - 1, argv + 1, &cpath, &e);
			if (cargc < 0 || (cpath && conffile_load(&cf, cpath, &e) < 0) ||
			    conffile_merge(&cf, is_config ? ~0u : opts_command_bit(argv[1]), cargc, argv + 1,
					   &cargc, &cargv, &e) < 0) {
				fprintf(stderr, "krigd %s: %s\n", argv[1], e.msg);
				conffile_release(&cf);
				/* a bad file is bad usage, except for the command that checks files */
				return is_config ? 1 : 2;
			}

			/* Once, before any thread: libcurl's global state is not thread-safe to set up. */
			if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
				fprintf(stderr, "krigd: cannot initialise libcurl\n");
				return 1;
			}
			rc = commands[i].run(cargc, cargv);
			curl_global_cleanup();
			free(cargv);
			conffile_release(&cf);
			return rc;
		}
	fprintf(stderr, "krigd: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

/* cmd_serve.c - `krigd serve`: read the options, give each to the child
 * it belongs to (options.def says which), and run the supervisor
 * (supervisor.h) on the two argument vectors. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "log.h"
#include "options.h"
#include "source.h"
#include "supervisor.h"

static const struct opts_cmd serve_cmd = {
	"serve", OPTC_SERVE,
	"usage: krigd serve --db PATH --socket PATH --out DIR [OPTIONS]\n"
	"\n"
	"Run `krigd listen` and `krigd drain` (with the callback sender) as child\n"
	"processes on one database, restarting a child that dies.  Every option of\n"
	"listen and drain is accepted and passed to the child it belongs to:\n",
	"\n"
	"SIGTERM or SIGINT stops intake, lets in-flight jobs finish (or, after the\n"
	"stop time-out, gives them back to the queue as pending) and exits 0.\n",
};

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

struct serve_cli {
	char **argv[2]; /* listen's, drain's: values borrowed from argv */
	int n[2];
	char **owned;   /* the "--name" strings made here */
	int nowned;
	int stop_timeout;
};

/* One option: serve's own, or passed on as "--name [value]" to the child
 * (or both) whose command the row also names.  0, OPTS_BAD, or -1 when
 * out of memory. */
static int serve_option(struct opts *p, struct serve_cli *s, int id, const struct opt_val *v)
{
	static const unsigned to[2] = { OPTC_LISTEN, OPTC_DRAIN };
	char *flag;

	if (id == OPT_STOP_TIMEOUT) {
		s->stop_timeout = (int)v->num;
		return 0;
	}
	if (id == OPT_SOURCE && source_spec_has_password(v->arg)) {
		fprintf(stderr, "krigd serve: --source: no password in the URL (every local user can read "
			"a command line); use KRIGD_MYSQL_PASSWORD or &password_file=FILE\n");
		return OPTS_BAD;
	}
	/* serve logs too: at the level its children log at. */
	if (id == OPT_LOG_LEVEL && cli_log_level(v->arg) < 0)
		return opts_bad(p, v, "error, warning, notice, info or debug");
	if (id == OPT_LOG_FORMAT && cli_log_format(v->arg) < 0)
		return opts_bad(p, v, "auto, text, json or journal");
	if (!(v->def->commands & (OPTC_LISTEN | OPTC_DRAIN)))
		return cli_unhandled(p, v);
	/* "--name" whatever the spelling was (--name=v, an abbreviation) */
	if (!(flag = malloc(strlen(v->def->name) + 3)))
		return -1;
	sprintf(flag, "--%s", v->def->name);
	if (add_arg(&s->owned, &s->nowned, flag) < 0) {
		free(flag);
		return -1;
	}
	for (int k = 0; k < 2; k++)
		if ((v->def->commands & to[k]) && (add_arg(&s->argv[k], &s->n[k], flag) < 0 ||
						    (v->arg && add_arg(&s->argv[k], &s->n[k], v->arg) < 0)))
			return -1;
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	struct serve_cli s;
	struct supervisor_opts so;
	struct error e;
	struct opts p;
	struct opt_val v;
	int id, rc = 1;

	memset(&s, 0, sizeof(s));
	error_clear(&e);
	if (add_arg(&s.argv[0], &s.n[0], "krigd") < 0 || add_arg(&s.argv[0], &s.n[0], "listen") < 0 ||
	    add_arg(&s.argv[1], &s.n[1], "krigd") < 0 || add_arg(&s.argv[1], &s.n[1], "drain") < 0)
		goto nomem;
	opts_begin(&p, &serve_cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		if ((rc = serve_option(&p, &s, id, &v)) == OPTS_BAD) {
			rc = 2;
			goto out;
		} else if (rc < 0)
			goto nomem;
	if ((rc = opts_status(id)) >= 0)
		goto out;
	if (optind != argc) {
		fprintf(stderr, "krigd serve: unexpected argument %s\n", argv[optind]);
		opts_usage(&serve_cmd, stderr);
		rc = 2;
		goto out;
	}
	so.argv[0] = s.argv[0];
	so.argv[1] = s.argv[1];
	so.stop_timeout = s.stop_timeout;
	if ((rc = supervisor_run(&so, &e)) < 0) {
		fprintf(stderr, "krigd serve: %s\n", e.msg);
		rc = 1;
	}
	goto out;
nomem:
	fprintf(stderr, "krigd serve: out of memory\n");
	rc = 1;
out:
	for (int i = 0; i < s.nowned; i++)
		free(s.owned[i]);
	free(s.owned);
	free(s.argv[0]);
	free(s.argv[1]);
	return rc;
}

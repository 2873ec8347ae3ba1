/* conffile.c - see conffile.h */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conffile.h"
#include "options.h"

void conffile_release(struct conffile *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].flag);
		free(c->v[i].value);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

/* 1 true, 0 false, -1 neither. */
static int parse_bool(const char *s)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int add_entry(struct conffile *c, const struct opt_def *o, unsigned cmds, const char *value, int line)
{
	struct conffile_entry *nv = realloc(c->v, (c->n + 1) * sizeof(*nv));
	struct conffile_entry *en;

	if (!nv)
		return -1;
	c->v = nv;
	en = &c->v[c->n];
	en->opt = o;
	en->commands = cmds;
	en->line = line;
	en->value = value ? strdup(value) : NULL;
	en->flag = malloc(strlen(o->name) + 3);
	if (!en->flag || (value && !en->value)) {
		free(en->flag);
		free(en->value);
		return -1;
	}
	sprintf(en->flag, "--%s", o->name);
	c->n++;
	return 0;
}

/* One line; 0, or an error naming path:line. */
static int parse_line(struct conffile *c, char *s, const char *path, int line, struct error *e)
{
	const struct opt_def *o;
	unsigned cmds;
	char *eq, *key, *val;
	size_t vl;
	int b;

	s = trim(s);
	/* Only whole-line comments: a value (a URL) may hold a '#'. */
	if (*s == '\0' || *s == '#')
		return 0;
	if (!(eq = strchr(s, '=')))
		return error_set(e, KD_EINPUT, "%s:%d: expected `key = value`", path, line);
	*eq = '\0';
	key = trim(s);
	val = trim(eq + 1);
	/* "..." keeps white space at the ends of a value. */
	vl = strlen(val);
	if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
		val[vl - 1] = '\0';
		val++;
	}
	if (!(o = opts_find_key(key, &cmds)))
		return error_set(e, KD_EINPUT, "%s:%d: unknown key '%s'", path, line, key);
	if (o->type != OPT_T_FLAG) {
		if (*val == '\0')
			return error_set(e, KD_EINPUT, "%s:%d: '%s' needs a value", path, line, key);
		return add_entry(c, o, cmds, val, line) < 0 ? error_set(e, KD_ENOMEM, "out of memory") : 0;
	}
	if ((b = parse_bool(val)) < 0)
		return error_set(e, KD_EINPUT, "%s:%d: '%s' is a flag: true or false, not '%s'", path, line, key, val);
	/* The later line wins: "false" takes back an earlier "true". */
	if (!b) {
		size_t k = 0;

		for (size_t i = 0; i < c->n; i++) {
			if (c->v[i].opt == o) {
				free(c->v[i].flag);
				free(c->v[i].value);
				continue;
			}
			c->v[k++] = c->v[i];
		}
		c->n = k;
		return 0;
	}
	return add_entry(c, o, cmds, NULL, line) < 0 ? error_set(e, KD_ENOMEM, "out of memory") : 0;
}

/* One line into buf (at most CONFFILE_MAX_LINE bytes and its newline); its
 * length, 0 at the end of the file, -1 when longer, -2 on a NUL byte
 * (fgets would silently stop at it and lose the rest of the line). */
static long read_line(FILE *fp, char *buf, size_t cap)
{
	size_t n = 0;
	int ch;

	while ((ch = getc(fp)) != EOF) {
		if (ch == '\0')
			return -2;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	buf[n] = '\0';
	return (long)n;
}

int conffile_load(struct conffile *c, const char *path, struct error *e)
{
	FILE *fp = fopen(path, "r");
	char buf[CONFFILE_MAX_LINE + 2];
	size_t total = 0;
	int line = 0, rc = 0;

	if (!fp)
		return error_set(e, KD_EIO, "%s: %s", path, strerror(errno));
	for (;;) {
		long n = read_line(fp, buf, sizeof(buf));

		if (n == 0)
			break;
		line++;
		if (n == -1) {
			rc = error_set(e, KD_ELIMIT, "%s:%d: line longer than %d bytes", path, line, CONFFILE_MAX_LINE);
			break;
		}
		if (n == -2) {
			rc = error_set(e, KD_EINPUT, "%s:%d: NUL byte", path, line);
			break;
		}
		total += (size_t)n;
		if (total > CONFFILE_MAX_BYTES) {
			rc = error_set(e, KD_ELIMIT, "%s: larger than %d bytes", path, CONFFILE_MAX_BYTES);
			break;
		}
		if ((rc = parse_line(c, buf, path, line, e)) < 0)
			break;
	}
	if (rc == 0 && ferror(fp))
		rc = error_set(e, KD_EIO, "%s: read error", path);
	fclose(fp);
	if (rc < 0)
		conffile_release(c);
	return rc;
}

int conffile_merge(const struct conffile *c, unsigned mask, int argc, char **argv, int *out_argc, char ***out,
		 struct error *e)
{
	size_t n = 1;
	char **v = malloc((2 * c->n + (size_t)argc + 1) * sizeof(char *));

	if (!v)
		return error_set(e, KD_ENOMEM, "out of memory");
	v[0] = argv[0];
	for (size_t i = 0; i < c->n; i++) {
		if (!(c->v[i].commands & mask))
			continue;
		v[n++] = c->v[i].flag;
		if (c->v[i].value)
			v[n++] = c->v[i].value;
	}
	for (int i = 1; i < argc; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	*out = v;
	*out_argc = (int)n;
	return 0;
}

int conffile_take_path(int argc, char **argv, const char **path, struct error *e)
{
	*path = NULL;
	for (int i = 1; i < argc; i++) {
		int drop;

		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc)
				return error_set(e, KD_EINPUT, "--config needs a file");
			if (*path)
				return error_set(e, KD_EINPUT, "--config given twice");
			*path = argv[i + 1];
			drop = 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			if (*path)
				return error_set(e, KD_EINPUT, "--config given twice");
			*path = argv[i] + 9;
			drop = 1;
		} else
			continue;
		memmove(argv + i, argv + i + drop, (size_t)(argc - i - drop + 1) * sizeof(char *));
		argc -= drop;
		i--;
	}
	return argc;
}

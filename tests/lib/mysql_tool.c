/* mysql_tool.c - drives one source handle for tests/mysql.test.
 *
 *   mysql_tool SPEC [BUSY_MS]
 *
 * opens SPEC, prints "open ok NAME" (or "open err CODE MESSAGE" and exits
 * 1), then reads commands from stdin, one a line, and answers each with one
 * line, flushed, so the script can restart the server between two calls on
 * the same connection:
 *   list             -> "ok ID ID ..."
 *   fetch ID         -> "ok MAP_INDEX FRAMES POINTS FIRST_PUBTIME"
 *   write ID JSON    -> "ok"
 *   name             -> "ok NAME"
 *   skipped          -> "ok N": rows the last list skipped (id_num no integer)
 * or "err CODE MESSAGE", CODE one of EINPUT EIO EBUSY ENOMEM ELIMIT ... */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "source.h"

static const char *code_name(int code)
{
	switch (code) {
	case KD_EINPUT: return "EINPUT";
	case KD_EIO: return "EIO";
	case KD_ENOMEM: return "ENOMEM";
	case KD_EBUSY: return "EBUSY";
	case KD_ELIMIT: return "ELIMIT";
	default: return "EOTHER";
	}
}

static void fail(int rc, const struct error *e)
{
	printf("err %s %s\n", code_name(rc), e->msg);
}

struct idlist {
	char buf[1 << 16];
	size_t n;
};

static int add_id(void *ctx, long long id, struct error *e)
{
	struct idlist *l = ctx;
	int w = snprintf(l->buf + l->n, sizeof(l->buf) - l->n, " %lld", id);

	if (w < 0 || (size_t)w >= sizeof(l->buf) - l->n)
		return error_set(e, KD_ELIMIT, "too many ids for mysql_tool");
	l->n += (size_t)w;
	return 0;
}

int main(int argc, char **argv)
{
	static char line[1 << 20];
	struct source_opts o;
	struct source *s;
	struct error e = { 0 };
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: mysql_tool SPEC [BUSY_MS]\n");
		return 2;
	}
	source_opts_default(&o);
	if (argc > 2)
		o.busy_timeout_ms = atoi(argv[2]);
	rc = source_open(&s, argv[1], &o, &e);
	if (rc < 0) {
		printf("open err %s %s\n", code_name(rc), e.msg);
		return 1;
	}
	printf("open ok %s\n", source_name(s));
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		char *arg;
		long long id;

		line[strcspn(line, "\n")] = '\0';
		arg = strchr(line, ' ');
		if (arg)
			*arg++ = '\0';
		error_clear(&e);
		if (strcmp(line, "list") == 0) {
			static struct idlist l;

			l.n = 0;
			l.buf[0] = '\0';
			rc = source_list_unrendered(s, add_id, &l, &e);
			if (rc < 0)
				fail(rc, &e);
			else
				printf("ok%s\n", l.buf);
		} else if (strcmp(line, "fetch") == 0 && arg) {
			char *idx = NULL;
			struct frame_set fs;
			size_t pts = 0;

			id = atoll(arg);
			rc = source_fetch(s, id, &idx, &fs, &e);
			if (rc < 0) {
				fail(rc, &e);
			} else {
				for (size_t i = 0; i < fs.n; i++)
					pts += fs.frame[i].n;
				printf("ok %s %zu %zu %s\n", idx, fs.n, pts, fs.n ? fs.frame[0].pubtime : "-");
				free(idx);
				frames_release(&fs);
			}
		} else if (strcmp(line, "write") == 0 && arg && strchr(arg, ' ')) {
			char *json = strchr(arg, ' ') + 1;

			id = atoll(arg);
			rc = source_write_back(s, id, json, &e);
			if (rc < 0)
				fail(rc, &e);
			else
				printf("ok\n");
		} else if (strcmp(line, "name") == 0) {
			printf("ok %s\n", source_name(s));
		} else if (strcmp(line, "skipped") == 0) {
			printf("ok %lld\n", source_list_skipped(s));
		} else if (strcmp(line, "quit") == 0) {
			break;
		} else {
			printf("err EUSAGE unknown command %s\n", line);
		}
		fflush(stdout);
	}
	source_close(s);
	return 0;
}

/* cmd_submit.c - `krigd submit`: send one trigger, wait for the reply.
 *
 * The trigger always carries a `key` (a random one is added when it has
 * none), so a retry after a time-out can never create a second job: the
 * listener answers a repeated key with the job it already has. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "commands.h"
#include "error.h"
#include "options.h"
#include "readfile.h"

#define MAX_INPUT (64u * 1024 * 1024)
#define MAX_REPLY 65536

static const struct opts_cmd submit_cmd = {
	"submit", OPTC_SUBMIT,
	"usage: krigd submit --socket PATH [--wait-ms N] [--retries N] [JSON | -]\n"
	"Send one trigger (JSON, or '-' / nothing to read it from stdin; text that is\n"
	"not JSON is a ping) and print the job ids of the reply, one per line.\n\n",
	NULL,
};

/* A JSON object without "key" gets a random one; anything else is sent as
 * it is (the listener judges it).  Returns the bytes to send (malloc'd). */
static char *with_key(const char *in, size_t len, size_t *outlen)
{
	struct json_tokener *tok;
	struct json_object *root, *k;
	size_t i = 0;
	char *out;

	while (i < len && strchr(" \t\r\n", in[i]))
		i++;
	if (i < len && in[i] == '{' && (tok = json_tokener_new_ex(64))) {
		root = json_tokener_parse_ex(tok, in + i, (int)(len - i));
		if (root && json_tokener_get_error(tok) == json_tokener_success &&
		    json_object_is_type(root, json_type_object) && !json_object_object_get_ex(root, "key", &k)) {
			unsigned char r[16];
			char key[40];
			const char *s;

			if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
				for (size_t j = 0; j < sizeof(r); j++)
					r[j] = (unsigned char)rand();
			}
			for (size_t j = 0; j < sizeof(r); j++)
				sprintf(key + 2 * j, "%02x", r[j]);
			json_object_object_add(root, "key", json_object_new_string(key));
			s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
			out = strdup(s);
			*outlen = out ? strlen(out) : 0;
			json_object_put(root);
			json_tokener_free(tok);
			return out;
		}
		if (root)
			json_object_put(root);
		json_tokener_free(tok);
	}
	if (!(out = malloc(len + 1)))
		return NULL;
	memcpy(out, in, len);
	out[len] = '\0';
	*outlen = len;
	return out;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until deadline for a reply.  fd is connected to the listener, so the
 * kernel lets only the listener write to it (any spelling of its path, a
 * symlink or a relative one, names the same socket); when accept is 0 (the
 * connect failed) whatever arrives is dropped.  1 with the reply in buf, 0 on
 * time-out, -1 on a socket error. */
static int wait_reply(int fd, int accept, long long deadline, char *buf, size_t cap)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		struct sockaddr_un from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (left <= 0)
			return 0;
		if (poll(&p, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (!(p.revents & POLLIN))
			continue;
		n = recvfrom(fd, buf, cap - 1, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		if (!accept)
			continue;
		buf[n] = '\0';
		return 1;
	}
}

/* One reply: the job ids printed, 0; a "queue busy" (a locked SQLite file)
 * or "queue unavailable" (a PostgreSQL server out of reach) worth another
 * try, 1;
 * anything else, -1.  Either way last_err says what went wrong. */
static int take_reply(const char *reply, char *last_err, size_t cap)
{
	struct json_object *r, *ok, *jobs, *err;

	if (!(r = json_tokener_parse(reply)) || !json_object_object_get_ex(r, "ok", &ok)) {
		snprintf(last_err, cap, "unreadable reply: %.200s", reply);
		if (r)
			json_object_put(r);
		return -1;
	}
	if (json_object_get_boolean(ok)) {
		if (json_object_object_get_ex(r, "jobs", &jobs) && json_object_is_type(jobs, json_type_array))
			for (size_t i = 0; i < json_object_array_length(jobs); i++)
				printf("%lld\n", (long long)json_object_get_int64(json_object_array_get_idx(jobs, i)));
		json_object_put(r);
		last_err[0] = '\0';
		return 0;
	}
	snprintf(last_err, cap, "%.400s", json_object_object_get_ex(r, "error", &err) ? json_object_get_string(err) : reply);
	json_object_put(r);
	if (strcmp(last_err, "queue busy") == 0 || strcmp(last_err, "queue unavailable") == 0)
		return 1;
	return -1; /* bad input: sending it again cannot help */
}

/* Send msg to the listener at sa, up to 1 + retries times.  0 once a
 * reply said ok; -1 with last_err filled. */
static int exchange(int fd, const struct sockaddr_un *sa, const char *msg, size_t msglen, long long wait_ms,
		    long long retries, char *last_err, size_t cap)
{
	static char reply[MAX_REPLY];

	for (long long attempt = 0; attempt <= retries; attempt++) {
		long long deadline = now_ms() + wait_ms;
		int got, connected;

		/* Connect each time: a restarted listener is a new socket at the
		 * same path, and a connected socket hears from its peer only. */
		connected = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
		if (!connected || send(fd, msg, msglen, MSG_NOSIGNAL) < 0) {
			int why = errno; /* before snprintf, which may change it */

			snprintf(last_err, cap, "sending to %s: %s", sa->sun_path, strerror(why));
			if (why == EMSGSIZE)
				return -1;
		}
		/* Wait the full time even if the send failed: a listener that is
		 * restarting gets the chance to come back before the next try. */
		got = wait_reply(fd, connected, deadline, reply, sizeof(reply));
		if (got < 0) {
			snprintf(last_err, cap, "receiving: %s", strerror(errno));
			return -1;
		}
		if (got == 0)
			continue;
		if ((got = take_reply(reply, last_err, cap)) <= 0)
			return got;
		/* The queue will be back (a lock released, a database restarted):
		 * give it a moment, longer each time, before the same key again. */
		long pause_ms = 100L << (attempt < 4 ? attempt : 4);
		struct timespec ts = { pause_ms / 1000, (pause_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	return -1;
}

/* The trigger: argv's, or standard input's.  NULL after saying why. */
static char *read_trigger(const char *arg, size_t *len)
{
	struct error e;
	char *in = NULL;

	if (arg && strcmp(arg, "-") != 0) {
		*len = strlen(arg);
		if (!(in = strdup(arg)))
			fprintf(stderr, "krigd submit: out of memory\n");
		return in;
	}
	error_clear(&e);
	if (readfile_capped("-", MAX_INPUT, &in, len, &e) < 0) {
		fprintf(stderr, "krigd submit: the trigger on standard input: %s\n", e.msg);
		return NULL;
	}
	return in;
}

int cmd_submit(int argc, char **argv)
{
	const char *path = NULL;
	long long wait_ms = 0, retries = 0;
	char *in = NULL, *msg = NULL;
	size_t inlen = 0, msglen = 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
	int id, fd = -1, status = 1;
	char last_err[512] = "no reply from the listener";
	struct opts p;
	struct opt_val v;

	opts_begin(&p, &submit_cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		switch (id) {
		case OPT_SOCKET: path = v.arg; break;
		case OPT_WAIT_MS: wait_ms = v.num; break;
		case OPT_RETRIES: retries = v.num; break;
		default: return cli_unhandled(&p, &v), 2;
		}
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (!path || argc - optind > 1) {
		fprintf(stderr, "krigd submit: %s\n", path ? "one trigger at a time" : "--socket is required");
		return 2;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "krigd submit: socket path too long\n");
		return 2;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (!(in = read_trigger(optind < argc ? argv[optind] : NULL, &inlen)))
		return 1;
	if (!(msg = with_key(in, inlen, &msglen))) {
		fprintf(stderr, "krigd submit: out of memory\n");
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    /* Autobind: the kernel picks a unique abstract address to reply to. */
	    bind(fd, (struct sockaddr *)&me, sizeof(sa_family_t)) < 0) {
		fprintf(stderr, "krigd submit: socket: %s\n", strerror(errno));
		goto out;
	}
	{
		int sndbuf = (int)(msglen * 2 + 65536);
		struct timeval tv = { .tv_sec = wait_ms / 1000, .tv_usec = (wait_ms % 1000) * 1000 };
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		/* A full listener queue blocks the send; not past one wait. */
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (exchange(fd, &sa, msg, msglen, wait_ms, retries, last_err, sizeof(last_err)) == 0)
		status = 0;
	else
		fprintf(stderr, "krigd submit: %s\n", last_err);
out:
	if (fd >= 0)
		close(fd);
	free(in);
	free(msg);
	return status;
}

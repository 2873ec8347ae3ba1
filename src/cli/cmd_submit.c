/* cmd_submit.c - `krigd submit`: send one trigger, wait for the reply.
 *
 * The trigger always carries a `key` (a random one is added when it has
 * none), so a retry after a time-out can never create a second job: the
 * listener answers a repeated key with the job it already has.  Each send
 * carries its own `req` (the listener echoes it; the queue leaves it out of
 * the key's payload comparison), so a late reply to an earlier send is
 * known for what it is and never taken for the answer to the last one.
 * The exit status says what is known: 0 committed, 1 nothing committed
 * (every send that reached the listener was answered with an error), 3
 * outcome unknown (some send is unanswered): the key to resend with is
 * printed. */
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
#include "json_strict.h"
#include "options.h"
#include "readfile.h"
#include "trigger.h"

#define MAX_INPUT (64u * 1024 * 1024)
#define MAX_REPLY 65536
#define EXIT_UNKNOWN 3
#define BACKOFF_MS 500      /* before resending after "queue busy", doubled each time */
#define BACKOFF_MAX_MS 4000

static const struct opts_cmd submit_cmd = {
	"submit", OPTC_SUBMIT,
	"usage: krigd submit --socket PATH [--wait-ms N] [--retries N] [JSON | -]\n"
	"Send one trigger (JSON, or '-' / nothing to read it from stdin; text that is\n"
	"not JSON is a ping) and print the job ids of the reply, one per line.\n"
	"Exit 0: committed; 1: nothing committed; 3: outcome unknown (the key to\n"
	"resend with is printed).\n\n",
	NULL,
};

static void random_hex(char *out, size_t bytes)
{
	unsigned char r[32];

	if (bytes > sizeof(r))
		bytes = sizeof(r);
	if (getrandom(r, bytes, 0) != (ssize_t)bytes) {
		for (size_t j = 0; j < bytes; j++)
			r[j] = (unsigned char)rand();
	}
	for (size_t j = 0; j < bytes; j++)
		sprintf(out + 2 * j, "%02x", r[j]);
}

/* What is sent: a JSON object (root, with its key; each send sets its own
 * "req") or, for anything else, the bytes as they are (the listener judges
 * them; a ping carries no req). */
struct outgoing {
	struct json_object *root; /* NULL: raw */
	const char *raw;
	size_t rawlen;
	char key[160];            /* the trigger's key; "" for raw */
	char tag[20];             /* random prefix of this run's reqs */
};

static void outgoing_init(struct outgoing *g, const char *in, size_t len)
{
	struct json_object *root = NULL, *k;
	size_t i, end, bad;
	const char *why;

	memset(g, 0, sizeof(*g));
	g->raw = in;
	g->rawlen = len;
	random_hex(g->tag, 4);
	trigger_trim(in, len, &i, &end);
	/* Only what the listener would read as JSON is rewritten (its rules:
	 * strict JSON, UTF-8); anything else goes as it is, for the listener
	 * to say what is wrong with it. */
	if (i >= end || in[i] != '{' || json_strict_parse(in + i, end - i, 256, &root, &bad, &why) < 0)
		return;
	if (json_object_is_type(root, json_type_object)) {
		if (!json_object_object_get_ex(root, "key", &k)) {
			random_hex(g->key, 16);
			json_object_object_add(root, "key", json_object_new_string(g->key));
		} else if (json_object_is_type(k, json_type_string)) {
			snprintf(g->key, sizeof(g->key), "%s", json_object_get_string(k));
		}
		g->root = root;
	} else {
		json_object_put(root);
	}
}

/* The bytes of send n (valid until the next call); *req its tag or "". */
static const char *outgoing_msg(struct outgoing *g, long n, size_t *len, char *req, size_t reqlen)
{
	const char *s;

	req[0] = '\0';
	if (!g->root) {
		*len = g->rawlen;
		return g->raw;
	}
	snprintf(req, reqlen, "%s-%ld", g->tag, n);
	json_object_object_add(g->root, "req", json_object_new_string(req));
	s = json_object_to_json_string_ext(g->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	*len = s ? strlen(s) : 0;
	return s;
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

/* What became of one send. */
enum sent_state {
	S_UNSENT,   /* not (yet) sent, or the send failed: the listener never had it */
	S_PENDING,  /* the listener has it; no reply yet */
	S_BUSY,     /* "queue busy": nothing committed, worth sending again */
	S_UNKNOWN,  /* the listener could not tell (a failed commit): send again */
	S_REFUSED,  /* any other error: nothing committed, and never will be */
};

struct run {
	int fd, connected;
	struct sockaddr_un sa;
	const char *path;
	long wait_ms, max;        /* sends allowed: retries + 1 */
	struct outgoing g;
	enum sent_state *st;
	long long *deadline;      /* per send: when its reply is given up */
	long next;                /* sends made so far */
	long long send_at;        /* when the next send is due */
	int stop_sending;
	char last_err[512];
};

static void send_one(struct run *r)
{
	char req[64];
	size_t len;
	const char *msg = outgoing_msg(&r->g, r->next, &len, req, sizeof(req));
	long n = r->next++;

	r->deadline[n] = now_ms() + r->wait_ms;
	r->send_at = r->deadline[n]; /* no reply by then: send again */
	/* Connect each time: a restarted listener is a new socket at the same
	 * path, and a connected socket hears from its peer only. */
	r->connected = connect(r->fd, (struct sockaddr *)&r->sa, sizeof(r->sa)) == 0;
	if (!msg || !r->connected || send(r->fd, msg, len, MSG_NOSIGNAL) < 0) {
		int why = msg ? errno : ENOMEM; /* before snprintf, which may change it */

		snprintf(r->last_err, sizeof(r->last_err), "sending to %s: %s", r->path, strerror(why));
		if (why == EMSGSIZE)
			r->stop_sending = 1;
		/* Wait the full time anyway: a listener that is restarting gets
		 * the chance to come back before the next try. */
		return;
	}
	r->st[n] = S_PENDING;
}

/* The send a reply answers: by its "req"; a reply without one (a ping, a
 * text the listener could not read) answers the oldest unanswered send. */
static long match(struct run *r, struct json_object *reply)
{
	struct json_object *rq;
	const char *q, *dash;
	char *end;
	long n;

	if (!json_object_object_get_ex(reply, "req", &rq) || !r->g.root) {
		for (n = 0; n < r->next; n++)
			if (r->st[n] == S_PENDING)
				return n;
		return -1;
	}
	q = json_object_get_string(rq);
	dash = q ? strrchr(q, '-') : NULL;
	if (!dash || (size_t)(dash - q) != strlen(r->g.tag) || strncmp(q, r->g.tag, strlen(r->g.tag)) != 0)
		return -1;
	n = strtol(dash + 1, &end, 10);
	return *end == '\0' && n >= 0 && n < r->next ? n : -1;
}

/* One reply: 1 when it says committed (ids printed), else 0. */
static int on_reply(struct run *r, const char *text)
{
	struct json_object *o = json_tokener_parse(text), *ok, *jobs, *err;
	const char *msg;
	long n;

	if (!o || !json_object_object_get_ex(o, "ok", &ok) || (n = match(r, o)) < 0) {
		if (o)
			json_object_put(o);
		return 0; /* not an answer to any of our sends */
	}
	if (json_object_get_boolean(ok)) {
		if (json_object_object_get_ex(o, "jobs", &jobs) && json_object_is_type(jobs, json_type_array))
			for (size_t i = 0; i < json_object_array_length(jobs); i++)
				printf("%lld\n", (long long)json_object_get_int64(json_object_array_get_idx(jobs, i)));
		json_object_put(o);
		return 1;
	}
	msg = json_object_object_get_ex(o, "error", &err) ? json_object_get_string(err) : text;
	snprintf(r->last_err, sizeof(r->last_err), "%.400s", msg ? msg : "error");
	/* "queue busy" (a locked SQLite file) and "queue unavailable" (a
	 * PostgreSQL server out of reach): nothing committed, the same key
	 * again after a pause. */
	if (strcmp(r->last_err, "queue busy") == 0 || strncmp(r->last_err, "queue unavailable", 17) == 0)
		r->st[n] = S_BUSY;
	else if (strstr(r->last_err, "commit failed"))
		r->st[n] = S_UNKNOWN;
	else
		r->st[n] = S_REFUSED;
	if (r->st[n] == S_REFUSED) {
		r->stop_sending = 1; /* bad input: sending it again cannot help */
	} else if (n == r->next - 1) {
		long long back = (long long)BACKOFF_MS << (n < 4 ? n : 4);
		r->send_at = now_ms() + (back < BACKOFF_MAX_MS ? back : BACKOFF_MAX_MS);
	}
	json_object_put(o);
	return 0;
}

/* Send, wait, send again, until a reply says committed (1), or nothing
 * more can be learnt (0), or the socket fails (-1). */
static int exchange(struct run *r)
{
	char reply[MAX_REPLY];

	for (;;) {
		long long now = now_ms(), wake = 0;
		int more = !r->stop_sending && r->next < r->max, got;

		if (more && now >= r->send_at) {
			send_one(r);
			continue;
		}
		for (long n = 0; n < r->next; n++)
			if (r->st[n] == S_PENDING && r->deadline[n] > wake)
				wake = r->deadline[n];
		if (more)
			wake = r->send_at;
		else if (wake <= now)
			return 0; /* every send answered, or given up */
		got = wait_reply(r->fd, r->connected, wake, reply, sizeof(reply));
		if (got < 0) {
			snprintf(r->last_err, sizeof(r->last_err), "receiving: %s", strerror(errno));
			return -1;
		}
		if (got > 0 && on_reply(r, reply))
			return 1;
	}
}

/* Nothing said committed: 1 when nothing was (every send that reached the
 * listener was answered busy or refused), else 3 with the key to resend. */
static int verdict(struct run *r)
{
	long open = 0, unknown = 0;

	for (long n = 0; n < r->next; n++) {
		open += r->st[n] == S_PENDING;
		unknown += r->st[n] == S_UNKNOWN;
	}
	if (!open && !unknown) {
		fprintf(stderr, "krigd submit: %s\n", r->last_err);
		return 1;
	}
	fprintf(stderr, "krigd submit: outcome unknown: %ld of %ld sends unanswered%s (last: %s); ", open, r->next,
		unknown ? ", a commit failed" : "", r->last_err);
	if (r->g.key[0])
		fprintf(stderr, "resend with the same key: %s\n", r->g.key);
	else if (r->g.root)
		fprintf(stderr, "the trigger has no string key: check the queue before resending\n");
	else
		fprintf(stderr, "a ping can be sent again (pings coalesce)\n");
	return EXIT_UNKNOWN;
}

static int parse_args(int argc, char **argv, const char **path, long *wait_ms, long *retries)
{
	struct opts p;
	struct opt_val v;
	int id;

	opts_begin(&p, &submit_cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		switch (id) {
		case OPT_SOCKET: *path = v.arg; break;
		case OPT_WAIT_MS: *wait_ms = (long)v.num; break;
		case OPT_RETRIES: *retries = (long)v.num; break;
		default: return cli_unhandled(&p, &v), 2;
		}
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (!*path || argc - optind > 1) {
		fprintf(stderr, "krigd submit: %s\n", *path ? "one trigger at a time" : "--socket is required");
		return 2;
	}
	return -1;
}

int cmd_submit(int argc, char **argv)
{
	struct run r = { .fd = -1, .sa = { .sun_family = AF_UNIX } };
	struct sockaddr_un me = { .sun_family = AF_UNIX };
	long retries = 0;
	char *in = NULL;
	size_t inlen = 0;
	int rc, status = 1;

	if ((rc = parse_args(argc, argv, &r.path, &r.wait_ms, &retries)) >= 0)
		return rc;
	if (strlen(r.path) >= sizeof(r.sa.sun_path)) {
		fprintf(stderr, "krigd submit: socket path too long\n");
		return 2;
	}
	memcpy(r.sa.sun_path, r.path, strlen(r.path));
	if (optind == argc || strcmp(argv[optind], "-") == 0) {
		struct error e;

		error_clear(&e);
		if (readfile_capped("-", MAX_INPUT, &in, &inlen, &e) < 0) {
			fprintf(stderr, "krigd submit: the trigger on standard input: %s\n", e.msg);
			return 1;
		}
	} else {
		inlen = strlen(argv[optind]);
		in = strdup(argv[optind]);
	}
	r.max = retries + 1;
	r.st = calloc((size_t)r.max, sizeof(*r.st));
	r.deadline = calloc((size_t)r.max, sizeof(*r.deadline));
	if (!in || !r.st || !r.deadline) {
		fprintf(stderr, "krigd submit: out of memory\n");
		goto out;
	}
	outgoing_init(&r.g, in, inlen);
	snprintf(r.last_err, sizeof(r.last_err), "no reply from the listener");
	if ((r.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    /* Autobind: the kernel picks a unique abstract address to reply to. */
	    bind(r.fd, (struct sockaddr *)&me, sizeof(sa_family_t)) < 0) {
		fprintf(stderr, "krigd submit: socket: %s\n", strerror(errno));
		goto out;
	}
	{
		int sndbuf = (int)(inlen * 2 + 65536);
		struct timeval tv = { .tv_sec = r.wait_ms / 1000, .tv_usec = (r.wait_ms % 1000) * 1000 };
		setsockopt(r.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		/* A full listener queue blocks the send; not past one wait. */
		setsockopt(r.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	r.send_at = now_ms();
	status = exchange(&r) == 1 ? 0 : verdict(&r);
out:
	if (r.fd >= 0)
		close(r.fd);
	if (r.g.root)
		json_object_put(r.g.root);
	free(r.st);
	free(r.deadline);
	free(in);
	return status;
}

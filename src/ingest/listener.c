/* listener.c - see listener.h.
 *
 * Design: two threads and a bounded ring between them.
 *  - The reader thread only receives: it drains the socket (non-blocking
 *    recvmsg until EAGAIN, then poll) and appends each datagram, with its
 *    sender's address and SCM_CREDENTIALS uid, to the ring.  The kernel
 *    queues only ~10 datagrams per socket (net.unix.max_dgram_qlen), so it
 *    must keep reading while the other thread waits for fsync.
 *  - The committer thread (the caller of listener_run) takes everything in
 *    the ring (up to max_batch), validates each datagram, enqueues the good
 *    ones in ONE transaction, COMMITs (one fsync for the whole batch: group
 *    commit), then replies to each sender.  While it commits, the reader
 *    fills the ring with the next batch.
 * The ring is bounded in datagrams and bytes; when full the reader waits,
 * the kernel queue fills and senders block: back-pressure, never unbounded
 * memory.  Replies are sent with MSG_DONTWAIT, so a sender never stalls the
 * listener.  A sender's queue holds only ~10 datagrams too, so a client with
 * more triggers in flight can find it full when a batch answers them all at
 * once: such replies wait in a bounded backlog, retried each millisecond
 * for REPLY_RETRY_MS (as long as `krigd submit` waits), then dropped (a
 * sender that does not read loses its reply; the client's resend with the
 * same key gets it again).  Each sender gets a fair share of the backlog:
 * when it is full, a sender with fewer replies waiting takes the place of
 * the newest reply of the sender with the most, so senders that never read
 * cannot crowd out the replies of those that do.  Checkpoints
 * run when the ring stays empty (idle) or every CKPT_BATCHES batches, after
 * the replies. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "error.h"
#include "listener.h"
#include "log.h"
#include "lsock.h"
#include "queue.h"
#include "render.h"
#include "trigger.h"

#define RING_SLOTS 4096                  /* datagrams waiting for the committer */
#define RING_BYTES (64u * 1024 * 1024)   /* bytes waiting for the committer */
#define CKPT_BATCHES 256                 /* checkpoint at least this often under load */
#define REPLY_BACKLOG 4096               /* replies waiting for room in their sender's queue */
#define REPLY_RETRY_MS 10000             /* then dropped: as long as `krigd submit` waits (--wait-ms) */
#define REPLY_STOP_MS 1000               /* at exit, at most this long for the backlog */
#define SENDER_SLOTS (2 * REPLY_BACKLOG) /* hash of the senders with replies in the backlog */

struct dgram {
	char *buf;          /* malloc'd, len bytes (+ NUL) */
	size_t len;         /* bytes kept */
	size_t real_len;    /* bytes sent (MSG_TRUNC) */
	long long uid;      /* sender uid, -1 if the kernel gave none */
	struct sockaddr_un addr;
	socklen_t addrlen;
};

struct ring {
	pthread_mutex_t mu;
	pthread_cond_t nonempty, nonfull;
	struct dgram slot[RING_SLOTS];
	size_t head, count, bytes;
	int stop;        /* committer asks the reader to stop */
	int reader_done; /* reader has stopped; nothing more will arrive */
	int reader_err;  /* errno of a fatal receive error */
};

/* A reply whose sender's queue was full. */
struct late_reply {
	char *msg;          /* malloc'd JSON */
	size_t len;
	struct sockaddr_un addr;
	socklen_t addrlen;
	struct timespec first; /* CLOCK_MONOTONIC of the first try */
};

/* A sender with replies in the backlog (open addressing; a slot is in use
 * when its gen is the table's: emptying the table is gen++). */
struct sender {
	unsigned gen;
	unsigned queued;    /* its replies in the backlog */
	socklen_t len;
	struct sockaddr_un addr;
};

struct listener {
	const struct listener_opts *o;
	int fd;
	struct late_reply *late;  /* REPLY_BACKLOG slots, the first n_late in use, oldest first */
	size_t n_late;
	/* Senders that have replies in the backlog: a new reply to one of them
	 * queues behind the old ones, in order; anyone else's is sent at once.
	 * Counted again by each flush_late. */
	struct sender *senders;   /* SENDER_SLOTS */
	unsigned gen;
	size_t n_senders;
	struct ring ring;
	struct queue *q;
	struct trigger_limits lim;
	long long rows;           /* jobs rows: counted at most once a second, plus what we added since */
	struct timespec rows_at;  /* when rows was last counted (CLOCK_MONOTONIC); 0: never */
};

void listener_opts_default(struct listener_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->socket_mode = 0660;
	o->max_datagram = 192 * 1024;
	o->max_batch = 1024;
	o->max_queue_rows = 1000000;
	trigger_limits_default(&o->lim);
	queue_opts_default(&o->queue);
	o->queue.create = 1; /* only listen, drain and serve create or migrate a queue */
}

/* ---- reader thread --------------------------------------------------- */

static int ring_push(struct ring *r, struct dgram *d)
{
	pthread_mutex_lock(&r->mu);
	/* Bounded: wait for room, but never drop what was already received. */
	while (!r->stop && r->count > 0 && (r->count == RING_SLOTS || r->bytes + d->len > RING_BYTES))
		pthread_cond_wait(&r->nonfull, &r->mu);
	if (r->count == RING_SLOTS) { /* stopping with a full ring: wait for one slot */
		while (r->count == RING_SLOTS)
			pthread_cond_wait(&r->nonfull, &r->mu);
	}
	r->slot[(r->head + r->count) % RING_SLOTS] = *d;
	r->count++;
	r->bytes += d->len;
	pthread_cond_signal(&r->nonempty);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static int ring_stopping(struct ring *r)
{
	int s;
	pthread_mutex_lock(&r->mu);
	s = r->stop;
	pthread_mutex_unlock(&r->mu);
	return s;
}

static void *reader_main(void *arg)
{
	struct listener *l = arg;
	size_t cap = l->o->max_datagram + 1;
	char *buf = malloc(cap);
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	int err = 0;

	if (!buf)
		err = ENOMEM;
	while (!err && !ring_stopping(&l->ring)) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
		/* A short time-out, so a stop request is seen promptly. */
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR) {
			err = errno;
			break;
		}
		for (int n = 0; n < 256 && !ring_stopping(&l->ring); n++) {
			struct dgram d = { .uid = -1 };
			struct iovec iov = { .iov_base = buf, .iov_len = cap };
			struct msghdr mh = {
				.msg_name = &d.addr, .msg_namelen = sizeof(d.addr),
				.msg_iov = &iov, .msg_iovlen = 1,
				.msg_control = ctl.b, .msg_controllen = sizeof(ctl.b),
			};
			/* MSG_TRUNC: the return value is the datagram's real length, so
			 * an over-long one is detected, not silently cut. */
			ssize_t got = recvmsg(l->fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);

			if (got < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
					err = errno;
				break;
			}
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
					struct ucred uc;
					memcpy(&uc, CMSG_DATA(c), sizeof(uc));
					d.uid = uc.uid;
				} else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
					/* A sender passed file descriptors: close them. */
					int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
					for (int k = 0; k < nfd; k++) {
						int fd;
						memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
						close(fd);
					}
				}
			d.addrlen = mh.msg_namelen;
			d.real_len = (size_t)got;
			d.len = (size_t)got > l->o->max_datagram ? 0 : (size_t)got;
			if (!(d.buf = malloc(d.len + 1))) {
				err = ENOMEM;
				break;
			}
			memcpy(d.buf, buf, d.len);
			d.buf[d.len] = '\0';
			ring_push(&l->ring, &d);
		}
	}
	free(buf);
	pthread_mutex_lock(&l->ring.mu);
	l->ring.reader_done = 1;
	l->ring.reader_err = err;
	pthread_cond_broadcast(&l->ring.nonempty);
	pthread_mutex_unlock(&l->ring.mu);
	return NULL;
}

/* ---- committer ------------------------------------------------------- */

struct item {
	struct dgram d;
	struct trigger t;
	int parsed;           /* t holds a trigger to enqueue */
	int ok;
	long long id;
	char req[TRIGGER_REQ_MAX + 1];
	char error[ERROR_MSG_MAX];
};

/* 1 with e filled when an inline trigger's estimated cost is above
 * --max-job-cost.  What cannot be estimated here (a boundary this listener
 * does not know) is left to the drain, which checks every job. */
static int cost_refused(const struct listener_opts *o, const struct trigger *t, struct error *e)
{
	struct render_opts ro;
	struct render_job rj;
	struct error ie;
	double cost;

	if (o->max_job_cost <= 0 || t->kind != TRIGGER_INLINE)
		return 0;
	memset(&ro, 0, sizeof(ro));
	ro.boundary = o->boundary;
	ro.boundary_dir = o->boundary_dir;
	memset(&rj, 0, sizeof(rj));
	rj.index = t->index;
	rj.frames = &t->frames;
	rj.boundary = t->boundary;
	rj.boundary_name = t->boundary_name;
	rj.options = t;
	if (render_job_cost(&ro, &rj, &cost, &ie) < 0)
		return 0;
	return render_cost_check(cost, o->max_job_cost, e) < 0;
}

static int uid_allowed(const struct listener_opts *o, long long uid)
{
	if (!o->allow_uid || o->n_allow == 0)
		return 1;
	for (size_t i = 0; i < o->n_allow; i++)
		if ((long long)o->allow_uid[i] == uid)
			return 1;
	return 0;
}

static void validate(struct listener *l, struct item *it)
{
	struct error e = { 0 };

	if (!uid_allowed(l->o, it->d.uid)) {
		snprintf(it->error, sizeof(it->error), "sender uid %lld is not allowed", it->d.uid);
		return;
	}
	if (it->d.real_len > l->o->max_datagram) {
		snprintf(it->error, sizeof(it->error), "datagram too large: %zu bytes; the limit is %zu",
			 it->d.real_len, l->o->max_datagram);
		return;
	}
	if (trigger_parse(&it->t, it->d.buf, it->d.len, &l->lim, &e) < 0) {
		trigger_req_of(it->d.buf, it->d.len, it->req, sizeof(it->req));
		snprintf(it->error, sizeof(it->error), "%s", e.msg);
		return;
	}
	if (it->t.req)
		snprintf(it->req, sizeof(it->req), "%s", it->t.req);
	if (cost_refused(l->o, &it->t, &e)) {
		snprintf(it->error, sizeof(it->error), "%s", e.msg);
		trigger_release(&it->t);
		return;
	}
	it->parsed = 1;
}

/* Refresh l->rows from the database when the last count is older than a
 * second (the drain's scans and `purge` change it too); in between, what
 * this listener added is counted in memory, so a flood costs no scans.
 * Called before the batch's transaction (queue_stats has its own). */
static int rows_refresh(struct listener *l, struct error *e)
{
	struct timespec now;
	struct queue_stats st;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (l->rows_at.tv_sec && now.tv_sec - l->rows_at.tv_sec < 1)
		return 0;
	if ((rc = queue_stats(l->q, &st, e)) < 0)
		return rc;
	l->rows = 0;
	for (int s = 0; s < JOB_NSTATES; s++)
		l->rows += st.state[s];
	l->rows_at = now;
	return 0;
}

/* The job item it asks for, in *j.  The payload stored (and compared for
 * a repeated key) is the trigger re-serialised compactly: white space or a
 * trailing newline from a shell pipe does not make "another payload".
 * json-c keeps the key order and the original text of numbers; the text
 * belongs to it->t.root, valid until the batch is answered. */
static int job_of(struct item *it, struct queue_new_job *j, struct error *e)
{
	const char *canon;

	memset(j, 0, sizeof(*j));
	j->sender_uid = it->d.uid;
	if (it->t.kind == TRIGGER_PING) {
		j->kind = "scan";
		j->payload = it->d.buf;
		j->payload_len = it->d.len;
		j->source_id = -1;
		j->max_attempts = 5;
		return 0;
	}
	canon = json_object_to_json_string_ext(it->t.root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!canon)
		return error_set(e, KD_ENOMEM, "out of memory");
	j->kind = "render";
	j->payload = canon;
	j->payload_len = strlen(canon);
	j->key = it->t.key;
	j->source_id = it->t.kind == TRIGGER_SOURCE ? it->t.source_id : -1;
	j->priority = it->t.priority;
	j->max_attempts = it->t.max_attempts;
	return 0;
}

/* Mark every parsed item of the batch failed with msg (nothing of it is in
 * the database: the transaction was rolled back or never began). */
static void fail_parsed(struct item *it, size_t n, const char *msg)
{
	for (size_t i = 0; i < n; i++)
		if (it[i].parsed) {
			it[i].ok = 0;
			snprintf(it[i].error, sizeof(it[i].error), "%s", msg);
		}
}

/* The reply for an error that may pass: a locked database is "queue busy";
 * one that cannot be reached (PostgreSQL) "queue unavailable".  `krigd
 * submit` sends either again with the same key. */
static const char *retry_reply(int rc, const struct error *e, const char *other)
{
	if (rc != KD_EBUSY)
		return other;
	return strncmp(e->msg, "queue unavailable", 17) == 0 ? "queue unavailable" : "queue busy";
}

/* The parsed items as jobs (items refused here get their error): *m jobs,
 * idx[k] the item of jobs[k]. */
static void batch_jobs(struct listener *l, struct item *it, size_t n, struct queue_new_job *jobs,
		       size_t *idx, size_t *m)
{
	struct error e;

	*m = 0;
	for (size_t i = 0; i < n; i++) {
		if (!it[i].parsed)
			continue;
		error_clear(&e);
		if (l->o->max_queue_rows > 0 && l->rows + (long long)*m >= l->o->max_queue_rows)
			error_set(&e, KD_ELIMIT, "queue full: %lld jobs; the limit is %lld", l->rows + (long long)*m,
				  l->o->max_queue_rows);
		else if (job_of(&it[i], &jobs[*m], &e) == 0) {
			idx[(*m)++] = i;
			continue;
		}
		snprintf(it[i].error, sizeof(it[i].error), "%s", e.msg);
	}
}

/* The batch in one transaction: one queue_enqueue_many (on PostgreSQL one
 * multi-row INSERT), so a key reused with another payload fails its own
 * datagram only; the replies are sent after COMMIT. */
static void commit_batch(struct listener *l, struct item *it, size_t n)
{
	struct error e = { 0 };
	struct queue_new_job *jobs = calloc(n, sizeof(*jobs));
	struct queue_enqueued *res = calloc(n, sizeof(*res));
	size_t *idx = calloc(n, sizeof(*idx)), m = 0;
	int rc;

	if (!jobs || !res || !idx) {
		fail_parsed(it, n, "internal error: out of memory");
		goto out;
	}
	if (l->o->max_queue_rows > 0 && (rc = rows_refresh(l, &e)) < 0) {
		log_warn("counting jobs: %s", e.msg);
		fail_parsed(it, n, retry_reply(rc, &e, "internal error: cannot count jobs"));
		goto out;
	}
	batch_jobs(l, it, n, jobs, idx, &m);
	if (m == 0)
		goto out;
	if ((rc = queue_begin(l->q, &e)) < 0 || (rc = queue_enqueue_many(l->q, jobs, m, res, &e)) < 0) {
		log_err("enqueue: %s", e.msg);
		queue_rollback(l->q);
		l->rows_at.tv_sec = 0;
		fail_parsed(it, n, retry_reply(rc, &e, "internal error: could not enqueue"));
		goto out;
	}
	if ((rc = queue_commit(l->q, &e)) < 0) {
		l->rows_at.tv_sec = 0; /* what was counted as added may not be there: count again */
		log_err("commit: %s", e.msg);
		fail_parsed(it, n, retry_reply(rc, &e, "internal error: commit failed"));
		goto out;
	}
	for (size_t k = 0; k < m; k++) {
		struct item *x = &it[idx[k]];
		if (res[k].code < 0) {
			/* This one only (e.g. a key reused with another payload). */
			snprintf(x->error, sizeof(x->error), "%s", res[k].code == KD_EBUSY ? "queue busy" : res[k].msg);
			continue;
		}
		x->ok = 1;
		x->id = res[k].id;
		l->rows += !res[k].existed;
	}
out:
	free(jobs);
	free(res);
	free(idx);
}

static long ms_since(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* Try to send; 1 when the sender's queue is full (try again later). */
static int send_reply(struct listener *l, const char *msg, size_t len, const struct sockaddr_un *addr,
		      socklen_t addrlen)
{
	/* sendto returns the bytes sent; only a failure leaves errno meaningful
	 * (a stale EAGAIN after a success would resend the same reply forever). */
	if (sendto(l->fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)addr, addrlen) >= 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK))
		return 0; /* sent, or an error a retry cannot mend (the sender is gone) */
	return 1;
}

static struct sender *sender_find(struct listener *l, const struct sockaddr_un *addr, socklen_t len, int create);

/* Empty the sender table and count the backlog into it again. */
static void senders_recount(struct listener *l)
{
	l->gen++;
	l->n_senders = 0;
	for (size_t i = 0; i < l->n_late; i++) {
		struct sender *s = sender_find(l, &l->late[i].addr, l->late[i].addrlen, 1);
		if (s)
			s->queued++;
	}
}

/* The sender's slot; with create, a new one (queued 0) when it has none.
 * NULL when absent (or, never in practice, when the table cannot take it). */
static struct sender *sender_find(struct listener *l, const struct sockaddr_un *addr, socklen_t len, int create)
{
	const unsigned char *b = (const unsigned char *)addr;
	uint32_t h = 2166136261u; /* FNV-1a */
	struct sender *s;

	if (create && l->n_senders >= SENDER_SLOTS * 3 / 4 && l->n_late < SENDER_SLOTS / 2)
		senders_recount(l); /* senders with nothing queued any more leave */
	for (socklen_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 16777619u;
	for (size_t k = 0; k < SENDER_SLOTS; k++) {
		s = &l->senders[(h + k) % SENDER_SLOTS];
		if (s->gen != l->gen) {
			if (!create || l->n_senders >= SENDER_SLOTS - 1)
				return NULL;
			memset(s, 0, sizeof(*s));
			s->gen = l->gen;
			s->len = len;
			memcpy(&s->addr, addr, len);
			l->n_senders++;
			return s;
		}
		if (s->len == len && memcmp(&s->addr, addr, len) == 0)
			return s;
	}
	return NULL;
}

/* 1 when the sender has replies waiting: a new one goes behind them. */
static int has_queued(struct listener *l, const struct sockaddr_un *addr, socklen_t len)
{
	struct sender *s = sender_find(l, addr, len, 0);
	return s && s->queued > 0;
}

/* Retry the backlog, oldest first, keeping what still does not fit and is
 * younger than REPLY_RETRY_MS.  Once a sender's queue is found full, its
 * later replies are not tried in this pass (they would fail too, and
 * must not overtake). */
static void flush_late(struct listener *l)
{
	size_t keep = 0;

	l->gen++;
	l->n_senders = 0;
	for (size_t i = 0; i < l->n_late; i++) {
		struct late_reply *r = &l->late[i];
		struct sender *s = sender_find(l, &r->addr, r->addrlen, 1);
		int young = ms_since(&r->first) < REPLY_RETRY_MS;

		if (young && ((s && s->queued) || send_reply(l, r->msg, r->len, &r->addr, r->addrlen))) {
			if (s)
				s->queued++;
			l->late[keep++] = *r;
			continue;
		}
		if (!young)
			log_debug("reply dropped: its sender did not read it for %d ms", REPLY_RETRY_MS);
		free(r->msg);
	}
	l->n_late = keep;
}

/* The backlog is full and `to` needs a place: take it from the newest reply
 * of the sender with the most waiting, when that is more than `to` would
 * then have.  1 when a place was freed. */
static int make_room(struct listener *l, const struct sender *to)
{
	struct sender *max = NULL;
	unsigned mine = to ? to->queued : 0;

	for (size_t k = 0; k < SENDER_SLOTS; k++) {
		struct sender *s = &l->senders[k];
		if (s->gen == l->gen && (!max || s->queued > max->queued))
			max = s;
	}
	if (!max || max->queued <= mine + 1)
		return 0;
	for (size_t i = l->n_late; i-- > 0;) {
		struct late_reply *r = &l->late[i];

		if (r->addrlen == max->len && memcmp(&r->addr, &max->addr, r->addrlen) == 0) {
			free(r->msg);
			memmove(r, r + 1, (l->n_late - i - 1) * sizeof(*r));
			l->n_late--;
			max->queued--;
			log_debug("reply dropped: its sender has %u more waiting and the backlog is full", max->queued);
			return 1;
		}
	}
	return 0;
}

/* Put a reply in the backlog, within the sender's fair share. */
static void queue_late(struct listener *l, const char *msg, const struct sockaddr_un *addr, socklen_t len)
{
	struct sender *s = sender_find(l, addr, len, 1);
	size_t share = REPLY_BACKLOG / (l->n_senders ? l->n_senders : 1);
	struct late_reply *r;

	/* Over its share already: this one goes (so places are taken back
	 * from a sender only for what it got while it had more of a share). */
	if (s && s->queued > 0 && s->queued >= share) {
		log_debug("reply not sent: its sender's queue is full and it has its share of the backlog");
		return;
	}
	if (l->n_late == REPLY_BACKLOG && !make_room(l, s)) {
		log_debug("reply not sent: its sender's queue is full and so is its share of the backlog");
		return;
	}
	r = &l->late[l->n_late];
	if (!(r->msg = strdup(msg)))
		return;
	r->len = strlen(msg);
	r->addr = *addr;
	r->addrlen = len;
	clock_gettime(CLOCK_MONOTONIC, &r->first);
	l->n_late++;
	if (s)
		s->queued++;
}

static void reply(struct listener *l, const struct item *it)
{
	struct json_object *o;
	const char *s;

	/* An unbound sender (address is only the family) cannot get a reply. */
	if (it->d.addrlen <= sizeof(sa_family_t))
		return;
	if (!(o = json_object_new_object()))
		return;
	json_object_object_add(o, "ok", json_object_new_boolean(it->ok));
	if (it->req[0])
		json_object_object_add(o, "req", json_object_new_string(it->req));
	if (it->ok) {
		struct json_object *a = json_object_new_array();
		json_object_array_add(a, json_object_new_int64(it->id));
		json_object_object_add(o, "jobs", a);
	} else {
		json_object_object_add(o, "error", json_object_new_string(it->error));
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	/* A sender with replies queued gets this one behind them, in order. */
	if (has_queued(l, &it->d.addr, it->d.addrlen) || send_reply(l, s, strlen(s), &it->d.addr, it->d.addrlen))
		queue_late(l, s, &it->d.addr, it->d.addrlen);
	json_object_put(o);
}

static void process(struct listener *l, struct item *it, size_t n)
{
	for (size_t i = 0; i < n; i++)
		validate(l, &it[i]);
	commit_batch(l, it, n);
	if (l->n_late)
		flush_late(l); /* the older replies first */
	/* Only now, after the COMMIT (and its fsync), may anyone hear "ok". */
	for (size_t i = 0; i < n; i++) {
		reply(l, &it[i]);
		if (it[i].parsed)
			trigger_release(&it[i].t);
		free(it[i].d.buf);
	}
	if (l->n_late)
		flush_late(l); /* the senders may have read since */
}

static void checkpoint(struct listener *l)
{
	struct error e = { 0 };
	if (queue_idle(l->q, &e) < 0)
		log_debug("checkpoint: %s", e.msg);
}

/* The reply backlog and its sender table: -1 when out of memory (nothing kept). */
static int backlog_alloc(struct listener *l)
{
	l->late = calloc(REPLY_BACKLOG, sizeof(*l->late));
	l->senders = calloc(SENDER_SLOTS, sizeof(*l->senders));
	l->gen = 1;
	l->n_late = l->n_senders = 0;
	if (l->late && l->senders)
		return 0;
	free(l->late);
	free(l->senders);
	l->late = NULL;
	l->senders = NULL;
	return -1;
}

static void backlog_free(struct listener *l)
{
	for (size_t i = 0; i < l->n_late; i++)
		free(l->late[i].msg);
	l->n_late = 0;
	free(l->late);
	free(l->senders);
	l->late = NULL;
	l->senders = NULL;
}

static int serve(struct listener *l, volatile sig_atomic_t *stop, struct error *e)
{
	struct ring *r = &l->ring;
	size_t maxb = l->o->max_batch ? l->o->max_batch : 1024;
	struct item *it = calloc(maxb, sizeof(*it));
	struct timespec stopping;
	int dirty = 0, since_ckpt = 0, err;

	if (!it || backlog_alloc(l) < 0) {
		free(it);
		return error_set(e, KD_ENOMEM, "out of memory");
	}
	for (;;) {
		size_t n = 0;

		pthread_mutex_lock(&r->mu);
		while (r->count == 0 && !r->reader_done) {
			struct timespec ts;
			int timed_out;

			if (*stop && !r->stop) {
				r->stop = 1;
				pthread_cond_broadcast(&r->nonfull);
			}
			clock_gettime(CLOCK_REALTIME, &ts);
			/* Late replies are retried each millisecond. */
			ts.tv_nsec += (l->n_late ? 1 : 100) * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			timed_out = pthread_cond_timedwait(&r->nonempty, &r->mu, &ts) == ETIMEDOUT;
			if (timed_out && r->count == 0 && l->n_late) {
				pthread_mutex_unlock(&r->mu);
				flush_late(l);
				pthread_mutex_lock(&r->mu);
				continue;
			}
			if (timed_out && dirty && r->count == 0) {
				/* Idle: checkpoint now, off the reply path. */
				pthread_mutex_unlock(&r->mu);
				checkpoint(l);
				dirty = since_ckpt = 0;
				pthread_mutex_lock(&r->mu);
			}
		}
		if (r->count == 0 && r->reader_done) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		while (r->count > 0 && n < maxb) {
			memset(&it[n], 0, sizeof(it[n]));
			it[n].d = r->slot[r->head];
			r->bytes -= it[n].d.len;
			r->head = (r->head + 1) % RING_SLOTS;
			r->count--;
			n++;
		}
		pthread_cond_signal(&r->nonfull);
		if (*stop && !r->stop) {
			r->stop = 1;
			pthread_cond_broadcast(&r->nonfull);
		}
		pthread_mutex_unlock(&r->mu);

		process(l, it, n);
		dirty = 1;
		if (++since_ckpt >= CKPT_BATCHES) {
			checkpoint(l);
			since_ckpt = 0;
		}
	}
	free(it);
	/* Stopping: the last replies get up to REPLY_STOP_MS more (not the
	 * whole REPLY_RETRY_MS: a sender that does not read must not hold up
	 * the exit; it resends with its key to the next listener). */
	clock_gettime(CLOCK_MONOTONIC, &stopping);
	while (l->n_late && ms_since(&stopping) < REPLY_STOP_MS) {
		struct timespec ts = { 0, 1000 * 1000 };
		flush_late(l);
		nanosleep(&ts, NULL);
	}
	backlog_free(l);
	if (dirty)
		checkpoint(l);
	err = r->reader_err;
	if (err)
		return error_set(e, KD_EIO, "receiving: %s", strerror(err));
	return 0;
}

int listener_run(const struct listener_opts *o, volatile sig_atomic_t *stop, struct error *e)
{
	struct listener *l = calloc(1, sizeof(*l));
	struct queue_opts qo;
	pthread_t reader;
	sigset_t block, old;
	int rc, inherited = 0, on = 1, rcvbuf = 8 * 1024 * 1024;

	if (!l)
		return error_set(e, KD_ENOMEM, "out of memory");
	l->o = o;
	l->fd = -1;
	l->lim = o->lim;
	l->lim.max_bytes = o->max_datagram;
	qo = o->queue;
	qo.idle_housekeeping = 1;
	/* A database locked past the busy time-out at start (a backup, an
	 * operator's shell) delays the start rather than ending it. */
	while ((rc = queue_open(&l->q, o->db_path, &qo, e)) == KD_EBUSY && !*stop) {
		struct timespec ts = { 0, 500 * 1000000L };
		log_warn("%s; waiting for the database", e->msg);
		nanosleep(&ts, NULL);
	}
	if (rc < 0)
		goto out;
	if ((inherited = lsock_inherited(&l->fd, e)) < 0) {
		rc = inherited;
		goto out;
	}
	if (!inherited && (rc = lsock_create(o->socket_path, o->socket_mode, &l->fd, e)) < 0)
		goto out;
	/* SO_PASSCRED: every datagram carries the sender's kernel-checked
	 * credentials (datagram sockets have no peer to ask). */
	if (setsockopt(l->fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0) {
		rc = error_set(e, KD_EIO, "SO_PASSCRED: %s", strerror(errno));
		goto out_sock;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)); /* best effort */
	/* A reply waiting in a sender's queue is charged to our send buffer
	 * until it is read: a sender that never reads holds up to
	 * net.unix.max_dgram_qlen replies (~7 KB) of it, and with the default
	 * 208 KB some 30 such senders would leave no room to answer anyone.
	 * 8 MB (16 with the kernel's doubling; SO_SNDBUF alone is capped by
	 * net.core.wmem_max) takes over a thousand. */
	if (setsockopt(l->fd, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(l->fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof(rcvbuf)); /* best effort */
	if (o->after_open && (rc = o->after_open(o->after_open_ctx, e)) < 0)
		goto out_sock;
	/* Senders can queue datagrams from here on: say so. */
	if (o->ready)
		o->ready(o->ready_ctx);

	pthread_mutex_init(&l->ring.mu, NULL);
	pthread_cond_init(&l->ring.nonempty, NULL);
	pthread_cond_init(&l->ring.nonfull, NULL);
	/* Signals go to the committer (this thread), which polls *stop. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&reader, NULL, reader_main, l);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		rc = error_set(e, KD_EIO, "pthread_create: %s", strerror(rc));
	} else {
		log_info("listening on %s (database %s)", inherited ? "inherited socket" : o->socket_path,
			 o->db_path);
		rc = serve(l, stop, e);
		pthread_mutex_lock(&l->ring.mu);
		l->ring.stop = 1;
		pthread_cond_broadcast(&l->ring.nonfull);
		pthread_mutex_unlock(&l->ring.mu);
		pthread_join(reader, NULL);
	}
	pthread_cond_destroy(&l->ring.nonfull);
	pthread_cond_destroy(&l->ring.nonempty);
	pthread_mutex_destroy(&l->ring.mu);
out_sock:
	if (!inherited && o->socket_path)
		unlink(o->socket_path);
out:
	if (l->fd >= 0)
		close(l->fd);
	queue_close(l->q);
	free(l);
	return rc;
}

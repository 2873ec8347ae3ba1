/* sender.c - see sender.h */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "sender.h"

struct sender {
	const struct sender_opts *o;
	volatile sig_atomic_t *stop;
	pthread_t tids[SENDER_MAX];
	int up;
	/* Callbacks in flight, one per thread at most, under lock. */
	pthread_mutex_t lock;
	struct flight {
		long long id;
		char origin[256];
	} flight[SENDER_MAX];
	int n_flight;
};

static long long now_s(void)
{
	return (long long)time(NULL);
}

/* Sleep up to ms, returning early when asked to stop. */
static void nap(struct sender *s, int ms)
{
	while (ms > 0 && !*s->stop) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		ms -= 50;
	}
}

/* One attempt at cb, and its outcome recorded: delivered, or failed with
 * the next attempt's time, or given up. */
static void deliver_one(struct sender *s, struct queue *q, struct queue_callback *cb)
{
	const struct sender_opts *o = s->o;
	struct callback_result r;
	struct error e, fe;
	char msg_id[64];
	int rc, give_up;

	/* Stable across attempts, so a receiver can drop duplicates. */
	snprintf(msg_id, sizeof(msg_id), "msg_krigd_%lld_%lld", cb->job_id, cb->id);
	rc = callback_post(o->callback, cb->url, msg_id, cb->body, cb->body_len, o->secret, o->secret_len, &r, &e);
	if (rc == 0) {
		if (queue_outbox_done(q, cb->id, now_s(), (int)r.status, &fe) < 0)
			log_err("callback %lld: delivered, but not recorded: %s", cb->id, fe.msg);
		else
			log_info("job %lld: callback delivered (HTTP %ld)", cb->job_id, r.status);
		return;
	}
	give_up = rc == KD_EINPUT || cb->attempts + 1 >= o->max_attempts;
	if (queue_outbox_failed(q, cb->id, now_s(), (int)r.status, e.msg,
				now_s() + callback_backoff(cb->attempts + 1, r.retry_after, o->backoff_base, 3600),
				give_up, &fe) < 0)
		log_err("callback %lld: %s; recording it failed: %s", cb->id, e.msg, fe.msg);
	else
		log_notice("job %lld: callback attempt %d failed: %s%s", cb->job_id, cb->attempts + 1, e.msg,
			   give_up ? " (giving up)" : "");
}

/* The origin of url, "scheme://host[:port]": everything before the first
 * '/', '?' or '#' after "://" (callback_url_check refused user:password). */
static void url_origin(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://");
	size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);

	snprintf(out, len, "%.*s", (int)n, url);
}

/* Take the next due callback that no sender has, passing over origins that
 * already hold all senders but one: a receiver that hangs can slow its own
 * callbacks, never everyone's.  1 with *cb filled and registered in flight. */
static int take_callback(struct sender *s, struct queue *q, struct queue_callback *cb, struct error *e)
{
	int senders = s->o->senders, share = senders > 1 ? senders - 1 : 1, rc;
	long long ids[SENDER_MAX];
	const char *full[SENDER_MAX];
	struct queue_outbox_skip sk = { ids, 0, full, 0 };

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->n_flight; i++) {
		int same = 0;

		ids[sk.n_ids++] = s->flight[i].id;
		for (int k = 0; k < s->n_flight; k++)
			same += strcmp(s->flight[k].origin, s->flight[i].origin) == 0;
		if (same >= share)
			full[sk.n_origins++] = s->flight[i].origin; /* repeats are harmless */
	}
	rc = queue_outbox_next(q, now_s(), &sk, cb, e);
	if (rc == 1) {
		struct flight *f = &s->flight[s->n_flight++];
		f->id = cb->id;
		url_origin(cb->url, f->origin, sizeof(f->origin));
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static void land_callback(struct sender *s, long long id)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->n_flight; i++)
		if (s->flight[i].id == id) {
			s->flight[i] = s->flight[--s->n_flight];
			break;
		}
	pthread_mutex_unlock(&s->lock);
}

/* One sender thread, with its own connection. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct queue *q = NULL;
	struct queue_callback cb;
	struct error e;
	int rc;

	if (queue_open(&q, s->o->db_path, s->o->queue, &e) < 0) {
		log_err("callback sender: %s", e.msg);
		return NULL;
	}
	while (!*s->stop) {
		memset(&cb, 0, sizeof(cb));
		rc = take_callback(s, q, &cb, &e);
		if (rc < 0)
			log_warn("callback sender: %s", e.msg);
		if (rc <= 0) {
			nap(s, rc < 0 ? 1000 : 100);
			continue;
		}
		deliver_one(s, q, &cb);
		land_callback(s, cb.id);
		queue_callback_release(&cb);
	}
	queue_close(q);
	return NULL;
}

int sender_start(struct sender **out, const struct sender_opts *o, volatile sig_atomic_t *stop, struct error *e)
{
	struct sender *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return error_set(e, KD_ENOMEM, "out of memory");
	s->o = o;
	s->stop = stop;
	pthread_mutex_init(&s->lock, NULL);
	while (s->up < o->senders && s->up < SENDER_MAX &&
	       pthread_create(&s->tids[s->up], NULL, sender_main, s) == 0)
		s->up++;
	if (s->up == 0 && o->senders > 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return error_set(e, KD_EIO, "cannot start the callback sender's threads");
	}
	*out = s;
	return 0;
}

void sender_stop(struct sender *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->up; i++)
		pthread_join(s->tids[i], NULL);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

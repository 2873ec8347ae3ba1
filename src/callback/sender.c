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

/* Nothing due: how long to wait for a wake-up -- until the next retry is
 * due, and never longer than the poll fallback. */
static int idle_ms(struct sender *s, struct queue *q)
{
	long long now, at = 0;
	struct error e;
	int ms = s->o->poll_ms;

	pthread_mutex_lock(s->o->q_lock);
	now = queue_now(q);
	if (queue_outbox_due(q, now, &at, &e) < 0)
		log_warn("callback sender: %s", e.msg);
	pthread_mutex_unlock(s->o->q_lock);
	if (at > now && (at - now) * 1000 < ms)
		ms = (int)((at - now) * 1000);
	return ms;
}

/* One attempt at cb, and its outcome recorded: delivered, or failed with
 * the next attempt's time, or given up. */
static void deliver_one(struct sender *s, struct queue *q, struct queue_callback *cb)
{
	const struct sender_opts *o = s->o;
	struct callback_result r;
	struct error e, fe;
	char msg_id[96];
	int rc, give_up;

	/* Stable across attempts, so a receiver can drop duplicates; the
	 * queue's own id makes it unique across queues (callback ids never
	 * repeat within one). */
	snprintf(msg_id, sizeof(msg_id), "msg_krigd_%s_%lld_%lld", queue_uid(q), cb->job_id, cb->id);
	rc = callback_post(o->callback, cb->url, msg_id, cb->body, cb->body_len, o->secret, o->secret_len, &r, &e);
	pthread_mutex_lock(o->q_lock);
	if (rc == 0) {
		if (queue_outbox_done(q, cb->id, queue_now(q), (int)r.status, &fe) < 0)
			log_err("callback %lld: delivered, but not recorded: %s", cb->id, fe.msg);
		else
			log_info("job %lld: callback delivered (HTTP %ld)", cb->job_id, r.status);
		pthread_mutex_unlock(o->q_lock);
		return;
	}
	give_up = rc == KD_EINPUT || cb->attempts + 1 >= o->max_attempts;
	if (queue_outbox_failed(q, cb->id, queue_now(q), (int)r.status, e.msg,
				queue_now(q) + callback_backoff(cb->attempts + 1, r.retry_after, o->backoff_base, 3600),
				give_up, &fe) < 0)
		log_err("callback %lld: %s; recording it failed: %s", cb->id, e.msg, fe.msg);
	else
		log_notice("job %lld: callback attempt %d failed: %s%s", cb->job_id, cb->attempts + 1, e.msg,
			   give_up ? " (giving up)" : "");
	pthread_mutex_unlock(o->q_lock);
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
	pthread_mutex_lock(s->o->q_lock);
	rc = queue_outbox_next(q, queue_now(q), &sk, cb, e);
	pthread_mutex_unlock(s->o->q_lock);
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
	hub_bump(s->o->hub); /* its origin has room again: the others look */
}

/* One sender thread. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct queue *q = s->o->q;
	struct queue_callback cb;
	struct error e;
	int rc;

	pthread_setname_np(pthread_self(), "kd-sender");
	while (!*s->stop) {
		/* Read before looking: a wake-up while we look is kept. */
		unsigned long seen = hub_gen(s->o->hub);

		memset(&cb, 0, sizeof(cb));
		rc = take_callback(s, q, &cb, &e);
		if (rc < 0) {
			log_warn("callback sender: %s", e.msg);
			hub_wait(s->o->hub, seen, 1000);
			continue;
		}
		if (rc == 0) {
			if (!*s->stop) /* read after seen: a stop's bump is not missed */
				hub_wait(s->o->hub, seen, idle_ms(s, q));
			continue;
		}
		deliver_one(s, q, &cb);
		land_callback(s, cb.id);
		queue_callback_release(&cb);
	}
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

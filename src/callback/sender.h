/* sender.h - the callback sender: threads that take due rows from the
 * queue's outbox and deliver them (callback_post), with the delivery
 * policy: retry with backoff (callback_backoff, honouring Retry-After),
 * give up after max_attempts or at once for a refused URL, and a per-origin
 * share -- one receiver (scheme, host, port) holds at most all senders but
 * one, so a receiver that hangs slows its own callbacks, never the others'.
 * The threads share one queue connection (the caller's, under its lock:
 * a process keeps to workers + 3 connections) and wait on the process's
 * wake-ups (hub.h) -- a callback entering the outbox, a delivery landing --
 * or until the next retry is due, polling only every poll_ms as the
 * fallback for a lost wake-up.  The outbox rows are the only state, so a
 * sender killed mid-delivery leaves a row that is sent again (receivers
 * drop duplicates by the stable webhook-id). */
#ifndef KD_SENDER_H
#define KD_SENDER_H

#include <signal.h>

#include "callback.h"
#include "error.h"
#include "hub.h"
#include "queue.h"

#define SENDER_MAX 64 /* threads at most (--callback-senders) */

struct sender_opts {
	struct queue *q;                      /* shared with the caller ... */
	pthread_mutex_t *q_lock;              /* ... who holds this while using it */
	struct hub *hub;                      /* the process's wake-ups */
	int poll_ms;                          /* at least this often, look anyway */
	const struct callback_opts *callback; /* HTTP limits, allowed hosts */
	const unsigned char *secret;          /* whsec_ key, or NULL: unsigned */
	size_t secret_len;
	int senders;                          /* 1 .. SENDER_MAX */
	int max_attempts;                     /* then the row ends 'failed' */
	long long backoff_base;               /* seconds before the 1st retry, doubled */
};

struct sender;

/* Start o->senders threads, delivering until *stop becomes non-zero (and
 * the hub is bumped: the setter's job).  o and everything it points to
 * must outlive sender_stop.  On error (out of
 * memory, no thread could start) nothing is left running. */
int sender_start(struct sender **out, const struct sender_opts *o, volatile sig_atomic_t *stop, struct error *e);

/* Wait for the threads (after *stop was set: each finishes the delivery
 * in hand) and free s.  NULL is a no-op. */
void sender_stop(struct sender *s);

#endif

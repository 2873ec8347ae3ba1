/* hub.h - one process's wake-ups, shared by its threads.
 *
 * A queue connection's wake-up descriptor (queue_wake_fd) costs a socket on
 * SQLite and a LISTEN connection on PostgreSQL, so a process watches one and
 * passes what it hears to its threads here: a generation number that grows
 * with every wake-up.  A thread reads hub_gen before it looks at the queue
 * and waits with that number, so a wake-up that arrives while it looks is
 * not lost. */
#ifndef KD_HUB_H
#define KD_HUB_H

#include <pthread.h>

struct hub {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	unsigned long gen;
};

void hub_init(struct hub *h);
void hub_destroy(struct hub *h);

/* The current generation. */
unsigned long hub_gen(struct hub *h);

/* A wake-up: every thread in hub_wait returns. */
void hub_bump(struct hub *h);

/* Wait until the generation is no longer seen or ms milliseconds passed;
 * 1 when woken, 0 at the time-out.  Whoever sets a stop flag bumps the hub,
 * so a waiter needs no shorter time-out to notice it. */
int hub_wait(struct hub *h, unsigned long seen, int ms);

#endif

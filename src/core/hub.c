/* hub.c - see hub.h */
#include "config.h"

#include <time.h>

#include "hub.h"

void hub_init(struct hub *h)
{
	pthread_condattr_t a;

	pthread_mutex_init(&h->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &a);
	pthread_condattr_destroy(&a);
	h->gen = 0;
}

void hub_destroy(struct hub *h)
{
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
}

unsigned long hub_gen(struct hub *h)
{
	unsigned long g;

	pthread_mutex_lock(&h->lock);
	g = h->gen;
	pthread_mutex_unlock(&h->lock);
	return g;
}

void hub_bump(struct hub *h)
{
	pthread_mutex_lock(&h->lock);
	h->gen++;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

int hub_wait(struct hub *h, unsigned long seen, int ms)
{
	struct timespec until;
	int woken;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->lock);
	while (h->gen == seen && pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0)
		;
	woken = h->gen != seen;
	pthread_mutex_unlock(&h->lock);
	return woken;
}

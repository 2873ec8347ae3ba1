/* drain.c - see drain.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "callback.h"
#include "drain.h"
#include "error.h"
#include "hub.h"
#include "log.h"
#include "outbox.h"
#include "outfile.h"
#include "queue.h"
#include "render.h"
#include "sender.h"
#include "source.h"
#include "trigger.h"

void drain_opts_default(struct drain_opts *o)
{
	memset(o, 0, sizeof(*o));
	queue_opts_default(&o->queue);
	o->queue.create = 1; /* only listen, drain and serve create or migrate a queue */
	callback_opts_default(&o->callback);
	o->callback_max_attempts = 12;
	o->callback_senders = 4;
	trigger_limits_default(&o->lim);
	o->callback_backoff_base = 5;
	o->url_prefix = "";
	o->workers = 1;
	o->threads = 1;
	o->lease = 30;
	o->poll_ms = 1000;
	o->max_cells = 25000000;
	o->max_scan_jobs = 100000;
	o->max_callback_body = OUTBOX_MAX_BODY;
	o->deliver = 1;
}

/* A worker's current job, shared with the lease timer under `lock`. */
struct slot {
	long long id;             /* 0: idle */
	char token[QUEUE_TOKEN_LEN + 1];
	volatile int lost;        /* the timer could not renew: stop, never finish */
	volatile int cancel;      /* a cancel was requested: stop between frames */
	volatile int overtime;    /* ran past --max-job-seconds: stop, fail the attempt */
	double deadline;          /* mono() when it does, 0: never */
};

struct drain {
	const struct drain_opts *o;
	volatile sig_atomic_t *stop;
	int out_fd;
	pthread_mutex_t lock;
	struct slot *slots;
	int busy;                 /* workers holding a job, under lock */
	long long paused_until;   /* disk full: no claims before this (epoch s), under lock */
	struct outbox_ctx outbox;
	/* The main connection: the main thread and the callback senders share
	 * it under q_lock; its wake-up descriptor is the process's only one,
	 * passed on to every thread through hub. */
	pthread_mutex_t q_lock;
	struct hub hub;
};

struct worker {
	struct drain *d;
	int index;
	struct queue *q;
	struct source *src;
};

/* Workers holding a job right now. */
static int busy(struct drain *d)
{
	int n;

	pthread_mutex_lock(&d->lock);
	n = d->busy;
	pthread_mutex_unlock(&d->lock);
	return n;
}

static long long now_s(void)
{
	return (long long)time(NULL);
}

/* The process's one wake-up watcher (the main thread): up to ms on the
 * main connection's descriptor; a wake-up goes to every thread by the hub. */
static void watch_wakeups(struct drain *d, struct queue *q, int ms)
{
	struct error e;
	struct pollfd p = { .fd = -1, .events = POLLIN };

	pthread_mutex_lock(&d->q_lock);
	p.fd = queue_wake_fd(q, &e);
	pthread_mutex_unlock(&d->q_lock);
	if (p.fd < 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		return;
	}
	if (poll(&p, 1, ms) > 0) {
		pthread_mutex_lock(&d->q_lock);
		queue_wake_clear(q);
		pthread_mutex_unlock(&d->q_lock);
		hub_bump(&d->hub);
	}
}

/* Sleep up to ms, returning early when asked to stop. */
static void nap(struct drain *d, int ms)
{
	while (ms > 0 && !*d->stop) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
		ms -= 50;
	}
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- rendering one job ------------------------------------------------ */

/* Asked before every grid row (from every kriging thread) and scan row. */
static int slot_stop(void *ctx)
{
	struct worker *w = ctx;
	struct slot *s = &w->d->slots[w->index];

	if (s->deadline > 0 && !s->overtime && mono() > s->deadline)
		s->overtime = 1;
	return s->lost || s->cancel || s->overtime || *w->d->stop >= 2;
}

/* Each frame's start and end, at debug level: where a long job is (and,
 * for tests, that a stop from here on lands inside the kriging). */
static void frame_begun(void *ctx, size_t index, size_t total, const char *pubtime)
{
	struct worker *w = ctx;

	log_debug("job %lld: frame %zu of %zu (%.64s): kriging", w->d->slots[w->index].id, index + 1, total, pubtime);
}

static void frame_written(void *ctx, size_t done, size_t total, const char *pubtime)
{
	struct worker *w = ctx;

	log_debug("job %lld: frame %zu of %zu (%.64s): written", w->d->slots[w->index].id, done, total, pubtime);
}

/* Why a job stopped that was not cancelled (KD_ECANCEL from below). */
static int stop_reason(struct worker *w, struct error *e)
{
	struct slot *s = &w->d->slots[w->index];
	char where[sizeof(e->msg) / 2];

	/* where it stopped (the frame and the step), for the log; cut to
	 * half a message */
	memcpy(where, e->msg, sizeof(where) - 1);
	where[sizeof(where) - 1] = '\0';
	if (s->lost)
		return error_set(e, KD_ELEASE, "lease lost");
	if (s->overtime)
		return error_set(e, KD_EIO, "the attempt ran past --max-job-seconds (%d s; %s)",
				 w->d->o->max_job_seconds, where);
	return error_set(e, KD_EIO, "drain stopped while rendering (%s)", where);
}

/* img_list for the source row: {"pubtime": "<url-prefix><path>"}. */
static char *img_list_json(const char *prefix, struct json_object *result)
{
	struct json_object *out = json_object_new_object(), *images = json_object_object_get(result, "images");
	char *s;

	json_object_object_foreach(images, pubtime, path) {
		size_t n = strlen(prefix) + strlen(json_object_get_string(path)) + 1;
		char *url = malloc(n);
		if (!url)
			continue;
		snprintf(url, n, "%s%s", prefix, json_object_get_string(path));
		json_object_object_add(out, pubtime, json_object_new_string(url));
		free(url);
	}
	s = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	return s;
}

static int run_render(struct worker *w, const struct queue_job *job, char **result_out, struct error *e)
{
	const struct drain_opts *o = w->d->o;
	struct trigger_limits lim;
	struct trigger t;
	struct frame_set src_frames = { 0, NULL };
	struct render_opts ro;
	struct render_job rj;
	struct json_object *result = NULL;
	char dir[32], *map_index = NULL, *imgs = NULL;
	double cost;
	int rc;

	/* The payload was accepted once, under the listener's limits (which
	 * may be set higher than ours): hold it only to what it is. */
	trigger_limits_default(&lim);
	lim.max_bytes = job->payload_len + 1;
	lim.max_depth = 256;
	lim.max_frames = job->payload_len;
	/* Points are bounded by the bytes already; "nmax" is checked against
	 * max_points too, and a short source_id payload may ask for any nmax
	 * the listener's --max-points allowed. */
	lim.max_points = INT32_MAX;
	if ((rc = trigger_parse(&t, job->payload, job->payload_len, &lim, e)) < 0)
		return error_prefix(e, "payload: ");
	memset(&rj, 0, sizeof(rj));
	snprintf(dir, sizeof(dir), "%lld", job->id);
	rj.dir = dir;
	rj.options = &t;
	if (t.kind == TRIGGER_SOURCE) {
		if (!w->src) {
			rc = error_set(e, KD_EINPUT, "job names source row %lld but no --source is configured",
				       t.source_id);
			goto out;
		}
		if ((rc = source_fetch(w->src, t.source_id, &map_index, &src_frames, e)) < 0)
			goto out;
		rj.index = map_index;
		rj.frames = &src_frames;
	} else if (t.kind == TRIGGER_INLINE) {
		rj.index = t.index;
		rj.frames = &t.frames;
		rj.boundary = t.boundary;
		rj.boundary_name = t.boundary_name;
	} else {
		rc = error_set(e, KD_EINPUT, "a render job whose payload is a ping");
		goto out;
	}

	memset(&ro, 0, sizeof(ro));
	ro.out_fd = w->d->out_fd;
	ro.boundary = o->boundary;
	ro.boundary_dir = o->boundary_dir;
	ro.threads = o->threads;
	ro.max_cells = o->max_cells;
	ro.nbhd = o->nbhd;
	ro.legend = o->legend;
	ro.colors = o->colors;
	ro.outputs = o->outputs;
	ro.lang = o->lang;
	ro.cancelled = slot_stop;
	ro.cancel_ctx = w;
	ro.frame_begin = frame_begun;
	ro.progress = frame_written;
	ro.progress_ctx = w;
	/* Too costly is permanent: a source row is estimated here, once its
	 * frames are known (the listener did it for inline triggers). */
	if ((rc = render_job_cost(&ro, &rj, &cost, e)) < 0 || (rc = render_cost_check(cost, o->max_job_cost, e)) < 0)
		goto out;
	if ((rc = render_job(&ro, &rj, &result, e)) < 0) {
		if (rc == KD_ECANCEL && !w->d->slots[w->index].cancel)
			rc = stop_reason(w, e);
		goto out;
	}
	/* Files are durable; now the write-back, which is idempotent, so a
	 * crash between it and the finish only repeats it. */
	if (t.kind == TRIGGER_SOURCE) {
		if (!(imgs = img_list_json(o->url_prefix, result))) {
			rc = error_set(e, KD_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = source_write_back(w->src, t.source_id, imgs, e)) < 0)
			goto out;
	}
	*result_out = strdup(json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN |
									    JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!*result_out)
		rc = error_set(e, KD_ENOMEM, "out of memory");
out:
	json_object_put(result);
	frames_release(&src_frames);
	free(map_index);
	free(imgs);
	trigger_release(&t);
	return rc;
}

/* ---- expanding a scan ------------------------------------------------- */

/* Rows found by a scan are queued in batches: one transaction (one fsync)
 * per SCAN_BATCH rows instead of one per row, yet the write lock is never
 * held while the source is read, so ingest waits at most for one batch. */
#define SCAN_BATCH 256
#define SCAN_GAP_MS 3

struct scan_ctx {
	struct worker *w;
	long long made, seen;
	long long ids[SCAN_BATCH];
	int n;
};

/* Queue the buffered rows that have no job yet, in one transaction.  At the
 * --max-scan-jobs limit what was queued is committed and KD_ELIMIT says so. */
static int scan_flush(struct scan_ctx *sc, struct error *e)
{
	struct queue *q = sc->w->q;
	size_t limit = sc->w->d->o->max_scan_jobs;
	long long made = 0;
	int rc = 0;

	if (sc->n == 0)
		return 0;
	if ((rc = queue_begin(q, e)) < 0)
		return rc;
	for (int i = 0; i < sc->n; i++) {
		struct queue_new_job nj;
		char payload[64];
		long long jid;
		int existed;

		if ((rc = queue_source_has_job(q, sc->ids[i], e)) != 0) {
			if (rc < 0)
				goto fail;
			rc = 0;
			continue;
		}
		if ((size_t)(sc->made + made) >= limit) {
			rc = error_set(e, KD_ELIMIT,
				       "scan stopped at the limit of %zu new jobs per ping (--max-scan-jobs): those %lld "
				       "jobs are queued; the other unrendered rows wait for the next ping",
				       limit, sc->made + made);
			break;
		}
		memset(&nj, 0, sizeof(nj));
		nj.kind = "render";
		nj.payload = payload;
		nj.payload_len = (size_t)snprintf(payload, sizeof(payload), "{\"source_id\":%lld}", sc->ids[i]);
		nj.source_id = sc->ids[i];
		nj.max_attempts = 5;
		nj.sender_uid = -1;
		if ((rc = queue_enqueue(q, &nj, &jid, &existed, e)) < 0)
			goto fail;
		made++;
	}
	{
		struct error ce;
		int crc = queue_commit(q, &ce);

		if (crc < 0) {
			*e = ce;
			return crc;
		}
	}
	sc->made += made;
	sc->n = 0;
	/* The lock is free for a moment only between two batches: leave it
	 * free for a few ms, so a writer waiting for it (an operator's cancel,
	 * the listener, another worker) is let in instead of starved until its
	 * --busy-timeout while a big table is scanned. */
	{
		struct timespec gap = { 0, SCAN_GAP_MS * 1000000L };

		nanosleep(&gap, NULL);
	}
	return rc;
fail:
	queue_rollback(q);
	return rc;
}

static int scan_row(void *ctx, long long id, struct error *e)
{
	struct scan_ctx *sc = ctx;

	/* A scan of a big table is stopped by a cancel or a stop like a render. */
	if (slot_stop(sc->w))
		return error_set(e, KD_ECANCEL, "scan cancelled after %lld rows", sc->seen);
	sc->seen++;
	sc->ids[sc->n++] = id;
	return sc->n == SCAN_BATCH ? scan_flush(sc, e) : 0;
}

static int run_scan(struct worker *w, char **result_out, struct error *e)
{
	struct scan_ctx *sc;
	long long skipped;
	char buf[128];
	int rc;

	if (!w->src)
		return error_set(e, KD_EINPUT, "a ping arrived but no --source is configured to scan");
	if (!(sc = calloc(1, sizeof(*sc))))
		return error_set(e, KD_ENOMEM, "out of memory");
	sc->w = w;
	rc = source_list_unrendered(w->src, scan_row, sc, e);
	if (rc == 0)
		rc = scan_flush(sc, e);
	if (rc < 0) {
		free(sc);
		return rc;
	}
	skipped = source_list_skipped(w->src);
	snprintf(buf, sizeof(buf), "{\"rows\":%lld,\"jobs\":%lld,\"skipped\":%lld}", sc->seen, sc->made, skipped);
	if (skipped)
		log_warn("scan: %lld unrendered row%s skipped: id_num is not an integer", skipped,
			 skipped == 1 ? "" : "s");
	log_info("scan: %lld unrendered rows, %lld new jobs", sc->seen, sc->made);
	free(sc);
	*result_out = strdup(buf);
	return *result_out ? 0 : error_set(e, KD_ENOMEM, "out of memory");
}

/* ---- the worker loop --------------------------------------------------- */

static void slot_set(struct worker *w, const struct queue_job *job)
{
	struct slot *s = &w->d->slots[w->index];

	pthread_mutex_lock(&w->d->lock);
	s->id = job ? job->id : 0;
	if (job)
		memcpy(s->token, job->lease_token, sizeof(s->token));
	s->lost = s->cancel = s->overtime = 0;
	s->deadline = job && w->d->o->max_job_seconds > 0 ? mono() + w->d->o->max_job_seconds : 0;
	w->d->busy += job ? 1 : -1;
	pthread_mutex_unlock(&w->d->lock);
}


/* How long the drain claims nothing after a write found the disk full. */
#define DISK_PAUSE_S 10

/* A write failed because the disk (or the quota) is full.  The errno is
 * matched in the message: output errors reach us as KD_EIO with
 * strerror() in them, from outfile.c, pngout.c and render.c alike. */
static int disk_full(const struct error *e)
{
	return e->code == KD_EIO && (strstr(e->msg, strerror(ENOSPC)) || strstr(e->msg, strerror(EDQUOT)));
}

/* Not the job's fault: give it back without spending an attempt, and
 * pause every worker's claims for DISK_PAUSE_S (stats shows it). */
static void pause_for_disk(struct worker *w, const struct queue_job *job, const struct error *why)
{
	struct drain *d = w->d;
	long long until = now_s() + DISK_PAUSE_S;
	struct error fe;
	char msg[ERROR_MSG_MAX];

	snprintf(msg, sizeof(msg), "disk full (%.400s): the drain paused %d s; no attempt spent", why->msg,
		 DISK_PAUSE_S);
	pthread_mutex_lock(&d->lock);
	if (d->paused_until < until)
		d->paused_until = until;
	pthread_mutex_unlock(&d->lock);
	if (queue_release(w->q, job->id, job->lease_token, queue_now(w->q), queue_now(w->q) + DISK_PAUSE_S, msg, &fe) < 0)
		log_err("job %lld: %s; giving it back failed too: %s", job->id, msg, fe.msg);
	if (queue_set_paused(w->q, until, &fe) < 0)
		log_warn("drain: recording the pause: %s", fe.msg);
	log_warn("drain: disk full (%s); job %lld goes back to pending without spending an attempt, "
		 "and no job is claimed for %d s", why->msg, job->id, DISK_PAUSE_S);
}

/* 1 while paused for a full disk; clears the pause (and its record) once over. */
static int paused(struct worker *w)
{
	struct drain *d = w->d;
	long long until;
	struct error e;

	pthread_mutex_lock(&d->lock);
	until = d->paused_until;
	if (until && until <= now_s())
		d->paused_until = 0;
	pthread_mutex_unlock(&d->lock);
	if (!until)
		return 0;
	if (until > now_s())
		return 1;
	if (queue_set_paused(w->q, 0, &e) < 0)
		log_warn("drain: recording the end of the pause: %s", e.msg);
	log_notice("drain: the disk-full pause is over; claiming jobs again");
	return 0;
}

static void process(struct worker *w, struct queue_job *job)
{
	struct slot *s = &w->d->slots[w->index];
	struct error e, fe;
	char *result = NULL;
	double t0 = mono();
	int rc, state;

	error_clear(&e);
	error_clear(&fe);
	slot_set(w, job);
	log_info("job %lld: %s, attempt %d of %d", job->id, job->kind, job->attempts, job->max_attempts);
	if (strcmp(job->kind, "scan") == 0)
		rc = run_scan(w, &result, &e);
	else
		rc = run_render(w, job, &result, &e);
	if (rc == KD_ECANCEL && !s->cancel)
		rc = stop_reason(w, &e);
	if (rc == 0) {
		/* Another writer holding the database past the busy time-out: the
		 * files are durable and the write-back done, so keep the slot (the
		 * timer keeps renewing the lease) and try again, rather than let
		 * the lease lapse and a reclaim count a rendered job as failed. */
		int tries = 0;

		while ((rc = queue_finish(w->q, job->id, job->lease_token, queue_now(w->q), result, mono() - t0, &fe)) ==
			       KD_EBUSY && !s->lost && !*w->d->stop) {
			if (tries++ == 0)
				log_warn("job %lld: rendered, but could not be marked done yet (%s); retrying", job->id,
					 fe.msg);
			nap(w->d, 200);
		}
		if (rc == KD_ELEASE)
			log_warn("job %lld: rendered, but its lease was lost; the new owner finishes it", job->id);
		else if (rc < 0)
			log_err("job %lld: rendered, but could not be marked done (%s); it runs again when its lease ends",
				job->id, fe.msg);
		else
			log_info("job %lld: done in %.2f s", job->id, mono() - t0);
	} else if (rc == KD_ELEASE || s->lost) {
		log_warn("job %lld: lease lost; leaving the job to its new owner", job->id);
	} else if (!s->cancel && disk_full(&e)) {
		pause_for_disk(w, job, &e);
	} else {
		if (queue_fail(w->q, job->id, job->lease_token, queue_now(w->q), s->cancel ? KD_ECANCEL : rc, e.msg, &state,
			       &fe) < 0)
			log_err("job %lld: failed (%s), and recording that failed too: %s", job->id, e.msg, fe.msg);
		else
			log_notice("job %lld: %s (%s) -> %s", job->id, e.msg, error_name(rc), queue_state_name(state));
	}
	slot_set(w, NULL);
	free(result);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct drain *d = w->d;
	struct queue_job job;
	struct error e;
	int rc;

	while (!*d->stop) {
		if (paused(w)) {
			nap(d, 250);
			continue;
		}
		unsigned long seen = hub_gen(&d->hub); /* before the claim: a wake-up during it is kept */

		memset(&job, 0, sizeof(job));
		rc = queue_claim(w->q, queue_now(w->q), d->o->lease, &job, &e);
		if (rc < 0) {
			log_warn("worker %d: claim: %s", w->index, e.msg);
			nap(d, 1000);
			continue;
		}
		if (rc == 0) {
			/* Nothing due: wait for a commit's wake-up, or for the fallback
			 * period (jobs due later, a lost wake-up). */
			if (!*d->stop) /* read after seen: a stop's bump is not missed */
				hub_wait(&d->hub, seen, d->o->poll_ms);
			continue;
		}
		process(w, &job);
		queue_job_release(&job);
	}
	return NULL;
}

/* ---- the lease timer ---------------------------------------------------- */

/* How often running jobs are asked whether a cancel was requested: a cancel
 * takes effect within this plus one grid row, whatever the lease. */
#define CANCEL_POLL_MS 200

/* Look at every busy slot: with renew, extend its lease; always, ask
 * whether its job was cancelled.  Flags go to the claim that was looked at. */
static void check_slots(struct drain *d, struct queue *q, int renew)
{
	struct error e;

	for (int i = 0; i < d->o->workers; i++) {
		struct slot cur;
		int lost = 0, cancel, rc;

		pthread_mutex_lock(&d->lock);
		cur = d->slots[i];
		pthread_mutex_unlock(&d->lock);
		if (!cur.id || cur.cancel || cur.lost)
			continue;
		if (renew)
			lost = queue_renew(q, cur.id, cur.token, queue_now(q), d->o->lease, &e) == KD_ELEASE;
		rc = lost ? 0 : queue_cancel_requested(q, cur.id, cur.token, &e);
		lost |= rc == KD_ELEASE;
		cancel = rc == 1;
		if (!lost && !cancel)
			continue;
		/* The worker may have finished that job and claimed another
		 * meanwhile: the flag is for the claim we looked at, no other. */
		pthread_mutex_lock(&d->lock);
		if (d->slots[i].id == cur.id && strcmp(d->slots[i].token, cur.token) == 0) {
			if (lost)
				d->slots[i].lost = 1;
			else
				d->slots[i].cancel = 1;
		}
		pthread_mutex_unlock(&d->lock);
	}
}

/* Renews the leases of running jobs from its own thread, so a long frame
 * never lets a lease lapse, and notices lost leases and cancel requests
 * (those every CANCEL_POLL_MS, whatever the lease). */
static void *timer_main(void *arg)
{
	struct drain *d = arg;
	struct queue *q = NULL;
	struct error e;
	int period_ms = d->o->lease * 1000 / 3;
	double last_renew = 0.0;

	if (period_ms < 200)
		period_ms = 200;
	if (queue_open(&q, d->o->db_path, &d->o->queue, &e) < 0) {
		log_err("lease timer: %s", e.msg);
		return NULL;
	}
	/* A reclaim that ends a job (its last attempt) owes the job's callback
	 * like any other final state: the outbox row goes in that transaction. */
	queue_set_notify(q, outbox_notify, &d->outbox);
	while (!(*d->stop && busy(d) == 0)) {
		/* By the clock, not by turns of this loop: every commit anywhere
		 * (a scan's batches) wakes it, and a renewal is a write that
		 * would queue behind each of them. */
		int renew = last_renew == 0.0 || (mono() - last_renew) * 1000.0 >= period_ms;
		unsigned long seen = hub_gen(&d->hub);

		if (renew)
			last_renew = mono();

		if (busy(d))
			check_slots(d, q, renew);
		/* Other workers' expired leases (a crashed drain elsewhere). */
		if (renew && queue_reclaim_expired(q, queue_now(q), 0, &e) < 0)
			log_warn("reclaiming expired leases: %s", e.msg);
		hub_wait(&d->hub, seen, CANCEL_POLL_MS); /* a commit anywhere: look at the flags now */
	}
	queue_close(q);
	return NULL;
}

/* ---- start and stop ------------------------------------------------------ */

/* serve (o->supervisor) gone: its SIGTERM (PR_SET_PDEATHSIG) may have been
 * lost, and nobody will send the second signal, so stop here and, after
 * serve's stop time-out, give the jobs in flight back.  *since: when we
 * first saw it (0: not yet). */
static void orphan_check(struct drain *d, double *since)
{
	const struct drain_opts *o = d->o;

	if (!o->supervisor || (long)getppid() == o->supervisor)
		return;
	if (*since == 0) {
		*since = mono();
		log_warn("drain: serve (pid %ld) is gone; stopping, and giving back jobs still running in %d s",
			 o->supervisor, o->orphan_timeout);
		if (!*d->stop)
			*d->stop = 1;
	}
	if (*d->stop < 2 && mono() - *since >= o->orphan_timeout) {
		if (busy(d))
			log_warn("drain: giving the jobs in flight back to the queue");
		*d->stop = 2;
	}
}

/* Nothing left to do: no job pending or running, no callback pending. */
static int idle(struct drain *d, struct queue *q)
{
	struct queue_stats st;
	struct error e;

	int rc;

	if (busy(d))
		return 0;
	pthread_mutex_lock(&d->q_lock);
	rc = queue_stats(q, &st, &e);
	pthread_mutex_unlock(&d->q_lock);
	if (rc < 0)
		return 0;
	return st.state[JOB_PENDING] == 0 && st.state[JOB_RUNNING] == 0 &&
	       (!d->o->deliver || st.callbacks_pending == 0);
}

/* The drain's own connection, waiting out another writer that holds the
 * database past the busy time-out (a backup, an operator's sqlite3 shell):
 * that delays the start, it is no reason to exit and be restarted in a
 * loop.  The leases of the last drain's workers are taken back now. */
static int open_main_queue(struct drain *d, struct queue **q, struct error *e)
{
	const struct drain_opts *o = d->o;
	int rc, reclaimed;

	for (;;) {
		if ((rc = queue_open(q, o->db_path, &o->queue, e)) == 0) {
			queue_set_notify(*q, outbox_notify, &d->outbox);
			/* A drain starting means the workers of the last one are gone: take
			 * their leases back now instead of waiting for them to expire. */
			if ((reclaimed = queue_reclaim_expired(*q, queue_now(*q), 1, e)) >= 0)
				break;
			rc = reclaimed;
			queue_close(*q);
			*q = NULL;
		}
		if (rc != KD_EBUSY || *d->stop)
			return rc;
		log_warn("drain: %s; waiting for the database", e->msg);
		nap(d, 1000);
	}
	if (queue_set_paused(*q, 0, e) < 0) /* a pause of a drain that is gone */
		log_warn("drain: %s", e->msg);
	if (reclaimed)
		log_notice("reclaimed %d job%s left running by a previous drain", reclaimed, reclaimed == 1 ? "" : "s");
	return 0;
}

/* Each worker's queue connection and source. */
static int open_workers(struct drain *d, struct worker *w, struct error *e)
{
	const struct drain_opts *o = d->o;
	int rc;

	for (int i = 0; i < o->workers; i++) {
		w[i].d = d;
		w[i].index = i;
		if ((rc = queue_open(&w[i].q, o->db_path, &o->queue, e)) < 0)
			return rc;
		queue_set_notify(w[i].q, outbox_notify, &d->outbox);
		if (o->source) {
			struct source_opts so;
			source_opts_default(&so);
			so.busy_timeout_ms = o->queue.busy_timeout_ms; /* --busy-timeout is for the source too */
			if (o->source_timeout_ms > 0)
				so.http.timeout_ms = o->source_timeout_ms;
			so.lim = o->lim;
			if (o->max_source_bytes)
				so.http.max_response = so.max_ret_data = o->max_source_bytes;
			if ((rc = source_open(&w[i].src, o->source, &so, e)) < 0)
				return error_prefix(e, "--source: ");
		}
	}
	return 0;
}

static void sender_opts_from(struct drain *d, struct queue *q, const struct drain_opts *o,
			     struct sender_opts *so)
{
	memset(so, 0, sizeof(*so));
	so->q = q;
	so->q_lock = &d->q_lock;
	so->hub = &d->hub;
	so->poll_ms = o->poll_ms;
	so->callback = &o->callback;
	so->secret = o->secret;
	so->secret_len = o->secret_len;
	so->senders = o->callback_senders;
	so->max_attempts = o->callback_max_attempts;
	so->backoff_base = o->callback_backoff_base;
}

int drain_run(const struct drain_opts *o, volatile sig_atomic_t *stop, struct error *e)
{
	struct drain d;
	struct worker *w = NULL;
	struct sender *snd = NULL;
	struct sender_opts so;
	pthread_t *tids = NULL, timer;
	struct queue *q = NULL;
	int started = 0, rc, timer_up = 0, err;
	double orphaned = 0;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.stop = stop;
	d.out_fd = -1;
	d.outbox.default_url = o->callback_url;
	d.outbox.max_body = o->max_callback_body;
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.q_lock, NULL);
	hub_init(&d.hub);
	if ((d.out_fd = rc = outdir_open(AT_FDCWD, o->out_dir, 1, e)) < 0 || (rc = open_main_queue(&d, &q, e)) < 0)
		goto out;
	if (o->after_open && (rc = o->after_open(o->after_open_ctx, e)) < 0)
		goto out;

	d.slots = calloc((size_t)o->workers, sizeof(*d.slots));
	w = calloc((size_t)o->workers, sizeof(*w));
	tids = calloc((size_t)o->workers, sizeof(*tids));
	if (!d.slots || !w || !tids) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = open_workers(&d, w, e)) < 0)
		goto out;
	for (started = 0; started < o->workers; started++)
		if ((err = pthread_create(&tids[started], NULL, worker_main, &w[started])) != 0) {
			rc = error_set(e, KD_EIO, "cannot start worker threads: %s", strerror(err)); /* not errno */
			*stop = 1;
			goto join;
		}
	timer_up = pthread_create(&timer, NULL, timer_main, &d) == 0;
	sender_opts_from(&d, q, o, &so);
	if (o->deliver && (rc = sender_start(&snd, &so, stop, e)) < 0) {
		*stop = 1;
		goto join;
	}
	log_info("drain: %d worker%s x %d thread%s, lease %d s, out %s%s%s", o->workers, o->workers == 1 ? "" : "s",
		 o->threads, o->threads == 1 ? "" : "s", o->lease, o->out_dir, o->source ? ", source " : "",
		 o->source ? source_name(w[0].src) : "");
	rc = 0;
	while (!*stop) {
		watch_wakeups(&d, q, 100);
		if (o->exit_when_idle && idle(&d, q)) {
			log_info("drain: nothing left to do");
			*stop = 1;
		}
		orphan_check(&d, &orphaned);
	}
	hub_bump(&d.hub);
	/* Jobs in flight finish, unless serve died and its stop time-out passed,
	 * or serve's --stop-timeout is 0: then there is no time to finish, and
	 * its second SIGTERM, sent right after the first, may have been merged
	 * with it (signals do not queue), so give the jobs back now. */
	if (o->served && o->orphan_timeout == 0 && *stop < 2)
		*stop = 2;
	while (busy(&d) > 0) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		orphan_check(&d, &orphaned);
	}
join:
	hub_bump(&d.hub); /* the stop flag is set: nobody waits for a poll period */
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (timer_up)
		pthread_join(timer, NULL);
	sender_stop(snd);
out:
	for (int i = 0; w && i < o->workers; i++) {
		queue_close(w[i].q);
		source_close(w[i].src);
	}
	free(w);
	free(tids);
	free(d.slots);
	queue_close(q);
	if (d.out_fd >= 0)
		close(d.out_fd);
	pthread_mutex_destroy(&d.lock);
	pthread_mutex_destroy(&d.q_lock);
	hub_destroy(&d.hub);
	return rc;
}

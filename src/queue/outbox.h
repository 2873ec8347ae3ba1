/* outbox.h - what goes into the callback outbox when a job ends.
 *
 * The queue calls outbox_notify() inside the transaction that moves a job to
 * done, dead or cancelled (queue_set_notify), so the outbox row commits with
 * the state or not at all.  Every connection that can end a job installs it:
 * the drain's workers and `krigd cancel`. */
#ifndef KD_OUTBOX_H
#define KD_OUTBOX_H

struct error;
struct queue_outcome;

#define OUTBOX_MAX_BODY (1024u * 1024)

struct outbox_ctx {
	const char *default_url; /* --callback: for jobs whose trigger names none; may be NULL */
	size_t max_body;         /* bytes; 0: OUTBOX_MAX_BODY.  A longer body is replaced by one
				  * without "images" whose "error" says so: the job still ends. */
};

/* A queue_notify_fn: *url and *body (malloc'd) for a render job with a
 * callback URL (its own, or the default), NULL for none or for a scan.
 * The body is docs/DESIGN.md's {"job","state","source_id","images","bbox",
 * "error","attempts"}. */
int outbox_notify(void *ctx, const struct queue_outcome *oc, char **url, char **body, struct error *e);

#endif

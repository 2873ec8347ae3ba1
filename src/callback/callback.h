/* callback.h - building, signing and sending one job callback
 * (docs/DESIGN.md "Callback").
 *
 * The outbox sender calls callback_post() once per attempt with the exact
 * body bytes stored in the outbox and a webhook-id that stays the same
 * across attempts; the webhook-timestamp (and so the signature) is fresh
 * each time.  Signing follows the Standard Webhooks specification, so
 * receivers can verify with its libraries.  Nothing here touches the queue,
 * logs, or retries on its own: one call is one attempt. */
#ifndef KD_CALLBACK_H
#define KD_CALLBACK_H

#include <stddef.h>

#include "http.h"

struct error;
struct json_object;

struct callback_opts {
	struct http_opts http;   /* time-outs 5 s / 15 s, response cap 64 KiB */
	size_t max_url;          /* default 2048 bytes */
	const char *const *allow_hosts; /* NULL-terminated host names; NULL: any host */
};

void callback_opts_default(struct callback_opts *o);

/* Check a callback URL before it is stored: http or https, a host, no
 * user:password (it would end up in logs), at most max_url bytes, the host
 * in allow_hosts when that is set, and not a literal link-local address
 * (names are checked again on the resolved address at connect time).
 * KD_EINPUT with the reason. */
int callback_url_check(const char *url, const struct callback_opts *o, struct error *e);

/* The Standard Webhooks signature "v1,<base64 HMAC-SHA256(key,
 * "msg_id.ts.body")>" into out (outlen >= 64 is enough).  KD_ELIMIT if out
 * is too small, KD_EINTERNAL if libcrypto fails. */
int callback_sign(const unsigned char *key, size_t keylen, const char *msg_id, long long ts, const char *body,
		  size_t len, char *out, size_t outlen);

/* Read a "whsec_<base64>" secret (a bare base64 string is accepted too, as
 * the specification's libraries do) from path; surrounding white space is
 * ignored.  *key (allocated, 24..64 bytes) is the decoded part; free it with
 * callback_secret_free, which wipes it.  The secret never appears in a
 * message.  KD_EINPUT for a malformed secret, KD_EIO if unreadable. */
int callback_secret_load(const char *path, unsigned char **key, size_t *len, struct error *e);
void callback_secret_free(unsigned char *key, size_t len);

/* What a callback says about a finished job.  images and bbox are borrowed
 * JSON values from the job's result (NULL gives JSON null), as are the
 * strings; source_id < 0 means none (an inline job). */
struct callback_event {
	long long job;
	const char *state;        /* "done", "dead", "cancelled" */
	long long source_id;
	struct json_object *images;
	struct json_object *bbox;
	const char *error;
	int attempts;
};

/* The exact body {"job","state","source_id","images","bbox","error",
 * "attempts"} as compact JSON; *out is allocated (free()), *len its length.
 * These bytes go into the outbox so every attempt sends the same body. */
int callback_body(const struct callback_event *ev, char **out, size_t *len, struct error *e);

struct callback_result {
	long status;            /* HTTP status, 0 if none arrived */
	long long retry_after;  /* seconds the receiver asked us to wait, -1 if none */
};

/* One delivery attempt: POST body with Content-Type application/json and
 * the webhook-id / webhook-timestamp (now) / webhook-signature (only when
 * key is not NULL) headers.  Success is a 2xx status only; redirects are
 * not followed (a 3xx fails).  Errors: KD_EINPUT when the URL or the
 * address it resolves to is refused (retrying cannot help), otherwise
 * KD_EIO ("callback to http://h/p: HTTP 500", "...: timed out after 15 s");
 * r is filled in either case. */
int callback_post(const struct callback_opts *o, const char *url, const char *msg_id, const char *body,
		  size_t len, const unsigned char *key, size_t keylen, struct callback_result *r,
		  struct error *e);

/* Seconds to wait before attempt attempts+1 (attempts >= 1 made so far):
 * base * 2^(attempts-1), at most cap, but never less than retry_after
 * (when >= 0), which is itself held to at most one day so a hostile
 * receiver cannot park a delivery forever. */
long long callback_backoff(int attempts, long long retry_after, long long base, long long cap);

#endif

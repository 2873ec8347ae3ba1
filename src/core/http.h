/* http.h - one HTTP exchange with libcurl, inside fixed limits.
 *
 * Shared by the callback sender and the HTTP source so both get the same
 * guards: http/https only, no redirects, no proxies from the environment,
 * connect and total time-outs, a capped response, no signals (safe in
 * threads), and by default no connection to link-local / cloud-metadata
 * addresses (169.254.0.0/16, fe80::/10), checked on the address actually
 * connected to, after DNS, so a name that resolves there is refused too.
 * Nothing here prints; main calls curl_global_init() once before threads. */
#ifndef KD_HTTP_H
#define KD_HTTP_H

#include <stddef.h>

struct error;

struct http_opts {
	long connect_timeout_ms; /* default 5000 */
	long timeout_ms;         /* whole exchange, default 15000 */
	size_t max_response;     /* response body cap in bytes, default 64 KiB */
	int allow_link_local;    /* 1 lets 169.254/16 and fe80::/10 through */
};

void http_opts_default(struct http_opts *o);

struct http_request {
	const char *method;        /* "GET", "POST", "PUT" */
	const char *url;
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const char *body;          /* request body (POST/PUT), may be NULL */
	size_t len;
	int keep_body;             /* 0: the response body is counted and discarded */
};

struct http_response {
	long status;            /* final HTTP status, 0 if none arrived */
	long long retry_after;  /* seconds from now asked by Retry-After, -1 if none */
	char *body;             /* NUL-terminated when keep_body, else NULL; owned */
	size_t len;
};

/* Perform one exchange; any HTTP status counts as success here (the caller
 * judges r->status).  Errors: KD_EINPUT for a refused URL or address (it
 * will never work), KD_ELIMIT for a response over max_response, KD_EIO for
 * connection failures and time-outs ("http://h/p: timed out after 15 s").
 * The URL in messages is cut before '?', since queries often hold tokens.
 * r is always initialised; release it with http_response_release. */
int http_exchange(const struct http_opts *o, const struct http_request *q, struct http_response *r,
		  struct error *e);

void http_response_release(struct http_response *r);

/* Copy url into out without its query and fragment, for messages. */
void http_url_for_log(const char *url, char *out, size_t outlen);

/* 1 when the address (AF_INET / AF_INET6 sockaddr) is link-local or a
 * cloud metadata service: 169.254.0.0/16 and fe80::/10 (most clouds'
 * metadata lives there), and the known ones outside them: 100.100.100.200
 * (Alibaba Cloud), 192.0.0.192 (Oracle Cloud), fd00:ec2::254 (AWS IPv6);
 * IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96, and the local-use
 * 64:ff9b:1::/48 with any prefix length a site may cut from it) IPv6 forms
 * of the IPv4 ones too. */
struct sockaddr;
int http_addr_is_metadata(const struct sockaddr *sa);

/* Parse a Retry-After value (delta seconds or an HTTP date) relative to
 * now; -1 when it cannot be read.  Dates in the past give 0. */
long long http_parse_retry_after(const char *v, long long now);

#endif

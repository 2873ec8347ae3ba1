/* http.c - see http.h */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <curl/curl.h>

#include "error.h"
#include "http.h"

#define MAX_HEADERS 16

void http_opts_default(struct http_opts *o)
{
	o->connect_timeout_ms = 5000;
	o->timeout_ms = 15000;
	o->max_response = 64 * 1024;
	o->allow_link_local = 0;
}

/* State of one transfer, shared with libcurl's callbacks. */
struct xfer {
	const struct http_opts *o;
	const struct http_request *q;
	struct http_response *r;
	size_t cap;       /* allocated bytes of r->body */
	int too_big;      /* the write callback stopped the transfer */
	int nomem;
	int refused;      /* the socket callback refused an address */
	char refused_addr[INET6_ADDRSTRLEN];
};

void http_url_for_log(const char *url, char *out, size_t outlen)
{
	const char *p = url, *auth, *at, *end;
	size_t n = 0;

	if (!outlen)
		return;
	/* Drop "user:password@" so credentials never reach a log; a "://"
	 * after a '?' or '#' is query text, not an authority. */
	auth = strstr(url, "://");
	if (auth && (size_t)(auth - url) < strcspn(url, "?#")) {
		auth += 3;
		end = auth + strcspn(auth, "/?#");
		at = memchr(auth, '@', (size_t)(end - auth));
		if (at) {
			size_t head = (size_t)(auth - url);

			n = head < outlen - 1 ? head : outlen - 1;
			memcpy(out, url, n);
			p = at + 1;
		}
	}
	while (*p && *p != '?' && *p != '#' && n < outlen - 1)
		out[n++] = *p++;
	out[n] = '\0';
}

static int ipv4_is_metadata(uint32_t a)
{
	return (a >> 16) == 0xa9feu ||  /* 169.254.0.0/16, link-local: AWS, GCP, Azure, ... */
	       a == 0x646464c8u ||       /* 100.100.100.200, Alibaba Cloud */
	       a == 0xc00000c0u;         /* 192.0.0.192, Oracle Cloud */
}

/* The IPv4 address in bytes i, j, k, l of an IPv6 address, as metadata? */
static int ipv4_at(const unsigned char *b, int i, int j, int k, int l)
{
	return ipv4_is_metadata((uint32_t)b[i] << 24 | (uint32_t)b[j] << 16 | (uint32_t)b[k] << 8 | b[l]);
}

int http_addr_is_metadata(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		return ipv4_is_metadata(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *b = in6->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		static const unsigned char nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
		static const unsigned char nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
		static const unsigned char aws6[16] = { 0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 };

		if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 */
			return 1;
		if (memcmp(b, aws6, 16) == 0) /* fd00:ec2::254 */
			return 1;
		/* ::ffff:a.b.c.d reaches the same IPv4 metadata service, and so
		 * does 64:ff9b::a.b.c.d through a NAT64 gateway (RFC 6052). */
		if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
			return ipv4_at(b, 12, 13, 14, 15);
		/* The local-use prefix 64:ff9b:1::/48 (RFC 8215) is cut into a
		 * site's own NAT64 prefix of length 48, 56, 64 or 96, each of which
		 * puts the IPv4 address in other bytes (RFC 6052 2.2, skipping the
		 * u octet, byte 8): refuse when any of them reads as metadata. */
		if (memcmp(b, nat64_local, 6) == 0)
			return ipv4_at(b, 6, 7, 9, 10) || ipv4_at(b, 7, 9, 10, 11) || ipv4_at(b, 9, 10, 11, 12) ||
			       ipv4_at(b, 12, 13, 14, 15);
	}
	return 0;
}

long long http_parse_retry_after(const char *v, long long now)
{
	char buf[128];
	size_t n;
	time_t t;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "\r\n");
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	if (isdigit((unsigned char)buf[0])) {
		char *end;
		long long s;

		for (size_t i = 0; i < n; i++)
			if (!isdigit((unsigned char)buf[i]))
				return -1;
		if (n > 12) /* absurdly far: treat as unreadable, not as overflow */
			return -1;
		s = strtoll(buf, &end, 10);
		return s;
	}
	t = curl_getdate(buf, NULL);
	if (t == (time_t)-1)
		return -1;
	return (long long)t > now ? (long long)t - now : 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	struct http_response *r = x->r;
	size_t n = size * nmemb;

	if (n > x->o->max_response - r->len) {
		x->too_big = 1;
		return 0; /* a short count makes libcurl abort the transfer */
	}
	if (x->q->keep_body) {
		if (r->len + n + 1 > x->cap) {
			size_t cap = x->cap ? x->cap : 4096;
			char *nb;

			while (cap < r->len + n + 1)
				cap *= 2;
			nb = realloc(r->body, cap);
			if (!nb) {
				x->nomem = 1;
				return 0;
			}
			r->body = nb;
			x->cap = cap;
		}
		memcpy(r->body + r->len, data, n);
		r->body[r->len + n] = '\0';
	}
	r->len += n;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *p)
{
	struct xfer *x = p;
	size_t n = size * nmemb;
	static const char name[] = "retry-after:";

	/* A new status line (after a 1xx) starts a new header block. */
	if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
		x->r->retry_after = -1;
	else if (n > sizeof(name) - 1 && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		char v[128];
		size_t m = n - (sizeof(name) - 1);

		if (m >= sizeof(v))
			m = sizeof(v) - 1;
		memcpy(v, data + sizeof(name) - 1, m);
		v[m] = '\0';
		x->r->retry_after = http_parse_retry_after(v, (long long)time(NULL));
	}
	return n;
}

static curl_socket_t on_open_socket(void *p, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct xfer *x = p;

	if (purpose == CURLSOCKTYPE_IPCXN && !x->o->allow_link_local && http_addr_is_metadata(&a->addr)) {
		const void *ip = a->family == AF_INET6
					 ? (const void *)&((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr
					 : (const void *)&((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;

		x->refused = 1;
		if (!inet_ntop(a->family, ip, x->refused_addr, sizeof(x->refused_addr)))
			strcpy(x->refused_addr, "?");
		return CURL_SOCKET_BAD;
	}
	/* CLOEXEC: the daemon starts children; they must not inherit sockets. */
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int set_method(CURL *c, const struct http_request *q)
{
	int rc = 0;

	if (strcmp(q->method, "GET") == 0)
		return curl_easy_setopt(c, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	if (strcmp(q->method, "POST") == 0)
		rc |= curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK;
	else
		rc |= curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method) != CURLE_OK;
	rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? q->body : "") != CURLE_OK;
	rc |= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body ? q->len : 0)) != CURLE_OK;
	return rc;
}

static int fail(struct error *e, CURL *c, CURLcode cc, const struct xfer *x, const char *errbuf,
		const char *where)
{
	const struct http_opts *o = x->o;

	if (x->refused && cc == CURLE_COULDNT_CONNECT)
		return error_set(e, KD_EINPUT, "%s: refused: resolves to link-local or metadata address %s", where,
				 x->refused_addr);
	if (x->nomem)
		return error_set(e, KD_ENOMEM, "%s: out of memory reading the response", where);
	if ((cc == CURLE_WRITE_ERROR && x->too_big) || cc == CURLE_FILESIZE_EXCEEDED)
		return error_set(e, KD_ELIMIT, "%s: response larger than %zu bytes", where, o->max_response);
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t connect_us = 0;

		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
		if (connect_us == 0)
			return error_set(e, KD_EIO, "%s: could not connect within %g s", where,
					 o->connect_timeout_ms / 1000.0);
		return error_set(e, KD_EIO, "%s: timed out after %g s", where, o->timeout_ms / 1000.0);
	}
	if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT)
		return error_set(e, KD_EINPUT, "%s: %s", where, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	return error_set(e, KD_EIO, "%s: %s", where, errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

int http_exchange(const struct http_opts *o, const struct http_request *q, struct http_response *r,
		  struct error *e)
{
	char where[256], errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdr = NULL, *t;
	struct xfer x = { .o = o, .q = q, .r = r };
	CURLcode cc;
	CURL *c;
	int bad = 0, rc;

	r->status = 0;
	r->retry_after = -1;
	r->body = NULL;
	r->len = 0;
	http_url_for_log(q->url, where, sizeof(where));
	if (strncasecmp(q->url, "http://", 7) != 0 && strncasecmp(q->url, "https://", 8) != 0)
		return error_set(e, KD_EINPUT, "%s: only http and https URLs are allowed", where);

	c = curl_easy_init();
	if (!c)
		return error_set(e, KD_ENOMEM, "%s: cannot start libcurl", where);
	/* Without this, curl sends "Expect: 100-continue" and waits on bodies
	 * over 1 KiB, a needless round trip. */
	t = curl_slist_append(hdr, "Expect:");
	bad |= !t;
	hdr = t ? t : hdr;
	for (size_t i = 0; q->headers && q->headers[i] && i < MAX_HEADERS; i++) {
		t = curl_slist_append(hdr, q->headers[i]);
		bad |= !t;
		hdr = t ? t : hdr;
	}
	bad |= curl_easy_setopt(c, CURLOPT_URL, q->url) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
	bad |= curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
	bad |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	/* Signals are not thread-safe; this also disables the alarm()-based
	 * DNS time-out (the threaded resolver honours the time-outs). */
	bad |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms) != CURLE_OK;
	/* An empty proxy ignores http_proxy & co: a proxy would hide the real
	 * peer address from the link-local check below. */
	bad |= curl_easy_setopt(c, CURLOPT_PROXY, "") != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &x) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_WRITEDATA, &x) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HEADERDATA, &x) != CURLE_OK;
	/* Refuse at once when Content-Length already says it is too big. */
	bad |= curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_response) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION) != CURLE_OK;
	bad |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK;
	bad |= set_method(c, q);
	if (bad) {
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		return error_set(e, KD_EINTERNAL, "%s: cannot set up the libcurl request", where);
	}

	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	rc = cc == CURLE_OK ? 0 : fail(e, c, cc, &x, errbuf, where);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (rc == 0 && q->keep_body && !r->body) {
		r->body = calloc(1, 1); /* an empty body is still a string */
		if (!r->body)
			rc = error_set(e, KD_ENOMEM, "%s: out of memory", where);
	}
	return rc;
}

void http_response_release(struct http_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

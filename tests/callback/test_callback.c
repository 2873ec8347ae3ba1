/* test_callback.c - signing, secrets, URL checks, the body, back-off, and
 * real deliveries to tests/lib/http_server.py (which verifies signatures with
 * its own Python implementation of Standard Webhooks). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "callback.h"
#include "error.h"
#include "http.h"
#include "httpd.h"
#include "tap.h"

/* The Standard Webhooks specification's published example (also in the
 * svix libraries' tests); independent of this code base. */
#define VEC_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS 1614265330LL
#define VEC_BODY "{\"test\": 2432232314}"
#define VEC_SIG "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static char tmpdir[256];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

static void test_sign_and_secret(void)
{
	char path[512], sig[64];
	unsigned char *key = NULL;
	size_t len = 0;
	struct error e = { 0 };
	int rc;

	snprintf(path, sizeof(path), "%s/secret", tmpdir);
	/* White space around the secret, as an editor leaves it. */
	write_file(path, "  " VEC_SECRET "\n\n");
	rc = callback_secret_load(path, &key, &len, &e);
	tap_ok(rc == 0 && len == 24, "whsec_ secret loads (rc %d, %zu bytes) %s", rc, len, e.msg);
	rc = key ? callback_sign(key, len, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig, sizeof(sig)) : -1;
	tap_ok(rc == 0 && strcmp(sig, VEC_SIG) == 0, "Standard Webhooks test vector: %s", rc == 0 ? sig : "failed");
	rc = key ? callback_sign(key, len, VEC_ID, VEC_TS + 1, VEC_BODY, strlen(VEC_BODY), sig, sizeof(sig)) : -1;
	tap_ok(rc == 0 && strcmp(sig, VEC_SIG) != 0, "another timestamp gives another signature");
	tap_ok(callback_sign(key, len, VEC_ID, VEC_TS, VEC_BODY, strlen(VEC_BODY), sig, 20) == KD_ELIMIT,
	       "a short output buffer is refused");
	callback_secret_free(key, len);

	/* The bare base64 form, as the specification's libraries accept. */
	write_file(path, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
	rc = callback_secret_load(path, &key, &len, &e);
	tap_ok(rc == 0 && len == 24, "bare base64 secret loads");
	callback_secret_free(key, len);

	write_file(path, "whsec_not*base64*at*all!!");
	rc = callback_secret_load(path, &key, &len, &e);
	tap_ok(rc == KD_EINPUT && key == NULL && !strstr(e.msg, "not*base64"),
	       "malformed secret: bad input, secret not echoed (%s)", e.msg);
	write_file(path, "whsec_c2hvcnQ=");
	rc = callback_secret_load(path, &key, &len, &e);
	tap_ok(rc == KD_EINPUT && strstr(e.msg, "24 to 64"), "a 5-byte key is refused (%s)", e.msg);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	rc = callback_secret_load(path, &key, &len, &e);
	tap_ok(rc == KD_EIO, "missing secret file: I/O error (%s)", e.msg);
}

static void url(const char *u, int want, const struct callback_opts *o, const char *what)
{
	struct error e = { 0 };
	int rc = callback_url_check(u, o, &e);

	tap_ok(rc == want, "url %s: %s (rc %d: %s)", what, want ? "refused" : "accepted", rc, rc ? e.msg : "");
}

static void test_urls(void)
{
	struct callback_opts o;
	const char *allow[] = { "hooks.example.org", NULL };
	char longurl[3000];

	callback_opts_default(&o);
	url("http://127.0.0.1:8080/hook", 0, &o, "loopback http");
	url("https://hooks.example.org/x?token=1", 0, &o, "https with query");
	url("ftp://example.org/x", KD_EINPUT, &o, "ftp");
	url("file:///etc/passwd", KD_EINPUT, &o, "file");
	url("example.org/hook", KD_EINPUT, &o, "no scheme");
	url("http://", KD_EINPUT, &o, "no host");
	url("", KD_EINPUT, &o, "empty");
	url("http://user:pw@example.org/", KD_EINPUT, &o, "credentials");
	url("http://169.254.169.254/latest/meta-data", KD_EINPUT, &o, "cloud metadata IPv4");
	url("http://[fe80::1]/", KD_EINPUT, &o, "IPv6 link-local");
	url("http://[::ffff:169.254.169.254]/", KD_EINPUT, &o, "IPv4-mapped metadata");
	url("http://100.100.100.200/latest/meta-data", KD_EINPUT, &o, "Alibaba Cloud metadata");
	url("http://192.0.0.192/", KD_EINPUT, &o, "Oracle Cloud metadata");
	url("http://[fd00:ec2::254]/latest/meta-data", KD_EINPUT, &o, "AWS IPv6 metadata");
	url("http://[::ffff:100.100.100.200]/", KD_EINPUT, &o, "IPv4-mapped Alibaba metadata");
	url("http://100.100.100.201/", 0, &o, "next to a metadata address is fine");
	url("http://[64:ff9b::a9fe:a9fe]/", KD_EINPUT, &o, "NAT64 form of 169.254.169.254");
	url("http://[64:ff9b::100.100.100.200]/", KD_EINPUT, &o, "NAT64 form of the Alibaba metadata");
	url("http://[64:ff9b::808:808]/", 0, &o, "NAT64 form of an ordinary address is fine");
	/* the local-use NAT64 prefix 64:ff9b:1::/48 (RFC 8215), cut by a site
	 * into a /96, /64, /56 or /48 prefix: 169.254.169.254 at each place */
	url("http://[64:ff9b:1::a9fe:a9fe]/", KD_EINPUT, &o, "local-use NAT64 /96 form of 169.254.169.254");
	url("http://[64:ff9b:1::100.100.100.200]/", KD_EINPUT, &o, "local-use NAT64 /96 form of the Alibaba metadata");
	url("http://[64:ff9b:1:0:a9:fea9:fe00:0]/", KD_EINPUT, &o, "local-use NAT64 /64 form of 169.254.169.254");
	url("http://[64:ff9b:1:a9:fe:a9fe::]/", KD_EINPUT, &o, "local-use NAT64 /56 form of 169.254.169.254");
	url("http://[64:ff9b:1:a9fe:a9:fe00::]/", KD_EINPUT, &o, "local-use NAT64 /48 form of 169.254.169.254");
	url("http://[64:ff9b:1:c000:0:c000::]/", KD_EINPUT, &o, "local-use NAT64 /48 form of the Oracle metadata");
	url("http://[64:ff9b:1::808:808]/", 0, &o, "local-use NAT64 form of an ordinary address is fine");
	url("http://[64:ff9b:2::a9fe:a9fe]/", 0, &o, "outside 64:ff9b:1::/48 it is an ordinary address");
	url("http://example.org/a\r\nX-Injected: 1", KD_EINPUT, &o, "CR/LF in the URL");
	url("http://example.org/a\nb", KD_EINPUT, &o, "LF in the URL");
	url("http://example.org/\x1b[2J", KD_EINPUT, &o, "escape character in the URL");
	url("http://[::1]:9/", 0, &o, "IPv6 loopback");
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "http://x/", 9);
	longurl[sizeof(longurl) - 1] = '\0';
	url(longurl, KD_EINPUT, &o, "over max_url");
	o.allow_hosts = allow;
	url("https://hooks.example.org/x", 0, &o, "allowed host");
	url("https://HOOKS.example.org/x", 0, &o, "allowed host, other case");
	url("https://evil.example.org/x", KD_EINPUT, &o, "host not allowed");
}

static void test_link_local(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sockaddr_in6 b = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET, "169.254.169.254", &a.sin_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&a), "169.254.169.254 is link-local");
	inet_pton(AF_INET, "169.255.0.1", &a.sin_addr);
	tap_ok(!http_addr_is_metadata((struct sockaddr *)&a), "169.255.0.1 is not");
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	tap_ok(!http_addr_is_metadata((struct sockaddr *)&a), "127.0.0.1 is not");
	inet_pton(AF_INET6, "febf::1", &b.sin6_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&b), "febf::1 is in fe80::/10");
	inet_pton(AF_INET6, "fec0::1", &b.sin6_addr);
	tap_ok(!http_addr_is_metadata((struct sockaddr *)&b), "fec0::1 is not");
	/* At delivery: what a name resolves to through a NAT64 resolver. */
	inet_pton(AF_INET6, "64:ff9b::a9fe:a9fe", &b.sin6_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b::a9fe:a9fe (NAT64 169.254.169.254) is refused");
	inet_pton(AF_INET6, "64:ff9b::100.100.100.200", &b.sin6_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b::100.100.100.200 is refused");
	inet_pton(AF_INET6, "64:ff9b::192.0.0.192", &b.sin6_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b::192.0.0.192 is refused");
	inet_pton(AF_INET6, "64:ff9b::8.8.8.8", &b.sin6_addr);
	tap_ok(!http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b::8.8.8.8 is not");
	/* RFC 8215's local-use prefix, at delivery too */
	inet_pton(AF_INET6, "64:ff9b:1::169.254.169.254", &b.sin6_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b:1::169.254.169.254 (/96) is refused");
	inet_pton(AF_INET6, "64:ff9b:1:a9fe:a9:fe00::", &b.sin6_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b:1:a9fe:a9:fe00:: (/48) is refused");
	inet_pton(AF_INET6, "64:ff9b:1:6464:64:c800::", &b.sin6_addr);
	tap_ok(http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b:1:6464:64:c800:: (/48 Alibaba) is refused");
	inet_pton(AF_INET6, "64:ff9b:1::8.8.8.8", &b.sin6_addr);
	tap_ok(!http_addr_is_metadata((struct sockaddr *)&b), "64:ff9b:1::8.8.8.8 is not");
}

static void test_body(void)
{
	static const char *keys[] = { "job", "state", "source_id", "images", "bbox", "cv", "error", "attempts" };
	struct callback_event ev = { .job = 42, .state = "done", .source_id = 7, .attempts = 2 };
	struct json_object *images = json_tokener_parse("{\"2024-01-01 01:00\":\"pm25/42/a.png\"}");
	struct json_object *bbox = json_tokener_parse("[113.75,22.39,114.06,22.6]");
	struct json_object *cv = json_tokener_parse("{\"2024-01-01 01:00\":{\"n\":40,\"me\":0.1,\"mae\":2.5,"
						    "\"rmse\":3.5,\"msdr\":1.1}}");
	struct json_object *o, *v;
	struct error e = { 0 };
	char *body = NULL;
	size_t len = 0;
	int i = 0, order = 1;

	ev.images = images;
	ev.bbox = bbox;
	ev.cv = cv;
	tap_ok(callback_body(&ev, &body, &len, &e) == 0 && body && strlen(body) == len, "body built");
	o = body ? json_tokener_parse(body) : NULL;
	json_object_object_foreach(o, k, val) {
		(void)val;
		if (i >= 8 || strcmp(k, keys[i]) != 0)
			order = 0;
		i++;
	}
	tap_ok(o && order && i == 8, "body has exactly the eight keys, in docs/DESIGN.md's order");
	tap_ok(json_object_object_get_ex(o, "job", &v) && json_object_get_int64(v) == 42, "job");
	tap_ok(json_object_object_get_ex(o, "state", &v) && !strcmp(json_object_get_string(v), "done"), "state");
	tap_ok(json_object_object_get_ex(o, "source_id", &v) && json_object_get_int64(v) == 7, "source_id");
	tap_ok(json_object_object_get_ex(o, "images", &v) && json_object_equal(v, images), "images");
	tap_ok(json_object_object_get_ex(o, "bbox", &v) && json_object_equal(v, bbox), "bbox");
	tap_ok(json_object_object_get_ex(o, "cv", &v) && json_object_equal(v, cv), "cv, per pubtime");
	tap_ok(json_object_object_get_ex(o, "error", &v) && v == NULL, "error is null when absent");
	tap_ok(json_object_object_get_ex(o, "attempts", &v) && json_object_get_int(v) == 2, "attempts");
	json_object_put(o);
	free(body);

	struct callback_event dead = { .job = 5, .state = "dead", .source_id = -1, .error = "row 3: \"bad\"",
				       .attempts = 1 };
	callback_body(&dead, &body, &len, &e);
	o = body ? json_tokener_parse(body) : NULL;
	tap_ok(o && json_object_object_get_ex(o, "source_id", &v) && v == NULL &&
		       json_object_object_get_ex(o, "images", &v) && v == NULL &&
		       json_object_object_get_ex(o, "cv", &v) && v == NULL &&
		       json_object_object_get_ex(o, "error", &v) && !strcmp(json_object_get_string(v), "row 3: \"bad\""),
	       "dead inline job: source_id, images and cv null, error kept with its quotes");
	json_object_put(o);
	free(body);
	json_object_put(images);
	json_object_put(bbox);
	json_object_put(cv);
}

static void test_backoff(void)
{
	tap_ok(callback_backoff(1, -1, 2, 600) == 2, "backoff after 1 attempt: base");
	tap_ok(callback_backoff(4, -1, 2, 600) == 16, "backoff doubles: 2*2^3");
	tap_ok(callback_backoff(40, -1, 2, 600) == 600, "backoff capped");
	tap_ok(callback_backoff(1, 120, 2, 600) == 120, "Retry-After longer than the backoff wins");
	tap_ok(callback_backoff(8, 1, 2, 600) == 256, "a short Retry-After does not shorten the backoff");
	tap_ok(callback_backoff(1, 1LL << 40, 2, 600) == 86400, "Retry-After held to one day");
	tap_ok(callback_backoff(3, -1, 0, 600) == 0, "base 0 (tests) gives no wait");
}

static int post(const struct callback_opts *o, const struct httpd *h, const char *path, const unsigned char *key,
		size_t keylen, struct callback_result *r, struct error *e)
{
	static const char body[] = "{\"job\":1,\"state\":\"done\"}";
	char u[256];

	snprintf(u, sizeof(u), "%s%s", h->base, path);
	memset(e, 0, sizeof(*e));
	return callback_post(o, u, "msg_test_1", body, strlen(body), key, keylen, r, e);
}

static void test_delivery(void)
{
	struct callback_opts o;
	struct callback_result r;
	struct error e;
	struct httpd h;
	char path[512], why[512], other[512];
	unsigned char *key = NULL, *bad = NULL;
	size_t len = 0, badlen = 0;
	time_t t0;
	int rc;

	snprintf(path, sizeof(path), "%s/secret", tmpdir);
	write_file(path, VEC_SECRET "\n");
	callback_secret_load(path, &key, &len, &e);
	snprintf(other, sizeof(other), "%s/other", tmpdir);
	write_file(other, "whsec_c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==");
	callback_secret_load(other, &bad, &badlen, &e);
	if (httpd_start(&h, path, why, sizeof(why)) < 0) {
		tap_ok(1, "delivery tests # SKIP %s", why);
		goto out;
	}
	callback_opts_default(&o);

	rc = post(&o, &h, "/ok", key, len, &r, &e);
	tap_ok(rc == 0 && r.status == 200, "2xx is success (rc %d, HTTP %ld) %s", rc, r.status, e.msg);
	rc = post(&o, &h, "/signed", key, len, &r, &e);
	tap_ok(rc == 0 && r.status == 200, "signature verified by the receiver's own HMAC (HTTP %ld) %s", r.status,
	       e.msg);
	rc = post(&o, &h, "/signed", bad, badlen, &r, &e);
	tap_ok(rc == KD_EIO && r.status == 401, "signed with another key: receiver refuses (HTTP %ld)", r.status);
	rc = post(&o, &h, "/nosig", NULL, 0, &r, &e);
	tap_ok(rc == 0, "no key: no webhook-signature header, webhook-id sent (HTTP %ld)", r.status);
	rc = post(&o, &h, "/fail", key, len, &r, &e);
	tap_ok(rc == KD_EIO && r.status == 500 && strstr(e.msg, "HTTP 500") && strstr(e.msg, "callback to http://"),
	       "500 fails with the status in words: %s", e.msg);
	rc = post(&o, &h, "/redirect", key, len, &r, &e);
	tap_ok(rc == KD_EIO && r.status == 302, "302 is not followed and fails (HTTP %ld): %s", r.status, e.msg);
	rc = post(&o, &h, "/retry-secs", key, len, &r, &e);
	tap_ok(rc == KD_EIO && r.status == 503 && r.retry_after == 120, "Retry-After: 120 read (%lld)",
	       r.retry_after);
	rc = post(&o, &h, "/retry-date", key, len, &r, &e);
	tap_ok(rc == KD_EIO && r.status == 429 && r.retry_after >= 200 && r.retry_after <= 301,
	       "Retry-After as an HTTP date five minutes ahead read (%lld s)", r.retry_after);
	tap_ok(callback_backoff(1, r.retry_after, 2, 600) == r.retry_after, "and the next attempt honours it");

	rc = post(&o, &h, "/big", key, len, &r, &e);
	tap_ok(rc == KD_EIO && strstr(e.msg, "larger than 65536"), "1 MiB response with Content-Length capped: %s",
	       e.msg);
	rc = post(&o, &h, "/bigstream", key, len, &r, &e);
	tap_ok(rc == KD_EIO && strstr(e.msg, "larger than 65536"), "streamed 4 MiB response capped: %s", e.msg);

	o.http.timeout_ms = 1000;
	t0 = time(NULL);
	rc = post(&o, &h, "/hang", key, len, &r, &e);
	tap_ok(rc == KD_EIO && strstr(e.msg, "timed out after 1 s"), "hanging receiver: %s", e.msg);
	/* A bound, not a timing measurement: 1 s asked, 20 s would be a hang. */
	tap_ok(time(NULL) - t0 < 20, "the total time-out bounds the attempt (%lld s)", (long long)(time(NULL) - t0));
	o.http.timeout_ms = 15000;

	/* The connect-time guard: curl's parser turns this decimal host into
	 * 169.254.169.254; nothing is sent, the socket is refused. */
	rc = callback_post(&o, "http://2852039166:9/", "msg_x", "{}", 2, NULL, 0, &r, &e);
	tap_ok(rc == KD_EINPUT && strstr(e.msg, "link-local"), "decimal metadata address refused: %s", e.msg);
	{
		struct http_request q = { .method = "GET", .url = "http://169.254.169.254:9/" };
		struct http_response resp;

		rc = http_exchange(&o.http, &q, &resp, &e);
		http_response_release(&resp);
		tap_ok(rc == KD_EINPUT && strstr(e.msg, "refused"), "socket to 169.254.169.254 refused at connect: %s",
		       e.msg);
	}
	rc = callback_post(&o, "http://127.0.0.1:1/x?token=sekrit", "msg_x", "{}", 2, NULL, 0, &r, &e);
	tap_ok(rc == KD_EIO && !strstr(e.msg, "sekrit"), "connection refused is transient, query not shown: %s",
	       e.msg);
	httpd_stop(&h);
out:
	callback_secret_free(key, len);
	callback_secret_free(bad, badlen);
}

int main(void)
{
	char cmd[300];

	snprintf(tmpdir, sizeof(tmpdir), "%s/krigd-cb.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_sign_and_secret();
	test_urls();
	test_link_local();
	test_body();
	test_backoff();
	test_delivery();
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		tap_diag("could not remove the scratch directory");
	return tap_done();
}

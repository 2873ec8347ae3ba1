/* callback.c - see callback.h */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "callback.h"
#include "error.h"

#define SECRET_FILE_MAX 4096
#define KEY_MIN 24 /* Standard Webhooks: secrets are 24 to 64 bytes */
#define KEY_MAX 64
#define MSG_ID_MAX 128
#define RETRY_AFTER_MAX (24LL * 3600)

void callback_opts_default(struct callback_opts *o)
{
	http_opts_default(&o->http);
	o->max_url = 2048;
	o->allow_hosts = NULL;
}

/* The part of the URL named by what, or NULL (free with curl_free). */
static char *url_part(CURLU *h, CURLUPart what)
{
	char *v = NULL;

	if (curl_url_get(h, what, &v, 0) != CURLUE_OK)
		return NULL;
	return v;
}

static int host_is_metadata_literal(const char *host)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, &in.sin_addr) == 1)
		return http_addr_is_metadata((const struct sockaddr *)(const void *)&in);
	if (n > 2 && n < sizeof(buf) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		/* A zone ("fe80::1%eth0") only ever comes with link-local. */
		if (strchr(buf, '%'))
			return 1;
		if (inet_pton(AF_INET6, buf, &in6.sin6_addr) == 1)
			return http_addr_is_metadata((const struct sockaddr *)(const void *)&in6);
	}
	return 0;
}

int callback_url_check(const char *url, const struct callback_opts *o, struct error *e)
{
	char shown[256];
	char *scheme = NULL, *host = NULL, *user = NULL;
	CURLU *h;
	int rc = 0;

	if (!url || !*url)
		return error_set(e, KD_EINPUT, "callback URL is empty");
	if (strlen(url) > o->max_url)
		return error_set(e, KD_EINPUT, "callback URL longer than %zu bytes", o->max_url);
	http_url_for_log(url, shown, sizeof(shown));
	/* libcurl's parser is lenient ("http:/host", "http:host"); what we store
	 * and compare must be the plain form, so insist on it before parsing. */
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return error_set(e, KD_EINPUT, "callback URL %s: only http:// and https:// URLs are allowed", shown);
	h = curl_url();
	if (!h)
		return error_set(e, KD_ENOMEM, "out of memory");
	/* Without CURLU_GUESS_SCHEME / DEFAULT_SCHEME a URL must name its scheme. */
	if (curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK) {
		rc = error_set(e, KD_EINPUT, "callback URL %s: not a valid URL", shown);
		goto out;
	}
	scheme = url_part(h, CURLUPART_SCHEME);
	if (!scheme || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
		rc = error_set(e, KD_EINPUT, "callback URL %s: only http and https are allowed", shown);
		goto out;
	}
	host = url_part(h, CURLUPART_HOST);
	if (!host || !*host) {
		rc = error_set(e, KD_EINPUT, "callback URL %s: no host", shown);
		goto out;
	}
	user = url_part(h, CURLUPART_USER);
	if (user) {
		rc = error_set(e, KD_EINPUT, "callback URL %s: credentials in the URL are not allowed", shown);
		goto out;
	}
	if (o->allow_hosts) {
		size_t i;

		for (i = 0; o->allow_hosts[i]; i++)
			if (strcasecmp(o->allow_hosts[i], host) == 0)
				break;
		if (!o->allow_hosts[i]) {
			rc = error_set(e, KD_EINPUT, "callback URL %s: host %s is not in the allowed list", shown,
				       host);
			goto out;
		}
	}
	if (!o->http.allow_link_local && host_is_metadata_literal(host))
		rc = error_set(e, KD_EINPUT, "callback URL %s: link-local or metadata address refused", shown);
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(user);
	curl_url_cleanup(h);
	return rc;
}

int callback_sign(const unsigned char *key, size_t keylen, const char *msg_id, long long ts, const char *body,
		  size_t len, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char head[MSG_ID_MAX + 32];
	size_t hlen;
	unsigned char *msg;
	int n;

	n = snprintf(head, sizeof(head), "%s.%lld.", msg_id, ts);
	if (n < 0 || (size_t)n >= sizeof(head))
		return KD_ELIMIT;
	hlen = (size_t)n;
	/* 4 * ceil(32 / 3) = 44 base64 characters, "v1," and the NUL. */
	if (outlen < 3 + 44 + 1)
		return KD_ELIMIT;
	msg = malloc(hlen + len + 1);
	if (!msg)
		return KD_ENOMEM;
	memcpy(msg, head, hlen);
	if (len)
		memcpy(msg + hlen, body, len);
	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, hlen + len, mac, &maclen) || maclen != 32) {
		free(msg);
		return KD_EINTERNAL;
	}
	free(msg);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

static int is_b64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Decode base64 text s[0..n) (padding optional) into a new buffer. */
static int b64_decode(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	char buf[SECRET_FILE_MAX + 4];
	size_t pad = 0, i;
	unsigned char *dec;
	int m;

	while (n && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (n == 0 || pad > 2 || n % 4 == 1 || n > SECRET_FILE_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if (!is_b64((unsigned char)s[i]))
			return -1;
	memcpy(buf, s, n);
	/* EVP_DecodeBlock wants whole quanta; restore the padding it needs. */
	pad = (4 - n % 4) % 4;
	memset(buf + n, '=', pad);
	dec = malloc((n + pad) / 4 * 3 + 1);
	if (!dec) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return -2;
	}
	m = EVP_DecodeBlock(dec, (unsigned char *)buf, (int)(n + pad));
	OPENSSL_cleanse(buf, sizeof(buf));
	if (m < 0 || (size_t)m < pad) {
		free(dec);
		return -1;
	}
	*out = dec;
	*outlen = (size_t)m - pad; /* EVP_DecodeBlock counts padding as zero bytes */
	return 0;
}

int callback_secret_load(const char *path, unsigned char **key, size_t *len, struct error *e)
{
	char buf[SECRET_FILE_MAX + 1];
	size_t n = 0, start = 0;
	ssize_t got;
	int fd, rc = 0, d;

	*key = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(e, KD_EIO, "callback secret file %s: %s", path, strerror(errno));
	while (n < sizeof(buf) && (got = read(fd, buf + n, sizeof(buf) - n)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			rc = error_set(e, KD_EIO, "callback secret file %s: %s", path, strerror(errno));
			break;
		}
		n += (size_t)got;
	}
	close(fd);
	if (rc)
		goto out;
	if (n > SECRET_FILE_MAX) {
		rc = error_set(e, KD_EINPUT, "callback secret file %s: larger than %d bytes", path, SECRET_FILE_MAX);
		goto out;
	}
	while (start < n && strchr(" \t\r\n", buf[start]))
		start++;
	while (n > start && strchr(" \t\r\n", buf[n - 1]))
		n--;
	if (n - start >= 6 && memcmp(buf + start, "whsec_", 6) == 0)
		start += 6;
	d = b64_decode(buf + start, n - start, key, len);
	if (d == -2) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
	} else if (d < 0) {
		rc = error_set(e, KD_EINPUT, "callback secret file %s: not a whsec_<base64> secret", path);
	} else if (*len < KEY_MIN || *len > KEY_MAX) {
		rc = error_set(e, KD_EINPUT, "callback secret file %s: the key must be %d to %d bytes, not %zu",
			       path, KEY_MIN, KEY_MAX, *len);
		callback_secret_free(*key, *len);
		*key = NULL;
		*len = 0;
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

void callback_secret_free(unsigned char *key, size_t len)
{
	if (!key)
		return;
	OPENSSL_cleanse(key, len);
	free(key);
}

int callback_body(const struct callback_event *ev, char **out, size_t *len, struct error *e)
{
	struct json_object *o = json_object_new_object();
	const char *s;
	size_t n;
	int bad = 0;

	*out = NULL;
	*len = 0;
	if (!o)
		return error_set(e, KD_ENOMEM, "out of memory");
	/* Insertion order is the serialised order: keep docs/DESIGN.md's. */
	bad |= json_object_object_add(o, "job", json_object_new_int64(ev->job));
	bad |= json_object_object_add(o, "state", ev->state ? json_object_new_string(ev->state) : NULL);
	bad |= json_object_object_add(o, "source_id",
				      ev->source_id >= 0 ? json_object_new_int64(ev->source_id) : NULL);
	/* The borrowed values gain a reference; putting o drops it again. */
	bad |= json_object_object_add(o, "images", json_object_get(ev->images));
	bad |= json_object_object_add(o, "bbox", json_object_get(ev->bbox));
	bad |= json_object_object_add(o, "error", ev->error ? json_object_new_string(ev->error) : NULL);
	bad |= json_object_object_add(o, "attempts", json_object_new_int(ev->attempts));
	s = bad ? NULL : json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	if (s)
		*out = malloc(n + 1);
	if (!*out) {
		json_object_put(o);
		return error_set(e, KD_ENOMEM, "out of memory building the callback body");
	}
	memcpy(*out, s, n + 1);
	*len = n;
	json_object_put(o);
	return 0;
}

static int msg_id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > MSG_ID_MAX)
		return 0;
	/* Goes into a header line: no CR, LF or other controls. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= ' ' || id[i] == 0x7f)
			return 0;
	return 1;
}

int callback_post(const struct callback_opts *o, const char *url, const char *msg_id, const char *body,
		  size_t len, const unsigned char *key, size_t keylen, struct callback_result *r,
		  struct error *e)
{
	char hid[MSG_ID_MAX + 16], hts[48], hsig[96], sig[64], shown[256];
	const char *headers[5];
	struct http_request q = { .method = "POST", .url = url, .headers = headers, .body = body, .len = len };
	struct http_response resp;
	long long now = (long long)time(NULL);
	int rc, nh = 0;

	r->status = 0;
	r->retry_after = -1;
	rc = callback_url_check(url, o, e);
	if (rc)
		return rc;
	http_url_for_log(url, shown, sizeof(shown));
	if (!msg_id_ok(msg_id))
		return error_set(e, KD_EINPUT, "callback to %s: bad webhook-id", shown);
	snprintf(hid, sizeof(hid), "webhook-id: %s", msg_id);
	snprintf(hts, sizeof(hts), "webhook-timestamp: %lld", now);
	headers[nh++] = "Content-Type: application/json";
	headers[nh++] = hid;
	headers[nh++] = hts;
	if (key) {
		rc = callback_sign(key, keylen, msg_id, now, body, len, sig, sizeof(sig));
		if (rc)
			return error_set(e, rc, "callback to %s: cannot sign the body", shown);
		snprintf(hsig, sizeof(hsig), "webhook-signature: %s", sig);
		headers[nh++] = hsig;
	}
	headers[nh] = NULL;

	rc = http_exchange(&o->http, &q, &resp, e);
	r->status = resp.status;
	r->retry_after = resp.retry_after;
	http_response_release(&resp);
	if (rc) {
		error_prefix(e, "callback to ");
		/* Only a refusal is final; a big reply or a hiccup may pass later. */
		if (rc == KD_EINPUT || rc == KD_ENOMEM)
			return rc;
		if (e)
			e->code = KD_EIO;
		return KD_EIO;
	}
	if (r->status < 200 || r->status > 299)
		return error_set(e, KD_EIO, "callback to %s: HTTP %ld", shown, r->status);
	return 0;
}

long long callback_backoff(int attempts, long long retry_after, long long base, long long cap)
{
	long long d = base > 0 ? base : 0;

	for (int i = 1; i < attempts && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	if (retry_after >= 0) {
		if (retry_after > RETRY_AFTER_MAX)
			retry_after = RETRY_AFTER_MAX;
		if (retry_after > d)
			d = retry_after;
	}
	return d;
}

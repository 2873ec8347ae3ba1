/* fuzz_url.c - the callback URL check (no network: the check only).
 * Properties: only http(s) passes; no query reaches a log line; and no URL
 * that passes names a metadata address (169.254.0.0/16, 100.100.100.200,
 * 192.0.0.192) as an IPv6 literal in IPv4-mapped, NAT64 (64:ff9b::/96) or
 * local-use NAT64 (64:ff9b:1::/48, any RFC 6052 prefix length) form,
 * decoded here on its own rather than by the code under test. */
#include "config.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "callback.h"
#include "error.h"
#include "fuzz.h"
#include "http.h"

static int v4_metadata(const unsigned char *b, int i, int j, int k, int l)
{
	uint32_t a = (uint32_t)b[i] << 24 | (uint32_t)b[j] << 16 | (uint32_t)b[k] << 8 | b[l];

	return (a >> 16) == 0xa9feu || a == 0x646464c8u || a == 0xc00000c0u;
}

/* 1 when the host of url is an IPv6 literal embedding a metadata IPv4. */
static int names_embedded_metadata(const char *url)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const unsigned char wkp[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
	CURLU *h = curl_url();
	char *host = NULL, buf[64];
	unsigned char b[16];
	size_t n;
	int bad = 0;

	if (h && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && (n = strlen(host)) > 2 && n < sizeof(buf) &&
	    host[0] == '[' && host[n - 1] == ']') {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		if (inet_pton(AF_INET6, buf, b) == 1) {
			if (!memcmp(b, mapped, 12) || !memcmp(b, wkp, 12))
				bad = v4_metadata(b, 12, 13, 14, 15);
			else if (!memcmp(b, wkp, 4) && b[4] == 0 && b[5] == 1)
				bad = v4_metadata(b, 12, 13, 14, 15) || v4_metadata(b, 9, 10, 11, 12) ||
				      v4_metadata(b, 7, 9, 10, 11) || v4_metadata(b, 6, 7, 9, 10);
		}
	}
	curl_free(host);
	curl_url_cleanup(h);
	return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct callback_opts o;
	struct error e;
	char *url = malloc(size + 1);
	char log[256];

	if (!url)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	callback_opts_default(&o);
	if (callback_url_check(url, &o, &e) == 0) {
		if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
			__builtin_trap(); /* only http(s) may pass */
		if (names_embedded_metadata(url))
			__builtin_trap(); /* a metadata address in an IPv6 form passed */
	}
	http_url_for_log(url, log, sizeof(log));
	if (strchr(log, '?'))
		__builtin_trap(); /* queries never reach a log line */
	free(url);
	return 0;
}

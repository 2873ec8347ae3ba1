/* fuzz_url.c - the callback URL check (no network: the check only). */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "callback.h"
#include "error.h"
#include "fuzz.h"

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
	if (callback_url_check(url, &o, &e) == 0 && strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
		__builtin_trap(); /* only http(s) may pass */
	http_url_for_log(url, log, sizeof(log));
	if (strchr(log, '?'))
		__builtin_trap(); /* queries never reach a log line */
	free(url);
	return 0;
}

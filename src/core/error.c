/* error.c - see error.h */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

/* A message cut at ERROR_MSG_MAX may end inside a multi-byte character; it
 * goes into replies, logs and JSON, so drop that partial character. */
static void trim_partial_utf8(char *s)
{
	size_t n = strlen(s), i = n, cont = 0, want;
	unsigned char lead;

	while (i > 0 && cont < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		cont++;
	}
	if (i == 0)
		return;
	lead = (unsigned char)s[i - 1];
	want = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
	if (lead >= 0xC0 && cont < want)
		s[i - 1] = '\0';
}

int error_set(struct error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	trim_partial_utf8(e->msg);
	return code;
}

int error_prefix(struct error *e, const char *fmt, ...)
{
	char head[ERROR_MSG_MAX];
	size_t hn, on;
	va_list ap;
	int n;

	if (!e)
		return KD_EINTERNAL;
	va_start(ap, fmt);
	n = vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	if (n < 0)
		return e->code;
	hn = strlen(head);
	on = strnlen(e->msg, sizeof(e->msg) - 1);
	/* When both do not fit, the old message loses its tail. */
	if (hn >= sizeof(e->msg) - 1)
		hn = sizeof(e->msg) - 1;
	if (hn + on > sizeof(e->msg) - 1)
		on = sizeof(e->msg) - 1 - hn;
	memmove(e->msg + hn, e->msg, on);
	memcpy(e->msg, head, hn);
	e->msg[hn + on] = '\0';
	trim_partial_utf8(e->msg);
	return e->code;
}

void error_clear(struct error *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

const char *error_name(int code)
{
	switch (code) {
	case KD_OK: return "ok";
	case KD_EINPUT: return "bad input";
	case KD_EIO: return "I/O error";
	case KD_ENOMEM: return "out of memory";
	case KD_EBUSY: return "busy";
	case KD_ELIMIT: return "limit exceeded";
	case KD_ELEASE: return "lease lost";
	case KD_ECANCEL: return "cancelled";
	default: return "internal error";
	}
}

int error_is_transient(int code)
{
	return code == KD_EIO || code == KD_ENOMEM || code == KD_EBUSY;
}

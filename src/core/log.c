/* log.c - see log.h */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

int log_level = LOG_INFO;

int log_level_parse(const char *name)
{
	static const struct { const char *name; int level; } names[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARN }, { "warn", LOG_WARN },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return names[i].level;
	return -1;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes) that is not a
 * C1 control (U+0080..U+009F, which terminals obey like ESC [), else 0. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	size_t k;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) { k = 2; cp = s[0] & 0x1fu; }
	else if (s[0] >= 0xe0 && s[0] <= 0xef) { k = 3; cp = s[0] & 0x0fu; }
	else if (s[0] >= 0xf0 && s[0] <= 0xf4) { k = 4; cp = s[0] & 0x07u; }
	else return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if (cp < 0xa0 || (k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return k;
}

size_t log_escape(const char *in, size_t len, char *out, size_t outlen, size_t *used)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, i = 0;

	if (used)
		*used = 0;
	if (outlen == 0)
		return 0;
	while (i < len) {
		char esc[8];
		size_t k = 1, m;
		const char *src = esc;

		if (s[i] == '\\') {
			strcpy(esc, "\\\\");
		} else if (s[i] >= 0x20 && s[i] < 0x7f) {
			src = (const char *)s + i;
		} else if (s[i] >= 0x80 && (k = utf8_printable(s + i, len - i)) > 0) {
			src = (const char *)s + i;
		} else {
			static const char named[] = "\n\r\t", letter[] = "nrt";
			const char *c = s[i] ? strchr(named, s[i]) : NULL;

			k = 1;
			if (c)
				snprintf(esc, sizeof(esc), "\\%c", letter[c - named]);
			else
				snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		}
		m = src == esc ? strlen(esc) : k;
		if (o + m >= outlen)
			break; /* never half an escape or half a character */
		memcpy(out + o, src, m);
		o += m;
		i += k;
	}
	out[o] = '\0';
	if (used)
		*used = i;
	return o;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[1024], msg[1024];
	va_list ap;
	int n, m;

	if (level > log_level)
		return;
	n = snprintf(line, sizeof(line), "<%d>krigd[%ld]: ", level, (long)getpid());
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if (m > (int)sizeof(msg) - 1)
		m = (int)sizeof(msg) - 1;
	/* Whatever a message quotes (a pubtime, a URL, a GeoJSON type) stays on
	 * this one line: no byte of it can start another or drive a terminal. */
	n += (int)log_escape(msg, (size_t)m, line + n, sizeof(line) - (size_t)n - 1, NULL);
	line[n++] = '\n';
	/* One write: concurrent children's lines stay whole. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

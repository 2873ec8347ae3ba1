/* log.c - see log.h */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

int log_level = LOG_INFO;
int log_format = LOG_FORMAT_AUTO;

int log_format_parse(const char *name)
{
	static const char *const names[] = { "auto", "text", "journal", "json" };

	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

/* $JOURNAL_STREAM is "DEV:INODE" of the stream journald gave us; it is
 * ours only while stderr is still that stream (not redirected since). */
static int stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int resolved_format;
static void resolve_format(void)
{
	resolved_format = log_format != LOG_FORMAT_AUTO ? log_format
			  : stderr_is_journal() ? LOG_FORMAT_JOURNAL : LOG_FORMAT_TEXT;
}

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

/* "2026-03-01T09:00:00.123Z" into buf (at least 32 bytes). */
static void iso_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* The job a message is about ("job N: ..."), or 0. */
static long long job_of(const char *msg, size_t *skip)
{
	long long id = 0;
	int n = 0;

	if (sscanf(msg, "job %lld: %n", &id, &n) != 1 || n == 0 || id <= 0)
		return 0;
	*skip = (size_t)n;
	return id;
}

/* The JSON form: the escaped message (printable UTF-8, '\\' escapes) needs
 * only '"' and '\\' escaped again. */
static int json_line(char *line, size_t len, int level, long long job, const char *esc)
{
	static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
	char ts[40];
	int n;

	iso_now(ts, sizeof(ts));
	n = snprintf(line, len, "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%ld,", ts, names[level & 7],
		     (long)getpid());
	if (job > 0)
		n += snprintf(line + n, len - (size_t)n, "\"job\":%lld,", job);
	n += snprintf(line + n, len - (size_t)n, "\"message\":\"");
	for (const char *c = esc; *c && (size_t)n < len - 4; c++) {
		if (*c == '"' || *c == '\\')
			line[n++] = '\\';
		line[n++] = *c;
	}
	line[n++] = '"';
	line[n++] = '}';
	return n;
}

void log_msg(int level, const char *fmt, ...)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	char line[2300], msg[1024], esc[1024], ts[40];
	size_t skip = 0;
	long long job;
	va_list ap;
	int n, m;

	if (level > log_level)
		return;
	pthread_once(&once, resolve_format);
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if (m > (int)sizeof(msg) - 1)
		m = (int)sizeof(msg) - 1;
	job = job_of(msg, &skip);
	/* Whatever a message quotes (a pubtime, a URL, a GeoJSON type) stays on
	 * this one line: no byte of it can start another or drive a terminal. */
	log_escape(msg, (size_t)m, esc, sizeof(esc), NULL);
	if (resolved_format == LOG_FORMAT_JOURNAL && notify_journal(level, job, esc) == 0)
		return;
	if (resolved_format == LOG_FORMAT_JSON) {
		n = json_line(line, sizeof(line) - 1, level, job, esc + skip);
	} else {
		n = 0;
		if (resolved_format == LOG_FORMAT_TEXT) {
			iso_now(ts, sizeof(ts));
			n = snprintf(line, sizeof(line), "%s ", ts);
		}
		n += snprintf(line + n, sizeof(line) - (size_t)n, "<%d>krigd[%ld]: %s", level, (long)getpid(), esc);
	}
	line[n++] = '\n';
	/* One write: concurrent children's lines stay whole. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

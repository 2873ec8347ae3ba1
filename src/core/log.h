/* log.h - one line per event, in one of three forms (log_format):
 *  - text (a plain stderr: $JOURNAL_STREAM unset or not our stderr): an
 *    ISO 8601 UTC timestamp, then "<p>krigd[pid]: message";
 *  - journal (stderr is journald's stream): with libsystemd, structured
 *    fields through sd_journal_send (MESSAGE, PRIORITY, JOB_ID); without,
 *    "<p>krigd[pid]: message", the priority prefix journald understands
 *    ("<3>" for errors ... "<7>" for debug, sd-daemon(3));
 *  - json: one object per line, {"time", "level", "pid", "job", "message"}.
 * A message that starts "job N: " is about job N: its JOB_ID / "job".
 * Level and format are configuration (the only globals), set in main. */
#ifndef KD_LOG_H
#define KD_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 3, LOG_WARN = 4, LOG_NOTICE = 5, LOG_INFO = 6, LOG_DEBUG = 7 };

/* Lines above this level are dropped; default LOG_INFO. */
extern int log_level;

/* Parse "error", "warning", "notice", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *name);

enum log_format { LOG_FORMAT_AUTO, LOG_FORMAT_TEXT, LOG_FORMAT_JOURNAL, LOG_FORMAT_JSON };

/* LOG_FORMAT_AUTO (the default): journal when $JOURNAL_STREAM names our
 * stderr, else text.  Set before the first line is written. */
extern int log_format;

/* Parse "auto", "text", "journal", "json"; -1 if unknown. */
int log_format_parse(const char *name);

/* Write one line in one write(2) (or one sd_journal_send), so lines of
 * processes sharing stderr never interleave; the message passes through
 * log_escape, so it is always exactly one line.  Never fails loudly. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy in[0..len) to out (outlen bytes, NUL-terminated) with every byte
 * that could end a line or steer a terminal escaped: C0 controls and DEL
 * as \n \r \t or \xHH, C1 controls and invalid UTF-8 as \xHH, and '\\'
 * as "\\\\" (so an escape in the input cannot pass for ours).  Cuts
 * only between whole characters.  Returns the bytes written; *used (may be
 * NULL) gets how much of in they stand for (< len when cut).  Used for
 * every log line and for operator output. */
size_t log_escape(const char *in, size_t len, char *out, size_t outlen, size_t *used);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

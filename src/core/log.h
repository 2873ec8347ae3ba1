/* log.h - one line per event on stderr, with a priority prefix journald
 * understands ("<3>" for errors ... "<7>" for debug, sd-daemon(3)).
 * The level is configuration (the only global), set once in main. */
#ifndef KD_LOG_H
#define KD_LOG_H

enum log_level { LOG_ERR = 3, LOG_WARN = 4, LOG_NOTICE = 5, LOG_INFO = 6, LOG_DEBUG = 7 };

/* Lines above this level are dropped; default LOG_INFO. */
extern int log_level;

/* Parse "error", "warning", "notice", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *name);

/* Write one line: "<p>krigd[pid]: message\n" in one write(2), so lines of
 * processes sharing stderr never interleave.  Never fails loudly. */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

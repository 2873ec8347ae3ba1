/* error.h - the one error convention of krigd.
 *
 * Internal functions return 0 on success or one of the negative KD_E* codes
 * below, and fill a struct error whose message a person can read in a log or
 * in a job's last_error.  Nothing below main() exits or prints on its own.
 * The code says what the caller may do: KD_EINPUT can never succeed (a job
 * goes dead at once), KD_EIO and KD_EBUSY may succeed later (retry). */
#ifndef KD_ERROR_H
#define KD_ERROR_H

#include <stddef.h>

enum {
	KD_OK = 0,
	KD_EINPUT = -1,    /* bad input: permanent, retrying cannot help */
	KD_EIO = -2,       /* I/O, network or disk: transient */
	KD_ENOMEM = -3,    /* allocation failed */
	KD_EBUSY = -4,     /* database locked past its busy time-out */
	KD_ELIMIT = -5,    /* a configured limit was exceeded: permanent */
	KD_ELEASE = -6,    /* our lease was lost; another worker owns the job */
	KD_EINTERNAL = -7, /* a bug: an invariant did not hold */
	KD_ECANCEL = -8,   /* the job was cancelled while it ran */
};

#define ERROR_MSG_MAX 512

struct error {
	int code;
	char msg[ERROR_MSG_MAX];
};

/* Fill e (if not NULL) with code and a printf-style message; returns code,
 * so `return error_set(e, KD_EINPUT, "...")` reads as one statement. */
int error_set(struct error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepend context ("frame 3: ") to the message already in e; returns e->code.
 * Used when an error travels up through a layer that knows more. */
int error_prefix(struct error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Reset e to "no error". */
void error_clear(struct error *e);

/* A short name for a code ("bad input", "I/O error", ...), for logs. */
const char *error_name(int code);

/* True when a job that failed with code should be retried later. */
int error_is_transient(int code);

#endif

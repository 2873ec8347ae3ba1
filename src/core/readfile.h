/* readfile.h - a whole file into memory, up to a cap.
 *
 * Anything read from outside has a maximum size and fails cleanly past it
 * (curl's dynbuf rule): job files, boundaries, a submit's standard input. */
#ifndef KD_READFILE_H
#define KD_READFILE_H

#include <stddef.h>

struct error;

/* Read path ("-": standard input, left open) to its end into *buf, with a
 * NUL after the last byte (*len does not count it); the caller frees *buf.
 * Reads to EOF rather than trusting the size fstat gives, so the cap holds
 * whatever the file grows to.  Errors, with *buf NULL and path in the
 * message: KD_EIO (cannot open or read, strerror's words: a directory is
 * "Is a directory"), KD_ELIMIT (more than max bytes; the message says
 * "N MiB" when max is a whole number of MiB), KD_ENOMEM. */
int readfile_capped(const char *path, size_t max, char **buf, size_t *len, struct error *e);

#endif

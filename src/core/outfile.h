/* outfile.h - durable, atomic output files under an output directory.
 *
 * A file is written under a unique temporary name in its final directory,
 * then flushed, fsynced, closed and renamed, so a reader sees either no file
 * or the whole file, even across a crash; after the renames the caller fsyncs
 * the directory (outdir_sync) to make the names durable.  Directories are
 * walked one component at a time without following symbolic links, so job
 * data can never steer a write outside the output directory. */
#ifndef KD_OUTFILE_H
#define KD_OUTFILE_H

#include <limits.h>
#include <stdio.h>

struct error;

/* Temporary names start with this; whatever is left after a crash can be
 * recognised and removed. */
#define OUTFILE_TMP_PREFIX ".krigd-tmp."

/* Where f->fp's bytes go: the temporary file's descriptor and the errno of
 * the first write that failed (stdio keeps only a flag, and a full disk must
 * be reported as ENOSPC, not as "I/O error").  Internal to outfile.c. */
struct outfile_sink {
	int fd;
	int err;
};

struct outfile {
	FILE *fp;                  /* write here between open and commit/abort */
	int dirfd;                 /* borrowed, not closed */
	struct outfile_sink *sink; /* owned, freed by commit/abort */
	char tmp[64];
	char name[NAME_MAX + 1];
};

#define OUTFILE_INIT { NULL, -1, NULL, "", "" }

/* 1 when name is one safe path component: not empty, not "." or "..", no
 * '/', no control characters, at most NAME_MAX bytes. */
int outfile_name_ok(const char *name);

/* Open (with create, making missing directories 0755) the directory relpath
 * relative to parentfd (AT_FDCWD or a directory fd; a leading '/' starts at
 * the root).  No component may be a symbolic link, "..", or empty ("a//b";
 * "." and a trailing '/' are allowed).  Returns the new directory fd (the
 * caller closes it) or a negative KD_E* code: KD_EINPUT for a bad path,
 * KD_EIO for what the file system refused. */
int outdir_open(int parentfd, const char *relpath, int create, struct error *e);

/* fsync a directory so that renames into it survive a crash; KD_EIO. */
int outdir_sync(int dirfd, struct error *e);

/* Remove temporary files a crashed writer left in dirfd (names starting
 * with OUTFILE_TMP_PREFIX); returns how many, or KD_EIO.  Call it only
 * where no other writer can be at work, e.g. when a job's directory is
 * (re)opened by the worker that holds the job's lease. */
int outdir_clean_tmp(int dirfd, struct error *e);

/* Start writing name (validated with outfile_name_ok: KD_EINPUT) in dirfd:
 * creates a fresh temporary file, mode 0644 whatever the umask, and opens
 * f->fp on it.  On error nothing is left behind and f->fp is NULL. */
int outfile_open(struct outfile *f, int dirfd, const char *name, struct error *e);

/* Flush, check for any write error, fsync, close and rename to the final
 * name (replacing an older file of that name).  On any failure (ENOSPC...)
 * KD_EIO names the file and the reason and the temporary file is removed.
 * Either way f->fp is NULL afterwards. */
int outfile_commit(struct outfile *f, struct error *e);

/* Close and remove the temporary file; safe on an outfile that was never
 * opened, already committed or already aborted. */
void outfile_abort(struct outfile *f);

#endif

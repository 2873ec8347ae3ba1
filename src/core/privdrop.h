/* privdrop.h - least privilege: `--user NAME` on listen, drain and serve.
 *
 * A daemon started as root binds its socket and opens its database and
 * output directory, then becomes NAME for good: supplementary groups from
 * NAME's entry (initgroups), then gid, then uid, and a check that root
 * cannot be regained.  Files root had to create for it (the queue database
 * and its -wal/-shm, the socket) are handed to NAME first, because SQLite
 * reopens them after the drop. */
#ifndef KD_PRIVDROP_H
#define KD_PRIVDROP_H

#include <sys/types.h>

struct error;

struct privdrop {
	const char *user;   /* NULL: no --user given */
	char name[64];      /* the passwd name for initgroups ("" if the uid has none) */
	uid_t uid;
	gid_t gid;
	const char *give[4]; /* paths to chown to the user before the drop (NULL-terminated) */
	const char *db_path; /* its -wal and -shm are given too */
	const char *check_dir; /* must be writable once dropped (--out), or NULL */
};

/* Resolve user (a name or a number) into p->uid/p->gid, at start, so a bad
 * name is a usage error before anything is opened.  KD_EINPUT if unknown;
 * KD_EINPUT too if not running as root (nothing to drop). */
int privdrop_lookup(struct privdrop *p, const char *user, struct error *e);

/* Without --user: log a warning when running as root.  With it: hand over
 * the listed files, drop, verify.  An after_open hook (listener.h,
 * drain.h) with a struct privdrop as ctx.  Errors leave the process as it
 * was only if nothing was changed yet; a failed drop is KD_EIO and the
 * caller must stop. */
int privdrop_apply(void *p, struct error *e);

#endif

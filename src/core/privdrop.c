/* privdrop.c - see privdrop.h */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "privdrop.h"

int privdrop_lookup(struct privdrop *p, const char *user, struct error *e)
{
	struct passwd *pw;
	char *end;
	unsigned long n;

	p->user = user;
	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		/* A number names a uid with no passwd entry: its gid is its uid. */
		errno = 0;
		n = strtoul(user, &end, 10);
		if (*user && !*end && !errno && n > 0 && n < 0xfffffffful) {
			p->uid = (uid_t)n;
			p->gid = (gid_t)n;
			p->name[0] = '\0';
			if ((pw = getpwuid(p->uid))) {
				p->gid = pw->pw_gid;
				snprintf(p->name, sizeof(p->name), "%s", pw->pw_name);
			}
		} else {
			return error_set(e, KD_EINPUT, "--user %s: no such user", user);
		}
	} else {
		p->uid = pw->pw_uid;
		p->gid = pw->pw_gid;
		snprintf(p->name, sizeof(p->name), "%s", pw->pw_name);
	}
	if (p->uid == 0)
		return error_set(e, KD_EINPUT, "--user %s: that is root; name an unprivileged user", user);
	if (geteuid() != 0)
		return error_set(e, KD_EINPUT, "--user %s: only root can change user (running as uid %ld)", user,
				 (long)geteuid());
	return 0;
}

/* Give path to the user if root owns it (root just created it for us);
 * a file owned by someone else is left alone.  A missing file is fine. */
static int give(const struct privdrop *p, const char *path, struct error *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : error_set(e, KD_EIO, "%s: %s", path, strerror(errno));
	if (st.st_uid != 0 || S_ISLNK(st.st_mode))
		return 0;
	if (lchown(path, p->uid, p->gid) < 0)
		return error_set(e, KD_EIO, "handing %s to user %s: %s", path, p->user, strerror(errno));
	return 0;
}

int privdrop_apply(void *ctx, struct error *e)
{
	struct privdrop *p = ctx;
	uid_t r, ef, s;
	gid_t rg, eg, sg;
	pid_t ppid = getppid();
	int rc, deathsig = 0;

	if (!p || !p->user) {
		if (geteuid() == 0)
			log_warn("running as root: give --user NAME to drop root once the socket and files are open");
		return 0;
	}
	for (int i = 0; i < 4 && p->give[i]; i++)
		if ((rc = give(p, p->give[i], e)) < 0)
			return rc;
	if (p->db_path) {
		const char *sfx[] = { "", "-wal", "-shm", "-journal" };
		for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
			size_t n = strlen(p->db_path) + 10;
			char *path = malloc(n);
			if (!path)
				return error_set(e, KD_ENOMEM, "out of memory");
			snprintf(path, n, "%s%s", p->db_path, sfx[i]);
			rc = give(p, path, e);
			free(path);
			if (rc < 0)
				return rc;
		}
	}
	/* The parent-death signal (serve's children die with it) is cleared by
	 * the kernel when the ids change: read it now, set it again after. */
	if (prctl(PR_GET_PDEATHSIG, &deathsig) < 0)
		deathsig = 0;
	/* Order matters: groups and gid while we still may, uid last.  The
	 * user's supplementary groups by passwd name (--user 1000 too); a uid
	 * with no passwd entry gets none. */
	if ((!p->name[0] || initgroups(p->name, p->gid) < 0) && setgroups(0, NULL) < 0)
		return error_set(e, KD_EIO, "--user %s: setting groups: %s", p->user, strerror(errno));
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return error_set(e, KD_EIO, "--user %s: setgid: %s", p->user, strerror(errno));
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return error_set(e, KD_EIO, "--user %s: setuid: %s", p->user, strerror(errno));
	/* Verify: every id is the user's, and root cannot be taken back. */
	if (getresuid(&r, &ef, &s) < 0 || r != p->uid || ef != p->uid || s != p->uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != p->gid || eg != p->gid || sg != p->gid)
		return error_set(e, KD_EIO, "--user %s: the ids did not all change", p->user);
	if (setuid(0) == 0 || seteuid(0) == 0)
		return error_set(e, KD_EIO, "--user %s: root could be regained; stopping", p->user);
	if (deathsig) {
		if (prctl(PR_SET_PDEATHSIG, deathsig) < 0)
			return error_set(e, KD_EIO, "--user %s: parent-death signal: %s", p->user, strerror(errno));
		/* The parent may have died while the signal was off. */
		if (getppid() != ppid)
			return error_set(e, KD_EIO, "--user %s: the supervisor is gone", p->user);
	}
	/* (The kernel has made the process non-dumpable on the uid change, so
	 * the user cannot ptrace or core-dump what root opened.) */
	if (p->check_dir && access(p->check_dir, W_OK | X_OK) < 0)
		return error_set(e, KD_EIO, "%s is not writable by user %s (%s): chown it to that user", p->check_dir,
				 p->user, strerror(errno));
	log_info("running as user %s (uid %ld, gid %ld)", p->user, (long)p->uid, (long)p->gid);
	return 0;
}

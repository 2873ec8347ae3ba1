/* purge.c - see purge.h */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "outputs.h"
#include "purge.h"
#include "queue.h"

/* A name the renderer writes in a job directory: a frame's files (a
 * suffix of the output writers' table, outputs.h), or a temporary a
 * killed drain left. */
static int ours(const char *name)
{
	char base[NAME_MAX + 1];

	if (strncmp(name, OUTFILE_TMP_PREFIX, strlen(OUTFILE_TMP_PREFIX)) == 0)
		return 1;
	return outputs_base_of(name, base, sizeof(base)) == 0 && base[0];
}

/* each(ctx, dirfd, name) for every entry of the directory dirfd. */
static int each_entry(int dirfd, int (*each)(void *, int, const char *), void *ctx, struct error *e)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	/* fdopendir takes the descriptor over: give it a copy. */
	if ((fd = dup(dirfd)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return error_set(e, KD_EIO, "listing a directory below --out: %s", strerror(errno));
	}
	rewinddir(d); /* the copy shares its offset with dirfd: a second listing starts at the end */
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			rc = each(ctx, dirfd, de->d_name);
	closedir(d);
	return rc;
}

typedef int (*file_fn)(void *ctx, int dirfd, const char *dir, const char *name, struct error *e);

struct listing {
	long long id;
	const char *index;
	file_fn each;
	void *ctx;
	struct error *e;
};

static int list_file(void *ctx, int dirfd, const char *name)
{
	struct listing *l = ctx;
	char dir[NAME_MAX * 2 + 2];

	snprintf(dir, sizeof(dir), "%s/%lld", l->index, l->id);
	return ours(name) ? l->each(l->ctx, dirfd, dir, name, l->e) : 0;
}

static int list_index(void *ctx, int outfd, const char *index)
{
	struct listing *l = ctx;
	char dir[NAME_MAX * 2 + 2];
	int dfd, rc;

	snprintf(dir, sizeof(dir), "%s/%lld", index, l->id);
	if ((dfd = outdir_open(outfd, dir, 0, NULL)) < 0)
		return 0; /* no such directory, or a link: not ours */
	l->index = index;
	rc = each_entry(dfd, list_file, l, l->e);
	close(dfd);
	return rc;
}

/* THE list of a job's files: each(ctx, dirfd, "INDEX/ID", name) for each
 * file the renderer wrote for job id, partial frames of a job that died or
 * was cancelled included: what sits in OUT/INDEX/ID/ (every job has its
 * own directory; INDEX comes from the source row, so every INDEX is
 * looked in).  result (the job's result JSON, or NULL) is not needed to
 * find them. */
static int job_files(int outfd, long long id, const char *result, file_fn each, void *ctx, struct error *e)
{
	struct listing l = { id, NULL, each, ctx, e };

	(void)result;
	return each_entry(outfd, list_index, &l, e);
}

static int remove_file(void *ctx, int dirfd, const char *dir, const char *name, struct error *e)
{
	(void)ctx;
	if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return error_set(e, KD_EIO, "removing %s/%s: %s", dir, name, strerror(errno));
	return 0;
}

/* Remove OUT/INDEX/ID if it is an empty, real directory (unlinkat of a
 * link with AT_REMOVEDIR fails; outdir_open refuses a linked INDEX). */
static int remove_job_dir(void *ctx, int outfd, const char *index)
{
	const long long *id = ctx;
	char name[32];
	int pfd;

	if ((pfd = outdir_open(outfd, index, 0, NULL)) < 0)
		return 0;
	snprintf(name, sizeof(name), "%lld", *id);
	unlinkat(pfd, name, AT_REMOVEDIR);
	close(pfd);
	return 0;
}

int purge_job_files(void *ctx, long long id, const char *state, const char *result, int *files_kept,
		    struct error *e)
{
	struct purge_files *pf = ctx;
	int rc;

	*files_kept = strcmp(state, "done") == 0 && !pf->images;
	if (*files_kept)
		return 0;
	if (pf->outfd < 0) {
		pf->left++;
		return 0;
	}
	if ((rc = job_files(pf->outfd, id, result, remove_file, NULL, e)) < 0)
		return rc;
	/* the job's directory, once empty (something not ours keeps it) */
	return each_entry(pf->outfd, remove_job_dir, &id, e);
}

/* ---- --orphans ------------------------------------------------------------ */

struct sweep {
	struct queue *q;
	const char *index;
	long long dirs;
	struct error *e;
};

static int remove_ours(void *ctx, int dirfd, const char *name)
{
	(void)ctx;
	if (ours(name) && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* One INDEX/ID entry: a directory named by a job id no one owns. */
static int sweep_job(void *ctx, int indexfd, const char *name)
{
	struct sweep *s = ctx;
	char *end;
	long long id;
	int dfd, rc;

	errno = 0;
	id = strtoll(name, &end, 10);
	if (errno || *end || end == name || name[0] == '0' || id <= 0)
		return 0;
	if ((rc = queue_files_owned(s->q, id, s->e)) != 0)
		return rc < 0 ? rc : 0;
	if ((dfd = outdir_open(indexfd, name, 0, NULL)) < 0)
		return 0; /* a file, or a link: not ours */
	rc = each_entry(dfd, remove_ours, NULL, s->e);
	close(dfd);
	if (rc < 0)
		return error_set(s->e, KD_EIO, "removing the files of %s/%s: %s", s->index, name, strerror(errno));
	if (unlinkat(indexfd, name, AT_REMOVEDIR) == 0)
		s->dirs++;
	return 0;
}

static int sweep_index(void *ctx, int outfd, const char *index)
{
	struct sweep *s = ctx;
	int dfd, rc;

	if ((dfd = outdir_open(outfd, index, 0, NULL)) < 0)
		return 0;
	s->index = index;
	rc = each_entry(dfd, sweep_job, s, s->e);
	close(dfd);
	return rc;
}

int purge_orphans(struct queue *q, int outfd, long long *dirs, struct error *e)
{
	struct sweep s = { q, NULL, 0, e };
	int rc = each_entry(outfd, sweep_index, &s, e);

	*dirs = s.dirs;
	return rc;
}

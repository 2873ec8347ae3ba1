/* purge.h - the files side of `krigd purge`: which files a purged job
 * leaves behind and removing them below --out, and the sweep of image
 * directories no job owns (--orphans).  Nothing below --out is followed
 * if it is a symbolic link (outdir_open), and only the names the renderer
 * writes are removed: a directory holding anything else stays. */
#ifndef KD_PURGE_H
#define KD_PURGE_H

#include "error.h"

struct queue;

struct purge_files {
	int outfd;      /* --out (opened following a link the operator chose), or -1 */
	int images;     /* --images: a done job's files go too */
	long long left; /* dead or cancelled jobs whose files stay: no --out */
};

/* A queue_purge_fn (queue.h).  A done job keeps its files unless --images
 * (they are what img_list and web pages serve); a dead or cancelled job's
 * files, partial frames included, are removed when --out is known, else
 * counted in left.  *files_kept says which, for the purged table. */
int purge_job_files(void *ctx, long long id, const char *state, const char *result, int *files_kept,
		    struct error *e);

/* purge --orphans: remove the files (and the then empty directory) of
 * each INDEX/ID directory below outfd whose job has neither a row nor a
 * record of kept files (queue_files_owned).  *dirs gets how many
 * directories were emptied. */
int purge_orphans(struct queue *q, int outfd, long long *dirs, struct error *e);

#endif

/* outfile.c - see outfile.h */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "outfile.h"

int outfile_name_ok(const char *name)
{
	const unsigned char *s;

	if (!name || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (strlen(name) > NAME_MAX)
		return 0;
	for (s = (const unsigned char *)name; *s; s++)
		if (*s == '/' || *s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* Open one component below fd without following a symbolic link, creating it
 * (0755 whatever the umask, parent fsynced so the new entry is durable). */
static int open_component(int fd, const char *comp, int create, const char *path, int pathlen, struct error *e)
{
	const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct stat st;
	int nfd, err, created = 0;

	nfd = openat(fd, comp, flags);
	if (nfd < 0 && errno == ENOENT && create) {
		if (mkdirat(fd, comp, 0755) == 0)
			created = 1;
		else if (errno != EEXIST) /* EEXIST: someone else made it first */
			return error_set(e, KD_EIO, "cannot create directory %.*s: %s", pathlen, path,
					 strerror(errno));
		nfd = openat(fd, comp, flags);
	}
	if (nfd < 0) {
		err = errno;
		if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			return error_set(e, KD_EIO, "%.*s is a symbolic link; output paths never follow links",
					 pathlen, path);
		return error_set(e, KD_EIO, "cannot open directory %.*s: %s", pathlen, path, strerror(err));
	}
	if (created && (fchmod(nfd, 0755) != 0 || fsync(fd) != 0)) {
		err = errno;
		close(nfd);
		return error_set(e, KD_EIO, "cannot set up directory %.*s: %s", pathlen, path, strerror(err));
	}
	return nfd;
}

int outdir_open(int parentfd, const char *relpath, int create, struct error *e)
{
	char comp[NAME_MAX + 1];
	const char *p = relpath;
	int fd, nfd;

	if (!relpath || !*relpath)
		return error_set(e, KD_EINPUT, "the output directory path is empty");
	if (*p == '/') {
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		while (*p == '/')
			p++;
	} else {
		/* Our own descriptor of the parent, so every step can close the last. */
		fd = openat(parentfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return error_set(e, KD_EIO, "cannot open the directory above %s: %s", relpath, strerror(errno));
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int pathlen = (int)(p + len - relpath);
		const unsigned char *s;

		if (len == 0) {
			close(fd);
			return error_set(e, KD_EINPUT, "the path %s has an empty component", relpath);
		}
		if (len > NAME_MAX) {
			close(fd);
			return error_set(e, KD_EINPUT, "a component of %.*s is longer than %d bytes", pathlen,
					 relpath, NAME_MAX);
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		for (s = (const unsigned char *)comp; *s; s++) {
			if (*s < 0x20 || *s == 0x7f) {
				close(fd);
				return error_set(e, KD_EINPUT, "the path %s has a control character", relpath);
			}
		}
		if (strcmp(comp, "..") == 0) {
			close(fd);
			return error_set(e, KD_EINPUT, "the path %s goes up with \"..\"; not allowed", relpath);
		}
		if (strcmp(comp, ".") != 0) {
			nfd = open_component(fd, comp, create, relpath, pathlen, e);
			close(fd);
			if (nfd < 0)
				return nfd;
			fd = nfd;
		}
		p += len;
		if (*p == '/')
			p++; /* a single trailing '/' ends the loop here */
	}
	return fd;
}

int outdir_sync(int dirfd, struct error *e)
{
	if (fsync(dirfd) != 0)
		return error_set(e, KD_EIO, "cannot sync the output directory: %s", strerror(errno));
	return 0;
}

/* 64 bits that make a temporary name unlikely to be taken; O_EXCL makes a
 * clash harmless anyway (we draw again). */
static unsigned long long tmp_bits(unsigned attempt)
{
	unsigned long long v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((unsigned long long)ts.tv_sec << 30) ^ (unsigned long long)ts.tv_nsec ^
	       ((unsigned long long)getpid() << 40) ^ attempt;
}

static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
	struct outfile_sink *s = cookie;
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(s->fd, buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!s->err)
				s->err = w < 0 ? errno : EIO;
			errno = s->err;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)n;
}

static int sink_close(void *cookie)
{
	struct outfile_sink *s = cookie;
	int rc = s->fd >= 0 ? close(s->fd) : 0;

	s->fd = -1;
	return rc;
}

int outdir_clean_tmp(int dirfd, struct error *e)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	/* fdopendir takes the descriptor over: give it a copy. */
	if ((fd = dup(dirfd)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return error_set(e, KD_EIO, "listing an output directory: %s", strerror(errno));
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, OUTFILE_TMP_PREFIX, strlen(OUTFILE_TMP_PREFIX)) != 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int outfile_open(struct outfile *f, int dirfd, const char *name, struct error *e)
{
	static const cookie_io_functions_t io = { NULL, sink_write, NULL, sink_close };

	unsigned attempt;
	int fd = -1, err;

	f->fp = NULL;
	f->dirfd = dirfd;
	f->sink = NULL;
	f->tmp[0] = '\0';
	f->name[0] = '\0';
	if (!outfile_name_ok(name))
		return error_set(e, KD_EINPUT, "\"%.80s\" is not a safe file name", name ? name : "(null)");
	strcpy(f->name, name);
	for (attempt = 0; attempt < 16; attempt++) {
		snprintf(f->tmp, sizeof(f->tmp), OUTFILE_TMP_PREFIX "%016llx", tmp_bits(attempt));
		fd = openat(dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		err = errno;
		f->tmp[0] = '\0';
		return error_set(e, KD_EIO, "cannot create a temporary file for %s: %s", name, strerror(err));
	}
	/* The mode is part of the contract (readers are other users, e.g. a web
	 * server), so the process umask must not narrow it. */
	if (fchmod(fd, 0644) != 0 || !(f->sink = malloc(sizeof(*f->sink)))) {
		err = errno;
		close(fd);
		unlinkat(dirfd, f->tmp, 0);
		f->tmp[0] = '\0';
		return error_set(e, KD_EIO, "cannot set up a temporary file for %s: %s", name, strerror(err));
	}
	f->sink->fd = fd;
	f->sink->err = 0;
	/* A stdio stream over our own write function, which keeps the errno of
	 * the first failed write for outfile_commit's message. */
	f->fp = fopencookie(f->sink, "w", io);
	if (!f->fp) {
		close(fd);
		unlinkat(dirfd, f->tmp, 0);
		f->tmp[0] = '\0';
		free(f->sink);
		f->sink = NULL;
		return error_set(e, KD_ENOMEM, "out of memory for a stream for %s", name);
	}
	return 0;
}

int outfile_commit(struct outfile *f, struct error *e)
{
	int err = 0;

	if (!f->fp)
		return error_set(e, KD_EINTERNAL, "outfile_commit on %s, which is not open", f->name);
	if ((fflush(f->fp) != 0 || ferror(f->fp)) && !f->sink->err)
		f->sink->err = EIO;
	err = f->sink->err; /* the first failed write's errno, e.g. ENOSPC */
	if (!err && fsync(f->sink->fd) != 0)
		err = errno;
	if (fclose(f->fp) != 0 && !err)
		err = errno;
	f->fp = NULL;
	free(f->sink);
	f->sink = NULL;
	if (!err && renameat(f->dirfd, f->tmp, f->dirfd, f->name) != 0)
		err = errno;
	if (err) {
		unlinkat(f->dirfd, f->tmp, 0);
		f->tmp[0] = '\0';
		return error_set(e, KD_EIO, "writing %s: %s", f->name, strerror(err));
	}
	f->tmp[0] = '\0';
	return 0;
}

void outfile_abort(struct outfile *f)
{
	if (f->fp) {
		fclose(f->fp); /* closes the descriptor through sink_close */
		f->fp = NULL;
	}
	free(f->sink);
	f->sink = NULL;
	if (f->tmp[0]) {
		unlinkat(f->dirfd, f->tmp, 0);
		f->tmp[0] = '\0';
	}
}

/* enospc_shim.c - LD_PRELOAD shim for tests/fault/fault-disk.test: a disk that
 * fills up and frees again while krigd runs.
 *
 *   KD_ENOSPC_DIR=PREFIX   files whose path starts with PREFIX are "on the disk"
 *   KD_ENOSPC_FLAG=FILE    while FILE exists, write, pwrite, writev, fsync,
 *                          fdatasync and fallocate on such files fail ENOSPC
 *   KD_ENOSPC_ARM=SUFFIX   optional: a rename to a name ending in SUFFIX
 *                          creates FILE (the disk fills right after, say,
 *                          a PNG was finished: the next commit fails);
 *                          once per process, so the retry after the test
 *                          removed FILE runs on a disk with room
 *
 * The test removes FILE to end the fault.  Built without the sanitizers. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define NEXT(name) static __typeof__(name) *real; if (!real) real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static int full(int fd)
{
	const char *dir = getenv("KD_ENOSPC_DIR"), *flag = getenv("KD_ENOSPC_FLAG");
	char link[64], path[4096];
	ssize_t n;
	int saved = errno;

	if (!dir || !flag || access(flag, F_OK) != 0) {
		errno = saved;
		return 0;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	errno = saved;
	if (n <= 0)
		return 0;
	path[n] = '\0';
	if (strncmp(path, dir, strlen(dir)) != 0)
		return 0;
	errno = ENOSPC;
	return 1;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	NEXT(write);
	return full(fd) ? -1 : real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	NEXT(pwrite);
	return full(fd) ? -1 : real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	NEXT(pwrite64);
	return full(fd) ? -1 : real(fd, buf, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	NEXT(writev);
	return full(fd) ? -1 : real(fd, iov, cnt);
}

int fsync(int fd)
{
	NEXT(fsync);
	return full(fd) ? -1 : real(fd);
}

int fdatasync(int fd)
{
	NEXT(fdatasync);
	return full(fd) ? -1 : real(fd);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	NEXT(fallocate);
	return full(fd) ? -1 : real(fd, mode, off, len);
}

static void arm(const char *newpath)
{
	const char *sfx = getenv("KD_ENOSPC_ARM"), *flag = getenv("KD_ENOSPC_FLAG");
	static int armed;
	size_t n = strlen(newpath), m;
	int fd;

	if (!sfx || !flag || __atomic_exchange_n(&armed, 1, __ATOMIC_SEQ_CST))
		return;
	m = strlen(sfx);
	if (n < m || strcmp(newpath + n - m, sfx) != 0) {
		armed = 0;
		return;
	}
	{
		NEXT(open);
		fd = real(flag, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
	}
}

int renameat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath)
{
	NEXT(renameat);
	int rc = real(olddirfd, oldpath, newdirfd, newpath), saved = errno;
	if (rc == 0)
		arm(newpath);
	errno = saved;
	return rc;
}

int rename(const char *oldpath, const char *newpath)
{
	NEXT(rename);
	int rc = real(oldpath, newpath), saved = errno;
	if (rc == 0)
		arm(newpath);
	errno = saved;
	return rc;
}

/* fsync_shim.c - LD_PRELOAD shim for tests/ingest/listen.test: logs, with a global
 * sequence number, every write to a SQLite WAL file, every fsync/fdatasync
 * and every sendto, to the file named by $KD_SHIM_LOG.  The test then checks
 * that no "ok" reply was sent while a WAL write was not yet synced. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

static unsigned long seq;

static int is_wal(int fd, char *path, size_t cap)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, cap - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return n > 4 && strcmp(path + n - 4, "-wal") == 0;
}

static void logline(const char *op, const char *what)
{
	static int lfd = -2;
	char line[600];
	int n;

	if (lfd == -2) {
		const char *p = getenv("KD_SHIM_LOG");
		lfd = p ? open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644) : -1;
	}
	if (lfd < 0)
		return;
	n = snprintf(line, sizeof(line), "%lu %s %s\n", __atomic_add_fetch(&seq, 1, __ATOMIC_SEQ_CST), op, what);
	if (write(lfd, line, (size_t)n) < 0)
		return;
}

#define NEXT(name) static __typeof__(name) *real; if (!real) real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

int fsync(int fd)
{
	char p[512];
	NEXT(fsync);
	int rc = real(fd);
	logline("sync", is_wal(fd, p, sizeof(p)) ? "wal" : "other");
	return rc;
}

int fdatasync(int fd)
{
	char p[512];
	NEXT(fdatasync);
	int rc = real(fd);
	logline("sync", is_wal(fd, p, sizeof(p)) ? "wal" : "other");
	return rc;
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
	char p[512];
	NEXT(pwrite);
	if (is_wal(fd, p, sizeof(p)))
		logline("write", "wal");
	return real(fd, b, n, off);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t off)
{
	char p[512];
	NEXT(pwrite64);
	if (is_wal(fd, p, sizeof(p)))
		logline("write", "wal");
	return real(fd, b, n, off);
}

ssize_t write(int fd, const void *b, size_t n)
{
	char p[512];
	NEXT(write);
	if (fd > 2 && is_wal(fd, p, sizeof(p)))
		logline("write", "wal");
	return real(fd, b, n);
}

ssize_t sendto(int fd, const void *b, size_t n, int flags, const struct sockaddr *a, socklen_t al)
{
	NEXT(sendto);
	/* Log before sending: the reply may be read by then. */
	logline("sendto", memmem(b, n, "\"ok\":true", 9) ? "ok" : "error");
	return real(fd, b, n, flags, a, al);
}

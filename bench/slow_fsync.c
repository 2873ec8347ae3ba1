/* bench/slow_fsync.c - LD_PRELOAD: make every fsync/fdatasync take at least
 * KRIGD_FSYNC_US microseconds (default 1000), to measure ingest on "a disk
 * where fsync costs about 1 ms" on a machine whose disk is faster.  Bench
 * only: the real call still runs first, so durability is unchanged. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void pad(void)
{
	const char *s = getenv("KRIGD_FSYNC_US");
	long us = s ? atol(s) : 1000;
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

int fsync(int fd)
{
	static int (*real)(int);
	int rc;

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	rc = real(fd);
	pad();
	return rc;
}

int fdatasync(int fd)
{
	static int (*real)(int);
	int rc;

	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	rc = real(fd);
	pad();
	return rc;
}

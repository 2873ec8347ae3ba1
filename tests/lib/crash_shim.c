/* crash_shim.c - LD_PRELOAD shim for tests/fault/fault-crash.test: the process
 * dies of SIGSEGV as soon as it opens or creates a path whose name contains
 * "crashme".  An inline job with "index": "crashme" makes the drain create
 * <out>/crashme/, so that job crashes its worker every time without a test
 * hook in krigd itself. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static void maybe_crash(const char *path)
{
	if (path && strstr(path, "crashme")) {
		/* Default action, so a sanitizer's handler cannot turn the
		 * crash into a clean exit: the kernel kills the process. */
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGSEGV, &sa, NULL);
		raise(SIGSEGV);
		_exit(139);
	}
}

int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = 0;

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	maybe_crash(path);
	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	return real(dirfd, path, flags, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	static int (*real)(int, const char *, mode_t);

	maybe_crash(path);
	if (!real)
		real = (int (*)(int, const char *, mode_t))dlsym(RTLD_NEXT, "mkdirat");
	return real(dirfd, path, mode);
}

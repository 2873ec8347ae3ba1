/* lsock.c - see lsock.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "lsock.h"

/* systemd socket activation: fd 3 when LISTEN_PID is us.  1 if inherited. */
int lsock_inherited(int *fd, struct error *e)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int type = 0, domain = 0;
	socklen_t l = sizeof(type);

	if (!pid || !fds || atoll(pid) != (long long)getpid() || atoi(fds) < 1)
		return 0;
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_DGRAM)
		return error_set(e, KD_EINPUT, "inherited fd 3 is not a datagram socket");
	l = sizeof(domain);
	if (getsockopt(3, SOL_SOCKET, SO_DOMAIN, &domain, &l) < 0 || domain != AF_UNIX)
		return error_set(e, KD_EINPUT, "inherited fd 3 is not a Unix socket");
	/* Children (none today) must not think the socket is theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	fcntl(3, F_SETFD, FD_CLOEXEC);
	*fd = 3;
	return 1;
}

static int make_addr(const char *path, struct sockaddr_un *sa, struct error *e)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (!path || !*path)
		return error_set(e, KD_EINPUT, "no socket path (--socket)");
	if (strlen(path) >= sizeof(sa->sun_path))
		return error_set(e, KD_EINPUT, "socket path too long: %s", path);
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

/* Create the socket at path.  An existing file is replaced only if it is a
 * socket nobody listens on (connect() refused): never another file, never a
 * live listener's socket. */
int lsock_create(const char *path, unsigned mode, int *out, struct error *e)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, rc;

	if ((rc = make_addr(path, &sa, e)) < 0)
		return rc;
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return error_set(e, KD_EINPUT, "%s exists and is not a socket: refusing to replace it",
					 path);
		if ((probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			return error_set(e, KD_EIO, "socket: %s", strerror(errno));
		rc = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		rc = rc == 0 ? 0 : errno;
		close(probe);
		if (rc == 0)
			return error_set(e, KD_EINPUT, "%s: another listener is running on it", path);
		if (rc != ECONNREFUSED)
			return error_set(e, KD_EIO, "%s: %s", path, strerror(rc));
		if (unlink(path) < 0 && errno != ENOENT)
			return error_set(e, KD_EIO, "removing stale socket %s: %s", path, strerror(errno));
		log_info("removed stale socket %s", path);
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return error_set(e, KD_EIO, "socket: %s", strerror(errno));
	/* The file is created with the mode we want, not a wider one first:
	 * startup is single-threaded, so changing the umask here is safe. */
	old = umask((mode_t)(~mode & 0777));
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0) {
		error_set(e, KD_EIO, "bind %s: %s", path, strerror(errno));
		close(fd);
		return KD_EIO;
	}
	if (chmod(path, (mode_t)mode) < 0) {
		error_set(e, KD_EIO, "chmod %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return KD_EIO;
	}
	*out = fd;
	return 0;
}


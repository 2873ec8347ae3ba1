/* queue_wake.c - wake-ups beside a queue file; see queue_wake.h.
 *
 * Sockets are reached as /proc/self/fd/DIRFD/NAME, so a deep database path
 * never hits the 108-byte limit of a socket address. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "error.h"
#include "queue_wake.h"

int queue_wake_init(struct queue_wake *w, const char *db_path, struct error *e)
{
	size_t n = strlen(db_path);

	w->dir_fd = w->sock = w->send_sock = -1;
	w->name[0] = '\0';
	if (!(w->dir = malloc(n + 6)))
		return error_set(e, KD_ENOMEM, "out of memory");
	memcpy(w->dir, db_path, n);
	memcpy(w->dir + n, "-wake", 6);
	return 0;
}

static int open_dir(struct queue_wake *w, int create)
{
	if (w->dir_fd >= 0)
		return 0;
	if (create && mkdir(w->dir, 0777) < 0 && errno != EEXIST)
		return -1;
	w->dir_fd = open(w->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return w->dir_fd >= 0 ? 0 : -1;
}

static int sock_addr(const struct queue_wake *w, const char *name, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	return snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/%s", w->dir_fd, name) <
		(int)sizeof(a->sun_path) ? 0 : -1;
}

int queue_wake_watch(struct queue_wake *w, struct error *e)
{
	struct sockaddr_un a;
	unsigned int r = 0;

	if (w->sock >= 0)
		return w->sock;
	/* bench/e2e.py measures the polling it replaced: no wake-ups then. */
	if (getenv("KRIGD_BENCH_NO_WAKE"))
		return error_set(e, KD_EINPUT, "wake-ups off (KRIGD_BENCH_NO_WAKE)");
	if (open_dir(w, 1) < 0)
		return error_set(e, KD_EIO, "%s: %s", w->dir, strerror(errno));
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned int)getpid() * 2654435761u;
	snprintf(w->name, sizeof(w->name), "%ld-%08x", (long)getpid(), r);
	if ((w->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return error_set(e, KD_EIO, "wake socket: %s", strerror(errno));
	if (sock_addr(w, w->name, &a) < 0 || bind(w->sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = errno;
		close(w->sock);
		w->sock = -1;
		w->name[0] = '\0';
		return error_set(e, KD_EIO, "%s: wake socket: %s", w->dir, strerror(err));
	}
	return w->sock;
}

void queue_wake_drain(struct queue_wake *w)
{
	char buf[64];

	while (w->sock >= 0 && recv(w->sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

void queue_wake_send(struct queue_wake *w)
{
	struct dirent *d;
	DIR *dir;
	int fd;

	if (open_dir(w, 0) < 0)
		return; /* no directory: no watcher ever */
	if (w->send_sock < 0 &&
	    (w->send_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		return;
	if ((fd = openat(w->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || !(dir = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((d = readdir(dir))) {
		struct sockaddr_un a;

		if (d->d_name[0] == '.' || strcmp(d->d_name, w->name) == 0 ||
		    (d->d_type != DT_SOCK && d->d_type != DT_UNKNOWN) || sock_addr(w, d->d_name, &a) < 0)
			continue;
		if (sendto(w->send_sock, "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&a,
			   sizeof(a)) < 0 && errno == ECONNREFUSED)
			unlinkat(w->dir_fd, d->d_name, 0); /* its owner is gone */
	}
	closedir(dir);
}

void queue_wake_free(struct queue_wake *w)
{
	if (w->sock >= 0) {
		close(w->sock);
		if (w->dir_fd >= 0 && w->name[0])
			unlinkat(w->dir_fd, w->name, 0);
	}
	if (w->send_sock >= 0)
		close(w->send_sock);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	free(w->dir);
	w->dir = NULL;
	w->dir_fd = w->sock = w->send_sock = -1;
}

/* notify.c - see notify.h */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
int notify_send(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return rc > 0 ? 1 : 0;
}
#else
int notify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t n;
	int fd, saved;

	if (!path || !*path)
		return 0;
	/* "/..." a file, "@..." the abstract namespace (a leading NUL). */
	if ((path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	n = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	saved = errno;
	close(fd);
	errno = saved;
	return n < 0 ? -1 : 1;
}
#endif

long long notify_watchdog_usec(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	char *end;
	long long v;

	if (!us || (pid && atoll(pid) != (long long)getpid()))
		return 0;
	errno = 0;
	v = strtoll(us, &end, 10);
	return (errno || end == us || *end || v <= 0) ? 0 : v;
}

void notify_forget(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int notify_journal(int priority, long long job, const char *message)
{
#ifdef HAVE_LIBSYSTEMD
	int rc;

	if (job > 0)
		rc = sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", priority, "JOB_ID=%lld", job,
				     "SYSLOG_IDENTIFIER=krigd", NULL);
	else
		rc = sd_journal_send("MESSAGE=%s", message, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=krigd",
				     NULL);
	return rc < 0 ? -1 : 0;
#else
	(void)priority;
	(void)job;
	(void)message;
	return -1;
#endif
}

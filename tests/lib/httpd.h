/* httpd.h - start tests/lib/http_server.py for a C test, header only.
 *
 * The server writes its port on stdout when ready; we wait for that line
 * with poll() and a deadline (no blind sleep).  Its stdin is a pipe we
 * hold: closing it (or our death) makes it exit. */
#ifndef KD_TEST_HTTPD_H
#define KD_TEST_HTTPD_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct httpd {
	pid_t pid;
	int in;   /* write end of the server's stdin */
	int port;
	char base[64]; /* "http://127.0.0.1:PORT" */
};

/* 0 when running; -1 (with a reason in why) when it could not start. */
__attribute__((unused))
static int httpd_start(struct httpd *h, const char *secret_file, char *why, size_t whylen)
{
	const char *top = getenv("top_srcdir");
	char script[4096], buf[32];
	int inp[2], outp[2];
	size_t n = 0;

	memset(h, 0, sizeof(*h));
	snprintf(script, sizeof(script), "%s/tests/lib/http_server.py", top ? top : ".");
	if (pipe(inp) < 0 || pipe(outp) < 0) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return -1;
	}
	h->pid = fork();
	if (h->pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (h->pid == 0) {
		dup2(inp[0], 0);
		dup2(outp[1], 1);
		close(inp[0]);
		close(inp[1]);
		close(outp[0]);
		close(outp[1]);
		if (secret_file)
			execlp("python3", "python3", script, "--secret-file", secret_file, (char *)NULL);
		else
			execlp("python3", "python3", script, (char *)NULL);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	h->in = inp[1];
	/* Read "PORT\n" within 30 s. */
	while (n < sizeof(buf) - 1) {
		struct pollfd p = { .fd = outp[0], .events = POLLIN };
		ssize_t got;

		if (poll(&p, 1, 30000) <= 0)
			break;
		got = read(outp[0], buf + n, sizeof(buf) - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		if (memchr(buf, '\n', n))
			break;
	}
	close(outp[0]);
	buf[n] = '\0';
	h->port = atoi(buf);
	if (h->port <= 0) {
		snprintf(why, whylen, "python3 %.200s did not start", script);
		close(h->in);
		kill(h->pid, SIGTERM);
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
		return -1;
	}
	snprintf(h->base, sizeof(h->base), "http://127.0.0.1:%d", h->port);
	return 0;
}

__attribute__((unused))
static void httpd_stop(struct httpd *h)
{
	if (h->pid <= 0)
		return;
	close(h->in);
	kill(h->pid, SIGTERM);
	waitpid(h->pid, NULL, 0);
	h->pid = 0;
}

#endif

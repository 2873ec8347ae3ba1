/* kd_flood.c - load generator and oracle for the listener tests and bench.
 *
 *   kd_flood --socket PATH [--clients C] [--count N] [--window W] [--prefix P]
 *            [--log FILE] [--resend-ms MS] [--deadline-s S]
 *   kd_flood --beanstalk PORT [--clients C] [--count N] [--window W]
 *   kd_flood --fsync-probe FILE
 *
 * Each client thread binds its own (abstract) address and keeps up to W
 * triggers {"source_id":k,"key":"P-c-k","req":"c-k"} in flight; a trigger
 * not answered within --resend-ms is sent again with the same key (so a
 * listener killed and restarted is survived).  Every ok reply appends a line
 * "KEY ID" to the log in one write(2): the log is the oracle of what was
 * acknowledged.  Prints "acked N seconds S rate R" and exits 0 when every
 * trigger was acked before the deadline. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

static const char *sock_path, *prefix = "t", *log_path;
static int clients = 1, count = 100, window_ = 16, resend_ms = 1000, deadline_s = 120, bs_port;
static int log_fd = -1;
static long long acked_total, errors_total;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct slot {
	int state;      /* 0 to send, 1 in flight, 2 acked, 3 failed */
	double sent_at;
};

static int send_one(int fd, const struct sockaddr_un *sa, int c, int k)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "{\"source_id\":%d,\"key\":\"%s-%d-%d\",\"req\":\"%d-%d\"}", k + 1,
			 prefix, c, k, c, k);
	/* A failed send (listener down, its queue full) is left to the resend
	 * timer, like a lost reply. */
	return (int)sendto(fd, buf, (size_t)n, MSG_NOSIGNAL, (const struct sockaddr *)sa, sizeof(*sa));
}

static void *client_dgram(void *arg)
{
	int c = (int)(long)arg, fd, nfl = 0, done = 0, next = 0;
	struct slot *s = calloc((size_t)count, sizeof(*s));
	int *fl = calloc((size_t)window_, sizeof(int)); /* indices in flight */
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, me = { .sun_family = AF_UNIX };
	double deadline = now_s() + deadline_s;
	struct timeval tv = { 0, 100000 };
	long long acked = 0, errs = 0;

	memcpy(sa.sun_path, sock_path, strlen(sock_path));
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(sa_family_t)) < 0 || !s || !fl) {
		perror("kd_flood: socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (done < count && now_s() < deadline) {
		double t = now_s();
		char buf[4096];
		struct pollfd p = { .fd = fd, .events = POLLIN };

		while (nfl < window_ && next < count) {
			send_one(fd, &sa, c, next);
			s[next].state = 1;
			s[next].sent_at = now_s();
			fl[nfl++] = next++;
		}
		for (int i = 0; i < nfl; i++)
			if (t - s[fl[i]].sent_at > resend_ms / 1000.0) {
				send_one(fd, &sa, c, fl[i]);
				s[fl[i]].sent_at = now_s();
			}
		if (poll(&p, 1, 20) <= 0)
			continue;
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
			struct json_object *r, *ok, *req, *jobs, *err;
			int rc, k, fin = 0;

			if (n <= 0)
				break;
			buf[n] = '\0';
			if (!(r = json_tokener_parse(buf)))
				continue;
			if (!json_object_object_get_ex(r, "req", &req) ||
			    sscanf(json_object_get_string(req), "%d-%d", &rc, &k) != 2 || rc != c || k < 0 ||
			    k >= count || s[k].state != 1) {
				json_object_put(r);
				continue; /* a late duplicate reply */
			}
			json_object_object_get_ex(r, "ok", &ok);
			if (json_object_get_boolean(ok) && json_object_object_get_ex(r, "jobs", &jobs)) {
				char line[256];
				int ln = snprintf(line, sizeof(line), "%s-%d-%d %lld\n", prefix, c, k,
						  (long long)json_object_get_int64(json_object_array_get_idx(jobs, 0)));
				if (log_fd >= 0 && write(log_fd, line, (size_t)ln) != ln)
					perror("kd_flood: log");
				s[k].state = 2;
				acked++;
				fin = 1;
			} else if (json_object_object_get_ex(r, "error", &err) &&
				   strcmp(json_object_get_string(err), "queue busy") == 0) {
				s[k].sent_at = 0; /* send again at once */
			} else {
				fprintf(stderr, "kd_flood: %s\n", buf);
				s[k].state = 3;
				errs++;
				fin = 1;
			}
			if (fin) {
				done++;
				for (int i = 0; i < nfl; i++)
					if (fl[i] == k) {
						fl[i] = fl[--nfl];
						break;
					}
			}
			json_object_put(r);
		}
	}
	close(fd);
	free(s);
	free(fl);
	pthread_mutex_lock(&mu);
	acked_total += acked;
	errors_total += errs + (count - done);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* beanstalkd: "put pri delay ttr bytes\r\nDATA\r\n" -> "INSERTED id\r\n",
 * pipelined with the same window, one connection per client. */
static void *client_beanstalk(void *arg)
{
	int c = (int)(long)arg, fd, sent = 0, got = 0, one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)bs_port) };
	char rbuf[65536];
	size_t rlen = 0;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("kd_flood: beanstalkd");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	while (got < count) {
		while (sent < count && sent - got < window_) {
			char body[256], msg[512];
			int bl = snprintf(body, sizeof(body), "{\"source_id\":%d,\"key\":\"%s-%d-%d\"}", sent + 1, prefix, c, sent);
			int ml = snprintf(msg, sizeof(msg), "put 0 0 60 %d\r\n%s\r\n", bl, body);
			if (write(fd, msg, (size_t)ml) != ml) {
				perror("kd_flood: write");
				exit(1);
			}
			sent++;
		}
		ssize_t n = read(fd, rbuf + rlen, sizeof(rbuf) - rlen - 1);
		if (n <= 0) {
			perror("kd_flood: read");
			exit(1);
		}
		rlen += (size_t)n;
		rbuf[rlen] = '\0';
		char *p = rbuf, *nl;
		while ((nl = strstr(p, "\r\n"))) {
			if (strncmp(p, "INSERTED", 8) != 0) {
				fprintf(stderr, "kd_flood: beanstalkd said %.*s\n", (int)(nl - p), p);
				exit(1);
			}
			got++;
			p = nl + 2;
		}
		rlen -= (size_t)(p - rbuf);
		memmove(rbuf, p, rlen);
	}
	close(fd);
	pthread_mutex_lock(&mu);
	acked_total += got;
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* Median latency of a 4 KiB write + fdatasync on the file system of path. */
static int fsync_probe(const char *path)
{
	double lat[200];
	char buf[4096];
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600), n = 200;

	if (fd < 0) {
		perror(path);
		return 1;
	}
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < n; i++) {
		double t = now_s();
		if (pwrite(fd, buf, sizeof(buf), (off_t)(i % 16) * 4096) < 0 || fdatasync(fd) < 0) {
			perror(path);
			return 1;
		}
		lat[i] = now_s() - t;
	}
	close(fd);
	unlink(path);
	for (int i = 1; i < n; i++) /* insertion sort: 200 values */
		for (int k = i; k > 0 && lat[k] < lat[k - 1]; k--) {
			double x = lat[k];
			lat[k] = lat[k - 1];
			lat[k - 1] = x;
		}
	printf("fsync_ms %.3f\n", lat[n / 2] * 1000);
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t th[256];
	double t0, t;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "kd_flood: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--socket")) sock_path = v;
		else if (!strcmp(a, "--clients")) clients = atoi(v);
		else if (!strcmp(a, "--count")) count = atoi(v);
		else if (!strcmp(a, "--window")) window_ = atoi(v);
		else if (!strcmp(a, "--prefix")) prefix = v;
		else if (!strcmp(a, "--log")) log_path = v;
		else if (!strcmp(a, "--resend-ms")) resend_ms = atoi(v);
		else if (!strcmp(a, "--deadline-s")) deadline_s = atoi(v);
		else if (!strcmp(a, "--beanstalk")) bs_port = atoi(v);
		else if (!strcmp(a, "--fsync-probe")) return fsync_probe(v);
		else {
			fprintf(stderr, "kd_flood: unknown option %s\n", a);
			return 2;
		}
	}
	if ((!sock_path && !bs_port) || clients < 1 || clients > 256 || count < 1 || window_ < 1 ||
	    (sock_path && strlen(sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))) {
		fprintf(stderr, "kd_flood: bad arguments\n");
		return 2;
	}
	if (log_path && (log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0) {
		perror(log_path);
		return 1;
	}
	t0 = now_s();
	for (int i = 0; i < clients; i++)
		pthread_create(&th[i], NULL, bs_port ? client_beanstalk : client_dgram, (void *)(long)i);
	for (int i = 0; i < clients; i++)
		pthread_join(th[i], NULL);
	t = now_s() - t0;
	printf("acked %lld seconds %.3f rate %.0f errors %lld\n", acked_total, t, acked_total / t, errors_total);
	if (log_fd >= 0)
		close(log_fd);
	return acked_total == (long long)clients * count ? 0 : 1;
}

/* claimer.c - naming the process that holds a claim, and telling for sure
 * that it is gone (see struct queue_claimer in queue.h).
 *
 * A pid alone can be reused, and means nothing in another pid namespace or
 * after a reboot; the four together name one process: the boot, the pid
 * namespace, the pid and its start time (/proc/PID/stat field 22). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue.h"

static void read_boot_id(char *out, size_t size)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	size_t n;

	out[0] = '\0';
	if (!f)
		return;
	if (fgets(out, (int)size, f)) {
		n = strcspn(out, "\n");
		out[n] = '\0';
	}
	fclose(f);
}

/* Field 22 of /proc/PID/stat; 0 when there is no such process (or no
 * /proc).  The command name (field 2) may hold spaces and parentheses: the
 * fields after it start after its last ')'. */
static unsigned long long start_time(long long pid, int *missing)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	FILE *f;
	size_t n;

	*missing = 0;
	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	if (!(f = fopen(path, "re"))) {
		*missing = errno == ENOENT || errno == ESRCH;
		return 0;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')))
		return 0;
	p++;
	if (p[0] == ' ' && (p[1] == 'Z' || p[1] == 'X')) {
		*missing = 1; /* a zombie renders nothing: it is gone */
		return 0;
	}
	/* p is at the space before field 3 (the state); skip to the one before 22. */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	if (p)
		v = strtoull(p + 1, NULL, 10);
	return v;
}

void queue_claimer_self(struct queue_claimer *c)
{
	struct stat st;
	int missing;

	memset(c, 0, sizeof(*c));
	read_boot_id(c->boot_id, sizeof(c->boot_id));
	if (stat("/proc/self/ns/pid", &st) == 0)
		c->pidns = (unsigned long long)st.st_ino;
	c->pid = (long long)getpid();
	c->start_time = start_time(c->pid, &missing);
	if (!c->start_time) /* without it the pid says nothing for sure */
		c->pid = 0;
}

int queue_claimer_gone(const struct queue_claimer *c)
{
	struct queue_claimer me;
	unsigned long long t;
	int missing;

	if (!c->boot_id[0] || !c->pidns || c->pid <= 0 || !c->start_time)
		return 0;
	queue_claimer_self(&me);
	if (!me.boot_id[0] || !me.pidns || strcmp(c->boot_id, me.boot_id) != 0 || c->pidns != me.pidns)
		return 0;
	if (c->pid == me.pid && c->start_time == me.start_time)
		return 0; /* ourselves */
	t = start_time(c->pid, &missing);
	if (t == c->start_time)
		return 0; /* that very process is alive */
	/* No such pid, or another process under that pid: it is gone, unless
	 * its stat could not be read for another reason (then we know nothing). */
	return t != 0 || missing;
}

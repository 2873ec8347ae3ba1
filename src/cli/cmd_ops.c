/* cmd_ops.c - the operator commands: jobs, show, retry, cancel, purge,
 * stats.  Thin: each opens the queue, makes one call, prints a readable
 * table (or JSON with --json) and exits. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "commands.h"
#include "cli.h"
#include "error.h"
#include "log.h"
#include "options.h"
#include "outbox.h"
#include "outfile.h"
#include "purge.h"
#include "queue.h"

struct ops {
	const char *cmd;
	const char *db;
	const char *password_file;
	const char *out;
	const char *callback;
	int json, prometheus, force, dead, images, orphans;
	int state;
	long long limit, id, older_than;
};

#define OPS_HEAD \
	"usage:\n" \
	"  krigd jobs   --db PATH [--state S] [--limit N] [--json]\n" \
	"  krigd show   --db PATH [--json] ID\n" \
	"  krigd retry  --db PATH [--force] ID | --dead\n" \
	"  krigd cancel --db PATH [--callback URL] ID\n" \
	"  krigd purge  --db PATH --older-than DUR [--out DIR [--images]] [--orphans --out DIR]\n" \
	"  krigd stats  --db PATH [--json | --prometheus]\n" \
	"\n"
#define OPS_TAIL \
	"\n" \
	"States: pending, running, done, dead, cancelled.  DUR: 90s, 15m, 2h, 7d.\n" \
	"retry requeues a dead or cancelled job (--force: also a done one);\n" \
	"cancel of a running job takes effect within a second; --callback is the\n" \
	"default URL (as given to drain) for a job whose trigger names none.\n" \
	"stats --prometheus prints the Prometheus text format (for node_exporter's\n" \
	"textfile collector): counters that never go down, purge or not, and gauges.\n" \
	"purge removes the files of dead and cancelled jobs when --out is given, a\n" \
	"done job's (what img_list serves) only with --images; --orphans removes\n" \
	"image directories whose job has no row and was not purged keeping them.\n"

static const char *fmt_time(long long t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t <= 0)
		return "-";
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

static struct json_object *job_json(const struct queue_job *j)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(j->id));
	json_object_object_add(o, "state", json_object_new_string(queue_state_name(j->state)));
	json_object_object_add(o, "kind", json_object_new_string(j->kind));
	json_object_object_add(o, "priority", json_object_new_int(j->priority));
	json_object_object_add(o, "key", j->key ? json_object_new_string(j->key) : NULL);
	json_object_object_add(o, "source_id", j->source_id >= 0 ? json_object_new_int64(j->source_id) : NULL);
	json_object_object_add(o, "attempts", json_object_new_int(j->attempts));
	json_object_object_add(o, "max_attempts", json_object_new_int(j->max_attempts));
	json_object_object_add(o, "run_at", json_object_new_int64(j->run_at));
	json_object_object_add(o, "lease_until", j->lease_until ? json_object_new_int64(j->lease_until) : NULL);
	json_object_object_add(o, "last_error", j->last_error ? json_object_new_string(j->last_error) : NULL);
	json_object_object_add(o, "result", j->result ? json_tokener_parse(j->result) : NULL);
	json_object_object_add(o, "payload", j->payload ? json_object_new_string(j->payload) : NULL);
	json_object_object_add(o, "created_at", json_object_new_int64(j->created_at));
	json_object_object_add(o, "updated_at", json_object_new_int64(j->updated_at));
	json_object_object_add(o, "finished_at", j->finished_at ? json_object_new_int64(j->finished_at) : NULL);
	return o;
}

/* Text from the queue (a key, an error quoting a pubtime, a payload) goes
 * to a terminal: through log_escape, at most max bytes of it, "..." when
 * cut.  Returns buf. */
static const char *shown(const char *s, size_t max, char *buf, size_t cap)
{
	size_t len, used, n;

	if (!s)
		return "-";
	len = strlen(s);
	if (max + 4 > cap)
		max = cap - 4;
	n = log_escape(s, len, buf, max + 1, &used);
	if (used < len)
		strcpy(buf + n, "...");
	return buf;
}

/* json-c escapes C0 controls in JSON, not DEL nor the C1 controls
 * (U+0080..U+009F, which terminals obey like ESC [): print those as \u00XX,
 * which is the same JSON (they can only occur inside strings). */
static void print_json(struct json_object *o)
{
	const unsigned char *s = (const unsigned char *)json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);

	for (; s && *s; s++) {
		if (*s == 0x7f)
			fputs("\\u007f", stdout);
		else if (*s == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
			printf("\\u00%02x", *++s);
		else
			putchar(*s);
	}
	putchar('\n');
}

/* What `jobs` shows of a job beyond its row: the index (the first image's
 * directory once rendered, so a source row's too; else the trigger's
 * "index"), into buf ("-" when unknown), and the render time of a done
 * job (its result's "seconds"; -1 else). */
static double job_facts(const struct queue_job *j, char *buf, size_t len)
{
	struct json_object *r = j->result ? json_tokener_parse(j->result) : NULL, *p = NULL, *v;
	double secs = -1;

	snprintf(buf, len, "-");
	if (r && json_object_object_get_ex(r, "seconds", &v))
		secs = json_object_get_double(v);
	if (r && json_object_object_get_ex(r, "images", &v) && json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(v, pubtime, path) {
			const char *s = json_object_get_string(path), *slash = s ? strchr(s, '/') : NULL;

			(void)pubtime;
			if (slash)
				snprintf(buf, len, "%.*s", (int)(slash - s), s);
			break;
		}
	}
	if (!strcmp(buf, "-") && j->payload && (p = json_tokener_parse(j->payload)) &&
	    json_object_object_get_ex(p, "index", &v) && json_object_is_type(v, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(v));
	json_object_put(r);
	json_object_put(p);
	return secs;
}

static int list_row(void *ctx, const struct queue_job *j)
{
	struct json_object *arr = ctx;
	char t[32], err[64], index[32], idx[40], src[24], dur[24];
	double secs = job_facts(j, index, sizeof(index));

	if (arr) {
		struct json_object *o = job_json(j);

		json_object_object_add(o, "index", strcmp(index, "-") ? json_object_new_string(index) : NULL);
		json_object_object_add(o, "seconds", secs >= 0 ? json_object_new_double(secs) : NULL);
		json_object_array_add(arr, o);
		return 0;
	}
	snprintf(src, sizeof(src), j->source_id >= 0 ? "%lld" : "-", j->source_id);
	snprintf(dur, sizeof(dur), secs >= 0 ? "%.1fs" : "-", secs);
	printf("%8lld  %-9s  %-6s  %-6s  %6s  %4d  %3d/%-3d  %8s  %-19s  %s\n", j->id, queue_state_name(j->state),
	       j->kind, shown(index, 6, idx, sizeof(idx)), src, j->priority, j->attempts, j->max_attempts, dur,
	       fmt_time(j->updated_at, t, sizeof(t)), j->last_error ? shown(j->last_error, 60, err, sizeof(err)) : "");
	return 0;
}

static int do_jobs(struct queue *q, const struct ops *op, struct error *e)
{
	struct json_object *arr = op->json ? json_object_new_array() : NULL;
	int rc;

	if (!arr)
		printf("%8s  %-9s  %-6s  %-6s  %6s  %4s  %7s  %8s  %-19s  %s\n", "ID", "STATE", "KIND", "INDEX", "SOURCE",
		       "PRIO", "TRIES", "DURATION", "UPDATED (UTC)", "LAST ERROR");
	rc = queue_list(q, op->state, op->limit, list_row, arr, e);
	if (arr) {
		if (rc == 0)
			print_json(arr);
		json_object_put(arr);
	}
	return rc;
}

/* One attempt: into the JSON array ctx, or a line on stdout. */
static int attempt_row(void *ctx, const struct queue_attempt *a)
{
	struct json_object *arr = ctx;
	char t1[32], t2[32];

	if (arr) {
		struct json_object *o = json_object_new_object(), *c = json_object_new_object();

		json_object_object_add(o, "n", json_object_new_int(a->n));
		json_object_object_add(o, "started_at", json_object_new_int64(a->started_at));
		json_object_object_add(o, "ended_at", a->ended_at ? json_object_new_int64(a->ended_at) : NULL);
		json_object_object_add(o, "outcome", json_object_new_string(a->outcome));
		json_object_object_add(o, "error", a->error ? json_object_new_string(a->error) : NULL);
		json_object_object_add(c, "boot_id", json_object_new_string(a->claimer.boot_id));
		json_object_object_add(c, "pidns", json_object_new_int64((int64_t)a->claimer.pidns));
		json_object_object_add(c, "pid", json_object_new_int64(a->claimer.pid));
		json_object_object_add(c, "start_time", json_object_new_int64((int64_t)a->claimer.start_time));
		json_object_object_add(o, "claimer", c);
		json_object_array_add(arr, o);
		return 0;
	}
	char err[96];

	printf("  #%-3d %s .. %-19s  %-9s  pid %-7lld %s\n", a->n, fmt_time(a->started_at, t1, sizeof(t1)),
	       a->ended_at ? fmt_time(a->ended_at, t2, sizeof(t2)) : "(running)", a->outcome, a->claimer.pid,
	       a->error ? shown(a->error, 80, err, sizeof(err)) : "");
	return 0;
}

static int do_show(struct queue *q, const struct ops *op, struct error *e)
{
	struct queue_job j;
	char t[32], b[2048];
	int rc;

	memset(&j, 0, sizeof(j));
	rc = queue_get(q, op->id, &j, e);
	if (rc <= 0)
		return rc < 0 ? rc : error_set(e, KD_EINPUT, "no job %lld", op->id);
	if (op->json) {
		struct json_object *o = job_json(&j), *hist = json_object_new_array();

		json_object_object_add(o, "history", hist);
		if ((rc = queue_attempts(q, j.id, attempt_row, hist, e)) == 0)
			print_json(o);
		json_object_put(o);
	} else {
		printf("id           %lld\n", j.id);
		printf("state        %s\n", queue_state_name(j.state));
		printf("kind         %s\n", j.kind);
		printf("priority     %d\n", j.priority);
		printf("key          %s\n", shown(j.key, 600, b, sizeof(b)));
		if (j.source_id >= 0)
			printf("source_id    %lld\n", j.source_id);
		printf("attempts     %d of %d\n", j.attempts, j.max_attempts);
		printf("created      %s UTC\n", fmt_time(j.created_at, t, sizeof(t)));
		printf("updated      %s UTC\n", fmt_time(j.updated_at, t, sizeof(t)));
		printf("run at       %s UTC\n", fmt_time(j.run_at, t, sizeof(t)));
		if (j.lease_until)
			printf("lease until  %s UTC\n", fmt_time(j.lease_until, t, sizeof(t)));
		if (j.finished_at)
			printf("finished     %s UTC\n", fmt_time(j.finished_at, t, sizeof(t)));
		printf("last error   %s\n", shown(j.last_error, 2000, b, sizeof(b)));
		printf("result       %s\n", shown(j.result, 2000, b, sizeof(b)));
		printf("payload      %s\n", shown(j.payload, 200, b, sizeof(b)));
		printf("history      (attempts, oldest first; UTC)\n");
		rc = queue_attempts(q, j.id, attempt_row, NULL, e);
	}
	queue_job_release(&j);
	return rc;
}

/* The Prometheus text exposition format, version 0.0.4: one HELP and one
 * TYPE line per metric family, then its samples; counters end in _total. */
static void print_prometheus(const struct queue_stats *st, long long now)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} counters[] = {
		{ "jobs_accepted", "Jobs queued since the database was created.",
		  offsetof(struct queue_stats, jobs_accepted) },
		{ "jobs_done", "Jobs rendered successfully.", offsetof(struct queue_stats, jobs_done) },
		{ "jobs_dead", "Jobs that failed for good (out of attempts or bad input).",
		  offsetof(struct queue_stats, jobs_dead) },
		{ "jobs_cancelled", "Jobs cancelled by an operator.", offsetof(struct queue_stats, jobs_cancelled) },
		{ "job_attempts_failed", "Render attempts that failed (retried or not).",
		  offsetof(struct queue_stats, attempts_failed) },
		{ "job_retries", "Jobs requeued by hand (krigd retry).", offsetof(struct queue_stats, retries) },
		{ "callbacks_delivered", "Callbacks answered with 2xx.",
		  offsetof(struct queue_stats, callbacks_delivered) },
		{ "callbacks_failed", "Callbacks given up after their last attempt.",
		  offsetof(struct queue_stats, callbacks_failed) },
	};

	for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
		long long v;

		memcpy(&v, (const char *)st + counters[i].off, sizeof(v));
		printf("# HELP krigd_%s_total %s\n# TYPE krigd_%s_total counter\nkrigd_%s_total %lld\n",
		       counters[i].name, counters[i].help, counters[i].name, counters[i].name, v);
	}
	printf("# HELP krigd_render_seconds_total Wall-clock seconds spent rendering jobs.\n"
	       "# TYPE krigd_render_seconds_total counter\nkrigd_render_seconds_total %.3f\n",
	       st->render_seconds);
	printf("# HELP krigd_jobs Jobs in the queue now, by state.\n# TYPE krigd_jobs gauge\n");
	for (int i = 0; i < JOB_NSTATES; i++)
		printf("krigd_jobs{state=\"%s\"} %lld\n", queue_state_name(i), st->state[i]);
	printf("# HELP krigd_oldest_pending_age_seconds Age of the oldest pending job (0: none).\n"
	       "# TYPE krigd_oldest_pending_age_seconds gauge\nkrigd_oldest_pending_age_seconds %lld\n",
	       st->oldest_pending ? now - st->oldest_pending : 0);
	printf("# HELP krigd_paused_disk_full_seconds Seconds the drain still claims nothing, the disk being full (0: not paused).\n"
	       "# TYPE krigd_paused_disk_full_seconds gauge\nkrigd_paused_disk_full_seconds %lld\n",
	       st->paused_until > now ? st->paused_until - now : 0);
	printf("# HELP krigd_callbacks_pending Callbacks waiting to be delivered.\n"
	       "# TYPE krigd_callbacks_pending gauge\nkrigd_callbacks_pending %lld\n", st->callbacks_pending);
}

static int do_stats(struct queue *q, const struct ops *op, struct error *e)
{
	struct queue_stats st;
	long long now = (long long)time(NULL);
	int rc = queue_stats(q, &st, e);

	if (rc < 0)
		return rc;
	if (op->prometheus) {
		print_prometheus(&st, now);
		return 0;
	}
	if (op->json) {
		struct json_object *o = json_object_new_object(), *s = json_object_new_object();
		for (int i = 0; i < JOB_NSTATES; i++)
			json_object_object_add(s, queue_state_name(i), json_object_new_int64(st.state[i]));
		json_object_object_add(o, "jobs", s);
		json_object_object_add(o, "oldest_pending_age",
				       json_object_new_int64(st.oldest_pending ? now - st.oldest_pending : 0));
		json_object_object_add(o, "callbacks_pending", json_object_new_int64(st.callbacks_pending));
		json_object_object_add(o, "done_last_minute", json_object_new_int64(st.done_last_minute));
		json_object_object_add(o, "done_last_hour", json_object_new_int64(st.done_last_hour));
		json_object_object_add(o, "jobs_accepted", json_object_new_int64(st.jobs_accepted));
		json_object_object_add(o, "jobs_done", json_object_new_int64(st.jobs_done));
		json_object_object_add(o, "jobs_dead", json_object_new_int64(st.jobs_dead));
		json_object_object_add(o, "jobs_cancelled", json_object_new_int64(st.jobs_cancelled));
		json_object_object_add(o, "attempts_failed", json_object_new_int64(st.attempts_failed));
		json_object_object_add(o, "retries", json_object_new_int64(st.retries));
		json_object_object_add(o, "callbacks_delivered", json_object_new_int64(st.callbacks_delivered));
		json_object_object_add(o, "callbacks_failed", json_object_new_int64(st.callbacks_failed));
		json_object_object_add(o, "render_seconds", json_object_new_double(st.render_seconds));
		json_object_object_add(o, "paused_disk_full",
				       json_object_new_int64(st.paused_until > now ? st.paused_until - now : 0));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return 0;
	}
	printf("jobs now      ");
	for (int i = 0; i < JOB_NSTATES; i++)
		printf("%s %lld%s", queue_state_name(i), st.state[i], i + 1 < JOB_NSTATES ? ", " : "\n");
	printf("oldest pending %lld s\n", st.oldest_pending ? now - st.oldest_pending : 0);
	printf("throughput    %lld done in the last minute, %lld in the last hour (%.2f jobs/s)\n",
	       st.done_last_minute, st.done_last_hour, st.done_last_minute / 60.0);
	printf("callbacks     %lld pending, %lld delivered, %lld failed\n", st.callbacks_pending,
	       st.callbacks_delivered, st.callbacks_failed);
	printf("since start   %lld accepted, %lld done, %lld dead, %lld cancelled, %lld retries\n",
	       st.jobs_accepted, st.jobs_done, st.jobs_dead, st.jobs_cancelled, st.retries);
	printf("rendering     %.1f s in all, %.3f s per done job\n", st.render_seconds,
	       st.jobs_done ? st.render_seconds / (double)st.jobs_done : 0.0);
	if (st.paused_until > now)
		printf("paused        disk full: the drain claims no job for %lld s more\n", st.paused_until - now);
	return 0;
}
/* retry refused one job: say why in its own terms ("job 8 is done:
 * --force requeues it", "no job 8") instead of the list of every reason.
 * e keeps queue_retry's message when the job cannot be read or the reason
 * is another (a scan while another is pending). */
static void retry_why(struct queue *q, const struct ops *op, struct error *e)
{
	struct queue_job j;
	struct error ge;
	int rc;

	memset(&j, 0, sizeof(j));
	error_clear(&ge);
	rc = queue_get(q, op->id, &j, &ge);
	if (rc == 0)
		error_set(e, KD_EINPUT, "no job %lld", op->id);
	else if (rc > 0 && j.state == JOB_DONE && !op->force)
		error_set(e, KD_EINPUT, "job %lld is done; --force requeues it", op->id);
	else if (rc > 0 && (j.state == JOB_PENDING || j.state == JOB_RUNNING))
		error_set(e, KD_EINPUT, "job %lld is %s: nothing to retry", op->id, queue_state_name(j.state));
	if (rc > 0)
		queue_job_release(&j);
}


/* purge: the rows finished before --older-than (the files of dead and
 * cancelled ones with them, a done job's only with --images), then with
 * --orphans the image directories no job owns. */
static int do_purge(struct queue *q, const struct ops *op, long long now, struct error *e)
{
	struct purge_files pf = { -1, op->images, 0 };
	long long count = 0, dirs = 0;
	int rc = 0;

	if (op->out && (pf.outfd = open(op->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return error_set(e, KD_EIO, "--out %s: %s", op->out, strerror(errno));
	if (op->older_than >= 0) {
		rc = queue_purge(q, now - op->older_than, purge_job_files, &pf, &count, e);
		if (rc >= 0)
			printf("%lld job%s purged%s\n", count, count == 1 ? "" : "s",
			       op->images ? " with their images"
			       : pf.outfd >= 0 ? " (the images of the done ones kept: --images removes them)" : "");
		if (rc >= 0 && pf.left > 0)
			printf("the files of %lld dead or cancelled job%s stay: give --out DIR to remove them, "
			       "or later `krigd purge --orphans --out DIR`\n", pf.left, pf.left == 1 ? "" : "s");
	}
	if (rc >= 0 && op->orphans && (rc = purge_orphans(q, pf.outfd, &dirs, e)) >= 0)
		printf("%lld image director%s of no job removed\n", dirs, dirs == 1 ? "y" : "ies");
	if (pf.outfd >= 0)
		close(pf.outfd);
	return rc;
}

static int run(struct ops *op, struct error *e)
{
	struct queue_opts qo;
	struct queue *q = NULL;
	long long count = 0, now = (long long)time(NULL);
	int rc;

	queue_opts_default(&qo);
	qo.password_file = op->password_file;
	struct outbox_ctx ob = { .default_url = op->callback };

	if ((rc = queue_open(&q, op->db, &qo, e)) < 0)
		return rc;
	now = queue_now(q); /* the queue's clock: on PostgreSQL the server's */
	/* cancel ends a pending job here: its callback goes out like any other. */
	queue_set_notify(q, outbox_notify, &ob);
	if (!strcmp(op->cmd, "jobs"))
		rc = do_jobs(q, op, e);
	else if (!strcmp(op->cmd, "show"))
		rc = do_show(q, op, e);
	else if (!strcmp(op->cmd, "stats"))
		rc = do_stats(q, op, e);
	else if (!strcmp(op->cmd, "retry")) {
		rc = queue_retry(q, op->dead ? 0 : op->id, op->force, now, &count, e);
		if (rc == KD_EINPUT && !op->dead)
			retry_why(q, op, e);
		if (rc >= 0)
			printf("%lld job%s requeued\n", count, count == 1 ? "" : "s");
	} else if (!strcmp(op->cmd, "cancel")) {
		rc = queue_cancel(q, op->id, now, e);
		if (rc >= 0)
			printf("job %lld %s\n", op->id, rc == 1 ? "will stop within a second (cancel requested)" : "cancelled");
	} else if (!strcmp(op->cmd, "purge"))
		rc = do_purge(q, op, now, e);
	else
		rc = error_set(e, KD_EINTERNAL, "unknown command");
	queue_close(q);
	return rc < 0 ? rc : 0;
}

static int ops_option(struct opts *p, struct ops *op, int id, const struct opt_val *v)
{
	switch (id) {
	case OPT_DB: op->db = v->arg; break;
	case OPT_DB_PASSWORD_FILE: op->password_file = v->arg; break;
	case OPT_OUT: op->out = v->arg; break;
	case OPT_JSON: op->json = 1; break;
	case OPT_PROMETHEUS: op->prometheus = 1; break;
	case OPT_IMAGES: op->images = 1; break;
	case OPT_ORPHANS: op->orphans = 1; break;
	case OPT_DEAD: op->dead = 1; break;
	case OPT_FORCE: op->force = 1; break;
	case OPT_CALLBACK: op->callback = v->arg; break;
	case OPT_LIMIT: op->limit = v->num; break;
	case OPT_STATE:
		if ((op->state = queue_state_parse(v->arg)) < 0)
			return opts_bad(p, v, strcmp(v->arg, "failed") == 0
						      ? "pending, running, done, dead or cancelled (a job that failed for good is dead)"
						      : "pending, running, done, dead or cancelled");
		break;
	case OPT_OLDER_THAN:
		if ((op->older_than = cli_duration(v->arg)) < 0)
			return opts_bad(p, v, "a duration like 90s, 15m, 2h, 7d");
		break;
	default: return cli_unhandled(p, v);
	}
	return 0;
}

static int takes_id(const char *cmd)
{
	return !strcmp(cmd, "show") || !strcmp(cmd, "cancel") || !strcmp(cmd, "retry");
}

/* The index of an argument such as "-5" before any "--" (getopt would
 * call it an unknown option), or 0. */
static int negative_id(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9')
			return i;
	return 0;
}

int cmd_ops(int argc, char **argv)
{
	const struct opts_cmd cmd = { argv[0], OPTC_OPS, OPS_HEAD, OPS_TAIL };
	struct ops op;
	struct error e;
	struct opts p;
	struct opt_val v;
	char *end;
	int id;

	memset(&op, 0, sizeof(op));
	op.cmd = argv[0];
	op.state = -1;
	op.older_than = -1;
	error_clear(&e);
	if (takes_id(op.cmd) && (id = negative_id(argc, argv)) > 0) {
		fprintf(stderr, "krigd %s: %s is not a job id: ids are whole numbers from 1\n", op.cmd, argv[id]);
		return 2;
	}
	opts_begin(&p, &cmd, argc, argv, 0);
	while ((id = opts_next(&p, &v)) >= 0)
		if (ops_option(&p, &op, id, &v) < 0)
			return 2;
	if (opts_status(id) >= 0)
		return opts_status(id);
	if (!op.db) {
		fprintf(stderr, "krigd %s: --db is required\n", op.cmd);
		return 2;
	}
	if (takes_id(op.cmd) && !op.dead) {
		if (optind + 1 != argc) {
			fprintf(stderr, "krigd %s: give one job id\n", op.cmd);
			return 2;
		}
		errno = 0;
		op.id = strtoll(argv[optind], &end, 10);
		if (op.id <= 0 || *end || end == argv[optind] || errno) {
			fprintf(stderr, "krigd %s: %s is not a job id: ids are whole numbers from 1\n", op.cmd,
				argv[optind]);
			return 2;
		}
	} else if (optind != argc) {
		fprintf(stderr, "krigd %s: unexpected argument %s\n", op.cmd, argv[optind]);
		return 2;
	}
	if (op.prometheus && (strcmp(op.cmd, "stats") || op.json)) {
		fprintf(stderr, "krigd %s: --prometheus is for stats, without --json\n", op.cmd);
		return 2;
	}
	if (!strcmp(op.cmd, "purge") && op.older_than < 0 && !op.orphans) {
		fprintf(stderr, "krigd purge: --older-than (or --orphans) is required\n");
		return 2;
	}
	if ((op.images || op.orphans) && !op.out) {
		fprintf(stderr, "krigd purge: --%s needs --out DIR (where the images are)\n",
			op.images ? "images" : "orphans");
		return 2;
	}
	if (op.images && op.older_than < 0) {
		fprintf(stderr, "krigd purge: --images goes with --older-than\n");
		return 2;
	}
	if (run(&op, &e) < 0) {
		fprintf(stderr, "krigd %s: %s\n", op.cmd, e.msg);
		return 1;
	}
	return 0;
}

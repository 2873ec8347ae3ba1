/* queue_pg_batch.c - the listener's group commit on PostgreSQL: n jobs in
 * one multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING, so a reused
 * key or a coalesced ping fails or merges its own job only and the batch
 * costs one round trip.  See queue_pg.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "queue_pg.h"

/* A growing buffer for the array literals of the multi-row insert. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* One element of a PostgreSQL array literal: NULL, or "..." with '"' and
 * '\' escaped, after a ',' unless it is the first. */
static void put_elem(struct buf *b, size_t i, const char *s, size_t n)
{
	put(b, i ? "," : "{", 1);
	if (!s) {
		put(b, "NULL", 4);
		return;
	}
	put(b, "\"", 1);
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '"' || s[k] == '\\')
			put(b, "\\", 1);
		put(b, s + k, 1);
	}
	put(b, "\"", 1);
}

static void put_num(struct buf *b, size_t i, long long v, int null)
{
	char num[32];
	int n = snprintf(num, sizeof(num), "%lld", v);

	put_elem(b, i, null ? NULL : num, (size_t)n);
}

/* Well-formed UTF-8 without NUL: what a text column takes (a bad byte
 * would fail the whole multi-row statement, not only its own job). */
static int text_ok(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned c = u[i];
		unsigned long cp, min;
		size_t k;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			k = 2, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, min = 0x10000;
		else
			return 0;
		if (n - i <= k)
			return 0;
		cp = c & (0x3fu >> k);
		for (size_t j = 1; j <= k; j++) {
			if ((u[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* After the insert: what became of a job the conflict skipped.  A key
 * already there with the same payload is that job (existed); with another
 * payload, KD_EINPUT for this job only.  A skipped scan is the pending one. */
static int resolve_skipped(struct queue *q, const struct queue_new_job *j, struct queue_enqueued *r,
			   struct error *e)
{
	int scan = strcmp(j->kind ? j->kind : "render", "scan") == 0;
	const char *p[1] = { j->key };
	PGresult *res = pg_run(q, scan ? P_SCAN_FIND : P_KEY_FIND, scan ? 0 : 1, p, e);

	if (!res)
		return e ? e->code : KD_EIO;
	if (PQntuples(res) == 0) {
		/* Purged, or claimed, between the two statements: try again. */
		PQclear(res);
		r->code = KD_EBUSY;
		snprintf(r->msg, sizeof(r->msg), "queue busy");
		return 0;
	}
	r->id = pg_ll(res, 0, 0, 0);
	if (!scan && !queue_payload_same(PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1), j->payload,
					 j->payload_len)) {
		r->code = KD_EINPUT;
		snprintf(r->msg, sizeof(r->msg), "key already used with another payload");
	} else {
		r->existed = 1;
	}
	PQclear(res);
	return 0;
}

/* The eight array literals of the insert, for the jobs not refused here. */
static int build_arrays(const struct queue_new_job *jobs, size_t n, struct queue_enqueued *res,
			struct buf a[8], size_t *m)
{
	*m = 0;
	for (size_t i = 0; i < n; i++) {
		const struct queue_new_job *j = &jobs[i];

		if ((j->key && !text_ok(j->key, strlen(j->key))) || !text_ok(j->payload, j->payload_len)) {
			res[i].code = KD_EINPUT;
			snprintf(res[i].msg, sizeof(res[i].msg), "not valid UTF-8 text (or a NUL byte)");
			continue;
		}
		put_elem(&a[0], *m, j->kind ? j->kind : "render", strlen(j->kind ? j->kind : "render"));
		put_num(&a[1], *m, j->priority, 0);
		put_elem(&a[2], *m, j->key, j->key ? strlen(j->key) : 0);
		put_elem(&a[3], *m, j->payload, j->payload_len);
		put_num(&a[4], *m, j->source_id, j->source_id < 0);
		put_num(&a[5], *m, j->max_attempts >= 1 ? j->max_attempts : 5, 0);
		/* run_at is a node's clock: only "later than now" is honoured as given. */
		put_num(&a[6], *m, j->run_at, j->run_at <= 0);
		put_num(&a[7], *m, j->sender_uid, j->sender_uid < 0);
		res[i].code = 1; /* in the statement; set below */
		(*m)++;
	}
	for (int k = 0; k < 8; k++) {
		put(&a[k], *m ? "}" : "{}", *m ? 1 : 2);
		if (a[k].oom)
			return KD_ENOMEM;
	}
	return 0;
}

int pg_insert_many(struct queue *q, const struct queue_new_job *jobs, size_t n,
		   struct queue_enqueued *res, int *added, struct error *e)
{
	struct buf a[8];
	const char *p[8];
	PGresult *r = NULL;
	size_t m, row = 0;
	int rc;

	*added = 0;
	memset(a, 0, sizeof(a));
	memset(res, 0, n * sizeof(*res));
	if ((rc = build_arrays(jobs, n, res, a, &m)) < 0) {
		rc = error_set(e, KD_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < 8; k++)
		p[k] = a[k].p;
	if (m && !(r = pg_run(q, P_INSERT_MANY, 8, p, e))) {
		rc = e->code;
		goto out;
	}
	if (r && (size_t)PQntuples(r) != m) {
		rc = error_set(e, KD_EINTERNAL, "insert: %d rows for %zu jobs", PQntuples(r), m);
		goto out;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (res[i].code != 1)
			continue;
		res[i].code = 0;
		res[i].id = pg_ll(r, (int)row, 0, 0);
		if (strcmp(PQgetvalue(r, (int)row++, 1), "t") == 0)
			(*added)++;
		else
			rc = resolve_skipped(q, &jobs[i], &res[i], e);
	}
out:
	PQclear(r);
	for (int k = 0; k < 8; k++)
		free(a[k].p);
	return rc;
}

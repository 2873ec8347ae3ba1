/* source_mysql.c - table kriging_img in a MySQL or MariaDB server, where
 * the seed kept it (nanshan_db.kriging_img), through libmariadb.  See
 * source.h for the spec.  As with SQLite we never change the schema: we
 * read rows and set img_list of one row (WHERE id_num = ?, in a transaction
 * that is rolled back unless exactly one row matched).
 *
 * Every statement is prepared once per connection with bound parameters;
 * the only text spliced into SQL is the table name, an identifier checked
 * against [A-Za-z0-9_] and quoted with backticks.  A lost connection
 * (server restart, network, idle time-out) is reopened once and the
 * statement retried -- every statement here is idempotent -- else the
 * caller gets KD_EIO and the next call tries again.  The password never
 * appears in s->name or in a message. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errmsg.h>
#include <json-c/json.h>
#include <mysql.h>
#include <mysqld_error.h>

#include "error.h"
#include "source_impl.h"

#define LIST_PAGE 256
#define FIELD_MAX 256     /* user, host, database, socket path */
#define IDENT_MAX 64      /* MySQL's own limit for a table or database name */
#define PASSWORD_MAX 1024 /* bytes of a password file */
#define MAP_INDEX_MAX 256 /* longer is bad input anyway (the rule allows 32) */
#define PASSWORD_ENV "KRIGD_MYSQL_PASSWORD"
#define ER_CLIENT_INTERACTION_TIMEOUT_ 4031 /* MySQL 8: idle connection closed */

struct my {
	MYSQL *conn; /* NULL while disconnected; the next call reconnects */
	MYSQL_STMT *list, *fetch, *write;
	int lost;    /* the last failure was a lost connection */
	char user[FIELD_MAX], host[FIELD_MAX], db[FIELD_MAX], socket[FIELD_MAX];
	char *password; /* NULL: none; wiped on close */
	unsigned port;
	char table[2 * IDENT_MAX + 8]; /* quoted: `db`.`t` or `t` */
	char init_cmd[96];
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

/* mysql_init() would initialise the library lazily, which is not thread
 * safe; drain workers open their sources from several threads. */
static void lib_init(void)
{
	lib_rc = mysql_library_init(0, NULL, NULL);
}

/* ---- the spec ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode src[0..n) into dst (cap bytes with the NUL); -1 on a bad
 * escape, an encoded NUL or overflow. */
static int pct_decode(char *dst, size_t cap, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)src[i];

		if (c == '%') {
			if (i + 2 >= n || hexval(src[i + 1]) < 0 || hexval(src[i + 2]) < 0)
				return -1;
			c = hexval(src[i + 1]) * 16 + hexval(src[i + 2]);
			i += 2;
			if (c == 0)
				return -1;
		}
		if (j + 1 >= cap)
			return -1;
		dst[j++] = (char)c;
	}
	dst[j] = '\0';
	return 0;
}

static int ident_ok(const char *s, size_t n)
{
	if (n == 0 || n > IDENT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return 0;
	return 1;
}

/* table or db.table, each part [A-Za-z0-9_]{1,64}; quoted into m->table. */
static int set_table(struct my *m, const char *t, struct error *e)
{
	const char *dot = strchr(t, '.');

	if (dot) {
		size_t a = (size_t)(dot - t), b = strlen(dot + 1);

		if (!ident_ok(t, a) || !ident_ok(dot + 1, b))
			return error_set(e, KD_EINPUT,
					 "source mysql: table must be NAME or DB.NAME of letters, digits and '_'");
		snprintf(m->table, sizeof(m->table), "`%.*s`.`%s`", (int)a, t, dot + 1);
	} else {
		if (!ident_ok(t, strlen(t)))
			return error_set(e, KD_EINPUT,
					 "source mysql: table must be NAME or DB.NAME of letters, digits and '_'");
		snprintf(m->table, sizeof(m->table), "`%s`", t);
	}
	return 0;
}

static int read_password_file(struct my *m, const char *path, struct error *e)
{
	char buf[PASSWORD_MAX + 2], *nl;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return error_set(e, errno == ENOENT || errno == EACCES ? KD_EINPUT : KD_EIO,
				 "source mysql: password_file %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f)) {
		fclose(f);
		return error_set(e, KD_EIO, "source mysql: password_file %s: read error", path);
	}
	fclose(f);
	/* The first line is the password (as source.h says); editors and `echo`
	 * end it with a newline that is not part of it, and what follows (a
	 * comment, say) is not either. */
	if ((nl = memchr(buf, '\n', n)) != NULL)
		n = (size_t)(nl - buf);
	if (n > PASSWORD_MAX) {
		explicit_bzero(buf, sizeof(buf));
		return error_set(e, KD_EINPUT, "source mysql: password_file %s: longer than %d bytes", path,
				 PASSWORD_MAX);
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		explicit_bzero(buf, sizeof(buf));
		return error_set(e, KD_EINPUT, "source mysql: password_file %s: contains a NUL byte", path);
	}
	m->password = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	return m->password ? 0 : error_set(e, KD_ENOMEM, "out of memory");
}

#define BAD_SPEC "source mysql: expected mysql://USER[:PASSWORD]@HOST[:PORT]/DB[?table=T&socket=PATH&password_file=F]"

/* USER[:PASSWORD]@ from p up to auth_end; returns where the host starts
 * (p when there is no userinfo), NULL with e filled. */
static const char *parse_userinfo(struct my *m, const char *p, const char *auth_end, int *have_url_pw,
				  struct error *e)
{
	const char *at = NULL, *colon;
	size_t ulen;

	/* The userinfo ends at the last '@' before the path: a password may hold '@'. */
	for (const char *c = p; c < auth_end; c++)
		if (*c == '@')
			at = c;
	if (!at)
		return p;
	colon = memchr(p, ':', (size_t)(at - p));
	ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
	if (pct_decode(m->user, sizeof(m->user), p, ulen) < 0)
		return error_set(e, KD_EINPUT, "source mysql: bad user name"), NULL;
	if (colon) {
		char pw[PASSWORD_MAX + 1];

		if (pct_decode(pw, sizeof(pw), colon + 1, (size_t)(at - colon - 1)) < 0)
			return error_set(e, KD_EINPUT, "source mysql: bad password in the URL"), NULL;
		m->password = strdup(pw);
		explicit_bzero(pw, sizeof(pw));
		if (!m->password)
			return error_set(e, KD_ENOMEM, "out of memory"), NULL;
		*have_url_pw = 1;
	}
	return at + 1;
}

/* HOST[:PORT] or [IPv6][:PORT] from p up to auth_end. */
static int parse_hostport(struct my *m, const char *p, const char *auth_end, struct error *e)
{
	if (*p == '[') { /* [IPv6]:port */
		const char *rb = memchr(p, ']', (size_t)(auth_end - p));

		if (!rb || pct_decode(m->host, sizeof(m->host), p + 1, (size_t)(rb - p - 1)) < 0)
			return error_set(e, KD_EINPUT, BAD_SPEC);
		p = rb + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(auth_end - p));
		const char *hend = colon ? colon : auth_end;

		if (pct_decode(m->host, sizeof(m->host), p, (size_t)(hend - p)) < 0)
			return error_set(e, KD_EINPUT, "source mysql: bad host name");
		p = hend;
	}
	if (p < auth_end) {
		char *end;
		unsigned long port;

		if (*p != ':' || p + 1 == auth_end)
			return error_set(e, KD_EINPUT, BAD_SPEC);
		errno = 0;
		port = strtoul(p + 1, &end, 10);
		if (end != auth_end || port == 0 || port > 65535 || p[1] < '0' || p[1] > '9')
			return error_set(e, KD_EINPUT, "source mysql: bad port");
		m->port = (unsigned)port;
	}
	return 0;
}

/* The query: table=, socket=, password_file= (anything else refused: a
 * typo must not be silently ignored).  table has table_len bytes, pwfile
 * FIELD_MAX. */
static int parse_params(struct my *m, const char *q, char *table, size_t table_len, char *pwfile,
			int *have_pwfile, struct error *e)
{
	char val[FIELD_MAX];

	while (*q) {
		size_t n = strcspn(q, "&#"), klen;
		const char *eq = memchr(q, '=', n);

		if (q[n] == '#')
			return error_set(e, KD_EINPUT, BAD_SPEC);
		if (!eq)
			return error_set(e, KD_EINPUT, "source mysql: parameter without a value");
		klen = (size_t)(eq - q);
		if (pct_decode(val, sizeof(val), eq + 1, n - klen - 1) < 0)
			return error_set(e, KD_EINPUT, "source mysql: bad value for %.*s", (int)klen, q);
		if (klen == 5 && strncmp(q, "table", 5) == 0) {
			if (strlen(val) >= table_len)
				return error_set(e, KD_EINPUT, "source mysql: table name too long");
			strcpy(table, val);
		} else if (klen == 6 && strncmp(q, "socket", 6) == 0)
			strcpy(m->socket, val);
		else if (klen == 13 && strncmp(q, "password_file", 13) == 0) {
			strcpy(pwfile, val);
			*have_pwfile = 1;
		} else
			return error_set(e, KD_EINPUT,
					 "source mysql: unknown parameter %.*s (known: table, socket, password_file)",
					 (int)(klen > 32 ? 32 : klen), q);
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* The name logs use: everything but the password. */
static void set_log_name(struct source *s, const struct my *m, const char *table)
{
	char port[16] = "";
	int w;

	if (m->port)
		snprintf(port, sizeof(port), ":%u", m->port);
	w = snprintf(s->name, sizeof(s->name), "mysql://%s@%s%s/%s?%s%s%stable=%s", m->user,
		     m->host[0] ? m->host : "localhost", port, m->db, m->socket[0] ? "socket=" : "", m->socket,
		     m->socket[0] ? "&" : "", table);
	if (w >= (int)sizeof(s->name)) /* a long socket path: the name is only for logs */
		memcpy(s->name + sizeof(s->name) - 4, "...", 4);
}

static int parse_spec(struct source *s, const char *spec, struct error *e)
{
	struct my *m = s->impl;
	const char *p = spec + strlen("mysql://"), *auth_end, *path_end;
	char table[2 * IDENT_MAX + 2] = "kriging_img", pwfile[FIELD_MAX] = "";
	int have_url_pw = 0, have_pwfile = 0, rc;

	if (strncasecmp(spec, "mysql://", 8) != 0)
		return error_set(e, KD_EINPUT, BAD_SPEC);
	auth_end = p + strcspn(p, "/?#");
	if (!(p = parse_userinfo(m, p, auth_end, &have_url_pw, e)))
		return e->code;
	if ((rc = parse_hostport(m, p, auth_end, e)) < 0)
		return rc;
	p = auth_end;
	if (*p == '#')
		return error_set(e, KD_EINPUT, BAD_SPEC);
	if (*p == '/') {
		path_end = p + 1 + strcspn(p + 1, "?#");
		if (pct_decode(m->db, sizeof(m->db), p + 1, (size_t)(path_end - p - 1)) < 0 ||
		    (m->db[0] && !ident_ok(m->db, strlen(m->db))))
			return error_set(e, KD_EINPUT, "source mysql: the database must be letters, digits and '_'");
		p = path_end;
	}
	if (*p == '#')
		return error_set(e, KD_EINPUT, BAD_SPEC);
	if ((rc = parse_params(m, *p == '?' ? p + 1 : p, table, sizeof(table), pwfile, &have_pwfile, e)) < 0)
		return rc;
	if (set_table(m, table, e) < 0)
		return KD_EINPUT;
	if (!m->db[0] && !strchr(table, '.'))
		return error_set(e, KD_EINPUT, "source mysql: no database: name it in the path or as table=DB.TABLE");
	if (!m->host[0] && !m->socket[0])
		return error_set(e, KD_EINPUT, "source mysql: no host (use localhost with socket=PATH)");
	if (!m->user[0])
		return error_set(e, KD_EINPUT, "source mysql: no user (mysql://USER@HOST/DB)");
	if (m->socket[0] && m->socket[0] != '/')
		return error_set(e, KD_EINPUT, "source mysql: socket must be an absolute path");
	if (have_url_pw && have_pwfile)
		return error_set(e, KD_EINPUT, "source mysql: a password in the URL and a password_file: use one");
	set_log_name(s, m, table);

	if (have_pwfile)
		return read_password_file(m, pwfile, e);
	if (!have_url_pw && getenv(PASSWORD_ENV)) {
		m->password = strdup(getenv(PASSWORD_ENV));
		if (!m->password)
			return error_set(e, KD_ENOMEM, "out of memory");
	}
	return 0;
}

/* ---- errors ---- */

static int conn_lost(unsigned err)
{
	switch (err) {
	case CR_CONNECTION_ERROR:
	case CR_CONN_HOST_ERROR:
	case CR_SERVER_GONE_ERROR:
	case CR_SERVER_LOST:
	case CR_SERVER_LOST_EXTENDED:
	case CR_ERR_NET_READ:
	case CR_ERR_NET_WRITE:
	case ER_SERVER_SHUTDOWN:
	case ER_CONNECTION_KILLED:
	case ER_NEW_ABORTING_CONNECTION:
	case ER_NET_READ_INTERRUPTED:
	case ER_NET_WRITE_INTERRUPTED:
	case ER_UNKNOWN_STMT_HANDLER: /* the server restarted under a prepared statement */
	case ER_CLIENT_INTERACTION_TIMEOUT_:
		return 1;
	default:
		return 0;
	}
}

static int err_code(unsigned err)
{
	switch (err) {
	case ER_LOCK_WAIT_TIMEOUT:
	case ER_LOCK_DEADLOCK:
	case ER_USER_LOCK_DEADLOCK:
		return KD_EBUSY;
	case CR_OUT_OF_MEMORY:
		return KD_ENOMEM;
	/* Configuration and schema mistakes do not fix themselves. */
	case ER_ACCESS_DENIED_ERROR:
	case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
	case ER_DBACCESS_DENIED_ERROR:
	case ER_BAD_DB_ERROR:
	case ER_WRONG_DB_NAME:
	case ER_NO_SUCH_TABLE:
	case ER_BAD_FIELD_ERROR:
	case ER_TABLEACCESS_DENIED_ERROR:
	case ER_COLUMNACCESS_DENIED_ERROR:
	case ER_PARSE_ERROR:
	case ER_DATA_TOO_LONG:
		return KD_EINPUT;
	default:
		return KD_EIO;
	}
}

static int conn_fail(struct source *s, const char *what, struct error *e)
{
	struct my *m = s->impl;
	unsigned err = mysql_errno(m->conn);

	m->lost = conn_lost(err);
	return error_set(e, m->lost ? KD_EIO : err_code(err), "source %s: %s: %s (error %u)", s->name, what,
			 mysql_error(m->conn), err);
}

static int stmt_fail(struct source *s, MYSQL_STMT *st, const char *what, struct error *e)
{
	struct my *m = s->impl;
	unsigned err = mysql_stmt_errno(st);

	m->lost = conn_lost(err);
	return error_set(e, m->lost ? KD_EIO : err_code(err), "source %s: %s: %s (error %u)", s->name, what,
			 mysql_stmt_error(st), err);
}

/* ---- the connection ---- */

static void disconnect(struct my *m)
{
	if (m->list)
		mysql_stmt_close(m->list);
	if (m->fetch)
		mysql_stmt_close(m->fetch);
	if (m->write)
		mysql_stmt_close(m->write);
	m->list = m->fetch = m->write = NULL;
	if (m->conn)
		mysql_close(m->conn);
	m->conn = NULL;
}

static int prepare(struct source *s, const char *sql, MYSQL_STMT **st, struct error *e)
{
	struct my *m = s->impl;
	unsigned err;

	*st = mysql_stmt_init(m->conn);
	if (!*st)
		return error_set(e, KD_ENOMEM, "out of memory");
	if (mysql_stmt_prepare(*st, sql, (unsigned long)strlen(sql)) == 0)
		return 0;
	err = mysql_stmt_errno(*st);
	if (err_code(err) == KD_EINPUT && !conn_lost(err))
		return error_set(e, KD_EINPUT,
				 "source %s: %s (error %u; expected table %s(id_num, map_index, ret_data, img_list))",
				 s->name, mysql_stmt_error(*st), err, m->table);
	return stmt_fail(s, *st, "preparing statements", e);
}

/* 1 when the list statement's id_num is an integer column (its result
 * metadata says so); 0 for text, decimal, float or unknown. */
static int integer_ids(MYSQL_STMT *list)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(list);
	MYSQL_FIELD *f = meta ? mysql_fetch_field_direct(meta, 0) : NULL;
	int yes = f && (f->type == MYSQL_TYPE_TINY || f->type == MYSQL_TYPE_SHORT || f->type == MYSQL_TYPE_INT24 ||
			f->type == MYSQL_TYPE_LONG || f->type == MYSQL_TYPE_LONGLONG);

	if (meta)
		mysql_free_result(meta);
	return yes;
}

static int connect_db(struct source *s, struct error *e)
{
	struct my *m = s->impl;
	unsigned int connect_to = 10, io_to = 60, no_infile = 0;
	my_bool no_reconnect = 0;
	const char *host = m->host[0] ? m->host : NULL;
	char sql[256 + sizeof(m->table)];
	int rc;

	m->lost = 0;
	m->conn = mysql_init(NULL);
	if (!m->conn)
		return error_set(e, KD_ENOMEM, "out of memory");
	mysql_options(m->conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_to);
	/* A server that stops answering must not hang a worker for ever. */
	mysql_options(m->conn, MYSQL_OPT_READ_TIMEOUT, &io_to);
	mysql_options(m->conn, MYSQL_OPT_WRITE_TIMEOUT, &io_to);
	mysql_options(m->conn, MYSQL_OPT_LOCAL_INFILE, &no_infile);
	/* We reconnect ourselves: the library's silent reconnect would drop the
	 * prepared statements and a transaction under our feet. */
	mysql_options(m->conn, MYSQL_OPT_RECONNECT, &no_reconnect);
	mysql_options(m->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	mysql_options(m->conn, MYSQL_INIT_COMMAND, m->init_cmd);
	if (m->socket[0]) {
		unsigned int proto = MYSQL_PROTOCOL_SOCKET;

		mysql_options(m->conn, MYSQL_OPT_PROTOCOL, &proto);
		host = "localhost";
	}
	/* CLIENT_FOUND_ROWS: an UPDATE reports rows matched, not rows changed,
	 * so writing the same img_list again still finds its row. */
	if (!mysql_real_connect(m->conn, host, m->user, m->password, m->db[0] ? m->db : NULL, m->port,
				m->socket[0] ? m->socket : NULL, CLIENT_FOUND_ROWS)) {
		unsigned err = mysql_errno(m->conn);

		/* Cannot connect: transient, unless the server said no to us. */
		rc = error_set(e, err_code(err) == KD_EINPUT ? KD_EINPUT : KD_EIO, "source %s: cannot connect: %s (error %u)",
			       s->name, mysql_error(m->conn), err);
		disconnect(m);
		return rc;
	}
	if (mysql_autocommit(m->conn, 1)) {
		rc = conn_fail(s, "autocommit", e);
		disconnect(m);
		return rc;
	}
	snprintf(sql, sizeof(sql), "SELECT id_num FROM %s WHERE img_list IS NULL AND id_num > ? ORDER BY id_num LIMIT ?",
		 m->table);
	rc = prepare(s, sql, &m->list, e);
	if (!rc && !integer_ids(m->list)) {
		/* A text id_num sorts as text ("10" before "9") but is compared
		 * with the page's last id as a number: page in numeric order, or
		 * rows are skipped.  (No index helps then; an integer column
		 * keeps its primary key order.) */
		mysql_stmt_close(m->list);
		m->list = NULL;
		snprintf(sql, sizeof(sql), "SELECT id_num FROM %s WHERE img_list IS NULL AND id_num > ? "
			 "ORDER BY CAST(id_num AS DECIMAL(65, 10)) LIMIT ?", m->table);
		rc = prepare(s, sql, &m->list, e);
	}
	if (!rc) {
		snprintf(sql, sizeof(sql), "SELECT map_index, ret_data FROM %s WHERE id_num = ?", m->table);
		rc = prepare(s, sql, &m->fetch, e);
	}
	if (!rc) {
		snprintf(sql, sizeof(sql), "UPDATE %s SET img_list = ? WHERE id_num = ?", m->table);
		rc = prepare(s, sql, &m->write, e);
	}
	if (rc)
		disconnect(m);
	return rc;
}

typedef int (*op_fn)(struct source *s, void *arg, struct error *e);

/* Run op on a live connection; if it failed because the connection was
 * lost, reconnect once and run it again.  Every op is idempotent. */
static int with_retry(struct source *s, op_fn op, void *arg, struct error *e)
{
	struct my *m = s->impl;
	int rc;

	for (int attempt = 0;; attempt++) {
		if (!m->conn && (rc = connect_db(s, e)) < 0)
			return rc;
		m->lost = 0;
		rc = op(s, arg, e);
		if (rc == 0 || !m->lost)
			return rc;
		disconnect(m);
		if (attempt == 1)
			return rc;
	}
}

/* ---- the operations ---- */

struct page {
	long long after;
	long long ids[LIST_PAGE];
	size_t n;
	size_t rows;        /* rows read, with those skipped */
	long long skipped;  /* ids that are not integers (truncated on fetch) */
};

static int op_list_page(struct source *s, void *arg, struct error *e)
{
	struct my *m = s->impl;
	struct page *pg = arg;
	long long after = pg->after, id = 0;
	int limit = LIST_PAGE, rc;
	my_bool isnull = 0;
	MYSQL_BIND par[2], res[1];

	pg->n = pg->rows = 0;
	memset(par, 0, sizeof(par));
	par[0].buffer_type = MYSQL_TYPE_LONGLONG;
	par[0].buffer = &after;
	par[1].buffer_type = MYSQL_TYPE_LONG;
	par[1].buffer = &limit;
	if (mysql_stmt_bind_param(m->list, par) || mysql_stmt_execute(m->list))
		return stmt_fail(s, m->list, "listing unrendered rows", e);
	memset(res, 0, sizeof(res));
	res[0].buffer_type = MYSQL_TYPE_LONGLONG;
	res[0].buffer = &id;
	res[0].is_null = &isnull;
	if (mysql_stmt_bind_result(m->list, res)) {
		rc = stmt_fail(s, m->list, "listing unrendered rows", e);
		mysql_stmt_free_result(m->list);
		return rc;
	}
	/* A text id ("abc") in a character column is truncated to a number:
	 * it could never be fetched by id, so it is counted, not listed. */
	while ((rc = mysql_stmt_fetch(m->list)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
		pg->rows++;
		if (rc == MYSQL_DATA_TRUNCATED || isnull)
			pg->skipped++;
		else if (pg->n < LIST_PAGE)
			pg->ids[pg->n++] = id;
	}
	if (rc != MYSQL_NO_DATA) {
		rc = stmt_fail(s, m->list, "listing unrendered rows", e);
		mysql_stmt_free_result(m->list);
		return rc;
	}
	mysql_stmt_free_result(m->list);
	return 0;
}

static int my_list(struct source *s, source_row_fn fn, void *ctx, struct error *e)
{
	struct page pg;
	int rc;

	pg.after = INT64_MIN; /* below any id */
	pg.skipped = 0;
	for (;;) {
		long long next = pg.after;

		if ((rc = with_retry(s, op_list_page, &pg, e)) < 0)
			return rc;
		s->skipped = pg.skipped;
		/* The page is read to the end, so nothing is held open while fn runs. */
		for (size_t i = 0; i < pg.n; i++) {
			if ((rc = fn(ctx, pg.ids[i], e)) != 0)
				return rc;
			if (pg.ids[i] > next)
				next = pg.ids[i];
		}
		if (pg.rows < LIST_PAGE)
			return 0;
		/* Paging must move forward, whatever the column's type and order. */
		if (next <= pg.after)
			return error_set(e, KD_EINPUT, "source %s: listing unrendered rows does not advance past id_num %lld "
					 "(is id_num an integer column?)", s->name, pg.after);
		pg.after = next;
	}
}

struct fetch_arg {
	long long id;
	char *map_index, *ret_data;
	size_t ret_len;
};

/* Column col of the current row into a new NUL-terminated buffer. */
static int take_column(struct source *s, MYSQL_BIND *b, unsigned col, size_t len, char **out, struct error *e)
{
	struct my *m = s->impl;

	*out = malloc(len + 1);
	if (!*out)
		return error_set(e, KD_ENOMEM, "out of memory");
	b->buffer = *out;
	b->buffer_length = (unsigned long)len + 1;
	if (len > 0 && mysql_stmt_fetch_column(m->fetch, b, col, 0)) {
		free(*out);
		*out = NULL;
		return stmt_fail(s, m->fetch, "reading a row", e);
	}
	(*out)[len] = '\0';
	return 0;
}

static int op_fetch(struct source *s, void *arg, struct error *e)
{
	struct my *m = s->impl;
	struct fetch_arg *a = arg;
	long long id = a->id;
	unsigned long len[2] = { 0, 0 };
	my_bool isnull[2] = { 0, 0 };
	MYSQL_BIND par[1], res[2];
	int rc;

	memset(par, 0, sizeof(par));
	par[0].buffer_type = MYSQL_TYPE_LONGLONG;
	par[0].buffer = &id;
	if (mysql_stmt_bind_param(m->fetch, par) || mysql_stmt_execute(m->fetch))
		return stmt_fail(s, m->fetch, "reading a row", e);
	/* Bind no buffers: the fetch reports each length, and only then do we
	 * allocate (after checking the limit) and copy the column. */
	memset(res, 0, sizeof(res));
	for (int c = 0; c < 2; c++) {
		res[c].buffer_type = MYSQL_TYPE_STRING;
		res[c].length = &len[c];
		res[c].is_null = &isnull[c];
	}
	if (mysql_stmt_bind_result(m->fetch, res)) {
		rc = stmt_fail(s, m->fetch, "reading a row", e);
		goto out;
	}
	rc = mysql_stmt_fetch(m->fetch);
	if (rc == MYSQL_NO_DATA) {
		rc = error_set(e, KD_EINPUT, "row %lld no longer exists in %s", id, s->name);
		goto out;
	}
	if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
		rc = stmt_fail(s, m->fetch, "reading a row", e);
		goto out;
	}
	if (isnull[0])
		rc = error_set(e, KD_EINPUT, "row %lld: map_index is NULL", id);
	else if (isnull[1])
		rc = error_set(e, KD_EINPUT, "row %lld: ret_data is NULL", id);
	else if (len[0] > MAP_INDEX_MAX)
		rc = error_set(e, KD_EINPUT, "row %lld: map_index is %lu bytes long", id, len[0]);
	else if (len[1] > s->opts.max_ret_data)
		rc = error_set(e, KD_ELIMIT, "row %lld: ret_data is %lu bytes; the limit is %zu", id, len[1],
			       s->opts.max_ret_data);
	else if ((rc = take_column(s, &res[0], 0, len[0], &a->map_index, e)) == 0 &&
		 (rc = take_column(s, &res[1], 1, len[1], &a->ret_data, e)) == 0)
		a->ret_len = len[1];
	if (rc == 0 && strlen(a->map_index) != len[0])
		rc = error_set(e, KD_EINPUT, "row %lld: map_index holds a NUL byte", id);
out:
	/* Discards any further rows (id_num should be unique) and frees the
	 * result, so the connection is ready for the next statement. */
	mysql_stmt_free_result(m->fetch);
	if (rc) {
		free(a->map_index);
		free(a->ret_data);
		a->map_index = a->ret_data = NULL;
	}
	return rc;
}

static int my_fetch(struct source *s, long long id, char **map_index, struct json_object **ret_data,
		    struct error *e)
{
	struct fetch_arg a = { .id = id };
	char what[64];
	int rc;

	if ((rc = with_retry(s, op_fetch, &a, e)) < 0)
		return rc;
	snprintf(what, sizeof(what), "row %lld: ret_data", id);
	rc = source_parse_json(s, a.ret_data, a.ret_len, what, ret_data, e);
	free(a.ret_data);
	if (rc == 0 && !json_object_is_type(*ret_data, json_type_array)) {
		json_object_put(*ret_data);
		*ret_data = NULL;
		rc = error_set(e, KD_EINPUT, "row %lld: ret_data is not a list of frames", id);
	}
	if (rc < 0) {
		free(a.map_index);
		return rc;
	}
	*map_index = a.map_index;
	return 0;
}

struct write_arg {
	long long id;
	const char *img_list;
};

static int op_write(struct source *s, void *arg, struct error *e)
{
	struct my *m = s->impl;
	struct write_arg *a = arg;
	long long id = a->id;
	unsigned long len = (unsigned long)strlen(a->img_list);
	my_ulonglong matched;
	MYSQL_BIND par[2];
	int rc;

	/* In a transaction, so a table whose id_num is not unique is left as
	 * it was rather than having several rows overwritten (InnoDB). */
	if (mysql_real_query(m->conn, "START TRANSACTION", 17))
		return conn_fail(s, "writing img_list", e);
	memset(par, 0, sizeof(par));
	par[0].buffer_type = MYSQL_TYPE_STRING;
	par[0].buffer = (void *)a->img_list;
	par[0].buffer_length = len;
	par[0].length = &len;
	par[1].buffer_type = MYSQL_TYPE_LONGLONG;
	par[1].buffer = &id;
	if (mysql_stmt_bind_param(m->write, par) || mysql_stmt_execute(m->write)) {
		rc = stmt_fail(s, m->write, "writing img_list", e);
		if (!m->lost)
			mysql_rollback(m->conn);
		return rc;
	}
	matched = mysql_stmt_affected_rows(m->write);
	if (matched != 1) {
		if (mysql_rollback(m->conn))
			return conn_fail(s, "writing img_list", e);
		if (matched == 0)
			return error_set(e, KD_EINPUT, "row %lld no longer exists in %s", id, s->name);
		return error_set(e, KD_EINPUT, "row %lld: id_num matches %llu rows in %s; nothing written", id,
				 (unsigned long long)matched, s->name);
	}
	if (mysql_commit(m->conn))
		return conn_fail(s, "committing img_list", e);
	return 0;
}

static int my_write_back(struct source *s, long long id, const char *img_list_json, struct error *e)
{
	struct write_arg a = { id, img_list_json };

	return with_retry(s, op_write, &a, e);
}

static void my_close(struct source *s)
{
	struct my *m = s->impl;

	if (!m)
		return;
	disconnect(m);
	if (m->password) {
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
	free(m);
	s->impl = NULL;
}

static const struct source_ops my_ops = { my_list, my_fetch, my_write_back, my_close };

int source_mysql_open(struct source *s, const char *spec, struct error *e)
{
	struct my *m;
	int rc, lock_s;

	snprintf(s->name, sizeof(s->name), "mysql:...");
	pthread_once(&lib_once, lib_init);
	if (lib_rc)
		return error_set(e, KD_EIO, "source mysql: the client library failed to initialise");
	m = calloc(1, sizeof(*m));
	if (!m)
		return error_set(e, KD_ENOMEM, "out of memory");
	s->impl = m;
	s->ops = &my_ops;
	if ((rc = parse_spec(s, spec, e)) < 0) {
		my_close(s);
		return rc;
	}
	/* Wait for a locked row about as long as SQLite waits for a locked
	 * file, then fail KD_EBUSY (retried), rather than InnoDB's 50 s.  The
	 * number is ours, not outside text. */
	lock_s = (s->opts.busy_timeout_ms + 999) / 1000;
	if (lock_s < 1)
		lock_s = 1;
	snprintf(m->init_cmd, sizeof(m->init_cmd), "SET SESSION innodb_lock_wait_timeout = %d", lock_s);
	/* Connect now so a wrong password or table is reported at start-up. */
	if ((rc = connect_db(s, e)) < 0) {
		my_close(s);
		return rc;
	}
	return 0;
}

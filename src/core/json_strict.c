/* json_strict.c - see json_strict.h */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json_strict.h"

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF,
 * and no NUL (it would cut the payload short in C strings and SQLite). */
int json_utf8_valid(const char *text, size_t len, size_t *bad)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp, min;

		if (c == 0)
			goto fail;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; min = 0x80; }
		else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; min = 0x800; }
		else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; min = 0x10000; }
		else goto fail;
		if (i + n >= len) /* truncated sequence */
			goto fail;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				goto fail;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			goto fail;
		i += n + 1;
	}
	return 1;
fail:
	*bad = i;
	return 0;
}

struct scan {
	const char *s;
	size_t len, i;
	const char *why;
};

static void skip_ws(struct scan *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
		p->i++;
}

static int fail(struct scan *p, const char *why)
{
	p->why = why;
	return -1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int scan_string(struct scan *p)
{
	p->i++; /* opening quote */
	while (p->i < p->len) {
		unsigned char c = (unsigned char)p->s[p->i];

		if (c == '"') {
			p->i++;
			return 0;
		}
		if (c < 0x20)
			return fail(p, "control character in a string");
		if (c == '\\') {
			if (++p->i >= p->len)
				break;
			c = (unsigned char)p->s[p->i];
			if (c == 'u') {
				for (int k = 1; k <= 4; k++) {
					char h = p->i + k < p->len ? p->s[p->i + k] : 0;
					if (!is_digit(h) && !((h | 0x20) >= 'a' && (h | 0x20) <= 'f'))
						return fail(p, "bad \\u escape");
				}
				/* json-c would cut the string there: refuse, do not cut. */
				if (memcmp(p->s + p->i + 1, "0000", 4) == 0)
					return fail(p, "\\u0000 in a string");
				p->i += 4;
			} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
				return fail(p, "bad escape in a string");
			}
		}
		p->i++;
	}
	return fail(p, "unterminated string");
}

/* 1 when the integer digits d[0..n) (no sign, no leading zero) lie beyond
 * int64 (json-c would clamp them silently). */
static int int_beyond_64(const char *d, size_t n, int neg)
{
	const char *lim = neg ? "9223372036854775808" : "9223372036854775807";

	return n > 19 || (n == 19 && memcmp(d, lim, 19) > 0);
}

static int scan_number(struct scan *p)
{
	size_t i = p->i, digits;
	int neg = 0, integer = 1;

	if (i < p->len && p->s[i] == '-') {
		i++;
		neg = 1;
	}
	if (i >= p->len || !is_digit(p->s[i]))
		return fail(p, "bad number");
	digits = i;
	if (p->s[i] == '0')
		i++;
	else
		while (i < p->len && is_digit(p->s[i]))
			i++;
	digits = i - digits;
	if (i < p->len && (p->s[i] == '.' || p->s[i] == 'e' || p->s[i] == 'E'))
		integer = 0;
	if (integer && int_beyond_64(p->s + i - digits, digits, neg))
		return fail(p, "integer beyond 64 bits");
	if (i < p->len && p->s[i] == '.') {
		if (++i >= p->len || !is_digit(p->s[i]))
			return fail(p, "bad number");
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(p->s[i]))
			return fail(p, "bad number");
		while (i < p->len && is_digit(p->s[i]))
			i++;
	}
	p->i = i;
	return 0;
}

static int scan_word(struct scan *p, const char *w)
{
	size_t n = strlen(w);

	if (p->len - p->i < n || memcmp(p->s + p->i, w, n) != 0)
		return fail(p, "unexpected character");
	p->i += n;
	return 0;
}

/* ---- duplicate keys ---------------------------------------------------
 * The keys of every open object, decoded (so "a" and "\u0061" are one key),
 * kept on a stack: an object's keys are sorted and compared when it closes,
 * then dropped.  Memory grows with the text (at most about its length),
 * never past it. */

struct kref {
	size_t off, len; /* decoded bytes in keys.bytes */
	size_t src;      /* where the key starts in the text */
	const char *p;   /* set just before sorting */
};

struct keys {
	struct kref *k;
	size_t n, cap;
	char *bytes;
	size_t nb, capb;
	size_t first[256]; /* per open container: index of its first key */
};

static int grow(void **buf, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *nb;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	if (!(nb = realloc(*buf, c * size)))
		return -1;
	*buf = nb;
	*cap = c;
	return 0;
}

static void put_utf8(char *o, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		o[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		o[(*n)++] = (char)(0xc0 | cp >> 6);
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		o[(*n)++] = (char)(0xe0 | cp >> 12);
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		o[(*n)++] = (char)(0xf0 | cp >> 18);
		o[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static unsigned hex4(const char *h)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++)
		v = v << 4 | (unsigned)(is_digit(h[k]) ? h[k] - '0' : (h[k] | 0x20) - 'a' + 10);
	return v;
}

/* Decode the key s[from..to) (inside its quotes, grammar already checked)
 * onto the stack.  A lone surrogate is kept as its own 3-byte form, which
 * valid UTF-8 text cannot spell, so it only equals itself. */
static int keys_add(struct keys *ks, const char *s, size_t from, size_t to)
{
	size_t n = 0;
	char *o;

	/* + 1: allocated even when every key is "" (no pointer arithmetic on NULL) */
	if (grow((void **)&ks->bytes, &ks->capb, ks->nb + (to - from) + 1, 1) < 0 ||
	    grow((void **)&ks->k, &ks->cap, ks->n + 1, sizeof(*ks->k)) < 0)
		return -3;
	o = ks->bytes + ks->nb;
	for (size_t i = from; i < to; i++) {
		static const char esc[] = "\"\\/bfnrt", val[] = "\"\\/\b\f\n\r\t";
		unsigned cp;

		if (s[i] != '\\') {
			o[n++] = s[i];
			continue;
		}
		if (s[++i] != 'u') {
			o[n++] = val[strchr(esc, s[i]) - esc];
			continue;
		}
		cp = hex4(s + i + 1);
		i += 4;
		if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < to && s[i + 1] == '\\' && s[i + 2] == 'u') {
			unsigned lo = hex4(s + i + 3);

			if (lo >= 0xdc00 && lo < 0xe000) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			}
		}
		put_utf8(o, &n, cp);
	}
	ks->k[ks->n++] = (struct kref){ ks->nb, n, from - 1, NULL };
	ks->nb += n;
	return 0;
}

static int kref_cmp(const void *a, const void *b)
{
	const struct kref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->p, y->p, n);

	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->src < y->src ? -1 : x->src > y->src;
}

/* The object whose keys start at index first closes: 0, or -1 with *dup the
 * text offset of the later of two equal keys.  Its keys leave the stack. */
static int keys_close(struct keys *ks, size_t first, size_t *dup)
{
	size_t n = ks->n - first;
	struct kref *k = ks->k + first;
	size_t base = n ? k[0].off : ks->nb; /* before sorting: the object's first key */
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		k[i].p = ks->bytes + k[i].off;
	qsort(k, n, sizeof(*k), kref_cmp);
	for (size_t i = 1; i < n && !rc; i++)
		if (k[i].len == k[i - 1].len && memcmp(k[i].p, k[i - 1].p, k[i].len) == 0) {
			*dup = k[i].src;
			rc = -1;
		}
	ks->nb = base;
	ks->n = first;
	return rc;
}

/* Containers are tracked on a small stack of '{' / '[' instead of recursion,
 * so a deep document claims no more than the depth bound; the keys of open
 * objects are kept (decoded) to refuse a repeated one. */
int json_strict_check(const char *s, size_t len, int max_depth, size_t *off, const char **why)
{
	struct scan p = { s, len, 0, NULL };
	struct keys ks = { 0 };
	char stack[256];
	int depth = 0, rc = 0;
	size_t from;

	if (max_depth > (int)sizeof(stack))
		max_depth = (int)sizeof(stack);
	for (;;) {
		/* expecting a value */
		skip_ws(&p);
		if (p.i >= len) {
			rc = fail(&p, "unexpected end of text");
			goto out;
		}
		switch (s[p.i]) {
		case '{':
		case '[':
			if (depth >= max_depth) {
				p.why = "nested too deep";
				rc = -2;
				goto out;
			}
			ks.first[depth] = ks.n;
			stack[depth++] = s[p.i++];
			skip_ws(&p);
			if (p.i < len && s[p.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
				p.i++;
				depth--;
				break;
			}
			if (stack[depth - 1] == '{')
				goto key;
			continue;
		case '"': rc = scan_string(&p); break;
		case 't': rc = scan_word(&p, "true"); break;
		case 'f': rc = scan_word(&p, "false"); break;
		case 'n': rc = scan_word(&p, "null"); break;
		default:
			if (s[p.i] == '-' || is_digit(s[p.i]))
				rc = scan_number(&p);
			else
				rc = fail(&p, "unexpected character");
		}
		if (rc < 0)
			goto out;
	after_value:
		skip_ws(&p);
		if (depth == 0) {
			if (p.i != len)
				rc = fail(&p, "text after the value");
			goto out;
		}
		if (p.i >= len) {
			rc = fail(&p, "unexpected end of text");
			goto out;
		}
		if (s[p.i] == ',') {
			p.i++;
			if (stack[depth - 1] == '[')
				continue;
			goto key;
		}
		if (s[p.i] == (stack[depth - 1] == '{' ? '}' : ']')) {
			if (stack[depth - 1] == '{' && keys_close(&ks, ks.first[depth - 1], &from) < 0) {
				p.i = from;
				rc = fail(&p, "duplicate key");
				goto out;
			}
			p.i++;
			depth--;
			goto after_value;
		}
		rc = fail(&p, stack[depth - 1] == '{' ? "expected ',' or '}'" : "expected ',' or ']'");
		goto out;
	key:
		skip_ws(&p);
		if (p.i >= len || s[p.i] != '"') {
			rc = fail(&p, "expected a quoted key");
			goto out;
		}
		from = p.i + 1;
		if ((rc = scan_string(&p)) < 0 || (rc = keys_add(&ks, s, from, p.i - 1)) < 0)
			goto out;
		skip_ws(&p);
		if (p.i >= len || s[p.i] != ':') {
			rc = fail(&p, "expected ':'");
			goto out;
		}
		p.i++;
	}
out:
	free(ks.k);
	free(ks.bytes);
	*off = p.i;
	*why = rc == -3 ? "out of memory" : p.why;
	return rc;
}

int json_strict_parse(const char *s, size_t len, int max_depth, struct json_object **out, size_t *off,
		      const char **why)
{
	struct json_tokener *tok;
	int rc;

	*out = NULL;
	if (!json_utf8_valid(s, len, off)) {
		*why = "not valid UTF-8";
		return -1;
	}
	if ((rc = json_strict_check(s, len, max_depth, off, why)) < 0)
		return rc;
	/* The grammar is known good; json-c only builds the tree.  One level
	 * more than ours: json-c counts the top value's container too. */
	tok = json_tokener_new_ex(max_depth + 1);
	if (!tok)
		return -3;
	*out = json_tokener_parse_ex(tok, s, (int)len);
	/* A bare number at the very end waits for a delimiter: give it one. */
	if (!*out && json_tokener_get_error(tok) == json_tokener_continue)
		*out = json_tokener_parse_ex(tok, "", 1);
	json_tokener_free(tok);
	return *out ? 0 : -3;
}

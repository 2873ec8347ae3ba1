/* json_strict.c - see json_strict.h */
#include "config.h"

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
				p->i += 4;
			} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
				return fail(p, "bad escape in a string");
			}
		}
		p->i++;
	}
	return fail(p, "unterminated string");
}

static int scan_number(struct scan *p)
{
	size_t i = p->i;

	if (i < p->len && p->s[i] == '-')
		i++;
	if (i >= p->len || !is_digit(p->s[i]))
		return fail(p, "bad number");
	if (p->s[i] == '0')
		i++;
	else
		while (i < p->len && is_digit(p->s[i]))
			i++;
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

/* Containers are tracked on a small stack of '{' / '[' instead of recursion,
 * so the depth bound is the only memory a deep document can claim. */
int json_strict_check(const char *s, size_t len, int max_depth, size_t *off, const char **why)
{
	struct scan p = { s, len, 0, NULL };
	char stack[256];
	int depth = 0, rc = 0;

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
			if (p.i != len) {
				rc = fail(&p, "text after the value");
				goto out;
			}
			return 0;
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
		if ((rc = scan_string(&p)) < 0)
			goto out;
		skip_ws(&p);
		if (p.i >= len || s[p.i] != ':') {
			rc = fail(&p, "expected ':'");
			goto out;
		}
		p.i++;
	}
out:
	*off = p.i;
	*why = p.why;
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

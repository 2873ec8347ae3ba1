/* json_strict.h - an RFC 8259 syntax check before json-c sees the text.
 *
 * json-c, even in its strict mode, accepts NaN/Infinity literals and single
 * quotes; input from a socket must be plain JSON.  This checks the grammar
 * only (no tree is built), iteratively with an explicit depth bound, so a
 * hostile datagram costs O(len log len) time and O(len) memory (the decoded
 * keys of the open objects, to refuse a repeated key). */
#ifndef KD_JSON_STRICT_H
#define KD_JSON_STRICT_H

#include <stddef.h>

/* 0 when s[0..len) is exactly one JSON value (white space around allowed),
 * with no key twice in one object, no \u0000 in a string and no integer
 * beyond 64 bits (json-c would keep one key, cut the string, clamp the number).
 * Otherwise -1 with *off the byte where it went wrong and *why a short
 * reason; -2 when nesting exceeds max_depth; -3 when out of memory. */
int json_strict_check(const char *s, size_t len, int max_depth, size_t *off, const char **why);

struct json_object;

/* Strict UTF-8 (no overlongs, surrogates, nothing past U+10FFFF, no NUL);
 * 0 with *bad the offending byte's offset otherwise. */
int json_utf8_valid(const char *s, size_t len, size_t *bad);

/* Check as above, then build the tree with json-c: 0 with *out a new
 * reference; -1 (syntax, *off and *why set), -2 (too deep) or -3 (out of
 * memory) with *out NULL.  Invalid UTF-8 is a syntax error.  The one way
 * untrusted JSON enters krigd. */
int json_strict_parse(const char *s, size_t len, int max_depth, struct json_object **out, size_t *off,
		      const char **why);

#endif

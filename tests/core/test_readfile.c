/* test_readfile.c - readfile_capped: whole files up to the cap and exactly
 * to it, one byte over refused, empty files, errors that name the path. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "readfile.h"
#include "tap.h"

static char dir[256];

/* A file of n bytes, byte i = 'a' + i % 26; its path in a static buffer. */
static const char *make(const char *name, size_t n)
{
	static char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(fp = fopen(path, "wb")))
		return path;
	for (size_t i = 0; i < n; i++)
		fputc('a' + (int)(i % 26), fp);
	fclose(fp);
	return path;
}

static int pattern_ok(const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != 'a' + (int)(i % 26))
			return 0;
	return b[n] == '\0';
}

int main(void)
{
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 300000 };
	struct error e;
	char *b;
	size_t len;
	int rc;

	snprintf(dir, sizeof(dir), "%s/test_readfile.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return tap_done();
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		const char *p = make("f", n);

		error_clear(&e);
		rc = readfile_capped(p, n, &b, &len, &e);
		tap_ok(rc == 0 && len == n && pattern_ok(b, n), "%zu bytes with a cap of exactly %zu: read whole, NUL after (%s)",
		       n, n, e.msg);
		free(b);
		rc = readfile_capped(p, n + 1000000, &b, &len, &e);
		tap_ok(rc == 0 && len == n && pattern_ok(b, n), "%zu bytes under a larger cap", n);
		free(b);
		if (n > 0) {
			b = (char *)1;
			rc = readfile_capped(p, n - 1, &b, &len, &e);
			tap_ok(rc == KD_ELIMIT && b == NULL && strstr(e.msg, "larger than"),
			       "%zu bytes with a cap of %zu: KD_ELIMIT, nothing returned (%s)", n, n - 1, e.msg);
		}
		unlink(p);
	}
	rc = readfile_capped("/nonexistent/krigd-test", 10, &b, &len, &e);
	tap_ok(rc == KD_EIO && b == NULL && strstr(e.msg, "/nonexistent/krigd-test") && strstr(e.msg, "No such file"),
	       "a missing file: KD_EIO naming it: %s", e.msg);
	rc = readfile_capped(dir, 10, &b, &len, &e);
	tap_ok(rc == KD_EIO && b == NULL && strstr(e.msg, "directory"), "a directory: KD_EIO: %s", e.msg);
	rmdir(dir);
	return tap_done();
}

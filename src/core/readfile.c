/* readfile.c - see readfile.h */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "readfile.h"

int readfile_capped(const char *path, size_t max, char **buf, size_t *len, struct error *e)
{
	int is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	size_t cap = 0, n = 0;
	char *b = NULL;
	int rc = 0;

	*buf = NULL;
	*len = 0;
	if (fd < 0)
		return error_set(e, KD_EIO, "cannot open %s: %s", path, strerror(errno));
	for (;;) {
		ssize_t got;

		/* One byte more than we keep, so the NUL always fits. */
		if (n + 1 >= cap) {
			size_t ncap = cap ? 2 * cap : 65536;
			char *nb;

			if (ncap > max + 2)
				ncap = max + 2; /* room to see byte max + 1 and say "too large" */
			if (!(nb = realloc(b, ncap))) {
				rc = error_set(e, KD_ENOMEM, "out of memory reading %s", path);
				break;
			}
			b = nb;
			cap = ncap;
		}
		got = read(fd, b + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = error_set(e, KD_EIO, "cannot read %s: %s", path, strerror(errno));
			break;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > max) {
			if (max >= (1u << 20) && max % (1u << 20) == 0)
				rc = error_set(e, KD_ELIMIT, "%s is larger than %zu MiB", path, max >> 20);
			else
				rc = error_set(e, KD_ELIMIT, "%s is larger than %zu bytes", path, max);
			break;
		}
	}
	if (!is_stdin)
		close(fd);
	if (rc < 0) {
		free(b);
		return rc;
	}
	b[n] = '\0'; /* cap > n: the loop ends only after a read with room */
	*buf = b;
	*len = n;
	return 0;
}

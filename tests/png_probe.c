/* png_probe.c - read a PNG with pngout_read and describe it for shell
 * tests: "size W H", then the runs of colour down column X ("run R G B N"
 * top to bottom), then the runs of rows holding a dark pixel right of
 * column X ("text FIRST LAST"). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pngout.h"

int main(int argc, char **argv)
{
	unsigned char *rgba = NULL;
	struct error e;
	int w, h, x, start = -1;

	error_clear(&e);
	if (argc != 3) {
		fprintf(stderr, "usage: png_probe FILE.png X\n");
		return 2;
	}
	if (pngout_read(argv[1], &rgba, &w, &h, &e) < 0) {
		fprintf(stderr, "png_probe: %s\n", e.msg);
		return 1;
	}
	x = atoi(argv[2]);
	printf("size %d %d\n", w, h);
	if (x < 0 || x >= w) {
		free(rgba);
		return 1;
	}
	for (int y = 0, n = 0; y < h; y++) {
		const unsigned char *p = rgba + 4 * ((size_t)y * (size_t)w + (size_t)x);

		n++;
		if (y + 1 == h || memcmp(p, p + 4 * (size_t)w, 4) != 0) {
			printf("run %d %d %d %d\n", p[0], p[1], p[2], n);
			n = 0;
		}
	}
	for (int y = 0; y <= h; y++) {
		int dark = 0;

		for (int xx = x + 1; y < h && xx < w && !dark; xx++) {
			const unsigned char *p = rgba + 4 * ((size_t)y * (size_t)w + (size_t)xx);
			dark = p[3] > 0 && p[0] + p[1] + p[2] < 150;
		}
		if (dark && start < 0)
			start = y;
		if (!dark && start >= 0) {
			printf("text %d %d\n", start, y - 1);
			start = -1;
		}
	}
	free(rgba);
	return 0;
}

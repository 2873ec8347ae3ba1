/* png_probe.c - the pixel probe of the shell tests (tests/image/legend.test):
 * read a PNG with krigd's own pngout_read and describe its pixels: "size W
 * H", then the runs of colour down column X ("run R G B N" top to bottom),
 * then the runs of rows holding a dark pixel right of column X ("text FIRST
 * LAST").
 * png_probe A.png --diff B.png: "size W H" of A, then "diff X0 Y0 X1 Y1",
 * the box holding every pixel where A and B differ, or "same"; exit 1 when
 * the sizes differ.
 * Whether a PNG is whole (every chunk, CRC, the complete zlib stream) is
 * tests/lib/png_check.py's question, answered without krigd's code; this
 * probe is kept for what that checker does not do: colours and boxes of
 * pixels, as krigd reads them back. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pngout.h"

static int diff(const char *a_path, const char *b_path)
{
	unsigned char *a = NULL, *b = NULL;
	struct error e;
	int w, h, bw, bh, x0 = -1, y0 = -1, x1 = -1, y1 = -1, rc = 1;

	error_clear(&e);
	if (pngout_read(a_path, &a, &w, &h, &e) < 0 || pngout_read(b_path, &b, &bw, &bh, &e) < 0) {
		fprintf(stderr, "png_probe: %s\n", e.msg);
		goto out;
	}
	printf("size %d %d\n", w, h);
	if (bw != w || bh != h) {
		printf("sizes differ: %dx%d\n", bw, bh);
		goto out;
	}
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			size_t i = 4 * ((size_t)y * (size_t)w + (size_t)x);
			if (memcmp(a + i, b + i, 4) == 0)
				continue;
			if (x0 < 0 || x < x0) x0 = x;
			if (y0 < 0) y0 = y;
			if (x > x1) x1 = x;
			y1 = y;
		}
	if (x0 < 0)
		printf("same\n");
	else
		printf("diff %d %d %d %d\n", x0, y0, x1, y1);
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned char *rgba = NULL;
	struct error e;
	int w, h, x, start = -1;

	error_clear(&e);
	if (argc == 4 && strcmp(argv[2], "--diff") == 0)
		return diff(argv[1], argv[3]);
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

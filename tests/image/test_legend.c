/* test_legend.c - the legend drawn into a map (legend_embed) and the legend
 * of a ramp.  The ramp's colours are matplotlib's viridis table, written
 * here from it, not taken from palette.c. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "legend.h"
#include "palette.h"
#include "tap.h"


/* A w x h map, transparent, with opaque grey boxes of side s in the
 * corners whose bit is set in mask (1 bottom-right, 2 bottom-left,
 * 4 top-right, 8 top-left). */
static unsigned char *map(int w, int h, int s, int mask)
{
	unsigned char *m = calloc(4 * (size_t)w * (size_t)h, 1);

	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int right = x >= w - s, left = x < s, bottom = y >= h - s, top = y < s;
			int in = ((mask & 1) && bottom && right) || ((mask & 2) && bottom && left) ||
				 ((mask & 4) && top && right) || ((mask & 8) && top && left);
			if (in)
				memset(m + 4 * ((size_t)y * (size_t)w + (size_t)x), 128, 4);
		}
	return m;
}

/* The bounding box of the pixels where a and b differ; 0 if none. */
static int diff_box(const unsigned char *a, const unsigned char *b, int w, int h, int box[4])
{
	int found = 0;

	box[0] = w, box[1] = h, box[2] = -1, box[3] = -1;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			if (memcmp(a + 4 * ((size_t)y * w + x), b + 4 * ((size_t)y * w + x), 4)) {
				found = 1;
				if (x < box[0]) box[0] = x;
				if (y < box[1]) box[1] = y;
				if (x > box[2]) box[2] = x;
				if (y > box[3]) box[3] = y;
			}
	return found;
}

/* The distinct non-white colours down column x of img, top to bottom. */
static int column_colours(const unsigned char *img, int w, int h, int x, unsigned char out[8][3])
{
	int n = 0;

	for (int y = 0; y < h; y++) {
		const unsigned char *p = img + 4 * ((size_t)y * w + x);
		if (p[0] == 255 && p[1] == 255 && p[2] == 255)
			continue;
		if (n > 0 && memcmp(out[n - 1], p, 3) == 0)
			continue;
		if (n == 8)
			return 9;
		memcpy(out[n++], p, 3);
	}
	return n;
}

static void test_corners(void)
{
	static const struct { int mask; const char *want; } cases[] = {
		{ 0, "bottom-right" },       /* a tie everywhere: bottom-right first */
		{ 1, "bottom-left" },
		{ 1 | 2, "top-right" },
		{ 1 | 2 | 4, "top-left" },
		{ 2 | 4 | 8, "bottom-right" },
	};
	const int w = 600, h = 500;
	struct palette p;
	struct error e;

	palette_init(&p, "pm25", 0, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char *m = map(w, h, 200, cases[i].mask), *before = map(w, h, 200, cases[i].mask);
		unsigned char *leg = NULL;
		const char *corner = "";
		long hidden = -1;
		int box[4], lw, lh, rc;

		error_clear(&e);
		rc = legend_embed(m, w, h, &p, LEGEND_EN, &corner, &hidden, &e);
		tap_ok(rc == 0 && strcmp(corner, cases[i].want) == 0 && hidden == 0,
		       "corners filled %d: the legend goes %s, hiding nothing (got %d %s, %ld hidden) %s",
		       cases[i].mask, cases[i].want, rc, corner, hidden, e.msg);
		legend_draw_palette(&p, w / 5, &leg, &lw, &lh, &e);
		/* Every changed pixel lies inside the legend's box, in the corner. */
		if (diff_box(before, m, w, h, box)) {
			int right = strstr(cases[i].want, "right") != NULL, bottom = strstr(cases[i].want, "bottom") != NULL;
			int x0 = right ? w - 6 - lw : 6, y0 = bottom ? h - 6 - lh : 6, same = 1;

			tap_ok(box[0] >= x0 && box[2] < x0 + lw && box[1] >= y0 && box[3] < y0 + lh,
			       "... only the %dx%d box at (%d, %d) changed (changed: %d..%d x %d..%d)",
			       lw, lh, x0, y0, box[0], box[2], box[1], box[3]);
			for (int r = 0; r < lh && same; r++)
				same = memcmp(m + 4 * ((size_t)(y0 + r) * w + x0), leg + 4 * (size_t)r * lw,
					      4 * (size_t)lw) == 0;
			tap_ok(same, "... and it holds the legend of that width, pixel for pixel");
		} else {
			tap_ok(0, "... the map changed");
			tap_ok(0, "... and it holds the legend");
		}
		free(leg);
		free(m);
		free(before);
	}

	/* Coloured everywhere: it still goes bottom-right and says what it hides. */
	{
		unsigned char *m = malloc(4 * (size_t)w * h);
		const char *corner = "";
		long hidden = -1;
		int lw, lh;
		unsigned char *leg = NULL;

		memset(m, 200, 4 * (size_t)w * h);
		legend_draw_palette(&p, w / 5, &leg, &lw, &lh, &e);
		legend_embed(m, w, h, &p, LEGEND_EN, &corner, &hidden, &e);
		tap_ok(strcmp(corner, "bottom-right") == 0 && hidden == (long)lw * lh,
		       "a map coloured all over: bottom-right, %ld pixels hidden (got %s, %ld)",
		       (long)lw * lh, corner, hidden);
		free(leg);
		free(m);
	}
}

static void test_too_small(void)
{
	struct palette p;
	struct error e;
	unsigned char *m = map(60, 40, 10, 1), *before = map(60, 40, 10, 1);
	const char *corner = "unset";
	long hidden = -1;
	int rc;

	palette_init(&p, "aqi", 0, 0);
	error_clear(&e);
	rc = legend_embed(m, 60, 40, &p, LEGEND_EN, &corner, &hidden, &e);
	tap_ok(rc == KD_EINPUT && strstr(e.msg, "60x40") && strstr(e.msg, "too small"),
	       "a 60x40 map is too small for a legend: %d %s", rc, e.msg);
	tap_ok(memcmp(m, before, 4 * 60 * 40) == 0 && strcmp(corner, "unset") == 0,
	       "... and is left untouched");
	free(m);
	free(before);
}

static void test_ramp(void)
{
	struct palette p;
	struct error e;
	unsigned char *img = NULL, c[8][3];
	int w, h, n, ok = 1;

	/* An index without HJ 633 levels: a viridis ramp from 10 to 60 with
	 * six stops at 10, 20, ..., 60: entries 0, 51, 102, 153, 204, 255 of
	 * matplotlib's table, rounded to 8 bits. */
	static const unsigned char stops[6][3] = {
		{ 68, 1, 84 }, { 65, 68, 135 }, { 42, 120, 142 }, { 34, 168, 132 }, { 122, 209, 81 }, { 253, 231, 37 },
	};
	tap_ok(palette_init(&p, "temperature", 10, 60) == 0, "temperature colours by a ramp");
	error_clear(&e);
	tap_ok(legend_draw_palette(&p, 120, &img, &w, &h, &e) == 0 && w == 120, "its legend draws: %s", e.msg);
	n = column_colours(img, w, h, 10, c);
	for (int i = 0; i < 6 && i < n; i++)
		ok &= memcmp(c[i], stops[i], 3) == 0;
	tap_ok(n == 6 && ok, "six swatches, viridis at the six stops in order (%d)", n);
	free(img);

	/* Constant data colour everything with the first colour: one band. */
	palette_init(&p, "temperature", 25, 25);
	legend_draw_palette(&p, 120, &img, &w, &h, &e);
	n = column_colours(img, w, h, 10, c);
	tap_ok(n == 1 && memcmp(c[0], stops[0], 3) == 0, "constant data: one band, the first colour (%d)", n);
	free(img);

	/* And a ramp's legend goes into a map like a level legend does. */
	{
		unsigned char *m = map(500, 500, 0, 0);
		const char *corner = "";
		long hidden = -1;

		int rc;

		palette_init(&p, "temperature", -5, 1.5e6);
		rc = legend_embed(m, 500, 500, &p, LEGEND_EN, &corner, &hidden, &e);
		tap_ok(rc == 0 && hidden == 0, "a ramp of -5 .. 1.5e6 embeds (%s) %s", corner, e.msg);
		free(m);
	}

	img = NULL;
	tap_ok(legend_draw("temperature", 120, &img, &w, &h, &e) == KD_EINPUT && img == NULL,
	       "but `krigd legend` of a ramp index, which has no range, is refused: %s", e.msg);
}

int main(void)
{
	test_corners();
	test_too_small();
	test_ramp();
	return tap_done();
}

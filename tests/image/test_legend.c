/* test_legend.c - the legend drawn into a map (legend_embed) and the legend
 * of a ramp.  The ramp's colours are matplotlib's viridis table, written
 * here from it, not taken from palette.c. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "font.h"
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

/* The distinct colours other than white and grey down column x of img,
 * top to bottom. */
static int column_colours(const unsigned char *img, int w, int h, int x, unsigned char out[8][3])
{
	int n = 0;

	for (int y = 0; y < h; y++) {
		const unsigned char *p = img + 4 * ((size_t)y * w + x);
		if (p[0] == p[1] && p[1] == p[2])
			continue; /* white, or the grey of anti-aliased black text */
		if (n > 0 && memcmp(out[n - 1], p, 3) == 0)
			continue;
		if (n == 8)
			return 9;
		memcpy(out[n++], p, 3);
	}
	return n;
}

/* The column through a text legend's colour bar: two past the first
 * column from the left with a run of 8 non-grey pixels (text is grey); 0. */
static int bar_column(const unsigned char *img, int w, int h)
{
	for (int x = 0; x < w; x++) {
		int run = 0;
		for (int y = 0; y < h; y++) {
			const unsigned char *p = img + 4 * ((size_t)y * w + x);
			int grey = p[0] == p[1] && p[1] == p[2];
			run = grey ? 0 : run + 1;
			if (run >= 8)
				return x + 2; /* a little inside, past any edge */
		}
	}
	return 0;
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
		struct legend_place at = { "", -1, 0, 0, 0, 0 };
		int box[4], lw = 0, lh = 0, rc;

		error_clear(&e);
		rc = legend_embed(m, w, h, &p, LEGEND_EN, &at, &e);
		tap_ok(rc == 0 && strcmp(at.corner, cases[i].want) == 0 && at.hidden == 0,
		       "corners filled %d: the legend goes %s, hiding nothing (got %d %s, %ld hidden) %s",
		       cases[i].mask, cases[i].want, rc, at.corner, at.hidden, e.msg);
		legend_for_map(&p, LEGEND_EN, w, &leg, &lw, &lh, &e);
		/* Every changed pixel lies inside the legend's box, in the corner. */
		if (diff_box(before, m, w, h, box)) {
			int right = strstr(cases[i].want, "right") != NULL, bottom = strstr(cases[i].want, "bottom") != NULL;
			int x0 = right ? w - 6 - lw : 6, y0 = bottom ? h - 6 - lh : 6, same = at.x == x0 && at.y == y0;

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
		struct legend_place at = { "", -1, 0, 0, 0, 0 };
		int lw = 0, lh = 0;
		unsigned char *leg = NULL;

		memset(m, 200, 4 * (size_t)w * h);
		legend_for_map(&p, LEGEND_EN, w, &leg, &lw, &lh, &e);
		legend_embed(m, w, h, &p, LEGEND_EN, &at, &e);
		tap_ok(strcmp(at.corner, "bottom-right") == 0 && at.hidden == (long)lw * lh && at.w == lw && at.h == lh,
		       "a map coloured all over: bottom-right, %ld pixels hidden (got %s, %ld)",
		       (long)lw * lh, at.corner, at.hidden);
		free(leg);
		free(m);
	}
}

static void test_too_small(void)
{
	struct palette p;
	struct error e;
	unsigned char *m = map(60, 40, 10, 1), *before = map(60, 40, 10, 1);
	struct legend_place at = { "unset", -1, 0, 0, 0, 0 };
	int rc;

	palette_init(&p, "aqi", 0, 0);
	error_clear(&e);
	rc = legend_embed(m, 60, 40, &p, LEGEND_EN, &at, &e);
	tap_ok(rc == KD_EINPUT && strstr(e.msg, "60x40") && strstr(e.msg, "too small"),
	       "a 60x40 map is too small for a legend: %d %s", rc, e.msg);
	tap_ok(memcmp(m, before, 4 * 60 * 40) == 0 && strcmp(at.corner, "unset") == 0,
	       "... and is left untouched");
	free(m);
	free(before);
}

static void test_ramp(void)
{
	struct palette p;
	struct error e;
	unsigned char *img = NULL, c[8][3];
	int w, h, n;

	/* An index without HJ 633 levels: a viridis ramp from 10 to 60 with
	 * six stops at 10, 20, ..., 60: entries 0, 51, 102, 153, 204, 255 of
	 * matplotlib's table, rounded to 8 bits. */
	static const unsigned char stops[6][3] = {
		{ 68, 1, 84 }, { 65, 68, 135 }, { 42, 120, 142 }, { 34, 168, 132 }, { 122, 209, 81 }, { 253, 231, 37 },
	};
	tap_ok(palette_init(&p, "temperature", 10, 60) == 0, "temperature colours by a ramp");
	error_clear(&e);
	tap_ok(legend_draw_palette(&p, LEGEND_EN, 120, &img, &w, &h, &e) == 0 && w == 120, "its legend draws: %s", e.msg);
	{
		/* One continuous bar: from the first stop's colour to the last's
		 * changing colour on most rows. */
		int x = bar_column(img, w, h), k = 0, first = 0, last = 0, changes = 0;
		unsigned char prev[3] = { 0, 0, 0 };
		for (int y = 0; y < h; y++) {
			const unsigned char *px = img + 4 * ((size_t)y * w + x);
			if (px[0] == px[1] && px[1] == px[2])
				continue;
			first |= memcmp(px, stops[0], 3) == 0;
			last |= memcmp(px, stops[5], 3) == 0 && first;
			if (k++ > 0 && memcmp(px, prev, 3))
				changes++;
			memcpy(prev, px, 3);
		}
		tap_ok(x > 0 && first && last && k > 50 && changes > k / 2,
		       "a continuous bar from viridis' first colour to its last, top to bottom (%d rows, %d changes)", k,
		       changes);
	}
	free(img);

	/* Constant data colour everything with the first colour: one band. */
	palette_init(&p, "temperature", 25, 25);
	legend_draw_palette(&p, LEGEND_EN, 120, &img, &w, &h, &e);
	n = column_colours(img, w, h, bar_column(img, w, h), c);
	tap_ok(n == 1 && memcmp(c[0], stops[0], 3) == 0, "constant data: one band, the first colour (%d)", n);
	free(img);

	/* And a ramp's legend goes into a map like a level legend does. */
	{
		unsigned char *m = map(500, 500, 0, 0);
		struct legend_place at = { "", -1, 0, 0, 0, 0 };
		int rc;

		palette_init(&p, "temperature", -5, 1.5e6);
		rc = legend_embed(m, 500, 500, &p, LEGEND_EN, &at, &e);
		tap_ok(rc == 0 && at.hidden == 0, "a ramp of -5 .. 1.5e6 embeds (%s) %s", at.corner, e.msg);
		free(m);
	}

	img = NULL;
	tap_ok(legend_draw("temperature", PALETTE_DEFAULT, LEGEND_EN, 120, &img, &w, &h, &e) == KD_EINPUT && img == NULL,
	       "but `krigd legend` of a ramp index, which has no range, is refused: %s", e.msg);
}

/* The font size (pixels per em) at which text, drawn black on white by
 * FreeType in the legend's font, appears in img pixel for pixel; 0 if at
 * none from LEGEND_MIN_PX to LEGEND_MAX_PX. */
static int find_text(const unsigned char *img, int w, int h, int lang, const char *text)
{
	static const unsigned char black[3] = { 0, 0, 0 };

	for (int px = LEGEND_MIN_PX; px <= LEGEND_MAX_PX; px++) {
		struct font *f;
		struct error e;
		unsigned char *t;
		int tw, th, x0, y0, x1 = -1, y1 = -1, found = 0;

		if (font_open(&f, lang, px, &e) < 0 || font_measure(f, text, &tw, &e) < 0)
			return font_close(f), 0;
		th = font_line_height(f) + 4;
		tw += 4;
		t = malloc(4 * (size_t)tw * th);
		memset(t, 255, 4 * (size_t)tw * th);
		font_draw(f, t, tw, th, 2, 2 + font_ascent(f), text, black, &e);
		font_close(f);
		/* The drawn box: rows and columns that are not all white. */
		x0 = tw, y0 = th;
		for (int y = 0; y < th; y++)
			for (int x = 0; x < tw; x++)
				if (memcmp(t + 4 * ((size_t)y * tw + x), "\xff\xff\xff", 3)) {
					x0 = x < x0 ? x : x0, y0 = y < y0 ? y : y0;
					x1 = x > x1 ? x : x1, y1 = y > y1 ? y : y1;
				}
		for (int y = 0; x1 >= 0 && !found && y + (y1 - y0) < h; y++)
			for (int x = 0; !found && x + (x1 - x0) < w; x++) {
				int same = 1;
				for (int r = 0; same && r <= y1 - y0; r++)
					same = memcmp(img + 4 * ((size_t)(y + r) * w + x), t + 4 * ((size_t)(y0 + r) * tw + x0),
						      4 * (size_t)(x1 - x0 + 1)) == 0;
				found = same;
			}
		free(t);
		if (found)
			return px;
	}
	return 0;
}

static void test_text(void)
{
	static const char *const en[] = { "PM2.5 µg/m³", "0-35", "35-75", ">250", "Excellent", "Good", "Severely polluted" };
	static const char *const zh[] = { "PM2.5 µg/m³", "优", "良", "轻度污染", "中度污染", "重度污染", "严重污染" };
	unsigned char *img = NULL;
	struct error e;
	int w, h, px;

	if (!font_available()) {
		printf("ok %d # SKIP the legend's text: built --without-freetype\n", ++tap_n);
		printf("ok %d # SKIP the legend's Chinese text: built --without-freetype\n", ++tap_n);
		return;
	}
	error_clear(&e);
	if (tap_ok(legend_draw("pm25", PALETTE_MODE_LEVELS, LEGEND_EN, 300, &img, &w, &h, &e) == 0, "pm25 legend (%s)", e.msg)) {
		for (size_t i = 0; i < sizeof(en) / sizeof(en[0]); i++) {
			px = find_text(img, w, h, LEGEND_EN, en[i]);
			tap_ok(px > 0, "\"%s\" is in the legend, as FreeType draws it at %d px", en[i], px);
		}
		tap_ok(find_text(img, w, h, LEGEND_EN, "Nonsense") == 0, "... and a string it does not hold is not found");
		free(img);
	}
	if (tap_ok(legend_draw("pm25", PALETTE_MODE_SMOOTH, LEGEND_ZH, 300, &img, &w, &h, &e) == 0,
		   "pm25 legend in Chinese (%s)", e.msg)) {
		for (size_t i = 0; i < sizeof(zh) / sizeof(zh[0]); i++) {
			px = find_text(img, w, h, LEGEND_ZH, zh[i]);
			tap_ok(px > 0, "\"%s\" is in the --lang zh legend, at %d px", zh[i], px);
		}
		tap_ok(find_text(img, w, h, LEGEND_ZH, "Good") == 0, "... and the English name is not");
		free(img);
	}
}

int main(void)
{
	test_corners();
	test_too_small();
	test_ramp();
	test_text();
	return tap_done();
}

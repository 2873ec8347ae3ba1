/* legend.c - see legend.h */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "legend.h"
#include "palette.h"

/* 3x5 glyphs, one row a byte, bit 2 the left column. */
static const struct glyph {
	char c;
	unsigned char row[5];
} font[] = {
	{ '0', { 7, 5, 5, 5, 7 } }, { '1', { 2, 6, 2, 2, 7 } }, { '2', { 7, 1, 7, 4, 7 } },
	{ '3', { 7, 1, 7, 1, 7 } }, { '4', { 5, 5, 7, 1, 1 } }, { '5', { 7, 4, 7, 1, 7 } },
	{ '6', { 7, 4, 7, 5, 7 } }, { '7', { 7, 1, 1, 2, 2 } }, { '8', { 7, 5, 7, 5, 7 } },
	{ '9', { 7, 5, 7, 1, 7 } }, { '.', { 0, 0, 0, 0, 2 } }, { '-', { 0, 0, 7, 0, 0 } },
	{ '>', { 4, 2, 1, 2, 4 } },
};

static void put(unsigned char *img, int w, int h, int x, int y, const unsigned char rgb[3])
{
	unsigned char *p;

	if (x < 0 || y < 0 || x >= w || y >= h)
		return; /* text too long for the width is clipped, never overruns */
	p = img + 4 * ((size_t)y * (size_t)w + (size_t)x);
	memcpy(p, rgb, 3);
	p[3] = 255;
}

/* Draw s at (x, y), each font pixel a scale x scale square. */
static void text(unsigned char *img, int w, int h, int x, int y, int scale, const char *s)
{
	static const unsigned char black[3] = { 0, 0, 0 };

	for (; *s; s++, x += 4 * scale) {
		const struct glyph *g = NULL;

		for (size_t i = 0; i < sizeof(font) / sizeof(font[0]); i++)
			if (font[i].c == *s)
				g = &font[i];
		if (!g)
			continue; /* only what the legend writes is in the font */
		for (int r = 0; r < 5; r++)
			for (int c = 0; c < 3; c++)
				if (g->row[r] & (4 >> c))
					for (int dy = 0; dy < scale; dy++)
						for (int dx = 0; dx < scale; dx++)
							put(img, w, h, x + c * scale + dx, y + r * scale + dy, black);
	}
}

int legend_draw(const char *index, int width, unsigned char **rgba, int *w, int *h, struct error *e)
{
	static const unsigned char white[3] = { 255, 255, 255 };
	struct palette p;
	unsigned char *img;
	int scale, pad, band, swatch, height;

	*rgba = NULL;
	if (!index || !palette_init(&p, index, 0, 0))
		return error_set(e, KD_EINPUT, "index '%s' has no fixed levels (only the HJ 633 indexes do)",
				 index ? index : "");
	if (width < LEGEND_MIN_WIDTH || width > LEGEND_MAX_WIDTH)
		return error_set(e, KD_EINPUT, "width %d: expected %d .. %d", width, LEGEND_MIN_WIDTH,
				 LEGEND_MAX_WIDTH);
	scale = width / 80 > 1 ? width / 80 : 1;
	pad = 2 * scale + 2;
	band = 5 * scale + 2 * pad;
	swatch = width / 3;
	height = PALETTE_LEVELS * band;
	if (!(img = malloc(4 * (size_t)width * (size_t)height)))
		return error_set(e, KD_ENOMEM, "out of memory for a %dx%d legend", width, height);
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++)
			put(img, width, height, x, y, white);
	for (int l = 0; l < PALETTE_LEVELS; l++) {
		char label[64];

		/* Bounds are inclusive above (palette.h): level l covers
		 * (bound[l-1], bound[l]]; written as "35-75". */
		if (l == 0)
			snprintf(label, sizeof(label), "0-%g", p.bound[0]);
		else if (l < PALETTE_LEVELS - 1)
			snprintf(label, sizeof(label), "%g-%g", p.bound[l - 1], p.bound[l]);
		else
			snprintf(label, sizeof(label), ">%g", p.bound[l - 1]);
		for (int y = l * band + 1; y < (l + 1) * band - 1; y++)
			for (int x = 1; x < swatch; x++)
				put(img, width, height, x, y, palette_colours[l]);
		text(img, width, height, swatch + pad, l * band + pad, scale, label);
	}
	*rgba = img;
	*w = width;
	*h = height;
	return 0;
}

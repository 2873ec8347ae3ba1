/* legend.c - see legend.h */
#include "config.h"

#include <math.h>
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
	{ '>', { 4, 2, 1, 2, 4 } }, { '+', { 0, 2, 7, 2, 0 } }, { 'e', { 7, 5, 7, 4, 7 } },
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
	struct palette p;

	*rgba = NULL;
	if (!index || !palette_init(&p, index, 0, 0))
		return error_set(e, KD_EINPUT, "index '%s' has no fixed levels (only the HJ 633 indexes do)",
				 index ? index : "");
	return legend_draw_palette(&p, width, rgba, w, h, e);
}

/* The text of band l of p and its colour; returns the number of bands. */
static int band_label(const struct palette *p, int l, char *label, size_t len, unsigned char rgb[3])
{
	if (p->mode != PALETTE_MODE_RAMP) {
		/* Bounds are inclusive above (palette.h): level l covers
		 * (bound[l-1], bound[l]]; written as "35-75". */
		if (l == 0)
			snprintf(label, len, "0-%g", p->bound[0]);
		else if (l < PALETTE_LEVELS - 1)
			snprintf(label, len, "%g-%g", p->bound[l - 1], p->bound[l]);
		else
			snprintf(label, len, ">%g", p->bound[l - 1]);
		memcpy(rgb, palette_colours[l], 3);
		return PALETTE_LEVELS;
	}
	/* A ramp passes through the six colours at evenly spaced values; an
	 * empty or broken range colours everything with the first (palette.h). */
	if (!(p->vmax > p->vmin && isfinite(p->vmax - p->vmin))) {
		snprintf(label, len, "%.4g", isfinite(p->vmin) ? p->vmin : 0);
		memcpy(rgb, palette_viridis[0], 3);
		return 1;
	}
	{
		double v = p->vmin + l * (p->vmax - p->vmin) / (PALETTE_LEVELS - 1);
		unsigned char rgba[4];

		snprintf(label, len, "%.4g", v);
		palette_rgba(p, v, rgba);
		memcpy(rgb, rgba, 3);
	}
	return PALETTE_LEVELS;
}

int legend_draw_palette(const struct palette *p, int width, unsigned char **rgba, int *w, int *h,
			struct error *e)
{
	static const unsigned char white[3] = { 255, 255, 255 };
	unsigned char *img, rgb[3];
	char label[64];
	int scale, pad, band, swatch, height, bands;

	*rgba = NULL;
	if (width < LEGEND_MIN_WIDTH || width > LEGEND_MAX_WIDTH)
		return error_set(e, KD_EINPUT, "width %d: expected %d .. %d", width, LEGEND_MIN_WIDTH,
				 LEGEND_MAX_WIDTH);
	bands = band_label(p, 0, label, sizeof(label), rgb);
	scale = width / 80 > 1 ? width / 80 : 1;
	pad = 2 * scale + 2;
	band = 5 * scale + 2 * pad;
	swatch = width / 3;
	height = bands * band;
	if (!(img = malloc(4 * (size_t)width * (size_t)height)))
		return error_set(e, KD_ENOMEM, "out of memory for a %dx%d legend", width, height);
	for (int y = 0; y < height; y++)
		for (int x = 0; x < width; x++)
			put(img, width, height, x, y, white);
	for (int l = 0; l < bands; l++) {
		band_label(p, l, label, sizeof(label), rgb);
		for (int y = l * band + 1; y < (l + 1) * band - 1; y++)
			for (int x = 1; x < swatch; x++)
				put(img, width, height, x, y, rgb);
		text(img, width, height, swatch + pad, l * band + pad, scale, label);
	}
	*rgba = img;
	*w = width;
	*h = height;
	return 0;
}

/* Coloured pixels of the w-wide map inside the box at (x, y), bw x bh. */
static long coloured(const unsigned char *rgba, int w, int x, int y, int bw, int bh)
{
	long n = 0;

	for (int r = y; r < y + bh; r++)
		for (int c = x; c < x + bw; c++)
			n += rgba[4 * ((size_t)r * (size_t)w + (size_t)c) + 3] != 0;
	return n;
}

int legend_embed(unsigned char *rgba, int w, int h, const struct palette *p, int lang, const char **corner,
		 long *hidden, struct error *e)
{
	static const char *const names[4] = { "bottom-right", "bottom-left", "top-right", "top-left" };
	unsigned char *img;
	int lw = w / 5, lh, margin = w / 100 > 2 ? w / 100 : 2, best = 0, rc;
	int x[4], y[4];
	long n[4];

	if (lw < LEGEND_MIN_WIDTH)
		lw = LEGEND_MIN_WIDTH;
	if (lw > LEGEND_MAX_WIDTH)
		lw = LEGEND_MAX_WIDTH;
	if ((rc = legend_draw_palette(p, lw, &img, &lw, &lh, e)) < 0)
		return rc;
	if (lw + 2 * margin > w || lh + 2 * margin > h) {
		free(img);
		return error_set(e, KD_EINPUT, "a %dx%d map is too small for its %dx%d legend; ask for a larger \"width\"",
				 w, h, lw, lh);
	}
	x[0] = x[2] = w - margin - lw;
	x[1] = x[3] = margin;
	y[0] = y[1] = h - margin - lh;
	y[2] = y[3] = margin;
	for (int i = 0; i < 4; i++) {
		n[i] = coloured(rgba, w, x[i], y[i], lw, lh);
		if (n[i] < n[best])
			best = i; /* strictly fewer: ties keep the earlier corner */
	}
	for (int r = 0; r < lh; r++)
		memcpy(rgba + 4 * ((size_t)(y[best] + r) * (size_t)w + (size_t)x[best]),
		       img + 4 * (size_t)r * (size_t)lw, 4 * (size_t)lw);
	free(img);
	*corner = names[best];
	*hidden = n[best];
	return 0;
}

/* legend.c - see legend.h */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "font.h"
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

static const char *const level_names[2][PALETTE_LEVELS] = {
	{ "Excellent", "Good", "Lightly polluted", "Moderately polluted", "Heavily polluted", "Severely polluted" },
	{ "优", "良", "轻度污染", "中度污染", "重度污染", "严重污染" },
};

const char *legend_level_name(int l, int lang)
{
	if (l < 1 || l > PALETTE_LEVELS)
		return "";
	return level_names[lang == LEGEND_ZH][l - 1];
}

/* HJ 633-2012 Table 1 names its pollutants and units so. */
static const struct {
	const char *index, *name, *unit;
} titles[] = {
	{ "aqi", "AQI", "" },
	{ "pm25", "PM2.5", "µg/m³" },
	{ "pm2.5", "PM2.5", "µg/m³" },
	{ "pm2_5", "PM2.5", "µg/m³" },
	{ "pm10", "PM10", "µg/m³" },
	{ "so2", "SO₂ 1 h", "µg/m³" },
	{ "no2", "NO₂ 1 h", "µg/m³" },
	{ "co", "CO 1 h", "mg/m³" },
	{ "o3", "O₃ 1 h", "µg/m³" },
	{ "so2_24h", "SO₂ 24 h", "µg/m³" },
	{ "no2_24h", "NO₂ 24 h", "µg/m³" },
	{ "co_24h", "CO 24 h", "mg/m³" },
	{ "o3_8h", "O₃ 8 h", "µg/m³" },
};

void legend_index_label(const char *index, const char **name, const char **unit)
{
	*name = index;
	*unit = "";
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (strcasecmp(index, titles[i].index) == 0) {
			*name = titles[i].name;
			*unit = titles[i].unit;
		}
}

int legend_draw(const char *index, int mode, int lang, int width, unsigned char **rgba, int *w, int *h,
		struct error *e)
{
	struct palette p;

	*rgba = NULL;
	if (!index || !palette_setup(&p, index, (enum palette_mode)mode, 0, 0) || p.mode == PALETTE_MODE_RAMP)
		return error_set(e, KD_EINPUT, "index '%s' has no fixed levels (only the HJ 633 indexes do)",
				 index ? index : "");
	return legend_draw_palette(&p, lang, width, rgba, w, h, e);
}

/* The bands of p: how many, and band l's label, name (levels; NULL for a
 * ramp) and value (a ramp's stop). */
static int band_label(const struct palette *p, int l, char *label, size_t len, const char **name, int lang)
{
	*name = NULL;
	if (p->mode != PALETTE_MODE_RAMP) {
		/* Bounds are inclusive above (palette.h): level l covers
		 * (bound[l-1], bound[l]]; written as "35-75". */
		if (l == 0)
			snprintf(label, len, "0-%g", p->bound[0]);
		else if (l < PALETTE_LEVELS - 1)
			snprintf(label, len, "%g-%g", p->bound[l - 1], p->bound[l]);
		else
			snprintf(label, len, ">%g", p->bound[l - 1]);
		*name = legend_level_name(l + 1, lang);
		return PALETTE_LEVELS;
	}
	/* A ramp's labels are the values at six evenly spaced stops; an empty
	 * or broken range colours everything with the first (palette.h). */
	if (!(p->vmax > p->vmin && isfinite(p->vmax - p->vmin))) {
		snprintf(label, len, "%.4g", isfinite(p->vmin) ? p->vmin : 0);
		return 1;
	}
	snprintf(label, len, "%.4g", p->vmin + l * (p->vmax - p->vmin) / (PALETTE_LEVELS - 1));
	return PALETTE_LEVELS;
}

/* The colour of the swatch of band l (of bands) at fraction f (0 top, 1
 * bottom) of its height: flat for levels; a smooth level runs through its
 * span; a ramp runs from the first band's middle (vmin) to the last's. */
static void swatch_rgb(const struct palette *p, int bands, int l, double f, unsigned char rgb[3])
{
	unsigned char rgba[4];
	double lo, hi, v;

	if (p->mode == PALETTE_MODE_LEVELS) {
		memcpy(rgb, palette_colours[l], 3);
		return;
	}
	if (p->mode == PALETTE_MODE_SMOOTH) {
		palette_level_span(p, l + 1, &lo, &hi);
		v = lo + f * (hi - lo);
		/* the span's ends belong to the neighbouring levels */
		v = v <= lo && l > 0 ? nextafter(lo, INFINITY) : v;
	} else {
		double t = bands > 1 ? (l + f - 0.5) / (bands - 1) : 0;
		v = p->vmin + (t < 0 ? 0 : t > 1 ? 1 : t) * (p->vmax - p->vmin);
	}
	palette_rgba(p, v, rgba);
	memcpy(rgb, rgba, 3);
}

/* A white w x h RGBA image, or NULL. */
static unsigned char *blank(int w, int h)
{
	unsigned char *img = malloc(4 * (size_t)w * (size_t)h);

	if (img)
		memset(img, 255, 4 * (size_t)w * (size_t)h);
	return img;
}

/* The swatch column of every band, x0 .. x1-1, bands from y0, band high:
 * levels apart by a white line, smooth and ramp one continuous bar. */
static void swatches(const struct palette *p, unsigned char *img, int w, int h, int bands, int x0, int x1, int y0,
		     int band)
{
	unsigned char rgb[3];
	int gap = p->mode == PALETTE_MODE_LEVELS;

	for (int l = 0; l < bands; l++)
		for (int y = l * band + gap; y < (l + 1) * band - gap; y++) {
			swatch_rgb(p, bands, l, (y - l * band + 0.5) / band, rgb);
			for (int x = x0; x < x1; x++)
				put(img, w, h, x, y0 + y, rgb);
		}
}

/* Without FreeType: digits only, 3x5 pixels scaled with the width. */
static int bitmap_legend(const struct palette *p, int width, unsigned char **rgba, int *w, int *h, struct error *e)
{
	unsigned char *img;
	const char *name;
	char label[64];
	int scale, pad, band, swatch, height, bands;

	bands = band_label(p, 0, label, sizeof(label), &name, LEGEND_EN);
	scale = width / 80 > 1 ? width / 80 : 1;
	pad = 2 * scale + 2;
	band = 5 * scale + 2 * pad;
	swatch = width / 3;
	height = bands * band;
	if (!(img = blank(width, height)))
		return error_set(e, KD_ENOMEM, "out of memory for a %dx%d legend", width, height);
	swatches(p, img, width, height, bands, 1, swatch, 0, band);
	for (int l = 0; l < bands; l++) {
		band_label(p, l, label, sizeof(label), &name, LEGEND_EN);
		text(img, width, height, swatch + pad, l * band + pad, scale, label);
	}
	*rgba = img;
	*w = width;
	*h = height;
	return 0;
}

/* Where the text legend's parts go at one font size. */
struct layout {
	int px, pad, line, ascent, band, bands, swatch, col1, col2, width, height;
	char title[96];
};

/* Measure p's text legend at px (the font already at that size). */
static int text_layout(const struct palette *p, struct font *f, int lang, int px, struct layout *L, struct error *e)
{
	const char *name, *unit;
	char label[64];
	int tw, lw = 0, nw = 0, x, rc;

	memset(L, 0, sizeof(*L));
	legend_index_label(p->index, &name, &unit);
	snprintf(L->title, sizeof(L->title), "%s%s%s", name, *unit ? " " : "", unit);
	L->px = px;
	L->pad = px / 2 > 2 ? px / 2 : 2;
	L->line = font_line_height(f);
	L->ascent = font_ascent(f);
	L->band = L->line + 2;
	L->swatch = px + px / 2;
	L->bands = band_label(p, 0, label, sizeof(label), &name, lang);
	if ((rc = font_measure(f, L->title, &tw, e)) < 0)
		return rc;
	for (int l = 0; l < L->bands; l++) {
		int a, b = 0;
		band_label(p, l, label, sizeof(label), &name, lang);
		if ((rc = font_measure(f, label, &a, e)) < 0 || (name && (rc = font_measure(f, name, &b, e)) < 0))
			return rc;
		lw = a > lw ? a : lw;
		nw = b > nw ? b : nw;
	}
	L->col1 = L->pad + L->swatch + L->pad;
	L->col2 = L->col1 + lw + L->pad;
	x = nw ? L->col2 + nw + L->pad : L->col1 + lw + L->pad;
	L->width = tw + 2 * L->pad > x ? tw + 2 * L->pad : x;
	L->height = L->pad + L->line + L->bands * L->band + L->pad;
	return 0;
}

/* Draw p's legend as laid out by L, width pixels wide. */
static int text_draw(const struct palette *p, struct font *f, int lang, const struct layout *L, int width,
		     unsigned char **rgba, struct error *e)
{
	static const unsigned char black[3] = { 0, 0, 0 };
	unsigned char *img;
	const char *name;
	char label[64];
	int y0 = L->pad + L->line, rc;

	if (!(img = blank(width, L->height)))
		return error_set(e, KD_ENOMEM, "out of memory for a %dx%d legend", width, L->height);
	rc = font_draw(f, img, width, L->height, L->pad, L->pad + L->ascent, L->title, black, e);
	swatches(p, img, width, L->height, L->bands, L->pad, L->pad + L->swatch, y0, L->band);
	for (int l = 0; l < L->bands && rc == 0; l++) {
		int base = y0 + l * L->band + (L->band - L->line) / 2 + L->ascent;
		band_label(p, l, label, sizeof(label), &name, lang);
		rc = font_draw(f, img, width, L->height, L->col1, base, label, black, e);
		if (rc == 0 && name)
			rc = font_draw(f, img, width, L->height, L->col2, base, name, black, e);
	}
	if (rc < 0) {
		free(img);
		return rc;
	}
	*rgba = img;
	return 0;
}

/* With FreeType: the largest font size from px down to LEGEND_MIN_PX whose
 * legend fits width (0: take px and its natural width). */
static int text_legend(const struct palette *p, int lang, int px, int width, unsigned char **rgba, int *w, int *h,
		       struct error *e)
{
	struct font *f;
	struct layout L;
	int rc;

	if ((rc = font_open(&f, lang, px, e)) < 0)
		return rc;
	for (;; px--) {
		font_set_size(f, px);
		if ((rc = text_layout(p, f, lang, px, &L, e)) < 0 || !width || L.width <= width)
			break;
		if (px <= LEGEND_MIN_PX) {
			rc = error_set(e, KD_EINPUT, "a legend %d pixels wide is too narrow for its text; it needs %d",
				       width, L.width);
			break;
		}
	}
	if (rc == 0 && (rc = text_draw(p, f, lang, &L, width ? width : L.width, rgba, e)) == 0) {
		*w = width ? width : L.width;
		*h = L.height;
	}
	font_close(f);
	return rc;
}

int legend_draw_palette(const struct palette *p, int lang, int width, unsigned char **rgba, int *w, int *h,
			struct error *e)
{
	*rgba = NULL;
	if (width < LEGEND_MIN_WIDTH || width > LEGEND_MAX_WIDTH)
		return error_set(e, KD_EINPUT, "width %d: expected %d .. %d", width, LEGEND_MIN_WIDTH,
				 LEGEND_MAX_WIDTH);
	if (!font_available())
		return bitmap_legend(p, width, rgba, w, h, e);
	return text_legend(p, lang, width / 10 < LEGEND_MAX_PX ? width / 10 : LEGEND_MAX_PX, width, rgba, w, h, e);
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

int legend_for_map(const struct palette *p, int lang, int w, unsigned char **img, int *lw, int *lh, struct error *e)
{
	int px = w / 50 < LEGEND_MIN_PX ? LEGEND_MIN_PX : w / 50 > 28 ? 28 : w / 50;
	int want = w / 5 < LEGEND_MIN_WIDTH ? LEGEND_MIN_WIDTH : w / 5 > LEGEND_MAX_WIDTH ? LEGEND_MAX_WIDTH : w / 5;
	int rc;

	if (!font_available())
		return legend_draw_palette(p, lang, want, img, lw, lh, e);
	if ((rc = text_legend(p, lang, px, 0, img, lw, lh, e)) < 0 || *lw >= want)
		return rc;
	free(*img);
	return text_legend(p, lang, px, want, img, lw, lh, e);
}

int legend_embed(unsigned char *rgba, int w, int h, const struct palette *p, int lang, struct legend_place *at,
		 struct error *e)
{
	static const char *const names[4] = { "bottom-right", "bottom-left", "top-right", "top-left" };
	unsigned char *img;
	int lw, lh, margin = w / 100 > 2 ? w / 100 : 2, best = 0, rc;
	int x[4], y[4];
	long n[4];

	if ((rc = legend_for_map(p, lang, w, &img, &lw, &lh, e)) < 0)
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
	at->corner = names[best];
	at->hidden = n[best];
	at->x = x[best];
	at->y = y[best];
	at->w = lw;
	at->h = lh;
	return 0;
}

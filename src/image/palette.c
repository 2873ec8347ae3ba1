/* palette.c - see palette.h */
#include "config.h"

#include <math.h>
#include <string.h>
#include <strings.h>

#include "palette.h"

const unsigned char palette_colours[PALETTE_LEVELS][3] = {
	{ 0, 228, 0 },   /* 1 good: green */
	{ 255, 255, 0 }, /* 2 moderate: yellow */
	{ 255, 126, 0 }, /* 3 lightly polluted: orange */
	{ 255, 0, 0 },   /* 4 moderately polluted: red */
	{ 153, 0, 76 },  /* 5 heavily polluted: purple */
	{ 126, 0, 35 },  /* 6 severely polluted: maroon */
};

static const struct {
	const char *name;
	double bound[PALETTE_LEVELS - 1];
} indexes[] = {
	{ "aqi", { 50, 100, 150, 200, 300 } },
	{ "pm25", { 35, 75, 115, 150, 250 } },
	{ "pm2.5", { 35, 75, 115, 150, 250 } },
	{ "pm2_5", { 35, 75, 115, 150, 250 } },
	{ "pm10", { 50, 150, 250, 350, 420 } },
	{ "so2", { 150, 500, 650, 800, 1600 } }, /* level 5 from the 24-h row, see palette.h */
	{ "no2", { 100, 200, 700, 1200, 2340 } },
	{ "co", { 5, 10, 35, 60, 90 } },
	{ "o3", { 160, 200, 300, 400, 800 } },
	{ "so2_24h", { 50, 150, 475, 800, 1600 } },
	{ "no2_24h", { 40, 80, 180, 280, 565 } },
	{ "co_24h", { 2, 4, 14, 24, 36 } },
	{ "o3_8h", { 100, 160, 215, 265, 800 } },
};

int palette_init(struct palette *p, const char *index, double vmin, double vmax)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; index && i < sizeof(indexes) / sizeof(indexes[0]); i++) {
		if (strcasecmp(index, indexes[i].name) == 0) {
			p->levels = 1;
			memcpy(p->bound, indexes[i].bound, sizeof(p->bound));
			return 1;
		}
	}
	p->vmin = vmin;
	p->vmax = vmax;
	return 0;
}

int palette_is_levels(const struct palette *p)
{
	return p->levels;
}

int palette_level(const struct palette *p, double v)
{
	int l;

	if (!p->levels || isnan(v))
		return 0;
	/* Inclusive upper bounds; below zero falls in level 1 too. */
	for (l = 0; l < PALETTE_LEVELS - 1; l++)
		if (v <= p->bound[l])
			return l + 1;
	return PALETTE_LEVELS;
}

void palette_rgba(const struct palette *p, double v, unsigned char rgba[4])
{
	if (isnan(v)) {
		memset(rgba, 0, 4);
		return;
	}
	if (p->levels) {
		memcpy(rgba, palette_colours[palette_level(p, v) - 1], 3);
	} else {
		double t = 0, pos, f;
		int k, i;

		/* Written so that a NaN or empty range leaves t = 0. */
		if (p->vmax > p->vmin && isfinite(p->vmax - p->vmin))
			t = (v - p->vmin) / (p->vmax - p->vmin);
		t = t > 1 ? 1 : t > 0 ? t : 0;
		pos = t * (PALETTE_LEVELS - 1);
		k = (int)pos;
		if (k >= PALETTE_LEVELS - 1)
			k = PALETTE_LEVELS - 2;
		f = pos - k;
		for (i = 0; i < 3; i++)
			rgba[i] = (unsigned char)lrint(palette_colours[k][i] +
						       f * (palette_colours[k + 1][i] - palette_colours[k][i]));
	}
	rgba[3] = 255;
}

void palette_fill(const struct palette *p, const double *values, size_t n, unsigned char *rgba)
{
	size_t i;

	for (i = 0; i < n; i++)
		palette_rgba(p, values[i], rgba + 4 * i);
}

void palette_range(const double *values, size_t n, double *vmin, double *vmax)
{
	size_t i;

	*vmin = *vmax = NAN;
	for (i = 0; i < n; i++) {
		if (!isfinite(values[i]))
			continue;
		if (!(values[i] >= *vmin))
			*vmin = values[i];
		if (!(values[i] <= *vmax))
			*vmax = values[i];
	}
}

/* palette.c - see palette.h */
#include "config.h"

#include <math.h>
#include <stdio.h>
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

/* sRGB (8 bit) to CIELAB, D65 white. */
static void lab_of(const unsigned char rgb[3], double lab[3])
{
	static const double white[3] = { 0.95047, 1.0, 1.08883 };
	double lin[3], xyz[3], f[3];

	for (int i = 0; i < 3; i++) {
		double c = rgb[i] / 255.0;
		lin[i] = c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
	}
	xyz[0] = 0.4124564 * lin[0] + 0.3575761 * lin[1] + 0.1804375 * lin[2];
	xyz[1] = 0.2126729 * lin[0] + 0.7151522 * lin[1] + 0.0721750 * lin[2];
	xyz[2] = 0.0193339 * lin[0] + 0.1191920 * lin[1] + 0.9503041 * lin[2];
	for (int i = 0; i < 3; i++) {
		double t = xyz[i] / white[i];
		f[i] = t > 216.0 / 24389.0 ? cbrt(t) : (24389.0 / 27.0 * t + 16.0) / 116.0;
	}
	lab[0] = 116.0 * f[1] - 16.0;
	lab[1] = 500.0 * (f[0] - f[1]);
	lab[2] = 200.0 * (f[1] - f[2]);
}

static double delta_e(const double a[3], const double b[3])
{
	return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
}

/* What a smooth level blends towards: the neighbouring level's colour,
 * white below level 1, black above level 6. */
static const unsigned char *smooth_target(int i, int up)
{
	static const unsigned char white[3] = { 255, 255, 255 }, black[3] = { 0, 0, 0 };

	if (up)
		return i < PALETTE_LEVELS - 1 ? palette_colours[i + 1] : black;
	return i > 0 ? palette_colours[i - 1] : white;
}

static void blend(const unsigned char a[3], const unsigned char b[3], double f, unsigned char out[3])
{
	for (int k = 0; k < 3; k++)
		out[k] = (unsigned char)lrint(a[k] + f * (b[k] - a[k]));
}

/* How far (0 .. 0.5) level i may blend towards its target in direction up
 * while every colour on the way, as rounded to 8 bits, stays nearer its own
 * level's colour than any other level's by PALETTE_SMOOTH_MARGIN.  Steps of
 * 1/2048 are finer than one 8-bit step of any channel, so the colours
 * between two checked steps differ from a checked one by at most one unit
 * per channel, well inside the margin. */
static double smooth_reach(int i, int up)
{
	double lab[PALETTE_LEVELS][3], c[3], good = 0;
	unsigned char rgb[3];

	for (int k = 0; k < PALETTE_LEVELS; k++)
		lab_of(palette_colours[k], lab[k]);
	for (int s = 1; s <= 1024; s++) {
		double f = s / 2048.0, own;

		blend(palette_colours[i], smooth_target(i, up), f, rgb);
		lab_of(rgb, c);
		own = delta_e(c, lab[i]);
		for (int k = 0; k < PALETTE_LEVELS; k++)
			if (k != i && !(own + PALETTE_SMOOTH_MARGIN < delta_e(c, lab[k])))
				return good;
		good = f;
	}
	return good;
}

int palette_setup(struct palette *p, const char *index, enum palette_mode mode, double vmin, double vmax)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->index, sizeof(p->index), "%s", index ? index : "");
	p->vmin = vmin;
	p->vmax = vmax;
	for (size_t i = 0; index && i < sizeof(indexes) / sizeof(indexes[0]); i++) {
		if (strcasecmp(index, indexes[i].name) == 0) {
			p->levels = 1;
			memcpy(p->bound, indexes[i].bound, sizeof(p->bound));
			break;
		}
	}
	if (!p->levels || mode == PALETTE_MODE_RAMP)
		p->mode = PALETTE_MODE_RAMP;
	else
		p->mode = mode == PALETTE_MODE_SMOOTH ? PALETTE_MODE_SMOOTH : PALETTE_MODE_LEVELS;
	if (p->mode == PALETTE_MODE_SMOOTH)
		for (int l = 0; l < PALETTE_LEVELS; l++) {
			p->reach[l][0] = smooth_reach(l, 0);
			p->reach[l][1] = smooth_reach(l, 1);
		}
	return p->levels;
}

int palette_init(struct palette *p, const char *index, double vmin, double vmax)
{
	return palette_setup(p, index, PALETTE_DEFAULT, vmin, vmax);
}

static const char *const mode_names[] = { "default", "levels", "smooth", "ramp" };

int palette_mode_parse(const char *s, enum palette_mode *mode)
{
	for (int m = PALETTE_MODE_LEVELS; m <= PALETTE_MODE_RAMP; m++)
		if (strcmp(s, mode_names[m]) == 0) {
			*mode = (enum palette_mode)m;
			return 0;
		}
	return -1;
}

const char *palette_mode_name(enum palette_mode mode)
{
	return (unsigned)mode <= PALETTE_MODE_RAMP ? mode_names[mode] : "default";
}

int palette_is_levels(const struct palette *p)
{
	return p->mode == PALETTE_MODE_LEVELS;
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

void palette_level_span(const struct palette *p, int l, double *lo, double *hi)
{
	int i = l - 1;

	*lo = i == 0 ? 0 : p->bound[i - 1];
	*hi = i < PALETTE_LEVELS - 1 ? p->bound[i] : 2 * p->bound[PALETTE_LEVELS - 2] - p->bound[PALETTE_LEVELS - 3];
}

static void smooth_rgb(const struct palette *p, double v, unsigned char rgb[3])
{
	int i = palette_level(p, v) - 1;
	double lo, hi, t;

	palette_level_span(p, i + 1, &lo, &hi);
	t = (v - lo) / (hi - lo);
	t = t > 1 ? 1 : t > 0 ? t : 0;
	if (t >= 0.5)
		blend(palette_colours[i], smooth_target(i, 1), (t - 0.5) * 2 * p->reach[i][1], rgb);
	else
		blend(palette_colours[i], smooth_target(i, 0), (0.5 - t) * 2 * p->reach[i][0], rgb);
}

static void ramp_rgb(const struct palette *p, double v, unsigned char rgb[3])
{
	double t = 0, pos, f;
	int k;

	/* Written so that a NaN or empty range leaves t = 0. */
	if (p->vmax > p->vmin && isfinite(p->vmax - p->vmin))
		t = (v - p->vmin) / (p->vmax - p->vmin);
	t = t > 1 ? 1 : t > 0 ? t : 0;
	pos = t * (PALETTE_RAMP_STOPS - 1);
	k = (int)pos;
	if (k >= PALETTE_RAMP_STOPS - 1)
		k = PALETTE_RAMP_STOPS - 2;
	f = pos - k;
	blend(palette_viridis[k], palette_viridis[k + 1], f, rgb);
}

void palette_rgba(const struct palette *p, double v, unsigned char rgba[4])
{
	if (isnan(v)) {
		memset(rgba, 0, 4);
		return;
	}
	if (p->mode == PALETTE_MODE_LEVELS)
		memcpy(rgba, palette_colours[palette_level(p, v) - 1], 3);
	else if (p->mode == PALETTE_MODE_SMOOTH)
		smooth_rgb(p, v, rgba);
	else
		ramp_rgb(p, v, rgba);
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

void palette_range_add(const double *values, size_t n, double *vmin, double *vmax)
{
	double lo, hi;

	palette_range(values, n, &lo, &hi);
	if (isnan(lo))
		return;
	if (!(lo >= *vmin))
		*vmin = lo;
	if (!(hi <= *vmax))
		*vmax = hi;
}

/* palette.h - colours of the heat map (docs/DESIGN.md "Image").
 *
 * Known indexes are coloured by the six levels of China's HJ 633-2012
 * "Technical Regulation on Ambient Air Quality Index (on trial)", Table 1
 * (IAQI breakpoints) and section 5 (AQI levels and colours).  A level's upper
 * bound is inclusive: a value exactly at the bound takes that level, anything
 * above the fifth bound takes level 6, values below zero take level 1.
 *
 *   index     unit   upper bounds of levels 1..5           table row
 *   aqi       -      50 100 150 200 300                    AQI / IAQI
 *   pm25      ug/m3  35 75 115 150 250                     PM2.5 24-h mean
 *   pm10      ug/m3  50 150 250 350 420                    PM10 24-h mean
 *   so2       ug/m3  150 500 650 800 1600                  SO2 1-h mean (*)
 *   no2       ug/m3  100 200 700 1200 2340                 NO2 1-h mean
 *   co        mg/m3  5 10 35 60 90                         CO 1-h mean
 *   o3        ug/m3  160 200 300 400 800                   O3 1-h mean
 *   so2_24h   ug/m3  50 150 475 800 1600                   SO2 24-h mean
 *   no2_24h   ug/m3  40 80 180 280 565                     NO2 24-h mean
 *   co_24h    mg/m3  2 4 14 24 36                          CO 24-h mean
 *   o3_8h     ug/m3  100 160 215 265 800                   O3 8-h moving mean
 *
 * (*) The 1-h SO2 row stops at 800 (IAQI 200): the standard's note says a
 * 1-h SO2 above 800 is rated by its 24-h IAQI instead.  We cannot do that from
 * a 1-h value, so level 5's bound is the 24-h breakpoint 1600 (IAQI 300).
 * PM2.5 and PM10 have only 24-h rows; hourly data uses them as published
 * hourly AQI does.  Names match without case; "pm2.5"/"pm2_5" mean pm25.
 *
 * Three colour modes (enum palette_mode, the trigger's "colors"):
 *   levels  one flat colour per HJ 633 level (the default for these indexes);
 *   smooth  the six level colours as stops: a value in the middle of its
 *           level takes the level's colour exactly, and towards either end of
 *           the level it blends towards the neighbouring level's colour (below
 *           level 1: white; above level 6: black), but only as far as "reach"
 *           allows: every colour stays nearer (CIE76 delta E in CIELAB, D65)
 *           to its own level's colour than to any other level's, by a margin
 *           of PALETTE_SMOOTH_MARGIN.  Level 6 is as wide as level 5.
 *   ramp    matplotlib's viridis (viridis.c, CC0) over [vmin, vmax], clamped
 *           outside; an empty, reversed or non-finite range colours
 *           everything with the first colour.
 * An index without HJ levels is always coloured by the ramp. */
#ifndef KD_PALETTE_H
#define KD_PALETTE_H

#include <stddef.h>

#define PALETTE_LEVELS 6
#define PALETTE_RAMP_STOPS 256
#define PALETTE_SMOOTH_MARGIN 2.0 /* delta E between own and next-nearest level colour */

enum palette_mode {
	PALETTE_DEFAULT = 0, /* levels for an HJ 633 index, else ramp */
	PALETTE_MODE_LEVELS,
	PALETTE_MODE_SMOOTH,
	PALETTE_MODE_RAMP,
};

struct palette {
	char index[33];        /* the index's name as given (cut to 32 bytes), for titles */
	int levels;            /* 1: the index has HJ 633 levels in bound[] */
	enum palette_mode mode; /* how values are coloured; never PALETTE_DEFAULT */
	double bound[PALETTE_LEVELS - 1];
	double vmin, vmax;     /* ramp range (used only in ramp mode) */
	double reach[PALETTE_LEVELS][2]; /* smooth: blend fraction allowed towards [0] below, [1] above */
};

/* The colour of level l (1..6), RGB. */
extern const unsigned char palette_colours[PALETTE_LEVELS][3];
/* viridis, first entry for vmin, last for vmax. */
extern const unsigned char palette_viridis[PALETTE_RAMP_STOPS][3];

/* Set p up for index in mode (PALETTE_DEFAULT: levels for a known HJ 633
 * index, ramp otherwise; levels or smooth asked of an index without levels
 * falls back to ramp, p->mode says what was chosen).  vmin, vmax are the
 * ramp's range.  Returns 1 when index is a known HJ 633 index, else 0. */
int palette_setup(struct palette *p, const char *index, enum palette_mode mode, double vmin, double vmax);

/* palette_setup with PALETTE_DEFAULT. */
int palette_init(struct palette *p, const char *index, double vmin, double vmax);

/* "levels", "smooth", "ramp" <-> mode; parse returns -1 for anything else. */
int palette_mode_parse(const char *s, enum palette_mode *mode);
const char *palette_mode_name(enum palette_mode mode);

/* 1 when p colours by flat levels, 0 for smooth or ramp. */
int palette_is_levels(const struct palette *p);

/* The HJ 633 level (1..6) of v; 0 for an index without levels or a NaN v. */
int palette_level(const struct palette *p, double v);

/* The value span drawn for level l (1..6) in smooth mode: [lo, hi];
 * level 1 starts at 0, level 6 is as wide as level 5. */
void palette_level_span(const struct palette *p, int l, double *lo, double *hi);

/* The colour of v: opaque, or fully transparent (0,0,0,0) for NaN. */
void palette_rgba(const struct palette *p, double v, unsigned char rgba[4]);

/* Colour n values into rgba (4n bytes), NaN (outside the boundary)
 * transparent; the caller owns both buffers. */
void palette_fill(const struct palette *p, const double *values, size_t n, unsigned char *rgba);

/* The smallest and largest finite value of values[0..n); both NaN if none. */
void palette_range(const double *values, size_t n, double *vmin, double *vmax);

/* Widen [*vmin, *vmax] to take in the finite values of values[0..n) (NaN
 * bounds count as "nothing yet"): a range over many frames. */
void palette_range_add(const double *values, size_t n, double *vmin, double *vmax);

#endif

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
 * Any other index gets a continuous ramp over the data's [vmin, vmax] through
 * the same six colours (constant data: the first colour). */
#ifndef KD_PALETTE_H
#define KD_PALETTE_H

#include <stddef.h>

#define PALETTE_LEVELS 6

struct palette {
	int levels;        /* 1: HJ 633 levels in bound[]; 0: ramp over [vmin, vmax] */
	double bound[PALETTE_LEVELS - 1];
	double vmin, vmax; /* ramp range (used only when levels == 0) */
};

/* The colour of level l (1..6), RGB. */
extern const unsigned char palette_colours[PALETTE_LEVELS][3];

/* Set p up for index (NULL or unknown: a ramp over [vmin, vmax]; non-finite
 * or reversed ranges colour everything with the first colour).  Returns 1
 * when index is a known HJ 633 index, 0 for a ramp. */
int palette_init(struct palette *p, const char *index, double vmin, double vmax);

/* 1 when p colours by levels, 0 for a ramp. */
int palette_is_levels(const struct palette *p);

/* The HJ 633 level (1..6) of v; 0 for a ramp palette or a NaN v. */
int palette_level(const struct palette *p, double v);

/* The colour of v: opaque, or fully transparent (0,0,0,0) for NaN. */
void palette_rgba(const struct palette *p, double v, unsigned char rgba[4]);

/* Colour n values into rgba (4n bytes), NaN (outside the boundary)
 * transparent; the caller owns both buffers. */
void palette_fill(const struct palette *p, const double *values, size_t n, unsigned char *rgba);

/* The smallest and largest finite value of values[0..n); both NaN if none. */
void palette_range(const double *values, size_t n, double *vmin, double *vmax);

#endif

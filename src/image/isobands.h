/* isobands.h - the map's colour bands as GeoJSON polygons (RFC 7946).
 *
 * Every inside cell with a value is put in a band: its HJ 633 level (1..6)
 * when the palette colours by levels or smooth, else one of
 * ISOBANDS_RAMP_BANDS equal slices of the ramp's range.  Each band's cells
 * become one MultiPolygon traced along cell edges (so it is clipped to the
 * boundary exactly as the PNG is), with cells that touch only at a corner
 * kept apart and rings split where they would touch themselves, so every
 * geometry is valid (OGC IsValid): exterior rings counter-clockwise, holes
 * clockwise, lon/lat.  A band's area is exactly its cells' area. */
#ifndef KD_ISOBANDS_H
#define KD_ISOBANDS_H

#include <stdio.h>

struct error;
struct grid;
struct palette;

#define ISOBANDS_RAMP_BANDS 10

/* Write the FeatureCollection of values (g's shape, NaN outside) to fp: one
 * Feature per band that has cells, properties "level" (the level or band,
 * from 1), "min" and "max" (the band's values; null where it is open:
 * level 1's min, the last band's max) and "color" ("#rrggbb", the
 * palette's colour of the band).  KD_ENOMEM, or KD_EIO when fp fails. */
int isobands_write(FILE *fp, const struct grid *g, const double *values, const struct palette *p, struct error *e);

#endif

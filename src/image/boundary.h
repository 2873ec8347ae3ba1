/* boundary.h - the district outline: rings of lon/lat points.
 *
 * Accepts GeoJSON as GIS tools export it (Polygon, MultiPolygon, Feature,
 * FeatureCollection of those) or a bare ring list [[[lon,lat],...],...].
 * Inside is the even-odd rule over all rings, so holes and islands both work;
 * a ring may be closed or not (a repeated closing point is dropped). */
#ifndef KD_BOUNDARY_H
#define KD_BOUNDARY_H

#include <stddef.h>

/* Most points over all rings (KD_ELIMIT beyond): bounds memory and the
 * scan-line work for a boundary that arrives in a datagram. */
#define BOUNDARY_MAX_POINTS 1000000
/* Largest boundary file boundary_from_file reads. */
#define BOUNDARY_MAX_FILE ((size_t)64 << 20)

struct json_object;
struct error;

struct ring {
	size_t n;   /* points, >= 3, closing duplicate removed */
	double *pt; /* pt[2i] = lon, pt[2i+1] = lat, degrees */
};

struct boundary {
	size_t nrings;
	struct ring *rings;
	double west, south, east, north; /* bounding box of all rings */
};

#define BOUNDARY_INIT { 0, NULL, 0, 0, 0, 0 }

/* Parse any accepted form from a json-c object into b (which must be
 * BOUNDARY_INIT or released).  On error b is left empty and e says what is
 * wrong in words ("ring 2 has 2 points; a ring needs 3"): KD_EINPUT. */
int boundary_from_json(struct boundary *b, struct json_object *obj, struct error *e);

/* The same from text (a file's contents); KD_EINPUT on malformed JSON. */
int boundary_from_text(struct boundary *b, const char *text, size_t len, struct error *e);

/* Read and parse a file (at most 64 MiB); KD_EIO if it cannot be read. */
int boundary_from_file(struct boundary *b, const char *path, struct error *e);

/* Even-odd point-in-polygon over all rings: 1 inside, 0 outside. */
int boundary_contains(const struct boundary *b, double lon, double lat);

/* Longitude where the edge (x0,y0)-(x1,y1) crosses latitude lat; call it only
 * when (y0 > lat) != (y1 > lat) (the half-open rule that counts a vertex on
 * the line once).  Shared by boundary_contains and the grid's scan lines so
 * both give bit-identical answers for every cell centre. */
static inline double boundary_edge_x(double x0, double y0, double x1, double y1, double lat)
{
	return x0 + (x1 - x0) * (lat - y0) / (y1 - y0);
}

/* Free the rings; b becomes empty and reusable. */
void boundary_release(struct boundary *b);

#endif

/* raster.h - the output grid over a boundary (docs/DESIGN.md "Geometry").
 *
 * The grid starts at the boundary's south-west corner: width columns of
 * dx = (east - west) / width degrees, dy = dx * cos(lat0) degrees (square on
 * the ground), height = ceil((north - south) / dy) rows.  Row 0 is the
 * NORTHERNMOST row, as in PNG and Esri ASCII grids.  Only cells whose centre
 * is inside the boundary are kept, as spans of columns per row, found by a
 * scan-line crossing of the ring edges (no per-cell point-in-polygon test).
 * Metres are a local equirectangular projection about the bbox centre. */
#ifndef KD_RASTER_H
#define KD_RASTER_H

#include <locale.h>
#include <stddef.h>
#include <stdio.h>

struct boundary;
struct error;

#define EARTH_RADIUS_M 6371008.8

struct span {
	int c0, c1; /* columns [c0, c1) of one row, centres inside */
};

struct grid {
	double west, south, east, north; /* bbox of the boundary, degrees */
	double lon0, lat0;               /* projection centre (bbox centre) */
	double kx, ky;                   /* metres per degree: R cos(lat0) pi/180, R pi/180 */
	double dx, dy;                   /* cell size, degrees */
	int width, height;
	size_t *row_span; /* height + 1 entries: spans of row r are span[row_span[r] .. row_span[r+1]) */
	struct span *span;
	size_t ncells;    /* cells inside, summed over all spans */
};

/* Build the grid and its spans for b.  max_cells bounds width*height
 * (KD_ELIMIT with a message naming both numbers); width must be >= 1.
 * On error g is left released. */
int grid_init(struct grid *g, const struct boundary *b, int width, size_t max_cells, struct error *e);

/* The number of rows grid_init gives b at width (>= 1; a double, it may be
 * huge): rows are as tall as the cells are wide on the ground. */
double grid_rows_for(const struct boundary *b, int width);

/* Free the spans; g may be initialised again. */
void grid_release(struct grid *g);

/* Cell centre of column c / row r, degrees. */
static inline double grid_lon(const struct grid *g, int c) { return g->west + (c + 0.5) * g->dx; }
static inline double grid_lat(const struct grid *g, int r) { return g->south + (g->height - r - 0.5) * g->dy; }

/* Degrees to local metres (and the grid cell centres in metres). */
static inline double grid_x(const struct grid *g, double lon) { return (lon - g->lon0) * g->kx; }
static inline double grid_y(const struct grid *g, double lat) { return (lat - g->lat0) * g->ky; }

/* Numbers in files are written in the C locale whatever the process's
 * locale is (a decimal comma must never reach a file): begin switches this
 * thread to it (KD_ENOMEM when it cannot), end switches back. */
struct raster_clocale {
	locale_t c, old;
};
int raster_clocale_begin(struct raster_clocale *s);
void raster_clocale_end(struct raster_clocale *s);

/* World file (.pgw) for the PNG: six lines, cell centre of the top-left. */
int raster_write_pgw(FILE *fp, const struct grid *g);

/* Esri ASCII grid of values (width*height, row 0 north; NaN = outside):
 * ncols/nrows, xllcorner/yllcorner, dx/dy lines, NODATA_value -9999,
 * values as %.17g in the C locale so they round-trip exactly. */
int raster_write_asc(FILE *fp, const struct grid *g, const double *values);

/* The WGS 84 (EPSG:4326) coordinate system as WKT 1 with its EPSG
 * authority: the text of a .prj and of a .png.aux.xml's <SRS>. */
#define RASTER_WGS84_WKT "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563," \
	"AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]]," \
	"UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]]"

/* The .prj text: RASTER_WGS84_WKT. */
int raster_write_prj(FILE *fp);

#endif

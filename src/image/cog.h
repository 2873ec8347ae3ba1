/* cog.h - a frame's values as a Cloud-Optimized GeoTIFF, through GDAL.
 *
 * float32, NoData -9999 (NaN cells), EPSG:4326, 512-pixel tiles, DEFLATE
 * with the floating-point predictor, overviews averaged with NoData left
 * out; band 1 the values, band 2 the kriging variance when given.  GDAL's
 * COG driver writes the file (with the "ghost header" that makes GDAL say
 * LAYOUT=COG) into memory (/vsimem/), and the bytes then go through the
 * project's own temp-file, fsync, rename writer (outputs_write_bytes).
 * Optional at configure (--without-gdal): then cog_available() is 0.
 * GDAL is not linked but opened on first use (see cog.c for why). */
#ifndef KD_COG_H
#define KD_COG_H

struct error;
struct grid;

/* 1 when this build has GDAL.  The library itself is opened (dlopen) by
 * the first cog_write, so a job is refused here only by a build without
 * GDAL; a GDAL that cannot be loaded fails that write, saying why. */
int cog_available(void);

/* Write name in dirfd for grid g: values (and variance, or NULL), each
 * width*height, row 0 north, NaN outside.  KD_EINPUT when the build has
 * no GDAL; KD_EIO naming GDAL's reason (it cannot be loaded, has no COG
 * driver, failed), or the disk's, otherwise. */
int cog_write(int dirfd, const char *name, const struct grid *g, const double *values, const double *variance,
	      struct error *e);

#endif

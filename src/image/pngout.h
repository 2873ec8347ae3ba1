/* pngout.h - RGBA PNG output through libpng (prefix pngout_: libpng owns png_).
 *
 * 8-bit RGBA, non-interlaced, zlib level 3 with the Sub and Up filters: a
 * heat map is large flat areas, which these compress well at a fraction of
 * the time of the default adaptive search.  libpng's longjmp errors are
 * turned into KD_E* codes here; nothing is leaked on either path. */
#ifndef KD_PNGOUT_H
#define KD_PNGOUT_H

#include <stdio.h>

struct error;

/* Largest image either function handles, per side. */
#define PNGOUT_MAX_SIDE 100000

/* Write w x h RGBA pixels (row 0 at the top, 4*w bytes a row) to fp as PNG.
 * fp stays open and owned by the caller (an outfile commits it); KD_EIO on a
 * write error, KD_EINPUT on bad dimensions. */
int pngout_write(FILE *fp, const unsigned char *rgba, int w, int h, struct error *e);

/* Read any PNG file as 8-bit RGBA (tests and tools): *rgba is malloc'ed and
 * owned by the caller; on error it is NULL and e says why. */
int pngout_read(const char *path, unsigned char **rgba, int *w, int *h, struct error *e);

#endif

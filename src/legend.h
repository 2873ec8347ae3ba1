/* legend.h - the colour legend of an index: one band per HJ 633 level, the
 * level's colour on the left and its range ("0-35", "35-75", ..., ">250")
 * on the right, level 1 at the top, on white.  The text is drawn with a
 * built-in 3x5 bitmap font (digits, '.', '-', '>'), scaled with the width. */
#ifndef KD_LEGEND_H
#define KD_LEGEND_H

struct error;

#define LEGEND_MIN_WIDTH 48
#define LEGEND_MAX_WIDTH 4000

/* Draw the legend of index (a name palette_init knows: KD_EINPUT for an
 * index that colours by a ramp, which has no fixed levels) width pixels
 * wide (LEGEND_MIN_WIDTH .. LEGEND_MAX_WIDTH, else KD_EINPUT).  *rgba
 * (4 * *w * *h bytes, row 0 at the top) is malloc'ed for the caller. */
int legend_draw(const char *index, int width, unsigned char **rgba, int *w, int *h, struct error *e);

#endif

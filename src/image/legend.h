/* legend.h - the colour legend of a palette: one band per colour, the colour
 * on the left and its text on the right, first colour at the top, on white.
 * For an HJ 633 index the bands are its six levels with their ranges ("0-35",
 * "35-75", ..., ">250"); for a ramp they are the ramp's six colour stops with
 * the value each stands for.  The text is drawn with a built-in 3x5 bitmap
 * font (digits, '.', '-', '+', 'e', '>'), scaled with the width. */
#ifndef KD_LEGEND_H
#define KD_LEGEND_H

struct error;
struct palette;

/* The language of the legend's text (level names). */
enum legend_lang { LEGEND_EN = 0, LEGEND_ZH = 1 };

#define LEGEND_MIN_WIDTH 48
#define LEGEND_MAX_WIDTH 4000

/* Draw the legend of index (a name palette_init knows: KD_EINPUT for an
 * index that colours by a ramp, which has no fixed levels) width pixels
 * wide (LEGEND_MIN_WIDTH .. LEGEND_MAX_WIDTH, else KD_EINPUT).  *rgba
 * (4 * *w * *h bytes, row 0 at the top) is malloc'ed for the caller. */
int legend_draw(const char *index, int width, unsigned char **rgba, int *w, int *h, struct error *e);

/* The same for any palette, levels or ramp (a ramp's range is part of p:
 * its labels are the values at the six stops). */
int legend_draw_palette(const struct palette *p, int width, unsigned char **rgba, int *w, int *h,
			struct error *e);

/* Draw the legend of p into a w x h RGBA map, in place: a fifth of the map
 * wide (at least LEGEND_MIN_WIDTH), a small margin from the edges, in the
 * corner that hides the fewest coloured (non-transparent) pixels, trying
 * bottom-right, bottom-left, top-right, top-left in that order on a tie.
 * The map keeps its size, so its world file and bbox stay true.  *corner
 * (static text, e.g. "bottom-right") and *hidden (coloured pixels now under
 * the legend) say where it went.  KD_EINPUT, the map untouched, when the map
 * is too small to hold the legend; KD_ENOMEM. */
int legend_embed(unsigned char *rgba, int w, int h, const struct palette *p, int lang, const char **corner,
		 long *hidden, struct error *e);

#endif

/* legend.h - the colour legend of a palette, on white.
 *
 * With FreeType (font.h): a title with the index and its unit ("PM2.5
 * µg/m³"), then one band per level, first level at the top: its swatch, its
 * breakpoints ("35-75") and its name in English or Chinese (HJ 633-2012
 * section 5).  Smooth and ramp palettes get one continuous colour bar
 * instead of separate swatches; a ramp's bands are its six stops, labelled
 * with the value each stands for.  Without FreeType the text is a built-in
 * 3x5 bitmap font (digits, '.', '-', '+', 'e', '>'), scaled with the width,
 * with no title or names. */
#ifndef KD_LEGEND_H
#define KD_LEGEND_H

struct error;
struct palette;

/* The language of the legend's level names. */
enum legend_lang { LEGEND_EN = 0, LEGEND_ZH = 1 };

#define LEGEND_MIN_WIDTH 48
#define LEGEND_MAX_WIDTH 4000
#define LEGEND_MIN_PX 9  /* smallest font size, pixels per em */
#define LEGEND_MAX_PX 48

/* Level l's (1..6) name in lang: "Good" / "良"; "" for another l. */
const char *legend_level_name(int l, int lang);

/* How a legend titles index: its name ("PM2.5"; the index itself when
 * unknown) and unit ("µg/m³"; "" when none).  Static strings. */
void legend_index_label(const char *index, const char **name, const char **unit);

/* Draw the legend of index in mode (enum palette_mode: levels or smooth;
 * KD_EINPUT for an index that colours by a ramp, which has no fixed range)
 * width pixels wide (LEGEND_MIN_WIDTH .. LEGEND_MAX_WIDTH, else KD_EINPUT;
 * with FreeType the text shrinks to fit, KD_EINPUT when even
 * LEGEND_MIN_PX does not).  *rgba (4 * *w * *h bytes, row 0 at the top) is
 * malloc'ed for the caller.  A missing font or glyph: KD_EINPUT naming the
 * package. */
int legend_draw(const char *index, int mode, int lang, int width, unsigned char **rgba, int *w, int *h,
		struct error *e);

/* The same for any palette, levels, smooth or ramp (a ramp's range is part
 * of p: its labels are the values at the six stops). */
int legend_draw_palette(const struct palette *p, int lang, int width, unsigned char **rgba, int *w, int *h,
			struct error *e);

/* The legend legend_embed draws into a map w pixels wide: a fifth of it
 * wide (at least LEGEND_MIN_WIDTH); with FreeType its text at w / 50
 * pixels per em (LEGEND_MIN_PX .. 28), wider than a fifth when the text
 * needs.  Returns and allocates as legend_draw. */
int legend_for_map(const struct palette *p, int lang, int w, unsigned char **img, int *lw, int *lh, struct error *e);

/* Where legend_embed put the legend: corner (static text, e.g.
 * "bottom-right"), the box, and the coloured map pixels now under it. */
struct legend_place {
	const char *corner;
	long hidden;
	int x, y, w, h;
};

/* Draw the legend of p (legend_for_map) into a w x h RGBA map, in place:
 * a small margin from the edges, in the corner that
 * hides the fewest coloured (non-transparent) pixels, trying bottom-right,
 * bottom-left, top-right, top-left in that order on a tie.  The map keeps
 * its size, so its world file and bbox stay true.  KD_EINPUT, the map
 * untouched, when the map is too small to hold the legend or a font is
 * missing; KD_ENOMEM. */
int legend_embed(unsigned char *rgba, int w, int h, const struct palette *p, int lang, struct legend_place *at,
		 struct error *e);

#endif

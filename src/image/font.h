/* font.h - text for the legend: UTF-8 drawn with FreeType in a font found
 * through fontconfig ("DejaVu Sans", Debian fonts-dejavu-core; for Chinese
 * also a face covering zh-cn, e.g. WenQuanYi Zen Hei, fonts-wqy-zenhei).
 * Each character comes from the Latin face when it has the glyph, else
 * from the Chinese one.  A missing font or glyph is an error naming the
 * Debian package to install, never a box or a blank.  Built without
 * FreeType (configure --without-freetype), font_open says so and the legend
 * keeps its bitmap digits. */
#ifndef KD_FONT_H
#define KD_FONT_H

struct error;
struct font;

/* 1 when this build draws text with FreeType. */
int font_available(void);

/* Open the faces for lang (enum legend_lang) at px pixels per em.  *f is
 * the caller's, freed with font_close; on error it is NULL and e names the
 * package: KD_EINPUT (no such font), KD_ENOMEM. */
int font_open(struct font **f, int lang, int px, struct error *e);
void font_close(struct font *f);

/* Change the size of every face to px pixels per em. */
void font_set_size(struct font *f, int px);

/* Pixels above the baseline and from one baseline to the next. */
int font_ascent(const struct font *f);
int font_line_height(const struct font *f);

/* The advance width of utf8 in pixels; KD_EINPUT for a character neither
 * face has (naming it and the package) or bytes that are not UTF-8. */
int font_measure(struct font *f, const char *utf8, int *width, struct error *e);

/* Draw utf8 in rgb onto the opaque w x h RGBA image, its baseline at y,
 * starting at x, blending by the glyphs' coverage; what falls outside the
 * image is clipped.  Errors as font_measure, the image partly drawn. */
int font_draw(struct font *f, unsigned char *rgba, int w, int h, int x, int y, const char *utf8,
	      const unsigned char rgb[3], struct error *e);

#endif

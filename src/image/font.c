/* font.c - see font.h */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "font.h"
#include "legend.h"

#ifdef HAVE_FREETYPE

#include <fontconfig/fontconfig.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#define LATIN_FAMILY "DejaVu Sans"
#define LATIN_PACKAGE "fonts-dejavu-core"
#define ZH_PACKAGE "fonts-wqy-zenhei"

struct font {
	FT_Library lib;
	FT_Face face[2]; /* Latin; Chinese or NULL */
	int nface, lang;
};

int font_available(void)
{
	return 1;
}

/* The file and face index fontconfig matches for pat; NULL when none. */
static char *match_file(FcPattern *pat, int *index, FcChar32 must_have)
{
	FcPattern *m;
	FcResult res;
	FcChar8 *file = NULL;
	FcCharSet *cs = NULL;
	char *out = NULL;

	FcConfigSubstitute(NULL, pat, FcMatchPattern);
	FcDefaultSubstitute(pat);
	m = FcFontMatch(NULL, pat, &res);
	if (!m)
		return NULL;
	if (FcPatternGetString(m, FC_FILE, 0, &file) == FcResultMatch &&
	    (!must_have || (FcPatternGetCharSet(m, FC_CHARSET, 0, &cs) == FcResultMatch && FcCharSetHasChar(cs, must_have)))) {
		if (FcPatternGetInteger(m, FC_INDEX, 0, index) != FcResultMatch)
			*index = 0;
		out = strdup((const char *)file);
	}
	FcPatternDestroy(m);
	return out;
}

/* Find and load one face: Latin (family) or Chinese (lang zh-cn, with 优). */
static int load_face(struct font *f, int zh, int px, struct error *e)
{
	FcPattern *pat = FcPatternCreate();
	char *file = NULL;
	int index = 0;

	if (pat) {
		if (zh) {
			FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)"WenQuanYi Zen Hei");
			FcPatternAddString(pat, FC_LANG, (const FcChar8 *)"zh-cn");
		} else {
			FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)LATIN_FAMILY);
		}
		file = match_file(pat, &index, zh ? 0x4F18 : 'A');
		FcPatternDestroy(pat);
	}
	if (!file)
		return error_set(e, KD_EINPUT, "no %s font found through fontconfig for the legend (Debian: apt-get install %s)",
				 zh ? "Chinese" : "\"" LATIN_FAMILY "\"", zh ? ZH_PACKAGE : LATIN_PACKAGE);
	if (FT_New_Face(f->lib, file, index, &f->face[f->nface]) != 0) {
		error_set(e, KD_EINPUT, "font %s (face %d) does not load with FreeType (Debian: apt-get install --reinstall %s)",
			  file, index, zh ? ZH_PACKAGE : LATIN_PACKAGE);
		free(file);
		return KD_EINPUT;
	}
	free(file);
	FT_Set_Pixel_Sizes(f->face[f->nface], 0, (FT_UInt)px);
	f->nface++;
	return 0;
}

int font_open(struct font **out, int lang, int px, struct error *e)
{
	struct font *f;
	int rc;

	*out = NULL;
	if (!FcInit())
		return error_set(e, KD_EINPUT, "fontconfig does not start (Debian: apt-get install fontconfig %s)",
				 LATIN_PACKAGE);
	if (!(f = calloc(1, sizeof(*f))))
		return error_set(e, KD_ENOMEM, "out of memory");
	f->lang = lang;
	if (FT_Init_FreeType(&f->lib) != 0) {
		free(f);
		return error_set(e, KD_ENOMEM, "FreeType does not start");
	}
	if ((rc = load_face(f, 0, px, e)) == 0 && lang == LEGEND_ZH)
		rc = load_face(f, 1, px, e);
	if (rc < 0) {
		font_close(f);
		return rc;
	}
	*out = f;
	return 0;
}

void font_close(struct font *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nface; i++)
		FT_Done_Face(f->face[i]);
	FT_Done_FreeType(f->lib);
	free(f);
}

void font_set_size(struct font *f, int px)
{
	for (int i = 0; i < f->nface; i++)
		FT_Set_Pixel_Sizes(f->face[i], 0, (FT_UInt)px);
}

int font_ascent(const struct font *f)
{
	long a = 0;

	for (int i = 0; i < f->nface; i++)
		if (f->face[i]->size->metrics.ascender > a)
			a = f->face[i]->size->metrics.ascender;
	return (int)((a + 63) >> 6);
}

int font_line_height(const struct font *f)
{
	long h = 0;

	for (int i = 0; i < f->nface; i++)
		if (f->face[i]->size->metrics.height > h)
			h = f->face[i]->size->metrics.height;
	return (int)((h + 63) >> 6);
}

/* The next code point of *s (advanced), or -1 for bytes that are not UTF-8. */
static long next_cp(const char **s)
{
	const unsigned char *p = (const unsigned char *)*s;
	long cp;
	int n;

	if (p[0] < 0x80)
		cp = p[0], n = 1;
	else if ((p[0] & 0xE0) == 0xC0)
		cp = p[0] & 0x1F, n = 2;
	else if ((p[0] & 0xF0) == 0xE0)
		cp = p[0] & 0x0F, n = 3;
	else if ((p[0] & 0xF8) == 0xF0)
		cp = p[0] & 0x07, n = 4;
	else
		return -1;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	*s += n;
	return cp;
}

/* Load code point cp's glyph, rendered, from the first face that has it. */
static int load_glyph(struct font *f, long cp, FT_Face *face, struct error *e)
{
	for (int i = 0; i < f->nface; i++) {
		FT_UInt gi = FT_Get_Char_Index(f->face[i], (FT_ULong)cp);
		if (gi && FT_Load_Glyph(f->face[i], gi, FT_LOAD_RENDER) == 0) {
			*face = f->face[i];
			return 0;
		}
	}
	return error_set(e, KD_EINPUT, "no glyph for U+%04lX in the legend's font%s (Debian: apt-get install %s)", cp,
			 f->nface > 1 ? "s" : "", cp >= 0x2E80 ? ZH_PACKAGE : LATIN_PACKAGE);
}

/* Measure (img NULL) or draw utf8; *width gets the advance. */
static int run(struct font *f, unsigned char *img, int w, int h, int x, int y, const char *utf8,
	       const unsigned char rgb[3], int *width, struct error *e)
{
	int pen = x;

	while (*utf8) {
		long cp = next_cp(&utf8);
		FT_Face face = NULL;
		int rc;

		if (cp < 0)
			return error_set(e, KD_EINPUT, "legend text is not valid UTF-8");
		if ((rc = load_glyph(f, cp, &face, e)) < 0)
			return rc;
		if (img) {
			FT_GlyphSlot g = face->glyph;
			for (unsigned r = 0; r < g->bitmap.rows; r++)
				for (unsigned c = 0; c < g->bitmap.width; c++) {
					int px = pen + g->bitmap_left + (int)c, py = y - g->bitmap_top + (int)r;
					unsigned a = g->bitmap.buffer[r * (unsigned)g->bitmap.pitch + c];
					unsigned char *d;

					if (px < 0 || py < 0 || px >= w || py >= h || a == 0)
						continue;
					d = img + 4 * ((size_t)py * (size_t)w + (size_t)px);
					for (int k = 0; k < 3; k++)
						d[k] = (unsigned char)((d[k] * (255 - a) + rgb[k] * a + 127) / 255);
				}
		}
		pen += (int)((face->glyph->advance.x + 32) >> 6);
	}
	if (width)
		*width = pen - x;
	return 0;
}

int font_measure(struct font *f, const char *utf8, int *width, struct error *e)
{
	return run(f, NULL, 0, 0, 0, 0, utf8, NULL, width, e);
}

int font_draw(struct font *f, unsigned char *rgba, int w, int h, int x, int y, const char *utf8,
	      const unsigned char rgb[3], struct error *e)
{
	return run(f, rgba, w, h, x, y, utf8, rgb, NULL, e);
}

#else /* !HAVE_FREETYPE */

struct font {
	int unused;
};

int font_available(void)
{
	return 0;
}

int font_open(struct font **f, int lang, int px, struct error *e)
{
	*f = NULL;
	return error_set(e, KD_EINPUT, "this krigd was built without FreeType (configure --with-freetype)");
}

void font_close(struct font *f)
{
	free(f);
}

void font_set_size(struct font *f, int px)
{
}

int font_ascent(const struct font *f)
{
	return 0;
}

int font_line_height(const struct font *f)
{
	return 0;
}

int font_measure(struct font *f, const char *utf8, int *width, struct error *e)
{
	return error_set(e, KD_EINPUT, "this krigd was built without FreeType");
}

int font_draw(struct font *f, unsigned char *rgba, int w, int h, int x, int y, const char *utf8,
	      const unsigned char rgb[3], struct error *e)
{
	return error_set(e, KD_EINPUT, "this krigd was built without FreeType");
}

#endif

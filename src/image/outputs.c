/* outputs.c - see outputs.h */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cog.h"
#include "error.h"
#include "isobands.h"
#include "legend.h"
#include "outfile.h"
#include "outputs.h"
#include "palette.h"
#include "pngout.h"
#include "raster.h"

static int write_png(int dirfd, const char *base, const struct output_frame *f, struct error *e);
static int write_grid(int dirfd, const char *base, const struct output_frame *f, struct error *e);
static int write_variance(int dirfd, const char *base, const struct output_frame *f, struct error *e);
static int write_isobands(int dirfd, const char *base, const struct output_frame *f, struct error *e);
static int write_cog(int dirfd, const char *base, const struct output_frame *f, struct error *e);

const struct output_writer outputs_table[OUTPUT_COUNT] = {
	[OUTPUT_PNG] = { "png", OUTPUT_COLOURED, { ".png", ".pgw", ".png.aux.xml", NULL }, write_png,
			 "\"images\" and \"files\": the coloured map (RGBA, transparent outside), its world file "
			 "and its CRS" },
	[OUTPUT_GRID] = { "grid", OUTPUT_RAW, { ".asc", ".prj", NULL }, write_grid,
			  "\"files\": the values as an Esri ASCII grid (NODATA -9999) and its CRS" },
	[OUTPUT_VARIANCE] = { "variance", OUTPUT_RAW, { ".var.asc", ".var.prj", NULL }, write_variance,
			      "\"files\": the kriging variance as an Esri ASCII grid and its CRS" },
	[OUTPUT_COG] = { "cog", OUTPUT_RAW, { ".tif", NULL }, write_cog,
			 "\"files\": a Cloud-Optimized GeoTIFF of the values (float32, NoData -9999, "
			 "EPSG:4326), the variance as band 2 when variance is an output" },
	[OUTPUT_ISOBANDS] = { "isobands", OUTPUT_COLOURED, { ".geojson", NULL }, write_isobands,
			      "\"files\": a GeoJSON FeatureCollection, one MultiPolygon per colour band" },
};

int outputs_find(const char *name)
{
	for (int k = 0; k < OUTPUT_COUNT; k++)
		if (!strcmp(name, outputs_table[k].name))
			return k;
	return -1;
}

int outputs_available(int kind)
{
	return kind >= 0 && kind < OUTPUT_COUNT && (kind != OUTPUT_COG || cog_available());
}

int outputs_check(int kind, struct error *e)
{
	char known[128] = "";

	for (int k = 0; k < OUTPUT_COUNT; k++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k ? ", " : "",
			 outputs_table[k].name);
	if (kind < 0 || kind >= OUTPUT_COUNT)
		return error_set(e, KD_EINPUT, "not one of %s", known);
	if (!outputs_available(kind))
		return error_set(e, KD_EINPUT, "not available: this krigd is built without GDAL (%s needs it)",
				 outputs_table[kind].name);
	return 0;
}

int outputs_parse_list(const char *list, unsigned *mask, struct error *e)
{
	const char *p = list;

	*mask = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char name[32];
		int k;

		if (n == 0 || n >= sizeof(name))
			return error_set(e, KD_EINPUT, "\"%s\": give names of outputs separated by commas", list);
		memcpy(name, p, n);
		name[n] = '\0';
		k = outputs_find(name);
		if (outputs_check(k, e) < 0)
			return error_prefix(e, "\"%s\" is ", name);
		*mask |= OUTPUT_BIT(k);
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

const char *outputs_suffix(size_t i)
{
	for (int k = 0; k < OUTPUT_COUNT; k++)
		for (int s = 0; s < OUTPUT_SUFFIX_MAX && outputs_table[k].suffix[s]; s++)
			if (i-- == 0)
				return outputs_table[k].suffix[s];
	return NULL;
}

/* 1 when a + s1 == b + s2 for suffixes of the table, with a no longer than b. */
static int clash_ordered(const char *a, size_t al, const char *b, size_t bl)
{
	const char *s1, *s2;

	if (strncmp(a, b, al))
		return 0;
	for (size_t i = 0; (s1 = outputs_suffix(i)); i++)
		for (size_t j = 0; (s2 = outputs_suffix(j)); j++)
			if (al + strlen(s1) == bl + strlen(s2) && !strncmp(s1, b + al, bl - al) &&
			    !strcmp(s1 + (bl - al), s2))
				return 1;
	return 0;
}

int outputs_names_clash(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);

	return al <= bl ? clash_ordered(a, al, b, bl) : clash_ordered(b, bl, a, al);
}

int outputs_base_of(const char *path, char *base, size_t baselen)
{
	const char *name = strrchr(path, '/'), *s, *best = NULL;
	size_t n;

	name = name ? name + 1 : path;
	n = strlen(name);
	for (size_t i = 0; (s = outputs_suffix(i)); i++)
		if (strlen(s) < n && !strcmp(name + n - strlen(s), s) && (!best || strlen(s) > strlen(best)))
			best = s;
	if (!best || n - strlen(best) >= baselen)
		return -1;
	memcpy(base, name, n - strlen(best));
	base[n - strlen(best)] = '\0';
	return 0;
}

int outputs_write_file(int dirfd, const char *name, int (*fn)(FILE *, const void *, struct error *),
		       const void *arg, struct error *e)
{
	struct outfile f;

	if (outfile_open(&f, dirfd, name, e) < 0)
		return e->code;
	errno = 0;
	if (fn(f.fp, arg, e) < 0) {
		outfile_abort(&f); /* keeps the writer's own reason and code */
		return error_prefix(e, "writing %s: ", name);
	}
	if (ferror(f.fp)) {
		int err = errno ? errno : EIO;
		outfile_abort(&f);
		return error_set(e, KD_EIO, "writing %s: %s", name, strerror(err));
	}
	return outfile_commit(&f, e);
}

struct bytes_arg {
	const void *data;
	size_t len;
};

static int put_bytes(FILE *fp, const void *arg, struct error *e)
{
	const struct bytes_arg *b = arg;

	if (b->len && fwrite(b->data, 1, b->len, fp) != b->len)
		return error_set(e, KD_EIO, "%s", strerror(errno ? errno : EIO));
	return 0;
}

int outputs_write_bytes(int dirfd, const char *name, const void *data, size_t len, struct error *e)
{
	struct bytes_arg b = { data, len };

	return outputs_write_file(dirfd, name, put_bytes, &b, e);
}

/* The stdio writers below fail only as the stream does: errno says why. */
static int stdio_failed(struct error *e)
{
	return error_set(e, KD_EIO, "%s", strerror(errno ? errno : EIO));
}

struct asc_arg {
	const struct grid *g;
	const double *values;
};

static int put_asc(FILE *fp, const void *arg, struct error *e)
{
	const struct asc_arg *a = arg;
	return raster_write_asc(fp, a->g, a->values) < 0 ? stdio_failed(e) : 0;
}

static int put_pgw(FILE *fp, const void *arg, struct error *e)
{
	return raster_write_pgw(fp, arg) < 0 ? stdio_failed(e) : 0;
}

static int put_prj(FILE *fp, const void *arg, struct error *e)
{
	(void)arg;
	return raster_write_prj(fp) < 0 ? stdio_failed(e) : 0;
}

/* GDAL's PAM sidecar: the PNG's CRS (a .pgw carries none). */
static int put_aux(FILE *fp, const void *arg, struct error *e)
{
	(void)arg;
	fputs("<PAMDataset>\n  <SRS dataAxisToSRSAxisMapping=\"2,1\">" RASTER_WGS84_WKT "</SRS>\n</PAMDataset>\n", fp);
	return ferror(fp) ? stdio_failed(e) : 0;
}

struct png_arg {
	const unsigned char *rgba;
	int w, h;
};

static int put_png(FILE *fp, const void *arg, struct error *e)
{
	const struct png_arg *a = arg;
	return pngout_write(fp, a->rgba, a->w, a->h, e);
}

/* base + suffix into name; KD_EINPUT when it does not fit. */
static int name_of(char *name, size_t len, const char *base, const char *suffix, struct error *e)
{
	if ((size_t)snprintf(name, len, "%s%s", base, suffix) >= len)
		return error_set(e, KD_EINPUT, "file name %s%s is too long", base, suffix);
	return 0;
}

static int write_asc_prj(int dirfd, const char *base, const struct output_frame *f, const double *values,
			 int kind, struct error *e)
{
	struct asc_arg aa = { f->g, values };
	char name[NAME_MAX + 1];
	int rc;

	if (!values)
		return error_set(e, KD_EINTERNAL, "no %s grid to write", outputs_table[kind].name);
	if ((rc = name_of(name, sizeof(name), base, outputs_table[kind].suffix[0], e)) < 0 ||
	    (rc = outputs_write_file(dirfd, name, put_asc, &aa, e)) < 0)
		return rc;
	if ((rc = name_of(name, sizeof(name), base, outputs_table[kind].suffix[1], e)) < 0)
		return rc;
	return outputs_write_file(dirfd, name, put_prj, NULL, e);
}

static int write_grid(int dirfd, const char *base, const struct output_frame *f, struct error *e)
{
	return write_asc_prj(dirfd, base, f, f->value, OUTPUT_GRID, e);
}

static int write_variance(int dirfd, const char *base, const struct output_frame *f, struct error *e)
{
	return write_asc_prj(dirfd, base, f, f->variance, OUTPUT_VARIANCE, e);
}

static struct json_object *box_json(int x, int y, int w, int h)
{
	struct json_object *a = json_object_new_array();

	json_object_array_add(a, json_object_new_int(x));
	json_object_array_add(a, json_object_new_int(y));
	json_object_array_add(a, json_object_new_int(w));
	json_object_array_add(a, json_object_new_int(h));
	return a;
}

/* Colour the values (and embed the legend when asked: f->fo says where),
 * then write .png, .pgw and .png.aux.xml. */
static int write_png(int dirfd, const char *base, const struct output_frame *f, struct error *e)
{
	const struct grid *g = f->g;
	const char *const *sfx = outputs_table[OUTPUT_PNG].suffix;
	struct png_arg pa;
	unsigned char *rgba;
	char name[NAME_MAX + 1];
	int rc;

	if (!(rgba = malloc((size_t)g->width * (size_t)g->height * 4)))
		return error_set(e, KD_ENOMEM, "out of memory for a %dx%d image", g->width, g->height);
	palette_fill(f->pal, f->value, (size_t)g->width * (size_t)g->height, rgba);
	if (f->legend) {
		struct legend_place at;

		if ((rc = legend_embed(rgba, g->width, g->height, f->pal, f->lang, &at, e)) < 0) {
			free(rgba);
			return rc;
		}
		struct json_object *leg = json_object_new_object();
		json_object_object_add(leg, "corner", json_object_new_string(at.corner));
		json_object_object_add(leg, "hidden_pixels", json_object_new_int64(at.hidden));
		json_object_object_add(leg, "box", box_json(at.x, at.y, at.w, at.h));
		json_object_object_add(f->fo, "legend", leg);
	}
	pa.rgba = rgba;
	pa.w = g->width;
	pa.h = g->height;
	rc = name_of(name, sizeof(name), base, sfx[0], e);
	if (rc == 0)
		rc = outputs_write_file(dirfd, name, put_png, &pa, e);
	free(rgba);
	if (rc < 0 || (rc = name_of(name, sizeof(name), base, sfx[1], e)) < 0 ||
	    (rc = outputs_write_file(dirfd, name, put_pgw, g, e)) < 0 ||
	    (rc = name_of(name, sizeof(name), base, sfx[2], e)) < 0)
		return rc;
	return outputs_write_file(dirfd, name, put_aux, NULL, e);
}

static int write_cog(int dirfd, const char *base, const struct output_frame *f, struct error *e)
{
	char name[NAME_MAX + 1];
	const double *var = (f->mask & OUTPUT_BIT(OUTPUT_VARIANCE)) ? f->variance : NULL;
	int rc;

	if ((rc = name_of(name, sizeof(name), base, outputs_table[OUTPUT_COG].suffix[0], e)) < 0)
		return rc;
	return cog_write(dirfd, name, f->g, f->value, var, e);
}

static int put_isobands(FILE *fp, const void *arg, struct error *e)
{
	const struct output_frame *f = arg;
	return isobands_write(fp, f->g, f->value, f->pal, e);
}

static int write_isobands(int dirfd, const char *base, const struct output_frame *f, struct error *e)
{
	char name[NAME_MAX + 1];
	int rc;

	if ((rc = name_of(name, sizeof(name), base, outputs_table[OUTPUT_ISOBANDS].suffix[0], e)) < 0)
		return rc;
	return outputs_write_file(dirfd, name, put_isobands, f, e);
}

int outputs_write(int dirfd, const char *dir, const char *base, const struct output_frame *f,
		  enum output_phase phase, struct json_object *files, struct error *e)
{
	char rel[NAME_MAX + 512];
	int rc;

	for (int k = 0; k < OUTPUT_COUNT; k++) {
		const struct output_writer *w = &outputs_table[k];

		if (!(f->mask & OUTPUT_BIT(k)) || w->phase != phase)
			continue;
		if ((rc = w->write(dirfd, base, f, e)) < 0)
			return rc;
		if (files) {
			snprintf(rel, sizeof(rel), "%s/%s%s", dir, base, w->suffix[0]);
			json_object_object_add(files, w->name, json_object_new_string(rel));
		}
	}
	return 0;
}

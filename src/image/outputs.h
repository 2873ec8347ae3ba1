/* outputs.h - THE table of a frame's output files (docs/DESIGN.md "Outputs").
 *
 * One row per output a job may ask for ("outputs": ["png", "grid", ...]):
 * its name, the files it writes (the first is the one the result announces
 * in "files"; the others are sidecars beside it), its writer, and what the
 * result says of it.  Render, the result JSON, `krigd purge` and the docs
 * all read this table, so a new format is one row here and its writer. */
#ifndef KD_OUTPUTS_H
#define KD_OUTPUTS_H

#include <stddef.h>
#include <stdio.h>

struct error;
struct grid;
struct palette;
struct json_object;

enum output_kind {
	OUTPUT_PNG,      /* <base>.png, .pgw, .png.aux.xml */
	OUTPUT_GRID,     /* <base>.asc, .prj */
	OUTPUT_VARIANCE, /* <base>.var.asc, .var.prj */
	OUTPUT_COG,      /* <base>.tif (a build with GDAL) */
	OUTPUT_ISOBANDS, /* <base>.geojson */
	OUTPUT_COUNT
};

#define OUTPUT_BIT(k) (1u << (k))
#define OUTPUT_SUFFIX_MAX 4

/* When a writer can run: RAW needs the frame's values (and variance) only;
 * COLOURED needs the palette with its final range (a ramp spanning every
 * frame is known only after all are kriged). */
enum output_phase { OUTPUT_RAW, OUTPUT_COLOURED };

/* What a writer is given for one frame; everything is borrowed. */
struct output_frame {
	const struct grid *g;
	const double *value;       /* width*height, row 0 north, NaN outside */
	const double *variance;    /* the same shape, or NULL when not kriged */
	const struct palette *pal; /* with its final range in the COLOURED phase */
	unsigned mask;             /* every output of the job (OUTPUT_BIT) */
	int legend, lang;          /* png: embed the legend, in this language */
	struct json_object *fo;    /* the frame's result object: a writer may add to it */
};

struct output_writer {
	const char *name;                        /* the trigger's and --outputs' name */
	enum output_phase phase;
	const char *suffix[OUTPUT_SUFFIX_MAX];   /* [0] announced; NULL-terminated */
	/* Write every file of the row for base in dirfd, each through the
	 * temp/fsync/rename writer (outputs_write_file): a reader never sees
	 * half a file.  The caller fsyncs the directory afterwards. */
	int (*write)(int dirfd, const char *base, const struct output_frame *f, struct error *e);
	const char *announces;                   /* docs: what the result says of it */
};

extern const struct output_writer outputs_table[OUTPUT_COUNT];

/* The default set when a job and the command say nothing: the PNG. */
#define OUTPUTS_DEFAULT OUTPUT_BIT(OUTPUT_PNG)

/* The kind called name, or -1.  KD_EINPUT from outputs_parse_list names
 * the unknown entry and lists the known ones; cog in a build without GDAL
 * is refused the same way ("this krigd is built without GDAL"). */
int outputs_find(const char *name);
int outputs_check(int kind, struct error *e);

/* A comma-separated list ("png,cog") into *mask (OUTPUT_BIT set); empty
 * entries and unknown names are KD_EINPUT. */
int outputs_parse_list(const char *list, unsigned *mask, struct error *e);

/* 1 when the build can write kind (cog needs GDAL). */
int outputs_available(int kind);

/* Every file name suffix any row writes, i = 0, 1, ... until NULL: what
 * `purge` removes beside a frame's base name. */
const char *outputs_suffix(size_t i);

/* 1 when frames named a and b would write one file name: a + s1 == b + s2
 * for some suffixes s1, s2 of the table ("B" writes B.var.asc, frame
 * "B.var" writes B.var.asc too). */
int outputs_names_clash(const char *a, const char *b);

/* The base name of path's last component when it ends in a suffix of
 * the table (the longest that matches), copied into base; 0, or -1 when
 * no suffix matches or it does not fit. */
int outputs_base_of(const char *path, char *base, size_t baselen);

/* Write name in dirfd atomically (temporary name, fsync, rename): fn
 * fills the stream and returns 0 or a KD_E* code with e set.  Any stdio
 * error is KD_EIO naming the file; nothing is left on error. */
int outputs_write_file(int dirfd, const char *name, int (*fn)(FILE *, const void *, struct error *),
		       const void *arg, struct error *e);

/* The same for bytes already in memory (a GeoTIFF built in /vsimem/). */
int outputs_write_bytes(int dirfd, const char *name, const void *data, size_t len, struct error *e);

/* Run the writers of mask in phase for one frame; files (may be NULL)
 * gets {output: dir/base+suffix[0]} for each one written. */
int outputs_write(int dirfd, const char *dir, const char *base, const struct output_frame *f,
		  enum output_phase phase, struct json_object *files, struct error *e);

#endif

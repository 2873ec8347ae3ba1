/* trigger.h - parse and validate a trigger (docs/DESIGN.md "Trigger datagram").
 *
 * The listener calls trigger_parse() on every datagram and enqueues only
 * what it accepts; `krigd render` calls it on a job file; the drain calls it
 * again on jobs.payload.  Parsing is strict: json-c's strict mode (no NaN
 * literals), UTF-8 validated, depth and sizes capped by trigger_limits. */
#ifndef KD_TRIGGER_H
#define KD_TRIGGER_H

#define TRIGGER_REQ_MAX 1024 /* bytes of "req", the client's tag echoed in the reply */
#define TRIGGER_PRIORITY_MIN (-100) /* "priority" range */
#define TRIGGER_PRIORITY_MAX 100
#define TRIGGER_ATTEMPTS_MAX 20      /* "max_attempts" is 1 .. this */

#include <stddef.h>

struct json_object;
struct error;

enum trigger_kind {
	TRIGGER_PING,   /* text that is not JSON: the seed's ping, one scan job */
	TRIGGER_SOURCE, /* {"source_id": N} */
	TRIGGER_INLINE, /* {"index":..,"boundary":..,"frames":[..]} */
};

enum trigger_method { METHOD_ORDINARY, METHOD_KRIGINGJS };

struct trigger_limits {
	size_t max_bytes;  /* datagram / file size, default 192 KiB */
	int max_depth;     /* JSON nesting, default 32 */
	size_t max_frames; /* frames per job, default 1000 */
	size_t max_points; /* points per frame, default 10000 */
	int max_width;     /* pixels across, default 8000 */
};

void trigger_limits_default(struct trigger_limits *lim);

/* One frame: a pubtime and its points.  A value or coordinate that is JSON
 * null is kept as NaN (the kriging step drops and counts it). */
struct frame {
	char *pubtime;
	size_t n;
	double *lon, *lat, *val;
};

struct frame_set {
	size_t n;
	struct frame *frame;
};

/* Parse a frames array ([{"pubtime":..,"points"|"time_data":[{"longitude",
 * "latitude","value_air"}]}]) into fs, within lim.  Also used for the
 * source's ret_data.  KD_EINPUT (message names the frame and point) or
 * KD_ELIMIT; on error fs is left empty. */
int frames_from_json(struct frame_set *fs, struct json_object *arr, const struct trigger_limits *lim,
		     struct error *e);
void frames_release(struct frame_set *fs);

struct trigger {
	enum trigger_kind kind;
	struct json_object *root; /* parsed object (NULL for a ping); owned */

	long long source_id;      /* TRIGGER_SOURCE */
	const char *index;        /* TRIGGER_INLINE: borrowed from root, or a static
				   * canonical name ("PM2.5" is "pm25") */
	struct json_object *boundary; /* inline GeoJSON / ring list, borrowed; NULL if named or absent */
	const char *boundary_name;    /* "boundary": "nanshan", borrowed; validated [A-Za-z0-9_-] */
	struct frame_set frames;      /* TRIGGER_INLINE, owned */

	/* optional on either kind; strings borrowed from root, NULL if absent */
	const char *req, *callback, *key;
	int priority, max_attempts, width;
	int grid, variance;                /* "grid"/"variance": true, or named in "outputs" */
	int has_outputs;                   /* "outputs" given */
	unsigned outputs;                  /* OUTPUT_BIT (outputs.h) of the names in "outputs" */
	int legend;                        /* -1 unset (the renderer's default), 0 or 1 */
	int colors;                        /* enum palette_mode; 0 unset (the renderer's default) */
	int has_range;                     /* "range": [min, max] given, min < max, both finite */
	double range[2];
	int has_model;
	int model;                         /* enum vgm_model when has_model */
	int model_auto;                    /* "model": "auto" said (the default for ordinary kriging) */
	double kappa;                      /* matern: "kappa" or variogram.kappa; 0 absent */
	struct json_object *variogram;     /* borrowed, validated; NULL when fitting */
	enum trigger_method method;
	double sigma2, alpha;              /* kriging.js parameters (0, 100) */
	/* gstat's local neighbourhood (ordinary kriging only): 0 / INFINITY
	 * when absent (the renderer's --nmax / --maxdist rules apply) */
	long nmax;                         /* 1 .. limits.max_points */
	double maxdist;                    /* metres, (0, TRIGGER_MAXDIST_MAX] */
	int cv;                            /* -1 absent (on), 0 or 1: leave-one-out cross-validation */
};

#define TRIGGER_MAXDIST_MAX 2e7 /* metres: half the Earth's circumference */

/* Parse buf[0..len) into t.  A ping yields kind TRIGGER_PING.  Errors
 * (KD_EINPUT / KD_ELIMIT) say what is wrong: "not valid UTF-8", "empty
 * datagram", "frames[2].points[7].longitude: expected a number", ...
 * On error t is released; t->req is kept when it could be read, so the
 * error reply can echo it (use trigger_req_of for that). */
int trigger_parse(struct trigger *t, const char *buf, size_t len, const struct trigger_limits *lim,
		  struct error *e);

/* The part of buf[0..len) a trigger is read from, [*start, *end): without
 * a leading UTF-8 byte order mark and white space at either end (space,
 * \t, \n, \r, \f, \v).  Shared with `krigd submit`, so both judge
 * "is it JSON" alike. */
void trigger_trim(const char *buf, size_t len, size_t *start, size_t *end);

/* 1 when s may be a file name component: [A-Za-z0-9_-], 1..max bytes.
 * The rule for "index", boundary names and a source row's map_index. */
int trigger_name_ok(const char *s, size_t max);

/* Best effort: the "req" string of a datagram even when it failed to parse
 * as a trigger, copied into out (empty if none, or if it is not valid UTF-8
 * or does not fit: an echo that is not the client's tag is worse than none). */
void trigger_req_of(const char *buf, size_t len, char *out, size_t outlen);

void trigger_release(struct trigger *t);

#endif

/* legend_json.h - a palette's legend as JSON, for a web page to draw its
 * own (`krigd legend --json`):
 *   {"index", "title", "unit", "colors",
 *    "levels": [{"level", "min", "max", "color", "name", "name_zh"}]}
 * min of level 1 is 0, max of level 6 null; a level covers (min, max].
 * A ramp has "stops": [{"t", "color"}] (t: 0 at the range's min, 1 at its
 * max; eleven stops, linear in between) and "range": [min, max] or null
 * instead of "levels".  Colours are "#rrggbb". */
#ifndef KD_LEGEND_JSON_H
#define KD_LEGEND_JSON_H

struct json_object;
struct palette;

/* A new object the caller owns (json_object_put); NULL when out of memory. */
struct json_object *legend_json(const struct palette *p);

#endif

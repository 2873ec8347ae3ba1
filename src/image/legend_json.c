/* legend_json.c - see legend_json.h */
#include "config.h"

#include <math.h>
#include <stdio.h>

#include <json-c/json.h>

#include "legend.h"
#include "legend_json.h"
#include "palette.h"

static struct json_object *colour(const unsigned char rgb[3])
{
	char hex[8];

	snprintf(hex, sizeof(hex), "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
	return json_object_new_string(hex);
}

static struct json_object *levels_json(const struct palette *p)
{
	struct json_object *a = json_object_new_array();

	for (int l = 1; l <= PALETTE_LEVELS; l++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "level", json_object_new_int(l));
		json_object_object_add(o, "min", json_object_new_double(l == 1 ? 0 : p->bound[l - 2]));
		json_object_object_add(o, "max", l == PALETTE_LEVELS ? NULL : json_object_new_double(p->bound[l - 1]));
		json_object_object_add(o, "color", colour(palette_colours[l - 1]));
		json_object_object_add(o, "name", json_object_new_string(legend_level_name(l, LEGEND_EN)));
		json_object_object_add(o, "name_zh", json_object_new_string(legend_level_name(l, LEGEND_ZH)));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *stops_json(void)
{
	struct json_object *a = json_object_new_array();

	for (int k = 0; k <= 10; k++) {
		struct json_object *o = json_object_new_object();
		int i = (int)lrint(k * (PALETTE_RAMP_STOPS - 1) / 10.0);

		json_object_object_add(o, "t", json_object_new_double(k / 10.0));
		json_object_object_add(o, "color", colour(palette_viridis[i]));
		json_object_array_add(a, o);
	}
	return a;
}

struct json_object *legend_json(const struct palette *p)
{
	struct json_object *o = json_object_new_object();
	const char *name, *unit;
	char title[96];

	if (!o)
		return NULL;
	legend_index_label(p->index, &name, &unit);
	snprintf(title, sizeof(title), "%s%s%s", name, *unit ? " " : "", unit);
	json_object_object_add(o, "index", json_object_new_string(p->index));
	json_object_object_add(o, "title", json_object_new_string(title));
	json_object_object_add(o, "unit", json_object_new_string(unit));
	json_object_object_add(o, "colors", json_object_new_string(palette_mode_name(p->mode)));
	if (p->mode != PALETTE_MODE_RAMP) {
		json_object_object_add(o, "levels", levels_json(p));
	} else {
		struct json_object *r = NULL;

		if (p->vmax > p->vmin && isfinite(p->vmax - p->vmin)) {
			r = json_object_new_array();
			json_object_array_add(r, json_object_new_double(p->vmin));
			json_object_array_add(r, json_object_new_double(p->vmax));
		}
		json_object_object_add(o, "range", r);
		json_object_object_add(o, "stops", stops_json());
	}
	return o;
}

/* vgm_pick.c - see vgm_pick.h. */
#include "config.h"

#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "vgm_pick.h"

static double num(struct json_object *o, const char *key)
{
	return json_object_get_double(json_object_object_get(o, key));
}

/* [{"model", "kappa" (matern), "sse" (null: not fitted), "note"?}, ...] */
static struct json_object *candidates_json(const struct fit_info *fi)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < fi->ncand; i++) {
		const struct fit_cand *c = &fi->cand[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "model", json_object_new_string(vgm_model_name(c->model)));
		if (c->model == VGM_MATERN)
			json_object_object_add(o, "kappa", json_object_new_double(c->kappa));
		json_object_object_add(o, "sse", c->fitted ? json_object_new_double(c->sse) : NULL);
		if (!c->fitted && c->why)
			json_object_object_add(o, "note", json_object_new_string(c->why));
		json_object_array_add(a, o);
	}
	return a;
}

static struct json_object *variogram_json(const struct variogram *v, const struct fit_info *fi, int given)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "model", json_object_new_string(vgm_model_name(v->model)));
	if (v->model == VGM_MATERN)
		json_object_object_add(o, "kappa", json_object_new_double(v->kappa));
	json_object_object_add(o, "nugget", json_object_new_double(v->nugget));
	json_object_object_add(o, "psill", json_object_new_double(v->psill));
	json_object_object_add(o, "range", json_object_new_double(v->range));
	json_object_object_add(o, "source", json_object_new_string(given ? "given" : fi->fitted ? "fitted" : "fallback"));
	if (!given && fi->note[0])
		json_object_object_add(o, "note", json_object_new_string(fi->note));
	if (!given && fi->ncand)
		json_object_object_add(o, "candidates", candidates_json(fi));
	return o;
}

int vgm_pick(const struct trigger *t, const struct stations *st, int (*cancelled)(void *ctx), void *ctx,
	     struct variogram *v, struct fit_info *fi, int *given, struct json_object **json, struct error *e)
{
	int rc;

	*json = NULL;
	memset(fi, 0, sizeof(*fi));
	*given = t->variogram != NULL;
	if (*given) {
		*v = (struct variogram){ (enum vgm_model)t->model, num(t->variogram, "nugget"),
					 num(t->variogram, "psill"), num(t->variogram, "range"),
					 t->model == VGM_MATERN ? num(t->variogram, "kappa") : 0.0 };
	} else if (!t->has_model || (t->model == VGM_MATERN && !t->kappa)) {
		/* no model, "auto", or matern without its kappa: the choice */
		if ((rc = krige_fit_auto_until(st, t->has_model, v, fi, cancelled, ctx, e)) < 0)
			return rc;
	} else if ((rc = krige_fit_until(st, (enum vgm_model)t->model, t->kappa, v, fi, cancelled, ctx, e)) < 0) {
		return rc;
	}
	if (!(*json = variogram_json(v, fi, *given)))
		return error_set(e, KD_ENOMEM, "out of memory for the result's variogram");
	return 0;
}

/* vgm_pick.h - a frame's variogram for ordinary kriging, and how the job's
 * result describes it (docs/DESIGN.md "Variogram").  Internal to the
 * renderer; kept apart from render.c, which draws. */
#ifndef KD_VGM_PICK_H
#define KD_VGM_PICK_H

#include "krige.h"
#include "trigger.h"

struct json_object;
struct error;

/* The trigger's "variogram" when it gives one, else the fit of its
 * "model" to st: krige_fit for a named model (matern with its kappa),
 * krige_fit_auto without a model, with "auto", and for matern without a
 * kappa (its kappas only).  *json (owned by the caller) gets the result's
 * "variogram" object: model, nugget, psill, range, kappa for matern,
 * source given / fitted / fallback, the note of a fallback, and after an
 * automatic choice "candidates": [{model, kappa, sse, note?}, ...].
 * cancelled(ctx) (may be NULL) is asked during the fit (KD_ECANCEL).  *given
 * says whose it was.  Errors as krige_fit's (KD_EINPUT, KD_ENOMEM); *json
 * is NULL then. */
int vgm_pick(const struct trigger *t, const struct stations *st, int (*cancelled)(void *ctx), void *ctx,
	     struct variogram *v, struct fit_info *fi, int *given, struct json_object **json, struct error *e);

#endif

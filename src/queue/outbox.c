/* outbox.c - see outbox.h */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "callback.h"
#include "error.h"
#include "outbox.h"
#include "queue.h"

/* The queue calls this inside the transaction that ends a job: the outbox
 * row is committed with the state, or not at all. */
int outbox_notify(void *ctx, const struct queue_outcome *oc, char **url, char **body, struct error *e)
{
	const struct outbox_ctx *ob = ctx;
	const char *cb = ob ? ob->default_url : NULL;
	struct json_object *payload = NULL, *result = NULL, *v;
	struct callback_event ev;
	size_t len;
	int rc;

	*url = *body = NULL;
	if (strcmp(oc->job->kind, "render") != 0)
		return 0; /* scans are internal */
	if (oc->job->payload) {
		payload = json_tokener_parse(oc->job->payload);
		if (payload && json_object_object_get_ex(payload, "callback", &v) &&
		    json_object_is_type(v, json_type_string))
			cb = json_object_get_string(v);
	}
	if (!cb) {
		json_object_put(payload);
		return 0;
	}
	if (oc->result)
		result = json_tokener_parse(oc->result);
	memset(&ev, 0, sizeof(ev));
	ev.job = oc->job->id;
	ev.state = oc->state;
	ev.source_id = oc->job->source_id;
	ev.images = result ? json_object_object_get(result, "images") : NULL;
	ev.bbox = result ? json_object_object_get(result, "bbox") : NULL;
	ev.cv = result ? json_object_object_get(result, "cv") : NULL;
	ev.error = oc->error;
	ev.attempts = oc->attempts;
	rc = callback_body(&ev, body, &len, e);
	if (rc == 0 && len > (ob && ob->max_body ? ob->max_body : OUTBOX_MAX_BODY)) {
		/* Never fail the job's transition for its callback: send what the
		 * receiver needs to look the job up, and say why the rest is missing. */
		size_t max = ob && ob->max_body ? ob->max_body : OUTBOX_MAX_BODY;
		char why[ERROR_MSG_MAX + 160];

		snprintf(why, sizeof(why), "%s%scallback body of %zu bytes is over the limit of %zu; images and cv left "
			 "out (krigd show %lld has them)", oc->error ? oc->error : "", oc->error ? "; " : "", len, max,
			 oc->job->id);
		free(*body);
		*body = NULL;
		ev.images = NULL;
		ev.cv = NULL;
		ev.error = why;
		rc = callback_body(&ev, body, &len, e);
	}
	if (rc == 0 && !(*url = strdup(cb)))
		rc = error_set(e, KD_ENOMEM, "out of memory");
	json_object_put(result);
	json_object_put(payload);
	return rc;
}


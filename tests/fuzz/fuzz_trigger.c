/* fuzz_trigger.c - the listener's parser: any bytes a socket can carry. */
#include "config.h"

#include <string.h>

#include "error.h"
#include "fuzz.h"
#include "trigger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trigger_limits lim;
	struct trigger t;
	struct error e;
	char req[64];

	trigger_limits_default(&lim);
	lim.max_points = 200; /* keep each run fast; the caps themselves are tested elsewhere */
	if (trigger_parse(&t, (const char *)data, size, &lim, &e) == 0) {
		/* What the drain relies on after a successful parse. */
		if (t.kind == TRIGGER_INLINE && (t.frames.n == 0 || !t.index))
			__builtin_trap();
		trigger_release(&t);
	} else if (t.root || t.frames.n) {
		__builtin_trap(); /* an error must leave nothing behind */
	}
	trigger_req_of((const char *)data, size, req, sizeof(req));
	if (strlen(req) >= sizeof(req))
		__builtin_trap();
	return 0;
}

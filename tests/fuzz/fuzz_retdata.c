/* fuzz_retdata.c - a source row's ret_data, as the SQLite, HTTP and MySQL
 * sources hand it over: JSON text, then the frames parser. */
#include "config.h"

#include <json-c/json.h>

#include "error.h"
#include "fuzz.h"
#include "source_impl.h"
#include "trigger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct source s = { 0 };
	struct json_object *v = NULL, *arr = NULL;
	struct frame_set fs;
	struct error e;

	source_opts_default(&s.opts);
	s.opts.lim.max_points = 200;
	if (source_parse_json(&s, (const char *)data, size, "fuzz", &v, &e) == 0) {
		if (source_ret_data_array(&s, 1, v, &arr, &e) == 0) {
			if (frames_from_json(&fs, arr, &s.opts.lim, &e) == 0)
				frames_release(&fs);
			else if (fs.n)
				__builtin_trap();
			json_object_put(arr);
		}
		json_object_put(v);
	}
	return 0;
}

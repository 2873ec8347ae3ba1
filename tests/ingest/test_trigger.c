/* test_trigger.c - the trigger parser: pings, JSON jobs, every rejection. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"
#include "json_strict.h"
#include "krige.h"
#include "tap.h"
#include "trigger.h"

static struct trigger_limits lim;

/* Parse s; return the code, and the message in e. */
static int parse(struct trigger *t, const char *s, size_t len, struct error *e)
{
	error_clear(e);
	return trigger_parse(t, s, len, &lim, e);
}

static void expect_error(const char *what, const char *s, size_t len, int code, const char *needle)
{
	struct trigger t;
	struct error e;
	int rc = parse(&t, s, len, &e);

	tap_ok(rc == code && strstr(e.msg, needle) != NULL, "%s: %s (got %d \"%s\")", what, needle, rc, e.msg);
	tap_ok(t.root == NULL && t.frames.n == 0, "%s: nothing kept after the error", what);
}

#define S(lit) lit, sizeof(lit) - 1

int main(void)
{
	struct trigger t;
	struct error e;
	char req[64];

	trigger_limits_default(&lim);

	tap_ok(parse(&t, S("hello server2018-01-04 11:16:00/opt/app"), &e) == 0 && t.kind == TRIGGER_PING,
	       "the seed's text is a ping");
	trigger_release(&t);
	tap_ok(parse(&t, S("  \n\tping"), &e) == 0 && t.kind == TRIGGER_PING, "leading white space skipped");
	trigger_release(&t);
	tap_ok(parse(&t, S("NaN"), &e) == 0 && t.kind == TRIGGER_PING, "capital N is not JSON: a ping");
	trigger_release(&t);

	expect_error("empty", "", 0, KD_EINPUT, "empty datagram");
	expect_error("blank", S(" \n "), KD_EINPUT, "empty datagram");
	expect_error("non-UTF-8", S("hello \xff\xfe"), KD_EINPUT, "not valid UTF-8");
	expect_error("overlong UTF-8", S("x\xc0\xaf"), KD_EINPUT, "not valid UTF-8");
	expect_error("surrogate", S("x\xed\xa0\x80"), KD_EINPUT, "not valid UTF-8");
	expect_error("truncated UTF-8", S("x\xe4\xb8"), KD_EINPUT, "not valid UTF-8");
	expect_error("NUL byte", "a\0b", 3, KD_EINPUT, "not valid UTF-8");
	expect_error("malformed", S("{\"source_id\": 4"), KD_EINPUT, "malformed JSON");
	expect_error("trailing text", S("{\"source_id\": 4} x"), KD_EINPUT, "malformed JSON at byte 17: text after the value");
	expect_error("NaN literal", S("{\"source_id\": NaN}"), KD_EINPUT, "malformed JSON");
	expect_error("single quotes", S("{'source_id': 4}"), KD_EINPUT, "malformed JSON");
	expect_error("not an object", S("[1, 2]"), KD_EINPUT, "must be a JSON object");
	expect_error("a bare number", S("42"), KD_EINPUT, "must be a JSON object");
	expect_error("Infinity", S("{\"source_id\": -Infinity}"), KD_EINPUT, "malformed JSON");
	/* issue 20: a ping meant as text, read as JSON, says which rule and how to ping */
	expect_error("text starting with n", S("new data ready"), KD_EINPUT, "malformed JSON at byte 0: ");
	expect_error("... the rule", S("new data ready"), KD_EINPUT, "starts with {, [, \", -, a digit, t, f or n is read as JSON");
	expect_error("... how to ping", S("true story"), KD_EINPUT, "any other text is a ping, one scan job: send e.g. \"ping\"");
	expect_error("text starting with a digit", S("2024-03-01 data"), KD_EINPUT, "is read as JSON");
	expect_error("a bare number says it too", S("42"), KD_EINPUT, "must be a JSON object (text that starts with");
	tap_ok(parse(&t, S("{\"source_id\": 4"), &e) == KD_EINPUT && !strstr(e.msg, "ping"),
	       "an object's error does not speak of pings (%s)", e.msg);
	expect_error("control character", S("{\"req\": \"a\tb\", \"source_id\": 1}"), KD_EINPUT, "control character");
	expect_error("wrong type", S("{\"source_id\": \"42\"}"), KD_EINPUT, "\"source_id\": expected an integer");
	expect_error("zero id", S("{\"source_id\": 0}"), KD_EINPUT, "\"source_id\": must be between");
	expect_error("unknown field", S("{\"source_id\": 1, \"colour\": 1}"), KD_EINPUT, "unknown field \"colour\"");
	expect_error("both kinds", S("{\"source_id\": 1, \"index\": \"pm25\"}"), KD_EINPUT, "not both");
	expect_error("no kind", S("{\"req\": \"x\"}"), KD_EINPUT, "needs \"source_id\"");
	expect_error("bad callback", S("{\"source_id\": 1, \"callback\": \"file:///etc/passwd\"}"), KD_EINPUT,
		     "only http:// and https://");
	expect_error("bad index", S("{\"index\": \"../x\", \"frames\": []}"), KD_EINPUT, "\"index\": use letters");
	expect_error("empty frames", S("{\"index\": \"pm25\", \"frames\": []}"), KD_EINPUT, "at least one frame");
	expect_error("empty frame", S("{\"index\": \"pm25\", \"frames\": [{\"pubtime\": \"t\", \"points\": []}]}"),
		     KD_EINPUT, "frames[0] (t) has no points");
	expect_error("missing latitude",
		     S("{\"index\":\"pm25\",\"frames\":[{\"pubtime\":\"t\",\"points\":[{\"longitude\":1,\"value_air\":2}]}]}"),
		     KD_EINPUT, "frames[0].points[0]: missing \"latitude\"");
	expect_error("string coordinate that is not a number",
		     S("{\"index\":\"pm25\",\"frames\":[{\"pubtime\":\"t\",\"points\":[{\"longitude\":\"east\",\"latitude\":1,\"value_air\":2}]}]}"),
		     KD_EINPUT, "frames[0].points[0].longitude: expected a number");
	expect_error("repeated pubtime",
		     S("{\"index\":\"pm25\",\"frames\":[{\"pubtime\":\"t\",\"points\":[{\"longitude\":1,\"latitude\":1,\"value_air\":2}]},"
		       "{\"pubtime\":\"t\",\"points\":[{\"longitude\":1,\"latitude\":1,\"value_air\":2}]}]}"),
		     KD_EINPUT, "repeats frames[0]");
	expect_error("bad model", S("{\"source_id\": 1, \"model\": \"linear\"}"), KD_EINPUT, "is not one of");
	expect_error("variogram without psill",
		     S("{\"source_id\": 1, \"variogram\": {\"model\": \"gaussian\", \"nugget\": 0, \"range\": 5}}"),
		     KD_EINPUT, "missing \"psill\"");
	expect_error("negative range",
		     S("{\"source_id\": 1, \"variogram\": {\"model\": \"gaussian\", \"nugget\": 0, \"psill\": 1, \"range\": -5}}"),
		     KD_EINPUT, "greater than zero");
	expect_error("kriging.js without variance",
		     S("{\"source_id\": 1, \"method\": \"kriging.js\", \"variance\": true}"), KD_EINPUT, "has no variance");
	expect_error("width over the limit", S("{\"source_id\": 1, \"width\": 100000}"), KD_EINPUT,
		     "\"width\": must be between 1 and 8000");
	expect_error("nmax 0", S("{\"source_id\": 1, \"nmax\": 0}"), KD_EINPUT, "\"nmax\": must be between 1 and 10000");
	expect_error("nmax over the points limit", S("{\"source_id\": 1, \"nmax\": 10001}"), KD_EINPUT,
		     "\"nmax\": must be between 1 and 10000");
	expect_error("nmax not an integer", S("{\"source_id\": 1, \"nmax\": 3.5}"), KD_EINPUT, "\"nmax\": expected an integer");
	expect_error("maxdist 0", S("{\"source_id\": 1, \"maxdist\": 0}"), KD_EINPUT,
		     "\"maxdist\": must be greater than 0 and at most 2e+07 (metres)");
	expect_error("maxdist negative", S("{\"source_id\": 1, \"maxdist\": -3}"), KD_EINPUT, "\"maxdist\": must be greater than 0");
	expect_error("maxdist beyond the Earth", S("{\"source_id\": 1, \"maxdist\": 3e7}"), KD_EINPUT,
		     "\"maxdist\": must be greater than 0");
	expect_error("maxdist a string", S("{\"source_id\": 1, \"maxdist\": \"5km\"}"), KD_EINPUT, "\"maxdist\": expected a number");
	expect_error("cv not a boolean", S("{\"source_id\": 1, \"cv\": 1}"), KD_EINPUT, "\"cv\": expected true or false");
	expect_error("kriging.js with nmax", S("{\"source_id\": 1, \"method\": \"kriging.js\", \"nmax\": 8}"), KD_EINPUT,
		     "\"kriging.js\" has no \"nmax\"");
	expect_error("kriging.js with maxdist", S("{\"source_id\": 1, \"maxdist\": 800, \"method\": \"kriging.js\"}"),
		     KD_EINPUT, "\"kriging.js\" has no \"maxdist\"");
	expect_error("kriging.js with cv", S("{\"source_id\": 1, \"method\": \"kriging.js\", \"cv\": false}"), KD_EINPUT,
		     "\"kriging.js\" has no cross-validation");
	expect_error("longitude and latitude swapped",
		     S("{\"index\":\"pm25\",\"frames\":[{\"pubtime\":\"t\",\"points\":[{\"longitude\":22.5,\"latitude\":113.9,\"value_air\":2},"
		       "{\"longitude\":22.6,\"latitude\":113.8,\"value_air\":2}]}]}"),
		     KD_EINPUT, "frames[0].points[0]: latitude 113.9 is outside -90..90 (longitude and latitude swapped?)");
	expect_error("longitude 500",
		     S("{\"index\":\"pm25\",\"frames\":[{\"pubtime\":\"t\",\"points\":[{\"longitude\":113.9,\"latitude\":22.5,\"value_air\":2},"
		       "{\"longitude\":500,\"latitude\":22.5,\"value_air\":2}]}]}"),
		     KD_EINPUT, "frames[0].points[1]: longitude 500 is outside -180..180 (longitude and latitude swapped?)");

	/* Issue 13: parsing holes. */
	tap_ok(parse(&t, S("\xef\xbb\xbf{\"source_id\": 3}"), &e) == 0 && t.kind == TRIGGER_SOURCE && t.source_id == 3,
	       "a JSON trigger after a UTF-8 BOM is JSON, not a ping (%s)", e.msg);
	trigger_release(&t);
	tap_ok(parse(&t, S("\f\v {\"source_id\": 4}\v\f\n"), &e) == 0 && t.kind == TRIGGER_SOURCE && t.source_id == 4,
	       "\\f and \\v are white space around a JSON trigger (%s)", e.msg);
	trigger_release(&t);
	tap_ok(parse(&t, S("\xef\xbb\xbfhello"), &e) == 0 && t.kind == TRIGGER_PING, "BOM then text: still a ping");
	trigger_release(&t);
	expect_error("only a BOM", S("\xef\xbb\xbf \f"), KD_EINPUT, "empty datagram");
	expect_error("duplicate key", S("{\"source_id\": 1, \"priority\": 1, \"source_id\": 2}"), KD_EINPUT,
		     "duplicate key");
	expect_error("two empty keys", S("{\"\": 1, \"source_id\": 1, \"\": 2}"), KD_EINPUT, "duplicate key");
	expect_error("duplicate lone surrogate keys", S("{\"source_id\": 1, \"x\": {\"\\ud800\": 1, \"\\ud800\": 2}}"),
		     KD_EINPUT, "duplicate key");
	expect_error("duplicate key spelt with an escape", S("{\"source_id\": 1, \"s\\u006furce_id\": 2}"), KD_EINPUT,
		     "duplicate key");
	expect_error("duplicate key in a nested object",
		     S("{\"source_id\": 1, \"variogram\": {\"model\": \"gaussian\", \"nugget\": 0, \"psill\": 1, "
		       "\"range\": 5, \"model\": \"spherical\"}}"), KD_EINPUT, "duplicate key");
	tap_ok(parse(&t, S("{\"source_id\": 5, \"req\": \"x\", \"key\": \"k\", \"variogram\": {\"model\": \"gaussian\", "
			   "\"nugget\": 0, \"psill\": 1, \"range\": 5}}"), &e) == 0 && t.source_id == 5,
	       "the same key in two different objects is fine (%s)", e.msg);
	trigger_release(&t);
	expect_error("\\u0000 in a string", S("{\"source_id\": 1, \"req\": \"a\\u0000b\"}"), KD_EINPUT, "\\u0000");
	expect_error("source_id beyond int64", S("{\"source_id\": 9223372036854775808}"), KD_EINPUT, "beyond 64 bits");
	expect_error("source_id far beyond int64", S("{\"source_id\": 123456789012345678901234567890}"), KD_EINPUT,
		     "beyond 64 bits");
	expect_error("negative beyond int64", S("{\"source_id\": 1, \"priority\": -9223372036854775809}"), KD_EINPUT,
		     "beyond 64 bits");
	tap_ok(parse(&t, S("{\"source_id\": 9223372036854775807}"), &e) == 0 && t.source_id == INT64_MAX,
	       "source_id INT64_MAX is kept exactly (%s)", e.msg);
	trigger_release(&t);
	expect_error("callback with CR/LF", S("{\"source_id\": 1, \"callback\": \"http://h.example/a\\r\\nX: 1\"}"),
		     KD_EINPUT, "control character");
	expect_error("callback with credentials", S("{\"source_id\": 1, \"callback\": \"http://u:p@h.example/\"}"),
		     KD_EINPUT, "credentials");
	expect_error("callback to the metadata service", S("{\"source_id\": 1, \"callback\": \"http://169.254.169.254/\"}"),
		     KD_EINPUT, "metadata");
	expect_error("callback in NAT64 form", S("{\"source_id\": 1, \"callback\": \"http://[64:ff9b::a9fe:a9fe]/\"}"),
		     KD_EINPUT, "metadata");
	expect_error("callback in local-use NAT64 form",
		     S("{\"source_id\": 1, \"callback\": \"http://[64:ff9b:1:a9fe:a9:fe00::]/\"}"), KD_EINPUT, "metadata");
	expect_error("priority over 100", S("{\"source_id\": 1, \"priority\": 1000000}"), KD_EINPUT,
		     "\"priority\": must be between -100 and 100");
	expect_error("priority under -100", S("{\"source_id\": 1, \"priority\": -101}"), KD_EINPUT,
		     "\"priority\": must be between -100 and 100");
	expect_error("max_attempts over 20", S("{\"source_id\": 1, \"max_attempts\": 21}"), KD_EINPUT,
		     "\"max_attempts\": must be between 1 and 20");
	expect_error("max_attempts 0", S("{\"source_id\": 1, \"max_attempts\": 0}"), KD_EINPUT,
		     "\"max_attempts\": must be between 1 and 20");
	tap_ok(parse(&t, S("{\"source_id\": 1, \"priority\": -100, \"max_attempts\": 20}"), &e) == 0 &&
	       t.priority == -100 && t.max_attempts == 20, "priority -100 and max_attempts 20 are in range (%s)", e.msg);
	trigger_release(&t);

	{
		/* 40 nested arrays inside the object: over the depth cap. */
		char deep[256] = "{\"source_id\": 1, \"x\": ";
		size_t n = strlen(deep);
		for (int i = 0; i < 40; i++)
			deep[n++] = '[';
		for (int i = 0; i < 40; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		expect_error("deep nesting", deep, n, KD_ELIMIT, "nested deeper than 32");
	}
	{
		size_t n = lim.max_bytes + 1;
		char *big = malloc(n);
		memset(big, 'a', n);
		expect_error("over-long", big, n, KD_ELIMIT, "too large");
		free(big);
	}

	tap_ok(parse(&t, S("{\"source_id\": 42, \"nmax\": 24, \"maxdist\": 2500.5, \"cv\": false}"), &e) == 0 &&
		       t.nmax == 24 && t.maxdist == 2500.5 && t.cv == 0,
	       "nmax, maxdist and cv read (%s)", e.msg);
	trigger_release(&t);
	tap_ok(parse(&t, S("{\"source_id\": 42}"), &e) == 0 && t.nmax == 0 && isinf(t.maxdist) && t.cv == -1,
	       "without them: no nmax, no maxdist, cv unset (%s)", e.msg);
	trigger_release(&t);

	tap_ok(parse(&t, S("{\"source_id\": 42, \"req\": \"r1\", \"key\": \"k\", \"priority\": 7, \"grid\": true}"), &e) == 0 &&
	       t.kind == TRIGGER_SOURCE && t.source_id == 42 && t.priority == 7 && t.grid == 1 &&
	       t.max_attempts == 5 && t.width == 1000 && strcmp(t.req, "r1") == 0 && strcmp(t.key, "k") == 0,
	       "source trigger with options and defaults (%s)", e.msg);
	trigger_release(&t);

	tap_ok(parse(&t, S("{\"index\":\"pm25\",\"boundary\":\"nanshan\",\"model\":\"spherical\",\"frames\":["
			   "{\"pubtime\":\"2024-01-01 10:00\",\"time_data\":[{\"longitude\":113.9,\"latitude\":\"22.5\",\"value_air\":null},"
			   "{\"longitude\":113.95,\"latitude\":22.55,\"value_air\":35}]}]}"), &e) == 0 &&
	       t.kind == TRIGGER_INLINE && strcmp(t.index, "pm25") == 0 && strcmp(t.boundary_name, "nanshan") == 0 &&
	       t.has_model && t.model == VGM_SPHERICAL && t.frames.n == 1 && t.frames.frame[0].n == 2 &&
	       isnan(t.frames.frame[0].val[0]) && t.frames.frame[0].lat[0] == 22.5 && t.frames.frame[0].val[1] == 35,
	       "inline job: time_data alias, numeric string, null kept as NaN (%s)", e.msg);
	trigger_release(&t);

	{
		/* issue 20: the index as people write it is the HJ index */
		static const char *const alias[][2] = { { "PM2.5", "pm25" }, { "PM25", "pm25" }, { "pm2_5", "pm25" },
							{ "pm2.5", "pm25" }, { "PM10", "pm10" }, { "O3_8H", "o3_8h" },
							{ "my-index", "my-index" } };
		char buf[256];

		for (size_t i = 0; i < sizeof(alias) / sizeof(alias[0]); i++) {
			int n = snprintf(buf, sizeof(buf), "{\"index\":\"%s\",\"boundary\":\"b\",\"frames\":[{\"pubtime\":\"t\","
					 "\"points\":[{\"longitude\":0.5,\"latitude\":0.2,\"value_air\":1}]}]}", alias[i][0]);

			tap_ok(parse(&t, buf, (size_t)n, &e) == 0 && strcmp(t.index, alias[i][1]) == 0,
			       "\"index\": \"%s\" is %s (%s)", alias[i][0], alias[i][1], e.msg);
			trigger_release(&t);
		}
		expect_error("an unknown name with a dot", S("{\"index\":\"p.m\",\"boundary\":\"b\",\"frames\":[]}"),
			     KD_EINPUT, "use letters");
	}

	tap_ok(parse(&t, S("{\"index\":\"aqi\",\"boundary\":[[[0,0],[1,0],[1,1]]],\"variogram\":{\"nugget\":0.5,\"psill\":2,"
			   "\"range\":900,\"model\":\"exponential\"},\"frames\":[{\"pubtime\":\"t\",\"points\":[{\"longitude\":0.5,"
			   "\"latitude\":0.2,\"value_air\":1}]}]}"), &e) == 0 &&
	       t.boundary && t.variogram && t.has_model && t.model == VGM_EXPONENTIAL,
	       "inline ring list and a given variogram (%s)", e.msg);
	trigger_release(&t);

	/* the matern model: kappa at the top or in the variogram, never alone */
	tap_ok(parse(&t, S("{\"source_id\":1,\"model\":\"matern\",\"kappa\":1.5}"), &e) == 0 && t.has_model &&
		       t.model == VGM_MATERN && t.kappa == 1.5 && !t.variogram,
	       "model matern with kappa (%s)", e.msg);
	trigger_release(&t);
	tap_ok(parse(&t, S("{\"source_id\":1,\"variogram\":{\"model\":\"matern\",\"kappa\":0.3,\"nugget\":1,"
			   "\"psill\":2,\"range\":900}}"), &e) == 0 &&
		       t.model == VGM_MATERN && t.kappa == 0.3 && t.variogram,
	       "a given matern variogram with its kappa (%s)", e.msg);
	trigger_release(&t);
	tap_ok(parse(&t, S("{\"source_id\":1,\"model\":\"matern\"}"), &e) == 0 && t.has_model &&
		       t.model == VGM_MATERN && t.kappa == 0,
	       "matern without kappa: the kappa is chosen (%s)", e.msg);
	trigger_release(&t);
	tap_ok(parse(&t, S("{\"source_id\":1,\"model\":\"auto\"}"), &e) == 0 && t.model_auto && !t.has_model,
	       "model auto (%s)", e.msg);
	trigger_release(&t);
	expect_error("auto with a variogram", S("{\"source_id\":1,\"model\":\"auto\",\"variogram\":{\"model\":"
						"\"exponential\",\"nugget\":1,\"psill\":2,\"range\":900}}"),
		     KD_EINPUT, "not with a given \"variogram\"");
	expect_error("auto with kriging.js", S("{\"source_id\":1,\"method\":\"kriging.js\",\"model\":\"auto\"}"),
		     KD_EINPUT, "not with \"method\": \"kriging.js\"");
	expect_error("a matern variogram without kappa",
		     S("{\"source_id\":1,\"variogram\":{\"model\":\"matern\",\"nugget\":1,\"psill\":2,\"range\":900}}"),
		     KD_EINPUT, "the matern model needs \"kappa\"");
	expect_error("kappa without matern", S("{\"source_id\":1,\"model\":\"gaussian\",\"kappa\":1}"), KD_EINPUT,
		     "\"kappa\" goes with \"model\": \"matern\"");
	expect_error("kappa in an exponential variogram",
		     S("{\"source_id\":1,\"variogram\":{\"model\":\"exponential\",\"kappa\":1,\"nugget\":1,\"psill\":2,"
		       "\"range\":900}}"), KD_EINPUT, "kappa goes with the matern model");
	expect_error("kappa above 20", S("{\"source_id\":1,\"model\":\"matern\",\"kappa\":25}"), KD_EINPUT,
		     "at most 20");
	expect_error("kappa 0", S("{\"source_id\":1,\"model\":\"matern\",\"kappa\":0}"), KD_EINPUT,
		     "greater than 0");
	expect_error("kappa and variogram.kappa differ",
		     S("{\"source_id\":1,\"kappa\":1,\"variogram\":{\"model\":\"matern\",\"kappa\":2,\"nugget\":1,"
		       "\"psill\":2,\"range\":900}}"), KD_EINPUT, "disagree");
	expect_error("kriging.js has no matern", S("{\"source_id\":1,\"method\":\"kriging.js\",\"model\":\"matern\","
						   "\"kappa\":1}"), KD_EINPUT, "no matern model");

	tap_ok(parse(&t, S("{\"source_id\":1,\"method\":\"kriging.js\",\"sigma2\":0.1,\"alpha\":50,"
			   "\"variogram\":{\"model\":\"spherical\",\"nugget\":0,\"range\":0.1,\"sill\":3}}"), &e) == 0 &&
	       t.method == METHOD_KRIGINGJS && t.sigma2 == 0.1 && t.alpha == 50 && t.variogram,
	       "kriging.js method with its own variogram form (%s)", e.msg);
	trigger_release(&t);

	trigger_req_of(S("{\"req\": \"abc\", \"source_id\": \"bad\"}"), req, sizeof(req));
	tap_ok(strcmp(req, "abc") == 0, "req is recovered from a rejected trigger");
	trigger_req_of(S("{\"req\": \"abc\""), req, sizeof(req));
	tap_ok(req[0] == '\0', "no req from malformed JSON");

	{
		struct json_object *o;
		const char *why = "";
		size_t off = 0;

		int rc = json_strict_parse(S("[{\"pubtime\": \"t\xff\"}]"), 32, &o, &off, &why);

		tap_ok(rc == -1 && o == NULL && strcmp(why, "not valid UTF-8") == 0 && off == 15,
		       "json_strict_parse refuses invalid UTF-8 inside a string (%s at %zu)", why, off);
		tap_ok(json_strict_parse(S(" 42 "), 32, &o, &off, &why) == 0 && o && json_object_get_int(o) == 42,
		       "json_strict_parse ends a bare number");
		json_object_put(o);
	}
	return tap_done();
}

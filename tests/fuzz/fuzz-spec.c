/* fuzz-spec.c - the decoder of a call request (rh_call_spec_decode,
 * src/proto/callspec.c) and the agent's use of it (call_parse,
 * agent/call.c: the argv or Python request it gives, the form of its
 * $refs) on any text, read as the agent reads a frame (rh_json_parse).
 * Properties: a request is refused with a reason, or decodes to a spec
 * that encodes to a request which decodes and encodes to the same text;
 * the agent then makes of it a call with an argv that starts with the
 * command (or a Python request) and a working directory, or refuses it
 * for a malformed $ref. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "agent.h"
#include "fuzz.h"

static char home[] = "/home/node";

/* Encoded, decoded, encoded again: the same text. */
static void
round_trip(const struct rh_call_spec *s)
{
	struct rh_call_spec again;
	struct rh_err err;
	cJSON *req = rh_call_spec_encode(s), *req2;
	char *a, *b;

	FUZZ_CHECK(rh_call_spec_decode(req, &again, &err) == 0,
	           "an encoded spec is refused");
	req2 = rh_call_spec_encode(&again);
	a = rh_json_print(req, 0);
	b = rh_json_print(req2, 0);
	FUZZ_CHECK(strcmp(a, b) == 0, "a spec changed through a round trip");
	free(a);
	free(b);
	cJSON_Delete(req2);
	cJSON_Delete(req);
	rh_call_spec_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rh_call_spec s;
	struct agent a;
	struct call *c;
	struct rh_err err;
	cJSON *req;

	if ((req = rh_json_parse((const char *)data, size, "spec",
	                         NULL)) == NULL)
		return 0;
	err.msg[0] = '\0';
	if (rh_call_spec_decode(req, &s, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0' && s.command == NULL &&
		           s.fn_module == NULL, "a refusal without its reason");
		cJSON_Delete(req);
		return 0;
	}
	FUZZ_CHECK((s.command != NULL && s.command[0][0] != '\0') !=
	           (s.fn_module != NULL), "a spec without one program");
	round_trip(&s);
	memset(&a, 0, sizeof(a));
	a.home = home;
	err.msg[0] = '\0';
	if (call_parse(&a, req, &c, &err) < 0) {
		FUZZ_CHECK(c == NULL && err.msg[0] != '\0',
		           "a refusal without its reason");
		pool_stop_all(&a);
		rh_call_spec_free(&s);
		cJSON_Delete(req);
		return 0;
	}
	FUZZ_CHECK(c->py != NULL || (c->argv != NULL && c->argv[0] != NULL &&
	           s.command != NULL && strcmp(c->argv[0], s.command[0]) == 0),
	           "a call without its command");
	FUZZ_CHECK(c->cwd != NULL && c->cwd[0] == '/',
	           "a call without a working directory");
	call_free(c);
	pool_stop_all(&a);      /* the pool call_parse made for it */
	rh_call_spec_free(&s);
	cJSON_Delete(req);
	return 0;
}

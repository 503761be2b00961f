/* fuzz-spec.c - the agent's decoder of a call request (call_parse,
 * agent/call.c: its fields, the argv or Python request it gives, the
 * form of its $refs) on any JSON text.
 * Properties: a request is refused with a reason, or gives a call with
 * an argv that starts with the command (or a Python request) and a
 * working directory. */
#include "config.h"

#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "agent.h"
#include "fuzz.h"

static char home[] = "/home/node";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent a;
	struct call *c;
	struct rh_err err;
	const cJSON *cmd;
	cJSON *req;

	if ((req = cJSON_ParseWithLength((const char *)data, size)) == NULL)
		return 0;
	memset(&a, 0, sizeof(a));
	a.home = home;
	if (call_parse(&a, req, &c, &err) < 0) {
		FUZZ_CHECK(c == NULL && err.msg[0] != '\0',
		           "a refusal without its reason");
		cJSON_Delete(req);
		return 0;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(req, "command");
	FUZZ_CHECK(c->py != NULL || (c->argv != NULL && c->argv[0] != NULL &&
	           strcmp(c->argv[0], cmd->child->valuestring) == 0),
	           "a call without its command");
	FUZZ_CHECK(c->cwd != NULL && c->cwd[0] == '/',
	           "a call without a working directory");
	call_free(c);
	cJSON_Delete(req);
	return 0;
}

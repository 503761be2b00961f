/* fuzz-invoke.c - the line parser of a send's invoke file
 * (invoke_parse_lines, fs/file-invoke.c) on the bytes of one write.
 * Properties: a write is refused with a reason, or gives one call spec
 * per line that is not blank (spaces, tabs, CRs), each an object of
 * args (an array), kwargs (an object) and queue (true or false) alone. */
#include "config.h"

#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "rhfs.h"
#include "fuzz.h"

static size_t
lines(const char *p, size_t size)
{
	const char *end = p + size;
	size_t n = 0;
	int blank = 1;

	for (; p < end; p++) {
		if (*p == '\n') {
			n += !blank;
			blank = 1;
		} else if (*p != ' ' && *p != '\t' && *p != '\r') {
			blank = 0;
		}
	}
	return n + !blank;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const cJSON *spec, *f;
	struct rh_err err;
	cJSON *specs = NULL;
	size_t n;

	if (invoke_parse_lines("~/s", text, size, &specs, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0', "a refusal without its reason");
		cJSON_Delete(specs);
		return 0;
	}
	FUZZ_CHECK(cJSON_IsArray(specs), "no array of specs");
	n = lines(text, size);
	FUZZ_CHECK((size_t)cJSON_GetArraySize(specs) == n, "%d specs of "
	           "%zu lines:\n%.*s", cJSON_GetArraySize(specs), n,
	           (int)size, text);
	cJSON_ArrayForEach(spec, specs) {
		FUZZ_CHECK(cJSON_IsObject(spec), "a spec is not an object");
		cJSON_ArrayForEach(f, spec)
			FUZZ_CHECK((strcmp(f->string, "args") == 0 &&
			            cJSON_IsArray(f)) ||
			           (strcmp(f->string, "kwargs") == 0 &&
			            cJSON_IsObject(f)) ||
			           (strcmp(f->string, "queue") == 0 &&
			            cJSON_IsBool(f)), "field '%s' in a spec",
			           f->string);
	}
	cJSON_Delete(specs);
	return 0;
}

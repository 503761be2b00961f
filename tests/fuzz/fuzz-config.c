/* fuzz-config.c - rh_config_check (src/rns/resource.c) on any config.json
 * bytes, at an address the first byte of the input picks.
 * Properties, for a config that is accepted:
 * - what rhfs would store (the bytes as written, or its rewrite) is
 *   accepted again, and needs no further rewrite;
 * - a rewrite keeps every value but name and rns_address;
 * - moved to another address (rh_config_readdress, as mv does), it is
 *   accepted there too. */
#include "config.h"

#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "rns.h"
#include "fuzz.h"

/* an address, and one in its namespace that mv may move it to */
static const char *const addrs[][2] = {
	{ "~/a", "~/dir/sub/b" }, { "~/dir/sub/b", "~/f.g-h_i" },
	{ "^c", "^x/y" }, { "@/team/d", "@/team/sub/z" },
	{ "/user/proj/e", "/user/w" }, { "~/f.g-h_i", "~/a" },
};
#define NADDRS (sizeof(addrs) / sizeof(addrs[0]))

/* v without the fields that follow the address */
static cJSON *
values(const char *data, size_t len)
{
	cJSON *v = cJSON_ParseWithLength(data, len);

	cJSON_DeleteItemFromObjectCaseSensitive(v, "name");
	cJSON_DeleteItemFromObjectCaseSensitive(v, "rns_address");
	return v;
}

/* stored must be accepted at addr as it is. */
static void
revalidate(const char *addr, const char *stored, size_t len,
           const char *why)
{
	struct rh_err err;
	size_t outlen;
	char *out;
	int r;

	r = rh_config_check(addr, stored, len, &out, &outlen, &err);
	FUZZ_CHECK(r == 0, "%s: stored config refused at %s: %s\n%.*s", why,
	           addr, err.msg, (int)len, stored);
	FUZZ_CHECK(out == NULL, "%s: stored config rewritten again at %s:"
	           "\n%.*s\nbecame\n%.*s", why, addr, (int)len, stored,
	           (int)outlen, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *addr, *to, *text, *stored;
	cJSON *before, *after;
	size_t len, outlen, movedlen, storedlen;
	char *out, *moved;
	struct rh_err err;

	if (size < 1)
		return 0;
	addr = addrs[data[0] % NADDRS][0];
	to = addrs[data[0] % NADDRS][1];
	text = (const char *)data + 1;
	len = size - 1;
	if (rh_config_check(addr, text, len, &out, &outlen, &err) < 0) {
		FUZZ_CHECK(out == NULL && err.msg[0] != '\0',
		           "a refusal without its reason");
		return 0;
	}
	stored = out != NULL ? out : text;
	storedlen = out != NULL ? outlen : len;
	revalidate(addr, stored, storedlen, "written");
	if (out != NULL) {
		before = values(text, len);
		after = values(out, outlen);
		FUZZ_CHECK(cJSON_Compare(before, after, 1), "a value changed "
		           "in the rewrite:\n%.*s\nbecame\n%s", (int)len, text,
		           out);
		cJSON_Delete(before);
		cJSON_Delete(after);
	}
	FUZZ_CHECK(rh_config_readdress(stored, storedlen, to, &moved,
	                               &movedlen) == 0,
	           "a stored config cannot move to %s", to);
	if (moved != NULL)
		revalidate(to, moved, movedlen, "moved");
	else
		revalidate(to, stored, storedlen, "moved");
	free(moved);
	free(out);
	rh_config_complete(text, len);
	return 0;
}

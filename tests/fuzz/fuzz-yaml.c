/* fuzz-yaml.c - the loader of ~/.rh/config.yaml (rh_config_load,
 * src/rns/config.c) on any file, and its writer on what it loaded.
 * The input is the file; after its first NUL byte (if any), the rest is
 * a token to set, as `rh login` does.
 * Properties: a file is refused with a reason, or loads; what loaded
 * (the token set) is written, and the file written loads again with the
 * same values. */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "fuzz.h"

static char dir[] = "/tmp/rhfs-fuzz-yaml.XXXXXX";
static char *path;

/* keys that rhfs and Runhouse read */
static const char *const keys[] = {
	"token", "username", "default_folder", "default_provider",
	"default_autostop", "use_spot", "rns_url", "rns", NULL,
};

static void
cleanup(void)
{
	unlink(path);
	rmdir(dir);
	free(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		exit(1);
	}
	path = xasprintf("%s/config.yaml", dir);
	atexit(cleanup);
	return 0;
}

static int
same(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t len = nul != NULL ? (size_t)(nul - data) : size;
	struct rh_config *c, *c2;
	struct rh_err err;
	char *token = NULL;
	size_t i;
	int r;

	unlink(path);
	if ((r = rh_file_replace(path, (const char *)data, len, 0600, 0)) < 0)
		return 0;
	if (rh_config_load(path, &c, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0', "a refusal without its reason");
		return 0;
	}
	if (nul != NULL) {
		token = xstrndup((const char *)nul + 1, size - len - 1);
		rh_config_set(c, "token", token);
	}
	r = rh_config_save(c, &err);
	/* the emitter may refuse a value (not UTF-8): with a reason */
	if (r < 0) {
		FUZZ_CHECK(err.msg[0] != '\0', "a refusal without its reason");
		rh_config_free(c);
		free(token);
		return 0;
	}
	r = rh_config_load(path, &c2, &err);
	FUZZ_CHECK(r == 0, "what was written does not load: %s", err.msg);
	for (i = 0; keys[i] != NULL; i++)
		FUZZ_CHECK(same(rh_config_get(c, keys[i]),
		                rh_config_get(c2, keys[i])),
		           "%s: '%s' written, '%s' read", keys[i],
		           rh_config_get(c, keys[i]),
		           rh_config_get(c2, keys[i]));
	rh_config_free(c2);
	rh_config_free(c);
	free(token);
	return 0;
}

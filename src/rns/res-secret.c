/* res-secret.c - secrets: config.json names the provider and the fields;
 * values never appear in it. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"

static const struct res_field fields[] = {
	{ "provider", F_STRING | F_NULL },
	{ "fields", F_STRARRAY | F_NULL },
	{ "path", F_STRING | F_NULL },
	{ "env_vars", F_OBJECT | F_NULL },
	{ NULL, 0 },
};

static int
validate(const cJSON *cfg, const char *addr, struct rh_err *err)
{
	const cJSON *f;
	struct rh_err why;
	int r;

	if ((r = res_check_fields(cfg, addr, fields, err)) < 0)
		return r;
	if (cJSON_GetObjectItemCaseSensitive(cfg, "values") != NULL)
		return rh_err_set(err, EINVAL, "%s: a secret's config.json must "
		                  "not hold 'values'; write each value to its "
		                  "own field file", addr);
	cJSON_ArrayForEach(f, res_get(cfg, "fields")) {
		if (rh_name_check(f->valuestring, &why) < 0 ||
		    strcmp(f->valuestring, "config.json") == 0)
			return rh_err_set(err, EINVAL, "%s: secret field '%s' is "
			                  "not a usable file name", addr,
			                  f->valuestring);
		/* config.json is stored in plain text (and in git) */
		if (!res_known(fields, f->valuestring) &&
		    cJSON_GetObjectItemCaseSensitive(cfg, f->valuestring))
			return rh_err_set(err, EINVAL, "%s: config.json must not "
			                  "hold the value of field '%s'; write it "
			                  "to %s/%s, where it is sealed", addr,
			                  f->valuestring, addr, f->valuestring);
	}
	return 0;
}

const struct rh_type res_secret = { "secret", "Secret", validate };

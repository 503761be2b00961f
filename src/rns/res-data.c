/* res-data.c - folders, blobs and tables: where their bytes live.
 * `system` or `fs` ("file", "s3", a cluster address or an inline cluster
 * config), `path` or `url`, `data_config` (store options, never
 * credentials), `partition_cols` for tables. A folder with neither a
 * system nor a path is an RNS folder marker: it has no data. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"

static const struct res_field fields[] = {
	{ "fs", F_STRING | F_OBJECT | F_NULL },
	{ "system", F_STRING | F_OBJECT | F_NULL },
	{ "path", F_STRING | F_NULL },
	{ "url", F_STRING | F_NULL },
	{ "data_config", F_OBJECT | F_NULL },
	{ "partition_cols", F_STRARRAY | F_NULL },
	{ NULL, 0 },
};

static const struct res_field s3_fields[] = {
	{ "endpoint_url", F_STRING | F_NULL },
	{ "region", F_STRING | F_NULL },
	{ NULL, 0 },
};

/* Words that mark a data_config key as a credential. */
static const char *const secret_words[] = {
	"key", "secret", "token", "password", "credential", NULL,
};

/* The one of two spellings that is set; -EINVAL if both are, unequal. */
static int
either(const cJSON *cfg, const char *a, const char *b, const char *addr,
       const cJSON **out, struct rh_err *err)
{
	const cJSON *va = res_get(cfg, a), *vb = res_get(cfg, b);

	if (va != NULL && vb != NULL && !cJSON_Compare(va, vb, 1))
		return rh_err_set(err, EINVAL, "%s: '%s' and '%s' say "
		                  "different things: give one", addr, a, b);
	*out = va != NULL ? va : vb;
	return 0;
}

static int
is_credential(const char *key)
{
	char low[64];
	size_t i;

	for (i = 0; key[i] != '\0' && i < sizeof(low) - 1; i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	low[i] = '\0';
	for (i = 0; secret_words[i] != NULL; i++)
		if (strstr(low, secret_words[i]) != NULL)
			return 1;
	return 0;
}

static int
check_data_config(const cJSON *dc, enum rh_data_kind kind, const char *addr,
                  struct rh_err *err)
{
	const cJSON *e;
	char what[512];

	if (dc == NULL)
		return 0;
	cJSON_ArrayForEach(e, dc)
		if (is_credential(e->string))
			return rh_err_set(err, EINVAL, "%s: data_config holds "
			                  "no credentials ('%s'): keep them in "
			                  "a secret", addr, e->string);
	if (kind != RH_DATA_S3)
		return 0;
	snprintf(what, sizeof(what), "%s: data_config", addr);
	return res_check_fields(dc, what, s3_fields, err);
}

int
rh_data_locate(const cJSON *cfg, const char *addr, struct rh_data_loc *loc,
               struct rh_err *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "resource_type");
	const char *tname = cJSON_IsString(type) ? type->valuestring : "data";
	const cJSON *sys, *path;
	int r;

	memset(loc, 0, sizeof(*loc));
	if ((r = either(cfg, "system", "fs", addr, &sys, err)) < 0 ||
	    (r = either(cfg, "path", "url", addr, &path, err)) < 0)
		return r;
	if (sys == NULL && path == NULL && strcmp(tname, "folder") == 0) {
		loc->kind = RH_DATA_NONE;       /* an RNS folder marker */
		return 0;
	}
	if (path == NULL || path->valuestring[0] == '\0')
		return rh_err_set(err, EINVAL, "%s: a %s needs 'path'", addr,
		                  tname);
	loc->path = path->valuestring;
	if (sys == NULL || (cJSON_IsString(sys) &&
	                    strcmp(sys->valuestring, "file") == 0)) {
		loc->kind = RH_DATA_FILE;
	} else if (cJSON_IsObject(sys)) {
		loc->kind = RH_DATA_CLUSTER;
		loc->cluster_cfg = sys;
	} else if (strcmp(sys->valuestring, "s3") == 0) {
		const char *p = loc->path;

		loc->kind = RH_DATA_S3;
		if (strncmp(p, "s3://", 5) == 0)
			p += 5;
		p += strspn(p, "/");
		if (*p == '\0' || *p == '/')
			return rh_err_set(err, EINVAL, "%s: an s3 %s's path "
			                  "needs a bucket (bucket/prefix)",
			                  addr, tname);
	} else if (strchr("~@^/", sys->valuestring[0]) != NULL &&
	           sys->valuestring[0] != '\0') {
		loc->kind = RH_DATA_CLUSTER;
		loc->cluster = sys->valuestring;
	} else {
		return rh_err_set(err, EINVAL, "%s: unknown system '%s' (file, "
		                  "s3, or a cluster's address)", addr,
		                  sys->valuestring);
	}
	loc->data_config = res_get(cfg, "data_config");
	return check_data_config(loc->data_config, loc->kind, addr, err);
}

static int
validate(const cJSON *cfg, const char *addr, struct rh_err *err)
{
	struct rh_data_loc loc;
	int r;

	if ((r = res_check_fields(cfg, addr, fields, err)) < 0)
		return r;
	return rh_data_locate(cfg, addr, &loc, err);
}

const struct rh_type res_folder = { "folder", "Folder", validate };
const struct rh_type res_blob = { "blob", "Blob", validate };
const struct rh_type res_table = { "table", "Table", validate };

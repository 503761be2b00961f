/* res-data.c - folders, blobs and tables: data kept at `path` on a file
 * system (`fs`: "file", or a cluster). */
#include "config.h"

#include <errno.h>

#include "res.h"

static const struct res_field fields[] = {
	{ "fs", F_STRING | F_OBJECT | F_NULL },
	{ "system", F_STRING | F_OBJECT | F_NULL },
	{ "path", F_STRING },
	{ "data_config", F_OBJECT | F_NULL },
	{ "partition_cols", F_STRARRAY | F_NULL },
	{ NULL, 0 },
};

static int
validate(const cJSON *cfg, const char *addr, struct rh_err *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "resource_type");
	int r;

	if ((r = res_check_fields(cfg, addr, fields, err)) < 0)
		return r;
	if (res_get(cfg, "path") == NULL)
		return rh_err_set(err, EINVAL, "%s: a %s needs 'path'", addr,
		                  type->valuestring);
	return 0;
}

const struct rh_type res_folder = { "folder", "Folder", validate };
const struct rh_type res_blob = { "blob", "Blob", validate };
const struct rh_type res_table = { "table", "Table", validate };

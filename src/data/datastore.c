/* datastore.c - a data resource's store, chosen by its config. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "datastore.h"

static const char *
kind_name(const struct rh_data_loc *loc)
{
	return loc->cluster != NULL ? loc->cluster : "an inline cluster";
}

int
rh_data_open(const cJSON *cfg, const char *addr, const char *workdir,
             const struct rh_data_opts *opts, struct rh_data **out,
             char **blob, struct rh_err *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "resource_type");
	struct rh_data_loc loc;
	char *root, *slash;
	int r;

	*out = NULL;
	if (blob != NULL)
		*blob = NULL;
	if ((r = rh_data_locate(cfg, addr, &loc, err)) < 0)
		return r;
	if (loc.kind == RH_DATA_NONE)
		return rh_err_set(err, ENOENT, "%s: a folder marker (no "
		                  "system, no path) has no data", addr);
	if (loc.kind == RH_DATA_S3)
		return rh_data_s3_open(&loc, addr, cJSON_IsString(type) &&
		                       strcmp(type->valuestring, "blob") == 0,
		                       opts, out, blob, err);
	if (loc.kind != RH_DATA_FILE)
		return rh_err_set(err, EOPNOTSUPP, "%s: its data is on %s: "
		                  "that store is not yet available",
		                  addr, kind_name(&loc));
	root = loc.path[0] == '/' ? xstrdup(loc.path) :
	       xasprintf("%s/%s", workdir, loc.path);
	if (cJSON_IsString(type) && strcmp(type->valuestring, "blob") == 0) {
		/* the blob is an entry of its directory */
		while ((slash = strrchr(root, '/')) != NULL &&
		       slash[1] == '\0' && slash != root)
			*slash = '\0';
		slash = strrchr(root, '/');
		if (slash == NULL || slash[1] == '\0') {
			free(root);
			return rh_err_set(err, EINVAL, "%s: a blob's path "
			                  "names a file", addr);
		}
		if (blob != NULL)
			*blob = xstrdup(slash + 1);
		slash[slash == root ? 1 : 0] = '\0';
	}
	r = rh_data_local_open(root, addr, out, err);
	free(root);
	if (r < 0 && blob != NULL) {
		free(*blob);
		*blob = NULL;
	}
	return r;
}

void
rh_data_free(struct rh_data *d)
{
	if (d != NULL)
		d->ops->free(d);
}

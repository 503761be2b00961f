/* datastore.c - a data resource's store, chosen by its config. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "link.h"
#include "datastore.h"

/* A blob's root: its directory, root cut at its last component, which is
 * the blob's name (into *blob, if blob is not NULL). */
static int
blob_split(char *root, const char *addr, char **blob, struct rh_err *err)
{
	char *slash;

	while ((slash = strrchr(root, '/')) != NULL && slash[1] == '\0' &&
	       slash != root)
		*slash = '\0';
	slash = strrchr(root, '/');
	if (slash == NULL || slash[1] == '\0')
		return rh_err_set(err, EINVAL, "%s: a blob's path names a file",
		                  addr);
	if (blob != NULL)
		*blob = xstrdup(slash + 1);
	slash[slash == root ? 1 : 0] = '\0';
	return 0;
}

/* The directory root of this machine (a blob's: its directory). */
static int
open_local(char *root, const char *addr, int is_blob, uint64_t own_mount,
           struct rh_data **out, char **blob, struct rh_err *err)
{
	int r = is_blob ? blob_split(root, addr, blob, err) : 0;

	if (r == 0)
		r = rh_data_local_open(root, addr, own_mount, out, err);
	if (r < 0 && blob != NULL) {
		free(*blob);
		*blob = NULL;
	}
	return r;
}

/* A cluster whose node is this machine, reached without SSH (^local, or
 * a local transport): its store is the local one, rooted in $HOME. */
static int
cluster_is_local(const struct rh_data_loc *loc, const struct rh_data_opts *o)
{
	struct rh_err err;
	cJSON *cfg = NULL;
	int local;

	if (loc->cluster_cfg != NULL)
		return rh_links_is_local("", loc->cluster_cfg);
	if (strcmp(loc->cluster, "^local") == 0)
		return 1;
	if (o == NULL || o->cluster == NULL ||
	    o->cluster(o->cluster_arg, loc->cluster, &cfg, &err) < 0)
		return 0;       /* the SFTP store says why at open */
	local = rh_links_is_local(loc->cluster, cfg);
	cJSON_Delete(cfg);
	return local;
}

int
rh_data_link_inside(const char *path, const char *target)
{
	const char *p;
	long depth = 0;

	if (target[0] == '/' || target[0] == '\0')
		return -EACCES;
	for (p = path; *p != '\0'; p++)
		depth += *p == '/';     /* the link's directory's depth */
	for (p = target; *p != '\0';) {
		const char *e = strchrnul(p, '/');

		if (e - p == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return -EACCES;
		} else if (!(e - p == 1 && p[0] == '.') && e != p) {
			depth++;
		}
		p = *e == '/' ? e + 1 : e;
	}
	return 0;
}

int
rh_data_mknod(struct rh_data *d, const char *path, mode_t mode, dev_t rdev)
{
	struct rh_data_file *f;
	int r, c;

	if (d->ops->mknod != NULL)
		return d->ops->mknod(d, path, mode, rdev);
	if (!S_ISREG(mode))
		return -EPERM;
	/* an empty file, made and stored as a write would be */
	if ((r = d->ops->open(d, path, O_WRONLY | O_CREAT | O_EXCL,
	                      mode & 07777, &f)) < 0)
		return r;
	if (d->ops->flush != NULL)
		r = d->ops->flush(f);
	c = d->ops->close(f);
	return r < 0 ? r : c;
}

int
rh_data_open(const cJSON *cfg, const char *addr, const char *workdir,
             const struct rh_data_opts *opts, struct rh_data **out,
             char **blob, struct rh_err *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "resource_type");
	struct rh_data_loc loc;
	const char *home;
	char *root;
	int r, is_blob;

	*out = NULL;
	if (blob != NULL)
		*blob = NULL;
	if ((r = rh_data_locate(cfg, addr, &loc, err)) < 0)
		return r;
	if (loc.kind == RH_DATA_NONE)
		return rh_err_set(err, ENOENT, "%s: a folder marker (no "
		                  "system, no path) has no data", addr);
	is_blob = cJSON_IsString(type) &&
	          strcmp(type->valuestring, "blob") == 0;
	if (loc.kind == RH_DATA_S3 ||
	    (loc.kind == RH_DATA_CLUSTER && !cluster_is_local(&loc, opts))) {
		r = loc.kind == RH_DATA_S3 ?
		    rh_data_s3_open(&loc, addr, is_blob, opts, out, blob, err) :
		    rh_data_sftp_open(&loc, addr, is_blob, opts, out, blob,
		                      err);
		if (r == 0 && opts != NULL)     /* remote: behind a cache */
			*out = rh_data_cache_wrap(*out, opts->cache_ttl);
		return r;
	}
	if (loc.kind == RH_DATA_CLUSTER) {
		home = getenv("HOME");
		if (loc.path[0] != '/' && home == NULL)
			return rh_err_set(err, ENOENT, "%s: its data is in the "
			                  "home of this machine's user: no "
			                  "HOME", addr);
		root = loc.path[0] == '/' ? xstrdup(loc.path) :
		       xasprintf("%s/%s", home, loc.path);
	} else {
		root = loc.path[0] == '/' ? xstrdup(loc.path) :
		       xasprintf("%s/%s", workdir, loc.path);
	}
	r = open_local(root, addr, is_blob, opts ? opts->own_mount : 0, out,
	               blob, err);
	free(root);
	return r;
}

void
rh_data_free(struct rh_data *d)
{
	if (d != NULL)
		d->ops->free(d);
}

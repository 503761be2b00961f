/* rns-builtin.c - `^`: the read-only builtins shipped with rhfs, one
 * NAME.json file each in the installed builtins directory. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base.h"
#include "rns.h"

static char *
file_of(struct rh_store *s, const char *path)
{
	if (*path == '\0' || strchr(path, '/') != NULL)
		return NULL;
	return xasprintf("%s/%s.json", (const char *)s->priv, path);
}

static int
builtin_stat(struct rh_store *s, const char *path, struct rh_stat *out)
{
	struct stat st;
	char *p;
	int r;

	memset(out, 0, sizeof(*out));
	if (*path == '\0') {
		if (stat(s->priv, &st) < 0)
			return -errno;
		out->kind = RH_FOLDER;
		out->mtime = st.st_mtim;
		out->ctime = st.st_ctim;
		return 0;
	}
	if ((p = file_of(s, path)) == NULL)
		return 0;
	r = stat(p, &st);
	free(p);
	if (r == 0 && S_ISREG(st.st_mode)) {
		out->kind = RH_RESOURCE;
		out->config_size = (size_t)st.st_size;
		out->mtime = st.st_mtim;
		out->ctime = st.st_ctim;
		out->version = rh_store_file_version(&st);
	}
	return 0;
}

static int
builtin_get(struct rh_store *s, const char *path, struct rh_buf *out,
            uint64_t *version)
{
	struct stat st;
	char *p = file_of(s, path);
	int r;

	if (p == NULL)
		return -ENOENT;
	r = rh_file_read(p, RH_CONFIG_MAX, out, &st);
	free(p);
	if (r == 0 && version != NULL)
		*version = rh_store_file_version(&st);
	return r;
}

static int
builtin_list(struct rh_store *s, const char *path, rh_list_cb cb, void *arg)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (*path != '\0') {
		/* a builtin resource has no children */
		struct rh_stat st;
		int r2 = builtin_stat(s, path, &st);

		return r2 < 0 ? r2 : st.kind == RH_ABSENT ? -ENOENT : 0;
	}
	if ((d = opendir(s->priv)) == NULL)
		return -errno;
	while (r == 0 && (de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		char *name;

		if (n <= 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		name = xstrndup(de->d_name, n - 5);
		if (rh_name_check(name, NULL) == 0)
			r = cb(arg, name, RH_RESOURCE);
		free(name);
	}
	closedir(d);
	return r;
}

static int
builtin_put(struct rh_store *s, const char *path, const char *data,
            size_t len, uint64_t expect)
{
	return -EROFS;
}

static int
builtin_path_op(struct rh_store *s, const char *path)
{
	return -EROFS;
}

static int
builtin_rename(struct rh_store *s, const char *from, const char *to,
               int noreplace)
{
	return -EROFS;
}

static void
builtin_destroy(struct rh_store *s)
{
	free(s->priv);
}

static const struct rh_store_ops builtin_ops = {
	.stat = builtin_stat,
	.get = builtin_get,
	.put = builtin_put,
	.list = builtin_list,
	.mkdir = builtin_path_op,
	.rmdir = builtin_path_op,
	.remove = builtin_path_op,
	.rename = builtin_rename,
	.destroy = builtin_destroy,
};

struct rh_store *
rh_store_builtin_new(const char *dir)
{
	struct rh_store *s = xcalloc(1, sizeof(*s));

	s->ops = &builtin_ops;
	s->prefix = "^";
	s->readonly = 1;
	s->priv = xstrdup(dir);
	return s;
}

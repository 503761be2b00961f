/* rns-local.c - the local RNS: <workdir>/rh/<path>/config.json on disk,
 * exactly Runhouse's layout. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"

struct local {
	char *workdir;
	char *root;             /* workdir/rh */
};

static char *
dir_of(const struct local *l, const char *path)
{
	return *path ? xasprintf("%s/%s", l->root, path) : xstrdup(l->root);
}

static char *
config_of(const struct local *l, const char *path)
{
	return *path ? xasprintf("%s/%s/config.json", l->root, path) :
	               xasprintf("%s/config.json", l->root);
}

uint64_t
rh_store_file_version(const struct stat *st)
{
	uint64_t v = (uint64_t)st->st_mtim.tv_sec * 1000000000u +
	             (uint64_t)st->st_mtim.tv_nsec;

	v ^= (uint64_t)st->st_ino << 32 ^ (uint64_t)st->st_size;
	return v ? v : 1;
}

/* A resource's stat, from its config.json's (out zeroed). */
static void
resource_stat(const struct stat *cfg, struct rh_stat *out)
{
	out->kind = RH_RESOURCE;
	out->config_size = (size_t)cfg->st_size;
	out->mtime = cfg->st_mtim;
	out->ctime = cfg->st_ctim;
	out->version = rh_store_file_version(cfg);
	out->linked = cfg->st_nlink > 1;
}

static int
local_stat(struct rh_store *s, const char *path, struct rh_stat *out)
{
	struct local *l = s->priv;
	struct stat st;
	char *p = config_of(l, path);
	int r = stat(p, &st);

	free(p);
	memset(out, 0, sizeof(*out));
	/* a config.json reached through path: path is a directory, and a
	 * resource (one stat(2), for every open of a config) */
	if (r == 0 && S_ISREG(st.st_mode)) {
		resource_stat(&st, out);
		return 0;
	}
	p = dir_of(l, path);
	r = stat(p, &st);
	free(p);
	if (r < 0 && errno == ENOENT && *path == '\0')
		r = stat(l->workdir, &st);      /* rh/ not made yet */
	if (r < 0 || !S_ISDIR(st.st_mode)) {
		out->kind = RH_ABSENT;
		return r < 0 && errno != ENOENT && errno != ENOTDIR ? -errno : 0;
	}
	out->kind = RH_FOLDER;
	out->mtime = st.st_mtim;
	out->ctime = st.st_ctim;
	return 0;
}

static int
local_get(struct rh_store *s, const char *path, struct rh_buf *out,
          uint64_t *version)
{
	struct stat st;
	char *p = config_of(s->priv, path);
	int r = rh_file_read(p, RH_CONFIG_MAX, out, &st);

	free(p);
	if (r == 0 && version != NULL)
		*version = rh_store_file_version(&st);
	return r == -EISDIR ? -ENOENT : r;
}

static int
local_put(struct rh_store *s, const char *path, const char *data, size_t len,
          uint64_t expect)
{
	struct stat st;
	char *p = config_of(s->priv, path);
	int r;

	if (expect != 0) {
		if (stat(p, &st) < 0 || rh_store_file_version(&st) != expect) {
			free(p);
			return -EAGAIN;
		}
	}
	r = rh_file_replace(p, data, len, 0644, 1);
	free(p);
	return r;
}

/* The folders and resources in path, to cb with their kind, or to scb
 * with their stat (what local_stat gives for each; NULL where want says
 * it is not wanted). */
static int
local_walk(struct rh_store *s, const char *path, rh_list_cb cb,
           rh_list_want_cb want, rh_list_stat_cb scb, void *arg)
{
	struct local *l = s->priv;
	struct dirent *de;
	struct rh_stat rs;
	struct stat st, cst;
	char *p = dir_of(l, path);
	DIR *d = opendir(p);
	int dfd, r = 0, res;

	free(p);
	if (d == NULL)
		return errno == ENOENT && *path == '\0' ? 0 : -errno;
	dfd = dirfd(d);
	while (r == 0 && (de = readdir(d)) != NULL) {
		char *cfg;

		if (rh_name_check(de->d_name, NULL) < 0)
			continue;
		if (de->d_type != DT_DIR &&
		    (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK))
			continue;
		/* a directory as listed needs no stat: a listing of many
		 * resources is one stat each (their config.json) */
		if (de->d_type != DT_DIR &&
		    (fstatat(dfd, de->d_name, &st, 0) < 0 ||
		     !S_ISDIR(st.st_mode)))
			continue;
		if (scb != NULL && want != NULL && !want(arg, de->d_name)) {
			r = scb(arg, de->d_name, NULL);
			continue;
		}
		cfg = xasprintf("%s/config.json", de->d_name);
		res = fstatat(dfd, cfg, &cst, 0) == 0 && S_ISREG(cst.st_mode);
		free(cfg);
		if (scb == NULL) {
			r = cb(arg, de->d_name, res ? RH_RESOURCE : RH_FOLDER);
			continue;
		}
		/* a folder's times are its directory's */
		if (!res && de->d_type == DT_DIR &&
		    fstatat(dfd, de->d_name, &st, 0) < 0)
			continue;
		memset(&rs, 0, sizeof(rs));
		if (res) {
			resource_stat(&cst, &rs);
		} else {
			rs.kind = RH_FOLDER;
			rs.mtime = st.st_mtim;
			rs.ctime = st.st_ctim;
		}
		r = scb(arg, de->d_name, &rs);
	}
	closedir(d);
	return r;
}

static int
local_list(struct rh_store *s, const char *path, rh_list_cb cb, void *arg)
{
	return local_walk(s, path, cb, NULL, NULL, arg);
}

static int
local_list_stat(struct rh_store *s, const char *path, rh_list_want_cb want,
                rh_list_stat_cb cb, void *arg)
{
	return local_walk(s, path, NULL, want, cb, arg);
}

static int
local_mkdir(struct rh_store *s, const char *path)
{
	struct local *l = s->priv;
	char *p;
	int r = 0;

	if (*path == '\0')
		return -EEXIST;
	if (mkdir(l->root, 0755) < 0 && errno != EEXIST)
		return -errno;
	p = dir_of(l, path);
	if (mkdir(p, 0755) < 0)
		r = -errno;
	free(p);
	return r;
}

static int
local_rmdir(struct rh_store *s, const char *path)
{
	char *p;
	int r = 0;

	if (*path == '\0')
		return -EBUSY;
	p = dir_of(s->priv, path);
	if (rmdir(p) < 0)
		r = errno == EEXIST ? -ENOTEMPTY : -errno;
	free(p);
	return r;
}

static int
local_remove(struct rh_store *s, const char *path)
{
	char *p = config_of(s->priv, path);
	int r = unlink(p) < 0 ? -errno : 0;

	free(p);
	return r;
}

/* After a move, point the name fields of every config below path at their
 * new addresses. */
static void
readdress_tree(struct rh_store *s, const char *path)
{
	struct rh_buf cfg = { 0 };
	struct local *l = s->priv;
	struct dirent *de;
	char *addr, *out, *p;
	size_t outlen;
	DIR *d;

	if (local_get(s, path, &cfg, NULL) == 0) {
		addr = rh_address(s->prefix, path);
		if (rh_config_readdress(cfg.data, cfg.len, addr, &out,
		                        &outlen) == 0 && out != NULL) {
			if (local_put(s, path, out, outlen, 0) < 0)
				rh_warn("%s: cannot rewrite its name after the "
				        "move", addr);
			free(out);
		}
		free(addr);
	}
	rh_buf_free(&cfg);
	p = dir_of(l, path);
	d = opendir(p);
	free(p);
	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (rh_name_check(de->d_name, NULL) < 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		p = rh_path_join(path, de->d_name);
		readdress_tree(s, p);
		free(p);
	}
	closedir(d);
}

static int
local_rename(struct rh_store *s, const char *from, const char *to,
             int noreplace)
{
	struct local *l = s->priv;
	char *a, *b;
	int r;

	if (*from == '\0' || *to == '\0')
		return -EBUSY;
	a = dir_of(l, from);
	b = dir_of(l, to);
	r = renameat2(AT_FDCWD, a, AT_FDCWD, b,
	              noreplace ? RENAME_NOREPLACE : 0) < 0 ? -errno : 0;
	free(a);
	free(b);
	if (r == 0)
		readdress_tree(s, to);
	return r;
}

static void
local_destroy(struct rh_store *s)
{
	struct local *l = s->priv;

	free(l->workdir);
	free(l->root);
	free(l);
}

static const struct rh_store_ops local_ops = {
	.stat = local_stat,
	.get = local_get,
	.put = local_put,
	.list = local_list,
	.list_stat = local_list_stat,
	.mkdir = local_mkdir,
	.rmdir = local_rmdir,
	.remove = local_remove,
	.rename = local_rename,
	.destroy = local_destroy,
};

struct rh_store *
rh_store_local_new(const char *workdir)
{
	struct rh_store *s = xcalloc(1, sizeof(*s));
	struct local *l = xcalloc(1, sizeof(*l));

	l->workdir = xstrdup(workdir);
	l->root = xasprintf("%s/rh", workdir);
	s->ops = &local_ops;
	s->prefix = "~";
	s->priv = l;
	return s;
}

const char *
rh_store_local_root(const struct rh_store *s)
{
	return ((const struct local *)s->priv)->root;
}

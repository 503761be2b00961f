/* cmd-addr.c - what the user names on rh's command line: a path inside an
 * rhfs mount or an RNS address, resolved to an address, and the config
 * of the resource there, read from its store (local, builtins, etcd). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <mntent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"
#include "cmd.h"

/* path made absolute and canonical; NULL when neither it nor its
 * directory exists. */
static char *
canonical(const char *path)
{
	char buf[PATH_MAX], *dir, *r;

	if (realpath(path, buf) != NULL)
		return xstrdup(buf);
	dir = rh_path_dir(path);
	r = realpath(*dir ? dir : ".", buf) != NULL ?
	    xasprintf("%s/%s", strcmp(buf, "/") ? buf : "",
	              rh_path_base(path)) : NULL;
	free(dir);
	return r;
}

/* The part of path below the rhfs mount holding it ("" at its root), or
 * NULL when path is not inside one. */
static char *
below_mount(const char *path)
{
	struct mntent *m;
	char *rest = NULL;
	size_t blen = 0, n;
	FILE *f;

	if ((f = setmntent("/proc/self/mounts", "r")) == NULL)
		return NULL;
	while ((m = getmntent(f)) != NULL) {
		if (strcmp(m->mnt_type, "fuse.rhfs") != 0)
			continue;
		n = strlen(m->mnt_dir);
		if (strncmp(path, m->mnt_dir, n) == 0 &&
		    (path[n] == '\0' || path[n] == '/') && n >= blen) {
			free(rest);
			rest = xstrdup(path[n] == '/' ? path + n + 1 : "");
			blen = n;
		}
	}
	endmntent(f);
	return rest;
}

/* A path below a mount as an address. */
static int
mount_address(const char *rest, char **addr, struct rh_err *err)
{
	if (strcmp(rest, "~") == 0 || strncmp(rest, "~/", 2) == 0) {
		*addr = xstrdup(rest);
		return 0;
	}
	if (strncmp(rest, "^/", 2) == 0 && rest[2] != '\0') {
		*addr = xasprintf("^%s", rest + 2);
		return 0;
	}
	if (*rest != '\0' && *rest != '^' && *rest != '@' && *rest != '.') {
		*addr = xasprintf("/%s", rest);
		return 0;
	}
	return rh_err_set(err, EINVAL, "%s: not a resource or folder of the "
	                  "mount", *rest ? rest : "(the mount's root)");
}

/* @ is the logged-in user's top folder. */
static int
at_address(const char *rest, char **addr, struct rh_err *err)
{
	struct rh_login l;
	int r;

	if ((r = rh_login_load(&l, err)) < 0)
		return r == -ENOENT ? rh_err_set(err, ENOENT, "@ is the folder "
		       "of the logged-in user: not logged in (run rh login)") :
		       r;
	*addr = *rest ? xasprintf("/%s/%s", l.user, rest) :
	                xasprintf("/%s", l.user);
	rh_login_free(&l);
	return 0;
}

static int
check_address(const char *addr, struct rh_err *err)
{
	const char *path = addr[0] == '~' ? addr + (addr[1] ? 2 : 1) :
	                   addr + 1;
	struct rh_err e;

	if (rh_path_check(path, &e) < 0)
		return rh_err_set(err, EINVAL, "%s: %s", addr, e.msg);
	return 0;
}

static int
logged_in(void)
{
	struct rh_login l;
	struct rh_err e;

	if (rh_login_load(&l, &e) < 0)
		return 0;
	rh_login_free(&l);
	return 1;
}

int
cmd_address(const char *arg, char **addr, char **mount_path,
            struct rh_err *err)
{
	struct rh_config *cfg;
	const char *folder = NULL;
	char *path, *rest, *dflt;
	int r;

	*addr = NULL;
	if (mount_path != NULL)
		*mount_path = NULL;
	if (*arg == '\0')
		return rh_err_set(err, EINVAL, "empty address");
	/* A path inside a mount, however it is spelt. */
	if ((path = canonical(arg)) != NULL &&
	    (rest = below_mount(path)) != NULL) {
		r = mount_address(rest, addr, err);
		free(rest);
		if (r == 0 && (r = check_address(*addr, err)) == 0 &&
		    mount_path != NULL) {
			*mount_path = path;
			path = NULL;
		}
		free(path);
		return r;
	}
	free(path);
	if (strcmp(arg, "@") == 0 || strncmp(arg, "@/", 2) == 0)
		r = at_address(arg[1] ? arg + 2 : "", addr, err);
	else if (arg[0] == '~' || arg[0] == '/')
		*addr = xstrdup(arg), r = 0;
	else if (arg[0] == '^')
		*addr = xstrdup(arg), r = arg[1] ? 0 :
		        rh_err_set(err, EINVAL, "^: name a builtin (^local)");
	else {
		/* A bare name lives in the default folder: @ when logged
		 * in, else ~ (as Runhouse's rh.here). */
		if (cmd_config_load(&cfg, err) < 0)
			return -EINVAL;
		folder = rh_config_get(cfg, "default_folder");
		if (folder == NULL)
			folder = logged_in() ? "@" : "~";
		dflt = xasprintf("%s/%s", folder, arg);
		rh_config_free(cfg);
		r = dflt[0] == '@' ? at_address(dflt + 2, addr, err) :
		    (*addr = xstrdup(dflt), 0);
		free(dflt);
	}
	if (r == 0 && (r = check_address(*addr, err)) < 0) {
		free(*addr);
		*addr = NULL;
	}
	return r;
}

int
cmd_address_split(const char *addr, char **top, char **rel,
                  struct rh_err *err)
{
	const char *slash;

	*top = *rel = NULL;
	if (addr[0] != '/' || addr[1] == '\0')
		return rh_err_set(err, EINVAL, "%s: not in the remote RNS "
		                  "(@/PATH or /TOP/PATH)", addr);
	slash = strchr(addr + 1, '/');
	*top = slash ? xstrndup(addr + 1, (size_t)(slash - addr - 1)) :
	               xstrdup(addr + 1);
	*rel = xstrdup(slash ? slash + 1 : "");
	return 0;
}

/* The error of a get of addr that failed with r. */
static int
get_failed(const char *addr, int r, struct rh_err *err)
{
	if (r == -EISDIR)
		return rh_err_set(err, EISDIR, "%s: a folder, not a resource",
		                  addr);
	return rh_err_set(err, -r, "%s: %s", addr, r == -ENOENT ?
	                  "no such resource" : strerror(-r));
}

static int
store_get(struct rh_store *s, const char *addr, const char *path,
          struct rh_buf *out, struct rh_err *err)
{
	struct rh_stat st;
	uint64_t ver;
	int r;

	if ((r = s->ops->stat(s, path, &st)) == 0 && st.kind != RH_RESOURCE)
		r = st.kind == RH_FOLDER ? -EISDIR : -ENOENT;
	if (r == 0)
		r = s->ops->get(s, path, out, &ver);
	rh_store_free(s);
	return r < 0 ? get_failed(addr, r, err) : 0;
}

static int
etcd_get(const char *addr, struct rh_buf *out, struct rh_err *err)
{
	struct rh_login l;
	struct rh_etcd *c;
	struct rh_etcd_kv kv;
	char *key;
	int r;

	if ((r = cmd_etcd_login(&l, &c, err)) < 0)
		return r;
	key = cmd_key(l.prefix, "n", addr + 1);
	r = rh_etcd_get(c, key, strlen(key), &kv, err);
	if (r == -ENOENT)
		rh_err_set(err, ENOENT, "%s: no such resource", addr);
	else if (r == -EACCES)
		rh_err_set(err, EACCES, "%s: not shared with %s", addr,
		           l.user);
	else if (r == 0) {
		rh_buf_append(out, kv.value ? kv.value : "", kv.value_len);
		rh_etcd_kv_free(&kv);
	}
	free(key);
	rh_etcd_free(c);
	rh_login_free(&l);
	return r;
}

static int
mount_get(const char *addr, const char *dir, struct rh_buf *out,
          struct rh_err *err)
{
	char *path = xasprintf("%s/config.json", dir);
	int r = rh_file_read(path, RH_CONFIG_MAX, out, NULL);

	free(path);
	if (r == -ENOENT && access(dir, F_OK) == 0)
		r = -EISDIR;
	return r < 0 ? get_failed(addr, r, err) : 0;
}

int
cmd_workdir(char **out, struct rh_err *err)
{
	char cwd[PATH_MAX], *home;

	*out = NULL;
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return rh_err_set(err, errno, "current directory: %s",
		                  strerror(errno));
	home = getenv("HOME") ? realpath(getenv("HOME"), NULL) : NULL;
	*out = rh_workdir_find(cwd, home);
	free(home);
	return 0;
}

int
cmd_resource_get(const char *addr, const char *mount_path,
                 struct rh_buf *out, struct rh_err *err)
{
	char *work;
	const char *dir;
	struct rh_store *s;
	int r;

	if (mount_path != NULL)
		return mount_get(addr, mount_path, out, err);

	if (addr[0] == '~') {
		if ((r = cmd_workdir(&work, err)) < 0)
			return r;
		s = rh_store_local_new(work);
		free(work);
		return store_get(s, addr, addr[1] ? addr + 2 : "", out, err);
	}
	if (addr[0] == '^') {
		dir = access(RHFS_BUILTINS_DIR, X_OK) == 0 ?
		      RHFS_BUILTINS_DIR : RHFS_SOURCE_BUILTINS_DIR;
		s = rh_store_builtin_new(dir);
		return store_get(s, addr, addr + 1, out, err);
	}
	return etcd_get(addr, out, err);
}

/* remote.c - the shared namespace in the mount: `@` a symlink to the
 * user's top folder, the top folders the user may read beside ~ and ^,
 * and the kernel's caches dropped when the watch sees a change made
 * elsewhere. A resource's versions/ is dir-versions.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

/* The watch saw path (below top) change: the kernel forgets what it
 * cached of it, of its config.json and of its parent's listing. NULL:
 * everything of that top. Runs on the watch's thread. */
static void
on_change(void *arg, const char *top, const char *path)
{
	struct fs *fs = arg;
	struct node *n, *parent, *cfg;
	fuse_ino_t *inos = NULL, ino, cfg_ino, parent_ino;
	size_t ninos = 0, i;
	char *copy, *comp, *save = NULL, *name;

	pthread_mutex_lock(&fs->lock);
	n = node_lookup(fs, fs->root, top);
	if (n == NULL) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	if (path == NULL) {
		/* every node below the top */
		for (i = 0; i < fs->nbuckets; i++) {
			struct node *m;

			for (m = fs->by_ino[i]; m; m = m->ino_next) {
				if (m->store != n->store)
					continue;
				inos = xrealloc(inos, (ninos + 1) *
				                sizeof(*inos));
				inos[ninos++] = m->ino;
			}
		}
		pthread_mutex_unlock(&fs->lock);
		for (i = 0; i < ninos; i++)
			notify_inode(fs, inos[i]);
		free(inos);
		return;
	}
	copy = xstrdup(path);
	parent = fs->root;
	for (comp = strtok_r(copy, "/", &save); comp && n;
	     comp = strtok_r(NULL, "/", &save)) {
		parent = n;
		n = node_lookup(fs, n, comp);
	}
	if (n == NULL) {
		/* not looked up here: only the listing that may show it */
		parent_ino = comp == NULL || strtok_r(NULL, "/", &save) == NULL ?
		             parent->ino : 0;
		pthread_mutex_unlock(&fs->lock);
		if (parent_ino != 0)
			notify_inode(fs, parent_ino);
		free(copy);
		return;
	}
	/* copied under the lock: the kernel may forget n meanwhile */
	cfg = node_lookup(fs, n, "config.json");
	ino = n->ino;
	cfg_ino = cfg ? cfg->ino : 0;
	parent_ino = n->parent && *path != '\0' ? n->parent->ino : 0;
	name = xstrdup(n->name);
	pthread_mutex_unlock(&fs->lock);
	notify_inode(fs, ino);
	if (cfg_ino != 0)
		notify_inode(fs, cfg_ino);
	if (parent_ino != 0) {
		notify_entry(fs, parent_ino, name);
		notify_inode(fs, parent_ino);
	}
	free(name);
	free(copy);
}

int
remote_open(struct fs *fs)
{
	struct rh_remote_opts o;
	struct rh_login login;
	struct rh_err err;
	int r;

	if ((r = rh_login_load(&login, &err)) < 0) {
		if (r != -ENOENT)
			rh_warn("@ not available: %s", err.msg);
		return 0;       /* not logged in: ~ and ^ only */
	}
	memset(&o, 0, sizeof(o));
	o.login = &login;
	o.connect_timeout_ms = (long)(fs->opts.connect_timeout * 1000);
	o.timeout_ms = (long)(fs->opts.connect_timeout * 1000);
	r = rh_remote_new(&o, &fs->remote, &err);
	rh_login_free(&login);
	if (r < 0) {
		rh_warn("@ not available: %s", err.msg);
		return 0;
	}
	rh_remote_on_change(fs->remote, on_change, fs);
	return 0;
}

void
remote_close(struct fs *fs)
{
	rh_remote_free(fs->remote);
	fs->remote = NULL;
}

const char *
remote_user(const struct fs *fs)
{
	return fs->remote ? rh_remote_user(fs->remote) : NULL;
}

struct rh_store *
remote_top(struct fs *fs, const char *name, int *err)
{
	struct rh_store *s = NULL;
	int r = -ENOENT;

	if (fs->remote != NULL && strcmp(name, "~") != 0 &&
	    strcmp(name, "^") != 0 && strcmp(name, "@") != 0 &&
	    strcmp(name, ".log") != 0)
		r = rh_remote_store(fs->remote, name, &s);
	if (r < 0 && r != -ENOENT)
		rh_warn("/%s: %s", name, strerror(-r));
	if (err != NULL)
		*err = r;
	return r == 0 ? s : NULL;
}

void
remote_list_tops(struct fs *fs, rh_list_cb cb, void *arg)
{
	struct rh_err err;

	if (fs->remote != NULL &&
	    rh_remote_tops(fs->remote, cb, arg, &err) < 0)
		rh_warn("listing the shared namespace: %s", err.msg);
}

int
remote_addr(struct fs *fs, const char *addr, struct rh_store **s,
            const char **path, struct rh_err *err)
{
	const char *user = remote_user(fs), *slash;
	char *top;
	int r;

	if (user == NULL)
		return rh_err_set(err, EHOSTUNREACH, "%s: the shared namespace "
		                  "is not available in this mount (rh login)",
		                  addr);
	if (addr[0] == '@' && (addr[1] == '/' || addr[1] == '\0')) {
		top = xstrdup(user);
		*path = addr[1] ? addr + 2 : "";
	} else if (addr[0] == '/' && addr[1] != '\0') {
		slash = strchr(addr + 1, '/');
		top = slash ? xstrndup(addr + 1, (size_t)(slash - addr - 1)) :
		              xstrdup(addr + 1);
		*path = slash ? slash + 1 : "";
	} else {
		return rh_err_set(err, EINVAL, "%s: not an address", addr);
	}
	*s = remote_top(fs, top, &r);
	if (*s == NULL)
		rh_err_set(err, -r, "%s: %s", addr, r == -ENOENT ?
		           "no such top folder" : strerror(-r));
	free(top);
	return *s ? 0 : r;
}

/* ---- @: a symlink to the user's top folder; until logged in, a
 * directory with a README ---- */

static const char at_readme[] =
	"@ is the shared namespace: the same names for a whole team, kept in\n"
	"etcd, every change versioned. This mount has no login (or could\n"
	"not use it: .log says why), so @ is empty and nothing can be made\n"
	"in it. To use it:\n"
	"\n"
	"    rh login --url URL --user NAME      # prompts for the password\n"
	"\n"
	"then unmount and mount again: rhfs reads the login when it mounts.\n"
	"Until then, ~ (the local namespace) and ^ (the builtins) work\n"
	"without a login. See rh(1) and rhfs(1).\n";

static int
at_readme_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	rh_buf_append(&h->buf, at_readme, sizeof(at_readme) - 1);
	return 0;
}

static const struct fs_kind kind_at_readme = {
	.name = "README",
	.mode = 0444,
	.open = at_readme_open,
	.read = read_open_buf,
	.truncate = stream_truncate,
};

static int
at_getattr(struct fs *fs, struct node *n, struct handle *h, struct stat *st)
{
	if (remote_user(fs) == NULL) {
		st->st_mode = S_IFDIR | 0555;
		return 0;
	}
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(remote_user(fs));
	return 0;
}

static int
at_readlink(struct fs *fs, struct node *n, char **target)
{
	if (remote_user(fs) == NULL)
		return -EINVAL;
	*target = xstrdup(remote_user(fs));
	return 0;
}

static int
at_lookup(struct fs *fs, struct node *dir, const char *name,
          struct found *f)
{
	if (remote_user(fs) != NULL ||
	    strcmp(name, kind_at_readme.name) != 0)
		return -ENOENT;
	f->kind = &kind_at_readme;
	return 0;
}

static int
at_readdir(struct fs *fs, struct node *dir, struct dirsnap *d)
{
	if (remote_user(fs) == NULL)
		dirsnap_add(d, kind_at_readme.name, S_IFREG);
	return 0;
}

static int
at_refuse(const struct fs *fs)
{
	if (remote_user(fs) == NULL)
		rh_warn("refused: @: this mount has no login, so the shared "
		        "namespace is empty; run rh login --url URL --user "
		        "NAME and mount again (see @/README)");
	return -EPERM;
}

const struct fs_kind kind_at = {
	.name = "@",
	.mode = 0555,
	.fmt = S_IFDIR,
	.getattr = at_getattr,
	.readlink = at_readlink,
	.lookup = at_lookup,
	.readdir = at_readdir,
	.refuse = at_refuse,
};

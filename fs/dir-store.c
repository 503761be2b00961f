/* dir-store.c - a store directory: a folder of a namespace (~, ^, a
 * shared top folder), or a resource, which shows its config.json and the
 * files of its type's rows (types.c) beside its subfolders. Other names
 * are editors' temp files (scratch.c), kept in memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>             /* RENAME_NOREPLACE, RENAME_EXCHANGE */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

#define CONFIG_NAME "config.json"

static void
set_times(struct stat *st, const struct rh_stat *rs)
{
	st->st_mtim = rs->mtime;
	st->st_atim = rs->mtime;
	st->st_ctim = rs->ctime;
}

/* A folder's or resource's mode and times, from the store's stat. */
static void
dir_attr(const struct rh_store *s, const struct rh_stat *rs,
         struct stat *st)
{
	st->st_mode = S_IFDIR | (s->readonly ? 0555 : 0755);
	if (rs->denied)
		st->st_mode = S_IFDIR | 0111;   /* reach, not list */
	set_times(st, rs);
}

/* n's directory watched from now on, if it is not (in t, for watch_set
 * after the stat). */
static void
watch_self(struct fs *fs, struct node *n, const char *path,
           struct watch_tok *t)
{
	int watched, have;

	pthread_mutex_lock(&fs->lock);
	watched = n->watched;
	have = !watched && watch_have(fs, n, t);
	pthread_mutex_unlock(&fs->lock);
	if (watched)
		t->wd = 0;      /* nothing to do after */
	else if (!have)
		watch_begin(fs, n->store, path, t);
}

/* after n's stat rs: n watched from now on, if t may say so */
static void
watch_self_end(struct fs *fs, struct node *n, struct watch_tok *t,
               const struct rh_stat *rs)
{
	if (t->wd <= 0 && !rs->linked)
		return;
	pthread_mutex_lock(&fs->lock);
	t->blind = rs->linked;
	if (t->wd > 0)
		watch_set(fs, n, t);
	else
		n->watched = 0;
	pthread_mutex_unlock(&fs->lock);
}

static int
dir_getattr(struct fs *fs, struct node *n, struct handle *h,
            struct stat *st)
{
	struct rh_stat rs;
	struct watch_tok t;
	char *path = node_dir_path(fs, n);
	int r;

	watch_self(fs, n, path, &t);
	r = n->store->ops->stat(n->store, path, &rs);
	free(path);
	if (r == 0 && rs.kind != RH_ABSENT)
		watch_self_end(fs, n, &t, &rs);
	if (r < 0)
		return r;
	if (rs.kind == RH_ABSENT)
		return -ENOENT;
	dir_attr(n->store, &rs, st);
	return 0;
}

/*
 * rm -r lists a resource, removes its config.json first, then the names
 * its type showed (invoke, calls, status...): those names stay "gone"
 * in the folder (found, removable, empty) until removed, the folder is
 * listed again or is a resource again, so that rm -r goes through.
 */
static void
gone_set(struct fs *fs, struct node *dir, char *type)
{
	const char *names[33];
	unsigned bits = 0, i, n = (unsigned)types_names(type, names);

	for (i = 0; i < n; i++)
		bits |= 1u << i;
	pthread_mutex_lock(&fs->lock);
	free(dir->gone_type);
	dir->gone_type = bits ? type : NULL;
	dir->gone = bits;
	pthread_mutex_unlock(&fs->lock);
	if (!bits)
		free(type);
}

/* Whether name is gone in dir (take: and now removed); *f what it was. */
static int
gone_find(struct fs *fs, struct node *dir, const char *name, int take,
          struct found *f)
{
	const char *names[33];
	unsigned i, n;
	int r = 0;

	pthread_mutex_lock(&fs->lock);
	if (dir->gone_type != NULL) {
		n = (unsigned)types_names(dir->gone_type, names);
		for (i = 0; i < n; i++)
			if (strcmp(names[i], name) == 0 &&
			    (dir->gone & (1u << i)))
				break;
		if (i < n) {
			r = 1;
			if (f != NULL)
				f->kind = types_row(dir->gone_type, name);
			if (take)
				dir->gone &= ~(1u << i);
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return r;
}

static void
gone_clear(struct fs *fs, struct node *dir)
{
	pthread_mutex_lock(&fs->lock);
	free(dir->gone_type);
	dir->gone_type = NULL;
	dir->gone = 0;
	pthread_mutex_unlock(&fs->lock);
}

int
store_is_gone(struct fs *fs, struct node *dir, const char *name)
{
	return gone_find(fs, dir, name, 0, NULL);
}

/* Refuse a change to a name that is part of the resource at dir. */
static int
typed_refused(struct fs *fs, struct node *dir, const char *path,
              const char *name, const char *what)
{
	char *addr;

	if (types_lookup(fs, dir, name) == NULL)
		return 0;
	addr = rh_address(dir->store->prefix, path);
	rh_warn("refused: %s/%s is part of the resource: it cannot be %s",
	        addr, name, what);
	free(addr);
	return -EPERM;
}

/* An editor's temp file at child, held in f. */
static int
find_scratch(struct fs *fs, struct rh_store *s, const char *child,
             struct found *f)
{
	pthread_mutex_lock(&fs->lock);
	if ((f->sc = scratch_find(fs, s, child)) != NULL)
		f->sc->refs++;
	pthread_mutex_unlock(&fs->lock);
	if (f->sc == NULL)
		return 0;
	f->kind = &kind_scratch;
	return 1;
}

/* A name in a resource: config.json, a row of its type, or one its
 * config.json just took along. */
static int
lookup_in_resource(struct fs *fs, struct node *dir, const char *name,
                   const struct rh_stat *rs, struct found *f)
{
	if (strcmp(name, CONFIG_NAME) == 0) {
		f->kind = &kind_config;
		return rs->kind == RH_RESOURCE ? 0 : -ENOENT;
	}
	if (rs->kind == RH_RESOURCE)
		return (f->kind = types_lookup(fs, dir, name)) ? 0 : 1;
	return gone_find(fs, dir, name, 0, f) ? 0 : 1;
}

static int
dir_lookup(struct fs *fs, struct node *dir, const char *name,
           struct found *f)
{
	struct rh_stat rs;
	char *path, *child;
	int r;

	if (strlen(name) > RH_NAME_MAX)
		return -ENAMETOOLONG;
	path = node_dir_path(fs, dir);
	r = dir->store->ops->stat(dir->store, path, &rs);
	if (r == 0 && (r = lookup_in_resource(fs, dir, name, &rs, f)) <= 0) {
		free(path);
		return r;
	}
	child = rh_path_join(path, name);
	free(path);
	if (find_scratch(fs, dir->store, child, f)) {
		free(child);
		return 0;
	}
	if (rh_name_check(name, NULL) < 0) {
		r = -ENOENT;
	} else {
		struct node *c;
		int have;

		pthread_mutex_lock(&fs->lock);
		c = node_lookup(fs, dir, name);
		have = c != NULL && c->kind == &kind_store_dir &&
		       watch_have(fs, c, &f->wt);
		pthread_mutex_unlock(&fs->lock);
		if (!have)
			watch_begin(fs, dir->store, child, &f->wt);
		r = dir->store->ops->stat(dir->store, child, &rs);
		f->wt.blind = r == 0 && rs.linked;
	}
	free(child);
	if (r < 0)
		return r;
	if (rs.kind == RH_ABSENT)
		return -ENOENT;
	f->kind = &kind_store_dir;
	return 0;
}

struct names {
	char **v;
	size_t n;
};

static int
collect_name(void *arg, const char *name, enum rh_kind kind)
{
	struct names *ns = arg;

	ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
	ns->v[ns->n++] = xstrdup(name);
	return 0;
}

/* The temp files in the directory at path, to cb (if not NULL), and how
 * many: collected under the lock, handed on after it (dirsnap_add takes
 * the lock itself). */
static size_t
list_scratch(struct fs *fs, struct node *dir, const char *path,
             rh_list_cb cb, void *arg)
{
	struct names tmp = { NULL, 0 };
	size_t i;

	pthread_mutex_lock(&fs->lock);
	scratch_list(fs, dir->store, path, collect_name, &tmp);
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; i < tmp.n; i++) {
		if (cb != NULL)
			cb(arg, tmp.v[i], RH_ABSENT);
		free(tmp.v[i]);
	}
	free(tmp.v);
	return tmp.n;
}

/* A folder's listing with the attributes of each name in it. */
struct listing {
	struct fs *fs;
	struct node *dir;
	struct dirsnap *d;
	const char *path;
	size_t scratches;       /* editors' temp files in it */
	int64_t held_after;     /* what the kernel holds past then */
	char *watched;          /* the name wt watches (list_want) */
	struct watch_tok wt;
};

/* An rh_list_want_cb: a folder or resource whose entry and attributes
 * the kernel still holds (given less than -o timeout ago, not
 * invalidated since) needs none: the kernel keeps what it has. */
static int
list_want(void *arg, const char *name)
{
	struct listing *l = arg;
	struct node *c;
	char *child;
	int held, have;

	pthread_mutex_lock(&l->fs->lock);
	c = node_lookup(l->fs, l->dir, name);
	held = c != NULL && c->kind == &kind_store_dir &&
	       c->held_until > l->held_after;
	have = !held && c != NULL && c->kind == &kind_store_dir &&
	       watch_have(l->fs, c, &l->wt);
	pthread_mutex_unlock(&l->fs->lock);
	if (held)
		return 0;
	/* watched before its stat */
	if (!have) {
		child = rh_path_join(l->path, name);
		watch_begin(l->fs, l->dir->store, child, &l->wt);
		free(child);
	}
	free(l->watched);
	l->watched = xstrdup(name);
	return 1;
}

/* An rh_list_stat_cb: a folder or resource with the attributes its
 * lookup gives, which readdirplus hands to the kernel (so that `ls -l`
 * looks no name up). A name that is also an editor's temp file (which
 * the lookup finds first) goes without. */
static int
list_found(void *arg, const char *name, const struct rh_stat *rs)
{
	struct listing *l = arg;
	struct found f;
	char *child;
	int sc = 0;

	if (l->scratches > 0) {
		child = rh_path_join(l->path, name);
		pthread_mutex_lock(&l->fs->lock);
		sc = scratch_find(l->fs, l->dir->store, child) != NULL;
		pthread_mutex_unlock(&l->fs->lock);
		free(child);
	}
	if (rs == NULL || sc || rs->kind == RH_ABSENT) {
		dirsnap_add(l->d, name, S_IFDIR);
		return 0;
	}
	memset(&f, 0, sizeof(f));
	f.kind = &kind_store_dir;
	f.has_attr = 1;
	if (l->watched != NULL && strcmp(l->watched, name) == 0) {
		f.wt = l->wt;
		f.wt.blind = rs->linked;
	}
	kind_attr(l->fs, &kind_store_dir, &f.st);
	dir_attr(l->dir->store, rs, &f.st);
	dirsnap_add_found(l->d, name, &f);
	return 0;
}

static int
dir_readdir(struct fs *fs, struct node *n, struct dirsnap *d)
{
	struct listing l = { fs, n, d, NULL, 0, 0, NULL, { 0, 0, 0 } };
	const char *names[33];
	struct watch_tok t;
	struct rh_stat rs;
	char *path, *type;
	size_t i, count;
	int r;

	gone_clear(fs, n);
	path = node_dir_path(fs, n);
	/* watched before it is listed: what is added after shows */
	watch_self(fs, n, path, &t);
	if ((r = n->store->ops->stat(n->store, path, &rs)) == 0 &&
	    rs.kind == RH_ABSENT)
		r = -ENOENT;
	if (r == 0)
		watch_self_end(fs, n, &t, &rs);
	if (r == 0 && rs.kind == RH_RESOURCE) {
		type = res_type(fs, n);
		/* a secret's fields and a resource's data before the
		 * config: rm -r removes them while config.json still makes
		 * them what they are */
		types_list(fs, n, type, d);
		dirsnap_add(d, CONFIG_NAME, S_IFREG);
		count = types_names(type, names);
		for (i = 0; i < count; i++)
			dirsnap_add(d, names[i],
			            types_row(type, names[i])->fmt == S_IFDIR ?
			            S_IFDIR : S_IFREG);
		free(type);
	}
	/* in a folder, what each name is the store says in its listing;
	 * in a resource, its own names come first (a lookup's order) */
	if (r == 0 && rs.kind == RH_FOLDER && n->store->ops->list_stat) {
		l.path = path;
		l.scratches = list_scratch(fs, n, path, NULL, NULL);
		/* the listing reaches the kernel a little later */
		l.held_after = rh_now_ms() + 200;
		r = n->store->ops->list_stat(n->store, path, list_want,
		                             list_found, &l);
	} else if (r == 0) {
		r = n->store->ops->list(n->store, path, dirsnap_cb, d);
	}
	if (r == 0)
		list_scratch(fs, n, path, dirsnap_cb, d);
	free(l.watched);
	free(path);
	return r;
}

/* The store path of dir, for an operation that changes the store. */
static int
writable(struct fs *fs, struct node *dir, char **path)
{
	*path = NULL;
	if (dir->store->readonly)
		return -EROFS;
	*path = node_dir_path(fs, dir);
	return 0;
}

int
root_config(const struct node *dir, const char *path)
{
	if (*path != '\0')
		return 0;
	rh_warn("refused: %s: the root of a namespace cannot be a resource",
	        dir->name);
	return -EINVAL;
}

struct depth {
	struct rh_store *s;
	const char *path;
	size_t len, max;        /* of path below the top, and the longest */
};

static int
depth_child(void *arg, const char *name, enum rh_kind kind)
{
	struct depth *d = arg, sub = *d;
	char *p;

	if (kind == RH_ABSENT)
		return 0;
	p = rh_path_join(d->path, name);
	sub.path = p;
	sub.len = sub.max = d->len + 1 + strlen(name);
	d->s->ops->list(d->s, p, depth_child, &sub);
	free(p);
	if (sub.max > d->max)
		d->max = sub.max;
	return 0;
}

/* Whether the tree at store path from (NULL: a new folder), moved or made
 * at to, can be reached: the path of each config.json below it, in the
 * mount and, for ~, on disk, within PATH_MAX. A longer one could not be
 * opened, nor have its name follow its address. */
static int
reachable(struct fs *fs, struct rh_store *s, const char *from,
          const char *to)
{
	struct depth d = { s, from, 0, 0 };
	const char *root = s == fs->local ? rh_store_local_root(s) : NULL;
	size_t tail, mnt, disk = 0;
	char *addr;

	if (from != NULL)
		s->ops->list(s, from, depth_child, &d);
	/* "/" to, what is below, "/config.json" and the NUL */
	tail = (*to ? 1 + strlen(to) : 0) + d.max + 1 + strlen(CONFIG_NAME) +
	       1;
	mnt = fs->mount_len + (s->prefix[0] == '/' ? 0 : 1) +
	      strlen(s->prefix) + tail;
	if (root != NULL)
		disk = strlen(root) + tail;
	if (mnt <= PATH_MAX && disk <= PATH_MAX)
		return 0;
	addr = rh_address(s->prefix, to);
	rh_warn("refused: %s: a path below it would be %zu bytes long, over "
	        "the %d a path can have%s", addr, mnt > disk ? mnt : disk,
	        PATH_MAX, mnt > disk ? " in the mount" : " in the workdir");
	free(addr);
	return -ENAMETOOLONG;
}

/* config.json created or opened by O_CREAT. */
static int
create_config(struct fs *fs, struct node *dir, const char *path, int flags,
              int *created)
{
	struct rh_stat rs;
	int r;

	if ((r = root_config(dir, path)) < 0 ||
	    (r = dir->store->ops->stat(dir->store, path, &rs)) < 0)
		return r;
	if (rs.kind == RH_RESOURCE && (flags & O_EXCL))
		return -EEXIST;
	*created = rs.kind != RH_RESOURCE;
	return 0;
}

/* A new temp file (or an old one: O_CREAT without O_EXCL), held in f. */
static int
create_scratch(struct fs *fs, struct node *dir, const char *path,
               const char *name, mode_t mode, int flags, struct found *f)
{
	struct rh_stat rs;
	struct scratch *sc;
	char *child = rh_path_join(path, name);
	int r;

	if ((r = dir->store->ops->stat(dir->store, child, &rs)) < 0)
		goto out;
	if (rs.kind != RH_ABSENT) {
		r = -EISDIR;
		goto out;
	}
	pthread_mutex_lock(&fs->lock);
	if ((sc = scratch_find(fs, dir->store, child)) != NULL &&
	    (flags & O_EXCL)) {
		pthread_mutex_unlock(&fs->lock);
		r = -EEXIST;
		goto out;
	}
	if (sc == NULL)
		sc = scratch_new(fs, dir->store, child, mode);
	sc->refs++;     /* handed to the node */
	pthread_mutex_unlock(&fs->lock);
	f->kind = &kind_scratch;
	f->sc = sc;
out:
	free(child);
	return r;
}

static int
dir_create(struct fs *fs, struct node *dir, const char *name, mode_t mode,
           int flags, struct found *f, int *created)
{
	char *path;
	int r;

	if ((r = writable(fs, dir, &path)) < 0 ||
	    (r = check_name(dir, name)) < 0)
		goto out;
	if (strcmp(name, CONFIG_NAME) == 0) {
		f->kind = &kind_config;
		r = create_config(fs, dir, path, flags, created);
	} else if ((r = types_on_create(fs, dir, name, flags, f)) <= 0) {
		;       /* a row's own (a new field of a secret, a blob's
		         * data) */
	} else {
		r = create_scratch(fs, dir, path, name, mode, flags, f);
	}
out:
	free(path);
	return r;
}

static int
dir_mkdir(struct fs *fs, struct node *dir, const char *name, mode_t mode,
          struct found *f)
{
	char *path, *child;
	int r;

	if ((r = writable(fs, dir, &path)) < 0 ||
	    (r = check_name(dir, name)) < 0)
		goto out;
	if (strcmp(name, CONFIG_NAME) == 0) {
		rh_warn("refused: %s: '%s' is the name of a resource's config",
		        path, name);
		r = -EINVAL;
		goto out;
	}
	if ((r = types_on_mkdir(fs, dir, name)) <= 0)
		goto out;       /* a row's own (a folder's data/) */
	child = rh_path_join(path, name);
	if ((r = reachable(fs, dir->store, NULL, child)) == 0)
		r = dir->store->ops->mkdir(dir->store, child);
	free(child);
	f->kind = &kind_store_dir;
out:
	free(path);
	return r;
}

static int
dir_rmdir(struct fs *fs, struct node *dir, const char *name)
{
	char *path, *child = NULL;
	int r, own = 0;

	if ((r = writable(fs, dir, &path)) < 0)
		goto out;
	child = rh_path_join(path, name);
	if (gone_find(fs, dir, name, 1, NULL))
		r = 0;          /* a send's calls/, gone with it */
	else if ((r = types_on_rmdir(fs, dir, name)) <= 0)
		own = 1;        /* a row's own (a folder's data/) */
	else if ((r = typed_refused(fs, dir, path, name, "removed")) < 0)
		;               /* a live send's calls/ */
	else if (list_scratch(fs, dir, child, NULL, NULL) > 0)
		r = -ENOTEMPTY;
	else
		r = dir->store->ops->rmdir(dir->store, child);
	if (r == 0 && !own)
		types_on_removed(fs, dir->store, child);
out:
	free(child);
	free(path);
	return r;
}

/* config.json removed: the resource becomes a plain folder. */
static int
unlink_config(struct fs *fs, struct node *dir, const char *path)
{
	char *type = res_type(fs, dir);
	int r;

	if ((r = dir->store->ops->remove(dir->store, path)) == 0)
		gone_set(fs, dir, type);
	else
		free(type);
	return r;
}

static int
unlink_scratch(struct fs *fs, struct node *dir, const char *path,
               const char *name)
{
	struct rh_stat rs;
	struct scratch *sc;
	char *child = rh_path_join(path, name);
	int r = 0;

	pthread_mutex_lock(&fs->lock);
	if ((sc = scratch_find(fs, dir->store, child)) != NULL)
		scratch_unlink(fs, sc);
	pthread_mutex_unlock(&fs->lock);
	if (sc == NULL) {
		r = dir->store->ops->stat(dir->store, child, &rs);
		if (r == 0)
			r = rs.kind == RH_ABSENT ? -ENOENT : -EISDIR;
	}
	free(child);
	return r;
}

static int
dir_unlink(struct fs *fs, struct node *dir, const char *name)
{
	char *path;
	int r;

	if ((r = writable(fs, dir, &path)) < 0)
		goto out;
	if (strcmp(name, CONFIG_NAME) == 0)
		r = unlink_config(fs, dir, path);
	else if ((r = types_on_unlink(fs, dir, name)) <= 0)
		;               /* a row's own (a secret's field) */
	else if ((r = typed_refused(fs, dir, path, name, "removed")) < 0)
		;               /* invoke, status...: part of the resource */
	else if (gone_find(fs, dir, name, 1, NULL))
		r = 0;          /* gone with its config.json */
	else
		r = unlink_scratch(fs, dir, path, name);
out:
	free(path);
	return r;
}

enum what { W_NONE, W_DIR, W_CONFIG, W_SCRATCH };

/* What name is in the store directory at path; *sc is held if scratch. */
static int
what_is(struct fs *fs, struct rh_store *s, const char *path,
        const char *name, enum what *w, struct scratch **sc)
{
	struct rh_stat rs;
	char *child;
	int r;

	*w = W_NONE;
	*sc = NULL;
	if (strcmp(name, CONFIG_NAME) == 0) {
		if ((r = s->ops->stat(s, path, &rs)) < 0)
			return r;
		if (rs.kind == RH_RESOURCE)
			*w = W_CONFIG;
		return 0;
	}
	child = rh_path_join(path, name);
	pthread_mutex_lock(&fs->lock);
	if ((*sc = scratch_find(fs, s, child)) != NULL) {
		(*sc)->refs++;
		*w = W_SCRATCH;
	}
	pthread_mutex_unlock(&fs->lock);
	r = *sc ? 0 : s->ops->stat(s, child, &rs);
	free(child);
	if (r == 0 && *sc == NULL && rs.kind != RH_ABSENT)
		*w = W_DIR;
	return r;
}

/* config.json -> a temp file (vim's backup): the content goes along and
 * the resource becomes a folder. */
static int
config_to_scratch(struct fs *fs, struct rh_store *s, const char *dir,
                  const char *to, struct scratch *dst)
{
	struct rh_buf cfg = { 0 };
	int r;

	if ((r = s->ops->get(s, dir, &cfg, NULL)) < 0)
		goto out;
	pthread_mutex_lock(&fs->lock);
	if (dst == NULL) {
		dst = scratch_new(fs, s, to, 0644);
	}
	rh_buf_truncate(&dst->data, 0);
	rh_buf_append(&dst->data, cfg.data, cfg.len);
	clock_gettime(CLOCK_REALTIME, &dst->mtime);
	pthread_mutex_unlock(&fs->lock);
	if ((r = s->ops->remove(s, dir)) < 0) {
		pthread_mutex_lock(&fs->lock);
		scratch_unlink(fs, dst);
		pthread_mutex_unlock(&fs->lock);
	}
out:
	rh_buf_free(&cfg);
	return r;
}

/* A temp file -> config.json (sed -i, editors): stored only if valid. */
static int
scratch_to_config(struct fs *fs, struct rh_store *s, const char *dir,
                  struct scratch *sc)
{
	struct rh_buf copy = { 0 };
	struct rh_err err;
	int r;

	pthread_mutex_lock(&fs->lock);
	rh_buf_append(&copy, sc->data.data, sc->data.len);
	pthread_mutex_unlock(&fs->lock);
	rh_buf_reserve(&copy, 0);
	r = rh_store_put_config(s, dir, copy.data, copy.len, 0, &err);
	rh_buf_free(&copy);
	if (r < 0) {
		rh_warn("refused: %s", err.msg);
		return r;
	}
	pthread_mutex_lock(&fs->lock);
	scratch_unlink(fs, sc);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* A rename between two store directories of one store. */
struct move {
	struct node *sdir, *ddir;
	const char *name, *newname;
	char *spath, *dpath, *from, *to;
	struct rh_store *s;
	enum what sw, dw;
	struct scratch *ssc, *dsc;
	unsigned flags;
};

/* A folder or resource, with everything below it. */
static int
move_dir(struct fs *fs, struct move *m)
{
	struct rh_store *s = m->s;
	int r;

	if (strcmp(m->newname, CONFIG_NAME) == 0 || m->dw == W_SCRATCH)
		return -ENOTDIR;
	if ((r = reachable(fs, s, m->from, m->to)) < 0)
		return r;
	r = s->ops->rename(s, m->from, m->to, m->flags & RENAME_NOREPLACE);
	if (r == 0) {
		pthread_mutex_lock(&fs->lock);
		scratch_rename_dir(fs, s, m->from, m->to);
		pthread_mutex_unlock(&fs->lock);
		types_on_moved(fs, s, m->from, m->to);
	} else if (r == -EINVAL) {
		rh_warn("refused: cannot move %s%s into itself", s->prefix,
		        m->from);
	}
	return r;
}

/* A file: config.json or a temp file, to either. */
static int
move_file(struct fs *fs, struct move *m)
{
	struct rh_err err;
	int r = 0;

	if (m->dw == W_DIR)
		return -EISDIR;
	if (m->sw == W_CONFIG && strcmp(m->newname, CONFIG_NAME) == 0) {
		if (strcmp(m->spath, m->dpath) != 0 &&
		    (r = root_config(m->ddir, m->dpath)) == 0 &&
		    (r = rh_store_move_config(m->s, m->spath, m->dpath,
		                              &err)) < 0)
			rh_warn("refused: %s", err.msg);
		return r;
	}
	if (m->sw == W_CONFIG)
		return config_to_scratch(fs, m->s, m->spath, m->to, m->dsc);
	if (strcmp(m->newname, CONFIG_NAME) == 0)
		return (r = root_config(m->ddir, m->dpath)) < 0 ? r :
		       scratch_to_config(fs, m->s, m->dpath, m->ssc);
	pthread_mutex_lock(&fs->lock);
	if (m->dsc != NULL && m->dsc != m->ssc)
		scratch_unlink(fs, m->dsc);
	free(m->ssc->path);
	m->ssc->path = xstrdup(m->to);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* The source's inode now has the new name, and the kind it means. */
static void
move_node(struct fs *fs, struct move *m)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	if ((n = node_lookup(fs, m->sdir, m->name)) != NULL) {
		node_move(fs, n, m->ddir, m->newname);
		if (n->kind == &kind_scratch &&
		    strcmp(m->newname, CONFIG_NAME) == 0) {
			n->kind = &kind_config;
			if (n->scratch != NULL)
				scratch_put(n->scratch);
			n->scratch = NULL;
		} else if (n->kind == &kind_config &&
		           strcmp(m->newname, CONFIG_NAME) != 0) {
			n->kind = &kind_scratch;
			n->scratch = scratch_find(fs, m->s, m->to);
			if (n->scratch != NULL)
				n->scratch->refs++;
		}
	} else if ((n = node_lookup(fs, m->ddir, m->newname)) != NULL) {
		node_unhash(fs, n);
	}
	pthread_mutex_unlock(&fs->lock);
}

static int
move(struct fs *fs, struct move *m)
{
	int r;

	/* a row's own (a secret's field) */
	if ((r = types_on_rename(fs, m->sdir, m->spath, m->name, m->ddir,
	                         m->dpath, m->newname, m->flags)) <= 0)
		return r;
	/* invoke, calls, status...: not onto them (the config would become
	 * a temporary file behind one), nor from them */
	if ((r = typed_refused(fs, m->sdir, m->spath, m->name,
	                       "renamed")) < 0 ||
	    (r = typed_refused(fs, m->ddir, m->dpath, m->newname,
	                       "replaced")) < 0)
		return r;
	if ((r = what_is(fs, m->s, m->spath, m->name, &m->sw, &m->ssc)) < 0 ||
	    (r = what_is(fs, m->s, m->dpath, m->newname, &m->dw,
	                 &m->dsc)) < 0)
		return r;
	if (m->sw == W_NONE)
		return -ENOENT;
	if (m->dw != W_NONE && (m->flags & RENAME_NOREPLACE))
		return -EEXIST;
	m->from = rh_path_join(m->spath, m->name);
	m->to = rh_path_join(m->dpath, m->newname);
	r = m->sw == W_DIR ? move_dir(fs, m) : move_file(fs, m);
	if (r == 0)
		move_node(fs, m);
	return r;
}

static int
dir_rename(struct fs *fs, struct node *sdir, const char *name,
           struct node *ddir, const char *newname, unsigned flags)
{
	struct move m;
	int r;

	memset(&m, 0, sizeof(m));
	m.sdir = sdir;
	m.ddir = ddir;
	m.name = name;
	m.newname = newname;
	m.flags = flags;
	m.s = sdir->store;
	m.spath = node_dir_path(fs, sdir);
	m.dpath = node_dir_path(fs, ddir);
	if (flags & RENAME_EXCHANGE)
		r = -EINVAL;
	else if ((r = check_name(ddir, newname)) < 0)
		;
	else if (sdir->store != ddir->store)
		r = -EXDEV;
	else if (m.s->readonly)
		r = -EROFS;
	else
		r = move(fs, &m);
	if (r == 0) {
		notify_inode(fs, sdir->ino);
		if (ddir != sdir)
			notify_inode(fs, ddir->ino);
	}
	if (r == 0 && strcmp(newname, CONFIG_NAME) == 0)
		types_on_config(fs, ddir->ino);
	pthread_mutex_lock(&fs->lock);
	if (m.ssc != NULL)
		scratch_put(m.ssc);
	if (m.dsc != NULL)
		scratch_put(m.dsc);
	pthread_mutex_unlock(&fs->lock);
	free(m.from);
	free(m.to);
	free(m.spath);
	free(m.dpath);
	return r;
}

const struct fs_kind kind_store_dir = {
	.name = "folder",
	.mode = 0755,
	.fmt = S_IFDIR,
	.store_dir = 1,
	.getattr = dir_getattr,
	.lookup = dir_lookup,
	.readdir = dir_readdir,
	.create = dir_create,
	.mkdir = dir_mkdir,
	.rmdir = dir_rmdir,
	.unlink = dir_unlink,
	.rename = dir_rename,
};

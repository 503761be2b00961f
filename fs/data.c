/*
 * data.c - a folder's and a table's data/ directory and a blob's data
 * file: the resource's store (datastore.h) as files, live. Three kinds:
 * kind_data_dir (data/, a row of folder and table in types.c),
 * kind_data_blob (data, a row of blob) and kind_data (what is below
 * data/). Their rows' hooks answer for the name "data" in its resource's
 * directory (create, mkdir, rmdir, unlink, rename), and follow its
 * config when it is written through the mount.
 *
 * The nodes of one data tree share its root (struct droot): the
 * resource's address and its open store. The store is opened when
 * "data" is looked up, and opened again when the resource's location
 * (system, path, data_config) has changed; an open file keeps the store
 * it was opened on until it is closed. A node's store path is the names
 * from the tree's root down to it.
 *
 * Caching: the kernel keeps attributes and entries for -o data_timeout
 * seconds (what changes elsewhere shows within it); this mount's own
 * changes reach the kernel at once (its replies, and invalidations of
 * what they make stale). A file's pages stay cached across opens while
 * its size and mtime are those this mount last saw.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datastore.h"
#include "rhfs.h"

#define DATA_NAME "data"

/* One opened store; open files hold it too. */
struct dstore {
	struct rh_data *d;
	char *blob;             /* a blob: its entry in the store's root */
	char *key;              /* the location it was opened for */
	unsigned refs;          /* atomic */
};

/* A data tree: shared by its nodes. */
struct droot {
	pthread_mutex_t lock;   /* cur */
	struct dstore *cur;     /* NULL: the location could not be opened */
	char *addr;             /* the resource, for messages */
	mode_t kind;            /* S_IFDIR: data/; S_IFREG: a blob's data */
	unsigned nodes;         /* nodes holding it (fs->lock) */
};

/* An open file of a data tree (its struct handle's priv). */
struct dhandle {
	struct dstore *s;
	struct rh_data_file *f;
	int written;
	struct node *node;
	struct dhandle *next;   /* in node->dhandles (fs->lock) */
};

/* What an operation works on: the store (held) and the path in it. */
struct dop {
	struct dstore *s;
	char *path;
};

static void
dstore_put(struct dstore *s)
{
	if (s == NULL || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	rh_data_free(s->d);
	free(s->blob);
	free(s->key);
	free(s);
}

static struct dstore *
dstore_hold(struct dstore *s)
{
	if (s != NULL)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	return s;
}

void
data_node_drop(struct node *n)
{
	struct droot *root = n->droot;

	n->droot = NULL;
	if (root == NULL || --root->nodes > 0)
		return;
	dstore_put(root->cur);
	pthread_mutex_destroy(&root->lock);
	free(root->addr);
	free(root);
}

/* Whether dir is a node of a data tree. */
static int
is_data(const struct node *dir)
{
	return dir->kind == &kind_data || dir->kind == &kind_data_dir ||
	       dir->kind == &kind_data_blob;
}

/* The store and path of n (of its entry name, if name is not NULL). */
static int
dop_begin(struct fs *fs, struct node *n, const char *name, struct dop *o)
{
	struct droot *root;
	char *rel;

	o->s = NULL;
	o->path = NULL;
	if (name != NULL && (strlen(name) > NAME_MAX))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&fs->lock);
	root = n->droot;
	rel = node_names(n, is_data);
	pthread_mutex_unlock(&fs->lock);
	pthread_mutex_lock(&root->lock);
	o->s = dstore_hold(root->cur);
	pthread_mutex_unlock(&root->lock);
	if (o->s == NULL) {
		free(rel);
		return -EIO;    /* its location could not be opened: logged */
	}
	if (o->s->blob != NULL && name != NULL) {
		free(rel);
		dstore_put(o->s);
		o->s = NULL;
		return -ENOTDIR;
	}
	if (o->s->blob != NULL)
		o->path = xstrdup(o->s->blob);
	else if (name != NULL)
		o->path = rh_path_join(rel, name);
	else
		o->path = xstrdup(rel);
	free(rel);
	return 0;
}

static void
dop_end(struct dop *o)
{
	dstore_put(o->s);
	free(o->path);
}

static const struct rh_data_ops *
ops_of(const struct dop *o)
{
	return o->s->d->ops;
}

/* What "data" is for the resource cfg: S_IFDIR, S_IFREG, or 0 (none: not
 * a folder, table or blob, or a folder marker). */
static mode_t
kind_of(const cJSON *cfg, const char *addr)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                  "resource_type");
	struct rh_data_loc loc;
	struct rh_err err;

	if (!cJSON_IsString(t))
		return 0;
	if (strcmp(t->valuestring, "folder") != 0 &&
	    strcmp(t->valuestring, "table") != 0 &&
	    strcmp(t->valuestring, "blob") != 0)
		return 0;
	if (rh_data_locate(cfg, addr, &loc, &err) == 0 &&
	    loc.kind == RH_DATA_NONE)
		return 0;
	return strcmp(t->valuestring, "blob") == 0 ? S_IFREG : S_IFDIR;
}

/* What says where cfg's bytes are, as one string. */
static char *
loc_key(const cJSON *cfg)
{
	static const char *const keys[] = { "resource_type", "system", "fs",
	                                    "path", "url", "data_config",
	                                    NULL };
	cJSON *o = cJSON_CreateObject(), *v;
	char *s;
	int i;

	for (i = 0; keys[i] != NULL; i++)
		if ((v = cJSON_GetObjectItemCaseSensitive(cfg, keys[i])))
			cJSON_AddItemReferenceToObject(o, keys[i], v);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* The data resource at dir: its config, address and kind; 1 when dir
 * is not one (the name "data" is the namespace's). */
static int
load_res(struct fs *fs, struct node *dir, cJSON **cfg, char **addr,
         mode_t *kind)
{
	struct rh_err err;

	*cfg = NULL;
	*addr = NULL;
	if (dir == NULL || !dir->kind->store_dir ||
	    res_load(fs, dir, addr, cfg, &err) < 0)
		return 1;
	if ((*kind = kind_of(*cfg, *addr)) == 0) {
		cJSON_Delete(*cfg);
		free(*addr);
		*cfg = NULL;
		*addr = NULL;
		return 1;
	}
	return 0;
}

/* root's store, opened (again) if cfg's location is not the one it has.
 * 1: it was opened anew. */
static int
root_refresh(struct fs *fs, struct droot *root, const cJSON *cfg,
             const char *addr)
{
	struct dstore *s, *old = NULL;
	struct rh_err err;
	char *key = loc_key(cfg);
	int r = 0;

	pthread_mutex_lock(&root->lock);
	if (root->cur != NULL && strcmp(root->cur->key, key) == 0) {
		pthread_mutex_unlock(&root->lock);
		free(key);
		return 0;
	}
	s = xcalloc(1, sizeof(*s));
	r = rh_data_open(cfg, addr, fs->opts.local, &fs->data_opts, &s->d,
	                 &s->blob, &err);
	if (r < 0) {
		rh_warn("%s", err.msg);
		free(s);
		free(key);
		s = NULL;
	} else {
		s->key = key;
		s->refs = 1;
		r = 1;
	}
	old = root->cur;
	root->cur = s;
	pthread_mutex_unlock(&root->lock);
	dstore_put(old);
	return r;
}

/* Attributes the kernel is given: the store's, with our inode. */
static void
fix_attr(const struct node *n, struct stat *st)
{
	st->st_ino = n->ino;
	if (st->st_blksize == 0)
		st->st_blksize = 4096;
}

static double
data_ttl(const struct fs *fs)
{
	return fs->opts.data_timeout;
}

/* Whether the page cache of n can stay: its size and mtime, and its
 * version where the store gives one (st_ino: S3's ETag), are those this
 * mount last saw. Records st as seen. */
static int
seen_same(struct fs *fs, struct node *n, const struct stat *st)
{
	int same;

	pthread_mutex_lock(&fs->lock);
	same = n->seen && n->seen_size == st->st_size &&
	       n->seen_mtime.tv_sec == st->st_mtim.tv_sec &&
	       n->seen_mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       (n->seen_ver == 0 || st->st_ino == 0 ||
	        n->seen_ver == st->st_ino);
	n->seen = 1;
	n->seen_size = st->st_size;
	n->seen_mtime = st->st_mtim;
	n->seen_ver = st->st_ino;
	pthread_mutex_unlock(&fs->lock);
	return same;
}

/* What to do to a file by its handle: its attributes, truncate, set. */
enum by_handle { H_STAT, H_TRUNCATE, H_SETATTR };

static int
by_handle(struct dhandle *h, enum by_handle what, struct stat *st,
          off_t size, const struct rh_data_attr *a)
{
	const struct rh_data_ops *ops = h->s->d->ops;

	return what == H_STAT ? ops->fstat(h->f, st) :
	       what == H_TRUNCATE ? ops->truncate(h->s->d, NULL, h->f, size) :
	       ops->setattr(h->s->d, NULL, h->f, a);
}

/* A file gone from its path (unlinked, renamed over) that is still open
 * here: through one of its open handles; -ENOENT when none is. */
static int
by_open(struct fs *fs, struct node *n, enum by_handle what, struct stat *st,
        off_t size, const struct rh_data_attr *a)
{
	int r = -ENOENT;

	pthread_mutex_lock(&fs->lock);
	if (n->dhandles != NULL)
		r = by_handle(n->dhandles, what, st, size, a);
	pthread_mutex_unlock(&fs->lock);
	return r;
}

/* A file open here with writes staged by its store: chmod, truncate and
 * utimens by path (fchmod and futimens come so) go through the handle
 * that wrote, so that the store keeps them with what it stores at close;
 * -ENOENT when no handle of n has written. */
static int
by_written(struct fs *fs, struct node *n, enum by_handle what,
           struct stat *st, off_t size, const struct rh_data_attr *a)
{
	struct dhandle *h;
	int r = -ENOENT;

	pthread_mutex_lock(&fs->lock);
	for (h = n->dhandles; h != NULL && !h->written; h = h->next)
		;
	if (h != NULL)
		r = by_handle(h, what, st, size, a);
	pthread_mutex_unlock(&fs->lock);
	return r;
}

static int
has_written(struct fs *fs, struct node *n)
{
	struct dhandle *h;

	pthread_mutex_lock(&fs->lock);
	for (h = n->dhandles; h != NULL && !h->written; h = h->next)
		;
	pthread_mutex_unlock(&fs->lock);
	return h != NULL;
}


/* Open n (the entry name of dir, created, when name is not NULL). */
static int
open_at(struct fs *fs, struct node *n, const char *name, int flags,
        mode_t mode, struct dhandle **out, struct stat *st)
{
	struct dhandle *h;
	struct dop o;
	int r;

	if ((r = dop_begin(fs, n, name, &o)) < 0)
		return r;
	h = xcalloc(1, sizeof(*h));
	r = ops_of(&o)->open(o.s->d, o.path, flags, mode, &h->f);
	if (r == 0 && (r = ops_of(&o)->fstat(h->f, st)) < 0)
		ops_of(&o)->close(h->f);
	if (r < 0) {
		free(h);
		dop_end(&o);
		return r;
	}
	h->s = dstore_hold(o.s);
	dop_end(&o);
	*out = h;
	return 0;
}

/* h is n's: listed among its open handles. */
static void
handle_attach(struct fs *fs, struct node *n, struct dhandle *h)
{
	pthread_mutex_lock(&fs->lock);
	h->node = n;
	h->next = n->dhandles;
	n->dhandles = h;
	pthread_mutex_unlock(&fs->lock);
}

static void
handle_close(struct fs *fs, struct node *n, struct dhandle *h)
{
	const struct rh_data_ops *ops = h->s->d->ops;
	struct stat st;
	struct dhandle **pp;
	int r;

	pthread_mutex_lock(&fs->lock);
	for (pp = &n->dhandles; *pp != NULL; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	pthread_mutex_unlock(&fs->lock);
	/* what this mount wrote is in the page cache already */
	if (h->written && ops->fstat(h->f, &st) == 0)
		seen_same(fs, n, &st);
	if ((r = ops->close(h->f)) < 0)
		rh_warn("%s: closing a file of its data: %s", h->s->d->addr,
		        strerror(-r));
	dstore_put(h->s);
	free(h);
}

/* --- the tree's nodes --- */


/* The kind of node the resource's data is: its row's. */
static const struct fs_kind *
root_kind(mode_t kind)
{
	return kind == S_IFREG ? &kind_data_blob : &kind_data_dir;
}

/* What "data" is in the resource at dir (name: "data"), if it is a
 * data resource: S_IFDIR or S_IFREG, else 0. */
static mode_t
res_data(struct fs *fs, struct node *dir, const char *name)
{
	mode_t kind;
	cJSON *cfg;
	char *addr;

	if (strcmp(name, DATA_NAME) != 0 ||
	    load_res(fs, dir, &cfg, &addr, &kind))
		return 0;
	cJSON_Delete(cfg);
	free(addr);
	return kind;
}

/* The data tree of the node n, named "data" in a resource's directory:
 * made if n has none, its store opened again if its location changed. */
static int
root_attach(struct fs *fs, struct node *n, struct found *f)
{
	struct droot *root;
	struct node *dir;
	struct dop o;
	mode_t kind;
	cJSON *cfg;
	char *addr;
	int r;

	pthread_mutex_lock(&fs->lock);
	dir = n->parent;
	pthread_mutex_unlock(&fs->lock);
	if (load_res(fs, dir, &cfg, &addr, &kind) ||
	    root_kind(kind) != n->kind)
		return -ENOENT;         /* it changed since the lookup */
	pthread_mutex_lock(&fs->lock);
	if (n->droot == NULL) {
		root = xcalloc(1, sizeof(*root));
		pthread_mutex_init(&root->lock, NULL);
		root->addr = xstrdup(addr);
		root->kind = kind;
		root->nodes = 1;
		n->droot = root;
	}
	root = n->droot;
	pthread_mutex_unlock(&fs->lock);
	r = root_refresh(fs, root, cfg, addr);
	cJSON_Delete(cfg);
	free(addr);
	if (r == 1)
		notify_inode(fs, n->ino);       /* what was cached is another's */
	if (r < 0 || f == NULL)
		return r < 0 ? r : 0;
	/* looked up: it is there if the store has it */
	if ((r = dop_begin(fs, n, NULL, &o)) == 0) {
		r = ops_of(&o)->stat(o.s->d, o.path, &f->st);
		dop_end(&o);
	}
	f->has_attr = r == 0;
	return r;
}

/* A node below data/: its parent's tree. */
static int
child_attach(struct fs *fs, struct node *n, struct found *f)
{
	pthread_mutex_lock(&fs->lock);
	if (n->droot == NULL) {
		n->droot = n->parent->droot;
		n->droot->nodes++;
	}
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* This mount changed what is in dir: the attributes the kernel has of
 * it may have been read just before, and are dropped. */
static void
changed(struct fs *fs, struct node *dir)
{
	notify_inode(fs, dir->ino);
}

/* --- the operations of the tree's nodes --- */

static struct dhandle *
dhandle_of(const struct handle *h)
{
	return h != NULL ? h->priv : NULL;
}

static int
d_getattr(struct fs *fs, struct node *n, struct handle *hd, struct stat *st)
{
	struct dhandle *h = dhandle_of(hd);
	struct dop o;
	int r;

	/* a file open here with writes the store stages or keeps beside
	 * it until close: what its handle holds */
	if (h == NULL && has_written(fs, n) &&
	    by_written(fs, n, H_STAT, st, 0, NULL) == 0) {
		r = 0;
	} else if (h != NULL) {
		r = h->s->d->ops->fstat(h->f, st);
	} else if ((r = dop_begin(fs, n, NULL, &o)) == 0) {
		r = ops_of(&o)->stat(o.s->d, o.path, st);
		dop_end(&o);
		if (r == -ENOENT)
			r = by_open(fs, n, H_STAT, st, 0, NULL);
	}
	if (r == 0)
		fix_attr(n, st);
	return r;
}

/* How a setattr reaches n's file: the handle the kernel gives, else a
 * handle here that wrote (its store keeps what it is given with what it
 * stores at close), else the path, else (the path is gone) any handle
 * open here. */
struct attr_way {
	struct fs *fs;
	struct node *n;
	struct dhandle *h;
	struct dop *o;
	int staged, gone;
};

static int
attr_op(struct attr_way *w, enum by_handle what, struct stat *st,
        off_t size, const struct rh_data_attr *a)
{
	const struct rh_data_ops *ops = ops_of(w->o);
	int r;

	if (w->h != NULL)
		return by_handle(w->h, what, st, size, a);
	if (w->staged) {
		r = by_written(w->fs, w->n, what, st, size, a);
		/* the handle that wrote was released meanwhile (its close(2)
		 * came before, and stored what it wrote): by path now */
		if (r != -ENOENT || has_written(w->fs, w->n))
			return r;
		w->staged = 0;
	}
	if (!w->gone) {
		r = what == H_STAT ? ops->stat(w->o->s->d, w->o->path, st) :
		    what == H_TRUNCATE ?
		    ops->truncate(w->o->s->d, w->o->path, NULL, size) :
		    ops->setattr(w->o->s->d, w->o->path, NULL, a);
		if (r != -ENOENT)
			return r;
		w->gone = 1;
	}
	return by_open(w->fs, w->n, what, st, size, a);
}

static int
d_setattr(struct fs *fs, struct node *n, struct handle *hd,
          const struct stat *attr, int to_set, struct stat *cur)
{
	struct rh_data_attr a = { 0 };
	struct dop o;
	struct attr_way w = { fs, n, dhandle_of(hd), &o, 0, 0 };
	int r;

	if (to_set & FUSE_SET_ATTR_MODE) {
		a.what |= RH_DATA_MODE;
		a.mode = attr->st_mode & 07777;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		a.what |= RH_DATA_ATIME;
		a.atime = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			a.atime.tv_nsec = UTIME_NOW;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		a.what |= RH_DATA_MTIME;
		a.mtime = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			a.mtime.tv_nsec = UTIME_NOW;
	}
	if ((r = dop_begin(fs, n, NULL, &o)) < 0)
		return r;
	w.staged = w.h == NULL && has_written(fs, n);
	r = attr_op(&w, H_STAT, cur, 0, NULL);
	/* an owner asked for that is the present one changes nothing (a
	 * store that keeps no owners takes it) */
	a.uid = (uid_t)-1;
	a.gid = (gid_t)-1;
	if (r == 0 && (to_set & FUSE_SET_ATTR_UID) &&
	    attr->st_uid != cur->st_uid)
		a.uid = attr->st_uid;
	if (r == 0 && (to_set & FUSE_SET_ATTR_GID) &&
	    attr->st_gid != cur->st_gid)
		a.gid = attr->st_gid;
	if (a.uid != (uid_t)-1 || a.gid != (gid_t)-1)
		a.what |= RH_DATA_OWNER;
	if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		r = attr_op(&w, H_TRUNCATE, NULL, attr->st_size, NULL);
	if (r == 0 && a.what != 0)
		r = attr_op(&w, H_SETATTR, NULL, 0, &a);
	if (r == 0)
		r = attr_op(&w, H_STAT, cur, 0, NULL);
	dop_end(&o);
	if (r < 0)
		return r;
	if (to_set & FUSE_SET_ATTR_SIZE)
		seen_same(fs, n, cur);          /* the kernel truncated too */
	fix_attr(n, cur);
	return 0;
}

static int
d_lookup(struct fs *fs, struct node *dir, const char *name, struct found *f)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) == 0) {
		r = ops_of(&o)->stat(o.s->d, o.path, &f->st);
		dop_end(&o);
	}
	f->kind = &kind_data;
	f->has_attr = r == 0;
	return r;
}

/* A listing's entry, with its attributes: readdirplus gives them (not
 * when the store's listing does not say all, st_nlink 0: the kernel looks
 * the name up when it wants them). */
static int
list_add(const char *name, const struct stat *st, void *arg)
{
	struct found f;

	if (st->st_nlink == 0) {
		dirsnap_add(arg, name, st->st_mode & S_IFMT);
		return 0;
	}

	memset(&f, 0, sizeof(f));
	f.kind = &kind_data;
	f.has_attr = 1;
	f.st = *st;
	dirsnap_add_found(arg, name, &f);
	return 0;
}

static int
d_readdir(struct fs *fs, struct node *n, struct dirsnap *d)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, n, NULL, &o)) < 0)
		return r;
	r = o.s->blob != NULL ? -ENOTDIR :
	    ops_of(&o)->list(o.s->d, o.path, list_add, d);
	dop_end(&o);
	return r;
}

/* The attributes of what a change made at o's path, for the entry of
 * name (r: what the change returned). */
static int
d_made(struct dop *o, struct found *f, int r)
{
	if (r == 0)
		r = ops_of(o)->stat(o->s->d, o->path, &f->st);
	dop_end(o);
	f->kind = &kind_data;
	f->has_attr = r == 0;
	return r;
}

static int
d_mkdir(struct fs *fs, struct node *dir, const char *name, mode_t mode,
        struct found *f)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) < 0)
		return r;
	return d_made(&o, f, ops_of(&o)->mkdir(o.s->d, o.path, mode));
}

static int
d_symlink(struct fs *fs, struct node *dir, const char *name,
          const char *target, struct found *f)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) < 0)
		return r;
	r = ops_of(&o)->symlink == NULL ? -EPERM :
	    ops_of(&o)->symlink(o.s->d, target, o.path);
	return d_made(&o, f, r);
}

static int
d_mknod(struct fs *fs, struct node *dir, const char *name, mode_t mode,
        dev_t rdev, struct found *f)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) < 0)
		return r;
	r = rh_data_mknod(o.s->d, o.path, mode, rdev);
	return d_made(&o, f, r);
}

static int
d_link(struct fs *fs, struct node *n, struct node *dir, const char *name,
       struct found *f)
{
	struct dop from, to;
	int r, same;

	/* from another tree, or what is no data: another store */
	pthread_mutex_lock(&fs->lock);
	same = n->kind == &kind_data && n->droot == dir->droot;
	pthread_mutex_unlock(&fs->lock);
	if (!same)
		return -EXDEV;
	if ((r = dop_begin(fs, n, NULL, &from)) < 0)
		return r;
	if ((r = dop_begin(fs, dir, name, &to)) < 0) {
		dop_end(&from);
		return r;
	}
	r = from.s != to.s ? -EXDEV : ops_of(&to)->link == NULL ? -EPERM :
	    ops_of(&to)->link(to.s->d, from.path, to.path);
	dop_end(&from);
	return d_made(&to, f, r);
}

static int
d_remove(struct fs *fs, struct node *dir, const char *name, int isdir)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) == 0) {
		r = isdir ? ops_of(&o)->rmdir(o.s->d, o.path) :
		    ops_of(&o)->unlink(o.s->d, o.path);
		dop_end(&o);
	}
	return r;
}

static int
d_rmdir(struct fs *fs, struct node *dir, const char *name)
{
	return d_remove(fs, dir, name, 1);
}

static int
d_unlink(struct fs *fs, struct node *dir, const char *name)
{
	return d_remove(fs, dir, name, 0);
}

/* The file is made by its open (create's flags and mode), in one step
 * with it, as a store that stages writes needs. */
static int
d_create(struct fs *fs, struct node *dir, const char *name, mode_t mode,
         int flags, struct found *f, int *created)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) < 0)
		return r;
	dop_end(&o);
	f->kind = &kind_data;
	*created = 1;
	return 0;
}

static int
d_rename(struct fs *fs, struct node *sdir, const char *name,
         struct node *ddir, const char *newname, unsigned flags)
{
	struct dop so, to;
	struct node *a, *b;
	int r;

	/* between two trees: another store */
	if (sdir->droot != ddir->droot)
		return -EXDEV;
	if ((r = dop_begin(fs, sdir, name, &so)) < 0)
		return r;
	if ((r = dop_begin(fs, ddir, newname, &to)) == 0) {
		r = so.s != to.s ? -EXDEV :
		    ops_of(&so)->rename(so.s->d, so.path, to.path, flags);
		dop_end(&to);
	}
	dop_end(&so);
	if (r < 0)
		return r;
	pthread_mutex_lock(&fs->lock);
	a = node_lookup(fs, sdir, name);
	b = node_lookup(fs, ddir, newname);
	if (a != NULL)
		node_move(fs, a, ddir, newname);
	else if (b != NULL)
		node_unhash(fs, b);
	if ((flags & RENAME_EXCHANGE) && b != NULL)
		node_move(fs, b, sdir, name);
	pthread_mutex_unlock(&fs->lock);
	changed(fs, sdir);
	if (ddir != sdir)
		changed(fs, ddir);
	return 0;
}

static int
d_readlink(struct fs *fs, struct node *n, char **target)
{
	char buf[PATH_MAX + 1];
	struct dop o;
	int r;

	if ((r = dop_begin(fs, n, NULL, &o)) == 0) {
		r = ops_of(&o)->readlink(o.s->d, o.path, buf, sizeof(buf));
		dop_end(&o);
	}
	if (r == 0)
		*target = xstrdup(buf);
	return r;
}

static int
d_open(struct fs *fs, struct handle *hd, struct rh_err *err)
{
	struct node *n = hd->node;
	struct dhandle *h;
	struct stat st;
	int flags = hd->flags | (hd->created ? O_CREAT : 0), r;

	if ((r = open_at(fs, n, NULL, flags, hd->mode, &h, &st)) < 0)
		return r;
	if (hd->created ||
	    ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY))
		h->written = 1;
	/* pages cached while the size and mtime are those last seen;
	 * appends go where the store's end is, which the kernel's cached
	 * size may not know: not through the page cache */
	hd->keep_cache = seen_same(fs, n, &st) && !hd->created;
	hd->direct_io = (flags & O_APPEND) != 0;
	handle_attach(fs, n, h);
	hd->priv = h;
	return 0;
}

static void
d_read(fuse_req_t req, struct handle *hd, size_t size, off_t off)
{
	struct dhandle *h = dhandle_of(hd);
	char *buf = xmalloc(size ? size : 1);
	size_t got = 0;
	ssize_t n = 0;

	/* a short read is the end of the file to the kernel: fill it */
	while (got < size &&
	       (n = h->s->d->ops->read(h->f, buf + got, size - got,
	                               off + (off_t)got)) > 0)
		got += (size_t)n;
	if (n < 0 && got == 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, got);
	free(buf);
}

static void
d_write(fuse_req_t req, struct handle *hd, const char *data, size_t size,
        off_t off)
{
	struct dhandle *h = dhandle_of(hd);
	struct fs *fs = hd->fs;
	fuse_ino_t ino = hd->node->ino;
	int append = hd->direct_io;
	ssize_t w = h->s->d->ops->write(h->f, data, size, off);

	if (w < 0) {
		fuse_reply_err(req, (int)-w);
		return;
	}
	h->written = 1;
	/* once replied to, the file may be closed and hd gone */
	fuse_reply_write(req, (size_t)w);
	/* an append by-passed the page cache, which may hold that range */
	if (append)
		notify_inode(fs, ino);
}

static int
d_flush(struct handle *hd)
{
	struct dhandle *h = dhandle_of(hd);
	const struct rh_data_ops *ops = h->s->d->ops;

	return ops->flush == NULL ? 0 : ops->flush(h->f);
}

static int
d_fsync(struct handle *hd, int datasync)
{
	struct dhandle *h = dhandle_of(hd);

	return h->s->d->ops->fsync(h->f, datasync);
}

static void
d_release(struct handle *hd)
{
	handle_close(hd->fs, hd->node, dhandle_of(hd));
}

/* --- the name "data" in its resource's directory (the rows' hooks,
 * the same for both rows' kinds) --- */

static int
root_claims(struct fs *fs, struct node *dir, const char *name)
{
	return res_data(fs, dir, name) != 0;
}

/* The resource's data is listed while it is there: a folder's or
 * table's data/ always, a blob's data while the blob exists. */
static int
root_list(struct fs *fs, struct node *dir, rh_list_cb cb, void *arg)
{
	struct rh_data *d;
	struct stat st;
	struct rh_err err;
	mode_t kind;
	cJSON *cfg;
	char *addr, *blob = NULL;
	int r = 0;

	if (load_res(fs, dir, &cfg, &addr, &kind))
		return 0;
	if (kind == S_IFREG) {
		r = rh_data_open(cfg, addr, fs->opts.local, &fs->data_opts,
		                 &d, &blob, &err);
		if (r == 0) {
			r = d->ops->stat(d, blob, &st);
			rh_data_free(d);
		}
		free(blob);
	}
	cJSON_Delete(cfg);
	free(addr);
	return r < 0 ? 0 :
	       cb(arg, DATA_NAME, kind == S_IFREG ? RH_ABSENT : RH_FOLDER);
}

/* The root node of dir's data tree (of kind), for an operation on
 * "data" itself. */
static int
root_dop(struct fs *fs, struct node *dir, mode_t kind, struct dop *o)
{
	struct node *n;
	int r;

	/* held by a reference of its own meanwhile: a forget of the
	 * kernel's may come */
	pthread_mutex_lock(&fs->lock);
	n = node_add(fs, dir, DATA_NAME, root_kind(kind), dir->store);
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	if ((r = root_attach(fs, n, NULL)) == 0)
		r = dop_begin(fs, n, NULL, o);
	pthread_mutex_lock(&fs->lock);
	node_forget(fs, n, 1);          /* unless the kernel has it */
	pthread_mutex_unlock(&fs->lock);
	return r;
}

static int
count_entry(const char *name, const struct stat *st, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

/* rmdir of a folder's data/ itself: the folder's bytes are there and
 * stay; it is removed as far as it can be, which is emptied. */
static int
root_rmdir(struct fs *fs, struct node *dir, const char *name)
{
	mode_t kind = res_data(fs, dir, name);
	struct stat st;
	struct dop o;
	size_t n = 0;
	int r;

	if (kind == 0)
		return 1;
	if ((r = root_dop(fs, dir, kind, &o)) < 0)
		return r;
	if (o.s->blob != NULL)
		r = ops_of(&o)->stat(o.s->d, o.path, &st) < 0 ? -ENOENT :
		    -ENOTDIR;
	else
		r = ops_of(&o)->list(o.s->d, o.path, count_entry, &n);
	dop_end(&o);
	return r < 0 ? r : n > 0 ? -ENOTEMPTY : 0;
}

/* unlink of a blob's data: the blob's file; a folder's data/ is a
 * directory. */
static int
root_unlink(struct fs *fs, struct node *dir, const char *name)
{
	mode_t kind = res_data(fs, dir, name);
	struct dop o;
	int r;

	if (kind == 0)
		return 1;
	if (kind == S_IFDIR)
		return -EISDIR;
	if ((r = root_dop(fs, dir, kind, &o)) < 0)
		return r;
	r = ops_of(&o)->unlink(o.s->d, o.path);
	dop_end(&o);
	return r;
}

/* create of a blob's data: made by its open, in one step with it. */
static int
root_create(struct fs *fs, struct node *dir, const char *name, int flags,
            struct found *f)
{
	mode_t kind = res_data(fs, dir, name);

	if (kind == 0)
		return 1;
	if (kind == S_IFDIR)
		return -EISDIR;
	f->kind = &kind_data_blob;
	return 0;
}

static int
root_mkdir(struct fs *fs, struct node *dir, const char *name)
{
	return res_data(fs, dir, name) ? -EEXIST : 1;
}

static int
root_rename(struct fs *fs, struct node *sdir, const char *spath,
            const char *name, struct node *ddir, const char *dpath,
            const char *newname, unsigned flags)
{
	if (res_data(fs, sdir, name)) {
		rh_warn("refused: %s is its resource's data: it cannot be "
		        "renamed", name);
		return -EPERM;
	}
	return res_data(fs, ddir, newname) ? -EXDEV : 1;
}

/* After the config of the resource at dir changed: its data tree's store
 * follows the new location. */
static void
root_recheck(struct fs *fs, fuse_ino_t ino)
{
	struct node *n, *dir;
	mode_t kind;
	cJSON *cfg;
	char *addr;

	pthread_mutex_lock(&fs->lock);
	dir = node_find(fs, ino);
	n = dir != NULL ? node_lookup(fs, dir, DATA_NAME) : NULL;
	if (n != NULL && n->kind != &kind_data_dir &&
	    n->kind != &kind_data_blob)
		n = NULL;
	pthread_mutex_unlock(&fs->lock);
	if (n == NULL)
		return;
	if (load_res(fs, dir, &cfg, &addr, &kind) || kind != n->droot->kind) {
		/* no longer this kind of data: looked up anew */
		notify_entry(fs, dir->ino, DATA_NAME);
	} else if (root_refresh(fs, n->droot, cfg, addr) != 0) {
		notify_inode(fs, n->ino);
		notify_entry(fs, dir->ino, DATA_NAME);
	}
	cJSON_Delete(cfg);
	free(addr);
}

/* What every node of a data tree does: what its store does. */
#define DATA_OPS \
	.getattr = d_getattr, \
	.getattr_fh = 1, \
	.ttl = data_ttl, \
	.setattr = d_setattr, \
	.open = d_open, \
	.read = d_read, \
	.write = d_write, \
	.flush = d_flush, \
	.fsync = d_fsync, \
	.release = d_release, \
	.readlink = d_readlink, \
	.lookup = d_lookup, \
	.readdir = d_readdir, \
	.create = d_create, \
	.mkdir = d_mkdir, \
	.rmdir = d_rmdir, \
	.unlink = d_unlink, \
	.rename = d_rename, \
	.symlink = d_symlink, \
	.mknod = d_mknod, \
	.link = d_link

/* What the rows' kinds add: the tree's root, and the name "data" in
 * its resource's directory. */
#define ROOT_OPS \
	.attach = root_attach, \
	.claims = root_claims, \
	.list = root_list, \
	.on_create = root_create, \
	.on_mkdir = root_mkdir, \
	.on_rmdir = root_rmdir, \
	.on_unlink = root_unlink, \
	.on_rename = root_rename, \
	.on_config = root_recheck

const struct fs_kind kind_data_dir = {
	.name = "data/",
	.fmt = S_IFDIR,
	DATA_OPS,
	ROOT_OPS,
};

const struct fs_kind kind_data_blob = {
	.name = "data",
	DATA_OPS,
	ROOT_OPS,
};

const struct fs_kind kind_data = {
	.name = "a file of data/",
	.attach = child_attach,
	DATA_OPS,
};

/*
 * data.c - a folder's and a table's data/ directory and a blob's data
 * file: the resource's store (datastore.h) as files, live. Every
 * operation on a node of a data tree (kind_data), and on the name "data" in
 * a folder, table or blob, is answered here; the rest goes on to the
 * namespace's operations (ops.c).
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
/* the largest request the kernel sends (max_write, max_pages) */
#define DATA_MAX_IO (1024 * 1024)

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

/* An open file of a data tree. */
struct dhandle {
	int dir;                /* 0: told from a listing (struct dlist) */
	struct dstore *s;
	struct rh_data_file *f;
	int written;
	struct node *node;
	struct dhandle *next;   /* in node->dhandles (fs->lock) */
};

/* A directory's listing, taken whole at opendir. */
struct dent {
	char *name;
	struct stat st;
};
struct dlist {
	int dir;                /* 1 */
	struct dent *e;
	size_t n;
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

/* The kind of a data tree's nodes: data.c answers every operation on
 * them, before ops.c would ask the kind. */
const struct fs_kind kind_data = { .name = "data" };

static int
is_data(const struct node *dir)
{
	return dir->kind == &kind_data;
}

static struct node *
data_node(struct fs *fs, fuse_ino_t ino)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, ino);
	if (n != NULL && n->kind != &kind_data)
		n = NULL;
	pthread_mutex_unlock(&fs->lock);
	return n;
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

/* The root node of dir's data tree, its store opened for cfg. */
static int
root_node(struct fs *fs, struct node *dir, const cJSON *cfg,
          const char *addr, mode_t kind, struct node **out)
{
	struct droot *root;
	struct node *n;
	int r;

	pthread_mutex_lock(&fs->lock);
	n = node_lookup(fs, dir, DATA_NAME);
	if (n != NULL && n->kind == &kind_data && n->droot->kind != kind)
		node_unhash(fs, n);     /* a folder became a blob: anew */
	n = node_add(fs, dir, DATA_NAME, &kind_data, NULL);
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
	*out = n;
	if ((r = root_refresh(fs, root, cfg, addr)) == 1)
		notify_inode(fs, n->ino);       /* what was cached is another's */
	return r < 0 ? r : 0;
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

static void
reply_dentry(fuse_req_t req, struct fs *fs, struct node *n,
             const struct stat *st)
{
	struct stat a = *st;

	fix_attr(n, &a);
	reply_node(req, fs, n, &a, data_ttl(fs));
}

/* The node for name in the data directory dir. */
static struct node *
child_node(struct fs *fs, struct node *dir, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_add(fs, dir, name, &kind_data, NULL);
	if (n->droot == NULL) {
		n->droot = dir->droot;
		n->droot->nodes++;
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* This mount changed what is in dir: the attributes the kernel has of
 * it may have been read just before, and are dropped. */
static void
changed(struct fs *fs, struct node *dir)
{
	notify_inode(fs, dir->ino);
}

/* Whether the page cache of n can stay: its size and mtime are those
 * this mount last saw. Records st as seen. */
static int
seen_same(struct fs *fs, struct node *n, const struct stat *st)
{
	int same;

	pthread_mutex_lock(&fs->lock);
	same = n->seen && n->seen_size == st->st_size &&
	       n->seen_mtime.tv_sec == st->st_mtim.tv_sec &&
	       n->seen_mtime.tv_nsec == st->st_mtim.tv_nsec;
	n->seen = 1;
	n->seen_size = st->st_size;
	n->seen_mtime = st->st_mtim;
	pthread_mutex_unlock(&fs->lock);
	return same;
}

/* --- the name "data" in a data resource's directory --- */

/* 1: name in dir is no data tree's (the namespace answers). */
static int
root_lookup(fuse_req_t req, struct fs *fs, struct node *dir,
            const char *name)
{
	struct node *n;
	struct dop o;
	struct stat st;
	mode_t kind;
	cJSON *cfg;
	char *addr;
	int r;

	if (strcmp(name, DATA_NAME) != 0 ||
	    load_res(fs, dir, &cfg, &addr, &kind))
		return 1;
	r = root_node(fs, dir, cfg, addr, kind, &n);
	cJSON_Delete(cfg);
	free(addr);
	if (r == 0 && (r = dop_begin(fs, n, NULL, &o)) == 0) {
		r = ops_of(&o)->stat(o.s->d, o.path, &st);
		dop_end(&o);
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_dentry(req, fs, n, &st);
	return 0;
}

int
data_entry(struct fs *fs, struct node *dir)
{
	struct rh_data *d;
	struct stat st;
	struct rh_err err;
	mode_t kind;
	cJSON *cfg;
	char *addr, *blob = NULL;
	int r;

	if (load_res(fs, dir, &cfg, &addr, &kind))
		return 0;
	if (kind == S_IFREG) {
		/* a blob's data is listed while it exists */
		r = rh_data_open(cfg, addr, fs->opts.local, &fs->data_opts,
		                 &d, &blob, &err);
		if (r == 0) {
			r = d->ops->stat(d, blob, &st);
			rh_data_free(d);
		}
		free(blob);
		if (r < 0)
			kind = 0;
	}
	cJSON_Delete(cfg);
	free(addr);
	return (int)kind;
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
	if (n != NULL && n->kind != &kind_data)
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

/* --- operations on data nodes --- */

static void
d_lookup(fuse_req_t req, struct fs *fs, struct node *dir, const char *name)
{
	struct stat st;
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) == 0) {
		r = ops_of(&o)->stat(o.s->d, o.path, &st);
		dop_end(&o);
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_dentry(req, fs, child_node(fs, dir, name), &st);
}

/* The handle fi names, if it is a file's. */
static struct dhandle *
handle_of(struct fuse_file_info *fi)
{
	struct dhandle *h = fi ? (struct dhandle *)(uintptr_t)fi->fh : NULL;

	return h != NULL && !h->dir ? h : NULL;
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

static void
d_getattr(fuse_req_t req, struct fs *fs, struct node *n,
          struct fuse_file_info *fi)
{
	struct dhandle *h = handle_of(fi);
	struct stat st;
	struct dop o;
	int r;

	if (h != NULL) {
		r = h->s->d->ops->fstat(h->f, &st);
	} else if ((r = dop_begin(fs, n, NULL, &o)) == 0) {
		r = ops_of(&o)->stat(o.s->d, o.path, &st);
		dop_end(&o);
		if (r == -ENOENT)
			r = by_open(fs, n, H_STAT, &st, 0, NULL);
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fix_attr(n, &st);
	fuse_reply_attr(req, &st, data_ttl(fs));
}

static void
d_setattr(fuse_req_t req, struct fs *fs, struct node *n, struct stat *attr,
          int to_set, struct fuse_file_info *fi)
{
	struct dhandle *h = handle_of(fi);
	struct rh_data_attr a = { 0 };
	struct stat cur;
	struct dop o;
	int r, gone;

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
	if ((r = dop_begin(fs, n, NULL, &o)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* by the handle the kernel gives, else by path, else (the path is
	 * gone) by a handle open here */
	r = h ? by_handle(h, H_STAT, &cur, 0, NULL) :
	    ops_of(&o)->stat(o.s->d, o.path, &cur);
	gone = h == NULL && r == -ENOENT;
	if (gone)
		r = by_open(fs, n, H_STAT, &cur, 0, NULL);
	/* owners stay: asking for the present ones is fine */
	if (r == 0 && (((to_set & FUSE_SET_ATTR_UID) &&
	                attr->st_uid != cur.st_uid) ||
	               ((to_set & FUSE_SET_ATTR_GID) &&
	                attr->st_gid != cur.st_gid)))
		r = -EPERM;
	if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		r = h ? by_handle(h, H_TRUNCATE, NULL, attr->st_size, NULL) :
		    gone ? by_open(fs, n, H_TRUNCATE, NULL, attr->st_size,
		                   NULL) :
		    ops_of(&o)->truncate(o.s->d, o.path, NULL, attr->st_size);
	if (r == 0 && a.what != 0)
		r = h ? by_handle(h, H_SETATTR, NULL, 0, &a) :
		    gone ? by_open(fs, n, H_SETATTR, NULL, 0, &a) :
		    ops_of(&o)->setattr(o.s->d, o.path, NULL, &a);
	if (r == 0)
		r = h ? by_handle(h, H_STAT, &cur, 0, NULL) :
		    gone ? by_open(fs, n, H_STAT, &cur, 0, NULL) :
		    ops_of(&o)->stat(o.s->d, o.path, &cur);
	dop_end(&o);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE)
		seen_same(fs, n, &cur);         /* the kernel truncated too */
	fix_attr(n, &cur);
	fuse_reply_attr(req, &cur, data_ttl(fs));
}

static int
list_add(const char *name, const struct stat *st, void *arg)
{
	struct dlist *l = arg;

	l->e = xrealloc(l->e, (l->n + 1) * sizeof(*l->e));
	l->e[l->n].name = xstrdup(name);
	l->e[l->n].st = *st;
	l->n++;
	return 0;
}

static void
dlist_free(struct dlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->e[i].name);
	free(l->e);
	free(l);
}

static void
d_opendir(fuse_req_t req, struct fs *fs, struct node *n,
          struct fuse_file_info *fi)
{
	struct dlist *l = xcalloc(1, sizeof(*l));
	struct stat st;

	l->dir = 1;
	struct dop o;
	int r;

	if ((r = dop_begin(fs, n, NULL, &o)) == 0) {
		if (o.s->blob != NULL)
			r = -ENOTDIR;
		else
			r = ops_of(&o)->list(o.s->d, o.path, list_add, l);
		dop_end(&o);
	}
	if (r < 0) {
		dlist_free(l);
		fuse_reply_err(req, -r);
		return;
	}
	/* ".." of the root is its resource's directory */
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFDIR;
	list_add(".", &st, l);
	list_add("..", &st, l);
	fi->fh = (uintptr_t)l;
	if (fuse_reply_open(req, fi) != 0)
		dlist_free(l);
}

/* Entries from off on, the two dot entries last in the list and first
 * in the listing. */
static void
d_readdir(fuse_req_t req, struct fs *fs, struct node *dir, size_t size,
          off_t off, struct fuse_file_info *fi, int plus)
{
	struct dlist *l = (struct dlist *)(uintptr_t)fi->fh;
	struct fuse_entry_param e;
	struct node *n;
	char *buf = xmalloc(size);
	size_t used = 0, len, idx;
	off_t i;

	for (i = off; i >= 0 && (size_t)i < l->n; i++) {
		/* 0, 1: "." and ".."; then the store's entries */
		idx = (size_t)i < 2 ? l->n - 2 + (size_t)i : (size_t)i - 2;
		memset(&e, 0, sizeof(e));
		e.attr = l->e[idx].st;
		n = NULL;
		if (i < 2) {
			e.attr.st_ino = i == 0 ? dir->ino : FUSE_UNKNOWN_INO;
		} else if (plus) {
			n = child_node(fs, dir, l->e[idx].name);
			fix_attr(n, &e.attr);
			e.ino = n->ino;
			e.attr_timeout = e.entry_timeout = data_ttl(fs);
		} else {
			pthread_mutex_lock(&fs->lock);
			n = node_lookup(fs, dir, l->e[idx].name);
			e.attr.st_ino = n != NULL && n->kind == &kind_data ?
			                n->ino : FUSE_UNKNOWN_INO;
			pthread_mutex_unlock(&fs->lock);
			n = NULL;
		}
		len = plus ? fuse_add_direntry_plus(req, buf + used,
		                                    size - used,
		                                    l->e[idx].name, &e, i + 1)
		           : fuse_add_direntry(req, buf + used, size - used,
		                               l->e[idx].name, &e.attr, i + 1);
		if (len > size - used) {
			if (n != NULL) {        /* not given: not kept */
				pthread_mutex_lock(&fs->lock);
				node_forget(fs, n, 0);
				pthread_mutex_unlock(&fs->lock);
			}
			break;
		}
		used += len;
		if (n != NULL) {
			pthread_mutex_lock(&fs->lock);
			n->nlookup++;   /* the entry given counts as a lookup */
			pthread_mutex_unlock(&fs->lock);
		}
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
d_mkdir(fuse_req_t req, struct fs *fs, struct node *dir, const char *name,
        mode_t mode)
{
	struct stat st;
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) == 0) {
		if ((r = ops_of(&o)->mkdir(o.s->d, o.path, mode)) == 0)
			r = ops_of(&o)->stat(o.s->d, o.path, &st);
		dop_end(&o);
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	reply_dentry(req, fs, child_node(fs, dir, name), &st);
	changed(fs, dir);
}

static void
d_remove(fuse_req_t req, struct fs *fs, struct node *dir, const char *name,
         int isdir)
{
	struct dop o;
	int r;

	if ((r = dop_begin(fs, dir, name, &o)) == 0) {
		r = isdir ? ops_of(&o)->rmdir(o.s->d, o.path) :
		    ops_of(&o)->unlink(o.s->d, o.path);
		dop_end(&o);
	}
	if (r == 0)
		node_forget_name(fs, dir, name);
	fuse_reply_err(req, -r);
	if (r == 0)
		changed(fs, dir);
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

static void
set_open_flags(struct fs *fs, struct node *n, struct fuse_file_info *fi,
               const struct stat *st)
{
	fi->keep_cache = seen_same(fs, n, st);
	/* appends go where the store's end is, which the kernel's cached
	 * size may not know: not through the page cache */
	fi->direct_io = (fi->flags & O_APPEND) != 0;
}

static void
d_open(fuse_req_t req, struct fs *fs, struct node *n,
       struct fuse_file_info *fi)
{
	struct dhandle *h;
	struct stat st;
	int r;

	if ((r = open_at(fs, n, NULL, fi->flags, 0, &h, &st)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		h->written = 1;
	set_open_flags(fs, n, fi, &st);
	handle_attach(fs, n, h);
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi) != 0)
		handle_close(fs, n, h);
}

/* Create name in dir: n is dir's child node for it after (root: dir
 * is the blob resource's directory, n its data node). */
static void
create_in(fuse_req_t req, struct fs *fs, struct node *dir, struct node *n,
          const char *name, mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	struct dhandle *h;
	struct stat st;
	int r;

	r = open_at(fs, n != NULL ? n : dir, n != NULL ? NULL : name,
	            fi->flags | O_CREAT, mode, &h, &st);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (n == NULL)
		n = child_node(fs, dir, name);
	h->written = 1;
	set_open_flags(fs, n, fi, &st);
	handle_attach(fs, n, h);
	fi->keep_cache = 0;
	memset(&e, 0, sizeof(e));
	e.attr = st;
	fix_attr(n, &e.attr);
	e.ino = n->ino;
	e.attr_timeout = e.entry_timeout = data_ttl(fs);
	fi->fh = (uintptr_t)h;
	pthread_mutex_lock(&fs->lock);
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	if (fuse_reply_create(req, &e, fi) != 0) {
		handle_close(fs, n, h);
		pthread_mutex_lock(&fs->lock);
		node_forget(fs, n, 1);
		pthread_mutex_unlock(&fs->lock);
	}
	changed(fs, dir);
}

static void
d_read(fuse_req_t req, struct dhandle *h, size_t size, off_t off)
{
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
d_write(fuse_req_t req, struct fs *fs, struct node *n, struct dhandle *h,
        const char *data, size_t size, off_t off,
        struct fuse_file_info *fi)
{
	ssize_t w = h->s->d->ops->write(h->f, data, size, off);

	if (w < 0) {
		fuse_reply_err(req, (int)-w);
		return;
	}
	h->written = 1;
	fuse_reply_write(req, (size_t)w);
	/* an append by-passed the page cache, which may hold that range */
	if (fi->direct_io)
		notify_inode(fs, n->ino);
}

/* --- the dispatch: data trees here, the rest to the namespace --- */

static void
w_init(void *userdata, struct fuse_conn_info *conn)
{
	ns_ops.init(userdata, conn);
	/* big requests for sequential I/O */
	if (conn->max_write < DATA_MAX_IO)
		conn->max_write = DATA_MAX_IO;
	conn->max_readahead = DATA_MAX_IO;
	conn->max_background = conn->max_background < 64 ? 64 :
	                       conn->max_background;
	/* pages cached while the file's mtime stays */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
}

static void
w_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir = data_node(fs, parent);

	if (dir != NULL)
		d_lookup(req, fs, dir, name);
	else if ((dir = node_get(fs, parent)) == NULL ||
	         root_lookup(req, fs, dir, name))
		ns_ops.lookup(req, parent, name);
}

static void
w_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = data_node(fs_of(req), ino);

	n ? d_getattr(req, fs_of(req), n, fi) : ns_ops.getattr(req, ino, fi);
}

static void
w_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
          struct fuse_file_info *fi)
{
	struct node *n = data_node(fs_of(req), ino);

	n ? d_setattr(req, fs_of(req), n, attr, to_set, fi) :
	    ns_ops.setattr(req, ino, attr, to_set, fi);
}

static void
w_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = data_node(fs_of(req), ino);

	n ? d_opendir(req, fs_of(req), n, fi) : ns_ops.opendir(req, ino, fi);
}

static void
w_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          struct fuse_file_info *fi)
{
	struct node *n = data_node(fs_of(req), ino);

	n ? d_readdir(req, fs_of(req), n, size, off, fi, 0) :
	    ns_ops.readdir(req, ino, size, off, fi);
}

static void
w_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
              struct fuse_file_info *fi)
{
	struct node *n = data_node(fs_of(req), ino);

	n ? d_readdir(req, fs_of(req), n, size, off, fi, 1) :
	    ns_ops.readdirplus(req, ino, size, off, fi);
}

static void
d_releasedir(fuse_req_t req, struct fuse_file_info *fi)
{
	dlist_free((struct dlist *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void
w_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	data_node(fs_of(req), ino) ? d_releasedir(req, fi) :
	                             ns_ops.releasedir(req, ino, fi);
}

/* What the name "data" is in the directory parent: 0 (not a data
 * resource's, or parent is a data node), else its kind. */
static mode_t
root_named(struct fs *fs, fuse_ino_t parent, const char *name)
{
	struct node *dir;
	mode_t kind;
	cJSON *cfg;
	char *addr;

	if (strcmp(name, DATA_NAME) != 0 || (dir = node_get(fs, parent)) == NULL ||
	    load_res(fs, dir, &cfg, &addr, &kind))
		return 0;
	cJSON_Delete(cfg);
	free(addr);
	return kind;
}

static void
w_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = fs_of(req);
	struct node *dir = data_node(fs, parent);

	if (dir != NULL)
		d_mkdir(req, fs, dir, name, mode);
	else if (root_named(fs, parent, name))
		fuse_reply_err(req, EEXIST);
	else
		ns_ops.mkdir(req, parent, name, mode);
}

/* rmdir of a folder's data/ itself: the folder's bytes are there and
 * stay; it is removed as far as it can be, which is emptied. */
static int
root_rmdir(struct fs *fs, fuse_ino_t parent)
{
	struct node *dir = node_get(fs, parent), *n;
	struct dlist l = { 1, NULL, 0 };
	struct stat st;
	struct dop o;
	mode_t kind;
	cJSON *cfg;
	char *addr;
	size_t i;
	int r;

	if (load_res(fs, dir, &cfg, &addr, &kind))
		return -ENOENT;
	r = root_node(fs, dir, cfg, addr, kind, &n);
	cJSON_Delete(cfg);
	free(addr);
	if (r < 0 || (r = dop_begin(fs, n, NULL, &o)) < 0)
		return r;
	if (o.s->blob != NULL)
		r = ops_of(&o)->stat(o.s->d, o.path, &st) < 0 ? -ENOENT :
		    -ENOTDIR;
	else
		r = ops_of(&o)->list(o.s->d, o.path, list_add, &l);
	dop_end(&o);
	for (i = 0; i < l.n; i++)
		free(l.e[i].name);
	free(l.e);
	return r < 0 ? r : l.n > 0 ? -ENOTEMPTY : 0;
}

static void
w_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir = data_node(fs, parent);

	if (dir != NULL)
		d_remove(req, fs, dir, name, 1);
	else if (root_named(fs, parent, name))
		fuse_reply_err(req, -root_rmdir(fs, parent));
	else
		ns_ops.rmdir(req, parent, name);
}

/* unlink of a blob's data: the blob's file; a folder's data/ is a
 * directory. */
static int
root_unlink(struct fs *fs, fuse_ino_t parent, mode_t kind)
{
	struct node *dir = node_get(fs, parent), *n;
	struct dop o;
	cJSON *cfg;
	char *addr;
	int r;

	if (kind == S_IFDIR)
		return -EISDIR;
	if (load_res(fs, dir, &cfg, &addr, &kind))
		return -ENOENT;
	r = root_node(fs, dir, cfg, addr, kind, &n);
	cJSON_Delete(cfg);
	free(addr);
	if (r < 0 || (r = dop_begin(fs, n, NULL, &o)) < 0)
		return r;
	r = ops_of(&o)->unlink(o.s->d, o.path);
	dop_end(&o);
	if (r == 0)
		node_forget_name(fs, dir, DATA_NAME);
	return r;
}

static void
w_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir = data_node(fs, parent);
	mode_t kind;

	if (dir != NULL)
		d_remove(req, fs, dir, name, 0);
	else if ((kind = root_named(fs, parent, name)) != 0)
		fuse_reply_err(req, -root_unlink(fs, parent, kind));
	else
		ns_ops.unlink(req, parent, name);
}

static void
w_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
         struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *dir = data_node(fs, parent), *n;
	mode_t kind;
	cJSON *cfg;
	char *addr;
	int r;

	if (dir != NULL) {
		create_in(req, fs, dir, NULL, name, mode, fi);
		return;
	}
	if ((kind = root_named(fs, parent, name)) == 0) {
		ns_ops.create(req, parent, name, mode, fi);
		return;
	}
	if (kind == S_IFDIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	/* a blob's data, made */
	dir = node_get(fs, parent);
	if (load_res(fs, dir, &cfg, &addr, &kind)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	r = root_node(fs, dir, cfg, addr, kind, &n);
	cJSON_Delete(cfg);
	free(addr);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		create_in(req, fs, dir, n, name, mode, fi);
}

static void
w_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
         fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = fs_of(req);
	struct node *sdir = data_node(fs, parent);
	struct node *ddir = data_node(fs, newparent), *a, *b;
	struct dop so, to;
	int r;

	if (sdir == NULL && ddir == NULL) {
		if (root_named(fs, parent, name)) {
			rh_warn("refused: %s is its resource's data: it "
			        "cannot be renamed", name);
			fuse_reply_err(req, EPERM);
		} else if (root_named(fs, newparent, newname)) {
			fuse_reply_err(req, EXDEV);
		} else {
			ns_ops.rename(req, parent, name, newparent, newname,
			              flags);
			if (strcmp(newname, "config.json") == 0)
				root_recheck(fs, newparent);
		}
		return;
	}
	/* into or out of a data tree, or between two: another store */
	if (sdir == NULL || ddir == NULL || sdir->droot != ddir->droot) {
		fuse_reply_err(req, EXDEV);
		return;
	}
	if ((r = dop_begin(fs, sdir, name, &so)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((r = dop_begin(fs, ddir, newname, &to)) == 0) {
		r = so.s != to.s ? -EXDEV :
		    ops_of(&so)->rename(so.s->d, so.path, to.path, flags);
		dop_end(&to);
	}
	dop_end(&so);
	if (r == 0) {
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
	}
	fuse_reply_err(req, -r);
	if (r == 0) {
		changed(fs, sdir);
		if (ddir != sdir)
			changed(fs, ddir);
	}
}

static void
w_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct node *n = data_node(fs, ino);
	char buf[PATH_MAX + 1];
	struct dop o;
	int r;

	if (n == NULL) {
		ns_ops.readlink(req, ino);
		return;
	}
	if ((r = dop_begin(fs, n, NULL, &o)) == 0) {
		r = ops_of(&o)->readlink(o.s->d, o.path, buf, sizeof(buf));
		dop_end(&o);
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, buf);
}

static void
w_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n = data_node(fs_of(req), ino);

	n ? d_open(req, fs_of(req), n, fi) : ns_ops.open(req, ino, fi);
}

static void
w_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
       struct fuse_file_info *fi)
{
	data_node(fs_of(req), ino) ? d_read(req, handle_of(fi), size, off) :
	                             ns_ops.read(req, ino, size, off, fi);
}

static void
w_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
        off_t off, struct fuse_file_info *fi)
{
	struct node *n = data_node(fs_of(req), ino);

	n ? d_write(req, fs_of(req), n, handle_of(fi), data, size, off, fi) :
	    ns_ops.write(req, ino, data, size, off, fi);
}

static void
d_flush(fuse_req_t req, struct dhandle *h)
{
	const struct rh_data_ops *ops = h->s->d->ops;

	fuse_reply_err(req, ops->flush == NULL ? 0 : -ops->flush(h->f));
}

static void
w_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	data_node(fs_of(req), ino) ? d_flush(req, handle_of(fi)) :
	                             ns_ops.flush(req, ino, fi);
}

static void
d_fsync(fuse_req_t req, struct dhandle *h, int datasync)
{
	fuse_reply_err(req, -h->s->d->ops->fsync(h->f, datasync));
}

static void
w_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
        struct fuse_file_info *fi)
{
	data_node(fs_of(req), ino) ? d_fsync(req, handle_of(fi), datasync) :
	                             ns_ops.fsync(req, ino, datasync, fi);
}

static void
w_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = data_node(fs, ino);
	fuse_ino_t dir = 0;

	if (n != NULL) {
		handle_close(fs, n, (struct dhandle *)(uintptr_t)fi->fh);
		fuse_reply_err(req, 0);
		return;
	}
	pthread_mutex_lock(&fs->lock);
	if ((n = node_find(fs, ino)) != NULL && n->kind == &kind_config)
		dir = n->parent->ino;
	pthread_mutex_unlock(&fs->lock);
	ns_ops.release(req, ino, fi);
	/* a config written through this mount: its data follows it */
	if (dir != 0 && (fi->flags & O_ACCMODE) != O_RDONLY)
		root_recheck(fs, dir);
}

void
data_ops(struct fuse_lowlevel_ops *ops)
{
	*ops = ns_ops;
	ops->init = w_init;
	ops->lookup = w_lookup;
	ops->getattr = w_getattr;
	ops->setattr = w_setattr;
	ops->opendir = w_opendir;
	ops->readdir = w_readdir;
	ops->readdirplus = w_readdirplus;
	ops->releasedir = w_releasedir;
	ops->mkdir = w_mkdir;
	ops->rmdir = w_rmdir;
	ops->unlink = w_unlink;
	ops->rename = w_rename;
	ops->readlink = w_readlink;
	ops->create = w_create;
	ops->open = w_open;
	ops->read = w_read;
	ops->write = w_write;
	ops->flush = w_flush;
	ops->fsync = w_fsync;
	ops->release = w_release;
}

/* ops.c - the low-level FUSE operations: resolve the inode to its node
 * and call the node's kind (struct fs_kind), one short function per
 * operation. What each name is and does lives with its kind: the mount's
 * top in dir-root.c, store directories in dir-store.c, a resource's
 * files in the rows of types.c. Every operation answers exactly once,
 * errors as errno. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"


static const struct fs_kind *
kind_of(struct fs *fs, const struct node *n)
{
	const struct fs_kind *k;

	pthread_mutex_lock(&fs->lock);
	k = n->kind;
	pthread_mutex_unlock(&fs->lock);
	return k;
}

static struct handle *
handle_of(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* The open file fi names, if fi is a file's (not NULL, not a listing). */
static struct handle *
file_of(struct fuse_file_info *fi)
{
	struct handle *h = fi != NULL ? handle_of(fi) : NULL;

	return h != NULL && !h->dir ? h : NULL;
}

void
kind_attr(struct fs *fs, const struct fs_kind *k, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_nlink = k->fmt == S_IFDIR ? 2 : 1;
	st->st_atim = st->st_mtim = st->st_ctim = fs->started;
	st->st_mode = (k->fmt ? k->fmt : S_IFREG) | k->mode;
}

/* What every node's attributes start as: its ino, and its kind's. */
static void
attr_base(struct fs *fs, const struct node *n, const struct fs_kind *k,
          struct stat *st)
{
	kind_attr(fs, k, st);
	st->st_ino = n->ino;
}

int
node_attr(struct fs *fs, struct node *n, struct handle *h, struct stat *st)
{
	const struct fs_kind *k = kind_of(fs, n);

	attr_base(fs, n, k, st);
	return k->getattr ? k->getattr(fs, n, h, st) : 0;
}

static double
timeout_of(struct fs *fs, const struct node *n)
{
	const struct fs_kind *k = kind_of(fs, n);

	if (k->ttl != NULL)
		return k->ttl(fs);
	if (k->uncached)
		return 0.0;
	if (rh_store_is_remote(n->store) && fs->opts.timeout > 0)
		return REMOTE_CACHE_SECS;
	if (watch_holds(fs, n))
		return WATCHED_CACHE_SECS;
	return fs->opts.timeout;
}

/* n's entry and attributes go to the kernel for ttl seconds (counted
 * from now: the kernel counts from later); with fs->lock held. The
 * kernel's reference that the reply gives was taken by add_found. */
static void
node_held(struct node *n, double ttl)
{
	n->held_until = ttl > 0 ? rh_now_ms() + (int64_t)(ttl * 1000) : 0;
}

/* The time the kernel may keep attributes st of a node whose entries it
 * keeps ttl seconds: none for a file with several names (a hard link),
 * which the kernel sees as a file per name, so that a write through one
 * name shows at once through the others. */
static double
attr_ttl(const struct stat *st, double ttl)
{
	return S_ISREG(st->st_mode) && st->st_nlink > 1 ? 0.0 : ttl;
}

void
reply_node(fuse_req_t req, struct fs *fs, struct node *n,
           const struct stat *st, double ttl)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr = *st;
	e.ino = n->ino;
	e.entry_timeout = ttl;
	e.attr_timeout = attr_ttl(st, ttl);
	pthread_mutex_lock(&fs->lock);
	node_held(n, e.attr_timeout);
	pthread_mutex_unlock(&fs->lock);
	if (fuse_reply_entry(req, &e) != 0) {
		pthread_mutex_lock(&fs->lock);
		node_forget(fs, n, 1);
		pthread_mutex_unlock(&fs->lock);
	}
}

static void drop_unused(struct fs *fs, struct node *n);

/* The attributes of n that f found, or else its kind's. */
static int
found_attr(struct fs *fs, struct node *n, const struct found *f,
           struct handle *h, struct stat *st)
{
	if (!f->has_attr)
		return node_attr(fs, n, h, st);
	*st = f->st;
	st->st_ino = n->ino;
	if (st->st_blksize == 0)
		st->st_blksize = 4096;
	return 0;
}

/* Reply with n's entry, counting the kernel's new reference. */
static void
reply_entry(fuse_req_t req, struct fs *fs, struct node *n,
            const struct found *f)
{
	struct stat st;
	int r;

	if ((r = found_attr(fs, n, f, NULL, &st)) < 0) {
		drop_unused(fs, n);
		fuse_reply_err(req, -r);
	} else {
		reply_node(req, fs, n, &st, timeout_of(fs, n));
	}
}

/* A node found or made for a reply (add_found) that is not given to the
 * kernel after all: the reference taken for it goes (and the node with
 * it, if that was its last). */
static void
drop_unused(struct fs *fs, struct node *n)
{
	pthread_mutex_lock(&fs->lock);
	node_forget(fs, n, 1);
	pthread_mutex_unlock(&fs->lock);
}

int
check_name(const struct node *parent, const char *name)
{
	struct rh_err err;
	int r;

	if ((r = rh_name_check(name, &err)) < 0)
		rh_warn("refused: %s/%s: %s", parent->name, name, err.msg);
	return r;
}

/* Make (or find) the node for what f found (made: by a create or
 * mkdir), attach its scratch, and let its kind take what it needs (*out
 * NULL on a failure: -errno). The kernel's reference that the reply
 * gives is taken here, with the node: a forget of its earlier ones may
 * come before the reply, and must not free it meanwhile (a node not
 * given after all: drop_unused). */
static int
add_found(struct fs *fs, struct node *dir, const char *name,
          struct found *f, int made, struct node **out)
{
	struct scratch *sc = f->sc;
	struct node *n;
	int r;

	pthread_mutex_lock(&fs->lock);
	n = node_add(fs, dir, name, f->kind, f->store ? f->store : dir->store);
	n->nlookup++;
	if (f->kind == &kind_store_dir)
		watch_set(fs, n, &f->wt);
	if (sc != NULL && n->scratch != sc) {
		if (n->scratch != NULL)
			scratch_put(n->scratch);
		n->scratch = sc;
	} else if (sc != NULL) {
		scratch_put(sc);        /* the node holds it already */
	}
	pthread_mutex_unlock(&fs->lock);
	*out = n;
	if (f->kind->attach != NULL &&
	    (r = f->kind->attach(fs, n, made ? NULL : f)) < 0) {
		drop_unused(fs, n);
		*out = NULL;
		return r;
	}
	return 0;
}

/* Why a change in n is refused: n is not a directory that takes any. */
static int
refused_change(struct fs *fs, const struct fs_kind *k)
{
	if (k->refuse != NULL)
		return k->refuse(fs);
	return k->fmt == S_IFDIR ? -EPERM : -ENOTDIR;
}

/* the largest request the kernel sends (max_write, max_pages) */
#define FS_MAX_IO (1024 * 1024)

static void
rhfs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* big requests for sequential I/O (data files) */
	if (conn->max_write < FS_MAX_IO)
		conn->max_write = FS_MAX_IO;
	conn->max_readahead = FS_MAX_IO;
	conn->max_background = conn->max_background < 64 ? 64 :
	                       conn->max_background;
	/* a kind that lets the kernel keep pages across opens: they go
	 * when the file's mtime changes */
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
}

static void
rhfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir = node_get(fs, parent), *n;
	const struct fs_kind *k;
	struct found f;
	int r;

	if (dir == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	k = kind_of(fs, dir);
	memset(&f, 0, sizeof(f));
	if (k->lookup == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((r = k->lookup(fs, dir, name, &f)) < 0 ||
	    (r = add_found(fs, dir, name, &f, 0, &n)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	reply_entry(req, fs, n, &f);
}

static void
rhfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct fs *fs = fs_of(req);
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	if ((n = node_find(fs, ino)) != NULL)
		node_forget(fs, n, nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void
rhfs_forget_multi(fuse_req_t req, size_t count,
                  struct fuse_forget_data *forgets)
{
	struct fs *fs = fs_of(req);
	struct node *n;
	size_t i;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < count; i++)
		if ((n = node_find(fs, forgets[i].ino)) != NULL)
			node_forget(fs, n, forgets[i].nlookup);
	pthread_mutex_unlock(&fs->lock);
	fuse_reply_none(req);
}

static void
rhfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	struct handle *h = NULL;
	struct stat st;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (kind_of(fs, n)->getattr_fh)
		h = file_of(fi);
	if ((r = node_attr(fs, n, h, &st)) < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, attr_ttl(&st, timeout_of(fs, n)));
}

int
setattr_allowed(struct fs *fs, struct node *n, const struct stat *attr,
                int to_set)
{
	if (n->store != NULL && n->store->readonly)
		return -EROFS;
	if (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != fs->uid) ||
	    ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != fs->gid))
		return -EPERM;
	return 0;
}

/* chmod, chown, utimes, truncate: a kind with its own attributes takes
 * them all; others keep the store's modes and times (asking for those
 * is fine, anything else is refused) and may be truncated. st: the
 * attributes after. */
static int
set_attr(struct fs *fs, struct node *n, struct handle *h,
         const struct stat *attr, int to_set, struct stat *st)
{
	const struct fs_kind *k = kind_of(fs, n);
	int r;

	if (k->setattr != NULL) {
		attr_base(fs, n, k, st);
		return k->setattr(fs, n, h, attr, to_set, st);
	}
	if ((r = node_attr(fs, n, NULL, st)) < 0 ||
	    (r = setattr_allowed(fs, n, attr, to_set)) < 0)
		return r;
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    (attr->st_mode & 07777) != (st->st_mode & 07777))
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_SIZE) &&
	    (r = k->truncate ? k->truncate(fs, n, h, attr->st_size) :
	         -EISDIR) < 0)
		return r;
	return node_attr(fs, n, h, st);
}

static void
rhfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
             struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	struct stat st;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((r = set_attr(fs, n, file_of(fi), attr, to_set, &st)) < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, attr_ttl(&st, timeout_of(fs, n)));
}

/* Directory listings are taken whole at opendir, so that offsets stay
 * meaningful while the directory changes. */
struct dirent_snap {
	char *name;
	unsigned fmt;
	fuse_ino_t ino;
	struct found *f;        /* its attributes and kind, or NULL */
};

struct dirsnap {
	int dir;                /* 1: not a struct handle */
	struct fs *fs;
	struct node *dir_node;
	struct dirent_snap *e;
	size_t n;
};

static void
snap_push(struct dirsnap *d, const char *name, unsigned fmt, fuse_ino_t ino)
{
	d->e = xrealloc(d->e, (d->n + 1) * sizeof(*d->e));
	d->e[d->n].name = xstrdup(name);
	d->e[d->n].fmt = fmt;
	d->e[d->n].ino = ino;
	d->e[d->n].f = NULL;
	d->n++;
}

void
dirsnap_add(struct dirsnap *d, const char *name, unsigned fmt)
{
	struct node *n;
	fuse_ino_t ino = FUSE_UNKNOWN_INO;

	pthread_mutex_lock(&d->fs->lock);
	if ((n = node_lookup(d->fs, d->dir_node, name)) != NULL)
		ino = n->ino;
	pthread_mutex_unlock(&d->fs->lock);
	snap_push(d, name, fmt, ino);
}

void
dirsnap_add_found(struct dirsnap *d, const char *name, const struct found *f)
{
	dirsnap_add(d, name, f->st.st_mode & S_IFMT);
	d->e[d->n - 1].f = xmalloc(sizeof(*f));
	*d->e[d->n - 1].f = *f;
}

int
dirsnap_cb(void *arg, const char *name, enum rh_kind kind)
{
	dirsnap_add(arg, name, kind == RH_ABSENT ? S_IFREG : S_IFDIR);
	return 0;
}

static void
snap_free(struct dirsnap *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->e[i].name);
		free(d->e[i].f);
	}
	free(d->e);
	free(d);
}

static void
rhfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	const struct fs_kind *k;
	struct dirsnap *d;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((k = kind_of(fs, n))->readdir == NULL) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->dir = 1;
	d->fs = fs;
	d->dir_node = n;
	snap_push(d, ".", S_IFDIR, n->ino);
	snap_push(d, "..", S_IFDIR, n->parent ? n->parent->ino : n->ino);
	if ((r = k->readdir(fs, n, d)) < 0) {
		snap_free(d);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		snap_free(d);
}

/* readdirplus's entry for what a kind found with its attributes: its
 * node, which the entry given counts a lookup of (NULL: none, the
 * kernel looks the name up). */
static struct node *
plus_entry(struct dirsnap *d, struct dirent_snap *de,
           struct fuse_entry_param *e)
{
	struct found f = *de->f;
	struct node *n;

	if (add_found(d->fs, d->dir_node, de->name, &f, 0, &n) < 0 ||
	    found_attr(d->fs, n, &f, NULL, &e->attr) < 0) {
		if (n != NULL)
			drop_unused(d->fs, n);
		return NULL;
	}
	e->ino = n->ino;
	e->entry_timeout = timeout_of(d->fs, n);
	e->attr_timeout = attr_ttl(&e->attr, e->entry_timeout);
	return n;
}

/* readdir, or readdirplus: with attributes where the kind found them,
 * else none (the kernel looks the names up) */
static void
read_snap(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
          int plus)
{
	struct dirsnap *d = (struct dirsnap *)(uintptr_t)fi->fh;
	struct fuse_entry_param e;
	struct node *node;
	char *buf = xmalloc(size);
	size_t used = 0, n;
	off_t i;

	for (i = off; i >= 0 && (size_t)i < d->n; i++) {
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->e[i].ino;
		e.attr.st_mode = d->e[i].fmt;
		node = plus && d->e[i].f != NULL ? plus_entry(d, &d->e[i], &e) :
		       NULL;
		n = plus ? fuse_add_direntry_plus(req, buf + used, size - used,
		                                  d->e[i].name, &e, i + 1) :
		    fuse_add_direntry(req, buf + used, size - used,
		                      d->e[i].name, &e.attr, i + 1);
		if (n > size - used) {
			if (node != NULL)       /* not given: not kept */
				drop_unused(d->fs, node);
			break;
		}
		used += n;
		if (node != NULL) {
			pthread_mutex_lock(&d->fs->lock);
			node_held(node, e.attr_timeout);
			pthread_mutex_unlock(&d->fs->lock);
		}
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
rhfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             struct fuse_file_info *fi)
{
	read_snap(req, size, off, fi, 0);
}

static void
rhfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
	read_snap(req, size, off, fi, 1);
}

static void
rhfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	snap_free((struct dirsnap *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* The directory a change is made in, and its kind, or why not. */
static int
change_dir(struct fs *fs, fuse_ino_t ino, struct node **dir,
           const struct fs_kind **k)
{
	if ((*dir = node_get(fs, ino)) == NULL)
		return -ESTALE;
	*k = kind_of(fs, *dir);
	return 0;
}

/*
 * What a caller other than rhfs's user makes in data (through a mount
 * with allow_other) is the caller's, as on a disk: rhfs running as root
 * gives the entry n it just made in dir (h: the file it made, open) the
 * caller's user, and group unless dir passes its own on (set-group-ID).
 * 0 with st the attributes after, 1 when there was nothing to do, or
 * -errno (a store that keeps no owners: n stays the mount user's).
 */
static int
own_made(fuse_req_t req, struct fs *fs, struct node *dir, struct node *n,
         struct handle *h, struct stat *st)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct stat want, d;
	int to_set = FUSE_SET_ATTR_UID;

	if (n->droot == NULL || geteuid() != 0 ||
	    (c->uid == geteuid() && c->gid == getegid()))
		return 1;
	memset(&want, 0, sizeof(want));
	want.st_uid = c->uid;
	want.st_gid = c->gid;
	if (node_attr(fs, dir, NULL, &d) == 0 && !(d.st_mode & S_ISGID))
		to_set |= FUSE_SET_ATTR_GID;
	return set_attr(fs, n, h, &want, to_set, st);
}

/* The reply to a change that made name in dir (r: what it returned) and
 * what it found there in f. */
static void
reply_made(fuse_req_t req, struct fs *fs, struct node *dir,
           const char *name, struct found *f, int r)
{
	struct node *n;
	struct stat st;

	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	notify_inode(fs, dir->ino);
	if ((r = add_found(fs, dir, name, f, 1, &n)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (own_made(req, fs, dir, n, NULL, &st) == 0 && f->has_attr)
		f->st = st;
	reply_entry(req, fs, n, f);
}

/* mkdir (S_IFDIR in fmt), mknod (fmt: the file type) or symlink (target
 * not NULL) of name in parent, by the directory's kind. */
static void
make_name(fuse_req_t req, fuse_ino_t parent, const char *name,
          mode_t fmt, mode_t mode, dev_t rdev, const char *target)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *k;
	struct node *dir;
	struct found f;
	int r;

	memset(&f, 0, sizeof(f));
	if ((r = change_dir(fs, parent, &dir, &k)) == 0) {
		if (target != NULL)
			r = k->symlink ? k->symlink(fs, dir, name, target, &f) :
			    -EPERM;
		else if (fmt == S_IFDIR)
			r = k->mkdir ? k->mkdir(fs, dir, name, mode, &f) :
			    refused_change(fs, k);
		else
			r = k->mknod ? k->mknod(fs, dir, name, fmt | mode, rdev,
			                        &f) : -EPERM;
	}
	reply_made(req, fs, dir, name, &f, r);
}

static void
rhfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_name(req, parent, name, S_IFDIR, mode, 0, NULL);
}

/* rmdir (isdir) or unlink of name in parent, by the directory's kind. */
static void
remove_name(fuse_req_t req, fuse_ino_t parent, const char *name, int isdir)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *k;
	struct node *dir;
	int (*op)(struct fs *, struct node *, const char *);
	int r;

	if ((r = change_dir(fs, parent, &dir, &k)) == 0) {
		op = isdir ? k->rmdir : k->unlink;
		r = op ? op(fs, dir, name) : refused_change(fs, k);
	}
	if (r == 0) {
		node_forget_name(fs, dir, name);
		notify_inode(fs, dir->ino);
	}
	fuse_reply_err(req, -r);
}

static void
rhfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 1);
}

static void
rhfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

void
handle_free(struct fs *fs, struct handle *h)
{
	if (h->kind->release != NULL)
		h->kind->release(h);
	pthread_mutex_lock(&fs->lock);
	if (h->scratch != NULL)
		scratch_put(h->scratch);
	pthread_mutex_unlock(&fs->lock);
	rh_buf_free(&h->buf);
	free(h);
}

int
handle_to_store(struct handle *h)
{
	if (h->refused)
		h->dirty = 0;
	return h->dirty;
}

/* Open n with a fresh handle in *out (created: by create(2), with
 * mode). */
static int
open_node(struct fs *fs, struct node *n, int flags, int created,
          mode_t mode, struct handle **out)
{
	const struct fs_kind *k = kind_of(fs, n);
	struct handle *h;
	struct rh_err err;
	int r;

	if (k->fmt != 0)
		return -EISDIR;         /* a directory or a symlink */
	if ((flags & O_ACCMODE) != O_RDONLY && k->write == NULL)
		return k->write_errno ? -k->write_errno : -EACCES;
	if ((flags & O_ACCMODE) != O_WRONLY && k->read == NULL)
		return -EACCES;
	h = xcalloc(1, sizeof(*h));
	h->node = n;
	h->kind = k;
	h->flags = flags;
	h->created = created;
	h->mode = mode;
	h->direct_io = 1;
	h->fs = fs;
	err.msg[0] = '\0';
	if (k->open != NULL && (r = k->open(fs, h, &err)) < 0) {
		if (err.msg[0] != '\0')
			rh_warn("%s", err.msg);
		rh_buf_free(&h->buf);
		free(h);
		return r;
	}
	*out = h;
	return 0;
}

static void
rhfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	struct handle *h;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((r = open_node(fs, n, fi->flags, 0, 0, &h)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)h;
	/* sizes and content come from the store or agent at each open, but
	 * where the kind keeps the page cache honest itself */
	fi->direct_io = h->direct_io;
	fi->keep_cache = h->keep_cache;
	fi->noflush = h->noflush;
	if (kind_of(fs, n)->nonseekable)
		fi->nonseekable = 1;
	if (fuse_reply_open(req, fi) != 0)
		handle_free(fs, h);
}

static void
reply_create(fuse_req_t req, struct fs *fs, struct node *dir, struct node *n,
             struct handle *h, struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	if ((r = node_attr(fs, n, h, &e.attr)) < 0) {
		handle_free(fs, h);
		drop_unused(fs, n);
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = n->ino;
	e.entry_timeout = timeout_of(fs, n);
	e.attr_timeout = attr_ttl(&e.attr, e.entry_timeout);
	fi->fh = (uintptr_t)h;
	fi->direct_io = h->direct_io;
	fi->keep_cache = 0;
	pthread_mutex_lock(&fs->lock);
	node_held(n, e.attr_timeout);
	pthread_mutex_unlock(&fs->lock);
	notify_inode(fs, dir->ino);
	if (fuse_reply_create(req, &e, fi) != 0) {
		handle_free(fs, h);
		pthread_mutex_lock(&fs->lock);
		node_forget(fs, n, 1);
		pthread_mutex_unlock(&fs->lock);
	}
}

static void
rhfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
            mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *k;
	struct handle *h;
	struct node *dir, *n;
	struct found f;
	int r, created = 1;

	memset(&f, 0, sizeof(f));
	if ((r = change_dir(fs, parent, &dir, &k)) == 0)
		r = k->create ? k->create(fs, dir, name, mode, fi->flags, &f,
		                          &created) : refused_change(fs, k);
	if (r < 0 || (r = add_found(fs, dir, name, &f, 1, &n)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((r = open_node(fs, n, fi->flags, created, mode, &h)) < 0) {
		drop_unused(fs, n);
		fuse_reply_err(req, -r);
		return;
	}
	if (created)
		own_made(req, fs, dir, n, h, &f.st);
	reply_create(req, fs, dir, n, h, fi);
}

/* Replies with a copy of b's bytes at off: once the reader has them it
 * may close, and the release free the handle (and b), before
 * fuse_reply_buf is back. */
void
reply_slice(fuse_req_t req, const struct rh_buf *b, size_t size, off_t off)
{
	char *copy = NULL;
	size_t len = 0;

	if (off >= 0 && (size_t)off < b->len) {
		len = b->len - (size_t)off < size ? b->len - (size_t)off : size;
		copy = xmalloc(len);
		memcpy(copy, b->data + off, len);
	}
	fuse_reply_buf(req, copy, len);
	free(copy);
}

void
read_open_buf(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	reply_slice(req, &h->buf, size, off);
}

int
stream_truncate(struct fs *fs, struct node *n, struct handle *h, off_t size)
{
	if (kind_of(fs, n)->write == NULL)
		return -EACCES;
	return size == 0 ? 0 : -EPERM;
}

static void
rhfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	h->kind->read(req, h, size, off);
}

static void
rhfs_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
           off_t off, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	h->kind->write(req, h, data, size, off);
}

static void
rhfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	fuse_reply_err(req, h->kind->flush ? -h->kind->flush(h) : 0);
}

static void
rhfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
           struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	if (h->kind->fsync != NULL)
		fuse_reply_err(req, -h->kind->fsync(h, datasync));
	else
		rhfs_flush(req, ino, fi);
}

static void
rhfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	if (h->kind->close != NULL)
		h->kind->close(h->fs, h);
	else
		handle_free(h->fs, h);
	fuse_reply_err(req, 0);
}

static void
rhfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_namemax = RH_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void
rhfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
            fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *sk, *dk;
	struct node *sdir, *ddir;
	int r;

	if ((r = change_dir(fs, parent, &sdir, &sk)) < 0 ||
	    (sk->rename == NULL && (r = refused_change(fs, sk)) < 0))
		;
	else if ((r = change_dir(fs, newparent, &ddir, &dk)) < 0 ||
	         (dk->rename == NULL && (r = refused_change(fs, dk)) < 0))
		;
	else if (sk->rename != dk->rename)
		r = -EXDEV;     /* directories of two kinds: two stores */
	else
		r = sk->rename(fs, sdir, name, ddir, newname, flags);
	fuse_reply_err(req, -r);
}

static void
rhfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	const struct fs_kind *k;
	char *target;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	k = kind_of(fs, n);
	if (k->readlink == NULL)
		r = -EINVAL;
	else
		r = k->readlink(fs, n, &target);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fuse_reply_readlink(req, target);
	free(target);
}

static void
rhfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
           mode_t mode, dev_t rdev)
{
	make_name(req, parent, name, mode & S_IFMT, mode & ~S_IFMT, rdev,
	          NULL);
}

static void
rhfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
             const char *name)
{
	make_name(req, parent, name, S_IFLNK, 0777, 0, link);
}

static void
rhfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
          const char *newname)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *k;
	struct node *dir = NULL, *n = node_get(fs, ino);
	struct found f;
	int r;

	memset(&f, 0, sizeof(f));
	if (n == NULL)
		r = -ESTALE;
	else if ((r = change_dir(fs, newparent, &dir, &k)) == 0)
		r = k->link ? k->link(fs, n, dir, newname, &f) : -EPERM;
	if (r == 0)
		notify_attrs_now(fs, n->ino);   /* its link count */
	reply_made(req, fs, dir, newname, &f, r);
}

const struct fuse_lowlevel_ops ns_ops = {
	.init = rhfs_init,
	.lookup = rhfs_lookup,
	.forget = rhfs_forget,
	.forget_multi = rhfs_forget_multi,
	.getattr = rhfs_getattr,
	.setattr = rhfs_setattr,
	.opendir = rhfs_opendir,
	.readdir = rhfs_readdir,
	.readdirplus = rhfs_readdirplus,
	.releasedir = rhfs_releasedir,
	.mkdir = rhfs_mkdir,
	.rmdir = rhfs_rmdir,
	.unlink = rhfs_unlink,
	.rename = rhfs_rename,
	.mknod = rhfs_mknod,
	.symlink = rhfs_symlink,
	.readlink = rhfs_readlink,
	.link = rhfs_link,
	.create = rhfs_create,
	.open = rhfs_open,
	.read = rhfs_read,
	.write = rhfs_write,
	.flush = rhfs_flush,
	.fsync = rhfs_fsync,
	.release = rhfs_release,
	.statfs = rhfs_statfs,
};

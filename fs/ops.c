/* ops.c - the low-level FUSE operations: resolve the inode to its node
 * and call the node's kind (struct fs_kind), one short function per
 * operation. What each name is and does lives with its kind: the mount's
 * top in dir-root.c, store directories in dir-store.c, a resource's
 * files in the rows of types.c. Every operation answers exactly once,
 * errors as errno. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>              /* RENAME_EXCHANGE */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

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

static int
node_attr(struct fs *fs, struct node *n, struct handle *h, struct stat *st)
{
	const struct fs_kind *k = kind_of(fs, n);

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_nlink = k->fmt == S_IFDIR ? 2 : 1;
	st->st_atim = st->st_mtim = st->st_ctim = fs->started;
	st->st_mode = (k->fmt ? k->fmt : S_IFREG) | k->mode;
	return k->getattr ? k->getattr(fs, n, h, st) : 0;
}

static double
timeout_of(struct fs *fs, const struct node *n)
{
	if (kind_of(fs, n)->uncached)
		return 0.0;
	if (rh_store_is_remote(n->store) && fs->opts.timeout > 0)
		return REMOTE_CACHE_SECS;
	return fs->opts.timeout;
}

void
reply_node(fuse_req_t req, struct fs *fs, struct node *n,
           const struct stat *st, double ttl)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr = *st;
	e.ino = n->ino;
	e.attr_timeout = e.entry_timeout = ttl;
	pthread_mutex_lock(&fs->lock);
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	if (fuse_reply_entry(req, &e) != 0) {
		pthread_mutex_lock(&fs->lock);
		node_forget(fs, n, 1);
		pthread_mutex_unlock(&fs->lock);
	}
}

/* Reply with n's entry, counting the kernel's new reference. */
static void
reply_entry(fuse_req_t req, struct fs *fs, struct node *n)
{
	struct stat st;
	int r;

	if ((r = node_attr(fs, n, NULL, &st)) < 0)
		fuse_reply_err(req, -r);
	else
		reply_node(req, fs, n, &st, timeout_of(fs, n));
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

/* Make (or find) the node for what f found, and attach its scratch. */
static struct node *
add_found(struct fs *fs, struct node *dir, const char *name,
          const struct found *f)
{
	struct scratch *sc = f->sc;
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_add(fs, dir, name, f->kind, f->store ? f->store : dir->store);
	if (sc != NULL && n->scratch != sc) {
		if (n->scratch != NULL)
			scratch_put(n->scratch);
		n->scratch = sc;
	} else if (sc != NULL) {
		scratch_put(sc);        /* the node holds it already */
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* Why a change in n is refused: n is not a directory that takes any. */
static int
refused_change(struct fs *fs, const struct fs_kind *k)
{
	if (k->refuse != NULL)
		return k->refuse(fs);
	return k->fmt == S_IFDIR ? -EPERM : -ENOTDIR;
}

static void
rhfs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void
rhfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir = node_get(fs, parent);
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
	if ((r = k->lookup(fs, dir, name, &f)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	reply_entry(req, fs, add_found(fs, dir, name, &f));
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
	struct stat st;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((r = node_attr(fs, n, NULL, &st)) < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, timeout_of(fs, n));
}

static int
same_owner(const struct fs *fs, int to_set, const struct stat *attr)
{
	return (!(to_set & FUSE_SET_ATTR_UID) || attr->st_uid == fs->uid) &&
	       (!(to_set & FUSE_SET_ATTR_GID) || attr->st_gid == fs->gid);
}

/* chmod, chown, utimes, truncate: a kind with its own mode and times
 * takes them all; others keep the store's modes and times (asking for
 * those is fine, anything else is refused) and may be truncated. */
static int
set_attr(struct fs *fs, struct node *n, struct handle *h,
         const struct stat *attr, int to_set, const struct stat *cur)
{
	const struct fs_kind *k = kind_of(fs, n);

	if (n->store != NULL && n->store->readonly)
		return -EROFS;
	if (!same_owner(fs, to_set, attr))
		return -EPERM;
	if (k->setattr != NULL)
		return k->setattr(fs, n, attr, to_set);
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    (attr->st_mode & 07777) != (cur->st_mode & 07777))
		return -EPERM;
	if (!(to_set & FUSE_SET_ATTR_SIZE))
		return 0;
	return k->truncate ? k->truncate(fs, n, h, attr->st_size) : -EISDIR;
}

static void
rhfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
             struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = node_get(fs, ino);
	struct handle *h = fi ? handle_of(fi) : NULL;
	struct stat cur;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((r = node_attr(fs, n, NULL, &cur)) < 0 ||
	    (r = set_attr(fs, n, h, attr, to_set, &cur)) < 0 ||
	    (r = node_attr(fs, n, h, &cur)) < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &cur, timeout_of(fs, n));
}

/* Directory listings are taken whole at opendir, so that offsets stay
 * meaningful while the directory changes. */
struct dirent_snap {
	char *name;
	unsigned fmt;
	fuse_ino_t ino;
};

struct dirsnap {
	struct fs *fs;
	struct node *dir;
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
	d->n++;
}

void
dirsnap_add(struct dirsnap *d, const char *name, unsigned fmt)
{
	struct node *n;
	fuse_ino_t ino = FUSE_UNKNOWN_INO;

	pthread_mutex_lock(&d->fs->lock);
	if ((n = node_lookup(d->fs, d->dir, name)) != NULL)
		ino = n->ino;
	pthread_mutex_unlock(&d->fs->lock);
	snap_push(d, name, fmt, ino);
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

	for (i = 0; i < d->n; i++)
		free(d->e[i].name);
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
	d->fs = fs;
	d->dir = n;
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

/* readdir, or readdirplus giving no attributes (the kernel looks the
 * names up) */
static void
read_snap(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
          int plus)
{
	struct dirsnap *d = (struct dirsnap *)(uintptr_t)fi->fh;
	struct fuse_entry_param e;
	char *buf = xmalloc(size);
	size_t used = 0, n;
	off_t i;

	memset(&e, 0, sizeof(e));
	for (i = off; i >= 0 && (size_t)i < d->n; i++) {
		e.attr.st_ino = d->e[i].ino;
		e.attr.st_mode = d->e[i].fmt;
		n = plus ? fuse_add_direntry_plus(req, buf + used, size - used,
		                                  d->e[i].name, &e, i + 1) :
		    fuse_add_direntry(req, buf + used, size - used,
		                      d->e[i].name, &e.attr, i + 1);
		if (n > size - used)
			break;
		used += n;
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

static void
rhfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *k;
	struct node *dir;
	struct found f;
	int r;

	memset(&f, 0, sizeof(f));
	if ((r = change_dir(fs, parent, &dir, &k)) == 0)
		r = k->mkdir ? k->mkdir(fs, dir, name, &f) :
		    refused_change(fs, k);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	notify_inode(fs, dir->ino);
	reply_entry(req, fs, add_found(fs, dir, name, &f));
}

static void
rhfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *k;
	struct node *dir;
	int r;

	if ((r = change_dir(fs, parent, &dir, &k)) == 0)
		r = k->rmdir ? k->rmdir(fs, dir, name) : refused_change(fs, k);
	if (r == 0) {
		node_forget_name(fs, dir, name);
		notify_inode(fs, dir->ino);
	}
	fuse_reply_err(req, -r);
}

static void
rhfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	const struct fs_kind *k;
	struct node *dir;
	int r;

	if ((r = change_dir(fs, parent, &dir, &k)) == 0)
		r = k->unlink ? k->unlink(fs, dir, name) :
		    refused_change(fs, k);
	if (r == 0) {
		node_forget_name(fs, dir, name);
		notify_inode(fs, dir->ino);
	}
	fuse_reply_err(req, -r);
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

/* Open n with a fresh handle in *out. */
static int
open_node(struct fs *fs, struct node *n, int flags, int created,
          struct handle **out)
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
	if ((r = open_node(fs, n, fi->flags, 0, &h)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)h;
	/* sizes and content come from the store or agent at each open */
	fi->direct_io = 1;
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
	if ((r = node_attr(fs, n, NULL, &e.attr)) < 0) {
		handle_free(fs, h);
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = n->ino;
	e.attr_timeout = e.entry_timeout = timeout_of(fs, n);
	fi->fh = (uintptr_t)h;
	fi->direct_io = 1;
	pthread_mutex_lock(&fs->lock);
	n->nlookup++;
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
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	n = add_found(fs, dir, name, &f);
	if ((r = open_node(fs, n, fi->flags, created, &h)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
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

	if (flags & RENAME_EXCHANGE)
		r = -EINVAL;
	else if ((r = change_dir(fs, parent, &sdir, &sk)) < 0 ||
	         (sk->rename == NULL && (r = refused_change(fs, sk)) < 0))
		;
	else if ((r = change_dir(fs, newparent, &ddir, &dk)) < 0 ||
	         (dk->rename == NULL && (r = refused_change(fs, dk)) < 0))
		;
	else if (sk != dk)
		r = -EXDEV;
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
rhfs_refuse(fuse_req_t req, fuse_ino_t parent, const char *name,
            mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EPERM);
}

static void
rhfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
             const char *name)
{
	fuse_reply_err(req, EPERM);
}

static void
rhfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
          const char *newname)
{
	fuse_reply_err(req, EPERM);
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
	.mknod = rhfs_refuse,
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

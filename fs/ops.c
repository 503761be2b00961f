/* ops.c - the low-level FUSE operations: resolve the inode to a node,
 * the node to (store, path, file), and dispatch. Every operation answers
 * exactly once, errors as errno. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

#define SCRATCH_MAX (16 * 1024 * 1024)
#define CONFIG_NAME "config.json"
/* d_ino for entries the kernel has not looked up: not 0, which some
 * programs take for a deleted entry */
#define FUSE_UNKNOWN_INO 0xffffffff

static struct node *
get_node(struct fs *fs, fuse_ino_t ino)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, ino);
	pthread_mutex_unlock(&fs->lock);
	return n;
}

static void
base_attr(const struct fs *fs, const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	st->st_nlink = 1;
	st->st_atim = st->st_mtim = st->st_ctim = fs->started;
}

static void
set_times(struct stat *st, const struct rh_stat *rs)
{
	st->st_mtim = rs->mtime;
	st->st_atim = rs->mtime;
	st->st_ctim = rs->ctime;
}

static int
ignore_name(void *arg, const char *name, enum rh_kind kind)
{
	return 0;
}

/* calls/latest: the newest call's id, or -ENOENT when there is none. */
static int
latest_target(struct fs *fs, struct node *n, char **target)
{
	int r = calls_list(fs, n->parent, ignore_name, NULL, target);

	return r < 0 ? r : *target == NULL ? -ENOENT : 0;
}

static int
latest_size(struct fs *fs, struct node *n, struct stat *st)
{
	char *target;
	int r = latest_target(fs, n, &target);

	if (r == 0)
		st->st_size = (off_t)strlen(target);
	free(target);
	return r;
}

/* @ when logged in: a symlink to the user's top folder. */
static int
at_link_attr(struct fs *fs, struct stat *st)
{
	st->st_mode = S_IFLNK | 0777;
	st->st_size = (off_t)strlen(remote_user(fs));
	return 0;
}

static int
node_attr(struct fs *fs, struct node *n, struct stat *st)
{
	struct rh_stat rs;
	struct rh_buf log = { 0 };
	char *path;
	int r, ro = n->store != NULL && n->store->readonly;

	base_attr(fs, n, st);
	switch (n->type) {
	case N_ROOT:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	case N_AT:
		if (remote_user(fs) != NULL)
			return at_link_attr(fs, st);
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return 0;
	case N_LOG:
		st->st_mode = S_IFREG | 0444;
		rh_log_recent(&log);
		st->st_size = (off_t)log.len;
		rh_buf_free(&log);
		clock_gettime(CLOCK_REALTIME, &st->st_mtim);
		st->st_ctim = st->st_mtim;
		return 0;
	case N_DIR:
		path = node_dir_path(fs, n);
		r = n->store->ops->stat(n->store, path, &rs);
		free(path);
		if (r < 0)
			return r;
		if (rs.kind == RH_ABSENT)
			return -ENOENT;
		st->st_mode = S_IFDIR | (ro ? 0555 : 0755);
		if (rs.denied)
			st->st_mode = S_IFDIR | 0111;   /* reach, not list */
		st->st_nlink = 2;
		set_times(st, &rs);
		return 0;
	case N_CONFIG:
		path = node_dir_path(fs, n);
		r = n->store->ops->stat(n->store, path, &rs);
		free(path);
		if (r < 0)
			return r;
		st->st_mode = S_IFREG | (ro ? 0444 : 0644);
		if (rs.kind == RH_RESOURCE) {
			st->st_size = (off_t)rs.config_size;
			set_times(st, &rs);
		} else if (n->writers > 0) {
			/* created, not stored until closed */
			clock_gettime(CLOCK_REALTIME, &st->st_mtim);
			st->st_ctim = st->st_atim = st->st_mtim;
		} else {
			return -ENOENT;
		}
		st->st_blocks = (st->st_size + 511) / 512;
		return 0;
	case N_FILE:
		/* content comes from the agent at each open: direct_io */
		st->st_mode = S_IFREG | n->file->mode;
		return n->file == &file_secret ? secret_getattr(fs, n, st) : 0;
	case N_CALLS:
	case N_CALL:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return 0;
	case N_VERSIONS:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return 0;
	case N_VERSION:
		return versions_attr(fs, n, st);
	case N_LATEST:
		st->st_mode = S_IFLNK | 0777;
		st->st_size = (off_t)strlen(n->parent->name); /* refined below */
		return latest_size(fs, n, st);
	case N_SCRATCH:
		pthread_mutex_lock(&fs->lock);
		st->st_mode = S_IFREG | n->scratch->mode;
		st->st_size = (off_t)n->scratch->data.len;
		st->st_mtim = st->st_atim = n->scratch->mtime;
		st->st_ctim = n->scratch->ctime;
		pthread_mutex_unlock(&fs->lock);
		st->st_blocks = (st->st_size + 511) / 512;
		return 0;
	}
	return -EIO;
}

static double
timeout_of(const struct fs *fs, const struct node *n)
{
	if (n->type != N_LOG && rh_store_is_remote(n->store) &&
	    fs->opts.timeout > 0)
		return REMOTE_CACHE_SECS;
	return n->type == N_LOG ? 0.0 : fs->opts.timeout;
}

/* Reply with n's entry, counting the kernel's new reference. */
static void
reply_entry(fuse_req_t req, struct fs *fs, struct node *n)
{
	struct fuse_entry_param e;
	int r;

	memset(&e, 0, sizeof(e));
	if ((r = node_attr(fs, n, &e.attr)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	e.ino = n->ino;
	e.attr_timeout = e.entry_timeout = timeout_of(fs, n);
	pthread_mutex_lock(&fs->lock);
	n->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	if (fuse_reply_entry(req, &e) != 0) {
		pthread_mutex_lock(&fs->lock);
		node_forget(fs, n, 1);
		pthread_mutex_unlock(&fs->lock);
	}
}

/* The name check every creating operation makes: the reason is logged. */
static int
check_name(const struct node *parent, const char *name)
{
	struct rh_err err;
	int r;

	if ((r = rh_name_check(name, &err)) < 0)
		rh_warn("refused: %s/%s: %s", parent->name, name, err.msg);
	return r;
}

static void
rhfs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

/* What a name means inside a directory. */
struct found {
	enum node_type type;
	struct scratch *sc;             /* N_SCRATCH: held */
	const struct fs_file *file;     /* N_FILE */
};

/* A name a resource's type shows beside config.json. */
static int
resolve_typed(struct fs *fs, struct node *dir, const char *name,
              struct found *f)
{
	char *type = res_type(fs, dir);
	int r = -ENOENT;

	if ((f->file = types_file(type, name)) != NULL) {
		f->type = N_FILE;
		r = 0;
	} else if (types_is_dir(type, name)) {
		f->type = N_CALLS;
		r = 0;
	} else if (secret_is_field(fs, dir, name)) {
		f->type = N_FILE;
		f->file = &file_secret;
		r = 0;
	}
	free(type);
	return r;
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
	const char *const *names = types_names(type);
	unsigned bits = 0, i;

	for (i = 0; names[i] != NULL && i < 32; i++)
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
	const char *const *names;
	unsigned i;
	int r = 0;

	pthread_mutex_lock(&fs->lock);
	if (dir->gone_type != NULL) {
		names = types_names(dir->gone_type);
		for (i = 0; names[i] != NULL && i < 32; i++)
			if (strcmp(names[i], name) == 0 &&
			    (dir->gone & (1u << i)))
				break;
		if (names[i] != NULL && i < 32) {
			r = 1;
			if (f != NULL) {
				f->file = types_file(dir->gone_type, name);
				f->type = f->file ? N_FILE : N_CALLS;
			}
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

/* A name the resource at dir shows beside config.json (invoke, calls,
 * status, a secret's field, a shared one's versions/): part of it. */
static int
is_typed_name(struct fs *fs, struct node *dir, const char *name)
{
	struct found f;
	char *type;
	int r;

	if (resolve_typed(fs, dir, name, &f) == 0)
		return 1;
	if (!rh_store_is_remote(dir->store) || strcmp(name, "versions") != 0)
		return 0;
	type = res_type(fs, dir);
	r = type != NULL;
	free(type);
	return r;
}

/* Refuse a change to a name that is part of the resource at dir. */
static int
typed_refused(struct fs *fs, struct node *dir, const char *path,
              const char *name, const char *what)
{
	char *addr;

	if (!is_typed_name(fs, dir, name))
		return 0;
	addr = rh_address(dir->store->prefix, path);
	rh_warn("refused: %s/%s is part of the resource: it cannot be %s",
	        addr, name, what);
	free(addr);
	return -EPERM;
}

/* A top folder of the shared namespace, beside ~ and ^. */
static int
resolve_top(struct fs *fs, const char *name, struct found *f)
{
	int r;

	if (remote_top(fs, name, &r) == NULL)
		return r;
	f->type = N_DIR;
	return 0;
}

static int
resolve(struct fs *fs, struct node *dir, const char *name, struct found *f)
{
	struct rh_stat rs;
	char *path, *child;
	int r;

	memset(f, 0, sizeof(*f));
	switch (dir->type) {
	case N_ROOT:
		if (strcmp(name, "~") == 0 || strcmp(name, "^") == 0)
			f->type = N_DIR;
		else if (strcmp(name, "@") == 0)
			f->type = N_AT;
		else if (strcmp(name, ".log") == 0)
			f->type = N_LOG;
		else
			return resolve_top(fs, name, f);
		return 0;
	case N_VERSIONS:
		f->type = N_VERSION;
		return versions_exists(fs, dir, name);
	case N_CALLS:
		if (strcmp(name, "latest") == 0) {
			f->type = N_LATEST;
			return 0;
		}
		f->type = N_CALL;
		return calls_exists(fs, dir, name);
	case N_CALL:
		f->type = N_FILE;
		return (f->file = calls_file(name)) != NULL ? 0 : -ENOENT;
	case N_AT:
		f->type = N_FILE;
		return (f->file = remote_at_file(fs, name)) != NULL ? 0 : -ENOENT;
	case N_DIR:
		break;
	default:
		return -ENOENT;
	}
	if (strlen(name) > RH_NAME_MAX)
		return -ENAMETOOLONG;
	path = node_dir_path(fs, dir);
	r = dir->store->ops->stat(dir->store, path, &rs);
	if (r == 0 && strcmp(name, CONFIG_NAME) == 0) {
		free(path);
		f->type = N_CONFIG;
		return rs.kind == RH_RESOURCE ? 0 : -ENOENT;
	}
	if (r == 0 && rs.kind == RH_RESOURCE &&
	    rh_store_is_remote(dir->store) && strcmp(name, "versions") == 0) {
		free(path);
		f->type = N_VERSIONS;   /* not listed: rm -r never meets it */
		return 0;
	}
	if (r == 0 && rs.kind == RH_RESOURCE &&
	    resolve_typed(fs, dir, name, f) == 0) {
		free(path);
		return 0;
	}
	if (r == 0 && rs.kind != RH_RESOURCE &&
	    gone_find(fs, dir, name, 0, f)) {
		free(path);
		return 0;
	}
	child = rh_path_join(path, name);
	free(path);
	pthread_mutex_lock(&fs->lock);
	if ((f->sc = scratch_find(fs, dir->store, child)) != NULL) {
		f->sc->refs++;
		pthread_mutex_unlock(&fs->lock);
		free(child);
		f->type = N_SCRATCH;
		return 0;
	}
	pthread_mutex_unlock(&fs->lock);
	r = rh_name_check(name, NULL) < 0 ? -ENOENT :
	    dir->store->ops->stat(dir->store, child, &rs);
	free(child);
	if (r < 0)
		return r;
	if (rs.kind == RH_ABSENT)
		return -ENOENT;
	f->type = N_DIR;
	return 0;
}

static struct rh_store *
store_for(struct fs *fs, struct node *dir, const char *name)
{
	if (dir->type == N_ROOT)
		return strcmp(name, "~") == 0 ? fs->local :
		       strcmp(name, "^") == 0 ? fs->builtin :
		       remote_top(fs, name, NULL);
	return dir->store;
}

/* Make (or find) the node for name in dir and attach its scratch. */
static struct node *
add_found(struct fs *fs, struct node *dir, const char *name,
          const struct found *f)
{
	struct scratch *sc = f->sc;
	enum node_type type = f->type;
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_add(fs, dir, name, type, store_for(fs, dir, name));
	n->file = f->file;
	if (type == N_SCRATCH && n->scratch != sc) {
		if (n->scratch != NULL)
			scratch_put(n->scratch);
		n->scratch = sc;
	} else if (sc != NULL) {
		scratch_put(sc);        /* the node holds it already */
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

static struct node *
add_node(struct fs *fs, struct node *dir, const char *name,
         enum node_type type, struct scratch *sc)
{
	struct found f = { type, sc, NULL };

	return add_found(fs, dir, name, &f);
}

static void
rhfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir = get_node(fs, parent);
	struct found f;
	int r;

	if (dir == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((r = resolve(fs, dir, name, &f)) < 0) {
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
	struct node *n = get_node(fs, ino);
	struct stat st;
	int r;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((r = node_attr(fs, n, &st)) < 0)
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

static void
rhfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
             struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = get_node(fs, ino);
	struct handle *h = fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
	struct stat cur;
	int r = 0;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if ((r = node_attr(fs, n, &cur)) < 0)
		goto out;
	if (n->store != NULL && n->store->readonly) {
		r = -EROFS;
		goto out;
	}
	if (!same_owner(fs, to_set, attr)) {
		r = -EPERM;
		goto out;
	}
	if (n->type == N_SCRATCH) {
		pthread_mutex_lock(&fs->lock);
		if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size > SCRATCH_MAX)
			r = -EFBIG;
		else if (to_set & FUSE_SET_ATTR_SIZE)
			rh_buf_truncate(&n->scratch->data, (size_t)attr->st_size);
		if (to_set & FUSE_SET_ATTR_MODE)
			n->scratch->mode = attr->st_mode & 07777;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			clock_gettime(CLOCK_REALTIME, &n->scratch->mtime);
		else if (to_set & FUSE_SET_ATTR_MTIME)
			n->scratch->mtime = attr->st_mtim;
		pthread_mutex_unlock(&fs->lock);
		goto out;
	}
	/* Store files keep the store's modes: asking for those is fine,
	 * anything else is refused. Times are the store's and stay. */
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    (attr->st_mode & 07777) != (cur.st_mode & 07777)) {
		r = -EPERM;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (n->type == N_FILE && n->file == &file_secret) {
			r = secret_truncate(fs, n, h, attr->st_size);
		} else if (n->type == N_FILE) {
			/* a stream: to 0 is O_TRUNC's no-op (dd does it) */
			r = n->file->write == NULL ? -EACCES :
			    attr->st_size == 0 ? 0 : -EPERM;
		} else if (n->type != N_CONFIG) {
			r = n->type == N_LOG ? -EACCES : -EISDIR;
		} else if (h != NULL) {
			if (attr->st_size > RH_CONFIG_MAX) {
				r = -EFBIG;
			} else {
				rh_buf_truncate(&h->buf, (size_t)attr->st_size);
				h->dirty = 1;
				h->refused = 0;
			}
		} else {
			r = config_truncate(fs, n, attr->st_size);
		}
	}
out:
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if ((r = node_attr(fs, n, &cur)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (h != NULL && n->type == N_CONFIG)
		cur.st_size = (off_t)h->buf.len;
	fuse_reply_attr(req, &cur, timeout_of(fs, n));
}

/* Directory listings are taken whole at opendir, so that offsets stay
 * meaningful while the directory changes. */
struct dirent_snap {
	char *name;
	mode_t type;
	fuse_ino_t ino;
};

struct dirsnap {
	struct dirent_snap *e;
	size_t n;
};

static void
snap_add(struct dirsnap *d, const char *name, mode_t type, fuse_ino_t ino)
{
	d->e = xrealloc(d->e, (d->n + 1) * sizeof(*d->e));
	d->e[d->n].name = xstrdup(name);
	d->e[d->n].type = type;
	d->e[d->n].ino = ino;
	d->n++;
}

struct snap_ctx {
	struct fs *fs;
	struct node *dir;
	struct dirsnap *d;
};

static int
snap_child(void *arg, const char *name, enum rh_kind kind)
{
	struct snap_ctx *c = arg;
	struct node *n;
	fuse_ino_t ino = FUSE_UNKNOWN_INO;

	pthread_mutex_lock(&c->fs->lock);
	if ((n = node_lookup(c->fs, c->dir, name)) != NULL)
		ino = n->ino;
	pthread_mutex_unlock(&c->fs->lock);
	snap_add(c->d, name, kind == RH_ABSENT ? S_IFREG : S_IFDIR, ino);
	return 0;
}

static int
collect_name(void *arg, const char *name, enum rh_kind kind)
{
	snap_add(arg, name, S_IFREG, FUSE_UNKNOWN_INO);
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
	struct node *n = get_node(fs, ino);
	struct dirsnap *d;
	struct snap_ctx c;
	struct rh_stat rs;
	char *path;
	int r = 0;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	snap_add(d, ".", S_IFDIR, n->ino);
	snap_add(d, "..", S_IFDIR, n->parent ? n->parent->ino : n->ino);
	c.fs = fs;
	c.dir = n;
	c.d = d;
	switch (n->type) {
	case N_ROOT:
		snap_child(&c, "~", RH_FOLDER);
		snap_child(&c, "^", RH_FOLDER);
		snap_child(&c, "@", RH_FOLDER);
		remote_list_tops(fs, snap_child, &c);
		break;
	case N_VERSIONS:
		r = versions_list(fs, n, snap_child, &c);
		break;
	case N_AT:
		if (remote_at_file(fs, file_at_readme.name) != NULL)
			snap_child(&c, file_at_readme.name, RH_ABSENT);
		break;
	case N_CALLS: {
		char *latest = NULL;

		if ((r = calls_list(fs, n, snap_child, &c, &latest)) == 0 &&
		    latest != NULL)
			snap_add(d, "latest", S_IFLNK, FUSE_UNKNOWN_INO);
		free(latest);
		if (r < 0 && gone_find(fs, n->parent, n->name, 0, NULL))
			r = 0;  /* its send is gone: empty, for rm -r */
		break;
	}
	case N_CALL: {
		const char *const *names;

		for (names = call_file_names; *names != NULL; names++)
			snap_child(&c, *names, RH_ABSENT);
		break;
	}
	case N_DIR:
		gone_clear(fs, n);
		path = node_dir_path(fs, n);
		if ((r = n->store->ops->stat(n->store, path, &rs)) == 0 &&
		    rs.kind == RH_ABSENT)
			r = -ENOENT;
		if (r == 0 && rs.kind == RH_RESOURCE) {
			char *type = res_type(fs, n);
			const char *const *names = types_names(type);

			/* a secret's fields first: rm -r removes them while
			 * config.json still makes them fields */
			secret_list(fs, n, snap_child, &c);
			snap_child(&c, CONFIG_NAME, RH_ABSENT);
			for (; *names != NULL; names++)
				snap_child(&c, *names,
				           types_is_dir(type, *names) ?
				           RH_FOLDER : RH_ABSENT);
			free(type);
		}
		if (r == 0)
			r = n->store->ops->list(n->store, path, snap_child, &c);
		if (r == 0) {
			/* collected under the lock, added after it:
			 * snap_child takes the lock itself */
			struct dirsnap tmp = { NULL, 0 };
			size_t i;

			pthread_mutex_lock(&fs->lock);
			scratch_list(fs, n->store, path, collect_name, &tmp);
			pthread_mutex_unlock(&fs->lock);
			for (i = 0; i < tmp.n; i++) {
				snap_child(&c, tmp.e[i].name, RH_ABSENT);
				free(tmp.e[i].name);
			}
			free(tmp.e);
		}
		free(path);
		break;
	default:
		r = -ENOTDIR;
	}
	if (r < 0) {
		snap_free(d);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		snap_free(d);
}

static void
rhfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
             struct fuse_file_info *fi)
{
	struct dirsnap *d = (struct dirsnap *)(uintptr_t)fi->fh;
	struct stat st;
	char *buf = xmalloc(size);
	size_t used = 0, n;
	off_t i;

	memset(&st, 0, sizeof(st));
	for (i = off; i >= 0 && (size_t)i < d->n; i++) {
		st.st_ino = d->e[i].ino;
		st.st_mode = d->e[i].type;
		n = fuse_add_direntry(req, buf + used, size - used,
		                      d->e[i].name, &st, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
rhfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	snap_free((struct dirsnap *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

/* The directory a creating operation works in, with its store path. */
static int
store_dir(struct fs *fs, fuse_ino_t ino, struct node **dir, char **path)
{
	struct node *n = get_node(fs, ino);

	*path = NULL;
	if (n == NULL)
		return -ESTALE;
	*dir = n;
	if (n->type == N_AT)
		return remote_at_refuse(fs);
	if (n->type == N_ROOT)
		return -EPERM;  /* the namespace's top level is fixed */
	if (n->type == N_CALLS || n->type == N_CALL || n->type == N_VERSIONS)
		return -EPERM;  /* records: nothing in them changes */
	if (n->type != N_DIR)
		return -ENOTDIR;
	*path = node_dir_path(fs, n);
	return 0;
}

/* A namespace's root (~) holds folders and resources; it is not one. */
static int
root_config(const struct node *dir, const char *path)
{
	if (*path != '\0')
		return 0;
	rh_warn("refused: %s: the root of a namespace cannot be a resource",
	        dir->name);
	return -EINVAL;
}

/* store_dir, for an operation that changes the store. */
static int
writable_dir(struct fs *fs, fuse_ino_t ino, struct node **dir, char **path)
{
	int r = store_dir(fs, ino, dir, path);

	return r == 0 && (*dir)->store->readonly ? -EROFS : r;
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

static void
rhfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = fs_of(req);
	struct node *dir;
	char *path, *child;
	int r;

	if ((r = writable_dir(fs, parent, &dir, &path)) < 0 ||
	    (r = check_name(dir, name)) < 0)
		goto out;
	if (strcmp(name, CONFIG_NAME) == 0) {
		rh_warn("refused: %s: '%s' is the name of a resource's config",
		        path, name);
		r = -EINVAL;
		goto out;
	}
	child = rh_path_join(path, name);
	if ((r = reachable(fs, dir->store, NULL, child)) == 0)
		r = dir->store->ops->mkdir(dir->store, child);
	free(child);
	if (r == 0) {
		free(path);
		notify_inode(fs, dir->ino);
		reply_entry(req, fs, add_node(fs, dir, name, N_DIR, NULL));
		return;
	}
out:
	free(path);
	fuse_reply_err(req, -r);
}

static int
has_scratch(struct fs *fs, struct rh_store *s, const char *dir)
{
	struct dirsnap tmp = { NULL, 0 };
	size_t i;

	pthread_mutex_lock(&fs->lock);
	scratch_list(fs, s, dir, collect_name, &tmp);
	pthread_mutex_unlock(&fs->lock);
	for (i = 0; i < tmp.n; i++)
		free(tmp.e[i].name);
	free(tmp.e);
	return tmp.n > 0;
}

/* The kernel's dentry for name is gone: drop our (parent, name) link. */
static void
forget_name(struct fs *fs, struct node *dir, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	if ((n = node_lookup(fs, dir, name)) != NULL)
		node_unhash(fs, n);
	pthread_mutex_unlock(&fs->lock);
}

static void
rhfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct node *dir;
	char *path, *child = NULL;
	int r;

	if ((r = writable_dir(fs, parent, &dir, &path)) < 0)
		goto out;
	child = rh_path_join(path, name);
	if (gone_find(fs, dir, name, 1, NULL))
		r = 0;          /* a send's calls/, gone with it */
	else if ((r = typed_refused(fs, dir, path, name, "removed")) < 0)
		;               /* a live send's calls/ */
	else if (has_scratch(fs, dir->store, child))
		r = -ENOTEMPTY;
	else
		r = dir->store->ops->rmdir(dir->store, child);
	if (r == 0) {
		secret_removed(fs, dir->store, child);
		forget_name(fs, dir, name);
		notify_inode(fs, dir->ino);
	}
out:
	free(child);
	free(path);
	fuse_reply_err(req, -r);
}

static void
rhfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct rh_stat rs;
	struct scratch *sc;
	struct node *dir;
	char *path, *child = NULL;
	int r;

	if ((r = writable_dir(fs, parent, &dir, &path)) < 0)
		goto out;
	if (strcmp(name, CONFIG_NAME) == 0) {
		/* the resource becomes a plain folder */
		char *type = res_type(fs, dir);

		if ((r = dir->store->ops->remove(dir->store, path)) == 0)
			gone_set(fs, dir, type);
		else
			free(type);
		goto done;
	}
	if ((r = secret_unlink(fs, dir, name)) <= 0)
		goto done;      /* a secret's field */
	if ((r = typed_refused(fs, dir, path, name, "removed")) < 0)
		goto out;       /* invoke, status...: part of the resource */
	if (gone_find(fs, dir, name, 1, NULL))
		goto done;      /* gone with its config.json */
	child = rh_path_join(path, name);
	pthread_mutex_lock(&fs->lock);
	if ((sc = scratch_find(fs, dir->store, child)) != NULL)
		scratch_unlink(fs, sc);
	pthread_mutex_unlock(&fs->lock);
	if (sc == NULL) {
		r = dir->store->ops->stat(dir->store, child, &rs);
		if (r == 0)
			r = rs.kind == RH_ABSENT ? -ENOENT : -EISDIR;
	}
done:
	if (r == 0) {
		forget_name(fs, dir, name);
		notify_inode(fs, dir->ino);
	}
out:
	free(child);
	free(path);
	fuse_reply_err(req, -r);
}

static struct handle *
handle_of(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static void
handle_free(struct fs *fs, struct handle *h)
{
	if (h->node->type == N_FILE && h->node->file->release != NULL)
		h->node->file->release(h);
	pthread_mutex_lock(&fs->lock);
	if (h->created)
		h->node->writers--;
	if (h->listed)
		config_unlist(h);
	if (h->scratch != NULL)
		scratch_put(h->scratch);
	pthread_mutex_unlock(&fs->lock);
	rh_buf_free(&h->buf);
	free(h);
}

/* versions/N: that version's config, read-only. */
static int
open_version(struct fs *fs, struct node *n, int flags, struct handle **out)
{
	struct timespec t;
	struct handle *h;
	int r;

	if ((flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	h = xcalloc(1, sizeof(*h));
	if ((r = versions_content(fs, n, &h->buf, &t)) < 0) {
		rh_buf_free(&h->buf);
		free(h);
		return r;
	}
	h->node = n;
	h->flags = flags;
	*out = h;
	return 0;
}

/* Open n with a fresh handle in *out. */
static int
open_node(struct fs *fs, struct node *n, int flags, int created,
          struct handle **out)
{
	struct handle *h;
	struct rh_err err;
	int r;

	switch (n->type) {
	case N_CONFIG:
		return config_open(fs, n, flags, created, out);
	case N_LOG:
		if ((flags & O_ACCMODE) != O_RDONLY)
			return -EACCES;
		h = xcalloc(1, sizeof(*h));
		h->node = n;
		h->flags = flags;
		rh_log_recent(&h->buf);
		rh_buf_reserve(&h->buf, 0);
		*out = h;
		return 0;
	case N_SCRATCH:
		h = xcalloc(1, sizeof(*h));
		h->node = n;
		h->flags = flags;
		pthread_mutex_lock(&fs->lock);
		h->scratch = n->scratch;
		h->scratch->refs++;
		if (flags & O_TRUNC)
			rh_buf_truncate(&h->scratch->data, 0);
		pthread_mutex_unlock(&fs->lock);
		*out = h;
		return 0;
	case N_VERSION:
		return open_version(fs, n, flags, out);
	case N_FILE:
		if ((flags & O_ACCMODE) != O_RDONLY && n->file->write == NULL)
			return -EACCES;
		if ((flags & O_ACCMODE) != O_WRONLY && n->file->read == NULL)
			return -EACCES;
		h = xcalloc(1, sizeof(*h));
		h->node = n;
		h->flags = flags;
		h->fs = fs;
		if (n->file->open != NULL &&
		    (r = n->file->open(fs, h, &err)) < 0) {
			rh_warn("%s", err.msg);
			free(h);
			return r;
		}
		*out = h;
		return 0;
	default:
		return -EISDIR;
	}
}

static void
rhfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node *n = get_node(fs, ino);
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
	if (n->type == N_FILE && n->file->nonseekable)
		fi->nonseekable = 1;
	if (fuse_reply_open(req, fi) != 0)
		handle_free(fs, h);
}

static void
rhfs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
            mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct scratch *sc = NULL;
	struct rh_stat rs;
	struct handle *h;
	struct node *dir, *n;
	char *path, *child = NULL;
	enum node_type type = N_SCRATCH;
	int r, created = 1;

	if ((r = writable_dir(fs, parent, &dir, &path)) < 0 ||
	    (r = check_name(dir, name)) < 0)
		goto fail;
	if (strcmp(name, CONFIG_NAME) == 0) {
		type = N_CONFIG;
		if ((r = root_config(dir, path)) < 0)
			goto fail;
		if ((r = dir->store->ops->stat(dir->store, path, &rs)) < 0)
			goto fail;
		if (rs.kind == RH_RESOURCE && (fi->flags & O_EXCL)) {
			r = -EEXIST;
			goto fail;
		}
		created = rs.kind != RH_RESOURCE;
	} else if ((r = secret_create(fs, dir, name, fi->flags)) <= 0) {
		if (r < 0)
			goto fail;
		type = N_FILE;  /* a new field of a secret */
	} else {
		child = rh_path_join(path, name);
		if ((r = dir->store->ops->stat(dir->store, child, &rs)) < 0)
			goto fail;
		if (rs.kind != RH_ABSENT) {
			r = -EISDIR;
			goto fail;
		}
		pthread_mutex_lock(&fs->lock);
		if ((sc = scratch_find(fs, dir->store, child)) != NULL &&
		    (fi->flags & O_EXCL)) {
			pthread_mutex_unlock(&fs->lock);
			r = -EEXIST;
			goto fail;
		}
		if (sc == NULL)
			sc = scratch_new(fs, dir->store, child, mode);
		sc->refs++;     /* handed to the node */
		pthread_mutex_unlock(&fs->lock);
	}
	n = add_node(fs, dir, name, type, sc);
	if (type == N_FILE) {
		pthread_mutex_lock(&fs->lock);
		n->file = &file_secret;
		pthread_mutex_unlock(&fs->lock);
	}
	if ((r = open_node(fs, n, fi->flags, created, &h)) < 0)
		goto fail;
	memset(&e, 0, sizeof(e));
	if ((r = node_attr(fs, n, &e.attr)) < 0) {
		handle_free(fs, h);
		goto fail;
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
	free(child);
	free(path);
	return;
fail:
	free(child);
	free(path);
	fuse_reply_err(req, -r);
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

static void
rhfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
          struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_of(fi);
	struct rh_buf copy = { 0 };

	if (h->node->type == N_FILE) {
		h->node->file->read(req, h, size, off);
		return;
	}
	if (h->scratch == NULL) {
		reply_slice(req, &h->buf, size, off);
		return;
	}
	/* an editor's temp file is small: copied whole, replied unlocked */
	pthread_mutex_lock(&fs->lock);
	rh_buf_append(&copy, h->scratch->data.data, h->scratch->data.len);
	pthread_mutex_unlock(&fs->lock);
	reply_slice(req, &copy, size, off);
	rh_buf_free(&copy);
}

static void
rhfs_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size,
           off_t off, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct handle *h = handle_of(fi);
	struct scratch *sc;
	int r;

	if (h->node->type == N_FILE) {
		h->node->file->write(req, h, data, size, off);
		return;
	}
	if (h->scratch != NULL) {
		pthread_mutex_lock(&fs->lock);
		sc = h->scratch;
		if (h->flags & O_APPEND)
			off = (off_t)sc->data.len;
		if (off < 0 || (size_t)off + size > SCRATCH_MAX) {
			r = -EFBIG;
		} else {
			rh_buf_pwrite(&sc->data, data, size, (size_t)off);
			clock_gettime(CLOCK_REALTIME, &sc->mtime);
			r = (int)size;
		}
		pthread_mutex_unlock(&fs->lock);
	} else if (h->node->type == N_CONFIG) {
		r = config_write(fs, h, data, size, off);
	} else {
		r = -EBADF;
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, (size_t)r);
}

static void
rhfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	int r = 0;

	/* A shell's `>` opens, dups and closes the first descriptor before
	 * anything is written: only written content is judged at close. */
	if (h->scratch == NULL && h->node->type == N_CONFIG && h->written)
		r = config_commit(fs_of(req), h);
	else if (h->node->type == N_FILE && h->node->file == &file_secret)
		r = secret_flush(h);
	fuse_reply_err(req, -r);
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
	struct fs *fs = fs_of(req);
	struct handle *h = handle_of(fi);
	struct node *n = h->node;
	struct stat st;

	/* truncated or created but never written: judged now, and a refusal
	 * can only be logged */
	if (h->scratch == NULL && n->type == N_CONFIG && h->dirty)
		config_commit(fs, h);
	if (n->type == N_CONFIG && h->created) {
		handle_free(fs, h);
		/* created but never stored: the kernel must forget it */
		if (node_attr(fs, n, &st) == -ENOENT)
			notify_entry(fs, n->parent->ino, CONFIG_NAME);
	} else {
		handle_free(fs, h);
	}
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

static void
rhfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
            fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = fs_of(req);
	struct node *sdir, *ddir, *n;
	struct scratch *ssc = NULL, *dsc = NULL;
	enum what sw, dw;
	char *spath = NULL, *dpath = NULL, *from = NULL, *to = NULL;
	struct rh_store *s;
	struct rh_err err;
	int r;

	if (flags & RENAME_EXCHANGE) {
		r = -EINVAL;
		goto out;
	}
	if ((r = store_dir(fs, parent, &sdir, &spath)) < 0 ||
	    (r = store_dir(fs, newparent, &ddir, &dpath)) < 0 ||
	    (r = check_name(ddir, newname)) < 0)
		goto out;
	if (sdir->store != ddir->store) {
		r = -EXDEV;
		goto out;
	}
	s = sdir->store;
	if (s->readonly) {
		r = -EROFS;
		goto out;
	}
	if ((r = secret_rename(fs, sdir, spath, name, ddir, dpath, newname,
	                       flags)) <= 0) {
		if (r == 0) {
			notify_inode(fs, sdir->ino);
			notify_inode(fs, ddir->ino);
		}
		goto out;       /* a secret's field */
	}
	/* invoke, calls, status...: not onto them (the config would become
	 * a temporary file behind one), nor from them */
	if ((r = typed_refused(fs, sdir, spath, name, "renamed")) < 0 ||
	    (r = typed_refused(fs, ddir, dpath, newname, "replaced")) < 0)
		goto out;
	if ((r = what_is(fs, s, spath, name, &sw, &ssc)) < 0 ||
	    (r = what_is(fs, s, dpath, newname, &dw, &dsc)) < 0)
		goto out;
	if (sw == W_NONE) {
		r = -ENOENT;
		goto out;
	}
	if (dw != W_NONE && (flags & RENAME_NOREPLACE)) {
		r = -EEXIST;
		goto out;
	}
	from = rh_path_join(spath, name);
	to = rh_path_join(dpath, newname);
	if (sw == W_DIR) {
		if (strcmp(newname, CONFIG_NAME) == 0 || dw == W_SCRATCH) {
			r = -ENOTDIR;
			goto out;
		}
		if ((r = reachable(fs, s, from, to)) < 0)
			goto out;
		if ((r = s->ops->rename(s, from, to,
		                        flags & RENAME_NOREPLACE)) == 0) {
			pthread_mutex_lock(&fs->lock);
			scratch_rename_dir(fs, s, from, to);
			pthread_mutex_unlock(&fs->lock);
			secret_moved(fs, s, from, to);
		} else if (r == -EINVAL) {
			rh_warn("refused: cannot move %s%s into itself",
			        s->prefix, from);
		}
	} else if (dw == W_DIR) {
		r = -EISDIR;
	} else if (sw == W_CONFIG && strcmp(newname, CONFIG_NAME) == 0) {
		if (strcmp(spath, dpath) != 0 &&
		    (r = root_config(ddir, dpath)) == 0 &&
		    (r = rh_store_move_config(s, spath, dpath, &err)) < 0)
			rh_warn("refused: %s", err.msg);
	} else if (sw == W_CONFIG) {
		r = config_to_scratch(fs, s, spath, to, dsc);
	} else if (strcmp(newname, CONFIG_NAME) == 0) {
		if ((r = root_config(ddir, dpath)) == 0)
			r = scratch_to_config(fs, s, dpath, ssc);
	} else {
		pthread_mutex_lock(&fs->lock);
		if (dsc != NULL && dsc != ssc)
			scratch_unlink(fs, dsc);
		free(ssc->path);
		ssc->path = xstrdup(to);
		pthread_mutex_unlock(&fs->lock);
	}
	if (r < 0)
		goto out;

	/* the source's inode now has the new name */
	pthread_mutex_lock(&fs->lock);
	if ((n = node_lookup(fs, sdir, name)) != NULL) {
		node_move(fs, n, ddir, newname);
		if (n->type == N_SCRATCH && strcmp(newname, CONFIG_NAME) == 0) {
			n->type = N_CONFIG;
			if (n->scratch != NULL)
				scratch_put(n->scratch);
			n->scratch = NULL;
		} else if (n->type == N_CONFIG &&
		           strcmp(newname, CONFIG_NAME) != 0) {
			n->type = N_SCRATCH;
			n->scratch = scratch_find(fs, s, to);
			if (n->scratch != NULL)
				n->scratch->refs++;
		}
	} else if ((n = node_lookup(fs, ddir, newname)) != NULL) {
		node_unhash(fs, n);
	}
	pthread_mutex_unlock(&fs->lock);
	notify_inode(fs, sdir->ino);
	if (ddir != sdir)
		notify_inode(fs, ddir->ino);
out:
	pthread_mutex_lock(&fs->lock);
	if (ssc != NULL)
		scratch_put(ssc);
	if (dsc != NULL)
		scratch_put(dsc);
	pthread_mutex_unlock(&fs->lock);
	free(from);
	free(to);
	free(spath);
	free(dpath);
	fuse_reply_err(req, -r);
}

static void
rhfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct node *n = get_node(fs, ino);
	char *target;
	int r;

	if (n != NULL && n->type == N_AT && remote_user(fs) != NULL) {
		fuse_reply_readlink(req, remote_user(fs));
		return;
	}
	if (n == NULL || n->type != N_LATEST) {
		fuse_reply_err(req, n == NULL ? ESTALE : EINVAL);
		return;
	}
	if ((r = latest_target(fs, n, &target)) < 0) {
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

const struct fuse_lowlevel_ops rhfs_ops = {
	.init = rhfs_init,
	.lookup = rhfs_lookup,
	.forget = rhfs_forget,
	.forget_multi = rhfs_forget_multi,
	.getattr = rhfs_getattr,
	.setattr = rhfs_setattr,
	.opendir = rhfs_opendir,
	.readdir = rhfs_readdir,
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

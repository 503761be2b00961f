/* file-config.c - a resource's config.json. Each open works on its own
 * copy; the copy is validated and stored atomically when the file is
 * flushed (close, fsync). A write that completes an invalid config fails
 * at once with EINVAL and changes nothing. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

/* Log a refusal so that its reason is readable in MOUNT/.log. */
static int
refuse(const struct rh_err *err, int r)
{
	rh_warn("refused: %s", err->msg);
	return r;
}

/* The store's stat of n's resource. */
static int
config_stat(struct fs *fs, struct node *n, struct rh_stat *rs)
{
	char *path = node_dir_path(fs, n);
	int r = n->store->ops->stat(n->store, path, rs);

	free(path);
	return r;
}

/* The stored config's version: what a commit expects to replace. */
static uint64_t
config_version(struct fs *fs, struct node *n)
{
	struct rh_stat rs;
	int r = config_stat(fs, n, &rs);

	return r == 0 && rs.kind == RH_RESOURCE ? rs.version : 0;
}

static int
config_getattr(struct fs *fs, struct node *n, struct handle *h,
               struct stat *st)
{
	struct rh_stat rs;
	unsigned writers;
	int r = config_stat(fs, n, &rs);

	if (r < 0)
		return r;
	pthread_mutex_lock(&fs->lock);
	writers = n->writers;
	pthread_mutex_unlock(&fs->lock);
	st->st_mode = S_IFREG | (n->store->readonly ? 0444 : 0644);
	if (rs.kind == RH_RESOURCE) {
		st->st_size = (off_t)rs.config_size;
		st->st_mtim = st->st_atim = rs.mtime;
		st->st_ctim = rs.ctime;
	} else if (writers > 0) {
		/* created, not stored until closed */
		clock_gettime(CLOCK_REALTIME, &st->st_mtim);
		st->st_ctim = st->st_atim = st->st_mtim;
	} else {
		return -ENOENT;
	}
	if (h != NULL)          /* this open's copy, after ftruncate */
		st->st_size = (off_t)h->buf.len;
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

/* Whether the kernel's pages of n hold version ver alone: the bytes
 * this mount last read are of ver, and no open handle is at another
 * version (one could still be filling the pages with its own bytes).
 * With fs->lock held. */
static int
pages_current(const struct node *n, uint64_t ver)
{
	const struct handle *o;

	if (n->cfg_ver == 0 || n->cfg_ver != ver)
		return 0;
	for (o = n->configs; o != NULL; o = o->next_config)
		if (o->version != ver)
			return 0;
	return 1;
}

/* A reader's open: while the stored version is the one this mount last
 * read, its bytes are served again and the kernel keeps its pages of
 * them (no read of the store, no round trip per read); otherwise the
 * store is read, the kernel's pages are dropped (keep_cache 0) and so
 * is its cached size, which the next read asks again. */
static int
open_reader(struct fs *fs, struct handle *h)
{
	struct node *n = h->node;
	struct rh_stat rs;
	char *path = node_dir_path(fs, n);
	int r = n->store->ops->stat(n->store, path, &rs);

	if (r == 0 && rs.kind == RH_RESOURCE && rs.version != 0) {
		pthread_mutex_lock(&fs->lock);
		if (pages_current(n, rs.version) &&
		    n->cfg.len == rs.config_size) {
			rh_buf_append(&h->buf, n->cfg.data, n->cfg.len);
			h->version = rs.version;
			h->keep_cache = 1;
		}
		pthread_mutex_unlock(&fs->lock);
	}
	if (!h->keep_cache) {
		r = n->store->ops->get(n->store, path, &h->buf, &h->version);
		if (r == 0) {
			pthread_mutex_lock(&fs->lock);
			rh_buf_truncate(&n->cfg, 0);
			rh_buf_append(&n->cfg, h->buf.data, h->buf.len);
			n->cfg_ver = h->version;
			n->held_until = 0;
			pthread_mutex_unlock(&fs->lock);
			/* attributes only (offset -1): no page is locked */
			fuse_lowlevel_notify_inval_inode(fs->se, n->ino, -1, 0);
		}
	}
	free(path);
	if (r < 0)
		return r == -EISDIR ? -ENOENT : r;
	/* nothing to store at close: no flush round trip */
	h->direct_io = 0;
	h->noflush = 1;
	return 0;
}

static int
config_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	struct node *n = h->node;
	char *path;
	int r = 0;

	if ((h->flags & O_ACCMODE) != O_RDONLY && n->store->readonly)
		return -EROFS;
	rh_buf_reserve(&h->buf, 0);
	if ((h->flags & O_ACCMODE) == O_RDONLY && !h->created &&
	    !(h->flags & O_TRUNC)) {
		if ((r = open_reader(fs, h)) < 0)
			return r;
	} else if (!h->created && !(h->flags & O_TRUNC)) {
		path = node_dir_path(fs, n);
		r = n->store->ops->get(n->store, path, &h->buf, &h->version);
		free(path);
		if (r < 0)
			return r == -EISDIR ? -ENOENT : r;
	}
	if (!h->created && (h->flags & O_TRUNC))
		h->version = config_version(fs, n);
	if (h->created || (h->flags & O_TRUNC))
		h->dirty = 1;
	pthread_mutex_lock(&fs->lock);
	if (h->created)
		n->writers++;
	h->next_config = n->configs;
	n->configs = h;
	h->listed = 1;
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* Out of its node's open handles; with fs->lock held. */
static void
config_unlist(struct handle *h)
{
	struct handle **p;

	for (p = &h->node->configs; *p != NULL; p = &(*p)->next_config)
		if (*p == h) {
			*p = h->next_config;
			break;
		}
	h->listed = 0;
}

/* This mount stored version to over version from: the other open
 * handles that read from are as current as h was, and the last of them
 * to close wins. A change from elsewhere (another mount, an editor on
 * the workdir) still fails their close (EBUSY). */
static void
config_stored(struct fs *fs, struct handle *h, uint64_t from, uint64_t to)
{
	struct handle *o;

	pthread_mutex_lock(&fs->lock);
	for (o = h->node->configs; o != NULL; o = o->next_config)
		if (o != h && o->version == from)
			o->version = to;
	pthread_mutex_unlock(&fs->lock);
}

static int
check(struct fs *fs, struct handle *h, struct rh_err *err)
{
	char *addr = res_address(fs, h->node, NULL), *canon;
	size_t clen;
	int r;

	r = rh_config_check(addr, h->buf.data, h->buf.len, &canon, &clen, err);
	free(canon);
	free(addr);
	return r;
}

static int
config_write(struct fs *fs, struct handle *h, const char *data, size_t len,
             off_t off)
{
	struct rh_err err;
	size_t old_len = h->buf.len, end;
	char *saved = NULL;
	int r;

	if (h->flags & O_APPEND)
		off = (off_t)h->buf.len;
	end = (size_t)off + len;
	if (off < 0 || end > RH_CONFIG_MAX) {
		char *addr = res_address(fs, h->node, NULL);

		rh_err_set(&err, EFBIG, "%s: config.json larger than %d bytes",
		           addr, RH_CONFIG_MAX);
		free(addr);
		h->refused = 1;
		return refuse(&err, -EFBIG);
	}
	/* keep what this write covers, to undo it if refused */
	if (old_len > 0)
		saved = xstrndup(h->buf.data, old_len);
	rh_buf_pwrite(&h->buf, data, len, (size_t)off);
	if (rh_config_complete(h->buf.data, h->buf.len) &&
	    (r = check(fs, h, &err)) < 0) {
		rh_buf_truncate(&h->buf, 0);
		if (saved != NULL)
			rh_buf_append(&h->buf, saved, old_len);
		free(saved);
		h->refused = 1;
		return refuse(&err, r);
	}
	free(saved);
	h->dirty = 1;
	h->written = 1;
	h->refused = 0;
	return (int)len;
}

/* Store the handle's copy if it changed. */
static int
config_commit(struct fs *fs, struct handle *h)
{
	struct node *n = h->node;
	struct rh_err err;
	uint64_t from;
	char *path;
	int r;

	if (!handle_to_store(h))
		return 0;
	path = node_dir_path(fs, n);
	/* compare-and-swap: a config changed since this open read it (in
	 * another mount, say) is not overwritten */
	r = rh_store_put_config(n->store, path, h->buf.data, h->buf.len,
	                        h->version, &err);
	free(path);
	if (r < 0) {
		/* heard at close(); not again at release */
		h->refused = 1;
		return refuse(&err, r == -EAGAIN ? -EBUSY : r);
	}
	from = h->version;
	h->version = config_version(fs, n);
	config_stored(fs, h, from, h->version);
	/* the kernel's pages are of the old bytes until the notification
	 * below is through: the next reader's open drops them */
	pthread_mutex_lock(&fs->lock);
	n->cfg_ver = 0;
	pthread_mutex_unlock(&fs->lock);
	h->dirty = 0;
	rh_debug("stored %s config.json (%zu bytes)", n->store->prefix,
	         h->buf.len);
	notify_inode(fs, n->ino);
	notify_inode(fs, n->parent->ino);
	return 0;
}

/* truncate(2) by path: the shortened content must still be a config. */
static int
truncate_path(struct fs *fs, struct node *n, off_t size)
{
	struct handle h;
	struct rh_err err;
	int r;

	memset(&h, 0, sizeof(h));
	h.node = n;
	h.flags = O_WRONLY;
	h.fs = fs;
	if ((r = config_open(fs, &h, &err)) < 0) {
		rh_buf_free(&h.buf);
		return r;
	}
	if ((size_t)size > RH_CONFIG_MAX) {
		r = -EFBIG;
	} else {
		rh_buf_truncate(&h.buf, (size_t)size);
		h.dirty = 1;
		r = config_commit(fs, &h);
	}
	pthread_mutex_lock(&fs->lock);
	config_unlist(&h);
	pthread_mutex_unlock(&fs->lock);
	rh_buf_free(&h.buf);
	return r;
}

/* ftruncate: this open's copy, judged when stored */
static int
config_truncate(struct fs *fs, struct node *n, struct handle *h, off_t size)
{
	if (h == NULL)
		return truncate_path(fs, n, size);
	if (size > RH_CONFIG_MAX)
		return -EFBIG;
	rh_buf_truncate(&h->buf, (size_t)size);
	h->dirty = 1;
	h->refused = 0;
	return 0;
}

/* Whether h's node is config.json still: one renamed to a temp file
 * (vim's backup) keeps its open handles, which no longer store. */
static int
still_config(const struct handle *h)
{
	int r;

	pthread_mutex_lock(&h->fs->lock);
	r = h->node->kind == &kind_config;
	pthread_mutex_unlock(&h->fs->lock);
	return r;
}

static void
config_write_req(fuse_req_t req, struct handle *h, const char *data,
                 size_t size, off_t off)
{
	int r = still_config(h) ? config_write(h->fs, h, data, size, off) :
	        -EBADF;

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, (size_t)r);
}

/* A shell's `>` opens, dups and closes the first descriptor before
 * anything is written: only written content is judged at close. */
static int
config_flush(struct handle *h)
{
	return h->written && still_config(h) ? config_commit(h->fs, h) : 0;
}

static void
config_release(struct handle *h)
{
	pthread_mutex_lock(&h->fs->lock);
	if (h->created)
		h->node->writers--;
	if (h->listed)
		config_unlist(h);
	pthread_mutex_unlock(&h->fs->lock);
}

/* Truncated or created but never written: judged now, and a refusal can
 * only be logged. One created but never stored: the kernel must forget
 * it. */
static void
config_close(struct fs *fs, struct handle *h)
{
	struct node *n = h->node;
	struct stat st;
	fuse_ino_t parent;
	int config = still_config(h), created = h->created;
	int wrote = (h->flags & O_ACCMODE) != O_RDONLY;

	if (config && h->dirty)
		config_commit(fs, h);
	handle_free(fs, h);
	if (!config)
		return;
	pthread_mutex_lock(&fs->lock);
	parent = n->parent->ino;
	pthread_mutex_unlock(&fs->lock);
	/* what the resource's files act on follows (its data's store) */
	if (wrote)
		types_on_config(fs, parent);
	if (!created)
		return;
	memset(&st, 0, sizeof(st));
	if (config_getattr(fs, n, NULL, &st) == -ENOENT)
		notify_entry(fs, parent, "config.json");
}

const struct fs_kind kind_config = {
	.name = "config.json",
	.mode = 0644,
	.store_file = 1,
	.getattr = config_getattr,
	.open = config_open,
	.read = read_open_buf,
	.write = config_write_req,
	.truncate = config_truncate,
	.flush = config_flush,
	.close = config_close,
	.release = config_release,
};

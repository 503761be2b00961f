/* scratch.c - temporary files that editors and tools make beside
 * config.json (vim's swap and backup files, sed -i's temp file). They live
 * in memory, never in the store; renaming one onto config.json stores its
 * content if it is a valid config. */
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

struct scratch *
scratch_find(struct fs *fs, struct rh_store *s, const char *path)
{
	struct scratch *sc;

	for (sc = fs->scratches; sc != NULL; sc = sc->next)
		if (sc->store == s && strcmp(sc->path, path) == 0)
			return sc;
	return NULL;
}

struct scratch *
scratch_new(struct fs *fs, struct rh_store *s, const char *path,
            unsigned mode)
{
	struct scratch *sc = xcalloc(1, sizeof(*sc));

	sc->store = s;
	sc->path = xstrdup(path);
	sc->mode = mode & 07777;
	clock_gettime(CLOCK_REALTIME, &sc->mtime);
	sc->ctime = sc->mtime;
	sc->refs = 1;           /* the list's */
	sc->next = fs->scratches;
	fs->scratches = sc;
	return sc;
}

void
scratch_put(struct scratch *sc)
{
	if (--sc->refs > 0)
		return;
	rh_buf_free(&sc->data);
	free(sc->path);
	free(sc);
}

void
scratch_unlink(struct fs *fs, struct scratch *sc)
{
	struct scratch **pp;

	for (pp = &fs->scratches; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == sc) {
			*pp = sc->next;
			scratch_put(sc);
			return;
		}
	}
}

/* A directory moved: so do the temp files inside it. */
void
scratch_rename_dir(struct fs *fs, struct rh_store *s, const char *from,
                   const char *to)
{
	struct scratch *sc;
	size_t n = strlen(from);
	char *p;

	for (sc = fs->scratches; sc != NULL; sc = sc->next) {
		if (sc->store != s || strncmp(sc->path, from, n) != 0 ||
		    sc->path[n] != '/')
			continue;
		p = xasprintf("%s%s", to, sc->path + n);
		free(sc->path);
		sc->path = p;
	}
}

int
scratch_list(struct fs *fs, struct rh_store *s, const char *dir,
             rh_list_cb cb, void *arg)
{
	struct scratch *sc;
	size_t n = strlen(dir);
	int r;

	for (sc = fs->scratches; sc != NULL; sc = sc->next) {
		const char *name = sc->path + (n ? n + 1 : 0);

		if (sc->store != s || strncmp(sc->path, dir, n) != 0 ||
		    (n && sc->path[n] != '/') || strchr(name, '/') != NULL)
			continue;
		if ((r = cb(arg, name, RH_ABSENT)) != 0)
			return r;
	}
	return 0;
}

/* ---- the kind of a temp file's node ---- */

#define SCRATCH_MAX (16 * 1024 * 1024)

static int
scratch_getattr(struct fs *fs, struct node *n, struct handle *h,
                struct stat *st)
{
	pthread_mutex_lock(&fs->lock);
	st->st_mode = S_IFREG | n->scratch->mode;
	st->st_size = (off_t)n->scratch->data.len;
	st->st_mtim = st->st_atim = n->scratch->mtime;
	st->st_ctim = n->scratch->ctime;
	pthread_mutex_unlock(&fs->lock);
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

/* Its own mode and times, as a file on disk has. */
static int
scratch_setattr(struct fs *fs, struct node *n, struct handle *h,
                const struct stat *attr, int to_set, struct stat *st)
{
	int r;

	if ((r = setattr_allowed(fs, n, attr, to_set)) < 0)
		return r;
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
	return r < 0 ? r : scratch_getattr(fs, n, h, st);
}

static int
scratch_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	pthread_mutex_lock(&fs->lock);
	h->scratch = h->node->scratch;
	h->scratch->refs++;
	if (h->flags & O_TRUNC)
		rh_buf_truncate(&h->scratch->data, 0);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* A temp file is small: copied whole, replied unlocked. */
static void
scratch_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct rh_buf copy = { 0 };

	pthread_mutex_lock(&h->fs->lock);
	rh_buf_append(&copy, h->scratch->data.data, h->scratch->data.len);
	pthread_mutex_unlock(&h->fs->lock);
	reply_slice(req, &copy, size, off);
	rh_buf_free(&copy);
}

static void
scratch_write(fuse_req_t req, struct handle *h, const char *data,
              size_t size, off_t off)
{
	struct scratch *sc;
	int r;

	pthread_mutex_lock(&h->fs->lock);
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
	pthread_mutex_unlock(&h->fs->lock);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, (size_t)r);
}

const struct fs_kind kind_scratch = {
	.name = "temp file",
	.mode = 0644,
	.store_file = 1,
	.getattr = scratch_getattr,
	.setattr = scratch_setattr,
	.open = scratch_open,
	.read = scratch_read,
	.write = scratch_write,
};

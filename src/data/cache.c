/*
 * cache.c - attributes and listings of a remote store (S3, a cluster's
 * SFTP), kept in memory in front of it: a store wrapped by
 * rh_data_cache_wrap answers stat and list from what it last saw for
 * `ttl` seconds, and asks the store again after that (changes made
 * elsewhere show within ttl).
 *
 * What this store changes itself (create, write, truncate, setattr,
 * mkdir, unlink, rmdir, rename) is dropped from the cache before the
 * operation returns: the entry, the listing of its directory, and for a
 * directory everything below. A request that began before such a change
 * does not store its (older) answer. So nothing this mount wrote is ever
 * answered stale, and nothing it did not write is answered older than ttl.
 *
 * A fresh listing of a directory answers for its entries too: a name it
 * lacks is -ENOENT without asking. A store whose listing does not say
 * all of an entry gives it with st_nlink 0 (S3: not the mode and mtime
 * kept in metadata); the cache gives such an entry the attributes stat
 * last gave while its listed version (type, size, st_ctim and st_ino: for
 * S3 LastModified and a hash of the ETag) is the same, takes the listing
 * as all for a file this store wrote with nothing kept beside its bytes,
 * and otherwise leaves st_nlink 0 for fs/data.c to have it looked up (and
 * stat'ed) when its attributes are wanted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datastore.h"

#define NBUCKETS 4096
#define MAX_ENTRIES 200000      /* more: everything is dropped */

/* What is known of one path. */
struct centry {
	char *path;
	struct stat st;
	int err;                /* 0, or -ENOENT: known to be missing */
	int full;               /* st from stat (not only from a listing) */
	int plain;              /* written here with nothing but its bytes:
	                         * a listing shows all of it */
	double seen;            /* when it was last confirmed */
	struct centry *next;    /* in its bucket */
};

/* A directory's listing. */
struct clist {
	char *path;
	char **names;
	size_t n;
	double seen;
	struct clist *next;
};

struct cache {
	struct rh_data d;
	struct rh_data *inner;
	double ttl;
	pthread_mutex_t lock;
	uint64_t gen;           /* changed by every invalidation */
	size_t nentries;
	struct centry *e[NBUCKETS];
	struct clist *l[NBUCKETS];
};

struct rh_data_file {
	struct cache *c;
	struct rh_data_file *f;
	char *path;
	int wr;
	int attrs;              /* setattr was called on it */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned
hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

static int
fresh(const struct cache *c, double seen)
{
	return now() - seen < c->ttl;
}

static struct centry *
entry_find(struct cache *c, const char *path)
{
	struct centry *e;

	for (e = c->e[hash(path)]; e != NULL; e = e->next)
		if (strcmp(e->path, path) == 0)
			return e;
	return NULL;
}

static struct clist *
list_find(struct cache *c, const char *path)
{
	struct clist *l;

	for (l = c->l[hash(path)]; l != NULL; l = l->next)
		if (strcmp(l->path, path) == 0)
			return l;
	return NULL;
}

static void
list_free(struct clist *l)
{
	rh_strs_free(l->names, l->n);
	free(l->path);
	free(l);
}

static void
drop_all(struct cache *c)
{
	struct centry *e;
	struct clist *l;
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		while ((e = c->e[i]) != NULL) {
			c->e[i] = e->next;
			free(e->path);
			free(e);
		}
		while ((l = c->l[i]) != NULL) {
			c->l[i] = l->next;
			list_free(l);
		}
	}
	c->nentries = 0;
}

/* Is path at or below dir? */
static int
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 0)
		return 1;
	return strncmp(path, dir, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

static char *
parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == NULL ? xstrdup("") :
	       xstrndup(path, (size_t)(slash - path));
}

static int
forgotten(const char *p, const char *path, const char *parent, int below)
{
	return strcmp(p, path) == 0 || strcmp(p, parent) == 0 ||
	       (below && under(p, path));
}

/* Forget what is known in bucket i of path (with below: and of
 * everything under it) and of its directory. */
static void
forget_in(struct cache *c, unsigned i, const char *path, const char *parent,
          int below)
{
	struct centry **pe, *e;
	struct clist **pl, *l;

	for (pe = &c->e[i]; (e = *pe) != NULL;) {
		if (forgotten(e->path, path, parent, below)) {
			*pe = e->next;
			free(e->path);
			free(e);
			c->nentries--;
		} else {
			pe = &e->next;
		}
	}
	for (pl = &c->l[i]; (l = *pl) != NULL;) {
		if (forgotten(l->path, path, parent, below)) {
			*pl = l->next;
			list_free(l);
		} else {
			pl = &l->next;
		}
	}
}

/* Forget path (with below: and everything under it), its directory's
 * listing and entry. Called with c->lock held. */
static void
forget(struct cache *c, const char *path, int below)
{
	char *parent = parent_of(path);
	unsigned i;

	c->gen++;
	if (below) {
		for (i = 0; i < NBUCKETS; i++)
			forget_in(c, i, path, parent, below);
	} else {
		forget_in(c, hash(path), path, parent, 0);
		forget_in(c, hash(parent), path, parent, 0);
	}
	free(parent);
}

static void
invalidate(struct cache *c, const char *path, int below)
{
	pthread_mutex_lock(&c->lock);
	forget(c, path, below);
	pthread_mutex_unlock(&c->lock);
}

/* Record what path is (st, or err), unless the cache changed since gen.
 * With c->lock held. */
static struct centry *
record(struct cache *c, uint64_t gen, const char *path,
       const struct stat *st, int err, int full)
{
	struct centry *e;
	unsigned h;

	if (gen != c->gen)
		return NULL;
	if ((e = entry_find(c, path)) == NULL) {
		if (c->nentries >= MAX_ENTRIES)
			drop_all(c);
		e = xcalloc(1, sizeof(*e));
		e->path = xstrdup(path);
		h = hash(path);
		e->next = c->e[h];
		c->e[h] = e;
		c->nentries++;
	}
	if (st != NULL)
		e->st = *st;
	e->err = err;
	e->full = full;
	if (full)
		e->plain = 0;
	e->seen = now();
	return e;
}

/* The same version of a file or directory, as far as the store says. */
static int
same_version(const struct stat *a, const struct stat *b)
{
	return (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT) &&
	       a->st_size == b->st_size &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       a->st_ino == b->st_ino;
}

/* Whether a fresh listing of path's directory shows it missing. With
 * c->lock held. */
static int
listed_missing(struct cache *c, const char *path)
{
	const char *name = strrchr(path, '/');
	char *parent;
	struct clist *l;
	size_t i;

	if (*path == '\0')
		return 0;
	parent = parent_of(path);
	l = list_find(c, parent);
	free(parent);
	if (l == NULL || !fresh(c, l->seen))
		return 0;
	name = name != NULL ? name + 1 : path;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return 0;
	return 1;
}

static int
c_stat(struct rh_data *d, const char *path, struct stat *st)
{
	struct cache *c = (struct cache *)d;
	struct centry *e;
	uint64_t gen;
	int r;

	pthread_mutex_lock(&c->lock);
	e = entry_find(c, path);
	if (e != NULL && e->full && fresh(c, e->seen)) {
		r = e->err;
		if (r == 0)
			*st = e->st;
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	if (listed_missing(c, path)) {
		pthread_mutex_unlock(&c->lock);
		return -ENOENT;
	}
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	r = c->inner->ops->stat(c->inner, path, st);
	if (r == 0 || r == -ENOENT) {
		pthread_mutex_lock(&c->lock);
		record(c, gen, path, r == 0 ? st : NULL, r, 1);
		pthread_mutex_unlock(&c->lock);
	}
	return r;
}

/* A listing being taken. */
struct taking {
	char **names;
	struct stat *st;
	size_t n, cap;
};

static int
take(const char *name, const struct stat *st, void *arg)
{
	struct taking *t = arg;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->names = xrealloc(t->names, t->cap * sizeof(*t->names));
		t->st = xrealloc(t->st, t->cap * sizeof(*t->st));
	}
	t->names[t->n] = xstrdup(name);
	t->st[t->n++] = *st;
	return 0;
}

static void
taking_free(struct taking *t)
{
	rh_strs_free(t->names, t->n);
	free(t->st);
}

static int
c_list(struct rh_data *d, const char *path, rh_data_list_cb cb, void *arg)
{
	struct cache *c = (struct cache *)d;
	struct taking t = { 0 };
	struct clist *l;
	struct centry *e;
	uint64_t gen;
	size_t i;
	char *p;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	l = list_find(c, path);
	if (l != NULL && fresh(c, l->seen)) {
		/* each entry as it is known now */
		for (i = 0; i < l->n; i++) {
			p = rh_path_join(path, l->names[i]);
			e = entry_find(c, p);
			free(p);
			if (e == NULL || e->err != 0)
				break;
			take(l->names[i], &e->st, &t);
		}
		if (i == l->n) {
			pthread_mutex_unlock(&c->lock);
			goto give;
		}
		taking_free(&t);
		memset(&t, 0, sizeof(t));
	}
	gen = c->gen;
	pthread_mutex_unlock(&c->lock);
	if ((r = c->inner->ops->list(c->inner, path, take, &t)) < 0) {
		taking_free(&t);
		return r;
	}
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < t.n; i++) {
		p = rh_path_join(path, t.names[i]);
		e = entry_find(c, p);
		if (t.st[i].st_nlink != 0) {
			/* the store's listing says all */
			record(c, gen, p, &t.st[i], 0, 1);
		} else if (e != NULL && e->full && e->err == 0 &&
		           (same_version(&e->st, &t.st[i]) ||
		            (S_ISDIR(e->st.st_mode) &&
		             S_ISDIR(t.st[i].st_mode)))) {
			/* what stat gave, still so (a listing says nothing
			 * of a directory's own attributes) */
			t.st[i] = e->st;
			if (gen == c->gen)
				e->seen = now();
		} else if (e != NULL && e->plain && e->err == 0 &&
		           S_ISREG(t.st[i].st_mode)) {
			/* written here with nothing kept beside */
			t.st[i].st_nlink = 1;
			record(c, gen, p, &t.st[i], 0, 1);
		} else {
			record(c, gen, p, &t.st[i], 0, 0);
		}
		free(p);
	}
	if (gen == c->gen) {
		if ((l = list_find(c, path)) == NULL) {
			l = xcalloc(1, sizeof(*l));
			l->path = xstrdup(path);
			i = hash(path);
			l->next = c->l[i];
			c->l[i] = l;
		} else {
			rh_strs_free(l->names, l->n);
			l->names = NULL;
			l->n = 0;
		}
		l->names = xcalloc(t.n ? t.n : 1, sizeof(*l->names));
		for (i = 0; i < t.n; i++)
			l->names[i] = xstrdup(t.names[i]);
		l->n = t.n;
		l->seen = now();
	}
	pthread_mutex_unlock(&c->lock);
give:
	for (i = 0; i < t.n && r == 0; i++)
		r = cb(t.names[i], &t.st[i], arg);
	taking_free(&t);
	return r;
}

static int
c_readlink(struct rh_data *d, const char *path, char *buf, size_t size)
{
	struct cache *c = (struct cache *)d;

	return c->inner->ops->readlink(c->inner, path, buf, size);
}

static int
c_open(struct rh_data *d, const char *path, int flags, mode_t mode,
       struct rh_data_file **out)
{
	struct cache *c = (struct cache *)d;
	struct rh_data_file *f;
	int wr = (flags & O_ACCMODE) != O_RDONLY ||
	         (flags & (O_CREAT | O_TRUNC)) != 0;
	int r;

	*out = NULL;
	f = xcalloc(1, sizeof(*f));
	f->path = xstrdup(path);
	f->c = c;
	f->wr = wr;
	r = c->inner->ops->open(c->inner, path, flags, mode, &f->f);
	if (wr)
		invalidate(c, path, 0);
	if (r < 0) {
		free(f->path);
		free(f);
		return r;
	}
	*out = f;
	return 0;
}

static ssize_t
c_read(struct rh_data_file *f, void *buf, size_t size, off_t off)
{
	return f->c->inner->ops->read(f->f, buf, size, off);
}

static ssize_t
c_write(struct rh_data_file *f, const void *buf, size_t size, off_t off)
{
	ssize_t w = f->c->inner->ops->write(f->f, buf, size, off);

	if (w > 0)
		invalidate(f->c, f->path, 0);
	return w;
}

static int
c_truncate(struct rh_data *d, const char *path, struct rh_data_file *f,
           off_t size)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->truncate(c->inner, path, f ? f->f : NULL,
	                                size);

	invalidate(c, f ? f->path : path, 0);
	return r;
}

static int
c_setattr(struct rh_data *d, const char *path, struct rh_data_file *f,
          const struct rh_data_attr *a)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->setattr(c->inner, path, f ? f->f : NULL, a);

	if (f != NULL)
		f->attrs = 1;
	invalidate(c, f ? f->path : path, 0);
	return r;
}

static int
c_fsync(struct rh_data_file *f, int datasync)
{
	int r = f->c->inner->ops->fsync(f->f, datasync);

	if (f->wr)
		invalidate(f->c, f->path, 0);
	return r;
}

static int
c_flush(struct rh_data_file *f)
{
	int r = f->c->inner->ops->flush == NULL ? 0 :
	        f->c->inner->ops->flush(f->f);

	if (f->wr)
		invalidate(f->c, f->path, 0);
	return r;
}

static int
c_fstat(struct rh_data_file *f, struct stat *st)
{
	return f->c->inner->ops->fstat(f->f, st);
}

static int
c_close(struct rh_data_file *f)
{
	struct cache *c = f->c;
	struct centry *e;
	struct stat st;
	int plain = f->wr && !f->attrs &&
	            c->inner->ops->fstat(f->f, &st) == 0 &&
	            (st.st_mode & 07777) == 0644;
	int r = c->inner->ops->close(f->f);

	if (f->wr) {
		pthread_mutex_lock(&c->lock);
		forget(c, f->path, 0);
		if (r == 0 && plain) {
			memset(&st, 0, sizeof(st));
			st.st_mode = S_IFREG;
			if ((e = record(c, c->gen, f->path, &st, 0, 0)))
				e->plain = 1;
		}
		pthread_mutex_unlock(&c->lock);
	}
	free(f->path);
	free(f);
	return r;
}

static int
c_mkdir(struct rh_data *d, const char *path, mode_t mode)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->mkdir(c->inner, path, mode);

	invalidate(c, path, 1);
	return r;
}

static int
c_unlink(struct rh_data *d, const char *path)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->unlink(c->inner, path);

	invalidate(c, path, 0);
	return r;
}

static int
c_rmdir(struct rh_data *d, const char *path)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->rmdir(c->inner, path);

	invalidate(c, path, 1);
	return r;
}

static int
c_rename(struct rh_data *d, const char *from, const char *to,
         unsigned flags)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->rename(c->inner, from, to, flags);

	pthread_mutex_lock(&c->lock);
	forget(c, from, 1);
	forget(c, to, 1);
	pthread_mutex_unlock(&c->lock);
	return r;
}

static int
c_symlink(struct rh_data *d, const char *target, const char *path)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->symlink == NULL ? -EPERM :
	        c->inner->ops->symlink(c->inner, target, path);

	invalidate(c, path, 0);
	return r;
}

static int
c_link(struct rh_data *d, const char *from, const char *to)
{
	struct cache *c = (struct cache *)d;
	int r = c->inner->ops->link == NULL ? -EPERM :
	        c->inner->ops->link(c->inner, from, to);

	invalidate(c, from, 0);         /* its link count */
	invalidate(c, to, 0);
	return r;
}

static int
c_mknod(struct rh_data *d, const char *path, mode_t mode, dev_t rdev)
{
	struct cache *c = (struct cache *)d;
	int r = rh_data_mknod(c->inner, path, mode, rdev);

	invalidate(c, path, 0);
	return r;
}

static void
c_free(struct rh_data *d)
{
	struct cache *c = (struct cache *)d;

	rh_data_free(c->inner);
	drop_all(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static const struct rh_data_ops cache_ops = {
	.name = "cache",
	.stat = c_stat,
	.list = c_list,
	.readlink = c_readlink,
	.open = c_open,
	.read = c_read,
	.write = c_write,
	.truncate = c_truncate,
	.setattr = c_setattr,
	.fsync = c_fsync,
	.flush = c_flush,
	.fstat = c_fstat,
	.close = c_close,
	.mkdir = c_mkdir,
	.unlink = c_unlink,
	.rmdir = c_rmdir,
	.rename = c_rename,
	.symlink = c_symlink,
	.link = c_link,
	.mknod = c_mknod,
	.free = c_free,
};

struct rh_data *
rh_data_cache_wrap(struct rh_data *inner, double ttl)
{
	struct cache *c;

	if (inner == NULL || ttl <= 0)
		return inner;
	c = xcalloc(1, sizeof(*c));
	c->d.ops = &cache_ops;
	c->d.addr = inner->addr;
	c->inner = inner;
	c->ttl = ttl;
	pthread_mutex_init(&c->lock, NULL);
	return &c->d;
}

/* sync.c - a local directory copied to ~/NAME on a node, only the files
 * that changed: a manifest of each file's size and mtime, kept on the node
 * in ~/.rh/sync/NAME.json, says what the node has. Over SFTP for a node
 * reached by SSH, or a plain copy into a home on this machine (^local).
 * .git and __pycache__ are skipped, and so is anything on another
 * filesystem (a mount inside the directory, such as rhfs's own).
 * A file gone from the directory is removed from the node if the
 * manifest says an earlier sync put it there, and so is a directory the
 * manifest says a sync made, once nothing else is in it: anything else
 * on the node is never touched. */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "link.h"

#define SYNC_DIR ".rh/sync"
#define SYNC_MAX_FILES 100000
#define MANIFEST_MAX (64u * 1024 * 1024)
#define SYNC_TMP ".rhfs-sync.tmp"       /* a file being written */

struct entry {
	char *rel;
	char *stamp;            /* "size:sec.nsec" */
	unsigned mode;
};

struct walk {
	const char *root;
	dev_t dev;
	struct entry *e;
	size_t n, cap;
	dev_t skip_dev;         /* the copy itself, when it is inside */
	ino_t skip_ino;
};

static int
skipped(const char *name)
{
	return strcmp(name, ".git") == 0 || strcmp(name, "__pycache__") == 0 ||
	       strcmp(name, SYNC_TMP) == 0;
}

static int
walk_dir(struct walk *w, const char *rel, struct rh_err *err)
{
	char *path = *rel ? xasprintf("%s/%s", w->root, rel) :
	             xstrdup(w->root);
	struct dirent *d;
	struct stat st;
	char *child;
	DIR *dir;
	int r = 0;

	if ((dir = opendir(path)) == NULL) {
		r = rh_err_set(err, errno, "%s: %s", path, strerror(errno));
		free(path);
		return r;
	}
	while (r == 0 && (d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
		    skipped(d->d_name))
			continue;
		child = *rel ? xasprintf("%s/%s", rel, d->d_name) :
		        xstrdup(d->d_name);
		if (fstatat(dirfd(dir), d->d_name, &st,
		            AT_SYMLINK_NOFOLLOW) < 0) {
			free(child);
			continue;       /* gone meanwhile */
		}
		if (S_ISDIR(st.st_mode) && st.st_dev == w->skip_dev &&
		    st.st_ino == w->skip_ino) {
			free(child);
		} else if (S_ISDIR(st.st_mode) && st.st_dev == w->dev) {
			r = walk_dir(w, child, err);
			free(child);
		} else if (S_ISREG(st.st_mode)) {
			if (w->n == SYNC_MAX_FILES) {
				r = rh_err_set(err, EFBIG, "%s: more than %d "
				               "files", w->root, SYNC_MAX_FILES);
				free(child);
				break;
			}
			if (w->n == w->cap) {
				w->cap = w->cap ? w->cap * 2 : 64;
				w->e = xrealloc(w->e, w->cap * sizeof(*w->e));
			}
			w->e[w->n].rel = child;
			w->e[w->n].stamp = xasprintf("%lld:%lld.%09ld",
			                             (long long)st.st_size,
			                             (long long)st.st_mtim.tv_sec,
			                             st.st_mtim.tv_nsec);
			w->e[w->n].mode = st.st_mode & 0777;
			w->n++;
		} else {
			free(child);    /* links, devices, other mounts */
		}
	}
	closedir(dir);
	free(path);
	return r;
}

/* A growing list of strings. */
struct strs {
	char **v;
	size_t n;
};

static void
strs_add(struct strs *l, const char *s)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
}

static void
strs_free(struct strs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted and without repeats, for bsearch. */
static void
strs_sort(struct strs *l)
{
	size_t i, k = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (i = 1; i < l->n; i++) {
		if (strcmp(l->v[i], l->v[k]) == 0)
			free(l->v[i]);
		else
			l->v[++k] = l->v[i];
	}
	l->n = k + 1;
}

static int
strs_has(const struct strs *l, const char *s)
{
	return l->n > 0 &&
	       bsearch(&s, l->v, l->n, sizeof(*l->v), cmp_str) != NULL;
}

/* Unsorted, for a short list. */
static int
strs_find(const struct strs *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* Where the files go: an SFTP session, or a home on this machine held
 * open. Every path is relative to the home and is reached only through
 * real directories, never a symbolic link: on this machine by one
 * openat(O_NOFOLLOW) per component from the home's descriptor, so that
 * nothing can be swapped in between; over SFTP by an lstat of each
 * component before its first use. A file is written under SYNC_TMP
 * beside it and renamed over its name, so a link found at that name is
 * replaced at worst, never written through. */
struct target {
	struct rh_sftp *sftp;
	int home;               /* ^local: the home's descriptor */
	const char *src;        /* the local directory, for messages */
	const char *name;       /* the copy's directory, under home */
	struct strs *created;   /* directories below name made now */
	struct strs real;       /* directories checked (or made) in this sync */
	char *dir;              /* ^local: the directory dirfd is */
	int dirfd;
};

/* What was found at path instead of what a sync may act through. */
static int
refuse(const char *path, unsigned mode, int want_dir, struct rh_err *err)
{
	if (S_ISLNK(mode))
		return rh_err_set(err, ELOOP, "%s is a symbolic link on the "
		                  "node: nothing is written or removed through "
		                  "it", path);
	if (want_dir)
		return rh_err_set(err, ENOTDIR, "%s is not a directory on the "
		                  "node", path);
	return rh_err_set(err, EISDIR, "%s is not a regular file on the node",
	                  path);
}

/* One more component (comp, path from the home) below the directory fd,
 * made if missing and create: its descriptor, or -errno. */
static int
local_step(int fd, const char *comp, const char *path, int create, int *made,
           struct rh_err *err)
{
	struct stat st;
	int nfd;

	if (create && mkdirat(fd, comp, 0755) == 0)
		*made = 1;
	else if (create && errno != EEXIST)
		return rh_err_set(err, errno, "%s: %s", path, strerror(errno));
	nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (nfd >= 0)
		return nfd;
	if (errno == ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return refuse(path, st.st_mode, 1, err);
	return rh_err_set(err, errno, "%s: %s", path, strerror(errno));
}

static int
sftp_step(struct rh_sftp *sftp, const char *path, int create, int *made,
          struct rh_err *err)
{
	unsigned mode;
	int r;

	r = rh_sftp_lstat(sftp, path, &mode, err);
	if (r == -ENOENT && create &&
	    (r = rh_sftp_mkdir(sftp, path, made, err)) == 0)
		mode = S_IFDIR;
	if (r < 0)
		return r;
	return S_ISDIR(mode) ? 0 : refuse(path, mode, 1, err);
}

/* The directory dir (from the home), each component a real directory,
 * made when missing if create. Locally *fdp is its descriptor, owned by
 * t until the next call. */
static int
target_dir(struct target *t, const char *dir, int create, int *fdp,
           struct rh_err *err)
{
	size_t nl = strlen(t->name);
	char *path, *comp, *p;
	int fd = t->home, nfd, r = 0, made;

	if (t->sftp == NULL && t->dir != NULL && strcmp(t->dir, dir) == 0) {
		*fdp = t->dirfd;
		return 0;
	}
	if (t->sftp != NULL && strs_find(&t->real, dir))
		return 0;
	path = xstrdup(dir);
	for (comp = path;; comp = p + 1) {
		if ((p = strchr(comp, '/')) != NULL)
			*p = '\0';
		made = 0;
		if (t->sftp == NULL) {
			nfd = local_step(fd, comp, path, create, &made, err);
			if (fd != t->home)
				close(fd);
			fd = nfd;
			r = nfd < 0 ? nfd : 0;
		} else if (!strs_find(&t->real, path) &&
		           (r = sftp_step(t->sftp, path, create, &made,
		                          err)) == 0) {
			strs_add(&t->real, path);
		}
		/* the manifest keeps it, to remove it when no longer used */
		if (made && t->created != NULL &&
		    strncmp(path, t->name, nl) == 0 && path[nl] == '/')
			strs_add(t->created, path + nl + 1);
		if (r < 0 || p == NULL)
			break;
		*p = '/';
	}
	free(path);
	if (r < 0 || t->sftp != NULL)
		return r;
	if (t->dir != NULL)
		close(t->dirfd);
	free(t->dir);
	t->dir = xstrdup(dir);
	t->dirfd = *fdp = fd;
	return 0;
}

/* rel's directory (returned, to free) and its last part. */
static char *
split(const char *rel, const char **leaf)
{
	const char *slash = strrchr(rel, '/');

	*leaf = slash + 1;
	return xstrndup(rel, (size_t)(slash - rel));
}

/* What rel's last part is in its directory dfd (locally), a link not
 * followed: its stat mode, or -ENOENT. */
static int
target_lstat(struct target *t, int dfd, const char *rel, const char *leaf,
             unsigned *mode, struct rh_err *err)
{
	struct stat st;

	if (t->sftp != NULL)
		return rh_sftp_lstat(t->sftp, rel, mode, err);
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return rh_err_set(err, errno, "%s: %s", rel, strerror(errno));
	*mode = st.st_mode;
	return 0;
}

/* rel removed (a file, or the link itself; or an empty directory). */
static int
target_remove_at(struct target *t, int dfd, const char *rel, const char *leaf,
                 int isdir, struct rh_err *err)
{
	if (t->sftp != NULL)
		return isdir ? rh_sftp_rmdir(t->sftp, rel, err) :
		       rh_sftp_unlink(t->sftp, rel, err);
	if (unlinkat(dfd, leaf, isdir ? AT_REMOVEDIR : 0) < 0)
		return rh_err_set(err, errno, "%s: %s", rel, strerror(errno));
	return 0;
}

static int
write_all(int fd, const char *data, size_t len, const char *what,
          struct rh_err *err)
{
	ssize_t w;
	size_t off;

	for (off = 0; off < len; off += (size_t)w) {
		if ((w = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR) {
				w = 0;
				continue;
			}
			return rh_err_set(err, errno, "%s: %s", what,
			                  strerror(errno));
		}
	}
	return 0;
}

/* A new file leaf in the directory dfd: the local file src's content,
 * or data when src is NULL. */
static int
local_create(int dfd, const char *leaf, const char *rel, const char *src,
             const char *data, size_t len, unsigned mode, struct rh_err *err)
{
	char buf[128 * 1024];
	ssize_t n;
	int in = -1, out, r = 0;

	if (src != NULL && (in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return rh_err_set(err, errno, "%s: %s", src, strerror(errno));
	out = openat(dfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	             O_CLOEXEC, mode);
	if (out < 0) {
		r = rh_err_set(err, errno, "%s: %s", rel, strerror(errno));
		if (in >= 0)
			close(in);
		return r;
	}
	if (src == NULL)
		r = write_all(out, data, len, rel, err);
	while (src != NULL && r == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = rh_err_set(err, errno, "%s: %s", src,
			               strerror(errno));
		else
			r = write_all(out, buf, (size_t)n, rel, err);
	}
	if (close(out) < 0 && r == 0)
		r = rh_err_set(err, errno, "%s: %s", rel, strerror(errno));
	if (in >= 0)
		close(in);
	return r;
}

/* rel on the node gets the local file src's content (or data, when src
 * is NULL), through a new file renamed over it. Anything but a file at
 * rel, or a link on the way, is refused and logged. */
static int
target_put(struct target *t, const char *rel, const char *src,
           const char *data, size_t len, unsigned mode, struct rh_err *err)
{
	const char *leaf;
	char *dir = split(rel, &leaf), *tmp = xasprintf("%s/%s", dir, SYNC_TMP);
	struct rh_err ignored;
	unsigned was = 0;
	int dfd = -1, r;

	if ((r = target_dir(t, dir, 1, &dfd, err)) < 0)
		goto out;
	if ((r = target_lstat(t, dfd, rel, leaf, &was, err)) == 0 &&
	    !S_ISREG(was)) {
		r = refuse(rel, was, 0, err);
		goto out;
	}
	if (r != -ENOENT && r < 0)
		goto out;
	/* what an earlier sync left half written */
	target_remove_at(t, dfd, tmp, SYNC_TMP, 0, &ignored);
	if (t->sftp != NULL)
		r = src != NULL ?
		    rh_sftp_put_file(t->sftp, src, tmp, mode, err) :
		    rh_sftp_put(t->sftp, tmp, data, len, mode, err);
	else
		r = local_create(dfd, SYNC_TMP, tmp, src, data, len, mode, err);
	if (r == 0 && t->sftp != NULL)
		r = rh_sftp_rename(t->sftp, tmp, rel, err);
	else if (r == 0 && renameat(dfd, SYNC_TMP, dfd, leaf) < 0)
		r = rh_err_set(err, errno, "%s: %s", rel, strerror(errno));
	if (r < 0)
		target_remove_at(t, dfd, tmp, SYNC_TMP, 0, &ignored);
out:
	if (r == -ELOOP || r == -ENOTDIR || r == -EISDIR)
		rh_warn("sync: refused to write %s: %s", rel, err->msg);
	free(tmp);
	free(dir);
	return r;
}

/* A small file of the node (the manifest), never read through a link:
 * -ENOENT when there is none. */
static int
target_get(struct target *t, const char *rel, struct rh_buf *out,
           struct rh_err *err)
{
	const char *leaf;
	char *dir = split(rel, &leaf);
	unsigned mode;
	int dfd = -1, r, fd;

	if ((r = target_dir(t, dir, 0, &dfd, err)) < 0 ||
	    (r = target_lstat(t, dfd, rel, leaf, &mode, err)) < 0)
		goto out;
	if (!S_ISREG(mode))
		r = refuse(rel, mode, 0, err);
	else if (t->sftp != NULL)
		r = rh_sftp_get(t->sftp, rel, MANIFEST_MAX, out, err);
	else if ((fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW |
	                      O_CLOEXEC)) < 0)
		r = rh_err_set(err, errno, "%s: %s", rel, strerror(errno));
	else if ((r = rh_file_read_fd(fd, MANIFEST_MAX, out, NULL)) < 0)
		rh_err_set(err, -r, "%s: %s", rel, strerror(-r));
out:
	free(dir);
	return r;
}

/* A path the manifest may name below the copy: relative, no "." or ".."
 * part, no empty part; anything else in it is not the node's to act on. */
static int
rel_ok(const char *rel)
{
	const char *p = rel, *e;
	size_t n;

	if (*rel == '\0' || strlen(rel) > 4096)
		return 0;
	for (;;) {
		e = strchr(p, '/');
		n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		if (e == NULL)
			return 1;
		p = e + 1;
	}
}

/* Whether the manifest's entry rel may be acted on; one that may not is
 * logged. */
static int
manifest_rel_ok(const struct target *t, const char *rel)
{
	if (rel != NULL && rel_ok(rel))
		return 1;
	rh_warn("sync: %s to ~/%s: the manifest names '%s', which is not a "
	        "path below ~/%s: ignored, nothing removed", t->src, t->name,
	        rel != NULL ? rel : "(not a string)", t->name);
	return 0;
}

/* Remove name/rel, a file or directory an earlier sync put there, never
 * through a link. 1 if it went, 0 if it stays (the reason logged),
 * -ECANCELED when stopped. */
static int
remove_old(struct target *t, const char *rel, int isdir, const int *stop)
{
	char *path = xasprintf("%s/%s", t->name, rel), *dir;
	const char *leaf;
	struct rh_err why;
	int dfd = -1, r;

	if (stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED)) {
		free(path);
		return -ECANCELED;
	}
	dir = split(path, &leaf);
	if ((r = target_dir(t, dir, 0, &dfd, &why)) == 0)
		r = target_remove_at(t, dfd, path, leaf, isdir, &why);
	if (r == 0)
		rh_info("sync: %s to ~/%s: removed %s from the node, gone from "
		        "the source", t->src, t->name, path);
	else if (r != -ENOENT)
		rh_warn("sync: %s to ~/%s: %s stays on the node: %s%s", t->src,
		        t->name, path, why.msg,
		        isdir && r != -ELOOP && r != -ENOTDIR ?
		        " (something else is in it?)" : "");
	free(dir);
	free(path);
	return r == 0;
}

/* Every directory holding a file of the copy (below name). */
static void
parents_of(const struct walk *w, struct strs *out)
{
	char *dir, *p;
	size_t i;

	for (i = 0; i < w->n; i++) {
		dir = xstrdup(w->e[i].rel);
		for (p = strchr(dir, '/'); p != NULL; p = strchr(p + 1, '/')) {
			*p = '\0';
			strs_add(out, dir);
			*p = '/';
		}
		free(dir);
	}
	strs_sort(out);
}

/* Longest first: a directory before its parent. */
static int
cmp_deeper(const void *a, const void *b)
{
	size_t x = strlen(*(char *const *)a), y = strlen(*(char *const *)b);

	return x > y ? -1 : x < y;
}

int
rh_sync_dir(struct rh_sftp *sftp, const char *home, const char *local,
            const char *name, const int *stop, struct rh_sync_stats *st,
            struct rh_err *err)
{
	struct strs created = { 0 }, needed = { 0 }, gone = { 0 };
	struct target t = { sftp, -1, local, name, &created, { 0 }, NULL, -1 };
	struct walk w = { local, 0, NULL, 0, 0, 0, 0 };
	struct rh_buf b = { 0 };
	struct stat rootst, dst;
	const cJSON *files, *dirs, *old, *item;
	cJSON *manifest = NULL, *fresh, *newfiles, *newdirs;
	char *mpath = NULL, *rel, *src, *s, *copy;
	struct entry key;
	size_t i, kept_dirs = 0, old_dirs = 0;
	int r, dfd;

	memset(st, 0, sizeof(*st));
	if (rh_name_check(name, NULL) < 0)
		return rh_err_set(err, EINVAL, "%s: cannot be synced under the "
		                  "name '%s'", local, name);
	if (stat(local, &rootst) < 0)
		return rh_err_set(err, errno, "%s: %s", local, strerror(errno));
	if (!S_ISDIR(rootst.st_mode))
		return rh_err_set(err, ENOTDIR, "%s: not a directory", local);
	w.dev = rootst.st_dev;
	if (sftp == NULL) {
		/* a copy on this machine: never onto itself, nor into itself */
		copy = xasprintf("%s/%s", home, name);
		if (stat(copy, &dst) == 0) {
			w.skip_dev = dst.st_dev;
			w.skip_ino = dst.st_ino;
		}
		free(copy);
		if (w.skip_ino != 0 && w.skip_dev == rootst.st_dev &&
		    w.skip_ino == rootst.st_ino)
			return 0;       /* already where it goes */
		if ((t.home = open(home, O_RDONLY | O_DIRECTORY |
		                   O_CLOEXEC)) < 0)
			return rh_err_set(err, errno, "%s: %s", home,
			                  strerror(errno));
	}
	if ((r = walk_dir(&w, "", err)) < 0)
		goto out;
	st->files = w.n;
	qsort(w.e, w.n, sizeof(*w.e), cmp_str);  /* rel is the first field */

	/* what the node has, by the manifest left by the last sync */
	mpath = xasprintf("%s/%s.json", SYNC_DIR, name);
	r = target_get(&t, mpath, &b, err);
	if (r == 0)
		manifest = rh_json_parse(b.data, b.len, mpath, NULL);
	else if (r != -ENOENT)
		goto out;
	r = 0;
	files = cJSON_GetObjectItemCaseSensitive(manifest, "files");
	dirs = cJSON_GetObjectItemCaseSensitive(manifest, "dirs");

	fresh = cJSON_CreateObject();
	newfiles = cJSON_AddObjectToObject(fresh, "files");
	newdirs = cJSON_AddArrayToObject(fresh, "dirs");
	if ((r = target_dir(&t, name, 1, &dfd, err)) < 0)
		goto out_fresh;

	/* gone from the source: what an earlier sync put there goes, files
	 * first, then the directories it made that hold none of its files */
	cJSON_ArrayForEach(item, files) {
		key.rel = item->string;
		if (!manifest_rel_ok(&t, key.rel) ||
		    bsearch(&key, w.e, w.n, sizeof(*w.e), cmp_str) != NULL)
			continue;
		if ((r = remove_old(&t, key.rel, 0, stop)) < 0)
			goto out_fresh;
		st->removed += (size_t)r;
	}
	parents_of(&w, &needed);
	cJSON_ArrayForEach(item, dirs) {
		if (!manifest_rel_ok(&t, cJSON_GetStringValue(item)))
			continue;
		old_dirs++;
		if (strs_has(&needed, item->valuestring))
			strs_add(&created, item->valuestring);  /* still used */
		else
			strs_add(&gone, item->valuestring);
	}
	kept_dirs = created.n;
	if (gone.n > 0)
		qsort(gone.v, gone.n, sizeof(*gone.v), cmp_deeper);
	for (i = 0; i < gone.n; i++) {
		if ((r = remove_old(&t, gone.v[i], 1, stop)) < 0)
			goto out_fresh;
		st->removed += (size_t)r;
	}
	r = 0;

	for (i = 0; i < w.n; i++) {
		old = cJSON_GetObjectItemCaseSensitive(files, w.e[i].rel);
		if (!cJSON_IsString(old) ||
		    strcmp(old->valuestring, w.e[i].stamp) != 0) {
			if (stop != NULL &&
			    __atomic_load_n(stop, __ATOMIC_RELAXED)) {
				r = rh_err_set(err, ECANCELED, "%s: sync "
				               "stopped", local);
				goto out_fresh;
			}
			rel = xasprintf("%s/%s", name, w.e[i].rel);
			src = xasprintf("%s/%s", local, w.e[i].rel);
			r = target_put(&t, rel, src, NULL, 0, w.e[i].mode, err);
			free(rel);
			free(src);
			if (r < 0)
				goto out_fresh;
			st->changed++;
		}
		cJSON_AddStringToObject(newfiles, w.e[i].rel, w.e[i].stamp);
	}
	strs_sort(&created);
	for (i = 0; i < created.n; i++)
		cJSON_AddItemToArray(newdirs, cJSON_CreateString(created.v[i]));
	if (st->changed > 0 || st->removed > 0 || manifest == NULL ||
	    created.n != kept_dirs || old_dirs != kept_dirs ||
	    cJSON_GetArraySize(files) != (int)w.n) {
		s = cJSON_PrintUnformatted(fresh);
		r = target_put(&t, mpath, NULL, s, strlen(s), 0600, err);
		cJSON_free(s);
	}
out_fresh:
	if (r == -ECANCELED)
		rh_err_set(err, ECANCELED, "%s: sync stopped", local);
	cJSON_Delete(fresh);
out:
	if (r < 0 && r != -ECANCELED)
		rh_warn("sync: %s to ~/%s: %s", local, name, err->msg);
	cJSON_Delete(manifest);
	rh_buf_free(&b);
	free(mpath);
	for (i = 0; i < w.n; i++) {
		free(w.e[i].rel);
		free(w.e[i].stamp);
	}
	free(w.e);
	strs_free(&t.real);
	if (t.dir != NULL)
		close(t.dirfd);
	free(t.dir);
	if (t.home >= 0)
		close(t.home);
	strs_free(&created);
	strs_free(&needed);
	strs_free(&gone);
	return r;
}

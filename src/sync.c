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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rh.h"

#define SYNC_DIR ".rh/sync"
#define SYNC_MAX_FILES 100000
#define MANIFEST_MAX (64u * 1024 * 1024)

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
	return strcmp(name, ".git") == 0 || strcmp(name, "__pycache__") == 0;
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

/* Where the files go: an SFTP session, or a home on this machine. */
struct target {
	struct rh_sftp *sftp;
	const char *home;
	char **made;            /* directories ensured in this sync */
	size_t nmade;
	const char *name;       /* the copy's directory, under home */
	struct strs *created;   /* directories below name made now */
	char *checked;          /* a directory below name known to be one */
};

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

static int
target_mkdir(struct target *t, const char *dir, struct rh_err *err)
{
	size_t i, nl = strlen(t->name);
	char *path;
	int r = 0, made = 0;

	for (i = 0; i < t->nmade; i++)
		if (strcmp(t->made[i], dir) == 0)
			return 0;
	if (t->sftp != NULL) {
		r = rh_sftp_mkdir(t->sftp, dir, &made, err);
	} else {
		path = xasprintf("%s/%s", t->home, dir);
		if (mkdir(path, 0755) == 0)
			made = 1;
		else if (errno != EEXIST)
			r = rh_err_set(err, errno, "%s: %s", path,
			               strerror(errno));
		free(path);
	}
	if (r == 0) {
		t->made = xrealloc(t->made, (t->nmade + 1) * sizeof(*t->made));
		t->made[t->nmade++] = xstrdup(dir);
		/* the manifest keeps it, to remove it when no longer used */
		if (made && t->created != NULL && strncmp(dir, t->name, nl) == 0 &&
		    dir[nl] == '/')
			strs_add(t->created, dir + nl + 1);
	}
	return r;
}

/* Every directory above rel (relative to the home), top down. */
static int
target_parents(struct target *t, const char *rel, struct rh_err *err)
{
	char *dir = xstrdup(rel), *p;
	int r = 0;

	for (p = strchr(dir, '/'); r == 0 && p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		r = target_mkdir(t, dir, err);
		*p = '/';
	}
	free(dir);
	return r;
}

static int
copy_local(const char *from, const char *to, unsigned mode,
           struct rh_err *err)
{
	char buf[128 * 1024];
	ssize_t n, w;
	size_t off;
	int in, out, r = 0;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		return rh_err_set(err, errno, "%s: %s", from, strerror(errno));
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	                mode)) < 0) {
		r = rh_err_set(err, errno, "%s: %s", to, strerror(errno));
		close(in);
		return r;
	}
	while (r == 0 && (n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = rh_err_set(err, errno, "%s: %s", from,
			               strerror(errno));
			break;
		}
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			if ((w = write(out, buf + off, (size_t)n - off)) < 0) {
				r = rh_err_set(err, errno, "%s: %s", to,
				               strerror(errno));
				break;
			}
		}
	}
	if (close(out) < 0 && r == 0)
		r = rh_err_set(err, errno, "%s: %s", to, strerror(errno));
	close(in);
	return r;
}

static int
target_put_file(struct target *t, const char *local, const char *rel,
                unsigned mode, struct rh_err *err)
{
	char *path;
	int r;

	if (t->sftp != NULL)
		return rh_sftp_put_file(t->sftp, local, rel, mode, err);
	path = xasprintf("%s/%s", t->home, rel);
	r = copy_local(local, path, mode, err);
	free(path);
	return r;
}

static int
target_get(struct target *t, const char *rel, struct rh_buf *out,
           struct rh_err *err)
{
	char *path;
	int r;

	if (t->sftp != NULL)
		return rh_sftp_get(t->sftp, rel, MANIFEST_MAX, out, err);
	path = xasprintf("%s/%s", t->home, rel);
	if ((r = rh_file_read(path, MANIFEST_MAX, out, NULL)) < 0)
		rh_err_set(err, -r, "%s: %s", path, strerror(-r));
	free(path);
	return r;
}

static int
target_put(struct target *t, const char *rel, const char *data, size_t len,
           struct rh_err *err)
{
	char *path;
	int r;

	if (t->sftp != NULL)
		return rh_sftp_put(t->sftp, rel, data, len, 0600, err);
	path = xasprintf("%s/%s", t->home, rel);
	if ((r = rh_file_replace(path, data, len, 0600, 0)) < 0)
		rh_err_set(err, -r, "%s: %s", path, strerror(-r));
	free(path);
	return r;
}

/* What rel (relative to the home) is, a last symlink not followed:
 * its stat mode bits, or -ENOENT. */
static int
target_lstat(struct target *t, const char *rel, unsigned *mode,
             struct rh_err *err)
{
	struct stat st;
	char *path;
	int r = 0;

	if (t->sftp != NULL)
		return rh_sftp_lstat(t->sftp, rel, mode, err);
	path = xasprintf("%s/%s", t->home, rel);
	if (lstat(path, &st) < 0)
		r = rh_err_set(err, errno, "%s: %s", path, strerror(errno));
	else
		*mode = st.st_mode;
	free(path);
	return r;
}

static int
target_remove(struct target *t, const char *rel, int dir, struct rh_err *err)
{
	char *path;
	int r = 0;

	if (t->sftp != NULL)
		return dir ? rh_sftp_rmdir(t->sftp, rel, err) :
		       rh_sftp_unlink(t->sftp, rel, err);
	path = xasprintf("%s/%s", t->home, rel);
	if ((dir ? rmdir(path) : unlink(path)) < 0)
		r = rh_err_set(err, errno, "%s: %s", path, strerror(errno));
	free(path);
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

/* Every directory between the copy and rel (below name) is a directory
 * and not a symlink, so that a removal stays inside the copy. */
static int
parents_real(struct target *t, const char *rel, struct rh_err *err)
{
	char *dir = xstrdup(rel), *p, *path;
	unsigned mode;
	int r = 0;

	if ((p = strrchr(dir, '/')) == NULL) {
		free(dir);
		return 0;
	}
	*p = '\0';
	if (t->checked != NULL && strcmp(t->checked, dir) == 0) {
		free(dir);
		return 0;
	}
	/* each prefix, top down */
	for (p = strchr(dir, '/');; p = strchr(p + 1, '/')) {
		if (p != NULL)
			*p = '\0';
		path = xasprintf("%s/%s", t->name, dir);
		if ((r = target_lstat(t, path, &mode, err)) == 0 &&
		    !S_ISDIR(mode))
			r = rh_err_set(err, ENOTDIR, "%s: not a directory (a "
			               "symlink?): nothing removed below it",
			               path);
		free(path);
		if (p != NULL)
			*p = '/';
		if (r < 0 || p == NULL)
			break;
	}
	if (r == 0) {
		free(t->checked);
		t->checked = dir;
	} else {
		free(dir);
	}
	return r;
}

/* Remove name/rel, a file or directory an earlier sync put there. 1 if
 * it went, 0 if it stays (the reason logged), -ECANCELED when stopped. */
static int
remove_old(struct target *t, const char *rel, int dir, const int *stop)
{
	struct rh_err why;
	char *path;
	int r;

	if (stop != NULL && __atomic_load_n(stop, __ATOMIC_RELAXED))
		return -ECANCELED;
	if ((r = parents_real(t, rel, &why)) < 0) {
		if (r != -ENOENT)
			rh_warn("sync: %s/%s stays: %s", t->name, rel, why.msg);
		return 0;
	}
	path = xasprintf("%s/%s", t->name, rel);
	r = target_remove(t, path, dir, &why);
	if (r == 0)
		rh_info("sync: removed %s from the node, gone from the source",
		        path);
	else if (r != -ENOENT)
		rh_warn("sync: %s stays on the node: %s%s", path, why.msg,
		        dir ? " (something else is in it?)" : "");
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
	struct target t = { sftp, home, NULL, 0, name, &created, NULL };
	struct walk w = { local, 0, NULL, 0, 0, 0, 0 };
	struct rh_buf b = { 0 };
	struct stat rootst, dst;
	const cJSON *files, *dirs, *old, *item;
	cJSON *manifest = NULL, *fresh, *newfiles, *newdirs;
	char *mpath = NULL, *rel, *src, *s, *copy;
	struct entry key;
	size_t i, kept_dirs = 0, old_dirs = 0;
	int r;

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
	if ((r = target_mkdir(&t, name, err)) < 0)
		goto out_fresh;

	/* gone from the source: what an earlier sync put there goes, files
	 * first, then the directories it made that hold none of its files */
	cJSON_ArrayForEach(item, files) {
		key.rel = item->string;
		if (key.rel == NULL || !rel_ok(key.rel) ||
		    bsearch(&key, w.e, w.n, sizeof(*w.e), cmp_str) != NULL)
			continue;
		if ((r = remove_old(&t, key.rel, 0, stop)) < 0)
			goto out_fresh;
		st->removed += (size_t)r;
	}
	parents_of(&w, &needed);
	cJSON_ArrayForEach(item, dirs) {
		if (!cJSON_IsString(item) || !rel_ok(item->valuestring))
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
			if ((r = target_parents(&t, rel, err)) == 0)
				r = target_put_file(&t, src, rel, w.e[i].mode,
				                    err);
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
		if ((r = target_mkdir(&t, ".rh", err)) == 0 &&
		    (r = target_mkdir(&t, SYNC_DIR, err)) == 0)
			r = target_put(&t, mpath, s, strlen(s), err);
		cJSON_free(s);
	}
out_fresh:
	if (r == -ECANCELED)
		rh_err_set(err, ECANCELED, "%s: sync stopped", local);
	cJSON_Delete(fresh);
out:
	cJSON_Delete(manifest);
	rh_buf_free(&b);
	free(mpath);
	for (i = 0; i < w.n; i++) {
		free(w.e[i].rel);
		free(w.e[i].stamp);
	}
	free(w.e);
	for (i = 0; i < t.nmade; i++)
		free(t.made[i]);
	free(t.made);
	free(t.checked);
	strs_free(&created);
	strs_free(&needed);
	strs_free(&gone);
	return r;
}

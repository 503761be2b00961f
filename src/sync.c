/* sync.c - a local directory copied to ~/NAME on a node, only the files
 * that changed: a manifest of each file's size and mtime, kept on the node
 * in ~/.rh/sync/NAME.json, says what the node has. Over SFTP for a node
 * reached by SSH, or a plain copy into a home on this machine (^local).
 * .git and __pycache__ are skipped, and so is anything on another
 * filesystem (a mount inside the directory, such as rhfs's own). Files
 * gone from the directory stay on the node. */
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
		if (S_ISDIR(st.st_mode) && st.st_dev == w->dev) {
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
	char **made;            /* directories made in this sync */
	size_t nmade;
};

static int
target_mkdir(struct target *t, const char *dir, struct rh_err *err)
{
	char *path;
	size_t i;
	int r = 0;

	for (i = 0; i < t->nmade; i++)
		if (strcmp(t->made[i], dir) == 0)
			return 0;
	if (t->sftp != NULL) {
		r = rh_sftp_mkdir(t->sftp, dir, err);
	} else {
		path = xasprintf("%s/%s", t->home, dir);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			r = rh_err_set(err, errno, "%s: %s", path,
			               strerror(errno));
		free(path);
	}
	if (r == 0) {
		t->made = xrealloc(t->made, (t->nmade + 1) * sizeof(*t->made));
		t->made[t->nmade++] = xstrdup(dir);
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

int
rh_sync_dir(struct rh_sftp *sftp, const char *home, const char *local,
            const char *name, struct rh_sync_stats *st, struct rh_err *err)
{
	struct target t = { sftp, home, NULL, 0 };
	struct walk w = { local, 0, NULL, 0, 0 };
	struct rh_buf b = { 0 };
	struct stat rootst;
	const cJSON *files, *old;
	cJSON *manifest = NULL, *fresh, *newfiles;
	char *mpath = NULL, *rel, *src, *s;
	size_t i;
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
	if ((r = walk_dir(&w, "", err)) < 0)
		goto out;
	st->files = w.n;

	/* what the node has, by the manifest left by the last sync */
	mpath = xasprintf("%s/%s.json", SYNC_DIR, name);
	r = target_get(&t, mpath, &b, err);
	if (r == 0)
		manifest = cJSON_ParseWithLength(b.data, b.len);
	else if (r != -ENOENT)
		goto out;
	files = cJSON_GetObjectItemCaseSensitive(manifest, "files");

	fresh = cJSON_CreateObject();
	newfiles = cJSON_AddObjectToObject(fresh, "files");
	if ((r = target_mkdir(&t, name, err)) < 0)
		goto out_fresh;
	for (i = 0; i < w.n; i++) {
		old = cJSON_GetObjectItemCaseSensitive(files, w.e[i].rel);
		if (!cJSON_IsString(old) ||
		    strcmp(old->valuestring, w.e[i].stamp) != 0) {
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
	if (st->changed > 0 || manifest == NULL) {
		s = cJSON_PrintUnformatted(fresh);
		if ((r = target_mkdir(&t, ".rh", err)) == 0 &&
		    (r = target_mkdir(&t, SYNC_DIR, err)) == 0)
			r = target_put(&t, mpath, s, strlen(s), err);
		cJSON_free(s);
	}
out_fresh:
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
	return r;
}

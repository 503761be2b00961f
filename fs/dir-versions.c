/* dir-versions.c - a shared resource's versions/: one file per version
 * of its config (versions/N, read-only), and versions/.index, one line
 * per version. A row of every resource type in the shared namespace,
 * found by name but not listed (rm -r never meets it). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

#define INDEX_NAME ".index"

static const struct fs_kind kind_version;

static int
seq_of(const char *name, uint64_t *seq)
{
	char *end;

	if (*name < '1' || *name > '9')
		return -ENOENT;
	*seq = strtoull(name, &end, 10);
	return *end == '\0' ? 0 : -ENOENT;
}

static int
versions_get(struct fs *fs, struct node *n, struct rh_version *v)
{
	uint64_t seq;
	char *path;
	int r;

	if ((r = seq_of(n->name, &seq)) < 0)
		return r;
	path = node_dir_path(fs, n);
	r = rh_store_version_get(n->store, path, seq, v);
	free(path);
	return r;
}

static int
versions_exists(struct fs *fs, struct node *dir, const char *name)
{
	struct rh_version v;
	uint64_t seq;
	char *path;
	int r;

	if (strcmp(name, INDEX_NAME) == 0)
		return 0;
	if ((r = seq_of(name, &seq)) < 0)
		return r;
	path = node_dir_path(fs, dir);
	r = rh_store_version_get(dir->store, path, seq, &v);
	free(path);
	if (r == 0) {
		free(v.config);
		free(v.author);
	}
	return r;
}

static int
versions_list(struct fs *fs, struct node *dir, rh_list_cb cb, void *arg)
{
	struct rh_version *v;
	char *path = node_dir_path(fs, dir), name[32];
	size_t n, i;
	int r = rh_store_versions(dir->store, path, &v, &n);

	free(path);
	if (r == 0)
		r = cb(arg, INDEX_NAME, RH_ABSENT);
	for (i = 0; r == 0 && i < n; i++) {
		snprintf(name, sizeof(name), "%llu",
		         (unsigned long long)v[i].seq);
		r = cb(arg, name, RH_ABSENT);
	}
	rh_versions_free(v, n);
	return r;
}

static int versions_content(struct fs *fs, struct node *n,
                            struct rh_buf *out, struct timespec *mtime);

static int
version_getattr(struct fs *fs, struct node *n, struct handle *h,
                struct stat *st)
{
	struct rh_buf b = { 0 };
	struct timespec t;
	int r = versions_content(fs, n, &b, &t);

	if (r < 0)
		return r;
	st->st_mode = S_IFREG | 0444;
	st->st_size = (off_t)b.len;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim = st->st_atim = st->st_ctim = t;
	rh_buf_free(&b);
	return 0;
}

/* versions/.index: one line per version, "N TIME AUTHOR REVISION". Not
 * an xattr: answering getxattr would cost ls -l a round trip per file. */
static int
versions_index(struct fs *fs, struct node *dir, struct rh_buf *out,
               struct timespec *latest)
{
	struct rh_version *v;
	char *path = node_dir_path(fs, dir), tbuf[32];
	struct tm tm;
	size_t n, i;
	int r = rh_store_versions(dir->store, path, &v, &n);

	free(path);
	if (r < 0)
		return r;
	memset(latest, 0, sizeof(*latest));
	for (i = 0; i < n; i++) {
		gmtime_r(&v[i].time.tv_sec, &tm);
		strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		rh_buf_printf(out, "%llu %s %s %lld\n",
		              (unsigned long long)v[i].seq, tbuf, v[i].author,
		              (long long)v[i].revision);
		*latest = v[i].time;
	}
	rh_buf_reserve(out, 0);
	rh_versions_free(v, n);
	return 0;
}

static int
versions_content(struct fs *fs, struct node *n, struct rh_buf *out,
                 struct timespec *mtime)
{
	struct rh_version v;
	int r;

	if (strcmp(n->name, INDEX_NAME) == 0)
		return versions_index(fs, n->parent, out, mtime);
	if ((r = versions_get(fs, n, &v)) < 0)
		return r;
	rh_buf_append(out, v.config, v.config_len);
	*mtime = v.time;
	free(v.config);
	free(v.author);
	return 0;
}

/* versions/N: that version's config, read-only. */
static int
version_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	struct timespec t;

	return versions_content(fs, h->node, &h->buf, &t);
}

static const struct fs_kind kind_version = {
	.name = "versions/N",
	.mode = 0444,
	.write_errno = EROFS,
	.getattr = version_getattr,
	.open = version_open,
	.read = read_open_buf,
};

static int
versions_lookup(struct fs *fs, struct node *dir, const char *name,
                struct found *f)
{
	f->kind = &kind_version;
	return versions_exists(fs, dir, name);
}

static int
versions_readdir(struct fs *fs, struct node *dir, struct dirsnap *d)
{
	return versions_list(fs, dir, dirsnap_cb, d);
}

/* A row of every type, but only in the shared namespace. */
static int
versions_claims(struct fs *fs, struct node *dir, const char *name)
{
	return rh_store_is_remote(dir->store);
}

const struct fs_kind kind_versions = {
	.name = "versions",
	.mode = 0555,
	.fmt = S_IFDIR,
	.lookup = versions_lookup,
	.readdir = versions_readdir,
	.claims = versions_claims,
};

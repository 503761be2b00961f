/*
 * cmd-cp.c - rh cp SRC DEST: the data of a folder, table or blob copied
 * into another's, store to store (datastore.h): files with their modes
 * and times, directories made as needed, what is there already
 * overwritten. A progress bar on a terminal, one summary line otherwise.
 *
 * SRC and DEST are addresses (~/ckpts, @/team/w, ^x) or paths inside an
 * rhfs mount (MOUNT/~/ckpts, or its data/); through a mount, the copy
 * goes through the mount's data/.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "datastore.h"

#define CP_CHUNK (1024 * 1024)
#define CP_BAR 30

/* One side of the copy: a resource's store. */
struct side {
	char *addr;
	struct rh_data *d;
	char *blob;             /* a blob: its entry in d's root */
	char *fname;            /* a blob: its file's name */
	int local;              /* a directory on this machine */
};

struct copy {
	struct side *src, *dst;
	uint64_t total, done;   /* bytes */
	unsigned files, dirs, skipped;
	int tty;
	struct timespec t0, shown;
	dev_t dst_dev;          /* DEST's root, never copied into itself */
	ino_t dst_ino;
	char *buf;
};

static double
since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static double
mib(uint64_t bytes)
{
	return (double)bytes / (1024.0 * 1024.0);
}

/* The bar, at most ten times a second (always when last). */
static void
show(struct copy *c, int last)
{
	double pct, secs = since(&c->t0);
	char bar[CP_BAR + 1];
	int i, fill;

	if (!c->tty || (!last && since(&c->shown) < 0.1))
		return;
	clock_gettime(CLOCK_MONOTONIC, &c->shown);
	pct = c->total ? 100.0 * (double)c->done / (double)c->total : 100.0;
	fill = (int)(pct * CP_BAR / 100.0);
	for (i = 0; i < CP_BAR; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[CP_BAR] = '\0';
	fprintf(stderr, "\r%3.0f%% [%s] %.1f/%.1f MiB %.1f MiB/s ", pct, bar,
	        mib(c->done), mib(c->total),
	        secs > 0 ? mib(c->done) / secs : 0.0);
	if (last)
		fputc('\n', stderr);
	fflush(stderr);
}

/* A path inside a mount that names a resource's data/ (or a blob's
 * data) names the resource. */
static char *
resource_arg(const char *arg)
{
	char *p = xstrdup(arg), *dir, *cfg;
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if (strcmp(rh_path_base(p), "data") != 0)
		return p;
	dir = rh_path_dir(p);
	cfg = xasprintf("%s/config.json", *dir ? dir : ".");
	if (access(cfg, F_OK) == 0) {
		free(p);
		p = dir;
		dir = NULL;
	}
	free(dir);
	free(cfg);
	return p;
}

/* The config of a cluster a data resource's system names, read as any
 * resource is (rh_data_opts.cluster). */
static int
cluster_cfg(void *arg, const char *addr, cJSON **cfg, struct rh_err *err)
{
	struct rh_buf b = { 0 };
	int r;

	(void)arg;
	if ((r = cmd_resource_get(addr, NULL, &b, err)) < 0)
		return r;
	*cfg = rh_json_parse(b.data, b.len, addr, err);
	rh_buf_free(&b);
	return *cfg != NULL ? 0 : -EINVAL;
}
static int
side_open(const char *arg, struct side *s, struct rh_err *err)
{
	struct rh_buf b = { 0 };
	struct rh_data_loc loc;
	const cJSON *t;
	cJSON *cfg = NULL;
	char *mnt = NULL, *root, *work, *path = resource_arg(arg);
	int r;

	memset(s, 0, sizeof(*s));
	r = cmd_address(path, &s->addr, &mnt, err);
	free(path);
	if (r < 0 || (r = cmd_resource_get(s->addr, mnt, &b, err)) < 0)
		goto out;
	if ((cfg = rh_json_parse(b.data, b.len, s->addr, err)) == NULL) {
		r = -EINVAL;
		goto out;
	}
	t = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (!cJSON_IsString(t) || (strcmp(t->valuestring, "folder") != 0 &&
	                           strcmp(t->valuestring, "table") != 0 &&
	                           strcmp(t->valuestring, "blob") != 0)) {
		r = rh_err_set(err, EINVAL, "%s: a %s, not a folder, table or "
		               "blob", s->addr, cJSON_IsString(t) ?
		               t->valuestring : "resource without a type");
		goto out;
	}
	if (mnt != NULL) {
		/* the mount shows its data: that is where it is copied */
		if (strcmp(t->valuestring, "blob") == 0) {
			if ((r = rh_data_locate(cfg, s->addr, &loc, err)) < 0)
				goto out;
			root = xstrdup(mnt);
			s->blob = xstrdup("data");
			s->fname = xstrdup(rh_path_base(loc.path));
		} else {
			root = xasprintf("%s/data", mnt);
		}
		r = rh_data_local_open(root, s->addr, &s->d, err);
		free(root);
		s->local = 1;
		goto out;
	}
	if ((r = cmd_workdir(&work, err)) == 0) {
		struct rh_data_opts o = { .cluster = cluster_cfg };

		r = rh_data_open(cfg, s->addr, work, &o, &s->d, &s->blob,
		                 err);
		free(work);
		s->local = r == 0 && strcmp(s->d->ops->name, "file") == 0;
		if (r == 0 && s->blob != NULL)
			s->fname = xstrdup(s->blob);
	}
out:
	if (r < 0) {
		rh_data_free(s->d);
		free(s->blob);
		free(s->fname);
		free(s->addr);
		s->d = NULL;
		s->blob = s->fname = s->addr = NULL;
	}
	cJSON_Delete(cfg);
	rh_buf_free(&b);
	free(mnt);
	return r;
}

static void
side_free(struct side *s)
{
	rh_data_free(s->d);
	free(s->blob);
	free(s->fname);
	free(s->addr);
}

/* A listing, taken whole before what is in it is copied. */
struct entries {
	char **name;
	struct stat *st;
	size_t n;
};

static int
entry_add(const char *name, const struct stat *st, void *arg)
{
	struct entries *e = arg;

	e->name = xrealloc(e->name, (e->n + 1) * sizeof(*e->name));
	e->st = xrealloc(e->st, (e->n + 1) * sizeof(*e->st));
	e->name[e->n] = xstrdup(name);
	e->st[e->n] = *st;
	e->n++;
	return 0;
}

static void
entries_free(struct entries *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->name[i]);
	free(e->name);
	free(e->st);
}

/* DEST's own root, met while walking SRC: not copied into itself. */
static int
is_dest(const struct copy *c, const struct stat *st)
{
	return c->src->local && c->dst->local && c->dst_ino != 0 &&
	       st->st_dev == c->dst_dev && st->st_ino == c->dst_ino;
}

/* The bytes below path, for the bar. */
static void
measure(struct copy *c, const char *path)
{
	struct entries e = { NULL, NULL, 0 };
	size_t i;
	char *p;

	if (c->src->d->ops->list(c->src->d, path, entry_add, &e) < 0)
		return;
	for (i = 0; i < e.n; i++) {
		if (S_ISREG(e.st[i].st_mode)) {
			c->total += (uint64_t)e.st[i].st_size;
		} else if (S_ISDIR(e.st[i].st_mode) && !is_dest(c, &e.st[i])) {
			p = rh_path_join(path, e.name[i]);
			measure(c, p);
			free(p);
		}
	}
	entries_free(&e);
}

static int
fail_at(const struct side *s, const char *path, int r, struct rh_err *err)
{
	return rh_err_set(err, -r, "%s: %s: %s", s->addr,
	                  *path ? path : "its data", strerror(-r));
}

/* Modes and times of st onto the DEST path (or open file f). */
static int
set_attrs(struct copy *c, const char *to, struct rh_data_file *f,
          const struct stat *st, struct rh_err *err)
{
	struct rh_data_attr a;
	int r;

	memset(&a, 0, sizeof(a));
	a.what = RH_DATA_MODE | RH_DATA_ATIME | RH_DATA_MTIME;
	a.mode = st->st_mode & 07777;
	a.atime = st->st_atim;
	a.mtime = st->st_mtim;
	r = c->dst->d->ops->setattr(c->dst->d, to, f, &a);
	return r < 0 ? fail_at(c->dst, to, r, err) : 0;
}

static int
copy_file(struct copy *c, const char *from, const char *to,
          const struct stat *st, struct rh_err *err)
{
	const struct rh_data_ops *so = c->src->d->ops, *dop = c->dst->d->ops;
	struct rh_data_file *in, *out;
	off_t off = 0;
	ssize_t n, w;
	int r;

	if ((r = so->open(c->src->d, from, O_RDONLY, 0, &in)) < 0)
		return fail_at(c->src, from, r, err);
	r = dop->open(c->dst->d, to, O_WRONLY | O_CREAT | O_TRUNC,
	              st->st_mode & 0777, &out);
	if (r < 0) {
		so->close(in);
		return fail_at(c->dst, to, r, err);
	}
	while ((n = so->read(in, c->buf, CP_CHUNK, off)) > 0) {
		for (w = 0; w < n; w += r) {
			r = (int)dop->write(out, c->buf + w, (size_t)(n - w),
			                    off + w);
			if (r <= 0)
				break;
		}
		if (r < 0)
			break;
		off += n;
		c->done += (uint64_t)n;
		show(c, 0);
	}
	if (n < 0)
		r = fail_at(c->src, from, (int)n, err);
	else if (r < 0)
		r = fail_at(c->dst, to, r, err);
	else if (dop->flush != NULL && (r = dop->flush(out)) < 0)
		r = fail_at(c->dst, to, r, err);
	else
		r = set_attrs(c, to, out, st, err);
	so->close(in);
	/* a store that uploads at close fails here */
	if ((n = dop->close(out)) < 0 && r == 0)
		r = fail_at(c->dst, to, (int)n, err);
	c->files += r == 0;
	return r;
}

static int
copy_dir(struct copy *c, const char *from, const char *to,
         struct rh_err *err)
{
	struct entries e = { NULL, NULL, 0 };
	char *f, *t;
	size_t i;
	int r;

	if ((r = c->src->d->ops->list(c->src->d, from, entry_add, &e)) < 0)
		return fail_at(c->src, from, r, err);
	for (i = 0; i < e.n && r == 0; i++) {
		f = rh_path_join(from, e.name[i]);
		t = rh_path_join(to, e.name[i]);
		if (S_ISREG(e.st[i].st_mode)) {
			r = copy_file(c, f, t, &e.st[i], err);
		} else if (S_ISDIR(e.st[i].st_mode) && !is_dest(c, &e.st[i])) {
			r = c->dst->d->ops->mkdir(c->dst->d, t, 0700);
			if (r < 0 && r != -EEXIST)
				r = fail_at(c->dst, t, r, err);
			else if ((r = copy_dir(c, f, t, err)) == 0 &&
			         (r = set_attrs(c, t, NULL, &e.st[i], err)) == 0)
				c->dirs++;
		} else if (!S_ISDIR(e.st[i].st_mode)) {
			/* links, devices, sockets: no store makes them */
			fprintf(stderr, "rh cp: %s: %s: not a file or a "
			        "directory: not copied\n", c->src->addr, f);
			c->skipped++;
		}
		free(f);
		free(t);
	}
	entries_free(&e);
	return r;
}

static int
copy(struct copy *c, struct rh_err *err)
{
	struct side *s = c->src, *d = c->dst;
	struct stat st;
	char *to;
	int r;

	if (d->d->ops->stat(d->d, "", &st) == 0) {
		c->dst_dev = st.st_dev;
		c->dst_ino = st.st_ino;
	}
	if (s->blob == NULL && d->blob != NULL)
		return rh_err_set(err, EISDIR, "%s is a folder and %s a blob: "
		                  "a folder's data cannot go into one file",
		                  s->addr, d->addr);
	if (s->blob == NULL) {
		if (c->tty)
			measure(c, "");
		return copy_dir(c, "", "", err);
	}
	if ((r = s->d->ops->stat(s->d, s->blob, &st)) < 0)
		return fail_at(s, s->blob, r, err);
	if (!S_ISREG(st.st_mode))
		return rh_err_set(err, EISDIR, "%s: %s is not a file", s->addr,
		                  s->blob);
	c->total = (uint64_t)st.st_size;
	/* into a blob: its file; into a folder: a file of the blob's name */
	to = xstrdup(d->blob != NULL ? d->blob : s->fname);
	r = copy_file(c, s->blob, to, &st, err);
	free(to);
	return r;
}

int
cmd_cp(int argc, char *argv[])
{
	struct side src, dst;
	struct copy c;
	struct rh_err err;
	double secs;
	int r;

	if (argc != 3 || argv[1][0] == '-')
		return cmd_usage("cp");
	if (side_open(argv[1], &src, &err) < 0)
		return cmd_fail("cp", "%s", err.msg);
	if (side_open(argv[2], &dst, &err) < 0) {
		side_free(&src);
		return cmd_fail("cp", "%s", err.msg);
	}
	if (strcmp(src.addr, dst.addr) == 0) {
		r = rh_err_set(&err, EINVAL, "%s: the source and the "
		               "destination are the same", src.addr);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	c.src = &src;
	c.dst = &dst;
	c.tty = isatty(STDERR_FILENO);
	c.buf = xmalloc(CP_CHUNK);
	clock_gettime(CLOCK_MONOTONIC, &c.t0);
	r = copy(&c, &err);
	free(c.buf);
	if (r == 0) {
		show(&c, 1);
		secs = since(&c.t0);
		printf("rh cp: %s -> %s: %u file%s, %u director%s, %.1f MiB "
		       "in %.1f s (%.1f MiB/s)%s\n", src.addr, dst.addr,
		       c.files, c.files == 1 ? "" : "s", c.dirs,
		       c.dirs == 1 ? "y" : "ies", mib(c.done), secs,
		       secs > 0 ? mib(c.done) / secs : 0.0,
		       c.skipped ? "; some entries not copied" : "");
	} else if (c.tty) {
		fputc('\n', stderr);
	}
out:
	side_free(&src);
	side_free(&dst);
	return r < 0 ? cmd_fail("cp", "%s", err.msg) : 0;
}

/*
 * cmd-cp.c - rh cp SRC DEST: the data of a folder, table or blob copied
 * into another's, store to store (datastore.h): files with their modes
 * and times, directories made as needed, what is there already
 * overwritten. A progress bar on a terminal, one summary line otherwise.
 *
 * SRC and DEST are addresses (~/ckpts, @/team/w, ^x) or paths inside an
 * rhfs mount (MOUNT/~/ckpts, or its data/); through a mount, the copy
 * goes through the mount's data/. Two addresses whose data is on the same
 * cluster, reached over SSH, are copied on its node by cp -a (node_copy):
 * no byte of the data comes through this machine.
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
#include "link.h"
#include "rns.h"

#define CP_CHUNK (1024 * 1024)
#define CP_BAR 30

/* One side of the copy: a resource's store. */
struct side {
	char *addr;
	struct rh_data *d;
	char *blob;             /* a blob: its entry in d's root */
	char *fname;            /* a blob: its file's name */
	int local;              /* a directory on this machine */
	/* data on a cluster over SSH (by address): the cluster, and the
	 * path of the data on its node (a blob's: its file) */
	char *cluster;          /* its address, or NULL: */
	cJSON *cluster_cfg;     /* its inline config */
	char *npath;
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
/* Data on a cluster over SSH: where it is, for a copy on the node. Its
 * path as the SFTP store takes it: relative to the node user's home (a
 * leading ~/ too) unless absolute. */
static void
node_side(struct side *s, const struct rh_data_loc *loc)
{
	const char *p = loc->path;
	size_t n;

	if (loc->cluster != NULL)
		s->cluster = xstrdup(loc->cluster);
	else
		s->cluster_cfg = cJSON_Duplicate(loc->cluster_cfg, 1);
	if (p[0] == '~' && (p[1] == '/' || p[1] == '\0'))
		p += p[1] ? 2 : 1;
	s->npath = xstrdup(*p ? p : ".");
	n = strlen(s->npath);
	while (n > 1 && s->npath[n - 1] == '/')
		s->npath[--n] = '\0';
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
		r = rh_data_local_open(root, s->addr, 0, &s->d, err);
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
		if (r == 0 && strcmp(s->d->ops->name, "sftp") == 0 &&
		    rh_data_locate(cfg, s->addr, &loc, NULL) == 0)
			node_side(s, &loc);
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
	free(s->cluster);
	cJSON_Delete(s->cluster_cfg);
	free(s->npath);
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
	rh_strs_free(e->name, e->n);
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

/* Both sides' data on one cluster reached over SSH. */
static int
same_node(const struct side *a, const struct side *b)
{
	if (a->npath == NULL || b->npath == NULL)
		return 0;
	if (a->cluster != NULL && b->cluster != NULL)
		return strcmp(a->cluster, b->cluster) == 0;
	return a->cluster_cfg != NULL && b->cluster_cfg != NULL &&
	       cJSON_Compare(a->cluster_cfg, b->cluster_cfg, 1);
}

/* A node path for the node's shell: absolute, or in "$HOME". */
static char *
node_word(const char *path)
{
	char *q = rh_shell_quote(path), *w;

	if (path[0] == '/')
		return q;
	w = xasprintf("\"$HOME\"/%s", q);
	free(q);
	return w;
}

/* The script run on the node: it prints "total FILES DIRS BYTES", a
 * "tick" each second while cp -a runs (the reader's sign of life), then
 * "rc STATUS"; errors go to its stderr. A folder's entries go into
 * DEST's directory (DEST's own mode and times are left, as a copy
 * through this machine leaves them); a blob's file becomes DEST's file
 * (a blob) or a file of its name in DEST's directory. */
static char *
node_script(const struct side *s, const struct side *d)
{
	char *src = node_word(s->npath), *dst, *p, *script;

	if (s->blob != NULL && d->blob == NULL) {
		p = xasprintf("%s/%s", d->npath, s->fname);
		dst = node_word(p);
		free(p);
	} else {
		dst = node_word(d->npath);
	}
	script = xasprintf(
	    "src=%s; dst=%s\n"
	    "%s"
	    "echo \"total $f $d $b\"\n"
	    "(while sleep 1; do echo tick; done) & t=$!\n"
	    "%s\n"
	    "rc=$?\n"
	    "kill $t 2>/dev/null\n"
	    "echo \"rc $rc\"\n", src, dst,
	    s->blob != NULL ?
	    "f=1 d=0 b=$(stat -c %s -- \"$src\") || exit 3\n" :
	    "cd -- \"$src\" || exit 3\n"
	    "f=$(find . -mindepth 1 -type f | wc -l)\n"
	    "d=$(find . -mindepth 1 -type d | wc -l)\n"
	    "b=$(find . -mindepth 1 -type f -printf '%s\\n' | "
	    "awk '{s+=$1} END {printf \"%.0f\", s}')\n",
	    s->blob != NULL ? "cp -a -- \"$src\" \"$dst\"" :
	    "find . -mindepth 1 -maxdepth 1 -exec cp -a -t \"$dst\" -- {} +");
	free(src);
	free(dst);
	return script;
}

/* What the node said (stdout so far): the totals, once; the status, at
 * the end (-1 before). */
static int
node_said(struct copy *c, const struct rh_buf *out)
{
	const char *p, *end;
	unsigned f, d;
	unsigned long long b;
	int rc = -1;

	if (out->data == NULL)
		return rc;      /* nothing yet */
	end = out->data + out->len;
	for (p = out->data; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL)
			break;
		if (sscanf(p, "total %u %u %llu", &f, &d, &b) == 3) {
			c->total = b;
			c->files = f;
			c->dirs = d;
		}
		sscanf(p, "rc %d", &rc);
		p = nl + 1;
	}
	return rc;
}

/* The copy run on the node of the cluster that holds both sides, over
 * an SSH session of its own; bounded by the data timeout while the node
 * says nothing (it ticks each second while it copies). */
static int
node_copy(struct copy *c, struct rh_err *err)
{
	struct side *s = c->src, *d = c->dst;
	const char *where = s->cluster ? s->cluster : "its cluster";
	const char *home = getenv("HOME");
	long long deadline;
	struct rh_buf out = { 0 }, errout = { 0 };
	struct rh_ssh *ssh = NULL;
	struct rh_ssh_chan *ch = NULL;
	cJSON *cfg = NULL;
	char buf[4096], *kh, *script, *nl;
	ssize_t n, m;
	int r, rc = -1, progress;

	if (s->cluster != NULL &&
	    (r = cluster_cfg(NULL, s->cluster, &cfg, err)) < 0)
		return r;
	if (cfg == NULL)
		cfg = cJSON_Duplicate(s->cluster_cfg, 1);
	kh = xasprintf("%s/.ssh/known_hosts", home ? home : "");
	r = rh_link_ssh(s->cluster ? s->cluster : s->addr, cfg, kh,
	                RH_DATA_IO_TIMEOUT * 1000, &ssh, err);
	free(kh);
	cJSON_Delete(cfg);
	if (r < 0)
		return r;
	script = node_script(s, d);
	r = rh_ssh_chan_open(ssh, script, &ch, err);
	free(script);
	deadline = rh_now_ms() + RH_DATA_IO_TIMEOUT * 1000;
	while (r == 0) {
		progress = 0;
		while ((n = rh_ssh_chan_read(ch, buf, sizeof(buf))) > 0) {
			rh_buf_append(&out, buf, (size_t)n);
			progress = 1;
		}
		while ((m = rh_ssh_chan_read_stderr(ch, buf, sizeof(buf))) > 0)
			if (errout.len < 4096)
				rh_buf_append(&errout, buf, (size_t)m);
		if (n < 0 && n != -EAGAIN) {
			r = rh_err_set(err, EIO, "%s -> %s: the connection to "
			               "the node of %s was lost during the copy",
			               s->addr, d->addr, where);
			break;
		}
		rc = node_said(c, &out);
		if (n == 0 || rh_ssh_chan_eof(ch))
			break;
		show(c, 0);
		if (progress)
			deadline = rh_now_ms() + RH_DATA_IO_TIMEOUT * 1000;
		else if (rh_ssh_wait(ssh, deadline) == -ETIMEDOUT)
			r = rh_err_set(err, ETIMEDOUT, "%s -> %s: the node of %s "
			               "did not answer for %d s during the copy",
			               s->addr, d->addr, where,
			               RH_DATA_IO_TIMEOUT);
	}
	if (r == 0 && rc != 0) {
		rh_buf_append(&errout, "", 1);
		if ((nl = strchr(errout.data, '\n')) != NULL)
			*nl = '\0';
		r = rh_err_set(err, EIO, "%s -> %s: the copy on the node of %s "
		               "failed: %s", s->addr, d->addr, where,
		               *errout.data ? errout.data : rc < 0 ?
		               "it ended before it said so" : "cp failed");
	}
	if (r == 0)
		c->done = c->total;
	rh_ssh_chan_close(ch);
	rh_ssh_close(ssh);
	rh_buf_free(&out);
	rh_buf_free(&errout);
	return r;
}

int
cmd_cp(int argc, char *argv[])
{
	struct side src, dst;
	struct copy c;
	struct rh_err err;
	double secs;
	int r, node;

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
	node = same_node(&src, &dst);
	if (node && src.blob == NULL && dst.blob != NULL)
		r = copy(&c, &err);     /* refused there */
	else
		r = node ? node_copy(&c, &err) : copy(&c, &err);
	free(c.buf);
	if (r == 0) {
		show(&c, 1);
		secs = since(&c.t0);
		printf("rh cp: %s -> %s: %u file%s, %u director%s, %.1f MiB "
		       "in %.1f s (%.1f MiB/s)%s%s%s\n", src.addr, dst.addr,
		       c.files, c.files == 1 ? "" : "s", c.dirs,
		       c.dirs == 1 ? "y" : "ies", mib(c.done), secs,
		       secs > 0 ? mib(c.done) / secs : 0.0,
		       c.skipped ? "; some entries not copied" : "",
		       node ? ", copied on the node of " : "",
		       node ? (src.cluster ? src.cluster : "its cluster") : "");
	} else if (c.tty) {
		fputc('\n', stderr);
	}
out:
	side_free(&src);
	side_free(&dst);
	return r < 0 ? cmd_fail("cp", "%s", err.msg) : 0;
}

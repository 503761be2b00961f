/* dir-root.c - the mount's root: ~ (the workdir's store), ^ (the
 * builtins), @ (remote.c), .log (recent log lines, refusals among them)
 * and the shared namespace's top folders. Nothing is made or removed
 * here: the top level is fixed. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base.h"
#include "rhfs.h"

static const struct fs_kind kind_log;

static int
root_lookup(struct fs *fs, struct node *dir, const char *name,
            struct found *f)
{
	int r = 0;

	if (strcmp(name, "~") == 0) {
		f->kind = &kind_store_dir;
		f->store = fs->local;
	} else if (strcmp(name, "^") == 0) {
		f->kind = &kind_store_dir;
		f->store = fs->builtin;
	} else if (strcmp(name, "@") == 0) {
		f->kind = &kind_at;
	} else if (strcmp(name, ".log") == 0) {
		f->kind = &kind_log;
	} else if ((f->store = remote_top(fs, name, &r)) != NULL) {
		f->kind = &kind_store_dir;      /* beside ~ and ^ */
	}
	return r;
}

static int
root_readdir(struct fs *fs, struct node *dir, struct dirsnap *d)
{
	dirsnap_add(d, "~", S_IFDIR);
	dirsnap_add(d, "^", S_IFDIR);
	dirsnap_add(d, "@", S_IFDIR);
	remote_list_tops(fs, dirsnap_cb, d);
	return 0;
}

const struct fs_kind kind_root = {
	.name = "/",
	.mode = 0755,
	.fmt = S_IFDIR,
	.lookup = root_lookup,
	.readdir = root_readdir,
};

/* .log: its size is that of the lines now, its content those at open. */
static int
log_getattr(struct fs *fs, struct node *n, struct handle *h,
            struct stat *st)
{
	struct rh_buf log = { 0 };

	rh_log_recent(&log);
	st->st_size = (off_t)log.len;
	rh_buf_free(&log);
	clock_gettime(CLOCK_REALTIME, &st->st_mtim);
	st->st_ctim = st->st_mtim;
	return 0;
}

static int
log_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	rh_log_recent(&h->buf);
	rh_buf_reserve(&h->buf, 0);
	return 0;
}

static const struct fs_kind kind_log = {
	.name = ".log",
	.mode = 0444,
	.uncached = 1,
	.getattr = log_getattr,
	.open = log_open,
	.read = read_open_buf,
	.truncate = stream_truncate,
};

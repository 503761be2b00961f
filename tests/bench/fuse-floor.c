/*
 * fuse-floor - what the kernel's FUSE path costs by itself: a libfuse3
 * low-level filesystem that does no work, mounted with the options,
 * capabilities and replies rhfs uses. Its top holds the directory cfg
 * with one small file, cfg/config.json (the bytes of FILE, read once),
 * and the empty directories r0 .. rN-1. For tests/bench/meta.sh: the
 * floor under rhfs's figures for open + read + close of a config.json
 * and for `ls -l` of N resources.
 *
 * As rhfs answers:
 *   - the session: -o default_permissions, the multi-threaded loop;
 *   - init: FUSE_CAP_ATOMIC_O_TRUNC and FUSE_CAP_AUTO_INVAL_DATA wanted,
 *     no writeback cache, max_write and max_readahead 1 MiB, at least 64
 *     background requests;
 *   - entries and attributes cached for -o timeout=SECS (1 s, rhfs's
 *     default for ~);
 *   - open of the file: keep_cache and noflush (rhfs's open of an
 *     unchanged config.json), a read from memory, release and flush
 *     answered at once;
 *   - readdirplus: each entry with its attributes;
 *   - no getxattr, listxattr or opendir caching (cache_readdir): rhfs has
 *     none, so the kernel stops asking for xattrs after the first ENOSYS.
 *
 *   fuse-floor -o file=FILE[,dirs=N][,timeout=SECS] [-f] MOUNTPOINT
 */
#include "config.h"

#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

#define INO_ROOT 1
#define INO_CFG 2
#define INO_FILE 3
#define INO_DIR0 4              /* r0; ri is INO_DIR0 + i */
#define FS_MAX_IO (1024 * 1024)

struct floor_opts {
	char *file;
	unsigned dirs;
	double timeout;
};

static struct floor_opts fo = { NULL, 10000, 1.0 };
static struct rh_buf content;
static struct timespec started;
static uid_t uid;
static gid_t gid;

#define FLOOR_OPT(t, p) { t, offsetof(struct floor_opts, p), 1 }
static const struct fuse_opt floor_optspec[] = {
	FLOOR_OPT("file=%s", file),
	FLOOR_OPT("dirs=%u", dirs),
	FLOOR_OPT("timeout=%lf", timeout),
	FUSE_OPT_END
};

/* The attributes of ino (0: there is none). */
static int
attr_of(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	if (ino < INO_ROOT || ino >= INO_DIR0 + (fuse_ino_t)fo.dirs)
		return 0;
	st->st_ino = ino;
	st->st_uid = uid;
	st->st_gid = gid;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = started;
	if (ino == INO_FILE) {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = (off_t)content.len;
		st->st_blocks = (st->st_size + 511) / 512;
	} else {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	}
	return 1;
}

/* The entry of name in parent (0: none). */
static fuse_ino_t
child_of(fuse_ino_t parent, const char *name)
{
	char *end;
	unsigned long i;

	if (parent == INO_CFG)
		return strcmp(name, "config.json") == 0 ? INO_FILE : 0;
	if (parent != INO_ROOT)
		return 0;
	if (strcmp(name, "cfg") == 0)
		return INO_CFG;
	if (name[0] != 'r' || name[1] < '0' || name[1] > '9' ||
	    (name[1] == '0' && name[2] != '\0'))
		return 0;
	i = strtoul(name + 1, &end, 10);
	return *end == '\0' && i < fo.dirs ? INO_DIR0 + i : 0;
}

static void
entry_of(fuse_ino_t ino, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->attr_timeout = e->entry_timeout = fo.timeout;
	attr_of(ino, &e->attr);
}

static void
floor_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->max_write < FS_MAX_IO)
		conn->max_write = FS_MAX_IO;
	conn->max_readahead = FS_MAX_IO;
	conn->max_background = conn->max_background < 64 ? 64 :
	                       conn->max_background;
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
}

static void
floor_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	fuse_ino_t ino = child_of(parent, name);

	if (ino == 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	entry_of(ino, &e);
	fuse_reply_entry(req, &e);
}

/* nothing is kept per inode: a forget has nothing to free */
static void
floor_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	fuse_reply_none(req);
}

static void
floor_forget_multi(fuse_req_t req, size_t count,
                   struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

static void
floor_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (!attr_of(ino, &st))
		fuse_reply_err(req, ENOENT);
	else
		fuse_reply_attr(req, &st, fo.timeout);
}

static void
floor_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != INO_ROOT && ino != INO_CFG && !(ino >= INO_DIR0 &&
	    ino < INO_DIR0 + (fuse_ino_t)fo.dirs)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_open(req, fi);
}

/* Entry i of directory ino: ".", "..", then its names (0: past the
 * end). */
static fuse_ino_t
dirent_at(fuse_ino_t ino, off_t i, char *name, size_t size)
{
	if (i == 0 || i == 1) {
		snprintf(name, size, i == 0 ? "." : "..");
		return i == 0 || ino != INO_CFG ? ino : INO_ROOT;
	}
	i -= 2;
	if (ino == INO_CFG) {
		snprintf(name, size, "config.json");
		return i == 0 ? INO_FILE : 0;
	}
	if (ino != INO_ROOT)
		return 0;
	if (i == 0) {
		snprintf(name, size, "cfg");
		return INO_CFG;
	}
	i--;
	if ((unsigned long)i >= fo.dirs)
		return 0;
	snprintf(name, size, "r%lu", (unsigned long)i);
	return INO_DIR0 + (fuse_ino_t)i;
}

static void
read_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
	struct fuse_entry_param e;
	char *buf = xmalloc(size), name[32];
	size_t used = 0, n;
	fuse_ino_t c;
	off_t i;

	for (i = off; (c = dirent_at(ino, i, name, sizeof(name))) != 0; i++) {
		entry_of(c, &e);
		/* "." and ".." are not looked up: no entry for them */
		if (i < 2)
			e.ino = 0;
		n = plus ? fuse_add_direntry_plus(req, buf + used, size - used,
		                                  name, &e, i + 1) :
		    fuse_add_direntry(req, buf + used, size - used, name,
		                      &e.attr, i + 1);
		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
floor_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
              struct fuse_file_info *fi)
{
	read_dir(req, ino, size, off, 0);
}

static void
floor_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                  struct fuse_file_info *fi)
{
	read_dir(req, ino, size, off, 1);
}

static void
floor_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
floor_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != INO_FILE) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EACCES);
		return;
	}
	fi->direct_io = 0;
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void
floor_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
           struct fuse_file_info *fi)
{
	size_t len = 0;

	if (off >= 0 && (size_t)off < content.len)
		len = content.len - (size_t)off < size ?
		      content.len - (size_t)off : size;
	fuse_reply_buf(req, len ? content.data + off : NULL, len);
}

static void
floor_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
floor_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

static void
floor_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops floor_ops = {
	.init = floor_init,
	.lookup = floor_lookup,
	.forget = floor_forget,
	.forget_multi = floor_forget_multi,
	.getattr = floor_getattr,
	.opendir = floor_opendir,
	.readdir = floor_readdir,
	.readdirplus = floor_readdirplus,
	.releasedir = floor_releasedir,
	.open = floor_open,
	.read = floor_read,
	.flush = floor_flush,
	.release = floor_release,
	.statfs = floor_statfs,
};

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct fuse_loop_config *loop;
	struct fuse_session *se;
	int ret = 1;

	memset(&opts, 0, sizeof(opts));
	if (fuse_opt_parse(&args, &fo, floor_optspec, NULL) < 0 ||
	    fuse_parse_cmdline(&args, &opts) != 0)
		return 1;
	if (opts.mountpoint == NULL || fo.file == NULL) {
		fprintf(stderr, "usage: %s -o file=FILE[,dirs=N]"
		        "[,timeout=SECS] [-f] MOUNTPOINT\n", argv[0]);
		goto out;
	}
	if (rh_file_read(fo.file, 1024 * 1024, &content, NULL) < 0) {
		fprintf(stderr, "fuse-floor: cannot read %s\n", fo.file);
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &started);
	uid = getuid();
	gid = getgid();
	fuse_opt_add_arg(&args, "-odefault_permissions,fsname=fuse-floor,"
	                 "subtype=fuse-floor");
	if ((se = fuse_session_new(&args, &floor_ops, sizeof(floor_ops),
	                           NULL)) == NULL)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		loop = fuse_loop_cfg_create();
		fuse_loop_cfg_set_clone_fd(loop, (unsigned)opts.clone_fd);
		fuse_loop_cfg_set_max_threads(loop, opts.max_threads);
		ret = fuse_session_loop_mt(se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	ret = ret < 0;
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	rh_buf_free(&content);
	free(opts.mountpoint);
	free(fo.file);
	fuse_opt_free_args(&args);
	return ret;
}

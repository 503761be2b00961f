/*
 * data-local.c - the data store on this machine's disk ("file"). The root
 * is held as a directory descriptor; each path is walked beneath it one
 * component at a time with O_NOFOLLOW, so that neither ".." nor a
 * symbolic link leads out of it. Symbolic links inside are shown as
 * symbolic links (stat, list, readlink, with their targets as they are)
 * and never followed by the store; the kernel follows them for the
 * caller, as it would on the disk. Symbolic and hard links, FIFOs and
 * other special files are made, and owners changed, as on the disk.
 *
 * The rhfs mount that serves the store (own_mount) is never entered: a
 * directory under the root may be its mountpoint (a folder of /tmp, the
 * mount in /tmp), and each request through it would come back to the
 * same rhfs, one of its threads held per level, until none is left. It
 * is found by statx's mount id, asked without a request to the file
 * system (AT_STATX_DONT_SYNC): such a directory is not listed, and a
 * path through it is ELOOP.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base.h"
#include "datastore.h"

struct local {
	struct rh_data d;
	int root;               /* O_PATH directory */
	mode_t umask;           /* rhfs's own, which the disk applies */
	uint64_t own_mount;     /* not entered (0: none) */
	uint64_t root_mount;    /* the root's */
};

struct rh_data_file {
	int fd;
};

static int
root_of(struct rh_data *d)
{
	return ((struct local *)d)->root;
}

/* The process's umask as /proc says it (umask(2) would change it for
 * every thread a moment); 022 if it cannot be read. */
static mode_t
own_umask(void)
{
	char line[128];
	unsigned long m = 022;
	FILE *f = fopen("/proc/self/status", "re");

	if (f == NULL)
		return 022;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Umask:", 6) == 0)
			m = strtoul(line + 6, NULL, 8);
	fclose(f);
	return (mode_t)(m & 0777);
}

int
rh_data_path_ok(const char *path)
{
	const char *p = path, *e;

	if (*p == '\0')
		return 0;
	for (;;) {
		e = strchrnul(p, '/');
		if (e == p || (e - p == 1 && p[0] == '.') ||
		    (e - p == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (*e == '\0')
			return 0;
		p = e + 1;
	}
}

/* The attributes of name in dfd, not following a link: -ELOOP for what
 * is on the mount not entered. One
 * statx, which asks no file system: the disk's attributes are current
 * anyway; what is on another mount below the root (say NFS) is asked
 * again for current ones. */
static int
stat_at(const struct local *l, int dfd, const char *name, struct stat *st)
{
	int flags = AT_SYMLINK_NOFOLLOW;
	struct statx sx;

	if (l->own_mount == 0)
		return fstatat(dfd, name, st, flags) < 0 ? -errno : 0;
	if (statx(dfd, name, flags | AT_STATX_DONT_SYNC,
	          STATX_BASIC_STATS | STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID) || sx.stx_mnt_id != l->root_mount) {
		if ((sx.stx_mask & STATX_MNT_ID) &&
		    sx.stx_mnt_id == l->own_mount)
			return -ELOOP;
		return fstatat(dfd, name, st, flags) < 0 ? -errno : 0;
	}
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	st->st_ino = sx.stx_ino;
	st->st_mode = sx.stx_mode;
	st->st_nlink = sx.stx_nlink;
	st->st_uid = sx.stx_uid;
	st->st_gid = sx.stx_gid;
	st->st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
	st->st_size = (off_t)sx.stx_size;
	st->st_blksize = (blksize_t)sx.stx_blksize;
	st->st_blocks = (blkcnt_t)sx.stx_blocks;
	st->st_atim.tv_sec = sx.stx_atime.tv_sec;
	st->st_atim.tv_nsec = sx.stx_atime.tv_nsec;
	st->st_mtim.tv_sec = sx.stx_mtime.tv_sec;
	st->st_mtim.tv_nsec = sx.stx_mtime.tv_nsec;
	st->st_ctim.tv_sec = sx.stx_ctime.tv_sec;
	st->st_ctim.tv_nsec = sx.stx_ctime.tv_nsec;
	return 0;
}

/* Whether the directory fd is on the mount not entered. */
static int
own_mount_at(const struct local *l, int fd)
{
	struct statx sx;

	return l->own_mount != 0 &&
	       statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID,
	             &sx) == 0 && (sx.stx_mask & STATX_MNT_ID) &&
	       sx.stx_mnt_id == l->own_mount;
}

/* openat never following name; -ELOOP when it is a symbolic link. */
static int
open_nofollow(int dfd, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd >= 0)
		return fd;
	r = -errno;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		r = -ELOOP;
	return r;
}

/*
 * The directory holding path's last component, as a descriptor the
 * caller closes, and that component in *name (pointing into path; "."
 * for the root itself).
 */
static int
walk(struct rh_data *d, const char *path, int *dirfd, const char **name)
{
	char comp[NAME_MAX + 1];
	const char *p = path, *e;
	int fd, next;

	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	if ((fd = fcntl(root_of(d), F_DUPFD_CLOEXEC, 0)) < 0)
		return -errno;
	if (*p == '\0') {
		*dirfd = fd;
		*name = ".";
		return 0;
	}
	while (*(e = strchrnul(p, '/')) == '/') {
		if ((size_t)(e - p) > NAME_MAX) {
			close(fd);
			return -ENAMETOOLONG;
		}
		memcpy(comp, p, (size_t)(e - p));
		comp[e - p] = '\0';
		next = open_nofollow(fd, comp, O_PATH | O_DIRECTORY);
		if (next >= 0 && own_mount_at((struct local *)d, next)) {
			close(next);
			next = -ELOOP;
		}
		if (next < 0) {
			close(fd);
			return next;
		}
		close(fd);
		fd = next;
		p = e + 1;
	}
	if (strlen(p) > NAME_MAX) {
		close(fd);
		return -ENAMETOOLONG;
	}
	*dirfd = fd;
	*name = p;
	return 0;
}

static int
l_stat(struct rh_data *d, const char *path, struct stat *st)
{
	const char *name;
	int dfd, r;

	if ((r = walk(d, path, &dfd, &name)) < 0)
		return r;
	r = stat_at((struct local *)d, dfd, name, st);
	close(dfd);
	return r;
}

static int
l_list(struct rh_data *d, const char *path, rh_data_list_cb cb, void *arg)
{
	const struct dirent *e;
	const char *name;
	struct stat st;
	DIR *dir;
	int dfd, fd, r;

	if ((r = walk(d, path, &dfd, &name)) < 0)
		return r;
	fd = open_nofollow(dfd, name, O_RDONLY | O_DIRECTORY);
	close(dfd);
	if (fd >= 0 && own_mount_at((struct local *)d, fd)) {
		close(fd);
		fd = -ELOOP;
	}
	if (fd < 0)
		return fd;
	if ((dir = fdopendir(fd)) == NULL) {
		r = -errno;
		close(fd);
		return r;
	}
	errno = 0;
	while (r == 0 && (e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		/* gone since it was listed, or the mount not entered: not
		 * listed */
		if (stat_at((struct local *)d, fd, e->d_name, &st) < 0)
			continue;
		r = cb(e->d_name, &st, arg);
		errno = 0;
	}
	if (r == 0 && errno != 0)
		r = -errno;
	closedir(dir);
	return r;
}

static int
l_readlink(struct rh_data *d, const char *path, char *buf, size_t size)
{
	const char *name;
	ssize_t n;
	int dfd, r;

	if (size == 0)
		return -EINVAL;
	if ((r = walk(d, path, &dfd, &name)) < 0)
		return r;
	n = readlinkat(dfd, name, buf, size - 1);
	r = n < 0 ? -errno : 0;
	close(dfd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	return 0;
}

static int
l_open(struct rh_data *d, const char *path, int flags, mode_t mode,
       struct rh_data_file **f)
{
	const char *name;
	int dfd, fd, r, made = 0;

	flags &= O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |
	         O_NONBLOCK | O_DIRECTORY | O_NOATIME | O_SYNC | O_DSYNC;
	if ((r = walk(d, path, &dfd, &name)) < 0)
		return r;
	/* made here, or there already: tried in that order, so that a file
	 * made gets its mode (below) and one that was there keeps its own */
	for (;;) {
		if (!(flags & O_CREAT)) {
			fd = openat(dfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
			break;
		}
		fd = openat(dfd, name, flags | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		            mode);
		if (fd >= 0 || errno != EEXIST || (flags & O_EXCL)) {
			made = fd >= 0;
			break;
		}
		fd = openat(dfd, name, (flags & ~O_CREAT) | O_NOFOLLOW |
		            O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;          /* else removed meanwhile: again */
	}
	r = fd < 0 ? -errno : 0;
	close(dfd);
	if (r < 0)
		return r;
	/* the caller's mode, not less: rhfs's umask is not the caller's
	 * (the kernel applied the caller's before) */
	if (made && (mode & 07777 & ((struct local *)d)->umask) &&
	    fchmod(fd, mode & 07777) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*f = xmalloc(sizeof(**f));
	(*f)->fd = fd;
	return 0;
}

static ssize_t
l_read(struct rh_data_file *f, void *buf, size_t size, off_t off)
{
	ssize_t n = pread(f->fd, buf, size, off);

	return n < 0 ? -errno : n;
}

static ssize_t
l_write(struct rh_data_file *f, const void *buf, size_t size, off_t off)
{
	/* pwrite on an O_APPEND descriptor appends */
	ssize_t n = pwrite(f->fd, buf, size, off);

	return n < 0 ? -errno : n;
}

static int
l_truncate(struct rh_data *d, const char *path, struct rh_data_file *f,
           off_t size)
{
	struct rh_data_file *tmp = NULL;
	int r;

	if (f == NULL && (r = l_open(d, path, O_WRONLY, 0, &tmp)) < 0)
		return r;
	r = ftruncate(f != NULL ? f->fd : tmp->fd, size) < 0 ? -errno : 0;
	if (tmp != NULL) {
		close(tmp->fd);
		free(tmp);
	}
	return r;
}

/* chmod of path's last component without following it: through an
 * O_PATH descriptor of the entry itself. */
static int
chmod_at(int dfd, const char *name, mode_t mode)
{
	char proc[64];
	struct stat st;
	int fd, r;

	fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (S_ISLNK(st.st_mode)) {
		r = -EOPNOTSUPP;        /* Linux keeps no link modes */
	} else {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		r = chmod(proc, mode & 07777) < 0 ? -errno : 0;
	}
	close(fd);
	return r;
}

static void
times_of(const struct rh_data_attr *a, struct timespec ts[2])
{
	ts[0] = a->atime;
	ts[1] = a->mtime;
	if (!(a->what & RH_DATA_ATIME))
		ts[0].tv_nsec = UTIME_OMIT;
	if (!(a->what & RH_DATA_MTIME))
		ts[1].tv_nsec = UTIME_OMIT;
}

static int
l_setattr(struct rh_data *d, const char *path, struct rh_data_file *f,
          const struct rh_data_attr *a)
{
	struct timespec ts[2];
	const char *name;
	int dfd, r = 0;

	times_of(a, ts);
	if (f != NULL) {
		if ((a->what & RH_DATA_OWNER) && fchown(f->fd, a->uid, a->gid))
			return -errno;
		if ((a->what & RH_DATA_MODE) && fchmod(f->fd, a->mode & 07777))
			return -errno;
		if ((a->what & (RH_DATA_ATIME | RH_DATA_MTIME)) &&
		    futimens(f->fd, ts) < 0)
			return -errno;
		return 0;
	}
	if ((r = walk(d, path, &dfd, &name)) < 0)
		return r;
	/* the owner first: a chown clears set-user-ID and set-group-ID,
	 * which a mode given with it sets again */
	if ((a->what & RH_DATA_OWNER) &&
	    fchownat(dfd, name, a->uid, a->gid, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && (a->what & RH_DATA_MODE))
		r = chmod_at(dfd, name, a->mode);
	if (r == 0 && (a->what & (RH_DATA_ATIME | RH_DATA_MTIME)) &&
	    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	close(dfd);
	return r;
}

static int
l_fsync(struct rh_data_file *f, int datasync)
{
	return (datasync ? fdatasync(f->fd) : fsync(f->fd)) < 0 ? -errno : 0;
}

static int
l_fstat(struct rh_data_file *f, struct stat *st)
{
	return fstat(f->fd, st) < 0 ? -errno : 0;
}

static int
l_close(struct rh_data_file *f)
{
	int r = close(f->fd) < 0 ? -errno : 0;

	free(f);
	return r;
}

/* What was just made at name gets the caller's mode, where rhfs's own
 * umask took bits from it. */
static int
caller_mode(struct rh_data *d, int dfd, const char *name, mode_t mode)
{
	if (!(mode & 07777 & ((struct local *)d)->umask))
		return 0;
	return chmod_at(dfd, name, mode);
}

enum { MKDIR, UNLINK, RMDIR, SYMLINK, MKNOD };

/* mkdir, unlink, rmdir, symlink (to target) or mknod (mode and rdev) of
 * path's last component. */
static int
change_at(struct rh_data *d, const char *path, int what, mode_t mode,
          dev_t rdev, const char *target)
{
	const char *name;
	int dfd, r;

	if (*path == '\0')     /* the root stays */
		return what == UNLINK || what == RMDIR ? -EBUSY : -EEXIST;
	if ((r = walk(d, path, &dfd, &name)) < 0)
		return r;
	switch (what) {
	case MKDIR:
		r = mkdirat(dfd, name, mode);
		break;
	case SYMLINK:
		r = symlinkat(target, dfd, name);
		break;
	case MKNOD:
		r = mknodat(dfd, name, mode, rdev);
		break;
	default:
		r = unlinkat(dfd, name, what == RMDIR ? AT_REMOVEDIR : 0);
	}
	r = r < 0 ? -errno : 0;
	if (r == 0 && (what == MKDIR || what == MKNOD))
		r = caller_mode(d, dfd, name, mode);
	close(dfd);
	return r;
}

static int
l_mkdir(struct rh_data *d, const char *path, mode_t mode)
{
	return change_at(d, path, MKDIR, mode, 0, NULL);
}

static int
l_unlink(struct rh_data *d, const char *path)
{
	return change_at(d, path, UNLINK, 0, 0, NULL);
}

static int
l_rmdir(struct rh_data *d, const char *path)
{
	return change_at(d, path, RMDIR, 0, 0, NULL);
}

static int
l_rename(struct rh_data *d, const char *from, const char *to,
         unsigned flags)
{
	const char *fname, *tname;
	int fdfd, tdfd, r;

	if (*from == '\0' || *to == '\0')
		return -EBUSY;
	if ((r = walk(d, from, &fdfd, &fname)) < 0)
		return r;
	if ((r = walk(d, to, &tdfd, &tname)) < 0) {
		close(fdfd);
		return r;
	}
	r = renameat2(fdfd, fname, tdfd, tname, flags) < 0 ? -errno : 0;
	close(fdfd);
	close(tdfd);
	return r;
}

static int
l_symlink(struct rh_data *d, const char *target, const char *path)
{
	return change_at(d, path, SYMLINK, 0, 0, target);
}

static int
l_link(struct rh_data *d, const char *from, const char *to)
{
	const char *fname, *tname;
	int fdfd, tdfd, r;

	if (*from == '\0')
		return -EPERM;          /* the root is a directory */
	if (*to == '\0')
		return -EEXIST;
	if ((r = walk(d, from, &fdfd, &fname)) < 0)
		return r;
	if ((r = walk(d, to, &tdfd, &tname)) < 0) {
		close(fdfd);
		return r;
	}
	/* a symbolic link is linked itself, not followed */
	r = linkat(fdfd, fname, tdfd, tname, 0) < 0 ? -errno : 0;
	close(fdfd);
	close(tdfd);
	return r;
}

static int
l_mknod(struct rh_data *d, const char *path, mode_t mode, dev_t rdev)
{
	return change_at(d, path, MKNOD, mode, rdev, NULL);
}

static void
l_free(struct rh_data *d)
{
	close(root_of(d));
	free(d->addr);
	free(d);
}

static const struct rh_data_ops local_ops = {
	.name = "file",
	.stat = l_stat,
	.list = l_list,
	.readlink = l_readlink,
	.open = l_open,
	.read = l_read,
	.write = l_write,
	.truncate = l_truncate,
	.setattr = l_setattr,
	.fsync = l_fsync,
	.fstat = l_fstat,
	.close = l_close,
	.mkdir = l_mkdir,
	.unlink = l_unlink,
	.rmdir = l_rmdir,
	.rename = l_rename,
	.symlink = l_symlink,
	.link = l_link,
	.mknod = l_mknod,
	.free = l_free,
};

int
rh_data_local_open(const char *root, const char *addr, uint64_t own_mount,
                   struct rh_data **out, struct rh_err *err)
{
	struct local *l;
	struct statx sx;
	int fd;

	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int r = -errno;

		return rh_err_set(err, -r, "%s: its data directory %s: %s",
		                  addr, root, strerror(-r));
	}
	l = xcalloc(1, sizeof(*l));
	l->d.ops = &local_ops;
	l->root = fd;
	l->own_mount = own_mount;
	if (own_mount_at(l, fd)) {
		close(fd);
		free(l);
		return rh_err_set(err, ELOOP, "%s: its data directory %s is "
		                  "in this rhfs mount: a path on the disk "
		                  "outside it is needed", addr, root);
	}
	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID,
	          &sx) == 0 && (sx.stx_mask & STATX_MNT_ID))
		l->root_mount = sx.stx_mnt_id;
	l->d.addr = xstrdup(addr);
	l->umask = own_umask();
	*out = &l->d;
	return 0;
}

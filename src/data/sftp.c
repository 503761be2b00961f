/*
 * sftp.c - the data store on a cluster's node, over SFTP (libssh2) on an
 * SSH session of the store's own, beside the agent's. The root is a
 * directory of the node: the resource's path, relative to the node
 * user's home unless absolute.
 *
 * One session serves all the store's files and threads: a mutex is held
 * around each operation. Every wait is bounded by io_timeout; an
 * operation that meets a lost session (a timeout, a broken connection)
 * fails with ETIMEDOUT or EIO and drops it, and the next one connects
 * again (no sooner than RETRY_MS after a failed connect); a file open
 * on the old session is opened again by its path.
 *
 * Reads and writes go through libssh2's pipeline: a large request is
 * cut into SFTP requests that are all in flight at once, and a file read
 * in order (or nearly: the kernel's read-ahead comes on several threads)
 * keeps libssh2's read-ahead going from one read to the next.
 *
 * A file written whole (made, or truncated, by its open) is written to a
 * name beside it (.rhfs-write-*) that takes its place at close: the node
 * holds the old file (a new one: empty) or the new one, never a part.
 *
 * What SFTP (version 3, as OpenSSH serves it) cannot give: times in
 * whole seconds; a rename over an existing entry is done by moving that
 * entry aside first (not atomic); the server follows symbolic links, so
 * the store looks at the last component (lstat) before acting on it and
 * refuses a link (ELOOP, or EOPNOTSUPP for chmod and utimens).
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "link.h"
#include "rns.h"
#include "datastore.h"

/* after a failed connect, operations fail at once for this long */
#define RETRY_MS 1000
/* the most bytes of one file's writes in flight, unanswered: beyond the
 * SSH channel's window (2 MiB), so that the pipe never runs dry */
#define WB_MAX (8 * 1024 * 1024)
/* A file read in order is one stream of libssh2's reads, asked RA_ASK
 * bytes at a time (libssh2 keeps four times that in flight); the last
 * RA_KEEP bytes taken from it are kept, and a read up to RA_SKIP bytes
 * ahead of the stream reads on to it: the kernel's read-ahead sends its
 * requests on several threads, out of order, and each would otherwise
 * restart the stream (and its requests in flight) */
#define RA_ASK (1024 * 1024)
#define RA_KEEP (2 * 1024 * 1024)
#define RA_SKIP (2 * 1024 * 1024)
#define RA_CAP (RA_KEEP + 6 * RA_ASK)
/* a wait that ran out (not a libssh2 error code) */
#define TIMED_OUT (-100000)

struct sftp {
	struct rh_data d;
	pthread_mutex_t lock;           /* the session and all below */
	char *cluster;                  /* its address (for messages) */
	cJSON *inline_cfg;              /* an inline cluster config, or NULL */
	rh_data_cluster_fn cluster_fn;  /* else its config from here */
	void *cluster_arg;
	char *known_hosts;
	int timeout_ms;
	char *root;                     /* on the node; "" is the home */
	struct rh_ssh *ssh;             /* NULL: not connected */
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;
	unsigned gen;                   /* counts sessions */
	int64_t retry_at;               /* no connect before (ms) */
	int down_err;                   /* the last connect's -errno */
	int fsync_warned;
	unsigned long aside;            /* names for rename's moved entries */
	struct rh_data_file *files;     /* open files */
	struct rh_data_file *wb_file;   /* the one with writes in flight */
};

struct rh_data_file {
	struct sftp *s;
	LIBSSH2_SFTP_HANDLE *h;         /* on session gen; NULL: none */
	unsigned gen;
	char *path;                     /* on the node, to open again */
	char *final;                    /* written whole: the name path
	                                 * takes at close (NULL: in place) */
	int dropped;                    /* final was removed or replaced */
	int wrote;                      /* written, truncated or set since
	                                 * open */
	int fresh;                      /* final was made by the open */
	unsigned long reopen;           /* SFTP flags to open it again */
	int append;
	int64_t pos;                    /* libssh2's offset of h; -1: unknown */
	int reading;                    /* the last transfer was a read */
	/* read: ra[0, ra_len) are the bytes of the stream before pos */
	char *ra;
	size_t ra_len;
	/* write-behind: wb[wb_head, wb_len) are bytes handed to libssh2
	 * and not yet answered; they end at file offset wb_end */
	char *wb;
	size_t wb_head, wb_len, wb_cap;
	int64_t wb_end;
	int wb_err;                     /* a write that failed, not yet told */
	struct rh_data_file *next;      /* in s->files */
};

/* Run a libssh2 call until it stops answering EAGAIN, at most
 * timeout_ms; TIMED_OUT past it. Called with s->lock held. */
#define RUN(s, rc, call)                                                   \
	do {                                                               \
		int64_t dl_ = rh_now_ms() + (s)->timeout_ms;                  \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) {          \
			if (rh_ssh_wait((s)->ssh, dl_) < 0) {              \
				(rc) = TIMED_OUT;                          \
				break;                                     \
			}                                                  \
		}                                                          \
	} while (0)

/* The same for a call that returns a pointer (NULL and EAGAIN: again). */
#define RUN_PTR(s, rc, p, call)                                            \
	do {                                                               \
		int64_t dl_ = rh_now_ms() + (s)->timeout_ms;                  \
		(rc) = 0;                                                  \
		while (((p) = (call)) == NULL) {                           \
			(rc) = libssh2_session_last_errno((s)->session);   \
			if ((rc) != LIBSSH2_ERROR_EAGAIN)                  \
				break;                                     \
			if (rh_ssh_wait((s)->ssh, dl_) < 0) {              \
				(rc) = TIMED_OUT;                          \
				break;                                     \
			}                                                  \
		}                                                          \
	} while (0)

static struct sftp *
store_of(struct rh_data *d)
{
	return (struct sftp *)d;
}

/* The session closed; its files' handles closed with it (never used again).
 * Called with s->lock held. */
static void
drop(struct sftp *s)
{
	struct rh_data_file *f;

	if (s->ssh == NULL)
		return;
	/* the socket shut first: closing handles and SFTP then frees their
	 * memory (and write-behind) at once, with no wait for the peer */
	shutdown(rh_ssh_fd(s->ssh), SHUT_RDWR);
	for (f = s->files; f != NULL; f = f->next) {
		if (f->h != NULL)
			libssh2_sftp_close_handle(f->h);
		f->h = NULL;
		/* writes in flight are lost: told at the file's next call */
		if (f->wb_head < f->wb_len && f->wb_err == 0)
			f->wb_err = -EIO;
		f->wb_head = f->wb_len = 0;
	}
	s->wb_file = NULL;
	if (s->sftp != NULL)
		libssh2_sftp_shutdown(s->sftp);
	rh_ssh_close(s->ssh);
	s->ssh = NULL;
	s->session = NULL;
	s->sftp = NULL;
}

/* An SFTP status as an errno. */
static int
status_errno(unsigned long st)
{
	switch (st) {
	case LIBSSH2_FX_OK:
		return 0;
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		return ENOENT;
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
	case LIBSSH2_FX_LOCK_CONFlICT:
		return EACCES;
	case LIBSSH2_FX_BAD_MESSAGE:
	case LIBSSH2_FX_INVALID_FILENAME:
	case LIBSSH2_FX_INVALID_HANDLE:
		return EINVAL;
	case LIBSSH2_FX_OP_UNSUPPORTED:
	case LIBSSH2_FX_UNKNOWN_PRINCIPAL:
		return EOPNOTSUPP;
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		return EEXIST;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		return ENOSPC;
	case LIBSSH2_FX_NOT_A_DIRECTORY:
		return ENOTDIR;
	case LIBSSH2_FX_DIR_NOT_EMPTY:
		return ENOTEMPTY;
	case LIBSSH2_FX_LINK_LOOP:
		return ELOOP;
	case LIBSSH2_FX_NO_MEDIA:
		return ENODEV;
	default:        /* FX_FAILURE: OpenSSH's answer for most errnos */
		return EIO;
	}
}

/* A libssh2 result as -errno: the server's refusal as its errno; a
 * timeout or a broken session drops the session. Called with s->lock
 * held. */
static int
fail(struct sftp *s, int rc, const char *what, const char *path)
{
	char *msg = NULL;

	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL)
		return -status_errno(libssh2_sftp_last_error(s->sftp));
	if (rc == TIMED_OUT) {
		rh_warn("%s: %s: %s %s: no answer in %d ms: the session is "
		        "dropped", s->d.addr, s->cluster, what, path,
		        s->timeout_ms);
		drop(s);
		return -ETIMEDOUT;
	}
	if (s->session != NULL)
		libssh2_session_last_error(s->session, &msg, NULL, 0);
	rh_warn("%s: %s: %s %s: %s: the session is dropped", s->d.addr,
	        s->cluster, what, path, msg && *msg ? msg : "SSH error");
	drop(s);
	return -EIO;
}

/* Whether the node closed the connection while the session was idle
 * (sshd's ClientAlive, a restart): then it is made anew before the
 * operation rather than failing it. The end of the stream counts even
 * behind bytes not read (a server may say why before it closes). */
static int
closed_by_peer(struct sftp *s)
{
	struct pollfd p = { .fd = rh_ssh_fd(s->ssh),
	                    .events = POLLIN | POLLRDHUP };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	if (p.revents & (POLLHUP | POLLERR | POLLRDHUP))
		return 1;
	return recv(p.fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* The session, connected if it is not; -EIO or -ETIMEDOUT if it cannot
 * be (the cause logged; with cause not NULL, the cause in it and its
 * -errno returned). Called with
 * s->lock held. */
static int
connect_up(struct sftp *s, struct rh_err *cause)
{
	struct rh_err err = { "" };
	cJSON *cfg = NULL;
	int rc, r;

	if (s->sftp != NULL) {
		if (!closed_by_peer(s))
			return 0;
		rh_info("%s: %s closed the idle connection: connecting "
		        "again", s->d.addr, s->cluster);
		drop(s);
	}
	if (rh_now_ms() < s->retry_at)
		return s->down_err;
	if (s->inline_cfg != NULL)
		r = 0;
	else if (s->cluster_fn == NULL)
		r = rh_err_set(&err, ENOENT, "no config known for the "
		               "cluster");
	else
		r = s->cluster_fn(s->cluster_arg, s->cluster, &cfg, &err);
	if (r == 0)
		r = rh_link_ssh(s->cluster, s->inline_cfg ? s->inline_cfg : cfg,
		                s->known_hosts, s->timeout_ms, &s->ssh, &err);
	cJSON_Delete(cfg);
	if (r == 0) {
		s->session = rh_ssh_session(s->ssh);
		RUN_PTR(s, rc, s->sftp, libssh2_sftp_init(s->session));
		if (s->sftp == NULL) {
			r = rh_err_set(&err, rc == TIMED_OUT ? ETIMEDOUT : EIO,
			               "%s: starting SFTP: %s",
			               rh_ssh_where(s->ssh), rc == TIMED_OUT ?
			               "no answer" : "refused");
			drop(s);
		}
	}
	if (r < 0) {
		rh_warn("%s: its data on %s: %s", s->d.addr, s->cluster,
		        err.msg);
		if (cause != NULL)
			*cause = err;
		s->retry_at = rh_now_ms() + RETRY_MS;
		s->down_err = r == -ETIMEDOUT ? r : -EIO;
		return cause != NULL ? r : s->down_err;
	}
	s->gen++;
	return 0;
}

static int
up(struct sftp *s)
{
	return connect_up(s, NULL);
}

/* path of the store as a path of the node (allocated). */
static char *
node_path(const struct sftp *s, const char *path)
{
	if (*s->root == '\0')
		return xstrdup(*path == '\0' ? "." : path);
	if (*path == '\0')
		return xstrdup(s->root);
	return xasprintf("%s/%s", s->root, path);
}

static void
to_stat(const LIBSSH2_SFTP_ATTRIBUTES *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_nlink = 1;
	st->st_blksize = 4096;
	if (a->flags & LIBSSH2_SFTP_ATTR_PERMISSIONS)
		st->st_mode = (mode_t)a->permissions;
	if (a->flags & LIBSSH2_SFTP_ATTR_SIZE) {
		st->st_size = (off_t)a->filesize;
		st->st_blocks = (blkcnt_t)((a->filesize + 511) / 512);
	}
	/* the node's ids mean nothing here: what the node's user owns
	 * (all the store reaches) is the mounting user's, as sshfs's
	 * idmap=user shows it */
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (a->flags & LIBSSH2_SFTP_ATTR_ACMODTIME) {
		st->st_atim.tv_sec = (time_t)a->atime;
		st->st_mtim.tv_sec = (time_t)a->mtime;
		st->st_ctim.tv_sec = (time_t)a->mtime;
	}
	if (S_ISDIR(st->st_mode))
		st->st_nlink = 2;
}

/* lstat of a node path. Called with s->lock held, the session up. */
static int
node_lstat(struct sftp *s, const char *np, LIBSSH2_SFTP_ATTRIBUTES *a)
{
	int rc;

	RUN(s, rc, libssh2_sftp_stat_ex(s->sftp, np, (unsigned)strlen(np),
	                                LIBSSH2_SFTP_LSTAT, a));
	return rc < 0 ? fail(s, rc, "lstat", np) : 0;
}

/* The mode (type bits) of a node path, 0 when there is nothing. */
static int
node_type(struct sftp *s, const char *np, mode_t *mode)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	int r = node_lstat(s, np, &a);

	*mode = 0;
	if (r == -ENOENT)
		return 0;
	if (r == 0)
		*mode = (mode_t)a.permissions;
	return r;
}

/*
 * Hand libssh2 f's staged bytes and take its answers until at most keep
 * bytes are unanswered; then only while it need not wait. A failure
 * drops what was staged. Called with s->lock held.
 */
static int
wb_push(struct sftp *s, struct rh_data_file *f, size_t keep)
{
	int64_t dl = rh_now_ms() + s->timeout_ms;
	ssize_t n;

	while (f->wb_head < f->wb_len) {
		n = libssh2_sftp_write(f->h, f->wb + f->wb_head,
		                       f->wb_len - f->wb_head);
		if (n > 0) {
			f->wb_head += (size_t)n;
			dl = rh_now_ms() + s->timeout_ms;  /* it moves */
			continue;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			f->wb_head = f->wb_len = 0;
			return fail(s, (int)n, "write", f->path);
		}
		/* 0: a request half sent, nothing answered yet */
		if (n < 0 && f->wb_len - f->wb_head <= keep)
			break;
		if (rh_ssh_wait(s->ssh, dl) < 0) {
			f->wb_head = f->wb_len = 0;
			return fail(s, TIMED_OUT, "write", f->path);
		}
	}
	if (f->wb_head == f->wb_len)
		f->wb_head = f->wb_len = 0;
	return 0;
}

/* Every staged write of the store answered: nothing else may go on the
 * session while a write request may be half sent. A failure is kept
 * for the file's next call. Called with s->lock held. */
static void
wb_drain(struct sftp *s)
{
	struct rh_data_file *f = s->wb_file;
	int r;

	if (f == NULL)
		return;
	if ((r = wb_push(s, f, 0)) < 0 && f->wb_err == 0)
		f->wb_err = r;
	s->wb_file = NULL;
}

/* Lock the store with its session up, the writes in flight of every
 * file but keep answered; -errno (unlocked) if it cannot be. Returns
 * holding s->lock on success. */
static int
lock_sess(struct sftp *s, struct rh_data_file *keep)
{
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->wb_file != NULL && s->wb_file != keep)
		wb_drain(s);
	if ((r = up(s)) < 0)
		pthread_mutex_unlock(&s->lock);
	return r;
}

static int
lock_up(struct sftp *s)
{
	return lock_sess(s, NULL);
}

/* Lock the store with its session up for the entry at path; *np is its
 * node path. -errno (unlocked, *np NULL) for a path no store holds or a
 * session that cannot be had. */
static int
lock_path(struct sftp *s, const char *path, char **np)
{
	int r;

	*np = NULL;
	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	if ((r = lock_up(s)) < 0)
		return r;
	*np = node_path(s, path);
	return 0;
}

/* Undo lock_path. */
static void
unlock_path(struct sftp *s, char *np)
{
	pthread_mutex_unlock(&s->lock);
	free(np);
}

static int
f_stat(struct rh_data *d, const char *path, struct stat *st)
{
	struct sftp *s = store_of(d);
	LIBSSH2_SFTP_ATTRIBUTES a;
	char *np;
	int r;

	if ((r = lock_path(s, path, &np)) < 0)
		return r;
	if ((r = node_lstat(s, np, &a)) == 0)
		to_stat(&a, st);
	unlock_path(s, np);
	return r;
}

struct ent {
	char *name;
	struct stat st;
};

static int
f_list(struct rh_data *d, const char *path, rh_data_list_cb cb, void *arg)
{
	struct sftp *s = store_of(d);
	LIBSSH2_SFTP_ATTRIBUTES a;
	LIBSSH2_SFTP_HANDLE *h;
	struct ent *e = NULL;
	size_t n = 0, cap = 0, i;
	char name[NAME_MAX + 2], *np;
	mode_t type;
	int rc, r = 0;

	if ((r = lock_path(s, path, &np)) < 0)
		return r;
	RUN_PTR(s, rc, h, libssh2_sftp_open_ex(s->sftp, np, (unsigned)strlen(np),
	                                       0, 0, LIBSSH2_SFTP_OPENDIR));
	if (h == NULL) {
		r = fail(s, rc, "opendir", np);
		/* OpenSSH answers "no such file" for ENOTDIR */
		if ((r == -EIO || r == -ENOENT) &&
		    node_type(s, np, &type) == 0 && type != 0 &&
		    !S_ISDIR(type))
			r = -ENOTDIR;
	}
	while (h != NULL) {
		/* a name too long for NAME_MAX is not one this system has */
		RUN(s, rc, libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL,
		                                   0, &a));
		if (rc <= 0) {
			if (rc < 0)
				r = fail(s, rc, "readdir", np);
			break;
		}
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			e = xrealloc(e, cap * sizeof(*e));
		}
		e[n].name = xstrdup(name);
		to_stat(&a, &e[n].st);
		n++;
	}
	if (h != NULL && s->sftp != NULL)
		RUN(s, rc, libssh2_sftp_close_handle(h));
	unlock_path(s, np);
	/* told outside the lock: cb may use the store */
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = cb(e[i].name, &e[i].st, arg);
		free(e[i].name);
	}
	free(e);
	return r;
}

static int
f_readlink(struct rh_data *d, const char *path, char *buf, size_t size)
{
	struct sftp *s = store_of(d);
	char *np;
	int rc, r;

	if (size == 0)
		return -EINVAL;
	if ((r = lock_path(s, path, &np)) < 0)
		return r;
	RUN(s, rc, libssh2_sftp_symlink_ex(s->sftp, np, (unsigned)strlen(np),
	                                   buf, (unsigned)(size - 1),
	                                   LIBSSH2_SFTP_READLINK));
	if (rc == LIBSSH2_ERROR_BUFFER_TOO_SMALL)
		r = -ENAMETOOLONG;
	else if (rc < 0)
		r = fail(s, rc, "readlink", np);
	unlock_path(s, np);
	if (r < 0)
		return r == -EIO ? -EINVAL : r;    /* OpenSSH: not a link */
	buf[rc] = '\0';
	return rh_data_link_inside(path, buf);
}

/* The open files of path read again from the node at their next read:
 * what they took ahead may be older than a change made by another
 * handle. Called with s->lock held. */
static void
ra_forget(struct sftp *s, const char *path)
{
	struct rh_data_file *f;

	for (f = s->files; f != NULL; f = f->next)
		if (f->reading && strcmp(f->path, path) == 0)
			f->reading = 0;
}

/* Open f's handle (again, on a new session). Called with s->lock held,
 * the session up. */
static int
file_handle(struct sftp *s, struct rh_data_file *f, unsigned long flags,
            long mode)
{
	int rc;

	RUN_PTR(s, rc, f->h, libssh2_sftp_open_ex(s->sftp, f->path,
	                                          (unsigned)strlen(f->path),
	                                          flags, mode,
	                                          LIBSSH2_SFTP_OPENFILE));
	if (f->h == NULL)
		return fail(s, rc, "open", f->path);
	f->gen = s->gen;
	f->pos = 0;
	f->reading = 0;
	return 0;
}

/* Lock the store with f's handle open: after a lost session, the file
 * is opened again. f's own writes stay in flight if keep. Returns
 * holding s->lock on success. */
static int
lock_file_keep(struct rh_data_file *f, int keep)
{
	struct sftp *s = f->s;
	int r;

	if ((r = lock_sess(s, keep ? f : NULL)) < 0)
		return r;
	if (f->h != NULL && f->gen == s->gen)
		return 0;
	if ((r = file_handle(s, f, f->reopen, 0)) < 0)
		pthread_mutex_unlock(&s->lock);
	return r;
}

static int
lock_file(struct rh_data_file *f)
{
	return lock_file_keep(f, 0);
}

static int open_whole(struct sftp *s, struct rh_data_file *f,
                      unsigned long fl, mode_t mode, mode_t type);
static int rename_over(struct sftp *s, const char *from, const char *to,
                       mode_t ft, mode_t tt);
static int node_remove(struct sftp *s, const char *np, mode_t type,
                       const char *what);

static int
f_open(struct rh_data *d, const char *path, int flags, mode_t mode,
       struct rh_data_file **out)
{
	struct sftp *s = store_of(d);
	struct rh_data_file *f;
	unsigned long fl = 0;
	mode_t type = 0;
	int r;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		fl = LIBSSH2_FXF_READ;
		break;
	case O_WRONLY:
		fl = LIBSSH2_FXF_WRITE;
		break;
	default:
		fl = LIBSSH2_FXF_READ | LIBSSH2_FXF_WRITE;
	}
	if (flags & O_APPEND)
		fl |= LIBSSH2_FXF_APPEND;
	f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->reopen = fl;
	f->append = (flags & O_APPEND) != 0;
	if (flags & O_CREAT)
		fl |= LIBSSH2_FXF_CREAT;
	if (flags & O_EXCL)
		fl |= LIBSSH2_FXF_EXCL;
	if (flags & O_TRUNC)
		fl |= LIBSSH2_FXF_TRUNC;
	if ((r = lock_path(s, path, &f->path)) < 0) {
		free(f);
		return r;
	}
	/* the server would follow a link: look first */
	if (!(flags & O_EXCL) && (r = node_type(s, f->path, &type)) == 0) {
		if (S_ISLNK(type))
			r = -ELOOP;
		else if (type == 0 && !(flags & O_CREAT))
			r = -ENOENT;
		else if (S_ISDIR(type) && (flags & O_ACCMODE) != O_RDONLY)
			r = -EISDIR;
	}
	if (r == 0 && (flags & O_ACCMODE) != O_RDONLY &&
	    !(flags & O_APPEND) && ((type == 0 && (flags & O_CREAT)) ||
	                            (S_ISREG(type) && (flags & O_TRUNC))))
		r = open_whole(s, f, fl, mode, type);
	else if (r == 0)
		r = file_handle(s, f, fl, (long)(mode & 07777));
	if (r == -EIO && s->sftp != NULL &&
	    node_type(s, f->path, &type) == 0 && type != 0)
		r = (flags & O_EXCL) ? -EEXIST : S_ISDIR(type) ? -EISDIR : r;
	if (r == 0 && (flags & O_TRUNC))
		ra_forget(s, f->path);
	if (r == 0) {
		f->next = s->files;
		s->files = f;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		free(f->path);
		free(f);
		return r;
	}
	*out = f;
	return 0;
}

/* Read of f's stream from pos on, into ra (its oldest bytes dropped for
 * room): bytes taken, 0 at the end of the file. Called with s->lock
 * held. */
static ssize_t
ra_fill(struct sftp *s, struct rh_data_file *f)
{
	ssize_t n;

	if (f->ra == NULL)
		f->ra = xmalloc(RA_CAP);
	if (f->ra_len + RA_ASK > RA_CAP) {
		memmove(f->ra, f->ra + f->ra_len - RA_KEEP, RA_KEEP);
		f->ra_len = RA_KEEP;
	}
	RUN(s, n, libssh2_sftp_read(f->h, f->ra + f->ra_len, RA_ASK));
	if (n > 0) {
		f->ra_len += (size_t)n;
		f->pos += n;
	}
	return n;
}

/* The stream of f restarted at off (libssh2's read-ahead with it). */
static void
ra_seek(struct rh_data_file *f, off_t off)
{
	libssh2_sftp_seek64(f->h, (libssh2_uint64_t)off);
	f->pos = off;
	f->ra_len = 0;
	f->reading = 1;
}

/* A file written whole: made now if new (empty: its name is there at
 * once, and O_EXCL holds), then opened as a new name beside it with the
 * file's permissions, which takes its place at close (whole_done).
 * Called with s->lock held, the session up. */
static int
open_whole(struct sftp *s, struct rh_data_file *f, unsigned long fl,
           mode_t mode, mode_t type)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	const char *slash = strrchr(f->path, '/');
	long perm = (long)(mode & 07777);
	char *tmp;
	int rc, r;

	if (type == 0) {
		r = file_handle(s, f, fl & ~(unsigned long)LIBSSH2_FXF_READ,
		                perm);
		if (r < 0)
			return r;
		RUN(s, rc, libssh2_sftp_close_handle(f->h));
		f->h = NULL;
		if (rc < 0)
			return fail(s, rc, "close", f->path);
		f->fresh = 1;
	} else {
		if ((r = node_lstat(s, f->path, &a)) < 0)
			return r;
		perm = (long)(a.permissions & 07777);
	}
	tmp = xasprintf("%.*s.rhfs-write-%ld-%lu",
	                slash ? (int)(slash - f->path + 1) : 0, f->path,
	                (long)getpid(), ++s->aside);
	f->final = f->path;
	f->path = tmp;
	/* the owner may write it, whatever its permissions */
	r = file_handle(s, f, (fl & ~(unsigned long)LIBSSH2_FXF_TRUNC) |
	                LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
	                perm | 0200);
	if (r == 0 && (perm & 0200) == 0) {
		memset(&a, 0, sizeof(a));
		a.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS;
		a.permissions = (unsigned long)perm;
		RUN(s, rc, libssh2_sftp_fstat_ex(f->h, &a, 1));
		if (rc < 0)
			r = fail(s, rc, "setstat", f->path);
	}
	if (r < 0) {
		f->path = f->final;
		f->final = NULL;
		free(tmp);
	}
	return r;
}

/* At the first close(2) after writes of a file written whole (or at its
 * last, if never written; ok: every write of it answered): its new name
 * takes the place of the file (the old one whole until then), unless that
 * was removed or replaced meanwhile (as an open file unlinked, it is
 * gone); not ok, it is removed. From then on the file is written in
 * place. Called with s->lock held. */
static int
whole_done(struct sftp *s, struct rh_data_file *f, int ok)
{
	mode_t type = 0;
	int r = 0;

	/* (a session lost with writes in flight is not made again just to
	 * remove what they went to) */
	if (ok && !f->dropped && (r = up(s)) == 0 &&
	    (r = node_type(s, f->final, &type)) == 0) {
		if (type == 0)
			f->dropped = 1;
		else
			r = rename_over(s, f->path, f->final, S_IFREG, type);
	}
	if ((r < 0 || !ok || f->dropped) && s->sftp != NULL &&
	    node_remove(s, f->path, S_IFREG, "remove") < 0)
		rh_warn("%s: %s: what was written to %s is left at %s",
		        s->d.addr, s->cluster, f->final, f->path);
	free(f->path);
	f->path = f->final;
	f->final = NULL;
	return r;
}

/* Files written whole whose name moved (a rename of it, or of a
 * directory above it) or was replaced by a rename: told. Called with
 * s->lock held. */
static void
whole_moved(struct sftp *s, const char *from, const char *to)
{
	struct rh_data_file *f;
	size_t n = strlen(from);
	char *p;

	for (f = s->files; f != NULL; f = f->next) {
		if (f->final == NULL)
			continue;
		if (strcmp(f->final, to) == 0) {
			f->dropped = 1;
		} else if (strncmp(f->final, from, n) == 0 &&
		           (f->final[n] == '\0' || f->final[n] == '/')) {
			p = xasprintf("%s%s", to, f->final + n);
			free(f->final);
			f->final = p;
			if (strncmp(f->path, from, n) == 0 &&
			    f->path[n] == '/') {
				p = xasprintf("%s%s", to, f->path + n);
				free(f->path);
				f->path = p;
			}
		}
	}
}

static ssize_t
f_read(struct rh_data_file *f, void *buf, size_t size, off_t off)
{
	struct sftp *s = f->s;
	size_t got = 0, n;
	int64_t cur, lo;
	ssize_t rc = 0;
	int r;

	if ((r = lock_file(f)) < 0)
		return r;
	/* a write since (or the first read): the stream starts anew */
	if (!f->reading)
		ra_seek(f, off);
	while (got < size) {
		cur = off + (off_t)got;
		lo = f->pos - (int64_t)f->ra_len;
		if (cur >= lo && cur < f->pos) {
			n = (size_t)(f->pos - cur) < size - got ?
			    (size_t)(f->pos - cur) : size - got;
			memcpy((char *)buf + got, f->ra + (cur - lo), n);
			got += n;
			continue;
		}
		/* behind what is kept, or far ahead: a jump */
		if (cur < lo || cur > f->pos + RA_SKIP)
			ra_seek(f, cur);
		if ((rc = ra_fill(s, f)) <= 0)
			break;
	}
	if (rc < 0)
		r = fail(s, (int)rc, "read", f->path);
	else if (rc == 0 && got < size)
		f->reading = 0;         /* the end: looked for anew next time */
	pthread_mutex_unlock(&s->lock);
	/* a short read would be taken for the end of the file */
	return r < 0 ? r : (ssize_t)got;
}

/* An O_APPEND write, answered before it returns (the server appends:
 * no offset to run on from). Called with s->lock held. */
static ssize_t
write_now(struct sftp *s, struct rh_data_file *f, const void *buf,
          size_t size)
{
	size_t done = 0;
	ssize_t n = 0;

	while (done < size) {
		/* libssh2 has the rest of buf in flight: give it again */
		RUN(s, n, libssh2_sftp_write(f->h, (const char *)buf + done,
		                             size - done));
		if (n < 0)
			return fail(s, (int)n, "write", f->path);
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/*
 * Writes go behind: the bytes are staged and handed to libssh2, and the
 * call returns while the answers are still to come (up to WB_MAX bytes
 * of a file in flight). A write that then fails is told at the file's
 * next write, flush (close(2)) or fsync; any other operation on the
 * session first waits for every answer.
 */
static ssize_t
f_write(struct rh_data_file *f, const void *buf, size_t size, off_t off)
{
	struct sftp *s = f->s;
	ssize_t r;
	size_t keep;

	if ((r = lock_file_keep(f, 1)) < 0)
		return r;
	f->wrote = 1;
	if (s->wb_file == f && (f->wb_end != off || f->append))
		wb_drain(s);
	if ((r = f->wb_err) < 0) {
		f->wb_err = 0;
		goto out;
	}
	if (s->sftp == NULL || f->gen != s->gen) {
		r = -EIO;       /* lost while draining: told, not retried */
		goto out;
	}
	ra_forget(s, f->path);
	if (s->wb_file != f && (f->pos != off || f->reading || f->append)) {
		/* appending: the server writes at the end (O_APPEND) */
		libssh2_sftp_seek64(f->h, (libssh2_uint64_t)off);
		f->pos = off;
		f->reading = 0;
	}
	if (f->append) {
		r = write_now(s, f, buf, size);
		f->pos = -1;
		goto out;
	}
	if (s->wb_file != f) {
		s->wb_file = f;
		f->wb_head = f->wb_len = 0;
		f->wb_end = off;
	}
	/* room for size: answers taken until little enough is in flight */
	keep = size < WB_MAX ? WB_MAX - size : 0;
	if ((r = wb_push(s, f, keep)) < 0)
		goto out;
	if (f->wb_head > 0) {
		memmove(f->wb, f->wb + f->wb_head, f->wb_len - f->wb_head);
		f->wb_len -= f->wb_head;
		f->wb_head = 0;
	}
	if (f->wb_len + size > f->wb_cap) {
		f->wb_cap = f->wb_len + size > WB_MAX ? f->wb_len + size :
		            WB_MAX;
		f->wb = xrealloc(f->wb, f->wb_cap);
	}
	memcpy(f->wb + f->wb_len, buf, size);
	f->wb_len += size;
	f->wb_end += (int64_t)size;
	f->pos = f->wb_end;
	/* sent now, answered later */
	if ((r = wb_push(s, f, WB_MAX)) == 0)
		r = (ssize_t)size;
out:
	if (s->wb_file == f && f->wb_head == f->wb_len)
		s->wb_file = NULL;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* At each close(2): the file's writes answered, a failure told. */
static int
f_flush(struct rh_data_file *f)
{
	struct sftp *s = f->s;
	int r, rc;

	pthread_mutex_lock(&s->lock);
	if (s->wb_file == f)
		wb_drain(s);
	r = f->wb_err;
	f->wb_err = 0;
	/* the close(2) after writes, not the close of a descriptor dup'ed
	 * before them (a shell's redirection, dd) */
	if (f->final != NULL && f->wrote &&
	    (rc = whole_done(s, f, r == 0)) < 0 && r == 0)
		r = rc;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
set_attrs(struct sftp *s, struct rh_data_file *f, const char *np,
          LIBSSH2_SFTP_ATTRIBUTES *a)
{
	int rc;

	if (f != NULL)
		RUN(s, rc, libssh2_sftp_fstat_ex(f->h, a, 1));
	else
		RUN(s, rc, libssh2_sftp_stat_ex(s->sftp, np,
		                                (unsigned)strlen(np),
		                                LIBSSH2_SFTP_SETSTAT, a));
	return rc < 0 ? fail(s, rc, "setstat", np) : 0;
}

/* Lock the store for an attribute change of f, or of the entry at path
 * (which must not be a symbolic link: the server would follow it);
 * *np is the node path. Returns holding s->lock on success. */
static int
lock_attr(struct sftp *s, const char *path, struct rh_data_file *f,
          char **np, LIBSSH2_SFTP_ATTRIBUTES *cur)
{
	int rc, r;

	*np = NULL;
	if (f != NULL) {
		if ((r = lock_file(f)) < 0)
			return r;
		*np = xstrdup(f->path);
		RUN(s, rc, libssh2_sftp_fstat_ex(f->h, cur, 0));
		r = rc < 0 ? fail(s, rc, "fstat", *np) : 0;
	} else {
		if ((r = lock_path(s, path, np)) < 0)
			return r;
		r = node_lstat(s, *np, cur);
		if (r == 0 && LIBSSH2_SFTP_S_ISLNK(cur->permissions))
			r = -EOPNOTSUPP;
	}
	if (r < 0) {
		unlock_path(s, *np);
		*np = NULL;
	}
	return r;
}

static int
f_truncate(struct rh_data *d, const char *path, struct rh_data_file *f,
           off_t size)
{
	struct sftp *s = store_of(d);
	LIBSSH2_SFTP_ATTRIBUTES a, cur;
	char *np;
	int r;

	if ((r = lock_attr(s, path, f, &np, &cur)) < 0)
		return r == -EOPNOTSUPP ? -ELOOP : r;
	if (f != NULL)
		f->wrote = 1;
	if (LIBSSH2_SFTP_S_ISDIR(cur.permissions)) {
		r = -EISDIR;
	} else {
		memset(&a, 0, sizeof(a));
		a.flags = LIBSSH2_SFTP_ATTR_SIZE;
		a.filesize = (libssh2_uint64_t)size;
		r = set_attrs(s, f, np, &a);
		ra_forget(s, np);
	}
	unlock_path(s, np);
	return r;
}

static unsigned long
secs_of(const struct timespec *t, unsigned long cur)
{
	if (t->tv_nsec == UTIME_OMIT)
		return cur;
	if (t->tv_nsec == UTIME_NOW)
		return (unsigned long)time(NULL);
	return (unsigned long)t->tv_sec;
}

static int
f_setattr(struct rh_data *d, const char *path, struct rh_data_file *f,
          const struct rh_data_attr *at)
{
	struct sftp *s = store_of(d);
	LIBSSH2_SFTP_ATTRIBUTES a, cur;
	char *np;
	int r;

	/* the owners shown are the mounting user's, not the node's */
	if (at->what & RH_DATA_OWNER)
		return -EPERM;
	if ((r = lock_attr(s, path, f, &np, &cur)) < 0)
		return r;
	if (f != NULL)
		f->wrote = 1;   /* kept with what it replaces the file with */
	memset(&a, 0, sizeof(a));
	if (at->what & RH_DATA_MODE) {
		a.flags |= LIBSSH2_SFTP_ATTR_PERMISSIONS;
		a.permissions = at->mode & 07777;
	}
	if (at->what & (RH_DATA_ATIME | RH_DATA_MTIME)) {
		/* SFTP sets both: the one not given stays as it is */
		a.flags |= LIBSSH2_SFTP_ATTR_ACMODTIME;
		a.atime = (at->what & RH_DATA_ATIME) ?
		          secs_of(&at->atime, cur.atime) : cur.atime;
		a.mtime = (at->what & RH_DATA_MTIME) ?
		          secs_of(&at->mtime, cur.mtime) : cur.mtime;
	}
	r = a.flags ? set_attrs(s, f, np, &a) : 0;
	unlock_path(s, np);
	return r;
}

static int
f_fsync(struct rh_data_file *f, int datasync)
{
	struct sftp *s = f->s;
	int rc, r;

	(void)datasync;
	if ((r = lock_file(f)) < 0)
		return r;
	if ((r = f->wb_err) < 0) {
		f->wb_err = 0;
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	RUN(s, rc, libssh2_sftp_fsync(f->h));
	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL &&
	    libssh2_sftp_last_error(s->sftp) == LIBSSH2_FX_OP_UNSUPPORTED) {
		/* written (each write was answered), but not synced */
		if (!s->fsync_warned++)
			rh_warn("%s: %s: the SFTP server has no fsync: data "
			        "is written but not synced", s->d.addr,
			        s->cluster);
		rc = 0;
	}
	r = rc < 0 ? fail(s, rc, "fsync", f->path) : 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
f_fstat(struct rh_data_file *f, struct stat *st)
{
	struct sftp *s = f->s;
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc, r;

	if ((r = lock_file(f)) < 0)
		return r;
	RUN(s, rc, libssh2_sftp_fstat_ex(f->h, &a, 0));
	r = rc < 0 ? fail(s, rc, "fstat", f->path) : 0;
	if (r == 0)
		to_stat(&a, st);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
f_close(struct rh_data_file *f)
{
	struct sftp *s = f->s;
	struct rh_data_file **pp;
	int rc = 0, r;

	pthread_mutex_lock(&s->lock);
	if (s->wb_file == f)
		wb_drain(s);
	r = f->wb_err;
	for (pp = &s->files; *pp != NULL; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	/* every write was answered: a close that fails loses nothing */
	if (f->h != NULL && f->gen == s->gen && s->sftp != NULL) {
		RUN(s, rc, libssh2_sftp_close_handle(f->h));
		if (rc < 0 && rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
			fail(s, rc, "close", f->path);
	}
	/* written whole, not written before a close(2): now (a new file
	 * left as it was made: as it is, empty) */
	if (f->final != NULL &&
	    (rc = whole_done(s, f, r == 0 && (f->wrote || !f->fresh))) < 0 &&
	    r == 0)
		r = rc;
	pthread_mutex_unlock(&s->lock);
	free(f->wb);
	free(f->ra);
	free(f->path);
	free(f->final);
	free(f);
	return r;
}

static int
f_mkdir(struct rh_data *d, const char *path, mode_t mode)
{
	struct sftp *s = store_of(d);
	mode_t type;
	char *np;
	int rc, r;

	if (*path == '\0')
		return -EEXIST;
	if ((r = lock_path(s, path, &np)) < 0)
		return r;
	RUN(s, rc, libssh2_sftp_mkdir_ex(s->sftp, np, (unsigned)strlen(np),
	                                 (long)(mode & 07777)));
	r = rc < 0 ? fail(s, rc, "mkdir", np) : 0;
	/* OpenSSH answers a bare failure for EEXIST */
	if (r == -EIO && node_type(s, np, &type) == 0 && type != 0)
		r = -EEXIST;
	unlock_path(s, np);
	return r;
}

static int
f_unlink(struct rh_data *d, const char *path)
{
	struct sftp *s = store_of(d);
	mode_t type;
	char *np;
	int r;

	if (*path == '\0')
		return -EBUSY;
	if ((r = lock_path(s, path, &np)) < 0)
		return r;
	r = node_remove(s, np, S_IFREG, "unlink");
	if (r == -EIO && node_type(s, np, &type) == 0 && S_ISDIR(type))
		r = -EISDIR;
	unlock_path(s, np);
	return r;
}

/* Whether the directory at np has entries. */
static int
dir_has_entries(struct sftp *s, const char *np)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	LIBSSH2_SFTP_HANDLE *h;
	char name[NAME_MAX + 2];
	int rc, found = 0;

	RUN_PTR(s, rc, h, libssh2_sftp_open_ex(s->sftp, np, (unsigned)strlen(np),
	                                       0, 0, LIBSSH2_SFTP_OPENDIR));
	if (h == NULL)
		return fail(s, rc, "opendir", np);
	for (;;) {
		RUN(s, rc, libssh2_sftp_readdir_ex(h, name, sizeof(name), NULL,
		                                   0, &a));
		if (rc < 0) {
			int r = fail(s, rc, "readdir", np);

			if (s->sftp != NULL)
				RUN(s, rc, libssh2_sftp_close_handle(h));
			return r;
		}
		if (rc == 0)
			break;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
			found = 1;
			break;
		}
	}
	RUN(s, rc, libssh2_sftp_close_handle(h));
	return found;
}

static int
f_rmdir(struct rh_data *d, const char *path)
{
	struct sftp *s = store_of(d);
	mode_t type;
	char *np;
	int r;

	if (*path == '\0')
		return -EBUSY;
	if ((r = lock_path(s, path, &np)) < 0)
		return r;
	r = node_remove(s, np, S_IFDIR, "rmdir");
	/* OpenSSH answers a bare failure for ENOTEMPTY, "no such file"
	 * for ENOTDIR */
	if ((r == -EIO || r == -ENOENT) && node_type(s, np, &type) == 0 &&
	    type != 0)
		r = !S_ISDIR(type) ? -ENOTDIR :
		    dir_has_entries(s, np) == 1 ? -ENOTEMPTY : r;
	unlock_path(s, np);
	return r;
}

static int
node_rename(struct sftp *s, const char *from, const char *to)
{
	int rc;

	/* OpenSSH (SFTP 3) renames over nothing: flags are not sent */
	RUN(s, rc, libssh2_sftp_rename_ex(s->sftp, from, (unsigned)strlen(from),
	                                  to, (unsigned)strlen(to),
	                                  LIBSSH2_SFTP_RENAME_OVERWRITE |
	                                  LIBSSH2_SFTP_RENAME_ATOMIC |
	                                  LIBSSH2_SFTP_RENAME_NATIVE));
	return rc < 0 ? fail(s, rc, "rename", from) : 0;
}

/* The directory (S_ISDIR(type)) or other entry at np removed; what names
 * the step in a failure's message. */
static int
node_remove(struct sftp *s, const char *np, mode_t type, const char *what)
{
	int rc;

	if (S_ISDIR(type))
		RUN(s, rc, libssh2_sftp_rmdir_ex(s->sftp, np,
		                                 (unsigned)strlen(np)));
	else
		RUN(s, rc, libssh2_sftp_unlink_ex(s->sftp, np,
		                                  (unsigned)strlen(np)));
	return rc < 0 ? fail(s, rc, what, np) : 0;
}

/*
 * rename(2) over an existing entry, as SFTP 3 cannot: what is at to is
 * moved aside (to a name beside it), from takes its place, and the old
 * entry is removed; moved back if from cannot move. Not atomic: for a
 * moment nothing is at to. Called with s->lock held.
 */
static int
rename_over(struct sftp *s, const char *from, const char *to, mode_t ft,
            mode_t tt)
{
	const char *slash = strrchr(to, '/');
	char *aside;
	int r;

	if (S_ISDIR(ft) && !S_ISDIR(tt))
		return -ENOTDIR;
	if (!S_ISDIR(ft) && S_ISDIR(tt))
		return -EISDIR;
	if (S_ISDIR(tt) && (r = dir_has_entries(s, to)) != 0)
		return r < 0 ? r : -ENOTEMPTY;
	aside = xasprintf("%.*s.rhfs-rename-%ld-%lu",
	                  slash ? (int)(slash - to + 1) : 0, to,
	                  (long)getpid(), ++s->aside);
	if ((r = node_rename(s, to, aside)) < 0) {
		free(aside);
		return r;
	}
	if ((r = node_rename(s, from, to)) < 0) {
		if (s->sftp != NULL && node_rename(s, aside, to) < 0)
			rh_warn("%s: %s: a rename over %s failed, and what "
			        "was there is left at %s", s->d.addr,
			        s->cluster, to, aside);
		free(aside);
		return r;
	}
	if (node_remove(s, aside, tt, "remove") < 0)
		rh_warn("%s: %s: %s (replaced by a rename) is left at %s",
		        s->d.addr, s->cluster, to, aside);
	free(aside);
	return 0;
}

static int
f_rename(struct rh_data *d, const char *from, const char *to,
         unsigned flags)
{
	struct sftp *s = store_of(d);
	mode_t ft, tt;
	char *nf, *nt;
	int r;

	if (*from == '\0' || *to == '\0')
		return -EBUSY;
	if (rh_data_path_ok(from) < 0 || rh_data_path_ok(to) < 0)
		return -EINVAL;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;         /* RENAME_EXCHANGE: not over SFTP */
	if ((r = lock_up(s)) < 0)
		return r;
	nf = node_path(s, from);
	nt = node_path(s, to);
	if ((r = node_type(s, nf, &ft)) == 0 && ft == 0)
		r = -ENOENT;
	if (r == 0 && (r = node_type(s, nt, &tt)) == 0) {
		if (tt == 0)
			r = node_rename(s, nf, nt);
		else if (flags & RENAME_NOREPLACE)
			r = -EEXIST;
		else if (strcmp(nf, nt) == 0)
			r = 0;
		else
			r = rename_over(s, nf, nt, ft, tt);
	}
	if (r == 0)
		whole_moved(s, nf, nt);
	pthread_mutex_unlock(&s->lock);
	free(nf);
	free(nt);
	return r;
}

static void
f_free(struct rh_data *d)
{
	struct sftp *s = store_of(d);

	pthread_mutex_lock(&s->lock);
	drop(s);                /* its files' handles, then SFTP, closed */
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	cJSON_Delete(s->inline_cfg);
	free(s->cluster);
	free(s->known_hosts);
	free(s->root);
	free(s->d.addr);
	free(s);
}

static const struct rh_data_ops sftp_ops = {
	.name = "sftp",
	.stat = f_stat,
	.list = f_list,
	.readlink = f_readlink,
	.open = f_open,
	.read = f_read,
	.write = f_write,
	.truncate = f_truncate,
	.setattr = f_setattr,
	.fsync = f_fsync,
	.flush = f_flush,
	.fstat = f_fstat,
	.close = f_close,
	.mkdir = f_mkdir,
	.unlink = f_unlink,
	.rmdir = f_rmdir,
	.rename = f_rename,
	.free = f_free,
};

/* The node path of the root: "~/" and trailing '/' dropped; "" is the
 * home. A blob's: its directory, and its name in *blob. */
static int
root_of(const char *path, const char *addr, int is_blob, char **root,
        char **blob, struct rh_err *err)
{
	char *p, *slash;
	size_t n;

	if (strncmp(path, "~/", 2) == 0 || strcmp(path, "~") == 0)
		path += path[1] == '/' ? 2 : 1;
	p = xstrdup(path);
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if (!is_blob) {
		*root = p;
		return 0;
	}
	slash = strrchr(p, '/');
	if (*p == '\0' || strcmp(p, "/") == 0) {
		free(p);
		return rh_err_set(err, EINVAL, "%s: a blob's path names a file",
		                  addr);
	}
	if (blob != NULL)
		*blob = xstrdup(slash ? slash + 1 : p);
	if (slash == NULL)
		*p = '\0';
	else
		slash[slash == p ? 1 : 0] = '\0';
	*root = p;
	return 0;
}

int
rh_data_sftp_open(const struct rh_data_loc *loc, const char *addr,
                  int is_blob, const struct rh_data_opts *opts,
                  struct rh_data **out, char **blob, struct rh_err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	struct rh_err cause;
	struct sftp *s;
	const char *home = getenv("HOME");
	char *root = NULL, *np;
	int rc, r;

	*out = NULL;
	if ((r = root_of(loc->path, addr, is_blob, &root, blob, err)) < 0)
		return r;
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->d.ops = &sftp_ops;
	s->d.addr = xstrdup(addr);
	s->root = root;
	if (loc->cluster_cfg != NULL) {
		s->inline_cfg = cJSON_Duplicate(loc->cluster_cfg, 1);
		s->cluster = xasprintf("%s#system", addr);
	} else {
		s->cluster = xstrdup(loc->cluster);
	}
	if (opts != NULL) {
		s->cluster_fn = opts->cluster;
		s->cluster_arg = opts->cluster_arg;
	}
	s->known_hosts = opts != NULL && opts->known_hosts != NULL ?
	                 xstrdup(opts->known_hosts) :
	                 xasprintf("%s/.ssh/known_hosts", home ? home : "");
	s->timeout_ms = (int)((opts != NULL && opts->io_timeout > 0 ?
	                       opts->io_timeout : RH_DATA_IO_TIMEOUT) * 1000);
	/* the root must be a directory: told now, as the other stores do */
	pthread_mutex_lock(&s->lock);
	cause.msg[0] = '\0';
	if ((r = connect_up(s, &cause)) < 0) {
		r = rh_err_set(err, -r, "%s: its data on %s cannot be reached: "
		               "%s", addr, s->cluster, cause.msg);
	} else {
		np = node_path(s, "");
		RUN(s, rc, libssh2_sftp_stat_ex(s->sftp, np,
		                                (unsigned)strlen(np),
		                                LIBSSH2_SFTP_STAT, &a));
		r = rc < 0 ? fail(s, rc, "stat", np) : 0;
		if (r == 0 && !LIBSSH2_SFTP_S_ISDIR(a.permissions))
			r = -ENOTDIR;
		if (r < 0)
			r = rh_err_set(err, -r, "%s: its data directory %s on "
			               "%s: %s", addr, *np == '.' ? "~" : np,
			               s->cluster, strerror(-r));
		free(np);
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		f_free(&s->d);
		if (blob != NULL) {
			free(*blob);
			*blob = NULL;
		}
		return r;
	}
	*out = &s->d;
	return 0;
}

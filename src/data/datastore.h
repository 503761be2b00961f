/*
 * datastore.h - where a folder's, blob's or table's bytes live, behind one
 * interface. A store is opened on its root (a directory: the resource's
 * path); every path given to it is relative to that root, '/'-separated,
 * without empty, "." or ".." components ("" is the root itself). Every
 * operation returns 0 (or a count) or -errno, and never reaches outside
 * the root.
 *
 * Adding a store: a file src/data/NAME.c with a struct rh_data_ops and an
 * open function, and a case in rh_data_open.
 */
#ifndef DATASTORE_H
#define DATASTORE_H

#include <sys/stat.h>
#include <sys/types.h>

#include "base.h"

struct rh_data;
struct rh_data_file;
struct rh_data_loc;

/* An entry of a listing: its name and attributes (as stat gives them;
 * st_nlink 0 when the listing cannot say all of them: stat can). */
typedef int (*rh_data_list_cb)(const char *name, const struct stat *st,
                               void *arg);

/* What setattr changes: the bits set in `what`. */
enum {
	RH_DATA_MODE = 1 << 0,
	RH_DATA_ATIME = 1 << 1,
	RH_DATA_MTIME = 1 << 2,
	RH_DATA_OWNER = 1 << 3,
};
struct rh_data_attr {
	unsigned what;
	mode_t mode;                    /* permission bits */
	struct timespec atime, mtime;   /* UTIME_NOW allowed */
	uid_t uid;                      /* RH_DATA_OWNER: (uid_t)-1 and */
	gid_t gid;                      /* (gid_t)-1 leave that one */
};

struct rh_data_ops {
	const char *name;
	/* Attributes of path, not following a symbolic link. */
	int (*stat)(struct rh_data *d, const char *path, struct stat *st);
	/* The entries of directory path (not "." or ".."); cb returning
	 * non-zero stops the listing with that value. */
	int (*list)(struct rh_data *d, const char *path, rh_data_list_cb cb,
	            void *arg);
	/* A symbolic link's target. A store whose links others make (a
	 * cluster's) refuses one that would lead out of the root (-EACCES);
	 * the local store gives every target, as the disk does. */
	int (*readlink)(struct rh_data *d, const char *path, char *buf,
	                size_t size);
	/* open(2)'s flags (O_CREAT, O_EXCL, O_TRUNC, O_APPEND, access
	 * mode); a symbolic link is never followed (-ELOOP). */
	int (*open)(struct rh_data *d, const char *path, int flags,
	            mode_t mode, struct rh_data_file **f);
	ssize_t (*read)(struct rh_data_file *f, void *buf, size_t size,
	                off_t off);
	/* At off, or at the end for a file opened O_APPEND. */
	ssize_t (*write)(struct rh_data_file *f, const void *buf, size_t size,
	                 off_t off);
	/* The open file f if not NULL, else path. */
	int (*truncate)(struct rh_data *d, const char *path,
	                struct rh_data_file *f, off_t size);
	int (*setattr)(struct rh_data *d, const char *path,
	               struct rh_data_file *f, const struct rh_data_attr *a);
	int (*fsync)(struct rh_data_file *f, int datasync);
	/* At each close(2) of a descriptor of an open file (a file may have
	 * several: dup, fork): a store that stages writes stores them here,
	 * so that a failure reaches close(2). NULL: nothing to do. */
	int (*flush)(struct rh_data_file *f);
	/* Attributes of an open file. */
	int (*fstat)(struct rh_data_file *f, struct stat *st);
	int (*close)(struct rh_data_file *f);
	int (*mkdir)(struct rh_data *d, const char *path, mode_t mode);
	int (*unlink)(struct rh_data *d, const char *path);
	int (*rmdir)(struct rh_data *d, const char *path);
	/* rename(2) within the store; flags: RENAME_NOREPLACE,
	 * RENAME_EXCHANGE where the store can. */
	int (*rename)(struct rh_data *d, const char *from, const char *to,
	              unsigned flags);
	/* Optional (NULL: -EPERM): a symbolic link at path to target (as
	 * given, not checked: readlink checks it), a hard link at to of the
	 * file at from, and a special file or empty regular file (mknod(2)'s
	 * mode and rdev; without it, rh_data_mknod makes regular files). */
	int (*symlink)(struct rh_data *d, const char *target,
	               const char *path);
	int (*link)(struct rh_data *d, const char *from, const char *to);
	int (*mknod)(struct rh_data *d, const char *path, mode_t mode,
	             dev_t rdev);
	void (*free)(struct rh_data *d);
};

/* An open store: its ops first, then the store's own state. */
struct rh_data {
	const struct rh_data_ops *ops;
	char *addr;             /* the resource it serves, for messages */
};

/* The seconds a store's request may take when the caller gives none. */
#define RH_DATA_IO_TIMEOUT 30

/*
 * The value of field of the user's secret called name (as "aws": the
 * secret secrets/NAME of the default folder), into out (cleansed by the
 * caller); -ENOENT when there is no such secret or field, other -errno
 * with err set.
 */
typedef int (*rh_data_secret_fn)(void *arg, const char *name,
                                 const char *field, struct rh_buf *out,
                                 struct rh_err *err);

/*
 * The config of the cluster at addr into *cfg, or -errno with err set
 * (-ENOENT: no such cluster).
 */
struct cJSON;
typedef int (*rh_data_cluster_fn)(void *arg, const char *addr,
                                  struct cJSON **cfg, struct rh_err *err);

/* What the caller gives a store; NULL (or zeroed fields) for defaults. */
struct rh_data_opts {
	/* the mount a store on this machine never enters (statx's
	 * stx_mnt_id; 0: none): the rhfs mount that serves it, whose
	 * requests would come back to the same rhfs, each deeper level
	 * holding one of its threads */
	uint64_t own_mount;
	/* seconds each request to a remote store may take before it fails
	 * with -ETIMEDOUT (0: RH_DATA_IO_TIMEOUT) */
	double io_timeout;
	/* where credentials kept as secrets are read (NULL: the `~`
	 * secrets of this machine, src/secret-local.c) */
	rh_data_secret_fn secret;
	void *secret_arg;
	/* the config of the cluster at an address (a cluster store's
	 * system), into *cfg (the caller's to cJSON_Delete); NULL: only
	 * ^local and inline cluster configs are known */
	rh_data_cluster_fn cluster;
	void *cluster_arg;
	/* where SSH host keys are checked and recorded (NULL:
	 * ~/.ssh/known_hosts) */
	const char *known_hosts;
	/* seconds a remote store's attributes and listings are kept in
	 * memory (cache.c); 0: not kept */
	double cache_ttl;
};

/*
 * The store of the data resource at addr, whose config is cfg; workdir
 * is what a relative "file" path is relative to; opts may be NULL. The resource's root must
 * exist (a blob's: its directory, and the blob is the root's entry named
 * as its path's last component, in *blob, allocated; NULL otherwise).
 * -EOPNOTSUPP for a store not available here, -ENOENT for a folder marker;
 * err names addr and the cause.
 */
int rh_data_open(const struct cJSON *cfg, const char *addr,
                 const char *workdir, const struct rh_data_opts *opts,
                 struct rh_data **out, char **blob, struct rh_err *err);
/* data-local.c: the directory root on this machine; the mount
 * own_mount (0: none) is not entered: a directory on it is not listed,
 * and a path through it is ELOOP. */
int rh_data_local_open(const char *root, const char *addr,
                       uint64_t own_mount, struct rh_data **out,
                       struct rh_err *err);
/* data/s3.c: the S3 store at loc (bucket/prefix; for a blob, bucket/key:
 * the blob is the entry *blob of its prefix). */
int rh_data_s3_open(const struct rh_data_loc *loc, const char *addr,
                    int is_blob, const struct rh_data_opts *opts,
                    struct rh_data **out, char **blob, struct rh_err *err);
/* data/sftp.c: the directory at loc's path on the cluster loc names,
 * over SFTP (a blob: the entry *blob of its directory). */
int rh_data_sftp_open(const struct rh_data_loc *loc, const char *addr,
                      int is_blob, const struct rh_data_opts *opts,
                      struct rh_data **out, char **blob,
                      struct rh_err *err);
/* cache.c: inner behind a cache of its attributes and listings kept ttl
 * seconds (inner itself when ttl is 0); freeing it frees inner. A
 * store's stat and list give st_ctim (when the entry last changed in the
 * store) and st_ino (0, or a version of its content) for it to compare. */
struct rh_data *rh_data_cache_wrap(struct rh_data *inner, double ttl);
void rh_data_free(struct rh_data *d);
/* mknod(2) in d: its mknod, or for a store without one an empty regular
 * file (opened with O_CREAT and O_EXCL, flushed and closed); -EPERM for
 * any other file type there. */
int rh_data_mknod(struct rh_data *d, const char *path, mode_t mode,
                  dev_t rdev);
/* 0 if path is a store path (see above), else -EINVAL. */
int rh_data_path_ok(const char *path);
/* 0 if target, read from a symbolic link at store path, leads to a place
 * beneath the root; -EACCES if it would lead out (absolute, or too many
 * ".."). */
int rh_data_link_inside(const char *path, const char *target);

#endif

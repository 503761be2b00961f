/*
 * rhfs.h - the FUSE daemon's own pieces. fs/ resolves a path to
 * (store, resource, file) and dispatches; everything it knows about
 * resources comes from src/ (rh.h).
 */
#ifndef RHFS_H
#define RHFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sys/types.h>

#include "rh.h"

enum node_type {
	N_ROOT,         /* the mount's root: ~, ^, @, .log */
	N_AT,           /* @: the remote namespace (empty until logged in) */
	N_LOG,          /* .log: recent log lines, refusals among them */
	N_DIR,          /* a store directory: an RNS folder or a resource */
	N_CONFIG,       /* a resource's config.json */
	N_SCRATCH,      /* an editor's temporary file, kept in memory */
};

struct scratch;

struct node {
	fuse_ino_t ino;
	uint64_t nlookup;       /* kernel references */
	unsigned children;      /* nodes naming this one as parent */
	int hashed;             /* reachable by (parent, name) */
	struct node *parent;
	char *name;
	enum node_type type;
	struct rh_store *store; /* N_DIR, N_CONFIG, N_SCRATCH */
	struct scratch *scratch;/* N_SCRATCH */
	unsigned writers;       /* open handles of a config.json not yet stored */
	struct node *ino_next, *name_next;
};

/* An editor's temp file: lives in a store directory until unlinked or
 * renamed onto config.json; never written to the store by itself. */
struct scratch {
	struct rh_store *store;
	char *path;             /* store path of the file */
	struct rh_buf data;
	struct timespec mtime, ctime;
	unsigned mode;
	unsigned refs;          /* the list, nodes and open handles */
	struct scratch *next;
};

struct fs_opts {
	char *local;            /* -o local=DIR: the workdir */
	char *config;           /* -o config=FILE: config.yaml */
	char *builtins;         /* -o builtins=DIR */
	double timeout;         /* -o timeout=SECS: attribute/entry cache */
};

struct fs {
	struct fuse_session *se;
	pthread_mutex_t lock;   /* the node table and the scratch list */
	struct fs_opts opts;
	struct rh_config *config;
	struct rh_store *local, *builtin;
	uid_t uid;
	gid_t gid;
	struct timespec started;
	struct node *root;
	struct node **by_ino, **by_name;
	size_t nbuckets, nnodes;
	fuse_ino_t next_ino;
	struct scratch *scratches;
	struct notifier *notifier;
};

/* An open file. */
struct handle {
	struct node *node;
	struct scratch *scratch;/* an open temp file (held) */
	struct rh_buf buf;      /* config.json, .log: this open's content */
	int flags;
	int dirty;              /* changed since last stored */
	int written;            /* write() has been called on it */
	int refused;            /* the last write was refused */
	int created;            /* this open created the config */
};

static inline struct fs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* node.c: the inode table. Call with fs->lock held. */
void node_init(struct fs *fs);
void node_destroy_all(struct fs *fs);
struct node *node_find(struct fs *fs, fuse_ino_t ino);
struct node *node_lookup(struct fs *fs, struct node *parent,
                         const char *name);
struct node *node_add(struct fs *fs, struct node *parent, const char *name,
                      enum node_type type, struct rh_store *store);
void node_forget(struct fs *fs, struct node *n, uint64_t nlookup);
void node_unhash(struct fs *fs, struct node *n);
void node_move(struct fs *fs, struct node *n, struct node *parent,
               const char *name);
/* The node's store path ("" for a store's root). */
char *node_path(const struct node *n);

/* scratch.c: editors' temp files. Call with fs->lock held. */
struct scratch *scratch_find(struct fs *fs, struct rh_store *s,
                             const char *path);
struct scratch *scratch_new(struct fs *fs, struct rh_store *s,
                            const char *path, unsigned mode);
void scratch_unlink(struct fs *fs, struct scratch *sc);
void scratch_put(struct scratch *sc);
void scratch_rename_dir(struct fs *fs, struct rh_store *s, const char *from,
                        const char *to);
int scratch_list(struct fs *fs, struct rh_store *s, const char *dir,
                 rh_list_cb cb, void *arg);

/* notify.c: kernel cache invalidations, sent from a thread of their own
 * (never from inside a request handler, where they could deadlock). */
int notify_start(struct fs *fs);
void notify_stop(struct fs *fs);
void notify_inode(struct fs *fs, fuse_ino_t ino);
void notify_entry(struct fs *fs, fuse_ino_t parent, const char *name);

/* file-config.c: config.json, validated when stored. */
int config_open(struct fs *fs, struct node *n, int flags, int created,
                struct handle **out);
int config_write(struct fs *fs, struct handle *h, const char *data,
                 size_t len, off_t off);
int config_commit(struct fs *fs, struct handle *h);
int config_truncate(struct fs *fs, struct node *n, off_t size);

/* ops.c */
extern const struct fuse_lowlevel_ops rhfs_ops;

#endif

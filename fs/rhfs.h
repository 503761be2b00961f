/*
 * rhfs.h - the FUSE daemon's own pieces. fs/ resolves a path to
 * (store, resource, file) and dispatches; everything it knows about
 * resources comes from src/ (its headers by concern: base.h, rns.h, ...).
 */
#ifndef RHFS_H
#define RHFS_H

#define FUSE_USE_VERSION 312

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sys/types.h>

#include "secret.h"
#include "base.h"
#include "datastore.h"
#include "rns.h"
#include "link.h"
#include "callspec.h"

struct scratch;
struct handle;
struct fs;
struct node;
struct dirsnap;
struct fs_kind;
struct dhandle;
struct droot;

/* d_ino for entries the kernel has not looked up: not 0, which some
 * programs take for a deleted entry */
#define FUSE_UNKNOWN_INO 0xffffffff

/* What a name in a directory is, as the directory's kind found it. */
/* A watch on a directory of ~ added before its stat (watch.c). */
struct watch_tok {
	int wd;                 /* 0: none */
	uint64_t seq;           /* fs->watch_seq then */
	int blind;              /* the stat found a change it cannot see
	                         * (config.json has other hard links) */
};

struct found {
	const struct fs_kind *kind;
	struct rh_store *store; /* NULL: the directory's */
	struct scratch *sc;     /* an editor's temp file: held */
	int has_attr;           /* st is what the kernel is given (a data
	                         * store's own attributes), but st_ino */
	struct stat st;
	struct watch_tok wt;    /* a store directory of ~: its watch */
};

/*
 * A file kind: everything a node of it does. Every node has one (its
 * kind never changes but by rename, under fs->lock); ops.c resolves an
 * inode to its node and calls the kind. An operation left NULL gets the
 * answer of a file that does not do it (EACCES to read or write, EISDIR
 * to truncate, EPERM or ENOTDIR for a change in a directory).
 *
 * Which kind a name has: the mount's top (dir-root.c), a store directory
 * (dir-store.c), which in a resource asks the rows of its resource type
 * (types.c) for the names beside config.json.
 */
struct fs_kind {
	const char *name;       /* its row's file name, or what it is */
	unsigned mode;          /* permission bits */
	int nonseekable;        /* a stream: offsets mean nothing */
	/* A file. open gets a handle with node, flags, created and fs set;
	 * read and write answer the request themselves, now or later;
	 * release frees what open made (every handle, closed or not). */
	int (*open)(struct fs *fs, struct handle *h, struct rh_err *err);
	void (*read)(fuse_req_t req, struct handle *h, size_t size, off_t off);
	void (*write)(fuse_req_t req, struct handle *h, const char *data,
	              size_t size, off_t off);
	void (*release)(struct handle *h);

	unsigned fmt;           /* S_IFDIR, S_IFLNK; 0: S_IFREG */
	int store_dir;          /* a store directory: its path a store path */
	int store_file;         /* in a store directory, by its name */
	int uncached;           /* changes all the time: no attribute cache */
	int write_errno;        /* opening for write without write: this
	                         * errno (0: EACCES) */
	/* st comes filled with the node's ino, owner and the mount's time;
	 * h is the handle a setattr, a create or (with getattr_fh) an fstat
	 * came through, or NULL. NULL: the mode */
	int (*getattr)(struct fs *fs, struct node *n, struct handle *h,
	               struct stat *st);
	int getattr_fh;         /* an fstat asks the open file's handle */
	/* The cache time of its attributes and entries, in seconds; NULL:
	 * the namespace's (-o timeout, longer for the shared one). */
	double (*ttl)(const struct fs *fs);
	/* chmod, chown, utimes and truncate at once, for a kind that keeps
	 * its own attributes: every check is its own, and st (filled as for
	 * getattr) gets the attributes after; NULL: the generic checks (the
	 * store's modes and times stay), then truncate */
	int (*setattr)(struct fs *fs, struct node *n, struct handle *h,
	               const struct stat *attr, int to_set, struct stat *st);
	/* truncate(2) (h NULL) or ftruncate */
	int (*truncate)(struct fs *fs, struct node *n, struct handle *h,
	                off_t size);
	int (*flush)(struct handle *h);
	/* fsync(2); NULL: flush */
	int (*fsync)(struct handle *h, int datasync);
	/* the last close: instead of handle_free, which it calls */
	void (*close)(struct fs *fs, struct handle *h);
	int (*readlink)(struct fs *fs, struct node *n, char **target);

	/* A node of this kind was just made for f (a lookup, mkdir, create
	 * or a listing's entry), without fs->lock held: it takes what it
	 * needs from its parent, and may give its attributes in f; -errno:
	 * the name is not there after all. */
	int (*attach)(struct fs *fs, struct node *n, struct found *f);

	/* A directory: what a name in it is, and its listing (dirsnap_add,
	 * or dirsnap_add_found with the attributes and kind of each). */
	int (*lookup)(struct fs *fs, struct node *dir, const char *name,
	              struct found *f);
	int (*readdir)(struct fs *fs, struct node *dir, struct dirsnap *d);
	/* Changes in it; the node made is f's. NULL: refuse says why not
	 * (NULL: EPERM). */
	int (*create)(struct fs *fs, struct node *dir, const char *name,
	              mode_t mode, int flags, struct found *f, int *created);
	int (*mkdir)(struct fs *fs, struct node *dir, const char *name,
	             mode_t mode, struct found *f);
	int (*rmdir)(struct fs *fs, struct node *dir, const char *name);
	int (*unlink)(struct fs *fs, struct node *dir, const char *name);
	int (*rename)(struct fs *fs, struct node *sdir, const char *name,
	              struct node *ddir, const char *newname, unsigned flags);
	/* symlink(2), mknod(2) and link(2) (of the file at n) in it; NULL:
	 * EPERM */
	int (*symlink)(struct fs *fs, struct node *dir, const char *name,
	               const char *target, struct found *f);
	int (*mknod)(struct fs *fs, struct node *dir, const char *name,
	             mode_t mode, dev_t rdev, struct found *f);
	int (*link)(struct fs *fs, struct node *n, struct node *dir,
	            const char *name, struct found *f);
	int (*refuse)(const struct fs *fs);

	/* A row's: whether name in the resource at dir is its (a row with
	 * no fixed name, a secret's fields, takes the names it claims; one
	 * with a name may be there only at times, a resource's data), and
	 * the names there are now. The hooks below are asked about every
	 * change in a store directory, and answer 1 when it is none of
	 * their business (then the change goes on as usual), else 0 or
	 * -errno; a name on_create makes is of the kind in f. */
	int (*claims)(struct fs *fs, struct node *dir, const char *name);
	int (*list)(struct fs *fs, struct node *dir, rh_list_cb cb, void *arg);
	int (*on_create)(struct fs *fs, struct node *dir, const char *name,
	                 int flags, struct found *f);
	int (*on_mkdir)(struct fs *fs, struct node *dir, const char *name);
	int (*on_rmdir)(struct fs *fs, struct node *dir, const char *name);
	int (*on_unlink)(struct fs *fs, struct node *dir, const char *name);
	int (*on_rename)(struct fs *fs, struct node *sdir, const char *spath,
	                 const char *name, struct node *ddir,
	                 const char *dpath, const char *newname,
	                 unsigned flags);
	/* a store directory moved, or removed: what the kind keeps for the
	 * resources below it follows */
	void (*on_moved)(struct fs *fs, struct rh_store *s, const char *from,
	                 const char *to);
	void (*on_removed)(struct fs *fs, struct rh_store *s,
	                   const char *path);
	/* the config of the resource at the directory dir was written, or
	 * renamed into place, through this mount */
	void (*on_config)(struct fs *fs, fuse_ino_t dir);
};

/* A name the kernel knows. Its fields are guarded by fs->lock but where
 * said: ino and store are set when it is made and never change. */
struct node {
	fuse_ino_t ino;         /* fixed */
	uint64_t nlookup;       /* kernel references */
	unsigned children;      /* nodes naming this one as parent */
	int hashed;             /* reachable by (parent, name) */
	struct node *parent;    /* node_move changes it */
	char *name;             /* node_move frees it: node_dir_path and
	                         * node_name copy it under the lock */
	const struct fs_kind *kind;     /* rename may change it */
	struct rh_store *store; /* fixed; NULL above the stores */
	struct scratch *scratch;/* an editor's temp file's (held) */
	unsigned writers;       /* config.json: handles of it not yet stored */
	struct handle *configs; /* config.json: its open handles */
	struct rh_buf cfg;      /* config.json: the bytes last read from the
	                         * store, at version cfg_ver (0: none) */
	uint64_t cfg_ver;
	char *gone_type;        /* a store directory: the type its
	                         * config.json had, just removed; bits: */
	unsigned gone;          /* its names not yet unlinked (dir-store.c) */
	struct droot *droot;    /* data: its data tree (data.c) */
	struct dhandle *dhandles;       /* data: open here */
	int seen;               /* data: the size and mtime last seen */
	off_t seen_size;
	struct timespec seen_mtime;
	ino_t seen_ver;         /* and its version (st_ino; 0: none) */
	int wd;                 /* watch.c: its directory's watch (0: none) */
	int watched;            /* ... in place since before what the
	                         * kernel holds was read */
	int64_t held_until;     /* the kernel holds its entry and attributes
	                         * until then at least (rh_now_ms; 0: it may
	                         * not): set by the replies that give both,
	                         * cleared by an invalidation (fs->lock) */
	struct node *ino_next, *name_next;
};

/* An editor's temp file: lives in a store directory until unlinked or
 * renamed onto config.json; never written to the store by itself. */
struct scratch {
	struct rh_store *store; /* fixed */
	char *path;             /* store path of the file (fs->lock) */
	struct rh_buf data;     /* fs->lock, as all below */
	struct timespec mtime, ctime;
	unsigned mode;
	unsigned refs;          /* the list, nodes and open handles */
	struct scratch *next;
};

struct fs_opts {
	char *local;            /* -o local=DIR: the workdir */
	char *config;           /* -o config=FILE: config.yaml */
	char *builtins;         /* -o builtins=DIR */
	char *rhagent;          /* -o rhagent=FILE: the agent to run */
	char *known_hosts;      /* -o known_hosts=FILE */
	double timeout;         /* -o timeout=SECS: attribute/entry cache */
	double data_timeout;    /* -o data_timeout=SECS: the same in data/ */
	double io_timeout;      /* -o io_timeout=SECS: a data store's request */
	double connect_timeout; /* -o connect_timeout=SECS */
	double launch_timeout;  /* -o launch_timeout=SECS: on-demand */
	int replace;            /* -o replace: unmount a running rhfs first */
};

/* All of rhfs's state: the FUSE session's userdata. Fields without a
 * lock are set before the session runs and only read after. */
struct fs {
	struct fuse_session *se;
	pthread_mutex_t lock;   /* the node table (every node's fields), the
	                         * scratch list and the scratches */
	struct fs_opts opts;
	struct rh_config *config;
	struct rh_store *local, *builtin;
	struct rh_remote *remote;       /* the shared namespace, logged in */
	uid_t uid;
	gid_t gid;
	size_t mount_len;       /* of the mountpoint's absolute path */
	struct timespec started;
	struct node *root;      /* lock: the table, from here to scratches */
	struct node **by_ino, **by_name;
	size_t nbuckets, nnodes;
	fuse_ino_t next_ino;
	struct scratch *scratches;
	struct notifier *notifier;      /* notify.c: its own lock */
	struct watcher *watcher;        /* watch.c: lock; NULL: not watched */
	uint64_t watch_seq;             /* changes taken (atomic) */
	pthread_mutex_t links_lock;
	struct rh_links *links; /* links_lock; made on first use */
	pthread_mutex_t kept_lock;
	struct kept_cfg *kept;  /* kept_lock: res_at's parsed configs */
	pthread_mutex_t secrets_lock;
	struct rh_secret_remote *secrets;       /* secrets_lock: the shared
	                         * namespace's secret values (secret.c), a
	                         * client made on first use */
	pthread_mutex_t prep_lock;      /* send-setup.c: the list below */
	pthread_cond_t prep_cond;       /* a send's setup ended */
	int prep_stop;                  /* rhfs stops: setups end */
	struct send_prepared *prepared; /* what was done, per connection */
	struct clusters *clusters;      /* cluster-kind.c: its own lock */
	struct ondemands *ondemand;     /* cluster-ondemand.c: its own lock */
	struct rh_data_opts data_opts;  /* what data stores are opened with */
	struct helds *held;             /* calls-held.c */
	struct slurms *slurm;           /* cluster-slurm.c: its own lock */
};

/* An open file: used by one request at a time but for the fields its
 * kind guards itself (priv); node->configs is fs->lock's. */
struct handle {
	int dir;                /* 0 (struct dirsnap begins with 1): what an
	                         * fi->fh is, where both can come */
	struct node *node;
	const struct fs_kind *kind;     /* the node's at open: what this
	                         * handle does, whatever a rename makes of
	                         * the node since */
	struct scratch *scratch;/* an open temp file (held) */
	struct rh_buf buf;      /* config.json, .log: this open's content */
	int flags;
	int dirty;              /* changed since last stored */
	int written;            /* write() has been called on it */
	int refused;            /* the last write was refused */
	int created;            /* this open created the config */
	uint64_t version;       /* config.json: the store's version it was
	                         * read at, which a store must still have */
	struct handle *next_config;     /* in node->configs */
	int listed;             /* in node->configs */
	struct fs *fs;
	void *priv;             /* the file's own state */
	int stage;              /* the file's own reading stage (calls.c:
	                         * enum call_stage), 0 at open */
	mode_t mode;            /* create(2)'s mode, for its open */
	int direct_io;          /* set by open: 1 at first */
	int keep_cache;         /* set by open: 0 at first */
	int noflush;            /* set by open: 0 at first */
};

static inline struct fs *
fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* node.c: the inode table. Call with fs->lock held, but the two that
 * take it themselves (node_dir_path, node_name). */
void node_init(struct fs *fs);
void node_destroy_all(struct fs *fs);
struct node *node_find(struct fs *fs, fuse_ino_t ino);
/* node_find, taking fs->lock itself */
struct node *node_get(struct fs *fs, fuse_ino_t ino);
/* The names from n up to its nearest ancestor whose parent is not
 * below(), '/'-separated. */
char *node_names(const struct node *n,
                 int (*below)(const struct node *dir));
/* The kernel's dentry for name in dir is gone: so is our (dir, name)
 * link. Takes fs->lock itself. */
void node_forget_name(struct fs *fs, struct node *dir, const char *name);
struct node *node_lookup(struct fs *fs, struct node *parent,
                         const char *name);
struct node *node_add(struct fs *fs, struct node *parent, const char *name,
                      const struct fs_kind *kind, struct rh_store *store);
void node_forget(struct fs *fs, struct node *n, uint64_t nlookup);
void node_unhash(struct fs *fs, struct node *n);
void node_move(struct fs *fs, struct node *n, struct node *parent,
               const char *name);
/* The store path of n's directory: n if a store directory, else its
 * nearest store-directory ancestor ("" where there is none). Takes
 * fs->lock itself: call it WITHOUT the lock held. */
char *node_dir_path(struct fs *fs, const struct node *n);
/* A copy of n's name, taken under fs->lock (call it without). */
char *node_name(struct fs *fs, const struct node *n);

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
/* An editor's temp file, kept in memory (node->scratch). */
extern const struct fs_kind kind_scratch;

/* notify.c: kernel cache invalidations, sent from a thread of their own
 * (never from inside a request handler, where they could deadlock);
 * notify_attrs_now drops only an inode's attributes, which is safe from a
 * handler and done before it replies. */
int notify_start(struct fs *fs);
void notify_stop(struct fs *fs);
void notify_inode(struct fs *fs, fuse_ino_t ino);
void notify_entry(struct fs *fs, fuse_ino_t parent, const char *name);
void notify_attrs_now(struct fs *fs, fuse_ino_t ino);

/* watch.c: ~'s folders and resources watched on the disk (nothing is
 * when ~ is on a network file system or -o timeout is 0). */
void watch_start(struct fs *fs);
void watch_stop(struct fs *fs);
/* Before the stat of the directory at store path of s (~ only): its
 * watch, in t. */
void watch_begin(struct fs *fs, const struct rh_store *s, const char *path,
                 struct watch_tok *t);
/* fs->lock held: whether n's directory is watched already (it stays so
 * while it exists), with t what watch_begin would give (the change count
 * and n's watch read together: so is a directory gone since). */
int watch_have(struct fs *fs, const struct node *n, struct watch_tok *t);
/* fs->lock held: n, the node of what t watches, is watched if nothing
 * changed since t was taken and t is not blind (its events still drop
 * what the kernel holds of n). */
void watch_set(struct fs *fs, struct node *n, const struct watch_tok *t);
/* fs->lock held: n is forgotten. */
void watch_node_gone(struct fs *fs, struct node *n);
/* Whether the kernel may keep n's entry and attributes for
 * WATCHED_CACHE_SECS: what it holds is dropped when the disk changes. */
int watch_holds(const struct fs *fs, const struct node *n);
/* Cache time of what watch_holds: until the disk changes. The watch
 * sees every change of a directory, and of a config.json without other
 * hard links (one with them is not held: a write through another link
 * is not an event of its directory); a day bounds what a change it
 * could still miss leaves stale. */
#define WATCHED_CACHE_SECS 86400.0

/* ops.c: the FUSE operations, and what kinds share of them */
extern const struct fuse_lowlevel_ops ns_ops;
/* Reply to a lookup with n's entry (attributes st, cached ttl seconds),
 * counting the kernel's new reference. */
void reply_node(fuse_req_t req, struct fs *fs, struct node *n,
                const struct stat *st, double ttl);

/* data.c: a folder's and table's data/ (kind_data_dir, a row of folder
 * and table), a blob's data (kind_data_blob, a row of blob) and what is
 * below data/ (kind_data), over the resource's data store. */
extern const struct fs_kind kind_data_dir;
extern const struct fs_kind kind_data_blob;
extern const struct fs_kind kind_data;
/* A node freed: its hold on its data tree goes (fs->lock held). */
void data_node_drop(struct node *n);
/* Replies with a copy of b's bytes at off. */
void reply_slice(fuse_req_t req, const struct rh_buf *b, size_t size,
                 off_t off);
/* The read of a file whose content its open put in h->buf. */
void read_open_buf(fuse_req_t req, struct handle *h, size_t size, off_t off);
/* Ends a handle: its kind's release, then what it held. */
void handle_free(struct fs *fs, struct handle *h);
/* Whether h holds a change to store: not when clean, nor after a refused
 * write (the writer heard why at that write; its change is dropped). */
int handle_to_store(struct handle *h);
/* The truncate of a stream (invoke, ctl...): to 0 is O_TRUNC's no-op
 * (dd does it), anything else refused. */
int stream_truncate(struct fs *fs, struct node *n, struct handle *h,
                    off_t size);
/* A directory listing, taken whole at opendir. */
void dirsnap_add(struct dirsnap *d, const char *name, unsigned fmt);
/* An entry with its attributes (f->has_attr) and the kind of its node,
 * made when readdirplus gives it. */
void dirsnap_add_found(struct dirsnap *d, const char *name,
                       const struct found *f);
/* What a node of kind k starts as, but its ino: the mounter's, the
 * mount's start time, k's format and mode. */
void kind_attr(struct fs *fs, const struct fs_kind *k, struct stat *st);
/* Attributes as the kernel is given them: ino, a kind's base mode and
 * times, then the kind's getattr. */
int node_attr(struct fs *fs, struct node *n, struct handle *h,
              struct stat *st);
/* What a setattr may not change in a kind without setattr of its own:
 * the store's owner (a readonly store refuses any). */
int setattr_allowed(struct fs *fs, struct node *n, const struct stat *attr,
                    int to_set);
/* An rh_list_cb adding to the dirsnap arg (RH_ABSENT: a file). */
int dirsnap_cb(void *arg, const char *name, enum rh_kind kind);
/* The name check every creating operation makes: the reason is logged. */
int check_name(const struct node *parent, const char *name);

/* dir-root.c: the mount's root (~, ^, @, .log, the shared top folders) */
extern const struct fs_kind kind_root;

/* dir-store.c: a store directory: a folder, or a resource with its
 * config.json and the files its type shows */
extern const struct fs_kind kind_store_dir;
/* Whether name is one a resource's config.json, just removed, took
 * along (rm -r goes on with it). */
int store_is_gone(struct fs *fs, struct node *dir, const char *name);
/* file-config.c: config.json, validated when stored */
extern const struct fs_kind kind_config;
/* A namespace's root (~) holds folders and resources; it is not one. */
int root_config(const struct node *dir, const char *path);

/* types.c: the files each resource type shows beside its config.json, one
 * row per (type, name), and the resource and agent those files act on. */
/* The kind of name in the resource at dir, or NULL. */
const struct fs_kind *types_lookup(struct fs *fs, struct node *dir,
                                   const char *name);
/* The kind of a named row of type (with no resource to ask), or NULL. */
const struct fs_kind *types_row(const char *type, const char *name);
/* Names of a type's rows, for listings (NULL-ended; at most 32). */
size_t types_names(const char *type, const char *names[33]);
/* A resource's listing: the names its rows' list gives (a secret's
 * fields, its data), in the order of the rows. */
int types_list(struct fs *fs, struct node *dir, const char *type,
               struct dirsnap *d);
/* The hooks of the rows (fs_kind's on_*), each hook once: 1 when none
 * cared; a name created by one is of the kind it put in f. */
int types_on_create(struct fs *fs, struct node *dir, const char *name,
                    int flags, struct found *f);
int types_on_mkdir(struct fs *fs, struct node *dir, const char *name);
int types_on_rmdir(struct fs *fs, struct node *dir, const char *name);
int types_on_unlink(struct fs *fs, struct node *dir, const char *name);
int types_on_rename(struct fs *fs, struct node *sdir, const char *spath,
                    const char *name, struct node *ddir, const char *dpath,
                    const char *newname, unsigned flags);
void types_on_moved(struct fs *fs, struct rh_store *s, const char *from,
                    const char *to);
void types_on_removed(struct fs *fs, struct rh_store *s, const char *path);
void types_on_config(struct fs *fs, fuse_ino_t dir);
/* The address of the store directory dir, or of the one a file dir is
 * in (~/a, ^local, /top/a), and its store path in *path if path is not
 * NULL. Takes fs->lock. */
char *res_address(struct fs *fs, struct node *dir, char **path);
/* The resource at dir: its address and parsed config (or -ENOENT). */
int res_load(struct fs *fs, struct node *dir, char **addr,
             struct cJSON **cfg, struct rh_err *err);
/* The resource_type of the resource at dir, or NULL. */
char *res_type(struct fs *fs, struct node *dir);
/* The config of the resource at an address (~/..., ^...). */
/* res_at's configs kept, freed (at unmount). */
void res_kept_free(struct fs *fs);
int res_at(struct fs *fs, const char *addr, struct cJSON **cfg,
           struct rh_err *err);
/* Which link res_agent uses for it: equal keys, same node (NULL: none). */
char *res_link_key(const char *addr, const struct cJSON *cfg);
/* The agent that serves the resource at addr (a cluster, or a send's
 * hardware). */
int res_agent(struct fs *fs, const char *addr, const struct cJSON *cfg,
              struct rh_rpc **rpc, struct rh_err *err);
/* The cluster a resource runs on (itself, or a send's hardware): its
 * address and config. */
int res_cluster_of(struct fs *fs, const char *addr,
                   const struct cJSON *cfg, char **caddr,
                   struct cJSON **ccfg, struct rh_err *err);
/* The config of the cluster at addr, for the data stores
 * (rh_data_opts.cluster; arg is the fs). */
int res_data_cluster(void *arg, const char *addr, struct cJSON **cfg,
                     struct rh_err *err);
/* The mount's links to agents, made on first use. */
int res_links(struct fs *fs, struct rh_links **out, struct rh_err *err);

/* remote.c: the shared namespace (tops beside ~ and ^, @). */
int remote_open(struct fs *fs);
void remote_close(struct fs *fs);
const char *remote_user(const struct fs *fs);
/* The store of the top folder name, or NULL (*err why; err may be NULL). */
struct rh_store *remote_top(struct fs *fs, const char *name, int *err);
void remote_list_tops(struct fs *fs, rh_list_cb cb, void *arg);
/* An address of the shared namespace (/top/a/b, @/a/b): its store and the
 * path in it (pointing into addr). */
int remote_addr(struct fs *fs, const char *addr, struct rh_store **s,
                const char **path, struct rh_err *err);
/* @: a symlink to the user's top folder; until logged in a directory
 * with a README saying how to log in, where creating is refused (-EPERM)
 * with that reason logged. */
extern const struct fs_kind kind_at;
/* Attribute and entry cache time of the shared namespace's nodes: long,
 * since the watch drops what changed. */
#define REMOTE_CACHE_SECS 30.0

/* dir-versions.c: a shared resource's versions/ (a row of every type in
 * the shared namespace, not listed) and versions/N */
extern const struct fs_kind kind_versions;

/* parked.c: a read parked until an agent answers, shared by the reader
 * and the agent's callbacks. First member of what holds it, so that
 * parked_interrupted (a fuse_req_interrupt_func) gets it as arg. */
struct parked {
	pthread_mutex_t lock;
	int answered;           /* the request has its reply */
	int refs;               /* holders; the last frees what holds it */
};
void parked_init(struct parked *p);     /* one holder: the caller */
void parked_hold(struct parked *p);
/* 1: that was the last holder: free what holds p. */
int parked_release(struct parked *p);
/* 1: the caller is first, and replies to the request. */
int parked_claim(struct parked *p);
int parked_answered(struct parked *p);
/* Ctrl-C: EINTR, unless the answer came first. */
void parked_interrupted(fuse_req_t req, void *arg);
/* Answer req with the bytes of ask's reply ("data" or "data_b64"), the
 * request to rpc of an "output" or "log" long poll. A reply without
 * bytes that is not at the end ("eof") asks again while the reader waits
 * when again is set, else gives EAGAIN. Takes ask. */
void parked_poll(fuse_req_t req, struct rh_rpc *rpc, struct cJSON *ask,
                 int again);

/* file-invoke.c: a file that runs calls (a send's invoke, a cluster's
 * run): a write submits, reads give the answers in the order submitted.
 * What differs between them: */
struct invoke;
struct rh_call_record;
struct call_stream {
	/* the call specs of a write (all or nothing) */
	int (*parse)(const char *addr, const char *data, size_t size,
	             struct cJSON **specs, struct rh_err *err);
	int (*check)(struct invoke *inv, struct rh_err *err);  /* may be NULL */
	struct cJSON *(*request)(struct invoke *inv, const struct cJSON *spec);
	/* a call's line from its record (NULL when err: it has none) */
	void (*answer)(struct rh_buf *out, int err,
	               const struct rh_call_record *rec);
	/* the $refs and $data of parsed specs (may be NULL); 1: some
	 * $data waits for the agent, put in by late (on the specs, or on
	 * a request held while the cluster was launched) once it answers */
	int (*refs)(struct invoke *inv, struct cJSON *specs,
	            struct rh_err *err);
	int (*late)(struct invoke *inv, struct cJSON *v, struct rh_err *err);
	/* the calls' environment, read at each write (may be NULL) */
	int (*env)(struct invoke *inv, struct cJSON **env, struct rh_err *err);
	/* before the first call on a connection (may be NULL) */
	int (*prepare)(struct invoke *inv, fuse_req_t req,
	               struct cJSON **extra, struct rh_err *err);
	int lines;              /* a write may end inside a line */
	/* not 0: the writes up to a read, fsync or close are one program,
	 * of at most this many bytes (parse gets it whole) */
	unsigned whole;
};
/* The kernel hands rhfs a long write(2) in pieces of (nearly) max_write
 * bytes, 128 KiB or more, none smaller than this but the last, and stops
 * at the first piece refused. */
#define WRITE_PIECE_MIN (120u * 1024)
int call_stream_open(struct fs *fs, struct handle *h,
                     const struct call_stream *cs, struct rh_err *err);
void call_stream_read(fuse_req_t req, struct handle *h, size_t size,
                      off_t off);
void call_stream_write(fuse_req_t req, struct handle *h, const char *data,
                       size_t size, off_t off);
void call_stream_release(struct handle *h);
/* A cluster's own call files' prepare: its default_env made on the node
 * before the first call, each call run in it. */
int invoke_cluster_prepare(struct invoke *inv, fuse_req_t req,
                           struct cJSON **extra, struct rh_err *err);
/* Its check at each write: that default_env can be used. */
int invoke_cluster_check(struct invoke *inv, struct rh_err *err);
/* A whole kind's flush and fsync: its program submitted. */
int call_stream_flush(struct handle *h);
/* The address of the resource whose file it is. */
const char *invoke_addr(const struct invoke *inv);
extern const struct fs_kind kind_invoke;
/* file-run.c */
extern const struct fs_kind kind_run;
extern const struct fs_kind kind_python;
/* The call specs of an invoke write's whole lines, into the array *out;
 * all or nothing (file-invoke.c). */
int invoke_parse_lines(const char *addr, const char *data, size_t size,
                       struct cJSON **out, struct rh_err *err);
/* data-args.c: {"$data": ADDR} among a call's args and kwargs, put in
 * by rhfs: the path of the data where the call runs (on the send's own
 * cluster, or this machine's for ^local) or its s3:// URL. */
struct data_args {
	struct fs *fs;
	const char *send;               /* the send's address, for messages */
	const struct cJSON *cfg;        /* and its config */
	char *caddr;                    /* its cluster, once looked up */
	struct cJSON *ccfg;
	int local;                      /* that cluster is this machine */
	struct rh_rpc *rpc;             /* its agent, to ask the node's home
	                                 * (NULL: not reached yet) */
	char *home;                     /* the node's, once known */
	size_t later;                   /* $data left until the home is */
};
/* The form of each $data below v ({"$data": "<address>"} alone; "^/x"
 * becomes "^x"): EINVAL naming the send's invoke and line otherwise. */
int data_args_form(struct cJSON *v, const char *addr, size_t lineno,
                   struct rh_err *err);
void data_args_init(struct data_args *da, struct fs *fs, const char *send,
                    const struct cJSON *cfg);
void data_args_free(struct data_args *da);
/* Each $data of a spec's (or request's) args and kwargs replaced by its
 * value; one that needs the node's home while da->rpc is NULL is left
 * and counted in da->later. EINVAL naming the send, the $data and the
 * cause for data that cannot be passed (nothing replaced is undone: the
 * caller drops the spec). */
int data_args_resolve(struct data_args *da, struct cJSON *spec,
                      struct rh_err *err);
/* file-errors.c: every resource's errors (but a secret's, whose files
 * are its fields): the log's recent lines naming it */
extern const struct fs_kind kind_errors;
/* cluster.c, cluster-ctl.c, cluster-log.c: a cluster's status, ctl (up,
 * down, restart, autostop) and log (its agent's, followed) */
extern const struct fs_kind kind_status;
extern const struct fs_kind kind_cluster_ctl;
extern const struct fs_kind kind_cluster_log;
/* A BYO cluster: ips to reach (an on-demand one has none: SkyPilot
 * records where it is). */
int cluster_has_ips(const struct cJSON *cfg);
/* cluster.c: what status says of a cluster's agent (state, agent or
 * error), and, for a cluster of several nodes (its ips, or an on-demand
 * one's as SkyPilot records them), of each node (nodes). */
void cluster_probe_agent(struct fs *fs, const char *addr,
                         const struct cJSON *cfg, struct cJSON *out);
void cluster_probe_nodes(struct fs *fs, const char *addr,
                         const struct cJSON *cfg, struct cJSON *out);

/* cluster-kind.c: what rhfs does for a cluster beyond reaching its agent,
 * by kind: one row each, in the kind's own file (cluster.c: BYO and
 * ^local; cluster-ondemand.c; cluster-slurm.c), matching the link layer's
 * row (src/link/kind.c). A hook left NULL is a BYO cluster's way.
 * Adding a kind: its row in its file, and in cluster-kind.c's table. */
struct fs_cluster {
	const struct rh_cluster_kind *link;     /* the link layer's row */
	/* its state in fs, made at start; stop ends its waits (they return
	 * an error) and joins its threads; free after stop */
	void (*init)(struct fs *fs);
	void (*stop)(struct fs *fs);
	void (*free)(struct fs *fs);
	/* whether its agent is there to reach now (NULL: it has ips) */
	int (*reachable)(struct fs *fs, const char *addr);
	/* calls on the cluster at caddr (config ccfg): 0 when they go to its
	 * agent now; 1 when they are held until it is up (the bring-up is
	 * started, or joined: *ticket for wait, 0 for none); or -errno.
	 * wait waits (bounded by launch_timeout) for the bring-up: 0, or
	 * -errno and the kind's reason. */
	int (*begin)(struct fs *fs, const char *caddr, const struct cJSON *ccfg,
	             unsigned *ticket, struct rh_err *err);
	int (*wait)(struct fs *fs, const char *caddr, const struct cJSON *ccfg,
	            unsigned ticket, struct rh_err *err);
	/* whether calls on the resource at addr (a send, or a cluster) go
	 * through begin again, although its agent is linked */
	int (*stale)(struct fs *fs, const char *addr, const struct cJSON *cfg);
	/* a held call's record (rec): what it waits for; 0 when the kind
	 * has no cluster at caddr */
	int (*waiting)(struct fs *fs, const char *caddr, struct cJSON *rec);
	/* ctl's verb (up, down, restart, autostop MINS, stop): 1 when done
	 * (a line for out); 0 when the agent's way goes on (up reaches the
	 * agent, down stops it, autostop records the minutes in the config
	 * and tells the agent) */
	int (*ctl)(struct fs *fs, const char *addr, const struct cJSON *cfg,
	           const char *verb, int mins, fuse_req_t req,
	           struct rh_buf *out, struct rh_err *err);
	/* autostop is the kind's own (ctl), not its agent's */
	unsigned autostop_own : 1;
	/* a builtin's autostop (its config read-only) is ctl's alone */
	unsigned autostop_builtin : 1;
	/* status's fields: state, and what the kind says */
	void (*status)(struct fs *fs, const char *addr,
	               const struct cJSON *cfg, struct cJSON *out);
};
extern const struct fs_cluster fs_cluster_byo;
extern const struct fs_cluster fs_cluster_ondemand;
extern const struct fs_cluster fs_cluster_slurm;
/* The row of the cluster at addr, config cfg. */
const struct fs_cluster *cluster_kind(const char *addr,
                                      const struct cJSON *cfg);
/* Every kind's state, made, stopped (before the agents' connections:
 * waits end, and the threads holding calls with them) and freed. */
void clusters_init(struct fs *fs);
void clusters_stop(struct fs *fs);
void clusters_free(struct fs *fs);
/* The cluster a resource runs on (itself, or a send's hardware), by its
 * row's begin and wait: begin's 1 gives its address in *cluster. */
int cluster_begin(struct fs *fs, const char *addr, const struct cJSON *cfg,
                  char **cluster, unsigned *ticket, struct rh_err *err);
int cluster_wait(struct fs *fs, const char *addr, const struct cJSON *cfg,
                 unsigned ticket, struct rh_err *err);
/* Whether calls on the resource at addr must go through cluster_begin
 * although its agent is linked (a Slurm cluster whose job ended). */
int cluster_stale(struct fs *fs, const char *addr, const struct cJSON *cfg);
/* Whether the cluster's agent is there to reach now. */
int cluster_reachable(struct fs *fs, const char *addr,
                      const struct cJSON *cfg);
/* A held call's record: what its cluster (caddr) is waiting for. */
void cluster_waiting(struct fs *fs, const char *caddr, struct cJSON *rec);
/* Threads that hold calls until their cluster is up count themselves in
 * and out: clusters_stop waits for them. */
void clusters_hold(struct fs *fs);
void clusters_release(struct fs *fs);

/* cluster-ondemand.c: on-demand clusters through SkyPilot, one sky
 * command at a time per cluster, in a thread; waits end with -EINTR when
 * req (if not NULL) is interrupted, and the command goes on. Its row is
 * fs_cluster_ondemand. */
/* cluster-slurm.c: a Slurm cluster's allocation, one job watched by a
 * thread per cluster. Its row is fs_cluster_slurm: begin submits a job if
 * there is none, and holds the calls while it is submitted or pending;
 * wait waits, bounded by launch_timeout, until it runs (0) or ends or
 * cannot be had (-errno, with Slurm's reason); stale: its job does not
 * run now; ctl: up submits (returns once submitted), down cancels
 * (returns once Slurm says it ended), restart is both, stop is refused,
 * autostop is recorded in the config and kept by the job's watcher. */
/* The id of the Slurm cluster's job while it runs (free it), or NULL:
 * the job a call's own job step runs in. */
char *slurm_job(struct fs *fs, const char *addr);
/* calls-held.c: calls written while their on-demand cluster is launched,
 * held with a calls/ID of their own until it is up (then sent to the
 * agent, which keeps the id), or failed. Made and freed with ondemand's
 * state. */
struct held;
void held_init(struct fs *fs);
void held_free(struct fs *fs);
/* A held call of send for req (its request); cancelled(arg, h) answers
 * for it when a cancel comes while it waits. */
struct held *held_add(struct fs *fs, const char *send, const char *cluster,
                      const struct cJSON *req,
                      void (*cancelled)(void *arg, struct held *h),
                      void *arg);
const char *held_id(const struct held *h);
/* Before sending it: -ECANCELED when it was cancelled meanwhile. */
int held_take(struct fs *fs, struct held *h);
/* The node accepted it as real; or it failed before reaching it. */
void held_sent(struct fs *fs, struct held *h, const char *real);
void held_failed(struct fs *fs, struct held *h, const char *reason);
/* Its sending has ended (or timed out: then it is taken as sent): the
 * readers waiting for it go on. h may be gone after this. Not from an
 * agent's I/O thread (the readers go to the agent). */
void held_done(struct fs *fs, struct held *h);
/* calls/ID/ctl's cancel of a held call: 0 (or it had ended), -ENOENT
 * (not held, or sent: the agent's to cancel), -EAGAIN (being sent). */
int held_cancel(struct fs *fs, const char *send, const char *id);
/* What is held of send's call id: HELD_NONE, HELD_WAITING (fn(arg) is
 * called once, when that ends), HELD_ENDED (failed or cancelled before it
 * was sent), HELD_SENT (*real: the id the node knows it by). */
enum { HELD_NONE, HELD_WAITING, HELD_ENDED, HELD_SENT };
int held_lookup(struct fs *fs, const char *send, const char *id, char **real,
                void (*fn)(void *arg), void *arg);
/* A held call not sent as the agent describes its calls (its record,
 * with its spec when asked), or NULL. */
struct cJSON *held_record(struct fs *fs, const char *send, const char *id,
                          int spec);
/* send's held calls not sent, to cb; *latest the newest id of them and
 * *latest's before; *any: one or more. */
void held_list(struct fs *fs, const char *send, rh_list_cb cb, void *arg,
               char **latest, int *any);
/* send-setup.c: before a send's first call on a connection, its env
 * looked up, its reqs (and its env's) synced to the node, its packages
 * installed and its setup_cmds run once. *extra: what each of its call
 * requests gets (venv: the virtualenv its calls run in, relative to the
 * node's home; env: its env's env_vars; cwd: its working_dir), or NULL.
 * The wait ends with -EINTR when req (if not NULL) is interrupted; the
 * work goes on. */
int send_prepare(struct fs *fs, const char *addr, const struct cJSON *cfg,
                 struct rh_rpc *rpc, fuse_req_t req, struct cJSON **extra,
                 struct rh_err *err);
/* The same for a cluster's run and python files: the env its config's
 * default_env names (or holds), made as a send's env is. */
int cluster_env_prepare(struct fs *fs, const char *addr,
                        const struct cJSON *cfg, struct rh_rpc *rpc,
                        fuse_req_t req, struct cJSON **extra,
                        struct rh_err *err);
/* The env a send's config names (or holds) can be used: 0, or the
 * reason naming the send and the env. */
int send_env_check(struct fs *fs, const char *addr, const struct cJSON *cfg,
                   struct rh_err *err);
/* The same for a cluster's default_env. */
int cluster_env_check(struct fs *fs, const char *addr,
                      const struct cJSON *cfg, struct rh_err *err);
/* Ends the work still running; before the agents' connections go. */
void send_prepare_stop(struct fs *fs);
void send_prepared_free(struct fs *fs);

/* calls.c: a send's calls/ (a row of send), calls/ID/ and its files,
 * calls/latest */
extern const struct fs_kind kind_calls;
/* Fetch a call's whole stdout into `into` by parts, asynchronously; then
 * done(arg, 0), or -EFBIG past max bytes, or -errno. */
void calls_fetch(struct rh_rpc *rpc, const char *id, size_t max,
                 struct rh_buf *into, void (*done)(void *arg, int err),
                 void *arg);

/* secret.c: a secret's fields as files (a row of secret: the names its
 * config lists), and the hooks that keep values with their fields. */
extern const struct fs_kind kind_secret_field;
/* The values of the secrets a send's config names ("secrets"), as
 * environment variables {NAME: VALUE} in *env (NULL when none); err names
 * the send and the secret, never a value. secret_env_free wipes them. */
int secret_env(struct fs *fs, const char *send, const struct cJSON *cfg,
               struct cJSON **env, struct rh_err *err);
void secret_env_cleanse(struct cJSON *v);
void secret_env_free(struct cJSON *env);
/* The client of the shared namespace's secret values, at rhfs's end. */
void secret_values_free(struct fs *fs);

#endif

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

#include "base.h"
#include "rns.h"
#include "link.h"

enum node_type {
	N_ROOT,         /* the mount's root: ~, ^, @, .log */
	N_AT,           /* @: the remote namespace (empty until logged in) */
	N_LOG,          /* .log: recent log lines, refusals among them */
	N_DIR,          /* a store directory: an RNS folder or a resource */
	N_CONFIG,       /* a resource's config.json */
	N_SCRATCH,      /* an editor's temporary file, kept in memory */
	N_FILE,         /* a file its resource type shows (invoke, status) */
	N_CALLS,        /* a send's calls/ */
	N_CALL,         /* calls/ID/ */
	N_LATEST,       /* calls/latest, a symlink to the newest call */
	N_VERSIONS,     /* a shared resource's versions/ (remote.c) */
	N_VERSION,      /* versions/N: that version's config, read-only */
};

struct scratch;
struct handle;
struct fs;

/* A file a resource type shows beside config.json, or one of a call's.
 * read and write answer the request themselves, now or later. */
struct fs_file {
	const char *name;
	unsigned mode;          /* permission bits */
	int nonseekable;        /* a stream: offsets mean nothing */
	int (*open)(struct fs *fs, struct handle *h, struct rh_err *err);
	void (*read)(fuse_req_t req, struct handle *h, size_t size, off_t off);
	void (*write)(fuse_req_t req, struct handle *h, const char *data,
	              size_t size, off_t off);
	void (*release)(struct handle *h);
};

struct node {
	fuse_ino_t ino;
	uint64_t nlookup;       /* kernel references */
	unsigned children;      /* nodes naming this one as parent */
	int hashed;             /* reachable by (parent, name) */
	struct node *parent;    /* protected by fs->lock (node_move) */
	char *name;             /* protected by fs->lock (node_move) */
	enum node_type type;
	struct rh_store *store; /* N_DIR, N_CONFIG, N_SCRATCH */
	struct scratch *scratch;/* N_SCRATCH */
	const struct fs_file *file; /* N_FILE */
	unsigned writers;       /* open handles of a config.json not yet stored */
	struct handle *configs; /* N_CONFIG: its open handles (fs->lock) */
	char *gone_type;        /* N_DIR: the type its config.json had, just */
	unsigned gone;          /* removed; bits: its names not yet unlinked */
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
	char *rhagent;          /* -o rhagent=FILE: the agent to run */
	char *known_hosts;      /* -o known_hosts=FILE */
	double timeout;         /* -o timeout=SECS: attribute/entry cache */
	double connect_timeout; /* -o connect_timeout=SECS */
	double launch_timeout;  /* -o launch_timeout=SECS: on-demand */
	int replace;            /* -o replace: unmount a running rhfs first */
};

struct fs {
	struct fuse_session *se;
	pthread_mutex_t lock;   /* the node table and the scratch list */
	struct fs_opts opts;
	struct rh_config *config;
	struct rh_store *local, *builtin;
	struct rh_remote *remote;       /* the shared namespace, logged in */
	uid_t uid;
	gid_t gid;
	size_t mount_len;       /* of the mountpoint's absolute path */
	struct timespec started;
	struct node *root;
	struct node **by_ino, **by_name;
	size_t nbuckets, nnodes;
	fuse_ino_t next_ino;
	struct scratch *scratches;
	struct notifier *notifier;
	pthread_mutex_t links_lock;
	struct rh_links *links; /* made on first use */
	pthread_mutex_t prep_lock;      /* send-setup.c: the list below */
	pthread_cond_t prep_cond;       /* a send's setup ended */
	int prep_stop;                  /* rhfs stops: setups end */
	struct send_prepared *prepared; /* what was done, per connection */
	struct ondemands *ondemand;     /* cluster-ondemand.c */
	struct helds *held;             /* calls-held.c */
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
	uint64_t version;       /* config.json: the store's version it was
	                         * read at, which a store must still have */
	struct handle *next_config;     /* in node->configs */
	int listed;             /* in node->configs */
	struct fs *fs;
	void *priv;             /* the file's own state */
	int stage;              /* the file's own reading stage (calls.c:
	                         * enum call_stage), 0 at open */
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
/* The store path of n's directory: n if a store directory, else its
 * nearest store-directory ancestor ("" where there is none). Takes
 * fs->lock itself: call it WITHOUT the lock held. */
char *node_dir_path(struct fs *fs, const struct node *n);

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

/* remote.c: the shared namespace (tops beside ~ and ^, @, versions/). */
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
/* @ until logged in: a README saying how to log in; creating in @ is
 * refused (-EPERM) with that reason logged. */
extern const struct fs_file file_at_readme;
const struct fs_file *remote_at_file(const struct fs *fs, const char *name);
int remote_at_refuse(const struct fs *fs);
struct rh_version;
int versions_get(struct fs *fs, struct node *n, struct rh_version *v);
int versions_exists(struct fs *fs, struct node *dir, const char *name);
int versions_list(struct fs *fs, struct node *dir, rh_list_cb cb, void *arg);
int versions_attr(struct fs *fs, struct node *n, struct stat *st);
/* versions/N's content (that config) or versions/.index's, and time. */
int versions_content(struct fs *fs, struct node *n, struct rh_buf *out,
                     struct timespec *mtime);
/* Attribute and entry cache time of the shared namespace's nodes: long,
 * since the watch drops what changed. */
#define REMOTE_CACHE_SECS 30.0

/* file-config.c: config.json, validated when stored. */
/* ops.c: reply to a read with a copy of b's bytes at off */
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

void reply_slice(fuse_req_t req, const struct rh_buf *b, size_t size,
                 off_t off);
/* The read of a file whose content its open put in h->buf. */
void read_open_buf(fuse_req_t req, struct handle *h, size_t size, off_t off);

int config_open(struct fs *fs, struct node *n, int flags, int created,
                struct handle **out);
int config_write(struct fs *fs, struct handle *h, const char *data,
                 size_t len, off_t off);
int config_commit(struct fs *fs, struct handle *h);
int config_truncate(struct fs *fs, struct node *n, off_t size);
/* Out of its node's open handles; with fs->lock held. */
void config_unlist(struct handle *h);

/* types.c: the files each resource type shows, and what they act on. */
const struct fs_file *types_file(const char *resource_type,
                                 const char *name);
/* Names of a type's files and directories, for listings (NULL-ended). */
const char *const *types_names(const char *resource_type);
int types_is_dir(const char *resource_type, const char *name);
/* The address of the store directory dir (~/a, ^local, /top/a), and its
 * store path in *path if path is not NULL. Takes fs->lock. */
char *res_address(struct fs *fs, struct node *dir, char **path);
/* The resource at dir: its address and parsed config (or -ENOENT). */
int res_load(struct fs *fs, struct node *dir, char **addr,
             struct cJSON **cfg, struct rh_err *err);
/* The resource_type of the resource at dir, or NULL. */
char *res_type(struct fs *fs, struct node *dir);
/* The config of the resource at an address (~/..., ^...). */
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
/* The mount's links to agents, made on first use. */
int res_links(struct fs *fs, struct rh_links **out, struct rh_err *err);
/* file-invoke.c, cluster.c, calls.c */
extern const struct fs_file file_invoke;
extern const struct fs_file file_run;
extern const struct fs_file file_status;
/* The call specs of an invoke write's whole lines, into the array *out;
 * all or nothing (file-invoke.c). */
int invoke_parse_lines(const char *addr, const char *data, size_t size,
                       struct cJSON **out, struct rh_err *err);
/* file-errors.c: every resource's errors (but a secret's, whose files
 * are its fields): the log's recent lines naming it */
extern const struct fs_file file_errors;
/* cluster-ctl.c, cluster-log.c: a cluster's ctl (up, down, restart,
 * autostop) and log (its agent's, followed) */
extern const struct fs_file file_cluster_ctl;
extern const struct fs_file file_cluster_log;
/* A BYO cluster: ips to reach (an on-demand one has none: SkyPilot
 * records where it is). */
int cluster_has_ips(const struct cJSON *cfg);
/* cluster-ondemand.c: on-demand clusters through SkyPilot, one sky
 * command at a time per cluster, in a thread; waits end with -EINTR when
 * req (if not NULL) is interrupted, and the command goes on. */
void ondemand_init(struct fs *fs);
/* The cluster a resource runs on (itself, or a send's hardware), if it is
 * on-demand and not up, is launched or started. begin: 0 when it is
 * there to use (or not on-demand); 1 when it is being launched (the
 * launch started now, or joined), with its address in *cluster and a
 * ticket for ondemand_wait, which waits (bounded by launch_timeout) for
 * that launch and returns its end: 0, or -errno and SkyPilot's reason. */
int ondemand_begin(struct fs *fs, const char *addr, const struct cJSON *cfg,
                   char **cluster, unsigned *ticket, struct rh_err *err);
int ondemand_wait(struct fs *fs, const char *addr, const struct cJSON *cfg,
                  unsigned ticket, struct rh_err *err);
/* The last line sky printed for the cluster at addr (NULL: none). */
char *ondemand_last_line(struct fs *fs, const char *addr);
/* Threads that wait for a launch count themselves in and out: rhfs's
 * stop ends their waits and waits for them (ondemand_stop). */
void ondemand_hold(struct fs *fs);
void ondemand_release(struct fs *fs);
/* Whether rhfs has it up (launched, or seen UP). */
int ondemand_is_up(struct fs *fs, const char *addr);
/* ctl's verb on an on-demand cluster: up, stop, down, autostop MINS run
 * through sky, a line for out. 1: done; 0: the caller goes on (a BYO
 * cluster; up then reaches the agent, autostop records the minutes). */
int ondemand_ctl(struct fs *fs, const char *addr, const struct cJSON *cfg,
                 const char *verb, int mins, fuse_req_t req,
                 struct rh_buf *out, struct rh_err *err);
/* status's fields from SkyPilot; *probe: UP, the agent is probed. */
void ondemand_status(struct fs *fs, const char *addr, struct cJSON *out,
                     int *probe);
/* Ends the sky commands still running; before the agents' connections. */
void ondemand_stop(struct fs *fs);
void ondemand_free(struct fs *fs);
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
/* A held call not sent as the agent describes its calls (its record, or
 * {"spec": ...}), or NULL. */
struct cJSON *held_record(struct fs *fs, const char *send, const char *id,
                          int spec);
/* send's held calls not sent, to cb; *latest the newest id of them and
 * *latest's before; *any: one or more. */
void held_list(struct fs *fs, const char *send, rh_list_cb cb, void *arg,
               char **latest, int *any);
/* send-setup.c: before a send's first call on a connection, its reqs
 * synced to the node, its packages installed and its setup_cmds run
 * once. *venv: the virtualenv its calls run in (relative to the node's
 * home), or NULL. The wait ends with -EINTR when req (if not NULL) is
 * interrupted; the work goes on. */
int send_prepare(struct fs *fs, const char *addr, const struct cJSON *cfg,
                 struct rh_rpc *rpc, fuse_req_t req, char **venv,
                 struct rh_err *err);
/* Ends the work still running; before the agents' connections go. */
void send_prepare_stop(struct fs *fs);
void send_prepared_free(struct fs *fs);
const struct fs_file *calls_file(const char *name);
extern const char *const call_file_names[];
int calls_list(struct fs *fs, struct node *calls, rh_list_cb cb, void *arg,
               char **latest);
int calls_exists(struct fs *fs, struct node *calls, const char *id);
/* Fetch a call's whole stdout into `into` by parts, asynchronously; then
 * done(arg, 0), or -EFBIG past max bytes, or -errno. */
void calls_fetch(struct rh_rpc *rpc, const char *id, size_t max,
                 struct rh_buf *into, void (*done)(void *arg, int err),
                 void *arg);

/* secret.c: a secret's fields as files (fields listed in its config).
 * The hooks return 1 when the name is no field's business. */
extern const struct fs_file file_secret;
int secret_is_field(struct fs *fs, struct node *dir, const char *name);
int secret_list(struct fs *fs, struct node *dir, rh_list_cb cb, void *arg);
int secret_create(struct fs *fs, struct node *dir, const char *name,
                  int flags);
int secret_unlink(struct fs *fs, struct node *dir, const char *name);
int secret_rename(struct fs *fs, struct node *sdir, const char *spath,
                  const char *name, struct node *ddir, const char *dpath,
                  const char *newname, unsigned flags);
void secret_moved(struct fs *fs, struct rh_store *s, const char *from,
                  const char *to);
void secret_removed(struct fs *fs, struct rh_store *s, const char *path);
/* The values of the secrets a send's config names ("secrets"), as
 * environment variables {NAME: VALUE} in *env (NULL when none); err names
 * the send and the secret, never a value. secret_env_free wipes them. */
int secret_env(struct fs *fs, const char *send, const struct cJSON *cfg,
               struct cJSON **env, struct rh_err *err);
void secret_env_cleanse(struct cJSON *v);
void secret_env_free(struct cJSON *env);
/* a field's size and times; its value stored at close(2) with the error
 * for the caller; truncate(2) (h NULL) or ftruncate */
int secret_getattr(struct fs *fs, struct node *n, struct stat *st);
int secret_flush(struct handle *h);
int secret_truncate(struct fs *fs, struct node *n, struct handle *h,
                    off_t size);

/* ops.c */
extern const struct fuse_lowlevel_ops rhfs_ops;

#endif

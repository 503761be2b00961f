/*
 * rh.h - the rhfs core library: what src/ exports to fs/, agent/ and rh.
 *
 * Conventions: functions return 0 or -errno; where a caller shows the
 * failure to a person they also take a struct rh_err, filled with one line
 * that names the resource and the cause.
 */
#ifndef RH_H
#define RH_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define RH_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* xmalloc.c: allocation that cannot return NULL (aborts when out of memory). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) RH_PRINTF(1, 2);

/* buf.c: a growable byte buffer, always NUL-terminated after len bytes. */
struct rh_buf {
	char *data;
	size_t len;
	size_t cap;
};
void rh_buf_reserve(struct rh_buf *b, size_t need);
void rh_buf_append(struct rh_buf *b, const void *data, size_t len);
void rh_buf_printf(struct rh_buf *b, const char *fmt, ...) RH_PRINTF(2, 3);
/* Write len bytes at off, growing (zero-filled) as needed. */
void rh_buf_pwrite(struct rh_buf *b, const void *data, size_t len, size_t off);
void rh_buf_truncate(struct rh_buf *b, size_t len);
void rh_buf_free(struct rh_buf *b);

/* file.c: local files. rh_file_read fails with -EFBIG past max bytes;
 * rh_file_replace is atomic (temp file, rename): a reader sees the old
 * content or the new. With sync, the new content is also on disk (fsync
 * of file and directory) when it returns. */
struct stat;
int rh_file_read(const char *path, size_t max, struct rh_buf *out,
                 struct stat *st);
/* The same from an open file, which it closes. */
int rh_file_read_fd(int fd, size_t max, struct rh_buf *out, struct stat *st);
int rh_file_replace(const char *path, const char *data, size_t len,
                    unsigned mode, int sync);
/* mkdir -p: every directory it makes gets mode. */
int rh_mkdirs(const char *dir, unsigned mode);
/* $HOME/.rh, or $HOME/.rh/name: where rhfs and rh keep their own files. */
char *rh_dot_rh(const char *name);

/* err.c: one line for the person who sees the failure. */
struct rh_err {
	char msg[512];
};
int rh_err_set(struct rh_err *err, int errnum, const char *fmt, ...)
	RH_PRINTF(3, 4);

/* log.c: one logging entry point. Lines also go to a ring buffer that
 * rhfs shows as MOUNT/.log, so refusals are readable by the user. */
enum rh_log_level { RH_LOG_ERR, RH_LOG_WARN, RH_LOG_INFO, RH_LOG_DEBUG };
void rh_log_init(const char *ident, int to_stderr, enum rh_log_level level);
/* Start each stderr line with the date and time (for a log file). */
void rh_log_timestamps(int on);
void rh_log(enum rh_log_level level, const char *fmt, ...) RH_PRINTF(2, 3);
#define rh_error(...) rh_log(RH_LOG_ERR, __VA_ARGS__)
#define rh_warn(...) rh_log(RH_LOG_WARN, __VA_ARGS__)
#define rh_info(...) rh_log(RH_LOG_INFO, __VA_ARGS__)
#define rh_debug(...) rh_log(RH_LOG_DEBUG, __VA_ARGS__)
/* Copy of the recent log lines, oldest first. */
void rh_log_recent(struct rh_buf *out);
/* The recent warnings and errors (refusals among them) that name the
 * address ADDR (~/a, ^local, /top/a): its own and its files'. */
void rh_log_recent_about(struct rh_buf *out, const char *addr);

/* name.c: RNS names and paths. A store path is "" for the store's root or
 * "a/b" (no leading or trailing slash); an address is the store's prefix
 * joined to it: "~/a/b", "^rh-cpu", "/alice/x". */
#define RH_NAME_MAX 255
int rh_name_check(const char *name, struct rh_err *err);
int rh_path_check(const char *path, struct rh_err *err);
char *rh_path_join(const char *dir, const char *name);
const char *rh_path_base(const char *path);
char *rh_path_dir(const char *path);
char *rh_address(const char *prefix, const char *path);
/* s as one word for a POSIX shell. */
char *rh_shell_quote(const char *s);

struct cJSON;
/* json.c: the one entry point for JSON from outside. Parses len bytes
 * (NULs and all) as one JSON value and refuses, with EINVAL and err naming
 * `what` and the field, whatever Python's json would read differently or
 * not at all: invalid UTF-8, raw control characters or \u0000 in strings,
 * duplicate keys, numbers out of range or not in JSON's own form, bytes
 * that are not JSON between tokens, text after the value. Each number
 * keeps the text it was written as; rh_json_print and rh_json_pretty
 * write it back unchanged (2^53+1 stays, 1.0 stays 1.0). */
struct cJSON *rh_json_parse(const char *data, size_t len, const char *what,
                            struct rh_err *err);
/* cJSON_Print or cJSON_PrintUnformatted (free with cJSON_free). */
char *rh_json_print(const struct cJSON *v, int pretty);
/* JSON printed as Runhouse prints it (4-space indent), newline-ended;
 * free with free(). */
char *rh_json_pretty(const struct cJSON *v);
/* Typed field access: o's member key if it is a string, else NULL (o may
 * be NULL). */
const char *rh_json_str(const struct cJSON *o, const char *key);
/* Bytes in the valid UTF-8 sequence at p (n bytes available), 0 if none. */
size_t rh_utf8_len(const unsigned char *p, size_t n);

/* resource.c: resource types and config validation. */
struct rh_type {
	const char *name;       /* resource_type */
	const char *subtype;    /* default resource_subtype */
	int (*validate)(const struct cJSON *cfg, const char *addr,
	                struct rh_err *err);
};
const struct rh_type *rh_type_find(const char *name);
/* res-data.c: where a folder's, blob's or table's bytes live. */
enum rh_data_kind {
	RH_DATA_NONE,           /* an RNS folder marker: no data */
	RH_DATA_FILE,           /* this machine's disk */
	RH_DATA_S3,             /* path is bucket/prefix */
	RH_DATA_CLUSTER,        /* a cluster's disk, over SFTP */
};
struct rh_data_loc {
	enum rh_data_kind kind;
	const char *path;               /* `path` or `url` (in the config) */
	const char *cluster;            /* its address (RH_DATA_CLUSTER) */
	const struct cJSON *cluster_cfg;/* or an inline cluster config */
	const struct cJSON *data_config;/* store options, or NULL */
};
/* The location a data resource's config gives (pointers into cfg);
 * -EINVAL with err naming addr and the cause when it gives none. */
int rh_data_locate(const struct cJSON *cfg, const char *addr,
                   struct rh_data_loc *loc, struct rh_err *err);
/* A send's environment variables: the env_vars of its env (Runhouse's
 * Env config); NULL for none (a named env, null, no env_vars). */
const struct cJSON *rh_send_env_vars(const struct cJSON *cfg);
/* Largest config.json accepted. */
#define RH_CONFIG_MAX (1024 * 1024)
/*
 * Check config bytes meant for the resource at addr. On success returns 0
 * and sets *out to what must be stored: NULL when data is stored as is,
 * else a new allocation in which `name`/`rns_address` follow addr.
 * Invalid content gives -EINVAL and err.
 */
int rh_config_check(const char *addr, const char *data, size_t len,
                    char **out, size_t *outlen, struct rh_err *err);
/* Rewrite the name fields of a stored config for a new address. */
int rh_config_readdress(const char *data, size_t len, const char *addr,
                        char **out, size_t *outlen);
/* Scan bytes written so far: 1 when they form one complete JSON value (to
 * be judged now), 0 while more may follow, and 1 too when they can never
 * become an object (so that the writer hears at once). */
int rh_config_complete(const char *data, size_t len);

/* config.c: ~/.rh/config.yaml, Runhouse's keys plus rhfs's own; unknown
 * keys are kept when the file is written back. */
struct rh_config;
char *rh_config_default_path(void);
/* Missing file: empty config. Malformed: -EINVAL, err = "FILE:LINE: why". */
int rh_config_load(const char *path, struct rh_config **out,
                   struct rh_err *err);
const char *rh_config_get(const struct rh_config *c, const char *key);
void rh_config_set(struct rh_config *c, const char *key, const char *value);
void rh_config_unset(struct rh_config *c, const char *key);
int rh_config_save(struct rh_config *c, struct rh_err *err);
void rh_config_free(struct rh_config *c);
/* Copy node idx of YAML document src into dst; the new index, or 0. Where
 * map is given, every mapping is copied by map(dst, src, idx, arg)
 * instead, which copies its children with rh_yaml_copy itself. */
struct yaml_document_s;
typedef int (*rh_yaml_map_fn)(struct yaml_document_s *dst,
                              struct yaml_document_s *src, int idx,
                              void *arg);
int rh_yaml_copy(struct yaml_document_s *dst, struct yaml_document_s *src,
                 int idx, rh_yaml_map_fn map, void *arg);

/* workdir.c: the local RNS root, found as Runhouse finds it. */
char *rh_workdir_find(const char *start, const char *home);

/* store.c and rns-*.c: one interface, one implementation per store. */
enum rh_kind { RH_ABSENT = 0, RH_FOLDER, RH_RESOURCE };

struct rh_stat {
	enum rh_kind kind;
	size_t config_size;     /* RH_RESOURCE: bytes of config.json */
	struct timespec mtime;  /* of config.json, or of the folder */
	struct timespec ctime;
	uint64_t version;       /* changes whenever the config changes */
	int denied;             /* a folder that exists but may not be
	                         * listed: what is shared below is reachable */
};

struct rh_store;
typedef int (*rh_list_cb)(void *arg, const char *name, enum rh_kind kind);

struct rh_store_ops {
	int (*stat)(struct rh_store *s, const char *path, struct rh_stat *st);
	int (*get)(struct rh_store *s, const char *path, struct rh_buf *out,
	           uint64_t *version);
	/* Atomic replace of a resource's config in an existing directory;
	 * expect != 0 fails with -EAGAIN unless the stored version is it. */
	int (*put)(struct rh_store *s, const char *path, const char *data,
	           size_t len, uint64_t expect);
	int (*list)(struct rh_store *s, const char *path, rh_list_cb cb,
	            void *arg);
	int (*mkdir)(struct rh_store *s, const char *path);
	int (*rmdir)(struct rh_store *s, const char *path);
	/* Drop the config: the resource becomes a folder. */
	int (*remove)(struct rh_store *s, const char *path);
	/* Move a folder or resource with everything below it; the name
	 * fields of every config moved follow. */
	int (*rename)(struct rh_store *s, const char *from, const char *to,
	              int noreplace);
	void (*destroy)(struct rh_store *s);
};

struct rh_store {
	const struct rh_store_ops *ops;
	const char *prefix;     /* "~", "^": address of the store's root */
	int readonly;
	void *priv;
};

struct rh_store *rh_store_local_new(const char *workdir);
const char *rh_store_local_root(const struct rh_store *s);
struct rh_store *rh_store_builtin_new(const char *dir);
void rh_store_free(struct rh_store *s);

/*
 * Store-level operations that keep configs valid: used by rhfs and rh.
 * They name the resource in err.
 */
int rh_store_put_config(struct rh_store *s, const char *path,
                        const char *data, size_t len, uint64_t expect,
                        struct rh_err *err);
int rh_store_move_config(struct rh_store *s, const char *from,
                         const char *to, struct rh_err *err);

/* ssh.c: the SSH transport to a node (libssh2). Not thread-safe: one
 * owner per session. Blocking calls are bounded by timeout_ms. */
struct rh_ssh;
struct rh_ssh_chan;
struct rh_ssh_opts {
	const char *host;
	int port;
	const char *user;
	const char *private_key;        /* ed25519 or ecdsa */
	const char *known_hosts;        /* checked; unknown hosts recorded */
	int timeout_ms;
};
int rh_ssh_connect(const struct rh_ssh_opts *o, struct rh_ssh **out,
                   struct rh_err *err);
void rh_ssh_close(struct rh_ssh *s);
int rh_ssh_fd(const struct rh_ssh *s);
const char *rh_ssh_where(const struct rh_ssh *s);
int rh_ssh_events(const struct rh_ssh *s);
int rh_ssh_keepalive(struct rh_ssh *s);
/* Run cmd to its end with in on its stdin; *status is its exit status. */
int rh_ssh_exec(struct rh_ssh *s, const char *cmd, const void *in,
                size_t inlen, struct rh_buf *out, struct rh_buf *errout,
                int *status, struct rh_err *err);
/* A command kept running, read and written without blocking. */
int rh_ssh_chan_open(struct rh_ssh *s, const char *cmd,
                     struct rh_ssh_chan **out, struct rh_err *err);
ssize_t rh_ssh_chan_write(struct rh_ssh_chan *c, const void *buf,
                          size_t len);
ssize_t rh_ssh_chan_read(struct rh_ssh_chan *c, void *buf, size_t len);
ssize_t rh_ssh_chan_read_stderr(struct rh_ssh_chan *c, void *buf,
                                size_t len);
int rh_ssh_chan_eof(struct rh_ssh_chan *c);
void rh_ssh_chan_close(struct rh_ssh_chan *c);
void rh_ssh_chan_close_now(struct rh_ssh_chan *c, int grace_ms);
int rh_ssh_upload(struct rh_ssh *s, const char *local, const char *path,
                  unsigned mode, struct rh_err *err);
/* SFTP for many files over one session (sync.c); paths relative to the
 * node's home. put and put_file make a new file (EEXIST if anything is
 * there); lstat, unlink and rename never follow a last symbolic link. */
struct rh_sftp;
int rh_sftp_open(struct rh_ssh *s, struct rh_sftp **out, struct rh_err *err);
void rh_sftp_close(struct rh_sftp *f);
int rh_sftp_mkdir(struct rh_sftp *f, const char *path, int *made,
                  struct rh_err *err);
int rh_sftp_lstat(struct rh_sftp *f, const char *path, unsigned *mode,
                  struct rh_err *err);
int rh_sftp_unlink(struct rh_sftp *f, const char *path, struct rh_err *err);
int rh_sftp_rmdir(struct rh_sftp *f, const char *path, struct rh_err *err);
int rh_sftp_get(struct rh_sftp *f, const char *path, size_t max,
                struct rh_buf *out, struct rh_err *err);
int rh_sftp_put(struct rh_sftp *f, const char *path, const void *data,
                size_t len, unsigned mode, struct rh_err *err);
int rh_sftp_put_file(struct rh_sftp *f, const char *local, const char *path,
                     unsigned mode, struct rh_err *err);
int rh_sftp_rename(struct rh_sftp *f, const char *from, const char *to,
                   struct rh_err *err);

/* b64.c: base64 (OpenSSL), and bytes in JSON: a string when they are
 * text, else base64 under "<key>_b64". */
char *rh_b64_encode(const void *data, size_t len);
int rh_b64_decode(const char *s, struct rh_buf *out);
void rh_json_add_bytes(struct cJSON *o, const char *key, const void *data,
                       size_t len);
int rh_json_get_bytes(const struct cJSON *o, const char *key,
                      struct rh_buf *out);

/* transport.c: byte streams to an agent, non-blocking (-EAGAIN). */
struct pollfd;
struct rh_transport {
	int (*pollfds)(struct rh_transport *t, struct pollfd *p, int max,
	               int want_out);
	ssize_t (*read)(struct rh_transport *t, void *buf, size_t len);
	ssize_t (*write)(struct rh_transport *t, const void *buf, size_t len);
	int (*keepalive)(struct rh_transport *t);   /* s to next; may be NULL */
	void (*close)(struct rh_transport *t);
};
/* A running agent's unix socket, reached directly (^local). */
int rh_transport_unix(const char *path, struct rh_transport **out);
int rh_transport_spawn(char *const argv[], struct rh_transport **out,
                       struct rh_err *err);
struct rh_transport *rh_transport_ssh(struct rh_ssh *ssh,
                                      struct rh_ssh_chan *chan);

/* rpc.c: requests multiplexed by id over one transport, answered through
 * callbacks from its I/O thread. The callback sees every frame carrying
 * its request's id; the last (final = 1) is the reply, or err < 0 with
 * msg NULL when the stream is lost. Frames for no request are events. */
struct rh_rpc;
typedef void (*rh_rpc_cb)(void *arg, int err, const struct cJSON *msg,
                          int final);
typedef void (*rh_rpc_event_cb)(void *arg, const struct cJSON *msg);
int rh_rpc_start(struct rh_transport *t, const char *name,
                 rh_rpc_event_cb on_event, void *event_arg,
                 struct rh_rpc **out);
/* clock.c: now on clock, plus ms (a deadline for a timed wait). */
struct timespec rh_time_after(clockid_t clock, long ms);

/* Send req (its id is set here); cb runs once with the reply. */
int rh_rpc_call(struct rh_rpc *r, struct cJSON *req, rh_rpc_cb cb, void *arg);
/* Wait for the reply at most timeout_ms (<= 0: no limit); *reply is the
 * caller's to cJSON_Delete. A refused request gives its -errno and no
 * reply (*reply NULL), as a failed one does. */
int rh_rpc_call_wait(struct rh_rpc *r, struct cJSON *req, int timeout_ms,
                     struct cJSON **reply);
/* The same, ending early with -ECANCELED once stop(arg) says so (looked
 * at every 100 ms). */
int rh_rpc_call_wait_stop(struct rh_rpc *r, struct cJSON *req,
                          int timeout_ms, int (*stop)(void *), void *arg,
                          struct cJSON **reply);
int rh_rpc_alive(struct rh_rpc *r);
void rh_rpc_stop(struct rh_rpc *r);

/* link.c: the agents of clusters, connected on first use and again after
 * a broken stream: ^local directly, others over SSH (bootstrapping the
 * node's rhagent). */
struct rh_links;
struct rh_link_opts {
	const char *rhagent;            /* this build's rhagent */
	const char *known_hosts;
	int timeout_ms;
};
int rh_links_new(const struct rh_link_opts *o, struct rh_links **out,
                 struct rh_err *err);
int rh_links_get(struct rh_links *ls, const char *addr,
                 const struct cJSON *cfg, struct rh_rpc **out,
                 struct rh_err *err);
void rh_links_free(struct rh_links *ls);

/* sky.c: on-demand clusters through the SkyPilot command line. */
/* A cluster launched on demand: no ips, an instance_type (or subtype
 * OnDemandCluster). */
int rh_sky_is_ondemand(const struct cJSON *cfg);
/* The name SkyPilot knows the cluster at addr by, stable for an address:
 * "rh-", its letters and digits (lower case, others as '-', at most 23),
 * "-" and the first 8 hex digits of its SHA-256. */
char *rh_sky_name(const char *addr);
/* The arguments of its `sky launch` (a JSON array of strings, without
 * "sky"): the config's fields, the defaults of config.yaml where it has
 * none (defaults may be NULL). */
int rh_sky_launch_args(const char *addr, const struct cJSON *cfg,
                       const struct rh_config *defaults, struct cJSON **out,
                       struct rh_err *err);
/* "sky ARG..." as a shell would read it, for messages. */
char *rh_sky_command(const struct cJSON *args);
/* sky's path on PATH, or -ENOPKG with a message naming the fix. */
int rh_sky_path(char **path, struct rh_err *err);
/* Run sky with args to its end: each line it prints (stdout and stderr)
 * to line (may be NULL), all of it to out (may be NULL), its exit status
 * in *status. Past timeout_ms (-ETIMEDOUT) or once stop(stop_arg) says so
 * (-ECANCELED), sky and what it started are ended. */
int rh_sky_run(const struct cJSON *args, long timeout_ms,
               int (*stop)(void *), void *stop_arg,
               void (*line)(void *, const char *), void *line_arg,
               struct rh_buf *out, int *status, struct rh_err *err);
/* The STATUS (UP, STOPPED, INIT) of cluster name in the table `sky
 * status` printed; 0 and "" when the table has no such cluster. */
int rh_sky_status_of(const char *out, const char *name, char *state,
                     size_t size);
/* The cluster at addr as SkyPilot records it (~/.sky/generated/ssh/NAME):
 * a BYO cluster's config (ips, head first; ssh_creds), and the known
 * hosts file rhfs keeps for it. -ENOTCONN when SkyPilot has none. */
int rh_sky_reach(const char *addr, struct cJSON **cfg, char **known_hosts,
                 struct rh_err *err);
/* That known hosts file, and removing it (a new launch, new host keys). */
char *rh_sky_known_hosts(const char *name);
void rh_sky_forget_host_keys(const char *name);
/* sync.c: the local directory dir copied to ~/name on a node (over sftp,
 * or, when sftp is NULL, into the directory home of this machine), only
 * the files that changed since the last sync; what an earlier sync put
 * there and dir no longer has is removed. A non-zero *stop (if stop is
 * not NULL) ends it early with -ECANCELED. */
struct rh_sync_stats {
	size_t files;           /* in the directory */
	size_t changed;         /* copied now */
	size_t removed;         /* files and directories removed now */
};
int rh_sync_dir(struct rh_sftp *sftp, const char *home, const char *dir,
                const char *name, const int *stop, struct rh_sync_stats *st,
                struct rh_err *err);

/* Whether the cluster's agent runs on this machine (no SSH). */
int rh_links_is_local(const char *addr, const struct cJSON *cfg);
/* A fresh SSH session to the cluster's head, for work beside the agent's
 * stream (file sync), which keeps its own session. */
int rh_links_ssh(struct rh_links *ls, const char *addr,
                 const struct cJSON *cfg, struct rh_ssh **ssh,
                 struct rh_err *err);

/*
 * proto.c: the agent wire protocol (docs/protocol.md). A frame is a 4-byte
 * big-endian length, then that many bytes of one JSON object carrying at
 * least "id" (an integer, 0 to 10^15-1) and "op" (a non-empty string).
 */
#define RH_PROTO_VERSION 1              /* highest version spoken */
#define RH_PROTO_VERSION_MIN 1          /* lowest version still accepted */
#define RH_PROTO_HDR 4
#define RH_PROTO_FRAME_MAX (16u * 1024 * 1024)
/* Ids are integers that survive a double and cJSON's printing of it,
 * which keeps 15 significant digits. */
#define RH_PROTO_ID_MAX 999999999999999ULL

/* One decoded frame; op points into json. */
struct rh_proto_msg {
	struct cJSON *json;
	uint64_t id;
	const char *op;
};

/* An incremental decoder for a byte stream: feed it whatever arrived, take
 * out whole frames. After an error the stream is lost and every further
 * rh_proto_dec_next gives that error again. */
struct rh_proto_dec {
	struct rh_buf in;
	size_t off;             /* first byte not yet consumed */
	size_t max;             /* largest frame body accepted */
	int failed;             /* sticky -errno */
};
void rh_proto_dec_init(struct rh_proto_dec *d, size_t max);
void rh_proto_dec_free(struct rh_proto_dec *d);
void rh_proto_dec_feed(struct rh_proto_dec *d, const void *data, size_t len);
/* Room for at least want more bytes, to read(2) into directly; then
 * rh_proto_dec_commit the bytes read. */
void *rh_proto_dec_space(struct rh_proto_dec *d, size_t want, size_t *avail);
void rh_proto_dec_commit(struct rh_proto_dec *d, size_t len);
/*
 * 1 and *m filled (free with rh_proto_msg_free) when a whole frame is in;
 * 0 when more bytes are needed; -EMSGSIZE for a length over the maximum
 * (known from the header alone), -EBADMSG for a body that is not a JSON
 * object with a valid id and op. err says which and why.
 */
int rh_proto_dec_next(struct rh_proto_dec *d, struct rh_proto_msg *m,
                      struct rh_err *err);
/* The stream ended: 0 on a frame boundary, -EPROTO inside a frame. */
int rh_proto_dec_end(const struct rh_proto_dec *d, struct rh_err *err);
void rh_proto_msg_free(struct rh_proto_msg *m);

/* Check that a message has a valid id and op. */
int rh_proto_check(const struct cJSON *json, uint64_t *id, const char **op,
                   struct rh_err *err);
/* Append msg as one frame to out; -EMSGSIZE when its body is over max
 * (0: RH_PROTO_FRAME_MAX), -EINVAL when it is not a valid message. */
int rh_proto_encode(const struct cJSON *msg, size_t max, struct rh_buf *out);
/* {"id": id, "op": op} */
struct cJSON *rh_proto_new(uint64_t id, const char *op);
/* A successful reply: {"id": id, "op": "reply", "ok": true}. */
struct cJSON *rh_proto_reply(uint64_t id);
/* A refused request: {"id", "op": "reply", "ok": false, "error": "ENOENT",
 * "message": ...}. */
struct cJSON *rh_proto_error(uint64_t id, int errnum, const char *fmt, ...)
	RH_PRINTF(3, 4);
/* Errors travel by name ("ENOENT"): errno numbers differ between systems.
 * Unknown numbers are sent as "EIO", unknown names read as EIO. */
const char *rh_proto_errname(int errnum);
int rh_proto_errnum(const char *name);
/* end of proto.c */

/* ---- etcd.c: etcd v3 client ---------------------------------- */
/*
 * etcd.c: a client of etcd's v3 JSON gateway (etcd 3.4), over libcurl.
 *
 * Keys and values are bytes (pointer and length), never assumed to be
 * strings. A client keeps one connection alive and serialises its
 * requests (it may be shared by threads; use more clients for parallel
 * requests). Every call gives up within the timeout: an unreachable etcd
 * is -EHOSTUNREACH, -ETIMEDOUT or -EIO; "permission denied" is -EACCES; a
 * token etcd no longer accepts is renewed with the stored user and
 * password and the call retried once.
 *
 * Of several members, one is used at a time, first the first listed. A
 * member that does not answer (within the timeouts) or has no leader is
 * left for the next, for that request and those after it; a request
 * that may have been carried out already is sent again only when that
 * is harmless (reads, compare-and-swap transactions). While no member
 * has a leader (an election, or no quorum) a request is tried again
 * until its timeout, then fails with -EIO, "etcd has no quorum".
 */
struct rh_etcd;

struct rh_etcd_opts {
	const char *url;        /* http(s)://HOST:PORT, or several members:
	                         * URL,URL,... */
	const char *cafile;     /* https: CA bundle to trust; NULL: system's */
	const char *certfile;   /* https: client certificate, or NULL */
	const char *keyfile;    /* its private key */
	long connect_timeout_ms;        /* 0: 10 s */
	long timeout_ms;        /* a whole request; 0: 10 s */
};

struct rh_etcd_kv {
	char *key;              /* NUL-terminated after key_len bytes */
	size_t key_len;
	char *value;            /* likewise; NULL for keys only */
	size_t value_len;
	int64_t create_revision;
	int64_t mod_revision;
	int64_t version;        /* puts since created */
};

struct rh_etcd_kvs {
	struct rh_etcd_kv *kv;
	size_t n;
	int64_t count;          /* keys in the range, beyond a limit too */
	int more;               /* a limit cut the range short */
	int64_t revision;       /* of the store when it was read */
};

enum rh_etcd_op_type { RH_ETCD_RANGE, RH_ETCD_PUT, RH_ETCD_DELETE };
#define RH_ETCD_PREFIX          0x1     /* every key that starts with key */
#define RH_ETCD_KEYS_ONLY       0x2     /* range: no values */
#define RH_ETCD_COUNT_ONLY      0x4     /* range: only count */
#define RH_ETCD_SERIALIZABLE    0x8     /* range: what the member has, also
                                         * without a quorum (maybe stale) */

/* One request: a range (sorted by key), a put or a delete. The range is
 * key alone, [key, end) when end is set, or everything below key with
 * RH_ETCD_PREFIX. */
struct rh_etcd_op {
	enum rh_etcd_op_type type;
	const char *key;
	size_t key_len;
	const char *end;
	size_t end_len;
	const char *value;      /* put */
	size_t value_len;
	int flags;
	int64_t limit;          /* range: 0 for none */
	int64_t revision;       /* range: read at this revision; 0 latest */
};

enum rh_etcd_target {
	RH_ETCD_VERSION, RH_ETCD_CREATE, RH_ETCD_MOD, RH_ETCD_VALUE
};
enum rh_etcd_cmp_result {
	RH_ETCD_EQUAL, RH_ETCD_NOT_EQUAL, RH_ETCD_GREATER, RH_ETCD_LESS
};

/* key's target compared with number (or value): "create_revision EQUAL 0"
 * is "key does not exist". */
struct rh_etcd_cmp {
	const char *key;
	size_t key_len;
	enum rh_etcd_target target;
	enum rh_etcd_cmp_result result;
	int64_t number;
	const char *value;
	size_t value_len;
};

struct rh_etcd_txn {
	const struct rh_etcd_cmp *cmp;
	size_t ncmp;
	const struct rh_etcd_op *success;
	size_t nsuccess;
	const struct rh_etcd_op *failure;
	size_t nfailure;
};

struct rh_etcd_result {
	enum rh_etcd_op_type type;
	struct rh_etcd_kvs range;       /* RH_ETCD_RANGE */
	int64_t deleted;                /* RH_ETCD_DELETE */
};

struct rh_etcd_txn_result {
	int succeeded;          /* every compare held: success ops ran */
	int64_t revision;       /* of the store after the txn */
	struct rh_etcd_result *results;  /* one per op of the branch run */
	size_t n;
};

struct rh_etcd_stats {
	uint64_t requests;
	uint64_t connects;      /* new connections: keep-alive misses */
	uint64_t reauths;       /* tokens renewed */
	uint64_t failovers;     /* moves to the next member */
};

int rh_etcd_new(const struct rh_etcd_opts *opts, struct rh_etcd **out,
                struct rh_err *err);
void rh_etcd_free(struct rh_etcd *c);
/* The members, as URL,URL,... */
const char *rh_etcd_url(const struct rh_etcd *c);
/* Split a list of members (URL,URL,...), each checked; -EINVAL naming
 * the bad one. Free with rh_etcd_strv_free. */
int rh_etcd_members(const char *list, char ***urls, size_t *n,
                    struct rh_err *err);
void rh_etcd_stats(struct rh_etcd *c, struct rh_etcd_stats *st);

/* Log in: keeps the token (sent with every request) and the user and
 * password (to renew it). A wrong password is -EACCES. */
int rh_etcd_auth(struct rh_etcd *c, const char *user, const char *password,
                 struct rh_err *err);
/* The token in use (a copy to free; NULL when none), or a token saved
 * earlier. */
char *rh_etcd_token(struct rh_etcd *c);
void rh_etcd_set_token(struct rh_etcd *c, const char *token);

/* One key: -ENOENT when absent. Free out with rh_etcd_kv_free. */
int rh_etcd_get(struct rh_etcd *c, const char *key, size_t key_len,
                struct rh_etcd_kv *out, struct rh_err *err);
int rh_etcd_range(struct rh_etcd *c, const struct rh_etcd_op *op,
                  struct rh_etcd_kvs *out, struct rh_err *err);
int rh_etcd_put(struct rh_etcd *c, const char *key, size_t key_len,
                const char *value, size_t value_len, int64_t *revision,
                struct rh_err *err);
/* Compare-and-swap: put only if key's mod_revision is still expect (0:
 * only if key does not exist); -EAGAIN if it is not. */
int rh_etcd_put_if(struct rh_etcd *c, const char *key, size_t key_len,
                   const char *value, size_t value_len, int64_t expect,
                   int64_t *revision, struct rh_err *err);
/* flags: RH_ETCD_PREFIX. deleted may be NULL. */
int rh_etcd_delete(struct rh_etcd *c, const char *key, size_t key_len,
                   int flags, int64_t *deleted, struct rh_err *err);
/* Returns 0 whichever branch ran (out->succeeded says which). */
int rh_etcd_txn(struct rh_etcd *c, const struct rh_etcd_txn *txn,
                struct rh_etcd_txn_result *out, struct rh_err *err);
/* Forget history before revision; -ESTALE if already compacted past it,
 * -ERANGE if it is in the future. */
int rh_etcd_compact(struct rh_etcd *c, int64_t revision, int physical,
                    struct rh_err *err);
void rh_etcd_kv_free(struct rh_etcd_kv *kv);
void rh_etcd_kvs_free(struct rh_etcd_kvs *kvs);
void rh_etcd_txn_result_free(struct rh_etcd_txn_result *r);

/* Users, roles and permissions (as root, or a user with the root role).
 * Existing names are -EEXIST, missing ones -ENOENT. */
enum rh_etcd_perm { RH_ETCD_READ, RH_ETCD_WRITE, RH_ETCD_READWRITE };
struct rh_etcd_perm_range {
	enum rh_etcd_perm perm;
	char *key;
	size_t key_len;
	char *end;              /* NULL: key alone; "\0": all keys from key */
	size_t end_len;
};
int rh_etcd_auth_enable(struct rh_etcd *c, struct rh_err *err);
int rh_etcd_auth_disable(struct rh_etcd *c, struct rh_err *err);
int rh_etcd_user_add(struct rh_etcd *c, const char *user,
                     const char *password, struct rh_err *err);
int rh_etcd_user_delete(struct rh_etcd *c, const char *user,
                        struct rh_err *err);
int rh_etcd_user_passwd(struct rh_etcd *c, const char *user,
                        const char *password, struct rh_err *err);
int rh_etcd_role_add(struct rh_etcd *c, const char *role, struct rh_err *err);
int rh_etcd_role_delete(struct rh_etcd *c, const char *role,
                        struct rh_err *err);
/* Allow role perm on key (or [key, end), or with RH_ETCD_PREFIX below
 * key); revoke takes the same range back. */
int rh_etcd_role_grant(struct rh_etcd *c, const char *role,
                       enum rh_etcd_perm perm, const char *key,
                       size_t key_len, const char *end, size_t end_len,
                       int flags, struct rh_err *err);
int rh_etcd_role_revoke(struct rh_etcd *c, const char *role,
                        const char *key, size_t key_len, const char *end,
                        size_t end_len, int flags, struct rh_err *err);
int rh_etcd_user_grant(struct rh_etcd *c, const char *user, const char *role,
                       struct rh_err *err);
int rh_etcd_user_revoke(struct rh_etcd *c, const char *user,
                        const char *role, struct rh_err *err);
/* A user may ask these about itself and its own roles. Free the roles
 * with rh_etcd_strv_free, the ranges with rh_etcd_perms_free. */
int rh_etcd_user_roles(struct rh_etcd *c, const char *user, char ***roles,
                       size_t *n, struct rh_err *err);
int rh_etcd_role_perms(struct rh_etcd *c, const char *role,
                       struct rh_etcd_perm_range **perms, size_t *n,
                       struct rh_err *err);
void rh_etcd_strv_free(char **v, size_t n);
void rh_etcd_perms_free(struct rh_etcd_perm_range *p, size_t n);

/*
 * A watch on a prefix, on its own thread and connection, with the
 * client's settings and credentials as they are when it starts. It
 * reconnects by itself (to the next member when its member dies or
 * loses its leader) and resumes after the last event it delivered, so
 * no change is missed or delivered twice; when history it needed was compacted away it
 * says RH_ETCD_EV_RESYNC (reload everything) and goes on from there.
 * RH_ETCD_EV_DOWN says every member was lost (events may be late),
 * RH_ETCD_EV_UP that it is back (missed events follow at once).
 * The callback runs on the watch's thread and must not stop the watch.
 */
enum rh_etcd_event_type {
	RH_ETCD_EV_PUT, RH_ETCD_EV_DELETE, RH_ETCD_EV_RESYNC,
	RH_ETCD_EV_DOWN, RH_ETCD_EV_UP
};
struct rh_etcd_event {
	enum rh_etcd_event_type type;
	const char *key;        /* PUT, DELETE */
	size_t key_len;
	const char *value;      /* PUT */
	size_t value_len;
	int64_t mod_revision;   /* RESYNC: where history now starts */
};
typedef void (*rh_etcd_watch_cb)(void *arg, const struct rh_etcd_event *ev);
struct rh_etcd_watch;
/* Watch every key below prefix from start_revision (0: from now). Waits
 * (within the timeout) for the first answer: a refusal is an error
 * (-EACCES), an unreachable etcd is not (the watch keeps trying). */
int rh_etcd_watch_start(struct rh_etcd *c, const char *prefix,
                        size_t prefix_len, int64_t start_revision,
                        rh_etcd_watch_cb cb, void *arg,
                        struct rh_etcd_watch **out, struct rh_err *err);
/* The same for one key alone. */
int rh_etcd_watch_key(struct rh_etcd *c, const char *key, size_t key_len,
                      int64_t start_revision, rh_etcd_watch_cb cb, void *arg,
                      struct rh_etcd_watch **out, struct rh_err *err);
void rh_etcd_watch_stop(struct rh_etcd_watch *w);

/* ---- login.c: ~/.rh/login.json (written by rh login, read by rhfs) ---- */
/* Mode 0600; the password is kept to renew expired etcd tokens. */
struct rh_login {
	char *url, *user, *password, *ca_file, *prefix;
};
/* -ENOENT: not logged in. prefix defaults to "/rh". */
int rh_login_load(struct rh_login *out, struct rh_err *err);
int rh_login_save(const struct rh_login *l, struct rh_err *err); /* atomic, 0600 */
int rh_login_remove(struct rh_err *err);
void rh_login_free(struct rh_login *l);

/* ---- crypt.c, secret-local.c: secrets ---------------------- */
/*
 * crypt.c: a secret's field value sealed with AES-256-GCM under a 32-byte
 * key, the secret's address and the field's name bound as associated data;
 * the sealed form is versioned JSON text. Opening fails with -EACCES for
 * a wrong key or changed, moved or swapped ciphertext, -EIO for bytes
 * that are not a sealed value; err then names the secret and field and
 * never holds a value. Plaintext results are sized once and must be
 * released with rh_buf_cleanse.
 */
#define RH_KEY_LEN 32
int rh_key_random(unsigned char *key);
int rh_seal(const unsigned char *key, const char *addr, const char *field,
            const void *pt, size_t len, struct rh_buf *out);
int rh_unseal(const unsigned char *key, const char *addr, const char *field,
              const char *data, size_t len, struct rh_buf *out,
              struct rh_err *err);
/* The SHA-256 of len bytes at data as lower-case hex, NUL-ended, into
 * hex (RH_SHA256_HEX bytes); 0 or -EIO. */
#define RH_SHA256_HEX 65
int rh_sha256_hex(const void *data, size_t len, char *hex);
/* The length of the value sealed in data (no key needed), or -EIO. */
ssize_t rh_sealed_len(const char *data, size_t len);
/* A secrets key wrapped for user under a key derived from password
 * (scrypt, random salt; the parameters are stored with it). A wrong
 * password is -EACCES. */
int rh_key_wrap(const unsigned char *key, const char *password,
                const char *user, struct rh_buf *out);
int rh_key_unwrap(const char *data, size_t len, const char *password,
                  const char *user, unsigned char *key, struct rh_err *err);
/* Zero the whole buffer, then free it. */
void rh_buf_cleanse(struct rh_buf *b);

/* secret-local.c: values of `~` secrets (store path, field), sealed under
 * the random key $HOME/.rh/secrets.key (0600, made on first put) and kept
 * in $HOME/.rh/secrets/PATH/FIELD (0600, directories 0700). get gives
 * -ENOENT (err untouched) when the field has no value yet. */
char *rh_secret_local_keyfile(void);
int rh_secret_local_key(unsigned char *key, int create, struct rh_err *err);
struct stat;
int rh_secret_local_get(const char *path, const char *field,
                        struct rh_buf *out, struct stat *st,
                        struct rh_err *err);
/* st of the stored value, st_size the value's length. */
int rh_secret_local_stat(const char *path, const char *field,
                         struct stat *st);
int rh_secret_local_put(const char *path, const char *field,
                        const void *data, size_t len, struct rh_err *err);
int rh_secret_local_remove(const char *path, const char *field);
/* The secrets at and below from now live at to: every value re-sealed
 * for its new address. */
int rh_secret_local_move(const char *from, const char *to,
                         struct rh_err *err);
/* Drop every value at and below path (its folder is gone). */
int rh_secret_local_purge(const char *path);
/* secret-remote.c: values of secrets in the shared namespace, sealed
 * under the user's secrets key and kept in etcd at P/s/<top>/<rel>/FIELD.
 * The key is random, made on the first put, and kept at P/k/<user>
 * wrapped under the login password (rh_key_wrap). Addresses are "/top/rel".
 * get gives -ENOENT when the field has no value yet. */
struct rh_secret_remote;
int rh_secret_remote_new(const struct rh_login *l,
                         struct rh_secret_remote **out, struct rh_err *err);
void rh_secret_remote_free(struct rh_secret_remote *sr);
int rh_secret_remote_get(struct rh_secret_remote *sr, const char *addr,
                         const char *field, struct rh_buf *out,
                         struct rh_err *err);
/* The length of a field's value (no key needed). */
int rh_secret_remote_size(struct rh_secret_remote *sr, const char *addr,
                          const char *field, size_t *size);
int rh_secret_remote_put(struct rh_secret_remote *sr, const char *addr,
                         const char *field, const void *data, size_t len,
                         struct rh_err *err);
int rh_secret_remote_remove(struct rh_secret_remote *sr, const char *addr,
                            const char *field);
int rh_secret_remote_purge(struct rh_secret_remote *sr, const char *addr);
/* After the store moved a folder (values moved as they are): re-seal. */
int rh_secret_remote_moved(struct rh_secret_remote *sr, const char *from,
                           const char *to, struct rh_err *err);
/* rh passwd: P/k/<user> unwrapped with oldpw, wrapped under newpw. */
int rh_secret_remote_rewrap(struct rh_etcd *etcd, const char *prefix,
                            const char *user, const char *oldpw,
                            const char *newpw, struct rh_err *err);


/* ---- rns-etcd.c: the shared namespace on etcd ------------- */
/*
 * The remote RNS: one store per top folder (address "/<top>"), mirrored
 * from etcd and kept current by a watch; each change one transaction
 * (docs/architecture.md has the keys). An unreachable etcd is not an
 * error at rh_remote_new: stores answer -EHOSTUNREACH (or what etcd.c
 * says) until it is back, and what was loaded stays readable.
 */
struct rh_remote;
struct rh_login;
struct rh_remote_opts {
	const struct rh_login *login;
	long connect_timeout_ms;
	long timeout_ms;
};
int rh_remote_new(const struct rh_remote_opts *o, struct rh_remote **out,
                  struct rh_err *err);
void rh_remote_free(struct rh_remote *rm);
const char *rh_remote_user(const struct rh_remote *rm);
/* Called from the watch's thread after a change made elsewhere: path
 * below the top ("" the top itself), or NULL for everything in it. */
typedef void (*rh_remote_change_cb)(void *arg, const char *top,
                                    const char *path);
void rh_remote_on_change(struct rh_remote *rm, rh_remote_change_cb cb,
                         void *arg);
/* The top folders the user may read, as RH_FOLDER entries. */
int rh_remote_tops(struct rh_remote *rm, rh_list_cb cb, void *arg,
                   struct rh_err *err);
/* The store of a top folder, owned by rm; -ENOENT when there is none. */
int rh_remote_store(struct rh_remote *rm, const char *top,
                    struct rh_store **out);
int rh_store_is_remote(const struct rh_store *s);
/* Every version written of a resource's config, oldest first. */
struct rh_version {
	uint64_t seq;           /* 1, 2, ... */
	char *config;           /* that config.json */
	size_t config_len;
	struct timespec time;   /* when it was written */
	char *author;           /* who wrote it */
	int64_t revision;       /* etcd revision of the record */
};
int rh_store_versions(struct rh_store *s, const char *path,
                      struct rh_version **v, size_t *n);
int rh_store_version_get(struct rh_store *s, const char *path, uint64_t seq,
                         struct rh_version *v);
void rh_versions_free(struct rh_version *v, size_t n);

#endif

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
 * rh_file_replace is atomic (temp file, fsync, rename). */
struct stat;
int rh_file_read(const char *path, size_t max, struct rh_buf *out,
                 struct stat *st);
int rh_file_replace(const char *path, const char *data, size_t len,
                    unsigned mode);

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
void rh_log(enum rh_log_level level, const char *fmt, ...) RH_PRINTF(2, 3);
#define rh_error(...) rh_log(RH_LOG_ERR, __VA_ARGS__)
#define rh_warn(...) rh_log(RH_LOG_WARN, __VA_ARGS__)
#define rh_info(...) rh_log(RH_LOG_INFO, __VA_ARGS__)
#define rh_debug(...) rh_log(RH_LOG_DEBUG, __VA_ARGS__)
/* Copy of the recent log lines, oldest first. */
void rh_log_recent(struct rh_buf *out);

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

/* resource.c: resource types and config validation. */
struct cJSON;
struct rh_type {
	const char *name;       /* resource_type */
	const char *subtype;    /* default resource_subtype */
	int (*validate)(const struct cJSON *cfg, const char *addr,
	                struct rh_err *err);
};
const struct rh_type *rh_type_find(const char *name);
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
int rh_config_save(struct rh_config *c, struct rh_err *err);
void rh_config_free(struct rh_config *c);

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
int rh_ssh_upload(struct rh_ssh *s, const char *local, const char *path,
                  unsigned mode, struct rh_err *err);

#endif

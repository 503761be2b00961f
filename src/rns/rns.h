/*
 * rns.h - the resource namespace (src/rns/): resource types and the
 * validation of their configs, the stores that hold them (the local
 * workdir `~`, the built-ins `^`, the shared namespace on etcd) and the
 * user's own files: ~/.rh/config.yaml and ~/.rh/login.json.
 */
#ifndef RH_RNS_H
#define RH_RNS_H

#include <stdint.h>
#include <time.h>

#include "base.h"

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
/* A send's environment variables: the env_vars of its inline env
 * (Runhouse's Env config); NULL for none (null, no env_vars, or a named
 * env, whose are read when its calls are made: fs/send-setup.c). */
const struct cJSON *rh_send_env_vars(const struct cJSON *cfg);
/* res-env.c: an env's config (stored, or inline in a send: what names
 * it in errors), every field checked; -EINVAL with err otherwise. */
int rh_env_check(const struct cJSON *env, const char *what,
                 struct rh_err *err);
/* Whether a send's env names one: an address (~/..., @/..., /top/...,
 * ^name) or a bare name (res-send.c). */
int rh_env_addr_ok(const char *addr);
/* cfg's field key (a send's env, a cluster's default_env), if present,
 * names an env (rh_env_addr_ok) or holds one (rh_env_check). */
int rh_env_field_check(const struct cJSON *cfg, const char *key,
                       const char *addr, struct rh_err *err);
/* The virtualenv of the env that key names on a node (its address; an
 * inline env's "name:NAME" or "send:ADDR"), relative to the node's home:
 * one per env, named after it, kept across changes of its reqs
 * (res-env.c; fs/send-setup.c makes it, rh notebook --env uses it). */
char *rh_env_venv(const char *key);
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
	int linked;             /* config.json has other hard links */
	int denied;             /* a folder that exists but may not be
	                         * listed: what is shared below is reachable */
};

struct rh_store;
typedef int (*rh_list_cb)(void *arg, const char *name, enum rh_kind kind);
/* A listed name with what stat gives for it (NULL: not wanted). */
typedef int (*rh_list_stat_cb)(void *arg, const char *name,
                               const struct rh_stat *st);
/* Whether a listed name's stat is wanted. */
typedef int (*rh_list_want_cb)(void *arg, const char *name);

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
	/* The same listing with each name's stat, where the store has it
	 * at little more cost (NULL: stat each name), but where want (if
	 * not NULL) says it is not wanted. */
	int (*list_stat)(struct rh_store *s, const char *path,
	                 rh_list_want_cb want, rh_list_stat_cb cb, void *arg);
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
/* The version of a config file with attributes st: its modification
 * time, inode and size together (never 0). */
uint64_t rh_store_file_version(const struct stat *st);
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

/*
 * rns-etcd.c: the shared namespace, on etcd. One store per top folder
 * (address "/<top>"), mirrored from etcd and kept current by a watch;
 * each change one transaction (docs/architecture.md has the keys). An
 * unreachable etcd is not an error at rh_remote_new: stores answer
 * -EHOSTUNREACH (or what etcd.c says) until it is back, and what was
 * loaded stays readable.
 */
struct rh_remote;
struct rh_login;           /* below */
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

/* login.c: ~/.rh/login.json, written by rh login, read by rhfs. Mode
 * 0600; the password is kept to renew expired etcd tokens. */
struct rh_login {
	char *url, *user, *password, *ca_file, *prefix;
};
/* -ENOENT: not logged in. prefix defaults to "/rh". */
int rh_login_load(struct rh_login *out, struct rh_err *err);
int rh_login_save(const struct rh_login *l, struct rh_err *err); /* atomic, 0600 */
int rh_login_remove(struct rh_err *err);
void rh_login_free(struct rh_login *l);

#endif

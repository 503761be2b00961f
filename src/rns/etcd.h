/* etcd.h - the etcd v3 client the shared namespace and its secrets are
 * kept with (src/rns/etcd.c). */
#ifndef RH_ETCD_H
#define RH_ETCD_H

#include <stddef.h>
#include <stdint.h>

#include "base.h"

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
 * the bad one. Free with rh_strs_free. */
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
 * with rh_strs_free, the ranges with rh_etcd_perms_free. */
int rh_etcd_user_roles(struct rh_etcd *c, const char *user, char ***roles,
                       size_t *n, struct rh_err *err);
int rh_etcd_role_perms(struct rh_etcd *c, const char *role,
                       struct rh_etcd_perm_range **perms, size_t *n,
                       struct rh_err *err);
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

#endif

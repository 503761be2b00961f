/*
 * rns-etcd.c - the shared namespace on etcd (docs/architecture.md): one
 * store per top folder, P/n/<top>/<path> a resource's config.json,
 * P/n/<top>/<path>/ the marker of a directory, P/h/<top>/<path>/<seq>
 * every version written.
 *
 * Reads come from a mirror of P/n/<top>/ loaded on first use and kept
 * current by a watch, so that stat and listings cost no round trip and
 * the mount knows what changed. Every change is one etcd transaction,
 * guarded by the mod_revision of each key it touches as the mirror knows
 * it: a mount that has not seen the latest change loses (-EAGAIN) and
 * nothing is half-written.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"

#define PAGE            5000    /* keys per range request when loading */
#define RETRY_NS        1000000000LL    /* a failed load is retried after */
#define DENIED_NS       5000000000LL    /* and a refused one */
#define HIST_DIGITS     10

struct mnode {
	char *path;             /* below the top; "" is the top itself */
	const char *name;       /* last component, inside path */
	struct mnode *parent, *child, *sibling, *hnext;
	int has_res, has_dir;   /* P/n/<top>/<path>, P/n/<top>/<path>/ */
	char *cfg;
	size_t len;
	int64_t res_rev, dir_rev;       /* also of deletions (tombstones) */
	struct timespec mtime;  /* from the marker; 0: unknown */
};

/* In a top folder the user may not list, a first-level path someone
 * shared (rh share): its key and what is below, loaded and watched on
 * their own. */
struct unit {
	char *name;
	int loaded, denied;
	int64_t failed_at, denied_at, checked_at;
	struct rh_etcd_watch *wdir, *wkey;
	struct unit *next;
};

struct top {
	struct rh_remote *rm;
	char *name;
	char *addr;             /* "/<top>": the store's prefix */
	char *nkey;             /* P/n/<top>/ */
	char *hkey;             /* P/h/<top>/ */
	char *skey;             /* P/s/<top>/ */
	struct rh_store store;
	int loaded, denied;
	int64_t failed_at;      /* CLOCK_MONOTONIC ns of the last failed load */
	int64_t denied_at;      /* of the last refusal, asked again later */
	int64_t checked_at;     /* when the right to read it was last seen */
	int down;               /* the watch lost etcd: the mirror may lag */
	struct mnode *root;
	struct mnode **hash;
	size_t nbuckets, nnodes;
	struct rh_etcd_watch *watch;
	struct unit *units;     /* denied: what is reachable below */
	struct top *next;
};

struct rh_remote {
	struct rh_etcd *etcd;
	pthread_mutex_t lock;   /* tops and their mirrors */
	char *user, *prefix, *url, *password;
	int authed;
	struct top *tops;
	struct timespec started;
	rh_remote_change_cb on_change;
	void *change_arg;
};

static const struct rh_store_ops etcd_ops;

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ---- the mirror: a tree of nodes, found by path through a hash ---- */

static size_t
hash_path(const char *p, size_t nbuckets)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	return (size_t)h & (nbuckets - 1);
}

static struct mnode *
mfind(const struct top *t, const char *path)
{
	struct mnode *n;

	if (t->hash == NULL)
		return NULL;
	for (n = t->hash[hash_path(path, t->nbuckets)]; n; n = n->hnext)
		if (strcmp(n->path, path) == 0)
			return n;
	return NULL;
}

static void
mgrow(struct top *t)
{
	struct mnode **old = t->hash, *n, *next;
	size_t i, nold = t->nbuckets;

	t->nbuckets = nold ? nold * 2 : 256;
	t->hash = xcalloc(t->nbuckets, sizeof(*t->hash));
	for (i = 0; i < nold; i++) {
		for (n = old[i]; n; n = next) {
			size_t b = hash_path(n->path, t->nbuckets);

			next = n->hnext;
			n->hnext = t->hash[b];
			t->hash[b] = n;
		}
	}
	free(old);
}

/* The node of path, made (with its parents) when missing. */
static struct mnode *
mget(struct top *t, const char *path)
{
	struct mnode *n = mfind(t, path), *parent;
	const char *slash;
	size_t b;

	if (n != NULL)
		return n;
	if (*path == '\0') {
		parent = NULL;
	} else {
		char *dir = rh_path_dir(path);

		parent = mget(t, dir);
		free(dir);
	}
	if (t->nnodes >= t->nbuckets)
		mgrow(t);
	n = xcalloc(1, sizeof(*n));
	n->path = xstrdup(path);
	slash = strrchr(n->path, '/');
	n->name = slash ? slash + 1 : n->path;
	n->parent = parent;
	if (parent != NULL) {
		n->sibling = parent->child;
		parent->child = n;
	} else {
		t->root = n;
	}
	b = hash_path(path, t->nbuckets);
	n->hnext = t->hash[b];
	t->hash[b] = n;
	t->nnodes++;
	return n;
}

static void
mclear(struct top *t)
{
	struct mnode *n, *next;
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		for (n = t->hash[i]; n; n = next) {
			next = n->hnext;
			free(n->cfg);
			free(n->path);
			free(n);
		}
	}
	free(t->hash);
	t->hash = NULL;
	t->root = NULL;
	t->nbuckets = t->nnodes = 0;
}

/* Present: a resource, a marked directory, or a directory holding one. */
static int
mlive(const struct mnode *n)
{
	const struct mnode *c;

	if (n->has_res || n->has_dir)
		return 1;
	for (c = n->child; c; c = c->sibling)
		if (mlive(c))
			return 1;
	return 0;
}

/* Empty as rmdir(2) asks: no config, no entry present below. */
static int
mempty(const struct mnode *n)
{
	const struct mnode *c;

	if (n->has_res)
		return 0;
	for (c = n->child; c; c = c->sibling)
		if (mlive(c))
			return 0;
	return 1;
}

/* "time" of a marker's value: when its directory or config last changed. */
static void
marker_time(const char *v, size_t len, struct timespec *ts)
{
	cJSON *j = len ? rh_json_parse(v, len, "a marker", NULL) : NULL;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "time");
	struct tm tm;

	memset(ts, 0, sizeof(*ts));
	memset(&tm, 0, sizeof(tm));
	if (cJSON_IsString(t) &&
	    strptime(t->valuestring, "%Y-%m-%dT%H:%M:%SZ", &tm) != NULL)
		ts->tv_sec = timegm(&tm);
	cJSON_Delete(j);
}

/* Apply one key's state at revision rev, unless the mirror knows a later
 * one (a watch event older than this mount's own write). 1 if changed. */
static int
mapply(struct top *t, const char *suffix, size_t slen, int present,
       const char *value, size_t vlen, int64_t rev)
{
	int dir = slen > 0 && suffix[slen - 1] == '/';
	char *path = xstrndup(suffix, dir ? slen - 1 : slen);
	struct mnode *n;

	if (rh_path_check(path, NULL) < 0 && *path != '\0') {
		free(path);
		return 0;       /* not a key rhfs would write */
	}
	n = mget(t, path);
	free(path);
	if (dir) {
		if (rev != 0 && rev < n->dir_rev)
			return 0;
		n->has_dir = present;
		n->dir_rev = rev;
		if (present)
			marker_time(value, vlen, &n->mtime);
		return 1;
	}
	if (rev != 0 && rev < n->res_rev)
		return 0;
	free(n->cfg);
	n->cfg = present ? xstrndup(value, vlen) : NULL;
	n->len = present ? vlen : 0;
	n->has_res = present;
	n->res_rev = rev;
	return 1;
}

/* ---- keys ---- */

static char *
nkey(const struct top *t, const char *path, int dir)
{
	return xasprintf("%s%s%s", t->nkey, path, dir && *path ? "/" : "");
}

static char *
iso_now(void)
{
	char buf[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(buf);
}

/* A directory marker's value: when and by whom it last changed. */
static char *
marker_value(const struct rh_remote *rm)
{
	cJSON *j = cJSON_CreateObject();
	char *now = iso_now(), *s;

	cJSON_AddStringToObject(j, "time", now);
	cJSON_AddStringToObject(j, "author", rm->user);
	s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	free(now);
	return s;
}

/* ---- loading a top and following it ---- */

static void notify(struct rh_remote *rm, struct top *t, const char *path);

static void
on_event(void *arg, const struct rh_etcd_event *ev)
{
	struct top *t = arg;
	struct rh_remote *rm = t->rm;
	struct unit *u;
	size_t plen = strlen(t->nkey);
	char *path = NULL;
	int changed = 0;

	switch (ev->type) {
	case RH_ETCD_EV_PUT:
	case RH_ETCD_EV_DELETE:
		if (ev->key_len < plen)
			return;
		pthread_mutex_lock(&rm->lock);
		changed = mapply(t, ev->key + plen, ev->key_len - plen,
		                 ev->type == RH_ETCD_EV_PUT, ev->value,
		                 ev->value_len, ev->mod_revision);
		pthread_mutex_unlock(&rm->lock);
		if (!changed)
			return;
		path = xstrndup(ev->key + plen, ev->key_len - plen);
		if (*path && path[strlen(path) - 1] == '/')
			path[strlen(path) - 1] = '\0';
		notify(rm, t, path);
		free(path);
		return;
	case RH_ETCD_EV_RESYNC:
		/* history it needed is gone: load again at next use */
		rh_info("%s: reloading from etcd (history compacted)", t->addr);
		pthread_mutex_lock(&rm->lock);
		t->loaded = 0;
		for (u = t->units; u; u = u->next)
			u->loaded = 0;
		pthread_mutex_unlock(&rm->lock);
		notify(rm, t, NULL);
		return;
	case RH_ETCD_EV_DOWN:
		rh_warn("%s: lost etcd at %s; showing what was last seen",
		        t->addr, rm->url);
		t->down = 1;
		return;
	case RH_ETCD_EV_UP:
		rh_info("%s: etcd at %s is back", t->addr, rm->url);
		t->down = 0;
		return;
	}
}

static void
notify(struct rh_remote *rm, struct top *t, const char *path)
{
	if (rm->on_change != NULL)
		rm->on_change(rm->change_arg, t->name, path);
}

/* Log in if not yet (etcd was down at mount). Called without the lock. */
static int
ensure_auth(struct rh_remote *rm, struct rh_err *err)
{
	int r;

	if (rm->authed)
		return 0;
	r = rh_etcd_auth(rm->etcd, rm->user, rm->password, err);
	if (r == 0)
		rm->authed = 1;
	return r;
}

/* Everything below P/n/<top>/ at one revision, page by page. */
static int
load_range(struct top *t, const char *prefix, struct rh_etcd_kvs *all,
           struct rh_err *err)
{
	struct rh_etcd_op op;
	struct rh_etcd_kvs page;
	char *from = xstrdup(prefix), *end;
	size_t plen = strlen(prefix), i;
	int64_t rev = all->revision;
	int r = 0;

	memset(all, 0, sizeof(*all));
	all->revision = rev;
	end = xstrdup(prefix);
	end[plen - 1]++;        /* '/' + 1: the end of the prefix */
	for (;;) {
		memset(&op, 0, sizeof(op));
		op.type = RH_ETCD_RANGE;
		op.key = from;
		op.key_len = strlen(from);
		op.end = end;
		op.end_len = plen;
		op.limit = PAGE;
		op.revision = all->revision;
		if ((r = rh_etcd_range(t->rm->etcd, &op, &page, err)) < 0) {
			rh_etcd_kvs_free(all);
			break;
		}
		if (all->revision == 0)
			all->revision = page.revision;
		all->kv = xrealloc(all->kv, (all->n + page.n + 1) *
		                   sizeof(*all->kv));
		for (i = 0; i < page.n; i++)
			all->kv[all->n++] = page.kv[i];
		free(page.kv);
		if (!page.more || page.n == 0)
			break;
		free(from);
		from = xasprintf("%s%c", all->kv[all->n - 1].key, '\0');
		from = xrealloc(from, all->kv[all->n - 1].key_len + 2);
		memcpy(from, all->kv[all->n - 1].key,
		       all->kv[all->n - 1].key_len);
		from[all->kv[all->n - 1].key_len] = '\x01';
		from[all->kv[all->n - 1].key_len + 1] = '\0';
	}
	free(from);
	free(end);
	return r;
}

/* Make the mirror of t current; called without the lock. */
static int
load(struct top *t, struct rh_err *err)
{
	struct rh_remote *rm = t->rm;
	struct rh_etcd_kvs all;
	struct rh_etcd_watch *w = NULL;
	size_t plen = strlen(t->nkey), i;
	int r;

	pthread_mutex_lock(&rm->lock);
	if (t->denied && now_ns() - t->denied_at >= DENIED_NS)
		t->denied = 0;  /* shared or granted since? asked again */
	if (t->loaded || t->denied) {
		pthread_mutex_unlock(&rm->lock);
		return 0;
	}
	if (t->failed_at && now_ns() - t->failed_at < RETRY_NS) {
		pthread_mutex_unlock(&rm->lock);
		return rh_err_set(err, EHOSTUNREACH, "%s: etcd at %s is not "
		                  "reachable", t->addr, rm->url);
	}
	pthread_mutex_unlock(&rm->lock);
	all.revision = 0;
	if ((r = ensure_auth(rm, err)) < 0 ||
	    (r = load_range(t, t->nkey, &all, err)) < 0) {
		pthread_mutex_lock(&rm->lock);
		if (r == -EACCES && rm->authed) {
			t->denied = 1;
			t->denied_at = now_ns();
		} else
			t->failed_at = now_ns();
		pthread_mutex_unlock(&rm->lock);
		if (r != -EACCES)
			rh_warn("%s: %s", t->addr, err->msg);
		return r;
	}
	if (t->watch == NULL &&
	    rh_etcd_watch_start(rm->etcd, t->nkey, plen, all.revision + 1,
	                        on_event, t, &w, err) < 0)
		rh_warn("%s: no watch, changes from elsewhere are seen late: "
		        "%s", t->addr, err->msg);
	pthread_mutex_lock(&rm->lock);
	mclear(t);
	mgrow(t);
	mget(t, "");
	for (i = 0; i < all.n; i++)
		mapply(t, all.kv[i].key + plen, all.kv[i].key_len - plen, 1,
		       all.kv[i].value, all.kv[i].value_len,
		       all.kv[i].mod_revision);
	t->loaded = 1;
	t->failed_at = 0;
	t->checked_at = now_ns();
	if (w != NULL)
		t->watch = w;
	pthread_mutex_unlock(&rm->lock);
	rh_etcd_kvs_free(&all);
	return 0;
}

/* May this user still read key (with RH_ETCD_PREFIX, what is below)?
 * etcd does not end a watch whose permission was revoked, so what is in
 * use is asked again every DENIED_NS. Unreachable: keep what was seen.
 * Serializable: a member answers alone, so that without a quorum the
 * mirror stays readable at once. */
static int
still_allowed(struct top *t, const char *key, int flags)
{
	struct rh_etcd_op op;
	struct rh_etcd_kvs kvs;
	struct rh_err err;
	int r;

	memset(&op, 0, sizeof(op));
	op.type = RH_ETCD_RANGE;
	op.key = key;
	op.key_len = strlen(key);
	op.flags = flags | RH_ETCD_COUNT_ONLY | RH_ETCD_SERIALIZABLE;
	if ((r = rh_etcd_range(t->rm->etcd, &op, &kvs, &err)) == 0)
		rh_etcd_kvs_free(&kvs);
	return r == -EACCES ? r : 0;
}

/* Access was revoked: nothing of n stays readable. */
static void
mforget(struct mnode *n)
{
	struct mnode *c;

	n->has_res = n->has_dir = 0;
	free(n->cfg);
	n->cfg = NULL;
	n->len = 0;
	for (c = n->child; c; c = c->sibling)
		mforget(c);
}

/* The whole top folder, when the user lost the right to read it. */
static int
recheck_top(struct top *t)
{
	struct rh_remote *rm = t->rm;
	struct rh_etcd_watch *w;

	if (still_allowed(t, t->nkey, RH_ETCD_PREFIX) == 0) {
		pthread_mutex_lock(&rm->lock);
		t->checked_at = now_ns();
		return 0;
	}
	rh_warn("%s: no longer readable by %s", t->addr, rm->user);
	pthread_mutex_lock(&rm->lock);
	t->loaded = 0;
	t->denied = 1;
	t->denied_at = now_ns();
	if (t->root != NULL)
		mforget(t->root);
	w = t->watch;
	t->watch = NULL;
	pthread_mutex_unlock(&rm->lock);
	if (w != NULL)
		rh_etcd_watch_stop(w);
	notify(rm, t, NULL);
	return -EACCES;
}

/* The mirror, loaded; the lock held on success. */
static int
lock_loaded(struct top *t)
{
	struct rh_err err;
	int r = load(t, &err);

	if (r < 0)
		return r;
	pthread_mutex_lock(&t->rm->lock);
	if (t->denied) {
		pthread_mutex_unlock(&t->rm->lock);
		return -EACCES;
	}
	if (t->loaded && now_ns() - t->checked_at >= DENIED_NS) {
		pthread_mutex_unlock(&t->rm->lock);
		if ((r = recheck_top(t)) < 0)
			return r;
	}
	if (!t->loaded) {       /* a resync dropped it meanwhile */
		pthread_mutex_unlock(&t->rm->lock);
		if ((r = load(t, &err)) < 0)
			return r;
		pthread_mutex_lock(&t->rm->lock);
	}
	return 0;
}

/* A shared path, when the share was revoked. */
static int
recheck_unit(struct top *t, struct unit *u)
{
	struct rh_remote *rm = t->rm;
	struct rh_etcd_watch *w1, *w2;
	struct mnode *n;
	char *key = xasprintf("%s%s", t->nkey, u->name);
	int r = still_allowed(t, key, 0);

	free(key);
	pthread_mutex_lock(&rm->lock);
	if (r == 0) {
		u->checked_at = now_ns();
		pthread_mutex_unlock(&rm->lock);
		return 0;
	}
	u->loaded = 0;
	u->denied = 1;
	u->denied_at = now_ns();
	if ((n = mfind(t, u->name)) != NULL)
		mforget(n);
	w1 = u->wdir;
	w2 = u->wkey;
	u->wdir = u->wkey = NULL;
	pthread_mutex_unlock(&rm->lock);
	rh_warn("%s/%s: no longer shared with %s", t->addr, u->name, rm->user);
	if (w1 != NULL)
		rh_etcd_watch_stop(w1);
	if (w2 != NULL)
		rh_etcd_watch_stop(w2);
	notify(rm, t, u->name);
	return -EACCES;
}

/* Load the shared path name of a top folder the user may not list. */
static int
load_unit(struct top *t, const char *name)
{
	struct rh_remote *rm = t->rm;
	struct rh_etcd_kvs all, one;
	struct rh_etcd_watch *w1 = NULL, *w2 = NULL;
	struct rh_etcd_op op;
	struct rh_err err;
	struct unit *u;
	char *key, *pfx;
	size_t plen = strlen(t->nkey), i;
	int r;

	pthread_mutex_lock(&rm->lock);
	for (u = t->units; u && strcmp(u->name, name) != 0; u = u->next)
		;
	if (u == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->name = xstrdup(name);
		u->next = t->units;
		t->units = u;
	}
	if (u->denied && now_ns() - u->denied_at >= DENIED_NS)
		u->denied = 0;
	r = u->denied ? -EACCES : u->loaded ? 1 :
	    u->failed_at && now_ns() - u->failed_at < RETRY_NS ?
	    -EHOSTUNREACH : 0;
	if (r == 1 && now_ns() - u->checked_at < DENIED_NS)
		r = 2;
	pthread_mutex_unlock(&rm->lock);
	if (r == 1)
		return recheck_unit(t, u);
	if (r != 0)
		return r < 0 ? r : 0;
	key = xasprintf("%s%s", t->nkey, name);
	pfx = xasprintf("%s%s/", t->nkey, name);
	memset(&op, 0, sizeof(op));
	op.type = RH_ETCD_RANGE;
	op.key = key;
	op.key_len = strlen(key);
	all.revision = 0;
	if ((r = ensure_auth(rm, &err)) == 0 &&
	    (r = rh_etcd_range(rm->etcd, &op, &one, &err)) == 0) {
		all.revision = one.revision;
		if ((r = load_range(t, pfx, &all, &err)) < 0)
			rh_etcd_kvs_free(&one);
	}
	if (r == 0 && u->wdir == NULL &&
	    (rh_etcd_watch_start(rm->etcd, pfx, strlen(pfx), all.revision + 1,
	                         on_event, t, &w1, &err) < 0 ||
	     rh_etcd_watch_key(rm->etcd, key, strlen(key), all.revision + 1,
	                       on_event, t, &w2, &err) < 0))
		rh_warn("%s/%s: no watch, changes from elsewhere are seen "
		        "late: %s", t->addr, name, err.msg);
	pthread_mutex_lock(&rm->lock);
	if (r < 0) {
		if (r == -EACCES) {
			u->denied = 1;
			u->denied_at = now_ns();
		} else {
			u->failed_at = now_ns();
		}
	} else {
		if (t->hash == NULL) {
			mgrow(t);
			mget(t, "");
		}
		for (i = 0; i < one.n; i++)
			mapply(t, one.kv[i].key + plen, one.kv[i].key_len - plen,
			       1, one.kv[i].value, one.kv[i].value_len,
			       one.kv[i].mod_revision);
		for (i = 0; i < all.n; i++)
			mapply(t, all.kv[i].key + plen, all.kv[i].key_len - plen,
			       1, all.kv[i].value, all.kv[i].value_len,
			       all.kv[i].mod_revision);
		u->loaded = 1;
		u->failed_at = 0;
		u->checked_at = now_ns();
		if (w1 != NULL && w2 != NULL) {
			u->wdir = w1;
			u->wkey = w2;
		}
	}
	pthread_mutex_unlock(&rm->lock);
	if (r == 0) {
		rh_etcd_kvs_free(&one);
		rh_etcd_kvs_free(&all);
	} else if (r != -EACCES) {
		rh_warn("%s/%s: %s", t->addr, name, err.msg);
	}
	if (w1 != NULL && (r < 0 || w2 == NULL))
		rh_etcd_watch_stop(w1);
	if (w2 != NULL && r < 0)
		rh_etcd_watch_stop(w2);
	free(key);
	free(pfx);
	return r;
}

/* lock_loaded, for path: in a top folder the user may not list, what is
 * shared below it. *n is path's node in the mirror (NULL: none). */
static int
lock_path(struct top *t, const char *path, struct mnode **n)
{
	const char *slash;
	char *name;
	int r = lock_loaded(t);

	*n = NULL;
	if (r == -EACCES && t->denied && *path != '\0') {
		slash = strchr(path, '/');
		name = slash ? xstrndup(path, (size_t)(slash - path)) :
		       xstrdup(path);
		r = load_unit(t, name);
		free(name);
		if (r == 0)
			pthread_mutex_lock(&t->rm->lock);
	}
	if (r == 0)
		*n = mfind(t, path);
	return r;
}

/* ---- reads ---- */

static struct top *
top_of(struct rh_store *s)
{
	return s->priv;
}

static int
etcd_stat(struct rh_store *s, const char *path, struct rh_stat *st)
{
	struct top *t = top_of(s);
	struct mnode *n;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = lock_path(t, path, &n)) < 0) {
		if (r == -EACCES && *path == '\0') {
			/* reachable, not listable: what is shared below */
			st->kind = RH_FOLDER;
			st->denied = 1;
			st->mtime = st->ctime = t->rm->started;
			return 0;
		}
		return r;
	}
	if (n != NULL && (mlive(n) || *path == '\0')) {
		st->kind = n->has_res ? RH_RESOURCE : RH_FOLDER;
		st->config_size = n->len;
		st->version = (uint64_t)n->res_rev;
		st->mtime = n->mtime.tv_sec ? n->mtime : t->rm->started;
		st->ctime = st->mtime;
	}
	pthread_mutex_unlock(&t->rm->lock);
	return 0;
}

static int
etcd_get(struct rh_store *s, const char *path, struct rh_buf *out,
         uint64_t *version)
{
	struct top *t = top_of(s);
	struct mnode *n;
	int r;

	if ((r = lock_path(t, path, &n)) < 0)
		return r;
	if (n == NULL || !n->has_res) {
		r = -ENOENT;
	} else {
		rh_buf_truncate(out, 0);
		rh_buf_append(out, n->cfg, n->len);
		if (version != NULL)
			*version = (uint64_t)n->res_rev;
	}
	pthread_mutex_unlock(&t->rm->lock);
	return r;
}

struct name_kind {
	char *name;
	struct rh_stat st;
};

/* path's names to cb with their kind, or to scb with their stat (what
 * etcd_stat gives for each; NULL where want says it is not wanted). */
static int
etcd_walk(struct rh_store *s, const char *path, rh_list_cb cb,
          rh_list_want_cb want, rh_list_stat_cb scb, void *arg)
{
	struct top *t = top_of(s);
	struct name_kind *v = NULL;
	struct mnode *n, *c;
	size_t nv = 0, i;
	int r;

	if ((r = lock_path(t, path, &n)) < 0)
		return r;
	if (n == NULL || (!mlive(n) && *path != '\0')) {
		pthread_mutex_unlock(&t->rm->lock);
		return -ENOENT;
	}
	/* copied out: the callback may call the store again */
	for (c = n->child; c; c = c->sibling) {
		if (!mlive(c))
			continue;
		v = xrealloc(v, (nv + 1) * sizeof(*v));
		v[nv].name = xstrdup(c->name);
		memset(&v[nv].st, 0, sizeof(v[nv].st));
		v[nv].st.kind = c->has_res ? RH_RESOURCE : RH_FOLDER;
		v[nv].st.config_size = c->len;
		v[nv].st.version = (uint64_t)c->res_rev;
		v[nv].st.mtime = c->mtime.tv_sec ? c->mtime : t->rm->started;
		v[nv].st.ctime = v[nv].st.mtime;
		nv++;
	}
	pthread_mutex_unlock(&t->rm->lock);
	for (i = 0; i < nv; i++) {
		if (r == 0)
			r = scb == NULL ? cb(arg, v[i].name, v[i].st.kind) :
			    want != NULL && !want(arg, v[i].name) ?
			    scb(arg, v[i].name, NULL) :
			    scb(arg, v[i].name, &v[i].st);
		free(v[i].name);
	}
	free(v);
	return r;
}

static int
etcd_list(struct rh_store *s, const char *path, rh_list_cb cb, void *arg)
{
	return etcd_walk(s, path, cb, NULL, NULL, arg);
}

static int
etcd_list_stat(struct rh_store *s, const char *path, rh_list_want_cb want,
               rh_list_stat_cb cb, void *arg)
{
	return etcd_walk(s, path, NULL, want, cb, arg);
}

/* ---- writes: one transaction each ---- */

struct txn {
	struct rh_etcd_cmp *cmp;
	size_t ncmp;
	struct rh_etcd_op *ops;
	size_t nops;
	char **owned;           /* keys and values to free */
	size_t nowned;
};

static char *
own(struct txn *x, char *s)
{
	x->owned = xrealloc(x->owned, (x->nowned + 1) * sizeof(*x->owned));
	x->owned[x->nowned++] = s;
	return s;
}

/* key's mod_revision must still be rev (0: the key must not exist). */
static void
tx_cmp(struct txn *x, const char *key, int64_t rev)
{
	struct rh_etcd_cmp *c;

	x->cmp = xrealloc(x->cmp, (x->ncmp + 1) * sizeof(*x->cmp));
	c = &x->cmp[x->ncmp++];
	memset(c, 0, sizeof(*c));
	c->key = key;
	c->key_len = strlen(key);
	c->target = RH_ETCD_MOD;
	c->result = RH_ETCD_EQUAL;
	c->number = rev;
}

static void
tx_put(struct txn *x, const char *key, const char *value, size_t len)
{
	struct rh_etcd_op *o;

	x->ops = xrealloc(x->ops, (x->nops + 1) * sizeof(*x->ops));
	o = &x->ops[x->nops++];
	memset(o, 0, sizeof(*o));
	o->type = RH_ETCD_PUT;
	o->key = key;
	o->key_len = strlen(key);
	o->value = value;
	o->value_len = len;
}

static void
tx_del(struct txn *x, const char *key, size_t key_len)
{
	struct rh_etcd_op *o;

	x->ops = xrealloc(x->ops, (x->nops + 1) * sizeof(*x->ops));
	o = &x->ops[x->nops++];
	memset(o, 0, sizeof(*o));
	o->type = RH_ETCD_DELETE;
	o->key = key;
	o->key_len = key_len;
}

/* key deleted, if its mod_revision is still rev. */
static void
tx_take(struct txn *x, const char *key, int64_t rev)
{
	tx_cmp(x, key, rev);
	tx_del(x, key, strlen(key));
}

/* A fresh directory marker put at key. */
static void
tx_put_marker(struct top *t, struct txn *x, const char *key)
{
	char *marker = own(x, marker_value(t->rm));

	tx_put(x, key, marker, strlen(marker));
}

static void
tx_free(struct txn *x)
{
	rh_strs_free(x->owned, x->nowned);
	free(x->cmp);
	free(x->ops);
}

/* Run it; on success the mirror takes its puts and deletes of P/n keys
 * at the new revision. -EAGAIN when a compare failed. */
static int
tx_run(struct top *t, struct txn *x, const char *what, const char *path)
{
	struct rh_remote *rm = t->rm;
	struct rh_etcd_txn txn;
	struct rh_etcd_txn_result res;
	struct rh_err err;
	size_t plen = strlen(t->nkey), i;
	int r;

	memset(&txn, 0, sizeof(txn));
	txn.cmp = x->cmp;
	txn.ncmp = x->ncmp;
	txn.success = x->ops;
	txn.nsuccess = x->nops;
	if ((r = ensure_auth(rm, &err)) == 0)
		r = rh_etcd_txn(rm->etcd, &txn, &res, &err);
	if (r < 0) {
		if (r == -EINVAL && x->nops > 64) {
			rh_warn("%s%s%s: %s: %zu keys are more than one etcd "
			        "transaction may change (etcd --max-txn-ops)",
			        t->addr, *path ? "/" : "", path, what, x->nops);
			return -E2BIG;
		}
		rh_warn("%s%s%s: %s: %s", t->addr, *path ? "/" : "", path,
		        what, err.msg);
		return r;
	}
	if (!res.succeeded) {
		rh_etcd_txn_result_free(&res);
		rh_warn("%s%s%s: %s refused: changed by someone else since "
		        "this mount saw it", t->addr, *path ? "/" : "", path,
		        what);
		return -EAGAIN;
	}
	pthread_mutex_lock(&rm->lock);
	for (i = 0; i < x->nops && t->hash != NULL; i++) {
		const struct rh_etcd_op *o = &x->ops[i];

		if (o->key_len < plen || memcmp(o->key, t->nkey, plen) != 0)
			continue;
		mapply(t, o->key + plen, o->key_len - plen,
		       o->type == RH_ETCD_PUT, o->value, o->value_len,
		       res.revision);
	}
	pthread_mutex_unlock(&rm->lock);
	rh_etcd_txn_result_free(&res);
	return 0;
}

/* The number of versions kept of path (the next is one more). */
static int
history_count(struct top *t, const char *path, int64_t *count)
{
	struct rh_etcd_op op;
	struct rh_etcd_kvs kvs;
	struct rh_err err;
	char *key = xasprintf("%s%s/", t->hkey, path);
	int r;

	memset(&op, 0, sizeof(op));
	op.type = RH_ETCD_RANGE;
	op.key = key;
	op.key_len = strlen(key);
	op.flags = RH_ETCD_PREFIX | RH_ETCD_COUNT_ONLY;
	r = rh_etcd_range(t->rm->etcd, &op, &kvs, &err);
	free(key);
	if (r < 0) {
		rh_warn("%s/%s: versions: %s", t->addr, path, err.msg);
		return r;
	}
	*count = kvs.count;
	rh_etcd_kvs_free(&kvs);
	return 0;
}

/* The version record of a config: {"config", "time", "author",
 * "etcd_revision" (of the config it replaced; 0: none)}. */
static char *
history_value(const struct rh_remote *rm, const char *data, size_t len,
              int64_t replaced)
{
	cJSON *j = cJSON_CreateObject(), *cfg;
	char *now = iso_now(), *s;

	cfg = rh_json_parse(data, len, "a config", NULL);
	cJSON_AddItemToObject(j, "config", cfg ? cfg : cJSON_CreateNull());
	cJSON_AddStringToObject(j, "time", now);
	cJSON_AddStringToObject(j, "author", rm->user);
	cJSON_AddNumberToObject(j, "etcd_revision", (double)replaced);
	s = rh_json_print(j, 0);
	cJSON_Delete(j);
	free(now);
	return s;
}

/* The directory that will hold path exists (the top itself always). */
static int
parent_ok(struct top *t, const char *path, struct txn *x)
{
	char *dir = rh_path_dir(path);
	struct mnode *p = mfind(t, dir);
	int r = 0;

	if (*dir != '\0' && (p == NULL || !mlive(p)))
		r = -ENOENT;
	else if (*dir != '\0' && p->has_dir)
		tx_cmp(x, own(x, nkey(t, dir, 1)), p->dir_rev);
	free(dir);
	return r;
}

static int
etcd_put(struct rh_store *s, const char *path, const char *data, size_t len,
         uint64_t expect)
{
	struct top *t = top_of(s);
	struct txn x = { 0 };
	struct mnode *n;
	int64_t rev, dir_rev, count;
	char *hist;
	int r, has_dir;

	if (*path == '\0')
		return -EINVAL;
	if ((r = lock_path(t, path, &n)) < 0)
		return r;
	if (n == NULL || !mlive(n)) {
		pthread_mutex_unlock(&t->rm->lock);
		return -ENOENT;         /* its directory must exist */
	}
	rev = n->res_rev * (n->has_res != 0);
	dir_rev = n->dir_rev * (n->has_dir != 0);
	has_dir = n->has_dir;
	pthread_mutex_unlock(&t->rm->lock);
	if (expect != 0 && (uint64_t)rev != expect)
		return -EAGAIN;
	if ((r = history_count(t, path, &count)) < 0)
		return r;
	tx_cmp(&x, own(&x, nkey(t, path, 0)), rev);
	if (has_dir)
		tx_cmp(&x, own(&x, nkey(t, path, 1)), dir_rev);
	tx_put(&x, own(&x, nkey(t, path, 0)), data, len);
	tx_put_marker(t, &x, own(&x, nkey(t, path, 1)));
	hist = own(&x, history_value(t->rm, data, len, rev));
	tx_put(&x, own(&x, xasprintf("%s%s/%0*lld", t->hkey, path,
	                              HIST_DIGITS, (long long)count + 1)),
	       hist, strlen(hist));
	r = tx_run(t, &x, "saving config.json", path);
	tx_free(&x);
	return r;
}

static int
etcd_mkdir(struct rh_store *s, const char *path)
{
	struct top *t = top_of(s);
	struct txn x = { 0 };
	struct mnode *n;
	int r;

	if (*path == '\0')
		return -EEXIST;
	if ((r = lock_path(t, path, &n)) < 0)
		return r;
	if (n != NULL && mlive(n))
		r = -EEXIST;
	else
		r = parent_ok(t, path, &x);
	if (r == 0) {
		tx_cmp(&x, own(&x, nkey(t, path, 1)), 0);
		tx_cmp(&x, own(&x, nkey(t, path, 0)), 0);
	}
	pthread_mutex_unlock(&t->rm->lock);
	if (r == 0) {
		tx_put_marker(t, &x, own(&x, nkey(t, path, 1)));
		r = tx_run(t, &x, "mkdir", path);
	}
	tx_free(&x);
	return r;
}

static int
etcd_rmdir(struct rh_store *s, const char *path)
{
	struct top *t = top_of(s);
	struct txn x = { 0 };
	struct mnode *n;
	int r = 0;

	if (*path == '\0')
		return -EBUSY;
	if ((r = lock_path(t, path, &n)) < 0)
		return r;
	if (n == NULL || !mlive(n))
		r = -ENOENT;
	else if (!mempty(n))
		r = -ENOTEMPTY;
	if (r == 0 && n->has_dir)
		tx_take(&x, own(&x, nkey(t, path, 1)), n->dir_rev);
	pthread_mutex_unlock(&t->rm->lock);
	if (r == 0 && x.nops > 0)
		r = tx_run(t, &x, "rmdir", path);
	tx_free(&x);
	return r;
}

static int
etcd_remove(struct rh_store *s, const char *path)
{
	struct top *t = top_of(s);
	struct txn x = { 0 };
	struct mnode *n;
	int r = 0;

	if ((r = lock_path(t, path, &n)) < 0)
		return r;
	if (n == NULL || !n->has_res) {
		r = -ENOENT;
	} else {
		/* the directory stays, a folder now */
		tx_cmp(&x, own(&x, nkey(t, path, 0)), n->res_rev);
		tx_cmp(&x, own(&x, nkey(t, path, 1)),
		       n->has_dir ? n->dir_rev : 0);
	}
	pthread_mutex_unlock(&t->rm->lock);
	if (r == 0) {
		tx_del(&x, x.cmp[0].key, x.cmp[0].key_len);
		tx_put_marker(t, &x, x.cmp[1].key);
		r = tx_run(t, &x, "removing config.json", path);
	}
	tx_free(&x);
	return r;
}

/* Direct range of every key below prefix (history, secrets). */
static int
range_prefix(struct top *t, const char *prefix, struct rh_etcd_kvs *out)
{
	struct rh_etcd_op op;
	struct rh_err err;
	int r;

	memset(&op, 0, sizeof(op));
	op.type = RH_ETCD_RANGE;
	op.key = prefix;
	op.key_len = strlen(prefix);
	op.flags = RH_ETCD_PREFIX;
	if ((r = rh_etcd_range(t->rm->etcd, &op, out, &err)) < 0)
		rh_warn("%s: %s", t->addr, err.msg);
	return r;
}

/* from's node and everything below it, in the mirror, into the txn:
 * each key compared, deleted, and put again under to. */
static void
move_nodes(struct top *t, struct mnode *n, const char *from, const char *to,
           struct txn *x)
{
	size_t flen = strlen(from);
	struct mnode *c;
	char *npath = xasprintf("%s%s", to, n->path + flen);
	char *naddr, *out = NULL;
	size_t outlen;

	if (n->has_res) {
		tx_take(x, own(x, nkey(t, n->path, 0)), n->res_rev);
		/* the name fields follow */
		naddr = rh_address(t->addr, npath);
		if (rh_config_readdress(n->cfg, n->len, naddr, &out,
		                        &outlen) == 0 && out != NULL)
			tx_put(x, own(x, nkey(t, npath, 0)), own(x, out),
			       outlen);
		else
			tx_put(x, own(x, nkey(t, npath, 0)), n->cfg, n->len);
		free(naddr);
		tx_cmp(x, x->ops[x->nops - 1].key, 0);
	}
	if (n->has_dir) {
		tx_take(x, own(x, nkey(t, n->path, 1)), n->dir_rev);
		tx_put_marker(t, x, own(x, nkey(t, npath, 1)));
		tx_cmp(x, x->ops[x->nops - 1].key, 0);
	}
	for (c = n->child; c; c = c->sibling)
		move_nodes(t, c, from, to, x);
	free(npath);
}

/* Keys of another prefix (P/h, P/s) below from, moved as they are. */
static int
move_prefix(struct top *t, const char *base, const char *from,
            const char *to, struct txn *x)
{
	struct rh_etcd_kvs kvs;
	char *pfx = xasprintf("%s%s/", base, from);
	size_t plen = strlen(pfx), i;
	int r = range_prefix(t, pfx, &kvs);

	if (r == -EACCES)
		r = 0;          /* none of ours there */
	for (i = 0; r == 0 && i < kvs.n; i++) {
		const struct rh_etcd_kv *kv = &kvs.kv[i];
		char *okey = own(x, xstrndup(kv->key, kv->key_len));
		char *nk = own(x, xasprintf("%s%s/%s", base, to,
		                            okey + plen));

		tx_cmp(x, okey, kv->mod_revision);
		tx_del(x, okey, kv->key_len);
		tx_put(x, nk, own(x, xstrndup(kv->value, kv->value_len)),
		       kv->value_len);
	}
	if (r == 0)
		rh_etcd_kvs_free(&kvs);
	free(pfx);
	return r;
}

static int
etcd_rename(struct rh_store *s, const char *from, const char *to,
            int noreplace)
{
	struct top *t = top_of(s);
	struct txn x = { 0 };
	struct mnode *n, *d;
	size_t flen = strlen(from);
	int r = 0;

	if (*from == '\0' || *to == '\0')
		return -EBUSY;
	if (strncmp(to, from, flen) == 0 && (to[flen] == '/' ||
	                                     to[flen] == '\0'))
		return strcmp(from, to) == 0 ? 0 : -EINVAL;
	if ((r = lock_path(t, from, &n)) < 0)
		return r;
	d = mfind(t, to);
	if (n == NULL || !mlive(n)) {
		r = -ENOENT;
	} else if (d != NULL && mlive(d)) {
		/* only an empty folder is replaced, as rename(2) does */
		if (noreplace)
			r = -EEXIST;
		else if (!mempty(d))
			r = -ENOTEMPTY;
		if (r == 0 && d->has_dir)
			tx_take(&x, own(&x, nkey(t, to, 1)), d->dir_rev);
	}
	if (r == 0)
		r = parent_ok(t, to, &x);
	if (r == 0)
		move_nodes(t, n, from, to, &x);
	pthread_mutex_unlock(&t->rm->lock);
	/* a moved destination marker must not be compared as absent */
	if (r == 0 && d != NULL) {
		size_t i;
		char *dkey = nkey(t, to, 1);

		for (i = 0; i < x.ncmp; i++)
			if (x.cmp[i].number == 0 &&
			    strcmp(x.cmp[i].key, dkey) == 0)
				x.cmp[i].number = d->dir_rev;
		free(dkey);
	}
	if (r == 0)
		r = move_prefix(t, t->hkey, from, to, &x);
	if (r == 0)
		r = move_prefix(t, t->skey, from, to, &x);
	if (r == 0)
		r = tx_run(t, &x, "moving", from);
	tx_free(&x);
	return r;
}

static void
etcd_destroy(struct rh_store *s)
{
	/* the remote owns its tops */
}

static const struct rh_store_ops etcd_ops = {
	.stat = etcd_stat,
	.get = etcd_get,
	.put = etcd_put,
	.list = etcd_list,
	.list_stat = etcd_list_stat,
	.mkdir = etcd_mkdir,
	.rmdir = etcd_rmdir,
	.remove = etcd_remove,
	.rename = etcd_rename,
	.destroy = etcd_destroy,
};

/* ---- versions ---- */

static int
parse_version(const struct rh_etcd_kv *kv, struct rh_version *v)
{
	const char *slash = memrchr(kv->key, '/', kv->key_len);
	cJSON *j = rh_json_parse(kv->value, kv->value_len, "a version",
	                         NULL);
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
	const cJSON *tm = cJSON_GetObjectItemCaseSensitive(j, "time");
	const cJSON *au = cJSON_GetObjectItemCaseSensitive(j, "author");
	struct tm t;

	memset(v, 0, sizeof(*v));
	if (j == NULL || slash == NULL || !cJSON_IsObject(cfg)) {
		cJSON_Delete(j);
		return -EIO;
	}
	v->seq = strtoull(slash + 1, NULL, 10);
	v->config = rh_json_pretty(cfg);
	v->config_len = strlen(v->config);
	v->author = xstrdup(cJSON_IsString(au) ? au->valuestring : "");
	memset(&t, 0, sizeof(t));
	if (cJSON_IsString(tm) &&
	    strptime(tm->valuestring, "%Y-%m-%dT%H:%M:%SZ", &t) != NULL)
		v->time.tv_sec = timegm(&t);
	v->revision = kv->mod_revision;
	cJSON_Delete(j);
	return 0;
}

int
rh_store_versions(struct rh_store *s, const char *path,
                  struct rh_version **out, size_t *n)
{
	struct top *t;
	struct rh_etcd_kvs kvs;
	char *pfx;
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	if (!rh_store_is_remote(s))
		return -ENOENT;
	t = top_of(s);
	pfx = xasprintf("%s%s/", t->hkey, path);
	r = range_prefix(t, pfx, &kvs);
	free(pfx);
	if (r < 0)
		return r;
	*out = xcalloc(kvs.n + 1, sizeof(**out));
	for (i = 0; i < kvs.n; i++)
		if (parse_version(&kvs.kv[i], &(*out)[*n]) == 0)
			(*n)++;
	rh_etcd_kvs_free(&kvs);
	return 0;
}

int
rh_store_version_get(struct rh_store *s, const char *path, uint64_t seq,
                     struct rh_version *v)
{
	struct top *t;
	struct rh_etcd_kv kv;
	struct rh_err err;
	char *key;
	int r;

	if (!rh_store_is_remote(s) || seq == 0 || seq > 9999999999ull)
		return -ENOENT;
	t = top_of(s);
	key = xasprintf("%s%s/%0*llu", t->hkey, path, HIST_DIGITS,
	                (unsigned long long)seq);
	r = rh_etcd_get(t->rm->etcd, key, strlen(key), &kv, &err);
	free(key);
	if (r < 0)
		return r;
	r = parse_version(&kv, v);
	rh_etcd_kv_free(&kv);
	return r;
}

void
rh_versions_free(struct rh_version *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].config);
		free(v[i].author);
	}
	free(v);
}

/* ---- the remote ---- */

int
rh_store_is_remote(const struct rh_store *s)
{
	return s != NULL && s->ops == &etcd_ops;
}

int
rh_remote_new(const struct rh_remote_opts *o, struct rh_remote **out,
              struct rh_err *err)
{
	struct rh_etcd_opts eo;
	struct rh_remote *rm;
	struct rh_err aerr;
	int r;

	memset(&eo, 0, sizeof(eo));
	eo.url = o->login->url;
	eo.cafile = o->login->ca_file;
	eo.connect_timeout_ms = o->connect_timeout_ms;
	eo.timeout_ms = o->timeout_ms;
	rm = xcalloc(1, sizeof(*rm));
	if ((r = rh_etcd_new(&eo, &rm->etcd, err)) < 0) {
		free(rm);
		return r;
	}
	pthread_mutex_init(&rm->lock, NULL);
	rm->user = xstrdup(o->login->user);
	rm->password = xstrdup(o->login->password);
	rm->url = xstrdup(o->login->url);
	rm->prefix = xstrdup(o->login->prefix ? o->login->prefix : "/rh");
	clock_gettime(CLOCK_REALTIME, &rm->started);
	/* unreachable now is not fatal: logged in at first use */
	if ((r = ensure_auth(rm, &aerr)) < 0)
		rh_warn("%s", aerr.msg);
	*out = rm;
	return 0;
}

void
rh_remote_free(struct rh_remote *rm)
{
	struct top *t, *next;

	if (rm == NULL)
		return;
	for (t = rm->tops; t; t = t->next) {
		struct unit *u, *unext;

		if (t->watch != NULL)
			rh_etcd_watch_stop(t->watch);
		for (u = t->units; u; u = unext) {
			unext = u->next;
			if (u->wdir != NULL)
				rh_etcd_watch_stop(u->wdir);
			if (u->wkey != NULL)
				rh_etcd_watch_stop(u->wkey);
			free(u->name);
			free(u);
		}
	}
	for (t = rm->tops; t; t = next) {
		next = t->next;
		mclear(t);
		free(t->name);
		free(t->addr);
		free(t->nkey);
		free(t->hkey);
		free(t->skey);
		free(t);
	}
	rh_etcd_free(rm->etcd);
	free(rm->user);
	free(rm->password);
	free(rm->url);
	free(rm->prefix);
	pthread_mutex_destroy(&rm->lock);
	free(rm);
}

const char *
rh_remote_user(const struct rh_remote *rm)
{
	return rm->user;
}

void
rh_remote_on_change(struct rh_remote *rm, rh_remote_change_cb cb, void *arg)
{
	rm->on_change = cb;
	rm->change_arg = arg;
}

static struct top *
top_get(struct rh_remote *rm, const char *name)
{
	struct top *t;

	for (t = rm->tops; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	t = xcalloc(1, sizeof(*t));
	t->rm = rm;
	t->name = xstrdup(name);
	t->addr = xasprintf("/%s", name);
	t->nkey = xasprintf("%s/n/%s/", rm->prefix, name);
	t->hkey = xasprintf("%s/h/%s/", rm->prefix, name);
	t->skey = xasprintf("%s/s/%s/", rm->prefix, name);
	t->store.ops = &etcd_ops;
	t->store.prefix = t->addr;
	t->store.priv = t;
	t->next = rm->tops;
	rm->tops = t;
	return t;
}

/* The top folders etcd knows (P/t/), as names. */
static int
known_tops(struct rh_remote *rm, struct rh_etcd_kvs *kvs, struct rh_err *err)
{
	struct rh_etcd_op op;
	char *pfx = xasprintf("%s/t/", rm->prefix);
	int r;

	memset(&op, 0, sizeof(op));
	op.type = RH_ETCD_RANGE;
	op.key = pfx;
	op.key_len = strlen(pfx);
	/* Any member's list will do: the mount's top level stays listable
	 * without a quorum. */
	op.flags = RH_ETCD_PREFIX | RH_ETCD_KEYS_ONLY | RH_ETCD_SERIALIZABLE;
	if ((r = ensure_auth(rm, err)) == 0)
		r = rh_etcd_range(rm->etcd, &op, kvs, err);
	free(pfx);
	return r;
}

int
rh_remote_store(struct rh_remote *rm, const char *name, struct rh_store **out)
{
	struct rh_etcd_kv kv;
	struct rh_err err;
	struct top *t;
	char *key;
	int r, known;

	if (rh_name_check(name, NULL) < 0)
		return -ENOENT;
	pthread_mutex_lock(&rm->lock);
	for (t = rm->tops, known = 0; t && !known; t = t->next)
		known = strcmp(t->name, name) == 0;
	pthread_mutex_unlock(&rm->lock);
	if (!known) {
		key = xasprintf("%s/t/%s", rm->prefix, name);
		if ((r = ensure_auth(rm, &err)) == 0)
			r = rh_etcd_get(rm->etcd, key, strlen(key), &kv, &err);
		free(key);
		if (r < 0)
			return r;
		rh_etcd_kv_free(&kv);
	}
	pthread_mutex_lock(&rm->lock);
	t = top_get(rm, name);
	pthread_mutex_unlock(&rm->lock);
	*out = &t->store;
	return 0;
}

/* etcd unreachable: the top folders already loaded, as last seen. */
static int
cached_tops(struct rh_remote *rm, rh_list_cb cb, void *arg, int why)
{
	struct top *t;
	char **names = NULL;
	size_t n = 0, i;
	int r = 0;

	pthread_mutex_lock(&rm->lock);
	for (t = rm->tops; t; t = t->next) {
		if (!t->loaded || t->denied)
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xstrdup(t->name);
	}
	pthread_mutex_unlock(&rm->lock);
	for (i = 0; i < n; i++) {
		if (r == 0)
			r = cb(arg, names[i], RH_FOLDER);
		free(names[i]);
	}
	free(names);
	return n > 0 ? r : why;
}

int
rh_remote_tops(struct rh_remote *rm, rh_list_cb cb, void *arg,
               struct rh_err *err)
{
	struct rh_etcd_kvs kvs;
	struct rh_store *s;
	struct rh_stat st;
	size_t plen = strlen(rm->prefix) + 3, i;
	int r;

	if ((r = known_tops(rm, &kvs, err)) < 0)
		return cached_tops(rm, cb, arg, r);
	for (i = 0; r == 0 && i < kvs.n; i++) {
		char *name = xstrndup(kvs.kv[i].key + plen,
		                      kvs.kv[i].key_len - plen);

		/* only the tops this user may read are shown */
		if (rh_remote_store(rm, name, &s) == 0 &&
		    etcd_stat(s, "", &st) == 0 && !st.denied)
			r = cb(arg, name, RH_FOLDER);
		free(name);
	}
	rh_etcd_kvs_free(&kvs);
	return r;
}

/* secret-remote.c - the values of secrets in the shared namespace: sealed
 * (crypt.c) under the user's secrets key and kept in etcd at
 * P/s/<top>/<rel>/<field>. The key is random, made on the first write,
 * and kept at P/k/<user> wrapped under a key derived from the login
 * password, so every machine that logs in as the user reads the same
 * values. etcd only ever holds ciphertext. */
#include "config.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"
#include "secret.h"

struct rh_secret_remote {
	pthread_mutex_t lock;   /* the key */
	struct rh_etcd *etcd;
	char *user, *prefix, *password;
	unsigned char key[RH_KEY_LEN];
	int have_key;
};

int
rh_secret_remote_new(const struct rh_login *l, struct rh_secret_remote **out,
                     struct rh_err *err)
{
	struct rh_etcd_opts o;
	struct rh_secret_remote *sr;
	int r;

	memset(&o, 0, sizeof(o));
	o.url = l->url;
	o.cafile = l->ca_file;
	sr = xcalloc(1, sizeof(*sr));
	pthread_mutex_init(&sr->lock, NULL);
	if ((r = rh_etcd_new(&o, &sr->etcd, err)) < 0 ||
	    (l->password != NULL &&
	     (r = rh_etcd_auth(sr->etcd, l->user, l->password, err)) < 0 &&
	     r != -EHOSTUNREACH && r != -ETIMEDOUT)) {
		rh_etcd_free(sr->etcd);
		pthread_mutex_destroy(&sr->lock);
		free(sr);
		return r;
	}
	sr->user = xstrdup(l->user);
	sr->prefix = xstrdup(l->prefix ? l->prefix : "/rh");
	sr->password = l->password ? xstrdup(l->password) : NULL;
	*out = sr;
	return 0;
}

void
rh_secret_remote_free(struct rh_secret_remote *sr)
{
	if (sr == NULL)
		return;
	rh_etcd_free(sr->etcd);
	OPENSSL_cleanse(sr->key, sizeof(sr->key));
	if (sr->password != NULL) {
		OPENSSL_cleanse(sr->password, strlen(sr->password));
		free(sr->password);
	}
	free(sr->user);
	free(sr->prefix);
	pthread_mutex_destroy(&sr->lock);
	free(sr);
}

static char *
key_key(const struct rh_secret_remote *sr, const char *user)
{
	return xasprintf("%s/k/%s", sr->prefix, user);
}

/* The user's secrets key: unwrapped from P/k/<user>, or (create) made,
 * wrapped and stored there first. Call with the lock held. */
static int
get_key(struct rh_secret_remote *sr, int create, struct rh_err *err)
{
	struct rh_etcd_kv kv;
	struct rh_buf w = { 0 };
	char *k;
	int r, tries;

	if (sr->have_key)
		return 0;
	if (sr->password == NULL)
		return rh_err_set(err, EACCES, "%s: the login keeps no "
		                  "password to unwrap the secrets key with; run "
		                  "rh login again", sr->user);
	k = key_key(sr, sr->user);
	for (tries = 0; tries < 2; tries++) {
		memset(&kv, 0, sizeof(kv));
		r = rh_etcd_get(sr->etcd, k, strlen(k), &kv, err);
		if (r == 0) {
			r = rh_key_unwrap(kv.value, kv.value_len,
			                  sr->password, sr->user, sr->key, err);
			rh_etcd_kv_free(&kv);
			sr->have_key = r == 0;
			break;
		}
		if (r != -ENOENT)
			break;
		if (!create) {
			r = rh_err_set(err, EACCES, "%s: no secrets key in "
			               "etcd (%s), so no stored value can be "
			               "read", sr->user, k);
			break;
		}
		/* first secret of this user: a new key; a racing machine's
		 * key wins (create only) and is read back */
		if ((r = rh_key_random(sr->key)) < 0 ||
		    (r = rh_key_wrap(sr->key, sr->password, sr->user,
		                     &w)) < 0) {
			rh_err_set(err, -r, "%s: cannot make a secrets key",
			           sr->user);
			break;
		}
		r = rh_etcd_put_if(sr->etcd, k, strlen(k), w.data, w.len, 0,
		                   NULL, err);
		rh_buf_free(&w);
		if (r == 0) {
			sr->have_key = 1;
			rh_info("made a secrets key for %s at %s", sr->user, k);
			break;
		}
		OPENSSL_cleanse(sr->key, sizeof(sr->key));
		if (r != -EAGAIN)
			break;
	}
	free(k);
	return r;
}

static char *
value_key(const struct rh_secret_remote *sr, const char *addr,
          const char *field)
{
	return xasprintf("%s/s%s/%s", sr->prefix, addr, field);
}

int
rh_secret_remote_get(struct rh_secret_remote *sr, const char *addr,
                     const char *field, struct rh_buf *out,
                     struct rh_err *err)
{
	struct rh_etcd_kv kv;
	char *k = value_key(sr, addr, field);
	int r;

	memset(&kv, 0, sizeof(kv));
	if ((r = rh_etcd_get(sr->etcd, k, strlen(k), &kv, err)) < 0) {
		free(k);
		return r;       /* -ENOENT: no value yet */
	}
	free(k);
	pthread_mutex_lock(&sr->lock);
	if ((r = get_key(sr, 0, err)) == 0)
		r = rh_unseal(sr->key, addr, field, kv.value, kv.value_len,
		              out, err);
	pthread_mutex_unlock(&sr->lock);
	rh_etcd_kv_free(&kv);
	return r;
}

int
rh_secret_remote_size(struct rh_secret_remote *sr, const char *addr,
                      const char *field, size_t *size)
{
	struct rh_etcd_kv kv;
	struct rh_err err;
	char *k = value_key(sr, addr, field);
	ssize_t n;
	int r;

	memset(&kv, 0, sizeof(kv));
	r = rh_etcd_get(sr->etcd, k, strlen(k), &kv, &err);
	free(k);
	if (r < 0)
		return r;
	n = rh_sealed_len(kv.value, kv.value_len);
	rh_etcd_kv_free(&kv);
	*size = n < 0 ? 0 : (size_t)n;
	return 0;
}

int
rh_secret_remote_put(struct rh_secret_remote *sr, const char *addr,
                     const char *field, const void *data, size_t len,
                     struct rh_err *err)
{
	struct rh_buf sealed = { 0 };
	char *k;
	int r;

	pthread_mutex_lock(&sr->lock);
	if ((r = get_key(sr, 1, err)) == 0)
		r = rh_seal(sr->key, addr, field, data, len, &sealed);
	pthread_mutex_unlock(&sr->lock);
	if (r < 0) {
		if (err->msg[0] == '\0')
			rh_err_set(err, -r, "%s/%s: cannot encrypt", addr,
			           field);
		rh_buf_free(&sealed);
		return r;
	}
	k = value_key(sr, addr, field);
	r = rh_etcd_put(sr->etcd, k, strlen(k), sealed.data, sealed.len, NULL,
	                err);
	free(k);
	rh_buf_free(&sealed);
	return r;
}

int
rh_secret_remote_remove(struct rh_secret_remote *sr, const char *addr,
                        const char *field)
{
	struct rh_err err;
	char *k = value_key(sr, addr, field);
	int r = rh_etcd_delete(sr->etcd, k, strlen(k), 0, NULL, &err);

	free(k);
	return r;
}

/* Every value at and below addr ("/top/rel"): its folder's keys end in
 * "/<field>", so the prefix is "P/s/top/rel/". */
int
rh_secret_remote_purge(struct rh_secret_remote *sr, const char *addr)
{
	struct rh_err err;
	char *k = xasprintf("%s/s%s/", sr->prefix, addr);
	int r = rh_etcd_delete(sr->etcd, k, strlen(k), RH_ETCD_PREFIX, NULL,
	                       &err);

	free(k);
	return r;
}

/* A folder moved from one address to another: the store moved its values
 * as they are (in the transaction of the move), still sealed for their
 * old addresses; each is sealed again for its new one. */
int
rh_secret_remote_moved(struct rh_secret_remote *sr, const char *from,
                       const char *to, struct rh_err *err)
{
	struct rh_etcd_op op;
	struct rh_etcd_kvs kvs;
	struct rh_buf pt = { 0 };
	char *pfx = xasprintf("%s/s%s/", sr->prefix, to), *rel, *slash;
	char *oaddr, *naddr;
	const char *field;
	size_t i, plen = strlen(pfx);
	int r;

	memset(&op, 0, sizeof(op));
	op.type = RH_ETCD_RANGE;
	op.key = pfx;
	op.key_len = plen;
	op.flags = RH_ETCD_PREFIX;
	memset(&kvs, 0, sizeof(kvs));
	if ((r = rh_etcd_range(sr->etcd, &op, &kvs, err)) < 0) {
		free(pfx);
		return r;
	}
	for (i = 0; i < kvs.n && r == 0; i++) {
		rel = xstrndup(kvs.kv[i].key + plen, kvs.kv[i].key_len - plen);
		slash = strrchr(rel, '/');
		if (slash != NULL)
			*slash = '\0';
		field = slash ? slash + 1 : rel;
		oaddr = slash ? xasprintf("%s/%s", from, rel) : xstrdup(from);
		naddr = slash ? xasprintf("%s/%s", to, rel) : xstrdup(to);
		pthread_mutex_lock(&sr->lock);
		if ((r = get_key(sr, 0, err)) == 0)
			r = rh_unseal(sr->key, oaddr, field, kvs.kv[i].value,
			              kvs.kv[i].value_len, &pt, err);
		pthread_mutex_unlock(&sr->lock);
		if (r == 0)
			r = rh_secret_remote_put(sr, naddr, field, pt.data,
			                         pt.len, err);
		rh_buf_cleanse(&pt);
		free(oaddr);
		free(naddr);
		free(rel);
	}
	rh_etcd_kvs_free(&kvs);
	free(pfx);
	return r;
}

/* rh passwd: the key unwrapped with the old password, wrapped again
 * under the new one, replaced only if nobody changed it meanwhile. */
int
rh_secret_remote_rewrap(struct rh_etcd *etcd, const char *prefix,
                        const char *user, const char *oldpw,
                        const char *newpw, struct rh_err *err)
{
	unsigned char key[RH_KEY_LEN];
	struct rh_etcd_kv kv;
	struct rh_buf w = { 0 };
	char *k = xasprintf("%s/k/%s", prefix, user);
	int r;

	memset(&kv, 0, sizeof(kv));
	if ((r = rh_etcd_get(etcd, k, strlen(k), &kv, err)) < 0) {
		if (r == -ENOENT)
			r = 0;  /* no secrets yet: nothing to wrap */
		goto out;
	}
	if ((r = rh_key_unwrap(kv.value, kv.value_len, oldpw, user, key,
	                       err)) < 0)
		goto out;
	r = rh_key_wrap(key, newpw, user, &w);
	OPENSSL_cleanse(key, sizeof(key));
	if (r == 0)
		r = rh_etcd_put_if(etcd, k, strlen(k), w.data, w.len,
		                   kv.mod_revision, NULL, err);
	else
		rh_err_set(err, -r, "%s: cannot wrap the secrets key", user);
out:
	rh_etcd_kv_free(&kv);
	rh_buf_free(&w);
	free(k);
	return r;
}

/* secret.c - a secret resource's fields as files. Each name in the
 * config's "fields" is a file (0600, the mounter's): reading it decrypts
 * the stored value, writing it stores the new value sealed (src/secret/crypt.c).
 * Creating a file in a secret adds a field, removing one drops it.
 * Names an editor uses for its own files (starting with '.' or ending in
 * '~') stay scratch files in memory and are never fields.
 *
 * Values never reach a log, an error message or the store's config: only
 * field names and addresses are ever printed. Buffers that held a value
 * are cleansed before they are freed. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base.h"
#include "rns.h"
#include "secret.h"
#include "rhfs.h"

/* values are credentials: a key, a token, a key pair */
#define SECRET_MAX (1024 * 1024)
#define CONFIG_NAME "config.json"

/* An open field. */
struct sec {
	struct rh_store *store;
	char *path;             /* the secret's store path */
	char *field;
};

static int
is_local(const struct rh_store *s)
{
	return strcmp(s->prefix, "~") == 0;
}

/* The config of the secret at path, or NULL when it is none. */
static cJSON *
secret_cfg(struct rh_store *s, const char *path, uint64_t *version)
{
	struct rh_buf b = { 0 };
	const cJSON *t;
	cJSON *cfg = NULL;

	if (s->ops->get(s, path, &b, version) == 0)
		cfg = rh_json_parse(b.data, b.len, path, NULL);
	rh_buf_free(&b);
	t = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (!cJSON_IsString(t) || strcmp(t->valuestring, "secret") != 0) {
		cJSON_Delete(cfg);
		return NULL;
	}
	return cfg;
}

static int
has_field(const cJSON *cfg, const char *name)
{
	const cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(cfg, "fields"))
		if (cJSON_IsString(f) && strcmp(f->valuestring, name) == 0)
			return 1;
	return 0;
}

/* A name that becomes a field when it is created in a secret. */
static int
field_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && name[0] != '.' && name[n - 1] != '~' &&
	       strcmp(name, CONFIG_NAME) != 0 && rh_name_check(name, NULL) == 0;
}

/* Is dir a secret listing name? 1 or 0. */
static int
dir_has_field(struct fs *fs, struct node *dir, const char *name)
{
	char *path;
	cJSON *cfg;
	int r;

	if (!dir->kind->store_dir)
		return 0;
	path = node_dir_path(fs, dir);
	cfg = secret_cfg(dir->store, path, NULL);
	r = cfg != NULL && has_field(cfg, name);
	cJSON_Delete(cfg);
	free(path);
	return r;
}

static int
secret_is_field(struct fs *fs, struct node *dir, const char *name)
{
	return dir_has_field(fs, dir, name);
}

static int
secret_list(struct fs *fs, struct node *dir, rh_list_cb cb, void *arg)
{
	const cJSON *f;
	char *path = node_dir_path(fs, dir);
	cJSON *cfg = secret_cfg(dir->store, path, NULL);

	free(path);
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(cfg, "fields"))
		if (cJSON_IsString(f))
			cb(arg, f->valuestring, RH_ABSENT);
	cJSON_Delete(cfg);
	return 0;
}

/* Values, by store: ~ keeps them under ~/.rh/ (src/secret/secret-local.c),
 * the shared namespace in etcd (src/secret/secret-remote.c), through one
 * client made from the login on first use (fs->secrets). */
static int
remote(struct fs *fs, struct rh_store *s, const char *path,
       struct rh_secret_remote **sr, char **addr, struct rh_err *err)
{
	struct rh_login l;
	int r = 0;

	*addr = rh_address(s->prefix, path);
	if (!rh_store_is_remote(s))
		return rh_err_set(err, EOPNOTSUPP, "%s: this namespace keeps "
		                  "no secret values", *addr);
	pthread_mutex_lock(&fs->secrets_lock);
	if (fs->secrets == NULL) {
		if ((r = rh_login_load(&l, err)) == 0) {
			r = rh_secret_remote_new(&l, &fs->secrets, err);
			rh_login_free(&l);
		}
	}
	*sr = fs->secrets;
	pthread_mutex_unlock(&fs->secrets_lock);
	return r;
}

void
secret_values_free(struct fs *fs)
{
	rh_secret_remote_free(fs->secrets);
	fs->secrets = NULL;
}

static int
value_get(struct fs *fs, struct rh_store *s, const char *path,
          const char *field, struct rh_buf *out, struct rh_err *err)
{
	struct rh_secret_remote *sr;
	char *addr;
	int r;

	if (is_local(s))
		return rh_secret_local_get(path, field, out, NULL, err);
	if ((r = remote(fs, s, path, &sr, &addr, err)) == 0)
		r = rh_secret_remote_get(sr, addr, field, out, err);
	free(addr);
	return r;
}

static int
value_put(struct fs *fs, struct rh_store *s, const char *path,
          const char *field, const void *data, size_t len,
          struct rh_err *err)
{
	struct rh_secret_remote *sr;
	char *addr;
	int r;

	if (is_local(s))
		return rh_secret_local_put(path, field, data, len, err);
	err->msg[0] = '\0';
	if ((r = remote(fs, s, path, &sr, &addr, err)) == 0)
		r = rh_secret_remote_put(sr, addr, field, data, len, err);
	free(addr);
	return r;
}

static int
value_remove(struct fs *fs, struct rh_store *s, const char *path,
             const char *field)
{
	struct rh_secret_remote *sr;
	struct rh_err err;
	char *addr;
	int r;

	if (is_local(s))
		return rh_secret_local_remove(path, field);
	if ((r = remote(fs, s, path, &sr, &addr, &err)) == 0)
		r = rh_secret_remote_remove(sr, addr, field);
	free(addr);
	return r == -ENOENT ? 0 : r;
}

/* Add and/or drop a name in the secret's "fields", compare-and-put so
 * that a concurrent edit of config.json is not lost. */
static int
fields_edit(struct rh_store *s, const char *path, const char *add,
            const char *drop, struct rh_err *err)
{
	cJSON *cfg, *fields, *f, *next;
	uint64_t version;
	char *text;
	int r = -EAGAIN, tries;

	for (tries = 0; tries < 5 && r == -EAGAIN; tries++) {
		if ((cfg = secret_cfg(s, path, &version)) == NULL) {
			char *addr = rh_address(s->prefix, path);

			r = rh_err_set(err, ENOENT, "%s: no longer a secret",
			               addr);
			free(addr);
			break;
		}
		fields = cJSON_GetObjectItemCaseSensitive(cfg, "fields");
		if (!cJSON_IsArray(fields)) {
			cJSON_DeleteItemFromObjectCaseSensitive(cfg, "fields");
			fields = cJSON_AddArrayToObject(cfg, "fields");
		}
		for (f = fields->child; drop != NULL && f != NULL; f = next) {
			next = f->next;
			if (cJSON_IsString(f) &&
			    strcmp(f->valuestring, drop) == 0)
				cJSON_Delete(cJSON_DetachItemViaPointer(fields,
				                                        f));
		}
		if (add != NULL && !has_field(cfg, add))
			cJSON_AddItemToArray(fields, cJSON_CreateString(add));
		text = rh_json_pretty(cfg);
		r = rh_store_put_config(s, path, text, strlen(text), version,
		                        err);
		free(text);
		cJSON_Delete(cfg);
	}
	return r;
}

/* Buffers holding a value grow by copying, so that no plaintext is left
 * in memory given back by realloc. */
static void
secure_reserve(struct rh_buf *b, size_t need)
{
	char *p;
	size_t cap;

	if (b->data != NULL && need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < need + 1)
		cap *= 2;
	p = xcalloc(1, cap);
	if (b->data != NULL)
		memcpy(p, b->data, b->len);
	rh_buf_cleanse(b);
	b->data = p;
	b->cap = cap;
}

static void
secure_truncate(struct rh_buf *b, size_t len)
{
	secure_reserve(b, len);
	if (len < b->len)
		OPENSSL_cleanse(b->data + len, b->len - len);
	else
		memset(b->data + b->len, 0, len - b->len);
	b->len = len;
	b->data[len] = '\0';
}

static void
sec_free(struct sec *sc)
{
	if (sc == NULL)
		return;
	free(sc->path);
	free(sc->field);
	free(sc);
}

static struct sec *
sec_of(struct fs *fs, struct node *n)
{
	struct sec *sc = xcalloc(1, sizeof(*sc));

	sc->store = n->store;   /* its secret's */
	sc->path = node_dir_path(fs, n);
	sc->field = node_name(fs, n);
	return sc;
}

static int
secret_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	struct sec *sc = sec_of(fs, h->node);
	cJSON *cfg = secret_cfg(sc->store, sc->path, NULL);
	int r = 0;

	if (cfg == NULL || !has_field(cfg, sc->field)) {
		char *addr = rh_address(sc->store->prefix, sc->path);

		r = rh_err_set(err, ENOENT, "%s: no field '%s'", addr,
		               sc->field);
		free(addr);
	} else if ((h->flags & O_ACCMODE) != O_RDONLY &&
	           sc->store->readonly) {
		r = rh_err_set(err, EROFS, "%s: read-only", sc->path);
	} else if ((h->flags & O_TRUNC) &&
	           (h->flags & O_ACCMODE) != O_RDONLY) {
		h->dirty = 1;   /* stored empty at close if nothing follows */
		secure_reserve(&h->buf, 0);
	} else {
		r = value_get(fs, sc->store, sc->path, sc->field, &h->buf, err);
		if (r == -ENOENT) {     /* listed, no value yet: empty */
			r = 0;
			secure_reserve(&h->buf, 0);
		}
	}
	cJSON_Delete(cfg);
	if (r < 0) {
		rh_buf_cleanse(&h->buf);
		sec_free(sc);
		return r;
	}
	h->priv = sc;
	return 0;
}

/* The reply is sent from a copy: once the reader has its bytes it may
 * close, and the release free the handle, before fuse_reply_buf is
 * back. */
static void
secret_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct rh_buf copy = { 0 };
	size_t len = 0;

	if (off >= 0 && (size_t)off < h->buf.len)
		len = h->buf.len - (size_t)off < size ?
		      h->buf.len - (size_t)off : size;
	if (len > 0) {
		secure_reserve(&copy, len);
		memcpy(copy.data, h->buf.data + off, len);
	}
	fuse_reply_buf(req, copy.data, len);
	rh_buf_cleanse(&copy);
}

static void
secret_write(fuse_req_t req, struct handle *h, const char *data,
             size_t size, off_t off)
{
	struct sec *sc = h->priv;
	char *addr;

	if (h->flags & O_APPEND)
		off = (off_t)h->buf.len;
	if (off < 0 || (size_t)off + size > SECRET_MAX) {
		/* The pieces of this write(2) before it were taken: the value
		 * is not the one written, and closing stores nothing. */
		h->refused = 1;
		addr = rh_address(sc->store->prefix, sc->path);
		rh_warn("refused: %s/%s: a value over %d bytes: nothing of "
		        "this open is stored", addr, sc->field, SECRET_MAX);
		free(addr);
		fuse_reply_err(req, EFBIG);
		return;
	}
	if ((size_t)off > h->buf.len)
		secure_truncate(&h->buf, (size_t)off);
	secure_reserve(&h->buf, (size_t)off + size);
	memcpy(h->buf.data + off, data, size);
	if ((size_t)off + size > h->buf.len) {
		h->buf.len = (size_t)off + size;
		h->buf.data[h->buf.len] = '\0';
	}
	h->dirty = 1;
	fuse_reply_write(req, size);
}

static int
commit(struct handle *h)
{
	struct sec *sc = h->priv;
	struct rh_err err;
	int r;

	if (!handle_to_store(h))
		return 0;
	r = value_put(h->fs, sc->store, sc->path, sc->field, h->buf.data ?
	              h->buf.data : "", h->buf.len, &err);
	if (r < 0) {
		rh_warn("refused: %s", err.msg);
		return r;
	}
	h->dirty = 0;
	notify_inode(h->fs, h->node->ino);
	return 0;
}

static int
secret_flush(struct handle *h)
{
	return commit(h);
}

static void
secret_release(struct handle *h)
{
	commit(h);
	rh_buf_cleanse(&h->buf);
	sec_free(h->priv);
	h->priv = NULL;
}

/* truncate(2), or ftruncate on an open field. */
static int
secret_truncate(struct fs *fs, struct node *n, struct handle *h, off_t size)
{
	struct handle tmp;
	struct rh_err err;
	int r;

	if (size < 0 || size > SECRET_MAX)
		return -EFBIG;
	if (h != NULL) {
		secure_truncate(&h->buf, (size_t)size);
		h->dirty = 1;
		return 0;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.node = n;
	tmp.fs = fs;
	tmp.flags = size == 0 ? O_WRONLY | O_TRUNC : O_RDWR;
	if ((r = secret_open(fs, &tmp, &err)) < 0) {
		rh_warn("%s", err.msg);
		return r;
	}
	secure_truncate(&tmp.buf, (size_t)size);
	tmp.dirty = 1;
	r = commit(&tmp);
	rh_buf_cleanse(&tmp.buf);
	sec_free(tmp.priv);
	return r;
}

/* Size (of the value, not of its sealed form) and time of a field. */
static int
secret_getattr(struct fs *fs, struct node *n, struct handle *h,
               struct stat *st)
{
	struct sec *sc = sec_of(fs, n);
	struct stat vs;

	struct rh_secret_remote *sr;
	struct rh_err err;
	size_t size;
	char *addr;

	if (is_local(sc->store)) {
		if (rh_secret_local_stat(sc->path, sc->field, &vs) == 0) {
			st->st_size = vs.st_size;
			st->st_mtim = st->st_atim = vs.st_mtim;
			st->st_ctim = vs.st_ctim;
		}
	} else {
		if (remote(fs, sc->store, sc->path, &sr, &addr, &err) == 0 &&
		    rh_secret_remote_size(sr, addr, sc->field, &size) == 0)
			st->st_size = (off_t)size;
		free(addr);
	}
	st->st_blocks = (st->st_size + 511) / 512;
	sec_free(sc);
	return 0;
}

/* Creating name in dir: 1 when it is not a field's business (go on as
 * usual), 0 when name is now a field of the secret at dir. */
static int
secret_create(struct fs *fs, struct node *dir, const char *name, int flags,
              struct found *f)
{
	struct rh_err err;
	char *path;
	cJSON *cfg;
	int r, exists;

	if (!dir->kind->store_dir || !field_name(name))
		return 1;
	path = node_dir_path(fs, dir);
	if ((cfg = secret_cfg(dir->store, path, NULL)) == NULL) {
		free(path);
		return 1;
	}
	exists = has_field(cfg, name);
	cJSON_Delete(cfg);
	if (exists && (flags & O_EXCL))
		r = -EEXIST;
	else if (exists)
		r = 0;
	else if ((r = fields_edit(dir->store, path, name, NULL, &err)) < 0)
		rh_warn("refused: %s", err.msg);
	free(path);
	return r;
}

/* Unlinking name in dir: 1 when it is no field, else 0 or -errno. */
static int
secret_unlink(struct fs *fs, struct node *dir, const char *name)
{
	struct rh_err err;
	char *path;
	int r;

	if (!dir_has_field(fs, dir, name))
		return 1;
	path = node_dir_path(fs, dir);
	if ((r = fields_edit(dir->store, path, NULL, name, &err)) < 0)
		rh_warn("refused: %s", err.msg);
	else
		value_remove(fs, dir->store, path, name);
	free(path);
	return r;
}

/* The node that had (sdir, name) is now the field (ddir, newname). */
static void
became_field(struct fs *fs, struct node *sdir, const char *name,
             struct node *ddir, const char *newname)
{
	struct node *n, *victim;

	pthread_mutex_lock(&fs->lock);
	if ((n = node_lookup(fs, sdir, name)) != NULL) {
		node_move(fs, n, ddir, newname);
		n->kind = &kind_secret_field;
		if (n->scratch != NULL)
			scratch_put(n->scratch);
		n->scratch = NULL;
	} else if ((victim = node_lookup(fs, ddir, newname)) != NULL) {
		node_unhash(fs, victim);
	}
	pthread_mutex_unlock(&fs->lock);
}

/* A field's value, or a temp file's content, stored as the field
 * (dpath, newname). */
static int
move_value(struct fs *fs, struct rh_store *s, const char *spath,
           const char *name, int from_field, const char *dpath,
           const char *newname, struct rh_err *err)
{
	struct rh_buf v = { 0 };
	struct scratch *sc;
	char *child;
	int r;

	if (from_field) {
		r = value_get(fs, s, spath, name, &v, err);
		if (r == -ENOENT)
			r = 0;
	} else {
		child = rh_path_join(spath, name);
		pthread_mutex_lock(&fs->lock);
		if ((sc = scratch_find(fs, s, child)) != NULL) {
			secure_reserve(&v, sc->data.len);
			memcpy(v.data, sc->data.data, sc->data.len);
			v.len = sc->data.len;
		}
		pthread_mutex_unlock(&fs->lock);
		free(child);
		r = sc != NULL ? 0 : 1;
	}
	if (r == 0)
		r = value_put(fs, s, dpath, newname, v.data ? v.data : "", v.len,
		              err);
	rh_buf_cleanse(&v);
	return r;
}

/*
 * rename(2) where a secret's field is the source or the target: 1 when
 * neither is (go on as usual), else 0 or -errno. A field moves to a field
 * of the same or another secret (its value re-sealed for its new name);
 * an editor's temp file renamed onto a field stores its content as the
 * field's value. A field cannot become anything else (EXDEV: mv copies).
 */
static int
secret_rename(struct fs *fs, struct node *sdir, const char *spath,
              const char *name, struct node *ddir, const char *dpath,
              const char *newname, unsigned flags)
{
	struct rh_store *s = sdir->store;
	struct rh_err err;
	struct scratch *sc;
	cJSON *dcfg;
	char *child;
	int sfield, dsecret, dexists, r;

	if (strcmp(name, CONFIG_NAME) == 0 || strcmp(newname, CONFIG_NAME) == 0)
		return 1;
	sfield = dir_has_field(fs, sdir, name);
	dcfg = secret_cfg(s, dpath, NULL);
	dsecret = dcfg != NULL && field_name(newname);
	dexists = dcfg != NULL && has_field(dcfg, newname);
	cJSON_Delete(dcfg);
	if (!sfield && !dsecret)
		return 1;
	if (sfield && !dsecret)
		return -EXDEV;
	if (!sfield) {
		/* only a temp file becomes a field this way */
		child = rh_path_join(spath, name);
		pthread_mutex_lock(&fs->lock);
		sc = scratch_find(fs, s, child);
		pthread_mutex_unlock(&fs->lock);
		free(child);
		if (sc == NULL)
			return 1;
	}
	if (dexists && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (sfield && sdir == ddir && strcmp(name, newname) == 0)
		return 0;
	err.msg[0] = '\0';
	if ((r = move_value(fs, s, spath, name, sfield, dpath, newname,
	                    &err)) != 0)
		goto out;
	if (sfield && strcmp(spath, dpath) == 0) {
		r = fields_edit(s, dpath, newname, name, &err);
	} else {
		r = fields_edit(s, dpath, newname, NULL, &err);
		if (r == 0 && sfield)
			r = fields_edit(s, spath, NULL, name, &err);
	}
	if (r < 0)
		goto out;
	if (sfield) {
		value_remove(fs, s, spath, name);
	} else {
		child = rh_path_join(spath, name);
		pthread_mutex_lock(&fs->lock);
		if ((sc = scratch_find(fs, s, child)) != NULL)
			scratch_unlink(fs, sc);
		pthread_mutex_unlock(&fs->lock);
		free(child);
	}
	became_field(fs, sdir, name, ddir, newname);
out:
	if (r < 0 && err.msg[0] != '\0')
		rh_warn("refused: %s", err.msg);
	return r;
}

/* A folder or resource moved (from -> to): its secrets' values follow,
 * re-sealed for their new addresses. */
static void
secret_moved(struct fs *fs, struct rh_store *s, const char *from,
             const char *to)
{
	struct rh_secret_remote *sr;
	struct rh_err err;
	char *afrom, *ato;
	int r;

	err.msg[0] = '\0';
	if (is_local(s)) {
		r = rh_secret_local_move(from, to, &err);
	} else if ((r = remote(fs, s, from, &sr, &afrom, &err)) == 0) {
		ato = rh_address(s->prefix, to);
		r = rh_secret_remote_moved(sr, afrom, ato, &err);
		free(ato);
		free(afrom);
	} else {
		free(afrom);
	}
	if (r < 0 && r != -EOPNOTSUPP)
		rh_warn("%s moved, but its secret values could not follow: %s",
		        from, err.msg);
}

/* A folder is gone: values left for it (its secrets' config.json were
 * removed first) go too. */
static void
secret_removed(struct fs *fs, struct rh_store *s, const char *path)
{
	struct rh_secret_remote *sr;
	struct rh_err err;
	char *addr;

	if (*path == '\0')
		return;
	if (is_local(s)) {
		rh_secret_local_purge(path);
	} else {
		if (remote(fs, s, path, &sr, &addr, &err) == 0)
			rh_secret_remote_purge(sr, addr);
		free(addr);
	}
}

/* A field: a row of secret, whatever names its config lists. */
const struct fs_kind kind_secret_field = {
	.name = "(secret field)",
	.mode = 0600,
	.getattr = secret_getattr,
	.open = secret_open,
	.read = secret_read,
	.write = secret_write,
	.truncate = secret_truncate,
	.flush = secret_flush,
	.release = secret_release,
	.claims = secret_is_field,
	.list = secret_list,
	.on_create = secret_create,
	.on_unlink = secret_unlink,
	.on_rename = secret_rename,
	.on_moved = secret_moved,
	.on_removed = secret_removed,
};

/* ---- a send's secrets, for its calls' environment ---- */

/* The environment name of a field: upper case, other than letters and
 * digits '_'. */
static char *
env_name(const char *field)
{
	char *n = xstrdup(field), *p;

	for (p = n; *p != '\0'; p++)
		*p = (char)(((*p >= 'a' && *p <= 'z') ? *p - 'a' + 'A' :
		             (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ?
		             *p : '_'));
	return n;
}

/* The names Runhouse's providers set, beside the plain ones. */
static const struct {
	const char *provider, *field, *name;
} provider_env[] = {
	{ "aws", "access_key", "AWS_ACCESS_KEY_ID" },
	{ "aws", "secret_key", "AWS_SECRET_ACCESS_KEY" },
	{ "huggingface", "token", "HF_TOKEN" },
	{ NULL, NULL, NULL },
};

static void
env_set(cJSON *env, const char *name, const char *value)
{
	cJSON *old = cJSON_DetachItemFromObjectCaseSensitive(env, name);

	secret_env_free(old);
	cJSON_AddStringToObject(env, name, value);
}

static int secret_env_at(struct fs *fs, const char *send, const char *addr,
                         cJSON *env, struct rh_err *err);

/* One secret's fields into env. */
static int
secret_env_one(struct fs *fs, const char *send, const char *addr,
               cJSON *env, struct rh_err *err)
{
	char *bare = NULL;
	int r;

	/* a bare name: secrets/NAME in the default folder, @ when logged in */
	if (addr[0] != '~' && addr[0] != '@' && addr[0] != '/')
		addr = bare = xasprintf("%s/secrets/%s",
		                        fs->remote != NULL ? "@" : "~", addr);
	r = secret_env_at(fs, send, addr, env, err);
	free(bare);
	return r;
}

static int
secret_env_at(struct fs *fs, const char *send, const char *addr,
              cJSON *env, struct rh_err *err)
{
	struct rh_store *s;
	struct rh_buf b = { 0 };
	const cJSON *f, *prov;
	const char *path;
	cJSON *cfg;
	char *name, why[sizeof(err->msg)];
	size_t i;
	int r;

	if (addr[0] == '~' && (addr[1] == '/' || addr[1] == '\0')) {
		s = fs->local;
		path = addr[1] ? addr + 2 : "";
	} else if (addr[0] == '@' || addr[0] == '/') {
		if ((r = remote_addr(fs, addr, &s, &path, err)) < 0) {
			snprintf(why, sizeof(why), "%s", err->msg);
			return rh_err_set(err, -r, "%s: secret %s: %s", send,
			                  addr, why);
		}
	} else {
		return rh_err_set(err, EINVAL, "%s: secret %s: not an address "
		                  "of ~ or the shared namespace", send, addr);
	}
	if ((cfg = secret_cfg(s, path, NULL)) == NULL)
		return rh_err_set(err, ENOENT, "%s: secret %s: no such secret",
		                  send, addr);
	prov = cJSON_GetObjectItemCaseSensitive(cfg, "provider");
	r = 0;
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(cfg, "fields")) {
		if (!cJSON_IsString(f))
			continue;
		err->msg[0] = '\0';
		if ((r = value_get(fs, s, path, f->valuestring, &b, err)) < 0) {
			snprintf(why, sizeof(why), "%s", err->msg[0] ? err->msg :
			         strerror(-r));
			rh_err_set(err, -r, "%s: secret %s: field %s: %s", send,
			           addr, f->valuestring, why);
			break;
		}
		/* `echo VALUE > field` leaves a newline no key holds */
		if (b.len > 0 && b.data[b.len - 1] == '\n')
			b.len--;
		if (memchr(b.data, '\0', b.len) != NULL) {
			r = rh_err_set(err, EINVAL, "%s: secret %s: field %s "
			               "holds a NUL byte, which the environment "
			               "cannot", send, addr, f->valuestring);
			break;
		}
		secure_truncate(&b, b.len);
		name = env_name(f->valuestring);
		env_set(env, name, b.data);
		free(name);
		for (i = 0; provider_env[i].provider != NULL; i++)
			if (cJSON_IsString(prov) &&
			    strcmp(prov->valuestring,
			           provider_env[i].provider) == 0 &&
			    strcmp(f->valuestring, provider_env[i].field) == 0)
				env_set(env, provider_env[i].name, b.data);
		rh_buf_cleanse(&b);
	}
	rh_buf_cleanse(&b);
	cJSON_Delete(cfg);
	return r;
}

int
secret_env(struct fs *fs, const char *send, const cJSON *cfg, cJSON **env,
           struct rh_err *err)
{
	const cJSON *sec, *a;
	int r;

	*env = NULL;
	sec = cJSON_GetObjectItemCaseSensitive(cfg, "secrets");
	if (sec == NULL || cJSON_IsNull(sec))
		return 0;
	if (!cJSON_IsArray(sec))
		return rh_err_set(err, EINVAL, "%s: field 'secrets' must be "
		                  "an array of secret addresses", send);
	*env = cJSON_CreateObject();
	cJSON_ArrayForEach(a, sec) {
		if (!cJSON_IsString(a))
			r = rh_err_set(err, EINVAL, "%s: field 'secrets' must "
			               "hold addresses (strings)", send);
		else
			r = secret_env_one(fs, send, a->valuestring, *env,
			                   err);
		if (r < 0) {
			secret_env_free(*env);
			*env = NULL;
			return r;
		}
	}
	return 0;
}

/* Wipe the strings in v (and below), the values of secrets. */
void
secret_env_cleanse(cJSON *v)
{
	cJSON *c;

	if (v == NULL)
		return;
	if (cJSON_IsString(v) && v->valuestring != NULL)
		OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	cJSON_ArrayForEach(c, v)
		secret_env_cleanse(c);
}

void
secret_env_free(cJSON *env)
{
	secret_env_cleanse(env);
	cJSON_Delete(env);
}

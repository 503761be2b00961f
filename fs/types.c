/* types.c - what each resource type shows beside its config.json: one row
 * per (type, file name) naming the file's kind, and the resource and agent
 * those files act on. Adding a type's file is a row here and a kind in a
 * file of its own (fs/file-*.c). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "link.h"
#include "rhfs.h"

/* A row: the kind of a file named name in a resource of type. */
struct row {
	const char *type;       /* resource_type; ANY: every type; OTHER:
	                         * every type without rows of its own */
	const char *name;       /* NULL: the names its kind claims */
	const struct fs_kind *kind;
	int unlisted;           /* found by name, not listed */
};

static const char ANY[] = "*", OTHER[] = "";

/* In the order of a resource's listing (rm -r's order of removal):
 * what its config makes what it is goes before the config. */
static const struct row rows[] = {
	{ ANY,       "versions", &kind_versions, 1 },  /* shared ones' */
	{ "secret",  NULL,       &kind_secret_field, 0 },  /* its fields */
	{ "folder",  "data",     &kind_data_dir, 0 },
	{ "table",   "data",     &kind_data_dir, 0 },
	{ "blob",    "data",     &kind_data_blob, 0 },
	{ "folder",  "errors",   &kind_errors, 0 },
	{ "table",   "errors",   &kind_errors, 0 },
	{ "blob",    "errors",   &kind_errors, 0 },
	{ "send",    "invoke",   &kind_invoke, 0 },
	{ "send",    "calls",    &kind_calls, 0 },
	{ "send",    "errors",   &kind_errors, 0 },
	{ "cluster", "status",   &kind_status, 0 },
	{ "cluster", "ctl",      &kind_cluster_ctl, 0 },
	{ "cluster", "run",      &kind_run, 0 },
	{ "cluster", "python",   &kind_python, 0 },
	{ "cluster", "log",      &kind_cluster_log, 0 },
	{ "cluster", "errors",   &kind_errors, 0 },
	{ OTHER,     "errors",   &kind_errors, 0 },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Names that mean another type. */
static const char *
canonical(const char *type)
{
	return type != NULL && strcmp(type, "function") == 0 ? "send" : type;
}

static int
has_rows(const char *type)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (rows[i].type != ANY && rows[i].type != OTHER &&
		    strcmp(rows[i].type, type) == 0)
			return 1;
	return 0;
}

/* Whether row applies to a resource of type (NULL: not a resource). */
static int
row_of(const struct row *row, const char *type)
{
	if (type == NULL)
		return 0;
	if (row->type == ANY)
		return 1;
	if (row->type == OTHER)
		return !has_rows(type);
	return strcmp(row->type, type) == 0;
}

static const struct fs_kind *
find(struct fs *fs, struct node *dir, const char *type, const char *name)
{
	const struct row *row;

	type = canonical(type);
	for (row = rows; row < rows + NROWS; row++) {
		if (!row_of(row, type) ||
		    (row->name != NULL && strcmp(row->name, name) != 0))
			continue;
		if (row->kind->claims == NULL ||
		    (dir != NULL && row->kind->claims(fs, dir, name)))
			return row->kind;
	}
	return NULL;
}

const struct fs_kind *
types_lookup(struct fs *fs, struct node *dir, const char *name)
{
	char *type = res_type(fs, dir);
	const struct fs_kind *k = find(fs, dir, type, name);

	free(type);
	return k;
}

const struct fs_kind *
types_row(const char *type, const char *name)
{
	return find(NULL, NULL, type, name);
}

/* The names of a type's rows, but those its kind lists (they are not
 * there at all times). */
size_t
types_names(const char *type, const char *names[33])
{
	const struct row *row;
	size_t n = 0;

	type = canonical(type);
	for (row = rows; row < rows + NROWS && n < 32; row++)
		if (row_of(row, type) && row->name != NULL && !row->unlisted &&
		    row->kind->list == NULL)
			names[n++] = row->name;
	names[n] = NULL;
	return n;
}

int
types_list(struct fs *fs, struct node *dir, const char *type,
           struct dirsnap *d)
{
	const struct row *row;
	int r = 0;

	type = canonical(type);
	for (row = rows; row < rows + NROWS && r == 0; row++)
		if (row_of(row, type) && row->kind->list != NULL)
			r = row->kind->list(fs, dir, dirsnap_cb, d);
	return r;
}

/* Whether row i is the first with the hook at off in struct fs_kind:
 * a kind with several rows, or kinds sharing their hooks (data/ and a
 * blob's data), have each hook asked once. */
static int
first_with(size_t i, size_t off)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (memcmp((const char *)rows[j].kind + off,
		           (const char *)rows[i].kind + off,
		           sizeof(void (*)(void))) == 0)
			return 0;
	return 1;
}

/* The rows' hooks, each once. The hooks are asked whatever the
 * directory's type: a change may take a name out of one resource into
 * another. */
#define EACH_HOOK(i, hook) \
	for ((i) = 0; (i) < NROWS; (i)++) \
		if (rows[i].kind->hook != NULL && \
		    first_with((i), offsetof(struct fs_kind, hook)))

int
types_on_create(struct fs *fs, struct node *dir, const char *name,
                int flags, struct found *f)
{
	size_t i;
	int r;

	EACH_HOOK(i, on_create) {
		f->kind = rows[i].kind;
		if ((r = rows[i].kind->on_create(fs, dir, name, flags,
		                                 f)) <= 0)
			return r;
	}
	f->kind = NULL;
	return 1;
}

int
types_on_mkdir(struct fs *fs, struct node *dir, const char *name)
{
	size_t i;
	int r;

	EACH_HOOK(i, on_mkdir)
		if ((r = rows[i].kind->on_mkdir(fs, dir, name)) <= 0)
			return r;
	return 1;
}

int
types_on_rmdir(struct fs *fs, struct node *dir, const char *name)
{
	size_t i;
	int r;

	EACH_HOOK(i, on_rmdir)
		if ((r = rows[i].kind->on_rmdir(fs, dir, name)) <= 0)
			return r;
	return 1;
}

int
types_on_unlink(struct fs *fs, struct node *dir, const char *name)
{
	size_t i;
	int r;

	EACH_HOOK(i, on_unlink)
		if ((r = rows[i].kind->on_unlink(fs, dir, name)) <= 0)
			return r;
	return 1;
}

int
types_on_rename(struct fs *fs, struct node *sdir, const char *spath,
                const char *name, struct node *ddir, const char *dpath,
                const char *newname, unsigned flags)
{
	size_t i;
	int r;

	EACH_HOOK(i, on_rename)
		if ((r = rows[i].kind->on_rename(fs, sdir, spath, name, ddir,
		                                 dpath, newname, flags)) <= 0)
			return r;
	return 1;
}

void
types_on_moved(struct fs *fs, struct rh_store *s, const char *from,
               const char *to)
{
	size_t i;

	EACH_HOOK(i, on_moved)
		rows[i].kind->on_moved(fs, s, from, to);
}

void
types_on_removed(struct fs *fs, struct rh_store *s, const char *path)
{
	size_t i;

	EACH_HOOK(i, on_removed)
		rows[i].kind->on_removed(fs, s, path);
}

void
types_on_config(struct fs *fs, fuse_ino_t dir)
{
	size_t i;

	EACH_HOOK(i, on_config)
		rows[i].kind->on_config(fs, dir);
}

char *
res_address(struct fs *fs, struct node *dir, char **path)
{
	char *p, *addr;

	p = node_dir_path(fs, dir);
	addr = rh_address(dir->store->prefix, p);
	if (path != NULL)
		*path = p;
	else
		free(p);
	return addr;
}

int
res_load(struct fs *fs, struct node *dir, char **addr, cJSON **cfg,
         struct rh_err *err)
{
	struct rh_buf b = { 0 };
	char *path;
	int r;

	*addr = res_address(fs, dir, &path);
	*cfg = NULL;
	r = dir->store->ops->get(dir->store, path, &b, NULL);
	free(path);
	if (r == 0 && (*cfg = rh_json_parse(b.data, b.len, *addr, NULL)) == NULL)
		r = -EIO;
	rh_buf_free(&b);
	if (r < 0) {
		rh_err_set(err, -r, "%s: cannot read its config: %s", *addr,
		           strerror(-r));
		free(*addr);
		*addr = NULL;
	}
	return r;
}

char *
res_type(struct fs *fs, struct node *dir)
{
	const cJSON *t;
	struct rh_err err;
	char *addr, *type = NULL;
	cJSON *cfg;

	if (!dir->kind->store_dir || res_load(fs, dir, &addr, &cfg, &err) < 0)
		return NULL;
	t = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (cJSON_IsString(t))
		type = xstrdup(t->valuestring);
	cJSON_Delete(cfg);
	free(addr);
	return type;
}

/*
 * The configs res_at parsed, by store, path and the store's version of
 * them: each call looks up the cluster its send runs on, and a stat that
 * finds the version unchanged replaces reading and parsing the config.
 * A few are kept, the least recently used replaced.
 */
#define KEPT_CFGS 16

struct kept_cfg {
	struct rh_store *s;     /* NULL: free */
	char *path;
	uint64_t version;
	cJSON *cfg;
	uint64_t used;
};

static uint64_t kept_tick;      /* fs->kept_lock */

/* A copy of the config kept for (s, path) at version, or NULL. */
static cJSON *
kept_get(struct fs *fs, struct rh_store *s, const char *path,
         uint64_t version)
{
	struct kept_cfg *k;
	cJSON *c = NULL;
	size_t i;

	pthread_mutex_lock(&fs->kept_lock);
	for (i = 0; fs->kept != NULL && i < KEPT_CFGS && c == NULL; i++) {
		k = &fs->kept[i];
		if (k->s == s && k->version == version &&
		    strcmp(k->path, path) == 0) {
			c = cJSON_Duplicate(k->cfg, 1);
			k->used = ++kept_tick;
		}
	}
	pthread_mutex_unlock(&fs->kept_lock);
	return c;
}

/* Keep a copy of cfg, (s, path)'s config at version. */
static void
kept_put(struct fs *fs, struct rh_store *s, const char *path,
         uint64_t version, const cJSON *cfg)
{
	struct kept_cfg *k, *old;
	size_t i;

	pthread_mutex_lock(&fs->kept_lock);
	if (fs->kept == NULL)
		fs->kept = xcalloc(KEPT_CFGS, sizeof(*fs->kept));
	old = &fs->kept[0];
	for (i = 0; i < KEPT_CFGS; i++) {
		k = &fs->kept[i];
		if (k->s == s && strcmp(k->path, path) == 0) {
			old = k;        /* an older version of it */
			break;
		}
		if (k->used < old->used)
			old = k;
	}
	free(old->path);
	cJSON_Delete(old->cfg);
	old->s = s;
	old->path = xstrdup(path);
	old->version = version;
	old->cfg = cJSON_Duplicate(cfg, 1);
	old->used = ++kept_tick;
	pthread_mutex_unlock(&fs->kept_lock);
}

void
res_kept_free(struct fs *fs)
{
	size_t i;

	for (i = 0; fs->kept != NULL && i < KEPT_CFGS; i++) {
		free(fs->kept[i].path);
		cJSON_Delete(fs->kept[i].cfg);
	}
	free(fs->kept);
	fs->kept = NULL;
}

/* A resource named by address: its config from the store holding it. */
int
res_at(struct fs *fs, const char *addr, cJSON **cfg, struct rh_err *err)
{
	struct rh_store *s;
	struct rh_buf b = { 0 };
	struct rh_stat st;
	const char *path;
	uint64_t version = 0;
	int r;

	if (addr[0] == '^') {
		s = fs->builtin;
		path = addr + 1;
	} else if (addr[0] == '~' && (addr[1] == '/' || addr[1] == '\0')) {
		s = fs->local;
		path = addr[1] ? addr + 2 : "";
	} else if ((r = remote_addr(fs, addr, &s, &path, err)) < 0) {
		return r;       /* /top/..., @/...: the shared namespace */
	}
	if ((r = rh_path_check(path, err)) < 0)
		return r;
	if (s->ops->stat(s, path, &st) == 0 && st.kind == RH_RESOURCE &&
	    st.version != 0 &&
	    (*cfg = kept_get(fs, s, path, st.version)) != NULL)
		return 0;
	if ((r = s->ops->get(s, path, &b, &version)) < 0) {
		rh_buf_free(&b);
		return rh_err_set(err, r == -EISDIR ? ENOENT : -r,
		                  "%s: no such resource", addr);
	}
	*cfg = rh_json_parse(b.data, b.len, addr, NULL);
	rh_buf_free(&b);
	if (*cfg == NULL)
		return rh_err_set(err, EIO, "%s: unreadable config", addr);
	if (version != 0)
		kept_put(fs, s, path, version, *cfg);
	return 0;
}

static int
cluster_at(struct fs *fs, const char *addr, cJSON **cfg, struct rh_err *err)
{
	int r = res_at(fs, addr, cfg, err);

	if (r == -ENOENT)
		rh_err_set(err, ENOENT, "%s: no such cluster", addr);
	return r;
}

int
res_data_cluster(void *arg, const char *addr, cJSON **cfg,
                 struct rh_err *err)
{
	return cluster_at(arg, addr, cfg, err);
}

/* The key res_agent gives the link of a send or cluster: calls under the
 * same key run on the same node. NULL: no hardware. */
char *
res_link_key(const char *addr, const cJSON *cfg)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "resource_type");
	const cJSON *hw;

	if (cJSON_IsString(type) && strcmp(type->valuestring, "cluster") == 0)
		return xstrdup(addr);
	hw = cJSON_GetObjectItemCaseSensitive(cfg, "hardware");
	if (hw == NULL || cJSON_IsNull(hw))
		hw = cJSON_GetObjectItemCaseSensitive(cfg, "system");
	if (cJSON_IsString(hw))
		return xstrdup(hw->valuestring);
	if (cJSON_IsObject(hw))
		return xasprintf("%s#hardware", addr);
	return NULL;
}

int
res_links(struct fs *fs, struct rh_links **out, struct rh_err *err)
{
	struct rh_link_opts o;
	int r = 0;

	pthread_mutex_lock(&fs->links_lock);
	if (fs->links == NULL) {
		o.rhagent = fs->opts.rhagent;
		o.known_hosts = fs->opts.known_hosts;
		o.timeout_ms = (int)(fs->opts.connect_timeout * 1000);
		r = rh_links_new(&o, &fs->links, err);
	}
	*out = fs->links;
	pthread_mutex_unlock(&fs->links_lock);
	return r;
}

int
res_cluster_of(struct fs *fs, const char *addr, const cJSON *cfg,
               char **caddr, cJSON **ccfg, struct rh_err *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "resource_type");
	const cJSON *hw;
	int r;

	*caddr = NULL;
	*ccfg = NULL;
	if (cJSON_IsString(type) && strcmp(type->valuestring, "cluster") == 0) {
		*caddr = xstrdup(addr);
		*ccfg = cJSON_Duplicate(cfg, 1);
		return 0;
	}
	hw = cJSON_GetObjectItemCaseSensitive(cfg, "hardware");
	if (hw == NULL || cJSON_IsNull(hw))
		hw = cJSON_GetObjectItemCaseSensitive(cfg, "system");
	if (cJSON_IsString(hw)) {
		if ((r = cluster_at(fs, hw->valuestring, ccfg, err)) < 0)
			return r;
		*caddr = xstrdup(hw->valuestring);
		return 0;
	}
	if (cJSON_IsObject(hw)) {
		*caddr = xasprintf("%s#hardware", addr);
		*ccfg = cJSON_Duplicate(hw, 1);
		return 0;
	}
	return rh_err_set(err, EINVAL, "%s: no hardware to run on", addr);
}

int
res_agent(struct fs *fs, const char *addr, const cJSON *cfg,
          struct rh_rpc **rpc, struct rh_err *err)
{
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "resource_type");
	const cJSON *hw;
	struct rh_links *ls;
	cJSON *cluster = NULL;
	char *key;
	int r;

	if ((r = res_links(fs, &ls, err)) < 0)
		return r;
	if (cJSON_IsString(type) && strcmp(type->valuestring, "cluster") == 0)
		return rh_links_get(ls, addr, cfg, rpc, err);
	hw = cJSON_GetObjectItemCaseSensitive(cfg, "hardware");
	if (hw == NULL || cJSON_IsNull(hw))
		hw = cJSON_GetObjectItemCaseSensitive(cfg, "system");
	if (cJSON_IsString(hw)) {
		if ((r = cluster_at(fs, hw->valuestring, &cluster, err)) < 0)
			return r;
		r = rh_links_get(ls, hw->valuestring, cluster, rpc, err);
		cJSON_Delete(cluster);
		return r;
	}
	if (cJSON_IsObject(hw)) {
		/* an inline cluster belongs to this send alone */
		key = xasprintf("%s#hardware", addr);
		r = rh_links_get(ls, key, hw, rpc, err);
		free(key);
		return r;
	}
	return rh_err_set(err, EINVAL, "%s: no hardware to run on", addr);
}

/* types.c - what each resource type shows beside its config.json, and the
 * resource and agent those files act on. Adding a type's files is a row
 * here and a file of its own. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "link.h"
#include "rhfs.h"

static const char *const send_names[] = { "invoke", "calls", "errors",
                                          NULL };
static const char *const cluster_names[] = { "status", "ctl", "run", "log",
                                             "errors", NULL };
static const char *const other_names[] = { "errors", NULL };
/* a secret's files are its fields: any name may be one */
static const char *const no_names[] = { NULL };

static int
is_send(const char *type)
{
	return type != NULL &&
	       (strcmp(type, "send") == 0 || strcmp(type, "function") == 0);
}

static int
is_cluster(const char *type)
{
	return type != NULL && strcmp(type, "cluster") == 0;
}

static int
is_secret(const char *type)
{
	return type != NULL && strcmp(type, "secret") == 0;
}

const struct fs_file *
types_file(const char *type, const char *name)
{
	if (is_send(type) && strcmp(name, "invoke") == 0)
		return &file_invoke;
	if (is_cluster(type) && strcmp(name, "status") == 0)
		return &file_status;
	if (is_cluster(type) && strcmp(name, "run") == 0)
		return &file_run;
	if (is_cluster(type) && strcmp(name, "ctl") == 0)
		return &file_cluster_ctl;
	if (is_cluster(type) && strcmp(name, "log") == 0)
		return &file_cluster_log;
	if (type != NULL && !is_secret(type) && strcmp(name, "errors") == 0)
		return &file_errors;
	return NULL;
}

int
types_is_dir(const char *type, const char *name)
{
	return is_send(type) && strcmp(name, "calls") == 0;
}

const char *const *
types_names(const char *type)
{
	return is_send(type) ? send_names :
	       is_cluster(type) ? cluster_names :
	       type != NULL && !is_secret(type) ? other_names : no_names;
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

	if (dir->type != N_DIR || res_load(fs, dir, &addr, &cfg, &err) < 0)
		return NULL;
	t = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (cJSON_IsString(t))
		type = xstrdup(t->valuestring);
	cJSON_Delete(cfg);
	free(addr);
	return type;
}

/* A resource named by address: its config from the store holding it. */
int
res_at(struct fs *fs, const char *addr, cJSON **cfg, struct rh_err *err)
{
	struct rh_store *s;
	struct rh_buf b = { 0 };
	const char *path;
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
	if ((r = rh_path_check(path, err)) < 0 ||
	    (r = s->ops->get(s, path, &b, NULL)) < 0) {
		rh_buf_free(&b);
		return rh_err_set(err, r == -EISDIR ? ENOENT : -r,
		                  "%s: no such resource", addr);
	}
	*cfg = rh_json_parse(b.data, b.len, addr, NULL);
	rh_buf_free(&b);
	return *cfg ? 0 : rh_err_set(err, EIO, "%s: unreadable config", addr);
}

static int
cluster_at(struct fs *fs, const char *addr, cJSON **cfg, struct rh_err *err)
{
	int r = res_at(fs, addr, cfg, err);

	if (r == -ENOENT)
		rh_err_set(err, ENOENT, "%s: no such cluster", addr);
	return r;
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

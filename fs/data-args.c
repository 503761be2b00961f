/* data-args.c - {"$data": "~/ckpts"} among a send's call arguments: a
 * folder, table or blob named where a value goes, put in by rhfs before
 * the call is sent (the agent never sees it), as the place its data has
 * from where the call runs:
 *   - data on the call's own cluster: its absolute path on the node;
 *   - data on this machine ("file") for a call on this machine (^local):
 *     its absolute local path;
 *   - data in S3: its s3://bucket/prefix URL.
 * Data anywhere else is refused (rh cp moves it), as are a name that is
 * not a folder, table or blob and a $data object of another form: the
 * write fails with EINVAL and nothing of it runs. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "proto.h"
#include "rns.h"
#include "link.h"
#include "rhfs.h"

/* Whether the object o is a $data reference (of any form). */
static int
is_data(const cJSON *o)
{
	return cJSON_IsObject(o) &&
	       cJSON_GetObjectItemCaseSensitive(o, "$data") != NULL;
}

int
data_args_form(cJSON *v, const char *addr, size_t lineno, struct rh_err *err)
{
	cJSON *c, *d;
	const char *s;
	char *canon;
	int r;

	cJSON_ArrayForEach(c, v) {
		if (!is_data(c)) {
			if ((r = data_args_form(c, addr, lineno, err)) < 0)
				return r;
			continue;
		}
		d = cJSON_GetObjectItemCaseSensitive(c, "$data");
		if (cJSON_GetArraySize(c) != 1 || !cJSON_IsString(d))
			return rh_err_set(err, EINVAL, "%s/invoke: line %zu: a "
			                  "$data is {\"$data\": \"<folder, table "
			                  "or blob>\"} alone", addr, lineno);
		s = d->valuestring;
		if (s[0] == '\0' || strchr("~^@/", s[0]) == NULL ||
		    (s[0] == '~' && s[1] != '/') ||
		    (s[0] == '@' && s[1] != '/') || strcmp(s, "/") == 0 ||
		    strcmp(s, "^") == 0 || strcmp(s, "^/") == 0)
			return rh_err_set(err, EINVAL, "%s/invoke: line %zu: "
			                  "$data '%s' is not the address of a "
			                  "folder, table or blob (e.g. ~/ckpts)",
			                  addr, lineno, s);
		/* "^/x", the mount's path, is the address "^x" */
		if (s[0] == '^' && s[1] == '/') {
			canon = xasprintf("^%s", s + 2);
			cJSON_SetValuestring(d, canon);
			free(canon);
		}
	}
	return 0;
}

void
data_args_init(struct data_args *da, struct fs *fs, const char *send,
               const cJSON *cfg)
{
	memset(da, 0, sizeof(*da));
	da->fs = fs;
	da->send = send;
	da->cfg = cfg;
}

void
data_args_free(struct data_args *da)
{
	free(da->caddr);
	cJSON_Delete(da->ccfg);
	free(da->home);
	memset(da, 0, sizeof(*da));
}

/* "@/x" is the user's own "/USER/x", as addresses are compared. */
static char *
canon_addr(struct fs *fs, const char *addr)
{
	const char *user = remote_user(fs);

	if (addr[0] == '@' && addr[1] == '/' && user != NULL)
		return xasprintf("/%s/%s", user, addr + 2);
	return xstrdup(addr);
}

/* The send's cluster, once. */
static int
send_cluster(struct data_args *da, struct rh_err *err)
{
	if (da->caddr != NULL)
		return 0;
	if (res_cluster_of(da->fs, da->send, da->cfg, &da->caddr, &da->ccfg,
	                   err) < 0)
		return -EINVAL;
	da->local = rh_links_is_local(da->caddr, da->ccfg);
	return 0;
}

/* Whether data whose system is the cluster loc names is on the send's
 * cluster: the same address, the same config (inline, or the named
 * cluster's), or both this machine. */
static int
same_cluster(struct data_args *da, const struct rh_data_loc *loc)
{
	const cJSON *dcfg = loc->cluster_cfg;
	cJSON *named = NULL;
	struct rh_err why;
	char *a, *b;
	int same = 0;

	if (loc->cluster != NULL) {
		a = canon_addr(da->fs, loc->cluster);
		b = canon_addr(da->fs, da->caddr);
		same = strcmp(a, b) == 0;
		free(a);
		free(b);
		if (same)
			return 1;
		if (res_at(da->fs, loc->cluster, &named, &why) < 0)
			return 0;
		dcfg = named;
	}
	same = dcfg != NULL && da->ccfg != NULL &&
	       (cJSON_Compare(dcfg, da->ccfg, 1) ||
	        (da->local && rh_links_is_local(loc->cluster ? loc->cluster :
	                                        "", dcfg)));
	cJSON_Delete(named);
	return same;
}

/* The node's home, asked of its agent (status says it) once. */
static int
node_home(struct data_args *da, struct rh_err *err)
{
	const char *h = NULL;
	cJSON *req, *reply = NULL;
	int r;

	if (da->home != NULL)
		return 0;
	if (da->local) {
		if ((h = getenv("HOME")) == NULL || h[0] != '/')
			return rh_err_set(err, ENOENT, "this machine's home is "
			                  "not known (HOME)");
		da->home = xstrdup(h);
		return 0;
	}
	if (da->rpc == NULL)
		return 1;       /* not yet: when the agent is reached */
	req = rh_proto_new(0, "status");
	r = rh_rpc_call_wait(da->rpc, req,
	                     (int)(da->fs->opts.connect_timeout * 1000),
	                     &reply);
	cJSON_Delete(req);
	if (r == 0 && ((h = rh_json_str(reply, "home")) == NULL || h[0] != '/'))
		r = -EPROTO;
	if (r == 0)
		da->home = xstrdup(h);
	cJSON_Delete(reply);
	if (r < 0)
		return rh_err_set(err, -r, "the agent on %s did not say its "
		                  "home: %s", da->caddr, strerror(-r));
	return 0;
}

/* path on a node: absolute, or relative to home (a leading ~/ too). */
static char *
under_home(const char *home, const char *path)
{
	size_t n;
	char *out;

	if (path[0] == '/')
		out = xstrdup(path);
	else if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
		out = xasprintf("%s%s", home, path + 1);
	else
		out = xasprintf("%s/%s", home, path);
	/* one without a trailing slash, as a program is given a path */
	n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

/* The value of one $data reference into *out; 1: not yet (the node's
 * home is needed, its agent not reached). */
static int
resolve(struct data_args *da, const char *addr, char **out,
        struct rh_err *err)
{
	const cJSON *type;
	struct rh_data_loc loc;
	struct rh_err why;
	const char *p, *tname;
	cJSON *cfg = NULL;
	int r;

	*out = NULL;
	if ((r = res_at(da->fs, addr, &cfg, &why)) < 0)
		return rh_err_set(err, EINVAL, "%s/invoke: $data '%s': %s",
		                  da->send, addr, why.msg);
	type = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	tname = cJSON_IsString(type) ? type->valuestring : NULL;
	if (tname == NULL || (strcmp(tname, "folder") != 0 &&
	                      strcmp(tname, "table") != 0 &&
	                      strcmp(tname, "blob") != 0)) {
		r = rh_err_set(err, EINVAL, "%s/invoke: $data '%s': a %s, not "
		               "a folder, table or blob", da->send, addr,
		               tname ? tname : "resource without a type");
		goto out;
	}
	if ((r = rh_data_locate(cfg, addr, &loc, &why)) < 0) {
		r = rh_err_set(err, EINVAL, "%s/invoke: $data '%s': %s",
		               da->send, addr, why.msg);
		goto out;
	}
	switch (loc.kind) {
	case RH_DATA_NONE:
		r = rh_err_set(err, EINVAL, "%s/invoke: $data '%s': a folder "
		               "marker (no system, no path) has no data",
		               da->send, addr);
		break;
	case RH_DATA_S3:
		p = loc.path;
		if (strncmp(p, "s3://", 5) == 0)
			p += 5;
		p += strspn(p, "/");
		*out = xasprintf("s3://%s", p);
		break;
	case RH_DATA_FILE:
		if ((r = send_cluster(da, &why)) < 0 || !da->local) {
			r = rh_err_set(err, EINVAL, "%s/invoke: $data '%s': its "
			               "data is on this machine (system file), "
			               "and %s runs %s%s: copy it to that cluster "
			               "(rh cp)", da->send, addr, da->send,
			               r < 0 ? "nowhere: " : "on ",
			               r < 0 ? why.msg : da->caddr);
			break;
		}
		/* relative to the workdir, as data/ has it */
		*out = loc.path[0] == '/' ? under_home("", loc.path) :
		       xasprintf("%s/%s", da->fs->opts.local, loc.path);
		break;
	case RH_DATA_CLUSTER:
		if ((r = send_cluster(da, &why)) < 0 ||
		    !same_cluster(da, &loc)) {
			r = rh_err_set(err, EINVAL, "%s/invoke: $data '%s': its "
			               "data is on %s, and %s runs %s%s: data is "
			               "passed only on its own cluster (copy it "
			               "there: rh cp)", da->send, addr,
			               loc.cluster ? loc.cluster :
			               "a cluster of its own config", da->send,
			               r < 0 ? "nowhere: " : "on ",
			               r < 0 ? why.msg : da->caddr);
			break;
		}
		if (loc.path[0] == '/') {
			*out = under_home("", loc.path);
			break;
		}
		if ((r = node_home(da, &why)) < 0) {
			r = rh_err_set(err, -r, "%s/invoke: $data '%s': %s",
			               da->send, addr, why.msg);
			break;
		}
		if (r == 0)
			*out = under_home(da->home, loc.path);
		break;
	}
out:
	cJSON_Delete(cfg);
	return r;
}

/* Every $data below v replaced by its value; the count left for later
 * in da->later. */
static int
walk(struct data_args *da, cJSON *v, struct rh_err *err)
{
	cJSON *c, *next, *val;
	char *out, *key;
	int r;

	for (c = v->child; c != NULL; c = next) {
		next = c->next;
		if (!is_data(c)) {
			if ((r = walk(da, c, err)) < 0)
				return r;
			continue;
		}
		r = resolve(da, cJSON_GetObjectItemCaseSensitive(c, "$data")->
		            valuestring, &out, err);
		if (r < 0)
			return r;
		if (r > 0) {
			da->later++;
			continue;
		}
		val = cJSON_CreateString(out);
		free(out);
		if (cJSON_IsObject(v)) {
			key = xstrdup(c->string);
			cJSON_ReplaceItemInObjectCaseSensitive(v, key, val);
			free(key);
		} else {
			cJSON_ReplaceItemViaPointer(v, c, val);
		}
	}
	return 0;
}

int
data_args_resolve(struct data_args *da, cJSON *spec, struct rh_err *err)
{
	cJSON *v;
	int r;

	if ((v = cJSON_GetObjectItemCaseSensitive(spec, "args")) != NULL &&
	    (r = walk(da, v, err)) < 0)
		return r;
	if ((v = cJSON_GetObjectItemCaseSensitive(spec, "kwargs")) != NULL &&
	    (r = walk(da, v, err)) < 0)
		return r;
	return 0;
}

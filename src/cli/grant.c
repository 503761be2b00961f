/* grant.c - shares of paths in etcd. etcd lets only root grant roles, so
 * a user's share is a request (data under P/r/<user>/, which only that
 * user may write: etcd's auth says who asked), and the grant controller
 * (rh admin serve) answers it with root's credentials. The one code path
 * that applies or takes back a share is grant_apply, used by the
 * controller and by rh share --admin alike. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#include "base.h"
#include "etcd.h"
#include "cmd.h"

static char *
hex(const unsigned char *b, size_t n)
{
	char *s = xmalloc(2 * n + 1);
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", b[i]);
	return s;
}

char *
grant_id(void)
{
	unsigned char b[8];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort();
	return hex(b, sizeof(b));
}

static char *
utc_now(void)
{
	char s[32];
	struct tm tm;
	time_t now = time(NULL);

	gmtime_r(&now, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return xstrdup(s);
}

void
grant_clear(struct grant *g)
{
	free(g->top);
	free(g->rel);
	free(g->user);
	free(g->by);
	memset(g, 0, sizeof(*g));
}

char *
grant_path(const struct grant *g)
{
	return xasprintf("/%s%s%s", g->top, *g->rel ? "/" : "", g->rel);
}

/* rh-share-<sha256 hex of "top/rel:user">: one role per path and user,
 * found again by unshare without a list of shares. */
static char *
role_name(const struct grant *g)
{
	char *what = xasprintf("%s%s%s:%s", g->top, *g->rel ? "/" : "",
	                       g->rel, g->user);
	char h[RH_SHA256_HEX], *role;

	if (rh_sha256_hex(what, strlen(what), h) < 0)
		abort();
	role = xasprintf("rh-share-%s", h);
	free(what);
	return role;
}

/* A path "/top[/rel]" of the remote namespace, checked. */
int
grant_set_path(struct grant *g, const char *path, struct rh_err *err)
{
	char *top = NULL, *rel = NULL;
	struct rh_err e;
	int r;

	if ((r = cmd_address_split(path, &top, &rel, err)) < 0)
		return r;
	if (cmd_check_user(top, &e) < 0 ||
	    (*rel && rh_path_check(rel, &e) < 0)) {
		r = rh_err_set(err, EINVAL, "%s: %s", path, e.msg);
		free(top);
		free(rel);
		return r;
	}
	free(g->top);
	free(g->rel);
	g->top = top;
	g->rel = rel;
	return 0;
}

/* ---- requests: P/r/<requester>/<id> ---- */

static void
add_fields(cJSON *o, const struct grant *g)
{
	char *path = grant_path(g);

	cJSON_AddStringToObject(o, "op", g->op == GRANT_SHARE ? "share" :
	                        "unshare");
	cJSON_AddStringToObject(o, "path", path);
	cJSON_AddStringToObject(o, "user", g->user);
	if (g->op == GRANT_SHARE)
		cJSON_AddStringToObject(o, "perm", g->write ? "write" : "read");
	free(path);
}

char *
grant_request(const struct grant *g)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	add_fields(o, g);
	text = rh_json_print(o, 0);
	cJSON_Delete(o);
	return text;
}

/* The requester from the key, the rest from the value. */
static int
parse_request(const char *prefix, const char *key, size_t key_len,
              const cJSON *req, struct grant *g, struct rh_err *err)
{
	size_t plen = strlen(prefix) + 3;       /* P/r/ */
	const char *op, *path, *user, *perm, *slash;
	struct rh_err e;

	memset(g, 0, sizeof(*g));
	slash = key_len > plen ? memchr(key + plen, '/', key_len - plen) :
	                         NULL;
	if (slash == NULL || slash + 1 == key + key_len)
		return rh_err_set(err, EINVAL, "not a request key");
	g->by = xstrndup(key + plen, (size_t)(slash - key - plen));
	if (req == NULL)
		return -EINVAL;         /* err says why */
	if (!cJSON_IsObject(req))
		return rh_err_set(err, EINVAL, "not a JSON object");
	op = rh_json_str(req, "op");
	path = rh_json_str(req, "path");
	user = rh_json_str(req, "user");
	perm = rh_json_str(req, "perm");
	if (op == NULL || path == NULL || user == NULL)
		return rh_err_set(err, EINVAL, "\"op\", \"path\" and \"user\" "
		                  "are strings");
	if (strcmp(op, "share") == 0)
		g->op = GRANT_SHARE;
	else if (strcmp(op, "unshare") == 0)
		g->op = GRANT_UNSHARE;
	else
		return rh_err_set(err, EINVAL, "\"op\": share or unshare");
	if (g->op == GRANT_SHARE) {
		if (perm == NULL || (strcmp(perm, "read") != 0 &&
		                     strcmp(perm, "write") != 0))
			return rh_err_set(err, EINVAL, "\"perm\": read or "
			                  "write");
		g->write = strcmp(perm, "write") == 0;
	}
	if (grant_set_path(g, path, err) < 0)
		return -EINVAL;
	if (cmd_check_user(user, &e) < 0)
		return rh_err_set(err, EINVAL, "user: %s", e.msg);
	g->user = xstrdup(user);
	return 0;
}

/* ---- checks, and the one path that applies a share ---- */

static int
has_role(struct rh_etcd *c, const char *user, const char *role, int *yes,
         struct rh_err *err)
{
	char **roles;
	size_t n, i;
	int r;

	*yes = 0;
	if ((r = rh_etcd_user_roles(c, user, &roles, &n, err)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if (strcmp(roles[i], role) == 0)
			*yes = 1;
	rh_strs_free(roles, n);
	return 0;
}

/* May g->by write the path? Only its owner and the members of the
 * organisation that owns it hold readwrite on all of it (their roles
 * rh-u-<top>, rh-o-<top>), so they may give read or write; nobody gives
 * more than they hold. */
int
grant_may(struct rh_etcd *root, const struct grant *g, struct rh_err *err)
{
	char *role, *path;
	int yes = 0, r;

	if (strcmp(g->by, g->top) == 0)
		role = xasprintf("rh-u-%s", g->top);
	else
		role = xasprintf("rh-o-%s", g->top);
	r = has_role(root, g->by, role, &yes, err);
	free(role);
	if (r == -ENOENT)
		return rh_err_set(err, EACCES, "%s: no such user", g->by);
	if (r < 0)
		return r;
	if (yes)
		return 0;
	path = grant_path(g);
	r = rh_err_set(err, EACCES, "%s may not share %s: only /%s's owner "
	               "or its organisation's members may", g->by, path,
	               g->top);
	free(path);
	return r;
}

/* The folder and the user exist, and are not the same. */
static int
check_names(struct rh_etcd *root, const char *prefix, const struct grant *g,
            struct rh_err *err)
{
	char *key = cmd_key(prefix, "t", g->top), *path = grant_path(g);
	struct rh_etcd_kv kv;
	int yes, r;

	r = rh_etcd_get(root, key, strlen(key), &kv, err);
	free(key);
	if (r == 0)
		rh_etcd_kv_free(&kv);
	if (r == -ENOENT)
		r = rh_err_set(err, ENOENT, "%s: no user or organisation %s",
		               path, g->top);
	else if (r == 0 && strcmp(g->user, g->top) == 0)
		r = rh_err_set(err, EINVAL, "%s: it is %s's own folder", path,
		               g->user);
	else if (r == 0 && (r = has_role(root, g->user, "", &yes,
	                                 err)) == -ENOENT)
		r = rh_err_set(err, ENOENT, "%s: no such user", g->user);
	free(path);
	return r;
}

/* The keys of the path: its config, and below it resources, history and
 * secret values. */
static int
grant_ranges(struct rh_etcd *root, const char *prefix, const struct grant *g,
             const char *role, struct rh_err *err)
{
	static const char *const kinds[] = { "n", "h", "s" };
	enum rh_etcd_perm perm = g->write ? RH_ETCD_READWRITE : RH_ETCD_READ;
	char *key;
	int i, r = 0;

	if (*g->rel) {
		key = xasprintf("%s/n/%s/%s", prefix, g->top, g->rel);
		r = rh_etcd_role_grant(root, role, perm, key, strlen(key),
		                       NULL, 0, 0, err);
		free(key);
	}
	for (i = 0; i < 3 && r == 0; i++) {
		key = xasprintf("%s/%s/%s/%s%s", prefix, kinds[i], g->top,
		                g->rel, *g->rel ? "/" : "");
		r = rh_etcd_role_grant(root, role, perm, key, strlen(key),
		                       NULL, 0, RH_ETCD_PREFIX, err);
		free(key);
	}
	return r;
}

/* P/g/<top>/<role>: the record of a share, read by rh shares. */
static char *
record_key(const char *prefix, const struct grant *g, const char *role)
{
	char *rest = xasprintf("%s/%s", g->top, role), *key;

	key = cmd_key(prefix, "g", rest);
	free(rest);
	return key;
}

static int
put_record(struct rh_etcd *root, const char *key, const struct grant *g,
           struct rh_err *err)
{
	cJSON *o = cJSON_CreateObject();
	char *text, *now = utc_now();
	int r;

	add_fields(o, g);
	cJSON_DeleteItemFromObjectCaseSensitive(o, "op");
	cJSON_AddStringToObject(o, "by", g->by);
	cJSON_AddStringToObject(o, "time", now);
	text = rh_json_print(o, 0);
	r = rh_etcd_put(root, key, strlen(key), text, strlen(text), NULL, err);
	cJSON_free(text);
	cJSON_Delete(o);
	free(now);
	return r;
}

int
grant_apply(struct rh_etcd *root, const char *prefix, const struct grant *g,
            struct rh_err *err)
{
	char *role = role_name(g), *rec = record_key(prefix, g, role), *path;
	int r;

	if ((r = check_names(root, prefix, g, err)) < 0)
		goto out;
	if (g->op == GRANT_UNSHARE) {
		r = rh_etcd_role_delete(root, role, err);
		if (r == -ENOENT) {
			path = grant_path(g);
			r = rh_err_set(err, ENOENT, "%s is not shared with %s",
			               path, g->user);
			free(path);
		}
		if (r == 0)
			r = rh_etcd_delete(root, rec, strlen(rec), 0, NULL,
			                   err);
		goto out;
	}
	/* Granting a range again replaces its permission: read and write
	 * switch in place. */
	if (((r = rh_etcd_role_add(root, role, err)) < 0 && r != -EEXIST) ||
	    (r = grant_ranges(root, prefix, g, role, err)) < 0 ||
	    (r = rh_etcd_user_grant(root, g->user, role, err)) < 0)
		goto out;
	r = put_record(root, rec, g, err);
out:
	free(rec);
	free(role);
	return r;
}

/* ---- the audit: a log line and a key P/a/<time>-<id> ---- */

/* A copy of what a user wrote, safe in a log line: control characters
 * (which could forge a line) and, with ascii, any byte past 0x7f (a key
 * is bytes, perhaps not UTF-8) become '?'. */
static char *
printable(const char *s, size_t len, int ascii)
{
	char *p = xmalloc(len + 1);
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		p[i] = c < 0x20 || c == 0x7f || (ascii && c > 0x7f) ? '?' :
		                                                      s[i];
	}
	p[len] = '\0';
	return p;
}

void
grant_audit(struct rh_etcd *root, const char *prefix, const struct grant *g,
            const char *outcome, const char *reason)
{
	struct timespec ts;
	struct rh_err err;
	cJSON *o = cJSON_CreateObject();
	char *key, *id = grant_id(), *text, *now = utc_now(), *what = NULL;
	char *line, *safe;

	if (g->top != NULL && g->user != NULL) {
		char *path = grant_path(g);

		what = xasprintf("%s %s with %s%s", g->op == GRANT_SHARE ?
		                 "share" : "stop sharing", path, g->user,
		                 g->op == GRANT_UNSHARE ? "" :
		                 g->write ? " (write)" : " (read)");
		free(path);
	}
	if (what != NULL)
		line = xasprintf("%s: %s asked to %s%s%s", outcome, g->by,
		                 what, reason ? ": " : "", reason ? reason : "");
	else
		line = xasprintf("%s: a request of %s: %s", outcome,
		                 g->by ? g->by : "?", reason ? reason : "");
	safe = printable(line, strlen(line), 0);
	rh_log(RH_LOG_INFO, "%s", safe);
	free(safe);
	free(line);
	clock_gettime(CLOCK_REALTIME, &ts);
	key = xasprintf("%s/a/%010lld%09ld-%s", prefix, (long long)ts.tv_sec,
	                ts.tv_nsec, id);
	cJSON_AddStringToObject(o, "time", now);
	cJSON_AddStringToObject(o, "by", g->by ? g->by : "");
	if (g->top != NULL && g->user != NULL)
		add_fields(o, g);
	cJSON_AddStringToObject(o, "outcome", outcome);
	if (reason != NULL)
		cJSON_AddStringToObject(o, "reason", reason);
	text = rh_json_print(o, 0);
	if (rh_etcd_put(root, key, strlen(key), text, strlen(text), NULL,
	                &err) < 0)
		rh_log(RH_LOG_WARN, "audit key %s: %s", key, err.msg);
	cJSON_free(text);
	cJSON_Delete(o);
	free(what);
	free(now);
	free(id);
	free(key);
}

/* ---- the controller's side of a request ---- */

/* Write the outcome over the request, unless it changed meanwhile (the
 * new request is then answered on its own). */
static void
answer(struct rh_etcd *root, const char *key, size_t key_len,
       const struct grant *g, int64_t rev, const char *outcome,
       const char *reason)
{
	cJSON *o = cJSON_CreateObject();
	struct rh_err err;
	char *text, *now = utc_now();
	int r;

	if (g->top != NULL && g->user != NULL)
		add_fields(o, g);
	cJSON_AddStringToObject(o, "outcome", outcome);
	if (reason != NULL)
		cJSON_AddStringToObject(o, "reason", reason);
	cJSON_AddStringToObject(o, "time", now);
	text = rh_json_print(o, 0);
	r = rh_etcd_put_if(root, key, key_len, text, strlen(text), rev, NULL,
	                   &err);
	if (r < 0 && r != -EAGAIN) {
		char *k = printable(key, key_len, 1);

		rh_log(RH_LOG_WARN, "answer to %s: %s", k, err.msg);
		free(k);
	}
	cJSON_free(text);
	cJSON_Delete(o);
	free(now);
}

/* etcd out of reach: the request waits for the controller's next reading
 * of the requests, it is not refused. */
static int
unreachable(int r)
{
	return r == -EHOSTUNREACH || r == -ETIMEDOUT || r == -EIO;
}

static void
left_for_later(const char *key, size_t key_len, const char *why)
{
	char *k = printable(key, key_len, 1);

	rh_log(RH_LOG_WARN, "request %s: %s; answered when etcd is back", k,
	       why);
	free(k);
}

/* Still the version seen: an event replayed after a reconnection, or a
 * request changed since, is not applied a second time. */
static int
pending(struct rh_etcd *root, const char *key, size_t key_len, int64_t rev)
{
	struct rh_etcd_kv kv;
	struct rh_err err;
	int r;

	if ((r = rh_etcd_get(root, key, key_len, &kv, &err)) == 0) {
		r = kv.mod_revision == rev;
		rh_etcd_kv_free(&kv);
		return r;
	}
	if (r != -ENOENT)
		left_for_later(key, key_len, err.msg);
	return 0;
}

void
grant_handle(struct rh_etcd *root, const char *prefix, const char *key,
             size_t key_len, const char *value, size_t value_len,
             int64_t rev)
{
	struct rh_err err;
	cJSON *req = rh_json_parse(value ? value : "", value_len, "it", &err);
	struct grant g;
	char *reason;
	int r;

	/* Answered already (this is the controller's own answer). */
	if ((cJSON_IsObject(req) &&
	     cJSON_GetObjectItemCaseSensitive(req, "outcome") != NULL) ||
	    !pending(root, key, key_len, rev)) {
		cJSON_Delete(req);
		return;
	}
	if (parse_request(prefix, key, key_len, req, &g, &err) < 0) {
		char *k = printable(key, key_len, 1);

		reason = xasprintf("malformed request %s: %s", k, err.msg);
		free(k);
		grant_audit(root, prefix, &g, "refused", reason);
		answer(root, key, key_len, &g, rev, "refused", reason);
		free(reason);
	} else if ((r = grant_may(root, &g, &err)) < 0 ||
	           (r = grant_apply(root, prefix, &g, &err)) < 0) {
		if (unreachable(r)) {
			left_for_later(key, key_len, err.msg);
		} else {
			grant_audit(root, prefix, &g, "refused", err.msg);
			answer(root, key, key_len, &g, rev, "refused",
			       err.msg);
		}
	} else {
		const char *done = g.op == GRANT_SHARE ? "granted" : "revoked";

		grant_audit(root, prefix, &g, done, NULL);
		answer(root, key, key_len, &g, rev, done, NULL);
	}
	grant_clear(&g);
	cJSON_Delete(req);
}

int
grant_outcome(const char *value, size_t value_len, const char **outcome,
              char **reason, struct rh_err *err)
{
	cJSON *o = rh_json_parse(value ? value : "", value_len, "the answer",
	                         err);
	const char *s, *why;
	int r = 0;

	*outcome = NULL;
	*reason = NULL;
	if (o == NULL)
		return -EINVAL;
	s = rh_json_str(o, "outcome");
	why = rh_json_str(o, "reason");
	if (s == NULL)
		r = -EAGAIN;            /* not answered yet */
	else if (strcmp(s, "granted") == 0)
		*outcome = "granted";
	else if (strcmp(s, "revoked") == 0)
		*outcome = "revoked";
	else if (strcmp(s, "refused") == 0)
		*outcome = "refused";
	else
		r = rh_err_set(err, EINVAL, "an answer '%.64s' this rh does "
		               "not know", s);
	if (r == 0 && why != NULL)
		*reason = xstrdup(why);
	cJSON_Delete(o);
	return r;
}

/* ---- the ranges a top folder needs for requests and listings ---- */

int
grant_setup(struct rh_etcd *root, const char *prefix, const char *top,
            int org, struct rh_err *err)
{
	char *role = xasprintf("rh-%c-%s", org ? 'o' : 'u', top);
	char *rest = xasprintf("%s/", top), *key;
	int r = 0;

	if (!org) {
		key = cmd_key(prefix, "r", rest);
		r = rh_etcd_role_grant(root, role, RH_ETCD_READWRITE, key,
		                       strlen(key), NULL, 0, RH_ETCD_PREFIX,
		                       err);
		free(key);
	}
	if (r == 0) {
		key = cmd_key(prefix, "g", rest);
		r = rh_etcd_role_grant(root, role, RH_ETCD_READ, key,
		                       strlen(key), NULL, 0, RH_ETCD_PREFIX,
		                       err);
		free(key);
	}
	free(rest);
	free(role);
	return r;
}

/* ---- rh shares ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
grant_list(struct rh_etcd *c, const char *prefix, const char *top,
           const char *under, FILE *out, struct rh_err *err)
{
	char *rest = xasprintf("%s/", top), *key = cmd_key(prefix, "g", rest);
	struct rh_etcd_kvs kvs;
	char **lines;
	size_t i, n = 0, ulen = under ? strlen(under) : 0;
	int r;

	r = cmd_range_prefix(c, key, &kvs, err);
	if (r == -EACCES)
		r = rh_err_set(err, EACCES, "/%s: only its owner or its "
		               "organisation's members see its shares", top);
	free(key);
	free(rest);
	if (r < 0)
		return r;
	lines = xcalloc(kvs.n + 1, sizeof(*lines));
	for (i = 0; i < kvs.n; i++) {
		cJSON *o = cmd_kv_json(&kvs.kv[i]);
		const char *path = rh_json_str(o, "path"),
		           *user = rh_json_str(o, "user"),
		           *perm = rh_json_str(o, "perm");

		if (path && user && perm &&
		    (under == NULL || (strncmp(path, under, ulen) == 0 &&
		                       (path[ulen] == '\0' ||
		                        path[ulen] == '/'))))
			lines[n++] = xasprintf("%s %s %s", path, user, perm);
		cJSON_Delete(o);
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	for (i = 0; i < n; i++) {
		fprintf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	rh_etcd_kvs_free(&kvs);
	return 0;
}

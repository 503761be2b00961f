/* cmd-admin.c - rh admin init|useradd|orgadd|serve: etcd's root user, the
 * users and organisations of the remote RNS and their roles, as laid out
 * in docs/architecture.md, and the grant controller that answers users'
 * share requests. Everything is checked before anything changes. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "etcd.h"
#include "cmd.h"

struct admin {
	struct cmd_remote rem;
	const char *name;       /* etcd's administrator: root */
	int from_stdin;
	const char *password_file;      /* root's password, else stdin/tty */
	int syslog;             /* serve: log to syslog, not stderr */
	struct rh_etcd *c;
	struct rh_err err;
};

/* Existing is fine: init, useradd and orgadd may be run again. */
static int
ok_exists(int r)
{
	return r == -EEXIST ? 0 : r;
}

static int
grant(struct admin *a, const char *role, enum rh_etcd_perm perm,
      const char *kind, const char *rest, int prefix)
{
	char *key = cmd_key(a->rem.prefix, kind, rest);
	int r;

	r = rh_etcd_role_grant(a->c, role, perm, key, strlen(key), NULL, 0,
	                       prefix ? RH_ETCD_PREFIX : 0, &a->err);
	free(key);
	return r;
}

/* Read/write on a top folder's resources, history and secrets. */
static int
grant_top(struct admin *a, const char *role, const char *top)
{
	static const char *const kinds[] = { "n", "h", "s" };
	char *rest = xasprintf("%s/", top);
	int i, r = 0;

	for (i = 0; i < 3 && r == 0; i++)
		r = grant(a, role, RH_ETCD_READWRITE, kinds[i], rest, 1);
	free(rest);
	return r;
}

static int
root_password(struct admin *a, int confirm, char **pw)
{
	if (a->password_file != NULL)
		return cmd_password_file(a->password_file, pw, &a->err);
	return cmd_password("etcd root password", a->from_stdin, confirm, pw,
	                    &a->err);
}

/* Log in as root with the first password. */
static int
admin_login(struct admin *a, char **pw)
{
	int r;

	if ((r = root_password(a, 0, pw)) < 0)
		return r;
	if ((r = cmd_etcd_connect(a->rem.url, a->rem.ca_file, &a->c,
	                          &a->err)) < 0)
		return r;
	return rh_etcd_auth(a->c, a->name, *pw, &a->err);
}

/* P/t/<name>: the top folder's record, or -ENOENT. */
static int
top_get(struct admin *a, const char *name, cJSON **rec, int64_t *rev)
{
	char *key = cmd_key(a->rem.prefix, "t", name);
	struct rh_etcd_kv kv;
	int r;

	*rec = NULL;
	*rev = 0;
	r = rh_etcd_get(a->c, key, strlen(key), &kv, &a->err);
	if (r == 0) {
		*rec = rh_json_parse(kv.value ? kv.value : "", kv.value_len,
		                     key, &a->err);
		*rev = kv.mod_revision;
		rh_etcd_kv_free(&kv);
		if (*rec == NULL)
			r = -EINVAL;
		else if (!cJSON_IsObject(*rec))
			r = rh_err_set(&a->err, EINVAL, "%s: not a JSON object",
			               key);
	}
	free(key);
	return r;
}

static int
top_put(struct admin *a, const char *name, const cJSON *rec, int64_t rev)
{
	char *key = cmd_key(a->rem.prefix, "t", name), *text;
	int r;

	text = rh_json_print(rec, 0);
	r = rh_etcd_put_if(a->c, key, strlen(key), text, strlen(text), rev,
	                   NULL, &a->err);
	if (r == -EAGAIN)
		r = rh_err_set(&a->err, EAGAIN, "%s: changed meanwhile; run "
		               "again", key);
	cJSON_free(text);
	free(key);
	return r;
}

static int
user_exists(struct admin *a, const char *user)
{
	char **roles;
	size_t n;
	int r;

	r = rh_etcd_user_roles(a->c, user, &roles, &n, &a->err);
	if (r == 0)
		rh_strs_free(roles, n);
	else if (r == -ENOENT)
		rh_err_set(&a->err, ENOENT, "%s: no such user (rh admin "
		           "useradd %s makes it)", user, user);
	return r;
}

static int
admin_init(struct admin *a)
{
	char *pw = NULL;
	int r;

	if ((r = root_password(a, 1, &pw)) < 0 ||
	    (r = cmd_etcd_connect(a->rem.url, a->rem.ca_file, &a->c,
	                          &a->err)) < 0)
		goto out;
	r = rh_etcd_auth(a->c, a->name, pw, &a->err);
	if (r == 0) {
		printf("etcd %s: auth is already enabled, %s logs in\n",
		       a->rem.url, a->name);
		goto out;
	}
	if (strstr(a->err.msg, "not enabled") == NULL)
		goto out;       /* wrong password, unreachable... */
	/* Auth is off: anyone may still do this. */
	if ((r = ok_exists(rh_etcd_user_add(a->c, a->name, pw,
	                                    &a->err))) < 0 ||
	    (r = ok_exists(rh_etcd_role_add(a->c, "root", &a->err))) < 0 ||
	    (r = rh_etcd_user_grant(a->c, a->name, "root", &a->err)) < 0 ||
	    (r = rh_etcd_auth_enable(a->c, &a->err)) < 0)
		goto out;
	if ((r = rh_etcd_auth(a->c, a->name, pw, &a->err)) < 0) {
		rh_err_set(&a->err, -r, "auth is enabled, but %s does not log "
		           "in with this password (was it made earlier with "
		           "another?): %s", a->name, a->err.msg);
		goto out;
	}
	printf("etcd %s: auth enabled; %s is its administrator\n",
	       a->rem.url, a->name);
out:
	cmd_password_free(pw);
	return r;
}

static int
admin_useradd(struct admin *a, const char *user)
{
	char *pw = NULL, *upw = NULL, *role = NULL, *prompt, *rest;
	cJSON *rec = NULL;
	int64_t rev;
	int r;

	if ((r = cmd_check_user(user, &a->err)) < 0)
		return r;
	if ((r = admin_login(a, &pw)) < 0)
		goto out;
	prompt = xasprintf("password of %s", user);
	r = cmd_password(prompt, a->from_stdin, 1, &upw, &a->err);
	free(prompt);
	if (r < 0)
		goto out;
	if ((r = top_get(a, user, &rec, &rev)) != -ENOENT) {
		if (r == 0)
			r = rh_err_set(&a->err, EEXIST, "%s: a user or "
			               "organisation of that name exists", user);
		goto out;
	}
	if ((r = rh_etcd_user_add(a->c, user, upw, &a->err)) < 0) {
		if (r == -EEXIST)
			rh_err_set(&a->err, EEXIST, "%s: etcd already has this "
			           "user", user);
		goto out;
	}
	role = xasprintf("rh-u-%s", user);
	rest = xasprintf("%s", user);
	if ((r = ok_exists(rh_etcd_role_add(a->c, role, &a->err))) < 0 ||
	    (r = grant_top(a, role, user)) < 0 ||
	    (r = grant(a, role, RH_ETCD_READWRITE, "k", rest, 0)) < 0 ||
	    (r = grant(a, role, RH_ETCD_READWRITE, "c", rest, 0)) < 0 ||
	    (r = grant(a, role, RH_ETCD_READ, "t", "", 1)) < 0 ||
	    (r = grant_setup(a->c, a->rem.prefix, user, 0, &a->err)) < 0 ||
	    (r = rh_etcd_user_grant(a->c, user, role, &a->err)) < 0) {
		free(rest);
		goto out;
	}
	free(rest);
	rec = cJSON_CreateObject();
	cJSON_AddStringToObject(rec, "kind", "user");
	if ((r = top_put(a, user, rec, 0)) < 0)
		goto out;
	printf("user %s added, with the folder /%s\n", user, user);
out:
	cJSON_Delete(rec);
	free(role);
	cmd_password_free(pw);
	cmd_password_free(upw);
	return r;
}

static int
has_member(const cJSON *members, const char *user)
{
	const cJSON *m;

	cJSON_ArrayForEach(m, members)
		if (cJSON_IsString(m) && strcmp(m->valuestring, user) == 0)
			return 1;
	return 0;
}

static int
admin_orgadd(struct admin *a, const char *org, int nusers, char **users)
{
	const cJSON *kind;
	cJSON *rec = NULL, *members;
	char *pw = NULL, *role = NULL;
	int64_t rev;
	int i, r;

	if ((r = cmd_check_user(org, &a->err)) < 0)
		return r;
	for (i = 0; i < nusers; i++)
		if ((r = cmd_check_user(users[i], &a->err)) < 0)
			return r;
	if ((r = admin_login(a, &pw)) < 0)
		goto out;
	for (i = 0; i < nusers; i++)
		if ((r = user_exists(a, users[i])) < 0)
			goto out;
	r = top_get(a, org, &rec, &rev);
	if (r == -ENOENT) {
		rec = cJSON_CreateObject();
		cJSON_AddStringToObject(rec, "kind", "org");
		cJSON_AddArrayToObject(rec, "members");
	} else if (r < 0) {
		goto out;
	}
	kind = cJSON_GetObjectItemCaseSensitive(rec, "kind");
	members = cJSON_GetObjectItemCaseSensitive(rec, "members");
	if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "org") != 0 ||
	    !cJSON_IsArray(members)) {
		r = rh_err_set(&a->err, EEXIST, "%s: a user of that name "
		               "exists", org);
		goto out;
	}
	role = xasprintf("rh-o-%s", org);
	if ((r = ok_exists(rh_etcd_role_add(a->c, role, &a->err))) < 0 ||
	    (r = grant_top(a, role, org)) < 0 ||
	    (r = grant_setup(a->c, a->rem.prefix, org, 1, &a->err)) < 0)
		goto out;
	for (i = 0; i < nusers; i++) {
		if ((r = rh_etcd_user_grant(a->c, users[i], role,
		                            &a->err)) < 0)
			goto out;
		if (!has_member(members, users[i]))
			cJSON_AddItemToArray(members,
			                     cJSON_CreateString(users[i]));
	}
	if ((r = top_put(a, org, rec, rev)) < 0)
		goto out;
	printf("organisation %s: %d member%s\n", org,
	       cJSON_GetArraySize(members),
	       cJSON_GetArraySize(members) == 1 ? "" : "s");
out:
	cJSON_Delete(rec);
	free(role);
	cmd_password_free(pw);
	return r;
}

/* ---- serve: the grant controller ---- */

/* Every key below P/<kind>/ at one revision. */
static int
range_kind(struct admin *a, const char *kind, struct rh_etcd_kvs *kvs,
           struct rh_err *err)
{
	char *key = cmd_key(a->rem.prefix, kind, "");
	int r = cmd_range_prefix(a->c, key, kvs, err);

	free(key);
	return r;
}

/* Every top folder's role gets its request and listing ranges: users
 * added before there was a controller can make requests too. */
static int
setup_tops(struct admin *a)
{
	struct rh_etcd_kvs kvs;
	size_t i, plen = strlen(a->rem.prefix) + 3;
	int r;

	if ((r = range_kind(a, "t", &kvs, &a->err)) < 0)
		return r;
	for (i = 0; i < kvs.n && r == 0; i++) {
		cJSON *rec = cmd_kv_json(&kvs.kv[i]);
		const cJSON *kind = cJSON_GetObjectItemCaseSensitive(rec,
		                                                     "kind");

		if (cJSON_IsString(kind))
			r = grant_setup(a->c, a->rem.prefix,
			                kvs.kv[i].key + plen,
			                strcmp(kind->valuestring, "org") == 0,
			                &a->err);
		cJSON_Delete(rec);
	}
	rh_etcd_kvs_free(&kvs);
	return r;
}

/* Answer every request not answered yet; *rev: the revision read. */
static int
serve_scan(struct admin *a, int64_t *rev, struct rh_err *err)
{
	struct rh_etcd_kvs kvs;
	size_t i;
	int r;

	if ((r = range_kind(a, "r", &kvs, err)) < 0)
		return r;
	for (i = 0; i < kvs.n; i++)
		grant_handle(a->c, a->rem.prefix, kvs.kv[i].key,
		             kvs.kv[i].key_len, kvs.kv[i].value,
		             kvs.kv[i].value_len, kvs.kv[i].mod_revision);
	*rev = kvs.revision;
	rh_etcd_kvs_free(&kvs);
	return 0;
}

/* On the watch's thread; the main thread only waits for a signal. */
static void
on_request(void *arg, const struct rh_etcd_event *ev)
{
	struct admin *a = arg;
	struct rh_err err;
	int64_t rev;

	switch (ev->type) {
	case RH_ETCD_EV_PUT:
		grant_handle(a->c, a->rem.prefix, ev->key, ev->key_len,
		             ev->value, ev->value_len, ev->mod_revision);
		break;
	case RH_ETCD_EV_RESYNC:
	case RH_ETCD_EV_UP:
		/* Compacted history, or requests left while etcd was out of
		 * reach: read them all again. */
		rh_log(RH_LOG_INFO, "%s: reading the requests again",
		       ev->type == RH_ETCD_EV_UP ? "etcd is back" :
		       "etcd compacted their history");
		if (serve_scan(a, &rev, &err) < 0)
			rh_log(RH_LOG_ERR, "reading the requests: %s", err.msg);
		break;
	case RH_ETCD_EV_DOWN:
		rh_log(RH_LOG_WARN, "lost etcd %s; trying again", a->rem.url);
		break;
	case RH_ETCD_EV_DELETE:
		break;
	}
}

static int
admin_serve(struct admin *a)
{
	struct rh_etcd_watch *w = NULL;
	sigset_t sigs;
	char *pw = NULL, *key;
	int64_t rev;
	int sig, r;

	/* The watch's thread inherits this mask: signals come here. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	rh_log_init("rh-admin-serve", !a->syslog, RH_LOG_INFO);
	rh_log_timestamps(1);
	r = admin_login(a, &pw);
	cmd_password_free(pw);
	if (r < 0 || (r = setup_tops(a)) < 0 ||
	    (r = serve_scan(a, &rev, &a->err)) < 0)
		return r;
	key = cmd_key(a->rem.prefix, "r", "");
	r = rh_etcd_watch_start(a->c, key, strlen(key), rev + 1, on_request, a,
	                        &w, &a->err);
	if (r == 0)
		rh_log(RH_LOG_INFO, "grant controller of %s: answering the "
		       "requests under %s", a->rem.url, key);
	free(key);
	if (r < 0)
		return r;
	sigwait(&sigs, &sig);
	rh_log(RH_LOG_INFO, "stopping (%s)", strsignal(sig));
	rh_etcd_watch_stop(w);
	return 0;
}

int
cmd_admin(int argc, char *argv[])
{
	static const struct option opts[] = {
		CMD_ETCD_OPTIONS,
		{ "password-file", required_argument, NULL, 'f' },
		{ "syslog", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_etcd_opts eo = { 0 };
	const char *sub;
	struct admin a;
	int o, r;

	memset(&a, 0, sizeof(a));
	a.name = "root";
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cmd_etcd_option(o, &eo))
			continue;
		switch (o) {
		case 'f': a.password_file = optarg; break;
		case 'l': a.syslog = 1; break;
		default: return cmd_usage("admin");
		}
	}
	if (optind >= argc)
		return cmd_usage("admin");
	a.from_stdin = eo.password_stdin;
	sub = argv[optind];
	if (!((strcmp(sub, "init") == 0 && argc - optind == 1) ||
	      (strcmp(sub, "useradd") == 0 && argc - optind == 2) ||
	      (strcmp(sub, "orgadd") == 0 && argc - optind >= 3) ||
	      (strcmp(sub, "serve") == 0 && argc - optind == 1)))
		return cmd_usage("admin");
	if (a.from_stdin && a.password_file != NULL)
		return cmd_fail("admin", "--password-stdin or --password-file, "
		                "not both");
	if (cmd_remote_find(eo.url, eo.ca_file, eo.prefix, &a.rem, &a.err) < 0)
		return cmd_fail("admin", "%s", a.err.msg);
	if (strcmp(sub, "init") == 0)
		r = admin_init(&a);
	else if (strcmp(sub, "useradd") == 0)
		r = admin_useradd(&a, argv[optind + 1]);
	else if (strcmp(sub, "serve") == 0)
		r = admin_serve(&a);
	else
		r = admin_orgadd(&a, argv[optind + 1], argc - optind - 2,
		                 argv + optind + 2);
	if (r < 0)
		cmd_fail("admin", "%s: %s", sub, a.err.msg);
	rh_etcd_free(a.c);
	cmd_remote_free(&a.rem);
	return r < 0 ? 1 : 0;
}

/* cmd-share.c - rh share, rh unshare and rh shares. A user's share is a
 * request, written with the user's own login under P/r/<user>/ and
 * answered by the grant controller (rh admin serve), which holds root's
 * credentials; rh waits for the answer. With --admin, rh applies the
 * share itself with the administrator's password, through the same
 * grant_apply. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"
#include "cmd.h"

/* How long rh waits for the controller's answer. */
#define ANSWER_MS 5000

struct share {
	struct cmd_remote rem;
	const char *admin;      /* --admin: the administrator's name */
	int from_stdin;
	char *addr;
	struct grant g;
	struct rh_etcd *c;
	struct rh_login login;
	int have_login;
	struct rh_err err;
};

static void
share_free(struct share *s)
{
	rh_etcd_free(s->c);
	if (s->have_login)
		rh_login_free(&s->login);
	cmd_remote_free(&s->rem);
	grant_clear(&s->g);
	free(s->addr);
}

static int
parse(struct share *s, const char *cmd, int argc, char *argv[], int nargs)
{
	static const struct option opts[] = {
		CMD_ETCD_OPTIONS,
		{ "admin", optional_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_etcd_opts eo = { 0 };
	int o;

	memset(s, 0, sizeof(*s));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cmd_etcd_option(o, &eo))
			continue;
		switch (o) {
		case 'a': s->admin = optarg ? optarg : "root"; break;
		default: return cmd_usage(cmd);
		}
	}
	s->from_stdin = eo.password_stdin;
	if (argc - optind != nargs)
		return cmd_usage(cmd);
	if (s->admin == NULL && (eo.url || eo.ca_file || s->from_stdin))
		return cmd_fail(cmd, "--url, --ca-file and --password-stdin "
		                "go with --admin; without it the request is "
		                "made with your login");
	if (cmd_address(argv[optind], &s->addr, NULL, &s->err) < 0 ||
	    grant_set_path(&s->g, s->addr, &s->err) < 0 ||
	    cmd_check_user(argv[optind + 1], &s->err) < 0)
		return cmd_fail(cmd, "%s", s->err.msg);
	s->g.user = xstrdup(argv[optind + 1]);
	/* A user's request goes where the login says. */
	if (s->admin == NULL &&
	    cmd_etcd_login(&s->login, &s->c, &s->err) == -ENOENT)
		return cmd_fail(cmd, "not logged in (rh login first; an "
		                "administrator may use --admin)");
	s->have_login = s->c != NULL;
	if ((s->admin != NULL || s->have_login) &&
	    cmd_remote_find(eo.url, eo.ca_file, eo.prefix, &s->rem, &s->err) < 0)
		return cmd_fail(cmd, "%s", s->err.msg);
	return 0;
}

/* ---- --admin: the grant applied here, with the password ---- */

static int
apply_as_admin(struct share *s)
{
	char *pw = NULL, *prompt = xasprintf("etcd %s password", s->admin);
	int r;

	r = cmd_password(prompt, s->from_stdin, 0, &pw, &s->err);
	free(prompt);
	if (r == 0 && (r = cmd_etcd_connect(s->rem.url, s->rem.ca_file, &s->c,
	                                    &s->err)) == 0)
		r = rh_etcd_auth(s->c, s->admin, pw, &s->err);
	cmd_password_free(pw);
	if (r < 0)
		return r;
	s->g.by = xstrdup(s->admin);
	if ((r = grant_apply(s->c, s->rem.prefix, &s->g, &s->err)) < 0)
		return r;
	grant_audit(s->c, s->rem.prefix, &s->g, s->g.op == GRANT_SHARE ?
	            "granted" : "revoked", NULL);
	return 0;
}

/* ---- a request, and the wait for its answer ---- */

struct answer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *value;            /* the answered request */
	size_t len;
	int gone;               /* the request was deleted */
};

static void
on_request(void *arg, const struct rh_etcd_event *ev)
{
	struct answer *a = arg;
	const char *outcome;
	char *reason = NULL;
	struct rh_err err;

	if (ev->type == RH_ETCD_EV_PUT &&
	    grant_outcome(ev->value, ev->value_len, &outcome, &reason,
	                  &err) == -EAGAIN)
		return;
	if (ev->type != RH_ETCD_EV_PUT && ev->type != RH_ETCD_EV_DELETE)
		return;
	pthread_mutex_lock(&a->lock);
	if (ev->type == RH_ETCD_EV_DELETE)
		a->gone = 1;
	else if (a->value == NULL) {
		a->value = xmalloc(ev->value_len + 1);
		memcpy(a->value, ev->value, ev->value_len);
		a->value[ev->value_len] = '\0';
		a->len = ev->value_len;
	}
	free(reason);
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* Wait (at most ANSWER_MS) for the answer to the request put at rev. */
static int
wait_answer(struct share *s, const char *key, int64_t rev, struct answer *a)
{
	struct rh_etcd_watch *w;
	struct timespec until;
	int r = 0;

	pthread_mutex_init(&a->lock, NULL);
	rh_cond_init_monotonic(&a->cond);
	until = rh_time_after(CLOCK_MONOTONIC, ANSWER_MS);
	if ((r = rh_etcd_watch_key(s->c, key, strlen(key), rev + 1, on_request,
	                           a, &w, &s->err)) < 0)
		goto out;
	pthread_mutex_lock(&a->lock);
	while (a->value == NULL && !a->gone && r == 0)
		r = -pthread_cond_timedwait(&a->cond, &a->lock, &until);
	pthread_mutex_unlock(&a->lock);
	rh_etcd_watch_stop(w);
	if (a->gone)
		r = rh_err_set(&s->err, ENOENT, "%s: the request was removed "
		               "before it was answered", key);
	else if (a->value == NULL)
		r = rh_err_set(&s->err, ETIMEDOUT, "no grant controller "
		               "answered in %d s: the administrator runs `rh "
		               "admin serve` (the request waits for it)",
		               ANSWER_MS / 1000);
out:
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	return r;
}

static int
request(struct share *s)
{
	struct answer a;
	const char *outcome;
	char *rest, *key, *text, *reason = NULL, *id = grant_id();
	int64_t rev;
	int r;

	memset(&a, 0, sizeof(a));
	if (!s->have_login) {   /* the login failed */
		free(id);
		return -EACCES;
	}
	s->g.by = xstrdup(s->login.user);
	rest = xasprintf("%s/%s", s->login.user, id);
	key = cmd_key(s->rem.prefix, "r", rest);
	text = grant_request(&s->g);
	r = rh_etcd_put(s->c, key, strlen(key), text, strlen(text), &rev,
	                &s->err);
	if (r == -EACCES)
		rh_err_set(&s->err, EACCES, "%s: %s may not make requests "
		           "there yet: the administrator runs `rh admin serve`",
		           key, s->login.user);
	if (r == 0 && (r = wait_answer(s, key, rev, &a)) == 0 &&
	    (r = grant_outcome(a.value, a.len, &outcome, &reason,
	                       &s->err)) == 0) {
		if (strcmp(outcome, "refused") == 0)
			r = rh_err_set(&s->err, EACCES, "%s", reason ? reason :
			               "refused");
		/* answered: the request has done its work */
		rh_etcd_delete(s->c, key, strlen(key), 0, NULL, NULL);
	}
	free(reason);
	free(a.value);
	cJSON_free(text);
	free(key);
	free(rest);
	free(id);
	return r;
}

static int
run(struct share *s, const char *cmd)
{
	int r = s->admin ? apply_as_admin(s) : request(s);

	if (r < 0)
		return cmd_fail(cmd, "%s", s->err.msg);
	if (s->g.op == GRANT_SHARE)
		printf("%s shared with %s (%s)\n", s->addr, s->g.user,
		       s->g.write ? "write" : "read");
	else
		printf("%s no longer shared with %s\n", s->addr, s->g.user);
	return 0;
}

int
cmd_share(int argc, char *argv[])
{
	struct share s;
	int r;

	if ((r = parse(&s, "share", argc, argv, 3)) != 0)
		goto out;
	if (strcmp(argv[argc - 1], "write") == 0)
		s.g.write = 1;
	else if (strcmp(argv[argc - 1], "read") != 0) {
		r = cmd_fail("share", "'%s': read or write", argv[argc - 1]);
		goto out;
	}
	s.g.op = GRANT_SHARE;
	r = run(&s, "share");
out:
	share_free(&s);
	return r;
}

int
cmd_unshare(int argc, char *argv[])
{
	struct share s;
	int r;

	if ((r = parse(&s, "unshare", argc, argv, 2)) == 0) {
		s.g.op = GRANT_UNSHARE;
		r = run(&s, "unshare");
	}
	share_free(&s);
	return r;
}

/* ---- rh shares [PATH] ---- */

/* The organisations user is a member of (P/t/ says). */
static int
orgs_of(struct rh_etcd *c, const char *prefix, const char *user,
        char ***orgs, size_t *n, struct rh_err *err)
{
	char *key = cmd_key(prefix, "t", "");
	struct rh_etcd_kvs kvs;
	size_t i, plen = strlen(key);
	int r;

	*orgs = NULL;
	*n = 0;
	r = cmd_range_prefix(c, key, &kvs, err);
	free(key);
	if (r < 0)
		return r;
	*orgs = xcalloc(kvs.n + 1, sizeof(**orgs));
	for (i = 0; i < kvs.n; i++) {
		cJSON *rec = cmd_kv_json(&kvs.kv[i]);
		const cJSON *m, *members =
			cJSON_GetObjectItemCaseSensitive(rec, "members");

		cJSON_ArrayForEach(m, members)
			if (cJSON_IsString(m) &&
			    strcmp(m->valuestring, user) == 0)
				(*orgs)[(*n)++] = xstrdup(kvs.kv[i].key + plen);
		cJSON_Delete(rec);
	}
	rh_etcd_kvs_free(&kvs);
	return 0;
}

int
cmd_shares(int argc, char *argv[])
{
	static const struct option opts[] = {
		CMD_OPTION_PREFIX,
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_etcd_opts eo = { 0 };
	struct cmd_remote rem;
	struct rh_etcd *c = NULL;
	struct rh_login l;
	struct rh_err err;
	struct grant g;
	char *addr = NULL, **orgs = NULL;
	size_t i, n = 0;
	int o, r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (!cmd_etcd_option(o, &eo))
			return cmd_usage("shares");
	if (argc - optind > 1)
		return cmd_usage("shares");
	memset(&g, 0, sizeof(g));
	memset(&rem, 0, sizeof(rem));
	if (optind < argc &&
	    ((r = cmd_address(argv[optind], &addr, NULL, &err)) < 0 ||
	     (r = grant_set_path(&g, addr, &err)) < 0))
		goto fail;
	if ((r = cmd_etcd_login(&l, &c, &err)) < 0) {
		if (r == -ENOENT)
			rh_err_set(&err, ENOENT, "not logged in (rh login "
			           "first)");
		goto fail;
	}
	if ((r = cmd_remote_find(NULL, NULL, eo.prefix, &rem, &err)) < 0)
		;
	else if (addr != NULL)
		r = grant_list(c, rem.prefix, g.top, *g.rel ? addr : NULL,
		               stdout, &err);
	else if ((r = grant_list(c, rem.prefix, l.user, NULL, stdout,
	                         &err)) == 0 &&
	         (r = orgs_of(c, rem.prefix, l.user, &orgs, &n, &err)) == 0)
		for (i = 0; i < n && r == 0; i++)
			r = grant_list(c, rem.prefix, orgs[i], NULL, stdout,
			               &err);
	if (orgs != NULL)
		rh_strs_free(orgs, n);
	rh_login_free(&l);
fail:
	if (r < 0)
		cmd_fail("shares", "%s", err.msg);
	rh_etcd_free(c);
	cmd_remote_free(&rem);
	grant_clear(&g);
	free(addr);
	return r < 0 ? 1 : 0;
}

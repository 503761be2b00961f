/* cmd-share.c - rh share and rh unshare: a role per (path, user) that
 * grants read or read/write on the path's keys, given to the user or
 * taken away. Only etcd's root may make roles and grant them, so both
 * ask for the root password (the departure from DESIGN §7 that
 * docs/rh.1 explains). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "cmd.h"

struct share {
	struct cmd_remote rem;
	const char *admin;
	int from_stdin;
	char *addr, *top, *rel;
	const char *user;
	struct rh_etcd *c;
	struct rh_err err;
};

/* rh-share-<sha256 hex of "top/rel:user">: one role per path and user,
 * found again by unshare without a list of shares. */
static char *
role_name(const struct share *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n, i;
	char *what = xasprintf("%s%s%s:%s", s->top, *s->rel ? "/" : "",
	                       s->rel, s->user);
	char *hex, *role;

	if (!EVP_Digest(what, strlen(what), md, &n, EVP_sha256(), NULL))
		abort();
	hex = xmalloc(2 * n + 1);
	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	role = xasprintf("rh-share-%s", hex);
	free(hex);
	free(what);
	return role;
}

static int
parse(struct share *s, const char *cmd, int argc, char *argv[], int nargs)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "admin", required_argument, NULL, 'a' },
		{ "password-stdin", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *url = NULL, *ca = NULL, *prefix = NULL;
	int o;

	memset(s, 0, sizeof(*s));
	s->admin = "root";
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'u': url = optarg; break;
		case 'c': ca = optarg; break;
		case 'p': prefix = optarg; break;
		case 'a': s->admin = optarg; break;
		case 's': s->from_stdin = 1; break;
		default: return cmd_usage(cmd);
		}
	}
	if (argc - optind != nargs)
		return cmd_usage(cmd);
	s->user = argv[optind + 1];
	if (cmd_address(argv[optind], &s->addr, NULL, &s->err) < 0 ||
	    cmd_address_split(s->addr, &s->top, &s->rel, &s->err) < 0 ||
	    cmd_check_user(s->user, &s->err) < 0 ||
	    cmd_remote_find(url, ca, prefix, &s->rem, &s->err) < 0)
		return cmd_fail(cmd, "%s", s->err.msg);
	return 0;
}

static void
share_free(struct share *s)
{
	rh_etcd_free(s->c);
	cmd_remote_free(&s->rem);
	free(s->addr);
	free(s->top);
	free(s->rel);
}

static int
admin_login(struct share *s)
{
	char *pw = NULL, *prompt = xasprintf("etcd %s password", s->admin);
	int r;

	r = cmd_password(prompt, s->from_stdin, 0, &pw, &s->err);
	free(prompt);
	if (r == 0 && (r = cmd_etcd_connect(s->rem.url, s->rem.ca_file, &s->c,
	                                    &s->err)) == 0)
		r = rh_etcd_auth(s->c, s->admin, pw, &s->err);
	cmd_password_free(pw);
	return r;
}

/* The keys of the path: its config, and below it resources, history and
 * secret values. */
static int
grant_path(struct share *s, const char *role, enum rh_etcd_perm perm)
{
	static const char *const kinds[] = { "n", "h", "s" };
	char *key;
	int i, r = 0;

	if (*s->rel) {
		key = xasprintf("%s/n/%s/%s", s->rem.prefix, s->top, s->rel);
		r = rh_etcd_role_grant(s->c, role, perm, key, strlen(key),
		                       NULL, 0, 0, &s->err);
		free(key);
	}
	for (i = 0; i < 3 && r == 0; i++) {
		key = xasprintf("%s/%s/%s/%s%s", s->rem.prefix, kinds[i],
		                s->top, s->rel, *s->rel ? "/" : "");
		r = rh_etcd_role_grant(s->c, role, perm, key, strlen(key),
		                       NULL, 0, RH_ETCD_PREFIX, &s->err);
		free(key);
	}
	return r;
}

/* Both must exist before anything changes. */
static int
check_names(struct share *s)
{
	struct rh_etcd_kv kv;
	char **roles, *key = xasprintf("%s/t/%s", s->rem.prefix, s->top);
	size_t n;
	int r;

	r = rh_etcd_get(s->c, key, strlen(key), &kv, &s->err);
	free(key);
	if (r == -ENOENT)
		return rh_err_set(&s->err, ENOENT, "%s: no user or "
		                  "organisation %s", s->addr, s->top);
	if (r < 0)
		return r;
	rh_etcd_kv_free(&kv);
	if (strcmp(s->user, s->top) == 0)
		return rh_err_set(&s->err, EINVAL, "%s: it is %s's own folder",
		                  s->addr, s->user);
	r = rh_etcd_user_roles(s->c, s->user, &roles, &n, &s->err);
	if (r == -ENOENT)
		return rh_err_set(&s->err, ENOENT, "%s: no such user",
		                  s->user);
	if (r == 0)
		rh_etcd_strv_free(roles, n);
	return r;
}

int
cmd_share(int argc, char *argv[])
{
	struct share s;
	enum rh_etcd_perm perm;
	char *role = NULL;
	int r;

	if ((r = parse(&s, "share", argc, argv, 3)) != 0) {
		share_free(&s);
		return r;
	}
	if (strcmp(argv[argc - 1], "read") == 0)
		perm = RH_ETCD_READ;
	else if (strcmp(argv[argc - 1], "write") == 0)
		perm = RH_ETCD_READWRITE;
	else {
		share_free(&s);
		return cmd_fail("share", "'%s': read or write", argv[argc - 1]);
	}
	role = role_name(&s);
	/* Granting a range again replaces its permission: read and write
	 * switch in place. */
	if ((r = admin_login(&s)) < 0 || (r = check_names(&s)) < 0 ||
	    ((r = rh_etcd_role_add(s.c, role, &s.err)) < 0 && r != -EEXIST) ||
	    (r = grant_path(&s, role, perm)) < 0 ||
	    (r = rh_etcd_user_grant(s.c, s.user, role, &s.err)) < 0)
		r = cmd_fail("share", "%s", s.err.msg);
	else
		printf("%s shared with %s (%s)\n", s.addr, s.user,
		       argv[argc - 1]);
	free(role);
	share_free(&s);
	return r < 0 ? 1 : r;
}

int
cmd_unshare(int argc, char *argv[])
{
	struct share s;
	char *role;
	int r;

	if ((r = parse(&s, "unshare", argc, argv, 2)) != 0) {
		share_free(&s);
		return r;
	}
	role = role_name(&s);
	if ((r = admin_login(&s)) == 0 &&
	    (r = rh_etcd_role_delete(s.c, role, &s.err)) == -ENOENT)
		rh_err_set(&s.err, ENOENT, "%s is not shared with %s", s.addr,
		           s.user);
	if (r < 0)
		r = cmd_fail("unshare", "%s", s.err.msg);
	else
		printf("%s no longer shared with %s\n", s.addr, s.user);
	free(role);
	share_free(&s);
	return r < 0 ? 1 : r;
}

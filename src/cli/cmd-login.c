/* cmd-login.c - rh login and rh logout: the password is checked against
 * etcd, then ~/.rh/login.json (0600) and config.yaml's username and
 * rns_url are written for rhfs to find at mount. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"
#include "cmd.h"

/* A value from the option, else config.yaml, else asked on the terminal. */
static int
pick(const char *opt, const struct rh_config *cfg, const char *key,
     const char *prompt, char **out, struct rh_err *err)
{
	const char *v = opt ? opt : cfg ? rh_config_get(cfg, key) : NULL;

	if (v != NULL) {
		*out = xstrdup(v);
		return 0;
	}
	return cmd_ask(prompt, out, err);
}

/* A warning, not a failure: the login works, the mount will show little. */
static void
check_top(struct rh_etcd *c, const struct rh_login *l)
{
	char *key = cmd_key(l->prefix, "t", l->user);
	struct rh_etcd_kv kv;
	struct rh_err err;
	int r;

	r = rh_etcd_get(c, key, strlen(key), &kv, &err);
	if (r == 0)
		rh_etcd_kv_free(&kv);
	else if (r == -ENOENT || r == -EACCES)
		fprintf(stderr, "rh login: warning: %s has no folder in etcd "
		        "under %s%s (rh admin useradd %s makes it)\n", l->user,
		        l->prefix, r == -EACCES ? " that it may read" : "",
		        l->user);
	else
		fprintf(stderr, "rh login: warning: %s\n", err.msg);
	free(key);
}

int
cmd_login(int argc, char *argv[])
{
	static const struct option opts[] = {
		CMD_ETCD_OPTIONS,
		{ "user", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	struct cmd_etcd_opts eo = { 0 };
	const char *user = NULL;
	struct rh_login l;
	struct rh_config *cfg = NULL;
	struct rh_etcd *c = NULL;
	struct rh_err err;
	struct cmd_remote rem;
	char cabuf[PATH_MAX];
	int o, r = 1;

	memset(&l, 0, sizeof(l));
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cmd_etcd_option(o, &eo))
			continue;
		switch (o) {
		case 'n': user = optarg; break;
		default: return cmd_usage("login");
		}
	}
	if (optind != argc)
		return cmd_usage("login");
	if (cmd_config_load(&cfg, &err) < 0)
		return cmd_fail("login", "%s", err.msg);
	if (pick(eo.url, cfg, "rns_url", "etcd URL", &l.url, &err) < 0 ||
	    pick(user, cfg, "username", "User", &l.user, &err) < 0) {
		r = cmd_fail("login", "%s", err.msg);
		goto out;
	}
	if (cmd_check_user(l.user, &err) < 0) {
		r = cmd_fail("login", "%s", err.msg);
		goto out;
	}
	/* The prefix as rh admin and rhfs will find it. */
	if (cmd_remote_find(l.url, NULL, eo.prefix, &rem, &err) < 0) {
		r = cmd_fail("login", "%s", err.msg);
		goto out;
	}
	l.prefix = rem.prefix;
	rem.prefix = NULL;
	cmd_remote_free(&rem);
	if (eo.ca_file != NULL) {
		if (realpath(eo.ca_file, cabuf) == NULL) {
			r = cmd_fail("login", "CA file %s: %s", eo.ca_file,
			             strerror(errno));
			goto out;
		}
		l.ca_file = xstrdup(cabuf);
	}
	if (cmd_password("Password", eo.password_stdin, 0, &l.password, &err) < 0 ||
	    cmd_etcd_connect(l.url, l.ca_file, &c, &err) < 0 ||
	    rh_etcd_auth(c, l.user, l.password, &err) < 0) {
		r = cmd_fail("login", "%s%s", err.msg,
		             strstr(err.msg, "not enabled") ? " (rh admin init "
		             "enables it)" : "");
		goto out;
	}
	check_top(c, &l);
	if (rh_login_save(&l, &err) < 0) {
		r = cmd_fail("login", "%s", err.msg);
		goto out;
	}
	rh_config_set(cfg, "username", l.user);
	rh_config_set(cfg, "rns_url", l.url);
	if (eo.prefix != NULL)
		rh_config_set(cfg, "rns_prefix", l.prefix);
	if (rh_config_save(cfg, &err) < 0) {
		struct rh_err e2;

		rh_login_remove(&e2);   /* all or nothing */
		r = cmd_fail("login", "%s", err.msg);
		goto out;
	}
	printf("logged in to %s as %s\n", l.url, l.user);
	r = 0;
out:
	rh_etcd_free(c);
	rh_login_free(&l);
	rh_config_free(cfg);
	return r;
}

int
cmd_logout(int argc, char *argv[])
{
	struct rh_config *cfg;
	struct rh_err err;
	int r;

	(void)argv;
	if (argc != 1)
		return cmd_usage("logout");
	if ((r = rh_login_remove(&err)) < 0 && r != -ENOENT)
		return cmd_fail("logout", "%s", err.msg);
	if (cmd_config_load(&cfg, &err) < 0)
		return cmd_fail("logout", "%s", err.msg);
	if (rh_config_get(cfg, "username") != NULL ||
	    rh_config_get(cfg, "rns_url") != NULL) {
		rh_config_unset(cfg, "username");
		rh_config_unset(cfg, "rns_url");
		if (rh_config_save(cfg, &err) < 0) {
			rh_config_free(cfg);
			return cmd_fail("logout", "%s", err.msg);
		}
	}
	rh_config_free(cfg);
	return 0;
}

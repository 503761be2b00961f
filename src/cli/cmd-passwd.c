/* cmd-passwd.c - rh passwd: a new login password, and the user's secrets
 * key (P/k/<user>) wrapped again under it, so the secrets stay readable.
 *
 * etcd 3.4 lets only root change a password, so rh passwd also asks for
 * the administrator's password. The key is re-wrapped first, by
 * compare-and-swap; if etcd then refuses the new password, the old
 * wrapping is put back. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"
#include "secret.h"
#include "cmd.h"

int
cmd_passwd(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "admin", required_argument, NULL, 'a' },
		CMD_OPTION_PASSWORD_STDIN,
		{ NULL, 0, NULL, 0 },
	};
	struct cmd_etcd_opts eo = { 0 };
	const char *admin = "root";
	char *newpw = NULL, *adminpw = NULL, *oldpw, *k, *prompt;
	struct rh_etcd *user = NULL, *root = NULL;
	struct rh_etcd_kv kv;
	struct rh_login l;
	struct rh_err err;
	int c, r, have_key = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cmd_etcd_option(c, &eo))
			continue;
		switch (c) {
		case 'a': admin = optarg; break;
		default: return cmd_usage("passwd");
		}
	}
	if (optind != argc)
		return cmd_usage("passwd");
	memset(&kv, 0, sizeof(kv));
	if ((r = cmd_etcd_login(&l, &user, &err)) < 0)
		return cmd_fail("passwd", "%s", r == -ENOENT ?
		                "not logged in (rh login first)" : err.msg);
	oldpw = l.password;
	if ((r = cmd_password("new password", eo.password_stdin, 1, &newpw,
	                      &err)) < 0)
		goto out;
	prompt = xasprintf("etcd %s password", admin);
	r = cmd_password(prompt, eo.password_stdin, 0, &adminpw, &err);
	free(prompt);
	if (r < 0)
		goto out;
	if ((r = cmd_etcd_connect(l.url, l.ca_file, &root, &err)) < 0 ||
	    (r = rh_etcd_auth(root, admin, adminpw, &err)) < 0)
		goto out;

	/* the old wrapping, to put back if etcd refuses the password */
	k = cmd_key(l.prefix, "k", l.user);
	r = rh_etcd_get(user, k, strlen(k), &kv, &err);
	free(k);
	if (r < 0 && r != -ENOENT)
		goto out;
	have_key = r == 0;
	if (have_key && (r = rh_secret_remote_rewrap(user, l.prefix, l.user,
	                                             oldpw, newpw, &err)) < 0)
		goto out;
	if ((r = rh_etcd_user_passwd(root, l.user, newpw, &err)) < 0) {
		struct rh_err e2;

		k = cmd_key(l.prefix, "k", l.user);
		if (have_key)
			rh_etcd_put(user, k, strlen(k), kv.value, kv.value_len,
			            NULL, &e2);
		free(k);
		goto out;
	}
	free(l.password);
	l.password = xstrdup(newpw);
	if ((r = rh_login_save(&l, &err)) < 0)
		goto out;
	printf("password of %s changed%s\n", l.user,
	       have_key ? "; secrets key wrapped again" : "");
out:
	rh_etcd_kv_free(&kv);
	cmd_password_free(newpw);
	cmd_password_free(adminpw);
	if (user != NULL)
		rh_etcd_free(user);
	if (root != NULL)
		rh_etcd_free(root);
	rh_login_free(&l);
	return r < 0 ? cmd_fail("passwd", "%s", err.msg) : 0;
}

/*
 * cmd.h - the rh command line: its subcommands and what they share.
 *
 * Adding a subcommand is one table entry: write
 *     int cmd_foo(int argc, char *argv[]);
 * in its own src/cmd-foo.c (argv[0] is "foo", the words after it follow;
 * return the exit status: 0, or 1 after printing one line with cmd_fail),
 * declare it below, add src/cmd-foo.c to rh_SOURCES in Makefile.am, and
 * add one line to the table in src/rh-main.c:
 *     { "foo", cmd_foo, "foo ARG..." },
 * Subcommands with their own subcommands (admin, config, secrets) parse
 * their next word themselves.
 */
#ifndef RH_CMD_H
#define RH_CMD_H

#include <stdio.h>

#include "rh.h"

struct rh_cmd {
	const char *name;
	int (*run)(int argc, char *argv[]);
	const char *usage;      /* after "rh " */
};

int cmd_login(int argc, char *argv[]);
int cmd_logout(int argc, char *argv[]);
int cmd_admin(int argc, char *argv[]);
int cmd_share(int argc, char *argv[]);
int cmd_unshare(int argc, char *argv[]);
int cmd_config(int argc, char *argv[]);
int cmd_secrets(int argc, char *argv[]);
int cmd_passwd(int argc, char *argv[]);
int cmd_ssh(int argc, char *argv[]);
int cmd_tunnel(int argc, char *argv[]);

/* ---- cmd-util.c: messages, passwords, etcd ---- */

/* "rh CMD: message" on stderr; returns 1, the exit status. */
int cmd_fail(const char *cmd, const char *fmt, ...) RH_PRINTF(2, 3);
/* The usage line of cmd on stderr; returns 2. */
int cmd_usage(const char *cmd);

/*
 * A password: the next line of stdin with from_stdin, else asked on the
 * terminal without echo (confirm: asked twice, must match). Never empty.
 * Free with cmd_password_free, which wipes it.
 */
int cmd_password(const char *prompt, int from_stdin, int confirm,
                 char **out, struct rh_err *err);
void cmd_password_free(char *pw);
/* A line asked on the terminal with echo (URL, user name). */
int cmd_ask(const char *prompt, char **out, struct rh_err *err);

/* User and organisation names: they are top folders of the mount and
 * etcd user names, so [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 bytes, and
 * not "root". */
int cmd_check_user(const char *name, struct rh_err *err);

/* Where etcd is: the options given, else the login, else config.yaml's
 * rns_url (and rns_prefix). Fields are the caller's to free. */
struct cmd_remote {
	char *url;
	char *ca_file;
	char *prefix;           /* "/rh": no trailing slash */
};
int cmd_remote_find(const char *url, const char *ca_file, const char *prefix,
                    struct cmd_remote *out, struct rh_err *err);
void cmd_remote_free(struct cmd_remote *r);
int cmd_etcd_connect(const char *url, const char *ca_file,
                     struct rh_etcd **out, struct rh_err *err);
/* Connected and logged in as the user of ~/.rh/login.json. */
int cmd_etcd_login(struct rh_login *l, struct rh_etcd **out,
                   struct rh_err *err);
/* Keys of the layout (docs/architecture.md): "P/<kind>/<rest>". */
char *cmd_key(const char *prefix, const char *kind, const char *rest);

/* ~/.rh/config.yaml, loaded; -errno and err when malformed. */
int cmd_config_load(struct rh_config **out, struct rh_err *err);

/* ---- cmd-addr.c: RNS addresses ---- */

/*
 * What the user typed as the address of a resource: a path inside an
 * rhfs mount (MOUNT/~/x, MOUNT/alice/x, MOUNT/@/x), an address (~/x,
 * ^name, @/x, /alice/x), or a bare name in the default folder. *addr is
 * "~/x", "^name" or "/top/x" (@ replaced by the login's user). When
 * arg is inside a mount and mount_path is not NULL, *mount_path is its
 * canonical path (else NULL): the mount knows its own ~ best.
 */
int cmd_address(const char *arg, char **addr, char **mount_path,
                struct rh_err *err);
/* A remote address "/top/rel" split; rel is "" for the top itself. */
int cmd_address_split(const char *addr, char **top, char **rel,
                      struct rh_err *err);
/* The config.json of the resource at addr, read through the mount at
 * mount_path if given, else from its store. */
int cmd_resource_get(const char *addr, const char *mount_path,
                     struct rh_buf *out, struct rh_err *err);

#endif

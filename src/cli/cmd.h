/*
 * cmd.h - the rh command line: its subcommands and what they share.
 *
 * Adding a subcommand is one table entry: write
 *     int cmd_foo(int argc, char *argv[]);
 * in its own src/cli/cmd-foo.c (argv[0] is "foo", the words after it follow;
 * return the exit status: 0, or 1 after printing one line with cmd_fail),
 * declare it below, add src/cli/cmd-foo.c to rh_SOURCES in Makefile.am, and
 * add one line to the table in src/cli/rh-main.c:
 *     { "foo", cmd_foo, "foo ARG..." },
 * Subcommands with their own subcommands (admin, config, secrets) parse
 * their next word themselves.
 */
#ifndef RH_CMD_H
#define RH_CMD_H

#include <getopt.h>
#include <stdio.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"

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
int cmd_shares(int argc, char *argv[]);
int cmd_config(int argc, char *argv[]);
int cmd_secrets(int argc, char *argv[]);
int cmd_passwd(int argc, char *argv[]);
int cmd_ssh(int argc, char *argv[]);
int cmd_tunnel(int argc, char *argv[]);
int cmd_cp(int argc, char *argv[]);
int cmd_notebook(int argc, char *argv[]);

/* ---- cmd-util.c: messages, passwords, etcd ---- */

/* The options of the subcommands that reach etcd, declared once: a
 * subcommand puts CMD_ETCD_OPTIONS (or the rows it takes) in its option
 * table and hands each option getopt_long returns to cmd_etcd_option
 * before its own. */
struct cmd_etcd_opts {
	const char *url;        /* --url URL: the etcd members */
	const char *ca_file;    /* --ca-file FILE: the CA to trust */
	const char *prefix;     /* --prefix P: rhfs's keys in etcd */
	int password_stdin;     /* --password-stdin */
};
enum {
	CMD_OPT_URL = 0x100, CMD_OPT_CA_FILE, CMD_OPT_PREFIX,
	CMD_OPT_PASSWORD_STDIN
};
#define CMD_OPTION_URL { "url", required_argument, NULL, CMD_OPT_URL }
#define CMD_OPTION_CA_FILE \
	{ "ca-file", required_argument, NULL, CMD_OPT_CA_FILE }
#define CMD_OPTION_PREFIX \
	{ "prefix", required_argument, NULL, CMD_OPT_PREFIX }
#define CMD_OPTION_PASSWORD_STDIN \
	{ "password-stdin", no_argument, NULL, CMD_OPT_PASSWORD_STDIN }
#define CMD_ETCD_OPTIONS CMD_OPTION_URL, CMD_OPTION_CA_FILE, \
	CMD_OPTION_PREFIX, CMD_OPTION_PASSWORD_STDIN
/* Their usage, for the subcommands' usage lines (rh-main.c): where etcd
 * is, rhfs's prefix there, the password from stdin; and all of them. */
#define CMD_USAGE_URL "[--url URL] [--ca-file FILE]"
#define CMD_USAGE_PREFIX "[--prefix P]"
#define CMD_USAGE_PASSWORD_STDIN "[--password-stdin]"
#define CMD_ETCD_USAGE \
	CMD_USAGE_URL " " CMD_USAGE_PREFIX " " CMD_USAGE_PASSWORD_STDIN
/* 1 when o is one of them (its value, optarg, now in eo), else 0. */
int cmd_etcd_option(int o, struct cmd_etcd_opts *eo);

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
/* A password: the first line of a file only its owner may read (0600). */
int cmd_password_file(const char *path, char **out, struct rh_err *err);
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
/* Every key that starts with prefix. */
int cmd_range_prefix(struct rh_etcd *c, const char *prefix,
                     struct rh_etcd_kvs *out, struct rh_err *err);
/* A key's value parsed as JSON (NULL when it is not); cJSON_Delete it. */
struct cJSON *cmd_kv_json(const struct rh_etcd_kv *kv);
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
/* The workdir, found from the current directory as Runhouse finds it. */
int cmd_workdir(char **out, struct rh_err *err);
/* The config.json of the resource at addr, read through the mount at
 * mount_path if given, else from its store. */
int cmd_resource_get(const char *addr, const char *mount_path,
                     struct rh_buf *out, struct rh_err *err);

/* ---- cmd-ssh.c: a cluster's head node ---- */

struct cmd_node {
	char *addr;
	int local;              /* ^local: this machine, no SSH */
	char *host, *user, *key;
	char *known_hosts;      /* an on-demand cluster's own (sky.c) */
	int port;
};
/* The cluster at arg (as cmd_address takes it), as link.c reaches it:
 * its head node, user, port and key. */
int cmd_node_find(const char *arg, struct cmd_node *n, struct rh_err *err);
void cmd_node_free(struct cmd_node *n);

/* ---- grant.c: shares, requests for them, their audit ---- */

/*
 * A share of /top/rel with user, or its end. Keys (docs/architecture.md):
 * requests P/r/<requester>/<id> (only the requester writes there), a
 * record per share P/g/<top>/<role>, the audit P/a/<time>-<id>.
 */
enum grant_op { GRANT_SHARE, GRANT_UNSHARE };
struct grant {
	enum grant_op op;
	int write;              /* share: read/write, else read */
	char *top, *rel;        /* the path; rel is "" for the top itself */
	char *user;             /* shared with */
	char *by;               /* who asked */
};
/* Set g's path from "/top[/rel]", checked. */
int grant_set_path(struct grant *g, const char *path, struct rh_err *err);
char *grant_path(const struct grant *g);
void grant_clear(struct grant *g);
/* 16 random hex digits: a request's id. */
char *grant_id(void);
/* A request's JSON text. */
char *grant_request(const struct grant *g);
/* The answer written over a request: *outcome "granted", "revoked" or
 * "refused" (*reason says why), or -EAGAIN when not answered yet. */
int grant_outcome(const char *value, size_t value_len, const char **outcome,
                  char **reason, struct rh_err *err);

/* With root's credentials. g->by may share the path: -EACCES and why
 * when not. */
int grant_may(struct rh_etcd *root, const struct grant *g,
              struct rh_err *err);
/* The one path that applies a share or takes it back: the folder and
 * the user are checked, then the role, its ranges and the record. */
int grant_apply(struct rh_etcd *root, const char *prefix,
                const struct grant *g, struct rh_err *err);
/* Logs who asked what and the outcome, and keeps it under P/a/. */
void grant_audit(struct rh_etcd *root, const char *prefix,
                 const struct grant *g, const char *outcome,
                 const char *reason);
/* Answers the request at key (its mod_revision rev) unless answered:
 * checked, applied or refused, audited, the outcome written back. */
void grant_handle(struct rh_etcd *root, const char *prefix, const char *key,
                  size_t key_len, const char *value, size_t value_len,
                  int64_t rev);
/* The ranges of a top folder's role for requests (a user's P/r/U/) and
 * for listing its shares (P/g/TOP/). */
int grant_setup(struct rh_etcd *root, const char *prefix, const char *top,
                int org, struct rh_err *err);
/* Prints "PATH USER read|write" for each share of /top (at or below
 * under when not NULL), sorted. */
int grant_list(struct rh_etcd *c, const char *prefix, const char *top,
               const char *under, FILE *out, struct rh_err *err);

#endif

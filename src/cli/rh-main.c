/* rh-main.c - the rh command: a table of subcommands (see cmd.h to add
 * one) and the dispatch to them. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cmd.h"

static const struct rh_cmd commands[] = {
	{ "login", cmd_login, "login [--user NAME] " CMD_ETCD_USAGE },
	{ "logout", cmd_logout, "logout" },
	{ "admin", cmd_admin, "admin " CMD_USAGE_URL " " CMD_USAGE_PREFIX
	  " [--password-stdin | --password-file FILE] [--syslog] "
	  "init | useradd NAME | orgadd ORG USER... | serve" },
	{ "share", cmd_share, "share " CMD_USAGE_PREFIX " [--admin[=NAME] "
	  CMD_USAGE_URL " " CMD_USAGE_PASSWORD_STDIN "] PATH USER read|write" },
	{ "unshare", cmd_unshare, "unshare " CMD_USAGE_PREFIX " [--admin[=NAME] "
	  CMD_USAGE_URL " " CMD_USAGE_PASSWORD_STDIN "] PATH USER" },
	{ "shares", cmd_shares, "shares " CMD_USAGE_PREFIX " [PATH]" },
	{ "config", cmd_config, "config set KEY VALUE | get KEY | upload | "
	  "download" },
	{ "secrets", cmd_secrets, "secrets [--local | --workdir DIR] "
	  "extract|download [PROVIDER...]" },
	{ "passwd", cmd_passwd, "passwd [--admin NAME] "
	  CMD_USAGE_PASSWORD_STDIN },
	{ "ssh", cmd_ssh, "ssh [--known-hosts FILE] [--dry-run] CLUSTER "
	  "[-- COMMAND...]" },
	{ "cp", cmd_cp, "cp SRC DEST" },
	{ "tunnel", cmd_tunnel, "tunnel [--known-hosts FILE] [--dry-run] "
	  "CLUSTER LOCAL_PORT:REMOTE_PORT" },
	{ "notebook", cmd_notebook, "notebook [--port N] [--env ENV] "
	  "[--known-hosts FILE] CLUSTER" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage_all(FILE *f)
{
	size_t i;

	fprintf(f, "usage:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  rh %s\n", commands[i].usage);
	fprintf(f, "  rh --version\nSee rh(1).\n");
}

int
cmd_usage(const char *cmd)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cmd) == 0) {
			fprintf(stderr, "usage: rh %s\n", commands[i].usage);
			return 2;
		}
	usage_all(stderr);
	return 2;
}

int
main(int argc, char *argv[])
{
	size_t i;

	rh_log_init("rh", 1, RH_LOG_WARN);
	if (argc < 2) {
		usage_all(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("rh %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "rh: '%s' is not a command (rh --help lists them)\n",
	        argv[1]);
	return 2;
}

/* cmd-ssh.c - rh ssh and rh tunnel: the system's ssh client, run with a
 * cluster's head node, user, port and key from its config (an on-demand
 * cluster's from what SkyPilot records, as rhfs reaches it), and the same
 * known_hosts as rhfs (an unknown host is recorded, a changed key
 * refused). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "link.h"
#include "cmd.h"

void
cmd_node_free(struct cmd_node *n)
{
	free(n->addr);
	free(n->host);
	free(n->user);
	free(n->key);
	free(n->known_hosts);
}

static char *
expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && (path[1] == '/' || path[1] == '\0'))
		return xasprintf("%s%s", home ? home : "", path + 1);
	return xstrdup(path);
}

int
cmd_node_find(const char *arg, struct cmd_node *n, struct rh_err *err)
{
	int (*reach)(const char *, cJSON **, char **, struct rh_err *);
	struct rh_buf text = { 0 };
	const cJSON *ips, *creds, *port, *type;
	const char *s;
	cJSON *cfg = NULL;
	char *mnt = NULL;
	int r;

	memset(n, 0, sizeof(*n));
	if ((r = cmd_address(arg, &n->addr, &mnt, err)) < 0 ||
	    (r = cmd_resource_get(n->addr, mnt, &text, err)) < 0)
		goto out;
	cfg = rh_json_parse(text.data, text.len, n->addr, NULL);
	type = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "cluster")) {
		r = rh_err_set(err, EINVAL, "%s: not a cluster%s%s%s", n->addr,
		               cJSON_IsString(type) ? " (a " : "",
		               cJSON_IsString(type) ? type->valuestring : "",
		               cJSON_IsString(type) ? ")" : "");
		goto out;
	}
	if ((s = rh_json_str(cfg, "server_connection_type")) != NULL &&
	    strcmp(s, "none") == 0) {
		n->local = 1;
		goto out;
	}
	/* a kind whose head is elsewhere once up (on-demand: SkyPilot's) */
	if ((reach = rh_cluster_kind(n->addr, cfg)->reach) != NULL) {
		cJSON_Delete(cfg);
		cfg = NULL;
		if ((r = reach(n->addr, &cfg, &n->known_hosts, err)) < 0)
			goto out;
	}
	ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");
	if (!cJSON_IsArray(ips) || !cJSON_IsString(cJSON_GetArrayItem(ips, 0))
	    || !*cJSON_GetArrayItem(ips, 0)->valuestring) {
		r = rh_err_set(err, EINVAL, "%s: the cluster has no ips (an "
		               "on-demand cluster that is not up)", n->addr);
		goto out;
	}
	n->host = xstrdup(cJSON_GetArrayItem(ips, 0)->valuestring);
	creds = cJSON_GetObjectItemCaseSensitive(cfg, "ssh_creds");
	s = rh_json_str(creds, "ssh_user");
	n->user = xstrdup(s && *s ? s : getenv("USER") ? getenv("USER") : "root");
	s = rh_json_str(creds, "ssh_private_key");
	n->key = expand_home(s && *s ? s : "~/.ssh/id_ed25519");
	port = cJSON_GetObjectItemCaseSensitive(creds, "ssh_port");
	if (!cJSON_IsNumber(port))
		port = cJSON_GetObjectItemCaseSensitive(cfg, "ssh_port");
	n->port = cJSON_IsNumber(port) ? port->valueint : 22;
	if (n->port < 1 || n->port > 65535) {
		r = rh_err_set(err, EINVAL, "%s: ssh_port %d is not a port",
		               n->addr, n->port);
		goto out;
	}
	if (access(n->key, R_OK) < 0)
		r = rh_err_set(err, errno, "%s: ssh key %s: %s", n->addr,
		               n->key, strerror(errno));
out:
	cJSON_Delete(cfg);
	rh_buf_free(&text);
	free(mnt);
	return r;
}

struct argv {
	char **v;
	size_t n;
};

static void
push(struct argv *a, const char *s)
{
	a->v = xrealloc(a->v, (a->n + 2) * sizeof(*a->v));
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

static void
ssh_base(struct argv *a, const struct cmd_node *n, const char *known_hosts)
{
	char *s;

	push(a, "ssh");
	push(a, "-p");
	s = xasprintf("%d", n->port);
	push(a, s);
	free(s);
	push(a, "-l");
	push(a, n->user);
	push(a, "-i");
	push(a, n->key);
	push(a, "-o");
	push(a, "IdentitiesOnly=yes");
	s = xasprintf("UserKnownHostsFile=%s", n->known_hosts ?
	              n->known_hosts : known_hosts);
	push(a, "-o");
	push(a, s);
	free(s);
	/* As rhfs: record a new host, refuse a changed key. */
	push(a, "-o");
	push(a, "StrictHostKeyChecking=accept-new");
	push(a, "-o");
	push(a, "HashKnownHosts=no");
	push(a, "-o");
	push(a, "ConnectTimeout=10");
}

#define SAFE "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"0123456789@%+=:,./_-"

/* Run argv in place of rh: print it with --dry-run. */
static int
run(const char *cmd, struct argv *a, int dry_run)
{
	size_t i;
	char *q;

	if (dry_run) {
		for (i = 0; i < a->n; i++) {
			/* quoted only where a shell needs it */
			q = a->v[i][0] && strspn(a->v[i], SAFE) ==
			    strlen(a->v[i]) ? xstrdup(a->v[i]) :
			    rh_shell_quote(a->v[i]);
			printf("%s%s", i ? " " : "", q);
			free(q);
		}
		printf("\n");
		return 0;
	}
	fflush(stdout);
	execvp(a->v[0], a->v);
	return cmd_fail(cmd, "%s: %s%s", a->v[0], strerror(errno),
	                errno == ENOENT ? " (install an OpenSSH client)" : "");
}

static void
argv_free(struct argv *a)
{
	rh_strs_free(a->v, a->n);
}

static int
parse(const char *cmd, int argc, char *argv[], char **known_hosts,
      int *dry_run)
{
	static const struct option opts[] = {
		{ "known-hosts", required_argument, NULL, 'k' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *home = getenv("HOME");
	int o;

	*dry_run = 0;
	*known_hosts = NULL;
	/* "+": what follows the cluster is its command, options and all */
	while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			free(*known_hosts);
			*known_hosts = xstrdup(optarg);
			break;
		case 'n':
			*dry_run = 1;
			break;
		default:
			free(*known_hosts);
			*known_hosts = NULL;
			return cmd_usage(cmd);
		}
	}
	if (*known_hosts == NULL)
		*known_hosts = xasprintf("%s/.ssh/known_hosts",
		                         home ? home : "");
	return optind < argc ? 0 : cmd_usage(cmd);
}

int
cmd_ssh(int argc, char *argv[])
{
	struct argv a = { NULL, 0 };
	struct cmd_node n;
	struct rh_err err;
	char *known_hosts;
	const char *shell;
	int i, first, dry_run, r;

	if ((r = parse("ssh", argc, argv, &known_hosts, &dry_run)) != 0)
		return r;
	first = optind + 1;
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	if (cmd_node_find(argv[optind], &n, &err) < 0) {
		r = cmd_fail("ssh", "%s", err.msg);
		goto out;
	}
	if (n.local) {
		/* This machine: its shell, or the command run by one. */
		shell = getenv("SHELL") && *getenv("SHELL") ?
		        getenv("SHELL") : "/bin/sh";
		push(&a, shell);
		if (first < argc) {
			struct rh_buf line = { 0 };

			for (i = first; i < argc; i++)
				rh_buf_printf(&line, "%s%s", i > first ? " " :
				              "", argv[i]);
			push(&a, "-c");
			push(&a, line.data);
			rh_buf_free(&line);
		}
	} else {
		ssh_base(&a, &n, known_hosts);
		push(&a, n.host);
		/* as ssh: the words are joined and run by the remote shell */
		for (i = first; i < argc; i++)
			push(&a, argv[i]);
	}
	r = run("ssh", &a, dry_run);
out:
	argv_free(&a);
	cmd_node_free(&n);
	free(known_hosts);
	return r;
}

static int
port_of(const char *s, const char *end)
{
	long p = 0;

	if (s == end || end - s > 5)
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		p = p * 10 + (*s - '0');
	}
	return p >= 1 && p <= 65535 ? (int)p : -1;
}

int
cmd_tunnel(int argc, char *argv[])
{
	struct argv a = { NULL, 0 };
	struct cmd_node n;
	struct rh_err err;
	const char *spec, *colon;
	char *known_hosts, *fwd;
	int lport, rport, dry_run, r;

	memset(&n, 0, sizeof(n));
	if ((r = parse("tunnel", argc, argv, &known_hosts, &dry_run)) != 0)
		return r;
	if (argc - optind != 2) {
		free(known_hosts);
		return cmd_usage("tunnel");
	}
	spec = argv[optind + 1];
	colon = strchr(spec, ':');
	if (colon == NULL || (lport = port_of(spec, colon)) < 0 ||
	    (rport = port_of(colon + 1, colon + strlen(colon))) < 0) {
		r = cmd_fail("tunnel", "'%s': LOCAL_PORT:REMOTE_PORT, ports "
		             "from 1 to 65535", spec);
		goto out;
	}
	if (cmd_node_find(argv[optind], &n, &err) < 0) {
		r = cmd_fail("tunnel", "%s", err.msg);
		goto out;
	}
	if (n.local) {
		r = cmd_fail("tunnel", "%s: this machine: port %d is already "
		             "here", n.addr, rport);
		goto out;
	}
	ssh_base(&a, &n, known_hosts);
	push(&a, "-N");
	push(&a, "-o");
	push(&a, "ExitOnForwardFailure=yes");
	push(&a, "-L");
	fwd = xasprintf("127.0.0.1:%d:localhost:%d", lport, rport);
	push(&a, fwd);
	free(fwd);
	push(&a, n.host);
	if (!dry_run)
		fprintf(stderr, "rh tunnel: 127.0.0.1:%d to port %d of %s "
		        "(%s); Ctrl-C ends it\n", lport, rport, n.addr, n.host);
	r = run("tunnel", &a, dry_run);
out:
	argv_free(&a);
	cmd_node_free(&n);
	free(known_hosts);
	return r;
}

/* link.c - reaching a cluster's agent. ^local (and any cluster whose head
 * is this machine with server_connection_type "none") spawns `rhagent
 * bridge` directly; any other cluster is reached over SSH: the agent on
 * the node is checked with `rhagent --version`, this build's rhagent is
 * uploaded when it is missing or differs, and one persistent exec channel
 * runs its bridge. Requests are then multiplexed over that one stream. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "proto.h"
#include "requests.h"
#include "link.h"

#define NODE_AGENT ".rh/bin/rhagent"    /* relative to the node's home */

struct link {
	char *addr;             /* the cluster's RNS address */
	struct rh_rpc *rpc;
	struct link *next;
};

struct rh_links {
	pthread_mutex_t lock;
	struct rh_link_opts opts;       /* pointing at the copies below */
	char *rhagent, *known_hosts;
	char *version;          /* our rhagent --version, for the node's */
	struct link *live;
	struct link *dead;      /* replaced; freed at the end */
	struct rh_rejoin *rejoin;       /* nodes.c: several ips' nodes */
};

static int
int_field(const cJSON *o, const char *key, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valueint : dflt;
}

/* The head node: the first of ips. */
static const char *
head_of(const cJSON *cfg)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");

	return cJSON_IsArray(ips) && cJSON_IsString(ips->child) ?
	       ips->child->valuestring : NULL;
}

/* "~/x" in a config means the home of the user running rhfs. */
static char *
expand_home(const char *path)
{
	const char *home = getenv("HOME");

	if (path[0] == '~' && path[1] == '/' && home != NULL)
		return xasprintf("%s%s", home, path + 1);
	return xstrdup(path);
}

static int
hello(struct rh_rpc *rpc, const char *addr, int timeout_ms,
      struct rh_err *err)
{
	struct rh_hello_req q = { RH_PROTO_VERSION, RH_PROTO_VERSION_MIN,
	                          NULL };
	cJSON *req = rh_hello_req_encode(&q), *reply = NULL;
	int r;

	r = rh_rpc_call_wait(rpc, req, timeout_ms, &reply);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	if (r < 0)
		return rh_err_set(err, -r, "%s: the agent did not answer: %s",
		                  addr, strerror(-r));
	return 0;
}

extern char **environ;

/* Start the agent as the bridge would: `rhagent serve` returns once the
 * agent listens, or once it found another one listening. */
static void
start_local(struct rh_links *ls)
{
	char serve[] = "serve", *argv[] = { ls->rhagent, serve, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	int r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&at);
	/* not the mask of this thread (rhfs's threads block SIGTERM) */
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	r = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (r == 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static int
open_local(struct rh_links *ls, const char *addr, struct rh_rpc **out,
           struct rh_err *err)
{
	char bridge[] = "bridge", *argv[] = { ls->rhagent, bridge, NULL };
	const char *home = getenv("HOME");
	struct rh_transport *t;
	char *sock;
	int r = -ENOENT;

	/* The agent is reached on its socket, as the bridge would, started
	 * first if none answers: no bridge process between, one hop less
	 * for each message. The bridge remains for a socket path too long
	 * for sun_path, or an agent that does not start this way. */
	if (home != NULL && *home == '/') {
		sock = xasprintf("%s/.rh/agent/sock", home);
		if ((r = rh_transport_unix(sock, &t)) < 0 &&
		    r != -ENAMETOOLONG) {
			start_local(ls);
			r = rh_transport_unix(sock, &t);
		}
		free(sock);
	}
	if (r < 0 && (r = rh_transport_spawn(argv, &t, err)) < 0)
		return r;
	return rh_rpc_start(t, addr, NULL, NULL, out) < 0 ?
	       rh_err_set(err, EIO, "%s: cannot start", addr) : 0;
}

/* The node runs our rhagent, or gets it now. */
int
rh_links_bootstrap(struct rh_links *ls, struct rh_ssh *ssh, const char *addr,
          struct rh_err *err)
{
	struct rh_buf out = { 0 };
	int r, status = -1;

	r = rh_ssh_exec(ssh, NODE_AGENT " --version", NULL, 0, &out, NULL,
	                &status, err);
	if (r < 0)
		goto done;
	if (status == 0 && out.len > 0 && strcmp(out.data, ls->version) == 0)
		goto done;
	rh_info("%s: installing rhagent on %s", addr, rh_ssh_where(ssh));
	if ((r = rh_ssh_exec(ssh, "mkdir -p .rh/bin", NULL, 0, NULL, NULL,
	                     &status, err)) < 0)
		goto done;
	if ((r = rh_ssh_upload(ssh, ls->opts.rhagent, NODE_AGENT, 0755,
	                       err)) < 0)
		goto done;
	/* an agent of another version may still run: the bridge starts
	 * ours once it is gone */
	r = rh_ssh_exec(ssh, NODE_AGENT " stop", NULL, 0, NULL, NULL, &status,
	                err);
done:
	rh_buf_free(&out);
	return r;
}

/* An SSH session to the cluster's head node. A kind that says where its
 * head is once up (an on-demand cluster: as the BYO cluster SkyPilot
 * records it to be) is reached there, checked in the known hosts file
 * that config names. */
int
rh_link_ssh(const char *addr, const cJSON *cfg, const char *known_hosts,
            int timeout_ms, struct rh_ssh **ssh, struct rh_err *err)
{
	const cJSON *creds;
	struct rh_ssh_opts o;
	const char *key;
	char *keypath, *user = NULL;
	cJSON *at;
	int r;

	if ((r = rh_cluster_reached(addr, cfg, &at, err)) < 0)
		return r;
	creds = cJSON_GetObjectItemCaseSensitive(at, "ssh_creds");
	memset(&o, 0, sizeof(o));
	o.host = head_of(at);
	if (o.host == NULL) {
		cJSON_Delete(at);
		return rh_err_set(err, EINVAL, "%s: the cluster has no ips to "
		                  "reach", addr);
	}
	o.port = int_field(creds, "ssh_port", int_field(at, "ssh_port", 22));
	o.user = rh_json_str(creds, "ssh_user");
	if (o.user == NULL)
		o.user = user = xstrdup(getenv("USER") ? getenv("USER") : "root");
	key = rh_json_str(creds, "ssh_private_key");
	keypath = expand_home(key ? key : "~/.ssh/id_ed25519");
	o.private_key = keypath;
	o.known_hosts = rh_json_str(at, "known_hosts") ?
	                rh_json_str(at, "known_hosts") : known_hosts;
	o.timeout_ms = timeout_ms;
	r = rh_ssh_connect(&o, ssh, err);
	free(keypath);
	free(user);
	cJSON_Delete(at);
	return r;
}

static int
connect_ssh(struct rh_links *ls, const char *addr, const cJSON *cfg,
            struct rh_ssh **ssh, struct rh_err *err)
{
	return rh_link_ssh(addr, cfg, ls->opts.known_hosts,
	                   ls->opts.timeout_ms, ssh, err);
}

int
rh_links_ssh(struct rh_links *ls, const char *addr, const cJSON *cfg,
             struct rh_ssh **ssh, struct rh_err *err)
{
	return connect_ssh(ls, addr, cfg, ssh, err);
}

int
rh_links_is_local(const char *addr, const cJSON *cfg)
{
	return rh_cluster_here(addr, cfg);
}

static int
open_ssh(struct rh_links *ls, const char *addr, const cJSON *cfg,
         struct rh_rpc **out, struct rh_err *err)
{
	struct rh_ssh *ssh;
	struct rh_ssh_chan *chan;
	int r;

	if ((r = connect_ssh(ls, addr, cfg, &ssh, err)) < 0)
		return r;
	if ((r = rh_links_bootstrap(ls, ssh, addr, err)) < 0 ||
	    (r = rh_ssh_chan_open(ssh, "exec " NODE_AGENT " bridge", &chan,
	                          err)) < 0) {
		rh_ssh_close(ssh);
		return r;
	}
	if (rh_rpc_start(rh_transport_ssh(ssh, chan), addr, NULL, NULL,
	                 out) < 0)
		r = rh_err_set(err, EIO, "%s: cannot start", addr);
	return r;
}

static char *
local_version(const char *rhagent)
{
	char buf[256], *cmd = rh_shell_quote(rhagent), *line;
	size_t n;
	FILE *p;

	line = xasprintf("%s --version", cmd);
	free(cmd);
	p = popen(line, "r");
	free(line);
	if (p == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	if (pclose(p) != 0 || n == 0)
		return NULL;
	return xstrdup(buf);
}

int
rh_links_new(const struct rh_link_opts *o, struct rh_links **out,
             struct rh_err *err)
{
	struct rh_links *ls;
	char *version = local_version(o->rhagent);

	if (version == NULL)
		return rh_err_set(err, ENOENT, "%s: not a working rhagent",
		                  o->rhagent);
	ls = xcalloc(1, sizeof(*ls));
	pthread_mutex_init(&ls->lock, NULL);
	ls->opts.rhagent = ls->rhagent = xstrdup(o->rhagent);
	ls->opts.known_hosts = ls->known_hosts = xstrdup(o->known_hosts);
	ls->opts.timeout_ms = o->timeout_ms;
	ls->version = version;
	*out = ls;
	return 0;
}

/*
 * The connection to the cluster at addr (config cfg), made or remade as
 * needed. Serialized: one connect per cluster at a time. The rpc stays
 * valid until rh_links_free; when its stream breaks, its calls fail and
 * the next get reconnects.
 */
int
rh_links_get(struct rh_links *ls, const char *addr, const cJSON *cfg,
             struct rh_rpc **out, struct rh_err *err)
{
	const struct rh_cluster_kind *kind = rh_cluster_kind(addr, cfg);
	struct link *l, **pp;
	struct rh_rpc *rpc;
	cJSON *at = NULL;
	int r;

	pthread_mutex_lock(&ls->lock);
	for (pp = &ls->live; (l = *pp) != NULL; pp = &l->next) {
		if (strcmp(l->addr, addr) != 0)
			continue;
		if (rh_rpc_alive(l->rpc)) {
			*out = l->rpc;
			pthread_mutex_unlock(&ls->lock);
			return 0;
		}
		*pp = l->next;
		l->next = ls->dead;
		ls->dead = l;
		break;
	}
	/* where its nodes are (an on-demand cluster's: as SkyPilot
	 * records them), asked once for the link and its workers */
	if ((r = rh_cluster_reached(addr, cfg, &at, err)) == 0)
		r = rh_cluster_here(addr, cfg) ?
		    open_local(ls, addr, &rpc, err) :
		    open_ssh(ls, addr, at, &rpc, err);
	if (r == 0 && (r = hello(rpc, addr, ls->opts.timeout_ms, err)) < 0)
		rh_rpc_stop(rpc);
	/* what the kind asks of its agent once linked (a SlurmCluster's:
	 * the head of its allocation's worker agents) */
	if (r == 0 && kind->linked != NULL &&
	    (r = kind->linked(rpc, addr, cfg, ls->opts.timeout_ms, err)) < 0)
		rh_rpc_stop(rpc);
	/* a cluster of several nodes (ips, or an on-demand cluster's as
	 * reached): the others' workers join the head (nodes.c); a node
	 * that cannot is left out, and said so */
	if (r == 0 && rh_nodes_is(at)) {
		struct rh_err e;
		cJSON *errors = NULL;

		if (rh_nodes_start(ls, addr, at, rpc, ls->opts.timeout_ms,
		                   &errors, &e) < 0)
			rh_warn("%s", e.msg);
		cJSON_Delete(errors);
		/* and while the link lives, a node not up is started again
		 * on a timer */
		if (ls->rejoin == NULL)
			ls->rejoin = rh_rejoin_new(ls, ls->opts.timeout_ms);
		rh_rejoin_watch(ls->rejoin, addr, at, rpc);
	}
	if (r == 0) {
		l = xcalloc(1, sizeof(*l));
		l->addr = xstrdup(addr);
		l->rpc = rpc;
		l->next = ls->live;
		ls->live = l;
		*out = rpc;
	}
	pthread_mutex_unlock(&ls->lock);
	cJSON_Delete(at);
	return r;
}

static void
free_list(struct link *l)
{
	struct link *next;

	for (; l != NULL; l = next) {
		next = l->next;
		rh_rpc_stop(l->rpc);
		free(l->addr);
		free(l);
	}
}

void
rh_links_free(struct rh_links *ls)
{
	if (ls == NULL)
		return;
	/* first: its thread uses the links */
	rh_rejoin_free(ls->rejoin);
	free_list(ls->live);
	free_list(ls->dead);
	free(ls->rhagent);
	free(ls->known_hosts);
	free(ls->version);
	pthread_mutex_destroy(&ls->lock);
	free(ls);
}

/* cluster.c - a cluster's status: a fresh probe at each open, as JSON,
 * bounded by the connect timeout (for each node). state is "up" (the
 * agent answered), "down" (nothing listens, or an on-demand cluster not
 * launched), "unreachable" (no answer in time, or the node refused us)
 * or, for a Slurm cluster, "up" (its job runs), "pending" or "down" (no
 * job: the last one's end in last_job), with the job (id, Slurm's state,
 * reason, nodes, time left) and what sinfo on its login node lists
 * (cluster-slurm.c); an on-demand cluster's also what
 * SkyPilot says (cluster-ondemand.c); a cluster of several ips has each
 * node's own. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "proto.h"
#include "link.h"
#include "rhfs.h"

static const char *const agent_fields[] = {
	"version", "proto", "pid", "uptime", "started_at", "running", "queued",
	"jobs", "calls", "clients", "cpus", "load", "running_calls", NULL,
};

static int
has_ips(const cJSON *cfg)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");

	return cJSON_IsArray(ips) && cJSON_GetArraySize(ips) > 0;
}

int
cluster_has_ips(const cJSON *cfg)
{
	return has_ips(cfg);
}

/* Ask the agent of the cluster at addr (config cfg) for its status, into
 * out: state, and agent or error. */
void
cluster_probe_agent(struct fs *fs, const char *addr, const cJSON *cfg, cJSON *out)
{
	const char *const *f;
	struct rh_rpc *rpc;
	struct rh_err err;
	cJSON *req, *reply = NULL, *agent;
	int r, tries;

	/* A connection that broke before rhfs noticed fails the probe with
	 * ENOTCONN; the link is remade then, so ask once more on a new one:
	 * the state is what the node says now, not how the old link ended. */
	for (tries = 0; tries < 2; tries++) {
		if ((r = res_agent(fs, addr, cfg, &rpc, &err)) < 0)
			break;
		req = rh_proto_new(0, "status");
		r = rh_rpc_call_wait(rpc, req,
		                     (int)(fs->opts.connect_timeout * 1000),
		                     &reply);
		cJSON_Delete(req);
		if (r == 0)
			break;
		rh_err_set(&err, -r, "%s: the agent did not answer: %s",
		           addr, strerror(-r));
		if (r != -ENOTCONN)
			break;
	}
	if (r < 0) {
		cJSON_AddStringToObject(out, "state", r == -ECONNREFUSED ?
		                        "down" : r == -EOPNOTSUPP ?
		                        "unsupported" : "unreachable");
		cJSON_AddStringToObject(out, "error", err.msg);
		return;
	}
	cJSON_AddStringToObject(out, "state", "up");
	agent = cJSON_AddObjectToObject(out, "agent");
	for (f = agent_fields; *f != NULL; f++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, *f);

		if (v != NULL)
			cJSON_AddItemToObject(agent, *f, cJSON_Duplicate(v, 1));
	}
	cJSON_Delete(reply);
}

/* A cluster of several ips (or an on-demand one launched with several
 * nodes, as reached): the head's agent says how each node is (its
 * worker agent joined, lost, or never joined), one entry of out's nodes
 * each; a worker not up is started again first (rh_nodes_start), so that
 * a node back from the dead rejoins. */
void
cluster_probe_nodes(struct fs *fs, const char *addr, const cJSON *ocfg,
                    cJSON *out)
{
	const cJSON *ips;
	static const char *const copied[] = { "slots", "running", "calls",
	                                      "load", "joined_at", "lost_at",
	                                      NULL };
	const char *const *f;
	const cJSON *ip, *v, *hn;
	cJSON *nodes, *node, *errors = NULL, *reply = NULL, *req;
	const char *state = rh_json_str(out, "state"), *why;
	struct rh_links *ls;
	struct rh_rpc *rpc;
	struct rh_err err;
	char *name, *msg, *lost = NULL;
	int i = 0, up = state != NULL && strcmp(state, "up") == 0;
	int tmo = (int)(fs->opts.connect_timeout * 1000);
	cJSON *cfg;

	/* an on-demand cluster's nodes: as SkyPilot records them */
	if (rh_cluster_reached(addr, ocfg, &cfg, &err) < 0)
		return;
	ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");
	if (cJSON_GetArraySize(ips) < 2) {
		cJSON_Delete(cfg);
		return;
	}
	if (up && res_links(fs, &ls, &err) == 0 &&
	    res_agent(fs, addr, ocfg, &rpc, &err) == 0) {
		if (rh_nodes_start(ls, addr, cfg, rpc, tmo, &errors, &err) < 0)
			cJSON_AddStringToObject(out, "nodes_error", err.msg);
		req = rh_proto_new(0, "status");
		if (rh_rpc_call_wait(rpc, req, tmo, &reply) < 0)
			reply = NULL;
		cJSON_Delete(req);
	}
	nodes = cJSON_AddArrayToObject(out, "nodes");
	cJSON_ArrayForEach(ip, ips) {
		node = cJSON_CreateObject();
		name = rh_node_name(i);
		cJSON_AddStringToObject(node, "address", ip->valuestring);
		cJSON_AddStringToObject(node, "name", name);
		hn = rh_node_find(reply, name);
		if (i++ == 0) {
			/* the head: what was just asked */
			cJSON_AddStringToObject(node, "role", "head");
			v = cJSON_GetObjectItemCaseSensitive(out, "state");
			cJSON_AddItemToObject(node, "state",
			                      cJSON_Duplicate(v, 1));
			if ((v = cJSON_GetObjectItemCaseSensitive(out, "agent")))
				cJSON_AddItemToObject(node, "agent",
				                      cJSON_Duplicate(v, 1));
			if ((v = cJSON_GetObjectItemCaseSensitive(out, "error")))
				cJSON_AddItemToObject(node, "error",
				                      cJSON_Duplicate(v, 1));
		} else {
			cJSON_AddStringToObject(node, "role", "worker");
			state = rh_json_str(hn, "state");
			cJSON_AddStringToObject(node, "state", state != NULL ?
			                        state : up ? "down" : "unknown");
			if (state != NULL && strcmp(state, "up") == 0 &&
			    (v = cJSON_GetObjectItemCaseSensitive(hn, "agent")))
				cJSON_AddItemToObject(node, "agent",
				                      cJSON_Duplicate(v, 1));
			why = rh_json_str(hn, "reason");
			if (why != NULL) {
				lost = xasprintf("node %s lost: %s", name, why);
				why = lost;
			}
			if (why == NULL && state == NULL)
				why = up ? "its worker agent has not joined the "
				      "head" : "the head is not up";
			v = cJSON_GetObjectItemCaseSensitive(errors, name);
			if (why != NULL || cJSON_IsString(v)) {
				msg = xasprintf("%s%s%s%s", why ? why : "",
				                why && cJSON_IsString(v) ?
				                "; starting its worker: " : "",
				                !why && cJSON_IsString(v) ?
				                "starting its worker: " : "",
				                cJSON_IsString(v) ?
				                v->valuestring : "");
				cJSON_AddStringToObject(node, "error", msg);
				free(msg);
			}
			free(lost);
			lost = NULL;
		}
		for (f = copied; hn != NULL && *f != NULL; f++)
			if ((v = cJSON_GetObjectItemCaseSensitive(hn, *f)))
				cJSON_AddItemToObject(node, *f,
				                      cJSON_Duplicate(v, 1));
		free(name);
		cJSON_AddItemToArray(nodes, node);
	}
	cJSON_Delete(errors);
	cJSON_Delete(reply);
	cJSON_Delete(cfg);
}

/* A BYO cluster (or ^local): its agent, and each node's. */
static void
byo_status(struct fs *fs, const char *addr, const cJSON *cfg, cJSON *out)
{
	cluster_probe_agent(fs, addr, cfg, out);
	cluster_probe_nodes(fs, addr, cfg, out);
}

/* ctl: up, down, restart and autostop are the agent's; there is nothing
 * else to stop. */
static int
byo_ctl(struct fs *fs, const char *addr, const cJSON *cfg, const char *verb,
        int mins, fuse_req_t req, struct rh_buf *out, struct rh_err *err)
{
	(void)fs;
	(void)cfg;
	(void)mins;
	(void)req;
	(void)out;
	if (strcmp(verb, "stop") == 0)
		return rh_err_set(err, EINVAL, "%s: stop: a BYO cluster has no "
		                  "instances to stop ('down' stops its agent)",
		                  addr);
	return 0;
}

const struct fs_cluster fs_cluster_byo = {
	.link = &rh_cluster_byo,
	.ctl = byo_ctl,
	.status = byo_status,
};

static int
status_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	cJSON *cfg, *out;
	char *addr, *s;
	int r;

	if ((r = res_load(fs, h->node->parent, &addr, &cfg, err)) < 0)
		return r;
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "cluster", addr);
	cluster_kind(addr, cfg)->status(fs, addr, cfg, out);
	s = rh_json_pretty(out);
	rh_buf_append(&h->buf, s, strlen(s));
	free(s);
	cJSON_Delete(out);
	cJSON_Delete(cfg);
	free(addr);
	return 0;
}

const struct fs_kind kind_status = {
	.truncate = stream_truncate,
	.name = "status",
	.mode = 0444,
	.open = status_open,
	.read = read_open_buf,
};

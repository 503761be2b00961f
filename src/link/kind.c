/* kind.c - the kinds of cluster, one row each (link.h): how a config is
 * told to be of the kind, how its agent is reached, and what it is asked
 * once linked. Adding a kind is its row here and its file (sky.c and
 * slurm.c are those of the on-demand and Slurm kinds). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "link.h"

/* The head node: the first of ips. */
static const char *
head_of(const cJSON *cfg)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");

	return cJSON_IsArray(ips) && cJSON_IsString(ips->child) ?
	       ips->child->valuestring : NULL;
}

/* ^local, or a cluster on this machine's loopback that asks for no
 * server connection: its agent is spawned here. */
static int
is_local(const char *addr, const cJSON *cfg)
{
	const char *head = head_of(cfg), *ct;

	if (addr != NULL && strcmp(addr, "^local") == 0)
		return 1;
	ct = rh_json_str(cfg, "server_connection_type");
	return ct != NULL && strcmp(ct, "none") == 0 && head != NULL &&
	       (strcmp(head, "localhost") == 0 ||
	        strcmp(head, "127.0.0.1") == 0 || strcmp(head, "::1") == 0);
}

static int
is_slurm(const char *addr, const cJSON *cfg)
{
	(void)addr;
	return rh_slurm_is(cfg);
}

static int
is_ondemand(const char *addr, const cJSON *cfg)
{
	(void)addr;
	return rh_sky_is_ondemand(cfg);
}

/* A SlurmCluster's agent is on its login node: the head of the worker
 * agents in its allocation, never running a call itself (the login node
 * is not the allocation). */
static int
slurm_linked(struct rh_rpc *rpc, const char *addr, const cJSON *cfg,
             int timeout_ms, struct rh_err *err)
{
	return rh_slurm_head(rpc, addr, cfg, timeout_ms, NULL, NULL, err);
}

const struct rh_cluster_kind rh_cluster_slurm = {
	.name = "slurm",
	.is = is_slurm,
	.linked = slurm_linked,
};

const struct rh_cluster_kind rh_cluster_ondemand = {
	.name = "ondemand",
	.is = is_ondemand,
	.on_demand = 1,
	.reach = rh_sky_reach,
};

const struct rh_cluster_kind rh_cluster_local = {
	.name = "local",
	.is = is_local,
};

const struct rh_cluster_kind rh_cluster_byo = {
	.name = "byo",
};

/* In the order they are told apart; the last takes every other config. */
static const struct rh_cluster_kind *const kinds[] = {
	&rh_cluster_slurm,
	&rh_cluster_ondemand,
	&rh_cluster_local,
	&rh_cluster_byo,
};

/* The config a cluster is reached by: for a kind that says where its
 * nodes are once up (reach), the BYO config it gives, with the known hosts
 * file to check them in as "known_hosts"; for any other, a copy of cfg. */
int
rh_cluster_reached(const char *addr, const cJSON *cfg, cJSON **out,
                   struct rh_err *err)
{
	const struct rh_cluster_kind *kind = rh_cluster_kind(addr, cfg);
	char *kh = NULL;
	int r;

	*out = NULL;
	if (kind->reach == NULL) {
		*out = cJSON_Duplicate(cfg, 1);
		return 0;
	}
	if ((r = kind->reach(addr, out, &kh, err)) < 0)
		return r;
	if (kh != NULL)
		cJSON_AddStringToObject(*out, "known_hosts", kh);
	free(kh);
	return 0;
}

/* The local kind's test, which also holds for a cluster of another kind
 * (Slurm) whose head is this machine's loopback. */
int
rh_cluster_here(const char *addr, const cJSON *cfg)
{
	return is_local(addr, cfg);
}

const struct rh_cluster_kind *
rh_cluster_kind(const char *addr, const cJSON *cfg)
{
	size_t i;

	for (i = 0; i + 1 < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i]->is(addr, cfg))
			return kinds[i];
	return kinds[i];
}

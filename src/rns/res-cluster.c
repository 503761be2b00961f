/* res-cluster.c - clusters: a BYO cluster of ips reached over SSH, an
 * on-demand one described by instance type and provider, or a Slurm
 * cluster reached at its login node (res-slurm.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"

static const struct res_field fields[] = {
	{ "ips", F_STRARRAY | F_NULL },
	{ "ssh_creds", F_OBJECT | F_STRING | F_NULL },
	{ "ssh_port", F_PORT | F_NULL },
	{ "server_port", F_PORT | F_NULL },
	{ "client_port", F_PORT | F_NULL },
	{ "server_host", F_STRING | F_NULL },
	{ "server_connection_type", F_STRING | F_NULL },
	{ "den_auth", F_BOOL | F_NULL },
	{ "domain", F_STRING | F_NULL },
	{ "instance_type", F_STRING | F_NULL },
	{ "num_instances", F_INT | F_NULL },
	{ "provider", F_STRING | F_NULL },
	{ "autostop_mins", F_INT | F_NULL },
	{ "use_spot", F_BOOL | F_NULL },
	{ "region", F_STRING | F_NULL },
	{ "image_id", F_STRING | F_NULL },
	{ "partition", F_STRING | F_NULL },
	{ "slurm", F_OBJECT | F_NULL },
	{ "default_env", F_STRING | F_OBJECT | F_NULL },
	{ NULL, 0 },
};

static const struct res_field creds_fields[] = {
	{ "ssh_user", F_STRING | F_NULL },
	{ "ssh_private_key", F_STRING | F_NULL },
	{ "ssh_port", F_PORT | F_NULL },
	{ "ssh_proxy_command", F_STRING | F_NULL },
	{ NULL, 0 },
};

static int
validate(const cJSON *cfg, const char *addr, struct rh_err *err)
{
	const cJSON *ips, *creds, *ip;
	char where[600];
	int r;

	if ((r = res_check_fields(cfg, addr, fields, err)) < 0)
		return r;
	creds = res_get(cfg, "ssh_creds");
	if (cJSON_IsObject(creds)) {
		snprintf(where, sizeof(where), "%s: ssh_creds", addr);
		if ((r = res_check_fields(creds, where, creds_fields, err)) < 0)
			return r;
	}
	ips = res_get(cfg, "ips");
	cJSON_ArrayForEach(ip, ips)
		if (*ip->valuestring == '\0')
			return rh_err_set(err, EINVAL, "%s: field 'ips' holds "
			                  "an empty address", addr);
	/* A BYO cluster is its ips: without them there is nothing to reach. */
	if (strcmp(res_subtype(cfg), "Cluster") == 0 &&
	    cJSON_GetArraySize(ips) == 0)
		return rh_err_set(err, EINVAL, "%s: a cluster of subtype "
		                  "'Cluster' needs 'ips' (at least one address)",
		                  addr);
	/* what its run and python files run in (fs/send-setup.c) */
	if ((r = rh_env_field_check(cfg, "default_env", addr, err)) < 0)
		return r;
	return res_slurm_check(cfg, addr, err);
}

const struct rh_type res_cluster = { "cluster", "Cluster", validate };

/* unit-kinds.c - the table of cluster kinds (src/link/kind.c): which kind
 * each config is, in the order they are told apart, and what each row
 * says of reaching the cluster and running calls on it. */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "link.h"
#include "unit.h"

static const char *
kind_of(const char *addr, const char *json)
{
	cJSON *cfg = cJSON_Parse(json);
	const char *name;

	if (cfg == NULL) {
		fprintf(stderr, "bad test JSON %s\n", json);
		exit(99);
	}
	name = rh_cluster_kind(addr, cfg)->name;
	cJSON_Delete(cfg);
	return name;
}

int
main(void)
{
	/* BYO: a head node to reach over SSH */
	CHECK_STR(kind_of("~/c", "{\"resource_type\": \"cluster\", "
	                  "\"ips\": [\"10.0.0.1\", \"10.0.0.2\"]}"), "byo");
	CHECK_STR(kind_of("~/c", "{\"ips\": [\"localhost\"]}"), "byo");
	CHECK_STR(kind_of("~/c", "{\"ips\": [\"10.0.0.1\"], "
	                  "\"server_connection_type\": \"none\"}"), "byo");
	/* local: ^local, or no server connection on the loopback */
	CHECK_STR(kind_of("^local", "{\"ips\": [\"localhost\"]}"), "local");
	CHECK_STR(kind_of("^local", "{}"), "local");
	CHECK_STR(kind_of("~/c", "{\"ips\": [\"127.0.0.1\"], "
	                  "\"server_connection_type\": \"none\"}"), "local");
	CHECK_STR(kind_of(NULL, "{\"ips\": [\"::1\"], "
	                  "\"server_connection_type\": \"none\"}"), "local");
	/* on-demand: no ips, an instance type or the subtype */
	CHECK_STR(kind_of("~/gpu", "{\"instance_type\": \"A10G:1\"}"),
	          "ondemand");
	CHECK_STR(kind_of("~/gpu", "{\"resource_subtype\": "
	                  "\"OnDemandCluster\"}"), "ondemand");
	CHECK_STR(kind_of("~/gpu", "{\"resource_subtype\": \"OnDemandCluster\","
	                  " \"ips\": [\"10.0.0.1\"]}"), "byo");
	/* Slurm first, whatever else the config says */
	CHECK_STR(kind_of("~/sl", "{\"resource_subtype\": \"SlurmCluster\", "
	                  "\"ips\": [\"127.0.0.1\"], "
	                  "\"server_connection_type\": \"none\"}"), "slurm");
	CHECK_STR(kind_of("^local", "{\"resource_subtype\": "
	                  "\"SlurmCluster\"}"), "slurm");

	/* spawned here: the local kind, and a Slurm login node on the
	 * loopback without a server connection */
	{
		cJSON *c = cJSON_Parse("{\"resource_subtype\": "
		                       "\"SlurmCluster\", \"ips\": "
		                       "[\"127.0.0.1\"], "
		                       "\"server_connection_type\": "
		                       "\"none\"}");

		CHECK(rh_cluster_here("~/sl", c));
		CHECK(!rh_cluster_here("~/c", cJSON_GetObjectItem(c, "ips")));
		cJSON_Delete(c);
	}
	/* what the rows say */
	CHECK(!rh_cluster_local.on_demand);
	CHECK(rh_cluster_local.reach == NULL &&
	      rh_cluster_local.linked == NULL);
	CHECK(rh_cluster_byo.reach == NULL &&
	      rh_cluster_byo.linked == NULL);
	CHECK(rh_cluster_ondemand.on_demand &&
	      rh_cluster_ondemand.reach == rh_sky_reach &&
	      rh_cluster_ondemand.linked == NULL);
	CHECK(!rh_cluster_slurm.on_demand &&
	      rh_cluster_slurm.reach == NULL);
	CHECK(rh_cluster_slurm.linked != NULL);
	return unit_done();
}

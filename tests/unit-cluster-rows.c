/* unit-cluster-rows.c - rhfs's rows of cluster kinds (fs/cluster-kind.c):
 * which row each config gets, that it is the one of its link-layer kind,
 * and what each row does itself rather than leave to the agent. */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "rhfs.h"
#include "unit.h"

static const struct fs_cluster *
row_of(const char *addr, const char *json)
{
	cJSON *cfg = cJSON_Parse(json);
	const struct fs_cluster *k;

	if (cfg == NULL) {
		fprintf(stderr, "bad test JSON %s\n", json);
		exit(99);
	}
	k = cluster_kind(addr, cfg);
	CHECK(k->link == rh_cluster_kind(addr, cfg) || k == &fs_cluster_byo);
	cJSON_Delete(cfg);
	return k;
}

int
main(void)
{
	const struct fs_cluster *const rows[] = {
		&fs_cluster_byo, &fs_cluster_ondemand, &fs_cluster_slurm,
	};
	size_t i;

	/* BYO and ^local share a row: the agent does everything */
	CHECK(row_of("~/c", "{\"ips\": [\"10.0.0.1\", \"10.0.0.2\"]}") ==
	      &fs_cluster_byo);
	CHECK(row_of("^local", "{}") == &fs_cluster_byo);
	CHECK(row_of("~/c", "{\"ips\": [\"127.0.0.1\"], "
	             "\"server_connection_type\": \"none\"}") ==
	      &fs_cluster_byo);
	/* on-demand: brought up through SkyPilot */
	CHECK(row_of("~/gpu", "{\"instance_type\": \"A10G:1\"}") ==
	      &fs_cluster_ondemand);
	CHECK(row_of("~/gpu", "{\"resource_subtype\": \"OnDemandCluster\", "
	             "\"ips\": [\"10.0.0.1\"]}") == &fs_cluster_byo);
	/* Slurm wins over everything else the config says */
	CHECK(row_of("~/sl", "{\"resource_subtype\": \"SlurmCluster\", "
	             "\"instance_type\": \"CPU:2\", \"ips\": "
	             "[\"127.0.0.1\"]}") == &fs_cluster_slurm);

	/* each row is its link kind's */
	CHECK(fs_cluster_byo.link == &rh_cluster_byo);
	CHECK(fs_cluster_ondemand.link == &rh_cluster_ondemand);
	CHECK(fs_cluster_slurm.link == &rh_cluster_slurm);
	/* every row says status and answers ctl */
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(rows[i]->status != NULL && rows[i]->ctl != NULL);
	/* BYO: no bring-up, reachable by its ips, autostop the agent's */
	CHECK(fs_cluster_byo.begin == NULL && fs_cluster_byo.wait == NULL &&
	      fs_cluster_byo.reachable == NULL &&
	      !fs_cluster_byo.autostop_own);
	/* on-demand: calls held through a launch; reachable once up; a
	 * builtin's autostop is SkyPilot's */
	CHECK(fs_cluster_ondemand.begin != NULL &&
	      fs_cluster_ondemand.wait != NULL &&
	      fs_cluster_ondemand.reachable != NULL &&
	      fs_cluster_ondemand.waiting != NULL &&
	      fs_cluster_ondemand.autostop_builtin &&
	      !fs_cluster_ondemand.autostop_own);
	/* Slurm: calls held while pending, again once the job ended, and
	 * autostop kept by the job's watcher, not the login node's agent */
	CHECK(fs_cluster_slurm.begin != NULL && fs_cluster_slurm.wait != NULL &&
	      fs_cluster_slurm.stale != NULL &&
	      fs_cluster_slurm.waiting != NULL &&
	      fs_cluster_slurm.autostop_own &&
	      fs_cluster_slurm.reachable == NULL);
	/* a BYO cluster with no ips has no agent to reach; with ips it has */
	{
		cJSON *none = cJSON_Parse("{\"ips\": []}");
		cJSON *one = cJSON_Parse("{\"ips\": [\"10.0.0.1\"]}");

		CHECK(!cluster_reachable(NULL, "~/c", none));
		CHECK(cluster_reachable(NULL, "~/c", one));
		cJSON_Delete(none);
		cJSON_Delete(one);
	}
	return unit_done();
}

/* unit-slurm.c - a Slurm cluster's pieces that need no Slurm (slurm.c):
 * which configs are Slurm clusters, the sbatch options a config asks
 * for, where the allocation's files are kept, its job script, which job
 * is rhfs's and why an ended job ended (what Slurm makes of them is
 * tests/slurm-status.sh's and tests/slurm-alloc.sh's, against a real
 * Slurm). */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "link.h"
#include "unit.h"

/* The options of a config (JSON text), space-separated. */
static char *
request_of(const char *json)
{
	cJSON *cfg = cJSON_Parse(json), *args;
	const cJSON *a;
	struct rh_buf b = { 0 };

	args = rh_slurm_request(cfg);
	cJSON_ArrayForEach(a, args)
		rh_buf_printf(&b, "%s%s", b.len ? " " : "", a->valuestring);
	rh_buf_append(&b, "", 1);
	cJSON_Delete(args);
	cJSON_Delete(cfg);
	return b.data;
}

#define REQUEST(json, want) do {                                        \
	char *r_ = request_of(json);                                    \
	CHECK_STR(r_, want);                                            \
	free(r_);                                                       \
} while (0)

int
main(void)
{
	struct rh_slurm_job j;
	cJSON *c;
	char *s;

	c = cJSON_Parse("{\"resource_subtype\": \"SlurmCluster\"}");
	CHECK(rh_slurm_is(c));
	cJSON_Delete(c);
	c = cJSON_Parse("{\"resource_subtype\": \"Cluster\"}");
	CHECK(!rh_slurm_is(c));
	cJSON_Delete(c);
	c = cJSON_Parse("{\"resource_subtype\": null}");
	CHECK(!rh_slurm_is(c));
	cJSON_Delete(c);
	CHECK(!rh_slurm_is(NULL));

	/* nothing asked: sbatch's defaults */
	REQUEST("{\"resource_subtype\": \"SlurmCluster\"}", "");
	REQUEST("{\"slurm\": {}}", "");
	REQUEST("{\"partition\": null, \"slurm\": null}", "");
	/* every field, in the fixed order, whatever the config's */
	REQUEST("{\"slurm\": {\"sbatch_args\": [\"--exclusive\", "
	        "\"--constraint=ib\"], \"qos\": \"high\", \"account\": \"p\", "
	        "\"time\": \"1:00:00\", \"mem\": \"4G\", \"gpus\": \"a100:2\", "
	        "\"cpus_per_task\": 8, \"nodes\": 2}, \"partition\": \"gpu\"}",
	        "--partition=gpu --nodes=2 --cpus-per-task=8 --gpus=a100:2 "
	        "--mem=4G --time=1:00:00 --account=p --qos=high --exclusive "
	        "--constraint=ib");
	/* gpus as a number, gres, nulls left out */
	REQUEST("{\"slurm\": {\"gpus\": 4, \"nodes\": null}}", "--gpus=4");
	REQUEST("{\"slurm\": {\"gres\": \"gpu:a100:1,nic:1\"}}",
	        "--gres=gpu:a100:1,nic:1");
	/* an option's value is one argument, blanks and all (the login
	 * node's shell gets it quoted) */
	REQUEST("{\"slurm\": {\"sbatch_args\": [\"--comment=a b\"]}}",
	        "--comment=a b");

	/* the allocation's files: by the cluster's name */
	s = rh_slurm_dir("~/sl");
	CHECK(strncmp(s, ".rh/slurm/rh-sl-", 16) == 0 && strlen(s) == 24);
	free(s);
	/* the script: one worker agent a node, the head's address and key
	 * quoted for the shell, the node named after Slurm's node and job */
	s = rh_slurm_script("~/sl", "10.0.0.1:4000", "/h/k y");
	CHECK(strstr(s, "exec srun --ntasks-per-node=1 ") != NULL);
	/* the workers overlap the steps of calls that ask for their own */
	CHECK(strstr(s, " --overlap ") != NULL);
	CHECK(strstr(s, "worker --head \"$0\" --key-file \"$1\" "
	             "--node \"$SLURMD_NODENAME-$SLURM_JOB_ID\" "
	             "--slots \"$SLURM_CPUS_ON_NODE\"' "
	             "'10.0.0.1:4000' '/h/k y'\n") != NULL);
	free(s);
	/* no head to reach: the nodes held, nothing started on them */
	s = rh_slurm_script("~/sl", NULL, NULL);
	CHECK(strstr(s, "srun") == NULL && strstr(s, "rhagent") == NULL);
	CHECK(strstr(s, "exec sleep ") != NULL);
	free(s);

	/* which job is rhfs's: by its name; one Slurm no longer knows is */
	memset(&j, 0, sizeof(j));
	strcpy(j.id, "12");
	strcpy(j.state, "RUNNING");
	s = rh_sky_name("~/sl");
	strcpy(j.name, s);
	free(s);
	CHECK(rh_slurm_job_ours(&j, "~/sl"));
	CHECK(!rh_slurm_job_ours(&j, "~/other"));
	strcpy(j.name, "wrap");
	CHECK(!rh_slurm_job_ours(&j, "~/sl"));
	j.state[0] = '\0';
	CHECK(rh_slurm_job_ours(&j, "~/sl"));

	CHECK(rh_slurm_state_live("PENDING"));
	CHECK(rh_slurm_state_live("RUNNING"));
	CHECK(rh_slurm_state_live("COMPLETING"));
	CHECK(!rh_slurm_state_live("TIMEOUT"));
	CHECK(!rh_slurm_state_live("CANCELLED"));
	CHECK(!rh_slurm_state_live(""));

	/* why it ended, with Slurm's state, reason and nodes */
	strcpy(j.state, "TIMEOUT");
	strcpy(j.reason, "TimeLimit");
	strcpy(j.nodes, "node1");
	s = rh_slurm_end_reason(&j);
	CHECK_STR(s, "Slurm job 12 reached its time limit (TIMEOUT, "
	          "TimeLimit on node1)");
	free(s);
	strcpy(j.state, "CANCELLED");
	strcpy(j.reason, "None");
	strcpy(j.nodes, "node[1-2]");
	s = rh_slurm_end_reason(&j);
	CHECK_STR(s, "Slurm job 12 was cancelled (scancel) (CANCELLED on "
	          "node[1-2])");
	free(s);
	strcpy(j.state, "NODE_FAIL");
	strcpy(j.reason, "NodeDown");
	j.nodes[0] = '\0';
	s = rh_slurm_end_reason(&j);
	CHECK_STR(s, "Slurm job 12 ended: a node failed (NODE_FAIL, "
	          "NodeDown)");
	free(s);
	strcpy(j.state, "SPECIAL_EXIT");
	s = rh_slurm_end_reason(&j);
	CHECK_STR(s, "Slurm job 12 ended (SPECIAL_EXIT: NodeDown)");
	free(s);
	j.state[0] = '\0';
	s = rh_slurm_end_reason(&j);
	CHECK_STR(s, "Slurm job 12 is no longer known to Slurm (ended)");
	free(s);
	return unit_done();
}

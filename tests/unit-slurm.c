/* unit-slurm.c - a Slurm cluster's pieces that need no Slurm (slurm.c):
 * which configs are Slurm clusters, and the sbatch options a config asks
 * for (what Slurm makes of them is tests/slurm-status.sh's, against a
 * real Slurm). */
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
	cJSON *c;

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
	return unit_done();
}

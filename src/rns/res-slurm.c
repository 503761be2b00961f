/* res-slurm.c - the fields of a Slurm cluster (resource_subtype
 * "SlurmCluster"): its login node, its partition, and the `slurm` object
 * that says what allocation to ask for. Each value is checked for the
 * form sbatch takes, so that a config that would be refused by Slurm (or
 * would smuggle a second option into the command) is refused on write
 * (the forms are src/proto/slurmres.c's, which a call's own step
 * shares). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"
#include "slurmres.h"

/* How a field of the slurm object is checked. */
enum slurm_kind {
	K_COUNT,        /* a whole number, 1 or more */
	K_GPUS,         /* a count, or "COUNT" / "TYPE:COUNT" */
	K_GRES,         /* NAME[:TYPE][:COUNT][,...] */
	K_MEM,          /* digits and an optional unit: 4096, 4G, 512M */
	K_TIME,         /* one of sbatch --time's forms */
	K_WORD,         /* a name: no blanks, no control characters */
	K_ARGS,         /* an array of "--option[=value]" strings */
};

struct slurm_field {
	const char *key;
	enum slurm_kind kind;
	const char *want;       /* for the message: what the field must be */
};

static const struct slurm_field slurm_fields[] = {
	{ "nodes", K_COUNT, "a whole number, 1 or more" },
	{ "cpus_per_task", K_COUNT, "a whole number, 1 or more" },
	{ "gpus", K_GPUS, "a whole number, 1 or more, or a string "
	  "COUNT or TYPE:COUNT (\"2\", \"a100:2\")" },
	{ "gres", K_GRES, "a string NAME[:TYPE][:COUNT], comma-separated "
	  "(\"gpu:a100:2\")" },
	{ "mem", K_MEM, "a string of digits with an optional unit K, M, G "
	  "or T (\"4G\", \"512M\")" },
	{ "time", K_TIME, "a string in one of sbatch's time forms "
	  "(\"30\", \"1:00:00\", \"2-00:00:00\")" },
	{ "account", K_WORD, "a non-empty string without blanks" },
	{ "qos", K_WORD, "a non-empty string without blanks" },
	{ "sbatch_args", K_ARGS, "an array of strings, each an option "
	  "starting with \"--\" on one line" },
	{ NULL, 0, NULL },
};

/* Every element an option ("--x" or "--x=value") on one line: an
 * argument that is not an option would be taken by sbatch as the
 * script. */
static int
args_ok(const cJSON *v)
{
	const cJSON *e;
	const char *p;

	if (!cJSON_IsArray(v))
		return 0;
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e) || strncmp(e->valuestring, "--", 2) != 0 ||
		    e->valuestring[2] == '\0' || e->valuestring[2] == '=')
			return 0;
		for (p = e->valuestring; *p != '\0'; p++)
			if (iscntrl((unsigned char)*p))
				return 0;
	}
	return 1;
}

static int
field_ok(const struct slurm_field *f, const cJSON *v)
{
	switch (f->kind) {
	case K_COUNT:
		return rh_slurm_count_ok(v);
	case K_GPUS:
		return rh_slurm_gpus_ok(v);
	case K_GRES:
		return rh_slurm_gres_ok(v);
	case K_MEM:
		return rh_slurm_mem_ok(v);
	case K_TIME:
		return rh_slurm_time_ok(v);
	case K_WORD:
		return rh_slurm_word_ok(v);
	case K_ARGS:
		return args_ok(v);
	}
	return 0;
}

static int
check_slurm(const cJSON *slurm, const char *addr, struct rh_err *err)
{
	const struct slurm_field *f;
	const cJSON *v;
	char known[300];
	size_t n = 0;

	if (!cJSON_IsObject(slurm))
		return rh_err_set(err, EINVAL, "%s: field 'slurm' must be an "
		                  "object", addr);
	cJSON_ArrayForEach(v, slurm) {
		for (f = slurm_fields; f->key != NULL; f++)
			if (strcmp(f->key, v->string) == 0)
				break;
		if (f->key == NULL) {
			for (f = slurm_fields; f->key != NULL; f++)
				n += (size_t)snprintf(known + n,
				                      n < sizeof(known) ?
				                      sizeof(known) - n : 0,
				                      "%s%s", n ? ", " : "",
				                      f->key);
			return rh_err_set(err, EINVAL, "%s: slurm: unknown "
			                  "field '%s' (known: %s)", addr,
			                  v->string, known);
		}
		if (cJSON_IsNull(v))
			continue;
		if (!field_ok(f, v))
			return rh_err_set(err, EINVAL, "%s: slurm: field '%s' "
			                  "must be %s", addr, f->key, f->want);
	}
	if (res_get(slurm, "gpus") != NULL && res_get(slurm, "gres") != NULL)
		return rh_err_set(err, EINVAL, "%s: slurm: fields 'gpus' and "
		                  "'gres' both ask for GPUs: give one of them",
		                  addr);
	return 0;
}

int
res_slurm_check(const cJSON *cfg, const char *addr, struct rh_err *err)
{
	const cJSON *ips, *partition, *slurm;
	int is_slurm = strcmp(res_subtype(cfg), "SlurmCluster") == 0;

	partition = res_get(cfg, "partition");
	slurm = res_get(cfg, "slurm");
	if (!is_slurm) {
		/* another kind of cluster would ignore them */
		if (partition != NULL || slurm != NULL)
			return rh_err_set(err, EINVAL, "%s: field '%s' is for a "
			                  "cluster of subtype 'SlurmCluster'",
			                  addr, partition ? "partition" :
			                  "slurm");
		return 0;
	}
	ips = res_get(cfg, "ips");
	if (cJSON_GetArraySize(ips) != 1)
		return rh_err_set(err, EINVAL, "%s: field 'ips' of a "
		                  "SlurmCluster is its login node: one address",
		                  addr);
	if (res_get(cfg, "instance_type") != NULL)
		return rh_err_set(err, EINVAL, "%s: field 'instance_type' is "
		                  "for an on-demand cluster, not a SlurmCluster "
		                  "(its nodes come from Slurm)", addr);
	if (partition != NULL && !rh_slurm_word_ok(partition))
		return rh_err_set(err, EINVAL, "%s: field 'partition' must be "
		                  "a non-empty string without blanks", addr);
	if (slurm != NULL)
		return check_slurm(slurm, addr, err);
	return 0;
}

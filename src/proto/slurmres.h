/* slurmres.h - the forms of Slurm's resource options as sbatch and srun
 * take them, shared by a SlurmCluster's config (src/rns/res-slurm.c),
 * which sizes its allocation, and a call's own "slurm" object
 * (callspec.h), which sizes the job step that runs the call. */
#ifndef RH_SLURMRES_H
#define RH_SLURMRES_H

#include "base.h"

struct cJSON;

/* A count: a whole number from 1 to 1000000. */
int rh_slurm_count_ok(const struct cJSON *v);
/* --gpus: a count, or a string "COUNT" or "TYPE:COUNT". */
int rh_slurm_gpus_ok(const struct cJSON *v);
/* --gres: "NAME[:TYPE][:COUNT]", comma-separated. */
int rh_slurm_gres_ok(const struct cJSON *v);
/* --mem: digits and an optional unit K, M, G or T. */
int rh_slurm_mem_ok(const struct cJSON *v);
/* --time: MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS, DAYS-HOURS,
 * DAYS-HOURS:MINUTES, DAYS-HOURS:MINUTES:SECONDS, UNLIMITED or
 * INFINITE. */
int rh_slurm_time_ok(const struct cJSON *v);
/* A name: a non-empty string without blanks or control characters. */
int rh_slurm_word_ok(const struct cJSON *v);

/* What a call's own "slurm" object may ask of its job step, with the
 * srun option of each: cpus_per_task, gpus, gres, mem, time; each may be
 * null (unset). With job (the agent's side), it must also hold "job",
 * the allocation's job id (digits), which rhfs adds; without (a call
 * spec as written), "job" is refused with the rest. EINVAL naming the
 * field (the message starts "slurm: ") for any other key or form. */
int rh_slurm_step_check(const struct cJSON *slurm, int job,
                        struct rh_err *err);
/* The srun options of a checked step object: "--cpus-per-task=2", ...
 * (a NULL-ended vector; free it with rh_strv_free). */
char **rh_slurm_step_options(const struct cJSON *slurm);

#endif

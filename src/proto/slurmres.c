/* slurmres.c - the forms of Slurm's resource options (slurmres.h): a
 * value that Slurm would refuse, or that would smuggle a second option
 * into the command line, is refused before anything is submitted. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "slurmres.h"

/* The largest count a whole-number field takes (nodes, CPUs, GPUs). */
#define COUNT_MAX 1000000

/* Whether s is one or more digits (at most 9, so that it fits an int). */
static int
digits(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 9)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* A count written as digits: 1 ..COUNT_MAX. */
static int
count_str(const char *s, size_t n)
{
	long v;

	if (!digits(s, n))
		return 0;
	v = strtol(s, NULL, 10);
	return v >= 1 && v <= COUNT_MAX;
}

/* A name Slurm takes for a GRES or its type: letters, digits, _ - . */
static int
name_str(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("_-.", s[i]) == NULL)
			return 0;
	return 1;
}

int
rh_slurm_count_ok(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 1 &&
	       v->valuedouble <= COUNT_MAX &&
	       v->valuedouble == (double)(int)v->valuedouble;
}

/* "2" or "a100:2". */
int
rh_slurm_gpus_ok(const cJSON *v)
{
	const char *s, *colon;

	if (cJSON_IsNumber(v))
		return rh_slurm_count_ok(v);
	if (!cJSON_IsString(v))
		return 0;
	s = v->valuestring;
	if ((colon = strchr(s, ':')) == NULL)
		return count_str(s, strlen(s));
	return name_str(s, (size_t)(colon - s)) &&
	       count_str(colon + 1, strlen(colon + 1));
}

/* One entry of a gres list: NAME, NAME:COUNT, NAME:TYPE or
 * NAME:TYPE:COUNT. */
static int
gres_one(const char *s, size_t n)
{
	const char *p = s, *end = s + n, *c;
	int parts = 0;

	while (p <= end) {
		c = memchr(p, ':', (size_t)(end - p));
		if (c == NULL)
			c = end;
		/* a name first (a letter first); the last of two or more
		 * parts may be the count */
		if (++parts == 1 && !isalpha((unsigned char)*p))
			return 0;
		if (parts > 3 || !(name_str(p, (size_t)(c - p)) ||
		                   (parts > 1 && c == end &&
		                    count_str(p, (size_t)(c - p)))))
			return 0;
		p = c + 1;
	}
	return 1;
}

int
rh_slurm_gres_ok(const cJSON *v)
{
	const char *s, *comma;

	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return 0;
	for (s = v->valuestring;; s = comma + 1) {
		comma = strchr(s, ',');
		if (!gres_one(s, comma ? (size_t)(comma - s) : strlen(s)))
			return 0;
		if (comma == NULL)
			return 1;
	}
}

int
rh_slurm_mem_ok(const cJSON *v)
{
	const char *s;
	size_t n;

	if (!cJSON_IsString(v))
		return 0;
	s = v->valuestring;
	n = strlen(s);
	if (n > 0 && strchr("KMGTkmgt", s[n - 1]) != NULL)
		n--;
	return digits(s, n) && strtol(s, NULL, 10) >= 1;
}

/* The fields of a time split on ':' are all digits, and there are at
 * most max of them. */
static int
clock_ok(const char *s, int max)
{
	const char *c;
	int parts = 0;

	for (;; s = c + 1) {
		c = strchr(s, ':');
		if (!digits(s, c ? (size_t)(c - s) : strlen(s)) ||
		    ++parts > max)
			return 0;
		if (c == NULL)
			return 1;
	}
}

int
rh_slurm_time_ok(const cJSON *v)
{
	const char *s, *dash;

	if (!cJSON_IsString(v))
		return 0;
	s = v->valuestring;
	if (strcmp(s, "UNLIMITED") == 0 || strcmp(s, "INFINITE") == 0)
		return 1;
	if ((dash = strchr(s, '-')) == NULL)
		return clock_ok(s, 3);
	return digits(s, (size_t)(dash - s)) && clock_ok(dash + 1, 3);
}

int
rh_slurm_word_ok(const cJSON *v)
{
	const char *p;

	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return 0;
	for (p = v->valuestring; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return 0;
	return 1;
}

/* A job id as sbatch --parsable gives it. */
static int
job_ok(const cJSON *v)
{
	return cJSON_IsString(v) &&
	       digits(v->valuestring, strlen(v->valuestring));
}

/* The fields of a call's step, their srun options, and their forms. */
static const struct {
	const char *key;
	const char *option;
	int (*ok)(const cJSON *);
	const char *want;
} step_fields[] = {
	{ "cpus_per_task", "--cpus-per-task", rh_slurm_count_ok,
	  "a whole number, 1 or more" },
	{ "gpus", "--gpus", rh_slurm_gpus_ok, "a whole number, 1 or more, "
	  "or a string COUNT or TYPE:COUNT (\"2\", \"a100:2\")" },
	{ "gres", "--gres", rh_slurm_gres_ok, "a string NAME[:TYPE][:COUNT], "
	  "comma-separated (\"gpu:a100:2\")" },
	{ "mem", "--mem", rh_slurm_mem_ok, "a string of digits with an "
	  "optional unit K, M, G or T (\"4G\", \"512M\")" },
	{ "time", "--time", rh_slurm_time_ok, "a string in one of srun's "
	  "time forms (\"30\", \"1:00:00\", \"2-00:00:00\")" },
	{ "job", "--jobid", job_ok, "the allocation's job id (digits)" },
};
#define NSTEP (sizeof(step_fields) / sizeof(step_fields[0]))

int
rh_slurm_step_check(const cJSON *slurm, int job, struct rh_err *err)
{
	const cJSON *v;
	size_t i;

	if (!cJSON_IsObject(slurm))
		return rh_err_set(err, EINVAL, "slurm: must be an object of "
		                  "the job step's resources (cpus_per_task, "
		                  "gpus, gres, mem, time)");
	cJSON_ArrayForEach(v, slurm) {
		for (i = 0; i < NSTEP; i++)
			if (strcmp(step_fields[i].key, v->string) == 0)
				break;
		if (i < NSTEP && !job && strcmp(v->string, "job") == 0)
			i = NSTEP;      /* rhfs's, not the writer's */
		if (i == NSTEP && (strcmp(v->string, "nodes") == 0 ||
		                   strcmp(v->string, "account") == 0 ||
		                   strcmp(v->string, "qos") == 0 ||
		                   strcmp(v->string, "partition") == 0 ||
		                   strcmp(v->string, "sbatch_args") == 0))
			return rh_err_set(err, EINVAL, "slurm: field '%s' is "
			                  "the allocation's (the cluster's "
			                  "config), not a call's: a call runs as "
			                  "one task on one node of it",
			                  v->string);
		if (i == NSTEP)
			return rh_err_set(err, EINVAL, "slurm: unknown field "
			                  "'%s' (known: cpus_per_task, gpus, "
			                  "gres, mem, time)", v->string);
		if (cJSON_IsNull(v) && i < NSTEP - 1)
			continue;
		if (!step_fields[i].ok(v))
			return rh_err_set(err, EINVAL, "slurm: field '%s' must "
			                  "be %s", v->string, step_fields[i].want);
	}
	v = cJSON_GetObjectItemCaseSensitive(slurm, "gpus");
	if (v != NULL && !cJSON_IsNull(v) &&
	    (v = cJSON_GetObjectItemCaseSensitive(slurm, "gres")) != NULL &&
	    !cJSON_IsNull(v))
		return rh_err_set(err, EINVAL, "slurm: fields 'gpus' and "
		                  "'gres' both ask for GPUs: give one of them");
	if (job && cJSON_GetObjectItemCaseSensitive(slurm, "job") == NULL)
		return rh_err_set(err, EINVAL, "slurm: field 'job' (the "
		                  "allocation's job id) is missing");
	return 0;
}

char **
rh_slurm_step_options(const cJSON *slurm)
{
	char **v = xcalloc(NSTEP + 1, sizeof(char *));
	const cJSON *f;
	size_t i, n = 0;

	for (i = 0; i < NSTEP; i++) {
		f = cJSON_GetObjectItemCaseSensitive(slurm, step_fields[i].key);
		if (cJSON_IsNumber(f))
			v[n++] = xasprintf("%s=%d", step_fields[i].option,
			                   f->valueint);
		else if (cJSON_IsString(f))
			v[n++] = xasprintf("%s=%s", step_fields[i].option,
			                   f->valuestring);
	}
	return v;
}

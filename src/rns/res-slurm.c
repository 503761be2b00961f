/* res-slurm.c - the fields of a Slurm cluster (resource_subtype
 * "SlurmCluster"): its login node, its partition, and the `slurm` object
 * that says what allocation to ask for. Each value is checked for the
 * form sbatch takes, so that a config that would be refused by Slurm (or
 * would smuggle a second option into the command) is refused on write. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"

/* The largest count a whole-number field takes (nodes, CPUs, GPUs). */
#define COUNT_MAX 1000000

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

static int
count_ok(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 1 &&
	       v->valuedouble <= COUNT_MAX &&
	       v->valuedouble == (double)(int)v->valuedouble;
}

/* "2" or "a100:2". */
static int
gpus_ok(const cJSON *v)
{
	const char *s, *colon;

	if (cJSON_IsNumber(v))
		return count_ok(v);
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

static int
gres_ok(const cJSON *v)
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

static int
mem_ok(const cJSON *v)
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

/* sbatch --time: MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS,
 * DAYS-HOURS, DAYS-HOURS:MINUTES, DAYS-HOURS:MINUTES:SECONDS, or
 * UNLIMITED / INFINITE. */
static int
time_ok(const cJSON *v)
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

static int
word_ok(const cJSON *v)
{
	const char *p;

	if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
		return 0;
	for (p = v->valuestring; *p != '\0'; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
			return 0;
	return 1;
}

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
		return count_ok(v);
	case K_GPUS:
		return gpus_ok(v);
	case K_GRES:
		return gres_ok(v);
	case K_MEM:
		return mem_ok(v);
	case K_TIME:
		return time_ok(v);
	case K_WORD:
		return word_ok(v);
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
	if (partition != NULL && !word_ok(partition))
		return rh_err_set(err, EINVAL, "%s: field 'partition' must be "
		                  "a non-empty string without blanks", addr);
	if (slurm != NULL)
		return check_slurm(slurm, addr, err);
	return 0;
}

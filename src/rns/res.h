/* res.h - shared by the resource type files (res-*.c) and resource.c. */
#ifndef RES_H
#define RES_H

#include <cjson/cJSON.h>

#include "base.h"
#include "rns.h"

/* What a field may hold. */
enum {
	F_STRING = 1 << 0,
	F_INT = 1 << 1,        /* a whole number */
	F_NUMBER = 1 << 2,
	F_BOOL = 1 << 3,
	F_NULL = 1 << 4,
	F_OBJECT = 1 << 5,
	F_ARRAY = 1 << 6,
	F_STRARRAY = 1 << 7,   /* an array of strings */
	F_PORT = 1 << 8,       /* a whole number 1..65535 */
};

struct res_field {
	const char *key;
	unsigned types;
};

/* Check every listed field that is present; unknown fields are kept. */
int res_check_fields(const cJSON *cfg, const char *addr,
                     const struct res_field *fields, struct rh_err *err);
/* Whether key is one of fields or one every resource has. */
int res_known(const struct res_field *fields, const char *key);
/* The field if present and not null, else NULL. */
const cJSON *res_get(const cJSON *cfg, const char *key);
/* The resource_subtype, or "" when absent. */
const char *res_subtype(const cJSON *cfg);

/* res-slurm.c: the fields of a SlurmCluster (its login node, partition
 * and slurm object); partition and slurm refused on other clusters. */
int res_slurm_check(const cJSON *cfg, const char *addr, struct rh_err *err);

extern const struct rh_type res_cluster;
extern const struct rh_type res_send;
extern const struct rh_type res_function;
extern const struct rh_type res_folder;
extern const struct rh_type res_blob;
extern const struct rh_type res_table;
extern const struct rh_type res_secret;
extern const struct rh_type res_env;

#endif

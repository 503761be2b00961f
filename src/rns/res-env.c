/* res-env.c - environments (Runhouse's rh.env): what a send's calls run
 * in on the node. reqs and setup_cmds as a send's, env_vars (an object of
 * strings), working_dir (where the calls run) and system_site_packages
 * (whether its virtualenv sees the node's own packages). The same checks
 * judge a send's inline env (res-send.c). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"

static const struct res_field fields[] = {
	{ "reqs", F_ARRAY | F_NULL },
	{ "setup_cmds", F_STRARRAY | F_NULL },
	{ "env_vars", F_OBJECT | F_NULL },
	{ "working_dir", F_STRING | F_NULL },
	{ "system_site_packages", F_BOOL | F_NULL },
	/* Runhouse writes these: its name for the env on the cluster
	 * (rhfs's are the virtualenvs), and what rhfs has no use for
	 * (empty only) */
	{ "env_name", F_STRING | F_NULL },
	{ "secrets", F_ARRAY | F_NULL },
	{ "compute", F_OBJECT | F_NULL },
	{ NULL, 0 },
};

int
rh_env_check(const cJSON *env, const char *what, struct rh_err *err)
{
	const char *sub = res_subtype(env);
	const cJSON *v, *type;
	int r;

	type = res_get(env, "resource_type");
	if (type != NULL && (!cJSON_IsString(type) ||
	                     strcmp(type->valuestring, "env") != 0))
		return rh_err_set(err, EINVAL, "%s: resource_type must be "
		                  "\"env\"", what);
	if (strcasecmp(sub, "CondaEnv") == 0 ||
	    strcasecmp(sub, "conda_env") == 0 ||
	    cJSON_GetObjectItemCaseSensitive(env, "conda_yaml") != NULL ||
	    cJSON_GetObjectItemCaseSensitive(env, "conda_env") != NULL)
		return rh_err_set(err, EINVAL, "%s: conda environments are not "
		                  "supported; give the packages as 'reqs' of a "
		                  "plain env (a virtualenv)", what);
	if (*sub != '\0' && strcasecmp(sub, "Env") != 0)
		return rh_err_set(err, EINVAL, "%s: unknown resource_subtype "
		                  "'%s' (an env's is \"Env\")", what, sub);
	cJSON_ArrayForEach(v, env)
		if (!res_known(fields, v->string))
			return rh_err_set(err, EINVAL, "%s: unknown field '%s' "
			                  "(an env has reqs, setup_cmds, env_vars, "
			                  "working_dir, system_site_packages)",
			                  what, v->string);
	if ((r = res_check_fields(env, what, fields, err)) < 0)
		return r;
	/* (an entry that is not a string, a package config, is skipped
	 * with a note when the env is set up, as a send's is) */
	cJSON_ArrayForEach(v, res_get(env, "reqs"))
		if (cJSON_IsString(v) && *v->valuestring == '\0')
			return rh_err_set(err, EINVAL, "%s: field 'reqs' holds an "
			                  "empty requirement", what);
	cJSON_ArrayForEach(v, res_get(env, "env_vars"))
		if (!cJSON_IsString(v) || *v->string == '\0' ||
		    strchr(v->string, '=') != NULL)
			return rh_err_set(err, EINVAL, "%s: env_vars: variable "
			                  "'%s' must be a string, named without "
			                  "'='", what, v->string);
	v = res_get(env, "working_dir");
	if (v != NULL && (*v->valuestring == '\0' ||
	                  strcmp(v->valuestring, "local:") == 0))
		return rh_err_set(err, EINVAL, "%s: field 'working_dir' must "
		                  "name a directory", what);
	if (cJSON_GetArraySize(res_get(env, "secrets")) > 0)
		return rh_err_set(err, EINVAL, "%s: an env's 'secrets' are not "
		                  "supported; give them to the send", what);
	if (cJSON_GetArraySize(res_get(env, "compute")) > 0)
		return rh_err_set(err, EINVAL, "%s: an env's 'compute' is not "
		                  "supported; give the send its 'hardware'",
		                  what);
	return 0;
}

char *
rh_env_venv(const char *key)
{
	char hex[RH_SHA256_HEX], *safe, *p;
	const char *base = strrchr(key, '/');

	base = base ? base + 1 : strchr(key, ':') ? strchr(key, ':') + 1 :
	       key;
	if (*base == '^' || *base == '~' || *base == '@')
		base++;
	safe = xasprintf("%.40s", base);
	for (p = safe; *p; p++)
		if (!(*p == '-' || *p == '_' || *p == '.' ||
		      (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9')))
			*p = '_';
	rh_sha256_hex(key, strlen(key), hex);
	p = xasprintf(".rh/envs/env-%s-%.12s", *safe ? safe : "x", hex);
	free(safe);
	return p;
}

static int
validate(const cJSON *cfg, const char *addr, struct rh_err *err)
{
	return rh_env_check(cfg, addr, err);
}

const struct rh_type res_env = { "env", "Env", validate };

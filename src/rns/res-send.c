/* res-send.c - sends (Runhouse "function"): a Python function named by
 * fn_pointers, or rhfs's own `command`, run on the cluster in hardware. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"

static const struct res_field fields[] = {
	{ "hardware", F_STRING | F_OBJECT | F_NULL },
	{ "system", F_STRING | F_OBJECT | F_NULL },
	{ "fn_pointers", F_ARRAY | F_NULL },
	{ "command", F_STRARRAY | F_NULL },
	{ "reqs", F_ARRAY | F_NULL },
	{ "setup_cmds", F_STRARRAY | F_NULL },
	{ "env", F_STRING | F_OBJECT | F_NULL },
	{ "secrets", F_STRARRAY | F_NULL },
	{ NULL, 0 },
};

const cJSON *
rh_send_env_vars(const cJSON *cfg)
{
	const cJSON *env = res_get(cfg, "env");

	/* a named env has nothing to pass */
	return cJSON_IsObject(env) ? res_get(env, "env_vars") : NULL;
}

int
rh_env_addr_ok(const char *a)
{
	if ((a[0] == '~' || a[0] == '@') && a[1] == '/' && a[2] != '\0')
		return 1;
	if ((a[0] == '/' || a[0] == '^') && a[1] != '\0')
		return 1;
	return rh_name_check(a, NULL) == 0;
}

int
rh_env_field_check(const cJSON *cfg, const char *key, const char *addr,
                   struct rh_err *err)
{
	const cJSON *env = res_get(cfg, key);
	char what[600];

	if (cJSON_IsObject(env)) {
		snprintf(what, sizeof(what), "%s: field '%s'", addr, key);
		return rh_env_check(env, what, err);
	}
	if (cJSON_IsString(env) && !rh_env_addr_ok(env->valuestring))
		return rh_err_set(err, EINVAL, "%s: field '%s': '%s' is "
		                  "neither the address of an env (~/..., @/..., "
		                  "/top/...) nor a name", addr, key,
		                  env->valuestring);
	return 0;
}

static int
validate(const cJSON *cfg, const char *addr, struct rh_err *err)
{
	const cJSON *fp, *cmd, *sec;
	int r;

	if ((r = res_check_fields(cfg, addr, fields, err)) < 0)
		return r;
	/* an env inline is judged as a stored one; a named one is an
	 * address (~/..., @/..., /top/..., ^name) or a bare name, looked up
	 * at each call */
	if ((r = rh_env_field_check(cfg, "env", addr, err)) < 0)
		return r;
	if (res_get(cfg, "hardware") == NULL && res_get(cfg, "system") == NULL)
		return rh_err_set(err, EINVAL, "%s: a send needs 'hardware' "
		                  "(a cluster address or config)", addr);
	fp = res_get(cfg, "fn_pointers");
	cmd = res_get(cfg, "command");
	if (fp == NULL && cmd == NULL)
		return rh_err_set(err, EINVAL, "%s: a send needs 'fn_pointers' "
		                  "[relative_path, module, function] or "
		                  "'command' [argv...]", addr);
	if (fp != NULL && cmd != NULL)
		return rh_err_set(err, EINVAL, "%s: a send has either "
		                  "'fn_pointers' or 'command', not both", addr);
	if (fp != NULL &&
	    (cJSON_GetArraySize(fp) != 3 ||
	     !(cJSON_IsString(fp->child) || cJSON_IsNull(fp->child)) ||
	     !cJSON_IsString(fp->child->next) ||
	     !cJSON_IsString(fp->child->next->next) ||
	     *fp->child->next->valuestring == '\0' ||
	     *fp->child->next->next->valuestring == '\0'))
		return rh_err_set(err, EINVAL, "%s: field 'fn_pointers' must be "
		                  "[relative_path, module, function] (strings; "
		                  "relative_path may be null)", addr);
	if (cmd != NULL && cJSON_GetArraySize(cmd) == 0)
		return rh_err_set(err, EINVAL, "%s: field 'command' must name a "
		                  "program", addr);
	/* secrets live in ~ or the shared namespace (~/..., @/..., /top/...);
	 * a bare name, as Runhouse writes ("aws"), is the secret of that name
	 * in the default folder's secrets/ */
	cJSON_ArrayForEach(sec, res_get(cfg, "secrets"))
		if (!((sec->valuestring[0] == '~' || sec->valuestring[0] == '@') &&
		      sec->valuestring[1] == '/' && sec->valuestring[2] != '\0') &&
		    !(sec->valuestring[0] == '/' && sec->valuestring[1] != '\0') &&
		    rh_name_check(sec->valuestring, NULL) < 0)
			return rh_err_set(err, EINVAL, "%s: field 'secrets': '%s' "
			                  "is neither the address of a secret "
			                  "(~/..., @/... or /top/...) nor a name",
			                  addr, sec->valuestring);
	return 0;
}

const struct rh_type res_send = { "send", "Send", validate };
/* Runhouse 0.0.4 and later write sends as "function". */
const struct rh_type res_function = { "function", "Function", validate };

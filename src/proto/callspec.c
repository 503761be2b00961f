/* callspec.c - the call request, encoded by rhfs and decoded by rhagent
 * (callspec.h; docs/protocol.md, "call"). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "callspec.h"
#include "proto.h"
#include "slurmres.h"

/* What a call request may hold. */
static const char *const call_fields[] = {
	"id", "op", "command", "args", "kwargs", "cwd", "env", "queue",
	"send", "wait", "fn_pointers", "secret_env", "venv", "call", "node",
	"slurm", NULL
};

void
rh_call_spec_init(struct rh_call_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->wait = 1;
}

/* The values of an object of secrets: wiped, then freed. */
static void
wipe_delete(cJSON *o)
{
	cJSON *v;

	cJSON_ArrayForEach(v, o)
		if (cJSON_IsString(v))
			OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	cJSON_Delete(o);
}

void
rh_call_spec_free(struct rh_call_spec *s)
{
	rh_strv_free(s->command);
	free(s->fn_path);
	free(s->fn_module);
	free(s->fn_function);
	cJSON_Delete(s->args);
	cJSON_Delete(s->kwargs);
	free(s->cwd);
	cJSON_Delete(s->env);
	wipe_delete(s->secret_env);
	free(s->queue);
	free(s->node);
	free(s->send);
	free(s->venv);
	free(s->call);
	cJSON_Delete(s->slurm);
	rh_call_spec_init(s);
}

static cJSON *
dup_json(const cJSON *v)
{
	cJSON *d = cJSON_Duplicate(v, 1);

	if (d == NULL)
		abort();
	return d;
}

int
rh_call_spec_set_command(struct rh_call_spec *s, const cJSON *cmd,
                         struct rh_err *err)
{
	const cJSON *v;
	char **argv;
	size_t n = 0;

	if (!cJSON_IsArray(cmd) || cJSON_GetArraySize(cmd) == 0)
		return rh_err_set(err, EINVAL, "'command' must be an array "
		                  "naming a program: [\"prog\", \"arg\", ...]");
	cJSON_ArrayForEach(v, cmd)
		if (!cJSON_IsString(v))
			return rh_err_set(err, EINVAL, "'command' must hold "
			                  "only strings");
	if (*cmd->child->valuestring == '\0')
		return rh_err_set(err, EINVAL, "'command' names an empty "
		                  "program");
	argv = xcalloc((size_t)cJSON_GetArraySize(cmd) + 1, sizeof(char *));
	cJSON_ArrayForEach(v, cmd)
		argv[n++] = xstrdup(v->valuestring);
	rh_strv_free(s->command);
	s->command = argv;
	return 0;
}

int
rh_call_spec_set_fn(struct rh_call_spec *s, const cJSON *fp,
                    struct rh_err *err)
{
	const cJSON *rel, *mod, *fn;

	if (!cJSON_IsArray(fp) || cJSON_GetArraySize(fp) != 3 ||
	    (rel = fp->child, mod = rel->next, fn = mod->next,
	     !(cJSON_IsString(rel) || cJSON_IsNull(rel))) ||
	    !cJSON_IsString(mod) || *mod->valuestring == '\0' ||
	    !cJSON_IsString(fn) || *fn->valuestring == '\0')
		return rh_err_set(err, EINVAL, "'fn_pointers' must be "
		                  "[relative_path, module, function]: strings, "
		                  "relative_path may be null");
	free(s->fn_path);
	free(s->fn_module);
	free(s->fn_function);
	s->fn_path = cJSON_IsString(rel) ? xstrdup(rel->valuestring) : NULL;
	s->fn_module = xstrdup(mod->valuestring);
	s->fn_function = xstrdup(fn->valuestring);
	return 0;
}

void
rh_call_spec_set_shell(struct rh_call_spec *s, const char *cmd)
{
	rh_strv_free(s->command);
	s->command = xcalloc(4, sizeof(char *));
	s->command[0] = xstrdup("sh");
	s->command[1] = xstrdup("-c");
	s->command[2] = xasprintf("exec 2>&1\n%s", cmd);
}

cJSON *
rh_call_spec_encode(const struct rh_call_spec *s)
{
	cJSON *req = rh_proto_new(0, "call"), *a;
	char **p;

	if (s->command != NULL) {
		a = cJSON_AddArrayToObject(req, "command");
		for (p = s->command; *p != NULL; p++)
			cJSON_AddItemToArray(a, cJSON_CreateString(*p));
	} else if (s->fn_module != NULL) {
		a = cJSON_AddArrayToObject(req, "fn_pointers");
		cJSON_AddItemToArray(a, s->fn_path != NULL ?
		                     cJSON_CreateString(s->fn_path) :
		                     cJSON_CreateNull());
		cJSON_AddItemToArray(a, cJSON_CreateString(s->fn_module));
		cJSON_AddItemToArray(a, cJSON_CreateString(s->fn_function));
	}
	if (s->args != NULL)
		cJSON_AddItemToObject(req, "args", dup_json(s->args));
	if (s->kwargs != NULL)
		cJSON_AddItemToObject(req, "kwargs", dup_json(s->kwargs));
	if (s->cwd != NULL)
		cJSON_AddStringToObject(req, "cwd", s->cwd);
	if (s->env != NULL)
		cJSON_AddItemToObject(req, "env", dup_json(s->env));
	if (s->secret_env != NULL)
		cJSON_AddItemToObject(req, "secret_env",
		                      dup_json(s->secret_env));
	if (s->send != NULL)
		cJSON_AddStringToObject(req, "send", s->send);
	if (s->queue != NULL)
		cJSON_AddStringToObject(req, "queue", s->queue);
	if (s->venv != NULL)
		cJSON_AddStringToObject(req, "venv", s->venv);
	if (s->call != NULL)
		cJSON_AddStringToObject(req, "call", s->call);
	if (s->node != NULL)
		cJSON_AddStringToObject(req, "node", s->node);
	if (s->slurm != NULL)
		cJSON_AddItemToObject(req, "slurm", dup_json(s->slurm));
	cJSON_AddBoolToObject(req, "wait", s->wait);
	return req;
}

/* A non-empty string field (absent: *out stays NULL). */
static int
nonempty(const cJSON *req, const char *key, const char *what, char **out,
         struct rh_err *err)
{
	const char *v = NULL;
	int r;

	if ((r = rh_json_get_string(req, key, &v, err)) < 0)
		return rh_err_set(err, EINVAL, "'%s' must be a non-empty "
		                  "string%s", key, what);
	if (r > 0 && *v == '\0')
		return rh_err_set(err, EINVAL, "'%s' must be a non-empty "
		                  "string%s", key, what);
	if (r > 0)
		*out = xstrdup(v);
	return 0;
}

/* env and secret_env: names without '=', values strings. */
static int
env_field(const cJSON *req, const char *key, cJSON **out, struct rh_err *err)
{
	const cJSON *o = NULL, *v;

	if (rh_json_get_object(req, key, &o, err) < 0)
		return rh_err_set(err, EINVAL, "'%s' must be an object of "
		                  "strings", key);
	cJSON_ArrayForEach(v, o)
		if (!cJSON_IsString(v) || *v->string == '\0' ||
		    strchr(v->string, '=') != NULL)
			return rh_err_set(err, EINVAL, "'%s' entry '%s' must "
			                  "be a string with a name without '='",
			                  key, v->string);
	if (o != NULL)
		*out = dup_json(o);
	return 0;
}

static int
decode(const cJSON *req, struct rh_call_spec *s, struct rh_err *err)
{
	const cJSON *fn, *v = NULL, *kw = NULL;
	const char *str = NULL;
	int r;

	/* (a spec read back from a damaged record may be anything) */
	if (!cJSON_IsObject(req))
		return rh_err_set(err, EINVAL, "a call request is a JSON "
		                  "object");
	if ((r = rh_json_only(req, call_fields, err)) < 0)
		return r;
	if (rh_json_get_string(req, "call", &str, NULL) < 0 ||
	    (str != NULL && !rh_call_id_valid(str)))
		return rh_err_set(err, EINVAL, "'call' is the id proposed for "
		                  "the call: YYYYMMDD-HHMMSS-uuuuuu");
	if (str != NULL)
		s->call = xstrdup(str);
	str = NULL;
	if ((r = rh_json_get_bool(req, "wait", &s->wait, err)) < 0 ||
	    (r = nonempty(req, "venv", ": a virtualenv's directory", &s->venv,
	                  err)) < 0)
		return r;
	/* A Python call names its function instead. */
	if ((fn = cJSON_GetObjectItemCaseSensitive(req, "fn_pointers")) != NULL) {
		if ((r = rh_call_spec_set_fn(s, fn, err)) < 0)
			return r;
		if (cJSON_GetObjectItemCaseSensitive(req, "command") != NULL)
			return rh_err_set(err, EINVAL, "a call has either "
			                  "'command' or 'fn_pointers', not both");
	} else if ((r = rh_call_spec_set_command(s,
	            cJSON_GetObjectItemCaseSensitive(req, "command"),
	            err)) < 0) {
		return r;
	}
	if ((r = rh_json_get_array(req, "args", &v, err)) < 0)
		return r;
	if (r > 0)
		s->args = dup_json(v);
	if ((r = rh_json_get_object(req, "kwargs", &kw, err)) < 0)
		return r;
	cJSON_ArrayForEach(v, kw)
		if (*v->string == '\0' || strchr(v->string, '=') != NULL)
			return rh_err_set(err, EINVAL, "kwarg name '%s' is "
			                  "empty or holds '='", v->string);
	if (kw != NULL)
		s->kwargs = dup_json(kw);
	if ((r = env_field(req, "env", &s->env, err)) < 0 ||
	    (r = env_field(req, "secret_env", &s->secret_env, err)) < 0 ||
	    (r = nonempty(req, "cwd", "", &s->cwd, err)) < 0 ||
	    (r = nonempty(req, "queue", "", &s->queue, err)) < 0 ||
	    (r = nonempty(req, "node", "", &s->node, err)) < 0 ||
	    (r = rh_json_get_string(req, "send", &str, err)) < 0)
		return r;
	if (str != NULL)
		s->send = xstrdup(str);
	/* a job step of its own: what it asks of Slurm, in its job */
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "slurm")) != NULL) {
		if ((r = rh_slurm_step_check(v, 1, err)) < 0)
			return r;
		s->slurm = dup_json(v);
	}
	return 0;
}

int
rh_call_spec_decode(const cJSON *req, struct rh_call_spec *s,
                    struct rh_err *err)
{
	int r;

	rh_call_spec_init(s);
	if ((r = decode(req, s, err)) < 0)
		rh_call_spec_free(s);
	return r;
}

int
rh_call_id_valid(const char *id)
{
	size_t i;

	if (strlen(id) != 22)
		return 0;
	for (i = 0; i < 22; i++)
		if ((i == 8 || i == 15) ? id[i] != '-' :
		    (id[i] < '0' || id[i] > '9'))
			return 0;
	return 1;
}

const char *
rh_call_ref_split(const char *ref, size_t *send_len)
{
	const char *cut = NULL, *q;

	for (q = ref; (q = strstr(q, "/calls/")) != NULL; q++)
		cut = q;
	if (cut == NULL || cut == ref || !rh_call_id_valid(cut + 7))
		return NULL;
	*send_len = (size_t)(cut - ref);
	return cut + 7;
}

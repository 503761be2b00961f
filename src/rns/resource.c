/* resource.c - the table of resource types and what every config shares:
 * well-formed JSON, an object, a known resource_type, name fields that
 * follow the resource's address. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "res.h"

static const struct rh_type *const type_table[] = {
	&res_cluster, &res_send, &res_function, &res_folder,
	&res_blob,    &res_table, &res_secret, &res_env,
};

static const struct res_field common_fields[] = {
	{ "name", F_STRING | F_NULL },
	{ "resource_type", F_STRING },
	{ "resource_subtype", F_STRING | F_NULL },
	{ "rns_address", F_STRING | F_NULL },
	{ "visibility", F_STRING | F_NULL },
	{ "provenance", F_OBJECT | F_NULL },
	{ "dryrun", F_BOOL | F_NULL },
	{ NULL, 0 },
};

const struct rh_type *
rh_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(type_table) / sizeof(type_table[0]); i++)
		if (strcmp(type_table[i]->name, name) == 0)
			return type_table[i];
	return NULL;
}

static int
listed(const struct res_field *fields, const char *key)
{
	size_t i;

	for (i = 0; fields[i].key != NULL; i++)
		if (strcmp(fields[i].key, key) == 0)
			return 1;
	return 0;
}

int
res_known(const struct res_field *fields, const char *key)
{
	return listed(fields, key) || listed(common_fields, key);
}

const cJSON *
res_get(const cJSON *cfg, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);

	return cJSON_IsNull(v) ? NULL : v;
}

const char *
res_subtype(const cJSON *cfg)
{
	const cJSON *v = res_get(cfg, "resource_subtype");

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int
is_whole(const cJSON *v)
{
	/* range first: converting a larger double (1e300) is undefined */
	return cJSON_IsNumber(v) && v->valuedouble > -9e18 &&
	       v->valuedouble < 9e18 &&
	       v->valuedouble == (double)(long long)v->valuedouble;
}

static int
field_ok(const cJSON *v, unsigned types)
{
	const cJSON *e;

	if ((types & F_NULL) && cJSON_IsNull(v))
		return 1;
	if ((types & F_STRING) && cJSON_IsString(v))
		return 1;
	if ((types & F_BOOL) && cJSON_IsBool(v))
		return 1;
	if ((types & F_NUMBER) && cJSON_IsNumber(v))
		return 1;
	if ((types & F_INT) && is_whole(v))
		return 1;
	if ((types & F_PORT) && is_whole(v) && v->valuedouble >= 1 &&
	    v->valuedouble <= 65535)
		return 1;
	if ((types & F_OBJECT) && cJSON_IsObject(v))
		return 1;
	if ((types & F_ARRAY) && cJSON_IsArray(v))
		return 1;
	if ((types & F_STRARRAY) && cJSON_IsArray(v)) {
		cJSON_ArrayForEach(e, v)
			if (!cJSON_IsString(e))
				return 0;
		return 1;
	}
	return 0;
}

static void
describe(unsigned types, char *out, size_t len)
{
	static const struct {
		unsigned bit;
		const char *what;
	} names[] = {
		{ F_STRING, "a string" },       { F_INT, "a whole number" },
		{ F_NUMBER, "a number" },       { F_BOOL, "true or false" },
		{ F_OBJECT, "an object" },      { F_ARRAY, "an array" },
		{ F_STRARRAY, "an array of strings" },
		{ F_PORT, "a port number (1-65535)" }, { F_NULL, "null" },
	};
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(types & names[i].bit))
			continue;
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s",
		                      n ? " or " : "", names[i].what);
	}
}

int
res_check_fields(const cJSON *cfg, const char *addr,
                 const struct res_field *fields, struct rh_err *err)
{
	const struct res_field *f;
	const cJSON *v;
	char want[160];

	for (f = fields; f->key != NULL; f++) {
		v = cJSON_GetObjectItemCaseSensitive(cfg, f->key);
		if (v == NULL || field_ok(v, f->types))
			continue;
		describe(f->types, want, sizeof(want));
		return rh_err_set(err, EINVAL, "%s: field '%s' must be %s",
		                  addr, f->key, want);
	}
	return 0;
}

static cJSON *
parse(const char *addr, const char *data, size_t len, struct rh_err *err)
{
	char *what = xasprintf("%s: config.json", addr);
	cJSON *cfg = rh_json_parse(data, len, what, err);

	free(what);
	if (cfg != NULL && !cJSON_IsObject(cfg)) {
		cJSON_Delete(cfg);
		rh_err_set(err, EINVAL, "%s: config.json must hold a JSON "
		           "object", addr);
		return NULL;
	}
	return cfg;
}

/* Point name (and rns_address, when present) at addr. A name that is the
 * address or its last component is left alone; with keep_base, a name of
 * the last-component style becomes addr's last component. Returns 1 if
 * changed. */
static int
set_names(cJSON *cfg, const char *addr, int keep_base)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(cfg, "name");
	const cJSON *rns = cJSON_GetObjectItemCaseSensitive(cfg, "rns_address");
	const char *base = strrchr(addr, '/');
	const char *want = addr;
	int changed = 0;

	base = base ? base + 1 : addr + (addr[0] == '^');
	if (cJSON_IsString(name)) {
		if (strcmp(name->valuestring, addr) == 0 ||
		    strcmp(name->valuestring, base) == 0)
			want = NULL;
		else if (keep_base)
			want = base;
	}
	if (want != NULL) {
		cJSON *item;

		/* a new name goes first, as Runhouse writes it */
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, "name");
		item = cJSON_AddStringToObject(cfg, "name", want);
		cJSON_DetachItemViaPointer(cfg, item);
		cJSON_InsertItemInArray(cfg, 0, item);
		changed = 1;
	}
	if (cJSON_IsString(rns) && strcmp(rns->valuestring, addr) != 0) {
		cJSON_ReplaceItemInObjectCaseSensitive(cfg, "rns_address",
		                                      cJSON_CreateString(addr));
		changed = 1;
	}
	return changed;
}

static void
print(const cJSON *cfg, char **out, size_t *outlen)
{
	*out = rh_json_pretty(cfg);
	*outlen = strlen(*out);
}

int
rh_config_check(const char *addr, const char *data, size_t len, char **out,
                size_t *outlen, struct rh_err *err)
{
	const struct rh_type *type;
	const cJSON *rt;
	cJSON *cfg;
	int r;

	*out = NULL;
	*outlen = 0;
	if (len > RH_CONFIG_MAX)
		return rh_err_set(err, EFBIG, "%s: config.json larger than %d "
		                  "bytes", addr, RH_CONFIG_MAX);
	if ((cfg = parse(addr, data, len, err)) == NULL)
		return -EINVAL;
	rt = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (rt == NULL || cJSON_IsNull(rt)) {
		r = rh_err_set(err, EINVAL, "%s: config.json has no "
		               "'resource_type'", addr);
		goto out;
	}
	if ((r = res_check_fields(cfg, addr, common_fields, err)) < 0)
		goto out;
	if ((type = rh_type_find(rt->valuestring)) == NULL) {
		r = rh_err_set(err, EINVAL, "%s: unknown resource_type '%s' "
		               "(known: cluster, send, function, folder, blob, "
		               "table, secret, env)", addr, rt->valuestring);
		goto out;
	}
	if ((r = type->validate(cfg, addr, err)) < 0)
		goto out;
	if (set_names(cfg, addr, 0))
		print(cfg, out, outlen);
	r = 0;
out:
	cJSON_Delete(cfg);
	return r;
}

int
rh_config_readdress(const char *data, size_t len, const char *addr,
                    char **out, size_t *outlen)
{
	const cJSON *name;
	int keep_base;
	cJSON *cfg;

	*out = NULL;
	*outlen = 0;
	cfg = rh_json_parse(data, len, addr, NULL);
	if (!cJSON_IsObject(cfg)) {
		cJSON_Delete(cfg);
		return -EINVAL;
	}
	/* a name stored as the last component ("a", not "~/a" or "^a")
	 * stays one: the stored config named its own directory */
	name = cJSON_GetObjectItemCaseSensitive(cfg, "name");
	keep_base = cJSON_IsString(name) &&
	            strchr(name->valuestring, '/') == NULL &&
	            name->valuestring[0] != '^';
	if (set_names(cfg, addr, keep_base))
		print(cfg, out, outlen);
	cJSON_Delete(cfg);
	return 0;
}

int
rh_config_complete(const char *data, size_t len)
{
	const char *p = data, *end = data + len;
	int depth = 0, in_string = 0;

	/* (strchr would also match the NUL that ends its string) */
	while (p < end && *p != '\0' && strchr(" \t\r\n", *p) != NULL)
		p++;
	if (p == end)
		return 0;
	if (*p != '{')
		return 1;       /* never an object: judge it now */
	for (; p < end; p++) {
		if (in_string) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_string = 0;
			continue;
		}
		switch (*p) {
		case '"':
			in_string = 1;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return 1;
			break;
		}
	}
	return 0;
}

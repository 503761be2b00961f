/* cmd-config.c - rh config set|get|upload|download: the keys of
 * ~/.rh/config.yaml, each checked before it is written, and Runhouse's
 * upload_defaults: the defaults kept in etcd (key P/c/<user>) so that
 * every machine the user logs in on can fetch them. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "etcd.h"
#include "cmd.h"

enum vtype { V_STRING, V_INT, V_BOOL };

struct key {
	const char *name;
	enum vtype type;
	int upload;             /* a default kept in etcd by upload */
	int (*check)(const char *v, struct rh_err *err);
};

static int
check_token(const char *v, struct rh_err *err)
{
	const char *p;

	for (p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return rh_err_set(err, EINVAL, "a token has no blanks "
			                  "or control characters");
	return *v ? 0 : rh_err_set(err, EINVAL, "empty token");
}

static int
check_username(const char *v, struct rh_err *err)
{
	return cmd_check_user(v, err);
}

static int
check_folder(const char *v, struct rh_err *err)
{
	const char *rest = NULL;
	struct rh_err e;

	if (strcmp(v, "~") == 0 || strcmp(v, "@") == 0)
		return 0;
	if (strncmp(v, "~/", 2) == 0 || strncmp(v, "@/", 2) == 0)
		rest = v + 2;
	else if (v[0] == '/')
		rest = v + 1;
	if (rest == NULL || *rest == '\0' || rh_path_check(rest, &e) < 0)
		return rh_err_set(err, EINVAL, "'%s': a folder is ~, @, ~/PATH, "
		                  "@/PATH or /TOP/PATH", v);
	return 0;
}

static int
check_provider(const char *v, struct rh_err *err)
{
	static const char *const known[] = {
		"cheapest", "aws", "gcp", "azure", "lambda", "kubernetes", NULL
	};
	int i;

	for (i = 0; known[i]; i++)
		if (strcmp(v, known[i]) == 0)
			return 0;
	return rh_err_set(err, EINVAL, "'%s': not a provider (cheapest, aws, "
	                  "gcp, azure, lambda, kubernetes)", v);
}

static int
check_autostop(const char *v, struct rh_err *err)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < -1 ||
	    n > 1000000)
		return rh_err_set(err, EINVAL, "'%s': minutes of idleness "
		                  "before a cluster stops, or -1 for never", v);
	return 0;
}

static int
check_bool(const char *v, struct rh_err *err)
{
	if (strcmp(v, "true") == 0 || strcmp(v, "false") == 0)
		return 0;
	return rh_err_set(err, EINVAL, "'%s': true or false", v);
}

/* One member's URL, or several: URL,URL,... */
static int
check_url(const char *v, struct rh_err *err)
{
	char **urls;
	size_t n;
	int r;

	if ((r = rh_etcd_members(v, &urls, &n, err)) == 0)
		rh_strs_free(urls, n);
	return r;
}

static int
check_prefix(const char *v, struct rh_err *err)
{
	struct rh_err e;

	if (v[0] != '/' || v[1] == '\0' || rh_path_check(v + 1, &e) < 0)
		return rh_err_set(err, EINVAL, "'%s': an etcd key prefix "
		                  "/NAME[/NAME...], like /rh", v);
	return 0;
}

static const struct key keys[] = {
	{ "token", V_STRING, 0, check_token },
	{ "username", V_STRING, 0, check_username },
	{ "default_folder", V_STRING, 1, check_folder },
	{ "default_provider", V_STRING, 1, check_provider },
	{ "default_autostop", V_INT, 1, check_autostop },
	{ "use_spot", V_BOOL, 1, check_bool },
	{ "rns_url", V_STRING, 0, check_url },
	{ "rns_prefix", V_STRING, 0, check_prefix },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const struct key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
unknown_key(const char *name)
{
	struct rh_buf list = { 0 };
	size_t i;
	int r;

	for (i = 0; i < NKEYS; i++)
		rh_buf_printf(&list, "%s%s", i ? ", " : "", keys[i].name);
	r = cmd_fail("config", "'%s': not a key of config.yaml (known: %s)",
	             name, list.data);
	rh_buf_free(&list);
	return r;
}

static int
config_set(int argc, char *argv[])
{
	const struct key *k;
	struct rh_config *cfg;
	struct rh_err err;

	if (argc != 3)
		return cmd_usage("config");
	if ((k = find_key(argv[1])) == NULL)
		return unknown_key(argv[1]);
	if (k->check(argv[2], &err) < 0)
		return cmd_fail("config", "%s: %s", k->name, err.msg);
	if (cmd_config_load(&cfg, &err) < 0)
		return cmd_fail("config", "%s", err.msg);
	rh_config_set(cfg, k->name, argv[2]);
	if (rh_config_save(cfg, &err) < 0) {
		rh_config_free(cfg);
		return cmd_fail("config", "%s", err.msg);
	}
	rh_config_free(cfg);
	return 0;
}

static int
config_get(int argc, char *argv[])
{
	struct rh_config *cfg;
	struct rh_err err;
	const char *v;

	if (argc != 2)
		return cmd_usage("config");
	if (find_key(argv[1]) == NULL)
		return unknown_key(argv[1]);
	if (cmd_config_load(&cfg, &err) < 0)
		return cmd_fail("config", "%s", err.msg);
	v = rh_config_get(cfg, argv[1]);
	if (v == NULL) {
		rh_config_free(cfg);
		return cmd_fail("config", "%s: not set", argv[1]);
	}
	printf("%s\n", v);
	rh_config_free(cfg);
	return 0;
}

static int
config_upload(void)
{
	struct rh_config *cfg;
	struct rh_login l;
	struct rh_etcd *c;
	struct rh_err err;
	cJSON *j;
	char *key, *text;
	const char *v;
	size_t i;
	int r;

	if (cmd_config_load(&cfg, &err) < 0)
		return cmd_fail("config", "%s", err.msg);
	j = cJSON_CreateObject();
	for (i = 0; i < NKEYS; i++) {
		if (!keys[i].upload ||
		    (v = rh_config_get(cfg, keys[i].name)) == NULL)
			continue;
		if (keys[i].check(v, &err) < 0) {
			cJSON_Delete(j);
			rh_config_free(cfg);
			return cmd_fail("config", "config.yaml: %s: %s",
			                keys[i].name, err.msg);
		}
		if (keys[i].type == V_INT)
			cJSON_AddNumberToObject(j, keys[i].name, atol(v));
		else if (keys[i].type == V_BOOL)
			cJSON_AddBoolToObject(j, keys[i].name,
			                      strcmp(v, "true") == 0);
		else
			cJSON_AddStringToObject(j, keys[i].name, v);
	}
	rh_config_free(cfg);
	text = cJSON_Print(j);
	cJSON_Delete(j);
	if ((r = cmd_etcd_login(&l, &c, &err)) < 0) {
		cJSON_free(text);
		return cmd_fail("config", "upload: %s", err.msg);
	}
	key = cmd_key(l.prefix, "c", l.user);
	r = rh_etcd_put(c, key, strlen(key), text, strlen(text), NULL, &err);
	if (r == 0)
		printf("defaults of %s uploaded\n", l.user);
	free(key);
	cJSON_free(text);
	rh_etcd_free(c);
	rh_login_free(&l);
	return r < 0 ? cmd_fail("config", "upload: %s", err.msg) : 0;
}

/* A downloaded value as config.yaml text; NULL when it is not valid. */
static char *
value_text(const struct key *k, const cJSON *v, struct rh_err *err)
{
	char *s = NULL;

	if (k->type == V_INT && cJSON_IsNumber(v))
		s = xasprintf("%ld", (long)v->valuedouble);
	else if (k->type == V_BOOL && cJSON_IsBool(v))
		s = xstrdup(cJSON_IsTrue(v) ? "true" : "false");
	else if (k->type == V_STRING && cJSON_IsString(v))
		s = xstrdup(v->valuestring);
	if (s == NULL) {
		rh_err_set(err, EINVAL, "wrong type");
		return NULL;
	}
	if (k->check(s, err) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int
config_download(void)
{
	struct rh_config *cfg = NULL;
	struct rh_etcd_kv kv;
	struct rh_login l;
	struct rh_etcd *c;
	struct rh_err err;
	const struct key *k;
	const cJSON *v;
	cJSON *j = NULL;
	char *key, *text;
	int r, n = 0;

	if ((r = cmd_etcd_login(&l, &c, &err)) < 0)
		return cmd_fail("config", "download: %s", err.msg);
	key = cmd_key(l.prefix, "c", l.user);
	r = rh_etcd_get(c, key, strlen(key), &kv, &err);
	rh_etcd_free(c);
	if (r == -ENOENT) {
		r = cmd_fail("config", "download: no defaults uploaded for %s "
		             "(rh config upload keeps them)", l.user);
		goto out;
	}
	if (r < 0) {
		r = cmd_fail("config", "download: %s", err.msg);
		goto out;
	}
	j = rh_json_parse(kv.value ? kv.value : "", kv.value_len, key, &err);
	rh_etcd_kv_free(&kv);
	if (j == NULL) {
		r = cmd_fail("config", "download: %s", err.msg);
		goto out;
	}
	if (!cJSON_IsObject(j)) {
		r = cmd_fail("config", "download: %s: not a JSON object", key);
		goto out;
	}
	if ((r = cmd_config_load(&cfg, &err)) < 0) {
		r = cmd_fail("config", "%s", err.msg);
		goto out;
	}
	/* Check all before changing anything. */
	cJSON_ArrayForEach(v, j) {
		if ((k = find_key(v->string)) == NULL || !k->upload) {
			r = cmd_fail("config", "download: %s: '%s' is not a "
			             "default", key, v->string);
			goto out;
		}
		if ((text = value_text(k, v, &err)) == NULL) {
			r = cmd_fail("config", "download: %s: %s: %s", key,
			             k->name, err.msg);
			goto out;
		}
		rh_config_set(cfg, k->name, text);
		free(text);
		n++;
	}
	if (rh_config_save(cfg, &err) < 0) {
		r = cmd_fail("config", "%s", err.msg);
		goto out;
	}
	printf("%d default%s of %s downloaded\n", n, n == 1 ? "" : "s", l.user);
	r = 0;
out:
	cJSON_Delete(j);
	rh_config_free(cfg);
	free(key);
	rh_login_free(&l);
	return r;
}

int
cmd_config(int argc, char *argv[])
{
	if (argc < 2)
		return cmd_usage("config");
	if (strcmp(argv[1], "set") == 0)
		return config_set(argc - 1, argv + 1);
	if (strcmp(argv[1], "get") == 0)
		return config_get(argc - 1, argv + 1);
	if (strcmp(argv[1], "upload") == 0 && argc == 2)
		return config_upload();
	if (strcmp(argv[1], "download") == 0 && argc == 2)
		return config_download();
	return cmd_usage("config");
}

/* login.c - ~/.rh/login.json: where the remote RNS is and who logs in to
 * it. Written by `rh login`, read by rhfs at mount, removed by `rh
 * logout`. The password is kept (mode 0600, like ~/.netrc) so that an
 * expired etcd token is renewed without the user noticing. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "base.h"
#include "rns.h"

#define LOGIN_MAX (64 * 1024)

static char *
login_path(void)
{
	return rh_dot_rh("login.json");
}

static void
wipe(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
rh_login_free(struct rh_login *l)
{
	if (l == NULL)
		return;
	free(l->url);
	free(l->user);
	wipe(l->password);
	free(l->ca_file);
	free(l->prefix);
	memset(l, 0, sizeof(*l));
}

/* A string field, or NULL when absent or null; -EINVAL for another type. */
static int
str_field(const cJSON *o, const char *key, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -EINVAL;
	*out = xstrdup(v->valuestring);
	return 0;
}

int
rh_login_load(struct rh_login *out, struct rh_err *err)
{
	char *path = login_path();
	struct rh_buf text = { 0 };
	const char *bad = NULL;
	cJSON *j = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = rh_file_read(path, LOGIN_MAX, &text, NULL)) < 0) {
		if (r == -ENOENT)
			rh_err_set(err, ENOENT, "not logged in (no %s; run "
			           "rh login)", path);
		else
			rh_err_set(err, -r, "%s: %s", path, strerror(-r));
		goto out;
	}
	if ((j = rh_json_parse(text.data, text.len, path, err)) == NULL) {
		r = -EINVAL;
		goto out;
	}
	if (!cJSON_IsObject(j))
		bad = "not a JSON object";
	else if (str_field(j, "url", &out->url) < 0 || out->url == NULL)
		bad = "no \"url\" string";
	else if (str_field(j, "user", &out->user) < 0 || out->user == NULL)
		bad = "no \"user\" string";
	else if (str_field(j, "password", &out->password) < 0)
		bad = "\"password\" is not a string";
	else if (out->password == NULL)
		bad = "no \"password\" string";
	else if (str_field(j, "ca_file", &out->ca_file) < 0)
		bad = "\"ca_file\" is not a string or null";
	else if (str_field(j, "prefix", &out->prefix) < 0)
		bad = "\"prefix\" is not a string or null";
	if (bad != NULL) {
		r = rh_err_set(err, EINVAL, "%s: %s", path, bad);
		rh_login_free(out);
		goto out;
	}
	if (out->prefix == NULL)
		out->prefix = xstrdup("/rh");
	r = 0;
out:
	if (text.data != NULL)
		OPENSSL_cleanse(text.data, text.len);
	rh_buf_free(&text);
	cJSON_Delete(j);
	free(path);
	return r;
}

static void
add_str(cJSON *o, const char *key, const char *value)
{
	if (value != NULL)
		cJSON_AddStringToObject(o, key, value);
	else
		cJSON_AddNullToObject(o, key);
}

int
rh_login_save(const struct rh_login *l, struct rh_err *err)
{
	char *dir = rh_dot_rh(NULL), *path = login_path(), *text;
	cJSON *j;
	int r;

	if (l->url == NULL || l->user == NULL) {
		r = rh_err_set(err, EINVAL, "%s: a login needs a URL and a "
		               "user", path);
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = rh_err_set(err, errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	j = cJSON_CreateObject();
	add_str(j, "url", l->url);
	add_str(j, "user", l->user);
	add_str(j, "password", l->password);
	add_str(j, "ca_file", l->ca_file);
	add_str(j, "prefix", l->prefix ? l->prefix : "/rh");
	text = cJSON_Print(j);
	cJSON_Delete(j);
	if (text == NULL)
		abort();
	/* mkstemp makes the temp file 0600: never readable by others. */
	if ((r = rh_file_replace(path, text, strlen(text), 0600, 1)) < 0)
		rh_err_set(err, -r, "%s: %s", path, strerror(-r));
	OPENSSL_cleanse(text, strlen(text));
	cJSON_free(text);
out:
	free(dir);
	free(path);
	return r;
}

int
rh_login_remove(struct rh_err *err)
{
	char *path = login_path();
	int r = 0;

	if (unlink(path) < 0) {
		if (errno == ENOENT)
			r = rh_err_set(err, ENOENT, "not logged in (no %s)",
			               path);
		else
			r = rh_err_set(err, errno, "%s: %s", path,
			               strerror(errno));
	}
	free(path);
	return r;
}

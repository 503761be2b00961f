/* cmd-secrets.c - rh secrets extract|download [PROVIDER...]: the
 * credential files of cloud tools, kept as secrets (Runhouse's
 * providers). extract reads each provider's standard file into the secret
 * DEFAULT_FOLDER/secrets/PROVIDER (@ when logged in, else ~); download
 * writes the values back into the standard file, changing only the
 * entries the secret holds.
 *
 * The secrets are written through the core library (the store for
 * config.json; src/secret/secret-local.c or src/secret/secret-remote.c for the sealed
 * values): no mount is needed, and what a mount shows is the same. Values are never printed
 * and every buffer that held one is cleansed. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base.h"
#include "rns.h"
#include "secret.h"
#include "cmd.h"

#define CRED_MAX (1024 * 1024)
#define FOLDER "secrets"

/* Field values of one secret, plaintext. */
struct fields {
	char *name[16];
	struct rh_buf value[16];
	size_t n;
};

static void
fields_add(struct fields *f, const char *name, const char *v, size_t len)
{
	struct rh_buf *b;

	if (f->n == sizeof(f->name) / sizeof(f->name[0]))
		return;
	f->name[f->n] = xstrdup(name);
	b = &f->value[f->n++];
	memset(b, 0, sizeof(*b));
	b->data = xmalloc(len + 1);     /* sized once: cleansed whole */
	b->cap = len + 1;
	memcpy(b->data, v, len);
	b->len = len;
	b->data[len] = '\0';
}

static const struct rh_buf *
fields_get(const struct fields *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return &f->value[i];
	return NULL;
}

static void
fields_free(struct fields *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->name[i]);
		rh_buf_cleanse(&f->value[i]);
	}
	f->n = 0;
}

/* "~/x" with $HOME; others as they are. */
static char *
expand(const char *path)
{
	const char *home = getenv("HOME");

	if (strncmp(path, "~/", 2) == 0)
		return xasprintf("%s/%s", home ? home : "", path + 2);
	return xstrdup(path);
}

static int
read_cred(const char *path, struct rh_buf *out, struct rh_err *err)
{
	char *file = expand(path);
	struct rh_buf b = { 0 };
	int r = rh_file_read(file, CRED_MAX, &b, NULL);

	if (r < 0) {
		rh_err_set(err, -r, "%s: %s", path, strerror(-r));
		rh_buf_cleanse(&b);
	} else {
		*out = b;
	}
	free(file);
	return r;
}

static int
mkparents(const char *file)
{
	char *p = xstrdup(file), *slash = strrchr(p, '/');
	int r = 0;

	if (slash != NULL && slash != p) {
		*slash = '\0';
		r = rh_mkdirs(p, 0700);
	}
	free(p);
	return r;
}

static int
write_cred(const char *path, const char *data, size_t len, unsigned mode,
           struct rh_err *err)
{
	char *file = expand(path);
	int r;

	if ((r = mkparents(file)) == 0)
		r = rh_file_replace(file, data, len, mode, 1);
	if (r < 0)
		rh_err_set(err, -r, "%s: cannot write it: %s", path,
		           strerror(-r));
	free(file);
	return r;
}

/* INI files (aws credentials, azure clouds.config, lambda_keys): read
 * and edited with rh_ini_find (src/base/ini.c). */

static int
ini_get(const struct rh_buf *text, const char *section, const char *key,
        struct fields *f, const char *field)
{
	const char *v;
	size_t vl, a, b;

	rh_ini_find(text->data, text->len, section, key, &v, &vl, &a, &b);
	if (v == NULL)
		return 0;
	fields_add(f, field, v, vl);
	return 1;
}

/* text with key set to value in section (added where missing). */
static void
ini_set(struct rh_buf *text, const char *section, const char *key,
        const struct rh_buf *value)
{
	struct rh_buf out = { 0 };
	const char *v;
	size_t vl, a, b;
	long after;

	after = rh_ini_find(text->data, text->len, section, key, &v, &vl, &a, &b);
	rh_buf_reserve(&out, text->len + strlen(key) + value->len +
	               (section ? strlen(section) : 0) + 16);
	if (v != NULL) {
		rh_buf_append(&out, text->data, a);
		rh_buf_printf(&out, "%s = ", key);
		rh_buf_append(&out, value->data, value->len);
		rh_buf_append(&out, "\n", 1);
		rh_buf_append(&out, text->data + b, text->len - b);
	} else if (after >= 0) {
		rh_buf_append(&out, text->data, (size_t)after);
		if (after > 0 && text->data[after - 1] != '\n')
			rh_buf_append(&out, "\n", 1);
		rh_buf_printf(&out, "%s = ", key);
		rh_buf_append(&out, value->data, value->len);
		rh_buf_append(&out, "\n", 1);
		rh_buf_append(&out, text->data + after,
		              text->len - (size_t)after);
	} else {
		rh_buf_append(&out, text->data, text->len);
		if (text->len > 0 && text->data[text->len - 1] != '\n')
			rh_buf_append(&out, "\n", 1);
		rh_buf_printf(&out, "%s[%s]\n%s = ", text->len ? "\n" : "",
		              section, key);
		rh_buf_append(&out, value->data, value->len);
		rh_buf_append(&out, "\n", 1);
	}
	rh_buf_cleanse(text);
	*text = out;
}

/* Providers. */

struct provider;
typedef int (*extract_fn)(const struct provider *p, const char *path,
                          struct fields *f, struct rh_err *err);
typedef int (*download_fn)(const struct provider *p, const char *path,
                           const struct fields *f, struct rh_err *err);

struct ini_key {
	const char *key;        /* in the file */
	const char *field;      /* in the secret */
};

struct provider {
	const char *name;
	const char *path;       /* the standard file, ~/... */
	extract_fn extract;
	download_fn download;
	const char *section;    /* INI */
	struct ini_key keys[4];
};

static int
ini_extract(const struct provider *p, const char *path, struct fields *f,
            struct rh_err *err)
{
	struct rh_buf text = { 0 };
	int i, r, found = 0;

	if ((r = read_cred(path, &text, err)) < 0)
		return r;
	for (i = 0; i < 4 && p->keys[i].key; i++)
		found += ini_get(&text, p->section, p->keys[i].key, f,
		                 p->keys[i].field);
	rh_buf_cleanse(&text);
	if (!found)
		return rh_err_set(err, ENOENT, "%s: no %s%s%s credentials in it",
		                  path, p->section ? "[" : "",
		                  p->section ? p->section : "",
		                  p->section ? "]" : "");
	return 0;
}

static int
ini_download(const struct provider *p, const char *path,
             const struct fields *f, struct rh_err *err)
{
	struct rh_buf text = { 0 };
	const struct rh_buf *v;
	int i, r;

	r = read_cred(path, &text, err);
	if (r == -ENOENT)
		rh_buf_reserve(&text, 0);
	else if (r < 0)
		return r;
	for (i = 0; i < 4 && p->keys[i].key; i++)
		if ((v = fields_get(f, p->keys[i].field)) != NULL)
			ini_set(&text, p->section, p->keys[i].key, v);
	r = write_cred(path, text.data, text.len, 0600, err);
	rh_buf_cleanse(&text);
	return r;
}

/* A whole file is one field (huggingface's token). */
static int
file_extract(const struct provider *p, const char *path, struct fields *f,
             struct rh_err *err)
{
	struct rh_buf text = { 0 };
	size_t n;
	int r;

	if ((r = read_cred(path, &text, err)) < 0)
		return r;
	n = text.len;
	while (n > 0 && (text.data[n - 1] == '\n' || text.data[n - 1] == '\r'))
		n--;
	fields_add(f, p->keys[0].field, text.data, n);
	rh_buf_cleanse(&text);
	return 0;
}

static int
file_download(const struct provider *p, const char *path,
              const struct fields *f, struct rh_err *err)
{
	const struct rh_buf *v = fields_get(f, p->keys[0].field);

	if (v == NULL)
		return rh_err_set(err, ENOENT, "no field %s", p->keys[0].field);
	return write_cred(path, v->data, v->len, 0600, err);
}

/* A key pair: private_key from path, public_key from path.pub. */
static int
pair_extract(const struct provider *p, const char *path, struct fields *f,
             struct rh_err *err)
{
	struct rh_buf priv = { 0 }, pub = { 0 };
	char *pubpath = xasprintf("%s.pub", path);
	int r;

	if ((r = read_cred(path, &priv, err)) == 0) {
		fields_add(f, "private_key", priv.data, priv.len);
		if (read_cred(pubpath, &pub, err) == 0)
			fields_add(f, "public_key", pub.data, pub.len);
	}
	rh_buf_cleanse(&priv);
	rh_buf_cleanse(&pub);
	free(pubpath);
	return r;
}

static int
pair_download(const struct provider *p, const char *path,
              const struct fields *f, struct rh_err *err)
{
	const struct rh_buf *priv = fields_get(f, "private_key");
	const struct rh_buf *pub = fields_get(f, "public_key");
	char *pubpath = xasprintf("%s.pub", path);
	int r;

	if (priv == NULL)
		r = rh_err_set(err, ENOENT, "no field private_key");
	else if ((r = write_cred(path, priv->data, priv->len, 0600,
	                         err)) == 0 && pub != NULL)
		r = write_cred(pubpath, pub->data, pub->len, 0644, err);
	free(pubpath);
	return r;
}

/* gcloud's application default credentials: JSON members as fields. */
static int
json_extract(const struct provider *p, const char *path, struct fields *f,
             struct rh_err *err)
{
	struct rh_buf text = { 0 };
	const cJSON *v;
	cJSON *o;
	int i, r;

	if ((r = read_cred(path, &text, err)) < 0)
		return r;
	o = rh_json_parse(text.data, text.len, path, err);
	rh_buf_cleanse(&text);
	if (o == NULL)
		return -EINVAL;
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return rh_err_set(err, EINVAL, "%s: not a JSON object", path);
	}
	for (i = 0; i < 4 && p->keys[i].key; i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, p->keys[i].key);
		if (cJSON_IsString(v))
			fields_add(f, p->keys[i].field, v->valuestring,
			           strlen(v->valuestring));
	}
	/* cJSON's own copies of the values */
	for (v = o->child; v != NULL; v = v->next)
		if (cJSON_IsString(v))
			OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	cJSON_Delete(o);
	return f->n ? 0 : rh_err_set(err, ENOENT, "%s: no credentials in it",
	                             path);
}

static int
json_download(const struct provider *p, const char *path,
              const struct fields *f, struct rh_err *err)
{
	struct rh_buf text = { 0 };
	const struct rh_buf *v;
	cJSON *o = NULL, *it;
	char *out;
	int i, r;

	r = read_cred(path, &text, err);
	if (r == 0 && (o = rh_json_parse(text.data, text.len, path,
	                                 err)) == NULL) {
		rh_buf_cleanse(&text);
		return -EINVAL;
	}
	if (r < 0 && r != -ENOENT)
		return r;
	rh_buf_cleanse(&text);
	if (r == 0 && !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return rh_err_set(err, EINVAL, "%s: not a JSON object; not "
		                  "overwritten", path);
	}
	if (o == NULL)
		o = cJSON_CreateObject();
	for (i = 0; i < 4 && p->keys[i].key; i++) {
		if ((v = fields_get(f, p->keys[i].field)) == NULL)
			continue;
		cJSON_DeleteItemFromObjectCaseSensitive(o, p->keys[i].key);
		cJSON_AddStringToObject(o, p->keys[i].key, v->data);
	}
	out = rh_json_print(o, 1);
	r = write_cred(path, out, strlen(out), 0600, err);
	OPENSSL_cleanse(out, strlen(out));
	free(out);
	for (it = o->child; it != NULL; it = it->next)
		if (cJSON_IsString(it))
			OPENSSL_cleanse(it->valuestring,
			                strlen(it->valuestring));
	cJSON_Delete(o);
	return r;
}

/* gh's hosts.yml: HOST: {oauth_token: ..., user: ...} (libyaml). */

static yaml_node_t *
yaml_map_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t *pair;
	yaml_node_t *k;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start;
	     pair < map->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(d, pair->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    strlen(key) == k->data.scalar.length &&
		    memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
			return yaml_document_get_node(d, pair->value);
	}
	return NULL;
}

static int
yaml_load_text(const struct rh_buf *text, yaml_document_t *doc,
               const char *path, struct rh_err *err)
{
	yaml_parser_t parser;
	int ok;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text->data,
	                             text->len);
	ok = yaml_parser_load(&parser, doc);
	yaml_parser_delete(&parser);
	if (!ok)
		return rh_err_set(err, EINVAL, "%s: malformed YAML", path);
	return 0;
}

static int
yaml_extract(const struct provider *p, const char *path, struct fields *f,
             struct rh_err *err)
{
	struct rh_buf text = { 0 };
	yaml_document_t doc;
	yaml_node_t *host, *v;
	int i, r;

	if ((r = read_cred(path, &text, err)) < 0)
		return r;
	r = yaml_load_text(&text, &doc, path, err);
	rh_buf_cleanse(&text);
	if (r < 0)
		return r;
	host = yaml_map_get(&doc, yaml_document_get_root_node(&doc),
	                    p->section);
	for (i = 0; i < 4 && p->keys[i].key; i++) {
		v = yaml_map_get(&doc, host, p->keys[i].key);
		if (v != NULL && v->type == YAML_SCALAR_NODE)
			fields_add(f, p->keys[i].field,
			           (const char *)v->data.scalar.value,
			           v->data.scalar.length);
	}
	yaml_document_delete(&doc);
	return f->n ? 0 : rh_err_set(err, ENOENT, "%s: no %s token in it",
	                             path, p->section);
}

/* A scalar of a constant string (libyaml takes non-const bytes). */
static int
yaml_add_str(yaml_document_t *d, const char *str)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", str);
	return yaml_document_add_scalar(d, NULL, (yaml_char_t *)buf, -1,
	                                YAML_ANY_SCALAR_STYLE);
}

static int
yaml_write_out(void *data, unsigned char *buf, size_t size)
{
	rh_buf_append(data, buf, size);
	return 1;
}

/* What copy_map copies with: in the mapping of host, values of keys the
 * fields hold are replaced, and missing ones added. */
struct yaml_edit {
	const struct provider *p;
	const struct fields *f;
	int is_host;            /* this mapping is the host's */
};

/* A mapping of src copied into dst (block style, as gh writes it and for
 * a new file), edited as ed says; the new index or 0. */
static int
copy_map(yaml_document_t *dst, yaml_document_t *src, int idx, void *arg)
{
	const struct yaml_edit *ed = arg;
	const struct provider *p = ed->p;
	const struct fields *f = ed->f;
	struct yaml_edit plain = { p, f, 0 }, child = { p, f, 0 };
	yaml_node_t *n = yaml_document_get_node(src, idx), *k, *val;
	yaml_node_pair_t *pr;
	const struct rh_buf *v;
	int out, kk, vv, i, is_host = ed->is_host;
	int done[4] = { 0 };

	out = yaml_document_add_mapping(dst, n->tag, YAML_BLOCK_MAPPING_STYLE);
	for (pr = n->data.mapping.pairs.start;
	     pr < n->data.mapping.pairs.top; pr++) {
		k = yaml_document_get_node(src, pr->key);
		val = yaml_document_get_node(src, pr->value);
		if (k == NULL || val == NULL)
			return 0;
		v = NULL;
		for (i = 0; is_host && i < 4 && p->keys[i].key; i++)
			if (k->type == YAML_SCALAR_NODE &&
			    k->data.scalar.length == strlen(p->keys[i].key) &&
			    memcmp(k->data.scalar.value, p->keys[i].key,
			           k->data.scalar.length) == 0 &&
			    (v = fields_get(f, p->keys[i].field)))
				done[i] = 1;
		kk = rh_yaml_copy(dst, src, pr->key, copy_map, &plain);
		child.is_host = idx == 1 && k->type == YAML_SCALAR_NODE &&
		                val->type == YAML_MAPPING_NODE &&
		                strcmp((char *)k->data.scalar.value,
		                       p->section) == 0;
		vv = v ? yaml_document_add_scalar(dst, NULL,
		                                  (yaml_char_t *)v->data,
		                                  (int)v->len,
		                                  YAML_ANY_SCALAR_STYLE) :
		     rh_yaml_copy(dst, src, pr->value, copy_map, &child);
		if (!kk || !vv ||
		    !yaml_document_append_mapping_pair(dst, out, kk, vv))
			return 0;
	}
	for (i = 0; is_host && i < 4 && p->keys[i].key; i++) {
		if (done[i] || !(v = fields_get(f, p->keys[i].field)))
			continue;
		kk = yaml_add_str(dst, p->keys[i].key);
		vv = yaml_document_add_scalar(dst, NULL,
		                              (yaml_char_t *)v->data,
		                              (int)v->len,
		                              YAML_ANY_SCALAR_STYLE);
		if (!yaml_document_append_mapping_pair(dst, out, kk, vv))
			return 0;
	}
	return out;
}

static int
yaml_download(const struct provider *p, const char *path,
              const struct fields *f, struct rh_err *err)
{
	static const char empty[] = "{}\n";
	struct rh_buf text = { 0 }, out = { 0 };
	yaml_document_t src, dst;
	yaml_emitter_t em;
	yaml_node_t *root;
	int r, ok, host;

	r = read_cred(path, &text, err);
	if (r == -ENOENT)
		rh_buf_append(&text, empty, sizeof(empty) - 1);
	else if (r < 0)
		return r;
	r = yaml_load_text(&text, &src, path, err);
	rh_buf_cleanse(&text);
	if (r < 0)
		return r;
	root = yaml_document_get_root_node(&src);
	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		yaml_document_delete(&src);
		return rh_err_set(err, EINVAL, "%s: not a YAML mapping; not "
		                  "overwritten", path);
	}
	yaml_document_initialize(&dst, NULL, NULL, NULL, 1, 1);
	ok = rh_yaml_copy(&dst, &src, 1, copy_map,
	                  &(struct yaml_edit){ p, f, 0 }) != 0;
	if (ok && yaml_map_get(&src, root, p->section) == NULL) {
		/* the host is new: HOST: {keys} */
		int m = yaml_document_add_mapping(&dst, NULL,
		                                  YAML_BLOCK_MAPPING_STYLE);
		const struct rh_buf *v;
		int i, kk, vv;

		host = yaml_add_str(&dst, p->section);
		for (i = 0; i < 4 && p->keys[i].key; i++) {
			if (!(v = fields_get(f, p->keys[i].field)))
				continue;
			kk = yaml_add_str(&dst, p->keys[i].key);
			vv = yaml_document_add_scalar(&dst, NULL,
			        (yaml_char_t *)v->data, (int)v->len,
			        YAML_ANY_SCALAR_STYLE);
			ok = ok && yaml_document_append_mapping_pair(&dst, m,
			                                             kk, vv);
		}
		ok = ok && yaml_document_append_mapping_pair(&dst, 1, host, m);
	}
	yaml_document_delete(&src);
	if (ok) {
		yaml_emitter_initialize(&em);
		yaml_emitter_set_output(&em, yaml_write_out, &out);
		yaml_emitter_set_unicode(&em, 1);
		/* dump deletes dst */
		ok = yaml_emitter_open(&em) && yaml_emitter_dump(&em, &dst) &&
		     yaml_emitter_close(&em);
		yaml_emitter_delete(&em);
	} else {
		yaml_document_delete(&dst);
	}
	if (!ok)
		r = rh_err_set(err, EIO, "%s: cannot write the YAML", path);
	else
		r = write_cred(path, out.data, out.len, 0600, err);
	rh_buf_cleanse(&out);
	return r;
}

static const struct provider providers[] = {
	{ "aws", "~/.aws/credentials", ini_extract, ini_download, "default",
	  { { "aws_access_key_id", "access_key" },
	    { "aws_secret_access_key", "secret_key" },
	    { "aws_session_token", "session_token" } } },
	{ "gcp", "~/.config/gcloud/application_default_credentials.json",
	  json_extract, json_download, NULL,
	  { { "client_id", "client_id" }, { "client_secret", "client_secret" },
	    { "refresh_token", "refresh_token" } } },
	{ "azure", "~/.azure/clouds.config", ini_extract, ini_download,
	  "AzureCloud", { { "subscription", "subscription_id" } } },
	{ "huggingface", "~/.cache/huggingface/token", file_extract,
	  file_download, NULL, { { "token", "token" } } },
	{ "github", "~/.config/gh/hosts.yml", yaml_extract, yaml_download,
	  "github.com", { { "oauth_token", "oauth_token" } } },
	{ "lambda", "~/.lambda_cloud/lambda_keys", ini_extract, ini_download,
	  NULL, { { "api_key", "api_key" } } },
	{ "ssh", "~/.ssh/id_ed25519", pair_extract, pair_download, NULL,
	  { { NULL, NULL } } },
	{ "sky", "~/.ssh/sky-key", pair_extract, pair_download, NULL,
	  { { NULL, NULL } } },
};
#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

/* Any other name: a file given by the secret's "path" is its one field
 * "value". */
static const struct provider custom = {
	"custom", NULL, file_extract, file_download, NULL,
	{ { "value", "value" } }
};

static const struct provider *
provider_find(const char *name)
{
	size_t i;

	for (i = 0; i < NPROVIDERS; i++)
		if (strcmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}

/* Where the secrets go: the user's folder in the shared namespace when
 * logged in, else (or with --local) the local RNS (~) of the workdir. */
struct where {
	struct rh_store *store;
	char *workdir;
	struct rh_remote *rm;           /* owns store when set */
	struct rh_secret_remote *sr;
};

static int
remote_open(struct rh_login *l, struct where *w, struct rh_err *err)
{
	struct rh_remote_opts o;
	int r;

	memset(&o, 0, sizeof(o));
	o.login = l;
	if ((r = rh_remote_new(&o, &w->rm, err)) < 0)
		return r;
	if ((r = rh_remote_store(w->rm, l->user, &w->store)) < 0)
		r = rh_err_set(err, -r, "/%s: cannot reach the user's folder "
		               "in etcd: %s", l->user, strerror(-r));
	else if ((r = rh_secret_remote_new(l, &w->sr, err)) == 0)
		return 0;
	rh_remote_free(w->rm);
	w->rm = NULL;
	w->store = NULL;
	return r;
}

static int
value_put(struct where *w, const char *path, const char *field,
          const struct rh_buf *v, struct rh_err *err)
{
	char *addr;
	int r;

	if (w->sr == NULL)
		return rh_secret_local_put(path, field, v->data, v->len, err);
	addr = rh_address(w->store->prefix, path);
	err->msg[0] = '\0';
	r = rh_secret_remote_put(w->sr, addr, field, v->data, v->len, err);
	free(addr);
	return r;
}

static int
value_get(struct where *w, const char *path, const char *field,
          struct rh_buf *out, struct rh_err *err)
{
	char *addr;
	int r;

	if (w->sr == NULL)
		return rh_secret_local_get(path, field, out, NULL, err);
	addr = rh_address(w->store->prefix, path);
	r = rh_secret_remote_get(w->sr, addr, field, out, err);
	free(addr);
	return r;
}

static int
where_open(const char *workdir, struct where *w, struct rh_err *err)
{
	char cwd[PATH_MAX];
	struct rh_login l;
	struct rh_err e;

	int r;

	memset(w, 0, sizeof(*w));
	if (workdir == NULL && rh_login_load(&l, &e) == 0) {
		r = remote_open(&l, w, err);
		rh_login_free(&l);
		return r;
	}
	if (workdir != NULL && strcmp(workdir, "") != 0) {
		w->workdir = xstrdup(workdir);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return rh_err_set(err, errno, "getcwd: %s",
			                  strerror(errno));
		w->workdir = rh_workdir_find(cwd, getenv("HOME"));
	}
	if ((w->store = rh_store_local_new(w->workdir)) == NULL) {
		rh_err_set(err, EIO, "%s: cannot open its local RNS",
		           w->workdir);
		free(w->workdir);
		return -EIO;
	}
	return 0;
}

static void
where_close(struct where *w)
{
	if (w->rm != NULL) {
		rh_secret_remote_free(w->sr);
		rh_remote_free(w->rm);
	} else {
		rh_store_free(w->store);
	}
	free(w->workdir);
}

/* The secret's config, or NULL. */
static cJSON *
secret_config(struct rh_store *s, const char *path)
{
	struct rh_buf b = { 0 };
	cJSON *cfg = NULL;
	const cJSON *t;

	if (s->ops->get(s, path, &b, NULL) == 0)
		cfg = rh_json_parse(b.data, b.len, path, NULL);
	rh_buf_free(&b);
	t = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	if (cfg != NULL &&
	    (!cJSON_IsString(t) || strcmp(t->valuestring, "secret") != 0)) {
		cJSON_Delete(cfg);
		return NULL;
	}
	return cfg;
}

/* Store the fields as the secret secrets/NAME: values first, then the
 * config that lists them (keeping what it held). */
static int
save(struct where *w, const char *name, const char *provider,
     const char *credpath, const struct fields *f, struct rh_err *err)
{
	struct rh_store *s = w->store;
	char *path = xasprintf("%s/%s", FOLDER, name), *text;
	cJSON *cfg = secret_config(s, path), *list;
	const cJSON *old;
	size_t i;
	int r;

	if ((r = s->ops->mkdir(s, FOLDER)) < 0 && r != -EEXIST)
		goto fail;
	if ((r = s->ops->mkdir(s, path)) < 0 && r != -EEXIST)
		goto fail;
	for (i = 0; i < f->n; i++)
		if ((r = value_put(w, path, f->name[i], &f->value[i],
		                   err)) < 0)
			goto out;
	if (cfg == NULL) {
		cfg = cJSON_CreateObject();
		cJSON_AddStringToObject(cfg, "resource_type", "secret");
		cJSON_AddStringToObject(cfg, "resource_subtype",
		                        "ProviderSecret");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(cfg, "provider");
	cJSON_AddStringToObject(cfg, "provider", provider);
	if (credpath != NULL) {
		cJSON_DeleteItemFromObjectCaseSensitive(cfg, "path");
		cJSON_AddStringToObject(cfg, "path", credpath);
	}
	list = cJSON_CreateArray();
	cJSON_ArrayForEach(old, cJSON_GetObjectItemCaseSensitive(cfg, "fields"))
		if (cJSON_IsString(old))
			cJSON_AddItemToArray(list,
			                     cJSON_CreateString(old->valuestring));
	for (i = 0; i < f->n; i++) {
		int have = 0;

		cJSON_ArrayForEach(old, list)
			have |= strcmp(old->valuestring, f->name[i]) == 0;
		if (!have)
			cJSON_AddItemToArray(list,
			                     cJSON_CreateString(f->name[i]));
	}
	cJSON_DeleteItemFromObjectCaseSensitive(cfg, "fields");
	cJSON_AddItemToObject(cfg, "fields", list);
	text = rh_json_pretty(cfg);
	r = rh_store_put_config(s, path, text, strlen(text), 0, err);
	free(text);
	goto out;
fail:
	rh_err_set(err, -r, "%s/%s: %s", s->prefix, path, strerror(-r));
out:
	cJSON_Delete(cfg);
	free(path);
	return r;
}

/* The values of secrets/NAME, and its config. */
static int
load(struct where *w, const char *name, cJSON **cfg, struct fields *f,
     struct rh_err *err)
{
	struct rh_store *s = w->store;
	char *path = xasprintf("%s/%s", FOLDER, name);
	struct rh_buf v = { 0 };
	const cJSON *fl;
	int r = 0;

	if ((*cfg = secret_config(s, path)) == NULL) {
		r = rh_err_set(err, ENOENT, "%s/%s: no such secret (rh secrets "
		               "extract makes it)", s->prefix, path);
		goto out;
	}
	cJSON_ArrayForEach(fl, cJSON_GetObjectItemCaseSensitive(*cfg,
	                                                        "fields")) {
		if (!cJSON_IsString(fl))
			continue;
		r = value_get(w, path, fl->valuestring, &v, err);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		fields_add(f, fl->valuestring, v.data, v.len);
		rh_buf_cleanse(&v);
	}
	if (r < 0) {
		cJSON_Delete(*cfg);
		*cfg = NULL;
	}
out:
	free(path);
	return r;
}

static int
extract_one(struct where *w, const char *name, int explicit)
{
	const struct provider *p = provider_find(name);
	struct fields f = { { NULL }, { { NULL, 0, 0 } }, 0 };
	char *spath = xasprintf("%s/%s", FOLDER, name);
	const char *credpath;
	struct rh_err err;
	cJSON *cfg = NULL;
	int r;

	err.msg[0] = '\0';
	if (p == NULL) {
		/* a custom secret: its config says which file */
		cfg = secret_config(w->store, spath);
		if ((credpath = rh_json_str(cfg, "path")) == NULL) {
			r = rh_err_set(&err, ENOENT, "%s: not a known provider, "
			               "and no secret %s/%s with a \"path\" to "
			               "read", name, w->store->prefix, spath);
			goto out;
		}
		p = &custom;
	} else {
		credpath = p->path;
	}
	r = p->extract(p, credpath, &f, &err);
	if (r == -ENOENT && !explicit) {
		r = 0;          /* not set up on this machine: nothing to do */
		goto out;
	}
	if (r == 0)
		r = save(w, name, p == &custom && rh_json_str(cfg,
		         "provider") ? rh_json_str(cfg, "provider") : name,
		         credpath, &f, &err);
	if (r == 0)
		printf("%s: %zu field%s from %s into %s/%s\n", name, f.n,
		       f.n == 1 ? "" : "s", credpath, w->store->prefix, spath);
out:
	if (r < 0)
		cmd_fail("secrets extract", "%s", err.msg);
	fields_free(&f);
	cJSON_Delete(cfg);
	free(spath);
	return r;
}

static int
download_one(struct where *w, const char *name)
{
	const struct provider *p;
	struct fields f = { { NULL }, { { NULL, 0, 0 } }, 0 };
	const char *credpath, *prov;
	struct rh_err err;
	cJSON *cfg = NULL;
	int r;

	err.msg[0] = '\0';
	if ((r = load(w, name, &cfg, &f, &err)) < 0)
		goto out;
	prov = rh_json_str(cfg, "provider");
	p = provider_find(prov ? prov : name);
	if (p == NULL)
		p = &custom;
	if ((credpath = rh_json_str(cfg, "path")) == NULL)
		credpath = p->path;
	if (credpath == NULL) {
		r = rh_err_set(&err, EINVAL, "%s/%s/%s: no \"path\" to write "
		               "it to", w->store->prefix, FOLDER, name);
		goto out;
	}
	if ((r = p->download(p, credpath, &f, &err)) == 0)
		printf("%s: %zu field%s from %s/%s/%s into %s\n", name, f.n,
		       f.n == 1 ? "" : "s", w->store->prefix, FOLDER, name,
		       credpath);
out:
	if (r < 0)
		cmd_fail("secrets download", "%s", err.msg);
	fields_free(&f);
	cJSON_Delete(cfg);
	return r;
}

struct names {
	char **v;
	size_t n;
};

static int
collect(void *arg, const char *name, enum rh_kind kind)
{
	struct names *ns = arg;

	if (kind == RH_RESOURCE) {
		ns->v = xrealloc(ns->v, (ns->n + 1) * sizeof(*ns->v));
		ns->v[ns->n++] = xstrdup(name);
	}
	return 0;
}

int
cmd_secrets(int argc, char *argv[])
{
	const char *workdir = NULL, *verb;
	struct names ns = { NULL, 0 };
	struct rh_err err;
	struct where w;
	size_t i;
	int a = 1, failed = 0, r;

	for (; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "--local") == 0)
			workdir = "";
		else if (strcmp(argv[a], "--workdir") == 0 && a + 1 < argc)
			workdir = argv[++a];
		else
			return cmd_usage("secrets");
	}
	if (a >= argc)
		return cmd_usage("secrets");
	verb = argv[a++];
	if (strcmp(verb, "extract") != 0 && strcmp(verb, "download") != 0)
		return cmd_usage("secrets");
	for (i = (size_t)a; i < (size_t)argc; i++)
		if (rh_name_check(argv[i], &err) < 0)
			return cmd_fail("secrets", "'%s': %s", argv[i],
			                err.msg);
	if (where_open(workdir, &w, &err) < 0)
		return cmd_fail("secrets", "%s", err.msg);
	if (strcmp(verb, "extract") == 0) {
		if (a < argc)
			for (; a < argc; a++)
				failed |= extract_one(&w, argv[a], 1) < 0;
		else
			for (i = 0; i < NPROVIDERS; i++)
				failed |= extract_one(&w, providers[i].name,
				                      0) < 0;
	} else {
		if (a < argc) {
			for (; a < argc; a++)
				failed |= download_one(&w, argv[a]) < 0;
		} else {
			r = w.store->ops->list(w.store, FOLDER, collect, &ns);
			if (r < 0 && r != -ENOENT)
				failed = cmd_fail("secrets download", "%s/%s: %s",
				                  w.store->prefix, FOLDER,
				                  strerror(-r));
			for (i = 0; i < ns.n; i++) {
				failed |= download_one(&w, ns.v[i]) < 0;
				free(ns.v[i]);
			}
			free(ns.v);
		}
	}
	where_close(&w);
	return failed ? 1 : 0;
}

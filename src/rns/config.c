/* config.c - ~/.rh/config.yaml with libyaml. Runhouse's keys (token,
 * username, default_folder, default_provider, default_autostop, use_spot)
 * and rhfs's own (rns_url, ...) are top-level scalars; every other key,
 * whatever its value, is kept as loaded and written back unchanged. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "base.h"
#include "rns.h"

struct entry {
	char *key;
	char *value;            /* scalar value; NULL when node is used */
	int node;               /* index in the loaded document, or 0 */
};

struct rh_config {
	char *path;
	yaml_document_t doc;    /* as loaded, for values we do not interpret */
	int have_doc;
	struct entry *entries;
	size_t n;
};

char *
rh_config_default_path(void)
{
	const char *env = getenv("RH_CONFIG"), *home = getenv("HOME");

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	return xasprintf("%s/.rh/config.yaml", home ? home : "");
}

/* size: of the file, to know when libyaml failed at its end. */
static int
yaml_fail(const char *path, const yaml_parser_t *p, off_t size,
          struct rh_err *err)
{
	size_t line = (size_t)p->problem_mark.line + 1;

	/* At the end of the file libyaml's mark is on a line past the last
	 * one; what was left open (a "[", a quote) started at the context
	 * mark, else the last line is the one to look at. */
	if (size > 0 && p->problem_mark.index >= (size_t)size &&
	    p->problem_mark.line > 0)
		line = p->context ? (size_t)p->context_mark.line + 1 :
		                    (size_t)p->problem_mark.line;
	return rh_err_set(err, EINVAL, "%s:%zu: %s%s%s", path, line,
	                  p->problem ? p->problem : "malformed YAML",
	                  p->context ? " " : "", p->context ? p->context : "");
}

static void
add_entry(struct rh_config *c, const char *key, char *value, int node)
{
	c->entries = xrealloc(c->entries, (c->n + 1) * sizeof(*c->entries));
	c->entries[c->n].key = xstrdup(key);
	c->entries[c->n].value = value;
	c->entries[c->n].node = node;
	c->n++;
}

/* Whether text, as a plain scalar, is YAML's null. */
static int
is_null_text(const char *v)
{
	return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int
is_null_scalar(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       is_null_text((const char *)n->data.scalar.value);
}

static int
read_doc(struct rh_config *c, struct rh_err *err)
{
	yaml_node_t *root = yaml_document_get_root_node(&c->doc), *k, *v;
	yaml_node_pair_t *pair;

	if (root == NULL)
		return 0;       /* empty file */
	if (root->type == YAML_SCALAR_NODE && is_null_scalar(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return rh_err_set(err, EINVAL, "%s:%zu: expected a mapping of "
		                  "keys to values", c->path,
		                  (size_t)root->start_mark.line + 1);
	for (pair = root->data.mapping.pairs.start;
	     pair < root->data.mapping.pairs.top; pair++) {
		k = yaml_document_get_node(&c->doc, pair->key);
		v = yaml_document_get_node(&c->doc, pair->value);
		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE)
			return rh_err_set(err, EINVAL, "%s:%zu: keys must be "
			                  "plain names", c->path,
			                  k ? (size_t)k->start_mark.line + 1 : 1);
		if (v->type == YAML_SCALAR_NODE)
			add_entry(c, (const char *)k->data.scalar.value,
			          is_null_scalar(v) ? NULL :
			          xstrdup((const char *)v->data.scalar.value),
			          pair->value);
		else
			add_entry(c, (const char *)k->data.scalar.value, NULL,
			          pair->value);
	}
	return 0;
}

int
rh_config_load(const char *path, struct rh_config **out,
               struct rh_err *err)
{
	struct rh_config *c = xcalloc(1, sizeof(*c));
	yaml_parser_t parser;
	struct stat st;
	FILE *f;
	int r = 0;

	*out = NULL;
	c->path = xstrdup(path);
	if ((f = fopen(path, "rb")) == NULL) {
		if (errno == ENOENT) {
			*out = c;
			return 0;
		}
		r = rh_err_set(err, errno, "%s: %s", path, strerror(errno));
		rh_config_free(c);
		return r;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &c->doc))
		r = yaml_fail(path, &parser,
		              fstat(fileno(f), &st) == 0 ? st.st_size : 0, err);
	else
		c->have_doc = 1;
	yaml_parser_delete(&parser);
	fclose(f);
	if (r == 0)
		r = read_doc(c, err);
	if (r < 0) {
		rh_config_free(c);
		return r;
	}
	*out = c;
	return 0;
}

static struct entry *
find(const struct rh_config *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].key, key) == 0)
			return &c->entries[i];
	return NULL;
}

const char *
rh_config_get(const struct rh_config *c, const char *key)
{
	const struct entry *e = find(c, key);

	return e ? e->value : NULL;
}

void
rh_config_set(struct rh_config *c, const char *key, const char *value)
{
	struct entry *e = find(c, key);

	if (e == NULL) {
		add_entry(c, key, value ? xstrdup(value) : NULL, 0);
		return;
	}
	free(e->value);
	e->value = value ? xstrdup(value) : NULL;
	e->node = 0;
}

/* Drop key: it is not written back (rh logout). */
void
rh_config_unset(struct rh_config *c, const char *key)
{
	struct entry *e = find(c, key);
	size_t i;

	if (e == NULL)
		return;
	i = (size_t)(e - c->entries);
	free(e->key);
	free(e->value);
	memmove(e, e + 1, (c->n - i - 1) * sizeof(*e));
	c->n--;
}

int
rh_yaml_copy(yaml_document_t *dst, yaml_document_t *src, int idx,
             rh_yaml_map_fn map, void *arg)
{
	yaml_node_t *n = yaml_document_get_node(src, idx);
	yaml_node_item_t *it;
	yaml_node_pair_t *p;
	int out, k, v;

	if (n == NULL)
		return 0;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return yaml_document_add_scalar(dst, n->tag,
		                                n->data.scalar.value,
		                                (int)n->data.scalar.length,
		                                n->data.scalar.style);
	case YAML_SEQUENCE_NODE:
		out = yaml_document_add_sequence(dst, n->tag,
		                                 n->data.sequence.style);
		for (it = n->data.sequence.items.start;
		     out && it < n->data.sequence.items.top; it++) {
			if (!(v = rh_yaml_copy(dst, src, *it, map, arg)) ||
			    !yaml_document_append_sequence_item(dst, out, v))
				return 0;
		}
		return out;
	case YAML_MAPPING_NODE:
		if (map != NULL)
			return map(dst, src, idx, arg);
		out = yaml_document_add_mapping(dst, n->tag,
		                                n->data.mapping.style);
		for (p = n->data.mapping.pairs.start;
		     out && p < n->data.mapping.pairs.top; p++) {
			if (!(k = rh_yaml_copy(dst, src, p->key, NULL, NULL)) ||
			    !(v = rh_yaml_copy(dst, src, p->value, NULL, NULL)) ||
			    !yaml_document_append_mapping_pair(dst, out, k, v))
				return 0;
		}
		return out;
	default:
		return 0;
	}
}

static int
emit_out(void *data, unsigned char *buffer, size_t size)
{
	rh_buf_append(data, buffer, size);
	return 1;
}

/* Whether s is UTF-8 text: libyaml writes some invalid sequences as
 * escapes that it cannot read back. */
static int
is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), n;

	for (; len > 0; p += n, len -= n)
		if ((n = rh_utf8_len(p, len)) == 0)
			return 0;
	return 1;
}

int
rh_config_save(struct rh_config *c, struct rh_err *err)
{
	static char null[] = "null";
	yaml_document_t doc;
	yaml_emitter_t em;
	struct rh_buf text = { 0 };
	char *dir, *slash;
	int root, k, v, r = 0;
	size_t i;

	/* (what was loaded is written back as it was read) */
	for (i = 0; i < c->n; i++)
		if (c->entries[i].value != NULL && c->entries[i].node == 0 &&
		    !is_utf8(c->entries[i].value))
			return rh_err_set(err, EINVAL, "%s: the value of '%s' is "
			                  "not UTF-8 text", c->path,
			                  c->entries[i].key);
	yaml_document_initialize(&doc, NULL, NULL, NULL, 0, 1);
	root = yaml_document_add_mapping(&doc, NULL, YAML_BLOCK_MAPPING_STYLE);
	for (i = 0; i < c->n; i++) {
		const struct entry *e = &c->entries[i];

		k = yaml_document_add_scalar(&doc, NULL,
		                             (yaml_char_t *)e->key, -1,
		                             YAML_ANY_SCALAR_STYLE);
		if (e->node && c->have_doc)
			v = rh_yaml_copy(&doc, &c->doc, e->node, NULL, NULL);
		else    /* a value that reads as null when plain: quoted */
			v = yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)
			                             (e->value ? e->value : null),
			                             -1, e->value &&
			                             is_null_text(e->value) ?
			                             YAML_DOUBLE_QUOTED_SCALAR_STYLE :
			                             YAML_ANY_SCALAR_STYLE);
		if (!k || !v ||
		    !yaml_document_append_mapping_pair(&doc, root, k, v)) {
			yaml_document_delete(&doc);
			return rh_err_set(err, ENOMEM, "%s: cannot build YAML",
			                  c->path);
		}
	}
	yaml_emitter_initialize(&em);
	yaml_emitter_set_output(&em, emit_out, &text);
	yaml_emitter_set_unicode(&em, 1);
	if (!yaml_emitter_open(&em) || !yaml_emitter_dump(&em, &doc) ||
	    !yaml_emitter_close(&em))
		r = rh_err_set(err, EIO, "%s: cannot write YAML: %s", c->path,
		               em.problem ? em.problem : "emitter error");
	yaml_emitter_delete(&em);
	if (r < 0) {
		rh_buf_free(&text);
		return r;
	}

	/* Credentials live here: 0600, replaced atomically. */
	dir = xstrdup(c->path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	free(dir);
	if ((r = rh_file_replace(c->path, text.data, text.len, 0600, 1)) < 0)
		rh_err_set(err, -r, "%s: %s", c->path, strerror(-r));
	rh_buf_free(&text);
	return r;
}

void
rh_config_free(struct rh_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->entries[i].key);
		free(c->entries[i].value);
	}
	free(c->entries);
	if (c->have_doc)
		yaml_document_delete(&c->doc);
	free(c->path);
	free(c);
}

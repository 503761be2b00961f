/* json.c - the one way JSON comes in: cJSON parses, and a check over the
 * input bytes and the tree refuses what Python's json (Runhouse) would
 * read differently or not at all, so that what rhfs accepts means the
 * same on both sides.
 *
 * cJSON alone accepts raw control characters and invalid UTF-8 in
 * strings, cuts a string at \u0000, keeps every duplicate key (and finds
 * the first where Python keeps the last), takes any byte below 0x21 as
 * whitespace, reads 01 and 1. as numbers, and prints 1e999 as null, 1.0
 * as 1 and 2^53+1 as 2^53. So: a scan over the bytes judges strings,
 * numbers and what lies between tokens; cJSON builds the tree; a walk
 * over the tree, in the order the tokens came, names the field at fault,
 * finds duplicate keys and keeps each number's own text, which
 * rh_json_print and rh_json_pretty write back unchanged. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

/* A fault the byte scan found: in the n-th string or number token, or
 * (tok < 0) between tokens at byte off. */
struct fault {
	int kind;               /* 0: none */
	long tok;
	size_t off;
	unsigned byte;
};

enum { F_NONE, F_CTRL, F_UTF8, F_NUL, F_NUMBER, F_BYTE, F_BOM };

struct scan {
	const char *data;
	size_t len;
	/* the number tokens, in order */
	size_t *num_off, *num_len;
	size_t nnum, cap;
	long nstr;
	struct fault str_fault, num_fault, gap_fault;
};

size_t
rh_utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len, i;
	unsigned lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static void
fault_set(struct fault *f, int kind, long tok, size_t off, unsigned byte)
{
	if (f->kind != F_NONE)
		return;
	f->kind = kind;
	f->tok = tok;
	f->off = off;
	f->byte = byte;
}

/* One string token from the quote at s->data[i]; returns the index after
 * its closing quote (len if it has none: cJSON then refuses the text). */
static size_t
scan_string(struct scan *s, size_t i)
{
	const unsigned char *d = (const unsigned char *)s->data;
	long tok = s->nstr++;
	size_t n;

	for (i++; i < s->len; i++) {
		if (d[i] == '"')
			return i + 1;
		if (d[i] < 0x20) {
			fault_set(&s->str_fault, F_CTRL, tok, i, d[i]);
		} else if (d[i] == '\\') {
			if (i + 5 < s->len && d[i + 1] == 'u' &&
			    memcmp(d + i + 2, "0000", 4) == 0)
				fault_set(&s->str_fault, F_NUL, tok, i, 0);
			i++;
		} else if (d[i] >= 0x80) {
			if ((n = rh_utf8_len(d + i, s->len - i)) == 0)
				fault_set(&s->str_fault, F_UTF8, tok, i, d[i]);
			else
				i += n - 1;
		}
	}
	return i;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* JSON's number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
number_ok(const char *p, size_t n)
{
	const char *e = p + n;

	if (p < e && *p == '-')
		p++;
	if (p == e || !is_digit(*p))
		return 0;
	if (*p++ == '0' && p < e && is_digit(*p))
		return 0;
	while (p < e && is_digit(*p))
		p++;
	if (p < e && *p == '.') {
		if (++p == e || !is_digit(*p))
			return 0;
		while (p < e && is_digit(*p))
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || !is_digit(*p))
			return 0;
		while (p < e && is_digit(*p))
			p++;
	}
	return p == e;
}

/* A number token: the run of characters cJSON hands to strtod. */
static size_t
scan_number(struct scan *s, size_t i)
{
	size_t start = i;

	while (i < s->len && (is_digit(s->data[i]) ||
	                      strchr("+-.eE", s->data[i]) != NULL) &&
	       s->data[i] != '\0')
		i++;
	if (!number_ok(s->data + start, i - start))
		fault_set(&s->num_fault, F_NUMBER, (long)s->nnum, start, 0);
	if (s->nnum == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->num_off = xrealloc(s->num_off, s->cap * sizeof(size_t));
		s->num_len = xrealloc(s->num_len, s->cap * sizeof(size_t));
	}
	s->num_off[s->nnum] = start;
	s->num_len[s->nnum++] = i - start;
	return i;
}

static void
scan_bytes(struct scan *s)
{
	size_t i = 0;
	char c;

	if (s->len >= 3 && memcmp(s->data, "\xef\xbb\xbf", 3) == 0)
		fault_set(&s->gap_fault, F_BOM, -1, 0, 0xef);
	while (i < s->len) {
		c = s->data[i];
		if (c == '"')
			i = scan_string(s, i);
		else if (c == '-' || is_digit(c))
			i = scan_number(s, i);
		else if (c != '\0' && (strchr(" \t\r\n{}[],:", c) != NULL ||
		                       (c >= 'a' && c <= 'z')))
			i++;    /* letters: cJSON judges true, false, null */
		else {
			fault_set(&s->gap_fault, F_BYTE, -1, i,
			          (unsigned char)c);
			i++;
		}
	}
}

/* " (line N)" for text of several lines, else "" */
static const char *
line_of(const char *data, size_t len, size_t off, char *buf, size_t size)
{
	size_t line = 1, i;

	if (memchr(data, '\n', len) == NULL)
		return "";
	for (i = 0; i < off && i < len; i++)
		line += data[i] == '\n';
	snprintf(buf, size, " (line %zu)", line);
	return buf;
}

/* The walk over the tree: tokens are met in the order the scan saw them. */
struct walk {
	struct scan *s;
	const char *what;
	const cJSON **at;       /* the values from the top to the one met */
	size_t depth, cap;
	struct rh_buf path;     /* path_of's text */
	long nstr;
	size_t nnum;
	struct rh_err *err;
};

static void
walk_push(struct walk *w, const cJSON *v)
{
	if (w->depth == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->at = xrealloc(w->at, w->cap * sizeof(*w->at));
	}
	w->at[w->depth++] = v;
}

/* The path of the value met (a.b[2].c), written for a message only. */
static const char *
path_of(struct walk *w)
{
	const cJSON *c;
	size_t d, i;

	rh_buf_truncate(&w->path, 0);
	for (d = 1; d < w->depth; d++) {
		if (cJSON_IsArray(w->at[d - 1])) {
			i = 0;
			for (c = w->at[d - 1]->child; c != w->at[d];
			     c = c->next)
				i++;
			rh_buf_printf(&w->path, "[%zu]", i);
		} else {
			rh_buf_printf(&w->path, "%s%s", w->path.len ? "." : "",
			              w->at[d]->string);
		}
	}
	return w->path.len ? w->path.data : "(top level)";
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Up to this many keys, an object's keys are compared pair by pair. */
#define DUPS_PAIRWISE 24

static int
check_dups(struct walk *w, const cJSON *o)
{
	const cJSON *c, *d;
	const char **keys;
	size_t n = 0, i;
	int r = 0;

	cJSON_ArrayForEach(c, o)
		n++;
	if (n < 2)
		return 0;
	/* a small object, as most are (a call's record, a request): each
	 * pair, with no allocation and no sort */
	if (n <= DUPS_PAIRWISE) {
		for (c = o->child; c != NULL; c = c->next)
			for (d = c->next; d != NULL; d = d->next)
				if (c->string[0] == d->string[0] &&
				    strcmp(c->string, d->string) == 0)
					return rh_err_set(w->err, EINVAL,
					                  "%s: '%s': key '%s' "
					                  "appears twice", w->what,
					                  path_of(w), c->string);
		return 0;
	}
	keys = xmalloc(n * sizeof(*keys));
	n = 0;
	cJSON_ArrayForEach(c, o)
		keys[n++] = c->string;
	qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n && r == 0; i++)
		if (strcmp(keys[i - 1], keys[i]) == 0)
			r = rh_err_set(w->err, EINVAL, "%s: '%s': key '%s' "
			               "appears twice", w->what, path_of(w),
			               keys[i]);
	free(keys);
	return r;
}

static int
string_fault(struct walk *w)
{
	const struct fault *f = &w->s->str_fault;

	switch (f->kind) {
	case F_CTRL:
		if (f->byte == 0)
			return rh_err_set(w->err, EINVAL, "%s: '%s': a string "
			                  "holds a NUL byte", w->what,
			                  path_of(w));
		return rh_err_set(w->err, EINVAL, "%s: '%s': a raw control "
		                  "character (0x%02x) in a string (write it "
		                  "as \\u%04x)", w->what, path_of(w), f->byte,
		                  f->byte);
	case F_UTF8:
		return rh_err_set(w->err, EINVAL, "%s: '%s': a string is not "
		                  "valid UTF-8 (byte 0x%02x)", w->what,
		                  path_of(w), f->byte);
	default:
		return rh_err_set(w->err, EINVAL, "%s: '%s': a string holds "
		                  "\\u0000", w->what, path_of(w));
	}
}

/* One string token met (a key or a value). */
static int
walk_string(struct walk *w)
{
	if (w->s->str_fault.kind != F_NONE && w->s->str_fault.tok == w->nstr)
		return string_fault(w);
	w->nstr++;
	return 0;
}

static int
walk_number(struct walk *w, cJSON *v)
{
	size_t i = w->nnum++;
	const char *text;
	int len;

	if (i >= w->s->nnum)    /* cannot happen: cJSON read each token */
		return rh_err_set(w->err, EINVAL, "%s: not valid JSON",
		                  w->what);
	text = w->s->data + w->s->num_off[i];
	len = (int)w->s->num_len[i];
	if (w->s->num_fault.kind != F_NONE && w->s->num_fault.tok == (long)i)
		return rh_err_set(w->err, EINVAL, "%s: '%s': '%.*s' is not a "
		                  "JSON number", w->what, path_of(w),
		                  len > 40 ? 40 : len, text);
	if (!isfinite(v->valuedouble))
		return rh_err_set(w->err, EINVAL, "%s: '%s': the number "
		                  "%.*s is out of range", w->what, path_of(w),
		                  len > 40 ? 40 : len, text);
	free(v->valuestring);
	v->valuestring = xstrndup(text, (size_t)len);
	return 0;
}

/* v, the value last pushed: each value below it is pushed while met */
static int
walk_value(struct walk *w, cJSON *v)
{
	cJSON *c;
	int r;

	if (cJSON_IsString(v))
		return walk_string(w);
	if (cJSON_IsNumber(v))
		return walk_number(w, v);
	if (cJSON_IsArray(v)) {
		cJSON_ArrayForEach(c, v) {
			walk_push(w, c);
			if ((r = walk_value(w, c)) < 0)
				return r;
			w->depth--;
		}
	} else if (cJSON_IsObject(v)) {
		cJSON_ArrayForEach(c, v) {
			walk_push(w, c);
			if ((r = walk_string(w)) < 0 ||
			    (r = walk_value(w, c)) < 0)
				return r;
			w->depth--;
		}
		if ((r = check_dups(w, v)) < 0)
			return r;
	}
	return 0;
}

static int
gap_fault(const struct scan *s, const char *what, struct rh_err *err)
{
	const struct fault *f = &s->gap_fault;
	char line[32];

	if (f->kind == F_BOM)
		return rh_err_set(err, EINVAL, "%s: starts with a byte order "
		                  "mark", what);
	if (f->byte == 0)
		return rh_err_set(err, EINVAL, "%s holds a NUL byte%s", what,
		                  line_of(s->data, s->len, f->off, line,
		                          sizeof(line)));
	return rh_err_set(err, EINVAL, "%s is not valid JSON%s: byte 0x%02x "
	                  "outside a string", what, line_of(s->data, s->len,
	                  f->off, line, sizeof(line)), f->byte);
}

cJSON *
rh_json_parse(const char *data, size_t len, const char *what,
              struct rh_err *err)
{
	struct scan s = { data, len, NULL, NULL, 0, 0, 0, { 0 }, { 0 },
	                  { 0 } };
	struct walk w = { &s, what, NULL, 0, 0, { 0 }, 0, 0, err };
	const char *end = NULL;
	cJSON *v = NULL;
	char line[32];
	size_t i;

	scan_bytes(&s);
	if (s.gap_fault.kind != F_NONE) {
		gap_fault(&s, what, err);
		goto out;
	}
	v = cJSON_ParseWithLengthOpts(data, len, &end, 0);
	if (v == NULL) {
		end = cJSON_GetErrorPtr();
		for (i = 0; i < len && strchr(" \t\r\n", data[i]) != NULL;
		     i++)
			;       /* (no NUL here: the scan refused it) */
		if (i == len)
			rh_err_set(err, EINVAL, "%s is empty, not JSON", what);
		else
			rh_err_set(err, EINVAL, "%s is not valid JSON%s", what,
			           line_of(data, len, end != NULL &&
			                   end >= data ? (size_t)(end - data) :
			                   len, line, sizeof(line)));
		goto out;
	}
	for (i = (size_t)(end - data); i < len; i++) {
		if (strchr(" \t\r\n", data[i]) == NULL || data[i] == '\0') {
			rh_err_set(err, EINVAL, "%s has text after the JSON "
			           "value%s", what, line_of(data, len, i, line,
			           sizeof(line)));
			cJSON_Delete(v);
			v = NULL;
			goto out;
		}
	}
	walk_push(&w, v);
	if (walk_value(&w, v) < 0) {
		cJSON_Delete(v);
		v = NULL;
	}
out:
	free(w.at);
	rh_buf_free(&w.path);
	free(s.num_off);
	free(s.num_len);
	return v;
}

/* A parsed number keeps its text in valuestring (cJSON leaves it unused
 * for numbers and frees it with the item); it is written back when it
 * still reads as the item's value. */
static int
text_is_value(const cJSON *v)
{
	return v->valuestring != NULL &&
	       strtod(v->valuestring, NULL) == v->valuedouble;
}

static int
has_texts(const cJSON *v)
{
	const cJSON *c;

	if (cJSON_IsNumber(v))
		return text_is_value(v);
	cJSON_ArrayForEach(c, v)
		if (has_texts(c))
			return 1;
	return 0;
}

/* An integer that cJSON would write with "%1.15g" and the same digits:
 * below 10^15 in magnitude, and not -0. */
static int
plain_int(double d)
{
	return d > -1e15 && d < 1e15 && d == floor(d) &&
	       !(d == 0 && signbit(d));
}

/* The numbers of a tree turned to raw text while it is printed, to be
 * turned back; made: the text is ours (the item had none). */
struct raws {
	cJSON **item;
	unsigned char *made;
	size_t n, cap;
};

static void
raws_push(struct raws *r, cJSON *v, int made)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->item = xrealloc(r->item, r->cap * sizeof(*r->item));
		r->made = xrealloc(r->made, r->cap);
	}
	r->item[r->n] = v;
	r->made[r->n++] = (unsigned char)made;
}

/* v's numbers as raw text: the text a parsed one was written as, or an
 * integer's digits (what cJSON would write, without its "%1.15g" and the
 * sscanf that checks it) */
static void
to_raw(cJSON *v, struct raws *r)
{
	char digits[24];
	cJSON *c;

	if (cJSON_IsNumber(v)) {
		if (v->valuestring != NULL) {
			if (!text_is_value(v))
				return;
			raws_push(r, v, 0);
		} else {
			if (!plain_int(v->valuedouble))
				return;
			snprintf(digits, sizeof(digits), "%lld",
			         (long long)v->valuedouble);
			v->valuestring = xstrdup(digits);
			raws_push(r, v, 1);
		}
		v->type = cJSON_Raw | (v->type & ~0xff);
		return;
	}
	cJSON_ArrayForEach(c, v)
		to_raw(c, r);
}

char *
rh_json_print_owned(cJSON *v, int pretty)
{
	struct raws r = { NULL, NULL, 0, 0 };
	cJSON *it;
	size_t i;
	char *s;

	to_raw(v, &r);
	s = pretty ? cJSON_Print(v) : cJSON_PrintUnformatted(v);
	for (i = 0; i < r.n; i++) {
		it = r.item[i];
		it->type = cJSON_Number | (it->type & ~0xff);
		if (r.made[i]) {
			free(it->valuestring);
			it->valuestring = NULL;
		}
	}
	free(r.item);
	free(r.made);
	if (s == NULL)
		abort();
	return s;
}

char *
rh_json_print(const cJSON *v, int pretty)
{
	cJSON *copy;
	char *s;

	if (!has_texts(v)) {
		if ((s = pretty ? cJSON_Print(v) : cJSON_PrintUnformatted(v)) ==
		    NULL)
			abort();
		return s;
	}
	/* a parsed number's text is written from a copy */
	if ((copy = cJSON_Duplicate(v, 1)) == NULL)
		abort();
	s = rh_json_print_owned(copy, pretty);
	cJSON_Delete(copy);
	return s;
}

/* JSON as Runhouse writes it (json.dump with indent=4), newline-ended.
 * cJSON indents with tabs and escapes every tab inside strings, so each
 * raw tab in its output is layout and can be widened safely. */
char *
rh_json_pretty(const cJSON *v)
{
	struct rh_buf b = { 0 };
	char *s = rh_json_print(v, 1);
	const char *p;

	for (p = s; *p; p++) {
		if (*p != '\t')
			rh_buf_append(&b, p, 1);
		else if (p > s && p[-1] == ':')
			rh_buf_append(&b, " ", 1);
		else
			rh_buf_append(&b, "    ", 4);
	}
	rh_buf_append(&b, "\n", 1);
	cJSON_free(s);
	return b.data;
}

const char *
rh_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* v (0 <= v < 10^n) as n digits, zeros in front */
static void
put_digits(char *at, long v, int n)
{
	while (n-- > 0) {
		at[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
rh_json_add_time(cJSON *o, const char *key, const struct timespec *ts)
{
	char s[64];
	struct tm tm;
	size_t n;

	if (ts->tv_sec == 0 && ts->tv_nsec == 0) {
		if (!cJSON_AddItemToObjectCS(o, key, cJSON_CreateNull()))
			abort();
		return;
	}
	/* digit by digit: strftime and printf were a tenth of the
	 * agent's work per call (each call record has three times) */
	gmtime_r(&ts->tv_sec, &tm);
	if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		n = strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(s + n, sizeof(s) - n, ".%06ldZ", ts->tv_nsec / 1000);
	} else {
		put_digits(s, tm.tm_year + 1900, 4);
		s[4] = '-';
		put_digits(s + 5, tm.tm_mon + 1, 2);
		s[7] = '-';
		put_digits(s + 8, tm.tm_mday, 2);
		s[10] = 'T';
		put_digits(s + 11, tm.tm_hour, 2);
		s[13] = ':';
		put_digits(s + 14, tm.tm_min, 2);
		s[16] = ':';
		put_digits(s + 17, tm.tm_sec, 2);
		s[19] = '.';
		put_digits(s + 20, ts->tv_nsec / 1000, 6);
		s[26] = 'Z';
		s[27] = '\0';
	}
	if (!cJSON_AddItemToObjectCS(o, key, cJSON_CreateString(s)))
		abort();
}

/* The typed getters below: a member that is absent or null is absent. */
static const cJSON *
member(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNull(v) ? NULL : v;
}

int
rh_json_get_string(const cJSON *o, const char *key, const char **out,
                   struct rh_err *err)
{
	const cJSON *v = member(o, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsString(v))
		return rh_err_set(err, EINVAL, "'%s' must be a string", key);
	*out = v->valuestring;
	return 1;
}

int
rh_json_get_bool(const cJSON *o, const char *key, int *out,
                 struct rh_err *err)
{
	const cJSON *v = member(o, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsBool(v))
		return rh_err_set(err, EINVAL, "'%s' must be true or false",
		                  key);
	*out = cJSON_IsTrue(v);
	return 1;
}

int
rh_json_get_int(const cJSON *o, const char *key, long long min,
                long long max, long long *out, struct rh_err *err)
{
	const cJSON *v = member(o, key);
	double d;

	if (v == NULL)
		return 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : 0;
	/* range first: converting a larger double is undefined */
	if (!cJSON_IsNumber(v) || d < (double)min || d > (double)max ||
	    (double)(long long)d != d)
		return rh_err_set(err, EINVAL, "'%s' must be an integer from "
		                  "%lld to %lld", key, min, max);
	*out = (long long)d;
	return 1;
}

int
rh_json_get_object(const cJSON *o, const char *key, const cJSON **out,
                   struct rh_err *err)
{
	const cJSON *v = member(o, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsObject(v))
		return rh_err_set(err, EINVAL, "'%s' must be an object", key);
	*out = v;
	return 1;
}

int
rh_json_get_array(const cJSON *o, const char *key, const cJSON **out,
                  struct rh_err *err)
{
	const cJSON *v = member(o, key);

	if (v == NULL)
		return 0;
	if (!cJSON_IsArray(v))
		return rh_err_set(err, EINVAL, "'%s' must be an array", key);
	*out = v;
	return 1;
}

int
rh_json_only(const cJSON *o, const char *const *known, struct rh_err *err)
{
	const cJSON *v;
	size_t i;

	cJSON_ArrayForEach(v, o) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(v->string, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return rh_err_set(err, EINVAL, "unknown field '%s'",
			                  v->string);
	}
	return 0;
}

/*
 * reclog.c - the ended calls' records, one log for all of an agent's calls
 * (calls/records.log): a record is a line of compact JSON (the call
 * record of docs/protocol.md, as record.c encodes it), appended with one
 * write when the call ends. A call's latest line is its record; an index
 * in memory (id -> offset and length, sorted by id: 16 bytes a call)
 * finds it without reading the rest. Appending allocates no inode: a new file per call was
 * what cost the agent most of its time under a map of short calls.
 *
 * Loading reads every line once: a line that does not parse (the tail of
 * an append torn by the agent's or the machine's death, or damage) is
 * skipped with a warning, and what follows it still loads; a line for an
 * id that a later line repeats is superseded. Both are dead bytes, which
 * compaction drops: the live lines written, in id order, to a temporary
 * file renamed over the log, so that a death at any point leaves the old
 * log or the new, whole. Like the records before it, the log is not
 * fsynced: records survive the agent (kill -9 included), not the machine.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"
#include "callspec.h"
#include "agent.h"

/* Compaction waits for at least this many dead bytes, and for more dead
 * bytes than live ones: O(1) rewriting per byte appended. */
#define RECLOG_COMPACT_MIN (1024u * 1024)
/* Chunks in which compaction writes, and a long line is read. */
#define RECLOG_CHUNK (1024u * 1024)
/* An index entry's position: the line's offset and length in one word. */
#define LEN_BITS 24
#define LEN_BIG ((1u << LEN_BITS) - 1)
#define OFF_MAX (((uint64_t)1 << (64 - LEN_BITS)) - 1)

static uint64_t
ent_off(const struct reclog_ent *e)
{
	return e->pos >> LEN_BITS;
}

/* Its length, or LEN_BIG: that or more. */
static size_t
ent_len(const struct reclog_ent *e)
{
	return (size_t)(e->pos & LEN_BIG);
}

static char *
tmp_path(const struct reclog *l)
{
	return xasprintf("%s.tmp", l->path);
}

/* The index slot of key, or where it goes (*found 0). */
static size_t
find(const struct reclog *l, uint64_t key, int *found)
{
	size_t lo = 0, hi = l->n, mid;

	*found = 0;
	/* calls mostly end in id order: look at the end first */
	if (l->n > 0 && l->v[l->n - 1].key < key)
		return l->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (l->v[mid].key == key) {
			*found = 1;
			return mid;
		}
		if (l->v[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* key's line is now at off, len bytes (its newline not counted). */
static void
index_put(struct reclog *l, uint64_t key, uint64_t off, size_t len)
{
	int found;
	size_t i = find(l, key, &found);

	if (found) {
		l->dead += (off_t)ent_len(&l->v[i]) + 1;
		l->live -= (off_t)ent_len(&l->v[i]) + 1;
	} else {
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 1024;
			l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
		}
		memmove(l->v + i + 1, l->v + i, (l->n - i) * sizeof(*l->v));
		l->n++;
		l->v[i].key = key;
	}
	if (len > LEN_BIG)
		len = LEN_BIG;
	l->v[i].pos = off << LEN_BITS | len;
	l->live += (off_t)len + 1;
}

/* Entry e's line appended to out (no newline; NUL after it). */
static int
line_read(const struct reclog *l, const struct reclog_ent *e,
          struct rh_buf *out)
{
	uint64_t off = ent_off(e);
	size_t len = ent_len(e), start = out->len, got = 0, want;
	ssize_t n;
	char *nl;

	for (;;) {
		want = len < LEN_BIG ? len - got : RECLOG_CHUNK;
		rh_buf_reserve(out, start + got + want);
		if ((n = pread(l->fd, out->data + start + got, want,
		               (off_t)(off + got))) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;    /* the log is shorter than its index */
		if (len == LEN_BIG && (nl = memchr(out->data + start + got,
		                                   '\n', (size_t)n)) != NULL) {
			got = (size_t)(nl - (out->data + start));
			break;
		}
		got += (size_t)n;
		if (len < LEN_BIG && got == len)
			break;
	}
	out->len = start + got;
	out->data[out->len] = '\0';
	return 0;
}

/* The id a line is the record of, or 0 if it is not a record. */
static uint64_t
line_key(const char *line, size_t len, char *why, size_t whylen)
{
	struct rh_err err;
	cJSON *o = rh_json_parse(line, len, "record", &err);
	const char *id = rh_json_str(o, "call");
	uint64_t key = 0;

	if (o == NULL)
		snprintf(why, whylen, "%.150s", err.msg);
	else if (!cJSON_IsObject(o) || id == NULL || !rh_call_id_valid(id) ||
	         rh_json_str(o, "state") == NULL)
		snprintf(why, whylen, "not a call record");
	else
		key = record_id_time(id);
	cJSON_Delete(o);
	return key;
}

void
reclog_init(struct reclog *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

int
reclog_open(struct reclog *l, const char *path, struct rh_err *err)
{
	struct rh_buf b = { 0 };
	const char *p, *end, *nl;
	char why[200], *tmp;
	size_t torn = 0, bad = 0;
	uint64_t key;
	int r;

	reclog_close(l);
	l->path = xstrdup(path);
	tmp = tmp_path(l);
	unlink(tmp);            /* a compaction the agent died in */
	free(tmp);
	r = (l->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC,
	                  0600)) < 0 ? -errno :
	    rh_file_read(path, (size_t)1 << 40, &b, NULL);
	if (r < 0) {
		reclog_close(l);
		rh_buf_free(&b);
		return rh_err_set(err, -r, "%s: %s", path, strerror(-r));
	}
	for (p = b.data, end = b.data + b.len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			/* an append the agent did not finish */
			torn = (size_t)(end - p);
			rh_warn("%s: its last record is torn (%zu bytes at "
			        "offset %zu): skipped", path, torn,
			        (size_t)(p - b.data));
			break;
		}
		key = nl - p > 0 ?
		      line_key(p, (size_t)(nl - p), why, sizeof(why)) : 0;
		if (nl - p == 0)
			snprintf(why, sizeof(why), "an empty line");
		if (key == 0) {
			rh_warn("%s: the record at offset %zu does not read "
			        "(%s): skipped", path, (size_t)(p - b.data),
			        why);
			l->dead += nl - p + 1;
			bad++;
			continue;
		}
		index_put(l, key, (uint64_t)(p - b.data), (size_t)(nl - p));
	}
	l->size = (off_t)(b.len - torn);
	rh_buf_free(&b);
	/* appends go after the last whole line */
	if (torn > 0 && ftruncate(l->fd, l->size) < 0)
		rh_warn("%s: cannot cut its torn record: %s", path,
		        strerror(errno));
	if (l->dead > 0 && (r = reclog_compact(l)) < 0)
		rh_warn("%s: cannot compact: %s", path, strerror(-r));
	return 0;
}

void
reclog_close(struct reclog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l->v);
	reclog_init(l);
}

int
reclog_append(struct reclog *l, const char *id, const char *line, size_t len)
{
	uint64_t key;
	ssize_t n;

	if (l->fd < 0)
		return -EBADF;
	if (!rh_call_id_valid(id) || len < 2 || line[len - 1] != '\n' ||
	    memchr(line, '\n', len - 1) != NULL)
		return -EINVAL;
	if ((uint64_t)l->size > OFF_MAX)
		return -EFBIG;
	key = record_id_time(id);
	/* one write: a dying agent leaves the line whole, or a torn tail
	 * that loading skips */
	while ((n = write(l->fd, line, len)) < 0 && errno == EINTR)
		;
	len--;          /* the index counts no newline */
	if (n < 0 || (size_t)n != len + 1) {
		int e = n < 0 ? errno : ENOSPC;

		/* no torn line before the next append */
		if (n > 0 && ftruncate(l->fd, l->size) < 0)
			rh_warn("%s: cannot cut a short append: %s", l->path,
			        strerror(errno));
		return -e;
	}
	index_put(l, key, (uint64_t)l->size, len);
	l->size += (off_t)len + 1;
	return 0;
}

int
reclog_has(const struct reclog *l, const char *id)
{
	int found = 0;

	if (l->fd >= 0 && rh_call_id_valid(id))
		find(l, record_id_time(id), &found);
	return found;
}

int
reclog_get(const struct reclog *l, const char *id, struct rh_buf *out)
{
	size_t i = 0;
	int found = 0;

	if (l->fd >= 0 && rh_call_id_valid(id))
		i = find(l, record_id_time(id), &found);
	if (!found)
		return -ENOENT;
	out->len = 0;
	return line_read(l, &l->v[i], out);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
reclog_compact(struct reclog *l)
{
	struct rh_buf b = { 0 };
	char *tmp;
	size_t *lens;
	uint64_t off = 0;
	size_t i, k;
	int fd, r = 0;

	if (l->fd < 0)
		return -EBADF;
	tmp = tmp_path(l);
	lens = xmalloc((l->n + 1) * sizeof(*lens));
	/* written, then kept open for appending: it becomes the log */
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	               0600)) < 0) {
		r = -errno;
		goto out;
	}
	for (i = 0; i <= l->n && r == 0; i++) {
		if (i < l->n) {
			k = b.len;
			if ((r = line_read(l, &l->v[i], &b)) < 0)
				break;
			lens[i] = b.len - k;
			rh_buf_append(&b, "\n", 1);
		}
		if (b.len >= RECLOG_CHUNK || (i == l->n && b.len > 0)) {
			r = write_all(fd, b.data, b.len);
			b.len = 0;
		}
	}
	/* the new log, whole, takes the old one's name at once */
	if (r == 0 && rename(tmp, l->path) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(l->fd);
	l->fd = fd;
	for (i = 0; i < l->n; i++) {
		l->v[i].pos = off << LEN_BITS |
		              (lens[i] < LEN_BIG ? lens[i] : LEN_BIG);
		off += lens[i] + 1;
	}
	l->size = l->live = (off_t)off;
	l->dead = 0;
out:
	free(lens);
	free(tmp);
	rh_buf_free(&b);
	return r;
}

int
reclog_tidy(struct reclog *l)
{
	int r;

	if (l->fd < 0 || l->dead < (off_t)RECLOG_COMPACT_MIN ||
	    l->dead <= l->live)
		return 0;
	if ((r = reclog_compact(l)) < 0)
		rh_error("%s: cannot compact: %s", l->path, strerror(-r));
	return r;
}

char **
reclog_ids(const struct reclog *l, char **v, size_t *n)
{
	char id[32];
	size_t i;

	if (l->n == 0)
		return v;
	v = xrealloc(v, (*n + l->n) * sizeof(*v));
	for (i = 0; i < l->n; i++) {
		record_id_format(l->v[i].key, id, sizeof(id));
		v[(*n)++] = xstrdup(id);
	}
	return v;
}

uint64_t
reclog_last_key(const struct reclog *l)
{
	return l->n > 0 ? l->v[l->n - 1].key : 0;
}

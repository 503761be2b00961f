/*
 * reclog.c - the ended calls' records, one log for all of an agent's calls
 * (calls/records.log): a record is a line of compact JSON (the call
 * record of docs/protocol.md, as record.c encodes it), appended with one
 * write when the call ends. A call's latest line is its record. Appending
 * allocates no inode: a new file per call was what cost the agent most
 * of its time under a map of short calls.
 *
 * In memory the log is a list of blocks, each up to BLK_LINES lines or
 * BLK_BYTES bytes appended one after the other, with the least and the
 * greatest id among them: about half a byte a record, so that the agent's
 * memory does not grow with the calls it has run. A record is found by
 * reading the newest block whose ids span its id, and the blocks before
 * it while it is not there (calls end about in id order, so it is most
 * often the first block read).
 *
 * Loading reads every line once: a line that does not parse (the tail of
 * an append torn by the agent's or the machine's death, or damage) is
 * skipped with a warning, and what follows it still loads; a line for an
 * id that a later line repeats is superseded. If there were any, the log
 * is compacted: the latest line of each id, in id order, written to a
 * temporary file renamed over the log, so that a death at any point
 * leaves the old log or the new, whole. A call ends once, so a running
 * agent appends no superseding line but in recovery, and the next load
 * compacts those. Like the records before it, the log is not fsynced:
 * records survive the agent (kill -9 included), not the machine.
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

/* A block ends at this many lines, or once it holds this many bytes. */
#define BLK_LINES 64
#define BLK_BYTES (64u * 1024)
/* Chunks in which compaction writes. */
#define RECLOG_CHUNK (1024u * 1024)
#define ID_LEN 22       /* YYYYMMDD-HHMMSS-uuuuuu */

static char *
tmp_path(const struct reclog *l)
{
	return xasprintf("%s.tmp", l->path);
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

static int
read_at(int fd, char *p, size_t len, off_t off)
{
	ssize_t n;

	while (len > 0) {
		if ((n = pread(fd, p, len, off)) < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;    /* the log is shorter than it was */
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* The id a line is the record of (parsed whole), or 0 if it is not a
 * record; why says what it is instead. */
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

/* The same, read from the start of the line as the agent writes it
 * ({"call":"ID",...} ending in "}"), else parsed whole: loading a log of
 * many records parses none of them. A line that starts and ends so but
 * does not read in between is found when its record is read (which says
 * so and finds no record). */
static uint64_t
line_key_start(const char *line, size_t len, char *why, size_t whylen)
{
	static const char head[] = "{\"call\":\"";
	char id[ID_LEN + 1];
	size_t h = sizeof(head) - 1;

	if (len > h + ID_LEN && memcmp(line, head, h) == 0 &&
	    line[h + ID_LEN] == '"' && line[len - 1] == '}') {
		memcpy(id, line + h, ID_LEN);
		id[ID_LEN] = '\0';
		if (rh_call_id_valid(id))
			return record_id_time(id);
	}
	return line_key(line, len, why, whylen);
}

/* The same for a line that loading took as a record. */
static uint64_t
line_key_fast(const char *line, size_t len)
{
	char why[200];

	return line_key_start(line, len, why, sizeof(why));
}

void
reclog_init(struct reclog *l)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

/* A line of key, at the end of the log (off: its offset), in the blocks. */
static void
blk_add(struct reclog *l, uint64_t key, uint64_t off)
{
	struct reclog_blk *b = l->nb > 0 ? &l->b[l->nb - 1] : NULL;

	if (b == NULL || b->lines >= BLK_LINES || off - b->off >= BLK_BYTES) {
		if (l->nb == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 64;
			l->b = xrealloc(l->b, l->cap * sizeof(*l->b));
		}
		b = &l->b[l->nb++];
		b->off = off;
		b->lines = 0;
		b->min = b->max = key;
	}
	if (key < b->min)
		b->min = key;
	if (key > b->max)
		b->max = key;
	b->lines++;
	l->lines++;
	if (key > l->last_key)
		l->last_key = key;
}

/* Block i's bytes into buf (its lines, each with its newline). */
static int
blk_read(const struct reclog *l, size_t i, struct rh_buf *buf)
{
	uint64_t end = i + 1 < l->nb ? l->b[i + 1].off : (uint64_t)l->size;
	size_t len = (size_t)(end - l->b[i].off);
	int r;

	buf->len = 0;
	rh_buf_reserve(buf, len);
	if ((r = read_at(l->fd, buf->data, len, (off_t)l->b[i].off)) < 0)
		return r;
	buf->len = len;
	buf->data[len] = '\0';
	return 0;
}

/* key's latest line: its offset in buf and length (no newline), after
 * reading into buf the block that holds it. -ENOENT: none. */
static int
find(const struct reclog *l, uint64_t key, struct rh_buf *buf,
     size_t *at, size_t *len)
{
	const char *p, *nl, *end;
	size_t i;
	int r, found;

	if (l->fd < 0)
		return -ENOENT;
	for (i = l->nb; i > 0; i--) {
		if (key < l->b[i - 1].min || key > l->b[i - 1].max)
			continue;
		if ((r = blk_read(l, i - 1, buf)) < 0)
			return r;
		found = 0;
		end = buf->data + buf->len;
		for (p = buf->data; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			if (nl > p && line_key_fast(p, (size_t)(nl - p)) == key) {
				*at = (size_t)(p - buf->data);
				*len = (size_t)(nl - p);
				found = 1;      /* a later one wins */
			}
		}
		if (found)
			return 0;
	}
	return -ENOENT;
}

struct line {
	uint64_t key;
	size_t off, len;
};

static int
cmp_line(const void *x, const void *y)
{
	const struct line *a = x, *b = y;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/* Write the latest of each key among v (n lines of data, sorted) as the
 * new log, and make it l's, with its blocks. */
static int
compact(struct reclog *l, const char *data, struct line *v, size_t n)
{
	struct rh_buf b = { 0 };
	char *tmp = tmp_path(l);
	uint64_t off = 0;
	size_t i;
	int fd, r = 0;

	/* written, then kept open for appending: it becomes the log */
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	               0600)) < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	for (i = 0; i < n && r == 0; i++) {
		if (i + 1 < n && v[i + 1].key == v[i].key)
			continue;       /* superseded */
		rh_buf_append(&b, data + v[i].off, v[i].len);
		rh_buf_append(&b, "\n", 1);
		v[i].off = (size_t)off;         /* now in the new log */
		off += v[i].len + 1;
		if (b.len >= RECLOG_CHUNK) {
			r = write_all(fd, b.data, b.len);
			b.len = 0;
		}
	}
	if (r == 0 && b.len > 0)
		r = write_all(fd, b.data, b.len);
	rh_buf_free(&b);
	/* the new log, whole, takes the old one's name at once */
	if (r == 0 && rename(tmp, l->path) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		unlink(tmp);
		free(tmp);
		return r;
	}
	free(tmp);
	close(l->fd);
	l->fd = fd;
	l->size = (off_t)off;
	l->nb = l->lines = 0;
	l->last_key = 0;
	for (i = 0; i < n; i++)
		if (i + 1 == n || v[i + 1].key != v[i].key)
			blk_add(l, v[i].key, v[i].off);
	return 0;
}

int
reclog_open(struct reclog *l, const char *path, struct rh_err *err)
{
	struct rh_buf b = { 0 };
	const char *p, *end, *nl;
	struct line *v = NULL;
	char why[200], *tmp;
	size_t torn = 0, n = 0, cap = 0, i, dead = 0;
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
		key = nl > p ? line_key_start(p, (size_t)(nl - p), why,
		                              sizeof(why)) : 0;
		if (nl == p)
			snprintf(why, sizeof(why), "an empty line");
		if (key == 0) {
			rh_warn("%s: the record at offset %zu does not read "
			        "(%s): skipped", path, (size_t)(p - b.data),
			        why);
			dead++;
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].key = key;
		v[n].off = (size_t)(p - b.data);
		v[n].len = (size_t)(nl - p);
		n++;
	}
	l->size = (off_t)(b.len - torn);
	/* appends go after the last whole line */
	if (torn > 0 && ftruncate(l->fd, l->size) < 0)
		rh_warn("%s: cannot cut its torn record: %s", path,
		        strerror(errno));
	for (i = 0; i < n; i++)         /* the blocks, as the lines lie */
		blk_add(l, v[i].key, v[i].off);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_line);
	for (i = 0; i + 1 < n; i++)
		dead += v[i + 1].key == v[i].key;
	if (dead > 0 && (r = compact(l, b.data, v, n)) < 0)
		rh_warn("%s: cannot compact: %s", path, strerror(-r));
	free(v);
	rh_buf_free(&b);
	return 0;
}

void
reclog_close(struct reclog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l->b);
	reclog_init(l);
}

int
reclog_append(struct reclog *l, const char *id, const char *line, size_t len)
{
	ssize_t n;

	if (l->fd < 0)
		return -EBADF;
	if (!rh_call_id_valid(id) || len < 2 || line[len - 1] != '\n' ||
	    memchr(line, '\n', len - 1) != NULL)
		return -EINVAL;
	/* one write: a dying agent leaves the line whole, or a torn tail
	 * that loading skips */
	while ((n = write(l->fd, line, len)) < 0 && errno == EINTR)
		;
	if (n < 0 || (size_t)n != len) {
		int e = n < 0 ? errno : ENOSPC;

		/* no torn line before the next append */
		if (n > 0 && ftruncate(l->fd, l->size) < 0)
			rh_warn("%s: cannot cut a short append: %s", l->path,
			        strerror(errno));
		return -e;
	}
	blk_add(l, record_id_time(id), (uint64_t)l->size);
	l->size += (off_t)len;
	return 0;
}

int
reclog_has(const struct reclog *l, const char *id)
{
	struct rh_buf b = { 0 };
	size_t at, len;
	int r = rh_call_id_valid(id) ?
	        find(l, record_id_time(id), &b, &at, &len) : -ENOENT;

	rh_buf_free(&b);
	return r == 0;
}

int
reclog_get(const struct reclog *l, const char *id, struct rh_buf *out)
{
	size_t at, len;
	int r;

	if (!rh_call_id_valid(id))
		return -ENOENT;
	if ((r = find(l, record_id_time(id), out, &at, &len)) < 0)
		return r;
	memmove(out->data, out->data + at, len);
	out->len = len;
	out->data[len] = '\0';
	return 0;
}

char **
reclog_ids(const struct reclog *l, char **v, size_t *n)
{
	struct rh_buf b = { 0 };
	const char *p, *nl, *end;
	char id[32];
	uint64_t key;
	size_t i;

	if (l->fd < 0 || l->lines == 0)
		return v;
	v = xrealloc(v, (*n + l->lines) * sizeof(*v));
	for (i = 0; i < l->nb; i++) {
		if (blk_read(l, i, &b) < 0)
			continue;
		end = b.data + b.len;
		for (p = b.data; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			if (nl == p ||
			    (key = line_key_fast(p, (size_t)(nl - p))) == 0)
				continue;
			record_id_format(key, id, sizeof(id));
			v[(*n)++] = xstrdup(id);
		}
	}
	rh_buf_free(&b);
	return v;
}

uint64_t
reclog_last_key(const struct reclog *l)
{
	return l->last_key;
}

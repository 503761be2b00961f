/*
 * record.c - call records on disk, under the agent's directory:
 *
 *   calls/records.log     the ended calls' records, a line each (a
 *                         call's latest line is its record; reclog.c):
 *                         state, exit, signal, reason, times, its spec
 *                         (the request as received, without id and op)
 *                         and a Python call's result unless large
 *   calls/ID/stdout, calls/ID/stderr   written by the call's process (a
 *                         Python call's only if it printed something)
 *   calls/ID/result       a Python call's return value as JSON when
 *                         large (pool.c)
 *   calls/ID.json, calls/ID/spec.json, calls/ID/status.json   the
 *                         same record, as agents before wrote them:
 *                         still read
 *   journal               one line per change of a call not yet ended
 *                         (its record as JSON; an id's last line wins):
 *                         what a restarted agent must look at, without
 *                         reading every record
 *   active/ID             the same, left by agents before the journal
 *
 * and what clients read of them: records, results and output, as JSON.
 * A call's line goes to records.log once, when the call ends; until then
 * the record and spec are in memory and in the journal. A Python call
 * that prints nothing so costs no new file, a command a directory taken
 * from the spares: creating files is what costs most (on ext4, most of
 * all where many were deleted). No fsync: records survive the agent and
 * rhfs, not the machine.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "base.h"
#include "proto.h"
#include "requests.h"
#include "callrecord.h"
#include "agent.h"

/* The journal (a->records: its descriptor, its size, and the size it had
 * when last rewritten, so that rewriting costs O(1) per line written). */
#define JOURNAL "journal"
#define JOURNAL_MIN_REWRITE (4u * 1024 * 1024)
/* With no call active, the journal is emptied once that has lasted this
 * long (or at once when it holds JOURNAL_IDLE_EMPTY): not after each
 * call of a sequence, which cost a truncate per call. The lines it keeps
 * meanwhile are of ended calls, whose line in the log a restart reads
 * first. */
#define JOURNAL_IDLE_MS 100
#define JOURNAL_IDLE_EMPTY (64u * 1024)

/* Spare call directories, spare/N beside calls/, each with the empty
 * files of a call, made one file per turn of the loop while the agent has
 * nothing else to do: a new call renames one to calls/ID and so allocates
 * no inode while its client waits. */
#define SPARES RECORD_SPARES
#define SPARE_DIR "spare"       /* not in calls/: only calls are there */
static const char *const spare_files[] = { "stdout", "stderr", NULL };

static int
spare_complete(const struct records *rs, int i)
{
	return rs->spare_made[i] > 0 &&
	       spare_files[rs->spare_made[i] - 1] == NULL;
}

/*
 * Ids are the UTC time of acceptance in microseconds, as
 * YYYYMMDD-HHMMSS-uuuuuu: fixed width, so that sorting names sorts calls,
 * and never reused because each is above the newest one seen on disk.
 */

void
record_id_format(uint64_t us, char *out, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(out, len, "%Y%m%d-%H%M%S", &tm);
	snprintf(out + n, len - n, "-%06u", (unsigned)(us % 1000000));
}

uint64_t
record_id_time(const char *id)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(id, "%4d%2d%2d-%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
	           &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (uint64_t)timegm(&tm) * 1000000 + strtoull(id + 16, NULL, 10);
}

/* A new id: the one proposed (a call rhfs held while the node was made,
 * which has one already) when it is later than every id given, else the
 * time now. Either way ids stay unique and in order. */
static void
new_id(struct agent *a, struct call *c, const char *proposed)
{
	uint64_t us;
	int forced = 0;

	clock_gettime(CLOCK_REALTIME, &c->queued_at);
	us = (uint64_t)c->queued_at.tv_sec * 1000000 +
	     (uint64_t)c->queued_at.tv_nsec / 1000;
	/* a worker node's call has the id its head gave (worker.c) */
	if (proposed != NULL && rh_call_id_valid(proposed) &&
	    (record_id_time(proposed) > a->last_id ||
	     a->worker_name != NULL)) {
		us = record_id_time(proposed);
		forced = a->worker_name != NULL;
	}
	if (!forced && us <= a->last_id)
		us = a->last_id + 1;
	if (us > a->last_id)
		a->last_id = us;
	record_id_format(us, c->id, sizeof(c->id));
}

/* The agent's log (one agent per process); NULL until call_init. */
static struct reclog *the_log;

int
record_log_open(struct agent *a, struct rh_err *err)
{
	struct reclog *l = &a->records.log;
	int r;

	if (l->path == NULL)
		reclog_init(l);
	if ((r = reclog_open(l, AGENT_RECLOG, err)) < 0)
		return r;
	the_log = l;
	/* new ids sort after every recorded one, whatever the clock */
	if (reclog_last_key(l) > a->last_id)
		a->last_id = reclog_last_key(l);
	return 0;
}

void
record_close(struct agent *a)
{
	if (the_log == &a->records.log)
		the_log = NULL;
	reclog_close(&a->records.log);
}

/* An ended call's record appended to the log. */
static int
log_append(const char *id, cJSON *json)
{
	char *text;
	size_t len;
	int r;

	if (the_log == NULL)
		return -EBADF;
	if ((text = rh_json_print_owned(json, 0)) == NULL)
		return -ENOMEM;
	len = strlen(text);
	text[len++] = '\n';    /* over the NUL: cJSON's buffer holds it */
	r = reclog_append(the_log, id, text, len);
	free(text);
	return r;
}

/* id's record from the log, or NULL. */
static cJSON *
log_read(const char *id)
{
	struct rh_buf b = { 0 };
	cJSON *json = NULL;
	int r;

	if (the_log == NULL)
		return NULL;
	if ((r = reclog_get(the_log, id, &b)) == 0) {
		json = rh_json_parse(b.data, b.len, AGENT_RECLOG, NULL);
		if (json != NULL && (!cJSON_IsObject(json) ||
		    rh_json_str(json, "call") == NULL ||
		    strcmp(rh_json_str(json, "call"), id) != 0)) {
			cJSON_Delete(json);
			json = NULL;
		}
		if (json == NULL)
			rh_warn("call %s: its record in %s does not read", id,
			        AGENT_RECLOG);
	} else if (r != -ENOENT) {
		rh_warn("call %s: cannot read its record in %s: %s", id,
		        AGENT_RECLOG, strerror(-r));
	}
	rh_buf_free(&b);
	return json;
}

char *
record_path(const char *id, const char *name)
{
	return xasprintf(AGENT_CALLS "/%s/%s", id, name);
}

/* An ended call's record. */
static char *
status_path(const char *id)
{
	return xasprintf(AGENT_CALLS "/%s.json", id);
}

static char *
active_path(const char *id)
{
	return xasprintf(AGENT_ACTIVE "/%s", id);
}

/* One line to the journal, whole: a single write, so that a dying agent
 * leaves lines or none. */
static void
journal_append(struct agent *a, cJSON *rec)
{
	struct records *rs = &a->records;
	char *text;
	size_t len;
	ssize_t n;

	if (rs->jfd < 0)
		return;
	if ((text = rh_json_print_owned(rec, 0)) == NULL)
		return;
	len = strlen(text);
	text[len++] = '\n';    /* over the NUL: cJSON's buffer holds it */
	while ((n = write(rs->jfd, text, len)) < 0 && errno == EINTR)
		;
	if (n < 0 || (size_t)n != len)
		rh_error("%s: cannot append: %s", JOURNAL,
		         n < 0 ? strerror(errno) : "short write");
	else
		rs->jsize += (off_t)n;
	free(text);
}

static cJSON *
read_json(const char *path)
{
	struct rh_buf b = { 0 };
	cJSON *json = NULL;

	if (rh_file_read(path, RH_PROTO_FRAME_MAX, &b, NULL) == 0)
		json = rh_json_parse(b.data, b.len, path, NULL);
	rh_buf_free(&b);
	if (json != NULL && !cJSON_IsObject(json)) {
		cJSON_Delete(json);
		json = NULL;
	}
	return json;
}

/* c's record, its strings pointing into c; on disk with pid_start. */
static void
record_of(const struct call *c, struct rh_call_record *rec)
{
	rh_call_record_init(rec);
	rec->call = c->id;
	rec->state = (enum rh_call_state)c->state;
	rec->send = c->send;
	rec->queue = c->queue;
	rec->pid = c->pid > 0 ? c->pid : 0;
	rec->pid_start = c->pid > 0 ? (long long)c->start_ticks : 0;
	rec->exit = c->exit_code;
	rec->signal = c->signo;
	rec->reason = c->reason;
	rec->queued_at = c->queued_at;
	rec->started_at = c->started_at;
	rec->ended_at = c->ended_at;
	if (c->node != NULL)
		node_record(c, rec);
}

/* A call's record as a JSON object (free it), and its spec unless NULL. */
static cJSON *
record_json(const struct rh_call_record *rec)
{
	cJSON *o = cJSON_CreateObject();

	rh_call_record_encode(o, rec);
	return o;
}

/* A call not ended goes to the journal, with its spec; an ended one to
 * the log (with its spec and a Python call's result), and to the journal
 * only if that could not be written. */
void
record_save(struct agent *a, const struct call *c)
{
	struct rh_call_record rec;
	cJSON *o;
	int r;

	if (a->unsaved == c)    /* this line is the first it gets */
		a->unsaved = NULL;
	record_of(c, &rec);
	/* not copied: the record is written and gone before c changes */
	rec.spec_ref = c->spec;
	if (c->state >= CALL_DONE) {
		if (c->result != NULL) {
			rec.result_is = RH_RESULT_BYTES;
			rh_buf_append(&rec.result, c->result,
			              strlen(c->result));
		}
		o = record_json(&rec);
		r = log_append(c->id, o);
		cJSON_Delete(o);
		if (r == 0) {
			/* A restarted agent looks at the log before the
			 * journal's line: the journal need not hear of it. */
			rh_call_record_free(&rec);
			return;
		}
		rh_error("call %s: cannot write its record: %s", c->id,
		         strerror(-r));
		rh_call_record_free(&rec);
		record_of(c, &rec);
	}
	o = record_json(&rec);
	journal_append(a, o);
	cJSON_Delete(o);
	rh_call_record_free(&rec);
}

static char *
spare_path(int i, const char *file)
{
	return file != NULL ? xasprintf(SPARE_DIR "/%d/%s", i, file) :
	       xasprintf(SPARE_DIR "/%d", i);
}

/* A whole spare renamed to path: 0, -ENOENT when none is ready, -EEXIST
 * when path exists. */
static int
spare_take(struct records *rs, const char *path)
{
	char *from;
	int i, r;

	for (i = 0; i < SPARES; i++) {
		if (!spare_complete(rs, i))
			continue;
		from = spare_path(i, NULL);
		r = rename(from, path) < 0 ? -errno : 0;
		free(from);
		if (r == -ENOTEMPTY)
			r = -EEXIST;
		if (r == 0 || r == -EEXIST) {
			if (r == 0)
				rs->spare_made[i] = 0;
			return r;
		}
		rs->spare_made[i] = 0;  /* gone or broken: made again */
	}
	return -ENOENT;
}

/* One step towards the spares: 1 when more remain to make. */
int
record_spare_step(struct agent *a)
{
	struct records *rs = &a->records;
	char *path;
	int i, fd, r = 0;

	for (i = 0; i < SPARES; i++) {
		if (spare_complete(rs, i))
			continue;
		if (rs->spare_made[i] == 0) {
			path = spare_path(i, NULL);
			if (mkdir(SPARE_DIR, 0700) < 0 && errno != EEXIST)
				r = -errno;
			else if (mkdir(path, 0700) < 0 && errno != EEXIST)
				r = -errno;
		} else {
			path = spare_path(i, spare_files[rs->spare_made[i] - 1]);
			if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC |
			               O_CLOEXEC, 0600)) < 0)
				r = -errno;
			else
				close(fd);
		}
		free(path);
		if (r < 0)
			return 0;       /* tried again on a later turn */
		rs->spare_made[i]++;
		return 1;
	}
	return 0;
}

/* Secrets' values never reach the disk: the record keeps their names,
 * which also tell a restarted agent that the call cannot run again. */
static void
record_secret_names(cJSON *spec)
{
	cJSON *senv = cJSON_DetachItemFromObjectCaseSensitive(spec,
	                                                      "secret_env");
	cJSON *names, *v;

	if (senv == NULL)
		return;
	names = cJSON_AddArrayToObject(spec, "secret_names");
	cJSON_ArrayForEach(v, senv) {
		cJSON_AddItemToArray(names, cJSON_CreateString(v->string));
		if (cJSON_IsString(v))
			OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	}
	cJSON_Delete(senv);
}

/* Record a new call: give it its id and keep its spec; a command gets
 * its directory (its output goes there). Its record follows with
 * record_save, which puts both in the journal. */
int
record_create(struct agent *a, struct call *c, const cJSON *req,
              struct rh_err *err)
{
	const char *proposed = rh_json_str(req, "call");
	char *path;
	int r = 0;

	for (;;) {
		new_id(a, c, proposed);
		proposed = NULL;        /* taken, or not to be had */
		if (c->py != NULL)
			break;  /* a Python call's directory comes if needed */
		path = xasprintf(AGENT_CALLS "/%s", c->id);
		r = spare_take(&a->records, path);
		if (r == -ENOENT)
			r = mkdir(path, 0700) < 0 ? -errno : 0;
		free(path);
		if (r != -EEXIST)       /* the clock went back: take the next */
			break;
	}
	if (r < 0) {
		rh_error("call %s: cannot make its directory: %s", c->id,
		         strerror(-r));
		return rh_err_set(err, -r, "cannot write the call's record: "
		                  "%s", strerror(-r));
	}
	c->spec = cJSON_Duplicate(req, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(c->spec, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(c->spec, "op");
	cJSON_DeleteItemFromObjectCaseSensitive(c->spec, "call");
	record_secret_names(c->spec);
	return 0;
}

int
record_dir(const char *id)
{
	char *path = xasprintf(AGENT_CALLS "/%s", id);
	int r = mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;

	free(path);
	return r;
}

/* The call has ended: its last status, and no longer active. */
void
record_end(struct agent *a, const struct call *c)
{
	record_save(a, c);
}

/* A call is no longer active (found so after a restart). */
void
record_clear_active(struct agent *a, const char *id)
{
	char *path = active_path(id);
	cJSON *o = cJSON_CreateObject();

	unlink(path);
	free(path);
	cJSON_AddStringToObject(o, "call", id);
	cJSON_AddBoolToObject(o, "active", 0);
	journal_append(a, o);
	cJSON_Delete(o);
}

/* Whether a record (a journal line, a status.json) is of a call that has
 * not ended. */
int
record_is_active(const cJSON *json)
{
	struct rh_call_record rec;
	int r;

	/* the journal's mark of a call found ended: {"call", "active"} */
	if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(json, "active")))
		return 0;
	r = rh_call_record_decode(json, &rec, NULL) == 0 &&
	    !RH_CALL_ENDED(rec.state);
	rh_call_record_free(&rec);
	return r;
}

struct jline {
	const char *id;
	size_t seq;
	cJSON *rec;
};

static int
cmp_jline(const void *x, const void *y)
{
	const struct jline *a = x, *b = y;
	int c = strcmp(a->id, b->id);

	return c != 0 ? c : a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * The last record of each call the journal holds as not ended, in id
 * order: an array of the records. A line that does not parse (the end of
 * one torn by the machine going down) is skipped. Sorting, not a lookup
 * per line, keeps it O(n log n) in lines.
 */
cJSON *
record_journal_load(void)
{
	struct rh_buf b = { 0 };
	struct jline *v = NULL;
	const char *p, *end, *nl;
	const cJSON *id;
	size_t n = 0, cap = 0, i;
	cJSON *out = cJSON_CreateArray(), *rec;
	int r;

	if ((r = rh_file_read(JOURNAL, (size_t)1 << 34, &b, NULL)) < 0) {
		if (r != -ENOENT)
			rh_error("%s: cannot read: %s", JOURNAL, strerror(-r));
		return out;
	}
	for (p = b.data, end = b.data + b.len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		rec = rh_json_parse(p, (size_t)(nl - p), JOURNAL, NULL);
		id = cJSON_GetObjectItemCaseSensitive(rec, "call");
		if (!cJSON_IsObject(rec) || !cJSON_IsString(id) ||
		    !rh_call_id_valid(id->valuestring)) {
			cJSON_Delete(rec);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n].id = id->valuestring;
		v[n].seq = n;
		v[n].rec = rec;
		n++;
	}
	rh_buf_free(&b);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_jline);
	for (i = 0; i < n; i++) {
		if ((i + 1 == n || strcmp(v[i].id, v[i + 1].id) != 0) &&
		    record_is_active(v[i].rec))
			cJSON_AddItemToArray(out, v[i].rec);
		else
			cJSON_Delete(v[i].rec);
	}
	free(v);
	return out;
}

/* Write the journal anew with the records of the calls not ended (the
 * old one was read), and keep it open for appending. */
static int
journal_rewrite(struct agent *a)
{
	const struct call_list *lists[] = { &a->running, &a->queued };
	const struct call *c;
	struct rh_call_record rec;
	struct rh_buf b = { 0 };
	cJSON *o;
	char *text;
	size_t i;
	int r, fd;

	for (i = 0; i < 2; i++) {
		for (c = lists[i]->head; c != NULL; c = c->next) {
			record_of(c, &rec);
			/* a restarted agent runs a queued call from this */
			rec.spec_ref = c->spec;
			o = record_json(&rec);
			text = rh_json_print_owned(o, 0);
			cJSON_Delete(o);
			if (text == NULL)
				continue;
			rh_buf_append(&b, text, strlen(text));
			rh_buf_append(&b, "\n", 1);
			free(text);
		}
	}
	r = rh_file_replace(JOURNAL, b.data ? b.data : "", b.len, 0600, 0);
	if (r == 0 && (fd = open(JOURNAL, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		r = -errno;
	if (r == 0) {
		if (a->records.jfd >= 0)
			close(a->records.jfd);
		a->records.jfd = fd;
		a->records.jsize = a->records.jbase = (off_t)b.len;
	}
	rh_buf_free(&b);
	return r;
}

int
record_journal_open(struct agent *a, struct rh_err *err)
{
	int r;

	if ((r = journal_rewrite(a)) < 0)
		return rh_err_set(err, -r, "%s/%s: %s", a->dir, JOURNAL,
		                  strerror(-r));
	return 0;
}

/* Keep the journal small: emptied once no call has been active for
 * JOURNAL_IDLE_MS, rewritten when it has grown well past what it held at
 * its last rewrite. Cheap enough for every turn of the loop. The ms until
 * it looks again, or -1. */
int
record_journal_tidy(struct agent *a)
{
	struct records *rs = &a->records;
	off_t limit = rs->jbase * 4;
	struct timespec now;
	long ms;

	if (a->running.n > 0 || a->queued.n > 0)
		rs->jidle.tv_sec = rs->jidle.tv_nsec = 0;
	if (rs->jfd < 0 || rs->jsize == 0)
		return -1;
	if (a->running.n == 0 && a->queued.n == 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (rs->jidle.tv_sec == 0 && rs->jidle.tv_nsec == 0)
			rs->jidle = now;
		ms = (long)(now.tv_sec - rs->jidle.tv_sec) * 1000 +
		     (now.tv_nsec - rs->jidle.tv_nsec) / 1000000;
		if (ms < JOURNAL_IDLE_MS &&
		    rs->jsize < (off_t)JOURNAL_IDLE_EMPTY)
			return (int)(JOURNAL_IDLE_MS - ms);
		if (ftruncate(rs->jfd, 0) == 0)
			rs->jsize = rs->jbase = 0;
		return -1;
	}
	if (limit < (off_t)JOURNAL_MIN_REWRITE)
		limit = JOURNAL_MIN_REWRITE;
	if (rs->jsize > limit && journal_rewrite(a) < 0)
		rh_error("%s/%s: cannot rewrite", a->dir, JOURNAL);
	return -1;
}

int
record_exists(const char *id)
{
	char *path;
	int r;

	if (the_log != NULL && reclog_has(the_log, id))
		return 1;
	path = status_path(id);
	r = access(path, F_OK);

	free(path);
	if (r < 0) {
		path = record_path(id, "status.json");
		r = access(path, F_OK);
		free(path);
	}
	return r == 0;
}

int
record_load(const char *id, cJSON **json, struct rh_call_record *rec,
            struct rh_err *err)
{
	char *path;
	struct rh_err e;

	rh_call_record_init(rec);
	if ((*json = log_read(id)) == NULL) {   /* as agents before kept it */
		path = status_path(id);
		*json = read_json(path);
		free(path);
	}
	if (*json == NULL)
		*json = record_read(id, "status.json");
	if (*json == NULL)
		return rh_err_set(err, ENOENT, "no call %s", id);
	if (rh_call_record_decode(*json, rec, &e) < 0) {
		rh_warn("call %s: its record does not read: %s", id, e.msg);
		return rh_err_set(err, EIO, "call %s: its record does not "
		                  "read: %s", id, e.msg);
	}
	return 0;
}

int
record_write_ended(const char *id, const struct rh_call_record *rec)
{
	cJSON *o = record_json(rec);
	int r = log_append(id, o);

	cJSON_Delete(o);
	return r;
}

cJSON *
record_read(const char *id, const char *name)
{
	char *path = record_path(id, name);
	cJSON *json = read_json(path);

	free(path);
	return json;
}

/* Where a call's stdout or stderr is now: its worker's file while a
 * Python call runs (pool.c), else in its directory. */
static char *
output_path(const struct call *c, const char *id, const char *stream)
{
	char *path = c != NULL ? pool_output_path(c, stream) : NULL;

	return path != NULL ? path : record_path(id, stream);
}

static long long
file_size(const struct call *c, const char *id, const char *name)
{
	char *path;
	struct stat st;
	int r, i = strcmp(name, "stderr") == 0;

	if (c != NULL && c->state >= CALL_DONE && c->out_size[i] >= 0)
		return c->out_size[i];
	path = output_path(c, id, name);
	r = stat(path, &st);

	free(path);
	return r == 0 ? (long long)st.st_size : 0;
}

/* A Python call's result kept in its record; -ENOENT: none there. */
int
record_result(const char *id, struct rh_buf *out)
{
	struct rh_call_record rec;
	cJSON *json;
	int r = -ENOENT;

	if (record_load(id, &json, &rec, NULL) == 0 &&
	    rec.result_is == RH_RESULT_BYTES) {
		rh_buf_append(out, rec.result.data, rec.result.len);
		r = 0;
	}
	rh_call_record_free(&rec);
	cJSON_Delete(json);
	return r;
}

/* An ended call's result into rec, unless its record has it already. */
static void
add_result(const char *id, const struct call *c, struct rh_call_record *rec)
{
	/* A Python call's result is the JSON its worker sent (c->result,
	 * then in its record) or, a large one, wrote to "result" (pool.c); a
	 * command's is its stdout. */
	/* a command run here has no "result" file: its stdout at once */
	int cmd = c != NULL && c->py == NULL && c->on == NULL &&
	          c->slurm == NULL;
	char *path;
	int r;

	if (c != NULL && c->result != NULL) {
		rec->result_is = RH_RESULT_BYTES;
		rh_buf_append(&rec->result, c->result, strlen(c->result));
		return;
	}
	if (rec->result_is == RH_RESULT_BYTES ||
	    rec->result_is == RH_RESULT_TRUNCATED)
		return;         /* it came with the record (or stayed on the
		                 * worker node that ran it) */
	rec->result.len = 0;
	path = record_path(id, cmd ? "stdout" : "result");
	r = rh_file_read(path, AGENT_RESULT_INLINE, &rec->result, NULL);
	if (r == -ENOENT && !cmd) {
		free(path);
		path = record_path(id, "stdout");
		r = rh_file_read(path, AGENT_RESULT_INLINE, &rec->result,
		                 NULL);
	}
	if (r == 0 || r == -ENOENT) {   /* -ENOENT: it never started */
		if (r == -ENOENT)
			rec->result.len = 0;
		rec->result_is = RH_RESULT_BYTES;
	} else if (r == -EFBIG) {
		rec->result_is = RH_RESULT_TRUNCATED;
	} else {
		rec->result_is = RH_RESULT_NONE;
		rh_warn("call %s: cannot read %s: %s", id, path, strerror(-r));
	}
	free(path);
}

/* A call's record added to into, as record_describe; with send not NULL
 * only if the call is that send's. 1 when added, 0 when not the send's. */
static int
describe(struct agent *a, const char *id, const struct call *c, int what,
         const char *send, cJSON *into, struct rh_err *err)
{
	struct rh_call_record rec;
	cJSON *json = NULL, *old_spec = NULL;
	int r = 1;

	if (!rh_call_id_valid(id))
		return rh_err_set(err, EINVAL, "'%s' is not a call id", id);
	if (c != NULL || (c = call_find(a, id)) != NULL) {
		record_of(c, &rec);
		rec.spec = c->spec;
	} else if ((r = record_load(id, &json, &rec, err)) < 0) {
		goto out;
	}
	r = 1;
	if (send != NULL && (rec.send == NULL || strcmp(rec.send, send) != 0)) {
		r = 0;
		goto out;
	}
	/* pid_start is the agent's own, for its recovery; the spec and
	 * the result come when asked for */
	rec.pid_start = -1;
	if (!(what & RECORD_SPEC))
		rec.spec = NULL;
	else if (rec.spec == NULL && c == NULL)  /* as agents before kept it */
		rec.spec = old_spec = record_read(id, "spec.json");
	if (!(RH_CALL_ENDED(rec.state) && (what & RECORD_RESULT))) {
		rec.result_is = RH_RESULT_NONE;
		rec.result.len = 0;
	}
	/* a call run on a worker node has its sizes in its record */
	if (rec.stdout_size < 0)
		rec.stdout_size = file_size(c, id, "stdout");
	if (rec.stderr_size < 0)
		rec.stderr_size = file_size(c, id, "stderr");
	if (RH_CALL_ENDED(rec.state) && (what & RECORD_RESULT))
		add_result(id, c, &rec);
	rh_call_record_encode(into, &rec);
out:
	rh_call_record_free(&rec);
	cJSON_Delete(old_spec);
	cJSON_Delete(json);
	return r;
}

int
record_describe(struct agent *a, const char *id, const struct call *c,
                cJSON *into, int what, struct rh_err *err)
{
	int r = describe(a, id, c, what, NULL, into, err);

	return r < 0 ? r : 0;
}

int
record_output(struct agent *a, const char *id, const char *stream,
              uint64_t off, size_t len, struct rh_bytes_reply *out,
              struct rh_err *err)
{
	const struct call *c;
	struct stat st;
	char *path, *data;
	ssize_t n = 0;
	int fd, active;

	if (!rh_call_id_valid(id))
		return rh_err_set(err, EINVAL, "'%s' is not a call id", id);
	if (strcmp(stream, "stdout") != 0 && strcmp(stream, "stderr") != 0 &&
	    strcmp(stream, "result") != 0)
		return rh_err_set(err, EINVAL, "'stream' must be \"stdout\", "
		                  "\"stderr\" or \"result\"");
	c = call_find(a, id);
	active = c != NULL;
	if (!active && !record_exists(id))
		return rh_err_set(err, ENOENT, "no call %s", id);
	/* "result": a large Python result's file, else (a command's) stdout */
	path = output_path(c, id, stream);
	data = xmalloc(len + 1);
	st.st_size = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 && errno == ENOENT &&
	    strcmp(stream, "result") == 0) {
		free(path);
		path = record_path(id, "stdout");
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > off)
			n = pread(fd, data, len, (off_t)off);
		close(fd);
	}
	free(path);
	if (n < 0) {
		free(data);
		return rh_err_set(err, EIO, "cannot read the call's %s: %s",
		                  stream, strerror(errno));
	}
	rh_buf_append(out->data, data, (size_t)n);
	free(data);
	out->offset = (long long)off;
	out->size = (long long)st.st_size;
	out->eof = !active && off + (uint64_t)n >= (uint64_t)st.st_size;
	return 0;
}

static int
cmp_names(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sort ids and drop repeats. */
static void
ids_unique(char **v, size_t *n)
{
	size_t i, k;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), cmp_names);
	for (i = 1, k = 1; i < *n; i++) {
		if (strcmp(v[i], v[k - 1]) == 0)
			free(v[i]);
		else
			v[k++] = v[i];
	}
	*n = k;
}

/* The valid call ids in a directory, sorted, once each: names ID (a
 * call's directory, an active/ mark) and ID.json (an older agent's
 * record). */
char **
record_ids(const char *dir, size_t *count)
{
	struct dirent *de;
	char **v = NULL, name[32];
	size_t n = 0, cap = 0, len;
	DIR *d;

	*count = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > 5 && len - 5 < sizeof(name) &&
		    strcmp(de->d_name + len - 5, ".json") == 0) {
			memcpy(name, de->d_name, len - 5);
			name[len - 5] = '\0';
		} else if (len < sizeof(name))
			memcpy(name, de->d_name, len + 1);
		else
			continue;
		if (!rh_call_id_valid(name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xrealloc(v, cap * sizeof(*v));
		}
		v[n++] = xstrdup(name);
	}
	closedir(d);
	ids_unique(v, &n);      /* a command's call has both */
	*count = n;
	return v;
}

void
record_ids_free(char **v, size_t n)
{
	while (n > 0)
		free(v[--n]);
	free(v);
}

void
record_history(struct agent *a, const char *send, const char *before,
               size_t limit, cJSON *into)
{
	const struct call_list *lists[] = { &a->queued, &a->running };
	cJSON *arr = cJSON_AddArrayToObject(into, "calls"), *rec;
	size_t n, i, got = 0, k;
	char **ids = record_ids(AGENT_CALLS, &n);
	const struct call *c;

	/* the log's, beside calls/ID and an older agent's calls/ID.json */
	if (the_log != NULL)
		ids = reclog_ids(the_log, ids, &n);

	/* active calls, of which a Python one has nothing on disk yet */
	for (k = 0; k < 2; k++) {
		for (c = lists[k]->head; c != NULL; c = c->next) {
			ids = xrealloc(ids, (n + 1) * sizeof(*ids));
			ids[n++] = xstrdup(c->id);
		}
	}
	ids_unique(ids, &n);
	for (i = n; i > 0 && got < limit; i--) {
		if (before != NULL && strcmp(ids[i - 1], before) >= 0)
			continue;
		rec = cJSON_CreateObject();
		if (describe(a, ids[i - 1], NULL, 0, send, rec, NULL) <= 0) {
			cJSON_Delete(rec);
			continue;
		}
		cJSON_AddItemToArray(arr, rec);
		got++;
	}
	record_ids_free(ids, n);
}

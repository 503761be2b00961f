/* calls.c - a send's calls/: one directory per call the agent keeps for
 * it, `latest` a symlink to the newest, and in each call's directory its
 * spec (the request as the agent got it), status, result (blocks until
 * the call ends), stdout and stderr (follow the output while the call
 * runs) and ctl (write "cancel"). A result too large for the agent's
 * reply (over 1 MiB) is read by parts (output stream "result"). A call
 * held while its on-demand cluster is launched (calls-held.c) is listed
 * and described from what rhfs holds; reads of its result and output
 * wait, parked, until it reaches the agent. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "proto.h"
#include "rns.h"
#include "link.h"
#include "requests.h"
#include "callrecord.h"
#include "rhfs.h"

#define FOLLOW_WAIT_MS 30000    /* each long poll; the agent caps it */
#define FOLLOW_POLL_MS 50       /* an agent that cannot wait: ask again */
#define FETCH_PART (2u * 1024 * 1024)   /* the agent's most per "output" */

/* h->stage of a call's files */
enum call_stage {
	STAGE_OPEN = 0,         /* nothing asked yet */
	STAGE_FETCHED,          /* result: all of it is in h->buf */
	STAGE_BY_PARTS,         /* result: too large, read by parts */
	STAGE_AGENT_WAITS,      /* stdout, stderr: the agent holds requests */
};

/* The agent and the send's address for a node below calls/. */
static int
calls_agent(struct fs *fs, struct node *calls, char **addr,
            struct rh_rpc **rpc, struct rh_err *err)
{
	cJSON *cfg;
	int r;

	if ((r = res_load(fs, calls->parent, addr, &cfg, err)) < 0)
		return r;
	r = res_agent(fs, *addr, cfg, rpc, err);
	cJSON_Delete(cfg);
	if (r < 0) {
		free(*addr);
		*addr = NULL;
	}
	return r;
}

/* What rhfs holds of the send's call id (HELD_*); *real, once it is the
 * agent's, the id the node knows it by. */
static int
held_of(struct fs *fs, struct node *calls, const char *id, char **real,
        void (*fn)(void *arg), void *arg)
{
	char *addr = res_address(fs, calls->parent, NULL);
	int r = held_lookup(fs, addr, id, real, fn, arg);

	free(addr);
	return r;
}

/* The id the agent knows the call id by: the same, but for a call held
 * for a launch that the node gave another. */
static char *
agent_id(struct fs *fs, struct node *calls, const char *id)
{
	char *real;

	if (held_of(fs, calls, id, &real, NULL, NULL) == HELD_SENT)
		return real;
	return xstrdup(id);
}

static int
ask(struct rh_rpc *rpc, cJSON *req, int timeout_ms, cJSON **reply)
{
	int r = rh_rpc_call_wait(rpc, req, timeout_ms, reply);

	cJSON_Delete(req);
	return r;
}

static int
calls_list(struct fs *fs, struct node *calls, rh_list_cb cb, void *arg,
           char **latest)
{
	struct rh_list_req lq = { NULL, NULL, 1000 };
	struct rh_call_record rec;
	struct rh_rpc *rpc;
	struct rh_err err;
	const cJSON *arr, *o;
	cJSON *req, *reply;
	char *addr;
	int r, any;

	*latest = NULL;
	addr = res_address(fs, calls->parent, NULL);
	held_list(fs, addr, cb, arg, latest, &any);
	free(addr);
	if ((r = calls_agent(fs, calls, &addr, &rpc, &err)) < 0) {
		/* its cluster is being launched: the calls held are all */
		if (any)
			return 0;
		rh_warn("%s", err.msg);
		return r;
	}
	lq.send = addr;
	req = rh_list_req_encode(&lq);
	if ((r = ask(rpc, req, 10000, &reply)) < 0) {
		free(addr);
		return r;
	}
	arr = cJSON_GetObjectItemCaseSensitive(reply, "calls");
	cJSON_ArrayForEach(o, arr) {
		if (rh_call_record_decode(o, &rec, &err) < 0) {
			rh_warn("%s/calls: the agent listed a call that is "
			        "not one: %s", lq.send, err.msg);
			rh_call_record_free(&rec);
			continue;
		}
		/* ids sort by time: the greatest is the newest */
		if (*latest == NULL || strcmp(rec.call, *latest) > 0) {
			free(*latest);
			*latest = xstrdup(rec.call);
		}
		cb(arg, rec.call, RH_FOLDER);
		rh_call_record_free(&rec);
	}
	free(addr);
	cJSON_Delete(reply);
	return 0;
}

/* calls_fetch: "output" requests one after another, from the I/O
 * thread's callbacks, until the end of the call's stdout. */
struct fetch {
	struct rh_rpc *rpc;
	char *id;
	size_t max;
	struct rh_buf *into;
	void (*done)(void *arg, int err);
	void *arg;
};

static int fetch_next(struct fetch *f);

static void
fetch_end(struct fetch *f, int err)
{
	f->done(f->arg, err);
	free(f->id);
	free(f);
}

static void
fetch_cb(void *arg, int err, const cJSON *msg, int final)
{
	struct fetch *f = arg;
	struct rh_bytes_reply b = { f->into, 0, 0, -1, -1 };
	size_t before = f->into->len;

	if (!final)
		return;
	if (err == 0 && rh_bytes_reply_decode(msg, &b, NULL) < 0)
		err = -EIO;
	if (err < 0)
		fetch_end(f, err);
	else if (f->into->len > f->max)
		fetch_end(f, -EFBIG);
	else if (b.eof > 0 || f->into->len == before)
		fetch_end(f, 0);
	else if ((err = fetch_next(f)) < 0)
		fetch_end(f, err);
}

static int
fetch_next(struct fetch *f)
{
	struct rh_output_req q = { f->id, "result", (long long)f->into->len,
	                           FETCH_PART, 0 };
	cJSON *req = rh_output_req_encode(&q);
	int r;

	r = rh_rpc_call(f->rpc, req, fetch_cb, f);
	cJSON_Delete(req);
	return r;
}

void
calls_fetch(struct rh_rpc *rpc, const char *id, size_t max,
            struct rh_buf *into, void (*done)(void *arg, int err), void *arg)
{
	struct fetch *f = xcalloc(1, sizeof(*f));
	int r;

	f->rpc = rpc;
	f->id = xstrdup(id);
	f->max = max;
	f->into = into;
	f->done = done;
	f->arg = arg;
	if ((r = fetch_next(f)) < 0)
		fetch_end(f, r);
}

/* The record of one call (without its result), or -ENOENT. */
static int
call_get(struct fs *fs, struct node *calls, const char *id, int wait,
         int result, int spec, cJSON **reply)
{
	struct rh_get_req gq;
	struct rh_rpc *rpc;
	struct rh_err err;
	cJSON *req;
	char *addr, *real = NULL;
	int r;

	*reply = NULL;
	if (rh_name_check(id, NULL) < 0)
		return -ENOENT;
	r = held_of(fs, calls, id, &real, NULL, NULL);
	if (r == HELD_WAITING || r == HELD_ENDED) {
		addr = res_address(fs, calls->parent, NULL);
		*reply = held_record(fs, addr, id, spec);
		free(addr);
		if (*reply != NULL)
			return 0;
		/* sent meanwhile: the agent's */
		real = agent_id(fs, calls, id);
	}
	if ((r = calls_agent(fs, calls, &addr, &rpc, &err)) < 0) {
		rh_warn("%s", err.msg);
		free(real);
		return r;
	}
	free(addr);
	gq.call = real ? real : id;
	gq.wait = wait;
	gq.result = result;
	gq.spec = spec;
	req = rh_get_req_encode(&gq);
	free(real);
	r = ask(rpc, req, wait ? 0 : 10000, reply);
	return r == -EINVAL ? -ENOENT : r;
}

static int
calls_exists(struct fs *fs, struct node *calls, const char *id)
{
	cJSON *reply;
	int r = call_get(fs, calls, id, 0, 0, 0, &reply);

	cJSON_Delete(reply);
	return r;
}

/* Files of a call: the call is the handle's node's parent's name. */
static const char *
call_id(const struct handle *h)
{
	return h->node->parent->name;
}

static struct node *
calls_dir(const struct handle *h)
{
	return h->node->parent->parent;
}

/* status (the record) or spec (the request), fetched at open. status
 * shows the record as the agent sent it (a newer agent's fields too),
 * once it has read as one. */
static int
record_open(struct fs *fs, struct handle *h, int spec, struct rh_err *err)
{
	struct rh_call_record rec;
	struct rh_err e;
	const cJSON *part;
	cJSON *reply;
	char *s;
	int r;

	if ((r = call_get(fs, calls_dir(h), call_id(h), 0, 0, spec,
	                  &reply)) < 0)
		return rh_err_set(err, -r, "call %s: %s", call_id(h),
		                  strerror(-r));
	cJSON_DeleteItemFromObjectCaseSensitive(reply, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(reply, "op");
	cJSON_DeleteItemFromObjectCaseSensitive(reply, "ok");
	if (rh_call_record_decode(reply, &rec, &e) < 0) {
		rh_call_record_free(&rec);
		cJSON_Delete(reply);
		return rh_err_set(err, EIO, "call %s: the agent's record: %s",
		                  call_id(h), e.msg);
	}
	part = spec ? rec.spec : reply;
	if (part == NULL) {
		rh_call_record_free(&rec);
		cJSON_Delete(reply);
		return rh_err_set(err, EIO, "call %s: the agent kept no spec",
		                  call_id(h));
	}
	s = rh_json_pretty(part);
	rh_buf_append(&h->buf, s, strlen(s));
	free(s);
	rh_call_record_free(&rec);
	cJSON_Delete(reply);
	return 0;
}

static int
status_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	return record_open(fs, h, 0, err);
}

static int
spec_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	return record_open(fs, h, 1, err);
}

static void
buf_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	reply_slice(req, &h->buf, size, off);
}

/* result: fetched once per open, waiting for the call to end unless the
 * file was opened O_NONBLOCK. The read is parked, holding no thread, until
 * the agent answers; Ctrl-C ends it with EINTR. */
struct result_wait {
	struct parked p;        /* first: parked_interrupted's arg */
	char *id;               /* the agent's id of the call */
	int part;               /* the reply is a part of stdout */
	fuse_req_t req;
	struct handle *h;       /* valid only while req is unanswered */
	size_t size;
	off_t off;
};

static void
wait_free(struct result_wait *w)
{
	if (!parked_release(&w->p))
		return;
	free(w->id);
	free(w);
}

/* A read of a held call's result, stdout or stderr, parked until the
 * call reaches the agent (or ends without): then read again. */
struct held_read {
	struct parked p;        /* first: parked_interrupted's arg */
	fuse_req_t req;
	struct handle *h;       /* valid only while req is unanswered */
	size_t size;
	off_t off;
	void (*read)(fuse_req_t req, struct handle *h, size_t size, off_t off);
};

static void
held_read_put(struct held_read *hr)
{
	if (parked_release(&hr->p))
		free(hr);
}

static void
held_read_go(void *arg)
{
	struct held_read *hr = arg;

	if (parked_claim(&hr->p)) {
		fuse_req_interrupt_func(hr->req, NULL, NULL);
		hr->read(hr->req, hr->h, hr->size, hr->off);
	}
	held_read_put(hr);
}

/* Before a read of a call's result or output goes to the agent: 1 when
 * the call is held (req parked until it is sent, or answered: EAGAIN for
 * O_NONBLOCK, end of file for a call that ended unsent, EINTR); 0 to go
 * on, with the agent's id in *id. */
static int
held_park(fuse_req_t req, struct handle *h, size_t size, off_t off,
          void (*read)(fuse_req_t, struct handle *, size_t, off_t),
          char **id)
{
	struct held_read *hr = xcalloc(1, sizeof(*hr));
	int nonblock = (h->flags & O_NONBLOCK) != 0, st, mine = 1;
	char *real;

	*id = NULL;
	parked_init(&hr->p);    /* this function's */
	parked_hold(&hr->p);    /* the wait's */
	hr->req = req;
	hr->h = h;
	hr->size = size;
	hr->off = off;
	hr->read = read;
	if (!nonblock)
		fuse_req_interrupt_func(req, parked_interrupted, hr);
	st = held_of(h->fs, calls_dir(h), call_id(h), &real,
	             nonblock ? NULL : held_read_go, hr);
	if (st != HELD_WAITING || nonblock) {
		held_read_put(hr);      /* no wait */
		if (!nonblock && (mine = parked_claim(&hr->p)))
			fuse_req_interrupt_func(req, NULL, NULL);
	}
	held_read_put(hr);
	if (st == HELD_WAITING && !nonblock)
		return 1;               /* parked */
	if (!mine) {
		free(real);
		return 1;               /* interrupted: answered */
	}
	if (st == HELD_WAITING) {
		fuse_reply_err(req, EAGAIN);
		return 1;
	}
	if (st == HELD_ENDED) {
		fuse_reply_buf(req, NULL, 0);
		return 1;
	}
	*id = st == HELD_SENT ? real : xstrdup(call_id(h));
	return 0;
}

static cJSON *
part_request(const char *id, size_t size, off_t off)
{
	struct rh_output_req q = { id, "result", (long long)off,
	                           (long long)size, 0 };

	return rh_output_req_encode(&q);
}

/* The agent answered (or the stream broke): w is ours alone to free. */
static void
result_cb(void *arg, int err, const cJSON *msg, int final)
{
	struct result_wait *w = arg;
	struct handle *h = w->h;
	struct rh_call_record rec;
	struct rh_rpc *rpc;
	struct rh_err e;
	cJSON *req;
	char *addr;
	int r;

	if (!final)
		return;
	rh_call_record_init(&rec);
	if (!w->part && err == 0 &&
	    rh_call_record_decode(msg, &rec, &e) < 0) {
		rh_warn("call %s: the agent's record: %s", w->id, e.msg);
		err = -EIO;
	}
	if (!w->part && err == 0 && RH_CALL_ENDED(rec.state) &&
	    rec.result_is == RH_RESULT_TRUNCATED) {
		/* too large for a reply: this read and the next ones ask
		 * for the part of the result they want. h is still ours: the
		 * read is not answered. */
		h->stage = STAGE_BY_PARTS;
		w->part = 1;
		if ((r = calls_agent(h->fs, calls_dir(h), &addr, &rpc,
		                     &e)) == 0) {
			free(addr);
			req = part_request(w->id, w->size, w->off);
			r = rh_rpc_call(rpc, req, result_cb, w);
			cJSON_Delete(req);
		}
		if (r == 0) {
			rh_call_record_free(&rec);
			return;         /* w goes on */
		}
		err = r;
	}
	if (parked_claim(&w->p)) {
		/* no interrupt may run with w after this */
		fuse_req_interrupt_func(w->req, NULL, NULL);
		if (err < 0) {
			fuse_reply_err(w->req, -err);
		} else if (w->part) {
			struct rh_buf part = { 0 };
			struct rh_bytes_reply b = { &part, 0, 0, -1, -1 };

			/* h may be freed once the reader has its bytes */
			if (rh_bytes_reply_decode(msg, &b, NULL) < 0)
				fuse_reply_err(w->req, EIO);
			else
				fuse_reply_buf(w->req, part.data, part.len);
			rh_buf_free(&part);
		} else if (!RH_CALL_ENDED(rec.state)) {
			fuse_reply_err(w->req, EAGAIN);
		} else {
			h->buf.len = 0;
			if (rec.result_is == RH_RESULT_BYTES)
				rh_buf_append(&h->buf, rec.result.data,
				              rec.result.len);
			h->stage = STAGE_FETCHED;
			reply_slice(w->req, &h->buf, w->size, w->off);
		}
	}
	rh_call_record_free(&rec);
	wait_free(w);
}

static void
result_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct rh_get_req gq = { NULL, 0, 1, 0 };
	struct rh_bytes_reply pb = { NULL, 0, 0, -1, -1 };
	struct result_wait *w;
	struct rh_rpc *rpc;
	struct rh_err err;
	cJSON *creq;
	char *addr;
	struct rh_buf part = { 0 };
	cJSON *reply;
	char *id;
	int r, nonblock = (h->flags & O_NONBLOCK) != 0;

	if (h->stage == STAGE_BY_PARTS) {
		if ((r = calls_agent(h->fs, calls_dir(h), &addr, &rpc,
		                     &err)) == 0) {
			free(addr);
			id = agent_id(h->fs, calls_dir(h), call_id(h));
			r = ask(rpc, part_request(id, size, off), 10000,
			        &reply);
			free(id);
		}
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		pb.data = &part;
		r = rh_bytes_reply_decode(reply, &pb, NULL);
		cJSON_Delete(reply);
		if (r < 0)
			fuse_reply_err(req, EIO);
		else
			fuse_reply_buf(req, part.data, part.len);
		rh_buf_free(&part);
		return;
	}
	if (h->stage == STAGE_FETCHED) {
		reply_slice(req, &h->buf, size, off);
		return;
	}
	if (held_park(req, h, size, off, result_read, &id))
		return;
	if ((r = calls_agent(h->fs, calls_dir(h), &addr, &rpc, &err)) < 0) {
		free(id);
		fuse_reply_err(req, -r);
		return;
	}
	free(addr);
	w = xcalloc(1, sizeof(*w));
	parked_init(&w->p);     /* the agent's answer's */
	w->id = id;
	w->req = req;
	w->h = h;
	w->size = size;
	w->off = off;
	gq.call = w->id;
	gq.wait = !nonblock;
	creq = rh_get_req_encode(&gq);
	fuse_req_interrupt_func(req, parked_interrupted, w);
	r = rh_rpc_call(rpc, creq, result_cb, w);
	cJSON_Delete(creq);
	if (r < 0) {
		if (parked_claim(&w->p)) {
			fuse_req_interrupt_func(req, NULL, NULL);
			fuse_reply_err(req, -r);
		}
		wait_free(w);
	}
}

/* stdout, stderr: bytes at off; when there are none yet and the call
 * still runs, the read waits for more. The wait is the agent's: an
 * "output" request with wait_ms, answered as soon as the file grows or
 * the call ends (empty after a while, when it is asked again), so the
 * read is parked, holding no thread. Ctrl-C ends it with EINTR; O_NONBLOCK
 * gives EAGAIN. An agent too old to hold the request is asked every
 * FOLLOW_POLL_MS instead, as before. */

static cJSON *
output_request(const char *call, const char *stream, uint64_t off,
               size_t size, int wait_ms)
{
	struct rh_output_req q = { call, stream, (long long)off,
	                           (long long)size, wait_ms };

	return rh_output_req_encode(&q);
}

/* Park req until the agent has bytes at off or the call ends. */
static void
follow_park(fuse_req_t req, struct handle *h, struct rh_rpc *rpc,
            const char *id, size_t size, off_t off)
{
	parked_poll(req, rpc, output_request(id, h->node->name,
	                                     (uint64_t)off, size,
	                                     FOLLOW_WAIT_MS), 1);
}

static void
output_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	const char *stream = h->node->name;
	struct rh_bytes_reply ob = { NULL, 0, 0, -1, -1 };
	struct rh_rpc *rpc;
	struct rh_err err;
	struct rh_buf data = { 0 };
	cJSON *reply;
	char *addr, *id;
	int r, waits, eof, nonblock = (h->flags & O_NONBLOCK) != 0;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (size == 0)
		size = 1;
	if (held_park(req, h, size, off, output_read, &id))
		return;
	if ((r = calls_agent(h->fs, calls_dir(h), &addr, &rpc, &err)) < 0) {
		free(id);
		fuse_reply_err(req, -r);
		return;
	}
	free(addr);
	if (h->stage == STAGE_AGENT_WAITS && !nonblock) {
		follow_park(req, h, rpc, id, size, off);
		free(id);
		return;
	}
	/* A first look, which also tells whether the agent can wait. */
	for (;;) {
		if ((r = ask(rpc, output_request(id, stream, (uint64_t)off,
		                                 size, 0),
		             10000, &reply)) < 0) {
			free(id);
			fuse_reply_err(req, -r);
			return;
		}
		data.len = 0;
		ob.data = &data;
		r = rh_bytes_reply_decode(reply, &ob, NULL);
		cJSON_Delete(reply);
		if (r < 0) {
			rh_buf_free(&data);
			free(id);
			fuse_reply_err(req, EIO);
			return;
		}
		waits = ob.wait_ms >= 0;
		if (waits)
			h->stage = STAGE_AGENT_WAITS;
		eof = ob.eof > 0;
		r = data.len > 0 || eof || nonblock;
		if (r)
			break;
		if (waits) {
			rh_buf_free(&data);
			follow_park(req, h, rpc, id, size, off);
			free(id);
			return;
		}
		if (fuse_req_interrupted(req)) {
			rh_buf_free(&data);
			free(id);
			fuse_reply_err(req, EINTR);
			return;
		}
		usleep(FOLLOW_POLL_MS * 1000);
	}
	free(id);
	if (data.len == 0 && nonblock && !eof)
		fuse_reply_err(req, EAGAIN);
	else
		fuse_reply_buf(req, data.data, data.len);
	rh_buf_free(&data);
}

static void
ctl_write(fuse_req_t req, struct handle *h, const char *data, size_t size,
          off_t off)
{
	struct rh_cancel_req cq;
	struct rh_rpc *rpc;
	struct rh_err err;
	cJSON *creq, *reply;
	char *addr, *id, *cmd = xstrndup(data, size);
	size_t n;
	int r;

	n = strlen(cmd);
	while (n > 0 && strchr(" \t\r\n", cmd[n - 1]))
		cmd[--n] = '\0';
	if (strcmp(cmd, "cancel") != 0) {
		/* named by address: the send's errors shows it */
		addr = res_address(h->fs, calls_dir(h)->parent, NULL);
		rh_warn("refused: %s/calls/%s/ctl: takes 'cancel', not '%s'",
		        addr, call_id(h), cmd);
		free(addr);
		free(cmd);
		fuse_reply_err(req, EINVAL);
		return;
	}
	free(cmd);
	/* a call held for its cluster's launch never runs */
	addr = res_address(h->fs, calls_dir(h)->parent, NULL);
	r = held_cancel(h->fs, addr, call_id(h));
	free(addr);
	if (r != -ENOENT) {
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_write(req, size);
		return;
	}
	if ((r = calls_agent(h->fs, calls_dir(h), &addr, &rpc, &err)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	free(addr);
	id = agent_id(h->fs, calls_dir(h), call_id(h));
	cq.call = id;
	creq = rh_cancel_req_encode(&cq);
	free(id);
	r = ask(rpc, creq, 10000, &reply);
	cJSON_Delete(reply);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

/* ---- the kinds: calls/, calls/ID/ and its files, calls/latest ---- */

static const struct fs_kind call_files[] = {
	{ .name = "spec", .mode = 0444, .open = spec_open, .read = buf_read,
	  .truncate = stream_truncate },
	{ .name = "status", .mode = 0444, .open = status_open,
	  .read = buf_read, .truncate = stream_truncate },
	{ .name = "result", .mode = 0444, .read = result_read,
	  .truncate = stream_truncate },
	{ .name = "stdout", .mode = 0444, .nonseekable = 1,
	  .read = output_read, .truncate = stream_truncate },
	{ .name = "stderr", .mode = 0444, .nonseekable = 1,
	  .read = output_read, .truncate = stream_truncate },
	{ .name = "ctl", .mode = 0200, .nonseekable = 1, .write = ctl_write,
	  .truncate = stream_truncate },
};

#define NCALL_FILES (sizeof(call_files) / sizeof(call_files[0]))

static int
call_lookup(struct fs *fs, struct node *dir, const char *name,
            struct found *f)
{
	size_t i;

	for (i = 0; i < NCALL_FILES; i++)
		if (strcmp(call_files[i].name, name) == 0) {
			f->kind = &call_files[i];
			return 0;
		}
	return -ENOENT;
}

static int
call_readdir(struct fs *fs, struct node *dir, struct dirsnap *d)
{
	size_t i;

	for (i = 0; i < NCALL_FILES; i++)
		dirsnap_add(d, call_files[i].name, S_IFREG);
	return 0;
}

/* calls/ID/ */
static const struct fs_kind kind_call = {
	.name = "calls/ID",
	.mode = 0555,
	.fmt = S_IFDIR,
	.lookup = call_lookup,
	.readdir = call_readdir,
};

static int
ignore_name(void *arg, const char *name, enum rh_kind kind)
{
	return 0;
}

/* calls/latest: the newest call's id, or -ENOENT when there is none. */
static int
latest_readlink(struct fs *fs, struct node *n, char **target)
{
	int r = calls_list(fs, n->parent, ignore_name, NULL, target);

	return r < 0 ? r : *target == NULL ? -ENOENT : 0;
}

static int
latest_getattr(struct fs *fs, struct node *n, struct handle *h,
               struct stat *st)
{
	char *target;
	int r = latest_readlink(fs, n, &target);

	if (r == 0)
		st->st_size = (off_t)strlen(target);
	free(target);
	return r;
}

static const struct fs_kind kind_latest = {
	.name = "calls/latest",
	.mode = 0777,
	.fmt = S_IFLNK,
	.getattr = latest_getattr,
	.readlink = latest_readlink,
};

static int
calls_lookup(struct fs *fs, struct node *dir, const char *name,
             struct found *f)
{
	if (strcmp(name, "latest") == 0) {
		f->kind = &kind_latest;
		return 0;
	}
	f->kind = &kind_call;
	return calls_exists(fs, dir, name);
}

static int
calls_readdir(struct fs *fs, struct node *dir, struct dirsnap *d)
{
	char *latest = NULL, *name;
	int r;

	if ((r = calls_list(fs, dir, dirsnap_cb, d, &latest)) == 0 &&
	    latest != NULL)
		dirsnap_add(d, "latest", S_IFLNK);
	free(latest);
	if (r < 0) {
		name = node_name(fs, dir);
		if (store_is_gone(fs, dir->parent, name))
			r = 0;  /* its send is gone: empty, for rm -r */
		free(name);
	}
	return r;
}

const struct fs_kind kind_calls = {
	.name = "calls",
	.mode = 0555,
	.fmt = S_IFDIR,
	.lookup = calls_lookup,
	.readdir = calls_readdir,
};

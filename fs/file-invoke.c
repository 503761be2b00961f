/* file-invoke.c - files that run calls: a send's invoke here, a cluster's
 * run and python in file-run.c (struct call_stream says what differs). Writing
 * submits calls; write() returns once the agent has accepted
 * every call of it, and bad input fails that write() with EINVAL and
 * submits nothing. Reading the same open file gives each call's answer,
 * in the order submitted, blocking until it is there: a stream.
 *   invoke: each line is a call spec (an object {"args", "kwargs",
 *           "queue"}, or an array of positional args); the answer is one
 *           line per call. A last line without its newline waits for the
 *           rest in the next write (the kernel cuts long writes), unless
 *           it already is a whole JSON object or array. A line over the
 *           limit fails, and so does the rest of it (line_limit).
 *           {"$ref": "<send>/calls/ID"} as a value passes that call's
 *           result; the agent puts it in when the call starts.
 *           {"$data": "<folder>"} passes the data's place where the
 *           call runs; rhfs puts it in (data-args.c). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "proto.h"
#include "callrecord.h"
#include "slurmres.h"
#include "rns.h"
#include "link.h"
#include "rhfs.h"

struct slot {
	struct invoke *inv;
	cJSON *req;             /* kept until accepted, to send again */
	int accepted, done;
	int lost, resent;       /* the stream broke before it was accepted */
	int data_later;         /* a $data waits for the node's home */
	struct rh_buf line;     /* the result line, once done */
	cJSON *big;             /* the reply of a result fetched by parts */
	struct rh_buf result;   /* the parts */
	struct held *held;      /* written while its cluster was launched */
};

/* Most of a result an invoke line holds; read a larger one from
 * calls/ID/result. */
#define INVOKE_RESULT_MAX (64u * 1024 * 1024)
/* An invoke handle that held this many calls gives its memory back to
 * the system when closed. */
#define INVOKE_TRIM_SLOTS 1000
/* Longest line (a call spec) buffered across writes. */
#define INVOKE_LINE_MAX RH_PROTO_FRAME_MAX

struct invoke {
	const struct call_stream *kind;
	pthread_mutex_t lock;
	pthread_cond_t accepted;        /* write_left went down */
	int refs;               /* the handle, and each call in flight */
	int nonblock;
	char *addr;             /* the send */
	cJSON *cfg;
	struct rh_rpc *rpc;
	struct slot **slots;
	size_t nslots, slots_cap, next, off; /* next line to read, and where */
	fuse_req_t read_req;    /* a parked read */
	size_t read_size;
	int write_left, write_err;      /* of the write being accepted */
	struct fs *fs;
	struct rh_buf partial;  /* a line not yet ended by its newline */
	int overlong;           /* a line passed INVOKE_LINE_MAX: writes fail
	                         * until one ends it */
	size_t last_size;       /* of the last write judged: one of at least
	                         * WRITE_PIECE_MIN may go on in the next */
	char *link;             /* res_link_key of the send, for $refs */
	char *home;             /* the node's, once asked for a $data */
	/* calls held while the send's cluster is launched, in order, and
	 * the thread that sends them once it is up (holding) */
	struct slot **held;
	size_t nheld, held_cap;
	int holding;
	unsigned ticket;        /* of the launch (cluster_wait) */
};

static void
inv_put(struct invoke *inv)
{
	size_t i;
	int left, many;

	pthread_mutex_lock(&inv->lock);
	left = --inv->refs;
	pthread_mutex_unlock(&inv->lock);
	if (left > 0)
		return;
	many = inv->nslots >= INVOKE_TRIM_SLOTS;
	for (i = 0; i < inv->nslots; i++) {
		rh_buf_free(&inv->slots[i]->line);
		rh_buf_free(&inv->slots[i]->result);
		cJSON_Delete(inv->slots[i]->big);
		secret_env_free(inv->slots[i]->req);   /* secret_env */
		free(inv->slots[i]);
	}
	free(inv->slots);
	free(inv->held);
	rh_buf_free(&inv->partial);
	free(inv->link);
	free(inv->home);
	cJSON_Delete(inv->cfg);
	free(inv->addr);
	pthread_mutex_destroy(&inv->lock);
	pthread_cond_destroy(&inv->accepted);
	free(inv);
	/* A map leaves its memory spread over the arenas of the threads that
	 * held it: give it back, or rhfs stays at its largest map's size. */
	if (many)
		malloc_trim(0);
}

static const struct call_stream send_stream;
static int submit_whole(struct invoke *inv, struct rh_err *err);

const char *
invoke_addr(const struct invoke *inv)
{
	return inv->addr;
}

int
call_stream_open(struct fs *fs, struct handle *h,
                 const struct call_stream *kind, struct rh_err *err)
{
	struct invoke *inv = xcalloc(1, sizeof(*inv));
	int r;

	inv->kind = kind;
	if ((r = res_load(fs, h->node->parent, &inv->addr, &inv->cfg,
	                  err)) < 0) {
		free(inv);
		return r;
	}
	pthread_mutex_init(&inv->lock, NULL);
	pthread_cond_init(&inv->accepted, NULL);
	inv->refs = 1;
	inv->fs = fs;
	inv->nonblock = (h->flags & O_NONBLOCK) != 0;
	h->priv = inv;
	return 0;
}

static int
invoke_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	return call_stream_open(fs, h, &send_stream, err);
}

/* Contiguous finished lines from the read position, at most size bytes.
 * Called with inv->lock held. */
static size_t
take(struct invoke *inv, char *out, size_t size)
{
	size_t n = 0, k;
	struct slot *s;

	while (n < size && inv->next < inv->nslots &&
	       (s = inv->slots[inv->next])->done) {
		k = s->line.len - inv->off;
		if (k > size - n)
			k = size - n;
		memcpy(out + n, s->line.data + inv->off, k);
		n += k;
		inv->off += k;
		if (inv->off == s->line.len) {
			inv->next++;
			inv->off = 0;
			/* read: only the slot's flags are looked at again, so
			 * that an open invoke keeps little per call */
			rh_buf_free(&s->line);
			rh_buf_free(&s->result);
			cJSON_Delete(s->big);
			s->big = NULL;
			secret_env_free(s->req);
			s->req = NULL;
		}
	}
	return n;
}

/* Answer the parked read if its data is there. Called with the lock;
 * returns the request to answer after unlocking (or NULL). */
static fuse_req_t
ready_read(struct invoke *inv, char **data, size_t *len)
{
	fuse_req_t req = inv->read_req;

	*data = NULL;
	*len = 0;
	if (req == NULL)
		return NULL;
	*data = xmalloc(inv->read_size);
	*len = take(inv, *data, inv->read_size);
	if (*len == 0 && inv->next < inv->nslots) {
		free(*data);
		*data = NULL;
		return NULL;    /* still waiting */
	}
	inv->read_req = NULL;
	return req;
}

static void
read_interrupted(fuse_req_t req, void *arg)
{
	struct invoke *inv = arg;
	int mine;

	pthread_mutex_lock(&inv->lock);
	mine = inv->read_req == req;
	if (mine)
		inv->read_req = NULL;
	pthread_mutex_unlock(&inv->lock);
	if (mine)
		fuse_reply_err(req, EINTR);
}

void
call_stream_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct invoke *inv = h->priv;
	char *data;
	size_t n;
	struct rh_err err;
	int r;

	/* a whole kind's program ends at the first read after it */
	if (inv->kind->whole && (r = submit_whole(inv, &err)) < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	data = xmalloc(size ? size : 1);
	fuse_req_interrupt_func(req, read_interrupted, inv);
	pthread_mutex_lock(&inv->lock);
	n = take(inv, data, size);
	if (n > 0 || inv->next >= inv->nslots) {
		pthread_mutex_unlock(&inv->lock);
		fuse_reply_buf(req, data, n);   /* n == 0: all read */
		free(data);
		return;
	}
	free(data);
	if (inv->nonblock || inv->read_req != NULL) {
		pthread_mutex_unlock(&inv->lock);
		fuse_reply_err(req, inv->nonblock ? EAGAIN : EBUSY);
		return;
	}
	/* An interrupt that came before the interrupt function was set is
	 * seen here; one that comes later waits for the lock and finds the
	 * read parked. Once parked, req may be answered (and freed) by
	 * another thread at any moment: it is not touched again here. */
	if (fuse_req_interrupted(req)) {
		pthread_mutex_unlock(&inv->lock);
		fuse_reply_err(req, EINTR);
		return;
	}
	inv->read_req = req;
	inv->read_size = size;
	pthread_mutex_unlock(&inv->lock);
}

/* One line for a finished call: its result without the final newline,
 * as a JSON string if it spans lines; a failure as a JSON object. rec is
 * NULL when the call has no record (err). */
static void
result_line(struct rh_buf *line, int err, const struct rh_call_record *rec)
{
	cJSON *o;
	char *s;
	size_t len;

	if (err == 0 && rec->state == RH_CALL_DONE &&
	    rec->result_is == RH_RESULT_BYTES) {
		len = rec->result.len;
		if (len > 0 && rec->result.data[len - 1] == '\n')
			len--;
		if (len == 0 || memchr(rec->result.data, '\n', len) == NULL) {
			rh_buf_append(line, rec->result.data, len);
		} else {
			char *text = xstrndup(rec->result.data, len);

			o = cJSON_CreateString(text);
			s = cJSON_PrintUnformatted(o);
			rh_buf_append(line, s, strlen(s));
			cJSON_free(s);
			cJSON_Delete(o);
			free(text);
		}
	} else {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "error",
		                        err < 0 ? strerror(-err) :
		                        rec->reason != NULL ? rec->reason :
		                        rh_call_state_name(rec->state));
		if (err == 0) {
			cJSON_AddStringToObject(o, "state",
			                        rh_call_state_name(rec->state));
			if (rec->exit >= 0)
				cJSON_AddNumberToObject(o, "exit", rec->exit);
			if (rec->call != NULL)
				cJSON_AddStringToObject(o, "call", rec->call);
		}
		s = cJSON_PrintUnformatted(o);
		rh_buf_append(line, s, strlen(s));
		cJSON_free(s);
		cJSON_Delete(o);
	}
	rh_buf_append(line, "\n", 1);
}

static void slot_answer(struct slot *s, int err,
                        const struct rh_call_record *rec);

/* The whole of a result too large for the call's reply has come (or
 * not): answer with it, or say where to read it. */
static void
big_fetched(void *arg, int err)
{
	struct slot *s = arg;
	struct rh_call_record rec;
	char *why = NULL;

	/* s->big decoded once already, in call_cb */
	if (rh_call_record_decode(s->big, &rec, NULL) < 0) {
		rh_call_record_free(&rec);
		rh_buf_free(&s->result);
		slot_answer(s, -EIO, NULL);
		return;
	}
	if (err == 0) {
		rec.result_is = RH_RESULT_BYTES;
		rh_buf_free(&rec.result);
		rec.result = s->result;         /* the record's now */
		memset(&s->result, 0, sizeof(s->result));
	} else {
		why = err == -EFBIG ?
		      xasprintf("the result is over %u MiB, the most an invoke "
		                "line holds: read calls/%s/result",
		                INVOKE_RESULT_MAX >> 20, rec.call) :
		      xasprintf("cannot fetch the result: %s", strerror(-err));
		rec.reason = why;
		rh_buf_free(&s->result);
	}
	slot_answer(s, 0, &rec);
	rh_call_record_free(&rec);
	free(why);
}

/* The first answer about a call: the agent took it (its id), or not
 * (err). 1 when the stream broke under it before: the writer sends it
 * again on a new connection, and the slot's reference is gone. */
static int
slot_first(struct slot *s, int err, const char *id, int final)
{
	struct invoke *inv = s->inv;

	pthread_mutex_lock(&inv->lock);
	if (!s->accepted) {
		if (final && err == -ENOTCONN && !s->resent) {
			s->lost = 1;
			inv->write_left--;
			pthread_cond_signal(&inv->accepted);
			pthread_mutex_unlock(&inv->lock);
			inv_put(inv);
			return 1;
		}
		s->accepted = 1;
		/* never sent again: what a map holds while its results
		 * wait to be read is their lines, not every request */
		secret_env_free(s->req);
		s->req = NULL;
		if (final && err < 0 && inv->write_err == 0)
			inv->write_err = err;
		/* a held call's new state, before its thread (woken
		 * below) lets go of it */
		if (s->held != NULL && err == 0 && id != NULL)
			held_sent(inv->fs, s->held, id);
		else if (s->held != NULL)
			held_failed(inv->fs, s->held, err < 0 ?
			            strerror(-err) : "the agent did not take it");
		inv->write_left--;
		pthread_cond_signal(&inv->accepted);
	}
	pthread_mutex_unlock(&inv->lock);
	return 0;
}

static void
call_cb(void *arg, int err, const cJSON *msg, int final)
{
	struct slot *s = arg;
	struct rh_call_record rec;
	struct rh_err e;

	/* "accepted", or the reply of a call not waited for: its id */
	if (slot_first(s, err, rh_json_str(msg, "call"), final) || !final)
		return;
	rh_call_record_init(&rec);
	if (err == 0 && rh_call_record_decode(msg, &rec, &e) < 0) {
		rh_warn("%s: the agent's answer to a call: %s",
		        invoke_addr(s->inv), e.msg);
		err = -EIO;
	}
	if (err == 0 && rec.result_is == RH_RESULT_TRUNCATED) {
		/* over what a reply holds: fetch it by parts */
		s->big = cJSON_Duplicate(msg, 1);
		calls_fetch(s->inv->rpc, rec.call, INVOKE_RESULT_MAX,
		            &s->result, big_fetched, s);
		rh_call_record_free(&rec);
		return;
	}
	slot_answer(s, err, err == 0 ? &rec : NULL);
	rh_call_record_free(&rec);
}

/* A call has ended: its line, and a parked read may go on. */
static void
slot_answer(struct slot *s, int err, const struct rh_call_record *rec)
{
	struct invoke *inv = s->inv;
	fuse_req_t rreq;
	size_t rlen = 0;
	char *rdata = NULL;

	pthread_mutex_lock(&inv->lock);
	inv->kind->answer(&s->line, err, rec);
	s->done = 1;
	rreq = ready_read(inv, &rdata, &rlen);
	pthread_mutex_unlock(&inv->lock);
	if (rreq != NULL) {
		fuse_req_interrupt_func(rreq, NULL, NULL);
		fuse_reply_buf(rreq, rdata, rlen);
	}
	free(rdata);
	inv_put(inv);
}

/* Call fn on every {"$ref": ...} object among the values below v. */
static int
refs_walk(cJSON *v, int (*fn)(cJSON *ref, void *arg), void *arg)
{
	cJSON *c;
	int r;

	cJSON_ArrayForEach(c, v) {
		if (cJSON_IsObject(c) &&
		    cJSON_GetObjectItemCaseSensitive(c, "$ref") != NULL)
			r = fn(c, arg);
		else
			r = refs_walk(c, fn, arg);
		if (r < 0)
			return r;
	}
	return 0;
}

struct ref_ctx {
	const char *addr;
	size_t lineno;
	struct rh_err *err;
	struct invoke *inv;
};

/* A $ref's form: {"$ref": "<send address>/calls/<ID>"} and nothing else;
 * "^/x" (the mount's path) becomes the address "^x". */
static int
ref_parse(cJSON *o, void *arg)
{
	struct ref_ctx *x = arg;
	cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "$ref");
	const char *s;
	char *canon;
	size_t len;

	if (cJSON_GetArraySize(o) != 1 || !cJSON_IsString(ref))
		return rh_err_set(x->err, EINVAL, "%s/invoke: line %zu: a $ref "
		                  "is {\"$ref\": \"<send>/calls/<ID>\"} alone",
		                  x->addr, x->lineno);
	s = ref->valuestring;
	if (rh_call_ref_split(s, &len) == NULL ||
	    (s[0] != '~' && s[0] != '^' && s[0] != '@' && s[0] != '/'))
		return rh_err_set(x->err, EINVAL, "%s/invoke: line %zu: $ref "
		                  "'%s' is not <send address>/calls/<call id> "
		                  "(e.g. ~/add/calls/20240501-120000-000001)",
		                  x->addr, x->lineno, s);
	if (s[0] == '^' && s[1] == '/') {
		canon = xasprintf("^%s", s + 2);
		cJSON_SetValuestring(ref, canon);
		free(canon);
	}
	return 0;
}

/* A $ref must name a send that runs where this one does: the agent
 * finds the result among its own calls. "@/x" becomes the user's own
 * "/USER/x", the address the agent keeps. */
static int
ref_check(cJSON *o, void *arg)
{
	struct ref_ctx *x = arg;
	cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "$ref");
	const char *s, *user;
	const cJSON *type;
	struct rh_err why;
	char *send, *key;
	size_t len = 0;
	cJSON *cfg;
	int r;

	if (strncmp(ref->valuestring, "@/", 2) == 0 &&
	    (user = remote_user(x->inv->fs)) != NULL) {
		send = xasprintf("/%s/%s", user, ref->valuestring + 2);
		cJSON_SetValuestring(ref, send);
		free(send);
	}
	s = ref->valuestring;
	rh_call_ref_split(s, &len);     /* its form was checked at parse */
	send = xstrndup(s, len);
	if (strcmp(send, x->inv->addr) == 0) {
		free(send);
		return 0;
	}
	if ((r = res_at(x->inv->fs, send, &cfg, &why)) < 0) {
		free(send);
		return rh_err_set(x->err, EINVAL, "%s/invoke: $ref '%s': %s",
		                  x->inv->addr, s, why.msg);
	}
	type = cJSON_GetObjectItemCaseSensitive(cfg, "resource_type");
	key = res_link_key(send, cfg);
	if (!cJSON_IsString(type) || (strcmp(type->valuestring, "send") != 0 &&
	                              strcmp(type->valuestring,
	                                     "function") != 0))
		r = rh_err_set(x->err, EINVAL, "%s/invoke: $ref '%s': %s is "
		               "not a send", x->inv->addr, s, send);
	else if (key == NULL || x->inv->link == NULL ||
	         strcmp(key, x->inv->link) != 0)
		r = rh_err_set(x->err, EINVAL, "%s/invoke: $ref '%s': %s runs "
		               "on %s, not on %s like this send: a result is "
		               "passed only on its own cluster", x->inv->addr, s,
		               send, key ? key : "no cluster",
		               x->inv->link ? x->inv->link : "no cluster");
	free(key);
	free(send);
	cJSON_Delete(cfg);
	return r;
}

/* The $data of v (a request, or an array of specs when list is set)
 * put in, with the node's home kept in inv; 1 when some need it while
 * rpc is NULL (they are left), 0, or -errno. */
static int
data_put(struct invoke *inv, struct rh_rpc *rpc, cJSON *v, int list,
         struct rh_err *err)
{
	struct data_args da;
	cJSON *spec;
	int r = 0;

	data_args_init(&da, inv->fs, inv->addr, inv->cfg);
	da.rpc = rpc;
	pthread_mutex_lock(&inv->lock);
	if (inv->home != NULL)
		da.home = xstrdup(inv->home);
	pthread_mutex_unlock(&inv->lock);
	if (!list)
		r = data_args_resolve(&da, v, err);
	else
		cJSON_ArrayForEach(spec, v)
			if ((r = data_args_resolve(&da, spec, err)) < 0)
				break;
	pthread_mutex_lock(&inv->lock);
	if (inv->home == NULL && da.home != NULL)
		inv->home = xstrdup(da.home);
	pthread_mutex_unlock(&inv->lock);
	if (r == 0)
		r = da.later > 0;
	data_args_free(&da);
	return r;
}

/* The send's $refs checked and its $data put in: 1 when some $data
 * waits for the node's agent (data_late), 0, or -EINVAL. */
static int
send_refs(struct invoke *inv, cJSON *specs, struct rh_err *err)
{
	struct ref_ctx x = { inv->addr, 0, err, inv };
	cJSON *spec, *v;
	int r;

	if (inv->link == NULL)
		inv->link = res_link_key(inv->addr, inv->cfg);
	cJSON_ArrayForEach(spec, specs) {
		if ((v = cJSON_GetObjectItemCaseSensitive(spec, "args")) &&
		    (r = refs_walk(v, ref_check, &x)) < 0)
			return r;
		if ((v = cJSON_GetObjectItemCaseSensitive(spec, "kwargs")) &&
		    (r = refs_walk(v, ref_check, &x)) < 0)
			return r;
	}
	/* the agent, if reached, says the node's home at once */
	return data_put(inv, inv->rpc != NULL && rh_rpc_alive(inv->rpc) ?
	                inv->rpc : NULL, specs, 1, err);
}

/* The $data left by send_refs, once the agent is reached: in the specs
 * of a write (an array), or in a held call's request. */
static int
send_data_late(struct invoke *inv, cJSON *v, struct rh_err *err)
{
	int r = data_put(inv, inv->rpc, v, cJSON_IsArray(v), err);

	return r > 0 ? rh_err_set(err, EIO, "%s/invoke: a $data is still "
	                          "not resolved", inv->addr) : r;
}

/* Parse the lines of one write() into call specs; all or nothing. */
int
invoke_parse_lines(const char *addr, const char *data, size_t size,
                   cJSON **out, struct rh_err *err)
{
	static const char *const keys[] = { "args", "kwargs", "queue", NULL };
	const char *p = data, *end = data + size, *nl;
	struct ref_ctx x = { addr, 0, err, NULL };
	cJSON *specs = cJSON_CreateArray(), *v, *spec, *item;
	size_t lineno = 0, i;
	char *what;

	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		lineno++;
		while (p < nl && *p != '\0' && strchr(" \t\r", *p))
			p++;
		if (p == nl)
			continue;
		what = xasprintf("%s/invoke: line %zu", addr, lineno);
		v = rh_json_parse(p, (size_t)(nl - p), what, err);
		free(what);
		if (v == NULL)
			goto bad_specs;
		if (cJSON_IsArray(v)) {
			spec = cJSON_CreateObject();
			cJSON_AddItemToObject(spec, "args", v);
			x.lineno = lineno;
			if (refs_walk(v, ref_parse, &x) < 0 ||
			    data_args_form(v, addr, lineno, err) < 0)
				goto bad;
		} else if (cJSON_IsObject(v)) {
			spec = v;
			cJSON_ArrayForEach(item, spec) {
				for (i = 0; keys[i] && strcmp(keys[i], item->string);
				     i++)
					;
				if (keys[i] == NULL &&
				    strcmp(item->string, "slurm") == 0) {
					/* a job step of its own in its Slurm
					 * cluster's allocation (steps_check) */
					if (rh_slurm_step_check(item, 0,
					                        err) == 0)
						continue;
					what = xstrdup(err->msg);
					rh_err_set(err, EINVAL, "%s/invoke: line "
					           "%zu: %s", addr, lineno, what);
					free(what);
					goto bad;
				}
				if (keys[i] == NULL) {
					rh_err_set(err, EINVAL, "%s/invoke: line %zu: "
					           "unknown field '%s' (known: args, "
					           "kwargs, queue, slurm)", addr,
					           lineno, item->string);
					goto bad;
				}
			}
			if (((item = cJSON_GetObjectItemCaseSensitive(spec,
			                                              "args")) &&
			     !cJSON_IsArray(item)) ||
			    ((item = cJSON_GetObjectItemCaseSensitive(spec,
			                                              "kwargs")) &&
			     !cJSON_IsObject(item)) ||
			    ((item = cJSON_GetObjectItemCaseSensitive(spec,
			                                              "queue")) &&
			     !cJSON_IsBool(item))) {
				rh_err_set(err, EINVAL, "%s/invoke: line %zu: args "
				           "must be an array, kwargs an object, "
				           "queue true or false", addr, lineno);
				goto bad;
			}
			x.lineno = lineno;
			if (((item = cJSON_GetObjectItemCaseSensitive(spec,
			                                              "args")) &&
			     (refs_walk(item, ref_parse, &x) < 0 ||
			      data_args_form(item, addr, lineno, err) < 0)) ||
			    ((item = cJSON_GetObjectItemCaseSensitive(spec,
			                                              "kwargs")) &&
			     (refs_walk(item, ref_parse, &x) < 0 ||
			      data_args_form(item, addr, lineno, err) < 0)))
				goto bad;
		} else {
			cJSON_Delete(v);
			rh_err_set(err, EINVAL, "%s/invoke: line %zu: not a call "
			           "spec (a JSON object or array)", addr, lineno);
			goto bad_specs;
		}
		cJSON_AddItemToArray(specs, spec);
	}
	*out = specs;
	return 0;
bad:
	cJSON_Delete(spec);
bad_specs:
	cJSON_Delete(specs);
	return -EINVAL;
}

/* The agent's request for one spec of a send. */
static cJSON *
call_request(struct invoke *inv, const cJSON *spec)
{
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(inv->cfg,
	                                                        "command");
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(spec, "queue");
	struct rh_call_spec cs;
	const cJSON *v;
	cJSON *req;

	rh_call_spec_init(&cs);
	/* A Python send names its function; the agent's workers run it.
	 * (send_check judged both.) */
	if (cJSON_IsArray(command))
		rh_call_spec_set_command(&cs, command, NULL);
	else
		rh_call_spec_set_fn(&cs, cJSON_GetObjectItemCaseSensitive(
		                    inv->cfg, "fn_pointers"), NULL);
	if ((v = cJSON_GetObjectItemCaseSensitive(spec, "args")) != NULL)
		cs.args = cJSON_Duplicate(v, 1);
	if ((v = cJSON_GetObjectItemCaseSensitive(spec, "kwargs")) != NULL)
		cs.kwargs = cJSON_Duplicate(v, 1);
	if ((v = rh_send_env_vars(inv->cfg)) != NULL && cJSON_IsObject(v))
		cs.env = cJSON_Duplicate(v, 1);
	cs.send = xstrdup(inv->addr);
	if (cJSON_IsTrue(q))
		cs.queue = xstrdup(inv->addr);
	/* its own job step: the job is added as it is sent (step_job) */
	if ((v = cJSON_GetObjectItemCaseSensitive(spec, "slurm")) != NULL)
		cs.slurm = cJSON_Duplicate(v, 1);
	req = rh_call_spec_encode(&cs);
	rh_call_spec_free(&cs);
	return req;
}

static void fail_unsent(struct invoke *inv, struct slot *s,
                        const char *reason);

/* A call with a job step of its own runs in its Slurm cluster's job as
 * it is now: its id into the request's slurm object. */
static int
step_job(struct invoke *inv, cJSON *slurm, struct rh_err *err)
{
	char *caddr = NULL, *job = NULL;
	cJSON *ccfg = NULL;
	int r;

	if ((r = res_cluster_of(inv->fs, inv->addr, inv->cfg, &caddr, &ccfg,
	                        err)) < 0)
		return r;
	if (!rh_slurm_is(ccfg))
		r = rh_err_set(err, EINVAL, "%s: a call with 'slurm' runs as a "
		               "job step of a SlurmCluster's allocation, and "
		               "cluster %s is not one", inv->addr, caddr);
	else if ((job = slurm_job(inv->fs, caddr)) == NULL)
		r = rh_err_set(err, EIO, "%s: the Slurm job of cluster %s no "
		               "longer runs: the call's job step has no "
		               "allocation to run in", inv->addr, caddr);
	else {
		cJSON_DeleteItemFromObjectCaseSensitive(slurm, "job");
		cJSON_AddStringToObject(slurm, "job", job);
	}
	free(job);
	free(caddr);
	cJSON_Delete(ccfg);
	return r;
}

/* Calls with 'slurm' are for a SlurmCluster's send: refused otherwise,
 * before anything is submitted. */
static int
steps_check(struct invoke *inv, const cJSON *specs, struct rh_err *err)
{
	const cJSON *spec;
	char *caddr = NULL;
	cJSON *ccfg = NULL;
	int r = 0;

	cJSON_ArrayForEach(spec, specs)
		if (cJSON_GetObjectItemCaseSensitive(spec, "slurm") != NULL)
			break;
	if (spec == NULL)
		return 0;
	if (res_cluster_of(inv->fs, inv->addr, inv->cfg, &caddr, &ccfg,
	                   err) < 0 || !rh_slurm_is(ccfg))
		r = rh_err_set(err, EINVAL, "%s/invoke: a call with 'slurm' "
		               "runs as a job step of a SlurmCluster's "
		               "allocation, and the send's cluster%s%s is not "
		               "one", inv->addr, caddr ? " " : "",
		               caddr ? caddr : "");
	free(caddr);
	cJSON_Delete(ccfg);
	return r;
}

/* Send one slot's request; the slot holds a reference on inv. */
static void
submit(struct invoke *inv, struct slot *s)
{
	struct rh_err err;
	cJSON *slurm = cJSON_GetObjectItemCaseSensitive(s->req, "slurm");
	int r;

	if (slurm != NULL && step_job(inv, slurm, &err) < 0) {
		fail_unsent(inv, s, err.msg);
		return;
	}
	pthread_mutex_lock(&inv->lock);
	inv->refs++;
	inv->write_left++;
	pthread_mutex_unlock(&inv->lock);
	if ((r = rh_rpc_call(inv->rpc, s->req, call_cb, s)) < 0)
		call_cb(s, r, NULL, 1);     /* answers as the stream would */
}

/* A call that cannot reach the agent (its send's setup failed, or its
 * cluster's launch): its answer is the reason, as a failed call's. */
static void
fail_unsent(struct invoke *inv, struct slot *s, const char *reason)
{
	struct rh_call_record rec;

	rh_call_record_init(&rec);
	rec.state = RH_CALL_FAILED;
	rec.reason = reason;
	if (s->held != NULL) {
		rec.call = held_id(s->held);
		held_failed(inv->fs, s->held, reason);
	}
	pthread_mutex_lock(&inv->lock);
	inv->refs++;
	inv->write_left++;
	pthread_mutex_unlock(&inv->lock);
	if (slot_first(s, 0, rec.call, 1) == 0)
		slot_answer(s, 0, &rec);
}

/* Wait until every call sent is accepted (or failed), at most until
 * deadline: a node that stops answering must not hang the writer. A node
 * that goes on accepting gets the same time again from each acceptance,
 * so that a map of many thousand lines is not cut short. */
static int
wait_accepted(struct invoke *inv, const struct timespec *deadline)
{
	struct timespec until = *deadline, now;
	long long span;
	int r = 0, left;

	clock_gettime(CLOCK_REALTIME, &now);
	span = (long long)(until.tv_sec - now.tv_sec) * 1000000000LL +
	       (until.tv_nsec - now.tv_nsec);
	pthread_mutex_lock(&inv->lock);
	left = inv->write_left;
	while (inv->write_left > 0 && r == 0) {
		if (pthread_cond_timedwait(&inv->accepted, &inv->lock,
		                           &until) != ETIMEDOUT)
			continue;
		if (inv->write_left == left || span <= 0) {
			r = -ETIMEDOUT;
			break;
		}
		left = inv->write_left;
		clock_gettime(CLOCK_REALTIME, &now);
		until.tv_sec = now.tv_sec + (time_t)(span / 1000000000LL);
		until.tv_nsec = now.tv_nsec + (long)(span % 1000000000LL);
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_unlock(&inv->lock);
	return r;
}

/* Whether text ends like a whole call spec (an array or object), so
 * that a last line without its newline is a line and not a beginning. */
static int
ends_whole(const char *p, size_t len)
{
	while (len > 0 && strchr(" \t\r", p[len - 1]) && p[len - 1] != '\0')
		len--;
	return len > 0 && (p[len - 1] == ']' || p[len - 1] == '}');
}

/* A line over INVOKE_LINE_MAX fails with EFBIG, and nothing of it is
 * submitted: the write that passes the limit is refused, the unfinished
 * line dropped, and so are the writes that carry the rest of that line,
 * up to the one that ends it (the kernel's pieces of a long write(2) come
 * as writes of their own, and a writer may send the rest again). With
 * the lock held. */
static int
line_limit(struct invoke *inv, const char *data, size_t size,
           struct rh_err *err)
{
	const char *end = data + size, *p = data, *nl;
	size_t len, over = 0;
	int tail;

	if (inv->overlong) {
		if (memchr(data, '\n', size) != NULL)
			inv->overlong = 0;
		return rh_err_set(err, EFBIG, "%s/invoke: the rest of a line "
		                  "longer than %u MiB: refused up to its end",
		                  inv->addr, INVOKE_LINE_MAX >> 20);
	}
	for (len = inv->partial.len; p <= end; p = nl + 1, len = 0) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len += (size_t)(nl - p);
		tail = nl == end;
		if (len > INVOKE_LINE_MAX) {
			over = len;
			inv->overlong = tail;
		}
		if (tail)
			break;
	}
	if (over == 0) {
		inv->last_size = size;
		return 0;
	}
	/* a refused piece of a write(2) that had pieces before it returns
	 * their count: the writer may send this one again */
	if (inv->last_size >= WRITE_PIECE_MIN)
		inv->overlong = 1;
	inv->last_size = 0;
	inv->partial.len = 0;
	return rh_err_set(err, EFBIG, "%s/invoke: a line longer than %u MiB "
	                  "(%zu bytes so far): nothing of it is submitted",
	                  inv->addr, INVOKE_LINE_MAX >> 20, over);
}

/* The lines a write completes, the unfinished line before it included;
 * *rest is what stays for the next write. With the lock held. */
static char *
complete_lines(struct invoke *inv, const char *data, size_t size,
               size_t *len, size_t *rest)
{
	struct rh_buf all = { 0 };
	const char *nl;
	size_t tail;

	rh_buf_append(&all, inv->partial.data, inv->partial.len);
	rh_buf_append(&all, data, size);
	for (nl = all.data + all.len; nl > all.data && nl[-1] != '\n'; nl--)
		;
	tail = all.len - (size_t)(nl - all.data);
	if (tail > 0 && memchr(nl, '\0', tail) != NULL) {
		tail = 0;       /* never a spec: judged now */
	} else if (tail > 0 && ends_whole(nl, tail)) {
		/* judged now: a complete spec, or a malformed one */
		cJSON *v = cJSON_ParseWithLength(nl, tail);

		if (v != NULL)
			tail = 0;
		cJSON_Delete(v);
	}
	*len = all.len - tail;
	*rest = tail;
	return all.data;
}

/* After wait_accepted: the calls of v lost with a broken stream go once
 * more, on a new one; then the acceptance's end: 0, or -errno. */
static int
resend_lost(struct invoke *inv, struct slot **v, size_t n,
            const struct timespec *deadline, int r, struct rh_err *err)
{
	size_t i, lost;
	struct slot *s;

	pthread_mutex_lock(&inv->lock);
	for (lost = 0, i = 0; i < n; i++)
		lost += v[i] != NULL && v[i]->lost;
	pthread_mutex_unlock(&inv->lock);
	if (r == 0 && lost > 0) {
		if ((r = res_agent(inv->fs, inv->addr, inv->cfg, &inv->rpc,
		                   err)) < 0)
			rh_warn("%s", err->msg);
		for (i = 0; i < n; i++) {
			s = v[i];
			if (s == NULL || !s->lost)
				continue;
			s->lost = 0;
			s->resent = 1;
			if (r < 0) {
				pthread_mutex_lock(&inv->lock);
				inv->refs++;
				inv->write_left++;
				pthread_mutex_unlock(&inv->lock);
				call_cb(s, r, NULL, 1);
			} else {
				submit(inv, s);
			}
		}
		r = wait_accepted(inv, deadline);
	}
	if (r == 0) {
		pthread_mutex_lock(&inv->lock);
		r = inv->write_err;
		pthread_mutex_unlock(&inv->lock);
	}
	return r;
}

/* What prepare gave each request (venv, env, cwd) into req. */
static void
extra_merge(cJSON *req, const cJSON *extra)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, extra) {
		cJSON_DeleteItemFromObjectCaseSensitive(req, v->string);
		cJSON_AddItemToObject(req, v->string, cJSON_Duplicate(v, 1));
	}
}

/* A new call's slot, last of inv's: its request, with the send's
 * secrets and what prepare gave (each may be NULL). */
static struct slot *
slot_new(struct invoke *inv, const cJSON *spec, const cJSON *senv,
         const cJSON *extra)
{
	struct slot *s = xcalloc(1, sizeof(*s));

	s->inv = inv;
	s->req = inv->kind->request(inv, spec);
	if (senv != NULL)
		cJSON_AddItemToObject(s->req, "secret_env",
		                      cJSON_Duplicate(senv, 1));
	extra_merge(s->req, extra);
	pthread_mutex_lock(&inv->lock);
	if (inv->nslots == inv->slots_cap) {
		inv->slots_cap = inv->slots_cap ? inv->slots_cap * 2 : 16;
		inv->slots = xrealloc(inv->slots, inv->slots_cap *
		                      sizeof(*inv->slots));
	}
	inv->slots[inv->nslots++] = s;
	pthread_mutex_unlock(&inv->lock);
	return s;
}

/* A held call's slot lets go of it (held_done may free it). */
static struct held *
unhold(struct invoke *inv, struct slot *s)
{
	struct held *h;

	pthread_mutex_lock(&inv->lock);
	h = s->held;
	s->held = NULL;
	pthread_mutex_unlock(&inv->lock);
	return h;
}

/* A held call cancelled from its calls/ID/ctl: its answer. */
static void
held_cancelled(void *arg, struct held *h)
{
	struct slot *s = arg;
	struct rh_call_record rec;

	rh_call_record_init(&rec);
	rec.state = RH_CALL_CANCELLED;
	rec.reason = "cancelled while its cluster was being launched";
	rec.call = held_id(h);
	slot_answer(s, 0, &rec);        /* the hold's reference goes */
}

/* The thread of an invoke's held calls: waits for the launch of the
 * send's cluster, then sends them in order (the send prepared first, as
 * for any first call), or fails them with the launch's reason. Calls
 * written meanwhile are held too, and go in the next round. */
static void *
held_main(void *arg)
{
	struct invoke *inv = arg;
	struct fs *fs = inv->fs;
	struct timespec deadline;
	struct rh_err err = { "" }, why;
	struct slot **batch, *s;
	struct rh_rpc *rpc;
	size_t n, i;
	cJSON *extra = NULL;
	unsigned ticket;
	int r;

	for (;;) {
		pthread_mutex_lock(&inv->lock);
		ticket = inv->ticket;
		inv->ticket = 0;        /* a next round: up, or launched anew */
		pthread_mutex_unlock(&inv->lock);
		r = cluster_wait(fs, inv->addr, inv->cfg, ticket, &err);
		if (r == 0)
			r = res_agent(fs, inv->addr, inv->cfg, &inv->rpc, &err);
		if (r == 0 && inv->kind->prepare != NULL)
			r = inv->kind->prepare(inv, NULL, &extra, &err);
		if (r < 0)
			rh_warn("%s: held calls fail: %s", inv->addr, err.msg);
		pthread_mutex_lock(&inv->lock);
		batch = inv->held;
		n = inv->nheld;
		inv->held = NULL;
		inv->nheld = inv->held_cap = 0;
		inv->write_err = 0;
		pthread_mutex_unlock(&inv->lock);
		deadline = rh_time_after(CLOCK_REALTIME, (long)(
		                         fs->opts.connect_timeout * 1000));
		if ((rpc = r < 0 ? NULL : inv->rpc) != NULL)
			rh_rpc_cork(rpc);
		for (i = 0; i < n; i++) {
			s = batch[i];
			if (held_take(fs, s->held) < 0) {
				batch[i] = NULL;        /* cancelled: answered */
				continue;
			}
			if (r < 0) {
				fail_unsent(inv, s, err.msg);
			} else if (s->data_later &&
			           inv->kind->late(inv, s->req, &why) < 0) {
				fail_unsent(inv, s, why.msg);
			} else {
				extra_merge(s->req, extra);
				submit(inv, s);
			}
			inv_put(inv);   /* the hold's reference */
		}
		if (rpc != NULL)
			rh_rpc_uncork(rpc);
		if (r == 0) {
			r = wait_accepted(inv, &deadline);
			if ((r = resend_lost(inv, batch, n, &deadline, r,
			                     &err)) < 0)
				rh_warn("%s: held calls: %s", inv->addr,
				        strerror(-r));
		}
		/* their readers go on, to the agent or with the failure */
		for (i = 0; i < n; i++)
			if (batch[i] != NULL)
				held_done(fs, unhold(inv, batch[i]));
		free(batch);
		cJSON_Delete(extra);
		extra = NULL;
		pthread_mutex_lock(&inv->lock);
		if (inv->nheld == 0)
			inv->holding = 0;
		n = inv->nheld;
		pthread_mutex_unlock(&inv->lock);
		if (n == 0)
			break;
	}
	clusters_release(fs);
	inv_put(inv);                   /* the thread's */
	return NULL;
}

/* Hold the calls of specs until the send's cluster is up: each gets its
 * calls/ID now (state queued) and its slot, so that reads answer in
 * order; the thread sends them. */
static int
hold(struct invoke *inv, const cJSON *specs, const cJSON *senv,
     const char *cluster, unsigned ticket, int later, struct rh_err *err)
{
	const cJSON *spec;
	pthread_attr_t at;
	pthread_t t;
	struct slot *s, **batch;
	size_t n, i;
	int start, e;

	cJSON_ArrayForEach(spec, specs) {
		s = slot_new(inv, spec, senv, NULL);
		s->data_later = later;
		s->held = held_add(inv->fs, inv->addr, cluster, s->req,
		                   held_cancelled, s);
		/* the node keeps the id the call has shown since */
		cJSON_AddStringToObject(s->req, "call", held_id(s->held));
		pthread_mutex_lock(&inv->lock);
		inv->refs++;    /* the hold's */
		if (inv->nheld == inv->held_cap) {
			inv->held_cap = inv->held_cap ? inv->held_cap * 2 : 16;
			inv->held = xrealloc(inv->held, inv->held_cap *
			                     sizeof(*inv->held));
		}
		inv->held[inv->nheld++] = s;
		pthread_mutex_unlock(&inv->lock);
		rh_info("%s: call %s held until %s is up", inv->addr,
		        held_id(s->held), cluster);
	}
	pthread_mutex_lock(&inv->lock);
	start = !inv->holding;
	if (start) {
		inv->holding = 1;
		inv->ticket = ticket;
		inv->refs++;    /* the thread's */
	}
	pthread_mutex_unlock(&inv->lock);
	if (!start)
		return 0;
	clusters_hold(inv->fs);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &at, held_main, inv);
	pthread_attr_destroy(&at);
	if (e == 0)
		return 0;
	/* no thread: the calls held fail now, with the reason */
	rh_err_set(err, e, "%s: cannot start the thread that sends the calls "
	           "held for the launch: %s", inv->addr, strerror(e));
	rh_warn("%s", err->msg);
	clusters_release(inv->fs);
	pthread_mutex_lock(&inv->lock);
	inv->holding = 0;
	batch = inv->held;
	n = inv->nheld;
	inv->held = NULL;
	inv->nheld = inv->held_cap = 0;
	pthread_mutex_unlock(&inv->lock);
	for (i = 0; i < n; i++) {
		if (held_take(inv->fs, batch[i]->held) < 0)
			continue;       /* cancelled: answered */
		fail_unsent(inv, batch[i], err->msg);
		held_done(inv->fs, unhold(inv, batch[i]));
		inv_put(inv);   /* the hold's reference */
	}
	free(batch);
	inv_put(inv);
	return 0;
}

/* Submit the calls of data's first len bytes (the rest: an unfinished
 * line, for the next write); 0 once the agent accepted every one of
 * them, or -errno with err set and, if refused, nothing submitted.
 * req: a write's (NULL: a read, flush or fsync; the kind has no
 * prepare then). Takes all (data, or NULL). */
static int
stream_submit(struct invoke *inv, fuse_req_t req, const char *data,
              size_t len, size_t rest, char *all, struct rh_err *err)
{
	struct fs *fs = inv->fs;
	struct timespec deadline;
	struct slot *s, **mine = NULL;
	struct rh_rpc *rpc;
	cJSON *specs = NULL, *spec, *senv = NULL;
	size_t i;
	char *cluster = NULL;
	long ms;
	unsigned ticket = 0;
	cJSON *ccfg, *extra = NULL;
	int r, n, prep, held, later = 0;

	if ((r = inv->kind->parse(inv->addr, data, len, &specs, err)) < 0 ||
	    (r = steps_check(inv, specs, err)) < 0)
		goto refuse;
	if ((n = cJSON_GetArraySize(specs)) > 0 &&
	    ((inv->kind->check && (r = inv->kind->check(inv, err)) < 0) ||
	     (inv->kind->refs &&
	      (r = later = inv->kind->refs(inv, specs, err)) < 0)))
		goto refuse;
	/* the calls' environment (a send's secrets), read at each write */
	if (n > 0 && inv->kind->env != NULL &&
	    (r = inv->kind->env(inv, &senv, err)) < 0)
		goto refuse;
	/* an on-demand cluster not up is launched first, and the calls are
	 * held until it is (after the calls held before them, in order);
	 * if the launch cannot start, the calls fail with the reason */
	prep = 0;
	pthread_mutex_lock(&inv->lock);
	held = n > 0 && inv->holding;
	pthread_mutex_unlock(&inv->lock);
	if (n > 0 && !held && (inv->rpc == NULL || !rh_rpc_alive(inv->rpc) ||
	                       cluster_stale(fs, inv->addr, inv->cfg))) {
		prep = cluster_begin(fs, inv->addr, inv->cfg, &cluster,
		                     &ticket, err);
		held = prep > 0;
		if (held)
			prep = 0;
		else if (prep == 0 && (r = res_agent(fs, inv->addr, inv->cfg,
		                                     &inv->rpc, err)) < 0)
			goto refuse;
	}
	if (held && cluster == NULL) {
		/* held after the calls before it, for the same cluster */
		if (res_cluster_of(fs, inv->addr, inv->cfg, &cluster, &ccfg,
		                   err) == 0)
			cJSON_Delete(ccfg);
		else
			cluster = xstrdup(inv->addr);
	}
	/* before a send's first call: its reqs synced, its setup_cmds run;
	 * if that fails, so do its calls, with the reason. A Ctrl-C while
	 * waiting for it refuses the write (EINTR), which leaves no trace. */
	if (!held && prep == 0 && n > 0 && inv->kind->prepare != NULL)
		prep = inv->kind->prepare(inv, req, &extra, err);
	if (prep == -EINTR) {
		r = prep;
		goto refuse;
	}
	/* $data that needed the node's home, now that its agent answers */
	if (later > 0 && !held && prep == 0 &&
	    (r = inv->kind->late(inv, specs, err)) < 0)
		goto refuse;
	if (inv->kind->lines) {
		/* accepted: the unfinished line waits for the rest */
		pthread_mutex_lock(&inv->lock);
		inv->partial.len = 0;
		rh_buf_append(&inv->partial, data + len, rest);
		pthread_mutex_unlock(&inv->lock);
	}
	free(all);
	all = NULL;
	if (n == 0) {
		cJSON_Delete(specs);
		return 0;
	}
	if (held) {
		r = hold(inv, specs, senv, cluster, ticket, later > 0, err);
		cJSON_Delete(specs);
		secret_env_free(senv);
		free(cluster);
		return r;
	}
	ms = (long)(fs->opts.connect_timeout * 1000);
	deadline = rh_time_after(CLOCK_REALTIME, ms);
	pthread_mutex_lock(&inv->lock);
	inv->write_err = 0;
	pthread_mutex_unlock(&inv->lock);
	mine = xcalloc((size_t)n, sizeof(*mine));
	i = 0;
	/* the lines of a write go out together */
	if ((rpc = prep < 0 ? NULL : inv->rpc) != NULL)
		rh_rpc_cork(rpc);
	cJSON_ArrayForEach(spec, specs) {
		s = slot_new(inv, spec, senv, extra);
		mine[i++] = s;
		if (prep < 0)
			fail_unsent(inv, s, err->msg);
		else
			submit(inv, s);
	}
	if (rpc != NULL)
		rh_rpc_uncork(rpc);
	cJSON_Delete(specs);
	secret_env_free(senv);
	cJSON_Delete(extra);
	r = wait_accepted(inv, &deadline);
	r = resend_lost(inv, mine, i, &deadline, r, err);
	free(mine);
	return r;
refuse:
	if (inv->kind->lines) {
		pthread_mutex_lock(&inv->lock);
		inv->last_size = 0;     /* the kernel ends that write(2) */
		pthread_mutex_unlock(&inv->lock);
	}
	cJSON_Delete(specs);
	secret_env_free(senv);
	cJSON_Delete(extra);
	free(all);
	free(cluster);
	rh_warn("refused: %s", err->msg);
	return r;
}

/* A whole kind's source collected so far is one program: submit it
 * (a read, flush or fsync ends it). 0 when there was none, or when it
 * was over the limit (its write failed). */
static int
submit_whole(struct invoke *inv, struct rh_err *err)
{
	char *all = NULL;
	size_t len;

	pthread_mutex_lock(&inv->lock);
	inv->overlong = 0;
	len = inv->partial.len;
	if (len > 0) {
		all = xmalloc(len);
		memcpy(all, inv->partial.data, len);
	}
	inv->partial.len = 0;
	pthread_mutex_unlock(&inv->lock);
	if (all == NULL)
		return 0;
	return stream_submit(inv, NULL, all, len, 0, all, err);
}

/* Before the first piece of a whole kind's program: its node reached,
 * or its launch begun, so that a node that cannot be reached fails that
 * write, which a shell reports, and not only the close, which it does
 * not. */
static int
whole_reach(struct invoke *inv, struct rh_err *err)
{
	char *cluster = NULL;
	unsigned ticket;
	int r;

	if (inv->rpc != NULL && rh_rpc_alive(inv->rpc))
		return 0;
	r = cluster_begin(inv->fs, inv->addr, inv->cfg, &cluster, &ticket,
	                  err);
	free(cluster);
	if (r == 0)
		r = res_agent(inv->fs, inv->addr, inv->cfg, &inv->rpc, err);
	else if (r > 0) /* launched: the program is held at its end */
		return 0;
	/* the message names the cluster (its errors file shows it) */
	if (r < 0 && strncmp(err->msg, inv->addr, strlen(inv->addr)) != 0) {
		char *why = xstrdup(err->msg);

		rh_err_set(err, -r, "%s: %s", inv->addr, why);
		free(why);
	}
	return r;
}

/* A write to a whole kind: collected, up to kind->whole bytes; a write
 * that passes them fails, drops what was collected, and so does every
 * write after it until the program ends (at a read, flush or fsync). */
static int
collect_whole(struct invoke *inv, const char *data, size_t size,
              struct rh_err *err)
{
	int r = 0, first;

	pthread_mutex_lock(&inv->lock);
	first = inv->partial.len == 0 && !inv->overlong;
	pthread_mutex_unlock(&inv->lock);
	if (first && size > 0 && (r = whole_reach(inv, err)) < 0)
		return r;
	pthread_mutex_lock(&inv->lock);
	if (!inv->overlong && size > inv->kind->whole - inv->partial.len) {
		inv->overlong = 1;
		inv->partial.len = 0;
	}
	if (inv->overlong)
		r = rh_err_set(err, E2BIG, "%s: a program of more than the "
		               "%u KiB one holds: nothing of it runs",
		               inv->addr, inv->kind->whole >> 10);
	else
		rh_buf_append(&inv->partial, data, size);
	pthread_mutex_unlock(&inv->lock);
	return r;
}

void
call_stream_write(fuse_req_t req, struct handle *h, const char *data,
                  size_t size, off_t off)
{
	struct invoke *inv = h->priv;
	struct rh_err err;
	size_t len = size, rest = 0;
	char *all = NULL;
	int r;

	if (inv->kind->whole) {
		if ((r = collect_whole(inv, data, size, &err)) < 0) {
			rh_warn("refused: %s", err.msg);
			fuse_reply_err(req, -r);
		} else {
			fuse_reply_write(req, size);
		}
		return;
	}
	if (inv->kind->lines) {
		pthread_mutex_lock(&inv->lock);
		if ((r = line_limit(inv, data, size, &err)) == 0)
			all = complete_lines(inv, data, size, &len, &rest);
		pthread_mutex_unlock(&inv->lock);
		if (r < 0) {
			rh_warn("refused: %s", err.msg);
			fuse_reply_err(req, -r);
			return;
		}
		data = all;
	}
	if ((r = stream_submit(inv, req, data, len, rest, all, &err)) < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

int
call_stream_flush(struct handle *h)
{
	struct invoke *inv = h->priv;
	struct rh_err err;

	return inv->kind->whole ? submit_whole(inv, &err) : 0;
}

static int
send_check(struct invoke *inv, struct rh_err *err)
{
	const cJSON *command = cJSON_GetObjectItemCaseSensitive(inv->cfg,
	                                                        "command");
	const cJSON *fn = cJSON_GetObjectItemCaseSensitive(inv->cfg,
	                                                   "fn_pointers");
	struct rh_call_spec cs;
	struct rh_err why;
	int r;

	/* config.json was validated when written; one edited behind our
	 * back still gets a clear error. */
	if (!cJSON_IsArray(command) && !cJSON_IsArray(fn))
		return rh_err_set(err, EINVAL, "%s: the send has neither "
		                  "'command' nor 'fn_pointers'", inv->addr);
	rh_call_spec_init(&cs);
	r = cJSON_IsArray(command) ? rh_call_spec_set_command(&cs, command, &why) :
	    rh_call_spec_set_fn(&cs, fn, &why);
	rh_call_spec_free(&cs);
	if (r < 0)
		return rh_err_set(err, EINVAL, "%s: %s", inv->addr, why.msg);
	/* an env that is not there, or not usable: the write is refused */
	return send_env_check(inv->fs, inv->addr, inv->cfg, err);
}

void
call_stream_release(struct handle *h)
{
	struct invoke *inv = h->priv;
	size_t i = 0;

	/* a whole kind's program: each close ran it (call_stream_flush) */
	if (inv->kind->whole)
		i = inv->partial.len;
	/* only a line that cannot be a spec waits for more (ends_whole) */
	while (i < inv->partial.len && strchr(" \t\r", inv->partial.data[i]) &&
	       inv->partial.data[i] != '\0')
		i++;
	if (i < inv->partial.len)
		rh_warn("%s/invoke: closed inside a line (%zu bytes without "
		        "its newline, not a whole call spec): not submitted",
		        inv->addr, inv->partial.len);
	inv_put(inv);
}

/* a send's secrets, read at each write: one that cannot be read fails
 * the write; the values go in the requests only */
static int
send_env(struct invoke *inv, cJSON **env, struct rh_err *err)
{
	return secret_env(inv->fs, inv->addr, inv->cfg, env, err);
}

static int
send_setup(struct invoke *inv, fuse_req_t req, cJSON **extra,
           struct rh_err *err)
{
	return send_prepare(inv->fs, inv->addr, inv->cfg, inv->rpc, req, extra,
	                    err);
}

int
invoke_cluster_prepare(struct invoke *inv, fuse_req_t req, cJSON **extra,
                       struct rh_err *err)
{
	return cluster_env_prepare(inv->fs, inv->addr, inv->cfg, inv->rpc, req,
	                           extra, err);
}

int
invoke_cluster_check(struct invoke *inv, struct rh_err *err)
{
	return cluster_env_check(inv->fs, inv->addr, inv->cfg, err);
}

static const struct call_stream send_stream = {
	.parse = invoke_parse_lines,
	.check = send_check,
	.request = call_request,
	.answer = result_line,
	.refs = send_refs,
	.late = send_data_late,
	.env = send_env,
	.prepare = send_setup,
	.lines = 1,
};

const struct fs_kind kind_invoke = {
	.name = "invoke",
	.mode = 0644,
	.nonseekable = 1,
	.open = invoke_open,
	.read = call_stream_read,
	.write = call_stream_write,
	.release = call_stream_release,
	.truncate = stream_truncate,
};

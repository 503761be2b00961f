/*
 * op.c - the requests a client sends, one handler each; docs/protocol.md
 * is their reference. A handler returns 0 once it has answered (or will
 * answer later), or -errno with err for a refusal, which the dispatcher
 * turns into an error reply. A refused request never closes the
 * connection: only a broken frame does.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"
#include "requests.h"
#include "agent.h"

typedef int (*op_fn)(struct agent *, struct conn *,
                     const struct rh_proto_msg *, struct rh_err *);

static int
op_hello(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
         struct rh_err *err)
{
	struct rh_hello_req q = { 0, 0, "(unnamed)" };
	cJSON *r;
	int v, rr;

	if ((rr = rh_hello_req_decode(m->json, &q, err)) < 0)
		return rr;
	v = q.proto < RH_PROTO_VERSION ? (int)q.proto : RH_PROTO_VERSION;
	if (v < RH_PROTO_VERSION_MIN || v < q.proto_min)
		return rh_err_set(err, EPROTONOSUPPORT, "the client speaks "
		                  "protocol %lld to %lld, this agent %d to %d",
		                  q.proto_min, q.proto, RH_PROTO_VERSION_MIN,
		                  RH_PROTO_VERSION);
	c->proto = v;
	autostop_touch(a);      /* a new client is activity */
	rh_debug("client %llu: hello from %s, protocol %d",
	         (unsigned long long)c->serial, q.client, v);
	r = rh_proto_reply(m->id);
	cJSON_AddNumberToObject(r, "proto", v);
	cJSON_AddStringToObject(r, "agent", "rhagent");
	cJSON_AddStringToObject(r, "version", VERSION);
	cJSON_AddNumberToObject(r, "pid", getpid());
	cJSON_AddNumberToObject(r, "frame_max", RH_PROTO_FRAME_MAX);
	conn_send(a, c, r);
	return 0;
}

static int
op_ping(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
        struct rh_err *err)
{
	conn_send(a, c, rh_proto_reply(m->id));
	return 0;
}

static int
op_status(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
          struct rh_err *err)
{
	struct timespec now;
	struct call *call;
	cJSON *r, *arr;
	double load[3];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i, n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	r = rh_proto_reply(m->id);
	cJSON_AddStringToObject(r, "agent", "rhagent");
	cJSON_AddStringToObject(r, "version", VERSION);
	cJSON_AddNumberToObject(r, "proto", RH_PROTO_VERSION);
	cJSON_AddNumberToObject(r, "pid", getpid());
	cJSON_AddStringToObject(r, "home", a->home);
	cJSON_AddNumberToObject(r, "uptime",
	                        (double)(now.tv_sec - a->started.tv_sec) +
	                        (now.tv_nsec - a->started.tv_nsec) / 1e9);
	rh_json_add_time(r, "started_at", &a->started_wall);
	cJSON_AddNumberToObject(r, "running", a->running.n);
	cJSON_AddNumberToObject(r, "queued", a->queued.n);
	cJSON_AddNumberToObject(r, "jobs", a->jobs);
	cJSON_AddNumberToObject(r, "calls", (double)a->ncalls);
	cJSON_AddNumberToObject(r, "clients", a->nconns);
	cJSON_AddNumberToObject(r, "cpus", cpus > 0 ? (double)cpus : 1);
	arr = cJSON_AddArrayToObject(r, "load");
	n = getloadavg(load, 3);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(load[i]));
	arr = cJSON_AddArrayToObject(r, "running_calls");
	for (call = a->running.head; call != NULL; call = call->next)
		cJSON_AddItemToArray(arr, cJSON_CreateString(call->id));
	if (a->worker_name != NULL)
		cJSON_AddStringToObject(r, "node", a->worker_name);
	head_status(a, r);      /* a head's nodes */
	conn_send(a, c, r);
	return 0;
}

static int
op_call(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
        struct rh_err *err)
{
	struct call *call;
	cJSON *r;
	int wait, rr;

	wait = 1;
	if ((rr = rh_json_get_bool(m->json, "wait", &wait, err)) < 0)
		return rr;
	if ((rr = call_submit(a, m->json, &call, err)) < 0)
		return rr;
	autostop_touch(a);
	if (!wait) {
		r = rh_proto_reply(m->id);
		cJSON_AddStringToObject(r, "call", call->id);
		conn_send(a, c, r);
		call_schedule(a);
		call_submitted(a);
		return 0;
	}
	/* The id now, so that the client can find the call again if the
	 * connection drops; the reply when it ends. Starting it may end it
	 * at once (a program that does not exist): accepted goes first. */
	r = rh_proto_new(m->id, "accepted");
	cJSON_AddStringToObject(r, "call", call->id);
	conn_send(a, c, r);
	call_wait(call, c, m->id);
	call_schedule(a);
	call_submitted(a);
	return 0;
}

static int
op_get(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
       struct rh_err *err)
{
	struct rh_get_req q = { NULL, 0, 1, 0 };
	struct call *call;
	cJSON *r;
	int rr;

	if ((rr = rh_get_req_decode(m->json, &q, err)) < 0)
		return rr;
	if (q.wait && (call = call_find(a, q.call)) != NULL) {
		call_wait(call, c, m->id);
		return 0;
	}
	r = rh_proto_reply(m->id);
	/* with the request as the agent received it when asked */
	if ((rr = record_describe(a, q.call, NULL, r,
	                          (q.result ? RECORD_RESULT : 0) |
	                          (q.spec ? RECORD_SPEC : 0), err)) < 0) {
		cJSON_Delete(r);
		return rr;
	}
	conn_send(a, c, r);
	return 0;
}

static int
op_cancel(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
          struct rh_err *err)
{
	struct rh_cancel_req q;
	int active, rr;
	cJSON *r;

	if ((rr = rh_cancel_req_decode(m->json, &q, err)) < 0 ||
	    (rr = call_cancel(a, q.call, &active, err)) < 0)
		return rr;
	r = rh_proto_reply(m->id);
	record_describe(a, q.call, NULL, r, 0, NULL);
	cJSON_AddBoolToObject(r, "cancelled", active);
	conn_send(a, c, r);
	return 0;
}

static int
op_output(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
          struct rh_err *err)
{
	struct rh_output_req q = { NULL, "stdout", 0, AGENT_RESULT_INLINE, 0 };
	int rr;

	if ((rr = rh_output_req_decode(m->json, &q, err)) < 0)
		return rr;
	/* a call that ran on a worker node: its output is there */
	if ((rr = head_proxy(a, c, m, q.call, err)) != 0)
		return rr < 0 ? rr : 0;
	if (q.length > AGENT_OUTPUT_MAX)        /* asking for more is fine */
		q.length = AGENT_OUTPUT_MAX;
	/* and waiting longer: the wait is capped */
	return outwait_read(a, c, m->id, q.call, q.stream,
	                    (uint64_t)q.offset, (size_t)q.length,
	                    (uint64_t)q.wait_ms, err);
}

static int
op_list(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
        struct rh_err *err)
{
	struct rh_list_req q = { NULL, NULL, 100 };
	cJSON *r;
	int rr;

	if ((rr = rh_list_req_decode(m->json, &q, err)) < 0)
		return rr;
	r = rh_proto_reply(m->id);
	record_history(a, q.send, q.before, (size_t)q.limit, r);
	conn_send(a, c, r);
	return 0;
}

/* The agent's log from offset; at its end, wait up to wait_ms for more. */
static int
op_log(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
       struct rh_err *err)
{
	struct rh_log_req q = { 0, 65536, 0 };
	int rr;

	if ((rr = rh_log_req_decode(m->json, &q, err)) < 0)
		return rr;
	if (q.length > AGENT_OUTPUT_MAX)
		q.length = AGENT_OUTPUT_MAX;
	return logwait_read(a, c, m->id, (uint64_t)q.offset,
	                    (size_t)q.length, (unsigned)q.wait_ms);
}

/* A line for the log from a client: what it did on this node (syncing,
 * setup), for whoever follows the log. */
static int
op_note(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
        struct rh_err *err)
{
	const char *msg = NULL;
	char *line, *p;
	int rr;

	if ((rr = rh_json_get_string(m->json, "message", &msg, err)) < 0)
		return rr;
	if (msg == NULL || *msg == '\0' || strlen(msg) > 4096)
		return rh_err_set(err, EINVAL, "'message' must be a string "
		                  "of 1 to 4096 bytes");
	/* one line each: a newline must not forge another entry */
	line = xstrdup(msg);
	for (p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	rh_info("%s", line);
	free(line);
	conn_send(a, c, rh_proto_reply(m->id));
	return 0;
}

/* Stop: the reply goes out, then the agent stops as on SIGTERM. */
static int
op_stop(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
        struct rh_err *err)
{
	rh_info("stopping: asked by client %llu",
	        (unsigned long long)c->serial);
	a->stopping = 1;
	conn_send(a, c, rh_proto_reply(m->id));
	return 0;
}

static int
op_autostop(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
            struct rh_err *err)
{
	long long mins;
	cJSON *r;
	int rr;

	if ((rr = rh_json_get_int(m->json, "minutes", -1, AUTOSTOP_MAX, &mins,
	                          err)) < 0)
		return rh_err_set(err, EINVAL, "'minutes' must be an integer "
		                  "from -1 (never) to %d", AUTOSTOP_MAX);
	if (rr > 0 && (rr = autostop_set(a, (int)mins, err)) < 0)
		return rr;
	r = rh_proto_reply(m->id);
	cJSON_AddNumberToObject(r, "minutes", a->autostop_mins);
	conn_send(a, c, r);
	return 0;
}

/* setup_cmds done on this node: keys (hashes of command lists) kept one a
 * line, so that they run once per node however many clients come. */
#define SETUP_DONE "setup-done"

static int
setup_key_valid(const char *k)
{
	size_t n = strspn(k, "0123456789abcdef");

	return n >= 16 && n <= 128 && k[n] == '\0';
}

static int
op_setup_done(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
              struct rh_err *err)
{
	struct rh_buf b = { 0 };
	const char *key = NULL, *p, *nl;
	size_t klen;
	int set = 0, done = 0, rr;
	cJSON *r;

	if ((rr = rh_json_get_string(m->json, "key", &key, err)) < 0 ||
	    (rr = rh_json_get_bool(m->json, "set", &set, err)) < 0)
		return rr;
	if (key == NULL || !setup_key_valid(key))
		return rh_err_set(err, EINVAL, "'key' must be a hex digest");
	klen = strlen(key);
	rr = rh_file_read(SETUP_DONE, 16u * 1024 * 1024, &b, NULL);
	if (rr < 0 && rr != -ENOENT) {
		rh_buf_free(&b);
		return rh_err_set(err, -rr, "%s/%s: %s", a->dir, SETUP_DONE,
		                  strerror(-rr));
	}
	for (p = b.data; p != NULL && p < b.data + b.len; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(b.data + b.len - p))) == NULL)
			nl = b.data + b.len;
		if ((size_t)(nl - p) == klen && memcmp(p, key, klen) == 0)
			done = 1;
	}
	if (set && !done) {
		rh_buf_printf(&b, "%s\n", key);
		if ((rr = rh_file_replace(SETUP_DONE, b.data, b.len, 0600,
		                          1)) < 0) {
			rh_buf_free(&b);
			return rh_err_set(err, -rr, "%s/%s: %s", a->dir,
			                  SETUP_DONE, strerror(-rr));
		}
		done = 1;
	}
	rh_buf_free(&b);
	r = rh_proto_reply(m->id);
	cJSON_AddBoolToObject(r, "done", done);
	conn_send(a, c, r);
	return 0;
}

static const struct {
	const char *name;
	op_fn fn;
	int before_hello;       /* allowed before hello */
} ops[] = {
	{ "hello", op_hello, 1 },
	{ "ping", op_ping, 1 },
	{ "status", op_status, 0 },
	{ "call", op_call, 0 },
	{ "get", op_get, 0 },
	{ "cancel", op_cancel, 0 },
	{ "output", op_output, 0 },
	{ "list", op_list, 0 },
	{ "log", op_log, 0 },
	{ "note", op_note, 0 },
	{ "stop", op_stop, 0 },
	{ "autostop", op_autostop, 0 },
	{ "setup_done", op_setup_done, 0 },
	{ "workers", head_op_workers, 0 },
};

void
op_handle(struct agent *a, struct conn *c, struct rh_proto_msg *m)
{
	struct rh_err err;
	size_t i;
	int r;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, m->op) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0]))
		r = rh_err_set(&err, ENOSYS, "unknown op '%s'", m->op);
	else if (c->proto == 0 && !ops[i].before_hello)
		r = rh_err_set(&err, EPROTO, "'%s' before 'hello': say hello "
		               "first, with the protocol version", m->op);
	else
		r = ops[i].fn(a, c, m, &err);
	if (r < 0) {
		rh_debug("client %llu: %s #%llu refused: %s",
		         (unsigned long long)c->serial, m->op,
		         (unsigned long long)m->id, err.msg);
		conn_send(a, c, rh_proto_error(m->id, -r, "%s", err.msg));
	}
}

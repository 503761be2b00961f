/* requests.c - the agent protocol's requests but "call", encoded by rhfs
 * and decoded by rhagent (requests.h; docs/protocol.md). */
#include "config.h"

#include <cJSON.h>
#include <errno.h>

#include "base.h"
#include "proto.h"
#include "callspec.h"
#include "requests.h"

/* The call a request names: required, a call id. */
static int
call_field(const cJSON *m, const char **out, struct rh_err *err)
{
	const char *id = NULL;
	int r;

	if ((r = rh_json_get_string(m, "call", &id, err)) < 0)
		return r;
	if (id == NULL)
		return rh_err_set(err, EINVAL, "'call' (a call id) is missing");
	if (!rh_call_id_valid(id))
		return rh_err_set(err, EINVAL, "'%s' is not a call id", id);
	*out = id;
	return 0;
}

/* A byte range and a wait: offset, length and wait_ms (up to wait_max). */
static int
range_fields(const cJSON *m, long long *off, long long *len, long long *wait,
             long long wait_max, struct rh_err *err)
{
	int r;

	if ((r = rh_json_get_int(m, "offset", 0, RH_PROTO_ID_MAX, off,
	                         err)) < 0 ||
	    (r = rh_json_get_int(m, "length", 0, RH_PROTO_ID_MAX, len,
	                         err)) < 0 ||
	    (r = rh_json_get_int(m, "wait_ms", 0, wait_max, wait, err)) < 0)
		return r;
	return 0;
}

static void
add_range(cJSON *m, long long off, long long len, long long wait)
{
	cJSON_AddNumberToObject(m, "offset", (double)off);
	cJSON_AddNumberToObject(m, "length", (double)len);
	if (wait > 0)
		cJSON_AddNumberToObject(m, "wait_ms", (double)wait);
}

cJSON *
rh_hello_req_encode(const struct rh_hello_req *q)
{
	cJSON *m = rh_proto_new(0, "hello");

	cJSON_AddNumberToObject(m, "proto", (double)q->proto);
	if (q->proto_min > 0)
		cJSON_AddNumberToObject(m, "proto_min", (double)q->proto_min);
	if (q->client != NULL)
		cJSON_AddStringToObject(m, "client", q->client);
	return m;
}

int
rh_hello_req_decode(const cJSON *m, struct rh_hello_req *q,
                    struct rh_err *err)
{
	long long max = 0, min;
	int r;

	if ((r = rh_json_get_int(m, "proto", 0, 65535, &max, err)) < 0)
		return r;
	if (max == 0)
		return rh_err_set(err, EINVAL, "'proto' (the highest protocol "
		                  "version the client speaks) is missing");
	min = max;
	if ((r = rh_json_get_int(m, "proto_min", 0, max, &min, err)) < 0)
		return r;
	/* versions start at 1: a proto_min of 0 accepts what 1 does, and
	 * is kept as 1 (0 in the struct is "as proto") */
	if (min == 0)
		min = 1;
	q->proto = max;
	q->proto_min = min;
	/* who is asking only names it in the log: a wrong type is none */
	rh_json_get_string(m, "client", &q->client, NULL);
	return 0;
}

cJSON *
rh_get_req_encode(const struct rh_get_req *q)
{
	cJSON *m = rh_proto_new(0, "get");

	cJSON_AddStringToObject(m, "call", q->call);
	cJSON_AddBoolToObject(m, "wait", q->wait);
	cJSON_AddBoolToObject(m, "result", q->result);
	if (q->spec)
		cJSON_AddBoolToObject(m, "spec", 1);
	return m;
}

int
rh_get_req_decode(const cJSON *m, struct rh_get_req *q, struct rh_err *err)
{
	int r;

	if ((r = call_field(m, &q->call, err)) < 0 ||
	    (r = rh_json_get_bool(m, "wait", &q->wait, err)) < 0 ||
	    (r = rh_json_get_bool(m, "result", &q->result, err)) < 0 ||
	    (r = rh_json_get_bool(m, "spec", &q->spec, err)) < 0)
		return r;
	return 0;
}

cJSON *
rh_cancel_req_encode(const struct rh_cancel_req *q)
{
	cJSON *m = rh_proto_new(0, "cancel");

	cJSON_AddStringToObject(m, "call", q->call);
	return m;
}

int
rh_cancel_req_decode(const cJSON *m, struct rh_cancel_req *q,
                     struct rh_err *err)
{
	return call_field(m, &q->call, err);
}

cJSON *
rh_output_req_encode(const struct rh_output_req *q)
{
	cJSON *m = rh_proto_new(0, "output");

	cJSON_AddStringToObject(m, "call", q->call);
	if (q->stream != NULL)
		cJSON_AddStringToObject(m, "stream", q->stream);
	add_range(m, q->offset, q->length, q->wait_ms);
	return m;
}

int
rh_output_req_decode(const cJSON *m, struct rh_output_req *q,
                     struct rh_err *err)
{
	int r;

	if ((r = call_field(m, &q->call, err)) < 0 ||
	    (r = rh_json_get_string(m, "stream", &q->stream, err)) < 0 ||
	    (r = range_fields(m, &q->offset, &q->length, &q->wait_ms,
	                      RH_PROTO_ID_MAX, err)) < 0)
		return r;
	return 0;
}

cJSON *
rh_log_req_encode(const struct rh_log_req *q)
{
	cJSON *m = rh_proto_new(0, "log");

	add_range(m, q->offset, q->length, q->wait_ms);
	return m;
}

int
rh_log_req_decode(const cJSON *m, struct rh_log_req *q, struct rh_err *err)
{
	return range_fields(m, &q->offset, &q->length, &q->wait_ms,
	                    RH_LOG_WAIT_MAX_MS, err);
}

cJSON *
rh_list_req_encode(const struct rh_list_req *q)
{
	cJSON *m = rh_proto_new(0, "list");

	if (q->send != NULL)
		cJSON_AddStringToObject(m, "send", q->send);
	if (q->before != NULL)
		cJSON_AddStringToObject(m, "before", q->before);
	cJSON_AddNumberToObject(m, "limit", (double)q->limit);
	return m;
}

int
rh_list_req_decode(const cJSON *m, struct rh_list_req *q, struct rh_err *err)
{
	int r;

	if ((r = rh_json_get_string(m, "send", &q->send, err)) < 0 ||
	    (r = rh_json_get_string(m, "before", &q->before, err)) < 0 ||
	    (r = rh_json_get_int(m, "limit", 0, 1000, &q->limit, err)) < 0)
		return r;
	if (q->before != NULL && !rh_call_id_valid(q->before))
		return rh_err_set(err, EINVAL, "'%s' is not a call id",
		                  q->before);
	return 0;
}

void
rh_bytes_reply_encode(cJSON *r, const struct rh_bytes_reply *b)
{
	rh_json_add_bytes(r, "data", b->data != NULL ? b->data->data : "",
	                  b->data != NULL ? b->data->len : 0);
	cJSON_AddNumberToObject(r, "offset", (double)b->offset);
	cJSON_AddNumberToObject(r, "size", (double)b->size);
	if (b->eof >= 0)
		cJSON_AddBoolToObject(r, "eof", b->eof);
	if (b->wait_ms >= 0)
		cJSON_AddNumberToObject(r, "wait_ms", (double)b->wait_ms);
}

int
rh_bytes_reply_decode(const cJSON *r, struct rh_bytes_reply *b,
                      struct rh_err *err)
{
	struct rh_buf scratch = { 0 };
	int rr;

	b->offset = b->size = 0;
	b->eof = -1;
	b->wait_ms = -1;
	rr = rh_json_get_bytes(r, "data", b->data != NULL ? b->data : &scratch);
	rh_buf_free(&scratch);
	if (rr < 0)
		return rh_err_set(err, EIO, "'data' is not bytes");
	if ((rr = rh_json_get_int(r, "offset", 0, RH_PROTO_ID_MAX, &b->offset,
	                          err)) < 0 ||
	    (rr = rh_json_get_int(r, "size", 0, RH_PROTO_ID_MAX, &b->size,
	                          err)) < 0 ||
	    (rr = rh_json_get_bool(r, "eof", &b->eof, err)) < 0 ||
	    (rr = rh_json_get_int(r, "wait_ms", 0, RH_PROTO_ID_MAX, &b->wait_ms,
	                          err)) < 0)
		return rr;
	return 0;
}

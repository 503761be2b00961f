/* unit-requests.c - the agent protocol's requests but "call"
 * (src/proto/requests.c): each encoded by rhfs's encoder and read back by
 * rhagent's decoder to the same fields; absent fields keep the caller's
 * defaults; each bad field refused with the reason naming it. And the
 * reply to output and log, encoded by rhagent and decoded by rhfs. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "requests.h"
#include "unit.h"

#define ID "20240501-120000-000001"

static cJSON *
parse(const char *s)
{
	struct rh_err err;
	cJSON *v = rh_json_parse(s, strlen(s), "test", &err);

	if (v == NULL) {
		fprintf(stderr, "bad test JSON %s: %s\n", s, err.msg);
		exit(99);
	}
	return v;
}

static const char *
op_of(const cJSON *m)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(m, "op");

	return cJSON_IsString(op) ? op->valuestring : "(none)";
}

/* json refused by decode with -errno e and a message holding want. */
#define REFUSED_WITH(e, decode, json, q, want) do { \
	struct rh_err e_; \
	cJSON *m_ = parse(json); \
	e_.msg[0] = '\0'; \
	CHECK_EQ_INT(decode(m_, q, &e_), -(e)); \
	if (!CHECK(strstr(e_.msg, want) != NULL)) \
		fprintf(stderr, "     message: %s\n", e_.msg); \
	cJSON_Delete(m_); \
} while (0)
#define REFUSED(decode, json, q, want) \
	REFUSED_WITH(EINVAL, decode, json, q, want)

static void
hello(void)
{
	struct rh_hello_req q = { 3, 1, "rhfs" }, d = { 0, 0, "(unnamed)" };
	struct rh_err err;
	cJSON *m = rh_hello_req_encode(&q);

	CHECK_STR(op_of(m), "hello");
	CHECK_EQ_INT(rh_hello_req_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.proto, 3);
	CHECK_EQ_INT(d.proto_min, 1);
	CHECK_STR(d.client, "rhfs");
	cJSON_Delete(m);
	/* proto_min defaults to proto; no client keeps the default */
	q.proto_min = 0;
	q.client = NULL;
	d.client = "(unnamed)";
	m = rh_hello_req_encode(&q);
	CHECK_EQ_INT(rh_hello_req_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.proto_min, 3);
	CHECK_STR(d.client, "(unnamed)");
	cJSON_Delete(m);
	/* an explicit 0 accepts every version, as 1 does: kept as 1, so
	 * that it encodes again as it decoded */
	m = cJSON_Parse("{\"op\":\"hello\",\"proto\":3,\"proto_min\":0}");
	CHECK_EQ_INT(rh_hello_req_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.proto_min, 1);
	cJSON_Delete(m);
	REFUSED(rh_hello_req_decode, "{\"op\":\"hello\"}", &d, "'proto'");
	REFUSED(rh_hello_req_decode, "{\"proto\":70000}", &d, "'proto'");
	REFUSED(rh_hello_req_decode, "{\"proto\":2,\"proto_min\":3}", &d,
	        "'proto_min'");
}

static void
get(void)
{
	struct rh_get_req q = { ID, 1, 0, 1 }, d = { NULL, 0, 1, 0 };
	struct rh_err err;
	cJSON *m = rh_get_req_encode(&q);

	CHECK_STR(op_of(m), "get");
	CHECK_EQ_INT(rh_get_req_decode(m, &d, &err), 0);
	CHECK_STR(d.call, ID);
	CHECK_EQ_INT(d.wait, 1);
	CHECK_EQ_INT(d.result, 0);
	CHECK_EQ_INT(d.spec, 1);
	cJSON_Delete(m);
	/* absent: the defaults stay */
	d.wait = 0;
	d.result = 1;
	d.spec = 0;
	m = parse("{\"op\":\"get\",\"call\":\"" ID "\"}");
	CHECK_EQ_INT(rh_get_req_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.wait, 0);
	CHECK_EQ_INT(d.result, 1);
	CHECK_EQ_INT(d.spec, 0);
	cJSON_Delete(m);
	REFUSED(rh_get_req_decode, "{\"op\":\"get\"}", &d, "'call'");
	REFUSED(rh_get_req_decode, "{\"call\":\"x\"}", &d,
	        "'x' is not a call id");
	REFUSED(rh_get_req_decode, "{\"call\":\"" ID "\",\"wait\":1}", &d,
	        "'wait' must be true or false");
}

static void
cancel(void)
{
	struct rh_cancel_req q = { ID }, d = { NULL };
	struct rh_err err;
	cJSON *m = rh_cancel_req_encode(&q);

	CHECK_STR(op_of(m), "cancel");
	CHECK_EQ_INT(rh_cancel_req_decode(m, &d, &err), 0);
	CHECK_STR(d.call, ID);
	cJSON_Delete(m);
	REFUSED(rh_cancel_req_decode, "{\"call\":3}", &d,
	        "'call' must be a string");
}

static void
output(void)
{
	struct rh_output_req q = { ID, "stderr", 4096, 65536, 30000 };
	struct rh_output_req d = { NULL, "stdout", 0, 1, 0 };
	struct rh_err err;
	cJSON *m = rh_output_req_encode(&q);

	CHECK_STR(op_of(m), "output");
	CHECK_EQ_INT(rh_output_req_decode(m, &d, &err), 0);
	CHECK_STR(d.call, ID);
	CHECK_STR(d.stream, "stderr");
	CHECK_EQ_INT(d.offset, 4096);
	CHECK_EQ_INT(d.length, 65536);
	CHECK_EQ_INT(d.wait_ms, 30000);
	cJSON_Delete(m);
	/* no wait: none sent, the default stays */
	q.wait_ms = 0;
	q.stream = NULL;
	d.wait_ms = 7;
	d.stream = "stdout";
	m = rh_output_req_encode(&q);
	CHECK(cJSON_GetObjectItemCaseSensitive(m, "wait_ms") == NULL);
	CHECK_EQ_INT(rh_output_req_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.wait_ms, 7);
	CHECK_STR(d.stream, "stdout");
	cJSON_Delete(m);
	REFUSED(rh_output_req_decode, "{\"call\":\"" ID "\",\"offset\":-1}",
	        &d, "'offset' must be an integer");
	REFUSED(rh_output_req_decode, "{\"call\":\"" ID "\",\"length\":1.5}",
	        &d, "'length' must be an integer");
	REFUSED(rh_output_req_decode, "{\"call\":\"" ID "\",\"stream\":[]}",
	        &d, "'stream' must be a string");
}

static void
log_(void)
{
	struct rh_log_req q = { 100, 200, RH_LOG_WAIT_MAX_MS };
	struct rh_log_req d = { 0, 65536, 0 };
	struct rh_err err;
	cJSON *m = rh_log_req_encode(&q);

	CHECK_STR(op_of(m), "log");
	CHECK_EQ_INT(rh_log_req_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.offset, 100);
	CHECK_EQ_INT(d.length, 200);
	CHECK_EQ_INT(d.wait_ms, RH_LOG_WAIT_MAX_MS);
	cJSON_Delete(m);
	d.length = 65536;
	m = parse("{\"op\":\"log\",\"offset\":5}");
	CHECK_EQ_INT(rh_log_req_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.length, 65536);
	cJSON_Delete(m);
	REFUSED(rh_log_req_decode, "{\"wait_ms\":60001}", &d,
	        "'wait_ms' must be an integer from 0 to 60000");
}

static void
list(void)
{
	struct rh_list_req q = { "~/add", ID, 1000 }, d = { NULL, NULL, 100 };
	struct rh_err err;
	cJSON *m = rh_list_req_encode(&q);

	CHECK_STR(op_of(m), "list");
	CHECK_EQ_INT(rh_list_req_decode(m, &d, &err), 0);
	CHECK_STR(d.send, "~/add");
	CHECK_STR(d.before, ID);
	CHECK_EQ_INT(d.limit, 1000);
	cJSON_Delete(m);
	d.send = d.before = NULL;
	d.limit = 100;
	m = parse("{\"op\":\"list\"}");
	CHECK_EQ_INT(rh_list_req_decode(m, &d, &err), 0);
	CHECK(d.send == NULL && d.before == NULL);
	CHECK_EQ_INT(d.limit, 100);
	cJSON_Delete(m);
	REFUSED(rh_list_req_decode, "{\"before\":\"yesterday\"}", &d,
	        "'yesterday' is not a call id");
	REFUSED(rh_list_req_decode, "{\"limit\":1001}", &d, "'limit'");
}

static void
bytes_reply(void)
{
	struct rh_buf in = { 0 }, out = { 0 };
	struct rh_bytes_reply b = { &in, 10, 14, 1, 100 };
	struct rh_bytes_reply d = { &out, 0, 0, 0, 0 };
	struct rh_err err;
	cJSON *m = cJSON_CreateObject();

	/* bytes that are not text go as base64, and come back the same */
	rh_buf_append(&in, "a\0\xff\n", 4);
	rh_bytes_reply_encode(m, &b);
	CHECK(cJSON_GetObjectItemCaseSensitive(m, "data_b64") != NULL);
	CHECK_EQ_INT(rh_bytes_reply_decode(m, &d, &err), 0);
	CHECK_EQ_INT((long long)out.len, 4);
	CHECK(memcmp(out.data, "a\0\xff\n", 4) == 0);
	CHECK_EQ_INT(d.offset, 10);
	CHECK_EQ_INT(d.size, 14);
	CHECK_EQ_INT(d.eof, 1);
	CHECK_EQ_INT(d.wait_ms, 100);
	cJSON_Delete(m);
	/* a log's reply: no eof, no wait_ms; text as text */
	rh_buf_free(&in);
	rh_buf_free(&out);
	rh_buf_append(&in, "line\n", 5);
	b.eof = -1;
	b.wait_ms = -1;
	m = cJSON_CreateObject();
	rh_bytes_reply_encode(m, &b);
	CHECK(cJSON_GetObjectItemCaseSensitive(m, "eof") == NULL);
	CHECK(cJSON_GetObjectItemCaseSensitive(m, "wait_ms") == NULL);
	CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(m, "data")));
	CHECK_EQ_INT(rh_bytes_reply_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.eof, -1);
	CHECK_EQ_INT(d.wait_ms, -1);
	CHECK_EQ_INT((long long)out.len, 5);
	cJSON_Delete(m);
	/* the bytes not kept: decoded all the same */
	d.data = NULL;
	m = parse("{\"data\":\"x\",\"offset\":1,\"size\":2,\"eof\":false}");
	CHECK_EQ_INT(rh_bytes_reply_decode(m, &d, &err), 0);
	CHECK_EQ_INT(d.eof, 0);
	CHECK_EQ_INT(d.size, 2);
	cJSON_Delete(m);
	REFUSED_WITH(EIO, rh_bytes_reply_decode, "{\"offset\":0}", &d,
	             "'data'");
	REFUSED(rh_bytes_reply_decode, "{\"data\":\"\",\"eof\":1}", &d,
	        "'eof' must be true or false");
	rh_buf_free(&in);
	rh_buf_free(&out);
}

int
main(void)
{
	hello();
	get();
	cancel();
	output();
	log_();
	list();
	bytes_reply();
	return unit_done();
}

/* fuzz-proto.c - the agent wire frame decoder (src/proto/proto.c) on any byte
 * stream, fed in pieces as a socket gives them. The first byte of the
 * input picks the piece size and whether rh_proto_dec_feed or the
 * space/commit pair (a read() into the buffer) takes them; the rest is
 * the stream.
 * Properties: a decoded message passes rh_proto_check; it encodes again
 * and that frame decodes to a message with the same id and op; once the
 * stream failed, it stays failed. A request of requests.h's that its
 * decoder takes encodes to one that decodes and encodes to the same
 * text; so does a message that reads as a call's record (callrecord.h),
 * as a reply to get or call does. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"
#include "requests.h"
#include "callrecord.h"
#include "fuzz.h"

/* The frame limit of the decoder under test: small, so that the limit
 * is reached by inputs of a fuzzing size. */
#define MAX_FRAME 4096

static void
roundtrip(const struct rh_proto_msg *m)
{
	struct rh_proto_dec d;
	struct rh_proto_msg m2;
	struct rh_buf out = { 0 };
	struct rh_err err;
	int r;

	FUZZ_CHECK(rh_proto_check(m->json, NULL, NULL, &err) == 0, "%s",
	           err.msg);
	r = rh_proto_encode(m->json, 0, &out);
	FUZZ_CHECK(r == 0, "a decoded message does not encode: %d", r);
	rh_proto_dec_init(&d, 0);
	rh_proto_dec_feed(&d, out.data, out.len);
	r = rh_proto_dec_next(&d, &m2, &err);
	FUZZ_CHECK(r == 1, "an encoded message does not decode: %s",
	           r < 0 ? err.msg : "incomplete");
	FUZZ_CHECK(m2.id == m->id && strcmp(m2.op, m->op) == 0,
	           "id %llu op '%s' came back as id %llu op '%s'",
	           (unsigned long long)m->id, m->op,
	           (unsigned long long)m2.id, m2.op);
	FUZZ_CHECK(rh_proto_dec_end(&d, &err) == 0, "%s", err.msg);
	rh_proto_msg_free(&m2);
	rh_proto_dec_free(&d);
	rh_buf_free(&out);
}

/* m through its decoder (the struct zeroed), encoded, decoded into a
 * second struct and encoded again: the two texts the same. */
#define TYPED(op_, T, m) do { \
	struct T q_, q2_; \
	struct rh_err e_; \
	cJSON *a_, *b_; \
	char *ta_, *tb_; \
	if (strcmp((m)->op, op_) != 0) \
		break; \
	memset(&q_, 0, sizeof(q_)); \
	memset(&q2_, 0, sizeof(q2_)); \
	if (T##_decode((m)->json, &q_, &e_) < 0) { \
		FUZZ_CHECK(e_.msg[0] != '\0', "a refusal, no reason"); \
		break; \
	} \
	a_ = T##_encode(&q_); \
	FUZZ_CHECK(T##_decode(a_, &q2_, &e_) == 0, \
	           "an encoded %s is refused: %s", op_, e_.msg); \
	b_ = T##_encode(&q2_); \
	ta_ = rh_json_print(a_, 0); \
	tb_ = rh_json_print(b_, 0); \
	FUZZ_CHECK(strcmp(ta_, tb_) == 0, "%s changed: %s, then %s", op_, \
	           ta_, tb_); \
	free(ta_); \
	free(tb_); \
	cJSON_Delete(a_); \
	cJSON_Delete(b_); \
} while (0)

/* A message that reads as a call's record: encoded, decoded and encoded
 * again to the same text. */
static void
record(const struct rh_proto_msg *m)
{
	struct rh_call_record rec, rec2;
	struct rh_err err;
	cJSON *a = cJSON_CreateObject(), *b = cJSON_CreateObject();
	char *ta, *tb;

	if (rh_call_record_decode(m->json, &rec, &err) < 0) {
		FUZZ_CHECK(err.msg[0] != '\0', "a refused record, no reason");
		goto out;
	}
	rh_call_record_encode(a, &rec);
	FUZZ_CHECK(rh_call_record_decode(a, &rec2, &err) == 0,
	           "an encoded record is refused: %s", err.msg);
	rh_call_record_encode(b, &rec2);
	ta = rh_json_print(a, 0);
	tb = rh_json_print(b, 0);
	FUZZ_CHECK(strcmp(ta, tb) == 0, "a record changed: %s, then %s",
	           ta, tb);
	free(ta);
	free(tb);
	rh_call_record_free(&rec2);
out:
	rh_call_record_free(&rec);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

static void
typed(const struct rh_proto_msg *m)
{
	record(m);
	TYPED("hello", rh_hello_req, m);
	TYPED("get", rh_get_req, m);
	TYPED("cancel", rh_cancel_req, m);
	TYPED("output", rh_output_req, m);
	TYPED("log", rh_log_req, m);
	TYPED("list", rh_list_req, m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rh_proto_dec d;
	struct rh_proto_msg m;
	struct rh_err err;
	size_t piece, off, n, avail;
	int failed = 0, r, use_space;
	void *space;

	if (size < 1)
		return 0;
	piece = (size_t)(data[0] & 0x7f) + 1;
	use_space = data[0] & 0x80;
	data++;
	size--;
	rh_proto_dec_init(&d, MAX_FRAME);
	for (off = 0; off < size; off += n) {
		n = size - off < piece ? size - off : piece;
		if (use_space) {
			space = rh_proto_dec_space(&d, n, &avail);
			FUZZ_CHECK(avail >= n, "space for %zu, asked %zu",
			           avail, n);
			memcpy(space, data + off, n);
			rh_proto_dec_commit(&d, n);
		} else {
			rh_proto_dec_feed(&d, data + off, n);
		}
		while ((r = rh_proto_dec_next(&d, &m, &err)) == 1) {
			FUZZ_CHECK(!failed, "a message after a failure");
			roundtrip(&m);
			typed(&m);
			rh_proto_msg_free(&m);
		}
		if (r < 0) {
			FUZZ_CHECK(err.msg[0] != '\0', "a failure, no reason");
			failed = 1;
		} else {
			FUZZ_CHECK(!failed, "a failed stream is well again");
		}
	}
	r = rh_proto_dec_end(&d, &err);
	FUZZ_CHECK(!failed || r < 0, "a failed stream ends well");
	rh_proto_dec_free(&d);
	return 0;
}

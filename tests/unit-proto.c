/* unit-proto.c - the agent wire protocol's framing (proto.c): round trips,
 * frames split at every byte, and every way a frame can be bad. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"
#include "unit.h"

/* A frame around raw body bytes, appended to out. */
static void
raw_frame(struct rh_buf *out, const char *body, size_t len)
{
	unsigned char hdr[4] = { (unsigned char)(len >> 24),
	                         (unsigned char)(len >> 16),
	                         (unsigned char)(len >> 8),
	                         (unsigned char)len };

	rh_buf_append(out, hdr, 4);
	rh_buf_append(out, body, len);
}

#define RAW(b, s) raw_frame((b), (s), sizeof(s) - 1)

static cJSON *
msg(uint64_t id, const char *op, const char *text)
{
	cJSON *m = rh_proto_new(id, op);

	if (text != NULL)
		cJSON_AddStringToObject(m, "text", text);
	return m;
}

/* Three frames, the middle one with text that needs escaping. */
static void
three_frames(struct rh_buf *out)
{
	cJSON *m[3] = {
		msg(1, "hello", NULL),
		msg(2, "call", "quote \" backslash \\ newline \n caf\xc3\xa9"),
		msg(RH_PROTO_ID_MAX, "ping", ""),
	};
	int i;

	for (i = 0; i < 3; i++) {
		CHECK_EQ_INT(rh_proto_encode(m[i], 0, out), 0);
		cJSON_Delete(m[i]);
	}
}

static void
check_three(struct rh_proto_msg *got, int n)
{
	const cJSON *t;

	if (!CHECK_EQ_INT(n, 3))
		return;
	CHECK_EQ_INT(got[0].id, 1);
	CHECK_STR(got[0].op, "hello");
	CHECK_EQ_INT(got[1].id, 2);
	CHECK_STR(got[1].op, "call");
	t = cJSON_GetObjectItemCaseSensitive(got[1].json, "text");
	CHECK(cJSON_IsString(t));
	if (cJSON_IsString(t))
		CHECK_STR(t->valuestring,
		          "quote \" backslash \\ newline \n caf\xc3\xa9");
	CHECK(got[2].id == RH_PROTO_ID_MAX);
	CHECK_STR(got[2].op, "ping");
}

/* Take every whole frame out of d into got (at most max). */
static int
drain(struct rh_proto_dec *d, struct rh_proto_msg *got, int n, int max)
{
	struct rh_err err;
	int r;

	while (n < max && (r = rh_proto_dec_next(d, &got[n], &err)) == 1)
		n++;
	return n;
}

static void
free_msgs(struct rh_proto_msg *got, int n)
{
	while (n > 0)
		rh_proto_msg_free(&got[--n]);
}

static void
test_round_trip(void)
{
	struct rh_buf b = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg got[4];
	struct rh_err err;
	int n;

	three_frames(&b);
	/* the header is the big-endian body length */
	CHECK(b.len > 4 && (size_t)((unsigned char)b.data[3]) ==
	      strlen("{\"id\":1,\"op\":\"hello\"}"));
	CHECK(memcmp(b.data + 4, "{\"id\":1,\"op\":\"hello\"}", 21) == 0);

	rh_proto_dec_init(&d, 0);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &got[0], &err), 0);
	rh_proto_dec_feed(&d, b.data, b.len);
	n = drain(&d, got, 0, 4);
	check_three(got, n);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &got[3], &err), 0);
	CHECK_EQ_INT(rh_proto_dec_end(&d, &err), 0);
	free_msgs(got, n);
	rh_proto_dec_free(&d);
	rh_buf_free(&b);
}

/* However the stream is cut, the same frames come out. */
static void
test_split_everywhere(void)
{
	struct rh_buf b = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg got[4];
	struct rh_err err;
	size_t k, i, avail;
	int n, bad = 0;
	void *p;

	three_frames(&b);
	for (k = 0; k <= b.len; k++) {
		rh_proto_dec_init(&d, 0);
		rh_proto_dec_feed(&d, b.data, k);
		n = drain(&d, got, 0, 4);
		rh_proto_dec_feed(&d, b.data + k, b.len - k);
		n = drain(&d, got, n, 4);
		if (n != 3 || rh_proto_dec_end(&d, &err) != 0)
			bad++;
		if (k == b.len / 2)
			check_three(got, n);
		free_msgs(got, n);
		rh_proto_dec_free(&d);
	}
	CHECK_EQ_INT(bad, 0);

	/* one byte at a time, through space/commit as a read(2) would */
	rh_proto_dec_init(&d, 0);
	n = 0;
	for (i = 0; i < b.len; i++) {
		p = rh_proto_dec_space(&d, 1, &avail);
		CHECK(avail >= 1);
		memcpy(p, b.data + i, 1);
		rh_proto_dec_commit(&d, 1);
		n = drain(&d, got, n, 4);
		/* before the last byte a frame is incomplete */
		if (i + 1 < b.len && n == 3)
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	check_three(got, n);
	free_msgs(got, n);
	rh_proto_dec_free(&d);
	rh_buf_free(&b);
}

/* A long stream does not make the decoder's buffer grow. */
static void
test_long_stream(void)
{
	struct rh_buf b = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg m;
	size_t off = 0, chunk, maxcap = 0;
	uint64_t want = 0;
	int i, bad = 0, r;
	cJSON *j;

	for (i = 0; i < 10000; i++) {
		j = msg((uint64_t)i, "call", "some text to make frames longer");
		rh_proto_encode(j, 0, &b);
		cJSON_Delete(j);
	}
	rh_proto_dec_init(&d, 0);
	while (off < b.len) {
		chunk = 1 + (off * 7919) % 5000;        /* uneven pieces */
		if (chunk > b.len - off)
			chunk = b.len - off;
		rh_proto_dec_feed(&d, b.data + off, chunk);
		off += chunk;
		while ((r = rh_proto_dec_next(&d, &m, NULL)) == 1) {
			if (m.id != want++)
				bad++;
			rh_proto_msg_free(&m);
		}
		if (r < 0)
			bad++;
		if (d.in.cap > maxcap)
			maxcap = d.in.cap;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(want, 10000);
	CHECK(maxcap < 64 * 1024);
	rh_proto_dec_free(&d);
	rh_buf_free(&b);
}

static void
test_truncated(void)
{
	struct rh_buf b = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg m;
	struct rh_err err = { "" };
	size_t k;
	int bad = 0;

	three_frames(&b);
	/* every cut inside a frame is truncation; cuts between frames
	 * are clean ends */
	for (k = 1; k < b.len; k++) {
		int r;

		rh_proto_dec_init(&d, 0);
		rh_proto_dec_feed(&d, b.data, k);
		while (rh_proto_dec_next(&d, &m, NULL) == 1)
			rh_proto_msg_free(&m);
		r = rh_proto_dec_end(&d, &err);
		if (r != 0 && (r != -EPROTO || strstr(err.msg, "truncated") ==
		                               NULL))
			bad++;
		if (k == 2)
			CHECK_EQ_INT(r, -EPROTO);
		if (k == 10)
			CHECK_EQ_INT(r, -EPROTO);
		rh_proto_dec_free(&d);
	}
	CHECK_EQ_INT(bad, 0);

	rh_proto_dec_init(&d, 0);
	rh_proto_dec_feed(&d, "\0\0\0\x64{\"id\":1,", 12);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), 0);
	CHECK_EQ_INT(rh_proto_dec_end(&d, &err), -EPROTO);
	CHECK_HAS(err.msg, "8 of 100 bytes");
	rh_proto_dec_free(&d);
	rh_buf_free(&b);
}

static void
test_oversized(void)
{
	struct rh_buf b = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg m;
	struct rh_err err = { "" };
	char *big;
	cJSON *j;

	/* judged from the header alone, before any body arrives */
	rh_proto_dec_init(&d, 0);
	rh_proto_dec_feed(&d, "\xff\xff\xff\xff", 4);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), -EMSGSIZE);
	CHECK_HAS(err.msg, "4294967295");
	/* and the stream stays failed */
	rh_proto_dec_feed(&d, "{}", 2);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, NULL), -EMSGSIZE);
	CHECK_EQ_INT(rh_proto_dec_end(&d, NULL), -EMSGSIZE);
	rh_proto_dec_free(&d);

	rh_proto_dec_init(&d, 0);
	rh_proto_dec_feed(&d, "\x01\x00\x00\x01", 4);   /* 16 MiB + 1 */
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), -EMSGSIZE);
	rh_proto_dec_free(&d);

	/* a decoder's own maximum, exactly at and just over */
	rh_proto_dec_init(&d, 21);
	raw_frame(&b, "{\"id\":1,\"op\":\"hello\"}", 21);
	rh_proto_dec_feed(&d, b.data, b.len);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), 1);
	rh_proto_msg_free(&m);
	b.len = 0;
	raw_frame(&b, "{\"id\":1,\"op\":\"hellos\"}", 22);
	rh_proto_dec_feed(&d, b.data, b.len);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), -EMSGSIZE);
	rh_proto_dec_free(&d);

	/* a frame of exactly RH_PROTO_FRAME_MAX bytes is fine */
	big = xmalloc(RH_PROTO_FRAME_MAX);
	memset(big, 'x', RH_PROTO_FRAME_MAX);
	j = msg(7, "big", NULL);
	/* {"id":7,"op":"big","text":"..."} */
	big[RH_PROTO_FRAME_MAX - strlen("{\"id\":7,\"op\":\"big\",\"text\":\"\"}")]
		= '\0';
	cJSON_AddStringToObject(j, "text", big);
	b.len = 0;
	CHECK_EQ_INT(rh_proto_encode(j, 0, &b), 0);
	CHECK_EQ_INT(b.len, RH_PROTO_HDR + RH_PROTO_FRAME_MAX);
	rh_proto_dec_init(&d, 0);
	rh_proto_dec_feed(&d, b.data, b.len);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), 1);
	CHECK_EQ_INT(m.id, 7);
	rh_proto_msg_free(&m);
	rh_proto_dec_free(&d);
	/* one byte more will not be encoded */
	cJSON_DeleteItemFromObject(j, "text");
	big[strlen(big)] = 'x';
	big[RH_PROTO_FRAME_MAX - strlen("{\"id\":7,\"op\":\"big\",\"text\":\"\"}")
	    + 1] = '\0';
	cJSON_AddStringToObject(j, "text", big);
	b.len = 0;
	CHECK_EQ_INT(rh_proto_encode(j, 0, &b), -EMSGSIZE);
	CHECK_EQ_INT(b.len, 0);
	CHECK_EQ_INT(rh_proto_encode(j, 100, &b), -EMSGSIZE);
	cJSON_Delete(j);
	free(big);
	rh_buf_free(&b);
}

/* body must be refused as malformed, with why in the message */
static void
bad_body(const char *body, size_t len, const char *why)
{
	struct rh_buf b = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg m;
	struct rh_err err = { "" };

	rh_proto_dec_init(&d, 0);
	raw_frame(&b, body, len);
	/* a good frame behind the bad one must not be reached */
	raw_frame(&b, "{\"id\":1,\"op\":\"ping\"}", 20);
	rh_proto_dec_feed(&d, b.data, b.len);
	if (!CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), -EBADMSG))
		fprintf(stderr, "     body: %.*s\n", (int)len, body);
	CHECK_HAS(err.msg, why);
	CHECK(m.json == NULL);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, NULL), -EBADMSG);
	rh_proto_dec_free(&d);
	rh_buf_free(&b);
}

#define BAD(s, why) bad_body((s), sizeof(s) - 1, (why))

static void
test_malformed(void)
{
	/* not JSON */
	BAD("hello", "frame is not valid JSON");
	BAD("{", "not valid JSON");
	BAD("{\"id\":1,\"op\":\"ping\"", "not valid JSON");
	BAD("{\"id\":1,\"op\":\"ping\"} x", "after the JSON value");
	BAD("{\"id\":1,\"op\":\"ping\"}{}", "after the JSON value");
	BAD("{\"id\":1,\"op\":\"pi\0ng\"}", "NUL");
	BAD("{\"id\":1,\"op\":\"ping\"}\0", "NUL");
	/* what Python's json would read otherwise (the runner speaks it) */
	BAD("{\"id\":1,\"op\":\"ping\",\"op\":\"call\"}",
	    "key 'op' appears twice");
	BAD("{\"id\":1,\"op\":\"call\",\"args\":[\"\\u0000rm\"]}",
	    "'args[0]': a string holds \\u0000");
	BAD("{\"id\":1,\"op\":\"call\",\"args\":[\"\xff\"]}",
	    "not valid UTF-8");
	BAD("{\"id\":1,\"op\":\"call\",\"args\":[1e999]}", "out of range");
	BAD("\x01{\"id\":1,\"op\":\"ping\"}", "byte 0x01");
	BAD("", "empty");
	/* not an object */
	BAD("[1,2]", "not a JSON object");
	BAD("42", "not a JSON object");
	BAD("\"id\"", "not a JSON object");
	BAD("null", "not a JSON object");
	/* no id, or a bad one */
	BAD("{\"op\":\"ping\"}", "no 'id'");
	BAD("{\"id\":\"1\",\"op\":\"ping\"}", "'id'");
	BAD("{\"id\":-1,\"op\":\"ping\"}", "'id'");
	BAD("{\"id\":1.5,\"op\":\"ping\"}", "'id'");
	BAD("{\"id\":1000000000000000,\"op\":\"ping\"}", "'id'");
	BAD("{\"id\":9007199254740993,\"op\":\"ping\"}", "'id'");
	BAD("{\"id\":null,\"op\":\"ping\"}", "'id'");
	/* no op, or a bad one */
	BAD("{\"id\":1}", "no 'op'");
	BAD("{\"id\":1,\"op\":\"\"}", "'op'");
	BAD("{\"id\":1,\"op\":7}", "'op'");
	BAD("{\"ID\":1,\"OP\":\"ping\"}", "no 'id'");
}

static void
test_valid_edges(void)
{
	struct rh_buf b = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg m;
	struct rh_err err;

	rh_proto_dec_init(&d, 0);
	RAW(&b, " {\"id\":0,\"op\":\"x\",\"more\":[1,{\"a\":null}]}\n");
	RAW(&b, "{\"op\":\"y\",\"id\":999999999999999}");
	rh_proto_dec_feed(&d, b.data, b.len);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), 1);
	CHECK_EQ_INT(m.id, 0);
	CHECK_STR(m.op, "x");
	rh_proto_msg_free(&m);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), 1);
	CHECK(m.id == RH_PROTO_ID_MAX);
	CHECK_STR(m.op, "y");
	rh_proto_msg_free(&m);
	CHECK_EQ_INT(rh_proto_dec_end(&d, &err), 0);
	rh_proto_dec_free(&d);
	rh_buf_free(&b);
}

static void
test_encode_and_helpers(void)
{
	struct rh_buf b = { 0 };
	const cJSON *v;
	cJSON *j;

	/* only valid messages are encoded */
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "op", "ping");
	CHECK_EQ_INT(rh_proto_encode(j, 0, &b), -EINVAL);
	cJSON_Delete(j);
	j = cJSON_CreateArray();
	CHECK_EQ_INT(rh_proto_encode(j, 0, &b), -EINVAL);
	cJSON_Delete(j);
	CHECK_EQ_INT(b.len, 0);

	j = rh_proto_reply(12);
	CHECK_EQ_INT(rh_proto_check(j, NULL, NULL, NULL), 0);
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "ok")));
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(j, "op")->valuestring,
	          "reply");
	cJSON_Delete(j);

	j = rh_proto_error(13, ENOENT, "no call %s", "x");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "ok")));
	v = cJSON_GetObjectItemCaseSensitive(j, "error");
	CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "ENOENT") == 0);
	v = cJSON_GetObjectItemCaseSensitive(j, "message");
	CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "no call x") == 0);
	cJSON_Delete(j);

	CHECK_STR(rh_proto_errname(EMSGSIZE), "EMSGSIZE");
	CHECK_STR(rh_proto_errname(-EPROTO), "EPROTO");
	CHECK_STR(rh_proto_errname(100000), "EIO");
	CHECK_EQ_INT(rh_proto_errnum("EBADMSG"), EBADMSG);
	CHECK_EQ_INT(rh_proto_errnum("EPROTONOSUPPORT"), EPROTONOSUPPORT);
	CHECK_EQ_INT(rh_proto_errnum("ENOSUCH"), EIO);
	CHECK_EQ_INT(rh_proto_errnum(NULL), EIO);
	rh_buf_free(&b);
}

/* A decoded frame passed on (rhfs to the agent, the agent to its
 * runner) keeps each number as it was written: Python reads 1.0 as a
 * float and 2^53+1 exactly. */
static void
test_numbers_kept(void)
{
	static const char body[] = "{\"id\":3,\"op\":\"call\",\"args\":"
	                           "[9007199254740993,1.0,1e2,-0.5]}";
	struct rh_buf b = { 0 }, again = { 0 };
	struct rh_proto_dec d;
	struct rh_proto_msg m;
	struct rh_err err;

	raw_frame(&b, body, sizeof(body) - 1);
	rh_proto_dec_init(&d, 0);
	rh_proto_dec_feed(&d, b.data, b.len);
	CHECK_EQ_INT(rh_proto_dec_next(&d, &m, &err), 1);
	CHECK_EQ_INT(rh_proto_encode(m.json, 0, &again), 0);
	CHECK_EQ_INT(again.len, b.len);
	CHECK(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
	rh_proto_msg_free(&m);
	rh_proto_dec_free(&d);
	rh_buf_free(&b);
	rh_buf_free(&again);
}

int
main(void)
{
	test_round_trip();
	test_split_everywhere();
	test_long_stream();
	test_truncated();
	test_oversized();
	test_malformed();
	test_valid_edges();
	test_encode_and_helpers();
	test_numbers_kept();
	return unit_done();
}

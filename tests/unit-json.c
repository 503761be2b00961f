/* unit-json.c - the strict JSON entry point (json.c): what Python's json
 * reads differently or not at all is refused with a reason naming the
 * field, and numbers are written back as they were written. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "unit.h"

/* text (len bytes; -1: strlen) refused; the reason holds why */
static void
bad(const char *text, long len, const char *why, const char *file, int line)
{
	struct rh_err err = { "" };
	size_t n = len < 0 ? strlen(text) : (size_t)len;
	cJSON *v = rh_json_parse(text, n, "t.json", &err);

	unit_check(v == NULL, file, line, text);
	if (v == NULL)
		unit_check_has(err.msg, why, file, line, why);
	cJSON_Delete(v);
}
#define BAD(text, why) bad((text), -1, (why), __FILE__, __LINE__)
#define BADN(text, len, why) bad((text), (len), (why), __FILE__, __LINE__)

/* text accepted, and printed (unformatted) as want */
static void
good(const char *text, const char *want, const char *file, int line)
{
	struct rh_err err = { "" };
	cJSON *v = rh_json_parse(text, strlen(text), "t.json", &err);
	char *s;

	if (!unit_check(v != NULL, file, line, text)) {
		fprintf(stderr, "     %s\n", err.msg);
		return;
	}
	s = rh_json_print(v, 0);
	unit_check_str(s, want, file, line, want);
	cJSON_free(s);
	cJSON_Delete(v);
}
#define GOOD(text, want) good((text), (want), __FILE__, __LINE__)

static void
test_strings(void)
{
	/* invalid UTF-8: a lone continuation byte, a truncated sequence,
	 * an overlong '/', an encoded surrogate, past U+10FFFF */
	BAD("{\"name\": \"a\x80\"}", "'name': a string is not valid UTF-8");
	BAD("{\"name\": \"\xc3\"}", "not valid UTF-8 (byte 0xc3)");
	BAD("[\"\xc0\xaf\"]", "'[0]': a string is not valid UTF-8");
	BAD("[\"\xed\xa0\x80\"]", "not valid UTF-8");
	BAD("[\"\xf4\x90\x80\x80\"]", "not valid UTF-8");
	/* in a key too */
	BAD("{\"a\xff\": 1}", "not valid UTF-8");
	/* \u0000 cut the string short */
	BAD("{\"command\": [\"\\u0000rm\"]}",
	    "'command[0]': a string holds \\u0000");
	BAD("{\"kwargs\": {\"a\\u0000b\": 1}}", "holds \\u0000");
	/* raw control characters (Python: "Invalid control character") */
	BAD("{\"a\": \"x\ty\"}", "'a': a raw control character (0x09)");
	BAD("{\"a\": {\"b\": [1, \"x\ny\"]}}", "'a.b[1]': a raw control");
	BADN("[\"a\0b\"]", 7, "'[0]': a string holds a NUL byte");
	/* but escaped they are fine, and so is an escaped backslash
	 * before u0000 */
	GOOD("[\"x\\ty\\u0001\"]", "[\"x\\ty\\u0001\"]");
	GOOD("[\"\\\\u0000\"]", "[\"\\\\u0000\"]");
	GOOD("[\"caf\xc3\xa9 \xf0\x9f\x9a\x80 \\u00e9\"]",
	     "[\"caf\xc3\xa9 \xf0\x9f\x9a\x80 \xc3\xa9\"]");
}

/* An object of n keys k0..k(n-1), the last one k0 again if twin. */
static void
many_keys(int n, int twin)
{
	struct rh_buf b = { 0 }, want = { 0 };
	char key[32];
	int i;

	rh_buf_append(&b, "{", 1);
	rh_buf_append(&want, "{", 1);
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "\"k%d\": %d",
		         twin && i == n - 1 ? 0 : i, i);
		if (i > 0) {
			rh_buf_append(&b, ", ", 2);
			rh_buf_append(&want, ",", 1);
		}
		rh_buf_append(&b, key, strlen(key));
		rh_buf_append(&want, key, strchr(key, ' ') - key);
		rh_buf_append(&want, strchr(key, ' ') + 1,
		              strlen(strchr(key, ' ') + 1));
	}
	rh_buf_append(&b, "}", 2);      /* with the NUL */
	rh_buf_append(&want, "}", 2);
	if (twin)
		BAD(b.data, "'(top level)': key 'k0' appears twice");
	else
		GOOD(b.data, want.data);
	rh_buf_free(&b);
	rh_buf_free(&want);
}

static void
test_keys(void)
{
	/* Python's json keeps the last of two keys, cJSON finds the first */
	BAD("{\"resource_type\": \"folder\", \"resource_type\": \"send\"}",
	    "'(top level)': key 'resource_type' appears twice");
	BAD("{\"a\": {\"x\": 1, \"y\": 2, \"x\": 3}}", "'a': key 'x' appears");
	BAD("[{}, {\"k\": 1, \"k\": 1}]", "'[1]': key 'k' appears twice");
	GOOD("{\"a\": {\"x\": 1}, \"b\": {\"x\": 1}}",
	     "{\"a\":{\"x\":1},\"b\":{\"x\":1}}");
	/* keys sharing a first letter, the twice-seen one last; and an
	 * object of many keys (looked at another way) with its twin far
	 * from it */
	BAD("{\"sa\": 1, \"sb\": 2, \"s\": 3, \"sb\": 4}",
	    "'(top level)': key 'sb' appears twice");
	GOOD("{\"sa\": 1, \"sb\": 2, \"s\": 3}",
	     "{\"sa\":1,\"sb\":2,\"s\":3}");
	many_keys(30, 0);
	many_keys(30, 1);
}

static void
test_numbers(void)
{
	BAD("{\"n\": 1e999}", "'n': the number 1e999 is out of range");
	BAD("[-1e999]", "out of range");
	/* what cJSON reads but JSON (and Python) do not */
	BAD("[01]", "'[0]': '01' is not a JSON number");
	BAD("[1.]", "'1.' is not a JSON number");
	BAD("[1.e5]", "is not a JSON number");
	BAD("[-0.5e]", "not valid JSON");
	/* written back exactly: past 2^53, 1.0 (a float in Python), 1e2 */
	GOOD("[9007199254740993, -9007199254740993]",
	     "[9007199254740993,-9007199254740993]");
	GOOD("{\"a\": 1.0, \"b\": 1e2, \"c\": 0.1, \"d\": -0, \"e\": 1E-400}",
	     "{\"a\":1.0,\"b\":1e2,\"c\":0.1,\"d\":-0,\"e\":1E-400}");
	GOOD("123456789012345678901234567890",
	     "123456789012345678901234567890");
}

static void
test_between_tokens(void)
{
	/* cJSON takes every byte below '!' as whitespace */
	BAD("\x01{}", "byte 0x01 outside a string");
	BAD("{}\x0c", "byte 0x0c outside a string");
	BADN("[\"a\"]\0", 6, "t.json holds a NUL byte");
	BADN("\0\0\0", 3, "holds a NUL byte");
	BAD("\xef\xbb\xbf{}", "byte order mark");
	BAD("{} x", "has text after the JSON value");
	BAD("{}\n{}", "has text after the JSON value (line 2)");
	BAD("{\n\"a\":\n}", "t.json is not valid JSON (line 3)");
	BAD("", "t.json is empty");
	BAD(" \n ", "is empty");
	GOOD(" \t\r\n{\"a\": [true, false, null]} \n",
	     "{\"a\":[true,false,null]}");
}

static void
test_pretty(void)
{
	struct rh_err err;
	cJSON *v;
	char *s;

	v = rh_json_parse("{\"n\": 9007199254740993, \"f\": 2.50}", 34, "t",
	                  &err);
	CHECK(v != NULL);
	s = rh_json_pretty(v);
	CHECK_STR(s, "{\n    \"n\": 9007199254740993,\n    \"f\": 2.50\n}\n");
	free(s);
	/* a number changed after parsing prints its new value */
	cJSON_SetNumberValue(cJSON_GetObjectItem(v, "f"), 3);
	s = rh_json_print(v, 0);
	CHECK_STR(s, "{\"n\":9007199254740993,\"f\":3}");
	cJSON_free(s);
	cJSON_Delete(v);
}

/* Printing a tree from itself writes what the copying print writes,
 * and leaves the tree as it was: each number a number again, the ones
 * made here without text, parsed ones with theirs. */
static void
test_owned(void)
{
	static const double made[] = { 0, 7, -12, 2147483648.0, -2147483649.0,
	                               999999999999999.0, -999999999999999.0,
	                               1e15, -1e15, 9007199254740993.0, 2.5,
	                               -0.5, 1e300, 0.1 };
	const char *text = "{\"p\": [1.0, 9007199254740993, -0, 1e2, 17],"
	                   " \"o\": {\"x\": 3}}";
	struct rh_err err;
	cJSON *v, *a, *ref, *c, *neg0;
	char *want, *got, *again;
	size_t i;
	int pretty;

	v = rh_json_parse(text, strlen(text), "t", &err);
	CHECK(v != NULL);
	a = cJSON_AddArrayToObject(v, "made");
	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(made[i]));
	neg0 = cJSON_CreateNumber(0.0);
	neg0->valuedouble = -0.0;
	cJSON_AddItemToArray(a, neg0);
	ref = cJSON_CreateObject();
	cJSON_AddNumberToObject(ref, "r", 41);
	cJSON_AddItemReferenceToObject(v, "ref", ref);
	/* a parsed number changed later prints its value, not its text */
	cJSON_SetNumberValue(cJSON_GetObjectItem(cJSON_GetObjectItem(v, "o"),
	                                         "x"), 4);
	for (pretty = 0; pretty < 2; pretty++) {
		want = rh_json_print(v, pretty);
		got = rh_json_print_owned(v, pretty);
		CHECK_STR(got, want);
		again = rh_json_print(v, pretty);
		CHECK_STR(again, want);
		cJSON_free(want);
		cJSON_free(got);
		cJSON_free(again);
	}
	cJSON_ArrayForEach(c, a) {
		CHECK(cJSON_IsNumber(c));
		CHECK(c->valuestring == NULL);
	}
	CHECK(cJSON_IsNumber(cJSON_GetObjectItem(ref, "r")));
	CHECK(cJSON_GetObjectItem(ref, "r")->valuestring == NULL);
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(v, "p"))
		CHECK(cJSON_IsNumber(c) && c->valuestring != NULL);
	got = rh_json_print_owned(v, 0);
	CHECK_HAS(got, "\"p\":[1.0,9007199254740993,-0,1e2,17]");
	CHECK_HAS(got, "\"o\":{\"x\":4}");
	CHECK_HAS(got, "\"ref\":{\"r\":41}");
	cJSON_free(got);
	cJSON_Delete(v);
	cJSON_Delete(ref);
}

/* A time is written as strftime and printf would write it. */
static void
test_times(void)
{
	static const struct timespec ts[] = {
		{ 1, 0 }, { 951782400, 999999999 }, { 1733600000, 123456789 },
		{ 253402300799, 1000 }, { 253402300800, 5000 },
		{ -1, 500000000 },
	};
	char want[64];
	struct tm tm;
	cJSON *o;
	size_t i, n;

	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		gmtime_r(&ts[i].tv_sec, &tm);
		n = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(want + n, sizeof(want) - n, ".%06ldZ",
		         ts[i].tv_nsec / 1000);
		o = cJSON_CreateObject();
		rh_json_add_time(o, "t", &ts[i]);
		CHECK_STR(rh_json_str(o, "t"), want);
		cJSON_Delete(o);
	}
	o = cJSON_CreateObject();
	rh_json_add_time(o, "t", &(struct timespec){ 0, 0 });
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "t")));
	cJSON_Delete(o);
}

static void
test_utf8_len(void)
{
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"a", 1), 1);
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"\xc3\xa9", 2), 2);
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"\xc3\xa9", 1), 0);
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"\xc2\x85", 2), 2);
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"\xe2\x82\xac", 3),
	             3);
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"\xe0\x80\x80", 3),
	             0);
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"\xf0\x9f\x9a\x80",
	                         4), 4);
	CHECK_EQ_INT(rh_utf8_len((const unsigned char *)"\xff", 1), 0);
}

int
main(void)
{
	test_strings();
	test_keys();
	test_numbers();
	test_between_tokens();
	test_pretty();
	test_owned();
	test_times();
	test_utf8_len();
	return unit_done();
}

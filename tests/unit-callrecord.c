/* unit-callrecord.c - a call's record (src/proto/callrecord.c): every
 * field encoded and read back the same, on disk and in replies; each
 * field of the wrong type refused with a message naming it; fields it
 * does not know ignored; records as agents before wrote them read. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "callrecord.h"
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

static char *
encoded(const struct rh_call_record *rec)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	rh_call_record_encode(o, rec);
	s = rh_json_print(o, 0);
	cJSON_Delete(o);
	return s;
}

/* json refused with EINVAL and a message holding want. */
static void
refused(const char *json, const char *want, int line)
{
	struct rh_call_record rec;
	struct rh_err err;
	cJSON *o = parse(json);
	int r;

	err.msg[0] = '\0';
	r = rh_call_record_decode(o, &rec, &err);
	if (!unit_check_int(r, -EINVAL, __FILE__, line, json) ||
	    !unit_check_has(err.msg, want, __FILE__, line, want))
		fprintf(stderr, "     message: %s\n", err.msg);
	rh_call_record_free(&rec);
	cJSON_Delete(o);
}
#define REFUSED(json, want) refused(json, want, __LINE__)

/* Every field set, encoded and decoded back to the same. */
static void
round_trip(void)
{
	struct rh_call_record rec, d;
	struct rh_err err;
	cJSON *spec = parse("{\"command\":[\"echo\"],\"args\":[1,\"a\"]}");
	cJSON *o = cJSON_CreateObject();
	char *s, *again;

	rh_call_record_init(&rec);
	rec.call = ID;
	rec.state = RH_CALL_FAILED;
	rec.send = "~/add";
	rec.queue = "q1";
	rec.pid = 4250;
	rec.pid_start = 123456789;
	rec.exit = 3;
	rec.signal = 9;
	rec.reason = "exited with status 3";
	rec.queued_at.tv_sec = 1714564800;
	rec.queued_at.tv_nsec = 1000;
	rec.started_at.tv_sec = 1714564800;
	rec.started_at.tv_nsec = 210000;
	rec.ended_at.tv_sec = 1714564801;
	rec.ended_at.tv_nsec = 999999000;
	rec.stdout_size = 17;
	rec.stderr_size = 0;
	rec.spec = spec;
	rec.result_is = RH_RESULT_BYTES;
	rh_buf_append(&rec.result, "a\0\xff\n", 4);
	rh_call_record_encode(o, &rec);
	s = rh_json_print(o, 0);
	CHECK_STR(s, "{\"call\":\"" ID "\",\"state\":\"failed\","
	          "\"send\":\"~/add\",\"queue\":\"q1\",\"pid\":4250,"
	          "\"pid_start\":123456789,\"exit\":3,\"signal\":9,"
	          "\"reason\":\"exited with status 3\","
	          "\"queued_at\":\"2024-05-01T12:00:00.000001Z\","
	          "\"started_at\":\"2024-05-01T12:00:00.000210Z\","
	          "\"ended_at\":\"2024-05-01T12:00:01.999999Z\","
	          "\"stdout_size\":17,\"stderr_size\":0,"
	          "\"spec\":{\"command\":[\"echo\"],\"args\":[1,\"a\"]},"
	          "\"result_b64\":\"YQD/Cg==\"}");
	CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
	CHECK_STR(d.call, ID);
	CHECK_EQ_INT(d.state, RH_CALL_FAILED);
	CHECK_STR(d.send, "~/add");
	CHECK_STR(d.queue, "q1");
	CHECK_EQ_INT(d.pid, 4250);
	CHECK_EQ_INT(d.pid_start, 123456789);
	CHECK_EQ_INT(d.exit, 3);
	CHECK_EQ_INT(d.signal, 9);
	CHECK_STR(d.reason, "exited with status 3");
	CHECK_EQ_INT(d.queued_at.tv_sec, 1714564800);
	CHECK_EQ_INT(d.queued_at.tv_nsec, 1000);
	CHECK_EQ_INT(d.started_at.tv_nsec, 210000);
	CHECK_EQ_INT(d.ended_at.tv_sec, 1714564801);
	CHECK_EQ_INT(d.ended_at.tv_nsec, 999999000);
	CHECK_EQ_INT(d.stdout_size, 17);
	CHECK_EQ_INT(d.stderr_size, 0);
	CHECK(cJSON_Compare(d.spec, spec, 1));
	CHECK_EQ_INT(d.result_is, RH_RESULT_BYTES);
	CHECK_EQ_INT(d.result.len, 4);
	CHECK(memcmp(d.result.data, "a\0\xff\n", 4) == 0);
	again = encoded(&d);
	CHECK_STR(again, s);
	cJSON_free(again);
	rh_call_record_free(&d);
	cJSON_Delete(o);
	cJSON_free(s);

	/* text stays text; a truncated result says so */
	rec.result.len = 0;
	rh_buf_append(&rec.result, "{\"x\": 1}\n", 9);
	s = encoded(&rec);
	CHECK_HAS(s, "\"result\":\"{\\\"x\\\": 1}\\n\"");
	o = parse(s);
	CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
	CHECK_STR(d.result.data, "{\"x\": 1}\n");
	rh_call_record_free(&d);
	cJSON_Delete(o);
	cJSON_free(s);
	rec.result_is = RH_RESULT_TRUNCATED;
	s = encoded(&rec);
	CHECK_HAS(s, "\"result_truncated\":true");
	CHECK(strstr(s, "\"result\"") == NULL);
	o = parse(s);
	CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
	CHECK_EQ_INT(d.result_is, RH_RESULT_TRUNCATED);
	rh_call_record_free(&d);
	cJSON_Delete(o);
	cJSON_free(s);

	/* every state by its name */
	for (int st = RH_CALL_QUEUED; st <= RH_CALL_CANCELLED; st++) {
		rec.state = (enum rh_call_state)st;
		o = cJSON_CreateObject();
		rh_call_record_encode(o, &rec);
		CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
		CHECK_EQ_INT(d.state, st);
		CHECK_EQ_INT(rh_call_state_of(rh_call_state_name(
		             (enum rh_call_state)st)), st);
		rh_call_record_free(&d);
		cJSON_Delete(o);
	}
	CHECK(!RH_CALL_ENDED(RH_CALL_RUNNING));
	CHECK(RH_CALL_ENDED(RH_CALL_DONE));
	CHECK_EQ_INT(rh_call_state_of("ended"), -1);
	rh_buf_free(&rec.result);
	cJSON_Delete(spec);
}

/* A record with nothing but its id and state: every other field null, as
 * the agent writes a call just queued; on disk with pid_start, in a reply
 * without it and with sizes. */
static void
forms(void)
{
	struct rh_call_record rec, d;
	struct rh_err err;
	cJSON *o;
	char *s;

	rh_call_record_init(&rec);
	rec.call = ID;
	rec.pid_start = 0;
	rec.send = "";          /* empty is null, as the agent has it */
	s = encoded(&rec);
	CHECK_STR(s, "{\"call\":\"" ID "\",\"state\":\"queued\",\"send\":null,"
	          "\"queue\":null,\"pid\":null,\"pid_start\":null,"
	          "\"exit\":null,\"signal\":null,\"reason\":null,"
	          "\"queued_at\":null,\"started_at\":null,\"ended_at\":null}");
	o = parse(s);
	CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
	CHECK(d.send == NULL && d.queue == NULL && d.reason == NULL);
	CHECK_EQ_INT(d.pid, 0);
	CHECK_EQ_INT(d.pid_start, 0);   /* present, unknown */
	CHECK_EQ_INT(d.exit, -1);
	CHECK_EQ_INT(d.signal, 0);
	CHECK_EQ_INT(d.queued_at.tv_sec, 0);
	CHECK_EQ_INT(d.stdout_size, -1);
	CHECK_EQ_INT(d.stderr_size, -1);
	CHECK(d.spec == NULL);
	CHECK_EQ_INT(d.result_is, RH_RESULT_NONE);
	rh_call_record_free(&d);
	cJSON_Delete(o);
	cJSON_free(s);
	/* a reply: no pid_start; sizes; a result of nothing is "" */
	rec.pid_start = -1;
	rec.state = RH_CALL_DONE;
	rec.exit = 0;
	rec.stdout_size = rec.stderr_size = 0;
	rec.result_is = RH_RESULT_BYTES;
	s = encoded(&rec);
	CHECK(strstr(s, "pid_start") == NULL);
	CHECK_HAS(s, "\"exit\":0,");
	CHECK_HAS(s, "\"stdout_size\":0,\"stderr_size\":0,\"result\":\"\"}");
	cJSON_free(s);
	/* minimal: absent is null; an exit of 0 is not null */
	o = parse("{\"call\":\"" ID "\",\"state\":\"done\",\"exit\":0}");
	CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
	CHECK_EQ_INT(d.exit, 0);
	CHECK_EQ_INT(d.pid_start, -1);
	rh_call_record_free(&d);
	cJSON_Delete(o);
}

static void
wrong_types(void)
{
	const char *base = "{\"call\":\"" ID "\",\"state\":\"done\",";
	static const struct {
		const char *field, *want;
	} bad[] = {
		{ "\"send\":1", "'send' must be a string" },
		{ "\"queue\":[]", "'queue' must be a string" },
		{ "\"pid\":\"7\"", "'pid' must be an integer" },
		{ "\"pid\":-2", "'pid' must be an integer" },
		{ "\"pid\":1.5", "'pid' must be an integer" },
		{ "\"pid_start\":true", "'pid_start' must be an integer" },
		{ "\"exit\":256", "'exit' must be an integer from 0 to 255" },
		{ "\"exit\":\"0\"", "'exit' must be an integer" },
		{ "\"signal\":{}", "'signal' must be an integer" },
		{ "\"reason\":false", "'reason' must be a string" },
		{ "\"queued_at\":1714564800", "'queued_at' must be a string" },
		{ "\"started_at\":\"2024-05-01 12:00:00\"",
		  "'started_at' must be a UTC time like" },
		{ "\"ended_at\":\"2024-02-30T12:00:00.000001Z\"",
		  "'ended_at' must be a UTC time" },
		{ "\"ended_at\":\"2024-05-01T12:00:00.000001Zx\"",
		  "'ended_at' must be a UTC time" },
		{ "\"ended_at\":\"2024-05-01T12:00:00.1Z\"",
		  "'ended_at' must be a UTC time" },
		{ "\"ended_at\":\"2024-05-01T24:00:00.000001Z\"",
		  "'ended_at' must be a UTC time" },
		{ "\"ended_at\":\"2024-05-01T12:00:60.000001Z\"",
		  "'ended_at' must be a UTC time" },
		{ "\"ended_at\":\"2024-05-01T12:+1:00.000001Z\"",
		  "'ended_at' must be a UTC time" },
		{ "\"ended_at\":\"0999-05-01T12:00:00.000001Z\"",
		  "'ended_at' must be a UTC time" },
		{ "\"ended_at\":\"1970-01-01T00:00:00.000000Z\"",
		  "'ended_at' must be a UTC time" },
		{ "\"stdout_size\":-1", "'stdout_size' must be an integer" },
		{ "\"stderr_size\":\"3\"", "'stderr_size' must be an integer" },
		{ "\"spec\":[]", "'spec' must be an object" },
		{ "\"result\":5", "'result' must be a string" },
		{ "\"result_b64\":\"!!!\"", "'result_b64' must be base64" },
		{ "\"result_b64\":7", "'result_b64' must be a string" },
		{ "\"result_truncated\":1",
		  "'result_truncated' must be true or false" },
	};
	char json[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "%s%s}", base, bad[i].field);
		REFUSED(json, bad[i].want);
	}
	REFUSED("{\"state\":\"done\"}", "'call' (the call id) is missing");
	REFUSED("{\"call\":7,\"state\":\"done\"}", "'call' must be a string");
	REFUSED("{\"call\":\"../x\",\"state\":\"done\"}",
	        "'call' must be a call id");
	REFUSED("{\"call\":\"" ID "\"}", "'state' is missing");
	REFUSED("{\"call\":\"" ID "\",\"state\":\"ended\"}",
	        "'state' must be queued, running, done, failed or cancelled");
	REFUSED("{\"call\":\"" ID "\",\"state\":2}", "'state' must be a string");
	REFUSED("[1]", "must be a JSON object");
}

/* Fields it does not know are ignored (a reply's id, op and ok; what a
 * newer agent adds); a record of an older agent's status.json reads. */
static void
unknown_and_old(void)
{
	struct rh_call_record d;
	struct rh_err err;
	cJSON *o;

	o = parse("{\"id\":3,\"op\":\"reply\",\"ok\":true,\"call\":\"" ID "\","
	          "\"state\":\"running\",\"pid\":9,\"gpu\":{\"n\":2},"
	          "\"cancelled\":false,\"waiting_for\":\"~/gpu\"}");
	CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
	CHECK_EQ_INT(d.state, RH_CALL_RUNNING);
	CHECK_EQ_INT(d.pid, 9);
	rh_call_record_free(&d);
	cJSON_Delete(o);
	/* calls/ID/status.json as the first agents wrote it */
	o = parse("{\"call\":\"" ID "\",\"state\":\"done\",\"send\":\"~/s\","
	          "\"queue\":null,\"pid\":4250,\"pid_start\":5511,\"exit\":0,"
	          "\"signal\":null,\"reason\":null,"
	          "\"queued_at\":\"2024-05-01T12:00:00.000001Z\","
	          "\"started_at\":\"2024-05-01T12:00:00.000210Z\","
	          "\"ended_at\":\"2024-05-01T12:00:00.001400Z\"}");
	CHECK_EQ_INT(rh_call_record_decode(o, &d, &err), 0);
	CHECK_EQ_INT(d.state, RH_CALL_DONE);
	CHECK_EQ_INT(d.exit, 0);
	CHECK_EQ_INT(d.pid_start, 5511);
	CHECK_EQ_INT(d.ended_at.tv_nsec, 1400000);
	rh_call_record_free(&d);
	cJSON_Delete(o);
}

int
main(void)
{
	round_trip();
	forms();
	wrong_types();
	unknown_and_old();
	return unit_done();
}

/* callrecord.c - a call's record, encoded and decoded the one way both
 * sides share (callrecord.h; docs/protocol.md, "The call record"). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "callrecord.h"
#include "callspec.h"
#include "proto.h"

static const char *const state_names[] = {
	[RH_CALL_QUEUED] = "queued", [RH_CALL_RUNNING] = "running",
	[RH_CALL_DONE] = "done", [RH_CALL_FAILED] = "failed",
	[RH_CALL_CANCELLED] = "cancelled",
};
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

/* The most a file's size or a start time in ticks may be: exact in a
 * double. */
#define COUNT_MAX ((long long)RH_PROTO_ID_MAX)

const char *
rh_call_state_name(enum rh_call_state s)
{
	return (unsigned)s < NSTATES ? state_names[s] : "unknown";
}

int
rh_call_state_of(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NSTATES; i++)
		if (strcmp(name, state_names[i]) == 0)
			return (int)i;
	return -1;
}

void
rh_call_record_init(struct rh_call_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->pid_start = -1;
	rec->exit = -1;
	rec->stdout_size = rec->stderr_size = -1;
}

void
rh_call_record_free(struct rh_call_record *rec)
{
	rh_buf_free(&rec->result);
	rh_call_record_init(rec);
}

/* A record's keys are literals: held by reference (no copy to make and
 * free; a record is made for each change of a call, and each reply). */
static void
add(cJSON *o, const char *key, cJSON *v)
{
	if (v == NULL || !cJSON_AddItemToObjectCS(o, key, v)) {
		fputs("out of memory\n", stderr);
		abort();
	}
}

static void
add_string_or_null(cJSON *o, const char *key, const char *s)
{
	add(o, key, s != NULL && *s != '\0' ? cJSON_CreateString(s) :
	    cJSON_CreateNull());
}

static void
add_int_or_null(cJSON *o, const char *key, long long v, int null)
{
	add(o, key, null ? cJSON_CreateNull() : cJSON_CreateNumber((double)v));
}

void
rh_call_record_encode(cJSON *o, const struct rh_call_record *rec)
{
	add_string_or_null(o, "call", rec->call);
	/* a state's name is a literal too */
	add(o, "state", cJSON_CreateStringReference(
	    rh_call_state_name(rec->state)));
	add_string_or_null(o, "send", rec->send);
	add_string_or_null(o, "queue", rec->queue);
	add_int_or_null(o, "pid", rec->pid, rec->pid <= 0);
	if (rec->pid_start >= 0)        /* with the pid it tells apart */
		add_int_or_null(o, "pid_start", rec->pid_start, rec->pid <= 0);
	add_int_or_null(o, "exit", rec->exit, rec->exit < 0);
	add_int_or_null(o, "signal", rec->signal, rec->signal <= 0);
	add_string_or_null(o, "reason", rec->reason);
	rh_json_add_time(o, "queued_at", &rec->queued_at);
	rh_json_add_time(o, "started_at", &rec->started_at);
	rh_json_add_time(o, "ended_at", &rec->ended_at);
	if (rec->node != NULL && *rec->node != '\0')    /* several nodes */
		add(o, "node", cJSON_CreateString(rec->node));
	if (rec->stdout_size >= 0)
		add(o, "stdout_size", cJSON_CreateNumber(
		    (double)rec->stdout_size));
	if (rec->stderr_size >= 0)
		add(o, "stderr_size", cJSON_CreateNumber(
		    (double)rec->stderr_size));
	if (rec->spec_ref != NULL)
		cJSON_AddItemReferenceToObject(o, "spec", rec->spec_ref);
	else if (rec->spec != NULL)
		cJSON_AddItemToObject(o, "spec", cJSON_Duplicate(rec->spec, 1));
	if (rec->result_is == RH_RESULT_BYTES)
		rh_json_add_bytes(o, "result", rec->result.data,
		                  rec->result.len);
	else if (rec->result_is == RH_RESULT_TRUNCATED)
		cJSON_AddTrueToObject(o, "result_truncated");
}

/* The number the n digits at s spell, or -1 (not all digits). */
static long
digits(const char *s, int n)
{
	long v = 0;

	for (; n > 0; n--, s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* A time as rh_json_add_time writes it, "2024-05-01T12:00:00.000001Z",
 * and nothing else: each field where it writes it, a date and time that
 * exist (they read back from the time they make), and not the time 0,
 * which it writes as null. */
static int
get_time(const cJSON *o, const char *key, struct timespec *ts,
         struct rh_err *err)
{
	static const int at[] = { 0, 5, 8, 11, 14, 17 }, len[] = { 4, 2, 2,
	                                                            2, 2, 2 };
	const char *s = NULL;
	struct tm tm, back;
	long f[6], us;
	int r, i;

	if ((r = rh_json_get_string(o, key, &s, err)) <= 0)
		return r;
	if (strlen(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || s[16] != ':' || s[19] != '.' || s[26] != 'Z' ||
	    (us = digits(s + 20, 6)) < 0)
		goto bad;
	for (i = 0; i < 6; i++)
		if ((f[i] = digits(s + at[i], len[i])) < 0)
			goto bad;
	if (f[0] < 1000)
		goto bad;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = (int)f[0] - 1900;
	tm.tm_mon = (int)f[1] - 1;
	tm.tm_mday = (int)f[2];
	tm.tm_hour = (int)f[3];
	tm.tm_min = (int)f[4];
	tm.tm_sec = (int)f[5];
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = us * 1000;
	if (gmtime_r(&ts->tv_sec, &back) == NULL ||
	    back.tm_year != (int)f[0] - 1900 || back.tm_mon != (int)f[1] - 1 ||
	    back.tm_mday != f[2] || back.tm_hour != f[3] ||
	    back.tm_min != f[4] || back.tm_sec != f[5] ||
	    (ts->tv_sec == 0 && us == 0))
		goto bad;
	return 1;
bad:
	ts->tv_sec = ts->tv_nsec = 0;
	return rh_err_set(err, EINVAL, "'%s' must be a UTC time like "
	                  "2024-05-01T12:00:00.000001Z, not '%.64s'", key, s);
}

/* The result: result (text) or result_b64 (bytes), or result_truncated. */
static int
get_result(const cJSON *o, struct rh_call_record *rec, struct rh_err *err)
{
	const char *s = NULL;
	int r, trunc = 0;

	if ((r = rh_json_get_string(o, "result", &s, err)) < 0)
		return r;
	if (r > 0) {
		rh_buf_append(&rec->result, s, strlen(s));
		rec->result_is = RH_RESULT_BYTES;
		return 0;
	}
	if ((r = rh_json_get_string(o, "result_b64", &s, err)) < 0)
		return r;
	if (r > 0) {
		if (rh_b64_decode(s, &rec->result) < 0)
			return rh_err_set(err, EINVAL, "'result_b64' must be "
			                  "base64");
		rec->result_is = RH_RESULT_BYTES;
		return 0;
	}
	if ((r = rh_json_get_bool(o, "result_truncated", &trunc, err)) < 0)
		return r;
	if (trunc)
		rec->result_is = RH_RESULT_TRUNCATED;
	return 0;
}

int
rh_call_record_decode(const cJSON *o, struct rh_call_record *rec,
                      struct rh_err *err)
{
	const char *state = NULL;
	long long v;
	int r;

	rh_call_record_init(rec);
	if (!cJSON_IsObject(o))
		return rh_err_set(err, EINVAL, "a call record must be a JSON "
		                  "object");
	if ((r = rh_json_get_string(o, "call", &rec->call, err)) < 0)
		return r;
	if (rec->call == NULL)
		return rh_err_set(err, EINVAL, "'call' (the call id) is "
		                  "missing");
	if (!rh_call_id_valid(rec->call))
		return rh_err_set(err, EINVAL, "'call' must be a call id, not "
		                  "'%.64s'", rec->call);
	if ((r = rh_json_get_string(o, "state", &state, err)) < 0)
		return r;
	if (state == NULL)
		return rh_err_set(err, EINVAL, "'state' is missing");
	if ((r = rh_call_state_of(state)) < 0)
		return rh_err_set(err, EINVAL, "'state' must be queued, "
		                  "running, done, failed or cancelled, not "
		                  "'%.64s'", state);
	rec->state = (enum rh_call_state)r;
	if ((r = rh_json_get_string(o, "send", &rec->send, err)) < 0 ||
	    (r = rh_json_get_string(o, "queue", &rec->queue, err)) < 0 ||
	    (r = rh_json_get_int(o, "pid", 0, INT_MAX, &rec->pid, err)) < 0)
		return r;
	/* on disk, pid_start is null beside a null pid: present, unknown */
	if (cJSON_GetObjectItemCaseSensitive(o, "pid_start") != NULL)
		rec->pid_start = 0;
	if ((r = rh_json_get_int(o, "pid_start", 0, COUNT_MAX,
	                         &rec->pid_start, err)) < 0)
		return r;
	v = -1;
	if ((r = rh_json_get_int(o, "exit", 0, 255, &v, err)) < 0)
		return r;
	rec->exit = (int)v;
	v = 0;
	if ((r = rh_json_get_int(o, "signal", 0, 255, &v, err)) < 0)
		return r;
	rec->signal = (int)v;
	if ((r = rh_json_get_string(o, "reason", &rec->reason, err)) < 0 ||
	    (r = rh_json_get_string(o, "node", &rec->node, err)) < 0 ||
	    (r = get_time(o, "queued_at", &rec->queued_at, err)) < 0 ||
	    (r = get_time(o, "started_at", &rec->started_at, err)) < 0 ||
	    (r = get_time(o, "ended_at", &rec->ended_at, err)) < 0 ||
	    (r = rh_json_get_int(o, "stdout_size", 0, COUNT_MAX,
	                         &rec->stdout_size, err)) < 0 ||
	    (r = rh_json_get_int(o, "stderr_size", 0, COUNT_MAX,
	                         &rec->stderr_size, err)) < 0 ||
	    (r = rh_json_get_object(o, "spec", &rec->spec, err)) < 0 ||
	    (r = get_result(o, rec, err)) < 0)
		return r;
	return 0;
}

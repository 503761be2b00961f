/* unit-invoke.c - the line parser of a send's invoke file
 * (invoke_parse_lines, fs/file-invoke.c): what each form of line becomes
 * as a call spec, and every refusal, which names the line and changes
 * nothing (all or nothing per write). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <string.h>

#include "base.h"
#include "rhfs.h"
#include "unit.h"

/* The specs of data as compact JSON (a new allocation), or NULL when
 * refused, with the reason in err. */
static char *
parse(const char *data, struct rh_err *err)
{
	cJSON *specs = (cJSON *)0x1;
	char *text;
	int r;

	err->msg[0] = '\0';
	r = invoke_parse_lines("~/add", data, strlen(data), &specs, err);
	if (r < 0) {
		CHECK_EQ_INT(r, -EINVAL);
		CHECK(specs == (cJSON *)0x1);   /* *out untouched */
		CHECK(err->msg[0] != '\0');
		return NULL;
	}
	text = rh_json_print(specs, 0);
	cJSON_Delete(specs);
	return text;
}

static void
want(const char *data, const char *specs)
{
	struct rh_err err;
	char *got = parse(data, &err);

	if (!CHECK_STR(got, specs))
		fprintf(stderr, "     input \"%s\", refused: %s\n", data,
		        err.msg);
	cJSON_free(got);
}

static void
refused(const char *data, const char *why)
{
	struct rh_err err;
	char *got = parse(data, &err);

	CHECK(got == NULL);
	CHECK_HAS(err.msg, why);
	cJSON_free(got);
}

static void
test_forms(void)
{
	/* an array is the positional args */
	want("[1, 2]\n", "[{\"args\":[1,2]}]");
	/* an object keeps args, kwargs and queue as written */
	want("{\"args\": [\"x\"], \"kwargs\": {\"a\": null}, \"queue\": true}\n",
	     "[{\"args\":[\"x\"],\"kwargs\":{\"a\":null},\"queue\":true}]");
	want("{}\n", "[{}]");
	want("{\"kwargs\": {}}", "[{\"kwargs\":{}}]");
	/* one spec per line, in order; the last line needs no newline */
	want("[1]\n[2]\n{\"args\": [3]}", "[{\"args\":[1]},{\"args\":[2]},"
	     "{\"args\":[3]}]");
	/* blank lines (spaces, tabs, CRs) are no call; CRLF endings work */
	want("\n  \t\r\n[1]\r\n\n", "[{\"args\":[1]}]");
	want("", "[]");
	want(" \n\t\n", "[]");
	/* numbers keep the text they were written as */
	want("[1.0, 9007199254740993]", "[{\"args\":[1.0,9007199254740993]}]");
	/* a job step of its own: its resources kept as written */
	want("{\"args\": [1], \"slurm\": {\"cpus_per_task\": 2, \"gpus\": "
	     "\"a100:1\", \"mem\": \"4G\", \"time\": \"30\"}}",
	     "[{\"args\":[1],\"slurm\":{\"cpus_per_task\":2,\"gpus\":"
	     "\"a100:1\",\"mem\":\"4G\",\"time\":\"30\"}}]");
	refused("[1]\n{\"slurm\": {\"cpus\": 2}}", "~/add/invoke: line 2: "
	        "slurm: unknown field 'cpus' (known: cpus_per_task, gpus, "
	        "gres, mem, time)");
	refused("{\"slurm\": {\"gres\": \"gpu:1;rm\"}}",
	        "line 1: slurm: field 'gres' must be");
	refused("{\"slurm\": {\"job\": \"12\"}}",
	        "line 1: slurm: unknown field 'job'");
	refused("{\"slurm\": {\"qos\": \"high\"}}",
	        "line 1: slurm: field 'qos' is the allocation's");
	refused("{\"slurm\": []}", "line 1: slurm: must be an object");
}

static void
test_refs(void)
{
	/* a result of an earlier call, by its address */
	want("[{\"$ref\": \"~/add/calls/20240501-120000-000001\"}]",
	     "[{\"args\":[{\"$ref\":\"~/add/calls/20240501-120000-000001\"}]}]");
	/* found in kwargs and nested values too */
	want("{\"kwargs\": {\"a\": [{\"b\": {\"$ref\": "
	     "\"/alice/x/calls/20240501-120000-000001\"}}]}}",
	     "[{\"kwargs\":{\"a\":[{\"b\":{\"$ref\":"
	     "\"/alice/x/calls/20240501-120000-000001\"}}]}}]");
	/* the mount's path ^/x is the address ^x */
	want("[{\"$ref\": \"^/rh-cpu/f/calls/20240501-120000-000001\"}]",
	     "[{\"args\":[{\"$ref\":\"^rh-cpu/f/calls/"
	     "20240501-120000-000001\"}]}]");
	/* the last /calls/ is the one that counts */
	want("[{\"$ref\": \"~/calls/x/calls/20240501-120000-000001\"}]",
	     "[{\"args\":[{\"$ref\":\"~/calls/x/calls/"
	     "20240501-120000-000001\"}]}]");

	refused("[{\"$ref\": \"~/add/calls/20240501-120000-00001\"}]",
	        "line 1: $ref '~/add/calls/20240501-120000-00001' is not");
	refused("[{\"$ref\": \"~/add/calls/20240501x120000-000001\"}]",
	        "is not <send address>/calls/<call id>");
	refused("[{\"$ref\": \"add/calls/20240501-120000-000001\"}]",
	        "is not <send address>/calls/<call id>");
	refused("[{\"$ref\": \"/calls/20240501-120000-000001\"}]",
	        "is not <send address>/calls/<call id>");
	refused("[{\"$ref\": \"~/add\"}]", "is not <send address>");
	refused("[{\"$ref\": 1}]", "a $ref is {\"$ref\": \"<send>/calls/<ID>\"} "
	        "alone");
	refused("[{\"$ref\": \"~/add/calls/20240501-120000-000001\", "
	        "\"x\": 1}]", "alone");
	refused("[1]\n{\"kwargs\": {\"k\": {\"$ref\": \"nowhere\"}}}",
	        "~/add/invoke: line 2: $ref 'nowhere'");
}

static void
test_data(void)
{
	/* a data resource by its address: its form is judged here, its
	 * place when the call is sent (tests/send-data.sh) */
	want("[{\"$data\": \"~/ckpts\"}]",
	     "[{\"args\":[{\"$data\":\"~/ckpts\"}]}]");
	want("{\"kwargs\": {\"d\": [{\"$data\": \"@/team/w\"}]}}",
	     "[{\"kwargs\":{\"d\":[{\"$data\":\"@/team/w\"}]}}]");
	/* the mount's path ^/x is the address ^x */
	want("[{\"$data\": \"^/x\"}]", "[{\"args\":[{\"$data\":\"^x\"}]}]");
	want("[{\"$data\": \"/alice/w\"}]",
	     "[{\"args\":[{\"$data\":\"/alice/w\"}]}]");

	refused("[{\"$data\": 1}]", "line 1: a $data is {\"$data\": "
	        "\"<folder, table or blob>\"} alone");
	refused("[{\"$data\": \"~/a\", \"x\": 1}]", "alone");
	refused("[{\"$data\": null}]", "alone");
	refused("[{\"$data\": \"ckpts\"}]", "line 1: $data 'ckpts' is not "
	        "the address of a folder, table or blob");
	refused("[{\"$data\": \"\"}]", "$data '' is not the address");
	refused("[{\"$data\": \"~x\"}]", "$data '~x' is not the address");
	refused("[{\"$data\": \"/\"}]", "$data '/' is not the address");
	refused("[1]\n{\"kwargs\": {\"k\": {\"$data\": \"^\"}}}",
	        "~/add/invoke: line 2: $data '^'");
}

static void
test_refusals(void)
{
	refused("{\"arg\": []}", "~/add/invoke: line 1: unknown field 'arg' "
	        "(known: args, kwargs, queue, slurm)");
	refused("{\"args\": {}}", "line 1: args must be an array, kwargs an "
	        "object, queue true or false");
	refused("{\"kwargs\": []}", "kwargs an object");
	refused("{\"queue\": 1}", "queue true or false");
	refused("{\"args\": null}", "args must be an array");
	refused("\"f\"", "line 1: not a call spec (a JSON object or array)");
	refused("3", "not a call spec");
	refused("null", "not a call spec");
	/* JSON that Python would read otherwise is refused too, with the
	 * line named */
	refused("{\"args\": [], \"args\": [1]}", "~/add/invoke: line 1");
	refused("[1,]", "~/add/invoke: line 1");
	/* all or nothing: a bad line anywhere refuses the whole write, and
	 * names its own number, blank lines counted */
	refused("[1]\n\n[2]\n[3\n[4]", "~/add/invoke: line 4");
	refused("[1]\n{\"queue\": \"yes\"}", "line 2: args must be an array");
	/* a NUL inside a line is not JSON */
	{
		struct rh_err err;
		cJSON *specs = NULL;

		CHECK_EQ_INT(invoke_parse_lines("~/add", "[1]\0[2]", 7, &specs,
		                                &err), -EINVAL);
		CHECK(specs == NULL);
		CHECK_HAS(err.msg, "~/add/invoke: line 1");
	}
}

int
main(void)
{
	test_forms();
	test_refs();
	test_data();
	test_refusals();
	return unit_done();
}

/* unit-callspec.c - the call request (src/proto/callspec.c): every field
 * through the encoder and back through the decoder, each bad field
 * refused with the reason naming it, fields it does not know refused,
 * and the form of call ids and $refs. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "callspec.h"
#include "slurmres.h"
#include "unit.h"

/* The JSON text of v (compact), in a new allocation. */
static char *
text(const cJSON *v)
{
	return v != NULL ? rh_json_print(v, 0) : strdup("(none)");
}

#define CHECK_JSON(v, want) do { \
	char *t_ = text(v); \
	CHECK_STR(t_, want); \
	free(t_); \
} while (0)

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

/* A command call with every field set, encoded, decoded: the same. */
static void
round_trip_command(void)
{
	struct rh_call_spec s, d;
	struct rh_err err;
	cJSON *req, *again;
	char *a, *b;

	rh_call_spec_init(&s);
	CHECK_EQ_INT(s.wait, 1);
	rh_call_spec_set_shell(&s, "echo hi");
	CHECK_STR(s.command[0], "sh");
	CHECK_STR(s.command[1], "-c");
	CHECK_STR(s.command[2], "exec 2>&1\necho hi");
	CHECK(s.command[3] == NULL);
	s.args = parse("[\"a dog\", 3, {\"$ref\": \"~/s/calls/"
	               "20240501-120000-000001\"}, null]");
	s.kwargs = parse("{\"steps\": 50, \"deep\": {\"x\": [1, 2.50]}}");
	s.cwd = strdup("work");
	s.env = parse("{\"A\": \"1\", \"B\": \"two words\"}");
	s.secret_env = parse("{\"TOKEN\": \"s3cr3t\"}");
	s.queue = strdup("~/q");
	s.send = strdup("~/s");
	s.venv = strdup(".rh/venvs/abc");
	s.call = strdup("20240501-120000-000007");
	s.wait = 0;
	req = rh_call_spec_encode(&s);
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(req, "op"), "\"call\"");
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(req, "id"), "0");
	CHECK_EQ_INT(rh_call_spec_decode(req, &d, &err), 0);
	CHECK(d.command != NULL && d.fn_module == NULL);
	CHECK_STR(d.command[0], "sh");
	CHECK_STR(d.command[2], "exec 2>&1\necho hi");
	CHECK(d.command[3] == NULL);
	CHECK_JSON(d.args, "[\"a dog\",3,{\"$ref\":\"~/s/calls/"
	           "20240501-120000-000001\"},null]");
	CHECK_JSON(d.kwargs, "{\"steps\":50,\"deep\":{\"x\":[1,2.50]}}");
	CHECK_STR(d.cwd, "work");
	CHECK_JSON(d.env, "{\"A\":\"1\",\"B\":\"two words\"}");
	CHECK_JSON(d.secret_env, "{\"TOKEN\":\"s3cr3t\"}");
	CHECK_STR(d.queue, "~/q");
	CHECK_STR(d.send, "~/s");
	CHECK_STR(d.venv, ".rh/venvs/abc");
	CHECK_STR(d.call, "20240501-120000-000007");
	CHECK_EQ_INT(d.wait, 0);
	/* and encoded again, the same request */
	again = rh_call_spec_encode(&d);
	a = text(req);
	b = text(again);
	CHECK_STR(b, a);
	free(a);
	free(b);
	cJSON_Delete(again);
	rh_call_spec_free(&d);
	CHECK(d.command == NULL && d.secret_env == NULL && d.wait == 1);
	cJSON_Delete(req);
	rh_call_spec_free(&s);
}

/* A Python call: fn_pointers with a path, and with null. */
static void
round_trip_python(void)
{
	struct rh_call_spec s, d;
	struct rh_err err;
	cJSON *fp, *req;

	rh_call_spec_init(&s);
	fp = parse("[\"code/lib\", \"mod\", \"fn\"]");
	CHECK_EQ_INT(rh_call_spec_set_fn(&s, fp, &err), 0);
	cJSON_Delete(fp);
	req = rh_call_spec_encode(&s);
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(req, "fn_pointers"),
	           "[\"code/lib\",\"mod\",\"fn\"]");
	CHECK(cJSON_GetObjectItemCaseSensitive(req, "command") == NULL);
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(req, "wait"), "true");
	/* nothing else is written when nothing else is set */
	CHECK_EQ_INT(cJSON_GetArraySize(req), 4);
	CHECK_EQ_INT(rh_call_spec_decode(req, &d, &err), 0);
	CHECK(d.command == NULL);
	CHECK_STR(d.fn_path, "code/lib");
	CHECK_STR(d.fn_module, "mod");
	CHECK_STR(d.fn_function, "fn");
	CHECK(d.args == NULL && d.kwargs == NULL && d.env == NULL &&
	      d.secret_env == NULL && d.cwd == NULL && d.queue == NULL &&
	      d.send == NULL && d.venv == NULL && d.wait == 1);
	rh_call_spec_free(&d);
	cJSON_Delete(req);
	rh_call_spec_free(&s);

	fp = parse("[null, \"mod\", \"fn\"]");
	CHECK_EQ_INT(rh_call_spec_set_fn(&s, fp, &err), 0);
	cJSON_Delete(fp);
	CHECK(s.fn_path == NULL);
	req = rh_call_spec_encode(&s);
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(req, "fn_pointers"),
	           "[null,\"mod\",\"fn\"]");
	CHECK_EQ_INT(rh_call_spec_decode(req, &d, &err), 0);
	CHECK(d.fn_path == NULL);
	CHECK_STR(d.fn_module, "mod");
	rh_call_spec_free(&d);
	cJSON_Delete(req);
	rh_call_spec_free(&s);
}

/* Null is absent, for every optional field. */
static void
nulls(void)
{
	struct rh_call_spec d;
	struct rh_err err;
	cJSON *req = parse("{\"id\": 3, \"op\": \"call\", \"command\": "
	                   "[\"echo\"], \"args\": null, \"kwargs\": null, "
	                   "\"cwd\": null, \"env\": null, \"secret_env\": "
	                   "null, \"queue\": null, \"send\": null, \"venv\": "
	                   "null, \"wait\": null}");

	CHECK_EQ_INT(rh_call_spec_decode(req, &d, &err), 0);
	CHECK_STR(d.command[0], "echo");
	CHECK(d.args == NULL && d.kwargs == NULL && d.env == NULL &&
	      d.secret_env == NULL && d.cwd == NULL && d.queue == NULL &&
	      d.send == NULL && d.venv == NULL && d.wait == 1);
	rh_call_spec_free(&d);
	cJSON_Delete(req);
}

static const struct {
	const char *req;
	const char *why;
} bad[] = {
	{ "[1]", "a call request is a JSON object" },
	{ "{}", "'command' must be an array naming a program" },
	{ "{\"command\": []}", "'command' must be an array naming a program" },
	{ "{\"command\": \"echo\"}", "'command' must be an array" },
	{ "{\"command\": [\"echo\", 1]}", "'command' must hold only strings" },
	{ "{\"command\": [\"\"]}", "'command' names an empty program" },
	{ "{\"fn_pointers\": [\"\", \"m\"]}", "'fn_pointers' must be "
	  "[relative_path, module, function]" },
	{ "{\"fn_pointers\": [1, \"m\", \"f\"]}", "'fn_pointers' must be" },
	{ "{\"fn_pointers\": [null, \"\", \"f\"]}", "'fn_pointers' must be" },
	{ "{\"fn_pointers\": [null, \"m\", \"\"]}", "'fn_pointers' must be" },
	{ "{\"fn_pointers\": null}", "'fn_pointers' must be" },
	{ "{\"fn_pointers\": [null, \"m\", \"f\"], \"command\": [\"x\"]}",
	  "either 'command' or 'fn_pointers', not both" },
	{ "{\"command\": [\"echo\"], \"args\": {\"a\": 1}}",
	  "'args' must be an array" },
	{ "{\"command\": [\"echo\"], \"kwargs\": [1]}",
	  "'kwargs' must be an object" },
	{ "{\"command\": [\"echo\"], \"kwargs\": {\"a=b\": 1}}",
	  "kwarg name 'a=b' is empty or holds '='" },
	{ "{\"command\": [\"echo\"], \"kwargs\": {\"\": 1}}",
	  "kwarg name '' is empty" },
	{ "{\"command\": [\"echo\"], \"env\": \"X=1\"}",
	  "'env' must be an object of strings" },
	{ "{\"command\": [\"echo\"], \"env\": {\"X\": 1}}",
	  "'env' entry 'X' must be a string" },
	{ "{\"command\": [\"echo\"], \"env\": {\"X=Y\": \"1\"}}",
	  "'env' entry 'X=Y' must be a string with a name without '='" },
	{ "{\"command\": [\"echo\"], \"secret_env\": [\"X\"]}",
	  "'secret_env' must be an object of strings" },
	{ "{\"command\": [\"echo\"], \"secret_env\": {\"\": \"v\"}}",
	  "'secret_env' entry '' must be" },
	{ "{\"command\": [\"echo\"], \"cwd\": \"\"}",
	  "'cwd' must be a non-empty string" },
	{ "{\"command\": [\"echo\"], \"cwd\": 7}",
	  "'cwd' must be a non-empty string" },
	{ "{\"command\": [\"echo\"], \"queue\": \"\"}",
	  "'queue' must be a non-empty string" },
	{ "{\"command\": [\"echo\"], \"queue\": true}",
	  "'queue' must be a non-empty string" },
	{ "{\"command\": [\"echo\"], \"send\": 1}", "'send' must be a string" },
	{ "{\"command\": [\"echo\"], \"venv\": \"\"}",
	  "'venv' must be a non-empty string: a virtualenv's directory" },
	{ "{\"command\": [\"echo\"], \"venv\": [\"v\"]}",
	  "'venv' must be a non-empty string" },
	{ "{\"command\": [\"echo\"], \"call\": \"x\"}",
	  "'call' is the id proposed for the call" },
	{ "{\"command\": [\"echo\"], \"call\": 5}",
	  "'call' is the id proposed for the call" },
	{ "{\"command\": [\"echo\"], \"wait\": \"yes\"}",
	  "'wait' must be true or false" },
	/* unknown fields are refused: the spec is kept and must mean what
	 * it says; secret_names is the record's, never a request's */
	{ "{\"command\": [\"echo\"], \"colour\": \"red\"}",
	  "unknown field 'colour'" },
	{ "{\"command\": [\"echo\"], \"secret_names\": [\"X\"]}",
	  "unknown field 'secret_names'" },
	/* a job step of its own: its resources as srun takes them, and the
	 * job rhfs adds */
	{ "{\"command\": [\"echo\"], \"slurm\": 2}",
	  "slurm: must be an object" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"cpus_per_task\": 2}}",
	  "slurm: field 'job' (the allocation's job id) is missing" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1x\"}}",
	  "slurm: field 'job' must be the allocation's job id" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"cpus\": 2}}", "slurm: unknown field 'cpus' (known: "
	  "cpus_per_task, gpus, gres, mem, time)" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"nodes\": 2}}", "slurm: field 'nodes' is the allocation's" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"cpus_per_task\": 1.5}}",
	  "slurm: field 'cpus_per_task' must be a whole number" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"gpus\": \"a100:\"}}", "slurm: field 'gpus' must be" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"gres\": \"gpu:1 --x\"}}", "slurm: field 'gres' must be" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"mem\": \"4 G\"}}", "slurm: field 'mem' must be" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"time\": \"1h\"}}", "slurm: field 'time' must be" },
	{ "{\"command\": [\"echo\"], \"slurm\": {\"job\": \"1\", "
	  "\"gpus\": 1, \"gres\": \"gpu:1\"}}",
	  "slurm: fields 'gpus' and 'gres' both ask for GPUs" },
};

/* A job step's resources: through the encoder and back, and the srun
 * options they make; the writer's side refuses the job. */
static void
step(void)
{
	struct rh_call_spec d;
	struct rh_err err;
	cJSON *req = parse("{\"command\": [\"echo\"], \"slurm\": "
	                   "{\"cpus_per_task\": 2, \"gpus\": \"a100:1\", "
	                   "\"mem\": \"4G\", \"time\": \"1:00:00\", "
	                   "\"gres\": null, \"job\": \"12\"}}"), *again;
	char **o;

	CHECK_EQ_INT(rh_call_spec_decode(req, &d, &err), 0);
	again = rh_call_spec_encode(&d);
	CHECK_JSON(cJSON_GetObjectItemCaseSensitive(again, "slurm"),
	           "{\"cpus_per_task\":2,\"gpus\":\"a100:1\",\"mem\":"
	           "\"4G\",\"time\":\"1:00:00\",\"gres\":null,"
	           "\"job\":\"12\"}");
	o = rh_slurm_step_options(d.slurm);
	CHECK_STR(o[0], "--cpus-per-task=2");
	CHECK_STR(o[1], "--gpus=a100:1");
	CHECK_STR(o[2], "--mem=4G");
	CHECK_STR(o[3], "--time=1:00:00");
	CHECK_STR(o[4], "--jobid=12");
	CHECK(o[5] == NULL);
	rh_strv_free(o);
	/* as a call spec is written: the job is rhfs's to add */
	CHECK_EQ_INT(rh_slurm_step_check(d.slurm, 0, &err), -EINVAL);
	CHECK(strstr(err.msg, "unknown field 'job'") != NULL);
	cJSON_DeleteItemFromObjectCaseSensitive(d.slurm, "job");
	CHECK_EQ_INT(rh_slurm_step_check(d.slurm, 0, &err), 0);
	cJSON_Delete(again);
	rh_call_spec_free(&d);
	cJSON_Delete(req);
}

static void
refusals(void)
{
	struct rh_call_spec d;
	struct rh_err err;
	size_t i;
	cJSON *req;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req = parse(bad[i].req);
		err.msg[0] = '\0';
		memset(&d, 0x5a, sizeof(d));
		if (!CHECK_EQ_INT(rh_call_spec_decode(req, &d, &err), -EINVAL))
			fprintf(stderr, "     for %s\n", bad[i].req);
		else if (!CHECK_HAS(err.msg, bad[i].why))
			fprintf(stderr, "     for %s\n", bad[i].req);
		/* a refused spec holds nothing */
		CHECK(d.command == NULL && d.fn_module == NULL &&
		      d.args == NULL && d.env == NULL &&
		      d.secret_env == NULL);
		cJSON_Delete(req);
	}
}

/* What rhfs checks in a send's config before it builds calls. */
static void
setters(void)
{
	struct rh_call_spec s;
	struct rh_err err;
	cJSON *v;

	rh_call_spec_init(&s);
	v = parse("[\"python3\", \"-c\", \"print(1)\"]");
	CHECK_EQ_INT(rh_call_spec_set_command(&s, v, &err), 0);
	CHECK_STR(s.command[2], "print(1)");
	CHECK(s.command[3] == NULL);
	cJSON_Delete(v);
	v = parse("[\"x\", null]");
	CHECK_EQ_INT(rh_call_spec_set_command(&s, v, &err), -EINVAL);
	CHECK_HAS(err.msg, "'command' must hold only strings");
	CHECK_STR(s.command[0], "python3");     /* unchanged */
	cJSON_Delete(v);
	CHECK_EQ_INT(rh_call_spec_set_command(&s, NULL, &err), -EINVAL);
	rh_call_spec_free(&s);
}

static void
ids_and_refs(void)
{
	size_t len = 0;
	const char *id;

	CHECK(rh_call_id_valid("20240501-120000-000001"));
	CHECK(!rh_call_id_valid("20240501-120000-00001"));
	CHECK(!rh_call_id_valid("20240501_120000-000001"));
	CHECK(!rh_call_id_valid("2024050a-120000-000001"));
	CHECK(!rh_call_id_valid("../../etc"));
	CHECK(!rh_call_id_valid(""));
	id = rh_call_ref_split("~/add/calls/20240501-120000-000001", &len);
	CHECK_STR(id, "20240501-120000-000001");
	CHECK_EQ_INT(len, 5);
	/* the last /calls/ is the one */
	id = rh_call_ref_split("~/calls/x/calls/20240501-120000-000001", &len);
	CHECK_STR(id, "20240501-120000-000001");
	CHECK_EQ_INT(len, 9);
	CHECK(rh_call_ref_split("/calls/20240501-120000-000001", &len) ==
	      NULL);
	CHECK(rh_call_ref_split("~/add/calls/2024", &len) == NULL);
	CHECK(rh_call_ref_split("~/add/20240501-120000-000001", &len) ==
	      NULL);
}

/* The typed getters of the JSON module the decoder is made of. */
static void
getters(void)
{
	struct rh_err err;
	cJSON *o = parse("{\"s\": \"x\", \"b\": true, \"n\": 12, \"f\": 1.5, "
	                 "\"o\": {}, \"a\": [], \"z\": null}");
	const cJSON *v = NULL;
	const char *str = NULL;
	long long n = -1;
	int b = -1;
	static const char *const known[] = { "s", "b", "n", "f", "o", "a",
	                                     "z", NULL };
	static const char *const fewer[] = { "s", "b", "n", "f", "o", "a",
	                                     NULL };

	CHECK_EQ_INT(rh_json_get_string(o, "s", &str, &err), 1);
	CHECK_STR(str, "x");
	CHECK_EQ_INT(rh_json_get_string(o, "z", &str, &err), 0);
	CHECK_EQ_INT(rh_json_get_string(o, "nope", &str, &err), 0);
	CHECK_STR(str, "x");
	CHECK_EQ_INT(rh_json_get_string(o, "n", &str, &err), -EINVAL);
	CHECK_STR(err.msg, "'n' must be a string");
	CHECK_EQ_INT(rh_json_get_bool(o, "b", &b, &err), 1);
	CHECK_EQ_INT(b, 1);
	CHECK_EQ_INT(rh_json_get_bool(o, "s", &b, &err), -EINVAL);
	CHECK_STR(err.msg, "'s' must be true or false");
	CHECK_EQ_INT(rh_json_get_int(o, "n", 0, 100, &n, &err), 1);
	CHECK_EQ_INT(n, 12);
	CHECK_EQ_INT(rh_json_get_int(o, "n", -1, 10, &n, &err), -EINVAL);
	CHECK_STR(err.msg, "'n' must be an integer from -1 to 10");
	CHECK_EQ_INT(rh_json_get_int(o, "f", 0, 100, &n, &err), -EINVAL);
	CHECK_EQ_INT(rh_json_get_int(o, "s", 0, 100, &n, &err), -EINVAL);
	CHECK_EQ_INT(n, 12);
	CHECK_EQ_INT(rh_json_get_object(o, "o", &v, &err), 1);
	CHECK(cJSON_IsObject(v));
	CHECK_EQ_INT(rh_json_get_object(o, "a", &v, &err), -EINVAL);
	CHECK_STR(err.msg, "'a' must be an object");
	CHECK_EQ_INT(rh_json_get_array(o, "a", &v, &err), 1);
	CHECK(cJSON_IsArray(v));
	CHECK_EQ_INT(rh_json_get_array(o, "o", &v, &err), -EINVAL);
	CHECK_STR(err.msg, "'o' must be an array");
	CHECK_EQ_INT(rh_json_only(o, known, &err), 0);
	CHECK_EQ_INT(rh_json_only(o, fewer, &err), -EINVAL);
	CHECK_STR(err.msg, "unknown field 'z'");
	cJSON_Delete(o);
}

int
main(void)
{
	round_trip_command();
	round_trip_python();
	nulls();
	refusals();
	step();
	setters();
	ids_and_refs();
	getters();
	return unit_done();
}

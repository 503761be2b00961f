/* unit-resource.c - config.json validation (resource.c, res-*.c): every
 * type's fields, the name fields following the address, and when written
 * bytes are complete enough to judge. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "unit.h"

#define ADDR "~/team/x"

/*
 * data (len bytes) at addr is refused with -errnum; err.msg names the
 * address and, when given, the field (or another word that says why).
 */
static void
refused(int line, const char *addr, const char *data, size_t len,
        int errnum, const char *field)
{
	struct rh_err err = { "" };
	static char unset[] = "unset";
	char *out = unset;
	size_t outlen = 99;
	int r;

	r = rh_config_check(addr, data, len, &out, &outlen, &err);
	if (!unit_check_int(r, -errnum, __FILE__, line, "refused"))
		fprintf(stderr, "     config: %.200s\n", data);
	unit_check_has(err.msg, addr, __FILE__, line, "err.msg names addr");
	if (field != NULL)
		unit_check_has(err.msg, field, __FILE__, line,
		               "err.msg names the field");
	unit_check(out == NULL && outlen == 0, __FILE__, line,
	           "nothing to store");
	if (r == 0)
		free(out);
}

#define REFUSED(json, field) \
	refused(__LINE__, ADDR, (json), strlen(json), EINVAL, (field))

/* data at addr is valid; returns what must be stored (NULL: as is). */
static char *
accepted(int line, const char *addr, const char *data)
{
	struct rh_err err = { "" };
	char *out = NULL;
	size_t outlen = 0;
	int r;

	r = rh_config_check(addr, data, strlen(data), &out, &outlen, &err);
	if (!unit_check_int(r, 0, __FILE__, line, "accepted"))
		fprintf(stderr, "     config: %.200s\n     err: %s\n", data,
		        err.msg);
	if (out != NULL)
		unit_check_int((long long)outlen, (long long)strlen(out),
		               __FILE__, line, "outlen == strlen(out)");
	return out;
}

#define ACCEPTED(addr, json) accepted(__LINE__, (addr), (json))
/* valid and stored byte-for-byte */
#define AS_IS(addr, json) do {                                          \
	char *o_ = ACCEPTED((addr), (json));                            \
	CHECK(o_ == NULL);                                              \
	free(o_);                                                       \
} while (0)

/* The string field key of a JSON text, or NULL. */
static char *
field_of(const char *json, const char *key)
{
	cJSON *c = cJSON_Parse(json);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, key);
	char *s = cJSON_IsString(v) ? xstrdup(v->valuestring) : NULL;

	cJSON_Delete(c);
	return s;
}

/* The first key of a JSON object text. */
static char *
first_key(const char *json)
{
	cJSON *c = cJSON_Parse(json);
	char *s = c && c->child ? xstrdup(c->child->string) : NULL;

	cJSON_Delete(c);
	return s;
}

/* A config with name fixed for addr: valid, named addr first, every
 * other field kept, and stored as is when checked again. */
static void
renamed(int line, const char *addr, const char *json, const char *want)
{
	char *out = accepted(line, addr, json), *s;
	cJSON *a, *b;
	const cJSON *f;

	if (!unit_check(out != NULL, __FILE__, line, "name corrected"))
		return;
	unit_check_str(s = field_of(out, "name"), want, __FILE__, line,
	               "new name");
	free(s);
	unit_check_str(s = first_key(out), "name", __FILE__, line,
	               "name comes first");
	free(s);
	/* every field but the name fields is unchanged */
	a = cJSON_Parse(json);
	b = cJSON_Parse(out);
	cJSON_ArrayForEach(f, a) {
		if (strcmp(f->string, "name") == 0 ||
		    strcmp(f->string, "rns_address") == 0)
			continue;
		unit_check(cJSON_Compare(f, cJSON_GetObjectItemCaseSensitive(
		           b, f->string), 1), __FILE__, line, f->string);
	}
	unit_check_int(cJSON_GetArraySize(b), cJSON_GetArraySize(a) +
	               (cJSON_GetObjectItemCaseSensitive(a, "name") == NULL),
	               __FILE__, line, "no field lost or added");
	cJSON_Delete(a);
	cJSON_Delete(b);
	/* Runhouse's layout: json.dump(indent=4), ending in a newline */
	unit_check(strncmp(out, "{\n    \"name\": \"", 15) == 0 &&
	           out[strlen(out) - 1] == '\n' && strchr(out, '\t') == NULL,
	           __FILE__, line, "printed with 4-space indent");
	s = accepted(line, addr, out);
	unit_check(s == NULL, __FILE__, line, "corrected config is stable");
	free(s);
	free(out);
}

#define RENAMED(addr, json, want) renamed(__LINE__, (addr), (json), (want))

static const char *const minimal[] = {
	"{\"resource_type\": \"cluster\", \"resource_subtype\": \"Cluster\", "
	"\"ips\": [\"10.0.0.1\"]}",
	"{\"resource_type\": \"cluster\", \"resource_subtype\": "
	"\"OnDemandCluster\", \"instance_type\": \"CPU:2+\"}",
	"{\"resource_type\": \"send\", \"hardware\": \"^rh-cpu\", "
	"\"fn_pointers\": [\"proj/mod\", \"fns\", \"add\"]}",
	"{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	"\"command\": [\"echo\", \"hi\"]}",
	"{\"resource_type\": \"function\", \"system\": {\"name\": \"c\"}, "
	"\"fn_pointers\": [null, \"m\", \"f\"]}",
	"{\"resource_type\": \"folder\", \"path\": \"/data\"}",
	"{\"resource_type\": \"blob\", \"path\": \"/data/b.bin\"}",
	"{\"resource_type\": \"table\", \"path\": \"/data/t\"}",
	"{\"resource_type\": \"secret\", \"provider\": \"aws\"}",
};

static void
test_valid(void)
{
	const char *runhouse =
		"{\"name\": \"~/my-cluster\", \"resource_type\": \"cluster\", "
		"\"resource_subtype\": \"Cluster\", \"ips\": [\"127.0.0.1\"], "
		"\"ssh_creds\": {\"ssh_user\": \"u\", \"ssh_private_key\": "
		"\"/path/key\"}}";
	size_t i;

	for (i = 0; i < sizeof(minimal) / sizeof(minimal[0]); i++)
		RENAMED(ADDR, minimal[i], ADDR);

	/* the example, byte-for-byte */
	AS_IS("~/my-cluster", runhouse);

	/* fuller configs of each type, as Runhouse writes them */
	AS_IS("~/c", "{\n    \"name\": \"~/c\",\n    \"resource_type\": "
	      "\"cluster\",\n    \"resource_subtype\": \"Cluster\",\n    "
	      "\"ips\": [\"10.0.0.1\", \"10.0.0.2\"],\n    \"ssh_creds\": "
	      "{\"ssh_user\": \"ubuntu\", \"ssh_private_key\": \"~/.ssh/k\", "
	      "\"ssh_port\": 2222, \"ssh_proxy_command\": null},\n    "
	      "\"ssh_port\": 22, \"server_port\": 32300, \"den_auth\": false, "
	      "\"use_spot\": null, \"autostop_mins\": -1, \"visibility\": "
	      "\"private\", \"dryrun\": false, \"provenance\": null\n}\n");
	AS_IS("~/c", "{\"name\": \"c\", \"resource_type\": \"cluster\", "
	      "\"resource_subtype\": \"OnDemandCluster\", \"instance_type\": "
	      "\"A100:1\", \"num_instances\": 2, \"provider\": \"aws\", "
	      "\"autostop_mins\": 60, \"use_spot\": true, \"region\": "
	      "\"us-east-1\", \"image_id\": null}");
	AS_IS("~/c", "{\"name\": \"c\", \"resource_type\": \"cluster\", "
	      "\"ssh_creds\": \"~/s/ssh-secret\"}");
	AS_IS("~/f", "{\"name\": \"~/f\", \"resource_type\": \"function\", "
	      "\"resource_subtype\": \"Function\", \"system\": \"~/c\", "
	      "\"fn_pointers\": [\"proj\", \"mod\", \"fn\"], \"reqs\": "
	      "[\"./\", {\"name\": \"torch\"}], \"setup_cmds\": [\"true\"], "
	      "\"env\": {\"reqs\": []}, \"secrets\": [\"aws\"]}");
	AS_IS("~/t", "{\"name\": \"t\", \"resource_type\": \"table\", "
	      "\"path\": \"/d\", \"fs\": \"file\", \"system\": null, "
	      "\"partition_cols\": [\"year\"], \"data_config\": {}}");
	AS_IS("~/s", "{\"name\": \"s\", \"resource_type\": \"secret\", "
	      "\"provider\": \"ssh\", \"fields\": [\"id_ed25519\", "
	      "\"id_ed25519.pub\"], \"env_vars\": {\"K\": \"V\"}}");
	/* a send's hardware may be an inline cluster config */
	AS_IS("~/s", "{\"name\": \"s\", \"resource_type\": \"send\", "
	      "\"hardware\": {\"resource_type\": \"cluster\"}, "
	      "\"command\": [\"wc\", \"-l\"]}");
	/* trailing whitespace is not text after the object */
	AS_IS("~/d", "{\"name\": \"d\", \"resource_type\": \"folder\", "
	      "\"path\": \"/d\"} \r\n\t\n");
	/* a config exactly RH_CONFIG_MAX bytes long is still accepted */
	{
		const char *head = "{\"name\": \"d\", \"resource_type\": "
		                   "\"folder\", \"path\": \"/d\"}";
		char *big = xmalloc(RH_CONFIG_MAX + 2), *out = NULL;
		struct rh_err err;
		size_t outlen;

		memset(big, ' ', RH_CONFIG_MAX + 1);
		memcpy(big, head, strlen(head));
		big[RH_CONFIG_MAX + 1] = '\0';
		CHECK_EQ_INT(rh_config_check("~/d", big, RH_CONFIG_MAX, &out,
		                             &outlen, &err), 0);
		CHECK(out == NULL);
		refused(__LINE__, "~/d", big, RH_CONFIG_MAX + 1, EFBIG,
		        "config.json");
		free(big);
	}
}

static void
test_unknown_fields(void)
{
	const char *json =
		"{\"resource_type\": \"folder\", \"path\": \"/d\", "
		"\"my_extra\": {\"x\": [1, 2.5, null]}, \"tags\": [\"a\"], "
		"\"note\": \"caf\xc3\xa9 \\\"q\\\" \\t\"}";
	char *out;

	/* kept when the config is stored as is ... */
	AS_IS(ADDR, "{\"name\": \"x\", \"resource_type\": \"folder\", "
	      "\"path\": \"/d\", \"my_extra\": {\"x\": [1]}}");
	/* ... and when the name is corrected */
	RENAMED(ADDR, json, ADDR);
	out = ACCEPTED(ADDR, json);
	CHECK_HAS(out, "caf\xc3\xa9");
	free(out);
	/* unknown fields are not held to any type */
	AS_IS(ADDR, "{\"name\": \"x\", \"resource_type\": \"cluster\", "
	      "\"ips\": [\"h\"], \"sky_state\": 5, \"launched_properties\": "
	      "[{\"a\": null}]}");
}

static void
test_names(void)
{
	const char *rest = "\"resource_type\": \"folder\", \"path\": \"/d\"}";
	char json[512];

	/* name absent: added first, as the address */
	RENAMED("~/a/x", "{\"resource_type\": \"folder\", \"path\": \"/d\"}",
	        "~/a/x");
	/* name null: likewise */
	snprintf(json, sizeof(json), "{\"name\": null, %s", rest);
	RENAMED("~/a/x", json, "~/a/x");
	/* name is the address or its last component: stored as is */
	snprintf(json, sizeof(json), "{\"name\": \"~/a/x\", %s", rest);
	AS_IS("~/a/x", json);
	snprintf(json, sizeof(json), "{\"name\": \"x\", %s", rest);
	AS_IS("~/a/x", json);
	snprintf(json, sizeof(json), "{%s\n", "\"resource_type\": \"folder\", "
	         "\"path\": \"/d\", \"name\": \"x\"}");
	AS_IS("~/a/x", json);
	/* another name: corrected */
	snprintf(json, sizeof(json), "{\"name\": \"other\", %s", rest);
	RENAMED("~/a/x", json, "~/a/x");
	snprintf(json, sizeof(json), "{\"name\": \"~/b/x\", %s", rest);
	RENAMED("~/a/x", json, "~/a/x");
	snprintf(json, sizeof(json), "{\"name\": \"a\", %s", rest);
	RENAMED("~/a/x", json, "~/a/x");
	snprintf(json, sizeof(json), "{\"path\": \"/d\", \"name\": \"y\", "
	         "\"resource_type\": \"folder\"}");
	RENAMED("~/a/x", json, "~/a/x");
	/* rns_address follows the address too */
	snprintf(json, sizeof(json), "{\"name\": \"x\", \"rns_address\": "
	         "\"~/old/x\", %s", rest);
	RENAMED("~/a/x", json, "x");
	{
		char *out = ACCEPTED("~/a/x", json), *s;

		CHECK_STR(s = field_of(out, "rns_address"), "~/a/x");
		free(s);
		free(out);
	}
	snprintf(json, sizeof(json), "{\"name\": \"~/a/x\", \"rns_address\": "
	         "\"~/a/x\", %s", rest);
	AS_IS("~/a/x", json);
	snprintf(json, sizeof(json), "{\"name\": \"x\", \"rns_address\": "
	         "null, %s", rest);
	AS_IS("~/a/x", json);
	/* builtins are written without a slash: ^rh-cpu, named rh-cpu */
	snprintf(json, sizeof(json), "{\"name\": \"^rh-cpu\", %s", rest);
	AS_IS("^rh-cpu", json);
	snprintf(json, sizeof(json), "{\"name\": \"rh-cpu\", %s", rest);
	AS_IS("^rh-cpu", json);
	snprintf(json, sizeof(json), "{\"name\": \"^rh-gpu\", %s", rest);
	RENAMED("^rh-cpu", json, "^rh-cpu");
	/* remote addresses */
	snprintf(json, sizeof(json), "{\"name\": \"/alice/x\", %s", rest);
	AS_IS("/alice/x", json);
	snprintf(json, sizeof(json), "{\"name\": \"x\", %s", rest);
	AS_IS("/alice/x", json);
	snprintf(json, sizeof(json), "{\"name\": \"~/x\", %s", rest);
	RENAMED("/alice/x", json, "/alice/x");
}

static void
test_refused_common(void)
{
	static const char *const not_object[] = {
		"[]", "[{\"resource_type\": \"folder\"}]", "42", "-1.5",
		"\"folder\"", "null", "true",
	};
	size_t i;

	/* not JSON */
	REFUSED("", "JSON");
	REFUSED("   \n", "JSON");
	REFUSED("{", "JSON");
	REFUSED("{\"resource_type\": \"folder\", \"path\": }", "JSON");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\",}", "JSON");
	REFUSED("{'resource_type': 'folder'}", "JSON");
	REFUSED("{\"resource_type\": \"folder\" \"path\": \"/d\"}", "JSON");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d", "JSON");
	REFUSED("{\"a\": tru}", "JSON");
	REFUSED("{\n\"resource_type\": \"folder\",\n\"path\": ?\n}", "line 3");
	/* text after the object */
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\"} x", "after");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\"}{}", "after");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\"}\n,",
	        "after");
	/* JSON, but not an object */
	for (i = 0; i < sizeof(not_object) / sizeof(not_object[0]); i++)
		REFUSED(not_object[i], "object");

	/* resource_type */
	REFUSED("{}", "resource_type");
	REFUSED("{\"name\": \"x\", \"path\": \"/d\"}", "resource_type");
	REFUSED("{\"resource_type\": null, \"path\": \"/d\"}",
	        "resource_type");
	REFUSED("{\"resource_type\": 5, \"path\": \"/d\"}", "resource_type");
	REFUSED("{\"resource_type\": [\"folder\"], \"path\": \"/d\"}",
	        "resource_type");
	REFUSED("{\"resource_type\": \"dataset\", \"path\": \"/d\"}",
	        "dataset");
	REFUSED("{\"resource_type\": \"\", \"path\": \"/d\"}",
	        "resource_type");
	REFUSED("{\"resource_type\": \"Folder\", \"path\": \"/d\"}",
	        "Folder");
	REFUSED("{\"Resource_Type\": \"folder\", \"path\": \"/d\"}",
	        "resource_type");

	/* the fields every resource shares */
	REFUSED("{\"name\": 5, \"resource_type\": \"folder\", \"path\": "
	        "\"/d\"}", "'name'");
	REFUSED("{\"name\": [\"x\"], \"resource_type\": \"folder\", "
	        "\"path\": \"/d\"}", "'name'");
	REFUSED("{\"resource_type\": \"folder\", \"resource_subtype\": 1, "
	        "\"path\": \"/d\"}", "resource_subtype");
	REFUSED("{\"resource_type\": \"folder\", \"rns_address\": {}, "
	        "\"path\": \"/d\"}", "rns_address");
	REFUSED("{\"resource_type\": \"folder\", \"visibility\": true, "
	        "\"path\": \"/d\"}", "visibility");
	REFUSED("{\"resource_type\": \"folder\", \"provenance\": \"p\", "
	        "\"path\": \"/d\"}", "provenance");
	REFUSED("{\"resource_type\": \"folder\", \"dryrun\": \"no\", "
	        "\"path\": \"/d\"}", "dryrun");

	/* a NUL byte, anywhere */
	{
		static const char end[] = "{\"resource_type\": \"folder\", "
		                          "\"path\": \"/d\"}";
		static const char mid[] = "{\"resource_type\": \"fol\0der\", "
		                          "\"path\": \"/d\"}";

		/* sizeof: the terminating NUL is part of the bytes */
		refused(__LINE__, ADDR, end, sizeof(end), EINVAL, "NUL");
		refused(__LINE__, ADDR, mid, sizeof(mid) - 1, EINVAL, "NUL");
		refused(__LINE__, ADDR, "\0", 1, EINVAL, "NUL");
		/* the bytes before it are valid */
		free(ACCEPTED(ADDR, end));
	}
	/* bytes past len are not read: a prefix is judged on its own */
	refused(__LINE__, ADDR, "{\"resource_type\": \"folder\", \"path\": "
	        "\"/d\"}", 20, EINVAL, "JSON");
}

/* A SlurmCluster with the given fields after its login node. */
#define SLURM(rest) \
	"{\"name\": \"x\", \"resource_type\": \"cluster\", " \
	"\"resource_subtype\": \"SlurmCluster\", \"ips\": " \
	"[\"login.example\"]" rest "}"

static void
test_slurm(void)
{
	/* the minimal one, and a full one */
	AS_IS(ADDR, "{\"name\": \"x\", \"resource_type\": \"cluster\", "
	      "\"resource_subtype\": \"SlurmCluster\", \"ips\": [\"h\"]}");
	AS_IS(ADDR, "{\"name\": \"x\", \"resource_type\": \"cluster\", "
	      "\"resource_subtype\": \"SlurmCluster\", \"ips\": [\"login\"], "
	      "\"ssh_creds\": {\"ssh_user\": \"me\"}, \"partition\": \"gpu\", "
	      "\"slurm\": {\"nodes\": 2, \"cpus_per_task\": 8, \"gpus\": "
	      "\"a100:2\", \"mem\": \"64G\", \"time\": \"1:00:00\", "
	      "\"account\": \"proj-1\", \"qos\": \"normal\", \"sbatch_args\": "
	      "[\"--exclusive\", \"--constraint=ib\"]}}");
	/* each field's forms */
	AS_IS(ADDR, SLURM(", \"slurm\": {\"gpus\": 4}"));
	AS_IS(ADDR, SLURM(", \"slurm\": {\"gpus\": \"2\"}"));
	AS_IS(ADDR, SLURM(", \"partition\": null, \"slurm\": {\"gres\": "
	      "\"gpu:a100:2,nic:1\"}"));
	AS_IS(ADDR, SLURM(", \"slurm\": {\"gres\": \"gpu\"}"));
	{
		static const char *const times[] = {
			"30", "30:00", "1:00:00", "2-0", "2-12:30",
			"2-12:30:00", "UNLIMITED",
		};
		static const char *const mems[] = {
			"4096", "4G", "512M", "1t", "100k",
		};
		char buf[300];
		size_t i;

		for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
			snprintf(buf, sizeof(buf),
			         SLURM(", \"slurm\": {\"time\": \"%s\"}"),
			         times[i]);
			AS_IS(ADDR, buf);
		}
		for (i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
			snprintf(buf, sizeof(buf),
			         SLURM(", \"slurm\": {\"mem\": \"%s\"}"),
			         mems[i]);
			AS_IS(ADDR, buf);
		}
	}
	/* null is unset */
	AS_IS(ADDR, SLURM(", \"slurm\": {\"nodes\": null, \"gpus\": null, "
	      "\"gres\": \"gpu:1\"}"));

	/* the login node */
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"SlurmCluster\"}", "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"SlurmCluster\", \"ips\": [\"a\", \"b\"]}", "login node");
	REFUSED(SLURM(", \"instance_type\": \"CPU:2\""), "'instance_type'");
	/* partition */
	REFUSED(SLURM(", \"partition\": 3"), "'partition'");
	REFUSED(SLURM(", \"partition\": \"\""), "'partition'");
	REFUSED(SLURM(", \"partition\": \"a b\""), "'partition'");
	/* the slurm object */
	REFUSED(SLURM(", \"slurm\": [1]"), "'slurm'");
	REFUSED(SLURM(", \"slurm\": \"nodes=2\""), "'slurm'");
	REFUSED(SLURM(", \"slurm\": {\"node\": 2}"), "unknown field 'node'");
	REFUSED(SLURM(", \"slurm\": {\"ntasks\": 2}"), "'ntasks'");
	REFUSED(SLURM(", \"slurm\": {\"nodes\": 0}"), "'nodes'");
	REFUSED(SLURM(", \"slurm\": {\"nodes\": -1}"), "'nodes'");
	REFUSED(SLURM(", \"slurm\": {\"nodes\": 1.5}"), "'nodes'");
	REFUSED(SLURM(", \"slurm\": {\"nodes\": \"2\"}"), "'nodes'");
	REFUSED(SLURM(", \"slurm\": {\"nodes\": 1e300}"), "'nodes'");
	REFUSED(SLURM(", \"slurm\": {\"cpus_per_task\": 0}"),
	        "'cpus_per_task'");
	REFUSED(SLURM(", \"slurm\": {\"cpus_per_task\": true}"),
	        "'cpus_per_task'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": 0}"), "'gpus'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": \"\"}"), "'gpus'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": \"a100\"}"), "'gpus'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": \"a100:\"}"), "'gpus'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": \"a100:0\"}"), "'gpus'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": \"a 100:2\"}"), "'gpus'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": \"2 --wrap=x\"}"), "'gpus'");
	REFUSED(SLURM(", \"slurm\": {\"gres\": \"\"}"), "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"gres\": 2}"), "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"gres\": \"gpu:\"}"), "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"gres\": \"gpu,\"}"), "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"gres\": \"2\"}"), "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"gres\": \"gpu:a:b:2\"}"), "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"gres\": \"gpu 2\"}"), "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"gpus\": 1, \"gres\": \"gpu:1\"}"),
	        "'gres'");
	REFUSED(SLURM(", \"slurm\": {\"mem\": 4096}"), "'mem'");
	REFUSED(SLURM(", \"slurm\": {\"mem\": \"4GB\"}"), "'mem'");
	REFUSED(SLURM(", \"slurm\": {\"mem\": \"G\"}"), "'mem'");
	REFUSED(SLURM(", \"slurm\": {\"mem\": \"0\"}"), "'mem'");
	REFUSED(SLURM(", \"slurm\": {\"mem\": \"-4G\"}"), "'mem'");
	REFUSED(SLURM(", \"slurm\": {\"time\": 30}"), "'time'");
	REFUSED(SLURM(", \"slurm\": {\"time\": \"\"}"), "'time'");
	REFUSED(SLURM(", \"slurm\": {\"time\": \"1h\"}"), "'time'");
	REFUSED(SLURM(", \"slurm\": {\"time\": \"1:2:3:4\"}"), "'time'");
	REFUSED(SLURM(", \"slurm\": {\"time\": \"1::00\"}"), "'time'");
	REFUSED(SLURM(", \"slurm\": {\"time\": \"-1\"}"), "'time'");
	REFUSED(SLURM(", \"slurm\": {\"time\": \"1-2-3\"}"), "'time'");
	REFUSED(SLURM(", \"slurm\": {\"account\": \"\"}"), "'account'");
	REFUSED(SLURM(", \"slurm\": {\"account\": \"a b\"}"), "'account'");
	REFUSED(SLURM(", \"slurm\": {\"qos\": 1}"), "'qos'");
	REFUSED(SLURM(", \"slurm\": {\"qos\": \"hi\\nthere\"}"), "'qos'");
	REFUSED(SLURM(", \"slurm\": {\"sbatch_args\": \"--exclusive\"}"),
	        "'sbatch_args'");
	REFUSED(SLURM(", \"slurm\": {\"sbatch_args\": [\"-N2\"]}"),
	        "'sbatch_args'");
	REFUSED(SLURM(", \"slurm\": {\"sbatch_args\": [\"script.sh\"]}"),
	        "'sbatch_args'");
	REFUSED(SLURM(", \"slurm\": {\"sbatch_args\": [\"--\"]}"),
	        "'sbatch_args'");
	REFUSED(SLURM(", \"slurm\": {\"sbatch_args\": [\"--=x\"]}"),
	        "'sbatch_args'");
	REFUSED(SLURM(", \"slurm\": {\"sbatch_args\": [\"--x\", 2]}"),
	        "'sbatch_args'");
	REFUSED(SLURM(", \"slurm\": {\"sbatch_args\": "
	              "[\"--comment=a\\nb\"]}"), "'sbatch_args'");
	/* the Slurm fields on other clusters would be ignored: refused */
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"partition\": \"gpu\"}", "'partition'");
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"Cluster\", \"ips\": [\"h\"], \"slurm\": {\"nodes\": 2}}",
	        "'slurm'");
	REFUSED("{\"resource_type\": \"cluster\", \"instance_type\": "
	        "\"CPU:2\", \"slurm\": {}}", "SlurmCluster");
}

static void
test_refused_cluster(void)
{
	/* default_env: an env's address, its name, or an env config */
	AS_IS(ADDR, "{\"name\": \"x\", \"resource_type\": \"cluster\", "
	      "\"ips\": [\"h\"], \"default_env\": \"~/e\"}");
	AS_IS(ADDR, "{\"name\": \"x\", \"resource_type\": \"cluster\", "
	      "\"ips\": [\"h\"], \"default_env\": {\"reqs\": [\"a==1\"]}}");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"default_env\": 7}", "'default_env'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"default_env\": \"~/\"}", "'default_env'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"default_env\": {\"reqs\": 3}}", "'reqs'");
	/* wrong types */
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": 3}", "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": \"10.0.0.1\"}",
	        "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [1]}", "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"a\", null]}",
	        "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"\"]}", "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_port\": 70000}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_port\": 65536}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_port\": 0}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_port\": -22}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_port\": \"22\"}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_port\": 22.5}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"server_port\": 1e9}", "'server_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"use_spot\": \"yes\"}",
	        "'use_spot'");
	REFUSED("{\"resource_type\": \"cluster\", \"use_spot\": 1}",
	        "'use_spot'");
	REFUSED("{\"resource_type\": \"cluster\", \"den_auth\": \"false\"}",
	        "'den_auth'");
	REFUSED("{\"resource_type\": \"cluster\", \"instance_type\": 4}",
	        "'instance_type'");
	REFUSED("{\"resource_type\": \"cluster\", \"provider\": [\"aws\"]}",
	        "'provider'");
	REFUSED("{\"resource_type\": \"cluster\", \"autostop_mins\": 1.5}",
	        "'autostop_mins'");
	REFUSED("{\"resource_type\": \"cluster\", \"autostop_mins\": \"60\"}",
	        "'autostop_mins'");
	REFUSED("{\"resource_type\": \"cluster\", \"num_instances\": \"2\"}",
	        "'num_instances'");
	/* numbers too large for any integer type are still just refused */
	REFUSED("{\"resource_type\": \"cluster\", \"num_instances\": 1e300}",
	        "'num_instances'");
	REFUSED("{\"resource_type\": \"cluster\", \"num_instances\": 1e999}",
	        "'num_instances'");
	REFUSED("{\"resource_type\": \"cluster\", \"autostop_mins\": -1e30}",
	        "'autostop_mins'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_port\": 1e300}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"region\": false}",
	        "'region'");
	REFUSED("{\"resource_type\": \"cluster\", \"image_id\": 7}",
	        "'image_id'");
	REFUSED("{\"resource_type\": \"cluster\", \"domain\": {}}",
	        "'domain'");
	/* ssh_creds and its fields */
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_creds\": 5}", "'ssh_creds'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_creds\": [\"u\"]}", "'ssh_creds'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_creds\": {\"ssh_user\": 5}}", "'ssh_user'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_creds\": {\"ssh_user\": 5}}", "ssh_creds");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_creds\": {\"ssh_private_key\": true}}",
	        "'ssh_private_key'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_creds\": {\"ssh_port\": 70000}}", "'ssh_port'");
	REFUSED("{\"resource_type\": \"cluster\", \"ips\": [\"h\"], "
	        "\"ssh_creds\": {\"ssh_port\": \"22\"}}", "'ssh_port'");
	/* a BYO cluster needs its ips */
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"Cluster\"}", "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"Cluster\", \"ips\": []}", "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"Cluster\", \"ips\": null}", "'ips'");
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"Cluster\", \"ssh_creds\": {\"ssh_user\": \"u\"}}", "'ips'");
}

static void
test_refused_send(void)
{
	/* hardware */
	REFUSED("{\"resource_type\": \"send\", \"command\": [\"ls\"]}",
	        "'hardware'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": null, "
	        "\"command\": [\"ls\"]}", "'hardware'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": 5, "
	        "\"command\": [\"ls\"]}", "'hardware'");
	REFUSED("{\"resource_type\": \"function\", \"system\": [\"c\"], "
	        "\"command\": [\"ls\"]}", "'system'");
	/* what it runs: exactly one of fn_pointers and command */
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\"}",
	        "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": null, \"command\": null}", "'command'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"p\", \"m\", \"f\"], \"command\": "
	        "[\"ls\"]}", "not both");
	REFUSED("{\"resource_type\": \"function\", \"hardware\": \"~/c\"}",
	        "'fn_pointers'");
	/* fn_pointers of the wrong shape */
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": \"m.f\"}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": {\"m\": \"f\"}}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": []}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"m\", \"f\"]}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"p\", \"m\", \"f\", \"x\"]}",
	        "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [1, \"m\", \"f\"]}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"p\", 1, \"f\"]}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"p\", \"m\", null]}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"p\", null, \"f\"]}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"p\", \"\", \"f\"]}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [\"p\", \"m\", \"\"]}", "'fn_pointers'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"fn_pointers\": [[\"p\"], \"m\", \"f\"]}", "'fn_pointers'");
	/* command */
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": []}", "'command'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": \"ls -l\"}", "'command'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\", 1]}", "'command'");
	/* the other fields */
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"setup_cmds\": \"true\"}",
	        "'setup_cmds'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"setup_cmds\": [1]}", "'setup_cmds'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"reqs\": \"./\"}", "'reqs'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"env\": 1}", "'env'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"secrets\": [{}]}", "'secrets'");
}

/* env: Runhouse's rh.env config, stored or inline in a send */
static void
test_env(void)
{
	AS_IS("~/e", "{\"name\": \"e\", \"resource_type\": \"env\", "
	      "\"resource_subtype\": \"Env\", \"reqs\": [\"./\", "
	      "\"torch==2.1\"], \"setup_cmds\": [\"true\"], \"env_vars\": "
	      "{\"A\": \"1\"}, \"working_dir\": \"./\", "
	      "\"system_site_packages\": true, \"secrets\": [], "
	      "\"compute\": {}, \"env_name\": \"e\"}");
	AS_IS("~/s", "{\"name\": \"s\", \"resource_type\": \"send\", "
	      "\"hardware\": \"^local\", \"command\": [\"ls\"], "
	      "\"env\": \"~/e\"}");
	AS_IS("~/s", "{\"name\": \"s\", \"resource_type\": \"send\", "
	      "\"hardware\": \"^local\", \"command\": [\"ls\"], "
	      "\"env\": \"myenv\"}");
	AS_IS("~/s", "{\"name\": \"s\", \"resource_type\": \"send\", "
	      "\"hardware\": \"^local\", \"command\": [\"ls\"], "
	      "\"env\": {\"reqs\": [\"x\"], \"name\": \"inl\"}}");
	REFUSED("{\"resource_type\": \"env\", \"packages\": []}",
	        "unknown field 'packages'");
	REFUSED("{\"resource_type\": \"env\", \"reqs\": \"x\"}", "'reqs'");
	REFUSED("{\"resource_type\": \"env\", \"reqs\": [\"\"]}", "'reqs'");
	REFUSED("{\"resource_type\": \"env\", \"env_vars\": [\"A=1\"]}",
	        "'env_vars'");
	REFUSED("{\"resource_type\": \"env\", \"env_vars\": {\"A\": 1}}",
	        "variable 'A'");
	REFUSED("{\"resource_type\": \"env\", \"env_vars\": {\"A=B\": "
	        "\"1\"}}", "variable 'A=B'");
	REFUSED("{\"resource_type\": \"env\", \"working_dir\": \"\"}",
	        "'working_dir'");
	REFUSED("{\"resource_type\": \"env\", \"system_site_packages\": 1}",
	        "'system_site_packages'");
	REFUSED("{\"resource_type\": \"env\", \"resource_subtype\": "
	        "\"CondaEnv\", \"conda_yaml\": {}}", "conda");
	REFUSED("{\"resource_type\": \"env\", \"conda_env\": \"x\"}",
	        "conda");
	REFUSED("{\"resource_type\": \"env\", \"secrets\": [\"aws\"]}",
	        "'secrets'");
	/* a send's env: a bad inline one, a bad address */
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"env\": {\"reqs\": \"x\"}}",
	        "field 'env': field 'reqs'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"env\": {\"resource_type\": "
	        "\"send\"}}", "field 'env'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"env\": \"a b/../c\"}",
	        "field 'env'");
	REFUSED("{\"resource_type\": \"send\", \"hardware\": \"~/c\", "
	        "\"command\": [\"ls\"], \"env\": \"~/\"}", "field 'env'");
}

static void
test_refused_data(void)
{
	static const char *const types[] = { "folder", "blob", "table" };
	char json[256];
	size_t i;

	for (i = 0; i < 3; i++) {
		/* a folder without either is a marker (test_data) */
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\"}",
		         types[i]);
		if (i > 0)
			REFUSED(json, "'path'");
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\", "
		         "\"fs\": \"file\"}", types[i]);
		REFUSED(json, "'path'");
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\", "
		         "\"path\": null}", types[i]);
		if (i > 0)
			REFUSED(json, "'path'");
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\", "
		         "\"path\": 5}", types[i]);
		REFUSED(json, "'path'");
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\", "
		         "\"path\": [\"/d\"]}", types[i]);
		REFUSED(json, "'path'");
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\", "
		         "\"path\": \"/d\", \"fs\": 5}", types[i]);
		REFUSED(json, "'fs'");
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\", "
		         "\"path\": \"/d\", \"system\": true}", types[i]);
		REFUSED(json, "'system'");
		snprintf(json, sizeof(json), "{\"resource_type\": \"%s\", "
		         "\"path\": \"/d\", \"data_config\": []}", types[i]);
		REFUSED(json, "'data_config'");
	}
	REFUSED("{\"resource_type\": \"table\", \"path\": \"/d\", "
	        "\"partition_cols\": \"year\"}", "'partition_cols'");
	REFUSED("{\"resource_type\": \"table\", \"path\": \"/d\", "
	        "\"partition_cols\": [2024]}", "'partition_cols'");
	/* the message says which type needs it */
	REFUSED("{\"resource_type\": \"blob\"}", "blob");
	/* a folder marker is only a folder with neither system nor path */
	REFUSED("{\"resource_type\": \"folder\", \"system\": \"~/c\"}",
	        "'path'");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"\"}", "'path'");
	REFUSED("{\"resource_type\": \"table\", \"url\": 5}", "'url'");
	/* two spellings that disagree */
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/a\", "
	        "\"url\": \"/b\"}", "'url'");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/a\", "
	        "\"system\": \"file\", \"fs\": \"s3\"}", "'fs'");
	/* systems */
	REFUSED("{\"resource_type\": \"blob\", \"path\": \"/a\", "
	        "\"system\": \"gs\"}", "unknown system 'gs'");
	REFUSED("{\"resource_type\": \"blob\", \"path\": \"/a\", "
	        "\"system\": \"\"}", "unknown system");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/\", "
	        "\"system\": \"s3\"}", "bucket");
	REFUSED("{\"resource_type\": \"folder\", \"url\": \"s3://\", "
	        "\"system\": \"s3\"}", "bucket");
	/* data_config: store options, never credentials */
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"b/p\", "
	        "\"system\": \"s3\", \"data_config\": {\"region\": 1}}",
	        "'region'");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"b/p\", "
	        "\"system\": \"s3\", \"data_config\": {\"endpoint_url\": "
	        "[]}}", "'endpoint_url'");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"b/p\", "
	        "\"system\": \"s3\", \"data_config\": "
	        "{\"aws_secret_access_key\": \"sekrit\"}}", "credentials");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\", "
	        "\"data_config\": {\"Token\": \"t\"}}", "'Token'");
	{
		struct rh_err err = { "" };
		char *out = NULL;
		size_t outlen;
		const char *j = "{\"resource_type\": \"folder\", \"path\": "
		                "\"b/p\", \"fs\": \"s3\", \"data_config\": "
		                "{\"aws_access_key_id\": \"AKIAVALUE\"}}";

		CHECK(rh_config_check(ADDR, j, strlen(j), &out, &outlen,
		                      &err) == -EINVAL);
		/* the key is named, its value never */
		CHECK(strstr(err.msg, "AKIAVALUE") == NULL);
		CHECK(strstr(err.msg, "aws_access_key_id") != NULL);
	}
}

/* Where a data resource's bytes live, as the store layer reads it. */
static void
locate(int line, const char *json, enum rh_data_kind kind,
       const char *path, const char *cluster)
{
	cJSON *c = cJSON_Parse(json);
	struct rh_data_loc loc;
	struct rh_err err = { "" };

	unit_check_int(rh_data_locate(c, ADDR, &loc, &err), 0, __FILE__,
	               line, "located");
	unit_check_int(loc.kind, kind, __FILE__, line, "kind");
	unit_check(path == NULL ? loc.path == NULL :
	           loc.path != NULL && strcmp(loc.path, path) == 0,
	           __FILE__, line, "path");
	unit_check(cluster == NULL ? loc.cluster == NULL :
	           loc.cluster != NULL && strcmp(loc.cluster, cluster) == 0,
	           __FILE__, line, "cluster");
	cJSON_Delete(c);
}

static void
test_data(void)
{
	/* Runhouse's folder marker, byte for byte */
	AS_IS("/builtins", "{\"resource_type\": \"folder\", \"name\": "
	      "\"builtins\", \"rns_address\": \"/builtins\"}");
	AS_IS("~/f", "{\"resource_type\": \"folder\", \"name\": \"f\", "
	      "\"system\": null, \"path\": null}");
	/* each system, each spelling */
	AS_IS("~/d", "{\"name\": \"d\", \"resource_type\": \"folder\", "
	      "\"system\": \"file\", \"path\": \"data/d\"}");
	AS_IS("~/d", "{\"name\": \"d\", \"resource_type\": \"folder\", "
	      "\"fs\": \"s3\", \"url\": \"s3://bucket/p\", \"data_config\": "
	      "{\"endpoint_url\": \"http://127.0.0.1:9000\", \"region\": "
	      "\"us-east-1\", \"addressing_style\": \"path\"}}");
	AS_IS("~/d", "{\"name\": \"d\", \"resource_type\": \"blob\", "
	      "\"system\": \"~/box\", \"path\": \"ckpt/m.pt\"}");
	AS_IS("~/d", "{\"name\": \"d\", \"resource_type\": \"table\", "
	      "\"system\": \"@/gpu\", \"path\": \"t\", \"partition_cols\": "
	      "[\"year\", \"month\"]}");
	AS_IS("~/d", "{\"name\": \"d\", \"resource_type\": \"folder\", "
	      "\"system\": {\"resource_type\": \"cluster\", \"ips\": "
	      "[\"h\"]}, \"path\": \"x\"}");
	AS_IS("~/d", "{\"name\": \"d\", \"resource_type\": \"folder\", "
	      "\"system\": \"^local\", \"fs\": \"^local\", \"path\": "
	      "\"x\", \"url\": \"x\"}");

	locate(__LINE__, "{\"resource_type\": \"folder\", \"name\": \"b\"}",
	       RH_DATA_NONE, NULL, NULL);
	locate(__LINE__, "{\"resource_type\": \"folder\", \"path\": \"/d\"}",
	       RH_DATA_FILE, "/d", NULL);
	locate(__LINE__, "{\"resource_type\": \"blob\", \"url\": \"b.bin\", "
	       "\"fs\": \"file\"}", RH_DATA_FILE, "b.bin", NULL);
	locate(__LINE__, "{\"resource_type\": \"table\", \"path\": \"b/t\", "
	       "\"system\": \"s3\"}", RH_DATA_S3, "b/t", NULL);
	locate(__LINE__, "{\"resource_type\": \"folder\", \"path\": \"d\", "
	       "\"fs\": \"~/box\"}", RH_DATA_CLUSTER, "d", "~/box");
	locate(__LINE__, "{\"resource_type\": \"folder\", \"path\": \"d\", "
	       "\"system\": {\"resource_type\": \"cluster\"}}",
	       RH_DATA_CLUSTER, "d", NULL);
}

static void
test_refused_secret(void)
{
	static const char *const bad_fields[] = {
		"config.json", "a/b", "", ".", "..", "k\n", "k\x01",
	};
	char json[256];
	size_t i;

	REFUSED("{\"resource_type\": \"secret\", \"values\": {\"k\": \"v\"}}",
	        "'values'");
	REFUSED("{\"resource_type\": \"secret\", \"values\": null}",
	        "'values'");
	REFUSED("{\"resource_type\": \"secret\", \"values\": {}}", "'values'");
	REFUSED("{\"resource_type\": \"secret\", \"provider\": 1}",
	        "'provider'");
	REFUSED("{\"resource_type\": \"secret\", \"fields\": \"k\"}",
	        "'fields'");
	REFUSED("{\"resource_type\": \"secret\", \"fields\": [1]}",
	        "'fields'");
	REFUSED("{\"resource_type\": \"secret\", \"env_vars\": [\"K\"]}",
	        "'env_vars'");
	REFUSED("{\"resource_type\": \"secret\", \"path\": 5}", "'path'");
	for (i = 0; i < sizeof(bad_fields) / sizeof(bad_fields[0]); i++) {
		/* the field name, JSON-escaped */
		cJSON *s = cJSON_CreateString(bad_fields[i]);
		char *k = cJSON_PrintUnformatted(s);

		snprintf(json, sizeof(json), "{\"resource_type\": \"secret\", "
		         "\"fields\": [\"ok\", %s]}", k);
		REFUSED(json, "secret field");
		cJSON_free(k);
		cJSON_Delete(s);
	}
	/* a field's value in config.json, which is stored in plain text */
	REFUSED("{\"provider\": \"aws\", \"resource_type\": \"secret\", "
	        "\"fields\": [\"access_key\"], \"access_key\": \"AKIA\"}",
	        "must not hold the value of field 'access_key'");
	REFUSED("{\"resource_type\": \"secret\", \"fields\": [\"a\", \"b\"], "
	        "\"b\": null}", "value of field 'b'");
	REFUSED("{\"resource_type\": \"secret\", \"fields\": [\"k\"], "
	        "\"k\": {\"v\": 1}}", "value of field 'k'");
	/* a field named like one of the config's own keys is no value */
	free(ACCEPTED(ADDR, "{\"resource_type\": \"secret\", \"provider\": "
	              "\"p\", \"path\": \"/x\", \"fields\": [\"path\", "
	              "\"provider\", \"k\"]}"));
	/* the message names the bad field */
	REFUSED("{\"resource_type\": \"secret\", \"fields\": [\"a/b\"]}",
	        "'a/b'");
	REFUSED("{\"resource_type\": \"secret\", \"fields\": "
	        "[\"config.json\"]}", "'config.json'");
}

static void
readdressed(int line, const char *json, const char *addr, const char *name,
            const char *rns)
{
	static char unset[] = "unset";
	char *out = unset, *s;
	size_t outlen = 99;
	int r = rh_config_readdress(json, strlen(json), addr, &out, &outlen);

	unit_check_int(r, 0, __FILE__, line, "readdressed");
	if (name == NULL) {
		unit_check(out == NULL && outlen == 0, __FILE__, line,
		           "unchanged");
		return;
	}
	if (!unit_check(out != NULL && outlen == strlen(out), __FILE__, line,
	                "rewritten"))
		return;
	unit_check_str(s = field_of(out, "name"), name, __FILE__, line,
	               "name");
	free(s);
	unit_check_str(s = first_key(out), "name", __FILE__, line,
	               "name first");
	free(s);
	unit_check_str(s = field_of(out, "rns_address"), rns, __FILE__, line,
	               "rns_address");
	free(s);
	unit_check_has(out, "\"path\": \"/d\"", __FILE__, line,
	               "other fields kept");
	/* and it is what rh_config_check stores as is at addr */
	s = accepted(line, addr, out);
	unit_check(s == NULL, __FILE__, line, "valid at the new address");
	free(s);
	free(out);
}

#define READDRESSED(json, addr, name, rns) \
	readdressed(__LINE__, (json), (addr), (name), (rns))

/* JSON that Python's json (Runhouse) reads differently or not at all is
 * refused, naming the field; a config rhfs rewrites keeps every number's
 * text. */
static void
test_strict_json(void)
{
	char *out;

	/* Python keeps the last resource_type, cJSON finds the first */
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\", "
	        "\"resource_type\": \"send\"}",
	        "key 'resource_type' appears twice");
	REFUSED("{\"resource_type\": \"cluster\", \"resource_subtype\": "
	        "\"Cluster\", \"ips\": [\"h\"], \"ssh_creds\": {\"ssh_user\": "
	        "\"u\", \"ssh_user\": \"v\"}}", "'ssh_creds': key 'ssh_user'");
	REFUSED("{\"resource_type\": \"send\", \"command\": "
	        "[\"\\u0000rm\"]}", "'command[0]': a string holds \\u0000");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\xff\"}",
	        "'path': a string is not valid UTF-8");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/d\", "
	        "\"dryrun\": null, \"provenance\": {\"n\": 1e999}}",
	        "'provenance.n': the number 1e999 is out of range");
	REFUSED("{\"resource_type\": \"folder\", \"path\": \"/a\tb\"}",
	        "'path': a raw control character");
	REFUSED("\x0b{\"resource_type\": \"folder\", \"path\": \"/d\"}",
	        "byte 0x0b");

	/* rewritten for its new name: the numbers as they were written */
	out = ACCEPTED(ADDR, "{\"name\": \"old\", \"resource_type\": "
	               "\"folder\", \"path\": \"/d\", \"provenance\": "
	               "{\"big\": 9007199254740993, \"f\": 1.0, "
	               "\"e\": 1e2, \"tiny\": 5e-324}}");
	CHECK(out != NULL);
	CHECK_HAS(out, "\"big\": 9007199254740993,");
	CHECK_HAS(out, "\"f\": 1.0,");
	CHECK_HAS(out, "\"e\": 1e2,");
	CHECK_HAS(out, "\"tiny\": 5e-324\n");
	free(out);
}

static void
test_readdress(void)
{
	static char unset[] = "unset";
	char *out;
	size_t outlen;

	READDRESSED("{\"name\": \"~/a\", \"resource_type\": \"folder\", "
	            "\"path\": \"/d\"}", "~/b", "~/b", NULL);
	READDRESSED("{\"name\": \"~/a\", \"resource_type\": \"folder\", "
	            "\"path\": \"/d\"}", "~/dir/sub/b", "~/dir/sub/b", NULL);
	READDRESSED("{\"name\": \"~/old/a\", \"rns_address\": \"~/old/a\", "
	            "\"resource_type\": \"folder\", \"path\": \"/d\"}",
	            "~/new/a", "~/new/a", "~/new/a");
	/* a basename-style name stays basename-style */
	READDRESSED("{\"name\": \"a\", \"resource_type\": \"folder\", "
	            "\"path\": \"/d\"}", "~/b", "b", NULL);
	READDRESSED("{\"name\": \"a\", \"resource_type\": \"folder\", "
	            "\"path\": \"/d\"}", "~/x/y/b", "b", NULL);
	READDRESSED("{\"name\": \"a\", \"rns_address\": \"~/a\", "
	            "\"resource_type\": \"folder\", \"path\": \"/d\"}",
	            "~/x/b", "b", "~/x/b");
	/* a move that keeps the last component: a basename needs nothing */
	READDRESSED("{\"name\": \"a\", \"resource_type\": \"folder\", "
	            "\"path\": \"/d\"}", "~/x/a", NULL, NULL);
	READDRESSED("{\"name\": \"~/x/a\", \"resource_type\": \"folder\", "
	            "\"path\": \"/d\"}", "~/x/a", NULL, NULL);
	/* no name: the address */
	READDRESSED("{\"resource_type\": \"folder\", \"path\": \"/d\"}",
	            "~/b", "~/b", NULL);
	/* not an object: refused, nothing made */
	out = unset;
	CHECK_EQ_INT(rh_config_readdress("[1]", 3, "~/b", &out, &outlen),
	             -EINVAL);
	CHECK(out == NULL);
	CHECK_EQ_INT(rh_config_readdress("{", 1, "~/b", &out, &outlen),
	             -EINVAL);
	CHECK(out == NULL);
	CHECK_EQ_INT(rh_config_readdress("", 0, "~/b", &out, &outlen),
	             -EINVAL);
}

static void
test_complete(void)
{
	/* more may follow */
	CHECK_EQ_INT(rh_config_complete("", 0), 0);
	CHECK_EQ_INT(rh_config_complete("  ", 2), 0);
	CHECK_EQ_INT(rh_config_complete(" \n\t\r", 4), 0);
	CHECK_EQ_INT(rh_config_complete("{", 1), 0);
	CHECK_EQ_INT(rh_config_complete("  {\n", 4), 0);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"}\"", 9), 0);
	CHECK_EQ_INT(rh_config_complete("{\"a\": [1,", 9), 0);
	CHECK_EQ_INT(rh_config_complete("{\"a\": {\"b\": 1}", 14), 0);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"\\\"}\"", 11), 0);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"\\\\\"", 10), 0);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"x\\", 9), 0);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"[{\"", 10), 0);
	/* complete: judge it now */
	CHECK_EQ_INT(rh_config_complete("{}", 2), 1);
	CHECK_EQ_INT(rh_config_complete("{\"a\":1}\n", 8), 1);
	CHECK_EQ_INT(rh_config_complete("  {\"a\": [1, {}]}", 16), 1);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"}\"}", 10), 1);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"\\\"}\"}", 12), 1);
	CHECK_EQ_INT(rh_config_complete("{\"a\": \"\\\\\"}", 11), 1);
	CHECK_EQ_INT(rh_config_complete("{\"a\": {\"b\": 1}}", 15), 1);
	CHECK_EQ_INT(rh_config_complete("{} trailing", 11), 1);
	/* only len bytes count */
	CHECK_EQ_INT(rh_config_complete("{}", 1), 0);
	/* never an object: judged at once */
	CHECK_EQ_INT(rh_config_complete("[1]", 3), 1);
	CHECK_EQ_INT(rh_config_complete("[", 1), 1);
	CHECK_EQ_INT(rh_config_complete("bad", 3), 1);
	CHECK_EQ_INT(rh_config_complete("42", 2), 1);
	CHECK_EQ_INT(rh_config_complete("\"s", 2), 1);
	CHECK_EQ_INT(rh_config_complete("  x", 3), 1);
	CHECK_EQ_INT(rh_config_complete("\0", 1), 1);
	CHECK_EQ_INT(rh_config_complete(" \0{", 3), 1);
}

static void
test_types(void)
{
	static const char *const names[] = {
		"cluster", "send", "function", "folder", "blob", "table",
		"secret", "env",
	};
	static const char *const subtypes[] = {
		"Cluster", "Send", "Function", "Folder", "Blob", "Table",
		"Secret", "Env",
	};
	const struct rh_type *t;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		t = rh_type_find(names[i]);
		if (CHECK(t != NULL)) {
			CHECK_STR(t->name, names[i]);
			CHECK_STR(t->subtype, subtypes[i]);
			CHECK(t->validate != NULL);
		}
	}
	CHECK(rh_type_find("") == NULL);
	CHECK(rh_type_find("Cluster") == NULL);
	CHECK(rh_type_find("dataset") == NULL);
}

int
main(void)
{
	test_types();
	test_valid();
	test_unknown_fields();
	test_names();
	test_refused_common();
	test_refused_cluster();
	test_slurm();
	test_refused_send();
	test_env();
	test_refused_data();
	test_data();
	test_refused_secret();
	test_readdress();
	test_strict_json();
	test_complete();
	return unit_done();
}

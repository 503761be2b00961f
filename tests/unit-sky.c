/* unit-sky.c - the SkyPilot command line's pieces (sky.c): a cluster's
 * SkyPilot name, the `sky launch` arguments from a config and
 * config.yaml's defaults (the cloud and region as --infra, or as --cloud
 * and --region), `sky launch --help` read for --infra, bad values refused, the `sky status` table read,
 * SkyPilot's generated SSH config made a BYO cluster's config, and sky run
 * (a stand-in script on PATH: its output, its exit status, its timeout,
 * and sky missing). The real SkyPilot is not run. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "link.h"
#include "unit.h"

static char *dir;

/* The launch arguments of a config (JSON text), as one line. */
static char *
launch_as(const char *addr, const char *cfg,
          const struct rh_config *defaults, int infra, int *r,
          struct rh_err *err)
{
	cJSON *c = cJSON_Parse(cfg), *args = NULL;
	char *s = NULL;

	*r = rh_sky_launch_args(addr, c, defaults, infra, &args, err);
	if (*r == 0)
		s = rh_sky_command(args);
	cJSON_Delete(args);
	cJSON_Delete(c);
	return s;
}

/* ... for a SkyPilot before --infra. */
static char *
launch(const char *addr, const char *cfg, const struct rh_config *defaults,
       int *r, struct rh_err *err)
{
	return launch_as(addr, cfg, defaults, 0, r, err);
}

static void
test_name(void)
{
	char *a = rh_sky_name("~/gpu"), *b = rh_sky_name("~/gpu");
	char *c = rh_sky_name("^rh-cpu"), *d = rh_sky_name("~/rh-cpu");
	char *e = rh_sky_name("~/A_very/LONG/address/with/many/parts/x");
	char *f = rh_sky_name("~/9");

	CHECK_STR(a, "rh-gpu-fb8f15a4");
	CHECK_STR(a, b);        /* stable */
	CHECK_STR(c, "rh-rh-cpu-98ddb9e2");
	CHECK(strcmp(c, d) != 0);       /* same letters, other address */
	CHECK(strlen(e) <= 35);
	CHECK(strncmp(e, "rh-a-very-long-address-", 23) == 0);
	CHECK(strncmp(f, "rh-9-", 5) == 0);
	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(f);
}

static void
test_launch(void)
{
	struct rh_config *defaults;
	struct rh_err err;
	char *s, path[4096];
	int r;

	s = launch("~/gpu", "{\"instance_type\": \"A100:4\", \"num_instances\": "
	           "2, \"provider\": \"aws\", \"region\": \"us-east-1\", "
	           "\"use_spot\": true, \"image_id\": \"ami-0123\", "
	           "\"autostop_mins\": 30}", NULL, &r, &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --gpus A100:4 "
	          "--num-nodes 2 --cloud aws --region us-east-1 --use-spot "
	          "--image-id ami-0123 -i 30");
	free(s);
	s = launch("~/gpu", "{\"instance_type\": \"CPU:8\"}", NULL, &r, &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --cpus 8");
	free(s);
	s = launch("~/gpu", "{\"instance_type\": \"m5.xlarge\", \"provider\": "
	           "\"cheapest\", \"autostop_mins\": -1}", NULL, &r, &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --instance-type "
	          "m5.xlarge");
	free(s);

	/* config.yaml's defaults where the config has none */
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	CHECK_EQ_INT(unit_write(path, "default_provider: gcp\n"
	                     "default_autostop: 15\nuse_spot: true\n", -1), 0);
	CHECK_EQ_INT(rh_config_load(path, &defaults, &err), 0);
	s = launch("~/gpu", "{\"instance_type\": \"CPU:2+\"}", defaults, &r,
	           &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --cpus 2+ "
	          "--cloud gcp --use-spot -i 15");
	free(s);
	s = launch("~/gpu", "{\"instance_type\": \"CPU:2+\", \"provider\": "
	           "\"cheapest\", \"use_spot\": false, \"autostop_mins\": 5}",
	           defaults, &r, &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --cpus 2+ -i 5");
	free(s);
	rh_config_free(defaults);

	/* a value sky would take for an option, or two words: refused */
	s = launch("~/gpu", "{\"instance_type\": \"--down\"}", NULL, &r, &err);
	CHECK(s == NULL && r == -EINVAL);
	CHECK_HAS(err.msg, "~/gpu: '--down' in instance_type");
	s = launch("~/gpu", "{\"region\": \"us east\"}", NULL, &r, &err);
	CHECK(s == NULL && r == -EINVAL);
	s = launch("~/gpu", "{\"instance_type\": \"CPU:\"}", NULL, &r, &err);
	CHECK(s == NULL && r == -EINVAL);
	s = launch("~/gpu", "{\"num_instances\": 0}", NULL, &r, &err);
	CHECK(s == NULL && r == -EINVAL);
}

/* A SkyPilot with --infra gets the cloud and region as CLOUD/REGION. */
static void
test_infra(void)
{
	struct rh_config *defaults;
	struct rh_err err;
	char *s, path[4096];
	int r;

	s = launch_as("~/gpu", "{\"instance_type\": \"A100:4\", \"provider\": "
	              "\"aws\", \"region\": \"us-east-1\"}", NULL, 1, &r, &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --gpus A100:4 "
	          "--infra aws/us-east-1");
	free(s);
	s = launch_as("~/gpu", "{\"provider\": \"gcp\"}", NULL, 1, &r, &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --infra gcp");
	free(s);
	/* a region alone: any cloud that has it */
	s = launch_as("~/gpu", "{\"region\": \"us-east-1\", \"provider\": "
	              "\"cheapest\"}", NULL, 1, &r, &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --infra "
	          "'*/us-east-1'");
	free(s);
	s = launch_as("~/gpu", "{\"instance_type\": \"CPU:8\"}", NULL, 1, &r,
	              &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --cpus 8");
	free(s);
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	CHECK_EQ_INT(unit_write(path, "default_provider: azure\n", -1), 0);
	CHECK_EQ_INT(rh_config_load(path, &defaults, &err), 0);
	s = launch_as("~/gpu", "{\"region\": \"eastus\"}", defaults, 1, &r,
	              &err);
	CHECK_STR(s, "sky launch -c rh-gpu-fb8f15a4 --yes --infra azure/eastus");
	free(s);
	rh_config_free(defaults);
	s = launch_as("~/gpu", "{\"provider\": \"-x\"}", NULL, 1, &r, &err);
	CHECK(s == NULL && r == -EINVAL);

	/* `sky launch --help` of each kind */
	CHECK(rh_sky_help_has_infra("Options:\n  --infra TEXT   Infrastructure "
	                            "to use. Format: cloud, cloud/region\n"));
	CHECK(!rh_sky_help_has_infra("Options:\n  --cloud TEXT  The cloud to "
	                             "use.\n  --region TEXT\n"));
	CHECK(!rh_sky_help_has_infra("  --infrastructure-x TEXT\n"));
	CHECK(!rh_sky_help_has_infra(""));
}

static void
test_status(void)
{
	static const char table[] =
		"Clusters\n"
		"\033[1mNAME\033[0m            LAUNCHED     RESOURCES"
		"             STATUS   AUTOSTOP  COMMAND\n"
		"rh-gpu-fb8f15a4  2 mins ago   1x AWS(p3.8xlarge)    "
		"\033[32mUP\033[0m       30m       sky launch -c...\n"
		"rh-gpu-fb8f15a  10 mins ago  1x GCP(n2-standard-8)  "
		"STOPPED  -         sky launch -c...\n"
		"other            1 hr ago     2x AWS(m6i.2xlarge)   "
		"INIT     -         sky launch...\n";
	char state[32];

	CHECK(rh_sky_status_of(table, "rh-gpu-fb8f15a4", state,
	                       sizeof(state)));
	CHECK_STR(state, "UP");
	CHECK(rh_sky_status_of(table, "rh-gpu-fb8f15a", state, sizeof(state)));
	CHECK_STR(state, "STOPPED");
	CHECK(rh_sky_status_of(table, "other", state, sizeof(state)));
	CHECK_STR(state, "INIT");
	CHECK(!rh_sky_status_of(table, "rh-gpu", state, sizeof(state)));
	CHECK_STR(state, "");
	CHECK(!rh_sky_status_of("Clusters\nNo existing clusters.\n", "x",
	                        state, sizeof(state)));
}

static void
test_reach(void)
{
	char path[4096], path2[4096], *kh;
	const char *old = getenv("HOME");
	char *home = old ? strdup(old) : NULL;
	struct rh_err err;
	cJSON *cfg, *one;
	char *s;

	setenv("HOME", dir, 1);
	CHECK_EQ_INT(rh_sky_reach("~/gpu", &cfg, &kh, &err), -ENOTCONN);
	CHECK_HAS(err.msg, "SkyPilot records no SSH details for its cluster "
	          "rh-gpu-fb8f15a4");
	snprintf(path, sizeof(path), "%s/.sky", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.sky/generated", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.sky/generated/ssh", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/.sky/generated/ssh/rh-gpu-fb8f15a4",
	         dir);
	snprintf(path2, sizeof(path2), "%s", path);
	CHECK_EQ_INT(unit_write(path,
		"# Added by sky (use `sky stop/down rh-gpu-fb8f15a4` to remove)\n"
		"Host rh-gpu-fb8f15a4\n"
		"  HostName 3.4.5.6\n"
		"  User ubuntu\n"
		"  IdentityFile ~/.ssh/sky-key\n"
		"  IdentitiesOnly yes\n"
		"  StrictHostKeyChecking no\n"
		"  UserKnownHostsFile=/dev/null\n"
		"  Port 2222\n"
		"  \n\n"
		"# Added by sky (use `sky stop/down rh-gpu-fb8f15a4` to remove)\n"
		"Host rh-gpu-fb8f15a4-worker1\n"
		"  HostName 3.4.5.7\n"
		"  User ubuntu\n"
		"  Port 22\n"
		"\n"
		"Host rh-gpu-fb8f15a4-worker2\n"
		"  HostName 3.4.5.8\n"
		"  User admin\n"
		"  IdentityFile ~/.ssh/other\n"
		"  Port 2200\n", -1), 0);
	CHECK_EQ_INT(rh_sky_reach("~/gpu", &cfg, &kh, &err), 0);
	s = cJSON_PrintUnformatted(cfg);
	/* each node's own details, the head's where a worker has none */
	CHECK_STR(s, "{\"resource_type\":\"cluster\",\"ips\":[\"3.4.5.6\","
	          "\"3.4.5.7\",\"3.4.5.8\"],\"ssh_creds\":{\"ssh_user\":"
	          "\"ubuntu\",\"ssh_private_key\":\"~/.ssh/sky-key\","
	          "\"ssh_port\":2222},\"node_ssh_creds\":[{\"ssh_user\":"
	          "\"ubuntu\",\"ssh_private_key\":\"~/.ssh/sky-key\","
	          "\"ssh_port\":2222},{\"ssh_user\":\"ubuntu\","
	          "\"ssh_private_key\":\"~/.ssh/sky-key\",\"ssh_port\":22},"
	          "{\"ssh_user\":\"admin\",\"ssh_private_key\":"
	          "\"~/.ssh/other\",\"ssh_port\":2200}]}");
	snprintf(path, sizeof(path), "%s/.rh/sky/rh-gpu-fb8f15a4.known_hosts",
	         dir);
	CHECK_STR(kh, path);
	free(s);
	/* a worker node alone: its address and its own details */
	one = rh_node_cfg(cfg, 2);
	s = cJSON_PrintUnformatted(one);
	CHECK_STR(s, "{\"resource_type\":\"cluster\",\"ips\":[\"3.4.5.8\"],"
	          "\"ssh_creds\":{\"ssh_user\":\"admin\",\"ssh_private_key\":"
	          "\"~/.ssh/other\",\"ssh_port\":2200}}");
	free(s);
	cJSON_Delete(one);
	free(kh);
	cJSON_Delete(cfg);

	/* a worker reached through a ProxyCommand: refused, naming it */
	CHECK_EQ_INT(unit_write(path2,
		"Host rh-gpu-fb8f15a4\n  HostName h\n  User u\n"
		"Host rh-gpu-fb8f15a4-worker1\n  HostName w1\n"
		"  ProxyCommand ssh -W %h:%p h\n", -1), 0);
	CHECK_EQ_INT(rh_sky_reach("~/gpu", &cfg, &kh, &err), -EOPNOTSUPP);
	CHECK_HAS(err.msg, "worker node w1 through a ProxyCommand");

	/* reached through a ProxyCommand: not something rhfs runs */
	snprintf(path, sizeof(path), "%s/.sky/generated/ssh/rh-gpu-fb8f15a4",
	         dir);
	CHECK_EQ_INT(unit_write(path, "Host rh-gpu-fb8f15a4\n  HostName h\n"
	                     "  User u\n  ProxyCommand ssh -W %h:%p jump\n",
	                     -1), 0);
	CHECK_EQ_INT(rh_sky_reach("~/gpu", &cfg, &kh, &err), -EOPNOTSUPP);
	if (home != NULL)
		setenv("HOME", home, 1);
	free(home);
}

static void
collect(void *arg, const char *line)
{
	rh_buf_printf(arg, "[%s]", line);
}

static void
test_run(void)
{
	struct rh_buf lines = { 0 }, out = { 0 };
	const char *oldpath = getenv("PATH");
	char *path = xstrdup(oldpath ? oldpath : ""), bin[2048], sky[4096];
	struct rh_err err;
	cJSON *args = cJSON_CreateArray();
	int status;

	snprintf(bin, sizeof(bin), "%s/bin", dir);
	mkdir(bin, 0755);
	snprintf(sky, sizeof(sky), "%s/sky", bin);
	CHECK_EQ_INT(unit_write(sky, "#!/bin/sh\n"
	                     "[ \"$1\" = nap ] && exec /bin/sleep 30\n"
	                     "echo \"args: $*\"; printf 'a\\rb\\n' >&2;"
	                     " printf '\\033[32mUP\\033[0m'; exit 3\n", -1), 0);
	chmod(sky, 0755);

	setenv("PATH", "/nonexistent", 1);
	CHECK_EQ_INT(rh_sky_run(args, 1000, NULL, NULL, NULL, NULL, NULL, &status,
	                     &err), -ENOPKG);
	CHECK_HAS(err.msg, "`sky` is not on PATH");
	CHECK_HAS(err.msg, "install SkyPilot");
	CHECK_HAS(err.msg, "or a Slurm cluster");

	setenv("PATH", bin, 1);
	cJSON_AddItemToArray(args, cJSON_CreateString("status"));
	cJSON_AddItemToArray(args, cJSON_CreateString("two words"));
	CHECK_EQ_INT(rh_sky_run(args, 10000, NULL, NULL, collect, &lines, &out,
	                     &status, &err), 0);
	CHECK_EQ_INT(status, 3);
	CHECK_STR(lines.data, "[args: status two words][a][b][UP]");
	CHECK_HAS(out.data, "args: status two words");
	rh_buf_free(&lines);
	rh_buf_free(&out);

	/* past its time: ended, and said so */
	cJSON_Delete(args);
	args = cJSON_CreateArray();
	cJSON_AddItemToArray(args, cJSON_CreateString("nap"));
	CHECK_EQ_INT(rh_sky_run(args, 300, NULL, NULL, NULL, NULL, NULL, &status,
	                     &err), -ETIMEDOUT);
	CHECK_HAS(err.msg, "`sky nap` did not end");
	cJSON_Delete(args);
	setenv("PATH", path, 1);
	free(path);
}

static void
test_ondemand(void)
{
	cJSON *a = cJSON_Parse("{\"instance_type\": \"CPU:2+\"}");
	cJSON *b = cJSON_Parse("{\"ips\": [\"h\"], \"instance_type\": \"x\"}");
	cJSON *c = cJSON_Parse("{\"resource_subtype\": \"OnDemandCluster\"}");
	cJSON *d = cJSON_Parse("{\"resource_subtype\": \"Cluster\"}");

	CHECK(rh_sky_is_ondemand(a));
	CHECK(!rh_sky_is_ondemand(b));
	CHECK(rh_sky_is_ondemand(c));
	CHECK(!rh_sky_is_ondemand(d));
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(c);
	cJSON_Delete(d);
}

int
main(void)
{
	dir = unit_tmpdir();
	test_name();
	test_launch();
	test_infra();
	test_status();
	test_reach();
	test_run();
	test_ondemand();
	unit_rmrf(dir);
	free(dir);
	return unit_done();
}

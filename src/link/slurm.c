/* slurm.c - Slurm clusters (resource_subtype "SlurmCluster"), reached at
 * their login node over SSH: what tells a config is one, what Slurm says
 * of the cluster's partition (sinfo on the login node), the sbatch
 * options the config asks for, and Slurm's verdict on them (sbatch
 * --test-only, which submits nothing). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "link.h"

/* How long sinfo may take on the login node (its own timeouts are
 * longer when slurmctld does not answer). */
#define SINFO_TIMEOUT_S 20

int
rh_slurm_is(const cJSON *cfg)
{
	const char *sub = rh_json_str(cfg, "resource_subtype");

	return sub != NULL && strcmp(sub, "SlurmCluster") == 0;
}

/* One line of sinfo's "%N|%t|%c|%P": a node of a partition. */
static cJSON *
node_of(char *line)
{
	char *f[4], *p = line;
	cJSON *n;
	size_t len;
	int i;

	for (i = 0; i < 4; i++) {
		f[i] = p;
		p = strchr(p, '|');
		if ((p == NULL) != (i == 3))
			return NULL;
		if (p != NULL)
			*p++ = '\0';
	}
	/* sinfo marks the default partition with a '*' */
	len = strlen(f[3]);
	if (len > 0 && f[3][len - 1] == '*')
		f[3][len - 1] = '\0';
	n = cJSON_CreateObject();
	cJSON_AddStringToObject(n, "name", f[0]);
	cJSON_AddStringToObject(n, "state", f[1]);
	cJSON_AddNumberToObject(n, "cpus", atoi(f[2]));
	cJSON_AddStringToObject(n, "partition", f[3]);
	return n;
}

/* The first line of text (at most 300 bytes), for a message. */
static char *
first_line(const struct rh_buf *b)
{
	size_t n = 0;

	while (n < b->len && n < 300 && b->data[n] != '\n')
		n++;
	return xasprintf("%.*s", (int)n, n ? b->data : "");
}

int
rh_slurm_nodes(struct rh_ssh *ssh, const char *addr, const cJSON *cfg,
               cJSON **out, struct rh_err *err)
{
	const char *part = rh_json_str(cfg, "partition");
	struct rh_buf o = { 0 }, e = { 0 };
	char *cmd, *q = part ? rh_shell_quote(part) : NULL, *line, *next;
	char *why;
	cJSON *nodes, *n;
	int r, status = -1;

	*out = NULL;
	cmd = xasprintf("timeout %d sinfo --noheader --Node "
	                "--format='%%N|%%t|%%c|%%P'%s%s", SINFO_TIMEOUT_S,
	                q ? " --partition=" : "", q ? q : "");
	free(q);
	r = rh_ssh_exec(ssh, cmd, NULL, 0, &o, &e, &status, err);
	free(cmd);
	if (r < 0)
		goto done;
	if (status != 0) {
		why = first_line(&e);
		r = rh_err_set(err, status == 127 ? ENOENT : EIO,
		               "%s: sinfo on the login node %s: %s", addr,
		               status == 127 ? "was not found" :
		               status == 124 ? "timed out" : "failed", why);
		free(why);
		goto done;
	}
	nodes = cJSON_CreateArray();
	rh_buf_append(&o, "", 1);       /* a string from here on */
	for (line = o.data; *line != '\0'; line = next) {
		next = line + strcspn(line, "\n");
		if (*next != '\0')
			*next++ = '\0';
		if (*line == '\0')
			continue;
		if ((n = node_of(line)) == NULL) {
			cJSON_Delete(nodes);
			r = rh_err_set(err, EPROTO, "%s: sinfo on the login "
			               "node gave a line of another form: %.200s",
			               addr, line);
			goto done;
		}
		cJSON_AddItemToArray(nodes, n);
	}
	if (cJSON_GetArraySize(nodes) == 0) {
		cJSON_Delete(nodes);
		r = rh_err_set(err, ENOENT, "%s: Slurm lists no nodes%s%s%s",
		               addr, part ? " in partition '" : "",
		               part ? part : "", part ? "'" : "");
		goto done;
	}
	*out = nodes;
done:
	rh_buf_free(&o);
	rh_buf_free(&e);
	return r;
}

/* The slurm object's fields and their sbatch options, in this order. */
static const struct {
	const char *key;
	const char *option;
} request_fields[] = {
	{ "nodes", "--nodes" },
	{ "cpus_per_task", "--cpus-per-task" },
	{ "gpus", "--gpus" },
	{ "gres", "--gres" },
	{ "mem", "--mem" },
	{ "time", "--time" },
	{ "account", "--account" },
	{ "qos", "--qos" },
};

cJSON *
rh_slurm_request(const cJSON *cfg)
{
	const cJSON *slurm = cJSON_GetObjectItemCaseSensitive(cfg, "slurm");
	const cJSON *v, *a;
	const char *part = rh_json_str(cfg, "partition");
	cJSON *args = cJSON_CreateArray();
	char *opt;
	size_t i;

	if (part != NULL) {
		opt = xasprintf("--partition=%s", part);
		cJSON_AddItemToArray(args, cJSON_CreateString(opt));
		free(opt);
	}
	for (i = 0; i < sizeof(request_fields) / sizeof(request_fields[0]);
	     i++) {
		v = cJSON_GetObjectItemCaseSensitive(slurm,
		                                     request_fields[i].key);
		if (cJSON_IsNumber(v))
			opt = xasprintf("%s=%d", request_fields[i].option,
			                v->valueint);
		else if (cJSON_IsString(v))
			opt = xasprintf("%s=%s", request_fields[i].option,
			                v->valuestring);
		else
			continue;
		cJSON_AddItemToArray(args, cJSON_CreateString(opt));
		free(opt);
	}
	a = cJSON_GetObjectItemCaseSensitive(slurm, "sbatch_args");
	cJSON_ArrayForEach(v, a)
		if (cJSON_IsString(v))
			cJSON_AddItemToArray(args,
			                     cJSON_CreateString(v->valuestring));
	return args;
}

int
rh_slurm_test_only(struct rh_ssh *ssh, const char *addr, const cJSON *args,
                   char **verdict, struct rh_err *err)
{
	struct rh_buf cmd = { 0 }, o = { 0 }, e = { 0 };
	const cJSON *a;
	char *q;
	int r, status = -1;

	*verdict = NULL;
	rh_buf_printf(&cmd, "timeout %d sbatch --test-only", SINFO_TIMEOUT_S);
	cJSON_ArrayForEach(a, args) {
		q = rh_shell_quote(a->valuestring);
		rh_buf_printf(&cmd, " %s", q);
		free(q);
	}
	rh_buf_printf(&cmd, " --wrap=true");
	r = rh_ssh_exec(ssh, cmd.data, NULL, 0, &o, &e, &status, err);
	if (r == 0) {
		/* sbatch says its verdict on stderr, either way */
		q = first_line(e.len ? &e : &o);
		if (status == 0)
			*verdict = q;
		else {
			r = rh_err_set(err, status == 127 ? ENOENT : EINVAL,
			               "%s: sbatch on the login node %s: %s",
			               addr, status == 127 ? "was not found" :
			               status == 124 ? "timed out" :
			               "refuses the request", q);
			free(q);
		}
	}
	rh_buf_free(&cmd);
	rh_buf_free(&o);
	rh_buf_free(&e);
	return r;
}

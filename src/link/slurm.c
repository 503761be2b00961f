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
#include "proto.h"
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

/* How long one of Slurm's commands may take on the login node when the
 * allocation is submitted, asked after or cancelled. */
#define JOB_TIMEOUT_S 30

char *
rh_slurm_dir(const char *addr)
{
	char *name = rh_sky_name(addr), *d;

	d = xasprintf(".rh/slurm/%s", name);
	free(name);
	return d;
}

/* Whether s is a job id as sbatch --parsable gives it: digits (an array
 * or a het job has more, but rhfs submits neither). */
static int
job_id_ok(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n < 20 && s[n] == '\0';
}

char *
rh_slurm_script(const char *addr, const char *head, const char *key)
{
	char *qa = rh_shell_quote(addr), *qh, *qk, *s;

	if (head == NULL || key == NULL) {
		s = xasprintf("#!/bin/sh\n"
		              "# rhfs: the allocation of %s. No worker agent "
		              "is started: the\n# agent on the login node "
		              "took no workers. The nodes are held until\n"
		              "# the job is cancelled or reaches its time "
		              "limit.\n"
		              "echo \"rhfs: job $SLURM_JOB_ID of\" %s "
		              "\"on $SLURM_JOB_NODELIST\"\n"
		              "exec sleep 2147483647\n", addr, qa);
		free(qa);
		return s;
	}
	qh = rh_shell_quote(head);
	qk = rh_shell_quote(key);
	/* one task a node, each a worker agent named after its node and the
	 * job (nodes may share the home directory, and a hostname); it
	 * overlaps other steps, so that a call's own job step (srun
	 * --exact, agent/step.c) can be given the CPUs and GPUs it asks */
	s = xasprintf("#!/bin/sh\n"
	              "# rhfs: the allocation of %s: one worker agent a "
	              "node.\n"
	              "echo \"rhfs: job $SLURM_JOB_ID of\" %s "
	              "\"on $SLURM_JOB_NODELIST\"\n"
	              "exec srun --ntasks-per-node=1 --overlap "
	              "--kill-on-bad-exit=0 "
	              "sh -c 'exec \"$HOME/.rh/bin/rhagent\" worker "
	              "--head \"$0\" --key-file \"$1\" "
	              "--node \"$SLURMD_NODENAME-$SLURM_JOB_ID\" "
	              "--slots \"$SLURM_CPUS_ON_NODE\"' %s %s\n",
	              addr, qa, qh, qk);
	free(qa);
	free(qh);
	free(qk);
	return s;
}

/* Run cmd on the login node, bounded; its first line of error (or
 * output) in *why when it exits other than 0. */
static int
login_exec(struct rh_ssh *ssh, const char *cmd, const char *in,
           struct rh_buf *o, int *status, char **why, struct rh_err *err)
{
	struct rh_buf e = { 0 };
	int r;

	*why = NULL;
	r = rh_ssh_exec(ssh, cmd, in, in ? strlen(in) : 0, o, &e, status,
	                err);
	if (r == 0 && *status != 0)
		*why = first_line(e.len ? &e : o);
	rh_buf_free(&e);
	return r;
}

int
rh_slurm_submit(struct rh_ssh *ssh, const char *addr, const cJSON *cfg,
                const char *script, char **job, struct rh_err *err)
{
	struct rh_buf cmd = { 0 }, o = { 0 };
	cJSON *args = rh_slurm_request(cfg);
	const cJSON *a;
	char *dir = rh_slurm_dir(addr), *name = rh_sky_name(addr), *q, *why;
	size_t n;
	int r, status = -1;

	*job = NULL;
	/* the script and the job id beside the agent's files, so that an
	 * rhfs started again finds the job */
	rh_buf_printf(&cmd, "d=%s && mkdir -p \"$d/out\" && "
	              "cat >\"$d/job.sh\" && "
	              "id=$(timeout %d sbatch --parsable --job-name=%s "
	              "--output=\"$HOME/$d/out/%%j.out\" --open-mode=append",
	              dir, JOB_TIMEOUT_S, name);
	cJSON_ArrayForEach(a, args) {
		q = rh_shell_quote(a->valuestring);
		rh_buf_printf(&cmd, " %s", q);
		free(q);
	}
	rh_buf_printf(&cmd, " \"$d/job.sh\") && id=${id%%%%;*} && "
	              "echo \"$id\" >\"$d/job.new\" && "
	              "mv -f \"$d/job.new\" \"$d/job\" && echo \"$id\"");
	r = login_exec(ssh, cmd.data, script, &o, &status, &why, err);
	if (r == 0 && status != 0) {
		r = rh_err_set(err, status == 127 ? ENOENT : EINVAL,
		               "%s: sbatch on the login node %s: %s", addr,
		               status == 127 ? "was not found" :
		               status == 124 ? "timed out" :
		               "refuses the request", why);
	} else if (r == 0) {
		n = o.len;
		while (n > 0 && (o.data[n - 1] == '\n' || o.data[n - 1] == '\r'))
			n--;
		o.len = n;
		rh_buf_append(&o, "", 1);
		if (!job_id_ok(o.data))
			r = rh_err_set(err, EPROTO, "%s: sbatch on the login "
			               "node gave no job id: '%.100s'", addr,
			               o.data);
		else
			*job = xstrdup(o.data);
	}
	free(why);
	free(dir);
	free(name);
	cJSON_Delete(args);
	rh_buf_free(&cmd);
	rh_buf_free(&o);
	return r;
}

int
rh_slurm_recall(struct rh_ssh *ssh, const char *addr, char **job,
                struct rh_err *err)
{
	struct rh_buf cmd = { 0 }, o = { 0 };
	char *dir = rh_slurm_dir(addr), *why;
	size_t n;
	int r, status = -1;

	*job = NULL;
	rh_buf_printf(&cmd, "cat %s/job 2>/dev/null || true", dir);
	r = login_exec(ssh, cmd.data, NULL, &o, &status, &why, err);
	if (r == 0 && status != 0)
		r = rh_err_set(err, EIO, "%s: cannot read the job id on the "
		               "login node: %s", addr, why);
	if (r == 0) {
		n = 0;
		while (n < o.len && o.data[n] != '\n')
			n++;
		o.len = n;
		rh_buf_append(&o, "", 1);
		if (job_id_ok(o.data))
			*job = xstrdup(o.data);
	}
	free(why);
	free(dir);
	rh_buf_free(&cmd);
	rh_buf_free(&o);
	return r;
}

int
rh_slurm_forget(struct rh_ssh *ssh, const char *addr, const char *job,
                struct rh_err *err)
{
	char *dir = rh_slurm_dir(addr), *cmd, *why;
	struct rh_buf o = { 0 };
	int r, status = -1;

	/* only if it still names this job: a new one may have replaced it */
	cmd = xasprintf("d=%s; [ \"$(cat \"$d/job\" 2>/dev/null)\" != %s ] || "
	                "rm -f \"$d/job\"", dir, job);
	r = login_exec(ssh, cmd, NULL, &o, &status, &why, err);
	if (r == 0 && status != 0)
		r = rh_err_set(err, EIO, "%s: cannot remove the job id on the "
		               "login node: %s", addr, why);
	free(why);
	free(cmd);
	free(dir);
	rh_buf_free(&o);
	return r;
}

int
rh_slurm_cancel(struct rh_ssh *ssh, const char *addr, const char *job,
                struct rh_err *err)
{
	struct rh_buf o = { 0 };
	char *cmd, *why;
	int r, status = -1;

	if (!job_id_ok(job))
		return rh_err_set(err, EINVAL, "%s: '%s' is not a job id",
		                  addr, job);
	cmd = xasprintf("timeout %d scancel %s", JOB_TIMEOUT_S, job);
	r = login_exec(ssh, cmd, NULL, &o, &status, &why, err);
	if (r == 0 && status != 0)
		r = rh_err_set(err, status == 127 ? ENOENT : EIO,
		               "%s: scancel %s on the login node failed: %s",
		               addr, job, why);
	free(why);
	free(cmd);
	rh_buf_free(&o);
	return r;
}

/* Copy n bytes of s into dst (size size), cut to fit. */
static void
put(char *dst, size_t size, const char *s, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/* squeue's "%T|%r|%N|%L|%j" line (the name last: it may hold a '|'). */
static int
parse_squeue(const char *line, struct rh_slurm_job *j)
{
	const char *f[5], *p = line;
	size_t len[5];
	int i;

	for (i = 0; i < 5; i++) {
		f[i] = p;
		len[i] = strcspn(p, i < 4 ? "|\n" : "\n");
		p += len[i];
		if (i < 4) {
			if (*p != '|')
				return -1;
			p++;
		}
	}
	if (len[0] == 0 || strspn(f[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
	    len[0])
		return -1;
	put(j->state, sizeof(j->state), f[0], len[0]);
	put(j->reason, sizeof(j->reason), f[1], len[1]);
	put(j->nodes, sizeof(j->nodes), f[2], len[2]);
	put(j->time_left, sizeof(j->time_left), f[3], len[3]);
	put(j->name, sizeof(j->name), f[4], len[4]);
	return 0;
}

/* The value of KEY= in scontrol's one-line output (up to a blank). */
static int
scontrol_field(const char *text, const char *key, char *dst, size_t size)
{
	size_t kl = strlen(key);
	const char *p = text;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == ' ' || p[-1] == '\n') &&
		    p[kl] == '=') {
			p += kl + 1;
			put(dst, size, p, strcspn(p, " \n"));
			return 1;
		}
		p += kl;
	}
	return 0;
}

/* sacct's "State|Reason|NodeList|JobName": "CANCELLED by 1000|None|
 * node1|rh-sl-0123abcd". */
static int
parse_sacct(const char *line, struct rh_slurm_job *j)
{
	size_t n = strcspn(line, " |\n");
	const char *p;

	if (n == 0 || strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != n)
		return -1;
	put(j->state, sizeof(j->state), line, n);
	if ((p = strchr(line, '|')) == NULL)
		return 0;
	p++;
	put(j->reason, sizeof(j->reason), p, strcspn(p, "|\n"));
	if ((p = strchr(p, '|')) != NULL) {
		p++;
		put(j->nodes, sizeof(j->nodes), p, strcspn(p, "|\n"));
		if ((p = strchr(p, '|')) != NULL) {
			p++;
			put(j->name, sizeof(j->name), p, strcspn(p, "\n"));
		}
	}
	return 0;
}

int
rh_slurm_job_state(struct rh_ssh *ssh, const char *addr, const char *job,
                   struct rh_slurm_job *j, struct rh_err *err)
{
	struct rh_buf o = { 0 };
	char *cmd, *why, *sec;
	int r, status = -1;

	memset(j, 0, sizeof(*j));
	if (!job_id_ok(job))
		return rh_err_set(err, EINVAL, "%s: '%s' is not a job id",
		                  addr, job);
	put(j->id, sizeof(j->id), job, strlen(job));
	/* squeue first (it keeps an ended job for MinJobAge with -t all);
	 * then scontrol, then the accounting (sacct), where there is one */
	cmd = xasprintf(
	        "s=$(timeout %d squeue -h -t all -j %s -o '%%T|%%r|%%N|%%L|%%j' "
	        "2>/dev/null | head -n 1); "
	        "if [ -n \"$s\" ]; then echo \"squeue $s\"; exit 0; fi; "
	        "s=$(timeout %d scontrol -o show job %s 2>/dev/null | "
	        "head -n 1); "
	        "if [ -n \"$s\" ]; then echo \"scontrol $s\"; exit 0; fi; "
	        "s=$(timeout %d sacct -n -X -P -j %s -o State,Reason,NodeList,JobName "
	        "2>/dev/null | head -n 1); "
	        "if [ -n \"$s\" ]; then echo \"sacct $s\"; exit 0; fi; "
	        "command -v squeue >/dev/null || exit 127; "
	        "timeout %d squeue -h -o %%i >/dev/null",
	        JOB_TIMEOUT_S, job, JOB_TIMEOUT_S, job, JOB_TIMEOUT_S, job,
	        JOB_TIMEOUT_S);
	r = login_exec(ssh, cmd, NULL, &o, &status, &why, err);
	free(cmd);
	if (r == 0 && status != 0) {
		r = rh_err_set(err, status == 127 ? ENOENT : EIO,
		               "%s: squeue on the login node %s: %s", addr,
		               status == 127 ? "was not found" :
		               status == 124 ? "timed out" : "failed", why);
		goto done;
	}
	if (r < 0)
		goto done;
	rh_buf_append(&o, "", 1);
	if (o.data[0] == '\0' || o.data[0] == '\n') {
		/* Slurm answers, and knows no such job: long gone */
		r = 0;
		goto done;
	}
	if (strncmp(o.data, "squeue ", 7) == 0) {
		if (parse_squeue(o.data + 7, j) < 0)
			r = -1;
	} else if (strncmp(o.data, "scontrol ", 9) == 0) {
		sec = o.data + 9;
		if (!scontrol_field(sec, "JobState", j->state,
		                    sizeof(j->state)))
			r = -1;
		scontrol_field(sec, "Reason", j->reason, sizeof(j->reason));
		scontrol_field(sec, "NodeList", j->nodes, sizeof(j->nodes));
		scontrol_field(sec, "JobName", j->name, sizeof(j->name));
		if (strcmp(j->nodes, "(null)") == 0)
			j->nodes[0] = '\0';
	} else if (strncmp(o.data, "sacct ", 6) == 0) {
		if (parse_sacct(o.data + 6, j) < 0)
			r = -1;
	} else {
		r = -1;
	}
	if (r < 0)
		r = rh_err_set(err, EPROTO, "%s: Slurm's word on job %s is of "
		               "another form: %.200s", addr, job, o.data);
done:
	free(why);
	rh_buf_free(&o);
	return r;
}

int
rh_slurm_job_ours(const struct rh_slurm_job *j, const char *addr)
{
	char *name;
	int r;

	if (j->state[0] == '\0' || j->name[0] == '\0')
		return 1;
	name = rh_sky_name(addr);
	r = strcmp(j->name, name) == 0;
	free(name);
	return r;
}

int
rh_slurm_state_live(const char *state)
{
	static const char *const live[] = {
		/* COMPLETING: ending, its last state (TIMEOUT, ...) to come */
		"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
		"REQUEUED",
		"REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
		"STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", NULL,
	};
	size_t i;

	for (i = 0; live[i] != NULL; i++)
		if (strcmp(state, live[i]) == 0)
			return 1;
	return 0;
}

char *
rh_slurm_end_reason(const struct rh_slurm_job *j)
{
	static const struct {
		const char *state, *why;
	} ends[] = {
		{ "TIMEOUT", "reached its time limit" },
		{ "PREEMPTED", "was preempted" },
		{ "CANCELLED", "was cancelled (scancel)" },
		{ "NODE_FAIL", "ended: a node failed" },
		{ "BOOT_FAIL", "ended: a node failed to boot" },
		{ "DEADLINE", "reached its deadline" },
		{ "OUT_OF_MEMORY", "ran out of memory" },
		{ "FAILED", "failed" },
		{ "COMPLETED", "ended (its script exited)" },
	};
	const char *why = NULL;
	int slurm_says;
	size_t i;

	if (j->state[0] == '\0')
		return xasprintf("Slurm job %s is no longer known to Slurm "
		                 "(ended)", j->id);
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (strcmp(j->state, ends[i].state) == 0)
			why = ends[i].why;
	slurm_says = j->reason[0] != '\0' && strcmp(j->reason, "None") != 0;
	if (why == NULL)
		return xasprintf("Slurm job %s ended (%s%s%s)", j->id, j->state,
		                 slurm_says ? ": " : "",
		                 slurm_says ? j->reason : "");
	return xasprintf("Slurm job %s %s (%s%s%s%s%s)", j->id, why, j->state,
	                 slurm_says ? ", " : "", slurm_says ? j->reason : "",
	                 j->nodes[0] ? " on " : "", j->nodes);
}

int
rh_slurm_head(struct rh_rpc *rpc, const char *addr, const cJSON *cfg,
              int timeout_ms, char **head, char **key, struct rh_err *err)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");
	const char *login = cJSON_IsArray(ips) && cJSON_IsString(ips->child) ?
	                    ips->child->valuestring : "127.0.0.1";
	const cJSON *port;
	const char *host, *file;
	cJSON *req = rh_proto_new(0, "workers"), *reply = NULL;
	int r;

	if (head != NULL)
		*head = NULL;
	if (key != NULL)
		*key = NULL;
	/* the workers reach it at the login node's address; it runs no call
	 * itself (the login node is not the allocation) */
	cJSON_AddBoolToObject(req, "listen", 1);
	cJSON_AddBoolToObject(req, "local", 0);
	cJSON_AddStringToObject(req, "host", login);
	cJSON_AddStringToObject(req, "name", "login");
	r = rh_rpc_call_wait(rpc, req, timeout_ms, &reply);
	cJSON_Delete(req);
	if (r == -ENOSYS)
		return rh_err_set(err, EOPNOTSUPP, "%s: a SlurmCluster runs "
		                  "its calls on worker agents in its Slurm "
		                  "allocation, and this rhagent cannot dispatch "
		                  "calls to worker agents yet (its login node "
		                  "is reachable with `rh ssh`)", addr);
	if (r < 0)
		return rh_err_set(err, -r, "%s: the agent on the login node did "
		                  "not take 'workers': %s", addr, strerror(-r));
	host = rh_json_str(reply, "host");
	file = rh_json_str(reply, "key_file");
	port = cJSON_GetObjectItemCaseSensitive(reply, "port");
	if (host == NULL || file == NULL || !cJSON_IsNumber(port)) {
		cJSON_Delete(reply);
		return rh_err_set(err, EPROTO, "%s: the agent on the login node "
		                  "does not say where workers reach it", addr);
	}
	if (head != NULL)
		*head = strchr(host, ':') != NULL ?
		        xasprintf("[%s]:%d", host, port->valueint) :
		        xasprintf("%s:%d", host, port->valueint);
	if (key != NULL)
		*key = xstrdup(file);
	cJSON_Delete(reply);
	return 0;
}

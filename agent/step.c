/*
 * step.c - a call with Slurm resources of its own ("slurm" in its spec:
 * cpus_per_task, gpus, gres, mem, time, and the allocation's "job") runs
 * as a job step of the cluster's allocation, not in a warm worker.
 *
 * On the head (the agent on the login node): the call, once ready (its
 * queue free, its $refs resolved), starts
 *
 *     srun --jobid=JOB --nodes=1 --ntasks=1 --exact --quiet
 *          --job-name=rh-ID [the step's options] -- rhagent step --dir DIR
 *
 * with its spec (secrets included) on stdin from a memfd (never a file
 * on disk), and its stdout and stderr to the call's files, which srun
 * fills as the step writes them (so that following a call's output works
 * as for a local one). Slurm places the step on a node of the allocation
 * with the resources asked, or refuses it at once (more than the
 * allocation has: srun's message is the call's reason). srun is the
 * call's process: cancel sends it SIGTERM, and srun cancels the step.
 *
 * On the node (`rhagent step`, in the step): the call runs once, a
 * command in the foreground or a Python function in runner.py started
 * for this one call, its output on the step's stdout and stderr. The
 * step writes DIR/step.json (DIR: the call's directory on the head, in
 * the home the nodes share) when it starts (its node, job and step) and
 * again when the call has ended (its exit, signal, result or reason), and
 * exits 0; the head reads it when srun exits.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "base.h"
#include "proto.h"
#include "slurmres.h"
#include "agent.h"
#include "agent/runner-py.h"   /* RUNNER_PY, made from agent/runner.py */

extern char **environ;

#define STEP_FILE "step.json"
/* How often the head looks for the node of a step that started. */
#define STEP_LOOK_MS 250

/* ---- on the head ---- */

/* The rhagent the step runs: the one installed in the home the nodes
 * share, else this one. */
static char *
rhagent_path(const struct agent *a)
{
	char *p = xasprintf("%s/.rh/bin/rhagent", a->home), buf[4096];
	ssize_t n;

	if (access(p, X_OK) == 0)
		return p;
	free(p);
	n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return xstrdup("rhagent");
	buf[n] = '\0';
	return xstrdup(buf);
}

/* The spec the step runs, with the call's id and its secrets, in a memfd
 * at offset 0; -1 with errno. */
static int
spec_fd(struct call *c)
{
	cJSON *spec = cJSON_Duplicate(c->resolved ? c->resolved : c->spec, 1);
	char *text;
	size_t len, off = 0;
	ssize_t w;
	int fd, e = 0;

	cJSON_DeleteItemFromObjectCaseSensitive(spec, "secret_names");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "secret_env");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "call");
	cJSON_DeleteItemFromObjectCaseSensitive(spec, "wait");
	cJSON_AddStringToObject(spec, "call", c->id);
	if (c->secrets != NULL) {
		cJSON_AddItemToObject(spec, "secret_env", c->secrets);
		c->secrets = NULL;
	}
	text = rh_json_print(spec, 0);
	cJSON_Delete(spec);     /* wipes nothing: the text holds them */
	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(text);
	fd = memfd_create("rh-step-spec", MFD_CLOEXEC);
	while (fd >= 0 && off < len) {
		w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			e = errno;
			break;
		}
		off += (size_t)w;
	}
	if (fd < 0)
		e = errno;
	OPENSSL_cleanse(text, len);
	free(text);
	if (e == 0 && lseek(fd, 0, SEEK_SET) < 0)
		e = errno;
	if (e != 0) {
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void
step_start(struct agent *a, struct call *c)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char **opts = rh_slurm_step_options(c->slurm), **argv, **p;
	char *dir = NULL, *exe = rhagent_path(a), *name;
	int in = -1, out = -1, errfd = -1, r = 0;
	size_t n = 0;
	pid_t pid;

	if (record_dir(c->id) < 0 ||
	    (out = call_open_output(c->id, "stdout")) < 0 ||
	    (errfd = call_open_output(c->id, "stderr")) < 0)
		r = errno;
	else if ((in = spec_fd(c)) < 0)
		r = errno;
	if (r != 0) {
		if (out >= 0)
			close(out);
		if (errfd >= 0)
			close(errfd);
		free(exe);
		rh_strv_free(opts);
		call_finish(a, c, CALL_FAILED, r == ENOMEM ? "cannot encode "
		            "its spec" : "cannot create its output files");
		return;
	}
	dir = xasprintf("%s/" AGENT_CALLS "/%s", a->dir, c->id);
	name = xasprintf("--job-name=rh-%s", c->id);
	for (p = opts; *p != NULL; p++)
		n++;
	argv = xcalloc(n + 16, sizeof(char *));
	n = 0;
	argv[n++] = xstrdup("srun");
	for (p = opts; *p != NULL; p++)
		argv[n++] = xstrdup(*p);
	argv[n++] = xstrdup("--nodes=1");
	argv[n++] = xstrdup("--ntasks=1");
	/* only what it asks for, and none of its CPUs to another step */
	argv[n++] = xstrdup("--exact");
	argv[n++] = xstrdup("--quiet");
	argv[n++] = name;
	argv[n++] = xstrdup("--");
	argv[n++] = exe;
	argv[n++] = xstrdup("step");
	argv[n++] = xstrdup("--dir");
	argv[n++] = dir;
	argv[n] = NULL;
	rh_strv_free(opts);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in, 0);
	posix_spawn_file_actions_adddup2(&fa, out, 1);
	posix_spawn_file_actions_adddup2(&fa, errfd, 2);
	posix_spawn_file_actions_addchdir_np(&fa, a->home);
	call_spawnattr_init(&at);
	r = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(in);
	close(out);
	close(errfd);
	rh_strv_free(argv);
	if (r != 0) {
		char why[200];

		snprintf(why, sizeof(why), "cannot run srun for its Slurm job "
		         "step: %s", strerror(r));
		call_finish(a, c, CALL_FAILED, why);
		return;
	}
	call_running(a, c, pid, proc_start(pid));
	rh_debug("call %s: srun (pid %ld) starts its job step in job %s",
	         c->id, (long)pid, rh_json_str(c->slurm, "job"));
}

/* What the step wrote of the call (free it), or NULL. */
static cJSON *
step_read(const char *id)
{
	return record_read(id, STEP_FILE);
}

/* The node a step ran on, as records name it: NODE-JOB.STEP. */
static void
step_node(struct call *c, const cJSON *st)
{
	const char *node = rh_json_str(st, "node"),
	           *job = rh_json_str(st, "job"),
	           *step = rh_json_str(st, "step");

	if (node == NULL || job == NULL || step == NULL)
		return;
	free(c->node);
	c->node = xasprintf("%s-%s.%s", node, job, step);
}

/* The last line srun or slurmstepd wrote to the call's stderr (Slurm's
 * reason), or NULL (free it). */
static char *
slurm_says(const char *id)
{
	struct rh_buf b = { 0 };
	char *path = record_path(id, "stderr"), *line, *end, *last = NULL;
	struct stat st;
	int fd;
	off_t from;

	/* its last 64 KiB */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 &&
	    fstat(fd, &st) == 0) {
		from = st.st_size > 65536 ? st.st_size - 65536 : 0;
		if (lseek(fd, from, SEEK_SET) == from)
			rh_file_read_fd(fd, 65536, &b, NULL);
		else
			close(fd);
	} else if (fd >= 0) {
		close(fd);
	}
	free(path);
	rh_buf_append(&b, "", 1);
	for (line = b.data; line != NULL && *line != '\0'; line = end) {
		end = strchr(line, '\n');
		if (end != NULL)
			*end++ = '\0';
		if (strncmp(line, "srun: ", 6) == 0 ||
		    strncmp(line, "slurmstepd", 10) == 0) {
			free(last);
			last = xstrdup(line);
		}
	}
	rh_buf_free(&b);
	return last;
}

void
step_reaped(struct agent *a, struct call *c, int status)
{
	cJSON *st = step_read(c->id);
	const cJSON *v;
	const char *reason;
	char *says, why[300];

	step_node(c, st);
	if (st == NULL || !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st,
	                                                        "ended"))) {
		/* the step did not run the call to its end */
		says = slurm_says(c->id);
		if (says == NULL && WIFEXITED(status))
			says = xasprintf("srun exited with status %d",
			                 WEXITSTATUS(status));
		else if (says == NULL)
			says = xasprintf("srun was killed by signal %d",
			                 WTERMSIG(status));
		snprintf(why, sizeof(why), "its Slurm job step %s: %s",
		         st == NULL ? "did not start" :
		         "ended before the call did", says);
		free(says);
		cJSON_Delete(st);
		c->exit_code = -1;
		c->signo = 0;
		call_finish(a, c, CALL_FAILED, why);
		return;
	}
	c->exit_code = -1;
	c->signo = 0;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(st, "exit")))
		c->exit_code = v->valueint;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(st, "signal")))
		c->signo = v->valueint;
	if (c->py != NULL && rh_json_str(st, "result") != NULL)
		c->result = xstrdup(rh_json_str(st, "result"));
	reason = rh_json_str(st, "reason");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "ok")))
		call_finish(a, c, CALL_DONE, NULL);
	else if (reason != NULL)
		call_finish(a, c, CALL_FAILED, reason);
	else if (c->signo > 0) {
		snprintf(why, sizeof(why), "killed by signal %d (%s)",
		         c->signo, strsignal(c->signo));
		call_finish(a, c, CALL_FAILED, why);
	} else {
		snprintf(why, sizeof(why), "exited with status %d",
		         c->exit_code);
		call_finish(a, c, CALL_FAILED, why);
	}
	cJSON_Delete(st);
}

int
step_tick(struct agent *a)
{
	struct call *c;
	cJSON *st;
	int wait = 0;

	if (a->running.nstep == 0)
		return -1;
	for (c = a->running.head; c != NULL; c = c->next) {
		if (c->slurm == NULL || c->node != NULL)
			continue;
		if ((st = step_read(c->id)) != NULL) {
			step_node(c, st);
			cJSON_Delete(st);
		}
		if (c->node != NULL)
			record_save(a, c);
		else
			wait = 1;
	}
	return wait ? STEP_LOOK_MS : -1;
}

int
step_ran(const char *id)
{
	char *path = record_path(id, STEP_FILE);
	int r = access(path, F_OK) == 0;

	free(path);
	return r;
}

void
step_orphan(const char *id)
{
	posix_spawn_file_actions_t fa;
	cJSON *st = step_read(id);
	const char *job = rh_json_str(st, "job"), *step = rh_json_str(st,
	      "step");
	char *argv[4];
	pid_t pid;
	int r;

	if (job == NULL || step == NULL ||
	    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "ended"))) {
		cJSON_Delete(st);
		return;
	}
	argv[0] = xstrdup("scancel");
	argv[1] = xstrdup("--quiet");
	argv[2] = xasprintf("%s.%s", job, step);
	argv[3] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* (its end is reaped with the calls': call_reap) */
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r == 0)
		rh_info("call %s: its Slurm job step %s cancelled (scancel): "
		        "the agent died while it ran", id, argv[2]);
	else
		rh_warn("call %s: cannot run scancel for its Slurm job step "
		        "%s: %s", id, argv[2], strerror(r));
	free(argv[0]);
	free(argv[1]);
	free(argv[2]);
	cJSON_Delete(st);
}

/* ---- in the step, on a node ---- */

/* What the step tells the head: started, then ended. */
static void
tell(const char *dir, cJSON *st)
{
	char *path = xasprintf("%s/" STEP_FILE, dir), *text;
	const char *v;
	int r;

	if ((v = getenv("SLURMD_NODENAME")) != NULL)
		cJSON_AddStringToObject(st, "node", v);
	if ((v = getenv("SLURM_JOB_ID")) != NULL)
		cJSON_AddStringToObject(st, "job", v);
	if ((v = getenv("SLURM_STEP_ID")) != NULL)
		cJSON_AddStringToObject(st, "step", v);
	cJSON_AddNumberToObject(st, "pid", (double)getpid());
	text = rh_json_print(st, 0);
	if (text == NULL ||
	    (r = rh_file_replace(path, text, strlen(text), 0600, 0)) < 0)
		fprintf(stderr, "rhagent step: %s: cannot write it\n", path);
	free(text);
	free(path);
}

/* Run a command call in the foreground; its end into st. */
static void
run_command(struct call *c, cJSON *st)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	pid_t pid;
	int r, ws;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	r = posix_spawnp(&pid, c->argv[0], &fa, &at, c->argv,
	                 c->envp != NULL ? c->envp : environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		char *why = xasprintf("cannot run '%s': %s", c->argv[0],
		                      strerror(r));

		cJSON_AddStringToObject(st, "reason", why);
		fprintf(stderr, "rhagent step: %s\n", why);
		free(why);
		return;
	}
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(ws)) {
		cJSON_AddNumberToObject(st, "exit", WEXITSTATUS(ws));
		cJSON_AddBoolToObject(st, "ok", WEXITSTATUS(ws) == 0);
	} else if (WIFSIGNALED(ws)) {
		cJSON_AddNumberToObject(st, "signal", WTERMSIG(ws));
	}
}

/* Send one line to the runner, then read lines until its reply to the
 * call (the first is its word on the import). */
static cJSON *
runner_talk(int fd, const cJSON *req)
{
	char *text = rh_json_print(req, 0), *nl;
	struct rh_buf in = { 0 };
	size_t off = 0, len, used = 0;
	cJSON *m = NULL;
	char buf[65536];
	ssize_t n;

	len = strlen(text);
	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	n = off == len ? write(fd, "\n", 1) : -1;
	OPENSSL_cleanse(text, len);
	free(text);
	if (n != 1)
		return NULL;
	for (;;) {
		while (in.len > used && (nl = memchr(in.data + used, '\n',
		                                     in.len - used)) != NULL) {
			m = cJSON_ParseWithLength(in.data + used,
			                          (size_t)(nl - in.data) - used);
			used = (size_t)(nl - in.data) + 1;
			if (m != NULL && cJSON_GetObjectItemCaseSensitive(m,
			                                            "call"))
				goto out;
			cJSON_Delete(m);
			m = NULL;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || in.len > RH_PROTO_FRAME_MAX)
			break;
		rh_buf_append(&in, buf, (size_t)n);
	}
out:
	rh_buf_free(&in);
	return m;
}

/* Run a Python call in runner.py started for it; its end into st. */
static void
run_python(struct agent *a, struct call *c, const char *dir, cJSON *st)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none;
	const cJSON *py = c->py;
	const char *python = rh_json_str(py, "python");
	char three[] = "3", dash[] = "-", dashc[] = "-c", *argv[8], *why;
	static char runner[] = RUNNER_PY;
	cJSON *req, *m;
	pid_t pid;
	int sv[2], r, ws, fd;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		cJSON_AddStringToObject(st, "reason", "cannot start Python: "
		                        "socketpair failed");
		return;
	}
	if (sv[1] == 3) {
		fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
		close(sv[1]);
		sv[1] = fd;
	}
	argv[0] = xstrdup(python);
	argv[1] = dashc;
	argv[2] = runner;
	argv[3] = three;
	argv[4] = xstrdup(rh_json_str(py, "path"));
	argv[5] = xstrdup(rh_json_str(py, "module"));
	/* "-": its fd 1 and 2 stay the step's, which srun forwards */
	argv[6] = dash;
	argv[7] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
	posix_spawn_file_actions_addchdir_np(&fa, a->home);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK);
	r = posix_spawnp(&pid, python, &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(argv[0]);
	free(argv[4]);
	free(argv[5]);
	close(sv[1]);
	if (r != 0) {
		why = xasprintf("cannot run %s: %s", python, strerror(r));
		cJSON_AddStringToObject(st, "reason", why);
		fprintf(stderr, "rhagent step: %s\n", why);
		free(why);
		close(sv[0]);
		return;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "call", c->id);
	cJSON_AddStringToObject(req, "function", rh_json_str(py, "function"));
	cJSON_AddItemToObject(req, "args", cJSON_Duplicate(
	                      cJSON_GetObjectItemCaseSensitive(py, "args"), 1));
	cJSON_AddItemToObject(req, "kwargs", cJSON_Duplicate(
	                      cJSON_GetObjectItemCaseSensitive(py, "kwargs"),
	                      1));
	cJSON_AddStringToObject(req, "cwd", c->cwd);
	if (cJSON_GetObjectItemCaseSensitive(py, "env") != NULL)
		cJSON_AddItemToObject(req, "env", cJSON_Duplicate(
		                      cJSON_GetObjectItemCaseSensitive(py, "env"),
		                      1));
	cJSON_AddStringToObject(req, "dir", dir);
	m = runner_talk(sv[0], req);
	cJSON_Delete(req);
	close(sv[0]);           /* the runner's loop ends: it exits */
	while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
		;
	if (m == NULL) {
		if (WIFSIGNALED(ws))
			why = xasprintf("its Python process (pid %ld) was "
			                "killed by signal %d while the call ran",
			                (long)pid, WTERMSIG(ws));
		else
			why = xasprintf("its Python process (pid %ld) exited "
			                "with status %d before the call ended",
			                (long)pid, WEXITSTATUS(ws));
		cJSON_AddStringToObject(st, "reason", why);
		free(why);
		return;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ok"))) {
		cJSON_AddBoolToObject(st, "ok", 1);
		if (rh_json_str(m, "result") != NULL)
			cJSON_AddStringToObject(st, "result",
			                        rh_json_str(m, "result"));
	} else {
		cJSON_AddStringToObject(st, "reason", rh_json_str(m, "reason") ?
		                        rh_json_str(m, "reason") :
		                        "the call failed (no reason given)");
	}
	cJSON_Delete(m);
}

/* All of fd (a pipe: srun's), at most max bytes. */
static int
read_all(int fd, size_t max, struct rh_buf *out)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		rh_buf_append(out, buf, (size_t)n);
		if (out->len > max)
			return -EFBIG;
	}
}

int
step_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent a;
	struct rh_buf in = { 0 };
	struct rh_err err;
	struct call *c = NULL;
	const char *dir = NULL, *home;
	struct passwd *pw;
	cJSON *spec = NULL, *st;
	int ch, r;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'd') {
			fprintf(stderr, "usage: rhagent step --dir DIR\n");
			return 2;
		}
		dir = optarg;
	}
	if (dir == NULL || *dir != '/' || optind != argc) {
		fprintf(stderr, "usage: rhagent step --dir DIR (absolute: the "
		        "call's directory on its head)\n");
		return 2;
	}
	memset(&a, 0, sizeof(a));
	a.jobs = 1;
	/* calls run in the home, as the agent's do */
	if ((home = getenv("HOME")) == NULL || *home != '/') {
		pw = getpwuid(getuid());
		home = pw != NULL && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
	}
	if (home == NULL) {
		fprintf(stderr, "rhagent step: cannot tell the home "
		        "directory: set HOME\n");
		return 1;
	}
	a.home = xstrdup(home);
	if ((r = read_all(0, RH_PROTO_FRAME_MAX, &in)) < 0)
		rh_err_set(&err, -r, "its spec on stdin: %s", strerror(-r));
	else if ((spec = rh_json_parse(in.data, in.len, "its spec on stdin",
	                               &err)) != NULL &&
	         call_parse(&a, spec, &c, &err) == 0)
		snprintf(c->id, sizeof(c->id), "%s",
		         rh_json_str(spec, "call") ? rh_json_str(spec, "call") :
		         "");
	if (in.len > 0)
		OPENSSL_cleanse(in.data, in.len);
	rh_buf_free(&in);
	st = cJSON_CreateObject();
	if (c != NULL) {
		tell(dir, st);
		cJSON_Delete(st);
		st = cJSON_CreateObject();
		if (c->py != NULL)
			run_python(&a, c, dir, st);
		else
			run_command(c, st);
	} else {
		fprintf(stderr, "rhagent step: %s\n", err.msg);
		cJSON_AddStringToObject(st, "reason", err.msg);
	}
	cJSON_AddBoolToObject(st, "ended", 1);
	tell(dir, st);
	cJSON_Delete(st);
	/* the secrets' values leave memory */
	cJSON_ArrayForEach(st, cJSON_GetObjectItemCaseSensitive(spec,
	                                                       "secret_env"))
		if (cJSON_IsString(st))
			OPENSSL_cleanse(st->valuestring,
			                strlen(st->valuestring));
	cJSON_Delete(spec);
	if (c != NULL)
		call_free(c);
	pool_stop_all(&a);
	free(a.home);
	return 0;
}

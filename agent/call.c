/*
 * call.c - calls of command sends, from request to end. Each call is a
 * process in its own process group, with its stdout and stderr written
 * straight to files and its record kept on disk (record.c), so that it
 * outlives the client that asked for it and the agent that ran it. Calls
 * not yet ended are in the agent's queued or running list.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>

#include "base.h"
#include "proto.h"
#include "callrecord.h"
#include "agent.h"

extern char **environ;

/* A call's states are those of its record. */
_Static_assert((int)CALL_QUEUED == (int)RH_CALL_QUEUED &&
               (int)CALL_RUNNING == (int)RH_CALL_RUNNING &&
               (int)CALL_DONE == (int)RH_CALL_DONE &&
               (int)CALL_FAILED == (int)RH_CALL_FAILED &&
               (int)CALL_CANCELLED == (int)RH_CALL_CANCELLED,
               "enum call_state is enum rh_call_state");

const char *
call_state_name(enum call_state s)
{
	return rh_call_state_name((enum rh_call_state)s);
}

static void
list_append(struct call_list *l, struct call *c)
{
	c->list = l;
	c->pool_only = c->pool != NULL && c->queue == NULL &&
	               c->refspec == NULL && c->pin == NULL && c->slurm == NULL;
	l->nother += !c->pool_only;
	l->nstep += c->slurm != NULL;
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
}

static void
list_remove(struct call *c)
{
	struct call_list *l = c->list;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	c->list = NULL;
	l->n--;
	l->nother -= !c->pool_only;
	l->nstep -= c->slurm != NULL;
}

static void
list_prepend(struct call_list *l, struct call *c)
{
	list_append(l, c);
	if (l->head == c)
		return;
	/* from the tail to the head */
	l->tail = c->prev;
	l->tail->next = NULL;
	c->prev = NULL;
	c->next = l->head;
	l->head->prev = c;
	l->head = c;
}

/* An environment that may hold secrets' values: wiped, then freed. */
static void
envp_free(char **v)
{
	char **p;

	for (p = v; p != NULL && *p != NULL; p++)
		OPENSSL_cleanse(*p, strlen(*p));
	rh_strv_free(v);
}

void
call_free(struct call *c)
{
	struct waiter *w;
	cJSON *v;

	while ((w = c->waiters) != NULL) {
		c->waiters = w->next;
		free(w);
	}
	rh_strv_free(c->argv);
	envp_free(c->envp);
	/* a Python call's env may hold secrets' values (pool_spec) */
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(c->py, "env"))
		if (cJSON_IsString(v))
			OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	cJSON_Delete(c->py);
	cJSON_Delete(c->refspec);
	cJSON_ArrayForEach(v, c->secrets)
		if (cJSON_IsString(v))
			OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
	cJSON_Delete(c->secrets);
	cJSON_Delete(c->resolved);
	free(c->node);
	free(c->pin);
	cJSON_Delete(c->slurm);
	cJSON_Delete(c->spec);
	free(c->result);
	free(c->cwd);
	free(c->queue);
	free(c->send);
	free(c);
}

/* The start time of a process in clock ticks since boot, field 22 of
 * /proc/PID/stat: with the pid it names one process for good. */
unsigned long long
proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ticks = 0;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past the
	 * last ')', then field 3 onwards. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (i = 2; i < 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		ticks = strtoull(p + 1, NULL, 10);
	return ticks;
}

static char *
json_text(const cJSON *v)
{
	char *s, *t;

	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if ((s = rh_json_print(v, 0)) == NULL)
		return xstrdup("null");
	t = xstrdup(s);
	free(s);
	return t;
}

/* Whether name is one of env's (an object, or NULL). */
static int
env_has(const cJSON *env, const char *name, size_t len)
{
	const cJSON *v;

	cJSON_ArrayForEach(v, env)
		if (strlen(v->string) == len &&
		    strncmp(v->string, name, len) == 0)
			return 1;
	return 0;
}

/* A virtualenv's directory (relative: to the agent's home), and sub. */
static char *
venv_path(const struct agent *a, const char *venv, const char *sub)
{
	if (*venv == '/')
		return xasprintf("%s%s", venv, sub);
	return xasprintf("%s/%s%s", a->home, venv, sub);
}

/* A program the venv has, by its name alone: the venv's (posix_spawnp
 * looks on the agent's PATH, not the call's). */
static void
venv_program(const char *venv_dir, char **argv)
{
	char *path;

	if (strchr(argv[0], '/') != NULL)
		return;
	path = xasprintf("%s/bin/%s", venv_dir, argv[0]);
	if (access(path, X_OK) == 0) {
		free(argv[0]);
		argv[0] = path;
	} else {
		free(path);
	}
}

/*
 * Turn a call request into argv, environment and directory, as rhfs(1)
 * says: the command's argv, then the args (strings as they are, other
 * values as JSON text), then each kwarg as --key=value.
 */
static int
spec_parse(struct agent *a, const cJSON *req, struct call *c,
           struct rh_err *err)
{
	struct rh_call_spec s;
	const cJSON *env, *v;
	cJSON *venv_env = NULL;
	size_t n = 0, i, nenv;
	char **p, *venv_dir = NULL, *python = NULL;
	int r;

	if ((r = rh_call_spec_decode(req, &s, err)) < 0)
		return r;
	env = s.env;
	/* A Python call names its function (pool.c); with a venv its
	 * workers run the venv's interpreter; its args go to its worker
	 * as JSON (c->py). */
	if (s.fn_module != NULL) {
		if (s.venv != NULL)
			python = venv_path(a, s.venv, "/bin/python");
		pool_spec(a, &s, python, c);
		free(python);
	} else {
		for (n = 0; s.command[n] != NULL; n++)
			;
		n += (size_t)cJSON_GetArraySize(s.args) +
		     (size_t)cJSON_GetArraySize(s.kwargs);
		p = c->argv = xcalloc(n + 1, sizeof(char *));
		for (i = 0; s.command[i] != NULL; i++)
			*p++ = xstrdup(s.command[i]);
		cJSON_ArrayForEach(v, s.args)
			*p++ = json_text(v);
		cJSON_ArrayForEach(v, s.kwargs) {
			char *t = json_text(v);

			*p++ = xasprintf("--%s=%s", v->string, t);
			free(t);
		}
	}

	/* A command in a venv: its bin/ first on PATH, as activate does
	 * (the call's own env entries win). */
	if (c->py == NULL && s.venv != NULL) {
		const char *path = getenv("PATH");

		venv_dir = venv_path(a, s.venv, "");
		venv_program(venv_dir, c->argv);
		venv_env = env != NULL ? cJSON_Duplicate(env, 1) :
		           cJSON_CreateObject();
		if (!cJSON_HasObjectItem(venv_env, "PATH")) {
			char *bin = xasprintf("%s/bin%s%s", venv_dir,
			                      path ? ":" : "", path ? path : "");

			cJSON_AddStringToObject(venv_env, "PATH", bin);
			free(bin);
		}
		if (!cJSON_HasObjectItem(venv_env, "VIRTUAL_ENV"))
			cJSON_AddStringToObject(venv_env, "VIRTUAL_ENV",
			                        venv_dir);
		free(venv_dir);
		env = venv_env;
	}
	if (env != NULL || s.secret_env != NULL) {
		/* The agent's environment, with the call's names replaced
		 * (a secret's over env's). */
		for (nenv = 0; environ[nenv] != NULL; nenv++)
			;
		p = c->envp = xcalloc(nenv + (size_t)cJSON_GetArraySize(env) +
		                      (size_t)cJSON_GetArraySize(s.secret_env) +
		                      1, sizeof(char *));
		for (i = 0; i < nenv; i++) {
			const char *eq = strchr(environ[i], '=');
			size_t klen = eq ? (size_t)(eq - environ[i]) :
			              strlen(environ[i]);
			int replaced = env_has(env, environ[i], klen) ||
			               env_has(s.secret_env, environ[i], klen);

			if (!replaced)
				*p++ = xstrdup(environ[i]);
		}
		cJSON_ArrayForEach(v, env)
			if (!env_has(s.secret_env, v->string,
			             strlen(v->string)))
				*p++ = xasprintf("%s=%s", v->string,
				                 v->valuestring);
		cJSON_ArrayForEach(v, s.secret_env)
			*p++ = xasprintf("%s=%s", v->string, v->valuestring);
	}
	cJSON_Delete(venv_env);
	if (s.cwd != NULL)
		c->cwd = *s.cwd == '/' ? xstrdup(s.cwd) :
		         xasprintf("%s/%s", a->home, s.cwd);
	else
		c->cwd = xstrdup(a->home);
	c->queue = s.queue;
	c->send = s.send;
	c->pin = s.node;
	c->slurm = s.slurm;
	s.slurm = NULL;
	s.queue = s.send = s.node = NULL;
	rh_call_spec_free(&s);
	return 0;
}

static struct call *
call_new(void)
{
	struct call *c = xcalloc(1, sizeof(*c));

	c->exit_code = -1;
	c->out_size[0] = c->out_size[1] = -1;
	return c;
}

/* now: the replies are written at once, not at the end of the turn. */
static void
answer_waiters(struct agent *a, struct call *c, int now)
{
	struct waiter *w;
	cJSON *m;

	while ((w = c->waiters) != NULL) {
		c->waiters = w->next;
		m = rh_proto_reply(w->id);
		record_describe(a, c->id, c, m, RECORD_RESULT, NULL);
		w->conn->waiting--;
		conn_send(a, w->conn, m);
		if (now)
			conn_flush(a, w->conn);
		free(w);
	}
}

/* A call has ended: record it, answer who waits, forget it. */
static void
call_end(struct agent *a, struct call *c, enum call_state state,
         const char *fmt, ...) RH_PRINTF(4, 5);

static void
call_end(struct agent *a, struct call *c, enum call_state state,
         const char *fmt, ...)
{
	va_list ap;

	c->state = state;
	clock_gettime(CLOCK_REALTIME, &c->ended_at);
	c->reason[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
		va_end(ap);
	}
	/* its record first: a call answered is a call recorded */
	record_end(a, c);
	rh_debug("call %s: %s%s%s", c->id, call_state_name(state),
	         *c->reason ? ": " : "", c->reason);
	list_remove(c);
	/* The last call running is answered at once (it waits for nothing
	 * else); the replies of many calls ending together still go out
	 * together, at the end of the turn. */
	answer_waiters(a, c, a->running.n == 0 && a->queued.n == 0);
	outwait_wake(a, c->id);         /* who follows its output */
	call_free(c);
}

void
call_finish(struct agent *a, struct call *c, enum call_state state,
            const char *reason)
{
	if (reason != NULL)
		call_end(a, c, state, "%s", reason);
	else
		call_end(a, c, state, NULL);
}

/*
 * $refs: {"$ref": "<send>/calls/ID"} among a call's args and kwargs, at
 * any depth, is that call's result. A call holding some waits (queued)
 * until every call it names has ended, then gets the results put in its
 * spec and starts; a call named that failed, was cancelled, does not
 * exist or belongs to another send fails it, with the $ref in the reason.
 */
struct refs_walk {
	struct agent *a;
	struct call *c;
	int found;              /* refs seen */
	int pending;            /* of calls not yet ended */
	char why[200];          /* the failure */
};

/* The call id and the send of a $ref object, or NULL. */
static const char *
ref_target(const cJSON *o, char **send)
{
	const cJSON *ref = cJSON_GetObjectItemCaseSensitive(o, "$ref");
	const char *id;
	size_t len;

	if (cJSON_GetArraySize(o) != 1 || !cJSON_IsString(ref) ||
	    (id = rh_call_ref_split(ref->valuestring, &len)) == NULL)
		return NULL;
	*send = xstrndup(ref->valuestring, len);
	return id;
}

/* What a done call's result is as a value: a Python call's JSON, else
 * its stdout as text, one last newline off. NULL, with why, if none. */
static cJSON *
ref_value(const char *id, char *why, size_t len)
{
	struct rh_buf b = { 0 };
	char *path = record_path(id, "result");
	cJSON *v = NULL;
	int r;

	if ((r = record_result(id, &b)) == -ENOENT)
		r = rh_file_read(path, RH_PROTO_FRAME_MAX, &b, NULL);
	if (r == 0) {
		if ((v = rh_json_parse(b.data, b.len, path, NULL)) == NULL)
			snprintf(why, len, "its result is not JSON");
	} else if (r == -ENOENT) {
		free(path);
		path = record_path(id, "stdout");
		b.len = 0;
		r = rh_file_read(path, RH_PROTO_FRAME_MAX, &b, NULL);
		if (r == -ENOENT) {
			r = 0;          /* it printed nothing */
			b.len = 0;
		}
		if (r == 0 && b.len > 0 && b.data[b.len - 1] == '\n')
			b.len--;
		if (r == 0 && memchr(b.data, '\0', b.len) != NULL)
			snprintf(why, len, "its result holds a NUL byte");
		else if (r == 0) {
			rh_buf_append(&b, "", 1);
			v = cJSON_CreateString(b.data);
		}
	}
	if (r < 0)
		snprintf(why, len, "cannot read its result: %s",
		         r == -EFBIG ? "over 16 MiB" : strerror(-r));
	rh_buf_free(&b);
	free(path);
	return v;
}

/* Look at (put != 0: replace) every $ref below v. */
static int
refs_each(cJSON *v, struct refs_walk *w, int put)
{
	struct rh_call_record rec;
	struct rh_err err;
	cJSON *ch, *next, *json, *val;
	const char *id;
	char *send;
	int r;

	for (ch = v != NULL ? v->child : NULL; ch != NULL; ch = next) {
		next = ch->next;
		if (!cJSON_IsObject(ch) ||
		    cJSON_GetObjectItemCaseSensitive(ch, "$ref") == NULL) {
			if (refs_each(ch, w, put) < 0)
				return -1;
			continue;
		}
		if ((id = ref_target(ch, &send)) == NULL) {
			snprintf(w->why, sizeof(w->why), "a $ref is "
			         "{\"$ref\": \"<send>/calls/<call id>\"}");
			return -1;
		}
		w->found++;
		if (!put) {
			if (w->a != NULL && call_find(w->a, id) != NULL)
				w->pending++;
			free(send);
			continue;
		}
		r = record_load(id, &json, &rec, &err);
		val = NULL;
		if (r == -ENOENT)
			snprintf(w->why, sizeof(w->why), "no such call on "
			         "this cluster");
		else if (r < 0)
			snprintf(w->why, sizeof(w->why), "%.150s", err.msg);
		else if (rec.send == NULL || strcmp(rec.send, send) != 0)
			snprintf(w->why, sizeof(w->why), "that call belongs "
			         "to %s", rec.send ? rec.send : "no send");
		else if (rec.state != RH_CALL_DONE)
			snprintf(w->why, sizeof(w->why), "that call %s%s%s",
			         rh_call_state_name(rec.state),
			         rec.reason ? ": " : "",
			         rec.reason ? rec.reason : "");
		else
			val = ref_value(id, w->why, sizeof(w->why));
		rh_call_record_free(&rec);
		cJSON_Delete(json);
		free(send);
		if (val == NULL) {
			char *what = xstrdup(w->why);

			snprintf(w->why, sizeof(w->why), "$ref %s: %s",
			         cJSON_GetObjectItemCaseSensitive(ch,
			         "$ref")->valuestring, what);
			free(what);
			return -1;
		}
		if (cJSON_IsObject(v))  /* a kwarg keeps its name */
			cJSON_ReplaceItemInObjectCaseSensitive(v, ch->string,
			                                       val);
		else
			cJSON_ReplaceItemViaPointer(v, ch, val);
	}
	return 0;
}

/* Keep the spec of a call that holds $refs; refuse malformed ones. */
static int
refs_scan(const cJSON *spec, struct call *c, struct rh_err *err)
{
	struct refs_walk w = { NULL, c, 0, 0, "" };
	cJSON *copy = cJSON_Duplicate(spec, 1);
	int r;

	/* with no agent, nothing is looked up: only the form is checked */
	r = refs_each(cJSON_GetObjectItemCaseSensitive(copy, "args"), &w, 0);
	if (r == 0)
		r = refs_each(cJSON_GetObjectItemCaseSensitive(copy, "kwargs"),
		              &w, 0);
	if (r < 0 || w.found == 0) {
		cJSON_Delete(copy);
		return r < 0 ? rh_err_set(err, EINVAL, "%s", w.why) : 0;
	}
	c->refspec = copy;
	return 0;
}

/* 1: a call it names has not ended; 0: resolved, ready to start; -1:
 * failed (and c is gone). */
static int
refs_resolve(struct agent *a, struct call *c)
{
	struct refs_walk w = { a, c, 0, 0, "" };
	cJSON *spec = c->refspec, *args, *kwargs;
	struct call *tmp;
	struct rh_err err;
	char **argv;

	args = cJSON_GetObjectItemCaseSensitive(spec, "args");
	kwargs = cJSON_GetObjectItemCaseSensitive(spec, "kwargs");
	refs_each(args, &w, 0);
	refs_each(kwargs, &w, 0);
	if (w.pending > 0)
		return 1;
	if (refs_each(args, &w, 1) < 0 || refs_each(kwargs, &w, 1) < 0) {
		call_end(a, c, CALL_FAILED, "%s", w.why);
		return -1;
	}
	/* the argv (or the Python worker's request) again, with the values */
	tmp = call_new();
	if (spec_parse(a, spec, tmp, &err) < 0) {
		call_free(tmp);
		call_end(a, c, CALL_FAILED, "its $refs resolved: %s", err.msg);
		return -1;
	}
	argv = c->argv;
	c->argv = tmp->argv;
	tmp->argv = argv;
	spec = c->py;
	c->py = tmp->py;
	tmp->py = spec;
	call_free(tmp);
	/* what a worker node (head.c) or a job step (step.c) is sent */
	if (a->head != NULL || c->slurm != NULL)
		c->resolved = c->refspec;
	else
		cJSON_Delete(c->refspec);
	c->refspec = NULL;
	return 0;
}

int
call_parse(struct agent *a, const cJSON *req, struct call **out,
           struct rh_err *err)
{
	struct call *c = call_new();
	int r;

	*out = NULL;
	if ((r = spec_parse(a, req, c, err)) < 0 ||
	    (r = refs_scan(req, c, err)) < 0) {
		call_free(c);
		return r;
	}
	*out = c;
	return 0;
}

int
call_submit(struct agent *a, const cJSON *req, struct call **out,
            struct rh_err *err)
{
	const cJSON *senv = cJSON_GetObjectItemCaseSensitive(req,
	                                                     "secret_env");
	struct call *c;
	int r;

	if ((r = call_parse(a, req, &c, err)) < 0)
		return r;
	if ((r = record_create(a, c, req, err)) < 0) {
		call_free(c);
		return r;
	}
	c->state = CALL_QUEUED;
	/* its secrets' values, should it run on a worker node (head.c) or
	 * as a job step (step.c) */
	if ((a->head != NULL || c->slurm != NULL) && cJSON_IsObject(senv))
		c->secrets = cJSON_Duplicate(senv, 1);
	call_submitted(a);      /* an earlier one's line, if any */
	a->unsaved = c;
	list_append(&a->queued, c);
	a->ncalls++;
	rh_debug("call %s: queued: %s", c->id,
	         c->argv != NULL ? c->argv[0] : "a Python function");
	*out = c;
	return 0;
}

void
call_submitted(struct agent *a)
{
	if (a->unsaved != NULL)
		record_save(a, a->unsaved);     /* clears a->unsaved */
}

int
call_open_output(const char *id, const char *name)
{
	char *path = record_path(id, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	free(path);
	return fd;
}

/* What a program started for a call gets (pool.c's workers too): its own
 * process group, so that cancel reaches what it starts, and the signals
 * the agent blocks or ignores back to normal. */
void
call_spawnattr_init(posix_spawnattr_t *at)
{
	sigset_t none, dfl;

	posix_spawnattr_init(at);
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGCHLD);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_setpgroup(at, 0);
	posix_spawnattr_setsigmask(at, &none);
	posix_spawnattr_setsigdefault(at, &dfl);
	posix_spawnattr_setflags(at, POSIX_SPAWN_SETPGROUP |
	                         POSIX_SPAWN_SETSIGMASK |
	                         POSIX_SPAWN_SETSIGDEF);
}

/*
 * A command's program is started with clone(CLONE_VM | CLONE_VFORK) on a
 * stack kept for it, as posix_spawn does but without what it costs per
 * call that a command does not need: a stack mapped and unmapped, file
 * actions checked against the descriptor limit, /dev/null opened again,
 * and a sigaction pair for every signal (posix_spawn looks at each, as
 * the parent blocks them all). The agent has no signal handlers (a
 * signalfd takes its signals): exec resets what is caught, so only the
 * signals it ignores or blocks are set back. The agent waits (vfork) only
 * until the exec; one child at a time uses the stack.
 */
struct cmd_spawn {
	char *const *argv;
	char *const *envp;
	const char *path;       /* the agent's PATH */
	const char *cwd;
	int in, out, err;
	volatile int error;     /* the child's errno, if it did not exec */
};

#define SPAWN_STACK (64 * 1024)

/* Run in the child, on the spawn stack, sharing the agent's memory until
 * the exec: only system calls, nothing that allocates. */
#if defined(__has_attribute)
#if __has_attribute(no_sanitize)
__attribute__((no_sanitize("address", "undefined")))
#endif
#endif
static int
spawn_child(void *arg)
{
	struct cmd_spawn *s = arg;
	static const int dfl[] = { SIGPIPE, SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	char buf[PATH_MAX + NAME_MAX + 2];
	const char *file = s->argv[0], *p, *end;
	struct sigaction sa;
	sigset_t none;
	size_t flen = strlen(file), dlen;
	int saw_eacces = 0;
	unsigned i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(dfl) / sizeof(dfl[0]); i++)
		sigaction(dfl[i], &sa, NULL);
	/* its own process group, so that cancel reaches what it starts */
	if (setpgid(0, 0) < 0 || dup2(s->in, 0) < 0 || dup2(s->out, 1) < 0 ||
	    dup2(s->err, 2) < 0 || chdir(s->cwd) < 0)
		goto fail;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (strchr(file, '/') != NULL) {
		execve(file, s->argv, s->envp);
		goto fail;
	}
	/* the agent's PATH, as posix_spawnp and execvp search it */
	errno = ENOENT;
	if (flen > NAME_MAX)
		goto fail;
	for (p = s->path; ; p = end + 1) {
		if ((end = strchr(p, ':')) == NULL)
			end = p + strlen(p);
		dlen = (size_t)(end - p);
		if (dlen < PATH_MAX) {
			memcpy(buf, p, dlen);
			if (dlen > 0)
				buf[dlen++] = '/';
			memcpy(buf + dlen, file, flen + 1);
			execve(buf, s->argv, s->envp);
			switch (errno) {
			case EACCES:
				saw_eacces = 1;
				break;
			case ENOENT: case ENOTDIR: case ESTALE:
			case ENODEV: case ETIMEDOUT:
				break;
			default:
				goto fail;
			}
		}
		if (*end == '\0')
			break;
	}
	if (saw_eacces)
		errno = EACCES;
fail:
	s->error = errno;
	_exit(127);
}

/* CLOCK_BOOTTIME in clock ticks, as /proc/PID/stat gives a process's
 * start (field 22: the kernel's boot-time clock at its clone, in ns,
 * divided down to ticks). */
static unsigned long long
boot_ticks(void)
{
	static long hz;
	struct timespec ts;

	if (hz <= 0 && (hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ((unsigned long long)ts.tv_sec * 1000000000ULL +
	        (unsigned long long)ts.tv_nsec) / (1000000000ULL /
	        (unsigned long long)hz);
}

/* 0 and the child's pid and start (as proc_start gives it), or an errno.
 * The child's start lies between the clock read before and after the
 * clone: when both are the same tick, that is its start, without reading
 * /proc/PID/stat (which costs the kernel more than the clone). */
static int
spawn_command(struct cmd_spawn *s, pid_t *pid, unsigned long long *start)
{
	static char *stack;
	static int devnull = -1;
	unsigned long long t0, t1;
	sigset_t all, old;
	pid_t p;
	int r;

	if (stack == NULL)
		stack = xmalloc(SPAWN_STACK);
	if (devnull < 0 &&
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	s->in = devnull;
	if (s->path == NULL)
		s->path = "/bin:/usr/bin";
	s->error = 0;
	/* nothing may run a handler on the child's side meanwhile */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	t0 = boot_ticks();
	p = clone(spawn_child, stack + SPAWN_STACK,
	          CLONE_VM | CLONE_VFORK | SIGCHLD, s);
	r = p < 0 ? errno : s->error;
	t1 = boot_ticks();
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (p > 0 && r != 0)
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
	*pid = p;
	*start = r == 0 ? (t0 == t1 ? t0 : proc_start(p)) : 0;
	return r;
}

/* A descriptor above 2 (the child's 0, 1 and 2 are dup2'd over). */
static int
fd_above_stdio(int fd)
{
	int d;

	if (fd < 0 || fd > 2)
		return fd;
	d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	close(fd);
	return d;
}

/* Start a queued call (already out of the queue). */
static void
call_start(struct agent *a, struct call *c)
{
	struct cmd_spawn sp;
	struct stat st;
	unsigned long long start = 0;
	int out = -1, errfd = -1, r;
	pid_t pid = 0;

	list_append(&a->running, c);
	outwait_wake(a, c->id);         /* its output may move */
	if (c->slurm != NULL) {         /* a job step of its own */
		step_start(a, c);
		return;
	}
	if (a->head != NULL)    /* the head ran it: its record says so */
		c->node = xstrdup(head_name(a));
	cJSON_Delete(c->secrets);       /* kept for a node only */
	c->secrets = NULL;
	r = stat(c->cwd, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (r != 0) {
		call_end(a, c, CALL_FAILED, "working directory %s: %s", c->cwd,
		         strerror(r));
		return;
	}
	if (c->py != NULL) {
		pool_start(a, c);
		return;
	}
	if ((out = fd_above_stdio(call_open_output(c->id, "stdout"))) < 0 ||
	    (errfd = fd_above_stdio(call_open_output(c->id, "stderr"))) < 0) {
		r = errno;
		if (out >= 0)
			close(out);
		call_end(a, c, CALL_FAILED, "cannot create its output files: "
		         "%s", strerror(r));
		return;
	}
	memset(&sp, 0, sizeof(sp));
	sp.argv = c->argv;
	sp.envp = c->envp != NULL ? c->envp : environ;
	sp.path = getenv("PATH");
	sp.cwd = c->cwd;
	sp.out = out;
	sp.err = errfd;
	r = spawn_command(&sp, &pid, &start);
	/* the child has its environment: secrets leave the agent's memory */
	envp_free(c->envp);
	c->envp = NULL;
	close(out);
	close(errfd);
	if (r != 0) {
		call_end(a, c, CALL_FAILED, "cannot run '%s': %s", c->argv[0],
		         strerror(r));
		return;
	}
	call_running(a, c, pid, start);
	rh_debug("call %s: running as pid %ld", c->id, (long)pid);
}

void
call_running(struct agent *a, struct call *c, pid_t pid,
             unsigned long long start_ticks)
{
	c->pid = pid;
	c->start_ticks = start_ticks;
	c->state = CALL_RUNNING;
	clock_gettime(CLOCK_REALTIME, &c->started_at);
	record_save(a, c);
}

/* Whether an earlier call of c's queue is running or waiting. */
static int
queue_busy(struct agent *a, const struct call *c)
{
	const struct call *o;

	for (o = a->running.head; o != NULL; o = o->next)
		if (o->queue != NULL && strcmp(o->queue, c->queue) == 0)
			return 1;
	for (o = a->queued.head; o != c; o = o->next)
		if (o->queue != NULL && strcmp(o->queue, c->queue) == 0)
			return 1;
	return 0;
}

/* Take a ready call from the queue to a worker node (head.c); the node
 * for the next call. */
static struct node *
call_start_on(struct agent *a, struct call *c, struct node *n)
{
	list_remove(c);
	list_append(&a->running, c);
	c->state = CALL_RUNNING;
	clock_gettime(CLOCK_REALTIME, &c->started_at);
	head_send_call(a, n, c);
	record_save(a, c);
	outwait_wake(a, c->id);         /* who follows it: ask there */
	return head_pick(a);
}

/* Calls running here, not on a worker node. */
static unsigned
running_here(const struct agent *a)
{
	const struct call *c;
	unsigned n = 0;

	/* (a job step's srun takes no slot here: step.c) */
	if (a->head == NULL)
		return a->running.n - a->running.nstep;
	for (c = a->running.head; c != NULL; c = c->next)
		n += c->on == NULL && c->slurm == NULL;
	return n;
}

/* Calls of a Slurm job step of their own (step.c) wait for no slot here
 * or on a worker node, only for their queue and $refs: Slurm places the
 * step. At most jobs of them run (each an srun here) at once. */
static void
schedule_steps(struct agent *a)
{
	struct call *c, *next;

	for (c = a->queued.head; c != NULL && a->queued.nstep > 0 &&
	     a->running.nstep < a->jobs; c = next) {
		next = c->next;
		if (c->slurm == NULL)
			continue;
		if (c->queue != NULL && queue_busy(a, c))
			continue;
		if (c->refspec != NULL && refs_resolve(a, c) != 0)
			continue;       /* waits for a $ref, or failed */
		list_remove(c);
		call_start(a, c);
	}
}

void
call_schedule(struct agent *a)
{
	struct call *c, *next;
	struct node *node, *cn;
	unsigned others = 0, here = running_here(a);
	unsigned long long pass;
	int room = pool_any_room(a), py, local = head_local(a);

	if (a->stopping)
		return;
	pass = ++a->sched_pass;
	if (a->queued.nstep > 0) {
		schedule_steps(a);
		here = running_here(a);
	}
	node = head_pick(a);
	for (c = a->queued.head; c != NULL &&
	     ((local && here < a->jobs) || node != NULL); c = next) {
		next = c->next;
		/* a call whose secrets are not at hand runs here only */
		cn = node;
		if (cn != NULL && c->secrets == NULL &&
		    cJSON_GetObjectItemCaseSensitive(c->spec, "secret_names"))
			cn = NULL;
		if (c->pool_only) {
			/* A map queues thousands of these: once no pool has
			 * a worker free, no node a slot, and no other kind
			 * of call is left further on, the rest of the list
			 * waits. */
			if ((!room || !local) && node == NULL &&
			    others == a->queued.nother)
				break;
			if (!(local && here < a->jobs &&
			      pool_ready(a, c, pass))) {
				if (cn == NULL)
					continue;
				node = call_start_on(a, c, cn);
				continue;
			}
		} else {
			others++;
			if (c->slurm != NULL)
				continue;       /* schedule_steps' */
			if (c->queue != NULL && queue_busy(a, c))
				continue;
			if (c->refspec != NULL && refs_resolve(a, c) != 0)
				continue;       /* waits for a $ref, or failed */
			if (c->pin != NULL && a->head != NULL &&
			    !head_is(a, c->pin)) {
				struct node *pn;
				int up;

				/* it must run on that worker node */
				if ((pn = head_node_named(a, c->pin, &up)) ==
				    NULL && !up) {
					call_end(a, c, CALL_FAILED, "node %s is "
					         "not connected to the head",
					         c->pin);
					continue;
				}
				if (pn == NULL)
					continue;
				node = call_start_on(a, c, pn);
				continue;
			}
			if (c->pin != NULL && a->head != NULL) {
				/* it must run here */
				if (here >= a->jobs || (c->py != NULL &&
				    !pool_ready(a, c, pass)))
					continue;
			} else if (!(local && here < a->jobs) ||
			    (c->py != NULL && !pool_ready(a, c, pass))) {
				if (cn == NULL)
					continue;
				node = call_start_on(a, c, cn);
				continue;
			}
		}
		py = c->py != NULL;
		list_remove(c);
		here++;
		call_start(a, c);       /* may end c: it is not looked at again */
		if (py)
			room = pool_any_room(a);
	}
}

void
call_reap(struct agent *a)
{
	struct call *c;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pool_reaped(a, pid, st))
			continue;
		for (c = a->running.head; c != NULL; c = c->next)
			if (c->pid == pid)
				break;
		if (c == NULL)
			continue;
		if (WIFEXITED(st))
			c->exit_code = WEXITSTATUS(st);
		else if (WIFSIGNALED(st))
			c->signo = WTERMSIG(st);
		if (c->slurm != NULL && !c->cancelled) {
			step_reaped(a, c, st);  /* as its step says */
			continue;
		}
		if (c->cancelled) {
			/* What the call started goes with it. */
			kill(-pid, SIGKILL);
			call_end(a, c, CALL_CANCELLED, "cancelled");
		} else if (WIFEXITED(st) && c->exit_code == 0)
			call_end(a, c, CALL_DONE, NULL);
		else if (WIFEXITED(st))
			call_end(a, c, CALL_FAILED, "exited with status %d",
			         c->exit_code);
		else
			call_end(a, c, CALL_FAILED, "killed by signal %d (%s)",
			         c->signo, strsignal(c->signo));
	}
	call_schedule(a);
}

int
call_tick(struct agent *a)
{
	struct timespec now;
	struct call *c;
	long ms, next = -1;
	int spare;

	next = record_journal_tidy(a);
	spare = record_spare_step(a);
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (c = a->running.head; c != NULL; c = c->next) {
		if (c->kill_at.tv_sec == 0)
			continue;
		if ((ms = rh_ms_between(&now, &c->kill_at)) <= 0) {
			rh_info("call %s: still running %d ms after SIGTERM, "
			        "killing it", c->id, AGENT_KILL_GRACE_MS);
			kill(-c->pid, SIGKILL);
			c->kill_at.tv_sec = c->kill_at.tv_nsec = 0;
			continue;
		}
		if (next < 0 || ms < next)
			next = ms;
	}
	if ((ms = step_tick(a)) >= 0 && (next < 0 || ms < next))
		next = ms;
	if (spare)
		return 0;       /* a look at the sockets, then the next step */
	return next < 0 ? -1 : (int)(next + 1);
}

struct call *
call_find(struct agent *a, const char *id)
{
	struct call *c;

	for (c = a->running.head; c != NULL; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	for (c = a->queued.head; c != NULL; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

int
call_cancel(struct agent *a, const char *id, int *was_active,
            struct rh_err *err)
{
	struct call *c = call_find(a, id);

	*was_active = c != NULL;
	if (c == NULL)
		return record_exists(id) ? 0 :
		       rh_err_set(err, ENOENT, "no call %s", id);
	if (c->state == CALL_QUEUED) {
		call_end(a, c, CALL_CANCELLED, "cancelled before it started");
		call_schedule(a);       /* a call waiting on its result fails */
		return 0;
	}
	if (c->on != NULL) {    /* on a worker node: it ends there */
		if (!c->cancelled)
			head_cancel(a, c);
		c->cancelled = 1;
		return 0;
	}
	if (!c->cancelled) {
		c->cancelled = 1;
		rh_info("call %s: cancelling pid %ld", id, (long)c->pid);
		kill(-c->pid, SIGTERM);
		clock_gettime(CLOCK_MONOTONIC, &c->kill_at);
		c->kill_at.tv_sec += AGENT_KILL_GRACE_MS / 1000;
		c->kill_at.tv_nsec += (AGENT_KILL_GRACE_MS % 1000) * 1000000L;
		if (c->kill_at.tv_nsec >= 1000000000L) {
			c->kill_at.tv_sec++;
			c->kill_at.tv_nsec -= 1000000000L;
		}
	}
	return 0;
}

void
call_requeue(struct agent *a, struct call *c)
{
	list_remove(c);
	c->state = CALL_QUEUED;
	c->on = NULL;
	free(c->node);
	c->node = NULL;
	memset(&c->started_at, 0, sizeof(c->started_at));
	list_prepend(&a->queued, c);
	record_save(a, c);
	outwait_wake(a, c->id);
	rh_info("call %s: queued again", c->id);
}

/* The agent is going away: what runs is killed and fails; what waits
 * stays queued on disk and runs when the agent is back. */
void
call_stop_all(struct agent *a)
{
	struct call *c;

	call_submitted(a);
	while ((c = a->running.head) != NULL) {
		/* a job step's srun cancels the step, then exits */
		if (c->on == NULL && c->pid > 0)
			kill(-c->pid, c->slurm != NULL ? SIGTERM : SIGKILL);
		call_end(a, c, CALL_FAILED, "the agent stopped while the call "
		         "ran");
	}
	while ((c = a->queued.head) != NULL) {
		list_remove(c);
		call_free(c);
	}
}

void
call_wait(struct call *call, struct conn *c, uint64_t id)
{
	struct waiter *w = xcalloc(1, sizeof(*w)), **pw;

	w->conn = c;
	w->id = id;
	c->waiting++;
	/* Keep the order requests came in. */
	for (pw = &call->waiters; *pw != NULL; pw = &(*pw)->next)
		;
	*pw = w;
}

void
call_forget_conn(struct agent *a, struct conn *c)
{
	struct call_list *lists[] = { &a->queued, &a->running };
	struct waiter **pw, *w;
	struct call *call;
	size_t i;

	for (i = 0; i < 2; i++) {
		for (call = lists[i]->head; call != NULL; call = call->next) {
			for (pw = &call->waiters; (w = *pw) != NULL;) {
				if (w->conn == c) {
					*pw = w->next;
					free(w);
				} else
					pw = &w->next;
			}
		}
	}
}

/* A call found active after a restart: run it again if it never started,
 * else fail it (killing what is left of it: we cannot know its end). */
static void
recover(struct agent *a, const char *id, const cJSON *jrec)
{
	struct rh_call_record rec;
	cJSON *disk = NULL, *spec = NULL;
	const cJSON *json;
	struct timespec now;
	struct rh_err err;
	const char *why;
	struct call *c;
	uint64_t us;
	pid_t pid = 0;
	int state = -1;

	/* The journal's record, unless the log says the call ended (it is
	 * written before the journal hears of the end). */
	record_load(id, &disk, &rec, NULL);
	json = disk;
	if (jrec != NULL && (disk == NULL || record_is_active(disk)))
		json = jrec;
	rh_call_record_free(&rec);
	if (json != NULL && rh_call_record_decode(json, &rec, &err) == 0)
		state = (int)rec.state;
	else if (json != NULL)
		rh_warn("call %s: its record does not read: %s", id, err.msg);
	/* its spec: in the journal's lines, or as agents before kept it */
	if (rec.spec != NULL)
		spec = cJSON_Duplicate(rec.spec, 1);
	else
		spec = record_read(id, "spec.json");
	/* a worker node's calls are its head's: a new worker runs none of
	 * the old one's (the head failed them when it lost the node) */
	if (state == RH_CALL_QUEUED && spec != NULL && a->worker_name == NULL &&
	    cJSON_GetObjectItemCaseSensitive(spec, "secret_names") == NULL) {
		if (call_parse(a, spec, &c, &err) == 0) {
			snprintf(c->id, sizeof(c->id), "%s", id);
			c->spec = cJSON_Duplicate(spec, 1);
			us = record_id_time(id);
			c->queued_at.tv_sec = (time_t)(us / 1000000);
			c->queued_at.tv_nsec = (long)(us % 1000000) * 1000;
			c->state = CALL_QUEUED;
			list_append(&a->queued, c);
			rh_info("call %s: queued again after a restart", id);
			goto out;
		}
		rh_warn("call %s: its spec no longer parses: %s", id, err.msg);
	}
	if (state < 0 || !RH_CALL_ENDED(state)) {
		if (rec.pid > 1) {
			pid = (pid_t)rec.pid;
			if (rec.pid_start <= 0 ||
			    proc_start(pid) != (unsigned long long)rec.pid_start)
				pid = 0;
		}
		/* a job step's srun is asked to end it; the step too
		 * (step.c) */
		if (pid > 0)
			kill(-pid, step_ran(id) ? SIGTERM : SIGKILL);
		step_orphan(id);
		/* its secrets were in the dead agent's memory only */
		why = a->worker_name != NULL ? "the worker agent stopped "
		      "before the call ended (its head was lost)" :
		      cJSON_GetObjectItemCaseSensitive(spec, "secret_names") ?
		      "its secrets were held in memory only and were lost "
		      "when the agent restarted" :
		      state < 0 ? "its record was lost when the agent died" :
		      state == RH_CALL_RUNNING ?
		      "the agent died while the call ran" :
		      "its spec could not be read after the agent died";
		clock_gettime(CLOCK_REALTIME, &now);
		if (state < 0)
			rh_call_record_init(&rec);
		rec.call = id;
		rec.state = RH_CALL_FAILED;
		rec.reason = why;
		rec.ended_at = now;
		if (rec.pid_start < 0)  /* on disk, beside pid */
			rec.pid_start = 0;
		/* the result and sizes are not the record's on disk */
		rec.result_is = RH_RESULT_NONE;
		rec.stdout_size = rec.stderr_size = -1;
		record_write_ended(id, &rec);
		rh_info("call %s: failed: %s%s", id, why,
		        pid > 0 ? " (its processes killed)" : "");
	}
	record_clear_active(a, id);
out:
	rh_call_record_free(&rec);
	cJSON_Delete(disk);
	cJSON_Delete(spec);
}

int
call_init(struct agent *a, struct rh_err *err)
{
	cJSON *jrecs, *jrec;
	char **ids;
	size_t n, i;
	uint64_t us;
	int r;

	if ((mkdir(AGENT_CALLS, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(AGENT_ACTIVE, 0700) < 0 && errno != EEXIST))
		return rh_err_set(err, errno, "%s: cannot make its calls "
		                  "directories: %s", a->dir, strerror(errno));
	if ((r = record_log_open(a, err)) < 0)
		return r;
	/* New ids must sort after every id on disk, whatever the clock. */
	ids = record_ids(AGENT_CALLS, &n);
	if (n > 0 && (us = record_id_time(ids[n - 1])) > a->last_id)
		a->last_id = us;
	record_ids_free(ids, n);
	/* Active calls as agents before the journal marked them; the
	 * journal now holds those queued again. */
	ids = record_ids(AGENT_ACTIVE, &n);
	for (i = 0; i < n; i++) {
		recover(a, ids[i], NULL);
		record_clear_active(a, ids[i]);
	}
	record_ids_free(ids, n);
	jrecs = record_journal_load();
	cJSON_ArrayForEach(jrec, jrecs) {
		const char *id = cJSON_GetObjectItemCaseSensitive(
		                 jrec, "call")->valuestring;

		/* a Python call may have left nothing in calls/ */
		if ((us = record_id_time(id)) > a->last_id)
			a->last_id = us;
		recover(a, id, jrec);
	}
	cJSON_Delete(jrecs);
	return record_journal_open(a, err);
}

/*
 * pool.c - calls of Python sends, served by warm worker processes: a pool
 * per (relative_path, module, interpreter) of at most one worker per CPU, each running
 * agent/runner.py (built into rhagent, written to ~/.rh/agent/runner.py at
 * start, so that uploading the binary is enough). A worker imports its
 * module once and then runs one call at a time, so a call starts no
 * interpreter.
 *
 * The agent talks to a worker over a socketpair (fd 3 in the worker), one
 * JSON object a line (runner.py says which); its stdout and stderr are the
 * call's files, so nothing the user's code prints can break the protocol.
 * A worker that dies fails the call it ran and is replaced by the next
 * call; cancel kills it; one whose module file changed on disk, or whose
 * virtualenv changed (rhfs renews its stamp, .rh-stamp, when it installs
 * there), or that idled for POOL_IDLE_MS (or RHAGENT_WORKER_IDLE
 * seconds), is let go.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "base.h"
#include "agent.h"
#include "agent/runner-py.h"    /* RUNNER_PY, made from agent/runner.py */

extern char **environ;

#define RUNNER_FILE "runner.py"
/* An idle worker is let go after this long, unless the environment
 * variable RHAGENT_WORKER_IDLE says how many seconds. */
#define POOL_IDLE_MS (5 * 60 * 1000)
/* The longest line a worker may send (its lines are short). */
#define FRAME_MAX (64u * 1024)

struct pool;

struct worker {
	struct pool *pool;
	pid_t pid;
	unsigned long long start_ticks;
	int fd;                 /* -1 once closed */
	struct rh_buf in;       /* received, not yet a whole line */
	struct rh_buf out;      /* to send */
	size_t out_off;
	struct call *call;      /* the call it runs, or NULL: idle */
	struct timespec mtime;  /* of the module's file when it imported */
	int has_mtime;
	struct stat stamp;      /* of the virtualenv's stamp when it started */
	int has_stamp;          /* the stamp was there then */
	int retiring;           /* takes no more calls; exits */
	int dead;               /* reaped; freed at the next pool_nfds */
	struct timespec idle_since;     /* CLOCK_MONOTONIC */
	struct worker *next;
};

struct pool {
	char *path;             /* relative_path, "" for null */
	char *module;
	char *python;           /* the interpreter its workers run: python3,
	                         * or a virtualenv's (a pool per env) */
	char *file;             /* the module's file, as a worker found it */
	char *stamp;            /* a virtualenv's stamp file, or NULL */
	struct worker *workers;
	unsigned long long full_pass;    /* call_schedule's pass that found no worker */
	struct pool *next;
};

/* The workers' output files, work/PID.stdout and work/PID.stderr: a
 * call's output is there while it runs (runner.py). */
#define WORK_DIR "work"
/* A virtualenv's interpreter (call.c), and the file rhfs renews in the
 * virtualenv whenever it installs there. */
#define VENV_PYTHON "/bin/python"
#define VENV_STAMP ".rh-stamp"

static struct pool *pool_find(struct agent *a, struct call *c, int create);

/* Workers of an earlier agent left their output files: they are gone. */
static void
work_clear(void)
{
	struct dirent *de;
	DIR *d = opendir(WORK_DIR);
	char *path;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf(WORK_DIR "/%s", de->d_name);
		unlink(path);
		free(path);
	}
	closedir(d);
}

static char *
work_file(pid_t pid, const char *stream)
{
	return xasprintf(WORK_DIR "/%ld.%s", (long)pid, stream);
}

/* A worker is gone: what the call it ran printed goes to the call (c) or,
 * without one, nowhere. */
static void
work_done(pid_t pid, const struct call *c)
{
	static const char *const streams[] = { "stdout", "stderr" };
	struct stat st;
	char *from, *to;
	size_t i;

	for (i = 0; i < 2; i++) {
		from = work_file(pid, streams[i]);
		if (c != NULL && stat(from, &st) == 0 && st.st_size > 0) {
			record_dir(c->id);
			to = record_path(c->id, streams[i]);
			if (rename(from, to) < 0)
				rh_warn("call %s: cannot keep its %s: %s",
				        c->id, streams[i], strerror(errno));
			free(to);
		} else
			unlink(from);
		free(from);
	}
}

char *
pool_output_path(const struct call *c, const char *stream)
{
	const struct worker *w;

	if (c->pool == NULL || c->state != CALL_RUNNING)
		return NULL;
	for (w = c->pool->workers; w != NULL; w = w->next)
		if (w->call == c)
			return work_file(w->pid, stream);
	return NULL;
}

int
pool_init(struct agent *a, struct rh_err *err)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), secs;
	const char *idle = getenv("RHAGENT_WORKER_IDLE");
	struct pool_set *ps = &a->pools;
	char *end;
	int r;

	ps->idle_ms = POOL_IDLE_MS;
	if (idle != NULL) {
		errno = 0;
		secs = strtol(idle, &end, 10);
		if (errno != 0 || end == idle || *end != '\0' || secs < 1 ||
		    secs > 7 * 24 * 3600)
			return rh_err_set(err, EINVAL, "RHAGENT_WORKER_IDLE="
			                  "'%s': not a number of seconds from 1 "
			                  "to 604800", idle);
		ps->idle_ms = secs * 1000;
	}
	ps->max_workers = cpus > 0 ? (unsigned)cpus : 1;
	if (ps->max_workers > a->jobs)
		ps->max_workers = a->jobs;
	free(ps->runner_path);
	ps->runner_path = xasprintf("%s/" RUNNER_FILE, a->dir);
	free(ps->work_path);
	ps->work_path = xasprintf("%s/" WORK_DIR, a->dir);
	if (mkdir(WORK_DIR, 0700) < 0 && errno != EEXIST)
		return rh_err_set(err, errno, "%s: %s", ps->work_path,
		                  strerror(errno));
	work_clear();
	/* Every start: the runner must match this agent. */
	if ((r = rh_file_replace(RUNNER_FILE, RUNNER_PY, strlen(RUNNER_PY),
	                         0600, 0)) < 0)
		return rh_err_set(err, -r, "%s: cannot write it: %s",
		                  ps->runner_path, strerror(-r));
	return 0;
}

void
pool_spec(struct agent *a, const struct rh_call_spec *s, const char *python,
          struct call *c)
{
	const cJSON *e;
	cJSON *py, *env;

	py = cJSON_CreateObject();
	cJSON_AddStringToObject(py, "python", python ? python : "python3");
	cJSON_AddStringToObject(py, "path", s->fn_path ? s->fn_path : "");
	cJSON_AddStringToObject(py, "module", s->fn_module);
	cJSON_AddStringToObject(py, "function", s->fn_function);
	cJSON_AddItemToObject(py, "args", s->args ? cJSON_Duplicate(s->args, 1) :
	                      cJSON_CreateArray());
	cJSON_AddItemToObject(py, "kwargs", s->kwargs ?
	                      cJSON_Duplicate(s->kwargs, 1) :
	                      cJSON_CreateObject());
	if (s->env != NULL)
		cJSON_AddItemToObject(py, "env", cJSON_Duplicate(s->env, 1));
	/* secrets' values join env: the worker sets them for the call's
	 * duration only (runner.py) */
	if (s->secret_env != NULL) {
		if ((env = cJSON_GetObjectItemCaseSensitive(py, "env")) == NULL)
			env = cJSON_AddObjectToObject(py, "env");
		cJSON_ArrayForEach(e, s->secret_env) {
			cJSON_DeleteItemFromObjectCaseSensitive(env, e->string);
			cJSON_AddStringToObject(env, e->string, e->valuestring);
		}
	}
	c->py = py;
	pool_find(a, c, 1);
}

static const char *
py_str(const struct call *c, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(c->py, key)->valuestring;
}

/* The pool of c's module; kept in c, since pools live as long as the
 * agent: the scheduler asks this of every queued call at each pass. */
static struct pool *
pool_find(struct agent *a, struct call *c, int create)
{
	const char *path, *module, *python;
	struct pool *p;
	size_t n;

	if (c->pool != NULL)
		return c->pool;
	path = py_str(c, "path");
	module = py_str(c, "module");
	python = py_str(c, "python");
	for (p = a->pools.list; p != NULL; p = p->next)
		if (strcmp(p->path, path) == 0 &&
		    strcmp(p->module, module) == 0 &&
		    strcmp(p->python, python) == 0)
			return c->pool = p;
	if (!create)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->path = xstrdup(path);
	p->module = xstrdup(module);
	p->python = xstrdup(python);
	n = strlen(python);
	if (n > sizeof(VENV_PYTHON) - 1 &&
	    strcmp(python + n - (sizeof(VENV_PYTHON) - 1), VENV_PYTHON) == 0)
		p->stamp = xasprintf("%.*s/" VENV_STAMP,
		                     (int)(n - (sizeof(VENV_PYTHON) - 1)), python);
	p->next = a->pools.list;
	a->pools.list = p;
	return c->pool = p;
}

/* Workers that take calls: neither dead nor leaving. */
static unsigned
live_workers(const struct pool *p)
{
	const struct worker *w;
	unsigned n = 0;

	for (w = p->workers; w != NULL; w = w->next)
		n += !w->dead && !w->retiring;
	return n;
}

static struct worker *
idle_worker(const struct pool *p)
{
	struct worker *w;

	for (w = p->workers; w != NULL; w = w->next)
		if (!w->dead && !w->retiring && w->call == NULL && w->fd >= 0)
			return w;
	return NULL;
}

/* Whether p can take a call now: an idle worker, or room for another. */
static int
has_room(const struct agent *a, const struct pool *p)
{
	return idle_worker(p) != NULL ||
	       live_workers(p) < a->pools.max_workers;
}

int
pool_ready(struct agent *a, struct call *c, unsigned long long pass)
{
	struct pool *p = pool_find(a, c, 0);

	if (p == NULL)
		return 1;
	if (p->full_pass == pass)
		return 0;       /* found full earlier in this scheduling pass */
	if (has_room(a, p))
		return 1;
	p->full_pass = pass;
	return 0;
}

int
pool_any_room(const struct agent *a)
{
	const struct pool *p;

	for (p = a->pools.list; p != NULL; p = p->next)
		if (has_room(a, p))
			return 1;
	return 0;
}

/* Let a worker go: no more calls; an idle one sees the end of its
 * requests and exits, and SIGTERM sees to it if it does not. */
static void
retire(struct worker *w, const char *why)
{
	if (w->retiring || w->dead)
		return;
	rh_debug("python worker %ld (%s%s%s): %s", (long)w->pid,
	         w->pool->path, *w->pool->path ? "/" : "", w->pool->module, why);
	w->retiring = 1;
	if (w->call == NULL) {
		if (w->fd >= 0) {
			close(w->fd);
			w->fd = -1;
		}
		kill(w->pid, SIGTERM);
	}
}

/* Why w must go: the module's file changed since w imported it, or its
 * virtualenv since it started; NULL: neither. */
static const char *
stale(const struct worker *w)
{
	struct stat st;
	int has;

	if (w->pool->stamp != NULL) {
		has = stat(w->pool->stamp, &st) == 0;
		if (has != w->has_stamp ||
		    (has && (st.st_ino != w->stamp.st_ino ||
		             st.st_mtim.tv_sec != w->stamp.st_mtim.tv_sec ||
		             st.st_mtim.tv_nsec != w->stamp.st_mtim.tv_nsec)))
			return "its virtualenv changed";
	}
	if (!w->has_mtime || w->pool->file == NULL)
		return NULL;
	if (stat(w->pool->file, &st) < 0)
		return "its module's file is gone";
	if (st.st_mtim.tv_sec != w->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != w->mtime.tv_nsec)
		return "its module changed on disk";
	return NULL;
}

static int
spawn(struct agent *a, struct pool *p, struct worker **out,
      struct rh_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	struct worker *w;
	char three[] = "3", *argv[7];
	struct stat stamp;
	int sv[2], r, fd, has_stamp;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return rh_err_set(err, errno, "cannot start a Python worker: "
		                  "socketpair: %s", strerror(errno));
	/* dup2 onto itself would keep close-on-exec. */
	if (sv[1] == 3) {
		fd = fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
		close(sv[1]);
		sv[1] = fd;
	}
	argv[0] = p->python;
	argv[1] = a->pools.runner_path;
	argv[2] = three;
	argv[3] = p->path;
	argv[4] = p->module;
	argv[5] = a->pools.work_path;
	argv[6] = NULL;
	/* the virtualenv as the worker finds it (before it looks) */
	has_stamp = p->stamp != NULL && stat(p->stamp, &stamp) == 0;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	/* stderr stays the agent's log: the runner's own trouble shows. */
	posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
	posix_spawn_file_actions_addchdir_np(&fa, a->home);
	call_spawnattr_init(&at);
	r = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	close(sv[1]);
	if (r != 0) {
		close(sv[0]);
		return rh_err_set(err, r, "cannot run %s for a Python "
		                  "worker: %s", p->python, strerror(r));
	}
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	w = xcalloc(1, sizeof(*w));
	w->pool = p;
	w->pid = pid;
	w->start_ticks = proc_start(pid);
	w->fd = sv[0];
	w->has_stamp = has_stamp;
	if (has_stamp)
		w->stamp = stamp;
	w->next = p->workers;
	p->workers = w;
	rh_debug("python worker %ld started for %s%s%s", (long)pid, p->path,
	         *p->path ? "/" : "", p->module);
	*out = w;
	return 0;
}

/* Write what w has to send, without blocking. */
static void
flush(struct worker *w)
{
	ssize_t n;

	while (w->fd >= 0 && w->out_off < w->out.len) {
		n = send(w->fd, w->out.data + w->out_off,
		         w->out.len - w->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* It is dying: SIGCHLD tells the rest. */
				rh_debug("python worker %ld: write: %s",
				         (long)w->pid, strerror(errno));
				close(w->fd);
				w->fd = -1;
			}
			return;
		}
		w->out_off += (size_t)n;
	}
	w->out.len = w->out_off = 0;
}

void
pool_start(struct agent *a, struct call *c)
{
	struct pool *p = pool_find(a, c, 1);
	struct worker *w;
	struct rh_err err;
	const char *why;
	cJSON *frame;
	char *dir, *text;

	while ((w = idle_worker(p)) != NULL && (why = stale(w)) != NULL)
		retire(w, why);
	if (w == NULL && spawn(a, p, &w, &err) < 0) {
		call_finish(a, c, CALL_FAILED, err.msg);
		return;
	}
	w->call = c;

	/* References: the call keeps its arguments. */
	dir = xasprintf("%s/" AGENT_CALLS "/%s", a->dir, c->id);
	frame = cJSON_CreateObject();
	/* keys held, not copied */
	cJSON_AddItemToObjectCS(frame, "call", cJSON_CreateString(c->id));
	cJSON_AddItemToObjectCS(frame, "function", cJSON_CreateString(
	                        py_str(c, "function")));
	cJSON_AddItemReferenceToObject(frame, "args", cJSON_GetObjectItem(
	                               c->py, "args"));
	cJSON_AddItemReferenceToObject(frame, "kwargs", cJSON_GetObjectItem(
	                               c->py, "kwargs"));
	if (cJSON_GetObjectItem(c->py, "env") != NULL)
		cJSON_AddItemReferenceToObject(frame, "env",
		                               cJSON_GetObjectItem(c->py, "env"));
	cJSON_AddItemToObjectCS(frame, "cwd", cJSON_CreateString(c->cwd));
	cJSON_AddItemToObjectCS(frame, "dir", cJSON_CreateString(dir));
	text = rh_json_print_owned(frame, 0);
	cJSON_Delete(frame);
	free(dir);
	rh_buf_append(&w->out, text, strlen(text));
	rh_buf_append(&w->out, "\n", 1);
	cJSON_free(text);
	flush(w);
	/* its record's line while the worker runs it, not before: the
	 * client hears of the call at the end of this turn, after it */
	call_running(a, c, w->pid, w->start_ticks);
	rh_debug("call %s: running on python worker %ld", c->id, (long)w->pid);
}

static void
set_idle(struct worker *w)
{
	w->call = NULL;
	clock_gettime(CLOCK_MONOTONIC, &w->idle_since);
	if (w->retiring) {
		w->retiring = 0;        /* so that retire acts now */
		retire(w, "let go after its call");
	}
}

/* One line from w; -1: it broke the protocol. */
static int
frame(struct agent *a, struct worker *w, const char *line, size_t len)
{
	cJSON *m = rh_json_parse(line, len, "a worker's line", NULL), *v, *mt;
	struct call *c = w->call;
	int ok;

	if (!cJSON_IsObject(m)) {
		cJSON_Delete(m);
		return -1;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(m, "ready")) != NULL) {
		v = cJSON_GetObjectItemCaseSensitive(m, "file");
		mt = cJSON_GetObjectItemCaseSensitive(m, "mtime");
		if (cJSON_IsString(v) && cJSON_GetArraySize(mt) == 2) {
			free(w->pool->file);
			w->pool->file = xstrdup(v->valuestring);
			w->mtime.tv_sec = (time_t)cJSON_GetArrayItem(mt, 0)->
			                  valuedouble;
			w->mtime.tv_nsec = (long)cJSON_GetArrayItem(mt, 1)->
			                   valuedouble;
			w->has_mtime = 1;
		}
		cJSON_Delete(m);
		return 0;
	}
	v = cJSON_GetObjectItemCaseSensitive(m, "call");
	if (c == NULL || !cJSON_IsString(v) || strcmp(v->valuestring, c->id)) {
		cJSON_Delete(m);
		return -1;
	}
	ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ok"));
	/* A cancelled call's worker has a SIGTERM on its way. */
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "retire")) ||
	    c->cancelled)
		w->retiring = 1;
	if (ok && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(
	                                 m, "result")))
		c->result = xstrdup(v->valuestring);
	/* what its output files hold, which saves looking */
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(m, "stdout")))
		c->out_size[0] = (long long)v->valuedouble;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(m, "stderr")))
		c->out_size[1] = (long long)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(m, "reason");
	set_idle(w);
	if (c->cancelled)       /* it ended before the signal did */
		call_finish(a, c, CALL_CANCELLED, "cancelled");
	else if (ok)
		call_finish(a, c, CALL_DONE, NULL);
	else
		call_finish(a, c, CALL_FAILED, cJSON_IsString(v) ?
		            v->valuestring : "the function failed");
	cJSON_Delete(m);
	return 0;
}

/* Read what w sent and act on each whole line. */
static void
drain(struct agent *a, struct worker *w)
{
	char *nl, *p;
	ssize_t n;
	size_t used, space;

	while (w->fd >= 0) {
		rh_buf_reserve(&w->in, w->in.len + 4096);
		space = w->in.cap - w->in.len - 1;
		n = read(w->fd, w->in.data + w->in.len, space);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				/* It is leaving: SIGCHLD tells the rest. */
				close(w->fd);
				w->fd = -1;
			}
			break;
		}
		w->in.len += (size_t)n;
		/* a short read took all there was: no read that finds
		 * nothing (poll says when there is more, or the end) */
		if ((size_t)n < space)
			break;
	}
	p = w->in.data;
	used = 0;
	while (used < w->in.len &&
	       (nl = memchr(p + used, '\n', w->in.len - used)) != NULL) {
		if (frame(a, w, p + used, (size_t)(nl - (p + used))) < 0) {
			rh_warn("python worker %ld broke the protocol; killing "
			        "it", (long)w->pid);
			kill(-w->pid, SIGKILL);
			w->in.len = 0;
			return;
		}
		used = (size_t)(nl - p) + 1;
	}
	if (used > 0) {
		memmove(w->in.data, w->in.data + used, w->in.len - used);
		w->in.len -= used;
	}
	if (w->in.len > FRAME_MAX) {
		rh_warn("python worker %ld sent an overlong line; killing it",
		        (long)w->pid);
		kill(-w->pid, SIGKILL);
		w->in.len = 0;
	}
}

int
pool_reaped(struct agent *a, pid_t pid, int status)
{
	struct worker *w = NULL;
	struct pool *p;
	struct call *c;
	char why[160], reason[256];

	for (p = a->pools.list; p != NULL && w == NULL; p = p->next)
		for (w = p->workers; w != NULL; w = w->next)
			if (w->pid == pid && !w->dead)
				break;
	if (w == NULL)
		return 0;
	/* What it said before it went still counts. */
	drain(a, w);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	w->dead = 1;
	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "was killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(why, sizeof(why), "exited with status %d",
		         WEXITSTATUS(status));
	work_done(pid, w->call);
	if ((c = w->call) == NULL) {
		rh_debug("python worker %ld %s", (long)pid, why);
		return 1;
	}
	w->call = NULL;
	/* What it started goes with it. */
	kill(-pid, SIGKILL);
	if (c->cancelled) {
		call_finish(a, c, CALL_CANCELLED, "cancelled");
		return 1;
	}
	if (WIFSIGNALED(status))
		c->signo = WTERMSIG(status);
	rh_info("call %s: its python worker %ld %s", c->id, (long)pid, why);
	snprintf(reason, sizeof(reason), "its Python worker (pid %ld) %s "
	         "while the call ran", (long)pid, why);
	call_finish(a, c, CALL_FAILED, reason);
	return 1;
}

size_t
pool_nfds(struct agent *a)
{
	struct worker **pw, *w;
	struct pool *p;
	size_t n = 0;

	for (p = a->pools.list; p != NULL; p = p->next) {
		for (pw = &p->workers; (w = *pw) != NULL;) {
			if (w->dead) {
				*pw = w->next;
				rh_buf_free(&w->in);
				rh_buf_free(&w->out);
				free(w);
				continue;
			}
			n += w->fd >= 0;
			pw = &w->next;
		}
	}
	return n;
}

size_t
pool_pollfds(struct agent *a, struct pollfd *pfd)
{
	struct pool_set *ps = &a->pools;
	struct worker *w;
	struct pool *p;

	ps->npolled = 0;
	for (p = ps->list; p != NULL; p = p->next) {
		for (w = p->workers; w != NULL; w = w->next) {
			if (w->fd < 0)
				continue;
			if (ps->npolled == ps->polled_cap) {
				ps->polled_cap = ps->polled_cap ?
				                 ps->polled_cap * 2 : 16;
				ps->polled = xrealloc(ps->polled,
				                      ps->polled_cap *
				                      sizeof(*ps->polled));
			}
			pfd[ps->npolled].fd = w->fd;
			pfd[ps->npolled].events = POLLIN;
			if (w->out_off < w->out.len)
				pfd[ps->npolled].events |= POLLOUT;
			pfd[ps->npolled].revents = 0;
			ps->polled[ps->npolled++] = w;
		}
	}
	return ps->npolled;
}

void
pool_events(struct agent *a, const struct pollfd *pfd)
{
	struct worker *w;
	size_t i;
	int ended = 0;

	for (i = 0; i < a->pools.npolled; i++) {
		w = a->pools.polled[i];
		/* Reaped, or closed, earlier in this turn. */
		if (w->dead || w->fd != pfd[i].fd || pfd[i].revents == 0)
			continue;
		if (pfd[i].revents & POLLOUT)
			flush(w);
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			drain(a, w);
			ended = 1;
		}
	}
	if (ended)
		call_schedule(a);
}

int
pool_tick(struct agent *a)
{
	struct timespec now;
	struct worker *w;
	struct pool *p;
	long left, next = -1;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (p = a->pools.list; p != NULL; p = p->next) {
		for (w = p->workers; w != NULL; w = w->next) {
			if (w->dead || w->retiring || w->call != NULL)
				continue;
			left = a->pools.idle_ms -
			       rh_ms_between(&w->idle_since, &now);
			if (left <= 0) {
				retire(w, "idle");
				continue;
			}
			if (next < 0 || left < next)
				next = left;
		}
	}
	return next < 0 ? -1 : (int)(next + 1);
}

void
pool_stop_all(struct agent *a)
{
	struct pool_set *ps = &a->pools;
	struct worker *w;
	struct pool *p;

	while ((p = ps->list) != NULL) {
		while ((w = p->workers) != NULL) {
			p->workers = w->next;
			if (!w->dead) {
				kill(-w->pid, SIGKILL);
				work_done(w->pid, w->call);
			}
			if (w->fd >= 0)
				close(w->fd);
			rh_buf_free(&w->in);
			rh_buf_free(&w->out);
			free(w);
		}
		ps->list = p->next;
		free(p->path);
		free(p->module);
		free(p->python);
		free(p->file);
		free(p->stamp);
		free(p);
	}
	free(ps->polled);
	ps->polled = NULL;
	ps->npolled = ps->polled_cap = 0;
	free(ps->runner_path);
	ps->runner_path = NULL;
	free(ps->work_path);
	ps->work_path = NULL;
}

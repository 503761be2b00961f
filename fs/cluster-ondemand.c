/* cluster-ondemand.c - on-demand clusters, brought up and taken down
 * through the SkyPilot command line (src/link/sky.c). Per cluster, one sky
 * command at a time runs in a thread of its own (a job):
 *   ready     `sky status --refresh NAME`, then `sky start -y NAME` for a
 *             STOPPED cluster or `sky launch -c NAME --yes ...` for one
 *             absent or INIT, then `sky status NAME` (which must say UP)
 *   stop      `sky stop -y NAME`
 *   down      `sky down -y NAME`
 *   autostop  `sky autostop -y -i N NAME` (`--cancel` for -1)
 * The first call on a cluster that is not up (or `up` in its ctl) starts
 * a ready job; calls and ctl writes made meanwhile join it, so two first
 * calls launch once. Calls do not wait in their write: they are held
 * (calls-held.c) by a thread that waits for the job (its row's begin and
 * wait: cluster-kind.c). Other writers wait for the job's end in slices: a
 * Ctrl-C ends a writer's wait (EINTR) and not the job. A job is bounded
 * by launch_timeout: sky is then ended and the waiting calls fail. Once up,
 * the cluster is reached as a BYO cluster with the SSH details SkyPilot
 * records (src/link/link.c); nothing is written into its config. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "link.h"
#include "rhfs.h"

/* How often a wait looks for a Ctrl-C or rhfs stopping. */
#define SLICE_MS 100
/* sky's last lines that status shows while a job runs. */
#define LAST_LINES 8
/* A waiter gives up this long after the job's own bound. */
#define WAIT_GRACE_MS 30000

enum job { J_NONE, J_READY, J_STOP, J_DOWN, J_AUTOSTOP };

static const char *const job_state[] = {
	[J_READY] = "launching", [J_STOP] = "stopping",
	[J_DOWN] = "tearing down", [J_AUTOSTOP] = "setting autostop",
};

struct od {
	struct fs *fs;
	char *addr;             /* the cluster's address */
	char *name;             /* SkyPilot's name for it */
	cJSON *cfg;             /* its config, set as a job starts */
	/* under ods->lock: */
	enum job job;           /* running, or J_NONE */
	unsigned gen;           /* jobs started */
	int mins;               /* J_AUTOSTOP's minutes */
	int up;                 /* ready, or seen UP: reached as BYO */
	int err;                /* the last job's end: 0 or -errno, */
	struct rh_err why;      /* and why */
	unsigned ready_gen;     /* the last ready job's gen, */
	int ready_err;          /* its end, */
	struct rh_err ready_why;/* and why */
	char *said;             /* what it did, for ctl's answer */
	char *last[LAST_LINES]; /* sky's last lines, a ring */
	unsigned nlines;
	pthread_t thread;
	int joinable;
	struct od *next;
};

struct ondemands {
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* a job ended */
	int stop;               /* rhfs stops: jobs end */
	int infra;              /* sky launch takes --infra: 1, 0, -1 unknown */
	struct od *list;
};

static void
od_init(struct fs *fs)
{
	struct ondemands *ods = xcalloc(1, sizeof(*ods));

	pthread_mutex_init(&ods->lock, NULL);
	pthread_cond_init(&ods->cond, NULL);
	ods->infra = -1;
	fs->ondemand = ods;
}

static long
launch_timeout_ms(struct fs *fs)
{
	return (long)(fs->opts.launch_timeout * 1000);
}

static int
stopping(void *arg)
{
	struct ondemands *ods = arg;

	return __atomic_load_n(&ods->stop, __ATOMIC_RELAXED);
}

static void
clear_lines(struct od *od)
{
	unsigned i;

	for (i = 0; i < LAST_LINES; i++) {
		free(od->last[i]);
		od->last[i] = NULL;
	}
	od->nlines = 0;
}

/* A line sky printed: kept for status, and in rhfs's log. */
static void
on_line(void *arg, const char *line)
{
	struct od *od = arg;
	struct ondemands *ods = od->fs->ondemand;

	rh_debug("%s: sky: %s", od->addr, line);
	pthread_mutex_lock(&ods->lock);
	free(od->last[od->nlines % LAST_LINES]);
	od->last[od->nlines % LAST_LINES] = xstrdup(line);
	od->nlines++;
	pthread_mutex_unlock(&ods->lock);
}

/* The last line sky printed: usually why it failed. */
static char *
last_line(struct od *od)
{
	struct ondemands *ods = od->fs->ondemand;
	char *s;

	pthread_mutex_lock(&ods->lock);
	s = od->nlines ? xstrdup(od->last[(od->nlines - 1) % LAST_LINES]) :
	                 xstrdup("no output");
	pthread_mutex_unlock(&ods->lock);
	return s;
}

/* Run one sky command of a job: 0 once it exited 0. */
static int
sky(struct od *od, const cJSON *args, const struct timespec *t0,
    struct rh_buf *out, struct rh_err *err)
{
	long left;
	char *cmd, *why;
	int r, status;

	left = launch_timeout_ms(od->fs) - rh_ms_since(t0);
	cmd = rh_sky_command(args);
	rh_info("%s: running %s", od->addr, cmd);
	if (left <= 0) {
		r = rh_err_set(err, ETIMEDOUT, "%s: launch_timeout (%.0f s) "
		               "passed before `%s`", od->addr,
		               od->fs->opts.launch_timeout, cmd);
	} else if ((r = rh_sky_run(args, left, stopping, od->fs->ondemand,
	                           on_line, od, out, &status, err)) < 0) {
		struct rh_err e = *err;

		if (r == -ETIMEDOUT)
			rh_err_set(err, ETIMEDOUT, "%s: `%s` did not end within "
			           "launch_timeout (%.0f s) and was stopped; the "
			           "cluster may be left half made: see its status, "
			           "or write 'down' to its ctl", od->addr, cmd,
			           od->fs->opts.launch_timeout);
		else
			rh_err_set(err, -r, "%s: %s", od->addr, e.msg);
	} else if (status != 0) {
		why = last_line(od);
		r = rh_err_set(err, EIO, "%s: `%s` failed (exit %d): %s",
		               od->addr, cmd, status, why);
		free(why);
	}
	free(cmd);
	return r;
}

static cJSON *
args_of(const char *a, const char *b, const char *c, const char *d)
{
	const char *v[] = { a, b, c, d };
	cJSON *args = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < 4 && v[i] != NULL; i++)
		cJSON_AddItemToArray(args, cJSON_CreateString(v[i]));
	return args;
}

/* What `sky status [--refresh] NAME` says of it: UP, STOPPED, INIT, "". */
static int
sky_state(struct od *od, int refresh, const struct timespec *t0,
          char *state, size_t size, struct rh_err *err)
{
	struct rh_buf out = { 0 };
	cJSON *args = refresh ? args_of("status", "--refresh", od->name, NULL) :
	                        args_of("status", od->name, NULL, NULL);
	int r = sky(od, args, t0, &out, err);

	if (r == 0)
		rh_sky_status_of(out.data, od->name, state, size);
	rh_buf_free(&out);
	cJSON_Delete(args);
	return r;
}

/* Whether this SkyPilot takes --infra, asked once (`sky launch --help`)
 * and kept: 1, 0, or -errno when it could not be asked. */
static int
has_infra(struct od *od, const struct timespec *t0, struct rh_err *err)
{
	struct ondemands *ods = od->fs->ondemand;
	struct rh_buf out = { 0 };
	cJSON *args;
	int r;

	pthread_mutex_lock(&ods->lock);
	r = ods->infra;
	pthread_mutex_unlock(&ods->lock);
	if (r >= 0)
		return r;
	args = args_of("launch", "--help", NULL, NULL);
	r = sky(od, args, t0, &out, err);
	cJSON_Delete(args);
	if (r == 0) {
		r = rh_sky_help_has_infra(out.data ? out.data : "");
		rh_info("sky launch %s --infra: the cloud and region go as %s",
		        r ? "takes" : "does not take",
		        r ? "--infra CLOUD/REGION" : "--cloud and --region");
		pthread_mutex_lock(&ods->lock);
		ods->infra = r;
		pthread_mutex_unlock(&ods->lock);
	}
	rh_buf_free(&out);
	return r;
}

/* `sky launch`'s arguments: where to launch as this SkyPilot takes it
 * (--infra, or --cloud and --region before it had --infra). */
static int
launch_args(struct od *od, const struct timespec *t0, cJSON **args,
            struct rh_err *err)
{
	const cJSON *a;
	int r, where = 0;

	if ((r = rh_sky_launch_args(od->addr, od->cfg, od->fs->config, 0,
	                            args, err)) < 0)
		return r;
	cJSON_ArrayForEach(a, *args)
		where |= strcmp(a->valuestring, "--cloud") == 0 ||
		         strcmp(a->valuestring, "--region") == 0;
	if (!where)
		return 0;
	cJSON_Delete(*args);
	*args = NULL;
	if ((r = has_infra(od, t0, err)) < 0)
		return r;
	return rh_sky_launch_args(od->addr, od->cfg, od->fs->config, r, args,
	                          err);
}

static int
job_ready(struct od *od, const struct timespec *t0, char **said,
          struct rh_err *err)
{
	char state[32];
	cJSON *args = NULL;
	int r;

	if ((r = sky_state(od, 1, t0, state, sizeof(state), err)) < 0)
		return r;
	if (strcmp(state, "UP") == 0) {
		*said = xasprintf("SkyPilot has %s UP", od->name);
		return 0;
	}
	if (strcmp(state, "STOPPED") == 0) {
		args = args_of("start", "-y", od->name, NULL);
	} else {
		if (state[0] == '\0')
			rh_sky_forget_host_keys(od->name);
		if ((r = launch_args(od, t0, &args, err)) < 0)
			return r;
	}
	r = sky(od, args, t0, NULL, err);
	if (r == 0)
		*said = rh_sky_command(args);
	cJSON_Delete(args);
	if (r < 0)
		return r;
	/* SkyPilot writes its SSH details as it lists the cluster */
	if ((r = sky_state(od, 0, t0, state, sizeof(state), err)) < 0)
		return r;
	if (strcmp(state, "UP") != 0) {
		free(*said);
		*said = NULL;
		return rh_err_set(err, EIO, "%s: sky's command ended, but `sky "
		                  "status %s` says %s", od->addr, od->name,
		                  state[0] ? state : "it does not exist");
	}
	return 0;
}

static void *
job_main(void *arg)
{
	struct od *od = arg;
	struct ondemands *ods = od->fs->ondemand;
	struct rh_err why = { "" };
	struct timespec t0;
	char *said = NULL, mins[16];
	cJSON *args = NULL;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	switch (od->job) {
	case J_READY:
		r = job_ready(od, &t0, &said, &why);
		break;
	case J_STOP:
		args = args_of("stop", "-y", od->name, NULL);
		break;
	case J_DOWN:
		args = args_of("down", "-y", od->name, NULL);
		break;
	case J_AUTOSTOP:
		snprintf(mins, sizeof(mins), "%d", od->mins);
		args = od->mins < 0 ?
		       args_of("autostop", "-y", "--cancel", od->name) :
		       args_of("autostop", "-y", "-i", mins);
		if (od->mins >= 0)
			cJSON_AddItemToArray(args,
			                     cJSON_CreateString(od->name));
		break;
	case J_NONE:
		break;
	}
	if (args != NULL) {
		if ((r = sky(od, args, &t0, NULL, &why)) == 0)
			said = rh_sky_command(args);
		cJSON_Delete(args);
	}
	if (r == 0 && od->job == J_DOWN)
		rh_sky_forget_host_keys(od->name);
	if (r == 0)
		rh_info("%s: %s", od->addr, said);
	else
		rh_warn("%s", why.msg);
	pthread_mutex_lock(&ods->lock);
	od->err = r;
	od->why = why;
	free(od->said);
	od->said = said;
	if (od->job == J_READY) {
		od->up = r == 0;
		od->ready_gen = od->gen;
		od->ready_err = r;
		od->ready_why = why;
	}
	od->job = J_NONE;
	pthread_cond_broadcast(&ods->cond);
	pthread_mutex_unlock(&ods->lock);
	return NULL;
}

/* The entry of the cluster at addr, made on first use (create). With
 * ods->lock held. */
static struct od *
find(struct fs *fs, const char *addr, int create)
{
	struct ondemands *ods = fs->ondemand;
	struct od *od;

	for (od = ods->list; od != NULL; od = od->next)
		if (strcmp(od->addr, addr) == 0)
			break;
	if (od == NULL && create) {
		od = xcalloc(1, sizeof(*od));
		od->fs = fs;
		od->addr = xstrdup(addr);
		od->name = rh_sky_name(addr);
		od->next = ods->list;
		ods->list = od;
	}
	return od;
}

/* Start job on od, with the cluster's config as it is now. With
 * ods->lock held, and no job running. */
static int
start(struct od *od, enum job job, int mins, const cJSON *cfg,
      struct rh_err *err)
{
	int e;

	if (od->joinable) {
		/* the last job has ended (job is J_NONE): gone at once */
		pthread_join(od->thread, NULL);
		od->joinable = 0;
	}
	cJSON_Delete(od->cfg);
	od->cfg = cJSON_Duplicate(cfg, 1);
	od->job = job;
	od->mins = mins;
	od->gen++;
	if (job != J_AUTOSTOP)
		od->up = 0;
	clear_lines(od);
	if ((e = pthread_create(&od->thread, NULL, job_main, od)) != 0) {
		od->job = J_NONE;
		return rh_err_set(err, e, "%s: cannot start sky: %s",
		                  od->addr, strerror(e));
	}
	od->joinable = 1;
	return 0;
}

/* A slice of waiting on ods->cond: -EINTR on a Ctrl-C or rhfs stopping,
 * -ETIMEDOUT past until. With ods->lock held. */
static int
wait_slice(struct fs *fs, fuse_req_t req, const struct timespec *t0,
           long bound_ms)
{
	struct ondemands *ods = fs->ondemand;
	struct timespec until;

	if ((req != NULL && fuse_req_interrupted(req)) || ods->stop ||
	    fuse_session_exited(fs->se))
		return -EINTR;
	if (rh_ms_since(t0) > bound_ms)
		return -ETIMEDOUT;
	until = rh_time_after(CLOCK_REALTIME, SLICE_MS);
	pthread_cond_timedwait(&ods->cond, &ods->lock, &until);
	return 0;
}

/* Run job on the cluster (or join the same ready job already running)
 * and wait for its end; what it did in *said (may be NULL). */
static int
run_job(struct fs *fs, const char *addr, const cJSON *cfg, enum job job,
        int mins, fuse_req_t req, char **said, struct rh_err *err)
{
	struct ondemands *ods = fs->ondemand;
	long bound = launch_timeout_ms(fs) + WAIT_GRACE_MS;
	struct timespec t0;
	struct od *od;
	unsigned gen;
	int r = 0;

	if (said != NULL)
		*said = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&ods->lock);
	if (ods->stop) {
		pthread_mutex_unlock(&ods->lock);
		return rh_err_set(err, ESHUTDOWN, "%s: rhfs is stopping", addr);
	}
	od = find(fs, addr, 1);
	/* one sky at a time: another job ends first */
	while (od->job != J_NONE && !(od->job == J_READY && job == J_READY) &&
	       (r = wait_slice(fs, req, &t0, bound)) == 0)
		;
	if (r == 0 && od->job == J_NONE) {
		if (job == J_READY && od->up) {
			pthread_mutex_unlock(&ods->lock);
			return 0;
		}
		r = start(od, job, mins, cfg, err);
	}
	gen = od->gen;
	while (r == 0 && od->job != J_NONE && od->gen == gen)
		r = wait_slice(fs, req, &t0, bound);
	if (r == 0) {
		r = od->err;
		if (r < 0)
			*err = od->why;
		else if (said != NULL && od->said != NULL)
			*said = xstrdup(od->said);
	} else if (r == -EINTR) {
		rh_err_set(err, EINTR, "%s: interrupted while waiting for "
		           "SkyPilot (%s goes on)", addr,
		           job_state[od->job ? od->job : job]);
	} else {
		rh_err_set(err, ETIMEDOUT, "%s: sky did not end within "
		           "launch_timeout (%.0f s)", addr,
		           fs->opts.launch_timeout);
	}
	pthread_mutex_unlock(&ods->lock);
	return r;
}

static int
is_up(struct fs *fs, const char *addr)
{
	struct ondemands *ods = fs->ondemand;
	struct od *od;
	int up;

	pthread_mutex_lock(&ods->lock);
	od = find(fs, addr, 0);
	up = od != NULL && od->up && od->job == J_NONE;
	pthread_mutex_unlock(&ods->lock);
	return up;
}

static void
set_up(struct fs *fs, const char *addr, int up)
{
	struct ondemands *ods = fs->ondemand;
	struct od *od;

	pthread_mutex_lock(&ods->lock);
	od = find(fs, addr, 1);
	if (od->job == J_NONE)
		od->up = up;
	pthread_mutex_unlock(&ods->lock);
}

/* The cluster is launched (or started) unless it is up: the calls are
 * held until the launch started or joined ends. */
static int
od_begin(struct fs *fs, const char *caddr, const cJSON *ccfg,
         unsigned *ticket, struct rh_err *err)
{
	struct ondemands *ods = fs->ondemand;
	struct rh_rpc *rpc;
	struct rh_err e;
	struct od *od;
	int r = 0;

	if (is_up(fs, caddr)) {
		if (res_agent(fs, caddr, ccfg, &rpc, &e) == 0)
			return 0;
		/* stopped behind our back (autostop): SkyPilot knows */
		rh_info("%s: not reached (%s); asking SkyPilot", caddr, e.msg);
		set_up(fs, caddr, 0);
	}
	pthread_mutex_lock(&ods->lock);
	od = find(fs, caddr, 1);
	if (ods->stop) {
		r = rh_err_set(err, ESHUTDOWN, "%s: rhfs is stopping", caddr);
	} else if (od->job == J_READY) {
		*ticket = od->gen;      /* joined */
		r = 1;
	} else if (od->job != J_NONE) {
		r = 1;                  /* ready after the job running */
	} else if (!od->up && (r = start(od, J_READY, 0, ccfg, err)) == 0) {
		*ticket = od->gen;
		r = 1;
	}
	pthread_mutex_unlock(&ods->lock);
	return r;
}

static int
od_wait(struct fs *fs, const char *caddr, const cJSON *ccfg,
        unsigned ticket, struct rh_err *err)
{
	struct ondemands *ods = fs->ondemand;
	long bound = launch_timeout_ms(fs) + WAIT_GRACE_MS;
	struct timespec t0;
	struct od *od;
	int r = 0;

	if (ticket == 0)
		return run_job(fs, caddr, ccfg, J_READY, 0, NULL, NULL, err);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&ods->lock);
	od = find(fs, caddr, 1);
	while (od->gen == ticket && od->job != J_NONE &&
	       (r = wait_slice(fs, NULL, &t0, bound)) == 0)
		;
	if (r == -EINTR)
		rh_err_set(err, ESHUTDOWN, "%s: rhfs stopped while the cluster "
		           "was being launched", caddr);
	else if (r < 0)
		rh_err_set(err, ETIMEDOUT, "%s: sky did not end within "
		           "launch_timeout (%.0f s)", caddr,
		           fs->opts.launch_timeout);
	else if (od->ready_gen == ticket && (r = od->ready_err) < 0)
		*err = od->ready_why;
	else if (od->ready_gen != ticket || !od->up)
		r = rh_err_set(err, EIO, "%s: the cluster was launched, then "
		               "stopped or taken down before the calls that "
		               "waited for it were sent", caddr);
	pthread_mutex_unlock(&ods->lock);
	return r;
}

/* A held call waits for the launch, of which sky's last line says how
 * far it got. */
static int
od_waiting(struct fs *fs, const char *caddr, cJSON *rec)
{
	struct ondemands *ods = fs->ondemand;
	struct od *od;

	pthread_mutex_lock(&ods->lock);
	if ((od = find(fs, caddr, 0)) == NULL) {
		pthread_mutex_unlock(&ods->lock);
		return 0;
	}
	cJSON_AddStringToObject(rec, "waiting", "its cluster is being "
	                        "launched through SkyPilot; the call starts "
	                        "when it is up");
	if (od->nlines > 0)
		cJSON_AddStringToObject(rec, "sky_output",
		                        od->last[(od->nlines - 1) % LAST_LINES]);
	pthread_mutex_unlock(&ods->lock);
	return 1;
}

/* up, stop, down and autostop MINS run through sky; restart is the
 * agent's, as for any cluster. */
static int
od_ctl(struct fs *fs, const char *addr, const cJSON *cfg, const char *verb,
       int mins, fuse_req_t req, struct rh_buf *out, struct rh_err *err)
{
	enum job job;
	char *said = NULL;
	int r;

	if (strcmp(verb, "up") == 0)
		job = J_READY;
	else if (strcmp(verb, "stop") == 0)
		job = J_STOP;
	else if (strcmp(verb, "down") == 0)
		job = J_DOWN;
	else if (strcmp(verb, "autostop") == 0)
		job = J_AUTOSTOP;
	else
		return 0;       /* restart: the agent's, as for any cluster */
	if ((r = run_job(fs, addr, cfg, job, mins, req, &said, err)) < 0)
		return r;
	if (said != NULL)
		rh_buf_printf(out, "%s: %s\n", verb, said);
	free(said);
	/* up goes on to the agent; autostop to the config */
	return job == J_STOP || job == J_DOWN ? 1 : 0;
}

/* What SkyPilot says of it; its agent's state once it is UP. */
static void
od_status(struct fs *fs, const char *addr, const cJSON *cfg, cJSON *out)
{
	struct ondemands *ods = fs->ondemand;
	struct rh_buf said = { 0 };
	struct rh_err err;
	struct timespec t0;
	struct od *od;
	cJSON *sky, *lines, *args;
	char state[32] = "", *path;
	unsigned i;
	int r, status;

	sky = cJSON_AddObjectToObject(out, "sky");
	pthread_mutex_lock(&ods->lock);
	od = find(fs, addr, 1);
	cJSON_AddStringToObject(sky, "name", od->name);
	if (od->job != J_NONE) {
		cJSON_AddStringToObject(out, "state", job_state[od->job]);
		lines = cJSON_AddArrayToObject(out, "sky_output");
		i = od->nlines > LAST_LINES ? od->nlines - LAST_LINES : 0;
		for (; i < od->nlines; i++)
			cJSON_AddItemToArray(lines, cJSON_CreateString(
			                     od->last[i % LAST_LINES]));
		pthread_mutex_unlock(&ods->lock);
		return;
	}
	if (od->err < 0)
		cJSON_AddStringToObject(sky, "last_error", od->why.msg);
	pthread_mutex_unlock(&ods->lock);
	if ((r = rh_sky_path(&path, &err)) < 0) {
		cJSON_AddStringToObject(out, "state", "down");
		cJSON_AddStringToObject(out, "error", err.msg);
		return;
	}
	free(path);
	/* as a probe: within the connect timeout */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	args = args_of("status", "--refresh", od->name, NULL);
	r = rh_sky_run(args, (long)(fs->opts.connect_timeout * 1000), stopping,
	               ods, NULL, NULL, &said, &status, &err);
	cJSON_Delete(args);
	if (r == 0 && status != 0)
		r = rh_err_set(&err, EIO, "`sky status --refresh %s` failed "
		               "(exit %d)", od->name, status);
	if (r < 0) {
		cJSON_AddStringToObject(out, "state", "unknown");
		cJSON_AddStringToObject(out, "error", err.msg);
		rh_buf_free(&said);
		return;
	}
	rh_sky_status_of(said.data, od->name, state, sizeof(state));
	rh_buf_free(&said);
	if (state[0] == '\0')
		cJSON_AddNullToObject(sky, "status");
	else
		cJSON_AddStringToObject(sky, "status", state);
	set_up(fs, addr, strcmp(state, "UP") == 0);
	if (strcmp(state, "UP") == 0) {
		cluster_probe_agent(fs, addr, cfg, out);
		/* launched with several nodes: each, as for BYO */
		cluster_probe_nodes(fs, addr, cfg, out);
	} else if (strcmp(state, "STOPPED") == 0) {
		cJSON_AddStringToObject(out, "state", "stopped");
		cJSON_AddStringToObject(out, "error", "stopped (its disks "
		                        "are kept); a call or 'up' in its ctl "
		                        "starts it again");
	} else if (strcmp(state, "INIT") == 0) {
		cJSON_AddStringToObject(out, "state", "init");
		cJSON_AddStringToObject(out, "error", "SkyPilot has it in "
		                        "INIT (being made, or half made); a call "
		                        "or 'up' launches it again, 'down' tears "
		                        "it down");
	} else {
		cJSON_AddStringToObject(out, "state", "down");
		cJSON_AddStringToObject(out, "error", "not launched; a call or "
		                        "'up' in its ctl launches it through "
		                        "SkyPilot");
	}
}

/* The sky commands still running end; the waits for them too. */
static void
od_stop(struct fs *fs)
{
	struct ondemands *ods = fs->ondemand;
	struct od *od;

	if (ods == NULL)
		return;
	pthread_mutex_lock(&ods->lock);
	__atomic_store_n(&ods->stop, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&ods->cond);
	pthread_mutex_unlock(&ods->lock);
	/* no job starts any more: the list stays as it is */
	for (od = ods->list; od != NULL; od = od->next) {
		if (od->joinable)
			pthread_join(od->thread, NULL);
		od->joinable = 0;
	}
}

static void
od_free(struct fs *fs)
{
	struct ondemands *ods = fs->ondemand;
	struct od *od, *next;

	if (ods == NULL)
		return;
	od_stop(fs);
	for (od = ods->list; od != NULL; od = next) {
		next = od->next;
		clear_lines(od);
		cJSON_Delete(od->cfg);
		free(od->said);
		free(od->addr);
		free(od->name);
		free(od);
	}
	pthread_cond_destroy(&ods->cond);
	pthread_mutex_destroy(&ods->lock);
	free(ods);
	fs->ondemand = NULL;
}

const struct fs_cluster fs_cluster_ondemand = {
	.link = &rh_cluster_ondemand,
	.init = od_init,
	.stop = od_stop,
	.free = od_free,
	.reachable = is_up,
	.begin = od_begin,
	.wait = od_wait,
	.waiting = od_waiting,
	.ctl = od_ctl,
	.autostop_builtin = 1,
	.status = od_status,
};

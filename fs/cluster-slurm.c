/* cluster-slurm.c - the allocation of a Slurm cluster (resource_subtype
 * "SlurmCluster"): one batch job, submitted on its login node over SSH
 * (src/link/slurm.c) by `up` in its ctl or by the first call, and
 * watched there until it ends. Per cluster, one thread (the watcher)
 * owns the job: it reads the job id the login node keeps (an rhfs
 * started again finds its job), submits a job when one is wanted and
 * there is none, then asks Slurm for the job's state (every second
 * while it waits, every 2 s while it runs) until it ends; `down`,
 * autostop and rhfs's own stop are requests to it. Calls written while
 * the job is pending are held (calls-held.c, as for an on-demand
 * cluster's launch) and wait, bounded by launch_timeout, until it runs
 * or ends; an ended job's reason fails them. The next call after a job
 * ended submits a new one. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "proto.h"
#include "link.h"
#include "rhfs.h"

/* How often the watcher asks Slurm: while the job waits, while it runs. */
#define POLL_PENDING_MS 1000
#define POLL_RUNNING_MS 2000
/* How long `down` waits for Slurm to say the job ended. */
#define DOWN_WAIT_MS 60000
/* How often a wait looks for rhfs stopping. */
#define SLICE_MS 100

struct sl {
	struct fs *fs;
	char *addr;
	/* under sls->lock: */
	cJSON *cfg;             /* the config last seen */
	char *job;              /* the job, or NULL */
	struct rh_slurm_job info;       /* what Slurm last said of it */
	int recalled;           /* the login node's job file was read */
	int want;               /* a job is wanted: submit if none */
	int submitting;
	char *cancel;           /* a cancel asked for, and why */
	int cancel_sent;        /* scancel ran for it */
	int poll_now;           /* ask Slurm now, not after the nap */
	unsigned polls;         /* Slurm's answers so far */
	unsigned jobs;          /* jobs this rhfs has known (a generation) */
	char *ended;            /* why the last job ended */
	char *error;            /* the watcher's last failure, or NULL */
	int error_code;
	struct timespec active; /* the last call, or the job's start */
	int waiting;            /* threads of held calls waiting for it */
	int watching;           /* the watcher runs */
	int joinable;
	pthread_t thread;
	struct sl *next;
};

struct slurms {
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* a job's state changed; a watcher ended */
	int stop;
	struct sl *list;
};

static void
slurm_init(struct fs *fs)
{
	struct slurms *sls = xcalloc(1, sizeof(*sls));

	pthread_mutex_init(&sls->lock, NULL);
	pthread_cond_init(&sls->cond, NULL);
	fs->slurm = sls;
}

/* With sls->lock held. */
static struct sl *
find(struct fs *fs, const char *addr, int create)
{
	struct slurms *sls = fs->slurm;
	struct sl *s;

	for (s = sls->list; s != NULL; s = s->next)
		if (strcmp(s->addr, addr) == 0)
			return s;
	if (!create)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->fs = fs;
	s->addr = xstrdup(addr);
	s->next = sls->list;
	sls->list = s;
	return s;
}

/* With sls->lock held. */
static void
set_error(struct sl *s, int code, const char *msg)
{
	free(s->error);
	s->error = msg ? xstrdup(msg) : NULL;
	s->error_code = code;
}

static int
autostop_mins(const cJSON *cfg)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, "autostop_mins");

	return cJSON_IsNumber(v) ? v->valueint : -1;
}

/* Sleep ms on the cond, unless rhfs stops or a cancel is asked. With
 * sls->lock held. */
static void
nap(struct sl *s, long ms)
{
	struct slurms *sls = s->fs->slurm;
	struct timespec until = rh_time_after(CLOCK_REALTIME, ms);

	if (!sls->stop && s->cancel == NULL && !s->poll_now)
		pthread_cond_timedwait(&sls->cond, &sls->lock, &until);
}

/* The job ended: its id forgotten on the login node, then why, for the
 * calls, status and the log. With the lock held (let go meanwhile). */
static void
job_ended(struct sl *s, struct rh_ssh *ssh)
{
	struct slurms *sls = s->fs->slurm;
	struct rh_err e;
	char *why = rh_slurm_end_reason(&s->info), *job = xstrdup(s->job);

	if (s->cancel != NULL) {
		free(why);
		why = xasprintf("Slurm job %s was cancelled: %s", job,
		                s->cancel);
	}
	/* gone from the login node before anyone is told it ended */
	pthread_mutex_unlock(&sls->lock);
	if (rh_slurm_forget(ssh, s->addr, job, &e) < 0)
		rh_warn("%s", e.msg);
	pthread_mutex_lock(&sls->lock);
	rh_info("%s: %s", s->addr, why);
	free(s->ended);
	s->ended = why;
	free(s->cancel);
	s->cancel = NULL;
	s->cancel_sent = 0;
	free(s->job);
	s->job = NULL;
	s->want = 0;
	pthread_cond_broadcast(&sls->cond);
	free(job);
}

/* The job's script: its worker agents reach the agent on the login
 * node, made their head. An agent without worker dispatch: a script
 * that holds the nodes and starts nothing (calls then fail with the
 * reason once the job runs). */
static int
head_of(struct sl *s, const cJSON *cfg, char **script, struct rh_err *err)
{
	struct rh_rpc *rpc;
	char *head = NULL, *key = NULL;
	int r;

	*script = NULL;
	r = res_agent(s->fs, s->addr, cfg, &rpc, err);
	if (r == 0)
		r = rh_slurm_head(rpc, s->addr, cfg,
		                  (int)(s->fs->opts.connect_timeout * 1000),
		                  &head, &key, err);
	if (r == -EOPNOTSUPP) {
		rh_warn("%s: the job starts no worker agent: %s", s->addr,
		        err->msg);
		r = 0;
	}
	if (r == 0)
		*script = rh_slurm_script(s->addr, head, key);
	free(head);
	free(key);
	return r;
}

/* Whether the head has calls running or queued: then the allocation is
 * not idle (its last call written may be long ago). With the lock held;
 * let go while the head is asked. */
static int
head_busy(struct sl *s, int count_running)
{
	struct slurms *sls = s->fs->slurm;
	const cJSON *running, *queued;
	struct rh_rpc *rpc;
	struct rh_err e;
	cJSON *cfg = cJSON_Duplicate(s->cfg, 1), *req, *reply = NULL;
	int r, busy = 0;

	pthread_mutex_unlock(&sls->lock);
	if ((r = res_agent(s->fs, s->addr, cfg, &rpc, &e)) == 0) {
		req = rh_proto_new(0, "status");
		r = rh_rpc_call_wait(rpc, req,
		                     (int)(s->fs->opts.connect_timeout * 1000),
		                     &reply);
		cJSON_Delete(req);
	}
	if (r == 0) {
		running = cJSON_GetObjectItemCaseSensitive(reply, "running");
		queued = cJSON_GetObjectItemCaseSensitive(reply, "queued");
		busy = (count_running && cJSON_IsNumber(running) &&
		        running->valueint > 0) ||
		       (cJSON_IsNumber(queued) && queued->valueint > 0);
	}
	cJSON_Delete(reply);
	cJSON_Delete(cfg);
	pthread_mutex_lock(&sls->lock);
	if (busy && count_running)
		clock_gettime(CLOCK_MONOTONIC, &s->active);
	return busy;
}

static void *
watch_main(void *arg)
{
	struct sl *s = arg;
	struct fs *fs = s->fs;
	struct slurms *sls = fs->slurm;
	struct rh_slurm_job info;
	struct rh_links *ls;
	struct rh_ssh *ssh = NULL;
	struct rh_err e;
	cJSON *cfg;
	char *job, *script, *cancel, *why;
	long idle;
	int r, mins, ours;

	pthread_mutex_lock(&sls->lock);
	while (!sls->stop) {
		if (ssh == NULL) {
			cfg = cJSON_Duplicate(s->cfg, 1);
			pthread_mutex_unlock(&sls->lock);
			r = res_links(fs, &ls, &e);
			if (r == 0)
				r = rh_links_ssh(ls, s->addr, cfg, &ssh, &e);
			cJSON_Delete(cfg);
			pthread_mutex_lock(&sls->lock);
			if (r < 0) {
				why = xasprintf("%s: the login node: %s",
				                s->addr, e.msg);
				set_error(s, -r, why);
				free(why);
				/* no job known, none to wait for: the waiters
				 * fail with the reason */
				if (s->job == NULL)
					break;
				nap(s, POLL_RUNNING_MS);
				continue;
			}
		}
		if (!s->recalled) {
			pthread_mutex_unlock(&sls->lock);
			r = rh_slurm_recall(ssh, s->addr, &job, &e);
			pthread_mutex_lock(&sls->lock);
			if (r < 0) {
				set_error(s, -r, e.msg);
				break;
			}
			s->recalled = 1;
			if (job != NULL && s->job == NULL) {
				rh_info("%s: Slurm job %s found on the login "
				        "node", s->addr, job);
				s->job = job;
				s->jobs++;
				clock_gettime(CLOCK_MONOTONIC, &s->active);
			} else {
				free(job);
			}
		}
		if (s->job == NULL && !s->want)
			break;
		if (s->job == NULL) {
			/* submit */
			s->submitting = 1;
			cfg = cJSON_Duplicate(s->cfg, 1);
			pthread_mutex_unlock(&sls->lock);
			r = head_of(s, cfg, &script, &e);
			if (r == 0)
				r = rh_slurm_submit(ssh, s->addr, cfg, script,
				                    &job, &e);
			free(script);
			cJSON_Delete(cfg);
			pthread_mutex_lock(&sls->lock);
			s->submitting = 0;
			s->want = 0;
			if (r < 0) {
				set_error(s, -r, e.msg);
				rh_warn("%s", e.msg);
				break;
			}
			rh_info("%s: submitted Slurm job %s", s->addr, job);
			set_error(s, 0, NULL);
			s->job = job;
			s->jobs++;
			memset(&s->info, 0, sizeof(s->info));
			snprintf(s->info.id, sizeof(s->info.id), "%s", job);
			snprintf(s->info.state, sizeof(s->info.state),
			         "PENDING");
			clock_gettime(CLOCK_MONOTONIC, &s->active);
			pthread_cond_broadcast(&sls->cond);
		}
		/* a cancel asked: scancel, then watch it end */
		if (s->cancel != NULL && !s->cancel_sent) {
			s->cancel_sent = 1;
			job = xstrdup(s->job);
			pthread_mutex_unlock(&sls->lock);
			r = rh_slurm_cancel(ssh, s->addr, job, &e);
			free(job);
			pthread_mutex_lock(&sls->lock);
			if (r < 0)
				set_error(s, -r, e.msg);
		}
		job = xstrdup(s->job);
		s->poll_now = 0;
		pthread_mutex_unlock(&sls->lock);
		r = rh_slurm_job_state(ssh, s->addr, job, &info, &e);
		free(job);
		pthread_mutex_lock(&sls->lock);
		s->polls++;
		if (r < 0) {
			set_error(s, -r, e.msg);
			rh_warn("%s", e.msg);
			if (r != -EPROTO) {
				/* the session may be gone: a new one */
				pthread_mutex_unlock(&sls->lock);
				rh_ssh_close(ssh);
				ssh = NULL;
				pthread_mutex_lock(&sls->lock);
			}
			nap(s, POLL_RUNNING_MS);
			continue;
		}
		set_error(s, 0, NULL);
		if (!rh_slurm_job_ours(&info, s->addr)) {
			/* an id kept from another Slurm, or reused */
			rh_warn("%s: job %s kept on the login node is not "
			        "rhfs's (its name is %s): forgotten", s->addr,
			        info.id, info.name);
			job = s->job;
			s->job = NULL;
			pthread_mutex_unlock(&sls->lock);
			if (rh_slurm_forget(ssh, s->addr, job, &e) < 0)
				rh_warn("%s", e.msg);
			free(job);
			pthread_mutex_lock(&sls->lock);
			if (!s->want)
				break;
			continue;
		}
		if (strcmp(info.state, "RUNNING") == 0 &&
		    strcmp(s->info.state, "RUNNING") != 0) {
			rh_info("%s: Slurm job %s runs on %s", s->addr,
			        info.id, info.nodes);
			clock_gettime(CLOCK_MONOTONIC, &s->active);
		}
		s->info = info;
		pthread_cond_broadcast(&sls->cond);
		if (!rh_slurm_state_live(info.state)) {
			ours = s->cancel != NULL;
			job_ended(s, ssh);
			/* calls the head still holds, not yet handed to a
			 * node, want a job: a new one, unless rhfs ended this
			 * one (down, autostop) */
			if (!s->want && !ours && head_busy(s, 0)) {
				rh_info("%s: calls wait on the head: a new Slurm "
				        "job for them", s->addr);
				s->want = 1;
			}
			if (!s->want)
				break;
			continue;       /* a call came meanwhile: a new job */
		}
		/* autostop: idle for its minutes once running */
		mins = autostop_mins(s->cfg);
		idle = rh_ms_since(&s->active);
		if (mins >= 0 && s->cancel == NULL && s->waiting == 0 &&
		    strcmp(info.state, "RUNNING") == 0 &&
		    idle >= (long)mins * 60000 && !head_busy(s, 1)) {
			cancel = xasprintf("autostop: idle for %d minute%s",
			                   mins, mins == 1 ? "" : "s");
			rh_info("%s: %s: cancelling Slurm job %s", s->addr,
			        cancel, info.id);
			s->cancel = cancel;
			continue;
		}
		nap(s, strcmp(info.state, "RUNNING") == 0 ? POLL_RUNNING_MS :
		       POLL_PENDING_MS);
	}
	s->watching = 0;
	s->want = 0;
	s->submitting = 0;
	pthread_cond_broadcast(&sls->cond);
	pthread_mutex_unlock(&sls->lock);
	if (ssh != NULL)
		rh_ssh_close(ssh);
	return NULL;
}

/* The watcher running, started if need be, with the config as it is
 * now. With sls->lock held. */
static int
watch(struct sl *s, const cJSON *cfg, struct rh_err *err)
{
	int e;

	if (cfg != NULL) {
		cJSON_Delete(s->cfg);
		s->cfg = cJSON_Duplicate(cfg, 1);
	}
	if (s->watching)
		return 0;
	if (s->joinable) {
		pthread_join(s->thread, NULL);
		s->joinable = 0;
	}
	set_error(s, 0, NULL);
	s->watching = 1;
	if ((e = pthread_create(&s->thread, NULL, watch_main, s)) != 0) {
		s->watching = 0;
		return rh_err_set(err, e, "%s: cannot start the thread that "
		                  "watches its Slurm job: %s", s->addr,
		                  strerror(e));
	}
	s->joinable = 1;
	return 0;
}

/* A job wanted: the watcher submits one unless there is one. With the
 * lock held. */
static int
want(struct sl *s, const cJSON *cfg, struct rh_err *err)
{
	if (s->job == NULL)
		s->want = 1;
	return watch(s, cfg, err);
}

static int
running(const struct sl *s)
{
	return s->job != NULL && strcmp(s->info.state, "RUNNING") == 0 &&
	       s->cancel == NULL;
}

/* Wait until s's job runs, or fails to be had; jobs: the generation the
 * wait began in (a job that ends after it started running fails the
 * wait). With sls->lock held. */
static int
wait_running(struct sl *s, fuse_req_t req, struct rh_err *err)
{
	struct slurms *sls = s->fs->slurm;
	double bound_s = s->fs->opts.launch_timeout;
	struct timespec t0, until;
	char *ended_before = s->ended ? xstrdup(s->ended) : NULL;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	s->waiting++;
	for (;;) {
		if (running(s))
			break;
		if (sls->stop) {
			r = rh_err_set(err, ESHUTDOWN, "%s: rhfs stopped while "
			               "the calls waited for Slurm", s->addr);
			break;
		}
		if (req != NULL && fuse_req_interrupted(req)) {
			r = rh_err_set(err, EINTR, "%s: interrupted while "
			               "waiting for Slurm (the job stays)",
			               s->addr);
			break;
		}
		if (s->job == NULL && !s->want && !s->submitting) {
			/* submission failed, or the job ended */
			if (s->ended != NULL && (ended_before == NULL ||
			    strcmp(s->ended, ended_before) != 0))
				r = rh_err_set(err, EIO, "%s: %s", s->addr,
				               s->ended);
			else if (s->error != NULL)
				r = rh_err_set(err, s->error_code ?
				               s->error_code : EIO, "%s",
				               s->error);
			else
				r = rh_err_set(err, EIO, "%s: no Slurm job "
				               "(ended, or cancelled)", s->addr);
			break;
		}
		if (rh_ms_since(&t0) > (long)(bound_s * 1000)) {
			r = rh_err_set(err, ETIMEDOUT, "%s: Slurm job %s still "
			               "%s (%s) after launch_timeout (%.0f s); "
			               "the job stays ('down' in ctl cancels "
			               "it)", s->addr, s->job ? s->job : "?",
			               s->info.state[0] ? s->info.state : "?",
			               s->info.reason, bound_s);
			break;
		}
		until = rh_time_after(CLOCK_REALTIME, SLICE_MS);
		pthread_cond_timedwait(&sls->cond, &sls->lock, &until);
	}
	s->waiting--;
	free(ended_before);
	return r;
}

/* The calls go now when its job runs; else they are held, and a job is
 * submitted if there is none. */
static int
slurm_begin(struct fs *fs, const char *addr, const cJSON *cfg,
            unsigned *ticket, struct rh_err *err)
{
	struct slurms *sls = fs->slurm;
	struct sl *s;
	int r;

	pthread_mutex_lock(&sls->lock);
	if (sls->stop) {
		pthread_mutex_unlock(&sls->lock);
		return rh_err_set(err, ESHUTDOWN, "%s: rhfs is stopping", addr);
	}
	s = find(fs, addr, 1);
	clock_gettime(CLOCK_MONOTONIC, &s->active);
	if (running(s)) {
		pthread_mutex_unlock(&sls->lock);
		return 0;
	}
	r = want(s, cfg, err);
	pthread_mutex_unlock(&sls->lock);
	return r < 0 ? r : 1;
}

static int
slurm_wait(struct fs *fs, const char *addr, const cJSON *cfg,
           unsigned ticket, struct rh_err *err)
{
	struct slurms *sls = fs->slurm;
	struct sl *s;
	int r;

	(void)ticket;

	pthread_mutex_lock(&sls->lock);
	s = find(fs, addr, 1);
	if ((r = want(s, cfg, err)) == 0)
		r = wait_running(s, NULL, err);
	clock_gettime(CLOCK_MONOTONIC, &s->active);
	pthread_mutex_unlock(&sls->lock);
	return r;
}

static int
slurm_stale(struct fs *fs, const char *addr, const cJSON *cfg)
{
	struct slurms *sls = fs->slurm;
	char *key = res_link_key(addr, cfg);
	struct sl *s;
	int r = 0;

	if (key == NULL)
		return 0;
	pthread_mutex_lock(&sls->lock);
	if ((s = find(fs, key, 0)) != NULL) {
		r = !running(s);
		/* calls written: not idle (autostop) */
		clock_gettime(CLOCK_MONOTONIC, &s->active);
	}
	pthread_mutex_unlock(&sls->lock);
	free(key);
	return r;
}

char *
slurm_job(struct fs *fs, const char *addr)
{
	struct slurms *sls = fs->slurm;
	struct sl *s;
	char *job = NULL;

	pthread_mutex_lock(&sls->lock);
	s = find(fs, addr, 0);
	if (s != NULL && running(s))
		job = xstrdup(s->job);
	pthread_mutex_unlock(&sls->lock);
	return job;
}

/* A held call waits for the job to run: Slurm's state and reason. */
static int
slurm_waiting(struct fs *fs, const char *addr, cJSON *rec)
{
	struct slurms *sls = fs->slurm;
	cJSON *o;
	struct sl *s;

	pthread_mutex_lock(&sls->lock);
	if ((s = find(fs, addr, 0)) == NULL) {
		pthread_mutex_unlock(&sls->lock);
		return 0;
	}
	o = cJSON_AddObjectToObject(rec, "slurm");
	if (s->job == NULL) {
		cJSON_AddStringToObject(rec, "waiting", "its Slurm allocation "
		                        "is being submitted; the call starts "
		                        "when the job runs");
		cJSON_AddNullToObject(o, "job");
	} else {
		char *w = xasprintf("its Slurm allocation (job %s) is %s%s%s; "
		                    "the call starts when the job runs", s->job,
		                    s->info.state[0] ? s->info.state : "PENDING",
		                    s->info.reason[0] ? ": " : "",
		                    s->info.reason);
		cJSON_AddStringToObject(rec, "waiting", w);
		free(w);
		cJSON_AddStringToObject(o, "job", s->job);
	}
	if (s->job != NULL) {
		cJSON_AddStringToObject(o, "state", s->info.state);
		cJSON_AddStringToObject(o, "reason", s->info.reason);
	}
	pthread_mutex_unlock(&sls->lock);
	return 1;
}

/* What the watcher knows of the job made fresh: Slurm asked now, so that
 * a job that ended a moment ago is not taken for running. With the lock
 * held. */
static void
fresh(struct sl *s)
{
	struct slurms *sls = s->fs->slurm;
	struct timespec t0, until;
	unsigned polls = s->polls;

	if (!s->watching || s->job == NULL)
		return;
	s->poll_now = 1;
	pthread_cond_broadcast(&sls->cond);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s->watching && s->job != NULL && s->polls == polls &&
	       !sls->stop && rh_ms_since(&t0) < DOWN_WAIT_MS) {
		until = rh_time_after(CLOCK_REALTIME, SLICE_MS);
		pthread_cond_timedwait(&sls->cond, &sls->lock, &until);
	}
}

/* "VERB: Slurm job ID STATE (REASON) on NODES". With the lock held. */
static void
say_job(const struct sl *s, const char *verb, struct rh_buf *out)
{
	const struct rh_slurm_job *j = &s->info;
	int reason = j->reason[0] != '\0' && strcmp(j->reason, "None") != 0;

	rh_buf_printf(out, "%s: Slurm job %s %s", verb, s->job,
	              j->state[0] ? j->state : "PENDING");
	if (reason)
		rh_buf_printf(out, " (%s)", j->reason);
	if (j->nodes[0] != '\0')
		rh_buf_printf(out, " on %s", j->nodes);
	rh_buf_printf(out, "\n");
}

/* Ask the watcher to cancel the job and wait until it ended. With the
 * lock held. */
static int
cancel_job(struct sl *s, const char *why, fuse_req_t req, char **said,
           struct rh_err *err)
{
	struct slurms *sls = s->fs->slurm;
	struct timespec t0, until;
	char *job;
	int r;

	s->want = 0;
	if ((r = watch(s, NULL, err)) < 0)
		return r;
	/* the job file read first: an rhfs started again cancels it too */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!s->recalled && s->watching && !sls->stop &&
	       rh_ms_since(&t0) < DOWN_WAIT_MS) {
		until = rh_time_after(CLOCK_REALTIME, SLICE_MS);
		pthread_cond_timedwait(&sls->cond, &sls->lock, &until);
	}
	if (s->job == NULL) {
		if (!s->recalled && s->error != NULL)
			return rh_err_set(err, s->error_code ? s->error_code :
			                  EIO, "%s", s->error);
		*said = xstrdup("no Slurm job to cancel");
		return 0;
	}
	job = xstrdup(s->job);
	if (s->cancel == NULL)
		s->cancel = xstrdup(why);
	pthread_cond_broadcast(&sls->cond);
	while (s->job != NULL && strcmp(s->job, job) == 0 && s->watching &&
	       !sls->stop) {
		if (req != NULL && fuse_req_interrupted(req)) {
			free(job);
			return rh_err_set(err, EINTR, "%s: interrupted while "
			                  "cancelling its Slurm job (the cancel "
			                  "goes on)", s->addr);
		}
		if (rh_ms_since(&t0) > DOWN_WAIT_MS) {
			r = rh_err_set(err, ETIMEDOUT, "%s: Slurm job %s was "
			               "cancelled but is not yet over after "
			               "%d s (%s)", s->addr, job,
			               DOWN_WAIT_MS / 1000, s->info.state);
			free(job);
			return r;
		}
		until = rh_time_after(CLOCK_REALTIME, SLICE_MS);
		pthread_cond_timedwait(&sls->cond, &sls->lock, &until);
	}
	if (s->job != NULL && strcmp(s->job, job) == 0)
		r = rh_err_set(err, s->error_code ? s->error_code : EIO,
		               "%s: Slurm job %s: %s", s->addr, job,
		               s->error ? s->error : "rhfs is stopping");
	else
		*said = xasprintf("cancelled Slurm job %s", job);
	free(job);
	return r;
}

static int
slurm_ctl(struct fs *fs, const char *addr, const cJSON *cfg,
          const char *verb, int mins, fuse_req_t req, struct rh_buf *out,
          struct rh_err *err)
{
	struct slurms *sls = fs->slurm;
	struct timespec t0, until;
	struct sl *s;
	char *said = NULL;
	int r = 0;

	pthread_mutex_lock(&sls->lock);
	if (sls->stop) {
		pthread_mutex_unlock(&sls->lock);
		return rh_err_set(err, ESHUTDOWN, "%s: rhfs is stopping", addr);
	}
	s = find(fs, addr, 1);
	if (strcmp(verb, "down") == 0 || strcmp(verb, "restart") == 0) {
		r = cancel_job(s, "by 'down' in its ctl", req, &said, err);
		if (r == 0)
			rh_buf_printf(out, "down: %s\n", said);
		free(said);
		said = NULL;
	}
	if (r == 0 && (strcmp(verb, "up") == 0 ||
	               strcmp(verb, "restart") == 0)) {
		clock_gettime(CLOCK_MONOTONIC, &s->active);
		fresh(s);
		r = want(s, cfg, err);
		/* until the job is submitted (or found), not until it runs:
		 * Slurm may keep it pending for long */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (r == 0 && (s->want || s->submitting ||
		                  (s->watching && !s->recalled))) {
			if (req != NULL && fuse_req_interrupted(req)) {
				r = rh_err_set(err, EINTR, "%s: interrupted "
				               "while submitting (it goes on)",
				               addr);
				break;
			}
			if (sls->stop || rh_ms_since(&t0) > DOWN_WAIT_MS) {
				r = rh_err_set(err, ETIMEDOUT, "%s: sbatch on "
				               "the login node did not answer "
				               "within %d s", addr,
				               DOWN_WAIT_MS / 1000);
				break;
			}
			until = rh_time_after(CLOCK_REALTIME, SLICE_MS);
			pthread_cond_timedwait(&sls->cond, &sls->lock, &until);
		}
		if (r == 0 && s->job == NULL)
			r = rh_err_set(err, s->error_code ? s->error_code : EIO,
			               "%s", s->error ? s->error :
			               "no Slurm job was submitted");
		if (r == 0)
			say_job(s, "up", out);
	}
	if (strcmp(verb, "autostop") == 0) {
		/* the watcher reads it from the config */
		cJSON_Delete(s->cfg);
		s->cfg = cJSON_Duplicate(cfg, 1);
		cJSON_DeleteItemFromObjectCaseSensitive(s->cfg,
		                                        "autostop_mins");
		cJSON_AddNumberToObject(s->cfg, "autostop_mins", mins);
		pthread_mutex_unlock(&sls->lock);
		return 0;       /* recorded in the config by the caller */
	}
	if (strcmp(verb, "stop") == 0)
		r = rh_err_set(err, EINVAL, "%s: stop: a SlurmCluster has no "
		               "instances to stop ('down' cancels its "
		               "allocation)", addr);
	pthread_mutex_unlock(&sls->lock);
	return r < 0 ? r : 1;
}

/* The head's word on the worker agents (its nodes), into out. */
static void
head_status(struct fs *fs, const char *addr, const cJSON *cfg, cJSON *out)
{
	const cJSON *v;
	struct rh_rpc *rpc;
	struct rh_err e;
	cJSON *req, *reply = NULL;
	int r;

	if ((r = res_agent(fs, addr, cfg, &rpc, &e)) == 0) {
		req = rh_proto_new(0, "status");
		r = rh_rpc_call_wait(rpc, req,
		                     (int)(fs->opts.connect_timeout * 1000),
		                     &reply);
		cJSON_Delete(req);
		if (r < 0)
			rh_err_set(&e, -r, "%s: the agent on the login node did "
			           "not answer: %s", addr, strerror(-r));
	}
	if (r < 0) {
		cJSON_AddStringToObject(out, "workers", e.msg);
		return;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(reply, "nodes")) != NULL)
		cJSON_AddItemToObject(out, "nodes", cJSON_Duplicate(v, 1));
	if ((v = cJSON_GetObjectItemCaseSensitive(reply, "workers")) != NULL)
		cJSON_AddItemToObject(out, "workers", cJSON_Duplicate(v, 1));
	cJSON_Delete(reply);
}

static void
job_status(struct fs *fs, const char *addr, const cJSON *cfg,
             struct rh_ssh *ssh, cJSON *out)
{
	struct slurms *sls = fs->slurm;
	struct rh_slurm_job info;
	struct rh_err e;
	cJSON *job;
	struct sl *s;
	char *id = NULL, *why;
	int r, mins;

	/* a fresh look: the job the login node keeps, and Slurm's word */
	memset(&info, 0, sizeof(info));
	pthread_mutex_lock(&sls->lock);
	s = find(fs, addr, 1);
	if (s->job != NULL)
		id = xstrdup(s->job);
	pthread_mutex_unlock(&sls->lock);
	r = 0;
	if (id == NULL && ssh != NULL)
		r = rh_slurm_recall(ssh, addr, &id, &e);
	job = cJSON_CreateObject();
	if (r < 0) {
		cJSON_AddStringToObject(out, "state", "unreachable");
		cJSON_AddStringToObject(out, "error", e.msg);
	} else if (ssh == NULL) {
		cJSON_AddStringToObject(out, "state", "unreachable");
	} else if (id == NULL) {
		cJSON_AddStringToObject(out, "state", "down");
		cJSON_AddStringToObject(out, "error", "no Slurm allocation; a "
		                        "call or 'up' in its ctl submits one");
	} else if ((r = rh_slurm_job_state(ssh, addr, id, &info, &e)) < 0) {
		cJSON_AddStringToObject(out, "state", "unreachable");
		cJSON_AddStringToObject(out, "error", e.msg);
		cJSON_AddStringToObject(job, "id", id);
	} else if (!rh_slurm_job_ours(&info, addr)) {
		cJSON_AddStringToObject(out, "state", "down");
		why = xasprintf("no Slurm allocation (the job id kept on the "
		                "login node, %s, is another's: %s); a call or "
		                "'up' in its ctl submits one", id, info.name);
		cJSON_AddStringToObject(out, "error", why);
		free(why);
		free(id);
		id = NULL;
	} else {
		cJSON_AddStringToObject(job, "id", id);
		cJSON_AddStringToObject(job, "state", info.state[0] ?
		                        info.state : "GONE");
		cJSON_AddStringToObject(job, "reason", info.reason);
		cJSON_AddStringToObject(job, "nodes", info.nodes);
		cJSON_AddStringToObject(job, "time_left", info.time_left);
		if (strcmp(info.state, "RUNNING") == 0) {
			cJSON_AddStringToObject(out, "state", "up");
			head_status(fs, addr, cfg, out);
		} else if (strcmp(info.state, "COMPLETING") == 0) {
			cJSON_AddStringToObject(out, "state", "ending");
			why = xasprintf("Slurm job %s is ending (%s): the next "
			                "call submits a new one once it ended", id,
			                info.reason);
			cJSON_AddStringToObject(out, "error", why);
			free(why);
		} else if (rh_slurm_state_live(info.state)) {
			cJSON_AddStringToObject(out, "state", "pending");
			why = xasprintf("Slurm job %s is %s (%s): calls wait "
			                "for it", id, info.state, info.reason);
			cJSON_AddStringToObject(out, "error", why);
			free(why);
		} else {
			why = rh_slurm_end_reason(&info);
			cJSON_AddStringToObject(out, "state", "down");
			cJSON_AddStringToObject(out, "error", why);
			free(why);
		}
	}
	cJSON_AddItemToObject(out, "job", job);
	pthread_mutex_lock(&sls->lock);
	/* the watcher, told when Slurm said more than it knows */
	if (r == 0 && id != NULL && s->job != NULL &&
	    strcmp(s->job, id) == 0 &&
	    strcmp(s->info.state, info.state) != 0) {
		s->poll_now = 1;
		pthread_cond_broadcast(&sls->cond);
	}
	if (s->ended != NULL)
		cJSON_AddStringToObject(out, "last_job", s->ended);
	if (s->error != NULL)
		cJSON_AddStringToObject(out, "last_error", s->error);
	mins = autostop_mins(cfg);
	cJSON_AddNumberToObject(out, "autostop_mins", mins);
	/* a job found that rhfs did not watch (rhfs started again): watched
	 * from now on, for its end and autostop */
	if (id != NULL && s->job == NULL && !s->watching) {
		s->recalled = 0;
		if (watch(s, cfg, &e) < 0)
			rh_warn("%s", e.msg);
	}
	pthread_mutex_unlock(&sls->lock);
	free(id);
}

/* The allocation the config asks for, as sbatch options, and Slurm's
 * verdict on it (sbatch --test-only on the login node): "request", and
 * "request_check" (when and where it would start) or "request_error". */
static void
check_request(struct rh_ssh *ssh, const char *addr, const cJSON *cfg,
              cJSON *slurm)
{
	cJSON *args = rh_slurm_request(cfg);
	struct rh_err err;
	char *verdict;

	cJSON_AddItemToObject(slurm, "request", args);
	if (rh_slurm_test_only(ssh, addr, args, &verdict, &err) == 0) {
		cJSON_AddStringToObject(slurm, "request_check", verdict);
		free(verdict);
	} else {
		cJSON_AddStringToObject(slurm, "request_error", err.msg);
	}
}

/* A Slurm cluster: what Slurm says of its partition, from the login node,
 * in out's slurm object (nodes, or the error). */
static void
slurm_status(struct fs *fs, const char *addr, const cJSON *cfg, cJSON *out)
{
	const char *part = rh_json_str(cfg, "partition");
	struct rh_links *ls;
	struct rh_ssh *ssh;
	struct rh_err err;
	cJSON *slurm, *nodes = NULL;
	char *why;
	int r;

	slurm = cJSON_AddObjectToObject(out, "slurm");
	if (part != NULL)
		cJSON_AddStringToObject(slurm, "partition", part);
	else
		cJSON_AddNullToObject(slurm, "partition");
	if ((r = res_links(fs, &ls, &err)) == 0) {
		if ((r = rh_links_ssh(ls, addr, cfg, &ssh, &err)) < 0) {
			why = xasprintf("%s: the login node: %s", addr,
			                err.msg);
			cJSON_AddStringToObject(out, "state", "unreachable");
			cJSON_AddStringToObject(out, "error", why);
			cJSON_AddStringToObject(slurm, "error", why);
			free(why);
			return;
		}
		job_status(fs, addr, cfg, ssh, out);
		if ((r = rh_slurm_nodes(ssh, addr, cfg, &nodes, &err)) == 0) {
			cJSON_AddItemToObject(slurm, "nodes", nodes);
			check_request(ssh, addr, cfg, slurm);
		}
		rh_ssh_close(ssh);
	}
	if (r < 0)
		cJSON_AddStringToObject(slurm, "error", err.msg);
}

static void
slurm_stop(struct fs *fs)
{
	struct slurms *sls = fs->slurm;
	struct sl *s;

	if (sls == NULL)
		return;
	pthread_mutex_lock(&sls->lock);
	sls->stop = 1;
	pthread_cond_broadcast(&sls->cond);
	pthread_mutex_unlock(&sls->lock);
	/* no watcher starts any more; the jobs stay (rhfs finds them again) */
	for (s = sls->list; s != NULL; s = s->next) {
		if (s->joinable)
			pthread_join(s->thread, NULL);
		s->joinable = 0;
	}
}

static void
slurm_free(struct fs *fs)
{
	struct slurms *sls = fs->slurm;
	struct sl *s, *next;

	if (sls == NULL)
		return;
	slurm_stop(fs);
	for (s = sls->list; s != NULL; s = next) {
		next = s->next;
		cJSON_Delete(s->cfg);
		free(s->job);
		free(s->cancel);
		free(s->ended);
		free(s->error);
		free(s->addr);
		free(s);
	}
	pthread_cond_destroy(&sls->cond);
	pthread_mutex_destroy(&sls->lock);
	free(sls);
	fs->slurm = NULL;
}

const struct fs_cluster fs_cluster_slurm = {
	.link = &rh_cluster_slurm,
	.init = slurm_init,
	.stop = slurm_stop,
	.free = slurm_free,
	.begin = slurm_begin,
	.wait = slurm_wait,
	.stale = slurm_stale,
	.waiting = slurm_waiting,
	.ctl = slurm_ctl,
	.autostop_own = 1,
	.status = slurm_status,
};

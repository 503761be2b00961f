/* calls-held.c - calls written to a send while its on-demand cluster is
 * being launched. Each has its calls/ID at once, in state "queued", held
 * here (in rhfs's memory) until the launch ends: then it goes to the
 * agent with its id proposed, which the node keeps (so calls/ID stays
 * the same), or it fails with SkyPilot's reason, or it was cancelled
 * before. A held call that never reached the node stays here, failed or
 * cancelled, until rhfs stops; one that did is the agent's, and is only
 * looked up here for the id the node gave it (the same, unless the node
 * had given a later one already). Readers of a held call's result,
 * stdout or stderr wait for it here, parked, then go on as for any call.
 * Held ids are made as the agent makes them (UTC time to the
 * microsecond), later than every one made before. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "rns.h"
#include "callrecord.h"
#include "rhfs.h"

enum hstate { H_QUEUED, H_SENDING, H_SENT, H_FAILED, H_CANCELLED };

struct waiter {
	void (*fn)(void *arg);
	void *arg;
	struct waiter *next;
};

struct held {
	char id[32];
	char *send;             /* the send's address */
	char *cluster;          /* the cluster launched */
	cJSON *spec;            /* as calls/ID/spec shows it */
	enum hstate state;
	char *real;             /* H_SENT: the id the node gave */
	char *reason;           /* H_FAILED, H_CANCELLED */
	struct timespec queued_at, ended_at;
	void (*cancelled)(void *arg, struct held *h);
	void *cancelled_arg;
	struct waiter *waiters;
	struct held *next;
};

struct helds {
	pthread_mutex_t lock;
	uint64_t last_us;
	struct held *list;
};

void
held_init(struct fs *fs)
{
	struct helds *hs = xcalloc(1, sizeof(*hs));

	pthread_mutex_init(&hs->lock, NULL);
	fs->held = hs;
}

static void
held_delete(struct held *h)
{
	struct waiter *w, *next;

	for (w = h->waiters; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	free(h->send);
	free(h->cluster);
	free(h->real);
	free(h->reason);
	cJSON_Delete(h->spec);
	free(h);
}

void
held_free(struct fs *fs)
{
	struct helds *hs = fs->held;
	struct held *h, *next;

	if (hs == NULL)
		return;
	for (h = hs->list; h != NULL; h = next) {
		next = h->next;
		held_delete(h);
	}
	pthread_mutex_destroy(&hs->lock);
	free(hs);
	fs->held = NULL;
}

struct held *
held_add(struct fs *fs, const char *send, const char *cluster,
         const cJSON *req, void (*cancelled)(void *arg, struct held *h),
         void *arg)
{
	struct helds *hs = fs->held;
	struct held *h = xcalloc(1, sizeof(*h)), **tail;
	cJSON *senv, *names, *v;
	uint64_t us;
	struct tm tm;
	time_t t;
	size_t n;

	h->send = xstrdup(send);
	h->cluster = xstrdup(cluster);
	h->cancelled = cancelled;
	h->cancelled_arg = arg;
	/* the spec as the agent keeps it: secrets by name only */
	h->spec = cJSON_Duplicate(req, 1);
	cJSON_DeleteItemFromObjectCaseSensitive(h->spec, "id");
	cJSON_DeleteItemFromObjectCaseSensitive(h->spec, "op");
	senv = cJSON_DetachItemFromObjectCaseSensitive(h->spec, "secret_env");
	if (senv != NULL) {
		names = cJSON_AddArrayToObject(h->spec, "secret_names");
		cJSON_ArrayForEach(v, senv)
			cJSON_AddItemToArray(names,
			                     cJSON_CreateString(v->string));
		cJSON_Delete(senv);
	}
	clock_gettime(CLOCK_REALTIME, &h->queued_at);
	us = (uint64_t)h->queued_at.tv_sec * 1000000 +
	     (uint64_t)h->queued_at.tv_nsec / 1000;
	pthread_mutex_lock(&hs->lock);
	if (us <= hs->last_us)
		us = hs->last_us + 1;
	hs->last_us = us;
	t = (time_t)(us / 1000000);
	gmtime_r(&t, &tm);
	n = strftime(h->id, sizeof(h->id), "%Y%m%d-%H%M%S", &tm);
	snprintf(h->id + n, sizeof(h->id) - n, "-%06u",
	         (unsigned)(us % 1000000));
	for (tail = &hs->list; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = h;
	pthread_mutex_unlock(&hs->lock);
	return h;
}

const char *
held_id(const struct held *h)
{
	return h->id;
}

/* The held call id of send, or NULL. With hs->lock held. */
static struct held *
find(struct helds *hs, const char *send, const char *id)
{
	struct held *h;

	for (h = hs->list; h != NULL; h = h->next)
		if (strcmp(h->id, id) == 0 && strcmp(h->send, send) == 0)
			return h;
	return NULL;
}

/* Cancelled; the waiters to call after unlocking. With the lock held. */
static struct waiter *
cancel_locked(struct held *h)
{
	struct waiter *ws = h->waiters;

	h->state = H_CANCELLED;
	h->reason = xstrdup("cancelled while its cluster was being launched");
	clock_gettime(CLOCK_REALTIME, &h->ended_at);
	h->waiters = NULL;
	return ws;
}

static void
wake(struct waiter *ws)
{
	struct waiter *next;

	for (; ws != NULL; ws = next) {
		next = ws->next;
		ws->fn(ws->arg);
		free(ws);
	}
}

int
held_take(struct fs *fs, struct held *h)
{
	struct helds *hs = fs->held;
	int r = 0;

	pthread_mutex_lock(&hs->lock);
	if (h->state == H_QUEUED)
		h->state = H_SENDING;
	else
		r = -ECANCELED;
	pthread_mutex_unlock(&hs->lock);
	return r;
}

void
held_sent(struct fs *fs, struct held *h, const char *real)
{
	struct helds *hs = fs->held;

	pthread_mutex_lock(&hs->lock);
	if (h->state == H_SENDING) {
		h->state = H_SENT;
		h->real = xstrdup(real);
	}
	pthread_mutex_unlock(&hs->lock);
}

void
held_failed(struct fs *fs, struct held *h, const char *reason)
{
	struct helds *hs = fs->held;

	pthread_mutex_lock(&hs->lock);
	if (h->state == H_QUEUED || h->state == H_SENDING) {
		h->state = H_FAILED;
		h->reason = xstrdup(reason);
		clock_gettime(CLOCK_REALTIME, &h->ended_at);
	}
	pthread_mutex_unlock(&hs->lock);
}

static void
unlink_held(struct helds *hs, struct held *h)
{
	struct held **p;

	for (p = &hs->list; *p != NULL; p = &(*p)->next)
		if (*p == h) {
			*p = h->next;
			break;
		}
}

void
held_done(struct fs *fs, struct held *h)
{
	struct helds *hs = fs->held;
	struct waiter *ws;
	int gone = 0;

	pthread_mutex_lock(&hs->lock);
	if (h->state == H_SENDING) {
		/* not accepted in time: the node has it by its id, if at all */
		h->state = H_SENT;
		h->real = xstrdup(h->id);
	}
	ws = h->waiters;
	h->waiters = NULL;
	/* sent under its own id: the agent's alone from now on */
	if (h->state == H_SENT && strcmp(h->real, h->id) == 0) {
		unlink_held(hs, h);
		gone = 1;
	} else if (h->state == H_SENT) {
		rh_info("%s: call %s held for the launch is %s on the node",
		        h->send, h->id, h->real);
	}
	pthread_mutex_unlock(&hs->lock);
	wake(ws);
	if (gone)
		held_delete(h);
}

int
held_cancel(struct fs *fs, const char *send, const char *id)
{
	struct helds *hs = fs->held;
	struct waiter *ws = NULL;
	struct held *h;
	int r = 0, did = 0;

	pthread_mutex_lock(&hs->lock);
	if ((h = find(hs, send, id)) == NULL) {
		r = -ENOENT;
	} else if (h->state == H_QUEUED) {
		ws = cancel_locked(h);
		did = 1;
	} else if (h->state == H_SENDING) {
		r = -EAGAIN;    /* about to be the agent's */
	} else if (h->state == H_SENT) {
		r = -ENOENT;    /* the agent's */
	}
	pthread_mutex_unlock(&hs->lock);
	if (!did)
		return r;
	rh_info("%s: call %s cancelled before its cluster was up", send, id);
	wake(ws);
	if (h->cancelled != NULL)
		h->cancelled(h->cancelled_arg, h);
	return 0;
}

int
held_lookup(struct fs *fs, const char *send, const char *id, char **real,
            void (*fn)(void *arg), void *arg)
{
	struct helds *hs = fs->held;
	struct waiter *w;
	struct held *h;
	int r;

	*real = NULL;
	pthread_mutex_lock(&hs->lock);
	if ((h = find(hs, send, id)) == NULL) {
		r = HELD_NONE;
	} else if (h->state == H_SENT) {
		*real = xstrdup(h->real);
		r = HELD_SENT;
	} else if (h->state == H_FAILED || h->state == H_CANCELLED) {
		r = HELD_ENDED;
	} else {
		r = HELD_WAITING;
		if (fn != NULL) {
			w = xcalloc(1, sizeof(*w));
			w->fn = fn;
			w->arg = arg;
			w->next = h->waiters;
			h->waiters = w;
		}
	}
	pthread_mutex_unlock(&hs->lock);
	return r;
}

static const enum rh_call_state call_states[] = {
	[H_QUEUED] = RH_CALL_QUEUED, [H_SENDING] = RH_CALL_QUEUED,
	[H_SENT] = RH_CALL_QUEUED, [H_FAILED] = RH_CALL_FAILED,
	[H_CANCELLED] = RH_CALL_CANCELLED,
};

cJSON *
held_record(struct fs *fs, const char *send, const char *id, int spec)
{
	struct helds *hs = fs->held;
	struct rh_call_record r;
	struct held *h;
	cJSON *rec = NULL;

	pthread_mutex_lock(&hs->lock);
	if ((h = find(hs, send, id)) == NULL || h->state == H_SENT) {
		pthread_mutex_unlock(&hs->lock);
		return NULL;
	}
	/* as the agent's: nothing ran, so no output yet */
	rh_call_record_init(&r);
	r.call = h->id;
	r.state = call_states[h->state];
	r.send = h->send;
	r.queue = rh_json_str(h->spec, "queue");
	r.reason = h->reason;
	r.queued_at = h->queued_at;
	r.ended_at = h->ended_at;
	r.stdout_size = r.stderr_size = 0;
	if (spec)
		r.spec = h->spec;
	rec = cJSON_CreateObject();
	rh_call_record_encode(rec, &r);
	if (!spec && (h->state == H_QUEUED || h->state == H_SENDING)) {
		cJSON_AddStringToObject(rec, "waiting_for", h->cluster);
		cluster_waiting(fs, h->cluster, rec);
	}
	pthread_mutex_unlock(&hs->lock);
	return rec;
}

void
held_list(struct fs *fs, const char *send, rh_list_cb cb, void *arg,
          char **latest, int *any)
{
	struct helds *hs = fs->held;
	struct held *h;

	*any = 0;
	pthread_mutex_lock(&hs->lock);
	for (h = hs->list; h != NULL; h = h->next) {
		/* a call sent is the agent's, and listed by it */
		if (h->state == H_SENT || strcmp(h->send, send) != 0)
			continue;
		*any = 1;
		if (*latest == NULL || strcmp(h->id, *latest) > 0) {
			free(*latest);
			*latest = xstrdup(h->id);
		}
		cb(arg, h->id, RH_FOLDER);
	}
	pthread_mutex_unlock(&hs->lock);
}

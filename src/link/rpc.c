/* rpc.c - requests to an agent over one byte stream, multiplexed by id.
 * Every use of the stream is under the rpc's lock (a libssh2 session is
 * not thread-safe). The thread that makes a request writes it at once;
 * one I/O thread per connection reads, and writes what could not be
 * written then. Callers are answered through callbacks. A lost stream
 * fails every pending request with -ENOTCONN at once. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "proto.h"
#include "link.h"

struct pending {
	uint64_t id;
	rh_rpc_cb cb;
	void *arg;
	struct pending *next;
};

struct rh_rpc {
	struct rh_transport *t;
	char *name;
	pthread_t thread;
	pthread_mutex_t lock;
	int wake;               /* eventfd: frames left, data taken in, or
	                         * stop asked */
	struct rh_buf out;      /* frames not yet written */
	size_t out_off;
	/* Requests waiting for their reply, by id: a hash table, so that a
	 * map of thousands of calls finds each reply in O(1). */
	struct pending **pending;
	size_t nbuckets, npending;
	uint64_t next_id;
	int dead;               /* -errno once the stream is gone */
	int stop;
	int corked;             /* rh_rpc_cork()s not yet undone */
	rh_rpc_event_cb on_event;
	void *event_arg;
};

/* Buckets kept when no request is pending: a larger table (grown by a
 * map of many calls) is freed. */
#define PENDING_KEEP 64

/* The bucket of id. Called with r->lock held. */
static struct pending **
bucket(struct rh_rpc *r, uint64_t id)
{
	return &r->pending[id & (r->nbuckets - 1)];
}

/* Add p, growing the table past one request a bucket. With the lock. */
static void
pending_add(struct rh_rpc *r, struct pending *p)
{
	struct pending **old = r->pending, *q, *next, **b;
	size_t n = r->nbuckets, i;

	if (r->npending >= r->nbuckets) {
		r->nbuckets = n ? n * 2 : 16;
		r->pending = xcalloc(r->nbuckets, sizeof(*r->pending));
		for (i = 0; i < n; i++) {
			for (q = old[i]; q != NULL; q = next) {
				next = q->next;
				b = bucket(r, q->id);
				q->next = *b;
				*b = q;
			}
		}
		free(old);
	}
	b = bucket(r, p->id);
	p->next = *b;
	*b = p;
	r->npending++;
}

/* Fail every pending request, oldest first, as their callers sent them. */
static int
cmp_pending(const void *x, const void *y)
{
	const struct pending *a = *(struct pending *const *)x;
	const struct pending *b = *(struct pending *const *)y;

	return a->id < b->id ? -1 : a->id > b->id;
}

static void
fail_all(struct rh_rpc *r, int err)
{
	struct pending **v, *p, *next;
	size_t n = 0, i;

	pthread_mutex_lock(&r->lock);
	if (r->dead == 0)
		r->dead = err;
	v = xcalloc(r->npending + 1, sizeof(*v));
	for (i = 0; i < r->nbuckets; i++)
		for (p = r->pending[i]; p != NULL; p = next) {
			next = p->next;
			v[n++] = p;
		}
	if (r->nbuckets > 0)
		memset(r->pending, 0, r->nbuckets * sizeof(*r->pending));
	r->npending = 0;
	pthread_mutex_unlock(&r->lock);
	qsort(v, n, sizeof(*v), cmp_pending);
	for (i = 0; i < n; i++) {
		v[i]->cb(v[i]->arg, err, NULL, 1);
		free(v[i]);
	}
	free(v);
}

/* A frame for request m->id: a reply ends it; any other op (an agent's
 * "accepted") is passed on and the request stays pending. Frames for no
 * request are events. */
static void
deliver(struct rh_rpc *r, struct rh_proto_msg *m)
{
	struct pending **pp, *p = NULL;
	int final = strcmp(m->op, "reply") == 0, err = 0;
	const cJSON *ok, *e;

	pthread_mutex_lock(&r->lock);
	for (pp = r->nbuckets ? bucket(r, m->id) : NULL;
	     pp != NULL && *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->id == m->id) {
			p = *pp;
			if (final) {
				*pp = p->next;
				r->npending--;
			}
			break;
		}
	}
	/* the table a map grew is given back once it has ended */
	if (r->npending == 0 && r->nbuckets > PENDING_KEEP) {
		free(r->pending);
		r->pending = NULL;
		r->nbuckets = 0;
	}
	pthread_mutex_unlock(&r->lock);
	if (p == NULL) {
		if (!final && r->on_event != NULL)
			r->on_event(r->event_arg, m->json);
		else
			rh_debug("%s: reply to unknown request %llu", r->name,
			         (unsigned long long)m->id);
		return;
	}
	if (!final) {
		p->cb(p->arg, 0, m->json, 0);
		return;
	}
	ok = cJSON_GetObjectItemCaseSensitive(m->json, "ok");
	if (!cJSON_IsTrue(ok)) {
		e = cJSON_GetObjectItemCaseSensitive(m->json, "error");
		err = -(cJSON_IsString(e) ? rh_proto_errnum(e->valuestring) : EIO);
	}
	p->cb(p->arg, err, m->json, 1);
	free(p);
}

/* All queued is written: a buffer a burst grew (a map's thousands of
 * requests) goes back, so that a connection does not keep its largest
 * burst's size. With the lock held. */
#define RPC_OUT_KEEP (64u * 1024)

static void
out_drained(struct rh_rpc *r)
{
	if (r->out.cap > RPC_OUT_KEEP)
		rh_buf_free(&r->out);
	r->out_off = r->out.len = 0;
}

/* Write what is queued, as far as the stream takes it: bytes written, 0,
 * -EAGAIN or -errno (nothing of it taken). With the lock held. */
static ssize_t
out_write(struct rh_rpc *r)
{
	ssize_t n;

	if (r->out.len == r->out_off)
		return 0;
	n = r->t->write(r->t, r->out.data + r->out_off,
	                r->out.len - r->out_off);
	if (n > 0) {
		r->out_off += (size_t)n;
		if (r->out_off == r->out.len)
			out_drained(r);
	}
	return n;
}

static void *
io_thread(void *arg)
{
	struct rh_rpc *r = arg;
	struct rh_proto_dec dec;
	struct rh_proto_msg m;
	struct pollfd pfd[8];
	struct rh_err err;
	char *space;
	size_t avail;
	ssize_t n;
	int np, rc, want_out, keep, drained, fatal = 0;
	uint64_t junk;

	rh_proto_dec_init(&dec, 0);
	while (!fatal) {
		pthread_mutex_lock(&r->lock);
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			fatal = -ECONNABORTED;
			break;
		}
		want_out = r->out.len > r->out_off;
		pthread_mutex_unlock(&r->lock);

		/* write what is queued */
		while (want_out) {
			pthread_mutex_lock(&r->lock);
			n = out_write(r);
			want_out = r->out.len > r->out_off;
			pthread_mutex_unlock(&r->lock);
			if (n == -EAGAIN || n == 0)
				break;
			if (n < 0) {
				fatal = (int)n;
				break;
			}
		}
		/* read what arrived */
		for (;;) {
			space = rh_proto_dec_space(&dec, 65536, &avail);
			pthread_mutex_lock(&r->lock);
			n = r->t->read(r->t, space, avail);
			/* a short read took all that the socket had, but the
			 * transport may hold more that poll cannot show (the
			 * stream's end, read in with the last bytes) */
			drained = n > 0 && (size_t)n < avail &&
			          (r->t->taken_in == NULL || !r->t->taken_in(r->t));
			pthread_mutex_unlock(&r->lock);
			if (n == -EAGAIN)
				break;
			if (n <= 0) {
				fatal = n == 0 ? -ENOTCONN : (int)n;
				if (n == 0 && rh_proto_dec_end(&dec, &err) < 0)
					rh_warn("%s: %s", r->name, err.msg);
				break;
			}
			rh_proto_dec_commit(&dec, (size_t)n);
			while ((rc = rh_proto_dec_next(&dec, &m, &err)) == 1) {
				deliver(r, &m);
				rh_proto_msg_free(&m);
			}
			if (rc < 0) {
				rh_warn("%s: %s", r->name, err.msg);
				fatal = -EPROTO;
				break;
			}
			/* poll, rather than a read that would only say
			 * EAGAIN */
			if (drained)
				break;
		}
		if (fatal)
			break;
		pthread_mutex_lock(&r->lock);
		want_out = r->out.len > r->out_off;
		np = r->t->pollfds(r->t, pfd + 1, 7, want_out);
		keep = r->t->keepalive ? r->t->keepalive(r->t) * 1000 : -1;
		pthread_mutex_unlock(&r->lock);
		pfd[0].fd = r->wake;
		pfd[0].events = POLLIN;
		rc = poll(pfd, (nfds_t)np + 1, keep);
		if (rc < 0 && errno != EINTR) {
			fatal = -errno;
			break;
		}
		if (rc > 0 && (pfd[0].revents & POLLIN))
			(void)!read(r->wake, &junk, sizeof(junk));
	}
	rh_proto_dec_free(&dec);
	rh_debug("%s: connection ended: %s", r->name, strerror(-fatal));
	fail_all(r, fatal == -ECONNABORTED ? -ECONNABORTED : -ENOTCONN);
	return NULL;
}

int
rh_rpc_start(struct rh_transport *t, const char *name,
             rh_rpc_event_cb on_event, void *event_arg, struct rh_rpc **out)
{
	struct rh_rpc *r = xcalloc(1, sizeof(*r));
	int e;

	r->t = t;
	r->name = xstrdup(name);
	r->next_id = 1;
	r->on_event = on_event;
	r->event_arg = event_arg;
	pthread_mutex_init(&r->lock, NULL);
	if ((r->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		e = -errno;
		goto fail;
	}
	if ((e = pthread_create(&r->thread, NULL, io_thread, r)) != 0) {
		close(r->wake);
		e = -e;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	pthread_mutex_destroy(&r->lock);
	free(r->name);
	free(r);
	return e;
}

static void
wake(struct rh_rpc *r)
{
	uint64_t one = 1;

	(void)!write(r->wake, &one, sizeof(one));
}

/* Requests of one burst (the lines of one write to an invoke file) are
 * written together up to this many bytes: one SSH packet, one write to
 * the agent's socket, rather than one each. */
#define RPC_CORK_MAX (32u * 1024)

/* Write what is queued now, from this thread: whether the I/O thread must
 * be woken, for what the stream did not take (or an error, which it
 * meets too), or for what the transport read in while it wrote, which
 * the stream's fd no longer shows. Its wake and switch are off a call's
 * path. With the lock held. */
static int
write_now(struct rh_rpc *r)
{
	ssize_t n = out_write(r);

	return r->out.len > r->out_off || (n < 0 && n != -EAGAIN) ||
	       (r->t->taken_in != NULL && r->t->taken_in(r->t));
}

int
rh_rpc_call(struct rh_rpc *r, struct cJSON *req, rh_rpc_cb cb, void *arg)
{
	struct pending *p;
	uint64_t id;
	int e, woken;

	pthread_mutex_lock(&r->lock);
	if (r->dead) {
		e = r->dead;
		pthread_mutex_unlock(&r->lock);
		return e;
	}
	id = r->next_id++;
	cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
	cJSON_AddNumberToObject(req, "id", (double)id);
	if ((e = rh_proto_encode(req, 0, &r->out)) < 0) {
		pthread_mutex_unlock(&r->lock);
		return e;
	}
	p = xcalloc(1, sizeof(*p));
	p->id = id;
	p->cb = cb;
	p->arg = arg;
	pending_add(r, p);
	/* corked: written with the others, or once this many wait */
	if (r->corked && r->out.len - r->out_off < RPC_CORK_MAX) {
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	woken = write_now(r);
	pthread_mutex_unlock(&r->lock);
	if (woken)
		wake(r);
	return 0;
}

void
rh_rpc_cork(struct rh_rpc *r)
{
	pthread_mutex_lock(&r->lock);
	r->corked++;
	pthread_mutex_unlock(&r->lock);
}

void
rh_rpc_uncork(struct rh_rpc *r)
{
	int woken = 0;

	pthread_mutex_lock(&r->lock);
	if (--r->corked == 0 && !r->dead)
		woken = write_now(r);
	pthread_mutex_unlock(&r->lock);
	if (woken)
		wake(r);
}

int
rh_rpc_alive(struct rh_rpc *r)
{
	int dead;

	pthread_mutex_lock(&r->lock);
	dead = r->dead;
	pthread_mutex_unlock(&r->lock);
	return dead == 0;
}

/* How often a wait with a stop looks at it. */
#define RPC_STOP_SLICE_MS 100

/* A blocking call, for callers that may wait. The waiter is shared by
 * the caller and the callback; whoever lets go last frees it, so a caller
 * that gave up leaves nothing dangling. */
struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, err, refs;
	cJSON *reply;
};

static void
waiter_put(struct waiter *w)
{
	int left;

	pthread_mutex_lock(&w->lock);
	left = --w->refs;
	pthread_mutex_unlock(&w->lock);
	if (left > 0)
		return;
	cJSON_Delete(w->reply);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}

static void
sync_cb(void *arg, int err, const cJSON *reply, int final)
{
	struct waiter *w = arg;

	if (!final)
		return;
	pthread_mutex_lock(&w->lock);
	w->err = err;
	w->reply = reply ? cJSON_Duplicate(reply, 1) : NULL;
	w->done = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	waiter_put(w);
}

static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int
rh_rpc_call_wait_stop(struct rh_rpc *r, struct cJSON *req, int timeout_ms,
                      int (*stop)(void *), void *arg, struct cJSON **reply)
{
	struct waiter *w = xcalloc(1, sizeof(*w));
	struct timespec deadline = rh_time_after(CLOCK_REALTIME, timeout_ms);
	struct timespec next;
	int e, stopped = 0;

	*reply = NULL;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->refs = 2;
	if ((e = rh_rpc_call(r, req, sync_cb, w)) < 0) {
		w->refs = 1;
		waiter_put(w);
		return e;
	}
	pthread_mutex_lock(&w->lock);
	while (!w->done) {
		if (stop != NULL && (stopped = stop(arg)))
			break;
		/* with a stop to look at, in slices of RPC_STOP_SLICE_MS */
		next = rh_time_after(CLOCK_REALTIME, RPC_STOP_SLICE_MS);
		if (timeout_ms > 0 && (stop == NULL || before(&deadline, &next)))
			next = deadline;
		if (timeout_ms <= 0 && stop == NULL)
			pthread_cond_wait(&w->cond, &w->lock);
		else if (pthread_cond_timedwait(&w->cond, &w->lock, &next) ==
		         ETIMEDOUT && timeout_ms > 0 &&
		         !before(&next, &deadline))
			break;
	}
	if (w->done) {
		e = w->err;
		/* a refusal's reply (its message is in no caller's err) goes
		 * here, so that no error path can keep it */
		if (e == 0)
			*reply = w->reply;
		else
			cJSON_Delete(w->reply);
		w->reply = NULL;
	} else {
		e = stopped ? -ECANCELED : -ETIMEDOUT;
	}
	pthread_mutex_unlock(&w->lock);
	waiter_put(w);
	return e;
}

int
rh_rpc_call_wait(struct rh_rpc *r, struct cJSON *req, int timeout_ms,
                 struct cJSON **reply)
{
	return rh_rpc_call_wait_stop(r, req, timeout_ms, NULL, NULL, reply);
}

void
rh_rpc_stop(struct rh_rpc *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_mutex_unlock(&r->lock);
	wake(r);
	pthread_join(r->thread, NULL);
	r->t->close(r->t);
	close(r->wake);
	rh_buf_free(&r->out);
	free(r->pending);
	pthread_mutex_destroy(&r->lock);
	free(r->name);
	free(r);
}

/* parked.c - a FUSE read parked until an agent answers (calls.c,
 * cluster-log.c). The reader and the agent's callbacks share it; the
 * first of the agent's answer and Ctrl-C replies to the request, and the
 * last to let go frees it. parked_poll is such a read answered by a long
 * poll: the agent holds the request until it has bytes, and an empty
 * reply (the wait passed) is asked again. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>

#include "requests.h"
#include "rhfs.h"

void
parked_init(struct parked *p)
{
	pthread_mutex_init(&p->lock, NULL);
	p->answered = 0;
	p->refs = 1;
}

void
parked_hold(struct parked *p)
{
	pthread_mutex_lock(&p->lock);
	p->refs++;
	pthread_mutex_unlock(&p->lock);
}

int
parked_release(struct parked *p)
{
	int left;

	pthread_mutex_lock(&p->lock);
	left = --p->refs;
	pthread_mutex_unlock(&p->lock);
	if (left > 0)
		return 0;
	pthread_mutex_destroy(&p->lock);
	return 1;
}

int
parked_claim(struct parked *p)
{
	int mine;

	pthread_mutex_lock(&p->lock);
	mine = !p->answered;
	p->answered = 1;
	pthread_mutex_unlock(&p->lock);
	return mine;
}

int
parked_answered(struct parked *p)
{
	int answered;

	pthread_mutex_lock(&p->lock);
	answered = p->answered;
	pthread_mutex_unlock(&p->lock);
	return answered;
}

void
parked_interrupted(fuse_req_t req, void *arg)
{
	if (parked_claim(arg))
		fuse_reply_err(req, EINTR);
}

/* A read that a long poll of the agent answers. */
struct poll_read {
	struct parked p;        /* first: parked_interrupted's arg */
	fuse_req_t req;
	struct rh_rpc *rpc;
	cJSON *ask;             /* the request, sent again as it is */
	int again;              /* an empty reply is asked again */
};

static void
poll_put(struct poll_read *w)
{
	if (!parked_release(&w->p))
		return;
	cJSON_Delete(w->ask);
	free(w);
}

static void poll_cb(void *arg, int err, const cJSON *msg, int final);

static int
poll_ask(struct poll_read *w)
{
	int r;

	parked_hold(&w->p);     /* the agent's answer holds one */
	if ((r = rh_rpc_call(w->rpc, w->ask, poll_cb, w)) < 0)
		poll_put(w);
	return r;
}

static void
poll_cb(void *arg, int err, const cJSON *msg, int final)
{
	struct poll_read *w = arg;
	struct rh_buf data = { 0 };
	struct rh_bytes_reply b = { &data, 0, 0, -1, -1 };
	int eof = 0, r;

	if (!final)
		return;
	if (err == 0 && rh_bytes_reply_decode(msg, &b, NULL) < 0)
		err = -EIO;
	eof = b.eof > 0;
	/* the wait ended with nothing, and the reader still waits: again */
	if (err == 0 && data.len == 0 && !eof && w->again &&
	    !parked_answered(&w->p)) {
		if ((r = poll_ask(w)) == 0) {
			rh_buf_free(&data);
			poll_put(w);
			return;
		}
		err = r;
	}
	if (parked_claim(&w->p)) {
		/* no interrupt may run with w after this */
		fuse_req_interrupt_func(w->req, NULL, NULL);
		if (err < 0)
			fuse_reply_err(w->req, -err);
		else if (data.len == 0 && !eof)
			fuse_reply_err(w->req, EAGAIN);
		else
			fuse_reply_buf(w->req, data.data, data.len);
	}
	rh_buf_free(&data);
	poll_put(w);
}

void
parked_poll(fuse_req_t req, struct rh_rpc *rpc, cJSON *ask, int again)
{
	struct poll_read *w = xcalloc(1, sizeof(*w));
	int r;

	parked_init(&w->p);     /* this function's */
	w->req = req;
	w->rpc = rpc;
	w->ask = ask;
	w->again = again;
	fuse_req_interrupt_func(req, parked_interrupted, w);
	if ((r = poll_ask(w)) < 0 && parked_claim(&w->p)) {
		fuse_req_interrupt_func(req, NULL, NULL);
		fuse_reply_err(req, -r);
	}
	poll_put(w);
}

/* parked.c - a FUSE read parked until an agent answers (calls.c,
 * cluster-log.c). The reader and the agent's callbacks share it; the
 * first of the agent's answer and Ctrl-C replies to the request, and the
 * last to let go frees it. */
#include "config.h"

#include <errno.h>

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

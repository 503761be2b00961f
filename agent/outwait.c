/*
 * outwait.c - "output" with wait_ms: a call's stdout or stderr read from
 * an offset, the request held at the end of what there is until the file
 * grows, the call ends, the client stops asking or the wait is over (a
 * long poll, as logwait.c for the agent's own log). The files are written
 * by the call's process, not by the agent, so their growth is learnt from
 * inotify: a watch on the directory of each file waited on (the file may
 * not exist yet), its descriptor in the loop's poll set. Where a call's
 * output is changes when it starts (a Python call's is its worker's file
 * while it runs: pool.c), so call.c wakes the waiters of a call that
 * starts or ends. Nothing spins: without inotify a request is held only
 * briefly, and the client asks again.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"
#include "requests.h"
#include "agent.h"

/* Most requests held at once: beyond, a request is refused. */
#define OUTWAIT_MAX 16384
/* Without inotify, the longest a request is held. */
#define OUTWAIT_BLIND_MS 100

struct out_waiter {
	struct conn *conn;
	uint64_t id;            /* the request to answer */
	char call[64];
	char stream[8];         /* "stdout" or "stderr" */
	uint64_t off;
	size_t len;
	unsigned wait_ms;       /* granted, told in the answer */
	char *path;             /* where the output is, relative */
	int wd;                 /* the watch on its directory; -1: none */
	int woken;              /* its file changed, or its call started or
	                         * ended: look again */
	struct timespec until;  /* CLOCK_MONOTONIC */
	struct out_waiter *next;
};

struct outwait {
	int fd;                 /* inotify; -1: none */
	struct out_waiter *list;
	unsigned n;
	int readable;           /* poll said fd has events to read */
};

void
outwait_init(struct agent *a)
{
	struct outwait *ow = xcalloc(1, sizeof(*ow));

	ow->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ow->fd < 0)
		rh_warn("inotify: %s: a call's output is followed by asking "
		        "every %d ms", strerror(errno), OUTWAIT_BLIND_MS);
	a->outwait = ow;
}

void
outwait_stop(struct agent *a)
{
	struct outwait *ow = a->outwait;

	if (ow == NULL)
		return;
	/* the clients, and so the waiters, are gone */
	if (ow->fd >= 0)
		close(ow->fd);
	free(ow);
	a->outwait = NULL;
}

int
outwait_fd(struct agent *a)
{
	return a->outwait != NULL ? a->outwait->fd : -1;
}

/* The reply to an output request in *out, or -errno with err. */
static int
output_reply(struct agent *a, uint64_t id, const char *call,
             const char *stream, uint64_t off, size_t len, unsigned wait_ms,
             cJSON **out, struct rh_err *err)
{
	struct rh_buf data = { 0 };
	struct rh_bytes_reply b = { &data, 0, 0, 0, wait_ms };
	int rr;

	/* wait_ms tells the client that this agent holds requests (an
	 * older one leaves the field out, and answers at once) */
	*out = NULL;
	if ((rr = record_output(a, call, stream, off, len, &b, err)) == 0) {
		*out = rh_proto_reply(id);
		rh_bytes_reply_encode(*out, &b);
	}
	rh_buf_free(&data);
	return rr;
}

/* Whether a reply has bytes past off or the end of the output. */
static int
news(const cJSON *r, uint64_t off)
{
	const cJSON *size = cJSON_GetObjectItemCaseSensitive(r, "size");

	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "eof")) ||
	       (cJSON_IsNumber(size) && size->valuedouble > (double)off);
}

/* Where a call's stream is now (where record.c reads it). */
static char *
output_where(struct agent *a, const char *call, const char *stream)
{
	struct call *c = call_find(a, call);
	char *path = c != NULL ? pool_output_path(c, stream) : NULL;

	return path != NULL ? path : record_path(call, stream);
}

static const char *
base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* The watch on the directory of path, or -1: -ENOENT when there is no
 * such directory yet (a call that starts or ends wakes its waiters),
 * else -errno. */
static int
watch(struct agent *a, const char *path, int *wd)
{
	struct outwait *ow = a->outwait;
	char *dir;
	int r = 0;

	*wd = -1;
	if (ow->fd < 0)
		return -ENOSYS;
	dir = xstrndup(path, (size_t)(base_name(path) - path));
	/* the same directory gives the same watch, shared */
	if ((*wd = inotify_add_watch(ow->fd, *dir ? dir : ".", IN_MODIFY |
	                             IN_CLOSE_WRITE | IN_ONLYDIR)) < 0) {
		r = -errno;
		if (r != -ENOENT)
			rh_warn("%s/%s: cannot watch it for output: %s",
			        a->dir, dir, strerror(errno));
	}
	free(dir);
	return r;
}

/* Drop the watch wd unless a waiter still has it. */
static void
unwatch(struct outwait *ow, int wd)
{
	struct out_waiter *w;

	if (wd < 0)
		return;
	for (w = ow->list; w != NULL; w = w->next)
		if (w->wd == wd)
			return;
	inotify_rm_watch(ow->fd, wd);
}

static void
deadline(struct timespec *t, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long)(ms % 1000) * 1000000;
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

int
outwait_read(struct agent *a, struct conn *c, uint64_t id, const char *call,
             const char *stream, uint64_t off, size_t len, uint64_t wait_ms,
             struct rh_err *err)
{
	struct outwait *ow = a->outwait;
	struct out_waiter *w;
	char *path = NULL;
	int wd = -1, rr;
	cJSON *r;

	if (wait_ms > OUTWAIT_MAX_MS)
		wait_ms = OUTWAIT_MAX_MS;
	if (wait_ms > 0 && rh_call_id_valid(call) &&
	    strlen(call) < sizeof(w->call) &&
	    strlen(stream) < sizeof(w->stream) && call_find(a, call) != NULL) {
		if (ow->n >= OUTWAIT_MAX)
			return rh_err_set(err, EBUSY, "call %s: %u output "
			                  "requests wait already", call, ow->n);
		/* before the look: what is written after it wakes us */
		path = output_where(a, call, stream);
		rr = watch(a, path, &wd);
		if (rr < 0 && rr != -ENOENT && wait_ms > OUTWAIT_BLIND_MS)
			wait_ms = OUTWAIT_BLIND_MS;
	}
	rr = output_reply(a, id, call, stream, off, len, (unsigned)wait_ms, &r,
	                  err);
	if (rr < 0 || wait_ms == 0 || news(r, off) ||
	    call_find(a, call) == NULL) {
		unwatch(ow, wd);
		free(path);
		if (rr < 0)
			return rr;
		conn_send(a, c, r);
		return 0;
	}
	cJSON_Delete(r);
	w = xcalloc(1, sizeof(*w));
	w->conn = c;
	w->id = id;
	snprintf(w->call, sizeof(w->call), "%s", call);
	snprintf(w->stream, sizeof(w->stream), "%s", stream);
	w->off = off;
	w->len = len;
	w->wait_ms = (unsigned)wait_ms;
	w->path = path;
	w->wd = wd;
	deadline(&w->until, (unsigned)wait_ms);
	/* not counted in c->waiting: a client that ends its requests gets
	 * its answers at once (outwait_tick) */
	w->next = ow->list;
	ow->list = w;
	ow->n++;
	return 0;
}

/* What inotify says: the waiters whose file changed wake up. */
static void
read_events(struct outwait *ow)
{
	char buf[4096]
	        __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	struct out_waiter *w;
	ssize_t n;
	char *p;

	if (ow->fd < 0)
		return;
	while ((n = read(ow->fd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			for (w = ow->list; w != NULL; w = w->next) {
				if (ev->mask & IN_Q_OVERFLOW) {
					w->woken = 1;   /* events lost */
				} else if (w->wd != ev->wd) {
					continue;
				} else if (ev->mask & IN_IGNORED) {
					/* the directory is gone */
					w->wd = -1;
					w->woken = 1;
				} else if (ev->len > 0 && strcmp(ev->name,
				           base_name(w->path)) == 0) {
					w->woken = 1;
				}
			}
		}
	}
}

void
outwait_polled(struct agent *a, short revents)
{
	if (a->outwait != NULL && revents != 0)
		a->outwait->readable = 1;
}

/* Whether a woken w has still nothing to be told; it follows its output
 * to where it is now. */
static int
nothing_new(struct agent *a, struct out_waiter *w)
{
	struct stat st;
	char *path;
	int wd, r;

	if (call_find(a, w->call) == NULL)
		return 0;
	/* handed to a worker node since: answered, to be asked there */
	if (head_elsewhere(a, w->call))
		return 0;
	path = output_where(a, w->call, w->stream);
	if (strcmp(path, w->path) != 0 || w->wd < 0) {
		/* moved (the call started), or unwatched: watch there, then
		 * look */
		free(w->path);
		w->path = path;
		wd = w->wd;
		r = watch(a, path, &w->wd);
		unwatch(a->outwait, wd);
		if (r < 0 && r != -ENOENT)
			deadline(&w->until, OUTWAIT_BLIND_MS);
	} else {
		free(path);
	}
	return stat(w->path, &st) < 0 || (uint64_t)st.st_size <= w->off;
}

static void
answer(struct agent *a, struct out_waiter *w)
{
	struct rh_err err;
	cJSON *r;
	int rr;

	if (head_elsewhere(a, w->call)) {
		/* its output is on a worker node: nothing here; the client
		 * asks again, and that request goes there (head.c) */
		struct rh_buf none = { 0 };
		struct rh_bytes_reply b = { &none, (long long)w->off,
		                            (long long)w->off, 0, w->wait_ms };

		r = rh_proto_reply(w->id);
		rh_bytes_reply_encode(r, &b);
		conn_send(a, w->conn, r);
		return;
	}
	if ((rr = output_reply(a, w->id, w->call, w->stream, w->off, w->len,
	                       w->wait_ms, &r, &err)) < 0)
		r = rh_proto_error(w->id, -rr, "%s", err.msg);
	conn_send(a, w->conn, r);
}

static void
waiter_free(struct outwait *ow, struct out_waiter *w)
{
	int wd = w->wd;

	ow->n--;
	free(w->path);
	free(w);
	unwatch(ow, wd);
}

int
outwait_tick(struct agent *a)
{
	struct outwait *ow = a->outwait;
	struct out_waiter **pw, *w;
	struct timespec now;
	long ms, next = -1;

	if (ow == NULL)
		return -1;
	/* when poll says there are some: events left unread (of a watch
	 * just dropped) would wake every poll, and a read that finds none
	 * costs a system call at every turn, twice a call */
	if (ow->readable) {
		read_events(ow);
		ow->readable = 0;
	}
	if (ow->list == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (pw = &ow->list; (w = *pw) != NULL;) {
		ms = rh_ms_between(&now, &w->until);
		if (ms <= 0 || w->conn->eof ||
		    (w->woken && !nothing_new(a, w))) {
			*pw = w->next;
			answer(a, w);
			waiter_free(ow, w);
			continue;
		}
		w->woken = 0;
		if (next < 0 || ms < next)
			next = ms;
		pw = &w->next;
	}
	return next < 0 ? -1 : (int)(next + 1);
}

void
outwait_wake(struct agent *a, const char *call)
{
	struct out_waiter *w;

	if (a->outwait == NULL)
		return;
	for (w = a->outwait->list; w != NULL; w = w->next)
		if (strcmp(w->call, call) == 0)
			w->woken = 1;
}

void
outwait_forget_conn(struct agent *a, struct conn *c)
{
	struct outwait *ow = a->outwait;
	struct out_waiter **pw, *w;

	if (ow == NULL)
		return;
	for (pw = &ow->list; (w = *pw) != NULL;) {
		if (w->conn == c) {
			*pw = w->next;
			waiter_free(ow, w);
		} else {
			pw = &w->next;
		}
	}
}

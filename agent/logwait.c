/*
 * logwait.c - "log": the agent's own log read from an offset, and the
 * readers that wait for it to grow (a long poll: `tail -f` over the wire
 * without a thread or a timer spinning anywhere). Everything the log
 * gets is written by this process inside a turn of the event loop, so a
 * look at its size at the end of each turn sees every new line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"
#include "requests.h"
#include "agent.h"

struct log_waiter {
	struct conn *conn;
	uint64_t id;            /* the request to answer */
	uint64_t off;
	size_t len;
	struct timespec until;  /* CLOCK_MONOTONIC */
	struct log_waiter *next;
};

static uint64_t
log_size(void)
{
	struct stat st;

	return stat(AGENT_LOG, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Answer id with up to len bytes of the log from off (none past its end). */
static void
answer(struct agent *a, struct conn *c, uint64_t id, uint64_t off,
       size_t len)
{
	cJSON *r = rh_proto_reply(id);
	uint64_t size = log_size();
	struct rh_buf data = { 0 };
	struct rh_bytes_reply b = { &data, 0, 0, -1, -1 };
	char *buf = NULL;
	ssize_t n = 0;
	int fd;

	if (off < size && len > 0) {
		if (len > size - off)
			len = (size_t)(size - off);
		buf = xmalloc(len);
		if ((fd = open(AGENT_LOG, O_RDONLY | O_CLOEXEC)) >= 0) {
			n = pread(fd, buf, len, (off_t)off);
			close(fd);
		}
		if (n < 0)
			n = 0;
	}
	if (n > 0)
		rh_buf_append(&data, buf, (size_t)n);
	b.offset = (long long)off;
	b.size = (long long)size;
	rh_bytes_reply_encode(r, &b);
	conn_send(a, c, r);
	rh_buf_free(&data);
	free(buf);
}

int
logwait_read(struct agent *a, struct conn *c, uint64_t id, uint64_t off,
             size_t len, unsigned wait_ms)
{
	struct log_waiter *w;

	if (off < log_size() || wait_ms == 0) {
		answer(a, c, id, off, len);
		return 0;
	}
	w = xcalloc(1, sizeof(*w));
	w->conn = c;
	w->id = id;
	w->off = off;
	w->len = len;
	clock_gettime(CLOCK_MONOTONIC, &w->until);
	w->until.tv_sec += wait_ms / 1000;
	w->until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (w->until.tv_nsec >= 1000000000) {
		w->until.tv_sec++;
		w->until.tv_nsec -= 1000000000;
	}
	/* not counted in c->waiting: a client that has ended its requests
	 * is closed without waiting for more of the log */
	w->next = a->log_waiters;
	a->log_waiters = w;
	return 0;
}

int
logwait_tick(struct agent *a)
{
	struct log_waiter **pw, *w;
	struct timespec now;
	uint64_t size;
	long ms, next = -1;

	if (a->log_waiters == NULL)
		return -1;
	size = log_size();
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (pw = &a->log_waiters; (w = *pw) != NULL;) {
		ms = rh_ms_between(&now, &w->until);
		if (w->off < size || ms <= 0) {
			*pw = w->next;
			answer(a, w->conn, w->id, w->off, w->len);
			free(w);
			continue;
		}
		if (next < 0 || ms < next)
			next = ms;
		pw = &w->next;
	}
	return next < 0 ? -1 : (int)(next + 1);
}

void
logwait_forget_conn(struct agent *a, struct conn *c)
{
	struct log_waiter **pw, *w;

	for (pw = &a->log_waiters; (w = *pw) != NULL;) {
		if (w->conn == c) {
			*pw = w->next;
			free(w);
		} else {
			pw = &w->next;
		}
	}
}

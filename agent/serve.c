/*
 * serve.c - the agent's event loop: one poll() over the listening unix
 * socket, a signalfd (children ending, stop requests), every client and
 * an inotify descriptor (calls' output growing), all non-blocking. A
 * client that breaks the protocol loses its own connection and nothing
 * else.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"
#include "agent.h"

/* Reads per client per turn, so that one busy client cannot starve the
 * others. */
#define READS_PER_TURN 8
#define READ_CHUNK 65536

int
agent_log_open(void)
{
	int fd = open(AGENT_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	              0600);

	if (fd < 0)
		return -1;
	if (fd != STDERR_FILENO) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	return 0;
}

static size_t
pending(const struct conn *c)
{
	return c->out.len - c->out_off;
}

static void
conn_close(struct agent *a, struct conn *c)
{
	if (c->dead)
		return;
	call_forget_conn(a, c);
	logwait_forget_conn(a, c);
	outwait_forget_conn(a, c);
	head_forget_conn(a, c);
	if (c->to_head && !a->stopping) {
		/* a worker without its head: it stops, and starts again to
		 * join anew (worker.c) */
		rh_warn("the head closed the connection: stopping, to join "
		        "again");
		a->stopping = 1;
		a->reexec = 1;
	}
	if (c->ofd >= 0 && c->ofd != c->fd)
		close(c->ofd);
	if (c->fd >= 0)
		close(c->fd);
	if (c->hold >= 0)
		close(c->hold);
	c->fd = c->ofd = c->hold = -1;
	c->dead = 1;
	a->nconns--;
}

/* Write what is pending without blocking; a client that went away is
 * closed. */
void
conn_flush(struct agent *a, struct conn *c)
{
	ssize_t n;

	while (!c->dead && pending(c) > 0) {
		/* a bridge's stdout is a pipe (non-blocking; SIGPIPE is
		 * ignored) */
		n = c->ofd != c->fd ?
		    write(c->ofd, c->out.data + c->out_off, pending(c)) :
		    send(c->fd, c->out.data + c->out_off, pending(c),
		         MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			rh_debug("client %llu: write: %s",
			         (unsigned long long)c->serial, strerror(errno));
			conn_close(a, c);
			return;
		}
		c->out_off += (size_t)n;
	}
	/* Drained: give back what a burst of large replies took. */
	if (c->out.cap > 4 * READ_CHUNK)
		rh_buf_free(&c->out);
	c->out.len = c->out_off = 0;
}

void
conn_send(struct agent *a, struct conn *c, cJSON *msg)
{
	uint64_t id;
	int r;

	if (!c->dead) {
		r = rh_proto_encode(msg, 0, &c->out);
		if (r == -EMSGSIZE) {
			/* Inline data is bounded well below the maximum, so
			 * this is a bug; the client still hears about it. */
			rh_proto_check(msg, &id, NULL, NULL);
			cJSON_Delete(msg);
			msg = rh_proto_error(id, EMSGSIZE, "the reply would "
			                     "exceed the frame maximum");
			r = rh_proto_encode(msg, 0, &c->out);
		}
		if (r < 0)
			rh_error("client %llu: cannot encode a reply: %s",
			         (unsigned long long)c->serial, strerror(-r));
	}
	cJSON_Delete(msg);
}

/* Tell the client why, as the last frame it gets. */
static void
send_bye(struct agent *a, struct conn *c, int errnum, const char *why)
{
	cJSON *m = rh_proto_new(0, "bye");

	if (errnum != 0)
		cJSON_AddStringToObject(m, "error", rh_proto_errname(errnum));
	cJSON_AddStringToObject(m, "message", why);
	conn_send(a, c, m);
	conn_flush(a, c);
}

/* ... and close. */
static void
conn_bye(struct agent *a, struct conn *c, int errnum, const char *why)
{
	send_bye(a, c, errnum, why);
	conn_close(a, c);
}

static void
conn_read(struct agent *a, struct conn *c)
{
	struct rh_proto_msg m;
	struct rh_err err;
	ssize_t n;
	size_t avail;
	void *p;
	int i, r;

	for (i = 0; i < READS_PER_TURN && !c->dead; i++) {
		p = rh_proto_dec_space(&c->dec, READ_CHUNK, &avail);
		n = read(c->fd, p, avail);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				rh_info("client %llu: read: %s",
				        (unsigned long long)c->serial,
				        strerror(errno));
				conn_close(a, c);
			}
			return;
		}
		if (n == 0) {
			if (rh_proto_dec_end(&c->dec, &err) < 0) {
				rh_warn("client %llu: closing: %s",
				        (unsigned long long)c->serial, err.msg);
				conn_close(a, c);
				return;
			}
			/* A half-close: the client may still read. It is
			 * closed once its calls have answered. */
			rh_debug("client %llu: end of requests",
			         (unsigned long long)c->serial);
			c->eof = 1;
			logwait_forget_conn(a, c);
			return;
		}
		rh_proto_dec_commit(&c->dec, (size_t)n);
		while ((r = rh_proto_dec_next(&c->dec, &m, &err)) == 1) {
			op_handle(a, c, &m);
			rh_proto_msg_free(&m);
			if (c->dead)
				return;
		}
		if (r < 0) {
			rh_warn("client %llu: closing: %s",
			        (unsigned long long)c->serial, err.msg);
			conn_bye(a, c, -r, err.msg);
			return;
		}
		if ((size_t)n < avail)
			return;
	}
}

struct conn *
conn_new(struct agent *a, int fd, int ofd, int hold)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->ofd = ofd;
	c->hold = hold;
	c->serial = ++a->next_serial;
	rh_proto_dec_init(&c->dec, RH_PROTO_FRAME_MAX);
	c->next = a->conns;
	a->conns = c;
	a->nconns++;
	return c;
}

/* Whether a client may connect: our own user (or root), and room. */
static int
client_ok(struct agent *a, int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	/* The directory is 0700; this also holds if it is not. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0 ||
	    (cred->uid != getuid() && cred->uid != 0)) {
		rh_warn("refusing a client of another user");
		return 0;
	}
	if (a->nconns >= AGENT_MAX_CONNS) {
		rh_warn("refusing a client: %u already connected", a->nconns);
		return 0;
	}
	return 1;
}

/* How long a bridge that connected to AGENT_FDSOCK may take to send its
 * descriptors (it sends them at once). */
#define HANDOFF_WAIT_MS 1000

/* The next client on the listening socket lfd that client_ok lets in
 * (flags for accept4, besides SOCK_CLOEXEC), or -1 once none is
 * waiting. */
static int
accept_client(struct agent *a, int lfd, int flags, struct ucred *cred)
{
	int fd;

	for (;;) {
		fd = accept4(lfd, NULL, NULL, flags | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rh_warn("accept: %s", strerror(errno));
			return -1;
		}
		if (client_ok(a, fd, cred))
			return fd;
		close(fd);
	}
}

/* Bridges handing over their stdin and stdout: each is a client that
 * the agent reads and writes directly, without the bridge copying. */
static void
accept_handoffs(struct agent *a)
{
	struct timeval tv = { HANDOFF_WAIT_MS / 1000,
	                      (HANDOFF_WAIT_MS % 1000) * 1000 };
	struct handoff_msg m;
	struct cmsghdr *cm;
	struct ucred cred;
	struct conn *c;
	int fd, fds[2], i;
	ssize_t n;

	while ((fd = accept_client(a, a->hfd, 0, &cred)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		handoff_msg_init(&m, 0);
		while ((n = recvmsg(fd, &m.msg, MSG_CMSG_CLOEXEC)) < 0 &&
		       errno == EINTR)
			;
		cm = n == 1 ? CMSG_FIRSTHDR(&m.msg) : NULL;
		if (cm == NULL || cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS ||
		    cm->cmsg_len != CMSG_LEN(2 * sizeof(int)) ||
		    (m.msg.msg_flags & MSG_CTRUNC)) {
			/* whatever came is closed with it */
			for (; cm != NULL; cm = CMSG_NXTHDR(&m.msg, cm))
				if (cm->cmsg_level == SOL_SOCKET &&
				    cm->cmsg_type == SCM_RIGHTS)
					for (i = 0; (size_t)i < (cm->cmsg_len -
					     CMSG_LEN(0)) / sizeof(int); i++)
						close(((int *)CMSG_DATA(cm))[i]);
			rh_warn("refusing a bridge that handed over no "
			        "stdin and stdout");
			close(fd);
			continue;
		}
		memcpy(fds, CMSG_DATA(cm), sizeof(fds));
		if (fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) |
		          O_NONBLOCK) < 0 ||
		    fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) |
		          O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
			rh_warn("a bridge's descriptors: %s", strerror(errno));
			close(fds[0]);
			close(fds[1]);
			close(fd);
			continue;
		}
		c = conn_new(a, fds[0], fds[1], fd);
		rh_debug("client %llu: connected through a bridge (pid %ld)",
		         (unsigned long long)c->serial, (long)cred.pid);
	}
}

static void
accept_all(struct agent *a)
{
	struct ucred cred;
	struct conn *c;
	int fd;

	while ((fd = accept_client(a, a->lfd, SOCK_NONBLOCK, &cred)) >= 0) {
		c = conn_new(a, fd, fd, -1);
		rh_debug("client %llu: connected (pid %ld)",
		         (unsigned long long)c->serial, (long)cred.pid);
	}
}

/* A map queues thousands of calls at once; once none is active, what
 * they took goes back to the system (glibc keeps what is freed), or the
 * agent stays at its largest map's size. */
#define TRIM_AFTER_CALLS 256

static void
trim_when_idle(struct agent *a)
{
	if (a->queued.n + a->running.n >= TRIM_AFTER_CALLS) {
		a->trim = 1;
	} else if (a->trim && a->queued.n == 0 && a->running.n == 0) {
		malloc_trim(0);
		a->trim = 0;
	}
}

static void
sweep(struct agent *a)
{
	struct conn **pc, *c;

	for (pc = &a->conns; (c = *pc) != NULL;) {
		if (c->dead) {
			*pc = c->next;
			rh_proto_dec_free(&c->dec);
			rh_buf_free(&c->out);
			free(c);
		} else
			pc = &c->next;
	}
}

/* A worker agent stopping on a signal tells its head it leaves, and which
 * calls it runs. */
static void
worker_leaving(struct agent *a, int signo)
{
	struct conn *c;
	struct call *call;
	cJSON *m, *ids;
	char why[128];

	for (c = a->conns; c != NULL; c = c->next)
		if (c->to_head && !c->dead)
			break;
	if (c == NULL)
		return;
	/* the calls it runs fail as it stops; those it has not started, and
	 * those on their way to it (it reads no more), the head hands to
	 * others */
	snprintf(why, sizeof(why), "node %s is stopping on signal %d (%s)",
	         a->worker_name, signo, strsignal(signo));
	m = rh_proto_new(0, "leaving");
	cJSON_AddStringToObject(m, "message", why);
	ids = cJSON_AddArrayToObject(m, "calls");
	for (call = a->running.head; call != NULL; call = call->next)
		cJSON_AddItemToArray(ids, cJSON_CreateString(call->id));
	conn_send(a, c, m);
	rh_info("%s: the head is told", why);
}

static void
read_signals(struct agent *a)
{
	struct signalfd_siginfo si;
	int reap = 0;

	while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap = 1;
			break;
		case SIGHUP:
			if (!a->foreground && agent_log_open() < 0)
				rh_warn("cannot reopen the log: %s",
				        strerror(errno));
			break;
		default:
			rh_info("stopping on signal %u", si.ssi_signo);
			if (a->worker_name != NULL && !a->stopping)
				worker_leaving(a, (int)si.ssi_signo);
			a->stopping = 1;
			break;
		}
	}
	if (reap)
		call_reap(a);
}

int
serve_setup(struct agent *a, struct rh_err *err)
{
	struct sockaddr_un sun;
	struct rlimit rl;
	sigset_t set;
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((a->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		return rh_err_set(err, errno, "signalfd: %s", strerror(errno));
	/* Every client is a descriptor: take all we are allowed. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((r = pool_init(a, err)) < 0 || (r = call_init(a, err)) < 0)
		return r;
	autostop_init(a);

	a->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                0);
	if (a->lfd < 0)
		return rh_err_set(err, errno, "socket: %s", strerror(errno));
	/* We hold the pid file's lock: a socket file left here is stale. A
	 * relative name, as our cwd is the directory: a long $HOME must not
	 * overflow sun_path. */
	unlink(AGENT_SOCK);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, AGENT_SOCK, sizeof(AGENT_SOCK));
	if (bind(a->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(AGENT_SOCK, 0600) < 0 || listen(a->lfd, 128) < 0)
		return rh_err_set(err, errno, "%s/%s: %s", a->dir, AGENT_SOCK,
		                  strerror(errno));
	/* Without it bridges copy the bytes, as before it was. */
	unlink(AGENT_FDSOCK);
	memcpy(sun.sun_path, AGENT_FDSOCK, sizeof(AGENT_FDSOCK));
	a->hfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                0);
	if (a->hfd >= 0 &&
	    (bind(a->hfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	     chmod(AGENT_FDSOCK, 0600) < 0 || listen(a->hfd, 128) < 0)) {
		rh_warn("%s/%s: %s", a->dir, AGENT_FDSOCK, strerror(errno));
		close(a->hfd);
		a->hfd = -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a->started);
	clock_gettime(CLOCK_REALTIME, &a->started_wall);
	rh_info("rhagent %s (protocol %d) serving %s as pid %ld, %u jobs",
	        VERSION, RH_PROTO_VERSION, a->dir, (long)getpid(), a->jobs);
	/* last: a setup that fails leaves nothing to free */
	outwait_init(a);
	/* Calls queued before a restart go first. */
	call_schedule(a);
	return 0;
}

static void
serve_stop(struct agent *a)
{
	struct conn *c;

	pool_stop_all(a);
	call_stop_all(a);
	head_stop(a);
	record_close(a);        /* the calls' last records are written */
	for (c = a->conns; c != NULL; c = c->next) {
		send_bye(a, c, ESHUTDOWN, "the agent is stopping");
		/* its socket is left for exit to close: a client that waits
		 * for the stream's end (ctl down) then knows the agent is
		 * gone, not merely stopping */
		if (!c->dead)
			c->fd = c->ofd = c->hold = -1;
		conn_close(a, c);
	}
	sweep(a);
	outwait_stop(a);
	close(a->lfd);
	unlink(AGENT_SOCK);
	if (a->hfd >= 0) {
		close(a->hfd);
		unlink(AGENT_FDSOCK);
	}
	rh_info("stopped");
}

int
serve_loop(struct agent *a)
{
	struct pollfd *pfd = NULL;
	struct conn **pc = NULL, *c;
	size_t cap = 0, n, i, np, nout, nh;
	int timeout, ticks, t;

	while (!a->stopping) {
		/* before the poll set is made: replies they queue go out */
		ticks = autostop_tick(a);
		if (a->stopping)
			break;
		if ((t = logwait_tick(a)) >= 0 && (ticks < 0 || t < ticks))
			ticks = t;
		if ((t = outwait_tick(a)) >= 0 && (ticks < 0 || t < ticks))
			ticks = t;
		if ((t = pool_tick(a)) >= 0 && (ticks < 0 || t < ticks))
			ticks = t;
		if ((t = head_tick(a)) >= 0 && (ticks < 0 || t < ticks))
			ticks = t;
		n = 2 + a->nconns;
		np = pool_nfds(a);       /* Python workers, after the clients */
		nh = head_nfds(a);       /* worker nodes, at the very end */
		if (n + np + 2 + a->nconns + nh > cap) {
			cap = (n + np + 2 + a->nconns + nh) * 2;
			pfd = xrealloc(pfd, cap * sizeof(*pfd));
			pc = xrealloc(pc, cap * sizeof(*pc));
		}
		pfd[0].fd = a->sigfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = a->lfd;
		pfd[1].events = POLLIN;
		for (i = 2, c = a->conns; c != NULL; c = c->next, i++) {
			pc[i] = c;
			pfd[i].fd = c->fd;
			pfd[i].events = 0;
			if (c->ofd != c->fd) {
				/* a bridge's pipes: its stdin here until it
				 * ends (a pipe's end is not to be polled
				 * again), its stdout among the last */
				if (c->eof || pending(c) >= AGENT_OUT_HIGH)
					pfd[i].fd = -1;
				else
					pfd[i].events = POLLIN;
				continue;
			}
			/* A client that does not read its replies is not
			 * read from either. */
			if (!c->eof && pending(c) < AGENT_OUT_HIGH)
				pfd[i].events |= POLLIN;
			if (pending(c) > 0)
				pfd[i].events |= POLLOUT;
		}
		np = pool_pollfds(a, pfd + n);
		/* last, output written to calls' files (outwait_tick reads
		 * what it says; -1 is left out by poll) */
		pfd[n + np].fd = outwait_fd(a);
		pfd[n + np].events = POLLIN;
		/* and bridges handing over their stdin and stdout */
		pfd[n + np + 1].fd = a->hfd;
		pfd[n + np + 1].events = POLLIN;
		/* then the stdouts of bridges' clients while output waits */
		nout = 0;
		for (c = a->conns; c != NULL; c = c->next) {
			if (c->ofd == c->fd || pending(c) == 0)
				continue;
			pc[n + np + 2 + nout] = c;
			pfd[n + np + 2 + nout].fd = c->ofd;
			pfd[n + np + 2 + nout].events = POLLOUT;
			nout++;
		}
		nh = head_pollfds(a, pfd + n + np + 2 + nout);
		timeout = call_tick(a);
		/* the soonest of the calls', autostop's, log and output
		 * waiters' deadlines (-1: none) */
		if (ticks >= 0 && (timeout < 0 || ticks < timeout))
			timeout = ticks;
		if (poll(pfd, n + np + 2 + nout + nh, timeout) < 0) {
			if (errno == EINTR)
				continue;
			rh_error("poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			read_signals(a);
		outwait_polled(a, pfd[n + np].revents);
		for (i = 2; i < n; i++) {
			c = pc[i];
			if (c->dead || pfd[i].revents == 0)
				continue;
			/* a pipe's end is POLLHUP alone: read, to see it */
			if ((pfd[i].revents & POLLIN) ||
			    (c->ofd != c->fd && pfd[i].fd == c->fd))
				conn_read(a, c);
			else if (pfd[i].revents & (POLLHUP | POLLERR)) {
				rh_debug("client %llu: hung up",
				         (unsigned long long)c->serial);
				conn_close(a, c);
			}
		}
		if (pfd[1].revents)
			accept_all(a);
		for (i = n + np + 2; i < n + np + 2 + nout; i++) {
			c = pc[i];
			/* POLLOUT: written at the end of the turn */
			if (!c->dead && (pfd[i].revents & (POLLHUP | POLLERR))) {
				rh_debug("client %llu: hung up",
				         (unsigned long long)c->serial);
				conn_close(a, c);
			}
		}
		if (a->hfd >= 0 && pfd[n + np + 1].revents)
			accept_handoffs(a);
		pool_events(a, pfd + n);
		head_events(a, pfd + n + np + 2 + nout);
		/* Log lines and calls' output of this turn reach the
		 * readers waiting for them; then the replies of this turn
		 * go out together. */
		logwait_tick(a);
		outwait_tick(a);
		for (c = a->conns; c != NULL; c = c->next) {
			if (!c->dead && pending(c) > 0)
				conn_flush(a, c);
			if (!c->dead && c->eof && c->waiting == 0 &&
			    pending(c) == 0)
				conn_close(a, c);
		}
		sweep(a);
		trim_when_idle(a);
	}
	free(pfd);
	free(pc);
	serve_stop(a);
	return 0;
}

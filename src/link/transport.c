/* transport.c - the byte streams an agent is reached over: a socket to a
 * local child process (`rhagent bridge` for ^local), or a persistent SSH
 * exec channel running the same on a node. Non-blocking both. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "link.h"

struct fd_transport {
	struct rh_transport t;
	int fd;
	pid_t child;
};

static int
fd_pollfds(struct rh_transport *t, struct pollfd *p, int max, int want_out)
{
	struct fd_transport *f = (struct fd_transport *)t;

	p[0].fd = f->fd;
	p[0].events = POLLIN | (want_out ? POLLOUT : 0);
	p[0].revents = 0;
	return 1;
}

static ssize_t
fd_read(struct rh_transport *t, void *buf, size_t len)
{
	struct fd_transport *f = (struct fd_transport *)t;
	ssize_t n = read(f->fd, buf, len);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	return n;
}

static ssize_t
fd_write(struct rh_transport *t, const void *buf, size_t len)
{
	struct fd_transport *f = (struct fd_transport *)t;
	ssize_t n = send(f->fd, buf, len, MSG_NOSIGNAL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	return n;
}

static void
fd_close(struct rh_transport *t)
{
	struct fd_transport *f = (struct fd_transport *)t;

	close(f->fd);
	/* the bridge ends when its stdin closes; the agent lives on */
	if (f->child > 0 && waitpid(f->child, NULL, WNOHANG) == 0) {
		usleep(10000);
		if (waitpid(f->child, NULL, WNOHANG) == 0) {
			kill(f->child, SIGTERM);
			waitpid(f->child, NULL, 0);
		}
	}
	free(f);
}

/* Run argv with its stdin and stdout on one end of a socket pair. */
int
rh_transport_spawn(char *const argv[], struct rh_transport **out,
                   struct rh_err *err)
{
	struct fd_transport *f;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return rh_err_set(err, errno, "%s: socketpair: %s", argv[0],
		                  strerror(errno));
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return rh_err_set(err, errno, "%s: fork: %s", argv[0],
		                  strerror(errno));
	}
	if (pid == 0) {
		sigset_t none;

		/* not the mask of the thread that forked (rhfs's threads
		 * block SIGTERM): close's SIGTERM must reach it */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	f = xcalloc(1, sizeof(*f));
	f->t.pollfds = fd_pollfds;
	f->t.read = fd_read;
	f->t.write = fd_write;
	f->t.close = fd_close;
	f->fd = sv[0];
	f->child = pid;
	*out = &f->t;
	return 0;
}

/* Connect to a running agent's unix socket: no bridge process between
 * rhfs and the agent, so a message crosses one socket, not two. Fails
 * (without a message) when no agent listens there. */
int
rh_transport_unix(const char *path, struct rh_transport **out)
{
	struct sockaddr_un sun;
	struct fd_transport *f;
	size_t len = strlen(path);
	int fd;

	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		close(fd);
		return -errno;
	}
	f = xcalloc(1, sizeof(*f));
	f->t.pollfds = fd_pollfds;
	f->t.read = fd_read;
	f->t.write = fd_write;
	f->t.close = fd_close;
	f->fd = fd;
	*out = &f->t;
	return 0;
}

struct ssh_transport {
	struct rh_transport t;
	struct rh_ssh *ssh;
	struct rh_ssh_chan *chan;
};

static int
ssh_pollfds(struct rh_transport *t, struct pollfd *p, int max, int want_out)
{
	struct ssh_transport *s = (struct ssh_transport *)t;

	p[0].fd = rh_ssh_fd(s->ssh);
	p[0].events = (short)(rh_ssh_events(s->ssh) | (want_out ? POLLOUT : 0));
	p[0].revents = 0;
	return 1;
}

static ssize_t
ssh_read(struct rh_transport *t, void *buf, size_t len)
{
	struct ssh_transport *s = (struct ssh_transport *)t;
	char errbuf[1024], *p = buf;
	size_t got = 0;
	ssize_t n, e;
	int drained;

	for (;;) {
		n = rh_ssh_chan_read(s->chan, p + got, len - got);
		if (n > 0)
			got += (size_t)n;
		/* A short read took in all that the socket had and left no
		 * stdout: whatever libssh2 still holds is stderr, known so
		 * without reading the socket again. */
		if (got == len || !rh_ssh_chan_held(s->chan))
			break;
		/* The bridge's stderr must not fill up and stall the
		 * channel. */
		drained = 0;
		while ((e = rh_ssh_chan_read_stderr(s->chan, errbuf,
		                                    sizeof(errbuf) - 1)) > 0) {
			errbuf[e] = '\0';
			rh_warn("%s: agent bridge: %s", rh_ssh_where(s->ssh),
			        errbuf);
			drained = 1;
		}
		/* Reading it took in whatever followed, stdout too: read
		 * that now, as poll no longer shows it. */
		if (!drained || n == 0 || (n < 0 && n != -EAGAIN))
			break;
	}
	return got > 0 ? (ssize_t)got : n;
}

static ssize_t
ssh_write(struct rh_transport *t, const void *buf, size_t len)
{
	return rh_ssh_chan_write(((struct ssh_transport *)t)->chan, buf, len);
}

static int
ssh_taken_in(struct rh_transport *t)
{
	return rh_ssh_chan_taken_in(((struct ssh_transport *)t)->chan);
}

static int
ssh_keepalive(struct rh_transport *t)
{
	return rh_ssh_keepalive(((struct ssh_transport *)t)->ssh);
}

static void
ssh_close(struct rh_transport *t)
{
	struct ssh_transport *s = (struct ssh_transport *)t;

	/* the session goes too: its end is not waited for long */
	rh_ssh_chan_close_now(s->chan, 250);
	rh_ssh_close(s->ssh);
	free(s);
}

/* Own the session and its channel from now on. */
struct rh_transport *
rh_transport_ssh(struct rh_ssh *ssh, struct rh_ssh_chan *chan)
{
	struct ssh_transport *s = xcalloc(1, sizeof(*s));

	s->t.pollfds = ssh_pollfds;
	s->t.read = ssh_read;
	s->t.write = ssh_write;
	s->t.keepalive = ssh_keepalive;
	s->t.taken_in = ssh_taken_in;
	s->t.close = ssh_close;
	s->ssh = ssh;
	s->chan = chan;
	return &s->t;
}

/*
 * bridge.c - `rhagent bridge`: connect to the agent's socket, starting
 * the agent first if it is not running, and hand the agent its stdin and
 * stdout (SCM_RIGHTS over AGENT_FDSOCK): the agent then reads and writes
 * them itself, and the bridge only waits for the agent to close the
 * connection. An agent that takes no descriptors (one from before) gets
 * the bytes copied: stdin -> socket and socket -> stdout until the agent
 * closes. rhfs runs this over one persistent SSH exec channel, since
 * libssh2 cannot forward unix sockets. It never looks inside the frames:
 * the agent judges them.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "agent.h"

/* Bytes held in each direction before the bridge stops reading. */
#define BRIDGE_BUF (256 * 1024)
/* How long to keep trying to connect after starting the agent. */
#define CONNECT_WAIT_MS 10000

struct pipe {
	int from, to;
	char *buf;
	size_t len, off;
	int eof;                /* from has ended */
};

static int
try_connect(int *out)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, AGENT_SOCK, sizeof(AGENT_SOCK));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -errno;
	}
	*out = fd;
	return 0;
}

/* Run `rhagent serve` (this same binary) and wait for it to be ready or
 * to fail: 0 when it started. */
static int
start_agent(int verbose)
{
	char name[] = "rhagent", v[] = "-v", serve[] = "serve", self[4096];
	char *argv[] = { name, v, serve, NULL };
	ssize_t n;
	pid_t pid;
	int st, fd;

	if (!verbose) {
		argv[1] = serve;
		argv[2] = NULL;
	}
	if ((pid = fork()) < 0) {
		fprintf(stderr, "rhagent: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* Our stdin and stdout are the protocol stream: not its. */
		if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, STDIN_FILENO);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		/* By its name, so that ps and pgrep show "rhagent"; a binary
		 * replaced since we started is still ours through /proc. */
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			execv(self, argv);
		}
		execv("/proc/self/exe", argv);
		fprintf(stderr, "rhagent: cannot run itself: %s\n",
		        strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Whether some agent holds the pid file's lock (cwd: its directory). */
static int
agent_running(void)
{
	int fd = open(AGENT_PID, O_RDONLY | O_CLOEXEC), locked;

	if (fd < 0)
		return 0;
	locked = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}

static int
connect_agent(const char *dir, int verbose, int *fd)
{
	struct timespec ts = { 0, 20 * 1000000L };
	int r, i, started;

	/* Relative to the directory: a long $HOME must not overflow
	 * sun_path. */
	if (chdir(dir) == 0 && try_connect(fd) == 0)
		return 0;
	/* A serve that failed may have lost the race to another bridge's,
	 * which is as good; if no agent runs at all, give up now (serve has
	 * said why on stderr). */
	if (!(started = start_agent(verbose) == 0) &&
	    (chdir(dir) < 0 || !agent_running()))
		return -ECONNREFUSED;
	for (i = 0; i < CONNECT_WAIT_MS / 20; i++) {
		if (chdir(dir) == 0 && (r = try_connect(fd)) == 0)
			return 0;
		/* the agent that held the lock was stopping (ctl down, then
		 * up): now that it is gone, ours can start */
		if (!started && !agent_running())
			started = start_agent(verbose) == 0;
		nanosleep(&ts, NULL);
	}
	return chdir(dir) < 0 ? -errno : try_connect(fd);
}

/* A TCP stdio (inetd, socat) carries small frames: no Nagle delay. */
static void
nodelay_if_tcp(int fd)
{
	int domain, one = 1;
	socklen_t len = sizeof(domain);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	    (domain == AF_INET || domain == AF_INET6))
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int
set_nonblock(int fd, int *old)
{
	*old = fcntl(fd, F_GETFL);
	if (*old < 0)
		return -errno;
	return fcntl(fd, F_SETFL, *old | O_NONBLOCK) < 0 ? -errno : 0;
}

/* Move bytes one step along p. Returns -1 when the far side is gone. */
static int
pipe_read(struct pipe *p)
{
	ssize_t n;

	if (p->off == p->len)
		p->off = p->len = 0;
	n = read(p->from, p->buf + p->len, BRIDGE_BUF - p->len);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0)
		p->eof = 1;
	p->len += (size_t)n;
	return 0;
}

static int
pipe_write(struct pipe *p)
{
	ssize_t n;

	n = write(p->to, p->buf + p->off, p->len - p->off);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	p->off += (size_t)n;
	if (p->off == p->len)
		p->off = p->len = 0;
	return 0;
}

void
handoff_msg_init(struct handoff_msg *m, char byte)
{
	memset(m, 0, sizeof(*m));
	m->byte = byte;
	m->iov.iov_base = &m->byte;
	m->iov.iov_len = 1;
	m->msg.msg_iov = &m->iov;
	m->msg.msg_iovlen = 1;
	m->msg.msg_control = m->u.buf;
	m->msg.msg_controllen = sizeof(m->u.buf);
}

/* Hand stdin and stdout to the agent: the socket to wait on, or -1 when
 * it takes none (an older agent) and nothing was handed over. */
static int
handoff(void)
{
	struct handoff_msg m;
	struct sockaddr_un sun;
	struct cmsghdr *cm;
	int fd, fds[2] = { STDIN_FILENO, STDOUT_FILENO };
	ssize_t n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, AGENT_FDSOCK, sizeof(AGENT_FDSOCK));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	handoff_msg_init(&m, 'F');
	cm = CMSG_FIRSTHDR(&m.msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	while ((n = sendmsg(fd, &m.msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (n != 1) {
		close(fd);
		return -1;
	}
	/* Ours are copies now: the agent's stay open until it closes the
	 * connection, and so does this socket. */
	close(STDIN_FILENO);
	close(STDOUT_FILENO);
	return fd;
}

int
bridge_main(const char *dir, int verbose)
{
	struct pipe up = { 0 }, down = { 0 };   /* to the agent, from it */
	struct pollfd pfd[4];
	int sock, r, in_flags, out_flags, sock_shut = 0, status = 0;
	char byte;

	signal(SIGPIPE, SIG_IGN);
	if ((r = connect_agent(dir, verbose, &sock)) < 0) {
		fprintf(stderr, "rhagent: cannot reach the agent at %s/%s: "
		        "%s\n", dir, AGENT_SOCK, strerror(-r));
		return 1;
	}
	nodelay_if_tcp(STDIN_FILENO);
	nodelay_if_tcp(STDOUT_FILENO);
	/* The agent takes our stdin and stdout: nothing to copy; we wait
	 * for it to be done with them. */
	if ((r = handoff()) >= 0) {
		close(sock);
		while (read(r, &byte, 1) != 0 && errno == EINTR)
			;
		close(r);
		return 0;
	}
	if (set_nonblock(STDIN_FILENO, &in_flags) < 0 ||
	    set_nonblock(STDOUT_FILENO, &out_flags) < 0 ||
	    set_nonblock(sock, &r) < 0) {
		fprintf(stderr, "rhagent: fcntl: %s\n", strerror(errno));
		return 1;
	}
	up.from = STDIN_FILENO;
	up.to = sock;
	up.buf = xmalloc(BRIDGE_BUF);
	down.from = sock;
	down.to = STDOUT_FILENO;
	down.buf = xmalloc(BRIDGE_BUF);

	/* Until the agent closes and all it said is written out. */
	while (!(down.eof && down.len == down.off)) {
		pfd[0].fd = !up.eof && up.len < BRIDGE_BUF ? up.from : -1;
		pfd[0].events = POLLIN;
		pfd[1].fd = up.len > up.off ? up.to : -1;
		pfd[1].events = POLLOUT;
		pfd[2].fd = !down.eof && down.len < BRIDGE_BUF ? down.from : -1;
		pfd[2].events = POLLIN;
		pfd[3].fd = down.len > down.off ? down.to : -1;
		pfd[3].events = POLLOUT;
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			status = 1;
			break;
		}
		if (pfd[0].revents && pipe_read(&up) < 0)
			up.eof = 1;     /* stdin broke: as good as closed */
		if (pfd[1].revents && pipe_write(&up) < 0) {
			/* The agent is gone; what it sent still goes out. */
			up.eof = 1;
			up.len = up.off = 0;
		}
		if (pfd[2].revents && pipe_read(&down) < 0)
			down.eof = 1;
		if (pfd[3].revents && pipe_write(&down) < 0) {
			status = 1;     /* nobody reads us any more */
			break;
		}
		/* The client is done: tell the agent, and keep passing on
		 * what it still says until it closes. */
		if (up.eof && up.len == up.off && !sock_shut) {
			shutdown(sock, SHUT_WR);
			sock_shut = 1;
		}
	}
	fcntl(STDIN_FILENO, F_SETFL, in_flags);
	fcntl(STDOUT_FILENO, F_SETFL, out_flags);
	close(sock);
	free(up.buf);
	free(down.buf);
	return status;
}

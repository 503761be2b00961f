/* ssh.c - the SSH transport to cluster nodes (libssh2): one non-blocking
 * session per node over a TCP_NODELAY socket, ed25519/ecdsa key auth, host
 * keys checked against known_hosts, commands run to completion, persistent
 * exec channels for the agent bridge, and SFTP uploads. Every wait is
 * bounded by the session's timeout. A session is not thread-safe: its
 * owner serializes calls. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "link.h"

struct rh_ssh {
	int fd;
	LIBSSH2_SESSION *session;
	int timeout_ms;
	char *where;            /* user@host:port, for messages */
};

struct rh_ssh_chan {
	struct rh_ssh *ssh;
	LIBSSH2_CHANNEL *channel;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void
init_libssh2(void)
{
	init_result = libssh2_init(0);
}

#define SSH_CIPHERS "aes128-gcm@openssh.com,aes256-gcm@openssh.com," \
                    "aes128-ctr,aes192-ctr,aes256-ctr"
#define SSH_MACS "hmac-sha2-256-etm@openssh.com," \
                 "hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512"

/* The methods of want (a list, in order) that this libssh2 has, as the
 * session's preference for type: libssh2 1.10 strips the names it lacks
 * from a preference with an overlapping memcpy, so it is given none. */
static void
method_pref(LIBSSH2_SESSION *ss, int type, const char *want)
{
	const char **algs = NULL;
	char *list = xcalloc(1, strlen(want) + 1), *w = xstrdup(want), *save;
	const char *name;
	int n, i;

	n = libssh2_session_supported_algs(ss, type, &algs);
	for (name = strtok_r(w, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save))
		for (i = 0; i < n; i++)
			if (strcmp(algs[i], name) == 0) {
				if (*list != '\0')
					strcat(list, ",");
				strcat(list, name);
				break;
			}
	if (n > 0)
		libssh2_free(ss, algs);
	if (*list != '\0')
		libssh2_session_method_pref(ss, type, list);
	else
		rh_warn("libssh2 has none of %s", want);
	free(list);
	free(w);
}

/* Wait until the socket is ready in the direction libssh2 is blocked on,
 * or the deadline passes. */
static int
wait_io(struct rh_ssh *s, int64_t deadline)
{
	struct pollfd p = { .fd = s->fd, .events = 0 };
	int dir = libssh2_session_block_directions(s->session), left, n;

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		p.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		p.events |= POLLOUT;
	if (p.events == 0)
		p.events = POLLIN;
	for (;;) {
		left = (int)(deadline - rh_now_ms());
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* libssh2's error in errno terms, with its message in err. */
static int
ssh_fail(struct rh_ssh *s, int rc, const char *what, struct rh_err *err)
{
	char *msg = NULL;
	int e;

	if (rc == -ETIMEDOUT)
		return rh_err_set(err, ETIMEDOUT, "%s: %s: timed out after %d ms",
		                  s->where, what, s->timeout_ms);
	libssh2_session_last_error(s->session, &msg, NULL, 0);
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		e = ENOTCONN;
		break;
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_FILE:
		e = EACCES;
		break;
	default:
		e = EIO;
	}
	return rh_err_set(err, e, "%s: %s: %s", s->where, what,
	                  msg && *msg ? msg : "SSH error");
}

/* Run a libssh2 call until it stops answering EAGAIN. */
#define UNTIL_DONE(s, deadline, rc, call)                                  \
	while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) {                  \
		int w_ = wait_io((s), (deadline));                         \
		if (w_ < 0) {                                              \
			(rc) = w_;                                         \
			break;                                             \
		}                                                          \
	}

static int
tcp_connect(const char *host, int port, int timeout_ms, struct rh_err *err)
{
	struct addrinfo hints, *res, *ai;
	char portstr[16];
	int fd = -1, r, one = 1, soerr, last = ECONNREFUSED;
	socklen_t len;
	struct pollfd p;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((r = getaddrinfo(host, portstr, &hints, &res)) != 0)
		return rh_err_set(err, EHOSTUNREACH, "%s:%d: cannot resolve: %s",
		                  host, port, gai_strerror(r));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		            SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			p.fd = fd;
			p.events = POLLOUT;
			r = poll(&p, 1, timeout_ms);
			len = sizeof(soerr);
			if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			                         &len) == 0 && soerr == 0)
				break;
			last = r == 0 ? ETIMEDOUT : r < 0 ? errno : soerr;
		} else {
			last = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return rh_err_set(err, last, "%s:%d: cannot connect: %s", host,
		                  port, strerror(last));
	return fd;
}

/* Record a new host's key in known_hosts, its directory (~/.ssh) made
 * 0700 when missing. */
static int
record_host_key(LIBSSH2_KNOWNHOSTS *kh, const struct rh_ssh_opts *o,
                const char *key, size_t keylen, int mask)
{
	const char *slash = strrchr(o->known_hosts, '/');
	char *name, *dir;
	int r = 0;

	if (slash != NULL && slash != o->known_hosts) {
		dir = xstrndup(o->known_hosts, (size_t)(slash - o->known_hosts));
		r = rh_mkdirs(dir, 0700);
		free(dir);
		if (r < 0)
			return r;
	}
	name = o->port == 22 ? xstrdup(o->host) :
	       xasprintf("[%s]:%d", o->host, o->port);
	if (libssh2_knownhost_addc(kh, name, NULL, key, keylen, NULL, 0,
	                           LIBSSH2_KNOWNHOST_TYPE_PLAIN |
	                           LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
	                           NULL) != 0)
		r = -ENOMEM;
	else if (libssh2_knownhost_writefile(kh, o->known_hosts,
	                                     LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0)
		r = -EIO;
	free(name);
	return r;
}

/* The host's key against known_hosts: a match passes, an unknown host is
 * recorded (and refused if it cannot be: a key not pinned would let any
 * later one through), a changed key refuses the connection. */
static int
check_host_key(struct rh_ssh *s, const struct rh_ssh_opts *o,
               struct rh_err *err)
{
	LIBSSH2_KNOWNHOSTS *kh;
	struct libssh2_knownhost *found;
	const char *key;
	size_t keylen;
	int type, mask, rc, r = 0;

	key = libssh2_session_hostkey(s->session, &keylen, &type);
	if (key == NULL)
		return rh_err_set(err, EIO, "%s: the server sent no host key",
		                  s->where);
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		mask = LIBSSH2_KNOWNHOST_KEY_ED25519;
		break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
		break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
		break;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		mask = LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
		break;
	case LIBSSH2_HOSTKEY_TYPE_RSA:
		mask = LIBSSH2_KNOWNHOST_KEY_SSHRSA;
		break;
	default:
		return rh_err_set(err, EACCES, "%s: unsupported host key type",
		                  s->where);
	}
	if ((kh = libssh2_knownhost_init(s->session)) == NULL)
		return rh_err_set(err, ENOMEM, "%s: known_hosts", s->where);
	/* a missing file is an empty one */
	libssh2_knownhost_readfile(kh, o->known_hosts,
	                           LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	rc = libssh2_knownhost_checkp(kh, o->host, o->port, key, keylen,
	                              LIBSSH2_KNOWNHOST_TYPE_PLAIN |
	                              LIBSSH2_KNOWNHOST_KEYENC_RAW | mask,
	                              &found);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		if ((rc = record_host_key(kh, o, key, keylen, mask)) < 0)
			r = rh_err_set(err, EACCES, "%s: a new host, and its key "
			               "cannot be recorded in %s (%s): refusing "
			               "to connect to a host whose key is not "
			               "pinned", s->where, o->known_hosts,
			               strerror(-rc));
		else
			rh_info("%s: new host, key recorded in %s", s->where,
			        o->known_hosts);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		r = rh_err_set(err, EACCES, "%s: the host key has changed "
		               "since it was recorded in %s; refusing to connect "
		               "(remove the old key if the change is expected)",
		               s->where, o->known_hosts);
		break;
	default:
		r = rh_err_set(err, EIO, "%s: cannot check the host key against "
		               "%s", s->where, o->known_hosts);
	}
	libssh2_knownhost_free(kh);
	return r;
}

int
rh_ssh_connect(const struct rh_ssh_opts *o, struct rh_ssh **out,
               struct rh_err *err)
{
	struct rh_ssh *s;
	int64_t deadline;
	int rc, fd;

	*out = NULL;
	pthread_once(&init_once, init_libssh2);
	if (init_result != 0)
		return rh_err_set(err, EIO, "libssh2 failed to initialize");
	if ((fd = tcp_connect(o->host, o->port, o->timeout_ms, err)) < 0)
		return fd;
	s = xcalloc(1, sizeof(*s));
	s->fd = fd;
	s->timeout_ms = o->timeout_ms;
	s->where = xasprintf("%s@%s:%d", o->user, o->host, o->port);
	deadline = rh_now_ms() + o->timeout_ms;
	if ((s->session = libssh2_session_init()) == NULL) {
		rc = rh_err_set(err, ENOMEM, "%s: no SSH session", s->where);
		goto fail;
	}
	libssh2_session_set_blocking(s->session, 0);
	/* keys libssh2 1.10 can verify and sign with modern algorithms */
	libssh2_session_method_pref(s->session, LIBSSH2_METHOD_HOSTKEY,
	                            "ssh-ed25519,ecdsa-sha2-nistp256,"
	                            "ecdsa-sha2-nistp384,ecdsa-sha2-nistp521");
	/* ciphers and MACs: secure ones only, the cheapest first. With
	 * libssh2 1.10 (no GCM, no encrypt-then-MAC) that is aes128-ctr and hmac-sha2-256, the ones
	 * that cost libssh2 the least CPU on x86-64 with AES-NI and SHA-NI
	 * (SHA-512 and AES-256 cost more): the bound of a cluster's data
	 * throughput (tests/bench/data.sh) */
	method_pref(s->session, LIBSSH2_METHOD_CRYPT_CS, SSH_CIPHERS);
	method_pref(s->session, LIBSSH2_METHOD_CRYPT_SC, SSH_CIPHERS);
	method_pref(s->session, LIBSSH2_METHOD_MAC_CS, SSH_MACS);
	method_pref(s->session, LIBSSH2_METHOD_MAC_SC, SSH_MACS);
	UNTIL_DONE(s, deadline, rc, libssh2_session_handshake(s->session, fd));
	if (rc == LIBSSH2_ERROR_KEX_FAILURE) {
		char *msg = NULL;

		libssh2_session_last_error(s->session, &msg, NULL, 0);
		rc = rh_err_set(err, EIO, "%s: SSH handshake: %s: the node "
		                "may offer no cipher or MAC rhfs takes (AES-CTR "
		                "or AES-GCM, HMAC-SHA2)", s->where,
		                msg && *msg ? msg : "failed");
		goto fail;
	}
	if (rc != 0) {
		rc = ssh_fail(s, rc, "SSH handshake", err);
		goto fail;
	}
	if ((rc = check_host_key(s, o, err)) < 0)
		goto fail;
	UNTIL_DONE(s, deadline, rc,
	           libssh2_userauth_publickey_fromfile_ex(
	                   s->session, o->user, (unsigned)strlen(o->user), NULL,
	                   o->private_key, NULL));
	if (rc != 0) {
		if (rc == -ETIMEDOUT)
			rc = ssh_fail(s, rc, "authentication", err);
		else
			rc = rh_err_set(err, EACCES, "%s: authentication with "
			                "key %s failed", s->where, o->private_key);
		goto fail;
	}
	/* no reply wanted: libssh2 would keep each one queued, unread, for
	 * the session's life */
	libssh2_keepalive_config(s->session, 0, 15);
	*out = s;
	return 0;
fail:
	rh_ssh_close(s);
	return rc;
}

/* How often rh_ssh_close asks libssh2 to free a session that says
 * EAGAIN (its socket shut: each try fails at once). */
#define CLOSE_TRIES 64

void
rh_ssh_close(struct rh_ssh *s)
{
	if (s == NULL)
		return;
	if (s->session != NULL) {
		int i;

		/* a goodbye the peer may never read: one try, no wait */
		libssh2_session_set_blocking(s->session, 0);
		libssh2_session_disconnect(s->session, "bye");
		/* the socket shut first, so that closing the channels fails
		 * at once instead of waiting for a peer that may be silent
		 * (EAGAIN would leave the session half freed) */
		shutdown(s->fd, SHUT_RDWR);
		for (i = 0; i < CLOSE_TRIES &&
		     libssh2_session_free(s->session) ==
		     LIBSSH2_ERROR_EAGAIN; i++)
			;
	}
	close(s->fd);
	free(s->where);
	free(s);
}

int
rh_ssh_fd(const struct rh_ssh *s)
{
	return s->fd;
}

const char *
rh_ssh_where(const struct rh_ssh *s)
{
	return s->where;
}

/* Poll events the owner's loop must wait for to make progress. */
int
rh_ssh_events(const struct rh_ssh *s)
{
	int dir = libssh2_session_block_directions(s->session), ev = POLLIN;

	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		ev |= POLLOUT;
	return ev;
}

LIBSSH2_SESSION *
rh_ssh_session(struct rh_ssh *s)
{
	return s->session;
}

int
rh_ssh_wait(struct rh_ssh *s, long long deadline_ms)
{
	return wait_io(s, (int64_t)deadline_ms);
}

/* Send a keepalive if one is due; returns seconds until the next. */
int
rh_ssh_keepalive(struct rh_ssh *s)
{
	int next = 15;

	libssh2_keepalive_send(s->session, &next);
	return next;
}

static int
open_exec(struct rh_ssh *s, const char *cmd, int64_t deadline,
          LIBSSH2_CHANNEL **out, struct rh_err *err)
{
	LIBSSH2_CHANNEL *ch;
	int rc;

	for (;;) {
		ch = libssh2_channel_open_session(s->session);
		if (ch != NULL)
			break;
		rc = libssh2_session_last_errno(s->session);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			return ssh_fail(s, rc, "opening a channel", err);
		if ((rc = wait_io(s, deadline)) < 0)
			return ssh_fail(s, rc, "opening a channel", err);
	}
	UNTIL_DONE(s, deadline, rc, libssh2_channel_exec(ch, cmd));
	if (rc != 0) {
		libssh2_channel_free(ch);
		return ssh_fail(s, rc, "starting a command", err);
	}
	*out = ch;
	return 0;
}

int
rh_ssh_exec(struct rh_ssh *s, const char *cmd, const void *in, size_t inlen,
            struct rh_buf *out, struct rh_buf *errout, int *status,
            struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + s->timeout_ms;
	LIBSSH2_CHANNEL *ch;
	char buf[16384];
	size_t off = 0;
	ssize_t n, m;
	int rc, sent_eof = 0;

	if ((rc = open_exec(s, cmd, deadline, &ch, err)) < 0)
		return rc;
	for (;;) {
		int progress = 0;

		while (off < inlen &&
		       (n = libssh2_channel_write(ch, (const char *)in + off,
		                                  inlen - off)) > 0) {
			off += (size_t)n;
			progress = 1;
		}
		if (off == inlen && !sent_eof &&
		    libssh2_channel_send_eof(ch) != LIBSSH2_ERROR_EAGAIN)
			sent_eof = 1;
		while ((n = libssh2_channel_read(ch, buf, sizeof(buf))) > 0) {
			if (out)
				rh_buf_append(out, buf, (size_t)n);
			progress = 1;
		}
		while ((m = libssh2_channel_read_stderr(ch, buf,
		                                        sizeof(buf))) > 0) {
			if (errout)
				rh_buf_append(errout, buf, (size_t)m);
			progress = 1;
		}
		if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
			rc = ssh_fail(s, (int)n, cmd, err);
			goto out;
		}
		if (libssh2_channel_eof(ch))
			break;
		if (!progress && (rc = wait_io(s, deadline)) < 0) {
			rc = ssh_fail(s, rc, cmd, err);
			goto out;
		}
	}
	UNTIL_DONE(s, deadline, rc, libssh2_channel_close(ch));
	if (rc == 0)
		UNTIL_DONE(s, deadline, rc, libssh2_channel_wait_closed(ch));
	if (status)
		*status = libssh2_channel_get_exit_status(ch);
	rc = 0;
out:
	libssh2_channel_free(ch);
	return rc;
}

int
rh_ssh_chan_open(struct rh_ssh *s, const char *cmd, struct rh_ssh_chan **out,
                 struct rh_err *err)
{
	LIBSSH2_CHANNEL *ch;
	int rc;

	*out = NULL;
	if ((rc = open_exec(s, cmd, rh_now_ms() + s->timeout_ms, &ch, err)) < 0)
		return rc;
	*out = xcalloc(1, sizeof(**out));
	(*out)->ssh = s;
	(*out)->channel = ch;
	return 0;
}

/* A TCP connection made by the node to host:port (a direct-tcpip
 * channel: a tunnel through the session), read and written as a
 * command's channel. */
int
rh_ssh_chan_direct(struct rh_ssh *s, const char *host, int port,
                   struct rh_ssh_chan **out, struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + s->timeout_ms;
	LIBSSH2_CHANNEL *ch;
	char *what;
	int rc;

	*out = NULL;
	while ((ch = libssh2_channel_direct_tcpip_ex(s->session, host, port,
	                                             "127.0.0.1", 0)) == NULL) {
		rc = libssh2_session_last_errno(s->session);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			rc = wait_io(s, deadline);
		if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN) {
			what = xasprintf("a tunnel to %s:%d", host, port);
			rc = ssh_fail(s, rc, what, err);
			free(what);
			return rc;
		}
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->ssh = s;
	(*out)->channel = ch;
	return 0;
}

/* The end of what is written: 0 once sent, or -EAGAIN. */
int
rh_ssh_chan_send_eof(struct rh_ssh_chan *c)
{
	int rc = libssh2_channel_send_eof(c->channel);

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return -EAGAIN;
	return rc < 0 ? -ENOTCONN : 0;
}

/* Non-blocking: bytes moved, -EAGAIN, or -errno when the channel broke. */
ssize_t
rh_ssh_chan_write(struct rh_ssh_chan *c, const void *buf, size_t len)
{
	ssize_t n = libssh2_channel_write(c->channel, buf, len);

	if (n == LIBSSH2_ERROR_EAGAIN)
		return -EAGAIN;
	return n < 0 ? -ENOTCONN : n;
}

ssize_t
rh_ssh_chan_read(struct rh_ssh_chan *c, void *buf, size_t len)
{
	ssize_t n = libssh2_channel_read(c->channel, buf, len);

	if (n == LIBSSH2_ERROR_EAGAIN)
		return -EAGAIN;
	if (n == 0 && !libssh2_channel_eof(c->channel))
		return -EAGAIN;
	return n < 0 ? -ENOTCONN : n;
}

/* The command's stderr, drained so that it can never block the channel. */
ssize_t
rh_ssh_chan_read_stderr(struct rh_ssh_chan *c, void *buf, size_t len)
{
	ssize_t n = libssh2_channel_read_stderr(c->channel, buf, len);

	if (n == LIBSSH2_ERROR_EAGAIN)
		return -EAGAIN;
	return n < 0 ? -ENOTCONN : n;
}

int
rh_ssh_chan_eof(struct rh_ssh_chan *c)
{
	return libssh2_channel_eof(c->channel);
}

/* Whether libssh2 holds data of the channel (stdout or stderr), read in
 * from the socket and not yet read by the caller. Counted by
 * libssh2_channel_window_read_ex: libssh2_poll_channel_read fails on any
 * packet of under five bytes in the session's queue (a global request's
 * reply is one byte). */
int
rh_ssh_chan_held(struct rh_ssh_chan *c)
{
	unsigned long avail = 0;

	libssh2_channel_window_read_ex(c->channel, &avail, NULL);
	return avail > 0;
}

/* Whether libssh2 holds the channel's data or its end, read in from the
 * socket (as it does while writing) and not yet read by the caller. */
int
rh_ssh_chan_taken_in(struct rh_ssh_chan *c)
{
	return rh_ssh_chan_held(c) || libssh2_channel_eof(c->channel) > 0;
}

void
rh_ssh_chan_close(struct rh_ssh_chan *c)
{
	int64_t deadline;
	int rc;

	if (c == NULL)
		return;
	deadline = rh_now_ms() + c->ssh->timeout_ms;
	UNTIL_DONE(c->ssh, deadline, rc, libssh2_channel_close(c->channel));
	libssh2_channel_free(c->channel);
	free(c);
}

/* A channel closed with its session about to go. The node's close is
 * waited for only briefly: a bridge with a call in flight sends it when
 * the call ends, and libssh2 could then free neither the channel nor the
 * session. Past grace_ms the socket is shut, which ends the channel for
 * both sides at once (the agent sees a lost client, as on a cut). */
void
rh_ssh_chan_close_now(struct rh_ssh_chan *c, int grace_ms)
{
	int64_t deadline;
	int rc;

	if (c == NULL)
		return;
	deadline = rh_now_ms() + grace_ms;
	UNTIL_DONE(c->ssh, deadline, rc, libssh2_channel_close(c->channel));
	if (rc == -ETIMEDOUT || rc == LIBSSH2_ERROR_EAGAIN) {
		shutdown(c->ssh->fd, SHUT_RDWR);
		deadline = rh_now_ms() + grace_ms;
		UNTIL_DONE(c->ssh, deadline, rc,
		           libssh2_channel_close(c->channel));
	}
	libssh2_channel_free(c->channel);
	free(c);
}

/* Copy a local file to path on the node: written beside it, then renamed
 * over it, so a running program is never overwritten in place. */
int
rh_ssh_upload(struct rh_ssh *s, const char *local, const char *path,
              unsigned mode, struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + s->timeout_ms;
	LIBSSH2_SFTP *sftp = NULL;
	LIBSSH2_SFTP_HANDLE *h = NULL;
	char buf[128 * 1024], *tmp = xasprintf("%s.rhfs-upload", path);
	ssize_t n, w;
	size_t off;
	int fd, rc = 0;

	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = rh_err_set(err, errno, "%s: %s", local, strerror(errno));
		goto out;
	}
	for (;;) {
		if ((sftp = libssh2_sftp_init(s->session)) != NULL)
			break;
		rc = libssh2_session_last_errno(s->session);
		if (rc != LIBSSH2_ERROR_EAGAIN || (rc = wait_io(s, deadline)) < 0) {
			rc = ssh_fail(s, rc, "starting SFTP", err);
			goto out;
		}
	}
	for (;;) {
		h = libssh2_sftp_open_ex(sftp, tmp, (unsigned)strlen(tmp),
		                         LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
		                         LIBSSH2_FXF_TRUNC, (long)mode,
		                         LIBSSH2_SFTP_OPENFILE);
		if (h != NULL)
			break;
		rc = libssh2_session_last_errno(s->session);
		if (rc != LIBSSH2_ERROR_EAGAIN || (rc = wait_io(s, deadline)) < 0) {
			rc = rc == LIBSSH2_ERROR_SFTP_PROTOCOL ?
			     rh_err_set(err, EACCES, "%s: cannot create %s",
			                s->where, tmp) :
			     ssh_fail(s, rc, "SFTP open", err);
			goto out;
		}
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			/* a long upload moves its deadline on while it moves */
			deadline = rh_now_ms() + s->timeout_ms;
			UNTIL_DONE(s, deadline, w,
			           libssh2_sftp_write(h, buf + off, (size_t)n - off));
			if (w < 0) {
				rc = ssh_fail(s, (int)w, "SFTP write", err);
				goto out;
			}
		}
	}
	if (n < 0) {
		rc = rh_err_set(err, errno, "%s: %s", local, strerror(errno));
		goto out;
	}
	UNTIL_DONE(s, deadline, rc, libssh2_sftp_close_handle(h));
	h = NULL;
	if (rc == 0)
		UNTIL_DONE(s, deadline, rc,
		           libssh2_sftp_rename_ex(sftp, tmp, (unsigned)strlen(tmp),
		                                  path, (unsigned)strlen(path),
		                                  LIBSSH2_SFTP_RENAME_OVERWRITE |
		                                  LIBSSH2_SFTP_RENAME_ATOMIC |
		                                  LIBSSH2_SFTP_RENAME_NATIVE));
	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL) {
		/* SFTP v3 (OpenSSH) will not rename over an existing file */
		char *q_tmp = rh_shell_quote(tmp), *q_path = rh_shell_quote(path);
		char *cmd = xasprintf("mv -f -- %s %s", q_tmp, q_path);
		int status = -1;

		rc = rh_ssh_exec(s, cmd, NULL, 0, NULL, NULL, &status, err);
		if (rc == 0 && status != 0)
			rc = rh_err_set(err, EIO, "%s: cannot replace %s", s->where,
			                path);
		free(cmd);
		free(q_tmp);
		free(q_path);
	} else if (rc != 0) {
		rc = ssh_fail(s, rc, "SFTP rename", err);
	}
out:
	if (h != NULL)
		libssh2_sftp_close_handle(h);
	if (sftp != NULL) {
		deadline = rh_now_ms() + s->timeout_ms;
		UNTIL_DONE(s, deadline, n, libssh2_sftp_shutdown(sftp));
	}
	if (fd >= 0)
		close(fd);
	free(tmp);
	return rc;
}

/* ---- SFTP sessions for many files (sync) ---------------------------- */

struct rh_sftp {
	struct rh_ssh *ssh;
	LIBSSH2_SFTP *sftp;
};

/* An SFTP status as errno; other failures through ssh_fail. */
static int
sftp_fail(struct rh_sftp *f, int rc, const char *what, const char *path,
          struct rh_err *err)
{
	int e;

	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return ssh_fail(f->ssh, rc, what, err);
	switch (libssh2_sftp_last_error(f->sftp)) {
	case LIBSSH2_FX_NO_SUCH_FILE:
	case LIBSSH2_FX_NO_SUCH_PATH:
		e = ENOENT;
		break;
	case LIBSSH2_FX_PERMISSION_DENIED:
	case LIBSSH2_FX_WRITE_PROTECT:
		e = EACCES;
		break;
	case LIBSSH2_FX_FILE_ALREADY_EXISTS:
		e = EEXIST;
		break;
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
	case LIBSSH2_FX_QUOTA_EXCEEDED:
		e = ENOSPC;
		break;
	default:
		e = EIO;
	}
	return rh_err_set(err, e, "%s: %s %s: %s", f->ssh->where, what, path,
	                  strerror(e));
}

int
rh_sftp_open(struct rh_ssh *s, struct rh_sftp **out, struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + s->timeout_ms;
	LIBSSH2_SFTP *sftp;
	int rc;

	*out = NULL;
	while ((sftp = libssh2_sftp_init(s->session)) == NULL) {
		rc = libssh2_session_last_errno(s->session);
		if (rc != LIBSSH2_ERROR_EAGAIN || (rc = wait_io(s, deadline)) < 0)
			return ssh_fail(s, rc, "starting SFTP", err);
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->ssh = s;
	(*out)->sftp = sftp;
	return 0;
}

void
rh_sftp_close(struct rh_sftp *f)
{
	int64_t deadline;
	int rc;

	if (f == NULL)
		return;
	deadline = rh_now_ms() + f->ssh->timeout_ms;
	UNTIL_DONE(f->ssh, deadline, rc, libssh2_sftp_shutdown(f->sftp));
	free(f);
}

/* One directory; an existing one is fine, a symbolic link is not
 * (ELOOP). *made (if not NULL) tells whether this call made it. */
int
rh_sftp_mkdir(struct rh_sftp *f, const char *path, int *made,
              struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + f->ssh->timeout_ms;
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	if (made != NULL)
		*made = 0;
	UNTIL_DONE(f->ssh, deadline, rc,
	           libssh2_sftp_mkdir_ex(f->sftp, path, (unsigned)strlen(path),
	                                 0755));
	if (rc == 0) {
		if (made != NULL)
			*made = 1;
		return 0;
	}
	if (rc != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return ssh_fail(f->ssh, rc, "SFTP mkdir", err);
	/* OpenSSH answers a plain failure for an existing directory */
	UNTIL_DONE(f->ssh, deadline, rc,
	           libssh2_sftp_stat_ex(f->sftp, path, (unsigned)strlen(path),
	                                LIBSSH2_SFTP_LSTAT, &a));
	if (rc == 0 && LIBSSH2_SFTP_S_ISDIR(a.permissions))
		return 0;
	if (rc == 0 && LIBSSH2_SFTP_S_ISLNK(a.permissions))
		return rh_err_set(err, ELOOP, "%s: %s is a symbolic link",
		                  f->ssh->where, path);
	return rh_err_set(err, rc == 0 ? ENOTDIR : EACCES, "%s: cannot make "
	                  "the directory %s", f->ssh->where, path);
}

static int
sftp_open_file(struct rh_sftp *f, const char *path, unsigned long flags,
               unsigned mode, LIBSSH2_SFTP_HANDLE **out, struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + f->ssh->timeout_ms;
	int rc;

	for (;;) {
		*out = libssh2_sftp_open_ex(f->sftp, path, (unsigned)strlen(path),
		                            flags, (long)mode,
		                            LIBSSH2_SFTP_OPENFILE);
		if (*out != NULL)
			return 0;
		rc = libssh2_session_last_errno(f->ssh->session);
		if (rc != LIBSSH2_ERROR_EAGAIN || (rc = wait_io(f->ssh,
		                                                deadline)) < 0)
			return sftp_fail(f, rc, "SFTP open", path, err);
	}
}

static void
sftp_close_file(struct rh_sftp *f, LIBSSH2_SFTP_HANDLE *h)
{
	int64_t deadline = rh_now_ms() + f->ssh->timeout_ms;
	int rc;

	UNTIL_DONE(f->ssh, deadline, rc, libssh2_sftp_close_handle(h));
}

/* A small file of the node, whole: -ENOENT when there is none, -EFBIG
 * past max bytes. */
int
rh_sftp_get(struct rh_sftp *f, const char *path, size_t max,
            struct rh_buf *out, struct rh_err *err)
{
	LIBSSH2_SFTP_HANDLE *h;
	char buf[32768];
	int64_t deadline;
	ssize_t n;
	int r = 0;

	if ((r = sftp_open_file(f, path, LIBSSH2_FXF_READ, 0, &h, err)) < 0)
		return r;
	for (;;) {
		deadline = rh_now_ms() + f->ssh->timeout_ms;
		UNTIL_DONE(f->ssh, deadline, n,
		           libssh2_sftp_read(h, buf, sizeof(buf)));
		if (n < 0) {
			r = sftp_fail(f, (int)n, "SFTP read", path, err);
			break;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			r = rh_err_set(err, EFBIG, "%s: %s: over %zu bytes",
			               f->ssh->where, path, max);
			break;
		}
		rh_buf_append(out, buf, (size_t)n);
	}
	sftp_close_file(f, h);
	return r;
}

/* Write all of data, or fail. */
static int
sftp_write_all(struct rh_sftp *f, LIBSSH2_SFTP_HANDLE *h, const char *path,
               const char *data, size_t len, struct rh_err *err)
{
	int64_t deadline;
	size_t off;
	ssize_t w;

	for (off = 0; off < len; off += (size_t)w) {
		/* a long transfer moves its deadline on while it moves */
		deadline = rh_now_ms() + f->ssh->timeout_ms;
		UNTIL_DONE(f->ssh, deadline, w,
		           libssh2_sftp_write(h, data + off, len - off));
		if (w < 0)
			return sftp_fail(f, (int)w, "SFTP write", path, err);
	}
	return 0;
}

/* Created new (never opened through a link, nor over anything): the
 * node's open(O_CREAT | O_EXCL). */
#define SFTP_NEW (LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL)

/* A new file path on the node, with data. */
int
rh_sftp_put(struct rh_sftp *f, const char *path, const void *data,
            size_t len, unsigned mode, struct rh_err *err)
{
	LIBSSH2_SFTP_HANDLE *h;
	int r;

	if ((r = sftp_open_file(f, path, SFTP_NEW, mode, &h, err)) < 0)
		return r;
	r = sftp_write_all(f, h, path, data, len, err);
	sftp_close_file(f, h);
	return r;
}

/* A new file path on the node, with the local file's content. */
int
rh_sftp_put_file(struct rh_sftp *f, const char *local, const char *path,
                 unsigned mode, struct rh_err *err)
{
	LIBSSH2_SFTP_HANDLE *h;
	char buf[128 * 1024];
	ssize_t n;
	int fd, r;

	if ((fd = open(local, O_RDONLY | O_CLOEXEC)) < 0)
		return rh_err_set(err, errno, "%s: %s", local, strerror(errno));
	if ((r = sftp_open_file(f, path, SFTP_NEW, mode, &h, err)) < 0) {
		close(fd);
		return r;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if ((r = sftp_write_all(f, h, path, buf, (size_t)n, err)) < 0)
			break;
	if (n < 0)
		r = rh_err_set(err, errno, "%s: %s", local, strerror(errno));
	sftp_close_file(f, h);
	close(fd);
	return r;
}

/* What path is on the node, not following a last symlink: its mode
 * (S_IFDIR, S_IFREG, S_IFLNK... bits as stat's), -ENOENT if nothing. */
int
rh_sftp_lstat(struct rh_sftp *f, const char *path, unsigned *mode,
              struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + f->ssh->timeout_ms;
	LIBSSH2_SFTP_ATTRIBUTES a;
	int rc;

	UNTIL_DONE(f->ssh, deadline, rc,
	           libssh2_sftp_stat_ex(f->sftp, path, (unsigned)strlen(path),
	                                LIBSSH2_SFTP_LSTAT, &a));
	if (rc < 0)
		return sftp_fail(f, rc, "SFTP lstat", path, err);
	if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS))
		return rh_err_set(err, EIO, "%s: SFTP lstat %s: no file type "
		                  "in the answer", f->ssh->where, path);
	*mode = (unsigned)a.permissions;
	return 0;
}

/* A file (or symlink) of the node removed; -ENOENT if there was none. */
int
rh_sftp_unlink(struct rh_sftp *f, const char *path, struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + f->ssh->timeout_ms;
	int rc;

	UNTIL_DONE(f->ssh, deadline, rc,
	           libssh2_sftp_unlink_ex(f->sftp, path,
	                                  (unsigned)strlen(path)));
	return rc < 0 ? sftp_fail(f, rc, "SFTP remove", path, err) : 0;
}

/* An empty directory of the node removed; one that is not empty stays,
 * with an error (OpenSSH does not say why: EIO). */
int
rh_sftp_rmdir(struct rh_sftp *f, const char *path, struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + f->ssh->timeout_ms;
	int rc;

	UNTIL_DONE(f->ssh, deadline, rc,
	           libssh2_sftp_rmdir_ex(f->sftp, path,
	                                 (unsigned)strlen(path)));
	return rc < 0 ? sftp_fail(f, rc, "SFTP rmdir", path, err) : 0;
}

/* from renamed to to, what was at to (a file, or a link itself, never
 * followed) removed first: SFTP version 3 renames over nothing. */
int
rh_sftp_rename(struct rh_sftp *f, const char *from, const char *to,
               struct rh_err *err)
{
	int64_t deadline = rh_now_ms() + f->ssh->timeout_ms;
	int rc;

	if ((rc = rh_sftp_unlink(f, to, err)) < 0 && rc != -ENOENT)
		return rc;
	UNTIL_DONE(f->ssh, deadline, rc,
	           libssh2_sftp_rename_ex(f->sftp, from, (unsigned)strlen(from),
	                                  to, (unsigned)strlen(to),
	                                  LIBSSH2_SFTP_RENAME_ATOMIC |
	                                  LIBSSH2_SFTP_RENAME_NATIVE));
	return rc < 0 ? sftp_fail(f, rc, "SFTP rename", to, err) : 0;
}

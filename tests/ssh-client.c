/*
 * ssh-client.c - src/link/ssh.c against a real sshd on loopback (started by
 * tests/ssh.sh). Usage:
 *   ssh-client suite HOST PORT USER KEY KNOWN_HOSTS WRONG_KEY SILENT_PORT
 *   ssh-client connect HOST PORT USER KEY KNOWN_HOSTS   (prints the error)
 *   ssh-client exec HOST PORT USER KEY KNOWN_HOSTS CMD  (bounded by 2 s)
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh2.h>

#include "base.h"
#include "link.h"

static int passed, failed;

#define CHECK(cond)                                                        \
	do {                                                               \
		if (cond) {                                                \
			passed++;                                          \
		} else {                                                   \
			failed++;                                          \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__,     \
			        __LINE__, #cond);                          \
		}                                                          \
	} while (0)

static struct rh_ssh_opts opts;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_exec(struct rh_ssh *s)
{
	struct rh_buf out = { 0 }, errout = { 0 };
	struct rh_err err;
	char *big;
	int status = -1, r;
	size_t i, n = 1024 * 1024;

	r = rh_ssh_exec(s, "echo hello; echo oops >&2; exit 3", NULL, 0, &out,
	                &errout, &status, &err);
	CHECK(r == 0);
	CHECK(out.len == 6 && memcmp(out.data, "hello\n", 6) == 0);
	CHECK(errout.len == 5 && memcmp(errout.data, "oops\n", 5) == 0);
	CHECK(status == 3);
	rh_buf_free(&out);
	rh_buf_free(&errout);

	/* a megabyte through stdin and back */
	big = xmalloc(n);
	for (i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	r = rh_ssh_exec(s, "cat", big, n, &out, NULL, &status, &err);
	CHECK(r == 0);
	CHECK(status == 0);
	CHECK(out.len == n && memcmp(out.data, big, n) == 0);
	rh_buf_free(&out);
	free(big);
}

/* One persistent channel, many request/reply round trips. */
static void
test_channel(struct rh_ssh *s)
{
	struct rh_ssh_chan *c;
	struct rh_err err;
	char msg[64], got[64];
	int i, ok = 1;
	double deadline;

	CHECK(rh_ssh_chan_open(s, "cat", &c, &err) == 0);
	if (c == NULL)
		return;
	for (i = 0; i < 500 && ok; i++) {
		size_t len = (size_t)snprintf(msg, sizeof(msg), "ping %d\n", i);
		size_t off = 0, have = 0;
		ssize_t n;

		deadline = now() + 5;
		while (off < len && now() < deadline) {
			n = rh_ssh_chan_write(c, msg + off, len - off);
			if (n > 0)
				off += (size_t)n;
			else if (n != -EAGAIN)
				break;
			else
				poll(&(struct pollfd){ rh_ssh_fd(s),
				                       (short)rh_ssh_events(s), 0 },
				     1, 100);
		}
		while (have < len && now() < deadline) {
			n = rh_ssh_chan_read(c, got + have, len - have);
			if (n > 0)
				have += (size_t)n;
			else if (n != -EAGAIN)
				break;
			else
				poll(&(struct pollfd){ rh_ssh_fd(s),
				                       (short)rh_ssh_events(s), 0 },
				     1, 100);
		}
		ok = have == len && memcmp(got, msg, len) == 0;
	}
	CHECK(ok);
	CHECK(i == 500);
	rh_ssh_chan_close(c);
}

/* What a write takes in from the socket (libssh2 reads before it writes)
 * is seen by rh_ssh_chan_taken_in, also with a short packet queued in
 * the session ahead of it: the one-byte answer to a keepalive that asks
 * for one, which libssh2 keeps unread. */
static void
test_taken_in(struct rh_ssh *s)
{
	struct rh_ssh_chan *c;
	struct rh_err err;
	char got[8];
	size_t have = 0;
	ssize_t n;
	int seen = 0;
	double deadline;

	CHECK(rh_ssh_chan_open(s, "cat", &c, &err) == 0);
	if (c == NULL)
		return;
	libssh2_keepalive_config(rh_ssh_session(s), 1, 15);
	rh_ssh_keepalive(s);    /* a session's first is sent at once */
	deadline = now() + 5;
	while ((n = rh_ssh_chan_write(c, "a", 1)) == -EAGAIN &&
	       now() < deadline)
		poll(&(struct pollfd){ rh_ssh_fd(s), (short)rh_ssh_events(s),
		                       0 }, 1, 100);
	CHECK(n == 1);
	/* cat's "a" comes back; each write takes in what has come */
	while (!seen && now() < deadline) {
		poll(&(struct pollfd){ rh_ssh_fd(s), POLLIN, 0 }, 1, 100);
		if ((n = rh_ssh_chan_write(c, "b", 1)) != 1 && n != -EAGAIN)
			break;
		seen = rh_ssh_chan_taken_in(c);
	}
	CHECK(seen);
	while (have < 1 && now() < deadline) {
		n = rh_ssh_chan_read(c, got + have, sizeof(got) - have);
		if (n > 0)
			have += (size_t)n;
		else if (n != -EAGAIN)
			break;
	}
	CHECK(have >= 1 && got[0] == 'a');
	libssh2_keepalive_config(rh_ssh_session(s), 0, 15);
	rh_ssh_chan_close(c);
}

/* A stream whose last bytes and end come in together: the rpc over it
 * sees the end at once, not at the next packet (libssh2 holds the end,
 * and poll no longer shows it). */
static void
test_rpc_end(void)
{
	struct rh_ssh *s;
	struct rh_ssh_chan *c;
	struct rh_rpc *r;
	struct rh_err err;
	double deadline;

	if (rh_ssh_connect(&opts, &s, &err) < 0) {
		CHECK(!"connect");
		return;
	}
	/* two bytes of a frame's length, then the end */
	if (rh_ssh_chan_open(s, "printf '\\0\\0'", &c, &err) < 0) {
		CHECK(!"channel");
		rh_ssh_close(s);
		return;
	}
	usleep(500000);         /* both are at the socket, or in libssh2 */
	if (rh_rpc_start(rh_transport_ssh(s, c), "end", NULL, NULL, &r) < 0) {
		CHECK(!"rpc");
		return;
	}
	deadline = now() + 3;   /* the keepalive would wake it at 15 s */
	while (rh_rpc_alive(r) && now() < deadline)
		usleep(10000);
	CHECK(!rh_rpc_alive(r));
	rh_rpc_stop(r);
}

static void
test_upload(struct rh_ssh *s, const char *self)
{
	struct rh_buf out = { 0 }, local = { 0 };
	struct rh_err err;
	int status = -1;

	CHECK(rh_file_read(self, 64 * 1024 * 1024, &local, NULL) == 0);
	rh_ssh_exec(s, "mkdir -p .rhfs-upload-test", NULL, 0, NULL, NULL,
	            &status, &err);
	CHECK(rh_ssh_upload(s, self, ".rhfs-upload-test/bin", 0755, &err) == 0);
	CHECK(rh_ssh_exec(s, "cat .rhfs-upload-test/bin", NULL, 0, &out, NULL,
	                  &status, &err) == 0);
	CHECK(out.len == local.len && memcmp(out.data, local.data, out.len) == 0);
	out.len = 0;
	CHECK(rh_ssh_exec(s, "stat -c %a .rhfs-upload-test/bin", NULL, 0, &out,
	                  NULL, &status, &err) == 0);
	CHECK(out.len >= 3 && memcmp(out.data, "755", 3) == 0);
	/* uploading over a running program works: it is renamed over */
	CHECK(rh_ssh_upload(s, self, ".rhfs-upload-test/bin", 0755, &err) == 0);
	CHECK(rh_ssh_upload(s, "/nonexistent/file", ".rhfs-upload-test/x", 0644,
	                    &err) == -ENOENT);
	rh_ssh_exec(s, "rm -rf .rhfs-upload-test", NULL, 0, NULL, NULL, &status,
	            &err);
	rh_buf_free(&out);
	rh_buf_free(&local);
}

static void
test_failures(const char *wrong_key, int silent_port)
{
	struct rh_ssh_opts o = opts;
	struct rh_ssh *s = NULL;
	struct rh_err err;
	double t0;
	int r;

	o.private_key = wrong_key;
	r = rh_ssh_connect(&o, &s, &err);
	CHECK(r == -EACCES);
	CHECK(strstr(err.msg, "authentication") != NULL);
	CHECK(s == NULL);

	o = opts;
	o.port = 1;     /* nothing listens there */
	r = rh_ssh_connect(&o, &s, &err);
	CHECK(r == -ECONNREFUSED);
	CHECK(strstr(err.msg, "cannot connect") != NULL);

	/* a peer that accepts and never speaks: bounded by the timeout */
	o = opts;
	o.port = silent_port;
	o.timeout_ms = 1000;
	t0 = now();
	r = rh_ssh_connect(&o, &s, &err);
	CHECK(r == -ETIMEDOUT);
	CHECK(now() - t0 < 5);
	CHECK(strstr(err.msg, "timed out") != NULL);
}

static int
opts_from(char **argv)
{
	opts.host = argv[0];
	opts.port = atoi(argv[1]);
	opts.user = argv[2];
	opts.private_key = argv[3];
	opts.known_hosts = argv[4];
	opts.timeout_ms = 5000;
	return 0;
}

int
main(int argc, char **argv)
{
	struct rh_ssh *s;
	struct rh_err err;
	struct rh_buf out = { 0 };
	int r, status = -1;

	rh_log_init("ssh-client", 1, RH_LOG_WARN);
	if (argc >= 7 && strcmp(argv[1], "connect") == 0) {
		opts_from(argv + 2);
		if ((r = rh_ssh_connect(&opts, &s, &err)) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		rh_ssh_close(s);
		return 0;
	}
	if (argc >= 8 && strcmp(argv[1], "exec") == 0) {
		opts_from(argv + 2);
		opts.timeout_ms = 2000;
		if (rh_ssh_connect(&opts, &s, &err) < 0 ||
		    rh_ssh_exec(s, argv[7], NULL, 0, &out, NULL, &status,
		                &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		fwrite(out.data, 1, out.len, stdout);
		rh_buf_free(&out);
		rh_ssh_close(s);
		return status;
	}
	if (argc < 9 || strcmp(argv[1], "suite") != 0) {
		fprintf(stderr, "usage: see the comment at the top\n");
		return 2;
	}
	opts_from(argv + 2);
	r = rh_ssh_connect(&opts, &s, &err);
	CHECK(r == 0);
	if (r < 0) {
		fprintf(stderr, "%s\n", err.msg);
	} else {
		CHECK(rh_ssh_fd(s) >= 0);
		CHECK(strstr(rh_ssh_where(s), opts.user) != NULL);
		test_exec(s);
		test_channel(s);
		test_taken_in(s);
		test_upload(s, "/proc/self/exe");
		rh_ssh_close(s);
	}
	test_rpc_end();
	test_failures(argv[7], atoi(argv[8]));
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}

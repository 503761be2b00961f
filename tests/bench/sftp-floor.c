/*
 * sftp-floor - what rhfs's SFTP transport can move without FUSE: a file
 * of MIB MiB written (pipelined as the cluster store does: 8 MiB handed
 * to libssh2 at a time, fsync at the end), or read in order (1 MiB
 * libssh2 reads, as the store's read stream) and removed, on a session
 * made by src/link/ssh.c (the same ciphers and MACs as the store's). For
 * tests/bench/data.sh: the ceiling the rhfs-sftp row can reach.
 *
 *   sftp-floor HOST PORT USER KEY KNOWN_HOSTS PATH MIB write|read
 *
 * Prints "CIPHER MAC MIB/S". Every wait is bounded (30 s without
 * progress).
 */
#include "config.h"

#include <errno.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "link.h"

#define STAGE (8 * 1024 * 1024)
#define ASK (1024 * 1024)
#define WAIT_MS 30000

static struct rh_ssh *ssh;
static LIBSSH2_SESSION *session;

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Exits on a libssh2 error or a wait that runs out. */
static void
need(long rc, const char *what)
{
	char *msg = NULL;

	if (rc >= 0)
		return;
	libssh2_session_last_error(session, &msg, NULL, 0);
	fprintf(stderr, "sftp-floor: %s: %s\n", what,
	        rc == -ETIMEDOUT ? "no progress in 30 s" :
	        msg && *msg ? msg : "SSH error");
	exit(1);
}

/* A libssh2 call run until it stops answering EAGAIN. */
#define RUN(rc, call, what)                                                \
	do {                                                               \
		long long dl_ = now_ms() + WAIT_MS;                        \
		while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN)            \
			if (rh_ssh_wait(ssh, dl_) < 0) {                   \
				(rc) = -ETIMEDOUT;                         \
				break;                                     \
			}                                                  \
		need((long)(rc), (what));                                  \
	} while (0)

static LIBSSH2_SFTP_HANDLE *
open_file(LIBSSH2_SFTP *sftp, const char *path, unsigned long flags)
{
	LIBSSH2_SFTP_HANDLE *h;
	long long dl = now_ms() + WAIT_MS;

	while ((h = libssh2_sftp_open(sftp, path, flags, 0644)) == NULL) {
		if (libssh2_session_last_errno(session) != LIBSSH2_ERROR_EAGAIN)
			need(-1, path);
		if (rh_ssh_wait(ssh, dl) < 0)
			need(-ETIMEDOUT, path);
	}
	return h;
}

int
main(int argc, char **argv)
{
	struct rh_ssh_opts o = { 0 };
	struct rh_err err = { "" };
	LIBSSH2_SFTP *sftp;
	LIBSSH2_SFTP_HANDLE *h;
	long long total, left;
	double t0;
	ssize_t n;
	char *buf;
	int wr, rc;

	if (argc != 9 || (strcmp(argv[8], "write") != 0 &&
	                  strcmp(argv[8], "read") != 0)) {
		fprintf(stderr, "usage: sftp-floor HOST PORT USER KEY "
		        "KNOWN_HOSTS PATH MIB write|read\n");
		return 2;
	}
	wr = argv[8][0] == 'w';
	rh_log_init("sftp-floor", 1, RH_LOG_WARN);
	o.host = argv[1];
	o.port = atoi(argv[2]);
	o.user = argv[3];
	o.private_key = argv[4];
	o.known_hosts = argv[5];
	o.timeout_ms = WAIT_MS;
	total = atoll(argv[7]) * 1024 * 1024;
	if (rh_ssh_connect(&o, &ssh, &err) < 0) {
		fprintf(stderr, "sftp-floor: %s\n", err.msg);
		return 1;
	}
	session = rh_ssh_session(ssh);
	printf("%s %s ",
	       libssh2_session_methods(session, LIBSSH2_METHOD_CRYPT_CS),
	       libssh2_session_methods(session, LIBSSH2_METHOD_MAC_CS));
	{
		long long dl = now_ms() + WAIT_MS;

		while ((sftp = libssh2_sftp_init(session)) == NULL) {
			if (libssh2_session_last_errno(session) !=
			    LIBSSH2_ERROR_EAGAIN)
				need(-1, "starting SFTP");
			if (rh_ssh_wait(ssh, dl) < 0)
				need(-ETIMEDOUT, "starting SFTP");
		}
	}
	buf = xcalloc(1, STAGE);

	t0 = now();
	if (wr) {
		/* zeros: libssh2 is handed the next STAGE bytes of the
		 * stream each time, as the store's write-behind does */
		h = open_file(sftp, argv[6], LIBSSH2_FXF_WRITE |
		              LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC);
		for (left = total; left > 0; left -= n) {
			RUN(n, libssh2_sftp_write(h, buf, left < STAGE ?
			                          (size_t)left : STAGE),
			    "write");
			/* 0: nothing answered yet */
			if (n == 0 && rh_ssh_wait(ssh, now_ms() + WAIT_MS) < 0)
				need(-ETIMEDOUT, "write");
		}
		RUN(rc, libssh2_sftp_fsync(h), "fsync");
		RUN(rc, libssh2_sftp_close_handle(h), "close");
	} else {
		h = open_file(sftp, argv[6], LIBSSH2_FXF_READ);
		left = 0;
		do {
			RUN(n, libssh2_sftp_read(h, buf, ASK), "read");
			left += n;
		} while (n > 0);
		RUN(rc, libssh2_sftp_close_handle(h), "close");
		if (left != total) {
			fprintf(stderr, "sftp-floor: read %lld bytes of "
			        "%lld\n", left, total);
			return 1;
		}
	}
	printf("%.1f\n", (double)total / 1048576.0 / (now() - t0));
	if (!wr)
		RUN(rc, libssh2_sftp_unlink(sftp, argv[6]), "unlink");
	RUN(rc, libssh2_sftp_shutdown(sftp), "SFTP shutdown");
	rh_ssh_close(ssh);
	free(buf);
	return 0;
}

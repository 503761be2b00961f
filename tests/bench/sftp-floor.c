/*
 * sftp-floor - what rhfs's SFTP transport can move without FUSE: a file
 * of MIB MiB written (pipelined as the cluster store does: 8 MiB handed
 * to libssh2 at a time, fsync at the end), or read in order (1 MiB
 * libssh2 reads, as the store's read stream) and removed, on a session
 * made by src/link/ssh.c (the same ciphers and MACs as the store's). For
 * tests/bench/data.sh: the ceiling the rhfs-sftp row can reach.
 *
 *   sftp-floor HOST PORT USER KEY KNOWN_HOSTS PATH MIB write|read [N]
 *
 * With N (default 1) sessions, each its own TCP connection and thread,
 * the file is cut in N parts, each written or read by one of them: what
 * spreading one file over several sessions could give at best.
 *
 * Prints "CIPHER MAC MIB/S CPU_S" (CPU_S: the user and system CPU
 * seconds of the transfer). Every wait is bounded (30 s without
 * progress).
 */
#include "config.h"

#include <errno.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base.h"
#include "link.h"

#define STAGE (8 * 1024 * 1024)
#define ASK (1024 * 1024)
#define WAIT_MS 30000

/* the session of this thread's stream */
static __thread struct rh_ssh *ssh;
static __thread LIBSSH2_SESSION *session;

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

/* The CPU seconds (user and system) used so far. */
static double
cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
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

/* One session's part of the file: [off, off + len). */
struct part {
	struct rh_ssh *ssh;
	LIBSSH2_SFTP *sftp;
	LIBSSH2_SFTP_HANDLE *h;         /* write: opened (made) before */
	const char *path;
	long long off, len;
	int wr;
	pthread_t thread;
};

static void *
run_part(void *arg)
{
	struct part *p = arg;
	long long left, got;
	ssize_t n;
	char *buf = xcalloc(1, STAGE);
	int rc;

	ssh = p->ssh;
	session = rh_ssh_session(ssh);
	if (p->h == NULL)
		p->h = open_file(p->sftp, p->path, p->wr ? LIBSSH2_FXF_WRITE :
		                 LIBSSH2_FXF_READ);
	libssh2_sftp_seek64(p->h, (libssh2_uint64_t)p->off);
	if (p->wr) {
		/* zeros: libssh2 is handed the next STAGE bytes of the
		 * stream each time, as the store's write-behind does */
		for (left = p->len; left > 0; left -= n) {
			RUN(n, libssh2_sftp_write(p->h, buf, left < STAGE ?
			                          (size_t)left : STAGE),
			    "write");
			/* 0: nothing answered yet */
			if (n == 0 && rh_ssh_wait(ssh, now_ms() + WAIT_MS) < 0)
				need(-ETIMEDOUT, "write");
		}
		RUN(rc, libssh2_sftp_fsync(p->h), "fsync");
	} else {
		for (got = 0; got < p->len; got += n) {
			RUN(n, libssh2_sftp_read(p->h, buf, p->len - got < ASK ?
			                         (size_t)(p->len - got) : ASK),
			    "read");
			if (n == 0) {
				fprintf(stderr, "sftp-floor: read %lld bytes "
				        "of %lld\n", got, p->len);
				exit(1);
			}
		}
	}
	RUN(rc, libssh2_sftp_close_handle(p->h), "close");
	free(buf);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct rh_ssh_opts o = { 0 };
	struct rh_err err = { "" };
	struct part *parts;
	long long total, each;
	double t0, c0;
	int wr, rc, np, i;

	if ((argc != 9 && argc != 10) || (strcmp(argv[8], "write") != 0 &&
	                                  strcmp(argv[8], "read") != 0) ||
	    (np = argc == 10 ? atoi(argv[9]) : 1) < 1 || np > 16) {
		fprintf(stderr, "usage: sftp-floor HOST PORT USER KEY "
		        "KNOWN_HOSTS PATH MIB write|read [1-16]\n");
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
	/* whole MiB to each part, the rest to the last */
	each = total / np / (1024 * 1024) * (1024 * 1024);
	parts = xcalloc((size_t)np, sizeof(*parts));
	for (i = 0; i < np; i++) {
		struct part *p = &parts[i];
		long long dl = now_ms() + WAIT_MS;

		if (rh_ssh_connect(&o, &p->ssh, &err) < 0) {
			fprintf(stderr, "sftp-floor: %s\n", err.msg);
			return 1;
		}
		ssh = p->ssh;
		session = rh_ssh_session(ssh);
		while ((p->sftp = libssh2_sftp_init(session)) == NULL) {
			if (libssh2_session_last_errno(session) !=
			    LIBSSH2_ERROR_EAGAIN)
				need(-1, "starting SFTP");
			if (rh_ssh_wait(ssh, dl) < 0)
				need(-ETIMEDOUT, "starting SFTP");
		}
		p->path = argv[6];
		p->wr = wr;
		p->off = each * i;
		p->len = i == np - 1 ? total - p->off : each;
	}
	ssh = parts[0].ssh;
	session = rh_ssh_session(ssh);
	printf("%s %s ",
	       libssh2_session_methods(session, LIBSSH2_METHOD_CRYPT_CS),
	       libssh2_session_methods(session, LIBSSH2_METHOD_MAC_CS));

	t0 = now();
	c0 = cpu_now();
	/* the file made empty before the parts are written into it */
	if (wr)
		parts[0].h = open_file(parts[0].sftp, argv[6],
		                       LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
		                       LIBSSH2_FXF_TRUNC);
	for (i = 0; i < np; i++)
		if (pthread_create(&parts[i].thread, NULL, run_part,
		                   &parts[i]) != 0) {
			fprintf(stderr, "sftp-floor: no thread\n");
			return 1;
		}
	for (i = 0; i < np; i++)
		pthread_join(parts[i].thread, NULL);
	printf("%.1f %.2f\n", (double)total / 1048576.0 / (now() - t0),
	       cpu_now() - c0);
	for (i = 0; i < np; i++) {
		ssh = parts[i].ssh;
		session = rh_ssh_session(ssh);
		if (i == 0 && !wr)
			RUN(rc, libssh2_sftp_unlink(parts[i].sftp, argv[6]),
			    "unlink");
		RUN(rc, libssh2_sftp_shutdown(parts[i].sftp), "SFTP shutdown");
		rh_ssh_close(ssh);
	}
	free(parts);
	return 0;
}

/*
 * rhagent.c - the node agent's command line: serve (the daemon), bridge
 * (stdio to the daemon, for an SSH channel), stop and --version.
 *
 * One agent per user: it owns ~/.rh/agent/ (mode 0700), which holds its
 * socket, pid file, log and call records. The pid file's flock says
 * whether an agent runs, so a stale file left by a crash never matters.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "proto.h"
#include "agent.h"

/* How long stop waits for SIGTERM to work, then for SIGKILL. */
#define STOP_WAIT_MS 10000
#define KILL_WAIT_MS 5000
/* How long serve waits for its daemon to say it is ready. */
#define READY_WAIT_MS 15000

static void
usage(FILE *f)
{
	fprintf(f,
	        "usage: rhagent [-v] serve [-f] [-j JOBS]\n"
	        "       rhagent [-v] bridge\n"
	        "       rhagent [-v] worker --head HOST:PORT --key-file PATH "
	        "--node NAME\n"
	        "               [--slots N] [--dir DIR]\n"
	        "       rhagent step --dir DIR\n"
	        "       rhagent stop\n"
	        "       rhagent --version\n");
}

int
agent_dir(char **dir, char **home, struct rh_err *err)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h == NULL || *h != '/') {
		if ((pw = getpwuid(getuid())) == NULL || *pw->pw_dir != '/')
			return rh_err_set(err, ENOENT, "cannot tell the home "
			                  "directory: set HOME");
		h = pw->pw_dir;
	}
	*home = xstrdup(h);
	*dir = xasprintf("%s/.rh/agent", h);
	return 0;
}

/* ~/.rh and ~/.rh/agent, both private and both ours. */
int
agent_make_dir(const char *home, const char *dir, struct rh_err *err)
{
	char *rh = xasprintf("%s/.rh", home);
	struct stat st;
	int r = 0;

	if (mkdir(rh, 0700) < 0 && errno != EEXIST)
		r = rh_err_set(err, errno, "%s: %s", rh, strerror(errno));
	else if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = rh_err_set(err, errno, "%s: %s", dir, strerror(errno));
	else if (lstat(dir, &st) < 0)
		r = rh_err_set(err, errno, "%s: %s", dir, strerror(errno));
	else if (!S_ISDIR(st.st_mode) || st.st_uid != getuid())
		r = rh_err_set(err, EPERM, "%s: not a directory of user %ld",
		               dir, (long)getuid());
	else if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) < 0)
		r = rh_err_set(err, errno, "%s: %s", dir, strerror(errno));
	free(rh);
	return r;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The pid of the running agent, 0 when none runs, with the pid file open
 * in *fd (or -1). */
static pid_t
running_pid(int *fd)
{
	char buf[32];
	ssize_t n;
	long pid;
	int i;

	if ((*fd = open(AGENT_PID, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (flock(*fd, LOCK_SH | LOCK_NB) == 0) {
		flock(*fd, LOCK_UN);
		return 0;
	}
	/* Locked: the agent may not have written its pid yet. */
	for (i = 0; i < 100; i++) {
		n = pread(*fd, buf, sizeof(buf) - 1, 0);
		if (n > 0) {
			buf[n] = '\0';
			if ((pid = strtol(buf, NULL, 10)) > 0)
				return (pid_t)pid;
		}
		sleep_ms(20);
	}
	return 0;
}

/* Take the pid file's lock, or say who holds it. */
int
agent_lock_pid(int *fd, struct rh_err *err)
{
	pid_t other;
	int ofd;

	*fd = open(AGENT_PID, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return rh_err_set(err, errno, "%s: %s", AGENT_PID,
		                  strerror(errno));
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	close(*fd);
	*fd = -1;
	if (errno != EWOULDBLOCK)
		return rh_err_set(err, errno, "%s: %s", AGENT_PID,
		                  strerror(errno));
	other = running_pid(&ofd);
	if (ofd >= 0)
		close(ofd);
	return rh_err_set(err, EEXIST, "an agent is already running (pid "
	                  "%ld)", (long)other);
}

void
agent_write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		rh_warn("cannot write the pid file: %s", strerror(errno));
}

/* The foreground half of serve: wait until the daemon says it listens
 * (an empty message) or why it could not. */
static int
wait_ready(int fd, const char *dir)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char msg[600];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		if (poll(&pfd, 1, READY_WAIT_MS) <= 0) {
			fprintf(stderr, "rhagent: the agent did not start "
			        "within %d s; see %s/%s\n", READY_WAIT_MS / 1000,
			        dir, AGENT_LOG);
			return 1;
		}
		n = read(fd, msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	msg[len] = '\0';
	if (len == 0) {
		fprintf(stderr, "rhagent: the agent died while starting; see "
		        "%s/%s\n", dir, AGENT_LOG);
		return 1;
	}
	if (strcmp(msg, "\n") != 0) {
		fprintf(stderr, "rhagent: %s\n", msg);
		return 1;
	}
	return 0;
}

/* Leave the terminal and the session: the parent returns the read end of
 * a pipe on which the daemon reports; the daemon returns its write end. */
static int
daemonize(int *ready_fd)
{
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		waitpid(pid, &st, 0);
		*ready_fd = p[0];
		return 1;
	}
	close(p[0]);
	setsid();
	/* Not a session leader: it can never get a terminal back. */
	if ((pid = fork()) != 0)
		_exit(pid < 0);
	*ready_fd = p[1];
	return 0;
}

static void
report(int fd, const char *msg)
{
	size_t len = strlen(msg);

	if (fd >= 0 && write(fd, msg, len) != (ssize_t)len)
		rh_warn("cannot report to the starting process");
}

/* serve, once its options are known: the exit status. */
static int
serve(struct agent *a)
{
	struct rh_err err;
	int pidfd, ready = -1, devnull, r;

	umask(077);
	if (agent_make_dir(a->home, a->dir, &err) < 0 ||
	    (chdir(a->dir) < 0 &&
	     rh_err_set(&err, errno, "%s: %s", a->dir, strerror(errno))) ||
	    agent_lock_pid(&pidfd, &err) < 0) {
		fprintf(stderr, "rhagent: %s\n", err.msg);
		return 1;
	}
	if (!a->foreground) {
		if ((r = daemonize(&ready)) < 0) {
			fprintf(stderr, "rhagent: cannot start the daemon: "
			        "%s\n", strerror(-r));
			return 1;
		}
		if (r == 1)
			return wait_ready(ready, a->dir);
		/* The daemon keeps no terminal and no caller's pipe: over
		 * SSH, a held stdout would keep the channel open. */
		if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			close(devnull);
		}
		if (agent_log_open() < 0)
			dup2(STDOUT_FILENO, STDERR_FILENO);
		rh_log_timestamps(1);
	}
	rh_log_init("rhagent", 1, a->log_level);
	agent_write_pid(pidfd);
	if (serve_setup(a, &err) < 0) {
		rh_error("%s", err.msg);
		report(ready, err.msg);
		return 1;
	}
	report(ready, "\n");
	if (ready >= 0)
		close(ready);
	return serve_loop(a) < 0 ? 1 : 0;
}

static int
cmd_serve(int argc, char **argv, enum rh_log_level log_level)
{
	struct agent a;
	struct rh_err err;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	char *end;
	int ch, r;

	memset(&a, 0, sizeof(a));
	a.lfd = a.hfd = a.sigfd = a.records.jfd = -1;
	a.log_level = log_level;
	a.jobs = cpus > 4 ? (unsigned)cpus * 4 : 16;
	optind = 0;     /* glibc: start afresh on the subcommand's argv */
	while ((ch = getopt(argc, argv, "fj:")) != -1) {
		switch (ch) {
		case 'f':
			a.foreground = 1;
			break;
		case 'j':
			a.jobs = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || a.jobs == 0 || a.jobs > 100000) {
				fprintf(stderr, "rhagent: -j takes a number of "
				        "jobs from 1 to 100000\n");
				return 2;
			}
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (agent_dir(&a.dir, &a.home, &err) < 0) {
		fprintf(stderr, "rhagent: %s\n", err.msg);
		return 1;
	}
	r = serve(&a);
	free(a.dir);
	free(a.home);
	return r;
}

/* The pid of the agent serving the agent directory DIR, when it is PID
 * (not one of its bridges, which run there too); else 0. */
static pid_t
agent_of(pid_t pid, const char *dir)
{
	char *path = xasprintf("%s/%s", dir, AGENT_PID), buf[32];
	ssize_t n = -1;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	free(path);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == (long)pid ? pid : 0;
}

/* Name the agents of this user that run for another HOME than the one
 * looked in (DIR): stop only reaches its own. */
static void
say_other_agents(const char *dir)
{
	char link[64], cwd[PATH_MAX], comm[32], *end;
	const char *suffix = "/.rh/agent";
	size_t lsuf = strlen(suffix), lcwd;
	struct dirent *e;
	struct stat st;
	ssize_t n;
	DIR *proc;
	FILE *f;
	long pid;
	int said = 0;

	if ((proc = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(proc)) != NULL) {
		pid = strtol(e->d_name, &end, 10);
		if (pid <= 0 || *end != '\0')
			continue;
		snprintf(link, sizeof(link), "/proc/%ld", pid);
		if (stat(link, &st) < 0 || st.st_uid != getuid())
			continue;
		snprintf(link, sizeof(link), "/proc/%ld/comm", pid);
		if ((f = fopen(link, "re")) == NULL)
			continue;
		n = fgets(comm, sizeof(comm), f) ? (ssize_t)strlen(comm) : 0;
		fclose(f);
		if (n == 0 || strcmp(comm, "rhagent\n") != 0)
			continue;
		snprintf(link, sizeof(link), "/proc/%ld/cwd", pid);
		if ((n = readlink(link, cwd, sizeof(cwd) - 1)) <= 0)
			continue;
		cwd[n] = '\0';
		lcwd = (size_t)n;
		if (lcwd <= lsuf || strcmp(cwd + lcwd - lsuf, suffix) != 0 ||
		    strcmp(cwd, dir) == 0 || agent_of((pid_t)pid, cwd) == 0)
			continue;
		if (!said)
			fprintf(stderr, "rhagent: agents of this user for "
			        "other homes (stop one with HOME=DIR rhagent "
			        "stop):\n");
		said = 1;
		cwd[lcwd - lsuf] = '\0';
		fprintf(stderr, "    HOME=%s (pid %ld)\n", cwd, pid);
	}
	closedir(proc);
}

int
agent_stop_dir(const char *dir, const char *home)
{
	pid_t pid;
	int fd, i;

	if (chdir(dir) < 0 || (pid = running_pid(&fd)) == 0) {
		/* the agent is HOME's: say whose was looked for */
		fprintf(stderr, "rhagent: not running for HOME=%s (no agent "
		        "in %s)\n", home, dir);
		say_other_agents(dir);
		return 0;
	}
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
		fprintf(stderr, "rhagent: cannot stop pid %ld: %s\n",
		        (long)pid, strerror(errno));
		return 1;
	}
	/* Gone once its lock is free. */
	for (i = 0; i < (STOP_WAIT_MS + KILL_WAIT_MS) / 20; i++) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			close(fd);
			return 0;
		}
		if (i == STOP_WAIT_MS / 20) {
			fprintf(stderr, "rhagent: pid %ld ignored SIGTERM for "
			        "%d s, killing it\n", (long)pid,
			        STOP_WAIT_MS / 1000);
			kill(pid, SIGKILL);
		}
		sleep_ms(20);
	}
	fprintf(stderr, "rhagent: pid %ld does not stop\n", (long)pid);
	close(fd);
	return 1;
}

static int
cmd_stop(void)
{
	struct rh_err err;
	char *dir, *home;
	int r;

	if (agent_dir(&dir, &home, &err) < 0) {
		fprintf(stderr, "rhagent: %s\n", err.msg);
		return 1;
	}
	r = agent_stop_dir(dir, home);
	free(dir);
	free(home);
	return r;
}

static int
cmd_bridge(int argc, char **argv, enum rh_log_level log_level)
{
	struct rh_err err;
	char *dir, *home;
	int r;

	if (argc != 1) {
		usage(stderr);
		return 2;
	}
	if (agent_dir(&dir, &home, &err) < 0) {
		fprintf(stderr, "rhagent: %s\n", err.msg);
		return 1;
	}
	r = bridge_main(dir, log_level >= RH_LOG_DEBUG);
	free(dir);
	free(home);
	return r;
}

/* The SHA-256 of this executable, in hex: --version shows it, so that
 * rhfs replaces a node's agent built from other sources (the Python
 * runner is built in) even when the version string is the same. */
static int
build_id(char *hex)
{
	struct rh_buf exe = { 0 };
	int r;

	if ((r = rh_file_read("/proc/self/exe", 64u << 20, &exe, NULL)) == 0)
		r = rh_sha256_hex(exe.data, exe.len, hex);
	rh_buf_free(&exe);
	return r;
}

int
main(int argc, char **argv)
{
	enum rh_log_level log_level = RH_LOG_INFO;
	const char *cmd;
	int ch;

	if (argc == 2 && (strcmp(argv[1], "--version") == 0 ||
	                  strcmp(argv[1], "-V") == 0)) {
		char build[RH_SHA256_HEX];

		printf("rhagent %s\nprotocol %d\nbuild %s\n", VERSION,
		       RH_PROTO_VERSION, build_id(build) == 0 ? build : "unknown");
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
	                  strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	while ((ch = getopt(argc, argv, "+v")) != -1) {
		switch (ch) {
		case 'v':
			log_level = RH_LOG_DEBUG;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	rh_log_init("rhagent", 1, log_level);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc, argv, log_level);
	if (strcmp(cmd, "bridge") == 0)
		return cmd_bridge(argc, argv, log_level);
	if (strcmp(cmd, "worker") == 0)
		return worker_main(argc, argv, log_level);
	if (strcmp(cmd, "step") == 0)
		return step_main(argc, argv);
	if (strcmp(cmd, "stop") == 0 && argc == 1)
		return cmd_stop();
	usage(stderr);
	return 2;
}

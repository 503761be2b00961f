/*
 * head-slurm.c - what Slurm says of the job of a worker node the head
 * lost, or that is leaving: the head (on the login node, where Slurm's
 * commands are) runs `scontrol -o show job ID` (else `sacct`) in a child,
 * every half second until Slurm gives the job an end state (it reads
 * COMPLETING while its steps end), for at most ASK_MS, and reads its one
 * line of output through a pipe in its poll loop: nothing here blocks.
 * The calls the node held then fail with Slurm's reason ("Slurm job 12
 * ended: TIMEOUT (time limit reached) on node1").
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "agent.h"

/* How long Slurm is asked, at most, before the calls fail without its
 * word (a patient ask waits about 15 s for a job that runs to end: a node
 * lost may be one slurmctld has not yet seen fail); a child still running
 * then is killed. */
#define ASK_MS 20000

struct slurm_ask {
	char job[24];
	pid_t pid;
	int fd;                 /* the child's stdout; -1: read to its end */
	struct rh_buf out;
	struct timespec deadline;       /* CLOCK_MONOTONIC */
};

extern char **environ;

int
slurm_job_valid(const char *s)
{
	size_t n = strspn(s, "0123456789");

	return n > 0 && n < 20 && s[n] == '\0';
}

struct slurm_ask *
slurm_ask_start(const char *job, int patient)
{
	struct slurm_ask *q;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *script, *argv[4], sh[] = "sh", dash_c[] = "-c";
	int p[2], r;

	if (!slurm_job_valid(job))
		return NULL;
	/* while scontrol says the job ends (COMPLETING), or runs (for about
	 * two seconds: its worker may be dying too; for the whole time when
	 * patient), again; a job scontrol no longer knows may be in the
	 * accounting */
	script = xasprintf(
	        "j=%s; p=%d; i=0; s=\n"
	        "while [ $i -lt 30 ]; do\n"
	        "  s=$(timeout 5 scontrol -o show job \"$j\" 2>/dev/null | "
	        "head -n 1)\n"
	        "  [ -n \"$s\" ] || s=$(timeout 5 sacct -n -X -P -j \"$j\" "
	        "-o State,Reason,NodeList 2>/dev/null | head -n 1 | "
	        "sed -n 's/^\\([A-Z_]*\\)[^|]*|\\([^|]*\\)|\\(.*\\)$/"
	        "JobState=\\1 Reason=\\2 NodeList=\\3/p')\n"
	        "  case \"$s\" in\n"
	        "  *JobState=RUNNING*|*JobState=CONFIGURING*) "
	        "[ $p = 1 ] || [ $i -lt 4 ] || break ;;\n"
	        "  *JobState=COMPLETING*|'') ;;\n"
	        "  *) break ;;\n"
	        "  esac\n"
	        "  i=$((i + 1)); sleep 0.5\n"
	        "done\n"
	        "printf '%%s\\n' \"$s\"\n", job, patient ? 1 : 0);
	if (pipe2(p, O_CLOEXEC) < 0) {
		rh_warn("Slurm job %s: cannot ask Slurm: pipe: %s", job,
		        strerror(errno));
		free(script);
		return NULL;
	}
	argv[0] = sh;
	argv[1] = dash_c;
	argv[2] = script;
	argv[3] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	call_spawnattr_init(&at);
	q = xcalloc(1, sizeof(*q));
	r = posix_spawn(&q->pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	free(script);
	close(p[1]);
	if (r != 0) {
		rh_warn("Slurm job %s: cannot ask Slurm: /bin/sh: %s", job,
		        strerror(r));
		close(p[0]);
		free(q);
		return NULL;
	}
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	q->fd = p[0];
	snprintf(q->job, sizeof(q->job), "%s", job);
	clock_gettime(CLOCK_MONOTONIC, &q->deadline);
	q->deadline.tv_sec += ASK_MS / 1000;
	rh_info("Slurm job %s: asking Slurm whether it ends (pid %ld%s)", job,
	        (long)q->pid, patient ? ", for a while" : "");
	return q;
}

int
slurm_ask_fd(const struct slurm_ask *q)
{
	return q->fd;
}

/* Done: the child ended (its output's end), or is killed (kill_it: its
 * output has not ended, so it is not yet reaped); call_reap reaps it. */
static void
ask_close(struct slurm_ask *q, int kill_it)
{
	if (q->fd >= 0) {
		close(q->fd);
		if (kill_it && q->pid > 0)
			kill(-q->pid, SIGKILL);
	}
	q->fd = -1;
	q->pid = 0;
}

int
slurm_ask_read(struct slurm_ask *q)
{
	char buf[1024];
	ssize_t n;

	while (q->fd >= 0) {
		n = read(q->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0 || q->out.len + (size_t)n > 65536) {
			ask_close(q, n > 0);
			break;
		}
		rh_buf_append(&q->out, buf, (size_t)n);
	}
	return 1;
}

int
slurm_ask_tick(struct slurm_ask *q)
{
	struct timespec now;
	long ms;

	if (q->fd < 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long)(q->deadline.tv_sec - now.tv_sec) * 1000 +
	     (q->deadline.tv_nsec - now.tv_nsec) / 1000000;
	if (ms > 0)
		return (int)ms + 1;
	rh_warn("Slurm job %s: Slurm did not answer within %d s", q->job,
	        ASK_MS / 1000);
	slurm_ask_read(q);
	ask_close(q, 1);
	return 0;
}

/* The value of KEY= in scontrol's line (up to a blank), or "". */
static void
field(const char *text, const char *key, char *dst, size_t size)
{
	size_t kl = strlen(key), n;
	const char *p = text;

	dst[0] = '\0';
	while ((p = strstr(p, key)) != NULL) {
		if ((p == text || p[-1] == ' ') && p[kl] == '=') {
			p += kl + 1;
			n = strcspn(p, " \n");
			if (n >= size)
				n = size - 1;
			memcpy(dst, p, n);
			dst[n] = '\0';
			return;
		}
		p += kl;
	}
}

/* Slurm's end states, in words. */
static const struct {
	const char *state, *words;
} ends[] = {
	{ "TIMEOUT", "time limit reached" },
	{ "PREEMPTED", "preempted" },
	{ "NODE_FAIL", "node failure" },
	{ "CANCELLED", "scancel" },
	{ "BOOT_FAIL", "a node failed to boot" },
	{ "DEADLINE", "deadline reached" },
	{ "OUT_OF_MEMORY", "out of memory" },
	{ "FAILED", "its script failed" },
	{ "COMPLETED", "its script exited" },
};

/* While a job ends (COMPLETING), its reason tells the end to come. */
static const struct {
	const char *reason, *state;
} ending[] = {
	{ "TimeLimit", "TIMEOUT" },
	{ "Prolog", "NODE_FAIL" },
	{ "NodeDown", "NODE_FAIL" },
	{ "NodeFail", "NODE_FAIL" },
	{ "Preempted", "PREEMPTED" },
	{ "DeadLine", "DEADLINE" },
};

int
slurm_ask_reason(const struct slurm_ask *q, const char *node, char *buf,
                 size_t len)
{
	char line[1024], state[64], reason[128];
	const char *words = NULL;
	size_t i, n = q->out.len;

	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, q->out.data ? q->out.data : "", n);
	line[n] = '\0';
	field(line, "JobState", state, sizeof(state));
	field(line, "Reason", reason, sizeof(reason));
	if (strcmp(state, "COMPLETING") == 0)
		for (i = 0; i < sizeof(ending) / sizeof(ending[0]); i++)
			if (strcmp(reason, ending[i].reason) == 0)
				snprintf(state, sizeof(state), "%s",
				         ending[i].state);
	for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (strcmp(state, ends[i].state) == 0)
			words = ends[i].words;
	if (strcmp(state, "PENDING") == 0 ||
	    strncmp(state, "REQUEUE", 7) == 0) {
		/* it ran, and waits again: Slurm requeued it (a node failed,
		 * or preemption by requeue); it starts again later */
		snprintf(buf, len, "Slurm job %s was requeued (%s%s%s)%s%s",
		         q->job, state, reason[0] ? ": " : "", reason,
		         node != NULL && *node ? " on " : "",
		         node != NULL ? node : "");
		return 1;
	}
	if (words == NULL)
		return 0;       /* it runs (or Slurm said nothing) */
	snprintf(buf, len, "Slurm job %s ended: %s (%s)%s%s", q->job, state,
	         words, node != NULL && *node ? " on " : "",
	         node != NULL ? node : "");
	return 1;
}

void
slurm_ask_free(struct slurm_ask *q)
{
	if (q == NULL)
		return;
	ask_close(q, 1);
	rh_buf_free(&q->out);
	free(q);
}

/* log.c - one logging entry point: stderr or syslog, plus a ring buffer of
 * recent lines that rhfs serves as MOUNT/.log. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "rh.h"

#define RING_LINES 256

static struct {
	pthread_mutex_t lock;
	int to_stderr;
	int stamps;             /* stderr lines start with the time */
	enum rh_log_level level;
	const char *ident;
	char *ring[RING_LINES];
	unsigned next;
} lg = { PTHREAD_MUTEX_INITIALIZER, 1, 0, RH_LOG_INFO, "rhfs", { NULL }, 0 };

static const char *const level_names[] = { "error", "warning", "info",
                                           "debug" };

void
rh_log_init(const char *ident, int to_stderr, enum rh_log_level level)
{
	lg.ident = ident;
	lg.to_stderr = to_stderr;
	lg.level = level;
	if (!to_stderr)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

/* For a daemon whose stderr is its log file. */
void
rh_log_timestamps(int on)
{
	lg.stamps = on;
}

void
rh_log(enum rh_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
	                            LOG_DEBUG };
	char msg[1024], stamp[32];
	struct tm tm;
	time_t now;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);

	pthread_mutex_lock(&lg.lock);
	if (level <= RH_LOG_INFO || level <= lg.level) {
		free(lg.ring[lg.next % RING_LINES]);
		lg.ring[lg.next % RING_LINES] =
			xasprintf("%s %s: %s\n", stamp, level_names[level], msg);
		lg.next++;
	}
	if (level <= lg.level) {
		if (lg.to_stderr && lg.stamps)
			fprintf(stderr, "%s %s[%ld]: %s: %s\n", stamp, lg.ident,
			        (long)getpid(), level_names[level], msg);
		else if (lg.to_stderr)
			fprintf(stderr, "%s: %s: %s\n", lg.ident,
			        level_names[level], msg);
		else
			syslog(prio[level], "%s", msg);
	}
	pthread_mutex_unlock(&lg.lock);
}

/* Whether the message of a ring line is a warning or an error naming
 * ADDR as a whole address: "~/a: ...", "refused: ~/a/invoke: ..." name
 * ~/a; "~/ab: ..." does not. */
static int
line_about(const char *line, const char *addr)
{
	size_t n = strlen(addr);
	const char *msg = strchr(line, ' '), *p;

	/* "DATE TIME LEVEL: message" */
	if (msg == NULL || (msg = strchr(msg + 1, ' ')) == NULL)
		return 0;
	msg++;
	if (strncmp(msg, "error: ", 7) != 0 && strncmp(msg, "warning: ", 9) != 0)
		return 0;
	for (p = strstr(msg, addr); p != NULL; p = strstr(p + 1, addr))
		if (strchr(" '\"", p[-1]) != NULL &&
		    strchr(":/ '\"\n", p[n]) != NULL)
			return 1;
	return 0;
}

/* The ring, oldest first; with ADDR, only its lines about ADDR. */
static void
recent(struct rh_buf *out, const char *addr)
{
	unsigned i, first;

	pthread_mutex_lock(&lg.lock);
	first = lg.next > RING_LINES ? lg.next - RING_LINES : 0;
	for (i = first; i < lg.next; i++) {
		const char *line = lg.ring[i % RING_LINES];

		if (addr == NULL || line_about(line, addr))
			rh_buf_append(out, line, strlen(line));
	}
	pthread_mutex_unlock(&lg.lock);
}

void
rh_log_recent(struct rh_buf *out)
{
	recent(out, NULL);
}

void
rh_log_recent_about(struct rh_buf *out, const char *addr)
{
	recent(out, addr);
}

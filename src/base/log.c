/* log.c - one logging entry point: stderr or syslog, plus a ring buffer of
 * recent lines that rhfs serves as MOUNT/.log. Every message is one line,
 * its control characters escaped. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

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

/* in as one line of text: control characters (C0, DEL, C1) and bytes
 * that are not UTF-8 escaped, so that a name or a value from a config
 * cannot end the line and start one that looks like rhfs's own. A
 * backslash is left alone: what follows it is never a line break.
 * out holds at least 4 * strlen(in) + 1 bytes. */
static void
escape(const char *in, char *out)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t n, left = strlen(in);

	for (; *p; p += n, left -= n) {
		n = rh_utf8_len(p, left);
		if (n == 1 && *p >= 0x20 && *p != 0x7f) {
			*out++ = (char)*p;
		} else if (*p == '\n' || *p == '\r' || *p == '\t') {
			*out++ = '\\';
			*out++ = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
		} else if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0) {
			out += sprintf(out, "\\u%04x", p[1]);
		} else if (n == 0 || n == 1) {
			out += sprintf(out, "\\x%02x", *p);
			n = 1;
		} else {
			memcpy(out, p, n);
			out += n;
		}
	}
	*out = '\0';
}

void
rh_log(enum rh_log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO,
	                            LOG_DEBUG };
	char raw[1024], msg[4 * sizeof(raw)], stamp[32];
	struct tm tm;
	time_t now;
	va_list ap;

	/* a line neither kept nor shown is not made (debug lines are on
	 * every call's path) */
	if (level > RH_LOG_INFO && level > lg.level)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape(raw, msg);

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

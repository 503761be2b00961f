/*
 * autostop.c - the agent stops itself after autostop_mins idle minutes
 * (-1: never; 0: as soon as it is idle), as Runhouse's autostop_mins.
 * Idle means no call queued or running; a call and a new client are
 * activity, status probes and log readers are not. The setting is kept in
 * the agent's directory, so an agent started again keeps it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "agent.h"

#define AUTOSTOP_FILE "autostop"
/* Never stop within this of the last activity: a client that just
 * started the agent (or said hello) is about to send its call. */
#define AUTOSTOP_GRACE_MS 3000

void
autostop_touch(struct agent *a)
{
	clock_gettime(CLOCK_MONOTONIC, &a->last_active);
}

void
autostop_init(struct agent *a)
{
	char buf[32], *end;
	FILE *f;
	long v;

	a->autostop_mins = -1;
	autostop_touch(a);
	if ((f = fopen(AUTOSTOP_FILE, "re")) == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL) {
		v = strtol(buf, &end, 10);
		if (end != buf && (*end == '\n' || *end == '\0') && v >= -1 &&
		    v <= AUTOSTOP_MAX)
			a->autostop_mins = (int)v;
		else
			rh_warn("%s: ignoring '%s': not a number of minutes",
			        AUTOSTOP_FILE, buf);
	}
	fclose(f);
	if (a->autostop_mins >= 0)
		rh_info("autostop after %d idle minutes", a->autostop_mins);
}

int
autostop_set(struct agent *a, int mins, struct rh_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", mins), r;

	if ((r = rh_file_replace(AUTOSTOP_FILE, buf, (size_t)n, 0600, 0)) < 0)
		return rh_err_set(err, -r, "%s/%s: %s", a->dir, AUTOSTOP_FILE,
		                  strerror(-r));
	a->autostop_mins = mins;
	autostop_touch(a);
	if (mins < 0)
		rh_info("autostop off");
	else
		rh_info("autostop after %d idle minutes", mins);
	return 0;
}

int
autostop_tick(struct agent *a)
{
	struct timespec now;
	long idle, limit;

	if (a->running.n > 0 || a->queued.n > 0)
		autostop_touch(a);
	if (a->autostop_mins < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	idle = rh_ms_between(&a->last_active, &now);
	limit = (long)a->autostop_mins * 60000;
	if (limit < AUTOSTOP_GRACE_MS)
		limit = AUTOSTOP_GRACE_MS;
	if (idle >= limit) {
		rh_info("autostop: idle for %ld s (autostop_mins %d), "
		        "stopping", idle / 1000, a->autostop_mins);
		a->stopping = 1;
		return 0;
	}
	return (int)(limit - idle + 1);
}

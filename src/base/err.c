/* err.c - the one line a person sees when something is refused. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "base.h"

/* Fill err (which may be NULL) and return -errnum, so callers can write
 * `return rh_err_set(err, EINVAL, "...")`. */
int
rh_err_set(struct rh_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

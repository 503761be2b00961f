/* xmalloc.c - allocation that cannot return NULL. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static void *
check(void *p)
{
	if (p == NULL) {
		fputs("rhfs: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *
xmalloc(size_t size)
{
	return check(malloc(size ? size : 1));
}

void *
xcalloc(size_t n, size_t size)
{
	return check(calloc(n ? n : 1, size ? size : 1));
}

void *
xrealloc(void *p, size_t size)
{
	return check(realloc(p, size ? size : 1));
}

char *
xstrdup(const char *s)
{
	return check(strdup(s));
}

char *
xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n));
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return check(s);
}

void
rh_strv_free(char **v)
{
	char **p;

	for (p = v; p != NULL && *p != NULL; p++)
		free(*p);
	free(v);
}

void
rh_strs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

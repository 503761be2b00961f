/* buf.c - a growable byte buffer, always NUL-terminated. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

void
rh_buf_reserve(struct rh_buf *b, size_t need)
{
	size_t cap;

	if (b->data != NULL && need + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	if (b->cap == 0)
		b->data[0] = '\0';
	b->cap = cap;
}

void
rh_buf_append(struct rh_buf *b, const void *data, size_t len)
{
	rh_buf_pwrite(b, data, len, b->len);
}

void
rh_buf_printf(struct rh_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	rh_buf_reserve(b, b->len + (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
rh_buf_pwrite(struct rh_buf *b, const void *data, size_t len, size_t off)
{
	size_t end = off + len;

	rh_buf_reserve(b, end > b->len ? end : b->len);
	if (off > b->len)
		memset(b->data + b->len, 0, off - b->len);
	if (len)
		memcpy(b->data + off, data, len);
	if (end > b->len) {
		b->len = end;
		b->data[b->len] = '\0';
	}
}

void
rh_buf_truncate(struct rh_buf *b, size_t len)
{
	rh_buf_reserve(b, len);
	if (len > b->len)
		memset(b->data + b->len, 0, len - b->len);
	b->len = len;
	b->data[len] = '\0';
}

void
rh_buf_free(struct rh_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

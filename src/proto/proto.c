/* proto.c - the agent wire protocol: length-framed JSON messages with
 * request ids, encoded whole and decoded incrementally from a byte stream
 * (a non-blocking socket, an SSH channel). docs/protocol.md is the spec. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "base.h"
#include "proto.h"

void
rh_proto_dec_init(struct rh_proto_dec *d, size_t max)
{
	memset(d, 0, sizeof(*d));
	d->max = max ? max : RH_PROTO_FRAME_MAX;
}

void
rh_proto_dec_free(struct rh_proto_dec *d)
{
	rh_buf_free(&d->in);
	d->off = 0;
}

/* Drop consumed bytes once they are most of the buffer, so that a long
 * stream neither grows the buffer nor memmoves on every frame. */
static void
compact(struct rh_proto_dec *d)
{
	if (d->off == 0)
		return;
	if (d->off == d->in.len) {
		d->in.len = d->off = 0;
		if (d->in.data != NULL)
			d->in.data[0] = '\0';
		return;
	}
	if (d->off < d->in.len / 2 && d->off < 65536)
		return;
	memmove(d->in.data, d->in.data + d->off, d->in.len - d->off);
	rh_buf_truncate(&d->in, d->in.len - d->off);
	d->off = 0;
}

void
rh_proto_dec_feed(struct rh_proto_dec *d, const void *data, size_t len)
{
	compact(d);
	rh_buf_append(&d->in, data, len);
}

void *
rh_proto_dec_space(struct rh_proto_dec *d, size_t want, size_t *avail)
{
	compact(d);
	rh_buf_reserve(&d->in, d->in.len + want);
	*avail = d->in.cap - d->in.len - 1;
	return d->in.data + d->in.len;
}

void
rh_proto_dec_commit(struct rh_proto_dec *d, size_t len)
{
	d->in.len += len;
	d->in.data[d->in.len] = '\0';
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
rh_proto_check(const cJSON *json, uint64_t *id, const char **op,
               struct rh_err *err)
{
	const cJSON *jid, *jop;
	double v;

	if (!cJSON_IsObject(json))
		return rh_err_set(err, EBADMSG, "message is not a JSON object");
	jid = cJSON_GetObjectItemCaseSensitive(json, "id");
	if (jid == NULL)
		return rh_err_set(err, EBADMSG, "message has no 'id'");
	v = jid->valuedouble;
	/* The cast test rejects fractions; the bound keeps ids exact. */
	if (!cJSON_IsNumber(jid) || v < 0 || v > (double)RH_PROTO_ID_MAX ||
	    (double)(uint64_t)v != v)
		return rh_err_set(err, EBADMSG, "message 'id' is not an integer "
		                  "from 0 to %llu",
		                  (unsigned long long)RH_PROTO_ID_MAX);
	jop = cJSON_GetObjectItemCaseSensitive(json, "op");
	if (jop == NULL)
		return rh_err_set(err, EBADMSG, "message has no 'op'");
	if (!cJSON_IsString(jop) || *jop->valuestring == '\0')
		return rh_err_set(err, EBADMSG, "message 'op' is not a "
		                  "non-empty string");
	if (id != NULL)
		*id = (uint64_t)v;
	if (op != NULL)
		*op = jop->valuestring;
	return 0;
}

static int
parse_body(const char *body, size_t len, struct rh_proto_msg *m,
           struct rh_err *err)
{
	cJSON *json;
	int r;

	if (len == 0)
		return rh_err_set(err, EBADMSG, "empty frame");
	if ((json = rh_json_parse(body, len, "frame", err)) == NULL)
		return -EBADMSG;
	if ((r = rh_proto_check(json, &m->id, &m->op, err)) < 0) {
		cJSON_Delete(json);
		return r;
	}
	m->json = json;
	return 0;
}

int
rh_proto_dec_next(struct rh_proto_dec *d, struct rh_proto_msg *m,
                  struct rh_err *err)
{
	size_t avail = d->in.len - d->off;
	uint32_t len;
	int r;

	memset(m, 0, sizeof(*m));
	if (d->failed)
		return rh_err_set(err, -d->failed, "stream already failed");
	if (avail < RH_PROTO_HDR)
		return 0;
	len = get_be32((const unsigned char *)d->in.data + d->off);
	/* Judge the length before buffering: a bad peer must not make us
	 * hold gigabytes. */
	if (len > d->max) {
		d->failed = -EMSGSIZE;
		return rh_err_set(err, EMSGSIZE, "frame of %lu bytes exceeds "
		                  "the maximum of %zu", (unsigned long)len,
		                  d->max);
	}
	if (avail - RH_PROTO_HDR < len)
		return 0;
	r = parse_body(d->in.data + d->off + RH_PROTO_HDR, len, m, err);
	if (r < 0) {
		d->failed = r;
		return r;
	}
	d->off += RH_PROTO_HDR + len;
	return 1;
}

int
rh_proto_dec_end(const struct rh_proto_dec *d, struct rh_err *err)
{
	size_t avail = d->in.len - d->off;

	if (d->failed)
		return rh_err_set(err, -d->failed, "stream already failed");
	if (avail == 0)
		return 0;
	if (avail < RH_PROTO_HDR)
		return rh_err_set(err, EPROTO, "truncated frame: stream ended "
		                  "after %zu of 4 header bytes", avail);
	return rh_err_set(err, EPROTO, "truncated frame: stream ended after "
	                  "%zu of %lu bytes", avail - RH_PROTO_HDR,
	                  (unsigned long)get_be32((const unsigned char *)
	                                          d->in.data + d->off));
}

void
rh_proto_msg_free(struct rh_proto_msg *m)
{
	cJSON_Delete(m->json);
	memset(m, 0, sizeof(*m));
}

int
rh_proto_encode(cJSON *msg, size_t max, struct rh_buf *out)
{
	unsigned char hdr[RH_PROTO_HDR];
	size_t len;
	char *body;

	if (rh_proto_check(msg, NULL, NULL, NULL) < 0)
		return -EINVAL;
	if ((body = rh_json_print_owned(msg, 0)) == NULL)
		return -ENOMEM;
	len = strlen(body);
	if (len > (max ? max : RH_PROTO_FRAME_MAX)) {
		free(body);
		return -EMSGSIZE;
	}
	hdr[0] = (unsigned char)(len >> 24);
	hdr[1] = (unsigned char)(len >> 16);
	hdr[2] = (unsigned char)(len >> 8);
	hdr[3] = (unsigned char)len;
	rh_buf_reserve(out, out->len + sizeof(hdr) + len);
	rh_buf_append(out, hdr, sizeof(hdr));
	rh_buf_append(out, body, len);
	free(body);
	return 0;
}

cJSON *
rh_proto_new(uint64_t id, const char *op)
{
	cJSON *m = cJSON_CreateObject();

	/* keys held, not copied: each message has them */
	if (m == NULL ||
	    !cJSON_AddItemToObjectCS(m, "id", cJSON_CreateNumber((double)id)) ||
	    !cJSON_AddItemToObjectCS(m, "op", cJSON_CreateString(op))) {
		fputs("rhfs: out of memory\n", stderr);
		abort();
	}
	return m;
}

cJSON *
rh_proto_reply(uint64_t id)
{
	cJSON *m = rh_proto_new(id, "reply");

	if (!cJSON_AddItemToObjectCS(m, "ok", cJSON_CreateTrue()))
		abort();
	return m;
}

cJSON *
rh_proto_error(uint64_t id, int errnum, const char *fmt, ...)
{
	cJSON *m = rh_proto_new(id, "reply");
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddFalseToObject(m, "ok");
	cJSON_AddStringToObject(m, "error", rh_proto_errname(errnum));
	cJSON_AddStringToObject(m, "message", msg);
	return m;
}

#define E(x) { x, #x }
static const struct {
	int num;
	const char *name;
} errnames[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(E2BIG),
	E(ENOEXEC), E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES),
	E(EBUSY), E(EEXIST), E(ENOTDIR), E(EISDIR), E(EINVAL), E(EMFILE),
	E(EFBIG), E(ENOSPC), E(EROFS), E(EPIPE), E(ERANGE), E(ENAMETOOLONG),
	E(ENOSYS), E(ENOTEMPTY), E(ENODATA), E(ETIME), E(EPROTO),
	E(EBADMSG), E(EOVERFLOW), E(EMSGSIZE), E(EPROTONOSUPPORT),
	E(EOPNOTSUPP), E(ECONNRESET), E(ENOTCONN), E(ESHUTDOWN),
	E(ETIMEDOUT), E(ECONNREFUSED), E(EHOSTUNREACH), E(EALREADY),
	E(ECANCELED),
};
#undef E

const char *
rh_proto_errname(int errnum)
{
	size_t i;

	if (errnum < 0)
		errnum = -errnum;
	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (errnames[i].num == errnum)
			return errnames[i].name;
	return "EIO";
}

int
rh_proto_errnum(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(errnames) / sizeof(errnames[0]);
	     i++)
		if (strcmp(errnames[i].name, name) == 0)
			return errnames[i].num;
	return EIO;
}

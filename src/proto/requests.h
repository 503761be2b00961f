/* requests.h - the agent protocol's requests but "call" (callspec.h) as
 * C structs (docs/protocol.md): for each, the one encoder rhfs uses and
 * the one decoder rhagent uses, so that both sides read the same fields
 * the same way.
 *
 * A decoder checks every field it knows, with EINVAL naming the field at
 * fault; a field the request does not have keeps what the struct held
 * (the caller's default). Fields it does not know are not looked at (an
 * older or newer peer may send them). Strings point into the request,
 * which must outlive the struct. An encoder gives the request message
 * (id 0, its op) with every field the struct has set. */
#ifndef RH_REQUESTS_H
#define RH_REQUESTS_H

#include "base.h"

struct cJSON;

/* "hello": the protocol versions the client speaks. */
struct rh_hello_req {
	long long proto;        /* the highest; required (1..65535) */
	long long proto_min;    /* the lowest (0: as proto) */
	const char *client;     /* who is asking, or NULL */
};
struct cJSON *rh_hello_req_encode(const struct rh_hello_req *q);
int rh_hello_req_decode(const struct cJSON *m, struct rh_hello_req *q,
                        struct rh_err *err);

/* "get": a call's record. */
struct rh_get_req {
	const char *call;       /* required: a call id */
	int wait;               /* answer when the call has ended */
	int result;             /* with its result (1 unless false) */
	int spec;               /* with the request as the agent got it */
};
struct cJSON *rh_get_req_encode(const struct rh_get_req *q);
int rh_get_req_decode(const struct cJSON *m, struct rh_get_req *q,
                      struct rh_err *err);

/* "cancel": a call ended. */
struct rh_cancel_req {
	const char *call;       /* required: a call id */
};
struct cJSON *rh_cancel_req_encode(const struct rh_cancel_req *q);
int rh_cancel_req_decode(const struct cJSON *m, struct rh_cancel_req *q,
                         struct rh_err *err);

/* "output": bytes of a call's stdout, stderr or result. */
struct rh_output_req {
	const char *call;       /* required: a call id */
	const char *stream;     /* "stdout", "stderr", "result" */
	long long offset;
	long long length;       /* the most bytes wanted */
	long long wait_ms;      /* at the end of a running call's output,
	                         * wait up to this long for more (0: none) */
};
struct cJSON *rh_output_req_encode(const struct rh_output_req *q);
int rh_output_req_decode(const struct cJSON *m, struct rh_output_req *q,
                         struct rh_err *err);

/* "log": bytes of the agent's log. */
struct rh_log_req {
	long long offset;
	long long length;
	long long wait_ms;      /* at the end, wait up to this long for more
	                         * (at most RH_LOG_WAIT_MAX_MS) */
};
#define RH_LOG_WAIT_MAX_MS 60000
struct cJSON *rh_log_req_encode(const struct rh_log_req *q);
int rh_log_req_decode(const struct cJSON *m, struct rh_log_req *q,
                      struct rh_err *err);

/* "list": the calls the agent keeps, newest first. */
struct rh_list_req {
	const char *send;       /* only this send's, or NULL: all */
	const char *before;     /* only calls older than this id, or NULL */
	long long limit;        /* at most this many (0..1000) */
};
struct cJSON *rh_list_req_encode(const struct rh_list_req *q);
int rh_list_req_decode(const struct cJSON *m, struct rh_list_req *q,
                       struct rh_err *err);

/* The reply to "output" and to "log": bytes of a file from an offset.
 * A reply's own fields (id, op) are the frame's. */
struct rh_bytes_reply {
	struct rh_buf *data;    /* the bytes: encode reads them, decode
	                         * appends them (NULL: not kept) */
	long long offset;       /* where they start */
	long long size;         /* the file's size when they were read */
	int eof;                /* output: 1 when nothing more will come;
	                         * -1: not said (log) */
	long long wait_ms;      /* output: the longest this agent holds a
	                         * request; -1: not said (an older agent) */
};
/* b's fields added to the reply message r: data (or data_b64), offset,
 * size, and eof and wait_ms where said. */
void rh_bytes_reply_encode(struct cJSON *r, const struct rh_bytes_reply *b);
/* r's fields into b (eof and wait_ms -1 where not said); EIO when its
 * bytes are not bytes, EINVAL naming a field of another type. */
int rh_bytes_reply_decode(const struct cJSON *r, struct rh_bytes_reply *b,
                          struct rh_err *err);

#endif

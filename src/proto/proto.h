/* proto.h - the agent wire protocol, spoken by rhfs and rhagent
 * (src/proto/). */
#ifndef RH_PROTO_H
#define RH_PROTO_H

#include <stdint.h>

#include "base.h"

/*
 * proto.c: the agent wire protocol (docs/protocol.md). A frame is a 4-byte
 * big-endian length, then that many bytes of one JSON object carrying at
 * least "id" (an integer, 0 to 10^15-1) and "op" (a non-empty string).
 */
#define RH_PROTO_VERSION 1              /* highest version spoken */
#define RH_PROTO_VERSION_MIN 1          /* lowest version still accepted */
#define RH_PROTO_HDR 4
#define RH_PROTO_FRAME_MAX (16u * 1024 * 1024)
/* Ids are integers that survive a double and cJSON's printing of it,
 * which keeps 15 significant digits. */
#define RH_PROTO_ID_MAX 999999999999999ULL

/* One decoded frame; op points into json. */
struct rh_proto_msg {
	struct cJSON *json;
	uint64_t id;
	const char *op;
};

/* An incremental decoder for a byte stream: feed it whatever arrived, take
 * out whole frames. After an error the stream is lost and every further
 * rh_proto_dec_next gives that error again. */
struct rh_proto_dec {
	struct rh_buf in;
	size_t off;             /* first byte not yet consumed */
	size_t max;             /* largest frame body accepted */
	int failed;             /* sticky -errno */
};
void rh_proto_dec_init(struct rh_proto_dec *d, size_t max);
void rh_proto_dec_free(struct rh_proto_dec *d);
void rh_proto_dec_feed(struct rh_proto_dec *d, const void *data, size_t len);
/* Room for at least want more bytes, to read(2) into directly; then
 * rh_proto_dec_commit the bytes read. */
void *rh_proto_dec_space(struct rh_proto_dec *d, size_t want, size_t *avail);
void rh_proto_dec_commit(struct rh_proto_dec *d, size_t len);
/*
 * 1 and *m filled (free with rh_proto_msg_free) when a whole frame is in;
 * 0 when more bytes are needed; -EMSGSIZE for a length over the maximum
 * (known from the header alone), -EBADMSG for a body that is not a JSON
 * object with a valid id and op. err says which and why.
 */
int rh_proto_dec_next(struct rh_proto_dec *d, struct rh_proto_msg *m,
                      struct rh_err *err);
/* The stream ended: 0 on a frame boundary, -EPROTO inside a frame. */
int rh_proto_dec_end(const struct rh_proto_dec *d, struct rh_err *err);
void rh_proto_msg_free(struct rh_proto_msg *m);

/* Check that a message has a valid id and op. */
int rh_proto_check(const struct cJSON *json, uint64_t *id, const char **op,
                   struct rh_err *err);
/* Append msg as one frame to out; -EMSGSIZE when its body is over max
 * (0: RH_PROTO_FRAME_MAX), -EINVAL when it is not a valid message.
 * Printed with rh_json_print_owned: no other thread may read msg
 * meanwhile. */
int rh_proto_encode(struct cJSON *msg, size_t max, struct rh_buf *out);
/* {"id": id, "op": op} */
struct cJSON *rh_proto_new(uint64_t id, const char *op);
/* A successful reply: {"id": id, "op": "reply", "ok": true}. */
struct cJSON *rh_proto_reply(uint64_t id);
/* A refused request: {"id", "op": "reply", "ok": false, "error": "ENOENT",
 * "message": ...}. */
struct cJSON *rh_proto_error(uint64_t id, int errnum, const char *fmt, ...)
	RH_PRINTF(3, 4);
/* Errors travel by name ("ENOENT"): errno numbers differ between systems.
 * Unknown numbers are sent as "EIO", unknown names read as EIO. */
const char *rh_proto_errname(int errnum);
int rh_proto_errnum(const char *name);

#endif

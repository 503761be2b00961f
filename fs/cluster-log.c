/* cluster-log.c - a cluster's log: its agent's log file on the node
 * (~/.rh/agent/log), read at the file's offset and followed while open,
 * as `tail -f`: a read at the end waits for more. The wait is the agent's
 * (a "log" request that it answers once the log grows, or empty after a
 * while, when it is asked again), so no thread here holds or spins. Ctrl-C
 * ends the wait with EINTR; O_NONBLOCK gives EAGAIN at the end. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "proto.h"
#include "link.h"
#include "rhfs.h"

/* Each long poll; the agent caps it at a minute. */
#define LOG_WAIT_MS 30000

struct log_file {
	char *addr;
	cJSON *cfg;
};

/* One read in flight. Freed by whoever comes last of the agent's final
 * answer and the request's answer. */
struct log_read {
	struct parked p;        /* first: parked_interrupted's arg */
	fuse_req_t req;
	struct rh_rpc *rpc;
	uint64_t off;
	size_t size;
	int nonblock;
};

static int
log_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	struct log_file *lf = xcalloc(1, sizeof(*lf));
	int r;

	if ((r = res_load(fs, h->node->parent, &lf->addr, &lf->cfg,
	                  err)) < 0) {
		free(lf);
		return r;
	}
	if (!cluster_has_ips(lf->cfg) && !ondemand_is_up(fs, lf->addr)) {
		r = rh_err_set(err, ENOTCONN, "%s/log: the on-demand cluster "
		               "is not up, and has no agent (a call or 'up' in "
		               "its ctl launches it)", lf->addr);
		cJSON_Delete(lf->cfg);
		free(lf->addr);
		free(lf);
		return r;
	}
	h->priv = lf;
	return 0;
}

static void
log_release(struct handle *h)
{
	struct log_file *lf = h->priv;

	cJSON_Delete(lf->cfg);
	free(lf->addr);
	free(lf);
}

static void
read_put(struct log_read *w)
{
	if (parked_release(&w->p))
		free(w);
}

static void log_cb(void *arg, int err, const cJSON *msg, int final);

static int
ask(struct log_read *w)
{
	cJSON *req = rh_proto_new(0, "log");
	int r;

	cJSON_AddNumberToObject(req, "offset", (double)w->off);
	cJSON_AddNumberToObject(req, "length", (double)w->size);
	cJSON_AddNumberToObject(req, "wait_ms", w->nonblock ? 0 : LOG_WAIT_MS);
	parked_hold(&w->p);     /* the agent's answer holds one */
	r = rh_rpc_call(w->rpc, req, log_cb, w);
	cJSON_Delete(req);
	if (r < 0)
		read_put(w);
	return r;
}

static void
log_cb(void *arg, int err, const cJSON *msg, int final)
{
	struct log_read *w = arg;
	struct rh_buf data = { 0 };
	int r;

	if (!final)
		return;
	if (err == 0)
		rh_json_get_bytes(msg, "data", &data);
	/* nothing yet, and still wanted: ask again (a long poll) */
	if (err == 0 && data.len == 0 && !w->nonblock &&
	    !parked_answered(&w->p)) {
		if ((r = ask(w)) == 0) {
			rh_buf_free(&data);
			read_put(w);
			return;
		}
		err = r;
	}
	if (parked_claim(&w->p)) {
		fuse_req_interrupt_func(w->req, NULL, NULL);
		if (err < 0)
			fuse_reply_err(w->req, -err);
		else if (data.len == 0)
			fuse_reply_err(w->req, EAGAIN);
		else
			fuse_reply_buf(w->req, data.data, data.len);
	}
	rh_buf_free(&data);
	read_put(w);
}

static void
log_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct log_file *lf = h->priv;
	struct log_read *w;
	struct rh_rpc *rpc;
	struct rh_err err;
	int r;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((r = res_agent(h->fs, lf->addr, lf->cfg, &rpc, &err)) < 0) {
		rh_warn("%s/log: %s", lf->addr, err.msg);
		fuse_reply_err(req, -r);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	parked_init(&w->p);     /* this function's */
	w->req = req;
	w->rpc = rpc;
	w->off = (uint64_t)off;
	w->size = size ? size : 1;
	w->nonblock = (h->flags & O_NONBLOCK) != 0;
	fuse_req_interrupt_func(req, parked_interrupted, w);
	if ((r = ask(w)) < 0 && parked_claim(&w->p)) {
		fuse_req_interrupt_func(req, NULL, NULL);
		fuse_reply_err(req, -r);
	}
	read_put(w);
}

const struct fs_kind kind_cluster_log = {
	.truncate = stream_truncate,
	.name = "log",
	.mode = 0444,
	.nonseekable = 1,
	.open = log_open,
	.read = log_read,
	.release = log_release,
};

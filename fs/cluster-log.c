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
#include "requests.h"
#include "rhfs.h"

/* Each long poll; the agent caps it at a minute. */
#define LOG_WAIT_MS 30000

struct log_file {
	char *addr;
	cJSON *cfg;
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
	if (!cluster_reachable(fs, lf->addr, lf->cfg)) {
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
log_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct log_file *lf = h->priv;
	struct rh_rpc *rpc;
	struct rh_err err;
	int r, nonblock = (h->flags & O_NONBLOCK) != 0;
	struct rh_log_req q;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((r = res_agent(h->fs, lf->addr, lf->cfg, &rpc, &err)) < 0) {
		rh_warn("%s/log: %s", lf->addr, err.msg);
		fuse_reply_err(req, -r);
		return;
	}
	q.offset = (long long)off;
	q.length = (long long)(size ? size : 1);
	q.wait_ms = nonblock ? 0 : LOG_WAIT_MS;
	parked_poll(req, rpc, rh_log_req_encode(&q), !nonblock);
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

/* cluster-ctl.c - a cluster's ctl: one command a line.
 *   up           connect to the agent, starting it (the bridge starts it)
 *   down         stop the agent (its running calls end with it)
 *   restart      down, then up
 *   autostop N   record autostop_mins N in the cluster's config.json and
 *                tell the agent, which stops itself after N idle minutes
 *                (-1: never; 0: as soon as it is idle)
 *   stop         an on-demand cluster only: its instances stopped
 * On a Slurm cluster (cluster-slurm.c) up submits its allocation, down
 * cancels it, restart is both, autostop cancels it after N idle minutes.
 * On an on-demand cluster, SkyPilot runs first (cluster-ondemand.c): up
 * launches or starts it, down tears it down (`sky down`, instead of the
 * agent's stop), autostop is also `sky autostop` (a builtin's config is
 * not changed), restart is the agent's once it is up.
 * Every line of a write is checked before any runs: a bad line fails the
 * write with EINVAL and changes nothing. Reading the same open file gives
 * one line per command run through it: "up: ...", or "error: ..." naming
 * the cluster and the cause.
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "proto.h"
#include "rns.h"
#include "link.h"
#include "rhfs.h"

#define AUTOSTOP_MAX (60 * 24 * 365)    /* minutes; as the agent's */

enum verb { V_UP, V_DOWN, V_RESTART, V_AUTOSTOP, V_STOP };

static const char *const verb_names[] = {
	[V_UP] = "up", [V_DOWN] = "down", [V_RESTART] = "restart",
	[V_AUTOSTOP] = "autostop", [V_STOP] = "stop",
};

struct cmd {
	enum verb verb;
	int mins;
};

struct ctl {
	pthread_mutex_t lock;
	struct rh_buf out;      /* results, for reads of this open */
	size_t rpos;            /* read so far: writes move the file's
	                         * offset, which a stream cannot share */
};

static int
ctl_open(struct fs *fs, struct handle *h, struct rh_err *err)
{
	struct ctl *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	h->priv = c;
	return 0;
}

static void
ctl_release(struct handle *h)
{
	struct ctl *c = h->priv;

	rh_buf_free(&c->out);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int
parse_line(const char *addr, const char *line, size_t lineno,
           struct cmd *cmd, struct rh_err *err)
{
	char word[16], *end;
	const char *arg;
	size_t n;
	long v;

	n = strcspn(line, " \t");
	arg = line + n + strspn(line + n, " \t");
	if (n >= sizeof(word))
		goto bad;
	memcpy(word, line, n);
	word[n] = '\0';
	if (strcmp(word, "autostop") == 0) {
		errno = 0;
		v = strtol(arg, &end, 10);
		if (*arg == '\0' || end == arg || *end != '\0' || errno != 0 ||
		    v < -1 || v > AUTOSTOP_MAX)
			return rh_err_set(err, EINVAL, "%s/ctl: line %zu: "
			                  "autostop takes a number of minutes "
			                  "from -1 (never) to %d", addr, lineno,
			                  AUTOSTOP_MAX);
		cmd->verb = V_AUTOSTOP;
		cmd->mins = (int)v;
		return 0;
	}
	if (*arg != '\0')
		goto bad;
	if (strcmp(word, "up") == 0)
		cmd->verb = V_UP;
	else if (strcmp(word, "down") == 0)
		cmd->verb = V_DOWN;
	else if (strcmp(word, "restart") == 0)
		cmd->verb = V_RESTART;
	else if (strcmp(word, "stop") == 0)
		cmd->verb = V_STOP;
	else
		goto bad;
	return 0;
bad:
	return rh_err_set(err, EINVAL, "%s/ctl: line %zu: '%.64s' is not a "
	                  "command (up, down, restart, stop, autostop MINUTES)", addr,
	                  lineno, line);
}

/* All lines, or none. */
static int
parse(const char *addr, const char *data, size_t size, struct cmd **out,
      size_t *n, struct rh_err *err)
{
	const char *p = data, *end = data + size, *nl;
	size_t lineno = 0, len;
	char *line;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (memchr(data, '\0', size) != NULL)
		return rh_err_set(err, EINVAL, "%s/ctl: a command cannot hold "
		                  "a NUL byte", addr);
	for (; r == 0 && p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		lineno++;
		while (p < nl && strchr(" \t\r", *p))
			p++;
		len = (size_t)(nl - p);
		while (len > 0 && strchr(" \t\r", p[len - 1]))
			len--;
		if (len == 0)
			continue;
		line = xstrndup(p, len);
		*out = xrealloc(*out, (*n + 1) * sizeof(**out));
		r = parse_line(addr, line, lineno, &(*out)[*n], err);
		(*n)++;
		free(line);
	}
	if (r < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

static int
timeout_ms(struct fs *fs)
{
	return (int)(fs->opts.connect_timeout * 1000);
}

/* Its agent is there to reach: a BYO cluster, or an on-demand one up. */
static int
need_node(struct fs *fs, const char *addr, const cJSON *cfg,
          const char *verb, struct rh_err *err)
{
	if (cluster_reachable(fs, addr, cfg))
		return 0;
	return rh_err_set(err, ENOTCONN, "%s: %s: the on-demand cluster is "
	                  "not up ('up' launches it)", addr, verb);
}

/* Tell the agent its autostop; the reply's minutes in *now. */
static int
tell_autostop(struct fs *fs, const char *addr, struct rh_rpc *rpc, int mins,
              struct rh_err *err)
{
	cJSON *req = rh_proto_new(0, "autostop"), *reply = NULL;
	int r;

	cJSON_AddNumberToObject(req, "minutes", mins);
	r = rh_rpc_call_wait(rpc, req, timeout_ms(fs), &reply);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	if (r < 0)
		return rh_err_set(err, -r, "%s: the agent did not take "
		                  "autostop %d: %s", addr, mins, strerror(-r));
	return 0;
}

static int
do_up(struct fs *fs, const char *addr, const cJSON *cfg, struct rh_buf *out,
      struct rh_err *err)
{
	const cJSON *mins = cJSON_GetObjectItemCaseSensitive(cfg,
	                                                     "autostop_mins");
	const cJSON *pid, *version;
	struct rh_rpc *rpc;
	cJSON *req, *reply = NULL;
	int r;

	if ((r = need_node(fs, addr, cfg, "up", err)) < 0 ||
	    (r = res_agent(fs, addr, cfg, &rpc, err)) < 0)
		return r;
	/* the config's autostop holds for an agent started afresh */
	if (cJSON_IsNumber(mins) &&
	    (r = tell_autostop(fs, addr, rpc, mins->valueint, err)) < 0)
		return r;
	req = rh_proto_new(0, "status");
	r = rh_rpc_call_wait(rpc, req, timeout_ms(fs), &reply);
	cJSON_Delete(req);
	if (r < 0)
		return rh_err_set(err, -r, "%s: the agent did not answer: %s",
		                  addr, strerror(-r));
	pid = cJSON_GetObjectItemCaseSensitive(reply, "pid");
	version = cJSON_GetObjectItemCaseSensitive(reply, "version");
	rh_buf_printf(out, "up: the agent runs (pid %d, version %s)\n",
	              cJSON_IsNumber(pid) ? pid->valueint : -1,
	              cJSON_IsString(version) ? version->valuestring : "?");
	cJSON_Delete(reply);
	rh_info("%s: up", addr);
	return 0;
}

/* Stop the agent and wait (bounded) until its stream has ended, so that
 * an up right after starts a new one. An agent not running is started
 * by the connection, then stopped: down either way. */
static int
do_down(struct fs *fs, const char *addr, const cJSON *cfg,
        struct rh_buf *out, struct rh_err *err)
{
	struct timespec t0;
	struct rh_rpc *rpc;
	cJSON *req, *reply = NULL;
	int r;

	if ((r = need_node(fs, addr, cfg, "down", err)) < 0 ||
	    (r = res_agent(fs, addr, cfg, &rpc, err)) < 0)
		return r;
	req = rh_proto_new(0, "stop");
	r = rh_rpc_call_wait(rpc, req, timeout_ms(fs), &reply);
	cJSON_Delete(req);
	cJSON_Delete(reply);
	if (r < 0 && r != -ENOTCONN)
		return rh_err_set(err, -r, "%s: the agent did not take "
		                  "'stop': %s", addr, strerror(-r));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (rh_rpc_alive(rpc)) {
		if (rh_ms_since(&t0) > timeout_ms(fs))
			return rh_err_set(err, ETIMEDOUT, "%s: the agent took "
			                  "'stop' but did not end within %d ms",
			                  addr, timeout_ms(fs));
		usleep(20000);
	}
	rh_buf_printf(out, "down: the agent stopped\n");
	rh_info("%s: down", addr);
	return 0;
}

/* autostop_mins in the stored config: compare-and-swap on its version, so
 * that an edit made meanwhile is never overwritten. */
static int
store_autostop(struct fs *fs, struct node *dir, const char *addr, int mins,
               struct rh_err *err)
{
	struct rh_buf b = { 0 };
	struct node *cfgnode;
	uint64_t version = 0;
	cJSON *cfg, *v;
	char *path, *s;
	int r;

	path = node_dir_path(fs, dir);
	if (dir->store->readonly) {
		free(path);
		return rh_err_set(err, EROFS, "%s: a builtin cluster; its "
		                  "config cannot change (copy it into ~)", addr);
	}
	r = dir->store->ops->get(dir->store, path, &b, &version);
	if (r < 0 || (cfg = rh_json_parse(b.data, b.len, addr, NULL)) == NULL) {
		rh_buf_free(&b);
		free(path);
		return rh_err_set(err, r < 0 ? -r : EIO, "%s: cannot read its "
		                  "config", addr);
	}
	rh_buf_free(&b);
	v = cJSON_CreateNumber(mins);
	if (cJSON_GetObjectItemCaseSensitive(cfg, "autostop_mins") != NULL)
		cJSON_ReplaceItemInObjectCaseSensitive(cfg, "autostop_mins", v);
	else
		cJSON_AddItemToObject(cfg, "autostop_mins", v);
	s = rh_json_pretty(cfg);
	cJSON_Delete(cfg);
	r = rh_store_put_config(dir->store, path, s, strlen(s),
	                        version ? version : 0, err);
	free(s);
	free(path);
	if (r < 0)
		return r;
	/* its size and content changed under the kernel's caches */
	pthread_mutex_lock(&fs->lock);
	cfgnode = node_lookup(fs, dir, "config.json");
	pthread_mutex_unlock(&fs->lock);
	if (cfgnode != NULL)
		notify_inode(fs, cfgnode->ino);
	return 0;
}

static int
do_autostop(struct fs *fs, struct node *dir, const char *addr,
            const cJSON *cfg, int mins, struct rh_buf *out,
            struct rh_err *err)
{
	const struct fs_cluster *kind = cluster_kind(addr, cfg);
	struct rh_rpc *rpc;
	int r;

	/* a builtin on-demand cluster's autostop is SkyPilot's alone */
	if (!(kind->autostop_builtin && dir->store->readonly)) {
		if ((r = store_autostop(fs, dir, addr, mins, err)) < 0)
			return r;
		rh_info("%s: autostop_mins %d recorded", addr, mins);
	}
	/* a Slurm cluster's watcher took it (its ctl) */
	if (!kind->autostop_own && cluster_reachable(fs, addr, cfg)) {
		if ((r = res_agent(fs, addr, cfg, &rpc, err)) < 0 ||
		    (r = tell_autostop(fs, addr, rpc, mins, err)) < 0) {
			rh_warn("%s: autostop_mins %d is in its config, but the "
			        "agent was not told", addr, mins);
			return r;
		}
	}
	if (mins < 0)
		rh_buf_printf(out, "autostop: never\n");
	else
		rh_buf_printf(out, "autostop: after %d idle minutes\n", mins);
	return 0;
}

static void
ctl_write(fuse_req_t req, struct handle *h, const char *data, size_t size,
          off_t off)
{
	struct ctl *c = h->priv;
	const struct fs_cluster *kind;
	struct rh_buf out = { 0 };
	struct rh_err err;
	struct cmd *cmds;
	cJSON *cfg;
	char *addr;
	size_t n, i;
	int r;

	if ((r = res_load(h->fs, h->node->parent, &addr, &cfg, &err)) < 0) {
		rh_warn("refused: %s", err.msg);
		fuse_reply_err(req, -r);
		return;
	}
	if ((r = parse(addr, data, size, &cmds, &n, &err)) < 0) {
		rh_warn("refused: %s", err.msg);
		goto out;
	}
	kind = cluster_kind(addr, cfg);
	for (i = 0; r == 0 && i < n; i++) {
		r = kind->ctl == NULL ? 0 :
		    kind->ctl(h->fs, addr, cfg, verb_names[cmds[i].verb],
		              cmds[i].mins, req, &out, &err);
		if (r != 0) {
			r = r > 0 ? 0 : r;      /* done by SkyPilot or Slurm */
			continue;
		}
		switch (cmds[i].verb) {
		case V_UP:
			r = do_up(h->fs, addr, cfg, &out, &err);
			break;
		case V_DOWN:
			r = do_down(h->fs, addr, cfg, &out, &err);
			break;
		case V_RESTART:
			if ((r = do_down(h->fs, addr, cfg, &out, &err)) == 0)
				r = do_up(h->fs, addr, cfg, &out, &err);
			break;
		case V_AUTOSTOP:
			r = do_autostop(h->fs, h->node->parent, addr, cfg,
			                cmds[i].mins, &out, &err);
			break;
		case V_STOP:    /* the kind's alone */
			break;
		}
	}
	if (r < 0) {
		rh_warn("%s", err.msg);
		rh_buf_printf(&out, "error: %s\n", err.msg);
	}
	free(cmds);
	pthread_mutex_lock(&c->lock);
	rh_buf_append(&c->out, out.data, out.len);
	pthread_mutex_unlock(&c->lock);
	rh_buf_free(&out);
out:
	cJSON_Delete(cfg);
	free(addr);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

static void
ctl_read(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct ctl *c = h->priv;
	size_t len = 0;
	char *copy = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->rpos < c->out.len) {
		len = c->out.len - c->rpos < size ? c->out.len - c->rpos : size;
		copy = xmalloc(len);
		memcpy(copy, c->out.data + c->rpos, len);
		c->rpos += len;
	}
	pthread_mutex_unlock(&c->lock);
	fuse_reply_buf(req, copy, len);
	free(copy);
}

const struct fs_kind kind_cluster_ctl = {
	.truncate = stream_truncate,
	.name = "ctl",
	.mode = 0644,
	.nonseekable = 1,
	.open = ctl_open,
	.read = ctl_read,
	.write = ctl_write,
	.release = ctl_release,
};

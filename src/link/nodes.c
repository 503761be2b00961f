/* nodes.c - a BYO cluster of several ips: the first is the head, whose
 * agent rhfs talks to; every other node runs `rhagent worker`, which
 * joins the head and runs the calls it hands out. Here the head is asked
 * to listen for workers (`workers`), its key file is copied over SFTP to
 * each node whose worker is not up (mode 0600), and the worker is started
 * there over SSH, detached (setsid), after the node got this build's
 * rhagent. The node i of ips is named "node<i>" (the head "node0"): the
 * name, not the host, identifies a node, since nodes may share a home.
 * An on-demand cluster of several nodes comes here as the BYO cluster
 * SkyPilot records (kind.c's rh_cluster_reached): each node with the
 * user, key and port SkyPilot has for it (node_ssh_creds), checked in the
 * known hosts file rhfs keeps for the cluster.
 * While a link lives, a thread looks at its nodes (the head's status)
 * and starts again those not up, with backoff (rh_rejoin_*). */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pthread.h>
#include <time.h>

#include <openssl/crypto.h>

#include "base.h"
#include "proto.h"
#include "link.h"

#define NODE_AGENT ".rh/bin/rhagent"
/* How long a start waits for the workers it started to join. */
#define JOIN_WAIT_MS 10000

int
rh_nodes_is(const cJSON *cfg)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");

	return cJSON_GetArraySize(ips) > 1 && !rh_slurm_is(cfg) &&
	       !rh_sky_is_ondemand(cfg);
}

char *
rh_node_name(int i)
{
	return xasprintf("node%d", i);
}

cJSON *
rh_node_cfg(const cJSON *cfg, int i)
{
	const cJSON *ip = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(cfg, "ips"), i);
	const cJSON *creds = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(cfg, "node_ssh_creds"), i);
	cJSON *one = cJSON_Duplicate(cfg, 1);

	if (cJSON_IsString(ip))
		cJSON_ReplaceItemInObjectCaseSensitive(one, "ips",
			cJSON_CreateStringArray(
				(const char *const *)&ip->valuestring, 1));
	if (cJSON_IsObject(creds)) {
		cJSON_DeleteItemFromObjectCaseSensitive(one, "ssh_creds");
		cJSON_AddItemToObject(one, "ssh_creds",
		                      cJSON_Duplicate(creds, 1));
	}
	cJSON_DeleteItemFromObjectCaseSensitive(one, "node_ssh_creds");
	return one;
}

/* The head's node entry named name in a status or workers reply. */
const cJSON *
rh_node_find(const cJSON *reply, const char *name)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, cJSON_GetObjectItemCaseSensitive(reply,
	                                                       "nodes")) {
		const char *nn = rh_json_str(n, "name");

		if (nn != NULL && strcmp(nn, name) == 0)
			return n;
	}
	return NULL;
}

static int
node_up(const cJSON *reply, const char *name)
{
	const char *st = rh_json_str(rh_node_find(reply, name), "state");

	return st != NULL && strcmp(st, "up") == 0;
}

static int
ask(struct rh_rpc *rpc, cJSON *req, int timeout_ms, cJSON **reply,
    const char *addr, struct rh_err *err)
{
	int r = rh_rpc_call_wait(rpc, req, timeout_ms, reply);

	cJSON_Delete(req);
	if (r < 0)
		return rh_err_set(err, -r, "%s: the head's agent: %s", addr,
		                  strerror(-r));
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(*reply, "ok"))) {
		r = rh_err_set(err, EIO, "%s: the head refused to listen for "
		               "workers: %s", addr, rh_json_str(*reply,
		               "message") ? rh_json_str(*reply, "message") :
		               "no reason given");
		cJSON_Delete(*reply);
		*reply = NULL;
	}
	return r;
}

/* Start the worker of node i (name, at ip): its rhagent, the key, the
 * worker. */
static int
start_one(struct rh_links *ls, const char *addr, const cJSON *cfg, int i,
          const char *ip, const char *name, const char *head, int port,
          const struct rh_buf *key, struct rh_err *err)
{
	cJSON *one = rh_node_cfg(cfg, i);
	struct rh_sftp *sftp = NULL;
	struct rh_ssh *ssh = NULL;
	struct rh_buf out = { 0 }, errout = { 0 };
	char *dir = xasprintf(".rh/nodes/%s", name), *kpath, *cmd, *where;
	int r, made, status = -1;

	kpath = xasprintf("%s/worker.key", dir);
	where = xasprintf("%s#%s", addr, ip);
	if ((r = rh_links_ssh(ls, where, one, &ssh, err)) < 0 ||
	    (r = rh_links_bootstrap(ls, ssh, where, err)) < 0 ||
	    (r = rh_sftp_open(ssh, &sftp, err)) < 0)
		goto out;
	if ((r = rh_sftp_mkdir(sftp, ".rh", &made, err)) < 0 ||
	    (r = rh_sftp_mkdir(sftp, ".rh/nodes", &made, err)) < 0 ||
	    (r = rh_sftp_mkdir(sftp, dir, &made, err)) < 0)
		goto out;
	rh_sftp_unlink(sftp, kpath, NULL);
	if ((r = rh_sftp_put(sftp, kpath, key->data, key->len, 0600,
	                     err)) < 0)
		goto out;
	/* detached: it outlives the channel; its log is in its directory */
	cmd = xasprintf("setsid -f " NODE_AGENT " worker --head %s:%d "
	                "--key-file %s --node %s </dev/null >/dev/null 2>&1",
	                head, port, kpath, name);
	r = rh_ssh_exec(ssh, cmd, NULL, 0, &out, &errout, &status, err);
	free(cmd);
	if (r == 0 && status != 0)
		r = rh_err_set(err, EIO, "%s: cannot start its worker agent "
		               "(exit %d)", where, status);
out:
	if (r < 0)
		rh_warn("%s: node %s: %s", addr, name, err->msg);
	else
		rh_info("%s: node %s (%s): worker agent started", addr, name,
		        ip);
	rh_sftp_close(sftp);
	if (ssh != NULL)
		rh_ssh_close(ssh);
	rh_buf_free(&out);
	rh_buf_free(&errout);
	cJSON_Delete(one);
	free(where);
	free(kpath);
	free(dir);
	return r;
}

int
rh_nodes_start(struct rh_links *ls, const char *addr, const cJSON *cfg,
               struct rh_rpc *rpc, int timeout_ms, cJSON **errors,
               struct rh_err *err)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips"), *ip;
	const char *head;
	struct rh_sftp *sftp = NULL;
	struct rh_ssh *ssh = NULL;
	struct rh_buf key = { 0 };
	struct rh_err e;
	cJSON *req, *reply = NULL;
	long waited = 0;
	char *name;
	int r, i, started = 0, port;

	*errors = NULL;
	if (!rh_nodes_is(cfg) || !cJSON_IsString(ips->child))
		return 0;
	head = ips->child->valuestring;
	req = rh_proto_new(0, "workers");
	cJSON_AddTrueToObject(req, "listen");
	cJSON_AddStringToObject(req, "host", head);
	cJSON_AddStringToObject(req, "name", "node0");
	if ((r = ask(rpc, req, timeout_ms, &reply, addr, err)) < 0)
		return r;
	ip = cJSON_GetObjectItemCaseSensitive(reply, "port");
	if (!cJSON_IsNumber(ip) || ip->valuedouble < 1 ||
	    ip->valuedouble > 65535 || rh_json_str(reply, "key_file") == NULL) {
		cJSON_Delete(reply);
		return rh_err_set(err, EPROTO, "%s: the head's agent did not "
		                  "say where it listens for workers", addr);
	}
	port = (int)ip->valuedouble;
	i = 0;
	cJSON_ArrayForEach(ip, ips) {
		if (i++ == 0 || !cJSON_IsString(ip))
			continue;
		name = rh_node_name(i - 1);
		if (node_up(reply, name)) {
			free(name);
			continue;
		}
		/* the key, read from the head once */
		if (key.len == 0 &&
		    ((r = rh_links_ssh(ls, addr, cfg, &ssh, &e)) < 0 ||
		     (r = rh_sftp_open(ssh, &sftp, &e)) < 0 ||
		     (r = rh_sftp_get(sftp, rh_json_str(reply, "key_file"),
		                      4096, &key, &e)) < 0)) {
			rh_err_set(err, -r, "%s: cannot read the head's key "
			           "for its workers: %s", addr, e.msg);
			free(name);
			break;
		}
		if (start_one(ls, addr, cfg, i - 1, ip->valuestring, name, head,
		              port, &key, &e) < 0) {
			if (*errors == NULL)
				*errors = cJSON_CreateObject();
			cJSON_AddStringToObject(*errors, name, e.msg);
		} else {
			started++;
		}
		free(name);
	}
	if (key.data != NULL)
		OPENSSL_cleanse(key.data, key.len);
	rh_buf_free(&key);
	rh_sftp_close(sftp);
	if (ssh != NULL)
		rh_ssh_close(ssh);
	/* the workers started join within a second or so: wait for them,
	 * so that what follows sees them (bounded) */
	while (r == 0 && started > 0 && waited < JOIN_WAIT_MS) {
		int all = 1;

		cJSON_Delete(reply);
		reply = NULL;
		req = rh_proto_new(0, "status");
		if (rh_rpc_call_wait(rpc, req, timeout_ms, &reply) < 0) {
			cJSON_Delete(req);
			break;
		}
		cJSON_Delete(req);
		i = 0;
		cJSON_ArrayForEach(ip, ips) {
			if (i++ == 0)
				continue;
			name = rh_node_name(i - 1);
			if (!node_up(reply, name) &&
			    !cJSON_HasObjectItem(*errors, name))
				all = 0;
			free(name);
		}
		if (all)
			break;
		usleep(100000);
		waited += 100;
	}
	cJSON_Delete(reply);
	return r;
}

/* ---- the nodes of live links, on a timer ---- */

/* How often the nodes of a link are looked at while all are up; a node
 * not up is tried again after REJOIN_MIN_MS, then twice as long each
 * time it still is not, up to REJOIN_MAX_MS. */
#define REJOIN_CHECK_MS 5000
#define REJOIN_MIN_MS 2000
#define REJOIN_MAX_MS 60000

struct rejoin_link {
	char *addr;
	cJSON *cfg;
	struct rh_rpc *rpc;     /* valid until rh_links_free */
	long wait_ms;           /* the backoff */
	struct timespec due;    /* CLOCK_MONOTONIC */
	int busy;               /* the thread looks at it now */
	struct rejoin_link *next;
};

struct rh_rejoin {
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* CLOCK_MONOTONIC */
	pthread_t thread;
	int started, stop;
	struct rh_links *ls;
	int timeout_ms;
	struct rejoin_link *links;
};

static void
due_in(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void
rejoin_link_free(struct rejoin_link *l)
{
	free(l->addr);
	cJSON_Delete(l->cfg);
	free(l);
}

/* One look at a link's nodes: 1 all up (or started now), 0 some could
 * not be started, -1 the link is gone. */
static int
rejoin_one(struct rh_rejoin *rj, const char *addr, const cJSON *cfg,
           struct rh_rpc *rpc)
{
	const cJSON *ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips"), *ip;
	cJSON *req, *reply = NULL, *errors = NULL;
	struct rh_err err;
	char *name;
	int i = 0, down = 0, r;

	if (!rh_rpc_alive(rpc))
		return -1;
	req = rh_proto_new(0, "status");
	r = rh_rpc_call_wait(rpc, req, rj->timeout_ms, &reply);
	cJSON_Delete(req);
	if (r < 0) {
		cJSON_Delete(reply);
		return rh_rpc_alive(rpc) ? 0 : -1;
	}
	cJSON_ArrayForEach(ip, ips) {
		if (i++ == 0)
			continue;
		name = rh_node_name(i - 1);
		down += !node_up(reply, name);
		free(name);
	}
	cJSON_Delete(reply);
	if (down == 0)
		return 1;
	rh_info("%s: %d node%s not up: starting %s again", addr, down,
	        down > 1 ? "s" : "", down > 1 ? "their workers" :
	        "its worker");
	if (rh_nodes_start(rj->ls, addr, cfg, rpc, rj->timeout_ms, &errors,
	                   &err) < 0) {
		rh_warn("%s", err.msg);
		r = 0;
	} else {
		r = errors == NULL;
	}
	cJSON_Delete(errors);
	return r;
}

static void *
rejoin_main(void *arg)
{
	struct rh_rejoin *rj = arg;
	struct rejoin_link *l, *next, **pl;
	struct timespec now;
	struct rh_rpc *rpc;
	cJSON *cfg;
	char *addr;
	int r;

	pthread_mutex_lock(&rj->lock);
	while (!rj->stop) {
		next = NULL;
		for (l = rj->links; l != NULL; l = l->next)
			if (!l->busy && (next == NULL || before(&l->due,
			                                         &next->due)))
				next = l;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (next == NULL) {
			pthread_cond_wait(&rj->cond, &rj->lock);
			continue;
		}
		if (before(&now, &next->due)) {
			pthread_cond_timedwait(&rj->cond, &rj->lock,
			                       &next->due);
			continue;
		}
		/* the look, without the lock: a start takes seconds */
		next->busy = 1;
		addr = xstrdup(next->addr);
		cfg = cJSON_Duplicate(next->cfg, 1);
		rpc = next->rpc;
		pthread_mutex_unlock(&rj->lock);
		r = rejoin_one(rj, addr, cfg, rpc);
		pthread_mutex_lock(&rj->lock);
		for (pl = &rj->links; (l = *pl) != NULL; pl = &l->next)
			if (strcmp(l->addr, addr) == 0)
				break;
		if (l != NULL) {
			l->busy = 0;
			if (l->rpc != rpc) {
				/* replaced meanwhile: its own timer */
			} else if (r < 0) {
				/* the link is gone: a new one watches again */
				*pl = l->next;
				rejoin_link_free(l);
			} else if (r > 0) {
				l->wait_ms = REJOIN_MIN_MS;
				due_in(&l->due, REJOIN_CHECK_MS);
			} else {
				due_in(&l->due, l->wait_ms);
				l->wait_ms = l->wait_ms * 2 > REJOIN_MAX_MS ?
				             REJOIN_MAX_MS : l->wait_ms * 2;
			}
		}
		free(addr);
		cJSON_Delete(cfg);
	}
	pthread_mutex_unlock(&rj->lock);
	return NULL;
}

struct rh_rejoin *
rh_rejoin_new(struct rh_links *ls, int timeout_ms)
{
	struct rh_rejoin *rj = xcalloc(1, sizeof(*rj));
	pthread_condattr_t ca;

	pthread_mutex_init(&rj->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&rj->cond, &ca);
	pthread_condattr_destroy(&ca);
	rj->ls = ls;
	rj->timeout_ms = timeout_ms;
	return rj;
}

void
rh_rejoin_watch(struct rh_rejoin *rj, const char *addr, const cJSON *cfg,
                struct rh_rpc *rpc)
{
	struct rejoin_link *l;

	pthread_mutex_lock(&rj->lock);
	for (l = rj->links; l != NULL; l = l->next)
		if (strcmp(l->addr, addr) == 0)
			break;
	if (l == NULL) {
		l = xcalloc(1, sizeof(*l));
		l->addr = xstrdup(addr);
		l->next = rj->links;
		rj->links = l;
	}
	cJSON_Delete(l->cfg);
	l->cfg = cJSON_Duplicate(cfg, 1);
	l->rpc = rpc;
	l->wait_ms = REJOIN_MIN_MS;
	due_in(&l->due, REJOIN_CHECK_MS);
	if (!rj->started) {
		if (pthread_create(&rj->thread, NULL, rejoin_main, rj) == 0)
			rj->started = 1;
		else
			rh_warn("%s: cannot start the thread that restarts "
			        "nodes", addr);
	}
	pthread_cond_signal(&rj->cond);
	pthread_mutex_unlock(&rj->lock);
}

void
rh_rejoin_free(struct rh_rejoin *rj)
{
	struct rejoin_link *l;

	if (rj == NULL)
		return;
	pthread_mutex_lock(&rj->lock);
	rj->stop = 1;
	pthread_cond_signal(&rj->cond);
	pthread_mutex_unlock(&rj->lock);
	if (rj->started)
		pthread_join(rj->thread, NULL);
	while ((l = rj->links) != NULL) {
		rj->links = l->next;
		rejoin_link_free(l);
	}
	pthread_cond_destroy(&rj->cond);
	pthread_mutex_destroy(&rj->lock);
	free(rj);
}

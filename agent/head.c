/*
 * head.c - the head of a cluster of several nodes. On a `workers` request
 * the agent opens a TCP listener and writes a random key to a file of its
 * directory (mode 0600); a worker agent on another node (worker.c),
 * given that key file, connects and proves it holds the key before
 * anything else: the head sends a fresh nonce, the worker answers with an
 * HMAC-SHA256 over both nonces and its node name, and the head answers
 * with its own HMAC, so that each side knows the other has the key. A
 * connection that does not prove itself within HANDSHAKE_MS, or proves
 * wrong, is closed and logged (without the key).
 *
 * Once joined, the head is a client of the worker's agent on that
 * connection, speaking the ordinary protocol: call.c's scheduler hands a
 * call to a node with a free slot (head_pick, head_send_call), the node
 * runs it as any agent does and its reply ends the head's call. The record
 * is kept on the head (with the node's name); `output` of a call that ran
 * on a node is relayed to that node. A node whose connection breaks or
 * that stops answering fails the calls it held ("node NAME lost: ...")
 * and stays listed as lost until a worker of that name joins again.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base.h"
#include "proto.h"
#include "callrecord.h"
#include "agent.h"

#define KEY_FILE "worker.key"
#define KEY_BYTES 32
#define NONCE_BYTES 32
/* A connection must prove itself within this. */
#define HANDSHAKE_MS 10000
/* Connections not yet proven, at most. */
#define MAX_JOINING 64
/* A handshake frame is small. */
#define HANDSHAKE_FRAME_MAX 4096
/* A node is asked its status this often; one that has not answered for
 * LOST_MS is lost. */
#define PING_MS 2000
#define LOST_MS 20000
#define NODE_NAME_MAX 64

enum pend_kind { P_CALL, P_PROXY, P_STATUS, P_IGNORE };

/* A request sent to a node, waiting for its reply. */
struct pend {
	uint64_t id;
	enum pend_kind kind;
	char call[32];          /* P_CALL: the head's call */
	struct conn *client;    /* P_PROXY: to relay the reply to; NULL: */
	uint64_t client_id;     /* it has gone */
	struct pend *next;
};

enum node_state { N_JOINING, N_UP, N_LOST };

struct node {
	char name[NODE_NAME_MAX + 1];
	char addr[INET6_ADDRSTRLEN + 8];
	enum node_state state;
	int fd;
	struct rh_proto_dec dec;
	struct rh_buf out;
	size_t out_off;
	char nonce[2 * NONCE_BYTES + 1];        /* the head's, in hex */
	struct timespec deadline;       /* joining: proof due by */
	unsigned slots, inflight;
	uint64_t ncalls;                /* calls handed to it */
	cJSON *status;                  /* its last status reply */
	long pid;                       /* its agent's, as it joined */
	char version[32];
	struct timespec status_sent;    /* 0: none pending */
	struct timespec status_ok;      /* last answer */
	struct timespec next_ping;
	struct timespec joined_at, lost_at;     /* CLOCK_REALTIME */
	char lost[256];
	uint64_t next_id;
	struct pend *pend;
	/* a worker that said it leaves (a signal): no new calls */
	int leaving;
	char left[128];
	/* a worker in a Slurm job: the job and the Slurm node */
	char sjob[24];
	char snode[NODE_NAME_MAX + 1];
	struct slurm_ask *ask;  /* Slurm asked how the job ends */
	int ask_patient;        /* the ask waits for a running job too */
	int want_patient;       /* a patient one is due after this one */
	char sreason[300];      /* Slurm's end of the job, once known */
	char (*parked)[32];     /* calls that failed there, ending once */
	size_t nparked, parked_cap;     /* Slurm has said why */
	struct node *next;
};

struct head {
	int lfd;
	char host[256];
	int port;
	char *key_path;
	unsigned char key[2 * KEY_BYTES];
	size_t keylen;
	int local;              /* the head runs calls too */
	char name[NODE_NAME_MAX + 1];   /* its own node's name */
	struct node *nodes;     /* joining, up and lost */
	struct node **polled;
	size_t npolled, polled_cap;
	struct node **asked;    /* nodes whose Slurm ask is polled */
	size_t nasked, asked_cap;
};

void
head_proof(const unsigned char *key, size_t keylen, const char *what,
           const char *n1, const char *n2, const char *node, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct rh_buf b = { 0 };

	/* each part with its NUL: no two different lists read the same */
	rh_buf_append(&b, what, strlen(what) + 1);
	rh_buf_append(&b, n1, strlen(n1) + 1);
	rh_buf_append(&b, n2, strlen(n2) + 1);
	rh_buf_append(&b, node, strlen(node) + 1);
	if (HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)b.data,
	         b.len, md, &mdlen) == NULL)
		mdlen = 0;
	rh_hex(md, mdlen, hex);
	rh_buf_free(&b);
}

static int
name_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	                  "WXYZ0123456789._-");

	return n >= 1 && n <= NODE_NAME_MAX && s[n] == '\0' && s[0] != '.';
}

int
head_is(const struct agent *a, const char *name)
{
	return strcmp(name, "head") == 0 ||
	       (a->head != NULL && strcmp(name, a->head->name) == 0);
}

const char *
head_name(const struct agent *a)
{
	return a->head != NULL ? a->head->name : "head";
}

int
head_local(const struct agent *a)
{
	return a->head == NULL || a->head->local;
}

static void
node_send(struct node *n, cJSON *msg)
{
	if (n->fd >= 0 && rh_proto_encode(msg, 0, &n->out) < 0)
		rh_error("node %s: cannot encode a request", n->name);
	cJSON_Delete(msg);
}

static void
node_flush(struct agent *a, struct node *n);

static void node_lose(struct agent *a, struct node *n, const char *fmt, ...)
	RH_PRINTF(3, 4);

/* A request to n; its reply is handled as kind says. */
static struct pend *
node_request(struct node *n, cJSON *req, enum pend_kind kind)
{
	struct pend *p = xcalloc(1, sizeof(*p));

	p->id = ++n->next_id;
	p->kind = kind;
	cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
	cJSON_AddNumberToObject(req, "id", (double)p->id);
	p->next = n->pend;
	n->pend = p;
	node_send(n, req);
	return p;
}

static void
relay_error(struct agent *a, struct pend *p, int errnum, const char *msg)
{
	if (p->client == NULL)
		return;
	p->client->waiting--;
	conn_send(a, p->client, rh_proto_error(p->client_id, errnum, "%s",
	                                       msg));
}

/* ---- Slurm's word on the calls a Slurm worker failed ---- */

static int
is_parked(const struct node *n, const char *id)
{
	size_t i;

	for (i = 0; i < n->nparked; i++)
		if (strcmp(n->parked[i], id) == 0)
			return 1;
	return 0;
}

/* A parked call ends: cancelled, or failed with Slurm's word (said), or
 * else with the reason it was parked with. */
static void
parked_end(struct agent *a, struct call *c, const char *said)
{
	char fallback[sizeof(c->reason)];

	snprintf(fallback, sizeof(fallback), "%s", c->reason);
	c->on = NULL;
	if (c->cancelled)
		call_finish(a, c, CALL_CANCELLED, "cancelled");
	else
		call_finish(a, c, CALL_FAILED, said != NULL ? said : fallback);
}

/*
 * Call c, on the Slurm worker n, failed (why): it ends once Slurm has said
 * whether the job ends (with Slurm's reason then: the job's end, not the
 * worker's, is why it failed), or at once when Slurm has said so already.
 * patient: the worker is lost, and slurmctld may see its node fail only
 * later. 0: taken care of; -1: not a Slurm worker, or Slurm cannot be
 * asked: the caller ends it.
 */
static int
park(struct agent *a, struct node *n, struct call *c, const char *why,
     int patient)
{
	if (n->sjob[0] == '\0')
		return -1;
	if (n->sreason[0] != '\0') {
		snprintf(c->reason, sizeof(c->reason), "%s", why);
		parked_end(a, c, n->sreason);
		return 0;
	}
	if (n->ask == NULL) {
		if ((n->ask = slurm_ask_start(n->sjob, patient)) == NULL)
			return -1;
		n->ask_patient = patient;
	} else if (patient && !n->ask_patient) {
		n->want_patient = 1;
	}
	snprintf(c->reason, sizeof(c->reason), "%s", why);
	if (n->nparked == n->parked_cap) {
		n->parked_cap = n->parked_cap ? n->parked_cap * 2 : 8;
		n->parked = xrealloc(n->parked, n->parked_cap *
		                     sizeof(*n->parked));
	}
	snprintf(n->parked[n->nparked++], sizeof(n->parked[0]), "%s", c->id);
	rh_debug("call %s: failed on node %s (%s); asking Slurm why", c->id,
	         n->name, why);
	return 0;
}

/* Slurm's answer is in (or none will come): the parked calls end. */
static void
node_settle(struct agent *a, struct node *n)
{
	char said[300];
	struct call *c;
	int ended = 0;
	size_t i;

	if (n->ask != NULL) {
		ended = slurm_ask_reason(n->ask, n->snode, said, sizeof(said));
		slurm_ask_free(n->ask);
		n->ask = NULL;
	}
	if (!ended && n->want_patient && n->nparked > 0) {
		/* the node was lost while a quick ask ran: wait longer */
		n->want_patient = 0;
		if ((n->ask = slurm_ask_start(n->sjob, 1)) != NULL) {
			n->ask_patient = 1;
			return;
		}
	}
	n->want_patient = 0;
	if (ended) {
		snprintf(n->sreason, sizeof(n->sreason), "%s", said);
		rh_info("node %s: %s", n->name, said);
		/* its job ends: no more calls there */
		if (!n->leaving) {
			n->leaving = 1;
			snprintf(n->left, sizeof(n->left), "%.127s", said);
		}
	}
	for (i = 0; i < n->nparked; i++)
		if ((c = call_find(a, n->parked[i])) != NULL && c->on == n)
			parked_end(a, c, ended ? said : NULL);
	n->nparked = 0;
	call_schedule(a);
}

/* The worker said it leaves (it got a signal): the calls it runs stay
 * (they fail as it stops, with Slurm's reason when its job ends); those
 * handed to it that it did not take go back to the queue, first. */
static void
node_leaving(struct agent *a, struct node *n, const cJSON *m)
{
	const cJSON *ids = cJSON_GetObjectItemCaseSensitive(m, "calls"), *v;
	struct pend **pp, *p;
	struct call *c;
	int kept;

	n->leaving = 1;
	snprintf(n->left, sizeof(n->left), "%.127s", rh_json_str(m,
	         "message") ? rh_json_str(m, "message") : "it is stopping");
	rh_info("node %s leaves: %s", n->name, n->left);
	for (pp = &n->pend; (p = *pp) != NULL;) {
		kept = p->kind != P_CALL;
		cJSON_ArrayForEach(v, ids)
			if (cJSON_IsString(v) &&
			    strcmp(v->valuestring, p->call) == 0)
				kept = 1;
		if (kept) {
			pp = &p->next;
			continue;
		}
		*pp = p->next;
		c = call_find(a, p->call);
		free(p);
		if (c == NULL || c->on != n)
			continue;
		n->inflight--;
		if (c->cancelled) {
			c->on = NULL;
			call_finish(a, c, CALL_CANCELLED, "cancelled");
		} else {
			call_requeue(a, c);
		}
	}
	/* its job may be ending: Slurm's word, for the calls it runs */
	if (n->sjob[0] != '\0' && n->ask == NULL && n->sreason[0] == '\0' &&
	    (n->ask = slurm_ask_start(n->sjob, 0)) != NULL)
		n->ask_patient = 0;
	call_schedule(a);
}

/* The node is gone: close it, fail the calls it held, answer what was
 * relayed to it. */
static void
node_lose(struct agent *a, struct node *n, const char *fmt, ...)
{
	struct call *c, *next;
	struct pend *p;
	char why[200], reason[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	rh_proto_dec_free(&n->dec);
	rh_buf_free(&n->out);
	n->out_off = 0;
	if (n->state == N_JOINING) {
		rh_warn("worker connection from %s: %s", n->addr, why);
		n->state = N_LOST;
		return;
	}
	n->state = N_LOST;
	snprintf(n->lost, sizeof(n->lost), "%s", why);
	clock_gettime(CLOCK_REALTIME, &n->lost_at);
	snprintf(reason, sizeof(reason), "node %s lost: %s", n->name, why);
	rh_warn("%s", reason);
	while ((p = n->pend) != NULL) {
		n->pend = p->next;
		if (p->kind == P_PROXY)
			relay_error(a, p, EHOSTUNREACH, reason);
		free(p);
	}
	for (c = a->running.head; c != NULL; c = next) {
		next = c->next;
		if (c->on == n && !is_parked(n, c->id) &&
		    park(a, n, c, reason, 1) < 0) {
			c->on = NULL;
			call_finish(a, c, CALL_FAILED, reason);
		}
	}
	n->inflight = 0;
	memset(&n->status_sent, 0, sizeof(n->status_sent));
	call_schedule(a);
}

static void
node_free(struct node *n)
{
	struct pend *p;

	if (n->fd >= 0)
		close(n->fd);
	rh_proto_dec_free(&n->dec);
	rh_buf_free(&n->out);
	while ((p = n->pend) != NULL) {
		n->pend = p->next;
		free(p);
	}
	cJSON_Delete(n->status);
	slurm_ask_free(n->ask);
	free(n->parked);
	free(n);
}

static void
node_flush(struct agent *a, struct node *n)
{
	ssize_t w;

	while (n->fd >= 0 && n->out.len > n->out_off) {
		w = send(n->fd, n->out.data + n->out_off,
		         n->out.len - n->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			node_lose(a, n, "write: %s", strerror(errno));
			return;
		}
		n->out_off += (size_t)w;
	}
	n->out.len = n->out_off = 0;
}

/* ---- the listener and the key ---- */

static int
write_key(struct head *h, struct rh_err *err)
{
	unsigned char raw[KEY_BYTES];
	char hex[2 * KEY_BYTES + 2];
	int r;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return rh_err_set(err, EIO, "cannot make a key: RAND_bytes "
		                  "failed");
	rh_hex(raw, sizeof(raw), hex);
	OPENSSL_cleanse(raw, sizeof(raw));
	memcpy(h->key, hex, 2 * KEY_BYTES);
	h->keylen = 2 * KEY_BYTES;
	strcat(hex, "\n");
	unlink(KEY_FILE);
	r = rh_file_replace(KEY_FILE, hex, strlen(hex), 0600, 0);
	OPENSSL_cleanse(hex, sizeof(hex));
	if (r < 0)
		return rh_err_set(err, -r, "%s: %s", KEY_FILE, strerror(-r));
	return 0;
}

static int
listen_on(struct head *h, const char *host, struct rh_err *err)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, r, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, "0", &hints, &res)) != 0)
		return rh_err_set(err, EINVAL, "workers: host '%s': %s", host,
		                  gai_strerror(r));
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	            SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	                         sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
	    listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		r = errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return rh_err_set(err, r, "workers: cannot listen on %s: %s",
		                  host, strerror(r));
	}
	freeaddrinfo(res);
	h->lfd = fd;
	h->port = ntohs(ss.ss_family == AF_INET6 ?
	                ((struct sockaddr_in6 *)&ss)->sin6_port :
	                ((struct sockaddr_in *)&ss)->sin_port);
	snprintf(h->host, sizeof(h->host), "%s", host);
	return 0;
}

static cJSON *
node_json(struct agent *a, const struct node *n)
{
	cJSON *o = cJSON_CreateObject(), *v;
	static const char *const fields[] = { "pid", "version", "cpus",
	                                      "load", "uptime", NULL };
	const char *const *f;

	cJSON_AddStringToObject(o, "name", n->name);
	cJSON_AddStringToObject(o, "role", "worker");
	cJSON_AddStringToObject(o, "state", n->state == N_UP ? (n->leaving ?
	                        "leaving" : "up") : n->state == N_LOST ?
	                        "lost" : "joining");
	if (n->leaving)
		cJSON_AddStringToObject(o, "left", n->left);
	if (n->sjob[0] != '\0') {
		cJSON *sl = cJSON_AddObjectToObject(o, "slurm");

		cJSON_AddStringToObject(sl, "job", n->sjob);
		cJSON_AddStringToObject(sl, "node", n->snode);
		if (n->sreason[0] != '\0')
			cJSON_AddStringToObject(sl, "ended", n->sreason);
	}
	cJSON_AddStringToObject(o, "address", n->addr);
	cJSON_AddNumberToObject(o, "slots", n->slots);
	cJSON_AddNumberToObject(o, "running", n->inflight);
	cJSON_AddNumberToObject(o, "calls", (double)n->ncalls);
	rh_json_add_time(o, "joined_at", &n->joined_at);
	if (n->state == N_LOST) {
		cJSON_AddStringToObject(o, "reason", n->lost);
		rh_json_add_time(o, "lost_at", &n->lost_at);
	}
	if (n->status != NULL) {
		cJSON *agent = cJSON_AddObjectToObject(o, "agent");

		for (f = fields; *f != NULL; f++)
			if ((v = cJSON_GetObjectItemCaseSensitive(n->status,
			                                          *f)) != NULL)
				cJSON_AddItemToObject(agent, *f,
				                      cJSON_Duplicate(v, 1));
		if ((v = cJSON_GetObjectItemCaseSensitive(n->status, "load")))
			cJSON_AddItemToObject(o, "load", cJSON_Duplicate(v, 1));
	} else if (n->pid > 0) {
		/* not asked yet: what it said as it joined */
		cJSON *agent = cJSON_AddObjectToObject(o, "agent");

		cJSON_AddNumberToObject(agent, "pid", (double)n->pid);
		cJSON_AddStringToObject(agent, "version", n->version);
	}
	(void)a;
	return o;
}

void
head_status(struct agent *a, cJSON *into)
{
	struct head *h = a->head;
	const struct node *n;
	const struct call *c;
	unsigned local = 0;
	cJSON *arr, *me, *w;
	double load[3];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i, k;

	if (h == NULL)
		return;
	w = cJSON_AddObjectToObject(into, "workers");
	cJSON_AddStringToObject(w, "host", h->host);
	cJSON_AddNumberToObject(w, "port", h->port);
	cJSON_AddStringToObject(w, "key_file", h->key_path);
	cJSON_AddBoolToObject(w, "local", h->local);
	cJSON_AddStringToObject(w, "name", h->name);
	arr = cJSON_AddArrayToObject(into, "nodes");
	for (c = a->running.head; c != NULL; c = c->next)
		local += c->on == NULL && c->slurm == NULL;
	me = cJSON_CreateObject();
	cJSON_AddStringToObject(me, "name", h->name);
	cJSON_AddStringToObject(me, "role", "head");
	cJSON_AddStringToObject(me, "state", "up");
	cJSON_AddNumberToObject(me, "slots", h->local ? (cpus > 0 ?
	                        (double)cpus : 1) : 0);
	cJSON_AddNumberToObject(me, "running", local);
	w = cJSON_AddArrayToObject(me, "load");
	k = getloadavg(load, 3);
	for (i = 0; i < k; i++)
		cJSON_AddItemToArray(w, cJSON_CreateNumber(load[i]));
	cJSON_AddItemToArray(arr, me);
	for (n = h->nodes; n != NULL; n = n->next)
		if (n->state != N_JOINING)
			cJSON_AddItemToArray(arr, node_json(a, n));
}

/* workers: open the listener (once), say where it is. */
int
head_op_workers(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
                struct rh_err *err)
{
	const char *host = NULL, *name = NULL;
	int listen_ = 0, local = -1, rr, fresh = 0;
	struct head *h;
	cJSON *r;

	if ((rr = rh_json_get_bool(m->json, "listen", &listen_, err)) < 0 ||
	    (rr = rh_json_get_bool(m->json, "local", &local, err)) < 0 ||
	    (rr = rh_json_get_string(m->json, "host", &host, err)) < 0 ||
	    (rr = rh_json_get_string(m->json, "name", &name, err)) < 0)
		return rr;
	if (name != NULL && !name_valid(name))
		return rh_err_set(err, EINVAL, "'name' must be 1 to %d "
		                  "letters, digits, '.', '_' or '-'",
		                  NODE_NAME_MAX);
	if (host != NULL && (*host == '\0' || strlen(host) > 255))
		return rh_err_set(err, EINVAL, "'host' must be an address");
	if (listen_ && a->head == NULL) {
		if (a->worker_name != NULL)
			return rh_err_set(err, EINVAL, "a worker agent cannot "
			                  "be a head");
		h = xcalloc(1, sizeof(*h));
		h->lfd = -1;
		h->local = 1;
		snprintf(h->name, sizeof(h->name), "%s", name ? name : "head");
		if ((rr = write_key(h, err)) < 0 ||
		    (rr = listen_on(h, host ? host : "127.0.0.1", err)) < 0) {
			OPENSSL_cleanse(h->key, sizeof(h->key));
			free(h);
			return rr;
		}
		h->key_path = xasprintf("%s/%s", a->dir, KEY_FILE);
		a->head = h;
		fresh = 1;
		rh_info("workers: listening on %s port %d (key in %s)",
		        h->host, h->port, h->key_path);
	}
	if ((h = a->head) != NULL) {
		if (local >= 0 && local != h->local) {
			h->local = local;
			rh_info("workers: the head %s calls itself",
			        local ? "runs" : "runs no");
		}
		if (name != NULL)
			snprintf(h->name, sizeof(h->name), "%s", name);
	}
	r = rh_proto_reply(m->id);
	cJSON_AddBoolToObject(r, "listening", h != NULL);
	cJSON_AddBoolToObject(r, "new", fresh);
	if (h != NULL) {
		cJSON_AddStringToObject(r, "host", h->host);
		cJSON_AddNumberToObject(r, "port", h->port);
		cJSON_AddStringToObject(r, "key_file", h->key_path);
		cJSON_AddBoolToObject(r, "local", h->local);
		cJSON_AddStringToObject(r, "name", h->name);
	}
	head_status(a, r);
	cJSON_DeleteItemFromObjectCaseSensitive(r, "workers");
	conn_send(a, c, r);
	call_schedule(a);
	return 0;
}

/* ---- joining ---- */

static void
accept_all(struct agent *a)
{
	struct head *h = a->head;
	struct sockaddr_storage ss;
	socklen_t len;
	unsigned char raw[NONCE_BYTES];
	struct node *n;
	unsigned joining = 0;
	char host[INET6_ADDRSTRLEN];
	cJSON *m;
	int fd, one = 1;

	for (n = h->nodes; n != NULL; n = n->next)
		joining += n->state == N_JOINING;
	for (;;) {
		len = sizeof(ss);
		fd = accept4(h->lfd, (struct sockaddr *)&ss, &len,
		             SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				rh_warn("workers: accept: %s", strerror(errno));
			return;
		}
		if (ss.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->
			          sin6_addr, host, sizeof(host));
		else
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->
			          sin_addr, host, sizeof(host));
		if (joining >= MAX_JOINING || RAND_bytes(raw, sizeof(raw)) !=
		    1) {
			rh_warn("workers: refusing a connection from %s: %u "
			        "not yet proven", host, joining);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		n = xcalloc(1, sizeof(*n));
		n->fd = fd;
		n->state = N_JOINING;
		snprintf(n->addr, sizeof(n->addr), "%s", host);
		rh_hex(raw, sizeof(raw), n->nonce);
		n->deadline = rh_time_after(CLOCK_MONOTONIC, HANDSHAKE_MS);
		rh_proto_dec_init(&n->dec, HANDSHAKE_FRAME_MAX);
		m = rh_proto_new(0, "challenge");
		cJSON_AddStringToObject(m, "nonce", n->nonce);
		cJSON_AddNumberToObject(m, "proto", RH_PROTO_VERSION);
		node_send(n, m);
		n->next = h->nodes;
		h->nodes = n;
		joining++;
		rh_debug("workers: connection from %s", host);
		node_flush(a, n);
	}
}

/* The join of a connection n: the worker's proof, its name and slots. */
static void
joined(struct agent *a, struct node *n, const cJSON *m)
{
	struct head *h = a->head;
	const char *name = rh_json_str(m, "node"), *proof = rh_json_str(m,
	      "proof"), *wnonce = rh_json_str(m, "nonce");
	const cJSON *slots = cJSON_GetObjectItemCaseSensitive(m, "slots"), *v;
	char want[2 * EVP_MAX_MD_SIZE + 1], mine[2 * EVP_MAX_MD_SIZE + 1];
	struct node **pn, *o;
	cJSON *w;

	/* "head" always names the head (a call's node) */
	if (name == NULL || !name_valid(name) || strcmp(name, "head") == 0 ||
	    proof == NULL ||
	    wnonce == NULL || strlen(wnonce) < 32 || strlen(wnonce) > 128 ||
	    !cJSON_IsNumber(slots) || slots->valuedouble < 1 ||
	    slots->valuedouble > 100000) {
		node_lose(a, n, "a malformed join: closed");
		return;
	}
	head_proof(h->key, h->keylen, "rhagent worker", n->nonce, wnonce,
	           name, want);
	if (strlen(proof) != strlen(want) ||
	    CRYPTO_memcmp(proof, want, strlen(want)) != 0) {
		w = rh_proto_new(0, "bye");
		cJSON_AddStringToObject(w, "error", "EACCES");
		cJSON_AddStringToObject(w, "message", "the proof of the key "
		                        "is wrong");
		node_send(n, w);
		node_flush(a, n);
		node_lose(a, n, "node '%s' gave a wrong proof of the key: "
		          "closed", name);
		return;
	}
	/* a node of that name, lost or still connected, is replaced */
	for (pn = &h->nodes; (o = *pn) != NULL; pn = &o->next) {
		if (o == n || o->state == N_JOINING ||
		    strcmp(o->name, name) != 0)
			continue;
		if (o->state == N_UP)
			node_lose(a, o, "a worker of that name joined again");
		/* its parked calls end without Slurm's word */
		slurm_ask_free(o->ask);
		o->ask = NULL;
		o->want_patient = 0;
		node_settle(a, o);
		n->ncalls = o->ncalls;
		/* freed by head_tick: it may be polled this turn */
		o->name[0] = '\0';
		break;
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->slots = (unsigned)slots->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(m, "pid");
	n->pid = cJSON_IsNumber(v) && v->valuedouble > 0 &&
	         v->valuedouble < 1e9 ? (long)v->valuedouble : 0;
	snprintf(n->version, sizeof(n->version), "%s",
	         rh_json_str(m, "version") ? rh_json_str(m, "version") : "");
	/* a worker in a Slurm job: which, and on which Slurm node */
	if (rh_json_str(m, "slurm_job") != NULL &&
	    slurm_job_valid(rh_json_str(m, "slurm_job"))) {
		snprintf(n->sjob, sizeof(n->sjob), "%s",
		         rh_json_str(m, "slurm_job"));
		if (rh_json_str(m, "slurm_node") != NULL &&
		    name_valid(rh_json_str(m, "slurm_node")))
			snprintf(n->snode, sizeof(n->snode), "%s",
			         rh_json_str(m, "slurm_node"));
	}
	n->state = N_UP;
	clock_gettime(CLOCK_REALTIME, &n->joined_at);
	clock_gettime(CLOCK_MONOTONIC, &n->status_ok);
	n->next_ping = rh_time_after(CLOCK_MONOTONIC, 0);
	head_proof(h->key, h->keylen, "rhagent head", wnonce, n->nonce, name,
	           mine);
	w = rh_proto_new(0, "welcome");
	cJSON_AddStringToObject(w, "proof", mine);
	node_send(n, w);
	/* from now on, the ordinary protocol: frames of any size */
	rh_proto_dec_free(&n->dec);
	rh_proto_dec_init(&n->dec, RH_PROTO_FRAME_MAX);
	rh_info("node %s joined from %s with %u slots", n->name, n->addr,
	        n->slots);
	call_schedule(a);
}

/* ---- calls on nodes ---- */

struct node *
head_pick(struct agent *a)
{
	struct node *n, *best = NULL;

	if (a->head == NULL)
		return NULL;
	/* the most free slots, as a share of the node's */
	for (n = a->head->nodes; n != NULL; n = n->next) {
		if (n->state != N_UP || n->inflight >= n->slots ||
		    n->leaving || n->ask != NULL)
			continue;
		if (best == NULL || (double)n->inflight / n->slots <
		    (double)best->inflight / best->slots)
			best = n;
	}
	return best;
}

struct node *
head_node_named(struct agent *a, const char *name, int *up)
{
	struct node *n;

	*up = 0;
	for (n = a->head != NULL ? a->head->nodes : NULL; n != NULL;
	     n = n->next)
		if (n->state == N_UP && strcmp(n->name, name) == 0) {
			*up = 1;
			return n->inflight < n->slots && !n->leaving &&
			       n->ask == NULL ? n : NULL;
		}
	return NULL;
}

void
head_send_call(struct agent *a, struct node *n, struct call *c)
{
	cJSON *req = cJSON_Duplicate(c->resolved ? c->resolved : c->spec, 1);
	struct pend *p;

	cJSON_DeleteItemFromObjectCaseSensitive(req, "secret_names");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "secret_env");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "call");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "wait");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "op");
	cJSON_AddStringToObject(req, "op", "call");
	cJSON_AddStringToObject(req, "call", c->id);
	cJSON_AddBoolToObject(req, "wait", 1);
	/* kept until the call ends: a node that leaves before it takes
	 * the call gives it back to the queue */
	if (c->secrets != NULL)
		cJSON_AddItemToObject(req, "secret_env",
		                      cJSON_Duplicate(c->secrets, 1));
	c->on = n;
	free(c->node);
	c->node = xstrdup(n->name);
	n->inflight++;
	n->ncalls++;
	p = node_request(n, req, P_CALL);
	/* the request's text is in the buffer: its secrets go */
	snprintf(p->call, sizeof(p->call), "%s", c->id);
	rh_debug("call %s: to node %s", c->id, n->name);
	node_flush(a, n);
}

static enum call_state
state_of(const char *s)
{
	if (s != NULL && strcmp(s, "done") == 0)
		return CALL_DONE;
	if (s != NULL && strcmp(s, "cancelled") == 0)
		return CALL_CANCELLED;
	return CALL_FAILED;
}

/* The node's reply to a call: the head's call ends as the node's did. */
static void
call_ended(struct agent *a, struct node *n, const char *id, const cJSON *m)
{
	struct call *c = call_find(a, id);
	struct rh_buf out = { 0 };
	const cJSON *v;
	char *path, reason[300];
	enum call_state st;
	int r;

	if (c == NULL || c->on != n)
		return;
	c->on = NULL;
	n->inflight--;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "ok"))) {
		snprintf(reason, sizeof(reason), "node %s refused the call: "
		         "%s", n->name, rh_json_str(m, "message") ?
		         rh_json_str(m, "message") : "no reason given");
		call_finish(a, c, CALL_FAILED, reason);
		return;
	}
	st = state_of(rh_json_str(m, "state"));
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(m, "pid")))
		c->pid = (pid_t)v->valuedouble;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(m, "exit")))
		c->exit_code = v->valueint;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(m, "signal")))
		c->signo = v->valueint;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(m,
	                                                    "stdout_size")))
		c->out_size[0] = (long long)v->valuedouble;
	if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(m,
	                                                    "stderr_size")))
		c->out_size[1] = (long long)v->valuedouble;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m,
	                                                  "result_truncated")))
		c->result_truncated = 1;
	else if (c->py != NULL && rh_json_str(m, "result") != NULL)
		c->result = xstrdup(rh_json_str(m, "result"));
	else if (c->py == NULL && rh_json_get_bytes(m, "result", &out) == 0 &&
	         out.len > 0) {
		/* a command's result is its stdout: kept here too, so that a
		 * $ref and get read it as a local call's */
		path = record_path(c->id, "stdout");
		if (record_dir(c->id) < 0 ||
		    (r = rh_file_replace(path, out.data, out.len, 0600, 0)) < 0)
			rh_warn("call %s: cannot keep its result", c->id);
		free(path);
	}
	rh_buf_free(&out);
	/* a Slurm worker's call killed by a signal, or failing as the
	 * worker leaves: its job may be ending, whose reason it is */
	if (st == CALL_FAILED && n->sjob[0] != '\0' &&
	    (n->leaving || n->ask != NULL || c->signo != 0)) {
		snprintf(reason, sizeof(reason), "%s", rh_json_str(m,
		         "reason") ? rh_json_str(m, "reason") : "failed");
		c->on = n;
		if (park(a, n, c, reason, 0) == 0)
			return;
		c->on = NULL;
	}
	call_finish(a, c, st, rh_json_str(m, "reason"));
}

void
head_cancel(struct agent *a, struct call *c)
{
	cJSON *req;

	if (c->on == NULL || c->on->state != N_UP)
		return;
	req = rh_proto_new(0, "cancel");
	cJSON_AddStringToObject(req, "call", c->id);
	node_request(c->on, req, P_IGNORE);
	node_flush(a, c->on);
}

/* The node an ended call ran on, as its record says (free it), or NULL. */
static char *
ran_on(const char *id)
{
	struct rh_call_record rec;
	cJSON *json = NULL;
	const char *node;
	char *r = NULL;

	if (step_ran(id))       /* a job step's output is here (step.c) */
		return NULL;
	if (record_load(id, &json, &rec, NULL) == 0 &&
	    (node = rh_json_str(json, "node")) != NULL)
		r = xstrdup(node);
	rh_call_record_free(&rec);
	cJSON_Delete(json);
	return r;
}

int
head_proxy(struct agent *a, struct conn *c, const struct rh_proto_msg *m,
           const char *id, struct rh_err *err)
{
	struct head *h = a->head;
	struct call *call;
	struct node *n;
	struct pend *p;
	char *name;
	char node[NODE_NAME_MAX + 1];

	if (h == NULL || !rh_call_id_valid(id))
		return 0;
	if ((call = call_find(a, id)) != NULL) {
		if (call->on == NULL)
			return 0;
		name = xstrdup(call->on->name);
	} else {
		name = ran_on(id);
	}
	if (name == NULL || strcmp(name, h->name) == 0) {
		free(name);
		return 0;
	}
	snprintf(node, sizeof(node), "%s", name);
	free(name);
	for (n = h->nodes; n != NULL; n = n->next)
		if (n->state == N_UP && strcmp(n->name, node) == 0)
			break;
	if (n == NULL)
		return rh_err_set(err, EHOSTUNREACH, "call %s ran on node %s, "
		                  "which is not connected", id, node);
	p = node_request(n, cJSON_Duplicate(m->json, 1), P_PROXY);
	p->client = c;
	p->client_id = m->id;
	c->waiting++;
	node_flush(a, n);
	return 1;
}

int
head_elsewhere(struct agent *a, const char *id)
{
	struct call *c;
	char *node;
	int r;

	if (a->head == NULL)
		return 0;
	if ((c = call_find(a, id)) != NULL)
		return c->on != NULL;
	node = ran_on(id);
	r = node != NULL && strcmp(node, a->head->name) != 0;
	free(node);
	return r;
}

void
head_forget_conn(struct agent *a, struct conn *c)
{
	struct node *n;
	struct pend *p;

	if (a->head == NULL)
		return;
	for (n = a->head->nodes; n != NULL; n = n->next)
		for (p = n->pend; p != NULL; p = p->next)
			if (p->client == c) {
				p->client = NULL;
				c->waiting--;
			}
}

/* A frame from a joined node. */
static void
node_message(struct agent *a, struct node *n, const struct rh_proto_msg *m)
{
	struct pend **pp, *p;
	cJSON *r;

	if (strcmp(m->op, "bye") == 0) {
		node_lose(a, n, "it closed: %s", rh_json_str(m->json,
		          "message") ? rh_json_str(m->json, "message") :
		          "no reason given");
		return;
	}
	if (strcmp(m->op, "leaving") == 0) {
		node_leaving(a, n, m->json);
		return;
	}
	if (strcmp(m->op, "reply") != 0)
		return;         /* accepted: the reply follows */
	for (pp = &n->pend; (p = *pp) != NULL; pp = &p->next)
		if (p->id == m->id)
			break;
	if (p == NULL)
		return;
	*pp = p->next;
	switch (p->kind) {
	case P_CALL:
		call_ended(a, n, p->call, m->json);
		call_schedule(a);
		break;
	case P_PROXY:
		if (p->client != NULL && !p->client->dead) {
			r = cJSON_Duplicate(m->json, 1);
			cJSON_DeleteItemFromObjectCaseSensitive(r, "id");
			cJSON_AddNumberToObject(r, "id", (double)p->client_id);
			p->client->waiting--;
			conn_send(a, p->client, r);
		}
		break;
	case P_STATUS:
		cJSON_Delete(n->status);
		n->status = cJSON_Duplicate(m->json, 1);
		clock_gettime(CLOCK_MONOTONIC, &n->status_ok);
		memset(&n->status_sent, 0, sizeof(n->status_sent));
		break;
	case P_IGNORE:
		break;
	}
	free(p);
}

static void
node_read(struct agent *a, struct node *n)
{
	struct rh_proto_msg m;
	struct rh_err err;
	size_t avail;
	ssize_t got;
	void *buf;
	int i, r;

	for (i = 0; i < 8 && n->fd >= 0; i++) {
		buf = rh_proto_dec_space(&n->dec, 65536, &avail);
		got = read(n->fd, buf, avail);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				node_lose(a, n, "read: %s", strerror(errno));
			return;
		}
		if (got == 0) {
			node_lose(a, n, "its connection closed");
			return;
		}
		rh_proto_dec_commit(&n->dec, (size_t)got);
		while (n->fd >= 0 &&
		       (r = rh_proto_dec_next(&n->dec, &m, &err)) == 1) {
			if (n->state == N_JOINING) {
				if (strcmp(m.op, "join") == 0)
					joined(a, n, m.json);
				else
					node_lose(a, n, "'%s' before proving "
					          "itself: closed", m.op);
			} else
				node_message(a, n, &m);
			rh_proto_msg_free(&m);
		}
		if (n->fd >= 0 && r < 0) {
			node_lose(a, n, "%s", err.msg);
			return;
		}
		if ((size_t)got < avail)
			return;
	}
}

size_t
head_nfds(struct agent *a)
{
	const struct node *n;
	size_t k = 1;

	if (a->head == NULL)
		return 0;
	for (n = a->head->nodes; n != NULL; n = n->next)
		k += (n->fd >= 0) + (n->ask != NULL);
	return k;
}

size_t
head_pollfds(struct agent *a, struct pollfd *pfd)
{
	struct head *h = a->head;
	struct node *n;
	size_t k = 1;

	if (h == NULL)
		return 0;
	pfd[0].fd = h->lfd;
	pfd[0].events = POLLIN;
	h->npolled = 0;
	for (n = h->nodes; n != NULL; n = n->next) {
		if (n->fd < 0)
			continue;
		if (h->npolled == h->polled_cap) {
			h->polled_cap = h->polled_cap ? h->polled_cap * 2 : 16;
			h->polled = xrealloc(h->polled, h->polled_cap *
			                     sizeof(*h->polled));
		}
		h->polled[h->npolled++] = n;
		pfd[k].fd = n->fd;
		pfd[k].events = POLLIN | (n->out.len > n->out_off ? POLLOUT :
		                          0);
		k++;
	}
	/* then the Slurm asks' pipes */
	h->nasked = 0;
	for (n = h->nodes; n != NULL; n = n->next) {
		if (n->ask == NULL || slurm_ask_fd(n->ask) < 0)
			continue;
		if (h->nasked == h->asked_cap) {
			h->asked_cap = h->asked_cap ? h->asked_cap * 2 : 4;
			h->asked = xrealloc(h->asked, h->asked_cap *
			                    sizeof(*h->asked));
		}
		h->asked[h->nasked++] = n;
		pfd[k].fd = slurm_ask_fd(n->ask);
		pfd[k].events = POLLIN;
		k++;
	}
	return k;
}

void
head_events(struct agent *a, const struct pollfd *pfd)
{
	struct head *h = a->head;
	struct node *n;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->npolled; i++) {
		n = h->polled[i];
		if (n->fd < 0 || pfd[i + 1].revents == 0)
			continue;
		if (pfd[i + 1].revents & (POLLIN | POLLHUP | POLLERR))
			node_read(a, n);
		if (n->fd >= 0)
			node_flush(a, n);
	}
	for (i = 0; i < h->nasked; i++) {
		n = h->asked[i];
		/* its ask may have ended, and another begun, this turn */
		if (pfd[1 + h->npolled + i].revents == 0 || n->ask == NULL ||
		    slurm_ask_fd(n->ask) != pfd[1 + h->npolled + i].fd)
			continue;
		if (slurm_ask_read(n->ask))
			node_settle(a, n);
	}
	h->npolled = h->nasked = 0;
	if (pfd[0].revents)
		accept_all(a);
}

/* Handshakes that took too long, nodes that stopped answering, status
 * asked of each node; lost joiners freed. ms until the next, or -1. */
int
head_tick(struct agent *a)
{
	struct head *h = a->head;
	struct node **pn, *n;
	struct timespec now;
	long next = -1, ms = 0;
	cJSON *req;

	if (h == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	for (pn = &h->nodes; (n = *pn) != NULL;) {
		if (n->state == N_JOINING &&
		    (ms = rh_ms_between(&now, &n->deadline)) <= 0)
			node_lose(a, n, "no proof of the key within %d s: "
			          "closed", HANDSHAKE_MS / 1000);
		else if (n->state == N_JOINING && (next < 0 || ms < next))
			next = ms;
		if (n->ask != NULL && (ms = slurm_ask_tick(n->ask)) == 0)
			node_settle(a, n);
		else if (n->ask != NULL && (next < 0 || ms < next))
			next = ms;
		if (n->state == N_LOST && n->name[0] == '\0') {
			/* a connection that never joined */
			*pn = n->next;
			node_free(n);
			continue;
		}
		if (n->state == N_UP) {
			if (n->status_sent.tv_sec != 0 &&
			    rh_ms_between(&n->status_ok, &now) > LOST_MS) {
				node_lose(a, n, "no answer for %d s",
				          LOST_MS / 1000);
			} else if (n->status_sent.tv_sec == 0 &&
			           (ms = rh_ms_between(&now,
			                               &n->next_ping)) <= 0) {
				req = rh_proto_new(0, "status");
				node_request(n, req, P_STATUS);
				n->status_sent = now;
				n->next_ping = rh_time_after(CLOCK_MONOTONIC,
				                             PING_MS);
				node_flush(a, n);
				ms = PING_MS;
			} else if (n->status_sent.tv_sec != 0)
				ms = LOST_MS - rh_ms_between(&n->status_ok,
				                             &now);
			else
				ms = rh_ms_between(&now, &n->next_ping);
			if (n->state == N_UP && (next < 0 || ms < next))
				next = ms;
		}
		pn = &n->next;
	}
	if (next > 0)
		next++;
	return next < 0 ? -1 : (int)(next > 0 ? next : 0);
}

void
head_stop(struct agent *a)
{
	struct head *h = a->head;
	struct node *n;

	if (h == NULL)
		return;
	while ((n = h->nodes) != NULL) {
		h->nodes = n->next;
		node_free(n);
	}
	if (h->lfd >= 0)
		close(h->lfd);
	unlink(KEY_FILE);
	OPENSSL_cleanse(h->key, sizeof(h->key));
	free(h->key_path);
	free(h->polled);
	free(h->asked);
	free(h);
	a->head = NULL;
}

/* record.c: what a head's record says of the node that ran a call. */
void
node_record(const struct call *c, struct rh_call_record *rec)
{
	rec->node = c->node;
	if (c->state >= CALL_DONE && c->out_size[0] >= 0 &&
	    c->out_size[1] >= 0) {
		rec->stdout_size = c->out_size[0];
		rec->stderr_size = c->out_size[1];
	}
	if (c->result_truncated)
		rec->result_is = RH_RESULT_TRUNCATED;
}

/*
 * worker.c - `rhagent worker`: the agent of one node of a cluster of
 * several, serving the calls its head (head.c) hands it. It connects to
 * the head's TCP listener (retrying with backoff for JOIN_WAIT_MS), proves
 * it holds the head's key and checks the head's proof in turn, and then
 * is an ordinary agent whose one client is the head: calls run with warm
 * Python workers and keep their records, stdout and stderr as any
 * agent's, in a directory of the node's own (~/.rh/nodes/NAME/ unless
 * --dir), so that nodes sharing a home never collide. NAME, not the host
 * name, is the node.
 *
 * It runs in the foreground (under srun, or detached by whoever starts
 * it) and logs to its directory's log. When its head's connection breaks
 * it stops (its running calls are killed: the head has failed them) and
 * starts again, to join anew.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "base.h"
#include "proto.h"
#include "agent.h"

/* How long a worker tries to reach its head before it gives up. */
#define JOIN_WAIT_MS 120000
/* Backoff between tries: from the first to the most. */
#define JOIN_BACKOFF_MIN_MS 100
#define JOIN_BACKOFF_MAX_MS 5000
/* One connect, and the whole handshake, at most. */
#define CONNECT_MS 5000
#define HANDSHAKE_MS 10000
#define KEY_MAX 1024

struct wopts {
	char *host, *port;
	char *key_file;
	const char *node;
	unsigned slots;
	const char *dir;
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The key: the file's text without its last newline; the file must be
 * ours and private. */
static int
read_key(const char *path, struct rh_buf *key, struct rh_err *err)
{
	struct stat st;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return rh_err_set(err, errno, "key file %s: %s", path,
		                  strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != getuid() || (st.st_mode & 077) != 0) {
		close(fd);
		return rh_err_set(err, EPERM, "key file %s: must be a file of "
		                  "this user that only it can read (mode "
		                  "0600)", path);
	}
	close(fd);
	if ((r = rh_file_read(path, KEY_MAX, key, NULL)) < 0)
		return rh_err_set(err, -r, "key file %s: %s", path,
		                  r == -EFBIG ? "too large" : strerror(-r));
	while (key->len > 0 && (key->data[key->len - 1] == '\n' ||
	                        key->data[key->len - 1] == '\r'))
		key->len--;
	if (key->len < 16)
		return rh_err_set(err, EINVAL, "key file %s: too short to be "
		                  "a key", path);
	return 0;
}

/* A connected socket to host:port, or -1 with why. */
static int
dial(const struct wopts *o, char *why, size_t len)
{
	struct addrinfo hints, *res = NULL, *ai;
	struct pollfd pfd;
	socklen_t sl;
	int fd = -1, r, e = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(o->host, o->port, &hints, &res)) != 0) {
		snprintf(why, len, "%s: %s", o->host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		            SOCK_CLOEXEC, 0);
		if (fd < 0) {
			e = errno;
			continue;
		}
		r = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (r < 0 && errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, CONNECT_MS) == 1) {
				sl = sizeof(e);
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl);
				r = e == 0 ? 0 : -1;
			} else {
				e = ETIMEDOUT;
			}
		} else if (r < 0)
			e = errno;
		if (r == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(why, len, "%s port %s: %s", o->host, o->port,
		         strerror(e));
	else
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int
send_frame(int fd, cJSON *msg)
{
	struct rh_buf b = { 0 };
	size_t off = 0;
	ssize_t n;
	struct pollfd pfd = { fd, POLLOUT, 0 };
	int r = rh_proto_encode(msg, 0, &b);

	cJSON_Delete(msg);
	while (r == 0 && off < b.len) {
		n = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (poll(&pfd, 1, HANDSHAKE_MS) != 1)
				r = -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			r = -errno;
		else
			off += (size_t)n;
	}
	rh_buf_free(&b);
	return r;
}

/* The next frame within the deadline, in *m. */
static int
recv_frame(int fd, struct rh_proto_dec *dec, long deadline,
           struct rh_proto_msg *m, char *why, size_t len)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct rh_err err;
	size_t avail;
	ssize_t n;
	void *p;
	int r;

	for (;;) {
		if ((r = rh_proto_dec_next(dec, m, &err)) == 1)
			return 0;
		if (r < 0) {
			snprintf(why, len, "%.200s", err.msg);
			return -1;
		}
		if (poll(&pfd, 1, (int)(deadline - rh_now_ms() > 0 ?
		                        deadline - rh_now_ms() : 0)) != 1) {
			snprintf(why, len, "the head did not answer within "
			         "%d s", HANDSHAKE_MS / 1000);
			return -1;
		}
		p = rh_proto_dec_space(dec, 4096, &avail);
		n = read(fd, p, avail);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			snprintf(why, len, "the head closed the connection%s",
			         n < 0 ? "" : " (a wrong key?)");
			return -1;
		}
		rh_proto_dec_commit(dec, (size_t)n);
	}
}

/*
 * The handshake: the head's challenge (a nonce), our join (our name,
 * slots, our nonce and our proof), the head's welcome (its proof). 0 and
 * joined; -1 and why, with *fatal when trying again cannot help (the head
 * refused our proof, or its own is wrong).
 */
static int
handshake(int fd, const struct wopts *o, const struct rh_buf *key,
          struct rh_buf *rest, char *why, size_t len, int *fatal)
{
	struct rh_proto_dec dec;
	struct rh_proto_msg m;
	unsigned char raw[32];
	char mine[65], proof[2 * EVP_MAX_MD_SIZE + 1];
	char want[2 * EVP_MAX_MD_SIZE + 1], hnonce[200];
	const char *s;
	long deadline = rh_now_ms() + HANDSHAKE_MS;
	cJSON *j;
	size_t i;
	int r = -1;

	*fatal = 0;
	rh_proto_dec_init(&dec, 4096);
	if (recv_frame(fd, &dec, deadline, &m, why, len) < 0)
		goto out;
	s = rh_json_str(m.json, "nonce");
	if (strcmp(m.op, "challenge") != 0 || s == NULL || strlen(s) < 32 ||
	    strlen(s) >= sizeof(hnonce)) {
		snprintf(why, len, "not a head's challenge ('%s')", m.op);
		rh_proto_msg_free(&m);
		goto out;
	}
	snprintf(hnonce, sizeof(hnonce), "%s", s);
	rh_proto_msg_free(&m);
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		snprintf(why, len, "RAND_bytes failed");
		goto out;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(mine + 2 * i, 3, "%02x", raw[i]);
	head_proof((const unsigned char *)key->data, key->len,
	           "rhagent worker", hnonce, mine, o->node, proof);
	j = rh_proto_new(0, "join");
	cJSON_AddStringToObject(j, "node", o->node);
	cJSON_AddNumberToObject(j, "slots", o->slots);
	cJSON_AddStringToObject(j, "nonce", mine);
	cJSON_AddStringToObject(j, "proof", proof);
	cJSON_AddStringToObject(j, "version", VERSION);
	cJSON_AddNumberToObject(j, "pid", getpid());
	/* started in a Slurm job (srun): the head asks Slurm how it ends
	 * when this node leaves or is lost */
	if ((s = getenv("SLURM_JOB_ID")) != NULL && *s != '\0') {
		cJSON_AddStringToObject(j, "slurm_job", s);
		if ((s = getenv("SLURMD_NODENAME")) != NULL)
			cJSON_AddStringToObject(j, "slurm_node", s);
	}
	if (send_frame(fd, j) < 0) {
		snprintf(why, len, "cannot send: %s", strerror(errno));
		goto out;
	}
	if (recv_frame(fd, &dec, deadline, &m, why, len) < 0)
		goto out;
	if (strcmp(m.op, "welcome") != 0) {
		snprintf(why, len, "the head refused: %s",
		         rh_json_str(m.json, "message") ?
		         rh_json_str(m.json, "message") : m.op);
		*fatal = strcmp(m.op, "bye") == 0;
		rh_proto_msg_free(&m);
		goto out;
	}
	head_proof((const unsigned char *)key->data, key->len,
	           "rhagent head", mine, hnonce, o->node, want);
	s = rh_json_str(m.json, "proof");
	if (s == NULL || strlen(s) != strlen(want) ||
	    CRYPTO_memcmp(s, want, strlen(want)) != 0) {
		snprintf(why, len, "the head's proof of the key is wrong: "
		         "not our head");
		*fatal = 1;
	} else {
		r = 0;
	}
	rh_proto_msg_free(&m);
	/* what came after the welcome: the head's first requests */
	if (r == 0 && dec.in.len > dec.off)
		rh_buf_append(rest, dec.in.data + dec.off,
		              dec.in.len - dec.off);
out:
	rh_proto_dec_free(&dec);
	return r;
}

/* Reach the head and join: the connected socket, or -1. */
static int
join(const struct wopts *o, const struct rh_buf *key, struct rh_buf *rest)
{
	long start = rh_now_ms(), backoff = JOIN_BACKOFF_MIN_MS;
	char why[300];
	int fd, fatal, tries = 0;

	for (;;) {
		tries++;
		if ((fd = dial(o, why, sizeof(why))) >= 0) {
			rest->len = 0;
			if (handshake(fd, o, key, rest, why, sizeof(why),
			              &fatal) == 0) {
				rh_info("node %s: joined the head at %s port "
				        "%s (%u slots)", o->node, o->host,
				        o->port, o->slots);
				return fd;
			}
			close(fd);
			if (fatal) {
				rh_error("node %s: %s", o->node, why);
				return -1;
			}
		}
		if (rh_now_ms() - start >= JOIN_WAIT_MS) {
			rh_error("node %s: cannot join the head after %d "
			         "tries in %d s: %s", o->node, tries,
			         JOIN_WAIT_MS / 1000, why);
			return -1;
		}
		rh_debug("node %s: %s; again in %ld ms", o->node, why,
		         backoff);
		sleep_ms(backoff);
		backoff = backoff * 2 > JOIN_BACKOFF_MAX_MS ?
		          JOIN_BACKOFF_MAX_MS : backoff * 2;
	}
}

static int
node_name_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
	                  "WXYZ0123456789._-");

	return n >= 1 && n <= 64 && s[n] == '\0' && s[0] != '.';
}

static void
worker_usage(void)
{
	fprintf(stderr, "usage: rhagent [-v] worker --head HOST:PORT "
	        "--key-file PATH --node NAME [--slots N] [--dir DIR]\n");
}

static int
parse(int argc, char **argv, struct wopts *o)
{
	static const struct option longs[] = {
		{ "head", required_argument, NULL, 'H' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "node", required_argument, NULL, 'n' },
		{ "slots", required_argument, NULL, 's' },
		{ "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	const char *head = NULL;
	char *end, *colon;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->slots = cpus > 0 ? (unsigned)cpus : 1;
	optind = 0;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'H':
			head = optarg;
			break;
		case 'k':
			o->key_file = optarg;
			break;
		case 'n':
			o->node = optarg;
			break;
		case 's':
			v = strtoul(optarg, &end, 10);
			if (*end != '\0' || v == 0 || v > 100000) {
				fprintf(stderr, "rhagent: --slots takes a "
				        "number from 1 to 100000\n");
				return -1;
			}
			o->slots = (unsigned)v;
			break;
		case 'd':
			o->dir = optarg;
			break;
		default:
			worker_usage();
			return -1;
		}
	}
	if (optind != argc || head == NULL || o->key_file == NULL ||
	    o->node == NULL) {
		worker_usage();
		return -1;
	}
	if (!node_name_valid(o->node) || strcmp(o->node, "head") == 0) {
		fprintf(stderr, "rhagent: --node %s: a node's name is 1 to 64 "
		        "letters, digits, '.', '_' or '-', and not 'head'\n",
		        o->node);
		return -1;
	}
	/* HOST:PORT, or [HOST]:PORT for an IPv6 address */
	if (head[0] == '[' && (colon = strstr(head, "]:")) != NULL) {
		o->host = xstrndup(head + 1, (size_t)(colon - head - 1));
		o->port = xstrdup(colon + 2);
	} else if ((colon = strrchr(head, ':')) != NULL) {
		o->host = xstrndup(head, (size_t)(colon - head));
		o->port = xstrdup(colon + 1);
	}
	if (o->host == NULL || *o->host == '\0' || *o->port == '\0' ||
	    strtoul(o->port, &end, 10) > 65535 || *end != '\0' ||
	    strtoul(o->port, NULL, 10) == 0) {
		fprintf(stderr, "rhagent: --head %s: give HOST:PORT\n", head);
		free(o->host);
		free(o->port);
		return -1;
	}
	return 0;
}

int
worker_main(int argc, char **argv, enum rh_log_level log_level)
{
	struct rh_buf key = { 0 }, rest = { 0 };
	struct rh_err err;
	struct agent a;
	struct wopts o;
	struct rh_proto_msg m;
	struct conn *c;
	char *nodes = NULL, **again, *slots, *headarg, *keypath;
	int pidfd = -1, fd, r = 1, i;

	if (parse(argc, argv, &o) < 0)
		return 2;
	(void)argv;
	memset(&a, 0, sizeof(a));
	a.lfd = a.sigfd = a.records.jfd = -1;
	a.log_level = log_level;
	a.foreground = 1;
	a.jobs = o.slots;
	a.worker_name = xstrdup(o.node);
	/* the key file is read before leaving the caller's cwd; its
	 * absolute path serves a start again */
	if ((keypath = realpath(o.key_file, NULL)) != NULL)
		o.key_file = keypath;
	if (read_key(o.key_file, &key, &err) < 0 ||
	    agent_dir(&a.dir, &a.home, &err) < 0)
		goto fail;
	free(a.dir);
	if (o.dir != NULL) {
		a.dir = *o.dir == '/' ? xstrdup(o.dir) :
		        xasprintf("%s/%s", a.home, o.dir);
	} else {
		nodes = xasprintf("%s/.rh/nodes", a.home);
		if (agent_make_dir(a.home, nodes, &err) < 0)
			goto fail;
		a.dir = xasprintf("%s/%s", nodes, o.node);
	}
	umask(077);
	if (agent_make_dir(a.home, a.dir, &err) < 0 ||
	    (chdir(a.dir) < 0 &&
	     rh_err_set(&err, errno, "%s: %s", a.dir, strerror(errno))))
		goto fail;
	/* a worker of this name already here (an older one, still trying
	 * to reach a head gone): this one replaces it */
	if ((r = agent_lock_pid(&pidfd, &err)) < 0) {
		if (r != -EEXIST)
			goto fail;
		agent_stop_dir(a.dir, a.home);
		if (agent_lock_pid(&pidfd, &err) < 0)
			goto fail;
	}
	if (agent_log_open() < 0) {
		rh_err_set(&err, errno, "%s/%s: %s", a.dir, AGENT_LOG,
		           strerror(errno));
		goto fail;
	}
	rh_log_timestamps(1);
	rh_log_init("rhagent", 1, a.log_level);
	agent_write_pid(pidfd);
	if ((fd = join(&o, &key, &rest)) < 0) {
		r = 1;
		goto out;
	}
	OPENSSL_cleanse(key.data, key.len);
	if (serve_setup(&a, &err) < 0) {
		rh_error("%s", err.msg);
		close(fd);
		goto out;
	}
	/* the head is this agent's client, known from its proof */
	c = conn_new(&a, fd, fd, -1);
	c->proto = RH_PROTO_VERSION;
	c->to_head = 1;
	if (rest.len > 0)
		rh_proto_dec_feed(&c->dec, rest.data, rest.len);
	rh_buf_free(&rest);
	/* requests that came with the welcome: no read will bring them */
	while (rh_proto_dec_next(&c->dec, &m, &err) == 1) {
		op_handle(&a, c, &m);
		rh_proto_msg_free(&m);
	}
	r = serve_loop(&a) < 0 ? 1 : 0;
	if (a.reexec) {
		/* a new process, a clean state: it joins again */
		rh_info("node %s: starting again to join the head", o.node);
		slots = xasprintf("%u", o.slots);
		headarg = xasprintf(strchr(o.host, ':') ? "[%s]:%s" :
		                    "%s:%s", o.host, o.port);
		i = 0;
		again = xcalloc(16, sizeof(*again));
		again[i++] = xstrdup("rhagent");
		if (log_level >= RH_LOG_DEBUG)
			again[i++] = xstrdup("-v");
		again[i++] = xstrdup("worker");
		again[i++] = xstrdup("--head");
		again[i++] = headarg;
		headarg = NULL;
		again[i++] = xstrdup("--key-file");
		again[i++] = xstrdup(o.key_file);
		again[i++] = xstrdup("--node");
		again[i++] = xstrdup(o.node);
		again[i++] = xstrdup("--slots");
		again[i++] = slots;
		slots = NULL;
		again[i++] = xstrdup("--dir");
		again[i++] = xstrdup(a.dir);
		execv("/proc/self/exe", again);
		rh_error("node %s: cannot start again: %s", o.node,
		         strerror(errno));
		rh_strv_free(again);
		r = 1;
	}
	goto out;
fail:
	fprintf(stderr, "rhagent: %s\n", err.msg);
	r = 1;
out:
	OPENSSL_cleanse(key.data, key.len);
	rh_buf_free(&key);
	rh_buf_free(&rest);
	if (pidfd >= 0)
		close(pidfd);
	free(nodes);
	free(a.dir);
	free(a.home);
	free(a.worker_name);
	free(o.host);
	free(o.port);
	free(keypath);
	return r;
}

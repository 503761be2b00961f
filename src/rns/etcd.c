/* etcd.c - a client of etcd's v3 JSON gateway (etcd 3.4) over libcurl:
 * keys, ranges, transactions, compaction, auth and watches. JSON is cJSON,
 * base64 (keys and values on the wire) is OpenSSL. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "base.h"
#include "dl.h"
#include "etcd.h"

#define DEFAULT_TIMEOUT_MS      10000
#define REPLY_MAX               (512u << 20)
/* etcd refuses requests over 1.5 MiB by default; this only keeps the
 * base64 arithmetic (int in OpenSSL) far from overflow. */
#define DATUM_MAX               (64u << 20)
#define BACKOFF_MIN_MS          100
#define BACKOFF_MAX_MS          5000
#define ELECTION_WAIT_MAX_MS    1000    /* between rounds of the members */
#define WHY_MAX                 200     /* one member's failure, for a message */

/*
 * What a request needs: the settings, the credentials and one easy handle,
 * whose connection libcurl keeps alive from one request to the next.
 * Requests go to one member at a time; url is the one in use.
 */
struct conn {
	char **urls;            /* the members, in the order given */
	size_t nurls;
	size_t cur;             /* url is urls[cur] */
	const char *url;
	char *urls_text;        /* all of them, comma-separated: for messages */
	char *cafile;
	char *certfile;
	char *keyfile;
	long connect_ms;
	long timeout_ms;
	char *user;
	char *password;
	char *token;
	CURL *easy;
	struct curl_slist *headers;     /* asking for a member with a leader */
	struct curl_slist *headers_local;       /* serializable reads */
	struct rh_buf reply;
	int reply_overflow;
	char curl_err[CURL_ERROR_SIZE];
	char why[WHY_MAX];      /* the last attempt's failure, short */
	struct rh_etcd_stats stats;
};

struct rh_etcd {
	pthread_mutex_t lock;   /* one request at a time on the handle */
	struct conn conn;
};

struct rh_etcd_watch {
	struct conn conn;       /* its own connection and copy of credentials */
	char *key;
	size_t key_len;
	int flags;              /* RH_ETCD_PREFIX, or 0: the key alone */
	rh_etcd_watch_cb cb;
	void *arg;
	int64_t next_rev;       /* where a new stream starts; 0: now */

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int started;            /* the first attempt is over */
	int start_error;        /* and was refused with this */
	struct rh_err start_err;
	CURLM *multi;

	/* The stream in progress. */
	struct rh_buf line;
	int created;
	int up;                 /* the caller has not been told DOWN */
	int stale;              /* the token was refused */
	int fail;               /* why the stream was ended, -errno */
	struct rh_err err;
};

/* Keys may be any bytes: show them printable, and short, in messages. */
static const char *
show_key(const char *key, size_t len, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < len && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)key[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			buf[o++] = (char)ch;
		else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[ch >> 4];
			buf[o++] = hex[ch & 15];
		}
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

/* Bytes from base64 (src/base/b64.c); the caller frees *out. */
static int
b64_decode(const char *s, char **out, size_t *outlen)
{
	struct rh_buf b = { 0 };

	if (strlen(s) > DATUM_MAX * 2 || rh_b64_decode(s, &b) < 0) {
		rh_buf_free(&b);
		return -EIO;
	}
	rh_buf_reserve(&b, 0);
	*out = b.data;
	*outlen = b.len;
	return 0;
}

/* The gateway sends int64 as strings (proto3 JSON); take numbers too. */
static int64_t
json_i64(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	return 0;
}

static void
json_add_i64(cJSON *o, const char *name, int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", (long long)v);
	cJSON_AddStringToObject(o, name, s);
}

/* A bytes field: absent is empty (proto3 leaves out empty values). */
static int
json_b64(const cJSON *o, const char *name, char **out, size_t *len)
{
	const char *s = rh_json_str(o, name);

	return b64_decode(s ? s : "", out, len);
}

/* "key" and "range_end" for key alone, [key, end), or all below key. An
 * empty prefix is every key: "\0" to "\0", as etcdctl sends it. */
static void
json_add_range(cJSON *o, const char *key, size_t klen, const char *end,
               size_t elen, int flags)
{
	char *e;
	size_t n;

	if (!(flags & RH_ETCD_PREFIX)) {
		rh_json_add_b64(o, "key", key, klen);
		if (end != NULL)
			rh_json_add_b64(o, "range_end", end, elen);
		return;
	}
	if (klen == 0) {
		rh_json_add_b64(o, "key", "", 1);
		rh_json_add_b64(o, "range_end", "", 1);
		return;
	}
	e = xmalloc(klen);
	memcpy(e, key, klen);
	for (n = klen; n > 0 && (unsigned char)e[n - 1] == 0xff; n--)
		;
	if (n == 0)
		e[n++] = '\0';
	else
		e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
	rh_json_add_b64(o, "key", key, klen);
	rh_json_add_b64(o, "range_end", e, n);
	free(e);
}

/* ---- one connection ---------------------------------------------------- */

static size_t
reply_write(char *data, size_t size, size_t n, void *arg)
{
	struct conn *c = arg;

	if (c->reply.len + size * n > REPLY_MAX) {
		c->reply_overflow = 1;
		return 0;
	}
	rh_buf_append(&c->reply, data, size * n);
	return size * n;
}

/* A watch sits idle for long: notice a peer that went away. */
static int
sockopt(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int idle = 10, intvl = 5, cnt = 3;

	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	return CURL_SOCKOPT_OK;
}

static struct curl_slist *
header_add(struct curl_slist *l, const char *h)
{
	struct curl_slist *n = sym_curl_slist_append(l, h);

	if (n == NULL)
		abort();
	return n;
}

static void
conn_headers(struct conn *c)
{
	char *auth = c->token ? xasprintf("Authorization: %s", c->token) :
	             NULL;

	sym_curl_slist_free_all(c->headers_local);
	c->headers_local = header_add(NULL, "Content-Type: application/json");
	/* Without this libcurl waits for "100 Continue" on large bodies. */
	c->headers_local = header_add(c->headers_local, "Expect:");
	if (auth != NULL)
		c->headers_local = header_add(c->headers_local, auth);
	/* The same, plus what etcd's own clients send (WithRequireLeader):
	 * a member that has lost its leader answers "no leader" at once and
	 * ends such a watch, instead of holding the request until its own
	 * timeout; then another member is asked. */
	sym_curl_slist_free_all(c->headers);
	c->headers = header_add(NULL, "Content-Type: application/json");
	c->headers = header_add(c->headers, "Expect:");
	if (auth != NULL)
		c->headers = header_add(c->headers, auth);
	c->headers = header_add(c->headers, "Grpc-Metadata-hasleader: true");
	free(auth);
}

static void
conn_set_token(struct conn *c, const char *token)
{
	free(c->token);
	c->token = token ? xstrdup(token) : NULL;
	conn_headers(c);
}

static int
conn_open(struct conn *c, struct rh_err *err)
{
	if ((c->easy = sym_curl_easy_init()) == NULL)
		return rh_err_set(err, ENOMEM, "etcd: libcurl: no handle");
	sym_curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	sym_curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
	sym_curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	sym_curl_easy_setopt(c->easy, CURLOPT_SOCKOPTFUNCTION, sockopt);
	sym_curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	sym_curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->curl_err);
	if (c->cafile != NULL)
		sym_curl_easy_setopt(c->easy, CURLOPT_CAINFO, c->cafile);
	if (c->certfile != NULL)
		sym_curl_easy_setopt(c->easy, CURLOPT_SSLCERT, c->certfile);
	if (c->keyfile != NULL)
		sym_curl_easy_setopt(c->easy, CURLOPT_SSLKEY, c->keyfile);
	conn_headers(c);
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->easy != NULL)
		sym_curl_easy_cleanup(c->easy);
	sym_curl_slist_free_all(c->headers);
	sym_curl_slist_free_all(c->headers_local);
	rh_buf_free(&c->reply);
	rh_strs_free(c->urls, c->nurls);
	free(c->urls_text);
	free(c->cafile);
	free(c->certfile);
	free(c->keyfile);
	free(c->user);
	if (c->password != NULL) {
		OPENSSL_cleanse(c->password, strlen(c->password));
		free(c->password);
	}
	free(c->token);
	memset(c, 0, sizeof(*c));
}

static char *
strdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* The watch's connection: the client's settings and credentials. */
static void
conn_copy(struct conn *to, const struct conn *from)
{
	size_t i;

	memset(to, 0, sizeof(*to));
	to->urls = xcalloc(from->nurls, sizeof(*to->urls));
	for (i = 0; i < from->nurls; i++)
		to->urls[i] = xstrdup(from->urls[i]);
	to->nurls = from->nurls;
	to->cur = from->cur;
	to->url = to->urls[to->cur];
	to->urls_text = xstrdup(from->urls_text);
	to->cafile = strdup_or_null(from->cafile);
	to->certfile = strdup_or_null(from->certfile);
	to->keyfile = strdup_or_null(from->keyfile);
	to->connect_ms = from->connect_ms;
	to->timeout_ms = from->timeout_ms;
	to->user = strdup_or_null(from->user);
	to->password = strdup_or_null(from->password);
	to->token = strdup_or_null(from->token);
}

/* A reason, cut to fit (messages are one line of struct rh_err). */
static void
set_why(char *why, const char *s)
{
	size_t n = strnlen(s, WHY_MAX - 1);

	memcpy(why, s, n);
	why[n] = '\0';
}

/* How an attempt on one member ended: what to do next. */
enum outcome {
	ANSWERED,       /* etcd answered, maybe with an error: final */
	NOT_TAKEN,      /* the member never got the request: ask another */
	NO_LEADER,      /* the member has no leader: ask another, or wait */
	UNSURE,         /* no answer: the request may have been carried out */
};

/* What a request may go through (call's flags). */
#define REQ_REPEATABLE  0x1     /* sent twice it does no harm: reads */
#define REQ_LOCAL       0x2     /* a serializable read: any member's data */
#define REQ_READ        0x4     /* changes nothing */

/* libcurl's failure as -errno, c->why saying it. */
static int
curl_errno(struct conn *c, CURLcode rc, enum outcome *how)
{
	const char *why = c->curl_err[0] ? c->curl_err :
	                  sym_curl_easy_strerror(rc);
	long sent = 0;
	int e;

	sym_curl_easy_getinfo(c->easy, CURLINFO_REQUEST_SIZE, &sent);
	*how = sent > 0 ? UNSURE : NOT_TAKEN;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		e = ETIMEDOUT;
		break;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		e = EHOSTUNREACH;
		*how = NOT_TAKEN;
		break;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		e = EINVAL;
		*how = ANSWERED;
		break;
	case CURLE_WRITE_ERROR:
		if (c->reply_overflow) {
			why = "reply too large";
			e = EFBIG;
			*how = ANSWERED;
			break;
		}
		/* FALLTHROUGH */
	default:
		e = EIO;
		break;
	}
	set_why(c->why, why);
	return -e;
}

static int
curl_fail(struct conn *c, CURLcode rc, const char *what, struct rh_err *err)
{
	enum outcome how;
	int r = curl_errno(c, rc, &how);

	return rh_err_set(err, -r, "etcd %s: %s: %s", c->url, what, c->why);
}

/*
 * The one place where etcd's answers become errno. stale is set when the
 * token is no good (expired, from before a restart, or from before a
 * change of users and roles): logging in again may help.
 */
static int
gateway_error(const char *msg, int code, int *stale)
{
	*stale = 0;
	if (strstr(msg, "invalid auth token") != NULL ||
	    strstr(msg, "user name is empty") != NULL ||
	    strstr(msg, "auth store is old") != NULL ||
	    strstr(msg, "revision in header is old") != NULL || code == 16) {
		*stale = 1;
		return EACCES;
	}
	if (code == 7 || strstr(msg, "permission denied") != NULL ||
	    strstr(msg, "authentication failed") != NULL)
		return EACCES;
	if (strstr(msg, "already exists") != NULL)
		return EEXIST;
	if (strstr(msg, "root user") != NULL)
		return EINVAL;  /* enabling auth without a root user */
	if (strstr(msg, "not found") != NULL ||
	    strstr(msg, "not granted") != NULL)
		return ENOENT;
	if (strstr(msg, "has been compacted") != NULL)
		return ESTALE;
	if (strstr(msg, "future revision") != NULL)
		return ERANGE;
	if (strstr(msg, "too large") != NULL)
		return EFBIG;
	if (strstr(msg, "too many requests") != NULL)
		return EBUSY;
	if (code == 4 || strstr(msg, "timed out") != NULL ||
	    strstr(msg, "deadline exceeded") != NULL)
		return ETIMEDOUT;
	if (code == 3 || code == 9 || code == 11)
		return EINVAL;
	return EIO;
}

/* Whether an error answer is the member's trouble rather than etcd's
 * verdict on the request. "no leader" comes before the request is
 * looked at; a timeout or a lost leader may come after it was
 * proposed. */
static enum outcome
gateway_outcome(const char *msg, int code)
{
	if (strstr(msg, "no leader") != NULL)
		return NO_LEADER;
	if (code == 14 || strstr(msg, "leader changed") != NULL ||
	    strstr(msg, "request timed out") != NULL ||
	    strstr(msg, "deadline exceeded") != NULL ||
	    strstr(msg, "server stopped") != NULL)
		return UNSURE;
	return ANSWERED;
}

static const char *
short_msg(const char *msg)
{
	if (strncmp(msg, "etcdserver: ", 12) == 0)
		return msg + 12;
	return msg;
}

static int
reply_errno(struct conn *c, long status, const cJSON *j, int *stale,
            enum outcome *how)
{
	const char *msg = rh_json_str(j, "message");
	int code = (int)json_i64(j, "code");

	*stale = 0;
	if (msg == NULL)
		msg = rh_json_str(j, "error");
	if (msg == NULL) {
		/* Not etcd: a proxy in front of a member that is gone? */
		snprintf(c->why, sizeof(c->why), "HTTP %ld and no etcd "
		         "answer (not an etcd v3 gateway?)", status);
		*how = status >= 500 ? UNSURE : ANSWERED;
		return -EIO;
	}
	set_why(c->why, short_msg(msg));
	*how = gateway_outcome(msg, code);
	return -gateway_error(msg, code, stale);
}

/* POST body to path on the member in use; on success *reply is etcd's
 * answer, to delete. A failure is -errno with c->why. */
static int
conn_post(struct conn *c, const char *path, const char *body, int flags,
          long connect_ms, long timeout_ms, cJSON **reply, int *stale,
          enum outcome *how)
{
	char *url = xasprintf("%s%s", c->url, path);
	long status = 0, connects = 0;
	CURLcode rc;
	cJSON *j;
	int r;

	*stale = 0;
	*reply = NULL;
	*how = ANSWERED;
	rh_buf_truncate(&c->reply, 0);
	c->reply_overflow = 0;
	c->curl_err[0] = '\0';
	c->why[0] = '\0';
	sym_curl_easy_setopt(c->easy, CURLOPT_URL, url);
	sym_curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	sym_curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	sym_curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, flags & REQ_LOCAL ?
	                 c->headers_local : c->headers);
	sym_curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	sym_curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	sym_curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, reply_write);
	sym_curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
	rc = sym_curl_easy_perform(c->easy);
	free(url);
	c->stats.requests++;
	if (sym_curl_easy_getinfo(c->easy, CURLINFO_NUM_CONNECTS, &connects) ==
	    CURLE_OK && connects > 0)
		c->stats.connects += (uint64_t)connects;
	if (rc != CURLE_OK)
		return curl_errno(c, rc, how);
	sym_curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	j = rh_json_parse(c->reply.data ? c->reply.data : "", c->reply.len,
	                  "an etcd answer", NULL);
	if (c->reply.cap > (1u << 20))
		rh_buf_free(&c->reply); /* a big listing: do not keep it */
	if (status == 200 && cJSON_IsObject(j)) {
		*reply = j;
		return 0;
	}
	r = reply_errno(c, status, j, stale, how);
	cJSON_Delete(j);
	return r;
}

/* The next member, for this request and the ones after it. Logged
 * when the member left had been answering (first): not each step of a
 * round that finds none. */
static void
conn_next(struct conn *c, int first)
{
	const char *from = c->url;

	c->cur = (c->cur + 1) % c->nurls;
	c->url = c->urls[c->cur];
	c->stats.failovers++;
	rh_log(first ? RH_LOG_INFO : RH_LOG_DEBUG, "etcd %s: %s; asking %s",
	       from, c->why, c->url);
}

/* Sleep ms, but not past deadline; 0 if there was time left. */
static int
sleep_until(long ms, int64_t deadline)
{
	int64_t left = deadline - rh_now_ms();
	struct timespec ts;

	if (left <= 0)
		return -1;
	if (ms > left)
		ms = (long)left;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	return 0;
}

/* The error of a request no member answered: each member's reason.
 * No quorum is what a member without leader says, or what it means when
 * most members cannot be reached. */
static int
members_fail(struct conn *c, int e, char (*whys)[WHY_MAX], int noleader,
             size_t unreachable, int unsure, const char *what,
             struct rh_err *err)
{
	struct rh_buf b = { 0 };
	size_t i, n = 0, last = 0;

	for (i = 0; i < c->nurls; i++)
		if (whys[i][0] != '\0') {
			n++;
			last = i;
		}
	if (n == 1)
		rh_buf_printf(&b, "%s", whys[last]);
	else
		for (i = 0; i < c->nurls; i++)
			if (whys[i][0] != '\0')
				rh_buf_printf(&b, "%s%s: %s", b.len ? "; " :
				               "", c->urls[i], whys[i]);
	rh_buf_reserve(&b, 0);
	rh_err_set(err, e, "etcd %s: %s: %s%s%s", n == 1 ? c->urls[last] :
	           c->urls_text, what, noleader || (c->nurls > 1 &&
	           unreachable * 2 > c->nurls) ? "etcd has no quorum: " : "",
	           b.data, unsure ? " (it may or may not have been done)" :
	           "");
	rh_buf_free(&b);
	return -e;
}

/*
 * A request, on the member in use, else on the next: a member that does
 * not answer, or has no leader, is left for the next in the list. What
 * may have been carried out already is sent again only when it is
 * REQ_REPEATABLE (*unsure says that happened). While a member says it
 * has no leader, or a repeatable request gets no answer (an election,
 * or no quorum), the members are asked again. All within the timeout:
 * of several members, one gets at most half of the time left to connect,
 * and to answer what may be sent again, so that another can be asked.
 * stale as conn_post.
 */
static int
conn_request(struct conn *c, const char *path, const char *body, int flags,
             cJSON **reply, const char *what, int *stale, int *unsure,
             struct rh_err *err)
{
	char (*whys)[WHY_MAX] = xcalloc(c->nurls, sizeof(*whys));
	unsigned char *gone = xcalloc(c->nurls, 1);     /* never reached */
	int64_t deadline = rh_now_ms() + c->timeout_ms, left, share;
	long wait = BACKOFF_MIN_MS;
	size_t tried = 0, unreachable = 0, i;
	int r, noleader = 0, rounds = 0;
	enum outcome how;

	*unsure = 0;
	for (;;) {
		left = deadline - rh_now_ms();
		share = c->nurls > 1 ? left / 2 : left;
		if (share < 1)
			share = 1;
		r = conn_post(c, path, body, flags, share < c->connect_ms ?
		              (long)share : c->connect_ms, flags &
		              REQ_REPEATABLE ? (long)share : (long)(left > 1 ?
		              left : 1), reply, stale, &how);
		if (how == ANSWERED)
			break;
		set_why(whys[c->cur], c->why);
		gone[c->cur] = how == NOT_TAKEN;
		noleader |= how == NO_LEADER;
		*unsure |= how == UNSURE;
		if (c->nurls > 1)
			conn_next(c, tried == 0 && rounds == 0);
		if (how == UNSURE && !(flags & REQ_REPEATABLE))
			break;
		if (rh_now_ms() >= deadline)
			break;
		if (++tried < c->nurls)
			continue;
		/* Every member failed. No leader anywhere, or no answer, is
		 * an election (or no quorum): ask again until the time is
		 * up. */
		if (!(noleader || *unsure) || sleep_until(wait, deadline) < 0)
			break;
		wait = wait * 2 > ELECTION_WAIT_MAX_MS ? ELECTION_WAIT_MAX_MS :
		       wait * 2;
		tried = 0;
		rounds++;
	}
	if (how == ANSWERED && r < 0)
		rh_err_set(err, -r, "etcd %s: %s: %s", c->url, what, c->why);
	else if (how != ANSWERED) {
		for (i = 0; i < c->nurls; i++)
			unreachable += gone[i];
		r = members_fail(c, noleader ? EIO : -r, whys, noleader,
		                 unreachable, *unsure && !(flags & REQ_READ),
		                 what, err);
	}
	free(whys);
	free(gone);
	return r;
}

/* Log in; the token is kept only when it was given. */
static int
conn_authenticate(struct conn *c, struct rh_err *err)
{
	cJSON *body = cJSON_CreateObject(), *reply;
	const char *token;
	char *text, *what;
	int r, stale, unsure;

	conn_set_token(c, NULL);
	cJSON_AddStringToObject(body, "name", c->user);
	cJSON_AddStringToObject(body, "password", c->password);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (text == NULL)
		abort();
	what = xasprintf("log in as %s", c->user);
	r = conn_request(c, "/v3/auth/authenticate", text, REQ_REPEATABLE |
	                 REQ_READ, &reply, what, &stale, &unsure, err);
	OPENSSL_cleanse(text, strlen(text));
	cJSON_free(text);
	if (r == 0) {
		if ((token = rh_json_str(reply, "token")) == NULL ||
		    strpbrk(token, "\r\n") != NULL)
			r = rh_err_set(err, EIO, "etcd %s: %s: no token in the "
			               "answer", c->url, what);
		else
			conn_set_token(c, token);
		cJSON_Delete(reply);
	}
	free(what);
	return r;
}

/* A request, logging in again once if etcd no longer takes the token;
 * *unsure as conn_request. */
static int
conn_call(struct conn *c, const char *path, cJSON *body, int flags,
          cJSON **reply, const char *what, int *unsure, struct rh_err *err)
{
	char *text = cJSON_PrintUnformatted(body);
	int r, stale, again;

	if (text == NULL)
		abort();
	r = conn_request(c, path, text, flags, reply, what, &stale, unsure,
	                 err);
	if (r < 0 && stale && c->user != NULL) {
		rh_debug("%s; logging in again", err ? err->msg : what);
		c->stats.reauths++;
		if ((r = conn_authenticate(c, err)) == 0) {
			r = conn_request(c, path, text, flags, reply, what,
			                 &stale, &again, err);
			*unsure |= again;
		}
	}
	cJSON_free(text);
	return r;
}

/* As conn_call, for a client shared by threads; takes body. unsure may
 * be NULL. */
static int
call_flags(struct rh_etcd *c, const char *path, cJSON *body, int flags,
           cJSON **reply, const char *what, int *unsure, struct rh_err *err)
{
	int r, u;

	pthread_mutex_lock(&c->lock);
	r = conn_call(&c->conn, path, body, flags, reply, what, &u, err);
	pthread_mutex_unlock(&c->lock);
	cJSON_Delete(body);
	if (unsure != NULL)
		*unsure = u;
	return r;
}

/* A request that changes something: not sent twice. */
static int
call(struct rh_etcd *c, const char *path, cJSON *body, cJSON **reply,
     const char *what, struct rh_err *err)
{
	return call_flags(c, path, body, 0, reply, what, NULL, err);
}

/* A read: asked again of another member when one does not answer. */
static int
call_read(struct rh_etcd *c, const char *path, cJSON *body, cJSON **reply,
          const char *what, struct rh_err *err)
{
	return call_flags(c, path, body, REQ_REPEATABLE | REQ_READ, reply, what,
	                  NULL, err);
}

/* ---- the client --------------------------------------------------------- */

int
rh_etcd_members(const char *list, char ***urls, size_t *n, struct rh_err *err)
{
	const char *p = list, *comma, *host;
	size_t len;
	char *u;

	*urls = NULL;
	*n = 0;
	if (list == NULL || *list == '\0')
		return rh_err_set(err, EINVAL, "etcd: no URL (http://HOST:PORT"
		                  "[,http://HOST:PORT...])");
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		u = xstrndup(p, len);
		host = strncmp(u, "http://", 7) == 0 ? u + 7 :
		       strncmp(u, "https://", 8) == 0 ? u + 8 : NULL;
		if (host == NULL || *host == '\0' || *host == '/' ||
		    strpbrk(u, " \t\r\n") != NULL) {
			rh_err_set(err, EINVAL, "etcd %s: '%s' %s%s", list, u,
			           host == NULL ? "is not an http:// or https:// "
			           "URL" : strpbrk(u, " \t\r\n") ? "has a blank"
			           : "has no host", *n > 0 || comma ? " (members "
			           "are separated by commas, as URL,URL)" : "");
			free(u);
			rh_strs_free(*urls, *n);
			*urls = NULL;
			*n = 0;
			return -EINVAL;
		}
		while (len > 0 && u[len - 1] == '/')
			u[--len] = '\0';
		*urls = xrealloc(*urls, (*n + 1) * sizeof(**urls));
		(*urls)[(*n)++] = u;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

int
rh_etcd_new(const struct rh_etcd_opts *o, struct rh_etcd **out,
            struct rh_err *err)
{
	struct rh_etcd *c;
	struct rh_buf text = { 0 };
	size_t i;
	int r;

	*out = NULL;
	if (rh_curl_load("etcd", err) < 0)
		return -1;
	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	if ((r = rh_etcd_members(o->url, &c->conn.urls, &c->conn.nurls,
	                         err)) < 0) {
		rh_etcd_free(c);
		return r;
	}
	for (i = 0; i < c->conn.nurls; i++)
		rh_buf_printf(&text, "%s%s", i ? "," : "", c->conn.urls[i]);
	c->conn.urls_text = text.data;
	c->conn.url = c->conn.urls[0];
	c->conn.cafile = strdup_or_null(o->cafile);
	c->conn.certfile = strdup_or_null(o->certfile);
	c->conn.keyfile = strdup_or_null(o->keyfile);
	c->conn.connect_ms = o->connect_timeout_ms > 0 ?
	                     o->connect_timeout_ms : DEFAULT_TIMEOUT_MS;
	c->conn.timeout_ms = o->timeout_ms > 0 ? o->timeout_ms :
	                     DEFAULT_TIMEOUT_MS;
	if ((r = conn_open(&c->conn, err)) < 0) {
		rh_etcd_free(c);
		return r;
	}
	*out = c;
	return 0;
}

void
rh_etcd_free(struct rh_etcd *c)
{
	if (c == NULL)
		return;
	conn_close(&c->conn);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

const char *
rh_etcd_url(const struct rh_etcd *c)
{
	return c->conn.urls_text;
}

void
rh_etcd_stats(struct rh_etcd *c, struct rh_etcd_stats *st)
{
	pthread_mutex_lock(&c->lock);
	*st = c->conn.stats;
	pthread_mutex_unlock(&c->lock);
}

int
rh_etcd_auth(struct rh_etcd *c, const char *user, const char *password,
             struct rh_err *err)
{
	struct conn *cn = &c->conn;
	int r;

	pthread_mutex_lock(&c->lock);
	free(cn->user);
	if (cn->password != NULL) {
		OPENSSL_cleanse(cn->password, strlen(cn->password));
		free(cn->password);
	}
	cn->user = xstrdup(user);
	cn->password = xstrdup(password);
	if ((r = conn_authenticate(cn, err)) < 0) {
		/* Never log in again later with what was refused now. */
		free(cn->user);
		OPENSSL_cleanse(cn->password, strlen(cn->password));
		free(cn->password);
		cn->user = cn->password = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

char *
rh_etcd_token(struct rh_etcd *c)
{
	char *t;

	pthread_mutex_lock(&c->lock);
	t = strdup_or_null(c->conn.token);
	pthread_mutex_unlock(&c->lock);
	return t;
}

void
rh_etcd_set_token(struct rh_etcd *c, const char *token)
{
	pthread_mutex_lock(&c->lock);
	if (token != NULL && strpbrk(token, "\r\n") != NULL)
		token = NULL;   /* would break the header */
	conn_set_token(&c->conn, token);
	pthread_mutex_unlock(&c->lock);
}

/* ---- keys --------------------------------------------------------------- */

static int
kv_parse(const cJSON *j, struct rh_etcd_kv *kv, int keys_only)
{
	int r;

	memset(kv, 0, sizeof(*kv));
	if ((r = json_b64(j, "key", &kv->key, &kv->key_len)) < 0)
		return r;
	if (!keys_only &&
	    (r = json_b64(j, "value", &kv->value, &kv->value_len)) < 0) {
		free(kv->key);
		kv->key = NULL;
		return r;
	}
	kv->create_revision = json_i64(j, "create_revision");
	kv->mod_revision = json_i64(j, "mod_revision");
	kv->version = json_i64(j, "version");
	return 0;
}

void
rh_etcd_kv_free(struct rh_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void
rh_etcd_kvs_free(struct rh_etcd_kvs *kvs)
{
	size_t i;

	for (i = 0; i < kvs->n; i++)
		rh_etcd_kv_free(&kvs->kv[i]);
	free(kvs->kv);
	memset(kvs, 0, sizeof(*kvs));
}

/* A RangeResponse: kvs, count, more (each left out when empty). */
static int
kvs_parse(const cJSON *j, struct rh_etcd_kvs *out, int keys_only)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "kvs"), *e;
	int r;

	memset(out, 0, sizeof(*out));
	out->count = json_i64(j, "count");
	out->more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "more"));
	out->revision = json_i64(cJSON_GetObjectItemCaseSensitive(j,
	                         "header"), "revision");
	if (!cJSON_IsArray(list))
		return 0;
	out->kv = xcalloc((size_t)cJSON_GetArraySize(list) + 1,
	                  sizeof(*out->kv));
	cJSON_ArrayForEach(e, list) {
		if ((r = kv_parse(e, &out->kv[out->n], keys_only)) < 0) {
			rh_etcd_kvs_free(out);
			return r;
		}
		out->n++;
	}
	return 0;
}

static int
check_sizes(size_t key_len, size_t value_len)
{
	return key_len > DATUM_MAX || value_len > DATUM_MAX ? -EFBIG : 0;
}

static cJSON *
range_json(const struct rh_etcd_op *op)
{
	cJSON *o = cJSON_CreateObject();

	json_add_range(o, op->key, op->key_len, op->end, op->end_len,
	               op->flags);
	if (op->limit > 0)
		json_add_i64(o, "limit", op->limit);
	if (op->revision > 0)
		json_add_i64(o, "revision", op->revision);
	if (op->flags & RH_ETCD_KEYS_ONLY)
		cJSON_AddTrueToObject(o, "keys_only");
	if (op->flags & RH_ETCD_COUNT_ONLY)
		cJSON_AddTrueToObject(o, "count_only");
	if (op->flags & RH_ETCD_SERIALIZABLE)
		cJSON_AddTrueToObject(o, "serializable");
	return o;
}

static cJSON *
put_json(const char *key, size_t klen, const char *value, size_t vlen)
{
	cJSON *o = cJSON_CreateObject();

	rh_json_add_b64(o, "key", key, klen);
	rh_json_add_b64(o, "value", value ? value : "", value ? vlen : 0);
	return o;
}

static cJSON *
delete_json(const char *key, size_t klen, const char *end, size_t elen,
            int flags)
{
	cJSON *o = cJSON_CreateObject();

	json_add_range(o, key, klen, end, elen, flags);
	return o;
}

static void
describe(char *what, size_t size, const char *verb, const char *key,
         size_t klen, int flags)
{
	char k[128];

	snprintf(what, size, "%s %s%s", verb, show_key(key, klen, k,
	         sizeof(k)), flags & RH_ETCD_PREFIX ? "*" : "");
}

int
rh_etcd_range(struct rh_etcd *c, const struct rh_etcd_op *op,
              struct rh_etcd_kvs *out, struct rh_err *err)
{
	cJSON *reply;
	char what[192];
	int r;

	memset(out, 0, sizeof(*out));
	describe(what, sizeof(what), "range", op->key, op->key_len,
	         op->flags);
	if (check_sizes(op->key_len, op->end_len) < 0)
		return rh_err_set(err, EFBIG, "etcd: %s: key too long", what);
	if ((r = call_flags(c, "/v3/kv/range", range_json(op),
	                    REQ_REPEATABLE | REQ_READ | (op->flags &
	                    RH_ETCD_SERIALIZABLE ? REQ_LOCAL : 0), &reply, what,
	                    NULL, err)) < 0)
		return r;
	if ((r = kvs_parse(reply, out, op->flags & (RH_ETCD_KEYS_ONLY |
	                   RH_ETCD_COUNT_ONLY))) < 0)
		rh_err_set(err, -r, "etcd %s: %s: bad base64 in the answer",
		           c->conn.urls_text, what);
	cJSON_Delete(reply);
	return r;
}

int
rh_etcd_get(struct rh_etcd *c, const char *key, size_t key_len,
            struct rh_etcd_kv *out, struct rh_err *err)
{
	struct rh_etcd_op op = { .type = RH_ETCD_RANGE, .key = key,
	                         .key_len = key_len };
	struct rh_etcd_kvs kvs;
	char k[128];
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = rh_etcd_range(c, &op, &kvs, err)) < 0)
		return r;
	if (kvs.n == 0) {
		rh_etcd_kvs_free(&kvs);
		return rh_err_set(err, ENOENT, "etcd %s: get %s: no such key",
		                  c->conn.urls_text, show_key(key, key_len, k,
		                  sizeof(k)));
	}
	*out = kvs.kv[0];
	memset(&kvs.kv[0], 0, sizeof(kvs.kv[0]));
	rh_etcd_kvs_free(&kvs);
	return 0;
}

int
rh_etcd_put(struct rh_etcd *c, const char *key, size_t key_len,
            const char *value, size_t value_len, int64_t *revision,
            struct rh_err *err)
{
	cJSON *reply;
	char what[192];
	int r;

	describe(what, sizeof(what), "put", key, key_len, 0);
	if (check_sizes(key_len, value_len) < 0)
		return rh_err_set(err, EFBIG, "etcd: %s: too large", what);
	if ((r = call(c, "/v3/kv/put", put_json(key, key_len, value,
	              value_len), &reply, what, err)) < 0)
		return r;
	if (revision != NULL)
		*revision = json_i64(cJSON_GetObjectItemCaseSensitive(reply,
		                     "header"), "revision");
	cJSON_Delete(reply);
	return 0;
}

int
rh_etcd_delete(struct rh_etcd *c, const char *key, size_t key_len,
               int flags, int64_t *deleted, struct rh_err *err)
{
	cJSON *reply;
	char what[192];
	int r;

	describe(what, sizeof(what), "delete", key, key_len, flags);
	if (check_sizes(key_len, 0) < 0)
		return rh_err_set(err, EFBIG, "etcd: %s: key too long", what);
	if ((r = call(c, "/v3/kv/deleterange", delete_json(key, key_len,
	              NULL, 0, flags), &reply, what, err)) < 0)
		return r;
	if (deleted != NULL)
		*deleted = json_i64(reply, "deleted");
	cJSON_Delete(reply);
	return 0;
}

/* ---- transactions ------------------------------------------------------- */

static cJSON *
cmp_json(const struct rh_etcd_cmp *cmp)
{
	static const char *const targets[] = { "VERSION", "CREATE", "MOD",
	                                       "VALUE" };
	static const char *const results[] = { "EQUAL", "NOT_EQUAL",
	                                       "GREATER", "LESS" };
	cJSON *o = cJSON_CreateObject();

	rh_json_add_b64(o, "key", cmp->key, cmp->key_len);
	cJSON_AddStringToObject(o, "target", targets[cmp->target]);
	cJSON_AddStringToObject(o, "result", results[cmp->result]);
	switch (cmp->target) {
	case RH_ETCD_VERSION:
		json_add_i64(o, "version", cmp->number);
		break;
	case RH_ETCD_CREATE:
		json_add_i64(o, "create_revision", cmp->number);
		break;
	case RH_ETCD_MOD:
		json_add_i64(o, "mod_revision", cmp->number);
		break;
	case RH_ETCD_VALUE:
		rh_json_add_b64(o, "value", cmp->value ? cmp->value : "",
		             cmp->value ? cmp->value_len : 0);
		break;
	}
	return o;
}

static cJSON *
request_json(const struct rh_etcd_op *op)
{
	cJSON *o = cJSON_CreateObject();

	switch (op->type) {
	case RH_ETCD_RANGE:
		cJSON_AddItemToObject(o, "request_range", range_json(op));
		break;
	case RH_ETCD_PUT:
		cJSON_AddItemToObject(o, "request_put", put_json(op->key,
		                      op->key_len, op->value, op->value_len));
		break;
	case RH_ETCD_DELETE:
		cJSON_AddItemToObject(o, "request_delete_range",
		                      delete_json(op->key, op->key_len, op->end,
		                                  op->end_len, op->flags));
		break;
	}
	return o;
}

static int
ops_check(const struct rh_etcd_op *ops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ops[i].type > RH_ETCD_DELETE)
			return -EINVAL;
		if (check_sizes(ops[i].key_len, ops[i].value_len) < 0 ||
		    check_sizes(ops[i].end_len, 0) < 0)
			return -EFBIG;
	}
	return 0;
}

static cJSON *
ops_json(const struct rh_etcd_op *ops, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(a, request_json(&ops[i]));
	return a;
}

void
rh_etcd_txn_result_free(struct rh_etcd_txn_result *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		rh_etcd_kvs_free(&r->results[i].range);
	free(r->results);
	memset(r, 0, sizeof(*r));
}

/* The responses, one per op of the branch that ran, in order. */
static int
txn_parse(const cJSON *reply, const struct rh_etcd_op *ops, size_t nops,
          struct rh_etcd_txn_result *out)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(reply,
	                    "responses"), *e, *v;
	struct rh_etcd_result *res;
	int r;

	out->succeeded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply,
	                              "succeeded"));
	out->revision = json_i64(cJSON_GetObjectItemCaseSensitive(reply,
	                         "header"), "revision");
	out->results = xcalloc(nops + 1, sizeof(*out->results));
	if (!cJSON_IsArray(list))
		return nops == 0 ? 0 : -EIO;
	cJSON_ArrayForEach(e, list) {
		if (out->n == nops)
			return -EIO;
		res = &out->results[out->n];
		res->type = ops[out->n].type;
		if ((v = cJSON_GetObjectItemCaseSensitive(e,
		     "response_range")) != NULL) {
			if (res->type != RH_ETCD_RANGE)
				return -EIO;
			if ((r = kvs_parse(v, &res->range, ops[out->n].flags &
			     (RH_ETCD_KEYS_ONLY | RH_ETCD_COUNT_ONLY))) < 0)
				return r;
		} else if ((v = cJSON_GetObjectItemCaseSensitive(e,
		            "response_delete_range")) != NULL) {
			if (res->type != RH_ETCD_DELETE)
				return -EIO;
			res->deleted = json_i64(v, "deleted");
		} else if (res->type != RH_ETCD_PUT ||
		           !cJSON_HasObjectItem(e, "response_put"))
			return -EIO;
		out->n++;
	}
	return out->n == nops ? 0 : -EIO;
}

/* Whether op writes key (that key alone). */
static int
op_writes(const struct rh_etcd_op *op, const char *key, size_t len)
{
	return op->type != RH_ETCD_RANGE && op->end == NULL &&
	       !(op->flags & RH_ETCD_PREFIX) && op->key_len == len &&
	       memcmp(op->key, key, len) == 0;
}

static int
ops_write(const struct rh_etcd_op *ops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ops[i].type != RH_ETCD_RANGE)
			return 1;
	return 0;
}

/*
 * May the transaction be sent again when the first try may have been
 * carried out? Yes when it only reads, or when one of its compares is
 * made false by its own success ops (a compare-and-swap): done once, it
 * cannot be done twice. Its failure branch must not write, and its
 * success branch must not read (txn_was_done could not answer those).
 */
static int
txn_repeatable(const struct rh_etcd_txn *t)
{
	const struct rh_etcd_cmp *cmp;
	const struct rh_etcd_op *op;
	size_t i, j;

	if (ops_write(t->failure, t->nfailure))
		return 0;
	if (!ops_write(t->success, t->nsuccess))
		return 1;
	for (i = 0; i < t->nsuccess; i++)
		if (t->success[i].type == RH_ETCD_RANGE)
			return 0;
	for (i = 0; i < t->ncmp; i++) {
		cmp = &t->cmp[i];
		if (cmp->result != RH_ETCD_EQUAL ||
		    cmp->target == RH_ETCD_VALUE)
			continue;
		for (j = 0; j < t->nsuccess; j++) {
			op = &t->success[j];
			if (!op_writes(op, cmp->key, cmp->key_len))
				continue;
			/* A put moves mod_revision and version on, and
			 * create_revision from 0; a delete takes all to 0. */
			if (op->type == RH_ETCD_PUT &&
			    (cmp->target != RH_ETCD_CREATE || cmp->number == 0))
				return 1;
			if (op->type == RH_ETCD_DELETE && cmp->number != 0)
				return 1;
		}
	}
	return 0;
}

/*
 * A compare-and-swap sent again after a try that got no answer found
 * its compares false: did that try make them so? Yes when every key it
 * puts holds its value, all written at one revision, and every key it
 * deletes is gone; then out says it succeeded, at that revision.
 */
static void
txn_was_done(struct rh_etcd *c, const struct rh_etcd_txn *t,
             struct rh_etcd_txn_result *out)
{
	struct rh_etcd_op *reads = xcalloc(t->nsuccess + 1, sizeof(*reads));
	struct rh_etcd_txn check = { NULL, 0, reads, t->nsuccess, NULL, 0 };
	struct rh_etcd_txn_result res;
	const struct rh_etcd_kvs *kvs;
	const struct rh_etcd_op *op;
	struct rh_err err;
	int64_t rev = 0;
	size_t i;
	int done = 1;

	for (i = 0; i < t->nsuccess; i++) {
		reads[i].type = RH_ETCD_RANGE;
		reads[i].key = t->success[i].key;
		reads[i].key_len = t->success[i].key_len;
	}
	if (rh_etcd_txn(c, &check, &res, &err) < 0) {
		free(reads);
		return;         /* no better answer than the one we have */
	}
	free(reads);
	for (i = 0; i < t->nsuccess && done; i++) {
		kvs = &res.results[i].range;
		op = &t->success[i];
		if (op->type == RH_ETCD_DELETE) {
			done = kvs->n == 0;
			continue;
		}
		done = kvs->n == 1 && kvs->kv[0].value_len == op->value_len &&
		       (op->value_len == 0 || memcmp(kvs->kv[0].value,
		        op->value, op->value_len) == 0) &&
		       (rev == 0 || kvs->kv[0].mod_revision == rev);
		if (done)
			rev = kvs->kv[0].mod_revision;
	}
	if (done) {
		rh_info("etcd %s: txn: the try that got no answer was carried "
		        "out", c->conn.urls_text);
		rh_etcd_txn_result_free(out);
		out->succeeded = 1;
		out->revision = rev ? rev : res.revision;
		out->results = xcalloc(t->nsuccess + 1, sizeof(*out->results));
		for (i = 0; i < t->nsuccess; i++) {
			out->results[i].type = t->success[i].type;
			/* its compares held: what it deletes was there */
			out->results[i].deleted = 1;
		}
		out->n = t->nsuccess;
	}
	rh_etcd_txn_result_free(&res);
}

int
rh_etcd_txn(struct rh_etcd *c, const struct rh_etcd_txn *t,
            struct rh_etcd_txn_result *out, struct rh_err *err)
{
	cJSON *body, *a, *reply;
	size_t i;
	int r, repeatable, unsure;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < t->ncmp; i++)
		if (t->cmp[i].target > RH_ETCD_VALUE ||
		    t->cmp[i].result > RH_ETCD_LESS ||
		    check_sizes(t->cmp[i].key_len, t->cmp[i].value_len) < 0)
			return rh_err_set(err, EINVAL, "etcd %s: txn: bad "
			                  "compare %zu", c->conn.urls_text, i);
	if ((r = ops_check(t->success, t->nsuccess)) < 0 ||
	    (r = ops_check(t->failure, t->nfailure)) < 0)
		return rh_err_set(err, -r, "etcd %s: txn: bad operation",
		                  c->conn.urls_text);
	body = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(body, "compare");
	for (i = 0; i < t->ncmp; i++)
		cJSON_AddItemToArray(a, cmp_json(&t->cmp[i]));
	cJSON_AddItemToObject(body, "success", ops_json(t->success,
	                      t->nsuccess));
	cJSON_AddItemToObject(body, "failure", ops_json(t->failure,
	                      t->nfailure));
	repeatable = txn_repeatable(t);
	if ((r = call_flags(c, "/v3/kv/txn", body, (repeatable ?
	                    REQ_REPEATABLE : 0) | (ops_write(t->success,
	                    t->nsuccess) || ops_write(t->failure,
	                    t->nfailure) ? 0 : REQ_READ), &reply, "txn",
	                    &unsure, err)) < 0)
		return r;
	r = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "succeeded"))
	    ? txn_parse(reply, t->success, t->nsuccess, out)
	    : txn_parse(reply, t->failure, t->nfailure, out);
	cJSON_Delete(reply);
	if (r < 0) {
		rh_etcd_txn_result_free(out);
		return rh_err_set(err, -r, "etcd %s: txn: answer does not "
		                  "match the request", c->conn.urls_text);
	}
	if (!out->succeeded && unsure && ops_write(t->success, t->nsuccess))
		txn_was_done(c, t, out);
	return 0;
}

int
rh_etcd_put_if(struct rh_etcd *c, const char *key, size_t key_len,
               const char *value, size_t value_len, int64_t expect,
               int64_t *revision, struct rh_err *err)
{
	struct rh_etcd_cmp cmp = { .key = key, .key_len = key_len,
	                           .target = RH_ETCD_MOD,
	                           .result = RH_ETCD_EQUAL, .number = expect };
	struct rh_etcd_op put = { .type = RH_ETCD_PUT, .key = key,
	                          .key_len = key_len, .value = value,
	                          .value_len = value_len };
	struct rh_etcd_txn txn = { &cmp, 1, &put, 1, NULL, 0 };
	struct rh_etcd_txn_result res;
	char k[128];
	int r;

	if ((r = rh_etcd_txn(c, &txn, &res, err)) < 0)
		return r;
	if (!res.succeeded)
		r = rh_err_set(err, EAGAIN, "etcd %s: put %s: changed since it "
		               "was read", c->conn.urls_text, show_key(key, key_len,
		               k, sizeof(k)));
	else if (revision != NULL)
		*revision = res.revision;
	rh_etcd_txn_result_free(&res);
	return r;
}

int
rh_etcd_compact(struct rh_etcd *c, int64_t revision, int physical,
                struct rh_err *err)
{
	cJSON *body = cJSON_CreateObject(), *reply;
	char what[64];
	int r;

	snprintf(what, sizeof(what), "compact to %lld", (long long)revision);
	json_add_i64(body, "revision", revision);
	if (physical)
		cJSON_AddTrueToObject(body, "physical");
	if ((r = call(c, "/v3/kv/compaction", body, &reply, what, err)) < 0)
		return r;
	cJSON_Delete(reply);
	return 0;
}

/* ---- users and roles ---------------------------------------------------- */

/* A call whose answer carries nothing but a header. */
static int
call_simple(struct rh_etcd *c, const char *path, cJSON *body,
            const char *what, struct rh_err *err)
{
	cJSON *reply;
	int r;

	if ((r = call(c, path, body, &reply, what, err)) == 0)
		cJSON_Delete(reply);
	return r;
}

static cJSON *
names_json(const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, k1, v1);
	if (k2 != NULL)
		cJSON_AddStringToObject(o, k2, v2);
	return o;
}

int
rh_etcd_auth_enable(struct rh_etcd *c, struct rh_err *err)
{
	return call_simple(c, "/v3/auth/enable", cJSON_CreateObject(),
	                   "enable auth", err);
}

int
rh_etcd_auth_disable(struct rh_etcd *c, struct rh_err *err)
{
	return call_simple(c, "/v3/auth/disable", cJSON_CreateObject(),
	                   "disable auth", err);
}

int
rh_etcd_user_add(struct rh_etcd *c, const char *user, const char *password,
                 struct rh_err *err)
{
	char what[RH_NAME_MAX + 32];

	snprintf(what, sizeof(what), "add user %s", user);
	return call_simple(c, "/v3/auth/user/add", names_json("name", user,
	                   "password", password), what, err);
}

int
rh_etcd_user_delete(struct rh_etcd *c, const char *user, struct rh_err *err)
{
	char what[RH_NAME_MAX + 32];

	snprintf(what, sizeof(what), "delete user %s", user);
	return call_simple(c, "/v3/auth/user/delete", names_json("name", user,
	                   NULL, NULL), what, err);
}

int
rh_etcd_user_passwd(struct rh_etcd *c, const char *user,
                    const char *password, struct rh_err *err)
{
	char what[RH_NAME_MAX + 32];

	snprintf(what, sizeof(what), "change password of %s", user);
	return call_simple(c, "/v3/auth/user/changepw", names_json("name",
	                   user, "password", password), what, err);
}

int
rh_etcd_role_add(struct rh_etcd *c, const char *role, struct rh_err *err)
{
	char what[RH_NAME_MAX + 32];

	snprintf(what, sizeof(what), "add role %s", role);
	return call_simple(c, "/v3/auth/role/add", names_json("name", role,
	                   NULL, NULL), what, err);
}

int
rh_etcd_role_delete(struct rh_etcd *c, const char *role, struct rh_err *err)
{
	char what[RH_NAME_MAX + 32];

	snprintf(what, sizeof(what), "delete role %s", role);
	return call_simple(c, "/v3/auth/role/delete", names_json("role", role,
	                   NULL, NULL), what, err);
}

static const char *const perm_names[] = { "READ", "WRITE", "READWRITE" };

int
rh_etcd_role_grant(struct rh_etcd *c, const char *role,
                   enum rh_etcd_perm perm, const char *key, size_t key_len,
                   const char *end, size_t end_len, int flags,
                   struct rh_err *err)
{
	cJSON *body, *p;
	char what[RH_NAME_MAX + 192], k[128];

	snprintf(what, sizeof(what), "grant role %s %s on %s%s", role,
	         perm <= RH_ETCD_READWRITE ? perm_names[perm] : "?",
	         show_key(key, key_len, k, sizeof(k)),
	         flags & RH_ETCD_PREFIX ? "*" : "");
	if (perm > RH_ETCD_READWRITE)
		return rh_err_set(err, EINVAL, "etcd: %s: bad permission",
		                  what);
	if (check_sizes(key_len, end_len) < 0)
		return rh_err_set(err, EFBIG, "etcd: %s: key too long", what);
	body = names_json("name", role, NULL, NULL);
	p = cJSON_AddObjectToObject(body, "perm");
	cJSON_AddStringToObject(p, "permType", perm_names[perm]);
	json_add_range(p, key, key_len, end, end_len, flags);
	return call_simple(c, "/v3/auth/role/grant", body, what, err);
}

int
rh_etcd_role_revoke(struct rh_etcd *c, const char *role, const char *key,
                    size_t key_len, const char *end, size_t end_len,
                    int flags, struct rh_err *err)
{
	cJSON *body;
	char what[RH_NAME_MAX + 192], k[128];

	snprintf(what, sizeof(what), "revoke from role %s %s%s", role,
	         show_key(key, key_len, k, sizeof(k)),
	         flags & RH_ETCD_PREFIX ? "*" : "");
	if (check_sizes(key_len, end_len) < 0)
		return rh_err_set(err, EFBIG, "etcd: %s: key too long", what);
	body = names_json("role", role, NULL, NULL);
	json_add_range(body, key, key_len, end, end_len, flags);
	return call_simple(c, "/v3/auth/role/revoke", body, what, err);
}

int
rh_etcd_user_grant(struct rh_etcd *c, const char *user, const char *role,
                   struct rh_err *err)
{
	char what[2 * RH_NAME_MAX + 32];

	snprintf(what, sizeof(what), "grant role %s to %s", role, user);
	return call_simple(c, "/v3/auth/user/grant", names_json("user", user,
	                   "role", role), what, err);
}

int
rh_etcd_user_revoke(struct rh_etcd *c, const char *user, const char *role,
                    struct rh_err *err)
{
	char what[2 * RH_NAME_MAX + 32];

	snprintf(what, sizeof(what), "revoke role %s from %s", role, user);
	return call_simple(c, "/v3/auth/user/revoke", names_json("name", user,
	                   "role", role), what, err);
}

void
rh_etcd_perms_free(struct rh_etcd_perm_range *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].end);
	}
	free(p);
}

int
rh_etcd_user_roles(struct rh_etcd *c, const char *user, char ***roles,
                   size_t *n, struct rh_err *err)
{
	const cJSON *list, *e;
	cJSON *reply;
	char what[RH_NAME_MAX + 32];
	int r;

	*roles = NULL;
	*n = 0;
	snprintf(what, sizeof(what), "roles of %s", user);
	if ((r = call_read(c, "/v3/auth/user/get", names_json("name", user, NULL,
	              NULL), &reply, what, err)) < 0)
		return r;
	list = cJSON_GetObjectItemCaseSensitive(reply, "roles");
	*roles = xcalloc((size_t)cJSON_GetArraySize(list) + 1,
	                 sizeof(**roles));
	cJSON_ArrayForEach(e, list)
		if (cJSON_IsString(e))
			(*roles)[(*n)++] = xstrdup(e->valuestring);
	cJSON_Delete(reply);
	return 0;
}

int
rh_etcd_role_perms(struct rh_etcd *c, const char *role,
                   struct rh_etcd_perm_range **perms, size_t *n,
                   struct rh_err *err)
{
	const cJSON *list, *e;
	struct rh_etcd_perm_range *p;
	const char *type;
	cJSON *reply;
	char what[RH_NAME_MAX + 32];
	int r = 0;

	*perms = NULL;
	*n = 0;
	snprintf(what, sizeof(what), "permissions of role %s", role);
	if ((r = call_read(c, "/v3/auth/role/get", names_json("role", role, NULL,
	              NULL), &reply, what, err)) < 0)
		return r;
	list = cJSON_GetObjectItemCaseSensitive(reply, "perm");
	*perms = xcalloc((size_t)cJSON_GetArraySize(list) + 1,
	                 sizeof(**perms));
	cJSON_ArrayForEach(e, list) {
		p = &(*perms)[*n];
		type = rh_json_str(e, "permType");
		/* READ is proto3's default: left out. */
		if (type == NULL || strcmp(type, "READ") == 0)
			p->perm = RH_ETCD_READ;
		else if (strcmp(type, "WRITE") == 0)
			p->perm = RH_ETCD_WRITE;
		else
			p->perm = RH_ETCD_READWRITE;
		if ((r = json_b64(e, "key", &p->key, &p->key_len)) < 0)
			break;
		if (rh_json_str(e, "range_end") != NULL &&
		    (r = json_b64(e, "range_end", &p->end, &p->end_len)) < 0)
			break;
		(*n)++;
	}
	cJSON_Delete(reply);
	if (r < 0) {
		rh_etcd_perms_free(*perms, *n + 1);
		*perms = NULL;
		*n = 0;
		return rh_err_set(err, EIO, "etcd %s: %s: bad base64 in the "
		                  "answer", c->conn.urls_text, what);
	}
	return 0;
}

/* ---- watches ------------------------------------------------------------ */

static void
deliver(struct rh_etcd_watch *w, enum rh_etcd_event_type type,
        int64_t revision)
{
	struct rh_etcd_event ev = { .type = type, .mod_revision = revision };

	w->cb(w->arg, &ev);
}

/* Why a stream is ended: kept for the thread's loop. */
static int
watch_fail(struct rh_etcd_watch *w, int e, int stale, const char *msg)
{
	w->fail = -e;
	w->stale = stale;
	rh_err_set(&w->err, e, "etcd %s: watch: %s", w->conn.url, msg);
	return -1;
}

static int
watch_events(struct rh_etcd_watch *w, const cJSON *list)
{
	const cJSON *e, *kv;
	struct rh_etcd_event ev;
	char *key, *value;
	const char *type;

	cJSON_ArrayForEach(e, list) {
		kv = cJSON_GetObjectItemCaseSensitive(e, "kv");
		type = rh_json_str(e, "type");
		memset(&ev, 0, sizeof(ev));
		/* PUT is proto3's default: left out. */
		ev.type = type != NULL && strcmp(type, "DELETE") == 0 ?
		          RH_ETCD_EV_DELETE : RH_ETCD_EV_PUT;
		ev.mod_revision = json_i64(kv, "mod_revision");
		if (json_b64(kv, "key", &key, &ev.key_len) < 0)
			return watch_fail(w, EIO, 0, "bad base64 in an event");
		if (json_b64(kv, "value", &value, &ev.value_len) < 0) {
			free(key);
			return watch_fail(w, EIO, 0, "bad base64 in an event");
		}
		ev.key = key;
		ev.value = value;
		w->cb(w->arg, &ev);
		free(key);
		free(value);
		if (ev.mod_revision >= w->next_rev)
			w->next_rev = ev.mod_revision + 1;
	}
	return 0;
}

static void
watch_signal_started(struct rh_etcd_watch *w, int error)
{
	pthread_mutex_lock(&w->lock);
	if (!w->started) {
		w->started = 1;
		w->start_error = error;
		if (error)
			w->start_err = w->err;
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

/* One message of the stream: 0 to go on, -1 to end the stream. */
static int
watch_message(struct rh_etcd_watch *w, const char *text, size_t len)
{
	const cJSON *res, *error, *events;
	const char *msg;
	int64_t rev, compact;
	cJSON *j = rh_json_parse(text, len, "a watch message", NULL);
	int r = 0, stale, e;

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return watch_fail(w, EIO, 0, "not an etcd answer (not an etcd "
		                  "v3 gateway?)");
	}
	/* An error ending the stream, or an answer to a bad request. */
	error = cJSON_GetObjectItemCaseSensitive(j, "error");
	if (error != NULL) {
		msg = cJSON_IsString(error) ? error->valuestring :
		      rh_json_str(error, "message");
		if (msg == NULL)
			msg = "stream error";
		e = gateway_error(msg, (int)json_i64(j, "code"), &stale);
		r = watch_fail(w, e, stale, short_msg(msg));
		goto done;
	}
	res = cJSON_GetObjectItemCaseSensitive(j, "result");
	rev = json_i64(cJSON_GetObjectItemCaseSensitive(res, "header"),
	               "revision");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "canceled"))) {
		compact = json_i64(res, "compact_revision");
		if (compact > 0) {
			/* What we missed is gone: the caller reloads, and we
			 * go on from the oldest revision still kept. */
			deliver(w, RH_ETCD_EV_RESYNC, compact);
			w->next_rev = compact;
			r = watch_fail(w, ESTALE, 0, "history compacted");
			goto done;
		}
		msg = rh_json_str(res, "cancel_reason");
		if (msg == NULL)
			msg = "cancelled by etcd";
		if (strncmp(msg, "rpc error: ", 11) == 0 &&
		    strstr(msg, "desc = ") != NULL)
			msg = strstr(msg, "desc = ") + 7;
		e = gateway_error(msg, 0, &stale);
		r = watch_fail(w, e, stale, short_msg(msg));
		goto done;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "created"))) {
		w->created = 1;
		if (w->next_rev == 0)
			w->next_rev = rev + 1;
		if (!w->up) {
			w->up = 1;
			deliver(w, RH_ETCD_EV_UP, rev);
		}
		watch_signal_started(w, 0);
	}
	events = cJSON_GetObjectItemCaseSensitive(res, "events");
	if (cJSON_IsArray(events))
		r = watch_events(w, events);
	else if (w->created && !cJSON_HasObjectItem(res, "created") &&
	         rev >= w->next_rev)
		w->next_rev = rev + 1;  /* a progress report: all sent */
done:
	cJSON_Delete(j);
	return r;
}

/* The stream is messages separated by newlines. */
static size_t
watch_write(char *data, size_t size, size_t n, void *arg)
{
	struct rh_etcd_watch *w = arg;
	char *nl;
	size_t len;

	rh_buf_append(&w->line, data, size * n);
	while ((nl = memchr(w->line.data, '\n', w->line.len)) != NULL) {
		len = (size_t)(nl - w->line.data);
		if (len > 0 && watch_message(w, w->line.data, len) < 0)
			return 0;
		memmove(w->line.data, nl + 1, w->line.len - len - 1);
		rh_buf_truncate(&w->line, w->line.len - len - 1);
	}
	if (w->line.len > REPLY_MAX) {
		watch_fail(w, EFBIG, 0, "message too large");
		return 0;
	}
	return size * n;
}

static int
watch_stopped(struct rh_etcd_watch *w)
{
	int stop;

	pthread_mutex_lock(&w->lock);
	stop = w->stop;
	pthread_mutex_unlock(&w->lock);
	return stop;
}

/* Run one stream until it ends or the watch is stopped: -errno. */
static int
watch_stream(struct rh_etcd_watch *w)
{
	struct conn *c = &w->conn;
	cJSON *body = cJSON_CreateObject(), *req;
	char *text, *url;
	int64_t started = rh_now_ms();
	int running = 1;
	long status = 0;
	CURLcode rc = CURLE_OK;
	CURLMsg *m;
	int left;

	req = cJSON_AddObjectToObject(body, "create_request");
	json_add_range(req, w->key, w->key_len, NULL, 0, w->flags);
	if (w->next_rev > 0)
		json_add_i64(req, "start_revision", w->next_rev);
	cJSON_AddTrueToObject(req, "progress_notify");
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	if (text == NULL)
		abort();
	url = xasprintf("%s/v3/watch", c->url);

	rh_buf_truncate(&w->line, 0);
	w->created = w->stale = w->fail = 0;
	c->curl_err[0] = '\0';
	sym_curl_easy_setopt(c->easy, CURLOPT_URL, url);
	/* The size first: COPYPOSTFIELDS copies as many bytes as the last
	 * size set says. */
	sym_curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	sym_curl_easy_setopt(c->easy, CURLOPT_COPYPOSTFIELDS, text);
	sym_curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	sym_curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, 0L);
	sym_curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, watch_write);
	sym_curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, w);
	free(url);
	cJSON_free(text);
	sym_curl_multi_add_handle(w->multi, c->easy);
	while (running) {
		if (sym_curl_multi_perform(w->multi, &running) != CURLM_OK)
			break;
		if (!running || watch_stopped(w))
			break;
		/* A server that takes the connection and says nothing. */
		if (!w->created && rh_now_ms() - started > c->timeout_ms) {
			rc = CURLE_OPERATION_TIMEDOUT;
			break;
		}
		sym_curl_multi_poll(w->multi, NULL, 0, 1000, NULL);
	}
	while ((m = sym_curl_multi_info_read(w->multi, &left)) != NULL)
		if (m->msg == CURLMSG_DONE)
			rc = m->data.result;
	sym_curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	sym_curl_multi_remove_handle(w->multi, c->easy);
	c->stats.requests++;

	if (w->fail)
		return w->fail;
	if (watch_stopped(w))
		return -EINTR;
	/* A last message without a newline: an error answer. */
	if (w->line.len > 0 &&
	    watch_message(w, w->line.data, w->line.len) < 0)
		return w->fail;
	if (rc != CURLE_OK)
		return w->fail = curl_fail(c, rc, "watch", &w->err);
	if (status != 200) {
		rh_err_set(&w->err, EIO, "etcd %s: watch: HTTP %ld", c->url,
		           status);
		return w->fail = -EIO;
	}
	rh_err_set(&w->err, EIO, "etcd %s: watch: connection closed", c->url);
	return w->fail = -EIO;
}

/* Sleep ms, or less when the watch is stopped. */
static void
watch_sleep(struct rh_etcd_watch *w, long ms)
{
	struct timespec ts = rh_time_after(CLOCK_MONOTONIC, ms);

	pthread_mutex_lock(&w->lock);
	while (!w->stop && pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
		;
	pthread_mutex_unlock(&w->lock);
}

/*
 * Streams, one after the other, each from the revision after the last
 * event delivered: when one ends, the next member is asked at once; when
 * every member failed in a row, the caller hears DOWN and the members
 * are asked again after a pause.
 */
static void *
watch_main(void *arg)
{
	struct rh_etcd_watch *w = arg;
	long backoff = BACKOFF_MIN_MS;
	size_t failed = 0;      /* members failed in a row */
	int r, relogged = 0;

	while (!watch_stopped(w)) {
		r = watch_stream(w);
		if (watch_stopped(w))
			break;
		if (w->created) {
			backoff = BACKOFF_MIN_MS;
			relogged = 0;
			failed = 0;
		}
		/* A token that expired or went with a restart: log in
		 * again, at once the first time. */
		if (w->stale && w->conn.user != NULL) {
			w->conn.stats.reauths++;
			r = conn_authenticate(&w->conn, &w->err);
			if (r == 0 && !relogged) {
				relogged = 1;
				continue;
			}
		}
		if (r == -ESTALE)
			continue;       /* resume at the compaction */
		if (!w->started && (r == -EACCES || r == -EINVAL)) {
			watch_signal_started(w, r);
			return NULL;
		}
		if (w->conn.nurls > 1) {
			/* "etcd URL: watch: why": the why, for conn_next */
			const char *m = strstr(w->err.msg, ": watch: ");

			set_why(w->conn.why, m ? m + 2 : w->err.msg);
			conn_next(&w->conn, failed == 0);
			if (++failed < w->conn.nurls)
				continue;
			failed = 0;
		}
		watch_signal_started(w, 0);
		rh_debug("%s; retrying in %ld ms", w->err.msg, backoff);
		if (w->up) {
			w->up = 0;
			deliver(w, RH_ETCD_EV_DOWN, w->next_rev);
		}
		watch_sleep(w, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
		          backoff * 2;
	}
	return NULL;
}

static void
watch_free(struct rh_etcd_watch *w)
{
	if (w->multi != NULL)
		sym_curl_multi_cleanup(w->multi);
	conn_close(&w->conn);
	rh_buf_free(&w->line);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w->key);
	free(w);
}

static int watch_start(struct rh_etcd *c, const char *prefix,
                       size_t prefix_len, int flags, int64_t start_revision,
                       rh_etcd_watch_cb cb, void *arg,
                       struct rh_etcd_watch **out, struct rh_err *err);

int
rh_etcd_watch_start(struct rh_etcd *c, const char *prefix, size_t prefix_len,
                    int64_t start_revision, rh_etcd_watch_cb cb, void *arg,
                    struct rh_etcd_watch **out, struct rh_err *err)
{
	return watch_start(c, prefix, prefix_len, RH_ETCD_PREFIX,
	                   start_revision, cb, arg, out, err);
}

int
rh_etcd_watch_key(struct rh_etcd *c, const char *key, size_t key_len,
                  int64_t start_revision, rh_etcd_watch_cb cb, void *arg,
                  struct rh_etcd_watch **out, struct rh_err *err)
{
	return watch_start(c, key, key_len, 0, start_revision, cb, arg, out,
	                   err);
}

static int
watch_start(struct rh_etcd *c, const char *prefix, size_t prefix_len,
            int flags, int64_t start_revision, rh_etcd_watch_cb cb,
            void *arg, struct rh_etcd_watch **out, struct rh_err *err)
{
	struct rh_etcd_watch *w;
	struct timespec ts;
	int r;

	*out = NULL;
	if (prefix_len > DATUM_MAX)
		return rh_err_set(err, EFBIG, "etcd: watch: prefix too long");
	w = xcalloc(1, sizeof(*w));
	w->key = xmalloc(prefix_len + 1);
	memcpy(w->key, prefix, prefix_len);
	w->key_len = prefix_len;
	w->flags = flags;
	w->cb = cb;
	w->arg = arg;
	w->next_rev = start_revision > 0 ? start_revision : 0;
	w->up = 1;
	pthread_mutex_init(&w->lock, NULL);
	rh_cond_init_monotonic(&w->cond);

	pthread_mutex_lock(&c->lock);
	conn_copy(&w->conn, &c->conn);
	pthread_mutex_unlock(&c->lock);
	if ((r = conn_open(&w->conn, err)) < 0) {
		watch_free(w);
		return r;
	}
	if ((w->multi = sym_curl_multi_init()) == NULL) {
		watch_free(w);
		return rh_err_set(err, ENOMEM, "etcd: libcurl: no handle");
	}
	if ((r = pthread_create(&w->thread, NULL, watch_main, w)) != 0) {
		watch_free(w);
		return rh_err_set(err, r, "etcd: watch: no thread: %s",
		                  strerror(r));
	}

	/* The first answer: refused, or created (or still trying). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (w->conn.connect_ms + w->conn.timeout_ms) / 1000 + 1;
	pthread_mutex_lock(&w->lock);
	while (!w->started &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &ts) == 0)
		;
	r = w->start_error;
	if (r < 0 && err != NULL)
		*err = w->start_err;
	pthread_mutex_unlock(&w->lock);
	if (r < 0) {
		pthread_join(w->thread, NULL);
		watch_free(w);
		return r;
	}
	*out = w;
	return 0;
}

void
rh_etcd_watch_stop(struct rh_etcd_watch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	sym_curl_multi_wakeup(w->multi);
	pthread_join(w->thread, NULL);
	watch_free(w);
}

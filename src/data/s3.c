/*
 * s3.c - the data store in S3 (system "s3", path "bucket/prefix"), or in
 * an S3-compatible store (data_config's endpoint_url, addressed
 * path-style). Requests are libcurl's, signed by it (CURLOPT_AWS_SIGV4);
 * the answers' XML is read with libxml2.
 *
 * A file is the object PREFIX/PATH. A directory is a key prefix ending in
 * '/', as s3fs keeps them: it exists while an object lies below it, and
 * mkdir makes the empty "marker" object PREFIX/PATH/ so that an empty one
 * lasts (the parent of a removed entry gets one too, so it stays).
 *
 * Reading: ranged GETs into a window per open file that doubles (up to
 * RA_MAX) while the reads are sequential: few large GETs, as a store that
 * reads the whole object for each (moto) is slow with many small ones. Writing: an open file that may
 * be written is staged in an unlinked local temp file (the old content
 * downloaded first unless truncated), and uploaded at fsync and close
 * when it changed, in one PUT up to PART bytes and as a multipart upload
 * above (PARALLEL parts at once): at each close(2) (flush) and fsync, so
 * a failed upload fails that close or fsync and leaves the old object
 * whole. A file written in order from offset 0 sends its full parts while
 * it is written (struct stream), the rest at flush. Rename copies then deletes, object by object for a directory
 * (not atomic). Modes, modification times and owners set by chmod,
 * utimens and chown are kept as s3fs keeps them (x-amz-meta-mode,
 * x-amz-meta-mtime, x-amz-meta-uid, x-amz-meta-gid: a copy of the object
 * onto itself, or the directory's marker made again), and so is the mode
 * a file is created with; an object without them is 0644 (a directory
 * 0755), with its LastModified. Owners are shown and changed only when
 * rhfs runs as root, where other users reach the mount (allow_other):
 * another user's mount shows every object as theirs, an object without
 * owners is the mounting user's, and a chown to another owner is EPERM.
 * Stat shows all this, a listing cannot (its entries come with st_nlink
 * 0: stat them for all). No symbolic or hard links.
 *
 * Credentials: the user's secret "aws" (access_key, secret_key,
 * session_token), else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
 * AWS_SESSION_TOKEN, else ~/.aws/credentials (AWS_PROFILE or default);
 * without any, requests go unsigned. None is ever logged. Each request is
 * bounded by the caller's io_timeout: it fails with -ETIMEDOUT instead of
 * waiting longer; within that time one that met a 500, 502, 503 or 504
 * or a connection lost midway is tried again (RETRIES times at most, the
 * waits between doubling from 100 ms).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "datastore.h"
#include "dl.h"
#include "rns.h"
#include "secret.h"

#define PART (8 * 1024 * 1024)          /* multipart above, part size */
/* Completing a multipart upload may take io_timeout once more for each
 * this many parts. */
#define COMPLETE_PARTS 16
#define PARALLEL 10                     /* parts sent at once */
#define RA_MIN (256 * 1024)             /* first read window */
#define RA_MAX (64 * 1024 * 1024)       /* largest read window */
#define LIST_MAX 1000                   /* keys per ListObjectsV2 */
#define ERRBODY_MAX 16384
#define RETRIES 4                       /* more tries of a request */
#define STREAM_PARALLEL 4               /* parts in flight while written */

/* What an object's x-amz-meta-* headers say; -1 where one is missing. */
struct meta {
	long mode;              /* st_mode, the type bits too (as s3fs) */
	long long mtime;        /* seconds */
	long long uid, gid;
};

#define META_NONE { -1, -1, -1, -1 }

struct s3 {
	struct rh_data d;
	char *base;             /* scheme://host[:port] */
	char *bucket;
	char *bpath;            /* "/bucket" (path-style) or "" */
	char *prefix;           /* "" or "some/prefix/" */
	char *region;
	char *sigv4;            /* "aws:amz:REGION:s3" */
	char *akid, *secret, *token;    /* NULL: unsigned requests */
	long timeout_ms;
	CURLSH *share;
	pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
	/* the files open for writing (staged), which a rename or unlink
	 * here moves or removes: files_lock, for the list and for each
	 * file's moved and gone */
	pthread_mutex_t files_lock;
	struct rh_data_file *files;
};

struct rh_data_file {
	struct s3 *s;
	char *path;
	char *key;
	int flags;
	pthread_mutex_t lock;
	/* reading (not staged): the object as it was at open */
	off_t size;
	time_t mtime;
	mode_t mode;            /* 0: the default, kept in no metadata */
	long long uid, gid;     /* its owner's metadata (-1: none) */
	ino_t ver;              /* the version opened (etag_version) */
	char etag[128];
	char *ra;               /* the window: ra_len bytes from ra_off */
	off_t ra_off;
	size_t ra_len, win;
	off_t next;             /* where a sequential read goes on */
	/* staged (open for writing) */
	int fd;                 /* -1 when not staged */
	int dirty;
	int failed;             /* the last flush failed, nothing written since */
	/* a file written from 0 on: its full parts go up as written */
	int seq;                /* so far it may be (else: all at close) */
	off_t wend;             /* written from 0 up to here, no hole */
	off_t sent;             /* the parts queued hold [0, sent) */
	struct stream *st;      /* the multipart upload going on, or NULL */
	/* its name changed here since (under s->files_lock; taken by the
	 * next upload): renamed to moved, or removed (gone: its close
	 * stores nothing, as a file unlinked while open is gone once
	 * closed) */
	char *moved;
	int gone;
	struct rh_data_file *fnext;     /* in s->files */
};

/* ---- requests ---- */

struct req {
	const char *method;
	const char *key;                /* NULL: the bucket */
	const char *query;              /* canonical: sorted, encoded */
	struct curl_slist *hdrs;
	/* the body sent: from memory, or a range of a file */
	const char *body;
	size_t body_len;
	int in_fd;
	off_t in_off, in_len, in_done;
	/* what a 2xx answer's body goes to: memory, a buffer, or a file */
	struct rh_buf *out;
	char *dst;
	size_t dst_size, dst_len;
	int out_fd;
	off_t out_off;
	int big;                        /* a transfer of many bytes */
	long timeout_ms;                /* its bound; 0: io_timeout */
	/* what came back */
	long status;
	off_t length;
	time_t mtime;
	char etag[128];
	struct meta meta;
	struct rh_buf err;
	int fail;                       /* a sink's failure, -errno */
	const int *cancel;              /* not 0 there: the body stops */
	CURL *curl;
};

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *arg)
{
	struct s3 *s = arg;

	(void)h;
	(void)a;
	pthread_mutex_lock(&s->locks[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct s3 *s = arg;

	(void)h;
	pthread_mutex_unlock(&s->locks[data]);
}

/* AWS's URI encoding: all but A-Z a-z 0-9 - _ . ~ (and '/' if keep). */
static void
uri_encode(struct rh_buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char e[3];

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		    *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
			rh_buf_append(b, p, 1);
		} else {
			e[0] = '%';
			e[1] = hex[*p >> 4];
			e[2] = hex[*p & 15];
			rh_buf_append(b, e, 3);
		}
	}
}

/* An owner's id as x-amz-meta-uid or -gid gives it: -1 unless it is a
 * whole number that is a uid_t. */
static long long
meta_id(const char *val)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(val, &end, 10);
	if (errno != 0 || end == val || *end != '\0' || v < 0 ||
	    v >= (long long)(uid_t)-1)
		return -1;
	return v;
}

static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n, vl;
	char val[128];
	const char *colon = memchr(line, ':', len), *v;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* a new answer (after a 100 Continue): forget the last */
		q->status = 0;
		q->length = -1;
		q->etag[0] = '\0';
		q->meta = (struct meta)META_NONE;
		return len;
	}
	if (colon == NULL)
		return len;
	v = colon + 1;
	while (v < line + len && (*v == ' ' || *v == '\t'))
		v++;
	vl = (size_t)(line + len - v);
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
		vl--;
	if (vl >= sizeof(val))
		return len;
	memcpy(val, v, vl);
	val[vl] = '\0';
#define IS(h) ((size_t)(colon - line) == sizeof(h) - 1 && \
               strncasecmp(line, h, sizeof(h) - 1) == 0)
	if (IS("Content-Length"))
		q->length = strtoll(val, NULL, 10);
	else if (IS("Last-Modified"))
		q->mtime = sym_curl_getdate(val, NULL);
	else if (IS("ETag"))
		snprintf(q->etag, sizeof(q->etag), "%s", val);
	else if (IS("x-amz-meta-mode"))
		q->meta.mode = strtol(val, NULL, 10);
	else if (IS("x-amz-meta-mtime"))
		q->meta.mtime = strtoll(val, NULL, 10);
	else if (IS("x-amz-meta-uid"))
		q->meta.uid = meta_id(val);
	else if (IS("x-amz-meta-gid"))
		q->meta.gid = meta_id(val);
#undef IS
	return len;
}

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;
	ssize_t w;
	size_t done;

	if (q->status == 0)
		sym_curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &q->status);
	if (q->status / 100 != 2) {
		if (q->err.len < ERRBODY_MAX)
			rh_buf_append(&q->err, data, len);
		return len;
	}
	if (q->out != NULL) {
		rh_buf_append(q->out, data, len);
	} else if (q->dst != NULL) {
		if (len > q->dst_size - q->dst_len) {
			q->fail = -EIO;
			return 0;
		}
		memcpy(q->dst + q->dst_len, data, len);
		q->dst_len += len;
	} else if (q->out_fd >= 0) {
		for (done = 0; done < len; done += (size_t)w) {
			w = pwrite(q->out_fd, data + done, len - done,
			           q->out_off);
			if (w < 0) {
				q->fail = -errno;
				return 0;
			}
			q->out_off += w;
		}
	}
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t want = size * n;
	ssize_t r;

	if (q->cancel != NULL && __atomic_load_n(q->cancel, __ATOMIC_ACQUIRE)) {
		q->fail = -ECANCELED;
		return CURL_READFUNC_ABORT;
	}
	if (q->in_fd < 0) {
		want = want < q->body_len - (size_t)q->in_done ?
		       want : q->body_len - (size_t)q->in_done;
		memcpy(buf, q->body + q->in_done, want);
		q->in_done += (off_t)want;
		return want;
	}
	if ((off_t)want > q->in_len - q->in_done)
		want = (size_t)(q->in_len - q->in_done);
	if (want == 0)
		return 0;
	r = pread(q->in_fd, buf, want, q->in_off + q->in_done);
	if (r <= 0) {
		q->fail = r < 0 ? -errno : -EIO;
		return CURL_READFUNC_ABORT;
	}
	q->in_done += r;
	return (size_t)r;
}

/* The text of the first element called name in an XML document. */
static char *
xml_text(const char *data, size_t len, const char *name, xmlDoc **keep)
{
	xmlDoc *doc;
	xmlNode *n, *stack[64];
	int depth = 0;
	char *t = NULL;
	xmlChar *c;

	if (len == 0 || (doc = sym_xmlReadMemory(data, (int)len, NULL, NULL,
	                                     XML_PARSE_NONET |
	                                     XML_PARSE_NOERROR |
	                                     XML_PARSE_NOWARNING)) == NULL)
		return NULL;
	n = sym_xmlDocGetRootElement(doc);
	while (n != NULL && t == NULL) {
		if (n->type == XML_ELEMENT_NODE &&
		    sym_xmlStrcmp(n->name, (const xmlChar *)name) == 0) {
			c = sym_xmlNodeGetContent(n);
			t = xstrdup(c ? (const char *)c : "");
			sym_xmlFree(c);
			break;
		}
		if (n->children != NULL && depth < 64) {
			stack[depth++] = n;
			n = n->children;
			continue;
		}
		while (n != NULL && n->next == NULL)
			n = depth > 0 ? stack[--depth] : NULL;
		if (n != NULL)
			n = n->next;
	}
	if (keep != NULL)
		*keep = doc;
	else
		sym_xmlFreeDoc(doc);
	return t;
}

/* The store's own words for a failed request: "Code: Message". */
static void
store_says(const struct req *q, char *buf, size_t size)
{
	char *code = xml_text(q->err.data, q->err.len, "Code", NULL);
	char *msg = xml_text(q->err.data, q->err.len, "Message", NULL);

	if (code != NULL || msg != NULL)
		snprintf(buf, size, "%s%s%s", code ? code : "",
		         code && msg ? ": " : "", msg ? msg : "");
	else
		snprintf(buf, size, "HTTP %ld", q->status);
	free(code);
	free(msg);
}

static int
status_errno(long status, const char *says)
{
	if (status == 404)
		return -ENOENT;
	if (status == 401 || status == 403)
		return -EACCES;
	if (status == 412)
		return -ESTALE;
	if (status == 400 && strstr(says, "EntityTooLarge") != NULL)
		return -EFBIG;
	if (status == 409)
		return -EBUSY;
	return -EIO;
}

static const char *
shown_key(const struct req *q)
{
	return q->key != NULL ? q->key : "";
}

/* Send q; 0 for a 2xx answer, else -errno (logged unless quiet, the
 * store's message with it; never a credential). */
/* One try of q: curl's code, the answer's status in q->status. */
static CURLcode
s3_once(struct s3 *s, struct req *q, long timeout_ms, char *cerr)
{
	struct rh_buf url = { 0 };
	struct curl_slist *h = q->hdrs, *extra = NULL, *l;
	char *tok = NULL;
	CURL *c;
	CURLcode rc;

	q->status = 0;
	q->length = -1;
	q->mtime = 0;
	q->etag[0] = '\0';
	q->meta = (struct meta)META_NONE;
	q->in_done = 0;
	q->fail = 0;
	rh_buf_truncate(&q->err, 0);
	cerr[0] = '\0';
	if ((c = q->curl = sym_curl_easy_init()) == NULL)
		return CURLE_OUT_OF_MEMORY;
	rh_buf_printf(&url, "%s%s", s->base, s->bpath);
	if (q->key != NULL || s->bpath[0] == '\0')
		rh_buf_printf(&url, "/");       /* not "/bucket/" for the bucket */
	if (q->key != NULL)
		uri_encode(&url, q->key, 1);
	if (q->query != NULL)
		rh_buf_printf(&url, "?%s", q->query);
	/* curl 7.x signs no payload hash: S3 wants the header */
	extra = sym_curl_slist_append(extra, "x-amz-content-sha256: "
	                          "UNSIGNED-PAYLOAD");

	if (s->token != NULL) {
		tok = xasprintf("x-amz-security-token: %s", s->token);
		extra = sym_curl_slist_append(extra, tok);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	for (l = h; l != NULL; l = l->next)
		extra = sym_curl_slist_append(extra, l->data);
	sym_curl_easy_setopt(c, CURLOPT_URL, url.data);
	sym_curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	sym_curl_easy_setopt(c, CURLOPT_SHARE, s->share);
	sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	sym_curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	sym_curl_easy_setopt(c, CURLOPT_HTTPHEADER, extra);
	sym_curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	sym_curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	/* no wait for "100 Continue" (an "Expect:" header to drop it
	 * would be signed by curl, and the signature would not match) */
	sym_curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
	sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	if (q->big) {
		/* a long transfer: bounded by its progress, not its length */
		sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
		                 (s->timeout_ms + 999) / 1000);
	} else {
		sym_curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	}
	if (s->akid != NULL) {
		sym_curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		sym_curl_easy_setopt(c, CURLOPT_USERNAME, s->akid);
		sym_curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret);
	}
	if (strcmp(q->method, "HEAD") == 0) {
		sym_curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0 ||
	           (strcmp(q->method, "POST") == 0 && q->body != NULL)) {
		sym_curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		sym_curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		sym_curl_easy_setopt(c, CURLOPT_READDATA, q);
		sym_curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
		                 (curl_off_t)(q->in_fd >= 0 ? q->in_len :
		                              (off_t)q->body_len));
		if (strcmp(q->method, "POST") == 0)
			sym_curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
	} else if (strcmp(q->method, "GET") != 0) {
		sym_curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
	rc = sym_curl_easy_perform(c);
	sym_curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->status);
	sym_curl_easy_cleanup(c);
	sym_curl_slist_free_all(extra);
	rh_buf_free(&url);
	return rc;
}

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Worth another try: the server's passing trouble (500, 502, 503, 504)
 * or a connection lost midway. */
static int
retryable(CURLcode rc, long status)
{
	if (rc == CURLE_OK)
		return status == 500 || status == 502 || status == 503 ||
		       status == 504;
	return rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
	       rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE;
}

/* q, tried again (at most RETRIES times, 100 ms, 200 ms, ... apart) while
 * it fails in a way worth it and the io_timeout has time left. */
static int
s3_do(struct s3 *s, struct req *q, int quiet)
{
	char cerr[CURL_ERROR_SIZE], says[400];
	long bound = q->timeout_ms > 0 ? q->timeout_ms : s->timeout_ms;
	double end = mono_ms() + (double)bound, left;
	size_t out0 = q->out != NULL ? q->out->len : 0, dst0 = q->dst_len;
	off_t off0 = q->out_off;
	long wait = 100;
	CURLcode rc;
	int r, tries = 0;

	for (;;) {
		left = end - mono_ms();
		rc = s3_once(s, q, tries == 0 || left < 1 ? bound :
		             (long)left, cerr);
		if (rc == CURLE_OUT_OF_MEMORY && q->curl == NULL)
			return -ENOMEM;
		if (q->fail < 0 || !retryable(rc, q->status) ||
		    ++tries > RETRIES ||
		    end - mono_ms() < (double)wait + 100.0)
			break;
		rh_debug("%s: s3://%s/%s: %s: %s: trying again", s->d.addr,
		         s->bucket, shown_key(q), q->method,
		         rc != CURLE_OK ? sym_curl_easy_strerror(rc) : "5xx");
		usleep((useconds_t)wait * 1000);
		wait *= 2;
		if (q->out != NULL)
			rh_buf_truncate(q->out, out0);
		q->dst_len = dst0;
		q->out_off = off0;
	}
	if (rc == CURLE_OK && q->status / 100 == 2) {
		r = 0;
	} else if (q->fail < 0) {
		r = q->fail;
		if (!quiet && r != -ECANCELED)
			rh_warn("%s: s3://%s/%s: %s: %s", s->d.addr, s->bucket,
			        shown_key(q), q->method, strerror(-r));
	} else if (rc != CURLE_OK) {
		r = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
		if (!quiet || r == -ETIMEDOUT)
			rh_warn("%s: s3://%s/%s: %s: %s", s->d.addr, s->bucket,
			        shown_key(q), q->method,
			        cerr[0] ? cerr : sym_curl_easy_strerror(rc));
	} else {
		store_says(q, says, sizeof(says));
		r = status_errno(q->status, says);
		if (!quiet || r == -EACCES)
			rh_warn("%s: s3://%s/%s: %s: %s", s->d.addr, s->bucket,
			        shown_key(q), q->method, says);
	}
	return r;
}

static void
req_init(struct req *q, const char *method, const char *key)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->in_fd = -1;
	q->out_fd = -1;
}

static void
req_done(struct req *q)
{
	sym_curl_slist_free_all(q->hdrs);
	rh_buf_free(&q->err);
}

/* ---- keys and paths ---- */

static char *
key_of(struct s3 *s, const char *path, int dir)
{
	return xasprintf("%s%s%s", s->prefix, path,
	                 dir && *path != '\0' ? "/" : "");
}

/* HEAD of path's object; -ENOENT when none. */
static int
head(struct s3 *s, const char *key, struct req *q)
{
	req_init(q, "HEAD", key);
	return s3_do(s, q, 1);
}

/* A version of an object's content (its ETag's hash) for st_ino. */
static ino_t
etag_version(const char *etag)
{
	uint64_t h = 14695981039346656037ull;

	if (etag == NULL || *etag == '\0')
		return 0;
	for (; *etag != '\0'; etag++)
		if (*etag != '"')
			h = (h ^ (unsigned char)*etag) * 1099511628211ull;
	return (ino_t)h;
}

/* Whether owners are shown and changed: only in root's mount, the one
 * that others reach (the rest of the metadata is kept all the same). */
static int
keeps_owners(void)
{
	return geteuid() == 0;
}

/* The attributes of an entry that m says (NULL: nothing) and its
 * LastModified, changed, says where m does not. st_ctim is when the
 * object last changed, st_ino the version of its content: what the
 * cache compares (cache.c). */
static void
fill_stat(struct stat *st, int dir, off_t size, const struct meta *m,
          time_t changed, const char *etag)
{
	static const struct meta none = META_NONE;

	if (m == NULL)
		m = &none;
	memset(st, 0, sizeof(*st));
	st->st_mode = dir ? S_IFDIR | 0755 : S_IFREG | 0644;
	if (m->mode >= 0)
		st->st_mode = (st->st_mode & S_IFMT) |
		              ((mode_t)m->mode & 07777);
	st->st_nlink = dir ? 2 : 1;
	st->st_uid = m->uid >= 0 && keeps_owners() ? (uid_t)m->uid : getuid();
	st->st_gid = m->gid >= 0 && keeps_owners() ? (gid_t)m->gid : getgid();
	st->st_size = dir ? 0 : size;
	st->st_blksize = 128 * 1024;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim.tv_sec = m->mtime >= 0 ? (time_t)m->mtime : changed;
	st->st_atim = st->st_mtim;
	st->st_ctim.tv_sec = changed;
	st->st_ino = etag_version(etag);
}

/* One page of ListObjectsV2 under prefix; entries to cb. */
struct page {
	char *next;             /* continuation token, or NULL */
	int n;                  /* keys and prefixes in it */
};

typedef int (*key_cb)(const char *key, int is_prefix, off_t size,
                      time_t mtime, const char *etag, void *arg);

static char *
node_text(xmlNode *n, const char *name)
{
	xmlChar *c;
	char *t;

	for (n = n->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    sym_xmlStrcmp(n->name, (const xmlChar *)name) == 0) {
			c = sym_xmlNodeGetContent(n);
			t = xstrdup(c ? (const char *)c : "");
			sym_xmlFree(c);
			return t;
		}
	return NULL;
}

static char *
unescape(const char *s)
{
	int len;
	char *u = sym_curl_easy_unescape(NULL, s, 0, &len), *t;

	t = xstrdup(u != NULL ? u : s);
	sym_curl_free(u);
	return t;
}

/* A listing's LastModified (ISO 8601, UTC: 2024-01-02T03:04:05.000Z), or
 * 0 when it is none. */
static time_t
iso_time(const char *v)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (v == NULL || sscanf(v, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon,
	                        &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	                        &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return timegm(&tm);
}

static int
list_page(struct s3 *s, const char *prefix, int delim, int max,
          const char *token, key_cb cb, void *arg, struct page *pg)
{
	struct rh_buf qs = { 0 }, body = { 0 };
	struct req q;
	xmlDoc *doc;
	xmlNode *n;
	char *t, *key, *sz, *lm, *et;
	int r;

	pg->next = NULL;
	pg->n = 0;
	if (token != NULL) {
		rh_buf_printf(&qs, "continuation-token=");
		uri_encode(&qs, token, 0);
		rh_buf_printf(&qs, "&");
	}
	if (delim)
		rh_buf_printf(&qs, "delimiter=%%2F&");
	rh_buf_printf(&qs, "encoding-type=url&list-type=2&max-keys=%d", max);
	if (*prefix != '\0') {
		rh_buf_printf(&qs, "&prefix=");
		uri_encode(&qs, prefix, 0);
	}
	req_init(&q, "GET", NULL);
	q.query = qs.data;
	q.out = &body;
	r = s3_do(s, &q, 0);
	req_done(&q);
	rh_buf_free(&qs);
	if (r < 0)
		goto out;
	t = xml_text(body.data, body.len, "ListBucketResult", &doc);
	if (t == NULL) {
		rh_warn("%s: s3://%s/%s: the listing is not XML", s->d.addr,
		        s->bucket, prefix);
		r = -EIO;
		goto out;
	}
	free(t);
	for (n = sym_xmlDocGetRootElement(doc)->children; n != NULL && r == 0;
	     n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (sym_xmlStrcmp(n->name, (const xmlChar *)"NextContinuationToken")
		    == 0) {
			xmlChar *c = sym_xmlNodeGetContent(n);

			pg->next = xstrdup((const char *)c);
			sym_xmlFree(c);
			continue;
		}
		if (sym_xmlStrcmp(n->name, (const xmlChar *)"Contents") != 0 &&
		    sym_xmlStrcmp(n->name, (const xmlChar *)"CommonPrefixes") != 0)
			continue;
		if ((t = node_text(n, "Key")) == NULL &&
		    (t = node_text(n, "Prefix")) == NULL)
			continue;
		key = unescape(t);
		free(t);
		sz = node_text(n, "Size");
		lm = node_text(n, "LastModified");
		et = node_text(n, "ETag");
		pg->n++;
		r = cb(key, sym_xmlStrcmp(n->name, (const xmlChar *)"Contents") == 0,
		       sz ? strtoll(sz, NULL, 10) : 0,
		       iso_time(lm), et, arg);
		free(et);
		free(sz);
		free(lm);
		free(key);
	}
	sym_xmlFreeDoc(doc);
	if (r != 0) {
		free(pg->next);
		pg->next = NULL;
	}
out:
	rh_buf_free(&body);
	return r;
}

/* Every key (delim: and prefix) under prefix, page by page. */
static int
list_all(struct s3 *s, const char *prefix, int delim, key_cb cb, void *arg)
{
	struct page pg;
	char *token = NULL;
	int r;

	do {
		r = list_page(s, prefix, delim, LIST_MAX, token, cb, arg,
		              &pg);
		free(token);
		token = pg.next;
	} while (r == 0 && token != NULL);
	free(token);
	return r;
}

static int
count_cb(const char *key, int is_prefix, off_t size, time_t mtime,
         const char *etag, void *arg)
{
	int *n = arg;

	(void)key;
	(void)is_prefix;
	(void)size;
	(void)mtime;
	(void)etag;
	(*n)++;
	return 0;
}

/* Whether anything lies below dirkey ("p/"): 1, 0, or -errno. */
static int
has_below(struct s3 *s, const char *dirkey)
{
	struct page pg;
	int n = 0, r;

	r = list_page(s, dirkey, 0, 1, NULL, count_cb, &n, &pg);
	free(pg.next);
	return r < 0 ? r : n > 0;
}

/* What path is: S_IFREG, S_IFDIR, or -errno (-ENOENT); its attributes
 * in st and its metadata in m where they are not NULL (a directory
 * without a marker has none). */
static int
kind_meta(struct s3 *s, const char *path, struct stat *st, struct meta *m)
{
	struct req q;
	char *key;
	int r;

	if (m != NULL)
		*m = (struct meta)META_NONE;
	if (*path == '\0') {
		if (st != NULL)
			fill_stat(st, 1, 0, NULL, 0, NULL);
		return S_IFDIR;
	}
	key = key_of(s, path, 0);
	r = head(s, key, &q);
	if (r == 0 && st != NULL)
		fill_stat(st, 0, q.length, &q.meta, q.mtime, q.etag);
	if (r == 0 && m != NULL)
		*m = q.meta;
	req_done(&q);
	free(key);
	if (r == 0)
		return S_IFREG;
	if (r != -ENOENT)
		return r;
	key = key_of(s, path, 1);
	r = head(s, key, &q);   /* a marker: its mode, time and owner */
	if (r == 0 && st != NULL)
		fill_stat(st, 1, 0, &q.meta, q.mtime, q.etag);
	if (r == 0 && m != NULL)
		*m = q.meta;
	req_done(&q);
	if (r == -ENOENT) {
		r = has_below(s, key);
		if (r > 0 && st != NULL)
			fill_stat(st, 1, 0, NULL, 0, NULL);
		r = r > 0 ? 0 : r == 0 ? -ENOENT : r;
	}
	free(key);
	return r == 0 ? S_IFDIR : r;
}

static int
kind_of(struct s3 *s, const char *path, struct stat *st)
{
	return kind_meta(s, path, st, NULL);
}

/* The directory holding path's last component must exist. */
static int
parent_ok(struct s3 *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent;
	int k;

	if (slash == NULL)
		return 0;
	parent = xstrndup(path, (size_t)(slash - path));
	k = kind_of(s, parent, NULL);
	free(parent);
	return k < 0 ? k : k == S_IFDIR ? 0 : -ENOTDIR;
}

/* An empty object at key, with the headers hdrs (freed). */
static int
put_empty(struct s3 *s, const char *key, struct curl_slist *hdrs)
{
	struct req q;
	int r;

	req_init(&q, "PUT", key);
	q.body = "";
	q.hdrs = hdrs;
	r = s3_do(s, &q, 0);
	req_done(&q);
	return r;
}

static int
delete_key(struct s3 *s, const char *key)
{
	struct req q;
	int r;

	req_init(&q, "DELETE", key);
	r = s3_do(s, &q, 0);
	req_done(&q);
	return r;
}

/* path's parent keeps existing when path goes: its marker, made if
 * missing. */
static int
keep_parent(struct s3 *s, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *parent, *key;
	struct req q;
	int r;

	if (slash == NULL)
		return 0;
	parent = xstrndup(path, (size_t)(slash - path));
	key = key_of(s, parent, 1);
	r = head(s, key, &q);
	req_done(&q);
	if (r == -ENOENT)
		r = put_empty(s, key, NULL);
	free(key);
	free(parent);
	return r;
}

/* ---- the operations ---- */

static int
s_stat(struct rh_data *d, const char *path, struct stat *st)
{
	int k;

	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	k = kind_of((struct s3 *)d, path, st);
	return k < 0 ? k : 0;
}

struct list_arg {
	struct s3 *s;
	size_t plen;            /* the listed prefix's length */
	rh_data_list_cb cb;
	void *arg;
	int n;
};

static int
list_entry(const char *key, int is_file, off_t size, time_t mtime,
           const char *etag, void *arg)
{
	struct list_arg *la = arg;
	struct stat st;
	char *name;
	size_t len;
	int r;

	la->n++;
	if (strlen(key) <= la->plen)
		return 0;               /* the directory's own marker */
	name = xstrdup(key + la->plen);
	len = strlen(name);
	if (!is_file && len > 0 && name[len - 1] == '/')
		name[--len] = '\0';
	if (len == 0 || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		free(name);             /* no name a path can give */
		return 0;
	}
	fill_stat(&st, !is_file, size, NULL, mtime, etag);
	st.st_nlink = 0;        /* not all: the metadata is not listed */
	r = la->cb(name, &st, la->arg);
	free(name);
	return r;
}

static int
s_list(struct rh_data *d, const char *path, rh_data_list_cb cb, void *arg)
{
	struct s3 *s = (struct s3 *)d;
	struct list_arg la = { s, 0, cb, arg, 0 };
	char *key;
	int r, k;

	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	key = key_of(s, path, 1);
	la.plen = strlen(key);
	r = list_all(s, key, 1, list_entry, &la);
	free(key);
	if (r == 0 && la.n == 0 && *path != '\0') {
		/* nothing below: an empty directory, or none */
		k = kind_of(s, path, NULL);
		r = k < 0 ? k : k == S_IFDIR ? 0 : -ENOTDIR;
	}
	return r;
}

static int
s_readlink(struct rh_data *d, const char *path, char *buf, size_t size)
{
	(void)d;
	(void)path;
	(void)buf;
	(void)size;
	return -EINVAL;                 /* S3 has no symbolic links */
}

/* The whole object into the staged file f->fd. */
static int
download(struct rh_data_file *f)
{
	struct req q;
	int r;

	req_init(&q, "GET", f->key);
	q.out_fd = f->fd;
	q.big = 1;
	r = s3_do(f->s, &q, 0);
	req_done(&q);
	return r;
}

static int
complete_multipart(struct s3 *s, const char *key, const char *id,
                   char **etags, int n)
{
	struct rh_buf qs = { 0 };
	xmlDoc *doc = sym_xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *root, *part;
	xmlChar *text;
	char num[16];
	struct req q;
	int i, len, r;

	root = sym_xmlNewNode(NULL, (const xmlChar *)"CompleteMultipartUpload");
	sym_xmlDocSetRootElement(doc, root);
	for (i = 0; i < n; i++) {
		part = sym_xmlNewChild(root, NULL, (const xmlChar *)"Part", NULL);
		snprintf(num, sizeof(num), "%d", i + 1);
		sym_xmlNewTextChild(part, NULL, (const xmlChar *)"PartNumber",
		                (const xmlChar *)num);
		sym_xmlNewTextChild(part, NULL, (const xmlChar *)"ETag",
		                (const xmlChar *)etags[i]);
	}
	sym_xmlDocDumpMemory(doc, &text, &len);
	sym_xmlFreeDoc(doc);
	rh_buf_printf(&qs, "uploadId=");
	uri_encode(&qs, id, 0);
	req_init(&q, "POST", key);
	q.query = qs.data;
	q.body = (const char *)text;
	q.body_len = (size_t)len;
	q.out = &(struct rh_buf){ 0 };
	/* the store joins the parts before it answers, which takes longer
	 * the more there are (S3 says it may take minutes) */
	q.timeout_ms = s->timeout_ms * (1 + n / COMPLETE_PARTS);
	r = s3_do(s, &q, 0);
	if (r == 0) {
		/* S3 may fail it after the 200 has begun */
		char *code = xml_text(q.out->data, q.out->len, "Code", NULL);

		if (code != NULL) {
			rh_warn("%s: s3://%s/%s: completing the upload: %s",
			        s->d.addr, s->bucket, key, code);
			r = -EIO;
		}
		free(code);
	}
	rh_buf_free(q.out);
	req_done(&q);
	sym_xmlFree(text);
	rh_buf_free(&qs);
	return r;
}

/* The staged file, size bytes, as the object: parts of PART bytes. */
/* The parts of a multipart upload being sent, PARALLEL at a time. */
struct parts {
	struct rh_data_file *f;
	const char *id;
	off_t size;
	int n;
	int next;               /* the next part to send (atomic) */
	int r;                  /* the first failure (atomic) */
	char **etags;
};

static void *
part_sender(void *arg)
{
	struct parts *p = arg;
	struct rh_buf qs = { 0 };
	struct req q;
	int i, r;

	while (__atomic_load_n(&p->r, __ATOMIC_ACQUIRE) == 0 &&
	       (i = __atomic_fetch_add(&p->next, 1, __ATOMIC_ACQ_REL)) <
	       p->n) {
		rh_buf_truncate(&qs, 0);
		rh_buf_printf(&qs, "partNumber=%d&uploadId=", i + 1);
		uri_encode(&qs, p->id, 0);
		req_init(&q, "PUT", p->f->key);
		q.query = qs.data;
		q.in_fd = p->f->fd;
		q.in_off = (off_t)i * PART;
		q.in_len = p->size - q.in_off < PART ? p->size - q.in_off :
		           PART;
		q.big = 1;
		r = s3_do(p->f->s, &q, 0);
		p->etags[i] = xstrdup(q.etag);
		req_done(&q);
		if (r < 0) {
			int zero = 0;

			__atomic_compare_exchange_n(&p->r, &zero, r, 0,
			                            __ATOMIC_ACQ_REL,
			                            __ATOMIC_ACQUIRE);
		}
	}
	rh_buf_free(&qs);
	return NULL;
}

/* Every part of f's upload id, PARALLEL requests at a time (pread on the
 * staged file: no shared offset); each one's ETag in etags. */
static int
send_parts(struct rh_data_file *f, const char *id, off_t size, int n,
           char **etags)
{
	struct parts p = { f, id, size, n, 0, 0, etags };
	pthread_t t[PARALLEL - 1];
	int i, started = 0;

	for (i = 0; i < PARALLEL - 1 && i < n - 1; i++)
		if (pthread_create(&t[i], NULL, part_sender, &p) == 0)
			started++;
		else
			break;
	part_sender(&p);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return p.r;
}

/* A multipart upload of f's object begun: its id in *id. */
static int
create_multipart(struct rh_data_file *f, struct curl_slist *meta, char **id)
{
	struct s3 *s = f->s;
	struct rh_buf body = { 0 };
	struct req q;
	int r;

	*id = NULL;
	req_init(&q, "POST", f->key);
	q.query = "uploads=";
	q.body = "";
	q.out = &body;
	q.hdrs = meta;
	r = s3_do(s, &q, 0);
	q.hdrs = NULL;
	req_done(&q);
	if (r == 0 && (*id = xml_text(body.data, body.len, "UploadId",
	                              NULL)) == NULL) {
		rh_warn("%s: s3://%s/%s: no UploadId in the answer", s->d.addr,
		        s->bucket, f->key);
		r = -EIO;
	}
	rh_buf_free(&body);
	return r;
}

/* The upload id dropped with its parts (AbortMultipartUpload). */
static int
abort_multipart(struct s3 *s, const char *key, const char *id, int quiet)
{
	struct rh_buf qs = { 0 };
	struct req q;
	int r;

	rh_buf_printf(&qs, "uploadId=");
	uri_encode(&qs, id, 0);
	req_init(&q, "DELETE", key);
	q.query = qs.data;
	r = s3_do(s, &q, quiet);
	req_done(&q);
	rh_buf_free(&qs);
	return r;
}

static int
upload_multipart(struct rh_data_file *f, off_t size, struct curl_slist *meta)
{
	struct s3 *s = f->s;
	char *id, **etags;
	int i, n = (int)((size + PART - 1) / PART), r;

	if ((r = create_multipart(f, meta, &id)) < 0)
		return r;
	etags = xcalloc((size_t)n, sizeof(*etags));
	r = send_parts(f, id, size, n, etags);
	if (r == 0)
		r = complete_multipart(s, f->key, id, etags, n);
	if (r < 0)
		abort_multipart(s, f->key, id, 1);
	for (i = 0; i < n; i++)
		free(etags[i]);
	free(etags);
	free(id);
	return r;
}

/* The x-amz-meta-* headers that say m (NULL when it says nothing). */
static struct curl_slist *
meta_headers(const struct meta *m)
{
	struct curl_slist *h = NULL;
	char line[64];

	if (m->mode >= 0) {
		snprintf(line, sizeof(line), "x-amz-meta-mode: %ld", m->mode);
		h = sym_curl_slist_append(h, line);
	}
	if (m->mtime >= 0) {
		snprintf(line, sizeof(line), "x-amz-meta-mtime: %lld",
		         m->mtime);
		h = sym_curl_slist_append(h, line);
	}
	if (m->uid >= 0) {
		snprintf(line, sizeof(line), "x-amz-meta-uid: %lld", m->uid);
		h = sym_curl_slist_append(h, line);
	}
	if (m->gid >= 0) {
		snprintf(line, sizeof(line), "x-amz-meta-gid: %lld", m->gid);
		h = sym_curl_slist_append(h, line);
	}
	return h;
}

/* The headers an upload of f carries: its mode unless the default, its
 * owner where it has one. */
static struct curl_slist *
file_meta(const struct rh_data_file *f)
{
	struct meta m = META_NONE;

	if (f->mode != 0)
		m.mode = (long)(S_IFREG | f->mode);
	m.uid = f->uid;
	m.gid = f->gid;
	return meta_headers(&m);
}

/* ---- parts sent while a file is written ---- */

/* A file written from offset 0 on, once past PART bytes: a multipart
 * upload begun, each full part queued as the writer passes its end and
 * sent by STREAM_PARALLEL threads of its own (pread on the staged file,
 * whose bytes below f->sent no write changes while this lasts); at
 * flush or fsync the rest is queued, the parts waited for and the upload
 * completed. A write below f->sent, a hole, or a truncate below it drops
 * the upload (aborted) and the file goes up whole at flush, as others. */
struct stream {
	struct rh_data_file *f;
	char *id;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t t[STREAM_PARALLEL];
	int nt;
	off_t limit;            /* the queued parts hold [0, limit) */
	int queued, next, done; /* parts queued, taken, sent */
	char **etags;           /* each sent part's ETag */
	int cap;
	int r;                  /* the first failure, -errno */
	int end;                /* nothing more comes: leave when idle */
	int cancel;             /* stop now: the bodies being sent too */
};

static void *
stream_sender(void *arg)
{
	struct stream *st = arg;
	struct rh_data_file *f = st->f;
	struct rh_buf qs = { 0 };
	struct req q;
	off_t limit;
	int i, r;

	pthread_mutex_lock(&st->mu);
	for (;;) {
		if (st->cancel || st->r < 0)
			break;
		if (st->next >= st->queued) {
			if (st->end)
				break;
			pthread_cond_wait(&st->cv, &st->mu);
			continue;
		}
		i = st->next++;
		limit = st->limit;
		pthread_mutex_unlock(&st->mu);
		rh_buf_truncate(&qs, 0);
		rh_buf_printf(&qs, "partNumber=%d&uploadId=", i + 1);
		uri_encode(&qs, st->id, 0);
		req_init(&q, "PUT", f->key);
		q.query = qs.data;
		q.in_fd = f->fd;
		q.in_off = (off_t)i * PART;
		q.in_len = limit - q.in_off < PART ? limit - q.in_off : PART;
		q.big = 1;
		q.cancel = &st->cancel;
		r = s3_do(f->s, &q, 0);
		pthread_mutex_lock(&st->mu);
		if (r == 0 && q.etag[0] == '\0') {
			rh_warn("%s: s3://%s/%s: part %d: no ETag in the answer",
			        f->s->d.addr, f->s->bucket, f->key, i + 1);
			r = -EIO;
		}
		if (r == 0) {
			st->etags[i] = xstrdup(q.etag);
			st->done++;
		} else if (st->r == 0) {
			st->r = r == -ECANCELED ? -EIO : r;
		}
		req_done(&q);
		pthread_cond_broadcast(&st->cv);
	}
	pthread_mutex_unlock(&st->mu);
	rh_buf_free(&qs);
	return NULL;
}

/* Queue the parts of [st->limit, to): full ones, and a short last one
 * when to ends the file. Under st->mu. */
static void
stream_queue(struct stream *st, off_t to)
{
	while (st->limit < to) {
		if (st->queued == st->cap) {
			st->cap = st->cap ? st->cap * 2 : 64;
			st->etags = xrealloc(st->etags, (size_t)st->cap *
			                     sizeof(*st->etags));
			memset(st->etags + st->queued, 0,
			       (size_t)(st->cap - st->queued) *
			       sizeof(*st->etags));
		}
		st->queued++;
		st->limit = to - st->limit < PART ? to : st->limit + PART;
	}
	pthread_cond_broadcast(&st->cv);
}

/* The senders stopped (cancel: at once) and st freed; its upload, if
 * not completed (done: 0), aborted. */
static void
stream_free(struct stream *st, int cancel, int done)
{
	struct rh_data_file *f = st->f;
	int i;

	pthread_mutex_lock(&st->mu);
	st->end = 1;
	if (cancel)
		__atomic_store_n(&st->cancel, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&st->cv);
	pthread_mutex_unlock(&st->mu);
	for (i = 0; i < st->nt; i++)
		pthread_join(st->t[i], NULL);
	if (!done && abort_multipart(f->s, f->key, st->id, 0) < 0)
		rh_warn("%s: s3://%s/%s: the incomplete multipart upload %s "
		        "stays (S3's lifecycle rules can remove it)",
		        f->s->d.addr, f->s->bucket, f->key, st->id);
	for (i = 0; i < st->queued; i++)
		free(st->etags[i]);
	free(st->etags);
	free(st->id);
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* f stops sending parts as written: the upload dropped, the file stored
 * whole at flush. Under f->lock. */
static void
stream_drop(struct rh_data_file *f)
{
	if (f->st != NULL) {
		rh_debug("%s: s3://%s/%s: not written in order: stored whole "
		         "at close", f->s->d.addr, f->s->bucket, f->key);
		stream_free(f->st, 1, 0);
		f->st = NULL;
	}
	f->seq = 0;
	f->sent = 0;
}

/* After a write or truncate of f (under f->lock): the parts the writer
 * has passed queued, the upload begun once the file is past PART. */
static void
stream_feed(struct rh_data_file *f)
{
	struct stream *st = f->st;
	struct curl_slist *meta;
	int i;

	if (!f->seq || f->wend < f->sent + PART ||
	    (st == NULL && f->wend <= PART))
		return;
	if (st == NULL) {
		st = xcalloc(1, sizeof(*st));
		st->f = f;
		meta = file_meta(f);
		i = create_multipart(f, meta, &st->id);
		sym_curl_slist_free_all(meta);
		if (i < 0) {            /* close tries it all again */
			free(st);
			f->seq = 0;
			return;
		}
		pthread_mutex_init(&st->mu, NULL);
		pthread_cond_init(&st->cv, NULL);
		for (i = 0; i < STREAM_PARALLEL; i++)
			if (pthread_create(&st->t[st->nt], NULL, stream_sender,
			                   st) == 0)
				st->nt++;
		if (st->nt == 0) {
			stream_free(st, 1, 0);
			f->seq = 0;
			return;
		}
		f->st = st;
	}
	pthread_mutex_lock(&st->mu);
	stream_queue(st, f->wend - f->wend % PART);
	f->sent = st->limit;
	pthread_mutex_unlock(&st->mu);
}

/* The rest of f (size bytes) queued, every part waited for, the upload
 * completed; aborted when a part failed (that failure returned). */
static int
stream_finish(struct rh_data_file *f, off_t size)
{
	struct stream *st = f->st;
	int r;

	pthread_mutex_lock(&st->mu);
	if (st->r == 0)
		stream_queue(st, size);
	st->end = 1;
	pthread_cond_broadcast(&st->cv);
	while (st->r == 0 && st->done < st->queued)
		pthread_cond_wait(&st->cv, &st->mu);
	r = st->r;
	pthread_mutex_unlock(&st->mu);
	if (r == 0)
		r = complete_multipart(f->s, f->key, st->id, st->etags,
		                       st->queued);
	stream_free(st, r < 0, r == 0);
	f->st = NULL;
	f->sent = 0;
	if (r < 0)
		f->seq = 0;
	return r;
}

/* The staged files at path, or below it when dir, renamed to to (NULL:
 * removed). */
static void
files_moved(struct s3 *s, const char *path, int dir, const char *to)
{
	struct rh_data_file *f;
	const char *name;
	size_t len = strlen(path);
	char *n;

	pthread_mutex_lock(&s->files_lock);
	for (f = s->files; f != NULL; f = f->fnext) {
		name = f->moved != NULL ? f->moved : f->path;
		if (f->gone || strncmp(name, path, len) != 0 ||
		    (dir ? name[len] != '/' : name[len] != '\0'))
			continue;
		n = to != NULL ? xasprintf("%s%s", to, name + len) : NULL;
		free(f->moved);
		f->moved = n;
		f->gone = to == NULL;
	}
	pthread_mutex_unlock(&s->files_lock);
}

static int
file_gone(struct rh_data_file *f)
{
	int gone;

	pthread_mutex_lock(&f->s->files_lock);
	gone = f->gone;
	pthread_mutex_unlock(&f->s->files_lock);
	return gone;
}

/* What a rename or unlink here did to f's name, taken (under f->lock):
 * 1 when f is gone, else 0 (its key the new one if it moved). A part
 * upload under the old name is dropped: f is stored whole. */
static int
take_moves(struct rh_data_file *f)
{
	char *moved;
	int gone;

	pthread_mutex_lock(&f->s->files_lock);
	moved = f->moved;
	f->moved = NULL;
	gone = f->gone;
	pthread_mutex_unlock(&f->s->files_lock);
	if ((moved != NULL || gone) && f->st != NULL)
		stream_drop(f);
	if (moved != NULL) {
		free(f->path);
		free(f->key);
		f->path = moved;
		f->key = key_of(f->s, moved, 0);
	}
	return gone;
}

/* The staged file as the object, when it changed. */
static int
upload(struct rh_data_file *f)
{
	struct stat st;
	struct req q;
	int r;

	if (f->fd >= 0 && take_moves(f))
		f->dirty = 0;   /* removed while open: nothing to store */
	if (f->fd < 0 || !f->dirty)
		return 0;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	if (f->st != NULL) {
		r = stream_finish(f, st.st_size);
	} else if (st.st_size > PART) {
		struct curl_slist *meta = file_meta(f);

		r = upload_multipart(f, st.st_size, meta);
		sym_curl_slist_free_all(meta);
	} else {
		req_init(&q, "PUT", f->key);
		q.in_fd = f->fd;
		q.in_len = st.st_size;
		q.big = 1;
		q.hdrs = file_meta(f);
		r = s3_do(f->s, &q, 0);
		req_done(&q);
	}
	if (r == 0)
		f->dirty = 0;
	return r;
}

static int
staging_file(void)
{
	const char *dir = getenv("TMPDIR");
	char *tmpl;
	int fd;

	if (dir == NULL || *dir == '\0')
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	tmpl = xasprintf("%s/rhfs-s3.XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd >= 0)
		unlink(tmpl);
	free(tmpl);
	return fd < 0 ? -errno : fd;
}

static void
file_free(struct rh_data_file *f)
{
	struct rh_data_file **p;

	pthread_mutex_lock(&f->s->files_lock);
	for (p = &f->s->files; *p != NULL; p = &(*p)->fnext)
		if (*p == f) {
			*p = f->fnext;
			break;
		}
	pthread_mutex_unlock(&f->s->files_lock);
	free(f->moved);
	if (f->st != NULL)
		stream_free(f->st, 1, 0);
	if (f->fd >= 0)
		close(f->fd);
	pthread_mutex_destroy(&f->lock);
	free(f->ra);
	free(f->key);
	free(f->path);
	free(f);
}

static int
s_open(struct rh_data *d, const char *path, int flags, mode_t mode,
       struct rh_data_file **out)
{
	struct s3 *s = (struct s3 *)d;
	struct rh_data_file *f;
	struct stat st;
	struct meta m;
	int k, r = 0, wr = (flags & O_ACCMODE) != O_RDONLY;

	*out = NULL;
	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	if (*path == '\0')
		return wr ? -EISDIR : -EINVAL;
	k = kind_meta(s, path, &st, &m);
	if (k == S_IFDIR)
		return wr ? -EISDIR : -EINVAL;
	if (k == S_IFREG && (flags & O_CREAT) && (flags & O_EXCL))
		return -EEXIST;
	if (k == -ENOENT && !(flags & O_CREAT))
		return -ENOENT;
	if (k < 0 && k != -ENOENT)
		return k;
	if (k == -ENOENT && (r = parent_ok(s, path)) < 0)
		return r;
	f = xcalloc(1, sizeof(*f));
	f->s = s;
	f->path = xstrdup(path);
	f->key = key_of(s, path, 0);
	f->flags = flags;
	f->fd = -1;
	f->uid = m.uid;
	f->gid = m.gid;
	pthread_mutex_init(&f->lock, NULL);
	if (k == S_IFREG) {
		f->size = st.st_size;
		f->mtime = st.st_mtime;
		f->mode = st.st_mode & 07777;
		if ((st.st_mode & 07777) == 0644)
			f->mode = 0;    /* the default: no metadata */
		f->ver = st.st_ino;
	}
	if (k == -ENOENT) {     /* it exists from now on, empty */
		if ((mode & 07777) != 0644 && (flags & O_CREAT))
			f->mode = mode & 07777;
		r = put_empty(s, f->key, file_meta(f));
	}
	if (r == 0 && (wr || (flags & O_TRUNC))) {
		r = f->fd = staging_file();
		if (r >= 0 && k == S_IFREG && (flags & O_TRUNC))
			f->dirty = st.st_size > 0;
		else if (r >= 0 && k == S_IFREG && st.st_size > 0)
			r = download(f);
		/* staged empty: its parts may go up as written */
		f->seq = wr && (k != S_IFREG || (flags & O_TRUNC) ||
		                st.st_size == 0);
		r = r < 0 ? r : 0;
	}
	if (r < 0) {
		file_free(f);
		return r;
	}
	if (f->fd >= 0) {
		pthread_mutex_lock(&s->files_lock);
		f->fnext = s->files;
		s->files = f;
		pthread_mutex_unlock(&s->files_lock);
	}
	*out = f;
	return 0;
}

/* From the window, or a new window fetched at off. */
static ssize_t
read_object(struct rh_data_file *f, char *buf, size_t size, off_t off)
{
	struct curl_slist *h = NULL;
	struct req q;
	char range[96];
	size_t want, n;
	int r;

	if (off >= f->size)
		return 0;
	if ((off_t)size > f->size - off)
		size = (size_t)(f->size - off);
	if (f->ra != NULL && off >= f->ra_off &&
	    off + (off_t)size <= f->ra_off + (off_t)f->ra_len) {
		memcpy(buf, f->ra + (off - f->ra_off), size);
		f->next = off + (off_t)size;
		return (ssize_t)size;
	}
	f->win = off == f->next && f->win > 0 ?
	         (f->win * 2 > RA_MAX ? RA_MAX : f->win * 2) : RA_MIN;
	want = size > f->win ? size : f->win;
	if ((off_t)want > f->size - off)
		want = (size_t)(f->size - off);
	free(f->ra);
	f->ra = xmalloc(want);
	f->ra_off = off;
	f->ra_len = 0;
	snprintf(range, sizeof(range), "Range: bytes=%lld-%lld",
	         (long long)off, (long long)(off + (off_t)want - 1));
	h = sym_curl_slist_append(h, range);
	if (f->etag[0] != '\0') {
		char im[160];

		snprintf(im, sizeof(im), "If-Match: %s", f->etag);
		h = sym_curl_slist_append(h, im);
	}
	req_init(&q, "GET", f->key);
	q.hdrs = h;
	q.dst = f->ra;
	q.dst_size = want;
	q.big = want > RA_MIN;
	r = s3_do(f->s, &q, 0);
	if (r == 0 && f->etag[0] == '\0')
		snprintf(f->etag, sizeof(f->etag), "%s", q.etag);
	f->ra_len = q.dst_len;
	req_done(&q);
	if (r == -ESTALE)
		r = -EIO;               /* changed elsewhere since open */
	if (r < 0)
		return r;
	n = f->ra_len < size ? f->ra_len : size;
	memcpy(buf, f->ra, n);
	f->next = off + (off_t)n;
	return (ssize_t)n;
}

static ssize_t
s_read(struct rh_data_file *f, void *buf, size_t size, off_t off)
{
	ssize_t n;

	pthread_mutex_lock(&f->lock);
	if (f->fd >= 0) {
		n = pread(f->fd, buf, size, off);
		if (n < 0)
			n = -errno;
	} else {
		n = read_object(f, buf, size, off);
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

static ssize_t
s_write(struct rh_data_file *f, const void *buf, size_t size, off_t off)
{
	struct stat st;
	ssize_t n;

	if (f->fd < 0)
		return -EBADF;
	pthread_mutex_lock(&f->lock);
	if ((f->flags & O_APPEND) && fstat(f->fd, &st) == 0)
		off = st.st_size;
	/* into a part queued, or past a hole: stored whole at close */
	if (f->seq && size > 0 && (off < f->sent || off > f->wend))
		stream_drop(f);
	n = pwrite(f->fd, buf, size, off);
	if (n < 0) {
		n = -errno;
	} else {
		f->dirty = 1;
		f->failed = 0;
		if (f->seq && off + n > f->wend) {
			f->wend = off + n;
			stream_feed(f);
		}
	}
	pthread_mutex_unlock(&f->lock);
	return n;
}

static int
s_close(struct rh_data_file *f);

static int
s_truncate(struct rh_data *d, const char *path, struct rh_data_file *f,
           off_t size)
{
	struct s3 *s = (struct s3 *)d;
	int r;

	if (size < 0)
		return -EINVAL;
	if (f != NULL) {
		if (f->fd < 0)
			return -EBADF;
		pthread_mutex_lock(&f->lock);
		if (f->seq && size < f->sent)
			stream_drop(f);
		r = ftruncate(f->fd, size) < 0 ? -errno : 0;
		if (r == 0) {
			f->dirty = 1;
			f->failed = 0;
			if (f->seq) {
				f->wend = size;
				stream_feed(f);
			}
		}
		pthread_mutex_unlock(&f->lock);
		return r;
	}
	if ((r = s_open(d, path, O_RDWR | (size == 0 ? O_TRUNC : 0), 0,
	                &f)) < 0)
		return r;
	if (ftruncate(f->fd, size) < 0) {
		r = -errno;
		file_free(f);
		return r;
	}
	f->dirty = 1;
	(void)s;
	return s_close(f);
}

/* Copy key from onto key to (itself: new metadata). */
static int
copy_object(struct s3 *s, const char *from, const char *to,
            struct curl_slist *meta)
{
	struct rh_buf src = { 0 }, body = { 0 };
	struct req q;
	char *code;
	int r;

	rh_buf_printf(&src, "x-amz-copy-source: /%s/", s->bucket);
	uri_encode(&src, from, 1);
	req_init(&q, "PUT", to);
	q.body = "";
	q.out = &body;
	q.hdrs = meta;
	q.hdrs = sym_curl_slist_append(q.hdrs, src.data);
	if (meta != NULL)
		q.hdrs = sym_curl_slist_append(q.hdrs,
		                           "x-amz-metadata-directive: REPLACE");
	r = s3_do(s, &q, 0);
	if (r == 0 && (code = xml_text(body.data, body.len, "Code",
	                               NULL)) != NULL) {
		rh_warn("%s: s3://%s/%s: copy: %s", s->d.addr, s->bucket, to,
		        code);
		free(code);
		r = -EIO;
	}
	req_done(&q);
	rh_buf_free(&body);
	rh_buf_free(&src);
	return r;
}

/* The owner a sets, into uid and gid: each only where a sets it. */
static void
owner_of(const struct rh_data_attr *a, long long *uid, long long *gid)
{
	if (!(a->what & RH_DATA_OWNER))
		return;
	if (a->uid != (uid_t)-1)
		*uid = a->uid;
	if (a->gid != (gid_t)-1)
		*gid = a->gid;
}

static int
s_setattr(struct rh_data *d, const char *path, struct rh_data_file *f,
          const struct rh_data_attr *a)
{
	struct s3 *s = (struct s3 *)d;
	struct curl_slist *meta;
	struct stat st;
	struct meta m;
	char *key;
	int k, r;

	if ((a->what & RH_DATA_OWNER) && !keeps_owners())
		return -EPERM;  /* the mounting user's, all of it */
	if (f != NULL) {
		pthread_mutex_lock(&f->lock);
		r = upload(f);
		if (r == 0 && f->fd >= 0 && file_gone(f)) {
			/* removed while open: what fstat says, no more */
			struct timespec ts[2] = { { 0, UTIME_OMIT },
			                          a->mtime };

			if (a->what & RH_DATA_MODE)
				f->mode = a->mode & 07777;
			if (a->what & RH_DATA_MTIME)
				futimens(f->fd, ts);
			owner_of(a, &f->uid, &f->gid);
			pthread_mutex_unlock(&f->lock);
			return 0;
		}
		pthread_mutex_unlock(&f->lock);
		if (r < 0)
			return r;
		path = f->path;
	}
	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	if (!(a->what & (RH_DATA_MODE | RH_DATA_MTIME | RH_DATA_OWNER)))
		return 0;               /* S3 keeps no access time */
	if ((k = kind_meta(s, path, &st, &m)) < 0)
		return k;
	if (*path == '\0')
		return -EPERM;          /* the root is no object */
	/* all of it again (the copy replaces the metadata), the time too:
	 * the copy's LastModified is now */
	m.mode = (long)(st.st_mode & S_IFMT) | ((long)(a->what & RH_DATA_MODE ?
	         a->mode : st.st_mode) & 07777);
	m.mtime = st.st_mtime;
	if (a->what & RH_DATA_MTIME)
		m.mtime = a->mtime.tv_nsec == UTIME_NOW ?
		          (long long)time(NULL) : (long long)a->mtime.tv_sec;
	owner_of(a, &m.uid, &m.gid);
	meta = meta_headers(&m);
	key = key_of(s, path, k == S_IFDIR);
	if (k == S_IFDIR)
		r = put_empty(s, key, meta);    /* a marker holds no bytes */
	else
		r = copy_object(s, key, key, meta);
	if (f != NULL && r == 0) {
		/* what fstat says from now on */
		struct timespec ts[2] = { { 0, UTIME_OMIT },
		                          { (time_t)m.mtime, 0 } };

		f->mode = (mode_t)m.mode & 07777;
		f->mtime = (time_t)m.mtime;
		f->uid = m.uid;
		f->gid = m.gid;
		if (f->fd >= 0)
			futimens(f->fd, ts);
	}
	free(key);
	return r;
}

static int
s_fsync(struct rh_data_file *f, int datasync)
{
	int r;

	(void)datasync;
	pthread_mutex_lock(&f->lock);
	r = upload(f);
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* At each close(2): what was written is stored now, so that a failed
 * upload fails the close (the release after it is not waited for). */
static int
s_flush(struct rh_data_file *f)
{
	int r;

	pthread_mutex_lock(&f->lock);
	r = upload(f);
	f->failed = r < 0;
	pthread_mutex_unlock(&f->lock);
	return r;
}

static int
s_fstat(struct rh_data_file *f, struct stat *st)
{
	struct meta m = { f->mode ? (long)f->mode : -1, -1, f->uid, f->gid };
	struct stat fs;

	if (f->fd >= 0) {
		if (fstat(f->fd, &fs) < 0)
			return -errno;
		fill_stat(st, 0, fs.st_size, &m, fs.st_mtime, NULL);
	} else {
		fill_stat(st, 0, f->size, &m, f->mtime, NULL);
		st->st_ino = f->ver;
	}
	return 0;
}

static int
s_close(struct rh_data_file *f)
{
	/* a close that failed said so: what it failed to store is not
	 * stored behind its back */
	int r = f->failed ? 0 : upload(f);

	file_free(f);
	return r;
}

static int
s_mkdir(struct rh_data *d, const char *path, mode_t mode)
{
	struct s3 *s = (struct s3 *)d;
	struct curl_slist *meta = NULL;
	char *key;
	int k, r;

	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	k = kind_of(s, path, NULL);
	if (k >= 0)
		return -EEXIST;
	if (k != -ENOENT)
		return k;
	if ((r = parent_ok(s, path)) < 0)
		return r;
	if ((mode & 07777) != 0755) {
		struct meta m = META_NONE;

		m.mode = (long)(S_IFDIR | (mode & 07777));
		meta = meta_headers(&m);
	}
	key = key_of(s, path, 1);
	r = put_empty(s, key, meta);    /* the request frees meta */
	free(key);
	return r;
}

static int
s_unlink(struct rh_data *d, const char *path)
{
	struct s3 *s = (struct s3 *)d;
	char *key;
	int k, r;

	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	k = kind_of(s, path, NULL);
	if (k < 0)
		return k;
	if (k == S_IFDIR)
		return -EISDIR;
	if ((r = keep_parent(s, path)) < 0)
		return r;
	key = key_of(s, path, 0);
	r = delete_key(s, key);
	free(key);
	if (r == 0)
		files_moved(s, path, 0, NULL);
	return r;
}

/* dirkey's entries: 0 none, 1 some, -errno. */
static int
dir_has_entries(struct s3 *s, const char *dirkey)
{
	struct page pg;
	int n = 0, r;

	r = list_page(s, dirkey, 0, 2, NULL, count_cb, &n, &pg);
	free(pg.next);
	if (r < 0)
		return r;
	if (n == 0)
		return 0;
	if (n == 1) {
		struct req q;

		/* the one key may be the marker itself */
		r = head(s, dirkey, &q);
		req_done(&q);
		if (r == 0)
			return 0;
		return r == -ENOENT ? 1 : r;
	}
	return 1;
}

static int
s_rmdir(struct rh_data *d, const char *path)
{
	struct s3 *s = (struct s3 *)d;
	char *key;
	int k, r;

	if (rh_data_path_ok(path) < 0)
		return -EINVAL;
	if (*path == '\0')
		return -EBUSY;
	if ((k = kind_of(s, path, NULL)) < 0)
		return k;
	if (k != S_IFDIR)
		return -ENOTDIR;
	key = key_of(s, path, 1);
	r = dir_has_entries(s, key);
	if (r > 0)
		r = -ENOTEMPTY;
	if (r == 0)
		r = keep_parent(s, path);
	if (r == 0)
		r = delete_key(s, key);
	free(key);
	return r;
}

struct keys {
	char **k;
	size_t n, cap;
};

static int
keys_add(const char *key, int is_file, off_t size, time_t mtime,
         const char *etag, void *arg)
{
	struct keys *ks = arg;

	(void)is_file;
	(void)size;
	(void)mtime;
	(void)etag;
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 64;
		ks->k = xrealloc(ks->k, ks->cap * sizeof(*ks->k));
	}
	ks->k[ks->n++] = xstrdup(key);
	return 0;
}

/* A directory, object by object: every key below it copied, then the
 * sources deleted. */
static int
rename_dir(struct s3 *s, const char *from, const char *to)
{
	struct keys ks = { 0 };
	char *fk = key_of(s, from, 1), *tk = key_of(s, to, 1), *dst;
	size_t i, flen = strlen(fk);
	int r, marker = 0;

	r = list_all(s, fk, 0, keys_add, &ks);
	for (i = 0; r == 0 && i < ks.n; i++) {
		dst = xasprintf("%s%s", tk, ks.k[i] + flen);
		marker |= strcmp(ks.k[i], fk) == 0;
		r = copy_object(s, ks.k[i], dst, NULL);
		free(dst);
	}
	if (r == 0 && !marker)
		r = put_empty(s, tk, NULL);
	if (r == 0)
		r = keep_parent(s, from);
	for (i = 0; r == 0 && i < ks.n; i++)
		r = delete_key(s, ks.k[i]);
	for (i = 0; i < ks.n; i++)
		free(ks.k[i]);
	free(ks.k);
	free(fk);
	free(tk);
	return r;
}

static int
s_rename(struct rh_data *d, const char *from, const char *to, unsigned flags)
{
	struct s3 *s = (struct s3 *)d;
	size_t flen = strlen(from);
	char *fk, *tk;
	int kf, kt, r;

	if (rh_data_path_ok(from) < 0 || rh_data_path_ok(to) < 0)
		return -EINVAL;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;         /* no atomic exchange in S3 */
	if (*from == '\0' || *to == '\0')
		return -EBUSY;
	if ((kf = kind_of(s, from, NULL)) < 0)
		return kf;
	if (strcmp(from, to) == 0)
		return 0;
	if (kf == S_IFDIR && strncmp(to, from, flen) == 0 && to[flen] == '/')
		return -EINVAL;         /* into itself */
	kt = kind_of(s, to, NULL);
	if (kt < 0 && kt != -ENOENT)
		return kt;
	if (kt >= 0 && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (kt == S_IFDIR && kf != S_IFDIR)
		return -EISDIR;
	if (kt == S_IFREG && kf == S_IFDIR)
		return -ENOTDIR;
	if (kt < 0 && (r = parent_ok(s, to)) < 0)
		return r;
	if (kt == S_IFDIR) {
		tk = key_of(s, to, 1);
		r = dir_has_entries(s, tk);
		free(tk);
		if (r != 0)
			return r > 0 ? -ENOTEMPTY : r;
	}
	if (kf == S_IFDIR) {
		if ((r = rename_dir(s, from, to)) == 0)
			files_moved(s, from, 1, to);
		return r;
	}
	fk = key_of(s, from, 0);
	tk = key_of(s, to, 0);
	r = copy_object(s, fk, tk, NULL);
	if (r == 0)
		r = keep_parent(s, from);
	if (r == 0)
		r = delete_key(s, fk);
	free(fk);
	free(tk);
	if (r == 0) {
		files_moved(s, to, 0, NULL);    /* what was there is gone */
		files_moved(s, from, 0, to);
	}
	return r;
}

static void
s_free(struct rh_data *d)
{
	struct s3 *s = (struct s3 *)d;
	int i;

	sym_curl_share_cleanup(s->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->locks[i]);
	pthread_mutex_destroy(&s->files_lock);
	if (s->secret != NULL)
		OPENSSL_cleanse(s->secret, strlen(s->secret));
	if (s->token != NULL)
		OPENSSL_cleanse(s->token, strlen(s->token));
	free(s->akid);
	free(s->secret);
	free(s->token);
	free(s->base);
	free(s->bucket);
	free(s->bpath);
	free(s->prefix);
	free(s->region);
	free(s->sigv4);
	free(s->d.addr);
	free(s);
}

static const struct rh_data_ops s3_ops = {
	.name = "s3",
	.stat = s_stat,
	.list = s_list,
	.readlink = s_readlink,
	.open = s_open,
	.read = s_read,
	.write = s_write,
	.truncate = s_truncate,
	.setattr = s_setattr,
	.fsync = s_fsync,
	.flush = s_flush,
	.fstat = s_fstat,
	.close = s_close,
	.mkdir = s_mkdir,
	.unlink = s_unlink,
	.rmdir = s_rmdir,
	.rename = s_rename,
	.free = s_free,
};

/* ---- credentials and options ---- */

static char *
trimmed(const char *v, size_t len)
{
	/* `echo VALUE > field` leaves a newline no key holds */
	while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\r'))
		len--;
	return xstrndup(v, len);
}

static int
default_secret(void *arg, const char *name, const char *field,
               struct rh_buf *out, struct rh_err *err)
{
	char *path = xasprintf("secrets/%s", name);
	int r;

	(void)arg;
	r = rh_secret_local_get(path, field, out, NULL, err);
	free(path);
	return r;
}

/* From the secret "aws": 1 when it gave the keys, 0, or -errno. */
static int
creds_from_secret(struct s3 *s, const struct rh_data_opts *o,
                  struct rh_err *err)
{
	static const char *const fields[] = {
		"access_key", "secret_key", "session_token",
	};
	rh_data_secret_fn get = o && o->secret ? o->secret : default_secret;
	char **dst[] = { &s->akid, &s->secret, &s->token };
	struct rh_buf b = { 0 };
	size_t i;
	int r;

	for (i = 0; i < 3; i++) {
		err->msg[0] = '\0';
		r = get(o ? o->secret_arg : NULL, "aws", fields[i], &b, err);
		if (r == 0)
			*dst[i] = trimmed(b.data, b.len);
		rh_buf_cleanse(&b);
		if (r < 0 && r != -ENOENT)
			return r;
		if (r == -ENOENT && i < 2)
			break;
	}
	if (s->akid != NULL && s->secret != NULL)
		return 1;
	free(s->akid);
	free(s->secret);
	free(s->token);
	s->akid = s->secret = s->token = NULL;
	return 0;
}

static char *
env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? xstrdup(v) : NULL;
}

/* A key of section in ~/.aws/FILE, or NULL. */
static char *
aws_file(const char *file, const char *section, const char *key)
{
	const char *home = getenv("HOME"), *v;
	struct rh_buf text = { 0 };
	char *path, *out = NULL;
	size_t vl, a, b;

	if (home == NULL)
		return NULL;
	path = xasprintf("%s/.aws/%s", home, file);
	if (rh_file_read(path, 1024 * 1024, &text, NULL) == 0) {
		rh_ini_find(text.data, text.len, section, key, &v, &vl, &a,
		            &b);
		if (v != NULL && vl > 0)
			out = xstrndup(v, vl);
	}
	rh_buf_cleanse(&text);
	free(path);
	return out;
}

static int
load_creds(struct s3 *s, const struct rh_data_opts *o, struct rh_err *err)
{
	const char *profile = getenv("AWS_PROFILE");
	char *cfgsec;
	int r;

	if ((r = creds_from_secret(s, o, err)) != 0)
		return r < 0 ? r : 0;
	s->akid = env("AWS_ACCESS_KEY_ID");
	s->secret = env("AWS_SECRET_ACCESS_KEY");
	if (s->akid != NULL && s->secret != NULL) {
		s->token = env("AWS_SESSION_TOKEN");
		return 0;
	}
	free(s->akid);
	free(s->secret);
	if (profile == NULL || *profile == '\0')
		profile = "default";
	s->akid = aws_file("credentials", profile, "aws_access_key_id");
	s->secret = aws_file("credentials", profile, "aws_secret_access_key");
	s->token = aws_file("credentials", profile, "aws_session_token");
	if (s->akid == NULL || s->secret == NULL) {
		free(s->akid);
		free(s->secret);
		free(s->token);
		s->akid = s->secret = s->token = NULL;
	}
	if (s->region == NULL) {
		cfgsec = strcmp(profile, "default") == 0 ? xstrdup(profile) :
		         xasprintf("profile %s", profile);
		s->region = aws_file("config", cfgsec, "region");
		free(cfgsec);
	}
	return 0;
}

static const char *
dc_string(const cJSON *dc, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(dc, name);

	return cJSON_IsString(v) && v->valuestring[0] != '\0' ?
	       v->valuestring : NULL;
}

int
rh_data_s3_open(const struct rh_data_loc *loc, const char *addr, int is_blob,
                const struct rh_data_opts *opts, struct rh_data **out,
                char **blob, struct rh_err *err)
{
	const char *p = loc->path, *slash, *ep, *rg;
	struct s3 *s;
	struct page pg;
	char *pre, *last;
	size_t n;
	int i, r;

	*out = NULL;
	if (rh_curl_load(addr, err) < 0 || rh_xml_load(addr, err) < 0)
		return -1;
	if (strncmp(p, "s3://", 5) == 0)
		p += 5;
	p += strspn(p, "/");
	s = xcalloc(1, sizeof(*s));
	s->d.ops = &s3_ops;
	s->d.addr = xstrdup(addr);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->locks[i], NULL);
	pthread_mutex_init(&s->files_lock, NULL);
	slash = strchr(p, '/');
	s->bucket = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
	pre = xstrdup(slash ? slash + 1 : "");
	/* "a//b/" is a/b: the key prefix has no empty components */
	for (n = strlen(pre); n > 0 && pre[n - 1] == '/'; n--)
		pre[n - 1] = '\0';
	if (is_blob) {
		last = strrchr(pre, '/');
		if (*pre == '\0') {
			free(pre);
			s_free(&s->d);
			return rh_err_set(err, EINVAL, "%s: a blob's path names "
			                  "an object (bucket/key)", addr);
		}
		if (blob != NULL)
			*blob = xstrdup(last ? last + 1 : pre);
		if (last != NULL)
			last[0] = '\0';
		else
			pre[0] = '\0';
	}
	s->prefix = *pre ? xasprintf("%s/", pre) : xstrdup("");
	free(pre);
	if (rh_data_path_ok(s->prefix[0] ? s->prefix : "") < 0 &&
	    (n = strlen(s->prefix)) > 0) {
		s->prefix[n - 1] = '\0';
		r = rh_data_path_ok(s->prefix);
		s->prefix[n - 1] = '/';
		if (r < 0) {
			r = rh_err_set(err, EINVAL, "%s: the s3 path's prefix "
			               "'%s' has an empty, '.' or '..' "
			               "component", addr, s->prefix);
			goto fail;
		}
	}
	rg = dc_string(loc->data_config, "region");
	s->region = rg ? xstrdup(rg) : env("AWS_REGION");
	if (s->region == NULL)
		s->region = env("AWS_DEFAULT_REGION");
	if ((r = load_creds(s, opts, err)) < 0)
		goto fail;
	if (s->region == NULL)
		s->region = xstrdup("us-east-1");
	ep = dc_string(loc->data_config, "endpoint_url");
	if (ep != NULL) {
		s->base = xstrdup(ep);
		for (n = strlen(s->base); n > 0 && s->base[n - 1] == '/'; n--)
			s->base[n - 1] = '\0';
		if (strncmp(s->base, "http://", 7) != 0 &&
		    strncmp(s->base, "https://", 8) != 0) {
			r = rh_err_set(err, EINVAL, "%s: data_config's "
			               "endpoint_url '%s' is no http:// or "
			               "https:// URL", addr, ep);
			goto fail;
		}
		s->bpath = xasprintf("/%s", s->bucket);
	} else if (strchr(s->bucket, '.') != NULL) {
		/* dotted names break the certificate's wildcard */
		s->base = xasprintf("https://s3.%s.amazonaws.com", s->region);
		s->bpath = xasprintf("/%s", s->bucket);
	} else {
		s->base = xasprintf("https://%s.s3.%s.amazonaws.com",
		                    s->bucket, s->region);
		s->bpath = xstrdup("");
	}
	s->sigv4 = xasprintf("aws:amz:%s:s3", s->region);
	s->timeout_ms = (long)((opts && opts->io_timeout > 0 ?
	                        opts->io_timeout : RH_DATA_IO_TIMEOUT) * 1000);
	s->share = sym_curl_share_init();
	sym_curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
	sym_curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	sym_curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
	sym_curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	sym_curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	/* the bucket must be there, and the keys good for it */
	r = list_page(s, s->prefix, 0, 1, NULL, count_cb, &i, &pg);
	free(pg.next);
	if (r == -ENOENT)
		r = rh_err_set(err, ENOENT, "%s: no bucket '%s' at %s", addr,
		               s->bucket, s->base);
	else if (r == -EACCES)
		r = rh_err_set(err, EACCES, "%s: bucket '%s' refused these "
		               "credentials (the log has the store's words)",
		               addr, s->bucket);
	else if (r < 0)
		r = rh_err_set(err, -r, "%s: bucket '%s' at %s: %s", addr,
		               s->bucket, s->base, strerror(-r));
	if (r < 0)
		goto fail;
	*out = &s->d;
	return 0;
fail:
	if (blob != NULL) {
		free(*blob);
		*blob = NULL;
	}
	s_free(&s->d);
	return r;
}

/*
 * etcd-client.c - the etcd client (src/rns/etcd.c) against a real etcd.
 *
 * Usage: etcd-client URL. tests/etcd.sh starts etcd (with
 * --auth-token-ttl 2) and serves requests written to fd 3, one a line,
 * answering on fd 4: "stop", "start" (the same etcd again), "tls" (a
 * fresh etcd on https; answer "ok URL CAFILE"). Waits are bounded; no
 * check depends on how long something took.
 *
 * etcd-client --cluster URL,URL,URL: the same client on a cluster of
 * three members (tests/etcd-cluster.sh), which it has killed ("kill N"),
 * started again ("start N", answered once there is a leader), stopped
 * and continued ("stop N", "cont N") as it goes.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "etcd.h"

#define TIMEOUT_MS      2000

static int passed, failed;
static long timeout_ms = TIMEOUT_MS;
static const char *url;

static void RH_PRINTF(2, 3)
check(int cond, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cond) {
		passed++;
		printf("ok - %s\n", msg);
	} else {
		failed++;
		printf("not ok - %s\n", msg);
		fprintf(stderr, "FAIL - %s\n", msg);
	}
	fflush(stdout);
}

static int
unreachable(int r)
{
	return r == -ETIMEDOUT || r == -EHOSTUNREACH || r == -EIO ||
	       r == -ENOTCONN;
}

static struct rh_etcd *
client_at(const char *at, const char *cafile)
{
	struct rh_etcd_opts o = { .url = at, .cafile = cafile,
	                          .connect_timeout_ms = timeout_ms,
	                          .timeout_ms = timeout_ms };
	struct rh_etcd *c;
	struct rh_err err = { "" };

	if (rh_etcd_new(&o, &c, &err) < 0) {
		fprintf(stderr, "FAIL - %s\n", err.msg);
		exit(1);
	}
	return c;
}

static struct rh_etcd *
client(void)
{
	return client_at(url, NULL);
}

/* Ask etcd.sh to do something to etcd; its answer, or NULL. */
static char *
ctl(const char *cmd)
{
	static char line[4096];
	struct pollfd p = { .fd = 4, .events = POLLIN };
	size_t n = 0;
	ssize_t r;

	if (dprintf(3, "%s\n", cmd) < 0)
		return NULL;
	while (n + 1 < sizeof(line)) {
		if (poll(&p, 1, 120000) != 1)
			return NULL;
		if ((r = read(4, line + n, 1)) != 1)
			return NULL;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return line;
}

/* ---- watch events, gathered for the checks ---- */

struct seen {
	enum rh_etcd_event_type type;
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t rev;
};

struct events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct seen *v;
	size_t n;
};

static void
events_init(struct events *e)
{
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
}

static void
events_free(struct events *e)
{
	size_t i;

	for (i = 0; i < e->n; i++) {
		free(e->v[i].key);
		free(e->v[i].value);
	}
	free(e->v);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
}

static void
on_event(void *arg, const struct rh_etcd_event *ev)
{
	struct events *e = arg;
	struct seen *s;

	pthread_mutex_lock(&e->lock);
	e->v = xrealloc(e->v, (e->n + 1) * sizeof(*e->v));
	s = &e->v[e->n++];
	s->type = ev->type;
	s->key = ev->key ? xstrndup(ev->key, ev->key_len) : NULL;
	s->key_len = ev->key_len;
	s->value = ev->value ? xstrndup(ev->value, ev->value_len) : NULL;
	s->value_len = ev->value_len;
	s->rev = ev->mod_revision;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

/* Index of the first event from `from` on of this type (and key, when
 * given), waiting at most secs for it; -1 if none came. */
static long
wait_event(struct events *e, size_t from, enum rh_etcd_event_type type,
           const char *key, int secs)
{
	struct timespec ts;
	size_t i;
	long found = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	pthread_mutex_lock(&e->lock);
	for (;;) {
		for (i = from; i < e->n && found < 0; i++)
			if (e->v[i].type == type && (key == NULL ||
			    (e->v[i].key && strcmp(e->v[i].key, key) == 0)))
				found = (long)i;
		if (found >= 0 ||
		    pthread_cond_timedwait(&e->cond, &e->lock, &ts) != 0)
			break;
	}
	pthread_mutex_unlock(&e->lock);
	return found;
}

static size_t
events_count(struct events *e)
{
	size_t n;

	pthread_mutex_lock(&e->lock);
	n = e->n;
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* ---- the checks ---- */

static int
put_str(struct rh_etcd *c, const char *key, const char *value, int64_t *rev,
        struct rh_err *err)
{
	return rh_etcd_put(c, key, strlen(key), value, strlen(value), rev, err);
}

/* Keys and values of every length mod 3, with NUL, 0xff, '=', '\n'. */
static void
test_binary(struct rh_etcd *c)
{
	static const unsigned char bytes[] = { 0x00, 0xff, '=', '\n', 0x80,
	                                       '/', 0x01, 0xfe, '"', '\\' };
	char key[32], value[64], big_key[260];
	struct rh_etcd_kv kv;
	struct rh_err err = { "" };
	struct rh_buf big = { 0 };
	size_t len, i;
	int r;

	for (len = 0; len <= 10; len++) {
		memcpy(key, "bin/", 4);
		for (i = 0; i < len; i++)
			key[4 + i] = (char)bytes[(i + len) % sizeof(bytes)];
		for (i = 0; i < len * 3; i++)
			value[i] = (char)bytes[i % sizeof(bytes)];
		r = rh_etcd_put(c, key, 4 + len, value, len * 3, NULL, &err);
		check(r == 0, "put a key of %zu bytes, value of %zu: %s",
		      4 + len, len * 3, r ? err.msg : "");
		r = rh_etcd_get(c, key, 4 + len, &kv, &err);
		check(r == 0 && kv.key_len == 4 + len &&
		      memcmp(kv.key, key, 4 + len) == 0 &&
		      kv.value_len == len * 3 &&
		      memcmp(kv.value, value, len * 3) == 0,
		      "get it back byte for byte (%zu, %zu) %s", 4 + len,
		      len * 3, r ? err.msg : "");
		rh_etcd_kv_free(&kv);
	}

	/* Every byte value in one key; a value far over 64 KiB. */
	for (i = 0; i < 256; i++)
		big_key[i] = (char)i;
	for (i = 0; i < 300000; i++)
		rh_buf_printf(&big, "%c", (char)(i * 7 + i / 251));
	r = rh_etcd_put(c, big_key, 256, big.data, big.len, NULL, &err);
	check(r == 0, "put all 256 byte values as a key, 300000 byte value "
	      "%s", r ? err.msg : "");
	r = rh_etcd_get(c, big_key, 256, &kv, &err);
	check(r == 0 && kv.key_len == 256 && memcmp(kv.key, big_key, 256) ==
	      0 && kv.value_len == big.len && memcmp(kv.value, big.data,
	      big.len) == 0, "get them back byte for byte");
	rh_etcd_kv_free(&kv);
	rh_buf_free(&big);

	r = rh_etcd_get(c, "bin/nope", 8, &kv, &err);
	check(r == -ENOENT, "get of a missing key: ENOENT (%d: %s)", r,
	      err.msg);
	r = rh_etcd_put(c, "", 0, "x", 1, NULL, &err);
	check(r == -EINVAL, "put of an empty key: EINVAL (%s)", err.msg);
}

static void
test_revisions(struct rh_etcd *c)
{
	struct rh_etcd_kv kv;
	struct rh_err err = { "" };
	int64_t r1 = 0, r2 = 0;
	int r;

	r = put_str(c, "rev/a", "one", &r1, &err);
	check(r == 0 && r1 > 1, "put gives the revision (%lld)",
	      (long long)r1);
	r = rh_etcd_get(c, "rev/a", 5, &kv, &err);
	check(r == 0 && kv.mod_revision == r1 && kv.create_revision == r1 &&
	      kv.version == 1, "get: mod_revision %lld create_revision %lld "
	      "version %lld", (long long)kv.mod_revision,
	      (long long)kv.create_revision, (long long)kv.version);
	rh_etcd_kv_free(&kv);
	r = put_str(c, "rev/a", "two", &r2, &err);
	check(r == 0 && r2 > r1, "a second put has a later revision");
	r = rh_etcd_get(c, "rev/a", 5, &kv, &err);
	check(r == 0 && kv.mod_revision == r2 && kv.create_revision == r1 &&
	      kv.version == 2 && strcmp(kv.value, "two") == 0,
	      "get after it: mod %lld create %lld version %lld",
	      (long long)kv.mod_revision, (long long)kv.create_revision,
	      (long long)kv.version);
	rh_etcd_kv_free(&kv);
}

static void
test_range(struct rh_etcd *c)
{
	struct rh_etcd_op op = { .type = RH_ETCD_RANGE, .key = "p/",
	                         .key_len = 2, .flags = RH_ETCD_PREFIX };
	struct rh_etcd_kvs kvs;
	struct rh_err err = { "" };
	char key[16], value[16];
	int i, r, sorted = 1;
	int64_t deleted = -1;

	/* In an order that is not the keys'. */
	for (i = 0; i < 30; i++) {
		int k = (i * 7) % 30;

		snprintf(key, sizeof(key), "p/%02d", k);
		snprintf(value, sizeof(value), "v%d", k);
		put_str(c, key, value, NULL, &err);
	}
	put_str(c, "p", "not below p/", NULL, &err);
	put_str(c, "p0", "not below p/", NULL, &err);

	op.limit = 10;
	r = rh_etcd_range(c, &op, &kvs, &err);
	for (i = 0; r == 0 && i < (int)kvs.n; i++) {
		snprintf(key, sizeof(key), "p/%02d", i);
		snprintf(value, sizeof(value), "v%d", i);
		if (strcmp(kvs.kv[i].key, key) != 0 ||
		    strcmp(kvs.kv[i].value, value) != 0)
			sorted = 0;
	}
	check(r == 0 && kvs.n == 10 && kvs.more && kvs.count == 30 && sorted,
	      "prefix range with limit 10: n %zu more %d count %lld, the "
	      "first ten keys in order", kvs.n, kvs.more,
	      (long long)kvs.count);
	rh_etcd_kvs_free(&kvs);

	op.limit = 0;
	op.flags |= RH_ETCD_KEYS_ONLY;
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r == 0 && kvs.n == 30 && !kvs.more && kvs.kv[29].value == NULL &&
	      strcmp(kvs.kv[29].key, "p/29") == 0 && kvs.revision > 0,
	      "prefix range, keys only: all 30 and nothing else");
	rh_etcd_kvs_free(&kvs);

	/* Paging on from after the last key seen: [p/10, p0). */
	op.key = "p/10";
	op.key_len = 4;
	op.end = "p0";
	op.end_len = 2;
	op.flags = RH_ETCD_COUNT_ONLY;
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r == 0 && kvs.n == 0 && kvs.count == 20,
	      "count only of [p/10, p0): %lld", (long long)kvs.count);
	rh_etcd_kvs_free(&kvs);

	/* A prefix ending in 0xff: its end carries into the byte before. */
	put_str(c, "x\xff\xff" "a", "1", NULL, &err);
	put_str(c, "x\xff\xfe", "2", NULL, &err);
	put_str(c, "y", "3", NULL, &err);
	op = (struct rh_etcd_op){ .type = RH_ETCD_RANGE, .key = "x\xff\xff",
	                          .key_len = 3, .flags = RH_ETCD_PREFIX };
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r == 0 && kvs.n == 1 && strcmp(kvs.kv[0].key, "x\xff\xff" "a")
	      == 0, "prefix x\\xff\\xff: only the key below it (%zu)", kvs.n);
	rh_etcd_kvs_free(&kvs);
	op.key_len = 2;
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r == 0 && kvs.n == 2, "prefix x\\xff: both keys, not y (%zu)",
	      kvs.n);
	rh_etcd_kvs_free(&kvs);

	r = rh_etcd_delete(c, "p/00", 4, 0, &deleted, &err);
	check(r == 0 && deleted == 1, "delete one key: 1 deleted");
	r = rh_etcd_delete(c, "p/", 2, RH_ETCD_PREFIX, &deleted, &err);
	check(r == 0 && deleted == 29, "delete a prefix: 29 deleted (%lld)",
	      (long long)deleted);
	r = rh_etcd_delete(c, "p/", 2, RH_ETCD_PREFIX, &deleted, &err);
	check(r == 0 && deleted == 0, "delete it again: 0 deleted");
	r = rh_etcd_delete(c, "p", 1, RH_ETCD_PREFIX, &deleted, &err);
	check(r == 0 && deleted == 2, "what was beside it is still there");
}

static void
test_txn(struct rh_etcd *a, struct rh_etcd *b)
{
	struct rh_etcd_kv kv, kva, kvb;
	struct rh_etcd_txn_result res;
	struct rh_err err = { "" }, errb = { "" };
	int64_t rev = 0;
	int r, ra, rb;

	/* Two writers read the same version; the second to write loses. */
	put_str(a, "cas/k", "base", NULL, &err);
	rh_etcd_get(a, "cas/k", 5, &kva, &err);
	rh_etcd_get(b, "cas/k", 5, &kvb, &err);
	ra = rh_etcd_put_if(a, "cas/k", 5, "from a", 6, kva.mod_revision,
	                    &rev, &err);
	rb = rh_etcd_put_if(b, "cas/k", 5, "from b", 6, kvb.mod_revision,
	                    NULL, &errb);
	check(ra == 0 && rev > kva.mod_revision, "CAS: the first writer "
	      "wins %s", ra ? err.msg : "");
	check(rb == -EAGAIN, "CAS: the second gets EAGAIN (%d: %s)", rb,
	      errb.msg);
	r = rh_etcd_get(b, "cas/k", 5, &kv, &err);
	check(r == 0 && strcmp(kv.value, "from a") == 0 &&
	      kv.mod_revision == rev, "and the first one's value stays");
	rh_etcd_kv_free(&kva);
	rh_etcd_kv_free(&kvb);

	r = rh_etcd_put_if(b, "cas/k", 5, "again", 5, kv.mod_revision, NULL,
	                   &err);
	check(r == 0, "the loser reads again and succeeds");
	rh_etcd_kv_free(&kv);
	r = rh_etcd_put_if(a, "cas/k", 5, "new", 3, 0, NULL, &err);
	check(r == -EAGAIN, "create-only put of an existing key: EAGAIN");
	r = rh_etcd_put_if(a, "cas/new", 7, "new", 3, 0, NULL, &err);
	check(r == 0, "create-only put of a new key");

	/* Several ops in one go, the results of the branch that ran. */
	{
		struct rh_etcd_cmp cmp[] = {
			{ .key = "cas/k", .key_len = 5, .target = RH_ETCD_VALUE,
			  .result = RH_ETCD_EQUAL, .value = "again",
			  .value_len = 5 },
			{ .key = "cas/new", .key_len = 7,
			  .target = RH_ETCD_VERSION, .result = RH_ETCD_EQUAL,
			  .number = 1 },
			{ .key = "cas/none", .key_len = 8,
			  .target = RH_ETCD_CREATE, .result = RH_ETCD_EQUAL,
			  .number = 0 },
		};
		struct rh_etcd_op ok[] = {
			{ .type = RH_ETCD_PUT, .key = "cas/t1", .key_len = 6,
			  .value = "\0\1", .value_len = 2 },
			{ .type = RH_ETCD_DELETE, .key = "cas/new",
			  .key_len = 7 },
			{ .type = RH_ETCD_RANGE, .key = "cas/", .key_len = 4,
			  .flags = RH_ETCD_PREFIX | RH_ETCD_KEYS_ONLY },
		};
		struct rh_etcd_op ko[] = {
			{ .type = RH_ETCD_RANGE, .key = "cas/k", .key_len = 5 },
		};
		struct rh_etcd_txn t = { cmp, 3, ok, 3, ko, 1 };

		r = rh_etcd_txn(a, &t, &res, &err);
		check(r == 0 && res.succeeded && res.n == 3 &&
		      res.results[0].type == RH_ETCD_PUT &&
		      res.results[1].deleted == 1 &&
		      res.results[2].range.n == 2 &&
		      strcmp(res.results[2].range.kv[1].key, "cas/t1") == 0,
		      "txn: compares hold, put, delete and range all ran %s",
		      r ? err.msg : "");
		rh_etcd_txn_result_free(&res);

		r = rh_etcd_txn(a, &t, &res, &err);
		check(r == 0 && !res.succeeded && res.n == 1 &&
		      res.results[0].range.n == 1 &&
		      strcmp(res.results[0].range.kv[0].value, "again") == 0,
		      "txn again: a compare fails, the failure branch ran and "
		      "says what is there");
		rh_etcd_txn_result_free(&res);
		r = rh_etcd_get(a, "cas/new", 7, &kv, &err);
		check(r == -ENOENT, "and the success branch did not");
	}
}

static void
test_keepalive(void)
{
	struct rh_etcd *c = client();
	struct rh_etcd_stats st;
	struct rh_etcd_kv kv;
	struct rh_err err = { "" };
	int i, r = 0;

	rh_etcd_get(c, "rev/a", 5, &kv, &err);
	rh_etcd_kv_free(&kv);
	rh_etcd_stats(c, &st);
	check(st.requests == 1 && st.connects == 1,
	      "first request: one connection");
	for (i = 0; i < 50 && r == 0; i++) {
		r = put_str(c, "ka/k", "v", NULL, &err);
		if (r == 0)
			r = rh_etcd_get(c, "ka/k", 4, &kv, &err);
		rh_etcd_kv_free(&kv);
	}
	rh_etcd_stats(c, &st);
	check(r == 0 && st.requests == 101 && st.connects == 1,
	      "100 more requests on the same connection (%llu connects)",
	      (unsigned long long)st.connects);
	rh_etcd_free(c);
}

static void
test_watch(struct rh_etcd *c)
{
	struct rh_etcd *other = client();
	struct rh_etcd_watch *w;
	struct events ev;
	struct rh_err err = { "" };
	int64_t rput = 0, rdel = 0;
	long i, j;
	int r;

	events_init(&ev);
	r = rh_etcd_watch_start(c, "w/", 2, 0, on_event, &ev, &w, &err);
	check(r == 0, "watch w/ %s", r ? err.msg : "");
	if (r < 0)
		return;
	put_str(other, "w/a", "va", &rput, &err);
	put_str(other, "wx", "outside", NULL, &err);
	rh_etcd_delete(other, "w/a", 3, 0, NULL, &err);
	put_str(other, "w/b", "", &rdel, &err);
	rdel--;         /* the delete came just before, nobody else writes */
	i = wait_event(&ev, 0, RH_ETCD_EV_PUT, "w/a", 10);
	check(i >= 0 && ev.v[i].rev == rput && strcmp(ev.v[i].value, "va") ==
	      0, "the watch sees another client's put, its value and "
	      "revision");
	j = wait_event(&ev, 0, RH_ETCD_EV_DELETE, "w/a", 10);
	check(j > i && ev.v[j].rev == rdel, "then its delete (rev %lld)",
	      j >= 0 ? (long long)ev.v[j].rev : -1LL);
	i = wait_event(&ev, 0, RH_ETCD_EV_PUT, "w/b", 10);
	check(i > j && ev.v[i].value_len == 0, "then an empty value");
	check(wait_event(&ev, 0, RH_ETCD_EV_PUT, "wx", 0) < 0,
	      "but not a key outside its prefix");
	rh_etcd_watch_stop(w);
	events_free(&ev);

	/* From a revision in the past: what happened since comes first. */
	events_init(&ev);
	r = rh_etcd_watch_start(c, "w/", 2, rput, on_event, &ev, &w, &err);
	i = wait_event(&ev, 0, RH_ETCD_EV_PUT, "w/a", 10);
	check(r == 0 && i == 0 && ev.v[i].rev == rput,
	      "a watch from an earlier revision replays from there");
	rh_etcd_watch_stop(w);
	events_free(&ev);
	rh_etcd_free(other);
}

static void
test_compaction(struct rh_etcd *c)
{
	struct rh_etcd_op op = { .type = RH_ETCD_RANGE, .key = "cmp/k",
	                         .key_len = 5 };
	struct rh_etcd_watch *w;
	struct rh_etcd_kvs kvs;
	struct rh_etcd_kv kv;
	struct events ev;
	struct rh_err err = { "" };
	int64_t r1, r2, r3;
	long i, j;
	int r;

	put_str(c, "cmp/k", "v1", &r1, &err);
	put_str(c, "cmp/k", "v2", &r2, &err);
	put_str(c, "cmp/k", "v3", &r3, &err);
	op.revision = r1;
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r == 0 && kvs.n == 1 && strcmp(kvs.kv[0].value, "v1") == 0,
	      "read at an old revision");
	rh_etcd_kvs_free(&kvs);
	r = rh_etcd_compact(c, r3, 1, &err);
	check(r == 0, "compact %s", r ? err.msg : "");
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r == -ESTALE, "read at a compacted revision: ESTALE (%s)",
	      err.msg);
	r = rh_etcd_compact(c, r2, 0, &err);
	check(r == -ESTALE, "compact to before the last compaction: ESTALE");
	r = rh_etcd_compact(c, r3 + 1000, 0, &err);
	check(r == -ERANGE, "compact to the future: ERANGE (%s)", err.msg);
	r = rh_etcd_get(c, "cmp/k", 5, &kv, &err);
	check(r == 0 && strcmp(kv.value, "v3") == 0, "latest value kept");
	rh_etcd_kv_free(&kv);

	/* A watch that must start in compacted history says so, and goes
	 * on from the compaction. */
	events_init(&ev);
	r = rh_etcd_watch_start(c, "cmp/", 4, r1, on_event, &ev, &w, &err);
	i = wait_event(&ev, 0, RH_ETCD_EV_RESYNC, NULL, 10);
	j = wait_event(&ev, 0, RH_ETCD_EV_PUT, "cmp/k", 10);
	check(r == 0 && i == 0 && ev.v[i].rev == r3,
	      "watch from compacted history: RESYNC at the compaction");
	check(j > i && ev.v[j].rev == r3, "then the events from there");
	put_str(c, "cmp/k", "v4", &r1, &err);
	j = wait_event(&ev, (size_t)j + 1, RH_ETCD_EV_PUT, "cmp/k", 10);
	check(j > 0 && ev.v[j].rev == r1, "and new ones");
	rh_etcd_watch_stop(w);
	events_free(&ev);
}

/* A server that takes connections and never answers. */
static void
test_blackhole(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	struct rh_etcd *c;
	struct rh_etcd_watch *w;
	struct rh_etcd_kv kv;
	struct events ev;
	struct rh_err err = { "" };
	char at[64];
	int fd, r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		check(0, "a silent server: %s", strerror(errno));
		return;
	}
	snprintf(at, sizeof(at), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	c = client_at(at, NULL);
	r = rh_etcd_get(c, "k", 1, &kv, &err);
	check(r == -ETIMEDOUT, "a server that never answers: ETIMEDOUT (%s)",
	      err.msg);
	events_init(&ev);
	r = rh_etcd_watch_start(c, "w/", 2, 0, on_event, &ev, &w, &err);
	check(r == 0 && wait_event(&ev, 0, RH_ETCD_EV_DOWN, NULL, 10) >= 0,
	      "a watch on it starts, says DOWN and keeps trying");
	if (r == 0)
		rh_etcd_watch_stop(w);
	check(1, "and stops when told");
	events_free(&ev);
	rh_etcd_free(c);
	close(fd);
}

static void
test_auth(struct rh_etcd *root, struct rh_etcd *alice)
{
	struct rh_etcd_op op = { .type = RH_ETCD_RANGE, .key = "/",
	                         .key_len = 1, .flags = RH_ETCD_PREFIX };
	struct rh_etcd_perm_range *perms;
	struct rh_etcd *anon = client();
	struct rh_etcd_kvs kvs;
	struct rh_etcd_kv kv;
	struct rh_err err = { "" };
	char **roles;
	size_t n;
	int r;

	r = rh_etcd_user_add(root, "root", "rootpw", &err);
	if (r == 0)
		r = rh_etcd_role_add(root, "root", &err);
	if (r == 0)
		r = rh_etcd_user_grant(root, "root", "root", &err);
	if (r == 0)
		r = rh_etcd_auth_enable(root, &err);
	check(r == 0, "root user and role, auth enabled %s", r ? err.msg : "");
	r = rh_etcd_get(anon, "rev/a", 5, &kv, &err);
	check(r == -EACCES, "no user: EACCES (%s)", err.msg);
	r = rh_etcd_auth(root, "root", "wrong", &err);
	check(r == -EACCES, "wrong password: EACCES (%s)", err.msg);
	r = rh_etcd_auth(root, "root", "rootpw", &err);
	check(r == 0, "log in as root %s", r ? err.msg : "");

	r = rh_etcd_user_add(root, "alice", "alicepw", &err);
	if (r == 0)
		r = rh_etcd_role_add(root, "alice-rw", &err);
	if (r == 0)
		r = rh_etcd_role_grant(root, "alice-rw", RH_ETCD_READWRITE,
		                       "/alice/", 7, NULL, 0, RH_ETCD_PREFIX,
		                       &err);
	if (r == 0)
		r = rh_etcd_user_grant(root, "alice", "alice-rw", &err);
	if (r == 0)
		r = rh_etcd_user_add(root, "bob", "bobpw", &err);
	if (r == 0)
		r = put_str(root, "/bob/secret", "s", NULL, &err);
	if (r == 0)
		r = put_str(root, "/bob/pub/x", "shared", NULL, &err);
	check(r == 0, "users alice and bob, a role for /alice/ %s",
	      r ? err.msg : "");
	r = rh_etcd_user_add(root, "alice", "x", &err);
	check(r == -EEXIST, "adding alice again: EEXIST (%s)", err.msg);
	r = rh_etcd_role_add(root, "alice-rw", &err);
	check(r == -EEXIST, "adding her role again: EEXIST");
	r = rh_etcd_user_grant(root, "alice", "nosuch", &err);
	check(r == -ENOENT, "granting a missing role: ENOENT (%s)", err.msg);

	r = rh_etcd_auth(alice, "alice", "alicepw", &err);
	check(r == 0, "log in as alice %s", r ? err.msg : "");
	r = put_str(alice, "/alice/x", "mine", NULL, &err);
	check(r == 0, "alice writes inside /alice/ %s", r ? err.msg : "");
	r = rh_etcd_get(alice, "/alice/x", 8, &kv, &err);
	check(r == 0 && strcmp(kv.value, "mine") == 0, "and reads it");
	rh_etcd_kv_free(&kv);
	r = rh_etcd_get(alice, "/bob/secret", 11, &kv, &err);
	check(r == -EACCES, "alice reading /bob/secret: EACCES (%s)",
	      err.msg);
	r = put_str(alice, "/bob/secret", "x", NULL, &err);
	check(r == -EACCES, "writing it: EACCES");
	r = rh_etcd_range(alice, &op, &kvs, &err);
	check(r == -EACCES, "listing all of /: EACCES, not a short list");
	r = rh_etcd_delete(alice, "/bob/", 5, RH_ETCD_PREFIX, NULL, &err);
	check(r == -EACCES, "deleting /bob/: EACCES");

	r = rh_etcd_user_roles(alice, "alice", &roles, &n, &err);
	check(r == 0 && n == 1 && strcmp(roles[0], "alice-rw") == 0,
	      "alice may list her roles %s", err.msg);
	if (r == 0)
		rh_strs_free(roles, n);
	r = rh_etcd_role_perms(alice, "alice-rw", &perms, &n, &err);
	check(r == 0 && n == 1 && perms[0].perm == RH_ETCD_READWRITE &&
	      perms[0].key_len == 7 && memcmp(perms[0].key, "/alice/", 7) ==
	      0 && perms[0].end_len == 7 && memcmp(perms[0].end, "/alice0",
	      7) == 0, "and what they allow: readwrite [/alice/, /alice0)");
	if (r == 0)
		rh_etcd_perms_free(perms, n);
	r = rh_etcd_user_roles(alice, "bob", &roles, &n, &err);
	check(r == -EACCES, "but not bob's: EACCES");

	/* Sharing: grant read on a path, then take it back. Each change
	 * of users and roles makes etcd refuse older tokens. */
	r = rh_etcd_role_grant(root, "alice-rw", RH_ETCD_READ, "/bob/pub/", 9,
	                       NULL, 0, RH_ETCD_PREFIX, &err);
	check(r == 0, "grant alice read on /bob/pub/ %s", r ? err.msg : "");
	r = rh_etcd_get(alice, "/bob/pub/x", 10, &kv, &err);
	check(r == 0 && strcmp(kv.value, "shared") == 0,
	      "alice reads it %s", r ? err.msg : "");
	rh_etcd_kv_free(&kv);
	r = put_str(alice, "/bob/pub/x", "no", NULL, &err);
	check(r == -EACCES, "but may not write it");
	r = rh_etcd_role_perms(root, "alice-rw", &perms, &n, &err);
	check(r == 0 && n == 2 && (perms[0].perm == RH_ETCD_READ ||
	      perms[1].perm == RH_ETCD_READ), "her role has two ranges now");
	if (r == 0)
		rh_etcd_perms_free(perms, n);
	r = rh_etcd_role_revoke(root, "alice-rw", "/bob/pub/", 9, NULL, 0,
	                        RH_ETCD_PREFIX, &err);
	check(r == 0, "revoke it %s", r ? err.msg : "");
	r = rh_etcd_get(alice, "/bob/pub/x", 10, &kv, &err);
	check(r == -EACCES, "alice reading it again: EACCES");
	r = rh_etcd_role_revoke(root, "alice-rw", "/bob/pub/", 9, NULL, 0,
	                        RH_ETCD_PREFIX, &err);
	check(r == -ENOENT, "revoking it again: ENOENT (%s)", err.msg);

	/* A role given and taken away. */
	r = rh_etcd_role_add(root, "readers", &err);
	if (r == 0)
		r = rh_etcd_role_grant(root, "readers", RH_ETCD_READ, "/bob/",
		                       5, NULL, 0, RH_ETCD_PREFIX, &err);
	if (r == 0)
		r = rh_etcd_user_grant(root, "alice", "readers", &err);
	check(r == 0 && rh_etcd_get(alice, "/bob/secret", 11, &kv, &err) == 0,
	      "a second role lets alice read /bob/");
	rh_etcd_kv_free(&kv);
	r = rh_etcd_user_revoke(root, "alice", "readers", &err);
	check(r == 0 && rh_etcd_get(alice, "/bob/secret", 11, &kv, &err) ==
	      -EACCES, "taken away, it does not");
	r = rh_etcd_role_delete(root, "readers", &err);
	check(r == 0, "delete a role");
	r = rh_etcd_user_passwd(root, "bob", "bobpw2", &err);
	check(r == 0, "change bob's password");
	r = rh_etcd_auth(anon, "bob", "bobpw", &err);
	check(r == -EACCES, "his old one is refused");
	r = rh_etcd_auth(anon, "bob", "bobpw2", &err);
	check(r == 0, "his new one works");
	r = rh_etcd_user_delete(root, "bob", &err);
	check(r == 0, "delete bob");
	rh_etcd_free(anon);
}

/* etcd.sh runs etcd with --auth-token-ttl 2. */
static void
test_token(struct rh_etcd *alice)
{
	struct rh_etcd *other = client();
	struct rh_etcd_stats before, after;
	struct rh_etcd_kv kv;
	struct rh_err err = { "" };
	char *old, *now;
	int r;

	old = rh_etcd_token(alice);
	rh_etcd_stats(alice, &before);
	sleep(5);       /* past the token's life: not a timed check */
	rh_etcd_set_token(other, old);
	r = rh_etcd_get(other, "/alice/x", 8, &kv, &err);
	check(r == -EACCES, "an idle token expires (%s)", err.msg);
	r = rh_etcd_get(alice, "/alice/x", 8, &kv, &err);
	rh_etcd_stats(alice, &after);
	now = rh_etcd_token(alice);
	check(r == 0 && after.reauths == before.reauths + 1 && now &&
	      strcmp(now, old) != 0, "alice's client logs in again by "
	      "itself and gets a new token %s", r ? err.msg : "");
	rh_etcd_kv_free(&kv);
	free(now);
	free(old);

	rh_etcd_set_token(alice, "bogus.1");
	r = rh_etcd_get(alice, "/alice/x", 8, &kv, &err);
	rh_etcd_stats(alice, &before);
	check(r == 0 && before.reauths == after.reauths + 1,
	      "an invalid token is replaced too %s", r ? err.msg : "");
	rh_etcd_kv_free(&kv);
	rh_etcd_free(other);
}

static void
test_watch_auth(struct rh_etcd *alice)
{
	struct rh_etcd_watch *w;
	struct events ev;
	struct rh_err err = { "" };
	int r;

	events_init(&ev);
	r = rh_etcd_watch_start(alice, "/bob/", 5, 0, on_event, &ev, &w,
	                        &err);
	check(r == -EACCES, "alice watching /bob/: EACCES (%s)", err.msg);
	events_free(&ev);
}

/* etcd stopped and started again under a client and a watch. */
static void
test_restart(struct rh_etcd *root, struct rh_etcd *alice)
{
	struct rh_etcd_watch *w;
	struct rh_etcd_kv kv;
	struct events ev;
	struct rh_err err = { "" };
	const char *a;
	int64_t rev = 0;
	long i;
	size_t from;
	int r;

	events_init(&ev);
	r = rh_etcd_watch_start(alice, "/alice/", 7, 0, on_event, &ev, &w,
	                        &err);
	check(r == 0, "alice watches /alice/ %s", r ? err.msg : "");
	if (r < 0)
		return;
	put_str(root, "/alice/before", "1", &rev, &err);
	i = wait_event(&ev, 0, RH_ETCD_EV_PUT, "/alice/before", 10);
	check(i >= 0 && ev.v[i].rev == rev, "and sees root's put");

	a = ctl("stop");
	check(a && strcmp(a, "ok") == 0, "etcd stopped");
	r = rh_etcd_get(alice, "/alice/x", 8, &kv, &err);
	check(unreachable(r), "get with etcd down fails (%s)", err.msg);
	r = put_str(alice, "/alice/x", "down", NULL, &err);
	check(unreachable(r), "put too (%s)", err.msg);
	r = rh_etcd_put_if(alice, "/alice/x", 8, "x", 1, 1, NULL, &err);
	check(unreachable(r), "and CAS (%s)", err.msg);
	i = wait_event(&ev, 0, RH_ETCD_EV_DOWN, NULL, 20);
	check(i >= 0, "the watch says DOWN");
	from = i >= 0 ? (size_t)i + 1 : events_count(&ev);

	a = ctl("start");
	check(a && strcmp(a, "ok") == 0, "etcd started again");
	r = rh_etcd_get(alice, "/alice/x", 8, &kv, &err);
	check(r == 0 && strcmp(kv.value, "mine") == 0, "the same client "
	      "works again (a new token) %s", r ? err.msg : "");
	rh_etcd_kv_free(&kv);
	check(wait_event(&ev, from, RH_ETCD_EV_UP, NULL, 30) >= 0,
	      "the watch reconnects by itself");
	r = put_str(root, "/alice/after", "2", &rev, &err);
	i = wait_event(&ev, from, RH_ETCD_EV_PUT, "/alice/after", 10);
	check(r == 0 && i >= 0 && ev.v[i].rev == rev,
	      "and sees puts made after the restart");
	rh_etcd_watch_stop(w);
	events_free(&ev);
}

static void
test_tls(void)
{
	struct rh_etcd *c, *plain;
	struct rh_etcd_watch *w;
	struct rh_etcd_stats st;
	struct rh_etcd_kv kv;
	struct events ev;
	struct rh_err err = { "" };
	char *a = ctl("tls"), *at, *ca;
	int64_t rev;
	int i, r;

	if (a == NULL || strncmp(a, "ok ", 3) != 0) {
		check(0, "an etcd on https: %s", a ? a : "no answer");
		return;
	}
	at = strtok(a + 3, " ");
	ca = strtok(NULL, " ");
	c = client_at(at, ca);
	r = put_str(c, "tls/k", "v", NULL, &err);
	check(r == 0, "https with a CA file: put %s", r ? err.msg : "");
	for (i = 0; i < 10 && r == 0; i++) {
		r = rh_etcd_get(c, "tls/k", 5, &kv, &err);
		rh_etcd_kv_free(&kv);
	}
	rh_etcd_stats(c, &st);
	check(r == 0 && st.connects == 1, "gets on one TLS connection");

	events_init(&ev);
	r = rh_etcd_watch_start(c, "tls/", 4, 0, on_event, &ev, &w, &err);
	put_str(c, "tls/w", "x", &rev, &err);
	i = (int)wait_event(&ev, 0, RH_ETCD_EV_PUT, "tls/w", 10);
	check(r == 0 && i >= 0 && ev.v[i].rev == rev, "a watch over https");
	if (r == 0)
		rh_etcd_watch_stop(w);
	events_free(&ev);

	plain = client_at(at, NULL);
	r = rh_etcd_get(plain, "tls/k", 5, &kv, &err);
	check(unreachable(r), "without the CA file: refused (%s)", err.msg);
	rh_etcd_free(plain);
	rh_etcd_free(c);
}

/* ---- a cluster of three members ---- */

static char *members[3];        /* each member's URL */

static void
ctl_ok(const char *cmd)
{
	const char *a = ctl(cmd);

	if (a == NULL || strcmp(a, "ok") != 0) {
		fprintf(stderr, "FAIL - %s: %s\n", cmd, a ? a : "no answer");
		exit(1);
	}
}

static uint64_t
failovers(struct rh_etcd *c)
{
	struct rh_etcd_stats st;

	rh_etcd_stats(c, &st);
	return st.failovers;
}

/* How many PUT events of key, and whether all revisions go up. */
static size_t
seen_puts(struct events *e, const char *key, int *ordered)
{
	size_t i, n = 0;
	int64_t last = 0;

	*ordered = 1;
	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->n; i++) {
		if (e->v[i].type != RH_ETCD_EV_PUT)
			continue;
		if (e->v[i].rev <= last)
			*ordered = 0;
		last = e->v[i].rev;
		if (strcmp(e->v[i].key, key) == 0)
			n++;
	}
	pthread_mutex_unlock(&e->lock);
	return n;
}

/* Member 1 in use dies: requests and the watch go on on the others,
 * and a change made meanwhile is delivered once. */
static void
test_member_killed(struct rh_etcd *c, struct events *ev)
{
	struct rh_etcd *others;
	struct rh_etcd_kv kv;
	struct rh_err err = { "" };
	char *list = xasprintf("%s,%s", members[1], members[2]);
	int r, ordered;

	others = client_at(list, NULL);
	free(list);
	r = put_str(c, "w/before", "1", NULL, &err);
	check(r == 0 && failovers(c) == 0, "a put on the first member %s",
	      err.msg);
	check(wait_event(ev, 0, RH_ETCD_EV_PUT, "w/before", 10) >= 0,
	      "the watch sees it");

	/* Compare-and-swap (create) puts, as rhfs writes: when member 1
	 * led, the others may take a put and hold it until they have
	 * elected another leader; such a put is sent again. */
	ctl_ok("kill 1");
	r = rh_etcd_put_if(others, "w/while-down", 12, "2", 1, 0, NULL, &err);
	check(r == 0, "a change made on the others %s", r ? err.msg : "");
	r = rh_etcd_put_if(c, "w/after", 7, "3", 1, 0, NULL, &err);
	check(r == 0, "member 1 killed: a put still succeeds %s",
	      r ? err.msg : "");
	check(failovers(c) >= 1, "on another member (%llu moves)",
	      (unsigned long long)failovers(c));
	r = rh_etcd_get(c, "w/while-down", 12, &kv, &err);
	check(r == 0 && strcmp(kv.value, "2") == 0,
	      "a read gets what another client wrote %s", err.msg);
	if (r == 0)
		rh_etcd_kv_free(&kv);
	check(wait_event(ev, 0, RH_ETCD_EV_PUT, "w/while-down", 10) >= 0 &&
	      wait_event(ev, 0, RH_ETCD_EV_PUT, "w/after", 10) >= 0,
	      "the watch, moved to another member, sees both changes");
	check(seen_puts(ev, "w/while-down", &ordered) == 1 &&
	      seen_puts(ev, "w/before", &ordered) == 1 && ordered,
	      "each change once, in revision order");
	rh_etcd_free(others);
	ctl_ok("start 1");
}

/* Two of three gone: no quorum. Writes fail saying so, a serializable
 * read still answers, and all comes back with a second member. */
static void
test_no_quorum(struct rh_etcd *c, struct events *ev)
{
	struct rh_etcd_op op = { .type = RH_ETCD_RANGE, .key = "w/after",
	                         .key_len = 7 };
	struct rh_etcd_kvs kvs;
	struct rh_err err = { "" };
	size_t from;
	int r, ordered;

	ctl_ok("kill 2");
	ctl_ok("kill 3");
	r = put_str(c, "w/lost", "x", NULL, &err);
	/* The member left says "no leader", or, before it noticed, takes
	 * the put and does not answer. */
	check((r == -EIO || r == -ETIMEDOUT) &&
	      strstr(err.msg, "etcd has no quorum") != NULL,
	      "without quorum a put fails: %s", err.msg);
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r < 0, "and a linearizable read: %s", err.msg);
	if (r == 0)
		rh_etcd_kvs_free(&kvs);
	op.flags = RH_ETCD_SERIALIZABLE;
	r = rh_etcd_range(c, &op, &kvs, &err);
	check(r == 0 && kvs.n == 1 && strcmp(kvs.kv[0].value, "3") == 0,
	      "a serializable read answers from the member left %s",
	      r ? err.msg : "");
	if (r == 0)
		rh_etcd_kvs_free(&kvs);
	check(wait_event(ev, 0, RH_ETCD_EV_DOWN, NULL, 15) >= 0,
	      "the watch says etcd is lost");

	from = events_count(ev);
	ctl_ok("start 2");
	r = put_str(c, "w/back", "4", NULL, &err);
	check(r == 0, "quorum back: the same client writes again %s",
	      r ? err.msg : "");
	check(wait_event(ev, from, RH_ETCD_EV_UP, NULL, 15) >= 0 &&
	      wait_event(ev, from, RH_ETCD_EV_PUT, "w/back", 15) >= 0,
	      "the watch is back and sees it");
	check(seen_puts(ev, "w/back", &ordered) == 1 &&
	      seen_puts(ev, "w/lost", &ordered) == 0 && ordered,
	      "once, and nothing of the failed put");
	ctl_ok("start 3");
}

/* Member 1 takes requests and never answers: what may have been done
 * is sent again only when that is harmless. */
static void
test_unsure(void)
{
	struct rh_etcd *a = client(), *b;
	struct rh_etcd_kv kv;
	struct rh_err err = { "" };
	int64_t rev = 0;
	int r;

	put_str(a, "u/cas", "old", &rev, &err);
	timeout_ms = TIMEOUT_MS;        /* b waits for nothing */
	b = client();
	ctl_ok("stop 1");
	r = rh_etcd_put_if(a, "u/cas", 5, "new", 3, rev, NULL, &err);
	check(r == 0, "a compare-and-swap with no answer is sent again to "
	      "another member %s", err.msg);
	r = rh_etcd_get(a, "u/cas", 5, &kv, &err);
	check(r == 0 && strcmp(kv.value, "new") == 0 && kv.version == 2,
	      "and done once %s", err.msg);
	if (r == 0)
		rh_etcd_kv_free(&kv);
	r = put_str(b, "u/plain", "x", NULL, &err);
	check(r < 0 && strstr(err.msg, "may or may not have been done"),
	      "a plain put with no answer is not sent again: %s", err.msg);
	r = put_str(b, "u/plain", "y", NULL, &err);
	check(r == 0, "the next one goes to another member %s",
	      r ? err.msg : "");
	ctl_ok("cont 1");
	rh_etcd_free(a);
	rh_etcd_free(b);
}

static int
cluster_main(const char *list)
{
	struct rh_etcd_watch *w;
	struct rh_etcd *c;
	struct events ev;
	struct rh_err err = { "" };
	char **v;
	size_t n;
	int r;

	if (rh_etcd_members(list, &v, &n, &err) < 0 || n != 3) {
		fprintf(stderr, "FAIL - three members: %s\n", err.msg);
		return 1;
	}
	memcpy(members, v, sizeof(members));
	url = list;
	/* As rhfs by default: time for an election when the leader died. */
	timeout_ms = 10000;
	c = client();
	check(strcmp(rh_etcd_url(c), list) == 0, "the client has every "
	      "member");
	events_init(&ev);
	r = rh_etcd_watch_start(c, "w/", 2, 0, on_event, &ev, &w, &err);
	check(r == 0, "watch w/ %s", err.msg);
	if (r == 0) {
		test_member_killed(c, &ev);
		test_no_quorum(c, &ev);
		rh_etcd_watch_stop(w);
	}
	events_free(&ev);
	test_unsure();
	rh_etcd_free(c);
	rh_strs_free(v, n);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	struct rh_etcd *c, *c2, *root, *alice;

	rh_log_init("etcd-client", 1, getenv("RH_DEBUG") ? RH_LOG_DEBUG :
	            RH_LOG_WARN);
	if (argc == 3 && strcmp(argv[1], "--cluster") == 0)
		return cluster_main(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: etcd-client URL | --cluster "
		        "URL,URL,URL\n");
		return 2;
	}
	url = argv[1];
	c = client();
	c2 = client();

	test_binary(c);
	test_revisions(c);
	test_range(c);
	test_txn(c, c2);
	test_keepalive();
	test_watch(c);
	test_compaction(c);
	test_blackhole();

	root = c;
	alice = c2;
	test_auth(root, alice);
	test_token(alice);
	test_watch_auth(alice);
	test_restart(root, alice);
	test_tls();

	rh_etcd_free(c);
	rh_etcd_free(c2);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

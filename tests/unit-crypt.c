/* unit-crypt.c - sealed secret values (crypt.c) and ~ secrets on disk
 * (secret-local.c): round trips, and every way a value must fail to open:
 * wrong key, changed ciphertext, tag or nonce, a value moved to another
 * secret or field, a wrong password for a wrapped key. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <sys/stat.h>

#include "base.h"
#include "secret.h"
#include "unit.h"

static unsigned char k1[RH_KEY_LEN], k2[RH_KEY_LEN];

static int
open_str(const unsigned char *key, const char *addr, const char *field,
         const char *sealed, struct rh_buf *pt, struct rh_err *err)
{
	return rh_unseal(key, addr, field, sealed, strlen(sealed), pt, err);
}

/* sealed with one base64 member's first byte changed */
static char *
flip(const char *sealed, const char *member)
{
	cJSON *o = cJSON_Parse(sealed);
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, member);
	struct rh_buf raw = { 0 };
	char *enc, *out;

	if (rh_b64_decode(v->valuestring, &raw) < 0 || raw.len == 0)
		exit(99);
	raw.data[0] ^= 0x01;
	enc = rh_b64_encode(raw.data, raw.len);
	cJSON_SetValuestring(v, enc);
	out = cJSON_PrintUnformatted(o);
	free(enc);
	rh_buf_free(&raw);
	cJSON_Delete(o);
	return out;
}

static void
test_round_trip(void)
{
	static const char *const values[] = { "", "x", "AKIAEXAMPLE",
		"line1\nline2\n" };
	struct rh_buf s = { 0 }, pt = { 0 }, s2 = { 0 };
	struct rh_err err;
	unsigned char bin[300];
	size_t i;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		CHECK_EQ_INT(rh_seal(k1, "~/secrets/aws", "secret_key",
		                     values[i], strlen(values[i]), &s), 0);
		CHECK(strstr(s.data, "\"v\":1") != NULL);
		CHECK_EQ_INT(open_str(k1, "~/secrets/aws", "secret_key",
		                      s.data, &pt, &err), 0);
		CHECK_EQ_INT(pt.len, strlen(values[i]));
		CHECK(memcmp(pt.data, values[i], pt.len) == 0);
		rh_buf_cleanse(&pt);
	}
	/* binary, with NULs */
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)i;
	CHECK_EQ_INT(rh_seal(k1, "/alice/s", "key", bin, sizeof(bin), &s), 0);
	CHECK_EQ_INT(open_str(k1, "/alice/s", "key", s.data, &pt, &err), 0);
	CHECK(pt.len == sizeof(bin) && memcmp(pt.data, bin, pt.len) == 0);
	rh_buf_cleanse(&pt);
	/* the plaintext is not in the sealed text, and each seal is fresh */
	CHECK_EQ_INT(rh_seal(k1, "~/s", "f", "AKIAEXAMPLE", 11, &s), 0);
	CHECK_EQ_INT(rh_seal(k1, "~/s", "f", "AKIAEXAMPLE", 11, &s2), 0);
	CHECK(strstr(s.data, "AKIAEXAMPLE") == NULL);
	CHECK(strcmp(s.data, s2.data) != 0);
	rh_buf_free(&s);
	rh_buf_free(&s2);
}

static void
test_refusals(void)
{
	struct rh_buf s = { 0 }, s2 = { 0 }, pt = { 0 };
	struct rh_err err;
	char *bad;

	CHECK_EQ_INT(rh_seal(k1, "~/secrets/aws", "secret_key", "hunter2", 7,
	                     &s), 0);
	CHECK_EQ_INT(rh_seal(k1, "~/secrets/gcp", "secret_key", "other", 5,
	                     &s2), 0);

	err.msg[0] = '\0';
	CHECK_EQ_INT(open_str(k2, "~/secrets/aws", "secret_key", s.data, &pt,
	                      &err), -EACCES);
	CHECK_HAS(err.msg, "~/secrets/aws/secret_key");
	CHECK(strstr(err.msg, "hunter2") == NULL);
	CHECK(pt.data == NULL && pt.len == 0);

	/* moved to another secret, or to another field */
	CHECK_EQ_INT(open_str(k1, "~/secrets/gcp", "secret_key", s.data, &pt,
	                      &err), -EACCES);
	CHECK_EQ_INT(open_str(k1, "~/secrets/aws", "access_key", s.data, &pt,
	                      &err), -EACCES);
	/* swapped between two secrets */
	CHECK_EQ_INT(open_str(k1, "~/secrets/aws", "secret_key", s2.data, &pt,
	                      &err), -EACCES);
	CHECK_EQ_INT(open_str(k1, "~/secrets/gcp", "secret_key", s2.data, &pt,
	                      &err), 0);
	rh_buf_cleanse(&pt);

	bad = flip(s.data, "ct");
	CHECK_EQ_INT(open_str(k1, "~/secrets/aws", "secret_key", bad, &pt,
	                      &err), -EACCES);
	free(bad);
	bad = flip(s.data, "tag");
	CHECK_EQ_INT(open_str(k1, "~/secrets/aws", "secret_key", bad, &pt,
	                      &err), -EACCES);
	free(bad);
	bad = flip(s.data, "nonce");
	CHECK_EQ_INT(open_str(k1, "~/secrets/aws", "secret_key", bad, &pt,
	                      &err), -EACCES);
	free(bad);

	/* not a sealed value at all */
	CHECK_EQ_INT(open_str(k1, "~/s", "f", "hunter2", &pt, &err), -EIO);
	CHECK_HAS(err.msg, "not a sealed secret");
	CHECK_EQ_INT(open_str(k1, "~/s", "f", "{\"v\":2,\"alg\":\"AES-256-GCM\"}",
	                      &pt, &err), -EIO);
	CHECK_EQ_INT(open_str(k1, "~/s", "f", "{\"v\":1,\"alg\":\"AES-256-GCM\","
	                      "\"nonce\":\"AAAA\",\"ct\":\"\",\"tag\":\"AAAA\"}",
	                      &pt, &err), -EIO);
	CHECK(pt.data == NULL);
	rh_buf_free(&s);
	rh_buf_free(&s2);
}

static void
test_wrap(void)
{
	unsigned char out[RH_KEY_LEN];
	struct rh_buf w = { 0 };
	struct rh_err err;
	char *bad;

	CHECK_EQ_INT(rh_key_wrap(k1, "correct horse", "alice", &w), 0);
	CHECK_HAS(w.data, "\"kdf\":\"scrypt\"");
	CHECK_HAS(w.data, "\"salt\"");
	CHECK_EQ_INT(rh_key_unwrap(w.data, w.len, "correct horse", "alice",
	                           out, &err), 0);
	CHECK(memcmp(out, k1, RH_KEY_LEN) == 0);
	CHECK_EQ_INT(rh_key_unwrap(w.data, w.len, "wrong horse", "alice", out,
	                           &err), -EACCES);
	CHECK_HAS(err.msg, "wrong password");
	/* bound to its user */
	CHECK_EQ_INT(rh_key_unwrap(w.data, w.len, "correct horse", "bob", out,
	                           &err), -EACCES);
	bad = flip(w.data, "ct");
	CHECK_EQ_INT(rh_key_unwrap(bad, strlen(bad), "correct horse", "alice",
	                           out, &err), -EACCES);
	free(bad);
	/* a doctored cost parameter is refused before any work */
	bad = xstrdup(w.data);
	memcpy(strstr(bad, "\"N\":32768"), "\"N\":99999", 9);
	CHECK_EQ_INT(rh_key_unwrap(bad, strlen(bad), "correct horse", "alice",
	                           out, &err), -EIO);
	free(bad);
	rh_buf_free(&w);
}

static void
test_local(void)
{
	char *home = unit_tmpdir(), *keyfile, *f;
	struct rh_buf pt = { 0 };
	struct rh_err err;
	struct stat st;
	unsigned char key[RH_KEY_LEN];

	setenv("HOME", home, 1);
	keyfile = rh_secret_local_keyfile();
	/* nothing stored yet; no key: a clear refusal, not a new key */
	CHECK_EQ_INT(rh_secret_local_get("secrets/aws", "k", &pt, NULL, &err),
	             -ENOENT);
	CHECK_EQ_INT(rh_secret_local_key(key, 0, &err), -EACCES);
	CHECK_HAS(err.msg, "missing");

	CHECK_EQ_INT(rh_secret_local_put("secrets/aws", "k", "s3cr3t", 6,
	                                 &err), 0);
	CHECK(stat(keyfile, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	      st.st_size == RH_KEY_LEN);
	f = xasprintf("%s/.rh/secrets/secrets/aws/k", home);
	CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0600);
	free(f);
	f = xasprintf("%s/.rh/secrets/secrets/aws", home);
	CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0700);
	free(f);
	CHECK_EQ_INT(rh_secret_local_get("secrets/aws", "k", &pt, NULL, &err),
	             0);
	CHECK(pt.len == 6 && memcmp(pt.data, "s3cr3t", 6) == 0);
	rh_buf_cleanse(&pt);
	/* the value's length, not the sealed form's */
	CHECK_EQ_INT(rh_secret_local_stat("secrets/aws", "k", &st), 0);
	CHECK_EQ_INT(st.st_size, 6);

	/* moved: re-sealed for the new address, gone from the old */
	CHECK_EQ_INT(rh_secret_local_move("secrets", "moved", &err), 0);
	CHECK_EQ_INT(rh_secret_local_get("secrets/aws", "k", &pt, NULL, &err),
	             -ENOENT);
	CHECK_EQ_INT(rh_secret_local_get("moved/aws", "k", &pt, NULL, &err),
	             0);
	CHECK(pt.len == 6 && memcmp(pt.data, "s3cr3t", 6) == 0);
	rh_buf_cleanse(&pt);

	/* a key file others may read is refused */
	chmod(keyfile, 0644);
	CHECK_EQ_INT(rh_secret_local_get("moved/aws", "k", &pt, NULL, &err),
	             -EACCES);
	CHECK_HAS(err.msg, "chmod 600");
	chmod(keyfile, 0600);
	/* another key: refused, never garbage */
	CHECK(unit_write(keyfile, "0123456789abcdef0123456789abcdef", -1) == 0);
	chmod(keyfile, 0600);
	CHECK_EQ_INT(rh_secret_local_get("moved/aws", "k", &pt, NULL, &err),
	             -EACCES);
	CHECK(pt.data == NULL);
	/* a truncated key file */
	CHECK(unit_write(keyfile, "short", -1) == 0);
	chmod(keyfile, 0600);
	CHECK_EQ_INT(rh_secret_local_get("moved/aws", "k", &pt, NULL, &err),
	             -EACCES);
	CHECK_HAS(err.msg, "not a key");

	CHECK_EQ_INT(rh_secret_local_remove("moved/aws", "k"), 0);
	CHECK_EQ_INT(rh_secret_local_get("moved/aws", "k", &pt, NULL, &err),
	             -ENOENT);
	CHECK_EQ_INT(rh_secret_local_purge("moved"), 0);
	free(keyfile);
	unit_rmrf(home);
	free(home);
}

int
main(void)
{
	CHECK_EQ_INT(rh_key_random(k1), 0);
	CHECK_EQ_INT(rh_key_random(k2), 0);
	CHECK(memcmp(k1, k2, RH_KEY_LEN) != 0);
	test_round_trip();
	test_refusals();
	test_wrap();
	test_local();
	return unit_done();
}

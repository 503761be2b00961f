/* crypt.c - secret values sealed with AES-256-GCM (OpenSSL EVP), and a
 * secrets key wrapped under a key derived from a password (scrypt).
 *
 * A sealed value is self-describing JSON text:
 *   {"v":1,"alg":"AES-256-GCM","nonce":B64,"ct":B64,"tag":B64}
 * with a fresh random 12-byte nonce per value. The secret's address and
 * the field's name are the associated data, so a value copied into
 * another secret or field fails its tag check instead of decrypting.
 * Plaintext and keys never outlive their use: buffers holding them are
 * cleansed before they are freed. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "secret.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define SALT_LEN 16
#define ALG "AES-256-GCM"
/* scrypt: 32 MiB and about 0.1 s per derivation; bounds on what a stored
 * wrapped key may ask for, so a doctored one cannot exhaust memory */
#define SCRYPT_N (1u << 15)
#define SCRYPT_R 8u
#define SCRYPT_P 1u
#define SCRYPT_N_MAX (1u << 20)
#define SCRYPT_R_MAX 32u
#define SCRYPT_P_MAX 16u

void
rh_buf_cleanse(struct rh_buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
rh_key_random(unsigned char *key)
{
	return RAND_bytes(key, RH_KEY_LEN) == 1 ? 0 : -EIO;
}

/* "rhfs-secret-1" NUL addr NUL field: names cannot hold a NUL, so no two
 * (addr, field) pairs give the same bytes. */
static char *
secret_ad(const char *addr, const char *field, size_t *len)
{
	static const char tag[] = "rhfs-secret-1";
	size_t a = strlen(addr), f = strlen(field);
	char *ad = xmalloc(sizeof(tag) + a + 1 + f);

	memcpy(ad, tag, sizeof(tag));
	memcpy(ad + sizeof(tag), addr, a + 1);
	memcpy(ad + sizeof(tag) + a + 1, field, f);
	*len = sizeof(tag) + a + 1 + f;
	return ad;
}

/* AES-256-GCM of pt into ct (same length) and tag. */
static int
gcm(int enc, const unsigned char *key, const unsigned char *nonce,
    const void *ad, size_t adlen, const unsigned char *in, size_t len,
    unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX *ctx;
	int n, ok;

	if (len > INT_MAX || adlen > INT_MAX)
		return -EFBIG;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL,
	                       enc) == 1 &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN,
	                         NULL) == 1 &&
	     EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1 &&
	     EVP_CipherUpdate(ctx, NULL, &n, ad, (int)adlen) == 1 &&
	     (len == 0 ||
	      EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
		                         tag) == 1;
	/* decrypting, this is where a wrong key or changed bytes show */
	if (ok)
		ok = EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
		                         tag) == 1;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : enc ? -EIO : -EACCES;
}

/* Seal into the fields of o: nonce, ct, tag. */
static int
seal_into(cJSON *o, const unsigned char *key, const void *ad, size_t adlen,
          const void *pt, size_t len)
{
	unsigned char nonce[NONCE_LEN], tag[TAG_LEN], *ct;
	int r;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return -EIO;
	ct = xmalloc(len + 16);
	if ((r = gcm(1, key, nonce, ad, adlen, pt, len, ct, tag)) == 0) {
		rh_json_add_b64(o, "nonce", nonce, sizeof(nonce));
		rh_json_add_b64(o, "ct", ct, len);
		rh_json_add_b64(o, "tag", tag, sizeof(tag));
	}
	free(ct);
	return r;
}

/* One base64 member of exactly want bytes (want 0: any length). */
static int
get_b64(const cJSON *o, const char *name, size_t want, struct rh_buf *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	out->len = 0;
	if (!cJSON_IsString(v) || rh_b64_decode(v->valuestring, out) < 0)
		return -EIO;
	return want == 0 || out->len == want ? 0 : -EIO;
}

static int
open_from(const cJSON *o, const unsigned char *key, const void *ad,
          size_t adlen, struct rh_buf *pt)
{
	struct rh_buf nonce = { 0 }, ct = { 0 }, tag = { 0 };
	int r;

	if ((r = get_b64(o, "nonce", NONCE_LEN, &nonce)) < 0 ||
	    (r = get_b64(o, "ct", 0, &ct)) < 0 ||
	    (r = get_b64(o, "tag", TAG_LEN, &tag)) < 0)
		goto out;
	/* sized once: a growing buffer would leave plaintext behind in
	 * memory it gave back */
	rh_buf_cleanse(pt);
	pt->data = xmalloc(ct.len + 16 + 1);
	pt->cap = ct.len + 16 + 1;
	r = gcm(0, key, (unsigned char *)nonce.data, ad, adlen,
	        (unsigned char *)ct.data, ct.len, (unsigned char *)pt->data,
	        (unsigned char *)tag.data);
	if (r == 0) {
		pt->len = ct.len;
		pt->data[pt->len] = '\0';
	} else {
		rh_buf_cleanse(pt);
	}
out:
	rh_buf_free(&nonce);
	rh_buf_free(&ct);
	rh_buf_free(&tag);
	return r;
}

/* The JSON object of a sealed value of this kind, or NULL. */
static cJSON *
parse_sealed(const char *data, size_t len)
{
	cJSON *o = rh_json_parse(data, len, "a sealed value", NULL);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "v");
	const cJSON *alg = cJSON_GetObjectItemCaseSensitive(o, "alg");

	if (!cJSON_IsNumber(v) || v->valuedouble != 1 ||
	    !cJSON_IsString(alg) || strcmp(alg->valuestring, ALG) != 0) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static char *
print_done(cJSON *o, struct rh_buf *out)
{
	char *text = cJSON_PrintUnformatted(o);

	out->len = 0;
	rh_buf_append(out, text, strlen(text));
	rh_buf_append(out, "\n", 1);
	return text;
}

int
rh_seal(const unsigned char *key, const char *addr, const char *field,
        const void *pt, size_t len, struct rh_buf *out)
{
	cJSON *o = cJSON_CreateObject();
	size_t adlen;
	char *ad = secret_ad(addr, field, &adlen);
	int r;

	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "alg", ALG);
	if ((r = seal_into(o, key, ad, adlen, pt, len)) == 0)
		free(print_done(o, out));
	cJSON_Delete(o);
	free(ad);
	return r;
}

int
rh_unseal(const unsigned char *key, const char *addr, const char *field,
          const char *data, size_t len, struct rh_buf *out,
          struct rh_err *err)
{
	cJSON *o = parse_sealed(data, len);
	size_t adlen;
	char *ad;
	int r;

	if (o == NULL)
		return rh_err_set(err, EIO, "%s/%s: the stored value is not a "
		                  "sealed secret (version 1, " ALG ")", addr,
		                  field);
	ad = secret_ad(addr, field, &adlen);
	r = open_from(o, key, ad, adlen, out);
	free(ad);
	cJSON_Delete(o);
	if (r == -EACCES)
		return rh_err_set(err, EACCES, "%s/%s: cannot decrypt: wrong "
		                  "secrets key, or the value was changed or "
		                  "belongs to another secret", addr, field);
	if (r < 0)
		return rh_err_set(err, -r, "%s/%s: malformed sealed value",
		                  addr, field);
	return 0;
}

/* The plaintext's length, read from the sealed form without the key. */
ssize_t
rh_sealed_len(const char *data, size_t len)
{
	cJSON *o = parse_sealed(data, len);
	struct rh_buf ct = { 0 };
	ssize_t n = get_b64(o, "ct", 0, &ct) < 0 ? -EIO : (ssize_t)ct.len;

	rh_buf_free(&ct);
	cJSON_Delete(o);
	return n;
}

/* Key wrapping. */

static const char wrap_tag[] = "rhfs-key-1";

static int
scrypt_key(const char *password, const unsigned char *salt, size_t saltlen,
           uint64_t n, uint64_t r, uint64_t p, unsigned char *kek)
{
	/* room for scrypt's 128*r*N bytes plus its own overhead */
	uint64_t maxmem = 128 * r * n + 128 * r * p + (1u << 20);

	return EVP_PBE_scrypt(password, strlen(password), salt, saltlen, n, r,
	                      p, maxmem, kek, RH_KEY_LEN) == 1 ? 0 : -EIO;
}

static char *
wrap_ad(const char *user, size_t *len)
{
	size_t u = strlen(user);
	char *ad = xmalloc(sizeof(wrap_tag) + u);

	memcpy(ad, wrap_tag, sizeof(wrap_tag));
	memcpy(ad + sizeof(wrap_tag), user, u);
	*len = sizeof(wrap_tag) + u;
	return ad;
}

int
rh_key_wrap(const unsigned char *key, const char *password, const char *user,
            struct rh_buf *out)
{
	unsigned char salt[SALT_LEN], kek[RH_KEY_LEN];
	cJSON *o;
	size_t adlen;
	char *ad;
	int r;

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -EIO;
	if ((r = scrypt_key(password, salt, sizeof(salt), SCRYPT_N, SCRYPT_R,
	                    SCRYPT_P, kek)) < 0)
		return r;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", 1);
	cJSON_AddStringToObject(o, "alg", ALG);
	cJSON_AddStringToObject(o, "kdf", "scrypt");
	cJSON_AddNumberToObject(o, "N", SCRYPT_N);
	cJSON_AddNumberToObject(o, "r", SCRYPT_R);
	cJSON_AddNumberToObject(o, "p", SCRYPT_P);
	rh_json_add_b64(o, "salt", salt, sizeof(salt));
	ad = wrap_ad(user, &adlen);
	if ((r = seal_into(o, kek, ad, adlen, key, RH_KEY_LEN)) == 0)
		free(print_done(o, out));
	OPENSSL_cleanse(kek, sizeof(kek));
	cJSON_Delete(o);
	free(ad);
	return r;
}

static int
get_param(const cJSON *o, const char *name, uint64_t max, uint64_t *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(j) || j->valuedouble < 1 ||
	    j->valuedouble > (double)max ||
	    j->valuedouble != (double)(uint64_t)j->valuedouble)
		return -EIO;
	*v = (uint64_t)j->valuedouble;
	return 0;
}

int
rh_key_unwrap(const char *data, size_t len, const char *password,
              const char *user, unsigned char *key, struct rh_err *err)
{
	cJSON *o = parse_sealed(data, len);
	const cJSON *kdf = cJSON_GetObjectItemCaseSensitive(o, "kdf");
	struct rh_buf salt = { 0 }, pt = { 0 };
	unsigned char kek[RH_KEY_LEN];
	uint64_t n, r8, p;
	size_t adlen;
	char *ad = NULL;
	int r;

	if (o == NULL || !cJSON_IsString(kdf) ||
	    strcmp(kdf->valuestring, "scrypt") != 0 ||
	    get_param(o, "N", SCRYPT_N_MAX, &n) < 0 || (n & (n - 1)) != 0 ||
	    n < 2 || get_param(o, "r", SCRYPT_R_MAX, &r8) < 0 ||
	    get_param(o, "p", SCRYPT_P_MAX, &p) < 0 ||
	    get_b64(o, "salt", 0, &salt) < 0 || salt.len < 8) {
		r = rh_err_set(err, EIO, "%s: the stored secrets key is not a "
		               "wrapped key this version reads", user);
		goto out;
	}
	if ((r = scrypt_key(password, (unsigned char *)salt.data, salt.len, n,
	                    r8, p, kek)) < 0) {
		rh_err_set(err, EIO, "%s: cannot derive the key-encryption "
		           "key", user);
		goto out;
	}
	ad = wrap_ad(user, &adlen);
	r = open_from(o, kek, ad, adlen, &pt);
	OPENSSL_cleanse(kek, sizeof(kek));
	if (r == 0 && pt.len != RH_KEY_LEN)
		r = -EIO;
	if (r == 0)
		memcpy(key, pt.data, RH_KEY_LEN);
	else if (r == -EACCES)
		rh_err_set(err, EACCES, "%s: cannot unwrap the secrets key: "
		           "wrong password, or the stored key was changed",
		           user);
	else
		rh_err_set(err, -r, "%s: malformed wrapped secrets key", user);
out:
	rh_buf_cleanse(&pt);
	rh_buf_free(&salt);
	free(ad);
	cJSON_Delete(o);
	return r;
}

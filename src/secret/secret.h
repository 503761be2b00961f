/* secret.h - secrets (src/secret/): values sealed under a key, kept
 * beside the local workdir (`~`) or in etcd (the shared namespace). */
#ifndef RH_SECRET_H
#define RH_SECRET_H

#include <sys/types.h>

#include "base.h"

struct rh_etcd;
struct rh_login;

/*
 * crypt.c: a secret's field value sealed with AES-256-GCM under a 32-byte
 * key, the secret's address and the field's name bound as associated data;
 * the sealed form is versioned JSON text. Opening fails with -EACCES for
 * a wrong key or changed, moved or swapped ciphertext, -EIO for bytes
 * that are not a sealed value; err then names the secret and field and
 * never holds a value. Plaintext results are sized once and must be
 * released with rh_buf_cleanse.
 */
#define RH_KEY_LEN 32
int rh_key_random(unsigned char *key);
int rh_seal(const unsigned char *key, const char *addr, const char *field,
            const void *pt, size_t len, struct rh_buf *out);
int rh_unseal(const unsigned char *key, const char *addr, const char *field,
              const char *data, size_t len, struct rh_buf *out,
              struct rh_err *err);

/* The length of the value sealed in data (no key needed), or -EIO. */
ssize_t rh_sealed_len(const char *data, size_t len);
/* A secrets key wrapped for user under a key derived from password
 * (scrypt, random salt; the parameters are stored with it). A wrong
 * password is -EACCES. */
int rh_key_wrap(const unsigned char *key, const char *password,
                const char *user, struct rh_buf *out);
int rh_key_unwrap(const char *data, size_t len, const char *password,
                  const char *user, unsigned char *key, struct rh_err *err);
/* Zero the whole buffer, then free it. */
void rh_buf_cleanse(struct rh_buf *b);

/* secret-local.c: values of `~` secrets (store path, field), sealed under
 * the random key $HOME/.rh/secrets.key (0600, made on first put) and kept
 * in $HOME/.rh/secrets/PATH/FIELD (0600, directories 0700). get gives
 * -ENOENT (err untouched) when the field has no value yet. */
char *rh_secret_local_keyfile(void);
int rh_secret_local_key(unsigned char *key, int create, struct rh_err *err);
struct stat;
int rh_secret_local_get(const char *path, const char *field,
                        struct rh_buf *out, struct stat *st,
                        struct rh_err *err);
/* st of the stored value, st_size the value's length. */
int rh_secret_local_stat(const char *path, const char *field,
                         struct stat *st);
int rh_secret_local_put(const char *path, const char *field,
                        const void *data, size_t len, struct rh_err *err);
int rh_secret_local_remove(const char *path, const char *field);
/* The secrets at and below from now live at to: every value re-sealed
 * for its new address. */
int rh_secret_local_move(const char *from, const char *to,
                         struct rh_err *err);
/* Drop every value at and below path (its folder is gone). */
int rh_secret_local_purge(const char *path);

/* secret-remote.c: values of secrets in the shared namespace, sealed
 * under the user's secrets key and kept in etcd at P/s/<top>/<rel>/FIELD.
 * The key is random, made on the first put, and kept at P/k/<user>
 * wrapped under the login password (rh_key_wrap). Addresses are "/top/rel".
 * get gives -ENOENT when the field has no value yet. */
struct rh_secret_remote;
int rh_secret_remote_new(const struct rh_login *l,
                         struct rh_secret_remote **out, struct rh_err *err);
void rh_secret_remote_free(struct rh_secret_remote *sr);
int rh_secret_remote_get(struct rh_secret_remote *sr, const char *addr,
                         const char *field, struct rh_buf *out,
                         struct rh_err *err);
/* The length of a field's value (no key needed). */
int rh_secret_remote_size(struct rh_secret_remote *sr, const char *addr,
                          const char *field, size_t *size);
int rh_secret_remote_put(struct rh_secret_remote *sr, const char *addr,
                         const char *field, const void *data, size_t len,
                         struct rh_err *err);
int rh_secret_remote_remove(struct rh_secret_remote *sr, const char *addr,
                            const char *field);
int rh_secret_remote_purge(struct rh_secret_remote *sr, const char *addr);
/* After the store moved a folder (values moved as they are): re-seal. */
int rh_secret_remote_moved(struct rh_secret_remote *sr, const char *from,
                           const char *to, struct rh_err *err);
/* rh passwd: P/k/<user> unwrapped with oldpw, wrapped under newpw. */
int rh_secret_remote_rewrap(struct rh_etcd *etcd, const char *prefix,
                            const char *user, const char *oldpw,
                            const char *newpw, struct rh_err *err);

#endif

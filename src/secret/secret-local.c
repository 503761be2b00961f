/* secret-local.c - the values of `~` secrets: sealed (crypt.c) under a
 * random key kept in ~/.rh/secrets.key, each value in its own file
 * ~/.rh/secrets/<resource path>/<field>. Nothing here is in the workdir:
 * the repo's rh/ only ever holds the secret's config.json. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "secret.h"

/* the largest sealed value read back: values are credentials */
#define SEALED_MAX (4 * 1024 * 1024)

char *
rh_secret_local_keyfile(void)
{
	return rh_dot_rh("secrets.key");
}

static char *
value_dir(const char *path)
{
	char *d = rh_dot_rh(NULL), *p;

	p = *path ? xasprintf("%s/secrets/%s", d, path) :
	    xasprintf("%s/secrets", d);
	free(d);
	return p;
}

static char *
value_file(const char *path, const char *field)
{
	char *d = value_dir(path), *p = xasprintf("%s/%s", d, field);

	free(d);
	return p;
}

static int
read_key(const char *file, unsigned char *key, struct rh_err *err)
{
	struct stat st;
	ssize_t n;
	int fd, r = 0;

	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode) || st.st_size != RH_KEY_LEN) {
		r = rh_err_set(err, EACCES, "secrets key %s: not a key "
		               "(%d bytes expected)", file, RH_KEY_LEN);
	} else if (st.st_mode & 077) {
		/* like ssh with a private key: refuse one others may read */
		r = rh_err_set(err, EACCES, "secrets key %s: readable by "
		               "others (mode %04o); chmod 600 it", file,
		               (unsigned)st.st_mode & 07777);
	} else if ((n = read(fd, key, RH_KEY_LEN)) != RH_KEY_LEN) {
		r = rh_err_set(err, EIO, "secrets key %s: short read", file);
	}
	close(fd);
	if (r < 0)
		OPENSSL_cleanse(key, RH_KEY_LEN);
	return r;
}

/* A new random key, made atomically: two processes making it at once
 * end up with the same one (link fails for the loser, who reads it). */
static int
make_key(const char *file, unsigned char *key, struct rh_err *err)
{
	char *d = rh_dot_rh(NULL), *tmp = xasprintf("%s/.secrets.key.XXXXXX", d);
	int fd, r;

	if ((r = rh_mkdirs(d, 0700)) < 0 || (r = rh_key_random(key)) < 0)
		goto out;
	if ((fd = mkstemp(tmp)) < 0) {
		r = -errno;
		goto out;
	}
	if (write(fd, key, RH_KEY_LEN) != RH_KEY_LEN || fsync(fd) < 0)
		r = -EIO;
	close(fd);
	if (r == 0 && link(tmp, file) < 0)
		r = -errno;
	unlink(tmp);
	if (r == 0)
		rh_info("made a new secrets key %s", file);
	else if (r == -EEXIST)
		r = read_key(file, key, err);
out:
	if (r < 0 && err->msg[0] == '\0')
		rh_err_set(err, -r, "secrets key %s: cannot create it: %s",
		           file, strerror(-r));
	free(tmp);
	free(d);
	return r;
}

int
rh_secret_local_key(unsigned char *key, int create, struct rh_err *err)
{
	char *file = rh_secret_local_keyfile();
	int r;

	err->msg[0] = '\0';
	r = read_key(file, key, err);
	if (r == -ENOENT && create)
		r = make_key(file, key, err);
	else if (r == -ENOENT)
		r = rh_err_set(err, EACCES, "secrets key %s: missing, so no "
		               "stored value can be read", file);
	else if (r < 0 && err->msg[0] == '\0')
		rh_err_set(err, -r, "secrets key %s: %s", file, strerror(-r));
	free(file);
	return r;
}

int
rh_secret_local_get(const char *path, const char *field, struct rh_buf *out,
                    struct stat *st, struct rh_err *err)
{
	unsigned char key[RH_KEY_LEN];
	struct rh_buf sealed = { 0 };
	char *file = value_file(path, field), *addr = rh_address("~", path);
	int r;

	if ((r = rh_file_read(file, SEALED_MAX, &sealed, st)) < 0) {
		if (r != -ENOENT)
			rh_err_set(err, -r, "%s/%s: cannot read its stored "
			           "value: %s", addr, field, strerror(-r));
		goto out;
	}
	if ((r = rh_secret_local_key(key, 0, err)) < 0)
		goto out;
	r = rh_unseal(key, addr, field, sealed.data, sealed.len, out, err);
	OPENSSL_cleanse(key, sizeof(key));
out:
	rh_buf_free(&sealed);
	free(addr);
	free(file);
	return r;
}

int
rh_secret_local_stat(const char *path, const char *field, struct stat *st)
{
	struct rh_buf sealed = { 0 };
	char *file = value_file(path, field);
	ssize_t n;
	int r;

	if ((r = rh_file_read(file, SEALED_MAX, &sealed, st)) == 0) {
		n = rh_sealed_len(sealed.data, sealed.len);
		st->st_size = n < 0 ? 0 : (off_t)n;
	}
	rh_buf_free(&sealed);
	free(file);
	return r;
}

int
rh_secret_local_put(const char *path, const char *field, const void *data,
                    size_t len, struct rh_err *err)
{
	unsigned char key[RH_KEY_LEN];
	struct rh_buf sealed = { 0 };
	char *dir = value_dir(path), *file = value_file(path, field);
	char *addr = rh_address("~", path);
	int r;

	if ((r = rh_secret_local_key(key, 1, err)) < 0)
		goto out;
	r = rh_seal(key, addr, field, data, len, &sealed);
	OPENSSL_cleanse(key, sizeof(key));
	if (r < 0) {
		rh_err_set(err, -r, "%s/%s: cannot encrypt", addr, field);
		goto out;
	}
	if ((r = rh_mkdirs(dir, 0700)) < 0 ||
	    (r = rh_file_replace(file, sealed.data, sealed.len, 0600, 1)) < 0)
		rh_err_set(err, -r, "%s/%s: cannot store its value in %s: %s",
		           addr, field, dir, strerror(-r));
out:
	rh_buf_free(&sealed);
	free(addr);
	free(file);
	free(dir);
	return r;
}

int
rh_secret_local_remove(const char *path, const char *field)
{
	char *file = value_file(path, field), *dir = value_dir(path);
	int r = unlink(file) < 0 ? -errno : 0;

	rmdir(dir);     /* when it was the last value */
	free(dir);
	free(file);
	return r == -ENOENT ? 0 : r;
}

/* Every sealed value below dir, re-sealed from (path, addr) to
 * (topath, toaddr). */
static int
move_tree(const char *from, const char *to, const char *rel,
          struct rh_err *err)
{
	char *sfrom = *rel ? rh_path_join(from, rel) : xstrdup(from);
	char *sto = *rel ? rh_path_join(to, rel) : xstrdup(to);
	char *dir = value_dir(sfrom), *sub;
	struct rh_buf pt = { 0 };
	struct dirent *e;
	struct stat st;
	DIR *d;
	int r = 0;

	if ((d = opendir(dir)) == NULL) {
		r = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	while (r == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;       /* ., .., and rh_file_replace's temps */
		sub = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *r2 = rh_path_join(rel, e->d_name);

			r = move_tree(from, to, r2, err);
			free(r2);
		} else if ((r = rh_secret_local_get(sfrom, e->d_name, &pt,
		                                    NULL, err)) == 0) {
			r = rh_secret_local_put(sto, e->d_name, pt.data,
			                        pt.len, err);
			if (r == 0)
				unlink(sub);
		}
		rh_buf_cleanse(&pt);
		free(sub);
	}
	closedir(d);
	rmdir(dir);
out:
	free(dir);
	free(sfrom);
	free(sto);
	return r;
}

int
rh_secret_local_move(const char *from, const char *to, struct rh_err *err)
{
	return move_tree(from, to, "", err);
}

static int
purge(const char *dir)
{
	struct dirent *e;
	struct stat st;
	char *sub;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		sub = xasprintf("%s/%s", dir, e->d_name);
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			purge(sub);
		else
			unlink(sub);
		free(sub);
	}
	closedir(d);
	return rmdir(dir) < 0 ? -errno : 0;
}

int
rh_secret_local_purge(const char *path)
{
	char *dir = value_dir(path);
	int r;

	r = *path ? purge(dir) : -EINVAL;
	free(dir);
	return r;
}

/*
 * data-client - drives a data store (rh_data_open, rh_data_ops) for the
 * shell tests: `data-client [-t SECS] CONFIG OP ARGS...` runs one
 * operation; without OP, operations are read one a line from stdin (one
 * store across them all). Each prints "ok ..." or "error ENAME", and the
 * store's log lines go to stderr. Options: -t SECS, the store's
 * io_timeout; -k FILE, SSH known hosts; -c FILE, the config of every
 * cluster address (a cluster store's system).
 *
 *   stat P | ls P | mkdir P | rmdir P | unlink P | rename A B [noreplace]
 *   (P "/" is the root)
 *   truncate P SIZE | chmod P MODE | touch P SECS | readlink P
 *   put P FILE (create or replace) | append P FILE | excl P FILE
 *   pwrite P OFF FILE | get P FILE | getat P OFF LEN (the bytes to stdout)
 *   hold P FILE FLAG: write FILE into P, say "held", wait until FLAG
 *   exists, fsync and close (for a store lost in between)
 *   sync P FILE: write FILE into P, fsync and close
 *   shuffled P FILE: read P into FILE in 128 KiB reads out of order, as
 *   the kernel's read-ahead sends them: pairs swapped, a jump back to
 *   the start and one far ahead now and then
 *   stale P FILE OFF: read P's first bytes, write FILE at OFF through a
 *   second handle, then read FILE's length at OFF through the first
 *   (the bytes to stdout)
 */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datastore.h"

#define CHUNK (1024 * 1024)

static struct rh_data *d;
static char *blob;
static const char *cluster_file;

/* -c FILE: every cluster address has the config in FILE. */
static int
cluster_cfg(void *arg, const char *addr, cJSON **cfg, struct rh_err *err)
{
	char buf[65536];
	FILE *f = fopen(cluster_file, "r");
	size_t n;

	(void)arg;
	if (f == NULL)
		return rh_err_set(err, ENOENT, "%s: no such cluster", addr);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((*cfg = cJSON_Parse(buf)) == NULL)
		return rh_err_set(err, EINVAL, "%s: bad config", addr);
	return 0;
}

static int
report(int r)
{
	if (r < 0)
		printf("error %s\n", strerrorname_np(-r));
	fflush(stdout);
	return r;
}

static int
list_cb(const char *name, const struct stat *st, void *arg)
{
	(void)arg;
	printf("%s%s %lld\n", name, S_ISDIR(st->st_mode) ? "/" : "",
	       (long long)st->st_size);
	return 0;
}

/* FILE's bytes into the open file from off (or its end). */
static int
copy_in(struct rh_data_file *f, const char *file, off_t off)
{
	char *buf = malloc(CHUNK);
	ssize_t n, w;
	int fd = open(file, O_RDONLY), r = 0;

	if (fd < 0 || buf == NULL) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	while ((n = read(fd, buf, CHUNK)) > 0) {
		if ((w = d->ops->write(f, buf, (size_t)n, off)) != n) {
			r = w < 0 ? (int)w : -EIO;
			break;
		}
		off += n;
	}
	if (n < 0)
		r = -errno;
	close(fd);
	free(buf);
	return r;
}

static int
write_op(const char *path, int flags, const char *file, off_t off,
         const char *flag, int sync)
{
	struct rh_data_file *f;
	int r, c, i;

	if ((r = d->ops->open(d, path, flags, 0644, &f)) < 0)
		return r;
	r = copy_in(f, file, off);
	if (r == 0 && flag != NULL) {
		printf("held\n");
		fflush(stdout);
	}
	for (i = 0; r == 0 && flag != NULL && access(flag, F_OK) != 0 &&
	     i < 1200; i++)
		usleep(50000);
	if (r == 0 && (flag != NULL || sync))
		r = d->ops->fsync(f, 0);
	c = d->ops->close(f);
	return r < 0 ? r : c;
}

static int
get_op(const char *path, const char *file, off_t off, size_t len)
{
	struct rh_data_file *f = NULL;
	char *buf = malloc(CHUNK);
	ssize_t n;
	int fd = file ? open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644) : 1;
	int r;

	if (fd < 0 || buf == NULL) {
		free(buf);
		return -errno;
	}
	r = d->ops->open(d, path, O_RDONLY, 0, &f);
	while (r == 0) {
		/* odd-sized reads: the window is not a request's size */
		n = d->ops->read(f, buf, file ? 131072 + 4096 :
		                 (len < CHUNK ? len : CHUNK), off);
		if (n <= 0) {
			r = (int)n;
			break;
		}
		if (write(fd, buf, (size_t)n) != n) {
			r = -errno;
			break;
		}
		off += n;
		if (!file && (len -= (size_t)n) == 0)
			break;
	}
	if (f != NULL && d->ops->close(f) < 0 && r == 0)
		r = -EIO;
	if (file)
		close(fd);
	free(buf);
	return r;
}

#define BLOCK (128 * 1024)

/* Block i of path's open file f into fd at its offset. */
static int
get_block(struct rh_data_file *f, char *buf, int fd, off_t i)
{
	ssize_t n = d->ops->read(f, buf, BLOCK, i * BLOCK);

	if (n > 0 && pwrite(fd, buf, (size_t)n, i * BLOCK) != n)
		return -errno;
	return n < 0 ? (int)n : 0;
}

static int
shuffled_op(const char *path, const char *file)
{
	struct rh_data_file *f = NULL;
	struct stat st;
	char *buf = malloc(BLOCK);
	off_t blocks, i;
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644), r;

	if (fd < 0 || buf == NULL) {
		free(buf);
		return -errno;
	}
	if ((r = d->ops->stat(d, path, &st)) == 0)
		r = d->ops->open(d, path, O_RDONLY, 0, &f);
	blocks = (st.st_size + BLOCK - 1) / BLOCK;
	for (i = 0; r == 0 && i < blocks; i += 2) {
		/* i + 1 before i; every 16th pair, block 0 again (far
		 * behind) and a block 64 ahead (far ahead) first */
		if (i % 32 == 16 && (r = get_block(f, buf, fd, 0)) == 0 &&
		    i + 64 < blocks)
			r = get_block(f, buf, fd, i + 64);
		if (r == 0 && i + 1 < blocks)
			r = get_block(f, buf, fd, i + 1);
		if (r == 0)
			r = get_block(f, buf, fd, i);
	}
	if (f != NULL && d->ops->close(f) < 0 && r == 0)
		r = -EIO;
	close(fd);
	free(buf);
	return r;
}

static int
stale_op(const char *path, const char *file, off_t off)
{
	struct rh_data_file *f = NULL, *w = NULL;
	char *buf = malloc(CHUNK);
	ssize_t n = 0;
	int r;

	if (buf == NULL)
		return -ENOMEM;
	if ((r = d->ops->open(d, path, O_RDONLY, 0, &f)) == 0 &&
	    (n = d->ops->read(f, buf, 4096, 0)) < 0)
		r = (int)n;
	if (r == 0 && (r = d->ops->open(d, path, O_WRONLY, 0, &w)) == 0) {
		r = copy_in(w, file, off);
		if (d->ops->close(w) < 0 && r == 0)
			r = -EIO;
	}
	if (r == 0 && (n = open(file, O_RDONLY)) >= 0) {
		struct stat st;

		fstat((int)n, &st);
		close((int)n);
		n = d->ops->read(f, buf, (size_t)st.st_size, off);
		if (n < 0)
			r = (int)n;
		else if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			r = -EIO;
		printf("\n");
	}
	if (f != NULL && d->ops->close(f) < 0 && r == 0)
		r = -EIO;
	free(buf);
	return r;
}

static int
run(int argc, char **argv)
{
	const char *op = argv[0];
	struct stat st;
	char link[256];
	int r = -EINVAL;

	if (argc > 1 && strcmp(argv[1], "/") == 0)
		argv[1][0] = '\0';   /* the root */
#define ARGS(n) if (argc != (n) + 1) return report(-EINVAL)
	if (strcmp(op, "stat") == 0) {
		ARGS(1);
		if ((r = d->ops->stat(d, argv[1], &st)) == 0)
			printf("ok %s %lld %04o %lld\n",
			       S_ISDIR(st.st_mode) ? "dir" : "reg",
			       (long long)st.st_size, st.st_mode & 07777,
			       (long long)st.st_mtime);
	} else if (strcmp(op, "ls") == 0) {
		ARGS(1);
		if ((r = d->ops->list(d, argv[1], list_cb, NULL)) == 0)
			printf("ok\n");
	} else if (strcmp(op, "mkdir") == 0) {
		ARGS(1);
		r = d->ops->mkdir(d, argv[1], 0755);
	} else if (strcmp(op, "rmdir") == 0) {
		ARGS(1);
		r = d->ops->rmdir(d, argv[1]);
	} else if (strcmp(op, "unlink") == 0) {
		ARGS(1);
		r = d->ops->unlink(d, argv[1]);
	} else if (strcmp(op, "readlink") == 0) {
		ARGS(1);
		if ((r = d->ops->readlink(d, argv[1], link,
		                          sizeof(link))) == 0)
			printf("ok %s\n", link);
	} else if (strcmp(op, "rename") == 0) {
		if (argc != 3 && argc != 4)
			return report(-EINVAL);
		r = d->ops->rename(d, argv[1], argv[2],
		                   argc == 4 ? RENAME_NOREPLACE : 0);
	} else if (strcmp(op, "truncate") == 0) {
		ARGS(2);
		r = d->ops->truncate(d, argv[1], NULL, atoll(argv[2]));
	} else if (strcmp(op, "chmod") == 0 || strcmp(op, "touch") == 0) {
		struct rh_data_attr a = { 0 };

		ARGS(2);
		if (op[1] == 'h') {
			a.what = RH_DATA_MODE;
			a.mode = (mode_t)strtol(argv[2], NULL, 8);
		} else {
			a.what = RH_DATA_MTIME;
			a.mtime.tv_sec = atoll(argv[2]);
		}
		r = d->ops->setattr(d, argv[1], NULL, &a);
	} else if (strcmp(op, "put") == 0 || strcmp(op, "excl") == 0) {
		ARGS(2);
		r = write_op(argv[1], O_WRONLY | O_CREAT | (op[0] == 'p' ?
		             O_TRUNC : O_EXCL), argv[2], 0, NULL, 0);
	} else if (strcmp(op, "append") == 0) {
		ARGS(2);
		r = write_op(argv[1], O_WRONLY | O_APPEND, argv[2], 0, NULL,
		             0);
	} else if (strcmp(op, "pwrite") == 0) {
		ARGS(3);
		r = write_op(argv[1], O_RDWR, argv[3], atoll(argv[2]), NULL,
		             0);
	} else if (strcmp(op, "hold") == 0) {
		ARGS(3);
		r = write_op(argv[1], O_WRONLY | O_CREAT | O_TRUNC, argv[2],
		             0, argv[3], 0);
	} else if (strcmp(op, "sync") == 0) {
		ARGS(2);
		r = write_op(argv[1], O_WRONLY | O_CREAT | O_TRUNC, argv[2],
		             0, NULL, 1);
	} else if (strcmp(op, "get") == 0) {
		ARGS(2);
		r = get_op(argv[1], argv[2], 0, 0);
	} else if (strcmp(op, "shuffled") == 0) {
		ARGS(2);
		r = shuffled_op(argv[1], argv[2]);
	} else if (strcmp(op, "stale") == 0) {
		ARGS(3);
		r = stale_op(argv[1], argv[2], atoll(argv[3]));
	} else if (strcmp(op, "getat") == 0) {
		ARGS(3);
		r = get_op(argv[1], NULL, atoll(argv[2]),
		           (size_t)atoll(argv[3]));
		if (r == 0)
			printf("\n");
	}
#undef ARGS
	if (r == 0 && strcmp(op, "stat") != 0 && strcmp(op, "ls") != 0 &&
	    strcmp(op, "readlink") != 0)
		printf("ok\n");
	return report(r);
}

int
main(int argc, char **argv)
{
	struct rh_data_opts o = { 0 };
	struct rh_err err = { "" };
	char line[4096], *words[8], *save;
	cJSON *cfg;
	int n, r;

	rh_log_init("data-client", 1, RH_LOG_INFO);
	while (argc > 2 && argv[1][0] == '-' && argv[1][2] == '\0') {
		if (argv[1][1] == 't') {
			o.io_timeout = atof(argv[2]);
		} else if (argv[1][1] == 'k') {
			o.known_hosts = argv[2];
		} else if (argv[1][1] == 'c') {
			cluster_file = argv[2];
			o.cluster = cluster_cfg;
		} else {
			break;
		}
		argc -= 2;
		argv += 2;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: data-client [-t SECS] [-k FILE] "
		        "[-c FILE] CONFIG "
		        "[OP ARGS...]\n");
		return 2;
	}
	if ((cfg = cJSON_Parse(argv[1])) == NULL) {
		fprintf(stderr, "data-client: bad config\n");
		return 2;
	}
	r = rh_data_open(cfg, "~/data", "/", &o, &d, &blob, &err);
	cJSON_Delete(cfg);
	if (r < 0) {
		printf("error %s %s\n", strerrorname_np(-r), err.msg);
		return 1;
	}
	if (blob != NULL)
		printf("blob %s\n", blob);
	if (argc > 2) {
		r = run(argc - 2, argv + 2);
	} else {
		while (fgets(line, sizeof(line), stdin) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			n = 0;
			for (words[n] = strtok_r(line, " ", &save);
			     words[n] != NULL && n < 7;
			     words[++n] = strtok_r(NULL, " ", &save))
				;
			if (n > 0)
				r = run(n, words);
		}
	}
	rh_data_free(d);
	free(blob);
	return r < 0 ? 1 : 0;
}

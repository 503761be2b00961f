/* unit-data.c - the data-store interface on the local store
 * (datastore.c, local.c): every operation against the real
 * directory, and no path leading out of the root. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "datastore.h"
#include "unit.h"

static char *root, *outside;

static char *
at(const char *base, const char *rel)
{
	return xasprintf("%s/%s", base, rel);
}

static int
count(const char *name, const struct stat *st, void *arg)
{
	(void)name;
	(void)st;
	++*(int *)arg;
	return 0;
}

static void
test_ops(struct rh_data *d)
{
	const struct rh_data_ops *o = d->ops;
	struct rh_data_file *f;
	struct rh_data_attr a = { 0 };
	struct stat st;
	char buf[64], *p, *s;
	int n = 0;

	/* create, write, read, append */
	CHECK_EQ_INT(o->open(d, "a.txt", O_CREAT | O_EXCL | O_RDWR, 0640, &f),
	             0);
	CHECK_EQ_INT(o->write(f, "hello", 5, 0), 5);
	CHECK_EQ_INT(o->read(f, buf, sizeof(buf), 1), 4);
	CHECK(memcmp(buf, "ello", 4) == 0);
	CHECK_EQ_INT(o->fsync(f, 0), 0);
	CHECK_EQ_INT(o->fstat(f, &st), 0);
	CHECK_EQ_INT(st.st_size, 5);
	CHECK_EQ_INT(o->close(f), 0);
	p = at(root, "a.txt");
	s = unit_read(p, NULL);
	CHECK_STR(s, "hello");
	free(s);
	CHECK_EQ_INT(o->open(d, "a.txt", O_CREAT | O_EXCL | O_RDWR, 0640, &f),
	             -EEXIST);
	CHECK_EQ_INT(o->open(d, "a.txt", O_WRONLY | O_APPEND, 0, &f), 0);
	CHECK_EQ_INT(o->write(f, " you", 4, 0), 4);    /* appends */
	CHECK_EQ_INT(o->close(f), 0);
	s = unit_read(p, NULL);
	CHECK_STR(s, "hello you");
	free(s);
	/* truncate by path, stat */
	CHECK_EQ_INT(o->truncate(d, "a.txt", NULL, 2), 0);
	CHECK_EQ_INT(o->stat(d, "a.txt", &st), 0);
	CHECK_EQ_INT(st.st_size, 2);
	CHECK_EQ_INT(st.st_mode & 0777, 0640);
	/* chmod and times */
	a.what = RH_DATA_MODE | RH_DATA_MTIME;
	a.mode = 0600;
	a.mtime.tv_sec = 1000000000;
	a.mtime.tv_nsec = 5;
	CHECK_EQ_INT(o->setattr(d, "a.txt", NULL, &a), 0);
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK_EQ_INT(st.st_mtim.tv_sec, 1000000000);
	CHECK_EQ_INT(st.st_mtim.tv_nsec, 5);
	/* directories, rename, listing */
	CHECK_EQ_INT(o->mkdir(d, "sub", 0755), 0);
	CHECK_EQ_INT(o->mkdir(d, "sub/year=2024", 0755), 0);
	CHECK_EQ_INT(o->rename(d, "a.txt", "sub/year=2024/b.txt", 0), 0);
	CHECK(access(p, F_OK) < 0);
	free(p);
	p = at(root, "sub/year=2024/b.txt");
	CHECK(access(p, F_OK) == 0);
	free(p);
	CHECK_EQ_INT(o->list(d, "sub/year=2024", count, &n), 0);
	CHECK_EQ_INT(n, 1);
	CHECK_EQ_INT(o->open(d, "c", O_CREAT | O_WRONLY, 0644, &f), 0);
	CHECK_EQ_INT(o->close(f), 0);
	CHECK_EQ_INT(o->rename(d, "c", "sub/year=2024/b.txt",
	                       RENAME_NOREPLACE), -EEXIST);
	CHECK_EQ_INT(o->rmdir(d, "sub/year=2024"), -ENOTEMPTY);
	CHECK_EQ_INT(o->unlink(d, "sub/year=2024/b.txt"), 0);
	CHECK_EQ_INT(o->rmdir(d, "sub/year=2024"), 0);
	CHECK_EQ_INT(o->unlink(d, "c"), 0);
	CHECK_EQ_INT(o->stat(d, "", &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_EQ_INT(o->rmdir(d, ""), -EBUSY);
}

static void
test_escapes(struct rh_data *d)
{
	const struct rh_data_ops *o = d->ops;
	struct rh_data_file *f;
	struct stat st;
	char buf[256], *p;

	/* the outside: a file the store must never reach */
	p = at(outside, "secret");
	CHECK_EQ_INT(unit_write(p, "s3cr3t", -1), 0);
	free(p);
	CHECK_EQ_INT(o->stat(d, "../secret", &st), -EINVAL);
	CHECK_EQ_INT(o->open(d, "sub/../../secret", O_RDONLY, 0, &f), -EINVAL);
	CHECK_EQ_INT(o->stat(d, "/etc/passwd", &st), -EINVAL);
	CHECK_EQ_INT(o->stat(d, "sub//x", &st), -EINVAL);
	CHECK_EQ_INT(o->stat(d, "./x", &st), -EINVAL);
	/* symbolic links inside: shown, never followed */
	p = at(root, "out");
	CHECK(symlink(outside, p) == 0);
	free(p);
	p = at(root, "outfile");
	CHECK(symlink("../outside/secret", p) == 0);
	free(p);
	p = at(root, "in");
	CHECK(symlink("sub/../sub", p) == 0);
	free(p);
	CHECK_EQ_INT(o->stat(d, "out", &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ_INT(o->stat(d, "out/secret", &st), -ELOOP);
	CHECK_EQ_INT(o->open(d, "out/secret", O_RDONLY, 0, &f), -ELOOP);
	CHECK_EQ_INT(o->open(d, "outfile", O_RDONLY, 0, &f), -ELOOP);
	CHECK_EQ_INT(o->list(d, "out", count, &(int){ 0 }), -ELOOP);
	CHECK_EQ_INT(o->mkdir(d, "out/x", 0755), -ELOOP);
	CHECK_EQ_INT(o->rename(d, "sub", "out/sub", 0), -ELOOP);
	/* their targets are as they are: the kernel follows them for the
	 * caller, as it would on the disk */
	CHECK_EQ_INT(o->readlink(d, "out", buf, sizeof(buf)), 0);
	CHECK_STR(buf, outside);
	CHECK_EQ_INT(o->readlink(d, "outfile", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "../outside/secret");
	CHECK_EQ_INT(o->readlink(d, "in", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "sub/../sub");
	/* links made through the store: a symbolic link's target is not
	 * checked, a hard link never follows one, nothing lands outside */
	CHECK_EQ_INT(o->symlink(d, "/etc/passwd", "sub/abs"), 0);
	CHECK_EQ_INT(o->readlink(d, "sub/abs", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/etc/passwd");
	CHECK_EQ_INT(o->symlink(d, "x", "sub/abs"), -EEXIST);
	CHECK_EQ_INT(o->symlink(d, "x", "out/x"), -ELOOP);
	CHECK_EQ_INT(o->link(d, "outfile", "sub/hard"), 0);
	CHECK_EQ_INT(o->stat(d, "sub/hard", &st), 0);
	CHECK(S_ISLNK(st.st_mode));
	CHECK_EQ_INT(o->link(d, "outfile", "out/hard"), -ELOOP);
	CHECK_EQ_INT(o->link(d, "", "sub/root"), -EPERM);
	CHECK_EQ_INT(o->mknod(d, "sub/fifo", S_IFIFO | 0600, 0), 0);
	CHECK_EQ_INT(o->stat(d, "sub/fifo", &st), 0);
	CHECK(S_ISFIFO(st.st_mode));
	CHECK_EQ_INT(o->mknod(d, "out/fifo", S_IFIFO | 0600, 0), -ELOOP);
	CHECK_EQ_INT(o->unlink(d, "sub/abs"), 0);
	CHECK_EQ_INT(o->unlink(d, "sub/hard"), 0);
	CHECK_EQ_INT(o->unlink(d, "sub/fifo"), 0);
	/* chmod of a link changes nothing outside */
	{
		struct rh_data_attr a = { RH_DATA_MODE, 0777, { 0 }, { 0 }, 0, 0 };

		CHECK_EQ_INT(o->setattr(d, "outfile", NULL, &a), -EOPNOTSUPP);
	}
	p = at(outside, "secret");
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0644);
	free(p);
	CHECK_EQ_INT(o->unlink(d, "out"), 0);   /* the link, not its target */
	CHECK(access(outside, F_OK) == 0);
}

/* rh_data_open: which store a config gives, and its errors. */
static void
test_open(const char *work)
{
	struct rh_err err = { "" };
	struct rh_data *d;
	char *blob;
	cJSON *c;

	c = cJSON_Parse("{\"resource_type\": \"folder\", \"path\": \"root\"}");
	CHECK_EQ_INT(rh_data_open(c, "~/f", work, NULL, &d, &blob, &err), 0);
	CHECK(blob == NULL);
	CHECK_EQ_INT(d->ops->mkdir(d, "rel", 0755), 0);
	rh_data_free(d);
	cJSON_Delete(c);
	{
		char *p = at(root, "rel");

		CHECK(access(p, F_OK) == 0);    /* relative to the workdir */
		free(p);
	}
	c = cJSON_Parse("{\"resource_type\": \"blob\", \"path\": "
	                "\"root/rel/m.pt\"}");
	CHECK_EQ_INT(rh_data_open(c, "~/b", work, NULL, &d, &blob, &err), 0);
	CHECK_STR(blob, "m.pt");
	CHECK_EQ_INT(d->ops->stat(d, "", &(struct stat){ 0 }), 0);
	rh_data_free(d);
	free(blob);
	cJSON_Delete(c);

	c = cJSON_Parse("{\"resource_type\": \"folder\", \"name\": \"m\"}");
	CHECK_EQ_INT(rh_data_open(c, "~/m", work, NULL, &d, &blob, &err),
	             -ENOENT);
	CHECK_HAS(err.msg, "~/m");
	CHECK_HAS(err.msg, "marker");
	cJSON_Delete(c);
	/* s3: the checks made before any request (tests/s3.sh has more) */
	c = cJSON_Parse("{\"resource_type\": \"folder\", \"system\": \"s3\", "
	                "\"path\": \"bucket/p\", \"data_config\": "
	                "{\"endpoint_url\": \"ftp://x\"}}");
	CHECK_EQ_INT(rh_data_open(c, "~/s", work, NULL, &d, &blob, &err),
	             -EINVAL);
	CHECK_HAS(err.msg, "~/s");
	CHECK_HAS(err.msg, "endpoint_url");
	cJSON_Delete(c);
	c = cJSON_Parse("{\"resource_type\": \"blob\", \"system\": \"s3\", "
	                "\"path\": \"s3://bucket/\"}");
	CHECK_EQ_INT(rh_data_open(c, "~/sb", work, NULL, &d, &blob, &err),
	             -EINVAL);
	CHECK_HAS(err.msg, "~/sb");
	CHECK_HAS(err.msg, "bucket/key");
	CHECK(blob == NULL);
	cJSON_Delete(c);
	c = cJSON_Parse("{\"resource_type\": \"table\", \"system\": \"~/box\", "
	                "\"path\": \"t\"}");
	/* no way given to find a cluster's config */
	CHECK_EQ_INT(rh_data_open(c, "~/t", work, NULL, &d, &blob, &err),
	             -ENOENT);
	CHECK_HAS(err.msg, "~/t");
	CHECK_HAS(err.msg, "~/box");
	CHECK_HAS(err.msg, "no config known");
	cJSON_Delete(c);
	c = cJSON_Parse("{\"resource_type\": \"folder\", \"path\": \"nope\"}");
	CHECK_EQ_INT(rh_data_open(c, "~/n", work, NULL, &d, &blob, &err),
	             -ENOENT);
	CHECK_HAS(err.msg, "~/n");
	cJSON_Delete(c);
}

int
main(void)
{
	struct rh_err err = { "" };
	struct rh_data *d;
	char *work = unit_tmpdir();

	root = at(work, "root");
	outside = at(work, "outside");
	if (mkdir(root, 0755) < 0 || mkdir(outside, 0755) < 0)
		return 99;
	CHECK_EQ_INT(rh_data_local_open(root, "~/d", 0, &d, &err), 0);
	test_ops(d);
	test_escapes(d);
	rh_data_free(d);
	test_open(work);
	unit_rmrf(work);
	free(root);
	free(outside);
	free(work);
	return unit_done();
}

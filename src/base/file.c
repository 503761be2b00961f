/* file.c - whole-file reads and atomic replacement on local disk. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

int
rh_file_read(const char *path, size_t max, struct rh_buf *out,
             struct stat *st)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	return rh_file_read_fd(fd, max, out, st);
}

int
rh_file_read_fd(int fd, size_t max, struct rh_buf *out, struct stat *st)
{
	struct stat sb;
	ssize_t n;
	int r = 0;

	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	out->len = 0;
	for (;;) {
		rh_buf_reserve(out, out->len + 4096);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len > max) {
			r = -EFBIG;
			goto out;
		}
	}
	if (st != NULL)
		*st = sb;
out:
	close(fd);
	return r;
}

/* Write to a temp file beside path (fsync'd with sync), then rename over
 * path, so a reader sees the old content or the new, never a mix. */
int
rh_file_replace(const char *path, const char *data, size_t len, unsigned mode,
                int sync)
{
	const char *base = strrchr(path, '/');
	char *tmp, *dir;
	ssize_t n;
	size_t off = 0;
	int fd, dfd, r = 0;

	base = base ? base + 1 : path;
	dir = base == path ? xstrdup(".") :
	      xstrndup(path, (size_t)(base - path - 1));
	tmp = xasprintf("%s/.%s.XXXXXX", *dir ? dir : "/", base);
	if ((fd = mkstemp(tmp)) < 0) {
		r = -errno;
		goto out;
	}
	while (off < len) {
		if ((n = write(fd, data + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (r == 0 && fchmod(fd, (mode_t)mode) < 0)
		r = -errno;
	if (r == 0 && sync && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	if (sync && (dfd = open(*dir ? dir : "/",
	                        O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
out:
	free(tmp);
	free(dir);
	return r;
}

int
rh_mkdirs(const char *dir, unsigned mode)
{
	char *p = xstrdup(dir), *s, c;
	int r = 0;

	for (s = p + 1; r == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, (mode_t)mode) < 0 && errno != EEXIST)
			r = -errno;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return r;
}

char *
rh_dot_rh(const char *name)
{
	const char *home = getenv("HOME");

	if (home == NULL || *home == '\0')
		home = ".";
	return name != NULL ? xasprintf("%s/.rh/%s", home, name) :
	       xasprintf("%s/.rh", home);
}

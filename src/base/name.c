/* name.c - RNS names, store paths and addresses. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "base.h"

/* A name is one path component: what mkdir, create and rename accept.
 * It lands in a config's `name` and in log lines, so it is UTF-8 text
 * without control characters (C0, DEL, and C1: U+0080 to U+009F). */
int
rh_name_check(const char *name, struct rh_err *err)
{
	const unsigned char *p;
	size_t len = strlen(name), n;

	if (len == 0)
		return rh_err_set(err, EINVAL, "empty name");
	if (len > RH_NAME_MAX)
		return rh_err_set(err, ENAMETOOLONG,
		                  "name longer than %d bytes", RH_NAME_MAX);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return rh_err_set(err, EINVAL, "'%s' is not a name", name);
	for (p = (const unsigned char *)name; *p; p++) {
		if (*p == '/')
			return rh_err_set(err, EINVAL,
			                  "name '%s' contains '/'", name);
		if (*p < 0x20 || *p == 0x7f)
			return rh_err_set(err, EINVAL,
			                  "name contains control character 0x%02x",
			                  *p);
		if (*p < 0x80)
			continue;
		if ((n = rh_utf8_len(p, len - (size_t)(p -
		                     (const unsigned char *)name))) == 0)
			return rh_err_set(err, EINVAL, "name is not valid UTF-8 "
			                  "(byte 0x%02x)", *p);
		if (p[0] == 0xc2 && p[1] < 0xa0)
			return rh_err_set(err, EINVAL, "name contains control "
			                  "character U+%04X", p[1]);
		p += n - 1;
	}
	return 0;
}

/* A store path: "" or names joined by single slashes. */
int
rh_path_check(const char *path, struct rh_err *err)
{
	const char *p = path, *slash;
	char comp[RH_NAME_MAX + 2];
	size_t len;
	int r;

	if (*p == '\0')
		return 0;
	for (;;) {
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		if (len > RH_NAME_MAX)
			return rh_err_set(err, ENAMETOOLONG,
			                  "name longer than %d bytes",
			                  RH_NAME_MAX);
		memcpy(comp, p, len);
		comp[len] = '\0';
		if ((r = rh_name_check(comp, err)) < 0)
			return r;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

char *
rh_path_join(const char *dir, const char *name)
{
	if (*dir == '\0')
		return xstrdup(name);
	return xasprintf("%s/%s", dir, name);
}

const char *
rh_path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *
rh_path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
}

/* "~" + "a/b" -> "~/a/b"; "^" + "rh-cpu" -> "^rh-cpu" (Runhouse writes
 * builtins without a slash); "" + "alice/x" -> "/alice/x". */
char *
rh_address(const char *prefix, const char *path)
{
	if (*path == '\0')
		return xstrdup(*prefix ? prefix : "/");
	if (strcmp(prefix, "^") == 0)
		return xasprintf("^%s", path);
	return xasprintf("%s/%s", prefix, path);
}

/* word for a POSIX shell: 'it'\''s' */
char *
rh_shell_quote(const char *s)
{
	struct rh_buf b = { 0 };

	rh_buf_append(&b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'')
			rh_buf_append(&b, "'\\''", 4);
		else
			rh_buf_append(&b, s, 1);
	}
	rh_buf_append(&b, "'", 1);
	return b.data;
}

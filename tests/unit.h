/* unit.h - the few checks the C unit tests need. Each failed check prints
 * "FAIL file:line: expr" on stderr; unit_done() prints "N passed, M failed"
 * and gives the exit status. */
#ifndef UNIT_H
#define UNIT_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unit_passed, unit_failed;

static inline int
unit_check(int ok, const char *file, int line, const char *expr)
{
	if (ok)
		unit_passed++;
	else {
		unit_failed++;
		fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
	}
	return ok;
}

static inline int
unit_check_int(long long a, long long b, const char *file, int line,
               const char *expr)
{
	if (!unit_check(a == b, file, line, expr))
		fprintf(stderr, "     got %lld, want %lld\n", a, b);
	return a == b;
}

static inline int
unit_check_str(const char *a, const char *b, const char *file, int line,
               const char *expr)
{
	int ok = a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);

	if (!unit_check(ok, file, line, expr))
		fprintf(stderr, "     got \"%s\", want \"%s\"\n",
		        a ? a : "(null)", b ? b : "(null)");
	return ok;
}

static inline int
unit_check_has(const char *hay, const char *needle, const char *file,
               int line, const char *expr)
{
	int ok = hay != NULL && strstr(hay, needle) != NULL;

	if (!unit_check(ok, file, line, expr))
		fprintf(stderr, "     \"%s\" does not contain \"%s\"\n",
		        hay ? hay : "(null)", needle);
	return ok;
}

static inline int
unit_done(void)
{
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

/* A fresh directory under $TMPDIR (or /tmp), as a real path. */
static inline char *
unit_tmpdir(void)
{
	const char *t = getenv("TMPDIR");
	char tmpl[4096], *dir;

	snprintf(tmpl, sizeof(tmpl), "%s/rh-unit.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpl) == NULL || (dir = realpath(tmpl, NULL)) == NULL) {
		perror("unit: temp dir");
		exit(99);
	}
	return dir;
}

/* Write a whole file (len -1: strlen); 0 or -1. */
static inline int
unit_write(const char *path, const char *data, long len)
{
	size_t n = len < 0 ? strlen(data) : (size_t)len;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int ok = fd >= 0 && write(fd, data, n) == (ssize_t)n;

	if (fd >= 0 && close(fd) < 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* A whole file, NUL-terminated, in a new allocation; NULL if unreadable. */
static inline char *
unit_read(const char *path, size_t *len)
{
	char *data = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	int c;

	if (f == NULL)
		return NULL;
	data = malloc(1);
	while (data != NULL && (c = getc(f)) != EOF) {
		data = realloc(data, n + 2);
		if (data != NULL)
			data[n++] = (char)c;
	}
	fclose(f);
	if (data == NULL)
		exit(99);
	data[n] = '\0';
	if (len != NULL)
		*len = n;
	return data;
}

static inline int
unit_rm1(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path) < 0 ? -1 : 0;
}

static inline void
unit_rmrf(const char *path)
{
	nftw(path, unit_rm1, 16, FTW_DEPTH | FTW_PHYS);
}

#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ_INT(a, b) \
	unit_check_int((long long)(a), (long long)(b), __FILE__, __LINE__, \
	               #a " == " #b)
#define CHECK_STR(a, b) \
	unit_check_str((a), (b), __FILE__, __LINE__, #a " == " #b)
/* hay holds needle */
#define CHECK_HAS(hay, needle) \
	unit_check_has((hay), (needle), __FILE__, __LINE__, \
	               #hay " contains " #needle)

#endif

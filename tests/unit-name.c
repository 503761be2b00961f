/* unit-name.c - names, store paths, addresses (name.c) and finding the
 * workdir (workdir.c). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "unit.h"

/* name refused with -errnum, and err.msg says something */
#define NAME_BAD(name, errnum) do {                                     \
	struct rh_err e_ = { "" };                                      \
	CHECK_EQ_INT(rh_name_check((name), &e_), -(errnum));            \
	CHECK(e_.msg[0] != '\0');                                       \
	CHECK_EQ_INT(rh_name_check((name), NULL), -(errnum));           \
} while (0)

#define PATH_BAD(path, errnum) do {                                     \
	struct rh_err e_ = { "" };                                      \
	CHECK_EQ_INT(rh_path_check((path), &e_), -(errnum));            \
	CHECK(e_.msg[0] != '\0');                                       \
} while (0)

static void
test_name_check(void)
{
	static const char *const good[] = {
		"a", "my-cluster", "model.v2", "a.b.c", ".hidden", "...",
		"-", "--x", "a b", "under_score", "~", "^", "@",
		"caf\xc3\xa9", "\xe6\xa8\xa1\xe5\x9e\x8b", "\xf0\x9f\x9a\x80",
		"config.json",
	};
	struct rh_err err;
	char name[300];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK_EQ_INT(rh_name_check(good[i], &err), 0);

	NAME_BAD("", EINVAL);
	NAME_BAD(".", EINVAL);
	NAME_BAD("..", EINVAL);
	NAME_BAD("a/b", EINVAL);
	NAME_BAD("/", EINVAL);
	NAME_BAD("a/", EINVAL);
	NAME_BAD("/a", EINVAL);
	NAME_BAD("a\x01", EINVAL);
	NAME_BAD("\x1f" "b", EINVAL);
	NAME_BAD("a\x7f" "b", EINVAL);
	NAME_BAD("a\nb", EINVAL);
	NAME_BAD("a\tb", EINVAL);
	NAME_BAD("a\rb", EINVAL);
	/* C1 controls (U+0085 is NEL, a line break to some readers) */
	NAME_BAD("a\xc2\x85" "b", EINVAL);
	NAME_BAD("\xc2\x80", EINVAL);
	NAME_BAD("a\xc2\x9f", EINVAL);
	CHECK_EQ_INT(rh_name_check("a\xc2\xa0" "b", &err), 0);
	/* invalid UTF-8: a stray continuation byte, a cut sequence, an
	 * overlong form, an encoded surrogate, Latin-1 */
	NAME_BAD("a\x80", EINVAL);
	NAME_BAD("a\xe6\xa8", EINVAL);
	NAME_BAD("\xc0\xae", EINVAL);
	NAME_BAD("\xed\xa0\x80", EINVAL);
	NAME_BAD("caf\xe9", EINVAL);
	memset(&err, 0, sizeof(err));
	rh_name_check("a\xc2\x85", &err);
	CHECK_HAS(err.msg, "control character U+0085");
	rh_name_check("caf\xe9", &err);
	CHECK_HAS(err.msg, "not valid UTF-8 (byte 0xe9)");
	PATH_BAD("a/b\xc2\x85/c", EINVAL);

	/* the messages name the cause */
	memset(&err, 0, sizeof(err));
	rh_name_check("x/y", &err);
	CHECK_HAS(err.msg, "'/'");
	CHECK_HAS(err.msg, "x/y");
	rh_name_check("x\x01", &err);
	CHECK_HAS(err.msg, "0x01");
	rh_name_check("x\x7f", &err);
	CHECK_HAS(err.msg, "0x7f");
	rh_name_check("..", &err);
	CHECK_HAS(err.msg, "'..'");
	rh_name_check("", &err);
	CHECK_HAS(err.msg, "empty");

	/* NAME_MAX: 255 bytes is a name, 256 is not */
	memset(name, 'x', 255);
	name[255] = '\0';
	CHECK_EQ_INT(rh_name_check(name, &err), 0);
	name[255] = 'x';
	name[256] = '\0';
	NAME_BAD(name, ENAMETOOLONG);
	rh_name_check(name, &err);
	CHECK_HAS(err.msg, "255");
	/* 255 bytes of multi-byte characters count as bytes */
	for (i = 0; i + 2 <= 254; i += 2)
		memcpy(name + i, "\xc3\xa9", 2);
	name[i] = 'x';
	name[i + 1] = '\0';
	CHECK_EQ_INT(strlen(name), 255);
	CHECK_EQ_INT(rh_name_check(name, &err), 0);
	name[i + 1] = 'y';
	name[i + 2] = '\0';
	CHECK_EQ_INT(rh_name_check(name, &err), -ENAMETOOLONG);
}

static void
test_path_check(void)
{
	struct rh_err err;
	char path[600];

	CHECK_EQ_INT(rh_path_check("", &err), 0);
	CHECK_EQ_INT(rh_path_check("a", &err), 0);
	CHECK_EQ_INT(rh_path_check("a/b", &err), 0);
	CHECK_EQ_INT(rh_path_check("a/b.c/d-e", &err), 0);
	CHECK_EQ_INT(rh_path_check("caf\xc3\xa9/x", &err), 0);

	PATH_BAD("a//b", EINVAL);
	PATH_BAD("/a", EINVAL);
	PATH_BAD("a/", EINVAL);
	PATH_BAD("/", EINVAL);
	PATH_BAD("a/../b", EINVAL);
	PATH_BAD("..", EINVAL);
	PATH_BAD("../a", EINVAL);
	PATH_BAD("a/..", EINVAL);
	PATH_BAD("a/./b", EINVAL);
	PATH_BAD(".", EINVAL);
	PATH_BAD("a/b\x01", EINVAL);
	PATH_BAD("a\n/b", EINVAL);

	/* each component is held to NAME_MAX, not the whole path */
	memset(path, 'p', 255);
	path[255] = '/';
	memset(path + 256, 'q', 255);
	path[511] = '\0';
	CHECK_EQ_INT(rh_path_check(path, &err), 0);
	path[511] = 'q';
	path[512] = '\0';
	PATH_BAD(path, ENAMETOOLONG);
	memset(path, 'p', 256);
	strcpy(path + 256, "/q");
	PATH_BAD(path, ENAMETOOLONG);
}

static void
test_paths(void)
{
	char *s;

	CHECK_STR(s = rh_path_join("", "a"), "a");
	free(s);
	CHECK_STR(s = rh_path_join("a", "b"), "a/b");
	free(s);
	CHECK_STR(s = rh_path_join("a/b", "c.d"), "a/b/c.d");
	free(s);

	CHECK_STR(rh_path_base("a/b/c"), "c");
	CHECK_STR(rh_path_base("c"), "c");
	CHECK_STR(rh_path_base(""), "");

	CHECK_STR(s = rh_path_dir("a/b/c"), "a/b");
	free(s);
	CHECK_STR(s = rh_path_dir("a/b"), "a");
	free(s);
	CHECK_STR(s = rh_path_dir("c"), "");
	free(s);
	CHECK_STR(s = rh_path_dir(""), "");
	free(s);

	CHECK_STR(s = rh_address("~", "a/b"), "~/a/b");
	free(s);
	CHECK_STR(s = rh_address("~", "x"), "~/x");
	free(s);
	CHECK_STR(s = rh_address("^", "rh-cpu"), "^rh-cpu");
	free(s);
	CHECK_STR(s = rh_address("", "alice/x"), "/alice/x");
	free(s);
	CHECK_STR(s = rh_address("/alice", "x"), "/alice/x");
	free(s);
	/* a store's root is its prefix; the remote root is "/" */
	CHECK_STR(s = rh_address("~", ""), "~");
	free(s);
	CHECK_STR(s = rh_address("^", ""), "^");
	free(s);
	CHECK_STR(s = rh_address("", ""), "/");
	free(s);

	CHECK_STR(s = rh_shell_quote("plain"), "'plain'");
	free(s);
	CHECK_STR(s = rh_shell_quote(""), "''");
	free(s);
	CHECK_STR(s = rh_shell_quote("it's $HOME"), "'it'\\''s $HOME'");
	free(s);
}

static void
mkdirs(const char *root, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel), *q;

	for (q = p + strlen(root) + 1; *q; q++) {
		if (*q == '/') {
			*q = '\0';
			mkdir(p, 0755);
			*q = '/';
		}
	}
	mkdir(p, 0755);
	free(p);
}

static char *
at(const char *root, const char *rel)
{
	return xasprintf("%s/%s", root, rel);
}

/* rh_workdir_find(root/start, root/home) is root/want; home "" is root */
#define WORKDIR(root, start, home, want) do {                           \
	char *s_ = at((root), (start));                                 \
	char *h_ = *(home) ? at((root), (home)) : xstrdup(root);         \
	char *w_ = at((root), (want));                                  \
	char *got_ = rh_workdir_find(s_, h_);                           \
	CHECK_STR(got_, w_);                                            \
	free(got_);                                                     \
	free(s_);                                                       \
	free(h_);                                                       \
	free(w_);                                                       \
} while (0)

static void
test_workdir(void)
{
	static const char *const files[] = {
		"requirements.txt", "setup.py", "pyproject.toml",
	};
	char *root = unit_tmpdir(), *p, *got, cwd[4096];
	size_t i;

	/* each marker, as a directory (rh, .git) or a file */
	mkdirs(root, "m-rh/rh");
	mkdirs(root, "m-rh/x/y");
	WORKDIR(root, "m-rh/x/y", "", "m-rh");
	WORKDIR(root, "m-rh", "", "m-rh");
	mkdirs(root, "m-git/.git");
	mkdirs(root, "m-git/x/y");
	WORKDIR(root, "m-git/x/y", "", "m-git");
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char rel[64];

		snprintf(rel, sizeof(rel), "m-%zu/x/y", i);
		mkdirs(root, rel);
		snprintf(rel, sizeof(rel), "m-%zu/%s", i, files[i]);
		p = at(root, rel);
		CHECK(unit_write(p, "", 0) == 0);
		free(p);
		snprintf(rel, sizeof(rel), "m-%zu/x/y", i);
		got = rh_workdir_find(p = at(root, rel), root);
		free(p);
		snprintf(rel, sizeof(rel), "m-%zu", i);
		CHECK_STR(got, p = at(root, rel));
		free(p);
		free(got);
	}
	/* .git as a file (a git worktree or submodule) counts too */
	mkdirs(root, "wt/sub");
	p = at(root, "wt/.git");
	CHECK(unit_write(p, "gitdir: /elsewhere\n", -1) == 0);
	free(p);
	WORKDIR(root, "wt/sub", "", "wt");

	/* the nearest marker wins */
	mkdirs(root, "near/a/b");
	p = at(root, "near/setup.py");
	unit_write(p, "", 0);
	free(p);
	p = at(root, "near/a/pyproject.toml");
	unit_write(p, "", 0);
	free(p);
	WORKDIR(root, "near/a/b", "", "near/a");

	/* the walk stops at home: a marker above it is not reached */
	mkdirs(root, "outer/home/p/q");
	p = at(root, "outer/requirements.txt");
	unit_write(p, "", 0);
	free(p);
	WORKDIR(root, "outer/home/p/q", "outer/home", "outer/home/p/q");
	WORKDIR(root, "outer/home/p/q", "", "outer");
	WORKDIR(root, "outer/home", "outer/home", "outer/home");

	/* nothing found: the start directory itself */
	mkdirs(root, "bare/a/b");
	WORKDIR(root, "bare/a/b", "", "bare/a/b");
	WORKDIR(root, "bare", "", "bare");

	/* a start directory given relative to the current one */
	if (getcwd(cwd, sizeof(cwd)) != NULL && chdir(root) == 0) {
		got = rh_workdir_find("m-rh/x/y", NULL);
		CHECK_STR(got, "m-rh");
		free(got);
		got = rh_workdir_find("bare", NULL);
		CHECK_STR(got, "bare");
		free(got);
		got = rh_workdir_find("bare/a/b", NULL);
		CHECK_STR(got, "bare/a/b");
		free(got);
		CHECK(chdir(cwd) == 0);
	}

	/* "/" ends the walk */
	got = rh_workdir_find("/", NULL);
	CHECK_STR(got, "/");
	free(got);

	unit_rmrf(root);
	free(root);
}

int
main(void)
{
	test_name_check();
	test_path_check();
	test_paths();
	test_workdir();
	return unit_done();
}

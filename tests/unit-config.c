/* unit-config.c - ~/.rh/config.yaml (config.c): Runhouse's keys, unknown
 * keys kept through a save, malformed files refused with FILE:LINE. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "unit.h"

static const char runhouse_yaml[] =
	"# written by runhouse\n"
	"default_folder: /alice\n"
	"default_provider: aws\n"
	"default_autostop: 60\n"
	"use_spot: false\n"
	"token: abc.DEF-123\n"
	"username: alice\n"
	"disable_data_collection: true\n"
	"rns_url: \"http://127.0.0.1:2379\"\n"
	"empty_value:\n"
	"tilde_value: ~\n"
	"quoted: 'it''s: quoted'\n"
	"unicode: caf\xc3\xa9\n"
	"secrets_extra:\n"
	"  aws:\n"
	"    region: us-east-1\n"
	"    profiles: [default, work]\n"
	"  depth: 2\n"
	"extra_list:\n"
	"  - one\n"
	"  - two: 2\n"
	"    three: [3, 3]\n"
	"  - - nested\n";

static char *dir;

static char *
file_in(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

/* Load path, which must fail with -EINVAL and "path:line: ...". */
static void
malformed(int line, const char *name, const char *yaml, int want_line)
{
	struct rh_config *c = (struct rh_config *)&c;     /* not NULL */
	struct rh_err err = { "" };
	char *path = file_in(name), want[4200];

	unit_write(path, yaml, -1);
	unit_check_int(rh_config_load(path, &c, &err), -EINVAL, __FILE__,
	               line, yaml);
	unit_check(c == NULL, __FILE__, line, "no config made");
	snprintf(want, sizeof(want), "%s:%d: ", path, want_line);
	if (!unit_check(strncmp(err.msg, want, strlen(want)) == 0 &&
	                strlen(err.msg) > strlen(want), __FILE__, line,
	                "err.msg is FILE:LINE: why"))
		fprintf(stderr, "     got \"%s\", want \"%s...\"\n", err.msg,
		        want);
	free(path);
}

#define MALFORMED(name, yaml, want_line) \
	malformed(__LINE__, (name), (yaml), (want_line))

static void
test_load(void)
{
	struct rh_config *c;
	struct rh_err err = { "" };
	char *path = file_in("config.yaml");

	CHECK(unit_write(path, runhouse_yaml, -1) == 0);
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	if (!CHECK(c != NULL))
		return;
	CHECK_STR(rh_config_get(c, "token"), "abc.DEF-123");
	CHECK_STR(rh_config_get(c, "username"), "alice");
	CHECK_STR(rh_config_get(c, "default_folder"), "/alice");
	CHECK_STR(rh_config_get(c, "default_provider"), "aws");
	CHECK_STR(rh_config_get(c, "default_autostop"), "60");
	CHECK_STR(rh_config_get(c, "use_spot"), "false");
	CHECK_STR(rh_config_get(c, "rns_url"), "http://127.0.0.1:2379");
	CHECK_STR(rh_config_get(c, "quoted"), "it's: quoted");
	CHECK_STR(rh_config_get(c, "unicode"), "caf\xc3\xa9");
	/* null values, values that are not scalars, absent keys */
	CHECK(rh_config_get(c, "empty_value") == NULL);
	CHECK(rh_config_get(c, "tilde_value") == NULL);
	CHECK(rh_config_get(c, "secrets_extra") == NULL);
	CHECK(rh_config_get(c, "extra_list") == NULL);
	CHECK(rh_config_get(c, "region") == NULL);
	CHECK(rh_config_get(c, "nope") == NULL);
	CHECK(rh_config_get(c, "") == NULL);
	/* keys are case-sensitive */
	CHECK(rh_config_get(c, "Token") == NULL);
	rh_config_free(c);
	free(path);
}

static void
test_missing_and_empty(void)
{
	struct rh_config *c;
	struct rh_err err = { "" };
	char *path = file_in("none/config.yaml");
	struct stat st;

	/* missing file: an empty config, no error */
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	if (!CHECK(c != NULL))
		return;
	CHECK(rh_config_get(c, "token") == NULL);
	CHECK_STR(err.msg, "");
	/* saving it makes the directory and the file, 0600 */
	rh_config_set(c, "username", "bob");
	CHECK_EQ_INT(rh_config_save(c, &err), 0);
	rh_config_free(c);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	CHECK_STR(rh_config_get(c, "username"), "bob");
	rh_config_free(c);
	free(path);

	/* empty documents */
	path = file_in("empty.yaml");
	unit_write(path, "", 0);
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	CHECK(c != NULL && rh_config_get(c, "token") == NULL);
	rh_config_free(c);
	unit_write(path, "# only a comment\n\n", -1);
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	CHECK(c != NULL);
	rh_config_free(c);
	unit_write(path, "~\n", -1);
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	CHECK(c != NULL);
	rh_config_free(c);
	free(path);
}

static void
test_malformed(void)
{
	struct rh_config *c;
	struct rh_err err;
	char *path;

	MALFORMED("m1.yaml", "a: b: c\n", 1);
	MALFORMED("m2.yaml", "token: t\nusername: u\nx: b: c\n", 3);
	/* tabs cannot indent YAML */
	MALFORMED("m3.yaml", "token: t\nnested:\n\tkey: v\n", 3);
	/* an unclosed flow sequence */
	MALFORMED("m4.yaml", "token: t\nlist: [1, 2", 2);
	MALFORMED("m5.yaml", "list: [1, 2\nnext: 3\n", 2);
	MALFORMED("m4b.yaml", "[1, 2", 1);
	MALFORMED("m4c.yaml", "a: [1, 2\n", 1);
	/* open at the end of the file: the line where it was opened */
	MALFORMED("m4d.yaml", "token: t\nlist: [1,\n  2,\n  3\n", 2);
	MALFORMED("m6b.yaml", "x: 1\ny: 'open\nz: 2\n", 2);
	MALFORMED("m6.yaml", "a: \"unterminated\n", 1);
	MALFORMED("m7.yaml", "a: 1\n b: 2\n", 2);
	MALFORMED("m8.yaml", "a: *undefined\n", 1);
	/* the top level must be a mapping */
	MALFORMED("m9.yaml", "- token\n- username\n", 1);
	MALFORMED("m10.yaml", "\n\n[a, b]\n", 3);
	MALFORMED("m11.yaml", "just a string\n", 1);
	MALFORMED("m12.yaml", "42\n", 1);
	/* keys are names */
	MALFORMED("m13.yaml", "token: t\n? [a, b]\n: c\n", 2);
	MALFORMED("m14.yaml", "token: t\n{a: 1}: c\n", 2);

	/* and what is refused says why */
	path = file_in("m9.yaml");
	rh_config_load(path, &c, &err);
	CHECK_HAS(err.msg, "mapping");
	free(path);
	path = file_in("m1.yaml");
	rh_config_load(path, &c, &err);
	CHECK_HAS(err.msg, "mapping values are not allowed");
	free(path);

	/* a directory is not a config file */
	c = NULL;
	CHECK(rh_config_load(dir, &c, &err) < 0);
	CHECK(c == NULL);
	CHECK_HAS(err.msg, dir);
}

static void
test_save(void)
{
	struct rh_config *c, *c2;
	struct rh_err err = { "" };
	char *path = file_in("save.yaml"), *text, *text2;
	struct stat st;

	unit_write(path, runhouse_yaml, -1);
	chmod(path, 0644);
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	if (!CHECK(c != NULL))
		return;
	rh_config_set(c, "token", "new-token");
	rh_config_set(c, "default_autostop", "30");
	rh_config_set(c, "new_key", "new: value with 'quotes' and #hash");
	rh_config_set(c, "secrets_extra", "now a scalar");
	rh_config_set(c, "username", NULL);
	CHECK_STR(rh_config_get(c, "token"), "new-token");
	CHECK(rh_config_get(c, "username") == NULL);
	CHECK_EQ_INT(rh_config_save(c, &err), 0);
	rh_config_free(c);

	/* credentials: 0600, whatever the file was before */
	CHECK(stat(path, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	/* no temp file left beside it */
	{
		DIR *d = opendir(dir);
		struct dirent *de;
		int temps = 0;

		while (d != NULL && (de = readdir(d)) != NULL)
			temps += strncmp(de->d_name, ".save.yaml", 10) == 0;
		if (d != NULL)
			closedir(d);
		CHECK_EQ_INT(temps, 0);
	}

	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	if (!CHECK(c != NULL))
		return;
	CHECK_STR(rh_config_get(c, "token"), "new-token");
	CHECK_STR(rh_config_get(c, "default_autostop"), "30");
	CHECK_STR(rh_config_get(c, "new_key"),
	          "new: value with 'quotes' and #hash");
	CHECK_STR(rh_config_get(c, "secrets_extra"), "now a scalar");
	CHECK(rh_config_get(c, "username") == NULL);
	/* unchanged keys */
	CHECK_STR(rh_config_get(c, "default_folder"), "/alice");
	CHECK_STR(rh_config_get(c, "default_provider"), "aws");
	CHECK_STR(rh_config_get(c, "use_spot"), "false");
	CHECK_STR(rh_config_get(c, "disable_data_collection"), "true");
	CHECK_STR(rh_config_get(c, "rns_url"), "http://127.0.0.1:2379");
	CHECK_STR(rh_config_get(c, "quoted"), "it's: quoted");
	CHECK_STR(rh_config_get(c, "unicode"), "caf\xc3\xa9");
	CHECK(rh_config_get(c, "empty_value") == NULL);
	CHECK(rh_config_get(c, "extra_list") == NULL);

	/* the unknown nested values, as they were */
	text = unit_read(path, NULL);
	CHECK_HAS(text, "extra_list:");
	CHECK_HAS(text, "- one");
	CHECK_HAS(text, "two: 2");
	CHECK_HAS(text, "three:");
	CHECK_HAS(text, "nested");
	CHECK_HAS(text, "caf\xc3\xa9");
	CHECK(strstr(text, "region") == NULL);  /* replaced by the scalar */

	/* saved again unchanged, the text is the same: nothing drifts */
	CHECK_EQ_INT(rh_config_save(c, &err), 0);
	text2 = unit_read(path, NULL);
	CHECK_STR(text2, text);
	free(text2);
	rh_config_free(c);
	free(text);

	/* the nested mapping itself survives a save of another key */
	unit_write(path, runhouse_yaml, -1);
	CHECK_EQ_INT(rh_config_load(path, &c, &err), 0);
	rh_config_set(c, "token", "t2");
	CHECK_EQ_INT(rh_config_save(c, &err), 0);
	rh_config_free(c);
	text = unit_read(path, NULL);
	CHECK_HAS(text, "secrets_extra:");
	CHECK_HAS(text, "region: us-east-1");
	CHECK_HAS(text, "profiles:");
	CHECK_HAS(text, "work");
	CHECK_HAS(text, "depth: 2");
	CHECK_HAS(text, "token: t2");
	CHECK(strstr(text, "abc.DEF-123") == NULL);
	free(text);
	/* and loads as the same structure: a mapping with these keys */
	CHECK_EQ_INT(rh_config_load(path, &c2, &err), 0);
	CHECK(c2 != NULL && rh_config_get(c2, "secrets_extra") == NULL);
	CHECK_STR(rh_config_get(c2, "token"), "t2");
	CHECK_STR(rh_config_get(c2, "default_autostop"), "60");
	rh_config_free(c2);

	/* an unwritable place: an error that names the file */
	{
		char *bad = file_in("save.yaml/sub/config.yaml");

		CHECK_EQ_INT(rh_config_load(bad, &c, &err), -ENOTDIR);
		CHECK_HAS(err.msg, bad);
		free(bad);
		bad = file_in("nodir1/nodir2/config.yaml");
		CHECK_EQ_INT(rh_config_load(bad, &c, &err), 0);
		rh_config_set(c, "token", "x");
		err.msg[0] = '\0';
		CHECK(rh_config_save(c, &err) < 0);
		CHECK_HAS(err.msg, bad);
		rh_config_free(c);
		free(bad);
	}
	free(path);
}

static void
test_default_path(void)
{
	char *p;

	setenv("HOME", "/home/someone", 1);
	setenv("RH_CONFIG", "/elsewhere/rh.yaml", 1);
	CHECK_STR(p = rh_config_default_path(), "/elsewhere/rh.yaml");
	free(p);
	setenv("RH_CONFIG", "", 1);
	CHECK_STR(p = rh_config_default_path(), "/home/someone/.rh/config.yaml");
	free(p);
	unsetenv("RH_CONFIG");
	CHECK_STR(p = rh_config_default_path(), "/home/someone/.rh/config.yaml");
	free(p);
}

int
main(void)
{
	dir = unit_tmpdir();
	test_load();
	test_missing_and_empty();
	test_malformed();
	test_save();
	test_default_path();
	unit_rmrf(dir);
	free(dir);
	return unit_done();
}

/* unit-store.c - the local store on a temp workdir (rns-local.c), the
 * builtins (rns-builtin.c) and the operations that keep configs valid
 * (store.c). */
#include "config.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "unit.h"

static char *work;              /* the workdir; the store is work/rh */

static char *
on_disk(const char *rel)
{
	return xasprintf("%s/rh%s%s", work, *rel ? "/" : "", rel);
}

static void
disk_mkdir(const char *rel)
{
	char *p = on_disk(rel);

	if (mkdir(p, 0755) < 0)
		perror(p);
	free(p);
}

static void
disk_write(const char *rel, const char *data)
{
	char *p = on_disk(rel);

	if (unit_write(p, data, -1) < 0)
		perror(p);
	free(p);
}

/* The bytes of rel on disk, or NULL. */
static char *
disk_read(const char *rel)
{
	char *p = on_disk(rel), *data = unit_read(p, NULL);

	free(p);
	return data;
}

static int
disk_exists(const char *rel)
{
	struct stat st;
	char *p = on_disk(rel);
	int r = lstat(p, &st) == 0;

	free(p);
	return r;
}

/* Entries of a directory on disk, other than . and .. */
static int
disk_count(const char *rel)
{
	char *p = on_disk(rel);
	DIR *d = opendir(p);
	struct dirent *de;
	int n = 0;

	free(p);
	while (d != NULL && (de = readdir(d)) != NULL)
		n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
	if (d != NULL)
		closedir(d);
	return n;
}

/* The string field key of rel's config.json on disk. */
static char *
disk_field(const char *rel, const char *key)
{
	char *path = xasprintf("%s/config.json", rel), *data, *s = NULL;
	const cJSON *v;
	cJSON *c;

	data = disk_read(path);
	free(path);
	if (data == NULL)
		return NULL;
	c = cJSON_Parse(data);
	v = cJSON_GetObjectItemCaseSensitive(c, key);
	if (cJSON_IsString(v))
		s = xstrdup(v->valuestring);
	cJSON_Delete(c);
	free(data);
	return s;
}

#define CHECK_FIELD(rel, key, want) do {                                \
	char *f_ = disk_field((rel), (key));                            \
	CHECK_STR(f_, (want));                                          \
	free(f_);                                                       \
} while (0)

/* What a list gave. */
struct seen {
	int n;
	char names[32][64];
	enum rh_kind kinds[32];
	int stop_after;         /* 0: never */
};

static int
collect(void *arg, const char *name, enum rh_kind kind)
{
	struct seen *s = arg;

	if (s->n < 32) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->kinds[s->n] = kind;
	}
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? -ECANCELED : 0;
}

/* kind of name in s, or -1 when not listed */
static int
kind_in(const struct seen *s, const char *name)
{
	int i;

	for (i = 0; i < s->n && i < 32; i++)
		if (strcmp(s->names[i], name) == 0)
			return (int)s->kinds[i];
	return -1;
}

static const char folder_cfg[] =
	"{\"resource_type\": \"folder\", \"path\": \"/data\"}";

static void
test_local_empty(struct rh_store *s)
{
	struct rh_stat st;
	struct seen seen = { 0 };
	char *root = on_disk("");

	CHECK_STR(s->prefix, "~");
	CHECK(!s->readonly);
	CHECK_STR(rh_store_local_root(s), root);
	free(root);

	/* rh/ is not there yet: the root is still a folder, and empty */
	CHECK(!disk_exists(""));
	CHECK_EQ_INT(s->ops->stat(s, "", &st), 0);
	CHECK_EQ_INT(st.kind, RH_FOLDER);
	CHECK_EQ_INT(s->ops->list(s, "", collect, &seen), 0);
	CHECK_EQ_INT(seen.n, 0);
	CHECK_EQ_INT(s->ops->stat(s, "x", &st), 0);
	CHECK_EQ_INT(st.kind, RH_ABSENT);
	CHECK_EQ_INT(s->ops->list(s, "x", collect, &seen), -ENOENT);
	{
		struct rh_buf b = { 0 };

		CHECK_EQ_INT(s->ops->get(s, "x", &b, NULL), -ENOENT);
		CHECK_EQ_INT(s->ops->get(s, "", &b, NULL), -ENOENT);
		rh_buf_free(&b);
	}
	CHECK_EQ_INT(s->ops->remove(s, "x"), -ENOENT);
	CHECK_EQ_INT(s->ops->rmdir(s, "x"), -ENOENT);
	/* nothing was made by looking */
	CHECK(!disk_exists(""));

	/* the first mkdir makes rh/ too */
	CHECK_EQ_INT(s->ops->mkdir(s, "a"), 0);
	CHECK(disk_exists("a"));
	CHECK_EQ_INT(s->ops->mkdir(s, "a"), -EEXIST);
	CHECK_EQ_INT(s->ops->mkdir(s, ""), -EEXIST);
	CHECK_EQ_INT(s->ops->mkdir(s, "no/such"), -ENOENT);
	CHECK_EQ_INT(s->ops->mkdir(s, "a/b"), 0);
	CHECK_EQ_INT(s->ops->stat(s, "a", &st), 0);
	CHECK_EQ_INT(st.kind, RH_FOLDER);
	CHECK_EQ_INT(s->ops->stat(s, "a/b", &st), 0);
	CHECK_EQ_INT(st.kind, RH_FOLDER);
	CHECK_EQ_INT(st.version, 0);
	CHECK(st.mtime.tv_sec != 0);
}

static void
test_local_put_get(struct rh_store *s)
{
	struct rh_buf b = { 0 };
	struct rh_stat st;
	struct rh_err err = { "" };
	uint64_t v1 = 0, v2 = 0;
	char *before, *after;
	const char *named = "{\"name\": \"r\", \"resource_type\": \"folder\", "
	                    "\"path\": \"/data\"}";

	CHECK_EQ_INT(s->ops->mkdir(s, "r"), 0);
	/* valid, without a name: stored with "name": "~/r" */
	CHECK_EQ_INT(rh_store_put_config(s, "r", folder_cfg,
	                                 strlen(folder_cfg), 0, &err), 0);
	CHECK_FIELD("r", "name", "~/r");
	CHECK_FIELD("r", "path", "/data");
	CHECK_EQ_INT(s->ops->stat(s, "r", &st), 0);
	CHECK_EQ_INT(st.kind, RH_RESOURCE);
	CHECK(st.version != 0);
	before = disk_read("r/config.json");
	CHECK_EQ_INT(st.config_size, before ? strlen(before) : 0);
	CHECK_EQ_INT(s->ops->get(s, "r", &b, &v1), 0);
	CHECK_STR(b.data, before);
	CHECK_EQ_INT(b.len, before ? strlen(before) : 0);
	CHECK(v1 == st.version);
	free(before);
	CHECK_EQ_INT(disk_count("r"), 1);

	/* valid with a fitting name: stored byte-for-byte */
	CHECK_EQ_INT(rh_store_put_config(s, "r", named, strlen(named), v1,
	                                 &err), 0);
	before = disk_read("r/config.json");
	CHECK_STR(before, named);
	CHECK_EQ_INT(s->ops->get(s, "r", &b, &v2), 0);
	CHECK(v2 != v1);
	/* a put that expects the old version is refused, and changes nothing */
	err.msg[0] = '\0';
	CHECK_EQ_INT(rh_store_put_config(s, "r", folder_cfg,
	                                 strlen(folder_cfg), v1, &err),
	             -EAGAIN);
	CHECK_HAS(err.msg, "~/r");
	after = disk_read("r/config.json");
	CHECK_STR(after, before);
	free(after);

	/* invalid: refused, previous bytes intact, no temp file left */
	{
		static const char *const bad[] = {
			"{\"resource_type\": \"blob\"}",
			"{\"resource_type\": \"folder\", \"path\": 5}",
			"not json",
			"{\"resource_type\": \"dataset\", \"path\": \"/d\"}",
			"[1, 2]",
			"",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			err.msg[0] = '\0';
			CHECK_EQ_INT(rh_store_put_config(s, "r", bad[i],
			             strlen(bad[i]), 0, &err), -EINVAL);
			CHECK_HAS(err.msg, "~/r");
			after = disk_read("r/config.json");
			CHECK_STR(after, before);
			free(after);
		}
		CHECK_EQ_INT(disk_count("r"), 1);
	}
	/* oversize: EFBIG, intact */
	{
		char *big = xmalloc(RH_CONFIG_MAX + 2);

		memset(big, ' ', RH_CONFIG_MAX + 1);
		memcpy(big, folder_cfg, strlen(folder_cfg));
		big[RH_CONFIG_MAX + 1] = '\0';
		CHECK_EQ_INT(rh_store_put_config(s, "r", big, RH_CONFIG_MAX + 1,
		                                 0, &err), -EFBIG);
		after = disk_read("r/config.json");
		CHECK_STR(after, before);
		free(after);
		free(big);
	}
	free(before);

	/* the name follows the directory it is written in */
	CHECK_EQ_INT(rh_store_put_config(s, "a/b", named, strlen(named), 0,
	                                 &err), 0);
	CHECK_FIELD("a/b", "name", "~/a/b");
	/* no directory: refused, nothing made */
	err.msg[0] = '\0';
	CHECK_EQ_INT(rh_store_put_config(s, "nodir", folder_cfg,
	                                 strlen(folder_cfg), 0, &err), -ENOENT);
	CHECK_HAS(err.msg, "~/nodir");
	CHECK(!disk_exists("nodir"));
	/* get of a folder: ENOENT */
	CHECK_EQ_INT(s->ops->get(s, "a", &b, NULL), -ENOENT);
	/* a config.json that is a directory is not a config */
	disk_mkdir("odd");
	disk_mkdir("odd/config.json");
	CHECK_EQ_INT(s->ops->get(s, "odd", &b, NULL), -ENOENT);
	CHECK_EQ_INT(s->ops->stat(s, "odd", &st), 0);
	CHECK_EQ_INT(st.kind, RH_FOLDER);
	rh_buf_free(&b);
}

static void
test_local_list(struct rh_store *s)
{
	struct seen seen = { 0 };
	struct rh_stat st;
	char *p, *q;

	/* on disk: r (resource), a (folder), odd (folder), and things that
	 * are not resources */
	disk_write("file.txt", "x");
	disk_write("config.json", folder_cfg);
	disk_mkdir("bad\x01name");
	disk_mkdir("bad\nname");
	p = on_disk("a");
	q = on_disk("link-to-a");
	CHECK(symlink(p, q) == 0);
	free(q);
	q = on_disk("dangling");
	CHECK(symlink("/nonexistent/x", q) == 0);
	free(q);
	q = on_disk("link-to-file");
	CHECK(symlink("file.txt", q) == 0);
	free(q);
	free(p);

	CHECK_EQ_INT(s->ops->list(s, "", collect, &seen), 0);
	CHECK_EQ_INT(kind_in(&seen, "r"), RH_RESOURCE);
	CHECK_EQ_INT(kind_in(&seen, "a"), RH_FOLDER);
	CHECK_EQ_INT(kind_in(&seen, "odd"), RH_FOLDER);
	CHECK_EQ_INT(kind_in(&seen, "link-to-a"), RH_FOLDER);
	CHECK_EQ_INT(kind_in(&seen, "file.txt"), -1);
	CHECK_EQ_INT(kind_in(&seen, "config.json"), -1);
	CHECK_EQ_INT(kind_in(&seen, "bad\x01name"), -1);
	CHECK_EQ_INT(kind_in(&seen, "bad\nname"), -1);
	CHECK_EQ_INT(kind_in(&seen, "dangling"), -1);
	CHECK_EQ_INT(kind_in(&seen, "link-to-file"), -1);
	CHECK_EQ_INT(kind_in(&seen, "."), -1);
	CHECK_EQ_INT(kind_in(&seen, ".."), -1);
	CHECK_EQ_INT(seen.n, 4);

	/* below a folder; a resource directory lists its subdirectories */
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ_INT(s->ops->list(s, "a", collect, &seen), 0);
	CHECK_EQ_INT(seen.n, 1);
	CHECK_EQ_INT(kind_in(&seen, "b"), RH_RESOURCE);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ_INT(s->ops->list(s, "r", collect, &seen), 0);
	CHECK_EQ_INT(seen.n, 0);
	/* a list stops where its callback says, with what it said */
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	CHECK_EQ_INT(s->ops->list(s, "", collect, &seen), -ECANCELED);
	CHECK_EQ_INT(seen.n, 2);
	/* a file is not a folder */
	CHECK_EQ_INT(s->ops->list(s, "file.txt", collect, &seen), -ENOTDIR);
	CHECK_EQ_INT(s->ops->stat(s, "file.txt", &st), 0);
	CHECK_EQ_INT(st.kind, RH_ABSENT);
	CHECK_EQ_INT(s->ops->stat(s, "file.txt/x", &st), 0);
	CHECK_EQ_INT(st.kind, RH_ABSENT);

	/* clean up what is not a resource */
	p = on_disk("file.txt");
	unlink(p);
	free(p);
	p = on_disk("config.json");
	unlink(p);
	free(p);
	p = on_disk("bad\x01name");
	rmdir(p);
	free(p);
	p = on_disk("bad\nname");
	rmdir(p);
	free(p);
	p = on_disk("link-to-a");
	unlink(p);
	free(p);
	p = on_disk("dangling");
	unlink(p);
	free(p);
	p = on_disk("link-to-file");
	unlink(p);
	free(p);
}

static void
test_local_remove(struct rh_store *s)
{
	struct rh_stat st;

	/* rmdir: only an empty folder */
	CHECK_EQ_INT(s->ops->rmdir(s, "r"), -ENOTEMPTY);
	CHECK(disk_exists("r/config.json"));
	CHECK_EQ_INT(s->ops->rmdir(s, "a"), -ENOTEMPTY);
	CHECK_EQ_INT(s->ops->rmdir(s, ""), -EBUSY);
	CHECK(disk_exists(""));
	/* remove: the resource becomes a folder */
	CHECK_EQ_INT(s->ops->remove(s, "r"), 0);
	CHECK(!disk_exists("r/config.json"));
	CHECK_EQ_INT(s->ops->stat(s, "r", &st), 0);
	CHECK_EQ_INT(st.kind, RH_FOLDER);
	CHECK_EQ_INT(s->ops->remove(s, "r"), -ENOENT);
	CHECK_EQ_INT(s->ops->rmdir(s, "r"), 0);
	CHECK(!disk_exists("r"));
	CHECK_EQ_INT(s->ops->stat(s, "r", &st), 0);
	CHECK_EQ_INT(st.kind, RH_ABSENT);
	CHECK_EQ_INT(s->ops->rmdir(s, "r"), -ENOENT);
	CHECK_EQ_INT(s->ops->remove(s, "odd"), -EISDIR);
}

/* Put a config at path with the given name field (NULL: none). */
static void
put_named(struct rh_store *s, const char *path, const char *name,
          const char *extra)
{
	struct rh_err err = { "" };
	char json[512];

	if (name != NULL)
		snprintf(json, sizeof(json), "{\"name\": \"%s\", "
		         "\"resource_type\": \"folder\", \"path\": \"/d\"%s}",
		         name, extra);
	else
		snprintf(json, sizeof(json), "{\"resource_type\": \"folder\", "
		         "\"path\": \"/d\"%s}", extra);
	if (CHECK_EQ_INT(s->ops->mkdir(s, path), 0))
		CHECK_EQ_INT(rh_store_put_config(s, path, json, strlen(json), 0,
		                                 &err), 0);
}

/* The config of rel on disk is valid, and stored as is, at its address. */
static void
valid_at(int line, const char *rel)
{
	char *path = xasprintf("%s/config.json", rel), *data, *out = NULL;
	char *addr;
	struct rh_err err = { "" };
	size_t outlen;

	data = disk_read(path);
	addr = rh_address("~", rel);
	unit_check(data != NULL &&
	           rh_config_check(addr, data, strlen(data), &out, &outlen,
	                           &err) == 0 && out == NULL,
	           __FILE__, line, rel);
	free(out);
	free(addr);
	free(data);
	free(path);
}

#define VALID_AT(rel) valid_at(__LINE__, (rel))

static void
test_local_rename(struct rh_store *s)
{
	struct rh_err err = { "" };
	struct rh_stat st;
	char *before, *after;

	/* a folder holding resources, with every style of name */
	CHECK_EQ_INT(s->ops->mkdir(s, "f"), 0);
	put_named(s, "f/r1", "~/f/r1", "");
	put_named(s, "f/r2", "r2", ", \"extra\": {\"k\": [1, 2]}");
	put_named(s, "f/r3", "~/f/r3", ", \"rns_address\": \"~/f/r3\"");
	CHECK_EQ_INT(s->ops->mkdir(s, "f/sub"), 0);
	put_named(s, "f/sub/deep", "~/f/sub/deep", "");
	put_named(s, "f/sub/deep/er", "er", "");
	CHECK_FIELD("f/r2", "name", "r2");

	CHECK_EQ_INT(s->ops->rename(s, "f", "g", 0), 0);
	CHECK(!disk_exists("f"));
	CHECK_FIELD("g/r1", "name", "~/g/r1");
	CHECK_FIELD("g/r2", "name", "r2");
	CHECK_FIELD("g/r3", "name", "~/g/r3");
	CHECK_FIELD("g/r3", "rns_address", "~/g/r3");
	CHECK_FIELD("g/sub/deep", "name", "~/g/sub/deep");
	CHECK_FIELD("g/sub/deep/er", "name", "er");
	VALID_AT("g/r1");
	VALID_AT("g/r2");
	VALID_AT("g/r3");
	VALID_AT("g/sub/deep");
	VALID_AT("g/sub/deep/er");
	/* what is not a name field is kept */
	before = disk_read("g/r2/config.json");
	CHECK_HAS(before, "\"extra\"");
	free(before);
	CHECK_EQ_INT(s->ops->stat(s, "g/sub", &st), 0);
	CHECK_EQ_INT(st.kind, RH_FOLDER);

	/* a resource renamed: its name, whichever style, follows */
	CHECK_EQ_INT(s->ops->rename(s, "g/r1", "moved1", 0), 0);
	CHECK_FIELD("moved1", "name", "~/moved1");
	CHECK_EQ_INT(s->ops->rename(s, "g/r2", "g/sub/moved2", 0), 0);
	CHECK_FIELD("g/sub/moved2", "name", "moved2");
	VALID_AT("g/sub/moved2");
	/* into another folder under the same last name: nothing to change */
	before = disk_read("g/sub/deep/er/config.json");
	CHECK_EQ_INT(s->ops->rename(s, "g/sub/deep/er", "g/er", 0), 0);
	after = disk_read("g/er/config.json");
	CHECK_STR(after, before);
	free(before);
	free(after);

	/* noreplace onto something that exists: EEXIST, both intact */
	before = disk_read("moved1/config.json");
	after = disk_read("g/r3/config.json");
	CHECK_EQ_INT(s->ops->rename(s, "moved1", "g/r3", 1), -EEXIST);
	CHECK(disk_exists("moved1/config.json"));
	{
		char *b2 = disk_read("moved1/config.json");
		char *a2 = disk_read("g/r3/config.json");

		CHECK_STR(b2, before);
		CHECK_STR(a2, after);
		free(b2);
		free(a2);
	}
	free(before);
	free(after);
	CHECK_EQ_INT(s->ops->mkdir(s, "empty"), 0);
	CHECK_EQ_INT(s->ops->rename(s, "moved1", "empty", 1), -EEXIST);
	CHECK(disk_exists("moved1/config.json"));
	/* onto a folder that is not empty, even replacing: refused */
	CHECK(s->ops->rename(s, "moved1", "g", 0) < 0);
	CHECK(disk_exists("moved1/config.json"));
	/* onto an empty folder, replacing: allowed */
	CHECK_EQ_INT(s->ops->rename(s, "moved1", "empty", 0), 0);
	CHECK_FIELD("empty", "name", "~/empty");
	/* bad renames */
	CHECK_EQ_INT(s->ops->rename(s, "nope", "x", 0), -ENOENT);
	CHECK_EQ_INT(s->ops->rename(s, "", "x", 0), -EBUSY);
	CHECK_EQ_INT(s->ops->rename(s, "g", "", 0), -EBUSY);
	CHECK_EQ_INT(s->ops->rename(s, "g", "g/sub/inside", 0), -EINVAL);
	CHECK_EQ_INT(s->ops->rename(s, "g", "nodir/x", 0), -ENOENT);
	CHECK(disk_exists("g/r3/config.json"));

	/* rh_store_move_config: mv a/config.json b/ */
	CHECK_EQ_INT(s->ops->mkdir(s, "dest"), 0);
	before = disk_read("g/r3/config.json");
	CHECK_EQ_INT(rh_store_move_config(s, "g/r3", "dest", &err), 0);
	CHECK(!disk_exists("g/r3/config.json"));
	CHECK(disk_exists("g/r3"));
	CHECK_FIELD("dest", "name", "~/dest");
	CHECK_FIELD("dest", "rns_address", "~/dest");
	VALID_AT("dest");
	free(before);
	/* from a folder: ENOENT, naming it */
	err.msg[0] = '\0';
	CHECK_EQ_INT(rh_store_move_config(s, "g/r3", "empty", &err), -ENOENT);
	CHECK_HAS(err.msg, "~/g/r3");
	CHECK_FIELD("empty", "name", "~/empty");
	/* to a missing directory: refused, the source intact */
	before = disk_read("dest/config.json");
	err.msg[0] = '\0';
	CHECK_EQ_INT(rh_store_move_config(s, "dest", "gone", &err), -ENOENT);
	CHECK_HAS(err.msg, "~/gone");
	after = disk_read("dest/config.json");
	CHECK_STR(after, before);
	free(after);
	free(before);
	/* an invalid config on disk is not carried along */
	CHECK_EQ_INT(s->ops->mkdir(s, "broken"), 0);
	disk_write("broken/config.json", "{\"resource_type\": 1}");
	err.msg[0] = '\0';
	CHECK_EQ_INT(rh_store_move_config(s, "broken", "g/r3", &err), -EINVAL);
	CHECK_HAS(err.msg, "~/g/r3");
	CHECK(disk_exists("broken/config.json"));
	CHECK(!disk_exists("g/r3/config.json"));
}

static const struct {
	const char *name;
	const char *instance_type;
} builtins[] = {
	{ "local", NULL },
	{ "rh-cpu", "CPU:2+" },
	{ "rh-8-cpu", "CPU:8+" },
	{ "rh-32-cpu", "CPU:32+" },
	{ "rh-gpu", "K80:1" },
	{ "rh-4-gpu", "K80:4" },
	{ "rh-8-gpu", "K80:8" },
	{ "rh-v100", "V100:1" },
	{ "rh-4-v100", "V100:4" },
	{ "rh-8-v100", "V100:8" },
};
#define NBUILTINS (sizeof(builtins) / sizeof(builtins[0]))

static char *
builtins_dir(void)
{
	const char *top = getenv("top_srcdir");

	if (top != NULL && *top != '\0')
		return xasprintf("%s/src/builtins", top);
	return xstrdup(RHFS_SOURCE_BUILTINS_DIR);
}

static void
test_builtin(void)
{
	char *dir = builtins_dir();
	struct rh_store *s = rh_store_builtin_new(dir);
	struct seen seen = { 0 };
	struct rh_err err = { "" };
	struct rh_buf b = { 0 };
	struct rh_stat st;
	size_t i;

	CHECK_STR(s->prefix, "^");
	CHECK(s->readonly);
	CHECK_EQ_INT(s->ops->stat(s, "", &st), 0);
	CHECK_EQ_INT(st.kind, RH_FOLDER);

	/* exactly the ten builtins */
	CHECK_EQ_INT(s->ops->list(s, "", collect, &seen), 0);
	CHECK_EQ_INT(seen.n, NBUILTINS);
	for (i = 0; i < NBUILTINS; i++) {
		const char *name = builtins[i].name;
		char *addr = rh_address("^", name), *out = NULL;
		const cJSON *v;
		cJSON *c;
		size_t outlen;
		uint64_t version = 0;

		CHECK_EQ_INT(kind_in(&seen, name), RH_RESOURCE);
		CHECK_EQ_INT(s->ops->stat(s, name, &st), 0);
		CHECK_EQ_INT(st.kind, RH_RESOURCE);
		if (!CHECK_EQ_INT(s->ops->get(s, name, &b, &version), 0)) {
			fprintf(stderr, "     builtin %s in %s\n", name, dir);
			free(addr);
			continue;
		}
		CHECK_EQ_INT(st.config_size, b.len);
		CHECK(version == st.version);
		/* valid, named by its ^address: stored as shipped */
		CHECK_EQ_INT(rh_config_check(addr, b.data, b.len, &out,
		                             &outlen, &err), 0);
		CHECK(out == NULL);
		free(out);
		c = cJSON_Parse(b.data);
		v = cJSON_GetObjectItemCaseSensitive(c, "name");
		CHECK(cJSON_IsString(v) && strcmp(v->valuestring, addr) == 0);
		v = cJSON_GetObjectItemCaseSensitive(c, "resource_type");
		CHECK(cJSON_IsString(v) &&
		      strcmp(v->valuestring, "cluster") == 0);
		v = cJSON_GetObjectItemCaseSensitive(c, "resource_subtype");
		if (builtins[i].instance_type == NULL) {
			/* ^local: this machine, a cluster with no SSH */
			CHECK(cJSON_IsString(v) &&
			      strcmp(v->valuestring, "Cluster") == 0);
			CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(c,
			      "ips")) == 1);
		} else {
			/* Runhouse's: on demand, provider null, no spot */
			CHECK(cJSON_IsString(v) && strcmp(v->valuestring,
			      "OnDemandCluster") == 0);
			v = cJSON_GetObjectItemCaseSensitive(c,
			                                     "instance_type");
			if (!CHECK(cJSON_IsString(v) && strcmp(v->valuestring,
			           builtins[i].instance_type) == 0))
				fprintf(stderr, "     %s\n", name);
			v = cJSON_GetObjectItemCaseSensitive(c, "provider");
			CHECK(cJSON_IsNull(v));
			v = cJSON_GetObjectItemCaseSensitive(c, "use_spot");
			CHECK(cJSON_IsFalse(v));
		}
		cJSON_Delete(c);
		free(addr);
	}

	/* what is not there */
	CHECK_EQ_INT(s->ops->stat(s, "nope", &st), 0);
	CHECK_EQ_INT(st.kind, RH_ABSENT);
	CHECK_EQ_INT(s->ops->stat(s, "rh-cpu/x", &st), 0);
	CHECK_EQ_INT(st.kind, RH_ABSENT);
	CHECK_EQ_INT(s->ops->stat(s, "../builtins/rh-cpu", &st), 0);
	CHECK_EQ_INT(st.kind, RH_ABSENT);
	CHECK_EQ_INT(s->ops->get(s, "nope", &b, NULL), -ENOENT);
	CHECK_EQ_INT(s->ops->get(s, "", &b, NULL), -ENOENT);
	CHECK_EQ_INT(s->ops->get(s, "rh-cpu/x", &b, NULL), -ENOENT);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ_INT(s->ops->list(s, "rh-cpu", collect, &seen), 0);
	CHECK_EQ_INT(seen.n, 0);
	CHECK_EQ_INT(s->ops->list(s, "nope", collect, &seen), -ENOENT);

	/* read-only, every way */
	CHECK_EQ_INT(s->ops->put(s, "rh-cpu", "{}", 2, 0), -EROFS);
	CHECK_EQ_INT(s->ops->mkdir(s, "new"), -EROFS);
	CHECK_EQ_INT(s->ops->rmdir(s, "rh-cpu"), -EROFS);
	CHECK_EQ_INT(s->ops->remove(s, "rh-cpu"), -EROFS);
	CHECK_EQ_INT(s->ops->rename(s, "rh-cpu", "mine", 0), -EROFS);
	CHECK_EQ_INT(s->ops->rename(s, "rh-cpu", "mine", 1), -EROFS);
	err.msg[0] = '\0';
	CHECK_EQ_INT(rh_store_put_config(s, "rh-cpu", folder_cfg,
	                                 strlen(folder_cfg), 0, &err), -EROFS);
	CHECK_HAS(err.msg, "^rh-cpu");
	/* even an invalid config: read-only is the first answer */
	CHECK_EQ_INT(rh_store_put_config(s, "rh-cpu", "x", 1, 0, &err),
	             -EROFS);
	err.msg[0] = '\0';
	CHECK_EQ_INT(rh_store_move_config(s, "rh-cpu", "rh-gpu", &err),
	             -EROFS);
	CHECK_HAS(err.msg, "^rh-gpu");
	/* and nothing changed */
	CHECK_EQ_INT(s->ops->get(s, "rh-cpu", &b, NULL), 0);
	CHECK_HAS(b.data, "CPU:2+");
	rh_buf_free(&b);
	rh_store_free(s);

	/* a builtins directory that is missing */
	s = rh_store_builtin_new("/nonexistent/builtins");
	CHECK_EQ_INT(s->ops->list(s, "", collect, &seen), -ENOENT);
	CHECK_EQ_INT(s->ops->stat(s, "", &st), -ENOENT);
	rh_store_free(s);
	free(dir);
}

int
main(void)
{
	struct rh_store *s;

	rh_log_init("unit-store", 1, RH_LOG_ERR);
	work = unit_tmpdir();
	s = rh_store_local_new(work);
	test_local_empty(s);
	test_local_put_get(s);
	test_local_list(s);
	test_local_remove(s);
	test_local_rename(s);
	rh_store_free(s);
	rh_store_free(NULL);
	test_builtin();
	unit_rmrf(work);
	free(work);
	return unit_done();
}

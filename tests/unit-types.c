/* unit-types.c - the rows of fs/types.c: which kind each (resource type,
 * file name) has, the names a resource lists, and what the kinds say of
 * themselves that ops.c goes by. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "rhfs.h"
#include "unit.h"

static void
test_rows(void)
{
	CHECK(types_row("send", "invoke") == &kind_invoke);
	CHECK(types_row("function", "invoke") == &kind_invoke);
	CHECK(types_row("send", "calls") == &kind_calls);
	CHECK(types_row("send", "errors") == &kind_errors);
	CHECK(types_row("send", "run") == NULL);
	CHECK(types_row("cluster", "status") == &kind_status);
	CHECK(types_row("cluster", "ctl") == &kind_cluster_ctl);
	CHECK(types_row("cluster", "run") == &kind_run);
	CHECK(types_row("cluster", "python") == &kind_python);
	CHECK(types_row("send", "python") == NULL);
	CHECK(types_row("cluster", "log") == &kind_cluster_log);
	CHECK(types_row("cluster", "invoke") == NULL);
	/* every other type shows errors; a secret's names are its fields */
	CHECK(types_row("table", "errors") == &kind_errors);
	CHECK(types_row("env", "errors") == &kind_errors);
	CHECK(types_row("secret", "errors") == NULL);
	/* not a resource: nothing */
	CHECK(types_row(NULL, "errors") == NULL);
	/* versions/ needs a resource to ask (the shared namespace's only) */
	CHECK(types_row("send", "versions") == NULL);
}

static void
test_names(void)
{
	const char *names[33];

	CHECK_EQ_INT(types_names("send", names), 3);
	CHECK_STR(names[0], "invoke");
	CHECK_STR(names[1], "calls");
	CHECK_STR(names[2], "errors");
	CHECK(names[3] == NULL);
	CHECK_EQ_INT(types_names("function", names), 3);
	CHECK_EQ_INT(types_names("cluster", names), 6);
	CHECK_STR(names[0], "status");
	CHECK_STR(names[3], "python");
	CHECK_STR(names[5], "errors");
	CHECK_EQ_INT(types_names("blob", names), 1);
	CHECK_STR(names[0], "errors");
	CHECK_EQ_INT(types_names("secret", names), 0);
	CHECK(names[0] == NULL);
	CHECK_EQ_INT(types_names(NULL, names), 0);
}

/* What ops.c reads of a kind, instead of testing names or types. */
static void
test_kinds(void)
{
	CHECK(kind_root.fmt == S_IFDIR && kind_root.lookup != NULL);
	CHECK(kind_root.create == NULL && kind_root.refuse == NULL);
	CHECK(kind_at.refuse != NULL && kind_at.readlink != NULL);
	CHECK(kind_store_dir.store_dir && kind_store_dir.rename != NULL);
	CHECK(kind_config.store_file && kind_config.close != NULL);
	CHECK(kind_scratch.store_file && kind_scratch.setattr != NULL);
	CHECK(kind_calls.fmt == S_IFDIR && kind_calls.readdir != NULL);
	CHECK(kind_versions.fmt == S_IFDIR && kind_versions.claims != NULL);
	CHECK(kind_invoke.nonseekable && kind_run.nonseekable);
	CHECK(kind_invoke.truncate == stream_truncate);
	/* python's program ends at a close or fsync too */
	CHECK(kind_python.nonseekable && kind_python.flush != NULL);
	CHECK(kind_run.flush == NULL);
	CHECK(kind_secret_field.claims != NULL &&
	      kind_secret_field.on_rename != NULL);
	CHECK(kind_secret_field.mode == 0600);
}

int
main(void)
{
	test_rows();
	test_names();
	test_kinds();
	return unit_done();
}

/* unit-log.c - the one logging entry point (log.c): every message is one
 * line in MOUNT/.log and on stderr, whatever a name or value holds. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "unit.h"

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int
main(void)
{
	char *dir = unit_tmpdir(), *path, *text;
	struct rh_buf b = { 0 };

	path = xasprintf("%s/stderr", dir);
	if (freopen(path, "w", stderr) == NULL)
		return 99;
	rh_log_init("rhfs", 1, RH_LOG_DEBUG);

	/* a value with a newline cannot start a line of its own */
	rh_warn("refused: ~/c: unknown resource_type '%s'",
	        "x\nrhfs: error: forged");
	rh_log_recent(&b);
	CHECK_EQ_INT(count_lines(b.data), 1);
	CHECK_HAS(b.data, "unknown resource_type 'x\\nrhfs: error: forged'");

	/* CR, tab, other C0, DEL, C1 (U+0085), invalid UTF-8 */
	b.len = 0;
	rh_info("a\rb\tc\x01" "d\x7f" "e\xc2\x85" "f\xff" "g\xc3");
	rh_log_recent(&b);
	CHECK_EQ_INT(count_lines(b.data), 2);
	CHECK_HAS(b.data, "a\\rb\\tc\\x01d\\x7fe\\u0085f\\xffg\\xc3\n");
	/* valid UTF-8 and backslashes stay as they are */
	b.len = 0;
	rh_info("caf\xc3\xa9 \xf0\x9f\x9a\x80 \\u0000");
	rh_log_recent(&b);
	CHECK_HAS(b.data, "caf\xc3\xa9 \xf0\x9f\x9a\x80 \\u0000\n");
	rh_buf_free(&b);

	/* stderr got the same lines, one each */
	fflush(stderr);
	text = unit_read(path, NULL);
	CHECK(text != NULL);
	CHECK_EQ_INT(count_lines(text), 3);
	CHECK_HAS(text, "rhfs: warning: refused: ~/c: unknown resource_type "
	          "'x\\nrhfs: error: forged'\n");
	free(text);
	unit_rmrf(dir);
	free(path);
	free(dir);
	return unit_done();
}

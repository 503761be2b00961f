/* unit-reclog.c - the log of ended calls' records (agent/reclog.c): a
 * call's latest line is its record, also across blocks; loading skips a
 * torn last line and lines that are no record, and compacts; compaction
 * keeps the latest line of each call, in id order, and appends go on
 * after it; a reopened log finds what was appended; memory is blocks of
 * lines, not a line each. Runs in a temp directory. */
#include "config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "agent.h"
#include "unit.h"

#define ID1 "20240501-120000-000001"
#define ID2 "20240501-120000-000002"
#define ID3 "20240501-120000-000003"
#define LINE(id, state) "{\"call\":\"" id "\",\"state\":\"" state "\"}\n"

static struct rh_buf gotbuf;

/* id's record in l, as text (valid until the next), or "" if none. */
static const char *
got(const struct reclog *l, const char *id)
{
	gotbuf.len = 0;
	if (reclog_get(l, id, &gotbuf) < 0)
		return "";
	return gotbuf.data;
}

static void
append(struct reclog *l, const char *id, const char *line)
{
	CHECK_EQ_INT(reclog_append(l, id, line, strlen(line)), 0);
}

static void
test_load(void)
{
	struct reclog l;
	struct rh_err err;
	char *text;
	char **ids = NULL;
	size_t n = 0;

	reclog_init(&l);
	/* a new log */
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK(!reclog_has(&l, ID1));
	CHECK_STR(got(&l, ID1), "");
	append(&l, ID2, LINE(ID2, "done"));
	append(&l, ID1, LINE(ID1, "failed"));
	CHECK(reclog_has(&l, ID1) && reclog_has(&l, ID2));
	CHECK_STR(got(&l, ID1), "{\"call\":\"" ID1 "\",\"state\":\"failed\"}");
	/* what is not one line of a valid id's record is refused */
	CHECK_EQ_INT(reclog_append(&l, "../x", LINE(ID3, "done"),
	                           strlen(LINE(ID3, "done"))), -EINVAL);
	CHECK_EQ_INT(reclog_append(&l, ID3, "{}", 2), -EINVAL);
	CHECK_EQ_INT(reclog_append(&l, ID3, "{}\n{}\n", 6), -EINVAL);
	CHECK(!reclog_has(&l, ID3));
	/* a later line wins */
	append(&l, ID2, LINE(ID2, "cancelled"));
	CHECK_STR(got(&l, ID2),
	          "{\"call\":\"" ID2 "\",\"state\":\"cancelled\"}");
	CHECK_EQ_INT(reclog_last_key(&l), record_id_time(ID2));
	ids = reclog_ids(&l, ids, &n);     /* as the lines lie */
	CHECK_EQ_INT(n, 3);
	CHECK(n == 3 && strcmp(ids[0], ID2) == 0 && strcmp(ids[1], ID1) == 0 &&
	      strcmp(ids[2], ID2) == 0);
	record_ids_free(ids, n);
	reclog_close(&l);

	/* reopened: the latest of each, compacted in id order since one
	 * line was superseded */
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK_STR(got(&l, ID2),
	          "{\"call\":\"" ID2 "\",\"state\":\"cancelled\"}");
	text = unit_read("records.log", NULL);
	CHECK_STR(text, LINE(ID1, "failed") LINE(ID2, "cancelled"));
	free(text);
	CHECK_EQ_INT(l.lines, 2);
	CHECK_EQ_INT(l.size, strlen(LINE(ID1, "failed") LINE(ID2, "cancelled")));
	/* appends go on after the compacted log, and are found */
	append(&l, ID3, LINE(ID3, "done"));
	CHECK_STR(got(&l, ID3), "{\"call\":\"" ID3 "\",\"state\":\"done\"}");
	CHECK_STR(got(&l, ID1), "{\"call\":\"" ID1 "\",\"state\":\"failed\"}");
	reclog_close(&l);

	/* a torn last line, a line that does not read, lines that are no
	 * record: skipped, the rest loads, and the log holds only records */
	CHECK_EQ_INT(unit_write("records.log",
	                        LINE(ID3, "done")
	                        "garbage\n"
	                        "\n"
	                        "{\"call\":\"../x\",\"state\":\"done\"}\n"
	                        "{\"state\":\"done\"}\n"
	                        "[1]\n"
	                        LINE(ID1, "done")
	                        "{\"call\":\"" ID2 "\",\"sta", -1), 0);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK_STR(got(&l, ID3), "{\"call\":\"" ID3 "\",\"state\":\"done\"}");
	CHECK_STR(got(&l, ID1), "{\"call\":\"" ID1 "\",\"state\":\"done\"}");
	CHECK(!reclog_has(&l, ID2));
	text = unit_read("records.log", NULL);
	CHECK_STR(text, LINE(ID1, "done") LINE(ID3, "done"));
	free(text);
	append(&l, ID2, LINE(ID2, "done"));
	reclog_close(&l);

	/* loading reads each line's id from its start and parses none: a
	 * line that starts and ends as a record is one (its reader finds
	 * whether it reads); one that does not start so is parsed, and
	 * skipped when it is no record */
	CHECK_EQ_INT(unit_write("records.log",
	                        "{\"call\":\"" ID1 "\",broken}\n"
	                        "{\"state\":\"done\",\"call\":\"" ID2 "\"}\n"
	                        "{\"call\":\"" ID3 "\",\"state\":\"done\"\n",
	                        -1), 0);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK_STR(got(&l, ID1), "{\"call\":\"" ID1 "\",broken}");
	CHECK_STR(got(&l, ID2), "{\"state\":\"done\",\"call\":\"" ID2 "\"}");
	CHECK(!reclog_has(&l, ID3));
	reclog_close(&l);

	/* a torn tail alone is cut, and the next append is a whole line */
	CHECK_EQ_INT(unit_write("records.log", LINE(ID1, "done") "{\"ca", -1),
	             0);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	append(&l, ID2, LINE(ID2, "done"));
	text = unit_read("records.log", NULL);
	CHECK_STR(text, LINE(ID1, "done") LINE(ID2, "done"));
	free(text);
	reclog_close(&l);

	/* a compaction the agent died in leaves a temporary: removed, the
	 * log as it was */
	CHECK_EQ_INT(unit_write("records.log.tmp", LINE(ID3, "done"), -1), 0);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK(access("records.log.tmp", F_OK) < 0);
	CHECK(!reclog_has(&l, ID3) && reclog_has(&l, ID2));
	reclog_close(&l);

	/* not a file we can open: an error naming it */
	CHECK(mkdir("dir.log", 0700) == 0);
	CHECK(reclog_open(&l, "dir.log", &err) < 0);
	CHECK_HAS(err.msg, "dir.log");
	reclog_close(&l);
}

/* Many calls, ended out of order as a map's are, over many blocks: each
 * found; memory is a block per 64 lines; a line appended for an early
 * call wins over its first; loading compacts to the latest of each. */
static void
test_many(void)
{
	struct reclog l;
	struct rh_err err;
	char id[32], line[256];
	struct stat st;
	int i, k, ok = 1;
	off_t live = 0;

	unlink("records.log");
	reclog_init(&l);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	for (i = 0; i < 20000; i++) {
		k = i % 2 ? i - 1 : i + 1;
		snprintf(id, sizeof(id), "20240501-120000-%06d", k);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"failed\",\"reason\":\"the first line\","
		         "\"n\":%d}\n", id, i);
		ok &= reclog_append(&l, id, line, strlen(line)) == 0;
	}
	CHECK(ok);
	CHECK_EQ_INT(l.lines, 20000);
	CHECK(l.nb >= 20000 / 64 && l.nb <= 20000 / 64 + 1);
	CHECK_EQ_INT(reclog_last_key(&l),
	             record_id_time("20240501-120000-019999"));
	for (i = 0; i < 20000 && ok; i += 7) {
		k = i % 2 ? i - 1 : i + 1;
		snprintf(id, sizeof(id), "20240501-120000-%06d", k);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"failed\",\"reason\":\"the first line\","
		         "\"n\":%d}", id, i);
		ok &= strcmp(got(&l, id), line) == 0;
	}
	CHECK(ok);
	CHECK(!reclog_has(&l, "20240501-120000-020000"));
	/* the first 100 again, later: the later lines win */
	for (i = 0; i < 100 && ok; i++) {
		snprintf(id, sizeof(id), "20240501-120000-%06d", i);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"done\",\"n\":%d}\n", id, 100000 + i);
		ok &= reclog_append(&l, id, line, strlen(line)) == 0;
		live += (off_t)strlen(line);
	}
	for (i = 0; i < 100 && ok; i++) {
		snprintf(id, sizeof(id), "20240501-120000-%06d", i);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"done\",\"n\":%d}", id, 100000 + i);
		ok &= strcmp(got(&l, id), line) == 0;
	}
	CHECK(ok);
	CHECK(stat("records.log", &st) == 0 && st.st_size == l.size);
	reclog_close(&l);
	/* loaded again: compacted, the latest of each in id order */
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK_EQ_INT(l.lines, 20000);
	for (i = 0; i < 20000; i++)
		live += (off_t)strlen("{\"call\":\"20240501-120000-000000\","
		                      "\"state\":\"failed\",\"reason\":"
		                      "\"the first line\",\"n\":}\n") +
		        (i < 10 ? 1 : i < 100 ? 2 : i < 1000 ? 3 :
		         i < 10000 ? 4 : 5);
	for (i = 0; i < 100; i++)       /* the first lines of those 100 */
		live -= (off_t)strlen("{\"call\":\"20240501-120000-000000\","
		                      "\"state\":\"failed\",\"reason\":"
		                      "\"the first line\",\"n\":}\n") +
		        ((i % 2 ? i - 1 : i + 1) < 10 ? 1 : 2);
	CHECK_EQ_INT(l.size, live);
	CHECK(stat("records.log", &st) == 0 && st.st_size == live);
	CHECK_STR(got(&l, "20240501-120000-000042"),
	          "{\"call\":\"20240501-120000-000042\",\"state\":\"done\","
	          "\"n\":100042}");
	CHECK_STR(got(&l, "20240501-120000-019999"),
	          "{\"call\":\"20240501-120000-019999\",\"state\":\"failed\","
	          "\"reason\":\"the first line\",\"n\":19998}");
	{
		char **ids = NULL;
		size_t n = 0;

		ids = reclog_ids(&l, ids, &n);
		CHECK_EQ_INT(n, 20000);
		CHECK(n == 20000 &&
		      strcmp(ids[0], "20240501-120000-000000") == 0 &&
		      strcmp(ids[19999], "20240501-120000-019999") == 0);
		record_ids_free(ids, n);
	}
	reclog_close(&l);
}

/* A line of 17 MiB, over a block's bytes: read whole,
 * also after compaction and as loaded again. */
static void
test_long(void)
{
	struct reclog l;
	struct rh_err err;
	size_t len = 17u * 1024 * 1024, head;
	char *line = malloc(len + 1);

	CHECK(line != NULL);
	if (line == NULL)
		return;
	unlink("records.log");
	head = (size_t)snprintf(line, len, "{\"call\":\"" ID2 "\","
	                        "\"state\":\"done\",\"reason\":\"");
	memset(line + head, 'x', len - head - 3);
	memcpy(line + len - 3, "\"}\n", 3);
	line[len] = '\0';
	reclog_init(&l);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	append(&l, ID1, LINE(ID1, "done"));
	CHECK_EQ_INT(reclog_append(&l, ID2, line, len), 0);
	append(&l, ID3, LINE(ID3, "done"));
	line[len - 1] = '\0';
	CHECK(strcmp(got(&l, ID2), line) == 0);
	CHECK_STR(got(&l, ID3), "{\"call\":\"" ID3 "\",\"state\":\"done\"}");
	append(&l, ID1, LINE(ID1, "failed"));
	reclog_close(&l);
	/* loaded again: compacted */
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK_STR(got(&l, ID3), "{\"call\":\"" ID3 "\",\"state\":\"done\"}");
	CHECK(strcmp(got(&l, ID2), line) == 0);
	CHECK_STR(got(&l, ID1), "{\"call\":\"" ID1 "\",\"state\":\"failed\"}");
	CHECK_EQ_INT(l.size, (off_t)len + 2 * (off_t)strlen(LINE(ID1, "done")) + 2);
	reclog_close(&l);
	free(line);
}

int
main(void)
{
	char *dir = unit_tmpdir();

	if (chdir(dir) < 0) {
		perror(dir);
		return 99;
	}
	rh_log_init("unit-reclog", 1, RH_LOG_ERR);
	test_load();
	test_many();
	test_long();
	rh_buf_free(&gotbuf);
	if (chdir("/") == 0)
		unit_rmrf(dir);
	free(dir);
	return unit_done();
}

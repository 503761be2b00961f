/* unit-reclog.c - the log of ended calls' records (agent/reclog.c): a
 * call's latest line is its record; loading skips a torn last line and
 * lines that are no record, and compacts; compaction keeps the latest
 * line of each call, in id order, and appends go on after it; a reopened
 * log finds what was appended. Runs in a temp directory. */
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
	ids = reclog_ids(&l, ids, &n);
	CHECK_EQ_INT(n, 2);
	CHECK(n == 2 && strcmp(ids[0], ID1) == 0 && strcmp(ids[1], ID2) == 0);
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
	CHECK_EQ_INT(l.dead, 0);
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

/* Many calls, each ended and some rewritten: tidy compacts only once the
 * dead bytes are many and outnumber the live, and keeps the latest. */
static void
test_compact(void)
{
	struct reclog l;
	struct rh_err err;
	char id[32], line[256];
	struct stat st;
	int i, ok = 1;

	unlink("records.log");
	reclog_init(&l);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	/* ended out of order, as calls of a map do */
	for (i = 0; i < 20000; i++) {
		int k = i % 2 ? i - 1 : i + 1;

		snprintf(id, sizeof(id), "20240501-120000-%06d", k);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"failed\",\"reason\":\"the first line\","
		         "\"n\":%d}\n", id, i);
		ok &= reclog_append(&l, id, line, strlen(line)) == 0;
	}
	CHECK(ok);
	CHECK_EQ_INT(l.n, 20000);
	CHECK_EQ_INT(l.dead, 0);
	/* a few rewritten: too few dead bytes to compact */
	for (i = 0; i < 100 && ok; i++) {
		snprintf(id, sizeof(id), "20240501-120000-%06d", i);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"failed\",\"n\":%d}\n", id, 100000 + i);
		ok &= reclog_append(&l, id, line, strlen(line)) == 0;
	}
	CHECK(ok);
	CHECK(l.dead > 0);
	CHECK_EQ_INT(reclog_tidy(&l), 0);
	CHECK(l.dead > 0 && l.size == l.live + l.dead);
	/* all rewritten: more dead bytes than live, and over 1 MiB */
	for (i = 100; i < 20000 && ok; i++) {
		snprintf(id, sizeof(id), "20240501-120000-%06d", i);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"failed\",\"n\":%d}\n", id, 100000 + i);
		ok &= reclog_append(&l, id, line, strlen(line)) == 0;
	}
	CHECK(ok);
	CHECK(l.dead > 1024 * 1024 && l.dead > l.live);
	CHECK(stat("records.log", &st) == 0 && st.st_size == l.size);
	CHECK_EQ_INT(reclog_tidy(&l), 0);
	CHECK_EQ_INT(l.dead, 0);
	CHECK(stat("records.log", &st) == 0 && st.st_size == l.live);
	for (i = 0; i < 20000 && ok; i++) {
		snprintf(id, sizeof(id), "20240501-120000-%06d", i);
		snprintf(line, sizeof(line), "{\"call\":\"%s\",\"state\":"
		         "\"failed\",\"n\":%d}", id, 100000 + i);
		ok &= strcmp(got(&l, id), line) == 0;
	}
	CHECK(ok);
	reclog_close(&l);
	/* and as loaded again */
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
	CHECK_EQ_INT(l.n, 20000);
	CHECK_EQ_INT(l.dead, 0);
	CHECK_STR(got(&l, "20240501-120000-019999"),
	          "{\"call\":\"20240501-120000-019999\",\"state\":\"failed\","
	          "\"n\":119999}");
	reclog_close(&l);
}

/* A line over what an index entry's length holds (16 MiB): read to its
 * newline, also after compaction and as loaded again. */
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
	CHECK_EQ_INT(reclog_compact(&l), 0);
	CHECK(strcmp(got(&l, ID2), line) == 0);
	CHECK_STR(got(&l, ID3), "{\"call\":\"" ID3 "\",\"state\":\"done\"}");
	reclog_close(&l);
	CHECK_EQ_INT(reclog_open(&l, "records.log", &err), 0);
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
	test_compact();
	test_long();
	rh_buf_free(&gotbuf);
	if (chdir("/") == 0)
		unit_rmrf(dir);
	free(dir);
	return unit_done();
}

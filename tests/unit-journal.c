/* unit-journal.c - the agent's journal of calls not ended (agent/record.c)
 * as a restarted agent loads it: the last line of each call wins, ended
 * and cleared calls are dropped, torn or foreign lines are skipped, and
 * what is left comes in id order. Then the journal as the agent keeps it:
 * rewritten at start, appended a line at a time, emptied when no call is
 * active. Runs in a temp directory, as the agent does in its own. */
#include "config.h"

#include <cjson/cJSON.h>
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
#define ID4 "20240501-120000-000004"

/* The journal loaded, as compact JSON (a new allocation). */
static char *
loaded(void)
{
	cJSON *recs = record_journal_load();
	char *text;

	CHECK(cJSON_IsArray(recs));
	text = rh_json_print(recs, 0);
	cJSON_Delete(recs);
	return text;
}

static void
want(const char *journal, const char *recs)
{
	char *got;

	if (journal != NULL)
		CHECK_EQ_INT(unit_write("journal", journal, -1), 0);
	got = loaded();
	if (!CHECK_STR(got, recs) && journal != NULL)
		fprintf(stderr, "     journal:\n%s", journal);
	cJSON_free(got);
}

static void
test_ids(void)
{
	CHECK(rh_call_id_valid(ID1));
	CHECK(!rh_call_id_valid("20240501-120000-00001"));
	CHECK(!rh_call_id_valid("20240501-120000-0000011"));
	CHECK(!rh_call_id_valid("20240501_120000-000001"));
	CHECK(!rh_call_id_valid("2024050a-120000-000001"));
	CHECK(!rh_call_id_valid("../../../etc/passwd-xx"));
	CHECK(!rh_call_id_valid(""));
	CHECK_EQ_INT(record_id_time("19700101-000001-000002"), 1000002);
	CHECK_EQ_INT(record_id_time(ID1), 1714564800000001ULL);
}

static void
test_active(void)
{
	cJSON *r;

	r = cJSON_Parse("{\"call\": \"" ID1 "\", \"state\": \"queued\"}");
	CHECK(record_is_active(r));
	cJSON_Delete(r);
	r = cJSON_Parse("{\"call\": \"" ID1 "\", \"state\": \"running\"}");
	CHECK(record_is_active(r));
	cJSON_Delete(r);
	r = cJSON_Parse("{\"call\": \"" ID1 "\", \"state\": \"done\"}");
	CHECK(!record_is_active(r));
	cJSON_Delete(r);
	r = cJSON_Parse("{\"call\": \"" ID1 "\", \"state\": \"running\", "
	                "\"active\": false}");
	CHECK(!record_is_active(r));
	cJSON_Delete(r);
	r = cJSON_Parse("{\"call\": \"" ID1 "\", \"state\": 1}");
	CHECK(!record_is_active(r));
	cJSON_Delete(r);
	r = cJSON_Parse("{\"call\": \"" ID1 "\"}");
	CHECK(!record_is_active(r));
	cJSON_Delete(r);
}

static void
test_load(void)
{
	/* none yet: nothing to recover */
	unlink("journal");
	want(NULL, "[]");
	want("", "[]");

	/* the last line of a call wins: queued, then running */
	want("{\"call\":\"" ID1 "\",\"state\":\"queued\"}\n"
	     "{\"call\":\"" ID1 "\",\"state\":\"running\",\"pid\":7}\n",
	     "[{\"call\":\"" ID1 "\",\"state\":\"running\",\"pid\":7}]");

	/* in id order, whatever the order of the lines */
	want("{\"call\":\"" ID3 "\",\"state\":\"queued\"}\n"
	     "{\"call\":\"" ID1 "\",\"state\":\"queued\"}\n"
	     "{\"call\":\"" ID2 "\",\"state\":\"running\"}\n",
	     "[{\"call\":\"" ID1 "\",\"state\":\"queued\"},"
	     "{\"call\":\"" ID2 "\",\"state\":\"running\"},"
	     "{\"call\":\"" ID3 "\",\"state\":\"queued\"}]");

	/* a call that ended, or was cleared, is not recovered, even when an
	 * earlier line had it running; one that ran again after a clear is */
	want("{\"call\":\"" ID1 "\",\"state\":\"running\"}\n"
	     "{\"call\":\"" ID2 "\",\"state\":\"running\"}\n"
	     "{\"call\":\"" ID3 "\",\"state\":\"running\"}\n"
	     "{\"call\":\"" ID1 "\",\"state\":\"done\",\"exit\":0}\n"
	     "{\"call\":\"" ID2 "\",\"active\":false}\n"
	     "{\"call\":\"" ID4 "\",\"active\":false}\n"
	     "{\"call\":\"" ID4 "\",\"state\":\"queued\"}\n",
	     "[{\"call\":\"" ID3 "\",\"state\":\"running\"},"
	     "{\"call\":\"" ID4 "\",\"state\":\"queued\"}]");

	/* a line torn by the machine going down is skipped: the line
	 * before it counts, also without its newline at the end */
	want("{\"call\":\"" ID1 "\",\"state\":\"queued\"}\n"
	     "{\"call\":\"" ID1 "\",\"state\":\"do",
	     "[{\"call\":\"" ID1 "\",\"state\":\"queued\"}]");
	want("{\"call\":\"" ID1 "\",\"state\":\"queued\"}",
	     "[{\"call\":\"" ID1 "\",\"state\":\"queued\"}]");

	/* lines that are no call's record are skipped */
	want("\n"
	     "[1,2]\n"
	     "\"" ID2 "\"\n"
	     "{\"state\":\"running\"}\n"
	     "{\"call\":7,\"state\":\"running\"}\n"
	     "{\"call\":\"../x\",\"state\":\"running\"}\n"
	     "{\"call\":\"" ID2 "\",\"state\":\"running\",\"a\":1,\"a\":2}\n"
	     "{\"call\":\"" ID3 "\",\"state\":\"running\"}\n"
	     "garbage\n",
	     "[{\"call\":\"" ID3 "\",\"state\":\"running\"}]");

	/* many lines, many calls: each call's last line, in order */
	{
		FILE *f = fopen("journal", "w");
		char *got;
		int i, ok = 1;
		cJSON *recs, *r;

		CHECK(f != NULL);
		if (f == NULL)
			return;
		for (i = 0; i < 3000; i++)
			fprintf(f, "{\"call\":\"20240501-120000-%06d\","
			        "\"state\":\"%s\",\"n\":%d}\n", i % 1000,
			        i % 1000 % 2 ? "running" : "queued", i);
		fclose(f);
		recs = record_journal_load();
		CHECK_EQ_INT(cJSON_GetArraySize(recs), 1000);
		i = 0;
		cJSON_ArrayForEach(r, recs) {
			char id[32];

			snprintf(id, sizeof(id), "20240501-120000-%06d", i);
			ok &= strcmp(rh_json_str(r, "call"), id) == 0 &&
			      cJSON_GetObjectItem(r, "n")->valueint == 2000 + i;
			i++;
		}
		CHECK(ok);
		got = rh_json_print(cJSON_GetArrayItem(recs, 999), 0);
		CHECK_STR(got, "{\"call\":\"20240501-120000-000999\","
		          "\"state\":\"running\",\"n\":2999}");
		cJSON_free(got);
		cJSON_Delete(recs);
	}
}

/* The journal as the agent keeps it, with no call running or queued. */
static void
test_keep(void)
{
	static char dir[] = "agent";
	struct agent a;
	struct rh_err err;
	struct stat st;
	char *text;

	memset(&a, 0, sizeof(a));
	a.dir = dir;
	a.records.jfd = -1;
	CHECK_EQ_INT(unit_write("journal",
	                        "{\"call\":\"" ID1 "\",\"state\":\"queued\"}\n",
	                        -1), 0);
	/* opened at start: written anew with the calls the agent holds */
	CHECK_EQ_INT(record_journal_open(&a, &err), 0);
	CHECK(stat("journal", &st) == 0 && st.st_size == 0);
	want(NULL, "[]");

	/* a call found ended after a restart: one whole line */
	record_clear_active(&a, ID2);
	text = unit_read("journal", NULL);
	CHECK_STR(text, "{\"call\":\"" ID2 "\",\"active\":false}\n");
	free(text);
	want(NULL, "[]");

	/* nothing active: not emptied at once (a sequence of calls would
	 * truncate it after each), but by a tidy 100 ms on */
	CHECK(record_journal_tidy(&a) > 0);
	CHECK(stat("journal", &st) == 0 && st.st_size > 0);
	usleep(150 * 1000);
	CHECK_EQ_INT(record_journal_tidy(&a), -1);
	CHECK(stat("journal", &st) == 0 && st.st_size == 0);
	/* and appending goes on at its (new) end */
	record_clear_active(&a, ID3);
	text = unit_read("journal", NULL);
	CHECK_STR(text, "{\"call\":\"" ID3 "\",\"active\":false}\n");
	free(text);
	close(a.records.jfd);
}

int
main(void)
{
	char *dir = unit_tmpdir();

	if (chdir(dir) < 0) {
		perror(dir);
		return 99;
	}
	rh_log_init("unit-journal", 1, RH_LOG_WARN);
	test_ids();
	test_active();
	test_load();
	test_keep();
	if (chdir("/") == 0)
		unit_rmrf(dir);
	free(dir);
	return unit_done();
}

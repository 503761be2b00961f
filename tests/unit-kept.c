/* unit-kept.c - res_at's kept configs (fs/types.c): a config read once
 * is given again while the store's version of it is unchanged, and read
 * again whenever it changes (rewritten in place at the same size,
 * replaced by rename, removed), past the few that are kept. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"
#include "unit.h"

static struct fs fs;
static char *work;

/* c's config: a cluster whose one ip is ip */
static void
put(const char *c, const char *ip)
{
	char path[4300], dir[4200];

	snprintf(dir, sizeof(dir), "%s/rh/%s", work, c);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/config.json", dir);
	snprintf(dir, sizeof(dir), "{\"resource_type\": \"cluster\", "
	         "\"ips\": [\"%s\"]}", ip);
	CHECK(unit_write(path, dir, -1) == 0);
}

/* the ip res_at gives for ~/c, or "" */
static void
check_ip(const char *c, const char *want)
{
	char addr[64];
	cJSON *cfg = NULL, *ips;
	struct rh_err err;
	int r;

	snprintf(addr, sizeof(addr), "~/%s", c);
	r = res_at(&fs, addr, &cfg, &err);
	if (want == NULL) {
		CHECK_EQ_INT(r, -ENOENT);
		CHECK(cfg == NULL);
		return;
	}
	CHECK_EQ_INT(r, 0);
	ips = cJSON_GetObjectItemCaseSensitive(cfg, "ips");
	CHECK_STR(cJSON_IsArray(ips) && cJSON_IsString(ips->child) ?
	          ips->child->valuestring : "", want);
	cJSON_Delete(cfg);
}

int
main(void)
{
	char path[4200], from[4200], name[32];
	FILE *f;
	int i;

	work = unit_tmpdir();
	snprintf(path, sizeof(path), "%s/rh", work);
	CHECK(mkdir(path, 0755) == 0);
	fs.local = rh_store_local_new(work);
	pthread_mutex_init(&fs.kept_lock, NULL);

	put("c", "a");
	check_ip("c", "a");
	check_ip("c", "a");     /* kept */

	/* rewritten in place, the same size: its time changes (file times
	 * move in steps of the kernel's clock tick, a few ms) */
	usleep(20000);
	snprintf(path, sizeof(path), "%s/rh/c/config.json", work);
	CHECK((f = fopen(path, "r+")) != NULL);
	if (f != NULL) {
		fseek(f, -4, SEEK_END);
		fputc('b', f);
		fclose(f);
	}
	check_ip("c", "b");

	/* replaced by a rename */
	snprintf(from, sizeof(from), "%s/rh/c/new", work);
	CHECK(unit_write(from, "{\"resource_type\": \"cluster\", "
	                 "\"ips\": [\"c\"]}", -1) == 0);
	CHECK(rename(from, path) == 0);
	check_ip("c", "c");

	/* more than are kept: each still its own */
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		put(name, name);
	}
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		check_ip(name, name);
	}
	for (i = 39; i >= 0; i--) {
		snprintf(name, sizeof(name), "n%d", i);
		check_ip(name, name);
	}
	check_ip("c", "c");

	/* removed: not given from what was kept */
	CHECK(unlink(path) == 0);
	check_ip("c", NULL);

	res_kept_free(&fs);
	rh_store_free(fs.local);
	pthread_mutex_destroy(&fs.kept_lock);
	unit_rmrf(work);
	free(work);
	return unit_done();
}

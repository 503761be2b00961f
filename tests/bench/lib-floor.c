/*
 * lib-floor - the resident memory that the shared libraries rhfs links
 * cost a process that loads them and does nothing else: the floor under
 * rhfs's idle RSS, for tests/bench/memory.sh. It names one function of
 * each library rhfs links, so that each is loaded as it is for rhfs
 * (with the libraries they pull in and their initializers), calls none,
 * and prints
 *
 *   VMRSS_KIB RSSANON_KIB RSSFILE_KIB
 *
 * from /proc/self/status; then opens libcurl and runs its
 * curl_global_init, as rhfs's etcd client does when it is first made, and
 * prints the same three figures again on a second line; then opens
 * libxml2 too, as the S3 store does, and prints them on a third.
 */
#include "config.h"

#define FUSE_USE_VERSION 312
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <fuse_lowlevel.h>
#include <libssh2.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* the kB figure of status line name, or -1 */
static long
status_kib(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, name, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

int
main(void)
{
	/* one function of each library, named but not called: each is
	 * loaded (and is needed at link time) as for rhfs, and none runs */
	static void (*const volatile named[])(void) = {
		(void (*)(void))cJSON_Version,
		(void (*)(void))yaml_get_version_string,
		(void (*)(void))libssh2_version,
		(void (*)(void))OpenSSL_version,
		(void (*)(void))fuse_pkgversion,
	};
	CURLcode (*global_init)(long);
	void *curl;
	size_t i;

	for (i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (named[i] == NULL)
			return 1;
	printf("%ld %ld %ld\n", status_kib("VmRSS"), status_kib("RssAnon"),
	       status_kib("RssFile"));
	if ((curl = dlopen(RH_CURL_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL ||
	    (*(void **)&global_init = dlsym(curl, "curl_global_init")) ==
	    NULL || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	printf("%ld %ld %ld\n", status_kib("VmRSS"), status_kib("RssAnon"),
	       status_kib("RssFile"));
	if (dlopen(RH_XML_SONAME, RTLD_NOW | RTLD_LOCAL) == NULL)
		return 1;
	printf("%ld %ld %ld\n", status_kib("VmRSS"), status_kib("RssAnon"),
	       status_kib("RssFile"));
	return 0;
}

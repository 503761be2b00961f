/*
 * curl.c - libcurl, loaded at first use (see dl.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>

#include "dl.h"

#define DEFINE(f) __typeof__(f) *sym_##f;
RH_CURL_SYMS(DEFINE)

#define ENTRY(f) { #f, (void **)&sym_##f },
static const struct rh_dl_sym syms[] = { RH_CURL_SYMS(ENTRY) };

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256];           /* empty: loaded */

static void
load(void)
{
	CURLcode rc;

	if (rh_dl_open(RH_CURL_SONAME, syms, sizeof(syms) / sizeof(syms[0]),
	               why, sizeof(why)) < 0)
		return;
	if ((rc = sym_curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK)
		snprintf(why, sizeof(why), "%s", sym_curl_easy_strerror(rc));
}

int
rh_curl_load(const char *what, struct rh_err *err)
{
	pthread_once(&once, load);
	if (why[0] != '\0')
		return rh_err_set(err, EIO, "%s: libcurl: %s", what, why);
	return 0;
}

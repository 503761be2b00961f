/*
 * curl.c - libcurl, loaded at first use (see dl.h).
 */
#include "config.h"

#include <stdio.h>

#include "dl.h"

#define DEFINE(f) __typeof__(f) *sym_##f;
RH_CURL_SYMS(DEFINE)

#define ENTRY(f) { #f, (void **)&sym_##f },
static const struct rh_dl_sym syms[] = { RH_CURL_SYMS(ENTRY) };

static void
init(char *why, size_t size)
{
	CURLcode rc = sym_curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK)
		snprintf(why, size, "%s", sym_curl_easy_strerror(rc));
}

static struct rh_dl_lib lib = {
	RH_CURL_SONAME, "libcurl", syms, sizeof(syms) / sizeof(syms[0]), init,
	0, ""
};

int
rh_curl_load(const char *what, struct rh_err *err)
{
	return rh_dl_load(&lib, what, err);
}

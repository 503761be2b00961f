/*
 * libxml.c - libxml2, loaded at first use (see dl.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>

#include "dl.h"

#define DEFINE(f) __typeof__(f) *sym_##f;
RH_XML_SYMS(DEFINE)
static xmlFreeFunc *free_var;   /* libxml2's xmlFree */

#define ENTRY(f) { #f, (void **)&sym_##f },
static const struct rh_dl_sym syms[] = {
	RH_XML_SYMS(ENTRY)
	{ "xmlFree", (void **)&free_var },
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256];           /* empty: loaded */

static void
load(void)
{
	if (rh_dl_open(RH_XML_SONAME, syms, sizeof(syms) / sizeof(syms[0]),
	               why, sizeof(why)) == 0)
		sym_xmlInitParser();
}

int
rh_xml_load(const char *what, struct rh_err *err)
{
	pthread_once(&once, load);
	if (why[0] != '\0')
		return rh_err_set(err, EIO, "%s: libxml2: %s", what, why);
	return 0;
}

void
sym_xmlFree(void *p)
{
	(*free_var)(p);
}

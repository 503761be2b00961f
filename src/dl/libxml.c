/*
 * libxml.c - libxml2, loaded at first use (see dl.h).
 */
#include "config.h"

#include "dl.h"

#define DEFINE(f) __typeof__(f) *sym_##f;
RH_XML_SYMS(DEFINE)
static xmlFreeFunc *free_var;   /* libxml2's xmlFree */

#define ENTRY(f) { #f, (void **)&sym_##f },
static const struct rh_dl_sym syms[] = {
	RH_XML_SYMS(ENTRY)
	{ "xmlFree", (void **)&free_var },
};

static void
init(char *why, size_t size)
{
	sym_xmlInitParser();
}

static struct rh_dl_lib lib = {
	RH_XML_SONAME, "libxml2", syms, sizeof(syms) / sizeof(syms[0]), init,
	0, ""
};

int
rh_xml_load(const char *what, struct rh_err *err)
{
	return rh_dl_load(&lib, what, err);
}

void
sym_xmlFree(void *p)
{
	(*free_var)(p);
}

/*
 * dl.h - libcurl and libxml2, loaded when first needed.
 *
 * A mount that reaches no etcd and no S3 store never uses either
 * library, yet linking them would map them and the two dozen libraries
 * they pull in (TLS, Kerberos, LDAP, ICU, the C++ runtime) into every
 * rhfs at start: about 6.5 MiB of its resident memory. So rhfs does not
 * link them. The etcd client and the S3 store call rh_curl_load() (and
 * the S3 store rh_xml_load()) before their first use, and then reach
 * each function through a pointer of the same name with "sym_" in
 * front, filled from the loaded library.
 */
#ifndef RH_DL_H
#define RH_DL_H

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "base.h"

/* dl.c: a library opened once, at its first rh_dl_load: by soname, each
 * of syms filled from it, then init (NULL: none) run, which writes why
 * it failed in why (size bytes). 0, or -1 with err saying why, named
 * after what (the resource that needed it) and the library's label. */
struct rh_dl_sym {
	const char *name;
	void **ptr;
};
struct rh_dl_lib {
	const char *soname, *label;
	const struct rh_dl_sym *syms;
	size_t nsyms;
	void (*init)(char *why, size_t size);
	int tried;              /* dl.c's lock */
	char why[256];          /* empty: loaded */
};
int rh_dl_load(struct rh_dl_lib *lib, const char *what, struct rh_err *err);

/* curl.c: load libcurl (once; curl_global_init too). 0, or -1 with err
 * saying why, named after what (the resource that needed it). */
int rh_curl_load(const char *what, struct rh_err *err);

#define RH_CURL_SYMS(X) \
	X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) \
	X(curl_easy_perform) X(curl_easy_setopt) X(curl_easy_strerror) \
	X(curl_easy_unescape) X(curl_free) X(curl_getdate) \
	X(curl_global_init) X(curl_multi_add_handle) X(curl_multi_cleanup) \
	X(curl_multi_info_read) X(curl_multi_init) X(curl_multi_perform) \
	X(curl_multi_poll) X(curl_multi_remove_handle) X(curl_multi_wakeup) \
	X(curl_share_cleanup) X(curl_share_init) X(curl_share_setopt) \
	X(curl_slist_append) X(curl_slist_free_all)

/* libxml.c: load libxml2 (once; xmlInitParser too), as rh_curl_load. */
int rh_xml_load(const char *what, struct rh_err *err);

#define RH_XML_SYMS(X) \
	X(xmlDocDumpMemory) X(xmlDocGetRootElement) X(xmlDocSetRootElement) \
	X(xmlFreeDoc) X(xmlInitParser) X(xmlNewChild) X(xmlNewDoc) \
	X(xmlNewNode) X(xmlNewTextChild) X(xmlNodeGetContent) \
	X(xmlReadMemory) X(xmlStrcmp)
/* xmlFree is a variable of libxml2's (its allocator's free) */
void sym_xmlFree(void *p);

#define RH_DL_EXTERN(f) extern __typeof__(f) *sym_##f;
RH_CURL_SYMS(RH_DL_EXTERN)
RH_XML_SYMS(RH_DL_EXTERN)

#endif

/*
 * dl.c - a shared library opened at run time, its functions looked up
 * by name.
 */
#include "config.h"

#include <dlfcn.h>
#include <stdio.h>

#include "dl.h"

int
rh_dl_open(const char *lib, const struct rh_dl_sym *syms, size_t n,
           char *why, size_t size)
{
	void *h;
	size_t i;

	/* never closed: the pointers stay good for the process's life */
	if ((h = dlopen(lib, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(why, size, "%s", dlerror());
		return -1;
	}
	for (i = 0; i < n; i++)
		if ((*syms[i].ptr = dlsym(h, syms[i].name)) == NULL) {
			snprintf(why, size, "%s has no %s", lib, syms[i].name);
			return -1;
		}
	return 0;
}

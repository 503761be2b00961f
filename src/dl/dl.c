/*
 * dl.c - a shared library opened at run time, its functions looked up
 * by name.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "dl.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void
open_lib(struct rh_dl_lib *lib)
{
	void *h;
	size_t i;

	/* never closed: the pointers stay good for the process's life */
	if ((h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		snprintf(lib->why, sizeof(lib->why), "%s", dlerror());
		return;
	}
	for (i = 0; i < lib->nsyms; i++)
		if ((*lib->syms[i].ptr = dlsym(h, lib->syms[i].name)) == NULL) {
			snprintf(lib->why, sizeof(lib->why), "%s has no %s",
			         lib->soname, lib->syms[i].name);
			return;
		}
	if (lib->init != NULL)
		lib->init(lib->why, sizeof(lib->why));
}

int
rh_dl_load(struct rh_dl_lib *lib, const char *what, struct rh_err *err)
{
	pthread_mutex_lock(&lock);
	if (!lib->tried) {
		lib->tried = 1;
		open_lib(lib);
	}
	pthread_mutex_unlock(&lock);
	if (lib->why[0] != '\0')
		return rh_err_set(err, EIO, "%s: %s: %s", what, lib->label,
		                  lib->why);
	return 0;
}

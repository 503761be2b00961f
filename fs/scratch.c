/* scratch.c - temporary files that editors and tools make beside
 * config.json (vim's swap and backup files, sed -i's temp file). They live
 * in memory, never in the store; renaming one onto config.json stores its
 * content if it is a valid config. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

struct scratch *
scratch_find(struct fs *fs, struct rh_store *s, const char *path)
{
	struct scratch *sc;

	for (sc = fs->scratches; sc != NULL; sc = sc->next)
		if (sc->store == s && strcmp(sc->path, path) == 0)
			return sc;
	return NULL;
}

struct scratch *
scratch_new(struct fs *fs, struct rh_store *s, const char *path,
            unsigned mode)
{
	struct scratch *sc = xcalloc(1, sizeof(*sc));

	sc->store = s;
	sc->path = xstrdup(path);
	sc->mode = mode & 07777;
	clock_gettime(CLOCK_REALTIME, &sc->mtime);
	sc->ctime = sc->mtime;
	sc->refs = 1;           /* the list's */
	sc->next = fs->scratches;
	fs->scratches = sc;
	return sc;
}

void
scratch_put(struct scratch *sc)
{
	if (--sc->refs > 0)
		return;
	rh_buf_free(&sc->data);
	free(sc->path);
	free(sc);
}

void
scratch_unlink(struct fs *fs, struct scratch *sc)
{
	struct scratch **pp;

	for (pp = &fs->scratches; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == sc) {
			*pp = sc->next;
			scratch_put(sc);
			return;
		}
	}
}

/* A directory moved: so do the temp files inside it. */
void
scratch_rename_dir(struct fs *fs, struct rh_store *s, const char *from,
                   const char *to)
{
	struct scratch *sc;
	size_t n = strlen(from);
	char *p;

	for (sc = fs->scratches; sc != NULL; sc = sc->next) {
		if (sc->store != s || strncmp(sc->path, from, n) != 0 ||
		    sc->path[n] != '/')
			continue;
		p = xasprintf("%s%s", to, sc->path + n);
		free(sc->path);
		sc->path = p;
	}
}

int
scratch_list(struct fs *fs, struct rh_store *s, const char *dir,
             rh_list_cb cb, void *arg)
{
	struct scratch *sc;
	size_t n = strlen(dir);
	int r;

	for (sc = fs->scratches; sc != NULL; sc = sc->next) {
		const char *name = sc->path + (n ? n + 1 : 0);

		if (sc->store != s || strncmp(sc->path, dir, n) != 0 ||
		    (n && sc->path[n] != '/') || strchr(name, '/') != NULL)
			continue;
		if ((r = cb(arg, name, RH_ABSENT)) != 0)
			return r;
	}
	return 0;
}

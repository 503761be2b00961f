/* watch.c - `~`'s folders and resources changed on the disk beside the
 * mount (an editor, git, a script in rh/): an inotify watch on the
 * directory of each one the kernel holds, so that the kernel may keep
 * their entries and attributes until the disk changes
 * (WATCHED_CACHE_SECS) and is told to drop them as soon as it does. A
 * resource whose config.json has other hard links is not held so: a
 * write through another link is no event of this directory (the stat
 * that finds the links makes its token blind).
 *
 * A directory's watch is added before the stat whose attributes the
 * kernel is given (watch_begin), and tied to the node once it exists
 * (watch_set, under fs->lock): the node counts as watched only if no
 * change was taken in between (fs->watch_seq), so that one that came
 * between the stat and the node is not lost. A change taken later finds
 * the node, and the kernel's own attribute versions drop a reply in
 * flight. Events of a watch name the nodes tied to it: for a name in
 * the directory, its entry, the directory's attributes and listing, and
 * the node of that name; for the directory itself (its attributes, its
 * removal), the directory. A queue that overflowed drops all of `~`. A
 * watch lasts while its directory does (its nodes come and go: a lookup
 * may be tying a new one while the last one is forgotten), so there are
 * at most as many as there are folders and resources looked up; when
 * the directory goes, its nodes are not watched and are asked again.
 *
 * On a network file system (NFS, SMB, a FUSE mount...) a change made on
 * another machine is not seen: nothing is watched there, and the cache
 * time is -o timeout's. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

/* what changes a folder's or resource's entries or attributes: not
 * IN_MODIFY (each write; its close is enough) */
#define MASK (IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | \
              IN_DELETE_SELF | IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO | \
              IN_ONLYDIR | IN_DONT_FOLLOW)
#define NBUCKETS 1024

/* A watch and the nodes tied to it (a directory may have two names). */
struct wentry {
	int wd;
	fuse_ino_t *inos;
	size_t n;
	struct wentry *next;
};

struct watcher {
	int fd;                 /* inotify */
	int stop[2];            /* a pipe: written to stop */
	pthread_t thread;
	char *root;             /* the local store's directory on disk */
	struct wentry *by_wd[NBUCKETS];         /* fs->lock */
};

/* Whether changes to the directory at path are seen by inotify: not on
 * a file system that other machines change. */
static int
watchable(const char *path)
{
	static const long remote[] = {
		0x6969,                 /* NFS */
		0x517b,                 /* SMB */
		(long)0xff534d42,       /* CIFS */
		(long)0xfe534d42,       /* SMB2 */
		0x65735546,             /* FUSE */
		0x00c36400,             /* Ceph */
		0x01021997,             /* 9P */
		0x5346414f,             /* AFS */
		0x0bd00bd0,             /* Lustre */
		0x47504653,             /* GPFS */
		0x013111a8,             /* IBRIX */
		0x19830326,             /* FhGFS/BeeGFS */
		0x73757245,             /* Coda */
	};
	struct statfs sf;
	size_t i;

	if (statfs(path, &sf) < 0)
		return 0;
	for (i = 0; i < sizeof(remote) / sizeof(remote[0]); i++)
		if ((long)sf.f_type == remote[i])
			return 0;
	return 1;
}

static struct wentry **
slot(struct watcher *w, int wd)
{
	struct wentry **pp = &w->by_wd[(unsigned)wd % NBUCKETS];

	while (*pp != NULL && (*pp)->wd != wd)
		pp = &(*pp)->next;
	return pp;
}

/* The entry of wd (made if make), fs->lock held. */
static struct wentry *
entry_of(struct watcher *w, int wd, int make)
{
	struct wentry **pp = slot(w, wd);

	if (*pp == NULL && make) {
		*pp = xcalloc(1, sizeof(**pp));
		(*pp)->wd = wd;
	}
	return *pp;
}

static void
entry_free(struct watcher *w, int wd)
{
	struct wentry **pp = slot(w, wd), *e = *pp;

	if (e == NULL)
		return;
	*pp = e->next;
	free(e->inos);
	free(e);
}

/* n is no longer tied to its watch (fs->lock). */
void
watch_node_gone(struct fs *fs, struct node *n)
{
	struct watcher *w = fs->watcher;
	struct wentry *e;
	size_t i;

	n->watched = 0;
	if (n->wd > 0 && w != NULL && (e = entry_of(w, n->wd, 0)) != NULL)
		for (i = 0; i < e->n; i++)
			if (e->inos[i] == n->ino) {
				e->inos[i] = e->inos[--e->n];
				break;
			}
	n->wd = 0;
}

int
watch_have(struct fs *fs, const struct node *n, struct watch_tok *t)
{
	t->seq = fs->watch_seq;
	t->blind = 0;
	t->wd = n != NULL && fs->watcher != NULL ? n->wd : 0;
	return t->wd > 0;
}

void
watch_begin(struct fs *fs, const struct rh_store *s, const char *path,
            struct watch_tok *t)
{
	struct watcher *w = fs->watcher;
	char *p;

	t->wd = 0;
	t->blind = 0;
	t->seq = __atomic_load_n(&fs->watch_seq, __ATOMIC_ACQUIRE);
	if (w == NULL || s != fs->local)
		return;
	p = *path ? rh_path_join(w->root, path) : xstrdup(w->root);
	t->wd = inotify_add_watch(w->fd, p, MASK);
	if (t->wd < 0) {
		if (errno == ENOSPC)
			rh_debug("%s: not watched (no more inotify watches): "
			         "kept %g s", p, fs->opts.timeout);
		t->wd = 0;
	}
	free(p);
}

void
watch_set(struct fs *fs, struct node *n, const struct watch_tok *t)
{
	struct watcher *w = fs->watcher;
	struct wentry *e;
	size_t i;

	if (w == NULL || t->wd <= 0) {
		n->watched = 0;
		return;
	}
	if (n->wd != t->wd) {
		watch_node_gone(fs, n);
		e = entry_of(w, t->wd, 1);
		for (i = 0; i < e->n && e->inos[i] != n->ino; i++)
			;
		if (i == e->n) {
			e->inos = xrealloc(e->inos,
			                   (e->n + 1) * sizeof(*e->inos));
			e->inos[e->n++] = n->ino;
		}
		n->wd = t->wd;
	}
	n->watched = !t->blind && t->seq == fs->watch_seq;
}

int
watch_holds(const struct fs *fs, const struct node *n)
{
	if (fs->watcher == NULL || n->store != fs->local)
		return 0;
	if (n->kind == &kind_config)
		return n->parent->watched;
	if (n->kind != &kind_store_dir || !n->watched)
		return 0;
	/* its entry: the folder it is in is watched too (`~` itself is
	 * the mount's, which never changes) */
	return n->parent->store != n->store || n->parent->watched;
}

/* What an event on a watch tied to dir drops (fs->lock held). */
static void
changed(struct fs *fs, struct node *dir, const struct inotify_event *ev)
{
	struct node *c;

	if (ev->len > 0 && ev->name[0] != '\0') {
		/* what the mount never shows (a temp file's name) */
		if (strcmp(ev->name, "config.json") != 0 &&
		    rh_name_check(ev->name, NULL) < 0)
			return;
		notify_entry(fs, dir->ino, ev->name);
		notify_inode(fs, dir->ino);
		if ((c = node_lookup(fs, dir, ev->name)) != NULL)
			notify_inode(fs, c->ino);
		return;
	}
	notify_inode(fs, dir->ino);
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
		if (dir->parent != NULL && dir->hashed)
			notify_entry(fs, dir->parent->ino, dir->name);
}

/* Every node of `~`: the queue overflowed, what changed is not known. */
static void
changed_all(struct fs *fs)
{
	struct node *m;
	size_t i;

	for (i = 0; i < fs->nbuckets; i++)
		for (m = fs->by_ino[i]; m != NULL; m = m->ino_next)
			if (m->store == fs->local) {
				m->watched = 0;
				notify_inode(fs, m->ino);
				if (m->parent != NULL && m->hashed)
					notify_entry(fs, m->parent->ino,
					             m->name);
			}
}

static void
take(struct fs *fs, const char *buf, size_t len)
{
	struct watcher *w = fs->watcher;
	const struct inotify_event *ev;
	struct wentry *e;
	struct node *n;
	size_t off, i;

	pthread_mutex_lock(&fs->lock);
	__atomic_add_fetch(&fs->watch_seq, 1, __ATOMIC_RELEASE);
	for (off = 0; off + sizeof(*ev) <= len;
	     off += sizeof(*ev) + ev->len) {
		ev = (const struct inotify_event *)(const void *)(buf + off);
		if (ev->mask & IN_Q_OVERFLOW) {
			rh_debug("~: too many changes at once: all of it "
			         "asked again");
			changed_all(fs);
			continue;
		}
		if ((e = entry_of(w, ev->wd, 0)) == NULL)
			continue;
		for (i = 0; i < e->n; i++) {
			if ((n = node_find(fs, e->inos[i])) == NULL)
				continue;
			changed(fs, n, ev);
			if (ev->mask & IN_IGNORED) {
				/* the directory went: not watched */
				n->watched = 0;
				n->wd = 0;
			}
		}
		if (ev->mask & IN_IGNORED)
			entry_free(w, ev->wd);
	}
	pthread_mutex_unlock(&fs->lock);
}

static void *
run(void *arg)
{
	struct fs *fs = arg;
	struct watcher *w = fs->watcher;
	struct pollfd p[2];
	/* a few hundred events a read (a name has at most NAME_MAX) */
	char buf[16384] __attribute__((aligned(8)));
	ssize_t got;

	p[0].fd = w->fd;
	p[0].events = POLLIN;
	p[1].fd = w->stop[0];
	p[1].events = POLLIN;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rh_warn("~: watching the disk: %s", strerror(errno));
			break;
		}
		if (p[1].revents != 0)
			break;
		got = read(w->fd, buf, sizeof(buf));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0)
			break;
		take(fs, buf, (size_t)got);
	}
	return NULL;
}

void
watch_start(struct fs *fs)
{
	const char *root = rh_store_local_root(fs->local);
	struct watcher *w;
	int r;

	if (fs->opts.timeout <= 0 ||
	    !watchable(access(root, F_OK) == 0 ? root : fs->opts.local)) {
		rh_debug("~: %s is not watched: kept %g s", root,
		         fs->opts.timeout);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd < 0 || pipe2(w->stop, O_CLOEXEC) < 0) {
		rh_warn("~: cannot watch %s (%s): kept %g s", root,
		        strerror(errno), fs->opts.timeout);
		if (w->fd >= 0)
			close(w->fd);
		free(w);
		return;
	}
	w->root = xstrdup(root);
	fs->watcher = w;
	if ((r = pthread_create(&w->thread, NULL, run, fs)) != 0) {
		fs->watcher = NULL;
		close(w->fd);
		close(w->stop[0]);
		close(w->stop[1]);
		free(w->root);
		free(w);
		rh_warn("~: cannot watch %s (%s): kept %g s", root,
		        strerror(r), fs->opts.timeout);
	}
}

/* Stopped before the notifier (it queues there); the nodes' watch
 * fields mean nothing after. */
void
watch_stop(struct fs *fs)
{
	struct watcher *w = fs->watcher;
	struct wentry *e;
	size_t i;

	if (w == NULL)
		return;
	if (write(w->stop[1], "", 1) < 0)
		rh_debug("~: stopping the watch: %s", strerror(errno));
	pthread_join(w->thread, NULL);
	pthread_mutex_lock(&fs->lock);
	fs->watcher = NULL;
	for (i = 0; i < NBUCKETS; i++)
		while ((e = w->by_wd[i]) != NULL) {
			w->by_wd[i] = e->next;
			free(e->inos);
			free(e);
		}
	pthread_mutex_unlock(&fs->lock);
	close(w->fd);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w->root);
	free(w);
}

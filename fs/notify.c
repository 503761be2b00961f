/* notify.c - kernel cache invalidations from a thread of their own: the
 * kernel may hold locks while it waits for the reply to the request that
 * caused the change, so a handler must never notify by itself. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rhfs.h"

struct item {
	fuse_ino_t ino;         /* inode, or parent when name is set */
	char *name;
	struct item *next;
};

struct notifier {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head, **tail;
	int stop;
};

/* The kernel is told to drop what it holds of the item's node: so is
 * held_until, first. */
static void
node_dropped(struct fs *fs, const struct item *it)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, it->ino);
	if (n != NULL && it->name != NULL)
		n = node_lookup(fs, n, it->name);
	if (n != NULL)
		n->held_until = 0;
	pthread_mutex_unlock(&fs->lock);
}

static void *
run(void *arg)
{
	struct fs *fs = arg;
	struct notifier *nt = fs->notifier;
	struct item *it;
	int r;

	pthread_mutex_lock(&nt->lock);
	for (;;) {
		while (nt->head == NULL && !nt->stop)
			pthread_cond_wait(&nt->cond, &nt->lock);
		if (nt->head == NULL)
			break;
		it = nt->head;
		nt->head = it->next;
		if (nt->head == NULL)
			nt->tail = &nt->head;
		pthread_mutex_unlock(&nt->lock);
		node_dropped(fs, it);
		if (it->name != NULL)
			r = fuse_lowlevel_notify_inval_entry(fs->se, it->ino,
			                                     it->name,
			                                     strlen(it->name));
		else
			r = fuse_lowlevel_notify_inval_inode(fs->se, it->ino,
			                                     0, 0);
		if (r < 0 && r != -ENOENT)
			rh_debug("cache invalidation of inode %lu: %s",
			         (unsigned long)it->ino, strerror(-r));
		free(it->name);
		free(it);
		pthread_mutex_lock(&nt->lock);
	}
	pthread_mutex_unlock(&nt->lock);
	return NULL;
}

int
notify_start(struct fs *fs)
{
	struct notifier *nt = xcalloc(1, sizeof(*nt));
	int r;

	pthread_mutex_init(&nt->lock, NULL);
	pthread_cond_init(&nt->cond, NULL);
	nt->tail = &nt->head;
	fs->notifier = nt;
	if ((r = pthread_create(&nt->thread, NULL, run, fs)) != 0) {
		fs->notifier = NULL;
		free(nt);
		return -r;
	}
	return 0;
}

void
notify_stop(struct fs *fs)
{
	struct notifier *nt = fs->notifier;
	struct item *it;

	if (nt == NULL)
		return;
	pthread_mutex_lock(&nt->lock);
	nt->stop = 1;
	/* after unmount the kernel no longer listens: drop what is queued */
	while ((it = nt->head) != NULL) {
		nt->head = it->next;
		free(it->name);
		free(it);
	}
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
	pthread_join(nt->thread, NULL);
	pthread_mutex_destroy(&nt->lock);
	pthread_cond_destroy(&nt->cond);
	free(nt);
	fs->notifier = NULL;
}

static void
queue(struct fs *fs, fuse_ino_t ino, const char *name)
{
	struct notifier *nt = fs->notifier;
	struct item *it;

	if (nt == NULL)
		return;
	it = xcalloc(1, sizeof(*it));
	it->ino = ino;
	it->name = name ? xstrdup(name) : NULL;
	pthread_mutex_lock(&nt->lock);
	*nt->tail = it;
	nt->tail = &it->next;
	pthread_cond_signal(&nt->cond);
	pthread_mutex_unlock(&nt->lock);
}

void
notify_inode(struct fs *fs, fuse_ino_t ino)
{
	queue(fs, ino, NULL);
}

void
notify_entry(struct fs *fs, fuse_ino_t parent, const char *name)
{
	queue(fs, parent, name);
}

/* Attributes only, before the handler replies: the kernel then asks for
 * them again on the next stat. An attribute-only invalidation takes no
 * lock a request may hold (no page, no inode lock), so it is safe from
 * inside a handler, and sent first it cannot lose a race with the reply. */
void
notify_attrs_now(struct fs *fs, fuse_ino_t ino)
{
	struct item it = { .ino = ino };
	int r;

	if (fs->se == NULL)
		return;
	node_dropped(fs, &it);
	r = fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	if (r < 0 && r != -ENOENT)
		rh_debug("attribute invalidation of inode %lu: %s",
		         (unsigned long)ino, strerror(-r));
}

/* node.c - the inode table: node by ino, and by (parent, name). Inode
 * numbers are never reused, so the generation stays 0. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "rns.h"
#include "rhfs.h"

static size_t
hash_ino(const struct fs *fs, fuse_ino_t ino)
{
	return (size_t)(ino * 0x9e3779b97f4a7c15ull) & (fs->nbuckets - 1);
}

static size_t
hash_name(const struct fs *fs, const struct node *parent, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull ^ parent->ino;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return (size_t)h & (fs->nbuckets - 1);
}

static void
link_ino(struct fs *fs, struct node *n)
{
	size_t b = hash_ino(fs, n->ino);

	n->ino_next = fs->by_ino[b];
	fs->by_ino[b] = n;
}

static void
link_name(struct fs *fs, struct node *n)
{
	size_t b = hash_name(fs, n->parent, n->name);

	n->name_next = fs->by_name[b];
	fs->by_name[b] = n;
	n->hashed = 1;
}

static void
unlink_from(struct node **bucket, struct node *n, int by_name)
{
	struct node **pp;

	for (pp = bucket; *pp != NULL;
	     pp = by_name ? &(*pp)->name_next : &(*pp)->ino_next) {
		if (*pp == n) {
			*pp = by_name ? n->name_next : n->ino_next;
			return;
		}
	}
}

static void
grow(struct fs *fs)
{
	struct node **old = fs->by_ino, *n, *next;
	size_t i, nold = fs->nbuckets;

	fs->nbuckets *= 2;
	fs->by_ino = xcalloc(fs->nbuckets, sizeof(*fs->by_ino));
	free(fs->by_name);
	fs->by_name = xcalloc(fs->nbuckets, sizeof(*fs->by_name));
	for (i = 0; i < nold; i++) {
		for (n = old[i]; n != NULL; n = next) {
			next = n->ino_next;
			link_ino(fs, n);
			if (n->hashed)
				link_name(fs, n);
		}
	}
	free(old);
}

void
node_init(struct fs *fs)
{
	fs->nbuckets = 1024;
	fs->by_ino = xcalloc(fs->nbuckets, sizeof(*fs->by_ino));
	fs->by_name = xcalloc(fs->nbuckets, sizeof(*fs->by_name));
	fs->root = xcalloc(1, sizeof(*fs->root));
	fs->root->ino = FUSE_ROOT_ID;
	fs->root->name = xstrdup("");
	fs->root->kind = &kind_root;
	fs->root->nlookup = 1;
	fs->next_ino = FUSE_ROOT_ID + 1;
	link_ino(fs, fs->root);
	fs->nnodes = 1;
}

struct node *
node_find(struct fs *fs, fuse_ino_t ino)
{
	struct node *n;

	for (n = fs->by_ino[hash_ino(fs, ino)]; n != NULL; n = n->ino_next)
		if (n->ino == ino)
			return n;
	return NULL;
}

struct node *
node_lookup(struct fs *fs, struct node *parent, const char *name)
{
	struct node *n;

	for (n = fs->by_name[hash_name(fs, parent, name)]; n != NULL;
	     n = n->name_next)
		if (n->parent == parent && strcmp(n->name, name) == 0)
			return n;
	return NULL;
}

/* Find or make the node for (parent, name). A node of another kind under
 * that name is unhashed: the name now means something else. */
struct node *
node_add(struct fs *fs, struct node *parent, const char *name,
         const struct fs_kind *kind, struct rh_store *store)
{
	struct node *n = node_lookup(fs, parent, name);

	if (n != NULL && n->kind == kind && n->store == store)
		return n;
	if (n != NULL)
		node_unhash(fs, n);
	if (fs->nnodes >= fs->nbuckets * 2)
		grow(fs);
	n = xcalloc(1, sizeof(*n));
	n->ino = fs->next_ino++;
	n->parent = parent;
	parent->children++;
	n->name = xstrdup(name);
	n->kind = kind;
	n->store = store;
	link_ino(fs, n);
	link_name(fs, n);
	fs->nnodes++;
	return n;
}

static void
maybe_free(struct fs *fs, struct node *n)
{
	struct node *parent;

	while (n != NULL && n != fs->root && n->nlookup == 0 &&
	       n->children == 0) {
		parent = n->parent;
		unlink_from(&fs->by_ino[hash_ino(fs, n->ino)], n, 0);
		node_unhash(fs, n);
		if (n->scratch != NULL)
			scratch_put(n->scratch);
		watch_node_gone(fs, n);
		data_node_drop(n);
		rh_buf_free(&n->cfg);
		free(n->gone_type);
		free(n->name);
		free(n);
		fs->nnodes--;
		parent->children--;
		n = parent;
	}
}

void
node_forget(struct fs *fs, struct node *n, uint64_t nlookup)
{
	n->nlookup = nlookup > n->nlookup ? 0 : n->nlookup - nlookup;
	maybe_free(fs, n);
}

void
node_unhash(struct fs *fs, struct node *n)
{
	if (!n->hashed)
		return;
	unlink_from(&fs->by_name[hash_name(fs, n->parent, n->name)], n, 1);
	n->hashed = 0;
}

void
node_move(struct fs *fs, struct node *n, struct node *parent,
          const char *name)
{
	struct node *old_parent = n->parent, *victim;

	victim = node_lookup(fs, parent, name);
	if (victim != NULL && victim != n)
		node_unhash(fs, victim);
	node_unhash(fs, n);
	free(n->name);
	n->name = xstrdup(name);
	n->parent = parent;
	parent->children++;
	link_name(fs, n);
	old_parent->children--;
	maybe_free(fs, old_parent);
}

char *
node_names(const struct node *n, int (*below)(const struct node *dir))
{
	const struct node *p;
	size_t len = 0, l;
	char *path, *end;

	for (p = n; p->parent != NULL && below(p->parent); p = p->parent)
		len += strlen(p->name) + 1;
	path = xmalloc(len + 1);
	end = path + len;
	*end = '\0';
	if (len == 0)
		return path;
	*--end = '\0';         /* len counted one separator too many */
	for (p = n; p->parent != NULL && below(p->parent); p = p->parent) {
		l = strlen(p->name);
		end -= l;
		memcpy(end, p->name, l);
		if (end > path)
			*--end = '/';
	}
	return path;
}

static int
is_store_dir(const struct node *dir)
{
	return dir->kind->store_dir;
}

/* The node's store path ("" for a store's root), with fs->lock held. */
static char *
node_path(const struct node *n)
{
	if (!n->kind->store_dir && !n->kind->store_file)
		return xstrdup("");
	/* a store's root directory is the child of the mount root (or @):
	 * the names below it make the path */
	return node_names(n, is_store_dir);
}

void
node_forget_name(struct fs *fs, struct node *dir, const char *name)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	if ((n = node_lookup(fs, dir, name)) != NULL)
		node_unhash(fs, n);
	pthread_mutex_unlock(&fs->lock);
}

struct node *
node_get(struct fs *fs, fuse_ino_t ino)
{
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	n = node_find(fs, ino);
	pthread_mutex_unlock(&fs->lock);
	return n;
}

char *
node_dir_path(struct fs *fs, const struct node *n)
{
	char *p;

	pthread_mutex_lock(&fs->lock);
	while (n != NULL && !n->kind->store_dir)
		n = n->parent;
	p = n != NULL ? node_path(n) : xstrdup("");
	pthread_mutex_unlock(&fs->lock);
	return p;
}

char *
node_name(struct fs *fs, const struct node *n)
{
	char *name;

	pthread_mutex_lock(&fs->lock);
	name = xstrdup(n->name);
	pthread_mutex_unlock(&fs->lock);
	return name;
}

void
node_destroy_all(struct fs *fs)
{
	struct node *n, *next;
	size_t i;

	for (i = 0; i < fs->nbuckets; i++) {
		for (n = fs->by_ino[i]; n != NULL; n = next) {
			next = n->ino_next;
			if (n->scratch != NULL)
				scratch_put(n->scratch);
			data_node_drop(n);
			rh_buf_free(&n->cfg);
			free(n->gone_type);
			free(n->name);
			free(n);
		}
	}
	free(fs->by_ino);
	free(fs->by_name);
	fs->by_ino = fs->by_name = NULL;
}

/* unit-node.c - the inode table (fs/node.c): nodes by inode number and
 * by (parent, name), store paths, renames, forgetting (a node and the
 * parents it kept alive go once the kernel holds none), and growth of
 * the table past its first size. ASan sees that what is freed is gone. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base.h"
#include "rhfs.h"
#include "unit.h"

static struct fs fs;
static struct rh_store store_a, store_b;

/* A node as the kernel would hold it after a lookup. */
static struct node *
add(struct node *parent, const char *name, const struct fs_kind *kind,
    struct rh_store *store)
{
	struct node *n = node_add(&fs, parent, name, kind, store);

	n->nlookup++;
	return n;
}

static void
check_path(const struct node *n, const char *want)
{
	char *p = node_dir_path(&fs, n);

	CHECK_STR(p, want);
	free(p);
}

static void
test_basics(void)
{
	struct node *top, *a, *b, *cfg, *file, *again, *other;

	CHECK(fs.root != NULL);
	CHECK_EQ_INT(fs.root->ino, FUSE_ROOT_ID);
	CHECK(node_find(&fs, FUSE_ROOT_ID) == fs.root);
	CHECK(node_find(&fs, 12345) == NULL);
	CHECK(node_lookup(&fs, fs.root, "~") == NULL);

	top = add(fs.root, "~", &kind_store_dir, &store_a);
	a = add(top, "a", &kind_store_dir, &store_a);
	b = add(a, "b", &kind_store_dir, &store_a);
	cfg = add(b, "config.json", &kind_config, &store_a);
	file = add(b, "invoke", &kind_invoke, &store_a);

	/* each its own number, never 0 nor the root's, found both ways */
	CHECK(top->ino > FUSE_ROOT_ID);
	CHECK(a->ino > top->ino && b->ino > a->ino && cfg->ino > b->ino);
	CHECK(node_find(&fs, a->ino) == a);
	CHECK(node_find(&fs, cfg->ino) == cfg);
	CHECK(node_lookup(&fs, top, "a") == a);
	CHECK(node_lookup(&fs, a, "b") == b);
	CHECK(node_lookup(&fs, b, "config.json") == cfg);
	/* a name is looked up under its own parent only */
	CHECK(node_lookup(&fs, top, "b") == NULL);
	CHECK(node_lookup(&fs, fs.root, "a") == NULL);
	CHECK_EQ_INT(a->children, 1);
	CHECK_EQ_INT(b->children, 2);

	/* store paths: below a store's top directory; a file's is its
	 * directory's */
	check_path(top, "");
	check_path(a, "a");
	check_path(b, "a/b");
	check_path(cfg, "a/b");
	check_path(file, "a/b");
	check_path(fs.root, "");
	{
		char *name = node_name(&fs, cfg);

		CHECK_STR(name, "config.json");
		free(name);
	}

	/* the same (parent, name, kind, store) is the same node */
	again = node_add(&fs, a, "b", &kind_store_dir, &store_a);
	CHECK(again == b);
	CHECK_EQ_INT(a->children, 1);

	/* the name meaning something else is a new node; the old one is
	 * still there by number (the kernel holds it), not by name */
	other = add(a, "b", &kind_store_dir, &store_b);
	CHECK(other != b);
	CHECK(other->ino > file->ino);
	CHECK(node_lookup(&fs, a, "b") == other);
	CHECK(node_find(&fs, b->ino) == b);
	CHECK(!b->hashed);
	CHECK(other->hashed);
	other = add(a, "c", &kind_store_dir, &store_a);
	CHECK(node_add(&fs, a, "c", &kind_config, &store_a) != other);
}

static void
test_move(void)
{
	struct node *top = node_lookup(&fs, fs.root, "~");
	struct node *x = add(top, "x", &kind_store_dir, &store_a);
	struct node *y = add(x, "y", &kind_store_dir, &store_a);
	struct node *z = add(y, "z", &kind_store_dir, &store_a);
	struct node *victim = add(top, "w", &kind_store_dir, &store_a);
	unsigned top_children = top->children;

	/* y moves to ~/w over w: w is unhashed, y is found at its new name
	 * and its subtree's paths follow */
	node_move(&fs, y, top, "w");
	CHECK(node_lookup(&fs, x, "y") == NULL);
	CHECK(node_lookup(&fs, top, "w") == y);
	CHECK(!victim->hashed);
	CHECK(node_find(&fs, victim->ino) == victim);
	CHECK(y->parent == top);
	CHECK_EQ_INT(x->children, 0);
	CHECK_EQ_INT(top->children, top_children + 1);
	check_path(y, "w");
	check_path(z, "w/z");
	CHECK(node_lookup(&fs, y, "z") == z);

	/* a rename within the same directory */
	node_move(&fs, z, y, "z2");
	CHECK(node_lookup(&fs, y, "z") == NULL);
	CHECK(node_lookup(&fs, y, "z2") == z);
	check_path(z, "w/z2");
}

static void
test_forget(void)
{
	struct node *top = node_lookup(&fs, fs.root, "~");
	struct node *p = add(top, "p", &kind_store_dir, &store_a);
	struct node *q = add(p, "q", &kind_store_dir, &store_a);
	struct node *r = add(q, "r", &kind_store_dir, &store_a);
	fuse_ino_t pi = p->ino, qi = q->ino, ri = r->ino;
	size_t before = fs.nnodes;

	p->nlookup = 3;
	/* the kernel forgets p in part, then q entirely: both stay, since
	 * each still has a lookup or a child */
	node_forget(&fs, p, 2);
	node_forget(&fs, q, 1);
	CHECK(node_find(&fs, pi) == p);
	CHECK(node_find(&fs, qi) == q);
	CHECK_EQ_INT(p->nlookup, 1);
	CHECK_EQ_INT(q->nlookup, 0);
	/* forgetting more than was looked up counts as all of it */
	node_forget(&fs, p, 10);
	CHECK_EQ_INT(p->nlookup, 0);
	CHECK(node_find(&fs, pi) == p);     /* q keeps it */
	/* r's last lookup forgotten: r, then q and p, which it alone kept,
	 * are freed */
	node_forget(&fs, r, 1);
	CHECK(node_find(&fs, ri) == NULL);
	CHECK(node_find(&fs, qi) == NULL);
	CHECK(node_find(&fs, pi) == NULL);
	CHECK(node_lookup(&fs, top, "p") == NULL);
	CHECK_EQ_INT(fs.nnodes, before - 3);
	/* top is held by the kernel: it stays */
	CHECK(node_find(&fs, top->ino) == top);

	/* a new node never takes a number used before */
	p = add(top, "p", &kind_store_dir, &store_a);
	CHECK(p->ino > ri);
}

static void
test_grow(void)
{
	struct node *top = node_lookup(&fs, fs.root, "~");
	struct node *d = add(top, "many", &kind_store_dir, &store_a);
	struct node *u = add(top, "u", &kind_store_dir, &store_a);
	struct node *u2 = add(top, "u", &kind_store_dir, &store_b);
	enum { N = 5000 };
	static struct node *v[N];
	size_t buckets = fs.nbuckets, i, found_ino = 0, found_name = 0;
	char name[32];

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		v[i] = add(d, name, &kind_store_dir, &store_a);
	}
	CHECK(fs.nbuckets > buckets);
	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "n%zu", i);
		found_ino += node_find(&fs, v[i]->ino) == v[i];
		found_name += node_lookup(&fs, d, name) == v[i];
	}
	CHECK_EQ_INT(found_ino, N);
	CHECK_EQ_INT(found_name, N);
	CHECK_EQ_INT(d->children, N);
	/* a node whose name was taken stays reachable by number alone */
	CHECK(node_find(&fs, u->ino) == u);
	CHECK(node_lookup(&fs, top, "u") == u2);
	CHECK(!u->hashed);
}

int
main(void)
{
	pthread_mutex_init(&fs.lock, NULL);
	node_init(&fs);
	test_basics();
	test_move();
	test_forget();
	test_grow();
	node_destroy_all(&fs);
	CHECK(fs.by_ino == NULL && fs.by_name == NULL);
	pthread_mutex_destroy(&fs.lock);
	return unit_done();
}

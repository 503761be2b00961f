/* cluster-kind.c - the kinds of cluster rhfs knows, one struct fs_cluster
 * row each (rhfs.h), in the kind's own file: fs_cluster_byo (cluster.c,
 * also ^local's), fs_cluster_ondemand (cluster-ondemand.c) and
 * fs_cluster_slurm (cluster-slurm.c). Here: the table that matches a
 * cluster's link-layer kind (src/link/kind.c) to its row, and the entry
 * points the rest of rhfs uses, which find a resource's cluster and hand
 * over to its row. Also the count of threads that hold calls until their
 * cluster is up, which rhfs's stop waits for. */
#include "config.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "base.h"
#include "link.h"
#include "rhfs.h"

/* Every row but BYO's, the last, which takes every other cluster. */
static const struct fs_cluster *const rows[] = {
	&fs_cluster_slurm,
	&fs_cluster_ondemand,
	&fs_cluster_byo,
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

struct clusters {
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* a holder went */
	int holders;            /* threads holding calls */
};

const struct fs_cluster *
cluster_kind(const char *addr, const cJSON *cfg)
{
	const struct rh_cluster_kind *link = rh_cluster_kind(addr, cfg);
	size_t i;

	for (i = 0; i + 1 < NROWS; i++)
		if (rows[i]->link == link)
			return rows[i];
	return rows[i];
}

void
clusters_init(struct fs *fs)
{
	struct clusters *cs = xcalloc(1, sizeof(*cs));
	size_t i;

	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->cond, NULL);
	fs->clusters = cs;
	held_init(fs);
	for (i = 0; i < NROWS; i++)
		if (rows[i]->init != NULL)
			rows[i]->init(fs);
}

void
clusters_stop(struct fs *fs)
{
	struct clusters *cs = fs->clusters;
	size_t i;

	if (cs == NULL)
		return;
	for (i = 0; i < NROWS; i++)
		if (rows[i]->stop != NULL)
			rows[i]->stop(fs);
	/* their waits ended: the threads holding calls go */
	pthread_mutex_lock(&cs->lock);
	while (cs->holders > 0)
		pthread_cond_wait(&cs->cond, &cs->lock);
	pthread_mutex_unlock(&cs->lock);
}

void
clusters_free(struct fs *fs)
{
	struct clusters *cs = fs->clusters;
	size_t i;

	if (cs == NULL)
		return;
	clusters_stop(fs);
	for (i = 0; i < NROWS; i++)
		if (rows[i]->free != NULL)
			rows[i]->free(fs);
	held_free(fs);
	pthread_cond_destroy(&cs->cond);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
	fs->clusters = NULL;
}

void
clusters_hold(struct fs *fs)
{
	struct clusters *cs = fs->clusters;

	pthread_mutex_lock(&cs->lock);
	cs->holders++;
	pthread_mutex_unlock(&cs->lock);
}

void
clusters_release(struct fs *fs)
{
	struct clusters *cs = fs->clusters;

	pthread_mutex_lock(&cs->lock);
	cs->holders--;
	pthread_cond_broadcast(&cs->cond);
	pthread_mutex_unlock(&cs->lock);
}

/* The cluster the resource at addr runs on, and its row: NULL when there
 * is none (res_agent says why, when the calls go to it). */
static const struct fs_cluster *
cluster_of(struct fs *fs, const char *addr, const cJSON *cfg, char **caddr,
           cJSON **ccfg)
{
	struct rh_err e;

	if (res_cluster_of(fs, addr, cfg, caddr, ccfg, &e) < 0) {
		*caddr = NULL;
		*ccfg = NULL;
		return NULL;
	}
	return cluster_kind(*caddr, *ccfg);
}

int
cluster_begin(struct fs *fs, const char *addr, const cJSON *cfg,
              char **cluster, unsigned *ticket, struct rh_err *err)
{
	const struct fs_cluster *k;
	char *caddr;
	cJSON *ccfg;
	int r = 0;

	*cluster = NULL;
	*ticket = 0;
	k = cluster_of(fs, addr, cfg, &caddr, &ccfg);
	if (k != NULL && k->begin != NULL &&
	    (r = k->begin(fs, caddr, ccfg, ticket, err)) == 1) {
		*cluster = caddr;
		caddr = NULL;
	}
	cJSON_Delete(ccfg);
	free(caddr);
	return r;
}

int
cluster_wait(struct fs *fs, const char *addr, const cJSON *cfg,
             unsigned ticket, struct rh_err *err)
{
	const struct fs_cluster *k;
	char *caddr;
	cJSON *ccfg;
	int r = 0;

	k = cluster_of(fs, addr, cfg, &caddr, &ccfg);
	if (k != NULL && k->wait != NULL)
		r = k->wait(fs, caddr, ccfg, ticket, err);
	cJSON_Delete(ccfg);
	free(caddr);
	return r;
}

/* Asked of every row that has it, at each write to a linked send: a row
 * knows its own clusters by the resource's link key, with no config read
 * (cluster_of would read the send's cluster's). */
int
cluster_stale(struct fs *fs, const char *addr, const cJSON *cfg)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (rows[i]->stale != NULL && rows[i]->stale(fs, addr, cfg))
			return 1;
	return 0;
}

int
cluster_reachable(struct fs *fs, const char *addr, const cJSON *cfg)
{
	const struct fs_cluster *k = cluster_kind(addr, cfg);

	return k->reachable != NULL ? k->reachable(fs, addr) :
	                              cluster_has_ips(cfg);
}

/* A held call keeps its cluster's address only: the row that has a
 * cluster there says what it waits for. */
void
cluster_waiting(struct fs *fs, const char *caddr, cJSON *rec)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (rows[i]->waiting != NULL &&
		    rows[i]->waiting(fs, caddr, rec))
			return;
}

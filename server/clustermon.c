/*
 * clustermon.c: the cluster monitor thread.
 *
 * Owns the timing (probe every monitor_interval_ms, each database within
 * probe_timeout_ms) and the latest view; the probe and the admission rule
 * are db/cluster.c's.  A view older than a few intervals means the
 * monitor itself is stuck: writes are then refused too.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clustermon.h"
#include "drift.h"
#include "metrics.h"
#include "../db/db.h"
#include "../db/kmipdb.h"
#include "../lib/clock.h"
#include "../lib/log.h"

struct cluster {
	struct db		*db;
	const struct kw_config	*cfg;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 stop;
	struct db_cluster_state	 view;
	cluster_epoch_fn	 on_epoch;
	void			*arg;
	struct drift		*drift;		/* may be NULL */
	int64_t			 epoch;		/* last cache epoch seen, -1 */
	int64_t			 confirmed_ms;	/* when it was read, 0 never */
};

/* Unsettled rows one probe settles at most. */
#define SETTLE_MAX	256

/* Probe and publish; log changes of writability once. */
static void
probe(struct cluster *cl)
{
	struct db_cluster_state st, prev;
	int was, had, moved, settled;
	int64_t t0 = clock_mono_ms();	/* the epoch is read after this */

	pthread_mutex_lock(&cl->mu);
	prev = cl->view;
	pthread_mutex_unlock(&cl->mu);
	db_cluster_probe(cl->db, cl->cfg->probe_timeout_ms,
	    cl->cfg->standby_stale_ms, cl->cfg->node_name, cl->cfg->peer_name,
	    prev.at_ms != 0 ? &prev : NULL, &st);
	metrics_probe(0, st.local.role != DB_ROLE_DOWN);
	if (st.peer.configured)
		metrics_probe(1, st.peer.role != DB_ROLE_DOWN);
	pthread_mutex_lock(&cl->mu);
	had = cl->view.at_ms != 0;
	was = cl->view.writable;
	cl->view = st;
	pthread_mutex_unlock(&cl->mu);
	/*
	 * another node's rollover or delete: forget cached versions; and
	 * what is cached is confirmed as of this probe (bounded staleness)
	 */
	if (st.cache_epoch >= 0) {
		moved = cl->epoch >= 0 && st.cache_epoch != cl->epoch;
		if (moved)
			log_debug("cluster: cache epoch %lld -> %lld, cache dropped",
			    (long long)cl->epoch, (long long)st.cache_epoch);
		cl->epoch = st.cache_epoch;
		if (cl->on_epoch != NULL)
			cl->on_epoch(cl->arg, moved, t0, st.active_kek);
		pthread_mutex_lock(&cl->mu);
		cl->confirmed_ms = t0;
		pthread_mutex_unlock(&cl->mu);
	}
	/*
	 * what cancelled or unsettled writes left, once the standby has it;
	 * not while a database is slow (each statement may take a deadline,
	 * and a stalled monitor refuses writes)
	 */
	if (!st.local.slow && !st.peer.slow && (st.peer.configured ?
	    st.local.role != DB_ROLE_DOWN && st.peer.role != DB_ROLE_DOWN &&
	    (st.local.role == DB_ROLE_PRIMARY) !=
	    (st.peer.role == DB_ROLE_PRIMARY) :
	    st.local.role == DB_ROLE_PRIMARY)) {
		if ((settled = db_settle(cl->db, SETTLE_MAX)) > 0)
			metrics_add(MC_SETTLED_ROWS, (uint64_t)settled);
		else if (settled < 0)
			metrics_inc(MC_SETTLE_ERRORS);
		if ((settled = db_kmip_settle(cl->db, SETTLE_MAX)) > 0)
			metrics_add(MC_SETTLED_ROWS, (uint64_t)settled);
		else if (settled < 0)
			metrics_inc(MC_SETTLE_ERRORS);
	}
	/*
	 * the drift check reads (and may write) through the pools: not
	 * while a database is slow, as for settling, so that it cannot
	 * hold up the next probe
	 */
	if (cl->drift != NULL && !st.local.slow && !st.peer.slow)
		drift_tick(cl->drift, st.writable);
	if (!had || was != st.writable) {
		if (st.writable)
			log_info("cluster: writes admitted (local %s, peer %s)",
			    db_role_name(st.local.role), st.peer.configured ?
			    db_role_name(st.peer.role) : "not configured");
		else
			log_warnx("cluster: writes refused: %s", st.why);
	}
}

static void *
monitor_main(void *arg)
{
	struct cluster *cl = arg;
	struct timespec ts;
	int64_t next;

	for (;;) {
		next = clock_mono_ms() + cl->cfg->monitor_interval_ms;
		pthread_mutex_lock(&cl->mu);
		clock_at(&ts, next);
		while (!cl->stop && clock_mono_ms() < next)
			pthread_cond_timedwait(&cl->cv, &cl->mu, &ts);
		if (cl->stop) {
			pthread_mutex_unlock(&cl->mu);
			return NULL;
		}
		pthread_mutex_unlock(&cl->mu);
		probe(cl);
	}
}

struct cluster *
cluster_start(struct db *db, const struct kw_config *cfg,
    cluster_epoch_fn on_epoch, void *arg, struct drift *dr)
{
	struct cluster *cl;
	pthread_condattr_t ca;

	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return NULL;
	cl->db = db;
	cl->cfg = cfg;
	cl->on_epoch = on_epoch;
	cl->arg = arg;
	cl->drift = dr;
	cl->epoch = -1;

	pthread_mutex_init(&cl->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);	/* clock_at */
	pthread_cond_init(&cl->cv, &ca);
	pthread_condattr_destroy(&ca);
	probe(cl);
	if (pthread_create(&cl->thread, NULL, monitor_main, cl) != 0) {
		pthread_cond_destroy(&cl->cv);
		pthread_mutex_destroy(&cl->mu);
		free(cl);
		return NULL;
	}
	return cl;
}

void
cluster_stop(struct cluster *cl)
{
	if (cl == NULL)
		return;
	pthread_mutex_lock(&cl->mu);
	cl->stop = 1;
	pthread_cond_signal(&cl->cv);
	pthread_mutex_unlock(&cl->mu);
	pthread_join(cl->thread, NULL);
	pthread_cond_destroy(&cl->cv);
	pthread_mutex_destroy(&cl->mu);
	free(cl);
}

void
cluster_view(struct cluster *cl, struct db_cluster_state *out)
{
	int64_t limit = 3 * (int64_t)cl->cfg->monitor_interval_ms +
	    4 * (int64_t)cl->cfg->probe_timeout_ms;

	pthread_mutex_lock(&cl->mu);
	*out = cl->view;
	pthread_mutex_unlock(&cl->mu);
	if (out->writable && clock_mono_ms() - out->at_ms > limit) {
		out->writable = 0;
		out->refusal = DB_REFUSE_MONITOR_STALLED;
		snprintf(out->why, sizeof(out->why), "cluster monitor has not "
		    "completed a check for %lld ms",
		    (long long)(clock_mono_ms() - out->at_ms));
	}
}

int64_t
cluster_confirmed_age_ms(struct cluster *cl)
{
	int64_t at;

	pthread_mutex_lock(&cl->mu);
	at = cl->confirmed_ms;
	pthread_mutex_unlock(&cl->mu);
	return at == 0 ? -1 : clock_mono_ms() - at;
}

int
cluster_writable(struct cluster *cl, char *why, size_t len,
    enum db_refusal *code)
{
	struct db_cluster_state st;

	cluster_view(cl, &st);
	if (!st.writable)
		snprintf(why, len, "%s", st.why);
	*code = st.writable ? DB_REFUSE_NONE : st.refusal;
	return st.writable;
}

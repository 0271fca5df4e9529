/*
 * clustermon.h: the cluster monitor, a thread that probes both databases of
 * the pair every monitor_interval_ms (db_cluster_probe) and keeps the
 * latest view for write admission, health and the cluster endpoint.
 * Thread-safe.
 */
#ifndef KW_CLUSTERMON_H
#define KW_CLUSTERMON_H

#include <stddef.h>
#include <stdint.h>
#include "../db/cluster.h"
#include "../lib/config.h"

struct db;
struct cluster;
struct drift;

/*
 * Called from the monitor thread after every probe that read the
 * databases' cache epoch: moved is 1 when it changed (a key was rolled or
 * deleted, perhaps through the other node), at_ms the monotonic time of
 * the read.  What the cache holds is confirmed up to at_ms.  active_kek
 * is the active master key's id read with it ("" when unknown).
 */
typedef void (*cluster_epoch_fn)(void *arg, int moved, int64_t at_ms,
    const char *active_kek);

/* Probe once (so the first request sees a real view), then start the
 * thread.  on_epoch (may be NULL) is called with arg after each probe that
 * read the cache epoch.  Each probe of a pair with both databases up also
 * settles what writes left unsettled (db_settle), and each probe ticks
 * the drift check dr (drift.h; may be NULL, must outlive the monitor).
 * NULL on failure to start it. */
struct cluster *cluster_start(struct db *db, const struct kw_config *cfg,
	    cluster_epoch_fn on_epoch, void *arg, struct drift *dr);
/* Stop the thread and free; NULL is a no-op. */
void	cluster_stop(struct cluster *cl);
/* A copy of the latest view (with "monitor stalled" folded in). */
void	cluster_view(struct cluster *cl, struct db_cluster_state *out);
/* How long ago (ms) the cache epoch was last read; -1 never. */
int64_t	cluster_confirmed_age_ms(struct cluster *cl);
/* 1 when writes may be admitted now; else 0, the reason in why and as a
 * code in *code. */
int	cluster_writable(struct cluster *cl, char *why, size_t len,
	    enum db_refusal *code);

#endif

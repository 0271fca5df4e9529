/*
 * metrics.h: the server's Prometheus metrics, counted where things happen
 * and written in the text exposition format (version 0.0.4) on a scrape.
 *
 * Counters are process-wide atomics: recording never blocks, never
 * allocates and may happen on any thread.  Labels come from fixed sets
 * (operations, status codes, reasons, database names): no key name and
 * no client identity ever becomes a label.  The cluster view (database
 * probes, replication) is read at scrape time, not counted.
 */
#ifndef KW_METRICS_H
#define KW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api_route.h"
#include "../db/cluster.h"

/* Counters without labels (or with a label fixed by the name). */
enum metric_counter {
	MC_NOT_ACKNOWLEDGED = 0,	/* writes answered "not acknowledged" */
	MC_SETTLED_ROWS,		/* rows the monitor settled */
	MC_SETTLE_ERRORS,		/* settle sweeps that failed */
	MC_AUDIT_WRITTEN,		/* audit records written */
	MC_AUDIT_DROPPED,		/* audit records lost */
	MC_TLS_HANDSHAKE_FAILED,	/* connections closed before TLS was up */
	MC_CLIENT_CERT_REFUSED,		/* client certificates not accepted */
	MC_CONN_REFUSED_TOTAL,		/* connections over limits.max_connections */
	MC_ACL_RELOADS,			/* ACL reloads that took effect */
	MC_ACL_RELOAD_FAILURES,		/* ACL reloads refused (old rules kept) */
	MC_MAX
};

/* Cached lookups, by what was looked up. */
enum metric_cache { MK_VERSION = 0, MK_CURRENT, MK_ACLNAME, MK_MAX };

/* Count one: c += 1 / c += n.  Any thread. */
void	metrics_inc(enum metric_counter c);
void	metrics_add(enum metric_counter c, uint64_t n);
/* One answered request of op (OP_NONE: unrouted) with HTTP status,
 * which took us microseconds. */
void	metrics_request(enum kw_op op, int status, int64_t us);
/* A write refused for reason r before its statement ran. */
void	metrics_refused(enum db_refusal r);
/* One cache lookup of kind k; hit 1 or 0. */
void	metrics_cache(enum metric_cache k, int hit);
/* A probe of the local (peer 0) or peer's (peer 1) database: up 1/0. */
void	metrics_probe(int peer, int up);
/* A client connection opened (+1) or closed (-1). */
void	metrics_connection(int delta);

/* What a scrape reads besides the counters. */
struct metrics_view {
	const struct db_cluster_state *cluster;	/* the monitor's latest */
	int		 keys_served;		/* cached keys may be served */
	int64_t		 confirmed_age_ms;	/* -1: never confirmed */
	const char	*version;		/* build_info */
	const char	*node;			/* build_info: node.name */
	int		 drift;			/* settings that differ from
						 * the peer's, -1 unknown */
};

/*
 * The whole exposition text, malloc'd (NUL-terminated, *len bytes), or
 * NULL when out of memory.  Thread-safe.
 */
char	*metrics_render(const struct metrics_view *v, size_t *len);
/* The Content-Type of what metrics_render writes. */
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* For unit tests only: set every counter back to zero. */
void	metrics_reset(void);

#endif

/*
 * drift.h: configuration drift between the two nodes of a pair.
 *
 * Each node publishes fingerprints of its configuration in the database
 * (db_nodeconf_put, table node_config): the SHA-256 of the acls.conf text
 * in force, an HMAC-SHA256 of a fixed constant under the cookie secret
 * (never the secret), its version and schema version.  The cluster monitor
 * calls drift_tick after each probe: it publishes this node's row when it
 * changed (at start, after an ACL reload) and the pair takes writes, and
 * reads the peer's row about once a second.  Health and the cluster
 * endpoint show the comparison.  Thread-safe.
 */
#ifndef KW_DRIFT_H
#define KW_DRIFT_H

#include <stddef.h>
#include "../db/db.h"

struct authz;
struct drift;

#define DRIFT_MAX	4	/* things compared */
#define DRIFT_MSG	128

/* What drift_view reports. */
struct drift_state {
	struct db_nodeconf	self;		/* in force here */
	struct db_nodeconf	peer;		/* as the peer last published */
	int			have_peer;	/* peer's row was read */
	int			published;	/* self is in the database */
	size_t			n;		/* differences */
	char			what[DRIFT_MAX][DRIFT_MSG];
};

/*
 * New drift check for node (peer "" or NULL: a single node, nothing to
 * compare).  The ACL fingerprint is read from az at every tick;
 * cookie_hmac is "" without a cookie secret.  NULL when out of memory.
 */
struct drift *drift_new(struct db *db, struct authz *az, const char *node,
	    const char *peer, const char *cookie_hmac, int schema_version);
/* NULL is a no-op.  The monitor must no longer call drift_tick. */
void	drift_free(struct drift *d);
/* From the cluster monitor: writable is the probe's verdict. */
void	drift_tick(struct drift *d, int writable);
/* A copy of the latest comparison. */
void	drift_view(struct drift *d, struct drift_state *out);
/*
 * Compare self with peer's fingerprints (peer_name names it in the
 * messages, "acls.conf differs from kw-b's"); fills what, returns how
 * many differ.  Pure.
 */
size_t	drift_compare(const struct db_nodeconf *self,
	    const struct db_nodeconf *peer, const char *peer_name,
	    char what[DRIFT_MAX][DRIFT_MSG]);

#endif

/*
 * cluster.h: what the two databases of a pair say about themselves.
 *
 * One probe asks each database (local and peer, each on a connection of
 * its own with a short deadline) whether it answers and whether it is in
 * recovery, and asks the primary how its standby streams
 * (pg_stat_replication: state, sync_state, age of the last reply, lag).
 * From that it decides whether writes may be admitted and, when not,
 * why, naming the node.  Used by the server's cluster monitor and by
 * `keyward-admin status`.  Thread-safe; holds no SQL outside db/.
 */
#ifndef KW_DB_CLUSTER_H
#define KW_DB_CLUSTER_H

#include <stdint.h>
#include "../lib/kwerr.h"

struct db;

enum db_role { DB_ROLE_DOWN = 0, DB_ROLE_PRIMARY, DB_ROLE_STANDBY };

struct db_node_state {
	int		 configured;	/* this database is in the config */
	enum db_role	 role;		/* DOWN when it did not answer */
	int64_t		 probe_ms;	/* how long the probe took */
	int		 slow;		/* consecutive probes past the deadline */
	char		 error[160];	/* why it is down, "" otherwise */
};

struct db_repl_state {
	int		 present;	/* the primary lists a standby */
	char		 app_name[64];	/* its application_name */
	char		 state[24];	/* "streaming", "catchup", ... */
	char		 sync_state[16];/* "sync", "async", "potential", ... */
	int64_t		 reply_age_ms;	/* now() - reply_time; -1 unknown */
	int64_t		 lag_bytes;	/* current WAL - replay LSN; -1 unknown */
};

/* Why writes are refused, as a code (for counting; why says it in words). */
enum db_refusal {
	DB_REFUSE_NONE = 0,		/* writable */
	DB_REFUSE_LOCAL_NOT_PRIMARY,	/* single node whose database is not
					   primary */
	DB_REFUSE_SPLIT_BRAIN,		/* both answer as primary */
	DB_REFUSE_NO_PRIMARY,		/* neither answers as primary */
	DB_REFUSE_STANDBY_DOWN,		/* the standby's database is down */
	DB_REFUSE_NOT_REPLICATING,	/* the primary lists no standby */
	DB_REFUSE_NOT_SYNC,		/* not a streaming synchronous standby */
	DB_REFUSE_STANDBY_STALE,	/* its last reply is too old */
	DB_REFUSE_MONITOR_STALLED,	/* the view itself is too old (server) */
	DB_REFUSE_MAX
};

struct db_cluster_state {
	struct db_node_state	local;
	struct db_node_state	peer;
	struct db_repl_state	repl;
	int			writable;	/* writes may be admitted */
	int			readable;	/* some database answers */
	char			why[256];	/* why not writable, "" if so */
	enum db_refusal		refusal;	/* the same as a code */
	int64_t			cache_epoch;	/* cache_epoch.epoch; -1 unknown */
	char			active_kek[17];	/* kek_check.kek_id, read with
						   the epoch; "" unknown */
	int64_t			at_ms;		/* monotonic time of the probe */
};

/*
 * Probe both databases, each within timeout_ms, and decide.  A standby
 * whose last reply is older than stale_ms counts as not in sync (a frozen
 * standby keeps showing "streaming"/"sync" until wal_sender_timeout).
 * A database that refuses connections is down at once; one that answers
 * too slowly is down from its second slow probe in a row (prev, the last
 * result or NULL, carries the count), so a busy machine does not flap.
 * local_name and peer_name name the nodes in out->why.  Always fills out.
 */
void	db_cluster_probe(struct db *db, int timeout_ms, int stale_ms,
	    const char *local_name, const char *peer_name,
	    const struct db_cluster_state *prev, struct db_cluster_state *out);
/* "primary", "standby" or "down". */
const char *db_role_name(enum db_role r);
/* A short snake_case name for r ("standby_down", ...), never NULL. */
const char *db_refusal_name(enum db_refusal r);

#endif

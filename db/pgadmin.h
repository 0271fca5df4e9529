/*
 * pgadmin.h: the statements keyward-admin runs on a pair's databases to
 * set the pair up and change it (as the superuser, or as the role the
 * caller connected with where that is enough): create the keyward
 * database, replication slots, synchronous_standby_names, promotion, and
 * the replication views it reads to tell the operator what happened.
 *
 * Not the data layer (db.h) and not the cluster probe (cluster.h): one
 * short-lived connection per database, every statement bounded by a
 * client-side deadline, errors returned as one-line messages for the
 * operator.  Single-threaded use per connection.
 */
#ifndef KW_DB_PGADMIN_H
#define KW_DB_PGADMIN_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/kwerr.h"

struct pga;

/* One row of pg_stat_replication, as the primary sees its standby. */
struct pga_standby {
	char	app_name[64];
	char	client_addr[64];
	char	state[24];		/* "streaming", "catchup", ... */
	char	sync_state[16];		/* "sync", "async", "potential" */
	int64_t	reply_age_ms;		/* -1 unknown */
	int64_t	lag_bytes;		/* -1 unknown */
};

/*
 * Connect to host:port as user to dbname, giving up after timeout_s
 * (connection) and bounding each later statement by timeout_s as well
 * (pga_promote waits longer).  password may be NULL.  NULL with a message
 * in err ("127.0.0.2:11381: connection refused ...").
 */
struct pga *pga_connect(const char *host, const char *port, const char *user,
	    const char *dbname, const char *password, int timeout_s, char *err,
	    size_t errlen);
void	pga_close(struct pga *c);
/* "HOST:PORT" of c, for messages. */
const char *pga_where(const struct pga *c);

/* *in_recovery = 1 for a standby, 0 for a primary.  0 or -1 (err). */
int	pga_in_recovery(struct pga *c, int *in_recovery, char *err,
	    size_t errlen) WUR;
/* The database's system identifier (same on both nodes of a pair). */
int	pga_system_id(struct pga *c, char *out, size_t outlen, char *err,
	    size_t errlen) WUR;
/* CREATE DATABASE dbname (owner: the connected user) unless it exists;
 * *created says which.  0 or -1. */
int	pga_database_ensure(struct pga *c, const char *dbname, int *created,
	    char *err, size_t errlen) WUR;
/* Create physical slot name (reserving WAL now) unless it exists. */
int	pga_slot_ensure(struct pga *c, const char *name, int *created,
	    char *err, size_t errlen) WUR;
/* Drop every inactive physical slot; *dropped counts them.  0 or -1. */
int	pga_slots_drop_inactive(struct pga *c, int *dropped, char *err,
	    size_t errlen) WUR;
/* The inactive physical slots, comma-separated, into out ("" none). */
int	pga_slots_inactive(struct pga *c, char *out, size_t outlen, char *err,
	    size_t errlen) WUR;
/* SHOW synchronous_standby_names into out.  0 or -1. */
int	pga_sync_names(struct pga *c, char *out, size_t outlen, char *err,
	    size_t errlen) WUR;
/* ALTER SYSTEM SET synchronous_standby_names = value; reload.  0 or -1. */
int	pga_set_sync_names(struct pga *c, const char *value, char *err,
	    size_t errlen) WUR;
/* pg_stat_replication rows, at most max, into out; *n gets the count. */
int	pga_standbys(struct pga *c, struct pga_standby *out, int max, int *n,
	    char *err, size_t errlen) WUR;
/* On a standby: the WAL receiver's status ("streaming", ...) and the
 * host it streams from, "" when there is no receiver.  0 or -1. */
int	pga_receiver(struct pga *c, char *status, size_t slen, char *sender,
	    size_t sendlen, char *err, size_t errlen) WUR;
/*
 * CHECKPOINT, so that the control file shows the timeline a promotion
 * started: until the first checkpoint after pg_promote (a spread one,
 * minutes by default) pg_rewind reads the old timeline there and wrongly
 * finds "no rewind required".  0 or -1.
 */
int	pga_checkpoint(struct pga *c, char *err, size_t errlen) WUR;
/* pg_promote(wait => true, wait_seconds => wait_s).  0 or -1. */
/*
 * On a database just promoted: settle every key row that writes left
 * unsettled (003_durability.sql); *n receives how many.  0 or -1.
 */
int	pga_settle_all(struct pga *c, long long *n, char *err,
	    size_t errlen) WUR;
int	pga_promote(struct pga *c, int wait_s, char *err, size_t errlen) WUR;

#endif

/*
 * pool.h: connection pools (pool.c), deadline-bounded statements on a
 * pooled connection (exec.c) and the choice of database for reads and
 * writes (route.c).  Internal to db/: nothing outside db/ includes this
 * header.  Calls go one way: route.c -> exec.c -> pool.c -> pgwait.c
 * (the wait under a deadline, also under keyward-admin's pgadmin.c).
 *
 * Every statement is sent asynchronously and waited for with poll() up
 * to a deadline, so no call can hang on a frozen or unreachable server.
 * A connection that fails or times out is marked broken and closed when
 * it is returned; the next borrower opens a new one.
 */
#ifndef KW_DB_POOL_H
#define KW_DB_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <libpq-fe.h>
#include "pgwait.h"
#include "../lib/kwerr.h"

/* Server-side statement_timeout set on every connection. */
#define DB_STMT_TIMEOUT_MS	5000
/* Client-side deadline for one statement: the server's timeout, plus slack. */
#define DB_DEADLINE_MS		(DB_STMT_TIMEOUT_MS + 1000)
/*
 * Client-side deadline of one key statement (an indexed lookup or a
 * one-row write): short, so a read on a frozen database gives up and
 * fails over to the peer well within a client's patience.
 */
#define DB_OP_DEADLINE_MS	1500
/* How long a caller waits for a free connection when all are busy. */
#define DB_BORROW_MS		30000

/*
 * True on a primary that has a standby streaming in synchronous mode
 * right now: the write guard's test.  pg_stat_get_wal_senders() rather
 * than the pg_stat_replication view, which joins every backend's status
 * (pg_stat_get_activity) for the same answer: measured here, 26 us
 * against 7 us a call with max_connections = 100, paid by every write.
 * Its state and sync_state read NULL without pg_read_all_stats
 * (keyward_server has pg_monitor, 004_roles.sql).
 */
#define DB_SYNC_STANDBY	"EXISTS (SELECT 1 FROM pg_stat_get_wal_senders()" \
			" WHERE state = 'streaming' AND sync_state = 'sync')"

/* Parameter type OIDs (catalog/pg_type_d.h is a server header). */
#define DB_OID_BOOL	16
#define DB_OID_BYTEA	17
#define DB_OID_INT8	20
#define DB_OID_INT4	23
#define DB_OID_TEXT	25

/* A statement prepared on first use on each connection. */
struct db_stmt {
	const char	*name;		/* prepared statement name */
	const char	*sql;
	int		 nparams;
	const Oid	*types;		/* nparams entries */
};
#define DB_MAX_STMTS	64		/* bits in pconn.prepared */

/* How long a database that failed is tried after the other one. */
#define DB_RETRY_MS		2000

/*
 * Why a connection must be closed when it is returned: the server did
 * not answer in time, the connection failed, or its state is unknown
 * (say, a cancelled COMMIT) although the server is fine.
 */
enum pc_broken { PC_OK = 0, PC_TIMEOUT, PC_CONNERR, PC_DISCARD };

/* One pooled connection; owned by one thread between pool_get/pool_put. */
struct pconn {
	struct pool	*pool;
	PGconn		*conn;		/* NULL until opened */
	uint64_t	 prepared;	/* bit i: statement id i is prepared */
	int		 busy;		/* borrowed (under the pool mutex) */
	int		 stale;		/* reopen at next borrow */
	int		 reused;	/* was open before this borrow */
	enum pc_broken	 broken;
	int		 warn01000;	/* the notice receiver saw WARNING 01000 */
};

/* The layer: pools for the local and peer databases and the health probe. */
struct db {
	struct pool	*local;
	struct pool	*peer;		/* NULL when no peer is configured */
	struct pool	*probe;		/* one connection to local, for health */
	struct pool	*peer_probe;	/* one connection to peer, or NULL */
	int		 commit_deadline_ms;
	atomic_int	 primary_hint;	/* 0 local, 1 peer: primary last time */
};

/*
 * New pool of size connections (opened lazily) to conninfo; label ("local",
 * "peer") prefixes log lines; quiet pools do not log failures.  NULL on
 * allocation failure.  pool_free closes every connection; no connection
 * may be borrowed then.
 */
struct pool *pool_new(const char *label, const char *conninfo,
	    const char *password, int size, int connect_timeout_s, int quiet);
void	pool_free(struct pool *p);
/* The label given to pool_new. */
const char *pool_label(const struct pool *p);
/* Was p created quiet? */
int	pool_quiet(const struct pool *p);
/* libpq's text of p's last failed connect ("" when none) into buf. */
const char *pool_conn_error(struct pool *p, char *buf, size_t len);
/*
 * What a health probe learnt: down (reads try the other database first
 * for for_ms) or answering again.  Thread-safe.
 */
void	pool_mark(struct pool *p, int down, int for_ms);
/* Did p fail to answer within the last DB_RETRY_MS?  Thread-safe. */
int	pool_down(struct pool *p);
/* libpq's notice receiver for pooled connections (arg: the pconn). */
void	pc_notice_rx(void *arg, const PGresult *r);

/*
 * Borrow a connection, waiting up to wait_ms for a free one, opening it
 * when needed.  KW_OK, or KW_EDB when none is free in time or the database
 * cannot be reached (logged).  Thread-safe.
 */
enum kw_err pool_get(struct pool *p, int wait_ms, struct pconn **out) WUR;
/*
 * Open every idle slot that has no connection yet, so a burst of requests
 * never waits for connection set-up; stops at the first failure.  Returns
 * the number of connections opened.  Thread-safe.
 */
int	pool_warm(struct pool *p);
/* Return a connection; a broken one is closed.  Thread-safe. */
void	pool_put(struct pconn *pc);

/*
 * Run sql (one or more statements, simple protocol) within deadline_ms.
 * Returns the first error result, else the last result (free with
 * PQclear); NULL when the connection failed or the deadline passed: then
 * pc->broken is set and the failure was logged.
 */
PGresult *pc_exec(struct pconn *pc, const char *sql, int deadline_ms);
/*
 * Run sql as an unnamed statement, parameters and rfmt as for
 * PQexecParams (lens, fmts may be NULL).  Return as pc_exec.
 */
PGresult *pc_exec_params(struct pconn *pc, const char *sql, int nparams,
	    const char *const *vals, const int *lens, const int *fmts,
	    int rfmt, int deadline_ms);
/*
 * Run statement id (prepared first when this connection has not yet),
 * with parameters as for PQexecPrepared and results in format rfmt (0 text,
 * 1 binary).  Return as pc_exec.
 */
PGresult *pc_prepared(struct pconn *pc, int id, const struct db_stmt *st,
	    const char *const *vals, const int *lens, const int *fmts,
	    int rfmt, int deadline_ms);
/*
 * Send COMMIT and wait up to deadline_ms.  KW_OK when the server confirmed
 * it without a WARNING of SQLSTATE 01000; KW_ENOTACK when the deadline
 * passed (the backend is then cancelled and the connection discarded), the
 * connection failed, or the commit only happened locally; KW_EDB when the
 * server refused it.  Logs every failure.
 */
enum kw_err pc_commit(struct pconn *pc, int deadline_ms) WUR;
/*
 * Run statement id (prepared first when needed, within DB_OP_DEADLINE_MS)
 * as one autocommit statement that writes and commits, waiting up to
 * deadline_ms for its completion, which includes the wait for the
 * synchronous standby.  Past the deadline the backend is cancelled.
 * KW_OK: committed and acknowledged, *out the result.  KW_EDB: nothing
 * was committed; *out is the error result (free with PQclear), or NULL
 * when the connection failed before the statement was sent (pc->broken
 * set, logged).  KW_ENOTACK (logged, *out NULL): the deadline passed, the
 * connection failed after sending, or the commit only happened locally
 * (WARNING 01000).
 */
enum kw_err pc_commit_prepared(struct pconn *pc, int id,
	    const struct db_stmt *st, const char *const *vals, const int *lens,
	    const int *fmts, int rfmt, int deadline_ms, PGresult **out) WUR;
/*
 * Is an idle connection still usable?  Reads (without waiting) what the
 * server sent unasked: a terminated backend's farewell makes it 0.
 */
int	pc_idle_ok(struct pconn *pc);

/* True when r is a successful command or query result. */
int	pc_res_ok(const PGresult *r);
/* SQLSTATE of r, "" when none. */
const char *pc_sqlstate(const PGresult *r);
/* Log an unexpected error result of statement what (key name optional). */
void	pc_log_error(struct pconn *pc, const char *what, const char *name,
	    const PGresult *r);

/*
 * Run fn on a connection to the local database; when that database does
 * not answer, once more on the peer's (the peer first while the local one
 * is pool_down).  A connection error on a pooled connection is retried
 * once on a fresh one first.  An SQL error is returned as it is, without
 * failing over.  fn returns its result; it must leave its outputs
 * untouched when pc->broken ends up set.
 */
typedef enum kw_err (*db_read_fn)(struct pconn *pc, void *arg);
enum kw_err db_read(struct db *db, db_read_fn fn, void *arg) WUR;
/* The same on the local database only. */
enum kw_err db_read_local(struct db *db, db_read_fn fn, void *arg) WUR;
/* The same on pool p only. */
enum kw_err db_read_one(struct pool *p, db_read_fn fn, void *arg) WUR;

/*
 * Begin a write transaction on the primary: today the local database
 * unless it is in recovery, else the peer.  KW_OK with *out borrowed and
 * in a transaction; KW_EUNAVAIL (logged) when no primary answers.
 */
enum kw_err db_write_begin(struct db *db, struct pconn **out) WUR;
/*
 * One attempt of a write on pc, sent as autocommit statements that check
 * (inside the statement that writes) that pc's database is a primary
 * and, when need_sync, has a synchronous standby.  Return KW_EUNAVAIL and
 * set *why only when pc's database took none of the write and the other
 * database may take it: a standby, a primary without a synchronous
 * standby, or not answering before the write was sent.
 */
typedef enum kw_err (*db_write_fn)(struct pconn *pc, int need_sync,
	    void *arg, const char **why);
/*
 * Run fn on the primary: the database that was primary last time first,
 * then the other one when fn says its database cannot take the write.
 * A pooled connection found dead before the write is replaced.  Returns
 * fn's result, or KW_EUNAVAIL (logged) when neither database took it.
 */
enum kw_err db_write(struct db *db, db_write_fn fn, void *arg) WUR;
/* The same, giving up (KW_EUNAVAIL) on borrowing or connecting past
 * deadline_at (monotonic ms); fn bounds its own statements. */
enum kw_err db_write_by(struct db *db, db_write_fn fn, void *arg,
	    int64_t deadline_at) WUR;
/* Roll back what is still open on pc and return it to its pool. */
void	db_write_end(struct pconn *pc);

#endif

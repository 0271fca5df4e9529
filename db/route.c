/*
 * route.c: which database a call goes to.
 *
 * Reads go to the local database and, when it does not answer, to the
 * peer's (a database found down is skipped until it answers a probe);
 * writes go to the primary, found by asking each database whether it is
 * in recovery, and in a pair only while that primary has a synchronous
 * standby.  Key writes ask in
 * the statement that writes (db_write); the rest in a transaction they
 * then commit (db_write_begin).
 */
#include <stdatomic.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

/* Dead pooled connections a write may skip: more than a pool holds. */
#define DEAD_MAX	256

/* Order pools (two, NULLs allowed): those recently down go last. */
static void
order_pools(struct pool *pools[2])
{
	struct pool *t;

	if (pools[0] != NULL && pools[1] != NULL && pool_down(pools[0]) &&
	    !pool_down(pools[1])) {
		t = pools[0];
		pools[0] = pools[1];
		pools[1] = t;
	}
}

/*
 * Run fn on the first of pools[0..n) that answers; see db_read.  *which,
 * when not NULL, receives the index of the pool that answered (or -1).
 */
static enum kw_err
read_pools(struct pool *const *pools, int npools, db_read_fn fn, void *arg,
    int *which)
{
	struct pconn *pc;
	enum kw_err rc = KW_EDB;
	enum pc_broken broken;
	int i, try, reused;

	for (i = 0; i < npools; i++) {
		/*
		 * A database found down (by this path or the cluster monitor,
		 * which clears the mark as soon as it answers again) is not
		 * tried: each try could cost a connect timeout, and a request
		 * reads several times.  Fail fast; the client tries the other
		 * node.
		 */
		if (pools[i] == NULL || pool_down(pools[i]))
			continue;
		for (try = 0; try < 2; try++) {
			if (pool_get(pools[i], DB_BORROW_MS, &pc) != KW_OK) {
				rc = KW_EDB;
				break;
			}
			rc = fn(pc, arg);
			broken = pc->broken;
			reused = pc->reused;
			pool_put(pc);
			if (broken == PC_OK) {
				if (which != NULL)
					*which = i;
				return rc;
			}
			/*
			 * A pooled connection may have died with a server
			 * restart: one more try on a new one.  A timeout or a
			 * new connection failing means this database is not
			 * answering.
			 */
			if (broken != PC_CONNERR || !reused)
				break;
		}
		rc = KW_EDB;
	}
	return rc;
}

enum kw_err
db_read(struct db *db, db_read_fn fn, void *arg)
{
	struct pool *pools[2] = { db->local, db->peer };

	order_pools(pools);
	return read_pools(pools, 2, fn, arg, NULL);
}

enum kw_err
db_read_local(struct db *db, db_read_fn fn, void *arg)
{
	return read_pools(&db->local, 1, fn, arg, NULL);
}

enum kw_err
db_read_one(struct pool *p, db_read_fn fn, void *arg)
{
	return read_pools(&p, 1, fn, arg, NULL);
}

enum kw_err
db_read_settled(struct db *db, db_read_fn fn, void *arg, enum rd_mode *mode)
{
	struct pool *pools[2] = { db->local, db->peer };
	struct pool *other;
	int which = -1;
	enum kw_err rc;

	order_pools(pools);
	*mode = RD_ANY;
	rc = read_pools(pools, 2, fn, arg, &which);
	if (rc != KW_EPENDING || which < 0)
		return rc;
	/*
	 * A primary holds rows the answer needs that may not be on the
	 * standby.  What the standby holds is on both databases: its answer
	 * stands.  When it cannot give one (down, frozen, not a standby),
	 * the primary answers from settled rows only.
	 */
	other = pools[1 - which];
	/* (not when it just failed to answer this very read: which is 1) */
	if (other != NULL && which == 0 && !pool_down(other)) {
		*mode = RD_STANDBY;
		rc = read_pools(&other, 1, fn, arg, NULL);
		if (rc != KW_EPENDING && rc != KW_EDB)
			return rc;
	}
	*mode = RD_SETTLED;
	rc = read_pools(&pools[which], 1, fn, arg, NULL);
	return rc == KW_EPENDING ? KW_EUNCONFIRMED : rc;
}

/*
 * Begin a transaction on p if it is a primary and, when need_sync, has a
 * standby streaming in sync mode right now (checked in the same round
 * trip, so a write never rests on a stale monitor view alone).  KW_OK
 * with *out set; otherwise *why says what p is.
 */
static enum kw_err
begin_on(struct pool *p, int need_sync, struct pconn **out, const char **why)
{
	struct pconn *pc;
	PGresult *r;
	enum pc_broken b;
	int try, reused, standby, insync;

	*why = "not answering";
	for (try = 0; try < 2; try++) {
		if (pool_get(p, DB_BORROW_MS, &pc) != KW_OK)
			return KW_EDB;
		r = pc_exec(pc, "BEGIN; SELECT pg_is_in_recovery(), "
		    DB_SYNC_STANDBY, DB_OP_DEADLINE_MS);
		if (r == NULL) {
			b = pc->broken;
			reused = pc->reused;
			pool_put(pc);
			if (b == PC_CONNERR && reused)
				continue;	/* maybe only this connection */
			return KW_EDB;
		}
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
			pc_log_error(pc, "begin", NULL, r);
			PQclear(r);
			db_write_end(pc);
			return KW_EDB;
		}
		standby = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		insync = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
		PQclear(r);
		if (standby) {
			*why = "a standby";
			db_write_end(pc);
			return KW_EUNAVAIL;
		}
		if (need_sync && !insync) {
			*why = "a primary without a synchronous standby";
			db_write_end(pc);
			return KW_EUNAVAIL;
		}
		*out = pc;
		return KW_OK;
	}
	return KW_EDB;
}

/*
 * Which database a write tries first: the one that was primary last time
 * (on the passive's server, the peer), unless it is known to be down: a
 * standby that froze would otherwise cost every write a deadline before
 * it reaches the primary.
 */
static void
write_order(struct db *db, int order[2])
{
	order[0] = 0;
	order[1] = 1;
	if (db->peer != NULL &&
	    ((atomic_load(&db->primary_hint) == 1 && !pool_down(db->peer)) ||
	    (pool_down(db->local) && !pool_down(db->peer)))) {
		order[0] = 1;
		order[1] = 0;
	}
}

enum kw_err
db_write_begin(struct db *db, struct pconn **out)
{
	struct pool *pools[2] = { db->local, db->peer };
	const char *why[2] = { "not answering", "not configured" };
	int order[2], k, i;

	/*
	 * The primary is the database not in recovery; in a pair it must
	 * also have a synchronous standby (the server's cluster monitor
	 * refuses writes earlier, with the reason, when the pair is not
	 * healthy; this is the last check, inside the transaction).
	 */
	*out = NULL;
	write_order(db, order);
	for (k = 0; k < 2; k++) {
		i = order[k];
		if (pools[i] != NULL && begin_on(pools[i], db->peer != NULL, out,
		    &why[i]) == KW_OK) {
			atomic_store(&db->primary_hint, i);
			return KW_OK;
		}
	}
	log_warnx("write refused: no primary database (local %s, peer %s)",
	    why[0], why[1]);
	return KW_EUNAVAIL;
}

/* One write attempt through pool p; see db_write and db_write_fn. */
static enum kw_err
write_on(struct pool *p, int need_sync, db_write_fn fn, void *arg,
    const char **why, int64_t deadline_at)
{
	int64_t left;
	struct pconn *pc;
	enum kw_err rc;
	enum pc_broken b;
	int try = 0, dead = 0, reused;

	/* Dead connections found idle cost no round trip: skip them all. */
	while (try < 2 && dead <= DEAD_MAX) {
		*why = "not answering";
		if ((left = deadline_at - db_mono_ms()) < 1 ||
		    pool_get(p, left > DB_BORROW_MS ? DB_BORROW_MS : (int)left,
		    &pc) != KW_OK)
			return KW_EUNAVAIL;
		/*
		 * A write cannot be retried once sent (its outcome would be
		 * unknown), so find out before sending whether the server
		 * dropped this pooled connection (a restart, a rejoin).
		 */
		if (pc->reused && !pc_idle_ok(pc)) {
			pc->broken = PC_CONNERR;
			pool_put(pc);
			dead++;
			continue;
		}
		try++;
		rc = fn(pc, need_sync, arg, why);
		b = pc->broken;
		reused = pc->reused;
		db_write_end(pc);
		/* fn wrote nothing: maybe only this connection failed */
		if (rc == KW_EUNAVAIL && b == PC_CONNERR && reused)
			continue;
		return rc;
	}
	*why = "not answering";
	return KW_EUNAVAIL;
}

enum kw_err
db_write(struct db *db, db_write_fn fn, void *arg)
{
	return db_write_by(db, fn, arg, db_mono_ms() + DB_BORROW_MS);
}

enum kw_err
db_write_by(struct db *db, db_write_fn fn, void *arg, int64_t deadline_at)
{
	struct pool *pools[2] = { db->local, db->peer };
	const char *why[2] = { "not answering", "not configured" };
	int order[2], k, i;
	enum kw_err rc;

	write_order(db, order);
	for (k = 0; k < 2; k++) {
		i = order[k];
		if (pools[i] == NULL)
			continue;
		rc = write_on(pools[i], db->peer != NULL, fn, arg, &why[i],
		    deadline_at);
		if (rc == KW_EUNAVAIL)
			continue;	/* nothing written there: the other */
		if (rc == KW_OK)
			atomic_store(&db->primary_hint, i);
		return rc;
	}
	log_warnx("write refused: no primary database (local %s, peer %s)",
	    why[0], why[1]);
	return KW_EUNAVAIL;
}

void
db_write_end(struct pconn *pc)
{
	PGresult *r;
	PGTransactionStatusType ts;

	if (pc == NULL)
		return;
	if (pc->broken == PC_OK) {
		ts = PQtransactionStatus(pc->conn);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			r = pc_exec(pc, "ROLLBACK", DB_DEADLINE_MS);
			if (r != NULL && !pc_res_ok(r)) {
				pc_log_error(pc, "rollback", NULL, r);
				pc->broken = PC_DISCARD;
			}
			PQclear(r);
		} else if (ts != PQTRANS_IDLE)
			pc->broken = PC_DISCARD;	/* unknown state */
	}
	pool_put(pc);
}

/*
 * cluster.c: probing the two databases of a pair and deciding whether
 * writes may be admitted.
 *
 * Owns the probe SQL and the admission rule of DESIGN.md section 4:
 * exactly one database answers as primary, and (when a peer is
 * configured) the other streams from it as a synchronous standby whose
 * last reply is fresh.  A single node (no db.peer) is writable while its
 * database is primary: that is the development set-up, not a pair.  The
 * probe also tells the read path which database is down, so reads skip
 * a frozen database without waiting for it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "pool.h"
#include "reason.h"
#include "../lib/log.h"

/*
 * One round trip per database: in recovery or not, and the primary's
 * best standby (sync first, freshest reply first).  pg_current_wal_lsn()
 * fails on a standby, hence the CASE.
 */
static const char probe_sql[] =
    "SELECT pg_is_in_recovery(), r.application_name, r.state, r.sync_state,"
    " COALESCE(GREATEST(0,"
    " (EXTRACT(EPOCH FROM (now() - r.reply_time)) * 1000)::bigint), -1),"
    " CASE WHEN pg_is_in_recovery() OR r.replay_lsn IS NULL THEN -1"
    " ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn)::bigint END"
    " FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    " (SELECT * FROM pg_stat_replication"
    " ORDER BY (sync_state = 'sync') DESC, reply_time DESC NULLS LAST"
    " LIMIT 1) AS r ON true";

const char *
db_role_name(enum db_role r)
{
	switch (r) {
	case DB_ROLE_PRIMARY:
		return "primary";
	case DB_ROLE_STANDBY:
		return "standby";
	default:
		return "down";
	}
}

const char *
db_refusal_name(enum db_refusal r)
{
	static const char *const names[DB_REFUSE_MAX] = {
		[DB_REFUSE_NONE] = "none",
		[DB_REFUSE_LOCAL_NOT_PRIMARY] = "local_not_primary",
		[DB_REFUSE_SPLIT_BRAIN] = "split_brain",
		[DB_REFUSE_NO_PRIMARY] = "no_primary",
		[DB_REFUSE_STANDBY_DOWN] = "standby_down",
		[DB_REFUSE_NOT_REPLICATING] = "standby_not_replicating",
		[DB_REFUSE_NOT_SYNC] = "standby_not_sync",
		[DB_REFUSE_STANDBY_STALE] = "standby_stale",
		[DB_REFUSE_MONITOR_STALLED] = "monitor_stalled",
	};

	if ((unsigned)r >= DB_REFUSE_MAX || names[r] == NULL)
		return "other";
	return names[r];
}

static void
copy_field(char *dst, size_t len, const PGresult *r, int col)
{
	snprintf(dst, len, "%s", PQgetisnull(r, 0, col) ? "" :
	    PQgetvalue(r, 0, col));
}

/*
 * cache_epoch of the database on pc (002_cache_epoch.sql, summed over
 * the slots of 007_cache_epoch_slots.sql), or -1;
 * with it, into kek (17 bytes), the active master key's id (005), "" when
 * unknown.
 */
static int64_t
read_epoch(struct pconn *pc, int timeout_ms, char *kek)
{
	PGresult *r;
	int64_t e = -1;

	/* the sum of the slots (007_cache_epoch_slots.sql) */
	r = pc_exec(pc, "SELECT (SELECT sum(epoch) FROM cache_epoch)::bigint,"
	    " k.kek_id FROM (SELECT 1) AS one LEFT JOIN kek_check k"
	    " ON k.id = 1", timeout_ms);
	if (r != NULL && PQresultStatus(r) == PGRES_TUPLES_OK &&
	    PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		e = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		if (!PQgetisnull(r, 0, 1) && PQgetlength(r, 0, 1) < 17)
			snprintf(kek, 17, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return e;
}

/*
 * ns->error is for anyone (the health and cluster endpoints need no
 * identity): keyward's words only.  libpq's detail, which names host,
 * port and user, goes to the log, once each time the reason changes
 * (was: the last probe's result, or NULL).
 */
static void
set_error(struct pool *p, struct db_node_state *ns,
    const struct db_node_state *was, const char *reason, const char *detail)
{
	snprintf(ns->error, sizeof(ns->error), "%s", reason);
	if (was == NULL || strcmp(was->error, ns->error) != 0)
		log_warnx("%s database: %s: %s", pool_label(p), reason, detail);
}

/*
 * Probe one database through pool p into ns (and repl when primary);
 * *epoch, when not NULL, receives its cache_epoch and kek the active
 * master key's id.
 */
static void
probe_one(struct pool *p, int timeout_ms, struct db_node_state *ns,
    const struct db_node_state *was, struct db_repl_state *repl,
    int64_t *epoch, char *kek)
{
	struct pconn *pc;
	PGresult *r;
	int64_t t0 = db_mono_ms();
	char line[512];
	const char *msg;

	ns->configured = 1;
	ns->role = DB_ROLE_DOWN;
	if (pool_get(p, timeout_ms, &pc) != KW_OK) {
		msg = pool_conn_error(p, line, sizeof(line));
		set_error(p, ns, was, db_reason(msg, "cannot connect"), msg);
		goto out;
	}
	r = pc_exec(pc, probe_sql, timeout_ms);
	if (r == NULL) {
		msg = db_oneline(PQerrorMessage(pc->conn), line, sizeof(line));
		if (pc->broken == PC_TIMEOUT)
			set_error(p, ns, was, "not answering within the probe "
			    "deadline (frozen or overloaded?)", msg);
		else
			set_error(p, ns, was, db_reason(msg, "probe failed"),
			    msg);
		pool_put(pc);
		goto out;
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		set_error(p, ns, was, db_reason(PQresultErrorMessage(r),
		    "probe failed"), db_oneline(PQresultErrorMessage(r), line,
		    sizeof(line)));
		PQclear(r);
		pool_put(pc);
		goto out;
	}
	ns->role = strcmp(PQgetvalue(r, 0, 0), "t") == 0 ? DB_ROLE_STANDBY :
	    DB_ROLE_PRIMARY;
	ns->error[0] = '\0';
	if (ns->role == DB_ROLE_PRIMARY && repl != NULL &&
	    !PQgetisnull(r, 0, 2)) {
		repl->present = 1;
		copy_field(repl->app_name, sizeof(repl->app_name), r, 1);
		copy_field(repl->state, sizeof(repl->state), r, 2);
		copy_field(repl->sync_state, sizeof(repl->sync_state), r, 3);
		repl->reply_age_ms = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
		repl->lag_bytes = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	}
	PQclear(r);
	if (epoch != NULL)
		*epoch = read_epoch(pc, timeout_ms, kek);
	pool_put(pc);
out:
	ns->probe_ms = db_mono_ms() - t0;
	/* a connect that timed out is slowness too; a refusal is not */
	if (ns->role == DB_ROLE_DOWN && ns->probe_ms >= timeout_ms / 2)
		ns->slow = 1;
}

/* Set out->refusal and out->why (truncated when long). */
static void __attribute__((format(printf, 3, 4)))
set_why(struct db_cluster_state *out, enum db_refusal code,
    const char *fmt, ...)
{
	va_list ap;

	out->refusal = code;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
}

/* "down (error)", "standby", ... for one node, into buf. */
static const char *
node_text(const struct db_node_state *n, char *buf, size_t len)
{
	if (n->error[0] != '\0')
		snprintf(buf, len, "%s (%.100s)", db_role_name(n->role), n->error);
	else
		snprintf(buf, len, "%s", db_role_name(n->role));
	return buf;
}

/* Decide writability from the probed states; fills out->why. */
static void
decide(struct db_cluster_state *out, int stale_ms, const char *lname,
    const char *pname)
{
	const struct db_node_state *l = &out->local, *p = &out->peer;
	const struct db_repl_state *rp = &out->repl;
	const char *sname;
	const struct db_node_state *standby;
	char a[128], b[128];

	out->readable = l->role != DB_ROLE_DOWN ||
	    (p->configured && p->role != DB_ROLE_DOWN);
	out->writable = 0;
	if (!p->configured) {
		if (l->role == DB_ROLE_PRIMARY)
			out->writable = 1;
		else
			set_why(out, DB_REFUSE_LOCAL_NOT_PRIMARY,
			    "database of %s is %s", lname,
			    node_text(l, a, sizeof(a)));
		return;
	}
	if (l->role == DB_ROLE_PRIMARY && p->role == DB_ROLE_PRIMARY) {
		set_why(out, DB_REFUSE_SPLIT_BRAIN, "both databases (%s and "
		    "%s) answer as primary: split brain, writes refused until "
		    "one is rejoined as standby", lname, pname);
		return;
	}
	if (l->role != DB_ROLE_PRIMARY && p->role != DB_ROLE_PRIMARY) {
		set_why(out, DB_REFUSE_NO_PRIMARY, "no primary database: %s is "
		    "%s, %s is %s", lname, node_text(l, a, sizeof(a)), pname,
		    node_text(p, b, sizeof(b)));
		return;
	}
	standby = l->role == DB_ROLE_PRIMARY ? p : l;
	sname = l->role == DB_ROLE_PRIMARY ? pname : lname;
	if (standby->role == DB_ROLE_DOWN) {
		set_why(out, DB_REFUSE_STANDBY_DOWN, "standby %s is down: %s",
		    sname, standby->error);
		return;
	}
	if (!rp->present) {
		set_why(out, DB_REFUSE_NOT_REPLICATING, "standby %s is not "
		    "replicating from the primary", sname);
		return;
	}
	if (strcmp(rp->state, "streaming") != 0 ||
	    strcmp(rp->sync_state, "sync") != 0) {
		set_why(out, DB_REFUSE_NOT_SYNC, "standby %s is not a "
		    "synchronous standby yet (state %s, sync_state %s)", sname,
		    rp->state, rp->sync_state);
		return;
	}
	if (rp->reply_age_ms < 0 || rp->reply_age_ms > stale_ms) {
		set_why(out, DB_REFUSE_STANDBY_STALE, "standby %s last replied "
		    "%lld ms ago (frozen or cut off?)", sname,
		    (long long)rp->reply_age_ms);
		return;
	}
	out->writable = 1;
}

/*
 * A first slow probe of a database that answered last time: keep what
 * it was (and, for a primary, its replication view) for one more round.
 */
static void
forgive_slow(struct db_node_state *n, const struct db_node_state *was,
    struct db_repl_state *repl, const struct db_repl_state *was_repl)
{
	if (!n->slow || was == NULL || was->role == DB_ROLE_DOWN || was->slow)
		return;
	n->role = was->role;
	if (was->role == DB_ROLE_PRIMARY && !repl->present)
		*repl = *was_repl;
}

void
db_cluster_probe(struct db *db, int timeout_ms, int stale_ms,
    const char *local_name, const char *peer_name,
    const struct db_cluster_state *prev, struct db_cluster_state *out)
{
	memset(out, 0, sizeof(*out));
	out->repl.reply_age_ms = -1;
	out->repl.lag_bytes = -1;
	out->cache_epoch = -1;
	probe_one(db->probe, timeout_ms, &out->local,
	    prev != NULL ? &prev->local : NULL, &out->repl, &out->cache_epoch,
	    out->active_kek);
	if (db->peer_probe != NULL)
		probe_one(db->peer_probe, timeout_ms, &out->peer,
		    prev != NULL ? &prev->peer : NULL, out->local.role == DB_ROLE_PRIMARY ? NULL : &out->repl,
		    out->cache_epoch < 0 ? &out->cache_epoch : NULL,
		    out->active_kek);
	if (prev != NULL) {
		if (out->local.slow)
			out->local.slow += prev->local.slow;
		if (out->peer.slow)
			out->peer.slow += prev->peer.slow;
		forgive_slow(&out->local, &prev->local, &out->repl, &prev->repl);
		forgive_slow(&out->peer, &prev->peer, &out->repl, &prev->repl);
	}
	decide(out, stale_ms, local_name, peer_name);
	out->at_ms = db_mono_ms();

	/* writes start with the primary the probe found */
	if (out->local.role == DB_ROLE_PRIMARY)
		atomic_store(&db->primary_hint, 0);
	else if (out->peer.role == DB_ROLE_PRIMARY)
		atomic_store(&db->primary_hint, 1);
	/* let the read path skip what did not answer */
	pool_mark(db->local, out->local.role == DB_ROLE_DOWN, 2 * timeout_ms +
	    DB_RETRY_MS);
	if (db->peer != NULL)
		pool_mark(db->peer, out->peer.role == DB_ROLE_DOWN,
		    2 * timeout_ms + DB_RETRY_MS);
}

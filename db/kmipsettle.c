/*
 * kmipsettle.c: the cluster monitor's settling of KMIP objects that
 * writes left unsettled on the primary (a cancelled commit, a server
 * that died between the acknowledgement and its settle), as settle.c
 * does for keys: list a bounded number of pending objects with their
 * revision, ask the standby which of those revisions it holds, settle
 * exactly those.  A revision the standby does not hold yet stays pending
 * until it does, or until a rewind removes it.  The id and revision lists
 * travel as PostgreSQL's own array text, so no quoting happens here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmipdb.h"
#include "keysql.h"
#include "../lib/log.h"

/* After kmipsql.c's statements (KM_INSERT = NC_FIRST + 8, seven). */
enum { KS_UNSETTLED = NC_FIRST + 18, KS_ON_STANDBY, KS_SWEEP, KS_MAX };
_Static_assert(KS_MAX <= DB_MAX_STMTS, "too many prepared statements");

static const Oid t_max[] = { DB_OID_INT4 };
static const Oid t_lists[] = { DB_OID_TEXT, DB_OID_TEXT };

static const struct db_stmt ks_stmts[KS_MAX - KS_UNSETTLED] = {
	/* Up to $1 pending objects: uids, revs (array text), how many. */
	[KS_UNSETTLED - KS_UNSETTLED] = { "kw_kmip_unsettled",
	    "SELECT COALESCE(array_agg(uid)::text, '{}'),"
	    " COALESCE(array_agg(rev)::text, '{}'), count(*)"
	    " FROM (SELECT uid, rev FROM kmip_objects WHERE pending"
	    " LIMIT $1) p", 1, t_max },
	/* Which of objects $1 at revisions $2 this database holds, and
	 * whether it is a standby. */
	[KS_ON_STANDBY - KS_UNSETTLED] = { "kw_kmip_on_standby",
	    "SELECT pg_is_in_recovery(),"
	    " COALESCE(array_agg(o.uid)::text, '{}'),"
	    " COALESCE(array_agg(o.rev)::text, '{}'), count(o.uid)"
	    " FROM unnest($1::text[], $2::bigint[]) AS u(uid, rev)"
	    " JOIN kmip_objects o ON o.uid = u.uid AND o.rev = u.rev",
	    2, t_lists },
	/* Settle objects $1 at revisions $2 (held by both databases). */
	[KS_SWEEP - KS_UNSETTLED] = { "kw_kmip_sweep",
	    "WITH c AS (SELECT set_config('synchronous_commit', 'local',"
	    " true) AS s),"
	    " u AS (UPDATE kmip_objects o SET pending = false"
	    " FROM unnest($1::text[], $2::bigint[]) AS x(uid, rev)"
	    " WHERE o.uid = x.uid AND o.rev = x.rev AND o.pending"
	    " RETURNING 1)"
	    " SELECT (SELECT s FROM c), (SELECT count(*) FROM u)",
	    2, t_lists },
};

/* One sweep: the lists between the statements, and its count. */
struct ks_sweep {
	int	 max;
	char	*uids, *revs;
	int	 n, standby_ok;
};

/* Run ks_stmts[id] with vals; the result, or NULL (logged) */
static PGresult *
ks_run(struct pconn *pc, int id, const char *const *vals, const char *what)
{
	PGresult *r;

	r = pc_prepared(pc, id, &ks_stmts[id - KS_UNSETTLED], vals, NULL,
	    NULL, 0, DB_OP_DEADLINE_MS);
	if (r != NULL && !pc_res_ok(r)) {
		log_warnx("settling KMIP objects: %s: %s", what,
		    pc_sqlstate(r));
		PQclear(r);
		r = NULL;
	}
	return r;
}

/* Replace the lists and count with row 0's columns from col on. */
static enum kw_err
ks_take(struct ks_sweep *s, const PGresult *r, int col)
{
	int64_t n;

	free(s->uids);
	free(s->revs);
	s->uids = s->revs = NULL;
	if (key_get_str(r, 0, col, &s->uids) == -1 ||
	    key_get_str(r, 0, col + 1, &s->revs) == -1 ||
	    key_get_int(r, 0, col + 2, &n) == -1 || s->uids == NULL ||
	    s->revs == NULL)
		return KW_ENOMEM;
	s->n = (int)n;
	return KW_OK;
}

static enum kw_err
unsettled_fn(struct pconn *pc, void *arg)
{
	struct ks_sweep *s = arg;
	char maxbuf[16];
	const char *vals[1] = { maxbuf };
	PGresult *r;
	enum kw_err rc;

	snprintf(maxbuf, sizeof(maxbuf), "%d", s->max);
	if ((r = ks_run(pc, KS_UNSETTLED, vals, "list pending")) == NULL)
		return KW_EDB;
	rc = ks_take(s, r, 0);
	PQclear(r);
	return rc;
}

static enum kw_err
on_standby_fn(struct pconn *pc, void *arg)
{
	struct ks_sweep *s = arg;
	const char *vals[2] = { s->uids, s->revs };
	PGresult *r;
	enum kw_err rc;

	if ((r = ks_run(pc, KS_ON_STANDBY, vals, "ask the standby")) == NULL)
		return KW_EDB;
	s->standby_ok = key_get_bool(r, 0, 0);
	rc = ks_take(s, r, 1);
	PQclear(r);
	return rc;
}

static enum kw_err
sweep_fn(struct pconn *pc, void *arg)
{
	struct ks_sweep *s = arg;
	const char *vals[2] = { s->uids, s->revs };
	PGresult *r;
	int64_t n;

	if ((r = ks_run(pc, KS_SWEEP, vals, "settle")) == NULL)
		return KW_EDB;
	s->n = key_get_int(r, 0, 1, &n) == 0 ? (int)n : 0;
	PQclear(r);
	return KW_OK;
}

int
db_kmip_settle(struct db *db, int max)
{
	struct ks_sweep s = { .max = max };
	struct pool *primary, *standby;
	int n = -1;

	if (db->peer_probe == NULL)	/* db_settle settles all on a lone node */
		return 0;
	settle_probes(db, &primary, &standby);
	if (db_read_one(primary, unsettled_fn, &s) != KW_OK)
		goto out;
	n = 0;
	if (s.n == 0)
		goto out;
	if (db_read_one(standby, on_standby_fn, &s) != KW_OK ||
	    !s.standby_ok || s.n == 0)
		goto out;
	n = db_read_one(primary, sweep_fn, &s) == KW_OK ? s.n : -1;
	if (n > 0)
		log_info("settled %d KMIP objects the standby was found to "
		    "hold", n);
out:
	free(s.uids);
	free(s.revs);
	return n;
}

/*
 * kmipsql.c: the statements about KMIP objects (008_kmip.sql) and their
 * routing: writes guarded in the statement that writes, acknowledged by
 * both databases and settled right after; reads failing over through
 * db_read_settled, judging pending rows as keyread.c does for keys.
 * What the objects mean is kmip/objects.c's business.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmipdb.h"
#include "keysql.h"
#include "../lib/log.h"

/* After nodeconf's, with room for its growth. */
enum {
	KM_INSERT = NC_FIRST + 8, KM_UPDATE, KM_SETTLE, KM_GET, KM_LOCATE,
	KM_RW_FETCH, KM_RW_STORE, KM_MAX
};
_Static_assert(KM_MAX <= DB_MAX_STMTS, "too many prepared statements");

#define KM_COLS	"uid, object_type, state, algorithm, length, usage_mask," \
		" attrs::text, kek_id, wrapped, initial_ms, activation_ms," \
		" deactivation_ms, compromise_ms, destroy_ms, revocation," \
		" last_change_ms, rev, pg_is_in_recovery(), pending"
#define SETTLE_DEADLINE_MS	1000

#define NO_SYNC	"c AS (SELECT set_config('synchronous_commit', 'off', true)" \
		" AS s)"

static const Oid t_insert[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_INT4,
	DB_OID_INT4, DB_OID_INT4, DB_OID_INT4, DB_OID_INT4, DB_OID_TEXT,
	DB_OID_TEXT, DB_OID_BYTEA, DB_OID_INT8, DB_OID_INT8 };
static const Oid t_update[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_INT4,
	DB_OID_INT4, DB_OID_TEXT, DB_OID_BOOL, DB_OID_INT8, DB_OID_INT8,
	DB_OID_INT8, DB_OID_INT8, DB_OID_INT4, DB_OID_INT8 };
static const Oid t_settle[] = { DB_OID_TEXT, DB_OID_INT8 };
static const Oid t_get[] = { DB_OID_TEXT };
static const Oid t_rw_fetch[] = { DB_OID_TEXT, DB_OID_INT4 };
static const Oid t_rw_store[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_INT8,
	DB_OID_TEXT, DB_OID_TEXT, DB_OID_BYTEA };
static const Oid t_locate[] = { DB_OID_INT4, DB_OID_INT4, DB_OID_TEXT,
	DB_OID_BOOL, DB_OID_INT4 };

static const struct db_stmt km_stmts[KM_MAX - KM_INSERT] = {
	/* A new object, pending: uid $2, type $3, state $4, algorithm $5,
	 * length $6, mask $7, attrs $8, KEK $9, wrapped $10, initial $11,
	 * activation $12 (NULL: none). */
	[KM_INSERT - KM_INSERT] = { "kw_kmip_insert",
	    "WITH " WRITE_OK ","
	    " i AS (INSERT INTO kmip_objects (uid, object_type, state,"
	    " algorithm, length, usage_mask, attrs, kek_id, wrapped,"
	    " initial_ms, activation_ms, last_change_ms, rev, pending)"
	    " SELECT $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12,"
	    " $11, 1, true FROM ok WHERE ok.ok RETURNING rev)"
	    " SELECT ok.ok, (SELECT count(*) FROM i), 1 FROM ok",
	    12, t_insert },
	/* Object $2 at rev $12: state $3, mask $4, attrs $5, drop the
	 * material when $6, activation .. destroy dates $7..$10 (ms, NULL
	 * none), revocation reason $11. */
	[KM_UPDATE - KM_INSERT] = { "kw_kmip_update",
	    "WITH " WRITE_OK ","
	    " u AS (UPDATE kmip_objects SET state = $3, usage_mask = $4,"
	    " attrs = $5::jsonb,"
	    " kek_id = CASE WHEN $6 THEN NULL ELSE kek_id END,"
	    " wrapped = CASE WHEN $6 THEN NULL ELSE wrapped END,"
	    " activation_ms = $7, deactivation_ms = $8, compromise_ms = $9,"
	    " destroy_ms = $10, revocation = $11,"
	    " last_change_ms = " MS_NOW ", rev = rev + 1, pending = true"
	    " WHERE uid = $2 AND rev = $12 AND (SELECT ok FROM ok)"
	    " RETURNING rev)"
	    " SELECT ok.ok, (SELECT count(*) FROM u),"
	    " COALESCE((SELECT max(rev) FROM u), 0) FROM ok",
	    12, t_update },
	/* An acknowledged write of $1 at rev $2: it is on both databases. */
	[KM_SETTLE - KM_INSERT] = { "kw_kmip_settle",
	    "WITH " NO_SYNC ","
	    " u AS (UPDATE kmip_objects SET pending = false WHERE uid = $1"
	    " AND rev = $2 AND pending RETURNING 1)"
	    " SELECT (SELECT s FROM c), (SELECT count(*) FROM u)",
	    2, t_settle },
	[KM_GET - KM_INSERT] = { "kw_kmip_get",
	    "SELECT " KM_COLS " FROM kmip_objects WHERE uid = $1",
	    1, t_get },
	/* Type $1 and state $2 (0: any), attributes containing $3, settled
	 * rows only when $4, at most $5, oldest first: uid and first Name (the
	 * name key ACLs know it by), each row saying whether this is a standby
	 * and whether a pending row matched; one row of NULLs when none did. */
	[KM_LOCATE - KM_INSERT] = { "kw_kmip_locate",
	    "WITH m AS (SELECT uid, pending, attrs->'name'->>0 AS name,"
	    " initial_ms FROM kmip_objects"
	    " WHERE ($1 = 0 OR object_type = $1) AND ($2 = 0 OR state = $2)"
	    " AND attrs @> $3::jsonb AND (NOT $4 OR NOT pending)"
	    " ORDER BY initial_ms, uid LIMIT $5)"
	    " SELECT pg_is_in_recovery(),"
	    " COALESCE((SELECT bool_or(pending) FROM m), false), m.uid, m.name"
	    " FROM (SELECT 1) AS one LEFT JOIN m ON true"
	    " ORDER BY m.initial_ms, m.uid",
	    5, t_locate },
	/* Up to $2 objects wrapped under another KEK than $1. */
	[KM_RW_FETCH - KM_INSERT] = { "kw_kmip_rewrap_fetch",
	    "SELECT uid, kek_id, wrapped, rev FROM kmip_objects"
	    " WHERE kek_id IS NOT NULL AND kek_id <> $1 ORDER BY uid LIMIT $2",
	    2, t_rw_fetch },
	/* Object $2 at rev $3, still under KEK $4: now under $5 as $6 (the
	 * same material, so the revision stays). */
	[KM_RW_STORE - KM_INSERT] = { "kw_kmip_rewrap_store",
	    "WITH " WRITE_OK ","
	    " u AS (UPDATE kmip_objects SET kek_id = $5, wrapped = $6"
	    " WHERE uid = $2 AND rev = $3 AND kek_id = $4"
	    " AND (SELECT ok FROM ok) RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM u), 0 FROM ok",
	    6, t_rw_store },
};

static PGresult *
km_run(struct pconn *pc, int id, const char *const *vals, const int *lens,
    const int *fmts, int rfmt)
{
	return pc_prepared(pc, id, &km_stmts[id - KM_INSERT], vals, lens, fmts,
	    rfmt, DB_OP_DEADLINE_MS);
}

void
db_kmip_obj_clear(struct db_kmip_obj *o)
{
	if (o == NULL)
		return;
	free(o->attrs);
	free(o->wrapped);	/* wrapped: not a secret */
	memset(o, 0, sizeof(*o));
}

/* ------------------------------------------------------------ writes */

/* Settle what an acknowledged write made, on the primary, without
 * waiting for the standby (it holds the row: that is what the
 * acknowledgement said).  A failure only leaves the row for readers to
 * confirm with the standby. */
struct km_settle {
	const char	*uid;
	int64_t		 rev;
};

static enum kw_err
km_settle_fn(struct pconn *pc, int need_sync, void *arg, const char **why)
{
	struct km_settle *s = arg;
	char revbuf[24];
	const char *vals[2] = { s->uid, revbuf };
	PGresult *r;

	(void)need_sync;
	(void)why;
	snprintf(revbuf, sizeof(revbuf), "%lld", (long long)s->rev);
	if ((r = pc_prepared(pc, KM_SETTLE, &km_stmts[KM_SETTLE - KM_INSERT],
	    vals, NULL, NULL, 0, SETTLE_DEADLINE_MS)) == NULL ||
	    !pc_res_ok(r))
		log_debug("kmip object %s: could not settle its write yet (%s)",
		    s->uid, r == NULL ? "no answer" : pc_sqlstate(r));
	PQclear(r);
	return KW_OK;
}

/* Guarded write w of object uid, settled once acknowledged; w->rows and
 * w->extra (the new rev) are the statement's. */
static enum kw_err
km_write(struct db *db, const char *uid, struct guarded_write *w)
{
	struct km_settle s = { uid, 0 };
	enum kw_err rc;

	w->st = &km_stmts[w->id - KM_INSERT];
	if ((rc = guarded_write_run(db, w)) != KW_OK || w->rows != 1)
		return rc;
	s.rev = w->extra;
	if (db_write(db, km_settle_fn, &s) != KW_OK)
		log_debug("kmip object %s: settling deferred", uid);
	return KW_OK;
}

/* ms as a parameter: NULL for 0 (not set). */
static const char *
ms_param(int64_t ms, char *buf, size_t len)
{
	if (ms == 0)
		return NULL;
	snprintf(buf, len, "%lld", (long long)ms);
	return buf;
}

enum kw_err
db_kmip_insert(struct db *db, struct db_kmip_obj *o)
{
	char ty[16], stt[16], alg[16], len[16], mask[16], init[24], act[24];
	const char *vals[12];
	int lens[12] = { 0 }, fmts[12] = { 0 };
	struct guarded_write w = { .id = KM_INSERT };
	enum kw_err rc;

	snprintf(ty, sizeof(ty), "%d", o->object_type);
	snprintf(stt, sizeof(stt), "%d", o->state);
	snprintf(alg, sizeof(alg), "%d", o->algorithm);
	snprintf(len, sizeof(len), "%d", o->length);
	snprintf(mask, sizeof(mask), "%d", o->usage_mask);
	snprintf(init, sizeof(init), "%lld", (long long)o->initial_ms);
	vals[1] = o->uid;
	vals[2] = ty;
	vals[3] = stt;
	vals[4] = alg;
	vals[5] = len;
	vals[6] = mask;
	vals[7] = o->attrs != NULL ? o->attrs : "{}";
	vals[8] = o->kek_id;
	vals[9] = (const char *)o->wrapped;
	lens[9] = (int)o->wrapped_len;
	fmts[9] = 1;
	vals[10] = init;
	vals[11] = ms_param(o->activation_ms, act, sizeof(act));
	w.vals = vals;
	w.lens = lens;
	w.fmts = fmts;
	if ((rc = km_write(db, o->uid, &w)) != KW_OK)
		return rc;
	if (w.rows != 1)
		return KW_EDB;
	o->rev = 1;
	o->last_change_ms = o->initial_ms;
	return KW_OK;
}

enum kw_err
db_kmip_update(struct db *db, struct db_kmip_obj *o, int drop_material)
{
	char stt[16], mask[16], act[24], deact[24], comp[24], destr[24];
	char revo[16], rev[24];
	const char *vals[12];
	struct guarded_write w = { .id = KM_UPDATE };
	enum kw_err rc;

	snprintf(stt, sizeof(stt), "%d", o->state);
	snprintf(mask, sizeof(mask), "%d", o->usage_mask);
	snprintf(revo, sizeof(revo), "%d", o->revocation);
	snprintf(rev, sizeof(rev), "%lld", (long long)o->rev);
	vals[1] = o->uid;
	vals[2] = stt;
	vals[3] = mask;
	vals[4] = o->attrs != NULL ? o->attrs : "{}";
	vals[5] = drop_material ? "t" : "f";
	vals[6] = ms_param(o->activation_ms, act, sizeof(act));
	vals[7] = ms_param(o->deactivation_ms, deact, sizeof(deact));
	vals[8] = ms_param(o->compromise_ms, comp, sizeof(comp));
	vals[9] = ms_param(o->destroy_ms, destr, sizeof(destr));
	vals[10] = o->revocation != 0 ? revo : NULL;
	vals[11] = rev;
	w.vals = vals;
	if ((rc = km_write(db, o->uid, &w)) != KW_OK)
		return rc;
	if (w.rows != 1)
		return KW_ENOTFOUND;
	o->rev = w.extra;
	if (drop_material) {
		free(o->wrapped);
		o->wrapped = NULL;
		o->wrapped_len = 0;
		o->kek_id[0] = '\0';
	}
	return KW_OK;
}

/* ------------------------------------------------------------- reads */

/*
 * What a read in mode m makes of a row, given whether it ran on a
 * standby and whether the row (or a row the answer needs) is pending:
 * as judge() in keyread.c.
 */
static enum kw_err
km_judge(enum rd_mode m, int standby, int pending)
{
	if (standby)
		return KW_OK;
	if (m == RD_STANDBY)
		return KW_EPENDING;
	if (!pending)
		return KW_OK;
	return m == RD_ANY ? KW_EPENDING : KW_EUNCONFIRMED;
}

/* Nullable int8 column: 0 for NULL.  0 or -1. */
static int
km_ms(const PGresult *r, int col, int64_t *out)
{
	*out = 0;
	return PQgetisnull(r, 0, col) ? 0 : key_get_int(r, 0, col, out);
}

struct get_arg {
	enum rd_mode		 mode;
	const char		*uid;
	struct db_kmip_obj	*out;
};

static enum kw_err
km_row(struct pconn *pc, const PGresult *r, struct db_kmip_obj *o)
{
	int64_t v[6];
	int i, klen;

	for (i = 0; i < 5; i++)
		if (key_get_int(r, 0, i + 1, &v[i]) != 0)
			goto bad;
	o->object_type = (int32_t)v[0];
	o->state = (int32_t)v[1];
	o->algorithm = (int32_t)v[2];
	o->length = (int32_t)v[3];
	o->usage_mask = (int32_t)v[4];
	snprintf(o->uid, sizeof(o->uid), "%s", PQgetvalue(r, 0, 0));
	if (key_get_str(r, 0, 6, &o->attrs) != 0)
		return KW_ENOMEM;
	if (!PQgetisnull(r, 0, 8)) {
		klen = PQgetlength(r, 0, 7);
		if (klen > KEK_ID_MAX || PQgetisnull(r, 0, 7))
			goto bad;
		memcpy(o->kek_id, PQgetvalue(r, 0, 7), (size_t)klen);
		o->kek_id[klen] = '\0';
		o->wrapped_len = (size_t)PQgetlength(r, 0, 8);
		if ((o->wrapped = malloc(o->wrapped_len + 1)) == NULL)
			return KW_ENOMEM;
		memcpy(o->wrapped, PQgetvalue(r, 0, 8), o->wrapped_len);
	}
	if (key_get_int(r, 0, 9, &o->initial_ms) != 0 ||
	    km_ms(r, 10, &o->activation_ms) != 0 ||
	    km_ms(r, 11, &o->deactivation_ms) != 0 ||
	    km_ms(r, 12, &o->compromise_ms) != 0 ||
	    km_ms(r, 13, &o->destroy_ms) != 0 ||
	    km_ms(r, 14, &v[5]) != 0 ||
	    key_get_int(r, 0, 15, &o->last_change_ms) != 0 ||
	    key_get_int(r, 0, 16, &o->rev) != 0)
		goto bad;
	o->revocation = (int32_t)v[5];
	return KW_OK;
bad:
	pc_log_error(pc, "kmip object", o->uid, r);
	return KW_EDB;
}

static enum kw_err
get_fn(struct pconn *pc, void *arg)
{
	struct get_arg *a = arg;
	struct db_kmip_obj o;
	PGresult *r;
	enum kw_err rc;

	memset(&o, 0, sizeof(o));
	if ((r = km_run(pc, KM_GET, &a->uid, NULL, NULL, 1)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "kmip object", a->uid, r);
		goto out;
	}
	if (PQntuples(r) == 0) {
		rc = KW_ENOTFOUND;
		/* a primary's "none" is an answer; RD_STANDBY wants a standby */
		if (a->mode == RD_STANDBY)
			rc = KW_EPENDING;
		goto out;
	}
	if ((rc = km_judge(a->mode, key_get_bool(r, 0, 17),
	    key_get_bool(r, 0, 18))) != KW_OK)
		goto out;
	if ((rc = km_row(pc, r, &o)) != KW_OK) {
		db_kmip_obj_clear(&o);
		goto out;
	}
	db_kmip_obj_clear(a->out);
	*a->out = o;
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_kmip_get(struct db *db, const char *uid, struct db_kmip_obj *out)
{
	struct get_arg a = { RD_ANY, uid, out };
	struct km_settle st;
	enum kw_err rc;

	memset(out, 0, sizeof(*out));
	if (uid == NULL || strlen(uid) > DB_KMIP_UID_MAX)
		return KW_ENOTFOUND;
	rc = db_read_settled(db, get_fn, &a, &a.mode);
	/*
	 * The primary's row was pending and the standby answered: if the
	 * primary's row is at the revision the standby holds, it is on both
	 * databases, so settle it (a write its settle step missed, or a
	 * promoted standby's rows); otherwise the settle changes nothing.
	 */
	if (rc == KW_OK && a.mode == RD_STANDBY) {
		st.uid = out->uid;
		st.rev = out->rev;
		if (db_write(db, km_settle_fn, &st) != KW_OK)
			log_debug("kmip object %s: not settled yet", uid);
	}
	return rc;
}

struct locate_arg {
	enum rd_mode	 mode;
	const char	*vals[5];
	char		**uids;		/* out */
	char		**names;	/* out: first Names, NULL when none */
	size_t		 n;
};

static void
locate_clear(struct locate_arg *a)
{
	db_names_free(a->uids, a->n);
	db_names_free(a->names, a->n);
	a->uids = a->names = NULL;
	a->n = 0;
}

static enum kw_err
locate_fn(struct pconn *pc, void *arg)
{
	struct locate_arg *a = arg;
	PGresult *r;
	enum kw_err rc;
	int i, rows;

	locate_clear(a);	/* a retry starts over */
	a->vals[3] = a->mode == RD_SETTLED ? "t" : "f";
	if ((r = km_run(pc, KM_LOCATE, a->vals, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r) || (rows = PQntuples(r)) < 1) {
		rc = key_res_err(pc, "kmip locate", NULL, r);
		goto out;
	}
	if ((rc = km_judge(a->mode, key_get_bool(r, 0, 0),
	    key_get_bool(r, 0, 1))) != KW_OK)
		goto out;
	if ((a->uids = calloc((size_t)rows, sizeof(*a->uids))) == NULL ||
	    (a->names = calloc((size_t)rows, sizeof(*a->names))) == NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < rows; i++) {
		if (PQgetisnull(r, i, 2))	/* none matched */
			continue;
		if (PQgetlength(r, i, 2) > DB_KMIP_UID_MAX) {
			rc = KW_EDB;
			break;
		}
		if ((a->uids[a->n] = strdup(PQgetvalue(r, i, 2))) == NULL ||
		    (!PQgetisnull(r, i, 3) && (a->names[a->n] =
		    strdup(PQgetvalue(r, i, 3))) == NULL)) {
			a->n++;
			rc = KW_ENOMEM;
			break;
		}
		a->n++;
	}
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_kmip_locate(struct db *db, int32_t object_type, int32_t state,
    const char *match, int max, char ***uids, char ***names, size_t *n)
{
	struct locate_arg a;
	char ty[16], st[16], mx[16];
	enum kw_err rc;

	*uids = *names = NULL;
	*n = 0;
	memset(&a, 0, sizeof(a));
	snprintf(ty, sizeof(ty), "%d", object_type);
	snprintf(st, sizeof(st), "%d", state);
	snprintf(mx, sizeof(mx), "%d", max);
	a.vals[0] = ty;
	a.vals[1] = st;
	a.vals[2] = match != NULL ? match : "{}";
	a.vals[4] = mx;
	if ((rc = db_read_settled(db, locate_fn, &a, &a.mode)) != KW_OK) {
		locate_clear(&a);
		return rc;
	}
	*uids = a.uids;
	*names = a.names;
	*n = a.n;
	return KW_OK;
}

/* ------------------------------------------------------------ rewrap */

struct rw_arg {
	const char		*vals[2];
	struct db_kmip_rewrap	*rows;
	size_t			 n;
};

static enum kw_err
rw_fetch_fn(struct pconn *pc, void *arg)
{
	struct rw_arg *a = arg;
	struct db_kmip_rewrap *r;
	PGresult *res;
	int i, n, klen;
	enum kw_err rc = KW_OK;

	if ((res = km_run(pc, KM_RW_FETCH, a->vals, NULL, NULL, 1)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(res)) {
		rc = key_res_err(pc, "kmip rewrap", NULL, res);
		goto out;
	}
	n = PQntuples(res);
	if ((a->rows = calloc(n > 0 ? (size_t)n : 1, sizeof(*a->rows))) ==
	    NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		r = &a->rows[a->n];
		klen = PQgetlength(res, i, 1);
		if (klen > KEK_ID_MAX || PQgetlength(res, i, 0) >
		    DB_KMIP_UID_MAX || key_get_int(res, i, 3, &r->rev) != 0) {
			rc = KW_EDB;
			break;
		}
		snprintf(r->uid, sizeof(r->uid), "%s", PQgetvalue(res, i, 0));
		memcpy(r->kek_id, PQgetvalue(res, i, 1), (size_t)klen);
		r->kek_id[klen] = '\0';
		r->wrapped_len = (size_t)PQgetlength(res, i, 2);
		if ((r->wrapped = malloc(r->wrapped_len + 1)) == NULL) {
			rc = KW_ENOMEM;
			break;
		}
		memcpy(r->wrapped, PQgetvalue(res, i, 2), r->wrapped_len);
		a->n++;
	}
out:
	PQclear(res);
	return rc;
}

enum kw_err
db_kmip_rewrap_fetch(struct db *db, const char *active, int max,
    struct db_kmip_rewrap **rows, size_t *n)
{
	struct rw_arg a;
	char mx[16];
	enum kw_err rc;

	memset(&a, 0, sizeof(a));
	snprintf(mx, sizeof(mx), "%d", max);
	a.vals[0] = active;
	a.vals[1] = mx;
	if ((rc = db_read(db, rw_fetch_fn, &a)) != KW_OK) {
		db_kmip_rewrap_free(a.rows, a.n);
		a.rows = NULL;
		a.n = 0;
	}
	*rows = a.rows;
	*n = a.n;
	return rc;
}

void
db_kmip_rewrap_free(struct db_kmip_rewrap *rows, size_t n)
{
	size_t i;

	for (i = 0; rows != NULL && i < n; i++)
		free(rows[i].wrapped);
	free(rows);
}

enum kw_err
db_kmip_rewrap_store(struct db *db, const struct db_kmip_rewrap *row,
    const char *kek_id, const unsigned char *wrapped, size_t wlen, int *moved)
{
	struct guarded_write w = { .id = KM_RW_STORE };
	const char *vals[6];
	int lens[6] = { 0 }, fmts[6] = { 0 };
	char rev[24];
	enum kw_err rc;

	snprintf(rev, sizeof(rev), "%lld", (long long)row->rev);
	vals[1] = row->uid;
	vals[2] = rev;
	vals[3] = row->kek_id;
	vals[4] = kek_id;
	vals[5] = (const char *)wrapped;
	lens[5] = (int)wlen;
	fmts[5] = 1;
	w.st = &km_stmts[KM_RW_STORE - KM_INSERT];
	w.vals = vals;
	w.lens = lens;
	w.fmts = fmts;
	rc = guarded_write_run(db, &w);
	*moved = rc == KW_OK && w.rows == 1;
	return rc;
}

/*
 * keysql.c: every statement about keys, and the row decoding and error
 * mapping that db.c (writes), keyread.c (reads) and settle.c share.
 *
 * Statements are prepared per connection on first use, with the key name
 * always a parameter and bytea always binary.  Writes check the pair's
 * health in the statement that writes (WRITE_OK) and mark what they write
 * unsettled; reads return pg_is_in_recovery() and the unsettled flags so
 * the reader can tell whether its answer is known to be on both
 * databases (003_durability.sql, DURABILITY.md).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

#define VER_COLS	"v.version, v.kek_id, v.wrapped"
#define VER_FROM	" FROM keys k JOIN key_versions v ON v.key_id = k.id" \
			" WHERE k.name = $1"
/* after VER_COLS: is this a standby, is the row unsettled, is it deleted */
#define VER_FLAGS	", pg_is_in_recovery(), v.pending OR k.pending" \
			" OR k.deleting, k.deleting"
/* settling writes do not wait for the standby (DURABILITY.md) */
#define NO_SYNC_WAIT	"c AS (SELECT set_config('synchronous_commit'," \
			" 'off', true) AS s)"

static const Oid t_text[] = { DB_OID_TEXT };
static const Oid t_text_int4[] = { DB_OID_TEXT, DB_OID_INT4 };
static const Oid t_text_bool[] = { DB_OID_TEXT, DB_OID_BOOL };
static const Oid t_int8_int4[] = { DB_OID_INT8, DB_OID_INT4 };
static const Oid t_int8[] = { DB_OID_INT8 };
static const Oid t_int4[] = { DB_OID_INT4 };
static const Oid t_text2[] = { DB_OID_TEXT, DB_OID_TEXT };
static const Oid t_text4[] = { DB_OID_TEXT, DB_OID_TEXT, DB_OID_TEXT,
	DB_OID_TEXT };
static const Oid t_key_create[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_TEXT,
	DB_OID_INT4, DB_OID_TEXT, DB_OID_TEXT, DB_OID_INT8, DB_OID_TEXT,
	DB_OID_BYTEA };
static const Oid t_ver_roll[] = { DB_OID_BOOL, DB_OID_INT8, DB_OID_INT4,
	DB_OID_TEXT, DB_OID_BYTEA };
static const Oid t_key_delete[] = { DB_OID_BOOL, DB_OID_TEXT };

/* Writes answer one row (ok, rows written, key id); see write_stmt. */
const struct db_stmt key_stmts[ST_MAX] = {
	/* The key and its version 0 (wrapped beforehand) together. */
	[ST_KEY_CREATE] = { "kw_key_create",
	    "WITH " WRITE_OK ","
	    " k AS (INSERT INTO keys (name, cipher, length, description,"
	    " attributes, created_ms, pending) SELECT $2, $3, $4, $5, $6,"
	    " COALESCE($7, " MS_NOW "), true FROM ok WHERE ok.ok"
	    " RETURNING id, created_ms),"
	    " v AS (INSERT INTO key_versions (key_id, version, kek_id,"
	    " wrapped, created_ms, pending) SELECT id, 0, $8, $9, created_ms,"
	    " true FROM k RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM v), (SELECT id FROM k)"
	    " FROM ok",
	    9, t_key_create },
	/* What a rollover builds on; a standby says so rather than answer.
	 * A key being deleted is no longer there to roll. */
	[ST_KEY_CUR] = { "kw_key_cur",
	    "SELECT pg_is_in_recovery(), k.id, k.current_version, k.length"
	    " FROM (SELECT 1) AS one LEFT JOIN keys k ON k.name = $1"
	    " AND NOT k.deleting",
	    1, t_text },
	/*
	 * Append version $3 and make it current.  A concurrent rollover
	 * that took $3 first makes this fail on the primary key of
	 * key_versions (23505), a deleted key on its foreign key (23503).
	 */
	[ST_VER_ROLL] = { "kw_ver_roll",
	    "WITH " WRITE_OK ","
	    " v AS (INSERT INTO key_versions (key_id, version, kek_id,"
	    " wrapped, created_ms, pending) SELECT $2, $3, $4, $5, " MS_NOW
	    ", true FROM ok WHERE ok.ok RETURNING key_id, version),"
	    " u AS (UPDATE keys SET current_version = v.version FROM v"
	    " WHERE keys.id = v.key_id RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM u), $2 FROM ok",
	    5, t_ver_roll },
	/* A delete marks the key; settling removes it (DURABILITY.md). */
	[ST_KEY_DELETE] = { "kw_key_delete",
	    "WITH " WRITE_OK ","
	    " d AS (UPDATE keys SET deleting = true WHERE name = $2"
	    " AND (SELECT ok FROM ok) RETURNING id)"
	    " SELECT ok.ok, (SELECT count(*) FROM d), (SELECT min(id) FROM d)"
	    " FROM ok",
	    2, t_key_delete },
	/* An acknowledged create or rollover: its rows are on both. */
	[ST_SETTLE_WRITE] = { "kw_settle_write",
	    "WITH " NO_SYNC_WAIT ","
	    " v AS (UPDATE key_versions SET pending = false WHERE key_id = $1"
	    " AND version = $2 AND pending RETURNING 1),"
	    " k AS (UPDATE keys SET pending = false WHERE id = $1 AND pending"
	    " RETURNING 1)"
	    " SELECT (SELECT s FROM c), (SELECT count(*) FROM v),"
	    " (SELECT count(*) FROM k)",
	    2, t_int8_int4 },
	/* An acknowledged delete: the mark is on both, the row can go. */
	[ST_SETTLE_DELETE] = { "kw_settle_delete",
	    "WITH " NO_SYNC_WAIT ","
	    " d AS (DELETE FROM keys WHERE id = $1 AND deleting RETURNING 1)"
	    " SELECT (SELECT s FROM c), (SELECT count(*) FROM d)",
	    1, t_int8 },
	/*
	 * Reads.  $2 of kw_meta_get asks for the settled version count
	 * (RD_SETTLED on a primary) as well.
	 */
	[ST_META_GET] = { "kw_meta_get",
	    "SELECT k.name, k.cipher, k.length, k.description, k.attributes,"
	    " k.created_ms, k.current_version + 1, pg_is_in_recovery(),"
	    " k.pending OR k.deleting OR COALESCE(v.pending, false),"
	    " k.deleting, k.pending OR k.deleting,"
	    " CASE WHEN $2 THEN (SELECT max(s.version) + 1 FROM key_versions s"
	    " WHERE s.key_id = k.id AND NOT s.pending) END"
	    " FROM keys k LEFT JOIN key_versions v ON v.key_id = k.id"
	    " AND v.version = k.current_version WHERE k.name = $1",
	    2, t_text_bool },
	[ST_VER_GET] = { "kw_ver_get",
	    "SELECT " VER_COLS VER_FLAGS VER_FROM " AND v.version = $2",
	    2, t_text_int4 },
	/* One indexed lookup each: keys by name, key_versions by its key. */
	[ST_VER_CURRENT] = { "kw_ver_current",
	    "SELECT " VER_COLS VER_FLAGS VER_FROM
	    " AND v.version = k.current_version",
	    1, t_text },
	/* The newest settled version (RD_SETTLED on a primary). */
	[ST_VER_SETTLED] = { "kw_ver_settled",
	    "SELECT " VER_COLS ", pg_is_in_recovery(), k.pending OR k.deleting,"
	    " k.deleting" VER_FROM " AND NOT v.pending"
	    " ORDER BY v.version DESC LIMIT 1",
	    1, t_text },
	[ST_VER_ALL] = { "kw_ver_all",
	    "SELECT " VER_COLS VER_FLAGS VER_FROM " ORDER BY v.version",
	    1, t_text },
	/*
	 * Settling (settle.c).  What is unsettled on a primary: keys
	 * (version -1) and versions, at most $1 rows.
	 */
	[ST_UNSETTLED] = { "kw_unsettled",
	    "(SELECT id, -1, deleting FROM keys WHERE pending OR deleting"
	    " LIMIT $1) UNION ALL (SELECT key_id, version, false"
	    " FROM key_versions WHERE pending LIMIT $1)",
	    1, t_int4 },
	/* Which of those a standby holds: key row, deleting, version row. */
	[ST_ON_STANDBY] = { "kw_on_standby",
	    "SELECT u.id, u.version, k.id IS NOT NULL,"
	    " COALESCE(k.deleting, false), v.key_id IS NOT NULL,"
	    " pg_is_in_recovery()"
	    " FROM unnest($1::bigint[], $2::int[]) AS u(id, version)"
	    " LEFT JOIN keys k ON k.id = u.id"
	    " LEFT JOIN key_versions v ON v.key_id = u.id"
	    " AND v.version = u.version",
	    2, t_text2 },
	/*
	 * Settle on the primary what the standby was found to hold: keys
	 * $1, versions ($2, $3), deleted keys $4.  Cached answers built
	 * from settled rows only may now be short: move the cache epoch.
	 * Rows a writer is settling itself are skipped, not waited for
	 * (they settle either way; a row left over is taken next time), and
	 * the epoch slot is drawn at random, so the sweep, holding the rows
	 * it took, seldom waits for a rollover's commit on slot 1 (and
	 * writers settling their own rows for the sweep).  (A writer's own
	 * settle takes no such care: a row lock costs a WAL record a row.)
	 */
	[ST_SETTLE_SWEEP] = { "kw_settle_sweep",
	    "WITH " NO_SYNC_WAIT ","
	    " k AS (UPDATE keys SET pending = false WHERE id IN (SELECT id"
	    " FROM keys WHERE id = ANY ($1::bigint[]) AND pending"
	    " FOR UPDATE SKIP LOCKED) RETURNING 1),"
	    " v AS (UPDATE key_versions SET pending = false"
	    " WHERE (key_id, version) IN (SELECT s.key_id, s.version"
	    " FROM key_versions s JOIN unnest($2::bigint[], $3::int[])"
	    " AS u(id, version) ON s.key_id = u.id AND s.version = u.version"
	    " WHERE s.pending AND s.key_id <> ALL ($4::bigint[])"
	    " FOR UPDATE OF s SKIP LOCKED) RETURNING 1),"
	    " d AS (DELETE FROM keys WHERE id IN (SELECT id FROM keys"
	    " WHERE id = ANY ($4::bigint[]) AND deleting"
	    " FOR UPDATE SKIP LOCKED) RETURNING 1),"
	    " e AS (UPDATE cache_epoch SET epoch = epoch + 1"
	    " WHERE id = (SELECT 1 + floor(random() * 1024)::int)"
	    " AND (EXISTS (SELECT 1 FROM k) OR EXISTS (SELECT 1 FROM v))"
	    " RETURNING 1)"
	    " SELECT (SELECT s FROM c), (SELECT count(*) FROM k),"
	    " (SELECT count(*) FROM v), (SELECT count(*) FROM d),"
	    " (SELECT count(*) FROM e)",
	    4, t_text4 },
	/*
	 * Everything at once, asking no standby: on a database that is the
	 * only copy (a lone node, a restored or just promoted one: every
	 * row a standby held is on both).  Waits for no standby.
	 */
	[ST_SETTLE_ALL] = { "kw_settle_all",
	    "WITH c AS (SELECT set_config('synchronous_commit', 'local',"
	    " true) AS s),"
	    " d AS (DELETE FROM keys WHERE deleting RETURNING id),"
	    " k AS (UPDATE keys SET pending = false WHERE pending"
	    " AND NOT deleting RETURNING 1),"
	    " v AS (UPDATE key_versions SET pending = false WHERE pending"
	    " AND key_id NOT IN (SELECT id FROM keys WHERE deleting)"
	    " RETURNING 1),"
	    " o AS (UPDATE kmip_objects SET pending = false WHERE pending"
	    " RETURNING 1),"
	    " e AS (UPDATE cache_epoch SET epoch = epoch + 1 WHERE id = 1"
	    " AND (EXISTS (SELECT 1 FROM k) OR EXISTS (SELECT 1 FROM v))"
	    " RETURNING 1)"
	    " SELECT (SELECT s FROM c), (SELECT count(*) FROM d) +"
	    " (SELECT count(*) FROM k) + (SELECT count(*) FROM v) +"
	    " (SELECT count(*) FROM o),"
	    " (SELECT count(*) FROM e)",
	    0, NULL },
};

_Static_assert(ST_MAX <= DB_MAX_STMTS, "too many prepared statements");

PGresult *
key_run(struct pconn *pc, int id, const char *const *vals, const int *lens,
    const int *fmts, int rfmt)
{
	return pc_prepared(pc, id, &key_stmts[id], vals, lens, fmts, rfmt,
	    DB_OP_DEADLINE_MS);
}

enum kw_err
key_res_err(struct pconn *pc, const char *what, const char *name,
    const PGresult *r)
{
	const char *st = pc_sqlstate(r);

	if (strcmp(st, "23505") == 0)		/* unique_violation */
		return KW_EEXIST;
	/* data exceptions, not-null and check violations: bad input */
	if (strncmp(st, "22", 2) == 0 || strcmp(st, "23502") == 0 ||
	    strcmp(st, "23514") == 0) {
		log_debug("%s: key \"%s\": invalid (SQLSTATE %s)", what,
		    name != NULL ? name : "", st);
		return KW_EINVAL;
	}
	pc_log_error(pc, what, name, r);
	if (strcmp(st, "25006") == 0)		/* became a standby */
		return KW_EUNAVAIL;
	return KW_EDB;
}

int
key_get_int(const PGresult *r, int row, int col, int64_t *out)
{
	const unsigned char *p;
	const char *s;
	char *end;
	uint64_t u = 0;
	int i, len;
	long long ll;

	if (PQgetisnull(r, row, col))
		return -1;
	len = PQgetlength(r, row, col);
	if (PQfformat(r, col) == 1) {
		p = (const unsigned char *)PQgetvalue(r, row, col);
		if (len != 2 && len != 4 && len != 8)
			return -1;
		for (i = 0; i < len; i++)
			u = u << 8 | p[i];
		if (len == 2)
			*out = (int16_t)(uint16_t)u;
		else if (len == 4)
			*out = (int32_t)(uint32_t)u;
		else
			*out = (int64_t)u;
		return 0;
	}
	s = PQgetvalue(r, row, col);
	errno = 0;
	ll = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	*out = ll;
	return 0;
}

int
key_get_bool(const PGresult *r, int row, int col)
{
	const char *v;

	if (PQgetisnull(r, row, col))
		return 0;
	v = PQgetvalue(r, row, col);
	if (PQfformat(r, col) == 1)
		return PQgetlength(r, row, col) == 1 && v[0] != 0;
	return v[0] == 't';
}

int
key_get_str(const PGresult *r, int row, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col))
		return 0;
	return (*out = strdup(PQgetvalue(r, row, col))) == NULL ? -1 : 0;
}

enum kw_err
key_ver_from_row(struct pconn *pc, const PGresult *r, int row,
    struct db_key_version *v)
{
	int64_t ver;
	int klen, wlen;

	memset(v, 0, sizeof(*v));
	klen = PQgetlength(r, row, 1);
	wlen = PQgetlength(r, row, 2);
	if (key_get_int(r, row, 0, &ver) == -1 || ver < 0 ||
	    ver > UINT32_MAX || PQgetisnull(r, row, 1) || klen > KEK_ID_MAX ||
	    PQgetisnull(r, row, 2) || PQfformat(r, 2) != 1) {
		log_warnx("%s database: malformed key version row",
		    pool_label(pc->pool));
		return KW_EDB;
	}
	v->version = (uint32_t)ver;
	memcpy(v->kek_id, PQgetvalue(r, row, 1), (size_t)klen);
	v->kek_id[klen] = '\0';
	if ((v->wrapped = malloc(wlen > 0 ? (size_t)wlen : 1)) == NULL)
		return KW_ENOMEM;
	memcpy(v->wrapped, PQgetvalue(r, row, 2), (size_t)wlen);
	v->wrapped_len = (size_t)wlen;
	return KW_OK;
}

/* ------------------------------------------- guarded autocommit writes */

static enum kw_err
guarded_write_fn(struct pconn *pc, int need_sync, void *arg, const char **why)
{
	struct guarded_write *w = arg;
	const struct db_stmt *st = w->st;
	PGresult *r = NULL;
	int64_t left = w->deadline_at - db_mono_ms();
	enum kw_err rc;

	w->vals[0] = need_sync ? "t" : "f";
	rc = pc_commit_prepared(pc, w->id, st, w->vals, w->lens, w->fmts, 0,
	    left < 1 ? 1 : (int)left, &r);
	if (rc == KW_EDB) {
		if (r == NULL) {
			*why = "not answering";
			rc = KW_EUNAVAIL;
		} else if (strcmp(pc_sqlstate(r), "25006") == 0) {
			*why = "a standby";
			rc = KW_EUNAVAIL;
		} else
			rc = key_res_err(pc, st->name, NULL, r);
		PQclear(r);
		return rc;
	}
	if (rc != KW_OK)
		return rc;
	if (PQntuples(r) != 1 || PQnfields(r) != 3 || PQgetisnull(r, 0, 0) ||
	    key_get_int(r, 0, 1, &w->rows) != 0 ||
	    key_get_int(r, 0, 2, &w->extra) != 0) {
		pc_log_error(pc, st->name, NULL, r);
		rc = KW_EDB;
	} else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		*why = "a primary without a synchronous standby";
		rc = KW_EUNAVAIL;
	}
	PQclear(r);
	return rc;
}

enum kw_err
guarded_write_run(struct db *db, struct guarded_write *w)
{
	w->deadline_at = db_mono_ms() + db->commit_deadline_ms;
	w->rows = w->extra = 0;
	return db_write(db, guarded_write_fn, w);
}

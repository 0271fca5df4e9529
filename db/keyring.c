/*
 * keyring.c: the master keyring in the database (005_keyring.sql): which
 * KEK is active (kek_check), which KEKs each server holds (kek_holders),
 * how many versions each KEK wraps, rotation, and the rewrap's two
 * statements.
 *
 * Every write here is one autocommit statement under the write guard
 * (WRITE_OK) and the commit deadline, like the key writes in db.c: a
 * caller never sees a success that is not on both databases.  The rewrap
 * changes kek_id and wrapped of a version only where both are still
 * what it read, so two servers rewrapping at once, or a stale read, do
 * no harm; the material never changes (the caller rewraps the same
 * material and checks it, keystore.c).  Wrapping itself is not here:
 * this file sees only wrapped blobs, never a key.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

/* Statement ids follow keysql.c's (they share pconn.prepared). */
enum {
	KR_ACTIVE = ST_MAX, KR_USAGE, KR_REFS, KR_HOLDERS, KR_HOLD,
	KR_ACTIVATE, KR_FETCH_UP, KR_FETCH_DOWN, KR_STORE, KR_MAX
};
_Static_assert(KR_MAX <= NC_FIRST, "too many keyring statements");

static const Oid t_text[] = { DB_OID_TEXT };
static const Oid t_text_int4[] = { DB_OID_TEXT, DB_OID_INT4 };
static const Oid t_hold[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_TEXT,
	DB_OID_TEXT };
static const Oid t_activate[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_BYTEA,
	DB_OID_TEXT };
static const Oid t_store[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_TEXT,
	DB_OID_TEXT, DB_OID_TEXT, DB_OID_TEXT, DB_OID_TEXT };

/* Versions not under KEK $1, by two index range scans (key_versions_kek). */
#define FETCH(lo, hi, dir) \
	"SELECT v.version, v.kek_id, v.wrapped, v.key_id, k.name FROM" \
	" ((SELECT key_id, version, kek_id, wrapped FROM key_versions" \
	" WHERE kek_id " lo " $1 ORDER BY kek_id " dir ", key_id " dir \
	", version " dir " LIMIT $2) UNION ALL" \
	" (SELECT key_id, version, kek_id, wrapped FROM key_versions" \
	" WHERE kek_id " hi " $1 ORDER BY kek_id " dir ", key_id " dir \
	", version " dir " LIMIT $2)) AS v" \
	" JOIN keys k ON k.id = v.key_id LIMIT $2"

static const struct db_stmt kr_stmts[KR_MAX - ST_MAX] = {
	[KR_ACTIVE - ST_MAX] = { "kw_kek_active",
	    "SELECT kek_id, check_value FROM kek_check WHERE id = 1",
	    0, NULL },
	[KR_USAGE - ST_MAX] = { "kw_kek_usage",
	    "SELECT kek_id, count(*) FROM (SELECT kek_id FROM key_versions"
	    " UNION ALL SELECT kek_id FROM kmip_objects"
	    " WHERE kek_id IS NOT NULL) u GROUP BY kek_id"
	    " ORDER BY kek_id", 0, NULL },
	[KR_REFS - ST_MAX] = { "kw_kek_refs",
	    "SELECT (SELECT count(*) FROM key_versions WHERE kek_id = $1)"
	    " + (SELECT count(*) FROM kmip_objects WHERE kek_id = $1)",
	    1, t_text },
	[KR_HOLDERS - ST_MAX] = { "kw_kek_holders",
	    "SELECT node, kek_id, seen_ms FROM kek_holders"
	    " ORDER BY node, kek_id", 0, NULL },
	/* What node $2 holds now: ids $3, check values $4 (hex). */
	[KR_HOLD - ST_MAX] = { "kw_kek_hold",
	    "WITH " WRITE_OK ","
	    " d AS (DELETE FROM kek_holders WHERE node = $2"
	    " AND (SELECT ok FROM ok) AND kek_id <> ALL ($3::text[])"
	    " RETURNING 1),"
	    " i AS (INSERT INTO kek_holders (node, kek_id, check_value,"
	    " seen_ms) SELECT $2, u.id, decode(u.c, 'hex'), " MS_NOW
	    " FROM unnest($3::text[], $4::text[]) AS u(id, c), ok"
	    " WHERE ok.ok ON CONFLICT (node, kek_id) DO UPDATE SET"
	    " check_value = EXCLUDED.check_value, seen_ms = EXCLUDED.seen_ms"
	    " RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM i), (SELECT count(*) FROM d)"
	    " FROM ok", 4, t_hold },
	/*
	 * Make KEK $2 (check value $3) active, only if every node of $4
	 * holds it with that check value.  Answers ok, rows updated, and
	 * how many of the nodes hold it.
	 */
	[KR_ACTIVATE - ST_MAX] = { "kw_kek_activate",
	    "WITH " WRITE_OK ","
	    " h AS (SELECT count(DISTINCT node) AS n FROM kek_holders"
	    " WHERE kek_id = $2 AND check_value = $3"
	    " AND node = ANY ($4::text[])),"
	    " u AS (UPDATE kek_check SET kek_id = $2, check_value = $3,"
	    " created_ms = " MS_NOW " WHERE id = 1 AND (SELECT ok FROM ok)"
	    " AND (SELECT n FROM h) = cardinality($4::text[]) RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM u), (SELECT n FROM h)"
	    " FROM ok", 4, t_activate },
	[KR_FETCH_UP - ST_MAX] = { "kw_rewrap_up", FETCH("<", ">", "ASC"),
	    2, t_text_int4 },
	[KR_FETCH_DOWN - ST_MAX] = { "kw_rewrap_down", FETCH(">", "<", "DESC"),
	    2, t_text_int4 },
	/*
	 * Move versions (key ids $3, versions $4) from the KEK $5 and
	 * wrapping $6 they had when read to KEK $2 and wrapping $7 (hex).
	 */
	[KR_STORE - ST_MAX] = { "kw_rewrap_store",
	    "WITH " WRITE_OK ","
	    " u AS (UPDATE key_versions v SET kek_id = $2,"
	    " wrapped = decode(x.nw, 'hex')"
	    " FROM unnest($3::bigint[], $4::int[], $5::text[], $6::text[],"
	    " $7::text[]) AS x(id, ver, was, ow, nw)"
	    " WHERE (SELECT ok FROM ok) AND v.key_id = x.id"
	    " AND v.version = x.ver AND v.kek_id = x.was"
	    " AND v.wrapped = decode(x.ow, 'hex') RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM u), 0 FROM ok",
	    7, t_store },
};

static PGresult *
kr_run(struct pconn *pc, int id, const char *const *vals, const int *lens,
    const int *fmts, int rfmt)
{
	return pc_prepared(pc, id, &kr_stmts[id - ST_MAX], vals, lens, fmts,
	    rfmt, DB_OP_DEADLINE_MS);
}

/* A growing text buffer for array literals. */
struct text {
	char	*s;
	size_t	 len, cap;
	int	 failed;
};

static void
text_add(struct text *t, const char *p, size_t n)
{
	char *ns;
	size_t cap;

	if (t->failed)
		return;
	if (t->len + n + 1 > t->cap) {
		cap = (t->cap + n + 1) * 2;
		if ((ns = realloc(t->s, cap)) == NULL) {
			t->failed = 1;
			return;
		}
		t->s = ns;
		t->cap = cap;
	}
	memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
}

/* Append sep (unless first) and n bytes of p in hex. */
static void
text_hex(struct text *t, int first, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char pair[2];
	size_t i;

	if (!first)
		text_add(t, ",", 1);
	for (i = 0; i < n; i++) {
		pair[0] = digits[p[i] >> 4];
		pair[1] = digits[p[i] & 0x0f];
		text_add(t, pair, 2);
	}
}

static void
text_fmt(struct text *t, int first, const char *s)
{
	if (!first)
		text_add(t, ",", 1);
	text_add(t, s, strlen(s));
}

/* ----------------------------------------------------------- reads */

struct active_arg {
	char		*kek_id;
	unsigned char	*check;
	int		 found;
};

static enum kw_err
active_fn(struct pconn *pc, void *arg)
{
	struct active_arg *a = arg;
	PGresult *r;
	enum kw_err rc = KW_OK;
	int klen;

	if ((r = kr_run(pc, KR_ACTIVE, NULL, NULL, NULL, 1)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "active master key", NULL, r);
		goto out;
	}
	if ((a->found = PQntuples(r) > 0) == 0)
		goto out;
	klen = PQgetlength(r, 0, 0);
	if (klen > KEK_ID_MAX || PQgetlength(r, 0, 1) != DB_KEK_CHECK_LEN) {
		log_warnx("%s database: malformed master key check row",
		    pool_label(pc->pool));
		rc = KW_EDB;
		goto out;
	}
	memcpy(a->kek_id, PQgetvalue(r, 0, 0), (size_t)klen);
	a->kek_id[klen] = '\0';
	memcpy(a->check, PQgetvalue(r, 0, 1), DB_KEK_CHECK_LEN);
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_kek_active(struct db *db, char kek_id[KEK_ID_MAX + 1],
    unsigned char check[DB_KEK_CHECK_LEN])
{
	struct active_arg a = { kek_id, check, 0 };
	enum kw_err rc;

	if ((rc = db_read(db, active_fn, &a)) != KW_OK)
		return rc;
	return a.found ? KW_OK : KW_ENOTFOUND;
}

struct refs_arg {
	const char	*kek_id;
	int64_t		 count;
};

static enum kw_err
refs_fn(struct pconn *pc, void *arg)
{
	struct refs_arg *a = arg;
	PGresult *r;
	enum kw_err rc = KW_OK;

	if ((r = kr_run(pc, KR_REFS, &a->kek_id, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r) || PQntuples(r) != 1 ||
	    key_get_int(r, 0, 0, &a->count) != 0)
		rc = key_res_err(pc, "master key references", NULL, r);
	PQclear(r);
	return rc;
}

enum kw_err
db_kek_refs(struct db *db, const char *kek_id, int64_t *local,
    int64_t *peer)
{
	struct refs_arg a = { kek_id, -1 };

	*local = *peer = -1;
	if (db_read_one(db->local, refs_fn, &a) == KW_OK)
		*local = a.count;
	if (db->peer != NULL) {
		a.count = -1;
		if (db_read_one(db->peer, refs_fn, &a) == KW_OK)
			*peer = a.count;
	}
	return *local >= 0 || *peer >= 0 ? KW_OK : KW_EDB;
}

/*
 * A read whose rows become an array: statement id, elem bytes a row,
 * row() fills one element (0, or -1 on a malformed row).
 */
struct list_arg {
	int		  id;
	size_t		  elem;
	int		(*row)(const PGresult *r, int i, void *out);
	void		 *arr;
	size_t		  n;
};

static enum kw_err
list_fn(struct pconn *pc, void *arg)
{
	struct list_arg *a = arg;
	PGresult *r;
	enum kw_err rc = KW_OK;
	int i, nt;

	if ((r = kr_run(pc, a->id, NULL, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, kr_stmts[a->id - ST_MAX].name, NULL, r);
		goto out;
	}
	nt = PQntuples(r);
	if ((a->arr = calloc(nt > 0 ? (size_t)nt : 1, a->elem)) == NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < nt; i++)
		if (a->row(r, i, (char *)a->arr + (size_t)i * a->elem) != 0) {
			log_warnx("%s database: malformed row of %s",
			    pool_label(pc->pool), kr_stmts[a->id - ST_MAX].name);
			free(a->arr);
			a->arr = NULL;
			rc = KW_EDB;
			goto out;
		}
	a->n = (size_t)nt;
out:
	PQclear(r);
	return rc;
}

/* Run list statement id through db_read into *out (n elements). */
static enum kw_err
kr_list(struct db *db, int id, size_t elem,
    int (*row)(const PGresult *, int, void *), void **out, size_t *n)
{
	struct list_arg a = { id, elem, row, NULL, 0 };
	enum kw_err rc;

	*out = NULL;
	*n = 0;
	if ((rc = db_read(db, list_fn, &a)) == KW_OK) {
		*out = a.arr;
		*n = a.n;
	}
	return rc;
}

static int
usage_row(const PGresult *r, int i, void *out)
{
	struct db_kek_use *u = out;
	int klen = PQgetlength(r, i, 0);

	if (klen > KEK_ID_MAX || key_get_int(r, i, 1, &u->versions) != 0)
		return -1;
	memcpy(u->kek_id, PQgetvalue(r, i, 0), (size_t)klen);
	u->kek_id[klen] = '\0';
	return 0;
}

enum kw_err
db_kek_usage(struct db *db, struct db_kek_use **out, size_t *n)
{
	return kr_list(db, KR_USAGE, sizeof(**out), usage_row, (void **)out,
	    n);
}

static int
holder_row(const PGresult *r, int i, void *out)
{
	struct db_kek_holder *h = out;

	snprintf(h->node, sizeof(h->node), "%s", PQgetvalue(r, i, 0));
	snprintf(h->kek_id, sizeof(h->kek_id), "%s", PQgetvalue(r, i, 1));
	if (key_get_int(r, i, 2, &h->seen_ms) != 0)
		h->seen_ms = 0;
	return 0;
}

enum kw_err
db_kek_holders(struct db *db, struct db_kek_holder **out, size_t *n)
{
	return kr_list(db, KR_HOLDERS, sizeof(**out), holder_row, (void **)out,
	    n);
}

/* ---------------------------------------------------------- writes */

/* A keyring write: statement id of kr_stmts (guarded_write_run). */
static enum kw_err
kr_write(struct db *db, struct guarded_write *w)
{
	w->st = &kr_stmts[w->id - ST_MAX];
	return guarded_write_run(db, w);
}

enum kw_err
db_kek_hold(struct db *db, const char *node, const char *const *ids,
    const unsigned char *const *checks, size_t n)
{
	struct text tid = { 0 }, tck = { 0 };
	struct guarded_write w = { .id = KR_HOLD };
	const char *vals[4];
	size_t i;
	enum kw_err rc;

	text_add(&tid, "{", 1);
	text_add(&tck, "{", 1);
	for (i = 0; i < n; i++) {
		text_fmt(&tid, i == 0, ids[i]);
		text_hex(&tck, i == 0, checks[i], DB_KEK_CHECK_LEN);
	}
	text_add(&tid, "}", 1);
	text_add(&tck, "}", 1);
	if (tid.failed || tck.failed) {
		rc = KW_ENOMEM;
		goto out;
	}
	vals[1] = node;
	vals[2] = tid.s;
	vals[3] = tck.s;
	w.vals = vals;
	rc = kr_write(db, &w);
out:
	free(tid.s);
	free(tck.s);
	return rc;
}

enum kw_err
db_kek_activate(struct db *db, const char *kek_id,
    const unsigned char check[DB_KEK_CHECK_LEN], const char *const *nodes,
    size_t nnodes, size_t *holding)
{
	struct text tn = { 0 };
	struct guarded_write w = { .id = KR_ACTIVATE };
	const char *vals[4];
	int lens[4] = { 0, 0, DB_KEK_CHECK_LEN, 0 }, fmts[4] = { 0, 0, 1, 0 };
	size_t i;
	enum kw_err rc;

	*holding = 0;
	text_add(&tn, "{", 1);
	for (i = 0; i < nnodes; i++) {
		/* node names are quoted: they may hold commas or spaces */
		text_add(&tn, i ? ",\"" : "\"", i ? 2 : 1);
		text_add(&tn, nodes[i], strlen(nodes[i]));
		text_add(&tn, "\"", 1);
	}
	text_add(&tn, "}", 1);
	if (tn.failed) {
		free(tn.s);
		return KW_ENOMEM;
	}
	vals[1] = kek_id;
	vals[2] = (const char *)check;
	vals[3] = tn.s;
	w.vals = vals;
	w.lens = lens;
	w.fmts = fmts;
	rc = kr_write(db, &w);
	free(tn.s);
	if (rc == KW_OK) {
		*holding = w.extra > 0 ? (size_t)w.extra : 0;
		if (w.rows != 1)
			rc = KW_ENOTFOUND;
	}
	return rc;
}

/* --------------------------------------------------------- rewrap */

struct fetch_arg {
	const char		*active;
	int			 max;
	int			 id;
	struct db_rewrap_row	*rows;
	size_t			 n;
};

static enum kw_err
fetch_fn(struct pconn *pc, void *arg)
{
	struct fetch_arg *a = arg;
	char maxbuf[16];
	const char *vals[2] = { a->active, maxbuf };
	PGresult *r;
	enum kw_err rc = KW_OK;
	int i, nt;

	snprintf(maxbuf, sizeof(maxbuf), "%d", a->max);
	if ((r = kr_run(pc, a->id, vals, NULL, NULL, 1)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "rewrap", NULL, r);
		goto out;
	}
	nt = PQntuples(r);
	if ((a->rows = calloc(nt > 0 ? (size_t)nt : 1,
	    sizeof(*a->rows))) == NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < nt && rc == KW_OK; i++) {
		if ((rc = key_ver_from_row(pc, r, i, &a->rows[i].v)) != KW_OK)
			break;
		a->n = (size_t)i + 1;
		if (key_get_int(r, i, 3, &a->rows[i].key_id) != 0)
			rc = KW_EDB;
		else if ((a->rows[i].name = strdup(PQgetvalue(r, i, 4))) ==
		    NULL)
			rc = KW_ENOMEM;
	}
	if (rc != KW_OK) {
		db_rewrap_rows_free(a->rows, a->n);
		a->rows = NULL;
		a->n = 0;
	}
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_rewrap_fetch(struct db *db, const char *active, int max, int descending,
    struct db_rewrap_row **rows, size_t *n)
{
	struct fetch_arg a = { active, max, descending ? KR_FETCH_DOWN :
	    KR_FETCH_UP, NULL, 0 };
	enum kw_err rc;

	*rows = NULL;
	*n = 0;
	if (max < 1)
		return KW_EINVAL;
	if ((rc = db_read(db, fetch_fn, &a)) == KW_OK) {
		*rows = a.rows;
		*n = a.n;
	}
	return rc;
}

void
db_rewrap_rows_free(struct db_rewrap_row *rows, size_t n)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(rows[i].name);
		db_key_version_clear(&rows[i].v);
	}
	free(rows);
}

enum kw_err
db_rewrap_store(struct db *db, const char *kek_id,
    const struct db_rewrap_row *rows, unsigned char *const *wrapped,
    const size_t *wlen, size_t n, int64_t *moved)
{
	struct text t[5] = { { 0 } };
	struct guarded_write w = { .id = KR_STORE };
	const char *vals[7];
	char num[24];
	size_t i, j;
	enum kw_err rc = KW_ENOMEM;

	*moved = 0;
	for (j = 0; j < 5; j++)
		text_add(&t[j], "{", 1);
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%lld", (long long)rows[i].key_id);
		text_fmt(&t[0], i == 0, num);
		snprintf(num, sizeof(num), "%u", rows[i].v.version);
		text_fmt(&t[1], i == 0, num);
		text_fmt(&t[2], i == 0, rows[i].v.kek_id);
		text_hex(&t[3], i == 0, rows[i].v.wrapped,
		    rows[i].v.wrapped_len);
		text_hex(&t[4], i == 0, wrapped[i], wlen[i]);
	}
	for (j = 0; j < 5; j++) {
		text_add(&t[j], "}", 1);
		if (t[j].failed)
			goto out;
		vals[2 + j] = t[j].s;
	}
	vals[1] = kek_id;
	w.vals = vals;
	if ((rc = kr_write(db, &w)) == KW_OK)
		*moved = w.rows;
out:
	for (j = 0; j < 5; j++)
		free(t[j].s);
	return rc;
}

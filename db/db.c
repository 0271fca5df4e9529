/*
 * db.c: keys, key versions and the master-key check value in PostgreSQL.
 *
 * Every statement about keys lives here, prepared per connection, with
 * the key name always a parameter and bytea always binary.  Reads run
 * through db_read (local database, then the peer's); writes run in one
 * transaction on the primary (db_write_begin) and end with a COMMIT
 * bounded by the commit deadline (pc_commit), so a caller never sees a
 * success that was not acknowledged.  Pools are in pool.c, deadlines in
 * exec.c, the choice of database in route.c, migrations in migrate.c and
 * the master-key check in kek.c.
 *
 * Creation times: db_key_meta.created_ms as given by the caller, or the
 * database's now() when it is 0.  Versions added by a rollover are
 * stamped with the database's now().
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "pool.h"
#include "../lib/log.h"

#define MS_NOW		"(extract(epoch FROM now()) * 1000)::bigint"
#define VER_COLS	"v.version, v.kek_id, v.wrapped"
#define VER_FROM	" FROM keys k JOIN key_versions v ON v.key_id = k.id" \
			" WHERE k.name = $1"
#define KEK_ID_MAX	16

enum {
	ST_KEY_INSERT, ST_VER_INSERT, ST_KEY_LOCK, ST_VER_ROLL, ST_KEY_DELETE,
	ST_META_GET, ST_NAMES, ST_VER_GET, ST_VER_CURRENT, ST_VER_ALL, ST_MAX
};

static const Oid t_text[] = { DB_OID_TEXT };
static const Oid t_text_int4[] = { DB_OID_TEXT, DB_OID_INT4 };
static const Oid t_key_insert[] = { DB_OID_TEXT, DB_OID_TEXT, DB_OID_INT4,
	DB_OID_TEXT, DB_OID_TEXT, DB_OID_INT8 };
static const Oid t_ver_insert[] = { DB_OID_INT8, DB_OID_INT4, DB_OID_TEXT,
	DB_OID_BYTEA, DB_OID_INT8 };
static const Oid t_ver_roll[] = { DB_OID_INT8, DB_OID_INT4, DB_OID_TEXT,
	DB_OID_BYTEA };

static const struct db_stmt stmts[ST_MAX] = {
	[ST_KEY_INSERT] = { "kw_key_insert",
	    "INSERT INTO keys (name, cipher, length, description, attributes,"
	    " created_ms) VALUES ($1, $2, $3, $4, $5, COALESCE($6, " MS_NOW "))"
	    " RETURNING id, created_ms", 6, t_key_insert },
	[ST_VER_INSERT] = { "kw_ver_insert",
	    "INSERT INTO key_versions (key_id, version, kek_id, wrapped,"
	    " created_ms) VALUES ($1, $2, $3, $4, $5)", 5, t_ver_insert },
	[ST_KEY_LOCK] = { "kw_key_lock",
	    "SELECT id, current_version FROM keys WHERE name = $1 FOR UPDATE",
	    1, t_text },
	/* Append the version and make it current in one round trip. */
	[ST_VER_ROLL] = { "kw_ver_roll",
	    "WITH v AS (INSERT INTO key_versions (key_id, version, kek_id,"
	    " wrapped, created_ms) VALUES ($1, $2, $3, $4, " MS_NOW ")"
	    " RETURNING key_id, version)"
	    " UPDATE keys SET current_version = v.version FROM v"
	    " WHERE keys.id = v.key_id", 4, t_ver_roll },
	[ST_KEY_DELETE] = { "kw_key_delete",
	    "DELETE FROM keys WHERE name = $1 RETURNING id", 1, t_text },
	[ST_META_GET] = { "kw_meta_get",
	    "SELECT name, cipher, length, description, attributes, created_ms,"
	    " current_version + 1 FROM keys WHERE name = $1", 1, t_text },
	/* Byte order, whatever the database's collation. */
	[ST_NAMES] = { "kw_names",
	    "SELECT name FROM keys ORDER BY name COLLATE \"C\"", 0, NULL },
	[ST_VER_GET] = { "kw_ver_get",
	    "SELECT " VER_COLS VER_FROM " AND v.version = $2", 2, t_text_int4 },
	/* One indexed lookup each: keys by name, key_versions by its key. */
	[ST_VER_CURRENT] = { "kw_ver_current",
	    "SELECT " VER_COLS VER_FROM " AND v.version = k.current_version",
	    1, t_text },
	[ST_VER_ALL] = { "kw_ver_all",
	    "SELECT " VER_COLS VER_FROM " ORDER BY v.version", 1, t_text },
};

_Static_assert(ST_MAX <= DB_MAX_STMTS, "too many prepared statements");

/* Run statement id; rfmt 1 asks for binary results. */
static PGresult *
run(struct pconn *pc, int id, const char *const *vals, const int *lens,
    const int *fmts, int rfmt)
{
	return pc_prepared(pc, id, &stmts[id], vals, lens, fmts, rfmt,
	    DB_OP_DEADLINE_MS);
}

/* Map an error result to a kw_err; log what is not the caller's fault. */
static enum kw_err
res_err(struct pconn *pc, const char *what, const char *name,
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

/* Integer column, text or binary (int2/int4/int8).  0 or -1. */
static int
get_int(const PGresult *r, int row, int col, int64_t *out)
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

/* strdup of a column; *out NULL for SQL NULL.  0, or -1 when out of memory. */
static int
get_str(const PGresult *r, int row, int col, char **out)
{
	*out = NULL;
	if (PQgetisnull(r, row, col))
		return 0;
	return (*out = strdup(PQgetvalue(r, row, col))) == NULL ? -1 : 0;
}

/* One row of VER_COLS (binary results) into v. */
static enum kw_err
ver_from_row(struct pconn *pc, const PGresult *r, int row,
    struct db_key_version *v)
{
	int64_t ver;
	int klen, wlen;

	memset(v, 0, sizeof(*v));
	klen = PQgetlength(r, row, 1);
	wlen = PQgetlength(r, row, 2);
	if (get_int(r, row, 0, &ver) == -1 || ver < 0 || ver > UINT32_MAX ||
	    PQgetisnull(r, row, 1) || klen > KEK_ID_MAX ||
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

/* Call the wrap callback; check what it returns. */
static enum kw_err
do_wrap(db_wrap_fn wrap, void *arg, const char *name, uint32_t version,
    unsigned char **wrapped, size_t *wlen, char kek_id[KEK_ID_MAX + 1])
{
	memset(kek_id, 0, KEK_ID_MAX + 1);
	*wrapped = NULL;
	*wlen = 0;
	if (wrap(arg, name, version, wrapped, wlen, kek_id) != 0 ||
	    *wrapped == NULL || kek_id[KEK_ID_MAX] != '\0' ||
	    *wlen > INT32_MAX) {
		log_warnx("key \"%s\": could not wrap version %u", name,
		    version);
		free(*wrapped);
		*wrapped = NULL;
		return KW_ECRYPTO;
	}
	return KW_OK;
}

struct db *
db_new(const char *local, const char *peer, const char *password,
    int pool_size, int connect_timeout_s, int commit_deadline_ms)
{
	struct db *db;

	if (!PQisthreadsafe())
		log_warnx("libpq is not thread-safe: database calls may fail");
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->commit_deadline_ms = commit_deadline_ms > 0 ?
	    commit_deadline_ms : 2000;
	if (local == NULL)
		local = "";
	if ((db->local = pool_new("local", local, password, pool_size,
	    connect_timeout_s, 0)) == NULL ||
	    (db->probe = pool_new("local", local, password, 1,
	    connect_timeout_s, 1)) == NULL)
		goto fail;
	if (peer != NULL && *peer != '\0' &&
	    ((db->peer = pool_new("peer", peer, password, pool_size,
	    connect_timeout_s, 0)) == NULL ||
	    (db->peer_probe = pool_new("peer", peer, password, 1,
	    connect_timeout_s, 1)) == NULL))
		goto fail;
	return db;
fail:
	db_free(db);
	return NULL;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	pool_free(db->local);
	pool_free(db->peer);
	pool_free(db->probe);
	pool_free(db->peer_probe);
	free(db);
}

int
db_warm(struct db *db)
{
	int n = pool_warm(db->local) + pool_warm(db->probe);

	if (db->peer != NULL)
		n += pool_warm(db->peer);
	return n;
}

int
db_local_alive(struct db *db)
{
	struct pconn *pc;
	PGresult *r;
	int alive;

	/* A pool of its own, so busy request connections cannot delay it. */
	if (pool_get(db->probe, 1000, &pc) != KW_OK)
		return 0;
	r = pc_exec(pc, "SELECT 1", 2000);
	alive = pc_res_ok(r);
	PQclear(r);
	pool_put(pc);
	return alive;
}

enum kw_err
db_key_create(struct db *db, const struct db_key_meta *meta,
    db_wrap_fn wrap, void *arg)
{
	struct pconn *pc = NULL;
	PGresult *r = NULL;
	unsigned char *wrapped = NULL;
	size_t wlen;
	char kek_id[KEK_ID_MAX + 1], lenbuf[16], msbuf[24], idbuf[24];
	const char *vals[6];
	int lens[5], fmts[5];
	int64_t id, created;
	enum kw_err rc;

	if (meta == NULL || meta->name == NULL || meta->cipher == NULL ||
	    wrap == NULL)
		return KW_EINVAL;
	if ((rc = db_write_begin(db, &pc)) != KW_OK)
		goto out;

	snprintf(lenbuf, sizeof(lenbuf), "%d", meta->length);
	snprintf(msbuf, sizeof(msbuf), "%lld", (long long)meta->created_ms);
	vals[0] = meta->name;
	vals[1] = meta->cipher;
	vals[2] = lenbuf;
	vals[3] = meta->description;
	vals[4] = meta->attributes;
	vals[5] = meta->created_ms != 0 ? msbuf : NULL;
	if ((r = run(pc, ST_KEY_INSERT, vals, NULL, NULL, 0)) == NULL) {
		rc = KW_EDB;
		goto out;
	}
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "create", meta->name, r);
		goto out;
	}
	if (PQntuples(r) != 1 || get_int(r, 0, 0, &id) == -1 ||
	    get_int(r, 0, 1, &created) == -1) {
		pc_log_error(pc, "create", meta->name, r);
		rc = KW_EDB;
		goto out;
	}
	PQclear(r);
	r = NULL;

	if ((rc = do_wrap(wrap, arg, meta->name, 0, &wrapped, &wlen,
	    kek_id)) != KW_OK)
		goto out;
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	snprintf(msbuf, sizeof(msbuf), "%lld", (long long)created);
	vals[0] = idbuf;
	vals[1] = "0";
	vals[2] = kek_id;
	vals[3] = (const char *)wrapped;
	vals[4] = msbuf;
	memset(lens, 0, sizeof(lens));
	memset(fmts, 0, sizeof(fmts));
	lens[3] = (int)wlen;
	fmts[3] = 1;
	if ((r = run(pc, ST_VER_INSERT, vals, lens, fmts, 0)) == NULL) {
		rc = KW_EDB;
		goto out;
	}
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "create", meta->name, r);
		goto out;
	}
	rc = pc_commit(pc, db->commit_deadline_ms);
out:
	PQclear(r);
	free(wrapped);
	db_write_end(pc);
	return rc;
}

enum kw_err
db_key_roll(struct db *db, const char *name, db_wrap_fn wrap, void *arg,
    uint32_t *new_version)
{
	struct pconn *pc = NULL;
	PGresult *r = NULL;
	unsigned char *wrapped = NULL;
	size_t wlen;
	char kek_id[KEK_ID_MAX + 1], idbuf[24], verbuf[16];
	const char *vals[4];
	int lens[4] = { 0, 0, 0, 0 }, fmts[4] = { 0, 0, 0, 1 };
	int64_t id, cur;
	uint32_t ver;
	enum kw_err rc;

	if (name == NULL || wrap == NULL || new_version == NULL)
		return KW_EINVAL;
	if ((rc = db_write_begin(db, &pc)) != KW_OK)
		goto out;

	/* The row lock orders concurrent rollovers of one key. */
	vals[0] = name;
	if ((r = run(pc, ST_KEY_LOCK, vals, NULL, NULL, 0)) == NULL) {
		rc = KW_EDB;
		goto out;
	}
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "rollover", name, r);
		goto out;
	}
	if (PQntuples(r) == 0) {
		rc = KW_ENOTFOUND;
		goto out;
	}
	if (get_int(r, 0, 0, &id) == -1 || get_int(r, 0, 1, &cur) == -1 ||
	    cur < 0 || cur >= INT32_MAX) {
		pc_log_error(pc, "rollover", name, r);
		rc = KW_EDB;
		goto out;
	}
	PQclear(r);
	r = NULL;

	ver = (uint32_t)cur + 1;
	if ((rc = do_wrap(wrap, arg, name, ver, &wrapped, &wlen, kek_id)) !=
	    KW_OK)
		goto out;
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	snprintf(verbuf, sizeof(verbuf), "%u", ver);
	vals[0] = idbuf;
	vals[1] = verbuf;
	vals[2] = kek_id;
	vals[3] = (const char *)wrapped;
	lens[3] = (int)wlen;
	if ((r = run(pc, ST_VER_ROLL, vals, lens, fmts, 0)) == NULL) {
		rc = KW_EDB;
		goto out;
	}
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "rollover", name, r);
		goto out;
	}
	if (strcmp(PQcmdTuples(r), "1") != 0) {
		log_warnx("key \"%s\": rollover updated %s rows", name,
		    PQcmdTuples(r));
		rc = KW_EDB;
		goto out;
	}
	if ((rc = pc_commit(pc, db->commit_deadline_ms)) == KW_OK)
		*new_version = ver;
out:
	PQclear(r);
	free(wrapped);
	db_write_end(pc);
	return rc;
}

enum kw_err
db_key_delete(struct db *db, const char *name)
{
	struct pconn *pc = NULL;
	PGresult *r = NULL;
	enum kw_err rc;

	if (name == NULL)
		return KW_EINVAL;
	if ((rc = db_write_begin(db, &pc)) != KW_OK)
		goto out;
	if ((r = run(pc, ST_KEY_DELETE, &name, NULL, NULL, 0)) == NULL) {
		rc = KW_EDB;
		goto out;
	}
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "delete", name, r);
		goto out;
	}
	if (PQntuples(r) == 0) {
		rc = KW_ENOTFOUND;
		goto out;
	}
	rc = pc_commit(pc, db->commit_deadline_ms);
out:
	PQclear(r);
	db_write_end(pc);
	return rc;
}

struct meta_arg {
	const char		*name;
	struct db_key_meta	*out;
};

static enum kw_err
meta_fn(struct pconn *pc, void *arg)
{
	struct meta_arg *a = arg;
	struct db_key_meta m;
	PGresult *r;
	int64_t len, ms, n;
	enum kw_err rc = KW_OK;

	memset(&m, 0, sizeof(m));
	if ((r = run(pc, ST_META_GET, &a->name, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "metadata", a->name, r);
		goto out;
	}
	if (PQntuples(r) == 0) {
		rc = KW_ENOTFOUND;
		goto out;
	}
	if (get_int(r, 0, 2, &len) == -1 || get_int(r, 0, 5, &ms) == -1 ||
	    get_int(r, 0, 6, &n) == -1 || n < 1 || n > UINT32_MAX) {
		pc_log_error(pc, "metadata", a->name, r);
		rc = KW_EDB;
		goto out;
	}
	m.length = (int)len;
	m.created_ms = ms;
	m.versions = (uint32_t)n;
	if (get_str(r, 0, 0, &m.name) == -1 || m.name == NULL ||
	    get_str(r, 0, 1, &m.cipher) == -1 || m.cipher == NULL ||
	    get_str(r, 0, 3, &m.description) == -1 ||
	    get_str(r, 0, 4, &m.attributes) == -1) {
		db_key_meta_clear(&m);
		rc = KW_ENOMEM;
		goto out;
	}
	*a->out = m;
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_key_meta_get(struct db *db, const char *name, struct db_key_meta *out)
{
	struct meta_arg a = { name, out };

	if (name == NULL || out == NULL)
		return KW_EINVAL;
	memset(out, 0, sizeof(*out));
	return db_read(db, meta_fn, &a);
}

void
db_key_meta_clear(struct db_key_meta *m)
{
	if (m == NULL)
		return;
	free(m->name);
	free(m->cipher);
	free(m->description);
	free(m->attributes);
	memset(m, 0, sizeof(*m));
}

struct names_arg {
	char	***names;
	size_t	 *n;
};

static enum kw_err
names_fn(struct pconn *pc, void *arg)
{
	struct names_arg *a = arg;
	PGresult *r;
	char **v = NULL;
	size_t i, n = 0;
	enum kw_err rc = KW_OK;

	if ((r = run(pc, ST_NAMES, NULL, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "list keys", NULL, r);
		goto out;
	}
	n = (size_t)PQntuples(r);
	/* Never NULL on success, even for no keys. */
	if ((v = calloc(n > 0 ? n : 1, sizeof(*v))) == NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (get_str(r, (int)i, 0, &v[i]) == -1 || v[i] == NULL) {
			db_names_free(v, i + 1);
			v = NULL;
			rc = KW_ENOMEM;
			goto out;
		}
	*a->names = v;
	*a->n = n;
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_key_names(struct db *db, char ***names, size_t *n)
{
	struct names_arg a = { names, n };

	if (names == NULL || n == NULL)
		return KW_EINVAL;
	*names = NULL;
	*n = 0;
	return db_read(db, names_fn, &a);
}

void
db_names_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct ver_arg {
	int			 stmt;
	const char		*name;
	const char		*verstr;	/* ST_VER_GET only */
	struct db_key_version	*out;		/* one version */
	struct db_key_version	**all;		/* ST_VER_ALL */
	size_t			*n;
};

static enum kw_err
ver_fn(struct pconn *pc, void *arg)
{
	struct ver_arg *a = arg;
	struct db_key_version *v = NULL;
	const char *vals[2] = { a->name, a->verstr };
	PGresult *r;
	size_t i, n = 0;
	enum kw_err rc = KW_OK;

	if ((r = run(pc, a->stmt, vals, NULL, NULL, 1)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = res_err(pc, "read version", a->name, r);
		goto out;
	}
	if ((n = (size_t)PQntuples(r)) == 0) {
		rc = KW_ENOTFOUND;
		goto out;
	}
	if (a->all == NULL) {
		rc = ver_from_row(pc, r, 0, a->out);
		if (rc != KW_OK)
			db_key_version_clear(a->out);
		goto out;
	}
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = ver_from_row(pc, r, (int)i, &v[i])) != KW_OK) {
			db_key_versions_free(v, i + 1);
			goto out;
		}
	*a->all = v;
	*a->n = n;
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_key_version_get(struct db *db, const char *name, uint32_t version,
    struct db_key_version *out)
{
	char verbuf[16];
	struct ver_arg a = { ST_VER_GET, name, verbuf, out, NULL, NULL };

	if (name == NULL || out == NULL)
		return KW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (version > INT32_MAX)	/* the column is an int */
		return KW_ENOTFOUND;
	snprintf(verbuf, sizeof(verbuf), "%u", version);
	return db_read(db, ver_fn, &a);
}

enum kw_err
db_key_current(struct db *db, const char *name, struct db_key_version *out)
{
	struct ver_arg a = { ST_VER_CURRENT, name, NULL, out, NULL, NULL };

	if (name == NULL || out == NULL)
		return KW_EINVAL;
	memset(out, 0, sizeof(*out));
	return db_read(db, ver_fn, &a);
}

enum kw_err
db_key_versions(struct db *db, const char *name, struct db_key_version **out,
    size_t *n)
{
	struct ver_arg a = { ST_VER_ALL, name, NULL, NULL, out, n };

	if (name == NULL || out == NULL || n == NULL)
		return KW_EINVAL;
	*out = NULL;
	*n = 0;
	return db_read(db, ver_fn, &a);
}

void
db_key_version_clear(struct db_key_version *v)
{
	if (v == NULL)
		return;
	free(v->wrapped);
	memset(v, 0, sizeof(*v));
}

void
db_key_versions_free(struct db_key_version *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].wrapped);
	free(v);
}

/*
 * db.c: keys, key versions and the master-key check value in PostgreSQL.
 *
 * Every statement about keys lives here, prepared per connection, with
 * the key name always a parameter and bytea always binary.  Reads run
 * through db_read (local database, then the peer's); each write is one
 * autocommit statement on the primary (db_write) that checks the pair's
 * health itself and completes within the commit deadline
 * (pc_commit_prepared), so a caller never sees a success that was not
 * acknowledged.  Pools are in pool.c, deadlines in
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
	ST_KEY_CREATE, ST_KEY_CUR, ST_VER_ROLL, ST_KEY_DELETE,
	ST_META_GET, ST_NAMES, ST_VER_GET, ST_VER_CURRENT, ST_VER_ALL, ST_MAX
};

#define ROLL_TRIES	8	/* races a rollover may lose in a row */

/*
 * The write guard of every key write, its $1 saying whether a synchronous
 * standby is needed (a pair): the row's ok is false, and the statement
 * writes nothing, unless this database is a primary with a standby
 * streaming in sync mode right now.  Checked in the statement that
 * writes, so a write costs one round trip and never rests on a stale
 * monitor view alone.  (A standby refuses the statement before that,
 * with SQLSTATE 25006.)
 */
#define WRITE_OK	"ok AS (SELECT NOT pg_is_in_recovery() AND (NOT $1" \
			" OR EXISTS (SELECT 1 FROM pg_stat_replication" \
			" WHERE state = 'streaming' AND sync_state = 'sync'))" \
			" AS ok)"

static const Oid t_text[] = { DB_OID_TEXT };
static const Oid t_text_int4[] = { DB_OID_TEXT, DB_OID_INT4 };
static const Oid t_key_create[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_TEXT,
	DB_OID_INT4, DB_OID_TEXT, DB_OID_TEXT, DB_OID_INT8, DB_OID_TEXT,
	DB_OID_BYTEA };
static const Oid t_ver_roll[] = { DB_OID_BOOL, DB_OID_INT8, DB_OID_INT4,
	DB_OID_TEXT, DB_OID_BYTEA };
static const Oid t_key_delete[] = { DB_OID_BOOL, DB_OID_TEXT };

/* Writes answer one row (ok, rows written); see write_stmt. */
static const struct db_stmt stmts[ST_MAX] = {
	/* The key and its version 0 (wrapped beforehand) together. */
	[ST_KEY_CREATE] = { "kw_key_create",
	    "WITH " WRITE_OK ","
	    " k AS (INSERT INTO keys (name, cipher, length, description,"
	    " attributes, created_ms) SELECT $2, $3, $4, $5, $6,"
	    " COALESCE($7, " MS_NOW ") FROM ok WHERE ok.ok"
	    " RETURNING id, created_ms),"
	    " v AS (INSERT INTO key_versions (key_id, version, kek_id,"
	    " wrapped, created_ms) SELECT id, 0, $8, $9, created_ms FROM k"
	    " RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM v) FROM ok",
	    9, t_key_create },
	/* What a rollover builds on; a standby says so rather than answer. */
	[ST_KEY_CUR] = { "kw_key_cur",
	    "SELECT pg_is_in_recovery(), k.id, k.current_version"
	    " FROM (SELECT 1) AS one LEFT JOIN keys k ON k.name = $1",
	    1, t_text },
	/*
	 * Append version $3 and make it current.  A concurrent rollover
	 * that took $3 first makes this fail on the primary key of
	 * key_versions (23505), a deleted key on its foreign key (23503).
	 */
	[ST_VER_ROLL] = { "kw_ver_roll",
	    "WITH " WRITE_OK ","
	    " v AS (INSERT INTO key_versions (key_id, version, kek_id,"
	    " wrapped, created_ms) SELECT $2, $3, $4, $5, " MS_NOW
	    " FROM ok WHERE ok.ok RETURNING key_id, version),"
	    " u AS (UPDATE keys SET current_version = v.version FROM v"
	    " WHERE keys.id = v.key_id RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM u) FROM ok",
	    5, t_ver_roll },
	[ST_KEY_DELETE] = { "kw_key_delete",
	    "WITH " WRITE_OK ","
	    " d AS (DELETE FROM keys WHERE name = $2 AND (SELECT ok FROM ok)"
	    " RETURNING id)"
	    " SELECT ok.ok, (SELECT count(*) FROM d) FROM ok",
	    2, t_key_delete },
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

/*
 * Send write statement id (its $1 filled in here) and read its (ok, rows)
 * answer into *n.  KW_EUNAVAIL with *why when this database took none of
 * it and the other may (see db_write_fn); a foreign-key violation reads
 * KW_ENOTFOUND (the key went away); otherwise as res_err, or KW_ENOTACK
 * from pc_commit_prepared.
 */
static enum kw_err
write_stmt(struct pconn *pc, int id, const char **vals, const int *lens,
    const int *fmts, int need_sync, int deadline_ms, const char *what,
    const char *name, int64_t *n, const char **why)
{
	PGresult *r;
	enum kw_err rc;

	vals[0] = need_sync ? "t" : "f";
	rc = pc_commit_prepared(pc, id, &stmts[id], vals, lens, fmts, 0,
	    deadline_ms, &r);
	if (rc == KW_EDB) {
		if (r == NULL) {	/* failed before it was sent */
			*why = "not answering";
			rc = KW_EUNAVAIL;
		} else if (strcmp(pc_sqlstate(r), "25006") == 0) {
			*why = "a standby";
			rc = KW_EUNAVAIL;
		} else if (strcmp(pc_sqlstate(r), "23503") == 0)
			rc = KW_ENOTFOUND;
		else
			rc = res_err(pc, what, name, r);
		PQclear(r);
		return rc;
	}
	if (rc != KW_OK)
		return rc;
	/* committed: a malformed answer must not read as a success */
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0) ||
	    get_int(r, 0, 1, n) == -1) {
		pc_log_error(pc, what, name, r);
		rc = KW_EDB;
	} else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		*why = "a primary without a synchronous standby";
		rc = KW_EUNAVAIL;
	}
	PQclear(r);
	return rc;
}

/* What create_fn, roll_fn and delete_fn are asked to write. */
struct key_write {
	const char		*name;
	int			 deadline_ms;	/* the commit deadline */
	const struct db_key_meta *meta;		/* create */
	const char		*kek_id;	/* create: version 0 */
	const unsigned char	*wrapped;
	size_t			 wlen;
	db_wrap_fn		 wrap;		/* roll */
	void			*arg;
	uint32_t		 version;	/* roll: the new version */
};

static enum kw_err
create_fn(struct pconn *pc, int need_sync, void *arg, const char **why)
{
	struct key_write *a = arg;
	const struct db_key_meta *meta = a->meta;
	char lenbuf[16], msbuf[24];
	const char *vals[9];
	int lens[9] = { 0 }, fmts[9] = { 0 };
	int64_t n = 0;
	enum kw_err rc;

	snprintf(lenbuf, sizeof(lenbuf), "%d", meta->length);
	snprintf(msbuf, sizeof(msbuf), "%lld", (long long)meta->created_ms);
	vals[1] = meta->name;
	vals[2] = meta->cipher;
	vals[3] = lenbuf;
	vals[4] = meta->description;
	vals[5] = meta->attributes;
	vals[6] = meta->created_ms != 0 ? msbuf : NULL;
	vals[7] = a->kek_id;
	vals[8] = (const char *)a->wrapped;
	lens[8] = (int)a->wlen;
	fmts[8] = 1;
	rc = write_stmt(pc, ST_KEY_CREATE, vals, lens, fmts, need_sync,
	    a->deadline_ms, "create", meta->name, &n, why);
	if (rc == KW_OK && n != 1) {
		log_warnx("key \"%s\": create wrote %lld versions", meta->name,
		    (long long)n);
		rc = KW_EDB;
	}
	return rc;
}

enum kw_err
db_key_create(struct db *db, const struct db_key_meta *meta,
    db_wrap_fn wrap, void *arg)
{
	struct key_write a = { 0 };
	unsigned char *wrapped = NULL;
	size_t wlen;
	char kek_id[KEK_ID_MAX + 1];
	enum kw_err rc;

	if (meta == NULL || meta->name == NULL || meta->cipher == NULL ||
	    wrap == NULL)
		return KW_EINVAL;
	/*
	 * Version 0 is known before anything is sent, so the key and its
	 * version go in one statement: one round trip, like a plain INSERT.
	 */
	if ((rc = do_wrap(wrap, arg, meta->name, 0, &wrapped, &wlen,
	    kek_id)) != KW_OK)
		return rc;
	a.name = meta->name;
	a.meta = meta;
	a.kek_id = kek_id;
	a.wrapped = wrapped;
	a.wlen = wlen;
	a.deadline_ms = db->commit_deadline_ms;
	rc = db_write(db, create_fn, &a);
	free(wrapped);
	return rc;
}

/*
 * A rollover without holding a lock across round trips: read the current
 * version, wrap for the next one (the wrap binds the version), and append
 * it in one statement that fails when another rollover appended that
 * version first; then start again from the new current version.
 */
static enum kw_err
roll_fn(struct pconn *pc, int need_sync, void *arg, const char **why)
{
	struct key_write *a = arg;
	PGresult *r;
	unsigned char *wrapped;
	size_t wlen;
	char kek_id[KEK_ID_MAX + 1], idbuf[24], verbuf[16];
	const char *vals[5];
	int lens[5] = { 0, 0, 0, 0, 0 }, fmts[5] = { 0, 0, 0, 0, 1 };
	int64_t id, cur, n = 0;
	uint32_t ver;
	int try;
	enum kw_err rc = KW_EDB;

	for (try = 0; try < ROLL_TRIES; try++) {
		/* nothing sent yet: a database not answering is skipped */
		if ((r = run(pc, ST_KEY_CUR, &a->name, NULL, NULL, 0)) ==
		    NULL) {
			*why = "not answering";
			return KW_EUNAVAIL;
		}
		if (!pc_res_ok(r) || PQntuples(r) != 1)
			rc = res_err(pc, "rollover", a->name, r);
		else if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
			*why = "a standby";
			rc = KW_EUNAVAIL;
		} else if (PQgetisnull(r, 0, 1))
			rc = KW_ENOTFOUND;
		else if (get_int(r, 0, 1, &id) == -1 ||
		    get_int(r, 0, 2, &cur) == -1 || cur < 0 ||
		    cur >= INT32_MAX) {
			pc_log_error(pc, "rollover", a->name, r);
			rc = KW_EDB;
		} else
			rc = KW_OK;
		PQclear(r);
		if (rc != KW_OK)
			return rc;

		ver = (uint32_t)cur + 1;
		if ((rc = do_wrap(a->wrap, a->arg, a->name, ver, &wrapped,
		    &wlen, kek_id)) != KW_OK)
			return rc;
		snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
		snprintf(verbuf, sizeof(verbuf), "%u", ver);
		vals[1] = idbuf;
		vals[2] = verbuf;
		vals[3] = kek_id;
		vals[4] = (const char *)wrapped;
		lens[4] = (int)wlen;
		rc = write_stmt(pc, ST_VER_ROLL, vals, lens, fmts, need_sync,
		    a->deadline_ms, "rollover", a->name, &n, why);
		free(wrapped);
		/* lost the race to another rollover, or the key went away */
		if (rc == KW_EEXIST || rc == KW_ENOTFOUND) {
			log_debug("key \"%s\": version %u taken or key gone; "
			    "reading again", a->name, ver);
			continue;
		}
		if (rc == KW_OK && n != 1) {
			log_warnx("key \"%s\": rollover updated %lld rows",
			    a->name, (long long)n);
			rc = KW_EDB;
		}
		if (rc == KW_OK)
			a->version = ver;
		return rc;
	}
	log_warnx("key \"%s\": rollover lost the race %d times in a row",
	    a->name, ROLL_TRIES);
	return KW_EDB;
}

enum kw_err
db_key_roll(struct db *db, const char *name, db_wrap_fn wrap, void *arg,
    uint32_t *new_version)
{
	struct key_write a = { .name = name, .wrap = wrap, .arg = arg,
	    .deadline_ms = db->commit_deadline_ms };
	enum kw_err rc;

	if (name == NULL || wrap == NULL || new_version == NULL)
		return KW_EINVAL;
	if ((rc = db_write(db, roll_fn, &a)) == KW_OK)
		*new_version = a.version;
	return rc;
}

static enum kw_err
delete_fn(struct pconn *pc, int need_sync, void *arg, const char **why)
{
	struct key_write *a = arg;
	const char *vals[2];
	int64_t n = 0;
	enum kw_err rc;

	vals[1] = a->name;
	rc = write_stmt(pc, ST_KEY_DELETE, vals, NULL, NULL, need_sync,
	    a->deadline_ms, "delete", a->name, &n, why);
	if (rc == KW_OK && n == 0)
		rc = KW_ENOTFOUND;
	return rc;
}

enum kw_err
db_key_delete(struct db *db, const char *name)
{
	struct key_write a = { .name = name,
	    .deadline_ms = db->commit_deadline_ms };

	if (name == NULL)
		return KW_EINVAL;
	return db_write(db, delete_fn, &a);
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

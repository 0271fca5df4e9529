/*
 * db.c: the layer's life cycle and the key writes.
 *
 * Each write is one autocommit statement on the primary (db_write) that
 * checks the pair's health itself and completes within the commit
 * deadline (pc_commit_prepared), so a caller never sees a success that
 * was not acknowledged.  What a write changes is marked unsettled in the
 * same statement; once the write is acknowledged, a second statement on
 * the same connection settles it without waiting for the standby (see
 * DURABILITY.md).  The statements are in keysql.c, reads in keyread.c,
 * pools in pool.c, deadlines in exec.c, the choice of database in
 * route.c, migrations in migrate.c and the master-key check in kek.c.
 *
 * Creation times: db_key_meta.created_ms as given by the caller, or the
 * database's now() when it is 0.  Versions added by a rollover are
 * stamped with the database's now().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

#define ROLL_TRIES	8	/* races a rollover may lose in a row */
/* How long an acknowledged write waits to settle (its client waits). */
#define SETTLE_DEADLINE_MS	500

/* Call the wrap callback; check what it returns. */
static enum kw_err
do_wrap(db_wrap_fn wrap, void *arg, const char *name, uint32_t version,
    int length, unsigned char **wrapped, size_t *wlen,
    char kek_id[KEK_ID_MAX + 1])
{
	enum kw_err rc;

	memset(kek_id, 0, KEK_ID_MAX + 1);
	*wrapped = NULL;
	*wlen = 0;
	rc = wrap(arg, name, version, length, wrapped, wlen, kek_id);
	if (rc == KW_OK && (*wrapped == NULL || kek_id[KEK_ID_MAX] != '\0' ||
	    *wlen > INT32_MAX))
		rc = KW_ECRYPTO;
	if (rc != KW_OK) {
		if (rc == KW_ECRYPTO)
			log_warnx("key \"%s\": could not wrap version %u",
			    name, version);
		free(*wrapped);
		*wrapped = NULL;
	}
	return rc;
}

/* Milliseconds left before the absolute deadline at, at least 1. */
static int
left_ms(int64_t at)
{
	int64_t d = at - db_mono_ms();

	return d < 1 ? 1 : d > INT32_MAX ? INT32_MAX : (int)d;
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
 * Send write statement id (its $1 filled in here) and read its (ok, rows,
 * key id) answer into *n and *key_id.  KW_EUNAVAIL with *why when this database took none of
 * it and the other may (see db_write_fn); a foreign-key violation reads
 * KW_ENOTFOUND (the key went away); otherwise as res_err, or KW_ENOTACK
 * from pc_commit_prepared.
 */
static enum kw_err
write_stmt(struct pconn *pc, int id, const char **vals, const int *lens,
    const int *fmts, int need_sync, int deadline_ms, const char *what,
    const char *name, int64_t *n, int64_t *key_id, const char **why)
{
	PGresult *r;
	enum kw_err rc;

	vals[0] = need_sync ? "t" : "f";
	*key_id = -1;
	rc = pc_commit_prepared(pc, id, &key_stmts[id], vals, lens, fmts, 0,
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
			rc = key_res_err(pc, what, name, r);
		PQclear(r);
		return rc;
	}
	if (rc != KW_OK)
		return rc;
	/* committed: a malformed answer must not read as a success */
	if (PQntuples(r) != 1 || PQnfields(r) != 3 || PQgetisnull(r, 0, 0) ||
	    key_get_int(r, 0, 1, n) == -1) {
		pc_log_error(pc, what, name, r);
		rc = KW_EDB;
	} else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		*why = "a primary without a synchronous standby";
		rc = KW_EUNAVAIL;
	} else if (*n > 0 && key_get_int(r, 0, 2, key_id) == -1) {
		pc_log_error(pc, what, name, r);
		rc = KW_EDB;
	}
	PQclear(r);
	return rc;
}

/*
 * Settle what an acknowledged write of key_id made (statement id:
 * ST_SETTLE_WRITE with the version, ST_SETTLE_DELETE): the standby
 * holds it, so readers on the primary may use it without asking.  The
 * statement does not wait for the standby.  A failure is harmless (the
 * rows stay unsettled; readers ask the standby and settle.c settles them
 * later) and is only logged at debug level.
 */
static void
settle_stmt(struct pconn *pc, int id, int64_t key_id, uint32_t version,
    const char *name)
{
	char idbuf[24], verbuf[16];
	const char *vals[2] = { idbuf, verbuf };
	PGresult *r;

	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)key_id);
	snprintf(verbuf, sizeof(verbuf), "%u", version);
	if ((r = pc_prepared(pc, id, &key_stmts[id], vals, NULL, NULL, 0,
	    SETTLE_DEADLINE_MS)) == NULL || !pc_res_ok(r))
		log_debug("key \"%s\": could not settle its write yet (%s)",
		    name, r == NULL ? "no answer" : pc_sqlstate(r));
	PQclear(r);
}

/* What create_fn, roll_fn and delete_fn are asked to write. */
struct key_write {
	const char		*name;
	int64_t			 deadline_at;	/* mono ms: answer by then */
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
	int64_t n = 0, key_id;
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
	    left_ms(a->deadline_at), "create", meta->name, &n, &key_id, why);
	if (rc == KW_OK && n != 1) {
		log_warnx("key \"%s\": create wrote %lld versions", meta->name,
		    (long long)n);
		rc = KW_EDB;
	}
	if (rc == KW_OK)
		settle_stmt(pc, ST_SETTLE_WRITE, key_id, 0, meta->name);
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
	if ((rc = do_wrap(wrap, arg, meta->name, 0, meta->length, &wrapped,
	    &wlen, kek_id)) != KW_OK)
		return rc;
	a.name = meta->name;
	a.meta = meta;
	a.kek_id = kek_id;
	a.wrapped = wrapped;
	a.wlen = wlen;
	a.deadline_at = db_mono_ms() + db->commit_deadline_ms;
	rc = db_write_by(db, create_fn, &a, a.deadline_at);
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
	int64_t id, cur, len = 0, n = 0, key_id;
	uint32_t ver;
	int try;
	enum kw_err rc = KW_EDB;

	for (try = 0; try < ROLL_TRIES; try++) {
		/* nothing sent yet: a database not answering is skipped */
		if ((r = pc_prepared(pc, ST_KEY_CUR, &key_stmts[ST_KEY_CUR],
		    &a->name, NULL, NULL, 0, left_ms(a->deadline_at) <
		    DB_OP_DEADLINE_MS ? left_ms(a->deadline_at) :
		    DB_OP_DEADLINE_MS)) == NULL) {
			*why = "not answering";
			return KW_EUNAVAIL;
		}
		if (!pc_res_ok(r) || PQntuples(r) != 1)
			rc = key_res_err(pc, "rollover", a->name, r);
		else if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
			*why = "a standby";
			rc = KW_EUNAVAIL;
		} else if (PQgetisnull(r, 0, 1))
			rc = KW_ENOTFOUND;
		else if (key_get_int(r, 0, 1, &id) == -1 ||
		    key_get_int(r, 0, 2, &cur) == -1 || cur < 0 ||
		    cur >= INT32_MAX || key_get_int(r, 0, 3, &len) == -1) {
			pc_log_error(pc, "rollover", a->name, r);
			rc = KW_EDB;
		} else
			rc = KW_OK;
		PQclear(r);
		if (rc != KW_OK)
			return rc;

		ver = (uint32_t)cur + 1;
		if ((rc = do_wrap(a->wrap, a->arg, a->name, ver, (int)len,
		    &wrapped, &wlen, kek_id)) != KW_OK)
			return rc;
		snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
		snprintf(verbuf, sizeof(verbuf), "%u", ver);
		vals[1] = idbuf;
		vals[2] = verbuf;
		vals[3] = kek_id;
		vals[4] = (const char *)wrapped;
		lens[4] = (int)wlen;
		rc = write_stmt(pc, ST_VER_ROLL, vals, lens, fmts, need_sync,
		    left_ms(a->deadline_at), "rollover", a->name, &n, &key_id, why);
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
		if (rc == KW_OK) {
			a->version = ver;
			settle_stmt(pc, ST_SETTLE_WRITE, key_id, ver, a->name);
		}
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
	    .deadline_at = db_mono_ms() + db->commit_deadline_ms };
	enum kw_err rc;

	if (name == NULL || wrap == NULL || new_version == NULL)
		return KW_EINVAL;
	if ((rc = db_write_by(db, roll_fn, &a, a.deadline_at)) == KW_OK)
		*new_version = a.version;
	return rc;
}

static enum kw_err
delete_fn(struct pconn *pc, int need_sync, void *arg, const char **why)
{
	struct key_write *a = arg;
	const char *vals[2];
	int64_t n = 0, key_id;
	enum kw_err rc;

	vals[1] = a->name;
	rc = write_stmt(pc, ST_KEY_DELETE, vals, NULL, NULL, need_sync,
	    left_ms(a->deadline_at), "delete", a->name, &n, &key_id, why);
	if (rc == KW_OK && n == 0)
		rc = KW_ENOTFOUND;
	if (rc == KW_OK)
		settle_stmt(pc, ST_SETTLE_DELETE, key_id, 0, a->name);
	return rc;
}

enum kw_err
db_key_delete(struct db *db, const char *name)
{
	struct key_write a = { .name = name,
	    .deadline_at = db_mono_ms() + db->commit_deadline_ms };

	if (name == NULL)
		return KW_EINVAL;
	return db_write_by(db, delete_fn, &a, a.deadline_at);
}

/*
 * keynames.c: the list of key names as a cursor, a batch at a time, so
 * GET /kms/v1/keys/names never holds a million names at once.
 *
 * The list is decided as every durable read is (db_read_settled,
 * DURABILITY.md): from the local database, failing
 * over to the peer; a primary holding unsettled keys is not used as it
 * is, the other database is asked if it is a standby, and failing that
 * the primary lists its settled keys only.  The decision and every batch
 * come from one REPEATABLE READ snapshot, in which a server-side cursor
 * reads the names in byte order, so the listing is what one statement
 * would have returned.  The cursor holds one pooled connection until it
 * is closed.  Owns no JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

struct db_names_cursor {
	struct pconn	*pc;
	int		 done;
};

/* Whether a database's snapshot can list (see judge in keyread.c). */
#define SNAP_SQL	"SELECT pg_is_in_recovery(), EXISTS (SELECT 1 FROM keys" \
			" WHERE pending OR deleting)"
/* On a standby a deleting key is gone; on a primary read in RD_SETTLED
 * an unsettled create is not there yet (nothing else is unsettled on a
 * primary read in RD_ANY). */
#define CURSOR_SQL(skip) "DECLARE kw_names NO SCROLL CURSOR FOR SELECT name" \
			" FROM keys WHERE NOT " skip \
			" ORDER BY name COLLATE \"C\""

/*
 * Open the cursor on pool p in mode m: KW_OK with *out's connection in
 * its transaction, KW_EPENDING when this database cannot answer in m,
 * KW_EDB when it does not answer (pc->broken) or refuses; *again when
 * the connection was a pooled one found dead.
 */
static enum kw_err
open_once(struct pool *p, enum rd_mode m, struct db_names_cursor *out,
    int *again)
{
	struct pconn *pc;
	PGresult *r = NULL;
	int standby, unsettled;
	enum kw_err rc = KW_EDB;

	*again = 0;
	if (p == NULL || pool_down(p) || pool_get(p, DB_BORROW_MS, &pc) != KW_OK)
		return KW_EDB;
	r = pc_exec(pc, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    DB_OP_DEADLINE_MS);
	if (r == NULL || !pc_res_ok(r))
		goto out;
	PQclear(r);
	if ((r = pc_exec(pc, SNAP_SQL, DB_OP_DEADLINE_MS)) == NULL ||
	    !pc_res_ok(r) || PQntuples(r) != 1)
		goto out;
	standby = key_get_bool(r, 0, 0);
	unsettled = key_get_bool(r, 0, 1);
	if (!standby && ((m == RD_ANY && unsettled) || m == RD_STANDBY)) {
		rc = KW_EPENDING;
		goto out;
	}
	PQclear(r);
	if ((r = pc_exec(pc, standby ? CURSOR_SQL("deleting") :
	    CURSOR_SQL("pending"), DB_OP_DEADLINE_MS)) == NULL ||
	    !pc_res_ok(r))
		goto out;
	PQclear(r);
	out->pc = pc;
	return KW_OK;
out:
	if (r != NULL && !pc_res_ok(r))
		pc_log_error(pc, "list keys", NULL, r);
	PQclear(r);
	if (pc->broken == PC_OK && (r = pc_exec(pc, "ROLLBACK",
	    DB_OP_DEADLINE_MS)) != NULL)
		PQclear(r);
	*again = pc->broken == PC_CONNERR && pc->reused;
	pool_put(pc);
	return rc;
}

static enum kw_err
open_on(struct pool *p, enum rd_mode m, struct db_names_cursor *out)
{
	enum kw_err rc;
	int again = 0;

	/* a pooled connection that died with a server restart: once more */
	if ((rc = open_once(p, m, out, &again)) == KW_EDB && again)
		rc = open_once(p, m, out, &again);
	return rc;
}

enum kw_err
db_names_open(struct db *db, struct db_names_cursor **out)
{
	struct pool *pools[2] = { db->local, db->peer };
	struct db_names_cursor *c;
	enum kw_err rc = KW_EDB;
	int i;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KW_ENOMEM;
	/* a database found down goes last, as for every read (route.c) */
	if (pools[1] != NULL && pool_down(pools[0]) && !pool_down(pools[1])) {
		pools[0] = db->peer;
		pools[1] = db->local;
	}
	for (i = 0; i < 2; i++)
		if ((rc = open_on(pools[i], RD_ANY, c)) != KW_EDB)
			break;
	if (rc == KW_EPENDING &&
	    open_on(pools[1 - i], RD_STANDBY, c) != KW_OK)
		rc = open_on(pools[i], RD_SETTLED, c);
	else if (rc == KW_EPENDING)
		rc = KW_OK;
	if (rc != KW_OK) {
		free(c);
		return rc;
	}
	*out = c;
	return KW_OK;
}

enum kw_err
db_names_next(struct db_names_cursor *c, size_t max, char ***names,
    size_t *n)
{
	char sql[64];
	PGresult *r;
	char **v;
	size_t i, rows;
	enum kw_err rc = KW_OK;

	*names = NULL;
	*n = 0;
	if (c->done)
		return KW_OK;
	snprintf(sql, sizeof(sql), "FETCH FORWARD %zu FROM kw_names", max);
	/* the first fetch sorts the whole table: the longer deadline */
	if ((r = pc_exec(c->pc, sql, DB_DEADLINE_MS)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(c->pc, "list keys", NULL, r);
		goto out;
	}
	rows = (size_t)PQntuples(r);
	if (rows < max)
		c->done = 1;
	if ((v = calloc(rows > 0 ? rows : 1, sizeof(*v))) == NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < rows; i++)
		if (key_get_str(r, (int)i, 0, &v[i]) == -1 || v[i] == NULL) {
			db_names_free(v, i);
			rc = KW_ENOMEM;
			goto out;
		}
	*names = v;
	*n = rows;
out:
	PQclear(r);
	return rc;
}

void
db_names_close(struct db_names_cursor *c)
{
	PGresult *r;

	if (c == NULL)
		return;
	if (c->pc->broken == PC_OK && (r = pc_exec(c->pc, "ROLLBACK",
	    DB_OP_DEADLINE_MS)) != NULL) {
		if (!pc_res_ok(r))
			c->pc->broken = PC_DISCARD;
		PQclear(r);
	}
	pool_put(c->pc);
	free(c);
}

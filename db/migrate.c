/*
 * migrate.c: schema migrations and the schema version.
 *
 * The migrations are the db/NNN_name.sql files, embedded at build time
 * (db/embed-sql.sh, db/migrations.h).  Each runs in a transaction of its
 * own on the primary, under a transaction-scoped advisory lock so that
 * two programs migrating at once apply each file exactly once, and is
 * recorded in schema_version, which this file creates.  A migration file
 * holds no BEGIN/COMMIT of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "migrations.h"
#include "pool.h"
#include "../lib/log.h"

/* pg_advisory_xact_lock key: "keyward" in ASCII. */
#define MIGRATE_LOCK	"30229394876363364"
/* DDL on a big table may take a while; nothing may hang for ever. */
#define MIGRATE_DEADLINE_MS	(10 * 60 * 1000)

#define SCHEMA_VERSION_DDL \
	"CREATE TABLE IF NOT EXISTS schema_version (" \
	" version int PRIMARY KEY," \
	" name text NOT NULL," \
	" applied_at timestamptz NOT NULL DEFAULT now())"

/* Copy a libpq error message into err on one line. */
static void
set_err(char *err, size_t errlen, const char *what, const PGresult *r)
{
	char msg[512];
	const char *m = r != NULL ? PQresultErrorMessage(r) : "";
	size_t i;

	snprintf(msg, sizeof(msg), "%s", m != NULL ? m : "");
	for (i = 0; msg[i] != '\0'; i++)
		if (msg[i] == '\n')
			msg[i] = ' ';
	while (i > 0 && msg[i - 1] == ' ')
		msg[--i] = '\0';
	if (*msg != '\0')
		snprintf(err, errlen, "%s: %s", what, msg);
	else
		snprintf(err, errlen, "%s", what);
}

/*
 * In pc's open transaction: lock out other migrators, create
 * schema_version when missing, read the highest applied version.
 */
static enum kw_err
lock_and_read(struct pconn *pc, int *cur, char *err, size_t errlen)
{
	PGresult *r;
	enum kw_err rc = KW_OK;
	int64_t v;
	char *end;

	r = pc_exec(pc, "SET LOCAL statement_timeout = 0; "
	    "SET LOCAL client_min_messages = warning; "
	    "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK "); "
	    SCHEMA_VERSION_DDL "; "
	    "SELECT coalesce(max(version), 0) FROM schema_version",
	    MIGRATE_DEADLINE_MS);
	if (r == NULL) {
		snprintf(err, errlen, "%s database did not answer",
		    pool_label(pc->pool));
		return KW_EDB;
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		pc_log_error(pc, "schema_version", NULL, r);
		set_err(err, errlen, "schema_version", r);
		rc = KW_EDB;
		goto out;
	}
	v = strtoll(PQgetvalue(r, 0, 0), &end, 10);
	if (*end != '\0' || v < 0 || v > INT32_MAX) {
		snprintf(err, errlen, "bad schema version \"%s\"",
		    PQgetvalue(r, 0, 0));
		rc = KW_EDB;
		goto out;
	}
	*cur = (int)v;
out:
	PQclear(r);
	return rc;
}

/* Apply m in pc's open transaction and record it. */
static enum kw_err
apply(struct pconn *pc, const struct db_migration *m, char *err,
    size_t errlen)
{
	PGresult *r;
	char ver[16];
	const char *vals[2] = { ver, m->name };
	enum kw_err rc = KW_OK;

	if ((r = pc_exec(pc, m->sql, MIGRATE_DEADLINE_MS)) == NULL) {
		snprintf(err, errlen, "%s: database did not answer", m->name);
		return KW_EDB;
	}
	if (!pc_res_ok(r)) {
		pc_log_error(pc, m->name, NULL, r);
		set_err(err, errlen, m->name, r);
		rc = KW_EDB;
		goto out;
	}
	PQclear(r);
	snprintf(ver, sizeof(ver), "%d", m->version);
	r = pc_exec_params(pc, "INSERT INTO schema_version (version, name) "
	    "VALUES ($1::int, $2)", 2, vals, NULL, NULL, 0, DB_DEADLINE_MS);
	if (r == NULL) {
		snprintf(err, errlen, "%s: database did not answer", m->name);
		return KW_EDB;
	}
	if (!pc_res_ok(r)) {
		pc_log_error(pc, "schema_version", NULL, r);
		set_err(err, errlen, m->name, r);
		rc = KW_EDB;
	}
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_migrate(struct db *db, char *err, size_t errlen)
{
	struct pconn *pc = NULL;
	const struct db_migration *m;
	enum kw_err rc;
	size_t i;
	int cur = 0, last = 0;

	if (err == NULL)
		errlen = 0;		/* snprintf(NULL, 0, ...) is fine */
	else if (errlen > 0)
		*err = '\0';
	if (db_nmigrations > 0)
		last = db_migrations[db_nmigrations - 1].version;
	/* One transaction per migration: the version is re-read each time. */
	for (;;) {
		if ((rc = db_write_begin(db, &pc)) != KW_OK) {
			snprintf(err, errlen, "no primary database answers");
			goto out;
		}
		if ((rc = lock_and_read(pc, &cur, err, errlen)) != KW_OK)
			goto out;
		for (m = NULL, i = 0; i < db_nmigrations; i++)
			if (db_migrations[i].version > cur) {
				m = &db_migrations[i];
				break;
			}
		if (m != NULL && (rc = apply(pc, m, err, errlen)) != KW_OK)
			goto out;
		if ((rc = pc_commit(pc, db->commit_deadline_ms)) != KW_OK) {
			snprintf(err, errlen, "%s: commit %s",
			    m != NULL ? m->name : "schema_version",
			    rc == KW_ENOTACK ? "not acknowledged" : "failed");
			goto out;
		}
		db_write_end(pc);
		pc = NULL;
		if (m == NULL)
			break;
		log_info("database schema migrated to version %d (%s)",
		    m->version, m->name);
	}
	if (cur > last)
		log_warnx("database schema version %d is newer than this "
		    "program's %d", cur, last);
	rc = KW_OK;
out:
	db_write_end(pc);
	return rc;
}

static enum kw_err
version_fn(struct pconn *pc, void *arg)
{
	int *out = arg;
	PGresult *r;
	enum kw_err rc = KW_OK;

	r = pc_exec(pc, "SELECT coalesce(max(version), 0) FROM schema_version",
	    DB_DEADLINE_MS);
	if (r == NULL)
		return KW_EDB;
	if (strcmp(pc_sqlstate(r), "42P01") == 0) {
		*out = 0;		/* no schema_version: nothing applied */
		goto out;
	}
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		pc_log_error(pc, "schema_version", NULL, r);
		rc = KW_EDB;
		goto out;
	}
	*out = atoi(PQgetvalue(r, 0, 0));
out:
	PQclear(r);
	return rc;
}

int
db_schema_version(struct db *db)
{
	int v = -1;

	if (db_read_local(db, version_fn, &v) != KW_OK)
		return -1;
	return v;
}

/*
 * roles.c: the passwords of keyward's database roles (keyward_server,
 * keyward_repl; db/004_roles.sql creates them).
 *
 * A migration holds no secret, so `keyward-admin db migrate` sets the
 * passwords here after the migrations, from [db] password_file.  The
 * password leaves this process only as a SCRAM verifier computed by libpq
 * (PQencryptPasswordConn, as psql's \password does), never in clear.
 * What the roles may do is the migration's business, not this file's.
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "pool.h"
#include "../lib/log.h"

static const char *const role_names[] = { DB_ROLE_SERVER, DB_ROLE_REPL };

/* May the connected user set other roles' passwords (and do they exist)? */
static enum kw_err
may_set(struct pconn *pc, int *may)
{
	PGresult *r;
	enum kw_err rc = KW_OK;

	r = pc_exec(pc, "SELECT (SELECT rolsuper OR rolcreaterole FROM pg_roles"
	    " WHERE rolname = current_user) AND (SELECT count(*) = 2 FROM"
	    " pg_roles WHERE rolname IN ('" DB_ROLE_SERVER "', '"
	    DB_ROLE_REPL "'))", DB_DEADLINE_MS);
	if (r == NULL)
		return KW_EDB;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		pc_log_error(pc, "role check", NULL, r);
		rc = KW_EDB;
	} else {
		*may = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	}
	PQclear(r);
	return rc;
}

/* ALTER ROLE role PASSWORD '<verifier>' in pc's open transaction. */
static enum kw_err
set_one(struct pconn *pc, const char *role, const char *password)
{
	char *verifier = NULL, *lit = NULL, sql[512];
	PGresult *r = NULL;
	enum kw_err rc = KW_EDB;

	verifier = PQencryptPasswordConn(pc->conn, password, role,
	    "scram-sha-256");
	if (verifier == NULL) {
		log_warnx("could not compute the password verifier of role %s",
		    role);
		goto out;
	}
	if ((lit = PQescapeLiteral(pc->conn, verifier, strlen(verifier))) ==
	    NULL || (size_t)snprintf(sql, sizeof(sql), "ALTER ROLE %s PASSWORD "
	    "%s", role, lit) >= sizeof(sql))
		goto out;
	if ((r = pc_exec(pc, sql, DB_DEADLINE_MS)) == NULL)
		goto out;
	if (!pc_res_ok(r)) {
		pc_log_error(pc, "role password", NULL, r);
		goto out;
	}
	rc = KW_OK;
out:
	explicit_bzero(sql, sizeof(sql));
	PQclear(r);
	if (lit != NULL) {
		explicit_bzero(lit, strlen(lit));
		PQfreemem(lit);
	}
	if (verifier != NULL) {
		explicit_bzero(verifier, strlen(verifier));
		PQfreemem(verifier);
	}
	return rc;
}

enum kw_err
db_roles_password(struct db *db, const char *password, int *set)
{
	struct pconn *pc = NULL;
	enum kw_err rc;
	size_t i;
	int may = 0;

	*set = 0;
	if ((rc = db_write_begin(db, &pc)) != KW_OK)
		return rc;
	if ((rc = may_set(pc, &may)) != KW_OK || !may)
		goto out;
	for (i = 0; i < sizeof(role_names) / sizeof(role_names[0]); i++)
		if ((rc = set_one(pc, role_names[i], password)) != KW_OK)
			goto out;
	if ((rc = pc_commit(pc, db->commit_deadline_ms)) == KW_OK)
		*set = 1;
out:
	db_write_end(pc);
	return rc;
}

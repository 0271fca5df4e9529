/*
 * nodeconf.c: each node's configuration fingerprints in node_config
 * (006_node_config.sql): the upsert a server makes of its own row and
 * the read of a row.  Fingerprints only: no secret crosses this file.
 * The write is guarded like every other (WRITE_OK, the commit deadline),
 * so it is acknowledged by both databases or reported as not taken.
 * Comparing the rows is the server's business (server/drift.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "keysql.h"

enum { NC_PUT = NC_FIRST, NC_GET, NC_MAX };
_Static_assert(NC_MAX <= DB_MAX_STMTS, "too many prepared statements");

static const Oid t_put[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_TEXT,
	DB_OID_TEXT, DB_OID_TEXT, DB_OID_INT4 };
static const Oid t_get[] = { DB_OID_TEXT };

static const struct db_stmt nc_stmts[NC_MAX - NC_FIRST] = {
	/* Node $2's fingerprints: ACL $3, cookie $4 ("" none), version $5,
	 * schema version $6. */
	[NC_PUT - NC_FIRST] = { "kw_nodeconf_put",
	    "WITH " WRITE_OK ","
	    " i AS (INSERT INTO node_config (node, acl_sha256, cookie_hmac,"
	    " version, schema_version, seen_ms)"
	    " SELECT $2, $3, NULLIF($4, ''), $5, $6, " MS_NOW " FROM ok"
	    " WHERE ok.ok ON CONFLICT (node) DO UPDATE SET"
	    " acl_sha256 = EXCLUDED.acl_sha256,"
	    " cookie_hmac = EXCLUDED.cookie_hmac,"
	    " version = EXCLUDED.version,"
	    " schema_version = EXCLUDED.schema_version,"
	    " seen_ms = EXCLUDED.seen_ms RETURNING 1)"
	    " SELECT ok.ok, (SELECT count(*) FROM i), 0 FROM ok", 6, t_put },
	[NC_GET - NC_FIRST] = { "kw_nodeconf_get",
	    "SELECT acl_sha256, COALESCE(cookie_hmac, ''), version,"
	    " schema_version, seen_ms FROM node_config WHERE node = $1",
	    1, t_get },
};

enum kw_err
db_nodeconf_put(struct db *db, const struct db_nodeconf *nc)
{
	struct guarded_write w = { .id = NC_PUT };
	const char *vals[6];
	char sv[16];

	snprintf(sv, sizeof(sv), "%d", nc->schema_version);
	vals[1] = nc->node;
	vals[2] = nc->acl_sha256;
	vals[3] = nc->cookie_hmac;
	vals[4] = nc->version;
	vals[5] = sv;
	w.st = &nc_stmts[NC_PUT - NC_FIRST];
	w.vals = vals;
	return guarded_write_run(db, &w);
}

struct get_arg {
	const char		*node;
	struct db_nodeconf	*out;
	int			 found;
};

static enum kw_err
get_fn(struct pconn *pc, void *arg)
{
	struct get_arg *a = arg;
	struct db_nodeconf *o = a->out;
	PGresult *r;
	int64_t sv;
	enum kw_err rc = KW_OK;

	r = pc_prepared(pc, NC_GET, &nc_stmts[NC_GET - NC_FIRST], &a->node,
	    NULL, NULL, 0, DB_OP_DEADLINE_MS);
	if (r == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "node configuration", NULL, r);
		goto out;
	}
	if ((a->found = PQntuples(r) == 1) == 0)
		goto out;
	snprintf(o->node, sizeof(o->node), "%s", a->node);
	snprintf(o->acl_sha256, sizeof(o->acl_sha256), "%s",
	    PQgetvalue(r, 0, 0));
	snprintf(o->cookie_hmac, sizeof(o->cookie_hmac), "%s",
	    PQgetvalue(r, 0, 1));
	snprintf(o->version, sizeof(o->version), "%s", PQgetvalue(r, 0, 2));
	if (key_get_int(r, 0, 3, &sv) != 0 ||
	    key_get_int(r, 0, 4, &o->seen_ms) != 0) {
		pc_log_error(pc, "node configuration", NULL, r);
		rc = KW_EDB;
		goto out;
	}
	o->schema_version = (int)sv;
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_nodeconf_get(struct db *db, const char *node, struct db_nodeconf *out)
{
	struct get_arg a = { node, out, 0 };
	enum kw_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_read(db, get_fn, &a)) != KW_OK)
		return rc;
	return a.found ? KW_OK : KW_ENOTFOUND;
}

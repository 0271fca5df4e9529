/*
 * pgadmin.c: administration statements for keyward-admin (see pgadmin.h).
 *
 * Each statement is sent with libpq's asynchronous API and waited for
 * up to a deadline (pgwait.c, the same wait as the server's pools), so
 * the operator's command never hangs on a frozen database; past the
 * deadline the connection is abandoned and the call fails with "no
 * answer within N s".  Names (slots, database)
 * are always parameters or escaped identifiers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "pgadmin.h"
#include "keysql.h"
#include "pgwait.h"

struct pga {
	PGconn	*conn;
	int	 timeout_ms;
	int	 dead;			/* a deadline passed: unusable */
	char	 where[300];
};

struct pga *
pga_connect(const char *host, const char *port, const char *user,
    const char *dbname, const char *password, int timeout_s, char *err,
    size_t errlen)
{
	const char *keys[10], *vals[10];
	char tmo[16], msg[400];
	struct pga *c;
	int n = 0;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (timeout_s < 1)
		timeout_s = 1;
	c->timeout_ms = timeout_s * 1000;
	snprintf(c->where, sizeof(c->where), "%s:%s", host, port);
	snprintf(tmo, sizeof(tmo), "%d", timeout_s);
	keys[n] = "host";		vals[n++] = host;
	keys[n] = "port";		vals[n++] = port;
	keys[n] = "user";		vals[n++] = user;
	keys[n] = "dbname";		vals[n++] = dbname;
	keys[n] = "connect_timeout";	vals[n++] = tmo;
	keys[n] = "application_name";	vals[n++] = "keyward-admin";
	if (password != NULL) {
		keys[n] = "password";	vals[n++] = password;
	}
	keys[n] = NULL;			vals[n] = NULL;
	c->conn = PQconnectdbParams(keys, vals, 0);
	if (c->conn == NULL) {
		snprintf(err, errlen, "%s: out of memory", c->where);
		free(c);
		return NULL;
	}
	if (PQstatus(c->conn) != CONNECTION_OK) {
		db_oneline(PQerrorMessage(c->conn), msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s", c->where, msg);
		PQfinish(c->conn);
		free(c);
		return NULL;
	}
	return c;
}

void
pga_close(struct pga *c)
{
	if (c == NULL)
		return;
	PQfinish(c->conn);
	free(c);
}

const char *
pga_where(const struct pga *c)
{
	return c->where;
}

/*
 * Wait for the results of what was sent, up to deadline_ms (pgw_wait).
 * Returns the first error result, else the last one; NULL with err set
 * when the connection failed or the deadline passed (the connection is
 * then abandoned).
 */
static PGresult *
wait_result(struct pga *c, int deadline_ms, char *err, size_t errlen)
{
	PGresult *r;
	char msg[400];

	switch (pgw_wait(c->conn, db_mono_ms() + deadline_ms, &r)) {
	case PGW_OK:
		if (r == NULL)
			snprintf(err, errlen, "%s: no result", c->where);
		return r;
	case PGW_TIMEOUT:
		c->dead = 1;
		snprintf(err, errlen, "%s: no answer within %d s", c->where,
		    (deadline_ms + 999) / 1000);
		return NULL;
	default:
		c->dead = 1;
		db_oneline(PQerrorMessage(c->conn), msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s", c->where, msg);
		return NULL;
	}
}

/*
 * Run sql with up to two text parameters within deadline_ms (0: the
 * connection's timeout).  A result of the expected status, or NULL with
 * err set (and the result cleared).
 */
static PGresult *
run(struct pga *c, const char *sql, int nparams, const char *p1,
    const char *p2, ExecStatusType want, int deadline_ms, char *err,
    size_t errlen)
{
	const char *params[2] = { p1, p2 };
	PGresult *r;
	char msg[400];

	if (c->dead) {
		snprintf(err, errlen, "%s: connection abandoned", c->where);
		return NULL;
	}
	if (!PQsendQueryParams(c->conn, sql, nparams, NULL,
	    nparams > 0 ? params : NULL, NULL, NULL, 0)) {
		db_oneline(PQerrorMessage(c->conn), msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s", c->where, msg);
		c->dead = 1;
		return NULL;
	}
	r = wait_result(c, deadline_ms > 0 ? deadline_ms : c->timeout_ms, err,
	    errlen);
	if (r == NULL)
		return NULL;
	if (PQresultStatus(r) != want) {
		db_oneline(PQresultErrorMessage(r), msg, sizeof(msg));
		snprintf(err, errlen, "%s: %s", c->where,
		    *msg != '\0' ? msg : "unexpected result");
		PQclear(r);
		return NULL;
	}
	return r;
}

/* One value of a one-row, one-column query into out.  0 or -1. */
static int
one_value(struct pga *c, const char *sql, const char *p1, char *out,
    size_t outlen, char *err, size_t errlen)
{
	PGresult *r;

	r = run(c, sql, p1 != NULL ? 1 : 0, p1, NULL, PGRES_TUPLES_OK, 0, err,
	    errlen);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1 || PQnfields(r) < 1) {
		snprintf(err, errlen, "%s: expected one row, got %d", c->where,
		    PQntuples(r));
		PQclear(r);
		return -1;
	}
	snprintf(out, outlen, "%s", PQgetisnull(r, 0, 0) ? "" :
	    PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

int
pga_in_recovery(struct pga *c, int *in_recovery, char *err, size_t errlen)
{
	char v[8];

	if (one_value(c, "SELECT pg_is_in_recovery()", NULL, v, sizeof(v), err,
	    errlen) != 0)
		return -1;
	*in_recovery = v[0] == 't';
	return 0;
}

int
pga_system_id(struct pga *c, char *out, size_t outlen, char *err,
    size_t errlen)
{
	return one_value(c, "SELECT system_identifier::text "
	    "FROM pg_control_system()", NULL, out, outlen, err, errlen);
}

int
pga_database_ensure(struct pga *c, const char *dbname, int *created,
    char *err, size_t errlen)
{
	PGresult *r;
	char n[8], *id, *sql;
	size_t len;

	*created = 0;
	if (one_value(c, "SELECT count(*) FROM pg_database WHERE datname = $1",
	    dbname, n, sizeof(n), err, errlen) != 0)
		return -1;
	if (strcmp(n, "0") != 0)
		return 0;
	if ((id = PQescapeIdentifier(c->conn, dbname, strlen(dbname))) == NULL) {
		snprintf(err, errlen, "%s: cannot quote database name", c->where);
		return -1;
	}
	len = strlen(id) + 64;
	if ((sql = malloc(len)) == NULL) {
		PQfreemem(id);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(sql, len, "CREATE DATABASE %s ENCODING 'UTF8'", id);
	PQfreemem(id);
	r = run(c, sql, 0, NULL, NULL, PGRES_COMMAND_OK, 0, err, errlen);
	free(sql);
	if (r == NULL)
		return -1;
	PQclear(r);
	*created = 1;
	return 0;
}

int
pga_slot_ensure(struct pga *c, const char *name, int *created, char *err,
    size_t errlen)
{
	PGresult *r;
	char n[8];

	*created = 0;
	if (one_value(c, "SELECT count(*) FROM pg_replication_slots "
	    "WHERE slot_name = $1", name, n, sizeof(n), err, errlen) != 0)
		return -1;
	if (strcmp(n, "0") != 0)
		return 0;
	r = run(c, "SELECT pg_create_physical_replication_slot($1, true)", 1,
	    name, NULL, PGRES_TUPLES_OK, 0, err, errlen);
	if (r == NULL)
		return -1;
	PQclear(r);
	*created = 1;
	return 0;
}

int
pga_slots_drop_inactive(struct pga *c, int *dropped, char *err,
    size_t errlen)
{
	char n[16];

	*dropped = 0;
	if (one_value(c, "SELECT count(pg_drop_replication_slot(slot_name)) "
	    "FROM pg_replication_slots WHERE NOT active "
	    "AND slot_type = 'physical'", NULL, n, sizeof(n), err, errlen) != 0)
		return -1;
	*dropped = atoi(n);
	return 0;
}

int
pga_slots_inactive(struct pga *c, char *out, size_t outlen, char *err,
    size_t errlen)
{
	return one_value(c, "SELECT coalesce(string_agg(slot_name, ', ' "
	    "ORDER BY slot_name), '') FROM pg_replication_slots "
	    "WHERE NOT active AND slot_type = 'physical'", NULL, out, outlen,
	    err, errlen);
}

int
pga_sync_names(struct pga *c, char *out, size_t outlen, char *err,
    size_t errlen)
{
	return one_value(c, "SELECT current_setting("
	    "'synchronous_standby_names')", NULL, out, outlen, err, errlen);
}

int
pga_set_sync_names(struct pga *c, const char *value, char *err,
    size_t errlen)
{
	PGresult *r;
	char *lit, *sql;
	size_t len;

	/* ALTER SYSTEM takes no parameters: quote the literal. */
	if ((lit = PQescapeLiteral(c->conn, value, strlen(value))) == NULL) {
		snprintf(err, errlen, "%s: cannot quote \"%s\"", c->where, value);
		return -1;
	}
	len = strlen(lit) + 64;
	if ((sql = malloc(len)) == NULL) {
		PQfreemem(lit);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(sql, len, "ALTER SYSTEM SET synchronous_standby_names = %s",
	    lit);
	PQfreemem(lit);
	r = run(c, sql, 0, NULL, NULL, PGRES_COMMAND_OK, 0, err, errlen);
	free(sql);
	if (r == NULL)
		return -1;
	PQclear(r);
	r = run(c, "SELECT pg_reload_conf()", 0, NULL, NULL, PGRES_TUPLES_OK, 0,
	    err, errlen);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

static int64_t
int_or(const PGresult *r, int row, int col, int64_t dflt)
{
	if (PQgetisnull(r, row, col))
		return dflt;
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int
pga_standbys(struct pga *c, struct pga_standby *out, int max, int *n,
    char *err, size_t errlen)
{
	PGresult *r;
	int i;

	*n = 0;
	r = run(c, "SELECT application_name, coalesce(host(client_addr), "
	    "'local'), state, sync_state, "
	    "(extract(epoch FROM clock_timestamp() - reply_time) * 1000)::bigint, "
	    "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
	    "FROM pg_stat_replication ORDER BY sync_state = 'sync' DESC, "
	    "application_name", 0, NULL, NULL, PGRES_TUPLES_OK, 0, err,
	    errlen);
	if (r == NULL)
		return -1;
	for (i = 0; i < PQntuples(r) && i < max; i++) {
		snprintf(out[i].app_name, sizeof(out[i].app_name), "%s",
		    PQgetvalue(r, i, 0));
		snprintf(out[i].client_addr, sizeof(out[i].client_addr), "%s",
		    PQgetvalue(r, i, 1));
		snprintf(out[i].state, sizeof(out[i].state), "%s",
		    PQgetvalue(r, i, 2));
		snprintf(out[i].sync_state, sizeof(out[i].sync_state), "%s",
		    PQgetvalue(r, i, 3));
		out[i].reply_age_ms = int_or(r, i, 4, -1);
		out[i].lag_bytes = int_or(r, i, 5, -1);
	}
	*n = i;
	PQclear(r);
	return 0;
}

int
pga_receiver(struct pga *c, char *status, size_t slen, char *sender,
    size_t sendlen, char *err, size_t errlen)
{
	PGresult *r;

	*status = '\0';
	*sender = '\0';
	r = run(c, "SELECT status, sender_host FROM pg_stat_wal_receiver", 0,
	    NULL, NULL, PGRES_TUPLES_OK, 0, err, errlen);
	if (r == NULL)
		return -1;
	if (PQntuples(r) > 0) {
		snprintf(status, slen, "%s", PQgetvalue(r, 0, 0));
		snprintf(sender, sendlen, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return 0;
}

int
pga_checkpoint(struct pga *c, char *err, size_t errlen)
{
	PGresult *r;

	/* an immediate checkpoint of a key server's database is short, but
	 * give it more than one statement's time */
	r = run(c, "CHECKPOINT", 0, NULL, NULL, PGRES_COMMAND_OK,
	    6 * c->timeout_ms, err, errlen);
	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

int
pga_settle_all(struct pga *c, long long *n, char *err, size_t errlen)
{
	PGresult *r;

	/*
	 * Everything a standby held is on both databases (its old primary
	 * wrote it first), so on the database just promoted every
	 * unsettled row is settled and every marked delete final.  The
	 * commit waits for no standby: there is none yet.
	 */
	r = run(c, key_stmts[ST_SETTLE_ALL].sql, 0, NULL, NULL,
	    PGRES_TUPLES_OK, 0, err, errlen);
	if (r == NULL)
		return -1;
	*n = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 1), NULL, 10) : 0;
	PQclear(r);
	return 0;
}

int
pga_promote(struct pga *c, int wait_s, char *err, size_t errlen)
{
	PGresult *r;
	char w[16];

	snprintf(w, sizeof(w), "%d", wait_s);
	r = run(c, "SELECT pg_promote(true, $1::int)", 1, w, NULL,
	    PGRES_TUPLES_OK, wait_s * 1000 + c->timeout_ms, err, errlen);
	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		snprintf(err, errlen, "%s: not promoted within %d s", c->where,
		    wait_s);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

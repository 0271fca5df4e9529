/*
 * exec.c: statements and COMMIT on a borrowed connection, within deadlines.
 *
 * Every statement is sent with libpq's asynchronous API and waited for
 * with poll() up to a deadline, so no call hangs on a frozen or
 * unreachable server; a connection that fails or runs past its deadline
 * is marked broken and closed by pool_put.  A statement that commits
 * (COMMIT, or a write sent as one autocommit statement) gets the commit
 * deadline: past it the backend is cancelled and the write reported as
 * not acknowledged, as is a commit that ends with WARNING 01000 (the wait
 * for the synchronous standby was cancelled; committed locally only).
 * The wait and the cancel themselves are pgwait.c's; this file adds what
 * they mean for a pooled connection (broken marks, log lines) and for a
 * commit.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "pool.h"
#include "../lib/log.h"

/* How long the caller waits for a cancel request to be delivered. */
#define CANCEL_WAIT_MS	250
/* How long a cancelled COMMIT is drained before its connection goes. */
#define DRAIN_MS	250

/*
 * Wait for every result of what was sent on pc until deadline (monotonic
 * ms); see pgw_wait.
 */
static enum pgw_rc
pc_wait(struct pconn *pc, int64_t deadline, PGresult **out)
{
	return pgw_wait(pc->conn, deadline, out);
}

/* Mark pc broken after wait_rc (or a failed send) and log why. */
static void
pc_fail(struct pconn *pc, enum pgw_rc wrc, const char *what, int ms)
{
	char buf[512];

	if (wrc == PGW_TIMEOUT) {
		pc->broken = PC_TIMEOUT;
		if (!pool_quiet(pc->pool))
			log_warnx("%s database: %s: no answer within %d ms",
			    pool_label(pc->pool), what, ms);
	} else {
		pc->broken = PC_CONNERR;
		if (!pool_quiet(pc->pool))
			log_warnx("%s database: %s: %s", pool_label(pc->pool), what,
			    db_oneline(PQerrorMessage(pc->conn), buf, sizeof(buf)));
	}
}

PGresult *
pc_exec(struct pconn *pc, const char *sql, int deadline_ms)
{
	PGresult *r;
	enum pgw_rc wrc;

	if (!PQsendQuery(pc->conn, sql)) {
		pc_fail(pc, PGW_CONNERR, "send", deadline_ms);
		return NULL;
	}
	wrc = pc_wait(pc, db_mono_ms() + deadline_ms, &r);
	if (wrc != PGW_OK) {
		pc_fail(pc, wrc, "query", deadline_ms);
		return NULL;
	}
	return r;
}

PGresult *
pc_exec_params(struct pconn *pc, const char *sql, int nparams,
    const char *const *vals, const int *lens, const int *fmts, int rfmt,
    int deadline_ms)
{
	PGresult *r;
	enum pgw_rc wrc;

	if (!PQsendQueryParams(pc->conn, sql, nparams, NULL, vals, lens, fmts,
	    rfmt)) {
		pc_fail(pc, PGW_CONNERR, "send", deadline_ms);
		return NULL;
	}
	wrc = pc_wait(pc, db_mono_ms() + deadline_ms, &r);
	if (wrc != PGW_OK) {
		pc_fail(pc, wrc, "query", deadline_ms);
		return NULL;
	}
	return r;
}

PGresult *
pc_prepared(struct pconn *pc, int id, const struct db_stmt *st,
    const char *const *vals, const int *lens, const int *fmts, int rfmt,
    int deadline_ms)
{
	int64_t deadline = db_mono_ms() + deadline_ms;
	uint64_t bit = (uint64_t)1 << id;
	PGresult *r;
	enum pgw_rc wrc;

	if ((pc->prepared & bit) == 0) {
		if (!PQsendPrepare(pc->conn, st->name, st->sql, st->nparams,
		    st->types)) {
			pc_fail(pc, PGW_CONNERR, st->name, deadline_ms);
			return NULL;
		}
		if ((wrc = pc_wait(pc, deadline, &r)) != PGW_OK) {
			pc_fail(pc, wrc, st->name, deadline_ms);
			return NULL;
		}
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
			return r;	/* the caller reports the error */
		PQclear(r);
		pc->prepared |= bit;
	}
	if (!PQsendQueryPrepared(pc->conn, st->name, st->nparams, vals, lens,
	    fmts, rfmt)) {
		pc_fail(pc, PGW_CONNERR, st->name, deadline_ms);
		return NULL;
	}
	if ((wrc = pc_wait(pc, deadline, &r)) != PGW_OK) {
		pc_fail(pc, wrc, st->name, deadline_ms);
		return NULL;
	}
	return r;
}

int
pc_res_ok(const PGresult *r)
{
	return pgw_res_ok(r);
}

const char *
pc_sqlstate(const PGresult *r)
{
	const char *s = NULL;

	if (r != NULL)
		s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	return s != NULL ? s : "";
}

void
pc_log_error(struct pconn *pc, const char *what, const char *name,
    const PGresult *r)
{
	char buf[512];
	const char *msg;

	msg = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(pc->conn);
	if (msg == NULL || *msg == '\0')
		msg = r != NULL ? PQresStatus(PQresultStatus(r)) : "no result";
	if (name != NULL)
		log_warnx("%s database: %s of key \"%s\": %s (SQLSTATE %s)",
		    pool_label(pc->pool), what, name, db_oneline(msg, buf, sizeof(buf)),
		    pc_sqlstate(r));
	else
		log_warnx("%s database: %s: %s (SQLSTATE %s)", pool_label(pc->pool),
		    what, db_oneline(msg, buf, sizeof(buf)), pc_sqlstate(r));
}


/*
 * Ask the server to cancel what pc's backend is doing, waiting at most
 * wait_ms for the request to be delivered.  1 when it was, else 0.
 */
static int
pc_cancel(struct pconn *pc, int wait_ms)
{
	char buf[256];
	int ok;

	ok = pgw_cancel(pc->conn, wait_ms, buf, sizeof(buf));
	if (ok == -1)
		log_warnx("%s database: cancel request %s",
		    pool_label(pc->pool), buf);
	else if (!ok)
		log_warnx("%s database: cancel request failed: %s",
		    pool_label(pc->pool), buf);
	return ok == 1;
}

/*
 * The outcome of a statement that commits (COMMIT, or one autocommit
 * statement, whose completion includes the wait for the synchronous
 * standby), given what pc_wait said about it: KW_OK with *r the result,
 * or KW_ENOTACK (logged) when the commit is not known to be on both
 * databases.  A result that is an error is left to the caller.
 */
static enum kw_err
commit_outcome(struct pconn *pc, enum pgw_rc wrc, PGresult **r,
    const char *what, int deadline_ms)
{
	const char *label = pool_label(pc->pool);
	PGresult *drained = NULL;

	if (wrc == PGW_TIMEOUT) {
		/*
		 * Most likely waiting for a synchronous standby that is gone:
		 * only a cancel ends that wait, and the transaction is then
		 * committed on this database alone.  Not acknowledged either
		 * way; the connection is discarded after a short drain.
		 */
		pc->broken = PC_DISCARD;
		pc_cancel(pc, CANCEL_WAIT_MS);
		if (pc_wait(pc, db_mono_ms() + DRAIN_MS, &drained) == PGW_OK)
			PQclear(drained);
		log_warnx("%s database: %s not acknowledged within %d ms; "
		    "cancelled%s", label, what, deadline_ms, pc->warn01000 ?
		    " (committed on this database only)" : "");
		return KW_ENOTACK;
	}
	if (wrc == PGW_CONNERR) {
		pc_fail(pc, wrc, "commit (outcome unknown)", deadline_ms);
		return KW_ENOTACK;
	}
	if (pc_res_ok(*r) && pc->warn01000) {
		log_warnx("%s database: %s not acknowledged: synchronous "
		    "replication wait cancelled, committed on this database "
		    "only", label, what);
		PQclear(*r);
		*r = NULL;
		return KW_ENOTACK;
	}
	return KW_OK;
}

enum kw_err
pc_commit(struct pconn *pc, int deadline_ms)
{
	PGresult *r = NULL;
	enum pgw_rc wrc;
	enum kw_err rc;
	int64_t t0 = db_mono_ms();

	pc->warn01000 = 0;
	if (!PQsendQuery(pc->conn, "COMMIT")) {
		/* Part of it may have gone out: the outcome is unknown. */
		pc_fail(pc, PGW_CONNERR, "commit", deadline_ms);
		return KW_ENOTACK;
	}
	wrc = pc_wait(pc, t0 + deadline_ms, &r);
	if ((rc = commit_outcome(pc, wrc, &r, "commit", deadline_ms)) !=
	    KW_OK)
		return rc;
	if (!pc_res_ok(r)) {
		pc_log_error(pc, "commit", NULL, r);
		rc = KW_EDB;
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		/* COMMIT of a failed transaction answers ROLLBACK. */
		log_warnx("%s database: commit answered %s",
		    pool_label(pc->pool), PQcmdStatus(r));
		rc = KW_EDB;
	}
	PQclear(r);
	return rc;
}

enum kw_err
pc_commit_prepared(struct pconn *pc, int id, const struct db_stmt *st,
    const char *const *vals, const int *lens, const int *fmts, int rfmt,
    int deadline_ms, PGresult **out)
{
	uint64_t bit = (uint64_t)1 << id;
	PGresult *r = NULL;
	enum pgw_rc wrc;
	enum kw_err rc;
	int64_t t0, end = db_mono_ms() + deadline_ms;
	int prep_ms = deadline_ms < DB_OP_DEADLINE_MS ? deadline_ms :
	    DB_OP_DEADLINE_MS;

	*out = NULL;
	/*
	 * Preparing executes nothing, so a failure there means only "not
	 * answering"; it counts against the same deadline as the statement.
	 */
	if ((pc->prepared & bit) == 0) {
		if (!PQsendPrepare(pc->conn, st->name, st->sql, st->nparams,
		    st->types)) {
			pc_fail(pc, PGW_CONNERR, st->name, prep_ms);
			return KW_EDB;
		}
		if ((wrc = pc_wait(pc, db_mono_ms() + prep_ms, &r)) != PGW_OK) {
			pc_fail(pc, wrc, st->name, prep_ms);
			return KW_EDB;
		}
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
			*out = r;	/* the caller reports the error */
			return KW_EDB;
		}
		PQclear(r);
		r = NULL;
		pc->prepared |= bit;
	}
	pc->warn01000 = 0;
	t0 = db_mono_ms();
	if (!PQsendQueryPrepared(pc->conn, st->name, st->nparams, vals, lens,
	    fmts, rfmt)) {
		/* Part of it may have gone out: the outcome is unknown. */
		pc_fail(pc, PGW_CONNERR, st->name, deadline_ms);
		return KW_ENOTACK;
	}
	wrc = pc_wait(pc, end > t0 ? end : t0 + 1, &r);
	if ((rc = commit_outcome(pc, wrc, &r, st->name, deadline_ms)) !=
	    KW_OK)
		return rc;
	*out = r;
	/* An error ends an autocommit statement's transaction: no commit. */
	return pc_res_ok(r) ? KW_OK : KW_EDB;
}

int
pc_idle_ok(struct pconn *pc)
{
	struct pollfd pfd;
	int i;

	/*
	 * Nothing is due on an idle connection.  A backend that was
	 * terminated (a server restart, a rejoin) has sent its FATAL error
	 * and closed the socket, which poll reports at once; read it to
	 * learn whether the connection survived (a ParameterStatus or a
	 * notice is harmless).  Bounded: a server cannot keep us here.
	 */
	for (i = 0; i < 4; i++) {
		pfd.fd = PQsocket(pc->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			return 0;
		if (poll(&pfd, 1, 0) == 0)
			return 1;
		if (!PQconsumeInput(pc->conn) ||
		    PQstatus(pc->conn) != CONNECTION_OK)
			return 0;
	}
	return 0;	/* still talking: do not trust it */
}

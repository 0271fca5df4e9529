/*
 * pool.c: connection pools, deadline-bounded statements, COMMIT with a
 * deadline, and the choice of database for reads and writes.
 *
 * It owns every PGconn and the rules that keep a call from hanging: each
 * statement is sent with libpq's asynchronous API and waited for with
 * poll() up to a deadline; a connection that fails or runs past its
 * deadline is closed, never reused.  PQcancel of libpq 15 connects and
 * waits for the server without a timeout, so it runs in a helper thread
 * that the caller waits for only a bounded time.
 *
 * It does not hold SQL about keys (db.c) or migrations (migrate.c), and
 * it does not judge replication health (the cluster monitor will).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"
#include "../lib/log.h"

/* How long the caller waits for a cancel request to be delivered. */
#define CANCEL_WAIT_MS	1000
/* How long a cancelled COMMIT is drained before its connection goes. */
#define DRAIN_MS	1000

#define KW_XSTR(x)	#x
#define KW_STR(x)	KW_XSTR(x)

struct pool {
	char		*label;
	char		*conninfo;
	char		*password;	/* NULL when none */
	char		 connect_timeout[16];
	int		 quiet;
	int		 size;
	struct pconn	*slots;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* a slot became free */
};

/* A cancel request delivered by a helper thread. */
struct cancel_job {
	PGcancel	*cancel;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 done;
	int		 ok;
	int		 abandoned;	/* the waiter left: the thread frees */
	char		 err[256];
};

enum wait_rc { W_OK, W_TIMEOUT, W_CONNERR };

static void	conn_close(struct pconn *);

int64_t
db_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy a libpq message into buf on one line, without the final newline. */
static const char *
oneline(const char *msg, char *buf, size_t len)
{
	size_t i;

	if (msg == NULL)
		msg = "";
	for (i = 0; i + 1 < len && msg[i] != '\0'; i++)
		buf[i] = (msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t') ?
		    ' ' : msg[i];
	while (i > 0 && buf[i - 1] == ' ')
		i--;
	buf[i] = '\0';
	return buf;
}

/*
 * Record the WARNING of SQLSTATE 01000 that a COMMIT whose wait for
 * synchronous replication was cancelled ends with ("committed locally").
 * Runs in the thread that owns the connection, inside libpq calls.
 */
static void
notice_rx(void *arg, const PGresult *r)
{
	struct pconn *pc = arg;
	const char *state, *sev;
	char buf[256];

	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	if (state != NULL && strcmp(state, "01000") == 0 &&
	    (sev == NULL || strcmp(sev, "WARNING") == 0)) {
		pc->warn01000 = 1;
		return;
	}
	log_debug("%s database: %s", pc->pool->label,
	    oneline(PQresultErrorMessage(r), buf, sizeof(buf)));
}

struct pool *
pool_new(const char *label, const char *conninfo, const char *password,
    int size, int connect_timeout_s, int quiet)
{
	struct pool *p;
	pthread_condattr_t ca;
	int i, cond_ok = 0, mu_ok = 0;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (size < 1)
		size = 1;
	if (connect_timeout_s < 1)
		connect_timeout_s = 5;
	p->size = size;
	p->quiet = quiet;
	snprintf(p->connect_timeout, sizeof(p->connect_timeout), "%d",
	    connect_timeout_s);
	if ((p->label = strdup(label)) == NULL ||
	    (p->conninfo = strdup(conninfo)) == NULL ||
	    (password != NULL && (p->password = strdup(password)) == NULL) ||
	    (p->slots = calloc((size_t)size, sizeof(*p->slots))) == NULL)
		goto fail;
	for (i = 0; i < size; i++)
		p->slots[i].pool = p;
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		goto fail;
	mu_ok = 1;
	/* Deadlines are on the monotonic clock; so are the waits. */
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&p->cv, &ca) == 0)
		cond_ok = 1;
	pthread_condattr_destroy(&ca);
	if (!cond_ok)
		goto fail;
	return p;
fail:
	if (mu_ok)
		pthread_mutex_destroy(&p->mu);
	free(p->slots);
	free(p->password);
	free(p->conninfo);
	free(p->label);
	free(p);
	return NULL;
}

void
pool_free(struct pool *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->size; i++)
		conn_close(&p->slots[i]);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->slots);
	if (p->password != NULL) {
		explicit_bzero(p->password, strlen(p->password));
		free(p->password);
	}
	free(p->conninfo);
	free(p->label);
	free(p);
}

const char *
pool_label(const struct pool *p)
{
	return p->label;
}

static void
conn_close(struct pconn *pc)
{
	if (pc->conn != NULL)
		PQfinish(pc->conn);
	pc->conn = NULL;
	pc->prepared = 0;
	pc->stale = 0;
}

/*
 * Wait for every result of what was sent on pc until deadline (monotonic
 * ms).  *out receives the first error result, else the last result.
 */
static enum wait_rc
pc_wait(struct pconn *pc, int64_t deadline, PGresult **out)
{
	PGconn *c = pc->conn;
	PGresult *keep = NULL, *r;
	struct pollfd pfd;
	int64_t left;
	int n;

	*out = NULL;
	for (;;) {
		while (!PQisBusy(c)) {
			if ((r = PQgetResult(c)) == NULL)
				goto done;
			if (keep != NULL &&
			    PQresultStatus(keep) == PGRES_FATAL_ERROR) {
				PQclear(r);
				continue;
			}
			PQclear(keep);
			keep = r;
		}
		if ((left = deadline - db_mono_ms()) <= 0) {
			PQclear(keep);
			return W_TIMEOUT;
		}
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0)
			goto connerr;
		n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0 && errno != EINTR)
			goto connerr;
		if (n > 0 && !PQconsumeInput(c))
			goto connerr;
	}
done:
	if (PQstatus(c) != CONNECTION_OK)
		goto connerr;
	*out = keep;
	return W_OK;
connerr:
	PQclear(keep);
	return W_CONNERR;
}

/* Mark pc broken after wait_rc (or a failed send) and log why. */
static void
pc_fail(struct pconn *pc, enum wait_rc wrc, const char *what, int ms)
{
	char buf[512];

	if (wrc == W_TIMEOUT) {
		pc->broken = PC_TIMEOUT;
		if (!pc->pool->quiet)
			log_warnx("%s database: %s: no answer within %d ms",
			    pc->pool->label, what, ms);
	} else {
		pc->broken = PC_CONNERR;
		if (!pc->pool->quiet)
			log_warnx("%s database: %s: %s", pc->pool->label, what,
			    oneline(PQerrorMessage(pc->conn), buf, sizeof(buf)));
	}
}

PGresult *
pc_exec(struct pconn *pc, const char *sql, int deadline_ms)
{
	PGresult *r;
	enum wait_rc wrc;

	if (!PQsendQuery(pc->conn, sql)) {
		pc_fail(pc, W_CONNERR, "send", deadline_ms);
		return NULL;
	}
	wrc = pc_wait(pc, db_mono_ms() + deadline_ms, &r);
	if (wrc != W_OK) {
		pc_fail(pc, wrc, "query", deadline_ms);
		return NULL;
	}
	return r;
}

PGresult *
pc_exec_params(struct pconn *pc, const char *sql, int nparams,
    const char *const *vals, int deadline_ms)
{
	PGresult *r;
	enum wait_rc wrc;

	if (!PQsendQueryParams(pc->conn, sql, nparams, NULL, vals, NULL, NULL,
	    0)) {
		pc_fail(pc, W_CONNERR, "send", deadline_ms);
		return NULL;
	}
	wrc = pc_wait(pc, db_mono_ms() + deadline_ms, &r);
	if (wrc != W_OK) {
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
	enum wait_rc wrc;

	if ((pc->prepared & bit) == 0) {
		if (!PQsendPrepare(pc->conn, st->name, st->sql, st->nparams,
		    st->types)) {
			pc_fail(pc, W_CONNERR, st->name, deadline_ms);
			return NULL;
		}
		if ((wrc = pc_wait(pc, deadline, &r)) != W_OK) {
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
		pc_fail(pc, W_CONNERR, st->name, deadline_ms);
		return NULL;
	}
	if ((wrc = pc_wait(pc, deadline, &r)) != W_OK) {
		pc_fail(pc, wrc, st->name, deadline_ms);
		return NULL;
	}
	return r;
}

int
pc_res_ok(const PGresult *r)
{
	ExecStatusType s;

	if (r == NULL)
		return 0;
	s = PQresultStatus(r);
	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
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
		    pc->pool->label, what, name, oneline(msg, buf, sizeof(buf)),
		    pc_sqlstate(r));
	else
		log_warnx("%s database: %s: %s (SQLSTATE %s)", pc->pool->label,
		    what, oneline(msg, buf, sizeof(buf)), pc_sqlstate(r));
}

/* Open pc's connection: parameters, notice receiver, session settings. */
static int
conn_open(struct pconn *pc)
{
	struct pool *p = pc->pool;
	const char *keys[16], *vals[16];
	char buf[512];
	PGresult *r;
	int n = 0;

	/* Defaults first: the configured conninfo may override them ... */
	keys[n] = "connect_timeout";		vals[n++] = p->connect_timeout;
	keys[n] = "keepalives";			vals[n++] = "1";
	keys[n] = "keepalives_idle";		vals[n++] = "10";
	keys[n] = "keepalives_interval";	vals[n++] = "5";
	keys[n] = "keepalives_count";		vals[n++] = "3";
	keys[n] = "application_name";		vals[n++] = "keyward";
	keys[n] = "dbname";			vals[n++] = p->conninfo;
	/* ... but not these: the password file and UTF-8 key names win. */
	if (p->password != NULL) {
		keys[n] = "password";		vals[n++] = p->password;
	}
	keys[n] = "client_encoding";		vals[n++] = "UTF8";
	keys[n] = NULL;				vals[n] = NULL;

	pc->conn = PQconnectdbParams(keys, vals, 1);
	pc->prepared = 0;
	pc->broken = PC_OK;
	if (pc->conn == NULL) {
		log_warnx("%s database: out of memory", p->label);
		return -1;
	}
	if (PQstatus(pc->conn) != CONNECTION_OK) {
		if (!p->quiet)
			log_warnx("%s database: could not connect: %s", p->label,
			    oneline(PQerrorMessage(pc->conn), buf, sizeof(buf)));
		goto fail;
	}
	PQsetNoticeReceiver(pc->conn, notice_rx, pc);
	/*
	 * The server ends a statement that runs too long; the client-side
	 * deadlines (pc_wait) cover a server that cannot even do that.
	 */
	r = pc_exec(pc, "SET statement_timeout = "
	    KW_STR(DB_STMT_TIMEOUT_MS) "; "
	    "SET idle_in_transaction_session_timeout = 60000",
	    DB_DEADLINE_MS);
	if (!pc_res_ok(r)) {
		if (r != NULL && !p->quiet)
			pc_log_error(pc, "session settings", NULL, r);
		PQclear(r);
		goto fail;
	}
	PQclear(r);
	return 0;
fail:
	PQfinish(pc->conn);
	pc->conn = NULL;
	return -1;
}

enum kw_err
pool_get(struct pool *p, int wait_ms, struct pconn **out)
{
	struct pconn *pc = NULL, *fresh;
	struct timespec ts;
	int64_t deadline = db_mono_ms() + wait_ms;
	int i, rc = 0;

	*out = NULL;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		/* Prefer a free slot that is open and not known to be stale. */
		fresh = NULL;
		for (i = 0; i < p->size; i++) {
			if (p->slots[i].busy)
				continue;
			if (p->slots[i].conn != NULL && !p->slots[i].stale) {
				pc = &p->slots[i];
				break;
			}
			if (fresh == NULL)
				fresh = &p->slots[i];
		}
		if (pc == NULL)
			pc = fresh;
		if (pc != NULL || rc == ETIMEDOUT)
			break;
		ts.tv_sec = deadline / 1000;
		ts.tv_nsec = (deadline % 1000) * 1000000;
		rc = pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	}
	if (pc != NULL)
		pc->busy = 1;
	pthread_mutex_unlock(&p->mu);
	if (pc == NULL) {
		log_warnx("%s database: all %d connections busy for %d ms",
		    p->label, p->size, wait_ms);
		return KW_EDB;
	}

	if (pc->conn != NULL &&
	    (pc->stale || PQstatus(pc->conn) != CONNECTION_OK))
		conn_close(pc);
	pc->stale = 0;
	pc->broken = PC_OK;
	pc->warn01000 = 0;
	pc->reused = pc->conn != NULL;
	if (pc->conn == NULL && conn_open(pc) == -1) {
		pc->broken = PC_CONNERR;
		pool_put(pc);
		return KW_EDB;
	}
	*out = pc;
	return KW_OK;
}

void
pool_put(struct pconn *pc)
{
	struct pool *p;
	int i;

	if (pc == NULL)
		return;
	p = pc->pool;
	if (pc->broken != PC_OK)
		conn_close(pc);
	pthread_mutex_lock(&p->mu);
	/*
	 * A connection error usually means the server restarted or went
	 * away: the idle connections are likely dead too.
	 */
	if (pc->broken == PC_CONNERR)
		for (i = 0; i < p->size; i++)
			if (!p->slots[i].busy && p->slots[i].conn != NULL)
				p->slots[i].stale = 1;
	pc->busy = 0;
	pc->broken = PC_OK;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static void
cancel_job_free(struct cancel_job *j)
{
	PQfreeCancel(j->cancel);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

static void *
cancel_main(void *arg)
{
	struct cancel_job *j = arg;
	char err[256] = "";
	int ok, abandoned;

	ok = PQcancel(j->cancel, err, sizeof(err));
	pthread_mutex_lock(&j->mu);
	j->done = 1;
	j->ok = ok;
	memcpy(j->err, err, sizeof(j->err));
	abandoned = j->abandoned;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	if (abandoned)
		cancel_job_free(j);
	return NULL;
}

/*
 * Ask the server to cancel what pc's backend is doing, waiting at most
 * wait_ms for the request to be delivered.  1 when it was, else 0.
 */
static int
pc_cancel(struct pconn *pc, int wait_ms)
{
	struct cancel_job *j;
	pthread_attr_t attr;
	pthread_t tid;
	struct timespec ts;
	char buf[256];
	int ok = 0, started = 0, done;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return 0;
	if ((j->cancel = PQgetCancel(pc->conn)) == NULL) {
		free(j);
		return 0;
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);	/* CLOCK_REALTIME waits */
	if (pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		started = pthread_create(&tid, &attr, cancel_main, j) == 0;
		pthread_attr_destroy(&attr);
	}
	if (!started) {
		/* No thread: cancel in line and accept the risk of waiting. */
		ok = PQcancel(j->cancel, buf, sizeof(buf));
		cancel_job_free(j);
		return ok;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT)
			break;
	done = j->done;
	if (done) {
		ok = j->ok;
		if (!ok)
			oneline(j->err, buf, sizeof(buf));
	} else
		j->abandoned = 1;
	pthread_mutex_unlock(&j->mu);
	if (done)
		cancel_job_free(j);
	if (!done)
		log_warnx("%s database: cancel request not delivered within "
		    "%d ms", pc->pool->label, wait_ms);
	else if (!ok)
		log_warnx("%s database: cancel request failed: %s",
		    pc->pool->label, buf);
	return ok;
}

enum kw_err
pc_commit(struct pconn *pc, int deadline_ms)
{
	const char *label = pc->pool->label;
	PGresult *r = NULL;
	enum wait_rc wrc;
	enum kw_err rc;
	int64_t t0 = db_mono_ms();

	pc->warn01000 = 0;
	if (!PQsendQuery(pc->conn, "COMMIT")) {
		/* Part of it may have gone out: the outcome is unknown. */
		pc_fail(pc, W_CONNERR, "commit", deadline_ms);
		return KW_ENOTACK;
	}
	wrc = pc_wait(pc, t0 + deadline_ms, &r);
	if (wrc == W_TIMEOUT) {
		/*
		 * Most likely waiting for a synchronous standby that is gone:
		 * only a cancel ends that wait, and the transaction is then
		 * committed on this database alone.  Not acknowledged either
		 * way; the connection is discarded after a short drain.
		 */
		pc->broken = PC_TIMEOUT;
		pc_cancel(pc, CANCEL_WAIT_MS);
		if (pc_wait(pc, db_mono_ms() + DRAIN_MS, &r) == W_OK)
			PQclear(r);
		log_warnx("%s database: commit not acknowledged within %d ms; "
		    "cancelled%s", label, deadline_ms, pc->warn01000 ?
		    " (committed on this database only)" : "");
		return KW_ENOTACK;
	}
	if (wrc == W_CONNERR) {
		pc_fail(pc, wrc, "commit (outcome unknown)", deadline_ms);
		return KW_ENOTACK;
	}
	if (!pc_res_ok(r)) {
		pc_log_error(pc, "commit", NULL, r);
		rc = KW_EDB;
	} else if (strcmp(PQcmdStatus(r), "COMMIT") != 0) {
		/* COMMIT of a failed transaction answers ROLLBACK. */
		log_warnx("%s database: commit answered %s", label,
		    PQcmdStatus(r));
		rc = KW_EDB;
	} else if (pc->warn01000) {
		log_warnx("%s database: commit not acknowledged: synchronous "
		    "replication wait cancelled, committed on this database "
		    "only", label);
		rc = KW_ENOTACK;
	} else
		rc = KW_OK;
	PQclear(r);
	return rc;
}

/* Run fn on the first of pools[0..n) that answers; see db_read. */
static enum kw_err
read_pools(struct pool *const *pools, int npools, db_read_fn fn, void *arg)
{
	struct pconn *pc;
	enum kw_err rc = KW_EDB;
	enum pc_broken broken;
	int i, try, reused;

	for (i = 0; i < npools; i++) {
		if (pools[i] == NULL)
			continue;
		for (try = 0; try < 2; try++) {
			if (pool_get(pools[i], DB_BORROW_MS, &pc) != KW_OK) {
				rc = KW_EDB;
				break;
			}
			rc = fn(pc, arg);
			broken = pc->broken;
			reused = pc->reused;
			pool_put(pc);
			if (broken == PC_OK)
				return rc;
			/*
			 * A pooled connection may have died with a server
			 * restart: one more try on a new one.  A timeout or a
			 * new connection failing means this database is not
			 * answering.
			 */
			if (broken != PC_CONNERR || !reused)
				break;
		}
		rc = KW_EDB;
	}
	return rc;
}

enum kw_err
db_read(struct db *db, db_read_fn fn, void *arg)
{
	struct pool *const pools[2] = { db->local, db->peer };

	return read_pools(pools, 2, fn, arg);
}

enum kw_err
db_read_local(struct db *db, db_read_fn fn, void *arg)
{
	return read_pools(&db->local, 1, fn, arg);
}

enum kw_err
db_write_begin(struct db *db, struct pconn **out)
{
	struct pool *pools[2] = { db->local, db->peer };
	const char *why[2] = { "not answering", "not configured" };
	struct pconn *pc;
	PGresult *r;
	int i, try, standby;

	/*
	 * The primary is the database not in recovery.  The HA work will
	 * take this choice from the cluster monitor and also refuse writes
	 * while the standby is not in sync.
	 */
	*out = NULL;
	for (i = 0; i < 2; i++) {
		if (pools[i] == NULL)
			continue;
		why[i] = "not answering";
		for (try = 0; try < 2; try++) {
			if (pool_get(pools[i], DB_BORROW_MS, &pc) != KW_OK)
				break;
			r = pc_exec(pc, "BEGIN; SELECT pg_is_in_recovery()",
			    DB_DEADLINE_MS);
			if (r == NULL) {
				enum pc_broken b = pc->broken;
				int reused = pc->reused;

				pool_put(pc);
				if (b == PC_CONNERR && reused)
					continue;
				break;
			}
			if (PQresultStatus(r) != PGRES_TUPLES_OK ||
			    PQntuples(r) != 1) {
				pc_log_error(pc, "begin", NULL, r);
				PQclear(r);
				db_write_end(pc);
				break;
			}
			standby = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
			PQclear(r);
			if (!standby) {
				*out = pc;
				return KW_OK;
			}
			why[i] = "a standby";
			db_write_end(pc);
			break;
		}
	}
	log_warnx("write refused: no primary database (local %s, peer %s)",
	    why[0], why[1]);
	return KW_EUNAVAIL;
}

void
db_write_end(struct pconn *pc)
{
	PGresult *r;
	PGTransactionStatusType ts;

	if (pc == NULL)
		return;
	if (pc->broken == PC_OK) {
		ts = PQtransactionStatus(pc->conn);
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			r = pc_exec(pc, "ROLLBACK", DB_DEADLINE_MS);
			if (r != NULL && !pc_res_ok(r)) {
				pc_log_error(pc, "rollback", NULL, r);
				pc->broken = PC_TIMEOUT;
			}
			PQclear(r);
		} else if (ts != PQTRANS_IDLE)
			pc->broken = PC_TIMEOUT;	/* unknown state */
	}
	pool_put(pc);
}

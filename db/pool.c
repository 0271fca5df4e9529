/*
 * pool.c: connection pools.
 *
 * A pool holds a fixed number of connections to one database, opened
 * lazily with keyward's connection parameters and session settings, and
 * lends them to one thread at a time.  A connection returned broken is
 * closed; after a connection error the idle ones are reopened at their
 * next use, and a database that did not answer is remembered for a
 * moment so that route.c tries the other one first.
 *
 * Running statements on a connection is exec.c's business (above this
 * file: exec.c calls pool.c, never the reverse), waiting for one under a
 * deadline pgwait.c's (below both); choosing the database is route.c's.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"
#include "../lib/clock.h"
#include "../lib/log.h"

#define KW_XSTR(x)	#x
#define KW_STR(x)	KW_XSTR(x)

struct pool {
	char		*label;
	char		*conninfo;
	char		*password;	/* NULL when none */
	char		 connect_timeout[16];
	int		 connect_timeout_ms;
	int		 quiet;
	int		 size;
	struct pconn	*slots;
	int64_t		 down_until;	/* monotonic ms; see pool_down */
	char		 conn_error[512];/* libpq's text of the last failed
					   connect, under mu */
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;		/* a slot became free */
};

static void	conn_close(struct pconn *);

/*
 * Record the WARNING of SQLSTATE 01000 that a COMMIT whose wait for
 * synchronous replication was cancelled ends with ("committed locally").
 * Runs in the thread that owns the connection, inside libpq calls.
 */
void
pc_notice_rx(void *arg, const PGresult *r)
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
	    db_oneline(PQresultErrorMessage(r), buf, sizeof(buf)));
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
	p->connect_timeout_ms = connect_timeout_s * 1000;
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

int
pool_quiet(const struct pool *p)
{
	return p->quiet;
}

const char *
pool_conn_error(struct pool *p, char *buf, size_t len)
{
	pthread_mutex_lock(&p->mu);
	snprintf(buf, len, "%s", p->conn_error);
	pthread_mutex_unlock(&p->mu);
	return buf;
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
 * Drive a connection started with PQconnectStartParams to its end, or to
 * the deadline (monotonic ms): libpq's own connect_timeout only bounds its
 * blocking connect.  0 connected, -1 failed or timed out (said in err).
 */
static int
conn_finish(PGconn *conn, int64_t deadline, char *err, size_t errlen)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	struct pollfd pfd;
	int64_t left;
	int n;

	if (PQstatus(conn) == CONNECTION_BAD)
		goto failed;
	for (;;) {
		if (st == PGRES_POLLING_OK)
			return 0;
		if (st == PGRES_POLLING_FAILED)
			goto failed;
		pfd.fd = PQsocket(conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd.revents = 0;
		if (pfd.fd < 0)
			goto failed;
		if ((left = deadline - db_mono_ms()) <= 0) {
			snprintf(err, errlen, "timeout expired");
			return -1;
		}
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (n > 0)
			st = PQconnectPoll(conn);
	}
failed:
	db_oneline(PQerrorMessage(conn), err, errlen);
	return -1;
}

/*
 * Open pc's connection, giving up at deadline (monotonic ms) or after
 * connect_timeout, whichever comes first: parameters, notice receiver,
 * session settings.
 */
static int
conn_open(struct pconn *pc, int64_t deadline)
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

	pc->conn = PQconnectStartParams(keys, vals, 1);
	pc->prepared = 0;
	pc->broken = PC_OK;
	if (pc->conn == NULL) {
		log_warnx("%s database: out of memory", p->label);
		return -1;
	}
	if (deadline > db_mono_ms() + p->connect_timeout_ms)
		deadline = db_mono_ms() + p->connect_timeout_ms;
	if (conn_finish(pc->conn, deadline, buf, sizeof(buf)) == -1) {
		if (!p->quiet)
			log_warnx("%s database: could not connect: %s", p->label,
			    buf);
		pthread_mutex_lock(&p->mu);
		snprintf(p->conn_error, sizeof(p->conn_error), "%s", buf);
		pthread_mutex_unlock(&p->mu);
		goto fail;
	}
	PQsetNoticeReceiver(pc->conn, pc_notice_rx, pc);
	/*
	 * The server ends a statement that runs too long; the client-side
	 * deadlines (pgw_wait) cover a server that cannot even do that.
	 * Sent and waited for here, below exec.c: pools use no statement
	 * runner of their own.
	 */
	if (!PQsendQuery(pc->conn, "SET statement_timeout = "
	    KW_STR(DB_STMT_TIMEOUT_MS) "; "
	    "SET idle_in_transaction_session_timeout = 60000") ||
	    pgw_wait(pc->conn, db_mono_ms() + DB_DEADLINE_MS, &r) != PGW_OK) {
		if (!p->quiet)
			log_warnx("%s database: session settings: %s", p->label,
			    db_oneline(PQerrorMessage(pc->conn), buf, sizeof(buf)));
		goto fail;
	}
	if (!pgw_res_ok(r)) {
		if (!p->quiet)
			log_warnx("%s database: session settings: %s", p->label,
			    db_oneline(r != NULL ? PQresultErrorMessage(r) :
			    "no result", buf, sizeof(buf)));
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
		clock_at(&ts, deadline);
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
	if (pc->conn == NULL && conn_open(pc, deadline) == -1) {
		pc->broken = PC_CONNERR;
		pool_put(pc);
		return KW_EDB;
	}
	*out = pc;
	return KW_OK;
}

int
pool_warm(struct pool *p)
{
	struct pconn *pc;
	int i, opened = 0;

	for (i = 0; i < p->size; i++) {
		pthread_mutex_lock(&p->mu);
		pc = &p->slots[i];
		if (pc->busy || pc->conn != NULL) {
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		pc->busy = 1;
		pthread_mutex_unlock(&p->mu);
		pc->stale = 0;
		pc->broken = PC_OK;
		if (conn_open(pc, db_mono_ms() + p->connect_timeout_ms) == 0)
			opened++;
		else
			pc->broken = PC_CONNERR;
		pool_put(pc);
		if (pc->broken != PC_OK)
			break;
	}
	return opened;
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
	/*
	 * Not answering in time, or failing on a connection just opened:
	 * this database is down or frozen.  Each try may cost up to
	 * connect_timeout, so for a while try the other database first.
	 */
	if (pc->broken == PC_TIMEOUT ||
	    (pc->broken == PC_CONNERR && !pc->reused))
		p->down_until = db_mono_ms() + DB_RETRY_MS;
	else if (pc->broken == PC_OK)
		p->down_until = 0;
	pc->busy = 0;
	pc->broken = PC_OK;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
pool_mark(struct pool *p, int down, int for_ms)
{
	pthread_mutex_lock(&p->mu);
	if (down)
		p->down_until = db_mono_ms() + for_ms;
	else
		p->down_until = 0;
	pthread_mutex_unlock(&p->mu);
}

int
pool_down(struct pool *p)
{
	int64_t until;

	pthread_mutex_lock(&p->mu);
	until = p->down_until;
	pthread_mutex_unlock(&p->mu);
	return until != 0 && until > db_mono_ms();
}

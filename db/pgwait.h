/*
 * pgwait.h: one statement on one libpq connection under a deadline
 * (pgwait.c), the core below the pools (pool.c, exec.c), the failover
 * routing (route.c) and keyward-admin's statements (pgadmin.c).
 *
 * Knows libpq and the clock, nothing of pools, roles or logging: callers
 * send with libpq's asynchronous API, wait here, and decide what a
 * timeout or a failed connection means for them (a pooled connection is
 * marked broken, an operator's command reports "no answer within N s").
 */
#ifndef KW_DB_PGWAIT_H
#define KW_DB_PGWAIT_H

#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

/* How a wait ended: every result read, the deadline passed, or the
 * connection failed (its text in PQerrorMessage). */
enum pgw_rc { PGW_OK, PGW_TIMEOUT, PGW_CONNERR };

/*
 * Wait for every result of what was sent on c until deadline (monotonic
 * ms, db_mono_ms).  PGW_OK with *out the first error result, else the
 * last result (NULL when there was none; free with PQclear); otherwise
 * *out is NULL.  Single-threaded per connection.
 */
enum pgw_rc pgw_wait(PGconn *c, int64_t deadline, PGresult **out);
/*
 * Ask the server to cancel what c's backend runs, waiting at most
 * wait_ms for the request to be delivered (libpq 15's PQcancel connects
 * and waits without a timeout, so it runs in a helper thread).  1 when
 * it was delivered; 0 when it failed, -1 when it was not delivered in
 * time; the reason in err.
 */
int	pgw_cancel(PGconn *c, int wait_ms, char *err, size_t errlen);
/* True when r is a successful command or query result. */
int	pgw_res_ok(const PGresult *r);

/* Milliseconds on the monotonic clock. */
int64_t	db_mono_ms(void);
/* msg (a libpq message) on one line in buf: line breaks and tabs become
 * one space, no trailing space.  Returns buf. */
const char *db_oneline(const char *msg, char *buf, size_t len);

#endif

/*
 * pgwait.c: the statement-under-a-deadline loop, once (see pgwait.h).
 *
 * A caller sends with PQsend*; pgw_wait reads results with poll() until
 * libpq has none left or the deadline passes, so no call hangs on a
 * frozen or unreachable server.  What the caller does about a timeout
 * (cancel, discard the connection, report) is its own business; the
 * cancel itself is here because libpq 15's PQcancel has no timeout.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgwait.h"
#include "../lib/clock.h"

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

int64_t
db_mono_ms(void)
{
	return clock_mono_ms();
}

const char *
db_oneline(const char *msg, char *buf, size_t len)
{
	size_t i, o = 0;
	char ch;

	if (len == 0)
		return buf;
	if (msg == NULL)
		msg = "";
	for (i = 0; o + 1 < len && msg[i] != '\0'; i++) {
		ch = msg[i];
		if (ch == '\n' || ch == '\r' || ch == '\t')
			ch = ' ';
		if (ch == ' ' && o > 0 && buf[o - 1] == ' ')
			continue;	/* one space for libpq's line breaks */
		buf[o++] = ch;
	}
	while (o > 0 && buf[o - 1] == ' ')
		o--;
	buf[o] = '\0';
	return buf;
}

enum pgw_rc
pgw_wait(PGconn *c, int64_t deadline, PGresult **out)
{
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
			return PGW_TIMEOUT;
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
	return PGW_OK;
connerr:
	PQclear(keep);
	return PGW_CONNERR;
}

int
pgw_res_ok(const PGresult *r)
{
	ExecStatusType s;

	if (r == NULL)
		return 0;
	s = PQresultStatus(r);
	return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
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

int
pgw_cancel(PGconn *c, int wait_ms, char *err, size_t errlen)
{
	struct cancel_job *j;
	pthread_attr_t attr;
	pthread_t tid;
	struct timespec ts;
	int ok = 0, started = 0, done;

	snprintf(err, errlen, "out of memory");
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return 0;
	if ((j->cancel = PQgetCancel(c)) == NULL) {
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
		ok = PQcancel(j->cancel, j->err, sizeof(j->err));
		db_oneline(j->err, err, errlen);
		cancel_job_free(j);
		return ok;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	clock_add_ms(&ts, wait_ms);
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT)
			break;
	done = j->done;
	if (done) {
		ok = j->ok;
		db_oneline(j->err, err, errlen);
	} else {
		j->abandoned = 1;
		ok = -1;
		snprintf(err, errlen, "not delivered within %d ms", wait_ms);
	}
	pthread_mutex_unlock(&j->mu);
	if (done)
		cancel_job_free(j);
	return ok;
}

/*
 * conntrack.c: a list of open connections under one mutex, and the
 * thread that shuts down those that stay too long outside a request.
 * The list is changed and walked under the mutex; a connection's busy
 * flag and time are atomics its own thread sets without it.  The socket
 * is only touched under the mutex and only while the connection is
 * listed, and it is unlisted before it is closed, so a
 * reused descriptor number is never shut down by mistake.
 */
#include <sys/socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "conntrack.h"
#include "../lib/clock.h"
#include "../lib/log.h"

#define SCAN_MS		250

struct ct_conn {
	struct ct_conn	*prev, *next;
	int		 fd;
	int		 cut;		/* already shut down */
	/* written by the connection's thread without the mutex */
	atomic_int	 busy;		/* in a request */
	atomic_llong	 since_ms;	/* outside a request since */
};

struct conntrack {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cond;
	struct ct_conn	*head;
	long long	 timeout_ms;
	unsigned long	 ncut;
	int		 stop;
	pthread_t	 thread;
};

static void *
reaper(void *arg)
{
	struct conntrack *ct = arg;
	struct ct_conn *cc;
	struct timespec ts;
	long long now;
	unsigned n;

	pthread_mutex_lock(&ct->mu);
	while (!ct->stop) {
		clock_deadline(&ts, SCAN_MS);
		pthread_cond_timedwait(&ct->cond, &ct->mu, &ts);
		now = clock_mono_ms();
		n = 0;
		for (cc = ct->head; cc != NULL; cc = cc->next) {
			if (cc->cut || atomic_load(&cc->busy) ||
			    now - atomic_load(&cc->since_ms) < ct->timeout_ms)
				continue;
			(void)shutdown(cc->fd, SHUT_RDWR);
			cc->cut = 1;
			ct->ncut++;
			n++;
		}
		if (n > 0)
			log_info("closed %u connection%s that spent more than "
			    "%lld s outside a request (handshake, headers or "
			    "idle)", n, n == 1 ? "" : "s", ct->timeout_ms / 1000);
	}
	pthread_mutex_unlock(&ct->mu);
	return NULL;
}

struct conntrack *
conntrack_new(unsigned timeout_s)
{
	struct conntrack *ct;
	pthread_condattr_t ca;

	if ((ct = calloc(1, sizeof(*ct))) == NULL)
		return NULL;
	ct->timeout_ms = (long long)timeout_s * 1000;
	pthread_mutex_init(&ct->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ct->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&ct->thread, NULL, reaper, ct) != 0) {
		pthread_cond_destroy(&ct->cond);
		pthread_mutex_destroy(&ct->mu);
		free(ct);
		return NULL;
	}
	return ct;
}

void
conntrack_free(struct conntrack *ct)
{
	struct ct_conn *cc, *next;

	if (ct == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	ct->stop = 1;
	pthread_cond_signal(&ct->cond);
	pthread_mutex_unlock(&ct->mu);
	pthread_join(ct->thread, NULL);
	for (cc = ct->head; cc != NULL; cc = next) {
		next = cc->next;
		free(cc);
	}
	pthread_cond_destroy(&ct->cond);
	pthread_mutex_destroy(&ct->mu);
	free(ct);
}

struct ct_conn *
conntrack_add(struct conntrack *ct, int fd)
{
	struct ct_conn *cc;

	if (ct == NULL || fd < 0 || (cc = calloc(1, sizeof(*cc))) == NULL)
		return NULL;
	cc->fd = fd;
	atomic_init(&cc->busy, 0);
	atomic_init(&cc->since_ms, clock_mono_ms());
	pthread_mutex_lock(&ct->mu);
	cc->next = ct->head;
	if (ct->head != NULL)
		ct->head->prev = cc;
	ct->head = cc;
	pthread_mutex_unlock(&ct->mu);
	return cc;
}

void
conntrack_remove(struct conntrack *ct, struct ct_conn *cc)
{
	if (ct == NULL || cc == NULL)
		return;
	pthread_mutex_lock(&ct->mu);
	if (cc->prev != NULL)
		cc->prev->next = cc->next;
	else
		ct->head = cc->next;
	if (cc->next != NULL)
		cc->next->prev = cc->prev;
	pthread_mutex_unlock(&ct->mu);
	free(cc);
}

void
conntrack_busy(struct conntrack *ct, struct ct_conn *cc, int busy)
{
	if (ct == NULL || cc == NULL)
		return;
	/* the request's end time first: the reaper never sees "not busy"
	 * with the time from before the request */
	if (!busy)
		atomic_store(&cc->since_ms, clock_mono_ms());
	atomic_store(&cc->busy, busy);
}

unsigned long
conntrack_cut(struct conntrack *ct)
{
	unsigned long n;

	pthread_mutex_lock(&ct->mu);
	n = ct->ncut;
	pthread_mutex_unlock(&ct->mu);
	return n;
}

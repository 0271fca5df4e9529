/*
 * rewrap.c: the thread of rewrap.h.  Owns the timing and the log lines
 * of the rewrap (start, progress every PROGRESS_MS, done); a batch is
 * kekring.c's, its SQL db/keyring.c's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rewrap.h"
#include "../lib/clock.h"
#include "../lib/log.h"

#define IDLE_MS		1000	/* nothing to do, or the pair is degraded */
#define PROGRESS_MS	10000

struct rewrap {
	struct kekring	*kr;
	struct cluster	*cl;
	int		 batch;
	int		 pause_ms;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop;
	int		 kicked;
};

/* Sleep up to ms, or until kicked or stopped; 1 when stopping. */
static int
nap(struct rewrap *rw, int ms)
{
	struct timespec ts;
	int64_t until = clock_mono_ms() + ms;
	int stop;

	pthread_mutex_lock(&rw->mu);
	clock_at(&ts, until);
	while (!rw->stop && !rw->kicked && clock_mono_ms() < until)
		pthread_cond_timedwait(&rw->cv, &rw->mu, &ts);
	rw->kicked = 0;
	stop = rw->stop;
	pthread_mutex_unlock(&rw->mu);
	return stop;
}

static void *
rewrap_main(void *arg)
{
	struct rewrap *rw = arg;
	struct db_cluster_state st;
	char active[KW_KEK_ID_LEN + 1];
	size_t seen, moved, total = 0;
	int64_t t0 = 0, last_log = 0;
	int wait = 0, failing = 0;
	enum kw_err e;

	while (!nap(rw, wait)) {
		wait = IDLE_MS;
		cluster_view(rw->cl, &st);
		if (!st.writable)
			continue;
		(void)kekring_record(rw->kr);
		e = kekring_rewrap(rw->kr, rw->batch,
		    st.local.role != DB_ROLE_PRIMARY, &seen, &moved);
		kekring_active(rw->kr, active);
		if (e != KW_OK) {
			if (!failing)
				log_warnx("rewrap: a batch failed (error %d); "
				    "trying again", (int)e);
			failing = 1;
			continue;
		}
		failing = 0;
		if (seen == 0) {
			if (t0 != 0)
				log_info("rewrap: done: every key version is "
				    "wrapped under master key %s (%zu moved by "
				    "this server in %lld ms)", active, total,
				    (long long)(clock_mono_ms() - t0));
			t0 = 0;
			total = 0;
			continue;
		}
		if (t0 == 0) {
			t0 = last_log = clock_mono_ms();
			log_info("rewrap: moving key versions to master key %s",
			    active);
		}
		total += moved;
		if (clock_mono_ms() - last_log >= PROGRESS_MS) {
			last_log = clock_mono_ms();
			log_info("rewrap: %zu versions moved to master key %s so "
			    "far", total, active);
		}
		/* a batch nobody could move: the other server's, or stuck */
		if (moved > 0)
			wait = rw->pause_ms;
	}
	return NULL;
}

struct rewrap *
rewrap_start(struct kekring *kr, struct cluster *cl, int batch, int pause_ms)
{
	struct rewrap *rw;
	pthread_condattr_t ca;

	if ((rw = calloc(1, sizeof(*rw))) == NULL)
		return NULL;
	rw->kr = kr;
	rw->cl = cl;
	rw->batch = batch > 0 ? batch : 1;
	rw->pause_ms = pause_ms >= 0 ? pause_ms : 0;
	pthread_mutex_init(&rw->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);	/* clock_at */
	pthread_cond_init(&rw->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&rw->thread, NULL, rewrap_main, rw) != 0) {
		pthread_cond_destroy(&rw->cv);
		pthread_mutex_destroy(&rw->mu);
		free(rw);
		return NULL;
	}
	return rw;
}

void
rewrap_kick(struct rewrap *rw)
{
	pthread_mutex_lock(&rw->mu);
	rw->kicked = 1;
	pthread_cond_signal(&rw->cv);
	pthread_mutex_unlock(&rw->mu);
}

void
rewrap_stop(struct rewrap *rw)
{
	if (rw == NULL)
		return;
	pthread_mutex_lock(&rw->mu);
	rw->stop = 1;
	pthread_cond_signal(&rw->cv);
	pthread_mutex_unlock(&rw->mu);
	pthread_join(rw->thread, NULL);
	pthread_cond_destroy(&rw->cv);
	pthread_mutex_destroy(&rw->mu);
	free(rw);
}

/*
 * audit_agg.c: the aggregates of the audit log (audit.c): the table of
 * pending aggregates and the thread that writes them.  What a record says
 * and how it reaches the file is audit.c's (audit_emit).
 *
 * An OK GENERATE_EEK or DECRYPT_EEK is counted in a hash table keyed by
 * (identity, real_user, op, key) under one mutex: no I/O, and no
 * allocation unless the key is new in this window.  Entries sit in a FIFO
 * in the order they were created; the thread writes (and forgets) each
 * one aggregate_ms after its first operation.  Everything else is written
 * at once by the caller of audit_log.  When the table holds
 * AUDIT_MAX_PENDING entries a new key is written singly instead.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_impl.h"
#include "../lib/clock.h"

#define AUDIT_MAX_PENDING	65536	/* aggregate entries in one window */
#define AUDIT_BUCKETS_MIN	64

/* One pending aggregate: the strings are stored after the struct. */
struct agg {
	struct agg	*hnext;		/* hash bucket chain */
	struct agg	*qnext;		/* FIFO, oldest first */
	uint64_t	 hash;
	uint64_t	 count;
	int64_t		 first_ms;	/* CLOCK_MONOTONIC */
	int64_t		 last_ms;
	struct timespec	 first_wall;	/* CLOCK_REALTIME */
	uint32_t	 version;
	int		 has_version;	/* every operation named version */
	int		 status;
	const char	*identity;
	const char	*real_user;	/* or NULL */
	const char	*op;
	const char	*key;		/* or NULL */
	const char	*request_id;
	const char	*peer;
	char		 strs[];
};

static int
is_aggregated(const struct audit_event *ev)
{
	return ev->result != NULL && strcmp(ev->result, "OK") == 0 &&
	    ev->op != NULL && (strcmp(ev->op, "DECRYPT_EEK") == 0 ||
	    strcmp(ev->op, "GENERATE_EEK") == 0);
}

static uint64_t
fnv_str(uint64_t h, const char *s)
{
	const unsigned char *p;

	if (s == NULL)	/* NULL and "" differ */
		return (h ^ 0x100) * 1099511628211ULL;
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return (h ^ 0x1ff) * 1099511628211ULL;
}

/* FNV-1a over (identity, real_user, op, key). */
static uint64_t
agg_hash(const struct audit_event *ev)
{
	uint64_t h = 1469598103934665603ULL;

	h = fnv_str(h, audit_or_dash(ev->identity));
	h = fnv_str(h, ev->real_user);
	h = fnv_str(h, ev->op);
	return fnv_str(h, ev->key);
}

static int
str_eq(const char *x, const char *y)
{
	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x, y) == 0;
}

static int
agg_match(const struct agg *e, uint64_t h, const struct audit_event *ev)
{
	return e->hash == h && str_eq(e->identity, audit_or_dash(ev->identity)) &&
	    str_eq(e->op, ev->op) && str_eq(e->key, ev->key) &&
	    str_eq(e->real_user, ev->real_user);
}

/* Copy s after the struct; returns where it went. */
static const char *
stash(char **p, const char *s)
{
	const char *r = *p;
	size_t n = strlen(s) + 1;

	memcpy(*p, s, n);
	*p += n;
	return r;
}

/* A new entry for ev's first operation in this window, or NULL. */
static struct agg *
agg_new(const struct audit_event *ev, uint64_t h, int64_t now)
{
	const char *id = audit_or_dash(ev->identity);
	const char *rid = audit_or_dash(ev->request_id), *peer = audit_or_dash(ev->peer);
	struct agg *e;
	size_t n;
	char *p;

	n = strlen(id) + strlen(ev->op) + strlen(rid) + strlen(peer) + 4;
	if (ev->real_user != NULL)
		n += strlen(ev->real_user) + 1;
	if (ev->key != NULL)
		n += strlen(ev->key) + 1;
	if ((e = malloc(sizeof(*e) + n)) == NULL)
		return NULL;
	p = e->strs;
	e->hnext = e->qnext = NULL;
	e->hash = h;
	e->count = 1;
	e->first_ms = e->last_ms = now;
	clock_gettime(CLOCK_REALTIME, &e->first_wall);
	e->version = ev->version;
	e->has_version = ev->has_version;
	e->status = ev->status;
	e->identity = stash(&p, id);
	e->real_user = ev->real_user != NULL ? stash(&p, ev->real_user) : NULL;
	e->op = stash(&p, ev->op);
	e->key = ev->key != NULL ? stash(&p, ev->key) : NULL;
	e->request_id = stash(&p, rid);
	e->peer = stash(&p, peer);
	return e;
}

/* Double the buckets when the table is fuller than one per bucket. */
static void
agg_grow(struct audit *a)
{
	struct agg **nb, *e, *next;
	size_t i, n = a->nbuckets * 2;

	if (a->npending <= a->nbuckets)
		return;
	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;		/* longer chains, still correct */
	for (i = 0; i < a->nbuckets; i++)
		for (e = a->buckets[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	free(a->buckets);
	a->buckets = nb;
	a->nbuckets = n;
}

/*
 * Count ev in its aggregate when it is one (an OK GENERATE_EEK or
 * DECRYPT_EEK while aggregating).  0, or -1 when it must be written
 * singly (not aggregated, table full, out of memory).  Thread-safe.
 */
int
audit_agg_add(struct audit *a, const struct audit_event *ev)
{
	uint64_t h;
	struct agg *e, **b;
	int64_t now;

	if (a->aggregate_ms <= 0 || !is_aggregated(ev))
		return -1;
	h = agg_hash(ev);
	pthread_mutex_lock(&a->lock);
	now = clock_mono_ms();
	b = &a->buckets[h & (a->nbuckets - 1)];
	for (e = *b; e != NULL; e = e->hnext)
		if (agg_match(e, h, ev))
			break;
	if (e != NULL) {
		e->count++;
		if (now > e->last_ms)
			e->last_ms = now;
		if (e->has_version && (!ev->has_version ||
		    ev->version != e->version))
			e->has_version = 0;
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	if (a->npending >= AUDIT_MAX_PENDING ||
	    (e = agg_new(ev, h, now)) == NULL) {
		pthread_mutex_unlock(&a->lock);
		return -1;
	}
	e->hnext = *b;
	*b = e;
	if (a->qtail == NULL) {
		a->qhead = a->qtail = e;
		pthread_cond_signal(&a->cond);	/* the thread waits untimed */
	} else {
		a->qtail->qnext = e;
		a->qtail = e;
	}
	a->npending++;
	agg_grow(a);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/*
 * Take the entries at the head of the FIFO whose window ended by now (all
 * of them when now is INT64_MAX) out of the table; returns them as a list
 * linked by qnext.  Caller holds lock.
 */
static struct agg *
agg_detach(struct audit *a, int64_t now)
{
	struct agg *head = a->qhead, *last = NULL, *e, **pp;

	for (e = a->qhead; e != NULL &&
	    (now == INT64_MAX || e->first_ms + a->aggregate_ms <= now);
	    e = e->qnext) {
		for (pp = &a->buckets[e->hash & (a->nbuckets - 1)]; *pp != e;
		    pp = &(*pp)->hnext)
			;
		*pp = e->hnext;
		a->npending--;
		last = e;
	}
	if (last == NULL)
		return NULL;
	a->qhead = last->qnext;
	if (a->qhead == NULL)
		a->qtail = NULL;
	last->qnext = NULL;
	return head;
}

/* Write and free a list from agg_detach. */
static void
agg_emit(struct audit *a, struct agg *list)
{
	struct audit_rec r;
	struct agg *e;

	while ((e = list) != NULL) {
		list = e->qnext;
		memset(&r, 0, sizeof(r));
		r.wall = e->first_wall;
		r.identity = e->identity;
		r.real_user = e->real_user;
		r.op = e->op;
		r.key = e->key;
		r.version = e->version;
		r.has_version = e->has_version;
		r.result = "OK";
		r.status = e->status;
		r.request_id = e->request_id;
		r.peer = e->peer;
		r.count = e->count;
		r.interval_ms = e->last_ms - e->first_ms;
		audit_emit(a, &r);
		free(e);
	}
}

/* Write each aggregate when its window ends, until told to stop. */
static void *
audit_thread(void *arg)
{
	struct audit *a = arg;
	struct agg *list;
	struct timespec ts;
	int64_t now, due;

	pthread_mutex_lock(&a->lock);
	while (!a->stop) {
		if (a->qhead == NULL) {
			pthread_cond_wait(&a->cond, &a->lock);
			continue;
		}
		now = clock_mono_ms();
		due = a->qhead->first_ms + a->aggregate_ms;
		if (due > now) {
			clock_at(&ts, due);
			pthread_cond_timedwait(&a->cond, &a->lock, &ts);
			continue;
		}
		list = agg_detach(a, now);
		pthread_mutex_unlock(&a->lock);
		agg_emit(a, list);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/*
 * Set up the table, its mutex and condition variable.  0, or -1 when out
 * of memory; audit_agg_free undoes it either way.
 */
int
audit_agg_init(struct audit *a)
{
	pthread_condattr_t ca;

	/* each init is paired with a destroy in audit_agg_free */
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	a->nbuckets = AUDIT_BUCKETS_MIN;
	if ((a->buckets = calloc(a->nbuckets, sizeof(*a->buckets))) == NULL)
		return -1;
	return 0;
}

/* Undo audit_agg_init; the thread must not be running. */
void
audit_agg_free(struct audit *a)
{
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a->buckets);
}

/* Start the thread with every signal blocked.  0 or an errno value. */
int
audit_agg_start(struct audit *a)
{
	sigset_t all, old;
	int rc;

	/* signals belong to the server's own threads */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&a->thread, NULL, audit_thread, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0)
		a->thread_started = 1;
	return rc;
}

/* Stop the thread and wait for it; a no-op when it was not started. */
void
audit_agg_stop(struct audit *a)
{
	if (!a->thread_started)
		return;
	pthread_mutex_lock(&a->lock);
	a->stop = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
}

/* Write every pending aggregate now, oldest first.  Thread-safe. */
void
audit_flush(struct audit *a)
{
	struct agg *list;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	list = agg_detach(a, INT64_MAX);
	pthread_mutex_unlock(&a->lock);
	agg_emit(a, list);
}

/*
 * audit.c: the audit log.  Owns the audit file (its descriptor, size and
 * rotation), the table of pending aggregates and the thread that writes
 * them.  It does not decide what an operation is called, who the caller
 * is or whether the call succeeded: the API handlers say so in struct
 * audit_event, which has no field for key material and must never get
 * one.
 *
 * A record is one JSON object on one line, built with jansson
 * (JSON_COMPACT), so a client-chosen identity or key name is escaped and
 * cannot start a new line; a string that is not UTF-8 is written with
 * U+FFFD in place of each bad byte.  Members, in this order:
 *
 *   time        ISO 8601 UTC with milliseconds; of an aggregate: its
 *               first operation
 *   node        node.name
 *   identity    effective user ("-" when none)
 *   real_user   the proxy's own identity (doAs); only when there is one
 *   op          "CREATE", "DECRYPT_EEK", ...
 *   key         only when the operation names a key
 *   version     only when the operation names a version; an aggregate
 *               has it only when all its operations named the same one
 *   result      "OK", "DENIED", "UNAUTHENTICATED", "ERROR"
 *   status      HTTP status (of an aggregate: of its first operation)
 *   request_id  of an aggregate: of its first operation
 *   peer        client address (of an aggregate: of its first operation)
 *   count       aggregates only: the number of operations
 *   interval_ms aggregates only: milliseconds from the first to the last
 *               of those operations (0 when count is 1); the window is
 *               audit.aggregate_ms
 *
 * Aggregation: an OK GENERATE_EEK or DECRYPT_EEK is counted in a hash
 * table keyed by (identity, real_user, op, key) under one mutex: no I/O,
 * and no allocation unless the key is new in this window.  Entries sit in
 * a FIFO in the order they were created; the thread writes (and forgets)
 * each one aggregate_ms after its first operation.  Everything else is
 * written at once by the caller of audit_log.  When the table holds
 * AUDIT_MAX_PENDING entries a new key is written singly instead.
 *
 * Writing: the record is formatted outside any lock, then written with a
 * single write(2) on an O_APPEND descriptor under the file mutex, which
 * also guards rotation.  No fsync.  A failed write is logged at most once
 * a minute, never blocks or aborts the request, and a partly written
 * record is cut off again (ftruncate) so the file holds whole lines only.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "../lib/log.h"

#define AUDIT_MAX_PENDING	65536	/* aggregate entries in one window */
#define AUDIT_BUCKETS_MIN	64
#define AUDIT_LINE_BUF		2048	/* records longer than this: malloc */
#define AUDIT_ERR_EVERY_MS	60000	/* at most one error message a minute */
#define AUDIT_REOPEN_EVERY_MS	1000	/* retry a failed reopen this often */

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

/* What one line says; count 0 for a single operation. */
struct audit_rec {
	struct timespec	 wall;
	const char	*identity;
	const char	*real_user;
	const char	*op;
	const char	*key;
	uint32_t	 version;
	int		 has_version;
	const char	*result;
	int		 status;
	const char	*request_id;
	const char	*peer;
	uint64_t	 count;
	int64_t		 interval_ms;
};

struct audit {
	int		 enabled;	/* a file or stderr to write to */
	char		*node;
	int		 to_stderr;
	int		 aggregate_ms;

	/* the file, under wlock */
	pthread_mutex_t	 wlock;
	char		*path;		/* NULL: no file */
	char		*path_a;	/* scratch for rotation names */
	char		*path_b;
	int		 fd;		/* -1 while it cannot be opened */
	int		 regular;	/* a regular file: rotate and truncate */
	long		 max_bytes;	/* <= 0: never rotate */
	int		 keep;
	long long	 size;
	long long	 limit;		/* rotate when a record would pass it */
	int64_t		 reopen_ms;	/* last failed reopen */
	int		 reopen_err;	/* and its errno */
	int64_t		 err_ms;	/* last error message */
	int		 err_logged;
	unsigned long long lost;	/* records not written since */

	/* the aggregates, under lock */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct agg	**buckets;
	size_t		 nbuckets;	/* a power of two */
	size_t		 npending;
	struct agg	*qhead;
	struct agg	*qtail;
	int		 stop;
	pthread_t	 thread;
	int		 thread_started;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *
or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* ---- formatting ---- */

/*
 * Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when it is not one.
 */
static size_t
utf8_seq(const unsigned char *p)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string of s, with U+FFFD for each byte that is not UTF-8. */
static json_t *
json_str(const char *s)
{
	const unsigned char *p;
	json_t *j;
	char *clean, *q;
	size_t n;

	if ((j = json_string(s)) != NULL)
		return j;
	if ((clean = malloc(strlen(s) * 3 + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s, q = clean; *p != '\0'; ) {
		if ((n = utf8_seq(p)) == 0) {
			memcpy(q, "\xef\xbf\xbd", 3);
			q += 3;
			p++;
		} else {
			memcpy(q, p, n);
			q += n;
			p += n;
		}
	}
	*q = '\0';
	j = json_string(clean);
	free(clean);
	return j;
}

/* Set o[name] to j; -1 when j is NULL (out of memory) or setting fails. */
static int
put(json_t *o, const char *name, json_t *j)
{
	if (j == NULL)
		return -1;
	return json_object_set_new(o, name, j);
}

/*
 * r as one line ending in '\n': in buf when it fits, else malloc'd.
 * NULL when out of memory.  *len gets the length with the newline.
 */
static char *
audit_format(const struct audit *a, const struct audit_rec *r, char *buf,
    size_t buflen, size_t *len)
{
	struct tm tm;
	char tbuf[40], *line = NULL;
	json_t *o;
	time_t t = r->wall.tv_sec;
	size_t n;
	int bad = 0;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n = strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(tbuf + n, sizeof(tbuf) - n, ".%03ldZ",
	    (long)(r->wall.tv_nsec / 1000000));

	if ((o = json_object()) == NULL)
		return NULL;
	bad |= put(o, "time", json_string(tbuf));
	bad |= put(o, "node", json_str(a->node));
	bad |= put(o, "identity", json_str(or_dash(r->identity)));
	if (r->real_user != NULL)
		bad |= put(o, "real_user", json_str(r->real_user));
	bad |= put(o, "op", json_str(or_dash(r->op)));
	if (r->key != NULL)
		bad |= put(o, "key", json_str(r->key));
	if (r->has_version)
		bad |= put(o, "version", json_integer(r->version));
	bad |= put(o, "result", json_str(or_dash(r->result)));
	bad |= put(o, "status", json_integer(r->status));
	bad |= put(o, "request_id", json_str(or_dash(r->request_id)));
	bad |= put(o, "peer", json_str(or_dash(r->peer)));
	if (r->count > 0) {
		bad |= put(o, "count", json_integer((json_int_t)r->count));
		bad |= put(o, "interval_ms", json_integer(r->interval_ms));
	}
	if (bad)
		goto out;
	n = json_dumpb(o, buf, buflen, JSON_COMPACT);
	if (n == 0)
		goto out;
	if (n < buflen) {
		line = buf;
	} else {
		if ((line = malloc(n + 1)) == NULL)
			goto out;
		if (json_dumpb(o, line, n, JSON_COMPACT) != n) {
			free(line);
			line = NULL;
			goto out;
		}
	}
	line[n] = '\n';
	*len = n + 1;
out:
	json_decref(o);
	return line;
}

/* ---- the file ---- */

/*
 * Log that the audit file could not be written to ("could not WHAT audit
 * file NAME: ERR"), at most once a minute.  Caller holds wlock.
 */
static void
audit_error(struct audit *a, const char *what, const char *name, int err)
{
	int64_t now = mono_ms();

	if (a->err_logged && now - a->err_ms < AUDIT_ERR_EVERY_MS)
		return;
	a->err_logged = 1;
	a->err_ms = now;
	log_warnx("could not %s audit file \"%s\": %s (%llu audit records "
	    "lost so far)", what, name, strerror(err), a->lost);
}

/*
 * Open a->path (creating it 0600) and learn its size.  0, or -1 with
 * errno set.  Caller holds wlock (or is audit_open).
 */
static int
audit_file_open(struct audit *a)
{
	struct stat st;
	int fd, e;

	fd = open(a->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	a->fd = fd;
	a->regular = S_ISREG(st.st_mode);
	a->size = a->regular ? (long long)st.st_size : 0;
	a->limit = a->max_bytes;
	if (a->regular && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		log_warnx("audit file \"%s\" has mode %04o: group or others "
		    "may read or write it (chmod 600 it)", a->path,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* Note that the file could not be opened again; caller holds wlock. */
static void
audit_reopen_failed(struct audit *a, int err)
{
	a->reopen_ms = mono_ms();
	a->reopen_err = err;
	audit_error(a, "reopen", a->path, err);
}

/*
 * FILE -> FILE.1, ..., FILE.(keep-1) -> FILE.keep (FILE.keep removed
 * first), then a new FILE.  Caller holds wlock.
 */
static void
audit_rotate(struct audit *a)
{
	size_t plen = strlen(a->path) + 16;
	int i;

	close(a->fd);
	a->fd = -1;
	if (a->keep <= 0) {
		if (unlink(a->path) == -1 && errno != ENOENT)
			audit_error(a, "remove", a->path, errno);
	} else {
		snprintf(a->path_a, plen, "%s.%d", a->path, a->keep);
		if (unlink(a->path_a) == -1 && errno != ENOENT)
			audit_error(a, "remove rotated", a->path_a, errno);
		for (i = a->keep - 1; i >= 1; i--) {
			snprintf(a->path_a, plen, "%s.%d", a->path, i);
			snprintf(a->path_b, plen, "%s.%d", a->path, i + 1);
			if (rename(a->path_a, a->path_b) == -1 &&
			    errno != ENOENT)
				audit_error(a, "rename rotated", a->path_a,
				    errno);
		}
		snprintf(a->path_a, plen, "%s.1", a->path);
		if (rename(a->path, a->path_a) == -1 && errno != ENOENT) {
			audit_error(a, "rotate", a->path, errno);
			/* keep appending; try again after another max_bytes */
			if (audit_file_open(a) == 0)
				a->limit = a->size + a->max_bytes;
			else
				audit_reopen_failed(a, errno);
			return;
		}
	}
	if (audit_file_open(a) == -1)
		audit_reopen_failed(a, errno);
}

/* Append line (len bytes, '\n' included) with one write(2). */
static void
audit_write(struct audit *a, const char *line, size_t len)
{
	ssize_t n;
	size_t off = 0;
	int e;

	pthread_mutex_lock(&a->wlock);
	if (a->to_stderr)
		fprintf(stderr, "audit: %.*s\n", (int)(len - 1), line);
	if (a->path == NULL)
		goto out;
	if (a->fd == -1) {
		/* rotation could not reopen it: try again now and then */
		if (mono_ms() - a->reopen_ms < AUDIT_REOPEN_EVERY_MS) {
			a->lost++;
			audit_error(a, "reopen", a->path, a->reopen_err);
			goto out;
		}
		if (audit_file_open(a) == -1) {
			a->lost++;
			audit_reopen_failed(a, errno);
			goto out;
		}
	}
	if (a->regular && a->max_bytes > 0 && a->size > 0 &&
	    a->size + (long long)len > a->limit) {
		audit_rotate(a);
		if (a->fd == -1) {
			a->lost++;
			goto out;
		}
	}
	while (off < len) {
		n = write(a->fd, line + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n == 0 ? EIO : errno;
			/* leave no half record behind */
			if (off > 0 && a->regular &&
			    ftruncate(a->fd, (off_t)a->size) == -1)
				a->size += (long long)off;
			a->lost++;
			audit_error(a, "write to", a->path, e);
			goto out;
		}
		off += (size_t)n;
	}
	a->size += (long long)len;
out:
	pthread_mutex_unlock(&a->wlock);
}

/* Format and write one record; out of memory loses it (logged). */
static void
audit_emit(struct audit *a, const struct audit_rec *r)
{
	char buf[AUDIT_LINE_BUF], *line;
	size_t len;

	if ((line = audit_format(a, r, buf, sizeof(buf), &len)) == NULL) {
		pthread_mutex_lock(&a->wlock);
		a->lost++;
		audit_error(a, "format a record for",
		    a->path != NULL ? a->path : "(stderr)", ENOMEM);
		pthread_mutex_unlock(&a->wlock);
		return;
	}
	audit_write(a, line, len);
	if (line != buf)
		free(line);
}

/* ---- aggregates ---- */

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

	h = fnv_str(h, or_dash(ev->identity));
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
	return e->hash == h && str_eq(e->identity, or_dash(ev->identity)) &&
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
	const char *id = or_dash(ev->identity);
	const char *rid = or_dash(ev->request_id), *peer = or_dash(ev->peer);
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
 * Count ev in its aggregate.  0, or -1 when it must be written singly
 * (table full, out of memory).
 */
static int
agg_add(struct audit *a, const struct audit_event *ev)
{
	uint64_t h = agg_hash(ev);
	struct agg *e, **b;
	int64_t now;

	pthread_mutex_lock(&a->lock);
	now = mono_ms();
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
		now = mono_ms();
		due = a->qhead->first_ms + a->aggregate_ms;
		if (due > now) {
			ts.tv_sec = (time_t)(due / 1000);
			ts.tv_nsec = (long)(due % 1000) * 1000000;
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

/* ---- the interface ---- */

/* Free what audit_open allocated; the thread must not be running. */
static void
audit_free(struct audit *a)
{
	if (a->fd != -1)
		close(a->fd);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	pthread_mutex_destroy(&a->wlock);
	free(a->buckets);
	free(a->path_b);
	free(a->path_a);
	free(a->path);
	free(a->node);
	free(a);
}

/*
 * Open (create 0600) o->path and start the aggregation thread.  With no
 * path and no stderr the object records nothing, so callers need no
 * special case.  NULL with a message in err when the file cannot be
 * opened or memory runs out.  Free with audit_close.
 */
struct audit *
audit_open(const struct audit_opts *o, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	struct audit *a;
	size_t plen;
	int rc;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->fd = -1;
	/* each init is paired with a destroy in audit_free */
	pthread_mutex_init(&a->wlock, NULL);
	pthread_mutex_init(&a->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);

	a->to_stderr = o->to_stderr != 0;
	a->aggregate_ms = o->aggregate_ms > 0 ? o->aggregate_ms : 0;
	a->max_bytes = o->max_bytes;
	a->keep = o->keep > 0 ? o->keep : 0;
	a->nbuckets = AUDIT_BUCKETS_MIN;
	if ((a->node = strdup(o->node != NULL ? o->node : "")) == NULL ||
	    (a->buckets = calloc(a->nbuckets, sizeof(*a->buckets))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (o->path != NULL && *o->path != '\0') {
		plen = strlen(o->path) + 16;
		if ((a->path = strdup(o->path)) == NULL ||
		    (a->path_a = malloc(plen)) == NULL ||
		    (a->path_b = malloc(plen)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (audit_file_open(a) == -1) {
			snprintf(err, errlen, "could not open audit file "
			    "\"%s\": %s", o->path, strerror(errno));
			goto fail;
		}
	}
	a->enabled = a->path != NULL || a->to_stderr;
	if (a->enabled && a->aggregate_ms > 0) {
		/* signals belong to the server's own threads */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = pthread_create(&a->thread, NULL, audit_thread, a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			snprintf(err, errlen, "could not start the audit "
			    "thread: %s", strerror(rc));
			goto fail;
		}
		a->thread_started = 1;
	}
	return a;
fail:
	audit_free(a);
	return NULL;
}

/*
 * Record ev: count it in its aggregate (an OK GENERATE_EEK or
 * DECRYPT_EEK while aggregating) or write it now.  Copies what it keeps.
 * Never fails the caller: a record that cannot be written is counted and
 * logged.  a NULL: nothing.  Thread-safe.
 */
void
audit_log(struct audit *a, const struct audit_event *ev)
{
	struct audit_rec r;

	if (a == NULL || ev == NULL || !a->enabled)
		return;
	if (a->aggregate_ms > 0 && is_aggregated(ev) && agg_add(a, ev) == 0)
		return;
	memset(&r, 0, sizeof(r));
	clock_gettime(CLOCK_REALTIME, &r.wall);
	r.identity = ev->identity;
	r.real_user = ev->real_user;
	r.op = ev->op;
	r.key = ev->key;
	r.version = ev->version;
	r.has_version = ev->has_version;
	r.result = ev->result;
	r.status = ev->status;
	r.request_id = ev->request_id;
	r.peer = ev->peer;
	audit_emit(a, &r);
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

/*
 * Stop the thread, write what is pending, close the file and free a.
 * No audit_log may run concurrently.  NULL is a no-op.
 */
void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	if (a->thread_started) {
		pthread_mutex_lock(&a->lock);
		a->stop = 1;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	audit_flush(a);
	audit_free(a);
}

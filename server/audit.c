/*
 * audit.c: the audit log.  Owns the audit file (its descriptor, size and
 * rotation), the record format and the interface (audit_open, audit_log,
 * audit_close); the table of pending aggregates and the thread that
 * writes them are in audit_agg.c.  It does not decide what an operation
 * is called, who the caller is or whether the call succeeded: the API
 * handlers say so in struct audit_event, which has no field for key
 * material and must never get one.
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
 * An OK GENERATE_EEK or DECRYPT_EEK is counted in its aggregate while
 * audit.aggregate_ms is set (audit_agg.c); everything else is written at
 * once by the caller of audit_log.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_impl.h"
#include "metrics.h"
#include "../lib/clock.h"
#include "../lib/log.h"

#define AUDIT_LINE_BUF		2048	/* records longer than this: malloc */
#define AUDIT_ERR_EVERY_MS	60000	/* at most one error message a minute */
#define AUDIT_REOPEN_EVERY_MS	1000	/* retry a failed reopen this often */

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
	bad |= put(o, "identity", json_str(audit_or_dash(r->identity)));
	if (r->real_user != NULL)
		bad |= put(o, "real_user", json_str(r->real_user));
	bad |= put(o, "op", json_str(audit_or_dash(r->op)));
	if (r->key != NULL)
		bad |= put(o, "key", json_str(r->key));
	if (r->has_version)
		bad |= put(o, "version", json_integer(r->version));
	bad |= put(o, "result", json_str(audit_or_dash(r->result)));
	bad |= put(o, "status", json_integer(r->status));
	bad |= put(o, "request_id", json_str(audit_or_dash(r->request_id)));
	bad |= put(o, "peer", json_str(audit_or_dash(r->peer)));
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
	int64_t now = clock_mono_ms();

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
	a->reopen_ms = clock_mono_ms();
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

/* One record lost (wlock held): counted for the log and the metrics. */
static void
audit_lose(struct audit *a)
{
	a->lost++;
	metrics_inc(MC_AUDIT_DROPPED);
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
	if (a->path == NULL) {
		if (a->to_stderr)
			metrics_inc(MC_AUDIT_WRITTEN);
		goto out;
	}
	if (a->fd == -1) {
		/* rotation could not reopen it: try again now and then */
		if (clock_mono_ms() - a->reopen_ms < AUDIT_REOPEN_EVERY_MS) {
			audit_lose(a);
			audit_error(a, "reopen", a->path, a->reopen_err);
			goto out;
		}
		if (audit_file_open(a) == -1) {
			audit_lose(a);
			audit_reopen_failed(a, errno);
			goto out;
		}
	}
	if (a->regular && a->max_bytes > 0 && a->size > 0 &&
	    a->size + (long long)len > a->limit) {
		audit_rotate(a);
		if (a->fd == -1) {
			audit_lose(a);
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
			audit_lose(a);
			audit_error(a, "write to", a->path, e);
			goto out;
		}
		off += (size_t)n;
	}
	a->size += (long long)len;
	metrics_inc(MC_AUDIT_WRITTEN);
out:
	pthread_mutex_unlock(&a->wlock);
}

/* Format and write one record; out of memory loses it (logged).
 * Thread-safe: the formatting takes no lock, the writing wlock. */
void
audit_emit(struct audit *a, const struct audit_rec *r)
{
	char buf[AUDIT_LINE_BUF], *line;
	size_t len;

	if ((line = audit_format(a, r, buf, sizeof(buf), &len)) == NULL) {
		pthread_mutex_lock(&a->wlock);
		audit_lose(a);
		audit_error(a, "format a record for",
		    a->path != NULL ? a->path : "(stderr)", ENOMEM);
		pthread_mutex_unlock(&a->wlock);
		return;
	}
	audit_write(a, line, len);
	if (line != buf)
		free(line);
}

/* ---- the interface ---- */

/* Free what audit_open allocated; the thread must not be running. */
static void
audit_free(struct audit *a)
{
	if (a->fd != -1)
		close(a->fd);
	audit_agg_free(a);
	pthread_mutex_destroy(&a->wlock);
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
	if (audit_agg_init(a) == -1) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	a->to_stderr = o->to_stderr != 0;
	a->aggregate_ms = o->aggregate_ms > 0 ? o->aggregate_ms : 0;
	a->max_bytes = o->max_bytes;
	a->keep = o->keep > 0 ? o->keep : 0;
	if ((a->node = strdup(o->node != NULL ? o->node : "")) == NULL) {
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
	if (a->enabled && a->aggregate_ms > 0 &&
	    (rc = audit_agg_start(a)) != 0) {
		snprintf(err, errlen, "could not start the audit thread: %s",
		    strerror(rc));
		goto fail;
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
	if (audit_agg_add(a, ev) == 0)
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

/*
 * Stop the thread, write what is pending, close the file and free a.
 * No audit_log may run concurrently.  NULL is a no-op.
 */
void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	audit_agg_stop(a);
	audit_flush(a);
	audit_free(a);
}

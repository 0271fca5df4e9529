/*
 * audit_impl.h: the inside of struct audit, for audit*.c only.  audit.c
 * owns the file, the record format and the interface; audit_agg.c the
 * pending aggregates and the thread that writes them.  Other modules see
 * audit.h.
 */
#ifndef KW_AUDIT_IMPL_H
#define KW_AUDIT_IMPL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "audit.h"
#include "../lib/kwerr.h"

/* One pending aggregate (audit_agg.c). */
struct agg;

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

/* s, or "-" for NULL. */
static inline const char *
audit_or_dash(const char *s)
{
	return s != NULL ? s : "-";
}

/* audit.c: format and write one record; out of memory loses it (logged).
 * Thread-safe. */
void	audit_emit(struct audit *a, const struct audit_rec *r);

/* audit_agg.c: set up the table, its mutex and condition variable (0, or
 * -1 when out of memory); undo that, even after a failure, the thread not
 * running; start the thread (0 or an errno value); stop it (a no-op when
 * it was not started). */
int	audit_agg_init(struct audit *a) WUR;
void	audit_agg_free(struct audit *a);
int	audit_agg_start(struct audit *a) WUR;
void	audit_agg_stop(struct audit *a);
/* Count ev in its aggregate: 0; or -1 when it must be written singly (not
 * aggregated, table full, out of memory).  Thread-safe. */
int	audit_agg_add(struct audit *a, const struct audit_event *ev);

#endif

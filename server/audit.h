/*
 * audit.h: the audit log: one JSON object per line for every key
 * operation, never key material.
 *
 *   {"time":"2026-11-23T10:00:00.123Z","node":"kw-a","identity":"alice",
 *    "real_user":"hdfs","op":"DECRYPT_EEK","key":"k1","version":3,
 *    "result":"OK","status":200,"request_id":"1a2b3c4d00000007",
 *    "peer":"127.0.0.1"}
 *
 * real_user only for a proxy (doAs), key/version only when the operation
 * names them.  Successful GENERATE_EEK and DECRYPT_EEK operations are
 * aggregated per (identity, real_user, op, key) and written once per
 * aggregate_ms with "count" and "interval_ms" (and the first request id);
 * everything else is written at once.  The file is created 0600 and
 * rotated by size (FILE -> FILE.1 ... FILE.keep).  Thread-safe.
 */
#ifndef KW_AUDIT_H
#define KW_AUDIT_H

#include <stdint.h>

struct audit_opts {
	const char	*path;		/* NULL or "": no file */
	long		 max_bytes;	/* rotate at this size */
	int		 keep;		/* rotated files kept */
	int		 to_stderr;	/* also "audit: JSON" on stderr */
	int		 aggregate_ms;	/* 0: no aggregation */
	const char	*node;		/* node.name */
};

struct audit_event {
	const char	*identity;	/* effective user; "-" if none */
	const char	*real_user;	/* proxy's own identity, or NULL */
	const char	*op;		/* "CREATE", "DECRYPT_EEK", ... */
	const char	*key;		/* key name, or NULL */
	uint32_t	 version;
	int		 has_version;
	const char	*result;	/* "OK", "DENIED", "UNAUTHENTICATED",
					   "ERROR" */
	int		 status;	/* HTTP status */
	const char	*request_id;
	const char	*peer;		/* client address */
};

struct audit;

/* Open (create 0600) the file and start the aggregation thread; NULL with
 * a message in err when the file cannot be opened. */
struct audit *audit_open(const struct audit_opts *o, char *err, size_t errlen);
/* Record one event (copies what it keeps). */
void	audit_log(struct audit *a, const struct audit_event *ev);
/* Write pending aggregates now (also done by audit_close). */
void	audit_flush(struct audit *a);
/* Flush, stop the thread, close; NULL is a no-op. */
void	audit_close(struct audit *a);

#endif

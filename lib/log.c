/*
 * log.c: the program's log, one line per event on stderr.
 *
 * Owns the program name, the minimum level and the line shape; nothing
 * else.  Lines look like "keyward-server: warning: could not open ...":
 * no time stamp, since journald (or the test harness) adds one.  An
 * operator's command (LOG_MODE_COMMAND) leaves the level out of its info
 * lines, which read as progress ("keyward-admin: skipped 2 lines ...");
 * its warnings and errors keep theirs ("keyward-admin: error: ...").
 * Each line is formatted into a local buffer and written with a single
 * fprintf, which stdio locks, so lines from different threads never
 * interleave.  Control characters in a message (for instance a newline
 * inside a client-supplied key name) are replaced so that one call always
 * yields exactly one line.
 *
 * A thread may name the request it serves (log_request_begin): its lines
 * then start with "req=ID ", whichever layer logs them.
 *
 * This file does not decide what is worth logging, and it must never be
 * given key material: callers pass names, ids and codes only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define LOG_LINE_MAX	2048

/*
 * The program name is set once at start-up, before threads exist; the
 * level may change on SIGHUP while other threads log, hence atomic.
 */
static const char	*log_progname = "keyward";
static atomic_int	 log_min_level = LOG_LVL_INFO;
static enum log_mode	 log_mode = LOG_MODE_DAEMON;

/* The request this thread serves, "" when none (log_request_begin). */
static _Thread_local char log_req[32];

static const char *const log_level_names[] = {
	[LOG_LVL_DEBUG] = "debug",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_WARN] = "warning",
	[LOG_LVL_ERR] = "error",
};

static void	log_vwrite(enum log_level, const char *, int, const char *,
		    va_list) __attribute__((format(printf, 4, 0)));

/*
 * Set the name shown at the start of every line and the lowest level
 * written.  Call once at start-up, before other threads run; progname
 * must stay valid for the life of the program (argv[0] or a literal).
 */
void
log_init(const char *progname, enum log_level level)
{
	log_init_mode(progname, level, LOG_MODE_DAEMON);
}

/*
 * log_init with the line shape of mode: LOG_MODE_DAEMON for the server,
 * LOG_MODE_COMMAND for an operator's command (no "info: " label).
 */
void
log_init_mode(const char *progname, enum log_level level, enum log_mode mode)
{
	const char *slash;

	log_mode = mode;

	if (progname != NULL && *progname != '\0') {
		slash = strrchr(progname, '/');
		log_progname = (slash != NULL && slash[1] != '\0') ?
		    slash + 1 : progname;
	}
	log_set_level(level);
}

/* Change the lowest level written; safe to call from any thread. */
void
log_set_level(enum log_level level)
{
	if ((int)level < LOG_LVL_DEBUG || level > LOG_LVL_ERR)
		level = LOG_LVL_INFO;
	atomic_store(&log_min_level, (int)level);
}

/* Every line of this thread names request id, until log_request_end. */
void
log_request_begin(const char *id)
{
	snprintf(log_req, sizeof(log_req), "%s", id != NULL ? id : "");
}

/* This thread serves no request any more. */
void
log_request_end(void)
{
	log_req[0] = '\0';
}

/*
 * Parse a level name as written in keyward.conf: "debug", "info", "warn"
 * (or "warning"), "error".  Returns the enum log_level value, or -1.
 */
int
log_level_parse(const char *s)
{
	if (s == NULL)
		return -1;
	if (strcmp(s, "debug") == 0)
		return LOG_LVL_DEBUG;
	if (strcmp(s, "info") == 0)
		return LOG_LVL_INFO;
	if (strcmp(s, "warn") == 0 || strcmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	if (strcmp(s, "error") == 0)
		return LOG_LVL_ERR;
	return -1;
}

/*
 * Format and write one line.  errnum is appended as ": strerror" when
 * non-zero.  label overrides the level name (for "fatal").
 */
static void
log_vwrite(enum log_level level, const char *label, int errnum,
    const char *fmt, va_list ap)
{
	char	 msg[LOG_LINE_MAX];
	char	 ebuf[128];
	char	 head[96];
	char	 req[sizeof(log_req) + 5];
	char	*p;
	int	 saved_errno = errno;

	if ((int)level < atomic_load(&log_min_level))
		goto out;
	if (label == NULL)
		label = log_level_names[level];
	/* "PROG: LABEL: ", or "PROG: " for a command's progress line */
	if (log_mode == LOG_MODE_COMMAND && level == LOG_LVL_INFO)
		snprintf(head, sizeof(head), "%s: ", log_progname);
	else
		snprintf(head, sizeof(head), "%s: %s: ", log_progname, label);

	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		strcpy(msg, "(unformattable log message)");
	req[0] = '\0';
	if (log_req[0] != '\0')
		snprintf(req, sizeof(req), "req=%s ", log_req);
	/* One call, one line: neutralise newlines and other controls. */
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	for (p = req; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';

	if (errnum != 0) {
#if defined(_GNU_SOURCE)
		const char *es = strerror_r(errnum, ebuf, sizeof(ebuf));
#else
		const char *es = ebuf;

		if (strerror_r(errnum, ebuf, sizeof(ebuf)) != 0)
			snprintf(ebuf, sizeof(ebuf), "error %d", errnum);
#endif
		fprintf(stderr, "%s%s%s: %s\n", head, req, msg, es);
	} else
		fprintf(stderr, "%s%s%s\n", head, req, msg);
	fflush(stderr);
out:
	errno = saved_errno;
}

/* Log at debug level. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_DEBUG, NULL, 0, fmt, ap);
	va_end(ap);
}

/* Log at info level. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, NULL, 0, fmt, ap);
	va_end(ap);
}

/* Log a warning followed by ": strerror(errno)"; errno is preserved. */
void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	e = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, NULL, e, fmt, ap);
	va_end(ap);
}

/* Log a warning without errno. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, NULL, 0, fmt, ap);
	va_end(ap);
}

/* Log at error level without errno, and carry on. */
void
log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, NULL, 0, fmt, ap);
	va_end(ap);
}

/*
 * Log "fatal: message: strerror(errno)" and exit(1).  For start-up
 * failures and broken invariants only, never for client input.
 */
void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	e = errno;

	va_start(ap, fmt);
	/* Fatal lines are written whatever the level. */
	log_vwrite(LOG_LVL_ERR, "fatal", e, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log "fatal: message" and exit(1). */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERR, "fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}

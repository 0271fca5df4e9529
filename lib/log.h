/*
 * log.h: logging to stderr with a level, in the OpenBSD vocabulary.
 *
 * log_warn appends strerror(errno); log_warnx does not.  fatal/fatalx log
 * and exit(1): only for start-up errors and broken invariants.  Thread-safe
 * (one fprintf per line).  Never pass key material to these functions.
 *
 * Two line shapes, chosen once by log_init_mode:
 *
 *   LOG_MODE_DAEMON (log_init; keyward-server): every line names its
 *     level, "keyward-server: info: listening on ...",
 *     "keyward-server: warning: req=ID ...", for journald and grep.
 *   LOG_MODE_COMMAND (keyward-admin): an operator reads the lines at a
 *     terminal.  Errors and warnings name their level, progress does not:
 *       keyward-admin: error: could not open "/etc/keyward/x": ...
 *       keyward-admin: warning: the peer's database does not answer
 *       keyward-admin: skipped 2 lines that are not JSON
 *     A command writes its result (tables, JSON, fingerprints) on stdout
 *     with printf, never through this log.  keyward-admin(8) DIAGNOSTICS
 *     documents the same shape; test/unit/check_log.c holds it.
 */
#ifndef KW_LOG_H
#define KW_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };
enum log_mode { LOG_MODE_DAEMON = 0, LOG_MODE_COMMAND };

/* Set the program name shown in every line and the lowest level printed
 * (LOG_MODE_DAEMON). */
void log_init(const char *progname, enum log_level level);
/* The same, with the line shape of mode (see above). */
void log_init_mode(const char *progname, enum log_level level,
	    enum log_mode mode);
void log_set_level(enum log_level level);
/* Parse "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *s);

/*
 * The request the calling thread serves: until log_request_end, every
 * line this thread logs starts with "req=ID " (at most 31 bytes of id),
 * so a warning of a lower layer (the database's "not acknowledged", say)
 * ties to the request it belongs to.  Set by the HTTP glue around each
 * request; a thread that serves none logs without.
 */
void log_request_begin(const char *id);
void log_request_end(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

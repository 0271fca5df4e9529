/*
 * log.h: logging to stderr with a level, in the OpenBSD vocabulary.
 *
 * log_warn appends strerror(errno); log_warnx does not.  fatal/fatalx log
 * and exit(1): only for start-up errors and broken invariants.  Thread-safe
 * (one fprintf per line).  Never pass key material to these functions.
 */
#ifndef KW_LOG_H
#define KW_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG = 0, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

/* Set the program name shown in every line and the lowest level printed. */
void log_init(const char *progname, enum log_level level);
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

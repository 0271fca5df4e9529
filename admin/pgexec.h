/*
 * pgexec.h: running PostgreSQL's programs (initdb, pg_ctl, pg_basebackup,
 * pg_rewind) for keyward-admin.
 *
 * PostgreSQL refuses to run as root: when keyward-admin runs as root, each
 * program runs as the service user (created when missing), the files it
 * must read are handed over to that user, and the database password goes
 * through a private temporary directory owned by that user, wiped after.
 * Every program runs under a deadline and is killed past it.  Programs
 * come from `pg_config --bindir` (PG_BINDIR overrides).
 */
#ifndef KW_ADMIN_PGEXEC_H
#define KW_ADMIN_PGEXEC_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>
#include "../lib/kwerr.h"

struct pgx {
	char	bindir[PATH_MAX];
	char	user[64];		/* who runs the programs */
	char	home[PATH_MAX];		/* its HOME (libpq looks for
					   ~/.postgresql/ client files) */
	int	drop;			/* we are root: switch to uid/gid */
	uid_t	uid;
	gid_t	gid;
};

/* Deadlines (seconds) of the programs keyward-admin runs. */
#define PGX_T_SHORT	30		/* initdb, pg_ctl status/promote */
#define PGX_T_START	90		/* pg_ctl start/stop (-t 60 inside) */

/*
 * Find the binaries and the service user (when euid is 0; created with
 * useradd when missing).  0, or -1 with a message in err.
 */
int	pgx_init(struct pgx *x, const char *user, char *err, size_t errlen) WUR;

/*
 * Run bindir/argv[0] with argv (NULL-terminated) as the service user, in
 * "/", stdin from /dev/null, with the extra environment env ("K=V"
 * strings, NULL-terminated; may be NULL).  Its stdout and stderr are
 * captured into out (the last outlen - 1 bytes, NUL-terminated).  Killed
 * after timeout_s.  Returns the exit status (0..255), -1 when it could
 * not run (message in out), -2 when it was killed at the deadline.
 */
int	pgx_run(const struct pgx *x, int timeout_s, const char *const *env,
	    char *out, size_t outlen, const char *const *argv);

/*
 * Report a failed pgx_run of tool on stderr through lib/log: the line
 * "error: TOOL HOW" (HOW: "did not finish within TIMEOUT_S s" for rc -2,
 * else "failed"; what, when not NULL, goes between), then each line of its
 * captured output as "error: TOOL: LINE".  Log lines hold one line each,
 * so the output is not squeezed into one.
 */
void	pgx_report(const char *tool, const char *what, int rc,
	    int timeout_s, const char *out);

/* Make path owned by the service user (a no-op unless root).  0 or -1. */
int	pgx_chown(const struct pgx *x, const char *path, char *err,
	    size_t errlen) WUR;
/* Can the service user access path with mode (R_OK, X_OK, ...)?  1/0. */
int	pgx_can(const struct pgx *x, const char *path, int mode);

/* Is the instance in datadir running (pg_ctl status)?  1, 0, -1. */
int	pgx_running(const struct pgx *x, const char *datadir);
/*
 * pg_ctl start -w (log appended to logfile, created for the service user;
 * sockdir, when not NULL, created for it too) unless running; *started
 * says whether it was.  0, or -1 with the last lines of the log in err.
 */
int	pgx_start(const struct pgx *x, const char *datadir, const char *logfile,
	    const char *sockdir, int *started, char *err, size_t errlen) WUR;
/* pg_ctl stop -m fast -w unless stopped; *stopped says whether it was. */
int	pgx_stop(const struct pgx *x, const char *datadir, int *stopped,
	    char *err, size_t errlen) WUR;

/*
 * The database password where the service user's programs can read it:
 * a directory of its own (mode 0700) holding pwfile (the password, for
 * initdb --pwfile) and passfile (a libpq password file for user on any
 * host).  pgx_secret_free overwrites both with zeros and removes them.
 */
struct pgx_secret {
	char	dir[PATH_MAX];
	char	pwfile[PATH_MAX];
	char	passfile[PATH_MAX];
	char	env[PATH_MAX + 16];	/* "PGPASSFILE=<passfile>" */
};
int	pgx_secret_new(const struct pgx *x, const char *user,
	    const char *password, struct pgx_secret *s, char *err,
	    size_t errlen) WUR;
void	pgx_secret_free(struct pgx_secret *s);

/* A libpq password-file line "*:*:*:user:password" (':' '\' escaped)
 * into a malloc'd string the caller wipes; NULL on allocation failure. */
char	*pgx_passfile_line(const char *user, const char *password);

/* Milliseconds on the monotonic clock (for the figures we print). */
long long pgx_now_ms(void);

#endif

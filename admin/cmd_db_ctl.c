/*
 * cmd_db_ctl.c: `keyward-admin db start` and `db stop`: start or stop a
 * node's PostgreSQL as the service user (pg_ctl -w, bounded), whatever its
 * role.  Both are idempotent; neither needs the config.
 */
#include <stdio.h>

#include "admin.h"
#include "pair.h"
#include "../lib/log.h"

static int
ctl(int argc, char **argv, const char *cmd, int start)
{
	struct pair_opts o;
	struct pgx x;
	char dir[PATH_MAX], err[2048], logfile[PATH_MAX + 8],
	    sockdir[PATH_MAX + 8];
	long long t0;
	int r, done;

	r = pair_getopt(argc, argv, cmd, PO_DATADIR | PO_USER, PO_DATADIR, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_abs_dir(o.datadir, dir, sizeof(dir)) != 0)
		return EXIT_FAIL;
	if (pgx_init(&x, o.user, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		return EXIT_FAIL;
	}
	if (!pair_has_cluster(dir)) {
		log_errx("\"%s\" holds no PostgreSQL data "
		    "directory (no PG_VERSION)", dir);
		return EXIT_FAIL;
	}
	t0 = pgx_now_ms();
	if (start) {
		pair_logfile(dir, logfile, sizeof(logfile));
		pair_sockdir(dir, sockdir, sizeof(sockdir));
		if (pgx_start(&x, dir, logfile, sockdir, &done, err,
		    sizeof(err)) != 0) {
			log_errx("%s", err);
			return EXIT_FAIL;
		}
		if (done)
			printf("started PostgreSQL in %s%s (%.1f s); log: %s\n",
			    dir, pair_exists(dir, "standby.signal") ?
			    " as a standby" : "", (double)(pgx_now_ms() - t0) /
			    1000, logfile);
		else
			printf("PostgreSQL in %s is already running\n", dir);
	} else {
		if (pgx_stop(&x, dir, &done, err, sizeof(err)) != 0) {
			log_errx("%s", err);
			return EXIT_FAIL;
		}
		if (done)
			printf("stopped PostgreSQL in %s (%.1f s)\n", dir,
			    (double)(pgx_now_ms() - t0) / 1000);
		else
			printf("PostgreSQL in %s is not running\n", dir);
	}
	return EXIT_OK;
}

int
cmd_db_start(int argc, char **argv)
{
	return ctl(argc, argv, "db start", 1);
}

int
cmd_db_stop(int argc, char **argv)
{
	return ctl(argc, argv, "db stop", 0);
}

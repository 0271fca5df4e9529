/*
 * cmd_rejoin.c: `keyward-admin rejoin`: turn a former active into the
 * passive of the new active, on the same host or any other.
 *
 * Stops this node's database, rewinds it onto the new primary's timeline
 * with pg_rewind (which needs wal_log_hints, set by keyward's template),
 * or, when that fails or --fresh asks for it, moves the old data
 * directory aside and takes a fresh base backup.  Then writes the node's
 * own files again (pg_rewind copied the other node's), the standby
 * settings with the node's replication slot (created on the primary when
 * missing), starts it, drops the replication slots it held as the active,
 * and waits for it to stream in sync.  Idempotent: a standby already
 * streaming from the primary is left alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "pair.h"
#include "pgconf.h"
#include "../db/pgadmin.h"
#include "../lib/log.h"

/* How long to wait for the rejoined standby to be in sync. */
#define SYNC_WAIT_MS	15000

/* Is this node's database already a standby streaming from src? */
static int
already_following(const struct pair *p, const struct pg_addr *src,
    const char *dir)
{
	struct pga *c;
	char err[512], status[32], sender[256];
	int rec, ok = 0;

	if (!pair_exists(dir, "standby.signal") || pgx_running(&p->pgx, dir) != 1)
		return 0;
	if ((c = pair_connect(p, &p->local, NULL, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL)
		return 0;
	if (pga_in_recovery(c, &rec, err, sizeof(err)) == 0 && rec &&
	    pga_receiver(c, status, sizeof(status), sender, sizeof(sender), err,
	    sizeof(err)) == 0 && strcmp(status, "streaming") == 0 &&
	    strcmp(sender, src->host) == 0)
		ok = 1;
	pga_close(c);
	return ok;
}

/* pg_rewind dir onto src.  0, or -1 (output printed). */
static int
rewind_onto(struct pair *p, const struct pair_opts *o,
    const struct pg_addr *src, const char *dir)
{
	struct pgconf_node n;
	struct pgx_secret sec;
	const char *env[2] = { NULL, NULL };
	char err[512], out[8192], *conninfo, *s;
	long long t0;
	int rc;

	memset(&n, 0, sizeof(n));
	n.ssl_cert = o->pg_cert;
	n.ssl_ca = o->pg_ca;
	/* the replication role, granted pg_rewind's functions there */
	if ((conninfo = pgconf_conninfo(&n, src, p->repl_user,
	    p->local.dbname, NULL, NULL)) == NULL) {
		log_errx("out of memory");
		return -1;
	}
	if (pgx_secret_new(&p->pgx, p->repl_user, (const char *)p->pw->data,
	    &sec, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		free(conninfo);
		return -1;
	}
	env[0] = sec.env;
	{
		const char *argv[] = { "pg_rewind", "--target-pgdata", dir,
		    "--source-server", conninfo, NULL };

		t0 = pgx_now_ms();
		rc = pgx_run(&p->pgx, o->timeout_s, env, out, sizeof(out), argv);
	}
	pgx_secret_free(&sec);
	free(conninfo);
	if (rc != 0) {
		pgx_report("pg_rewind", NULL, rc, o->timeout_s, out);
		return -1;
	}
	/* its last line says what it did ("Done!", "no rewind required") */
	for (s = out + strlen(out); s > out && (s[-1] == '\n' || s[-1] == ' ');)
		*--s = '\0';
	s = strrchr(out, '\n');
	printf("pg_rewind onto %s:%s: %s (%.1f s)\n", src->host, src->port,
	    s != NULL ? s + 1 : out, (double)(pgx_now_ms() - t0) / 1000);
	return 0;
}

/* Rename dir to dir.old-YYYYmmddTHHMMSS.  0 or -1. */
static int
move_aside(const char *dir)
{
	char to[PATH_MAX + 32], stamp[32];
	time_t now = time(NULL);

	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", localtime(&now));
	if ((size_t)snprintf(to, sizeof(to), "%s.old-%s", dir, stamp) >=
	    sizeof(to) || rename(dir, to) != 0) {
		log_errx("could not move the old data directory \"%s\" "
		    "aside: %s", dir, strerror(errno));
		return -1;
	}
	printf("moved the old data directory aside to %s (remove it once the "
	    "pair is healthy)\n", to);
	return 0;
}

/* Drop the slots this node held while it was the active. */
static void
drop_old_slots(const struct pair *p)
{
	struct pga *c;
	char err[512];
	int n;

	if ((c = pair_connect_super(p, NULL, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		printf("note: could not drop old replication slots: %s\n", err);
		return;
	}
	if (pga_slots_drop_inactive(c, &n, err, sizeof(err)) != 0)
		printf("note: could not drop old replication slots: %s\n", err);
	else if (n > 0)
		printf("dropped %d replication slot(s) left from this node's "
		    "time as the active (they would hold WAL)\n", n);
	pga_close(c);
}

int
cmd_rejoin(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	struct pg_addr src;
	struct pga_standby st;
	char dir[PATH_MAX], err[2048], *cert = NULL, *key = NULL, *ca = NULL;
	int r, rc = EXIT_FAIL, stopped, fresh;
	long long t0 = pgx_now_ms();

	r = pair_getopt(argc, argv, "rejoin", PO_DATADIR | PO_FROM | PO_TLS |
	    PO_USER | PO_TIMEOUT | PO_FRESH, PO_DATADIR, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_abs_dir(o.datadir, dir, sizeof(dir)) != 0)
		return EXIT_FAIL;
	if (pair_open(&p, o.config) != 0 || pair_pg(&p, o.user) != 0 ||
	    pair_source(&p, &o, &src) != 0)
		goto out;
	if (pair_check_primary(&p, &src) != 1) {
		log_errx("rejoin follows the new active's "
		    "primary; promote it first (keyward-admin promote on its "
		    "host).  Nothing changed.");
		goto out;
	}
	fresh = o.fresh || !pair_has_cluster(dir);
	if (!fresh && already_following(&p, &src, dir)) {
		printf("this node's database already streams from %s:%s as a "
		    "standby: nothing to do\n", src.host, src.port);
		rc = EXIT_OK;
		goto out;
	}
	/* keep the node's database TLS files across the rewind */
	if (o.pg_cert == NULL && pair_has_cluster(dir)) {
		pgconf_read_ssl(dir, &cert, &key, &ca);
		o.pg_cert = cert;
		o.pg_key = key;
		o.pg_ca = ca;
	}
	if (pair_has_cluster(dir)) {
		if (pgx_stop(&p.pgx, dir, &stopped, err, sizeof(err)) != 0) {
			log_errx("%s", err);
			goto out;
		}
		printf(stopped ? "stopped this node's database\n" :
		    "this node's database was not running\n");
	}
	if (!fresh) {
		{
			struct pga *c;
			int created;

			if ((c = pair_connect_repl(&p, &src,
			    PAIR_DB_TIMEOUT_S, err, sizeof(err))) == NULL ||
			    pga_slot_ensure(c, p.slot, &created, err,
			    sizeof(err)) != 0) {
				log_errx("replication slot "
				    "\"%s\" on %s:%s: %s", p.slot, src.host,
				    src.port, err);
				pga_close(c);
				goto out;
			}
			printf("%s replication slot \"%s\" on %s:%s\n",
			    created ? "created" : "reusing", p.slot, src.host,
			    src.port);
			/*
			 * promote checkpoints so that pg_rewind sees the new
			 * timeline; the superuser of an install from before
			 * the roles does it again here (the replication role
			 * may not, and need not).
			 */
			if (p.legacy && pga_checkpoint(c, err, sizeof(err)) != 0)
				printf("note: checkpoint on %s:%s failed: %s\n",
				    src.host, src.port, err);
			pga_close(c);
		}
		if (rewind_onto(&p, &o, &src, dir) != 0) {
			printf("falling back to a fresh base backup\n");
			fresh = 1;
		}
	} else if (o.fresh) {
		printf("--fresh: a new base backup instead of pg_rewind\n");
	} else {
		printf("no data directory at %s: taking a fresh base backup\n",
		    dir);
	}
	if (fresh) {
		if (pair_has_cluster(dir) && move_aside(dir) != 0)
			goto out;
		if (standby_basebackup(&p, &o, &src, dir) != 0)
			goto out;
	}
	if (standby_finish(&p, &o, &src, dir, "rejoin") != 0)
		goto out;
	drop_old_slots(&p);
	r = pair_wait_standby(&p, &src, 1, SYNC_WAIT_MS, &st, err, sizeof(err));
	if (r == 1)
		printf("the synchronous standby of %s:%s again (%.1f s in all): "
		    "writes are accepted once keyward-server sees it\n",
		    src.host, src.port, (double)(pgx_now_ms() - t0) / 1000);
	else
		printf("note: streaming, but not (yet) the synchronous standby "
		    "(%s); on the new active run keyward-admin db enable-sync\n",
		    r < 0 ? err : st.sync_state[0] ? st.sync_state : "no sync");
	printf("\nnode %s is the passive now.  `keyward-admin status` shows "
	    "the pair.\n", p.cfg->node_name);
	rc = EXIT_OK;
out:
	free(cert);
	free(key);
	free(ca);
	pair_close(&p);
	return rc;
}

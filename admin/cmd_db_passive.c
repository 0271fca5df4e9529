/*
 * cmd_db_passive.c: `keyward-admin db init-passive`: make the passive's
 * database a hot standby of the active's.
 *
 * A base backup from the active through a replication slot named after
 * this node, this node's own PostgreSQL files (the backup copied the
 * active's), the standby settings, start, and a check that it streams and
 * that this node's master key is the pair's.  Idempotent: a data
 * directory that already holds a standby is started when needed and left
 * as it is.  Synchronous replication is the next step (db enable-sync, on
 * the active).
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "pair.h"
#include "../db/pgadmin.h"
#include "../lib/log.h"

/* Where the base backup comes from: --from, else [db] peer. */
int
pair_source(const struct pair *p, const struct pair_opts *o,
    struct pg_addr *src)
{
	char err[512];

	if (o->from != NULL) {
		if (pg_addr_hostport(o->from, &p->local, src, err,
		    sizeof(err)) != 0) {
			log_errx("--from: %s", err);
			return -1;
		}
	} else if (p->peer.host[0] != '\0') {
		*src = p->peer;
		snprintf(src->user, sizeof(src->user), "%s", p->local.user);
	} else {
		log_errx("no --from HOST:PORT and no [db] "
		    "peer in the config: which database is the active's?");
		return -1;
	}
	if (pg_addr_same(src, &p->local)) {
		log_errx("--from %s:%s is this node's own "
		    "database ([db] local)", src->host, src->port);
		return -1;
	}
	return 0;
}

/* Does the database at a answer as a primary?  1, 0 (printed), -1. */
int
pair_check_primary(const struct pair *p, const struct pg_addr *a)
{
	struct pga *c;
	char err[512];
	int rec;

	if ((c = pair_connect(p, a, NULL, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		log_errx("the active's database does not "
		    "answer: %s", err);
		return -1;
	}
	if (pga_in_recovery(c, &rec, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		pga_close(c);
		return -1;
	}
	pga_close(c);
	if (rec) {
		log_errx("the database at %s:%s is a "
		    "standby, not the active's primary", a->host, a->port);
		return 0;
	}
	return 1;
}

int
cmd_db_init_passive(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	struct pg_addr src;
	char dir[PATH_MAX], err[2048], logfile[PATH_MAX + 8],
	    sockdir[PATH_MAX + 8];
	int r, rc = EXIT_FAIL, started;

	r = pair_getopt(argc, argv, "db init-passive", PO_DATADIR | PO_FROM |
	    PO_TLS | PO_USER | PO_TIMEOUT, PO_DATADIR, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_abs_dir(o.datadir, dir, sizeof(dir)) != 0)
		return EXIT_FAIL;
	if (pair_open(&p, o.config) != 0 || pair_pg(&p, o.user) != 0 ||
	    pair_source(&p, &o, &src) != 0)
		goto out;
	if (pair_has_cluster(dir)) {
		if (!pair_exists(dir, "standby.signal")) {
			log_errx("\"%s\" holds a database that is not a "
			    "standby (no standby.signal): it was an active; "
			    "nothing changed.  Turn it into the passive with: "
			    "keyward-admin rejoin -c %s --datadir %s --from %s:%s",
			    dir, o.config, dir,
			    src.host, src.port);
			goto out;
		}
		printf("\"%s\" already holds a standby: left as it is\n", dir);
		pair_logfile(dir, logfile, sizeof(logfile));
	pair_sockdir(dir, sockdir, sizeof(sockdir));
		if (pgx_start(&p.pgx, dir, logfile, sockdir, &started, err,
		    sizeof(err)) != 0) {
			log_errx("%s", err);
			goto out;
		}
		printf(started ? "started PostgreSQL; log: %s\n" :
		    "PostgreSQL is running; log: %s\n", logfile);
		if (admin_kek_verify(p.cfg, (const char *)p.pw->data) != 0)
			goto out;
		rc = EXIT_OK;
		goto out;
	}
	if (pair_check_primary(&p, &src) != 1)
		goto out;
	if (standby_basebackup(&p, &o, &src, dir) != 0)
		goto out;
	if (standby_finish(&p, &o, &src, dir, "db init-passive") != 0)
		goto out;
	printf("\nnode %s: this database (%s:%s) is the passive's hot standby "
	    "of %s:%s.\nnext, on the active's host:\n"
	    "  keyward-admin db enable-sync -c CONFIG\n", p.cfg->node_name,
	    p.local.host, p.local.port, src.host, src.port);
	rc = EXIT_OK;
out:
	pair_close(&p);
	return rc;
}

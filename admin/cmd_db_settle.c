/*
 * cmd_db_settle.c: `keyward-admin db settle`: settle every key row that
 * writes left unsettled (db/DURABILITY.md) on this node's database, which
 * must be a primary.  For a database that is the only copy there is: a
 * restored one (keyward-restore runs it), or one whose standby is gone for
 * good.  On a live pair the servers settle by themselves, asking the
 * standby first; this command asks nobody, so it refuses while the peer's
 * database answers, unless --force.
 */
#include <stdio.h>

#include "admin.h"
#include "pair.h"
#include "../db/pgadmin.h"
#include "../lib/log.h"

int
cmd_db_settle(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	struct pga *c = NULL;
	char err[512] = "";
	long long n = 0;
	int r, rc = EXIT_FAIL;

	r = pair_getopt(argc, argv, "db settle", PO_FORCE, 0, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_open(&p, o.config) != 0)
		goto out;
	if (pair_role(&p, &p.local, PAIR_DB_TIMEOUT_S, err, sizeof(err)) !=
	    PAIR_PRIMARY) {
		log_errx("this node's database is not an "
		    "answering primary%s%s.  Nothing changed.",
		    err[0] != '\0' ? ": " : "", err);
		goto out;
	}
	if (!o.force && p.peer.host[0] != '\0' &&
	    pair_role(&p, &p.peer, PAIR_DB_TIMEOUT_S, err, sizeof(err)) !=
	    PAIR_DOWN) {
		log_errx("the peer's database %s:%s "
		    "answers: the servers settle what its standby holds by "
		    "themselves.  Use --force only when this database is the "
		    "only copy.  Nothing changed.", p.peer.host, p.peer.port);
		goto out;
	}
	if ((c = pair_connect_super(&p, NULL, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	if (pga_settle_all(c, &n, err, sizeof(err)) != 0) {
		log_errx("could not settle: %s", err);
		goto out;
	}
	printf("settled %lld key rows\n", n);
	rc = EXIT_OK;
out:
	pga_close(c);
	pair_close(&p);
	return rc;
}

/*
 * cmd_promote.c: `keyward-admin promote`: make this node's database the
 * primary.
 *
 * Refused while the peer's database still answers as primary (two
 * primaries would diverge) unless --force.  Promotes with pg_promote,
 * then sets synchronous_standby_names = '*' on the new primary (ALTER
 * SYSTEM writes postgresql.auto.conf, which does not replicate), so that
 * the old active becomes the synchronous standby as soon as it rejoins;
 * until then the lone primary accepts no writes from keyward-server.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "pair.h"
#include "../db/pgadmin.h"
#include "../lib/log.h"

/* How long pg_promote may take. */
#define PROMOTE_WAIT_S	60
/* How long the peer gets to answer before it counts as down. */
#define PEER_TIMEOUT_S	3

int
cmd_promote(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	struct pga *c = NULL;
	enum pair_role lr, pr = PAIR_DOWN;
	char err[512], perr[512];
	long long t0, settled = 0;
	int r, rc = EXIT_FAIL;

	r = pair_getopt(argc, argv, "promote", PO_FORCE, 0, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_open(&p, o.config) != 0)
		goto out;
	lr = pair_role(&p, &p.local, PAIR_DB_TIMEOUT_S, err, sizeof(err));
	if (lr == PAIR_DOWN) {
		log_errx("this node's database does not "
		    "answer (%s): start it first (keyward-admin db start "
		    "--datadir DIR).  Nothing changed.", err);
		goto out;
	}
	if (p.peer.host[0] != '\0')
		pr = pair_role(&p, &p.peer, PEER_TIMEOUT_S, perr, sizeof(perr));
	if (lr == PAIR_PRIMARY) {
		printf("this node's database %s:%s is already the primary\n",
		    p.local.host, p.local.port);
		if (pr == PAIR_PRIMARY)
			log_warnx("the peer's "
			    "database %s:%s answers as primary too: rejoin it "
			    "as the passive (on its host: keyward-admin rejoin "
			    "--datadir DIR --from %s:%s)", p.peer.host,
			    p.peer.port, p.local.host, p.local.port);
		if (pair_enable_sync(&p, &p.local, 0, 0) != 0)
			goto out;
		rc = EXIT_OK;
		goto out;
	}
	if (pr == PAIR_PRIMARY && !o.force) {
		log_errx("the peer's database %s:%s still "
		    "answers as primary: promoting this one now would make two "
		    "primaries that diverge.  Stop the old active's database "
		    "first (on its host: keyward-admin db stop --datadir DIR), "
		    "or, only if you are sure no keyward-server writes to it "
		    "any more, use --force.  Nothing changed.", p.peer.host,
		    p.peer.port);
		goto out;
	}
	if (pr == PAIR_PRIMARY)
		printf("warning: --force: the peer's database %s:%s still answers "
		    "as primary; it must not take writes any more and has to "
		    "rejoin as the passive\n", p.peer.host, p.peer.port);
	else if (pr == PAIR_STANDBY)
		printf("note: the peer's database %s:%s is a standby too\n",
		    p.peer.host, p.peer.port);
	else if (p.peer.host[0] != '\0')
		printf("the peer's database does not answer (%s)\n", perr);
	if ((c = pair_connect_super(&p, NULL, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out;
	}
	t0 = pgx_now_ms();
	if (pga_promote(c, PROMOTE_WAIT_S, err, sizeof(err)) != 0) {
		log_errx("promotion failed: %s", err);
		goto out;
	}
	printf("promoted this node's database %s:%s to primary (%.2f s)\n",
	    p.local.host, p.local.port, (double)(pgx_now_ms() - t0) / 1000);
	/* record the new timeline in the control file now, for pg_rewind */
	if (pga_checkpoint(c, err, sizeof(err)) != 0)
		printf("note: checkpoint after promotion failed (%s); rejoin "
		    "runs one again\n", err);
	/* what was on the standby is on both: nothing there is unsettled */
	if (pga_settle_all(c, &settled, err, sizeof(err)) != 0)
		printf("note: could not settle unconfirmed key rows (%s); "
		    "readers use only settled rows until a standby holds "
		    "them\n", err);
	else if (settled > 0)
		printf("settled %lld key rows written before the promotion\n",
		    settled);
	pga_close(c);
	c = NULL;
	if (pair_enable_sync(&p, &p.local, 0, 0) != 0)
		goto out;
	printf("\nnode %s is the active now.  keyward-server refuses writes "
	    "until a synchronous standby streams from it; reads work.\n"
	    "next, on the old active's host (its database stopped or not):\n"
	    "  keyward-admin rejoin -c CONFIG --datadir DIR --from %s:%s\n"
	    "It becomes the passive and the synchronous standby; `keyward-admin "
	    "status` shows when writes are accepted again.\n",
	    p.cfg->node_name, p.local.host, p.local.port);
	rc = EXIT_OK;
out:
	pga_close(c);
	pair_close(&p);
	return rc;
}

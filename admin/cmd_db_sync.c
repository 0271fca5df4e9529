/*
 * cmd_db_sync.c: `keyward-admin db enable-sync`: make the standby the
 * primary's synchronous standby.
 *
 * Finds the primary (whichever of [db] local and [db] peer is not in
 * recovery), refuses unless a standby streams from it, sets
 * synchronous_standby_names = '*' with ALTER SYSTEM (with two nodes any
 * standby is the one; the setting survives promotion and rejoin without
 * renaming), reloads, and waits a bounded time for sync_state = sync.
 * Idempotent: when the setting is there already it only waits for the
 * standby to be in sync.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "pair.h"
#include "../db/pgadmin.h"
#include "../lib/log.h"

/* How long to wait for the standby to report sync. */
#define SYNC_WAIT_MS	10000
/* How long a standby that is connecting may take to stream. */
#define STANDBY_WAIT_MS	5000

/*
 * The superuser of a: this node's ([db] admin); the peer's is reachable
 * only on its own host, except on an install from before the roles.
 */
static struct pga *
super_of(const struct pair *p, const struct pg_addr *a, char *err,
    size_t errlen)
{
	if (pg_addr_same(a, &p->local))
		return pair_connect_super(p, NULL, PAIR_DB_TIMEOUT_S, err,
		    errlen);
	if (p->legacy)
		return pair_connect(p, a, NULL, PAIR_DB_TIMEOUT_S, err, errlen);
	snprintf(err, errlen, "the primary is the peer's database %s:%s, "
	    "whose superuser answers only on its own host: run keyward-admin "
	    "db enable-sync there", a->host, a->port);
	return NULL;
}

/*
 * On the primary a: set synchronous_standby_names = '*' unless set and
 * wait for the sync standby.  Shared with promote and rejoin through
 * pair.h.  0, or -1 (printed).
 */
int
pair_enable_sync(const struct pair *p, const struct pg_addr *a, int wait_ms,
    int require_standby)
{
	struct pga_standby st;
	struct pga *c;
	char err[512], names[256];
	long long t0 = pgx_now_ms();
	int r, already;

	if ((c = pair_connect(p, a, NULL, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		return -1;
	}
	if (pga_sync_names(c, names, sizeof(names), err, sizeof(err)) != 0) {
		log_errx("%s", err);
		pga_close(c);
		return -1;
	}
	pga_close(c);
	already = strcmp(names, "*") == 0;
	if (!already && require_standby) {
		/* a standby that is (re)connecting gets a moment */
		r = pair_wait_standby(p, a, 0, STANDBY_WAIT_MS, &st, err,
		    sizeof(err));
		if (r < 0) {
			log_errx("%s", err);
			return -1;
		}
		if (r == 0) {
			log_errx("no standby is streaming "
			    "from the primary %s:%s%s%s (waited %d s): enabling "
			    "synchronous replication now would block every "
			    "commit.  Set up the passive first (keyward-admin db "
			    "init-passive, or rejoin).  Nothing changed.",
			    a->host, a->port, st.state[0] ? "; its standby is " :
			    "", st.state, STANDBY_WAIT_MS / 1000);
			return -1;
		}
	}
	if (already) {
		printf("synchronous_standby_names is already '*' on %s:%s\n",
		    a->host, a->port);
	} else {
		if ((c = super_of(p, a, err, sizeof(err))) == NULL ||
		    pga_set_sync_names(c, "*", err, sizeof(err)) != 0) {
			log_errx("%s", err);
			pga_close(c);
			return -1;
		}
		pga_close(c);
		printf("set synchronous_standby_names = '*' on %s:%s (ALTER "
		    "SYSTEM, reloaded)%s%s%s\n", a->host, a->port,
		    *names ? "; it was '" : "", names, *names ? "'" : "");
	}
	if (wait_ms <= 0)
		return 0;
	r = pair_wait_standby(p, a, 1, wait_ms, &st, err, sizeof(err));
	if (r < 0) {
		log_errx("%s", err);
		return -1;
	}
	if (r == 0) {
		log_errx("no standby is the synchronous "
		    "standby of %s:%s after %d s (%s%s%s); commits wait until "
		    "one streams: see keyward-admin status", a->host, a->port,
		    wait_ms / 1000, st.app_name[0] ? st.app_name : "no standby "
		    "streams", st.app_name[0] ? ": " : "", st.app_name[0] ?
		    st.sync_state : "");
		return -1;
	}
	printf("standby \"%s\" (%s) is the synchronous standby of %s:%s "
	    "(%.1f s): commits wait until it has applied them\n", st.app_name,
	    st.client_addr, a->host, a->port,
	    (double)(pgx_now_ms() - t0) / 1000);
	/* a slot of a node that is gone keeps WAL (up to 4 GB) */
	if ((c = pair_connect(p, a, NULL, PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) != NULL) {
		if (pga_slots_inactive(c, names, sizeof(names), err,
		    sizeof(err)) == 0 && *names != '\0')
			printf("note: unused replication slot(s) on %s:%s: %s.  "
			    "They keep WAL for a node that is not streaming; once "
			    "that node is gone for good, drop them (SELECT "
			    "pg_drop_replication_slot('NAME'))\n", a->host,
			    a->port, names);
		pga_close(c);
	}
	return 0;
}

int
cmd_db_enable_sync(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	const struct pg_addr *prim;
	enum pair_role lr, pr;
	char lerr[512], perr[512];
	int r, rc = EXIT_FAIL;

	r = pair_getopt(argc, argv, "db enable-sync", 0, 0, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_open(&p, o.config) != 0)
		goto out;
	if (p.peer.host[0] == '\0') {
		log_errx("%s has no [db] peer: a single "
		    "node has no standby to wait for", o.config);
		goto out;
	}
	lr = pair_role(&p, &p.local, PAIR_DB_TIMEOUT_S, lerr, sizeof(lerr));
	pr = pair_role(&p, &p.peer, PAIR_DB_TIMEOUT_S, perr, sizeof(perr));
	if (lr == PAIR_PRIMARY && pr == PAIR_PRIMARY) {
		log_errx("both databases (%s:%s and %s:%s) "
		    "answer as primary: rejoin one of them as the passive "
		    "(keyward-admin rejoin) first.  Nothing changed.",
		    p.local.host, p.local.port, p.peer.host, p.peer.port);
		goto out;
	}
	if (lr != PAIR_PRIMARY && pr != PAIR_PRIMARY) {
		log_errx("no database answers as primary "
		    "(this node's %s:%s: %s; the peer's %s:%s: %s).  Nothing "
		    "changed.", p.local.host, p.local.port,
		    lr == PAIR_DOWN ? lerr : "standby", p.peer.host, p.peer.port,
		    pr == PAIR_DOWN ? perr : "standby");
		goto out;
	}
	prim = lr == PAIR_PRIMARY ? &p.local : &p.peer;
	printf("the primary is %s's database %s:%s\n", lr == PAIR_PRIMARY ?
	    "this node" : "the peer", prim->host, prim->port);
	if (pair_enable_sync(&p, prim, SYNC_WAIT_MS, 1) != 0)
		goto out;
	rc = EXIT_OK;
out:
	pair_close(&p);
	return rc;
}

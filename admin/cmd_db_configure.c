/*
 * cmd_db_configure.c: `keyward-admin db configure`: write this node's own
 * PostgreSQL files again from the keyward config (keyward-node.conf:
 * listen address, port, socket directory, TLS files; pg_hba.conf: this
 * node's and the peer's addresses; pg_ident.conf; a standby's
 * primary_conninfo) and reload the running database.  For a changed [db]
 * local or [db] peer, say a passive rebuilt
 * on a new host: the surviving database must let the new address in
 * before init-passive or rejoin can copy from it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "pair.h"
#include "pgconf.h"
#include "../lib/log.h"

int
cmd_db_configure(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	struct pgconf_node n;
	char dir[PATH_MAX], err[2048], out[2048], *cert = NULL, *key = NULL,
	    *ca = NULL;
	int r, rc = EXIT_FAIL, running;

	r = pair_getopt(argc, argv, "db configure", PO_DATADIR | PO_TLS |
	    PO_USER, PO_DATADIR, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_abs_dir(o.datadir, dir, sizeof(dir)) != 0)
		return EXIT_FAIL;
	if (pair_open(&p, o.config) != 0 || pair_pg(&p, o.user) != 0)
		goto out;
	if (!pair_has_cluster(dir)) {
		log_errx("\"%s\" holds no PostgreSQL data "
		    "directory (no PG_VERSION)", dir);
		goto out;
	}
	/* keep the TLS files unless new ones are given */
	if (o.pg_cert == NULL) {
		pgconf_read_ssl(dir, &cert, &key, &ca);
		o.pg_cert = cert;
		o.pg_key = key;
		o.pg_ca = ca;
	}
	memset(&n, 0, sizeof(n));
	n.command = "db configure";
	n.datadir = dir;
	n.pair = &p;
	n.ssl_cert = o.pg_cert;
	n.ssl_key = o.pg_key;
	n.ssl_ca = o.pg_ca;
	if (pgconf_write_node(&n, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		goto out;
	}
	printf("wrote keyward-node.conf (listen %s, port %s%s), pg_hba.conf "
	    "(%s and %s), pg_ident.conf in %s\n", p.local.host, p.local.port,
	    o.pg_cert != NULL ? ", TLS on" : "", p.local.host,
	    p.peer.host[0] ? p.peer.host : "no peer", dir);
	/* a standby streams as the replication role (after an upgrade too) */
	if (pair_exists(dir, "standby.signal") && p.peer.host[0] != '\0') {
		if (pgconf_write_standby(&n, &p.peer, err, sizeof(err)) != 0) {
			log_errx("%s", err);
			goto out;
		}
		printf("wrote primary_conninfo (%s:%s as %s, slot %s)\n",
		    p.peer.host, p.peer.port, p.repl_user, p.slot);
	}
	running = pgx_running(&p.pgx, dir);
	if (running == 1) {
		const char *argv_reload[] = { "pg_ctl", "-D", dir, "-s",
		    "reload", NULL };

		if (pgx_run(&p.pgx, PGX_T_SHORT, NULL, out, sizeof(out),
		    argv_reload) != 0) {
			log_errx("pg_ctl reload failed: %s",
			    out);
			goto out;
		}
		printf("reloaded PostgreSQL: pg_hba.conf applies now; a new "
		    "listen address, port or TLS file takes a restart "
		    "(keyward-admin db stop, then db start)\n");
	} else {
		printf("PostgreSQL is not running: the files apply at its next "
		    "start\n");
	}
	rc = EXIT_OK;
out:
	free(cert);
	free(key);
	free(ca);
	pair_close(&p);
	return rc;
}

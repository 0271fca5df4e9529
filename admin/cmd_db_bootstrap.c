/*
 * cmd_db_bootstrap.c: `keyward-admin db bootstrap`: make the active's
 * database.
 *
 * initdb (as the service user, SCRAM authentication, data checksums), the
 * PostgreSQL files from the db/ templates, start, the keyward database,
 * the schema and the master key's check value.  Idempotent: an existing data
 * directory is started when needed and otherwise left as it is; the
 * schema step then only verifies.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "pair.h"
#include "pgconf.h"
#include "../db/pgadmin.h"
#include "../lib/log.h"

/* initdb syncs the new cluster to disk: allow a slow disk. */
#define INITDB_TIMEOUT_S	300

static int
run_initdb(struct pair *p, const char *datadir)
{
	struct pgx_secret sec;
	char err[512], out[4096], pwopt[PATH_MAX + 16], user[80];
	long long t0;
	int rc;

	if (pgx_secret_new(&p->pgx, p->super.user, (const char *)p->pw->data,
	    &sec, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	snprintf(pwopt, sizeof(pwopt), "--pwfile=%s", sec.pwfile);
	snprintf(user, sizeof(user), "--username=%s", p->super.user);
	{
		const char *argv[] = { "initdb", "-D", datadir, user,
		    "--auth=scram-sha-256", pwopt, "--encoding=UTF8",
		    "--locale=C", "--data-checksums", NULL };

		t0 = pgx_now_ms();
		rc = pgx_run(&p->pgx, INITDB_TIMEOUT_S, NULL, out, sizeof(out),
		    argv);
	}
	pgx_secret_free(&sec);
	if (rc != 0) {
		pgx_report("initdb", NULL, rc, INITDB_TIMEOUT_S, out);
		return -1;
	}
	printf("initdb %s as user %s: superuser \"%s\", scram-sha-256, data "
	    "checksums (%.1f s)\n", datadir, p->pgx.user, p->super.user,
	    (double)(pgx_now_ms() - t0) / 1000);
	return 0;
}

/* A new data directory: initdb and the PostgreSQL files.  0 or -1. */
static int
create_cluster(struct pair *p, const struct pair_opts *o, const char *datadir)
{
	struct pgconf_node n;
	char err[1024];

	if (run_initdb(p, datadir) != 0)
		return -1;
	memset(&n, 0, sizeof(n));
	n.command = "db bootstrap";
	n.datadir = datadir;
	n.pair = p;
	n.ssl_cert = o->pg_cert;
	n.ssl_key = o->pg_key;
	n.ssl_ca = o->pg_ca;
	if (pgconf_write_shared(&p->pgx, datadir, err, sizeof(err)) != 0 ||
	    pgconf_write_node(&n, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	printf("wrote postgresql.conf (replication, synchronous_commit = "
	    "remote_apply, no synchronous standby yet), keyward-node.conf "
	    "(listen %s, port %s, socket in %s.sock%s), pg_hba.conf "
	    "(%s:%s and %s:%s, scram-sha-256), pg_ident.conf\n", p->local.host,
	    p->local.port, datadir, o->pg_cert != NULL ? ", TLS on" : "",
	    p->local.host,
	    p->local.port, p->peer.host[0] ? p->peer.host : "(no peer)",
	    p->peer.host[0] ? p->peer.port : "-");
	return 0;
}

/* Is host a loopback name or address? */
static int
loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "localhost") == 0;
}

/* The database on a fresh or existing primary: keyward db, schema. */
static int
prepare_database(struct pair *p, const char *pass_file)
{
	struct pga *c;
	char err[512];
	int rec, created;

	if ((c = pair_connect_super(p, "postgres", PAIR_DB_TIMEOUT_S, err,
	    sizeof(err))) == NULL) {
		log_errx("could not connect to this node's "
		    "database: %s", err);
		return -1;
	}
	if (pga_in_recovery(c, &rec, err, sizeof(err)) != 0 ||
	    (!rec && pga_database_ensure(c, p->local.dbname, &created, err,
	    sizeof(err)) != 0)) {
		log_errx("%s", err);
		pga_close(c);
		return -1;
	}
	pga_close(c);
	if (rec) {
		log_errx("the database at %s:%s is a "
		    "standby: this node is the passive.  bootstrap is for the "
		    "active (see keyward-admin status)", p->local.host,
		    p->local.port);
		return -1;
	}
	printf("%s database \"%s\"\n", created ? "created" : "found",
	    p->local.dbname);
	return admin_migrate(p->cfg, (const char *)p->pw->data, pass_file);
}

int
cmd_db_bootstrap(int argc, char **argv)
{
	struct pair_opts o;
	struct pair p;
	char dir[PATH_MAX], err[2048], logfile[PATH_MAX + 8],
	    sockdir[PATH_MAX + 8];
	int r, rc = EXIT_FAIL, made = 0, started;
	long long t0;

	r = pair_getopt(argc, argv, "db bootstrap", PO_DATADIR | PO_TLS |
	    PO_USER | PO_PASS, PO_DATADIR, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	if (pair_abs_dir(o.datadir, dir, sizeof(dir)) != 0)
		return EXIT_FAIL;
	if (pair_open(&p, o.config) != 0 || pair_pg(&p, o.user) != 0)
		goto out;
	if (loopback(p.local.host) && p.peer.host[0] != '\0' &&
	    !loopback(p.peer.host))
		printf("warning: [db] local names a loopback address (%s) but the "
		    "peer's database is on another host: the peer will not reach "
		    "this database.  Put this host's address in [db] local.\n",
		    p.local.host);
	if (pair_has_cluster(dir)) {
		if (pair_exists(dir, "standby.signal")) {
			log_errx("\"%s\" holds a standby (standby.signal): "
			    "this node is the passive, and bootstrap is for the "
			    "active.  Nothing changed.", dir);
			goto out;
		}
		printf("data directory %s exists: left as it is%s\n", dir,
		    o.pg_cert != NULL ? " (--pg-cert/--pg-key ignored)" : "");
	} else {
		if (standby_prepare_dir(&p, dir) != 0)
			goto out;
		made = 1;
		if (create_cluster(&p, &o, dir) != 0)
			goto out;
	}
	pair_logfile(dir, logfile, sizeof(logfile));
	pair_sockdir(dir, sockdir, sizeof(sockdir));
	t0 = pgx_now_ms();
	if (pgx_start(&p.pgx, dir, logfile, sockdir, &started, err,
	    sizeof(err)) != 0) {
		log_errx("%s", err);
		goto out;
	}
	printf(started ? "started PostgreSQL (%.1f s); log: %s\n" :
	    "PostgreSQL is running (%.1f s); log: %s\n",
	    (double)(pgx_now_ms() - t0) / 1000, logfile);
	made = 0;	/* it runs: keep it, a re-run picks it up */
	if (prepare_database(&p, o.pass_file) != 0)
		goto out;
	printf("\nnode %s: this database (%s:%s) is the active's.\n"
	    "next, on the passive's host: copy this node's master key there "
	    "(scp %s, mode 0600), then\n"
	    "  keyward-admin db init-passive -c CONFIG --datadir DIR --from "
	    "%s:%s\n", p.cfg->node_name, p.local.host, p.local.port,
	    p.cfg->master_key_file, p.local.host, p.local.port);
	rc = EXIT_OK;
out:
	if (made && standby_remove_tree(dir) == 0)
		printf("removed the incomplete data directory \"%s\"\n", dir);
	pair_close(&p);
	return rc;
}

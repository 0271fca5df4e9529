/*
 * pgconf.h: the PostgreSQL files keyward-admin writes into a data
 * directory, rendered from the templates db/NAME.in (embedded at build
 * time by db/embed-conf.sh):
 *
 *   postgresql.conf     shared by both nodes (bootstrap writes it once)
 *   keyward-node.conf   this node's addresses, port, socket directory
 *                       (DATADIR.sock: a socket inside the data directory
 *                       breaks pg_rewind and pg_basebackup), TLS files
 *   pg_hba.conf         the superuser on the local socket only; from both
 *                       nodes' addresses the server's and the replication
 *                       role, scram-sha-256
 *   pg_ident.conf       the service user and root may use the local socket
 *   standby.signal, primary_conninfo / primary_slot_name in
 *   postgresql.auto.conf and keyward.pgpass (the replication password)
 *
 * pg_basebackup and pg_rewind copy all of these from the other node, so
 * init-passive and rejoin write the node's own files again afterwards.
 * Every file is written through a temporary file and rename, mode 0600,
 * owned by the service user.
 */
#ifndef KW_ADMIN_PGCONF_H
#define KW_ADMIN_PGCONF_H

#include <stddef.h>
#include "pair.h"

struct pgconf_template {
	const char	*name;		/* "postgresql.conf.in", ... */
	const char	*text;
};
extern const struct pgconf_template pgconf_templates[];
extern const size_t pgconf_ntemplates;

/* The node-specific choices. */
struct pgconf_node {
	const char		*command;	/* who writes: "db bootstrap" */
	const char		*datadir;
	const struct pair	*pair;
	/* TLS between the databases: all NULL for none; ca optional */
	const char		*ssl_cert;
	const char		*ssl_key;
	const char		*ssl_ca;
};

/*
 * Render template name, replacing each @KEY@ by its value from vars
 * (KEY, value, KEY, value, ..., NULL).  A malloc'd string, or NULL with a
 * message in err (unknown template or placeholder).
 */
char	*pgconf_render(const char *name, const char *const *vars, char *err,
	    size_t errlen);

/*
 * A connection string to a for user (dbname, application_name, passfile
 * added when not NULL) with the TLS mode of n: verify-full against
 * n->ssl_ca, require with n->ssl_cert alone, else prefer.  Malloc'd, or
 * NULL on allocation failure.
 */
char	*pgconf_conninfo(const struct pgconf_node *n, const struct pg_addr *a,
	    const char *user, const char *dbname, const char *app,
	    const char *passfile);

/* postgresql.conf from postgresql.conf.in.  0 or -1. */
int	pgconf_write_shared(const struct pgx *x, const char *datadir,
	    char *err, size_t errlen) WUR;
/* keyward-node.conf, pg_hba.conf, pg_ident.conf.  0 or -1. */
int	pgconf_write_node(const struct pgconf_node *n, char *err,
	    size_t errlen) WUR;
/*
 * Make datadir a standby of primary: standby.signal, keyward.pgpass and
 * primary_conninfo / primary_slot_name (the node's slot, also its
 * application_name) in postgresql.auto.conf.  0 or -1.
 */
int	pgconf_write_standby(const struct pgconf_node *n,
	    const struct pg_addr *primary, char *err, size_t errlen) WUR;
/*
 * The TLS files named in datadir's keyward-node.conf (malloc'd into
 * *cert, *key, *ca; NULL when absent), so a rewind can keep them.
 */
void	pgconf_read_ssl(const char *datadir, char **cert, char **key,
	    char **ca);

#endif

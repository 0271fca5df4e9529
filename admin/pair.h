/*
 * pair.h: what keyward-admin's pair commands (db bootstrap, db
 * init-passive, db enable-sync, db start/stop, status, promote, rejoin)
 * share: the node's config and database password, where its own and its
 * peer's databases are, connections to them, the node's slot name, and
 * the PostgreSQL files they write (pgconf.c).
 */
#ifndef KW_ADMIN_PAIR_H
#define KW_ADMIN_PAIR_H

#include <limits.h>
#include <stddef.h>
#include "pgexec.h"
#include "../lib/config.h"
#include "../lib/secbuf.h"

struct pga;

/* One database of the pair: from a libpq conninfo or HOST:PORT. */
struct pg_addr {
	char	host[256];
	char	port[16];
	char	user[64];
	char	dbname[64];
};

/*
 * Who keyward-admin connects as.  [db] local and peer name the server's
 * role (keyward_server); the superuser is [db] admin, over this node's
 * Unix socket, and the replication role is keyward_repl.  An install from
 * before the roles has no [db] admin: then local names the superuser,
 * which is also the replication user (legacy).
 */
struct pair {
	struct kw_config *cfg;
	struct secbuf	*pw;		/* database password, or NULL */
	struct pg_addr	 local;		/* [db] local */
	struct pg_addr	 peer;		/* [db] peer; host "" when none */
	struct pg_addr	 super;		/* [db] admin (host may be a socket
					   directory), else [db] local */
	int		 legacy;	/* no [db] admin */
	char		 repl_user[64];	/* keyward_repl, or local's user */
	char		 slot[64];	/* node name as a slot name */
	struct pgx	 pgx;		/* valid after pair_pg */
};

/* The options of the pair commands; pair_getopt fills those allowed. */
struct pair_opts {
	const char	*config;	/* -c, default ADMIN_DEFAULT_CONFIG */
	const char	*user;		/* --user, default "keyward" */
	const char	*datadir;	/* --datadir */
	const char	*from;		/* --from HOST:PORT */
	const char	*pg_cert;	/* --pg-cert, absolute */
	const char	*pg_key;	/* --pg-key, absolute */
	const char	*pg_ca;		/* --pg-ca, absolute */
	int		 force;		/* --force */
	int		 fresh;		/* --fresh */
	int		 json;		/* --json */
	int		 timeout_s;	/* --timeout, default 600 */
	const char	*pass_file;	/* --passphrase-file, or NULL */
	char		 buf[3][PATH_MAX];
};
#define PO_DATADIR	0x01
#define PO_FROM		0x02
#define PO_TLS		0x04
#define PO_FORCE	0x08
#define PO_FRESH	0x10
#define PO_JSON		0x20
#define PO_TIMEOUT	0x40
#define PO_USER		0x80
#define PO_PASS		0x100	/* --passphrase-file */

/*
 * Parse the options of command cmd: those in allowed, of which those in
 * required must be given.  0 to go on, 1 after --help (exit 0), -1 after
 * a usage error (printed; exit 2).
 */
int	pair_getopt(int argc, char **argv, const char *cmd, unsigned allowed,
	    unsigned required, struct pair_opts *o);

/* Seconds keyward-admin waits for a database connection or statement. */
#define PAIR_DB_TIMEOUT_S	5

/*
 * Load the config at path and the database password (read with the
 * secret-file checks), and parse [db] local and peer.  Prints why on
 * failure.  0 or -1; pair_close in both cases.
 */
int	pair_open(struct pair *p, const char *path) WUR;
/* Find PostgreSQL's programs and the service user (see pgx_init). */
int	pair_pg(struct pair *p, const char *user) WUR;
void	pair_close(struct pair *p);

/* host, port, user and dbname of a single-host conninfo.  0 or -1. */
int	pg_addr_conninfo(const char *conninfo, struct pg_addr *out,
	    char *err, size_t errlen) WUR;
/* "HOST:PORT" or "[V6]:PORT" with user and dbname from dflt.  0 or -1. */
int	pg_addr_hostport(const char *hp, const struct pg_addr *dflt,
	    struct pg_addr *out, char *err, size_t errlen) WUR;
/* Do a and b name the same host and port? */
int	pg_addr_same(const struct pg_addr *a, const struct pg_addr *b);

/* Connect to a as its user (to dbname, or a's own when NULL) with p's
 * password: the server's role, for what it may read (roles, replication
 * state). */
struct pga *pair_connect(const struct pair *p, const struct pg_addr *a,
	    const char *dbname, int timeout_s, char *err, size_t errlen);
/* Connect to this node's database as the superuser ([db] admin) to
 * dbname (NULL: the keyward database).  NULL with a message in err. */
struct pga *pair_connect_super(const struct pair *p, const char *dbname,
	    int timeout_s, char *err, size_t errlen);
/* Connect to a's keyward database as the replication role (replication
 * slots on the other node).  NULL with a message in err. */
struct pga *pair_connect_repl(const struct pair *p, const struct pg_addr *a,
	    int timeout_s, char *err, size_t errlen);

/* What a database answers: PAIR_DOWN (err says why), _PRIMARY, _STANDBY. */
enum pair_role { PAIR_DOWN = 0, PAIR_PRIMARY, PAIR_STANDBY };
enum pair_role pair_role(const struct pair *p, const struct pg_addr *a,
	    int timeout_s, char *err, size_t errlen);

/* A node name as a replication slot / application name: [a-z0-9_]. */
void	pair_slot_name(const char *node, char *out, size_t len);
/* The absolute form of a data directory path (need not exist). */
int	pair_abs_dir(const char *in, char *out, size_t len) WUR;
/* Does dir hold a PostgreSQL data directory (PG_VERSION)? */
int	pair_has_cluster(const char *dir);
/* Is path there (any type)? */
int	pair_exists(const char *dir, const char *name);
/* The Unix socket directory of a data directory: "<datadir>.sock". */
void	pair_sockdir(const char *datadir, char *out, size_t len);
/* The server log of a data directory: "<datadir>.log" (kept outside
 * the directory: pg_rewind would replace a log inside it). */
void	pair_logfile(const char *datadir, char *out, size_t len);

/*
 * Wait up to wait_ms for the primary at a to list a standby streaming in
 * sync (want_sync) or streaming at all.  Prints nothing.  1 when seen
 * (*st filled), 0 when not in time, -1 when a did not answer (err).
 */
struct pga_standby;
int	pair_wait_standby(const struct pair *p, const struct pg_addr *a,
	    int want_sync, int wait_ms, struct pga_standby *st, char *err,
	    size_t errlen);

/* cmd_db_passive.c: the primary to copy from: --from, else [db] peer.
 * 0 or -1 (printed). */
int	pair_source(const struct pair *p, const struct pair_opts *o,
	    struct pg_addr *src) WUR;
/* Does a answer as a primary?  1, 0 (a standby; printed), -1 (printed). */
int	pair_check_primary(const struct pair *p, const struct pg_addr *a) WUR;

/*
 * cmd_db_sync.c: on the primary a, set synchronous_standby_names = '*'
 * (unless it is) and wait up to wait_ms (0: do not wait) for a standby in
 * sync; with require_standby, refuse while none streams.  0 or -1
 * (printed).
 */
int	pair_enable_sync(const struct pair *p, const struct pg_addr *a,
	    int wait_ms, int require_standby) WUR;

/*
 * standby.c: making a data directory the standby of a primary, shared by
 * init-passive and rejoin.
 *
 * standby_basebackup: pg_basebackup from src into datadir (which must be
 * missing or empty) through the node's replication slot, created on src
 * when missing; removes what it wrote when it fails.  0 or -1 (printed).
 */
int	standby_basebackup(struct pair *p, const struct pair_opts *o,
	    const struct pg_addr *src, const char *datadir) WUR;
/*
 * standby_finish: write the node's own files and the standby settings
 * (streaming from src through the node's slot), start the database and
 * wait (bounded) until it streams, then check the master key against the
 * replicated check value.  cmd names the command in the files' headers.
 * 0 or -1 (printed).
 */
int	standby_finish(struct pair *p, const struct pair_opts *o,
	    const struct pg_addr *src, const char *datadir, const char *cmd)
	    WUR;
/*
 * Make dir (and missing parents, owned by the service user) with mode
 * 0700, owned by the service user; refused unless it is missing or
 * empty.  0 or -1 (printed).
 */
int	standby_prepare_dir(const struct pair *p, const char *dir) WUR;
/* Remove dir and everything under it (it must be ours to remove). */
int	standby_remove_tree(const char *dir) WUR;

#endif

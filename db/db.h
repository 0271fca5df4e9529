/*
 * db.h: the libpq data-access layer; the only place that holds SQL.
 *
 * A struct db owns a pool of connections to the node's local database and
 * (optionally) a pool to the peer's.  Each call borrows a connection,
 * runs prepared statements with the key name always a parameter, and
 * returns it.  Reads go to the local database and fail over to the peer
 * when the local one does not answer; writes go to whichever answers as
 * primary.  Thread-safe.  Key material only crosses this layer wrapped.
 */
#ifndef KW_DB_H
#define KW_DB_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/kwerr.h"

struct db;

struct db_key_meta {
	char	*name;
	char	*cipher;
	int	 length;		/* bits */
	char	*description;		/* NULL when none */
	char	*attributes;		/* JSON object text, NULL when none */
	int64_t	 created_ms;
	uint32_t versions;		/* number of versions */
};

struct db_key_version {
	uint32_t	 version;
	char		 kek_id[17];
	unsigned char	*wrapped;	/* malloc'd */
	size_t		 wrapped_len;
};

/*
 * Called by db_key_create/db_key_roll once the version number (and the
 * key's length in bits) is known, before the write is sent: wrap the
 * material for (name, version) into a malloc'd buffer.  KW_OK, or the
 * error the write fails with (KW_EBADLEN: given material of the wrong
 * length).  A rollover that loses a race to another calls it again for
 * the next version, so it must not assume one call.
 */
typedef enum kw_err (*db_wrap_fn)(void *arg, const char *name,
    uint32_t version, int length_bits, unsigned char **wrapped,
    size_t *wrapped_len, char kek_id[17]);

/*
 * New layer over the local conninfo and an optional peer conninfo (NULL
 * or ""), each pool holding pool_size connections opened lazily.
 * password may be NULL.  Never NULL except on allocation failure.
 */
struct db *db_new(const char *local, const char *peer, const char *password,
	    int pool_size, int connect_timeout_s, int commit_deadline_ms);
void	db_free(struct db *db);

/* Apply pending migrations (db/NNN_*.sql, embedded) to the primary. */
enum kw_err db_migrate(struct db *db, char *err, size_t errlen) WUR;
/* Schema version of the local database, or -1. */
int	db_schema_version(struct db *db);

/* The roles db/004_roles.sql makes: the server's and replication's. */
#define DB_ROLE_SERVER	"keyward_server"
#define DB_ROLE_REPL	"keyward_repl"
/*
 * roles.c: give both roles password (sent as SCRAM verifiers only), in
 * one transaction on the primary.  *set is 1 when done, 0 when the roles
 * do not exist or the connected user may not change them (nothing to do).
 * KW_OK, KW_EDB (logged), KW_ENOTACK or KW_EUNAVAIL.
 */
enum kw_err db_roles_password(struct db *db, const char *password, int *set)
	    WUR;

/*
 * Master-key check: if the database holds no check value, store this one
 * (when store is set); otherwise compare.  KW_OK on match (or stored),
 * KW_ECRYPTO on mismatch, KW_ENOTFOUND when absent and !store, KW_EDB.
 */
enum kw_err db_kek_check(struct db *db, const char *kek_id,
	    const unsigned char *check, size_t checklen, int store) WUR;

/*
 * keyring.c: the master keyring in the database (005_keyring.sql).
 * kek_check's row names the active KEK; kek_holders what each server
 * holds.  Every write is acknowledged or fails (KW_EUNAVAIL when the
 * pair cannot take writes, KW_ENOTACK).
 */
#define DB_KEK_CHECK_LEN	32
struct db_kek_use {
	char		kek_id[17];
	int64_t		versions;	/* key versions and KMIP objects under it */
};
struct db_kek_holder {
	char		node[64];
	char		kek_id[17];
	int64_t		seen_ms;	/* when its server last said so */
};
/* One version to rewrap, with its key's id and name. */
struct db_rewrap_row {
	int64_t			key_id;
	char			*name;
	struct db_key_version	v;
};
/* The active KEK's id and check value.  KW_ENOTFOUND when none. */
enum kw_err db_kek_active(struct db *db, char kek_id[17],
	    unsigned char check[DB_KEK_CHECK_LEN]) WUR;
/* Versions per KEK id (malloc'd array, sorted by id). */
enum kw_err db_kek_usage(struct db *db, struct db_kek_use **out,
	    size_t *n) WUR;
/* Versions wrapped under kek_id on each database; -1 for one that did
 * not answer.  KW_EDB when neither did. */
enum kw_err db_kek_refs(struct db *db, const char *kek_id, int64_t *local,
	    int64_t *peer) WUR;
/* Every (node, KEK) a server recorded (malloc'd array). */
enum kw_err db_kek_holders(struct db *db, struct db_kek_holder **out,
	    size_t *n) WUR;
/* Record that node's server holds exactly these n KEKs (a write). */
enum kw_err db_kek_hold(struct db *db, const char *node,
	    const char *const *ids, const unsigned char *const *checks,
	    size_t n) WUR;
/*
 * Make kek_id (check value check) the active KEK, only if every one of
 * nodes holds it: KW_ENOTFOUND when not (*holding says how many do).
 */
enum kw_err db_kek_activate(struct db *db, const char *kek_id,
	    const unsigned char check[DB_KEK_CHECK_LEN],
	    const char *const *nodes, size_t nnodes, size_t *holding) WUR;
/*
 * Up to max versions not wrapped under active, read from the database
 * that answers first; descending reads from the other end, so two
 * servers rewrapping at once meet in the middle.  Free with
 * db_rewrap_rows_free.
 */
enum kw_err db_rewrap_fetch(struct db *db, const char *active, int max,
	    int descending, struct db_rewrap_row **rows, size_t *n) WUR;
void	db_rewrap_rows_free(struct db_rewrap_row *rows, size_t n);
/*
 * Store the new wrapping (under kek_id) of each row, where the row
 * still has the KEK and wrapping it was read with; *moved says how many
 * did.  One acknowledged write.
 */
enum kw_err db_rewrap_store(struct db *db, const char *kek_id,
	    const struct db_rewrap_row *rows, unsigned char *const *wrapped,
	    const size_t *wlen, size_t n, int64_t *moved) WUR;

/*
 * nodeconf.c: each node's configuration fingerprints (006_node_config),
 * hex text, never a secret; compared between the nodes (server/drift.c).
 */
struct db_nodeconf {
	char	node[64];
	char	acl_sha256[65];		/* SHA-256 of acls.conf */
	char	cookie_hmac[65];	/* HMAC under the cookie secret, "" */
	char	version[32];		/* keyward-server's */
	int	schema_version;
	int64_t	seen_ms;		/* when it was written (Unix ms) */
};
/* Upsert nc->node's row (seen_ms is the database's now).  A write:
 * KW_EUNAVAIL when the pair cannot take writes now, KW_ENOTACK, KW_EDB. */
enum kw_err db_nodeconf_put(struct db *db, const struct db_nodeconf *nc)
	    WUR;
/* node's row into out: KW_OK, KW_ENOTFOUND when it has none, KW_EDB. */
enum kw_err db_nodeconf_get(struct db *db, const char *node,
	    struct db_nodeconf *out) WUR;

/*
 * Open the pools' connections now rather than on first use, so a burst
 * of requests never pays for connection set-up (under load on a small
 * machine that can exceed connect_timeout).  Returns how many opened.
 */
int	db_warm(struct db *db);
/*
 * Start-up reads are tried this many times, DB_STARTUP_PAUSE_MS apart,
 * before the server gives up: a database slow to accept connections on a
 * loaded machine (past connect_timeout once) is not a reason to refuse to
 * start.
 */
#define DB_STARTUP_TRIES	5
#define DB_STARTUP_PAUSE_MS	1000
/* Is the local database answering?  1 or 0 (cheap; for health). */
int	db_local_alive(struct db *db);

/*
 * Settle, on the primary, up to max rows that writes left unsettled and
 * the standby is found to hold (DURABILITY.md).  For the cluster monitor:
 * uses the probe connections.  The number settled, 0 when nothing was to
 * settle or the standby could not be asked, -1 on a database error.
 */
int	db_settle(struct db *db, int max);

/* Create a key with version 0.  KW_EEXIST when the name is taken. */
enum kw_err db_key_create(struct db *db, const struct db_key_meta *meta,
	    db_wrap_fn wrap, void *arg) WUR;
/*
 * Append a version; *new_version receives its number.  KW_ENOTFOUND.
 * Like every write, it answers within the commit deadline (plus a cancel)
 * whatever the databases do.
 */
enum kw_err db_key_roll(struct db *db, const char *name, db_wrap_fn wrap,
	    void *arg, uint32_t *new_version) WUR;
/* Delete a key and all its versions.  KW_ENOTFOUND. */
enum kw_err db_key_delete(struct db *db, const char *name) WUR;

/* Metadata of one key; free with db_key_meta_clear.  KW_ENOTFOUND. */
enum kw_err db_key_meta_get(struct db *db, const char *name,
	    struct db_key_meta *out) WUR;
void	db_key_meta_clear(struct db_key_meta *m);
/* Free an array of malloc'd names (db_names_next, db_kmip_locate). */
void	db_names_free(char **names, size_t n);
/* One version; free with db_key_version_clear.  KW_ENOTFOUND. */
enum kw_err db_key_version_get(struct db *db, const char *name,
	    uint32_t version, struct db_key_version *out) WUR;
/* The current (highest) version in one indexed query.  KW_ENOTFOUND. */
enum kw_err db_key_current(struct db *db, const char *name,
	    struct db_key_version *out) WUR;
/* All versions oldest first; *out malloc'd array (n may be 0 when the
 * key is missing: then KW_ENOTFOUND). */
enum kw_err db_key_versions(struct db *db, const char *name,
	    struct db_key_version **out, size_t *n) WUR;
void	db_key_version_clear(struct db_key_version *v);
void	db_key_versions_free(struct db_key_version *v, size_t n);

/*
 * keyimport.c: a batch of new keys in one acknowledged write, each with
 * versions 0..versions-1 already wrapped (key after key, version after
 * version, wrapped_len bytes each), written as a create and its
 * rollovers leave them.  KW_OK acknowledged by both databases; KW_EEXIST
 * when a name is taken (nothing written); KW_EUNAVAIL when the pair
 * cannot take writes now (nothing written); KW_ENOTACK; KW_EDB.
 */
struct db_import {
	const char *const	*names;
	size_t			 n;
	int			 length;	/* bits: 128 or 256 */
	uint32_t		 versions;
	const char		*kek_id;
	const unsigned char	*wrapped;
	size_t			 wrapped_len;
};
enum kw_err db_keys_import(struct db *db, const struct db_import *im) WUR;

/*
 * keyscan.c: the versions of every key in the local database, up to max
 * a call, in (key id, version) order after *pos, which moves past them
 * (start from a zeroed pos; *n 0: done).  Every row, settled or not.
 * Free *rows with db_scan_rows_free.
 */
struct db_scan_pos {
	int64_t		key_id;
	int32_t		version;
};
struct db_scan_row {
	int64_t			key_id;
	char			*name;
	struct db_key_version	v;
};
enum kw_err db_scan_versions(struct db *db, struct db_scan_pos *pos,
	    size_t max, struct db_scan_row **rows, size_t *n) WUR;
void	db_scan_rows_free(struct db_scan_row *rows, size_t n);

/*
 * keynames.c: every key name a durable read may show, sorted, from one
 * snapshot, a batch at a time.  db_names_open decides where and how to list as every
 * durable read does and holds one pooled connection until
 * db_names_close (which takes NULL).  db_names_next gives the next up to
 * max names (free with db_names_free), *n 0 once all were given.  A
 * cursor belongs to one thread at a time.
 */
struct db_names_cursor;
enum kw_err db_names_open(struct db *db, struct db_names_cursor **out) WUR;
enum kw_err db_names_next(struct db_names_cursor *c, size_t max,
	    char ***names, size_t *n) WUR;
void	db_names_close(struct db_names_cursor *c);

#endif

/*
 * kmipdb.h: the KMIP listener's managed objects in PostgreSQL
 * (008_kmip.sql), statements in db/kmipsql.c.
 *
 * Writes are guarded and acknowledged like key writes (both databases
 * hold them or the caller hears KW_EUNAVAIL / KW_ENOTACK) and mark the
 * row pending until the acknowledgement, after which the writer settles
 * it.  Reads fail over between the databases and never hand out a row a
 * primary holds unsettled unless the standby confirms it (DURABILITY.md):
 * KW_EUNCONFIRMED when neither can.  Material crosses this layer wrapped
 * only.  Thread-safe.
 */
#ifndef KW_DB_KMIPDB_H
#define KW_DB_KMIPDB_H

#include <stddef.h>
#include <stdint.h>
#include "db.h"

#define DB_KMIP_UID_MAX	64

/* One object; *_ms 0 means "not set" (SQL NULL). */
struct db_kmip_obj {
	char		 uid[DB_KMIP_UID_MAX + 1];
	int32_t		 object_type;	/* KMIP Object Type */
	int32_t		 state;		/* KMIP State */
	int32_t		 algorithm;	/* Cryptographic Algorithm */
	int32_t		 length;	/* bits */
	int32_t		 usage_mask;
	char		*attrs;		/* JSON object text (malloc'd) */
	char		 kek_id[17];	/* "" once destroyed */
	unsigned char	*wrapped;	/* malloc'd, NULL once destroyed */
	size_t		 wrapped_len;
	int64_t		 initial_ms, activation_ms, deactivation_ms;
	int64_t		 compromise_ms, destroy_ms, last_change_ms;
	int32_t		 revocation;	/* Revocation Reason Code, 0: none */
	int64_t		 rev;		/* write counter: updates check it */
};

/* Free what o holds (not o); NULL is a no-op. */
void	db_kmip_obj_clear(struct db_kmip_obj *o);

/*
 * Store a new object (rev becomes 1).  KW_OK acknowledged; KW_EEXIST
 * when the uid is taken; KW_EUNAVAIL, KW_ENOTACK, KW_EDB.
 */
enum kw_err db_kmip_insert(struct db *db, struct db_kmip_obj *o) WUR;
/*
 * Write o's state, dates, usage mask and attributes (and drop the
 * material when drop_material) if the row is still at o->rev; o->rev
 * then moves on.  KW_ENOTFOUND: no such row, or another write came
 * first (read again).  Otherwise as db_kmip_insert.
 */
enum kw_err db_kmip_update(struct db *db, struct db_kmip_obj *o,
	    int drop_material) WUR;
/* Read one object into out (db_kmip_obj_clear it).  KW_ENOTFOUND,
 * KW_EUNCONFIRMED, KW_EDB. */
enum kw_err db_kmip_get(struct db *db, const char *uid,
	    struct db_kmip_obj *out) WUR;
/*
 * The uids (malloc'd array of malloc'd strings, oldest first, at most
 * max) of the objects of type object_type (0: any) in state (0: any)
 * whose attributes contain the JSON object match (NULL: any), and in
 * names each one's first Name (NULL when it has none).  Free both with
 * db_names_free(_, *n).
 */
enum kw_err db_kmip_locate(struct db *db, int32_t object_type, int32_t state,
	    const char *match, int max, char ***uids, char ***names,
	    size_t *n) WUR;

/*
 * The background rewrap (server/kekring.c): objects whose material is
 * wrapped under another KEK than the active one, at most max, from any
 * database (free with db_kmip_rewrap_free); and the store of one row's
 * new wrapping, where the row is still at the revision and KEK it was
 * read with (*moved 1), in one acknowledged write.  The wrapping binds
 * DB_KMIP_WRAP_PREFIX followed by the uid, version 0.
 */
#define DB_KMIP_WRAP_PREFIX	"kmip:"
struct db_kmip_rewrap {
	char		 uid[DB_KMIP_UID_MAX + 1];
	char		 kek_id[17];
	unsigned char	*wrapped;
	size_t		 wrapped_len;
	int64_t		 rev;
};
enum kw_err db_kmip_rewrap_fetch(struct db *db, const char *active, int max,
	    struct db_kmip_rewrap **rows, size_t *n) WUR;
void	db_kmip_rewrap_free(struct db_kmip_rewrap *rows, size_t n);
enum kw_err db_kmip_rewrap_store(struct db *db,
	    const struct db_kmip_rewrap *row, const char *kek_id,
	    const unsigned char *wrapped, size_t wlen, int *moved) WUR;

/*
 * For the cluster monitor, as db_settle for keys: settle on the primary
 * up to max KMIP objects a write left pending whose revision the standby
 * holds (a lone node's are db_settle's).  How many, 0 when none or the
 * standby could not be asked, -1 on a database error.
 */
int	db_kmip_settle(struct db *db, int max);

#endif

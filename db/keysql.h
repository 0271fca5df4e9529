/*
 * keysql.h: the statements about keys and what reads and writes of keys
 * share (keysql.c): row decoding, error mapping, and the read modes of
 * durable reads.  Internal to db/: db.c (writes), keyread.c (reads),
 * settle.c (settling unconfirmed writes) and keyring.c (the master
 * keyring's statements, numbered after these) include it, nothing else.
 */
#ifndef KW_DB_KEYSQL_H
#define KW_DB_KEYSQL_H

#include <stdint.h>
#include "db.h"
#include "pool.h"

#define KEK_ID_MAX	16
#define MS_NOW		"(extract(epoch FROM now()) * 1000)::bigint"

/*
 * The write guard of every key write (and of keyring.c's writes), its $1
 * saying whether a synchronous standby is needed (a pair): the row's ok is false, and the statement
 * writes nothing, unless this database is a primary with a standby
 * streaming in sync mode right now.  Checked in the statement that
 * writes, so a write costs one round trip and never rests on a stale
 * monitor view alone.  (A standby refuses the statement before that,
 * with SQLSTATE 25006.)  DB_SYNC_STANDBY is in pool.h.
 */
#define WRITE_OK	"ok AS (SELECT NOT pg_is_in_recovery() AND (NOT $1" \
			" OR " DB_SYNC_STANDBY ") AS ok)"

/* Every statement about keys, one id each (ids share pconn.prepared). */
enum {
	ST_KEY_CREATE, ST_KEY_CUR, ST_VER_ROLL, ST_KEY_DELETE,
	ST_SETTLE_WRITE, ST_SETTLE_DELETE,
	ST_META_GET, ST_VER_GET, ST_VER_CURRENT, ST_VER_SETTLED,
	ST_VER_ALL,
	ST_UNSETTLED, ST_ON_STANDBY, ST_SETTLE_SWEEP, ST_SETTLE_ALL,
	ST_MAX
};

extern const struct db_stmt key_stmts[ST_MAX];

/*
 * How a durable read treats unsettled rows (see 003_durability.sql):
 * RD_ANY answers from whatever database it runs on, but returns
 * KW_EPENDING without an answer when that is a primary holding unsettled
 * rows the answer depends on; RD_STANDBY answers only from a standby
 * (KW_EPENDING on a primary); RD_SETTLED answers from settled rows only,
 * KW_EUNCONFIRMED where that cannot make a truthful answer.  On a
 * standby every mode ignores pending and treats a deleting key as gone.
 */
enum rd_mode { RD_ANY = 0, RD_STANDBY, RD_SETTLED };

/*
 * Run fn in mode RD_ANY (the local database, failing over to the peer);
 * when it says KW_EPENDING, once more in RD_STANDBY on the other
 * database, whose answer stands; when that one cannot give it, in
 * RD_SETTLED on the first.  *mode tells fn which.  Thread-safe.
 */
enum kw_err db_read_settled(struct db *db, db_read_fn fn, void *arg,
	    enum rd_mode *mode) WUR;

/* Run statement id of key_stmts on pc; rfmt 1 asks for binary results. */
PGresult *key_run(struct pconn *pc, int id, const char *const *vals,
	    const int *lens, const int *fmts, int rfmt);
/* Map an error result to a kw_err; log what is not the caller's fault. */
enum kw_err key_res_err(struct pconn *pc, const char *what, const char *name,
	    const PGresult *r);
/* Integer column, text or binary (int2/int4/int8).  0 or -1. */
int	key_get_int(const PGresult *r, int row, int col, int64_t *out);
/* Boolean column (text or binary): 1 true, 0 false or NULL. */
int	key_get_bool(const PGresult *r, int row, int col);
/* strdup of a column, *out NULL for SQL NULL.  0, or -1 out of memory. */
int	key_get_str(const PGresult *r, int row, int col, char **out);
/* One row of version, kek_id, wrapped (binary) from column 0 into v. */
enum kw_err key_ver_from_row(struct pconn *pc, const PGresult *r, int row,
	    struct db_key_version *v) WUR;

/*
 * Statement ids after key_stmts: keyring.c's from ST_MAX, nodeconf.c's
 * from NC_FIRST (all below DB_MAX_STMTS, bits of pconn.prepared).
 */
#define NC_FIRST	(ST_MAX + 16)

/*
 * For the monitor's settling (settle.c, kmipsettle.c): the probe pool of
 * the database that was primary at the last probe, and the other's.
 * Only the monitor thread uses the probe pools.
 */
void	settle_probes(struct db *db, struct pool **primary,
	    struct pool **standby);

/*
 * One guarded autocommit write (keyring.c, nodeconf.c): statement st
 * (id its prepared-statement id) whose $1 is WRITE_OK's need-sync flag
 * (vals[0] is set here) and whose one row is (ok, count, count).
 */
struct guarded_write {
	int			 id;
	const struct db_stmt	*st;
	const char		**vals;
	const int		*lens;
	const int		*fmts;
	int64_t			 deadline_at;
	int64_t			 rows;		/* out: column 1 */
	int64_t			 extra;		/* out: column 2 */
};
/*
 * Run w on the primary within the commit deadline: KW_OK acknowledged
 * by both databases; KW_EUNAVAIL when the pair cannot take writes now
 * (the statement wrote nothing); KW_ENOTACK; KW_EDB.
 */
enum kw_err guarded_write_run(struct db *db, struct guarded_write *w) WUR;

#endif

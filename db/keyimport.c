/*
 * keyimport.c: many new keys in one statement (keyward-admin keys import).
 *
 * Writes, for a batch of keys whose versions the caller has wrapped
 * already (under the active KEK, with the associated data the server
 * binds), exactly the rows a create and rollovers leave once settled:
 * the keys row with its current version, and every version row.  As
 * every key write (DURABILITY.md): one guarded autocommit statement per
 * batch (WRITE_OK: a primary with a synchronous standby streaming, in a
 * pair) writes them unsettled, so a batch is acknowledged by both
 * databases or not taken at all, and only an acknowledged batch is
 * settled, by a second statement that waits for no standby.  Owns no
 * wrapping and no choice of names: the caller's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

/* A prepared-statement id of its own, above every table's. */
#define KI_IMPORT	(DB_MAX_STMTS - 1)
#define KI_SETTLE	(DB_MAX_STMTS - 3)
_Static_assert(KI_SETTLE >= NC_FIRST + 16, "statement ids overlap");

static const Oid t_import[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_INT4,
	DB_OID_INT4, DB_OID_TEXT, DB_OID_BYTEA, DB_OID_INT4 };
static const Oid t_settle[] = { DB_OID_BOOL, DB_OID_TEXT, DB_OID_INT4 };

/*
 * $2 the names as a text[] literal, $3 the length in bits, $4 versions
 * per key, $5 the KEK id, $6 every wrapped version, key after key and
 * version after version, $7 bytes each.  A name already taken fails the
 * whole batch on the unique index (23505): nothing is written.
 */
static const struct db_stmt import_stmt = { "kw_keys_import",
    "WITH " WRITE_OK ","
    " u AS (SELECT n, i FROM unnest($2::text[]) WITH ORDINALITY AS u(n, i)),"
    " k AS (INSERT INTO keys (name, cipher, length, created_ms,"
    " current_version, pending) SELECT u.n, 'AES/CTR/NoPadding', $3, "
    MS_NOW ", $4 - 1, true FROM u, ok WHERE ok.ok ORDER BY u.i"
    " RETURNING id, name, created_ms),"
    " v AS (INSERT INTO key_versions (key_id, version, kek_id, wrapped,"
    " created_ms, pending) SELECT k.id, g.v, $5, substring($6 FROM"
    " (((u.i - 1) * $4 + g.v) * $7 + 1)::int FOR $7), k.created_ms, true"
    " FROM k JOIN u ON u.n = k.name"
    " CROSS JOIN generate_series(0, $4 - 1) AS g(v) RETURNING 1)"
    " SELECT ok.ok, (SELECT count(*) FROM k), (SELECT count(*) FROM v)"
    " FROM ok",
    7, t_import };

/*
 * An acknowledged batch ($2 its names) is on both databases: settle it
 * (as kw_settle_write does one create) without waiting for the standby.
 * $1 (guarded_write_run's need-sync flag) does not matter here.
 */
static const struct db_stmt settle_stmt = { "kw_keys_import_settle",
    "WITH c AS (SELECT set_config('synchronous_commit', 'off', true) AS s),"
    /*
     * One lookup per name and per key through the unique indexes: not
     * through the partial "unsettled" indexes, which every batch fills
     * with entries that stay dead until a vacuum (scanning them made a
     * million-key import quadratic).  Only the batch's own versions
     * (below $3): a rollover made since is not acknowledged yet.
     */
    " k AS (UPDATE keys SET pending = false FROM unnest($2::text[]) AS u(n)"
    " WHERE keys.name = u.n RETURNING keys.id),"
    " v AS (UPDATE key_versions SET pending = false FROM k"
    " WHERE key_versions.key_id = k.id AND key_versions.version < $3"
    " RETURNING 1)"
    " SELECT $1 OR (SELECT s FROM c) IS NOT NULL,"
    " (SELECT count(*) FROM k), (SELECT count(*) FROM v)",
    3, t_settle };

/* names as a text[] literal: each quoted, " and \ escaped. */
static char *
names_literal(const char *const *names, size_t n)
{
	size_t i, len = 3;
	const char *p;
	char *s, *o;

	for (i = 0; i < n; i++)
		len += 2 * strlen(names[i]) + 3;
	if ((s = malloc(len)) == NULL)
		return NULL;
	o = s;
	*o++ = '{';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*o++ = ',';
		*o++ = '"';
		for (p = names[i]; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o++ = '"';
	}
	*o++ = '}';
	*o = '\0';
	return s;
}

enum kw_err
db_keys_import(struct db *db, const struct db_import *im)
{
	struct guarded_write w = { .id = KI_IMPORT, .st = &import_stmt };
	char len_s[16], ver_s[16], wl_s[16];
	const char *vals[7], *svals[3];
	int lens[7] = { 0 }, fmts[7] = { 0 };
	size_t total;
	enum kw_err rc;

	if (im->n == 0 || im->versions < 1 || im->versions > 1000 ||
	    im->wrapped_len == 0 || im->wrapped_len > 1024 ||
	    im->n > 1000000)
		return KW_EINVAL;
	total = im->n * im->versions * im->wrapped_len;
	if (total > 0x7fffffff)
		return KW_EINVAL;
	snprintf(len_s, sizeof(len_s), "%d", im->length);
	snprintf(ver_s, sizeof(ver_s), "%u", im->versions);
	snprintf(wl_s, sizeof(wl_s), "%zu", im->wrapped_len);
	if ((vals[1] = names_literal(im->names, im->n)) == NULL)
		return KW_ENOMEM;
	vals[2] = len_s;
	vals[3] = ver_s;
	vals[4] = im->kek_id;
	vals[5] = (const char *)im->wrapped;
	lens[5] = (int)total;
	fmts[5] = 1;
	vals[6] = wl_s;
	w.vals = vals;
	w.lens = lens;
	w.fmts = fmts;
	rc = guarded_write_run(db, &w);
	if (rc == KW_OK && (w.rows != (int64_t)im->n ||
	    w.extra != (int64_t)(im->n * im->versions)))
		rc = KW_EDB;	/* cannot be: one statement, all or nothing */
	if (rc == KW_OK) {
		/* acknowledged: settle it (else the servers' sweep will) */
		svals[1] = vals[1];
		svals[2] = ver_s;
		memset(&w, 0, sizeof(w));
		w.id = KI_SETTLE;
		w.st = &settle_stmt;
		w.vals = svals;
		if (guarded_write_run(db, &w) != KW_OK)
			log_warnx("an imported batch is left for the servers "
			    "to settle");
	}
	free((char *)vals[1]);
	return rc;
}

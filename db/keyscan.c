/*
 * keyscan.c: every version of every key in one database, a page at a
 * time (keyward-admin verify), so a million keys cost a bounded amount of
 * memory and a few hundred round trips, not one query per key.
 *
 * Pages follow the primary key of key_versions (key id, version), each
 * page one index range scan; a key written or deleted while a scan runs
 * may or may not be seen.  Reads every row, settled or not: what is
 * stored must unwrap, whatever its state.  Owns no decision about what
 * the rows mean.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keysql.h"

#define KS_PAGE		(DB_MAX_STMTS - 2)
_Static_assert(KS_PAGE >= NC_FIRST + 16, "statement ids overlap");

static const Oid t_page[] = { DB_OID_INT8, DB_OID_INT4, DB_OID_INT4 };

static const struct db_stmt page_stmt = { "kw_scan_page",
    "SELECT v.version, v.kek_id, v.wrapped, k.id, k.name"
    " FROM key_versions v JOIN keys k ON k.id = v.key_id"
    " WHERE (v.key_id, v.version) > ($1, $2)"
    " ORDER BY v.key_id, v.version LIMIT $3",
    3, t_page };

struct page_arg {
	const struct db_scan_pos *pos;
	size_t			  max;
	struct db_scan_row	 *rows;
	size_t			  n;
};

static enum kw_err
page_fn(struct pconn *pc, void *arg)
{
	struct page_arg *a = arg;
	char id_s[24], ver_s[16], max_s[16];
	const char *vals[3] = { id_s, ver_s, max_s };
	struct db_scan_row *rows = NULL;
	PGresult *r;
	size_t i = 0, nrows;
	enum kw_err rc = KW_OK;

	snprintf(id_s, sizeof(id_s), "%lld", (long long)a->pos->key_id);
	snprintf(ver_s, sizeof(ver_s), "%d", a->pos->version);
	snprintf(max_s, sizeof(max_s), "%zu", a->max);
	if ((r = pc_prepared(pc, KS_PAGE, &page_stmt, vals, NULL, NULL, 1,
	    DB_DEADLINE_MS)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "scan versions", NULL, r);
		goto out;
	}
	nrows = (size_t)PQntuples(r);
	if ((rows = calloc(nrows > 0 ? nrows : 1, sizeof(*rows))) == NULL) {
		rc = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < nrows; i++) {
		if ((rc = key_ver_from_row(pc, r, (int)i, &rows[i].v)) != KW_OK)
			break;
		if (key_get_int(r, (int)i, 3, &rows[i].key_id) == -1 ||
		    key_get_str(r, (int)i, 4, &rows[i].name) == -1 ||
		    rows[i].name == NULL) {
			rc = KW_EDB;
			i++;
			break;
		}
	}
	if (rc != KW_OK) {
		db_scan_rows_free(rows, i);
		goto out;
	}
	a->rows = rows;
	a->n = nrows;
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_scan_versions(struct db *db, struct db_scan_pos *pos, size_t max,
    struct db_scan_row **rows, size_t *n)
{
	struct page_arg a = { pos, max, NULL, 0 };
	enum kw_err rc;

	*rows = NULL;
	*n = 0;
	if (max == 0 || max > 1000000)
		return KW_EINVAL;
	if ((rc = db_read_local(db, page_fn, &a)) != KW_OK)
		return rc;
	if (a.n > 0) {
		pos->key_id = a.rows[a.n - 1].key_id;
		pos->version = (int32_t)a.rows[a.n - 1].v.version;
	}
	*rows = a.rows;
	*n = a.n;
	return KW_OK;
}

void
db_scan_rows_free(struct db_scan_row *rows, size_t n)
{
	size_t i;

	if (rows == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].v.wrapped);
	}
	free(rows);
}

/*
 * keyread.c: reading keys and versions, durably.
 *
 * Every read runs through db_read_settled (route.c): an answer that
 * depends on rows a primary holds unsettled (written by a write that may
 * not be on the standby: 003_durability.sql) is not given from that
 * primary; the standby is asked instead, and when it cannot answer, the
 * primary answers from settled rows only.  So nothing a cancelled commit
 * left on the primary is ever handed out before the standby holds it.
 * The functions here decide, per statement, what "depends on" and
 * "settled rows only" mean; see DURABILITY.md.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

/* The columns every read has after its own: see VER_FLAGS in keysql.c. */
struct row_flags {
	int	standby;	/* read on a standby */
	int	unsettled;	/* the row (or its key) is not settled */
	int	deleting;	/* its key is being deleted */
};

static void
row_flags(const PGresult *r, int row, int col, struct row_flags *f)
{
	f->standby = key_get_bool(r, row, col);
	f->unsettled = key_get_bool(r, row, col + 1);
	f->deleting = key_get_bool(r, row, col + 2);
}

/*
 * What a row read in mode m means: KW_OK use it, KW_ENOTFOUND treat it as
 * absent, KW_EPENDING (RD_ANY, RD_STANDBY on a primary) ask elsewhere,
 * KW_EUNCONFIRMED (RD_SETTLED) it cannot be answered truthfully.
 */
static enum kw_err
judge(enum rd_mode m, const struct row_flags *f)
{
	if (f->standby)
		return f->deleting ? KW_ENOTFOUND : KW_OK;
	if (m == RD_STANDBY)
		return KW_EPENDING;
	if (!f->unsettled)
		return KW_OK;
	return m == RD_ANY ? KW_EPENDING : KW_EUNCONFIRMED;
}

/*
 * RD_STANDBY asks only a standby: KW_OK when pc's database is one,
 * KW_EPENDING when it is not, KW_EDB when it does not say.
 */
static enum kw_err
standby_only(struct pconn *pc)
{
	PGresult *r;
	enum kw_err rc = KW_EDB;

	if ((r = pc_exec(pc, "SELECT pg_is_in_recovery()",
	    DB_OP_DEADLINE_MS)) == NULL)
		return KW_EDB;
	if (pc_res_ok(r) && PQntuples(r) == 1)
		rc = key_get_bool(r, 0, 0) ? KW_OK : KW_EPENDING;
	PQclear(r);
	return rc;
}

struct meta_arg {
	enum rd_mode		 mode;
	const char		*name;
	struct db_key_meta	*out;
};

static enum kw_err
meta_fn(struct pconn *pc, void *arg)
{
	struct meta_arg *a = arg;
	struct db_key_meta m;
	struct row_flags f;
	const char *vals[2] = { a->name, a->mode == RD_SETTLED ? "t" : "f" };
	PGresult *r;
	int64_t len, ms, n;
	enum kw_err rc = KW_OK;

	memset(&m, 0, sizeof(m));
	if (a->mode == RD_STANDBY && (rc = standby_only(pc)) != KW_OK)
		return rc;
	if ((r = key_run(pc, ST_META_GET, vals, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "metadata", a->name, r);
		goto out;
	}
	if (PQntuples(r) == 0) {
		rc = KW_ENOTFOUND;
		goto out;
	}
	row_flags(r, 0, 7, &f);
	if ((rc = judge(a->mode, &f)) == KW_EUNCONFIRMED &&
	    !key_get_bool(r, 0, 10)) {
		/* only versions are unsettled: count the settled ones */
		rc = key_get_int(r, 0, 11, &n) == -1 ? KW_EUNCONFIRMED : KW_OK;
	} else if (rc == KW_OK && key_get_int(r, 0, 6, &n) == -1)
		n = -1;
	if (rc != KW_OK)
		goto out;
	if (key_get_int(r, 0, 2, &len) == -1 ||
	    key_get_int(r, 0, 5, &ms) == -1 || n < 1 || n > UINT32_MAX) {
		pc_log_error(pc, "metadata", a->name, r);
		rc = KW_EDB;
		goto out;
	}
	m.length = (int)len;
	m.created_ms = ms;
	m.versions = (uint32_t)n;
	if (key_get_str(r, 0, 0, &m.name) == -1 || m.name == NULL ||
	    key_get_str(r, 0, 1, &m.cipher) == -1 || m.cipher == NULL ||
	    key_get_str(r, 0, 3, &m.description) == -1 ||
	    key_get_str(r, 0, 4, &m.attributes) == -1) {
		db_key_meta_clear(&m);
		rc = KW_ENOMEM;
		goto out;
	}
	*a->out = m;
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_key_meta_get(struct db *db, const char *name, struct db_key_meta *out)
{
	struct meta_arg a = { RD_ANY, name, out };

	if (name == NULL || out == NULL)
		return KW_EINVAL;
	memset(out, 0, sizeof(*out));
	return db_read_settled(db, meta_fn, &a, &a.mode);
}

void
db_key_meta_clear(struct db_key_meta *m)
{
	if (m == NULL)
		return;
	free(m->name);
	free(m->cipher);
	free(m->description);
	free(m->attributes);
	memset(m, 0, sizeof(*m));
}

void
db_names_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

struct ver_arg {
	enum rd_mode		 mode;
	int			 stmt;
	const char		*name;
	const char		*verstr;	/* ST_VER_GET only */
	struct db_key_version	*out;		/* one version */
	struct db_key_version	**all;		/* ST_VER_ALL */
	size_t			*n;
};

/* The versions of ST_VER_ALL's answer that mode a lets through. */
static enum kw_err
ver_all_rows(struct pconn *pc, struct ver_arg *a, const PGresult *r)
{
	struct db_key_version *v;
	struct row_flags f;
	size_t i, n = 0, rows = (size_t)PQntuples(r);
	enum kw_err rc = KW_OK, j;

	if ((v = calloc(rows, sizeof(*v))) == NULL)
		return KW_ENOMEM;
	for (i = 0; i < rows; i++) {
		row_flags(r, (int)i, 3, &f);
		j = judge(a->mode, &f);
		/* a settled read leaves out unsettled versions of a settled key */
		if (j == KW_EUNCONFIRMED && !f.deleting &&
		    key_get_bool(r, 0, 4) == 0)
			continue;
		if (j != KW_OK) {
			rc = j;
			break;
		}
		if ((rc = key_ver_from_row(pc, r, (int)i, &v[n])) != KW_OK)
			break;
		n++;
	}
	if (rc == KW_OK && n == 0)
		rc = KW_ENOTFOUND;
	if (rc != KW_OK) {
		db_key_versions_free(v, n + 1);
		return rc;
	}
	*a->all = v;
	*a->n = n;
	return KW_OK;
}

static enum kw_err
ver_fn(struct pconn *pc, void *arg)
{
	struct ver_arg *a = arg;
	const char *vals[2] = { a->name, a->verstr };
	struct row_flags f;
	PGresult *r;
	int stmt = a->stmt;
	enum kw_err rc = KW_OK;

	/* the newest settled version stands in for an unsettled current */
	if (stmt == ST_VER_CURRENT && a->mode == RD_SETTLED)
		stmt = ST_VER_SETTLED;
	if (a->mode == RD_STANDBY && (rc = standby_only(pc)) != KW_OK)
		return rc;
	if ((r = key_run(pc, stmt, vals, NULL, NULL, 1)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "read version", a->name, r);
		goto out;
	}
	if (PQntuples(r) == 0) {
		rc = KW_ENOTFOUND;
		goto out;
	}
	if (a->all != NULL) {
		rc = ver_all_rows(pc, a, r);
		goto out;
	}
	row_flags(r, 0, 3, &f);
	if ((rc = judge(a->mode, &f)) != KW_OK)
		goto out;
	if ((rc = key_ver_from_row(pc, r, 0, a->out)) != KW_OK)
		db_key_version_clear(a->out);
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_key_version_get(struct db *db, const char *name, uint32_t version,
    struct db_key_version *out)
{
	char verbuf[16];
	struct ver_arg a = { RD_ANY, ST_VER_GET, name, verbuf, out, NULL,
	    NULL };

	if (name == NULL || out == NULL)
		return KW_EINVAL;
	memset(out, 0, sizeof(*out));
	if (version > INT32_MAX)	/* the column is an int */
		return KW_ENOTFOUND;
	snprintf(verbuf, sizeof(verbuf), "%u", version);
	return db_read_settled(db, ver_fn, &a, &a.mode);
}

enum kw_err
db_key_current(struct db *db, const char *name, struct db_key_version *out)
{
	struct ver_arg a = { RD_ANY, ST_VER_CURRENT, name, NULL, out, NULL,
	    NULL };

	if (name == NULL || out == NULL)
		return KW_EINVAL;
	memset(out, 0, sizeof(*out));
	return db_read_settled(db, ver_fn, &a, &a.mode);
}

enum kw_err
db_key_versions(struct db *db, const char *name, struct db_key_version **out,
    size_t *n)
{
	struct ver_arg a = { RD_ANY, ST_VER_ALL, name, NULL, NULL, out, n };

	if (name == NULL || out == NULL || n == NULL)
		return KW_EINVAL;
	*out = NULL;
	*n = 0;
	return db_read_settled(db, ver_fn, &a, &a.mode);
}

void
db_key_version_clear(struct db_key_version *v)
{
	if (v == NULL)
		return;
	free(v->wrapped);
	memset(v, 0, sizeof(*v));
}

void
db_key_versions_free(struct db_key_version *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i].wrapped);
	free(v);
}

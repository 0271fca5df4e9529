/*
 * kek.c: the master-key check value in the database.
 *
 * One row holds the check value (and id) of the master key the keys are
 * wrapped under, so a server started with another master key refuses to
 * run instead of failing on every unwrap.  Called once at start-up, so
 * its statements are not prepared.  The value itself comes from
 * lib/crypto (crypto_kek_check); it is not a secret.
 */
#include <stdint.h>
#include <string.h>

#include "db.h"
#include "pool.h"
#include "../lib/log.h"

#define KEK_ID_MAX	16
#define MS_NOW		"(extract(epoch FROM now()) * 1000)::bigint"

struct kek_arg {
	const char		*kek_id;
	const unsigned char	*check;
	size_t			 len;
	int			 found;
	int			 match;
	char			 db_kek_id[KEK_ID_MAX + 1];
};

/* Read the stored check value on pc and compare it with a's. */
static enum kw_err
kek_fn(struct pconn *pc, void *arg)
{
	struct kek_arg *a = arg;
	PGresult *r;
	const unsigned char *p;
	unsigned char diff = 0;
	size_t i, klen;
	enum kw_err rc = KW_OK;

	r = pc_exec_params(pc, "SELECT kek_id, check_value FROM kek_check"
	    " WHERE id = 1", 0, NULL, NULL, NULL, 1, DB_DEADLINE_MS);
	if (r == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		pc_log_error(pc, "master key check", NULL, r);
		rc = KW_EDB;
		goto out;
	}
	a->found = PQntuples(r) > 0;
	if (!a->found)
		goto out;
	klen = (size_t)PQgetlength(r, 0, 0);
	if (klen > KEK_ID_MAX)
		klen = KEK_ID_MAX;
	memcpy(a->db_kek_id, PQgetvalue(r, 0, 0), klen);
	a->db_kek_id[klen] = '\0';
	p = (const unsigned char *)PQgetvalue(r, 0, 1);
	a->match = (size_t)PQgetlength(r, 0, 1) == a->len &&
	    strcmp(PQgetvalue(r, 0, 0), a->kek_id) == 0;
	if (a->match) {
		/* Not a secret, but no reason to leak timing either. */
		for (i = 0; i < a->len; i++)
			diff |= p[i] ^ a->check[i];
		a->match = diff == 0;
	}
out:
	PQclear(r);
	return rc;
}

enum kw_err
db_kek_check(struct db *db, const char *kek_id, const unsigned char *check,
    size_t checklen, int store)
{
	struct kek_arg a;
	struct pconn *pc = NULL;
	PGresult *r = NULL;
	const char *vals[2];
	int lens[2] = { 0, 0 }, fmts[2] = { 0, 1 };
	enum kw_err rc;

	if (kek_id == NULL || strlen(kek_id) > KEK_ID_MAX || check == NULL ||
	    checklen == 0 || checklen > INT32_MAX)
		return KW_EINVAL;
	memset(&a, 0, sizeof(a));
	a.kek_id = kek_id;
	a.check = check;
	a.len = checklen;
	if ((rc = db_read(db, kek_fn, &a)) != KW_OK)
		return rc;
	if (!a.found && !store)
		return KW_ENOTFOUND;
	if (!a.found) {
		/*
		 * Store, then read back in the same transaction: if another
		 * server stored its value first, that one is compared.
		 */
		if ((rc = db_write_begin(db, &pc)) != KW_OK)
			goto out;
		vals[0] = kek_id;
		vals[1] = (const char *)check;
		lens[1] = (int)checklen;
		r = pc_exec_params(pc, "INSERT INTO kek_check (id, kek_id,"
		    " check_value, created_ms) VALUES (1, $1, $2, " MS_NOW ")"
		    " ON CONFLICT (id) DO NOTHING", 2, vals, lens, fmts, 0,
		    DB_DEADLINE_MS);
		if (r == NULL) {
			rc = KW_EDB;
			goto out;
		}
		if (!pc_res_ok(r)) {
			pc_log_error(pc, "master key check", NULL, r);
			rc = KW_EDB;
			goto out;
		}
		if ((rc = kek_fn(pc, &a)) != KW_OK)
			goto out;
		if (pc->broken != PC_OK || !a.found) {
			rc = KW_EDB;
			goto out;
		}
		if (a.match &&
		    (rc = pc_commit(pc, db->commit_deadline_ms)) != KW_OK)
			goto out;
	}
	if (!a.match) {
		log_info("master key %s does not match the database's (%s)",
		    kek_id, a.db_kek_id);
		rc = KW_ECRYPTO;
	}
out:
	PQclear(r);
	db_write_end(pc);
	return rc;
}

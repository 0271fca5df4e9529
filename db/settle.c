/*
 * settle.c: settling what writes left unsettled on the primary.
 *
 * A write whose commit was cancelled at the deadline, or whose server
 * died before settling it, leaves rows marked pending or deleting on the
 * primary (003_durability.sql).  Readers then ask the standby each time.
 * The cluster monitor calls db_settle every probe: it lists a bounded
 * number of unsettled rows on the primary, asks the standby which of them
 * it holds, and settles exactly those (a key or version the standby holds
 * is on both databases; a delete the standby holds is final).  What the
 * standby does not hold yet stays unsettled until it does, or until a
 * rewind removes it with the commit that wrote it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keysql.h"
#include "../lib/log.h"

/* Text of a PostgreSQL array literal of integers, grown as needed. */
struct intlist {
	char	*s;
	size_t	 len, cap;
	int	 n;
};

static int
il_add(struct intlist *l, long long v)
{
	char num[24];
	size_t k;
	char *p;

	k = (size_t)snprintf(num, sizeof(num), "%s%lld", l->n ? "," : "", v);
	if (l->len + k + 2 > l->cap) {
		if ((p = realloc(l->s, l->cap * 2 + k + 64)) == NULL)
			return -1;
		l->s = p;
		l->cap = l->cap * 2 + k + 64;
	}
	memcpy(l->s + l->len, num, k);
	l->len += k;
	l->n++;
	return 0;
}

/* "{...}" of l; "{}" when empty or out of memory before. */
static const char *
il_text(struct intlist *l)
{
	if (l->s == NULL || l->cap < l->len + 2)
		return "{}";
	l->s[l->len] = '}';
	l->s[l->len + 1] = '\0';
	return l->s;
}

static int
il_init(struct intlist *l)
{
	memset(l, 0, sizeof(*l));
	if ((l->s = malloc(64)) == NULL)
		return -1;
	l->s[0] = '{';
	l->len = 1;
	l->cap = 64;
	return 0;
}

/* One call's lists: what to ask the standby, what to settle. */
struct settle {
	int		 max;
	struct intlist	 ask_id, ask_ver;	/* (key id, version or -1) */
	struct intlist	 keys, ver_id, ver, gone;
	int		 standby_ok;
};

static enum kw_err
unsettled_fn(struct pconn *pc, void *arg)
{
	struct settle *s = arg;
	char maxbuf[16];
	const char *vals[1] = { maxbuf };
	PGresult *r;
	int64_t id, ver;
	int i, n;
	enum kw_err rc = KW_OK;

	snprintf(maxbuf, sizeof(maxbuf), "%d", s->max);
	if ((r = key_run(pc, ST_UNSETTLED, vals, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "list unsettled keys", NULL, r);
		goto out;
	}
	n = PQntuples(r);
	for (i = 0; i < n && rc == KW_OK; i++)
		if (key_get_int(r, i, 0, &id) == -1 ||
		    key_get_int(r, i, 1, &ver) == -1 ||
		    il_add(&s->ask_id, id) == -1 ||
		    il_add(&s->ask_ver, ver) == -1)
			rc = KW_ENOMEM;
out:
	PQclear(r);
	return rc;
}

static enum kw_err
on_standby_fn(struct pconn *pc, void *arg)
{
	struct settle *s = arg;
	const char *vals[2] = { il_text(&s->ask_id), il_text(&s->ask_ver) };
	PGresult *r;
	int64_t id, ver;
	int i, n, key_there, deleting, ver_there, err = 0;
	enum kw_err rc = KW_OK;

	if ((r = key_run(pc, ST_ON_STANDBY, vals, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r)) {
		rc = key_res_err(pc, "check unsettled keys", NULL, r);
		goto out;
	}
	n = PQntuples(r);
	for (i = 0; i < n && !err; i++) {
		if (!key_get_bool(r, i, 5))
			goto out;	/* not a standby: settle nothing */
		if (key_get_int(r, i, 0, &id) == -1 ||
		    key_get_int(r, i, 1, &ver) == -1) {
			rc = KW_EDB;
			goto out;
		}
		key_there = key_get_bool(r, i, 2);
		deleting = key_get_bool(r, i, 3);
		ver_there = key_get_bool(r, i, 4);
		/* a delete is final once the standby has the mark, or the
		 * standby never had the key; a key or version once there */
		if (ver >= 0 && ver_there)
			err = il_add(&s->ver_id, id) || il_add(&s->ver, ver);
		else if (ver < 0 && (!key_there || deleting))
			err = il_add(&s->gone, id);
		else if (ver < 0 && key_there)
			err = il_add(&s->keys, id);
	}
	s->standby_ok = !err;
	if (err)
		rc = KW_ENOMEM;
out:
	PQclear(r);
	return rc;
}

static enum kw_err
sweep_fn(struct pconn *pc, void *arg)
{
	struct settle *s = arg;
	const char *vals[4] = { il_text(&s->keys), il_text(&s->ver_id),
	    il_text(&s->ver), il_text(&s->gone) };
	PGresult *r;
	enum kw_err rc = KW_OK;

	if ((r = key_run(pc, ST_SETTLE_SWEEP, vals, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r))
		rc = key_res_err(pc, "settle keys", NULL, r);
	PQclear(r);
	return rc;
}

/* ST_SETTLE_ALL; *(int *)arg receives the number of rows settled. */
static enum kw_err
settle_all_fn(struct pconn *pc, void *arg)
{
	PGresult *r;
	int64_t n = 0;
	enum kw_err rc = KW_OK;

	if ((r = key_run(pc, ST_SETTLE_ALL, NULL, NULL, NULL, 0)) == NULL)
		return KW_EDB;
	if (!pc_res_ok(r) || PQntuples(r) != 1 ||
	    key_get_int(r, 0, 1, &n) == -1)
		rc = key_res_err(pc, "settle keys", NULL, r);
	*(int *)arg = (int)n;
	PQclear(r);
	return rc;
}

void
settle_probes(struct db *db, struct pool **primary, struct pool **standby)
{
	if (atomic_load(&db->primary_hint) == 0) {
		*primary = db->probe;
		*standby = db->peer_probe;
	} else {
		*primary = db->peer_probe;
		*standby = db->probe;
	}
}

int
db_settle(struct db *db, int max)
{
	struct settle s;
	struct pool *primary, *standby;
	int n = -1;

	if (db->peer_probe == NULL)	/* a lone node is the only copy */
		return db_read_one(db->probe, settle_all_fn, &n) == KW_OK ?
		    n : -1;
	memset(&s, 0, sizeof(s));
	s.max = max;
	if (il_init(&s.ask_id) || il_init(&s.ask_ver) || il_init(&s.keys) ||
	    il_init(&s.ver_id) || il_init(&s.ver) || il_init(&s.gone))
		goto out;
	settle_probes(db, &primary, &standby);
	if (db_read_one(primary, unsettled_fn, &s) != KW_OK)
		goto out;
	n = 0;
	if (s.ask_id.n == 0)
		goto out;
	if (db_read_one(standby, on_standby_fn, &s) != KW_OK ||
	    !s.standby_ok)
		goto out;
	n = s.keys.n + s.ver_id.n + s.gone.n;
	if (n > 0 && db_read_one(primary, sweep_fn, &s) != KW_OK)
		n = -1;
	else if (n > 0)
		log_info("settled %d key rows the standby was found to hold",
		    n);
out:
	free(s.ask_id.s);
	free(s.ask_ver.s);
	free(s.keys.s);
	free(s.ver_id.s);
	free(s.ver.s);
	free(s.gone.s);
	return n;
}

/*
 * kekring.c: the master keys in force in this server (kekring.h).
 *
 * Owns the keyring in memory, the active KEK's id, the checks a keyring
 * must pass against the database before it is used (at start and on
 * reload), wrapping and unwrapping under the right KEK, one rewrap batch
 * and the record of what this server holds.  Does not own: the keyring
 * file (lib/masterkey.c), SQL (db/keyring.c), timing (rewrap.c).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "kekring.h"
#include "../db/kmipdb.h"
#include "../lib/clock.h"
#include "../lib/log.h"

struct kekring {
	struct db		*db;
	char			*node;
	pthread_rwlock_t	 lock;		/* ring and active */
	struct keyring		*ring;
	char			 active[KW_KEK_ID_LEN + 1];
	char			 warned[KW_KEK_ID_LEN + 1]; /* lacking, logged */
	atomic_int		 recorded;	/* holdings written since load */
};

/*
 * May ring be used with db?  It must hold the active KEK (active and
 * check receive it) and every KEK a version is wrapped under.  0 or -1
 * with err.
 */
static int
ring_check(struct db *db, const struct keyring *ring, int tries,
    char active[KW_KEK_ID_LEN + 1], char *err, size_t errlen)
{
	unsigned char check[DB_KEK_CHECK_LEN];
	const struct keyring_kek *k;
	struct db_kek_use *use = NULL;
	char ids[256];
	size_t i, n = 0;
	unsigned char diff;
	enum kw_err e;
	int rc = -1;

	if (keyring_count(ring) == 0) {
		snprintf(err, errlen, "the master key file is token-only (every "
		    "master key in a PKCS#11 token) and keys.hsm_module is not "
		    "set");
		return -1;
	}
	keyring_ids(ring, ids, sizeof(ids));
	for (i = 0; (e = db_kek_active(db, active, check)) != KW_OK &&
	    e != KW_ENOTFOUND && (int)i + 1 < tries; i++)
		clock_sleep_ms(DB_STARTUP_PAUSE_MS);
	if (e == KW_ENOTFOUND) {
		snprintf(err, errlen, "the database holds no master key check "
		    "value: run keyward-admin db migrate first");
		return -1;
	}
	if (e != KW_OK) {
		snprintf(err, errlen, "could not read the active master key "
		    "from the database");
		return -1;
	}
	if ((k = keyring_find(ring, active)) == NULL) {
		snprintf(err, errlen, "the database's active master key %s is "
		    "not in this node's keyring (it holds %s): this node has "
		    "the wrong master key file; install the pair's", active,
		    ids);
		goto out;
	}
	for (i = 0, diff = 0; i < sizeof(check); i++)
		diff |= k->check[i] ^ check[i];
	if (diff != 0) {
		snprintf(err, errlen, "master key %s does not match the "
		    "database's check value: this node has the wrong master "
		    "key file", active);
		goto out;
	}
	if (db_kek_usage(db, &use, &n) != KW_OK) {
		snprintf(err, errlen, "could not count the key versions per "
		    "master key in the database");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (use[i].versions > 0 &&
		    keyring_find(ring, use[i].kek_id) == NULL) {
			snprintf(err, errlen, "%lld key versions are wrapped "
			    "under master key %s, which this node's keyring "
			    "lacks (it holds %s): install the pair's keyring",
			    (long long)use[i].versions, use[i].kek_id, ids);
			goto out;
		}
	rc = 0;
out:
	free(use);
	secure_wipe(check, sizeof(check));
	return rc;
}

struct kekring *
kekring_new(struct db *db, struct keyring *ring, const char *node,
    char *err, size_t errlen)
{
	struct kekring *kr = NULL;
	char active[KW_KEK_ID_LEN + 1];

	if (ring_check(db, ring, DB_STARTUP_TRIES, active, err, errlen) != 0)
		goto fail;
	if ((kr = calloc(1, sizeof(*kr))) == NULL ||
	    (kr->node = strdup(node)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	kr->db = db;
	kr->ring = ring;
	memcpy(kr->active, active, sizeof(active));
	pthread_rwlock_init(&kr->lock, NULL);
	return kr;
fail:
	if (kr != NULL)
		free(kr->node);
	free(kr);
	keyring_free(ring);
	return NULL;
}

void
kekring_free(struct kekring *kr)
{
	if (kr == NULL)
		return;
	pthread_rwlock_destroy(&kr->lock);
	keyring_free(kr->ring);
	free(kr->node);
	free(kr);
}

int
kekring_wrap(struct kekring *kr, const char *name, uint32_t version,
    const struct secbuf *material, unsigned char *out,
    char kek_id[KW_KEK_ID_LEN + 1])
{
	const struct keyring_kek *k;
	int rc = -1;

	pthread_rwlock_rdlock(&kr->lock);
	if ((k = keyring_find(kr->ring, kr->active)) != NULL &&
	    keyring_wrap(k, name, version, material, out) == 0) {
		memcpy(kek_id, k->id, KW_KEK_ID_LEN + 1);
		rc = 0;
	}
	pthread_rwlock_unlock(&kr->lock);
	return rc;
}

/* Unwrap under the KEK the row names; the caller holds the lock. */
static struct secbuf *
unwrap_locked(struct kekring *kr, const char *name,
    const struct db_key_version *dv, const struct keyring_kek **kp)
{
	*kp = keyring_find(kr->ring, dv->kek_id);
	if (*kp == NULL)
		return NULL;
	return keyring_unwrap(*kp, name, dv->version, dv->wrapped,
	    dv->wrapped_len);
}

struct secbuf *
kekring_unwrap(struct kekring *kr, const char *name,
    const struct db_key_version *dv)
{
	const struct keyring_kek *k;
	struct secbuf *m;

	pthread_rwlock_rdlock(&kr->lock);
	m = unwrap_locked(kr, name, dv, &k);
	pthread_rwlock_unlock(&kr->lock);
	if (m == NULL && k == NULL)
		log_warnx("key \"%s\" version %u is wrapped under master key "
		    "%s, which this server's keyring lacks", name, dv->version,
		    dv->kek_id);
	else if (m == NULL)
		log_warnx("key \"%s\" version %u does not unwrap under master "
		    "key %s: stored row damaged or moved", name, dv->version,
		    dv->kek_id);
	return m;
}

void
kekring_set_active(struct kekring *kr, const char *kek_id)
{
	char was[KW_KEK_ID_LEN + 1];
	int held, changed = 0, warn = 0;

	if (kek_id == NULL || kek_id[0] == '\0' ||
	    strlen(kek_id) > KW_KEK_ID_LEN)
		return;
	pthread_rwlock_rdlock(&kr->lock);
	changed = strcmp(kr->active, kek_id) != 0;
	pthread_rwlock_unlock(&kr->lock);
	if (!changed)
		return;
	pthread_rwlock_wrlock(&kr->lock);
	memcpy(was, kr->active, sizeof(was));
	held = keyring_find(kr->ring, kek_id) != NULL;
	if (held && strcmp(kr->active, kek_id) != 0) {
		snprintf(kr->active, sizeof(kr->active), "%s", kek_id);
		kr->warned[0] = '\0';
	} else if (!held && strcmp(kr->warned, kek_id) != 0) {
		snprintf(kr->warned, sizeof(kr->warned), "%s", kek_id);
		warn = 1;
	} else
		held = 0;
	pthread_rwlock_unlock(&kr->lock);
	if (held)
		log_info("master key %s is now active (was %s): new versions "
		    "are wrapped under it", kek_id, was);
	else if (warn)
		log_warnx("the database's active master key %s is not in this "
		    "server's keyring: new versions stay under %s until the "
		    "keyring holding it is installed and reloaded", kek_id, was);
}

void
kekring_active(struct kekring *kr, char kek_id[KW_KEK_ID_LEN + 1])
{
	pthread_rwlock_rdlock(&kr->lock);
	memcpy(kek_id, kr->active, KW_KEK_ID_LEN + 1);
	pthread_rwlock_unlock(&kr->lock);
}

int
kekring_reload(struct kekring *kr, struct keyring *ring, char *err,
    size_t errlen)
{
	struct keyring *old;
	char active[KW_KEK_ID_LEN + 1], ids[256];

	if (ring_check(kr->db, ring, 1, active, err, errlen) != 0) {
		keyring_free(ring);
		return -1;
	}
	keyring_ids(ring, ids, sizeof(ids));
	pthread_rwlock_wrlock(&kr->lock);
	old = kr->ring;
	kr->ring = ring;
	memcpy(kr->active, active, sizeof(active));
	pthread_rwlock_unlock(&kr->lock);
	keyring_free(old);
	atomic_store(&kr->recorded, 0);
	log_info("master keyring reloaded: %s (active %s)", ids, active);
	return 0;
}

int
kekring_record(struct kekring *kr)
{
	const char *ids[64];
	const unsigned char *checks[64];
	struct keyring *copy;
	const struct keyring_kek *k;
	size_t i, n;
	enum kw_err e;

	if (atomic_load(&kr->recorded))
		return 0;
	/* a copy: the write may take a commit deadline, no lock held */
	pthread_rwlock_rdlock(&kr->lock);
	copy = keyring_dup(kr->ring);
	pthread_rwlock_unlock(&kr->lock);
	if (copy == NULL)
		return -1;
	n = keyring_count(copy);
	for (i = 0; i < n && i < 64; i++) {
		k = keyring_at(copy, i);
		ids[i] = k->id;
		checks[i] = k->check;
	}
	e = db_kek_hold(kr->db, kr->node, ids, checks, i);
	keyring_free(copy);
	if (e != KW_OK)
		return -1;
	atomic_store(&kr->recorded, 1);
	log_info("recorded the %zu master keys this server holds", i);
	return 1;
}

/*
 * Rewrap the fetched rows under the active KEK into wrapped[i] (NULL for
 * a row that cannot be: its KEK is missing, or it does not unwrap) and
 * return the active id in kek_id.  The same material, checked.
 */
static void
rewrap_rows(struct kekring *kr, const struct db_rewrap_row *rows, size_t n,
    unsigned char **wrapped, size_t *wlen, char kek_id[KW_KEK_ID_LEN + 1])
{
	const struct keyring_kek *old, *act;
	struct secbuf *m, *back;
	size_t i;

	pthread_rwlock_rdlock(&kr->lock);
	memcpy(kek_id, kr->active, KW_KEK_ID_LEN + 1);
	act = keyring_find(kr->ring, kr->active);
	for (i = 0; i < n && act != NULL; i++) {
		if ((m = unwrap_locked(kr, rows[i].name, &rows[i].v,
		    &old)) == NULL)
			continue;
		wlen[i] = m->len + KW_WRAP_OVERHEAD;
		if ((wrapped[i] = malloc(wlen[i])) != NULL &&
		    keyring_wrap(act, rows[i].name,
		    rows[i].v.version, m, wrapped[i]) == 0 &&
		    (back = keyring_unwrap(act, rows[i].name,
		    rows[i].v.version, wrapped[i], wlen[i])) != NULL) {
			/* never store a wrapping of anything but the material */
			if (!secbuf_equal(back, m)) {
				free(wrapped[i]);
				wrapped[i] = NULL;
			}
			secbuf_free(back);
		} else {
			free(wrapped[i]);
			wrapped[i] = NULL;
		}
		secbuf_free(m);
	}
	pthread_rwlock_unlock(&kr->lock);
}

/*
 * One batch of KMIP objects (db/kmipdb.h) not under the active KEK: each
 * unwrapped, wrapped under active, checked and stored by itself.
 */
static enum kw_err
rewrap_kmip(struct kekring *kr, const char *active, int max, size_t *seen,
    size_t *moved)
{
	char name[sizeof(DB_KMIP_WRAP_PREFIX) + DB_KMIP_UID_MAX];
	char kek_id[KW_KEK_ID_LEN + 1];
	struct db_kmip_rewrap *rows = NULL;
	struct db_key_version dv;
	struct secbuf *m, *back;
	unsigned char *w;
	size_t n = 0, i;
	int one;
	enum kw_err e;

	if ((e = db_kmip_rewrap_fetch(kr->db, active, max, &rows, &n)) !=
	    KW_OK || n == 0)
		return e;
	*seen = n;
	for (i = 0; i < n && e == KW_OK; i++) {
		snprintf(name, sizeof(name), DB_KMIP_WRAP_PREFIX "%s",
		    rows[i].uid);
		memset(&dv, 0, sizeof(dv));
		snprintf(dv.kek_id, sizeof(dv.kek_id), "%s", rows[i].kek_id);
		dv.wrapped = rows[i].wrapped;
		dv.wrapped_len = rows[i].wrapped_len;
		if ((m = kekring_unwrap(kr, name, &dv)) == NULL)
			continue;	/* logged */
		w = malloc(m->len + KW_WRAP_OVERHEAD);
		back = NULL;
		if (w != NULL && kekring_wrap(kr, name, 0, m, w, kek_id) == 0) {
			dv.wrapped = w;
			dv.wrapped_len = m->len + KW_WRAP_OVERHEAD;
			snprintf(dv.kek_id, sizeof(dv.kek_id), "%s", kek_id);
			back = kekring_unwrap(kr, name, &dv);
		}
		if (back != NULL && back->len == m->len &&
		    CRYPTO_memcmp(back->data, m->data, m->len) == 0 &&
		    (e = db_kmip_rewrap_store(kr->db, &rows[i], kek_id, w,
		    m->len + KW_WRAP_OVERHEAD, &one)) == KW_OK)
			*moved += (size_t)one;
		secbuf_free(back);
		secbuf_free(m);
		free(w);
	}
	db_kmip_rewrap_free(rows, n);
	return e;
}

enum kw_err
kekring_rewrap(struct kekring *kr, int max, int descending, size_t *seen,
    size_t *moved)
{
	struct db_rewrap_row *rows = NULL;
	unsigned char **wrapped = NULL;
	size_t *wlen = NULL, n = 0, i, k = 0;
	char active[KW_KEK_ID_LEN + 1];
	int64_t done = 0;
	enum kw_err e;

	*seen = *moved = 0;
	kekring_active(kr, active);
	if ((e = db_rewrap_fetch(kr->db, active, max, descending, &rows,
	    &n)) != KW_OK)
		return e;
	if (n == 0)	/* key versions done: the KMIP objects */
		return rewrap_kmip(kr, active, max, seen, moved);
	*seen = n;
	if ((wrapped = calloc(n, sizeof(*wrapped))) == NULL ||
	    (wlen = calloc(n, sizeof(*wlen))) == NULL) {
		e = KW_ENOMEM;
		goto out;
	}
	rewrap_rows(kr, rows, n, wrapped, wlen, active);
	/* keep the rows that were rewrapped, in place */
	for (i = 0; i < n; i++) {
		if (wrapped[i] == NULL) {
			log_warnx("rewrap: key \"%s\" version %u (master key %s) "
			    "cannot be rewrapped by this server", rows[i].name,
			    rows[i].v.version, rows[i].v.kek_id);
			continue;
		}
		if (k != i) {
			struct db_rewrap_row t = rows[k];

			rows[k] = rows[i];
			rows[i] = t;
			wrapped[k] = wrapped[i];
			wrapped[i] = NULL;
			wlen[k] = wlen[i];
		}
		k++;
	}
	if (k > 0 && (e = db_rewrap_store(kr->db, active, rows, wrapped, wlen,
	    k, &done)) == KW_OK)
		*moved = (size_t)done;
out:
	for (i = 0; wrapped != NULL && i < n; i++)
		free(wrapped[i]);
	free(wrapped);
	free(wlen);
	db_rewrap_rows_free(rows, n);
	return e;
}

/*
 * keystore.c: key operations over the database and the master key.
 *
 * Owns: wrapping new material, unwrapping and caching stored versions,
 * the EEK operations.  Does not own: SQL (db/), HTTP or JSON (api_*),
 * which master key wraps what (kekring.c).
 * Material exists in clear only in secbufs.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include <jansson.h>

#include "keystore.h"
#include "kcache.h"
#include "../lib/clock.h"
#include "../lib/log.h"

#define DEFAULT_CIPHER		"AES/CTR/NoPadding"
#define CACHE_MAX_ENTRIES	65536

struct keystore {
	struct db	*db;
	struct kekring	*keks;
	struct kcache	*cache;
	atomic_llong	 confirmed_ms;	/* cache confirmed as of; 0 never */
	atomic_int	 confirm_bound_ms; /* 0: the cache is always usable */
};

/*
 * May the cache answer?  Only while the cluster monitor confirmed it (read
 * the cache epoch) within the bound: a node cut off from both databases
 * must not serve a rolled or deleted key for longer than that.
 */
static int
cache_usable(struct keystore *ks)
{
	int bound = atomic_load(&ks->confirm_bound_ms);
	long long at;

	if (bound == 0)
		return 1;
	at = atomic_load(&ks->confirmed_ms);
	return at != 0 && clock_mono_ms() - at <= bound;
}

/* A failed read of what the cache could not vouch for: say so (503). */
static enum kw_err
stale_err(struct keystore *ks, enum kw_err e)
{
	return e == KW_EDB && !cache_usable(ks) ? KW_ESTALE : e;
}

struct keystore *
ks_new(struct db *db, struct kekring *keks, int cache_ttl_ms, char *err,
    size_t errlen)
{
	struct keystore *ks;

	if ((ks = calloc(1, sizeof(*ks))) == NULL ||
	    (ks->cache = kcache_new(cache_ttl_ms, CACHE_MAX_ENTRIES)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(ks);
		kekring_free(keks);
		return NULL;
	}
	ks->db = db;
	ks->keks = keks;
	return ks;
}

void
ks_free(struct keystore *ks)
{
	if (ks == NULL)
		return;
	kcache_free(ks->cache);
	kekring_free(ks->keks);
	free(ks);
}

struct kekring *
ks_keks(struct keystore *ks)
{
	return ks->keks;
}

struct db *
ks_db(struct keystore *ks)
{
	return ks->db;
}

void
ks_version_clear(struct ks_version *v)
{
	secbuf_free(v->material);
	v->material = NULL;
}

void
ks_versions_free(struct ks_version *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		ks_version_clear(&v[i]);
	free(v);
}

/* What the db layer's wrap callback needs. */
struct wrap_arg {
	struct keystore		*ks;
	const struct secbuf	*given;		/* material given, or NULL */
	struct secbuf		*material;	/* out: what was wrapped */
	uint32_t		 version;	/* out: the version wrapped */
};

static enum kw_err new_material(const struct secbuf *, size_t,
    struct secbuf **);

/*
 * Wrap the given material, or new random material of the key's length
 * (made once, kept across a rollover's retries), for name@version.
 */
static enum kw_err
wrap_cb(void *arg, const char *name, uint32_t version, int length_bits,
    unsigned char **wrapped, size_t *wrapped_len, char kek_id[17])
{
	struct wrap_arg *wa = arg;
	unsigned char *out;
	size_t len;
	enum kw_err e;

	if (length_bits != 128 && length_bits != 256)
		return KW_ECRYPTO;
	if (wa->material == NULL && (e = new_material(wa->given,
	    (size_t)length_bits / 8, &wa->material)) != KW_OK)
		return e;
	len = wa->material->len + KW_WRAP_OVERHEAD;
	if ((out = malloc(len)) == NULL)
		return KW_ENOMEM;
	if (kekring_wrap(wa->ks->keks, name, version, wa->material, out,
	    kek_id) != 0) {
		free(out);
		return KW_ECRYPTO;
	}
	wa->version = version;
	*wrapped = out;
	*wrapped_len = len;
	return KW_OK;
}

/* Material for a new version: the given one (length checked) or random. */
static enum kw_err
new_material(const struct secbuf *given, size_t bytes, struct secbuf **out)
{
	if (given != NULL) {
		if (given->len != bytes)
			return KW_EBADLEN;
		*out = secbuf_dup(given->data, given->len);
	} else {
		*out = secbuf_new(bytes);
		if (*out != NULL && crypto_random((*out)->data, bytes) != 0) {
			secbuf_free(*out);
			return KW_ECRYPTO;
		}
	}
	return *out != NULL ? KW_OK : KW_ENOMEM;
}

enum kw_err
ks_create(struct keystore *ks, const struct ks_new_key *nk,
    struct ks_version *out)
{
	struct db_key_meta meta;
	struct wrap_arg wa;
	enum kw_err e;

	memset(out, 0, sizeof(*out));
	if (nk->length != 128 && nk->length != 256)
		return KW_EINVAL;
	memset(&meta, 0, sizeof(meta));
	meta.name = (char *)(uintptr_t)nk->name;
	meta.cipher = (char *)(uintptr_t)(nk->cipher ? nk->cipher : DEFAULT_CIPHER);
	meta.length = nk->length;
	meta.description = (char *)(uintptr_t)nk->description;
	meta.attributes = (char *)(uintptr_t)nk->attributes;
	memset(&wa, 0, sizeof(wa));
	wa.ks = ks;
	wa.given = nk->material;
	if ((e = db_key_create(ks->db, &meta, wrap_cb, &wa)) != KW_OK) {
		secbuf_free(wa.material);
		return e;
	}
	/* a key of this name may have existed before: forget it */
	kcache_drop(ks->cache, nk->name);
	kcache_put_version(ks->cache, nk->name, 0, wa.material);
	kcache_put_current(ks->cache, nk->name, 0);
	out->version = 0;
	out->material = wa.material;
	return KW_OK;
}

/* The key's length comes with the current version the rollover reads. */
enum kw_err
ks_roll(struct keystore *ks, const char *name, const struct secbuf *material,
    struct ks_version *out)
{
	struct wrap_arg wa;
	uint32_t nv = 0;
	enum kw_err e;

	memset(out, 0, sizeof(*out));
	memset(&wa, 0, sizeof(wa));
	wa.ks = ks;
	wa.given = material;
	if ((e = db_key_roll(ks->db, name, wrap_cb, &wa, &nv)) != KW_OK) {
		secbuf_free(wa.material);
		return e;
	}
	kcache_put_version(ks->cache, name, nv, wa.material);
	kcache_put_current(ks->cache, name, nv);
	out->version = nv;
	out->material = wa.material;
	return KW_OK;
}

enum kw_err
ks_delete(struct keystore *ks, const char *name)
{
	enum kw_err e;

	e = db_key_delete(ks->db, name);
	kcache_drop(ks->cache, name);
	return e;
}

void
ks_invalidate(struct keystore *ks, const char *name)
{
	kcache_drop(ks->cache, name);
}

void
ks_flush(struct keystore *ks)
{
	kcache_clear(ks->cache);
}

void
ks_confirmed(struct keystore *ks, int moved, int64_t at_ms)
{
	if (moved)
		kcache_clear(ks->cache);
	atomic_store(&ks->confirmed_ms, (long long)at_ms);
}

void
ks_set_confirm_bound(struct keystore *ks, int bound_ms)
{
	atomic_store(&ks->confirm_bound_ms, bound_ms > 0 ? bound_ms : 0);
}

int
ks_cache_usable(struct keystore *ks)
{
	return cache_usable(ks);
}

enum kw_err
ks_metadata(struct keystore *ks, const char *name, struct db_key_meta *out)
{
	return db_key_meta_get(ks->db, name, out);
}

enum kw_err
ks_acl_name(struct keystore *ks, const char *name, char *buf, size_t len)
{
	struct db_key_meta m;
	json_t *attrs = NULL, *v;
	const char *acl = name;
	enum kw_err e;

	if (cache_usable(ks) && kcache_get_aclname(ks->cache, name, buf, len))
		return KW_OK;
	memset(&m, 0, sizeof(m));
	e = stale_err(ks, ks_metadata(ks, name, &m));
	if (e == KW_ENOTFOUND) {
		/* no key yet: its own name governs it (not cached: it may be
		 * created with an attribute a moment later) */
		e = KW_OK;
	} else if (e == KW_OK) {
		if (m.attributes != NULL &&
		    (attrs = json_loads(m.attributes, 0, NULL)) != NULL &&
		    (v = json_object_get(attrs, ACL_NAME_ATTR)) != NULL &&
		    json_is_string(v) && json_string_length(v) > 0)
			acl = json_string_value(v);
		kcache_put_aclname(ks->cache, name, acl);
	}
	if (e == KW_OK && snprintf(buf, len, "%s", acl) >= (int)len)
		e = KW_EINVAL;
	json_decref(attrs);
	db_key_meta_clear(&m);
	return e;
}

/* Unwrap a stored version into out and cache it. */
static enum kw_err
unwrap_version(struct keystore *ks, const char *name,
    const struct db_key_version *dv, struct ks_version *out)
{
	out->version = dv->version;
	/* under the KEK the row names: old and new KEKs during a rewrap */
	if ((out->material = kekring_unwrap(ks->keks, name, dv)) == NULL)
		return KW_ECRYPTO;
	kcache_put_version(ks->cache, name, dv->version, out->material);
	return KW_OK;
}

enum kw_err
ks_version(struct keystore *ks, const char *name, uint32_t version,
    struct ks_version *out)
{
	struct db_key_version dv;
	enum kw_err e;

	memset(out, 0, sizeof(*out));
	if (cache_usable(ks) &&
	    (out->material = kcache_get_version(ks->cache, name, version)) != NULL) {
		out->version = version;
		return KW_OK;
	}
	memset(&dv, 0, sizeof(dv));
	if ((e = db_key_version_get(ks->db, name, version, &dv)) != KW_OK)
		return stale_err(ks, e);
	e = unwrap_version(ks, name, &dv, out);
	db_key_version_clear(&dv);
	return e;
}

enum kw_err
ks_current(struct keystore *ks, const char *name, struct ks_version *out)
{
	struct db_key_version dv;
	uint32_t v;
	enum kw_err e;

	memset(out, 0, sizeof(*out));
	if (cache_usable(ks) && kcache_get_current(ks->cache, name, &v) &&
	    (out->material = kcache_get_version(ks->cache, name, v)) != NULL) {
		out->version = v;
		return KW_OK;
	}
	memset(&dv, 0, sizeof(dv));
	if ((e = db_key_current(ks->db, name, &dv)) != KW_OK)
		return stale_err(ks, e);
	e = unwrap_version(ks, name, &dv, out);
	if (e == KW_OK)
		kcache_put_current(ks->cache, name, dv.version);
	db_key_version_clear(&dv);
	return e;
}

enum kw_err
ks_versions(struct keystore *ks, const char *name, struct ks_version **out,
    size_t *n)
{
	struct db_key_version *dv = NULL;
	struct ks_version *kv = NULL;
	size_t i, cnt = 0;
	enum kw_err e;

	*out = NULL;
	*n = 0;
	if ((e = db_key_versions(ks->db, name, &dv, &cnt)) != KW_OK)
		return e;
	if ((kv = calloc(cnt ? cnt : 1, sizeof(*kv))) == NULL) {
		e = KW_ENOMEM;
		goto out;
	}
	for (i = 0; i < cnt; i++)
		if ((e = unwrap_version(ks, name, &dv[i], &kv[i])) != KW_OK)
			goto out;
	*out = kv;
	*n = cnt;
	kv = NULL;
out:
	ks_versions_free(kv, cnt);
	db_key_versions_free(dv, cnt);
	return e;
}

enum kw_err
ks_generate(struct keystore *ks, const char *name, size_t n, struct ks_eek *out)
{
	struct ks_version cur;
	/* the IV and the DEK drawn in one call: each call into OpenSSL's
	 * DRBG costs a lock and a getpid() (its fork check) */
	unsigned char rnd[KW_IV_LEN + KW_MAX_KEY_LEN];
	size_t i, len;
	enum kw_err e;

	if ((e = ks_current(ks, name, &cur)) != KW_OK)
		return e;
	len = cur.material->len;
	for (i = 0; i < n; i++) {
		out[i].version = cur.version;
		out[i].edek_len = len;
		if (len > KW_MAX_KEY_LEN ||
		    crypto_random(rnd, KW_IV_LEN + len) != 0) {
			e = KW_ECRYPTO;
			break;
		}
		memcpy(out[i].iv, rnd, KW_IV_LEN);
		if (crypto_eek_ctr(cur.material, out[i].iv, rnd + KW_IV_LEN,
		    len, out[i].edek) != 0) {
			e = KW_ECRYPTO;
			break;
		}
	}
	secure_wipe(rnd, sizeof(rnd));
	ks_version_clear(&cur);
	return e;
}

enum kw_err
ks_decrypt(struct keystore *ks, const char *name, const struct ks_eek *eek,
    struct secbuf **dek)
{
	struct ks_version kv;
	enum kw_err e;

	*dek = NULL;
	if ((e = ks_version(ks, name, eek->version, &kv)) != KW_OK)
		return e;
	if (eek->edek_len != kv.material->len) {
		e = KW_EINVAL;
		goto out;
	}
	if ((*dek = secbuf_new(eek->edek_len)) == NULL) {
		e = KW_ENOMEM;
		goto out;
	}
	if (crypto_eek_ctr(kv.material, eek->iv, eek->edek, eek->edek_len,
	    (*dek)->data) != 0) {
		secbuf_free(*dek);
		*dek = NULL;
		e = KW_ECRYPTO;
	}
out:
	ks_version_clear(&kv);
	return e;
}

enum kw_err
ks_reencrypt(struct keystore *ks, const char *name, const struct ks_eek *in,
    struct ks_eek *out)
{
	struct ks_version cur;
	struct secbuf *dek = NULL;
	enum kw_err e;

	if ((e = ks_current(ks, name, &cur)) != KW_OK)
		return e;
	if (in->version == cur.version) {
		/* still need the length check a decrypt would make */
		if (in->edek_len != cur.material->len)
			e = KW_EINVAL;
		else
			*out = *in;
		goto out;
	}
	if ((e = ks_decrypt(ks, name, in, &dek)) != KW_OK)
		goto out;
	if (dek->len != cur.material->len) {
		/* a key's length never changes across versions */
		e = KW_ECRYPTO;
		goto out;
	}
	out->version = cur.version;
	memcpy(out->iv, in->iv, KW_IV_LEN);
	out->edek_len = dek->len;
	if (crypto_eek_ctr(cur.material, out->iv, dek->data, dek->len,
	    out->edek) != 0)
		e = KW_ECRYPTO;
out:
	secbuf_free(dek);
	ks_version_clear(&cur);
	return e;
}

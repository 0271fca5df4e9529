/*
 * keystore.h: keys and their versions, over db/ and lib/crypto.
 *
 * Unwraps stored versions under the master key and caches them (material
 * in secbufs): immutable versions by NAME@N, and each key's current
 * version number for cache_ttl_ms.  A rollover, delete or invalidate
 * through this keystore updates the cache at once.  Hadoop EEK generate,
 * decrypt and re-encrypt live here so the API layer never sees a raw
 * cipher.  Thread-safe.
 */
#ifndef KW_KEYSTORE_H
#define KW_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/kwerr.h"
#include "../lib/secbuf.h"
#include "../lib/crypto.h"
#include "../db/db.h"
#include "kekring.h"

struct keystore;

/* A version with its clear material (freed with ks_version_clear). */
struct ks_version {
	uint32_t	 version;
	struct secbuf	*material;
};

/* Parameters of a new key. */
struct ks_new_key {
	const char		*name;
	const char		*cipher;	/* NULL: AES/CTR/NoPadding */
	int			 length;	/* bits: 128 or 256 */
	const struct secbuf	*material;	/* NULL: random */
	const char		*description;	/* may be NULL */
	const char		*attributes;	/* JSON object text or NULL */
};

/* One encrypted key version (EEK); edek has the key's length in bytes. */
struct ks_eek {
	uint32_t	version;
	unsigned char	iv[KW_IV_LEN];
	unsigned char	edek[KW_MAX_KEY_LEN];
	size_t		edek_len;
};

/*
 * New keystore over db with the master keys keks (taken over: freed by
 * ks_free, also on failure; kekring_new checked them against the
 * database).  NULL with a message in err.
 */
struct keystore *ks_new(struct db *db, struct kekring *keks, int cache_ttl_ms,
	    char *err, size_t errlen);
/* The master keys in force (owned by the keystore). */
struct kekring *ks_keks(struct keystore *ks);
void	ks_free(struct keystore *ks);

enum kw_err ks_create(struct keystore *ks, const struct ks_new_key *nk,
	    struct ks_version *out) WUR;
enum kw_err ks_roll(struct keystore *ks, const char *name,
	    const struct secbuf *material, struct ks_version *out) WUR;
enum kw_err ks_delete(struct keystore *ks, const char *name) WUR;
/* Drop everything cached about name (versions and current version). */
void	ks_invalidate(struct keystore *ks, const char *name);
/* Drop the whole cache (another node rolled or deleted a key). */
void	ks_flush(struct keystore *ks);
/*
 * The cluster monitor read the cache epoch at at_ms (monotonic): drop the
 * cache first when it moved; the cache is confirmed as of at_ms.
 */
void	ks_confirmed(struct keystore *ks, int moved, int64_t at_ms);
/*
 * Serve from the cache only while it was confirmed within bound_ms
 * (0, the default: always); past it every read goes to a database, and a
 * read no database answers is KW_ESTALE.  Thread-safe.
 */
void	ks_set_confirm_bound(struct keystore *ks, int bound_ms);
/* Would the cache answer now (confirmed within the bound)?  1 or 0. */
int	ks_cache_usable(struct keystore *ks);

enum kw_err ks_metadata(struct keystore *ks, const char *name,
	    struct db_key_meta *out) WUR;
/* The name the ACLs know name by: its key.acl.name attribute, else name
 * itself (also for a key that does not exist); cached like the current
 * version.  KW_EDB when neither database answers. */
#define ACL_NAME_ATTR	"key.acl.name"
enum kw_err ks_acl_name(struct keystore *ks, const char *name, char *buf,
	    size_t len) WUR;
enum kw_err ks_version(struct keystore *ks, const char *name, uint32_t version,
	    struct ks_version *out) WUR;
enum kw_err ks_current(struct keystore *ks, const char *name,
	    struct ks_version *out) WUR;
/* All versions oldest first; free with ks_versions_free. */
enum kw_err ks_versions(struct keystore *ks, const char *name,
	    struct ks_version **out, size_t *n) WUR;
void	ks_version_clear(struct ks_version *v);
void	ks_versions_free(struct ks_version *v, size_t n);

/* Generate n EEKs on the current version into out[0..n). */
enum kw_err ks_generate(struct keystore *ks, const char *name, size_t n,
	    struct ks_eek *out) WUR;
/* Decrypt an EEK of name@version: the DEK in a new secbuf.  KW_ENOTFOUND
 * when the version does not exist, KW_EINVAL on a wrong edek length. */
enum kw_err ks_decrypt(struct keystore *ks, const char *name,
	    const struct ks_eek *eek, struct secbuf **dek) WUR;
/* Re-encrypt an EEK onto the current version (same IV); unchanged when
 * it is already current. */
enum kw_err ks_reencrypt(struct keystore *ks, const char *name,
	    const struct ks_eek *in, struct ks_eek *out) WUR;

/* The database layer (for health). */
struct db *ks_db(struct keystore *ks);

#endif

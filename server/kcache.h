/*
 * kcache.h: the in-memory cache of unwrapped key versions.
 *
 * Three kinds of entries under one lock: immutable versions (NAME@N ->
 * material, kept until dropped or evicted), each key's current version
 * number and each key's ACL name (both kept for ttl_ms).  Lookups hand out copies, so an entry can be
 * dropped while a request still uses what it read.  When the cache holds
 * max_entries it is emptied (simple and bounded).  Thread-safe.
 */
#ifndef KW_KCACHE_H
#define KW_KCACHE_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/secbuf.h"

struct kcache;

struct kcache	*kcache_new(int ttl_ms, size_t max_entries);
void		 kcache_free(struct kcache *kc);
/* A copy of the material of name@version, or NULL when not cached. */
struct secbuf	*kcache_get_version(struct kcache *kc, const char *name,
		    uint32_t version);
void		 kcache_put_version(struct kcache *kc, const char *name,
		    uint32_t version, const struct secbuf *material);
/* 1 and *version when a fresh current-version entry exists, else 0. */
int		 kcache_get_current(struct kcache *kc, const char *name,
		    uint32_t *version);
void		 kcache_put_current(struct kcache *kc, const char *name,
		    uint32_t version);
/* 1 and the key's ACL name in buf when a fresh entry exists, else 0. */
int		 kcache_get_aclname(struct kcache *kc, const char *name,
		    char *buf, size_t len);
/* Remember name's ACL name (its key.acl.name attribute, or NULL/name
 * when it has none) for ttl_ms. */
void		 kcache_put_aclname(struct kcache *kc, const char *name,
		    const char *aclname);
/* Drop every entry of name. */
void		 kcache_drop(struct kcache *kc, const char *name);
/* Drop everything. */
void		 kcache_clear(struct kcache *kc);

#endif

/*
 * kcache.c: a chained hash table of key versions and current-version
 * numbers behind a read/write lock.  Owns the cached material (secbufs);
 * knows nothing about the database or crypto.
 *
 * Entries are hashed by key name alone, so everything cached about one
 * key (its versions, its current version, its ACL name) sits in one
 * chain: dropping a key walks that chain, not the table.  Each entry
 * keeps its name's hash, compared before the name itself.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kcache.h"
#include "metrics.h"
#include "../lib/clock.h"

#define NBUCKETS	4096
#define CURRENT		UINT32_MAX	/* version slot of a current entry */
#define ACLNAME		(UINT32_MAX - 1)/* version slot of an ACL name entry */

struct kentry {
	struct kentry	*next;
	uint64_t	 hash;		/* name_hash(name) */
	char		*name;
	uint32_t	 version;	/* CURRENT for current-version entries */
	uint32_t	 current;	/* the current version number */
	int64_t		 expires_ms;
	struct secbuf	*material;
	char		*aclname;	/* ACLNAME entries: NULL = the name */
};

struct kcache {
	pthread_rwlock_t lock;
	struct kentry	*buckets[NBUCKETS];
	size_t		 count;
	size_t		 max;
	int		 ttl_ms;
};

/* FNV-1a over the name. */
static uint64_t
name_hash(const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static void
entry_free(struct kentry *e)
{
	free(e->name);
	free(e->aclname);
	secbuf_free(e->material);
	free(e);
}

struct kcache *
kcache_new(int ttl_ms, size_t max_entries)
{
	struct kcache *kc;

	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		return NULL;
	if (pthread_rwlock_init(&kc->lock, NULL) != 0) {
		free(kc);
		return NULL;
	}
	kc->ttl_ms = ttl_ms;
	kc->max = max_entries;
	return kc;
}

/* Empty the table; caller holds the write lock. */
static void
clear_locked(struct kcache *kc)
{
	struct kentry *e, *next;
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		for (e = kc->buckets[i]; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
		kc->buckets[i] = NULL;
	}
	kc->count = 0;
}

void
kcache_free(struct kcache *kc)
{
	if (kc == NULL)
		return;
	clear_locked(kc);
	pthread_rwlock_destroy(&kc->lock);
	free(kc);
}

/* Find an entry; caller holds a lock. */
static struct kentry *
find_locked(struct kcache *kc, const char *name, uint32_t version)
{
	uint64_t h = name_hash(name);
	struct kentry *e;

	for (e = kc->buckets[h % NBUCKETS]; e != NULL; e = e->next)
		if (e->version == version && e->hash == h &&
		    strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/*
 * Remove the entries of name (version: one of them, or every one when
 * all) and return how many went; caller holds the write lock.
 */
static size_t
remove_locked(struct kcache *kc, const char *name, uint32_t version, int all)
{
	uint64_t h = name_hash(name);
	struct kentry **pp, *e;
	size_t n = 0;

	pp = &kc->buckets[h % NBUCKETS];
	while ((e = *pp) != NULL) {
		if ((all || e->version == version) && e->hash == h &&
		    strcmp(e->name, name) == 0) {
			*pp = e->next;
			entry_free(e);
			kc->count--;
			n++;
			if (!all)
				break;
		} else
			pp = &e->next;
	}
	return n;
}

/* Insert a new entry (replacing any old one); caller holds the write lock. */
static void
insert_locked(struct kcache *kc, struct kentry *e)
{
	size_t b;

	remove_locked(kc, e->name, e->version, 0);
	if (kc->count >= kc->max)
		clear_locked(kc);
	e->hash = name_hash(e->name);
	b = e->hash % NBUCKETS;
	e->next = kc->buckets[b];
	kc->buckets[b] = e;
	kc->count++;
}

struct secbuf *
kcache_get_version(struct kcache *kc, const char *name, uint32_t version)
{
	struct kentry *e;
	struct secbuf *copy = NULL;

	pthread_rwlock_rdlock(&kc->lock);
	if ((e = find_locked(kc, name, version)) != NULL)
		copy = secbuf_dup(e->material->data, e->material->len);
	pthread_rwlock_unlock(&kc->lock);
	metrics_cache(MK_VERSION, copy != NULL);
	return copy;
}

void
kcache_put_version(struct kcache *kc, const char *name, uint32_t version,
    const struct secbuf *material)
{
	struct kentry *e;

	if (kc->max == 0 || (e = calloc(1, sizeof(*e))) == NULL)
		return;
	e->name = strdup(name);
	e->version = version;
	e->material = secbuf_dup(material->data, material->len);
	if (e->name == NULL || e->material == NULL) {
		entry_free(e);
		return;
	}
	pthread_rwlock_wrlock(&kc->lock);
	insert_locked(kc, e);
	pthread_rwlock_unlock(&kc->lock);
}

int
kcache_get_current(struct kcache *kc, const char *name, uint32_t *version)
{
	struct kentry *e;
	int found = 0;

	pthread_rwlock_rdlock(&kc->lock);
	if ((e = find_locked(kc, name, CURRENT)) != NULL &&
	    e->expires_ms > clock_mono_ms()) {
		*version = e->current;
		found = 1;
	}
	pthread_rwlock_unlock(&kc->lock);
	metrics_cache(MK_CURRENT, found);
	return found;
}

void
kcache_put_current(struct kcache *kc, const char *name, uint32_t version)
{
	struct kentry *e;

	if (kc->max == 0 || kc->ttl_ms <= 0 ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return;
	if ((e->name = strdup(name)) == NULL) {
		free(e);
		return;
	}
	e->version = CURRENT;
	e->current = version;
	e->expires_ms = clock_mono_ms() + kc->ttl_ms;
	pthread_rwlock_wrlock(&kc->lock);
	insert_locked(kc, e);
	pthread_rwlock_unlock(&kc->lock);
}

int
kcache_get_aclname(struct kcache *kc, const char *name, char *buf, size_t len)
{
	struct kentry *e;
	const char *v;
	int found = 0;

	pthread_rwlock_rdlock(&kc->lock);
	if ((e = find_locked(kc, name, ACLNAME)) != NULL &&
	    e->expires_ms > clock_mono_ms()) {
		v = e->aclname != NULL ? e->aclname : name;
		if (strlen(v) < len) {
			memcpy(buf, v, strlen(v) + 1);
			found = 1;
		}
	}
	pthread_rwlock_unlock(&kc->lock);
	metrics_cache(MK_ACLNAME, found);
	return found;
}

void
kcache_put_aclname(struct kcache *kc, const char *name, const char *aclname)
{
	struct kentry *e;

	if (kc->max == 0 || kc->ttl_ms <= 0 ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return;
	e->name = strdup(name);
	if (aclname != NULL && strcmp(aclname, name) != 0)
		e->aclname = strdup(aclname);
	if (e->name == NULL || (aclname != NULL && strcmp(aclname, name) != 0 &&
	    e->aclname == NULL)) {
		entry_free(e);
		return;
	}
	e->version = ACLNAME;
	e->expires_ms = clock_mono_ms() + kc->ttl_ms;
	pthread_rwlock_wrlock(&kc->lock);
	insert_locked(kc, e);
	pthread_rwlock_unlock(&kc->lock);
}

void
kcache_drop(struct kcache *kc, const char *name)
{
	pthread_rwlock_wrlock(&kc->lock);
	remove_locked(kc, name, 0, 1);
	pthread_rwlock_unlock(&kc->lock);
}

void
kcache_clear(struct kcache *kc)
{
	pthread_rwlock_wrlock(&kc->lock);
	clear_locked(kc);
	pthread_rwlock_unlock(&kc->lock);
}

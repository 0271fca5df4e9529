/*
 * secbuf.h: buffers for secrets (key material, master key, passwords).
 *
 * Memory is wiped with OPENSSL_cleanse before it is freed; long-lived
 * secrets can be locked in memory with secbuf_new_locked.  A small value
 * type: callers read data and len directly but never free data themselves.  A new buffer
 * has one extra zero byte at data[len] (so text secrets are
 * NUL-terminated); a caller may shorten len, and secbuf_free still wipes
 * the whole allocation.
 */
#ifndef KW_SECBUF_H
#define KW_SECBUF_H

#include <stddef.h>

struct secbuf {
	unsigned char	*data;
	size_t		 len;
};

/* A zero-filled buffer of len bytes (len may be 0); NULL on failure. */
struct secbuf	*secbuf_new(size_t len);
/* The same in pages of its own, mlock'd (best effort) and left out of
 * core dumps: for long-lived secrets such as the master key. */
struct secbuf	*secbuf_new_locked(size_t len);
/* A copy of p[0..len). */
struct secbuf	*secbuf_dup(const void *p, size_t len);
/* Wipe and free; NULL is a no-op. */
void		 secbuf_free(struct secbuf *sb);
/* Wipe n bytes at p (for stack copies). */
void		 secure_wipe(void *p, size_t n);
/* Wipe the whole heap block p (from malloc, calloc, realloc, strdup)
 * and free it; NULL is a no-op.  The free function keyward-server gives
 * jansson (json_set_alloc_funcs), and for response and request bodies. */
void		 secure_free(void *p);
/* The same, handing the wiped block to release instead of free (for
 * tests that look at a block before it goes). */
void		 secure_free_using(void *p, void (*release)(void *));
/* Make jansson wipe every block it frees (secure_free), process-wide:
 * JSON values and texts of requests and responses hold key material and
 * data keys.  Call once, before any other thread uses jansson. */
void		 secure_json_alloc(void);
/* Constant-time comparison of two buffers; 1 equal, 0 not. */
int		 secbuf_equal(const struct secbuf *a, const struct secbuf *b);

#endif

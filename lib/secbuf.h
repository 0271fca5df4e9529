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
/* Constant-time comparison of two buffers; 1 equal, 0 not. */
int		 secbuf_equal(const struct secbuf *a, const struct secbuf *b);

#endif

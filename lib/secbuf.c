/*
 * secbuf.c: heap buffers for secrets, and wiping.
 *
 * Owns the allocation, locking and wiping of secret memory.  Every
 * secbuf carries a hidden header recording how many bytes were
 * allocated, so secbuf_free wipes the whole allocation even when a
 * caller has since shortened len (for instance to the decoded length
 * after base64-decoding into a buffer of b64_decoded_max bytes).  One
 * byte more than asked for is allocated and left zero, so a secret read
 * from a text file is NUL-terminated.
 *
 * Ordinary secbufs live on the heap and are not locked: locking every
 * short-lived request buffer costs an mlock/munlock pair of system calls
 * that serialise on the address-space lock (measured: decrypt EEK
 * throughput halved), and two heap buffers sharing a page would unlock
 * each other anyway.  Long-lived secrets (the master key) use
 * secbuf_new_locked: pages of their own, mlock'd (best effort, it fails
 * quietly beyond RLIMIT_MEMLOCK) and excluded from core dumps.  The
 * protections every secbuf has are the wipe and the disabled core dumps
 * (set up by the programs, not here).
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "secbuf.h"

/* The public value type followed by what secbuf_free needs to know. */
struct secbuf_hdr {
	struct secbuf	sb;	/* must be first: callers hold &hdr->sb */
	size_t		cap;	/* bytes allocated at sb.data */
	int		mapped;	/* sb.data is an mlock'd mapping of its own */
};

/*
 * A zero-filled secret buffer of len bytes, plus a zero byte at
 * data[len].  len may be 0 (data is then a valid one-byte buffer).
 * Returns NULL when memory is short.  Free with secbuf_free.
 */
struct secbuf *
secbuf_new(size_t len)
{
	struct secbuf_hdr *h;

	if (len == SIZE_MAX)
		return NULL;
	if ((h = malloc(sizeof(*h))) == NULL)
		return NULL;
	h->cap = len + 1;
	if ((h->sb.data = calloc(1, h->cap)) == NULL) {
		free(h);
		return NULL;
	}
	h->sb.len = len;
	h->mapped = 0;
	return &h->sb;
}

/*
 * Like secbuf_new, but the data lives in pages of its own that are
 * locked in memory (best effort) and left out of core dumps; for
 * long-lived secrets such as the master key.
 */
struct secbuf *
secbuf_new_locked(size_t len)
{
	struct secbuf_hdr *h;
	long pg = sysconf(_SC_PAGESIZE);
	size_t cap;
	void *p;

	if (pg <= 0 || len > SIZE_MAX - (size_t)pg)
		return NULL;
	cap = (len + 1 + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
	if ((h = malloc(sizeof(*h))) == NULL)
		return NULL;
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED) {
		free(h);
		return NULL;
	}
	(void)mlock(p, cap);			/* best effort */
	(void)madvise(p, cap, MADV_DONTDUMP);
	h->sb.data = p;
	h->sb.len = len;
	h->cap = cap;
	h->mapped = 1;
	return &h->sb;
}

/*
 * A new secbuf holding a copy of p[0..len); p may be NULL when len is 0.
 * NULL when memory is short.
 */
struct secbuf *
secbuf_dup(const void *p, size_t len)
{
	struct secbuf *sb;

	if ((sb = secbuf_new(len)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(sb->data, p, len);
	return sb;
}

/*
 * Wipe the whole allocation and free it.  NULL is a no-op.  Only for
 * buffers from secbuf_new/secbuf_dup (or functions documented to return
 * one), never for a struct secbuf built by hand.
 */
void
secbuf_free(struct secbuf *sb)
{
	struct secbuf_hdr *h;

	if (sb == NULL)
		return;
	h = (struct secbuf_hdr *)sb;
	if (h->sb.data != NULL) {
		OPENSSL_cleanse(h->sb.data, h->cap);
		if (h->mapped) {
			(void)munlock(h->sb.data, h->cap);
			(void)munmap(h->sb.data, h->cap);
		} else
			free(h->sb.data);
	}
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
}

/*
 * Overwrite n bytes at p with zeros in a way the compiler may not
 * optimise away; for stack copies of secrets before they go out of
 * scope.  p may be NULL when n is 0.
 */
void
secure_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

/*
 * The allocator knows the size of every block (malloc_usable_size), so
 * no header is needed: a block from plain malloc, realloc or strdup can
 * be wiped, and a block freed with plain free() by code that does not
 * know about wiping is still freed correctly (jansson's json_dumps
 * output, say, whatever frees it).
 */
void
secure_free_using(void *p, void (*release)(void *))
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	release(p);
}

void
secure_free(void *p)
{
	secure_free_using(p, free);
}

void
secure_json_alloc(void)
{
	json_set_alloc_funcs(malloc, secure_free);
}

/*
 * Compare contents in time that depends only on the lengths (which are
 * not secret).  Returns 1 when equal, 0 otherwise; two NULLs are equal,
 * one NULL is not.
 */
int
secbuf_equal(const struct secbuf *a, const struct secbuf *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->len != b->len)
		return 0;
	if (a->len == 0)
		return 1;
	return CRYPTO_memcmp(a->data, b->data, a->len) == 0;
}

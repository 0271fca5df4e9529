/*
 * crypto.h: every use of OpenSSL's cipher APIs in keyward.
 *
 * - wrapping of key material under the master key (KEK) with
 *   AES-256-GCM; the key name, version and KEK id are associated data, so
 *   a wrapped blob copied to another key or version fails to unwrap;
 * - the Hadoop KMS EEK transform: AES-CTR (128 or 256 by key length) with
 *   the counter block = IV with every byte XOR 0xff;
 * - random bytes and the master-key check value;
 * - sealing a keyring under a passphrase: scrypt, then AES-256-GCM over
 *   the sealed text with its header as associated data.
 * Functions are thread-safe.  Nothing here logs.
 */
#ifndef KW_CRYPTO_H
#define KW_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include "kwerr.h"
#include "secbuf.h"

#define KW_KEK_LEN		32	/* master key: AES-256 */
#define KW_IV_LEN		16	/* Hadoop EEK IV */
#define KW_GCM_NONCE_LEN	12
#define KW_GCM_TAG_LEN		16
#define KW_WRAP_OVERHEAD	(KW_GCM_NONCE_LEN + KW_GCM_TAG_LEN)
#define KW_KEK_ID_LEN		16	/* hex characters, NUL not counted */
#define KW_CHECK_LEN		32	/* check value bytes */
#define KW_MAX_KEY_LEN		32	/* longest key material (256 bits) */

/* Fill buf with n random bytes; 0 or -1. */
int	crypto_random(void *buf, size_t n) WUR;

/*
 * Check value of a master key: HMAC-SHA256(kek, "keyward kek check v1").
 * Stored in the database so a server with the wrong master key refuses to
 * start.  kek_id (KW_KEK_ID_LEN + 1 bytes) receives the first 8 bytes of
 * the check value in lower-case hex.  0 or -1.
 */
int	crypto_kek_check(const struct secbuf *kek,
	    unsigned char check[KW_CHECK_LEN], char kek_id[KW_KEK_ID_LEN + 1]) WUR;

/* kek_id of a check value: its first 8 bytes in lower-case hex. */
void	crypto_check_id(const unsigned char check[KW_CHECK_LEN],
	    char kek_id[KW_KEK_ID_LEN + 1]);
/*
 * Check value of a KEK in a token (lib/hsm.c): SHA-256 of a fixed
 * prefix and ct, the token's AES-GCM encryption of a fixed text; kek_id
 * as crypto_check_id.  0 or -1.
 */
int	crypto_hsm_check(const unsigned char *ct, size_t len,
	    unsigned char check[KW_CHECK_LEN], char kek_id[KW_KEK_ID_LEN + 1]) WUR;
/*
 * The associated data crypto_wrap binds, as one new buffer (*len bytes,
 * caller frees; not secret), for a token that takes it whole.  NULL
 * when memory is short.
 */
unsigned char *crypto_wrap_aad(const char *kek_id, const char *name,
	    uint32_t version, size_t *len);

/*
 * Wrap material under kek: out (material->len + KW_WRAP_OVERHEAD bytes,
 * caller-supplied) = nonce || ciphertext || tag.  AAD binds kek_id, name
 * and version.  0 or -1.
 */
int	crypto_wrap(const struct secbuf *kek, const char *kek_id,
	    const char *name, uint32_t version, const struct secbuf *material,
	    unsigned char *out) WUR;

/*
 * Unwrap; returns the material in a new secbuf, or NULL when the blob is
 * too short, was tampered with, or belongs to another name/version/KEK.
 */
struct secbuf *crypto_unwrap(const struct secbuf *kek, const char *kek_id,
	    const char *name, uint32_t version, const unsigned char *wrapped,
	    size_t len);

/*
 * scrypt (RFC 7914) of pass with salt and cost N (a power of two), r, p
 * into out (outlen bytes).  Refuses parameters needing more than 1 GiB.
 * 0 or -1 (out then wiped).
 */
int	crypto_scrypt(const void *pass, size_t passlen,
	    const unsigned char *salt, size_t saltlen, uint64_t n, uint32_t r,
	    uint32_t p, unsigned char *out, size_t outlen) WUR;

/*
 * AES-256-GCM under key (32 bytes) with the 12-byte nonce: out receives
 * len bytes of ciphertext followed by the KW_GCM_TAG_LEN tag; aad (alen
 * bytes, may be 0) is authenticated.  crypto_gcm_open is the reverse
 * (len counts the tag) into a new secbuf, NULL when anything was
 * altered or the key is wrong.  0 or -1.
 */
int	crypto_gcm_seal(const unsigned char key[KW_KEK_LEN],
	    const unsigned char nonce[KW_GCM_NONCE_LEN],
	    const unsigned char *aad, size_t alen, const unsigned char *in,
	    size_t len, unsigned char *out) WUR;
struct secbuf *crypto_gcm_open(const unsigned char key[KW_KEK_LEN],
	    const unsigned char nonce[KW_GCM_NONCE_LEN],
	    const unsigned char *aad, size_t alen, const unsigned char *in,
	    size_t len);

/*
 * The Hadoop EEK transform (encrypt and decrypt are the same operation):
 * out = AES-CTR(key, flip(iv), in).  key->len must be 16 or 32; in and out
 * have len bytes and may be the same buffer.  0 or -1.
 */
int	crypto_eek_ctr(const struct secbuf *key, const unsigned char iv[KW_IV_LEN],
	    const unsigned char *in, size_t len, unsigned char *out) WUR;

/*
 * Plain AES-CTR with the counter block as given (no flip); for the
 * known-answer tests.  keylen 16 or 32.  0 or -1.
 */
int	crypto_aes_ctr(const unsigned char *key, size_t keylen,
	    const unsigned char ctr[16], const unsigned char *in, size_t len,
	    unsigned char *out) WUR;

#endif

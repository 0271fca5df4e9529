/*
 * crypto.c: keyward's only use of OpenSSL's cipher, MAC and RNG APIs.
 *
 * Owns four things: wrapping key material under the master key (KEK)
 * with AES-256-GCM, the Hadoop KMS EEK transform (AES-CTR with a flipped
 * IV), the master key's check value and id, and the primitives of a
 * sealed keyring (scrypt, AES-256-GCM with associated data).  It does not own key
 * material (callers pass and receive secbufs), does not log and keeps no
 * state but the ciphers it fetches from OpenSSL once (each call fetching
 * them again cost a lookup, under a lock, per request), so every
 * function is thread-safe.
 *
 * Wrapped blob: nonce (12, random) || ciphertext || tag (16).  The
 * associated data binds the blob to one KEK, key name and version (a
 * token KEK, lib/hsm.c, takes the same bytes from crypto_wrap_aad):
 *
 *	"keyward-wrap-v1" NUL kek_id NUL uint32-BE(version) name
 *
 * The prefix and kek_id are NUL-terminated, the version has a fixed
 * width and the name runs to the end, so no two (kek_id, name, version)
 * triples encode to the same bytes.  The AAD is fed to GCM piecewise; it
 * is never assembled in memory.
 *
 * Hadoop semantics (KeyProviderCryptoExtension): an EEK is
 * AES-CTR(version key, flip(iv), DEK) where flip XORs every IV byte with
 * 0xff, and the cipher is AES-128 or AES-256 by the key's length.
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto.h"

#define WRAP_AAD_PREFIX		"keyward-wrap-v1"
#define KEK_CHECK_INPUT		"keyward kek check v1"
#define HSM_CHECK_INPUT		"keyward hsm kek check v1"

/* the ciphers keyward uses, fetched once from the default provider and
 * kept for the life of the process */
enum { C_AES128_CTR, C_AES256_CTR, C_AES256_GCM, C_N };
static const char *const cipher_names[C_N] = { "AES-128-CTR",
    "AES-256-CTR", "AES-256-GCM" };
static EVP_CIPHER *ciphers[C_N];
static pthread_once_t ciphers_once = PTHREAD_ONCE_INIT;

static void
fetch_ciphers(void)
{
	int i;

	for (i = 0; i < C_N; i++)
		ciphers[i] = EVP_CIPHER_fetch(NULL, cipher_names[i], NULL);
}

/* The cipher which: the fetched one, or (should the fetch have failed)
 * OpenSSL's built-in one, which fetches on every use. */
static const EVP_CIPHER *
cipher(int which)
{
	(void)pthread_once(&ciphers_once, fetch_ciphers);
	if (ciphers[which] != NULL)
		return ciphers[which];
	switch (which) {
	case C_AES128_CTR:
		return EVP_aes_128_ctr();
	case C_AES256_CTR:
		return EVP_aes_256_ctr();
	default:
		return EVP_aes_256_gcm();
	}
}

/*
 * Fill buf with n bytes from OpenSSL's CSPRNG.  Returns 0, or -1 when the
 * generator fails (buf is then wiped).
 */
int
crypto_random(void *buf, size_t n)
{
	unsigned char	*p = buf;
	size_t		 chunk;

	while (n > 0) {
		chunk = n > INT_MAX ? INT_MAX : n;
		if (RAND_bytes(p, (int)chunk) != 1) {
			OPENSSL_cleanse(buf, (size_t)(p - (unsigned char *)buf));
			return -1;
		}
		p += chunk;
		n -= chunk;
	}
	return 0;
}

/*
 * The check value HMAC-SHA256(kek, "keyward kek check v1") and, in
 * kek_id, its first 8 bytes in lower-case hex.  The check value reveals
 * nothing useful about the KEK and identifies it in the database and in
 * wrapped rows.  kek->len must be KW_KEK_LEN.  0 or -1.
 */
int
crypto_kek_check(const struct secbuf *kek, unsigned char check[KW_CHECK_LEN],
    char kek_id[KW_KEK_ID_LEN + 1])
{
	unsigned int		 mdlen = 0;

	if (kek == NULL || kek->len != KW_KEK_LEN || check == NULL ||
	    kek_id == NULL)
		return -1;
	if (HMAC(EVP_sha256(), kek->data, (int)kek->len,
	    (const unsigned char *)KEK_CHECK_INPUT, sizeof(KEK_CHECK_INPUT) - 1,
	    check, &mdlen) == NULL || mdlen != KW_CHECK_LEN) {
		OPENSSL_cleanse(check, KW_CHECK_LEN);
		return -1;
	}
	crypto_check_id(check, kek_id);
	return 0;
}

/*
 * kek_id: the first 8 bytes of a check value in lower-case hex.
 */
void
crypto_check_id(const unsigned char check[KW_CHECK_LEN],
    char kek_id[KW_KEK_ID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	int			 i;

	for (i = 0; i < KW_KEK_ID_LEN / 2; i++) {
		kek_id[2 * i] = hex[check[i] >> 4];
		kek_id[2 * i + 1] = hex[check[i] & 0x0f];
	}
	kek_id[KW_KEK_ID_LEN] = '\0';
}

/*
 * The check value of a KEK held in a token: SHA-256 over "keyward hsm
 * kek check v1" and what the token made of it (ct, len bytes).  0 or -1.
 */
int
crypto_hsm_check(const unsigned char *ct, size_t len,
    unsigned char check[KW_CHECK_LEN], char kek_id[KW_KEK_ID_LEN + 1])
{
	EVP_MD_CTX	*md;
	unsigned int	 mdlen = 0;
	int		 ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, HSM_CHECK_INPUT, sizeof(HSM_CHECK_INPUT)) == 1 &&
	    EVP_DigestUpdate(md, ct, len) == 1 &&
	    EVP_DigestFinal_ex(md, check, &mdlen) == 1 && mdlen == KW_CHECK_LEN;
	EVP_MD_CTX_free(md);
	if (!ok)
		return -1;
	crypto_check_id(check, kek_id);
	return 0;
}

/*
 * The associated data of a wrap, in memory, for a token that takes it in
 * one piece: a new buffer (*len bytes, caller frees) or NULL.  Not
 * secret.
 */
unsigned char *
crypto_wrap_aad(const char *kek_id, const char *name, uint32_t version,
    size_t *len)
{
	unsigned char	*buf, *p;
	size_t		 idlen, namelen, n;

	idlen = strlen(kek_id);
	namelen = strlen(name);
	if (idlen > 256 || namelen > INT_MAX)
		return NULL;
	n = sizeof(WRAP_AAD_PREFIX) + idlen + 1 + 4 + namelen;
	if ((buf = malloc(n)) == NULL)
		return NULL;
	p = buf;
	memcpy(p, WRAP_AAD_PREFIX, sizeof(WRAP_AAD_PREFIX));
	p += sizeof(WRAP_AAD_PREFIX);
	memcpy(p, kek_id, idlen + 1);
	p += idlen + 1;
	*p++ = (unsigned char)(version >> 24);
	*p++ = (unsigned char)(version >> 16);
	*p++ = (unsigned char)(version >> 8);
	*p++ = (unsigned char)version;
	memcpy(p, name, namelen);
	*len = n;
	return buf;
}

/*
 * Feed the associated data for (kek_id, name, version) to ctx, which is
 * set up for GCM in either direction (EVP_CipherUpdate serves both).
 * 0 or -1.
 */
static int
wrap_aad(EVP_CIPHER_CTX *ctx, const char *kek_id, const char *name,
    uint32_t version)
{
	unsigned char	ver[4];
	size_t		idlen, namelen;
	int		outl;

	idlen = strlen(kek_id);
	namelen = strlen(name);
	if (idlen > 256 || namelen > INT_MAX)
		return -1;
	ver[0] = (unsigned char)(version >> 24);
	ver[1] = (unsigned char)(version >> 16);
	ver[2] = (unsigned char)(version >> 8);
	ver[3] = (unsigned char)version;

#define AAD(p, n)	(EVP_CipherUpdate(ctx, NULL, &outl, \
			    (const unsigned char *)(p), (int)(n)) == 1)
	if (!AAD(WRAP_AAD_PREFIX, sizeof(WRAP_AAD_PREFIX)) ||
	    !AAD(kek_id, idlen + 1) ||
	    !AAD(ver, sizeof(ver)) ||
	    (namelen > 0 && !AAD(name, namelen)))
		return -1;
#undef AAD
	return 0;
}

/*
 * Wrap material under kek with AES-256-GCM: out receives
 * material->len + KW_WRAP_OVERHEAD bytes, nonce || ciphertext || tag.
 * kek->len must be KW_KEK_LEN; kek_id and name are NUL-terminated
 * strings bound as associated data together with version.  0 or -1 (out
 * is then wiped).
 */
int
crypto_wrap(const struct secbuf *kek, const char *kek_id, const char *name,
    uint32_t version, const struct secbuf *material, unsigned char *out)
{
	EVP_CIPHER_CTX	*ctx = NULL;
	unsigned char	*nonce, *ct, *tag;
	int		 outl, rv = -1;

	if (kek == NULL || kek->len != KW_KEK_LEN || kek_id == NULL ||
	    name == NULL || material == NULL || out == NULL ||
	    material->len > INT_MAX - KW_WRAP_OVERHEAD)
		return -1;
	nonce = out;
	ct = out + KW_GCM_NONCE_LEN;
	tag = ct + material->len;

	if (crypto_random(nonce, KW_GCM_NONCE_LEN) != 0)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, cipher(C_AES256_GCM), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, KW_GCM_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, kek->data, nonce) != 1)
		goto out;
	if (wrap_aad(ctx, kek_id, name, version) != 0)
		goto out;
	if (material->len > 0 && (EVP_EncryptUpdate(ctx, ct, &outl,
	    material->data, (int)material->len) != 1 ||
	    (size_t)outl != material->len))
		goto out;
	if (EVP_EncryptFinal_ex(ctx, tag, &outl) != 1 || outl != 0)
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, KW_GCM_TAG_LEN,
	    tag) != 1)
		goto out;
	rv = 0;
out:
	if (rv != 0)
		OPENSSL_cleanse(out, material->len + KW_WRAP_OVERHEAD);
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

/*
 * Unwrap a blob made by crypto_wrap with the same kek, kek_id, name and
 * version.  Returns the material in a new secbuf (caller frees), or NULL
 * when the blob is too short, was altered, or belongs to another KEK,
 * key or version; the caller cannot tell these apart, by design.
 */
struct secbuf *
crypto_unwrap(const struct secbuf *kek, const char *kek_id, const char *name,
    uint32_t version, const unsigned char *wrapped, size_t len)
{
	EVP_CIPHER_CTX		*ctx = NULL;
	struct secbuf		*sb = NULL;
	const unsigned char	*nonce, *ct, *tag;
	unsigned char		 tagcopy[KW_GCM_TAG_LEN];
	unsigned char		 fin[16];
	size_t			 ctlen;
	int			 outl, ok = 0;

	if (kek == NULL || kek->len != KW_KEK_LEN || kek_id == NULL ||
	    name == NULL || wrapped == NULL || len < KW_WRAP_OVERHEAD ||
	    len > INT_MAX)
		return NULL;
	ctlen = len - KW_WRAP_OVERHEAD;
	nonce = wrapped;
	ct = wrapped + KW_GCM_NONCE_LEN;
	tag = ct + ctlen;
	/* EVP's SET_TAG takes a non-const pointer. */
	memcpy(tagcopy, tag, sizeof(tagcopy));

	if ((sb = secbuf_new(ctlen)) == NULL)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex(ctx, cipher(C_AES256_GCM), NULL, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, KW_GCM_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_DecryptInit_ex(ctx, NULL, NULL, kek->data, nonce) != 1)
		goto out;
	if (wrap_aad(ctx, kek_id, name, version) != 0)
		goto out;
	if (ctlen > 0 && (EVP_DecryptUpdate(ctx, sb->data, &outl, ct,
	    (int)ctlen) != 1 || (size_t)outl != ctlen))
		goto out;
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, KW_GCM_TAG_LEN,
	    tagcopy) != 1)
		goto out;
	/* The tag check: fails for any change to nonce, data, tag or AAD. */
	if (EVP_DecryptFinal_ex(ctx, fin, &outl) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(fin, sizeof(fin));
	if (!ok) {
		secbuf_free(sb);
		sb = NULL;
	}
	return sb;
}

int
crypto_scrypt(const void *pass, size_t passlen, const unsigned char *salt,
    size_t saltlen, uint64_t n, uint32_t r, uint32_t p, unsigned char *out,
    size_t outlen)
{
	/* scrypt needs 128 * N * r bytes (and p times that for the lanes) */
	const uint64_t maxmem = (uint64_t)1 << 30;

	if (pass == NULL || salt == NULL || out == NULL || n < 2 ||
	    (n & (n - 1)) != 0 || r == 0 || p == 0 ||
	    n > maxmem / 128 / r || (uint64_t)p * r > maxmem / 128)
		return -1;
	if (EVP_PBE_scrypt(pass, passlen, salt, saltlen, n, r, p,
	    maxmem + (maxmem >> 2), out, outlen) != 1) {
		OPENSSL_cleanse(out, outlen);
		return -1;
	}
	return 0;
}

/*
 * One AES-256-GCM pass in direction enc (1 seal, 0 open) over in[0..len)
 * into out, with aad; tag is written (seal) or checked (open).  0 or -1.
 */
static int
gcm_run(int enc, const unsigned char *key, const unsigned char *nonce,
    const unsigned char *aad, size_t alen, const unsigned char *in,
    size_t len, unsigned char *out, unsigned char *tag)
{
	EVP_CIPHER_CTX	*ctx;
	unsigned char	 fin[16];
	int		 outl, rv = -1;

	if (len > INT_MAX || alen > INT_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(ctx, cipher(C_AES256_GCM), NULL, NULL, NULL,
	    enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, KW_GCM_NONCE_LEN,
	    NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1)
		goto out;
	if (alen > 0 && EVP_CipherUpdate(ctx, NULL, &outl, aad,
	    (int)alen) != 1)
		goto out;
	if (len > 0 && (EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1 ||
	    (size_t)outl != len))
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
	    KW_GCM_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, fin, &outl) != 1)
		goto out;
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
	    KW_GCM_TAG_LEN, tag) != 1)
		goto out;
	rv = 0;
out:
	OPENSSL_cleanse(fin, sizeof(fin));
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

int
crypto_gcm_seal(const unsigned char key[KW_KEK_LEN],
    const unsigned char nonce[KW_GCM_NONCE_LEN], const unsigned char *aad,
    size_t alen, const unsigned char *in, size_t len, unsigned char *out)
{
	if (key == NULL || nonce == NULL || (len > 0 && (in == NULL ||
	    out == NULL)) || (alen > 0 && aad == NULL))
		return -1;
	if (gcm_run(1, key, nonce, aad, alen, in, len, out, out + len) != 0) {
		OPENSSL_cleanse(out, len + KW_GCM_TAG_LEN);
		return -1;
	}
	return 0;
}

struct secbuf *
crypto_gcm_open(const unsigned char key[KW_KEK_LEN],
    const unsigned char nonce[KW_GCM_NONCE_LEN], const unsigned char *aad,
    size_t alen, const unsigned char *in, size_t len)
{
	struct secbuf	*sb;
	unsigned char	 tag[KW_GCM_TAG_LEN];

	if (key == NULL || nonce == NULL || in == NULL ||
	    len < KW_GCM_TAG_LEN || (alen > 0 && aad == NULL))
		return NULL;
	len -= KW_GCM_TAG_LEN;
	memcpy(tag, in + len, sizeof(tag));
	if ((sb = secbuf_new(len)) == NULL)
		return NULL;
	if (gcm_run(0, key, nonce, aad, alen, in, len, sb->data, tag) != 0) {
		secbuf_free(sb);
		return NULL;
	}
	return sb;
}

/*
 * Plain AES-CTR (encryption and decryption are the same): out =
 * in XOR keystream(key, ctr), with the whole 16-byte block as a
 * big-endian counter.  keylen 16 (AES-128) or 32 (AES-256).  in and out
 * may be the same buffer.  0 or -1 (out is then wiped).
 */
int
crypto_aes_ctr(const unsigned char *key, size_t keylen,
    const unsigned char ctr[16], const unsigned char *in, size_t len,
    unsigned char *out)
{
	EVP_CIPHER_CTX		*ctx = NULL;
	const EVP_CIPHER	*c;
	unsigned char		 fin[16];
	size_t			 done, chunk;
	int			 outl, rv = -1;

	if (key == NULL || ctr == NULL || (len > 0 && (in == NULL ||
	    out == NULL)))
		return -1;
	if (keylen == 16)
		c = cipher(C_AES128_CTR);
	else if (keylen == 32)
		c = cipher(C_AES256_CTR);
	else
		return -1;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_EncryptInit_ex(ctx, c, NULL, key, ctr) != 1)
		goto out;
	for (done = 0; done < len; done += chunk) {
		chunk = len - done > INT_MAX / 2 ? INT_MAX / 2 : len - done;
		if (EVP_EncryptUpdate(ctx, out + done, &outl, in + done,
		    (int)chunk) != 1 || (size_t)outl != chunk)
			goto out;
	}
	if (EVP_EncryptFinal_ex(ctx, fin, &outl) != 1 || outl != 0)
		goto out;
	rv = 0;
out:
	if (rv != 0 && len > 0 && out != NULL)
		OPENSSL_cleanse(out, len);
	OPENSSL_cleanse(fin, sizeof(fin));
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

/*
 * The Hadoop KMS EEK transform: AES-CTR under key (16 or 32 bytes) with
 * the counter block iv XOR 0xff...ff.  Used both to make an EEK from a
 * DEK and to recover the DEK.  in and out may be the same buffer.  0 or
 * -1.
 */
int
crypto_eek_ctr(const struct secbuf *key, const unsigned char iv[KW_IV_LEN],
    const unsigned char *in, size_t len, unsigned char *out)
{
	unsigned char	ctr[KW_IV_LEN];
	int		i, rv;

	if (key == NULL || iv == NULL || (key->len != 16 && key->len != 32))
		return -1;
	for (i = 0; i < KW_IV_LEN; i++)
		ctr[i] = iv[i] ^ 0xff;
	rv = crypto_aes_ctr(key->data, key->len, ctr, in, len, out);
	OPENSSL_cleanse(ctr, sizeof(ctr));
	return rv;
}

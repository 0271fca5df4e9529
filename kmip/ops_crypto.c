/*
 * ops_crypto.c: KMIP Encrypt and Decrypt with an Active AES key: GCM
 * (the default: a random 12-byte IV, a 16-byte tag, additional data when
 * given), CBC (PKCS#5 padding when asked, else none) and CTR, as the
 * request's Cryptographic Parameters say.  The key is unwrapped for the
 * call and wiped after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "ops.h"
#include "../lib/crypto.h"

#define GCM_IV_LEN	12
#define GCM_TAG_LEN	16
#define BLOCK		16

/* What one call asks for. */
struct cparams {
	uint32_t		 mode;
	uint32_t		 pad;
	int32_t			 tag_len;
	const unsigned char	*data, *iv, *aad, *tag;
	size_t			 data_len, iv_len, aad_len, tag_len_given;
};

static const EVP_CIPHER *
cipher_of(uint32_t mode, int bits)
{
	switch (mode) {
	case KMIP_MODE_GCM:
		return bits == 128 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
	case KMIP_MODE_CBC:
		return bits == 128 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
	case KMIP_MODE_CTR:
		return bits == 128 ? EVP_aes_128_ctr() : EVP_aes_256_ctr();
	default:
		return NULL;
	}
}

/* Optional fields: the default stays when absent. */
static void
opt_enum(const struct ttlv *t, uint32_t *v)
{
	if (ttlv_get_enum(t, v) != 0)
		return;
}

static void
opt_int(const struct ttlv *t, int32_t *v)
{
	if (ttlv_get_int(t, v) != 0)
		return;
}

static void
opt_bytes(const struct ttlv *t, const unsigned char **p, size_t *n)
{
	if (ttlv_get_bytes(t, p, n) != 0)
		return;
}

/* The request's fields into p: 0, or -1 answered. */
static int
read_params(struct kmip_call *k, struct cparams *p, int usage)
{
	const struct ttlv *pl = k->item->payload, *cp;
	uint32_t alg;

	memset(p, 0, sizeof(*p));
	p->mode = KMIP_MODE_GCM;
	p->pad = KMIP_PAD_NONE;
	p->tag_len = GCM_TAG_LEN;
	if ((cp = ttlv_find(pl, KMIP_TAG_CRYPTOGRAPHIC_PARAMETERS)) != NULL) {
		opt_enum(ttlv_find(cp, KMIP_TAG_BLOCK_CIPHER_MODE),
		    &p->mode);
		opt_enum(ttlv_find(cp, KMIP_TAG_PADDING_METHOD),
		    &p->pad);
		opt_int(ttlv_find(cp, KMIP_TAG_TAG_LENGTH),
		    &p->tag_len);
		if (ttlv_get_enum(ttlv_find(cp,
		    KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM), &alg) == 0 &&
		    alg != KMIP_ALG_AES)
			goto unsupported;
	}
	if (cipher_of(p->mode, 128) == NULL ||
	    (p->pad != KMIP_PAD_NONE && !(p->mode == KMIP_MODE_CBC &&
	    p->pad == KMIP_PAD_PKCS5)) ||
	    (p->mode == KMIP_MODE_GCM && (p->tag_len < 12 ||
	    p->tag_len > GCM_TAG_LEN)))
		goto unsupported;
	if (p->mode == KMIP_MODE_GCM && k->ver.major == 1 && k->ver.minor < 4) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD, "AES-GCM needs "
		    "KMIP 1.4 or later (its tag travels in the Authenticated "
		    "Encryption Tag); ask for CBC or CTR in Cryptographic "
		    "Parameters, or speak 1.4 or 2.0");
		return -1;
	}
	if (ttlv_get_bytes(ttlv_find(pl, KMIP_TAG_DATA), &p->data,
	    &p->data_len) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA,
		    "the request carries no Data");
		return -1;
	}
	opt_bytes(ttlv_find(pl, KMIP_TAG_IV_COUNTER_NONCE), &p->iv,
	    &p->iv_len);
	opt_bytes(ttlv_find(pl,
	    KMIP_TAG_AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA), &p->aad,
	    &p->aad_len);
	opt_bytes(ttlv_find(pl, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG),
	    &p->tag, &p->tag_len_given);
	if (k->obj.row.usage_mask != 0 && !(k->obj.row.usage_mask & usage)) {
		kc_fail(k, KW_EDENIED, kc_v2(k) ?
		    KMIP_REASON_INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK :
		    KMIP_REASON_PERMISSION_DENIED, "the key's Cryptographic "
		    "Usage Mask does not allow %s", usage == KMIP_USAGE_ENCRYPT ?
		    "Encrypt" : "Decrypt");
		return -1;
	}
	return 0;
unsupported:
	kc_fail(k, KW_EINVAL, kc_v2(k) ?
	    KMIP_REASON_UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS :
	    KMIP_REASON_INVALID_FIELD, "supported: AES in GCM (tag 12 to 16 "
	    "bytes), CBC (no padding or PKCS5) or CTR mode");
	return -1;
}

/* The key, if the object may be used: NULL answered. */
static struct secbuf *
usable_key(struct kmip_call *k)
{
	struct secbuf *key;

	if (!kc_loaded(k))
		return NULL;
	if (k->obj.row.state != KMIP_STATE_ACTIVE) {
		kc_fail(k, KW_EINVAL, kc_state_reason(k), "object %s is not "
		    "Active", k->obj.row.uid);
		return NULL;
	}
	if ((key = kobj_material(k->ctx, &k->obj)) == NULL)
		kc_fail(k, KW_ECRYPTO, KMIP_REASON_GENERAL_FAILURE,
		    "the key does not unwrap on this node");
	return key;
}

/*
 * Run the cipher over p->data into out (room for data_len + BLOCK):
 * *outlen, and the GCM tag into tag when encrypting.  0, or -1.
 */
static int
run_cipher(const struct cparams *p, const struct secbuf *key,
    const unsigned char *iv, size_t ivlen, int enc, unsigned char *out,
    size_t *outlen, unsigned char *tag)
{
	EVP_CIPHER_CTX *cx;
	int n = 0, m = 0, ok = 0, gcm = p->mode == KMIP_MODE_GCM;

	if ((cx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_CipherInit_ex(cx, cipher_of(p->mode, (int)key->len * 8), NULL,
	    NULL, NULL, enc) != 1)
		goto out;
	if (gcm && EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_IVLEN, (int)ivlen,
	    NULL) != 1)
		goto out;
	if (EVP_CipherInit_ex(cx, NULL, NULL, key->data, iv, enc) != 1)
		goto out;
	EVP_CIPHER_CTX_set_padding(cx, p->pad == KMIP_PAD_PKCS5);
	if (gcm && p->aad_len > 0 && EVP_CipherUpdate(cx, NULL, &n, p->aad,
	    (int)p->aad_len) != 1)
		goto out;
	if (gcm && !enc && EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG,
	    (int)p->tag_len_given, (void *)(uintptr_t)p->tag) != 1)
		goto out;
	if (EVP_CipherUpdate(cx, out, &n, p->data, (int)p->data_len) != 1 ||
	    EVP_CipherFinal_ex(cx, out + n, &m) != 1)
		goto out;
	*outlen = (size_t)n + (size_t)m;
	if (gcm && enc && EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG,
	    p->tag_len, tag) != 1)
		goto out;
	ok = 1;
out:
	EVP_CIPHER_CTX_free(cx);
	return ok ? 0 : -1;
}

/* The IV length mode wants (GCM: any from 1, 12 by default). */
static size_t
iv_len(uint32_t mode)
{
	return mode == KMIP_MODE_GCM ? GCM_IV_LEN : BLOCK;
}

static void
crypt(struct svc_call *c, int enc)
{
	struct kmip_call *k = c->args;
	struct cparams p;
	struct secbuf *key = NULL, *out = NULL;
	unsigned char ivbuf[BLOCK], tag[GCM_TAG_LEN];
	const unsigned char *iv;
	size_t ivlen, outlen = 0;
	struct ttlv_buf *b;
	int gen = 0;

	if (!kc_loaded(k) || read_params(k, &p, enc ? KMIP_USAGE_ENCRYPT :
	    KMIP_USAGE_DECRYPT) != 0 || (key = usable_key(k)) == NULL)
		goto done;
	iv = p.iv;
	ivlen = p.iv_len;
	if (iv == NULL && enc) {
		ivlen = iv_len(p.mode);
		if (crypto_random(ivbuf, ivlen) != 0)
			goto fail;
		iv = ivbuf;
		gen = 1;
	}
	if (iv == NULL || (p.mode != KMIP_MODE_GCM && ivlen != BLOCK) ||
	    ivlen == 0 || ivlen > 128) {
		kc_fail(k, KW_EINVAL, kc_v2(k) ?
		    KMIP_REASON_MISSING_INITIALIZATION_VECTOR :
		    KMIP_REASON_INVALID_FIELD, "an IV/Counter/Nonce of %s is "
		    "needed", p.mode == KMIP_MODE_GCM ? "1 to 128 bytes" :
		    "16 bytes");
		goto done;
	}
	if (!enc && p.mode == KMIP_MODE_GCM && (p.tag == NULL ||
	    p.tag_len_given < 12 || p.tag_len_given > GCM_TAG_LEN)) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA, "GCM decrypt "
		    "needs the Authenticated Encryption Tag (12 to 16 bytes)");
		goto done;
	}
	if ((out = secbuf_new(p.data_len + BLOCK)) == NULL)
		goto fail;
	if (run_cipher(&p, key, iv, ivlen, enc, out->data, &outlen, tag) != 0) {
		kc_fail(k, KW_ECRYPTO, KMIP_REASON_CRYPTOGRAPHIC_FAILURE, "%s",
		    enc ? "encryption failed (CBC without padding needs whole "
		    "16-byte blocks)" : "decryption failed: wrong key, IV, "
		    "tag, additional data or padding");
		goto done;
	}
	b = kc_ok(k);
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, k->obj.row.uid,
	    strlen(k->obj.row.uid));
	ttlv_put_bytes(b, KMIP_TAG_DATA, out->data, outlen);
	if (gen)
		ttlv_put_bytes(b, KMIP_TAG_IV_COUNTER_NONCE, iv, ivlen);
	if (enc && p.mode == KMIP_MODE_GCM)
		ttlv_put_bytes(b, KMIP_TAG_AUTHENTICATED_ENCRYPTION_TAG, tag,
		    (size_t)p.tag_len);
	goto done;
fail:
	kc_fail(k, KW_ECRYPTO, KMIP_REASON_GENERAL_FAILURE, "out of memory "
	    "or random numbers");
done:
	secbuf_free(key);
	secbuf_free(out);
}

void
kop_encrypt(struct svc_call *c)
{
	crypt(c, 1);
}

void
kop_decrypt(struct svc_call *c)
{
	crypt(c, 0);
}

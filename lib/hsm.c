/*
 * hsm.c: master keys held in a PKCS#11 token (hsm.h).
 *
 * Owns the module (dlopen), the login, a pool of sessions and the
 * in-token AES-GCM that wraps and unwraps key versions.  Does not own
 * the keyring (lib/keyring.c holds token KEKs beside file ones) or the
 * check against the database (server/kekring.c).  The associated data
 * and blob layout are crypto.c's: nonce (12, from OpenSSL's generator,
 * passed to the token as the IV) || ciphertext || tag (16).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "errbuf.h"
#include "hsm.h"
#include "keyring.h"
#include "secfile.h"

#define POOL_MAX	16	/* sessions: about the worker threads */
#define CHECK_TEXT	"keyward hsm kek check v1"

struct hsm {
	void			*dl;
	CK_FUNCTION_LIST_PTR	 f;
	int			 finalize;	/* we initialized the module */
	CK_SLOT_ID		 slot;
	CK_SESSION_HANDLE	 login;		/* holds the login */
	char			*key_label;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	CK_SESSION_HANDLE	 free_s[POOL_MAX];
	size_t			 nfree;
	size_t			 nopen;
};

/* Does the blank-padded 32-byte token label equal want? */
static int
label_is(const unsigned char label[32], const char *want)
{
	size_t n = strlen(want), i;

	if (n > 32 || memcmp(label, want, n) != 0)
		return 0;
	for (i = n; i < 32; i++)
		if (label[i] != ' ')
			return 0;
	return 1;
}

/* The slot whose token has this label: 0, or -1 with err. */
static int
find_slot(struct hsm *h, const char *label, char *err, size_t errlen)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i;
	CK_TOKEN_INFO ti;
	int rc = -1;

	if (h->f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK)
		goto none;
	if (n > 0 && ((slots = calloc(n, sizeof(*slots))) == NULL ||
	    h->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK))
		goto none;
	for (i = 0; i < n; i++)
		if (h->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    label_is(ti.label, label)) {
			h->slot = slots[i];
			rc = 0;
			break;
		}
none:
	if (rc != 0)
		kw_seterr(err, errlen, "no PKCS#11 token labelled \"%s\" is "
		    "present (keys.hsm_token_label)", label);
	free(slots);
	return rc;
}

struct hsm *
hsm_open(const struct hsm_opts *o, char *err, size_t errlen)
{
	CK_C_INITIALIZE_ARGS ia;
	CK_RV (*getlist)(CK_FUNCTION_LIST_PTR_PTR);
	struct secbuf *pin = NULL;
	struct hsm *h;
	CK_RV rv;
	char perr[512];

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->key_label = strdup(o->key_label)) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		goto fail;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->login = CK_INVALID_HANDLE;
	if ((h->dl = dlopen(o->module, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		kw_seterr(err, errlen, "could not load PKCS#11 module \"%s\" "
		    "(keys.hsm_module)", o->module);
		goto fail;
	}
	*(void **)&getlist = dlsym(h->dl, "C_GetFunctionList");
	if (getlist == NULL || getlist(&h->f) != CKR_OK || h->f == NULL) {
		kw_seterr(err, errlen, "\"%s\" is not a PKCS#11 module",
		    o->module);
		goto fail;
	}
	memset(&ia, 0, sizeof(ia));
	ia.flags = CKF_OS_LOCKING_OK;
	rv = h->f->C_Initialize(&ia);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		kw_seterr(err, errlen, "PKCS#11 module \"%s\" failed to "
		    "initialize (error 0x%lx)", o->module, (unsigned long)rv);
		goto fail;
	}
	h->finalize = rv == CKR_OK;
	if (find_slot(h, o->token_label, err, errlen) != 0)
		goto fail;
	if ((pin = secfile_read_password(o->pin_file, perr,
	    sizeof(perr))) == NULL) {
		kw_seterr(err, errlen, "token PIN: %s", perr);
		goto fail;
	}
	if (h->f->C_OpenSession(h->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
	    NULL, NULL, &h->login) != CKR_OK) {
		h->login = CK_INVALID_HANDLE;
		kw_seterr(err, errlen, "could not open a session with token "
		    "\"%s\"", o->token_label);
		goto fail;
	}
	rv = h->f->C_Login(h->login, CKU_USER, pin->data, pin->len);
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE) {
		kw_seterr(err, errlen, "token \"%s\" refused the PIN in \"%s\" "
		    "(keys.hsm_pin_file): wrong PIN", o->token_label,
		    o->pin_file);
		goto fail;
	}
	if (rv == CKR_PIN_LOCKED) {
		kw_seterr(err, errlen, "token \"%s\": the user PIN is locked",
		    o->token_label);
		goto fail;
	}
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		kw_seterr(err, errlen, "could not log in to token \"%s\" (error "
		    "0x%lx)", o->token_label, (unsigned long)rv);
		goto fail;
	}
	secbuf_free(pin);
	return h;
fail:
	secbuf_free(pin);
	hsm_free(h);
	return NULL;
}

void
hsm_free(struct hsm *h)
{
	size_t i;

	if (h == NULL)
		return;
	if (h->f != NULL) {
		for (i = 0; i < h->nfree; i++)
			h->f->C_CloseSession(h->free_s[i]);
		if (h->login != CK_INVALID_HANDLE) {
			h->f->C_Logout(h->login);
			h->f->C_CloseSession(h->login);
		}
		if (h->finalize)
			h->f->C_Finalize(NULL);
	}
	if (h->dl != NULL)
		dlclose(h->dl);
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h->key_label);
	free(h);
}

/* A session from the pool (opened when none is free and there is room;
 * else wait for one): 0, or -1. */
static int
session_get(struct hsm *h, CK_SESSION_HANDLE *s)
{
	int rc = 0;

	pthread_mutex_lock(&h->mu);
	while (h->nfree == 0 && h->nopen >= POOL_MAX)
		pthread_cond_wait(&h->cv, &h->mu);
	if (h->nfree > 0)
		*s = h->free_s[--h->nfree];
	else if (h->f->C_OpenSession(h->slot, CKF_SERIAL_SESSION, NULL, NULL,
	    s) == CKR_OK)
		h->nopen++;
	else
		rc = -1;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

static void
session_put(struct hsm *h, CK_SESSION_HANDLE s)
{
	pthread_mutex_lock(&h->mu);
	h->free_s[h->nfree++] = s;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

/*
 * One AES-GCM operation in the token: encrypt (enc) or decrypt in[0..len)
 * into out (room for *outlen; receives the length) with nonce and aad.
 * 0 or -1.
 */
static int
gcm(struct hsm *h, CK_OBJECT_HANDLE key, int enc, const unsigned char *nonce,
    const unsigned char *aad, size_t alen, const unsigned char *in,
    size_t len, unsigned char *out, CK_ULONG *outlen)
{
	CK_GCM_PARAMS gp;
	CK_MECHANISM mech;
	CK_SESSION_HANDLE s;
	unsigned char iv[KW_GCM_NONCE_LEN];
	CK_RV rv;

	memcpy(iv, nonce, sizeof(iv));
	memset(&gp, 0, sizeof(gp));
	gp.pIv = iv;
	gp.ulIvLen = sizeof(iv);
	gp.ulIvBits = 8 * sizeof(iv);
	gp.pAAD = (unsigned char *)(uintptr_t)aad;
	gp.ulAADLen = alen;
	gp.ulTagBits = 8 * KW_GCM_TAG_LEN;
	mech.mechanism = CKM_AES_GCM;
	mech.pParameter = &gp;
	mech.ulParameterLen = sizeof(gp);
	if (session_get(h, &s) != 0)
		return -1;
	if (enc) {
		rv = h->f->C_EncryptInit(s, &mech, key);
		if (rv == CKR_OK)
			rv = h->f->C_Encrypt(s, (unsigned char *)(uintptr_t)in,
			    len, out, outlen);
	} else {
		rv = h->f->C_DecryptInit(s, &mech, key);
		if (rv == CKR_OK)
			rv = h->f->C_Decrypt(s, (unsigned char *)(uintptr_t)in,
			    len, out, outlen);
	}
	session_put(h, s);
	return rv == CKR_OK ? 0 : -1;
}

/* Read the attributes of key k and its check value: 0, or -1 with err. */
static int
kek_load(struct hsm *h, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
    struct hsm_kek *k, char *err, size_t errlen)
{
	static const unsigned char zero[KW_GCM_NONCE_LEN];
	CK_KEY_TYPE type = 0;
	CK_ULONG vlen = 0, clen;
	CK_BBOOL sens = CK_FALSE, extr = CK_TRUE;
	CK_ATTRIBUTE a[] = {
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		{ CKA_SENSITIVE, &sens, sizeof(sens) },
		{ CKA_EXTRACTABLE, &extr, sizeof(extr) },
	};
	unsigned char ct[sizeof(CHECK_TEXT) - 1 + KW_GCM_TAG_LEN];

	if (h->f->C_GetAttributeValue(s, obj, a, 4) != CKR_OK ||
	    type != CKK_AES || vlen != KW_KEK_LEN) {
		kw_seterr(err, errlen, "the token's key labelled \"%s\" is not "
		    "an AES-256 key", h->key_label);
		return -1;
	}
	if (sens != CK_TRUE || extr != CK_FALSE) {
		kw_seterr(err, errlen, "the token's key labelled \"%s\" is "
		    "extractable or not sensitive: a master key must never "
		    "leave the token", h->key_label);
		return -1;
	}
	/* a fixed nonce for a fixed text: the same output every time, and a
	 * wrap's random nonce meets it with probability 2^-96 */
	clen = sizeof(ct);
	if (gcm(h, obj, 1, zero, NULL, 0, (const unsigned char *)CHECK_TEXT,
	    sizeof(CHECK_TEXT) - 1, ct, &clen) != 0 || clen != sizeof(ct) ||
	    crypto_hsm_check(ct, clen, k->check, k->id) != 0) {
		kw_seterr(err, errlen, "the token's key labelled \"%s\" does not "
		    "encrypt with AES-GCM", h->key_label);
		return -1;
	}
	k->handle = obj;
	return 0;
}

int
hsm_keks(struct hsm *h, struct hsm_kek *keks, size_t max, size_t *n,
    char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, h->key_label, strlen(h->key_label) },
	};
	CK_OBJECT_HANDLE objs[64];
	CK_ULONG got = 0, i;
	CK_SESSION_HANDLE s;
	int rc = -1;

	*n = 0;
	if (session_get(h, &s) != 0) {
		kw_seterr(err, errlen, "could not open a token session");
		return -1;
	}
	if (h->f->C_FindObjectsInit(s, t, 2) != CKR_OK) {
		kw_seterr(err, errlen, "could not search the token");
		goto out;
	}
	if (h->f->C_FindObjects(s, objs, 64, &got) != CKR_OK)
		got = 0;
	h->f->C_FindObjectsFinal(s);
	for (i = 0; i < got && *n < max; i++) {
		if (kek_load(h, s, objs[i], &keks[*n], err, errlen) != 0)
			goto out;
		(*n)++;
	}
	rc = 0;
out:
	session_put(h, s);
	return rc;
}

int
hsm_join(struct hsm *h, struct keyring *ring, int need, char *err,
    size_t errlen)
{
	struct hsm_kek keks[16];
	size_t n, i;

	if (hsm_keks(h, keks, 16, &n, err, errlen) != 0)
		return -1;
	if (n == 0 && need) {
		kw_seterr(err, errlen, "the token holds no master key labelled "
		    "\"%s\" (keys.hsm_key_label)", h->key_label);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (keyring_add_hsm(ring, h, keks[i].handle, keks[i].check,
		    err, errlen) != 0)
			return -1;
	return 0;
}

int
hsm_generate(struct hsm *h, struct hsm_kek *out, char *err, size_t errlen)
{
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	CK_ULONG vlen = KW_KEK_LEN;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		{ CKA_LABEL, h->key_label, strlen(h->key_label) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
	};
	CK_OBJECT_HANDLE obj;

	if (h->f->C_GenerateKey(h->login, &mech, t, sizeof(t) / sizeof(t[0]),
	    &obj) != CKR_OK) {
		kw_seterr(err, errlen, "the token could not generate an AES-256 "
		    "key");
		return -1;
	}
	return kek_load(h, h->login, obj, out, err, errlen);
}

int
hsm_wrap(struct hsm *h, unsigned long key, const char *kek_id,
    const char *name, uint32_t version, const struct secbuf *material,
    unsigned char *out)
{
	unsigned char *aad;
	size_t alen;
	CK_ULONG olen;
	int rc = -1;

	if (material == NULL || out == NULL ||
	    (aad = crypto_wrap_aad(kek_id, name, version, &alen)) == NULL)
		return -1;
	olen = material->len + KW_GCM_TAG_LEN;
	if (crypto_random(out, KW_GCM_NONCE_LEN) == 0 &&
	    gcm(h, key, 1, out, aad, alen, material->data,
	    material->len, out + KW_GCM_NONCE_LEN, &olen) == 0 &&
	    olen == material->len + KW_GCM_TAG_LEN)
		rc = 0;
	else
		secure_wipe(out, material->len + KW_WRAP_OVERHEAD);
	free(aad);
	return rc;
}

struct secbuf *
hsm_unwrap(struct hsm *h, unsigned long key, const char *kek_id,
    const char *name, uint32_t version, const unsigned char *wrapped,
    size_t len)
{
	struct secbuf *sb = NULL;
	unsigned char *aad = NULL;
	size_t alen;
	CK_ULONG olen;

	if (wrapped == NULL || len < KW_WRAP_OVERHEAD ||
	    (aad = crypto_wrap_aad(kek_id, name, version, &alen)) == NULL ||
	    (sb = secbuf_new(len - KW_WRAP_OVERHEAD + KW_GCM_TAG_LEN)) == NULL)
		goto fail;
	olen = sb->len;
	if (gcm(h, key, 0, wrapped, aad, alen,
	    wrapped + KW_GCM_NONCE_LEN, len - KW_GCM_NONCE_LEN, sb->data,
	    &olen) != 0 || olen != len - KW_WRAP_OVERHEAD)
		goto fail;
	sb->len = olen;
	free(aad);
	return sb;
fail:
	free(aad);
	secbuf_free(sb);
	return NULL;
}

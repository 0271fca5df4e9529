/*
 * hsm.h: master keys (KEKs) that live in a PKCS#11 token and never leave
 * it (keys.hsm_module, hsm_token_label, hsm_key_label, hsm_pin_file).
 *
 * The module is loaded with dlopen; the token is found by its label and
 * logged in to with the PIN from a file.  Its KEKs are the AES-256
 * secret keys with the configured label that are sensitive and not
 * extractable: wrapping and unwrapping of key versions happen in the
 * token with CKM_AES_GCM, in exactly the format and with the associated
 * data of crypto_wrap (lib/crypto.h), so a row wrapped by a file KEK and
 * one wrapped in the token differ only in the KEK id.  A token KEK's
 * check value is SHA-256 over its AES-GCM encryption of a fixed text
 * (computed in the token), and its id the first 8 bytes in hex, as for
 * file KEKs.
 *
 * Thread-safe: sessions come from a small pool under a mutex (a PKCS#11
 * session runs one operation at a time).  Nothing here logs; errors go
 * to an err buffer and never hold the PIN or key material.
 */
#ifndef KW_HSM_H
#define KW_HSM_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "secbuf.h"

struct hsm;
struct keyring;

struct hsm_opts {
	const char	*module;	/* path of the PKCS#11 module */
	const char	*token_label;
	const char	*key_label;	/* label of the KEK objects */
	const char	*pin_file;
};

/* One KEK found in the token. */
struct hsm_kek {
	unsigned long	 handle;
	unsigned char	 check[KW_CHECK_LEN];
	char		 id[KW_KEK_ID_LEN + 1];
};

/*
 * Load the module, find the token, log in.  NULL with the reason in err
 * (module missing, no such token, wrong PIN...).  hsm_free(NULL) is a
 * no-op; it logs out and unloads the module.
 */
struct hsm *hsm_open(const struct hsm_opts *o, char *err, size_t errlen);
void	hsm_free(struct hsm *h);

/*
 * The KEKs with the configured label, up to max, into keks; *n their
 * number (0 is not an error here).  -1 with err when the token cannot be
 * searched or holds a key with that label that is not an AES-256 key,
 * not sensitive or extractable.
 */
int	hsm_keks(struct hsm *h, struct hsm_kek *keks, size_t max, size_t *n,
	    char *err, size_t errlen) WUR;
/*
 * Make a new KEK in the token (AES-256, sensitive, not extractable,
 * token object, the configured label): 0 with it in *out, or -1 with err.
 */
int	hsm_generate(struct hsm *h, struct hsm_kek *out, char *err,
	    size_t errlen) WUR;

/*
 * Add the token's KEKs to ring (lib/keyring.h), which then refers to h.
 * 0, or -1 with err (also when the token holds none and need is set).
 */
int	hsm_join(struct hsm *h, struct keyring *ring, int need, char *err,
	    size_t errlen) WUR;

/* crypto_wrap and crypto_unwrap (lib/crypto.h) with a token KEK. */
int	hsm_wrap(struct hsm *h, unsigned long key, const char *kek_id,
	    const char *name, uint32_t version, const struct secbuf *material,
	    unsigned char *out) WUR;
struct secbuf *hsm_unwrap(struct hsm *h, unsigned long key,
	    const char *kek_id, const char *name, uint32_t version,
	    const unsigned char *wrapped, size_t len);

#endif

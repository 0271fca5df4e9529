/*
 * keyring.h: the master keyring, the KEKs a node's key versions are
 * wrapped under, and its file (keys.master_key_file).
 *
 * A keyring holds one or more 32-byte KEKs, oldest first, each with its
 * id and check value (crypto_kek_check).  Which one is active is the
 * database's business (kek_check, a write both nodes see), not the
 * file's: the file only says which KEKs this node can use.  Three file
 * forms are read:
 *
 *   legacy  32 raw bytes: the single master key of an install made
 *           before keyrings; read as a keyring of one.
 *   plain   text: "keyward-keyring v1", then "kek ID HEX" lines.
 *   sealed  text: "keyward-keyring-sealed v1", the scrypt parameters and
 *           salt, the AES-256-GCM nonce, then the plain form encrypted
 *           under scrypt(passphrase) in hex; the header lines are the
 *           associated data, so no parameter can be changed unnoticed.
 *
 * A keyring may also name KEKs held in a PKCS#11 token (lib/hsm.h): they
 * have no key bytes here, are used through keyring_wrap and
 * keyring_unwrap like the others, and are never written to the file.  A
 * plain file that says "token-only" holds no KEK: it parses to an empty
 * keyring, which the token's KEKs then fill.
 *
 * Keys live in locked secbufs.  A keyring is not shared between threads
 * while it is changed; reading a finished one is thread-safe.  Nothing
 * here logs: errors go to an err buffer and never hold key material.
 */
#ifndef KW_KEYRING_H
#define KW_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "secbuf.h"

struct keyring;

struct hsm;

struct keyring_kek {
	char		 id[KW_KEK_ID_LEN + 1];
	unsigned char	 check[KW_CHECK_LEN];
	struct secbuf	*key;		/* KW_KEK_LEN bytes, locked; NULL for
					   a key in a token */
	struct hsm	*hsm;		/* the token holding it, or NULL */
	unsigned long	 handle;	/* its object in the token */
};

enum keyring_form { KEYRING_LEGACY, KEYRING_PLAIN, KEYRING_SEALED };

/* scrypt cost of a sealed file (recorded in it). */
struct keyring_seal {
	uint64_t	n;		/* a power of two */
	uint32_t	r;
	uint32_t	p;
};
#define KEYRING_SCRYPT_N	32768	/* 32 MiB, about 0.1 s here */
#define KEYRING_SCRYPT_R	8
#define KEYRING_SCRYPT_P	1

/* What keyring_parse returns. */
#define KEYRING_OK		0
#define KEYRING_EFORMAT		(-1)	/* damaged, or not a keyring */
#define KEYRING_ENEEDPASS	(-2)	/* sealed, and no passphrase given */
#define KEYRING_EBADPASS	(-3)	/* sealed, and the passphrase is wrong
					   (or the file was altered) */

/* An empty keyring; NULL when memory is short.  keyring_free(NULL) is a
 * no-op. */
struct keyring *keyring_new(void);
void	keyring_free(struct keyring *kr);
/* A copy (the keys copied into new locked buffers), or NULL. */
struct keyring *keyring_dup(const struct keyring *kr);

size_t	keyring_count(const struct keyring *kr);
/* The i-th KEK, oldest first; NULL past the end. */
const struct keyring_kek *keyring_at(const struct keyring *kr, size_t i);
/* The KEK with this id, or NULL. */
const struct keyring_kek *keyring_find(const struct keyring *kr,
	    const char *id);
/*
 * Add a copy of key (KW_KEK_LEN bytes), or, key NULL, a new random one;
 * *added (may be NULL) points at the new entry.  0, or -1 with a reason
 * in err (already there, no random bytes, memory).
 */
int	keyring_add(struct keyring *kr, const unsigned char *key,
	    const struct keyring_kek **added, char *err, size_t errlen) WUR;
/*
 * Add a KEK held in token h (not owned: it must outlive the keyring and
 * its copies) with its handle and check value.  0, or -1 with err.
 */
int	keyring_add_hsm(struct keyring *kr, struct hsm *h, unsigned long handle,
	    const unsigned char check[KW_CHECK_LEN], char *err,
	    size_t errlen) WUR;
/* How many of the KEKs are in a token. */
size_t	keyring_count_hsm(const struct keyring *kr);
/*
 * crypto_wrap and crypto_unwrap (lib/crypto.h) under k, in the token
 * when it is there.
 */
int	keyring_wrap(const struct keyring_kek *k, const char *name,
	    uint32_t version, const struct secbuf *material,
	    unsigned char *out) WUR;
struct secbuf *keyring_unwrap(const struct keyring_kek *k, const char *name,
	    uint32_t version, const unsigned char *wrapped, size_t len);
/* Remove the KEK with this id: 0, or -1 when it is not there. */
int	keyring_remove(struct keyring *kr, const char *id);
/* The ids, comma-separated, into buf ("" for none). */
const char *keyring_ids(const struct keyring *kr, char *buf, size_t len);

/*
 * Parse a file's bytes.  pass (may be NULL) opens a sealed file.  On
 * KEYRING_OK *out is the keyring, *form what the file was and, for a
 * sealed one, *seal its cost (either may be NULL).  Otherwise one of the
 * KEYRING_E* codes with a reason in err.
 */
int	keyring_parse(const unsigned char *data, size_t len,
	    const struct secbuf *pass, struct keyring **out,
	    enum keyring_form *form, struct keyring_seal *seal, char *err,
	    size_t errlen) WUR;
/* Is data a sealed keyring file?  1 or 0. */
int	keyring_is_sealed(const unsigned char *data, size_t len);
/*
 * The file text of kr (its KEKs in a token left out; "token-only" when
 * all are): plain when pass is NULL, else sealed under pass with cost
 * seal (NULL: the defaults), a new salt and nonce.  NULL with a reason
 * in err (also when kr is empty).
 */
struct secbuf *keyring_format(const struct keyring *kr,
	    const struct secbuf *pass, const struct keyring_seal *seal,
	    char *err, size_t errlen);

#endif

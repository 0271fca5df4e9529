/*
 * authcookie.h: the hadoop.auth cookie of Hadoop's pseudo authentication.
 *
 * The token is "u=USER&p=USER&t=simple&e=EXPIRES_MS" followed by
 * "&s=SIGNATURE", the signature being standard base64 of
 * HMAC-SHA256(secret, token), as Hadoop's Signer computes it.  USER may
 * not contain '&', '=', '"', ';', ',', whitespace or control characters.
 */
#ifndef KW_AUTHCOOKIE_H
#define KW_AUTHCOOKIE_H

#include <stddef.h>
#include <stdint.h>
#include "kwerr.h"

#define AUTHCOOKIE_NAME		"hadoop.auth"
#define AUTHCOOKIE_USER_MAX	255
#define AUTHCOOKIE_SECRET_MIN	32

/* Whether user can be carried in a token. */
int	authcookie_user_ok(const char *user);
/* The signed token for user, expiring at expires_ms (Unix ms), into out;
 * 0, or -1 when user is not acceptable or out is too small. */
int	authcookie_make(const unsigned char *secret, size_t secret_len,
	    const char *user, int64_t expires_ms, char *out, size_t outlen) WUR;
/*
 * Check a token (the cookie value, with or without surrounding double
 * quotes) at now_ms.  KW_OK with the user in user; else KW_EUNAUTH with
 * the reason in why ("malformed", "bad signature", "expired").
 */
enum kw_err authcookie_check(const unsigned char *secret, size_t secret_len,
	    const char *token, size_t token_len, int64_t now_ms,
	    char *user, size_t userlen, const char **why) WUR;

/*
 * A fingerprint of the secret, for comparing two nodes' secrets without
 * showing either: lowercase hex of HMAC-SHA256(secret,
 * AUTHCOOKIE_FP_CONSTANT) into out (65 bytes).  0, or -1.
 */
#define AUTHCOOKIE_FP_CONSTANT	"keyward cookie secret fingerprint v1"
int	authcookie_fingerprint(const unsigned char *secret, size_t secret_len,
	    char out[65]) WUR;

#endif

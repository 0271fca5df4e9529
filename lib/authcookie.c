/*
 * authcookie.c: sign and check hadoop.auth tokens (see authcookie.h).
 *
 * The signature covers the whole token text before "&s=", so no field
 * can be changed or added without the secret.  The signature is checked
 * (in constant time) before any field is believed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "authcookie.h"
#include "secbuf.h"

#define SIG_B64_LEN	44	/* base64 of 32 bytes, padded */
#define TOKEN_MAX	1024

int
authcookie_user_ok(const char *user)
{
	const unsigned char *p;
	size_t n = 0;

	if (user == NULL || *user == '\0')
		return 0;
	for (p = (const unsigned char *)user; *p != '\0'; p++, n++) {
		if (*p <= ' ' || *p == 0x7f || strchr("&=\";,\\", *p) != NULL)
			return 0;
	}
	return n <= AUTHCOOKIE_USER_MAX;
}

/* Standard base64 of HMAC-SHA256(secret, text[0..len)) into sig. */
static int
sign(const unsigned char *secret, size_t secret_len, const char *text,
    size_t len, char sig[SIG_B64_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha256(), secret, (int)secret_len,
	    (const unsigned char *)text, len, mac, &maclen) == NULL ||
	    maclen != 32)
		return -1;
	EVP_EncodeBlock((unsigned char *)sig, mac, (int)maclen);
	secure_wipe(mac, sizeof(mac));
	return 0;
}

int
authcookie_make(const unsigned char *secret, size_t secret_len,
    const char *user, int64_t expires_ms, char *out, size_t outlen)
{
	char sig[SIG_B64_LEN + 1];
	int n;

	if (!authcookie_user_ok(user) || secret_len < AUTHCOOKIE_SECRET_MIN)
		return -1;
	n = snprintf(out, outlen, "u=%s&p=%s&t=simple&e=%" PRId64, user, user,
	    expires_ms);
	if (n < 0 || (size_t)n + 3 + SIG_B64_LEN >= outlen)
		return -1;
	if (sign(secret, secret_len, out, (size_t)n, sig) != 0)
		return -1;
	snprintf(out + n, outlen - (size_t)n, "&s=%s", sig);
	return 0;
}

/* The value of field name ("u") in the token part tok, or NULL. */
static const char *
field(const char *tok, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	const char *p = tok, *end;

	for (;;) {
		end = strchr(p, '&');
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			p += nl + 1;
			*len = end != NULL ? (size_t)(end - p) : strlen(p);
			return p;
		}
		if (end == NULL)
			return NULL;
		p = end + 1;
	}
}

enum kw_err
authcookie_check(const unsigned char *secret, size_t secret_len,
    const char *token, size_t token_len, int64_t now_ms, char *user,
    size_t userlen, const char **why)
{
	char buf[TOKEN_MAX + 1], sig[SIG_B64_LEN + 1];
	const char *u, *p, *t, *e, *s;
	size_t ulen, plen, tlen, elen, signed_len;
	char *end;
	long long exp;

	*why = "malformed";
	if (token_len >= 2 && token[0] == '"' && token[token_len - 1] == '"') {
		token++;
		token_len -= 2;
	}
	if (token_len == 0 || token_len > TOKEN_MAX ||
	    memchr(token, '\0', token_len) != NULL)
		return KW_EUNAUTH;
	memcpy(buf, token, token_len);
	buf[token_len] = '\0';
	if ((s = strstr(buf, "&s=")) == NULL)
		return KW_EUNAUTH;
	signed_len = (size_t)(s - buf);
	s += 3;
	if (strlen(s) != SIG_B64_LEN ||
	    sign(secret, secret_len, buf, signed_len, sig) != 0)
		return KW_EUNAUTH;
	if (CRYPTO_memcmp(sig, s, SIG_B64_LEN) != 0) {
		*why = "bad signature";
		return KW_EUNAUTH;
	}
	buf[signed_len] = '\0';
	if ((u = field(buf, "u", &ulen)) == NULL ||
	    (p = field(buf, "p", &plen)) == NULL ||
	    (t = field(buf, "t", &tlen)) == NULL ||
	    (e = field(buf, "e", &elen)) == NULL ||
	    tlen != 6 || strncmp(t, "simple", 6) != 0 ||
	    ulen == 0 || ulen >= userlen || ulen > AUTHCOOKIE_USER_MAX ||
	    elen == 0 || elen > 19)
		return KW_EUNAUTH;
	(void)p;
	exp = strtoll(e, &end, 10);
	if (end != e + elen || exp <= 0)
		return KW_EUNAUTH;
	if ((int64_t)exp <= now_ms) {
		*why = "expired";
		return KW_EUNAUTH;
	}
	memcpy(user, u, ulen);
	user[ulen] = '\0';
	if (!authcookie_user_ok(user)) {
		user[0] = '\0';
		return KW_EUNAUTH;
	}
	*why = "";
	return KW_OK;
}

int
authcookie_fingerprint(const unsigned char *secret, size_t secret_len,
    char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;

	if (HMAC(EVP_sha256(), secret, (int)secret_len,
	    (const unsigned char *)AUTHCOOKIE_FP_CONSTANT,
	    sizeof(AUTHCOOKIE_FP_CONSTANT) - 1, mac, &maclen) == NULL ||
	    maclen != 32)
		return -1;
	for (i = 0; i < maclen; i++) {
		out[2 * i] = digits[mac[i] >> 4];
		out[2 * i + 1] = digits[mac[i] & 0x0f];
	}
	out[64] = '\0';
	return 0;
}

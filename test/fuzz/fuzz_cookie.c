/*
 * fuzz_cookie.c: libFuzzer target for the hadoop.auth cookie
 * (lib/authcookie.c).
 *
 * Every input is used three ways:
 *   - as a cookie value, as a client sends it: authcookie_check must
 *     refuse it with one of its three reasons, or accept it with a user
 *     that authcookie_user_ok accepts;
 *   - as the text before "&s=", signed here with the same secret
 *     (HMAC-SHA256, standard base64, as Hadoop's Signer writes it), so
 *     that the fuzzer gets past the signature to the field parsing; an
 *     accepted token must carry "u=USER" for the user it reports;
 *   - as a user name (up to the first NUL): authcookie_make refuses
 *     exactly the names authcookie_user_ok refuses; for a good name the
 *     token checks back to the same user, also in double quotes, and is
 *     refused once expired, under another secret or with its signature
 *     changed; and make refuses an output buffer one byte too short.
 * Tokens and output buffers are heap blocks of exact size (no NUL
 * after a token), so ASan sees a one-byte overrun or over-read.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "lib/authcookie.h"

#define NOW_MS		INT64_C(1767225600000)	/* 2026-01-01 */
#define OUT_MAX		2048

static const unsigned char secret[AUTHCOOKIE_SECRET_MIN] =
    "0123456789abcdef0123456789abcdef";
static const unsigned char other[AUTHCOOKIE_SECRET_MIN] =
    "0123456789abcdef0123456789abcdeF";

/* authcookie_check on an exact-size copy of tok[0..len). */
static enum kw_err
check(const unsigned char *key, const char *tok, size_t len, int64_t now,
    char *user, size_t userlen, const char **why)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum kw_err e;

	FUZZ_CHECK(copy != NULL);
	memcpy(copy, tok, len);
	*why = NULL;
	e = authcookie_check(key, AUTHCOOKIE_SECRET_MIN, copy, len, now, user,
	    userlen, why);
	free(copy);
	FUZZ_CHECK(*why != NULL);
	if (e == KW_OK) {
		FUZZ_CHECK(memchr(user, '\0', userlen) != NULL);
		FUZZ_CHECK(authcookie_user_ok(user));
	} else {
		FUZZ_CHECK(e == KW_EUNAUTH);
		FUZZ_CHECK(strcmp(*why, "malformed") == 0 ||
		    strcmp(*why, "bad signature") == 0 ||
		    strcmp(*why, "expired") == 0);
	}
	return e;
}

/* The input as a cookie value. */
static void
as_token(const uint8_t *data, size_t size)
{
	char user[AUTHCOOKIE_USER_MAX + 1];
	const char *why;

	(void)check(secret, (const char *)data, size, NOW_MS, user,
	    sizeof(user), &why);
}

/* The input signed with secret. */
static void
as_signed(const uint8_t *data, size_t size)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char user[AUTHCOOKIE_USER_MAX + 1], *tok, *u;
	const char *why;
	size_t n;

	if (memchr(data, '\0', size) != NULL || size > OUT_MAX)
		return;
	FUZZ_CHECK(HMAC(EVP_sha256(), secret, (int)sizeof(secret), data, size,
	    mac, &maclen) != NULL && maclen == 32);
	tok = malloc(size + 3 + 45);
	FUZZ_CHECK(tok != NULL);
	memcpy(tok, data, size);
	memcpy(tok + size, "&s=", 3);
	EVP_EncodeBlock((unsigned char *)tok + size + 3, mac, 32);
	n = size + 3 + 44;
	if (check(secret, tok, n, NOW_MS, user, sizeof(user), &why) == KW_OK) {
		/* the user comes from a "u=" field of the signed part */
		u = malloc(strlen(user) + 3);
		FUZZ_CHECK(u != NULL);
		u[0] = 'u';
		u[1] = '=';
		strcpy(u + 2, user);
		FUZZ_CHECK(memmem(data, size, u, strlen(u)) != NULL);
		free(u);
	}
	free(tok);
}

/* The input as a user name: make, then check. */
static void
as_user(const uint8_t *data, size_t size)
{
	char *name = fuzz_strndup(data, size > 300 ? 300 : size);
	char *out = malloc(OUT_MAX), *exact, *quoted;
	char user[AUTHCOOKIE_USER_MAX + 1];
	const char *why;
	int64_t exp = NOW_MS + 1 + (int64_t)size * 7919;
	size_t n;

	FUZZ_CHECK(out != NULL);
	if (!authcookie_user_ok(name)) {
		FUZZ_CHECK(authcookie_make(secret, sizeof(secret), name, exp,
		    out, OUT_MAX) == -1);
		goto done;
	}
	FUZZ_CHECK(strlen(name) <= AUTHCOOKIE_USER_MAX);
	FUZZ_CHECK(authcookie_make(secret, sizeof(secret), name, exp, out,
	    OUT_MAX) == 0);
	n = strlen(out);
	FUZZ_CHECK(strncmp(out, "u=", 2) == 0);

	FUZZ_CHECK(check(secret, out, n, NOW_MS, user, sizeof(user), &why) ==
	    KW_OK);
	FUZZ_CHECK(strcmp(user, name) == 0);
	FUZZ_CHECK(check(secret, out, n, exp - 1, user, sizeof(user), &why) ==
	    KW_OK);
	FUZZ_CHECK(check(secret, out, n, exp, user, sizeof(user), &why) ==
	    KW_EUNAUTH && strcmp(why, "expired") == 0);
	FUZZ_CHECK(check(other, out, n, NOW_MS, user, sizeof(user), &why) ==
	    KW_EUNAUTH && strcmp(why, "bad signature") == 0);

	quoted = malloc(n + 2);
	FUZZ_CHECK(quoted != NULL);
	quoted[0] = '"';
	memcpy(quoted + 1, out, n);
	quoted[n + 1] = '"';
	FUZZ_CHECK(check(secret, quoted, n + 2, NOW_MS, user, sizeof(user),
	    &why) == KW_OK && strcmp(user, name) == 0);
	free(quoted);

	/* one character of the signature changed */
	out[n - 2] = out[n - 2] == 'A' ? 'B' : 'A';
	FUZZ_CHECK(check(secret, out, n, NOW_MS, user, sizeof(user), &why) ==
	    KW_EUNAUTH);

	/* exactly the room the token needs, and one byte less */
	exact = malloc(n + 1);
	FUZZ_CHECK(exact != NULL);
	FUZZ_CHECK(authcookie_make(secret, sizeof(secret), name, exp, exact,
	    n + 1) == 0 && strlen(exact) == n);
	free(exact);
	exact = malloc(n);
	FUZZ_CHECK(exact != NULL);
	FUZZ_CHECK(authcookie_make(secret, sizeof(secret), name, exp, exact,
	    n) == -1);
	free(exact);
done:
	free(out);
	free(name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_token(data, size);
	as_signed(data, size);
	as_user(data, size);
	return 0;
}

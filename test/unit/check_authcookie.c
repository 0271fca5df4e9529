/*
 * check_authcookie.c: lib/authcookie: a token made is accepted until it
 * expires, and every change to it (user, expiry, type, signature) or a
 * different secret is refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/authcookie.h"
#include "check_main.h"

static const unsigned char secret[32] = "0123456789abcdef0123456789abcdef";
static const unsigned char other[32] = "0123456789abcdef0123456789abcdeX";

#define NOW	1700000000000LL

static enum kw_err
check(const unsigned char *sec, const char *tok, int64_t now, char *user,
    const char **why)
{
	return authcookie_check(sec, 32, tok, strlen(tok), now, user, 256, why);
}

START_TEST(test_round_trip)
{
	char tok[512], user[256];
	const char *why;

	ck_assert_int_eq(authcookie_make(secret, 32, "alice", NOW + 1000, tok,
	    sizeof(tok)), 0);
	ck_assert_ptr_nonnull(strstr(tok, "u=alice&p=alice&t=simple&e="));
	ck_assert_int_eq(check(secret, tok, NOW, user, &why), KW_OK);
	ck_assert_str_eq(user, "alice");
}
END_TEST

START_TEST(test_hadoop_signature)
{
	/* s= is standard padded base64 of HMAC-SHA256 over the text before
	 * "&s=", as Hadoop's Signer computes it */
	char tok[512], want[64];
	unsigned char mac[32];
	unsigned int len = 0;
	const char *s;

	ck_assert_int_eq(authcookie_make(secret, 32, "bob", NOW, tok,
	    sizeof(tok)), 0);
	s = strstr(tok, "&s=");
	ck_assert_ptr_nonnull(s);
	HMAC(EVP_sha256(), secret, 32, (const unsigned char *)tok,
	    (size_t)(s - tok), mac, &len);
	EVP_EncodeBlock((unsigned char *)want, mac, 32);
	ck_assert_str_eq(s + 3, want);
}
END_TEST

START_TEST(test_quoted)
{
	char tok[512], q[520], user[256];
	const char *why;

	ck_assert_int_eq(authcookie_make(secret, 32, "carol", NOW + 5, tok,
	    sizeof(tok)), 0);
	snprintf(q, sizeof(q), "\"%s\"", tok);
	ck_assert_int_eq(check(secret, q, NOW, user, &why), KW_OK);
	ck_assert_str_eq(user, "carol");
}
END_TEST

START_TEST(test_expired)
{
	char tok[512], user[256];
	const char *why;

	ck_assert_int_eq(authcookie_make(secret, 32, "alice", NOW, tok,
	    sizeof(tok)), 0);
	ck_assert_int_eq(check(secret, tok, NOW, user, &why), KW_EUNAUTH);
	ck_assert_str_eq(why, "expired");
	ck_assert_int_eq(check(secret, tok, NOW - 1, user, &why), KW_OK);
}
END_TEST

/* Replace the first occurrence of from in s by to (same length). */
static void
patch(char *s, const char *from, const char *to)
{
	char *p = strstr(s, from);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(strlen(from), strlen(to));
	memcpy(p, to, strlen(to));
}

START_TEST(test_forged)
{
	char tok[512], user[256];
	const char *why;
	size_t n;

	/* another user, same signature */
	ck_assert_int_eq(authcookie_make(secret, 32, "alice", NOW + 1000, tok,
	    sizeof(tok)), 0);
	patch(tok, "u=alice", "u=admin");
	ck_assert_int_eq(check(secret, tok, NOW, user, &why), KW_EUNAUTH);
	ck_assert_str_eq(why, "bad signature");
	/* a later expiry */
	ck_assert_int_eq(authcookie_make(secret, 32, "alice", NOW + 1000, tok,
	    sizeof(tok)), 0);
	patch(tok, "&e=1", "&e=9");
	ck_assert_int_eq(check(secret, tok, NOW, user, &why), KW_EUNAUTH);
	/* one signature character flipped */
	ck_assert_int_eq(authcookie_make(secret, 32, "alice", NOW + 1000, tok,
	    sizeof(tok)), 0);
	n = strlen(tok);
	tok[n - 5] = tok[n - 5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(check(secret, tok, NOW, user, &why), KW_EUNAUTH);
	/* signed with another secret */
	ck_assert_int_eq(authcookie_make(other, 32, "alice", NOW + 1000, tok,
	    sizeof(tok)), 0);
	ck_assert_int_eq(check(secret, tok, NOW, user, &why), KW_EUNAUTH);
}
END_TEST

static const char *const malformed[] = {
	"", "\"\"", "u=alice", "u=alice&p=alice&t=simple&e=1&s=",
	"&s=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	"u=alice&p=alice&t=simple&e=1&s=short",
	"\"u=alice&p=alice&t=simple&e=1&s=x",
};

START_TEST(test_malformed)
{
	char user[256];
	const char *why;

	ck_assert_int_eq(check(secret, malformed[_i], NOW, user, &why),
	    KW_EUNAUTH);
}
END_TEST

START_TEST(test_bad_users)
{
	char tok[512];
	char longname[300];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(authcookie_make(secret, 32, "a&u=admin", NOW, tok,
	    sizeof(tok)), -1);
	ck_assert_int_eq(authcookie_make(secret, 32, "a=b", NOW, tok,
	    sizeof(tok)), -1);
	ck_assert_int_eq(authcookie_make(secret, 32, "a b", NOW, tok,
	    sizeof(tok)), -1);
	ck_assert_int_eq(authcookie_make(secret, 32, "a\"", NOW, tok,
	    sizeof(tok)), -1);
	ck_assert_int_eq(authcookie_make(secret, 32, "", NOW, tok,
	    sizeof(tok)), -1);
	ck_assert_int_eq(authcookie_make(secret, 32, longname, NOW, tok,
	    sizeof(tok)), -1);
	/* a short secret is refused */
	ck_assert_int_eq(authcookie_make(secret, 16, "alice", NOW, tok,
	    sizeof(tok)), -1);
	/* an output buffer too small */
	ck_assert_int_eq(authcookie_make(secret, 32, "alice", NOW, tok, 40), -1);
	ck_assert(authcookie_user_ok("svc/host.example@REALM"));
}
END_TEST

static Suite *
authcookie_suite(void)
{
	Suite	*s = suite_create("authcookie");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_hadoop_signature);
	tcase_add_test(tc, test_quoted);
	tcase_add_test(tc, test_expired);
	tcase_add_test(tc, test_forged);
	tcase_add_loop_test(tc, test_malformed, 0,
	    sizeof(malformed) / sizeof(malformed[0]));
	tcase_add_test(tc, test_bad_users);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(authcookie_suite(), CK_FORK);
}

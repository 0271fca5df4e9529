/*
 * check_drift.c: what differs between two nodes' configuration
 * fingerprints (server/drift.c drift_compare), the ACL file's digest
 * (lib/acl acls_sha256) and the cookie secret's fingerprint
 * (lib/authcookie authcookie_fingerprint), which must never show the
 * secret.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "lib/acl.h"
#include "lib/authcookie.h"
#include "server/drift.h"
#include "check_main.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static const struct db_nodeconf base = { "kw-a", H1, H2, "0.1.0", 6, 0 };

/* One field of the peer changed from base, and what must be said. */
static const struct {
	const char	*acl, *cookie, *version;
	int		 schema;
	const char	*want[DRIFT_MAX];
} cases[] = {
	{ H1, H2, "0.1.0", 6, { NULL } },
	{ H2, H2, "0.1.0", 6, { "acls.conf differs from kw-b's" } },
	{ H1, H1, "0.1.0", 6, { "cookie secret differs from the peer's" } },
	{ H1, "", "0.1.0", 6, { "this node has a cookie secret, its peer "
	    "has none" } },
	{ H1, H2, "0.2.0", 6, { "version 0.1.0 differs from kw-b's 0.2.0" } },
	{ H1, H2, "0.1.0", 5, { "schema version 6 differs from kw-b's 5" } },
	{ H2, "", "0.2.0", 7, { "acls.conf differs from kw-b's",
	    "this node has a cookie secret, its peer has none",
	    "version 0.1.0 differs from kw-b's 0.2.0",
	    "schema version 6 differs from kw-b's 7" } },
};

START_TEST(test_compare)
{
	struct db_nodeconf peer = base;
	char what[DRIFT_MAX][DRIFT_MSG];
	size_t n, want = 0, i;

	snprintf(peer.node, sizeof(peer.node), "kw-b");
	snprintf(peer.acl_sha256, sizeof(peer.acl_sha256), "%s",
	    cases[_i].acl);
	snprintf(peer.cookie_hmac, sizeof(peer.cookie_hmac), "%s",
	    cases[_i].cookie);
	snprintf(peer.version, sizeof(peer.version), "%s", cases[_i].version);
	peer.schema_version = cases[_i].schema;
	while (want < DRIFT_MAX && cases[_i].want[want] != NULL)
		want++;
	n = drift_compare(&base, &peer, "kw-b", what);
	ck_assert_uint_eq(n, want);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(what[i], cases[_i].want[i]);
}
END_TEST

/* The peer without a secret, seen from a node that has one, and back. */
START_TEST(test_compare_no_secret_here)
{
	struct db_nodeconf self = base, peer = base;
	char what[DRIFT_MAX][DRIFT_MSG];

	self.cookie_hmac[0] = '\0';
	ck_assert_uint_eq(drift_compare(&self, &peer, "kw-b", what), 1);
	ck_assert_str_eq(what[0], "this node has no cookie secret, its peer "
	    "has one");
	peer.cookie_hmac[0] = '\0';
	ck_assert_uint_eq(drift_compare(&self, &peer, "kw-b", what), 0);
}
END_TEST

/* SHA-256 of the exact text: a comment changes it, equal text does not. */
START_TEST(test_acl_digest)
{
	static const char text[] = "hadoop.kms.acl.CREATE = admin\n";
	/* printf 'hadoop.kms.acl.CREATE = admin\n' | sha256sum */
	static const char want[] =
	    "bedc350cfbb243a74506f1a4f8b39f7c84fa559effdb658d4548769909ffc20d";
	struct acls *a, *b, *c;
	char err[256], got[65];
	size_t i;

	a = acls_parse(text, strlen(text), NULL, err, sizeof(err));
	b = acls_parse(text, strlen(text), NULL, err, sizeof(err));
	c = acls_parse("# x\nhadoop.kms.acl.CREATE = admin\n", 34, NULL, err,
	    sizeof(err));
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(c);
	for (i = 0; i < 32; i++)
		snprintf(got + 2 * i, 3, "%02x", acls_sha256(a)[i]);
	ck_assert_str_eq(got, want);
	ck_assert_mem_eq(acls_sha256(a), acls_sha256(b), 32);
	ck_assert(memcmp(acls_sha256(a), acls_sha256(c), 32) != 0);
	acls_free(a);
	acls_free(b);
	acls_free(c);
}
END_TEST

/* HMAC-SHA256(secret, constant), lowercase hex; never the secret. */
START_TEST(test_cookie_fingerprint)
{
	unsigned char s1[32], s2[32];
	char f1[65], f2[65], f1b[65], hex[65];
	size_t i;

	memset(s1, 0xab, sizeof(s1));
	memset(s2, 0xab, sizeof(s2));
	s2[31] ^= 1;
	ck_assert_int_eq(authcookie_fingerprint(s1, sizeof(s1), f1), 0);
	ck_assert_int_eq(authcookie_fingerprint(s1, sizeof(s1), f1b), 0);
	ck_assert_int_eq(authcookie_fingerprint(s2, sizeof(s2), f2), 0);
	ck_assert_uint_eq(strlen(f1), 64);
	ck_assert_str_eq(f1, f1b);
	ck_assert_str_ne(f1, f2);
	ck_assert_uint_eq(strspn(f1, "0123456789abcdef"), 64);
	for (i = 0; i < sizeof(s1); i++)
		snprintf(hex + 2 * i, 3, "%02x", s1[i]);
	ck_assert_ptr_null(strstr(f1, "abababab"));
	ck_assert_str_ne(f1, hex);
}
END_TEST

static Suite *
drift_suite(void)
{
	Suite *s = suite_create("drift");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_compare, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_compare_no_secret_here);
	tcase_add_test(tc, test_acl_digest);
	tcase_add_test(tc, test_cookie_fingerprint);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(drift_suite(), CK_FORK_GETENV);
}

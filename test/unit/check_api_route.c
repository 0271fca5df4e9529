/*
 * check_api_route.c: route matching and key/version name validation.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "server/api_route.h"
#include "check_main.h"

static const struct {
	const char	*method;
	const char	*path;
	enum kw_err	 err;
	enum kw_op	 op;
	const char	*name;
	int		 version;	/* -1: none */
} cases[] = {
	{ "POST", "/kms/v1/keys", KW_OK, OP_CREATE, "", -1 },
	{ "GET", "/kms/v1/keys/names", KW_OK, OP_NAMES, "", -1 },
	{ "GET", "/kms/v1/keys/metadata", KW_OK, OP_BULK_METADATA, "", -1 },
	{ "POST", "/kms/v1/key/k1", KW_OK, OP_ROLL, "k1", -1 },
	{ "DELETE", "/kms/v1/key/k1", KW_OK, OP_DELETE, "k1", -1 },
	{ "GET", "/kms/v1/key/k1", KW_OK, OP_METADATA, "k1", -1 },
	{ "GET", "/kms/v1/key/k1/_metadata", KW_OK, OP_METADATA, "k1", -1 },
	{ "GET", "/kms/v1/key/k1/_currentversion", KW_OK, OP_CURRENT, "k1", -1 },
	{ "GET", "/kms/v1/key/k1/_versions", KW_OK, OP_VERSIONS, "k1", -1 },
	{ "GET", "/kms/v1/key/k1/_eek", KW_OK, OP_GENERATE, "k1", -1 },
	{ "POST", "/kms/v1/key/k1/_invalidatecache", KW_OK, OP_INVALIDATE, "k1", -1 },
	{ "POST", "/kms/v1/key/k1/_reencryptbatch", KW_OK, OP_REENCRYPT_BATCH, "k1", -1 },
	{ "GET", "/kms/v1/keyversion/k1@0", KW_OK, OP_VERSION, "k1", 0 },
	{ "GET", "/kms/v1/keyversion/k1@17", KW_OK, OP_VERSION, "k1", 17 },
	{ "POST", "/kms/v1/keyversion/k1@3/_eek", KW_OK, OP_DECRYPT, "k1", 3 },
	{ "GET", "/v1/health", KW_OK, OP_HEALTH, "", -1 },
	{ "GET", "/v1/cluster", KW_OK, OP_CLUSTER, "", -1 },
	{ "GET", "/metrics", KW_OK, OP_METRICS, "", -1 },
	{ "POST", "/metrics", KW_EMETHOD, OP_NONE, "", -1 },
	{ "GET", "/metrics/", KW_ENOROUTE, OP_NONE, "", -1 },
	{ "DELETE", "/v1/cluster", KW_EMETHOD, OP_NONE, "", -1 },
	/* names with '/', '@', spaces, '+', UTF-8 */
	{ "GET", "/kms/v1/key/a/b/c/_metadata", KW_OK, OP_METADATA, "a/b/c", -1 },
	{ "POST", "/kms/v1/key/a/b", KW_OK, OP_ROLL, "a/b", -1 },
	{ "GET", "/kms/v1/keyversion/me@host@2", KW_OK, OP_VERSION, "me@host", 2 },
	{ "POST", "/kms/v1/keyversion/x/y@1/_eek", KW_OK, OP_DECRYPT, "x/y", 1 },
	{ "GET", "/kms/v1/key/a b+c/_versions", KW_OK, OP_VERSIONS, "a b+c", -1 },
	{ "GET", "/kms/v1/key/\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87/_eek", KW_OK,
	    OP_GENERATE, "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", -1 },
	{ "GET", "/kms/v1/key/{\"%'\\}/_metadata", KW_OK, OP_METADATA, "{\"%'\\}", -1 },
	/* wrong method on a real path */
	{ "PUT", "/kms/v1/keys", KW_EMETHOD, OP_NONE, "", -1 },
	{ "DELETE", "/kms/v1/keys/names", KW_EMETHOD, OP_NONE, "", -1 },
	{ "POST", "/kms/v1/key/k1/_metadata", KW_EMETHOD, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/key/k1/_reencryptbatch", KW_EMETHOD, OP_NONE, "", -1 },
	{ "POST", "/v1/health", KW_EMETHOD, OP_NONE, "", -1 },
	/* unknown paths */
	{ "GET", "/", KW_ENOROUTE, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/", KW_ENOROUTE, OP_NONE, "", -1 },
	{ "GET", "/kms/v2/keys/names", KW_ENOROUTE, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/nothing", KW_ENOROUTE, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/keysx", KW_ENOROUTE, OP_NONE, "", -1 },
	/* malformed names and versions */
	{ "GET", "/kms/v1/key/", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/key//_metadata", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/keyversion/k1", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/keyversion/k1@", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/keyversion/k1@x", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/keyversion/k1@-1", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/keyversion/k1@99999999999", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/keyversion/@1", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/key/bad\x01name", KW_EINVAL, OP_NONE, "", -1 },
	{ "GET", "/kms/v1/key/bad\xff", KW_EINVAL, OP_NONE, "", -1 },
};

START_TEST(test_route)
{
	struct route rt;
	enum kw_err e;

	e = route_match(cases[_i].method, cases[_i].path, &rt);
	ck_assert_msg(e == cases[_i].err, "%s %s: err %d, want %d",
	    cases[_i].method, cases[_i].path, e, cases[_i].err);
	if (e != KW_OK)
		return;
	ck_assert_int_eq(rt.op, cases[_i].op);
	ck_assert_str_eq(rt.name, cases[_i].name);
	if (cases[_i].version >= 0) {
		ck_assert(rt.has_version);
		ck_assert_uint_eq(rt.version, (unsigned)cases[_i].version);
	} else
		ck_assert(!rt.has_version);
}
END_TEST

static const struct {
	const char	*name;
	int		 ok;
} names[] = {
	{ "k", 1 },
	{ "with space", 1 },
	{ "\xf0\x9f\x94\x91", 1 },		/* U+1F511 */
	{ "", 0 },
	{ "tab\there", 0 },
	{ "del\x7f", 0 },
	{ "\xc0\xaf", 0 },			/* overlong '/' */
	{ "\xed\xa0\x80", 0 },			/* surrogate */
	{ "\xf4\x90\x80\x80", 0 },		/* beyond U+10FFFF */
	{ "\xe2\x82", 0 },			/* truncated */
};

START_TEST(test_valid_name)
{
	ck_assert_int_eq(route_valid_name(names[_i].name), names[_i].ok);
}
END_TEST

START_TEST(test_name_length)
{
	char *s = malloc(ROUTE_NAME_MAX + 2);

	memset(s, 'a', ROUTE_NAME_MAX);
	s[ROUTE_NAME_MAX] = '\0';
	ck_assert_int_eq(route_valid_name(s), 1);
	s[ROUTE_NAME_MAX] = 'a';
	s[ROUTE_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(route_valid_name(s), 0);
	free(s);
}
END_TEST

/* Names create accepts (NULL) or refuses (a word of the reason). */
static const struct {
	const char	*name;
	const char	*why;
} new_names[] = {
	{ "k1", NULL },
	{ "a/b/c", NULL },
	{ "_eek", NULL },			/* alone it is no sub-resource */
	{ "x/_eek/y", NULL },
	{ "x/_eekx", NULL },
	{ "x_metadata", NULL },
	{ "at@sign@2", NULL },
	{ "x/_eek@1", NULL },
	{ " lead", NULL },
	{ "trail ", NULL },
	{ "with space", NULL },
	{ "a..b", NULL },
	{ ".hidden/x", NULL },
	{ "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87", NULL },
	{ "keys", NULL },
	{ "", "1 to 1024" },
	{ "bad\x01name", "control" },
	{ "c1\xc2\x85x", "control" },		/* U+0085 */
	{ "c1\xc2\x9b", "control" },		/* U+009B */
	{ " ", "white space" },
	{ "   ", "white space" },
	{ "\xc2\xa0", "white space" },		/* no-break space */
	{ " \xe3\x80\x80", "white space" },	/* ideographic space */
	{ "/lead", "slash" },
	{ "trail/", "slash" },
	{ "a//b", "slash" },
	{ ".", "slash" },
	{ "..", "slash" },
	{ "a/../b", "slash" },
	{ "a/./b", "slash" },
	{ "x/_eek", "sub-resource" },
	{ "x/_metadata", "sub-resource" },
	{ "x/_currentversion", "sub-resource" },
	{ "x/_versions", "sub-resource" },
	{ "x/_invalidatecache", "sub-resource" },
	{ "x/_reencryptbatch", "sub-resource" },
	{ "a/b/_eek", "sub-resource" },
};

START_TEST(test_refuse_name)
{
	const char *why = route_refuse_name(new_names[_i].name);

	if (new_names[_i].why == NULL)
		ck_assert_msg(why == NULL, "\"%s\" refused: %s",
		    new_names[_i].name, why);
	else {
		ck_assert_msg(why != NULL, "\"%s\" accepted",
		    new_names[_i].name);
		ck_assert_msg(strstr(why, new_names[_i].why) != NULL ||
		    (strcmp(new_names[_i].why, "slash") == 0 &&
		    strstr(why, "'/'") != NULL), "\"%s\": %s",
		    new_names[_i].name, why);
	}
}
END_TEST

/* The longest name create accepts is still addressed by every route. */
START_TEST(test_refuse_name_long)
{
	char *s = malloc(ROUTE_NAME_MAX + 2);

	memset(s, 'a', ROUTE_NAME_MAX);
	s[ROUTE_NAME_MAX] = '\0';
	ck_assert_ptr_null(route_refuse_name(s));
	memcpy(s + ROUTE_NAME_MAX - 5, "/_eek", 5);
	ck_assert_ptr_nonnull(route_refuse_name(s));
	free(s);
}
END_TEST

static Suite *
api_route_suite(void)
{
	Suite *s = suite_create("api_route");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_route, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, test_valid_name, 0, sizeof(names) / sizeof(names[0]));
	tcase_add_test(tc, test_name_length);
	tcase_add_loop_test(tc, test_refuse_name, 0,
	    sizeof(new_names) / sizeof(new_names[0]));
	tcase_add_test(tc, test_refuse_name_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	/* Check's default, as before: CK_FORK=no runs the tests in-process */
	return check_run(api_route_suite(), CK_FORK_GETENV);
}

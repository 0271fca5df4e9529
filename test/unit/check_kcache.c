/*
 * check_kcache.c: the key cache (server/kcache.c): what is put is got
 * back (a copy), kcache_drop removes every entry of one key (versions,
 * current version, ACL name) and nothing of any other key, even with
 * far more keys than the table has buckets (so many share one), and a
 * full cache empties itself instead of growing.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "server/kcache.h"
#include "check_main.h"

#define NKEYS	10000		/* more than the table's buckets */
#define NVERS	3

static struct secbuf *
material(int key, int ver)
{
	struct secbuf *m = secbuf_new(16);

	ck_assert_ptr_nonnull(m);
	memset(m->data, 0, m->len);
	snprintf((char *)m->data, m->len, "%d@%d", key, ver);
	return m;
}

/* Is key@ver cached with its own material? */
static int
has_version(struct kcache *kc, int key, int ver)
{
	char name[32];
	struct secbuf *got, *want;
	int same;

	snprintf(name, sizeof(name), "key-%d", key);
	if ((got = kcache_get_version(kc, name, (uint32_t)ver)) == NULL)
		return 0;
	want = material(key, ver);
	same = got->len == want->len &&
	    memcmp(got->data, want->data, got->len) == 0;
	secbuf_free(got);
	secbuf_free(want);
	ck_assert_msg(same, "key-%d@%d: wrong material", key, ver);
	return 1;
}

static void
fill(struct kcache *kc)
{
	struct secbuf *m;
	char name[32], acl[40];
	int k, v;

	for (k = 0; k < NKEYS; k++) {
		snprintf(name, sizeof(name), "key-%d", k);
		snprintf(acl, sizeof(acl), "acl-%d", k);
		for (v = 0; v < NVERS; v++) {
			m = material(k, v);
			kcache_put_version(kc, name, (uint32_t)v, m);
			secbuf_free(m);
		}
		kcache_put_current(kc, name, NVERS - 1);
		kcache_put_aclname(kc, name, acl);
	}
}

START_TEST(test_put_get)
{
	struct kcache *kc = kcache_new(60000, 4 * NKEYS * (NVERS + 2));
	uint32_t cur = 0;
	char buf[64];

	fill(kc);
	ck_assert(has_version(kc, 0, 0));
	ck_assert(has_version(kc, NKEYS - 1, NVERS - 1));
	ck_assert(!has_version(kc, 0, NVERS));
	ck_assert_int_eq(kcache_get_current(kc, "key-7", &cur), 1);
	ck_assert_uint_eq(cur, NVERS - 1);
	ck_assert_int_eq(kcache_get_aclname(kc, "key-7", buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "acl-7");
	ck_assert_int_eq(kcache_get_current(kc, "key-x", &cur), 0);
	kcache_free(kc);
}
END_TEST

START_TEST(test_drop_one_key_only)
{
	struct kcache *kc = kcache_new(60000, 4 * NKEYS * (NVERS + 2));
	uint32_t cur;
	char name[32], buf[64];
	int k, v;

	fill(kc);
	/* drop every odd key */
	for (k = 1; k < NKEYS; k += 2) {
		snprintf(name, sizeof(name), "key-%d", k);
		kcache_drop(kc, name);
	}
	for (k = 0; k < NKEYS; k++) {
		snprintf(name, sizeof(name), "key-%d", k);
		for (v = 0; v < NVERS; v++)
			ck_assert_msg(has_version(kc, k, v) == (k % 2 == 0),
			    "key-%d@%d %s", k, v, k % 2 ? "not dropped" :
			    "dropped with another key");
		ck_assert_int_eq(kcache_get_current(kc, name, &cur), k % 2 == 0);
		ck_assert_int_eq(kcache_get_aclname(kc, name, buf, sizeof(buf)),
		    k % 2 == 0);
	}
	/* a name never cached, and one dropped twice: nothing else goes */
	kcache_drop(kc, "no-such-key");
	kcache_drop(kc, "key-1");
	ck_assert(has_version(kc, 0, 0));
	ck_assert(has_version(kc, NKEYS - 2, NVERS - 1));
	kcache_free(kc);
}
END_TEST

START_TEST(test_full_cache_empties)
{
	struct kcache *kc = kcache_new(60000, 100);
	struct secbuf *m;
	int k, n = 0;

	for (k = 0; k < 150; k++) {
		m = material(k, 0);
		kcache_put_version(kc, k < 10 ? "early" : "late", (uint32_t)k, m);
		secbuf_free(m);
	}
	/* the 101st entry emptied the table: the early ones are gone */
	for (k = 0; k < 150; k++) {
		m = kcache_get_version(kc, k < 10 ? "early" : "late",
		    (uint32_t)k);
		n += m != NULL;
		secbuf_free(m);
	}
	ck_assert_int_eq(n, 50);
	kcache_free(kc);
}
END_TEST

static Suite *
kcache_suite(void)
{
	Suite *s = suite_create("kcache");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_put_get);
	tcase_add_test(tc, test_drop_one_key_only);
	tcase_add_test(tc, test_full_cache_empties);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return check_run(kcache_suite(), CK_FORK_GETENV);
}

/*
 * check_acl.c: lib/acl, the acls.conf engine.  Table-driven decisions,
 * each rule both allowing and denying: operation ACLs (users, groups,
 * "*", empty, missing, the "- GROUPS" form, blacklists), key ACLs
 * (per-key lines suppressing the defaults, ALL and explicit operations
 * in either order, the whitelist, odd key names), proxy users (users,
 * groups, hosts by address, CIDR and "*"); every parse error with its
 * line; acls_load's file checks; a 2000-key file; and that
 * packaging/acls.conf.example loads and means what its comments say.
 */
#include <sys/stat.h>

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/acl.h"
#include "check_main.h"

#define EXAMPLE		"packaging/acls.conf.example"
#define FNAME		"t.conf"

static char	err[1024];
static char	tmpdir[PATH_MAX];
static char	path[PATH_MAX + 32];

static struct acls *
parse(const char *text)
{
	err[0] = '\0';
	return acls_parse(text, strlen(text), FNAME, err, sizeof(err));
}

static struct acls *
parse_ok(const char *text)
{
	struct acls *a = parse(text);

	ck_assert_msg(a != NULL, "refused: %s\n--- acls:\n%s", err, text);
	return a;
}

/* Groups the decision tables share. */
#define GROUPS	"group.ops = carol,dave\n" \
		"group.audit = erin\n"

/* Operation ACLs: may user call op under text? */
static const struct {
	const char	*text;
	enum acl_op	 op;
	const char	*user;
	int		 want;
} ops[] = {
	/* users */
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_CREATE, "alice", 1 },
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_CREATE, "bob", 1 },
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_CREATE, "carol", 0 },
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_CREATE, "alic", 0 },
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_CREATE, "alice2", 0 },
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_CREATE, "Alice", 0 },
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_CREATE, "", 0 },
	/* the line is for CREATE only */
	{ "hadoop.kms.acl.CREATE = alice,bob\n", ACL_DELETE, "alice", 0 },
	/* users and groups */
	{ GROUPS "hadoop.kms.acl.GET = alice ops\n", ACL_GET, "alice", 1 },
	{ GROUPS "hadoop.kms.acl.GET = alice ops\n", ACL_GET, "carol", 1 },
	{ GROUPS "hadoop.kms.acl.GET = alice ops\n", ACL_GET, "dave", 1 },
	{ GROUPS "hadoop.kms.acl.GET = alice ops\n", ACL_GET, "erin", 0 },
	{ GROUPS "hadoop.kms.acl.GET = alice ops\n", ACL_GET, "ops", 0 },
	{ GROUPS "hadoop.kms.acl.GET = alice ops,audit\n", ACL_GET, "erin", 1 },
	{ GROUPS "hadoop.kms.acl.GET = \t alice \t ops \t\n", ACL_GET,
	    "carol", 1 },
	/* a group defined after the line that names it */
	{ "hadoop.kms.acl.GET = - late\ngroup.late = zed\n", ACL_GET, "zed",
	    1 },
	/* "- GROUPS": no users */
	{ GROUPS "hadoop.kms.acl.DELETE = - ops\n", ACL_DELETE, "carol", 1 },
	{ GROUPS "hadoop.kms.acl.DELETE = - ops\n", ACL_DELETE, "alice", 0 },
	{ GROUPS "hadoop.kms.acl.DELETE = - ops\n", ACL_DELETE, "-", 0 },
	{ "hadoop.kms.acl.DELETE = -\n", ACL_DELETE, "-", 0 },
	/* everyone */
	{ "hadoop.kms.acl.GET_KEYS = *\n", ACL_GET_KEYS, "anyone", 1 },
	{ "hadoop.kms.acl.GET_KEYS = *\n", ACL_GET_KEYS, "", 0 },
	{ "hadoop.kms.acl.GET_KEYS = *\n", ACL_GET, "anyone", 0 },
	/* empty value, missing line, empty file */
	{ "hadoop.kms.acl.ROLLOVER =\n", ACL_ROLLOVER, "alice", 0 },
	{ "hadoop.kms.acl.ROLLOVER = alice\n", ACL_ROLLOVER, "alice", 1 },
	{ "", ACL_GET_METADATA, "alice", 0 },
	{ "# nothing\n\n", ACL_GET_METADATA, "alice", 0 },
	/* blacklist by user */
	{ "hadoop.kms.acl.DECRYPT_EEK = *\n"
	    "hadoop.kms.blacklist.DECRYPT_EEK = alice\n", ACL_DECRYPT_EEK,
	    "alice", 0 },
	{ "hadoop.kms.acl.DECRYPT_EEK = *\n"
	    "hadoop.kms.blacklist.DECRYPT_EEK = alice\n", ACL_DECRYPT_EEK,
	    "bob", 1 },
	{ "hadoop.kms.blacklist.DECRYPT_EEK = alice\n"
	    "hadoop.kms.acl.DECRYPT_EEK = alice,bob\n", ACL_DECRYPT_EEK,
	    "alice", 0 },
	/* a blacklist applies to its own operation only */
	{ "hadoop.kms.acl.GENERATE_EEK = alice\n"
	    "hadoop.kms.blacklist.DECRYPT_EEK = alice\n", ACL_GENERATE_EEK,
	    "alice", 1 },
	/* blacklist by group */
	{ GROUPS "hadoop.kms.acl.SET_KEY_MATERIAL = *\n"
	    "hadoop.kms.blacklist.SET_KEY_MATERIAL = - ops\n",
	    ACL_SET_KEY_MATERIAL, "dave", 0 },
	{ GROUPS "hadoop.kms.acl.SET_KEY_MATERIAL = *\n"
	    "hadoop.kms.blacklist.SET_KEY_MATERIAL = - ops\n",
	    ACL_SET_KEY_MATERIAL, "alice", 1 },
	{ GROUPS "hadoop.kms.acl.SET_KEY_MATERIAL = dave\n"
	    "hadoop.kms.blacklist.SET_KEY_MATERIAL = bob audit,ops\n",
	    ACL_SET_KEY_MATERIAL, "dave", 0 },
	/* blacklist "*" */
	{ "hadoop.kms.acl.GET = alice\nhadoop.kms.blacklist.GET = *\n",
	    ACL_GET, "alice", 0 },
	/* an empty blacklist blocks nobody */
	{ "hadoop.kms.acl.GET = alice\nhadoop.kms.blacklist.GET =\n",
	    ACL_GET, "alice", 1 },
	/* a blacklist alone grants nothing */
	{ "hadoop.kms.blacklist.GET = bob\n", ACL_GET, "alice", 0 },
};

START_TEST(test_op)
{
	struct acls *a = parse_ok(ops[_i].text);

	ck_assert_msg(acls_op_allowed(a, ops[_i].user, ops[_i].op) ==
	    ops[_i].want, "%s for \"%s\" should be %s under:\n%s",
	    acl_op_name(ops[_i].op), ops[_i].user,
	    ops[_i].want ? "allowed" : "denied", ops[_i].text);
	acls_free(a);
}
END_TEST

/* Each operation's line governs that operation and no other. */
START_TEST(test_op_names)
{
	struct acls	*a;
	char		 text[128];
	int		 op;

	snprintf(text, sizeof(text), "hadoop.kms.acl.%s = u\n",
	    acl_op_name((enum acl_op)_i));
	a = parse_ok(text);
	for (op = 0; op < ACL_NOPS; op++)
		ck_assert_int_eq(acls_op_allowed(a, "u", (enum acl_op)op),
		    op == _i);
	acls_free(a);
}
END_TEST

START_TEST(test_names)
{
	static const char *const want_op[] = { "CREATE", "DELETE",
	    "ROLLOVER", "GET", "GET_KEYS", "GET_METADATA", "SET_KEY_MATERIAL",
	    "GENERATE_EEK", "DECRYPT_EEK" };
	static const char *const want_kop[] = { "MANAGEMENT", "GENERATE_EEK",
	    "DECRYPT_EEK", "READ" };
	int i;

	for (i = 0; i < ACL_NOPS; i++)
		ck_assert_str_eq(acl_op_name((enum acl_op)i), want_op[i]);
	for (i = 0; i < KEYOP_NKEYOPS; i++)
		ck_assert_str_eq(acl_keyop_name((enum acl_keyop)i),
		    want_kop[i]);
	ck_assert_int_eq(acls_op_allowed(NULL, "u", ACL_GET), 0);
	ck_assert_int_eq(acls_key_allowed(NULL, "u", "k", KEYOP_READ), 0);
	ck_assert_int_eq(acls_proxy_allowed(NULL, "r", "u", "::1"), 0);
	ck_assert_int_eq(acls_has_key_acls(NULL), 0);
	acls_free(NULL);
}
END_TEST

/* Key ACLs: may user use key for kop under text? */
#define DEFAULTS "default.key.acl.MANAGEMENT = admin\n" \
		 "default.key.acl.READ = alice,admin\n"
static const struct {
	const char	*text;
	const char	*user;
	const char	*key;
	enum acl_keyop	 kop;
	int		 want;
} keys[] = {
	/* per key */
	{ "key.acl.k1.READ = alice\n", "alice", "k1", KEYOP_READ, 1 },
	{ "key.acl.k1.READ = alice\n", "bob", "k1", KEYOP_READ, 0 },
	{ "key.acl.k1.READ = alice\n", "alice", "k2", KEYOP_READ, 0 },
	{ "key.acl.k1.READ = alice\n", "alice", "k1", KEYOP_DECRYPT_EEK, 0 },
	{ GROUPS "key.acl.k1.DECRYPT_EEK = - ops\n", "carol", "k1",
	    KEYOP_DECRYPT_EEK, 1 },
	{ GROUPS "key.acl.k1.DECRYPT_EEK = - ops\n", "erin", "k1",
	    KEYOP_DECRYPT_EEK, 0 },
	{ "key.acl.k1.GENERATE_EEK = *\n", "anyone", "k1",
	    KEYOP_GENERATE_EEK, 1 },
	{ "key.acl.k1.GENERATE_EEK =\n", "alice", "k1",
	    KEYOP_GENERATE_EEK, 0 },
	/* the defaults govern keys without lines of their own */
	{ DEFAULTS, "admin", "any", KEYOP_MANAGEMENT, 1 },
	{ DEFAULTS, "alice", "any", KEYOP_MANAGEMENT, 0 },
	{ DEFAULTS, "alice", "any", KEYOP_READ, 1 },
	{ DEFAULTS, "admin", "any", KEYOP_DECRYPT_EEK, 0 },
	{ DEFAULTS "key.acl.k1.READ = bob\n", "admin", "other",
	    KEYOP_MANAGEMENT, 1 },
	/* a key's own lines replace the defaults, even for operations
	 * they do not name */
	{ DEFAULTS "key.acl.k1.READ = bob\n", "bob", "k1", KEYOP_READ, 1 },
	{ DEFAULTS "key.acl.k1.READ = bob\n", "alice", "k1", KEYOP_READ, 0 },
	{ DEFAULTS "key.acl.k1.READ = bob\n", "admin", "k1",
	    KEYOP_MANAGEMENT, 0 },
	{ "key.acl.k1.READ = bob\n" DEFAULTS, "admin", "k1",
	    KEYOP_MANAGEMENT, 0 },
	/* ALL fills what the key does not name, in either order */
	{ "key.acl.k1.ALL = alice\n", "alice", "k1", KEYOP_MANAGEMENT, 1 },
	{ "key.acl.k1.ALL = alice\n", "alice", "k1", KEYOP_GENERATE_EEK, 1 },
	{ "key.acl.k1.ALL = alice\n", "alice", "k1", KEYOP_DECRYPT_EEK, 1 },
	{ "key.acl.k1.ALL = alice\n", "alice", "k1", KEYOP_READ, 1 },
	{ "key.acl.k1.ALL = alice\n", "bob", "k1", KEYOP_READ, 0 },
	{ "key.acl.k1.ALL = alice\nkey.acl.k1.READ = bob\n", "alice", "k1",
	    KEYOP_READ, 0 },
	{ "key.acl.k1.ALL = alice\nkey.acl.k1.READ = bob\n", "bob", "k1",
	    KEYOP_READ, 1 },
	{ "key.acl.k1.ALL = alice\nkey.acl.k1.READ = bob\n", "alice", "k1",
	    KEYOP_MANAGEMENT, 1 },
	{ "key.acl.k1.READ = bob\nkey.acl.k1.ALL = alice\n", "alice", "k1",
	    KEYOP_READ, 0 },
	{ "key.acl.k1.READ = bob\nkey.acl.k1.ALL = alice\n", "bob", "k1",
	    KEYOP_READ, 1 },
	{ "key.acl.k1.READ = bob\nkey.acl.k1.ALL = alice\n", "alice", "k1",
	    KEYOP_DECRYPT_EEK, 1 },
	{ "key.acl.k1.READ = bob\nkey.acl.k1.ALL = alice\n", "bob", "k1",
	    KEYOP_DECRYPT_EEK, 0 },
	/* an explicit empty line overrides ALL too */
	{ "key.acl.k1.DECRYPT_EEK =\nkey.acl.k1.ALL = alice\n", "alice", "k1",
	    KEYOP_DECRYPT_EEK, 0 },
	/* ALL belongs to its key only */
	{ "key.acl.k1.ALL = alice\n", "alice", "k2", KEYOP_READ, 0 },
	/* ALL in the defaults, with an explicit default before it */
	{ "default.key.acl.READ = bob\ndefault.key.acl.ALL = alice\n",
	    "alice", "k", KEYOP_GENERATE_EEK, 1 },
	{ "default.key.acl.READ = bob\ndefault.key.acl.ALL = alice\n",
	    "alice", "k", KEYOP_READ, 0 },
	{ "default.key.acl.ALL = alice\ndefault.key.acl.READ = bob\n",
	    "bob", "k", KEYOP_READ, 1 },
	/* the whitelist adds to a key's own lines and to the defaults */
	{ "key.acl.k1.READ = bob\nwhitelist.key.acl.READ = wendy\n",
	    "wendy", "k1", KEYOP_READ, 1 },
	{ "key.acl.k1.READ = bob\nwhitelist.key.acl.READ = wendy\n",
	    "bob", "k1", KEYOP_READ, 1 },
	{ "key.acl.k1.READ = bob\nwhitelist.key.acl.READ = wendy\n",
	    "wendy", "k1", KEYOP_DECRYPT_EEK, 0 },
	{ "key.acl.k1.READ = bob\nwhitelist.key.acl.READ = wendy\n",
	    "carl", "k1", KEYOP_READ, 0 },
	{ DEFAULTS "whitelist.key.acl.MANAGEMENT = wendy\n", "wendy",
	    "any", KEYOP_MANAGEMENT, 1 },
	{ DEFAULTS "whitelist.key.acl.MANAGEMENT = wendy\n", "admin",
	    "any", KEYOP_MANAGEMENT, 1 },
	{ DEFAULTS "whitelist.key.acl.MANAGEMENT = wendy\n", "alice",
	    "any", KEYOP_MANAGEMENT, 0 },
	{ GROUPS "whitelist.key.acl.ALL = - audit\n", "erin", "k9",
	    KEYOP_DECRYPT_EEK, 1 },
	{ GROUPS "whitelist.key.acl.ALL = - audit\n", "carol", "k9",
	    KEYOP_DECRYPT_EEK, 0 },
	/* key names with '.', '/', '@', spaces: the operation is after
	 * the last '.' */
	{ "key.acl.a.b.c.READ = alice\n", "alice", "a.b.c", KEYOP_READ, 1 },
	{ "key.acl.a.b.c.READ = alice\n", "alice", "a.b", KEYOP_READ, 0 },
	{ "key.acl.a.b.c.READ = alice\n", "alice", "c", KEYOP_READ, 0 },
	{ "key.acl.team/db@prod.MANAGEMENT = alice\n", "alice",
	    "team/db@prod", KEYOP_MANAGEMENT, 1 },
	{ "key.acl.team/db@prod.MANAGEMENT = alice\n", "alice",
	    "team/db", KEYOP_MANAGEMENT, 0 },
	{ "key.acl.READ.READ = alice\n", "alice", "READ", KEYOP_READ, 1 },
	{ "key.acl.my key.READ = alice\n", "alice", "my key", KEYOP_READ, 1 },
	{ "key.acl.\xc3\xa9t\xc3\xa9.READ = alice\n", "alice",
	    "\xc3\xa9t\xc3\xa9", KEYOP_READ, 1 },
	{ "key.acl.K1.READ = alice\n", "alice", "k1", KEYOP_READ, 0 },
};

START_TEST(test_key)
{
	struct acls *a = parse_ok(keys[_i].text);

	ck_assert_msg(acls_key_allowed(a, keys[_i].user, keys[_i].key,
	    keys[_i].kop) == keys[_i].want,
	    "%s on \"%s\" for \"%s\" should be %s under:\n%s",
	    acl_keyop_name(keys[_i].kop), keys[_i].key, keys[_i].user,
	    keys[_i].want ? "allowed" : "denied", keys[_i].text);
	acls_free(a);
}
END_TEST

START_TEST(test_has_key_acls)
{
	struct acls *a;

	a = parse_ok(DEFAULTS "whitelist.key.acl.READ = w\n"
	    "hadoop.kms.acl.GET = *\n");
	ck_assert_int_eq(acls_has_key_acls(a), 0);
	acls_free(a);
	a = parse_ok(DEFAULTS "key.acl.k.READ =\n");
	ck_assert_int_eq(acls_has_key_acls(a), 1);
	acls_free(a);
	a = parse_ok("");
	ck_assert_int_eq(acls_has_key_acls(a), 0);
	ck_assert_int_eq(acls_key_allowed(a, "u", "k", KEYOP_READ), 0);
	acls_free(a);
}
END_TEST

/* Proxy users: may real act as user from addr under text? */
#define PROXY(rest) GROUPS \
	"hadoop.kms.proxyuser.hue.users = alice,bob\n" \
	"hadoop.kms.proxyuser.hue.groups = ops\n" rest
static const struct {
	const char	*text;
	const char	*real, *user, *addr;
	int		 want;
} proxies[] = {
	/* users and groups, hosts "*" */
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"), "hue", "alice",
	    "192.0.2.1", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"), "hue", "bob",
	    "2001:db8::1", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"), "hue", "carol",
	    "192.0.2.1", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"), "hue", "erin",
	    "192.0.2.1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"), "hue", "ops",
	    "192.0.2.1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"), "hue", "alice",
	    "not-an-address", 1 },
	/* not a proxy user; another proxy user's rights are not shared */
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"), "alice", "bob",
	    "192.0.2.1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"
	    "hadoop.kms.proxyuser.oozie.users = erin\n"
	    "hadoop.kms.proxyuser.oozie.hosts = *\n"), "oozie", "alice",
	    "192.0.2.1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = *\n"
	    "hadoop.kms.proxyuser.oozie.users = erin\n"
	    "hadoop.kms.proxyuser.oozie.hosts = *\n"), "oozie", "erin",
	    "192.0.2.1", 1 },
	/* users "*", groups "*" */
	{ "hadoop.kms.proxyuser.hue.users = *\n"
	    "hadoop.kms.proxyuser.hue.hosts = *\n", "hue", "anyone",
	    "192.0.2.1", 1 },
	{ "hadoop.kms.proxyuser.hue.groups = *\n"
	    "hadoop.kms.proxyuser.hue.hosts = *\n", "hue", "anyone",
	    "192.0.2.1", 1 },
	{ "hadoop.kms.proxyuser.hue.users = *\n"
	    "hadoop.kms.proxyuser.hue.hosts = *\n", "hue", "", "192.0.2.1",
	    0 },
	/* no .users and no .groups: nobody */
	{ "hadoop.kms.proxyuser.hue.hosts = *\n", "hue", "alice", "192.0.2.1",
	    0 },
	/* no .hosts line: no host */
	{ PROXY(""), "hue", "alice", "192.0.2.1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts =\n"), "hue", "alice",
	    "192.0.2.1", 0 },
	/* exact IPv4 */
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.1,192.0.2.9\n"),
	    "hue", "alice", "192.0.2.9", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.1,192.0.2.9\n"),
	    "hue", "alice", "192.0.2.2", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.1\n"),
	    "hue", "alice", "192.0.2.10", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.1\n"),
	    "hue", "alice", "garbage", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.1\n"),
	    "hue", "alice", NULL, 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.1\n"),
	    "hue", "alice", "192.0.2.1/32", 0 },
	/* an IPv4 client seen on an IPv6 socket */
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.1\n"),
	    "hue", "alice", "::ffff:192.0.2.1", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = ::ffff:192.0.2.1\n"),
	    "hue", "alice", "192.0.2.1", 1 },
	/* IPv6, compared as binary */
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = ::1\n"),
	    "hue", "alice", "0:0:0:0:0:0:0:1", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 2001:DB8:0::7\n"),
	    "hue", "alice", "2001:db8::7", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = ::1\n"),
	    "hue", "alice", "::2", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = ::1\n"),
	    "hue", "alice", "127.0.0.1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 127.0.0.1\n"),
	    "hue", "alice", "::1", 0 },
	/* CIDR */
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 10.0.0.0/8\n"),
	    "hue", "alice", "10.255.1.2", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 10.0.0.0/8\n"),
	    "hue", "alice", "11.0.0.1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 10.0.0.0/8\n"),
	    "hue", "alice", "9.255.255.255", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.128/25\n"),
	    "hue", "alice", "192.0.2.200", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 192.0.2.128/25\n"),
	    "hue", "alice", "192.0.2.127", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 0.0.0.0/0\n"),
	    "hue", "alice", "203.0.113.5", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 0.0.0.0/0\n"),
	    "hue", "alice", "::1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 2001:db8::5/128\n"),
	    "hue", "alice", "2001:db8::5", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 2001:db8::5/128\n"),
	    "hue", "alice", "2001:db8::4", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 2001:db8::/32\n"),
	    "hue", "alice", "2001:db8:ffff::1", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 2001:db8::/32\n"),
	    "hue", "alice", "2001:db9::1", 0 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 10.1.2.3,fe80::/10\n"),
	    "hue", "alice", "fe80::1", 1 },
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 10.1.2.3,fe80::/10\n"),
	    "hue", "alice", "fec0::1", 0 },
	/* hosts and user are both needed */
	{ PROXY("hadoop.kms.proxyuser.hue.hosts = 10.0.0.0/8\n"),
	    "hue", "erin", "10.0.0.1", 0 },
};

START_TEST(test_proxy)
{
	struct acls *a = parse_ok(proxies[_i].text);

	ck_assert_msg(acls_proxy_allowed(a, proxies[_i].real,
	    proxies[_i].user, proxies[_i].addr) == proxies[_i].want,
	    "%s as %s from %s should be %s under:\n%s", proxies[_i].real,
	    proxies[_i].user, proxies[_i].addr != NULL ? proxies[_i].addr :
	    "(null)", proxies[_i].want ? "allowed" : "denied",
	    proxies[_i].text);
	acls_free(a);
}
END_TEST

/* Refused files: err must start with "t.conf:" + want. */
#define HOSTS	"1: hadoop.kms.proxyuser.p.hosts: "
static const struct {
	const char	*text;
	const char	*want;
} bad[] = {
	/* unknown properties */
	{ "# c\n\nfoo.bar = x\n", "3: unknown property \"foo.bar\"" },
	{ "hadoop.kms.acl = x\n", "1: unknown property \"hadoop.kms.acl\"" },
	{ "Hadoop.kms.acl.GET = x\n", "1: unknown property" },
	{ "key.acls.k.READ = x\n", "1: unknown property" },
	{ "default.key.acl = x\n", "1: unknown property" },
	/* unknown operations */
	{ "\nhadoop.kms.acl.FETCH = x\n",
	    "2: hadoop.kms.acl.FETCH: unknown operation \"FETCH\"" },
	{ "hadoop.kms.acl.get = x\n", "1: hadoop.kms.acl.get: unknown "
	    "operation \"get\"" },
	{ "hadoop.kms.acl. = x\n", "1: hadoop.kms.acl.: unknown operation" },
	{ "hadoop.kms.blacklist.ALL = x\n", "1: hadoop.kms.blacklist.ALL: "
	    "unknown operation \"ALL\"" },
	{ "hadoop.kms.acl.MANAGEMENT = x\n", "1: hadoop.kms.acl.MANAGEMENT: "
	    "unknown operation" },
	{ "a = b\n", "1: unknown property \"a\"" },
	{ "key.acl.k.CREATE = x\n", "1: key.acl.k.CREATE: unknown key "
	    "operation \"CREATE\"" },
	{ "key.acl.k.read = x\n", "1: key.acl.k.read: unknown key operation" },
	{ "key.acl.k. = x\n", "1: key.acl.k.: unknown key operation \"\"" },
	{ "default.key.acl.GET = x\n", "1: default.key.acl.GET: unknown key "
	    "operation" },
	{ "whitelist.key.acl.EVERYTHING = x\n", "1: whitelist.key.acl."
	    "EVERYTHING: unknown key operation" },
	{ "hadoop.kms.proxyuser.hue.user = x\n", "1: hadoop.kms.proxyuser."
	    "hue.user: expected hadoop.kms.proxyuser.USER.users, .groups or "
	    ".hosts" },
	{ "hadoop.kms.proxyuser.hue = x\n", "1: hadoop.kms.proxyuser.hue: "
	    "expected" },
	/* empty key or user names in property names */
	{ "key.acl..READ = x\n", "1: key.acl..READ: empty key name" },
	{ "key.acl.READ = x\n", "1: key.acl.READ: expected "
	    "key.acl.KEY.OPERATION" },
	{ "hadoop.kms.proxyuser..users = x\n", "1: hadoop.kms.proxyuser."
	    ".users: user name is empty" },
	{ "group. = x\n", "1: group.: group name is empty" },
	{ "group.a b = x\n", "1: group.a b: group name contains white space" },
	/* duplicates */
	{ "hadoop.kms.acl.GET = a\n#\nhadoop.kms.acl.GET = b\n",
	    "3: hadoop.kms.acl.GET is already set on line 1" },
	{ "hadoop.kms.acl.GET = a\n  hadoop.kms.acl.GET   =   a  \n",
	    "2: hadoop.kms.acl.GET is already set on line 1" },
	{ "key.acl.k.ALL = a\nkey.acl.k.READ = a\nkey.acl.k.ALL = b\n",
	    "3: key.acl.k.ALL is already set on line 1" },
	{ "group.g = a\ngroup.g = b\n", "2: group.g is already set on line 1" },
	{ "hadoop.kms.proxyuser.p.hosts = *\nhadoop.kms.proxyuser.p.hosts = "
	    "*\n", "2: hadoop.kms.proxyuser.p.hosts is already set on line 1" },
	/* no '=' */
	{ "hadoop.kms.acl.GET = a\nhadoop.kms.acl.CREATE a\n",
	    "2: expected NAME = VALUE, found no '='" },
	{ "\n\n\njustaword\n", "4: expected NAME = VALUE" },
	{ " = a\n", "1: no property name before '='" },
	/* bad user and group names */
	{ "hadoop.kms.acl.GET = a,,b\n", "1: hadoop.kms.acl.GET: empty user "
	    "name in \"a,,b\"" },
	{ "hadoop.kms.acl.GET = a,\n", "1: hadoop.kms.acl.GET: empty user "
	    "name" },
	{ "hadoop.kms.acl.GET = ,a\n", "1: hadoop.kms.acl.GET: empty user "
	    "name" },
	{ "group.g = x\nhadoop.kms.acl.GET = a g,\n", "2: hadoop.kms.acl.GET: "
	    "empty group name" },
	{ "hadoop.kms.acl.GET = a, b\n", "1: hadoop.kms.acl.GET: empty user "
	    "name" },
	{ "hadoop.kms.acl.GET = a b c\n", "1: hadoop.kms.acl.GET: expected "
	    "\"USERS GROUPS\", found more than two fields" },
	{ "hadoop.kms.acl.GET = a # admins\n", "1: hadoop.kms.acl.GET: "
	    "expected \"USERS GROUPS\"" },
	{ "hadoop.kms.acl.GET = a#b\n", "1: hadoop.kms.acl.GET: user name "
	    "\"a#b\" contains '#'" },
	{ "hadoop.kms.acl.GET = a\x01" "b\n", "1: hadoop.kms.acl.GET: user "
	    "name \"a?b\" contains a control character" },
	{ "hadoop.kms.acl.GET = a,*\n", "1: hadoop.kms.acl.GET: user name "
	    "\"*\" is \"*\", which means everyone only as the whole value" },
	{ "hadoop.kms.acl.GET = * ops\n", "1: hadoop.kms.acl.GET: user name "
	    "\"*\"" },
	{ "hadoop.kms.acl.GET = a,"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "\n", "1: hadoop.kms.acl.GET: user name \"xxxx" },
	{ "group.g = a, b\n", "1: group.g: white space in a list" },
	{ "group.g = *\n", "1: group.g: \"*\" is not allowed here" },
	{ "group.g = a,,b\n", "1: group.g: empty user name" },
	{ "group.g#x = a\n", "1: group.g#x: group name contains '#'" },
	{ "hadoop.kms.proxyuser.a,b.users = x\n", "1: hadoop.kms.proxyuser."
	    "a,b.users: user name" },
	{ "hadoop.kms.proxyuser.p.users = a b\n", "1: hadoop.kms.proxyuser."
	    "p.users: white space in a list" },
	{ "hadoop.kms.proxyuser.p.groups = x,*\n", "1: hadoop.kms.proxyuser."
	    "p.groups: group name \"*\"" },
	/* groups must be defined somewhere in the file */
	{ "\nhadoop.kms.acl.GET = - nosuch\n", "2: hadoop.kms.acl.GET: group "
	    "\"nosuch\" is not defined (no group.nosuch line)" },
	{ "group.a = x\nhadoop.kms.proxyuser.p.groups = a,b\n",
	    "2: hadoop.kms.proxyuser.p.groups: group \"b\" is not defined" },
	{ "hadoop.kms.acl.GET = - x\nhadoop.kms.acl.PUT = y\n",
	    "2: hadoop.kms.acl.PUT: unknown operation" },
	/* bad hosts */
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.0/33\n", "1: hadoop.kms."
	    "proxyuser.p.hosts: \"10.0.0.0/33\" has a bad prefix length" },
	{ "hadoop.kms.proxyuser.p.hosts = ::/129\n", "1: hadoop.kms."
	    "proxyuser.p.hosts: \"::/129\" has a bad prefix length" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.0/\n", "1: hadoop.kms."
	    "proxyuser.p.hosts: \"10.0.0.0/\" has a bad prefix length" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.0/-1\n", HOSTS "\"10.0.0.0/"
	    "-1\" has a bad prefix length" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.0/8x\n", HOSTS "\"10.0.0.0/"
	    "8x\" has a bad prefix length" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.0/0008\n", HOSTS "\"10.0.0."
	    "0/0008\" has a bad prefix length" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0/8\n", "1: hadoop.kms."
	    "proxyuser.p.hosts: \"10.0.0/8\" is not an IPv4 or IPv6 address" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.1/8/8\n", HOSTS "\"10.0.0."
	    "1/8/8\" has a bad prefix length" },
	{ "hadoop.kms.proxyuser.p.hosts = gw.example.com\n", HOSTS "\"gw."
	    "example.com\" is not an IPv4 or IPv6 address (host names are not "
	    "supported)" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.1,*\n", "1: hadoop.kms."
	    "proxyuser.p.hosts: host name \"*\"" },
	{ "hadoop.kms.proxyuser.p.hosts = 10.0.0.1,\n", HOSTS "empty host "
	    "name" },
	/* control characters in a property name */
	{ "key.acl.a\x02" "b.READ = x\n", "1: the property name contains a "
	    "control character" },
};

START_TEST(test_bad)
{
	struct acls	*a = parse(bad[_i].text);
	char		 want[512];

	ck_assert_msg(a == NULL, "accepted:\n%s", bad[_i].text);
	snprintf(want, sizeof(want), FNAME ":%s", bad[_i].want);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
	    "want \"%s\", got \"%s\"", want, err);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char text[] = "hadoop.kms.acl.GET = a\nhadoop.kms.acl."
	    "CREATE = b\0c\n";

	ck_assert_ptr_null(acls_parse(text, sizeof(text) - 1, FNAME, err,
	    sizeof(err)));
	ck_assert_str_eq(err, FNAME ":2: line contains a NUL byte");
}
END_TEST

/* Syntax that must be accepted: comments, blanks, CRLF, no final
 * newline, a BOM, '=' and '#' in key names. */
START_TEST(test_syntax)
{
	struct acls *a;

	a = parse_ok("\xef\xbb\xbf# comment\r\n"
	    "   # indented comment\r\n"
	    "\t\r\n"
	    "hadoop.kms.acl.GET=alice\r\n"
	    "  hadoop.kms.acl.CREATE\t=\tbob  \r\n"
	    "key.acl.x#y.READ = carol\n"
	    "key.acl.last.READ = dave");
	ck_assert_int_eq(acls_op_allowed(a, "alice", ACL_GET), 1);
	ck_assert_int_eq(acls_op_allowed(a, "bob", ACL_CREATE), 1);
	ck_assert_int_eq(acls_op_allowed(a, "bob", ACL_GET), 0);
	ck_assert_int_eq(acls_key_allowed(a, "carol", "x#y", KEYOP_READ), 1);
	ck_assert_int_eq(acls_key_allowed(a, "dave", "last", KEYOP_READ), 1);
	acls_free(a);

	/* a line is split at its first '=': the user is "a=b" */
	a = parse_ok("hadoop.kms.acl.GET = a=b\n");
	ck_assert_int_eq(acls_op_allowed(a, "a=b", ACL_GET), 1);
	ck_assert_int_eq(acls_op_allowed(a, "a", ACL_GET), 0);
	acls_free(a);

	/* a NULL error buffer is allowed */
	ck_assert_ptr_null(acls_parse("x", 1, FNAME, NULL, 0));
	a = acls_parse(NULL, 0, NULL, NULL, 0);
	ck_assert_ptr_nonnull(a);
	acls_free(a);
}
END_TEST

/* Group membership from every group an ACL names, without duplicates. */
START_TEST(test_groups)
{
	struct acls *a;

	a = parse_ok("hadoop.kms.acl.GET = bob,alice g1,g2,g1\n"
	    "group.g1 = carol,alice\n"
	    "group.g2 = carol,erin\n"
	    "group.empty =\n"
	    "hadoop.kms.acl.CREATE = - empty\n");
	ck_assert_int_eq(acls_op_allowed(a, "alice", ACL_GET), 1);
	ck_assert_int_eq(acls_op_allowed(a, "bob", ACL_GET), 1);
	ck_assert_int_eq(acls_op_allowed(a, "carol", ACL_GET), 1);
	ck_assert_int_eq(acls_op_allowed(a, "erin", ACL_GET), 1);
	ck_assert_int_eq(acls_op_allowed(a, "g1", ACL_GET), 0);
	ck_assert_int_eq(acls_op_allowed(a, "dave", ACL_GET), 0);
	ck_assert_int_eq(acls_op_allowed(a, "carol", ACL_CREATE), 0);
	acls_free(a);
}
END_TEST

/* acls_load: file checks. */
static void
tmp_setup(void)
{
	char t[] = "/tmp/check_acl.XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(t));
	snprintf(tmpdir, sizeof(tmpdir), "%s", t);
	snprintf(path, sizeof(path), "%s/acls.conf", tmpdir);
}

static void
tmp_teardown(void)
{
	char sub[PATH_MAX + 32];

	snprintf(sub, sizeof(sub), "%s/dir", tmpdir);
	(void)rmdir(sub);
	(void)unlink(path);
	(void)rmdir(tmpdir);
}

static void
write_file(const char *p, const char *text, size_t len, mode_t mode)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(p, "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(chmod(p, mode), 0);
}

START_TEST(test_load)
{
	static const char text[] = "hadoop.kms.acl.GET = alice\n";
	struct acls	*a;
	char		 want[PATH_MAX + 128], sub[PATH_MAX + 32];

	write_file(path, text, strlen(text), 0644);
	ck_assert_msg((a = acls_load(path, err, sizeof(err))) != NULL, "%s",
	    err);
	ck_assert_int_eq(acls_op_allowed(a, "alice", ACL_GET), 1);
	acls_free(a);

	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_ptr_nonnull(a = acls_load(path, err, sizeof(err)));
	acls_free(a);

	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_ptr_null(acls_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "\"%s\" is writable by group or others "
	    "(mode 0666); chmod go-w it", path);
	ck_assert_str_eq(err, want);

	ck_assert_int_eq(chmod(path, 0620), 0);
	ck_assert_ptr_null(acls_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "(mode 0620)"));
	ck_assert_int_eq(chmod(path, 0602), 0);
	ck_assert_ptr_null(acls_load(path, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "(mode 0602)"));

	/* parse errors name the file as given */
	write_file(path, "hadoop.kms.acl.GET = a\nnope = b\n", 32, 0644);
	ck_assert_ptr_null(acls_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:2: unknown property \"nope\"", path);
	ck_assert_str_eq(err, want);

	snprintf(sub, sizeof(sub), "%s/dir", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	ck_assert_ptr_null(acls_load(sub, err, sizeof(err)));
	snprintf(want, sizeof(want), "\"%s\" is not a regular file", sub);
	ck_assert_str_eq(err, want);

	snprintf(sub, sizeof(sub), "%s/missing", tmpdir);
	ck_assert_ptr_null(acls_load(sub, err, sizeof(err)));
	snprintf(want, sizeof(want), "could not open \"%s\": No such file or "
	    "directory", sub);
	ck_assert_str_eq(err, want);
}
END_TEST

/* A symbolic link to a good file is fine; 4 MiB is the limit. */
START_TEST(test_load_link_and_size)
{
	struct acls	*a;
	char		 link[PATH_MAX + 32], want[PATH_MAX + 128], *big;
	size_t		 n = 4u * 1024 * 1024, i;

	ck_assert_ptr_nonnull(big = malloc(n + 1));
	/* comment lines up to exactly 4 MiB, then one byte more */
	for (i = 0; i < n; i += 64) {
		memset(big + i, ' ', 64);
		big[i] = '#';
		big[i + 63] = '\n';
	}
	big[n] = '\n';
	write_file(path, big, n, 0644);
	ck_assert_msg((a = acls_load(path, err, sizeof(err))) != NULL, "%s",
	    err);
	acls_free(a);
	write_file(path, big, n + 1, 0644);
	ck_assert_ptr_null(acls_load(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "\"%s\" is too large (4194305 bytes, at "
	    "most 4194304)", path);
	ck_assert_str_eq(err, want);
	free(big);

	write_file(path, "hadoop.kms.acl.GET = *\n", 23, 0644);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	ck_assert_int_eq(symlink(path, link), 0);
	a = acls_load(link, err, sizeof(err));
	(void)unlink(link);
	ck_assert_msg(a != NULL, "%s", err);
	ck_assert_int_eq(acls_op_allowed(a, "x", ACL_GET), 1);
	acls_free(a);
}
END_TEST

/* Many keys: each found by its own name, others fall to the defaults. */
START_TEST(test_many_keys)
{
	struct acls	*a;
	char		*text, key[64], user[64];
	size_t		 cap = 2000 * 128 + 256, len = 0;
	int		 i;

	ck_assert_ptr_nonnull(text = malloc(cap));
	len += (size_t)snprintf(text + len, cap - len,
	    "default.key.acl.READ = dflt\n");
	for (i = 0; i < 2000; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    "key.acl.ns%d/key.%d@x.%s = u%d\n", i % 7, i,
		    i % 2 ? "READ" : "ALL", i);
	ck_assert_uint_lt(len, cap);
	a = parse_ok(text);
	ck_assert_int_eq(acls_has_key_acls(a), 1);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "ns%d/key.%d@x", i % 7, i);
		snprintf(user, sizeof(user), "u%d", i);
		ck_assert_msg(acls_key_allowed(a, user, key, KEYOP_READ),
		    "%s READ %s", user, key);
		ck_assert_int_eq(acls_key_allowed(a, user, key,
		    KEYOP_MANAGEMENT), i % 2 == 0);
		snprintf(user, sizeof(user), "u%d", (i + 1) % 2000);
		ck_assert_int_eq(acls_key_allowed(a, user, key, KEYOP_READ), 0);
		ck_assert_int_eq(acls_key_allowed(a, "dflt", key, KEYOP_READ),
		    0);
	}
	ck_assert_int_eq(acls_key_allowed(a, "dflt", "ns1/key.7@x",
	    KEYOP_READ), 1);
	ck_assert_int_eq(acls_key_allowed(a, "dflt", "nosuch", KEYOP_READ), 1);
	ck_assert_int_eq(acls_key_allowed(a, "u1", "nosuch", KEYOP_READ), 0);
	acls_free(a);
	free(text);
}
END_TEST

/*
 * The example file loads, as the file in the tree (when a umask left it
 * group-writable, only through a private copy) and means what its
 * comments say.
 */
START_TEST(test_example)
{
	struct acls	*a;
	struct stat	 st;
	FILE		*fp;
	char		*text;
	long		 n;

	ck_assert_int_eq(stat(EXAMPLE, &st), 0);
	if ((st.st_mode & 022) == 0) {
		a = acls_load(EXAMPLE, err, sizeof(err));
		ck_assert_msg(a != NULL, "%s", err);
		acls_free(a);
	}
	ck_assert_ptr_nonnull(fp = fopen(EXAMPLE, "r"));
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	ck_assert_int_ge(n = ftell(fp), 1);
	rewind(fp);
	ck_assert_ptr_nonnull(text = malloc((size_t)n));
	ck_assert_uint_eq(fread(text, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	write_file(path, text, (size_t)n, 0644);
	free(text);
	a = acls_load(path, err, sizeof(err));
	ck_assert_msg(a != NULL, "%s", err);

	/* the administrator manages keys but reads no key material */
	ck_assert_int_eq(acls_op_allowed(a, "admin", ACL_CREATE), 1);
	ck_assert_int_eq(acls_key_allowed(a, "admin", "any",
	    KEYOP_MANAGEMENT), 1);
	ck_assert_int_eq(acls_op_allowed(a, "admin", ACL_DECRYPT_EEK), 0);
	/* hdfs generates EEKs for every key, decrypts none */
	ck_assert_int_eq(acls_op_allowed(a, "hdfs", ACL_GENERATE_EEK), 1);
	ck_assert_int_eq(acls_key_allowed(a, "hdfs", "any",
	    KEYOP_GENERATE_EEK), 1);
	ck_assert_int_eq(acls_op_allowed(a, "hdfs", ACL_DECRYPT_EEK), 0);
	/* analysts decrypt under their key; not under another */
	ck_assert_int_eq(acls_op_allowed(a, "ana", ACL_DECRYPT_EEK), 1);
	ck_assert_int_eq(acls_key_allowed(a, "ana", "warehouse/sales",
	    KEYOP_DECRYPT_EEK), 1);
	ck_assert_int_eq(acls_key_allowed(a, "ana", "any",
	    KEYOP_DECRYPT_EEK), 0);
	/* hue acts for analysts from its host only */
	ck_assert_int_eq(acls_proxy_allowed(a, "hue", "ana", "10.20.0.15"), 1);
	ck_assert_int_eq(acls_proxy_allowed(a, "hue", "ana", "10.21.0.15"), 0);
	ck_assert_int_eq(acls_proxy_allowed(a, "hue", "admin", "10.20.0.15"),
	    0);
	acls_free(a);
}
END_TEST

static Suite *
acl_suite(void)
{
	Suite	*s = suite_create("acl");
	TCase	*dec = tcase_create("decisions");
	TCase	*syn = tcase_create("syntax");
	TCase	*load = tcase_create("load");

	tcase_add_loop_test(dec, test_op, 0, sizeof(ops) / sizeof(ops[0]));
	tcase_add_loop_test(dec, test_op_names, 0, ACL_NOPS);
	tcase_add_test(dec, test_names);
	tcase_add_loop_test(dec, test_key, 0, sizeof(keys) / sizeof(keys[0]));
	tcase_add_test(dec, test_has_key_acls);
	tcase_add_loop_test(dec, test_proxy, 0,
	    sizeof(proxies) / sizeof(proxies[0]));
	tcase_add_test(dec, test_groups);
	tcase_add_test(dec, test_many_keys);
	suite_add_tcase(s, dec);

	tcase_add_loop_test(syn, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(syn, test_nul_byte);
	tcase_add_test(syn, test_syntax);
	suite_add_tcase(s, syn);

	tcase_add_checked_fixture(load, tmp_setup, tmp_teardown);
	tcase_add_test(load, test_load);
	tcase_add_test(load, test_load_link_and_size);
	tcase_add_test(load, test_example);
	suite_add_tcase(s, load);
	return s;
}

int
main(void)
{
	return check_run(acl_suite(), CK_FORK);
}

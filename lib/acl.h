/*
 * acl.h: access control in the style of Hadoop KMS's kms-acls.xml, read
 * from acls.conf (keyward-acls.conf(5)).
 *
 * Operation ACLs (hadoop.kms.acl.OP, hadoop.kms.blacklist.OP) say who may
 * call an operation at all; key ACLs (key.acl.NAME.KEYOP,
 * default.key.acl.KEYOP, whitelist.key.acl.KEYOP) say who may use which
 * key; group.NAME lines define groups; hadoop.kms.proxyuser.USER.{users,
 * groups,hosts} say whom a proxy may act for (doAs).  An ACL value is
 * "user1,user2 group1,group2" (users, a space, groups) or "*" for
 * everyone; an empty value or a missing line means nobody.
 *
 * A parsed struct acls is immutable: readers share it without locks and
 * a reload builds a new one.  Pure code, no I/O but acls_load.
 */
#ifndef KW_ACL_H
#define KW_ACL_H

#include <stddef.h>

/* Operation ACLs, as named after hadoop.kms.acl. */
enum acl_op {
	ACL_CREATE = 0,
	ACL_DELETE,
	ACL_ROLLOVER,
	ACL_GET,
	ACL_GET_KEYS,
	ACL_GET_METADATA,
	ACL_SET_KEY_MATERIAL,
	ACL_GENERATE_EEK,
	ACL_DECRYPT_EEK,
	ACL_NOPS
};

/* Key ACLs, as named after key.acl.NAME.  (ALL in the file sets every
 * one of these that the same key does not name itself.) */
enum acl_keyop {
	KEYOP_MANAGEMENT = 0,	/* create, delete, roll, invalidate */
	KEYOP_GENERATE_EEK,	/* generate, re-encrypt, batch */
	KEYOP_DECRYPT_EEK,
	KEYOP_READ,		/* metadata, versions, current version */
	KEYOP_NKEYOPS
};

struct acls;

/*
 * Parse the text of an acls.conf (len bytes, need not be NUL-terminated).
 * fname only names the file in messages.  NULL on error with
 * "FNAME:LINE: why" in err: unknown property, unknown operation, bad
 * group or user name, a line without '=', a duplicate property.
 */
struct acls *acls_parse(const char *text, size_t len, const char *fname,
	    char *err, size_t errlen);
/* Read and parse path; also refuses a file writable by group or others. */
struct acls *acls_load(const char *path, char *err, size_t errlen);
void	acls_free(struct acls *a);
/* SHA-256 (32 bytes) of the exact text the rules were parsed from,
 * comments and blank lines included: equal files, equal digests. */
const unsigned char *acls_sha256(const struct acls *a);

/* The name as written in the file ("CREATE", "MANAGEMENT", ...). */
const char *acl_op_name(enum acl_op op);
const char *acl_keyop_name(enum acl_keyop kop);

/* Whether user may call op: in hadoop.kms.acl.OP and not in its
 * blacklist (a user in a blacklisted group is blacklisted). */
int	acls_op_allowed(const struct acls *a, const char *user, enum acl_op op);
/*
 * Whether user may use the key whose ACL name is key (the key's
 * key.acl.name attribute, else its name) for kop: allowed by the key's
 * own key.acl.KEY lines when the file has any for that key, else by the
 * default.key.acl lines; or allowed by whitelist.key.acl.KOP either way.
 */
int	acls_key_allowed(const struct acls *a, const char *user,
	    const char *key, enum acl_keyop kop);
/* Whether the file has key.acl.NAME lines for any key at all (when it
 * has none, the key's ACL name does not matter). */
int	acls_has_key_acls(const struct acls *a);
/*
 * Whether real (an authenticated identity connecting from address addr,
 * text as inet_ntop writes it) may act as user: real has
 * hadoop.kms.proxyuser.REAL.hosts covering addr ("*", an address, or
 * ADDR/PREFIX) and user is in its .users or one of its .groups ("*" for
 * anyone).  No proxyuser lines for real: never.
 */
int	acls_proxy_allowed(const struct acls *a, const char *real,
	    const char *user, const char *addr);

#endif

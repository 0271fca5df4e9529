/*
 * acl_impl.h: the inside of struct acls, for acl*.c only.  acl.c owns
 * the structure (its memory, lookups, precomputation and the decisions);
 * acl_parse.c builds one from the text of acls.conf.  Every other module
 * sees only acl.h.
 *
 * Every string lives in an arena freed with the struct; arrays of
 * pointers into it are sized exactly when a value is parsed.
 */
#ifndef KW_ACL_IMPL_H
#define KW_ACL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "acl.h"
#include "kwerr.h"

#define KEYOP_ALL	KEYOP_NKEYOPS	/* "ALL", only in the file */

/* The names as written in the file, indexed by enum acl_op, acl_keyop. */
extern const char *const acl_op_names[ACL_NOPS];
extern const char *const acl_keyop_names[KEYOP_NKEYOPS];

struct arena_chunk;

/*
 * Who an ACL names.  users and groups are as written; members is users
 * plus every member of those groups, sorted and without duplicates,
 * filled in once all groups are known.  line 0: not in the file.
 */
struct acl_list {
	const char	*prop;		/* property name, for messages */
	int		 line;
	int		 everyone;	/* "*" */
	const char	**users, **groups, **members;
	size_t		 nusers, ngroups, nmembers;
};

/* The key ACLs of one key, or the default or whitelist set. */
struct acl_keyset {
	const char		*name;	/* NULL for default and whitelist */
	struct acl_list		 op[KEYOP_NKEYOPS + 1];	/* + ALL */
	const struct acl_list	*eff[KEYOP_NKEYOPS];	/* after ALL; or NULL */
};

struct acl_group {
	const char	*name;
	const char	**users;
	size_t		 nusers;
};

/* An address block of a proxy user's hosts, IPv4 held in addr[0..4). */
struct acl_net {
	int		family;		/* AF_INET, AF_INET6 */
	unsigned int	prefix;
	unsigned char	addr[16];
};

struct acl_proxy {
	const char	*real;
	struct acl_list	 users, groups;
	int		 hosts_line, hosts_everyone;
	struct acl_net	*nets;
	size_t		 nnets;
};

/* String -> index, open addressing with linear probing. */
struct acl_map {
	struct acl_mapent {
		const char	*key;
		uint32_t	 hash, val;
	}		*ent;
	size_t		 cap, n;
};

struct acls {
	struct arena_chunk	*arena;
	struct acl_list		 op[ACL_NOPS], black[ACL_NOPS];
	struct acl_keyset	 def, white;
	struct acl_keyset	*keys;
	size_t			 nkeys, capkeys;
	struct acl_map		 keymap;
	struct acl_group	*groups;
	size_t			 ngroups, capgroups;
	struct acl_map		 groupmap;
	struct acl_proxy	*proxies;
	size_t			 nproxies, capproxies;
	struct acl_map		 proxymap;
	unsigned char		 sha256[32];	/* of the text parsed */
};

/* Memory: n bytes aligned for any type, or a copy of s[0..n) with a NUL,
 * freed by acls_free; or NULL.  Room for one more element of size sz in
 * the array *v of *cap, n used: 0 or -1. */
void	*acl_arena_alloc(struct acls *a, size_t n) WUR;
char	*acl_arena_strndup(struct acls *a, const char *s, size_t n) WUR;
int	acl_vec_grow(void *v, size_t *cap, size_t n, size_t sz) WUR;

/* Maps: the entry for key or NULL; add key (not yet present; the map
 * keeps the pointer), 0 or -1. */
const struct acl_mapent *acl_map_get(const struct acl_map *m,
	    const char *key);
int	acl_map_put(struct acl_map *m, const char *key, uint32_t val) WUR;

/* Building, names in the arena: the key set of key k and the proxy user
 * real, made when new; a new group.  NULL or -1 when out of memory. */
struct acl_keyset *acl_keyset_get(struct acls *a, const char *k) WUR;
struct acl_proxy *acl_proxy_get(struct acls *a, const char *real) WUR;
int	acl_group_add(struct acls *a, const char *name, const char **users,
	    size_t nusers) WUR;

/* Once every line is read and every group reference checked: fill the
 * members and the effective key ACLs.  0, or -1 when out of memory. */
int	acl_expand(struct acls *a) WUR;

/* An address or ADDR/PREFIX (NUL-terminated) into *net, IPv4-mapped IPv6
 * turned into IPv4.  0, or -1 with *why set. */
int	acl_net_parse(const char *s, struct acl_net *net, int allow_prefix,
	    const char **why) WUR;

#endif

/*
 * acl.c: the parsed access control structure, struct acls, and the four
 * decisions readers ask of it: may this user call this operation, use
 * this key for this key operation, act as that user from this address.
 *
 * Everything a decision needs is worked out before a reader sees the
 * struct (acl_expand, called by the parser): group references are
 * replaced by a sorted array of member names (so "user in ACL" is one
 * binary search), ALL is expanded per key, key sets and proxy users are
 * found through a hash table.  The result is immutable, so readers on any
 * thread share it without locks; a reload builds a new one and swaps it
 * in.  Also here: the structure's memory (an arena, string maps and
 * arrays; see acl_impl.h), the calls the parser builds it with, and the
 * names of the operations.
 *
 * Not here: the file's syntax and its checks (acl_parse.c), when to
 * reload, what an HTTP operation needs (the API handlers map requests to
 * operations), logging.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "acl_impl.h"

#define ACL_CHUNK	(64u * 1024)		/* arena chunk */

const char *const acl_op_names[ACL_NOPS] = {
	"CREATE", "DELETE", "ROLLOVER", "GET", "GET_KEYS", "GET_METADATA",
	"SET_KEY_MATERIAL", "GENERATE_EEK", "DECRYPT_EEK"
};
const char *const acl_keyop_names[KEYOP_NKEYOPS] = {
	"MANAGEMENT", "GENERATE_EEK", "DECRYPT_EEK", "READ"
};

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 used, size;
	max_align_t		 data[];
};

/* ---- memory: the arena, maps, arrays ---- */

/* Memory of n bytes, aligned for any type, freed with the arena. */
void *
acl_arena_alloc(struct acls *a, size_t n)
{
	struct arena_chunk	*c = a->arena;
	size_t			 al = sizeof(max_align_t), size;
	void			*p;

	n = (n + al - 1) / al * al;
	if (n == 0)
		n = al;
	if (c == NULL || c->size - c->used < n) {
		size = n > ACL_CHUNK ? n : ACL_CHUNK;
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->used = 0;
		c->size = size;
		/* keep the chunk with more room at the head */
		if (a->arena != NULL && n > ACL_CHUNK) {
			c->next = a->arena->next;
			a->arena->next = c;
		} else {
			c->next = a->arena;
			a->arena = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

/* A copy of s[0..n) with a NUL, in the arena; or NULL. */
char *
acl_arena_strndup(struct acls *a, const char *s, size_t n)
{
	char *p;

	if ((p = acl_arena_alloc(a, n + 1)) == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* FNV-1a. */
static uint32_t
map_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The entry for key, or NULL. */
const struct acl_mapent *
acl_map_get(const struct acl_map *m, const char *key)
{
	uint32_t	h;
	size_t		i;

	if (m->cap == 0)
		return NULL;
	h = map_hash(key);
	for (i = h & (m->cap - 1); m->ent[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (m->ent[i].hash == h && strcmp(m->ent[i].key, key) == 0)
			return &m->ent[i];
	return NULL;
}

/* Add key (not yet present; the map keeps the pointer).  0 or -1. */
int
acl_map_put(struct acl_map *m, const char *key, uint32_t val)
{
	struct acl_mapent	*ent;
	size_t			 cap, i, j;

	if ((m->n + 1) * 2 > m->cap) {
		cap = m->cap == 0 ? 64 : m->cap * 2;
		if ((ent = calloc(cap, sizeof(*ent))) == NULL)
			return -1;
		for (j = 0; j < m->cap; j++) {
			if (m->ent[j].key == NULL)
				continue;
			for (i = m->ent[j].hash & (cap - 1); ent[i].key != NULL;
			    i = (i + 1) & (cap - 1))
				;
			ent[i] = m->ent[j];
		}
		free(m->ent);
		m->ent = ent;
		m->cap = cap;
	}
	m->n++;
	for (i = map_hash(key) & (m->cap - 1); m->ent[i].key != NULL;
	    i = (i + 1) & (m->cap - 1))
		;
	m->ent[i].key = key;
	m->ent[i].hash = map_hash(key);
	m->ent[i].val = val;
	return 0;
}

/* Make room for one more element of size sz in *v.  0 or -1. */
int
acl_vec_grow(void *v, size_t *cap, size_t n, size_t sz)
{
	void	*p;
	size_t	 c;

	if (n < *cap)
		return 0;
	c = *cap == 0 ? 16 : *cap * 2;
	if ((p = realloc(*(void **)v, c * sz)) == NULL)
		return -1;
	*(void **)v = p;
	*cap = c;
	return 0;
}

/* ---- building ---- */

/* The key set for key name k (in the arena), made when new; or NULL
 * when out of memory. */
struct acl_keyset *
acl_keyset_get(struct acls *a, const char *k)
{
	const struct acl_mapent	*e;

	if ((e = acl_map_get(&a->keymap, k)) != NULL)
		return &a->keys[e->val];
	if (acl_vec_grow(&a->keys, &a->capkeys, a->nkeys, sizeof(*a->keys)) ==
	    -1 || acl_map_put(&a->keymap, k, (uint32_t)a->nkeys) == -1)
		return NULL;
	memset(&a->keys[a->nkeys], 0, sizeof(a->keys[0]));
	a->keys[a->nkeys].name = k;
	return &a->keys[a->nkeys++];
}

/* The proxy user real (in the arena), made when new; or NULL when out of
 * memory. */
struct acl_proxy *
acl_proxy_get(struct acls *a, const char *real)
{
	const struct acl_mapent	*e;

	if ((e = acl_map_get(&a->proxymap, real)) != NULL)
		return &a->proxies[e->val];
	if (acl_vec_grow(&a->proxies, &a->capproxies, a->nproxies,
	    sizeof(*a->proxies)) == -1 ||
	    acl_map_put(&a->proxymap, real, (uint32_t)a->nproxies) == -1)
		return NULL;
	memset(&a->proxies[a->nproxies], 0, sizeof(a->proxies[0]));
	a->proxies[a->nproxies].real = real;
	return &a->proxies[a->nproxies++];
}

/* Add group name (not yet present) with its members; all in the arena.
 * 0, or -1 when out of memory. */
int
acl_group_add(struct acls *a, const char *name, const char **users,
    size_t nusers)
{
	struct acl_group *gr;

	if (acl_vec_grow(&a->groups, &a->capgroups, a->ngroups,
	    sizeof(*a->groups)) == -1 ||
	    acl_map_put(&a->groupmap, name, (uint32_t)a->ngroups) == -1)
		return -1;
	gr = &a->groups[a->ngroups++];
	gr->name = name;
	gr->users = users;
	gr->nusers = nusers;
	return 0;
}

/* ---- precomputation ---- */

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Fill l->members: its users and the members of its groups. */
static int
expand_list(struct acls *a, struct acl_list *l)
{
	const struct acl_group	*g;
	size_t			 n = l->nusers, i, j, k;

	if (l->line == 0 || l->everyone)
		return 0;
	for (i = 0; i < l->ngroups; i++)
		n += a->groups[acl_map_get(&a->groupmap,
		    l->groups[i])->val].nusers;
	if (n == 0)
		return 0;
	if ((l->members = acl_arena_alloc(a, n * sizeof(*l->members))) == NULL)
		return -1;
	if (l->nusers > 0)
		memcpy(l->members, l->users, l->nusers * sizeof(*l->users));
	k = l->nusers;
	for (i = 0; i < l->ngroups; i++) {
		g = &a->groups[acl_map_get(&a->groupmap, l->groups[i])->val];
		for (j = 0; j < g->nusers; j++)
			l->members[k++] = g->users[j];
	}
	qsort(l->members, n, sizeof(*l->members), cmp_str);
	for (i = k = 0; i < n; i++)
		if (k == 0 || strcmp(l->members[k - 1], l->members[i]) != 0)
			l->members[k++] = l->members[i];
	l->nmembers = k;
	return 0;
}

/* Expand ALL and every list of a key set. */
static int
expand_keyset(struct acls *a, struct acl_keyset *ks)
{
	int k;

	for (k = 0; k <= KEYOP_ALL; k++)
		if (expand_list(a, &ks->op[k]) == -1)
			return -1;
	for (k = 0; k < KEYOP_NKEYOPS; k++)
		ks->eff[k] = ks->op[k].line != 0 ? &ks->op[k] :
		    ks->op[KEYOP_ALL].line != 0 ? &ks->op[KEYOP_ALL] : NULL;
	return 0;
}

/* Precompute every list of a; see acl_impl.h. */
int
acl_expand(struct acls *a)
{
	size_t	i;
	int	k;

	for (k = 0; k < ACL_NOPS; k++)
		if (expand_list(a, &a->op[k]) == -1 ||
		    expand_list(a, &a->black[k]) == -1)
			return -1;
	if (expand_keyset(a, &a->def) == -1 ||
	    expand_keyset(a, &a->white) == -1)
		return -1;
	for (i = 0; i < a->nkeys; i++)
		if (expand_keyset(a, &a->keys[i]) == -1)
			return -1;
	for (i = 0; i < a->nproxies; i++)
		if (expand_list(a, &a->proxies[i].users) == -1 ||
		    expand_list(a, &a->proxies[i].groups) == -1)
			return -1;
	return 0;
}

/* ---- addresses ---- */

/*
 * An address or ADDR/PREFIX (text in s, NUL-terminated) into *net,
 * IPv4-mapped IPv6 turned into IPv4.  0, or -1 with *why set.
 */
int
acl_net_parse(const char *s, struct acl_net *net, int allow_prefix,
    const char **why)
{
	char		 buf[INET6_ADDRSTRLEN + 8];
	const char	*slash = strchr(s, '/'), *p;
	size_t		 n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned int	 max, pfx = 0;
	static const unsigned char mapped[12] = {
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	*why = "is not an IPv4 or IPv6 address (host names are not "
	    "supported)";
	if (n >= sizeof(buf) || (slash != NULL && !allow_prefix))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		max = 128;
	} else
		return -1;
	if (slash == NULL)
		pfx = max;
	else {
		*why = "has a bad prefix length (0 to 32 for IPv4, 0 to 128 "
		    "for IPv6)";
		if (slash[1] == '\0' || strlen(slash + 1) > 3)
			return -1;
		for (p = slash + 1; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return -1;
			pfx = pfx * 10 + (unsigned int)(*p - '0');
		}
		if (pfx > max)
			return -1;
	}
	net->prefix = pfx;
	if (net->family == AF_INET6 && pfx >= 96 &&
	    memcmp(net->addr, mapped, sizeof(mapped)) == 0) {
		memmove(net->addr, net->addr + 12, 4);
		memset(net->addr + 4, 0, 12);
		net->family = AF_INET;
		net->prefix = pfx - 96;
	}
	return 0;
}

/* Whether addr lies in net (same family). */
static int
net_match(const struct acl_net *net, const struct acl_net *addr)
{
	unsigned int	full = net->prefix / 8, bits = net->prefix % 8;
	unsigned char	mask;

	if (net->family != addr->family ||
	    memcmp(net->addr, addr->addr, full) != 0)
		return 0;
	if (bits == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - bits));
	return ((net->addr[full] ^ addr->addr[full]) & mask) == 0;
}

/* ---- the interface ---- */

/* Free a; NULL is fine.  No reader may still hold a. */
void
acls_free(struct acls *a)
{
	struct arena_chunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->arena; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a->keys);
	free(a->keymap.ent);
	free(a->groups);
	free(a->groupmap.ent);
	free(a->proxies);
	free(a->proxymap.ent);
	free(a);
}

/* Static names, "UNKNOWN" out of range. */
const char *
acl_op_name(enum acl_op op)
{
	return (unsigned int)op < ACL_NOPS ? acl_op_names[op] : "UNKNOWN";
}

const char *
acl_keyop_name(enum acl_keyop kop)
{
	return (unsigned int)kop < KEYOP_NKEYOPS ? acl_keyop_names[kop] :
	    "UNKNOWN";
}

/* Whether l (NULL or not in the file: nobody) names user. */
static int
list_match(const struct acl_list *l, const char *user)
{
	if (l == NULL || l->line == 0)
		return 0;
	if (l->everyone)
		return 1;
	return l->nmembers > 0 && bsearch(&user, l->members, l->nmembers,
	    sizeof(*l->members), cmp_str) != NULL;
}

/*
 * The decisions.  Each returns 1 (allowed) or 0; a NULL or empty user,
 * a NULL acls and an operation out of range are denied.  They read an
 * immutable struct: any number of threads may call them at once.
 */
int
acls_op_allowed(const struct acls *a, const char *user, enum acl_op op)
{
	if (a == NULL || user == NULL || *user == '\0' ||
	    (unsigned int)op >= ACL_NOPS)
		return 0;
	return list_match(&a->op[op], user) && !list_match(&a->black[op], user);
}

int
acls_key_allowed(const struct acls *a, const char *user, const char *key,
    enum acl_keyop kop)
{
	const struct acl_mapent		*e;
	const struct acl_keyset		*ks;

	if (a == NULL || user == NULL || *user == '\0' || key == NULL ||
	    (unsigned int)kop >= KEYOP_NKEYOPS)
		return 0;
	e = acl_map_get(&a->keymap, key);
	ks = e != NULL ? &a->keys[e->val] : &a->def;
	return list_match(ks->eff[kop], user) ||
	    list_match(a->white.eff[kop], user);
}

int
acls_has_key_acls(const struct acls *a)
{
	return a != NULL && a->nkeys > 0;
}

int
acls_proxy_allowed(const struct acls *a, const char *real, const char *user,
    const char *addr)
{
	const struct acl_mapent	*e;
	const struct acl_proxy	*px;
	struct acl_net		 ip;
	const char		*why;
	size_t			 i;
	int			 host_ok = 0;

	if (a == NULL || real == NULL || user == NULL || *user == '\0' ||
	    (e = acl_map_get(&a->proxymap, real)) == NULL)
		return 0;
	px = &a->proxies[e->val];
	if (px->hosts_line == 0)
		return 0;
	if (px->hosts_everyone)
		host_ok = 1;
	else if (addr != NULL && acl_net_parse(addr, &ip, 0, &why) == 0)
		for (i = 0; i < px->nnets && !host_ok; i++)
			host_ok = net_match(&px->nets[i], &ip);
	return host_ok && (list_match(&px->users, user) ||
	    list_match(&px->groups, user));
}

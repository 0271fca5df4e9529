/*
 * acl.c: the access control file, acls.conf (keyward-acls.conf(5)).
 *
 * Owns the file's syntax, its checks, and the four decisions readers ask
 * for: may this user call this operation, use this key for this key
 * operation, act as that user from this address.  Everything a decision
 * needs is worked out at parse time: group references are replaced by a
 * sorted array of member names (so "user in ACL" is one binary search),
 * ALL is expanded per key, key sets and proxy users are found through a
 * hash table.  The result is immutable, so readers on any thread share
 * it without locks; a reload builds a new one and swaps it in.
 *
 * Not here: when to reload, what an HTTP operation needs (the API
 * handlers map requests to operations), logging (errors go to the
 * caller's buffer as "FILE:LINE: message").
 *
 * Every string lives in an arena freed with the struct; arrays of
 * pointers into it are sized exactly when a value is parsed.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"

#define ACL_FILE_MAX	(4u * 1024 * 1024)	/* bytes acls_load reads */
#define ACL_NAME_MAX	255			/* bytes of a user or group */
#define ACL_CHUNK	(64u * 1024)		/* arena chunk */

#define PFX_OP		"hadoop.kms.acl."
#define PFX_BLACK	"hadoop.kms.blacklist."
#define PFX_PROXY	"hadoop.kms.proxyuser."
#define PFX_KEY		"key.acl."
#define PFX_DEFAULT	"default.key.acl."
#define PFX_WHITE	"whitelist.key.acl."
#define PFX_GROUP	"group."

static const char *const op_names[ACL_NOPS] = {
	"CREATE", "DELETE", "ROLLOVER", "GET", "GET_KEYS", "GET_METADATA",
	"SET_KEY_MATERIAL", "GENERATE_EEK", "DECRYPT_EEK"
};
static const char *const keyop_names[KEYOP_NKEYOPS] = {
	"MANAGEMENT", "GENERATE_EEK", "DECRYPT_EEK", "READ"
};
#define KEYOP_ALL	KEYOP_NKEYOPS	/* "ALL", only in the file */

struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 used, size;
	max_align_t		 data[];
};

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

/* A group named by an ACL, checked once every group.NAME line is read. */
struct acl_gref {
	const char	*group, *prop;
	int		 line;
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
};

/* State of one acls_parse call. */
struct acl_parse {
	struct acls		*a;
	const char		*fname;
	int			 line;
	char			*err;
	size_t			 errlen;
	struct acl_map		 props;		/* property -> line */
	struct acl_gref		*grefs;
	size_t			 ngrefs, capgrefs;
};

static void	acl_error(struct acl_parse *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	acl_errbuf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
acl_errbuf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "FILE:LINE: message", or "FILE: message" for line 0. */
static void
acl_error(struct acl_parse *ps, int line, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		acl_errbuf(ps->err, ps->errlen, "%s:%d: %s", ps->fname, line,
		    msg);
	else
		acl_errbuf(ps->err, ps->errlen, "%s: %s", ps->fname, msg);
}

/*
 * Text from the file made safe for a message: control characters become
 * '?', and more than 80 bytes are cut with "...".  Returns buf.
 */
static const char *
acl_quote(const char *s, size_t n, char *buf, size_t buflen)
{
	size_t i, max = buflen - 4;

	if (max > 80)
		max = 80;
	for (i = 0; i < n && i < max; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' :
		    s[i];
	if (i < n)
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/* Memory of n bytes, aligned for any type, freed with the arena. */
static void *
arena_alloc(struct acls *a, size_t n)
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

static char *
arena_strndup(struct acls *a, const char *s, size_t n)
{
	char *p;

	if ((p = arena_alloc(a, n + 1)) == NULL)
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
static const struct acl_mapent *
map_get(const struct acl_map *m, const char *key)
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
static int
map_put(struct acl_map *m, const char *key, uint32_t val)
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
static int
vec_grow(void *v, size_t *cap, size_t n, size_t sz)
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

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Whether s[0..n) is a valid user or group name; else *why says why. */
static int
name_ok(const char *s, size_t n, const char **why)
{
	size_t i;

	if (n == 0) {
		*why = "is empty";
		return 0;
	}
	if (n > ACL_NAME_MAX) {
		*why = "is longer than 255 bytes";
		return 0;
	}
	if (n == 1 && s[0] == '*') {
		*why = "is \"*\", which means everyone only as the whole value";
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (is_blank(s[i])) {
			*why = "contains white space";
			return 0;
		}
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			*why = "contains a control character";
			return 0;
		}
		if (s[i] == ',') {
			*why = "contains ','";
			return 0;
		}
		if (s[i] == '#') {
			*why = "contains '#' (a comment takes a whole line)";
			return 0;
		}
	}
	return 1;
}

/*
 * Split the comma list s[0..n) into an arena array of names (*out, *nout;
 * an empty s gives none).  what ("user", "group") names them in
 * messages.  0, or -1 with the error set.
 */
static int
parse_names(struct acl_parse *ps, const char *prop, const char *what,
    const char *s, size_t n, const char ***out, size_t *nout)
{
	const char	**v, *p, *end = s + n, *comma, *why;
	size_t		  cnt = 1, k = 0;
	char		  q[96];

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	for (p = s; p < end; p++)
		if (*p == ',')
			cnt++;
	if ((v = arena_alloc(ps->a, cnt * sizeof(*v))) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	for (p = s; k < cnt; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (!name_ok(p, (size_t)(comma - p), &why)) {
			if (comma == p)
				acl_error(ps, ps->line, "%s: empty %s name in "
				    "\"%s\"", prop, what,
				    acl_quote(s, n, q, sizeof(q)));
			else
				acl_error(ps, ps->line, "%s: %s name \"%s\" %s",
				    prop, what, acl_quote(p,
				    (size_t)(comma - p), q, sizeof(q)), why);
			return -1;
		}
		if ((v[k++] = arena_strndup(ps->a, p, (size_t)(comma - p))) ==
		    NULL) {
			acl_error(ps, 0, "out of memory");
			return -1;
		}
	}
	*out = v;
	*nout = cnt;
	return 0;
}

/* Remember that prop names group g, to check once all groups are read. */
static int
add_grefs(struct acl_parse *ps, const char *prop, const char **g, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (vec_grow(&ps->grefs, &ps->capgrefs, ps->ngrefs,
		    sizeof(*ps->grefs)) == -1) {
			acl_error(ps, 0, "out of memory");
			return -1;
		}
		ps->grefs[ps->ngrefs].group = g[i];
		ps->grefs[ps->ngrefs].prop = prop;
		ps->grefs[ps->ngrefs].line = ps->line;
		ps->ngrefs++;
	}
	return 0;
}

/* An ACL value: "*", "", "USERS", "USERS GROUPS" or "- GROUPS". */
static int
parse_acl(struct acl_parse *ps, const char *prop, const char *v,
    struct acl_list *l)
{
	const char	*u = v, *g, *end = v + strlen(v);
	size_t		 ulen;

	l->prop = prop;
	l->line = ps->line;
	if (strcmp(v, "*") == 0) {
		l->everyone = 1;
		return 0;
	}
	for (g = u; g < end && !is_blank(*g); g++)
		;
	ulen = (size_t)(g - u);
	while (g < end && is_blank(*g))
		g++;
	if (memchr(g, ' ', (size_t)(end - g)) != NULL ||
	    memchr(g, '\t', (size_t)(end - g)) != NULL) {
		acl_error(ps, ps->line, "%s: expected \"USERS GROUPS\", found "
		    "more than two fields (write lists without spaces)", prop);
		return -1;
	}
	if (ulen == 1 && *u == '-')
		ulen = 0;
	if (parse_names(ps, prop, "user", u, ulen, &l->users, &l->nusers) ==
	    -1 || parse_names(ps, prop, "group", g, (size_t)(end - g),
	    &l->groups, &l->ngroups) == -1)
		return -1;
	return add_grefs(ps, prop, l->groups, l->ngroups);
}

/* A plain comma list (group members, proxy users or groups). */
static int
parse_plain(struct acl_parse *ps, const char *prop, const char *what,
    const char *v, int star_ok, struct acl_list *l)
{
	l->prop = prop;
	l->line = ps->line;
	if (strcmp(v, "*") == 0) {
		if (!star_ok) {
			acl_error(ps, ps->line, "%s: \"*\" is not allowed here; "
			    "list the members", prop);
			return -1;
		}
		l->everyone = 1;
		return 0;
	}
	if (strpbrk(v, " \t") != NULL) {
		acl_error(ps, ps->line, "%s: white space in a list (write "
		    "%s1,%s2 without spaces)", prop, what, what);
		return -1;
	}
	if (strcmp(what, "group") == 0) {
		if (parse_names(ps, prop, what, v, strlen(v), &l->groups,
		    &l->ngroups) == -1)
			return -1;
		return add_grefs(ps, prop, l->groups, l->ngroups);
	}
	return parse_names(ps, prop, what, v, strlen(v), &l->users,
	    &l->nusers);
}

/*
 * An address or ADDR/PREFIX (text in s, NUL-terminated) into *net,
 * IPv4-mapped IPv6 turned into IPv4.  0, or -1 with *why set.
 */
static int
parse_net(const char *s, struct acl_net *net, int allow_prefix,
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

static int
parse_hosts(struct acl_parse *ps, const char *prop, const char *v,
    struct acl_proxy *px)
{
	const char	**h, *why;
	char		  q[96];
	size_t		  n, i;

	px->hosts_line = ps->line;
	if (strcmp(v, "*") == 0) {
		px->hosts_everyone = 1;
		return 0;
	}
	if (strpbrk(v, " \t") != NULL) {
		acl_error(ps, ps->line, "%s: white space in a list (write "
		    "addr1,addr2 without spaces)", prop);
		return -1;
	}
	if (parse_names(ps, prop, "host", v, strlen(v), &h, &n) == -1)
		return -1;
	if (n > 0 && (px->nets = arena_alloc(ps->a, n * sizeof(*px->nets))) ==
	    NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++)
		if (parse_net(h[i], &px->nets[i], 1, &why) == -1) {
			acl_error(ps, ps->line, "%s: \"%s\" %s", prop,
			    acl_quote(h[i], strlen(h[i]), q, sizeof(q)), why);
			return -1;
		}
	px->nnets = n;
	return 0;
}

/* Index of name in names[0..n), or -1. */
static int
lookup_name(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* The key set for key name k, made when new. */
static struct acl_keyset *
get_keyset(struct acl_parse *ps, const char *k)
{
	struct acls		*a = ps->a;
	const struct acl_mapent	*e;

	if ((e = map_get(&a->keymap, k)) != NULL)
		return &a->keys[e->val];
	if (vec_grow(&a->keys, &a->capkeys, a->nkeys, sizeof(*a->keys)) ==
	    -1 || map_put(&a->keymap, k, (uint32_t)a->nkeys) == -1) {
		acl_error(ps, 0, "out of memory");
		return NULL;
	}
	memset(&a->keys[a->nkeys], 0, sizeof(a->keys[0]));
	a->keys[a->nkeys].name = k;
	return &a->keys[a->nkeys++];
}

static struct acl_proxy *
get_proxy(struct acl_parse *ps, const char *real)
{
	struct acls		*a = ps->a;
	const struct acl_mapent	*e;

	if ((e = map_get(&a->proxymap, real)) != NULL)
		return &a->proxies[e->val];
	if (vec_grow(&a->proxies, &a->capproxies, a->nproxies,
	    sizeof(*a->proxies)) == -1 ||
	    map_put(&a->proxymap, real, (uint32_t)a->nproxies) == -1) {
		acl_error(ps, 0, "out of memory");
		return NULL;
	}
	memset(&a->proxies[a->nproxies], 0, sizeof(a->proxies[0]));
	a->proxies[a->nproxies].real = real;
	return &a->proxies[a->nproxies++];
}

/* KEYOP name after a prefix: 0..KEYOP_NKEYOPS-1, KEYOP_ALL, or -1. */
static int
keyop_of(const char *s)
{
	if (strcmp(s, "ALL") == 0)
		return KEYOP_ALL;
	return lookup_name(keyop_names, KEYOP_NKEYOPS, s);
}

static int
bad_keyop(struct acl_parse *ps, const char *prop, const char *s)
{
	char q[96];

	acl_error(ps, ps->line, "%s: unknown key operation \"%s\" (MANAGEMENT, "
	    "GENERATE_EEK, DECRYPT_EEK, READ or ALL)", prop,
	    acl_quote(s, strlen(s), q, sizeof(q)));
	return -1;
}

/* s past prefix pfx, or NULL when s does not start with it. */
static const char *
after(const char *s, const char *pfx)
{
	size_t n = strlen(pfx);

	return strncmp(s, pfx, n) == 0 ? s + n : NULL;
}

static int
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* hadoop.kms.acl.OP or hadoop.kms.blacklist.OP; op is the OP part. */
static int
parse_op_prop(struct acl_parse *ps, const char *prop, const char *op,
    const char *v, struct acl_list *lists)
{
	char	q[96];
	int	k;

	if ((k = lookup_name(op_names, ACL_NOPS, op)) == -1) {
		acl_error(ps, ps->line, "%s: unknown operation \"%s\" (CREATE, "
		    "DELETE, ROLLOVER, GET, GET_KEYS, GET_METADATA, "
		    "SET_KEY_MATERIAL, GENERATE_EEK or DECRYPT_EEK)",
		    prop, acl_quote(op, strlen(op), q, sizeof(q)));
		return -1;
	}
	return parse_acl(ps, prop, v, &lists[k]);
}

/* default.key.acl.KEYOP or whitelist.key.acl.KEYOP. */
static int
parse_keyset_prop(struct acl_parse *ps, const char *prop, const char *kop,
    const char *v, struct acl_keyset *ks)
{
	int k;

	if ((k = keyop_of(kop)) == -1)
		return bad_keyop(ps, prop, kop);
	return parse_acl(ps, prop, v, &ks->op[k]);
}

/* key.acl.KEY.KEYOP; rest is "KEY.KEYOP". */
static int
parse_key_prop(struct acl_parse *ps, const char *prop, const char *rest,
    const char *v)
{
	struct acl_keyset	*ks;
	const char		*dot;
	char			*name, q[96];
	int			 k;

	acl_quote(prop, strlen(prop), q, sizeof(q));
	if ((dot = strrchr(rest, '.')) == NULL) {
		acl_error(ps, ps->line, "%s: expected key.acl.KEY.OPERATION", q);
		return -1;
	}
	if (dot == rest) {
		acl_error(ps, ps->line, "%s: empty key name", q);
		return -1;
	}
	if ((k = keyop_of(dot + 1)) == -1)
		return bad_keyop(ps, prop, dot + 1);
	if ((name = arena_strndup(ps->a, rest, (size_t)(dot - rest))) ==
	    NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	if ((ks = get_keyset(ps, name)) == NULL)
		return -1;
	return parse_acl(ps, prop, v, &ks->op[k]);
}

/* group.NAME = user1,user2; name is the NAME part. */
static int
parse_group_prop(struct acl_parse *ps, const char *prop, const char *name,
    const char *v)
{
	struct acls		*a = ps->a;
	struct acl_group	*gr;
	struct acl_list		 members;
	const char		*why;
	char			 q[96];

	if (!name_ok(name, strlen(name), &why)) {
		acl_error(ps, ps->line, "%s: group name %s",
		    acl_quote(prop, strlen(prop), q, sizeof(q)), why);
		return -1;
	}
	memset(&members, 0, sizeof(members));
	if (parse_plain(ps, prop, "user", v, 0, &members) == -1)
		return -1;
	if (vec_grow(&a->groups, &a->capgroups, a->ngroups,
	    sizeof(*a->groups)) == -1 ||
	    map_put(&a->groupmap, name, (uint32_t)a->ngroups) == -1) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	gr = &a->groups[a->ngroups++];
	gr->name = name;
	gr->users = members.users;
	gr->nusers = members.nusers;
	return 0;
}

/* hadoop.kms.proxyuser.REAL.{users,groups,hosts}; rest is after the
 * prefix. */
static int
parse_proxy_prop(struct acl_parse *ps, const char *prop, const char *rest,
    const char *v)
{
	struct acl_proxy	*px;
	const char		*dot, *why;
	char			*real, q[96];

	acl_quote(prop, strlen(prop), q, sizeof(q));
	if ((dot = strrchr(rest, '.')) == NULL || (strcmp(dot, ".users") != 0 &&
	    strcmp(dot, ".groups") != 0 && strcmp(dot, ".hosts") != 0)) {
		acl_error(ps, ps->line, "%s: expected "
		    "hadoop.kms.proxyuser.USER.users, .groups or .hosts", q);
		return -1;
	}
	if (!name_ok(rest, (size_t)(dot - rest), &why)) {
		acl_error(ps, ps->line, "%s: user name %s", q, why);
		return -1;
	}
	if ((real = arena_strndup(ps->a, rest, (size_t)(dot - rest))) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	if ((px = get_proxy(ps, real)) == NULL)
		return -1;
	if (strcmp(dot, ".hosts") == 0)
		return parse_hosts(ps, prop, v, px);
	if (strcmp(dot, ".users") == 0)
		return parse_plain(ps, prop, "user", v, 1, &px->users);
	return parse_plain(ps, prop, "group", v, 1, &px->groups);
}

/* One "prop = v" line (both in the arena). */
static int
parse_prop(struct acl_parse *ps, const char *prop, const char *v)
{
	struct acls	*a = ps->a;
	const char	*rest;
	char		 q[96];

	if ((rest = after(prop, PFX_OP)) != NULL)
		return parse_op_prop(ps, prop, rest, v, a->op);
	if ((rest = after(prop, PFX_BLACK)) != NULL)
		return parse_op_prop(ps, prop, rest, v, a->black);
	if ((rest = after(prop, PFX_DEFAULT)) != NULL)
		return parse_keyset_prop(ps, prop, rest, v, &a->def);
	if ((rest = after(prop, PFX_WHITE)) != NULL)
		return parse_keyset_prop(ps, prop, rest, v, &a->white);
	if ((rest = after(prop, PFX_KEY)) != NULL)
		return parse_key_prop(ps, prop, rest, v);
	if ((rest = after(prop, PFX_GROUP)) != NULL)
		return parse_group_prop(ps, prop, rest, v);
	if ((rest = after(prop, PFX_PROXY)) != NULL)
		return parse_proxy_prop(ps, prop, rest, v);
	acl_error(ps, ps->line, "unknown property \"%s\"",
	    acl_quote(prop, strlen(prop), q, sizeof(q)));
	return -1;
}

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
		n += a->groups[map_get(&a->groupmap, l->groups[i])->val].nusers;
	if (n == 0)
		return 0;
	if ((l->members = arena_alloc(a, n * sizeof(*l->members))) == NULL)
		return -1;
	if (l->nusers > 0)
		memcpy(l->members, l->users, l->nusers * sizeof(*l->users));
	k = l->nusers;
	for (i = 0; i < l->ngroups; i++) {
		g = &a->groups[map_get(&a->groupmap, l->groups[i])->val];
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

/* After the last line: check group references, precompute. */
static int
finish(struct acl_parse *ps)
{
	struct acls	*a = ps->a;
	size_t		 i;
	char		 q[96];
	int		 k;

	for (i = 0; i < ps->ngrefs; i++)
		if (map_get(&a->groupmap, ps->grefs[i].group) == NULL) {
			acl_quote(ps->grefs[i].group,
			    strlen(ps->grefs[i].group), q, sizeof(q));
			acl_error(ps, ps->grefs[i].line, "%s: group \"%s\" is "
			    "not defined (no group.%s line)",
			    ps->grefs[i].prop, q, q);
			return -1;
		}
	for (k = 0; k < ACL_NOPS; k++)
		if (expand_list(a, &a->op[k]) == -1 ||
		    expand_list(a, &a->black[k]) == -1)
			goto nomem;
	if (expand_keyset(a, &a->def) == -1 ||
	    expand_keyset(a, &a->white) == -1)
		goto nomem;
	for (i = 0; i < a->nkeys; i++)
		if (expand_keyset(a, &a->keys[i]) == -1)
			goto nomem;
	for (i = 0; i < a->nproxies; i++)
		if (expand_list(a, &a->proxies[i].users) == -1 ||
		    expand_list(a, &a->proxies[i].groups) == -1)
			goto nomem;
	return 0;
nomem:
	acl_error(ps, 0, "out of memory");
	return -1;
}

/* One line s[0..n) (no newline). */
static int
parse_line(struct acl_parse *ps, const char *s, size_t n)
{
	const struct acl_mapent	*e;
	const char		*eq, *ne, *vs, *ve = s + n;
	char			*prop, *v, q[96];

	if (memchr(s, '\0', n) != NULL) {
		acl_error(ps, ps->line, "line contains a NUL byte");
		return -1;
	}
	while (s < ve && is_blank(*s))
		s++;
	while (ve > s && is_blank(ve[-1]))
		ve--;
	if (s == ve || *s == '#')
		return 0;
	if ((eq = memchr(s, '=', (size_t)(ve - s))) == NULL) {
		acl_error(ps, ps->line, "expected NAME = VALUE, found no '='");
		return -1;
	}
	for (ne = eq; ne > s && is_blank(ne[-1]); ne--)
		;
	for (vs = eq + 1; vs < ve && is_blank(*vs); vs++)
		;
	if (ne == s) {
		acl_error(ps, ps->line, "no property name before '='");
		return -1;
	}
	if ((prop = arena_strndup(ps->a, s, (size_t)(ne - s))) == NULL ||
	    (v = arena_strndup(ps->a, vs, (size_t)(ve - vs))) == NULL) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	if (has_ctl(prop)) {
		acl_error(ps, ps->line, "the property name contains a control "
		    "character");
		return -1;
	}
	if ((e = map_get(&ps->props, prop)) != NULL) {
		acl_error(ps, ps->line, "%s is already set on line %u",
		    acl_quote(prop, strlen(prop), q, sizeof(q)),
		    (unsigned int)e->val);
		return -1;
	}
	if (map_put(&ps->props, prop, (uint32_t)ps->line) == -1) {
		acl_error(ps, 0, "out of memory");
		return -1;
	}
	return parse_prop(ps, prop, v);
}

/*
 * Parse len bytes of acls.conf text (no NUL needed).  A new struct acls
 * the caller frees with acls_free, or NULL with "FNAME:LINE: why" (or
 * "FNAME: out of memory") in err.  Reentrant; keeps no pointer to text.
 */
struct acls *
acls_parse(const char *text, size_t len, const char *fname, char *err,
    size_t errlen)
{
	struct acl_parse	 ps;
	const char		*p = text, *end = text + len, *nl;
	int			 ok = 0;

	memset(&ps, 0, sizeof(ps));
	ps.fname = fname != NULL ? fname : "acls.conf";
	ps.err = err;
	ps.errlen = errlen;
	if ((ps.a = calloc(1, sizeof(*ps.a))) == NULL) {
		acl_error(&ps, 0, "out of memory");
		return NULL;
	}
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;		/* a UTF-8 byte order mark */
	while (len > 0 && p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		ps.line++;
		if (parse_line(&ps, p, (size_t)(nl - p)) == -1)
			goto out;
		p = nl + 1;
	}
	if (finish(&ps) == -1)
		goto out;
	ok = 1;
out:
	free(ps.props.ent);
	free(ps.grefs);
	if (!ok) {
		acls_free(ps.a);
		return NULL;
	}
	return ps.a;
}

/*
 * Read path (a regular file, symbolic links followed, not writable by
 * group or others, at most ACL_FILE_MAX bytes) and parse it.  As
 * acls_parse; messages name path as given.
 */
struct acls *
acls_load(const char *path, char *err, size_t errlen)
{
	struct acls	*a = NULL;
	struct stat	 st;
	char		*buf = NULL;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	/* O_NONBLOCK: a FIFO planted at the path must not hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		acl_errbuf(err, errlen, "could not open \"%s\": %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		acl_errbuf(err, errlen, "could not stat \"%s\": %s", path,
		    strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		acl_errbuf(err, errlen, "\"%s\" is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 022) != 0) {
		acl_errbuf(err, errlen, "\"%s\" is writable by group or others "
		    "(mode %04o); chmod go-w it", path,
		    (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > ACL_FILE_MAX) {
		acl_errbuf(err, errlen, "\"%s\" is too large (%lld bytes, at "
		    "most %u)", path, (long long)st.st_size, ACL_FILE_MAX);
		goto out;
	}
	/* one byte more than the size, to notice a file that grew */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		acl_errbuf(err, errlen, "could not read \"%s\": out of memory",
		    path);
		goto out;
	}
	for (;;) {
		n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			acl_errbuf(err, errlen, "could not read \"%s\": %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0 || (got += (size_t)n) > (size_t)st.st_size)
			break;
	}
	if (got != (size_t)st.st_size) {
		acl_errbuf(err, errlen, "\"%s\" changed while being read",
		    path);
		goto out;
	}
	a = acls_parse(buf, got, path, err, errlen);
out:
	free(buf);
	close(fd);
	return a;
}

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
	return (unsigned int)op < ACL_NOPS ? op_names[op] : "UNKNOWN";
}

const char *
acl_keyop_name(enum acl_keyop kop)
{
	return (unsigned int)kop < KEYOP_NKEYOPS ? keyop_names[kop] :
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
	e = map_get(&a->keymap, key);
	ks = e != NULL ? &a->keys[e->val] : &a->def;
	return list_match(ks->eff[kop], user) ||
	    list_match(a->white.eff[kop], user);
}

int
acls_has_key_acls(const struct acls *a)
{
	return a != NULL && a->nkeys > 0;
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
	    (e = map_get(&a->proxymap, real)) == NULL)
		return 0;
	px = &a->proxies[e->val];
	if (px->hosts_line == 0)
		return 0;
	if (px->hosts_everyone)
		host_ok = 1;
	else if (addr != NULL && parse_net(addr, &ip, 0, &why) == 0)
		for (i = 0; i < px->nnets && !host_ok; i++)
			host_ok = net_match(&px->nets[i], &ip);
	return host_ok && (list_match(&px->users, user) ||
	    list_match(&px->groups, user));
}

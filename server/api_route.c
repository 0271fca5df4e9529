/*
 * api_route.c: the KMS route table and path matching.
 *
 * Owns: which (method, path shape) is which operation, key-name and
 * version-name validation.  Does not own: percent-decoding (the HTTP glue
 * hands over a decoded path) or anything about the request body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "api_route.h"

#define KMS_PREFIX	"/kms/v1/"

/* How a route's path looks after KMS_PREFIX. */
enum shape {
	SH_EXACT,		/* the whole rest equals lit */
	SH_KEY,			/* "key/" NAME */
	SH_KEY_SUB,		/* "key/" NAME "/" sub */
	SH_VERSION,		/* "keyversion/" NAME@N */
	SH_VERSION_SUB,		/* "keyversion/" NAME@N "/" sub */
};

static const struct route_def {
	const char	*method;
	enum shape	 shape;
	const char	*lit;		/* literal path or sub-resource */
	enum kw_op	 op;
} routes[] = {
	{ "POST",   SH_EXACT,       "keys",             OP_CREATE },
	{ "GET",    SH_EXACT,       "keys/names",       OP_NAMES },
	{ "GET",    SH_EXACT,       "keys/metadata",    OP_BULK_METADATA },
	{ "POST",   SH_KEY_SUB,     "_invalidatecache", OP_INVALIDATE },
	{ "GET",    SH_KEY_SUB,     "_metadata",        OP_METADATA },
	{ "GET",    SH_KEY_SUB,     "_currentversion",  OP_CURRENT },
	{ "GET",    SH_KEY_SUB,     "_versions",        OP_VERSIONS },
	{ "GET",    SH_KEY_SUB,     "_eek",             OP_GENERATE },
	{ "POST",   SH_KEY_SUB,     "_reencryptbatch",  OP_REENCRYPT_BATCH },
	{ "POST",   SH_VERSION_SUB, "_eek",             OP_DECRYPT },
	{ "GET",    SH_VERSION,     NULL,               OP_VERSION },
	{ "POST",   SH_KEY,         NULL,               OP_ROLL },
	{ "DELETE", SH_KEY,         NULL,               OP_DELETE },
	{ "GET",    SH_KEY,         NULL,               OP_METADATA },
};

/* Sub-resources a key route may end with; a name never ends in these. */
static const char *key_subs[] = {
	"_invalidatecache", "_metadata", "_currentversion", "_versions",
	"_eek", "_reencryptbatch",
};

/* Length of the UTF-8 sequence at s (its code point in *cpout), or 0
 * when invalid. */
static size_t
utf8_seq(const unsigned char *s, uint32_t *cpout)
{
	size_t n, i;
	uint32_t cp;

	*cpout = s[0];
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cpout = cp;
	return n;
}

int
route_valid_name(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t len = strlen(name), i = 0, n;
	uint32_t cp;

	if (len == 0 || len > ROUTE_NAME_MAX)
		return 0;
	while (i < len) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if ((n = utf8_seq(s + i, &cp)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* Unicode White_Space (the ASCII controls among it are refused anyway). */
static int
is_space(uint32_t cp)
{
	return cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

/* Whether some '/'-separated segment of name is "", "." or "..". */
static int
odd_segment(const char *name)
{
	const char *seg = name, *end;
	size_t n;

	for (;;) {
		end = strchr(seg, '/');
		n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 1;
		if (end == NULL)
			return 0;
		seg = end + 1;
	}
}

/* Whether every route that names a key reaches key name again, as the
 * same operation: a name ending in "/_eek", say, does not (its own
 * key/NAME would be the generate route of another key). */
static int
addressable(const char *name)
{
	static const char *const prefix[] = {
		[SH_KEY] = "key/", [SH_KEY_SUB] = "key/",
		[SH_VERSION] = "keyversion/", [SH_VERSION_SUB] = "keyversion/",
	};
	char path[sizeof(KMS_PREFIX) + ROUTE_NAME_MAX + 64];
	struct route rt;
	const struct route_def *d;
	size_t i;
	int n;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		d = &routes[i];
		if (d->shape == SH_EXACT)
			continue;
		n = snprintf(path, sizeof(path), "%s%s%s%s%s%s", KMS_PREFIX,
		    prefix[d->shape], name,
		    d->shape == SH_VERSION || d->shape == SH_VERSION_SUB ?
		    "@0" : "", d->lit != NULL ? "/" : "",
		    d->lit != NULL ? d->lit : "");
		if (n < 0 || (size_t)n >= sizeof(path) ||
		    route_match(d->method, path, &rt) != KW_OK ||
		    rt.op != d->op || strcmp(rt.name, name) != 0)
			return 0;
	}
	return 1;
}

const char *
route_refuse_name(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t i, n;
	uint32_t cp;
	int spaces = 1;

	_Static_assert(ROUTE_NAME_MAX == 1024, "the message below");
	if (!route_valid_name(name))
		return "a key name is 1 to 1024 bytes of UTF-8 without control "
		    "characters";
	for (i = 0; s[i] != '\0'; i += n) {
		n = utf8_seq(s + i, &cp);
		if (cp >= 0x80 && cp <= 0x9f)
			return "a key name may not hold control characters";
		if (!is_space(cp))
			spaces = 0;
	}
	if (spaces)
		return "a key name may not be only white space";
	if (odd_segment(name))
		return "a key name may not begin or end with '/', hold \"//\", "
		    "or have a \".\" or \"..\" part between slashes (HTTP "
		    "clients and proxies rewrite such paths)";
	if (!addressable(name))
		return "a key name may not end in '/' and a sub-resource "
		    "(_metadata, _currentversion, _versions, _eek, "
		    "_invalidatecache, _reencryptbatch): its paths would name "
		    "another key";
	return NULL;
}

/* Copy a name of len bytes into rt->name after validating it. */
static enum kw_err
set_name(struct route *rt, const char *s, size_t len)
{
	if (len == 0 || len > ROUTE_NAME_MAX)
		return KW_EINVAL;
	memcpy(rt->name, s, len);
	rt->name[len] = '\0';
	return route_valid_name(rt->name) ? KW_OK : KW_EINVAL;
}

/* Split "NAME@N" of len bytes into rt->name and rt->version. */
static enum kw_err
set_version(struct route *rt, const char *s, size_t len)
{
	const char *at = NULL, *p;
	unsigned long v;
	char num[16], *end;
	size_t nlen;

	for (p = s; p < s + len; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return KW_EINVAL;
	nlen = (size_t)(s + len - (at + 1));
	if (nlen == 0 || nlen >= sizeof(num))
		return KW_EINVAL;
	memcpy(num, at + 1, nlen);
	num[nlen] = '\0';
	if (num[0] < '0' || num[0] > '9')
		return KW_EINVAL;
	errno = 0;
	v = strtoul(num, &end, 10);
	if (errno != 0 || *end != '\0' || v > INT32_MAX)
		return KW_EINVAL;
	rt->version = (uint32_t)v;
	rt->has_version = 1;
	return set_name(rt, s, (size_t)(at - s));
}

/* Does rest end in "/" sub?  Sets *namelen to the part before it. */
static int
ends_with_sub(const char *rest, size_t len, const char *sub, size_t *namelen)
{
	size_t sl = strlen(sub);

	if (len < sl + 1 || rest[len - sl - 1] != '/' ||
	    memcmp(rest + len - sl, sub, sl) != 0)
		return 0;
	*namelen = len - sl - 1;
	return 1;
}

/* Match one route definition against the part after KMS_PREFIX. */
static enum kw_err
match_def(const struct route_def *d, const char *rest, struct route *rt)
{
	size_t len = strlen(rest), nlen, i;

	switch (d->shape) {
	case SH_EXACT:
		return strcmp(rest, d->lit) == 0 ? KW_OK : KW_ENOROUTE;
	case SH_KEY:
		if (strncmp(rest, "key/", 4) != 0)
			return KW_ENOROUTE;
		for (i = 0; i < sizeof(key_subs) / sizeof(key_subs[0]); i++)
			if (ends_with_sub(rest + 4, len - 4, key_subs[i], &nlen))
				return KW_ENOROUTE;
		return set_name(rt, rest + 4, len - 4);
	case SH_KEY_SUB:
		if (strncmp(rest, "key/", 4) != 0 ||
		    !ends_with_sub(rest + 4, len - 4, d->lit, &nlen))
			return KW_ENOROUTE;
		return set_name(rt, rest + 4, nlen);
	case SH_VERSION:
		if (strncmp(rest, "keyversion/", 11) != 0 ||
		    ends_with_sub(rest + 11, len - 11, "_eek", &nlen))
			return KW_ENOROUTE;
		return set_version(rt, rest + 11, len - 11);
	case SH_VERSION_SUB:
		if (strncmp(rest, "keyversion/", 11) != 0 ||
		    !ends_with_sub(rest + 11, len - 11, d->lit, &nlen))
			return KW_ENOROUTE;
		return set_version(rt, rest + 11, nlen);
	}
	return KW_ENOROUTE;
}

enum kw_err
route_match(const char *method, const char *path, struct route *rt)
{
	const char *rest;
	size_t i;
	enum kw_err e, found = KW_ENOROUTE;

	memset(rt, 0, sizeof(*rt));
	if (strcmp(path, "/v1/health") == 0 || strcmp(path, "/v1/cluster") == 0 ||
	    strcmp(path, "/metrics") == 0) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
			return KW_EMETHOD;
		rt->op = path[1] == 'm' ? OP_METRICS : path[4] == 'h' ?
		    OP_HEALTH : OP_CLUSTER;
		return KW_OK;
	}
	if (strncmp(path, KMS_PREFIX, strlen(KMS_PREFIX)) != 0)
		return KW_ENOROUTE;
	rest = path + strlen(KMS_PREFIX);

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		struct route tmp;

		memset(&tmp, 0, sizeof(tmp));
		e = match_def(&routes[i], rest, &tmp);
		if (e == KW_ENOROUTE)
			continue;
		if (strcmp(method, routes[i].method) != 0) {
			/* the path exists; remember unless a later route fits */
			if (found == KW_ENOROUTE)
				found = KW_EMETHOD;
			continue;
		}
		if (e != KW_OK)
			return e;
		*rt = tmp;
		rt->op = routes[i].op;
		return KW_OK;
	}
	return found;
}

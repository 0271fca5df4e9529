/*
 * fuzz_api_route.c: libFuzzer target for the request line as the route table sees
 * it (server/api_route.c).
 *
 * Input: the first byte picks the method (GET, POST, DELETE, PUT,
 * OPTIONS, HEAD); the rest is the request target, path and optional
 * ?query.  The harness does what libmicrohttpd does before it calls the
 * server's access handler: split at the first '?', percent-decode the
 * path with MHD_http_unescape, split the query at '&' and then at the
 * first '=', turn '+' into a space and percent-decode key and value the
 * same way.  The decoded path goes to route_match; every query key and
 * value to route_valid_name, as the API does with bulk-metadata names.
 * (This stands in for the HTTP glue, so it is the one file besides
 * server/http.c to include microhttpd.h.)
 *
 * Checks, beyond "no memory error, no undefined behaviour":
 *   - route_match returns one of its four documented codes, and leaves
 *     the route empty unless it returns KW_OK;
 *   - a matched route has a named operation, a key name exactly when the
 *     operation takes one (and then one route_valid_name accepts), a
 *     version exactly for keyversion routes;
 *   - the canonical path of the matched route, the name percent-encoded
 *     as the server's Location header does it, decodes and routes back
 *     to the same operation, name and version.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "fuzz.h"
#include "server/api.h"

static const char *const methods[] = {
	"GET", "POST", "DELETE", "PUT", "OPTIONS", "HEAD",
};

/* Canonical method, path before the name, and path after it, per op. */
static const struct {
	enum kw_op	 op;
	const char	*method;
	const char	*prefix;	/* NULL: the path has no name */
	const char	*suffix;	/* or the whole path when prefix is NULL */
} canon[] = {
	{ OP_CREATE,		"POST",	NULL,			"/kms/v1/keys" },
	{ OP_NAMES,		"GET",	NULL,			"/kms/v1/keys/names" },
	{ OP_BULK_METADATA,	"GET",	NULL,			"/kms/v1/keys/metadata" },
	{ OP_HEALTH,		"GET",	NULL,			"/v1/health" },
	{ OP_CLUSTER,		"GET",	NULL,			"/v1/cluster" },
	{ OP_METRICS,		"GET",	NULL,			"/metrics" },
	{ OP_ROLL,		"POST",	"/kms/v1/key/",		"" },
	{ OP_DELETE,		"DELETE", "/kms/v1/key/",	"" },
	{ OP_INVALIDATE,	"POST",	"/kms/v1/key/",		"/_invalidatecache" },
	{ OP_METADATA,		"GET",	"/kms/v1/key/",		"/_metadata" },
	{ OP_CURRENT,		"GET",	"/kms/v1/key/",		"/_currentversion" },
	{ OP_VERSIONS,		"GET",	"/kms/v1/key/",		"/_versions" },
	{ OP_GENERATE,		"GET",	"/kms/v1/key/",		"/_eek" },
	{ OP_REENCRYPT_BATCH,	"POST",	"/kms/v1/key/",		"/_reencryptbatch" },
	{ OP_VERSION,		"GET",	"/kms/v1/keyversion/",	"" },
	{ OP_DECRYPT,		"POST",	"/kms/v1/keyversion/",	"/_eek" },
};

/* Percent-encode name as the server's Location header does. */
static char *
pct_encode(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	char *out, *o;

	out = malloc(3 * strlen(name) + 1);
	FUZZ_CHECK(out != NULL);
	for (o = out, p = (const unsigned char *)name; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

/* The matched route rt must route back from its canonical path. */
static void
check_canonical(const struct route *rt)
{
	struct route again;
	char *enc, *path;
	size_t i, n;
	enum kw_err e;

	for (i = 0; i < sizeof(canon) / sizeof(canon[0]); i++)
		if (canon[i].op == rt->op)
			break;
	FUZZ_CHECK(i < sizeof(canon) / sizeof(canon[0]));
	if (canon[i].prefix == NULL) {
		FUZZ_CHECK(rt->name[0] == '\0');
		FUZZ_CHECK(!rt->has_version);
		e = route_match(canon[i].method, canon[i].suffix, &again);
		FUZZ_CHECK(e == KW_OK && again.op == rt->op);
		return;
	}
	FUZZ_CHECK(route_valid_name(rt->name));
	enc = pct_encode(rt->name);
	n = strlen(canon[i].prefix) + strlen(enc) + 16 + strlen(canon[i].suffix);
	path = malloc(n);
	FUZZ_CHECK(path != NULL);
	if (rt->has_version)
		snprintf(path, n, "%s%s@%u%s", canon[i].prefix, enc,
		    (unsigned)rt->version, canon[i].suffix);
	else
		snprintf(path, n, "%s%s%s", canon[i].prefix, enc,
		    canon[i].suffix);
	MHD_http_unescape(path);
	e = route_match(canon[i].method, path, &again);
	FUZZ_CHECK(e == KW_OK);
	FUZZ_CHECK(again.op == rt->op);
	FUZZ_CHECK(strcmp(again.name, rt->name) == 0);
	FUZZ_CHECK(again.has_version == rt->has_version);
	FUZZ_CHECK(again.version == rt->version);
	free(path);
	free(enc);
}

static void
check_route(const char *method, const char *path)
{
	struct route *rt;
	enum kw_err e;

	/* on the heap, so that ASan sees the end of rt->name exactly */
	rt = malloc(sizeof(*rt));
	FUZZ_CHECK(rt != NULL);
	memset(rt, 0xa5, sizeof(*rt));
	e = route_match(method, path, rt);
	FUZZ_CHECK(e == KW_OK || e == KW_ENOROUTE || e == KW_EMETHOD ||
	    e == KW_EINVAL);
	if (e != KW_OK) {
		FUZZ_CHECK(rt->op == OP_NONE && rt->name[0] == '\0' &&
		    !rt->has_version);
		free(rt);
		return;
	}
	FUZZ_CHECK(rt->op > OP_NONE && rt->op < OP_MAX);
	FUZZ_CHECK(strcmp(api_op_name(rt->op), "UNKNOWN") != 0);
	FUZZ_CHECK(memchr(rt->name, '\0', sizeof(rt->name)) != NULL);
	FUZZ_CHECK(rt->has_version == (rt->op == OP_VERSION ||
	    rt->op == OP_DECRYPT));
	FUZZ_CHECK(rt->version <= INT32_MAX);
	if (rt->op == OP_HEALTH || rt->op == OP_CLUSTER || rt->op == OP_METRICS)
		FUZZ_CHECK(strcmp(method, "GET") == 0 ||
		    strcmp(method, "HEAD") == 0);
	check_canonical(rt);
	free(rt);
}

/* One query argument (NUL-terminated, modified in place). */
static void
check_arg(char *arg)
{
	char *eq = strchr(arg, '='), *p;

	if (eq != NULL)
		*eq++ = '\0';
	for (p = arg; *p != '\0'; p++)
		if (*p == '+')
			*p = ' ';
	MHD_http_unescape(arg);
	(void)route_valid_name(arg);
	if (eq == NULL)
		return;
	for (p = eq; *p != '\0'; p++)
		if (*p == '+')
			*p = ' ';
	MHD_http_unescape(eq);
	(void)route_valid_name(eq);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *method;
	char *target, *query, *amp;

	if (size < 1)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	target = fuzz_strndup(data + 1, size - 1);
	if ((query = strchr(target, '?')) != NULL)
		*query++ = '\0';
	MHD_http_unescape(target);
	check_route(method, target);
	while (query != NULL && *query != '\0') {
		if ((amp = strchr(query, '&')) != NULL)
			*amp++ = '\0';
		check_arg(query);
		query = amp;
	}
	free(target);
	return 0;
}

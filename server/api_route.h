/*
 * api_route.h: maps a method and a percent-decoded path to a KMS operation.
 *
 * Key names may contain '/', so the name is everything between the
 * resource prefix and a known sub-resource suffix.  Version names are
 * NAME@N: the key name is everything before the last '@'.  Pure string
 * work, no I/O: unit-tested by test/unit/check_api_route.c.
 */
#ifndef KW_API_ROUTE_H
#define KW_API_ROUTE_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/kwerr.h"

/* The HTTP operations; api.c's api_ops row of each says what it is. */
enum kw_op {
	OP_NONE = 0,
	OP_CREATE,		/* POST keys */
	OP_ROLL,		/* POST key/NAME */
	OP_INVALIDATE,		/* POST key/NAME/_invalidatecache */
	OP_DELETE,		/* DELETE key/NAME */
	OP_METADATA,		/* GET key/NAME/_metadata, GET key/NAME */
	OP_BULK_METADATA,	/* GET keys/metadata */
	OP_NAMES,		/* GET keys/names */
	OP_CURRENT,		/* GET key/NAME/_currentversion */
	OP_VERSION,		/* GET keyversion/NAME@N */
	OP_VERSIONS,		/* GET key/NAME/_versions */
	OP_GENERATE,		/* GET key/NAME/_eek */
	OP_DECRYPT,			/* POST keyversion/NAME@N/_eek */
	OP_REENCRYPT_BATCH,	/* POST key/NAME/_reencryptbatch */
	OP_HEALTH,		/* GET /v1/health */
	OP_CLUSTER,		/* GET /v1/cluster */
	OP_METRICS,		/* GET /metrics (Prometheus) */
	OP_MAX
};

#define ROUTE_NAME_MAX	1024	/* bytes of a key name */

struct route {
	enum kw_op	op;
	char		name[ROUTE_NAME_MAX + 1];	/* key name, "" if none */
	uint32_t	version;	/* for OP_VERSION, OP_DECRYPT */
	int		has_version;
};

/*
 * Match method and path.  KW_OK and *rt filled; KW_ENOROUTE for an
 * unknown path; KW_EMETHOD when the path exists under another method;
 * KW_EINVAL for a path whose name or version is malformed (empty name,
 * version not a number, name too long or not valid UTF-8).
 */
enum kw_err route_match(const char *method, const char *path, struct route *rt) WUR;
/* 1 when name is an acceptable key name in a path: 1..ROUTE_NAME_MAX
 * bytes of valid UTF-8 with no C0 control characters or DEL. */
int	route_valid_name(const char *name);
/*
 * Why a new key may not be called name, or NULL when it may.  Stricter
 * than route_valid_name (which still lets requests reach keys made
 * before): every operation must be able to address the key afterwards.
 * So no C1 control characters; not only white space; no empty, "." or
 * ".." segment between slashes (clients and proxies rewrite such
 * paths); and every route built with the name must match the same
 * operation on the same name (a name may not end in "/_eek", say).
 */
const char *route_refuse_name(const char *name);

#endif

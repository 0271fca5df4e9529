/*
 * ops_server.c: the KMIP operations about the server rather than a key:
 * DiscoverVersions (the versions spoken, newest first, narrowed to the
 * client's list) and Query (operations, object types, server
 * information).  They change nothing and name no key: dispatch.c answers
 * them for any authenticated client without ACLs or audit.
 */
#include <string.h>

#include "ops.h"
#include "../lib/version.h"

static const struct kmip_version spoken[] = {
	{ 2, 0 }, { 1, 4 }, { 1, 3 }, { 1, 2 }, { 1, 1 }, { 1, 0 },
};

#define NSPOKEN	(sizeof(spoken) / sizeof(spoken[0]))

/* Whether the payload lists v among its Protocol Versions. */
static int
listed(const struct ttlv *payload, const struct kmip_version *v)
{
	const struct ttlv *pv;
	int32_t maj, min;

	for (pv = ttlv_find(payload, KMIP_TAG_PROTOCOL_VERSION); pv != NULL;
	    pv = ttlv_find_next(pv))
		if (ttlv_get_int(ttlv_find(pv, KMIP_TAG_PROTOCOL_VERSION_MAJOR),
		    &maj) == 0 && ttlv_get_int(ttlv_find(pv,
		    KMIP_TAG_PROTOCOL_VERSION_MINOR), &min) == 0 &&
		    maj == v->major && min == v->minor)
			return 1;
	return 0;
}

void
kop_discover_versions(struct kmip_call *k)
{
	const struct ttlv *p = k->item->payload;
	struct ttlv_buf *b;
	size_t i, m;
	int all;

	all = ttlv_find(p, KMIP_TAG_PROTOCOL_VERSION) == NULL;
	b = kc_ok(k);
	for (i = 0; i < NSPOKEN; i++) {
		if (!all && !listed(p, &spoken[i]))
			continue;
		m = ttlv_begin(b, KMIP_TAG_PROTOCOL_VERSION);
		ttlv_put_int(b, KMIP_TAG_PROTOCOL_VERSION_MAJOR,
		    spoken[i].major);
		ttlv_put_int(b, KMIP_TAG_PROTOCOL_VERSION_MINOR,
		    spoken[i].minor);
		ttlv_end(b, m);
	}
}

void
kop_query(struct kmip_call *k)
{
	static const uint32_t ops[] = { KMIP_OP_CREATE, KMIP_OP_REGISTER,
	    KMIP_OP_LOCATE, KMIP_OP_GET, KMIP_OP_GET_ATTRIBUTES,
	    KMIP_OP_GET_ATTRIBUTE_LIST, KMIP_OP_ADD_ATTRIBUTE,
	    KMIP_OP_MODIFY_ATTRIBUTE, KMIP_OP_DELETE_ATTRIBUTE,
	    KMIP_OP_ACTIVATE, KMIP_OP_REVOKE, KMIP_OP_DESTROY, KMIP_OP_QUERY,
	    KMIP_OP_DISCOVER_VERSIONS, KMIP_OP_ENCRYPT, KMIP_OP_DECRYPT };
	const struct ttlv *p = k->item->payload, *f;
	struct ttlv_buf *b;
	uint32_t fn;
	size_t i, m;
	int want_ops = 0, want_objs = 0, want_info = 0;

	for (f = ttlv_find(p, KMIP_TAG_QUERY_FUNCTION); f != NULL;
	    f = ttlv_find_next(f)) {
		if (ttlv_get_enum(f, &fn) != 0)
			continue;
		want_ops |= fn == KMIP_QUERY_QUERY_OPERATIONS;
		want_objs |= fn == KMIP_QUERY_QUERY_OBJECTS;
		want_info |= fn == KMIP_QUERY_QUERY_SERVER_INFORMATION;
	}
	b = kc_ok(k);
	for (i = 0; want_ops && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (kc_v2(k) || ops[i] != KMIP_OP_SET_ATTRIBUTE)
			ttlv_put_enum(b, KMIP_TAG_OPERATION, ops[i]);
	if (want_ops && kc_v2(k))
		ttlv_put_enum(b, KMIP_TAG_OPERATION, KMIP_OP_SET_ATTRIBUTE);
	if (want_objs)
		ttlv_put_enum(b, KMIP_TAG_OBJECT_TYPE, KMIP_OBJ_SYMMETRIC_KEY);
	if (want_info) {
		ttlv_put_text(b, KMIP_TAG_VENDOR_IDENTIFICATION,
		    "keyward " KW_VERSION, strlen("keyward " KW_VERSION));
		m = ttlv_begin(b, KMIP_TAG_SERVER_INFORMATION);
		ttlv_end(b, m);
	}
}

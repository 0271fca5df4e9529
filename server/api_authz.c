/*
 * api_authz.c: who may do what, per request: the operation and key ACLs
 * each route needs (as Hadoop KMS checks them), proxy users (doAs), and
 * the denial envelope.  Authorization comes before any existence check,
 * so a denied caller learns nothing about which keys exist.
 */
#include <string.h>

#include "api.h"
#include "errors.h"
#include "../lib/log.h"

/* What each route needs before its handler runs; -1: nothing, or checked
 * by the handler (create names its key in the body; bulk metadata checks
 * every key it is asked for). */
static const struct {
	int	op;		/* enum acl_op */
	int	kop;		/* enum acl_keyop */
} need[OP_MAX] = {
	[OP_NONE] = { -1, -1 },
	[OP_CREATE] = { ACL_CREATE, -1 },
	[OP_ROLL] = { ACL_ROLLOVER, KEYOP_MANAGEMENT },
	[OP_INVALIDATE] = { ACL_ROLLOVER, KEYOP_MANAGEMENT },
	[OP_DELETE] = { ACL_DELETE, KEYOP_MANAGEMENT },
	[OP_METADATA] = { ACL_GET_METADATA, KEYOP_READ },
	[OP_BULK_METADATA] = { ACL_GET_METADATA, -1 },
	[OP_NAMES] = { ACL_GET_KEYS, -1 },
	[OP_CURRENT] = { ACL_GET, KEYOP_READ },
	[OP_VERSION] = { ACL_GET, KEYOP_READ },
	[OP_VERSIONS] = { ACL_GET, KEYOP_READ },
	[OP_GENERATE] = { ACL_GENERATE_EEK, KEYOP_GENERATE_EEK },
	[OP_DECRYPT] = { ACL_DECRYPT_EEK, KEYOP_DECRYPT_EEK },
	[OP_REENCRYPT_BATCH] = { ACL_GENERATE_EEK, KEYOP_GENERATE_EEK },
	[OP_HEALTH] = { -1, -1 },
	[OP_CLUSTER] = { -1, -1 },
};

int
api_holds(struct api_ctx *ctx, const struct kw_request *req, enum acl_op op)
{
	int ok;

	ok = acls_op_allowed(authz_hold(ctx->authz), req->identity, op);
	authz_release(ctx->authz);
	return ok;
}

static int
deny_op(const struct kw_request *req, enum acl_op op,
    struct kw_response *resp)
{
	resp_error(resp, KW_EDENIED, "user '%s' is not allowed to do %s",
	    req->identity, acl_op_name(op));
	return 0;
}

static int
deny_key(const struct kw_request *req, const char *name, enum acl_keyop kop,
    struct kw_response *resp)
{
	resp_error(resp, KW_EDENIED, "user '%s' is not allowed %s on key '%s'",
	    req->identity, acl_keyop_name(kop), name);
	return 0;
}

int
api_allow_op(struct api_ctx *ctx, const struct kw_request *req,
    enum acl_op op, struct kw_response *resp)
{
	return api_holds(ctx, req, op) ? 1 : deny_op(req, op, resp);
}

int
api_allow_key_as(struct api_ctx *ctx, const struct kw_request *req,
    const char *name, const char *acl_name, enum acl_keyop kop,
    struct kw_response *resp)
{
	int ok;

	ok = acls_key_allowed(authz_hold(ctx->authz), req->identity, acl_name,
	    kop);
	authz_release(ctx->authz);
	return ok ? 1 : deny_key(req, name, kop, resp);
}

int
api_allow_key(struct api_ctx *ctx, const struct kw_request *req,
    const char *name, enum acl_keyop kop, struct kw_response *resp)
{
	char acl_name[ROUTE_NAME_MAX + 1];
	enum kw_err e;
	int has;

	/* the key's own ACL name only matters when some key has key ACLs */
	has = acls_has_key_acls(authz_hold(ctx->authz));
	authz_release(ctx->authz);
	if (!has)
		return api_allow_key_as(ctx, req, name, name, kop, resp);
	if ((e = ks_acl_name(ctx->ks, name, acl_name, sizeof(acl_name))) !=
	    KW_OK) {
		resp_error(resp, e == KW_EDB ? KW_EDB : KW_EINVAL,
		    "cannot check access to key '%s': %s", name,
		    e == KW_EDB ? "key store unavailable" : "bad key.acl.name");
		return 0;
	}
	return api_allow_key_as(ctx, req, name, acl_name, kop, resp);
}

int
api_proxy(struct api_ctx *ctx, struct kw_request *req,
    struct kw_response *resp)
{
	int ok;

	if (req->doas == NULL)
		return 1;
	if (*req->doas == '\0' || strlen(req->doas) > 255) {
		resp_error(resp, KW_EDENIED, "user '%s' may not act as an "
		    "empty or overlong doAs user", req->identity);
		return 0;
	}
	ok = acls_proxy_allowed(authz_hold(ctx->authz), req->identity,
	    req->doas, req->peer_addr);
	authz_release(ctx->authz);
	if (!ok) {
		resp_error(resp, KW_EDENIED, "user '%s' is not allowed to act "
		    "as '%s' from %s", req->identity, req->doas,
		    req->peer_addr);
		return 0;
	}
	req->real_user = req->identity;
	req->identity = req->doas;
	return 1;
}

int
api_authorize(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	int op = need[rt->op].op, kop = need[rt->op].kop, op_ok, key_ok;
	const struct acls *a;
	const char *eek_op;

	if (rt->op == OP_DECRYPT && (eek_op = req_query(req, "eek_op")) != NULL &&
	    strcmp(eek_op, "reencrypt") == 0) {
		op = ACL_GENERATE_EEK;
		kop = KEYOP_GENERATE_EEK;
	}
	/*
	 * One hold of the rules for both checks, on every request; only a
	 * key that may have a key.acl.name of its own (the file has per-key
	 * lines) goes on to api_allow_key, which reads it without holding
	 * the rules over a database query.
	 */
	a = authz_hold(ctx->authz);
	op_ok = op < 0 || acls_op_allowed(a, req->identity, (enum acl_op)op);
	if (!op_ok || kop < 0)
		key_ok = 1;
	else if (acls_has_key_acls(a))
		key_ok = -1;
	else
		key_ok = acls_key_allowed(a, req->identity, rt->name,
		    (enum acl_keyop)kop);
	authz_release(ctx->authz);
	if (!op_ok)
		return deny_op(req, (enum acl_op)op, resp);
	if (key_ok < 0)
		return api_allow_key(ctx, req, rt->name, (enum acl_keyop)kop,
		    resp);
	return key_ok ? 1 : deny_key(req, rt->name, (enum acl_keyop)kop,
	    resp);
}

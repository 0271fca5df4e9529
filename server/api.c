/*
 * api.c: dispatch from route to handler, and the JSON helpers the
 * handlers share.  Owns the mapping of operations to functions; the
 * operations themselves live in api_keys.c, api_eek.c and api_ops.c.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "errors.h"
#include "metrics.h"
#include "../lib/base64.h"
#include "../lib/log.h"

static const api_fn handlers[OP_MAX] = {
	[OP_CREATE] = api_create,
	[OP_ROLL] = api_roll,
	[OP_INVALIDATE] = api_invalidate,
	[OP_DELETE] = api_delete,
	[OP_METADATA] = api_metadata,
	[OP_BULK_METADATA] = api_bulk_metadata,
	[OP_NAMES] = api_names,
	[OP_CURRENT] = api_current,
	[OP_VERSION] = api_version,
	[OP_VERSIONS] = api_versions,
	[OP_GENERATE] = api_generate,
	[OP_DECRYPT] = api_eek,
	[OP_REENCRYPT_BATCH] = api_reencrypt_batch,
	[OP_HEALTH] = api_health,
	[OP_CLUSTER] = api_cluster,
	[OP_METRICS] = api_metrics,
};

/* The audit record of one request. */
static void
audit_request(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, const struct kw_response *resp)
{
	struct audit_event ev;
	const char *eek_op;

	memset(&ev, 0, sizeof(ev));
	ev.identity = req->identity != NULL ? req->identity : "-";
	ev.real_user = req->real_user;
	ev.op = route_op_name(rt->op);
	if (rt->op == OP_DECRYPT && (eek_op = req_query(req, "eek_op")) != NULL &&
	    strcmp(eek_op, "reencrypt") == 0)
		ev.op = "REENCRYPT_EEK";
	if (rt->name[0] != '\0')
		ev.key = rt->name;
	else if (resp->audit_key != NULL)
		ev.key = resp->audit_key;
	if (rt->has_version) {
		ev.version = rt->version;
		ev.has_version = 1;
	} else if (resp->audit_has_version) {
		ev.version = resp->audit_version;
		ev.has_version = 1;
	}
	if (resp->status >= 200 && resp->status < 300)
		ev.result = "OK";
	else if (resp->status == 401)
		ev.result = "UNAUTHENTICATED";
	else if (resp->status == 403)
		ev.result = "DENIED";
	else
		ev.result = "ERROR";
	ev.status = resp->status;
	ev.request_id = req->request_id;
	ev.peer = req->peer_addr;
	audit_log(ctx->audit, &ev);
}

/* Authenticate, authorize, run and audit one key operation. */
static void
key_operation(struct api_ctx *ctx, struct kw_request *r,
    const struct route *rt, struct kw_response *resp)
{
	if (r->identity == NULL)
		resp_error(resp, KW_EUNAUTH, "authentication required: %s",
		    r->auth_why != NULL ? r->auth_why : "no identity");
	else if (api_proxy(ctx, r, resp) && api_authorize(ctx, r, rt, resp))
		handlers[rt->op](ctx, r, rt, resp);
	audit_request(ctx, r, rt, resp);
	free(resp->audit_key);
	resp->audit_key = NULL;
}

void
api_handle(void *vctx, const struct kw_request *req, struct kw_response *resp)
{
	struct api_ctx *ctx = vctx;
	struct kw_request r = *req;
	struct route *rt;
	enum kw_err e;

	/* Hadoop clients authenticate with OPTIONS first (the glue adds the
	 * hadoop.auth cookie) */
	if (strcmp(req->method, "OPTIONS") == 0) {
		if (req->identity == NULL)
			resp_error(resp, KW_EUNAUTH, "authentication required: "
			    "%s", req->auth_why != NULL ? req->auth_why :
			    "no identity");
		else
			resp->status = 200;
		return;
	}
	if ((rt = malloc(sizeof(*rt))) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	e = route_match(req->method, req->path, rt);
	resp->op = e == KW_OK ? rt->op : OP_NONE;
	if (e == KW_OK && (rt->op == OP_HEALTH || rt->op == OP_CLUSTER))
		handlers[rt->op](ctx, req, rt, resp);	/* need no identity */
	else if (e == KW_OK && rt->op == OP_METRICS) {
		/* any authenticated client; no key names, no identities */
		if (req->identity == NULL)
			resp_error(resp, KW_EUNAUTH, "authentication required: "
			    "%s", req->auth_why != NULL ? req->auth_why :
			    "no identity");
		else
			handlers[rt->op](ctx, req, rt, resp);
	} else if (e == KW_OK)
		key_operation(ctx, &r, rt, resp);
	else if (req->identity == NULL)
		resp_error(resp, KW_EUNAUTH, "authentication required: %s",
		    req->auth_why != NULL ? req->auth_why : "no identity");
	else if (e == KW_EMETHOD)
		resp_error(resp, e, "method %s not allowed on this resource",
		    req->method);
	else if (e == KW_EINVAL)
		resp_error(resp, e, "invalid key or version name in path");
	else
		resp_error(resp, KW_ENOROUTE, "no such resource");
	free(rt);
}

void
api_send_json(struct kw_response *resp, int status, json_t *j)
{
	char *s;

	if (j == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (s == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	secure_free(resp->body);
	resp->status = status;
	resp->body = s;
	resp->len = strlen(s);
}

json_t *
api_body(const struct kw_request *req, json_type want, int empty_ok,
    struct kw_response *resp)
{
	json_error_t jerr;
	json_t *j;
	size_t i;

	for (i = 0; i < req->body_len; i++)
		if (req->body[i] != ' ' && req->body[i] != '\n' &&
		    req->body[i] != '\r' && req->body[i] != '\t')
			break;
	if (i == req->body_len) {
		if (empty_ok)
			return want == JSON_ARRAY ? json_array() : json_object();
		resp_error(resp, KW_EINVAL, "request body is empty");
		return NULL;
	}
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		resp_error(resp, KW_EINVAL, "malformed JSON body at line %d "
		    "column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (json_typeof(j) != want) {
		json_decref(j);
		resp_error(resp, KW_EINVAL, "JSON body must be an %s",
		    want == JSON_ARRAY ? "array" : "object");
		return NULL;
	}
	return j;
}

json_t *
api_b64(const unsigned char *p, size_t n)
{
	char buf[64];		/* fits 32 bytes encoded */
	char *big = buf;
	json_t *j;

	if (b64_encoded_len(n) + 1 > sizeof(buf) &&
	    (big = malloc(b64_encoded_len(n) + 1)) == NULL)
		return NULL;
	b64_encode(p, n, big);
	j = json_string(big);
	secure_wipe(big, b64_encoded_len(n));
	if (big != buf)
		free(big);
	return j;
}

json_t *
api_key_version(const char *name, uint32_t version, const struct secbuf *mat)
{
	char vname[ROUTE_NAME_MAX + 16];

	snprintf(vname, sizeof(vname), "%s@%u", name, version);
	return json_pack("{s:s, s:s, s:o}", "name", name, "versionName", vname,
	    "material", mat != NULL ? api_b64(mat->data, mat->len) : json_null());
}

int
api_b64_member(json_t *obj, const char *field, unsigned char *buf, size_t cap,
    size_t *len, struct kw_response *resp)
{
	json_t *v = json_object_get(obj, field);

	if (v == NULL || json_is_null(v)) {
		resp_error(resp, KW_EINVAL, "missing \"%s\"", field);
		return -1;
	}
	if (!json_is_string(v)) {
		resp_error(resp, KW_EINVAL, "\"%s\" must be a base64 string", field);
		return -1;
	}
	if (b64_decode(json_string_value(v), json_string_length(v), buf, cap,
	    len) != 0) {
		secure_wipe(buf, cap);
		resp_error(resp, KW_EINVAL, "\"%s\" is not valid base64 of at "
		    "most %zu bytes", field, cap);
		return -1;
	}
	return 0;
}

int
api_admit_write(struct api_ctx *ctx, struct kw_response *resp)
{
	char why[256];
	enum db_refusal code;

	/*
	 * A single node (no db.peer, a development set-up) has no pair to
	 * keep consistent: the database itself refuses what it cannot do.
	 */
	if (ctx->cfg->db_peer[0] == '\0')
		return 1;
	if (cluster_writable(ctx->cl, why, sizeof(why), &code))
		return 1;
	metrics_refused(code);
	resp_error(resp, KW_EUNAVAIL, "writes refused by node %s: %s",
	    ctx->cfg->node_name, why);
	return 0;
}

void
api_store_error(struct kw_response *resp, enum kw_err e, const char *name)
{
	switch (e) {
	case KW_ENOTFOUND:
		resp_error(resp, e, "key '%s' not found", name);
		break;
	case KW_EEXIST:
		resp_error(resp, e, "key '%s' already exists", name);
		break;
	case KW_EBADLEN:
		resp_error(resp, e, "Wrong key length");
		break;
	case KW_EINVAL:
		resp_error(resp, e, "invalid request for key '%s'", name);
		break;
	case KW_EUNAVAIL:
		/* admitted, but the database layer found no primary */
		metrics_refused(DB_REFUSE_NO_PRIMARY);
		resp_error(resp, e, "writes are refused: no healthy primary "
		    "database with a synchronous standby");
		break;
	case KW_ENOTACK:
		metrics_inc(MC_NOT_ACKNOWLEDGED);
		resp_error(resp, e, "write not acknowledged: the commit was not "
		    "confirmed in time, treat it as failed");
		break;
	case KW_EUNCONFIRMED:
		resp_error(resp, e, "key '%s': its latest change is not yet "
		    "confirmed on both nodes; try again when the pair is "
		    "healthy", name);
		break;
	case KW_ESTALE:
		resp_error(resp, e, "key '%s': this node can reach neither "
		    "database to confirm what it has cached; use the other "
		    "node", name);
		break;
	case KW_ECRYPTO:
		resp_error(resp, e, "key '%s' could not be unwrapped", name);
		break;
	case KW_EDB:
		resp_error(resp, e, "key store unavailable: database error");
		break;
	default:
		resp_error(resp, e, "internal error");
		break;
	}
}

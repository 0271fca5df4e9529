/*
 * api.c: the HTTP adapter of the key service: the rows of the key
 * operations (their names, ACLs, class and steps), dispatch from route
 * to row to svc_run, and the JSON helpers the steps share.  The steps
 * themselves live in api_keys.c, api_eek.c and api_ops.c.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "errors.h"
#include "metrics.h"
#include "../lib/base64.h"
#include "../lib/log.h"

/*
 * The key operations over HTTP, one row each (service.h).  The class
 * says whether an operation changes the replicated store: invalidating
 * this node's cache and the EEK operations do not.
 */
const struct svc_op api_ops[OP_MAX] = {
	[OP_NONE] = { .name = "NONE" },
	[OP_CREATE] = { "CREATE", ACL_CREATE, KEYOP_MANAGEMENT, SVC_WRITE, 0,
	    api_create_prepare, api_create },
	[OP_ROLL] = { "ROLL_NEW_VERSION", ACL_ROLLOVER, KEYOP_MANAGEMENT,
	    SVC_WRITE, 0, api_roll_prepare, api_roll },
	[OP_INVALIDATE] = { "INVALIDATE_CACHE", ACL_ROLLOVER, KEYOP_MANAGEMENT,
	    SVC_READ, 0, NULL, api_invalidate },
	[OP_DELETE] = { "DELETE", ACL_DELETE, KEYOP_MANAGEMENT, SVC_WRITE, 0,
	    NULL, api_delete },
	[OP_METADATA] = { "GET_METADATA", ACL_GET_METADATA, KEYOP_READ,
	    SVC_READ, 0, NULL, api_metadata },
	[OP_BULK_METADATA] = { "GET_KEYS_METADATA", ACL_GET_METADATA,
	    KEYOP_READ, SVC_READ, SVC_KEY_EACH, NULL, api_bulk_metadata },
	[OP_NAMES] = { "GET_KEYS", ACL_GET_KEYS, SVC_NO_ACL, SVC_READ, 0,
	    NULL, api_names },
	[OP_CURRENT] = { "GET_CURRENT_KEY", ACL_GET, KEYOP_READ, SVC_READ, 0,
	    NULL, api_current },
	[OP_VERSION] = { "GET_KEY_VERSION", ACL_GET, KEYOP_READ, SVC_READ, 0,
	    NULL, api_version },
	[OP_VERSIONS] = { "GET_KEY_VERSIONS", ACL_GET, KEYOP_READ, SVC_READ, 0,
	    NULL, api_versions },
	[OP_GENERATE] = { "GENERATE_EEK", ACL_GENERATE_EEK, KEYOP_GENERATE_EEK,
	    SVC_READ, 0, NULL, api_generate },
	[OP_DECRYPT] = { "DECRYPT_EEK", ACL_DECRYPT_EEK, KEYOP_DECRYPT_EEK,
	    SVC_READ, 0, NULL, api_eek },
	[OP_REENCRYPT_BATCH] = { "REENCRYPT_EEK_BATCH", ACL_GENERATE_EEK,
	    KEYOP_GENERATE_EEK, SVC_READ, 0, NULL, api_reencrypt_batch },
	/* the ops endpoints: not key operations */
	[OP_HEALTH] = { .name = "HEALTH" },
	[OP_CLUSTER] = { .name = "CLUSTER" },
	[OP_METRICS] = { .name = "METRICS" },
};

/* POST keyversion/NAME@N/_eek?eek_op=reencrypt: the decrypt route, but
 * re-encrypting needs what generating does. */
const struct svc_op api_op_reencrypt = { "REENCRYPT_EEK", ACL_GENERATE_EEK,
    KEYOP_GENERATE_EEK, SVC_READ, 0, NULL, api_eek };

const char *
api_op_name(enum kw_op op)
{
	if (op < 0 || op >= OP_MAX || api_ops[op].name == NULL)
		return "UNKNOWN";
	return api_ops[op].name;
}

/* svc_proto: a refusal the service made, as an error envelope. */
static void
http_refuse(struct svc_call *c, enum kw_err e, const char *msg)
{
	struct api_call *a = c->args;

	resp_error(a->resp, e, "%s", msg);
}

/* svc_proto: the HTTP status, and the error behind it. */
static enum kw_err
http_outcome(const struct svc_call *c, int *status)
{
	const struct api_call *a = c->args;
	const struct kw_response *resp = a->resp;

	*status = resp->status;
	if (resp->status >= 200 && resp->status < 300)
		return KW_OK;
	return resp->err != KW_OK ? (enum kw_err)resp->err : KW_ENOMEM;
}

static const struct svc_proto http_proto = { http_refuse, http_outcome };

/* Run one key operation through the key service. */
static void
key_operation(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	const struct svc_op *op = &api_ops[rt->op];
	const char *eek_op;
	struct api_call a;
	struct svc_call c;

	if (rt->op == OP_DECRYPT && (eek_op = req_query(req, "eek_op")) != NULL &&
	    strcmp(eek_op, "reencrypt") == 0)
		op = &api_op_reencrypt;
	memset(&a, 0, sizeof(a));
	a.ctx = ctx;
	a.req = req;
	a.rt = rt;
	a.resp = resp;
	memset(&c, 0, sizeof(c));
	c.identity = req->identity;
	c.auth_why = req->auth_why;
	c.doas = req->doas;
	c.peer = req->peer_addr;
	c.request_id = req->request_id;
	c.key = rt->name[0] != '\0' ? rt->name : NULL;
	c.version = rt->version;
	c.has_version = rt->has_version;
	c.proto = &http_proto;
	c.args = &a;
	svc_run(&ctx->svc, op, &c);
	secbuf_free(a.mat);
	free(a.attrs);
	json_decref(a.body);
}

void
api_handle(void *vctx, const struct kw_request *req, struct kw_response *resp)
{
	struct api_ctx *ctx = vctx;
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
	if (e == KW_OK && rt->op == OP_HEALTH)
		api_health(ctx, req, resp);	/* needs no identity */
	else if (e == KW_OK && rt->op == OP_CLUSTER)
		api_cluster(ctx, req, resp);	/* needs no identity */
	else if (e == KW_OK && rt->op == OP_METRICS) {
		/* any authenticated client; no key names, no identities */
		if (req->identity == NULL)
			resp_error(resp, KW_EUNAUTH, "authentication required: "
			    "%s", req->auth_why != NULL ? req->auth_why :
			    "no identity");
		else
			api_metrics(ctx, req, resp);
	} else if (e == KW_OK)
		key_operation(ctx, req, rt, resp);
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

/*
 * dispatch.c: the KMIP adapter of the key service.  Each supported
 * operation is one svc_op row (its audit name, ACL operation and key
 * operation, read or write class, prepare and exec steps); a request's
 * batch items run one by one through svc_run, which authenticates,
 * authorizes, admits writes and audits; refusals become failed items.
 * DiscoverVersions and Query name no key and change nothing: any
 * authenticated client gets them, outside the key service.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "ops.h"
#include "../lib/crypto.h"
#include "../lib/log.h"
#include "../server/authz.h"

/*
 * The key operations over KMIP.  How they map onto the ACLs (README,
 * "KMIP"): creating needs CREATE (and Register, which brings material,
 * SET_KEY_MATERIAL too); reading a key's material GET; its attributes
 * GET_METADATA; Locate GET_KEYS; changing attributes or state ROLLOVER;
 * Destroy DELETE; Encrypt GENERATE_EEK and Decrypt DECRYPT_EEK, each
 * with the key ACL of the same kind on the object's first Name (its uid
 * when it has none; for a new object, the first Name it asks for).
 * Locate shows only the objects the caller holds some key ACL on
 * (ops_attr.c).
 */
static const struct {
	uint32_t	op;
	struct svc_op	row;
} kmip_rows[] = {
	{ KMIP_OP_CREATE, { "KMIP_CREATE", ACL_CREATE, KEYOP_MANAGEMENT,
	    SVC_WRITE, 0, kc_prepare_new, kop_create } },
	{ KMIP_OP_REGISTER, { "KMIP_REGISTER", ACL_CREATE, KEYOP_MANAGEMENT,
	    SVC_WRITE, 0, kc_prepare_register, kop_register } },
	{ KMIP_OP_GET, { "KMIP_GET", ACL_GET, KEYOP_READ, SVC_READ, 0,
	    kc_prepare_obj, kop_get } },
	{ KMIP_OP_GET_ATTRIBUTES, { "KMIP_GET_ATTRIBUTES", ACL_GET_METADATA,
	    KEYOP_READ, SVC_READ, 0, kc_prepare_obj, kop_get_attributes } },
	{ KMIP_OP_GET_ATTRIBUTE_LIST, { "KMIP_GET_ATTRIBUTE_LIST",
	    ACL_GET_METADATA, KEYOP_READ, SVC_READ, 0, kc_prepare_obj,
	    kop_get_attribute_list } },
	{ KMIP_OP_LOCATE, { "KMIP_LOCATE", ACL_GET_KEYS, SVC_NO_ACL, SVC_READ,
	    0, NULL, kop_locate } },
	{ KMIP_OP_ACTIVATE, { "KMIP_ACTIVATE", ACL_ROLLOVER, KEYOP_MANAGEMENT,
	    SVC_WRITE, 0, kc_prepare_obj, kop_activate } },
	{ KMIP_OP_REVOKE, { "KMIP_REVOKE", ACL_ROLLOVER, KEYOP_MANAGEMENT,
	    SVC_WRITE, 0, kc_prepare_obj, kop_revoke } },
	{ KMIP_OP_DESTROY, { "KMIP_DESTROY", ACL_DELETE, KEYOP_MANAGEMENT,
	    SVC_WRITE, 0, kc_prepare_obj, kop_destroy } },
	{ KMIP_OP_ADD_ATTRIBUTE, { "KMIP_ADD_ATTRIBUTE", ACL_ROLLOVER,
	    KEYOP_MANAGEMENT, SVC_WRITE, 0, kc_prepare_obj,
	    kop_add_attribute } },
	{ KMIP_OP_MODIFY_ATTRIBUTE, { "KMIP_MODIFY_ATTRIBUTE", ACL_ROLLOVER,
	    KEYOP_MANAGEMENT, SVC_WRITE, 0, kc_prepare_obj,
	    kop_modify_attribute } },
	{ KMIP_OP_DELETE_ATTRIBUTE, { "KMIP_DELETE_ATTRIBUTE", ACL_ROLLOVER,
	    KEYOP_MANAGEMENT, SVC_WRITE, 0, kc_prepare_obj,
	    kop_delete_attribute } },
	{ KMIP_OP_SET_ATTRIBUTE, { "KMIP_SET_ATTRIBUTE", ACL_ROLLOVER,
	    KEYOP_MANAGEMENT, SVC_WRITE, 0, kc_prepare_obj,
	    kop_set_attribute } },
	{ KMIP_OP_ENCRYPT, { "KMIP_ENCRYPT", ACL_GENERATE_EEK,
	    KEYOP_GENERATE_EEK, SVC_READ, 0, kc_prepare_obj, kop_encrypt } },
	{ KMIP_OP_DECRYPT, { "KMIP_DECRYPT", ACL_DECRYPT_EEK,
	    KEYOP_DECRYPT_EEK, SVC_READ, 0, kc_prepare_obj, kop_decrypt } },
};

struct kmip_ctx *
kmip_ctx_new(struct svc *svc, size_t max_message)
{
	struct kmip_ctx *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->svc = svc;
	x->max_message = max_message;
	return x;
}

void
kmip_ctx_free(struct kmip_ctx *x)
{
	free(x);
}

/* ------------------------------------------------------- answering */

int
kc_v2(const struct kmip_call *k)
{
	return k->ver.major >= 2;
}

uint32_t
kc_state_reason(const struct kmip_call *k)
{
	return kc_v2(k) ? KMIP_REASON_WRONG_KEY_LIFECYCLE_STATE :
	    KMIP_REASON_ILLEGAL_OPERATION;
}

void
kc_fail(struct kmip_call *k, enum kw_err e, uint32_t reason,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	kmip_resp_item(k->resp, k->item, KMIP_STATUS_OPERATION_FAILED, reason,
	    msg);
	k->answered = 1;
	k->status = KMIP_STATUS_OPERATION_FAILED;
	k->err = e != KW_OK ? e : KW_EINVAL;
}

/* The Result Reason of a kw_err. */
static uint32_t
reason_of(enum kw_err e)
{
	switch (e) {
	case KW_EUNAUTH:
		return KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL;
	case KW_EDENIED:
		return KMIP_REASON_PERMISSION_DENIED;
	case KW_ENOTFOUND:
		return KMIP_REASON_ITEM_NOT_FOUND;
	case KW_EINVAL:
		return KMIP_REASON_INVALID_FIELD;
	case KW_ENOROUTE:
		return KMIP_REASON_OPERATION_NOT_SUPPORTED;
	case KW_ECRYPTO:
		return KMIP_REASON_CRYPTOGRAPHIC_FAILURE;
	default:
		return KMIP_REASON_GENERAL_FAILURE;
	}
}

void
kc_fail_err(struct kmip_call *k, enum kw_err e, const char *what)
{
	const char *why;

	switch (e) {
	case KW_ENOTFOUND:
		why = "no such object";
		break;
	case KW_EUNAVAIL:
		why = "writes refused: the pair cannot take writes now";
		break;
	case KW_ENOTACK:
		why = "the write was not acknowledged by both databases in "
		    "time; it may or may not have taken effect";
		break;
	case KW_EUNCONFIRMED:
		why = "its latest change is not yet confirmed on both nodes";
		break;
	case KW_ECRYPTO:
		why = "cryptographic failure";
		break;
	case KW_ENOMEM:
		why = "out of memory";
		break;
	default:
		why = "key store unavailable";
		break;
	}
	kc_fail(k, e, reason_of(e), "%s: %s", what, why);
}

struct ttlv_buf *
kc_ok(struct kmip_call *k)
{
	kmip_resp_item(k->resp, k->item, KMIP_STATUS_SUCCESS, 0, NULL);
	k->answered = 1;
	k->status = KMIP_STATUS_SUCCESS;
	k->err = KW_OK;
	return kmip_resp_payload(k->resp);
}

/* The payload's Unique Identifier into k->uid: 0, -1 none, -2 bad. */
static int
uid_text(struct kmip_call *k)
{
	const struct ttlv *t;
	const char *s;
	size_t n;

	if ((t = ttlv_find(k->item->payload, KMIP_TAG_UNIQUE_IDENTIFIER)) ==
	    NULL)
		return -1;
	if (ttlv_get_text(t, &s, &n) != 0 || n == 0 || n > DB_KMIP_UID_MAX)
		return -2;
	memcpy(k->uid, s, n);
	k->uid[n] = '\0';
	return 0;
}

int
kc_uid(struct kmip_call *k)
{
	int r;

	if ((r = uid_text(k)) == -1)
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA,
		    "the request names no Unique Identifier (ID placeholders "
		    "are not supported)");
	else if (r == -2)
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD,
		    "Unique Identifier must be a text string of 1 to %d bytes",
		    DB_KMIP_UID_MAX);
	return r == 0 ? 0 : -1;
}

/* Load the object the request names and name it for the key ACLs: its
 * first Name, else its uid (also when it is not there: the answer waits
 * for the ACLs, so a denied caller learns nothing).  0 or -1 answered. */
static int
load_named(struct kmip_call *k, struct svc_call *c)
{
	if (kc_uid(k) != 0)
		return -1;
	c->key = k->uid;
	k->load = kobj_load(k->ctx, k->uid, &k->obj);
	snprintf(k->acl_name, sizeof(k->acl_name), "%s", k->load == KW_OK ?
	    kobj_acl_name(&k->obj) : k->uid);
	c->acl_name = k->acl_name;
	return 0;
}

int
kc_prepare_obj(struct svc_call *c)
{
	struct kmip_call *k = c->args;

	return k->preloaded ? 0 : load_named(k, c);
}

int
kc_loaded(struct kmip_call *k)
{
	if (k->load == KW_OK)
		return 1;
	kc_fail_err(k, k->load, "object");
	return 0;
}

int
kc_prepare_new(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	unsigned char r[16];

	if (crypto_random(r, sizeof(r)) != 0) {
		kc_fail(k, KW_ECRYPTO, KMIP_REASON_GENERAL_FAILURE,
		    "no random numbers");
		return -1;
	}
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);	/* a UUID v4 */
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(k->uid, sizeof(k->uid), "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
	    r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
	    r[15]);
	/* the Name it asks for named it already (run_item); else its uid */
	if (c->key == NULL) {
		snprintf(k->acl_name, sizeof(k->acl_name), "%s", k->uid);
		c->key = c->acl_name = k->acl_name;
	}
	return 0;
}

/* Register brings material: SET_KEY_MATERIAL as well, as in Hadoop. */
int
kc_prepare_register(struct svc_call *c)
{
	if (kc_prepare_new(c) != 0)
		return -1;
	c->extra_acl_op = ACL_SET_KEY_MATERIAL;
	return 0;
}

/* ------------------------------------------------- the key service */

static void
kmip_refuse(struct svc_call *c, enum kw_err e, const char *msg)
{
	struct kmip_call *k = c->args;

	kc_fail(k, e, reason_of(e), "%s", msg);
}

static enum kw_err
kmip_outcome(const struct svc_call *c, int *status)
{
	const struct kmip_call *k = c->args;

	*status = (int)k->status;
	return k->answered ? k->err : KW_ENOMEM;
}

static const struct svc_proto kmip_proto = { kmip_refuse, kmip_outcome };

static const struct svc_op *
row_of(uint32_t op)
{
	size_t i;

	for (i = 0; i < sizeof(kmip_rows) / sizeof(kmip_rows[0]); i++)
		if (kmip_rows[i].op == op)
			return &kmip_rows[i].row;
	return NULL;
}

/* Whether identity holds row's operation ACL (svc_run decides; this
 * only spares the database the work for callers it will refuse). */
static int
may_try(struct kmip_ctx *x, const char *identity, const struct svc_op *row)
{
	int ok;

	if (identity == NULL)
		return 0;
	ok = acls_op_allowed(authz_hold(x->svc->authz), identity,
	    (enum acl_op)row->acl_op);
	authz_release(x->svc->authz);
	return ok;
}

/* Run one batch item. */
static void
run_item(struct kmip_ctx *x, const struct kmip_conn_info *ci,
    const struct kmip_request *req, const struct kmip_item *it,
    struct kmip_resp *resp)
{
	struct kmip_call k;
	struct svc_call c;
	const struct svc_op *row;

	memset(&k, 0, sizeof(k));
	k.ctx = x;
	k.req = req;
	k.item = it;
	k.resp = resp;
	k.ver = req->version;
	k.load = KW_ENOTFOUND;
	if (it->op == KMIP_OP_DISCOVER_VERSIONS || it->op == KMIP_OP_QUERY) {
		if (ci->identity == NULL)
			kc_fail(&k, KW_EUNAUTH,
			    KMIP_REASON_AUTHENTICATION_NOT_SUCCESSFUL,
			    "authentication required: %s", ci->why);
		else if (it->op == KMIP_OP_QUERY)
			kop_query(&k);
		else
			kop_discover_versions(&k);
		return;
	}
	if ((row = row_of(it->op)) == NULL) {
		kc_fail(&k, KW_ENOROUTE, KMIP_REASON_OPERATION_NOT_SUPPORTED,
		    "operation %s is not supported", kmip_op_name(it->op) ?
		    kmip_op_name(it->op) : "(unknown)");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.identity = ci->identity;
	c.auth_why = ci->why;
	c.peer = ci->peer;
	c.request_id = ci->request_id;
	c.proto = &kmip_proto;
	c.args = &k;
	/*
	 * The object named up front, so that a refusal is audited with it,
	 * and loaded (its Name is its key ACL name) only for a caller the
	 * operation ACL lets through: svc_run refuses the others before any
	 * step, and nobody else makes the database work.  Without a usable
	 * uid, prepare answers after the operation ACL.
	 */
	if (row->prepare == kc_prepare_obj && uid_text(&k) == 0) {
		c.key = c.acl_name = k.uid;
		if (may_try(x, ci->identity, row))
			(void)load_named(&k, &c);	/* uid is good */
		k.preloaded = 1;
	}
	/*
	 * A new object is known to the key ACLs by the Name it asks for (as
	 * a KMS key is by the name it is created under), so the key ACL is
	 * checked, and a refusal audited, with that Name; the uid it gets
	 * names it from then on (exec audits it).
	 */
	if ((row->prepare == kc_prepare_new ||
	    row->prepare == kc_prepare_register) &&
	    kobj_requested_name(it->payload, k.acl_name, sizeof(k.acl_name)))
		c.key = c.acl_name = k.acl_name;
	svc_run(x->svc, row, &c);
	if (!k.answered)	/* a step that forgot to answer: a bug */
		kc_fail(&k, KW_ENOMEM, KMIP_REASON_GENERAL_FAILURE,
		    "internal error");
	kobj_clear(&k.obj);
}

/* A malloc'd copy of the finished response, or NULL. */
static unsigned char *
finish(struct kmip_resp *resp, size_t *outlen)
{
	const unsigned char *p;
	unsigned char *out = NULL;
	size_t n;

	if ((p = kmip_resp_finish(resp, &n)) != NULL &&
	    (out = malloc(n)) != NULL) {
		memcpy(out, p, n);
		*outlen = n;
	}
	kmip_resp_free(resp);
	return out;
}

/* A response of one failed item, for a message that did not parse. */
static unsigned char *
error_response(struct kmip_ctx *x, const struct kmip_version *v,
    uint32_t reason, const char *msg, size_t *outlen)
{
	struct kmip_resp *resp;

	if ((resp = kmip_resp_new(v, (int64_t)time(NULL), NULL,
	    x->max_message)) == NULL)
		return NULL;
	kmip_resp_item(resp, NULL, KMIP_STATUS_OPERATION_FAILED, reason, msg);
	return finish(resp, outlen);
}

unsigned char *
kmip_handle(void *ctx, const struct kmip_conn_info *ci,
    const unsigned char *msg, size_t len, const char *framing_err,
    size_t *outlen)
{
	static const struct kmip_version v10 = { 1, 0 };
	struct kmip_ctx *x = ctx;
	struct ttlv_limits lim = { x->max_message, TTLV_DEFAULT_MAX_DEPTH };
	struct kmip_request *req = NULL;
	struct kmip_version ver = v10;
	struct kmip_resp *resp;
	char err[256];
	uint32_t reason;
	size_t i;

	*outlen = 0;
	if (framing_err != NULL) {
		log_info("kmip %s %s: message refused: %s", ci->request_id,
		    ci->peer, framing_err);
		return error_response(x, &v10, KMIP_REASON_INVALID_MESSAGE,
		    framing_err, outlen);
	}
	if ((reason = kmip_request_parse(msg, len, &lim, &req, &ver, err,
	    sizeof(err))) != 0) {
		log_info("kmip %s %s: message refused: %s", ci->request_id,
		    ci->peer, err);
		return error_response(x, &ver, reason, err, outlen);
	}
	if (!kmip_version_known(&req->version)) {
		kmip_request_free(req);
		ver.major = 1;
		ver.minor = 0;
		return error_response(x, &ver,
		    KMIP_REASON_INVALID_MESSAGE, "protocol version not "
		    "supported (1.0 to 1.4 and 2.0 are)", outlen);
	}
	if ((resp = kmip_resp_new(&req->version, (int64_t)time(NULL), req,
	    x->max_message)) == NULL) {
		kmip_request_free(req);
		return NULL;
	}
	for (i = 0; i < req->nitems; i++)
		run_item(x, ci, req, &req->items[i], resp);
	kmip_request_free(req);
	return finish(resp, outlen);
}

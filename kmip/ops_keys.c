/*
 * ops_keys.c: the KMIP operations on a key's life: Create, Register,
 * Get (Raw and Transparent Symmetric Key formats), Activate, Revoke and
 * Destroy, with the lifecycle of KMIP's states (Pre-Active, Active,
 * Deactivated, Compromised, Destroyed, Destroyed Compromised).  The
 * key service has already authorized the call and admitted writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "../lib/crypto.h"
#include "../lib/log.h"

static int64_t
now_ms(void)
{
	return (int64_t)time(NULL) * 1000;
}

void
kop_commit(struct kmip_call *k, struct kobj *o, int drop)
{
	struct ttlv_buf *b;
	enum kw_err e;

	if ((e = kobj_update(k->ctx, o, drop)) == KW_ENOTFOUND) {
		kc_fail(k, KW_EUNAVAIL, KMIP_REASON_GENERAL_FAILURE,
		    "object %s changed meanwhile; try again", o->row.uid);
		return;
	}
	if (e != KW_OK) {
		kc_fail_err(k, e, "write");
		return;
	}
	b = kc_ok(k);
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, o->row.uid,
	    strlen(o->row.uid));
}

/* The attributes a new object is asked for, into o (its algorithm and
 * length already from the key block, for Register).  0, or -1 answered. */
static int
new_attrs(struct kmip_call *k, struct kobj *o)
{
	const struct ttlv *cont;
	struct kmip_attr *attrs = NULL;
	size_t n = 0, i;
	uint32_t e, reason;
	int32_t v;
	int64_t t;
	char msg[256];
	int rc = -1;

	cont = kmip_attrs_container(k->item->payload);
	if (cont != NULL && kmip_attrs_read(cont, &attrs, &n, msg,
	    sizeof(msg)) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD, "%s", msg);
		return -1;
	}
	for (i = 0; i < n; i++) {
		const struct kmip_attr *a = &attrs[i];

		if (a->tag == KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM &&
		    ttlv_get_enum(a->value, &e) == 0)
			o->row.algorithm = (int32_t)e;
		else if (a->tag == KMIP_TAG_CRYPTOGRAPHIC_LENGTH &&
		    ttlv_get_int(a->value, &v) == 0)
			o->row.length = v;
		else if (a->tag == KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK &&
		    ttlv_get_int(a->value, &v) == 0)
			o->row.usage_mask = v;
		else if (a->tag == KMIP_TAG_ACTIVATION_DATE &&
		    ttlv_get_datetime(a->value, &t) == 0)
			o->row.activation_ms = t * 1000;
		else if (a->tag == KMIP_TAG_OPERATION_POLICY_NAME ||
		    a->tag == KMIP_TAG_OBJECT_TYPE)
			continue;	/* policies are the ACLs' business */
		else if (a->tag == KMIP_TAG_NAME ||
		    a->tag == KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION ||
		    a->tag == KMIP_TAG_OBJECT_GROUP || a->tag == 0) {
			if ((reason = kobj_apply(k, o, a, 0, msg,
			    sizeof(msg))) != 0) {
				kc_fail(k, KW_EINVAL, reason, "%s", msg);
				goto out;
			}
		} else {
			kc_fail(k, KW_EINVAL, kc_v2(k) ?
			    KMIP_REASON_ATTRIBUTE_READ_ONLY :
			    KMIP_REASON_INVALID_FIELD, "attribute %s cannot be "
			    "set by a client", a->name != NULL ? a->name : "?");
			goto out;
		}
	}
	if (o->row.algorithm != KMIP_ALG_AES) {
		kc_fail(k, KW_EINVAL, kc_v2(k) ?
		    KMIP_REASON_UNSUPPORTED_CRYPTOGRAPHIC_PARAMETERS :
		    KMIP_REASON_INVALID_FIELD, "only AES keys are supported");
		goto out;
	}
	if (o->row.length != 128 && o->row.length != 256) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD,
		    "Cryptographic Length must be 128 or 256");
		goto out;
	}
	json_object_set_new(o->attrs, "alg", json_integer(o->row.algorithm));
	json_object_set_new(o->attrs, "len", json_integer(o->row.length));
	rc = 0;
out:
	free(attrs);
	return rc;
}

/* The payload's Object Type must be a symmetric key: 0, or -1 answered. */
static int
symmetric_only(struct kmip_call *k)
{
	uint32_t t;

	if (ttlv_get_enum(ttlv_find(k->item->payload, KMIP_TAG_OBJECT_TYPE),
	    &t) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA,
		    "the request names no Object Type");
		return -1;
	}
	if (t != KMIP_OBJ_SYMMETRIC_KEY) {
		kc_fail(k, KW_EINVAL, kc_v2(k) ?
		    KMIP_REASON_INVALID_OBJECT_TYPE :
		    KMIP_REASON_FEATURE_NOT_SUPPORTED,
		    "only Symmetric Key objects are supported");
		return -1;
	}
	return 0;
}

/* Store a new object o with material and answer; the audit names it by
 * its uid from then on. */
static void
store_new(struct svc_call *c, struct kobj *o, const struct secbuf *mat)
{
	struct kmip_call *k = c->args;
	struct ttlv_buf *b;
	enum kw_err e;

	if ((size_t)o->row.length != mat->len * 8) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD,
		    "key material of %zu bits for a Cryptographic Length of %d",
		    mat->len * 8, o->row.length);
		return;
	}
	o->row.initial_ms = now_ms();
	o->row.state = KMIP_STATE_PRE_ACTIVE;
	if (o->row.activation_ms != 0 && o->row.activation_ms <= now_ms())
		o->row.state = KMIP_STATE_ACTIVE;
	if (kobj_wrap(k->ctx, o, mat) != 0) {
		kc_fail(k, KW_ECRYPTO, KMIP_REASON_GENERAL_FAILURE,
		    "could not wrap the key under the master key");
		return;
	}
	if ((e = kobj_insert(k->ctx, o)) != KW_OK) {
		kc_fail_err(k, e, "write");
		return;
	}
	log_info("kmip: object %s created (AES-%d)", o->row.uid,
	    o->row.length);
	c->key = k->uid;	/* o is gone by the audit */
	b = kc_ok(k);
	if (k->item->op == KMIP_OP_CREATE)	/* Register's has no type */
		ttlv_put_enum(b, KMIP_TAG_OBJECT_TYPE, KMIP_OBJ_SYMMETRIC_KEY);
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, o->row.uid,
	    strlen(o->row.uid));
}

/* A new object of uid k->uid: 0, or -1 answered. */
static int
new_obj(struct kmip_call *k, struct kobj *o)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->row.uid, sizeof(o->row.uid), "%s", k->uid);
	o->row.object_type = KMIP_OBJ_SYMMETRIC_KEY;
	if (kobj_init_attrs(o) != 0) {
		kc_fail(k, KW_ENOMEM, KMIP_REASON_GENERAL_FAILURE,
		    "out of memory");
		return -1;
	}
	return 0;
}

void
kop_create(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct kobj o;
	struct secbuf *mat = NULL;

	if (symmetric_only(k) != 0 || new_obj(k, &o) != 0)
		return;
	if (new_attrs(k, &o) != 0)
		goto out;
	if ((mat = secbuf_new((size_t)o.row.length / 8)) == NULL ||
	    crypto_random(mat->data, mat->len) != 0) {
		kc_fail(k, KW_ECRYPTO, KMIP_REASON_GENERAL_FAILURE,
		    "no random numbers");
		goto out;
	}
	store_new(c, &o, mat);
out:
	secbuf_free(mat);
	kobj_clear(&o);
}

/* The material of a Register's Symmetric Key (Raw or Transparent
 * Symmetric Key, not wrapped), and the key block's algorithm and length
 * into o.  NULL answered. */
static struct secbuf *
key_block(struct kmip_call *k, struct kobj *o)
{
	const struct ttlv *kb, *kv, *km;
	const unsigned char *p;
	uint32_t fmt, alg;
	int32_t len;
	size_t n;

	kb = ttlv_find(ttlv_find(k->item->payload, KMIP_TAG_SYMMETRIC_KEY),
	    KMIP_TAG_KEY_BLOCK);
	kv = ttlv_find(kb, KMIP_TAG_KEY_VALUE);
	if (kb == NULL || kv == NULL ||
	    ttlv_get_enum(ttlv_find(kb, KMIP_TAG_KEY_FORMAT_TYPE), &fmt) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA, "Register "
		    "needs a Symmetric Key with a Key Block, its Key Format "
		    "Type and Key Value");
		return NULL;
	}
	if (ttlv_find(kb, KMIP_TAG_KEY_WRAPPING_DATA) != NULL) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_FEATURE_NOT_SUPPORTED,
		    "wrapped key material is not supported");
		return NULL;
	}
	km = ttlv_find(kv, KMIP_TAG_KEY_MATERIAL);
	if (fmt == KMIP_KEYFMT_TRANSPARENT_SYMMETRIC_KEY)
		km = ttlv_find(km, KMIP_TAG_KEY);
	else if (fmt != KMIP_KEYFMT_RAW) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED,
		    "key format: Raw or Transparent Symmetric Key only");
		return NULL;
	}
	if (ttlv_get_bytes(km, &p, &n) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD,
		    "Key Material must be a Byte String");
		return NULL;
	}
	if (ttlv_get_enum(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM),
	    &alg) == 0)
		o->row.algorithm = (int32_t)alg;
	if (ttlv_get_int(ttlv_find(kb, KMIP_TAG_CRYPTOGRAPHIC_LENGTH),
	    &len) == 0)
		o->row.length = len;
	return secbuf_dup(p, n);
}

void
kop_register(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct kobj o;
	struct secbuf *mat;

	if (symmetric_only(k) != 0 || new_obj(k, &o) != 0)
		return;
	if ((mat = key_block(k, &o)) != NULL && new_attrs(k, &o) == 0)
		store_new(c, &o, mat);
	else if (mat == NULL && !k->answered)
		kc_fail(k, KW_ENOMEM, KMIP_REASON_GENERAL_FAILURE,
		    "out of memory");
	secbuf_free(mat);
	kobj_clear(&o);
}

static int
destroyed(int32_t state)
{
	return state == KMIP_STATE_DESTROYED ||
	    state == KMIP_STATE_DESTROYED_COMPROMISED;
}

void
kop_get(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct kobj *o = &k->obj;
	struct secbuf *mat;
	struct ttlv_buf *b;
	uint32_t fmt = KMIP_KEYFMT_RAW;
	size_t sk, kb, kv, km;

	if (!kc_loaded(k))
		return;
	if (destroyed(o->row.state)) {
		kc_fail(k, KW_ENOTFOUND, kc_v2(k) ?
		    KMIP_REASON_OBJECT_DESTROYED :
		    KMIP_REASON_KEY_VALUE_NOT_PRESENT,
		    "object %s is destroyed", o->row.uid);
		return;
	}
	if (ttlv_find(k->item->payload, KMIP_TAG_KEY_WRAPPING_SPECIFICATION)) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_FEATURE_NOT_SUPPORTED,
		    "key wrapping is not supported");
		return;
	}
	if (ttlv_find(k->item->payload, KMIP_TAG_KEY_FORMAT_TYPE) != NULL &&
	    (ttlv_get_enum(ttlv_find(k->item->payload,
	    KMIP_TAG_KEY_FORMAT_TYPE), &fmt) != 0 || (fmt != KMIP_KEYFMT_RAW &&
	    fmt != KMIP_KEYFMT_TRANSPARENT_SYMMETRIC_KEY))) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_KEY_FORMAT_TYPE_NOT_SUPPORTED,
		    "key format: Raw or Transparent Symmetric Key only");
		return;
	}
	if ((mat = kobj_material(k->ctx, o)) == NULL) {
		kc_fail(k, KW_ECRYPTO, KMIP_REASON_GENERAL_FAILURE,
		    "the key does not unwrap on this node");
		return;
	}
	b = kc_ok(k);
	ttlv_put_enum(b, KMIP_TAG_OBJECT_TYPE, KMIP_OBJ_SYMMETRIC_KEY);
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, o->row.uid,
	    strlen(o->row.uid));
	sk = ttlv_begin(b, KMIP_TAG_SYMMETRIC_KEY);
	kb = ttlv_begin(b, KMIP_TAG_KEY_BLOCK);
	ttlv_put_enum(b, KMIP_TAG_KEY_FORMAT_TYPE, fmt);
	kv = ttlv_begin(b, KMIP_TAG_KEY_VALUE);
	if (fmt == KMIP_KEYFMT_RAW)
		ttlv_put_bytes(b, KMIP_TAG_KEY_MATERIAL, mat->data, mat->len);
	else {
		km = ttlv_begin(b, KMIP_TAG_KEY_MATERIAL);
		ttlv_put_bytes(b, KMIP_TAG_KEY, mat->data, mat->len);
		ttlv_end(b, km);
	}
	ttlv_end(b, kv);
	ttlv_put_enum(b, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM,
	    (uint32_t)o->row.algorithm);
	ttlv_put_int(b, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, o->row.length);
	ttlv_end(b, kb);
	ttlv_end(b, sk);
	secbuf_free(mat);
}

void
kop_activate(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct kobj *o = &k->obj;

	if (!kc_loaded(k))
		return;
	if (o->row.state != KMIP_STATE_PRE_ACTIVE) {
		kc_fail(k, KW_EINVAL, kc_state_reason(k), "object %s is not "
		    "Pre-Active: only a Pre-Active object can be activated",
		    o->row.uid);
		return;
	}
	o->row.state = KMIP_STATE_ACTIVE;
	o->row.activation_ms = now_ms();
	kop_commit(k, o, 0);
}

void
kop_revoke(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct kobj *o = &k->obj;
	const struct ttlv *rr;
	uint32_t code;
	int64_t t;

	if (!kc_loaded(k))
		return;
	rr = ttlv_find(k->item->payload, KMIP_TAG_REVOCATION_REASON);
	if (ttlv_get_enum(ttlv_find(rr, KMIP_TAG_REVOCATION_REASON_CODE),
	    &code) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA,
		    "Revoke needs a Revocation Reason with its code");
		return;
	}
	if (code == KMIP_REVOKE_KEY_COMPROMISE ||
	    code == KMIP_REVOKE_CA_COMPROMISE) {
		if (ttlv_get_datetime(ttlv_find(k->item->payload,
		    KMIP_TAG_COMPROMISE_OCCURRENCE_DATE), &t) != 0)
			t = now_ms() / 1000;
		o->row.compromise_ms = t * 1000;
		o->row.state = destroyed(o->row.state) ?
		    KMIP_STATE_DESTROYED_COMPROMISED : KMIP_STATE_COMPROMISED;
	} else if (o->row.state == KMIP_STATE_ACTIVE) {
		o->row.state = KMIP_STATE_DEACTIVATED;
		o->row.deactivation_ms = now_ms();
	} else {
		kc_fail(k, KW_EINVAL, kc_state_reason(k), "object %s is not "
		    "Active: only an Active object can be revoked for a reason "
		    "other than compromise", o->row.uid);
		return;
	}
	o->row.revocation = (int32_t)code;
	kop_commit(k, o, 0);
}

void
kop_destroy(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct kobj *o = &k->obj;

	if (!kc_loaded(k))
		return;
	if (o->row.state == KMIP_STATE_ACTIVE || destroyed(o->row.state)) {
		kc_fail(k, KW_EINVAL, destroyed(o->row.state) && kc_v2(k) ?
		    KMIP_REASON_OBJECT_DESTROYED : kc_state_reason(k),
		    "object %s is %s: revoke it first", o->row.uid,
		    destroyed(o->row.state) ? "destroyed already" : "Active");
		return;
	}
	o->row.state = o->row.state == KMIP_STATE_COMPROMISED ?
	    KMIP_STATE_DESTROYED_COMPROMISED : KMIP_STATE_DESTROYED;
	o->row.destroy_ms = now_ms();
	kop_commit(k, o, 1);
}

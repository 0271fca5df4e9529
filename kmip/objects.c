/*
 * objects.c: KMIP objects in memory: loading and storing them (through
 * db/kmipdb.h), their material wrapped under the active master key
 * (server/kekring.h, bound to "kmip:<uid>"), and their attributes: the
 * searchable ones (Name, Application Specific Information, Object Group,
 * custom "x-" attributes, kept as JSON for Locate's @>), changing them,
 * and writing them into responses at the request's version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"
#include "../lib/crypto.h"
#include "../lib/log.h"
#include "../server/kekring.h"
#include "../server/keystore.h"

#define WRAP_PREFIX	DB_KMIP_WRAP_PREFIX

static const char *child_text(const struct ttlv *s, uint32_t tag);

static void
wrap_name(const struct kobj *o, char *buf, size_t len)
{
	snprintf(buf, len, WRAP_PREFIX "%s", o->row.uid);
}

void
kobj_clear(struct kobj *o)
{
	db_kmip_obj_clear(&o->row);
	json_decref(o->attrs);
	o->attrs = NULL;
}

int
kobj_init_attrs(struct kobj *o)
{
	json_decref(o->attrs);
	o->attrs = json_pack("{s:[],s:[],s:[],s:{},s:i,s:i}", "name", "asi",
	    "group", "custom", "alg", (json_int_t)o->row.algorithm, "len",
	    (json_int_t)o->row.length);
	return o->attrs != NULL ? 0 : -1;
}

enum kw_err
kobj_load(struct kmip_ctx *x, const char *uid, struct kobj *o)
{
	enum kw_err e;

	memset(o, 0, sizeof(*o));
	if ((e = db_kmip_get(kobj_db(x), uid, &o->row)) != KW_OK)
		return e;
	o->attrs = json_loads(o->row.attrs != NULL ? o->row.attrs : "{}", 0,
	    NULL);
	if (!json_is_object(o->attrs)) {
		log_warnx("kmip object %s: malformed attributes", uid);
		kobj_clear(o);
		return KW_EDB;
	}
	return KW_OK;
}

struct db *
kobj_db(struct kmip_ctx *x)
{
	return ks_db(x->svc->ks);
}

const char *
kobj_acl_name(const struct kobj *o)
{
	return kobj_acl_name_of(json_string_value(json_array_get(
	    json_object_get(o->attrs, "name"), 0)), o->row.uid);
}

const char *
kobj_acl_name_of(const char *first_name, const char *uid)
{
	const char *n = first_name;

	return n != NULL && *n != '\0' && strlen(n) <= DB_KMIP_UID_MAX ? n :
	    uid;
}

int
kobj_requested_name(const struct ttlv *payload, char *buf, size_t len)
{
	struct kmip_attr *attrs = NULL;
	const char *name = NULL;
	char err[256];
	size_t n = 0, i;
	int found = 0;

	if (kmip_attrs_read(kmip_attrs_container(payload), &attrs, &n, err,
	    sizeof(err)) != 0)
		return 0;
	for (i = 0; i < n && name == NULL; i++)
		if (attrs[i].tag == KMIP_TAG_NAME)
			name = child_text(attrs[i].value, KMIP_TAG_NAME_VALUE);
	if (name != NULL && kobj_acl_name_of(name, "") == name &&
	    strlen(name) < len) {
		memcpy(buf, name, strlen(name) + 1);
		found = 1;
	}
	free(attrs);
	return found;
}

int
kobj_wrap(struct kmip_ctx *x, struct kobj *o,
    const struct secbuf *material)
{
	char name[sizeof(WRAP_PREFIX) + DB_KMIP_UID_MAX];

	wrap_name(o, name, sizeof(name));
	free(o->row.wrapped);
	if ((o->row.wrapped = malloc(material->len + KW_WRAP_OVERHEAD)) ==
	    NULL)
		return -1;
	o->row.wrapped_len = material->len + KW_WRAP_OVERHEAD;
	return kekring_wrap(ks_keks(x->svc->ks), name, 0, material,
	    o->row.wrapped, o->row.kek_id);
}

struct secbuf *
kobj_material(struct kmip_ctx *x, const struct kobj *o)
{
	char name[sizeof(WRAP_PREFIX) + DB_KMIP_UID_MAX];
	struct db_key_version dv;

	if (o->row.wrapped == NULL)
		return NULL;
	wrap_name(o, name, sizeof(name));
	memset(&dv, 0, sizeof(dv));
	snprintf(dv.kek_id, sizeof(dv.kek_id), "%s", o->row.kek_id);
	dv.wrapped = o->row.wrapped;
	dv.wrapped_len = o->row.wrapped_len;
	return kekring_unwrap(ks_keks(x->svc->ks), name, &dv);
}

/* o->attrs into o->row.attrs: 0 or -1. */
static int
attrs_text(struct kobj *o)
{
	free(o->row.attrs);
	o->row.attrs = json_dumps(o->attrs, JSON_COMPACT | JSON_SORT_KEYS);
	return o->row.attrs != NULL ? 0 : -1;
}

enum kw_err
kobj_insert(struct kmip_ctx *x, struct kobj *o)
{
	if (attrs_text(o) != 0)
		return KW_ENOMEM;
	return db_kmip_insert(kobj_db(x), &o->row);
}

enum kw_err
kobj_update(struct kmip_ctx *x, struct kobj *o, int drop)
{
	if (attrs_text(o) != 0)
		return KW_ENOMEM;
	return db_kmip_update(kobj_db(x), &o->row, drop);
}

/* ------------------------------------------------- attribute values */

/* A text child of s, or NULL. */
static const char *
child_text(const struct ttlv *s, uint32_t tag)
{
	const char *p;
	size_t n;

	return ttlv_get_text(ttlv_find(s, tag), &p, &n) == 0 ? p : NULL;
}

/* The JSON form of a's value, for the "name", "asi", "group" and
 * "custom" arrays; NULL when it has no such form (msg says why). */
static json_t *
attr_json(const struct kmip_attr *a, char *msg, size_t msglen)
{
	const char *s, *d;
	size_t n;
	int32_t i;

	switch (a->tag) {
	case KMIP_TAG_NAME:
		if ((s = child_text(a->value, KMIP_TAG_NAME_VALUE)) == NULL)
			break;
		return json_string(s);
	case KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION:
		s = child_text(a->value, KMIP_TAG_APPLICATION_NAMESPACE);
		d = child_text(a->value, KMIP_TAG_APPLICATION_DATA);
		if (s == NULL)
			break;
		return d != NULL ? json_pack("{s:s,s:s}", "ns", s, "data", d) :
		    json_pack("{s:s}", "ns", s);
	case KMIP_TAG_OBJECT_GROUP:
		if (ttlv_get_text(a->value, &s, &n) != 0)
			break;
		return json_string(s);
	case 0:
		if (ttlv_get_text(a->value, &s, &n) == 0)
			return json_string(s);
		if (ttlv_get_int(a->value, &i) == 0)
			return json_integer(i);
		snprintf(msg, msglen, "custom attribute %s: only Text String "
		    "and Integer values are supported", a->name);
		return NULL;
	default:
		break;
	}
	snprintf(msg, msglen, "attribute %s: malformed value", a->name != NULL ?
	    a->name : "?");
	return NULL;
}

/* The array a's values live in (created for a custom one when create). */
static json_t *
attr_array(json_t *attrs, const struct kmip_attr *a, int create)
{
	json_t *custom, *arr;

	switch (a->tag) {
	case KMIP_TAG_NAME:
		return json_object_get(attrs, "name");
	case KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION:
		return json_object_get(attrs, "asi");
	case KMIP_TAG_OBJECT_GROUP:
		return json_object_get(attrs, "group");
	case 0:
		if ((custom = json_object_get(attrs, "custom")) == NULL)
			return NULL;
		if ((arr = json_object_get(custom, a->name)) == NULL && create &&
		    json_object_set_new(custom, a->name, json_array()) == 0)
			arr = json_object_get(custom, a->name);
		return arr;
	default:
		return NULL;
	}
}

/* The attributes with a fixed value: their changes. */
static uint32_t
apply_fixed(struct kmip_call *k, struct kobj *o,
    const struct kmip_attr *a, int how, char *msg, size_t msglen)
{
	int32_t mask;
	int64_t t;

	if (a->tag == KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK) {
		if (how == 2)
			o->row.usage_mask = 0;
		else if (ttlv_get_int(a->value, &mask) != 0)
			goto bad;
		else
			o->row.usage_mask = mask;
		return 0;
	}
	if (a->tag == KMIP_TAG_ACTIVATION_DATE &&
	    o->row.state == KMIP_STATE_PRE_ACTIVE) {
		if (how == 2)
			o->row.activation_ms = 0;
		else if (ttlv_get_datetime(a->value, &t) != 0)
			goto bad;
		else
			o->row.activation_ms = t * 1000;
		return 0;
	}
	snprintf(msg, msglen, "attribute %s is set by the server",
	    a->name != NULL ? a->name : "?");
	return kc_v2(k) ? KMIP_REASON_ATTRIBUTE_READ_ONLY :
	    KMIP_REASON_PERMISSION_DENIED;
bad:
	snprintf(msg, msglen, "attribute %s: malformed value", a->name);
	return KMIP_REASON_INVALID_FIELD;
}

uint32_t
kobj_apply(struct kmip_call *k, struct kobj *o, const struct kmip_attr *a,
    int how, char *msg, size_t msglen)
{
	json_t *arr, *v = NULL;
	size_t idx = a->index > 0 ? (size_t)a->index : 0;

	if ((arr = attr_array(o->attrs, a, how != 2)) == NULL)
		return apply_fixed(k, o, a, how, msg, msglen);
	if (how != 2 && (v = attr_json(a, msg, msglen)) == NULL)
		return KMIP_REASON_INVALID_FIELD;
	if (how == 0)
		return json_array_append_new(arr, v) == 0 ? 0 :
		    KMIP_REASON_GENERAL_FAILURE;
	if (how == 2 && a->index < 0) {
		json_array_clear(arr);
		return 0;
	}
	if (idx >= json_array_size(arr) && !(how == 1 && idx == 0)) {
		json_decref(v);
		snprintf(msg, msglen, "attribute %s has no value at index %zu",
		    a->name != NULL ? a->name : "?", idx);
		return kc_v2(k) ? KMIP_REASON_ATTRIBUTE_INSTANCE_NOT_FOUND :
		    KMIP_REASON_INDEX_OUT_OF_BOUNDS;
	}
	if (how == 2)
		return json_array_remove(arr, idx) == 0 ? 0 :
		    KMIP_REASON_GENERAL_FAILURE;
	if (idx >= json_array_size(arr))
		return json_array_append_new(arr, v) == 0 ? 0 :
		    KMIP_REASON_GENERAL_FAILURE;
	return json_array_set_new(arr, idx, v) == 0 ? 0 :
	    KMIP_REASON_GENERAL_FAILURE;
}

/* ----------------------------------------------- writing attributes */

struct put {
	struct kmip_call	*k;
	struct ttlv_buf		*b;
	const uint32_t		*tags;
	const char *const	*names;
	size_t			 ntags;
	int32_t			 only;	/* the value of this index, or -1 */
};

static int
wanted(const struct put *p, uint32_t tag, const char *name)
{
	size_t i;

	if (p->ntags == 0)
		return 1;
	for (i = 0; i < p->ntags; i++)
		if (p->tags[i] == tag && (tag != 0 ||
		    (name != NULL && p->names[i] != NULL &&
		    strcmp(name, p->names[i]) == 0)))
			return 1;
	return 0;
}

enum vkind { V_INT, V_ENUM, V_DATE, V_TEXT };

/* One attribute of a single value. */
static void
put_scalar(const struct put *p, uint32_t tag, enum vkind kind, int64_t v,
    const char *s)
{
	size_t mark;
	uint32_t vt;

	if (!wanted(p, tag, NULL))
		return;
	if ((vt = kmip_attr_begin(p->b, &p->k->ver, tag, NULL, -1, &mark)) ==
	    0)
		return;
	if (kind == V_INT)
		ttlv_put_int(p->b, vt, (int32_t)v);
	else if (kind == V_ENUM)
		ttlv_put_enum(p->b, vt, (uint32_t)v);
	else if (kind == V_DATE)
		ttlv_put_datetime(p->b, vt, v / 1000);
	else
		ttlv_put_text(p->b, vt, s, strlen(s));
	kmip_attr_end(p->b, &p->k->ver, mark);
}

/* Each value of the array key of o's attrs as attribute tag. */
static void
put_multi(const struct put *p, const struct kobj *o, const char *key,
    uint32_t tag)
{
	json_t *arr = json_object_get(o->attrs, key), *v;
	const char *s, *d;
	size_t i, mark, sm;
	uint32_t vt;

	if (!wanted(p, tag, NULL))
		return;
	json_array_foreach(arr, i, v) {
		if (p->only >= 0 && (size_t)p->only != i)
			continue;
		if ((vt = kmip_attr_begin(p->b, &p->k->ver, tag, NULL,
		    (int32_t)i, &mark)) == 0)
			return;
		if (tag == KMIP_TAG_OBJECT_GROUP) {
			s = json_string_value(v);
			ttlv_put_text(p->b, vt, s ? s : "", s ? strlen(s) : 0);
		} else if (tag == KMIP_TAG_NAME) {
			s = json_string_value(v);
			sm = ttlv_begin(p->b, vt);
			ttlv_put_text(p->b, KMIP_TAG_NAME_VALUE, s ? s : "",
			    s ? strlen(s) : 0);
			ttlv_put_enum(p->b, KMIP_TAG_NAME_TYPE,
			    KMIP_NAME_UNINTERPRETED_TEXT_STRING);
			ttlv_end(p->b, sm);
		} else {
			s = json_string_value(json_object_get(v, "ns"));
			d = json_string_value(json_object_get(v, "data"));
			sm = ttlv_begin(p->b, vt);
			ttlv_put_text(p->b, KMIP_TAG_APPLICATION_NAMESPACE,
			    s ? s : "", s ? strlen(s) : 0);
			ttlv_put_text(p->b, KMIP_TAG_APPLICATION_DATA,
			    d ? d : "", d ? strlen(d) : 0);
			ttlv_end(p->b, sm);
		}
		kmip_attr_end(p->b, &p->k->ver, mark);
	}
}

/* Custom attributes: 1.x only (2.0's Vendor Attribute is not spoken). */
static void
put_custom(const struct put *p, const struct kobj *o)
{
	json_t *custom = json_object_get(o->attrs, "custom"), *arr, *v;
	const char *name, *s;
	size_t i, mark;
	uint32_t vt;

	if (kc_v2(p->k))
		return;
	json_object_foreach(custom, name, arr) {
		if (!wanted(p, 0, name))
			continue;
		json_array_foreach(arr, i, v) {
			if (p->only >= 0 && (size_t)p->only != i)
				continue;
			vt = kmip_attr_begin(p->b, &p->k->ver, 0, name,
			    (int32_t)i, &mark);
			if ((s = json_string_value(v)) != NULL)
				ttlv_put_text(p->b, vt, s, strlen(s));
			else
				ttlv_put_int(p->b, vt,
				    (int32_t)json_integer_value(v));
			kmip_attr_end(p->b, &p->k->ver, mark);
		}
	}
}

void
kobj_put_attrs(struct kmip_call *k, struct ttlv_buf *b,
    const struct kobj *o, const uint32_t *tags, const char *const *names,
    size_t ntags, int32_t index)
{
	const struct db_kmip_obj *r = &o->row;
	struct put p = { k, b, tags, names, ntags, -1 };

	if (ntags == 1 && index >= 0) {		/* one value of one */
		p.only = index;
		put_multi(&p, o, "name", KMIP_TAG_NAME);
		put_multi(&p, o, "asi",
		    KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION);
		put_multi(&p, o, "group", KMIP_TAG_OBJECT_GROUP);
		put_custom(&p, o);
		if (tags[0] != KMIP_TAG_NAME && tags[0] != KMIP_TAG_OBJECT_GROUP &&
		    tags[0] !=  KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION &&
		    tags[0] != 0)
			p.only = -1;
		else
			return;
	}

	put_scalar(&p, KMIP_TAG_UNIQUE_IDENTIFIER, V_TEXT, 0, r->uid);
	put_scalar(&p, KMIP_TAG_OBJECT_TYPE, V_ENUM, r->object_type, NULL);
	put_scalar(&p, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM, V_ENUM, r->algorithm,
	    NULL);
	put_scalar(&p, KMIP_TAG_CRYPTOGRAPHIC_LENGTH, V_INT, r->length, NULL);
	put_scalar(&p, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK, V_INT, r->usage_mask,
	    NULL);
	put_scalar(&p, KMIP_TAG_STATE, V_ENUM, r->state, NULL);
	put_scalar(&p, KMIP_TAG_INITIAL_DATE, V_DATE, r->initial_ms, NULL);
	if (r->activation_ms != 0)
		put_scalar(&p, KMIP_TAG_ACTIVATION_DATE, V_DATE,
		    r->activation_ms, NULL);
	if (r->deactivation_ms != 0)
		put_scalar(&p, KMIP_TAG_DEACTIVATION_DATE, V_DATE,
		    r->deactivation_ms, NULL);
	if (r->compromise_ms != 0)
		put_scalar(&p, KMIP_TAG_COMPROMISE_DATE, V_DATE,
		    r->compromise_ms, NULL);
	if (r->destroy_ms != 0)
		put_scalar(&p, KMIP_TAG_DESTROY_DATE, V_DATE, r->destroy_ms,
		    NULL);
	put_scalar(&p, KMIP_TAG_LAST_CHANGE_DATE, V_DATE, r->last_change_ms,
	    NULL);
	put_multi(&p, o, "name", KMIP_TAG_NAME);
	put_multi(&p, o, "asi", KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION);
	put_multi(&p, o, "group", KMIP_TAG_OBJECT_GROUP);
	put_custom(&p, o);
}

/* One entry of an attribute list. */
static void
put_ref(struct kmip_call *k, struct ttlv_buf *b, uint32_t tag,
    const char *name)
{
	if (kc_v2(k)) {
		if (tag != 0)
			ttlv_put_enum(b, KMIP_TAG_ATTRIBUTE_REFERENCE, tag);
		return;
	}
	if (name == NULL && (name = kmip_attr_tag_name(tag)) == NULL)
		return;
	ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_NAME, name, strlen(name));
}

void
kobj_put_attr_list(struct kmip_call *k, struct ttlv_buf *b,
    const struct kobj *o)
{
	static const uint32_t always[] = { KMIP_TAG_UNIQUE_IDENTIFIER,
	    KMIP_TAG_OBJECT_TYPE, KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM,
	    KMIP_TAG_CRYPTOGRAPHIC_LENGTH, KMIP_TAG_CRYPTOGRAPHIC_USAGE_MASK,
	    KMIP_TAG_STATE, KMIP_TAG_INITIAL_DATE, KMIP_TAG_LAST_CHANGE_DATE };
	const struct db_kmip_obj *r = &o->row;
	json_t *arr;
	const char *name;
	size_t i;

	for (i = 0; i < sizeof(always) / sizeof(always[0]); i++)
		put_ref(k, b, always[i], NULL);
	if (r->activation_ms != 0)
		put_ref(k, b, KMIP_TAG_ACTIVATION_DATE, NULL);
	if (r->deactivation_ms != 0)
		put_ref(k, b, KMIP_TAG_DEACTIVATION_DATE, NULL);
	if (r->compromise_ms != 0)
		put_ref(k, b, KMIP_TAG_COMPROMISE_DATE, NULL);
	if (r->destroy_ms != 0)
		put_ref(k, b, KMIP_TAG_DESTROY_DATE, NULL);
	if (json_array_size(json_object_get(o->attrs, "name")) > 0)
		put_ref(k, b, KMIP_TAG_NAME, NULL);
	if (json_array_size(json_object_get(o->attrs, "asi")) > 0)
		put_ref(k, b, KMIP_TAG_APPLICATION_SPECIFIC_INFORMATION, NULL);
	if (json_array_size(json_object_get(o->attrs, "group")) > 0)
		put_ref(k, b, KMIP_TAG_OBJECT_GROUP, NULL);
	json_object_foreach(json_object_get(o->attrs, "custom"), name, arr)
		if (json_array_size(arr) > 0)
			put_ref(k, b, 0, name);
}

/* ---------------------------------------------------------- Locate */

char *
kobj_match(const struct kmip_attr *attrs, size_t n, int32_t *type,
    int32_t *state, uint32_t *reason, char *msg, size_t msglen)
{
	struct kobj m;
	const struct kmip_attr *a;
	uint32_t e;
	int32_t i;
	char *out = NULL;
	size_t j;

	memset(&m, 0, sizeof(m));
	if ((m.attrs = json_pack("{s:[],s:[],s:[],s:{}}", "name", "asi",
	    "group", "custom")) == NULL)
		goto nomem;
	*type = *state = 0;
	*reason = 0;
	for (j = 0; j < n; j++) {
		a = &attrs[j];
		if (a->tag == KMIP_TAG_OBJECT_TYPE &&
		    ttlv_get_enum(a->value, &e) == 0)
			*type = (int32_t)e;
		else if (a->tag == KMIP_TAG_STATE &&
		    ttlv_get_enum(a->value, &e) == 0)
			*state = (int32_t)e;
		else if (a->tag == KMIP_TAG_CRYPTOGRAPHIC_ALGORITHM &&
		    ttlv_get_enum(a->value, &e) == 0)
			json_object_set_new(m.attrs, "alg", json_integer(e));
		else if (a->tag == KMIP_TAG_CRYPTOGRAPHIC_LENGTH &&
		    ttlv_get_int(a->value, &i) == 0)
			json_object_set_new(m.attrs, "len", json_integer(i));
		else if (attr_array(m.attrs, a, 1) != NULL) {
			json_t *v = attr_json(a, msg, msglen);

			/* an empty Application Data matches any: a library
			 * locates every key of its namespace */
			if (json_is_object(v) && json_string_length(
			    json_object_get(v, "data")) == 0)
				json_object_del(v, "data");
			if (v == NULL ||
			    json_array_append_new(attr_array(m.attrs, a, 1),
			    v) != 0) {
				*reason = KMIP_REASON_INVALID_FIELD;
				goto out;
			}
		} else {
			snprintf(msg, msglen, "Locate by %s is not supported",
			    a->name != NULL ? a->name : "this attribute");
			*reason = KMIP_REASON_FEATURE_NOT_SUPPORTED;
			goto out;
		}
	}
	if ((out = json_dumps(m.attrs, JSON_COMPACT)) != NULL)
		goto out;
nomem:
	snprintf(msg, msglen, "out of memory");
	*reason = KMIP_REASON_GENERAL_FAILURE;
out:
	json_decref(m.attrs);
	return out;
}

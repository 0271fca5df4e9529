/*
 * ops_attr.c: the KMIP operations on attributes: GetAttributes,
 * GetAttributeList, AddAttribute, ModifyAttribute, DeleteAttribute
 * (1.x forms; ModifyAttribute's 2.0 form too), SetAttribute (2.0) and
 * Locate.  What an attribute holds and how it changes is objects.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

#define LOCATE_MAX	1000	/* uids one Locate answers at most */
#define LOCATE_SCAN_MAX	10000	/* matches one Locate looks through */

void
kop_get_attributes(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	const struct ttlv *p = k->item->payload, *n;
	uint32_t tags[64];
	const char *names[64];
	size_t nt = 0, mark = 0;
	struct ttlv_buf *b;
	char msg[256];

	if (!kc_loaded(k))
		return;
	for (n = ttlv_first(p); n != NULL; n = ttlv_next(n)) {
		if (ttlv_tag(n) != KMIP_TAG_ATTRIBUTE_NAME &&
		    ttlv_tag(n) != KMIP_TAG_ATTRIBUTE_REFERENCE)
			continue;
		if (nt == sizeof(tags) / sizeof(tags[0])) {
			kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD,
			    "at most 64 attributes at once");
			return;
		}
		if (kmip_attr_ref_read(n, &tags[nt], &names[nt], msg,
		    sizeof(msg)) != 0) {
			kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD, "%s",
			    msg);
			return;
		}
		nt++;
	}
	b = kc_ok(k);
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, k->obj.row.uid,
	    strlen(k->obj.row.uid));
	if (kc_v2(k))
		mark = ttlv_begin(b, KMIP_TAG_ATTRIBUTES);
	kobj_put_attrs(k, b, &k->obj, tags, names, nt, -1);
	if (kc_v2(k))
		ttlv_end(b, mark);
}

void
kop_get_attribute_list(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct ttlv_buf *b;

	if (!kc_loaded(k))
		return;
	b = kc_ok(k);
	ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, k->obj.row.uid,
	    strlen(k->obj.row.uid));
	kobj_put_attr_list(k, b, &k->obj);
}

/*
 * Whether a change that gives the object another first Name (and so
 * other key ACLs) may stand: the caller needs MANAGEMENT on the new name
 * as well, or renaming would carry an object out of the ACLs that bind
 * it, or into another's.  1, or 0 answered.
 */
static int
may_rename(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	const char *now = kobj_acl_name(&k->obj);

	if (strcmp(now, k->acl_name) == 0 ||
	    svc_holds_key(c, now, KEYOP_MANAGEMENT))
		return 1;
	kc_fail(k, KW_EDENIED, KMIP_REASON_PERMISSION_DENIED, "user '%s' is "
	    "not allowed MANAGEMENT on key '%s', the name the change gives "
	    "object %s", c->identity, now, k->obj.row.uid);
	return 0;
}

/*
 * Apply the attribute node n (how: 0 add, 1 set, 2 delete) and write;
 * answer with the uid and, when echo, the attribute as given.
 */
static void
change(struct svc_call *c, const struct ttlv *n, int how, int echo)
{
	struct kmip_call *k = c->args;
	struct kobj *o = &k->obj;
	struct kmip_attr a;
	uint32_t reason;
	char msg[256];

	if (!kc_loaded(k))
		return;
	if (n == NULL) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA,
		    "the request names no attribute");
		return;
	}
	if (kmip_attr_read(n, &a, msg, sizeof(msg)) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD, "%s", msg);
		return;
	}
	if (how == 1 && a.index < 0 && !kc_v2(k))
		a.index = 0;
	if ((reason = kobj_apply(k, o, &a, how, msg, sizeof(msg))) != 0) {
		kc_fail(k, KW_EINVAL, reason, "%s", msg);
		return;
	}
	if (!may_rename(c))
		return;
	kop_commit(k, o, 0);
	/* 1.x echoes the attribute after the uid */
	if (echo && k->status == KMIP_STATUS_SUCCESS &&
	    kmip_attr_put(kmip_resp_payload(k->resp), &k->ver, &a) != 0)
		return;
}

void
kop_add_attribute(struct svc_call *c)
{
	struct kmip_call *k = c->args;

	change(c, ttlv_find(k->item->payload, kc_v2(k) ?
	    KMIP_TAG_NEW_ATTRIBUTE : KMIP_TAG_ATTRIBUTE), 0, !kc_v2(k));
}

/* The one attribute inside a 2.0 New Attribute / Current Attribute. */
static const struct ttlv *
inner(const struct ttlv *wrapper)
{
	return ttlv_first(wrapper);
}

void
kop_modify_attribute(struct svc_call *c)
{
	struct kmip_call *k = c->args;

	if (kc_v2(k))
		change(c, inner(ttlv_find(k->item->payload,
		    KMIP_TAG_NEW_ATTRIBUTE)), 1, 0);
	else
		change(c, ttlv_find(k->item->payload, KMIP_TAG_ATTRIBUTE), 1,
		    1);
}

void
kop_set_attribute(struct svc_call *c)
{
	struct kmip_call *k = c->args;

	change(c, inner(ttlv_find(k->item->payload, KMIP_TAG_NEW_ATTRIBUTE)),
	    1, 0);
}

void
kop_delete_attribute(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	const struct ttlv *p = k->item->payload, *n;
	struct kobj *o = &k->obj;
	struct kmip_attr a;
	json_t *before;
	uint32_t reason;
	int32_t idx = -1;
	char msg[256];

	if (!kc_loaded(k))
		return;
	memset(&a, 0, sizeof(a));
	n = ttlv_find(p, kc_v2(k) ? KMIP_TAG_ATTRIBUTE_REFERENCE :
	    KMIP_TAG_ATTRIBUTE_NAME);
	if (n == NULL || kmip_attr_ref_read(n, &a.tag, &a.name, msg,
	    sizeof(msg)) != 0) {
		kc_fail(k, KW_EINVAL, KMIP_REASON_MISSING_DATA, "Delete "
		    "Attribute needs the attribute's name or reference");
		return;
	}
	if (ttlv_get_int(ttlv_find(p, KMIP_TAG_ATTRIBUTE_INDEX), &idx) != 0)
		idx = kc_v2(k) ? -1 : 0;
	a.index = idx;
	/* 1.x answers with the attribute deleted: keep it */
	if ((before = json_deep_copy(o->attrs)) == NULL) {
		kc_fail(k, KW_ENOMEM, KMIP_REASON_GENERAL_FAILURE,
		    "out of memory");
		return;
	}
	if ((reason = kobj_apply(k, o, &a, 2, msg, sizeof(msg))) != 0)
		kc_fail(k, KW_EINVAL, reason, "%s", msg);
	else if (may_rename(c))
		kop_commit(k, o, 0);
	if (k->status == KMIP_STATUS_SUCCESS && !kc_v2(k)) {
		json_t *after = o->attrs;

		o->attrs = before;
		kobj_put_attrs(k, kmip_resp_payload(k->resp), o, &a.tag,
		    &a.name, 1, idx);
		o->attrs = after;
	}
	json_decref(before);
}

/* The attributes a Locate names: 2.0's Attributes, 1.x's Attribute
 * children of the payload.  0, or -1 answered. */
static int
locate_attrs(struct kmip_call *k, struct kmip_attr **out, size_t *n)
{
	const struct ttlv *p = k->item->payload, *c;
	char msg[256];
	size_t cap;

	*out = NULL;
	*n = 0;
	if ((c = kmip_attrs_container(p)) != NULL) {
		if (kmip_attrs_read(c, out, n, msg, sizeof(msg)) == 0)
			return 0;
		kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD, "%s", msg);
		return -1;
	}
	if ((cap = ttlv_count(p, KMIP_TAG_ATTRIBUTE)) == 0)
		return 0;
	if ((*out = calloc(cap, sizeof(**out))) == NULL) {
		kc_fail(k, KW_ENOMEM, KMIP_REASON_GENERAL_FAILURE,
		    "out of memory");
		return -1;
	}
	for (c = ttlv_find(p, KMIP_TAG_ATTRIBUTE); c != NULL;
	    c = ttlv_find_next(c))
		if (kmip_attr_read(c, &(*out)[(*n)++], msg, sizeof(msg)) != 0) {
			kc_fail(k, KW_EINVAL, KMIP_REASON_INVALID_FIELD, "%s",
			    msg);
			free(*out);
			*out = NULL;
			return -1;
		}
	return 0;
}

/*
 * Whether Locate shows the caller an object its key ACLs know as
 * acl_name: when the caller holds any key ACL on it, so that the uid
 * is of use to it (a client that may only Encrypt and Decrypt finds its
 * key by Name too); an object it may do nothing with stays unseen, as
 * svc_run keeps every operation on it from telling it exists.
 */
static int
visible(const struct svc_call *c, const char *acl_name)
{
	int kop;

	for (kop = 0; kop < KEYOP_NKEYOPS; kop++)
		if (svc_holds_key(c, acl_name, (enum acl_keyop)kop))
			return 1;
	return 0;
}

/*
 * The matching objects the caller may see, oldest first, at most want
 * (into *uids, *n; db_names_free them): those of the first want
 * matches, or when some of those are hidden, of the first
 * LOCATE_SCAN_MAX.
 */
static enum kw_err
locate_visible(struct svc_call *c, int32_t type, int32_t state,
    const char *match, size_t want, char ***uids, size_t *n)
{
	struct kmip_call *k = c->args;
	char **names = NULL;
	size_t got, i;
	int limit = (int)want;
	enum kw_err e;

	for (;;) {
		if ((e = db_kmip_locate(kobj_db(k->ctx), type, state, match,
		    limit, uids, &names, &got)) != KW_OK)
			return e;
		for (*n = i = 0; i < got; i++)
			if (*n < want && visible(c,
			    kobj_acl_name_of(names[i], (*uids)[i])))
				(*uids)[(*n)++] = (*uids)[i];
			else
				free((*uids)[i]);
		db_names_free(names, got);
		if (*n >= want || got < (size_t)limit ||
		    limit >= LOCATE_SCAN_MAX)
			return KW_OK;
		db_names_free(*uids, *n);	/* some hidden: look further */
		*uids = NULL;
		limit = LOCATE_SCAN_MAX;
	}
}

void
kop_locate(struct svc_call *c)
{
	struct kmip_call *k = c->args;
	struct kmip_attr *attrs;
	struct ttlv_buf *b;
	char **uids = NULL, *match, msg[256];
	size_t nattrs, n = 0, i;
	int32_t type, state, max = LOCATE_MAX, off = 0;
	uint32_t reason;
	enum kw_err e;

	if (locate_attrs(k, &attrs, &nattrs) != 0)
		return;
	match = kobj_match(attrs, nattrs, &type, &state, &reason, msg,
	    sizeof(msg));
	free(attrs);
	if (match == NULL) {
		kc_fail(k, KW_EINVAL, reason, "%s", msg);
		return;
	}
	if (ttlv_get_int(ttlv_find(k->item->payload, KMIP_TAG_MAXIMUM_ITEMS),
	    &max) == 0 && (max < 1 || max > LOCATE_MAX))
		max = LOCATE_MAX;
	if (ttlv_get_int(ttlv_find(k->item->payload, KMIP_TAG_OFFSET_ITEMS),
	    &off) != 0 || off < 0 || off > LOCATE_MAX)
		off = 0;
	e = locate_visible(c, type, state, match, (size_t)max + (size_t)off,
	    &uids, &n);
	free(match);
	if (e != KW_OK) {
		kc_fail_err(k, e, "locate");
		return;
	}
	b = kc_ok(k);
	if (k->ver.major > 1 || k->ver.minor >= 3)
		ttlv_put_int(b, KMIP_TAG_LOCATED_ITEMS, (int32_t)n);
	for (i = (size_t)off; i < n; i++)
		ttlv_put_text(b, KMIP_TAG_UNIQUE_IDENTIFIER, uids[i],
		    strlen(uids[i]));
	db_names_free(uids, n);
}

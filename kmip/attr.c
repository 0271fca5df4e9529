/*
 * attr.c: KMIP 1.x and 2.0 attributes read into and written from one
 * neutral form (see attr.h).  Which attributes exist, and their 1.x
 * names, is kmip/tags.c's table.
 */
#include <stdlib.h>
#include <string.h>

#include "kmip/attr.h"
#include "kmip/tags.h"
#include "lib/errbuf.h"

/* Whether name is a 1.x custom attribute's: "x-..." (client) or "y-..."
 * (server), with something after the dash. */
static int
custom_name(const char *name)
{
	return (name[0] == 'x' || name[0] == 'y') && name[1] == '-' &&
	    name[2] != '\0';
}

/* A 1.x Attribute structure. */
static int
read_v1(const struct ttlv *n, struct kmip_attr *a, char *err, size_t errlen)
{
	const struct ttlv *c;
	const char *name;
	size_t len;

	for (c = ttlv_first(n); c != NULL; c = ttlv_next(c)) {
		uint32_t t = ttlv_tag(c);

		if ((t != KMIP_TAG_ATTRIBUTE_NAME && t != KMIP_TAG_ATTRIBUTE_INDEX &&
		    t != KMIP_TAG_ATTRIBUTE_VALUE) || ttlv_find_next(c) != NULL) {
			kw_seterr(err, errlen, "unexpected or repeated field with "
			    "tag 0x%06x in an Attribute", (unsigned int)t);
			return -1;
		}
	}
	if (ttlv_get_text(ttlv_find(n, KMIP_TAG_ATTRIBUTE_NAME), &name,
	    &len) != 0) {
		kw_seterr(err, errlen, "an Attribute has no Attribute Name");
		return -1;
	}
	a->tag = kmip_attr_name_tag(name);
	if (a->tag == 0 && !custom_name(name)) {
		kw_seterr(err, errlen, "unknown attribute name");
		return -1;
	}
	a->name = name;
	a->index = -1;
	if ((c = ttlv_find(n, KMIP_TAG_ATTRIBUTE_INDEX)) != NULL &&
	    (ttlv_get_int(c, &a->index) != 0 || a->index < 0)) {
		kw_seterr(err, errlen, "the Attribute Index of attribute %s is "
		    "not a non-negative Integer", a->tag != 0 ? name : "(custom)");
		return -1;
	}
	if ((a->value = ttlv_find(n, KMIP_TAG_ATTRIBUTE_VALUE)) == NULL) {
		kw_seterr(err, errlen, "attribute %s has no Attribute Value",
		    a->tag != 0 ? name : "(custom)");
		return -1;
	}
	return 0;
}

int
kmip_attr_read(const struct ttlv *n, struct kmip_attr *a, char *err,
    size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (n == NULL) {
		kw_seterr(err, errlen, "no attribute");
		return -1;
	}
	if (ttlv_tag(n) == KMIP_TAG_ATTRIBUTE) {
		if (ttlv_type(n) != TTLV_STRUCTURE) {
			kw_seterr(err, errlen, "an Attribute is not a Structure");
			return -1;
		}
		return read_v1(n, a, err, errlen);
	}
	/* 2.0: the attribute under its own tag */
	if ((a->name = kmip_attr_tag_name(ttlv_tag(n))) == NULL) {
		kw_seterr(err, errlen, "tag 0x%06x is not an attribute's "
		    "(vendor attributes are not supported)",
		    (unsigned int)ttlv_tag(n));
		return -1;
	}
	a->tag = ttlv_tag(n);
	a->index = -1;
	a->value = n;
	return 0;
}

const struct ttlv *
kmip_attrs_container(const struct ttlv *payload)
{
	const struct ttlv *c = ttlv_find(payload, KMIP_TAG_TEMPLATE_ATTRIBUTE);

	return c != NULL ? c : ttlv_find(payload, KMIP_TAG_ATTRIBUTES);
}

int
kmip_attrs_read(const struct ttlv *c, struct kmip_attr **out, size_t *n,
    char *err, size_t errlen)
{
	const struct ttlv *k;
	struct kmip_attr *a;
	size_t i = 0, count;

	*out = NULL;
	*n = 0;
	if (c == NULL || ttlv_type(c) != TTLV_STRUCTURE ||
	    (ttlv_tag(c) != KMIP_TAG_TEMPLATE_ATTRIBUTE &&
	    ttlv_tag(c) != KMIP_TAG_ATTRIBUTES)) {
		kw_seterr(err, errlen, "not a Template-Attribute or Attributes "
		    "structure");
		return -1;
	}
	if (ttlv_tag(c) == KMIP_TAG_TEMPLATE_ATTRIBUTE &&
	    ttlv_find(c, KMIP_TAG_NAME) != NULL) {
		kw_seterr(err, errlen, "templates are not supported (the "
		    "Template-Attribute names one)");
		return -1;
	}
	if ((count = ttlv_count(c, 0)) == 0)
		return 0;
	if ((a = calloc(count, sizeof(*a))) == NULL) {
		kw_seterr(err, errlen, "out of memory");
		return -1;
	}
	for (k = ttlv_first(c); k != NULL; k = ttlv_next(k), i++) {
		if (ttlv_tag(c) == KMIP_TAG_TEMPLATE_ATTRIBUTE &&
		    ttlv_tag(k) != KMIP_TAG_ATTRIBUTE) {
			kw_seterr(err, errlen, "a Template-Attribute holds a field "
			    "with tag 0x%06x", (unsigned int)ttlv_tag(k));
			free(a);
			return -1;
		}
		if (ttlv_tag(c) == KMIP_TAG_ATTRIBUTES &&
		    ttlv_tag(k) == KMIP_TAG_ATTRIBUTE) {
			kw_seterr(err, errlen, "a 1.x Attribute inside a 2.0 "
			    "Attributes structure");
			free(a);
			return -1;
		}
		if (kmip_attr_read(k, &a[i], err, errlen) != 0) {
			free(a);
			return -1;
		}
	}
	*out = a;
	*n = count;
	return 0;
}

int
kmip_attr_ref_read(const struct ttlv *n, uint32_t *tag, const char **name,
    char *err, size_t errlen)
{
	uint32_t t;
	size_t len;

	*tag = 0;
	*name = NULL;
	if (n != NULL && ttlv_tag(n) == KMIP_TAG_ATTRIBUTE_NAME) {
		if (ttlv_get_text(n, name, &len) != 0) {
			kw_seterr(err, errlen, "an Attribute Name is not a Text "
			    "String");
			return -1;
		}
		*tag = kmip_attr_name_tag(*name);
		if (*tag == 0 && !custom_name(*name)) {
			kw_seterr(err, errlen, "unknown attribute name");
			*name = NULL;
			return -1;
		}
		return 0;
	}
	if (n != NULL && ttlv_tag(n) == KMIP_TAG_ATTRIBUTE_REFERENCE) {
		if (ttlv_get_enum(n, &t) != 0) {
			kw_seterr(err, errlen, "an Attribute Reference is not an "
			    "Enumeration (vendor attributes are not supported)");
			return -1;
		}
		if ((*name = kmip_attr_tag_name(t)) == NULL) {
			kw_seterr(err, errlen, "Attribute Reference 0x%06x is not "
			    "an attribute", (unsigned int)t);
			return -1;
		}
		*tag = t;
		return 0;
	}
	kw_seterr(err, errlen, "not an Attribute Name or Attribute Reference");
	return -1;
}

static int
is_v2(const struct kmip_version *v)
{
	return v->major >= 2;
}

uint32_t
kmip_attr_begin(struct ttlv_buf *b, const struct kmip_version *v,
    uint32_t tag, const char *name, int32_t index, size_t *mark)
{
	*mark = ttlv_buf_len(b);
	if (is_v2(v))
		return tag != 0 && kmip_attr_tag_name(tag) != NULL ? tag : 0;
	if (name == NULL && (name = kmip_attr_tag_name(tag)) == NULL)
		return 0;
	*mark = ttlv_begin(b, KMIP_TAG_ATTRIBUTE);
	ttlv_put_text(b, KMIP_TAG_ATTRIBUTE_NAME, name, strlen(name));
	if (index >= 0)
		ttlv_put_int(b, KMIP_TAG_ATTRIBUTE_INDEX, index);
	return KMIP_TAG_ATTRIBUTE_VALUE;
}

void
kmip_attr_end(struct ttlv_buf *b, const struct kmip_version *v, size_t mark)
{
	if (!is_v2(v))
		ttlv_end(b, mark);
}

int
kmip_attr_put(struct ttlv_buf *b, const struct kmip_version *v,
    const struct kmip_attr *a)
{
	size_t mark;
	uint32_t vtag;

	if ((vtag = kmip_attr_begin(b, v, a->tag, a->name, a->index,
	    &mark)) == 0)
		return -1;
	ttlv_put_node(b, a->value, vtag);
	kmip_attr_end(b, v, mark);
	return 0;
}

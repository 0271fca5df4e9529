/*
 * attr.h: KMIP attributes in one neutral form, whichever version sent them.
 *
 * KMIP 1.x carries an attribute as an Attribute structure {Attribute
 * Name (text), Attribute Index, Attribute Value}, inside a
 * Template-Attribute; KMIP 2.0 carries it under its own tag (a
 * Cryptographic Algorithm is an Enumeration tagged Cryptographic
 * Algorithm) inside an Attributes structure, and names one in a request
 * with an Attribute Reference (the tag as an Enumeration).  Both read into
 * struct kmip_attr; both are written back from a tag and a value.
 *
 * Custom attributes ("x-..." and "y-..." names) exist in 1.x only here:
 * 2.0's Vendor Attribute is not read or written yet.
 */
#ifndef KW_KMIP_ATTR_H
#define KW_KMIP_ATTR_H

#include <stddef.h>
#include <stdint.h>

#include "kmip/message.h"
#include "kmip/ttlv.h"

/* One attribute; the pointers point into the decoded message (or the
 * name table) and live as long as it does. */
struct kmip_attr {
	uint32_t		 tag;	/* the attribute's tag; 0: custom */
	const char		*name;	/* 1.x Attribute Name ("Name", "x-a") */
	int32_t			 index;	/* 1.x Attribute Index; -1: none */
	const struct ttlv	*value;	/* its value, of the attribute's type */
};

/*
 * Read attribute node n: a 1.x Attribute structure, or a 2.0 attribute
 * under its own tag.  0, or -1 with err set (an Attribute without name or
 * value, a name the specification does not define and that is not a
 * custom "x-"/"y-" one, a tag that is not an attribute's).
 */
int		 kmip_attr_read(const struct ttlv *n, struct kmip_attr *a,
		    char *err, size_t errlen) WUR;
/*
 * The attributes of container c, a 1.x Template-Attribute or a 2.0
 * Attributes structure, in *out (free with free(); NULL when there are
 * none) and *n.  0, or -1 with err set (a Template-Attribute's template
 * Name references are refused: templates are not supported).
 */
int		 kmip_attrs_read(const struct ttlv *c, struct kmip_attr **out,
		    size_t *n, char *err, size_t errlen) WUR;
/* The attributes container of a request payload: its Template-Attribute
 * (1.x) or Attributes (2.0) child, or NULL. */
const struct ttlv *kmip_attrs_container(const struct ttlv *payload);
/*
 * An attribute named in a request, as a 1.x Attribute Name (text) or a
 * 2.0 Attribute Reference (an Enumeration of its tag): its tag (0 for a
 * custom name) and name.  0, or -1 with err set.
 */
int		 kmip_attr_ref_read(const struct ttlv *n, uint32_t *tag,
		    const char **name, char *err, size_t errlen) WUR;

/*
 * Writing one attribute into a response at version v: kmip_attr_begin
 * opens it and returns the tag its value must carry (1.x: Attribute
 * Value, inside an Attribute with the name and, when index >= 0, the
 * index; 2.0: the attribute's own tag), or 0 when v cannot carry it (a
 * custom attribute in 2.0, an unknown tag).  The caller puts the value
 * with that tag, then calls kmip_attr_end with the mark.
 */
uint32_t	 kmip_attr_begin(struct ttlv_buf *b, const struct kmip_version *v,
		    uint32_t tag, const char *name, int32_t index, size_t *mark);
void		 kmip_attr_end(struct ttlv_buf *b, const struct kmip_version *v,
		    size_t mark);
/* The same for a value that is a decoded node (a stored attribute):
 * 0, or -1 when v cannot carry it. */
int		 kmip_attr_put(struct ttlv_buf *b, const struct kmip_version *v,
		    const struct kmip_attr *a);

#endif

/*
 * ops.h: what the KMIP operations share (internal to kmip/): the
 * context of the listener, one call's state, the answering helpers
 * (dispatch.c), the object model (objects.c) and each operation's
 * steps (ops_*.c), which dispatch.c lists as svc_op rows.
 */
#ifndef KW_KMIP_OPS_H
#define KW_KMIP_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "attr.h"
#include "message.h"
#include "tags.h"
#include "ttlv.h"
#include "../db/kmipdb.h"
#include "../lib/secbuf.h"
#include "../server/service.h"

/* The listener's context: the key service, one per server. */
struct kmip_ctx {
	struct svc	*svc;
	size_t		 max_message;
};

/* A KMIP object: its row and its searchable attributes, parsed. */
struct kobj {
	struct db_kmip_obj	 row;
	json_t			*attrs;	/* {"name":[],"asi":[],"group":[],
					   "custom":{}} */
};

/* One batch item being run (svc_call.args). */
struct kmip_call {
	struct kmip_ctx		*ctx;
	const struct kmip_request *req;
	const struct kmip_item	*item;	/* NULL when none (framing errors) */
	struct kmip_resp	*resp;
	struct kmip_version	 ver;
	int			 answered;
	uint32_t		 status;	/* of the answer */
	enum kw_err		 err;		/* for the audit log */
	char			 uid[DB_KMIP_UID_MAX + 1];
	char			 acl_name[DB_KMIP_UID_MAX + 1];
	struct kobj		 obj;		/* prepare loaded it ... */
	enum kw_err		 load;		/* ... or why not */
	int			 preloaded;	/* the adapter loaded it */
};

/* --- answering (dispatch.c) --- */

/* Fail the item: reason, and a message (printf-style) for the client;
 * e is what the audit log records. */
void	kc_fail(struct kmip_call *k, enum kw_err e, uint32_t reason,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Fail the item for a kw_err from below (names what failed). */
void	kc_fail_err(struct kmip_call *k, enum kw_err e, const char *what);
/* Succeed: the payload encoder to fill. */
struct ttlv_buf *kc_ok(struct kmip_call *k);
/* The reason a wrong lifecycle state gets at this version. */
uint32_t kc_state_reason(const struct kmip_call *k);
int	kc_v2(const struct kmip_call *k);
/* The request payload's Unique Identifier into k->uid: 0, or -1 with
 * the item failed. */
int	kc_uid(struct kmip_call *k);

/* --- prepare steps (dispatch.c) --- */

/* Name the object of the request (its Unique Identifier) for the ACLs
 * and load it; a missing object is answered by exec (kc_loaded). */
int	kc_prepare_obj(struct svc_call *c);
/* New object: a fresh uid (Create, Register). */
int	kc_prepare_new(struct svc_call *c);
/* The same, for Register, asking for SET_KEY_MATERIAL too. */
int	kc_prepare_register(struct svc_call *c);
/* For exec steps of existing objects: 1 when k->obj is loaded, 0 with
 * the item failed (not found, unconfirmed, database). */
int	kc_loaded(struct kmip_call *k);

/* --- objects (objects.c) --- */

enum kw_err kobj_load(struct kmip_ctx *x, const char *uid,
	    struct kobj *o) WUR;
void	kobj_clear(struct kobj *o);
/* The database the objects live in. */
struct db *kobj_db(struct kmip_ctx *x);
/* The name key ACLs know o by: its first Name, else its uid. */
const char *kobj_acl_name(const struct kobj *o);
/* The same for an object of first Name first_name (NULL: none) and uid. */
const char *kobj_acl_name_of(const char *first_name, const char *uid);
/* The first Name a Create or Register payload asks for, when it can
 * name the object for the key ACLs (kobj_acl_name_of), into buf: 1, or
 * 0 when there is none (or the attributes do not parse: exec refuses
 * them). */
int	kobj_requested_name(const struct ttlv *payload, char *buf,
	    size_t len);
/* Wrap material for o (uid set) under the active KEK: 0 or -1. */
int	kobj_wrap(struct kmip_ctx *x, struct kobj *o,
	    const struct secbuf *material) WUR;
/* o's material, or NULL (destroyed, or it does not unwrap: logged). */
struct secbuf *kobj_material(struct kmip_ctx *x, const struct kobj *o);
/* Store a new o, or write o's changes (dropping the material when
 * drop): KW_OK or the database's error. */
enum kw_err kobj_insert(struct kmip_ctx *x, struct kobj *o) WUR;
enum kw_err kobj_update(struct kmip_ctx *x, struct kobj *o, int drop)
	    WUR;
/* A new empty attribute set: 0 or -1. */
int	kobj_init_attrs(struct kobj *o) WUR;
/*
 * Apply attribute a to o: how 0 add (append a value), 1 set (replace
 * index a->index, or the only value), 2 delete (index a->index, or all
 * when -1), for Name, Application Specific Information, Object Group,
 * custom attributes, Cryptographic Usage Mask, Activation Date; other
 * attributes are the server's.  0, or a Result Reason with msg set.
 */
uint32_t kobj_apply(struct kmip_call *k, struct kobj *o,
	    const struct kmip_attr *a, int how, char *msg, size_t msglen);
/* Put o's attributes into b: all when ntags is 0, else those of tags
 * (0 in tags: the custom attribute of the same index in names); with
 * one tag and index >= 0, only that value of it. */
void	kobj_put_attrs(struct kmip_call *k, struct ttlv_buf *b,
	    const struct kobj *o, const uint32_t *tags,
	    const char *const *names, size_t ntags, int32_t index);
/* The names (1.x) or references (2.0) of o's attributes into b. */
void	kobj_put_attr_list(struct kmip_call *k, struct ttlv_buf *b,
	    const struct kobj *o);
/* The JSON (malloc'd text) a Locate with attributes attrs[0..n) matches
 * with @>, or NULL with a reason in *reason and msg. */
char	*kobj_match(const struct kmip_attr *attrs, size_t n, int32_t *type,
	    int32_t *state, uint32_t *reason, char *msg, size_t msglen);

/* --- operation steps (ops_*.c) --- */

/* Write o's change (dropping its material when drop) and answer with
 * its uid, or fail the item (ops_keys.c). */
void	kop_commit(struct kmip_call *k, struct kobj *o, int drop);

void	kop_create(struct svc_call *c);
void	kop_register(struct svc_call *c);
void	kop_get(struct svc_call *c);
void	kop_activate(struct svc_call *c);
void	kop_revoke(struct svc_call *c);
void	kop_destroy(struct svc_call *c);
void	kop_get_attributes(struct svc_call *c);
void	kop_get_attribute_list(struct svc_call *c);
void	kop_add_attribute(struct svc_call *c);
void	kop_modify_attribute(struct svc_call *c);
void	kop_delete_attribute(struct svc_call *c);
void	kop_set_attribute(struct svc_call *c);
void	kop_locate(struct svc_call *c);
void	kop_encrypt(struct svc_call *c);
void	kop_decrypt(struct svc_call *c);
/* Not key operations: answered to any authenticated client. */
void	kop_discover_versions(struct kmip_call *k);
void	kop_query(struct kmip_call *k);

#endif

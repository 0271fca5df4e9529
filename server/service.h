/*
 * service.h: the key service under every protocol.
 *
 * Each protocol describes its key operations as rows of struct svc_op
 * (as tmux describes a command by one cmd_entry and one exec function)
 * and runs one request with svc_run, which does for every protocol, in
 * this order: authentication (an identity is required), doAs proxying,
 * the operation ACL and the key ACL of the row, the row's prepare step
 * (the protocol reads its arguments), the ACLs those arguments add,
 * write admission for the SVC_WRITE class, the row's exec step, and one
 * audit record.  Adding an operation is one row and its functions.
 *
 * No protocol types here: a protocol's own request and response travel
 * in svc_call.args, and it answers refusals and reports outcomes through
 * its struct svc_proto (the HTTP adapter maps kw_err to HTTP statuses).
 */
#ifndef KW_SERVICE_H
#define KW_SERVICE_H

#include <stddef.h>
#include <stdint.h>

#include "../lib/acl.h"
#include "../lib/kwerr.h"

struct keystore;
struct cluster;
struct kw_config;
struct authz;
struct audit;

/* What the service runs over: one per server, shared by every listener. */
struct svc {
	struct keystore		*ks;
	struct cluster		*cl;	/* the cluster monitor */
	const struct kw_config	*cfg;
	struct authz		*authz;	/* the ACLs in force */
	struct audit		*audit;	/* may record nothing, never NULL */
};

/* Whether an operation changes the replicated store. */
enum svc_class {
	SVC_NOT_KEY_OP = 0,	/* not a key operation (svc_run refuses it) */
	SVC_READ,		/* served while either node lives */
	SVC_WRITE,		/* admitted only while the pair can write */
};

#define SVC_NO_ACL	(-1)	/* key_op: the operation names no key */

/* svc_op.flags */
#define SVC_KEY_EACH	0x1	/* key_op applies to each key exec names
				   (svc_allow_key), not to svc_call.key */

struct svc_call;

/* One key operation. */
struct svc_op {
	const char	*name;		/* audit (and metrics) name: "CREATE" */
	int		 acl_op;	/* enum acl_op the caller must hold */
	int		 key_op;	/* enum acl_keyop on the key, or
					   SVC_NO_ACL */
	enum svc_class	 cls;
	int		 flags;		/* SVC_KEY_EACH */
	/* Optional: read the request's arguments into call->args once the
	 * operation ACL passed; may name call->key (and call->acl_name) and
	 * ask for call->extra_acl_op.  0, or -1 with the error answered. */
	int		(*prepare)(struct svc_call *call);
	/* Do it and answer. */
	void		(*exec)(struct svc_call *call);
};

/* How a protocol answers what the core decides. */
struct svc_proto {
	/* Answer a refusal: e and a message for the client. */
	void	(*refuse)(struct svc_call *call, enum kw_err e,
		    const char *msg);
	/* How the call ended, for the audit log: KW_OK or the error
	 * answered, and the protocol's own status number in *status. */
	enum kw_err (*outcome)(const struct svc_call *call, int *status);
};

/* One request, filled by the protocol adapter (svc_run fills the rest). */
struct svc_call {
	const char	*identity;	/* authenticated principal, or NULL */
	const char	*auth_why;	/* why identity is NULL */
	const char	*doas;		/* user a proxy acts for, or NULL */
	const char	*real_user;	/* svc_run: the proxy, under doAs */
	const char	*peer;		/* client address, text */
	const char	*request_id;
	const char	*key;		/* the key acted on, or NULL */
	const char	*acl_name;	/* the name key ACLs know key by, when
					   the adapter or prepare knows it;
					   NULL: look up */
	uint32_t	 version;	/* audited when has_version */
	int		 has_version;
	int		 extra_acl_op;	/* prepare: enum acl_op the arguments
					   also need, or SVC_NO_ACL */
	const struct svc_proto *proto;
	void		*args;		/* the protocol's own */
	struct svc	*svc;		/* svc_run sets it */
};

/* Run op for call (see above); the answer is in the protocol's args. */
void	svc_run(struct svc *svc, const struct svc_op *op,
	    struct svc_call *call);

/* For exec steps.  Whether the caller holds op (no answer: for withholding
 * material from a caller who may act but not read). */
int	svc_holds(const struct svc_call *call, enum acl_op op);
/* Whether the caller holds key ACL kop on the key its ACLs know as
 * acl_name (no answer: for leaving out what a caller may not see; the
 * caller resolves the ACL name, as svc_allow_key does for KMS keys). */
int	svc_holds_key(const struct svc_call *call, const char *acl_name,
	    enum acl_keyop kop);
/* Key ACL kop on key name, governed by its key.acl.name attribute: 1, or
 * 0 with the refusal answered. */
int	svc_allow_key(struct svc_call *call, const char *name,
	    enum acl_keyop kop);

#endif

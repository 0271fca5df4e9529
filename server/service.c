/*
 * service.c: svc_run, the one place that authenticates, authorizes
 * (operation ACLs, key ACLs, doAs proxies, as Hadoop KMS checks them),
 * admits writes and audits a key operation, whatever protocol carried
 * it.  Authorization comes before any existence check, so a denied
 * caller learns nothing about which keys exist.  Does not own: the rules
 * in force (authz.c, over lib/acl.c), the operations themselves (each
 * protocol's rows), or how a refusal looks on the wire.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "service.h"
#include "api_route.h"
#include "audit.h"
#include "authz.h"
#include "clustermon.h"
#include "keystore.h"
#include "metrics.h"
#include "../lib/config.h"

/* Answer call with e and a printf-style message; returns 0. */
static int refuse(struct svc_call *c, enum kw_err e, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

static int
refuse(struct svc_call *c, enum kw_err e, const char *fmt, ...)
{
	char msg[1024];		/* as much as an error envelope carries */
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->proto->refuse(c, e, msg);
	return 0;
}

int
svc_holds(const struct svc_call *c, enum acl_op op)
{
	int ok;

	ok = acls_op_allowed(authz_hold(c->svc->authz), c->identity, op);
	authz_release(c->svc->authz);
	return ok;
}

int
svc_holds_key(const struct svc_call *c, const char *acl_name,
    enum acl_keyop kop)
{
	int ok;

	ok = acls_key_allowed(authz_hold(c->svc->authz), c->identity,
	    acl_name, kop);
	authz_release(c->svc->authz);
	return ok;
}

static int
deny_op(struct svc_call *c, enum acl_op op)
{
	return refuse(c, KW_EDENIED, "user '%s' is not allowed to do %s",
	    c->identity, acl_op_name(op));
}

static int
deny_key(struct svc_call *c, const char *name, enum acl_keyop kop)
{
	return refuse(c, KW_EDENIED, "user '%s' is not allowed %s on key '%s'",
	    c->identity, acl_keyop_name(kop), name);
}

/* Key ACL kop on name, the ACLs knowing it as acl_name. */
static int
allow_key_as(struct svc_call *c, const char *name, const char *acl_name,
    enum acl_keyop kop)
{
	return svc_holds_key(c, acl_name, kop) ? 1 : deny_key(c, name, kop);
}

int
svc_allow_key(struct svc_call *c, const char *name, enum acl_keyop kop)
{
	char acl_name[ROUTE_NAME_MAX + 1];
	enum kw_err e;
	int has;

	/* the key's own ACL name only matters when some key has key ACLs */
	has = acls_has_key_acls(authz_hold(c->svc->authz));
	authz_release(c->svc->authz);
	if (!has)
		return allow_key_as(c, name, name, kop);
	if ((e = ks_acl_name(c->svc->ks, name, acl_name, sizeof(acl_name))) !=
	    KW_OK)
		return refuse(c, e == KW_EDB ? KW_EDB : KW_EINVAL,
		    "cannot check access to key '%s': %s", name,
		    e == KW_EDB ? "key store unavailable" : "bad key.acl.name");
	return allow_key_as(c, name, acl_name, kop);
}

/*
 * Key ACL kop on the call's key.  An adapter that knows the key's ACL name
 * already (KMIP names an object by its uid, its ACLs by its Name) gives it
 * in acl_name; otherwise the key store says.
 */
static int
allow_call_key(struct svc_call *c, enum acl_keyop kop)
{
	if (c->acl_name != NULL)
		return allow_key_as(c, c->key, c->acl_name, kop);
	return svc_allow_key(c, c->key, kop);
}

/* A doAs request: when the proxy rules allow, identity becomes the doAs
 * user and real_user the proxy. */
static int
proxy(struct svc_call *c)
{
	int ok;

	if (c->doas == NULL)
		return 1;
	if (*c->doas == '\0' || strlen(c->doas) > 255)
		return refuse(c, KW_EDENIED, "user '%s' may not act as an "
		    "empty or overlong doAs user", c->identity);
	ok = acls_proxy_allowed(authz_hold(c->svc->authz), c->identity,
	    c->doas, c->peer);
	authz_release(c->svc->authz);
	if (!ok)
		return refuse(c, KW_EDENIED, "user '%s' is not allowed to act "
		    "as '%s' from %s", c->identity, c->doas, c->peer);
	c->real_user = c->identity;
	c->identity = c->doas;
	return 1;
}

/* The row's ACLs that need no arguments: the operation ACL, and the key
 * ACL when the key is known already. */
static int
authorize(struct svc_call *c, const struct svc_op *op)
{
	int kop = op->key_op, op_ok, key_ok;
	const struct acls *a;

	if (c->key == NULL || (op->flags & SVC_KEY_EACH))
		kop = SVC_NO_ACL;
	/*
	 * One hold of the rules for both checks, on every request; only a
	 * key that may have a key.acl.name of its own (the file has per-key
	 * lines) goes on to svc_allow_key, which reads it without holding
	 * the rules over a database query.
	 */
	a = authz_hold(c->svc->authz);
	op_ok = acls_op_allowed(a, c->identity, (enum acl_op)op->acl_op);
	if (!op_ok || kop == SVC_NO_ACL)
		key_ok = 1;
	else if (acls_has_key_acls(a))
		key_ok = -1;
	else
		key_ok = acls_key_allowed(a, c->identity, c->key,
		    (enum acl_keyop)kop);
	authz_release(c->svc->authz);
	if (!op_ok)
		return deny_op(c, (enum acl_op)op->acl_op);
	if (key_ok < 0)
		return allow_call_key(c, (enum acl_keyop)kop);
	return key_ok ? 1 : deny_key(c, c->key, (enum acl_keyop)kop);
}

/* The ACLs the arguments brought: an extra operation ACL, and the key
 * ACL of a key named only by them (in key_known: whether authorize saw
 * the key). */
static int
authorize_args(struct svc_call *c, const struct svc_op *op, int key_known)
{
	if (c->extra_acl_op != SVC_NO_ACL &&
	    !svc_holds(c, (enum acl_op)c->extra_acl_op))
		return deny_op(c, (enum acl_op)c->extra_acl_op);
	if (key_known || op->key_op == SVC_NO_ACL ||
	    (op->flags & SVC_KEY_EACH))
		return 1;
	if (c->key == NULL)	/* a row that names no key: deny, never skip */
		return refuse(c, KW_EDENIED, "user '%s' is not allowed %s on "
		    "an unnamed key", c->identity,
		    acl_keyop_name((enum acl_keyop)op->key_op));
	return allow_call_key(c, (enum acl_keyop)op->key_op);
}

/* Admit a write: 1, or 0 with the refusal answered naming the reason. */
static int
admit_write(struct svc_call *c)
{
	char why[256];
	enum db_refusal code;

	/*
	 * A single node (no db.peer, a development set-up) has no pair to
	 * keep consistent: the database itself refuses what it cannot do.
	 */
	if (c->svc->cfg->db_peer[0] == '\0')
		return 1;
	if (cluster_writable(c->svc->cl, why, sizeof(why), &code))
		return 1;
	metrics_refused(code);
	return refuse(c, KW_EUNAVAIL, "writes refused by node %s: %s",
	    c->svc->cfg->node_name, why);
}

/* The audit record of one call. */
static void
audit_call(const struct svc_call *c, const struct svc_op *op)
{
	struct audit_event ev;
	enum kw_err e;

	memset(&ev, 0, sizeof(ev));
	e = c->proto->outcome(c, &ev.status);
	ev.identity = c->identity != NULL ? c->identity : "-";
	ev.real_user = c->real_user;
	ev.op = op->name;
	ev.key = c->key;
	ev.version = c->version;
	ev.has_version = c->has_version;
	ev.result = e == KW_OK ? "OK" : e == KW_EUNAUTH ? "UNAUTHENTICATED" :
	    e == KW_EDENIED ? "DENIED" : "ERROR";
	ev.request_id = c->request_id;
	ev.peer = c->peer;
	audit_log(c->svc->audit, &ev);
}

void
svc_run(struct svc *svc, const struct svc_op *op, struct svc_call *c)
{
	int key_known;

	c->svc = svc;
	c->extra_acl_op = SVC_NO_ACL;
	key_known = c->key != NULL;
	if (c->identity == NULL)
		(void)refuse(c, KW_EUNAUTH, "authentication required: %s",
		    c->auth_why != NULL ? c->auth_why : "no identity");
	else if (op->cls == SVC_NOT_KEY_OP || op->exec == NULL)
		(void)refuse(c, KW_ENOROUTE, "no such operation");
	else if (proxy(c) && authorize(c, op) &&
	    (op->prepare == NULL || op->prepare(c) == 0) &&
	    authorize_args(c, op, key_known) &&
	    (op->cls != SVC_WRITE || admit_write(c)))
		op->exec(c);
	audit_call(c, op);
}

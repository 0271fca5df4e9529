/*
 * api.h: the KMS REST API and the ops endpoints, over the keystore.
 *
 * api_handle is the handler the HTTP glue calls: it routes the request,
 * parses and validates the JSON body, calls the keystore and builds the
 * JSON response exactly as Hadoop KMS does.  The helpers below are shared
 * by api_keys.c, api_eek.c and api_ops.c only.
 */
#ifndef KW_API_H
#define KW_API_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <jansson.h>

#include "request.h"
#include "api_route.h"
#include "keystore.h"
#include "clustermon.h"
#include "authz.h"
#include "audit.h"
#include "../lib/acl.h"
#include "../lib/config.h"

struct api_ctx {
	struct keystore		*ks;
	struct cluster		*cl;	/* the cluster monitor */
	const struct kw_config	*cfg;
	struct authz		*authz;	/* the ACLs in force */
	struct drift		*drift;	/* configuration drift, or NULL */
	struct audit		*audit;	/* may record nothing, never NULL */
};

/* The kw_handler_fn for the HTTP glue; ctx is a struct api_ctx. */
void	api_handle(void *ctx, const struct kw_request *req,
	    struct kw_response *resp);

/* One operation's handler. */
typedef void (*api_fn)(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp);

/* api_keys.c */
void	api_create(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_roll(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_delete(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_invalidate(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_metadata(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_bulk_metadata(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_names(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_current(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_version(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_versions(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
/* api_eek.c */
void	api_generate(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_eek(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_reencrypt_batch(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
/* api_ops.c */
void	api_health(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_cluster(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
void	api_metrics(struct api_ctx *, const struct kw_request *,
	    const struct route *, struct kw_response *);
/* The kw_handler_fn of the metrics.listen listener: GET /metrics only,
 * to anyone (ctx is a struct api_ctx). */
void	api_metrics_only(void *ctx, const struct kw_request *req,
	    struct kw_response *resp);

/* Authorization (api_authz.c); each fills resp with a 403 and returns 0
 * when the caller may not, else returns 1. */
/* The ACLs the route needs before its handler runs. */
int	api_authorize(struct api_ctx *ctx, const struct kw_request *req,
	    const struct route *rt, struct kw_response *resp);
int	api_allow_op(struct api_ctx *ctx, const struct kw_request *req,
	    enum acl_op op, struct kw_response *resp);
/* Key ACL kop on key name, governed by its key.acl.name attribute. */
int	api_allow_key(struct api_ctx *ctx, const struct kw_request *req,
	    const char *name, enum acl_keyop kop, struct kw_response *resp);
/* The same with the ACL name given (a key being created). */
int	api_allow_key_as(struct api_ctx *ctx, const struct kw_request *req,
	    const char *name, const char *acl_name, enum acl_keyop kop,
	    struct kw_response *resp);
/* Whether the caller holds op (no response: material is withheld). */
int	api_holds(struct api_ctx *ctx, const struct kw_request *req,
	    enum acl_op op);
/* A doAs request: when the proxy rules allow, identity becomes the doAs
 * user and real_user the proxy. */
int	api_proxy(struct api_ctx *ctx, struct kw_request *req,
	    struct kw_response *resp);

/* Helpers (api.c). */
/* Send j (reference stolen; NULL means out of memory) with status. */
void	api_send_json(struct kw_response *resp, int status, json_t *j);
/* Parse the body as JSON of type want (JSON_OBJECT or JSON_ARRAY); an
 * empty body counts as an empty value when empty_ok.  NULL with resp
 * filled on error. */
json_t	*api_body(const struct kw_request *req, json_type want, int empty_ok,
	    struct kw_response *resp);
/* {"name", "versionName": "NAME@N", "material"} (material null if NULL). */
json_t	*api_key_version(const char *name, uint32_t version,
	    const struct secbuf *material);
/* base64url text of n bytes as a JSON string. */
json_t	*api_b64(const unsigned char *p, size_t n);
/* Decode the base64 string member field of obj into buf (cap bytes).
 * 0, or -1 with resp filled (400: missing, not a string, bad base64). */
int	api_b64_member(json_t *obj, const char *field, unsigned char *buf,
	    size_t cap, size_t *len, struct kw_response *resp);
/* Admit a write: 1, or 0 with resp filled (503 naming the reason). */
int	api_admit_write(struct api_ctx *ctx, struct kw_response *resp);
/* Answer a keystore error e about key name (500/503/400...). */
void	api_store_error(struct kw_response *resp, enum kw_err e,
	    const char *name);

#endif

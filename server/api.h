/*
 * api.h: the KMS REST API and the ops endpoints, over the keystore.
 *
 * api_handle is the handler the HTTP glue calls, the HTTP adapter of the
 * key service (service.h): route -> svc_op row -> svc_run, whose rows'
 * steps parse and validate the JSON body, call the keystore and build the
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
#include "service.h"
#include "../lib/acl.h"
#include "../lib/config.h"

struct api_ctx {
	struct svc		 svc;	/* the key service, shared by every
					   protocol */
	struct drift		*drift;	/* configuration drift, or NULL */
};

/* The kw_handler_fn for the HTTP glue; ctx is a struct api_ctx. */
void	api_handle(void *ctx, const struct kw_request *req,
	    struct kw_response *resp);

/*
 * The HTTP key operations: one svc_op row per route operation (OP_NONE
 * and the ops endpoints have a name only, for metrics), and the row a
 * decrypt route takes with eek_op=reencrypt.  The single description of
 * each operation's name, ACLs, class and functions.
 */
extern const struct svc_op api_ops[OP_MAX];
extern const struct svc_op api_op_reencrypt;
/* The operation's name for metrics and the audit log, "UNKNOWN" if none. */
const char *api_op_name(enum kw_op op);

/* The HTTP side of one key operation: svc_call.args. */
struct api_call {
	struct api_ctx		*ctx;
	const struct kw_request	*req;
	const struct route	*rt;
	struct kw_response	*resp;
	/* what a prepare step read for its exec step (freed by api.c) */
	json_t			*body;
	struct secbuf		*mat;
	char			*attrs;
	struct ks_new_key	 nk;
};

/* api_keys.c: the rows' prepare and exec steps */
int	api_create_prepare(struct svc_call *);
void	api_create(struct svc_call *);
int	api_roll_prepare(struct svc_call *);
void	api_roll(struct svc_call *);
void	api_delete(struct svc_call *);
void	api_invalidate(struct svc_call *);
void	api_metadata(struct svc_call *);
void	api_bulk_metadata(struct svc_call *);
void	api_names(struct svc_call *);
void	api_current(struct svc_call *);
void	api_version(struct svc_call *);
void	api_versions(struct svc_call *);
/* api_eek.c */
void	api_generate(struct svc_call *);
void	api_eek(struct svc_call *);
void	api_reencrypt_batch(struct svc_call *);

/* api_ops.c: the ops endpoints, no key operations (no identity needed
 * for health and cluster; no audit). */
void	api_health(struct api_ctx *, const struct kw_request *,
	    struct kw_response *);
void	api_cluster(struct api_ctx *, const struct kw_request *,
	    struct kw_response *);
void	api_metrics(struct api_ctx *, const struct kw_request *,
	    struct kw_response *);
/* The kw_handler_fn of the metrics.listen listener: GET /metrics only,
 * to anyone (ctx is a struct api_ctx). */
void	api_metrics_only(void *ctx, const struct kw_request *req,
	    struct kw_response *resp);

/* Helpers (api.c). */
/* Send j (reference stolen; NULL means out of memory) with status. */
void	api_send_json(struct kw_response *resp, int status, json_t *j);
/*
 * Answer 200 with a JSON array made while it is sent (api_stream.c), the
 * same text api_send_json makes of it: next(arg, &failed) gives each
 * element in turn (a new reference), NULL at the end, or NULL with
 * *failed set to cut the answer off (it logs why).  free_arg(arg) once
 * the answer is done, in every case (also when this fails: 500 then).
 * next runs on the request's thread after the handler returned: arg must
 * own all it needs.
 */
void	api_send_stream(struct kw_response *resp,
	    json_t *(*next)(void *arg, int *failed), void (*free_arg)(void *),
	    void *arg);
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
/* Answer a keystore error e about key name (500/503/400...). */
void	api_store_error(struct kw_response *resp, enum kw_err e,
	    const char *name);

#endif

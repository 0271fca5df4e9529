/*
 * api_ops.c: the operations endpoints: GET /v1/health for load balancers
 * and operators.  The cluster view (roles, replication) joins it with
 * the HA pair.
 */
#include "api.h"
#include "errors.h"
#include "../lib/version.h"

void
api_health(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	int up;

	(void)req;
	(void)rt;
	up = db_local_alive(ks_db(ctx->ks));
	api_send_json(resp, up ? 200 : 503, json_pack(
	    "{s:s, s:s, s:s, s:{s:s}}",
	    "node", ctx->cfg->node_name, "version", KW_VERSION,
	    "status", up ? "ok" : "unavailable",
	    "database", "local", up ? "up" : "down"));
}

/*
 * api_ops.c: the operations endpoints: GET /v1/health for load balancers
 * and operators.  The cluster view (roles, replication) joins it with
 * the HA pair.
 */
#include <time.h>

#include "api.h"
#include "errors.h"
#include "../lib/version.h"

/* Is the local database up?  Probed at most once per monitor interval,
 * so a load balancer polling hard never loads the database. */
static int
local_db_up(struct api_ctx *ctx)
{
	struct timespec ts;
	int64_t now;
	int up;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	pthread_mutex_lock(&ctx->health_lock);
	if (ctx->health_at_ms == 0 ||
	    now - ctx->health_at_ms >= ctx->cfg->monitor_interval_ms) {
		ctx->health_up = db_local_alive(ks_db(ctx->ks));
		ctx->health_at_ms = now;
	}
	up = ctx->health_up;
	pthread_mutex_unlock(&ctx->health_lock);
	return up;
}

void
api_health(struct api_ctx *ctx, const struct kw_request *req,
    const struct route *rt, struct kw_response *resp)
{
	int up;

	(void)req;
	(void)rt;
	up = local_db_up(ctx);
	api_send_json(resp, up ? 200 : 503, json_pack(
	    "{s:s, s:s, s:s, s:{s:s}}",
	    "node", ctx->cfg->node_name, "version", KW_VERSION,
	    "status", up ? "ok" : "unavailable",
	    "database", "local", up ? "up" : "down"));
}

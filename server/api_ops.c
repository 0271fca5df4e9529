/*
 * api_ops.c: the operations endpoints, from the cluster monitor's view.
 *
 *   GET /v1/health   200 this node can read and write; 429 it can only
 *                    read (the pair is degraded); 503 it cannot serve.
 *                    The body says why, for operators and load balancers,
 *                    and lists configuration drift ("drift"): a warning
 *                    that never changes the status, since both nodes
 *                    still serve correctly by their own rules.
 *   GET /v1/cluster  both nodes (name, URL, role, health, configuration
 *                    fingerprints), so clients and operators can discover
 *                    the pair and compare the nodes.
 * Neither needs a client identity.
 *   GET /metrics     Prometheus text (metrics.h); on the HTTPS port for
 *                    an authenticated client, on metrics.listen for anyone
 *                    who reaches it.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "drift.h"
#include "errors.h"
#include "metrics.h"
#include "../lib/version.h"

/* "active" when the local database is primary, "passive" when standby. */
static const char *
node_role(enum db_role r)
{
	switch (r) {
	case DB_ROLE_PRIMARY:
		return "active";
	case DB_ROLE_STANDBY:
		return "passive";
	default:
		return "down";
	}
}

static json_t *
db_json(const struct db_node_state *n)
{
	if (!n->configured)
		return json_null();
	return json_pack("{s:s, s:I, s:s?}", "role", db_role_name(n->role),
	    "probe_ms", (json_int_t)n->probe_ms,
	    "error", n->error[0] ? n->error : NULL);
}

/* What differs from the peer's configuration: an array of strings. */
static json_t *
drift_json(struct drift *d)
{
	struct drift_state ds;
	json_t *a = json_array();
	size_t i;

	if (d == NULL || a == NULL)
		return a;
	drift_view(d, &ds);
	for (i = 0; i < ds.n; i++)
		json_array_append_new(a, json_string(ds.what[i]));
	return a;
}

/* A node's configuration fingerprints (never a secret). */
static json_t *
conf_json(const struct db_nodeconf *c)
{
	return json_pack("{s:s, s:s?, s:s, s:i}", "acl_sha256", c->acl_sha256,
	    "cookie_hmac", c->cookie_hmac[0] ? c->cookie_hmac : NULL,
	    "version", c->version, "schema_version", c->schema_version);
}

void
api_health(struct api_ctx *ctx, const struct kw_request *req,
    struct kw_response *resp)
{
	struct db_cluster_state st;
	const char *status;
	int code, served;
	json_t *repl, *body;

	(void)req;
	cluster_view(ctx->svc.cl, &st);
	if (st.writable) {
		code = 200;
		status = "ok";
	} else if (st.readable) {
		code = 429;
		status = "read-only";
	} else {
		code = 503;
		status = "unavailable";
	}
	/* a node cut off from both databases serves keys only while the
	 * cache was confirmed within keys.cache_confirm_ms */
	served = st.readable || ks_cache_usable(ctx->svc.ks);
	repl = st.repl.present ? json_pack("{s:s, s:s, s:s, s:I, s:I}",
	    "standby", st.repl.app_name, "state", st.repl.state,
	    "sync_state", st.repl.sync_state,
	    "reply_age_ms", (json_int_t)st.repl.reply_age_ms,
	    "lag_bytes", (json_int_t)st.repl.lag_bytes) : json_null();
	body = json_pack(
	    "{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:I, s:s?, s:{s:o, s:o}, s:o}",
	    "node", ctx->svc.cfg->node_name, "version", KW_VERSION,
	    "status", status, "role", node_role(st.local.role),
	    "writable", st.writable, "readable", st.readable,
	    "keys_served", served,
	    "cache_confirmed_ms_ago",
	    (json_int_t)cluster_confirmed_age_ms(ctx->svc.cl),
	    "reason", st.writable ? NULL : !served ? "this node reaches "
	    "neither database and can no longer confirm its cached keys" :
	    st.why,
	    "databases", "local", db_json(&st.local), "peer", db_json(&st.peer),
	    "replication", repl);
	if (body != NULL)
		json_object_set_new(body, "drift", drift_json(ctx->drift));
	api_send_json(resp, code, body);
}

void
api_cluster(struct api_ctx *ctx, const struct kw_request *req,
    struct kw_response *resp)
{
	struct db_cluster_state st;
	struct drift_state ds;
	char url[300];
	json_t *nodes, *self, *peer = NULL;

	(void)req;
	cluster_view(ctx->svc.cl, &st);
	if (ctx->svc.cfg->url[0] != '\0')
		snprintf(url, sizeof(url), "%s", ctx->svc.cfg->url);
	else
		snprintf(url, sizeof(url), "https://%s", ctx->svc.cfg->listen);
	memset(&ds, 0, sizeof(ds));
	if (ctx->drift != NULL)
		drift_view(ctx->drift, &ds);
	/* the peer's as it last published them (null: never read) */
	self = ctx->drift != NULL ? conf_json(&ds.self) : json_null();
	if (st.peer.configured)
		peer = ds.have_peer ? conf_json(&ds.peer) : json_null();
	nodes = json_pack("[{s:s, s:s, s:s, s:s, s:o}]", "name",
	    ctx->svc.cfg->node_name, "url", url, "role", node_role(st.local.role),
	    "database", db_role_name(st.local.role), "config", self);
	if (nodes != NULL && peer != NULL)
		json_array_append_new(nodes, json_pack("{s:s, s:s?, s:s, s:s, "
		    "s:o}", "name", ctx->svc.cfg->peer_name,
		    "url", ctx->svc.cfg->peer_url[0] ? ctx->svc.cfg->peer_url : NULL,
		    "role", node_role(st.peer.role),
		    "database", db_role_name(st.peer.role), "config", peer));
	else
		json_decref(peer);
	api_send_json(resp, 200, json_pack("{s:s, s:o, s:b, s:s?, s:o}",
	    "this", ctx->svc.cfg->node_name, "nodes", nodes,
	    "writable", st.writable, "reason", st.writable ? NULL : st.why,
	    "drift", drift_json(ctx->drift)));
}

void
api_metrics(struct api_ctx *ctx, const struct kw_request *req,
    struct kw_response *resp)
{
	struct db_cluster_state st;
	struct metrics_view v;
	struct drift_state ds;
	size_t len;
	char *text;

	(void)req;
	cluster_view(ctx->svc.cl, &st);
	memset(&v, 0, sizeof(v));
	v.cluster = &st;
	v.keys_served = st.readable || ks_cache_usable(ctx->svc.ks);
	v.confirmed_age_ms = cluster_confirmed_age_ms(ctx->svc.cl);
	v.version = KW_VERSION;
	v.node = ctx->svc.cfg->node_name;
	v.drift = -1;
	if (ctx->drift != NULL && st.peer.configured) {
		drift_view(ctx->drift, &ds);
		if (ds.have_peer)
			v.drift = (int)ds.n;
	}
	if ((text = metrics_render(&v, &len)) == NULL) {
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	secure_free(resp->body);
	resp->status = 200;
	resp->body = text;
	resp->len = len;
	resp->content_type = METRICS_CONTENT_TYPE;
}

void
api_metrics_only(void *vctx, const struct kw_request *req,
    struct kw_response *resp)
{
	resp->op = OP_METRICS;
	if (strcmp(req->path, "/metrics") != 0)
		resp_error(resp, KW_ENOROUTE, "no such resource: this listener "
		    "serves only /metrics");
	else if (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0)
		resp_error(resp, KW_EMETHOD, "method %s not allowed on this "
		    "resource", req->method);
	else
		api_metrics(vctx, req, resp);
}

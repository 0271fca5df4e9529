/*
 * http_plain.c: the plain-HTTP listener of metrics.listen, for a
 * Prometheus server that scrapes without a client certificate.
 *
 * Owns a second, small libmicrohttpd daemon: no TLS, one polling thread
 * (its handler reads memory only, never a database), few connections, a
 * short idle timeout, no request bodies.  It hands every request to the
 * handler it was given (api_metrics_only, which answers GET /metrics and
 * nothing else) with no identity.  Does not own: what the answer says.
 */
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "http.h"
#include "http_impl.h"
#include "../lib/crypto.h"
#include "../lib/log.h"

/* A scraper or two, and an operator with curl. */
#define PLAIN_MAX_CONNECTIONS	16
#define PLAIN_TIMEOUT_S		10

struct http_plain {
	struct MHD_Daemon	*daemon;
	kw_handler_fn		 handler;
	void			*ctx;
};

static const char *
no_query(const struct kw_request *r, const char *name)
{
	(void)r;
	(void)name;
	return NULL;
}

static size_t
no_query_all(const struct kw_request *r, const char *name, const char **vals,
    size_t max)
{
	(void)r;
	(void)name;
	(void)vals;
	(void)max;
	return 0;
}

static enum MHD_Result
plain_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_plain *hp = cls;
	struct kw_request req;
	struct kw_response resp;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = hp;		/* headers seen; answer on the next call */
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		*upload_data_size = 0;	/* a body means nothing here */
		return MHD_YES;
	}
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = method;
	req.path = url;
	req.body = "";
	req.auth_why = "the metrics listener authenticates no one";
	req.peer_addr = "-";
	req.query = no_query;
	req.query_all = no_query_all;
	snprintf(req.request_id, sizeof(req.request_id), "metrics");
	hp->handler(hp->ctx, &req, &resp);
	r = MHD_create_response_from_buffer_with_free_callback(resp.len,
	    resp.body, free);
	if (r == NULL) {
		free(resp.body);
		free(resp.location);
		return MHD_NO;
	}
	if (resp.len > 0)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    resp.content_type != NULL ? resp.content_type :
		    "application/json");
	free(resp.location);
	ret = MHD_queue_response(c, (unsigned int)resp.status, r);
	MHD_destroy_response(r);
	return ret;
}

struct http_plain *
http_plain_start(const char *host, int port, kw_handler_fn handler, void *ctx,
    char *err, size_t errlen)
{
	struct http_plain *hp;
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
	    MHD_USE_ERROR_LOG;
	int v6 = 0;

	if (http_listen_addr(host, port, &ss, &v6) != 0) {
		snprintf(err, errlen, "cannot resolve metrics.listen address "
		    "\"%s\"", host);
		return NULL;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	if ((hp = calloc(1, sizeof(*hp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	hp->handler = handler;
	hp->ctx = ctx;
	hp->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL,
	    plain_access, hp,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, "(metrics listener)",
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)PLAIN_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)PLAIN_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384,
	    MHD_OPTION_END);
	if (hp->daemon == NULL) {
		snprintf(err, errlen, "could not listen for metrics on %s:%d "
		    "(address in use?)", host, port);
		free(hp);
		return NULL;
	}
	return hp;
}

void
http_plain_stop(struct http_plain *hp)
{
	if (hp == NULL)
		return;
	MHD_stop_daemon(hp->daemon);
	free(hp);
}

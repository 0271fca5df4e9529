/*
 * http.c: the HTTPS front end on libmicrohttpd (GnuTLS), the only file
 * that includes microhttpd.h.
 *
 * Owns: the daemon (thread per connection), TLS set-up, when to verify
 * the client certificate (identity.c says whom it names; libmicrohttpd
 * only *asks* for one), body accumulation with its size limit, request
 * ids and the request log line.  Does not own: routing or JSON (api.c).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <gnutls/gnutls.h>

#include "http.h"
#include "http_impl.h"
#include "identity.h"
#include "conntrack.h"
#include "errors.h"
#include "metrics.h"
#include "../lib/authcookie.h"
#include "../lib/clock.h"
#include "../lib/config.h"
#include "../lib/crypto.h"
#include "../lib/log.h"
#include "../lib/secbuf.h"

struct http_server {
	struct MHD_Daemon	*daemon;
	struct http_opts	 opts;
	kw_handler_fn		 handler;
	void			*ctx;
	char			 id_prefix[9];
	atomic_ulong		 seq;
	atomic_int		 inflight;	/* requests begun, not completed */
	struct conntrack	*ct;		/* cuts slow handshakes/headers */
};

/* How long http_stop lets in-flight requests finish. */
#define DRAIN_MS	10000
/* Bytes a streamed body is asked for at a time. */
#define STREAM_BLOCK	(32 * 1024)

/* Per TCP connection: the verified client identity, once known. */
struct conn_state {
	struct ct_conn *cc;		/* its conntrack entry, or NULL */
	int	 checked;		/* certificate looked at */
	int	 requested;		/* a request's headers arrived */
	unsigned long trust_gen;	/* ... under this tlstrust generation */
	char	 identity[IDENTITY_MAX];/* "" when none or not valid */
	char	 why[128];		/* why there is no identity */
};

/* Per request: the body as it arrives. */
struct req_state {
	char	*body;
	size_t	 len;
	size_t	 cap;
	int	 too_big;
	struct timespec start;
	struct conn_state *cs;		/* the connection's, or NULL */
};

/*
 * libmicrohttpd's messages, at debug level.  cls: NULL for the HTTPS
 * listener, whose refusals are counted, else the name of the listener.
 */
void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/*
	 * libmicrohttpd refuses a connection over MHD_OPTION_CONNECTION_LIMIT
	 * before any callback of ours runs; this message is all it tells.
	 */
	if (cls == NULL &&
	    strncmp(msg, "Server reached connection limit", 31) == 0)
		metrics_inc(MC_CONN_REFUSED_TOTAL);
	log_debug("libmicrohttpd%s%s: %s", cls != NULL ? " " : "",
	    cls != NULL ? (const char *)cls : "", msg);
}

/* libmicrohttpd tells of a connection's start and of its end, before
 * its socket is closed. */
static void
notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *srv = cls;
	const union MHD_ConnectionInfo *ci;
	struct conn_state *cs;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		metrics_connection(1);
		if ((cs = calloc(1, sizeof(*cs))) != NULL &&
		    (ci = MHD_get_connection_info(c,
		    MHD_CONNECTION_INFO_CONNECTION_FD)) != NULL)
			cs->cc = conntrack_add(srv->ct, ci->connect_fd);
		*socket_context = cs;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		metrics_connection(-1);
		if ((cs = *socket_context) != NULL) {
			/*
			 * libmicrohttpd tells nothing of a failed handshake;
			 * a connection that never got as far as a request
			 * header failed it (or its client sent nothing)
			 */
			if (!cs->requested)
				metrics_inc(MC_TLS_HANDSHAKE_FAILED);
			conntrack_remove(srv->ct, cs->cc);
		}
		free(cs);
		*socket_context = NULL;
	}
}

/* The connection state of c, or NULL. */
static struct conn_state *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct req_state *rs = *con_cls;

	(void)c;
	(void)toe;
	if (rs != NULL) {
		if (rs->cs != NULL)
			conntrack_busy(srv->ct, rs->cs->cc, 0);
		secure_free(rs->body);	/* material, EEKs */
		free(rs);
		*con_cls = NULL;
		atomic_fetch_sub(&srv->inflight, 1);
	}
}

/* Verify the client certificate of a TLS session against trust; fill
 * cs with the identity that part `which` (enum auth_identity) of it
 * names. */
static void
verify_client(gnutls_session_t session, struct tlstrust *trust,
    struct conn_state *cs, int which)
{
	cs->checked = 1;
	cs->trust_gen = tlstrust_generation(trust);
	(void)identity_from_session(session, trust, which, cs->identity,
	    sizeof(cs->identity), cs->why, sizeof(cs->why));
}

/*
 * Pseudo authentication as Hadoop's filter does it: a valid hadoop.auth
 * cookie names the user; without one (or with a bad one, which is then
 * ignored) the user.name parameter does, and *issue asks for a new
 * cookie.  The user lands in buf.
 */
static const char *
pseudo_identity(struct http_server *srv, struct MHD_Connection *c, char *buf,
    size_t len, int *issue, const char **why)
{
	const char *tok, *u, *cwhy = NULL;

	tok = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, AUTHCOOKIE_NAME);
	if (tok != NULL) {
		if (authcookie_check(srv->opts.cookie_secret,
		    srv->opts.cookie_secret_len, tok, strlen(tok),
		    clock_real_ms(), buf, len, &cwhy) == KW_OK)
			return buf;
	}
	u = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "user.name");
	if (u == NULL || *u == '\0') {
		if (cwhy == NULL)
			*why = "missing user.name (pseudo authentication)";
		else if (strcmp(cwhy, "expired") == 0)
			*why = "hadoop.auth cookie expired";
		else if (strcmp(cwhy, "bad signature") == 0)
			*why = "hadoop.auth cookie has a bad signature";
		else
			*why = "hadoop.auth cookie malformed";
		return NULL;
	}
	if (!authcookie_user_ok(u) || strlen(u) >= len) {
		*why = "user.name not acceptable (empty, too long, or with "
		    "'&', '=', '\"', ';', ',', '\\', spaces or control "
		    "characters)";
		return NULL;
	}
	snprintf(buf, len, "%s", u);
	*issue = 1;
	return buf;
}

/* The identity of this request (in buf under pseudo), or NULL with *why
 * set. */
static const char *
identity_of(struct http_server *srv, struct MHD_Connection *c, char *buf,
    size_t len, int *issue, const char **why)
{
	const union MHD_ConnectionInfo *ci;
	struct conn_state *cs;

	if (srv->opts.auth_mode == AUTH_PSEUDO)
		return pseudo_identity(srv, c, buf, len, issue, why);
	if ((cs = conn_of(c)) == NULL) {
		*why = "no connection state";
		return NULL;
	}
	/* a new CRL applies to connections kept alive, too */
	if (!cs->checked ||
	    cs->trust_gen != tlstrust_generation(srv->opts.trust)) {
		ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci == NULL || ci->tls_session == NULL) {
			*why = "not a TLS connection";
			return NULL;
		}
		verify_client((gnutls_session_t)ci->tls_session,
		    srv->opts.trust, cs, srv->opts.identity);
		if (cs->identity[0] == '\0')
			metrics_inc(MC_CLIENT_CERT_REFUSED);
	}
	if (cs->identity[0] == '\0') {
		*why = cs->why;
		return NULL;
	}
	return cs->identity;
}

static const char *
glue_query(const struct kw_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->glue, MHD_GET_ARGUMENT_KIND, name);
}

struct query_iter {
	const char	*name;
	const char	**vals;
	size_t		 max;
	size_t		 n;
};

static enum MHD_Result
query_iter_cb(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct query_iter *qi = cls;

	(void)kind;
	if (strcmp(key, qi->name) == 0 && value != NULL) {
		if (qi->n < qi->max)
			qi->vals[qi->n] = value;
		qi->n++;
	}
	return MHD_YES;
}

static size_t
glue_query_all(const struct kw_request *r, const char *name, const char **vals,
    size_t max)
{
	struct query_iter qi = { name, vals, max, 0 };

	MHD_get_connection_values(r->glue, MHD_GET_ARGUMENT_KIND, query_iter_cb,
	    &qi);
	return qi.n;
}

/* A streamed body (kw_response.stream) and the request it answers. */
struct stream_glue {
	long	(*stream)(void *arg, char *buf, size_t max);
	void	(*stream_free)(void *arg);
	void	*arg;
	char	 request_id[17];
};

static ssize_t
stream_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_glue *g = cls;
	long n;

	(void)pos;
	/* what the stream logs names its request, as the handler's lines */
	log_request_begin(g->request_id);
	n = g->stream(g->arg, buf, max);
	log_request_end();
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0 || (size_t)n > max)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return (ssize_t)n;
}

static void
stream_done(void *cls)
{
	struct stream_glue *g = cls;

	g->stream_free(g->arg);
	free(g);
}

/* The libmicrohttpd response of resp's body or stream (taken over). */
static struct MHD_Response *
response_of(struct kw_response *resp, const char *request_id)
{
	struct MHD_Response *r;
	struct stream_glue *g;

	if (resp->stream == NULL) {
		r = MHD_create_response_from_buffer_with_free_callback(
		    resp->len, resp->body, secure_free);
		if (r == NULL)
			secure_free(resp->body);
		resp->body = NULL;
		return r;
	}
	secure_free(resp->body);
	resp->body = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		resp->stream_free(resp->stream_arg);
		return NULL;
	}
	g->stream = resp->stream;
	g->stream_free = resp->stream_free;
	g->arg = resp->stream_arg;
	snprintf(g->request_id, sizeof(g->request_id), "%s", request_id);
	if ((r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
	    STREAM_BLOCK, stream_cb, g, stream_done)) == NULL)
		stream_done(g);
	return r;
}

/* Queue resp on c; takes ownership of resp's buffers (the body is wiped
 * when libmicrohttpd is done with it) or stream.  cookie: a Set-Cookie
 * value to add, or NULL. */
static enum MHD_Result
send_response(struct MHD_Connection *c, struct kw_response *resp,
    const char *request_id, const char *cookie)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if ((r = response_of(resp, request_id)) == NULL) {
		free(resp->location);
		return MHD_NO;
	}
	if (resp->len > 0 || resp->stream != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
		    resp->content_type != NULL ? resp->content_type :
		    "application/json");
	if (resp->location != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION,
		    resp->location);
	if (resp->status == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    "keyward");
	if (cookie != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
	free(resp->location);
	resp->location = NULL;
	ret = MHD_queue_response(c, (unsigned int)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static void
peer_text(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci;
	const struct sockaddr *sa;

	snprintf(buf, len, "?");
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    buf, (socklen_t)len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    buf, (socklen_t)len);
}

/* The Set-Cookie value for a new hadoop.auth token of user; 0 or -1. */
static int
make_cookie(struct http_server *srv, const char *user, char *out, size_t len)
{
	char tok[AUTHCOOKIE_USER_MAX * 2 + 128], date[64];
	int64_t exp = clock_real_ms() + (int64_t)srv->opts.cookie_ttl_s * 1000;
	time_t t = (time_t)(exp / 1000);
	struct tm tm;
	int n;

	if (authcookie_make(srv->opts.cookie_secret,
	    srv->opts.cookie_secret_len, user, exp, tok, sizeof(tok)) != 0 ||
	    gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		return -1;
	n = snprintf(out, len, "%s=\"%s\"; Path=/; Expires=%s; Secure; HttpOnly",
	    AUTHCOOKIE_NAME, tok, date);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Run the request: authenticate, call the handler, log, send. */
static enum MHD_Result
dispatch(struct http_server *srv, struct MHD_Connection *c, const char *url,
    const char *method, struct req_state *rs)
{
	struct kw_request req;
	struct kw_response resp;
	struct timespec end;
	char peer[INET6_ADDRSTRLEN + 1], idbuf[IDENTITY_MAX];
	char cookie[AUTHCOOKIE_USER_MAX * 2 + 256];
	const char *id, *why = "", *doas;
	int issue = 0;
	int64_t us;
	long ms;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	peer_text(c, peer, sizeof(peer));
	snprintf(req.request_id, sizeof(req.request_id), "%s%08lx",
	    srv->id_prefix, atomic_fetch_add(&srv->seq, 1) & 0xffffffffUL);
	/* every line logged for this request, by any layer, names it */
	log_request_begin(req.request_id);
	req.method = method;
	req.path = url;
	req.body = rs->body != NULL ? rs->body : "";
	req.body_len = rs->len;
	req.peer_addr = peer;
	req.query = glue_query;
	req.query_all = glue_query_all;
	req.glue = c;
	if ((doas = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
	    "doAs")) == NULL)
		doas = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
		    "doas");
	req.doas = doas;

	id = identity_of(srv, c, idbuf, sizeof(idbuf), &issue, &why);
	if (rs->too_big) {
		resp_error(&resp, KW_ETOOBIG, "request body larger than %zu bytes",
		    srv->opts.max_body);
	} else {
		req.identity = id;
		req.auth_why = why;
		srv->handler(srv->ctx, &req, &resp);
	}
	if (resp.status == 0)
		resp_error(&resp, KW_ENOMEM, "internal error: no response");
	if (id == NULL)
		id = "-";
	if (!issue || resp.status == 401 ||
	    make_cookie(srv, id, cookie, sizeof(cookie)) != 0)
		cookie[0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &end);
	us = (int64_t)(end.tv_sec - rs->start.tv_sec) * 1000000 +
	    (end.tv_nsec - rs->start.tv_nsec) / 1000;
	ms = (long)(us / 1000);
	metrics_request((enum kw_op)resp.op, resp.status, us);
	if (resp.status == 401)
		log_info("peer=%s id=- %s %s -> %d (%ld ms): %s", peer, method,
		    url, resp.status, ms, why);
	else if (resp.status >= 400)
		log_info("peer=%s id=%s%s%s %s %s -> %d (%ld ms)", peer, id,
		    doas != NULL ? " doas=" : "", doas != NULL ? doas : "",
		    method, url, resp.status, ms);
	else
		log_debug("peer=%s id=%s%s%s %s %s -> %d (%ld ms)", peer, id,
		    doas != NULL ? " doas=" : "", doas != NULL ? doas : "",
		    method, url, resp.status, ms);
	log_request_end();
	return send_response(c, &resp, req.request_id,
	    cookie[0] != '\0' ? cookie : NULL);
}

/* Whether the body of this request has taken longer than timeout_s to
 * arrive: a client trickling bytes is cut off (logged once). */
static int
body_too_slow(struct http_server *srv, struct req_state *rs)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - rs->start.tv_sec < (time_t)srv->opts.timeout_s)
		return 0;
	log_info("closing a connection whose request body took more than "
	    "%u s", srv->opts.timeout_s);
	return 1;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server *srv = cls;
	struct req_state *rs = *con_cls;
	const char *cl;
	size_t need;
	char *nb;

	(void)version;
	if (rs == NULL) {
		if ((rs = calloc(1, sizeof(*rs))) == NULL)
			return MHD_NO;
		clock_gettime(CLOCK_MONOTONIC, &rs->start);
		if ((rs->cs = conn_of(c)) != NULL) {
			rs->cs->requested = 1;
			conntrack_busy(srv->ct, rs->cs->cc, 1);
		}
		*con_cls = rs;
		atomic_fetch_add(&srv->inflight, 1);
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > srv->opts.max_body) {
			/* refuse before reading the body */
			rs->too_big = 1;
			return dispatch(srv, c, url, method, rs);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (body_too_slow(srv, rs))
			return MHD_NO;	/* closes the connection */
		if (!rs->too_big) {
			need = rs->len + *upload_data_size;
			if (need > srv->opts.max_body) {
				rs->too_big = 1;
				secure_free(rs->body);
				rs->body = NULL;
				rs->len = rs->cap = 0;
			} else {
				if (need + 1 > rs->cap) {
					size_t ncap = rs->cap ? rs->cap * 2 : 4096;

					while (ncap < need + 1)
						ncap *= 2;
					/* not realloc: it would leave the
					 * old copy behind unwiped */
					if ((nb = malloc(ncap)) == NULL)
						return MHD_NO;
					if (rs->len > 0)
						memcpy(nb, rs->body, rs->len);
					secure_free(rs->body);
					rs->body = nb;
					rs->cap = ncap;
				}
				memcpy(rs->body + rs->len, upload_data,
				    *upload_data_size);
				rs->len = need;
				rs->body[rs->len] = '\0';
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(srv, c, url, method, rs);
}

/* Resolve host:port into a sockaddr for MHD_OPTION_SOCK_ADDR; 0 or -1. */
int
http_listen_addr(const char *host, int port, struct sockaddr_storage *ss, int *v6)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[16];

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &ai) != 0 || ai == NULL)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	return 0;
}

struct http_server *
http_start(const struct http_opts *opts, kw_handler_fn handler, void *ctx,
    char *err, size_t errlen)
{
	struct http_server *srv;
	struct sockaddr_storage ss;
	unsigned char rnd[4];
	unsigned int flags;
	int v6 = 0;

	if (http_listen_addr(opts->host, opts->port, &ss, &v6) != 0) {
		snprintf(err, errlen, "cannot resolve listen address \"%s\"",
		    opts->host);
		return NULL;
	}
	if (opts->auth_mode == AUTH_MTLS && opts->trust == NULL) {
		snprintf(err, errlen, "mtls needs the client trust");
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->opts = *opts;
	srv->handler = handler;
	srv->ctx = ctx;
	if (crypto_random(rnd, sizeof(rnd)) != 0)
		memset(rnd, 0, sizeof(rnd));
	snprintf(srv->id_prefix, sizeof(srv->id_prefix), "%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3]);

	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_TLS | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	/* the trust option goes last: MHD_OPTION_END when not mtls */
	if ((srv->ct = conntrack_new(opts->timeout_s)) == NULL) {
		snprintf(err, errlen, "could not start the connection tracker");
		free(srv);
		return NULL;
	}
	srv->daemon = MHD_start_daemon(flags, (uint16_t)opts->port, NULL, NULL,
	    access_handler, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, /* first, per MHD */
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_HTTPS_MEM_CERT, opts->cert_pem,
	    MHD_OPTION_HTTPS_MEM_KEY, opts->key_pem,
	    MHD_OPTION_HTTPS_PRIORITIES, opts->priorities,
	    MHD_OPTION_CONNECTION_TIMEOUT, opts->timeout_s,
	    MHD_OPTION_CONNECTION_LIMIT, opts->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, opts->max_per_ip,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, opts->max_header_bytes,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv,
	    opts->ca_pem != NULL ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END,
	    opts->ca_pem,
	    MHD_OPTION_END);
	if (srv->daemon == NULL) {
		snprintf(err, errlen, "could not start HTTPS on %s:%d (address "
		    "in use, bad TLS certificate/key, or bad TLS priorities)",
		    opts->host, opts->port);
		conntrack_free(srv->ct);
		free(srv);
		return NULL;
	}
	return srv;
}

void
http_stop(struct http_server *srv)
{
	struct timespec ts = { 0, 20 * 1000000L };
	int waited = 0, n;

	if (srv == NULL)
		return;
	/* stop accepting, then let the requests in flight finish */
	MHD_quiesce_daemon(srv->daemon);
	while ((n = atomic_load(&srv->inflight)) > 0 && waited < DRAIN_MS) {
		nanosleep(&ts, NULL);
		waited += 20;
	}
	if (n > 0)
		log_warnx("stopping with %d requests still in flight after %d ms",
		    n, DRAIN_MS);
	MHD_stop_daemon(srv->daemon);
	conntrack_free(srv->ct);	/* every connection is closed by now */
	free(srv);
}

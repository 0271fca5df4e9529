/*
 * http.h: the HTTPS front end (the only file that includes microhttpd.h).
 *
 * Thread per connection, so one slow database call never stalls another
 * client.  TLS through libmicrohttpd/GnuTLS with configurable priorities;
 * under auth = mtls the client certificate is verified here (tlstrust.h:
 * the CA, the CRL, clientAuth usage) when a connection first makes a
 * request, and again when the trust changed since, and what identity.h
 * reads from it (the subject CN, or the first DNS/URI subjectAltName)
 * becomes the identity; under auth = pseudo the identity comes from a
 * valid hadoop.auth cookie, else from the user.name query parameter, and
 * a request authenticated by user.name gets a new signed cookie.  Bodies
 * over max_body answer 413 before the handler runs; the handler decides
 * what an unauthenticated request may do.  Per-address and total
 * connection limits, a header memory limit and body/idle timeouts bound
 * what one client can hold.
 */
#ifndef KW_HTTP_H
#define KW_HTTP_H

#include <stddef.h>
#include "request.h"
#include "tlstrust.h"

struct http_opts {
	const char	*host;		/* listen address */
	int		 port;
	const char	*cert_pem;	/* PEM text of the certificate chain */
	const char	*key_pem;	/* PEM text of the private key */
	const char	*ca_pem;	/* client CA PEM, NULL unless mtls */
	struct tlstrust	*trust;		/* verifies clients, NULL unless mtls */
	const char	*priorities;	/* GnuTLS priority string */
	int		 auth_mode;	/* enum auth_mode */
	int		 identity;	/* enum auth_identity (mtls) */
	const unsigned char *cookie_secret;	/* pseudo: signs hadoop.auth */
	size_t		 cookie_secret_len;
	unsigned	 cookie_ttl_s;
	size_t		 max_body;
	unsigned	 timeout_s;	/* idle timeout, and longest body upload */
	unsigned	 max_connections;
	unsigned	 max_per_ip;
	size_t		 max_header_bytes;
};

struct http_server;

/* Start listening; NULL with a message in err on failure. */
struct http_server *http_start(const struct http_opts *opts,
	    kw_handler_fn handler, void *ctx, char *err, size_t errlen);
/* Stop accepting, let in-flight requests finish, free; NULL is a no-op. */
void	http_stop(struct http_server *srv);

/*
 * http_plain.c: a plain-HTTP listener (no TLS, no identity) on host:port
 * that hands every request to handler, for metrics.listen.  NULL with a
 * message in err on failure.
 */
struct http_plain;
struct http_plain *http_plain_start(const char *host, int port,
	    kw_handler_fn handler, void *ctx, char *err, size_t errlen);
/* Stop and free; NULL is a no-op. */
void	http_plain_stop(struct http_plain *hp);

#endif

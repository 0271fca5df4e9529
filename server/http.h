/*
 * http.h: the HTTPS front end (the only file that includes microhttpd.h).
 *
 * Thread per connection, so one slow database call never stalls another
 * client.  TLS through libmicrohttpd/GnuTLS with configurable priorities;
 * under auth = mtls the client certificate is verified against the
 * configured CA here and its subject CN becomes the identity; under
 * auth = pseudo the identity is the user.name query parameter.  Bodies
 * over max_body answer 413, unauthenticated requests 401, before the
 * handler runs.
 */
#ifndef KW_HTTP_H
#define KW_HTTP_H

#include <stddef.h>
#include "request.h"

struct http_opts {
	const char	*host;		/* listen address */
	int		 port;
	const char	*cert_pem;	/* PEM text of the certificate chain */
	const char	*key_pem;	/* PEM text of the private key */
	const char	*ca_pem;	/* client CA PEM, NULL unless mtls */
	const char	*priorities;	/* GnuTLS priority string */
	int		 auth_mode;	/* enum auth_mode */
	size_t		 max_body;
	unsigned	 timeout_s;	/* idle connection timeout */
	unsigned	 max_connections;
};

struct http_server;

/* Start listening; NULL with a message in err on failure. */
struct http_server *http_start(const struct http_opts *opts,
	    kw_handler_fn handler, void *ctx, char *err, size_t errlen);
/* Stop accepting, let in-flight requests finish, free; NULL is a no-op. */
void	http_stop(struct http_server *srv);

#endif

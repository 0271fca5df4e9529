/*
 * listen.h: the KMIP listener: TCP, TLS 1.2 or later with a required
 * client certificate, and TTLV message framing.
 *
 * One thread per connection, at most max_connections of them (and
 * max_per_ip from one address): a connection past either limit is
 * closed at once.  The client certificate is verified with the same
 * trust as the HTTPS API (server/tlstrust.h) and named by identity.h.
 * A connection may spend at most timeout_s in the handshake, idle
 * between messages or sending one message; past that it is closed.  Each
 * request message goes to the handler, whose answer is sent back; a
 * message whose header is malformed or announces more than max_message
 * bytes goes to the handler as an error to answer, and the connection is
 * closed after the answer.  Nothing here knows what a message means.
 */
#ifndef KW_KMIP_LISTEN_H
#define KW_KMIP_LISTEN_H

#include <stddef.h>

struct tlstrust;

/* Who sent a message. */
struct kmip_conn_info {
	const char	*identity;	/* NULL when the certificate fails */
	const char	*why;		/* why identity is NULL */
	const char	*peer;		/* client address, text */
	const char	*request_id;	/* "k<listener>-<conn>-<n>" */
};

/*
 * Answer one message: msg[0..len) when framing_err is NULL, else a
 * message that could not be framed (framing_err says why; msg holds what
 * was read).  Returns the response (malloc'd; the listener wipes and
 * frees it) and its length, or NULL to close the connection.
 */
typedef unsigned char *(*kmip_handler_fn)(void *ctx,
    const struct kmip_conn_info *ci, const unsigned char *msg, size_t len,
    const char *framing_err, size_t *outlen);

struct kmip_listen_opts {
	const char	*host;
	int		 port;
	const char	*cert_pem;	/* server certificate chain */
	const char	*key_pem;	/* its private key */
	const char	*ca_pem;	/* client CAs (announced to clients) */
	struct tlstrust	*trust;		/* verifies client certificates */
	const char	*priorities;	/* GnuTLS priority string */
	int		 identity;	/* enum auth_identity */
	size_t		 max_message;	/* bytes, request and response */
	unsigned	 timeout_s;
	unsigned	 max_connections;
	unsigned	 max_per_ip;
};

struct kmip_listener;

/* Listen and start accepting; NULL with the reason in err. */
struct kmip_listener *kmip_listen_start(const struct kmip_listen_opts *o,
	    kmip_handler_fn handler, void *ctx, char *err, size_t errlen);
/* Stop accepting, shut every connection down, wait for their threads
 * (a handler running finishes; its answer may not reach the client),
 * free.  NULL is a no-op. */
void	kmip_listen_stop(struct kmip_listener *kl);

#endif

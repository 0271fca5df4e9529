/*
 * identity.h: whom a TLS client certificate names, for every listener
 * that authenticates clients by certificate (the HTTPS API; KMIP).
 *
 * The peer's chain is verified against the trust in force (tlstrust.h:
 * the CA, the CRL, clientAuth usage); then the part [auth] identity
 * picks (enum auth_identity: the subject CN, the first DNS or the first
 * URI subjectAltName) becomes the identity string, refused when it holds
 * control characters or does not fit.  No I/O beyond the session's
 * already received certificates; thread-safe.
 */
#ifndef KW_IDENTITY_H
#define KW_IDENTITY_H

#include <stddef.h>
#include <gnutls/gnutls.h>

#include "tlstrust.h"

#define IDENTITY_MAX	256	/* bytes of an identity, with its NUL */

/*
 * The identity the verified client certificate of session names by part
 * which (enum auth_identity) into out (outlen bytes): 0; or -1 with out
 * "" and why (whylen bytes) saying why not: no certificate, not trusted,
 * unreadable, no usable CN or subjectAltName.
 */
int	identity_from_session(gnutls_session_t session, struct tlstrust *trust,
	    int which, char *out, size_t outlen, char *why, size_t whylen);

#endif

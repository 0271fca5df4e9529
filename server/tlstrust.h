/*
 * tlstrust.h: what a client certificate must satisfy under auth = mtls.
 *
 * It must chain to a CA of tls.client_ca_file, be within its validity,
 * not be revoked by the certificate revocation list of tls.crl_file
 * (when one is set), and, when it has an extended key usage extension,
 * list clientAuth in it.  The CRL is reloaded on SIGHUP (tlstrust_reload)
 * and when the file changes: the new trust is built aside and swapped in
 * under a lock; a CRL that does not load, or that a CA of the client CA
 * file did not sign, keeps the one in force and the reason is logged.
 * Thread-safe: verifications hold the trust for the length of one check.
 */
#ifndef KW_TLSTRUST_H
#define KW_TLSTRUST_H

#include <stddef.h>
#include <gnutls/gnutls.h>

struct tlstrust;

/*
 * Trust the CAs of ca_pem (PEM text, copied) and the CRL file crl_path
 * ("" or NULL: none), re-reading it when it changes (checked every
 * check_ms).  NULL with the reason in err: no CA in ca_pem, a CRL file
 * that does not load, holds no CRL, or holds one no CA of ca_pem signed.
 */
struct tlstrust *tlstrust_new(const char *ca_pem, const char *crl_path,
	    int check_ms, char *err, size_t errlen);
/* The same checks without keeping anything or watching (keyward-server
 * -n): 0, or -1 with the reason in err. */
int	tlstrust_check(const char *ca_pem, const char *crl_path, char *err,
	    size_t errlen);
/* Stop watching and free; NULL is a no-op. */
void	tlstrust_free(struct tlstrust *tt);
/* Read the CRL file again now: 0 when the new one is in force (or there
 * is no CRL file), -1 when the old one stays (logged either way). */
int	tlstrust_reload(struct tlstrust *tt);
/* Counts the swaps: a connection verified under another generation is
 * verified again. */
unsigned long tlstrust_generation(struct tlstrust *tt);
/*
 * Verify the peer's chain (DER, leaf first, n certificates): 0, or -1
 * with why ("client certificate not valid: ...", "... is not for client
 * authentication ...") in why.
 */
int	tlstrust_verify(struct tlstrust *tt, const gnutls_datum_t *chain,
	    unsigned int n, char *why, size_t whylen);

#endif

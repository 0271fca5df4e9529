/*
 * identity.c: from a TLS peer certificate to the identity string.  Owns
 * reading the CN and subjectAltNames as the certificate holds them; the
 * chain's verification is tlstrust.c's, when to ask is the listener's.
 */
#include <stdio.h>
#include <string.h>

#include <gnutls/x509.h>

#include "identity.h"
#include "../lib/config.h"

/* Whether p[0..n) holds no control characters (nor NUL). */
static int
printable(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

/* The first subjectAltName of type want into out; 0 or -1. */
static int
san_of(gnutls_x509_crt_t crt, unsigned int want, char *out, size_t outlen)
{
	unsigned int seq, critical;
	size_t len;
	int type;

	for (seq = 0; seq < 64; seq++) {
		len = outlen;
		type = gnutls_x509_crt_get_subject_alt_name(crt, seq, out, &len,
		    &critical);
		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type < 0)
			continue;	/* too long for out, or unreadable */
		if ((unsigned int)type == want && len > 0 && len < outlen &&
		    printable((const unsigned char *)out, len)) {
			out[len] = '\0';
			return 0;
		}
	}
	out[0] = '\0';
	return -1;
}

/*
 * The subject's common name as the certificate holds it (not the RFC 4514
 * text form, which escapes ',', '"' and more) into out; 0 or -1 when there
 * is none, or it is not a plain string, or it holds control characters.
 */
static int
cn_of(gnutls_x509_crt_t crt, char *out, size_t outlen)
{
	gnutls_x509_dn_t dn;
	gnutls_x509_ava_st ava;
	int irdn, iava, rc;

	if (gnutls_x509_crt_get_subject(crt, &dn) != 0)
		return -1;
	for (irdn = 0; irdn < 64; irdn++) {
		for (iava = 0; iava < 16; iava++) {
			rc = gnutls_x509_dn_get_rdn_ava(dn, irdn, iava, &ava);
			if (rc != 0)
				break;
			/* the OID as dotted text, with or without its NUL */
			if (ava.oid.size < sizeof(GNUTLS_OID_X520_COMMON_NAME) - 1 ||
			    ava.oid.size > sizeof(GNUTLS_OID_X520_COMMON_NAME) ||
			    strncmp((const char *)ava.oid.data,
			    GNUTLS_OID_X520_COMMON_NAME,
			    sizeof(GNUTLS_OID_X520_COMMON_NAME) - 1) != 0)
				continue;
			/* UTF8String, PrintableString, IA5String */
			if ((ava.value_tag != 12 && ava.value_tag != 19 &&
			    ava.value_tag != 22) || ava.value.size == 0 ||
			    ava.value.size >= outlen)
				return -1;
			if (!printable(ava.value.data, ava.value.size))
				return -1;
			memcpy(out, ava.value.data, ava.value.size);
			out[ava.value.size] = '\0';
			return 0;
		}
		if (iava == 0)
			break;		/* no such RDN: the end */
	}
	return -1;
}

int
identity_from_session(gnutls_session_t session, struct tlstrust *trust,
    int which, char *out, size_t outlen, char *why, size_t whylen)
{
	const gnutls_datum_t *peers;
	unsigned int npeers = 0;
	gnutls_x509_crt_t crt = NULL;
	int rc = -1;

	out[0] = '\0';
	peers = gnutls_certificate_get_peers(session, &npeers);
	if (peers == NULL || npeers == 0) {
		snprintf(why, whylen, "no client certificate");
		return -1;
	}
	if (tlstrust_verify(trust, peers, npeers, why, whylen) != 0)
		return -1;
	if (gnutls_x509_crt_init(&crt) != 0 ||
	    gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) != 0)
		snprintf(why, whylen, "client certificate cannot be read");
	else if (which == IDENT_SAN_DNS || which == IDENT_SAN_URI) {
		if (san_of(crt, which == IDENT_SAN_DNS ? GNUTLS_SAN_DNSNAME :
		    GNUTLS_SAN_URI, out, outlen) != 0)
			snprintf(why, whylen, "client certificate has no usable "
			    "%s subjectAltName",
			    which == IDENT_SAN_DNS ? "DNS" : "URI");
		else
			rc = 0;
	} else if (cn_of(crt, out, outlen) != 0)
		snprintf(why, whylen, "client certificate has no usable "
		    "subject CN");
	else
		rc = 0;
	if (rc != 0)
		out[0] = '\0';
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	return rc;
}

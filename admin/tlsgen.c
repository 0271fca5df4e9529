/*
 * tlsgen.c: a self-signed server certificate for a node that has none
 * yet (EC P-256, SHA-256).  Production nodes pass certificates from their
 * own CA to `keyward-admin init` instead.  Also the node's backup signing
 * certificate (the same, made for signing, not for TLS).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "admin.h"
#include "../lib/secfile.h"

/* Add one X509v3 extension given in config syntax; 0 or -1. */
static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* A self-signed certificate with key usage ku, extended key usage eku
 * and subjectAltName san (none when NULL); see tlsgen_self_signed. */
static int
self_signed(const char *cn, const char *san, const char *ku, const char *eku,
    int days, const char *cert_path, const char *key_path, char *err,
    size_t errlen)
{
	EVP_PKEY *pkey = NULL;
	X509 *x = NULL;
	X509_NAME *name;
	BIO *kb = NULL, *cb = NULL;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	char *data;
	long n;
	int rc = -1;

	if ((pkey = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL) {
		snprintf(err, errlen, "could not generate a TLS key");
		goto out;
	}
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_version(x, 2) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) == NULL ||
	    !X509_set_pubkey(x, pkey))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
	    add_ext(x, NID_key_usage, ku) != 0 ||
	    add_ext(x, NID_ext_key_usage, eku) != 0 ||
	    (san != NULL && add_ext(x, NID_subject_alt_name, san) != 0))
		goto fail;
	if (!X509_sign(x, pkey, EVP_sha256()))
		goto fail;
	if ((kb = BIO_new(BIO_s_secmem())) == NULL ||
	    (cb = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_PrivateKey(kb, pkey, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(cb, x))
		goto fail;
	n = BIO_get_mem_data(kb, &data);
	if (secfile_write(key_path, data, (size_t)n, 1, err, errlen) != 0)
		goto out;
	n = BIO_get_mem_data(cb, &data);
	{
		FILE *fp = fopen(cert_path, "we");

		if (fp == NULL || fwrite(data, 1, (size_t)n, fp) != (size_t)n) {
			snprintf(err, errlen, "could not write \"%s\"", cert_path);
			if (fp != NULL)
				fclose(fp);
			goto out;
		}
		if (fclose(fp) != 0) {
			snprintf(err, errlen, "could not write \"%s\"", cert_path);
			goto out;
		}
	}
	rc = 0;
	goto out;
fail:
	snprintf(err, errlen, "could not build the self-signed certificate");
out:
	BIO_free_all(kb);	/* secure memory: wiped on free */
	BIO_free_all(cb);
	BN_free(bn);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return rc;
}

int
tlsgen_self_signed(const char *cn, const char *san, int days,
    const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	return self_signed(cn, san, "critical,digitalSignature,keyAgreement",
	    "serverAuth", days, cert_path, key_path, err, errlen);
}

int
tlsgen_signer(const char *cn, int days, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	return self_signed(cn, NULL, "critical,digitalSignature,nonRepudiation",
	    "emailProtection", days, cert_path, key_path, err, errlen);
}

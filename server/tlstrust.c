/*
 * tlstrust.c: the client CAs and CRL as a GnuTLS trust list behind a
 * writer-preferring read/write lock; filewatch.c notices a new CRL.
 *
 * keyward verifies client certificates itself rather than through the
 * credentials libmicrohttpd owns (DESIGN.md section 8), which is also
 * what lets a CRL be swapped without touching the listening daemon.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>

#include "tlstrust.h"
#include "filewatch.h"
#include "../lib/files.h"
#include "../lib/log.h"

#define CRL_MAX		(64 * 1024 * 1024)
#define CHAIN_MAX	16

struct tlstrust {
	pthread_rwlock_t lock;		/* guards tl */
	gnutls_x509_trust_list_t tl;
	atomic_ulong	 gen;
	char		*ca_pem;
	char		*crl_path;	/* NULL when none */
	struct filewatch *fw;
};

/* The CRLs of path (PEM, one or more, or one in DER) into *crls; the
 * count, or -1 with err. */
static int
read_crls(const char *path, gnutls_x509_crl_t **crls, char *err,
    size_t errlen)
{
	gnutls_datum_t d;
	unsigned int n = 0;
	size_t len;
	char *text, ferr[256];
	int rc;

	if ((text = file_read(path, CRL_MAX, &len, ferr, sizeof(ferr))) ==
	    NULL) {
		snprintf(err, errlen, "%s", ferr);
		return -1;
	}
	d.data = (unsigned char *)text;
	d.size = (unsigned int)len;
	rc = gnutls_x509_crl_list_import2(crls, &n, &d, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || n == 0)
		rc = gnutls_x509_crl_list_import2(crls, &n, &d,
		    GNUTLS_X509_FMT_DER, 0);
	free(text);
	if (rc < 0 || n == 0) {
		snprintf(err, errlen, "certificate revocation list \"%s\" "
		    "holds no CRL that can be read (PEM or DER): %s", path,
		    rc < 0 ? gnutls_strerror(rc) : "empty");
		return -1;
	}
	return (int)n;
}

/*
 * A trust list of the CAs of ca_pem and the CRLs of crl_path (NULL: none),
 * each CRL signed by one of those CAs; *nrevoked gets the number of
 * certificates the CRLs list.  0, or -1 with err.
 */
static int
build(const char *ca_pem, const char *crl_path, gnutls_x509_trust_list_t *out,
    unsigned int *nrevoked, char *err, size_t errlen)
{
	gnutls_x509_trust_list_t tl = NULL;
	gnutls_x509_crt_t *cas = NULL;
	gnutls_x509_crl_t *crls = NULL;
	unsigned int ncas = 0, status, i;
	gnutls_datum_t d;
	int ncrls = 0, rc = -1, added = 0, cnt;

	*nrevoked = 0;
	d.data = (unsigned char *)(uintptr_t)ca_pem;
	d.size = (unsigned int)strlen(ca_pem);
	if (gnutls_x509_crt_list_import2(&cas, &ncas, &d, GNUTLS_X509_FMT_PEM,
	    0) < 0 || ncas == 0) {
		snprintf(err, errlen, "client CA file holds no certificate that "
		    "can be read");
		goto out;
	}
	if (crl_path != NULL &&
	    (ncrls = read_crls(crl_path, &crls, err, errlen)) < 0)
		goto out;
	for (i = 0; i < (unsigned int)ncrls; i++) {
		if (gnutls_x509_crl_verify(crls[i], cas, ncas, 0, &status) < 0 ||
		    status != 0) {
			snprintf(err, errlen, "certificate revocation list "
			    "\"%s\": CRL %u is not signed by a CA of "
			    "tls.client_ca_file", crl_path, i + 1);
			goto out;
		}
		if ((cnt = gnutls_x509_crl_get_crt_count(crls[i])) > 0)
			*nrevoked += (unsigned int)cnt;
	}
	if (gnutls_x509_trust_list_init(&tl, 0) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* the list owns what it was given from here on */
	added = 1;
	if (gnutls_x509_trust_list_add_cas(tl, cas, ncas, 0) != (int)ncas ||
	    (ncrls > 0 && gnutls_x509_trust_list_add_crls(tl, crls,
	    (unsigned int)ncrls, 0, 0) != ncrls)) {
		snprintf(err, errlen, "could not build the client trust list");
		goto out;
	}
	*out = tl;
	tl = NULL;
	rc = 0;
out:
	if (tl != NULL)
		gnutls_x509_trust_list_deinit(tl, 1);
	if (!added) {
		for (i = 0; i < ncas; i++)
			gnutls_x509_crt_deinit(cas[i]);
		for (i = 0; i < (unsigned int)(ncrls > 0 ? ncrls : 0); i++)
			gnutls_x509_crl_deinit(crls[i]);
	}
	gnutls_free(cas);
	gnutls_free(crls);
	return rc;
}

int
tlstrust_check(const char *ca_pem, const char *crl_path, char *err,
    size_t errlen)
{
	gnutls_x509_trust_list_t tl;
	unsigned int n;

	if (build(ca_pem, crl_path != NULL && *crl_path != '\0' ? crl_path :
	    NULL, &tl, &n, err, errlen) != 0)
		return -1;
	gnutls_x509_trust_list_deinit(tl, 1);
	return 0;
}

int
tlstrust_reload(struct tlstrust *tt)
{
	gnutls_x509_trust_list_t ntl, old;
	unsigned int n;
	char err[512];

	if (tt->crl_path == NULL)
		return 0;
	filewatch_note(tt->fw);
	if (build(tt->ca_pem, tt->crl_path, &ntl, &n, err, sizeof(err)) != 0) {
		log_warnx("certificate revocation list not reloaded, keeping "
		    "the one in force: %s", err);
		return -1;
	}
	pthread_rwlock_wrlock(&tt->lock);
	old = tt->tl;
	tt->tl = ntl;
	atomic_fetch_add(&tt->gen, 1);
	pthread_rwlock_unlock(&tt->lock);
	gnutls_x509_trust_list_deinit(old, 1);
	log_info("certificate revocation list reloaded from \"%s\": %u "
	    "revoked certificates", tt->crl_path, n);
	return 0;
}

static void
changed(void *arg)
{
	(void)tlstrust_reload(arg);
}

struct tlstrust *
tlstrust_new(const char *ca_pem, const char *crl_path, int check_ms,
    char *err, size_t errlen)
{
	struct tlstrust *tt;
	unsigned int n;

	if ((tt = calloc(1, sizeof(*tt))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	filewatch_lock_init(&tt->lock);
	if ((tt->ca_pem = strdup(ca_pem)) == NULL ||
	    (crl_path != NULL && *crl_path != '\0' &&
	    (tt->crl_path = strdup(crl_path)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		tlstrust_free(tt);
		return NULL;
	}
	/* noted before it is read, as in tlstrust_reload */
	if (tt->crl_path != NULL && (tt->fw = filewatch_start(tt->crl_path,
	    "certificate revocation list", check_ms, changed, tt)) == NULL) {
		snprintf(err, errlen, "could not start the certificate "
		    "revocation list watcher");
		tlstrust_free(tt);
		return NULL;
	}
	pthread_rwlock_wrlock(&tt->lock);
	if (build(tt->ca_pem, tt->crl_path, &tt->tl, &n, err, errlen) != 0)
		tt->tl = NULL;
	pthread_rwlock_unlock(&tt->lock);
	if (tt->tl == NULL) {
		tlstrust_free(tt);
		return NULL;
	}
	if (tt->crl_path != NULL)
		log_info("certificate revocation list \"%s\": %u revoked "
		    "certificates", tt->crl_path, n);
	return tt;
}

void
tlstrust_free(struct tlstrust *tt)
{
	if (tt == NULL)
		return;
	filewatch_stop(tt->fw);
	if (tt->tl != NULL)
		gnutls_x509_trust_list_deinit(tt->tl, 1);
	pthread_rwlock_destroy(&tt->lock);
	free(tt->ca_pem);
	free(tt->crl_path);
	free(tt);
}

unsigned long
tlstrust_generation(struct tlstrust *tt)
{
	return atomic_load(&tt->gen);
}

/* 0 when crt has no extended key usage or lists clientAuth in it. */
static int
client_usage(gnutls_x509_crt_t crt)
{
	char oid[128];
	size_t len;
	unsigned int i, critical;
	int rc, any = 0;

	for (i = 0; i < 64; i++) {
		len = sizeof(oid);
		rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, oid, &len,
		    &critical);
		if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		any = 1;
		if (rc >= 0 && strcmp(oid, GNUTLS_KP_TLS_WWW_CLIENT) == 0)
			return 0;
	}
	return any ? -1 : 0;
}

int
tlstrust_verify(struct tlstrust *tt, const gnutls_datum_t *chain,
    unsigned int n, char *why, size_t whylen)
{
	gnutls_x509_crt_t crts[CHAIN_MAX];
	gnutls_datum_t out = { NULL, 0 };
	unsigned int i, ncrt = 0, status = 0;
	int rc, ret = -1;

	if (n > CHAIN_MAX)
		n = CHAIN_MAX;
	for (i = 0; i < n; i++) {
		if (gnutls_x509_crt_init(&crts[i]) < 0)
			break;
		ncrt++;
		if (gnutls_x509_crt_import(crts[i], &chain[i],
		    GNUTLS_X509_FMT_DER) < 0)
			break;
	}
	if (ncrt == 0 || i < n) {
		snprintf(why, whylen, "client certificate cannot be read");
		goto out;
	}
	pthread_rwlock_rdlock(&tt->lock);
	rc = gnutls_x509_trust_list_verify_crt2(tt->tl, crts, n, NULL, 0, 0,
	    &status, NULL);
	pthread_rwlock_unlock(&tt->lock);
	if (rc < 0 || status != 0) {
		if (rc >= 0 && gnutls_certificate_verification_status_print(
		    status, GNUTLS_CRT_X509, &out, 0) == 0) {
			snprintf(why, whylen, "client certificate not valid: %s",
			    (const char *)out.data);
			gnutls_free(out.data);
		} else
			snprintf(why, whylen, "client certificate not valid: %s",
			    gnutls_strerror(rc));
		goto out;
	}
	if (client_usage(crts[0]) != 0) {
		snprintf(why, whylen, "client certificate is not for client "
		    "authentication (its extended key usage lacks clientAuth)");
		goto out;
	}
	ret = 0;
out:
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	return ret;
}

/*
 * cmd_backup_open.c: `keyward-admin backup open`: decrypt a keyward
 * backup, check who signed it, and unpack it into a fresh private
 * directory, refusing before anything is written when any of these
 * fails.
 *
 * A backup (keyward-backup, format 2) is a ustar archive, signed (CMS
 * SignedData, the node's backup signing key, the archive inside), then
 * encrypted to the recipients (CMS AuthEnvelopedData, AES-256-GCM).  The
 * whole file is read into memory, so every check (length, recipient, GCM
 * tag, signer, signature, every archive member) is made before the first
 * byte is written.  Each refusal has its own word at the start, for
 * people and for keyward-restore's tests: TRUNCATED, DAMAGED, WRONG KEY,
 * FAILED AUTHENTICATION, NOT ENCRYPTED, UNSIGNED, TRUNCATED SIGNATURE,
 * BAD SIGNATURE, UNKNOWN SIGNER, UNSAFE MEMBER.  What it does not own:
 * the manifest, the checksums and the restore itself (keyward-restore),
 * making backups (keyward-backup).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin.h"
#include "untar.h"
#include "../lib/log.h"

#define OPEN_MAX_BYTES	((size_t)1 << 30)	/* read whole: 1 GiB */
#define OPEN_MAX_SIGNERS 32

struct open_opts {
	const char	*input;
	const char	*into;
	const char	*key;
	const char	*cert;
	const char	*signers[OPEN_MAX_SIGNERS];
	size_t		 nsigners;
	int		 insecure_unsigned;
	int		 cleartext;
};

static void
refuse(const char *input, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "keyward-admin: error: FILE: <why>: refused (nothing restored)" */
static void
refuse(const char *input, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_errx("%s: %s: refused (nothing restored)", input, why);
}

/* The whole file into a malloc'd buffer; NULL (printed). */
static unsigned char *
read_all(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t done = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		log_errx("could not open \"%s\": %s",
		    path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > OPEN_MAX_BYTES) {
		log_errx("\"%s\" is not a regular file "
		    "of at most %zu bytes", path, OPEN_MAX_BYTES);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		log_errx("out of memory");
		goto fail;
	}
	while (done < (size_t)st.st_size) {
		n = read(fd, buf + done, (size_t)st.st_size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_errx("could not read \"%s\"",
			    path);
			goto fail;
		}
		done += (size_t)n;
	}
	close(fd);
	*len = done;
	return buf;
fail:
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * The length a DER SEQUENCE at b says it has (tag and length octets
 * included): 0 and *total, 1 for an indefinite length, -1 when b does not
 * start with a SEQUENCE header.
 */
static int
der_total(const unsigned char *b, size_t n, size_t *total)
{
	size_t k, i, v = 0;

	if (n < 2 || b[0] != 0x30)
		return -1;
	if (b[1] < 0x80) {
		*total = 2 + (size_t)b[1];
		return 0;
	}
	if ((k = b[1] & 0x7f) == 0)
		return 1;
	if (k > 4 || n < 2 + k)
		return -1;
	for (i = 0; i < k; i++)
		v = (v << 8) | b[2 + i];
	*total = 2 + k + v;
	return 0;
}

/*
 * A CMS structure filling all of buf[0..len): NULL (printed) when the
 * header says more bytes than there are (trunc names the refusal) or
 * fewer, or when it does not parse.
 */
static CMS_ContentInfo *
parse_cms(const char *input, const unsigned char *buf, size_t len,
    const char *trunc, const char *what)
{
	const unsigned char *p = buf;
	CMS_ContentInfo *cms;
	size_t want;
	int r;

	if ((r = der_total(buf, len, &want)) < 0) {
		refuse(input, "DAMAGED: %s is not a CMS structure", what);
		return NULL;
	}
	if (r == 0 && len < want) {
		refuse(input, "%s: %s holds %zu bytes, its header says %zu",
		    trunc, what, len, want);
		return NULL;
	}
	if (r == 0 && len > want) {
		refuse(input, "DAMAGED: %zu bytes of trailing data after %s",
		    len - want, what);
		return NULL;
	}
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL)
		refuse(input, "DAMAGED: %s is not a readable CMS structure",
		    what);
	return cms;
}

static int
is_tar(const unsigned char *b, size_t n)
{
	return n >= 512 && memcmp(b + 257, "ustar", 5) == 0;
}

/*
 * Open the content-encryption key of cms with pk (the recipient cert
 * when given, else every recipient in turn): 1 when one recipient opens
 * with it, 0 when none does.  Done here rather than by CMS_decrypt, which
 * cannot tell "no recipient fits this key" from "the content was
 * modified" other than by the wording of its errors.
 */
static int
set_recipient_key(CMS_ContentInfo *cms, EVP_PKEY *pk, X509 *cert)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	CMS_RecipientInfo *ri;
	int i, r;

	for (i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		ri = sk_CMS_RecipientInfo_value(ris, i);
		if (CMS_RecipientInfo_type(ri) != CMS_RECIPINFO_TRANS ||
		    (cert != NULL && CMS_RecipientInfo_ktri_cert_cmp(ri,
		    cert) != 0))
			continue;
		EVP_PKEY_up_ref(pk);
		CMS_RecipientInfo_set0_pkey(ri, pk);
		r = CMS_RecipientInfo_decrypt(cms, ri);
		CMS_RecipientInfo_set0_pkey(ri, NULL);
		if (r > 0)
			return 1;
	}
	/* key agreement (EC recipients): OpenSSL's loop fails cleanly for
	 * those; for RSA it would "succeed" with a random key */
	if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA &&
	    CMS_decrypt_set1_pkey_and_peer(cms, pk, cert, NULL) == 1)
		return 1;
	return 0;
}

static EVP_PKEY *
load_key(const char *path)
{
	EVP_PKEY *pk = NULL;
	BIO *b;

	if ((b = BIO_new_file(path, "r")) != NULL)
		pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (pk == NULL)
		log_errx("\"%s\" is not a readable PEM "
		    "private key", path);
	return pk;
}

static X509 *
load_cert(const char *path)
{
	X509 *x = NULL;
	BIO *b;

	if ((b = BIO_new_file(path, "r")) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL)
		log_errx("\"%s\" is not a readable PEM "
		    "certificate", path);
	return x;
}

/* The decrypted content of an enveloped backup into out; 0 or -1. */
static int
decrypt(const struct open_opts *o, CMS_ContentInfo *cms, BIO *out)
{
	EVP_PKEY *pk = NULL;
	X509 *cert = NULL;
	int rc = -1;

	if (o->key == NULL) {
		log_errx("%s is encrypted: give --key "
		    "(a recipient's private key)", o->input);
		return -1;
	}
	if ((pk = load_key(o->key)) == NULL)
		goto out;
	if (o->cert != NULL) {
		if ((cert = load_cert(o->cert)) == NULL)
			goto out;
		if (X509_check_private_key(cert, pk) != 1) {
			ERR_clear_error();
			refuse(o->input, "WRONG KEY: \"%s\" is not the private "
			    "key of \"%s\"", o->key, o->cert);
			goto out;
		}
	}
	/* telling a wrong key apart is fine here: an offline tool has no
	 * padding oracle to protect */
	if (!set_recipient_key(cms, pk, cert)) {
		refuse(o->input, "WRONG KEY: \"%s\" is not the private key of "
		    "%s", o->key, cert != NULL ? "a recipient (the --cert is "
		    "none)" : "any recipient");
		goto out;
	}
	if (CMS_decrypt(cms, NULL, NULL, NULL, out, CMS_BINARY) != 1) {
		refuse(o->input, "FAILED AUTHENTICATION (AES-256-GCM tag): it "
		    "was modified or damaged after it was written");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(pk);
	return rc;
}

/* "subject (SHA-256 fingerprint)" of x into out. */
static void
describe_cert(X509 *x, char *out, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	size_t used;
	char *subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);

	used = (size_t)snprintf(out, len, "%s (SHA-256 ",
	    subj != NULL ? subj : "?");
	OPENSSL_free(subj);
	if (X509_digest(x, EVP_sha256(), md, &n) != 1)
		n = 0;
	for (i = 0; i < n && used + 4 < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%02X",
		    i ? ":" : "", md[i]);
	if (used + 2 < len)
		snprintf(out + used, len - used, ")");
}

/* Who made signature si, from the certificates the message carries. */
static void
describe_signer(CMS_ContentInfo *sd, CMS_SignerInfo *si, char *out,
    size_t len)
{
	STACK_OF(X509) *certs = CMS_get1_certs(sd);
	int i;

	snprintf(out, len, "a key whose certificate the backup does not "
	    "carry");
	for (i = 0; i < sk_X509_num(certs); i++)
		if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0) {
			describe_cert(sk_X509_value(certs, i), out, len);
			break;
		}
	sk_X509_pop_free(certs, X509_free);
}

/* The trusted signers (--signer) into a new stack; NULL (printed). */
static STACK_OF(X509) *
load_signers(const struct open_opts *o)
{
	STACK_OF(X509) *st = sk_X509_new_null();
	X509 *x;
	size_t i;

	for (i = 0; st != NULL && i < o->nsigners; i++) {
		if ((x = load_cert(o->signers[i])) == NULL ||
		    !sk_X509_push(st, x)) {
			X509_free(x);
			sk_X509_pop_free(st, X509_free);
			return NULL;
		}
	}
	return st;
}

/* Verify the SignedData sd and put what it signs into out; 0 or -1. */
static int
verify(const struct open_opts *o, CMS_ContentInfo *sd, BIO *out)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(sd);
	STACK_OF(X509) *trusted = NULL;
	char who[512];
	int i, j, known, rc = -1,
	    flags = CMS_BINARY | CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY;

	if (OBJ_obj2nid(CMS_get0_type(sd)) != NID_pkcs7_signed) {
		refuse(o->input, "UNSIGNED: its content is a CMS structure but "
		    "not SignedData");
		return -1;
	}
	if (sk_CMS_SignerInfo_num(sis) <= 0) {
		refuse(o->input, "UNSIGNED: its SignedData carries no "
		    "signature");
		return -1;
	}
	if (o->nsigners == 0) {
		/* --insecure-unsigned without --signer: integrity only */
		log_warnx("%s is signed, but no "
		    "--signer was given: WHO SIGNED IT IS NOT CHECKED",
		    o->input);
		flags = CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY;
	} else {
		if ((trusted = load_signers(o)) == NULL)
			return -1;
		for (i = 0; i < sk_CMS_SignerInfo_num(sis); i++) {
			CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, i);

			for (known = 0, j = 0; j < sk_X509_num(trusted); j++)
				known |= CMS_SignerInfo_cert_cmp(si,
				    sk_X509_value(trusted, j)) == 0;
			if (!known) {
				describe_signer(sd, si, who, sizeof(who));
				refuse(o->input, "UNKNOWN SIGNER: it was signed "
				    "by %s, which is none of the --signer "
				    "certificates", who);
				goto out;
			}
		}
	}
	ERR_clear_error();
	if (CMS_verify(sd, trusted, NULL, NULL, out, (unsigned)flags) != 1) {
		refuse(o->input, "BAD SIGNATURE: the signature does not match "
		    "what it signs");
		goto out;
	}
	for (i = 0; trusted != NULL && i < sk_X509_num(trusted); i++)
		if (CMS_SignerInfo_cert_cmp(sk_CMS_SignerInfo_value(sis, 0),
		    sk_X509_value(trusted, i)) == 0) {
			describe_cert(sk_X509_value(trusted, i), who,
			    sizeof(who));
			printf("signature good: signed by %s\n", who);
		}
	rc = 0;
out:
	ERR_clear_error();
	sk_X509_pop_free(trusted, X509_free);
	return rc;
}

/*
 * The archive the backup file holds, into a secure memory BIO (*tar);
 * 0 or -1 (printed).  Every refusal happens here or in untar_check.
 */
static int
open_backup(const struct open_opts *o, const unsigned char *buf, size_t len,
    BIO **tar)
{
	CMS_ContentInfo *outer = NULL, *inner = NULL;
	BIO *plain = NULL;
	const unsigned char *p;
	char *data;
	long n;
	int nid, rc = -1;

	*tar = NULL;
	if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
		refuse(o->input, "UNSIGNED: a format 1 backup (a gzip'd tar "
		    "with a plain SQL dump, from before backups were signed): "
		    "this keyward-restore does not load it");
		return -1;
	}
	if ((plain = BIO_new(BIO_s_secmem())) == NULL)
		goto out;
	if (is_tar(buf, len)) {
		p = buf;
		n = (long)len;
	} else {
		outer = parse_cms(o->input, buf, len, "TRUNCATED", "the file");
		if (outer == NULL)
			goto out;
		nid = OBJ_obj2nid(CMS_get0_type(outer));
		if (nid == NID_pkcs7_enveloped ||
		    nid == NID_id_smime_ct_authEnvelopedData) {
			if (decrypt(o, outer, plain) != 0)
				goto out;
		} else if (nid == NID_pkcs7_signed) {
			inner = outer;
			outer = NULL;
		} else {
			refuse(o->input, "DAMAGED: not a keyward backup (CMS "
			    "content type %s)", OBJ_nid2sn(nid));
			goto out;
		}
		n = BIO_get_mem_data(plain, &data);
		p = (const unsigned char *)data;
	}
	if (outer == NULL && !o->cleartext) {
		refuse(o->input, "NOT ENCRYPTED: it was readable by anyone who "
		    "could read the file (--cleartext accepts it)");
		goto out;
	}
	if (inner == NULL && is_tar(p, (size_t)n)) {
		if (!o->insecure_unsigned) {
			refuse(o->input, "UNSIGNED: nobody vouches for where it "
			    "came from (--insecure-unsigned accepts it)");
			goto out;
		}
		log_warnx("%s is NOT SIGNED "
		    "(--insecure-unsigned): anyone who could write where it "
		    "was kept could have made it", o->input);
	} else {
		if (inner == NULL && (inner = parse_cms(o->input, p, (size_t)n,
		    "TRUNCATED SIGNATURE", "the signed data")) == NULL)
			goto out;
		if ((*tar = BIO_new(BIO_s_secmem())) == NULL ||
		    verify(o, inner, *tar) != 0)
			goto out;
		rc = 0;
		goto out;
	}
	if ((*tar = BIO_new(BIO_s_secmem())) == NULL ||
	    BIO_write(*tar, p, (int)n) != (int)n)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		BIO_free(*tar);
		*tar = NULL;
	}
	CMS_ContentInfo_free(inner);
	CMS_ContentInfo_free(outer);
	BIO_free(plain);	/* secure memory: wiped on free */
	return rc;
}

static int
parse_open(int argc, char **argv, struct open_opts *o)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "into", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'C' },
		{ "signer", required_argument, NULL, 's' },
		{ "insecure-unsigned", no_argument, NULL, 'U' },
		{ "cleartext", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i': o->input = optarg; break;
		case 'o': o->into = optarg; break;
		case 'k': o->key = optarg; break;
		case 'C': o->cert = optarg; break;
		case 's':
			if (o->nsigners == OPEN_MAX_SIGNERS) {
				log_errx("at most %d "
				    "--signer", OPEN_MAX_SIGNERS);
				return -1;
			}
			o->signers[o->nsigners++] = optarg;
			break;
		case 'U': o->insecure_unsigned = 1; break;
		case 'T': o->cleartext = 1; break;
		case 'h': return 1;
		default: return -1;
		}
	}
	if (optind != argc || o->input == NULL || o->into == NULL) {
		log_errx("backup open needs --input and "
		    "--into, and takes no arguments");
		return -1;
	}
	if (o->nsigners == 0 && !o->insecure_unsigned) {
		log_errx("give --signer CERT (the "
		    "certificate of a node whose backups you trust), or "
		    "--insecure-unsigned to skip the check");
		return -1;
	}
	return 0;
}

int
cmd_backup_open(int argc, char **argv)
{
	struct open_opts o;
	unsigned char *buf = NULL;
	size_t len = 0, nfiles;
	BIO *tar = NULL;
	char *data, err[1024];
	long n;
	int r, rc = EXIT_FAIL;

	if ((r = parse_open(argc, argv, &o)) != 0) {
		admin_usage("backup open");
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	}
	if (access(o.into, F_OK) == 0 || errno != ENOENT) {
		log_errx("\"%s\" exists: backup open "
		    "unpacks only into a new directory", o.into);
		return EXIT_FAIL;
	}
	if ((buf = read_all(o.input, &len)) == NULL ||
	    open_backup(&o, buf, len, &tar) != 0)
		goto out;
	n = BIO_get_mem_data(tar, &data);
	if (untar_check((unsigned char *)data, (size_t)n, &nfiles, err,
	    sizeof(err)) != 0) {
		refuse(o.input, "%s", err);
		goto out;
	}
	if (untar_extract((unsigned char *)data, (size_t)n, o.into, err,
	    sizeof(err)) != 0) {
		log_errx("%s", err);
		goto out;
	}
	printf("unpacked %zu files (%ld bytes) into %s\n", nfiles, n, o.into);
	rc = EXIT_OK;
out:
	BIO_free(tar);		/* secure memory: wiped on free */
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);	/* a cleartext backup */
	free(buf);
	return rc;
}

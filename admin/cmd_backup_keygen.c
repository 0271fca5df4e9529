/*
 * cmd_backup_keygen.c: `keyward-admin backup keygen`: the node's backup
 * signing key and certificate.
 *
 * keyward-backup signs every backup with DIR/backup-signing.key (EC
 * P-256, mode 0600) so that keyward-restore, given the certificate
 * DIR/backup-signing.pem as --signer, can tell a backup this node made
 * from one anybody holding the (public) recipient certificate could
 * make.  `keyward-admin init` makes the pair; this command makes it for
 * a node set up before backups were signed.  An existing pair is kept:
 * a new key would make the certificate the restoring side trusts stale.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "../lib/log.h"

#define SIGNER_DAYS	3650	/* keyward-restore does not check expiry */

int
admin_backup_keygen(const char *confdir, const char *node)
{
	char key[PATH_MAX], cert[PATH_MAX], cn[300], err[512];
	int has_key, has_cert;

	if ((size_t)snprintf(key, sizeof(key), "%s/%s", confdir,
	    ADMIN_SIGNING_KEY) >= sizeof(key) ||
	    (size_t)snprintf(cert, sizeof(cert), "%s/%s", confdir,
	    ADMIN_SIGNING_CERT) >= sizeof(cert)) {
		log_errx("path too long: %s", confdir);
		return -1;
	}
	has_key = access(key, F_OK) == 0;
	has_cert = access(cert, F_OK) == 0;
	if (has_key && has_cert) {
		printf("kept the existing backup signing key %s (certificate "
		    "%s)\n", key, cert);
		return 0;
	}
	if (has_key || has_cert) {
		log_errx("\"%s\" exists without \"%s\": "
		    "remove it, or put its partner back", has_key ? key : cert,
		    has_key ? cert : key);
		return -1;
	}
	snprintf(cn, sizeof(cn), "keyward backups of %s", node);
	if (tlsgen_signer(cn, SIGNER_DAYS, cert, key, err, sizeof(err)) != 0) {
		log_errx("backup signing key: %s", err);
		unlink(cert);
		return -1;
	}
	printf("made backup signing key %s (mode 0600) and certificate %s: "
	    "give the certificate to whoever restores this node's backups "
	    "(keyward-restore --signer)\n", key, cert);
	return 0;
}

int
cmd_backup_keygen(int argc, char **argv)
{
	const char *conf;
	char dir[PATH_MAX], node[256], err[512];
	struct kw_config *cfg;
	int ch;

	if ((ch = admin_config_arg(argc, argv, "backup keygen", &conf)) >= 0)
		return ch;
	/* the key goes beside the config, the node's name into the cert */
	if ((cfg = config_load(conf, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		return EXIT_FAIL;
	}
	snprintf(dir, sizeof(dir), "%s", cfg->dir);
	snprintf(node, sizeof(node), "%s", cfg->node_name);
	config_free(cfg);
	return admin_backup_keygen(dir, node) == 0 ? EXIT_OK : EXIT_FAIL;
}

/*
 * cmd_master_key_seal.c: `keyward-admin master-key seal | unseal |
 * change-passphrase`: the keyring file sealed under a passphrase (scrypt
 * with its parameters in the file, then AES-256-GCM; lib/keyring.c) or
 * in the clear.  The passphrase comes from a file (--passphrase-file,
 * --new-passphrase-file; its first line) or the terminal, never from the
 * command line.  The file is rewritten atomically, keeping its owner.
 */
#include <stdio.h>

#include "admin.h"
#include "mkey.h"
#include "../lib/log.h"
#include "../lib/masterkey.h"
#include "../lib/secfile.h"

/* The new passphrase: from file, else asked twice.  NULL printed. */
static struct secbuf *
new_passphrase(const char *file)
{
	struct secbuf *p;
	char err[512];

	if (file != NULL)
		p = secfile_read_line_as("passphrase file", file, err,
		    sizeof(err));
	else
		p = masterkey_ask("new passphrase", 1, err, sizeof(err));
	if (p == NULL)
		log_errx("%s", err);
	else if (p->len == 0) {
		log_errx("an empty passphrase is refused");
		secbuf_free(p);
		p = NULL;
	}
	return p;
}

/* seal (want_sealed 0: must be open) and change-passphrase (1). */
static int
reseal(int argc, char **argv, const char *name, int want_sealed)
{
	struct mkey_args a;
	struct mkey m;
	struct secbuf *pass = NULL;
	char err[512];
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, name, MK_NEWPASS, &a)) >= 0)
		return ch;
	if (mkey_open(&m, &a, 0, 0) != 0)
		goto out;
	if ((m.form == KEYRING_SEALED) != want_sealed) {
		log_errx("%s is %s: %s",
		    m.cfg->master_key_file, mkey_form_name(m.form), want_sealed ?
		    "seal it first (master-key seal)" :
		    "use master-key change-passphrase");
		goto out;
	}
	if ((pass = new_passphrase(a.new_pass_file)) == NULL)
		goto out;
	if (masterkey_save(m.cfg->master_key_file, m.ring, pass, &a.seal, err,
	    sizeof(err)) != 0) {
		log_errx("%s", err);
		goto out;
	}
	printf("%s %s (%zu master keys; scrypt N=%llu r=%u p=%u, "
	    "AES-256-GCM)\n", want_sealed ? "changed the passphrase of" :
	    "sealed", m.cfg->master_key_file, keyring_count(m.ring),
	    (unsigned long long)a.seal.n, (unsigned)a.seal.r,
	    (unsigned)a.seal.p);
	printf("keyward-server needs the passphrase at start: keys.passphrase_file "
	    "(e.g. a systemd credential), --passphrase-fd or a terminal; "
	    "do the same on the other node\n");
	rc = EXIT_OK;
out:
	secbuf_free(pass);
	mkey_close(&m);
	return rc;
}

int
cmd_master_key_seal(int argc, char **argv)
{
	return reseal(argc, argv, "master-key seal", 0);
}

int
cmd_master_key_change_passphrase(int argc, char **argv)
{
	return reseal(argc, argv, "master-key change-passphrase", 1);
}

int
cmd_master_key_unseal(int argc, char **argv)
{
	struct mkey_args a;
	struct mkey m;
	int ch, rc = EXIT_FAIL;

	if ((ch = mkey_args(argc, argv, "master-key unseal", 0, &a)) >= 0)
		return ch;
	if (mkey_open(&m, &a, 0, 0) != 0)
		goto out;
	if (m.form != KEYRING_SEALED) {
		printf("%s is not sealed\n", m.cfg->master_key_file);
		rc = EXIT_OK;
		goto out;
	}
	if (mkey_save(&m, NULL) != 0)
		goto out;
	printf("unsealed %s: the master keys are in the clear again (mode "
	    "0600); keys.passphrase_file is no longer needed\n",
	    m.cfg->master_key_file);
	rc = EXIT_OK;
out:
	mkey_close(&m);
	return rc;
}

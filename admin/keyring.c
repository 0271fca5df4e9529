/*
 * keyring.c: what keyward-admin's commands share about the master
 * keyring: loading it (unsealing with --passphrase-file,
 * keys.passphrase_file or the terminal), and binding it to the database
 * (the database's active KEK must be in it; a fresh database takes the
 * keyring's newest KEK).  Messages go to stderr and name the file; no
 * key is ever printed.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../db/db.h"
#include "../lib/log.h"
#include "../lib/masterkey.h"

int
admin_load_keyring(const struct kw_config *cfg, const char *pass_file,
    struct masterkey **mkp, struct keyring **ring, enum keyring_form *form)
{
	struct masterkey_opts mo;
	char err[512];

	*ring = NULL;
	mo.path = cfg->master_key_file;
	mo.pass_file = pass_file != NULL ? pass_file : cfg->passphrase_file;
	mo.pass_fd = -1;
	mo.prompt = 1;
	if ((*mkp = masterkey_new(&mo)) == NULL) {
		log_errx("out of memory");
		return -1;
	}
	if (masterkey_load(*mkp, ring, form, err, sizeof(err)) != 0) {
		log_errx("%s", err);
		masterkey_free(*mkp);
		*mkp = NULL;
		return -1;
	}
	return 0;
}

int
admin_join_hsm(const struct kw_config *cfg, struct keyring *ring, int need,
    struct hsm **hsm)
{
	struct hsm_opts ho;
	char err[512];

	*hsm = NULL;
	if (cfg->hsm_module[0] == '\0') {
		if (keyring_count(ring) > 0 || !need)
			return 0;
		log_errx("master key file \"%s\" is token-only (every master "
		    "key in a PKCS#11 token) but keys.hsm_module is not set",
		    cfg->master_key_file);
		return -1;
	}
	ho.module = cfg->hsm_module;
	ho.token_label = cfg->hsm_token_label;
	ho.key_label = cfg->hsm_key_label;
	ho.pin_file = cfg->hsm_pin_file;
	/* a token-only keyring file needs a key in the token */
	if ((*hsm = hsm_open(&ho, err, sizeof(err))) == NULL ||
	    hsm_join(*hsm, ring, need && keyring_count(ring) == 0, err,
	    sizeof(err)) != 0) {
		log_errx("%s", err);
		return -1;
	}
	return 0;
}

struct db *
admin_db(const struct kw_config *cfg, const char *local, int with_peer,
    const char *password)
{
	struct db *db;

	/* an operator's command can wait longer than a request */
	db = db_new(local, with_peer ? cfg->db_peer : NULL, password, 1,
	    cfg->db_connect_timeout_s < ADMIN_CONNECT_S ? ADMIN_CONNECT_S :
	    cfg->db_connect_timeout_s, cfg->commit_deadline_ms);
	if (db == NULL)
		log_errx("out of memory");
	return db;
}

int
admin_ring_bind(struct db *db, const struct keyring *ring, const char *path,
    int store, char active[KW_KEK_ID_LEN + 1])
{
	unsigned char check[DB_KEK_CHECK_LEN];
	const struct keyring_kek *k;
	char ids[256];
	enum kw_err e;
	int rc = -1;

	keyring_ids(ring, ids, sizeof(ids));
	e = db_kek_active(db, active, check);
	if (e == KW_ENOTFOUND && store) {
		/* a new database: the newest KEK of the keyring */
		k = keyring_at(ring, keyring_count(ring) - 1);
		e = db_kek_check(db, k->id, k->check, sizeof(k->check), 1);
		if (e == KW_OK) {
			memcpy(active, k->id, KW_KEK_ID_LEN + 1);
			return 0;
		}
		if (e != KW_ECRYPTO) {
			log_errx("could not store the "
			    "master key check value");
			return -1;
		}
		/* another program stored one first: compare with it */
		e = db_kek_active(db, active, check);
	}
	if (e == KW_ENOTFOUND) {
		log_errx("the database holds no master key "
		    "check value: run keyward-admin db bootstrap (or db migrate) "
		    "on the active first");
		return -1;
	}
	if (e != KW_OK) {
		log_errx("could not read the master key "
		    "check value from the database");
		return -1;
	}
	if ((k = keyring_find(ring, active)) == NULL ||
	    memcmp(k->check, check, sizeof(check)) != 0) {
		log_errx("the database's active master key "
		    "%s is not in \"%s\" (it holds %s): this is not the pair's "
		    "master key file; copy the active's over it (mode 0600); "
		    "keyward-server refuses to start until it holds it",
		    active, path, ids);
		goto out;
	}
	rc = 0;
out:
	secure_wipe(check, sizeof(check));
	return rc;
}
